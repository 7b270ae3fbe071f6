/*
 * The KMS ciphertext blob, version 1 (DESIGN.md §4):
 *
 *   0       version = 1
 *   1–16    key id (UUID, binary)
 *   17–20   backing key version, BE32
 *   21–52   nonce, 32 random bytes
 *   53…     AES-256-GCM ciphertext
 *   last 16 tag
 *
 * Per-call key = HKDF-SHA256(IKM = backing key, salt = nonce,
 * info = "KMS1 blob"); IV = 12 zero bytes, safe because each derived key
 * seals exactly one message; AAD = bytes 0–20 ‖ canonical context.
 */

#include <string.h>

#include "kms_int.h"


#define KMS_BLOB_INFO  "KMS1 blob"


static int kms_blob_key(kms_hmac_t *h,
    const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *nonce, unsigned char key[32]);
static int kms_blob_aad(const unsigned char *hdr, const unsigned char *ctx,
    size_t ctxlen, kms_buf_t *aad);
static int kms_blob_gcm(kms_gcm_t *g, int enc, const unsigned char *key,
    const void *aad, size_t aadlen, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag);


/*
 * With a handle (the context's, reused call after call) GCM costs no
 * allocation; without one, the one-shot functions.
 */
static int
kms_blob_gcm(kms_gcm_t *g, int enc, const unsigned char *key,
    const void *aad, size_t aadlen, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
    static const unsigned char  iv[12];

    if (g == NULL) {
        return enc ? kms_gcm_encrypt(key, iv, sizeof(iv), aad, aadlen, in,
                                     len, out, tag)
                   : kms_gcm_decrypt(key, iv, sizeof(iv), aad, aadlen, in,
                                     len, out, tag);
    }

    if (kms_gcm_start(g, enc, key, iv, sizeof(iv)) != 0
        || kms_gcm_aad(g, aad, aadlen) != 0
        || kms_gcm_update(g, in, len, out) != 0
        || kms_gcm_finish(g, tag) != 0)
    {
        if (!enc) {
            kms_wipe(out, len);
        }
        return -1;
    }

    return 0;
}


/* the per-call key: HKDF-SHA256(material, salt = nonce, "KMS1 blob") */
static int
kms_blob_key(kms_hmac_t *h, const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *nonce, unsigned char key[32])
{
    if (h != NULL) {
        return kms_hkdf_sha256_h(h, material, KMS_MATERIAL_LEN, nonce, 32,
                                 KMS_BLOB_INFO, sizeof(KMS_BLOB_INFO) - 1,
                                 key, 32);
    }

    return kms_hkdf_sha256(material, KMS_MATERIAL_LEN, nonce, 32,
                           KMS_BLOB_INFO, sizeof(KMS_BLOB_INFO) - 1, key, 32);
}


static int
kms_blob_aad(const unsigned char *hdr, const unsigned char *ctx,
    size_t ctxlen, kms_buf_t *aad)
{
    kms_buf_add(aad, hdr, 21);
    if (ctx != NULL && ctxlen) {
        kms_buf_add(aad, ctx, ctxlen);

    } else {
        /* no context: a count of zero */
        kms_buf_add(aad, "\0\0", 2);
    }

    return aad->failed ? -1 : 0;
}


int
kms_blob_seal(kms_gcm_t *g, kms_hmac_t *h,
    const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *nonce, const unsigned char id[KMS_ID_LEN],
    uint32_t version,
    const unsigned char *ctx, size_t ctxlen, const unsigned char *pt,
    size_t len, unsigned char *out)
{
    unsigned char               key[32];
    unsigned char               stack[128];
    kms_buf_t                   aad;
    int                         rc;

    out[0] = 1;
    memcpy(out + 1, id, KMS_ID_LEN);
    out[17] = (unsigned char) (version >> 24);
    out[18] = (unsigned char) (version >> 16);
    out[19] = (unsigned char) (version >> 8);
    out[20] = (unsigned char) version;

    if (nonce != NULL) {
        memcpy(out + 21, nonce, 32);

    } else if (kms_random(out + 21, 32) != 0) {
        return -1;
    }

    if (kms_blob_key(h, material, out + 21, key) != 0) {
        return -1;
    }

    /* the common case (a context of a few pairs) needs no allocation */
    if (ctxlen + 23 <= sizeof(stack)) {
        memcpy(stack, out, 21);
        if (ctx != NULL && ctxlen) {
            memcpy(stack + 21, ctx, ctxlen);
        } else {
            stack[21] = 0;
            stack[22] = 0;
            ctxlen = 2;
        }

        rc = kms_blob_gcm(g, 1, key, stack, 21 + ctxlen, pt, len,
                          out + KMS_BLOB_HDR_LEN,
                          out + KMS_BLOB_HDR_LEN + len);
        kms_wipe(key, sizeof(key));
        return rc;
    }

    kms_buf_init(&aad);
    rc = kms_blob_aad(out, ctx, ctxlen, &aad);
    if (rc == 0) {
        rc = kms_blob_gcm(g, 1, key, aad.data, aad.len, pt, len,
                          out + KMS_BLOB_HDR_LEN,
                          out + KMS_BLOB_HDR_LEN + len);
    }

    kms_buf_free(&aad);
    kms_wipe(key, sizeof(key));
    return rc;
}


int
kms_blob_parse(const unsigned char *blob, size_t len, kms_blob_t *b)
{
    if (blob == NULL || len < KMS_BLOB_MIN_LEN || blob[0] != 1) {
        return -1;
    }

    memcpy(b->id, blob + 1, KMS_ID_LEN);
    b->version = (uint32_t) blob[17] << 24 | (uint32_t) blob[18] << 16
                 | (uint32_t) blob[19] << 8 | blob[20];
    b->nonce = blob + 21;
    b->ct = blob + KMS_BLOB_HDR_LEN;
    b->ctlen = len - KMS_BLOB_MIN_LEN;
    b->tag = blob + len - KMS_GCM_TAG_LEN;

    return b->version == 0 ? -1 : 0;
}


int
kms_blob_open(kms_gcm_t *g, kms_hmac_t *h,
    const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *blob, const kms_blob_t *b, const unsigned char *ctx,
    size_t ctxlen, unsigned char *out)
{
    unsigned char               key[32];
    unsigned char               stack[128];
    kms_buf_t                   aad;
    int                         rc;

    if (kms_blob_key(h, material, b->nonce, key) != 0) {
        return -1;
    }

    if (ctxlen + 23 <= sizeof(stack)) {
        memcpy(stack, blob, 21);
        if (ctx != NULL && ctxlen) {
            memcpy(stack + 21, ctx, ctxlen);
        } else {
            stack[21] = 0;
            stack[22] = 0;
            ctxlen = 2;
        }

        rc = kms_blob_gcm(g, 0, key, stack, 21 + ctxlen, b->ct, b->ctlen,
                          out, (unsigned char *) b->tag);
        kms_wipe(key, sizeof(key));
        return rc;
    }

    kms_buf_init(&aad);
    rc = kms_blob_aad(blob, ctx, ctxlen, &aad);
    if (rc == 0) {
        rc = kms_blob_gcm(g, 0, key, aad.data, aad.len, b->ct, b->ctlen, out,
                          (unsigned char *) b->tag);
    }

    kms_buf_free(&aad);
    kms_wipe(key, sizeof(key));
    return rc;
}
