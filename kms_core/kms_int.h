/*
 * The KMS core's private types: string builder, key records, key ring,
 * calls.  Nothing here is part of the interface the module codes against
 * (kms.h); the tests include it to reach the codecs.
 */

#ifndef KMS_INT_H
#define KMS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "kms.h"
#include "kms_crypto.h"
#include "kms_policy.h"
#include "kms_json.h"


#define KMS_ID_LEN          16
#define KMS_ID_TEXT_LEN     36
#define KMS_MATERIAL_LEN    32
#define KMS_WRAPPED_LEN     60          /* IV 12 ‖ ct 32 ‖ tag 16 */
#define KMS_BLOB_HDR_LEN    53          /* version, id, key version, nonce */
#define KMS_BLOB_MIN_LEN    (KMS_BLOB_HDR_LEN + KMS_GCM_TAG_LEN)
#define KMS_MATID_TEXT_LEN  64
#define KMS_MAX_ALIASES     50
#define KMS_MAX_TAGS        50
#define KMS_MAX_VERSIONS    100000
#define KMS_DAY_MS          86400000LL


/* ---- a growing string --------------------------------------------------- */

typedef struct {
    char        *data;
    size_t       len;
    size_t       cap;
    int          failed;                 /* allocation failed: unusable */
} kms_buf_t;

void kms_buf_init(kms_buf_t *b);
/* room for n more bytes and the NUL; -1 (and failed) if it cannot be */
int kms_buf_reserve(kms_buf_t *b, size_t n);
void kms_buf_free(kms_buf_t *b);
void kms_buf_reset(kms_buf_t *b);
void kms_buf_fmt(kms_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* a JSON string literal, quotes included */
void kms_buf_json(kms_buf_t *b, const char *s, size_t n);
void kms_buf_b64(kms_buf_t *b, const unsigned char *p, size_t n);

/*
 * Appends, inline: the bodies and audit lines of the hot path are built
 * from many short pieces, most of them literals whose strlen() the
 * compiler computes.
 */
static inline void
kms_buf_add(kms_buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap && kms_buf_reserve(b, n) != 0) {
        return;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void
kms_buf_str(kms_buf_t *b, const char *s)
{
    kms_buf_add(b, s, strlen(s));
}

static inline void
kms_buf_jstr(kms_buf_t *b, const char *s)
{
    kms_buf_json(b, s, strlen(s));
}
/* ISO 8601 UTC, seconds: 2024-01-02T03:04:05Z */
void kms_buf_iso(kms_buf_t *b, int64_t ms);
/* epoch seconds as a JSON number with three decimals, as AWS sends dates */
void kms_buf_date(kms_buf_t *b, int64_t ms);
char *kms_buf_steal(kms_buf_t *b);   /* NUL-terminated; NULL on failure */


/*
 * Memory for secrets: the secure heap, or ordinary memory when the secure
 * heap is full (a key store bigger than the heap configured must still
 * load: kms_install() warns).  Freed with OPENSSL_secure_clear_free(),
 * which wipes either kind.
 */
void *kms_smalloc(size_t n);


/* ---- ids, ARNs ---------------------------------------------------------- */

int kms_uuid_parse(const char *s, size_t len, unsigned char id[KMS_ID_LEN]);
void kms_uuid_text(const unsigned char id[KMS_ID_LEN], char *out);
int kms_uuid_random(unsigned char id[KMS_ID_LEN]);
/* the id of the gateway's internal key (KMS_INTERNAL_KEY_ID)? */
int kms_id_internal(const unsigned char id[KMS_ID_LEN]);
void kms_uuid_random_text(char out[KMS_ID_TEXT_LEN + 1]);


/* ---- encryption context ------------------------------------------------- */

typedef struct {
    size_t        n;
    const char  **keys;                  /* sorted by key bytes */
    const char  **values;
    size_t       *klen;
    size_t       *vlen;
    void         *mem;
} kms_ectx_t;

/*
 * Builds a context from a JSON object of strings (NULL or empty: no pairs).
 * Returns 0, or -1 if a value is not a string.  The strings stay owned by
 * the JSON object.
 */
int kms_ectx_from_json(kms_ectx_t *c, const kms_json_t *obj);
void kms_ectx_free(kms_ectx_t *c);
/* DESIGN §4's canonical form: count BE16, then BE16 len ‖ bytes pairs */
int kms_ectx_canonical(const kms_ectx_t *c, kms_buf_t *out);


/* ---- ciphertext blob (DESIGN §4) ---------------------------------------- */

typedef struct {
    unsigned char         id[KMS_ID_LEN];
    uint32_t              version;
    const unsigned char  *nonce;         /* 32 bytes inside the blob */
    const unsigned char  *ct;
    size_t                ctlen;
    const unsigned char  *tag;
} kms_blob_t;

/*
 * out holds KMS_BLOB_MIN_LEN + len bytes; g, h: reusable handles or NULL
 * (the one-shot functions then); nonce: 32 random bytes, or NULL to draw
 * them here
 */
int kms_blob_seal(kms_gcm_t *g, kms_hmac_t *h,
    const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *nonce, const unsigned char id[KMS_ID_LEN],
    uint32_t version,
    const unsigned char *ctx, size_t ctxlen, const unsigned char *pt,
    size_t len, unsigned char *out);
/* splits a blob; -1 if it cannot be one (length, version byte) */
int kms_blob_parse(const unsigned char *blob, size_t len, kms_blob_t *b);
/* opens a parsed blob into out (ctlen bytes); -1 if it does not verify */
int kms_blob_open(kms_gcm_t *g, kms_hmac_t *h,
    const unsigned char material[KMS_MATERIAL_LEN],
    const unsigned char *blob, const kms_blob_t *b, const unsigned char *ctx,
    size_t ctxlen, unsigned char *out);


/* ---- key store codec (DESIGN §5) ---------------------------------------- */

void kms_material_id(const unsigned char id[KMS_ID_LEN], uint32_t version,
    char out[KMS_MATID_TEXT_LEN + 1]);
int kms_material_wrap(const unsigned char root[KMS_ROOT_KEY_LEN],
    const unsigned char id[KMS_ID_LEN], uint32_t version,
    const unsigned char material[KMS_MATERIAL_LEN],
    unsigned char out[KMS_WRAPPED_LEN]);
int kms_material_unwrap(const unsigned char root[KMS_ROOT_KEY_LEN],
    const unsigned char id[KMS_ID_LEN], uint32_t version,
    const unsigned char in[KMS_WRAPPED_LEN],
    unsigned char material[KMS_MATERIAL_LEN]);
void kms_root_fingerprint(const unsigned char root[KMS_ROOT_KEY_LEN],
    char out[KMS_FINGERPRINT_LEN + 1]);


enum {
    KMS_KS_ENABLED = 0,
    KMS_KS_DISABLED,
    KMS_KS_PENDING_DELETION,
    KMS_KS_UNAVAILABLE                   /* record failed authentication */
};

enum {
    KMS_ROT_INITIAL = 0,
    KMS_ROT_AUTOMATIC,
    KMS_ROT_ON_DEMAND
};

typedef struct {
    int64_t          date_ms;
    int              type;               /* KMS_ROT_* */
} kms_ver_t;

typedef struct {
    char            *key;
    char            *value;
} kms_tag_t;

typedef struct {
    char            *name;
    int64_t          created_ms;
    int64_t          updated_ms;
} kms_alias_t;

typedef struct kms_key_s  kms_key_t;

struct kms_key_s {
    unsigned char    id[KMS_ID_LEN];
    char             id_text[KMS_ID_TEXT_LEN + 1];
    char             account[13];
    char            *arn;
    uint64_t         rev;
    int              state;              /* KMS_KS_* */
    int              aws_managed;
    int              internal;           /* the gateway's internal key */
    char            *description;
    int64_t          created_ms;
    int64_t          deletion_ms;        /* pending deletion: erase date */
    unsigned         window_days;
    int              rot_enabled;
    unsigned         rot_period;         /* days */
    int64_t          next_rot_ms;        /* 0: none scheduled */
    unsigned         on_demand;          /* on-demand rotations so far */
    uint32_t         nver;               /* current version = nver */
    kms_ver_t       *vers;               /* [nver] */
    unsigned char   *material;           /* secure heap, 32 × nver */
    unsigned char   *wrapped;            /* 60 × nver, as stored */
    kms_tag_t       *tags;
    size_t           ntags;
    kms_alias_t     *aliases;
    size_t           naliases;
    char            *policy_json;
    kms_policy_t    *policy;
    char             cur_matid[KMS_MATID_TEXT_LEN + 1];
    unsigned         gen;                /* the load that last saw it */
    kms_key_t       *next;               /* hash chain in the ring */
};

kms_key_t *kms_key_new(void);
void kms_key_free(kms_key_t *k);
kms_key_t *kms_key_clone(const kms_key_t *k);
int kms_key_set_arn(kms_key_t *k, const char *partition, const char *region);
/* appends a fresh version (material random); -1 on failure */
int kms_key_add_version(kms_key_t *k, const unsigned char *root,
    int64_t now_ms, int type);
int kms_key_set_policy(kms_key_t *k, const char *json, size_t len);
const char *kms_key_state_name(int state);

/*
 * The record: the fields of kms:key:{ID}.  The MAC input, with LP(x) =
 * BE32(length of x) ‖ x:
 *
 *   "KMS1 record v1" ‖ id (16 bytes) ‖ LP(rev, decimal ASCII) ‖ LP(meta)
 *   ‖ LP(policy) ‖ BE32(n) ‖ LP(v1) ‖ … ‖ LP(vn)
 *
 * keyed with HKDF-SHA256(root, salt empty, info "KMS1 record"), n being
 * the version count that meta declares.  The field "mac" holds it in hex.
 */
typedef struct {
    char            *meta;
    char            *policy;
    char             rev[24];
    char             mac[65];
} kms_record_t;

int kms_record_encode(const kms_key_t *k, const unsigned char *rec_key,
    kms_record_t *r);
void kms_record_free(kms_record_t *r);
int kms_record_mac(const unsigned char *rec_key, const unsigned char id[16],
    const char *rev, size_t revlen, const char *meta, size_t metalen,
    const char *policy, size_t policylen, uint32_t n,
    const unsigned char *const *wrapped, const size_t *wlen,
    unsigned char out[32]);

/*
 * Decodes an HGETALL reply (field, value, ...) into a key.  Returns
 * KMS_OK, KMS_ERR_NOT_FOUND for an empty hash, or KMS_ERR_INTERNAL with
 * a sentence in err when the record does not verify (then *out is NULL).
 */
kms_err_t kms_record_decode(const kms_reply_t *r, const char *id_text,
    const unsigned char *root, const unsigned char *rec_key,
    const char *partition, const char *region, kms_key_t **out,
    char *err, size_t errlen);


/* ---- the ring ----------------------------------------------------------- */

typedef struct kms_alias_ref_s  kms_alias_ref_t;

struct kms_alias_ref_s {
    char               *name;            /* "ACCOUNT/alias/x" */
    kms_key_t          *key;
    kms_alias_ref_t    *next;
};

typedef struct {
    kms_key_t         **keys;
    size_t              nkeys_buckets;
    size_t              nkeys;
    kms_alias_ref_t   **aliases;
    size_t              nalias_buckets;
    size_t              naliases;
} kms_ring_t;

int kms_ring_init(kms_ring_t *r);
void kms_ring_free(kms_ring_t *r);
kms_key_t *kms_ring_key(const kms_ring_t *r, const char *id_text);
kms_key_t *kms_ring_alias(const kms_ring_t *r, const char *account,
    const char *name);
/* takes k; replaces (and frees) a key of the same id */
int kms_ring_put(kms_ring_t *r, kms_key_t *k);
void kms_ring_del(kms_ring_t *r, const char *id_text);


struct kms_ctx_s {
    unsigned char       root[KMS_ROOT_KEY_LEN];
    unsigned char       rec_key[32];
    char                fingerprint[KMS_FINGERPRINT_LEN + 1];
    char               *region;
    char               *partition;
    const kms_creds_t  *creds;
    unsigned            on_demand_max;
    kms_ring_state_t    state;
    char               *stored_fingerprint;
    kms_ring_t          ring;
    kms_log_pt          log;
    void               *log_data;
    unsigned            gen;             /* full loads so far */
    kms_gcm_t          *gcm;             /* reused by every blob */
    kms_hmac_t         *hmac;            /* every blob's key derivation */
    kms_rpool_t        *keys;            /* random bytes drawn ahead: */
    kms_rpool_t        *nonces;          /* data keys, blob nonces and */
    kms_rpool_t        *ids;             /* audit event ids apart */
    int64_t             iso_sec;         /* the last audit time, formatted */
    char                iso[24];
    struct kms_call_s  *spare;           /* a freed call, kept for the next */
};

/* frees the context's spare call (kms_ctx_free) */
void kms_call_spare_free(kms_ctx_t *ctx);

/*
 * Random bytes from the context's pools (kms_rpool_t: one DRBG call per
 * 4 KiB, fork-safe): kms_ctx_random() for key material (a secret pool:
 * RAND_priv_bytes, wiped as handed out), kms_ctx_nonce() for blob
 * nonces, kms_ctx_id() for ids that are shown (audit event ids).
 */
int kms_ctx_random(kms_ctx_t *ctx, void *buf, size_t n);
int kms_ctx_nonce(kms_ctx_t *ctx, void *buf, size_t n);
int kms_ctx_id(kms_ctx_t *ctx, void *buf, size_t n);

void kms_log(kms_ctx_t *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* KMS_INT_H */
