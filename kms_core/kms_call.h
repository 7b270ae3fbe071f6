/*
 * The call machinery shared by kms_call.c (engine, Redis, audit) and
 * kms_ops.c (the API operations).  Private to kms_core/.
 */

#ifndef KMS_CALL_H
#define KMS_CALL_H

#include "kms_int.h"


/* what an operation's exec step asks of the engine */
typedef enum {
    KMS_X_DONE = 0,             /* answered (success or error) */
    KMS_X_FETCH,                /* a key or alias must be read from Redis */
    KMS_X_WRITE                 /* the prepared write must be sent */
} kms_x_t;

/* kms_resolve() results */
enum {
    KMS_R_OK = 0,
    KMS_R_FETCH,
    KMS_R_WRITE,                /* the AWS managed key is being created */
    KMS_R_ERR
};

/* kms_resolve() flags */
#define KMS_RES_CROSS_ACCOUNT   0x01    /* another account's key ARN is fine */
#define KMS_RES_CREATE_AWS      0x02    /* create alias/aws/s3 on first use */
#define KMS_RES_NO_ALIAS        0x04    /* key id or key ARN only */

enum {
    KMS_KIND_API = 0,
    KMS_KIND_GW_GDK,
    KMS_KIND_GW_DECRYPT,
    KMS_KIND_LOAD,
    KMS_KIND_REFRESH,
    KMS_KIND_MAINTAIN
};

typedef struct kms_call_s  kms_call_t;
typedef kms_x_t (*kms_exec_pt)(kms_call_t *c);
typedef int (*kms_parse_pt)(kms_call_t *c);

typedef struct {
    const char     *name;
    kms_parse_pt    parse;
    kms_exec_pt     exec;
    unsigned        read_only:1;
    unsigned        crypto:1;          /* CloudTrail: responseElements null */
} kms_op_t;

const kms_op_t *kms_op_find(const char *name);
int kms_op_known_aws(const char *name);

/* parsed request members */
typedef struct {
    const char     *key_id;
    const char     *alias_name;
    const char     *target_key_id;
    const char     *dest_key_id;
    const char     *description;
    const char     *policy;
    const char     *policy_name;
    const char     *key_spec;          /* GenerateDataKey: AES_256 | AES_128 */
    const char     *marker;
    const char     *include;           /* ListKeyRotations IncludeKeyMaterial */
    unsigned char  *plaintext;         /* secure heap */
    size_t          ptlen;
    unsigned char  *blob;
    size_t          bloblen;
    kms_json_t     *ctx_json;
    kms_json_t     *dctx_json;
    kms_json_t     *tags;
    kms_json_t     *tag_keys;
    kms_ectx_t      ectx;
    kms_ectx_t      dctx;
    kms_buf_t       ectx_canon;
    kms_buf_t       dctx_canon;
    long long       limit;
    long long       nbytes;
    long long       window;
    long long       period;
    unsigned        has_limit:1;
    unsigned        has_nbytes:1;
    unsigned        has_window:1;
    unsigned        has_period:1;
    unsigned        has_description:1;
    unsigned        bypass:1;
    unsigned        dry_run:1;
} kms_params_t;

/* one argument of a Redis command */
typedef struct {
    char           *p;
    size_t          len;
} kms_arg_t;

enum {
    KMS_WAIT_NONE = 0,
    KMS_WAIT_KEYS,              /* EVAL hgetall-multi */
    KMS_WAIT_ALIAS,             /* HGET kms:alias:{A} name */
    KMS_WAIT_WRITE,             /* EVAL write */
    KMS_WAIT_ROOT,              /* EVAL root */
    KMS_WAIT_SCAN,              /* SCAN */
    KMS_WAIT_LOCK,              /* SET NX PX */
    KMS_WAIT_UNLOCK             /* EVAL unlock */
};

#define KMS_MAX_WKEYS  3

struct kms_call_s {
    kms_ctx_t              *ctx;
    const kms_caller_t     *caller;
    int                     kind;
    int                     internal;   /* SSE-S3: the internal key only */
    const kms_op_t         *op;
    const char             *event_name;
    kms_json_t             *req;
    kms_params_t            p;

    int                     done;
    int                     finished;
    int                     waiting;    /* KMS_WAIT_* while a reply is due */
    int                     retries;
    int                     warned;
    kms_err_t               err;
    char                   *errmsg;
    int                     status;
    kms_buf_t               body;
    kms_buf_t               audit;
    kms_buf_t               event;
    kms_buf_t               resp_el;    /* CloudTrail responseElements */
    char                   *log;

    /* the Redis command handed out */
    kms_cmd_t               cmd;
    kms_arg_t              *args;
    int                     nargs;
    int                     args_cap;
    const char            **argv;
    size_t                 *argvlen;

    /* keys and aliases already read from Redis in this call */
    char                  **fetched;
    size_t                  nfetched;
    char                    fetch_id[KMS_ID_TEXT_LEN + 1];
    char                   *fetch_alias;  /* "ACCOUNT/alias/x" */
    char                  **fetch_ids;    /* load, refresh: a batch */
    size_t                  nfetch_ids;

    /* the write under way: new records, or erasures (key NULL) */
    kms_key_t              *wkey[KMS_MAX_WKEYS];
    char                    wid[KMS_MAX_WKEYS][KMS_ID_TEXT_LEN + 1];
    size_t                  nw;
    kms_arg_t              *wkeys;        /* KEYS of the write script */
    int                     nwkeys;
    kms_arg_t              *wops;         /* ARGV after the fingerprint */
    int                     nwops;
    int                     pre_write;    /* write, then run exec again */
    kms_buf_t               pending_body; /* the answer once written */
    kms_buf_t               pending_audit_extra;

    /* results for the gateway and for the audit record */
    unsigned char          *plaintext;    /* secure heap */
    size_t                  ptlen;
    unsigned char          *blob;
    size_t                  bloblen;
    char                    key_arn[256];
    char                    res_account[13];
    char                    res_arn[256];

    /* load, refresh, maintain */
    int                     stage;
    char                   *cursor;
    int64_t                 now_ms;
    char                  **done_ids;
    size_t                  ndone_ids;
    kms_buf_t               maint_audit;
};


/* engine services for the operations */
void kms_fail(kms_call_t *c, kms_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kms_fail_validation(kms_call_t *c, kms_buf_t *errs, int n);
int kms_resolve(kms_call_t *c, const char *ref, int flags, kms_key_t **out);
int kms_authorize(kms_call_t *c, const kms_key_t *k, const char *action,
    const kms_ectx_t *ectx);
int kms_check_usable(kms_call_t *c, const kms_key_t *k);
int kms_fetched(kms_call_t *c, const char *what);
kms_key_t *kms_fetch_blob_key(kms_call_t *c, const unsigned char id[16],
    int *need_fetch);
const char *kms_account(const kms_call_t *c);
void kms_set_resource(kms_call_t *c, const kms_key_t *k);

/* prepared writes */
void kms_w_reset(kms_call_t *c);
int kms_w_key(kms_call_t *c, kms_key_t *nk, uint64_t old_rev,
    uint32_t old_nver);
int kms_w_erase(kms_call_t *c, const kms_key_t *k);
int kms_w_alias(kms_call_t *c, const char *account, const char *name,
    const char *check, const char *expect, const char *set);
int kms_w_account_add(kms_call_t *c, const kms_key_t *k);

/* key metadata as AWS's KeyMetadata object; trail: as CloudTrail logs it */
void kms_key_metadata_json(kms_call_t *c, kms_buf_t *b, const kms_key_t *k,
    int trail);
kms_key_t *kms_new_key(kms_call_t *c, const char *account, int aws_managed,
    const char *description, const char *policy);

#endif /* KMS_CALL_H */
