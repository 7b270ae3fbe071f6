/*
 * The object encryption format, version 1: header, key derivation,
 * streaming encryptor and decryptor, range mapping, multipart manifest.
 *
 * Both streaming objects run the cipher straight between the caller's
 * buffers where they can; the only buffers of their own are the header,
 * a tag, the encryptor's final frame (held until the caller releases it)
 * and the decryptor's one frame of plaintext awaiting its tag when input
 * comes in pieces.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kms_crypto.h"
#include "s3_objfmt.h"


#define S3_OBJFMT_AAD_LEN    (S3_OBJFMT_HDR_LEN + 9)
#define S3_OBJFMT_NONCE_LEN  12
#define S3_OBJFMT_REC_LEN    (4 + S3_OBJFMT_SALT_LEN + 8)

#define s3_objfmt_min(a, b)  ((a) < (b) ? (a) : (b))


typedef enum {
    S3_OBJFMT_ENC_HEADER = 0,
    S3_OBJFMT_ENC_START,
    S3_OBJFMT_ENC_BODY,
    S3_OBJFMT_ENC_TAG,
    S3_OBJFMT_ENC_FINAL,
    S3_OBJFMT_ENC_HELD,
    S3_OBJFMT_ENC_FLUSH,
    S3_OBJFMT_ENC_DONE
} s3_objfmt_enc_state_e;


struct s3_objfmt_enc_s {
    kms_gcm_t       *gcm;
    unsigned char   *hold;          /* final frame: ciphertext || tag */
    size_t           hold_len;
    size_t           pos;           /* progress inside the current state */
    size_t           flen;          /* plaintext length of this frame */
    uint64_t         len;           /* L */
    uint64_t         fed;
    uint64_t         frame;
    uint64_t         nframes;
    uint64_t         stored_len;
    unsigned         log2f;
    unsigned         state;
    unsigned         released;
    s3_objfmt_rc_t   error;
    unsigned char    tag[S3_OBJFMT_TAG_LEN];
    unsigned char    aad[S3_OBJFMT_AAD_LEN];  /* header || BE64(i) || fin */
};


struct s3_objfmt_dec_s {
    kms_gcm_t       *gcm;
    unsigned char   *buf;           /* one frame of unverified plaintext */
    size_t           buf_size;
    uint64_t         off;           /* plaintext range asked for */
    uint64_t         len;
    uint64_t         frame;         /* current frame */
    uint64_t         last;          /* last frame of the range */
    uint64_t         nframes;
    uint64_t         left;          /* frame bytes still expected */
    uint64_t         span_off;
    uint64_t         span_len;
    size_t           flen;          /* plaintext length of this frame */
    size_t           fpos;          /* stored bytes of it consumed */
    size_t           hpos;          /* header bytes read from the stream */
    size_t           out_pos;       /* verified plaintext in buf */
    size_t           out_end;
    uint32_t         part;
    unsigned         in_stream;     /* the stream starts with a header */
    unsigned         given;         /* ... which must equal the given one */
    unsigned         ready;         /* header known and checked */
    s3_objfmt_rc_t   error;
    s3_objfmt_hdr_t  hdr;
    unsigned char    dek[S3_OBJFMT_KEY_LEN];  /* only until the header */
    unsigned char    tag[S3_OBJFMT_TAG_LEN];
    unsigned char    hbuf[S3_OBJFMT_HDR_LEN];
    unsigned char    aad[S3_OBJFMT_AAD_LEN];
};


static void s3_objfmt_be32(unsigned char *p, uint32_t v);
static void s3_objfmt_be64(unsigned char *p, uint64_t v);
static uint32_t s3_objfmt_get32(const unsigned char *p);
static uint64_t s3_objfmt_get64(const unsigned char *p);
static int s3_objfmt_log2f_ok(unsigned log2f);
static s3_objfmt_rc_t s3_objfmt_derive(const unsigned char *dek,
    const unsigned char *salt, uint32_t part, unsigned char *key,
    unsigned char *commit);
static size_t s3_objfmt_frame_len(uint64_t len, unsigned log2f,
    uint64_t frame);
static s3_objfmt_rc_t s3_objfmt_frame_start(kms_gcm_t *g, int enc,
    unsigned char *aad, uint64_t frame, int final);
static s3_objfmt_rc_t s3_objfmt_enc_fail(s3_objfmt_enc_t *e,
    s3_objfmt_rc_t rc);
static s3_objfmt_rc_t s3_objfmt_dec_fail(s3_objfmt_dec_t *d,
    s3_objfmt_rc_t rc);
static s3_objfmt_rc_t s3_objfmt_dec_setup(s3_objfmt_dec_t *d,
    const unsigned char *hdr, const unsigned char *dek);
static s3_objfmt_rc_t s3_objfmt_dec_header_in(s3_objfmt_dec_t *d);
static void s3_objfmt_dec_next(s3_objfmt_dec_t *d);
static void s3_objfmt_dec_trim(const s3_objfmt_dec_t *d, size_t *lo,
    size_t *hi);
static s3_objfmt_rc_t s3_objfmt_manifest_key(const unsigned char *dek,
    unsigned char key[32]);
static const char *s3_objfmt_digits(const char *p, const char *end,
    uint64_t *v, int *found);


static const char  *s3_objfmt_errstr[] = {
    "ok",
    "more input or output room needed",
    "final frame held until released",
    "not an encrypted object (bad magic)",
    "unsupported format version",
    "unsupported algorithm",
    "malformed header",
    "unexpected part number",
    "wrong data key (key commitment mismatch)",
    "stored data altered (authentication failed)",
    "stored data truncated",
    "more stored data than expected",
    "multipart manifest mismatch",
    "invalid arguments",
    "crypto or memory failure"
};


const char *
s3_objfmt_strerror(s3_objfmt_rc_t rc)
{
    if ((unsigned) rc >= S3_OBJFMT_RC_MAX) {
        return "unknown error";
    }

    return s3_objfmt_errstr[rc];
}


/* ---- small helpers ------------------------------------------------------- */

static void
s3_objfmt_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}


static void
s3_objfmt_be64(unsigned char *p, uint64_t v)
{
    s3_objfmt_be32(p, (uint32_t) (v >> 32));
    s3_objfmt_be32(p + 4, (uint32_t) v);
}


static uint32_t
s3_objfmt_get32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static uint64_t
s3_objfmt_get64(const unsigned char *p)
{
    return (uint64_t) s3_objfmt_get32(p) << 32 | s3_objfmt_get32(p + 4);
}


static int
s3_objfmt_log2f_ok(unsigned log2f)
{
    return log2f >= S3_OBJFMT_LOG2F_MIN && log2f <= S3_OBJFMT_LOG2F_MAX;
}


/* plaintext bytes in frame `frame` of a segment of length len */
static size_t
s3_objfmt_frame_len(uint64_t len, unsigned log2f, uint64_t frame)
{
    uint64_t  start = frame << log2f;

    return (size_t) s3_objfmt_min(len - start, (uint64_t) 1 << log2f);
}


/* segment key and key commitment; either may be NULL */
static s3_objfmt_rc_t
s3_objfmt_derive(const unsigned char *dek, const unsigned char *salt,
    uint32_t part, unsigned char *key, unsigned char *commit)
{
    unsigned char  info[16];

    if (key != NULL) {
        memcpy(info, "SSEK1 key", 9);
        s3_objfmt_be32(info + 9, part);

        if (kms_hkdf_sha256(dek, S3_OBJFMT_KEY_LEN, salt, S3_OBJFMT_SALT_LEN,
                            info, 13, key, S3_OBJFMT_KEY_LEN) != 0)
        {
            return S3_OBJFMT_ERR_CRYPTO;
        }
    }

    if (commit != NULL) {
        memcpy(info, "SSEK1 commit", 12);
        s3_objfmt_be32(info + 12, part);

        if (kms_hkdf_sha256(dek, S3_OBJFMT_KEY_LEN, salt, S3_OBJFMT_SALT_LEN,
                            info, 16, commit, S3_OBJFMT_COMMIT_LEN) != 0)
        {
            if (key != NULL) {
                kms_wipe(key, S3_OBJFMT_KEY_LEN);
            }
            return S3_OBJFMT_ERR_CRYPTO;
        }
    }

    return S3_OBJFMT_OK;
}


/* starts frame `frame` on a cipher whose segment key is already set */
static s3_objfmt_rc_t
s3_objfmt_frame_start(kms_gcm_t *g, int enc, unsigned char *aad,
    uint64_t frame, int final)
{
    unsigned char  nonce[S3_OBJFMT_NONCE_LEN];

    memset(nonce, 0, 4);
    s3_objfmt_be64(nonce + 4, frame);

    s3_objfmt_be64(aad + S3_OBJFMT_HDR_LEN, frame);
    aad[S3_OBJFMT_HDR_LEN + 8] = final ? 1 : 0;

    if (kms_gcm_start(g, enc, NULL, nonce, sizeof(nonce)) != 0
        || kms_gcm_aad(g, aad, S3_OBJFMT_AAD_LEN) != 0)
    {
        return S3_OBJFMT_ERR_CRYPTO;
    }

    return S3_OBJFMT_OK;
}


/* ---- header -------------------------------------------------------------- */

s3_objfmt_rc_t
s3_objfmt_hdr_parse(const unsigned char *buf, size_t len, s3_objfmt_hdr_t *h)
{
    size_t    i;
    uint64_t  l;
    uint32_t  p;

    for (i = 0; i < 4 && i < len; i++) {
        if (buf[i] != (unsigned char) "SSEK"[i]) {
            return S3_OBJFMT_ERR_MAGIC;
        }
    }

    if (len < 5) {
        return S3_OBJFMT_AGAIN;
    }

    if (buf[4] != S3_OBJFMT_VERSION) {
        return S3_OBJFMT_ERR_VERSION;
    }

    if (len < 6) {
        return S3_OBJFMT_AGAIN;
    }

    if (buf[5] != S3_OBJFMT_ALG_AES256GCM) {
        return S3_OBJFMT_ERR_ALGORITHM;
    }

    if (len < 7) {
        return S3_OBJFMT_AGAIN;
    }

    if (!s3_objfmt_log2f_ok(buf[6])) {
        return S3_OBJFMT_ERR_HEADER;
    }

    if (len < 8) {
        return S3_OBJFMT_AGAIN;
    }

    if (buf[7] != 0) {
        return S3_OBJFMT_ERR_HEADER;
    }

    if (len < 16) {
        return S3_OBJFMT_AGAIN;
    }

    l = s3_objfmt_get64(buf + 8);
    if (l > S3_OBJFMT_LEN_MAX) {
        return S3_OBJFMT_ERR_HEADER;
    }

    if (len < 20) {
        return S3_OBJFMT_AGAIN;
    }

    p = s3_objfmt_get32(buf + 16);
    if (p > S3_OBJFMT_PART_MAX) {
        return S3_OBJFMT_ERR_HEADER;
    }

    for (i = 20; i < 24 && i < len; i++) {
        if (buf[i] != 0) {
            return S3_OBJFMT_ERR_HEADER;
        }
    }

    if (len < S3_OBJFMT_HDR_LEN) {
        return S3_OBJFMT_AGAIN;
    }

    if (h != NULL) {
        h->len = l;
        h->part = p;
        h->log2f = buf[6];
        memcpy(h->salt, buf + 24, S3_OBJFMT_SALT_LEN);
        memcpy(h->commit, buf + 40, S3_OBJFMT_COMMIT_LEN);
    }

    return S3_OBJFMT_OK;
}


void
s3_objfmt_hdr_write(const s3_objfmt_hdr_t *h,
    unsigned char out[S3_OBJFMT_HDR_LEN])
{
    memcpy(out, "SSEK", 4);
    out[4] = S3_OBJFMT_VERSION;
    out[5] = S3_OBJFMT_ALG_AES256GCM;
    out[6] = (unsigned char) h->log2f;
    out[7] = 0;
    s3_objfmt_be64(out + 8, h->len);
    s3_objfmt_be32(out + 16, h->part);
    memset(out + 20, 0, 4);
    memcpy(out + 24, h->salt, S3_OBJFMT_SALT_LEN);
    memcpy(out + 40, h->commit, S3_OBJFMT_COMMIT_LEN);
}


/* ---- sizes --------------------------------------------------------------- */

uint64_t
s3_objfmt_frames(uint64_t len, unsigned log2f)
{
    if (len == 0) {
        return 1;
    }

    return ((len - 1) >> log2f) + 1;
}


uint64_t
s3_objfmt_stored_len(uint64_t len, unsigned log2f)
{
    if (!s3_objfmt_log2f_ok(log2f) || len > S3_OBJFMT_LEN_MAX) {
        return UINT64_MAX;
    }

    return S3_OBJFMT_HDR_LEN + len
           + S3_OBJFMT_TAG_LEN * s3_objfmt_frames(len, log2f);
}


uint64_t
s3_objfmt_max_len(uint64_t stored_max, unsigned log2f)
{
    uint64_t  unit, body, full, rest;

    if (!s3_objfmt_log2f_ok(log2f)
        || stored_max < S3_OBJFMT_HDR_LEN + S3_OBJFMT_TAG_LEN)
    {
        return 0;
    }

    /* whole frames first, then what a partial last frame can carry */

    unit = ((uint64_t) 1 << log2f) + S3_OBJFMT_TAG_LEN;
    body = stored_max - S3_OBJFMT_HDR_LEN;
    full = body / unit;
    rest = body % unit;

    return s3_objfmt_min((full << log2f)
                         + (rest > S3_OBJFMT_TAG_LEN
                            ? rest - S3_OBJFMT_TAG_LEN : 0),
                         S3_OBJFMT_LEN_MAX);
}


s3_err_t
s3_objfmt_check_len(uint64_t len, unsigned log2f)
{
    if (s3_objfmt_stored_len(len, log2f) > S3_OBJFMT_STORED_MAX) {
        return S3_ERR_ENTITY_TOO_LARGE;
    }

    return S3_OK;
}


/* ---- keys ---------------------------------------------------------------- */

s3_objfmt_rc_t
s3_objfmt_object_key(const unsigned char bucket_key[S3_OBJFMT_KEY_LEN],
    const unsigned char salt[S3_OBJFMT_SALT_LEN], const char *arn,
    size_t arn_len, unsigned char dek[S3_OBJFMT_KEY_LEN])
{
    int            rc;
    unsigned char  info[12 + S3_OBJFMT_ARN_MAX];

    if (bucket_key == NULL || salt == NULL || dek == NULL
        || (arn == NULL && arn_len) || arn_len > S3_OBJFMT_ARN_MAX)
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    memcpy(info, "SSEK1 object", 12);
    if (arn_len) {
        memcpy(info + 12, arn, arn_len);
    }

    rc = kms_hkdf_sha256(bucket_key, S3_OBJFMT_KEY_LEN, salt,
                         S3_OBJFMT_SALT_LEN, info, 12 + arn_len, dek,
                         S3_OBJFMT_KEY_LEN);

    return rc == 0 ? S3_OBJFMT_OK : S3_OBJFMT_ERR_CRYPTO;
}


static s3_objfmt_rc_t
s3_objfmt_manifest_key(const unsigned char *dek, unsigned char key[32])
{
    /* an empty salt: HKDF then uses 32 zero bytes (RFC 5869, 2.2) */

    if (kms_hkdf_sha256(dek, S3_OBJFMT_KEY_LEN, NULL, 0, "SSEK1 manifest",
                        14, key, 32) != 0)
    {
        return S3_OBJFMT_ERR_CRYPTO;
    }

    return S3_OBJFMT_OK;
}


s3_objfmt_rc_t
s3_objfmt_manifest_mac(const unsigned char dek[S3_OBJFMT_KEY_LEN],
    const char *arn, size_t arn_len, const char *upload_id, size_t id_len,
    const s3_objfmt_hdr_t *parts, size_t nparts,
    unsigned char mac[S3_OBJFMT_MAC_LEN])
{
    size_t          i;
    kms_iov_t       iov[5];
    unsigned char  *rec, *p, key[32];
    s3_objfmt_rc_t  rc;

    /*
     * The 0x00 separators make the encoding unambiguous only if neither
     * string holds a 0x00.
     */

    if (dek == NULL || mac == NULL || parts == NULL || nparts == 0
        || nparts > S3_OBJFMT_PART_MAX
        || (arn == NULL && arn_len) || (upload_id == NULL && id_len)
        || (arn_len && memchr(arn, 0, arn_len) != NULL)
        || (id_len && memchr(upload_id, 0, id_len) != NULL))
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    rec = malloc(nparts * S3_OBJFMT_REC_LEN);
    if (rec == NULL) {
        return S3_OBJFMT_ERR_CRYPTO;
    }

    for (i = 0, p = rec; i < nparts; i++, p += S3_OBJFMT_REC_LEN) {
        s3_objfmt_be32(p, parts[i].part);
        memcpy(p + 4, parts[i].salt, S3_OBJFMT_SALT_LEN);
        s3_objfmt_be64(p + 4 + S3_OBJFMT_SALT_LEN, parts[i].len);
    }

    iov[0].base = arn;
    iov[0].len = arn_len;
    iov[1].base = "";
    iov[1].len = 1;
    iov[2].base = upload_id;
    iov[2].len = id_len;
    iov[3].base = "";
    iov[3].len = 1;
    iov[4].base = rec;
    iov[4].len = nparts * S3_OBJFMT_REC_LEN;

    rc = s3_objfmt_manifest_key(dek, key);

    if (rc == S3_OBJFMT_OK
        && kms_hmac_sha256_iov(key, sizeof(key), iov, 5, mac) != 0)
    {
        rc = S3_OBJFMT_ERR_CRYPTO;
    }

    kms_wipe(key, sizeof(key));
    free(rec);

    return rc;
}


s3_objfmt_rc_t
s3_objfmt_manifest_verify(const unsigned char dek[S3_OBJFMT_KEY_LEN],
    const char *arn, size_t arn_len, const char *upload_id, size_t id_len,
    const s3_objfmt_hdr_t *parts, size_t nparts,
    const unsigned char mac[S3_OBJFMT_MAC_LEN])
{
    unsigned char   want[S3_OBJFMT_MAC_LEN];
    s3_objfmt_rc_t  rc;

    if (mac == NULL) {
        return S3_OBJFMT_ERR_ARGS;
    }

    rc = s3_objfmt_manifest_mac(dek, arn, arn_len, upload_id, id_len, parts,
                                nparts, want);
    if (rc != S3_OBJFMT_OK) {
        return rc;
    }

    return kms_ct_equal(want, mac, sizeof(want))
           ? S3_OBJFMT_OK : S3_OBJFMT_ERR_MANIFEST;
}


/* ---- encryptor ----------------------------------------------------------- */

s3_objfmt_rc_t
s3_objfmt_enc_new(s3_objfmt_enc_t **encp,
    const unsigned char dek[S3_OBJFMT_KEY_LEN], uint64_t len, uint32_t part,
    unsigned log2f, const unsigned char *salt)
{
    s3_objfmt_rc_t    rc;
    s3_objfmt_hdr_t   h;
    s3_objfmt_enc_t  *e;
    unsigned char     key[S3_OBJFMT_KEY_LEN], zero[S3_OBJFMT_NONCE_LEN];

    if (encp == NULL) {
        return S3_OBJFMT_ERR_ARGS;
    }

    *encp = NULL;

    if (dek == NULL || !s3_objfmt_log2f_ok(log2f)
        || part > S3_OBJFMT_PART_MAX || len > S3_OBJFMT_LEN_MAX)
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    e = calloc(1, sizeof(s3_objfmt_enc_t));
    if (e == NULL) {
        return S3_OBJFMT_ERR_CRYPTO;
    }

    rc = S3_OBJFMT_ERR_CRYPTO;

    e->len = len;
    e->log2f = log2f;
    e->nframes = s3_objfmt_frames(len, log2f);
    e->stored_len = s3_objfmt_stored_len(len, log2f);
    e->hold_len = s3_objfmt_frame_len(len, log2f, e->nframes - 1)
                  + S3_OBJFMT_TAG_LEN;

    e->hold = malloc(e->hold_len);
    e->gcm = kms_gcm_new();
    if (e->hold == NULL || e->gcm == NULL) {
        goto failed;
    }

    memset(&h, 0, sizeof(h));
    h.len = len;
    h.part = part;
    h.log2f = log2f;

    if (salt != NULL) {
        memcpy(h.salt, salt, S3_OBJFMT_SALT_LEN);

    } else if (kms_random(h.salt, S3_OBJFMT_SALT_LEN) != 0) {
        goto failed;
    }

    if (s3_objfmt_derive(dek, h.salt, part, key, h.commit) != S3_OBJFMT_OK) {
        goto failed;
    }

    /* the key schedule is set once here; each frame only changes the IV */

    memset(zero, 0, sizeof(zero));
    if (kms_gcm_start(e->gcm, 1, key, zero, sizeof(zero)) != 0) {
        kms_wipe(key, sizeof(key));
        goto failed;
    }

    kms_wipe(key, sizeof(key));

    s3_objfmt_hdr_write(&h, e->aad);
    e->state = S3_OBJFMT_ENC_HEADER;

    *encp = e;

    return S3_OBJFMT_OK;

failed:

    s3_objfmt_enc_free(e);

    return rc;
}


const unsigned char *
s3_objfmt_enc_header(const s3_objfmt_enc_t *e)
{
    return e->aad;
}


uint64_t
s3_objfmt_enc_stored_len(const s3_objfmt_enc_t *e)
{
    return e->stored_len;
}


static s3_objfmt_rc_t
s3_objfmt_enc_fail(s3_objfmt_enc_t *e, s3_objfmt_rc_t rc)
{
    e->error = rc;
    kms_wipe(e->hold, e->hold_len);

    return rc;
}


s3_objfmt_rc_t
s3_objfmt_enc_process(s3_objfmt_enc_t *e, const unsigned char *in,
    size_t in_len, size_t *consumed, unsigned char *out, size_t out_len,
    size_t *written)
{
    int             final;
    size_t          ip, op, n;
    s3_objfmt_rc_t  rc;

    *consumed = 0;
    *written = 0;

    if (e->error != S3_OBJFMT_OK) {
        return e->error;
    }

    if (in_len > e->len - e->fed) {
        return s3_objfmt_enc_fail(e, S3_OBJFMT_ERR_TOO_LONG);
    }

    ip = 0;
    op = 0;

    for ( ;; ) {

        switch (e->state) {

        case S3_OBJFMT_ENC_HEADER:
            n = s3_objfmt_min(S3_OBJFMT_HDR_LEN - e->pos, out_len - op);
            if (n) {
                memcpy(out + op, e->aad + e->pos, n);
                op += n;
                e->pos += n;
            }

            if (e->pos < S3_OBJFMT_HDR_LEN) {
                goto again;
            }

            e->state = S3_OBJFMT_ENC_START;
            break;

        case S3_OBJFMT_ENC_START:
            final = (e->frame == e->nframes - 1);
            e->flen = s3_objfmt_frame_len(e->len, e->log2f, e->frame);
            e->pos = 0;

            if (s3_objfmt_frame_start(e->gcm, 1, e->aad, e->frame, final)
                != S3_OBJFMT_OK)
            {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }

            e->state = final ? S3_OBJFMT_ENC_FINAL : S3_OBJFMT_ENC_BODY;
            break;

        case S3_OBJFMT_ENC_BODY:
            n = s3_objfmt_min(e->flen - e->pos, in_len - ip);
            n = s3_objfmt_min(n, out_len - op);
            if (n) {
                if (kms_gcm_update(e->gcm, in + ip, n, out + op) != 0) {
                    rc = S3_OBJFMT_ERR_CRYPTO;
                    goto failed;
                }
                ip += n;
                op += n;
                e->pos += n;
                e->fed += n;
            }

            if (e->pos < e->flen) {
                goto again;
            }

            if (kms_gcm_finish(e->gcm, e->tag) != 0) {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }

            e->pos = 0;
            e->state = S3_OBJFMT_ENC_TAG;
            break;

        case S3_OBJFMT_ENC_TAG:
            n = s3_objfmt_min(S3_OBJFMT_TAG_LEN - e->pos, out_len - op);
            if (n) {
                memcpy(out + op, e->tag + e->pos, n);
                op += n;
                e->pos += n;
            }

            if (e->pos < S3_OBJFMT_TAG_LEN) {
                goto again;
            }

            e->frame++;
            e->state = S3_OBJFMT_ENC_START;
            break;

        case S3_OBJFMT_ENC_FINAL:
            n = s3_objfmt_min(e->flen - e->pos, in_len - ip);
            if (n) {
                if (kms_gcm_update(e->gcm, in + ip, n, e->hold + e->pos)
                    != 0)
                {
                    rc = S3_OBJFMT_ERR_CRYPTO;
                    goto failed;
                }
                ip += n;
                e->pos += n;
                e->fed += n;
            }

            if (e->pos < e->flen) {
                goto again;
            }

            if (kms_gcm_finish(e->gcm, e->hold + e->flen) != 0) {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }

            e->pos = 0;
            e->state = S3_OBJFMT_ENC_HELD;
            break;

        case S3_OBJFMT_ENC_HELD:
            if (!e->released) {
                rc = S3_OBJFMT_HELD;
                goto done;
            }

            e->state = S3_OBJFMT_ENC_FLUSH;
            break;

        case S3_OBJFMT_ENC_FLUSH:
            n = s3_objfmt_min(e->hold_len - e->pos, out_len - op);
            if (n) {
                memcpy(out + op, e->hold + e->pos, n);
                op += n;
                e->pos += n;
            }

            if (e->pos < e->hold_len) {
                goto again;
            }

            e->state = S3_OBJFMT_ENC_DONE;
            break;

        default: /* S3_OBJFMT_ENC_DONE */
            rc = S3_OBJFMT_OK;
            goto done;
        }
    }

again:

    rc = S3_OBJFMT_AGAIN;

done:

    *consumed = ip;
    *written = op;

    return rc;

failed:

    *consumed = ip;
    *written = op;

    return s3_objfmt_enc_fail(e, rc);
}


s3_objfmt_rc_t
s3_objfmt_enc_release(s3_objfmt_enc_t *e)
{
    if (e->error != S3_OBJFMT_OK) {
        return e->error;
    }

    if (e->fed < e->len) {
        return s3_objfmt_enc_fail(e, S3_OBJFMT_ERR_TRUNCATED);
    }

    e->released = 1;

    return S3_OBJFMT_OK;
}


void
s3_objfmt_enc_free(s3_objfmt_enc_t *e)
{
    if (e == NULL) {
        return;
    }

    kms_gcm_free(e->gcm);
    free(e->hold);
    kms_wipe(e, sizeof(s3_objfmt_enc_t));
    free(e);
}


/* ---- decryptor ----------------------------------------------------------- */

s3_objfmt_rc_t
s3_objfmt_dec_new(s3_objfmt_dec_t **decp,
    const unsigned char dek[S3_OBJFMT_KEY_LEN], uint32_t part,
    const unsigned char *hdr, int hdr_in_stream, uint64_t off, uint64_t len)
{
    s3_objfmt_rc_t    rc;
    s3_objfmt_dec_t  *d;

    if (decp == NULL) {
        return S3_OBJFMT_ERR_ARGS;
    }

    *decp = NULL;

    if (dek == NULL || part > S3_OBJFMT_PART_MAX
        || (hdr == NULL && off != 0))
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    d = calloc(1, sizeof(s3_objfmt_dec_t));
    if (d == NULL) {
        return S3_OBJFMT_ERR_CRYPTO;
    }

    d->gcm = kms_gcm_new();
    if (d->gcm == NULL) {
        rc = S3_OBJFMT_ERR_CRYPTO;
        goto failed;
    }

    d->part = part;
    d->off = off;
    d->len = len;
    d->in_stream = (hdr == NULL || hdr_in_stream);
    d->given = (hdr != NULL && hdr_in_stream);

    if (hdr == NULL) {
        memcpy(d->dek, dek, S3_OBJFMT_KEY_LEN);
        *decp = d;
        return S3_OBJFMT_OK;
    }

    rc = s3_objfmt_dec_setup(d, hdr, dek);
    if (rc != S3_OBJFMT_OK) {
        goto failed;
    }

    *decp = d;

    return S3_OBJFMT_OK;

failed:

    s3_objfmt_dec_free(d);

    return rc;
}


/* checks a header against the DEK and p, loads the key, maps the range */
static s3_objfmt_rc_t
s3_objfmt_dec_setup(s3_objfmt_dec_t *d, const unsigned char *hdr,
    const unsigned char *dek)
{
    int             ok;
    uint64_t        L;
    s3_objfmt_rc_t  rc;
    unsigned char   key[S3_OBJFMT_KEY_LEN], commit[S3_OBJFMT_COMMIT_LEN];
    unsigned char   zero[S3_OBJFMT_NONCE_LEN];

    rc = s3_objfmt_hdr_parse(hdr, S3_OBJFMT_HDR_LEN, &d->hdr);
    if (rc != S3_OBJFMT_OK) {
        return rc;
    }

    if (d->hdr.part != d->part) {
        return S3_OBJFMT_ERR_PART;
    }

    /* the range first: a caller's mistake is not the data's fault */

    L = d->hdr.len;

    if (L == 0) {
        if (d->off != 0) {
            return S3_OBJFMT_ERR_ARGS;
        }
        d->len = 0;

    } else {
        if (d->off >= L) {
            return S3_OBJFMT_ERR_ARGS;
        }
        d->len = s3_objfmt_min(d->len, L - d->off);
        if (d->len == 0) {
            return S3_OBJFMT_ERR_ARGS;
        }
    }

    rc = s3_objfmt_seg_span(L, d->hdr.log2f, d->off, d->len, d->in_stream,
                            &d->span_off, &d->span_len);
    if (rc != S3_OBJFMT_OK) {
        return rc;
    }

    d->nframes = s3_objfmt_frames(L, d->hdr.log2f);
    d->frame = d->off >> d->hdr.log2f;
    d->last = L ? (d->off + d->len - 1) >> d->hdr.log2f : 0;
    d->flen = s3_objfmt_frame_len(L, d->hdr.log2f, d->frame);
    d->left = d->span_len - (d->in_stream ? S3_OBJFMT_HDR_LEN : 0);

    rc = s3_objfmt_derive(dek, d->hdr.salt, d->part, key, commit);
    if (rc != S3_OBJFMT_OK) {
        return rc;
    }

    ok = kms_ct_equal(commit, d->hdr.commit, S3_OBJFMT_COMMIT_LEN);

    memset(zero, 0, sizeof(zero));
    if (ok && kms_gcm_start(d->gcm, 0, key, zero, sizeof(zero)) != 0) {
        rc = S3_OBJFMT_ERR_CRYPTO;
    }

    kms_wipe(key, sizeof(key));
    kms_wipe(commit, sizeof(commit));

    if (!ok) {
        return S3_OBJFMT_ERR_WRONG_KEY;
    }

    if (rc != S3_OBJFMT_OK) {
        return rc;
    }

    memcpy(d->aad, hdr, S3_OBJFMT_HDR_LEN);
    d->ready = 1;

    return S3_OBJFMT_OK;
}


/* the header bytes in hbuf[0..hpos) grew: check them */
static s3_objfmt_rc_t
s3_objfmt_dec_header_in(s3_objfmt_dec_t *d)
{
    s3_objfmt_rc_t  rc;

    if (d->given) {
        if (d->hpos == S3_OBJFMT_HDR_LEN
            && memcmp(d->hbuf, d->aad, S3_OBJFMT_HDR_LEN) != 0)
        {
            return S3_OBJFMT_ERR_CORRUPT;
        }

        return S3_OBJFMT_OK;
    }

    rc = s3_objfmt_hdr_parse(d->hbuf, d->hpos, NULL);
    if (rc != S3_OBJFMT_OK) {
        return rc == S3_OBJFMT_AGAIN ? S3_OBJFMT_OK : rc;
    }

    rc = s3_objfmt_dec_setup(d, d->hbuf, d->dek);
    kms_wipe(d->dek, sizeof(d->dek));

    return rc;
}


static s3_objfmt_rc_t
s3_objfmt_dec_fail(s3_objfmt_dec_t *d, s3_objfmt_rc_t rc)
{
    d->error = rc;
    d->out_pos = 0;
    d->out_end = 0;
    kms_wipe(d->buf, d->buf_size);
    kms_wipe(d->dek, sizeof(d->dek));

    return rc;
}


static void
s3_objfmt_dec_next(s3_objfmt_dec_t *d)
{
    d->frame++;
    d->fpos = 0;

    if (d->frame <= d->last) {
        d->flen = s3_objfmt_frame_len(d->hdr.len, d->hdr.log2f, d->frame);
    }
}


/* the part of the current frame's plaintext inside the range */
static void
s3_objfmt_dec_trim(const s3_objfmt_dec_t *d, size_t *lo, size_t *hi)
{
    uint64_t  start, end;

    start = d->frame << d->hdr.log2f;
    end = start + d->flen;

    *lo = d->off > start ? (size_t) (d->off - start) : 0;
    *hi = d->off + d->len < end ? (size_t) (d->off + d->len - start)
                                : d->flen;
}


s3_objfmt_rc_t
s3_objfmt_dec_span(const s3_objfmt_dec_t *d, uint64_t *off, uint64_t *len)
{
    if (!d->ready) {
        *off = 0;
        *len = 0;
        return d->error != S3_OBJFMT_OK ? d->error : S3_OBJFMT_AGAIN;
    }

    *off = d->span_off;
    *len = d->span_len;

    return S3_OBJFMT_OK;
}


const s3_objfmt_hdr_t *
s3_objfmt_dec_header(const s3_objfmt_dec_t *d)
{
    return d->ready ? &d->hdr : NULL;
}


s3_objfmt_rc_t
s3_objfmt_dec_process(s3_objfmt_dec_t *d, const unsigned char *in,
    size_t in_len, size_t *consumed, unsigned char *out, size_t out_len,
    size_t *written)
{
    int             final;
    size_t          ip, op, n, lo, hi, need;
    s3_objfmt_rc_t  rc;

    *consumed = 0;
    *written = 0;

    if (d->error != S3_OBJFMT_OK) {
        return d->error;
    }

    ip = 0;
    op = 0;

    if (d->in_stream && d->hpos < S3_OBJFMT_HDR_LEN) {
        n = s3_objfmt_min(S3_OBJFMT_HDR_LEN - d->hpos, in_len);
        if (n) {
            memcpy(d->hbuf + d->hpos, in, n);
            d->hpos += n;
            ip = n;
        }

        rc = s3_objfmt_dec_header_in(d);
        if (rc != S3_OBJFMT_OK) {
            goto failed;
        }

        if (d->hpos < S3_OBJFMT_HDR_LEN) {
            goto again;
        }
    }

    if (in_len - ip > d->left) {
        rc = S3_OBJFMT_ERR_TOO_LONG;
        goto failed;
    }

    for ( ;; ) {

        /* verified plaintext waiting for room */

        if (d->out_pos < d->out_end) {
            n = s3_objfmt_min(d->out_end - d->out_pos, out_len - op);
            if (n) {
                memcpy(out + op, d->buf + d->out_pos, n);
                op += n;
                d->out_pos += n;
            }

            if (d->out_pos < d->out_end) {
                goto again;
            }
        }

        if (d->frame > d->last) {
            rc = S3_OBJFMT_OK;
            goto done;
        }

        final = (d->frame == d->nframes - 1);
        need = d->flen + S3_OBJFMT_TAG_LEN;

        if (d->fpos == 0 && in_len - ip >= need && out_len - op >= d->flen) {

            /* the whole frame is here: decrypt it straight into out */

            if (s3_objfmt_frame_start(d->gcm, 0, d->aad, d->frame, final)
                != S3_OBJFMT_OK
                || kms_gcm_update(d->gcm, in + ip, d->flen,
                                  d->flen ? out + op : NULL) != 0)
            {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }

            memcpy(d->tag, in + ip + d->flen, S3_OBJFMT_TAG_LEN);

            if (kms_gcm_finish(d->gcm, d->tag) != 0) {
                if (d->flen) {
                    kms_wipe(out + op, d->flen);
                }
                rc = S3_OBJFMT_ERR_CORRUPT;
                goto failed;
            }

            s3_objfmt_dec_trim(d, &lo, &hi);
            if (lo && hi > lo) {
                memmove(out + op, out + op + lo, hi - lo);
            }

            op += hi - lo;
            ip += need;
            d->left -= need;
            s3_objfmt_dec_next(d);
            continue;
        }

        if (ip == in_len) {
            goto again;
        }

        /* a piece of a frame: through our buffer */

        if (d->fpos == 0) {
            if (d->buf == NULL) {
                d->buf_size = s3_objfmt_min((uint64_t) 1 << d->hdr.log2f,
                                            d->hdr.len);
                d->buf = malloc(d->buf_size ? d->buf_size : 1);
                if (d->buf == NULL) {
                    rc = S3_OBJFMT_ERR_CRYPTO;
                    goto failed;
                }
            }

            if (s3_objfmt_frame_start(d->gcm, 0, d->aad, d->frame, final)
                != S3_OBJFMT_OK)
            {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }
        }

        if (d->fpos < d->flen) {
            n = s3_objfmt_min(d->flen - d->fpos, in_len - ip);
            if (kms_gcm_update(d->gcm, in + ip, n, d->buf + d->fpos) != 0) {
                rc = S3_OBJFMT_ERR_CRYPTO;
                goto failed;
            }

        } else {
            n = s3_objfmt_min(need - d->fpos, in_len - ip);
            memcpy(d->tag + (d->fpos - d->flen), in + ip, n);
        }

        ip += n;
        d->fpos += n;
        d->left -= n;

        if (d->fpos < need) {
            continue;
        }

        if (kms_gcm_finish(d->gcm, d->tag) != 0) {
            rc = S3_OBJFMT_ERR_CORRUPT;
            goto failed;
        }

        s3_objfmt_dec_trim(d, &lo, &hi);
        d->out_pos = lo;
        d->out_end = hi;
        s3_objfmt_dec_next(d);
    }

again:

    rc = S3_OBJFMT_AGAIN;

done:

    *consumed = ip;
    *written = op;

    return rc;

failed:

    *consumed = ip;
    *written = op;

    return s3_objfmt_dec_fail(d, rc);
}


size_t
s3_objfmt_dec_unit_len(const s3_objfmt_dec_t *d)
{
    if (d->error != S3_OBJFMT_OK) {
        return 0;
    }

    if (d->in_stream && d->hpos < S3_OBJFMT_HDR_LEN) {
        return S3_OBJFMT_HDR_LEN - d->hpos;
    }

    if (d->frame > d->last) {
        return 0;
    }

    return d->flen + S3_OBJFMT_TAG_LEN - d->fpos;
}


s3_objfmt_rc_t
s3_objfmt_dec_unit(s3_objfmt_dec_t *d, unsigned char *buf, size_t len,
    size_t *pos, size_t *plen)
{
    size_t  need;

    *pos = 0;
    *plen = 0;

    if (d->error != S3_OBJFMT_OK) {
        return d->error;
    }

    if (d->fpos != 0 || d->out_pos < d->out_end
        || (d->in_stream && d->hpos != 0 && d->hpos < S3_OBJFMT_HDR_LEN))
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    need = s3_objfmt_dec_unit_len(d);

    if (len != need || need == 0) {
        return s3_objfmt_dec_fail(d, len < need ? S3_OBJFMT_ERR_TRUNCATED
                                                : S3_OBJFMT_ERR_TOO_LONG);
    }

    return s3_objfmt_dec_unit_feed(d, buf, len, buf, pos, plen);
}


/*
 * A frame's ciphertext is decrypted as it comes, straight into the
 * caller's buffer (no gathering copy); its tag is gathered here.  Nothing
 * of the frame is released before the tag verified.
 */
s3_objfmt_rc_t
s3_objfmt_dec_unit_feed(s3_objfmt_dec_t *d, const unsigned char *in,
    size_t n, unsigned char *out, size_t *pos, size_t *plen)
{
    int             final;
    size_t          k, need, lo, hi;
    s3_objfmt_rc_t  rc;

    *pos = 0;
    *plen = 0;

    if (d->error != S3_OBJFMT_OK) {
        return d->error;
    }

    if (d->out_pos < d->out_end) {
        return S3_OBJFMT_ERR_ARGS;      /* inside a _dec_process() frame */
    }

    if (d->in_stream && d->hpos < S3_OBJFMT_HDR_LEN) {
        if (n > S3_OBJFMT_HDR_LEN - d->hpos) {
            return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_TOO_LONG);
        }

        memcpy(d->hbuf + d->hpos, in, n);
        d->hpos += n;

        if (d->hpos < S3_OBJFMT_HDR_LEN) {
            return S3_OBJFMT_AGAIN;
        }

        rc = s3_objfmt_dec_header_in(d);

        return rc == S3_OBJFMT_OK ? rc : s3_objfmt_dec_fail(d, rc);
    }

    need = d->flen + S3_OBJFMT_TAG_LEN;

    if (d->frame > d->last || n > need - d->fpos) {
        if (d->fpos != 0) {
            kms_wipe(out, (d->fpos < d->flen ? d->fpos : d->flen));
        }

        return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_TOO_LONG);
    }

    if (d->fpos == 0) {
        final = (d->frame == d->nframes - 1);

        if (s3_objfmt_frame_start(d->gcm, 0, d->aad, d->frame, final)
            != S3_OBJFMT_OK)
        {
            return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_CRYPTO);
        }
    }

    if (d->fpos < d->flen) {
        k = n < d->flen - d->fpos ? n : d->flen - d->fpos;

        if (kms_gcm_update(d->gcm, in, k, out + d->fpos) != 0) {
            kms_wipe(out, d->fpos + k);
            return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_CRYPTO);
        }

        d->fpos += k;
        in += k;
        n -= k;
    }

    if (n != 0) {
        /* the frame's ciphertext is all in: the rest is its tag */
        memcpy(d->tag + (d->fpos - d->flen), in, n);
        d->fpos += n;
    }

    if (d->fpos < need) {
        return S3_OBJFMT_AGAIN;
    }

    if (kms_gcm_finish(d->gcm, d->tag) != 0) {
        kms_wipe(out, d->flen);
        return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_CORRUPT);
    }

    s3_objfmt_dec_trim(d, &lo, &hi);
    *pos = lo;
    *plen = hi - lo;

    d->left -= need;
    s3_objfmt_dec_next(d);

    return S3_OBJFMT_OK;
}


s3_objfmt_rc_t
s3_objfmt_dec_end(s3_objfmt_dec_t *d)
{
    if (d->error != S3_OBJFMT_OK) {
        return d->error;
    }

    if (!d->ready || d->hpos < (d->in_stream ? S3_OBJFMT_HDR_LEN : 0)
        || d->left != 0)
    {
        return s3_objfmt_dec_fail(d, S3_OBJFMT_ERR_TRUNCATED);
    }

    return S3_OBJFMT_OK;
}


void
s3_objfmt_dec_free(s3_objfmt_dec_t *d)
{
    if (d == NULL) {
        return;
    }

    kms_gcm_free(d->gcm);

    if (d->buf != NULL) {
        kms_wipe(d->buf, d->buf_size);
        free(d->buf);
    }

    kms_wipe(d, sizeof(s3_objfmt_dec_t));
    free(d);
}


/* ---- ranges -------------------------------------------------------------- */

/* decimal digits, saturating at UINT64_MAX */
static const char *
s3_objfmt_digits(const char *p, const char *end, uint64_t *v, int *found)
{
    unsigned  d;

    *v = 0;
    *found = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        d = (unsigned) (*p++ - '0');
        *found = 1;
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
    }

    return p;
}


s3_err_t
s3_objfmt_range_parse(const char *value, size_t len, uint64_t total,
    s3_objfmt_range_t *r)
{
    int          has_a, has_b;
    uint64_t     a, b;
    const char  *p, *end;

    r->partial = 0;
    r->first = 0;
    r->last = 0;

    /*
     * S3 serves one range; a header it cannot use (another unit, bad
     * syntax, last < first, several ranges) is ignored, as RFC 7233 lets
     * a server do.
     */

    if (value == NULL || len < 6 || strncasecmp(value, "bytes=", 6) != 0) {
        return S3_OK;
    }

    p = value + 6;
    end = value + len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    p = s3_objfmt_digits(p, end, &a, &has_a);

    if (p == end || *p++ != '-') {
        return S3_OK;
    }

    p = s3_objfmt_digits(p, end, &b, &has_b);

    if (p != end || (!has_a && !has_b) || (has_a && has_b && b < a)) {
        return S3_OK;
    }

    if (!has_a) {
        if (b == 0) {
            return S3_ERR_INVALID_RANGE;
        }

        if (total == 0) {
            return S3_OK;           /* S3 answers 200 with the empty body */
        }

        r->first = b >= total ? 0 : total - b;
        r->last = total - 1;
        r->partial = 1;

        return S3_OK;
    }

    if (a >= total) {
        return S3_ERR_INVALID_RANGE;
    }

    r->first = a;
    r->last = (has_b && b < total - 1) ? b : total - 1;
    r->partial = 1;

    return S3_OK;
}


s3_objfmt_rc_t
s3_objfmt_seg_span(uint64_t seg_len, unsigned log2f, uint64_t off,
    uint64_t len, int with_header, uint64_t *soff, uint64_t *slen)
{
    uint64_t  fa, fb, unit, end;

    if (!s3_objfmt_log2f_ok(log2f) || seg_len > S3_OBJFMT_LEN_MAX) {
        return S3_OBJFMT_ERR_ARGS;
    }

    if (seg_len == 0) {
        if (off != 0) {
            return S3_OBJFMT_ERR_ARGS;
        }
        fa = 0;
        fb = 0;

    } else {
        if (off >= seg_len || len == 0) {
            return S3_OBJFMT_ERR_ARGS;
        }
        len = s3_objfmt_min(len, seg_len - off);
        fa = off >> log2f;
        fb = (off + len - 1) >> log2f;
    }

    if (with_header && fa != 0) {
        return S3_OBJFMT_ERR_ARGS;
    }

    unit = ((uint64_t) 1 << log2f) + S3_OBJFMT_TAG_LEN;

    *soff = with_header ? 0 : S3_OBJFMT_HDR_LEN + fa * unit;
    end = s3_objfmt_min(S3_OBJFMT_HDR_LEN + (fb + 1) * unit,
                        s3_objfmt_stored_len(seg_len, log2f));
    *slen = end - *soff;

    return S3_OBJFMT_OK;
}


s3_objfmt_rc_t
s3_objfmt_segs_layout(s3_objfmt_seg_t *segs, size_t n, uint64_t *plain_total,
    uint64_t *stored_total)
{
    size_t    i;
    uint64_t  p, s, sl;

    p = 0;
    s = 0;

    for (i = 0; i < n; i++) {
        sl = s3_objfmt_stored_len(segs[i].len, segs[i].log2f);

        /* both totals stay below 2^63 */
        if (sl == UINT64_MAX || sl > ((uint64_t) 1 << 63) - s) {
            return S3_OBJFMT_ERR_ARGS;
        }

        segs[i].plain_off = p;
        segs[i].stored_off = s;
        p += segs[i].len;
        s += sl;
    }

    if (plain_total != NULL) {
        *plain_total = p;
    }

    if (stored_total != NULL) {
        *stored_total = s;
    }

    return S3_OBJFMT_OK;
}


s3_objfmt_rc_t
s3_objfmt_map_range(const s3_objfmt_seg_t *segs, size_t n, uint64_t off,
    uint64_t len, s3_objfmt_span_t *span)
{
    size_t                  lo, hi, mid;
    uint64_t                total, end, soff, slen, o;
    const s3_objfmt_seg_t  *f, *l;

    if (segs == NULL || n == 0 || len == 0) {
        return S3_OBJFMT_ERR_ARGS;
    }

    total = segs[n - 1].plain_off + segs[n - 1].len;
    if (off >= total) {
        return S3_OBJFMT_ERR_ARGS;
    }

    end = off + s3_objfmt_min(len, total - off);

    /* first: the lowest segment ending after off (never an empty one) */

    lo = 0;
    hi = n - 1;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (segs[mid].plain_off + segs[mid].len > off) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    span->first = lo;

    /* last: the lowest segment ending at or after end */

    hi = n - 1;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (segs[mid].plain_off + segs[mid].len >= end) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    span->last = lo;

    f = &segs[span->first];
    l = &segs[span->last];

    if (s3_objfmt_seg_span(f->len, f->log2f, off - f->plain_off,
                           end - off, 0, &soff, &slen)
        != S3_OBJFMT_OK)
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    span->stored_off = f->stored_off + soff;

    o = span->first == span->last ? off - l->plain_off : 0;

    if (s3_objfmt_seg_span(l->len, l->log2f, o, end - l->plain_off - o,
                           span->first != span->last, &soff, &slen)
        != S3_OBJFMT_OK)
    {
        return S3_OBJFMT_ERR_ARGS;
    }

    span->stored_len = l->stored_off + soff + slen - span->stored_off;

    return S3_OBJFMT_OK;
}


void
s3_objfmt_map_piece(const s3_objfmt_seg_t *segs, const s3_objfmt_span_t *span,
    size_t i, uint64_t off, uint64_t len, s3_objfmt_piece_t *piece)
{
    uint64_t  p0, p1, end, a, b;

    p0 = segs[i].plain_off;
    p1 = p0 + segs[i].len;
    end = len > UINT64_MAX - off ? UINT64_MAX : off + len;

    a = off > p0 ? off : p0;
    b = end < p1 ? end : p1;

    piece->off = a < p1 ? a - p0 : 0;
    piece->len = b > a ? b - a : 0;
    piece->hdr_in_stream = (i != span->first);
}
