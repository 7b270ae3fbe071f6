/*
 * ngx_s3_kms — the KMS core: public interface.
 *
 * Plain C (OpenSSL 3, jansson); no nginx, no hiredis, no I/O.  The core
 * holds the key ring of one process (one nginx worker) and executes KMS
 * calls as small state machines: a call runs until it is done or until it
 * needs Redis; the caller (ngx_module/) sends the Redis command the core
 * hands out, feeds the reply back and runs the call again.  The Redis
 * layout (DESIGN.md section 5) is private to the core.
 *
 * Typical use, in the module:
 *
 *     call = kms_call_new(ctx, &caller, "Encrypt", body, len);
 *     while (kms_call_run(call) == KMS_CALL_NEED_REDIS) {
 *         cmd = kms_call_command(call);        send cmd->argv, wait
 *         kms_call_reply(call, &reply);        the reply, converted
 *     }
 *     status = kms_call_status(call); body = kms_call_body(call, &len);
 *     audit line = kms_call_audit(call, &len);
 *     event = kms_call_event(call);   non-NULL: PUBLISH kms:events event
 *     kms_call_free(call);
 *
 * If Redis cannot be reached, the caller gives up with
 * kms_call_fail(call, KMS_ERR_DEPENDENCY_TIMEOUT, NULL) instead of a reply.
 */

#ifndef KMS_H
#define KMS_H

#include <stddef.h>
#include <stdint.h>

#include "kms_err.h"


#define KMS_ROOT_KEY_LEN      32
#define KMS_FINGERPRINT_LEN   32        /* hex characters */
#define KMS_MAX_PLAINTEXT     4096


/* ---- Redis commands and replies, without hiredis ---------------------- */

typedef struct {
    int                 argc;
    const char        **argv;
    const size_t       *argvlen;
} kms_cmd_t;

typedef enum {
    KMS_REPLY_STRING = 1,       /* bulk string or status ("OK") */
    KMS_REPLY_INTEGER,
    KMS_REPLY_NIL,
    KMS_REPLY_ARRAY,
    KMS_REPLY_ERROR
} kms_reply_type_t;

typedef struct kms_reply_s  kms_reply_t;

struct kms_reply_s {
    kms_reply_type_t    type;
    const char         *str;            /* STRING, ERROR */
    size_t              len;
    long long           integer;        /* INTEGER */
    size_t              elements;       /* ARRAY */
    const kms_reply_t  *element;        /* ARRAY: elements entries */
};


/* ---- process-wide setup ------------------------------------------------ */

/*
 * Initializes the secure heap (mlocked, excluded from core dumps) where
 * unwrapped key material lives, and fetches the OpenSSL algorithms once.
 * Call once per process before anything else (nginx: in the master, at
 * configuration time; workers inherit it).  Returns 0 or -1.
 */
int kms_global_init(size_t secure_heap_size);

/*
 * Reads a root key file: exactly 32 bytes, a regular file, not group- or
 * world-readable.  On error returns -1 and writes a sentence to err.
 */
int kms_root_key_load(const char *path, unsigned char key[KMS_ROOT_KEY_LEN],
    char *err, size_t errlen);


/* ---- credentials -------------------------------------------------------- */

/*
 * Credentials file, one per line: ACCESS_KEY_ID SECRET ACCOUNT_ID
 * PRINCIPAL_ARN; '#' comments and blank lines allowed.  Refused if group-
 * or world-readable, if an account id is not 12 digits or is
 * KMS_INTERNAL_ACCOUNT, if an ARN is not arn:aws:iam::ACCOUNT:..., or if an
 * access key id repeats.
 */
typedef struct kms_creds_s  kms_creds_t;

typedef struct {
    const char         *access_key_id;
    const char         *secret;
    const char         *account;
    const char         *arn;
} kms_cred_t;

kms_creds_t *kms_creds_load(const char *path, char *err, size_t errlen);
const kms_cred_t *kms_creds_find(const kms_creds_t *creds, const char *akid,
    size_t len);
size_t kms_creds_count(const kms_creds_t *creds);
const kms_cred_t *kms_creds_get(const kms_creds_t *creds, size_t i);
void kms_creds_free(kms_creds_t *creds);


/* ---- the per-process context: root key, derived keys, key ring ---------- */

typedef struct kms_ctx_s  kms_ctx_t;

typedef struct {
    const char         *region;          /* "us-east-1" */
    const char         *partition;       /* "aws"; NULL = "aws" */
    const kms_creds_t  *creds;           /* accounts known to this server */
    unsigned            rotations_on_demand_max;   /* 25 */
} kms_conf_t;

/* Copies what it needs; the caller wipes its copy of the root key. */
kms_ctx_t *kms_ctx_new(const unsigned char root[KMS_ROOT_KEY_LEN],
    const kms_conf_t *conf);
void kms_ctx_free(kms_ctx_t *ctx);         /* wipes everything */

/* hex of the first 16 bytes of HMAC-SHA256(root, "KMS1 root fingerprint") */
const char *kms_ctx_fingerprint(const kms_ctx_t *ctx);

/*
 * State of the ring: KMS_RING_EMPTY before the first full load,
 * KMS_RING_READY after it, KMS_RING_WRONG_ROOT when Redis holds another
 * root fingerprint (then every call fails with KMSInternalException and
 * nothing is ever written).
 */
typedef enum {
    KMS_RING_EMPTY = 0,
    KMS_RING_READY,
    KMS_RING_WRONG_ROOT
} kms_ring_state_t;

kms_ring_state_t kms_ctx_state(const kms_ctx_t *ctx);

/*
 * Log sink: the core reports records that fail authentication, root key
 * mismatches and the like.  level: 0 error, 1 warning, 2 info.
 */
typedef void (*kms_log_pt)(void *data, int level, const char *msg);
void kms_ctx_set_log(kms_ctx_t *ctx, kms_log_pt log, void *data);

/*
 * A key the gateway uses without a call (a cached S3 Bucket Key): ref
 * (key id, key ARN, alias name or alias ARN; NULL = alias/aws/s3) of the
 * caller's account, looked up in the ring alone: no Redis, no policy, no
 * audit.  KMS_OK: the key is enabled, its ARN is in arn (cap bytes).
 * KMS_ERR_DISABLED, KMS_ERR_INVALID_STATE (pending deletion,
 * unavailable): it may not be used.  KMS_ERR_NOT_FOUND: the ring does not
 * know it (or the internal key, or another account's alias).  Anything
 * but KMS_OK means: make the KMS call, which answers precisely.
 */
kms_err_t kms_ctx_key_usable(const kms_ctx_t *ctx, const char *account,
    const char *ref, char *arn, size_t cap);

/*
 * The data-key cache's key (DESIGN.md section 5): HKDF-SHA256(root key,
 * salt empty, info "KMS1 cache"), 32 bytes.  Returns 0 or -1.
 */
int kms_ctx_cache_key(const kms_ctx_t *ctx, unsigned char out[32]);


/* ---- calls ---------------------------------------------------------------- */

typedef struct {
    const char         *access_key_id;   /* NULL when unauthenticated */
    const char         *account;         /* 12 digits, NULL if unknown */
    const char         *arn;             /* principal ARN */
    const char         *via_service;     /* NULL, or "s3.REGION.amazonaws.com" */
    const char         *source_ip;
    const char         *user_agent;
    const char         *request_id;      /* UUID text; also the audit's */
    int64_t             now_ms;          /* Unix time, milliseconds */
} kms_caller_t;

typedef struct kms_call_s  kms_call_t;

typedef enum {
    KMS_CALL_DONE = 0,
    KMS_CALL_NEED_REDIS
} kms_call_rc_t;

/*
 * A KMS JSON API call: operation is the part after "TrentService.", body
 * the request JSON.  Unknown operations, bad JSON and bad fields are
 * answered as AWS answers them.  The caller and the strings it points to
 * must outlive the call.
 */
kms_call_t *kms_call_new(kms_ctx_t *ctx, const kms_caller_t *caller,
    const char *operation, const char *body, size_t len);

/*
 * The gateway's calls (S3 on behalf of a client, via_service set).
 * context: canonical JSON object of the encryption context (may be NULL).
 * key_ref: key id, key ARN, alias name or alias ARN; NULL = alias/aws/s3.
 */
kms_call_t *kms_call_generate_data_key(kms_ctx_t *ctx,
    const kms_caller_t *caller, const char *key_ref, const char *context,
    size_t nbytes);
kms_call_t *kms_call_decrypt_blob(kms_ctx_t *ctx, const kms_caller_t *caller,
    const unsigned char *blob, size_t len, const char *context);

/*
 * SSE-S3's calls: the same, under the gateway's internal key instead of a
 * key of the caller's.  One internal key per key store, a real key record
 * (wrapped material, MAC'd, versions kept, rotated yearly by maintenance)
 * created on first use, atomically across workers and hosts.  It belongs
 * to no customer account (KMS_INTERNAL_ACCOUNT, which the credentials file
 * may not use): the KMS API never shows it (ListKeys, ListAliases) nor
 * lets anyone use it (DescribeKey, Decrypt, ... by its ARN: NotFound; its
 * blobs: InvalidCiphertextException, as a key that does not exist).  No
 * key policy is asked and no audit record is written, as SSE-S3 never
 * touches KMS.  kms_call_decrypt_blob_internal() opens blobs of the
 * internal key only; kms_call_decrypt_blob() never opens them.
 * kms_call_key_arn() gives the internal key's ARN,
 * arn:PARTITION:kms:REGION:000000000000:key/KMS_INTERNAL_KEY_ID.
 */
#define KMS_INTERNAL_ACCOUNT  "000000000000"
#define KMS_INTERNAL_KEY_ID   "00000000-0000-4000-8000-000000000000"

kms_call_t *kms_call_generate_data_key_internal(kms_ctx_t *ctx,
    const kms_caller_t *caller, const char *context, size_t nbytes);
kms_call_t *kms_call_decrypt_blob_internal(kms_ctx_t *ctx,
    const kms_caller_t *caller, const unsigned char *blob, size_t len,
    const char *context);

/*
 * Internal work, no caller: the first full load of the ring (checks or
 * sets the root fingerprint first), a refresh after a kms:events message,
 * and maintenance (rotate due keys, erase keys whose deletion window has
 * passed; at most one worker runs it at a time).
 */
kms_call_t *kms_call_load(kms_ctx_t *ctx);
kms_call_t *kms_call_refresh(kms_ctx_t *ctx, const char *event, size_t len);
kms_call_t *kms_call_maintain(kms_ctx_t *ctx, int64_t now_ms);

kms_call_rc_t kms_call_run(kms_call_t *call);
const kms_cmd_t *kms_call_command(kms_call_t *call);
void kms_call_reply(kms_call_t *call, const kms_reply_t *reply);

/* Ends the call with an error before or instead of running it. */
void kms_call_fail(kms_call_t *call, kms_err_t err, const char *message);

/* Results, valid once kms_call_run() returned KMS_CALL_DONE. */
kms_err_t kms_call_error(const kms_call_t *call);
int kms_call_status(const kms_call_t *call);
const char *kms_call_body(const kms_call_t *call, size_t *len);
const char *kms_call_audit(const kms_call_t *call, size_t *len);
const char *kms_call_event(const kms_call_t *call);
const char *kms_call_log(const kms_call_t *call);    /* NULL or a sentence */

/* Gateway results: the data key (secure memory, wiped by free), its blob */
const unsigned char *kms_call_plaintext(const kms_call_t *call, size_t *len);
const unsigned char *kms_call_blob(const kms_call_t *call, size_t *len);
const char *kms_call_key_arn(const kms_call_t *call);

void kms_call_free(kms_call_t *call);


/* ---- the Redis channel the module subscribes to -------------------------- */

#define KMS_EVENTS_CHANNEL  "kms:events"


/* ---- key store backup ------------------------------------------------------ */

/*
 * Export and import of the wrapped key records (kms:* keys), for
 * tools/s3kms-keystore.  The records stay wrapped and authenticated: the
 * file is safe to copy anywhere and useless without the root key.
 */

#endif /* KMS_H */
