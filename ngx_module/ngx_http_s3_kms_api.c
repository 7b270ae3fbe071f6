
/*
 * The AWS KMS JSON API (TrentService): POST with
 * Content-Type: application/x-amz-json-1.1 and
 * X-Amz-Target: TrentService.<Operation>, signed with SigV4 (service kms).
 *
 * The body is read into memory (it is small: s3_kms_api_max_body), the
 * signature checked, the quota taken, and the call handed to kms_core,
 * which answers from the worker's key ring or through Redis.
 */


#include "ngx_http_s3_kms.h"


typedef struct {
    ngx_http_s3_kms_membody_t    mem;          /* first: see body.c */
    ngx_http_request_t          *request;

    ngx_str_t                    operation;
    kms_caller_t                 caller;
    u_char                       request_id[NGX_HTTP_S3_KMS_REQUEST_ID_LEN + 1];
    u_char                      *source_ip;
    u_char                      *user_agent;

    ngx_http_s3_kms_run_t        run;
} ngx_http_s3_kms_api_ctx_t;


static void ngx_http_s3_kms_api_body(ngx_http_request_t *r);
static void ngx_http_s3_kms_api_start(ngx_http_request_t *r,
    ngx_http_s3_kms_api_ctx_t *ctx);
static void ngx_http_s3_kms_api_done(ngx_http_s3_kms_run_t *run);
static ngx_int_t ngx_http_s3_kms_api_send(ngx_http_request_t *r,
    ngx_http_s3_kms_api_ctx_t *ctx, ngx_uint_t status, const char *body,
    size_t len);
static ngx_int_t ngx_http_s3_kms_api_is_crypto(ngx_str_t *op);
static u_char *ngx_http_s3_kms_cstr(ngx_pool_t *pool, ngx_str_t *s);


static ngx_str_t  ngx_http_s3_kms_json_type =
    ngx_string("application/x-amz-json-1.1");


ngx_int_t
ngx_http_s3_kms_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_s3_kms_api_ctx_t    *ctx;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_s3_kms_module);

    ctx->request = r;

    ngx_http_s3_kms_request_id(ctx->request_id);

    if (!(r->method & NGX_HTTP_POST)
        || r->headers_in.content_length_n > (off_t) mcf->api_max_body)
    {
        /* answered without reading the body */

        ctx->mem.too_big = (r->method & NGX_HTTP_POST) ? 1 : 0;

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        r->main->count++;
        ngx_http_s3_kms_api_start(r, ctx);

        return NGX_DONE;
    }

    return ngx_http_s3_kms_membody_read(r, mcf->api_max_body,
                                        ngx_http_s3_kms_api_body);
}


static void
ngx_http_s3_kms_api_body(ngx_http_request_t *r)
{
    ngx_http_s3_kms_api_start(r, ngx_http_get_module_ctx(r,
                                                ngx_http_s3_kms_module));
}


static void
ngx_http_s3_kms_api_start(ngx_http_request_t *r,
    ngx_http_s3_kms_api_ctx_t *ctx)
{
    kms_err_t                     err;
    ngx_str_t                     msg;
    ngx_int_t                     rc;
    kms_call_t                   *call;
    ngx_table_elt_t              *target;
    const kms_cred_t             *cred;
    ngx_http_s3_kms_worker_t     *w;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static ngx_str_t              prefix = ngx_string("TrentService.");

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    w = mcf->worker;

    if (ctx->mem.body == NULL) {
        ctx->mem.body = (u_char *) "";

    } else {
        ctx->mem.body[ctx->mem.len] = '\0';
    }

    /* the operation, from X-Amz-Target */

    target = ngx_http_s3_kms_find_header(r, "x-amz-target");

    if (target != NULL && target->value.len > prefix.len
        && ngx_strncmp(target->value.data, prefix.data, prefix.len) == 0)
    {
        ctx->operation.data = target->value.data + prefix.len;
        ctx->operation.len = target->value.len - prefix.len;
    }

    ctx->source_ip = ngx_http_s3_kms_cstr(r->pool, &r->connection->addr_text);
    ctx->user_agent = r->headers_in.user_agent
                      ? ngx_http_s3_kms_cstr(r->pool,
                                             &r->headers_in.user_agent->value)
                      : (u_char *) "";

    if (ctx->source_ip == NULL || ctx->user_agent == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->caller.source_ip = (const char *) ctx->source_ip;
    ctx->caller.user_agent = (const char *) ctx->user_agent;
    ctx->caller.request_id = (const char *) ctx->request_id;
    ctx->caller.now_ms = (int64_t) ngx_time() * 1000
                         + (int64_t) (ngx_timeofday()->msec)
                         + (int64_t) mcf->time_offset * 1000;

    /* authentication: a failure is still an audited call */

    err = KMS_OK;
    ngx_str_null(&msg);
    cred = NULL;

    if (!(r->method & NGX_HTTP_POST)) {
        err = KMS_ERR_UNKNOWN_OPERATION;

    } else if (ctx->mem.too_big) {
        /* the body was dropped unread: its signature cannot be checked */
        err = KMS_ERR_VALIDATION;
        ngx_str_set(&msg, "Request body is larger than the service accepts");

    } else {
        err = ngx_http_s3_kms_api_auth(r, ctx->mem.body, ctx->mem.len, &cred,
                                       &msg);
    }

    if (cred != NULL) {
        ctx->caller.access_key_id = cred->access_key_id;
        ctx->caller.account = cred->account;
        ctx->caller.arn = cred->arn;
    }

    if (err == KMS_OK && ngx_http_s3_kms_api_is_crypto(&ctx->operation)
        && ngx_http_s3_kms_quota_take(mcf, cred->account) != NGX_OK)
    {
        err = KMS_ERR_THROTTLING;
    }

    if (err == KMS_OK && (kms_ctx_state(w->kms) == KMS_RING_EMPTY
                          || !w->subscribed))
    {
        err = KMS_ERR_DEPENDENCY_TIMEOUT;
    }

    call = kms_call_new(w->kms, &ctx->caller,
                        (const char *) ngx_http_s3_kms_cstr(r->pool,
                                                            &ctx->operation),
                        (const char *) ctx->mem.body, ctx->mem.len);
    if (call == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (err != KMS_OK) {
        kms_call_fail(call, err, msg.len ? (const char *) msg.data : NULL);
    }

    ctx->run.call = call;
    ctx->run.worker = w;
    ctx->run.done = ngx_http_s3_kms_api_done;
    ctx->run.data = r;
    ctx->run.log = r->connection->log;

    if (ngx_http_s3_kms_run_on_pool(&ctx->run, r->pool) != NGX_OK) {
        kms_call_free(call);
        ctx->run.call = NULL;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_s3_kms_run(&ctx->run);

    (void) rc;      /* done() finalizes the request, now or later */
}


static void
ngx_http_s3_kms_api_done(ngx_http_s3_kms_run_t *run)
{
    size_t                      len;
    ngx_int_t                   rc;
    const char                 *body;
    ngx_http_request_t         *r = run->data;
    ngx_http_s3_kms_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    body = kms_call_body(run->call, &len);

    /*
     * The body goes out of the call's own buffer: the call lives until
     * the request's pool goes (ngx_http_s3_kms_run_on_pool), and
     * kms_call_free() then wipes it (GenerateDataKey's holds a key).
     */

    rc = ngx_http_s3_kms_api_send(r, ctx, kms_call_status(run->call), body,
                                  len);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_s3_kms_api_send(ngx_http_request_t *r,
    ngx_http_s3_kms_api_ctx_t *ctx, ngx_uint_t status, const char *body,
    size_t len)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "x-amzn-RequestId");
    h->value.data = ctx->request_id;
    h->value.len = NGX_HTTP_S3_KMS_REQUEST_ID_LEN;

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_s3_kms_json_type;
    r->headers_out.content_type_len = ngx_http_s3_kms_json_type.len;
    r->headers_out.content_length_n = len;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (len) {
        /* the call's memory, sent as it is (it outlives the sending) */
        b->pos = (u_char *) body;
        b->last = (u_char *) body + len;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;
    }

    /* operations without output answer an empty body */
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* AWS KMS's quota for cryptographic operations covers these */

static ngx_int_t
ngx_http_s3_kms_api_is_crypto(ngx_str_t *op)
{
    static ngx_str_t  ops[] = {
        ngx_string("GenerateDataKey"), ngx_string("Decrypt"),
        ngx_string("Encrypt"), ngx_string("ReEncrypt"),
        ngx_string("GenerateDataKeyWithoutPlaintext"),
        ngx_string("GenerateDataKeyPair"),
        ngx_string("GenerateDataKeyPairWithoutPlaintext"),
        ngx_string("GenerateRandom"), ngx_string("Sign"),
        ngx_string("Verify"), ngx_string("GenerateMac"),
        ngx_string("VerifyMac")
    };
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (op->len == ops[i].len
            && ngx_memcmp(op->data, ops[i].data, op->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static u_char *
ngx_http_s3_kms_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return p;
}
