/*
 * Crypto primitives on OpenSSL 3, algorithms fetched once per process.
 *
 * HMAC and HKDF are built on the fetched SHA-256 directly (RFC 2104,
 * RFC 5869): no per-call fetch by name, two digest passes per HMAC.
 *
 * In OpenSSL 3.0 the fixed costs dominate for the short inputs of the KMS
 * API: a digest context costs an allocation and a release on top of each
 * init, a DRBG call about a microsecond (locks, a fork check, a key
 * schedule).  Handles keep contexts across calls; a pool draws random
 * bytes ahead.
 */

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#ifdef KMS_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>

#define KMS_GCM_MAX_IV  128            /* OpenSSL 3.0's limit, for both */
#endif

#include "kms_crypto.h"


struct kms_sha256_s {
    EVP_MD_CTX  *md;
};

enum {
    KMS_GCM_OPENSSL = 1,
    KMS_GCM_IPSEC_MB
};

struct kms_gcm_s {
    EVP_CIPHER_CTX  *ctx;              /* OpenSSL's; NULL with ipsec-mb */
    int              enc;
    size_t           ivlen;            /* the IV length the context has */
#ifdef KMS_HAVE_IPSEC_MB
    /*
     * ipsec-mb takes IV and AAD in one call: start keeps the IV until the
     * AAD (or the first update) comes.  kd holds the key schedule and the
     * hash key powers, 64-byte aligned inside kd_mem.
     */
    struct gcm_key_data     *kd;
    void                    *kd_mem;
    struct gcm_context_data  cd;
    unsigned char            iv[KMS_GCM_MAX_IV];
    int                      keyed;
    int                      state;    /* KMS_IMB_* */
#endif
};

struct kms_hmac_s {
    EVP_MD_CTX      *work;
    EVP_MD_CTX      *inner;            /* key ^ ipad absorbed */
    EVP_MD_CTX      *outer;            /* key ^ opad absorbed */
    int              keyed;
};

/*
 * The pool's fill level lives in the mapping, in front of the bytes: a
 * child that the kernel gave wiped pages sees an empty pool.
 */
#define KMS_RPOOL_HDR  64

struct kms_rpool_s {
    unsigned char   *map;
    size_t           maplen;
    size_t          *avail;            /* in map */
    unsigned char   *bytes;            /* in map, after the header */
    size_t           size;
    int              secret;
    int              wipeonfork;
    pid_t            pid;              /* without wipeonfork: the filler */
};


static EVP_MD      *kms_md_sha256;
static EVP_CIPHER  *kms_cipher_gcm;

/* the AES-GCM code new kms_gcm_t handles use: 0 until chosen */
static int          kms_gcm_impl;

#ifdef KMS_HAVE_IPSEC_MB
/* ipsec-mb's dispatch table for this CPU, set up once per process */
static IMB_MGR     *kms_imb;
static IMB_ARCH     kms_imb_arch;

enum {
    KMS_IMB_IDLE = 0,                   /* no message started */
    KMS_IMB_STARTED,                    /* key and IV set, no AAD yet */
    KMS_IMB_RUNNING                     /* AAD taken, data may follow */
};

static int kms_imb_setup(void);
static int kms_imb_fast(void);
#endif


static int kms_hmac_ctx(EVP_MD_CTX *md, const void *key, size_t klen,
    const kms_iov_t *iov, size_t n, unsigned char out[32]);
static int kms_hmac_block(EVP_MD_CTX *md, const void *key, size_t klen,
    unsigned char k[64]);
static int kms_hkdf_ctx(EVP_MD_CTX *md, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    unsigned char *out, size_t outlen);
static int kms_rpool_fill(kms_rpool_t *p, void *buf, size_t n);


int
kms_crypto_init(void)
{
    if (kms_gcm_impl == 0) {
        (void) kms_gcm_use("auto");
    }

    if (kms_md_sha256 != NULL && kms_cipher_gcm != NULL) {
        return 0;
    }

    if (kms_md_sha256 == NULL) {
        kms_md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    }

    if (kms_cipher_gcm == NULL) {
        kms_cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    }

    if (kms_md_sha256 == NULL || kms_cipher_gcm == NULL) {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


void
kms_crypto_cleanup(void)
{
    EVP_MD_free(kms_md_sha256);
    EVP_CIPHER_free(kms_cipher_gcm);
    kms_md_sha256 = NULL;
    kms_cipher_gcm = NULL;

#ifdef KMS_HAVE_IPSEC_MB
    if (kms_imb != NULL) {
        free_mb_mgr(kms_imb);
        kms_imb = NULL;
    }

    if (kms_gcm_impl == KMS_GCM_IPSEC_MB) {
        kms_gcm_impl = 0;
    }
#endif
}


static int
kms_fail(void)
{
    ERR_clear_error();
    return -1;
}


/* ---- SHA-256 ------------------------------------------------------------- */

int
kms_sha256(const void *data, size_t len, unsigned char out[32])
{
    int          ok;
    EVP_MD_CTX  *md;

    if (kms_crypto_init() != 0) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return kms_fail();
    }

    ok = EVP_DigestInit_ex2(md, kms_md_sha256, NULL)
         && EVP_DigestUpdate(md, data, len)
         && EVP_DigestFinal_ex(md, out, NULL);

    EVP_MD_CTX_free(md);

    return ok ? 0 : kms_fail();
}


kms_sha256_t *
kms_sha256_new(void)
{
    kms_sha256_t  *s;

    if (kms_crypto_init() != 0) {
        return NULL;
    }

    s = OPENSSL_zalloc(sizeof(kms_sha256_t));
    if (s == NULL) {
        return NULL;
    }

    s->md = EVP_MD_CTX_new();
    if (s->md == NULL || kms_sha256_reset(s) != 0) {
        kms_sha256_free(s);
        ERR_clear_error();
        return NULL;
    }

    return s;
}


int
kms_sha256_reset(kms_sha256_t *s)
{
    return EVP_DigestInit_ex2(s->md, kms_md_sha256, NULL) ? 0 : kms_fail();
}


int
kms_sha256_update(kms_sha256_t *s, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }

    return EVP_DigestUpdate(s->md, data, len) ? 0 : kms_fail();
}


int
kms_sha256_final(kms_sha256_t *s, unsigned char out[32])
{
    return EVP_DigestFinal_ex(s->md, out, NULL) ? 0 : kms_fail();
}


void
kms_sha256_free(kms_sha256_t *s)
{
    if (s == NULL) {
        return;
    }

    EVP_MD_CTX_free(s->md);
    OPENSSL_free(s);
}


int
kms_sha256_digest(kms_sha256_t *s, const void *data, size_t len,
    unsigned char out[32])
{
    int  ok;

    ok = EVP_DigestInit_ex2(s->md, kms_md_sha256, NULL)
         && (len == 0 || EVP_DigestUpdate(s->md, data, len))
         && EVP_DigestFinal_ex(s->md, out, NULL);

    return ok ? 0 : kms_fail();
}


/* ---- HMAC-SHA256 (RFC 2104) ---------------------------------------------- */

/* the key as one SHA-256 block: hashed if longer, zero-padded */
static int
kms_hmac_block(EVP_MD_CTX *md, const void *key, size_t klen,
    unsigned char k[64])
{
    memset(k, 0, 64);

    if (klen > 64) {
        if (!EVP_DigestInit_ex2(md, kms_md_sha256, NULL)
            || !EVP_DigestUpdate(md, key, klen)
            || !EVP_DigestFinal_ex(md, k, NULL))
        {
            return -1;
        }

    } else if (klen) {
        memcpy(k, key, klen);
    }

    return 0;
}


/* an HMAC under a key used once, on a context of the caller's */
static int
kms_hmac_ctx(EVP_MD_CTX *md, const void *key, size_t klen,
    const kms_iov_t *iov, size_t n, unsigned char out[32])
{
    int            ok;
    size_t         i;
    unsigned char  k[64], pad[64], inner[32];

    ok = kms_hmac_block(md, key, klen, k) == 0;

    for (i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ok = ok && EVP_DigestInit_ex2(md, kms_md_sha256, NULL)
         && EVP_DigestUpdate(md, pad, sizeof(pad));

    for (i = 0; ok && i < n; i++) {
        if (iov[i].len) {
            ok = EVP_DigestUpdate(md, iov[i].base, iov[i].len);
        }
    }

    ok = ok && EVP_DigestFinal_ex(md, inner, NULL);

    for (i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ok = ok && EVP_DigestInit_ex2(md, kms_md_sha256, NULL)
         && EVP_DigestUpdate(md, pad, sizeof(pad))
         && EVP_DigestUpdate(md, inner, sizeof(inner))
         && EVP_DigestFinal_ex(md, out, NULL);

    kms_wipe(k, sizeof(k));
    kms_wipe(pad, sizeof(pad));
    kms_wipe(inner, sizeof(inner));

    return ok ? 0 : kms_fail();
}


int
kms_hmac_sha256_iov(const void *key, size_t klen, const kms_iov_t *iov,
    size_t n, unsigned char out[32])
{
    int          rc;
    EVP_MD_CTX  *md;

    if (kms_crypto_init() != 0) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return kms_fail();
    }

    rc = kms_hmac_ctx(md, key, klen, iov, n, out);

    EVP_MD_CTX_free(md);

    return rc;
}


int
kms_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
    unsigned char out[32])
{
    kms_iov_t  iov;

    iov.base = data;
    iov.len = len;

    return kms_hmac_sha256_iov(key, klen, &iov, 1, out);
}


kms_hmac_t *
kms_hmac_new(void)
{
    kms_hmac_t  *h;

    if (kms_crypto_init() != 0) {
        return NULL;
    }

    h = OPENSSL_zalloc(sizeof(kms_hmac_t));
    if (h == NULL) {
        ERR_clear_error();
        return NULL;
    }

    h->work = EVP_MD_CTX_new();
    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();

    /* a digest in each: later inits and copies reuse what they allocated */
    if (h->work == NULL || h->inner == NULL || h->outer == NULL
        || !EVP_DigestInit_ex2(h->work, kms_md_sha256, NULL)
        || !EVP_DigestInit_ex2(h->inner, kms_md_sha256, NULL)
        || !EVP_DigestInit_ex2(h->outer, kms_md_sha256, NULL))
    {
        kms_hmac_free(h);
        ERR_clear_error();
        return NULL;
    }

    return h;
}


void
kms_hmac_free(kms_hmac_t *h)
{
    if (h == NULL) {
        return;
    }

    /* freeing a context cleanses its digest state */
    EVP_MD_CTX_free(h->work);
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    OPENSSL_free(h);
}


int
kms_hmac_set_key(kms_hmac_t *h, const void *key, size_t klen)
{
    int            ok;
    size_t         i;
    unsigned char  k[64], pad[64];

    h->keyed = 0;

    ok = kms_hmac_block(h->work, key, klen, k) == 0;

    for (i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ok = ok && EVP_DigestInit_ex2(h->inner, kms_md_sha256, NULL)
         && EVP_DigestUpdate(h->inner, pad, sizeof(pad));

    for (i = 0; i < sizeof(pad); i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ok = ok && EVP_DigestInit_ex2(h->outer, kms_md_sha256, NULL)
         && EVP_DigestUpdate(h->outer, pad, sizeof(pad));

    kms_wipe(k, sizeof(k));
    kms_wipe(pad, sizeof(pad));

    if (!ok) {
        return kms_fail();
    }

    h->keyed = 1;

    return 0;
}


int
kms_hmac_mac(kms_hmac_t *h, const kms_iov_t *iov, size_t n,
    unsigned char out[32])
{
    int            ok;
    size_t         i;
    unsigned char  inner[32];

    if (!h->keyed) {
        return -1;
    }

    ok = EVP_MD_CTX_copy_ex(h->work, h->inner);

    for (i = 0; ok && i < n; i++) {
        if (iov[i].len) {
            ok = EVP_DigestUpdate(h->work, iov[i].base, iov[i].len);
        }
    }

    ok = ok && EVP_DigestFinal_ex(h->work, inner, NULL)
         && EVP_MD_CTX_copy_ex(h->work, h->outer)
         && EVP_DigestUpdate(h->work, inner, sizeof(inner))
         && EVP_DigestFinal_ex(h->work, out, NULL);

    kms_wipe(inner, sizeof(inner));

    return ok ? 0 : kms_fail();
}


int
kms_hmac_once(kms_hmac_t *h, const void *key, size_t klen,
    const kms_iov_t *iov, size_t n, unsigned char out[32])
{
    return kms_hmac_ctx(h->work, key, klen, iov, n, out);
}


/* ---- HKDF-SHA256 (RFC 5869) ---------------------------------------------- */

static int
kms_hkdf_ctx(EVP_MD_CTX *md, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    unsigned char *out, size_t outlen)
{
    int            rc;
    size_t         done, n;
    kms_iov_t      iov[3];
    unsigned char  zero[32], prk[32], t[32], counter;

    if (outlen > 255 * 32) {
        return -1;
    }

    if (saltlen == 0) {
        memset(zero, 0, sizeof(zero));
        salt = zero;
        saltlen = sizeof(zero);
    }

    iov[0].base = ikm;
    iov[0].len = ikmlen;

    rc = kms_hmac_ctx(md, salt, saltlen, iov, 1, prk);

    for (done = 0, counter = 1; rc == 0 && done < outlen; counter++) {
        n = 0;
        if (done) {
            iov[n].base = t;
            iov[n++].len = sizeof(t);
        }
        iov[n].base = info;
        iov[n++].len = infolen;
        iov[n].base = &counter;
        iov[n++].len = 1;

        rc = kms_hmac_ctx(md, prk, sizeof(prk), iov, n, t);
        if (rc != 0) {
            break;
        }

        n = outlen - done < 32 ? outlen - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }

    kms_wipe(prk, sizeof(prk));
    kms_wipe(t, sizeof(t));

    if (rc != 0) {
        kms_wipe(out, outlen);
    }

    return rc;
}


int
kms_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt,
    size_t saltlen, const void *info, size_t infolen, unsigned char *out,
    size_t outlen)
{
    int          rc;
    EVP_MD_CTX  *md;

    if (outlen > 255 * 32 || kms_crypto_init() != 0) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return kms_fail();
    }

    rc = kms_hkdf_ctx(md, ikm, ikmlen, salt, saltlen, info, infolen, out,
                      outlen);

    EVP_MD_CTX_free(md);

    return rc;
}


int
kms_hkdf_sha256_h(kms_hmac_t *h, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    unsigned char *out, size_t outlen)
{
    return kms_hkdf_ctx(h->work, ikm, ikmlen, salt, saltlen, info, infolen,
                        out, outlen);
}


/* ---- AES-256-GCM --------------------------------------------------------- */

/*
 * Two implementations of the same cipher behind kms_gcm_t.  OpenSSL 3.0's
 * AES-GCM is AES-NI with 128-bit registers; Intel's ipsec-mb library has
 * a VAES/VPCLMULQDQ code path on AVX-512 that takes about a third of its
 * time per byte on the CPUs that have them.  "auto" takes ipsec-mb only
 * there: on older CPUs OpenSSL's code is as fast.
 */

int
kms_gcm_use(const char *name)
{
    if (strcmp(name, "openssl") == 0) {
        kms_gcm_impl = KMS_GCM_OPENSSL;
        return 0;
    }

#ifdef KMS_HAVE_IPSEC_MB
    if (strcmp(name, "ipsec-mb") == 0) {
        if (kms_imb_setup() != 0) {
            return -1;
        }

        kms_gcm_impl = KMS_GCM_IPSEC_MB;
        return 0;
    }

    if (strcmp(name, "auto") == 0) {
        kms_gcm_impl = (kms_imb_setup() == 0 && kms_imb_fast())
                       ? KMS_GCM_IPSEC_MB : KMS_GCM_OPENSSL;
        return 0;
    }
#else
    if (strcmp(name, "auto") == 0) {
        kms_gcm_impl = KMS_GCM_OPENSSL;
        return 0;
    }
#endif

    return -1;
}


const char *
kms_gcm_using(void)
{
    if (kms_gcm_impl == 0) {
        (void) kms_gcm_use("auto");
    }

    return kms_gcm_impl == KMS_GCM_IPSEC_MB ? "ipsec-mb" : "openssl";
}


#ifdef KMS_HAVE_IPSEC_MB

static int
kms_imb_setup(void)
{
    if (kms_imb != NULL) {
        return 0;
    }

    kms_imb = alloc_mb_mgr(0);
    if (kms_imb == NULL) {
        return -1;
    }

    init_mb_mgr_auto(kms_imb, &kms_imb_arch);

    /* without AES-NI ipsec-mb falls back to table code: not ours to use */
    if (kms_imb_arch < IMB_ARCH_SSE || imb_get_errno(kms_imb) != 0) {
        free_mb_mgr(kms_imb);
        kms_imb = NULL;
        return -1;
    }

    return 0;
}


static int
kms_imb_fast(void)
{
    uint64_t  need = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ;

    return kms_imb_arch == IMB_ARCH_AVX512 && (kms_imb->features & need) == need;
}


static int
kms_imb_begin(kms_gcm_t *g, const void *aad, size_t aadlen)
{
    if (g->ivlen == 12) {
        IMB_AES256_GCM_INIT(kms_imb, g->kd, &g->cd, g->iv, aad, aadlen);

    } else {
        IMB_AES256_GCM_INIT_VAR_IV(kms_imb, g->kd, &g->cd, g->iv, g->ivlen,
                                   aad, aadlen);
    }

    g->state = KMS_IMB_RUNNING;

    return imb_get_errno(kms_imb) == 0 ? 0 : -1;
}

#endif


kms_gcm_t *
kms_gcm_new(void)
{
    kms_gcm_t  *g;

    if (kms_crypto_init() != 0) {
        return NULL;
    }

    g = OPENSSL_zalloc(sizeof(kms_gcm_t));
    if (g == NULL) {
        return NULL;
    }

    g->ivlen = 12;

#ifdef KMS_HAVE_IPSEC_MB
    if (kms_gcm_impl == KMS_GCM_IPSEC_MB) {
        g->kd_mem = OPENSSL_zalloc(sizeof(struct gcm_key_data) + 63);
        if (g->kd_mem == NULL) {
            OPENSSL_free(g);
            return NULL;
        }

        g->kd = (struct gcm_key_data *)
                    (((uintptr_t) g->kd_mem + 63) & ~(uintptr_t) 63);
        return g;
    }
#endif

    g->ctx = EVP_CIPHER_CTX_new();

    /* the cipher once: each start then sets a key and an IV only */
    if (g->ctx == NULL
        || !EVP_CipherInit_ex2(g->ctx, kms_cipher_gcm, NULL, NULL, 1, NULL))
    {
        EVP_CIPHER_CTX_free(g->ctx);
        OPENSSL_free(g);
        ERR_clear_error();
        return NULL;
    }

    return g;
}


void
kms_gcm_free(kms_gcm_t *g)
{
    if (g == NULL) {
        return;
    }

#ifdef KMS_HAVE_IPSEC_MB
    if (g->kd_mem != NULL) {
        OPENSSL_clear_free(g->kd_mem, sizeof(struct gcm_key_data) + 63);
        OPENSSL_clear_free(g, sizeof(kms_gcm_t));   /* the GHASH state */
        return;
    }
#endif

    EVP_CIPHER_CTX_free(g->ctx);        /* cleanses the key schedule */
    OPENSSL_free(g);
}


int
kms_gcm_start(kms_gcm_t *g, int enc, const unsigned char *key,
    const unsigned char *iv, size_t ivlen)
{
    OSSL_PARAM  params[2];

    if (ivlen == 0) {
        return -1;
    }

    g->enc = enc;

#ifdef KMS_HAVE_IPSEC_MB
    if (g->ctx == NULL) {
        if (ivlen > KMS_GCM_MAX_IV) {
            return -1;
        }

        if (key != NULL) {
            IMB_AES256_GCM_PRE(kms_imb, key, g->kd);
            g->keyed = 1;
        }

        if (!g->keyed) {
            return -1;
        }

        memcpy(g->iv, iv, ivlen);
        g->ivlen = ivlen;
        g->state = KMS_IMB_STARTED;

        return 0;
    }
#endif

    if (ivlen != g->ivlen) {
        /* the IV length before the IV */
        params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN,
                                                &ivlen);
        params[1] = OSSL_PARAM_construct_end();

        if (!EVP_CipherInit_ex2(g->ctx, NULL, NULL, NULL, enc, params)) {
            return kms_fail();
        }

        g->ivlen = ivlen;
    }

    if (!EVP_CipherInit_ex2(g->ctx, NULL, key, iv, enc, NULL)) {
        return kms_fail();
    }

    return 0;
}


/* ipsec-mb: the AAD in one call per message, before the data */

int
kms_gcm_aad(kms_gcm_t *g, const void *aad, size_t len)
{
    int  outl;

    if (len > 0x7fffffff) {
        return -1;
    }

#ifdef KMS_HAVE_IPSEC_MB
    if (g->ctx == NULL) {
        if (g->state != KMS_IMB_STARTED) {
            return -1;
        }

        return kms_imb_begin(g, len ? aad : NULL, len);
    }
#endif

    if (len == 0) {
        return 0;
    }

    return EVP_CipherUpdate(g->ctx, NULL, &outl, aad, (int) len)
           ? 0 : kms_fail();
}


int
kms_gcm_update(kms_gcm_t *g, const unsigned char *in, size_t len,
    unsigned char *out)
{
    int  outl;

#ifdef KMS_HAVE_IPSEC_MB
    if (g->ctx == NULL) {
        if (g->state == KMS_IMB_STARTED && kms_imb_begin(g, NULL, 0) != 0) {
            return -1;
        }

        if (g->state != KMS_IMB_RUNNING) {
            return -1;
        }

        if (len == 0) {
            return 0;
        }

        if (g->enc) {
            IMB_AES256_GCM_ENC_UPDATE(kms_imb, g->kd, &g->cd, out, in, len);

        } else {
            IMB_AES256_GCM_DEC_UPDATE(kms_imb, g->kd, &g->cd, out, in, len);
        }

        return imb_get_errno(kms_imb) == 0 ? 0 : -1;
    }
#endif

    while (len) {
        int  chunk = len > 0x40000000 ? 0x40000000 : (int) len;

        if (!EVP_CipherUpdate(g->ctx, out, &outl, in, chunk)) {
            return kms_fail();
        }

        in += chunk;
        out += chunk;
        len -= chunk;
    }

    return 0;
}


/*
 * The tag through the provider's parameters directly: EVP_CIPHER_CTX_ctrl()
 * builds the same parameter and dispatches to it (about 90 instructions
 * more in OpenSSL 3.0).
 */
int
kms_gcm_finish(kms_gcm_t *g, unsigned char tag[16])
{
    int            outl;
    OSSL_PARAM     params[2];
    unsigned char  dummy[16];

#ifdef KMS_HAVE_IPSEC_MB
    if (g->ctx == NULL) {
        int  ok;

        if (g->state == KMS_IMB_STARTED && kms_imb_begin(g, NULL, 0) != 0) {
            return -1;
        }

        if (g->state != KMS_IMB_RUNNING) {
            return -1;
        }

        g->state = KMS_IMB_IDLE;

        if (g->enc) {
            IMB_AES256_GCM_ENC_FINALIZE(kms_imb, g->kd, &g->cd, tag,
                                        KMS_GCM_TAG_LEN);
            ok = imb_get_errno(kms_imb) == 0;

        } else {
            IMB_AES256_GCM_DEC_FINALIZE(kms_imb, g->kd, &g->cd, dummy,
                                        KMS_GCM_TAG_LEN);
            ok = imb_get_errno(kms_imb) == 0
                 && kms_ct_equal(dummy, tag, KMS_GCM_TAG_LEN);
            kms_wipe(dummy, sizeof(dummy));
        }

        kms_wipe(&g->cd, sizeof(g->cd));

        return ok ? 0 : -1;
    }
#endif

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                  tag, KMS_GCM_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();

    if (g->enc) {
        if (!EVP_CipherFinal_ex(g->ctx, dummy, &outl)
            || !EVP_CIPHER_CTX_get_params(g->ctx, params))
        {
            return kms_fail();
        }

        return 0;
    }

    if (!EVP_CIPHER_CTX_set_params(g->ctx, params)
        || !EVP_CipherFinal_ex(g->ctx, dummy, &outl))
    {
        return kms_fail();
    }

    return 0;
}


static int
kms_gcm_once(int enc, const unsigned char key[32], const unsigned char *iv,
    size_t ivlen, const void *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char *tag)
{
    int         rc;
    kms_gcm_t  *g;

    g = kms_gcm_new();
    if (g == NULL) {
        return -1;
    }

    rc = kms_gcm_start(g, enc, key, iv, ivlen);

    if (rc == 0) {
        rc = kms_gcm_aad(g, aad, aadlen);
    }

    if (rc == 0) {
        rc = kms_gcm_update(g, in, len, out);
    }

    if (rc == 0) {
        rc = kms_gcm_finish(g, tag);
    }

    kms_gcm_free(g);

    if (rc != 0 && !enc) {
        kms_wipe(out, len);
    }

    return rc;
}


int
kms_gcm_encrypt(const unsigned char key[32], const unsigned char *iv,
    size_t ivlen, const void *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char tag[16])
{
    return kms_gcm_once(1, key, iv, ivlen, aad, aadlen, in, len, out, tag);
}


int
kms_gcm_decrypt(const unsigned char key[32], const unsigned char *iv,
    size_t ivlen, const void *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, const unsigned char tag[16])
{
    unsigned char  t[16];

    memcpy(t, tag, 16);

    return kms_gcm_once(0, key, iv, ivlen, aad, aadlen, in, len, out, t);
}


/* ---- small things -------------------------------------------------------- */

void *
kms_secure_alloc(size_t len)
{
    return OPENSSL_secure_zalloc(len);
}


void
kms_secure_free(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_secure_clear_free(p, len);
    }
}


int
kms_random(void *buf, size_t len)
{
    if (len == 0) {
        return 0;
    }

    return RAND_bytes(buf, (int) len) == 1 ? 0 : kms_fail();
}


/* ---- random pools -------------------------------------------------------- */

kms_rpool_t *
kms_rpool_new(size_t size, int flags)
{
    long          page;
    kms_rpool_t  *p;

    if (size < 64 || size > 1024 * 1024) {
        return NULL;
    }

    p = OPENSSL_zalloc(sizeof(kms_rpool_t));
    if (p == NULL) {
        ERR_clear_error();
        return NULL;
    }

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        page = 4096;
    }

    p->size = size;
    p->secret = (flags & KMS_RPOOL_SECRET) ? 1 : 0;
    p->maplen = (KMS_RPOOL_HDR + size + (size_t) page - 1)
                / (size_t) page * (size_t) page;

    p->map = mmap(NULL, p->maplen, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->map == MAP_FAILED) {
        OPENSSL_free(p);
        return NULL;
    }

    p->avail = (size_t *) (void *) p->map;
    p->bytes = p->map + KMS_RPOOL_HDR;
    *p->avail = 0;

#ifdef MADV_WIPEONFORK
    p->wipeonfork = madvise(p->map, p->maplen, MADV_WIPEONFORK) == 0;
#endif

    if (p->secret) {
        /* best effort, as OpenSSL's secure heap: the bytes work unlocked */
        (void) mlock(p->map, p->maplen);
#ifdef MADV_DONTDUMP
        (void) madvise(p->map, p->maplen, MADV_DONTDUMP);
#endif
    }

    p->pid = getpid();

    return p;
}


static int
kms_rpool_fill(kms_rpool_t *p, void *buf, size_t n)
{
    int  ok;

    ok = p->secret ? RAND_priv_bytes(buf, (int) n) : RAND_bytes(buf, (int) n);

    return ok == 1 ? 0 : kms_fail();
}


int
kms_rpool_bytes(kms_rpool_t *p, void *buf, size_t n)
{
    size_t  off;
    pid_t   pid;

    if (n == 0) {
        return 0;
    }

    if (n > p->size / 8) {
        return kms_rpool_fill(p, buf, n);
    }

    if (!p->wipeonfork) {
        pid = getpid();

        if (pid != p->pid) {
            /* a forked child must never hand out its parent's bytes */
            *p->avail = 0;
            p->pid = pid;
        }
    }

    if (*p->avail < n) {
        if (kms_rpool_fill(p, p->bytes, p->size) != 0) {
            kms_wipe(p->bytes, p->size);
            *p->avail = 0;
            return -1;
        }

        *p->avail = p->size;
    }

    off = p->size - *p->avail;

    memcpy(buf, p->bytes + off, n);

    if (p->secret) {
        kms_wipe(p->bytes + off, n);
    }

    *p->avail -= n;

    return 0;
}


void
kms_rpool_free(kms_rpool_t *p)
{
    if (p == NULL) {
        return;
    }

    kms_wipe(p->map, p->maplen);

    if (p->secret) {
        (void) munlock(p->map, p->maplen);
    }

    (void) munmap(p->map, p->maplen);
    OPENSSL_free(p);
}


int
kms_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}


void
kms_wipe(void *p, size_t len)
{
    if (p != NULL && len) {
        OPENSSL_cleanse(p, len);
    }
}


/* the two digits of each byte value: one copy per byte, no shifts */
static const char  kms_hex_pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";


void
kms_hex(const unsigned char *in, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        memcpy(out + 2 * i, kms_hex_pairs + 2 * in[i], 2);
    }

    out[2 * len] = '\0';
}


static const char  kms_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


size_t
kms_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}


size_t
kms_base64_encode(const unsigned char *in, size_t len, char *out)
{
    char      *p = out;
    uint32_t   v;

    while (len >= 3) {
        v = (uint32_t) in[0] << 16 | (uint32_t) in[1] << 8 | in[2];
        *p++ = kms_b64[v >> 18];
        *p++ = kms_b64[(v >> 12) & 63];
        *p++ = kms_b64[(v >> 6) & 63];
        *p++ = kms_b64[v & 63];
        in += 3;
        len -= 3;
    }

    if (len) {
        v = (uint32_t) in[0] << 16 | (len == 2 ? (uint32_t) in[1] << 8 : 0);
        *p++ = kms_b64[v >> 18];
        *p++ = kms_b64[(v >> 12) & 63];
        *p++ = len == 2 ? kms_b64[(v >> 6) & 63] : '=';
        *p++ = '=';
    }

    return (size_t) (p - out);
}


static int
kms_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}


long
kms_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    int       a, b, c, d;
    size_t    i, n, pad;
    uint32_t  v;

    if (len % 4) {
        return -1;
    }

    pad = 0;
    if (len && in[len - 1] == '=') {
        pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
    }

    n = len / 4 * 3 - pad;
    if (n > cap) {
        return -1;
    }

    for (i = 0; i < len; i += 4) {
        int  last = (i + 4 == len);

        a = kms_b64_value((unsigned char) in[i]);
        b = kms_b64_value((unsigned char) in[i + 1]);
        c = (last && pad == 2) ? 0 : kms_b64_value((unsigned char) in[i + 2]);
        d = (last && pad) ? 0 : kms_b64_value((unsigned char) in[i + 3]);

        if (a < 0 || b < 0 || c < 0 || d < 0) {
            return -1;
        }

        v = (uint32_t) a << 18 | (uint32_t) b << 12 | (uint32_t) c << 6
            | (uint32_t) d;

        if (last && pad == 2) {
            if (v & 0xffff) {
                return -1;              /* bits set in the padding */
            }
            *out++ = (unsigned char) (v >> 16);

        } else if (last && pad == 1) {
            if (v & 0xff) {
                return -1;
            }
            *out++ = (unsigned char) (v >> 16);
            *out++ = (unsigned char) (v >> 8);

        } else {
            *out++ = (unsigned char) (v >> 16);
            *out++ = (unsigned char) (v >> 8);
            *out++ = (unsigned char) v;
        }
    }

    return (long) n;
}
