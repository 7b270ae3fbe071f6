
/*
 * Bucket default encryption, S3 Bucket Keys, and the index entries of
 * DeleteObjects.
 *
 * PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption: the
 * gateway keeps a bucket's default in Redis, ssek:bucket:{BUCKET} (the
 * backend never sees it), after a read of the bucket's location at the
 * backend (so a bucket that does not exist gets the backend's
 * NoSuchBucket).  A KMS key named there is checked as a PUT would use it:
 * a GenerateDataKey under the bucket's ARN, audited.  A bucket without a
 * default answers the location's s3_kms_default_encryption, else SSE-S3
 * (AES256), as S3 does since 2023.
 *
 * Requests without SSE headers read the bucket's default from Redis on
 * every request (one HMGET: a change applies at once on every worker and
 * host, nothing to invalidate), then the location's.
 *
 * S3 Bucket Keys (DESIGN.md sections 3 and 5): a bucket key is a data key
 * from KMS GenerateDataKey with the context aws:s3:arn = the bucket's ARN
 * (plus the client's pairs); each object's key is derived from it with
 * the object's ARN and a random salt.  A bucket key is reused for
 * s3_kms_bucket_key_lifetime per (requester, KMS key ARN, context), as
 * S3 fetches one at least once per requester so that KMS authorizes and
 * audits each: in the worker's memory (the keys in the secure heap, wiped
 * when they expire) and in the Redis data-key cache ssek:dk:HASH shared by
 * workers and hosts, with
 *
 *   HASH  = HMAC-SHA256(cache key, "bucket key" 0x00 principal ARN 0x00
 *           KMS key ARN 0x00 context JSON), hex
 *   value = 0x01 || IV (12) || AES-256-GCM(cache key, IV, AAD = "KMS1
 *           cache" || HASH (32 bytes), BE64(created, ms) || bucket key
 *           (32) || BE16(ARN length) || key ARN || blob) || tag (16)
 *
 * and the cache key HKDF-SHA256(root key, "KMS1 cache").  Before a cached
 * bucket key is used, the KMS key's state is read from the worker's key
 * ring (refreshed on kms:events): a disabled key stops new objects at
 * once; anything the ring cannot vouch for goes to KMS.
 */


#include "ngx_http_s3_kms_gateway.h"


#define NGX_HTTP_S3_KMS_BK_ENTRIES     256
#define NGX_HTTP_S3_KMS_BK_BLOB_MAX    256
#define NGX_HTTP_S3_KMS_BK_ARN_MAX     256
#define NGX_HTTP_S3_KMS_BK_VERSION     1
#define NGX_HTTP_S3_KMS_BK_IV_LEN      12
#define NGX_HTTP_S3_KMS_BK_AAD         "KMS1 cache"
#define NGX_HTTP_S3_KMS_BK_PT_MAX      (8 + 32 + 2 + NGX_HTTP_S3_KMS_BK_ARN_MAX \
                                        + NGX_HTTP_S3_KMS_BK_BLOB_MAX)
#define NGX_HTTP_S3_KMS_BK_LIFETIME    600000
#define NGX_HTTP_S3_KMS_BUCKET_ARN_MAX 128

/* PutBucketEncryption: the body as sent (aws-chunked may wrap it) */
#define NGX_HTTP_S3_KMS_SSE_BODY_MAX   (S3_XML_SSE_CONFIG_MAX_LEN + 16384)


typedef struct {
    u_char                       hash[32];
    u_char                      *key;          /* 32 bytes, secure heap */
    u_char                       blob[NGX_HTTP_S3_KMS_BK_BLOB_MAX];
    size_t                       blob_len;
    char                         arn[NGX_HTTP_S3_KMS_BK_ARN_MAX];
    int64_t                      created;      /* ms, wall clock */
    int64_t                      expires;
    ngx_uint_t                   used;
} ngx_http_s3_kms_bk_entry_t;


struct ngx_http_s3_kms_bk_cache_s {
    ngx_http_s3_kms_bk_entry_t   entries[NGX_HTTP_S3_KMS_BK_ENTRIES];
    u_char                      *secret;       /* cache key, then the keys */
    ngx_uint_t                   n;
    ngx_event_t                  sweep;
    ngx_http_s3_kms_worker_t    *worker;
};


struct ngx_http_s3_kms_bkt_s {
    ngx_http_s3_kms_bucket_next_pt  next;      /* bucket_default() */

    char                         arn[NGX_HTTP_S3_KMS_BUCKET_ARN_MAX];
    size_t                       arn_len;

    /* PutBucketEncryption */
    s3_xml_sse_config_t         *config;

    /* a bucket key, and what the object's key is for */
    ngx_http_s3_kms_bucket_key_pt  use;
    char                        *key_ref;      /* NULL: alias/aws/s3 */
    char                        *context;
    char                         key_arn[NGX_HTTP_S3_KMS_BK_ARN_MAX];
    u_char                       hash[32];

    /* DeleteObjects: the index entries of its keys */
    ngx_str_t                   *del;
    ngx_uint_t                   ndel;
};


static ngx_http_s3_kms_bkt_t *ngx_http_s3_kms_bucket_state(
    ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_bucket_redis_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *out);
static void ngx_http_s3_kms_bucket_default_reply(void *data,
    redisReply *reply);
static void ngx_http_s3_kms_bucket_apply(ngx_http_request_t *r,
    s3_sse_t *sse, s3_sse_mode_t mode, u_char *key, size_t key_len,
    ngx_uint_t bucket_key);
static void ngx_http_s3_kms_bucket_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_bucket_check(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_bucket_get(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_bucket_get_reply(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_bucket_delete(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_bucket_put_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_bucket_put_key_done(ngx_http_s3_kms_run_t *run);
static ngx_int_t ngx_http_s3_kms_bucket_put_write(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_bucket_written_reply(void *data,
    redisReply *reply);
static void ngx_http_s3_kms_bucket_logged(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_bucket_key_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bkt_t *bkt);
static ngx_int_t ngx_http_s3_kms_bucket_key_gdk(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_bucket_key_gdk_done(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_bucket_key_reply(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_bucket_put_use(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *dek, const u_char *blob,
    size_t blen, const char *key_arn);
static ngx_int_t ngx_http_s3_kms_bucket_key_use(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *bucket_key,
    const u_char *blob, size_t blen, const char *key_arn);
static ngx_http_s3_kms_bk_cache_t *ngx_http_s3_kms_bk_cache(
    ngx_http_s3_kms_worker_t *w);
static ngx_int_t ngx_http_s3_kms_bk_hash(ngx_http_s3_kms_bk_cache_t *c,
    const char *principal, const char *key_arn, const char *context,
    u_char *hash);
static ngx_http_s3_kms_bk_entry_t *ngx_http_s3_kms_bk_find(
    ngx_http_s3_kms_bk_cache_t *c, const u_char *hash, int64_t now,
    ngx_msec_t lifetime);
static ngx_http_s3_kms_bk_entry_t *ngx_http_s3_kms_bk_insert(
    ngx_http_s3_kms_bk_cache_t *c, const u_char *hash, const u_char *key,
    const u_char *blob, size_t blen, const char *arn, int64_t created,
    ngx_msec_t lifetime);
static void ngx_http_s3_kms_bk_store(ngx_http_s3_kms_bk_cache_t *c,
    ngx_http_s3_kms_bk_entry_t *e, ngx_msec_t lifetime, ngx_log_t *log);
static ngx_int_t ngx_http_s3_kms_bk_open(ngx_http_s3_kms_bk_cache_t *c,
    const u_char *hash, const u_char *value, size_t len, u_char *key,
    u_char *blob, size_t *blen, char *arn, int64_t *created);
static void ngx_http_s3_kms_bk_drop(ngx_http_s3_kms_bk_cache_t *c,
    ngx_http_s3_kms_bk_entry_t *e);
static void ngx_http_s3_kms_bk_sweep(ngx_event_t *ev);
static void ngx_http_s3_kms_bk_dk_name(const u_char *hash, u_char *name);
static int64_t ngx_http_s3_kms_bk_now(void);


/* ---- configuration ------------------------------------------------------------- */

/*
 * s3_kms_default_encryption aws:kms [KEY] [bucket_key] | AES256 | off;
 */

char *
ngx_http_s3_kms_default_encryption(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lcf->default_sse != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    lcf->default_bucket_key = 0;
    ngx_str_null(&lcf->default_key);

    if (ngx_strcmp(value[1].data, "off") == 0
        || ngx_strcmp(value[1].data, "AES256") == 0)
    {
        if (cf->args->nelts != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" directive: \"%V\" takes no "
                               "parameters", &cmd->name, &value[1]);
            return NGX_CONF_ERROR;
        }

        lcf->default_sse = value[1].data[0] == 'o' ? S3_SSE_NONE
                                                   : S3_SSE_AES256;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "aws:kms") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive: invalid algorithm \"%V\": "
                           "aws:kms, AES256 or off", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->default_sse = S3_SSE_KMS;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "bucket_key") == 0
            && !lcf->default_bucket_key)
        {
            lcf->default_bucket_key = 1;
            continue;
        }

        if (i == 2 && value[i].len > 0
            && value[i].len <= S3_XML_KMS_KEY_MAX)
        {
            lcf->default_key = value[i];     /* NUL-terminated */
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive: invalid parameter \"%V\"",
                           &cmd->name, &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void
ngx_http_s3_kms_bucket_create_conf(ngx_http_s3_kms_loc_conf_t *lcf)
{
    lcf->default_sse = NGX_CONF_UNSET_UINT;
    lcf->default_bucket_key = NGX_CONF_UNSET;
    lcf->bucket_key_lifetime = NGX_CONF_UNSET_MSEC;
}


char *
ngx_http_s3_kms_bucket_merge_conf(ngx_conf_t *cf,
    ngx_http_s3_kms_loc_conf_t *prev, ngx_http_s3_kms_loc_conf_t *conf)
{
    if (conf->default_sse == NGX_CONF_UNSET_UINT) {
        conf->default_sse = prev->default_sse;
        conf->default_key = prev->default_key;
        conf->default_bucket_key = prev->default_bucket_key;
    }

    ngx_conf_init_uint_value(conf->default_sse, S3_SSE_NONE);
    ngx_conf_init_value(conf->default_bucket_key, 0);

    ngx_conf_merge_msec_value(conf->bucket_key_lifetime,
                              prev->bucket_key_lifetime,
                              NGX_HTTP_S3_KMS_BK_LIFETIME);

    if (conf->bucket_key_lifetime < 1000
        || conf->bucket_key_lifetime > 86400000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"s3_kms_bucket_key_lifetime\" must be from 1s "
                           "to 24h");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ---- the request's state --------------------------------------------------------- */

static ngx_http_s3_kms_bkt_t *
ngx_http_s3_kms_bucket_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_bkt_t  *bkt;
    s3_str_t                b;

    if (ctx->bkt != NULL) {
        return ctx->bkt;
    }

    bkt = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_bkt_t));
    if (bkt == NULL) {
        return NULL;
    }

    b.data = ctx->bucket.data;
    b.len = ctx->bucket.len;

    bkt->arn_len = s3_arn_bucket(bkt->arn, sizeof(bkt->arn), b);

    if (bkt->arn_len >= sizeof(bkt->arn)) {
        return NULL;            /* bucket names are 63 bytes at most */
    }

    ctx->bkt = bkt;

    return bkt;
}


/* ssek:bucket:{BUCKET} */

static ngx_int_t
ngx_http_s3_kms_bucket_redis_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *out)
{
    out->len = sizeof("ssek:bucket:{}") - 1 + ctx->bucket.len;
    out->data = ngx_pnalloc(r->pool, out->len);

    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(out->data, "ssek:bucket:{%V}", &ctx->bucket);

    return NGX_OK;
}


/* ---- the default of a request without SSE headers -------------------------------- */

ngx_int_t
ngx_http_s3_kms_bucket_default(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bucket_next_pt next)
{
    const char                   *argv[5];
    size_t                        argvlen[5];
    ngx_str_t                     key;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ctx->sse->mode == S3_SSE_AES256
        || (ctx->sse->mode == S3_SSE_KMS && ctx->sse->bucket_key != -1))
    {
        return next(r, ctx);    /* the request says everything */
    }

    bkt = ngx_http_s3_kms_bucket_state(r, ctx);

    if (bkt == NULL
        || ngx_http_s3_kms_bucket_redis_key(r, ctx, &key) != NGX_OK)
    {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    argv[2] = "alg";
    argvlen[2] = 3;
    argv[3] = "key";
    argvlen[3] = 3;
    argv[4] = "bk";
    argvlen[4] = 2;

    bkt->next = next;

    ctx->redis_req = ngx_http_s3_kms_redis_send(mcf->worker->redis, 5, argv,
                                      argvlen,
                                      ngx_http_s3_kms_bucket_default_reply, r);

    if (ctx->redis_req == NULL) {

        /* never a weaker default than the bucket's: refused instead */

        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_s3_kms_bucket_default_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;

    ngx_int_t                    rc;
    redisReply                  *alg, *key, *bk;
    s3_sse_mode_t                mode;
    ngx_connection_t            *c;
    ngx_http_s3_kms_gw_ctx_t    *ctx;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    ctx->redis_req = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3)
    {
        ctx->error.reason = "Redis did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        goto done;
    }

    alg = reply->element[0];
    key = reply->element[1];
    bk = reply->element[2];

    if (alg->type == REDIS_REPLY_STRING) {

        /* the bucket's own */

        mode = (alg->len == 7 && ngx_strncmp(alg->str, "aws:kms", 7) == 0)
               ? S3_SSE_KMS : S3_SSE_AES256;

        ngx_http_s3_kms_bucket_apply(r, ctx->sse, mode,
                               key->type == REDIS_REPLY_STRING
                               ? (u_char *) key->str : NULL,
                               key->type == REDIS_REPLY_STRING ? key->len : 0,
                               bk->type == REDIS_REPLY_STRING && bk->len == 1
                               && bk->str[0] == '1');

    } else if (lcf->default_sse != S3_SSE_NONE) {
        ngx_http_s3_kms_bucket_apply(r, ctx->sse,
                                     (s3_sse_mode_t) lcf->default_sse,
                                     lcf->default_key.data,
                                     lcf->default_key.len,
                                     lcf->default_bucket_key);
    }

    if (ctx->sse->mode == S3_SSE_KMS && ctx->sse->has_key_id
        && ctx->sse->key_id.data == NULL)
    {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    }

done:

    rc = (ctx->error.err != S3_OK) ? NGX_ERROR : ctx->bkt->next(r, ctx);

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_s3_kms_bucket_apply(ngx_http_request_t *r, s3_sse_t *sse,
    s3_sse_mode_t mode, u_char *key, size_t key_len, ngx_uint_t bucket_key)
{
    u_char  *p;

    if (sse->mode == S3_SSE_KMS) {
        /* aws:kms asked without -bucket-key-enabled: the bucket's says */
        sse->bucket_key = bucket_key ? 1 : 0;
        return;
    }

    sse->mode = mode;

    if (mode != S3_SSE_KMS) {
        return;
    }

    /* a -bucket-key-enabled header sent without the SSE one stands */

    if (sse->bucket_key == -1) {
        sse->bucket_key = bucket_key ? 1 : 0;
    }

    if (key_len == 0) {
        return;                 /* alias/aws/s3 */
    }

    p = ngx_pnalloc(r->pool, key_len + 1);

    sse->has_key_id = 1;
    sse->key_id.data = p;
    sse->key_id.len = key_len;

    if (p != NULL) {
        ngx_memcpy(p, key, key_len);
        p[key_len] = '\0';
    }
}


/* ---- PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption ------- */

ngx_int_t
ngx_http_s3_kms_bucket_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_http_s3_kms_bucket_state(r, ctx) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->s3->op == S3_OP_PUT_BUCKET_ENCRYPTION) {

        /*
         * The document first: a bad one is refused before the backend is
         * asked anything.  Reading holds a reference of its own, which
         * the end of the operation releases: the handler's goes now.
         */

        return ngx_http_s3_kms_membody_read(r, NGX_HTTP_S3_KMS_SSE_BODY_MAX,
                                            ngx_http_s3_kms_bucket_put_body);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_s3_kms_bucket_check(r, ctx);
}


static void
ngx_http_s3_kms_bucket_put_body(ngx_http_request_t *r)
{
    u_char                    *body;
    size_t                     len;
    s3_err_t                   rc;
    ngx_int_t                  n;
    s3_error_t                 e;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx->mem.too_big) {
        ctx->error.reason = "encryption configuration too large";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_MAX_MESSAGE_LENGTH, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (ngx_http_s3_kms_gw_body_decode(r, ctx, &body, &len) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    ctx->bkt->config = ngx_palloc(r->pool, sizeof(s3_xml_sse_config_t));
    if (ctx->bkt->config == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(&e, sizeof(s3_error_t));

    rc = s3_xml_sse_config_parse(body, len, ctx->bkt->config, &e);

    if (rc != S3_OK) {
        ctx->error = e;
        ngx_http_s3_kms_gw_fail(r, ctx, rc, e.message);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    n = ngx_http_s3_kms_bucket_check(r, ctx);

    if (n != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, n);
    }
}


/*
 * Does the bucket exist at the backend?  GET /BUCKET?location in the
 * probe subrequest, its answer kept whole: ngx_http_s3_kms_bucket_checked()
 * goes on.
 */

static ngx_int_t
ngx_http_s3_kms_bucket_check(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_set(&ctx->be_query, "location");
    ctx->listing = 1;

    if (ngx_http_s3_kms_gw_probe(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_AGAIN;
}


void
ngx_http_s3_kms_bucket_checked(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->listing = 0;

    if (ctx->list_status == 0) {
        ctx->error.reason = "the backend did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (ctx->list_status != NGX_HTTP_OK) {
        /* NoSuchBucket, AccessDenied, ...: the backend's answer */
        ngx_http_s3_kms_gw_send_xml(r, ctx, ctx->list_status,
                                    ctx->list_data, ctx->list_len);
        return;
    }

    switch (ctx->s3->op) {

    case S3_OP_GET_BUCKET_ENCRYPTION:
        rc = ngx_http_s3_kms_bucket_get(r, ctx);
        break;

    case S3_OP_DELETE_BUCKET_ENCRYPTION:
        rc = ngx_http_s3_kms_bucket_delete(r, ctx);
        break;

    default:
        rc = ngx_http_s3_kms_bucket_put_key(r, ctx);
        break;
    }

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }
}


static ngx_int_t
ngx_http_s3_kms_bucket_get(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[8];
    size_t                        argvlen[8];
    ngx_str_t                     key;
    ngx_uint_t                    i;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static const char            *fields[] = {
        "alg", "key", "bk", "default", "blocked", "has_bk"
    };

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_bucket_redis_key(r, ctx, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;

    for (i = 0; i < 6; i++) {
        argv[2 + i] = fields[i];
        argvlen[2 + i] = ngx_strlen(fields[i]);
    }

    ctx->redis_req = ngx_http_s3_kms_redis_send(mcf->worker->redis, 8, argv,
                                         argvlen,
                                         ngx_http_s3_kms_bucket_get_reply, r);

    if (ctx->redis_req == NULL) {
        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_s3_kms_bucket_get_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;

    u_char                      *out;
    size_t                       len;
    redisReply                  *el;
    ngx_connection_t            *c;
    s3_xml_sse_config_t         *conf;
    ngx_http_s3_kms_gw_ctx_t    *ctx;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    ctx->redis_req = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 6)
    {
        ctx->error.reason = "Redis did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        goto done;
    }

    conf = ngx_pcalloc(r->pool, sizeof(s3_xml_sse_config_t));
    if (conf == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        goto done;
    }

#define field_is(n, lit)                                                   \
    (reply->element[n]->type == REDIS_REPLY_STRING                          \
     && reply->element[n]->len == sizeof(lit) - 1                           \
     && ngx_strncmp(reply->element[n]->str, lit, sizeof(lit) - 1) == 0)

    conf->algorithm = S3_XML_SSE_AES256;
    conf->has_default = 1;

    if (reply->element[0]->type == REDIS_REPLY_STRING) {

        /* the bucket's own configuration */

        if (field_is(0, "aws:kms")) {
            conf->algorithm = S3_XML_SSE_KMS;
        }

        el = reply->element[1];

        if (el->type == REDIS_REPLY_STRING && el->len
            && el->len <= S3_XML_KMS_KEY_MAX)
        {
            ngx_memcpy(conf->key_id, el->str, el->len);
            conf->key_id[el->len] = '\0';
            conf->key_id_len = el->len;
        }

        conf->bucket_key = field_is(2, "1");
        conf->has_default = !field_is(3, "0");
        conf->has_bucket_key = field_is(5, "1");

        el = reply->element[4];

        if (el->type == REDIS_REPLY_STRING && el->len) {
            conf->has_blocked = 1;
            conf->blocked_none = ngx_strlcasestrn((u_char *) el->str,
                                                  (u_char *) el->str + el->len,
                                                  (u_char *) "NONE", 4 - 1)
                                 != NULL;
            conf->blocked_sse_c = ngx_strlcasestrn((u_char *) el->str,
                                                (u_char *) el->str + el->len,
                                                (u_char *) "SSE-C", 5 - 1)
                                  != NULL;
        }

    } else if (lcf->default_sse == S3_SSE_KMS) {

        /* the location's */

        conf->algorithm = S3_XML_SSE_KMS;
        conf->bucket_key = lcf->default_bucket_key ? 1 : 0;

        if (lcf->default_key.len) {
            ngx_memcpy(conf->key_id, lcf->default_key.data,
                       lcf->default_key.len);
            conf->key_id[lcf->default_key.len] = '\0';
            conf->key_id_len = lcf->default_key.len;
        }
    }

    /* else S3's own default since 2023: AES256, no bucket key */

#undef field_is

    len = s3_xml_sse_config_write(NULL, 0, conf);

    out = ngx_pnalloc(r->pool, len + 1);
    if (out == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        goto done;
    }

    (void) s3_xml_sse_config_write(out, len + 1, conf);

    ngx_http_s3_kms_gw_send_xml(r, ctx, NGX_HTTP_OK, out, len);

done:

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_s3_kms_bucket_delete(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_str_t                     key;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_bucket_redis_key(r, ctx, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;

    ctx->redis_req = ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv,
                                     argvlen,
                                     ngx_http_s3_kms_bucket_written_reply, r);

    if (ctx->redis_req == NULL) {
        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * PutBucketEncryption with aws:kms: the key is resolved and checked as a
 * PutObject would use it (policy, state), by a GenerateDataKey under the
 * bucket's ARN; with Bucket Keys on, that key is the caller's first
 * bucket key.
 */

static ngx_int_t
ngx_http_s3_kms_bucket_put_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    kms_call_t                   *call;
    s3_xml_sse_config_t          *conf;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_worker_t     *w;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    w = mcf->worker;
    bkt = ctx->bkt;
    conf = bkt->config;

    if (conf->algorithm != S3_XML_SSE_KMS) {
        return ngx_http_s3_kms_bucket_put_write(r, ctx);
    }

    if (kms_ctx_state(w->kms) != KMS_RING_READY || !w->subscribed) {
        ctx->error.reason = "the key store is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    bkt->key_ref = conf->key_id_len ? conf->key_id : NULL;

    if (ngx_http_s3_kms_gw_context(r, ctx, NULL, 0, bkt->arn, bkt->arn_len,
                                   &bkt->context)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    call = kms_call_generate_data_key(w->kms, &ctx->caller, bkt->key_ref,
                                      bkt->context, 32);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_gw_kms_start(r, ctx, call,
                                        ngx_http_s3_kms_bucket_put_key_done);
}


static void
ngx_http_s3_kms_bucket_put_key_done(ngx_http_s3_kms_run_t *run)
{
    ngx_http_request_t  *r = run->data;

    size_t                        len, blen;
    ngx_int_t                     rc;
    kms_err_t                     err;
    ngx_uint_t                    async;
    ngx_connection_t             *c;
    const unsigned char          *dk, *blob;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_gw_ctx_t     *ctx;
    ngx_http_s3_kms_bk_cache_t   *cache;
    ngx_http_s3_kms_bk_entry_t   *e;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    async = run->async;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    bkt = ctx->bkt;

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                kms_call_log(run->call));
        rc = NGX_ERROR;
        goto done;
    }

    dk = kms_call_plaintext(run->call, &len);
    blob = kms_call_blob(run->call, &blen);

    if (bkt->config->bucket_key && dk != NULL && len == 32 && blob != NULL) {

        /* the caller's first bucket key of this bucket (no client pairs) */

        cache = ngx_http_s3_kms_bk_cache(mcf->worker);

        if (cache != NULL
            && ngx_http_s3_kms_bk_hash(cache, ctx->cred->arn,
                                       kms_call_key_arn(run->call),
                                       bkt->context, bkt->hash)
               == NGX_OK)
        {
            e = ngx_http_s3_kms_bk_insert(cache, bkt->hash, dk, blob, blen,
                                          kms_call_key_arn(run->call),
                                          ngx_http_s3_kms_bk_now(),
                                          lcf->bucket_key_lifetime);
            if (e != NULL) {
                ngx_http_s3_kms_bk_store(cache, e, lcf->bucket_key_lifetime,
                                         c->log);
            }
        }
    }

    rc = ngx_http_s3_kms_bucket_put_write(r, ctx);

done:

    kms_call_free(run->call);          /* wipes the data key */
    run->call = NULL;

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


/* every field written: nothing of an older configuration stays */

static ngx_int_t
ngx_http_s3_kms_bucket_put_write(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[14], *blocked;
    size_t                        argvlen[14];
    ngx_str_t                     key;
    ngx_uint_t                    n;
    s3_xml_sse_config_t          *conf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    conf = ctx->bkt->config;

    if (ngx_http_s3_kms_bucket_redis_key(r, ctx, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    blocked = conf->blocked_none && conf->blocked_sse_c ? "NONE,SSE-C"
              : conf->blocked_none ? "NONE"
              : conf->blocked_sse_c ? "SSE-C"
              : conf->has_blocked ? "-" : "";

    n = 0;
#define arg(s, l)  argv[n] = (const char *) (s); argvlen[n++] = (l)

    arg("HSET", 4);
    arg(key.data, key.len);
    arg("alg", 3);
    arg(conf->algorithm == S3_XML_SSE_KMS ? "aws:kms" : "AES256",
        conf->algorithm == S3_XML_SSE_KMS ? 7 : 6);
    arg("key", 3);
    arg(conf->key_id, conf->key_id_len);
    arg("bk", 2);
    arg(conf->bucket_key ? "1" : "0", 1);
    arg("has_bk", 6);
    arg(conf->has_bucket_key ? "1" : "0", 1);
    arg("default", 7);
    arg(conf->has_default ? "1" : "0", 1);
    arg("blocked", 7);
    arg(blocked, ngx_strlen(blocked));
#undef arg

    ctx->redis_req = ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n,
                                     argv, argvlen,
                                     ngx_http_s3_kms_bucket_written_reply, r);

    if (ctx->redis_req == NULL) {
        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* PutBucketEncryption answers 200, DeleteBucketEncryption 204, no body */

static void
ngx_http_s3_kms_bucket_written_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;

    ngx_connection_t          *c;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    ctx->redis_req = NULL;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ctx->error.reason = "the bucket's configuration was not written";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);

    } else {
        ngx_http_s3_kms_gw_send_xml(r, ctx,
                                    ctx->s3->op
                                    == S3_OP_DELETE_BUCKET_ENCRYPTION
                                    ? NGX_HTTP_NO_CONTENT : NGX_HTTP_OK,
                                    NULL, 0);
    }

    ngx_http_run_posted_requests(c);
}


/* a write no request waits for */

static void
ngx_http_s3_kms_bucket_logged(void *data, redisReply *reply)
{
    ngx_http_s3_kms_worker_t  *w = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "s3_kms: a Redis write of the gateway failed: %s",
                      reply ? reply->str : "no answer");
    }
}


/* ---- S3 Bucket Keys: writes ------------------------------------------------------ */

ngx_int_t
ngx_http_s3_kms_bucket_key_put(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    return ngx_http_s3_kms_bucket_key(r, ctx, ngx_http_s3_kms_bucket_put_use);
}


static ngx_int_t
ngx_http_s3_kms_bucket_put_use(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *dek, const u_char *blob,
    size_t blen, const char *key_arn)
{
    ngx_int_t  rc;

    rc = ngx_http_s3_kms_gw_put_prepare(r, ctx, dek, blob, blen, key_arn);

    return rc == NGX_OK ? ngx_http_s3_kms_be_start(r, ctx) : rc;
}


ngx_int_t
ngx_http_s3_kms_bucket_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bucket_key_pt use)
{
    u_char                        name[sizeof("ssek:dk:") - 1 + 64];
    const char                   *argv[2];
    size_t                        argvlen[2];
    kms_err_t                     err;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_worker_t     *w;
    ngx_http_s3_kms_bk_cache_t   *cache;
    ngx_http_s3_kms_bk_entry_t   *e;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    w = mcf->worker;

    bkt = ngx_http_s3_kms_bucket_state(r, ctx);

    if (bkt == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    bkt->use = use;

    if (ngx_http_s3_kms_bucket_key_context(r, ctx, bkt) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a key the ring says may be used: a bucket key of this requester */

    err = kms_ctx_key_usable(w->kms, ctx->cred->account, bkt->key_ref,
                             bkt->key_arn, sizeof(bkt->key_arn));

    cache = ngx_http_s3_kms_bk_cache(w);

    if (err != KMS_OK || cache == NULL
        || ngx_http_s3_kms_bk_hash(cache, ctx->cred->arn, bkt->key_arn,
                                   bkt->context, bkt->hash)
           != NGX_OK)
    {
        return ngx_http_s3_kms_bucket_key_gdk(r, ctx);
    }

    e = ngx_http_s3_kms_bk_find(cache, bkt->hash, ngx_http_s3_kms_bk_now(),
                                lcf->bucket_key_lifetime);

    if (e != NULL) {
        return ngx_http_s3_kms_bucket_key_use(r, ctx, e->key, e->blob,
                                              e->blob_len, e->arn);
    }

    /* another worker's or host's, in Redis */

    ngx_http_s3_kms_bk_dk_name(bkt->hash, name);

    argv[0] = "GET";
    argvlen[0] = 3;
    argv[1] = (const char *) name;
    argvlen[1] = sizeof(name);

    ctx->redis_req = ngx_http_s3_kms_redis_send(w->redis, 2, argv, argvlen,
                                        ngx_http_s3_kms_bucket_key_reply, r);

    if (ctx->redis_req == NULL) {
        return ngx_http_s3_kms_bucket_key_gdk(r, ctx);
    }

    return NGX_AGAIN;
}


/* the context of a bucket key: the bucket's ARN and the client's pairs */

static ngx_int_t
ngx_http_s3_kms_bucket_key_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bkt_t *bkt)
{
    if (ngx_http_s3_kms_gw_context(r, ctx, ctx->sse->ctx.json.data,
                                   ctx->sse->ctx.json.len, bkt->arn,
                                   bkt->arn_len, &bkt->context)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    bkt->key_ref = NULL;

    if (ctx->sse->has_key_id) {
        bkt->key_ref = ngx_pnalloc(r->pool, ctx->sse->key_id.len + 1);
        if (bkt->key_ref == NULL) {
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
            return NGX_ERROR;
        }

        ngx_memcpy(bkt->key_ref, ctx->sse->key_id.data,
                   ctx->sse->key_id.len);
        bkt->key_ref[ctx->sse->key_id.len] = '\0';
    }

    return NGX_OK;
}


static void
ngx_http_s3_kms_bucket_key_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;

    u_char                        key[32], blob[NGX_HTTP_S3_KMS_BK_BLOB_MAX];
    char                          arn[NGX_HTTP_S3_KMS_BK_ARN_MAX];
    size_t                        blen;
    int64_t                       created, now;
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_gw_ctx_t     *ctx;
    ngx_http_s3_kms_bk_cache_t   *cache;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    bkt = ctx->bkt;

    ctx->redis_req = NULL;

    cache = ngx_http_s3_kms_bk_cache(mcf->worker);
    now = ngx_http_s3_kms_bk_now();

    if (reply != NULL && reply->type == REDIS_REPLY_STRING && cache != NULL
        && ngx_http_s3_kms_bk_open(cache, bkt->hash, (u_char *) reply->str,
                                   reply->len, key, blob, &blen, arn,
                                   &created)
           == NGX_OK
        && created + (int64_t) lcf->bucket_key_lifetime > now
        && created <= now + 60000
        && ngx_strcmp(arn, bkt->key_arn) == 0)
    {
        (void) ngx_http_s3_kms_bk_insert(cache, bkt->hash, key, blob, blen,
                                         arn, created,
                                         lcf->bucket_key_lifetime);

        rc = ngx_http_s3_kms_bucket_key_use(r, ctx, key, blob, blen, arn);

    } else {
        if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "s3_kms: a cached bucket key of %V did not "
                          "open; a new one is made", &ctx->bucket);
        }

        rc = ngx_http_s3_kms_bucket_key_gdk(r, ctx);
    }

    kms_wipe(key, sizeof(key));

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_s3_kms_bucket_key_gdk(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    kms_call_t                   *call;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    bkt = ctx->bkt;

    call = kms_call_generate_data_key(mcf->worker->kms, &ctx->caller,
                                      bkt->key_ref, bkt->context, 32);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_gw_kms_start(r, ctx, call,
                                        ngx_http_s3_kms_bucket_key_gdk_done);
}


static void
ngx_http_s3_kms_bucket_key_gdk_done(ngx_http_s3_kms_run_t *run)
{
    ngx_http_request_t  *r = run->data;

    size_t                        len, blen;
    ngx_int_t                     rc;
    kms_err_t                     err;
    ngx_uint_t                    async;
    const char                   *arn;
    ngx_connection_t             *c;
    const unsigned char          *bk, *blob;
    ngx_http_s3_kms_bkt_t        *bkt;
    ngx_http_s3_kms_gw_ctx_t     *ctx;
    ngx_http_s3_kms_bk_cache_t   *cache;
    ngx_http_s3_kms_bk_entry_t   *e;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    async = run->async;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    bkt = ctx->bkt;

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                kms_call_log(run->call));
        rc = NGX_ERROR;
        goto done;
    }

    bk = kms_call_plaintext(run->call, &len);
    blob = kms_call_blob(run->call, &blen);
    arn = kms_call_key_arn(run->call);

    if (bk == NULL || len != 32 || blob == NULL || arn == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        rc = NGX_ERROR;
        goto done;
    }

    /* kept for the requester's next objects (the ARN as KMS resolved it) */

    cache = ngx_http_s3_kms_bk_cache(mcf->worker);

    if (cache != NULL
        && ngx_http_s3_kms_bk_hash(cache, ctx->cred->arn, arn, bkt->context,
                                   bkt->hash)
           == NGX_OK)
    {
        e = ngx_http_s3_kms_bk_insert(cache, bkt->hash, bk, blob, blen, arn,
                                      ngx_http_s3_kms_bk_now(),
                                      lcf->bucket_key_lifetime);
        if (e != NULL) {
            ngx_http_s3_kms_bk_store(cache, e, lcf->bucket_key_lifetime,
                                     c->log);
        }
    }

    rc = ngx_http_s3_kms_bucket_key_use(r, ctx, bk, blob, blen, arn);

done:

    kms_call_free(run->call);          /* wipes the bucket key */
    run->call = NULL;

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


/* the object's data key: HKDF of the bucket key, a fresh salt, its ARN */

static ngx_int_t
ngx_http_s3_kms_bucket_key_use(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *bucket_key,
    const u_char *blob, size_t blen, const char *key_arn)
{
    u_char     salt[S3_OBJFMT_SALT_LEN], dek[S3_OBJFMT_KEY_LEN], *p;
    ngx_int_t  rc;

    p = ngx_pnalloc(r->pool, kms_base64_encoded_len(sizeof(salt)));

    if (p == NULL
        || kms_random(salt, sizeof(salt)) != 0
        || s3_objfmt_object_key(bucket_key, salt, ctx->arn, ctx->arn_len,
                                dek)
           != S3_OBJFMT_OK)
    {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    ctx->obj.bk.data = p;
    ctx->obj.bk.len = kms_base64_encode(salt, sizeof(salt), (char *) p);

    rc = ctx->bkt->use(r, ctx, dek, blob, blen, key_arn);

    kms_wipe(dek, sizeof(dek));

    return rc;
}


/* ---- S3 Bucket Keys: GetObject ------------------------------------------------ */

ngx_int_t
ngx_http_s3_kms_bucket_get_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *pairs, size_t len,
    char **out)
{
    ngx_http_s3_kms_bkt_t  *bkt;

    bkt = ngx_http_s3_kms_bucket_state(r, ctx);

    if (bkt == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    return ngx_http_s3_kms_gw_context(r, ctx, pairs, len, bkt->arn,
                                      bkt->arn_len, out);
}


ngx_int_t
ngx_http_s3_kms_bucket_get_dek(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *bucket_key, u_char *dek)
{
    u_char  salt[32];
    long    n;

    n = kms_base64_decode((const char *) ctx->obj.bk.data, ctx->obj.bk.len,
                          salt, sizeof(salt));

    if (n != S3_OBJFMT_SALT_LEN
        || s3_objfmt_object_key(bucket_key, salt, ctx->arn, ctx->arn_len,
                                dek)
           != S3_OBJFMT_OK)
    {
        ctx->error.reason = "damaged encryption metadata (ssek-bk)";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL,
                                "The object cannot be decrypted.");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ---- DeleteObjects, DeleteBucket ---------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_bucket_delete_parse(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *body, size_t len)
{
    u_char                 *p;
    size_t                  i, n;
    s3_err_t                rc;
    s3_error_t              e;
    s3_xml_delete_t         d;
    s3_xml_delete_obj_t    *o;
    ngx_http_s3_kms_bkt_t  *bkt;

    ngx_memzero(&e, sizeof(s3_error_t));

    rc = s3_xml_delete_parse(body, len, &d, &e);

    if (rc != S3_OK) {
        ctx->error = e;
        ngx_http_s3_kms_gw_fail(r, ctx, rc, e.message);
        return NGX_ERROR;
    }

    bkt = ngx_http_s3_kms_bucket_state(r, ctx);

    /* a key with a version id: that version's entry and the key's */

    n = 0;

    for (i = 0; i < d.nobjects; i++) {
        n += d.objects[i].version_id.len ? 2 : 1;
    }

    if (bkt == NULL
        || (bkt->del = ngx_palloc(r->pool, n * sizeof(ngx_str_t))) == NULL)
    {
        s3_xml_delete_free(&d);
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    for (i = 0; i < d.nobjects; i++) {
        o = &d.objects[i];

        p = ngx_pnalloc(r->pool, sizeof("ssek:obj:{}::") - 1
                                 + ctx->bucket.len + o->key.len
                                 + o->version_id.len);
        if (p == NULL) {
            s3_xml_delete_free(&d);
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
            return NGX_ERROR;
        }

        bkt->del[bkt->ndel].data = p;
        p = ngx_sprintf(p, "ssek:obj:{%V}:", &ctx->bucket);
        p = ngx_cpymem(p, o->key.data, o->key.len);
        bkt->del[bkt->ndel].len = p - bkt->del[bkt->ndel].data;
        bkt->ndel++;

        if (o->version_id.len) {
            bkt->del[bkt->ndel].data = bkt->del[bkt->ndel - 1].data;
            *p++ = ':';
            p = ngx_cpymem(p, o->version_id.data, o->version_id.len);
            bkt->del[bkt->ndel].len = p - bkt->del[bkt->ndel].data;
            bkt->ndel++;
        }
    }

    s3_xml_delete_free(&d);

    return NGX_OK;
}


/*
 * A relayed request the backend accepted: DeleteObjects drops the index
 * entries of every key it named (the index is a cache: an entry of a key
 * the backend kept is rebuilt on its next read); DeleteBucket drops the
 * bucket's default encryption, as S3 forgets it with the bucket.
 */

void
ngx_http_s3_kms_bucket_pass_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   **argv, *one[2];
    size_t                        *argvlen, onelen[2];
    ngx_str_t                      key;
    ngx_uint_t                     i, n;
    ngx_http_s3_kms_main_conf_t   *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mcf->worker == NULL) {
        return;
    }

    if (ctx->s3->op == S3_OP_DELETE_OBJECTS && ctx->bkt && ctx->bkt->ndel) {
        n = ctx->bkt->ndel + 1;
        argv = ngx_palloc(r->pool, n * sizeof(char *));
        argvlen = ngx_palloc(r->pool, n * sizeof(size_t));

        if (argv == NULL || argvlen == NULL) {
            return;
        }

        argv[0] = "DEL";
        argvlen[0] = 3;

        for (i = 1; i < n; i++) {
            argv[i] = (const char *) ctx->bkt->del[i - 1].data;
            argvlen[i] = ctx->bkt->del[i - 1].len;
        }

        if (ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n, argv,
                                       argvlen, ngx_http_s3_kms_bucket_logged,
                                       mcf->worker)
            == NULL)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "s3_kms: the index entries of a DeleteObjects "
                          "in %V stay: Redis is down", &ctx->bucket);
        }

        return;
    }

    if (ctx->s3->op == S3_OP_DELETE_BUCKET
        && ngx_http_s3_kms_bucket_redis_key(r, ctx, &key) == NGX_OK)
    {
        one[0] = "DEL";
        onelen[0] = 3;
        one[1] = (const char *) key.data;
        onelen[1] = key.len;

        if (ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, one, onelen,
                                       ngx_http_s3_kms_bucket_logged,
                                       mcf->worker)
            == NULL)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "s3_kms: the default encryption of the deleted "
                          "bucket %V stays: Redis is down", &ctx->bucket);
        }
    }
}


/* ---- the bucket key cache of a worker ------------------------------------------ */

static ngx_http_s3_kms_bk_cache_t *
ngx_http_s3_kms_bk_cache(ngx_http_s3_kms_worker_t *w)
{
    ngx_uint_t                   i;
    ngx_http_s3_kms_bk_cache_t  *c;

    if (w->bk_cache != NULL) {
        return w->bk_cache;
    }

    c = ngx_calloc(sizeof(ngx_http_s3_kms_bk_cache_t), w->log);
    if (c == NULL) {
        return NULL;
    }

    c->secret = kms_secure_alloc(32 * (NGX_HTTP_S3_KMS_BK_ENTRIES + 1));

    if (c->secret == NULL || kms_ctx_cache_key(w->kms, c->secret) != 0) {
        if (c->secret) {
            kms_secure_free(c->secret, 32 * (NGX_HTTP_S3_KMS_BK_ENTRIES + 1));
        }

        ngx_free(c);
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_S3_KMS_BK_ENTRIES; i++) {
        c->entries[i].key = c->secret + 32 * (i + 1);
    }

    c->worker = w;
    c->sweep.handler = ngx_http_s3_kms_bk_sweep;
    c->sweep.data = c;
    c->sweep.log = w->log;
    c->sweep.cancelable = 1;

    w->bk_cache = c;

    return c;
}


void
ngx_http_s3_kms_bucket_exit(ngx_http_s3_kms_worker_t *w)
{
    ngx_http_s3_kms_bk_cache_t  *c;

    c = w->bk_cache;

    if (c == NULL) {
        return;
    }

    if (c->sweep.timer_set) {
        ngx_del_timer(&c->sweep);
    }

    kms_secure_free(c->secret, 32 * (NGX_HTTP_S3_KMS_BK_ENTRIES + 1));
    ngx_free(c);

    w->bk_cache = NULL;
}


static ngx_int_t
ngx_http_s3_kms_bk_hash(ngx_http_s3_kms_bk_cache_t *c, const char *principal,
    const char *key_arn, const char *context, u_char *hash)
{
    kms_iov_t  iov[6];

    iov[0].base = "bucket key";
    iov[0].len = sizeof("bucket key");          /* with its NUL */
    iov[1].base = principal;
    iov[1].len = ngx_strlen(principal) + 1;
    iov[2].base = key_arn;
    iov[2].len = ngx_strlen(key_arn) + 1;
    iov[3].base = context;
    iov[3].len = ngx_strlen(context);

    if (kms_hmac_sha256_iov(c->secret, 32, iov, 4, hash) != 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_http_s3_kms_bk_entry_t *
ngx_http_s3_kms_bk_find(ngx_http_s3_kms_bk_cache_t *c, const u_char *hash,
    int64_t now, ngx_msec_t lifetime)
{
    ngx_uint_t                   i;
    ngx_http_s3_kms_bk_entry_t  *e;

    for (i = 0; i < NGX_HTTP_S3_KMS_BK_ENTRIES; i++) {
        e = &c->entries[i];

        if (!e->used || ngx_memcmp(e->hash, hash, 32) != 0) {
            continue;
        }

        if (e->expires <= now || e->created + (int64_t) lifetime <= now) {
            return NULL;
        }

        return e;
    }

    return NULL;
}


/*
 * Takes a bucket key into the worker's memory: in place of one of the
 * same hash, else a free entry, else the oldest.
 */

static ngx_http_s3_kms_bk_entry_t *
ngx_http_s3_kms_bk_insert(ngx_http_s3_kms_bk_cache_t *c, const u_char *hash,
    const u_char *key, const u_char *blob, size_t blen, const char *arn,
    int64_t created, ngx_msec_t lifetime)
{
    size_t                       alen;
    ngx_uint_t                   i;
    ngx_http_s3_kms_bk_entry_t  *e, *free, *oldest;

    alen = ngx_strlen(arn);

    if (blen > NGX_HTTP_S3_KMS_BK_BLOB_MAX
        || alen >= NGX_HTTP_S3_KMS_BK_ARN_MAX)
    {
        return NULL;
    }

    e = NULL;
    free = NULL;
    oldest = NULL;

    for (i = 0; i < NGX_HTTP_S3_KMS_BK_ENTRIES; i++) {

        if (!c->entries[i].used) {
            if (free == NULL) {
                free = &c->entries[i];
            }
            continue;
        }

        if (ngx_memcmp(c->entries[i].hash, hash, 32) == 0) {
            e = &c->entries[i];
            break;
        }

        if (oldest == NULL || c->entries[i].created < oldest->created) {
            oldest = &c->entries[i];
        }
    }

    if (e == NULL) {
        e = free ? free : oldest;

        if (e == NULL) {
            return NULL;
        }

        if (e->used) {
            ngx_http_s3_kms_bk_drop(c, e);
        }

        c->n++;
    }

    ngx_memcpy(e->hash, hash, 32);
    ngx_memcpy(e->key, key, 32);
    ngx_memcpy(e->blob, blob, blen);
    e->blob_len = blen;
    ngx_memcpy(e->arn, arn, alen + 1);
    e->created = created;
    e->expires = created + (int64_t) lifetime;
    e->used = 1;

    if (!c->sweep.timer_set) {
        ngx_add_timer(&c->sweep, 1000);
    }

    return e;
}


static void
ngx_http_s3_kms_bk_drop(ngx_http_s3_kms_bk_cache_t *c,
    ngx_http_s3_kms_bk_entry_t *e)
{
    kms_wipe(e->key, 32);
    ngx_memzero(e->hash, sizeof(e->hash));
    e->used = 0;
    c->n--;
}


/* expired bucket keys are wiped within a second */

static void
ngx_http_s3_kms_bk_sweep(ngx_event_t *ev)
{
    int64_t                      now;
    ngx_uint_t                   i;
    ngx_http_s3_kms_bk_cache_t  *c = ev->data;

    now = ngx_http_s3_kms_bk_now();

    for (i = 0; i < NGX_HTTP_S3_KMS_BK_ENTRIES; i++) {
        if (c->entries[i].used && c->entries[i].expires <= now) {
            ngx_http_s3_kms_bk_drop(c, &c->entries[i]);
        }
    }

    if (c->n && !ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, 1000);
    }
}


/* SET ssek:dk:HASH value PX lifetime NX: one bucket key at a time */

static void
ngx_http_s3_kms_bk_store(ngx_http_s3_kms_bk_cache_t *c,
    ngx_http_s3_kms_bk_entry_t *e, ngx_msec_t lifetime, ngx_log_t *log)
{
    u_char         name[sizeof("ssek:dk:") - 1 + 64];
    u_char         pt[NGX_HTTP_S3_KMS_BK_PT_MAX];
    u_char         value[1 + NGX_HTTP_S3_KMS_BK_IV_LEN
                         + NGX_HTTP_S3_KMS_BK_PT_MAX + 16];
    u_char         aad[sizeof(NGX_HTTP_S3_KMS_BK_AAD) - 1 + 32];
    u_char         ttl[NGX_INT64_LEN], *p;
    size_t         alen, ptlen, vlen;
    uint64_t       t;
    const char    *argv[6];
    size_t         argvlen[6];
    ngx_uint_t     i;

    alen = ngx_strlen(e->arn);

    t = (uint64_t) e->created;
    p = pt;

    for (i = 0; i < 8; i++) {
        *p++ = (u_char) (t >> (56 - 8 * i));
    }

    p = ngx_cpymem(p, e->key, 32);
    *p++ = (u_char) (alen >> 8);
    *p++ = (u_char) alen;
    p = ngx_cpymem(p, e->arn, alen);
    p = ngx_cpymem(p, e->blob, e->blob_len);
    ptlen = p - pt;

    p = ngx_cpymem(aad, NGX_HTTP_S3_KMS_BK_AAD,
                   sizeof(NGX_HTTP_S3_KMS_BK_AAD) - 1);
    ngx_memcpy(p, e->hash, 32);

    value[0] = NGX_HTTP_S3_KMS_BK_VERSION;

    if (kms_random(value + 1, NGX_HTTP_S3_KMS_BK_IV_LEN) != 0
        || kms_gcm_encrypt(c->secret, value + 1, NGX_HTTP_S3_KMS_BK_IV_LEN,
                           aad, sizeof(aad), pt, ptlen,
                           value + 1 + NGX_HTTP_S3_KMS_BK_IV_LEN,
                           value + 1 + NGX_HTTP_S3_KMS_BK_IV_LEN + ptlen)
           != 0)
    {
        kms_wipe(pt, sizeof(pt));
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "s3_kms: a bucket key could not be cached");
        return;
    }

    kms_wipe(pt, sizeof(pt));
    vlen = 1 + NGX_HTTP_S3_KMS_BK_IV_LEN + ptlen + 16;

    ngx_http_s3_kms_bk_dk_name(e->hash, name);

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = (const char *) name;
    argvlen[1] = sizeof(name);
    argv[2] = (const char *) value;
    argvlen[2] = vlen;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = (const char *) ttl;
    argvlen[4] = ngx_sprintf(ttl, "%M", lifetime) - ttl;
    argv[5] = "NX";
    argvlen[5] = 2;

    /* hiredis copies the command: nothing here needs to outlive the call */

    if (ngx_http_s3_kms_redis_send(c->worker->redis, 6, argv, argvlen,
                                   ngx_http_s3_kms_bucket_logged, c->worker)
        == NULL)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "s3_kms: a bucket key is kept by this worker only: "
                      "Redis is down");
    }
}


static ngx_int_t
ngx_http_s3_kms_bk_open(ngx_http_s3_kms_bk_cache_t *c, const u_char *hash,
    const u_char *value, size_t len, u_char *key, u_char *blob, size_t *blen,
    char *arn, int64_t *created)
{
    u_char      pt[NGX_HTTP_S3_KMS_BK_PT_MAX];
    u_char      aad[sizeof(NGX_HTTP_S3_KMS_BK_AAD) - 1 + 32];
    size_t      ptlen, alen;
    uint64_t    t;
    ngx_uint_t  i;
    ngx_int_t   rc;

    if (len < 1 + NGX_HTTP_S3_KMS_BK_IV_LEN + 8 + 32 + 2 + 16
        || len > 1 + NGX_HTTP_S3_KMS_BK_IV_LEN + NGX_HTTP_S3_KMS_BK_PT_MAX
                 + 16
        || value[0] != NGX_HTTP_S3_KMS_BK_VERSION)
    {
        return NGX_ERROR;
    }

    ptlen = len - 1 - NGX_HTTP_S3_KMS_BK_IV_LEN - 16;

    ngx_memcpy(aad, NGX_HTTP_S3_KMS_BK_AAD,
               sizeof(NGX_HTTP_S3_KMS_BK_AAD) - 1);
    ngx_memcpy(aad + sizeof(NGX_HTTP_S3_KMS_BK_AAD) - 1, hash, 32);

    if (kms_gcm_decrypt(c->secret, value + 1, NGX_HTTP_S3_KMS_BK_IV_LEN,
                        aad, sizeof(aad),
                        value + 1 + NGX_HTTP_S3_KMS_BK_IV_LEN, ptlen, pt,
                        value + len - 16)
        != 0)
    {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    alen = ((size_t) pt[40] << 8) | pt[41];

    if (alen == 0 || alen >= NGX_HTTP_S3_KMS_BK_ARN_MAX
        || 42 + alen > ptlen
        || ptlen - 42 - alen > NGX_HTTP_S3_KMS_BK_BLOB_MAX
        || ptlen - 42 - alen == 0)
    {
        goto done;
    }

    t = 0;
    for (i = 0; i < 8; i++) {
        t = (t << 8) | pt[i];
    }

    *created = (int64_t) t;
    ngx_memcpy(key, pt + 8, 32);
    ngx_memcpy(arn, pt + 42, alen);
    arn[alen] = '\0';
    *blen = ptlen - 42 - alen;
    ngx_memcpy(blob, pt + 42 + alen, *blen);

    rc = NGX_OK;

done:

    kms_wipe(pt, sizeof(pt));

    return rc;
}


static void
ngx_http_s3_kms_bk_dk_name(const u_char *hash, u_char *name)
{
    u_char  *p;

    p = ngx_cpymem(name, "ssek:dk:", sizeof("ssek:dk:") - 1);
    (void) ngx_hex_dump(p, (u_char *) hash, 32);
}


static int64_t
ngx_http_s3_kms_bk_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
}
