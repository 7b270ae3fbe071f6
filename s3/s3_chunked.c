/*
 * aws-chunked decoding, one state machine over bytes.  Data bytes are
 * never copied: the decoder returns the part of its input that holds
 * them, hashing them on the way (chunk SHA-256, trailer checksum).
 */

#include <string.h>

#include "s3_chunked.h"


enum {
    S3_CH_SIZE = 0,         /* hex digits */
    S3_CH_EXT,              /* ";chunk-signature=" */
    S3_CH_SIG,              /* 64 hex digits */
    S3_CH_SIZE_CR,
    S3_CH_SIZE_LF,
    S3_CH_DATA,
    S3_CH_DATA_CR,
    S3_CH_DATA_LF,
    S3_CH_LAST_CR,          /* the "\r\n" closing a signed stream */
    S3_CH_LAST_LF,
    S3_CH_TRAILER,          /* a trailer line */
    S3_CH_TRAILER_LF,
    S3_CH_DONE,
    S3_CH_FAILED
};


#define S3_CH_EXT_STR    ";chunk-signature="
#define S3_CH_TRAILER_SIG  "x-amz-trailer-signature"


static s3_err_t s3_ch_fail(s3_chunked_t *d, s3_err_t err);
static int s3_ch_hex(unsigned c);
static int s3_ch_unhex64(const char *hex, unsigned char out[32]);
static int s3_ch_mac(const unsigned char key[32], const char *kind,
    const char *date, const char *scope, size_t scope_len, const char *prev,
    int payload, const unsigned char hash[32], unsigned char mac[32]);
static s3_err_t s3_ch_check(s3_chunked_t *d, const char *received,
    int payload, const unsigned char hash[32]);
static s3_err_t s3_ch_header_done(s3_chunked_t *d);
static s3_err_t s3_ch_chunk_end(s3_chunked_t *d);
static s3_err_t s3_ch_trailer_line(s3_chunked_t *d);
static s3_err_t s3_ch_trailers_done(s3_chunked_t *d);


static s3_err_t
s3_ch_fail(s3_chunked_t *d, s3_err_t err)
{
    d->state = S3_CH_FAILED;
    d->err = err;

    return err;
}


static int
s3_ch_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return (int) (c - '0');
    }

    if (c >= 'a' && c <= 'f') {
        return (int) (c - 'a' + 10);
    }

    if (c >= 'A' && c <= 'F') {
        return (int) (c - 'A' + 10);
    }

    return -1;
}


/* 64 lowercase hex digits, as AWS writes signatures */
static int
s3_ch_unhex64(const char *hex, unsigned char out[32])
{
    int     h, l;
    size_t  i;

    for (i = 0; i < 32; i++) {
        if ((hex[2 * i] >= 'A' && hex[2 * i] <= 'F')
            || (hex[2 * i + 1] >= 'A' && hex[2 * i + 1] <= 'F'))
        {
            return -1;
        }

        h = s3_ch_hex((unsigned char) hex[2 * i]);
        l = s3_ch_hex((unsigned char) hex[2 * i + 1]);
        if (h < 0 || l < 0) {
            return -1;
        }

        out[i] = (unsigned char) (h << 4 | l);
    }

    return 0;
}



/*
 * kind "PAYLOAD": ... prev "\n" hex(SHA256("")) "\n" hex(hash)
 * kind "TRAILER": ... prev "\n" hex(hash)
 */
static int
s3_ch_mac(const unsigned char key[32], const char *kind, const char *date,
    const char *scope, size_t scope_len, const char *prev, int payload,
    const unsigned char hash[32], unsigned char mac[32])
{
    size_t     n;
    char       hex[65];
    kms_iov_t  iov[11];

    kms_hex(hash, 32, hex);

    n = 0;
    iov[n].base = "AWS4-HMAC-SHA256-";
    iov[n++].len = 17;
    iov[n].base = kind;
    iov[n++].len = strlen(kind);
    iov[n].base = "\n";
    iov[n++].len = 1;
    iov[n].base = date;
    iov[n++].len = 16;
    iov[n].base = "\n";
    iov[n++].len = 1;
    iov[n].base = scope;
    iov[n++].len = scope_len;
    iov[n].base = "\n";
    iov[n++].len = 1;
    iov[n].base = prev;
    iov[n++].len = 64;

    if (payload) {
        iov[n].base = "\n" S3_SIGV4_EMPTY_SHA256 "\n";
        iov[n++].len = 66;

    } else {
        iov[n].base = "\n";
        iov[n++].len = 1;
    }

    iov[n].base = hex;
    iov[n++].len = 64;

    return kms_hmac_sha256_iov(key, 32, iov, n, mac);
}


static s3_err_t
s3_ch_check(s3_chunked_t *d, const char *received, int payload,
    const unsigned char hash[32])
{
    int            ok;
    unsigned char  mac[32], got[32];

    if (s3_ch_mac(d->key, payload ? "PAYLOAD" : "TRAILER", d->amz_date,
                  d->scope, d->scope_len, d->prev, payload, hash, mac)
        != 0)
    {
        return s3_ch_fail(d, S3_ERR_INTERNAL);
    }

    ok = s3_ch_unhex64(received, got) == 0;
    ok &= kms_ct_equal(mac, got, 32);

    if (!ok) {
        return s3_ch_fail(d, S3_ERR_SIGNATURE_MISMATCH);
    }

    /* the chain goes on from this signature */
    memcpy(d->prev, received, 64);

    return S3_OK;
}


s3_err_t
s3_chunked_init(s3_chunked_t *d, const s3_chunked_conf_t *conf)
{
    const s3_chunked_sign_t  *s = &conf->sign;

    memset(d, 0, sizeof(s3_chunked_t));

    d->mode = conf->mode;
    d->trailer = conf->trailer;
    d->decoded_length = conf->decoded_length;
    d->min_chunk_size = conf->min_chunk_size;
    d->is_signed = conf->mode != S3_CHUNKED_UNSIGNED_TRAILER;
    d->state = S3_CH_SIZE;

    if (conf->mode < S3_CHUNKED_SIGNED
        || conf->mode > S3_CHUNKED_SIGNED_TRAILER
        || (conf->mode == S3_CHUNKED_SIGNED && conf->trailer)
        || conf->trailer == S3_CKSUM_MD5)
    {
        return s3_ch_fail(d, S3_ERR_INTERNAL);
    }

    if (d->is_signed) {
        if (s->key == NULL || s->amz_date.len != 16 || s->seed.len != 64
            || s->scope.len == 0 || s->scope.len > sizeof(d->scope))
        {
            return s3_ch_fail(d, S3_ERR_INTERNAL);
        }

        memcpy(d->key, s->key, 32);
        memcpy(d->amz_date, s->amz_date.data, 16);
        memcpy(d->scope, s->scope.data, s->scope.len);
        d->scope_len = s->scope.len;
        memcpy(d->prev, s->seed.data, 64);

        d->sha = kms_sha256_new();
        if (d->sha == NULL) {
            return s3_ch_fail(d, S3_ERR_INTERNAL);
        }
    }

    if (s3_checksum_init(&d->ck, conf->trailer) != S3_OK) {
        return s3_ch_fail(d, S3_ERR_INTERNAL);
    }

    return S3_OK;
}


void
s3_chunked_cleanup(s3_chunked_t *d)
{
    kms_sha256_free(d->sha);
    d->sha = NULL;
    s3_checksum_cleanup(&d->ck);
    kms_wipe(d->key, sizeof(d->key));
}


/* "size[;chunk-signature=...]\r\n" read */
static s3_err_t
s3_ch_header_done(s3_chunked_t *d)
{
    unsigned char  hash[32];

    if (d->size == 0) {
        if (d->decoded_length >= 0
            && d->total != (uint64_t) d->decoded_length)
        {
            return s3_ch_fail(d, S3_ERR_INCOMPLETE_BODY);
        }

        if (d->is_signed) {
            if (kms_sha256("", 0, hash) != 0) {
                return s3_ch_fail(d, S3_ERR_INTERNAL);
            }

            if (s3_ch_check(d, d->sig, 1, hash) != S3_OK) {
                return d->err;
            }
        }

        d->state = d->mode == S3_CHUNKED_SIGNED ? S3_CH_LAST_CR
                                                : S3_CH_TRAILER;
        return S3_OK;
    }

    if (d->is_signed && d->min_chunk_size) {
        if (d->small) {
            return s3_ch_fail(d, S3_ERR_INVALID_CHUNK_SIZE);
        }

        if (d->size < S3_CHUNKED_MIN_CHUNK) {
            d->small = 1;
        }
    }

    if (d->decoded_length >= 0
        && d->size > (uint64_t) d->decoded_length - d->total)
    {
        return s3_ch_fail(d, S3_ERR_INCOMPLETE_BODY);
    }

    if (d->is_signed && kms_sha256_reset(d->sha) != 0) {
        return s3_ch_fail(d, S3_ERR_INTERNAL);
    }

    d->left = d->size;
    d->state = S3_CH_DATA;

    return S3_OK;
}


/* the data of a chunk ended: its signature must hold */
static s3_err_t
s3_ch_chunk_end(s3_chunked_t *d)
{
    unsigned char  hash[32];

    d->state = S3_CH_DATA_CR;

    if (!d->is_signed) {
        return S3_OK;
    }

    if (kms_sha256_final(d->sha, hash) != 0) {
        return s3_ch_fail(d, S3_ERR_INTERNAL);
    }

    return s3_ch_check(d, d->sig, 1, hash);
}


/* "name:value" in d->line */
static s3_err_t
s3_ch_trailer_line(s3_chunked_t *d)
{
    size_t          nlen, vlen;
    s3_str_t        name;
    unsigned char  *colon, *v;

    colon = memchr(d->line, ':', d->line_len);
    if (colon == NULL || colon == d->line) {
        return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
    }

    nlen = (size_t) (colon - d->line);
    v = colon + 1;
    vlen = d->line_len - nlen - 1;

    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }

    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
        vlen--;
    }

    name.data = d->line;
    name.len = nlen;

    if (d->mode == S3_CHUNKED_SIGNED_TRAILER && !d->got_trailer_sig
        && s3_str_caseeq(name, S3_CH_TRAILER_SIG))
    {
        if (vlen != 64) {
            return s3_ch_fail(d, S3_ERR_SIGNATURE_MISMATCH);
        }

        memcpy(d->trailer_sig, v, 64);
        d->got_trailer_sig = 1;

        return S3_OK;
    }

    /* the declared checksum, once, before the signature */
    if (d->trailer == S3_CKSUM_NONE || d->got_trailer || d->got_trailer_sig
        || !s3_str_caseeq(name, s3_checksum_header(d->trailer)))
    {
        return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
    }

    if (vlen >= sizeof(d->value)) {
        return s3_ch_fail(d, S3_ERR_INVALID_CHECKSUM);
    }

    memcpy(d->value, v, vlen);
    d->value[vlen] = '\0';
    d->value_len = vlen;
    d->got_trailer = 1;

    return S3_OK;
}


/* the empty line after the trailers */
static s3_err_t
s3_ch_trailers_done(s3_chunked_t *d)
{
    long           n;
    char           b64[S3_CHECKSUM_B64_MAX], canon[S3_CHUNKED_MAX_LINE];
    size_t         blen, clen, hlen;
    unsigned char  hash[32], raw[S3_CHECKSUM_MAX_LEN];

    if (d->trailer != S3_CKSUM_NONE && !d->got_trailer) {
        return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
    }

    if (d->mode == S3_CHUNKED_SIGNED_TRAILER) {
        if (!d->got_trailer_sig) {
            return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
        }

        /* "name:value\n", the name lowercase, the value trimmed */
        clen = 0;
        if (d->got_trailer) {
            hlen = strlen(s3_checksum_header(d->trailer));
            memcpy(canon, s3_checksum_header(d->trailer), hlen);
            canon[hlen] = ':';
            memcpy(canon + hlen + 1, d->value, d->value_len);
            clen = hlen + 1 + d->value_len;
            canon[clen++] = '\n';
        }

        if (kms_sha256(canon, clen, hash) != 0) {
            return s3_ch_fail(d, S3_ERR_INTERNAL);
        }

        if (s3_ch_check(d, d->trailer_sig, 0, hash) != S3_OK) {
            return d->err;
        }
    }

    if (d->got_trailer) {
        n = kms_base64_decode(d->value, d->value_len, raw, sizeof(raw));
        if (n < 0 || (size_t) n != s3_checksum_len(d->trailer)) {
            return s3_ch_fail(d, S3_ERR_INVALID_CHECKSUM);
        }

        if (s3_checksum_final_base64(&d->ck, b64, &blen) != S3_OK) {
            return s3_ch_fail(d, S3_ERR_INTERNAL);
        }

        if (blen != d->value_len || memcmp(b64, d->value, blen) != 0) {
            return s3_ch_fail(d, S3_ERR_BAD_CHECKSUM);
        }
    }

    d->state = S3_CH_DONE;

    return S3_OK;
}


s3_err_t
s3_chunked_decode(s3_chunked_t *d, const unsigned char *in, size_t len,
    size_t *consumed, s3_str_t *data)
{
    int       v;
    size_t    i, n;
    unsigned  c;

    *consumed = 0;
    data->len = 0;
    data->data = in;

    for (i = 0; i < len; /* void */) {

        switch (d->state) {

        case S3_CH_DATA:
            n = len - i;
            if (n > d->left) {
                n = (size_t) d->left;
            }

            if (d->is_signed && kms_sha256_update(d->sha, in + i, n) != 0) {
                return s3_ch_fail(d, S3_ERR_INTERNAL);
            }

            if (s3_checksum_update(&d->ck, in + i, n) != S3_OK) {
                return s3_ch_fail(d, S3_ERR_INTERNAL);
            }

            d->left -= n;
            d->total += n;

            if (d->left == 0 && s3_ch_chunk_end(d) != S3_OK) {
                return d->err;
            }

            data->data = in + i;
            data->len = n;
            *consumed = i + n;

            return S3_OK;

        case S3_CH_FAILED:
            return d->err;

        case S3_CH_DONE:
            /* nothing may follow the end */
            return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);

        default:
            break;
        }

        c = in[i++];

        switch (d->state) {

        case S3_CH_SIZE:
            v = s3_ch_hex(c);
            if (v >= 0) {
                if (d->ndigits == 16 || d->size > S3_CHUNKED_MAX_CHUNK >> 4) {
                    return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
                }
                d->size = d->size << 4 | (unsigned) v;
                d->ndigits++;
                break;
            }

            if (d->ndigits == 0 || d->size > S3_CHUNKED_MAX_CHUNK) {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }

            if (d->is_signed && c == ';') {
                d->state = S3_CH_EXT;
                d->npos = 1;
                break;
            }

            if (!d->is_signed && c == '\r') {
                d->state = S3_CH_SIZE_LF;
                break;
            }

            return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);

        case S3_CH_EXT:
            if (c != (unsigned char) S3_CH_EXT_STR[d->npos]) {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }

            if (++d->npos == sizeof(S3_CH_EXT_STR) - 1) {
                d->state = S3_CH_SIG;
                d->npos = 0;
            }
            break;

        case S3_CH_SIG:
            if (s3_ch_hex(c) < 0) {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }

            d->sig[d->npos++] = (char) c;
            if (d->npos == 64) {
                d->state = S3_CH_SIZE_CR;
            }
            break;

        case S3_CH_SIZE_CR:
            if (c != '\r') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }
            d->state = S3_CH_SIZE_LF;
            break;

        case S3_CH_SIZE_LF:
            if (c != '\n') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }

            if (s3_ch_header_done(d) != S3_OK) {
                return d->err;
            }
            break;

        case S3_CH_DATA_CR:
            if (c != '\r') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }
            d->state = S3_CH_DATA_LF;
            break;

        case S3_CH_DATA_LF:
            if (c != '\n') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }
            d->state = S3_CH_SIZE;
            d->size = 0;
            d->ndigits = 0;
            break;

        case S3_CH_LAST_CR:
            if (c != '\r') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }
            d->state = S3_CH_LAST_LF;
            break;

        case S3_CH_LAST_LF:
            if (c != '\n') {
                return s3_ch_fail(d, S3_ERR_INVALID_REQUEST);
            }
            d->state = S3_CH_DONE;
            break;

        case S3_CH_TRAILER:
            if (c == '\r') {
                d->state = S3_CH_TRAILER_LF;
                break;
            }

            if (c == '\n' || d->line_len == sizeof(d->line)) {
                return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
            }

            d->line[d->line_len++] = (unsigned char) c;
            break;

        case S3_CH_TRAILER_LF:
            if (c != '\n') {
                return s3_ch_fail(d, S3_ERR_MALFORMED_TRAILER);
            }

            if (d->line_len == 0) {
                if (s3_ch_trailers_done(d) != S3_OK) {
                    return d->err;
                }
                break;
            }

            if (s3_ch_trailer_line(d) != S3_OK) {
                return d->err;
            }

            d->line_len = 0;
            d->state = S3_CH_TRAILER;
            break;
        }
    }

    *consumed = len;

    if (d->state == S3_CH_FAILED) {
        return d->err;
    }

    return d->state == S3_CH_DONE ? S3_OK : S3_AGAIN;
}


s3_err_t
s3_chunked_finish(s3_chunked_t *d)
{
    if (d->state == S3_CH_FAILED) {
        return d->err;
    }

    if (d->state != S3_CH_DONE) {
        return s3_ch_fail(d, S3_ERR_INCOMPLETE_BODY);
    }

    return S3_OK;
}


int
s3_chunked_done(const s3_chunked_t *d)
{
    return d->state == S3_CH_DONE;
}


uint64_t
s3_chunked_decoded(const s3_chunked_t *d)
{
    return d->total;
}


s3_str_t
s3_chunked_trailer_value(const s3_chunked_t *d)
{
    s3_str_t  v;

    v.data = (const unsigned char *) d->value;
    v.len = d->state == S3_CH_DONE ? d->value_len : 0;

    return v;
}


s3_err_t
s3_chunked_chunk_signature(const s3_chunked_sign_t *s, const char *prev,
    const unsigned char data_sha256[32], char *out)
{
    unsigned char  mac[32];

    if (s->amz_date.len != 16) {
        return S3_ERR_INTERNAL;
    }

    if (s3_ch_mac(s->key, "PAYLOAD", (const char *) s->amz_date.data,
                  (const char *) s->scope.data, s->scope.len, prev, 1,
                  data_sha256, mac)
        != 0)
    {
        return S3_ERR_INTERNAL;
    }

    kms_hex(mac, 32, out);

    return S3_OK;
}


s3_err_t
s3_chunked_trailer_signature(const s3_chunked_sign_t *s, const char *prev,
    const void *canonical, size_t len, char *out)
{
    unsigned char  hash[32], mac[32];

    if (s->amz_date.len != 16 || kms_sha256(canonical, len, hash) != 0) {
        return S3_ERR_INTERNAL;
    }

    if (s3_ch_mac(s->key, "TRAILER", (const char *) s->amz_date.data,
                  (const char *) s->scope.data, s->scope.len, prev, 0, hash,
                  mac)
        != 0)
    {
        return S3_ERR_INTERNAL;
    }

    kms_hex(mac, 32, out);

    return S3_OK;
}
