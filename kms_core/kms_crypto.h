/*
 * Crypto primitives shared by kms_core/ and s3/: SHA-256, HMAC-SHA256,
 * HKDF-SHA256, AES-256-GCM, random bytes, constant-time compare.
 *
 * OpenSSL algorithms are fetched once per process (kms_crypto_init(); the
 * other functions call it lazily).  Every function leaves the OpenSSL error
 * queue empty and returns 0 on success, -1 on failure.
 *
 * The one-shot functions allocate a digest or cipher context per call.
 * Hot paths keep handles instead (kms_sha256_t, kms_hmac_t, kms_gcm_t,
 * kms_rpool_t), one per process or per worker: a handle is not for use by
 * two threads at once.
 */

#ifndef KMS_CRYPTO_H
#define KMS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>


#define KMS_SHA256_LEN   32
#define KMS_GCM_TAG_LEN  16


typedef struct {
    const void  *base;
    size_t       len;
} kms_iov_t;


int kms_crypto_init(void);
void kms_crypto_cleanup(void);


/* SHA-256, one shot and streaming */

int kms_sha256(const void *data, size_t len, unsigned char out[32]);

typedef struct kms_sha256_s  kms_sha256_t;

kms_sha256_t *kms_sha256_new(void);
int kms_sha256_reset(kms_sha256_t *s);
int kms_sha256_update(kms_sha256_t *s, const void *data, size_t len);
int kms_sha256_final(kms_sha256_t *s, unsigned char out[32]);
void kms_sha256_free(kms_sha256_t *s);
/* one digest on the handle's context: reset, update, final */
int kms_sha256_digest(kms_sha256_t *s, const void *data, size_t len,
    unsigned char out[32]);


/* HMAC-SHA256 over one buffer or over several, concatenated */

int kms_hmac_sha256(const void *key, size_t klen, const void *data,
    size_t len, unsigned char out[32]);
int kms_hmac_sha256_iov(const void *key, size_t klen, const kms_iov_t *iov,
    size_t n, unsigned char out[32]);

/*
 * HMAC-SHA256 handle.  kms_hmac_set_key() absorbs the padded key into an
 * inner and an outer SHA-256 state once; kms_hmac_mac() then starts from
 * copies of them (two compressions fewer per MAC, no allocation of ours).
 * kms_hmac_once() MACs under a key used once (HKDF's), on the handle's
 * context.  kms_hmac_free() wipes the key states.
 */
typedef struct kms_hmac_s  kms_hmac_t;

kms_hmac_t *kms_hmac_new(void);
void kms_hmac_free(kms_hmac_t *h);
int kms_hmac_set_key(kms_hmac_t *h, const void *key, size_t klen);
int kms_hmac_mac(kms_hmac_t *h, const kms_iov_t *iov, size_t n,
    unsigned char out[32]);
int kms_hmac_once(kms_hmac_t *h, const void *key, size_t klen,
    const kms_iov_t *iov, size_t n, unsigned char out[32]);


/* HKDF-SHA256 (RFC 5869): extract, then expand to outlen <= 255*32 bytes */

int kms_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt,
    size_t saltlen, const void *info, size_t infolen, unsigned char *out,
    size_t outlen);
/* the same on a handle's context (h: any kms_hmac_t; its key is kept) */
int kms_hkdf_sha256_h(kms_hmac_t *h, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    unsigned char *out, size_t outlen);


/*
 * AES-256-GCM, one shot.  out may equal in.  Decrypt returns -1 when the
 * tag does not verify, and then wipes out.
 */

int kms_gcm_encrypt(const unsigned char key[32], const unsigned char *iv,
    size_t ivlen, const void *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char tag[16]);
int kms_gcm_decrypt(const unsigned char key[32], const unsigned char *iv,
    size_t ivlen, const void *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, const unsigned char tag[16]);

/*
 * AES-256-GCM cipher handle for streaming use (the object format) and for
 * one message after another (KMS blobs): the cipher is set once, each
 * start sets the key (or keeps it) and the IV on the same context.
 */
typedef struct kms_gcm_s  kms_gcm_t;

kms_gcm_t *kms_gcm_new(void);
void kms_gcm_free(kms_gcm_t *g);
/*
 * Which AES-GCM code the handles made from now on use: "openssl" (EVP),
 * "ipsec-mb" (Intel's multi-buffer crypto library, when built with
 * KMS_HAVE_IPSEC_MB and the CPU has AES-NI) or "auto" (ipsec-mb where it
 * has its VAES/AVX-512 code, about three times OpenSSL 3.0's speed; else
 * OpenSSL; the default).  -1 if the one named is not available.  Both
 * give the same bytes.  With ipsec-mb a message takes its AAD in one
 * kms_gcm_aad() call at most, before its data.
 */
int kms_gcm_use(const char *name);
const char *kms_gcm_using(void);

/* enc: 1 encrypt, 0 decrypt; key may be NULL to keep the previous key */
int kms_gcm_start(kms_gcm_t *g, int enc, const unsigned char *key,
    const unsigned char *iv, size_t ivlen);
int kms_gcm_aad(kms_gcm_t *g, const void *aad, size_t len);
int kms_gcm_update(kms_gcm_t *g, const unsigned char *in, size_t len,
    unsigned char *out);
/* encrypt: writes the tag; decrypt: checks it, -1 if it does not verify */
int kms_gcm_finish(kms_gcm_t *g, unsigned char tag[16]);


/*
 * Memory for secrets: OpenSSL's secure heap when kms_global_init() set one
 * up (mlocked, excluded from core dumps), else the normal heap; always
 * zeroed on allocation and wiped on free.
 */
void *kms_secure_alloc(size_t len);
void kms_secure_free(void *p, size_t len);


/* random bytes from OpenSSL's DRBG */
int kms_random(void *buf, size_t len);

/*
 * A pool of random bytes drawn ahead from OpenSSL's DRBG, refilled size
 * bytes at a time: one DRBG call (about a microsecond in OpenSSL 3.0)
 * serves many ids or nonces.  Requests over size/8 bytes go to the DRBG
 * directly.
 *
 * Fork-safe: the pool lives in pages the kernel hands to a child process
 * zeroed (MADV_WIPEONFORK), where the pool's fill level is kept, so a
 * child refills before it draws and never hands out its parent's bytes;
 * where the kernel cannot, the pool compares the process id on every draw.
 *
 * KMS_RPOOL_SECRET: for key material: fed by RAND_priv_bytes(), pages
 * locked in memory where the limits allow and left out of core dumps,
 * each byte wiped as it is handed out, the whole pool wiped when freed.
 * KMS_RPOOL_PUBLIC: for ids and nonces, fed by RAND_bytes().
 */
#define KMS_RPOOL_PUBLIC  0
#define KMS_RPOOL_SECRET  1

typedef struct kms_rpool_s  kms_rpool_t;

kms_rpool_t *kms_rpool_new(size_t size, int flags);
int kms_rpool_bytes(kms_rpool_t *p, void *buf, size_t n);
void kms_rpool_free(kms_rpool_t *p);

/* constant-time equality: 1 equal, 0 not */
int kms_ct_equal(const void *a, const void *b, size_t len);

/* wipes memory the compiler may not optimise away */
void kms_wipe(void *p, size_t len);

/* lowercase hex; out holds 2*len+1 bytes */
void kms_hex(const unsigned char *in, size_t len, char *out);

/*
 * Base64 (standard alphabet, padded).  kms_base64_decode() refuses
 * anything but canonical base64 (whitespace, missing padding, bits set in
 * the padding) and returns -1; else the decoded length.
 */
size_t kms_base64_encoded_len(size_t len);
size_t kms_base64_encode(const unsigned char *in, size_t len, char *out);
long kms_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t cap);

#endif /* KMS_CRYPTO_H */
