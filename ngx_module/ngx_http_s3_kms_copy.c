
/*
 * CopyObject and UploadPartCopy through the gateway.  A copy is never the
 * backend's own: the target gets a data key of its own and its context
 * binds its name (DESIGN.md sections 2 and 3), so the bytes are decrypted
 * and encrypted again on the way.
 *
 *   1. the source's index entry (Redis): its ETag, plaintext length, header
 *      or part table, so the range copied maps onto stored bytes;
 *   2. a GET of the source: a background, in-memory subrequest whose input
 *      filter here reads the stored bytes; its response headers give the
 *      source's metadata (the x-amz-copy-source-if-* conditions are
 *      checked against them) before a byte of the body is used;
 *   3. KMS Decrypt of the source's data key, as the client (its key
 *      policy decides, the audit record is S3's call), the part table's
 *      manifest MAC checked with it;
 *   4. the target, as PutObject (or UploadPart) makes it: the request's
 *      SSE headers or the bucket default, GenerateDataKey, the internal
 *      metadata, a backend PUT with the exact stored Content-Length, on the
 *      main request's upstream;
 *   5. the pump: frames of the source authenticated and decrypted, their
 *      plaintext encrypted into a few output buffers written to the PUT's
 *      connection as it takes them.  When the buffers are all in flight
 *      the source's reading pauses (its read handler is swapped for one
 *      that reads nothing); when the PUT's connection drains, it resumes.
 *      Memory: one source read buffer, one frame, the output buffers.
 *   6. the final frame is released only after the whole source
 *      authenticated; a failure before closes the PUT's connection short
 *      of its Content-Length, so the backend stores nothing;
 *   7. the backend's 200 becomes CopyObjectResult (CopyPartResult), the
 *      target's index entry (the part's record) is written as for a PUT.
 */


#include "ngx_http_s3_kms_gateway.h"
#include "s3_tagging.h"


#define NGX_HTTP_S3_KMS_COPY_MAX       ((uint64_t) 5 << 30)
#define NGX_HTTP_S3_KMS_COPY_ENTRY     (8 + S3_OBJFMT_HDR_LEN)
#define NGX_HTTP_S3_KMS_COPY_POLL      1       /* ms */
#define NGX_HTTP_S3_KMS_COPY_ERRBODY   4096

#define NGX_HTTP_S3_KMS_COPY_SELF                                             \
    "This copy request is illegal because it is trying to copy an object "    \
    "to itself without changing the object's metadata, storage class, "       \
    "website redirect location or encryption attributes."

#define NGX_HTTP_S3_KMS_COPY_TOO_BIG                                          \
    "The specified copy source is larger than the maximum allowable size "    \
    "for a copy source: 5368709120"

#define NGX_HTTP_S3_KMS_COPY_RANGE                                            \
    "Range specified is not valid for source object of size: "


/* what is done before the source's GET, in this order */
typedef enum {
    NGX_HTTP_S3_KMS_COPY_INDEXED = 0,  /* its index entry read */
    NGX_HTTP_S3_KMS_COPY_CHECKED,      /* "null": the entry is its, or not */
    NGX_HTTP_S3_KMS_COPY_PLANNED,      /* the range mapped */
    NGX_HTTP_S3_KMS_COPY_TAGGED,       /* tagging COPY: its tags read */
    NGX_HTTP_S3_KMS_COPY_READING       /* its GET started */
} ngx_http_s3_kms_copy_step_e;


struct ngx_http_s3_kms_copy_s {
    ngx_http_request_t          *request;
    ngx_http_s3_kms_gw_ctx_t    *ctx;

    /* the source, as the request names it */
    ngx_str_t                    bucket;       /* NUL-terminated */
    ngx_str_t                    key;
    ngx_str_t                    version;
    char                         arn[NGX_HTTP_S3_KMS_ARN_MAX];
    size_t                       arn_len;
    ngx_str_t                    path;
    ngx_str_t                    query;
    ngx_str_t                    index_key;

    /* its index entry */
    ngx_http_s3_kms_redis_req_t *redis;
    ngx_str_t                    idx_etag;
    ngx_str_t                    idx_md5;
    ngx_str_t                    idx_parts;
    ngx_str_t                    idx_mac;
    ngx_str_t                    idx_upload;
    ngx_uint_t                   idx_unverified;
    off_t                        idx_len;
    u_char                       idx_hdr[S3_OBJFMT_HDR_LEN];
    size_t                       idx_hdr_len;

    /* the source's GET */
    ngx_http_request_t          *sr;
    ngx_http_s3_kms_gw_ctx_t    *sctx;
    ngx_chain_t                 *pending;      /* its body, not yet used */
    ngx_chain_t                **pending_last;
    ngx_uint_t                   status;
    ngx_http_s3_kms_obj_t        obj;
    ngx_str_t                    last_modified;
    ngx_str_t                    src_version;
    u_char                      *errbody;
    size_t                       errlen;

    /* what is copied: plaintext [first, first + count) of total */
    uint64_t                     total;
    uint64_t                     first;
    uint64_t                     count;
    uint64_t                     skip;         /* plaintext to drop first */
    uint64_t                     want;         /* plaintext still to give */

    /* decryption */
    u_char                       dek[S3_OBJFMT_KEY_LEN];
    s3_objfmt_seg_t             *segs;
    ngx_uint_t                   nsegs;
    s3_objfmt_span_t             span;
    size_t                       cur;
    s3_objfmt_dec_t             *dec;
    u_char                      *frame;
    size_t                       frame_size;
    u_char                      *plain;
    size_t                       plain_left;

    /* the target's body */
    ngx_buf_t                  **obufs;
    ngx_uint_t                   nobufs;
    ngx_buf_t                   *ofill;

    ngx_event_t                  wake;         /* the main request's turn */
    ngx_event_t                  poll;         /* the PUT's headers out? */

    /*
     * A request to the backend before the source's GET: a byte of the
     * "null" version (does the unversioned index entry describe it?), or
     * GetObjectTagging of the source (tagging directive COPY).
     */
    ngx_http_s3_kms_copy_step_e  step;
    ngx_http_request_t          *side;
    ngx_str_t                    side_method;
    ngx_str_t                    side_query;
    ngx_uint_t                   side_status;
    ngx_str_t                    side_etag;
    u_char                      *side_data;
    size_t                       side_len;
    ngx_event_t                  side_ev;
    ngx_str_t                    tags;         /* the target's x-amz-tagging */

    unsigned                     index_hit:1;
    unsigned                     multipart:1;
    unsigned                     encrypted:1;
    unsigned                     exact:1;      /* fetched = what decrypts */
    unsigned                     has_dek:1;
    unsigned                     headers_ok:1;
    unsigned                     relay:1;      /* the backend's error */
    unsigned                     blocked:1;    /* its body waits for us */
    unsigned                     src_ended:1;  /* its last buffer came */
    unsigned                     src_done:1;   /* the subrequest ended */
    unsigned                     src_complete:1; /* all plaintext given */
    unsigned                     key_started:1;
    unsigned                     put_started:1;
    unsigned                     put_ready:1;
    unsigned                     released:1;
    unsigned                     body_done:1;
    unsigned                     put_finished:1;
    unsigned                     failed:1;
    unsigned                     answered:1;
    unsigned                     src_stop:1;
    unsigned                     took:1;       /* a source buffer used up */
    unsigned                     in_body:1;    /* called by its filter */
    unsigned                     copy_tags:1;  /* tagging directive COPY */
    unsigned                     null_version:1; /* versionId=null */
    unsigned                     side_done:1;
};


static ngx_int_t ngx_http_s3_kms_copy_names(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_self(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_copy_index_reply(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_copy_directive(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const char *name, const char *message,
    ngx_table_elt_t **hp);
static ngx_int_t ngx_http_s3_kms_copy_steps(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_side_start(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy, const char *method, ngx_str_t *query);
static ngx_int_t ngx_http_s3_kms_copy_side_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_s3_kms_copy_side_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_s3_kms_copy_side_result(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_plan(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_range(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_src_start(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_src_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_uint_t ngx_http_s3_kms_copy_src_more(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_src_drop(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_src_wake(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_src_abort(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_conditions(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static ngx_uint_t ngx_http_s3_kms_copy_etag_in(ngx_str_t *list,
    ngx_str_t *etag, ngx_str_t *md5);
static ngx_int_t ngx_http_s3_kms_copy_metadata(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy, ngx_http_upstream_t *su);
static void ngx_http_s3_kms_copy_wake_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_copy_continue(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_key(ngx_http_s3_kms_run_t *run);
static ngx_int_t ngx_http_s3_kms_copy_target(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_poll_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_copy_put_write(ngx_http_request_t *r,
    ngx_http_upstream_t *u);
static void ngx_http_s3_kms_copy_pump(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_produce(ngx_http_s3_kms_copy_t *copy);
static ngx_buf_t *ngx_http_s3_kms_copy_src_buf(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_next_seg(ngx_http_s3_kms_copy_t *copy);
static ngx_buf_t *ngx_http_s3_kms_copy_obuf(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_emit(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_fail(ngx_http_s3_kms_copy_t *copy,
    s3_err_t err, const char *message, const char *reason);
static void ngx_http_s3_kms_copy_answer(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_relay(ngx_http_s3_kms_copy_t *copy);
static void ngx_http_s3_kms_copy_post(ngx_http_s3_kms_copy_t *copy);
static ngx_int_t ngx_http_s3_kms_copy_discard_filter(void *data,
    ssize_t bytes);


/* a tag of its own: the upstream's output chain leaves our buffers alone */
static ngx_uint_t  ngx_http_s3_kms_copy_tag;


/* ---- the request --------------------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_copy_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_int_t                     rc;
    ngx_table_elt_t              *h;
    ngx_http_s3_kms_copy_t       *copy;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    copy = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_copy_t));
    if (copy == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    copy->request = r;
    copy->ctx = ctx;
    copy->idx_len = -1;
    ctx->copy = copy;

    copy->wake.handler = ngx_http_s3_kms_copy_wake_handler;
    copy->wake.data = copy;
    copy->wake.log = r->connection->log;
    copy->poll.handler = ngx_http_s3_kms_copy_poll_handler;
    copy->poll.data = copy;
    copy->poll.log = r->connection->log;
    copy->side_ev.handler = ngx_http_s3_kms_copy_side_handler;
    copy->side_ev.data = copy;
    copy->side_ev.log = r->connection->log;

    if (ctx->s3->op == S3_OP_COPY_OBJECT) {

        /* S3 knows two directives for each; anything else is refused */

        if (ngx_http_s3_kms_copy_directive(r, ctx,
                                           "x-amz-metadata-directive",
                                           "Unknown metadata directive.",
                                           &h) != NGX_OK
            || ngx_http_s3_kms_copy_directive(r, ctx,
                                              "x-amz-tagging-directive",
                                              "Unknown tagging directive.",
                                              &h) != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* tags: the source's (COPY, the default) or the request's */

        copy->copy_tags = (h == NULL || h->value.len == 4);

        rc = ngx_http_s3_kms_copy_self(r, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (ngx_http_s3_kms_copy_names(r, copy) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    /* the source's index entry */

    argv[0] = "HGETALL";
    argvlen[0] = 7;
    argv[1] = (const char *) copy->index_key.data;
    argvlen[1] = copy->index_key.len;

    copy->redis = ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv,
                                             argvlen,
                                             ngx_http_s3_kms_copy_index_reply,
                                             copy);
    if (copy->redis == NULL) {
        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * x-amz-metadata-directive or x-amz-tagging-directive: absent, COPY or
 * REPLACE (*hp: the header, or NULL); anything else is S3's
 * InvalidArgument with the header's name and value.
 */

static ngx_int_t
ngx_http_s3_kms_copy_directive(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const char *name, const char *message,
    ngx_table_elt_t **hp)
{
    ngx_table_elt_t  *h;

    h = ngx_http_s3_kms_find_header(r, name);
    *hp = h;

    if (h == NULL
        || (h->value.len == 4 && ngx_strncmp(h->value.data, "COPY", 4) == 0)
        || (h->value.len == 7
            && ngx_strncmp(h->value.data, "REPLACE", 7) == 0))
    {
        return NGX_OK;
    }

    ctx->error.extra[0].name = "ArgumentName";
    ctx->error.extra[0].value.data = (u_char *) name;
    ctx->error.extra[0].value.len = ngx_strlen(name);
    ctx->error.extra[1].name = "ArgumentValue";
    ctx->error.extra[1].value.data = h->value.data;
    ctx->error.extra[1].value.len = h->value.len;
    ctx->error.nextra = 2;
    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_ARGUMENT, message);

    return NGX_ERROR;
}


/* the source's names: NUL-terminated copies, its ARN, path, index key */

static ngx_int_t
ngx_http_s3_kms_copy_names(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    u_char         *p, c;
    size_t          i, n;
    s3_request_t   *s3;
    static const char  hex[] = "0123456789ABCDEF";

    s3 = copy->ctx->s3;

    copy->bucket.len = s3->copy_bucket.len;
    copy->key.len = s3->copy_key.len;
    copy->version.len = s3->has_copy_version ? s3->copy_version_id.len : 0;

    p = ngx_pnalloc(r->pool, copy->bucket.len + copy->key.len
                             + copy->version.len + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    copy->bucket.data = p;
    p = ngx_cpymem(p, s3->copy_bucket.data, copy->bucket.len);
    *p++ = '\0';
    copy->key.data = p;
    p = ngx_cpymem(p, s3->copy_key.data, copy->key.len);
    *p++ = '\0';
    copy->version.data = p;
    p = ngx_cpymem(p, s3->copy_version_id.data, copy->version.len);
    *p = '\0';

    copy->arn_len = s3_arn_object(copy->arn, sizeof(copy->arn),
                                  s3->copy_bucket, s3->copy_key);

    if (copy->arn_len >= sizeof(copy->arn)) {
        return NGX_ERROR;
    }

    /* the backend's path: the key encoded as S3 encodes it */

    n = 2 + copy->bucket.len + copy->key.len * 3;

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    copy->path.data = p;
    *p++ = '/';
    p = ngx_cpymem(p, copy->bucket.data, copy->bucket.len);
    *p++ = '/';

    for (i = 0; i < copy->key.len; i++) {
        c = copy->key.data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~' || c == '/')
        {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    copy->path.len = p - copy->path.data;

    if (copy->version.len) {
        p = ngx_pnalloc(r->pool, sizeof("versionId=") - 1
                                 + copy->version.len * 3);
        if (p == NULL) {
            return NGX_ERROR;
        }

        copy->query.data = p;
        p = ngx_cpymem(p, "versionId=", sizeof("versionId=") - 1);

        for (i = 0; i < copy->version.len; i++) {
            c = copy->version.data[i];

            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                || (c >= '0' && c <= '9') || c == '-' || c == '_'
                || c == '.' || c == '~')
            {
                *p++ = c;

            } else {
                *p++ = '%';
                *p++ = hex[c >> 4];
                *p++ = hex[c & 0xf];
            }
        }

        copy->query.len = p - copy->query.data;
    }

    /*
     * S3 names "null" the version an object written while its bucket was
     * unversioned has: the one indexed without a version, as long as no
     * other PUT came since (ngx_http_s3_kms_copy_side_result() checks).
     */

    copy->null_version = (copy->version.len == 4
                          && ngx_strncmp(copy->version.data, "null", 4) == 0);

    n = copy->null_version ? 0 : copy->version.len;

    copy->index_key.len = sizeof("ssek:obj:{}:") - 1 + copy->bucket.len
                          + copy->key.len + (n ? 1 + n : 0);
    copy->index_key.data = ngx_pnalloc(r->pool, copy->index_key.len);
    if (copy->index_key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(copy->index_key.data, "ssek:obj:{%V}:%V", &copy->bucket,
                    &copy->key);

    if (n) {
        *p++ = ':';
        ngx_memcpy(p, copy->version.data, n);
    }

    return NGX_OK;
}


/*
 * S3 refuses a copy of an object onto itself that changes nothing: a copy
 * is how an object gets a new key (or new metadata), not a no-op.
 */

static ngx_int_t
ngx_http_s3_kms_copy_self(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    s3_request_t  *s3 = ctx->s3;
    s3_sse_t      *sse = ctx->sse;

    if (s3->has_copy_version
        || s3->copy_bucket.len != s3->bucket.len
        || s3->copy_key.len != s3->key.len
        || ngx_memcmp(s3->copy_bucket.data, s3->bucket.data,
                      s3->bucket.len) != 0
        || ngx_memcmp(s3->copy_key.data, s3->key.data, s3->key.len) != 0)
    {
        return NGX_OK;
    }

    if (sse->mode != S3_SSE_NONE || sse->has_key_id || sse->has_context
        || sse->bucket_key != -1 || sse->meta_replace
        || ngx_http_s3_kms_find_header(r, "x-amz-storage-class")
        || ngx_http_s3_kms_find_header(r, "x-amz-website-redirect-location"))
    {
        return NGX_OK;
    }

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_REQUEST,
                            NGX_HTTP_S3_KMS_COPY_SELF);

    return NGX_ERROR;
}


static void
ngx_http_s3_kms_copy_index_reply(void *data, redisReply *reply)
{
    ngx_http_s3_kms_copy_t  *copy = data;

    size_t               i;
    ngx_str_t            f, v;
    redisReply          *e, *ev;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = copy->request;
    c = r->connection;
    copy->redis = NULL;

    if (reply == NULL) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "Redis did not answer");
        ngx_http_s3_kms_copy_answer(copy);
        ngx_http_run_posted_requests(c);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY) {

        for (i = 0; i + 1 < reply->elements; i += 2) {
            e = reply->element[i];
            ev = reply->element[i + 1];

            if (e->type != REDIS_REPLY_STRING
                || ev->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            f.data = (u_char *) e->str;
            f.len = e->len;

            v.len = ev->len;
            v.data = ngx_pnalloc(r->pool, v.len + 1);
            if (v.data == NULL) {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
                ngx_http_s3_kms_copy_answer(copy);
                ngx_http_run_posted_requests(c);
                return;
            }

            ngx_memcpy(v.data, ev->str, v.len);
            v.data[v.len] = '\0';

#define is(lit)  (f.len == sizeof(lit) - 1                                    \
                  && ngx_strncmp(f.data, lit, f.len) == 0)

            if (is("etag")) {
                copy->idx_etag = v;
            } else if (is("len")) {
                copy->idx_len = ngx_atoof(v.data, v.len);
            } else if (is("hdr") && v.len == S3_OBJFMT_HDR_LEN) {
                ngx_memcpy(copy->idx_hdr, v.data, v.len);
                copy->idx_hdr_len = v.len;
            } else if (is("md5") && v.len == 32) {
                copy->idx_md5 = v;
            } else if (is("parts")) {
                copy->idx_parts = v;
            } else if (is("mac")) {
                copy->idx_mac = v;
            } else if (is("upload")) {
                copy->idx_upload = v;
            } else if (is("unverified")) {
                copy->idx_unverified = (v.len == 1 && v.data[0] == '1');
            }
#undef is
        }
    }

    copy->index_hit = copy->idx_etag.len && copy->idx_len >= 0
                      && (copy->idx_parts.len
                          || copy->idx_hdr_len == S3_OBJFMT_HDR_LEN);
    copy->multipart = copy->index_hit && copy->idx_parts.len;

    if (ngx_http_s3_kms_copy_steps(r, copy) != NGX_OK) {
        ngx_http_s3_kms_copy_answer(copy);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * What comes before the source's GET, each step once: for a "null"
 * version with an index entry, a GET of its first byte, whose ETag says
 * whether the entry is the version's (the entry describes the latest
 * object written without a version id: a PUT to the bucket once
 * versioned replaces it, not the "null" version); the range mapped; for
 * tagging directive COPY, the source's tags.  NGX_OK: a step waits for the
 * backend (ngx_http_s3_kms_copy_side_handler() goes on), or the source's
 * GET started; NGX_ERROR: the copy failed (ctx->error, if set, says why).
 */

static ngx_int_t
ngx_http_s3_kms_copy_steps(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    u_char     *p;
    ngx_str_t   q;

    for ( ;; ) {

        switch (copy->step) {

        case NGX_HTTP_S3_KMS_COPY_INDEXED:
            copy->step = NGX_HTTP_S3_KMS_COPY_CHECKED;

            if (copy->null_version && copy->index_hit) {
                /* its first byte: what the backend holds as "null" */
                return ngx_http_s3_kms_copy_side_start(r, copy, "GET",
                                                       &copy->query);
            }

            break;

        case NGX_HTTP_S3_KMS_COPY_CHECKED:
            copy->step = NGX_HTTP_S3_KMS_COPY_PLANNED;

            if (ngx_http_s3_kms_copy_plan(r, copy) != NGX_OK) {
                return NGX_ERROR;
            }

            break;

        case NGX_HTTP_S3_KMS_COPY_PLANNED:
            copy->step = NGX_HTTP_S3_KMS_COPY_TAGGED;

            if (!copy->copy_tags) {
                break;
            }

            /* GetObjectTagging of the source, of its version if named */

            q.len = sizeof("tagging") - 1
                    + (copy->query.len ? 1 + copy->query.len : 0);
            q.data = ngx_pnalloc(r->pool, q.len);
            if (q.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(q.data, "tagging", sizeof("tagging") - 1);

            if (copy->query.len) {
                *p++ = '&';
                ngx_memcpy(p, copy->query.data, copy->query.len);
            }

            return ngx_http_s3_kms_copy_side_start(r, copy, "GET", &q);

        case NGX_HTTP_S3_KMS_COPY_TAGGED:
            copy->step = NGX_HTTP_S3_KMS_COPY_READING;
            return ngx_http_s3_kms_copy_src_start(r, copy);

        default:
            return NGX_ERROR;
        }
    }
}


/* a GET on the source's path, its answer kept in memory */

static ngx_int_t
ngx_http_s3_kms_copy_side_start(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy, const char *method, ngx_str_t *query)
{
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_s3_kms_copy_side_done;
    ps->data = copy;

    copy->side_method.data = (u_char *) method;
    copy->side_method.len = ngx_strlen(method);
    copy->side_query = *query;
    copy->side_status = 0;
    copy->side_etag.len = 0;
    copy->side_data = NULL;
    copy->side_len = 0;
    copy->side_done = 0;

    if (ngx_http_subrequest(r, &r->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    copy->side = sr;

    return NGX_OK;
}


/*
 * The side request ended (for each finalization of it): what it brought,
 * then the main request's turn, from the event loop.
 */

static ngx_int_t
ngx_http_s3_kms_copy_side_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_s3_kms_copy_t  *copy = data;

    ngx_http_s3_kms_gw_ctx_t  *sctx;

    if (copy->side != r || copy->side_done) {
        return NGX_OK;
    }

    copy->side_done = 1;
    sctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (sctx != NULL && r->upstream != NULL && rc == NGX_OK) {
        copy->side_status = r->upstream->headers_in.status_n;
        copy->side_etag = sctx->obj.etag;      /* the shared pool's */
        copy->side_data = sctx->list_data;
        copy->side_len = sctx->list_len;
    }

    if (!copy->side_ev.posted) {
        ngx_post_event(&copy->side_ev, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_http_s3_kms_copy_side_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_copy_t  *copy = ev->data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = copy->request;
    c = r->connection;

    copy->side = NULL;

    if (copy->answered || copy->failed) {
        return;
    }

    if (ngx_http_s3_kms_copy_side_result(r, copy) != NGX_OK
        || (!copy->answered && ngx_http_s3_kms_copy_steps(r, copy) != NGX_OK))
    {
        ngx_http_s3_kms_copy_answer(copy);
    }

    ngx_http_run_posted_requests(c);
}


/* what the side request says; NGX_OK also when the copy is answered */

static ngx_int_t
ngx_http_s3_kms_copy_side_result(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    char                      *tags;
    size_t                     len;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    if (copy->step == NGX_HTTP_S3_KMS_COPY_CHECKED) {

        /* the "null" version: the entry is its if the ETags agree */

        if ((copy->side_status != NGX_HTTP_OK
             && copy->side_status != NGX_HTTP_PARTIAL_CONTENT)
            || !ngx_http_s3_kms_etag_equal(&copy->side_etag,
                                           &copy->idx_etag))
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "s3_kms: copy source %V/%V?versionId=null: the "
                           "index entry is another version's",
                           &copy->bucket, &copy->key);

            copy->index_hit = 0;
            copy->multipart = 0;
        }

        return NGX_OK;
    }

    /* GetObjectTagging of the source */

    switch (copy->side_status) {

    case NGX_HTTP_OK:
        break;

    case NGX_HTTP_NOT_FOUND:
        /* no such source (or version): its GET answers as S3 does */
        return NGX_OK;

    case NGX_HTTP_NOT_IMPLEMENTED:
        /* a backend without tags: the source has none */
        return NGX_OK;

    case 0:
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "the backend did not answer the copy "
                                  "source's GetObjectTagging");
        return NGX_ERROR;

    default:
        /* refused, ...: the backend's answer, as it gives it */
        copy->status = copy->side_status;
        copy->errbody = copy->side_data;
        copy->errlen = copy->side_data ? copy->side_len : 0;
        ngx_http_s3_kms_copy_relay(copy);
        return NGX_OK;
    }

    if (copy->side_data == NULL
        || s3_tagging_from_xml(copy->side_data, copy->side_len, &tags, &len)
           != S3_OK)
    {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                  "the backend's GetObjectTagging document "
                                  "of the copy source is malformed");
        return NGX_ERROR;
    }

    if (len) {
        copy->tags.data = ngx_pnalloc(r->pool, len);
        if (copy->tags.data == NULL) {
            free(tags);
            return NGX_ERROR;
        }

        ngx_memcpy(copy->tags.data, tags, len);
        copy->tags.len = len;
    }

    free(tags);

    /* the target's PUT carries them (the request's x-amz-tagging not) */

    if (copy->tags.len
        && ngx_http_s3_kms_be_header(ctx, "x-amz-tagging", copy->tags.data,
                                     copy->tags.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The plaintext range copied, against what the index knows.  Without an
 * entry the source's headers tell (step 2), and a range is found in a
 * fetch from the start of the object.
 */

static ngx_int_t
ngx_http_s3_kms_copy_plan(ngx_http_request_t *r, ngx_http_s3_kms_copy_t *copy)
{
    uint64_t                   plain_total, stored_total;
    ngx_int_t                  rc;
    s3_objfmt_hdr_t            h;

    if (!copy->index_hit) {
        return NGX_OK;
    }

    if (copy->multipart) {
        rc = ngx_http_s3_kms_mpu_parse_table(r->pool, &copy->idx_parts,
                                             &copy->segs, &copy->nsegs,
                                             &plain_total, &stored_total);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc != NGX_OK || plain_total != (uint64_t) copy->idx_len) {
            goto stale;
        }

    } else {
        if (s3_objfmt_hdr_parse(copy->idx_hdr, S3_OBJFMT_HDR_LEN, &h)
            != S3_OBJFMT_OK
            || h.len != (uint64_t) copy->idx_len || h.part != 0)
        {
            goto stale;
        }
    }

    copy->total = (uint64_t) copy->idx_len;

    if (ngx_http_s3_kms_copy_range(copy) != NGX_OK) {
        return NGX_ERROR;
    }

    /* what the stored bytes fetched decrypt to, exactly */

    copy->exact = (copy->count != 0);
    copy->want = copy->count;

    if (copy->multipart && copy->count
        && s3_objfmt_map_range(copy->segs, copy->nsegs, copy->first,
                               copy->count, &copy->span)
           != S3_OBJFMT_OK)
    {
        goto stale;
    }

    return NGX_OK;

stale:

    /* a damaged entry: the backend's metadata decides */

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "s3_kms: copy source %V/%V: its index entry is damaged; "
                  "ignored", &copy->bucket, &copy->key);

    copy->index_hit = 0;
    copy->multipart = 0;

    return NGX_OK;
}


/* the range, once the source's plaintext length is known */

static ngx_int_t
ngx_http_s3_kms_copy_range(ngx_http_s3_kms_copy_t *copy)
{
    u_char                    *p;
    s3_request_t              *s3;
    ngx_table_elt_t           *h;
    ngx_http_request_t        *r;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    r = copy->request;
    ctx = copy->ctx;
    s3 = ctx->s3;

    if (s3->op == S3_OP_COPY_OBJECT) {
        if (copy->total > NGX_HTTP_S3_KMS_COPY_MAX) {
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INVALID_REQUEST,
                                      NGX_HTTP_S3_KMS_COPY_TOO_BIG, NULL);
            return NGX_ERROR;
        }

        copy->first = 0;
        copy->count = copy->total;
        return NGX_OK;
    }

    if (!s3->has_copy_range) {
        copy->first = 0;
        copy->count = copy->total;

    } else {
        if (s3->copy_first >= copy->total || s3->copy_last >= copy->total
            || s3->copy_last < s3->copy_first)
        {
            /* S3: InvalidArgument (400), not GET's InvalidRange */

            p = ngx_pnalloc(r->pool, sizeof(NGX_HTTP_S3_KMS_COPY_RANGE)
                                     + NGX_OFF_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            *ngx_sprintf(p, NGX_HTTP_S3_KMS_COPY_RANGE "%uL", copy->total) =
                                                                        '\0';

            h = ngx_http_s3_kms_find_header(r, "x-amz-copy-source-range");

            ctx->error.extra[0].name = "ArgumentName";
            ctx->error.extra[0].value.data =
                                  (u_char *) "x-amz-copy-source-range";
            ctx->error.extra[0].value.len =
                                  sizeof("x-amz-copy-source-range") - 1;
            ctx->error.extra[1].name = "ArgumentValue";
            ctx->error.extra[1].value.data = h ? h->value.data : NULL;
            ctx->error.extra[1].value.len = h ? h->value.len : 0;
            ctx->error.nextra = 2;
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INVALID_ARGUMENT,
                                      (const char *) p,
                                      "x-amz-copy-source-range beyond the "
                                      "source");
            return NGX_ERROR;
        }

        copy->first = s3->copy_first;
        copy->count = s3->copy_last - s3->copy_first + 1;
    }

    return NGX_OK;
}


/* ---- the source's GET ---------------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_copy_src_start(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_s3_kms_copy_src_done;
    ps->data = copy;

    /*
     * In memory: its body reaches our input filter only.  In the
     * background: the main request's answer never waits for it.
     */

    if (ngx_http_subrequest(r, &r->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    copy->sr = sr;

    return NGX_OK;
}


/* the subrequest reaches the gateway's handler: its backend request */

ngx_int_t
ngx_http_s3_kms_copy_sub_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx)
{
    u_char                    *p;
    uint64_t                   soff, slen, end;
    ngx_http_s3_kms_copy_t    *copy = pctx->copy;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    if (copy != NULL && copy->side == r && !copy->side_done) {

        /* a side request: its answer kept whole (a document, or none) */

        ctx = ngx_http_s3_kms_gw_sub_ctx(r, pctx, NGX_HTTP_S3_KMS_BE_LIST);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->bucket = copy->bucket;
        ctx->key = copy->key;
        ctx->be_method = copy->side_method;
        ctx->be_path = copy->path;
        ctx->be_query = copy->side_query;

        if (copy->step == NGX_HTTP_S3_KMS_COPY_CHECKED
            && ngx_http_s3_kms_be_header(ctx, "range", (u_char *) "bytes=0-0",
                                         9)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_s3_kms_be_start(r, ctx);
    }

    if (copy == NULL || copy->sr != r) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_s3_kms_gw_sub_ctx(r, pctx, NGX_HTTP_S3_KMS_BE_COPY_SRC);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->bucket = copy->bucket;
    ctx->key = copy->key;
    ctx->copy = copy;
    ctx->be_path = copy->path;
    ctx->be_query = copy->query;

    copy->sctx = ctx;

    /* the stored bytes the range needs; the object the index describes */

    if (copy->index_hit) {

        if (!copy->exact) {
            soff = 0;                   /* nothing to decrypt: no range */
            slen = 0;

        } else if (copy->multipart) {
            soff = copy->span.stored_off;
            slen = copy->span.stored_len;

        } else if (s3_objfmt_seg_span((uint64_t) copy->idx_len,
                                      copy->idx_hdr[6], copy->first,
                                      copy->count, 0, &soff, &slen)
                   != S3_OBJFMT_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (slen) {
            p = ngx_pnalloc(r->pool, sizeof("bytes=-") + 2 * NGX_OFF_T_LEN);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (ngx_http_s3_kms_be_header(ctx, "range", p,
                                          ngx_sprintf(p, "bytes=%uL-%uL",
                                                      soff, soff + slen - 1)
                                          - p)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (ngx_http_s3_kms_be_header(ctx, "if-match", copy->idx_etag.data,
                                      copy->idx_etag.len)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (pctx->s3->has_copy_range) {

        /*
         * Nothing known: enough stored bytes from the start for the
         * range's end in the smallest frame size (or the range itself of
         * a plaintext object), the header in the stream.
         */

        end = pctx->s3->copy_last + 1;
        end = S3_OBJFMT_HDR_LEN + end
              + S3_OBJFMT_TAG_LEN * ((end >> S3_OBJFMT_LOG2F_MIN) + 1);

        p = ngx_pnalloc(r->pool, sizeof("bytes=0-") + NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_s3_kms_be_header(ctx, "range", p,
                                      ngx_sprintf(p, "bytes=0-%uL", end - 1)
                                      - p)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


/*
 * The source's response headers (ngx_http_s3_kms_gw_response_headers()):
 * its metadata, the client's conditions, the range.  NGX_ERROR ends the
 * subrequest at once (the error is the copy's).
 */

ngx_int_t
ngx_http_s3_kms_copy_src_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    off_t                   total;
    ngx_http_upstream_t    *u;
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;
    ngx_http_s3_kms_copy_t *copy = ctx->copy;

    u = r->upstream;

    /*
     * In-memory subrequests whose Content-Length is over
     * subrequest_output_buffer_size fail; the stored length is kept.
     */

    u->headers_in.content_length_n = -1;

    copy->status = u->headers_in.status_n;

    if (copy->status == NGX_HTTP_PRECONDITION_FAILED && copy->index_hit) {

        /* our If-Match: the index describes an object replaced since */

        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SLOW_DOWN, NULL,
                                  "the copy source changed while it was "
                                  "read");
        return NGX_ERROR;
    }

    if (copy->status == NGX_HTTP_RANGE_NOT_SATISFIABLE
        && !copy->index_hit)
    {
        /* an empty source: no range of it exists */
        copy->total = 0;
        (void) ngx_http_s3_kms_copy_range(copy);
        return NGX_ERROR;
    }

    if (copy->status != NGX_HTTP_OK
        && copy->status != NGX_HTTP_PARTIAL_CONTENT)
    {
        /* missing, refused, ...: the backend's answer, as it gives it */
        copy->relay = 1;
        return NGX_OK;
    }

    if (u->headers_in.chunked || o->stored < 0) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                  "the backend sent the copy source "
                                  "without a length");
        return NGX_ERROR;
    }

    copy->obj = *o;
    copy->encrypted = o->encrypted;


    if (u->headers_in.last_modified) {
        copy->last_modified = u->headers_in.last_modified->value;
    }

    /* the object the index describes, or what the backend says of it */

    if (copy->index_hit) {
        if (!o->encrypted || o->etag.len != copy->idx_etag.len
            || ngx_strncmp(o->etag.data, copy->idx_etag.data,
                           o->etag.len) != 0)
        {
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_SLOW_DOWN, NULL,
                                      "the copy source changed while it "
                                      "was read");
            return NGX_ERROR;
        }

    } else if (o->encrypted) {

        if (o->len < 0) {
            /*
             * A multipart object the index lost: its part table is
             * rebuilt by a GET or HEAD of it first.
             */
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE,
                                      NULL, "the copy source's part table "
                                      "is not in the index; a GET or HEAD "
                                      "of it rebuilds it");
            return NGX_ERROR;
        }

        copy->total = (uint64_t) o->len;

    } else {
        total = (copy->status == NGX_HTTP_PARTIAL_CONTENT) ? o->total
                                                           : o->stored;
        if (total < 0) {
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                      "the backend sent no object size");
            return NGX_ERROR;
        }

        copy->total = (uint64_t) total;
    }

    if (o->encrypted && (o->dek.len == 0 || o->key_arn.len == 0)) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                  "incomplete encryption metadata on the "
                                  "copy source");
        return NGX_ERROR;
    }

    if (ngx_http_s3_kms_copy_conditions(r, copy) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!copy->index_hit) {
        if (ngx_http_s3_kms_copy_range(copy) != NGX_OK) {
            return NGX_ERROR;
        }

        /* fetched from byte 0: the plaintext before the range dropped */

        copy->skip = copy->first;
        copy->exact = !ctx->s3->has_copy_range && copy->count != 0;
        copy->want = copy->count;
    }

    if (ngx_http_s3_kms_copy_metadata(r, copy, u) != NGX_OK) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
        return NGX_ERROR;
    }

    copy->headers_ok = 1;

    /* the main request goes on: KMS, the target */

    ngx_http_s3_kms_copy_post(copy);

    return NGX_OK;
}


/*
 * x-amz-copy-source-if-*, as S3 combines them: If-Match that holds
 * overrides If-Unmodified-Since; If-None-Match that holds overrides
 * If-Modified-Since.  ETags are the ones the client knows: the backend's,
 * or an SSE-S3 object's MD5.
 */

static ngx_int_t
ngx_http_s3_kms_copy_conditions(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    time_t                     lm, t;
    ngx_str_t                 *md5;
    const char                *failed;
    ngx_table_elt_t           *im, *inm, *ims, *ius;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    im = ngx_http_s3_kms_find_header(r, "x-amz-copy-source-if-match");
    inm = ngx_http_s3_kms_find_header(r, "x-amz-copy-source-if-none-match");
    ims = ngx_http_s3_kms_find_header(r,
                                 "x-amz-copy-source-if-modified-since");
    ius = ngx_http_s3_kms_find_header(r,
                                 "x-amz-copy-source-if-unmodified-since");

    if (im == NULL && inm == NULL && ims == NULL && ius == NULL) {
        return NGX_OK;
    }

    md5 = (copy->idx_md5.len == 32 && copy->idx_etag.len
           && copy->obj.etag.len == copy->idx_etag.len
           && ngx_strncmp(copy->obj.etag.data, copy->idx_etag.data,
                          copy->idx_etag.len) == 0)
          ? &copy->idx_md5 : NULL;

    lm = copy->last_modified.len
         ? ngx_parse_http_time(copy->last_modified.data,
                               copy->last_modified.len)
         : NGX_ERROR;

    failed = NULL;

    if (im != NULL) {
        if (!ngx_http_s3_kms_copy_etag_in(&im->value, &copy->obj.etag, md5)) {
            failed = "x-amz-copy-source-If-Match";
        }

    } else if (ius != NULL && lm != NGX_ERROR) {
        t = ngx_parse_http_time(ius->value.data, ius->value.len);

        if (t != NGX_ERROR && lm > t) {
            failed = "x-amz-copy-source-If-Unmodified-Since";
        }
    }

    if (failed == NULL && inm != NULL) {
        if (ngx_http_s3_kms_copy_etag_in(&inm->value, &copy->obj.etag, md5))
        {
            failed = "x-amz-copy-source-If-None-Match";
        }

    } else if (failed == NULL && ims != NULL && lm != NGX_ERROR) {
        t = ngx_parse_http_time(ims->value.data, ims->value.len);

        if (t != NGX_ERROR && t <= ngx_time() && lm <= t) {
            failed = "x-amz-copy-source-If-Modified-Since";
        }
    }

    if (failed == NULL) {
        return NGX_OK;
    }

    ctx->error.extra[0].name = "Condition";
    ctx->error.extra[0].value.data = (u_char *) failed;
    ctx->error.extra[0].value.len = ngx_strlen(failed);
    ctx->error.nextra = 1;

    ngx_http_s3_kms_copy_fail(copy, S3_ERR_PRECONDITION_FAILED, NULL,
                              "a copy source condition did not hold");

    return NGX_ERROR;
}


/* 1 if a comma-separated list of ETags (or "*") names the object */

static ngx_uint_t
ngx_http_s3_kms_copy_etag_in(ngx_str_t *list, ngx_str_t *etag,
    ngx_str_t *md5)
{
    u_char  *p, *end, *s, *e;
    size_t   n;
    u_char  *core;
    size_t   clen;

    core = etag->data;
    clen = etag->len;

    if (clen >= 2 && core[0] == '"' && core[clen - 1] == '"') {
        core++;
        clen -= 2;
    }

    p = list->data;
    end = p + list->len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        s = p;

        while (p < end && *p != ',') {
            p++;
        }

        e = p;

        while (e > s && e[-1] == ' ') {
            e--;
        }

        if (e - s >= 2 && s[0] == 'W' && s[1] == '/') {
            s += 2;
        }

        if (e - s >= 2 && s[0] == '"' && e[-1] == '"') {
            s++;
            e--;
        }

        n = e - s;

        if (n == 1 && s[0] == '*') {
            return 1;
        }

        if (n && n == clen && ngx_strncmp(s, core, n) == 0) {
            return 1;
        }

        if (md5 && n == 32 && ngx_strncasecmp(s, md5->data, 32) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * COPY (the default): the source's user metadata and content headers go
 * to the target, never its x-amz-meta-ssek-* (the backend filter took
 * those); REPLACE: the request's (ngx_http_s3_kms_gw_forward_headers()).
 */

static ngx_int_t
ngx_http_s3_kms_copy_metadata(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy, ngx_http_upstream_t *su)
{
    size_t                     n, meta;
    u_char                    *name;
    ngx_uint_t                 i, k;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;
    static const char         *content[] = {
        "content-type", "content-disposition", "content-encoding",
        "content-language", "cache-control", "expires", NULL
    };

    part = &su->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        n = h[i].key.len;

        if (n == 16 && ngx_strncmp(h[i].lowcase_key, "x-amz-version-id", 16)
                       == 0)
        {
            copy->src_version = h[i].value;
            continue;
        }

        if (ctx->s3->op != S3_OP_COPY_OBJECT || ctx->sse->meta_replace) {
            continue;
        }

        if (n > 11 && ngx_strncmp(h[i].lowcase_key, "x-amz-meta-", 11) == 0)
        {
            goto add;
        }

        for (k = 0; content[k]; k++) {
            if (n == ngx_strlen(content[k])
                && ngx_strncmp(h[i].lowcase_key, content[k], n) == 0)
            {
                goto add;
            }
        }

        continue;

    add:

        name = ngx_pnalloc(r->pool, n + 1);
        if (name == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(name, h[i].lowcase_key, n);
        name[n] = '\0';

        if (ngx_http_s3_kms_be_header(ctx, (char *) name, h[i].value.data,
                                      h[i].value.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->s3->op == S3_OP_COPY_OBJECT && !ctx->sse->meta_replace) {

        /* S3's 2 KB applies to what the target gets: the source's */

        meta = 0;
        part = &su->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len > 11
                && ngx_strncmp(h[i].lowcase_key, "x-amz-meta-", 11) == 0)
            {
                meta += s3_sse_meta_entry_size(h[i].key.len - 11,
                                               h[i].value.len);
            }
        }

        ctx->sse->meta_size = meta;
    }

    return NGX_OK;
}


/* the headers the target takes from the request under COPY: none of these */

ngx_uint_t
ngx_http_s3_kms_copy_skip_header(ngx_http_s3_kms_gw_ctx_t *ctx,
    s3_header_t *h)
{
    size_t       n;
    ngx_uint_t   k;
    static const char  *content[] = {
        "content-type", "content-disposition", "content-encoding",
        "content-language", "cache-control", "expires", NULL
    };

    if (ctx->copy == NULL || ctx->s3->op != S3_OP_COPY_OBJECT) {
        return 0;
    }

    n = h->name.len;

    /* tagging directive COPY: the source's tags, never the request's */

    if (ctx->copy->copy_tags && n == sizeof("x-amz-tagging") - 1
        && ngx_strncasecmp((u_char *) h->name.data,
                           (u_char *) "x-amz-tagging", n) == 0)
    {
        return 1;
    }

    if (ctx->sse->meta_replace) {
        return 0;
    }

    if (n > 11 && ngx_strncasecmp((u_char *) h->name.data,
                                  (u_char *) "x-amz-meta-", 11) == 0)
    {
        return 1;
    }

    for (k = 0; content[k]; k++) {
        if (n == ngx_strlen(content[k])
            && ngx_strncasecmp((u_char *) h->name.data,
                               (u_char *) content[k], n) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The source's body, as the subrequest's upstream passes it on (the
 * gateway's body filter): the pump takes what output room allows; what it
 * leaves stays busy for the upstream, which stops reading once its buffer
 * is full, until ngx_http_s3_kms_copy_src_wake().
 */

ngx_int_t
ngx_http_s3_kms_copy_src_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_chain_t *in)
{
    size_t                   n;
    ngx_buf_t               *b;
    ngx_chain_t             *cl, *tl;
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    if (copy->pending_last == NULL) {
        copy->pending_last = &copy->pending;
    }

    for (cl = in; cl; cl = cl->next) {

        if (cl->buf->last_buf || cl->buf->last_in_chain) {
            copy->src_ended = 1;
        }

        if (cl->buf->pos == cl->buf->last) {
            continue;
        }

        tl = ngx_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return NGX_ERROR;
        }

        tl->buf = cl->buf;
        tl->next = NULL;
        *copy->pending_last = tl;
        copy->pending_last = &tl->next;
    }

    if (copy->relay) {

        /* the backend's error document, kept to be relayed */

        if (copy->errbody == NULL) {
            copy->errbody = ngx_pnalloc(r->pool,
                                        NGX_HTTP_S3_KMS_COPY_ERRBODY);
            if (copy->errbody == NULL) {
                return NGX_ERROR;
            }
        }

        for (cl = copy->pending; cl; cl = cl->next) {
            b = cl->buf;
            n = ngx_min((size_t) (b->last - b->pos),
                        NGX_HTTP_S3_KMS_COPY_ERRBODY - copy->errlen);
            ngx_memcpy(copy->errbody + copy->errlen, b->pos, n);
            copy->errlen += n;
        }

        ngx_http_s3_kms_copy_src_drop(copy);
        return NGX_OK;
    }

    if (!copy->failed && !copy->src_complete && !copy->src_stop) {
        copy->in_body = 1;
        ngx_http_s3_kms_copy_pump(copy);
        copy->in_body = 0;
        copy->took = 0;
    }

    if (copy->failed || copy->src_complete || copy->src_stop) {
        /* the rest is not needed */
        ngx_http_s3_kms_copy_src_drop(copy);
        return NGX_OK;
    }

    copy->blocked = (copy->pending != NULL);

    return NGX_OK;
}


/* 1 if more of the source's stored bytes are (or will be) there */

static ngx_uint_t
ngx_http_s3_kms_copy_src_more(ngx_http_s3_kms_copy_t *copy)
{
    ngx_http_upstream_t  *u;

    if (copy->pending) {
        return 1;
    }

    u = copy->sr->upstream;

    return !copy->src_ended && !copy->src_done && u != NULL
           && u->length != 0;
}


/*
 * Drops what is pending; a source not read to its end ends now, its
 * connection not reused.
 */

static void
ngx_http_s3_kms_copy_src_drop(ngx_http_s3_kms_copy_t *copy)
{
    ngx_chain_t          *cl;
    ngx_http_upstream_t  *u;

    for (cl = copy->pending; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
    }

    copy->pending = NULL;
    copy->pending_last = &copy->pending;

    if (copy->sr == NULL || copy->src_done) {
        return;
    }

    u = copy->sr->upstream;

    if (u != NULL && u->length != 0 && !copy->relay) {
        u->length = 0;
        u->keepalive = 0;
    }
}


/* the subrequest's upstream goes on: its busy buffers were used */

static void
ngx_http_s3_kms_copy_src_wake(ngx_http_s3_kms_copy_t *copy)
{
    if (copy->sr == NULL || copy->src_done || !copy->headers_ok) {
        return;
    }

    copy->blocked = 0;

    (void) ngx_http_post_request(copy->sr, NULL);
}


/* ends the source's GET early: the copy failed or has what it needs */

static void
ngx_http_s3_kms_copy_src_abort(ngx_http_s3_kms_copy_t *copy)
{
    copy->src_stop = 1;

    if (copy->sr == NULL || copy->src_done || !copy->headers_ok) {
        return;
    }

    ngx_http_s3_kms_copy_src_drop(copy);
    ngx_http_s3_kms_copy_src_wake(copy);
}


/* the subrequest ended: every stored byte read, or not */

static ngx_int_t
ngx_http_s3_kms_copy_src_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_s3_kms_copy_t  *copy = data;

    copy->src_done = 1;

    if (copy->answered || copy->put_finished) {
        return NGX_OK;
    }

    if (copy->headers_ok && rc != NGX_OK && !copy->src_complete
        && !copy->failed)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: copy source %V/%V ended early (%i); the "
                      "target is not written", &copy->bucket, &copy->key,
                      rc);
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                  "The copy source could not be read.",
                                  "the copy source ended early");
    }

    if (!copy->headers_ok && !copy->failed && !copy->relay) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "the backend did not answer the copy "
                                  "source's GET");
    }

    ngx_http_s3_kms_copy_post(copy);

    /* never an error page for the subrequest: the copy answers */

    return NGX_OK;
}


/* ---- the main request's side --------------------------------------------- */

static void
ngx_http_s3_kms_copy_post(ngx_http_s3_kms_copy_t *copy)
{
    if (!copy->wake.posted) {
        ngx_post_event(&copy->wake, &ngx_posted_events);
    }
}


static void
ngx_http_s3_kms_copy_wake_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_copy_t  *copy = ev->data;

    ngx_connection_t  *c;

    c = copy->request->connection;

    ngx_http_s3_kms_copy_continue(copy);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_s3_kms_copy_continue(ngx_http_s3_kms_copy_t *copy)
{
    u_char                       *blob, *pairs;
    long                          blen, plen;
    char                         *context, barn[NGX_HTTP_S3_KMS_ARN_MAX];
    size_t                        barn_len;
    ngx_int_t                     rc;
    kms_call_t                   *call;
    ngx_http_request_t           *r = copy->request;
    ngx_http_s3_kms_obj_t        *o = &copy->obj;
    ngx_http_s3_kms_gw_ctx_t     *ctx = copy->ctx;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (copy->answered) {
        return;
    }

    if (copy->relay && copy->src_done) {
        ngx_http_s3_kms_copy_relay(copy);
        return;
    }

    if (copy->failed) {
        ngx_http_s3_kms_copy_answer(copy);
        return;
    }

    if (copy->put_ready) {
        ngx_http_s3_kms_copy_pump(copy);
        return;
    }

    if (!copy->headers_ok || copy->key_started) {
        return;
    }

    copy->key_started = 1;

    if (!copy->encrypted) {
        rc = ngx_http_s3_kms_copy_target(r, copy);
        goto done;
    }

    /* the source's data key: KMS Decrypt as the client, S3's context */

    blob = ngx_pnalloc(r->pool, o->dek.len);
    pairs = ngx_pnalloc(r->pool, o->ctx.len + 1);

    if (blob == NULL || pairs == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    blen = kms_base64_decode((const char *) o->dek.data, o->dek.len, blob,
                             o->dek.len);
    plen = o->ctx.len ? kms_base64_decode((const char *) o->ctx.data,
                                          o->ctx.len, pairs, o->ctx.len)
                      : 0;

    if (blen <= 0 || plen < 0) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                  "damaged encryption metadata on the copy "
                                  "source");
        rc = NGX_ERROR;
        goto done;
    }

    if (o->bk.len) {
        barn_len = s3_arn_bucket(barn, sizeof(barn), ctx->s3->copy_bucket);
        rc = ngx_http_s3_kms_gw_context(r, ctx, pairs, plen, barn, barn_len,
                                        &context);

    } else {
        rc = ngx_http_s3_kms_gw_context(r, ctx, pairs, plen, copy->arn,
                                        copy->arn_len, &context);
    }

    if (rc != NGX_OK) {
        goto done;
    }

    if (kms_ctx_state(mcf->worker->kms) != KMS_RING_READY
        || !mcf->worker->subscribed)
    {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "the key store is not reachable");
        rc = NGX_ERROR;
        goto done;
    }

    if (o->alg.len == 6 && ngx_strncmp(o->alg.data, "AES256", 6) == 0) {
        call = kms_call_decrypt_blob_internal(mcf->worker->kms, &ctx->caller,
                                              blob, blen, context);
    } else {
        call = kms_call_decrypt_blob(mcf->worker->kms, &ctx->caller, blob,
                                     blen, context);
    }

    if (call == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rc = ngx_http_s3_kms_gw_kms_start(r, ctx, call, ngx_http_s3_kms_copy_key);

done:

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc == NGX_DONE) {
        /* the target's PUT runs */
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
        return;
    }

    if (!copy->failed) {
        copy->failed = 1;
        if (ctx->error.err == S3_OK) {
            ctx->error.err = S3_ERR_INTERNAL;
        }
    }

    ngx_http_s3_kms_copy_answer(copy);
}


static void
ngx_http_s3_kms_copy_key(ngx_http_s3_kms_run_t *run)
{
    ngx_uint_t                  async = run->async;
    ngx_http_request_t         *r = run->data;

    u_char                      bkey[S3_OBJFMT_KEY_LEN], salt[32];
    long                        n;
    size_t                      len;
    ngx_int_t                   rc;
    kms_err_t                   err;
    ngx_uint_t                  i;
    s3_objfmt_rc_t              orc;
    s3_objfmt_hdr_t            *hdrs;
    ngx_connection_t           *c;
    const unsigned char        *dek;
    ngx_http_s3_kms_copy_t     *copy;
    ngx_http_s3_kms_gw_ctx_t   *ctx;
    ngx_http_s3_kms_loc_conf_t *lcf;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    copy = ctx->copy;

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                kms_call_log(run->call));
        copy->failed = 1;
        rc = NGX_ERROR;
        goto done;
    }

    dek = kms_call_plaintext(run->call, &len);

    if (dek == NULL || len != S3_OBJFMT_KEY_LEN) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
        rc = NGX_ERROR;
        goto done;
    }

    if (copy->obj.bk.len) {

        /* S3 Bucket Keys: the object's key from the bucket key */

        ngx_memcpy(bkey, dek, S3_OBJFMT_KEY_LEN);

        n = kms_base64_decode((const char *) copy->obj.bk.data,
                              copy->obj.bk.len, salt, sizeof(salt));

        orc = (n == S3_OBJFMT_SALT_LEN)
              ? s3_objfmt_object_key(bkey, salt, copy->arn, copy->arn_len,
                                     copy->dek)
              : S3_OBJFMT_ERR_ARGS;

        kms_wipe(bkey, sizeof(bkey));

        if (orc != S3_OBJFMT_OK) {
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                      "damaged encryption metadata "
                                      "(ssek-bk) on the copy source");
            rc = NGX_ERROR;
            goto done;
        }

    } else {
        ngx_memcpy(copy->dek, dek, S3_OBJFMT_KEY_LEN);
    }

    copy->has_dek = 1;

    /* a multipart source: its part table under the manifest MAC */

    if (copy->multipart) {

        if (copy->idx_unverified || copy->idx_mac.len != S3_OBJFMT_MAC_LEN) {
            if (lcf->unverified == NGX_HTTP_S3_KMS_UNVERIFIED_REFUSE) {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                 "The part table of the object could not "
                                 "be verified.",
                                 "the copy source is manifest-unverified");
                rc = NGX_ERROR;
                goto done;
            }

            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "s3_kms: copy source %V/%V: manifest-unverified "
                          "part table", &copy->bucket, &copy->key);

        } else {
            hdrs = ngx_alloc(copy->nsegs * sizeof(s3_objfmt_hdr_t), c->log);
            if (hdrs == NULL) {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                goto done;
            }

            for (i = 0; i < copy->nsegs; i++) {
                (void) s3_objfmt_hdr_parse(copy->idx_parts.data
                                           + i * NGX_HTTP_S3_KMS_COPY_ENTRY
                                           + 8, S3_OBJFMT_HDR_LEN, &hdrs[i]);
            }

            orc = s3_objfmt_manifest_verify(copy->dek, copy->arn,
                                            copy->arn_len,
                                            (const char *)
                                                copy->idx_upload.data,
                                            copy->idx_upload.len, hdrs,
                                            copy->nsegs,
                                            copy->idx_mac.data);
            ngx_free(hdrs);

            if (orc != S3_OBJFMT_OK) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "s3_kms: copy source %V/%V: %s",
                              &copy->bucket, &copy->key,
                              s3_objfmt_strerror(orc));
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                 "The part table of the object could not "
                                 "be verified.", "manifest MAC mismatch");
                rc = NGX_ERROR;
                goto done;
            }
        }
    }

    rc = ngx_http_s3_kms_copy_target(r, copy);

done:

    kms_call_free(run->call);          /* wipes its copy of the key */
    run->call = NULL;

    if (rc == NGX_DONE) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);

    } else if (rc != NGX_AGAIN) {
        if (!copy->failed) {
            copy->failed = 1;
            if (ctx->error.err == S3_OK) {
                ctx->error.err = S3_ERR_INTERNAL;
            }
        }

        ngx_http_s3_kms_copy_answer(copy);
    }

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


/*
 * The target, as PutObject or UploadPart makes it, its plaintext length
 * known in advance.  Returns NGX_AGAIN (KMS, Redis), NGX_DONE (the PUT
 * runs) or an error.
 */

static ngx_int_t
ngx_http_s3_kms_copy_target(ngx_http_request_t *r,
    ngx_http_s3_kms_copy_t *copy)
{
    s3_err_t                     err;
    ngx_http_s3_kms_gw_ctx_t    *ctx = copy->ctx;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    /* a payload that checks nothing: the body is ours */

    ctx->payload = ngx_pcalloc(r->pool, sizeof(s3_payload_t));
    if (ctx->payload == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->plain_len = (off_t) copy->count;

    if (ctx->s3->op == S3_OP_UPLOAD_PART_COPY) {
        return ngx_http_s3_kms_mpu_part_copy(r, ctx);
    }

    err = s3_objfmt_check_len(copy->count, lcf->frame_log2);

    if (err != S3_OK) {
        ngx_http_s3_kms_copy_fail(copy, err, NULL, NULL);
        return NGX_ERROR;
    }

    ctx->be_length = s3_objfmt_stored_len(copy->count, lcf->frame_log2);

    return ngx_http_s3_kms_gw_put(r, ctx);
}


/* ---- the target's PUT ---------------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_copy_be_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_upstream_t     *u;
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    /* the request to the backend is the headers; the body is pumped */

    copy->put_started = 1;

    r->main->count++;
    ngx_http_upstream_init(r);

    u = r->upstream;

    if (copy->put_finished || u == NULL) {
        return NGX_DONE;
    }

    if (u->request_body_sent) {
        copy->put_ready = 1;
        u->write_event_handler = ngx_http_s3_kms_copy_put_write;
        ngx_http_s3_kms_copy_post(copy);

    } else {
        /* connecting, or a TLS handshake: its end has no hook of ours */
        ngx_add_timer(&copy->poll, NGX_HTTP_S3_KMS_COPY_POLL);
    }

    return NGX_DONE;
}


static void
ngx_http_s3_kms_copy_poll_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_copy_t  *copy = ev->data;

    ngx_connection_t     *c;
    ngx_http_upstream_t  *u;

    if (copy->put_finished || copy->answered) {
        return;
    }

    u = copy->request->upstream;
    c = copy->request->connection;

    if (u == NULL || !u->request_body_sent) {
        ngx_add_timer(&copy->poll, NGX_HTTP_S3_KMS_COPY_POLL);
        return;
    }

    copy->put_ready = 1;
    u->write_event_handler = ngx_http_s3_kms_copy_put_write;

    ngx_http_s3_kms_copy_continue(copy);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_s3_kms_copy_put_write(ngx_http_request_t *r, ngx_http_upstream_t *u)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx;
    ngx_http_s3_kms_copy_t    *copy;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    copy = ctx->copy;

    if (u->peer.connection->write->timedout) {
        u->peer.connection->write->timedout = 0;
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "the backend stopped taking the copy");
        ngx_http_s3_kms_copy_answer(copy);
        return;
    }

    ngx_http_s3_kms_copy_pump(copy);
}


/*
 * Moves as much as output room allows: source bytes -> authenticated
 * plaintext -> encrypted bytes in our buffers -> the PUT's connection.
 */

static void
ngx_http_s3_kms_copy_pump(ngx_http_s3_kms_copy_t *copy)
{
    size_t                     consumed, written, avail;
    ngx_int_t                  rc;
    ngx_uint_t                 starved;
    ngx_buf_t                 *ob, *sb;
    s3_objfmt_rc_t             orc;
    ngx_connection_t          *c;
    ngx_http_upstream_t       *u;
    ngx_http_request_t        *r = copy->request;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    if (!copy->put_ready || copy->failed || copy->answered
        || copy->put_finished)
    {
        return;
    }

    u = r->upstream;
    c = u->peer.connection;
    sb = NULL;

    /* once the body is all handed over, only what is left to write */

again:

    starved = 0;

    for ( ;; ) {

        if (copy->body_done) {
            break;
        }

        /* 1. plaintext waiting: into the encryptor */

        avail = copy->plain_left;

        if (avail == 0 && !copy->encrypted && copy->headers_ok
            && copy->want && !copy->src_complete
            && (sb = ngx_http_s3_kms_copy_src_buf(copy)) != NULL)
        {
            /* a plaintext source: straight from the backend's buffer */

            avail = sb->last - sb->pos;

            if (copy->skip) {
                consumed = ngx_min(avail, copy->skip);
                sb->pos += consumed;
                copy->skip -= consumed;
                continue;
            }

            avail = ngx_min((uint64_t) avail, copy->want);
            copy->plain = sb->pos;
            copy->plain_left = avail;
        }

        if (avail) {
            ob = ngx_http_s3_kms_copy_obuf(copy);
            if (ob == NULL) {
                starved = 1;            /* all in flight */
                break;
            }

            orc = s3_objfmt_enc_process(ctx->enc, copy->plain, avail,
                                        &consumed, ob->last,
                                        ob->end - ob->last, &written);

            if (orc != S3_OBJFMT_OK && orc != S3_OBJFMT_AGAIN
                && orc != S3_OBJFMT_HELD)
            {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                          s3_objfmt_strerror(orc));
                goto failed;
            }

            if (ctx->md5_on && consumed
                && s3_checksum_update(&ctx->md5, copy->plain, consumed)
                   != S3_OK)
            {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
                goto failed;
            }

            ob->last += written;
            copy->plain += consumed;
            copy->plain_left -= consumed;
            copy->want -= consumed;

            if (!copy->encrypted) {
                sb->pos += consumed;
                copy->plain_left = 0;
            }

            if (copy->want == 0) {
                copy->src_complete = 1;
            }

            if (ob->last == ob->end && ngx_http_s3_kms_copy_emit(copy)
                                       != NGX_OK)
            {
                goto failed;
            }

            continue;
        }

        /* 2. the next authenticated plaintext of the source */

        if (!copy->src_complete && copy->encrypted) {
            rc = ngx_http_s3_kms_copy_produce(copy);

            if (rc == NGX_ERROR) {
                goto failed;
            }

            if (rc == NGX_OK) {
                continue;
            }

            /* NGX_AGAIN: more stored bytes needed */
        }

        if (copy->want == 0) {
            copy->src_complete = 1;
        }

        /* 3. all of it in: the final frame goes */

        if (copy->src_complete && !copy->released) {

            if (copy->multipart || copy->exact) {
                /* nothing may follow what decrypted */

                if (copy->encrypted && copy->exact
                    && (ngx_http_s3_kms_copy_src_buf(copy) != NULL
                        || ngx_http_s3_kms_copy_src_more(copy)))
                {
                    ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                              "The object cannot be "
                                              "decrypted.",
                                              "data after the copy "
                                              "source's last frame");
                    goto failed;
                }
            }

            if (ctx->md5_on) {
                u_char  md[S3_CHECKSUM_MAX_LEN];
                size_t  n;

                if (s3_checksum_final(&ctx->md5, md, &n) != S3_OK
                    || n != 16)
                {
                    ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                              NULL);
                    goto failed;
                }

                ngx_hex_dump(ctx->md5_hex, md, 16);
                ctx->md5_done = 1;
            }

            orc = s3_objfmt_enc_release(ctx->enc);

            if (orc != S3_OBJFMT_OK) {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                          s3_objfmt_strerror(orc));
                goto failed;
            }

            copy->released = 1;
        }

        if (copy->released && !copy->body_done) {
            ob = ngx_http_s3_kms_copy_obuf(copy);
            if (ob == NULL) {
                starved = 1;
                break;
            }

            orc = s3_objfmt_enc_process(ctx->enc, NULL, 0, &consumed,
                                        ob->last, ob->end - ob->last,
                                        &written);
            ob->last += written;

            if (orc == S3_OBJFMT_AGAIN) {
                if (ngx_http_s3_kms_copy_emit(copy) != NGX_OK) {
                    goto failed;
                }

                continue;
            }

            if (orc != S3_OBJFMT_OK) {
                ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL,
                                          s3_objfmt_strerror(orc));
                goto failed;
            }

            copy->body_done = 1;

            if (ob->last != ob->pos) {
                if (ngx_http_s3_kms_copy_emit(copy) != NGX_OK) {
                    goto failed;
                }

            } else {
                copy->ofill = NULL;
            }

            break;
        }

        break;
    }

    /* what the connection did not take yet: on its write event */

    rc = ngx_output_chain(&u->output, NULL);

    if (rc == NGX_ERROR) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "writing the copy to the backend failed");
        goto failed;
    }

    if (rc == NGX_AGAIN) {
        if (!c->write->ready) {
            ngx_add_timer(c->write, u->conf->send_timeout);

        } else if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
            goto failed;
        }

    } else {
        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (starved) {
            goto again;             /* written at once: room again */
        }
    }

    /* the answer's wait starts again with each write */

    if (c->read->timer_set) {
        ngx_add_timer(c->read, u->conf->read_timeout);
    }

    /* the source's buffers used: its upstream reads on */

    (void) ngx_http_s3_kms_copy_src_buf(copy);

    if (copy->took && copy->blocked && !copy->in_body) {
        copy->took = 0;
        ngx_http_s3_kms_copy_src_wake(copy);
    }

    return;

failed:

    ngx_http_s3_kms_copy_post(copy);
}


/* the first source buffer with bytes left; used-up ones go */

static ngx_buf_t *
ngx_http_s3_kms_copy_src_buf(ngx_http_s3_kms_copy_t *copy)
{
    ngx_chain_t  *cl;

    while (copy->pending) {
        cl = copy->pending;

        if (cl->buf->pos < cl->buf->last) {
            return cl->buf;
        }

        copy->pending = cl->next;

        if (copy->pending == NULL) {
            copy->pending_last = &copy->pending;
        }

        ngx_free_chain(copy->request->pool, cl);
        copy->took = 1;
    }

    return NULL;
}


/*
 * The source's next plaintext, one stored unit (header or frame) at a
 * time, gathered in a buffer of ours and decrypted there: NGX_OK (plain
 * and plain_left set, maybe to nothing), NGX_AGAIN (more stored bytes
 * needed), NGX_ERROR.
 */

static ngx_int_t
ngx_http_s3_kms_copy_produce(ngx_http_s3_kms_copy_t *copy)
{
    size_t           unit, n, pos, plen;
    ngx_buf_t       *sb;
    s3_objfmt_rc_t   orc;

    if (copy->dec == NULL) {
        copy->cur = copy->span.first;

        if (ngx_http_s3_kms_copy_next_seg(copy) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    for ( ;; ) {
        unit = s3_objfmt_dec_unit_len(copy->dec);

        if (unit == 0) {
            /* this segment is done: the next one, or the end */

            if (copy->multipart && copy->cur < copy->span.last) {
                copy->cur++;
                if (ngx_http_s3_kms_copy_next_seg(copy) != NGX_OK) {
                    return NGX_ERROR;
                }
                continue;
            }

            copy->src_complete = 1;
            return NGX_AGAIN;
        }

        if (unit > copy->frame_size) {
            copy->frame = ngx_palloc(copy->request->pool, unit);
            if (copy->frame == NULL) {
                return NGX_ERROR;
            }
            copy->frame_size = unit;
        }

        /* decrypted from the source's buffers into the frame as they come */

        do {
            sb = ngx_http_s3_kms_copy_src_buf(copy);

            if (sb == NULL) {
                if (!ngx_http_s3_kms_copy_src_more(copy)) {
                    ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                              "The object cannot be "
                                              "decrypted.",
                                              "the copy source ended early");
                    return NGX_ERROR;
                }

                return NGX_AGAIN;
            }

            n = ngx_min(unit, (size_t) (sb->last - sb->pos));
            orc = s3_objfmt_dec_unit_feed(copy->dec, sb->pos, n, copy->frame,
                                          &pos, &plen);
            sb->pos += n;
            unit -= n;

        } while (orc == S3_OBJFMT_AGAIN);

        if (orc != S3_OBJFMT_OK) {
            ngx_log_error(NGX_LOG_ERR, copy->request->connection->log, 0,
                          "s3_kms: copy source %V/%V: %s; the target is not "
                          "written", &copy->bucket, &copy->key,
                          s3_objfmt_strerror(orc));
            ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                      "The object cannot be decrypted.",
                                      s3_objfmt_strerror(orc));
            return NGX_ERROR;
        }

        if (plen == 0) {
            continue;               /* a header */
        }

        copy->plain = copy->frame + pos;

        if (copy->skip) {
            n = ngx_min((uint64_t) plen, copy->skip);
            copy->skip -= n;
            copy->plain += n;
            plen -= n;
        }

        copy->plain_left = ngx_min((uint64_t) plen, copy->want);

        if (copy->plain_left) {
            return NGX_OK;
        }

        if (copy->want == 0) {
            copy->src_complete = 1;
            return NGX_AGAIN;
        }
    }
}


/* the decryptor of the next segment the range touches */

static ngx_int_t
ngx_http_s3_kms_copy_next_seg(ngx_http_s3_kms_copy_t *copy)
{
    u_char             *hdr;
    s3_objfmt_rc_t      orc;
    s3_objfmt_hdr_t     h;
    s3_objfmt_piece_t   piece;

    s3_objfmt_dec_free(copy->dec);
    copy->dec = NULL;

    if (copy->multipart) {

        /* the table's header: every segment's own must equal it */

        hdr = copy->idx_parts.data + copy->cur * NGX_HTTP_S3_KMS_COPY_ENTRY
              + 8;

        s3_objfmt_map_piece(copy->segs, &copy->span, copy->cur, copy->first,
                            copy->count, &piece);

        orc = s3_objfmt_hdr_parse(hdr, S3_OBJFMT_HDR_LEN, &h);

        if (orc == S3_OBJFMT_OK) {
            orc = s3_objfmt_dec_new(&copy->dec, copy->dek, h.part, hdr,
                                    piece.hdr_in_stream, piece.off,
                                    piece.len);
        }

    } else if (copy->index_hit) {
        /* the index's header; the stream starts at the range's frames */
        orc = s3_objfmt_dec_new(&copy->dec, copy->dek, 0, copy->idx_hdr, 0,
                                copy->first, copy->count);

    } else {
        /* the header in the stream, the plaintext before the range dropped */
        orc = s3_objfmt_dec_new(&copy->dec, copy->dek, 0, NULL, 0, 0,
                                S3_OBJFMT_TO_END);
    }

    if (orc != S3_OBJFMT_OK) {
        ngx_log_error(NGX_LOG_ERR, copy->request->connection->log, 0,
                      "s3_kms: copy source %V/%V: %s", &copy->bucket,
                      &copy->key, s3_objfmt_strerror(orc));
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL,
                                  "The object cannot be decrypted.",
                                  s3_objfmt_strerror(orc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an output buffer with room, or NULL when all are in flight */

static ngx_buf_t *
ngx_http_s3_kms_copy_obuf(ngx_http_s3_kms_copy_t *copy)
{
    ngx_buf_t                   *b;
    ngx_uint_t                   i;
    ngx_http_request_t          *r = copy->request;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    if (copy->ofill) {
        return copy->ofill;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    if (copy->obufs == NULL) {
        copy->obufs = ngx_pcalloc(r->pool,
                                  lcf->out_buffers * sizeof(ngx_buf_t *));
        if (copy->obufs == NULL) {
            return NULL;
        }
    }

    /* a sent buffer has pos == last: the backend writer moved it */

    for (i = 0; i < copy->nobufs; i++) {
        b = copy->obufs[i];

        if (b->pos == b->last) {
            b->pos = b->start;
            b->last = b->start;
            b->flush = 0;
            copy->ofill = b;
            return b;
        }
    }

    if (copy->nobufs == lcf->out_buffers) {
        return NULL;
    }

    b = ngx_create_temp_buf(r->pool, lcf->out_buffer);
    if (b == NULL) {
        return NULL;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_s3_kms_copy_tag;
    copy->obufs[copy->nobufs++] = b;
    copy->ofill = b;

    return b;
}


/* the buffer being filled goes to the PUT's connection */

static ngx_int_t
ngx_http_s3_kms_copy_emit(ngx_http_s3_kms_copy_t *copy)
{
    ngx_int_t             rc;
    ngx_chain_t           cl;
    ngx_http_upstream_t  *u;

    u = copy->request->upstream;

    cl.buf = copy->ofill;
    cl.next = NULL;
    copy->ofill->flush = 1;
    copy->ofill = NULL;

    /* the output chain takes links of its own */

    rc = ngx_output_chain(&u->output, &cl);

    if (rc == NGX_ERROR) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_SERVICE_UNAVAILABLE, NULL,
                                  "writing the copy to the backend failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ---- the end ------------------------------------------------------------- */

static void
ngx_http_s3_kms_copy_fail(ngx_http_s3_kms_copy_t *copy, s3_err_t err,
    const char *message, const char *reason)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    if (copy->failed) {
        return;
    }

    copy->failed = 1;

    if (reason) {
        ctx->error.reason = reason;
    }

    ngx_http_s3_kms_gw_fail(copy->request, ctx, err, message);
}


/*
 * A failed copy: the source's GET ends, the target's PUT (if it started)
 * closes short of its Content-Length, and the client gets ctx->error
 * (InternalError if nothing set one).
 */

static void
ngx_http_s3_kms_copy_answer(ngx_http_s3_kms_copy_t *copy)
{
    ngx_http_request_t        *r = copy->request;
    ngx_http_upstream_t       *u;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    if (copy->answered) {
        return;
    }

    if (ctx->error.err == S3_OK) {
        ngx_http_s3_kms_copy_fail(copy, S3_ERR_INTERNAL, NULL, NULL);
    }

    copy->answered = 1;

    ngx_http_s3_kms_copy_src_abort(copy);

    if (copy->poll.timer_set) {
        ngx_del_timer(&copy->poll);
    }

    u = r->upstream;

    if (copy->put_started) {

        if (copy->put_finished || u == NULL || u->cleanup == NULL
            || u->header_sent)
        {
            return;             /* the backend's answer went out */
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3_kms: copy to %V/%V failed; the backend request "
                      "is aborted", &ctx->bucket, &ctx->key);

        /* the upstream's reference becomes the answer's */

        u->keepalive = 0;
        r->main->count++;
        (*u->cleanup)(r);
    }

    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/*
 * The gateway answered the request (ngx_http_s3_kms_gw_finish()): the
 * source's GET, if it still runs, ends.
 */

void
ngx_http_s3_kms_copy_stop(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    copy->answered = 1;
    copy->failed = 1;

    if (copy->poll.timer_set) {
        ngx_del_timer(&copy->poll);
    }

    ngx_http_s3_kms_copy_src_abort(copy);
}


/* the backend's answer to the source's GET (missing, refused, ...) */

static void
ngx_http_s3_kms_copy_relay(ngx_http_s3_kms_copy_t *copy)
{
    ngx_http_request_t        *r = copy->request;
    ngx_http_s3_kms_gw_ctx_t  *ctx = copy->ctx;

    copy->answered = 1;

    if (copy->errlen == 0) {
        ctx->error.err = copy->status == NGX_HTTP_NOT_FOUND
                         ? S3_ERR_NO_SUCH_KEY
                         : (copy->status == NGX_HTTP_FORBIDDEN
                            ? S3_ERR_ACCESS_DENIED : S3_ERR_INTERNAL);
        ctx->error.reason = "the backend's answer to the copy source's GET";
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    ngx_http_s3_kms_gw_send_xml(r, ctx, copy->status, copy->errbody,
                                copy->errlen);
}


/*
 * The backend answered the target's PUT with a 2xx
 * (ngx_http_s3_kms_gw_response_headers()): S3's CopyObjectResult or
 * CopyPartResult instead of its empty body.
 */

ngx_int_t
ngx_http_s3_kms_copy_response(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                  *p, *etag, date[sizeof("1970-01-01T00:00:00.000Z")];
    size_t                   len, elen;
    ngx_tm_t                 tm;
    ngx_buf_t               *b;
    ngx_uint_t               i, part;
    ngx_chain_t             *cl;
    ngx_list_part_t         *lp;
    ngx_table_elt_t         *h, *ct;
    ngx_http_upstream_t     *u;
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    u = r->upstream;
    part = (ctx->s3->op == S3_OP_UPLOAD_PART_COPY);

    /* the ETag the client gets elsewhere for the target */

    if (ctx->md5_done) {
        etag = ctx->md5_hex;
        elen = 32;

    } else if (u->headers_in.etag) {
        etag = u->headers_in.etag->value.data;
        elen = u->headers_in.etag->value.len;

        if (elen >= 2 && etag[0] == '"' && etag[elen - 1] == '"') {
            etag++;
            elen -= 2;
        }

    } else {
        etag = (u_char *) "";
        elen = 0;
    }

    if (u->headers_in.etag) {
        u->headers_in.etag->hash = 0;      /* in the document, not here */
    }

    ngx_gmtime(ngx_time(), &tm);
    (void) ngx_sprintf(date, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       ngx_timeofday()->msec);

    len = sizeof("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") - 1
          + sizeof("<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/"
                   "2006-03-01/\"><LastModified></LastModified><ETag>&quot;"
                   "&quot;</ETag></CopyObjectResult>") - 1
          + sizeof(date) - 1 + s3_xml_escape(NULL, 0, etag, elen);

    b = ngx_create_temp_buf(r->pool, len);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    p = b->last;
    p = ngx_cpymem(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                   sizeof("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") - 1);
    p = ngx_sprintf(p, "<%s xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<LastModified>%*s</LastModified><ETag>&quot;",
                    part ? "CopyPartResult" : "CopyObjectResult",
                    sizeof(date) - 1, date);
    p += s3_xml_escape(p, b->end - p, etag, elen);
    p = ngx_sprintf(p, "&quot;</ETag></%s>",
                    part ? "CopyPartResult" : "CopyObjectResult");
    b->last = p;
    b->memory = 1;
    b->flush = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_s3_kms_copy_tag;

    cl->buf = b;
    cl->next = NULL;
    u->out_bufs = cl;

    u->headers_in.content_length_n = b->last - b->pos;

    /* the document's type, over the backend's */

    ct = NULL;
    lp = &u->headers_in.headers.part;
    h = lp->elts;

    for (i = 0; /* void */; i++) {

        if (i >= lp->nelts) {
            if (lp->next == NULL) {
                break;
            }

            lp = lp->next;
            h = lp->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == 12
            && ngx_strncmp(h[i].lowcase_key, "content-type", 12) == 0)
        {
            ct = &h[i];
        }
    }

    if (ct) {
        ngx_str_set(&ct->value, "application/xml");

    } else if (ngx_http_s3_kms_gw_header_add(r, "Content-Type",
                                             (u_char *) "application/xml",
                                             15)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (copy->src_version.len
        && ngx_http_s3_kms_gw_header_add(r, "x-amz-copy-source-version-id",
                                         copy->src_version.data,
                                         copy->src_version.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the backend's response body filters: the source's, the target's */

ngx_int_t
ngx_http_s3_kms_copy_filter_init(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_COPY_SRC) {
        return NGX_DECLINED;        /* relayed to the body filter */
    }

    /* the target: the backend's 2xx body (if any) is not the answer */

    if (u->headers_in.status_n >= 200 && u->headers_in.status_n < 300) {
        u->input_filter = ngx_http_s3_kms_copy_discard_filter;
        u->length = ctx->obj.stored;

        if (u->length == 0) {
            u->keepalive = !u->headers_in.connection_close;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_s3_kms_copy_discard_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t   *r = data;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (u->length > 0) {
        u->length -= ngx_min(bytes, u->length);

        if (u->length == 0) {
            u->keepalive = !u->headers_in.connection_close;
        }
    }

    return NGX_OK;
}


/* the target's upstream ends (ngx_http_s3_kms_be_finalize_request()) */

void
ngx_http_s3_kms_copy_finalize(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    copy->put_finished = 1;

    /* a connection the body was not all written to is never reused */

    if (!copy->body_done && r->upstream) {
        r->upstream->keepalive = 0;
    }

    if (copy->poll.timer_set) {
        ngx_del_timer(&copy->poll);
    }

    ngx_http_s3_kms_copy_src_abort(copy);
}


void
ngx_http_s3_kms_copy_cleanup(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_copy_t  *copy = ctx->copy;

    if (copy->redis) {
        ngx_http_s3_kms_redis_cancel(copy->redis);
        copy->redis = NULL;
    }

    if (copy->wake.posted) {
        ngx_delete_posted_event(&copy->wake);
    }

    if (copy->side_ev.posted) {
        ngx_delete_posted_event(&copy->side_ev);
    }

    if (copy->poll.timer_set) {
        ngx_del_timer(&copy->poll);
    }

    s3_objfmt_dec_free(copy->dec);
    copy->dec = NULL;

    kms_wipe(copy->dek, sizeof(copy->dek));

    if (copy->frame) {
        kms_wipe(copy->frame, copy->frame_size);     /* plaintext */
    }
}
