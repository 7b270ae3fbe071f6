
/*
 * The S3 gateway: S3 clients talk to nginx as to S3; object bodies are
 * encrypted (PutObject) before they reach the backend and decrypted
 * (GetObject) on the way back, under per-object data keys from the KMS
 * core.  Every other request is re-signed and relayed, or refused with
 * S3's NotImplemented when relaying it could leak plaintext or ciphertext.
 *
 * A request goes through:
 *   authentication (SigV4: header or presigned; the payload mode),
 *   classification (s3/s3_request.c) and the SSE header rules,
 *   then by operation:
 *     PutObject   the data key (KMS GenerateDataKey, in memory), then the
 *                 body streams through the encrypting body filter;
 *     GetObject   the object's metadata from the index (Redis) or a probe
 *     HeadObject  (a small backend read of the object's first 72 bytes, in
 *                 a subrequest), the data key (KMS Decrypt), then a ranged
 *                 backend GET of the frames needed, decrypted;
 *     the rest    relayed, bodies read into memory and checked first.
 * Errors are S3's XML: the gateway's own, the backend's as they come, and
 * nginx's (body too large, timeouts, a backend down) turned into S3's by
 * the header and body filters at the end of this file.
 */


#include "ngx_http_s3_kms_gateway.h"


#define NGX_HTTP_S3_KMS_PASS_BODY_MAX  (8 * 1024 * 1024)

static ngx_int_t ngx_http_s3_kms_gw_auth(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_classify(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_be_path(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_pass(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_pass_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_gw_put_key_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_put_key(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_gw_put_key_handler(ngx_http_s3_kms_run_t *run);
static ngx_int_t ngx_http_s3_kms_gw_get(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_index_read(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *key);
static void ngx_http_s3_kms_gw_index_reply(void *data, redisReply *reply);
static void ngx_http_s3_kms_gw_index_handler(ngx_http_request_t *r,
    redisReply *reply);
static ngx_int_t ngx_http_s3_kms_gw_probe_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_gw_probe_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_s3_kms_gw_resume(ngx_http_request_t *r);
static ngx_uint_t ngx_http_s3_kms_gw_null_version(
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_uint_t ngx_http_s3_kms_gw_null_confirmed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_got_object(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_get_key(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_gw_get_key_handler(ngx_http_s3_kms_run_t *run);
static ngx_int_t ngx_http_s3_kms_gw_get_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const unsigned char *dek);
static ngx_int_t ngx_http_s3_kms_gw_sse_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *alg, ngx_str_t *key_arn,
    ngx_uint_t bucket_key);
static void ngx_http_s3_kms_gw_index_del(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_index_write(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *etag, off_t len, off_t stored,
    u_char *hdr, ngx_str_t *alg, ngx_str_t *key_arn, ngx_str_t *dek,
    ngx_str_t *cb, ngx_str_t *md5, ngx_str_t *version);
static void ngx_http_s3_kms_gw_be_version(ngx_http_request_t *r,
    ngx_str_t *version);
static ngx_int_t ngx_http_s3_kms_gw_conditionals(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_md5_etag(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_index_written(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_gw_list(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_list_got(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_gw_list_reply(void *data, redisReply *reply);
static ngx_str_t ngx_http_s3_kms_gw_etag_core(u_char *p, size_t len);
static void ngx_http_s3_kms_gw_list_etags(ngx_http_s3_kms_gw_ctx_t *ctx,
    u_char *doc, size_t len);
static void ngx_http_s3_kms_gw_cleanup(void *data);
static ngx_http_s3_kms_gw_ctx_t *ngx_http_s3_kms_gw_filter_ctx(
    ngx_http_request_t *r, ngx_uint_t create);
static ngx_uint_t ngx_http_s3_kms_gw_has_gateway(
    ngx_http_location_tree_node_t *node);
static void ngx_http_s3_kms_gw_ids(ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_gw_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_gw_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static s3_err_t ngx_http_s3_kms_gw_status_error(ngx_uint_t status);
static ngx_chain_t *ngx_http_s3_kms_gw_error_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_s3_kms_gateway_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_s3_kms_gw_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_s3_kms_gw_body_filter;

    return ngx_http_s3_kms_be_init_filters(cf);
}


char *
ngx_http_s3_kms_gateway(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->gateway != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        lcf->gateway = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->gateway = 0;
        return NGX_CONF_OK;

    } else {
        return "takes \"on\" or \"off\"";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_s3_kms_gateway_handler;

    return NGX_CONF_OK;
}


/* ---- the handler -------------------------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_gateway_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_s3_kms_gw_ctx_t     *ctx;
    ngx_http_s3_kms_main_conf_t  *mcf;

    if (r != r->main) {
        return ngx_http_s3_kms_gw_probe_handler(r);
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_gw_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_s3_kms_module);

    ctx->request = r;
    ctx->be_length = -1;
    ctx->obj.len = -1;
    ctx->obj.stored = -1;
    ctx->obj.total = -1;

    ngx_http_s3_kms_gw_ids(ctx);

    if (ngx_array_init(&ctx->be_headers, r->pool, 16, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_s3_kms_gw_cleanup;
    cln->data = ctx;

    if (mcf->worker == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return ngx_http_s3_kms_gw_send_error(r, ctx);
    }

    /* one extra reference: every path ends in ngx_http_s3_kms_gw_finish() */

    r->main->count++;

    rc = ngx_http_s3_kms_gw_auth(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_s3_kms_gw_classify(r, ctx);
    }

    if (rc == NGX_OK) {
        switch (ctx->s3->cls) {

        case S3_CLASS_ENCRYPT:
            switch (ctx->s3->op) {

            case S3_OP_PUT_OBJECT:
                rc = ngx_http_s3_kms_gw_put(r, ctx);
                break;

            case S3_OP_CREATE_MULTIPART_UPLOAD:
                rc = ngx_http_s3_kms_mpu_create(r, ctx);
                break;

            case S3_OP_UPLOAD_PART:
                rc = ngx_http_s3_kms_mpu_part(r, ctx);
                break;

            case S3_OP_COMPLETE_MULTIPART_UPLOAD:
                rc = ngx_http_s3_kms_mpu_complete(r, ctx);
                break;

            case S3_OP_COPY_OBJECT:
            case S3_OP_UPLOAD_PART_COPY:
                rc = ngx_http_s3_kms_copy_handler(r, ctx);
                break;

            default:
                ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_NOT_IMPLEMENTED,
                                        "This operation is not supported by "
                                        "the encrypting gateway yet.");
                rc = NGX_ERROR;
                break;
            }

            break;

        case S3_CLASS_DECRYPT:
            rc = ngx_http_s3_kms_gw_get(r, ctx);
            break;

        case S3_CLASS_BUCKET_ENCRYPTION:
            rc = ngx_http_s3_kms_bucket_handler(r, ctx);
            break;

        case S3_CLASS_LIST:
            if (ctx->s3->op == S3_OP_LIST_OBJECTS
                || ctx->s3->op == S3_OP_LIST_OBJECTS_V2
                || ctx->s3->op == S3_OP_LIST_OBJECT_VERSIONS
                || ctx->s3->op == S3_OP_LIST_PARTS)
            {
                rc = ngx_http_s3_kms_gw_list(r, ctx);
                break;
            }

            /* fall through */

        case S3_CLASS_PASS:
            rc = ngx_http_s3_kms_gw_pass(r, ctx);
            break;

        default:
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_NOT_IMPLEMENTED, NULL);
            rc = NGX_ERROR;
            break;
        }
    }

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }

    return NGX_DONE;
}


/*
 * The end of the handler's own part: NGX_DONE (the backend request runs),
 * NGX_ERROR (ctx->error says what to answer), or an HTTP status nginx
 * answers (the error filter makes it S3's).
 */

void
ngx_http_s3_kms_gw_finish(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_int_t rc)
{
    if (rc == NGX_DONE) {
        ngx_http_finalize_request(r, NGX_DONE);
        return;
    }

    if (ctx->copy) {
        ngx_http_s3_kms_copy_stop(ctx);     /* its source's GET ends */
    }

    if (rc == NGX_ERROR || rc == NGX_OK) {
        if (ctx->error.err == S3_OK) {
            ctx->error.err = S3_ERR_INTERNAL;
        }

        rc = ngx_http_s3_kms_gw_send_error(r, ctx);
    }

    ngx_http_finalize_request(r, rc);
}


/* 1 if two ETags, quoted or not, are the same and not empty */

ngx_uint_t
ngx_http_s3_kms_etag_equal(ngx_str_t *x, ngx_str_t *y)
{
    ngx_str_t  a = *x, b = *y;

    if (a.len >= 2 && a.data[0] == '"' && a.data[a.len - 1] == '"') {
        a.data++;
        a.len -= 2;
    }

    if (b.len >= 2 && b.data[0] == '"' && b.data[b.len - 1] == '"') {
        b.data++;
        b.len -= 2;
    }

    return a.len != 0 && a.len == b.len
           && ngx_strncmp(a.data, b.data, a.len) == 0;
}


/*
 * The context of a subrequest of ours to the backend (a probe, a copy's
 * source or side request, a multipart step): the parent's object and
 * request line (a GET of its path and query), nothing known of the
 * answer yet, no extra backend headers.  The caller changes what differs.
 */

ngx_http_s3_kms_gw_ctx_t *
ngx_http_s3_kms_gw_sub_ctx(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx, ngx_http_s3_kms_be_mode_e mode)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_gw_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_s3_kms_module);

    ctx->request = r;
    ctx->parent = pctx;
    ctx->s3 = pctx->s3;
    ctx->bucket = pctx->bucket;
    ctx->key = pctx->key;
    ctx->mode = mode;
    ctx->be_length = -1;
    ctx->obj.len = -1;
    ctx->obj.stored = -1;
    ctx->obj.total = -1;
    ngx_str_set(&ctx->be_method, "GET");
    ctx->be_path = pctx->be_path;
    ctx->be_query = pctx->be_query;

    if (ngx_array_init(&ctx->be_headers, r->pool, 8, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NULL;
    }

    return ctx;
}


void
ngx_http_s3_kms_gw_fail(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx,
    s3_err_t err, const char *message)
{
    ngx_uint_t  level;

    ctx->error.err = err;
    ctx->error.message = message;

    level = (s3_err_category(err) == S3_ERRCAT_INTERNAL) ? NGX_LOG_ERR
                                                         : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0, "s3_kms: %s: %s%s%s",
                  s3_err_code(err), message ? message : s3_err_message(err),
                  ctx->error.reason ? "; " : "",
                  ctx->error.reason ? ctx->error.reason : "");
}


/* ---- authentication ------------------------------------------------------------ */

static ngx_int_t
ngx_http_s3_kms_gw_auth(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    s3_err_t                      rc;
    s3_sigv4_conf_t               conf;
    s3_sigv4_request_t            req;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    ctx->headers = ngx_http_s3_kms_request_headers(r, &ctx->nheaders);
    ctx->auth = ngx_palloc(r->pool, sizeof(s3_sigv4_auth_t));

    if (ctx->headers == NULL || ctx->auth == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.method.data = r->method_name.data;
    req.method.len = r->method_name.len;
    req.path.data = r->uri_start;
    req.path.len = (r->args_start ? r->args_start - 1 : r->uri_end)
                   - r->uri_start;
    req.query.data = r->args.data;
    req.query.len = r->args.len;
    req.headers = ctx->headers;
    req.nheaders = ctx->nheaders;

    rc = s3_sigv4_parse(&req, ctx->auth);

    if (rc != S3_OK) {
        ctx->error.reason = s3_sigv4_reason_text(s3_sigv4_reason(ctx->auth));

        /*
         * POST Object, a browser form upload, carries its authentication
         * in the form: it is refused for what it is, which would store
         * plaintext, not for a missing signature
         */

        if (s3_sigv4_reason(ctx->auth) == S3_SIGV4_MISSING
            && r->method == NGX_HTTP_POST
            && r->headers_in.content_type
            && r->headers_in.content_type->value.len >= 19
            && ngx_strncasecmp(r->headers_in.content_type->value.data,
                               (u_char *) "multipart/form-data", 19) == 0)
        {
            rc = S3_ERR_NOT_IMPLEMENTED;
        }

        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        return NGX_ERROR;
    }

    ctx->cred = kms_creds_find(mcf->creds,
                               (const char *) ctx->auth->access_key.data,
                               ctx->auth->access_key.len);
    if (ctx->cred == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_ACCESS_KEY_ID, NULL);
        return NGX_ERROR;
    }

    ngx_memzero(&conf, sizeof(s3_sigv4_conf_t));
    conf.region.data = mcf->region.data;
    conf.region.len = mcf->region.len;
    conf.service.data = (const unsigned char *) "s3";
    conf.service.len = 2;
    conf.s3 = 1;
    conf.now = ngx_time();
    conf.max_skew = 900;

    rc = s3_sigv4_check(&req, ctx->auth, &conf);

    if (rc == S3_OK) {
        ctx->sigkey = ngx_http_s3_kms_signing_key(mcf->worker, ctx->cred,
                                   (const char *) ctx->auth->date.data,
                                   ctx->auth->date.len,
                                   (const char *) ctx->auth->region.data,
                                   ctx->auth->region.len,
                                   (const char *) ctx->auth->service.data,
                                   ctx->auth->service.len);
        if (ctx->sigkey == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = s3_sigv4_verify(&req, ctx->auth, &conf, ctx->sigkey);
    }

    if (rc != S3_OK) {
        ctx->error.reason = s3_sigv4_reason_text(s3_sigv4_reason(ctx->auth));
        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        return NGX_ERROR;
    }

    /* the caller, for KMS calls and their audit records */

    (void) ngx_cpystrn(ctx->source_ip, r->connection->addr_text.data,
                       ngx_min(r->connection->addr_text.len + 1,
                               sizeof(ctx->source_ip)));

    if (r->headers_in.user_agent) {
        ctx->user_agent = ngx_pnalloc(r->pool,
                                      r->headers_in.user_agent->value.len + 1);
        if (ctx->user_agent == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_cpystrn(ctx->user_agent, r->headers_in.user_agent->value.data,
                    r->headers_in.user_agent->value.len + 1);

    } else {
        ctx->user_agent = (u_char *) "";
    }

    ctx->caller.access_key_id = ctx->cred->access_key_id;
    ctx->caller.account = ctx->cred->account;
    ctx->caller.arn = ctx->cred->arn;
    ctx->caller.via_service = (const char *) mcf->via_service.data;
    ctx->caller.source_ip = (const char *) ctx->source_ip;
    ctx->caller.user_agent = (const char *) ctx->user_agent;
    ctx->caller.request_id = (const char *) ctx->req_id;
    ctx->caller.now_ms = (int64_t) ngx_time() * 1000
                         + (int64_t) ngx_timeofday()->msec
                         + (int64_t) mcf->time_offset * 1000;

    return NGX_OK;
}


/* ---- classification ----------------------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_gw_classify(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    s3_err_t                     rc;
    s3_request_in_t              in;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    ctx->s3 = ngx_palloc(r->pool, sizeof(s3_request_t));
    if (ctx->s3 == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&in, sizeof(s3_request_in_t));
    in.method.data = r->method_name.data;
    in.method.len = r->method_name.len;
    in.path.data = r->uri_start;
    in.path.len = (r->args_start ? r->args_start - 1 : r->uri_end)
                  - r->uri_start;
    in.query.data = r->args.data;
    in.query.len = r->args.len;

    if (r->headers_in.host) {
        in.host.data = r->headers_in.host->value.data;
        in.host.len = r->headers_in.host->value.len;
    }

    in.headers = ctx->headers;
    in.nheaders = ctx->nheaders;

    if (lcf->vhosts) {
        in.vhost_names = lcf->vhosts->elts;
        in.nvhost_names = lcf->vhosts->nelts;
    }

    rc = s3_request_classify(&in, ctx->s3);

    if (rc != S3_OK || ctx->s3->cls == S3_CLASS_INVALID
        || ctx->s3->cls == S3_CLASS_NOT_IMPLEMENTED)
    {
        ctx->error = ctx->s3->error;

        if (ctx->error.err == S3_OK) {
            ctx->error.err = rc != S3_OK ? rc : S3_ERR_NOT_IMPLEMENTED;
        }

        ctx->error.reason = ctx->s3->reason;
        ngx_http_s3_kms_gw_fail(r, ctx, ctx->error.err, ctx->error.message);
        return NGX_ERROR;
    }

    /* NUL-terminated copies, for logs and Redis */

    ctx->bucket.len = ctx->s3->bucket.len;
    ctx->bucket.data = ngx_pnalloc(r->pool, ctx->bucket.len + 1);
    ctx->key.len = ctx->s3->key.len;
    ctx->key.data = ngx_pnalloc(r->pool, ctx->key.len + 1);

    if (ctx->bucket.data == NULL || ctx->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_cpystrn(ctx->bucket.data, (u_char *) ctx->s3->bucket.data,
                ctx->bucket.len + 1);
    ngx_memcpy(ctx->key.data, ctx->s3->key.data, ctx->key.len);
    ctx->key.data[ctx->key.len] = '\0';

    if (ctx->s3->has_key) {
        ctx->arn_len = s3_arn_object(ctx->arn, sizeof(ctx->arn),
                                     ctx->s3->bucket, ctx->s3->key);
    } else if (ctx->bucket.len) {
        ctx->arn_len = s3_arn_bucket(ctx->arn, sizeof(ctx->arn),
                                     ctx->s3->bucket);
    }

    /* SSE headers: refused where S3 refuses them, parsed for PUT */

    ctx->sse = ngx_pcalloc(r->pool, sizeof(s3_sse_t));
    if (ctx->sse == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = s3_sse_parse(ctx->s3->op, ctx->headers, ctx->nheaders, ctx->sse);

    if (rc != S3_OK) {
        ctx->error = ctx->sse->error;
        if (ctx->error.err == S3_OK) {
            ctx->error.err = rc;
        }
        ngx_http_s3_kms_gw_fail(r, ctx, ctx->error.err, ctx->error.message);
        return NGX_ERROR;
    }

    return ngx_http_s3_kms_gw_be_path(r, ctx);
}


/* the backend's path: path style, the key encoded as S3 encodes it */

static ngx_int_t
ngx_http_s3_kms_gw_be_path(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char       *p;
    size_t        i, n;
    u_char        c;
    static const char  hex[] = "0123456789ABCDEF";

    n = 1 + ctx->bucket.len * 3 + 1 + ctx->key.len * 3;

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->be_path.data = p;
    *p++ = '/';

    if (ctx->bucket.len) {
        p = ngx_cpymem(p, ctx->bucket.data, ctx->bucket.len);

        if (ctx->s3->has_key) {
            *p++ = '/';

            for (i = 0; i < ctx->key.len; i++) {
                c = ctx->key.data[i];

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                    || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || c == '/')
                {
                    *p++ = c;

                } else {
                    *p++ = '%';
                    *p++ = hex[c >> 4];
                    *p++ = hex[c & 0xf];
                }
            }

        } else if (ctx->s3->virtual_host || r->uri.len > 1) {
            /* bucket-level request: keep a trailing slash if sent */
            if (!ctx->s3->virtual_host
                && r->uri.data[r->uri.len - 1] == '/')
            {
                *p++ = '/';
            }
        }
    }

    ctx->be_path.len = p - ctx->be_path.data;

    /* the query as sent, without presigned authentication parameters */

    if (r->args.len && ctx->auth->form == S3_SIGV4_QUERY) {
        u_char  *q, *end, *amp, *out;

        out = ngx_pnalloc(r->pool, r->args.len);
        if (out == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->be_query.data = out;
        q = r->args.data;
        end = q + r->args.len;

        while (q < end) {
            amp = ngx_strlchr(q, end, '&');
            if (amp == NULL) {
                amp = end;
            }

            if (!(amp - q >= 6 && ngx_strncasecmp(q, (u_char *) "X-Amz-", 6)
                                  == 0))
            {
                if (out != ctx->be_query.data) {
                    *out++ = '&';
                }
                out = ngx_cpymem(out, q, amp - q);
            }

            q = amp + 1;
        }

        ctx->be_query.len = out - ctx->be_query.data;

    } else {
        ctx->be_query = r->args;
    }

    ctx->be_method = r->method_name;

    return NGX_OK;
}


/*
 * The client's headers the backend may see.  Everything about the
 * client's authentication, framing and checksums stays here; for a body
 * the gateway encrypts, Content-MD5 and checksums (of plaintext) too.
 */

ngx_int_t
ngx_http_s3_kms_gw_forward_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t body_changes)
{
    size_t        i, n;
    s3_header_t  *h;
    static const char  *pass[] = {
        "content-type", "content-disposition", "content-language",
        "cache-control", "expires", "x-amz-acl", "x-amz-storage-class",
        "x-amz-tagging", "x-amz-website-redirect-location",
        "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold", "x-amz-request-payer",
        "x-amz-expected-bucket-owner", "if-match", "if-none-match",
        "if-modified-since", "if-unmodified-since",
        "x-amz-bucket-object-lock-enabled", "x-amz-object-ownership",
        "x-amz-bypass-governance-retention", "x-amz-mfa",
        "x-amz-confirm-remove-self-bucket-access", "x-amz-skip-destination-validation",
        "content-encoding", NULL
    };
    ngx_uint_t    k;

    for (i = 0; i < ctx->nheaders; i++) {
        h = &ctx->headers[i];
        n = h->name.len;

        if (n > 11 && ngx_strncasecmp((u_char *) h->name.data,
                                      (u_char *) "x-amz-meta-", 11) == 0)
        {
            if (ctx->copy && ngx_http_s3_kms_copy_skip_header(ctx, h)) {
                continue;
            }

            goto forward;
        }

        if (n > 11 && ngx_strncasecmp((u_char *) h->name.data,
                                      (u_char *) "x-amz-grant-", 12) == 0)
        {
            goto forward;
        }

        if (!body_changes
            && ((n == 11 && ngx_strncasecmp((u_char *) h->name.data,
                                            (u_char *) "content-md5", 11)
                            == 0)))
        {
            goto forward;
        }

        for (k = 0; pass[k]; k++) {
            if (n == ngx_strlen(pass[k])
                && ngx_strncasecmp((u_char *) h->name.data,
                                   (u_char *) pass[k], n) == 0)
            {
                break;
            }
        }

        if (pass[k] == NULL) {
            continue;
        }

        if (ctx->copy && ngx_http_s3_kms_copy_skip_header(ctx, h)) {
            continue;               /* COPY: the source's instead */
        }

        if (k == sizeof(pass) / sizeof(pass[0]) - 2) {

            /* Content-Encoding without aws-chunked */

            char    enc[256];
            size_t  len;
            u_char *v;

            if (s3_payload_stored_encoding(ctx->headers, ctx->nheaders, enc,
                                           sizeof(enc), &len)
                != S3_OK || len == 0)
            {
                continue;
            }

            v = ngx_pnalloc(r->pool, len);
            if (v == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(v, enc, len);

            if (ngx_http_s3_kms_be_header(ctx, "content-encoding", v, len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

    forward:

        {
            u_char  *name;

            name = ngx_pnalloc(r->pool, n + 1);
            if (name == NULL) {
                return NGX_ERROR;
            }

            ngx_strlow(name, (u_char *) h->name.data, n);
            name[n] = '\0';

            if (ngx_http_s3_kms_be_header(ctx, (char *) name,
                                          h->value.data, h->value.len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* ---- requests relayed as they are ---------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_gw_pass(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {

        /*
         * small bodies (XML, JSON): read, decoded, checked, then sent.
         * Reading holds a reference of its own, which the end of
         * ngx_http_s3_kms_gw_pass_body() releases: the handler's is
         * released now.
         */

        rc = ngx_http_s3_kms_membody_read(r, NGX_HTTP_S3_KMS_PASS_BODY_MAX,
                                          ngx_http_s3_kms_gw_pass_body);

        return rc == NGX_DONE ? NGX_DONE : rc;
    }

    if (r->method & (NGX_HTTP_PUT|NGX_HTTP_POST)) {
        ctx->be_length = 0;
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


/*
 * A body read into memory (ctx->mem), decoded (aws-chunked) and checked
 * (signatures, x-amz-content-sha256, Content-MD5, checksums): S3_OK and
 * the body in *out (pool, NUL-terminated), or S3's error.
 */

s3_err_t
ngx_http_s3_kms_gw_decode_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char **out, size_t *outlen)
{
    u_char             *o;
    size_t              used, off, n;
    s3_err_t            rc;
    s3_str_t            span;
    s3_payload_t       *p;
    s3_payload_conf_t   pc;

    p = ngx_pcalloc(r->pool, sizeof(s3_payload_t));
    o = ngx_pnalloc(r->pool, ctx->mem.len + 1);

    if (p == NULL || o == NULL) {
        return S3_ERR_INTERNAL;
    }

    ngx_memzero(&pc, sizeof(s3_payload_conf_t));
    pc.headers = ctx->headers;
    pc.nheaders = ctx->nheaders;
    pc.auth = ctx->auth->form == S3_SIGV4_HEADER ? ctx->auth : NULL;
    pc.key = ctx->sigkey;

    rc = s3_payload_init(p, &pc);

    off = 0;
    n = 0;

    while (rc == S3_OK && off < ctx->mem.len) {
        rc = s3_payload_feed(p, ctx->mem.body + off, ctx->mem.len - off,
                             &used, &span);

        if (rc == S3_AGAIN) {
            rc = S3_OK;
        }

        if (rc != S3_OK) {
            break;
        }

        ngx_memcpy(o + n, span.data, span.len);
        n += span.len;
        off += used;

        if (used == 0 && span.len == 0) {
            break;
        }
    }

    if (rc == S3_OK) {
        rc = s3_payload_finish(p);
    }

    s3_payload_cleanup(p);

    o[n] = '\0';
    *out = o;
    *outlen = n;

    return rc;
}


/* the same, NGX_OK or NGX_ERROR with ctx->error set */

ngx_int_t
ngx_http_s3_kms_gw_body_decode(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char **out, size_t *outlen)
{
    s3_err_t  rc;

    rc = ngx_http_s3_kms_gw_decode_body(r, ctx, out, outlen);

    if (rc != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_s3_kms_gw_pass_body(ngx_http_request_t *r)
{
    u_char                     *out;
    size_t                      outlen;
    char                        md5b64[S3_CHECKSUM_B64_MAX];
    size_t                      md5len;
    ngx_buf_t                  *b;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx->mem.too_big) {
        /* an XML document S3 reads itself is "too big", not an entity */
        ngx_http_s3_kms_gw_fail(r, ctx,
                                ctx->s3->op == S3_OP_DELETE_OBJECTS
                                ? S3_ERR_MAX_MESSAGE_LENGTH
                                : S3_ERR_ENTITY_TOO_LARGE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (ngx_http_s3_kms_gw_body_decode(r, ctx, &out, &outlen) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    /* DeleteObjects: its keys, so their index entries go with them */

    if (ctx->s3->op == S3_OP_DELETE_OBJECTS
        && ngx_http_s3_kms_bucket_delete_parse(r, ctx, out, outlen) != NGX_OK)
    {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    ctx->be_length = outlen;

    /* the body reaches the backend unchanged: its MD5 goes with it */

    if (s3_checksum_base64(S3_CKSUM_MD5, out, ctx->be_length, md5b64,
                           &md5len)
        == S3_OK)
    {
        u_char  *v = ngx_pnalloc(r->pool, md5len);

        if (v) {
            ngx_memcpy(v, md5b64, md5len);
            (void) ngx_http_s3_kms_be_header(ctx, "content-md5", v, md5len);
        }
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b->start = out;
    b->pos = out;
    b->last = out + ctx->be_length;
    b->memory = 1;
    b->last_buf = 1;
    ctx->be_body = b;

    ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_be_start(r, ctx));
}



/* ---- PutObject ---------------------------------------------------------------- */

/*
 * The body's checks, and its plaintext length within S3's limit, before a
 * byte of it is read: PutObject, UploadPart.
 */

ngx_int_t
ngx_http_s3_kms_gw_put_payload(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t log2f)
{
    int64_t            len;
    s3_err_t           rc;
    s3_payload_conf_t  pc;

    ctx->payload = ngx_pcalloc(r->pool, sizeof(s3_payload_t));
    if (ctx->payload == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&pc, sizeof(s3_payload_conf_t));
    pc.headers = ctx->headers;
    pc.nheaders = ctx->nheaders;
    pc.auth = ctx->auth->form == S3_SIGV4_HEADER ? ctx->auth : NULL;
    pc.key = ctx->sigkey;
    pc.min_chunk_size = 1;

    rc = s3_payload_init(ctx->payload, &pc);

    if (rc != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        return NGX_ERROR;
    }

    ctx->has_payload = 1;

    len = s3_payload_length(ctx->payload);

    if (len < 0) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_MISSING_CONTENT_LENGTH, NULL);
        return NGX_ERROR;
    }

    rc = s3_objfmt_check_len((uint64_t) len, log2f);

    if (rc != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        return NGX_ERROR;
    }

    ctx->plain_len = len;
    ctx->be_length = s3_objfmt_stored_len((uint64_t) len, log2f);

    return NGX_OK;
}


ngx_int_t
ngx_http_s3_kms_gw_put(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_s3_kms_loc_conf_t   *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    ctx->mode = NGX_HTTP_S3_KMS_BE_PUT;

    /* a copy's body is its source's, its length known (copy.c) */

    if (ctx->copy == NULL) {
        rc = ngx_http_s3_kms_gw_put_payload(r, ctx, lcf->frame_log2);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* without SSE headers: the bucket's default (Redis), the location's */

    return ngx_http_s3_kms_bucket_default(r, ctx,
                                          ngx_http_s3_kms_gw_put_key_start);
}


/* the data key, once the request's encryption settings are known */

static ngx_int_t
ngx_http_s3_kms_gw_put_key_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    size_t                        meta;
    kms_call_t                   *call;
    char                         *context;
    ngx_uint_t                    bucket_key;
    ngx_http_s3_kms_worker_t     *w;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    w = mcf->worker;

    bucket_key = (ctx->sse->mode == S3_SSE_KMS && ctx->sse->bucket_key == 1);

    /* user metadata: the client's and ours within S3's 2 KB */

    meta = ctx->sse->meta_size
           + s3_sse_meta_entry_size(sizeof("ssek-v") - 1, 1)
           + s3_sse_meta_entry_size(sizeof("ssek-alg") - 1, 7)
           + s3_sse_meta_entry_size(sizeof("ssek-key") - 1, 100)
           + s3_sse_meta_entry_size(sizeof("ssek-dek") - 1, 128)
           + s3_sse_meta_entry_size(sizeof("ssek-len") - 1, 20)
           + (ctx->sse->ctx.npairs
              ? s3_sse_meta_entry_size(sizeof("ssek-ctx") - 1,
                                       kms_base64_encoded_len(
                                           ctx->sse->ctx.json.len))
              : 0)
           + (bucket_key ? s3_sse_meta_entry_size(sizeof("ssek-bk") - 1, 24)
                         : 0);

    if (meta > S3_META_MAX) {
        char  *num = ngx_pnalloc(r->pool, 24);

        if (num == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        s3_sse_meta_error(&ctx->error, meta, num);
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_METADATA_TOO_LARGE,
                                ctx->error.message);
        return NGX_ERROR;
    }

    if (kms_ctx_state(w->kms) != KMS_RING_READY || !w->subscribed) {
        ctx->error.reason = "the key store is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    /* S3 Bucket Keys: the object's key derives from a bucket key */

    if (bucket_key) {
        return ngx_http_s3_kms_bucket_key_put(r, ctx);
    }

    /* the data key: aws:kms under the client's key, else SSE-S3's */

    if (ngx_http_s3_kms_gw_context(r, ctx, ctx->sse->ctx.json.data,
                                   ctx->sse->ctx.json.len, ctx->arn,
                                   ctx->arn_len, &context)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->sse->mode == S3_SSE_KMS) {
        u_char  *key = NULL;

        if (ctx->sse->has_key_id) {
            key = ngx_pnalloc(r->pool, ctx->sse->key_id.len + 1);
            if (key == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_cpystrn(key, (u_char *) ctx->sse->key_id.data,
                        ctx->sse->key_id.len + 1);
        }

        call = kms_call_generate_data_key(w->kms, &ctx->caller,
                                          (const char *) key, context, 32);

    } else {
        ctx->internal_key = 1;
        call = kms_call_generate_data_key_internal(w->kms, &ctx->caller,
                                                   context, 32);
    }

    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_gw_kms_start(r, ctx, call,
                                        ngx_http_s3_kms_gw_put_key);
}


/*
 * KMS and Redis answers come from the event loop, outside the client
 * connection's handlers: what the request posted meanwhile (the probe
 * subrequest, a parent to wake up) runs here, as upstream handlers do it.
 */

static void
ngx_http_s3_kms_gw_put_key(ngx_http_s3_kms_run_t *run)
{
    ngx_uint_t           async = run->async;
    ngx_connection_t    *c;
    ngx_http_request_t  *r = run->data;

    c = r->connection;

    ngx_http_s3_kms_gw_put_key_handler(run);

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_s3_kms_gw_put_key_handler(ngx_http_s3_kms_run_t *run)
{
    ngx_http_request_t           *r = run->data;

    size_t                        len, blen;
    ngx_int_t                     rc;
    kms_err_t                     err;
    const unsigned char          *dek, *blob;
    ngx_http_s3_kms_gw_ctx_t     *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                kms_call_log(run->call));
        rc = NGX_ERROR;
        goto done;
    }

    dek = kms_call_plaintext(run->call, &len);
    blob = kms_call_blob(run->call, &blen);

    if (dek == NULL || len != 32 || blob == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        rc = NGX_ERROR;
        goto done;
    }

    rc = ngx_http_s3_kms_gw_put_prepare(r, ctx, dek, blob, blen,
                                        kms_call_key_arn(run->call));

done:

    kms_call_free(run->call);          /* wipes the data key */
    run->call = NULL;

    if (rc == NGX_OK) {
        rc = ngx_http_s3_kms_be_start(r, ctx);
    }

    ngx_http_s3_kms_gw_finish(r, ctx, rc);
}


/*
 * The encryptor under the object's data key, and the backend request's
 * headers with the internal metadata of DESIGN.md section 3 (with S3
 * Bucket Keys, ctx->obj.bk holds the object salt and blob is the bucket
 * key's).  The data key is not kept.  NGX_OK: ready for
 * ngx_http_s3_kms_be_start(); NGX_ERROR: ctx->error says why.
 */

ngx_int_t
ngx_http_s3_kms_gw_put_prepare(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const unsigned char *dek,
    const unsigned char *blob, size_t blen, const char *key_arn)
{
    u_char                       *p, lenbuf[NGX_OFF_T_LEN];
    size_t                        len;
    s3_objfmt_rc_t                rc;
    ngx_http_s3_kms_loc_conf_t   *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    rc = s3_objfmt_enc_new(&ctx->enc, dek, (uint64_t) ctx->plain_len, 0,
                           lcf->frame_log2, NULL);

    if (rc != S3_OBJFMT_OK) {
        goto internal;
    }

    ngx_memcpy(ctx->seg_hdr, s3_objfmt_enc_header(ctx->enc),
               S3_OBJFMT_HDR_LEN);

    /* SSE-S3's ETag: the MD5 of the plaintext (a Content-MD5 has it) */

    if (ctx->internal_key && !ctx->payload->has_md5) {
        if (s3_checksum_init(&ctx->md5, S3_CKSUM_MD5) != S3_OK) {
            goto internal;
        }

        ctx->md5_on = 1;
    }

    /* the internal metadata of DESIGN.md section 3 */

    ctx->dek_blob = ngx_pnalloc(r->pool, kms_base64_encoded_len(blen));
    p = ngx_pnalloc(r->pool, ngx_strlen(key_arn) + 1);

    if (ctx->dek_blob == NULL || p == NULL) {
        goto internal;
    }

    ctx->dek_blob_len = kms_base64_encode(blob, blen, (char *) ctx->dek_blob);
    ngx_cpystrn(p, (u_char *) key_arn, ngx_strlen(key_arn) + 1);
    ctx->key_arn = (const char *) p;

    len = ngx_sprintf(lenbuf, "%O", ctx->plain_len) - lenbuf;
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        goto internal;
    }
    ngx_memcpy(p, lenbuf, len);

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 1) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-v",
                                     (u_char *) "1", 1) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-alg",
                                     (u_char *) (ctx->internal_key
                                                 ? "AES256" : "aws:kms"),
                                     ctx->internal_key ? 6 : 7) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-key",
                                     (u_char *) ctx->key_arn,
                                     ngx_strlen(ctx->key_arn)) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-dek",
                                     ctx->dek_blob, ctx->dek_blob_len)
           != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-len", p, len)
           != NGX_OK
        || (ctx->obj.bk.len
            && ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-bk",
                                         ctx->obj.bk.data, ctx->obj.bk.len)
               != NGX_OK))
    {
        goto internal;
    }

    if (ctx->sse->ctx.npairs) {
        ctx->ctx_b64 = ngx_pnalloc(r->pool,
                          kms_base64_encoded_len(ctx->sse->ctx.json.len) + 1);
        if (ctx->ctx_b64 == NULL) {
            goto internal;
        }

        /* NUL-terminated: the index entry takes its ngx_strlen() */

        len = kms_base64_encode(ctx->sse->ctx.json.data,
                                ctx->sse->ctx.json.len,
                                (char *) ctx->ctx_b64);
        ctx->ctx_b64[len] = '\0';

        if (ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-ctx",
                                      ctx->ctx_b64, len)
            != NGX_OK)
        {
            goto internal;
        }
    }

    return NGX_OK;

internal:

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);

    return NGX_ERROR;
}


/* after the backend stored the object: index it, answer like S3 */

void
ngx_http_s3_kms_gw_put_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t  alg, arn, dek, cb, md5, version;

    if (ctx->mpu) {
        /* UploadPart: the part's record, not an object */
        ngx_http_s3_kms_mpu_part_done(r, ctx);
        return;
    }

    if (ctx->internal_key) {
        ngx_str_set(&alg, "AES256");
    } else {
        ngx_str_set(&alg, "aws:kms");
    }

    arn.data = (u_char *) ctx->key_arn;
    arn.len = ngx_strlen(ctx->key_arn);
    dek.data = ctx->dek_blob;
    dek.len = ctx->dek_blob_len;
    cb.data = ctx->ctx_b64;
    cb.len = ctx->ctx_b64 ? ngx_strlen(ctx->ctx_b64) : 0;
    md5.data = ctx->md5_hex;
    md5.len = ctx->md5_done ? 32 : 0;

    /* PutObject, or a CopyObject's target: the version it created */

    ngx_http_s3_kms_gw_be_version(r, &version);

    ngx_http_s3_kms_gw_index_write(r, ctx, &ctx->obj.etag, ctx->plain_len,
                                   ctx->be_length, ctx->seg_hdr, &alg, &arn,
                                   &dek, &cb, &md5, &version);
}


/*
 * The version id the backend's answer gives the object it stored: none
 * (an empty string) in an unversioned bucket, where S3 sends no
 * x-amz-version-id and some stores send "null", the name of the one
 * version such a bucket keeps (indexed without a version).
 */

static void
ngx_http_s3_kms_gw_be_version(ngx_http_request_t *r, ngx_str_t *version)
{
    ngx_table_elt_t  *h;

    ngx_str_null(version);

    if (r->upstream == NULL) {
        return;
    }

    h = ngx_http_s3_kms_list_header(&r->upstream->headers_in.headers,
                                    "x-amz-version-id");

    if (h != NULL && h->value.len > 0
        && !(h->value.len == 4 && ngx_strncmp(h->value.data, "null", 4) == 0))
    {
        *version = h->value;
    }
}


/*
 * The index entry of an object (a cache of what the backend holds: the
 * answer does not wait for it).  Every field is written, so nothing of an
 * older object under the key survives.
 *
 * With a version id (a PUT to a versioned bucket) the same entry goes
 * also under ssek:obj:{BUCKET}:KEY:VERSION, which a GET or HEAD
 * ?versionId= of it reads: a second HSET pipelined behind the first on
 * the same connection, not a MULTI.  Each entry is whole by itself and
 * describes one stored object, so no reader can see the two half
 * written; a failure between them leaves a miss, as the loss of any
 * entry does (rebuilt from the backend).  The versioned key is new (S3
 * never gives a version id twice), so no older fields linger there.
 */

static void
ngx_http_s3_kms_gw_index_write(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *etag, off_t len, off_t stored,
    u_char *hdr, ngx_str_t *alg, ngx_str_t *key_arn, ngx_str_t *dek,
    ngx_str_t *cb, ngx_str_t *md5, ngx_str_t *version)
{
    u_char                        lenbuf[NGX_OFF_T_LEN], stbuf[NGX_OFF_T_LEN];
    u_char                       *p;
    const char                   *argv[26];
    size_t                        argvlen[26];
    ngx_str_t                     key, vkey;
    ngx_uint_t                    n;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    /* a backend that sends no ETag (a plain DAV server) is indexed too */

    if (mcf->worker == NULL
        || ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK)
    {
        return;
    }

    n = 0;
#define arg(s, l)  argv[n] = (const char *) (s); argvlen[n++] = (l)

    arg("HSET", 4);
    arg(key.data, key.len);
    arg("etag", 4);
    arg(etag->data, etag->len);
    arg("len", 3);
    arg(lenbuf, ngx_sprintf(lenbuf, "%O", len) - lenbuf);
    arg("stored", 6);
    arg(stbuf, ngx_sprintf(stbuf, "%O", stored) - stbuf);
    arg("hdr", 3);
    arg(hdr, S3_OBJFMT_HDR_LEN);
    arg("alg", 3);
    arg(alg->data, alg->len);
    arg("key", 3);
    arg(key_arn->data, key_arn->len);
    arg("dek", 3);
    arg(dek->data, dek->len);
    arg("ctx", 3);
    arg(cb->len ? cb->data : (u_char *) "", cb->len);
    arg("md5", 3);
    arg(md5->len ? md5->data : (u_char *) "", md5->len);
    arg("parts", 5);            /* no multipart object's table survives */
    arg("", 0);
    arg("bk", 2);
    arg(ctx->obj.bk.len ? ctx->obj.bk.data : (u_char *) "", ctx->obj.bk.len);
#undef arg

    for ( ;; ) {
        if (ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n, argv,
                                       argvlen,
                                       ngx_http_s3_kms_gw_index_written,
                                       mcf->worker)
            == NULL)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "s3_kms: %V/%V not indexed: Redis is down",
                          &ctx->bucket, &ctx->key);
            return;
        }

        if (version == NULL || version->len == 0
            || argv[1] != (const char *) key.data)
        {
            return;
        }

        /* the same entry under the version's key */

        vkey.len = key.len + 1 + version->len;
        vkey.data = ngx_pnalloc(r->pool, vkey.len);
        if (vkey.data == NULL) {
            return;
        }

        p = ngx_cpymem(vkey.data, key.data, key.len);
        *p++ = ':';
        ngx_memcpy(p, version->data, version->len);

        argv[1] = (const char *) vkey.data;
        argvlen[1] = vkey.len;
    }
}


static void
ngx_http_s3_kms_gw_index_written(void *data, redisReply *reply)
{
    ngx_http_s3_kms_worker_t  *w = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "s3_kms: an object index write failed");
    }
}


static void
ngx_http_s3_kms_gw_index_del(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[5];
    size_t                        argvlen[5];
    ngx_str_t                     key;
    ngx_uint_t                    n;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mcf->worker == NULL
        || ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK)
    {
        return;
    }

    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    n = 2;

    if (ctx->s3->op == S3_OP_DELETE_OBJECT && ctx->s3->has_version
        && !ngx_http_s3_kms_gw_null_version(ctx)
        && key.len > ctx->s3->version_id.len + 1)
    {
        /*
         * DeleteObject ?versionId=V: V's entry, and the key's entry too
         * when it is V's (the same backend ETag: the latest version was
         * deleted), which a GET would otherwise send with an If-Match
         * the version now served fails.  An entry of another version is
         * kept: the latest multipart object's manifest-verified table.
         */

        argv[0] = "EVAL";
        argvlen[0] = 4;
        argv[1] = "local e = redis.call('HGET', KEYS[2], 'etag') "
                  "if e and e == redis.call('HGET', KEYS[1], 'etag') then "
                  "redis.call('DEL', KEYS[1]) end "
                  "return redis.call('DEL', KEYS[2])";
        argvlen[1] = ngx_strlen(argv[1]);
        argv[2] = "2";
        argvlen[2] = 1;
        argv[3] = (const char *) key.data;
        argvlen[3] = key.len - 1 - ctx->s3->version_id.len;
        argv[4] = (const char *) key.data;
        argvlen[4] = key.len;
        n = 5;
    }

    (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n, argv,
                                      argvlen,
                                      ngx_http_s3_kms_gw_index_written,
                                      mcf->worker);
}


/*
 * ssek:obj:{BUCKET}:KEY[:VERSION].  S3 names "null" the version of an
 * object written while its bucket was unversioned: the entry without a
 * version, unless a later PUT to the versioned bucket replaced it (GET
 * and HEAD check before they use it, ngx_http_s3_kms_gw_null_confirmed()).
 * While that is not confirmed the "null" version has no entry
 * (NGX_DECLINED): nothing is written back for it over the latest's.
 */

ngx_int_t
ngx_http_s3_kms_gw_index_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *out)
{
    u_char      *p;
    ngx_uint_t   version;

    version = ctx->s3->has_version;

    if (version && ngx_http_s3_kms_gw_null_version(ctx)) {
        if (ctx->null_check == NGX_HTTP_S3_KMS_NULL_PROBING
            || ctx->null_check == NGX_HTTP_S3_KMS_NULL_OTHER)
        {
            return NGX_DECLINED;
        }

        version = 0;
    }

    out->len = sizeof("ssek:obj:{}:") - 1 + ctx->bucket.len + ctx->key.len;

    if (version) {
        out->len += 1 + ctx->s3->version_id.len;
    }

    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(out->data, "ssek:obj:{%V}:%V", &ctx->bucket, &ctx->key);

    if (version) {
        *p++ = ':';
        p = ngx_cpymem(p, ctx->s3->version_id.data, ctx->s3->version_id.len);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_s3_kms_gw_null_version(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    return ctx->s3->has_version && ctx->s3->version_id.len == 4
           && ngx_strncmp(ctx->s3->version_id.data, "null", 4) == 0;
}


/*
 * ?versionId=null, after the probe: 1 when the backend's ETag of the
 * "null" version is the one of the unversioned index entry, which is then
 * read again and used as for a request without a version (the HGETALL
 * was sent); 0: the request goes on with what the probe found.
 */

static ngx_uint_t
ngx_http_s3_kms_gw_null_confirmed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t               key;
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    if ((o->status != NGX_HTTP_OK && o->status != NGX_HTTP_PARTIAL_CONTENT)
        || !o->encrypted || !ngx_http_s3_kms_etag_equal(&o->etag,
                                                        &ctx->null_etag))
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "s3_kms: %V/%V?versionId=null: the index entry is "
                       "another version's", &ctx->bucket, &ctx->key);
        return 0;
    }

    ctx->null_check = NGX_HTTP_S3_KMS_NULL_CONFIRMED;

    if (ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK) {
        ctx->null_check = NGX_HTTP_S3_KMS_NULL_OTHER;
        return 0;
    }

    if (ngx_http_s3_kms_gw_index_read(r, ctx, &key) != NGX_OK) {
        ctx->null_check = NGX_HTTP_S3_KMS_NULL_OTHER;
        return 0;
    }

    ngx_memzero(o, sizeof(ngx_http_s3_kms_obj_t));
    o->len = -1;
    o->stored = -1;
    o->total = -1;

    return 1;
}


/* ---- GetObject and HeadObject ------------------------------------------------------ */

static ngx_int_t
ngx_http_s3_kms_gw_get(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t  key;

    ctx->mode = r->method == NGX_HTTP_HEAD ? NGX_HTTP_S3_KMS_BE_HEAD
                                           : NGX_HTTP_S3_KMS_BE_GET;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* ?partNumber: the gateway knows an encrypted object's parts */

    if (ctx->s3->part_number && ngx_http_s3_kms_mpu_get(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_s3_kms_gw_index_read(r, ctx, &key) != NGX_OK) {

        if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {
            /* HEAD needs neither the index nor the KMS */
            return ngx_http_s3_kms_be_start(r, ctx);
        }

        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* the object's index entry asked of Redis; the answer to ..._index_reply */

static ngx_int_t
ngx_http_s3_kms_gw_index_read(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *key)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    argv[0] = "HGETALL";
    argvlen[0] = 7;
    argv[1] = (const char *) key->data;
    argvlen[1] = key->len;

    ctx->redis_req = ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv,
                                                argvlen,
                                                ngx_http_s3_kms_gw_index_reply,
                                                r);

    return ctx->redis_req != NULL ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_s3_kms_gw_index_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;
    ngx_connection_t    *c;

    c = r->connection;

    ngx_http_s3_kms_gw_index_handler(r, reply);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_s3_kms_gw_index_handler(ngx_http_request_t *r, redisReply *reply)
{
    size_t                     i;
    ngx_str_t                  f, v;
    redisReply                *e;
    ngx_http_s3_kms_obj_t     *o;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    ctx->redis_req = NULL;
    o = &ctx->obj;

    if (reply == NULL && ctx->mode != NGX_HTTP_S3_KMS_BE_HEAD) {
        ctx->error.reason = "Redis did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (ctx->null_check == NGX_HTTP_S3_KMS_NULL_UNKNOWN
        && ngx_http_s3_kms_gw_null_version(ctx))
    {
        /* until the entry is known to be the version's, it has none */
        ctx->null_check = NGX_HTTP_S3_KMS_NULL_OTHER;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 2
        && ctx->null_check == NGX_HTTP_S3_KMS_NULL_OTHER)
    {
        /*
         * ?versionId=null: the entry is the version's only if the backend
         * says so (its ETag, from the probe); until then a miss.
         */

        for (i = 0; i + 1 < reply->elements; i += 2) {
            e = reply->element[i];

            if (e->type == REDIS_REPLY_STRING && e->len == 4
                && ngx_strncmp(e->str, "etag", 4) == 0
                && reply->element[i + 1]->type == REDIS_REPLY_STRING
                && reply->element[i + 1]->len > 0)
            {
                ctx->null_etag.len = reply->element[i + 1]->len;
                ctx->null_etag.data = ngx_pnalloc(r->pool,
                                                  ctx->null_etag.len);
                if (ctx->null_etag.data == NULL) {
                    ngx_http_s3_kms_gw_finish(r, ctx,
                                              NGX_HTTP_INTERNAL_SERVER_ERROR);
                    return;
                }

                ngx_memcpy(ctx->null_etag.data, reply->element[i + 1]->str,
                           ctx->null_etag.len);
                ctx->null_check = NGX_HTTP_S3_KMS_NULL_PROBING;
                goto miss;
            }
        }
    }

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 2)
    {

        for (i = 0; i + 1 < reply->elements; i += 2) {
            e = reply->element[i];
            if (e->type != REDIS_REPLY_STRING
                || reply->element[i + 1]->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            f.data = (u_char *) e->str;
            f.len = e->len;

            v.len = reply->element[i + 1]->len;
            v.data = ngx_pnalloc(r->pool, v.len + 1);
            if (v.data == NULL) {
                ngx_http_s3_kms_gw_finish(r, ctx,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            ngx_memcpy(v.data, reply->element[i + 1]->str, v.len);
            v.data[v.len] = '\0';

#define is(lit)  (f.len == sizeof(lit) - 1 && ngx_strncmp(f.data, lit, f.len) == 0)

            if (is("etag")) {
                o->etag = v;
            } else if (is("len")) {
                o->len = ngx_atoof(v.data, v.len);
            } else if (is("stored")) {
                o->stored = ngx_atoof(v.data, v.len);
            } else if (is("hdr") && v.len == S3_OBJFMT_HDR_LEN) {
                ngx_memcpy(o->hdr, v.data, v.len);
                o->hdr_len = v.len;
            } else if (is("alg")) {
                o->alg = v;
            } else if (is("key")) {
                o->key_arn = v;
            } else if (is("dek")) {
                o->dek = v;
            } else if (is("ctx")) {
                o->ctx = v;
            } else if (is("md5") && v.len == 32) {
                ctx->idx_md5 = v;
            } else if (is("bk")) {
                o->bk = v;

            } else if (ngx_http_s3_kms_mpu_index_field(r, ctx, &f, &v)
                       != NGX_OK)
            {
                ngx_http_s3_kms_gw_finish(r, ctx,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }
#undef is
        }

        ctx->idx_etag = o->etag;

        /* an object stored in parts: its part table is in the index */

        if (ngx_http_s3_kms_mpu_indexed(r, ctx)) {
            return;
        }

        if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {
            goto head;
        }

        if (o->len >= 0 && o->hdr_len && o->dek.len
            && o->key_arn.len && o->alg.len)
        {
            o->found = 1;
            o->encrypted = 1;
            ctx->index_hit = 1;
            ngx_http_s3_kms_gw_got_object(r, ctx);
            return;
        }
    }

    /* not in the index: ask the backend */

miss:

    ngx_memzero(o, sizeof(ngx_http_s3_kms_obj_t));
    o->len = -1;
    o->stored = -1;
    o->total = -1;
    ngx_str_null(&ctx->idx_etag);
    ngx_str_null(&ctx->idx_md5);

    /*
     * HEAD without Redis goes to the backend at once; an object the
     * index does not know is probed first, as for GET: a multipart
     * object's plaintext length is in its segment headers only.
     */

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD && reply == NULL) {
        goto head;
    }

    if (ngx_http_s3_kms_gw_probe(r, ctx) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    return;

head:

    ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_gw_head(r, ctx));
}


/* HEAD: the backend's metadata, the index's ETag where it knows it */

ngx_int_t
ngx_http_s3_kms_gw_head(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    ngx_memzero(o, sizeof(ngx_http_s3_kms_obj_t));
    o->len = -1;
    o->stored = -1;
    o->total = -1;

    if (ngx_http_s3_kms_gw_conditionals(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


ngx_int_t
ngx_http_s3_kms_gw_probe(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_s3_kms_gw_probe_done;
    ps->data = ctx;

    if (ngx_http_subrequest(r, &r->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->probing = 1;
    r->write_event_handler = ngx_http_s3_kms_gw_resume;

    return NGX_OK;
}


/* the probe subrequest: GET bytes=0-71 of the object, kept in memory */

static ngx_int_t
ngx_http_s3_kms_gw_probe_handler(ngx_http_request_t *r)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx, *pctx;

    pctx = ngx_http_get_module_ctx(r->main, ngx_http_s3_kms_module);

    if (pctx != NULL && pctx->copy) {
        ngx_int_t  rc = ngx_http_s3_kms_copy_sub_handler(r, pctx);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (pctx != NULL && pctx->mpu) {
        ngx_int_t  rc = ngx_http_s3_kms_mpu_sub_handler(r, pctx);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (pctx == NULL || !pctx->probing) {
        return NGX_HTTP_NOT_FOUND;
    }

    ctx = ngx_http_s3_kms_gw_sub_ctx(r, pctx, NGX_HTTP_S3_KMS_BE_PROBE);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (pctx->listing) {
        /* a listing: the client's headers, the whole document kept */

        ngx_keyval_t  *kv;
        ngx_uint_t     i;

        ctx->mode = NGX_HTTP_S3_KMS_BE_LIST;
        kv = pctx->be_headers.elts;

        for (i = 0; i < pctx->be_headers.nelts; i++) {
            if (ngx_http_s3_kms_be_header(ctx, (char *) kv[i].key.data,
                                          kv[i].value.data, kv[i].value.len)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        return ngx_http_s3_kms_be_start(r, ctx);
    }

    if (ngx_http_s3_kms_be_header(ctx, "range", (u_char *) "bytes=0-71", 10)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


static ngx_int_t
ngx_http_s3_kms_gw_probe_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_s3_kms_gw_ctx_t  *pctx = data;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx != NULL && r->upstream) {
        pctx->obj = ctx->obj;
        pctx->obj.status = r->upstream->headers_in.status_n;
        pctx->list_data = ctx->list_data;
        pctx->list_len = ctx->list_len;
        pctx->list_status = (rc == NGX_OK) ? r->upstream->headers_in.status_n
                                           : 0;
    }

    return rc;
}


static void
ngx_http_s3_kms_gw_resume(ngx_http_request_t *r)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx == NULL || !ctx->probing) {
        return;
    }

    ctx->probing = 0;
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_s3_kms_gw_got_object(r, ctx);
}


/* what to do once the object's metadata is known */

static void
ngx_http_s3_kms_gw_got_object(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                       *blob, *pairs;
    long                          blen, plen;
    char                         *context;
    s3_err_t                      rc;
    ngx_int_t                     n;
    ngx_table_elt_t              *range;
    kms_call_t                   *call;
    s3_objfmt_hdr_t               hdr;
    ngx_http_s3_kms_obj_t        *o = &ctx->obj;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ctx->s3->cls == S3_CLASS_BUCKET_ENCRYPTION) {
        ngx_http_s3_kms_bucket_checked(r, ctx);
        return;
    }

    if (ctx->listing) {
        ngx_http_s3_kms_gw_list_got(r, ctx);
        return;
    }

    if (ctx->null_check == NGX_HTTP_S3_KMS_NULL_PROBING) {
        ctx->null_check = NGX_HTTP_S3_KMS_NULL_OTHER;

        if (ngx_http_s3_kms_gw_null_confirmed(r, ctx)) {
            return;
        }
    }

    /* multipart objects: the part table is rebuilt from the backend */

    if (!ctx->index_hit && ngx_http_s3_kms_mpu_probed(r, ctx)) {
        return;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {
        /* probed: HEAD asks the backend for the metadata itself */
        ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_gw_head(r, ctx));
        return;
    }

    if (!ctx->index_hit) {

        if (o->status != NGX_HTTP_OK && o->status != NGX_HTTP_PARTIAL_CONTENT) {
            /* missing, refused, empty, ...: the backend answers itself */
            ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;
            goto pass;
        }

        if (!o->encrypted) {

            /*
             * Stored bytes in our format without our metadata: the
             * remains of a PUT a backend kept although it was aborted
             * (one that writes streams in place), or metadata stripped.
             * Never served raw as if it were the object.
             */

            if (o->hdr_len == S3_OBJFMT_HDR_LEN
                && s3_objfmt_hdr_parse(o->hdr, S3_OBJFMT_HDR_LEN, &hdr)
                   == S3_OBJFMT_OK)
            {
                ctx->error.reason = "stored in the gateway's format, but "
                                    "without its metadata";
                ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL,
                                        "The object cannot be decrypted.");
                ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
                return;
            }

            /* written before the gateway: served as it is */
            ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;
            goto pass;
        }

        if (o->hdr_len != S3_OBJFMT_HDR_LEN || o->len < 0 || o->dek.len == 0
            || o->key_arn.len == 0)
        {
            ctx->error.reason = "incomplete encryption metadata";
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }
    }

    /*
     * The metadata's length must be the header's: the header's is
     * authenticated by every frame, the metadata's by nothing, and the
     * answer's length comes from it (a shortened ssek-len would drop the
     * object's end without an error).
     */

    if (s3_objfmt_hdr_parse(o->hdr, S3_OBJFMT_HDR_LEN, &hdr) != S3_OBJFMT_OK
        || hdr.len != (uint64_t) o->len || hdr.part != 0)
    {
        ctx->error.reason = "the metadata does not match the stored header";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL,
                                "The object cannot be decrypted.");
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    /* the client's Range against the plaintext length */

    range = ngx_http_s3_kms_find_header(r, "range");

    rc = s3_objfmt_range_parse(range ? (const char *) range->value.data
                                     : NULL,
                               range ? range->value.len : 0,
                               (uint64_t) o->len, &ctx->range);

    if (rc == S3_OK && ctx->s3->part_number
        && ngx_http_s3_kms_mpu_single_part(r, ctx) != NGX_OK)
    {
        rc = ctx->error.err;
    }

    if (rc != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, rc, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    /* the data key: KMS Decrypt with the context rebuilt from the request */

    blob = ngx_pnalloc(r->pool, o->dek.len);
    pairs = ngx_pnalloc(r->pool, o->ctx.len + 1);

    if (blob == NULL || pairs == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    blen = kms_base64_decode((const char *) o->dek.data, o->dek.len, blob,
                             o->dek.len);
    plen = o->ctx.len ? kms_base64_decode((const char *) o->ctx.data,
                                          o->ctx.len, pairs, o->ctx.len)
                      : 0;

    if (blen <= 0 || plen < 0) {
        ctx->error.reason = "damaged encryption metadata";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (o->bk.len) {
        /* S3 Bucket Keys: the blob is the bucket key's (DESIGN.md 3) */
        n = ngx_http_s3_kms_bucket_get_context(r, ctx, pairs, plen,
                                                &context);

    } else {
        n = ngx_http_s3_kms_gw_context(r, ctx, pairs, plen, ctx->arn,
                                       ctx->arn_len, &context);
    }

    if (n != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (kms_ctx_state(mcf->worker->kms) != KMS_RING_READY
        || !mcf->worker->subscribed)
    {
        ctx->error.reason = "the key store is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    ctx->internal_key = (o->alg.len == 6
                         && ngx_strncmp(o->alg.data, "AES256", 6) == 0);

    if (ctx->internal_key) {
        call = kms_call_decrypt_blob_internal(mcf->worker->kms, &ctx->caller,
                                              blob, blen, context);
    } else {
        call = kms_call_decrypt_blob(mcf->worker->kms, &ctx->caller, blob,
                                     blen, context);
    }

    if (call == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    n = ngx_http_s3_kms_gw_kms_start(r, ctx, call,
                                     ngx_http_s3_kms_gw_get_key);

    if (n != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, n);
    }

    return;

pass:

    /* a plaintext object (or none): the backend answers the Range itself */

    ngx_http_s3_kms_mpu_plain_query(r, ctx);

    range = ngx_http_s3_kms_find_header(r, "range");

    if (range != NULL
        && ngx_http_s3_kms_be_header(ctx, "range", range->value.data,
                                     range->value.len)
           != NGX_OK)
    {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_be_start(r, ctx));
}


static void
ngx_http_s3_kms_gw_get_key(ngx_http_s3_kms_run_t *run)
{
    ngx_uint_t           async = run->async;
    ngx_connection_t    *c;
    ngx_http_request_t  *r = run->data;

    c = r->connection;

    ngx_http_s3_kms_gw_get_key_handler(run);

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_s3_kms_gw_get_key_handler(ngx_http_s3_kms_run_t *run)
{
    ngx_http_request_t          *r = run->data;

    u_char                       objdek[32];
    size_t                       len;
    ngx_int_t                    rc;
    kms_err_t                    err;
    const unsigned char         *dek;
    ngx_http_s3_kms_gw_ctx_t    *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                kms_call_log(run->call));
        kms_call_free(run->call);
        run->call = NULL;
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    dek = kms_call_plaintext(run->call, &len);

    if (dek != NULL && len == 32 && ctx->obj.bk.len) {
        rc = ngx_http_s3_kms_bucket_get_dek(r, ctx, dek, objdek);
        dek = (rc == NGX_OK) ? objdek : NULL;
    }

    rc = (dek != NULL && len == 32)
         ? ngx_http_s3_kms_gw_get_start(r, ctx, dek) : NGX_ERROR;

    kms_wipe(objdek, sizeof(objdek));

    if (rc == NGX_DONE && !ctx->index_hit) {

        /* found by the probe, its data key opened: index it again */

        ngx_http_s3_kms_obj_t  *o = &ctx->obj;
        ngx_str_t               md5 = ngx_null_string;

        ngx_http_s3_kms_gw_index_write(r, ctx, &o->etag, o->len,
                          (off_t) s3_objfmt_stored_len((uint64_t) o->len,
                                                       o->hdr[6]),
                          o->hdr, &o->alg, &o->key_arn, &o->dek, &o->ctx,
                          &md5, NULL);
    }

    kms_call_free(run->call);          /* wipes the data key */
    run->call = NULL;

    ngx_http_s3_kms_gw_finish(r, ctx, rc);
}


/* the decryptor, and the ranged backend GET of the frames it needs */

static ngx_int_t
ngx_http_s3_kms_gw_get_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const unsigned char *dek)
{
    u_char          *p;
    uint64_t         off, len, soff, slen;
    s3_objfmt_rc_t   rc;

    if (ctx->range.partial) {
        off = ctx->range.first;
        len = ctx->range.last - ctx->range.first + 1;

    } else {
        off = 0;
        len = (uint64_t) ctx->obj.len;
    }

    rc = s3_objfmt_dec_new(&ctx->dec, dek, 0, ctx->obj.hdr, 0, off, len);

    if (rc == S3_OBJFMT_OK) {
        rc = s3_objfmt_dec_span(ctx->dec, &soff, &slen);
    }

    if (rc != S3_OBJFMT_OK) {
        ctx->error.reason = s3_objfmt_strerror(rc);
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL,
                                "The object cannot be decrypted.");
        return NGX_ERROR;
    }

    ctx->plain_len = len;

    p = ngx_pnalloc(r->pool, sizeof("bytes=-") - 1 + 2 * NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_s3_kms_be_header(ctx, "range", p,
                                  ngx_sprintf(p, "bytes=%uL-%uL", soff,
                                              soff + slen - 1) - p)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_s3_kms_gw_conditionals(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the object the metadata came from, not one written since */

    if (ctx->obj.etag.len
        && ngx_http_s3_kms_find_header(r, "if-match") == NULL
        && ngx_http_s3_kms_be_header(ctx, "if-match", ctx->obj.etag.data,
                                     ctx->obj.etag.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


/* ---- the backend's response headers, as the client sees them -------------------- */

ngx_int_t
ngx_http_s3_kms_gw_response_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                *p;
    ngx_str_t              alg;
    ngx_uint_t             status;
    ngx_http_upstream_t   *u;
    ngx_http_s3_kms_obj_t *o = &ctx->obj;

    u = r->upstream;
    status = u->headers_in.status_n;

    switch (ctx->mode) {

    case NGX_HTTP_S3_KMS_BE_COPY_SRC:
        return ngx_http_s3_kms_copy_src_headers(r, ctx);

    case NGX_HTTP_S3_KMS_BE_PROBE:
    case NGX_HTTP_S3_KMS_BE_LIST:
        /*
         * In-memory subrequests whose Content-Length is over
         * subrequest_output_buffer_size fail, though our filters keep
         * the body and output none of it
         */
        u->headers_in.content_length_n = -1;
        return NGX_OK;

    case NGX_HTTP_S3_KMS_BE_PASS:
        if (ctx->s3 && ctx->s3->op == S3_OP_DELETE_OBJECT
            && status >= 200 && status < 300)
        {
            ngx_http_s3_kms_gw_index_del(r, ctx);
        }

        if (ctx->s3 && ctx->s3->op == S3_OP_ABORT_MULTIPART_UPLOAD
            && ((status >= 200 && status < 300)
                || status == NGX_HTTP_NOT_FOUND))
        {
            ngx_http_s3_kms_mpu_aborted(r, ctx);
        }

        if (ctx->s3 && status >= 200 && status < 300) {
            ngx_http_s3_kms_bucket_pass_done(r, ctx);
        }

        return NGX_OK;

    case NGX_HTTP_S3_KMS_BE_PUT:
        if (status < 200 || status >= 300) {
            return NGX_OK;
        }

        /* S3 answers PutObject 200, whatever a WebDAV-like store says */

        if (status != NGX_HTTP_OK) {
            u->headers_in.status_n = NGX_HTTP_OK;
            u->headers_in.status_line.len = 0;
        }

        if (ctx->internal_key) {
            ngx_str_set(&alg, "AES256");
        } else {
            ngx_str_set(&alg, "aws:kms");
        }

        {
            ngx_str_t  arn;

            arn.data = (u_char *) ctx->key_arn;
            arn.len = ngx_strlen(ctx->key_arn);

            if (ngx_http_s3_kms_gw_sse_headers(r, ctx, &alg, &arn,
                                               ctx->obj.bk.len != 0)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (ctx->sse->has_context && !ctx->internal_key) {
            ngx_table_elt_t  *h;

            h = ngx_http_s3_kms_find_header(r,
                                  "x-amz-server-side-encryption-context");
            if (h && ngx_http_s3_kms_gw_header_add(r,
                          "x-amz-server-side-encryption-context",
                          h->value.data, h->value.len)
                     != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        {
            s3_str_t           v;
            s3_checksum_alg_t  a;

            /* S3 echoes the checksum the client sent (of plaintext) */

            a = s3_payload_checksum(ctx->payload, &v);

            if (a != S3_CKSUM_NONE && a != S3_CKSUM_MD5
                && ngx_http_s3_kms_gw_header_add(r, s3_checksum_header(a),
                                                 (u_char *) v.data, v.len)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (ctx->md5_done && u->headers_in.etag) {
            p = ngx_pnalloc(r->pool, 34);
            if (p == NULL) {
                return NGX_ERROR;
            }

            p[0] = '"';
            ngx_memcpy(p + 1, ctx->md5_hex, 32);
            p[33] = '"';
            u->headers_in.etag->value.data = p;
            u->headers_in.etag->value.len = 34;
        }

        u->headers_in.content_length_n = 0;

        if (ctx->copy) {
            /* CopyObjectResult, CopyPartResult */
            return ngx_http_s3_kms_copy_response(r, ctx);
        }

        return NGX_OK;

    case NGX_HTTP_S3_KMS_BE_HEAD:
    case NGX_HTTP_S3_KMS_BE_GET:
        break;
    }

    if (status == NGX_HTTP_NOT_MODIFIED
        && ngx_http_s3_kms_gw_md5_etag(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_PRECONDITION_FAILED && ctx->dec
        && ngx_http_s3_kms_find_header(r, "if-match") == NULL)
    {
        /* our If-Match: the object changed since the index saw it */

        if (ctx->mpu) {
            ngx_http_s3_kms_mpu_changed(r, ctx);

        } else {
            ngx_http_s3_kms_gw_index_del(r, ctx);
        }
        ctx->error.err = S3_ERR_SLOW_DOWN;
        ctx->error.reason = "the object changed while it was read";
        return NGX_ERROR;
    }

    if (status != NGX_HTTP_OK && status != NGX_HTTP_PARTIAL_CONTENT) {
        return NGX_OK;      /* 304, errors: as the backend answers */
    }

    if (ctx->mpu) {
        if (ngx_http_s3_kms_mpu_response_headers(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (!o->encrypted) {

        if (ctx->dec) {
            /* replaced by a plaintext object since the probe */
            ctx->error.err = S3_ERR_SLOW_DOWN;
            ctx->error.reason = "the object changed while it was read";
            return NGX_ERROR;
        }

        /* HEAD of an object written before the gateway */
        u->headers_in.content_length_n = o->stored;
        return NGX_OK;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {
        if (o->len < 0) {
            ctx->error.err = S3_ERR_INTERNAL;
            ctx->error.reason = "no plaintext length in the metadata";
            return NGX_ERROR;
        }

        u->headers_in.content_length_n = o->len;
        u->headers_in.status_n = NGX_HTTP_OK;
        u->headers_in.status_line.len = 0;

    } else {
        if (ctx->dec == NULL) {
            ctx->error.err = S3_ERR_INTERNAL;
            return NGX_ERROR;
        }

        u->headers_in.content_length_n = ctx->plain_len;
        u->headers_in.status_line.len = 0;

        if (ctx->range.partial) {
            u->headers_in.status_n = NGX_HTTP_PARTIAL_CONTENT;

            p = ngx_pnalloc(r->pool, sizeof("bytes -/") - 1
                                     + 3 * NGX_OFF_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (ngx_http_s3_kms_gw_header_add(r, "Content-Range", p,
                          ngx_sprintf(p, "bytes %uL-%uL/%O",
                                      ctx->range.first, ctx->range.last,
                                      o->len) - p)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else {
            u->headers_in.status_n = NGX_HTTP_OK;
        }

        /* the upstream reads the stored bytes, the client gets plaintext */
    }

    if (ctx->mpu && ngx_http_s3_kms_mpu_response_part(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_s3_kms_gw_sse_headers(r, ctx, &o->alg, &o->key_arn,
                                       o->bk.len != 0)
        != NGX_OK
        || ngx_http_s3_kms_gw_md5_etag(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * An SSE-S3 object's ETag is its plaintext's MD5, as on S3, where the
 * index knows it and the backend still holds the object it indexed.
 */

static ngx_int_t
ngx_http_s3_kms_gw_md5_etag(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char               *p;
    ngx_table_elt_t      *etag;
    ngx_http_upstream_t  *u;

    u = r->upstream;
    etag = u->headers_in.etag;

    if (ctx->idx_md5.len != 32 || etag == NULL
        || etag->value.len != ctx->idx_etag.len
        || ngx_strncmp(etag->value.data, ctx->idx_etag.data,
                       ctx->idx_etag.len) != 0)
    {
        return NGX_OK;
    }

    if (ctx->obj.alg.len && !(ctx->obj.alg.len == 6
                              && ngx_strncmp(ctx->obj.alg.data, "AES256", 6)
                                 == 0))
    {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, 34);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p[0] = '"';
    ngx_memcpy(p + 1, ctx->idx_md5.data, 32);
    p[33] = '"';

    etag->value.data = p;
    etag->value.len = 34;

    return NGX_OK;
}


/*
 * A client's If-Match or If-None-Match naming the MD5 ETag of an SSE-S3
 * object names the backend's ETag of it for the backend.
 */

static ngx_int_t
ngx_http_s3_kms_gw_conditionals(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char        *v;
    size_t         len;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    if (ctx->idx_md5.len != 32 || ctx->idx_etag.len == 0) {
        return NGX_OK;
    }

    kv = ctx->be_headers.elts;

    for (i = 0; i < ctx->be_headers.nelts; i++) {

        if (!((kv[i].key.len == 8
               && ngx_strncmp(kv[i].key.data, "if-match", 8) == 0)
              || (kv[i].key.len == 13
                  && ngx_strncmp(kv[i].key.data, "if-none-match", 13) == 0)))
        {
            continue;
        }

        v = kv[i].value.data;
        len = kv[i].value.len;

        if (len >= 2 && v[0] == 'W' && v[1] == '/') {
            v += 2;
            len -= 2;
        }

        if (len == 34 && v[0] == '"' && v[33] == '"') {
            v++;
            len -= 2;
        }

        if (len == 32 && ngx_strncasecmp(v, ctx->idx_md5.data, 32) == 0) {
            kv[i].value = ctx->idx_etag;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_s3_kms_gw_header_add(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    size_t                          n;
    ngx_table_elt_t                *h;
    ngx_http_upstream_header_t     *hh;
    ngx_http_upstream_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_upstream_module);

    h = ngx_list_push(&r->upstream->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    n = ngx_strlen(name);

    h->key.data = (u_char *) name;
    h->key.len = n;
    h->value.data = value;
    h->value.len = len;

    h->lowcase_key = ngx_pnalloc(r->pool, n);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, n);

    hh = ngx_hash_find(&umcf->headers_in_hash, h->hash, h->lowcase_key, n);

    if (hh && hh->handler(r, h, hh->offset) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_gw_sse_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *alg, ngx_str_t *key_arn,
    ngx_uint_t bucket_key)
{
    ngx_uint_t  kms;

    kms = (alg->len == 7 && ngx_strncmp(alg->data, "aws:kms", 7) == 0);

    if (ngx_http_s3_kms_gw_header_add(r, "x-amz-server-side-encryption",
                                      kms ? (u_char *) "aws:kms"
                                          : (u_char *) "AES256",
                                      kms ? 7 : 6)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (kms && ngx_http_s3_kms_gw_header_add(r,
                          "x-amz-server-side-encryption-aws-kms-key-id",
                          key_arn->data, key_arn->len)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (bucket_key
        && ngx_http_s3_kms_gw_header_add(r,
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    (u_char *) "true", 4)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ---- listings ------------------------------------------------------------------ */

/*
 * ListObjects, ListObjectsV2, ListObjectVersions: the backend's document
 * is fetched whole (a subrequest), each entry the index knows (same ETag:
 * the same object) gets its plaintext size, and the document goes out
 * with those sizes and without checksums of ciphertext.  Entries the
 * index does not know keep the backend's size.
 */

typedef struct {
    ngx_http_request_t          *request;
    ngx_uint_t                   index;
} ngx_http_s3_kms_gw_list_req_t;


static ngx_int_t
ngx_http_s3_kms_gw_list(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;
    ctx->listing = 1;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_s3_kms_gw_probe(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_s3_kms_gw_list_got(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    size_t                          i, n;
    u_char                         *p;
    const char                     *argv[6];
    size_t                          argvlen[6];
    s3_xml_list_entry_t            *en;
    ngx_http_s3_kms_main_conf_t    *mcf;
    ngx_http_s3_kms_gw_list_req_t  *lr;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ctx->list_status == 0) {
        ctx->error.reason = "the backend did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (ctx->list_status != NGX_HTTP_OK
        || s3_xml_list_parse(ctx->list_data, ctx->list_len, &ctx->xlist)
           != S3_OK)
    {
        /* the backend's error, or a document to leave as it is */
        ctx->xlist = NULL;
        ngx_http_s3_kms_gw_list_send(r, ctx);
        return;
    }

    if (ctx->s3->op == S3_OP_LIST_PARTS) {
        /* plaintext part sizes: from the upload's records */
        ngx_http_s3_kms_mpu_list_parts(r, ctx);
        return;
    }

    n = ctx->xlist->nentries;

    ctx->list_reqs = ngx_pcalloc(r->pool,
                          (n + 1) * sizeof(ngx_http_s3_kms_redis_req_t *));
    ctx->list_md5 = ngx_pcalloc(r->pool, (n + 1) * sizeof(ngx_str_t));
    lr = ngx_palloc(r->pool, (n + 1) * sizeof(ngx_http_s3_kms_gw_list_req_t));

    if (ctx->list_reqs == NULL || ctx->list_md5 == NULL || lr == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[2] = "len";
    argvlen[2] = 3;
    argv[3] = "etag";
    argvlen[3] = 4;
    argv[4] = "md5";
    argvlen[4] = 3;

    for (i = 0; i < n; i++) {
        en = &ctx->xlist->entries[i];

        if (en->delete_marker || en->size < 0 || mcf->worker == NULL) {
            continue;
        }

        p = ngx_pnalloc(r->pool, sizeof("ssek:obj:{}:") - 1
                                 + ctx->bucket.len + en->key.len);
        if (p == NULL) {
            break;
        }

        argv[1] = (const char *) p;
        p = ngx_sprintf(p, "ssek:obj:{%V}:", &ctx->bucket);
        p = ngx_cpymem(p, en->key.data, en->key.len);
        argvlen[1] = p - (u_char *) argv[1];

        lr[i].request = r;
        lr[i].index = i;

        ctx->list_reqs[i] = ngx_http_s3_kms_redis_send(mcf->worker->redis, 5,
                                              argv, argvlen,
                                              ngx_http_s3_kms_gw_list_reply,
                                              &lr[i]);
        if (ctx->list_reqs[i] == NULL) {
            break;              /* Redis is away: the backend's sizes */
        }

        ctx->list_pending++;
    }

    if (ctx->list_pending == 0) {
        ngx_http_s3_kms_gw_list_send(r, ctx);
    }
}


static void
ngx_http_s3_kms_gw_list_reply(void *data, redisReply *reply)
{
    ngx_http_s3_kms_gw_list_req_t  *lr = data;

    off_t                       len;
    ngx_str_t                   a, b;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    s3_xml_list_entry_t        *en;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    r = lr->request;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    ctx->list_reqs[lr->index] = NULL;
    en = &ctx->xlist->entries[lr->index];

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        len = ngx_atoof((u_char *) reply->element[0]->str,
                        reply->element[0]->len);

        /* the entry is the object the index describes */

        a = ngx_http_s3_kms_gw_etag_core((u_char *) reply->element[1]->str,
                                         reply->element[1]->len);
        b = ngx_http_s3_kms_gw_etag_core((u_char *) en->etag.data,
                                         en->etag.len);

        if (len >= 0 && a.len && a.len == b.len
            && ngx_strncmp(a.data, b.data, a.len) == 0)
        {
            en->new_size = len;

            /* SSE-S3: the ETag is the plaintext's MD5 */

            if (reply->element[2]->type == REDIS_REPLY_STRING
                && reply->element[2]->len == 32 && b.len == 32)
            {
                ctx->list_md5[lr->index].data = ngx_pnalloc(r->pool, 32);

                if (ctx->list_md5[lr->index].data) {
                    ngx_memcpy(ctx->list_md5[lr->index].data,
                               reply->element[2]->str, 32);
                    ctx->list_md5[lr->index].len = 32;
                }
            }
        }
    }

    if (--ctx->list_pending == 0) {
        ngx_http_s3_kms_gw_list_send(r, ctx);
        ngx_http_run_posted_requests(c);
    }
}


/* an ETag without its quotes */

static ngx_str_t
ngx_http_s3_kms_gw_etag_core(u_char *p, size_t len)
{
    ngx_str_t  s;

    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }

    s.data = p;
    s.len = len;

    return s;
}


/*
 * The ETags of SSE-S3 entries become their MD5s, in place (both are 32
 * hex digits): each <ETag> element of the document whose value is the
 * backend's ETag of an entry the index gave an MD5 for.  Entries come in
 * document order, so the search resumes where the last one matched.
 */

static void
ngx_http_s3_kms_gw_list_etags(ngx_http_s3_kms_gw_ctx_t *ctx, u_char *doc,
    size_t len)
{
    u_char               *p, *end, *e;
    size_t                i, k, n;
    ngx_str_t             core, want;
    s3_xml_list_entry_t  *en;

    n = ctx->xlist->nentries;
    p = doc;
    end = doc + len;
    k = 0;

    if (n == 0 || ctx->list_md5 == NULL) {
        return;
    }

    for ( ;; ) {
        p = ngx_strlcasestrn(p, end, (u_char *) "<ETag>", 6 - 1);
        if (p == NULL) {
            return;
        }

        p += 6;

        e = ngx_strlcasestrn(p, end, (u_char *) "</ETag>", 7 - 1);
        if (e == NULL) {
            return;
        }

        /* the value: "hex", &quot;hex&quot; or &#34;hex&#34; */

        core.data = p;
        core.len = e - p;

        if (core.len >= 2 && core.data[0] == '"'
            && core.data[core.len - 1] == '"')
        {
            core.data++;
            core.len -= 2;

        } else if (core.len >= 12
                   && ngx_strncmp(core.data, "&quot;", 6) == 0
                   && ngx_strncmp(e - 6, "&quot;", 6) == 0)
        {
            core.data += 6;
            core.len -= 12;

        } else if (core.len >= 10
                   && ngx_strncmp(core.data, "&#34;", 5) == 0
                   && ngx_strncmp(e - 5, "&#34;", 5) == 0)
        {
            core.data += 5;
            core.len -= 10;
        }

        if (core.len == 32) {
            for (i = 0; i < n; i++) {
                en = &ctx->xlist->entries[(k + i) % n];

                if (ctx->list_md5[(k + i) % n].len != 32) {
                    continue;
                }

                want = ngx_http_s3_kms_gw_etag_core((u_char *) en->etag.data,
                                                    en->etag.len);

                if (want.len == 32
                    && ngx_strncmp(want.data, core.data, 32) == 0)
                {
                    ngx_memcpy(core.data, ctx->list_md5[(k + i) % n].data,
                               32);
                    k = (k + i + 1) % n;
                    break;
                }
            }
        }

        p = e + 7;
    }
}


void
ngx_http_s3_kms_gw_list_send(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char  *out, *body;
    size_t   outlen;

    out = NULL;
    outlen = 0;

    if (ctx->xlist != NULL) {
        if (s3_xml_list_write(ctx->xlist, S3_XML_LIST_DROP_CHECKSUMS, &out,
                              &outlen)
            != S3_OK)
        {
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }

        ngx_http_s3_kms_gw_list_etags(ctx, out, outlen);

    } else {
        outlen = ctx->list_len;
    }

    body = ctx->list_data;

    if (out != NULL) {
        body = ngx_pnalloc(r->pool, outlen ? outlen : 1);
        if (body == NULL) {
            free(out);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(body, out, outlen);
        free(out);
    }

    ngx_http_s3_kms_gw_send_xml(r, ctx, ctx->list_status, body, outlen);
}


/*
 * An XML answer of ours (or the backend's document), body in r's pool:
 * the request ends here.  No body: headers only.
 */

void
ngx_http_s3_kms_gw_send_xml(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t status, u_char *body,
    size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   cl;

    /* the backend's own error documents pass as they are */
    ctx->own_error = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (len) {
        ngx_str_set(&r->headers_out.content_type, "application/xml");
        r->headers_out.content_type_len = r->headers_out.content_type.len;

    } else {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl.buf = b;
    cl.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &cl));
}


/* ---- KMS ---------------------------------------------------------------------------- */

/*
 * The encryption context of a data key: the client's pairs (canonical
 * JSON, as stored) plus "aws:s3:arn", rebuilt from the request every time.
 */

ngx_int_t
ngx_http_s3_kms_gw_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *pairs, size_t len,
    const char *arn, size_t arn_len, char **out)
{
    u_char     *p;
    size_t      i, n;
    u_char      c;

    if (len && (len < 2 || pairs[0] != '{' || pairs[len - 1] != '}')) {
        ctx->error.reason = "damaged encryption context";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    if (len > 2 && ngx_strlcasestrn((u_char *) pairs,
                                    (u_char *) pairs + len,
                                    (u_char *) "\"aws:s3:arn\"", 12 - 1)
                   != NULL)
    {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_ARGUMENT,
                                "The encryption context may not contain "
                                "aws:s3:arn.");
        return NGX_ERROR;
    }

    n = sizeof("{\"aws:s3:arn\":\"\",}") + arn_len * 6 + len;

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *out = (char *) p;
    p = ngx_cpymem(p, "{\"aws:s3:arn\":\"", sizeof("{\"aws:s3:arn\":\"") - 1);

    for (i = 0; i < arn_len; i++) {
        c = (u_char) arn[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (ngx_uint_t) c);

        } else {
            *p++ = c;
        }
    }

    *p++ = '"';

    if (len > 2) {
        *p++ = ',';
        p = ngx_cpymem(p, pairs + 1, len - 2);
    }

    *p++ = '}';
    *p = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_http_s3_kms_gw_kms_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_call_t *call,
    ngx_http_s3_kms_done_pt done)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    ctx->run.call = call;
    ctx->run.worker = mcf->worker;
    ctx->run.done = done;
    ctx->run.data = r;
    ctx->run.log = r->connection->log;

    if (ngx_http_s3_kms_run_on_pool(&ctx->run, r->pool) != NGX_OK) {
        kms_call_free(call);
        ctx->run.call = NULL;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* done() continues the request, now or when Redis answered */

    (void) ngx_http_s3_kms_run(&ctx->run);

    return NGX_AGAIN;
}


/* the KMS errors S3 answers with */

s3_err_t
ngx_http_s3_kms_gw_kms_error(kms_err_t err)
{
    switch (err) {

    case KMS_ERR_NOT_FOUND:
    case KMS_ERR_INVALID_ARN:
    case KMS_ERR_VALIDATION:
        return S3_ERR_KMS_NOT_FOUND;

    case KMS_ERR_DISABLED:
        return S3_ERR_KMS_DISABLED;

    case KMS_ERR_INVALID_STATE:
        return S3_ERR_KMS_INVALID_STATE;

    case KMS_ERR_ACCESS_DENIED:
        return S3_ERR_ACCESS_DENIED;

    case KMS_ERR_INVALID_CIPHERTEXT:
    case KMS_ERR_INCORRECT_KEY:
        return S3_ERR_KMS_INVALID_CIPHERTEXT;

    case KMS_ERR_THROTTLING:
        return S3_ERR_SLOW_DOWN;

    case KMS_ERR_DEPENDENCY_TIMEOUT:
        return S3_ERR_SERVICE_UNAVAILABLE;

    default:
        return S3_ERR_INTERNAL;
    }
}


/* ---- S3 errors ------------------------------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_gw_send_error(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_chain_t  *out;

    ctx->own_error = 1;

    if (r->request_body == NULL && !r->discard_body
        && (r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        /*
         * Refused before its body was read (and before 100 Continue): the
         * unread body must not be taken for the next request.  S3 closes
         * such a connection too.
         */

        r->keepalive = 0;
        r->lingering_close = 1;
    }

    out = ngx_http_s3_kms_gw_error_body(r, ctx);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = s3_err_status(ctx->error.err);
    ngx_str_set(&r->headers_out.content_type, "application/xml");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = out->buf->last - out->buf->pos;

    if (ctx->error.err == S3_ERR_INVALID_RANGE && ctx->obj.len >= 0) {
        ngx_table_elt_t  *h;

        h = ngx_list_push(&r->headers_out.headers);
        if (h) {
            h->hash = 1;
            ngx_str_set(&h->key, "Content-Range");
            h->value.data = ngx_pnalloc(r->pool, 8 + NGX_OFF_T_LEN);
            if (h->value.data) {
                h->value.len = ngx_sprintf(h->value.data, "bytes */%O",
                                           ctx->obj.len) - h->value.data;
            } else {
                h->hash = 0;
            }
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


static ngx_chain_t *
ngx_http_s3_kms_gw_error_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    size_t        len;
    s3_str_t      id, host;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    id.data = ctx->req_id;
    id.len = ngx_strlen(ctx->req_id);
    host.data = ctx->host_id;
    host.len = ngx_strlen(ctx->host_id);

    len = s3_xml_error(NULL, 0, &ctx->error, id, host);

    b = ngx_create_temp_buf(r->pool, len + 1);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NULL;
    }

    b->last += s3_xml_error(b->pos, len + 1, &ctx->error, id, host);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/*
 * nginx's own error pages (a body too large, a timeout, a backend that is
 * down, a refused request body) become S3 error documents; so every
 * answer of a gateway location is S3-shaped.  The request id headers go
 * on every answer.
 */

static void
ngx_http_s3_kms_gw_ids(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char  rnd[8];

    if (kms_random(rnd, sizeof(rnd)) != 0) {
        ngx_memzero(rnd, sizeof(rnd));
    }

    ngx_sprintf(ctx->req_id, "%*Xs%Z", (size_t) 8, rnd);
    ctx->req_id[NGX_HTTP_S3_KMS_REQ_ID_LEN] = '\0';
    ngx_sprintf(ctx->host_id, "%*xs%Z", (size_t) 8, rnd);
}


/*
 * The gateway context of a request the S3 filters shape: one in a gateway
 * location, or one nginx refused before it reached a location (a request
 * line or headers too long or malformed, TRACE) in a server that has a
 * gateway location: such a request gets a context made here.
 */

static ngx_http_s3_kms_gw_ctx_t *
ngx_http_s3_kms_gw_filter_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_http_s3_kms_gw_ctx_t    *ctx;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    if (r != r->main) {
        return NULL;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (lcf->gateway) {
        return (ctx != NULL && ctx->request == r) ? ctx : NULL;
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (cscf == NULL || r->loc_conf != cscf->ctx->loc_conf) {
        return NULL;            /* in a location that is no gateway */
    }

    if (ctx != NULL) {
        return ctx->request == r ? ctx : NULL;
    }

    if (!create || r->err_status == 0) {
        return NULL;
    }

    clcf = cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    if (!ngx_http_s3_kms_gw_has_gateway(clcf->static_locations)) {
        return NULL;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_gw_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->be_length = -1;
    ctx->obj.len = -1;
    ctx->obj.stored = -1;
    ctx->obj.total = -1;
    ngx_http_s3_kms_gw_ids(ctx);

    ngx_http_set_ctx(r, ctx, ngx_http_s3_kms_module);

    return ctx;
}


static ngx_uint_t
ngx_http_s3_kms_gw_has_gateway(ngx_http_location_tree_node_t *node)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    if (node == NULL) {
        return 0;
    }

    clcf = node->exact ? node->exact : node->inclusive;

    if (clcf != NULL) {
        lcf = clcf->loc_conf[ngx_http_s3_kms_module.ctx_index];

        if (lcf->gateway == 1) {
            return 1;
        }
    }

    if (node->exact && node->inclusive) {
        lcf = node->inclusive->loc_conf[ngx_http_s3_kms_module.ctx_index];

        if (lcf->gateway == 1) {
            return 1;
        }
    }

    return ngx_http_s3_kms_gw_has_gateway(node->left)
           || ngx_http_s3_kms_gw_has_gateway(node->right)
           || ngx_http_s3_kms_gw_has_gateway(node->tree);
}


static ngx_int_t
ngx_http_s3_kms_gw_header_filter(ngx_http_request_t *r)
{
    ngx_chain_t                 *out;
    ngx_table_elt_t             *h;
    ngx_http_s3_kms_gw_ctx_t    *ctx;

    ctx = ngx_http_s3_kms_gw_filter_ctx(r, 1);

    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    if (r->err_status && !ctx->own_error && !ctx->error_sent) {

        if (ctx->error.err == S3_OK || ctx->error.err == S3_AGAIN) {
            ctx->error.err = ngx_http_s3_kms_gw_status_error(r->err_status);
        }

        out = ngx_http_s3_kms_gw_error_body(r, ctx);
        if (out == NULL) {
            return NGX_ERROR;
        }

        ctx->error_sent = 1;
        ctx->error_out = out;

        ngx_http_clean_header(r);
        r->headers_out.status = s3_err_status(ctx->error.err);
        r->err_status = r->headers_out.status;
        ngx_str_set(&r->headers_out.content_type, "application/xml");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_length_n = out->buf->last - out->buf->pos;
        r->headers_out.location = NULL;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "x-amz-request-id");
    h->value.data = ctx->req_id;
    h->value.len = ngx_strlen(ctx->req_id);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "x-amz-id-2");
    h->value.data = ctx->host_id;
    h->value.len = ngx_strlen(ctx->host_id);

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_s3_kms_gw_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_uint_t                   last;
    ngx_chain_t                 *cl;
    ngx_http_s3_kms_gw_ctx_t    *ctx;

    if (r != r->main) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

        if (ctx && ctx->mode == NGX_HTTP_S3_KMS_BE_COPY_SRC) {
            /* a copy's source: its body goes into the target's */
            return ngx_http_s3_kms_copy_src_body(r, ctx, in);
        }
    }

    ctx = ngx_http_s3_kms_gw_filter_ctx(r, 0);

    if (ctx == NULL || !ctx->error_sent) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's page is dropped; ours goes with its last buffer */

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (!last || ctx->error_out == NULL) {
        return NGX_OK;
    }

    cl = ctx->error_out;
    ctx->error_out = NULL;

    return ngx_http_next_body_filter(r, cl);
}


static s3_err_t
ngx_http_s3_kms_gw_status_error(ngx_uint_t status)
{
    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        return S3_ERR_INVALID_REQUEST;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        return S3_ERR_KEY_TOO_LONG;

    case NGX_HTTP_NOT_ALLOWED:
        return S3_ERR_METHOD_NOT_ALLOWED;

    case NGX_HTTP_REQUEST_TIME_OUT:
        return S3_ERR_REQUEST_TIMEOUT;

    case NGX_HTTP_LENGTH_REQUIRED:
        return S3_ERR_MISSING_CONTENT_LENGTH;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return S3_ERR_ENTITY_TOO_LARGE;

    case NGX_HTTP_NOT_IMPLEMENTED:
        return S3_ERR_NOT_IMPLEMENTED;

    case NGX_HTTP_BAD_GATEWAY:
    case NGX_HTTP_SERVICE_UNAVAILABLE:
    case NGX_HTTP_GATEWAY_TIME_OUT:
        return S3_ERR_SERVICE_UNAVAILABLE;

    default:
        return S3_ERR_INTERNAL;
    }
}


static void
ngx_http_s3_kms_gw_cleanup(void *data)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx = data;

    if (ctx->redis_req) {
        ngx_http_s3_kms_redis_cancel(ctx->redis_req);
        ctx->redis_req = NULL;
    }

    if (ctx->payload && ctx->has_payload) {
        s3_payload_cleanup(ctx->payload);
    }

    if (ctx->md5_on) {
        s3_checksum_cleanup(&ctx->md5);
        ctx->md5_on = 0;
    }

    if (ctx->list_reqs && ctx->xlist) {
        ngx_uint_t  i;

        for (i = 0; i < ctx->xlist->nentries; i++) {
            if (ctx->list_reqs[i]) {
                ngx_http_s3_kms_redis_cancel(ctx->list_reqs[i]);
                ctx->list_reqs[i] = NULL;
            }
        }
    }

    if (ctx->xlist) {
        s3_xml_list_free(ctx->xlist);
        ctx->xlist = NULL;
    }

    s3_objfmt_enc_free(ctx->enc);
    ctx->enc = NULL;
    s3_objfmt_dec_free(ctx->dec);
    ctx->dec = NULL;

    if (ctx->mpu) {
        ngx_http_s3_kms_mpu_cleanup(ctx);
    }

    if (ctx->copy) {
        ngx_http_s3_kms_copy_cleanup(ctx);
    }
}
