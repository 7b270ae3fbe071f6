/*
 * Request body checks: the headers decide which run, feed() hashes what
 * passes (or hands it to the aws-chunked decoder), finish() compares.
 */

#include <string.h>

#include "s3_payload.h"


#define S3_PL_STREAMING            "STREAMING-"
#define S3_PL_SIGNED               "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define S3_PL_SIGNED_TRAILER       "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define S3_PL_UNSIGNED_TRAILER     "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define S3_PL_ECDSA                "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
#define S3_PL_ECDSA_TRAILER                                                  \
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"


static s3_err_t s3_pl_fail(s3_payload_t *p, s3_err_t err);
static int s3_pl_eq(s3_str_t a, const char *lit);
static size_t s3_pl_find(const s3_payload_conf_t *conf, const char *name,
    s3_str_t *value);
static int s3_pl_length(s3_str_t v, int64_t *out);
static int s3_pl_unhex32(s3_str_t v, unsigned char out[32]);
static s3_err_t s3_pl_update(s3_payload_t *p, const unsigned char *data,
    size_t len);


static s3_err_t
s3_pl_fail(s3_payload_t *p, s3_err_t err)
{
    p->failed = 1;
    p->err = err;

    return err;
}



static int
s3_pl_eq(s3_str_t a, const char *lit)
{
    return a.len == strlen(lit) && memcmp(a.data, lit, a.len) == 0;
}



/* how many headers have the name (lowercase); the first one's value */
static size_t
s3_pl_find(const s3_payload_conf_t *conf, const char *name, s3_str_t *value)
{
    size_t  i, n = 0;

    for (i = 0; i < conf->nheaders; i++) {
        if (s3_str_caseeq(conf->headers[i].name, name)) {
            if (n++ == 0) {
                *value = s3_str_trim(conf->headers[i].value);
            }
        }
    }

    return n;
}


/* a decimal length: digits only, at most 2^53 */
static int
s3_pl_length(s3_str_t v, int64_t *out)
{
    size_t   i;
    int64_t  n = 0;

    if (v.len == 0 || v.len > 16) {
        return 0;
    }

    for (i = 0; i < v.len; i++) {
        if (v.data[i] < '0' || v.data[i] > '9') {
            return 0;
        }
        n = n * 10 + (v.data[i] - '0');
    }

    *out = n;

    return 1;
}


/* 64 hex digits, either case */
static int
s3_pl_unhex32(s3_str_t v, unsigned char out[32])
{
    int       h[2];
    size_t    i, k;
    unsigned  c;

    if (v.len != 64) {
        return 0;
    }

    for (i = 0; i < 32; i++) {
        for (k = 0; k < 2; k++) {
            c = v.data[2 * i + k];
            if (c >= '0' && c <= '9') {
                h[k] = (int) (c - '0');
            } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                h[k] = (int) ((c | 0x20) - 'a' + 10);
            } else {
                return 0;
            }
        }
        out[i] = (unsigned char) (h[0] << 4 | h[1]);
    }

    return 1;
}


s3_err_t
s3_payload_init(s3_payload_t *p, const s3_payload_conf_t *conf)
{
    long                n;
    size_t              i, count, has_cl, has_sha, has_dl, has_md5;
    size_t              has_trailer, has_sdk;
    s3_str_t            v, cl, sha, dl, md5, trailer, sdk, name;
    s3_err_t            rc;
    unsigned char       raw[S3_CHECKSUM_MAX_LEN];
    s3_chunked_conf_t   cc;
    s3_checksum_alg_t   alg, trailer_alg, sdk_alg;

    memset(p, 0, sizeof(s3_payload_t));
    p->content_length = -1;
    p->length = -1;

    memset(&v, 0, sizeof(v));
    cl = sha = dl = md5 = trailer = sdk = v;

    has_cl = s3_pl_find(conf, "content-length", &cl);
    has_sha = s3_pl_find(conf, "x-amz-content-sha256", &sha);
    has_dl = s3_pl_find(conf, "x-amz-decoded-content-length", &dl);
    has_md5 = s3_pl_find(conf, "content-md5", &md5);
    has_trailer = s3_pl_find(conf, "x-amz-trailer", &trailer);
    has_sdk = s3_pl_find(conf, "x-amz-sdk-checksum-algorithm", &sdk);

    if (has_cl > 1 || has_sha > 1 || has_dl > 1 || has_md5 > 1
        || has_trailer > 1 || has_sdk > 1)
    {
        return s3_pl_fail(p, S3_ERR_INVALID_ARGUMENT);
    }

    if (has_cl && !s3_pl_length(cl, &p->content_length)) {
        return s3_pl_fail(p, S3_ERR_INVALID_ARGUMENT);
    }

    /* what x-amz-content-sha256 says the body is */

    memset(&cc, 0, sizeof(cc));
    cc.decoded_length = -1;

    if (!has_sha || s3_pl_eq(sha, S3_SIGV4_UNSIGNED_PAYLOAD)) {
        p->kind = S3_PAYLOAD_UNSIGNED;

    } else if (s3_pl_unhex32(sha, p->sha_want)) {
        p->kind = S3_PAYLOAD_SHA256;

    } else if (s3_pl_eq(sha, S3_PL_SIGNED)) {
        p->kind = S3_PAYLOAD_STREAMING;
        cc.mode = S3_CHUNKED_SIGNED;

    } else if (s3_pl_eq(sha, S3_PL_SIGNED_TRAILER)) {
        p->kind = S3_PAYLOAD_STREAMING;
        cc.mode = S3_CHUNKED_SIGNED_TRAILER;

    } else if (s3_pl_eq(sha, S3_PL_UNSIGNED_TRAILER)) {
        p->kind = S3_PAYLOAD_STREAMING;
        cc.mode = S3_CHUNKED_UNSIGNED_TRAILER;

    } else if (s3_pl_eq(sha, S3_PL_ECDSA) || s3_pl_eq(sha, S3_PL_ECDSA_TRAILER))
    {
        /* SigV4A streams */
        return s3_pl_fail(p, S3_ERR_NOT_IMPLEMENTED);

    } else {
        return s3_pl_fail(p, S3_ERR_INVALID_CONTENT_SHA256);
    }

    if (p->kind == S3_PAYLOAD_STREAMING) {
        if (!has_dl) {
            return s3_pl_fail(p, S3_ERR_MISSING_CONTENT_LENGTH);
        }

        if (!s3_pl_length(dl, &p->length)) {
            return s3_pl_fail(p, S3_ERR_INVALID_ARGUMENT);
        }

        cc.decoded_length = p->length;

    } else {
        /* the plaintext length must be known before the first frame */
        if (p->content_length < 0) {
            return s3_pl_fail(p, S3_ERR_MISSING_CONTENT_LENGTH);
        }

        p->length = p->content_length;
    }

    /* Content-MD5 */

    if (has_md5) {
        n = kms_base64_decode((const char *) md5.data, md5.len, raw,
                              sizeof(raw));
        if (n != 16) {
            return s3_pl_fail(p, S3_ERR_INVALID_DIGEST);
        }

        memcpy(p->md5_want, raw, 16);
        p->has_md5 = 1;
    }

    /* one x-amz-checksum-<alg> header at most */

    count = 0;
    alg = S3_CKSUM_NONE;

    for (i = 0; i < conf->nheaders; i++) {
        name = conf->headers[i].name;
        trailer_alg = s3_checksum_from_header(name.data, name.len);
        if (trailer_alg == S3_CKSUM_NONE) {
            continue;
        }

        count++;
        alg = trailer_alg;
        v = s3_str_trim(conf->headers[i].value);

        n = kms_base64_decode((const char *) v.data, v.len, raw,
                              sizeof(raw));
        if (n < 0 || (size_t) n != s3_checksum_len(alg)) {
            return s3_pl_fail(p, S3_ERR_INVALID_CHECKSUM);
        }

        memcpy(p->ck_want, v.data, v.len);
        p->ck_want[v.len] = '\0';
    }

    if (count > 1) {
        return s3_pl_fail(p, S3_ERR_INVALID_REQUEST);
    }

    /* x-amz-trailer: only with a trailer stream, naming a checksum */

    trailer_alg = S3_CKSUM_NONE;

    if (has_trailer) {
        trailer_alg = s3_checksum_from_header(trailer.data, trailer.len);

        if (trailer_alg == S3_CKSUM_NONE
            || (cc.mode != S3_CHUNKED_SIGNED_TRAILER
                && cc.mode != S3_CHUNKED_UNSIGNED_TRAILER)
            || count)
        {
            return s3_pl_fail(p, S3_ERR_INVALID_REQUEST);
        }
    }

    if (count) {
        p->has_checksum = 1;
        p->alg = alg;

    } else {
        p->alg = trailer_alg;
    }

    /* x-amz-sdk-checksum-algorithm names the checksum that came */

    if (has_sdk) {
        sdk_alg = s3_checksum_from_name(sdk.data, sdk.len);
        if (sdk_alg == S3_CKSUM_NONE || sdk_alg != p->alg) {
            return s3_pl_fail(p, S3_ERR_INVALID_REQUEST);
        }
    }

    /* the hashes to run */

    if (p->kind == S3_PAYLOAD_SHA256) {
        p->sha = kms_sha256_new();
        if (p->sha == NULL) {
            return s3_pl_fail(p, S3_ERR_INTERNAL);
        }
    }

    if (p->has_md5 && s3_checksum_init(&p->md5, S3_CKSUM_MD5) != S3_OK) {
        return s3_pl_fail(p, S3_ERR_INTERNAL);
    }

    if (p->has_checksum && s3_checksum_init(&p->ck, p->alg) != S3_OK) {
        return s3_pl_fail(p, S3_ERR_INTERNAL);
    }

    if (p->kind == S3_PAYLOAD_STREAMING) {
        cc.trailer = trailer_alg;
        cc.min_chunk_size = conf->min_chunk_size;

        if (cc.mode != S3_CHUNKED_UNSIGNED_TRAILER) {
            /* a signed stream needs the header form's signature */
            if (conf->auth == NULL || conf->key == NULL
                || conf->auth->form != S3_SIGV4_HEADER)
            {
                return s3_pl_fail(p, S3_ERR_INVALID_REQUEST);
            }

            cc.sign.key = conf->key;
            cc.sign.amz_date.data = (const unsigned char *)
                                    conf->auth->amz_date;
            cc.sign.amz_date.len = 16;
            cc.sign.scope = conf->auth->scope;
            cc.sign.seed = conf->auth->signature;
        }

        rc = s3_chunked_init(&p->chunked, &cc);
        if (rc != S3_OK) {
            return s3_pl_fail(p, rc);
        }
    }

    return S3_OK;
}


int64_t
s3_payload_length(const s3_payload_t *p)
{
    return p->length;
}


s3_payload_kind_t
s3_payload_kind(const s3_payload_t *p)
{
    return p->kind;
}


static s3_err_t
s3_pl_update(s3_payload_t *p, const unsigned char *data, size_t len)
{
    if (p->sha != NULL && kms_sha256_update(p->sha, data, len) != 0) {
        return s3_pl_fail(p, S3_ERR_INTERNAL);
    }

    if (p->has_md5 && s3_checksum_update(&p->md5, data, len) != S3_OK) {
        return s3_pl_fail(p, S3_ERR_INTERNAL);
    }

    if (p->has_checksum && s3_checksum_update(&p->ck, data, len) != S3_OK) {
        return s3_pl_fail(p, S3_ERR_INTERNAL);
    }

    p->received += len;

    return S3_OK;
}


s3_err_t
s3_payload_feed(s3_payload_t *p, const unsigned char *in, size_t len,
    size_t *consumed, s3_str_t *data)
{
    s3_err_t  rc;

    *consumed = 0;
    data->data = in;
    data->len = 0;

    if (p->failed) {
        return p->err;
    }

    if (p->finished) {
        return len ? s3_pl_fail(p, S3_ERR_INVALID_REQUEST) : S3_OK;
    }

    if (p->kind == S3_PAYLOAD_STREAMING) {
        rc = s3_chunked_decode(&p->chunked, in, len, consumed, data);

        if (rc != S3_OK && rc != S3_AGAIN) {
            return s3_pl_fail(p, rc);
        }

        if (data->len && s3_pl_update(p, data->data, data->len) != S3_OK) {
            return p->err;
        }

        return rc;
    }

    if ((uint64_t) len > (uint64_t) p->content_length - p->received) {
        /* more than Content-Length said */
        return s3_pl_fail(p, S3_ERR_INVALID_REQUEST);
    }

    if (len == 0) {
        return p->received == (uint64_t) p->content_length ? S3_OK
                                                           : S3_AGAIN;
    }

    if (s3_pl_update(p, in, len) != S3_OK) {
        return p->err;
    }

    *consumed = len;
    data->len = len;

    return S3_OK;
}


s3_err_t
s3_payload_finish(s3_payload_t *p)
{
    s3_err_t       rc;
    size_t         n;
    char           b64[S3_CHECKSUM_B64_MAX];
    unsigned char  h[32];

    if (p->failed) {
        return p->err;
    }

    if (p->finished) {
        return S3_OK;
    }

    if (p->kind == S3_PAYLOAD_STREAMING) {
        rc = s3_chunked_finish(&p->chunked);
        if (rc != S3_OK) {
            return s3_pl_fail(p, rc);
        }

    } else if (p->received != (uint64_t) p->content_length) {
        return s3_pl_fail(p, S3_ERR_INCOMPLETE_BODY);
    }

    if (p->sha != NULL) {
        if (kms_sha256_final(p->sha, h) != 0) {
            return s3_pl_fail(p, S3_ERR_INTERNAL);
        }

        if (!kms_ct_equal(h, p->sha_want, 32)) {
            return s3_pl_fail(p, S3_ERR_SHA256_MISMATCH);
        }
    }

    if (p->has_md5) {
        if (s3_checksum_final(&p->md5, h, &n) != S3_OK) {
            return s3_pl_fail(p, S3_ERR_INTERNAL);
        }

        if (!kms_ct_equal(h, p->md5_want, 16)) {
            return s3_pl_fail(p, S3_ERR_BAD_DIGEST);
        }
    }

    if (p->has_checksum) {
        if (s3_checksum_final_base64(&p->ck, b64, &n) != S3_OK) {
            return s3_pl_fail(p, S3_ERR_INTERNAL);
        }

        if (strcmp(b64, p->ck_want) != 0) {
            return s3_pl_fail(p, S3_ERR_BAD_CHECKSUM);
        }
    }

    p->finished = 1;

    return S3_OK;
}


void
s3_payload_cleanup(s3_payload_t *p)
{
    kms_sha256_free(p->sha);
    p->sha = NULL;
    s3_checksum_cleanup(&p->md5);
    s3_checksum_cleanup(&p->ck);

    if (p->kind == S3_PAYLOAD_STREAMING) {
        s3_chunked_cleanup(&p->chunked);
    }
}


s3_checksum_alg_t
s3_payload_checksum(const s3_payload_t *p, s3_str_t *value)
{
    value->len = 0;
    value->data = (const unsigned char *) "";

    if (p->has_checksum) {
        value->data = (const unsigned char *) p->ck_want;
        value->len = strlen(p->ck_want);
        return p->alg;
    }

    if (p->kind == S3_PAYLOAD_STREAMING && p->alg != S3_CKSUM_NONE) {
        *value = s3_chunked_trailer_value(&p->chunked);
        return value->len ? p->alg : S3_CKSUM_NONE;
    }

    return S3_CKSUM_NONE;
}


s3_err_t
s3_payload_stored_encoding(const s3_header_t *headers, size_t nheaders,
    char *out, size_t cap, size_t *len)
{
    size_t                i, n;
    s3_str_t              tok;
    const unsigned char  *p, *end, *comma;

    n = 0;

    for (i = 0; i < nheaders; i++) {
        if (!s3_str_caseeq(headers[i].name, "content-encoding")
            || headers[i].value.len == 0)
        {
            continue;
        }

        p = headers[i].value.data;
        end = p + headers[i].value.len;

        while (p < end) {
            comma = memchr(p, ',', (size_t) (end - p));
            if (comma == NULL) {
                comma = end;
            }

            tok.data = p;
            tok.len = (size_t) (comma - p);
            tok = s3_str_trim(tok);
            p = comma < end ? comma + 1 : end;

            if (tok.len == 0 || s3_str_caseeq(tok, "aws-chunked")) {
                continue;
            }

            if (n + tok.len + 3 > cap) {
                return S3_ERR_INTERNAL;
            }

            if (n) {
                out[n++] = ',';
                out[n++] = ' ';
            }

            memcpy(out + n, tok.data, tok.len);
            n += tok.len;
        }
    }

    if (cap == 0) {
        return S3_ERR_INTERNAL;
    }

    out[n] = '\0';
    *len = n;

    return S3_OK;
}
