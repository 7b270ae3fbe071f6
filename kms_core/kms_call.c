/*
 * The call engine: a call runs its operation's exec step until it is
 * answered, or until it needs Redis (a key or alias to read, a write to
 * make); the module sends the command, hands back the reply, and the call
 * runs again.  Exec steps are pure functions of the request and the ring:
 * they run again from the top after every read, so nothing of the ring is
 * held across a reply.
 *
 * Redis commands (all private to the core):
 *
 *   EVAL <root script> 1 kms:root FP              first load
 *   SCAN cursor MATCH kms:key:* COUNT 500          first load
 *   EVAL <hgetall script> N kms:key:{ID}…          read keys
 *   HGET kms:alias:{ACCOUNT} NAME                  read an alias
 *   EVAL <write script> N kms:root … FP ops…       every change
 *   SET kms:lock:maintain TOKEN NX PX 50000        maintenance
 *   EVAL <unlock script> 1 kms:lock:maintain TOKEN  maintenance done
 *
 * The write script takes ops of four arguments (op, key index, a, b):
 * checks first ("rev": the key hash's rev field must equal a, "0" when the
 * hash is absent; "absent": hash field a must not exist; "is": hash field a
 * must equal b), then writes ("hset", "hdel", "del", "zadd", "zrem").  It
 * refuses everything when kms:root does not hold our fingerprint.  One
 * script is atomic, so a key and its aliases change together, and a
 * revision compare-and-set keeps two writers from losing each other's
 * changes.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "kms_call.h"


#define KMS_MAX_RETRIES   5
#define KMS_MAX_BODY      (1024 * 1024)


static const char  kms_script_root[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "  return ARGV[1]\n"
    "end\n"
    "return v\n";

static const char  kms_script_hgetall[] =
    "local r = {}\n"
    "for i, k in ipairs(KEYS) do r[i] = redis.call('HGETALL', k) end\n"
    "return r\n";

/* releases the maintenance lock if it is still ours */
static const char  kms_script_unlock[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

static const char  kms_script_write[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'ROOT' end\n"
    "for i = 2, #ARGV, 4 do\n"
    "  local op, k, a, b = ARGV[i], KEYS[tonumber(ARGV[i+1])], ARGV[i+2],"
    " ARGV[i+3]\n"
    "  if op == 'rev' then\n"
    "    if (redis.call('HGET', k, 'rev') or '0') ~= a then"
    " return 'CONFLICT' end\n"
    "  elseif op == 'absent' then\n"
    "    if redis.call('HEXISTS', k, a) == 1 then return 'EXISTS' end\n"
    "  elseif op == 'is' then\n"
    "    if redis.call('HGET', k, a) ~= b then return 'MISMATCH' end\n"
    "  end\n"
    "end\n"
    "for i = 2, #ARGV, 4 do\n"
    "  local op, k, a, b = ARGV[i], KEYS[tonumber(ARGV[i+1])], ARGV[i+2],"
    " ARGV[i+3]\n"
    "  if op == 'hset' then redis.call('HSET', k, a, b)\n"
    "  elseif op == 'hdel' then redis.call('HDEL', k, a)\n"
    "  elseif op == 'del' then redis.call('DEL', k)\n"
    "  elseif op == 'zadd' then redis.call('ZADD', k, a, b)\n"
    "  elseif op == 'zrem' then redis.call('ZREM', k, a)\n"
    "  end\n"
    "end\n"
    "return 'OK'\n";


static kms_call_t *kms_call_alloc(kms_ctx_t *ctx, const kms_caller_t *caller,
    int kind);
static kms_call_t *kms_gw_gdk(kms_ctx_t *ctx, const kms_caller_t *caller,
    const char *key_ref, const char *context, size_t nbytes, int internal);
static kms_call_t *kms_gw_decrypt(kms_ctx_t *ctx, const kms_caller_t *caller,
    const unsigned char *blob, size_t len, const char *context,
    int internal);
static int kms_resolve_internal(kms_call_t *c, const char *id,
    kms_key_t **out);
static kms_key_t *kms_new_internal_key(kms_call_t *c);
static kms_x_t kms_step(kms_call_t *c);
static kms_x_t kms_api_step(kms_call_t *c);
static kms_x_t kms_load_step(kms_call_t *c);
static kms_x_t kms_refresh_step(kms_call_t *c);
static kms_x_t kms_maintain_step(kms_call_t *c);
static void kms_finish(kms_call_t *c);
static void kms_audit(kms_call_t *c);
static void kms_cmd_reset(kms_call_t *c);
static int kms_cmd_arg(kms_call_t *c, const void *p, size_t n);
static int kms_cmd_str(kms_call_t *c, const char *s);
static int kms_cmd_seal(kms_call_t *c);
static int kms_cmd_fetch_keys(kms_call_t *c, char **ids, size_t n);
static int kms_cmd_write(kms_call_t *c);
static void kms_install(kms_call_t *c, const char *id,
    const kms_reply_t *r);
static void kms_commit(kms_call_t *c);
static void kms_invalidate(kms_call_t *c);
static void kms_memo(kms_call_t *c, const char *what);
static void kms_memo_clear(kms_call_t *c);
static int kms_stale(kms_call_t *c, const char *id);
static void kms_ids_free(char **ids, size_t n);
static void kms_args_free(kms_arg_t *a, int n);
static int kms_arg_push(kms_arg_t **v, int *n, const void *p, size_t len);


/* ---- creation ----------------------------------------------------------- */

/*
 * A call comes from the context's spare when there is one: a freed call,
 * zeroed, that kept the memory of its body, audit line and canonical
 * context.  An API call then allocates little beyond its parsed request
 * (calloc of this struct and a 2 KiB audit buffer were a large share of a
 * GenerateDataKey, and of glibc's malloc_consolidate).
 */

static kms_call_t *
kms_call_alloc(kms_ctx_t *ctx, const kms_caller_t *caller, int kind)
{
    kms_call_t  *c;

    if (ctx != NULL && ctx->spare != NULL) {
        c = ctx->spare;
        ctx->spare = NULL;

    } else {
        /* all zero: kms_buf_init() of every buffer */
        c = calloc(1, sizeof(kms_call_t));
        if (c == NULL) {
            return NULL;
        }
    }

    c->ctx = ctx;
    c->caller = caller;
    c->kind = kind;
    c->status = 200;

    return c;
}


/* bigger buffers than this go back to the heap with their call */
#define KMS_SPARE_BUF_MAX  16384


static int
kms_buf_keep(const kms_buf_t *b)
{
    return !b->failed && b->cap <= KMS_SPARE_BUF_MAX;
}


/* frees c, or keeps it (zeroed, its buffers emptied) as ctx's spare */
static void
kms_call_release(kms_call_t *c)
{
    kms_ctx_t  *ctx = c->ctx;
    kms_buf_t   body, audit, resp_el, ectx, dctx;

    /* GenerateDataKey's body holds the data key, in base64 */
    if (c->body.data != NULL) {
        kms_wipe(c->body.data, c->body.len);
    }

    if (ctx == NULL || ctx->spare != NULL || !kms_buf_keep(&c->body)
        || !kms_buf_keep(&c->audit) || !kms_buf_keep(&c->resp_el)
        || !kms_buf_keep(&c->p.ectx_canon) || !kms_buf_keep(&c->p.dctx_canon))
    {
        kms_buf_free(&c->body);
        kms_buf_free(&c->audit);
        kms_buf_free(&c->resp_el);
        kms_buf_free(&c->p.ectx_canon);
        kms_buf_free(&c->p.dctx_canon);
        free(c);
        return;
    }

    body = c->body;
    audit = c->audit;
    resp_el = c->resp_el;
    ectx = c->p.ectx_canon;
    dctx = c->p.dctx_canon;

    memset(c, 0, sizeof(kms_call_t));

    c->body = body;
    c->audit = audit;
    c->resp_el = resp_el;
    c->p.ectx_canon = ectx;
    c->p.dctx_canon = dctx;
    kms_buf_reset(&c->body);
    kms_buf_reset(&c->audit);
    kms_buf_reset(&c->resp_el);
    kms_buf_reset(&c->p.ectx_canon);
    kms_buf_reset(&c->p.dctx_canon);

    ctx->spare = c;
}


void
kms_call_spare_free(kms_ctx_t *ctx)
{
    kms_call_t  *c = ctx->spare;

    if (c == NULL) {
        return;
    }

    ctx->spare = NULL;
    kms_buf_free(&c->body);
    kms_buf_free(&c->audit);
    kms_buf_free(&c->resp_el);
    kms_buf_free(&c->p.ectx_canon);
    kms_buf_free(&c->p.dctx_canon);
    free(c);
}


kms_call_t *
kms_call_new(kms_ctx_t *ctx, const kms_caller_t *caller,
    const char *operation, const char *body, size_t len)
{
    kms_call_t    *c;

    c = kms_call_alloc(ctx, caller, KMS_KIND_API);
    if (c == NULL) {
        return NULL;
    }

    c->event_name = operation ? operation : "";
    c->op = kms_op_find(c->event_name);

    if (c->op == NULL) {
        if (kms_op_known_aws(c->event_name)) {
            kms_fail(c, KMS_ERR_UNSUPPORTED, "%s is not supported by this "
                     "key service.", c->event_name);
        } else {
            kms_fail(c, KMS_ERR_UNKNOWN_OPERATION, "%s", "");
        }
        return c;
    }

    if (len > KMS_MAX_BODY) {
        kms_fail(c, KMS_ERR_VALIDATION, "The request body is too large.");
        return c;
    }

    c->req = len ? kms_json_parse(body, len) : kms_json_parse("{}", 2);

    if (c->req == NULL) {
        kms_fail(c, KMS_ERR_SERIALIZATION, "%s", "");
        return c;
    }

    if (c->req->type != KMS_JSON_OBJECT) {
        kms_fail(c, KMS_ERR_SERIALIZATION, "%s",
                 c->req->type == KMS_JSON_ARRAY
                 ? "Start of list found where not expected"
                 : "Expected a JSON object");
        return c;
    }

    if (c->op->parse(c) != 0 && c->err == KMS_OK) {
        kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    }

    return c;
}


/*
 * The gateway's calls: the same operations, on a request built here.  The
 * context arrives as a JSON object; it is checked and copied in as it is.
 */

static int
kms_gw_request(kms_call_t *c, kms_buf_t *req, const char *context)
{
    kms_json_t  *ctx;

    if (context != NULL && context[0] != '\0') {
        kms_buf_str(req, ",\"EncryptionContext\":");
        kms_buf_str(req, context);
    }

    kms_buf_str(req, "}");

    c->req = req->failed ? NULL : kms_json_parse(req->data, req->len);
    kms_buf_free(req);

    /* the rest is ours: a request that does not parse is the context's */
    ctx = kms_json_get(c->req, "EncryptionContext");

    if (c->req == NULL || (ctx != NULL && ctx->type != KMS_JSON_OBJECT)) {
        kms_fail(c, KMS_ERR_VALIDATION, "The encryption context is not a "
                 "JSON object of strings.");
        return -1;
    }

    return 0;
}


static kms_call_t *
kms_gw_gdk(kms_ctx_t *ctx, const kms_caller_t *caller, const char *key_ref,
    const char *context, size_t nbytes, int internal)
{
    kms_call_t  *c;
    kms_buf_t    req;

    c = kms_call_alloc(ctx, caller, KMS_KIND_GW_GDK);
    if (c == NULL) {
        return NULL;
    }

    c->internal = internal;
    c->event_name = "GenerateDataKey";
    c->op = kms_op_find(c->event_name);

    kms_buf_init(&req);
    kms_buf_str(&req, "{\"KeyId\":");
    kms_buf_jstr(&req, key_ref);
    kms_buf_fmt(&req, ",\"NumberOfBytes\":%zu", nbytes);

    if (kms_gw_request(c, &req, context) == 0) {
        (void) c->op->parse(c);
    }

    return c;
}


static kms_call_t *
kms_gw_decrypt(kms_ctx_t *ctx, const kms_caller_t *caller,
    const unsigned char *blob, size_t len, const char *context, int internal)
{
    kms_call_t  *c;
    kms_buf_t    req;

    c = kms_call_alloc(ctx, caller, KMS_KIND_GW_DECRYPT);
    if (c == NULL) {
        return NULL;
    }

    c->internal = internal;
    c->event_name = "Decrypt";
    c->op = kms_op_find(c->event_name);

    kms_buf_init(&req);
    kms_buf_str(&req, "{\"CiphertextBlob\":\"");
    kms_buf_b64(&req, blob, len);
    kms_buf_str(&req, "\"");

    if (kms_gw_request(c, &req, context) == 0) {
        (void) c->op->parse(c);
    }

    return c;
}


kms_call_t *
kms_call_generate_data_key(kms_ctx_t *ctx, const kms_caller_t *caller,
    const char *key_ref, const char *context, size_t nbytes)
{
    return kms_gw_gdk(ctx, caller, key_ref ? key_ref : "alias/aws/s3",
                      context, nbytes, 0);
}


kms_call_t *
kms_call_decrypt_blob(kms_ctx_t *ctx, const kms_caller_t *caller,
    const unsigned char *blob, size_t len, const char *context)
{
    return kms_gw_decrypt(ctx, caller, blob, len, context, 0);
}


/*
 * SSE-S3: the same calls on the internal key, named by its ARN; only the
 * internal flag lets them reach it (kms_resolve_id, kms_open_blob).
 */

kms_call_t *
kms_call_generate_data_key_internal(kms_ctx_t *ctx,
    const kms_caller_t *caller, const char *context, size_t nbytes)
{
    char  arn[256];

    snprintf(arn, sizeof(arn), "arn:%s:kms:%s:%s:key/%s", ctx->partition,
             ctx->region, KMS_INTERNAL_ACCOUNT, KMS_INTERNAL_KEY_ID);

    return kms_gw_gdk(ctx, caller, arn, context, nbytes, 1);
}


kms_call_t *
kms_call_decrypt_blob_internal(kms_ctx_t *ctx, const kms_caller_t *caller,
    const unsigned char *blob, size_t len, const char *context)
{
    return kms_gw_decrypt(ctx, caller, blob, len, context, 1);
}


kms_call_t *
kms_call_load(kms_ctx_t *ctx)
{
    kms_call_t  *c;

    c = kms_call_alloc(ctx, NULL, KMS_KIND_LOAD);
    if (c == NULL) {
        return NULL;
    }

    c->event_name = "Load";
    c->cursor = strdup("0");
    if (c->cursor == NULL) {
        kms_call_free(c);
        return NULL;
    }

    return c;
}


kms_call_t *
kms_call_refresh(kms_ctx_t *ctx, const char *event, size_t len)
{
    kms_call_t          *c;
    char                *copy, *tok, *save, *id;
    unsigned long long   rev;
    kms_key_t           *k;
    unsigned char        bin[KMS_ID_LEN];
    char                 text[KMS_ID_TEXT_LEN + 1];
    char               **ids;

    c = kms_call_alloc(ctx, NULL, KMS_KIND_REFRESH);
    if (c == NULL) {
        return NULL;
    }

    c->event_name = "Refresh";

    copy = malloc(len + 1);
    if (copy == NULL) {
        kms_call_free(c);
        return NULL;
    }
    memcpy(copy, event, len);
    copy[len] = '\0';

    tok = strtok_r(copy, " ", &save);
    if (tok == NULL || strcmp(tok, "kms1") != 0) {
        kms_log(ctx, 1, "kms: ignored an event of unknown format");
        free(copy);
        c->done = 1;
        return c;
    }

    while ((id = strtok_r(NULL, " ", &save)) != NULL) {
        tok = strtok_r(NULL, " ", &save);
        if (tok == NULL
            || kms_uuid_parse(id, strlen(id), bin) != 0)
        {
            kms_log(ctx, 1, "kms: ignored a malformed event");
            break;
        }

        rev = strtoull(tok, NULL, 10);
        kms_uuid_text(bin, text);
        k = kms_ring_key(&ctx->ring, text);

        /* an unavailable key is read again: its record may be restored */
        if (k != NULL && k->state != KMS_KS_UNAVAILABLE && rev != 0
            && rev <= k->rev)
        {
            if (rev < k->rev) {
                kms_log(ctx, 1, "kms: key %s: event for revision %llu, "
                        "older than revision %llu held: ignored", text, rev,
                        (unsigned long long) k->rev);
            }
            continue;
        }

        ids = realloc(c->fetch_ids, (c->nfetch_ids + 1) * sizeof(char *));
        if (ids == NULL) {
            break;
        }
        c->fetch_ids = ids;
        c->fetch_ids[c->nfetch_ids] = strdup(text);
        if (c->fetch_ids[c->nfetch_ids] == NULL) {
            break;
        }
        c->nfetch_ids++;
    }

    free(copy);
    return c;
}


kms_call_t *
kms_call_maintain(kms_ctx_t *ctx, int64_t now_ms)
{
    kms_call_t  *c;

    c = kms_call_alloc(ctx, NULL, KMS_KIND_MAINTAIN);
    if (c == NULL) {
        return NULL;
    }

    c->event_name = "Maintain";
    c->now_ms = now_ms;
    return c;
}


/* ---- running ------------------------------------------------------------ */

kms_call_rc_t
kms_call_run(kms_call_t *c)
{
    kms_x_t  x;

    if (c->waiting) {
        return KMS_CALL_NEED_REDIS;
    }

    while (!c->done) {
        x = kms_step(c);

        if (x == KMS_X_DONE) {
            c->done = 1;
            break;
        }

        if (c->waiting) {
            return KMS_CALL_NEED_REDIS;
        }
    }

    kms_finish(c);
    return KMS_CALL_DONE;
}


static kms_x_t
kms_step(kms_call_t *c)
{
    if (c->err != KMS_OK) {
        return KMS_X_DONE;
    }

    switch (c->kind) {
    case KMS_KIND_LOAD:
        return kms_load_step(c);
    case KMS_KIND_REFRESH:
        return kms_refresh_step(c);
    case KMS_KIND_MAINTAIN:
        return kms_maintain_step(c);
    default:
        return kms_api_step(c);
    }
}


static kms_x_t
kms_api_step(kms_call_t *c)
{
    kms_x_t  x;

    if (c->ctx->state == KMS_RING_WRONG_ROOT) {
        kms_fail(c, KMS_ERR_INTERNAL, "The key store belongs to another root "
                 "key (fingerprint %s; this server's root key has "
                 "fingerprint %s). No key operation is possible.",
                 c->ctx->stored_fingerprint ? c->ctx->stored_fingerprint
                                            : "unknown",
                 c->ctx->fingerprint);
        return KMS_X_DONE;
    }

    if (c->ctx->state == KMS_RING_EMPTY) {
        kms_fail(c, KMS_ERR_DEPENDENCY_TIMEOUT, "The key store is not "
                 "loaded yet. Try again later.");
        return KMS_X_DONE;
    }

    kms_buf_reset(&c->body);
    kms_buf_reset(&c->resp_el);
    kms_w_reset(c);
    c->fetch_id[0] = '\0';
    free(c->fetch_alias);
    c->fetch_alias = NULL;

    x = c->op->exec(c);

    if (c->err != KMS_OK) {
        kms_w_reset(c);
        return KMS_X_DONE;
    }

    switch (x) {

    case KMS_X_FETCH:
        kms_cmd_reset(c);

        if (c->fetch_alias != NULL) {
            char  *slash = strchr(c->fetch_alias, '/');
            char   name[64];

            snprintf(name, sizeof(name), "kms:alias:{%.*s}",
                     (int) (slash - c->fetch_alias), c->fetch_alias);
            if (kms_cmd_str(c, "HGET") != 0 || kms_cmd_str(c, name) != 0
                || kms_cmd_str(c, slash + 1) != 0 || kms_cmd_seal(c) != 0)
            {
                goto nomem;
            }
            c->waiting = KMS_WAIT_ALIAS;
            return KMS_X_FETCH;
        }

        {
            char  *one = c->fetch_id;

            kms_ids_free(c->fetch_ids, c->nfetch_ids);
            c->fetch_ids = NULL;
            c->nfetch_ids = 0;
            if (kms_cmd_fetch_keys(c, &one, 1) != 0) {
                goto nomem;
            }
            c->fetch_ids = calloc(1, sizeof(char *));
            if (c->fetch_ids == NULL
                || (c->fetch_ids[0] = strdup(c->fetch_id)) == NULL)
            {
                goto nomem;
            }
            c->nfetch_ids = 1;
        }
        c->waiting = KMS_WAIT_KEYS;
        return KMS_X_FETCH;

    case KMS_X_WRITE:
        if (kms_cmd_write(c) != 0) {
            goto nomem;
        }
        c->waiting = KMS_WAIT_WRITE;
        return KMS_X_WRITE;

    default:
        return KMS_X_DONE;
    }

nomem:

    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return KMS_X_DONE;
}


const kms_cmd_t *
kms_call_command(kms_call_t *c)
{
    return c->waiting ? &c->cmd : NULL;
}


static void
kms_reply_error(kms_call_t *c, const kms_reply_t *r)
{
    kms_log(c->ctx, 0, "kms: the key store answered an error: %.*s",
            (int) (r->len > 200 ? 200 : r->len), r->str ? r->str : "");
    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
}


void
kms_call_reply(kms_call_t *c, const kms_reply_t *r)
{
    int     waiting = c->waiting;
    size_t  i;
    char    memo[KMS_ID_TEXT_LEN + 3];

    c->waiting = KMS_WAIT_NONE;

    if (waiting == KMS_WAIT_NONE || c->done) {
        return;
    }

    if (r == NULL || r->type == KMS_REPLY_ERROR) {
        if (r == NULL) {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
        } else {
            kms_reply_error(c, r);
        }
        c->done = 1;
        return;
    }

    switch (waiting) {

    case KMS_WAIT_KEYS:
        if (r->type != KMS_REPLY_ARRAY || r->elements != c->nfetch_ids) {
            kms_reply_error(c, r);
            c->done = 1;
            return;
        }

        for (i = 0; i < c->nfetch_ids; i++) {
            kms_install(c, c->fetch_ids[i], &r->element[i]);
            snprintf(memo, sizeof(memo), "k:%s", c->fetch_ids[i]);
            kms_memo(c, memo);
        }

        if (c->kind == KMS_KIND_LOAD) {
            c->stage = strcmp(c->cursor, "0") == 0 ? 3 : 1;
        } else if (c->kind == KMS_KIND_REFRESH) {
            c->stage = 1;
        }
        return;

    case KMS_WAIT_ALIAS:
    {
        char           *m;
        unsigned char   bin[KMS_ID_LEN];
        char            text[KMS_ID_TEXT_LEN + 1];
        char           *one = text;

        m = malloc(strlen(c->fetch_alias) + 3);
        if (m != NULL) {
            sprintf(m, "a:%s", c->fetch_alias);
            kms_memo(c, m);
            free(m);
        }

        if (r->type != KMS_REPLY_STRING
            || kms_uuid_parse(r->str, r->len, bin) != 0)
        {
            return;
        }

        /* the alias names a key: read it, fresh, since it lists its
         * aliases and the copy in the ring may predate this one */
        kms_uuid_text(bin, text);
        kms_ids_free(c->fetch_ids, c->nfetch_ids);
        c->fetch_ids = calloc(1, sizeof(char *));
        c->nfetch_ids = 0;
        if (c->fetch_ids == NULL || (c->fetch_ids[0] = strdup(text)) == NULL
            || (c->nfetch_ids = 1, kms_cmd_reset(c),
                kms_cmd_fetch_keys(c, &one, 1)) != 0)
        {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            c->done = 1;
            return;
        }
        c->waiting = KMS_WAIT_KEYS;
        return;
    }

    case KMS_WAIT_WRITE:
        if (r->type != KMS_REPLY_STRING) {
            kms_reply_error(c, r);
            c->done = 1;
            return;
        }

        if (r->len == 2 && memcmp(r->str, "OK", 2) == 0) {
            kms_commit(c);
            if (c->kind == KMS_KIND_MAINTAIN) {
                return;
            }
            if (c->pre_write) {
                c->pre_write = 0;
                return;
            }
            c->done = 1;
            return;
        }

        if (r->len == 4 && memcmp(r->str, "ROOT", 4) == 0) {
            c->ctx->state = KMS_RING_WRONG_ROOT;
            kms_log(c->ctx, 0, "kms: kms:root no longer holds this server's "
                    "root key fingerprint %s: nothing will be written",
                    c->ctx->fingerprint);
            kms_w_reset(c);
            return;
        }

        /* CONFLICT, EXISTS, MISMATCH: someone else changed it first */
        kms_invalidate(c);
        if (c->kind == KMS_KIND_MAINTAIN) {
            return;
        }
        if (++c->retries > KMS_MAX_RETRIES) {
            kms_fail(c, KMS_ERR_INTERNAL, "The key was changed concurrently "
                     "too many times. Try again.");
            c->done = 1;
        }
        return;

    case KMS_WAIT_ROOT:
        if (r->type != KMS_REPLY_STRING) {
            kms_reply_error(c, r);
            c->done = 1;
            return;
        }

        if (r->len != KMS_FINGERPRINT_LEN
            || memcmp(r->str, c->ctx->fingerprint, KMS_FINGERPRINT_LEN) != 0)
        {
            free(c->ctx->stored_fingerprint);
            c->ctx->stored_fingerprint = strndup(r->str,
                                                 r->len > 64 ? 64 : r->len);
            c->ctx->state = KMS_RING_WRONG_ROOT;
            kms_log(c->ctx, 0, "kms: the key store belongs to another root "
                    "key (fingerprint %s, ours %s): no key operation will be "
                    "served and nothing will be written",
                    c->ctx->stored_fingerprint ? c->ctx->stored_fingerprint
                                               : "?",
                    c->ctx->fingerprint);
            kms_fail(c, KMS_ERR_INTERNAL, "The key store belongs to another "
                     "root key.");
            c->done = 1;
            return;
        }

        c->stage = 1;
        return;

    case KMS_WAIT_SCAN:
        if (r->type != KMS_REPLY_ARRAY || r->elements != 2
            || r->element[0].type != KMS_REPLY_STRING
            || r->element[1].type != KMS_REPLY_ARRAY)
        {
            kms_reply_error(c, r);
            c->done = 1;
            return;
        }

        free(c->cursor);
        c->cursor = strndup(r->element[0].str, r->element[0].len);

        kms_ids_free(c->fetch_ids, c->nfetch_ids);
        c->fetch_ids = calloc(r->element[1].elements + 1, sizeof(char *));
        c->nfetch_ids = 0;
        if (c->cursor == NULL || c->fetch_ids == NULL) {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            c->done = 1;
            return;
        }

        for (i = 0; i < r->element[1].elements; i++) {
            const kms_reply_t  *e = &r->element[1].element[i];
            unsigned char       bin[KMS_ID_LEN];
            char                text[KMS_ID_TEXT_LEN + 1];

            /* kms:key:{ID} */
            if (e->type != KMS_REPLY_STRING || e->len != 10 + 36
                || memcmp(e->str, "kms:key:{", 9) != 0
                || e->str[e->len - 1] != '}'
                || kms_uuid_parse(e->str + 9, 36, bin) != 0)
            {
                continue;
            }
            kms_uuid_text(bin, text);
            c->fetch_ids[c->nfetch_ids] = strdup(text);
            if (c->fetch_ids[c->nfetch_ids] != NULL) {
                c->nfetch_ids++;
            }
        }

        c->stage = c->nfetch_ids ? 2 : strcmp(c->cursor, "0") == 0 ? 3 : 1;
        return;

    case KMS_WAIT_LOCK:
        c->stage = r->type == KMS_REPLY_STRING ? 1 : 9;
        return;

    case KMS_WAIT_UNLOCK:
        c->stage = 9;
        return;
    }
}


void
kms_call_fail(kms_call_t *c, kms_err_t err, const char *message)
{
    c->waiting = KMS_WAIT_NONE;
    c->err = KMS_OK;
    free(c->errmsg);
    c->errmsg = NULL;
    kms_fail(c, err, "%s", message ? message : kms_err_message(err));
    c->done = 1;
}


/* ---- Redis commands ----------------------------------------------------- */

static int
kms_arg_push(kms_arg_t **v, int *n, const void *p, size_t len)
{
    kms_arg_t  *nv;

    nv = realloc(*v, (size_t) (*n + 1) * sizeof(kms_arg_t));
    if (nv == NULL) {
        return -1;
    }
    *v = nv;

    nv[*n].p = malloc(len + 1);
    if (nv[*n].p == NULL) {
        return -1;
    }
    memcpy(nv[*n].p, p, len);
    nv[*n].p[len] = '\0';
    nv[*n].len = len;
    (*n)++;
    return 0;
}


static void
kms_args_free(kms_arg_t *a, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        free(a[i].p);
    }
    free(a);
}


static void
kms_cmd_reset(kms_call_t *c)
{
    kms_args_free(c->args, c->nargs);
    c->args = NULL;
    c->nargs = 0;
    free(c->argv);
    free(c->argvlen);
    c->argv = NULL;
    c->argvlen = NULL;
    c->cmd.argc = 0;
}


static int
kms_cmd_arg(kms_call_t *c, const void *p, size_t n)
{
    return kms_arg_push(&c->args, &c->nargs, p, n);
}


static int
kms_cmd_str(kms_call_t *c, const char *s)
{
    return kms_cmd_arg(c, s, strlen(s));
}


static int
kms_cmd_seal(kms_call_t *c)
{
    int  i;

    c->argv = malloc((size_t) c->nargs * sizeof(char *));
    c->argvlen = malloc((size_t) c->nargs * sizeof(size_t));
    if (c->argv == NULL || c->argvlen == NULL) {
        return -1;
    }

    for (i = 0; i < c->nargs; i++) {
        c->argv[i] = c->args[i].p;
        c->argvlen[i] = c->args[i].len;
    }

    c->cmd.argc = c->nargs;
    c->cmd.argv = c->argv;
    c->cmd.argvlen = c->argvlen;
    return 0;
}


static int
kms_cmd_fetch_keys(kms_call_t *c, char **ids, size_t n)
{
    char    num[24], name[64];
    size_t  i;

    snprintf(num, sizeof(num), "%zu", n);
    if (kms_cmd_str(c, "EVAL") != 0 || kms_cmd_str(c, kms_script_hgetall)
        || kms_cmd_str(c, num) != 0)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "kms:key:{%s}", ids[i]);
        if (kms_cmd_str(c, name) != 0) {
            return -1;
        }
    }

    return kms_cmd_seal(c);
}


static int
kms_cmd_write(kms_call_t *c)
{
    char  num[24];
    int   i;

    kms_cmd_reset(c);
    snprintf(num, sizeof(num), "%d", c->nwkeys);

    if (kms_cmd_str(c, "EVAL") != 0 || kms_cmd_str(c, kms_script_write) != 0
        || kms_cmd_str(c, num) != 0)
    {
        return -1;
    }

    for (i = 0; i < c->nwkeys; i++) {
        if (kms_cmd_arg(c, c->wkeys[i].p, c->wkeys[i].len) != 0) {
            return -1;
        }
    }

    if (kms_cmd_str(c, c->ctx->fingerprint) != 0) {
        return -1;
    }

    for (i = 0; i < c->nwops; i++) {
        if (kms_cmd_arg(c, c->wops[i].p, c->wops[i].len) != 0) {
            return -1;
        }
    }

    return kms_cmd_seal(c);
}


/* ---- prepared writes ---------------------------------------------------- */

void
kms_w_reset(kms_call_t *c)
{
    size_t  i;

    for (i = 0; i < c->nw; i++) {
        kms_key_free(c->wkey[i]);
        c->wkey[i] = NULL;
    }
    c->nw = 0;

    kms_args_free(c->wkeys, c->nwkeys);
    kms_args_free(c->wops, c->nwops);
    c->wkeys = NULL;
    c->nwkeys = 0;
    c->wops = NULL;
    c->nwops = 0;
}


static int
kms_w_keyidx(kms_call_t *c, const char *name)
{
    int  i;

    if (c->nwkeys == 0
        && kms_arg_push(&c->wkeys, &c->nwkeys, "kms:root", 8) != 0)
    {
        return -1;
    }

    for (i = 0; i < c->nwkeys; i++) {
        if (strcmp(c->wkeys[i].p, name) == 0) {
            return i + 1;
        }
    }

    if (kms_arg_push(&c->wkeys, &c->nwkeys, name, strlen(name)) != 0) {
        return -1;
    }

    return c->nwkeys;
}


static int
kms_w_op(kms_call_t *c, const char *op, int idx, const void *a, size_t alen,
    const void *b, size_t blen)
{
    char  num[16];

    if (idx < 0) {
        return -1;
    }

    snprintf(num, sizeof(num), "%d", idx);

    if (kms_arg_push(&c->wops, &c->nwops, op, strlen(op)) != 0
        || kms_arg_push(&c->wops, &c->nwops, num, strlen(num)) != 0
        || kms_arg_push(&c->wops, &c->nwops, a, alen) != 0
        || kms_arg_push(&c->wops, &c->nwops, b, blen) != 0)
    {
        return -1;
    }

    return 0;
}


int
kms_w_key(kms_call_t *c, kms_key_t *nk, uint64_t old_rev, uint32_t old_nver)
{
    kms_record_t  rec;
    char          name[64], rev[24], field[16];
    int           idx, rc = 0;
    uint32_t      v;

    if (c->nw >= KMS_MAX_WKEYS) {
        kms_key_free(nk);
        return -1;
    }

    c->wkey[c->nw] = nk;
    memcpy(c->wid[c->nw], nk->id_text, sizeof(c->wid[0]));
    c->nw++;

    nk->rev = old_rev + 1;
    if (kms_record_encode(nk, c->ctx->rec_key, &rec) != 0) {
        return -1;
    }

    snprintf(name, sizeof(name), "kms:key:{%s}", nk->id_text);
    snprintf(rev, sizeof(rev), "%llu", (unsigned long long) old_rev);
    idx = kms_w_keyidx(c, name);

    rc |= kms_w_op(c, "rev", idx, rev, strlen(rev), "", 0);
    rc |= kms_w_op(c, "hset", idx, "rev", 3, rec.rev, strlen(rec.rev));
    rc |= kms_w_op(c, "hset", idx, "meta", 4, rec.meta, strlen(rec.meta));
    rc |= kms_w_op(c, "hset", idx, "policy", 6, rec.policy,
                   strlen(rec.policy));
    rc |= kms_w_op(c, "hset", idx, "mac", 3, rec.mac, 64);

    for (v = old_nver + 1; v <= nk->nver; v++) {
        snprintf(field, sizeof(field), "v%u", v);
        rc |= kms_w_op(c, "hset", idx, field, strlen(field),
                       nk->wrapped + (size_t) (v - 1) * KMS_WRAPPED_LEN,
                       KMS_WRAPPED_LEN);
    }

    kms_record_free(&rec);
    return rc ? -1 : 0;
}


int
kms_w_erase(kms_call_t *c, const kms_key_t *k)
{
    char    name[64], rev[24];
    int     idx, rc = 0;
    size_t  i;

    if (c->nw >= KMS_MAX_WKEYS) {
        return -1;
    }

    c->wkey[c->nw] = NULL;
    memcpy(c->wid[c->nw], k->id_text, sizeof(c->wid[0]));
    c->nw++;

    snprintf(name, sizeof(name), "kms:key:{%s}", k->id_text);
    snprintf(rev, sizeof(rev), "%llu", (unsigned long long) k->rev);
    idx = kms_w_keyidx(c, name);
    rc |= kms_w_op(c, "rev", idx, rev, strlen(rev), "", 0);
    rc |= kms_w_op(c, "del", idx, "", 0, "", 0);

    for (i = 0; i < k->naliases; i++) {
        rc |= kms_w_alias(c, k->account, k->aliases[i].name, NULL, NULL,
                          NULL);
    }

    snprintf(name, sizeof(name), "kms:keys:{%s}", k->account);
    idx = kms_w_keyidx(c, name);
    rc |= kms_w_op(c, "zrem", idx, k->id_text, KMS_ID_TEXT_LEN, "", 0);

    return rc ? -1 : 0;
}


/*
 * check: NULL, "absent" (the alias must not exist) or "is" (it must point
 * at expect); set: the key id to point it at, or NULL to delete it.
 */
int
kms_w_alias(kms_call_t *c, const char *account, const char *name,
    const char *check, const char *expect, const char *set)
{
    char  hash[64];
    int   idx, rc = 0;

    snprintf(hash, sizeof(hash), "kms:alias:{%s}", account);
    idx = kms_w_keyidx(c, hash);

    if (check != NULL) {
        rc |= kms_w_op(c, check, idx, name, strlen(name), expect ? expect : "",
                       expect ? strlen(expect) : 0);
    }

    if (set != NULL) {
        rc |= kms_w_op(c, "hset", idx, name, strlen(name), set, strlen(set));
    } else {
        rc |= kms_w_op(c, "hdel", idx, name, strlen(name), "", 0);
    }

    return rc ? -1 : 0;
}


int
kms_w_account_add(kms_call_t *c, const kms_key_t *k)
{
    char  name[64], score[32];
    int   idx;

    snprintf(name, sizeof(name), "kms:keys:{%s}", k->account);
    snprintf(score, sizeof(score), "%lld", (long long) k->created_ms);
    idx = kms_w_keyidx(c, name);

    return kms_w_op(c, "zadd", idx, score, strlen(score), k->id_text,
                    KMS_ID_TEXT_LEN);
}


static void
kms_commit(kms_call_t *c)
{
    size_t  i;

    if (c->event.len == 0) {
        kms_buf_str(&c->event, "kms1");
    }

    for (i = 0; i < c->nw; i++) {
        if (c->wkey[i] != NULL) {
            kms_buf_fmt(&c->event, " %s %llu", c->wid[i],
                        (unsigned long long) c->wkey[i]->rev);
            c->wkey[i]->gen = c->ctx->gen;
            if (kms_ring_put(&c->ctx->ring, c->wkey[i]) != 0) {
                kms_log(c->ctx, 0, "kms: out of memory while updating the "
                        "key ring");
            }
            c->wkey[i] = NULL;

        } else {
            kms_buf_fmt(&c->event, " %s 0", c->wid[i]);
            kms_ring_del(&c->ctx->ring, c->wid[i]);
        }
    }

    c->nw = 0;
    kms_w_reset(c);
}


static void
kms_invalidate(kms_call_t *c)
{
    size_t  i;
    char    memo[KMS_ID_TEXT_LEN + 3];

    /*
     * What we wrote over changed under us: forget what this call read, and
     * mark those keys stale so that the next run reads them again (the
     * ring keeps its copy meanwhile, for every other call).
     */
    kms_memo_clear(c);

    if (c->kind != KMS_KIND_MAINTAIN) {
        for (i = 0; i < c->nw; i++) {
            snprintf(memo, sizeof(memo), "s:%s", c->wid[i]);
            kms_memo(c, memo);
        }
    }

    kms_w_reset(c);
}


/* a key this call must read again before using it */
static int
kms_stale(kms_call_t *c, const char *id)
{
    char  memo[KMS_ID_TEXT_LEN + 3];

    if (c->nfetched == 0) {
        /* the common case: the call read nothing from Redis */
        return 0;
    }

    snprintf(memo, sizeof(memo), "s:%s", id);
    if (!kms_fetched(c, memo)) {
        return 0;
    }

    snprintf(memo, sizeof(memo), "k:%s", id);
    return !kms_fetched(c, memo);
}


/* ---- installing records read from Redis --------------------------------- */

static void
kms_install(kms_call_t *c, const char *id, const kms_reply_t *r)
{
    kms_key_t  *k, *old, *stub;
    kms_err_t   e;
    char        err[256];

    e = kms_record_decode(r, id, c->ctx->root, c->ctx->rec_key,
                          c->ctx->partition, c->ctx->region, &k, err,
                          sizeof(err));

    old = kms_ring_key(&c->ctx->ring, id);

    if (e == KMS_ERR_NOT_FOUND) {
        if (old != NULL) {
            kms_ring_del(&c->ctx->ring, id);
        }
        return;
    }

    if (e != KMS_OK) {
        kms_log(c->ctx, 0, "kms: %s; the key is unavailable until its "
                "record is restored", err);

        stub = kms_key_new();
        if (stub == NULL) {
            return;
        }
        if (kms_uuid_parse(id, strlen(id), stub->id) != 0) {
            kms_key_free(stub);
            return;
        }
        kms_uuid_text(stub->id, stub->id_text);
        stub->state = KMS_KS_UNAVAILABLE;
        stub->internal = kms_id_internal(stub->id);
        stub->rev = old ? old->rev : 0;
        stub->gen = c->ctx->gen;
        if (kms_ring_put(&c->ctx->ring, stub) != 0) {
            kms_ring_del(&c->ctx->ring, id);
        }
        return;
    }

    if (old != NULL && old->state != KMS_KS_UNAVAILABLE && k->rev < old->rev)
    {
        kms_log(c->ctx, 0, "kms: key %s: the key store holds revision %llu, "
                "older than revision %llu held here: a rollback? ignored",
                id, (unsigned long long) k->rev,
                (unsigned long long) old->rev);
        old->gen = c->ctx->gen;
        kms_key_free(k);
        return;
    }

    k->gen = c->ctx->gen;

    if (CRYPTO_secure_malloc_initialized()
        && !CRYPTO_secure_allocated(k->material) && !c->warned)
    {
        c->warned = 1;
        kms_log(c->ctx, 1, "kms: the secure heap is full: key material is "
                "held in ordinary memory; configure a larger secure heap");
    }

    if (kms_ring_put(&c->ctx->ring, k) != 0) {
        kms_log(c->ctx, 0, "kms: out of memory while updating the key ring");
    }
}


/* ---- memo of what this call read ---------------------------------------- */

static void
kms_memo(kms_call_t *c, const char *what)
{
    char  **n;

    if (kms_fetched(c, what)) {
        return;
    }

    n = realloc(c->fetched, (c->nfetched + 1) * sizeof(char *));
    if (n == NULL) {
        return;
    }
    c->fetched = n;
    c->fetched[c->nfetched] = strdup(what);
    if (c->fetched[c->nfetched] != NULL) {
        c->nfetched++;
    }
}


int
kms_fetched(kms_call_t *c, const char *what)
{
    size_t  i;

    for (i = 0; i < c->nfetched; i++) {
        if (strcmp(c->fetched[i], what) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
kms_memo_clear(kms_call_t *c)
{
    kms_ids_free(c->fetched, c->nfetched);
    c->fetched = NULL;
    c->nfetched = 0;
}


static void
kms_ids_free(char **ids, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
}


/* ---- errors ------------------------------------------------------------- */

void
kms_fail(kms_call_t *c, kms_err_t err, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    if (c->err != KMS_OK) {
        return;                             /* the first error wins */
    }

    c->err = err;
    free(c->errmsg);
    c->errmsg = NULL;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n >= 0) {
        c->errmsg = malloc((size_t) n + 1);
        if (c->errmsg != NULL) {
            va_start(ap, fmt);
            vsnprintf(c->errmsg, (size_t) n + 1, fmt, ap);
            va_end(ap);
        }
    }
}


void
kms_fail_validation(kms_call_t *c, kms_buf_t *errs, int n)
{
    if (n == 0) {
        return;
    }

    kms_fail(c, KMS_ERR_VALIDATION, "%d validation error%s detected: %s", n,
             n == 1 ? "" : "s", errs->data ? errs->data : "");
}


/* ---- keys by reference -------------------------------------------------- */

const char *
kms_account(const kms_call_t *c)
{
    return c->caller && c->caller->account ? c->caller->account : "";
}


void
kms_set_resource(kms_call_t *c, const kms_key_t *k)
{
    size_t  n = k->arn ? strlen(k->arn) : 0;

    memcpy(c->res_account, k->account, sizeof(c->res_account));
    if (n >= sizeof(c->res_arn)) {
        n = 0;
    }
    memcpy(c->res_arn, k->arn ? k->arn : "", n);
    c->res_arn[n] = '\0';
}


static int
kms_lower_uuid(const char *s, size_t len, char *out)
{
    unsigned char  bin[KMS_ID_LEN];

    if (kms_uuid_parse(s, len, bin) != 0) {
        return -1;
    }

    kms_uuid_text(bin, out);
    return 0;
}


static int
kms_resolve_id(kms_call_t *c, const char *id, const char *account, int flags,
    kms_key_t **out)
{
    kms_key_t  *k;
    char        memo[KMS_ID_TEXT_LEN + 3];

    /*
     * The internal key exists for the internal calls only, and they use
     * nothing else: to everyone else it is a key that does not exist.
     */

    if (strcmp(id, KMS_INTERNAL_KEY_ID) == 0) {
        if (c->internal && strcmp(account, KMS_INTERNAL_ACCOUNT) == 0) {
            return kms_resolve_internal(c, id, out);
        }
        goto not_found;
    }

    if (c->internal) {
        goto not_found;
    }

    k = kms_ring_key(&c->ctx->ring, id);

    if (k == NULL || kms_stale(c, id)) {
        snprintf(memo, sizeof(memo), "k:%s", id);
        if (!kms_fetched(c, memo)) {
            memcpy(c->fetch_id, id, KMS_ID_TEXT_LEN + 1);
            return KMS_R_FETCH;
        }
        if (k == NULL) {
            goto not_found;
        }
    }

    if (k->state == KMS_KS_UNAVAILABLE) {
        kms_fail(c, KMS_ERR_INVALID_STATE, "arn:%s:kms:%s:%s:key/%s is "
                 "unavailable.", c->ctx->partition, c->ctx->region, account,
                 id);
        return KMS_R_ERR;
    }

    if (strcmp(k->account, account) != 0) {
        goto not_found;
    }

    if (strcmp(k->account, kms_account(c)) != 0
        && !(flags & KMS_RES_CROSS_ACCOUNT))
    {
        goto not_found;
    }

    *out = k;
    return KMS_R_OK;

not_found:

    kms_fail(c, KMS_ERR_NOT_FOUND, "Key 'arn:%s:kms:%s:%s:key/%s' does not "
             "exist", c->ctx->partition, c->ctx->region, account, id);
    return KMS_R_ERR;
}


/*
 * The internal key: read from Redis when the ring does not have it (another
 * worker or host may have created it), else created here.  Its id is
 * fixed, so the write's revision check (the hash must not exist) lets one
 * creator win; a loser reads the winner's key and uses it.
 */

static int
kms_resolve_internal(kms_call_t *c, const char *id, kms_key_t **out)
{
    kms_key_t  *k, *nk;
    char        memo[KMS_ID_TEXT_LEN + 3];

    k = kms_ring_key(&c->ctx->ring, id);

    if (k == NULL || kms_stale(c, id)) {
        snprintf(memo, sizeof(memo), "k:%s", id);
        if (!kms_fetched(c, memo)) {
            memcpy(c->fetch_id, id, KMS_ID_TEXT_LEN + 1);
            return KMS_R_FETCH;
        }
    }

    if (k == NULL) {
        if (c->kind != KMS_KIND_GW_GDK) {
            kms_fail(c, KMS_ERR_NOT_FOUND, "Key 'arn:%s:kms:%s:%s:key/%s' "
                     "does not exist", c->ctx->partition, c->ctx->region,
                     KMS_INTERNAL_ACCOUNT, id);
            return KMS_R_ERR;
        }

        nk = kms_new_internal_key(c);
        if (nk == NULL) {
            return KMS_R_ERR;
        }

        if (kms_w_key(c, nk, 0, 0) != 0) {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            return KMS_R_ERR;
        }

        c->pre_write = 1;
        return KMS_R_WRITE;
    }

    if (k->state == KMS_KS_UNAVAILABLE) {
        kms_fail(c, KMS_ERR_INVALID_STATE, "arn:%s:kms:%s:%s:key/%s is "
                 "unavailable.", c->ctx->partition, c->ctx->region,
                 KMS_INTERNAL_ACCOUNT, id);
        return KMS_R_ERR;
    }

    *out = k;
    return KMS_R_OK;
}


static int
kms_resolve_alias(kms_call_t *c, const char *name, const char *account,
    int flags, kms_key_t **out)
{
    kms_key_t  *k;
    char       *memo;
    size_t      n;
    int         fetched;

    if (c->internal || strcmp(account, kms_account(c)) != 0) {
        goto not_found;
    }

    k = kms_ring_alias(&c->ctx->ring, account, name);

    if (k == NULL) {
        n = strlen(account) + strlen(name) + 4;
        memo = malloc(n);
        if (memo == NULL) {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            return KMS_R_ERR;
        }
        snprintf(memo, n, "a:%s/%s", account, name);
        fetched = kms_fetched(c, memo);

        if (!fetched) {
            c->fetch_alias = memo;
            memmove(memo, memo + 2, n - 2);
            return KMS_R_FETCH;
        }
        free(memo);

        if ((flags & KMS_RES_CREATE_AWS) && strcmp(name, "alias/aws/s3") == 0)
        {
            kms_key_t  *nk;

            nk = kms_new_key(c, account, 1, "Default key that protects my S3 "
                             "objects when no other key is defined", NULL);
            if (nk == NULL) {
                return KMS_R_ERR;
            }

            nk->aliases = calloc(1, sizeof(kms_alias_t));
            if (nk->aliases == NULL
                || (nk->aliases[0].name = strdup(name)) == NULL)
            {
                kms_key_free(nk);
                kms_fail(c, KMS_ERR_INTERNAL, "%s",
                         kms_err_message(KMS_ERR_INTERNAL));
                return KMS_R_ERR;
            }
            nk->naliases = 1;
            nk->aliases[0].created_ms = nk->created_ms;
            nk->aliases[0].updated_ms = nk->created_ms;

            if (kms_w_key(c, nk, 0, 0) != 0
                || kms_w_alias(c, account, name, "absent", NULL,
                               nk->id_text) != 0
                || kms_w_account_add(c, nk) != 0)
            {
                kms_fail(c, KMS_ERR_INTERNAL, "%s",
                         kms_err_message(KMS_ERR_INTERNAL));
                return KMS_R_ERR;
            }

            c->pre_write = 1;
            return KMS_R_WRITE;
        }

        goto not_found;
    }

    if (kms_stale(c, k->id_text)) {
        memcpy(c->fetch_id, k->id_text, KMS_ID_TEXT_LEN + 1);
        return KMS_R_FETCH;
    }

    if (k->state == KMS_KS_UNAVAILABLE) {
        kms_fail(c, KMS_ERR_INVALID_STATE, "arn:%s:kms:%s:%s:key/%s is "
                 "unavailable.", c->ctx->partition, c->ctx->region, account,
                 k->id_text);
        return KMS_R_ERR;
    }

    *out = k;
    return KMS_R_OK;

not_found:

    kms_fail(c, KMS_ERR_NOT_FOUND, "Alias arn:%s:kms:%s:%s:%s is not found.",
             c->ctx->partition, c->ctx->region, account, name);
    return KMS_R_ERR;
}


int
kms_resolve(kms_call_t *c, const char *ref, int flags, kms_key_t **out)
{
    char         id[KMS_ID_TEXT_LEN + 1];
    const char  *p[6], *s, *res;
    size_t       plen[6], i;
    char         part[32], region[64], account[16];

    *out = NULL;

    if (strncmp(ref, "arn:", 4) == 0) {
        s = ref;
        for (i = 0; i < 5; i++) {
            p[i] = s;
            s = strchr(s, ':');
            if (s == NULL) {
                goto invalid;
            }
            plen[i] = (size_t) (s - p[i]);
            s++;
        }
        res = s;

        if (plen[1] >= sizeof(part) || plen[3] >= sizeof(region)
            || plen[4] != 12 || plen[2] != 3 || memcmp(p[2], "kms", 3) != 0)
        {
            goto invalid;
        }

        memcpy(part, p[1], plen[1]);
        part[plen[1]] = '\0';
        memcpy(region, p[3], plen[3]);
        region[plen[3]] = '\0';
        memcpy(account, p[4], 12);
        account[12] = '\0';

        if (strcmp(part, c->ctx->partition) != 0
            || strcmp(region, c->ctx->region) != 0)
        {
            kms_fail(c, KMS_ERR_NOT_FOUND, "Invalid arn %s", region);
            return KMS_R_ERR;
        }

        if (strncmp(res, "key/", 4) == 0) {
            if (kms_lower_uuid(res + 4, strlen(res + 4), id) != 0) {
                goto invalid;
            }
            return kms_resolve_id(c, id, account, flags, out);
        }

        if (strncmp(res, "alias/", 6) == 0 && !(flags & KMS_RES_NO_ALIAS)) {
            return kms_resolve_alias(c, res, account, flags, out);
        }

        goto invalid;
    }

    if (strncmp(ref, "alias/", 6) == 0 && !(flags & KMS_RES_NO_ALIAS)) {
        return kms_resolve_alias(c, ref, kms_account(c), flags, out);
    }

    if (kms_lower_uuid(ref, strlen(ref), id) == 0) {
        return kms_resolve_id(c, id, kms_account(c), flags, out);
    }

invalid:

    kms_fail(c, KMS_ERR_NOT_FOUND, "Invalid keyId %s", ref);
    return KMS_R_ERR;
}


kms_key_t *
kms_fetch_blob_key(kms_call_t *c, const unsigned char id[16],
    int *need_fetch)
{
    char        text[KMS_ID_TEXT_LEN + 1], memo[KMS_ID_TEXT_LEN + 3];
    kms_key_t  *k;

    *need_fetch = 0;

    /* a blob of the internal key opens for the internal calls only */
    if (kms_id_internal(id) != c->internal) {
        return NULL;
    }

    kms_uuid_text(id, text);

    k = kms_ring_key(&c->ctx->ring, text);
    if (k != NULL && !kms_stale(c, text)) {
        return k;
    }

    snprintf(memo, sizeof(memo), "k:%s", text);
    if (!kms_fetched(c, memo)) {
        memcpy(c->fetch_id, text, sizeof(text));
        *need_fetch = 1;
    }

    return NULL;
}


int
kms_authorize(kms_call_t *c, const kms_key_t *k, const char *action,
    const kms_ectx_t *ectx)
{
    kms_policy_request_t   req;
    kms_policy_decision_t  d;
    const char            *who;

    /* SSE-S3 asks no key policy (its key is nobody's) */
    if (c->internal && k->internal) {
        return 0;
    }

    memset(&req, 0, sizeof(req));
    req.action = action;
    req.principal_arn = c->caller && c->caller->arn ? c->caller->arn : "";
    req.caller_account = kms_account(c);
    req.key_arn = k->arn;
    req.via_service = c->caller ? c->caller->via_service : NULL;

    if (ectx != NULL) {
        req.ctx_keys = ectx->keys;
        req.ctx_values = ectx->values;
        req.nctx = ectx->n;
    }

    d = k->policy ? kms_policy_eval(k->policy, &req)
                  : KMS_POLICY_IMPLICIT_DENY;

    if (d == KMS_POLICY_ALLOW) {
        return 0;
    }

    who = req.principal_arn[0] ? req.principal_arn : "anonymous";

    if (d == KMS_POLICY_EXPLICIT_DENY) {
        kms_fail(c, KMS_ERR_ACCESS_DENIED, "User: %s is not authorized to "
                 "perform: %s on resource: %s with an explicit deny in a "
                 "resource-based policy", who, action, k->arn);

    } else {
        kms_fail(c, KMS_ERR_ACCESS_DENIED, "User: %s is not authorized to "
                 "perform: %s on resource: %s because no resource-based "
                 "policy allows the %s action", who, action, k->arn, action);
    }

    return -1;
}


int
kms_check_usable(kms_call_t *c, const kms_key_t *k)
{
    switch (k->state) {
    case KMS_KS_ENABLED:
        return 0;
    case KMS_KS_DISABLED:
        kms_fail(c, KMS_ERR_DISABLED, "%s is disabled.", k->arn);
        return -1;
    case KMS_KS_PENDING_DELETION:
        kms_fail(c, KMS_ERR_INVALID_STATE, "%s is pending deletion.", k->arn);
        return -1;
    default:
        kms_fail(c, KMS_ERR_INVALID_STATE, "%s is unavailable.", k->arn);
        return -1;
    }
}


kms_key_t *
kms_new_key(kms_call_t *c, const char *account, int aws_managed,
    const char *description, const char *policy)
{
    kms_key_t  *k;
    char       *pol = NULL;
    int64_t     now = c->caller ? c->caller->now_ms : c->now_ms;

    k = kms_key_new();
    if (k == NULL || kms_uuid_random(k->id) != 0 || kms_id_internal(k->id)) {
        goto failed;
    }

    kms_uuid_text(k->id, k->id_text);
    snprintf(k->account, sizeof(k->account), "%s", account);
    k->created_ms = now;
    k->state = KMS_KS_ENABLED;
    k->aws_managed = aws_managed;
    k->description = strdup(description ? description : "");

    if (k->description == NULL
        || kms_key_set_arn(k, c->ctx->partition, c->ctx->region) != 0
        || kms_key_add_version(k, c->ctx->root, now, KMS_ROT_INITIAL) != 0)
    {
        goto failed;
    }

    if (aws_managed) {
        /* AWS managed keys rotate every year, always */
        k->rot_enabled = 1;
        k->rot_period = 365;
        k->next_rot_ms = now + 365 * KMS_DAY_MS;
        pol = kms_policy_aws_managed(c->ctx->partition, account, "s3",
                                     c->ctx->region);

    } else if (policy == NULL) {
        pol = kms_policy_default(c->ctx->partition, account);
    }

    if (policy == NULL && pol == NULL) {
        goto failed;
    }

    if (kms_key_set_policy(k, policy ? policy : pol,
                           strlen(policy ? policy : pol)) != 0)
    {
        goto failed;
    }

    free(pol);
    return k;

failed:

    free(pol);
    kms_key_free(k);
    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return NULL;
}


/*
 * The internal key: an AWS-owned key of no account, rotated every year,
 * with a policy that allows nothing (no API call reaches it anyway).
 */

static const char  kms_internal_policy[] =
    "{\"Version\":\"2012-10-17\",\"Id\":\"ssek-internal\","
    "\"Statement\":[{\"Sid\":\"The gateway's internal key: SSE-S3 only\","
    "\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},"
    "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";


static kms_key_t *
kms_new_internal_key(kms_call_t *c)
{
    kms_key_t  *k;
    int64_t     now = c->caller ? c->caller->now_ms : c->now_ms;

    k = kms_key_new();
    if (k == NULL
        || kms_uuid_parse(KMS_INTERNAL_KEY_ID, KMS_ID_TEXT_LEN, k->id) != 0)
    {
        goto failed;
    }

    kms_uuid_text(k->id, k->id_text);
    snprintf(k->account, sizeof(k->account), "%s", KMS_INTERNAL_ACCOUNT);
    k->created_ms = now;
    k->state = KMS_KS_ENABLED;
    k->aws_managed = 1;
    k->internal = 1;
    k->rot_enabled = 1;
    k->rot_period = 365;
    k->next_rot_ms = now + 365 * KMS_DAY_MS;
    k->description = strdup("The S3 gateway's internal key (SSE-S3)");

    if (k->description == NULL
        || kms_key_set_arn(k, c->ctx->partition, c->ctx->region) != 0
        || kms_key_add_version(k, c->ctx->root, now, KMS_ROT_INITIAL) != 0
        || kms_key_set_policy(k, kms_internal_policy,
                              sizeof(kms_internal_policy) - 1)
           != 0)
    {
        goto failed;
    }

    kms_log(c->ctx, 2, "kms: creating the S3 gateway's internal key %s",
            k->arn);
    return k;

failed:

    kms_key_free(k);
    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return NULL;
}


/*
 * CloudTrail writes response elements in lowerCamelCase ("aWSAccountId"
 * included) with dates as "Nov 30, 2026, 11:00:00 PM"; the API answers in
 * PascalCase with epoch seconds.
 */
static void
kms_meta_name(kms_buf_t *b, int trail, const char *name)
{
    kms_buf_str(b, "\"");
    if (trail && name[0] >= 'A' && name[0] <= 'Z') {
        char  first = (char) (name[0] - 'A' + 'a');

        kms_buf_add(b, &first, 1);
        kms_buf_str(b, name + 1);
    } else {
        kms_buf_str(b, name);
    }
    kms_buf_str(b, "\":");
}


static void
kms_meta_date(kms_buf_t *b, int trail, int64_t ms)
{
    time_t     t;
    struct tm  tm;
    char       s[48];
    int        h;

    if (!trail) {
        kms_buf_date(b, ms);
        return;
    }

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);
    h = tm.tm_hour % 12;
    strftime(s, sizeof(s), "%b", &tm);
    kms_buf_fmt(b, "\"%s %d, %d, %d:%02d:%02d %s\"", s, tm.tm_mday,
                tm.tm_year + 1900, h ? h : 12, tm.tm_min, tm.tm_sec,
                tm.tm_hour < 12 ? "AM" : "PM");
}


void
kms_key_metadata_json(kms_call_t *c, kms_buf_t *b, const kms_key_t *k,
    int trail)
{
    static const char *const  names[] = {
        "AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled",
        "Description", "KeyUsage", "KeyState", "DeletionDate", "Origin",
        "KeyManager", "CustomerMasterKeySpec", "KeySpec",
        "EncryptionAlgorithms", "MultiRegion", "PendingDeletionWindowInDays",
        "CurrentKeyMaterialId"
    };
    int  pending = k->state == KMS_KS_PENDING_DELETION;

    kms_buf_str(b, "{");
    kms_meta_name(b, trail, names[0]);
    kms_buf_jstr(b, k->account);
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[1]);
    kms_buf_jstr(b, k->id_text);
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[2]);
    kms_buf_jstr(b, k->arn);
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[3]);
    kms_meta_date(b, trail, k->created_ms);
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[4]);
    kms_buf_str(b, k->state == KMS_KS_ENABLED ? "true" : "false");
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[5]);
    kms_buf_jstr(b, k->description ? k->description : "");
    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[6]);
    kms_buf_str(b, "\"ENCRYPT_DECRYPT\",");
    kms_meta_name(b, trail, names[7]);
    kms_buf_jstr(b, kms_key_state_name(k->state));

    if (pending) {
        kms_buf_str(b, ",");
        kms_meta_name(b, trail, names[8]);
        kms_meta_date(b, trail, k->deletion_ms);
    }

    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[9]);
    kms_buf_str(b, "\"AWS_KMS\",");
    kms_meta_name(b, trail, names[10]);
    kms_buf_str(b, k->aws_managed ? "\"AWS\"," : "\"CUSTOMER\",");
    kms_meta_name(b, trail, names[11]);
    kms_buf_str(b, "\"SYMMETRIC_DEFAULT\",");
    kms_meta_name(b, trail, names[12]);
    kms_buf_str(b, "\"SYMMETRIC_DEFAULT\",");
    kms_meta_name(b, trail, names[13]);
    kms_buf_str(b, "[\"SYMMETRIC_DEFAULT\"],");
    kms_meta_name(b, trail, names[14]);
    kms_buf_str(b, "false");

    if (pending) {
        kms_buf_str(b, ",");
        kms_meta_name(b, trail, names[15]);
        kms_buf_fmt(b, "%u", k->window_days);
    }

    kms_buf_str(b, ",");
    kms_meta_name(b, trail, names[16]);
    kms_buf_jstr(b, k->cur_matid);
    kms_buf_str(b, "}");
}


/* ---- load, refresh, maintain -------------------------------------------- */

/* a reload drops the keys erased while this worker was not listening */
static void
kms_load_sweep(kms_ctx_t *ctx)
{
    size_t       i;
    kms_key_t   *k, *next;

    for (i = 0; i < ctx->ring.nkeys_buckets; i++) {
        for (k = ctx->ring.keys[i]; k; k = next) {
            next = k->next;
            if (k->gen != ctx->gen) {
                kms_ring_del(&ctx->ring, k->id_text);
            }
        }
    }
}


static kms_x_t
kms_load_step(kms_call_t *c)
{
    kms_cmd_reset(c);

    switch (c->stage) {

    case 0:
        /* keys this load does not see again are gone from Redis */
        c->ctx->gen++;

        if (kms_cmd_str(c, "EVAL") != 0
            || kms_cmd_str(c, kms_script_root) != 0
            || kms_cmd_str(c, "1") != 0 || kms_cmd_str(c, "kms:root") != 0
            || kms_cmd_str(c, c->ctx->fingerprint) != 0
            || kms_cmd_seal(c) != 0)
        {
            break;
        }
        c->waiting = KMS_WAIT_ROOT;
        return KMS_X_FETCH;

    case 1:
        if (kms_cmd_str(c, "SCAN") != 0 || kms_cmd_str(c, c->cursor) != 0
            || kms_cmd_str(c, "MATCH") != 0
            || kms_cmd_str(c, "kms:key:*") != 0
            || kms_cmd_str(c, "COUNT") != 0 || kms_cmd_str(c, "500") != 0
            || kms_cmd_seal(c) != 0)
        {
            break;
        }
        c->waiting = KMS_WAIT_SCAN;
        return KMS_X_FETCH;

    case 2:
        if (kms_cmd_fetch_keys(c, c->fetch_ids, c->nfetch_ids) != 0) {
            break;
        }
        c->waiting = KMS_WAIT_KEYS;
        return KMS_X_FETCH;

    default:
        kms_load_sweep(c->ctx);
        c->ctx->state = KMS_RING_READY;
        kms_log(c->ctx, 2, "kms: key ring loaded: %zu keys, %zu aliases",
                c->ctx->ring.nkeys, c->ctx->ring.naliases);
        return KMS_X_DONE;
    }

    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return KMS_X_DONE;
}


static kms_x_t
kms_refresh_step(kms_call_t *c)
{
    if (c->stage != 0 || c->nfetch_ids == 0
        || c->ctx->state == KMS_RING_WRONG_ROOT)
    {
        return KMS_X_DONE;
    }

    kms_cmd_reset(c);
    if (kms_cmd_fetch_keys(c, c->fetch_ids, c->nfetch_ids) != 0) {
        kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
        return KMS_X_DONE;
    }

    c->waiting = KMS_WAIT_KEYS;
    return KMS_X_FETCH;
}


static void
kms_maint_audit(kms_call_t *c, const char *event, const kms_key_t *k)
{
    char  uuid[KMS_ID_TEXT_LEN + 1], req[KMS_ID_TEXT_LEN + 1];

    kms_uuid_random_text(uuid);
    kms_uuid_random_text(req);

    kms_buf_t  *b = &c->maint_audit;

    kms_buf_str(b, "{\"eventVersion\":\"1.08\",\"userIdentity\":{"
                "\"accountId\":");
    kms_buf_jstr(b, k->account);
    kms_buf_str(b, ",\"invokedBy\":\"kms.amazonaws.com\"},\"eventTime\":\"");
    kms_buf_iso(b, c->now_ms);
    kms_buf_fmt(b, "\",\"eventSource\":\"kms.amazonaws.com\",\"eventName\":"
                "\"%s\",\"awsRegion\":", event);
    kms_buf_jstr(b, c->ctx->region);
    kms_buf_str(b, ",\"sourceIPAddress\":\"kms.amazonaws.com\","
                "\"userAgent\":\"kms.amazonaws.com\","
                "\"requestParameters\":null,\"responseElements\":null,");
    if (strcmp(event, "RotateKey") == 0) {
        kms_buf_str(b, "\"additionalEventData\":{\"keyMaterialId\":");
        kms_buf_jstr(b, k->cur_matid);
        kms_buf_str(b, ",\"rotationType\":\"AUTOMATIC\"},");
    }
    kms_buf_fmt(b, "\"requestID\":\"%s\",\"eventID\":\"%s\","
                "\"readOnly\":false,\"resources\":[{\"accountId\":", req,
                uuid);
    kms_buf_jstr(b, k->account);
    kms_buf_str(b, ",\"type\":\"AWS::KMS::Key\",\"ARN\":");
    kms_buf_jstr(b, k->arn);
    kms_buf_str(b, "}],\"eventType\":\"AwsServiceEvent\","
                "\"managementEvent\":true,\"recipientAccountId\":");
    kms_buf_jstr(b, k->account);
    kms_buf_str(b, ",\"serviceEventDetails\":{\"keyId\":");
    kms_buf_jstr(b, k->id_text);
    kms_buf_str(b, "},\"eventCategory\":\"Management\"}\n");
}


static int
kms_maint_seen(kms_call_t *c, const char *id)
{
    size_t   i;
    char   **n;

    for (i = 0; i < c->ndone_ids; i++) {
        if (strcmp(c->done_ids[i], id) == 0) {
            return 1;
        }
    }

    n = realloc(c->done_ids, (c->ndone_ids + 1) * sizeof(char *));
    if (n == NULL) {
        return 1;
    }
    c->done_ids = n;
    c->done_ids[c->ndone_ids] = strdup(id);
    if (c->done_ids[c->ndone_ids] == NULL) {
        return 1;
    }
    c->ndone_ids++;
    return 0;
}


static kms_x_t
kms_maintain_step(kms_call_t *c)
{
    char        token[KMS_ID_TEXT_LEN + 1];
    size_t      i;
    kms_key_t  *k, *nk;
    int         erase, rotate;

    if (c->ctx->state != KMS_RING_READY) {
        return KMS_X_DONE;
    }

    if (c->stage == 0) {
        kms_uuid_random_text(token);

        /* kept to release the lock at the end (cursor: unused here) */
        free(c->cursor);
        c->cursor = strdup(token);
        if (c->cursor == NULL) {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            return KMS_X_DONE;
        }

        kms_cmd_reset(c);
        if (kms_cmd_str(c, "SET") != 0
            || kms_cmd_str(c, "kms:lock:maintain") != 0
            || kms_cmd_str(c, token) != 0 || kms_cmd_str(c, "NX") != 0
            || kms_cmd_str(c, "PX") != 0 || kms_cmd_str(c, "50000") != 0
            || kms_cmd_seal(c) != 0)
        {
            kms_fail(c, KMS_ERR_INTERNAL, "%s",
                     kms_err_message(KMS_ERR_INTERNAL));
            return KMS_X_DONE;
        }
        c->waiting = KMS_WAIT_LOCK;
        return KMS_X_FETCH;
    }

    if (c->stage != 1) {
        return KMS_X_DONE;              /* another worker holds the lock */
    }

    kms_w_reset(c);

    for (i = 0; i < c->ctx->ring.nkeys_buckets; i++) {
        for (k = c->ctx->ring.keys[i]; k; k = k->next) {
            erase = k->state == KMS_KS_PENDING_DELETION
                    && k->deletion_ms <= c->now_ms;
            rotate = k->state == KMS_KS_ENABLED && k->rot_enabled
                     && k->next_rot_ms != 0 && k->next_rot_ms <= c->now_ms;

            if ((!erase && !rotate) || kms_maint_seen(c, k->id_text)) {
                continue;
            }

            if (erase) {
                if (kms_w_erase(c, k) != 0) {
                    goto failed;
                }
                if (!k->internal) {
                    kms_maint_audit(c, "DeleteKey", k);
                }

            } else {
                nk = kms_key_clone(k);
                if (nk == NULL
                    || kms_key_add_version(nk, c->ctx->root, c->now_ms,
                                           KMS_ROT_AUTOMATIC) != 0)
                {
                    kms_key_free(nk);
                    goto failed;
                }

                while (nk->next_rot_ms <= c->now_ms) {
                    nk->next_rot_ms += (int64_t) nk->rot_period * KMS_DAY_MS;
                }

                if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
                    goto failed;
                }

                if (nk->internal) {
                    /* nobody's trail: the error log says it */
                    kms_log(c->ctx, 2, "kms: rotating the S3 gateway's "
                            "internal key to version %u", nk->nver);
                } else {
                    kms_maint_audit(c, "RotateKey", nk);
                }
            }

            if (kms_cmd_write(c) != 0) {
                goto failed;
            }
            c->waiting = KMS_WAIT_WRITE;
            return KMS_X_WRITE;
        }
    }

    /*
     * Done: the lock goes now, not when it expires, so that the next run
     * (here, on another worker after a restart, on another host) is not
     * kept out for its whole lifetime.  A run that fails leaves it to
     * expire.
     */

    kms_cmd_reset(c);
    if (kms_cmd_str(c, "EVAL") != 0 || kms_cmd_str(c, kms_script_unlock) != 0
        || kms_cmd_str(c, "1") != 0
        || kms_cmd_str(c, "kms:lock:maintain") != 0
        || kms_cmd_str(c, c->cursor) != 0 || kms_cmd_seal(c) != 0)
    {
        goto failed;
    }

    c->stage = 2;
    c->waiting = KMS_WAIT_UNLOCK;
    return KMS_X_FETCH;

failed:

    kms_w_reset(c);
    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return KMS_X_DONE;
}


/* ---- results ------------------------------------------------------------ */

static void
kms_finish(kms_call_t *c)
{
    if (c->finished) {
        return;
    }

    if (c->kind == KMS_KIND_LOAD || c->kind == KMS_KIND_REFRESH
        || c->kind == KMS_KIND_MAINTAIN)
    {
        if (c->err != KMS_OK) {
            kms_buf_reset(&c->body);
            kms_buf_str(&c->body, "{\"__type\":");
            kms_buf_jstr(&c->body, kms_err_type(c->err));
            kms_buf_str(&c->body, ",\"message\":");
            kms_buf_jstr(&c->body, c->errmsg ? c->errmsg : "");
            kms_buf_str(&c->body, "}");
        }
        if (c->kind == KMS_KIND_MAINTAIN) {
            kms_buf_add(&c->audit, c->maint_audit.data ? c->maint_audit.data
                                                       : "",
                        c->maint_audit.len);
            /* one line per action; the last newline is the caller's */
            if (c->audit.len && c->audit.data[c->audit.len - 1] == '\n') {
                c->audit.data[--c->audit.len] = '\0';
            }
        }
        c->status = c->err ? kms_err_status(c->err) : 200;
        goto done;
    }

    if (c->err != KMS_OK) {
        kms_buf_reset(&c->body);
        kms_buf_str(&c->body, "{\"__type\":");
        kms_buf_jstr(&c->body, kms_err_type(c->err));
        if (c->errmsg != NULL && c->errmsg[0] != '\0') {
            kms_buf_str(&c->body, ",\"message\":");
            kms_buf_jstr(&c->body, c->errmsg);
        }
        kms_buf_str(&c->body, "}");
        c->status = kms_err_status(c->err);

        if (c->plaintext != NULL) {
            OPENSSL_secure_clear_free(c->plaintext, c->ptlen);
            c->plaintext = NULL;
            c->ptlen = 0;
        }
        free(c->blob);
        c->blob = NULL;
        c->bloblen = 0;
        kms_buf_free(&c->event);

    } else {
        c->status = 200;
    }

    /* SSE-S3 leaves no record in a customer's trail */
    if (!c->internal) {
        kms_audit(c);
    }

done:

    kms_w_reset(c);
    kms_cmd_reset(c);
    c->done = 1;
    c->finished = 1;
}


kms_err_t
kms_call_error(const kms_call_t *c)
{
    return c->err;
}


int
kms_call_status(const kms_call_t *c)
{
    return c->status;
}


const char *
kms_call_body(const kms_call_t *c, size_t *len)
{
    if (len) {
        *len = c->body.len;
    }
    return c->body.data ? c->body.data : "";
}


const char *
kms_call_audit(const kms_call_t *c, size_t *len)
{
    if (len) {
        *len = c->audit.len;
    }
    return c->audit.data ? c->audit.data : "";
}


const char *
kms_call_event(const kms_call_t *c)
{
    return c->event.len ? c->event.data : NULL;
}


const char *
kms_call_log(const kms_call_t *c)
{
    return c->log;
}


const unsigned char *
kms_call_plaintext(const kms_call_t *c, size_t *len)
{
    if (len) {
        *len = c->ptlen;
    }
    return c->plaintext;
}


const unsigned char *
kms_call_blob(const kms_call_t *c, size_t *len)
{
    if (len) {
        *len = c->bloblen;
    }
    return c->blob;
}


const char *
kms_call_key_arn(const kms_call_t *c)
{
    return c->key_arn[0] ? c->key_arn : NULL;
}


void
kms_call_free(kms_call_t *c)
{
    if (c == NULL) {
        return;
    }

    kms_json_free(c->req);
    if (c->p.plaintext != NULL) {
        OPENSSL_secure_clear_free(c->p.plaintext, c->p.ptlen);
    }
    free(c->p.blob);
    kms_ectx_free(&c->p.ectx);
    kms_ectx_free(&c->p.dctx);

    free(c->errmsg);
    kms_buf_free(&c->event);
    kms_buf_free(&c->pending_body);
    kms_buf_free(&c->pending_audit_extra);
    kms_buf_free(&c->maint_audit);
    free(c->log);

    kms_cmd_reset(c);
    kms_memo_clear(c);
    free(c->fetch_alias);
    kms_ids_free(c->fetch_ids, c->nfetch_ids);
    kms_ids_free(c->done_ids, c->ndone_ids);
    kms_w_reset(c);

    if (c->plaintext != NULL) {
        OPENSSL_secure_clear_free(c->plaintext, c->ptlen);
    }
    free(c->blob);
    free(c->cursor);

    /* body, audit, resp_el and the canonical contexts: kept or freed */
    kms_call_release(c);
}


/* ---- the audit record (CloudTrail's shape) ------------------------------ */

static void
kms_audit_camel(kms_buf_t *b, const char *k, size_t n)
{
    size_t  start = b->len;

    /* escaped as any string: member names come from the client */
    kms_buf_json(b, k, n);

    if (!b->failed && n && k[0] >= 'A' && k[0] <= 'Z') {
        b->data[start + 1] = (char) (k[0] - 'A' + 'a');
    }
}


/* a request value as it came, re-escaped */
static void
kms_audit_json(kms_buf_t *b, const kms_json_t *v, int depth)
{
    const kms_json_t  *e;

    switch (v->type) {

    case KMS_JSON_STRING:
        kms_buf_json(b, v->str, v->len);
        return;

    case KMS_JSON_INTEGER:
        kms_buf_fmt(b, "%lld", v->integer);
        return;

    case KMS_JSON_REAL:
        kms_buf_fmt(b, "%.17g", v->real);
        return;

    case KMS_JSON_TRUE:
        kms_buf_str(b, "true");
        return;

    case KMS_JSON_FALSE:
        kms_buf_str(b, "false");
        return;

    case KMS_JSON_ARRAY:
    case KMS_JSON_OBJECT:
        if (depth > 8) {
            kms_buf_str(b, "null");
            return;
        }
        kms_buf_str(b, v->type == KMS_JSON_ARRAY ? "[" : "{");
        for (e = v->first; e; e = e->next) {
            if (e != v->first) {
                kms_buf_str(b, ",");
            }
            if (v->type == KMS_JSON_OBJECT) {
                kms_buf_json(b, e->key, e->klen);
                kms_buf_str(b, ":");
            }
            kms_audit_json(b, e, depth + 1);
        }
        kms_buf_str(b, v->type == KMS_JSON_ARRAY ? "]" : "}");
        return;

    default:
        kms_buf_str(b, "null");
    }
}


static void
kms_audit_time(kms_call_t *c, kms_buf_t *b, int64_t ms)
{
    kms_buf_t  t;

    /* one strftime per second, not per call */
    if (ms / 1000 != c->ctx->iso_sec) {
        kms_buf_init(&t);
        kms_buf_iso(&t, ms);
        if (t.data != NULL && t.len < sizeof(c->ctx->iso)) {
            memcpy(c->ctx->iso, t.data, t.len + 1);
            c->ctx->iso_sec = ms / 1000;
        }
        kms_buf_free(&t);
        if (ms / 1000 != c->ctx->iso_sec) {
            kms_buf_iso(b, ms);
            return;
        }
    }

    kms_buf_str(b, c->ctx->iso);
}


/*
 * requestParameters as CloudTrail logs them: the request's members in
 * lowerCamelCase, never Plaintext or CiphertextBlob.
 */
static void
kms_audit_params(kms_call_t *c, kms_buf_t *b)
{
    const kms_json_t  *v;
    int                first = 1;

    if (c->req == NULL || c->req->type != KMS_JSON_OBJECT || c->req->n == 0) {
        kms_buf_str(b, "null");
        return;
    }

    kms_buf_str(b, "{");

    for (v = c->req->first; v; v = v->next) {
        if ((v->klen == 9 && memcmp(v->key, "Plaintext", 9) == 0)
            || (v->klen == 14 && memcmp(v->key, "CiphertextBlob", 14) == 0)
            || v->klen > 100)
        {
            continue;
        }

        if (!first) {
            kms_buf_str(b, ",");
        }
        first = 0;
        kms_audit_camel(b, v->key, v->klen);
        kms_buf_str(b, ":");
        kms_audit_json(b, v, 0);
    }

    if (c->op && c->op->crypto
        && kms_json_get(c->req, "EncryptionAlgorithm") == NULL
        && strcmp(c->event_name, "GenerateRandom") != 0
        && strncmp(c->event_name, "GenerateDataKey", 15) != 0)
    {
        kms_buf_str(b, first ? "" : ",");
        kms_buf_str(b, "\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"");
    }

    kms_buf_str(b, "}");
}


static void
kms_audit(kms_call_t *c)
{
    const kms_caller_t  *cl = c->caller;
    kms_buf_t           *b = &c->audit;
    const char          *arn, *type, *acct;
    char                 uuid[KMS_ID_TEXT_LEN + 1];
    int                  gw = c->kind == KMS_KIND_GW_GDK
                              || c->kind == KMS_KIND_GW_DECRYPT;

    kms_buf_reset(b);
    (void) kms_buf_reserve(b, 2048);

    arn = cl && cl->arn ? cl->arn : "";
    acct = kms_account(c);

    if (strstr(arn, ":root") != NULL) {
        type = "Root";
    } else if (strstr(arn, ":assumed-role/") != NULL) {
        type = "AssumedRole";
    } else if (arn[0] == '\0') {
        type = "AWSAccount";
    } else {
        type = "IAMUser";
    }

    kms_buf_str(b, "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":");
    kms_buf_jstr(b, type);
    kms_buf_str(b, ",\"principalId\":");
    kms_buf_jstr(b, cl && cl->access_key_id ? cl->access_key_id : acct);
    kms_buf_str(b, ",\"arn\":");
    kms_buf_jstr(b, arn);
    kms_buf_str(b, ",\"accountId\":");
    kms_buf_jstr(b, acct);
    kms_buf_str(b, ",\"accessKeyId\":");
    kms_buf_jstr(b, cl && cl->access_key_id ? cl->access_key_id : "");
    if (gw || (cl && cl->via_service)) {
        kms_buf_str(b, ",\"invokedBy\":\"s3.amazonaws.com\"");
    }
    kms_buf_str(b, "},\"eventTime\":\"");
    kms_audit_time(c, b, cl ? cl->now_ms : 0);
    kms_buf_str(b, "\",\"eventSource\":\"kms.amazonaws.com\",\"eventName\":");
    kms_buf_jstr(b, c->event_name);
    kms_buf_str(b, ",\"awsRegion\":");
    kms_buf_jstr(b, c->ctx->region);
    kms_buf_str(b, ",\"sourceIPAddress\":");
    kms_buf_jstr(b, gw ? "s3.amazonaws.com"
                       : cl && cl->source_ip ? cl->source_ip : "");
    kms_buf_str(b, ",\"userAgent\":");
    kms_buf_jstr(b, gw ? "s3.amazonaws.com"
                       : cl && cl->user_agent ? cl->user_agent : "");

    if (c->err != KMS_OK) {
        kms_buf_str(b, ",\"errorCode\":");
        kms_buf_jstr(b, kms_err_type(c->err));
        kms_buf_str(b, ",\"errorMessage\":");
        kms_buf_jstr(b, c->errmsg ? c->errmsg : "");
    }

    kms_buf_str(b, ",\"requestParameters\":");
    kms_audit_params(c, b);

    kms_buf_str(b, ",\"responseElements\":");
    if (c->err == KMS_OK && c->resp_el.len && !(c->op && c->op->crypto)) {
        kms_buf_add(b, c->resp_el.data, c->resp_el.len);
    } else {
        kms_buf_str(b, "null");
    }

    kms_buf_str(b, ",\"requestID\":");
    if (cl && cl->request_id) {
        kms_buf_jstr(b, cl->request_id);
    } else {
        kms_uuid_random_text(uuid);
        kms_buf_jstr(b, uuid);
    }

    {
        unsigned char  r[KMS_ID_LEN];

        if (kms_ctx_id(c->ctx, r, sizeof(r)) != 0) {
            memset(r, 0, sizeof(r));
        }
        r[6] = (r[6] & 0x0f) | 0x40;
        r[8] = (r[8] & 0x3f) | 0x80;
        kms_uuid_text(r, uuid);
    }
    kms_buf_str(b, ",\"eventID\":\"");
    kms_buf_add(b, uuid, KMS_ID_TEXT_LEN);
    kms_buf_str(b, c->op && c->op->read_only ? "\",\"readOnly\":true"
                                             : "\",\"readOnly\":false");

    if (c->res_arn[0]) {
        kms_buf_str(b, ",\"resources\":[{\"accountId\":");
        kms_buf_jstr(b, c->res_account);
        kms_buf_str(b, ",\"type\":\"AWS::KMS::Key\",\"ARN\":");
        kms_buf_jstr(b, c->res_arn);
        kms_buf_str(b, "}]");
    }

    kms_buf_str(b, ",\"eventType\":\"AwsApiCall\",\"managementEvent\":true,"
                "\"recipientAccountId\":");
    kms_buf_jstr(b, c->res_account[0] ? c->res_account : acct);
    kms_buf_str(b, ",\"eventCategory\":\"Management\"}");
}
