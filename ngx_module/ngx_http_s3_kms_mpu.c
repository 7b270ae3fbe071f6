
/*
 * Multipart uploads through the gateway, and the objects they make
 * (DESIGN.md section 3: one segment per part, the manifest MAC; section 5:
 * ssek:mpu:{UPLOAD-ID} and ssek:obj:{BUCKET}:KEY).
 *
 *   CreateMultipartUpload  one data key for the upload (GenerateDataKey, as
 *                          for PutObject), the backend's POST ?uploads with
 *                          the internal metadata, then the upload's state
 *                          in Redis, acknowledged before the answer;
 *   UploadPart             the state, the data key (KMS Decrypt), the part
 *                          encrypted as a segment of its own (p = partNumber,
 *                          a fresh salt) by PutObject's body filter; after
 *                          the backend's 200, the part's record (its header,
 *                          so L, and both ETags) under "p:N:ETAG": a part
 *                          uploaded twice leaves two records;
 *   CompleteMultipartUpload  the client's list against the records, S3's
 *                          size rules on plaintext, the manifest MAC, the
 *                          backend's POST ?uploadId, then the object's
 *                          index entry with its part table;
 *   AbortMultipartUpload   relayed, the state dropped;
 *   ListParts              plaintext sizes from the records;
 *   GetObject, HeadObject  the part table from the index, its MAC checked
 *                          under the data key; a range across parts is one
 *                          backend GET read segment after segment, every
 *                          later segment's header equal to the table's;
 *                          ?partNumber.  A table the index lost is rebuilt
 *                          by walking the segment headers (small ranged
 *                          reads), served as manifest-unverified or refused
 *                          (s3_kms_unverified_objects), and written back.
 *
 * The gateway's own backend calls are in-memory subrequests, each in a
 * pool of its own that goes once its result is copied out: a walk over
 * 10,000 parts holds one at a time.
 */


#include "ngx_http_s3_kms_gateway.h"


#define NGX_HTTP_S3_KMS_MPU_MIN_PART    (5 * 1024 * 1024)
#define NGX_HTTP_S3_KMS_MPU_LOOKS       7       /* Complete: looks for ... */
#define NGX_HTTP_S3_KMS_MPU_LOOK_MS     250     /* ... a record, this apart */
#define NGX_HTTP_S3_KMS_MPU_ENTRY       (8 + S3_OBJFMT_HDR_LEN)
#define NGX_HTTP_S3_KMS_MPU_SUB_POOL    4096
#define NGX_HTTP_S3_KMS_MPU_STATE_N     9

/*
 * The fields of an upload's state, in HMGET order; "bk" is the object
 * salt (base64) of an upload under an S3 Bucket Key, whose "dek" is then
 * the bucket key's blob.
 */
static const char  *ngx_http_s3_kms_mpu_state_fields[] = {
    "bucket", "key", "alg", "arn", "dek", "ctx", "f", "ck", "bk"
};

#define NGX_HTTP_S3_KMS_MPU_REFUSED                                           \
    "The part table of the object could not be verified."


typedef enum {
    NGX_HTTP_S3_KMS_MPU_SUB_NONE = 0,
    NGX_HTTP_S3_KMS_MPU_SUB_DOC,        /* a document, kept whole */
    NGX_HTTP_S3_KMS_MPU_SUB_HDR         /* 72 bytes: a segment header */
} ngx_http_s3_kms_mpu_sub_e;


typedef void (*ngx_http_s3_kms_mpu_pt)(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
typedef void (*ngx_http_s3_kms_mpu_reply_pt)(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
typedef void (*ngx_http_s3_kms_mpu_key_pt)(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);


/* a part's record in the upload's state */
typedef struct {
    uint32_t                     number;
    ngx_str_t                    etag;         /* the client's, no quotes */
    ngx_str_t                    be_etag;      /* the backend's, as sent */
    u_char                      *hdr;          /* the segment header */
    uint64_t                     len;          /* L, from the header */
    ngx_str_t                    ck;           /* "CRC32:base64", or empty */
} ngx_http_s3_kms_mpu_rec_t;


struct ngx_http_s3_kms_mpu_s {
    ngx_str_t                    upload_id;    /* NUL-terminated */
    ngx_str_t                    state_key;    /* ssek:mpu:{ID} */

    /* the upload's state */
    ngx_str_t                    st[NGX_HTTP_S3_KMS_MPU_STATE_N];
    ngx_uint_t                   log2f;

    /* Complete: the client's list, and the record each part names */
    s3_xml_complete_t            xml;
    ngx_uint_t                   has_xml;
    ngx_http_s3_kms_mpu_rec_t   *recs;
    ngx_uint_t                   looks;
    ngx_event_t                  look_ev;

    /* the object's part table: 80 bytes a part, BE64 offset || header */
    u_char                      *table;
    ngx_uint_t                   nparts;
    s3_objfmt_seg_t             *segs;
    uint64_t                     plain_total;
    uint64_t                     stored_total;
    u_char                       mac[S3_OBJFMT_MAC_LEN];

    /* the index entry, as read */
    ngx_str_t                    idx_parts;
    ngx_str_t                    idx_mac;
    ngx_str_t                    idx_upload;
    ngx_str_t                    idx_stale;
    ngx_uint_t                   idx_unverified;
    ngx_str_t                    etag;         /* of the object tabled */
    ngx_str_t                    dek_blob;     /* b64, of that object */
    ngx_uint_t                   stale;        /* the entry may be stale */
    ngx_uint_t                   unverified;   /* no manifest to check */
    ngx_uint_t                   rebuilt;      /* walked just now */
    ngx_uint_t                   tabled;       /* GET/HEAD of a table */

    /* ?partNumber */
    ngx_str_t                    query;        /* the client's, with it */
    ngx_uint_t                   part;

    /* GET: one decryptor at a time along the range's segments */
    s3_objfmt_span_t             span;
    size_t                       cur;
    uint64_t                     off;
    uint64_t                     len;
    u_char                       dek[S3_OBJFMT_KEY_LEN];
    ngx_uint_t                   has_dek;

    /* KMS */
    ngx_http_s3_kms_mpu_key_pt   key_done;
    ngx_str_t                    key_blob;     /* GenerateDataKey: b64 */
    ngx_str_t                    key_arn;
    const char                  *key_log;

    /* Redis */
    ngx_http_s3_kms_redis_req_t *redis;
    ngx_http_s3_kms_mpu_reply_pt reply;

    /* the subrequest in flight, in a pool of its own */
    ngx_http_s3_kms_mpu_sub_e    sub_kind;
    ngx_str_t                    sub_method;
    ngx_str_t                    sub_query;
    ngx_buf_t                   *sub_body;
    off_t                        sub_off;
    ngx_pool_t                  *sub_pool;
    ngx_http_request_t          *sub;
    ngx_uint_t                   sub_finished;
    ngx_http_s3_kms_mpu_pt       sub_done;
    ngx_http_post_subrequest_t   ps;
    ngx_pool_t                  *old_pools[4]; /* could not go at once */

    /* what it brought back */
    ngx_uint_t                   sub_status;
    u_char                      *sub_data;
    size_t                       sub_len;
    ngx_str_t                    sub_etag;
    ngx_array_t                 *sub_relay;    /* ngx_keyval_t */
    u_char                       sub_hdr[S3_OBJFMT_HDR_LEN];
    size_t                       sub_hdr_len;

    /* the walk */
    ngx_array_t                 *walk;         /* 80-byte entries */
    off_t                        walk_off;
    off_t                        walk_total;
};


static ngx_http_s3_kms_mpu_t *ngx_http_s3_kms_mpu_new(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_mpu_ids(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_mpu_t *mpu);
static ngx_int_t ngx_http_s3_kms_mpu_ready(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_mpu_redis(ngx_http_request_t *r,
    ngx_http_s3_kms_mpu_t *mpu, int argc, const char **argv,
    const size_t *argvlen, ngx_http_s3_kms_mpu_reply_pt handler);
static void ngx_http_s3_kms_mpu_redis_reply(void *data, redisReply *reply);
static void ngx_http_s3_kms_mpu_written(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_mpu_send_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t nextra, ngx_str_t *extra,
    ngx_http_s3_kms_mpu_reply_pt handler);
static ngx_int_t ngx_http_s3_kms_mpu_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_mpu_record(ngx_http_request_t *r,
    ngx_str_t *field, u_char *v, size_t len, ngx_http_s3_kms_mpu_rec_t *rec);
static ngx_int_t ngx_http_s3_kms_mpu_decrypt_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *alg, ngx_str_t *dek,
    ngx_str_t *pairs, ngx_http_s3_kms_mpu_key_pt done);
static void ngx_http_s3_kms_mpu_key(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_mpu_fail_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);
static ngx_int_t ngx_http_s3_kms_mpu_sub(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_mpu_sub_e kind,
    const char *method, ngx_str_t *query, ngx_buf_t *body,
    ngx_http_s3_kms_mpu_pt done);
static ngx_int_t ngx_http_s3_kms_mpu_sub_finished(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_s3_kms_mpu_sub_resume(ngx_http_request_t *r);
static void ngx_http_s3_kms_mpu_answer(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t sse);
static ngx_int_t ngx_http_s3_kms_mpu_out_header(ngx_http_request_t *r,
    const char *name, u_char *value, size_t len);
static ngx_str_t ngx_http_s3_kms_mpu_core(u_char *p, size_t len);
static ngx_int_t ngx_http_s3_kms_mpu_escape_query(ngx_http_request_t *r,
    ngx_str_t *out, const char *name, ngx_str_t *value);

static ngx_int_t ngx_http_s3_kms_mpu_create_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_mpu_create_bk(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *dek, const u_char *blob,
    size_t blen, const char *key_arn);
static void ngx_http_s3_kms_mpu_create_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);
static ngx_int_t ngx_http_s3_kms_mpu_create_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_create_sent(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_create_stored(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
static void ngx_http_s3_kms_mpu_create_undone(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_part_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
static void ngx_http_s3_kms_mpu_part_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);
static void ngx_http_s3_kms_mpu_complete_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_mpu_complete_look(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_complete_again(ngx_event_t *ev);
static void ngx_http_s3_kms_mpu_complete_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
static void ngx_http_s3_kms_mpu_complete_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);
static void ngx_http_s3_kms_mpu_complete_sent(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_complete_indexed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_mpu_index_entry(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *key, ngx_str_t *etag,
    const char **argv, size_t *argvlen, ngx_uint_t *n);
static void ngx_http_s3_kms_mpu_list_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply);

static ngx_int_t ngx_http_s3_kms_mpu_table(ngx_http_request_t *r,
    ngx_http_s3_kms_mpu_t *mpu, ngx_http_s3_kms_obj_t *o);
static s3_objfmt_hdr_t *ngx_http_s3_kms_mpu_headers(ngx_http_s3_kms_mpu_t *mpu,
    ngx_log_t *log);
static void ngx_http_s3_kms_mpu_serve(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_refuse(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const char *message, const char *why);
static void ngx_http_s3_kms_mpu_get_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err);
static ngx_int_t ngx_http_s3_kms_mpu_get_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_write_back(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_walk(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static void ngx_http_s3_kms_mpu_walk_step(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_mpu_walk_add(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char *hdr);
static void ngx_http_s3_kms_mpu_unstale(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);


ngx_conf_enum_t  ngx_http_s3_kms_unverified_values[] = {
    { ngx_string("serve"), NGX_HTTP_S3_KMS_UNVERIFIED_SERVE },
    { ngx_string("refuse"), NGX_HTTP_S3_KMS_UNVERIFIED_REFUSE },
    { ngx_null_string, 0 }
};


void
ngx_http_s3_kms_mpu_create_conf(ngx_http_s3_kms_loc_conf_t *lcf)
{
    lcf->unverified = NGX_CONF_UNSET_UINT;
    lcf->upload_expiry = NGX_CONF_UNSET;
}


void
ngx_http_s3_kms_mpu_merge_conf(ngx_http_s3_kms_loc_conf_t *prev,
    ngx_http_s3_kms_loc_conf_t *conf)
{
    ngx_conf_merge_uint_value(conf->unverified, prev->unverified,
                              NGX_HTTP_S3_KMS_UNVERIFIED_SERVE);
    ngx_conf_merge_sec_value(conf->upload_expiry, prev->upload_expiry,
                             7 * 24 * 3600);
}


/* ---- common ---------------------------------------------------------------------- */

static ngx_http_s3_kms_mpu_t *
ngx_http_s3_kms_mpu_new(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    if (ctx->mpu == NULL) {
        ctx->mpu = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_kms_mpu_t));
    }

    return ctx->mpu;
}


/* the upload id, NUL-terminated, and its state's Redis key */

static ngx_int_t
ngx_http_s3_kms_mpu_ids(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx,
    ngx_http_s3_kms_mpu_t *mpu)
{
    size_t   n;
    u_char  *p;

    n = ctx->s3->upload_id.len;

    mpu->upload_id.data = ngx_pnalloc(r->pool, n + 1);
    mpu->state_key.data = ngx_pnalloc(r->pool, sizeof("ssek:mpu:{}") + n);

    if (mpu->upload_id.data == NULL || mpu->state_key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(mpu->upload_id.data, ctx->s3->upload_id.data, n);
    mpu->upload_id.data[n] = '\0';
    mpu->upload_id.len = n;

    p = ngx_sprintf(mpu->state_key.data, "ssek:mpu:{%V}", &mpu->upload_id);
    mpu->state_key.len = p - mpu->state_key.data;

    return NGX_OK;
}


/* the key store is loaded and its events flow */

static ngx_int_t
ngx_http_s3_kms_mpu_ready(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mcf->worker == NULL || kms_ctx_state(mcf->worker->kms)
                               != KMS_RING_READY
        || !mcf->worker->subscribed)
    {
        ctx->error.reason = "the key store is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a Redis command whose answer continues the request */

static ngx_int_t
ngx_http_s3_kms_mpu_redis(ngx_http_request_t *r, ngx_http_s3_kms_mpu_t *mpu,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_s3_kms_mpu_reply_pt handler)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    mpu->reply = handler;
    mpu->redis = ngx_http_s3_kms_redis_send(mcf->worker->redis, argc, argv,
                                            argvlen,
                                            ngx_http_s3_kms_mpu_redis_reply,
                                            r);

    return mpu->redis ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_s3_kms_mpu_redis_reply(void *data, redisReply *reply)
{
    ngx_http_request_t  *r = data;

    ngx_connection_t          *c;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    ctx->mpu->redis = NULL;
    ctx->mpu->reply(r, ctx, reply);

    ngx_http_run_posted_requests(c);
}


/* the answer to a write nobody waits for */

static void
ngx_http_s3_kms_mpu_written(void *data, redisReply *reply)
{
    ngx_http_s3_kms_worker_t  *w = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "s3_kms: a multipart state or index write failed%s%s",
                      reply ? ": " : "", reply ? reply->str : "");
    }
}


/*
 * HMGET of the upload's state fields, then of `nextra` more fields (the
 * records Complete looks for).
 */

static ngx_int_t
ngx_http_s3_kms_mpu_send_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t nextra, ngx_str_t *extra,
    ngx_http_s3_kms_mpu_reply_pt handler)
{
    ngx_uint_t              i, n;
    const char            **argv;
    size_t                 *argvlen;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    n = 2 + NGX_HTTP_S3_KMS_MPU_STATE_N + nextra;

    argv = ngx_palloc(r->pool, n * sizeof(char *));
    argvlen = ngx_palloc(r->pool, n * sizeof(size_t));

    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = (const char *) mpu->state_key.data;
    argvlen[1] = mpu->state_key.len;

    for (i = 0; i < NGX_HTTP_S3_KMS_MPU_STATE_N; i++) {
        argv[2 + i] = ngx_http_s3_kms_mpu_state_fields[i];
        argvlen[2 + i] = ngx_strlen(ngx_http_s3_kms_mpu_state_fields[i]);
    }

    for (i = 0; i < nextra; i++) {
        argv[2 + NGX_HTTP_S3_KMS_MPU_STATE_N + i] =
                                              (const char *) extra[i].data;
        argvlen[2 + NGX_HTTP_S3_KMS_MPU_STATE_N + i] = extra[i].len;
    }

    if (ngx_http_s3_kms_mpu_redis(r, mpu, (int) n, argv, argvlen, handler)
        != NGX_OK)
    {
        ctx->error.reason = "Redis is not reachable";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The state fields of an HMGET answer: NGX_OK, NGX_DECLINED when the
 * upload is unknown (NoSuchUpload set), NGX_ERROR.  An upload of another
 * object is unknown too, as on S3.
 */

static ngx_int_t
ngx_http_s3_kms_mpu_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    ngx_uint_t              i;
    redisReply             *e;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < NGX_HTTP_S3_KMS_MPU_STATE_N)
    {
        ctx->error.reason = "Redis did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_S3_KMS_MPU_STATE_N; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING) {
            ngx_str_null(&mpu->st[i]);
            continue;
        }

        mpu->st[i].data = ngx_pnalloc(r->pool, e->len + 1);
        if (mpu->st[i].data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(mpu->st[i].data, e->str, e->len);
        mpu->st[i].data[e->len] = '\0';
        mpu->st[i].len = e->len;
    }

    /* 0 bucket, 1 key, 2 alg, 3 arn, 4 dek, 5 ctx, 6 f, 7 ck */

    if (mpu->st[0].data == NULL
        || mpu->st[0].len != ctx->bucket.len
        || ngx_strncmp(mpu->st[0].data, ctx->bucket.data, ctx->bucket.len)
           != 0
        || mpu->st[1].data == NULL
        || mpu->st[1].len != ctx->key.len
        || ngx_memcmp(mpu->st[1].data, ctx->key.data, ctx->key.len) != 0)
    {
        ctx->error.extra[0].name = "UploadId";
        ctx->error.extra[0].value.data = mpu->upload_id.data;
        ctx->error.extra[0].value.len = mpu->upload_id.len;
        ctx->error.nextra = 1;
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_NO_SUCH_UPLOAD, NULL);
        return NGX_DECLINED;
    }

    mpu->log2f = ngx_atoi(mpu->st[6].data, mpu->st[6].len);

    /* S3 Bucket Keys: the parts' keys derive from the bucket key's */

    ctx->obj.bk = mpu->st[8];

    if (mpu->st[2].len == 0 || mpu->st[3].len == 0 || mpu->st[4].len == 0
        || mpu->log2f < S3_OBJFMT_LOG2F_MIN
        || mpu->log2f > S3_OBJFMT_LOG2F_MAX)
    {
        ctx->error.reason = "damaged multipart upload state";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A part's record: field "p:N:ETAG", value header (72) || length of the
 * backend's ETag (1 byte) || that ETag || the client's checksum
 * ("CRC32:base64", or nothing).
 */

static ngx_int_t
ngx_http_s3_kms_mpu_record(ngx_http_request_t *r, ngx_str_t *field,
    u_char *v, size_t len, ngx_http_s3_kms_mpu_rec_t *rec)
{
    u_char           *p, *colon, *last;
    size_t            n;
    ngx_int_t         num;
    s3_objfmt_hdr_t   h;

    if (field->len < 4 || field->data[0] != 'p' || field->data[1] != ':') {
        return NGX_DECLINED;
    }

    last = field->data + field->len;
    colon = ngx_strlchr(field->data + 2, last, ':');

    if (colon == NULL) {
        return NGX_DECLINED;
    }

    num = ngx_atoi(field->data + 2, colon - field->data - 2);

    if (num < 1 || num > S3_OBJFMT_PART_MAX
        || len < S3_OBJFMT_HDR_LEN + 1
        || len < S3_OBJFMT_HDR_LEN + 1 + (size_t) v[S3_OBJFMT_HDR_LEN]
        || s3_objfmt_hdr_parse(v, S3_OBJFMT_HDR_LEN, &h) != S3_OBJFMT_OK
        || h.part != (uint32_t) num)
    {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len + (last - colon - 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, v, len);

    rec->number = (uint32_t) num;
    rec->hdr = p;
    rec->len = h.len;

    n = p[S3_OBJFMT_HDR_LEN];
    rec->be_etag.data = p + S3_OBJFMT_HDR_LEN + 1;
    rec->be_etag.len = n;
    rec->ck.data = rec->be_etag.data + n;
    rec->ck.len = len - S3_OBJFMT_HDR_LEN - 1 - n;

    rec->etag.data = p + len;
    rec->etag.len = last - colon - 1;
    ngx_memcpy(rec->etag.data, colon + 1, rec->etag.len);

    return NGX_OK;
}


/* an ETag without its quotes */

static ngx_str_t
ngx_http_s3_kms_mpu_core(u_char *p, size_t len)
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


/* name=value, the value percent-encoded as SigV4 wants it */

static ngx_int_t
ngx_http_s3_kms_mpu_escape_query(ngx_http_request_t *r, ngx_str_t *out,
    const char *name, ngx_str_t *value)
{
    u_char      *p, c;
    size_t       i;
    static const char  hex[] = "0123456789ABCDEF";

    p = ngx_pnalloc(r->pool, ngx_strlen(name) + 1 + 3 * value->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, name, ngx_strlen(name));
    *p++ = '=';

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~')
        {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* ---- KMS ------------------------------------------------------------------------- */

/*
 * Decrypt of the upload's (or object's) data key, context rebuilt.  With
 * ctx->obj.bk (S3 Bucket Keys) the blob is the bucket key's, under the
 * bucket's ARN, and the data key is derived from it with the object's
 * ARN and that salt (ngx_http_s3_kms_mpu_key()).
 */

static ngx_int_t
ngx_http_s3_kms_mpu_decrypt_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *alg, ngx_str_t *dek,
    ngx_str_t *pairs, ngx_http_s3_kms_mpu_key_pt done)
{
    u_char                       *blob, *json;
    long                          blen, jlen;
    char                         *context;
    ngx_int_t                     rc;
    kms_call_t                   *call;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    blob = ngx_pnalloc(r->pool, dek->len + 1);
    json = ngx_pnalloc(r->pool, pairs->len + 1);

    if (blob == NULL || json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    blen = kms_base64_decode((const char *) dek->data, dek->len, blob,
                             dek->len);
    jlen = pairs->len ? kms_base64_decode((const char *) pairs->data,
                                          pairs->len, json, pairs->len)
                      : 0;

    if (blen <= 0 || jlen < 0) {
        ctx->error.reason = "damaged encryption metadata";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    if (ctx->obj.bk.len) {
        rc = ngx_http_s3_kms_bucket_get_context(r, ctx, json, jlen,
                                                &context);
    } else {
        rc = ngx_http_s3_kms_gw_context(r, ctx, json, jlen, ctx->arn,
                                        ctx->arn_len, &context);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->internal_key = (alg->len == 6
                         && ngx_strncmp(alg->data, "AES256", 6) == 0);

    if (ctx->internal_key) {
        call = kms_call_decrypt_blob_internal(mcf->worker->kms, &ctx->caller,
                                              blob, blen, context);
    } else {
        call = kms_call_decrypt_blob(mcf->worker->kms, &ctx->caller, blob,
                                     blen, context);
    }

    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->mpu->key_done = done;

    return ngx_http_s3_kms_gw_kms_start(r, ctx, call, ngx_http_s3_kms_mpu_key);
}


/*
 * A KMS call ended: what it gave is copied (the data key into mpu->dek,
 * wiped when used), the call freed, then the step that waited runs.
 */

static void
ngx_http_s3_kms_mpu_key(ngx_http_s3_kms_run_t *run)
{
    ngx_http_request_t  *r = run->data;

    size_t                     len;
    ngx_uint_t                 async;
    kms_err_t                  err;
    const char                *s;
    ngx_connection_t          *c;
    const unsigned char       *dek, *blob;
    ngx_http_s3_kms_mpu_t     *mpu;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    async = run->async;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    mpu = ctx->mpu;

    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        s = kms_call_log(run->call);
        mpu->key_log = NULL;

        if (s != NULL) {
            len = ngx_strlen(s);
            mpu->key_log = ngx_pnalloc(r->pool, len + 1);
            if (mpu->key_log) {
                ngx_memcpy((u_char *) mpu->key_log, s, len + 1);
            }
        }

        goto done;
    }

    dek = kms_call_plaintext(run->call, &len);

    if (dek == NULL || len != S3_OBJFMT_KEY_LEN) {
        err = KMS_ERR_INTERNAL;
        goto done;
    }

    if (ctx->obj.bk.len) {

        /* a bucket key: the object's own, from its ARN and salt */

        if (ngx_http_s3_kms_bucket_get_dek(r, ctx, dek, mpu->dek)
            != NGX_OK)
        {
            kms_wipe(mpu->dek, sizeof(mpu->dek));
            err = KMS_ERR_INTERNAL;
            goto done;
        }

    } else {
        ngx_memcpy(mpu->dek, dek, S3_OBJFMT_KEY_LEN);
    }

    mpu->has_dek = 1;

    /* GenerateDataKey: the wrapped key and the key's ARN too */

    blob = kms_call_blob(run->call, &len);
    s = kms_call_key_arn(run->call);

    if (blob != NULL && s != NULL) {
        mpu->key_blob.data = ngx_pnalloc(r->pool,
                                         kms_base64_encoded_len(len) + 1);
        mpu->key_arn.len = ngx_strlen(s);
        mpu->key_arn.data = ngx_pnalloc(r->pool, mpu->key_arn.len + 1);

        if (mpu->key_blob.data == NULL || mpu->key_arn.data == NULL) {
            err = KMS_ERR_INTERNAL;
            goto done;
        }

        mpu->key_blob.len = kms_base64_encode(blob, len,
                                              (char *) mpu->key_blob.data);
        mpu->key_blob.data[mpu->key_blob.len] = '\0';
        ngx_memcpy(mpu->key_arn.data, s, mpu->key_arn.len + 1);
    }

done:

    kms_call_free(run->call);          /* wipes its copy of the key */
    run->call = NULL;

    mpu->key_done(r, ctx, err);

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_s3_kms_mpu_fail_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err)
{
    if (err == KMS_ERR_INTERNAL && ctx->mpu->key_log == NULL) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);

    } else {
        ctx->error.reason = kms_err_type(err);
        ngx_http_s3_kms_gw_fail(r, ctx, ngx_http_s3_kms_gw_kms_error(err),
                                ctx->mpu->key_log);
    }

    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/* ---- backend calls of our own ------------------------------------------------------ */

/*
 * An in-memory subrequest to the backend: a document kept whole (Create,
 * Complete, an Abort), or a segment header at sub_off (the walk).  Its
 * request and everything it allocates live in a pool of its own (nginx
 * gives a subrequest its parent's pool): the pool goes when the parent
 * resumes, so a walk of 10,000 steps keeps none of them.
 */

static ngx_int_t
ngx_http_s3_kms_mpu_sub(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx,
    ngx_http_s3_kms_mpu_sub_e kind, const char *method, ngx_str_t *query,
    ngx_buf_t *body, ngx_http_s3_kms_mpu_pt done)
{
    ngx_int_t               rc;
    ngx_pool_t             *pool, *saved;
    ngx_http_request_t     *sr;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    pool = ngx_create_pool(NGX_HTTP_S3_KMS_MPU_SUB_POOL, r->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    mpu->sub_kind = kind;
    mpu->sub_method.data = (u_char *) method;
    mpu->sub_method.len = ngx_strlen(method);
    mpu->sub_query = *query;
    mpu->sub_body = body;
    mpu->sub_done = done;
    mpu->sub_finished = 0;
    mpu->sub_status = 0;
    mpu->sub_data = NULL;
    mpu->sub_len = 0;
    mpu->sub_hdr_len = 0;
    ngx_str_null(&mpu->sub_etag);

    mpu->ps.handler = ngx_http_s3_kms_mpu_sub_finished;
    mpu->ps.data = ctx;

    saved = r->pool;
    r->pool = pool;

    rc = ngx_http_subrequest(r, &r->uri, NULL, &sr, &mpu->ps,
                             NGX_HTTP_SUBREQUEST_IN_MEMORY
                             |NGX_HTTP_SUBREQUEST_WAITED);

    r->pool = saved;

    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        mpu->sub_kind = NGX_HTTP_S3_KMS_MPU_SUB_NONE;
        return NGX_ERROR;
    }

    mpu->sub_pool = pool;
    mpu->sub = sr;

    r->write_event_handler = ngx_http_s3_kms_mpu_sub_resume;

    return NGX_OK;
}


/* the subrequest's content handler: the backend request it makes */

ngx_int_t
ngx_http_s3_kms_mpu_sub_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx)
{
    u_char                    *p;
    ngx_uint_t                 i;
    ngx_keyval_t              *kv;
    ngx_http_s3_kms_mpu_t     *mpu = pctx->mpu;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    if (mpu->sub != r || mpu->sub_kind == NGX_HTTP_S3_KMS_MPU_SUB_NONE) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_s3_kms_gw_sub_ctx(r, pctx, NGX_HTTP_S3_KMS_BE_PASS);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->be_method = mpu->sub_method;
    ctx->be_query = mpu->sub_query;

    if (mpu->sub_kind == NGX_HTTP_S3_KMS_MPU_SUB_HDR) {
        ctx->mode = NGX_HTTP_S3_KMS_BE_PROBE;

        p = ngx_pnalloc(r->pool, sizeof("bytes=-") - 1 + 2 * NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_s3_kms_be_header(ctx, "range", p,
                          ngx_sprintf(p, "bytes=%O-%O", mpu->sub_off,
                                      mpu->sub_off + S3_OBJFMT_HDR_LEN - 1)
                          - p)
            != NGX_OK
            || ngx_http_s3_kms_be_header(ctx, "if-match", mpu->etag.data,
                                         mpu->etag.len)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_s3_kms_be_start(r, ctx);
    }

    /* a document: the headers the parent prepared, the body if any */

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

    if (mpu->sub_body) {
        ctx->be_body = mpu->sub_body;
        ctx->be_length = mpu->sub_body->last - mpu->sub_body->pos;

    } else if (mpu->sub_method.len != 3) {
        ctx->be_length = 0;             /* POST, DELETE: Content-Length: 0 */
    }

    return ngx_http_s3_kms_be_start(r, ctx);
}


/*
 * The subrequest ended (called for each finalization of it): what it
 * brought is copied into the main request's pool, the pool of its own is
 * about to go.  Any end is a normal one for the subrequest: the parent
 * decides what a failure means.
 */

static ngx_int_t
ngx_http_s3_kms_mpu_sub_finished(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_s3_kms_gw_ctx_t  *pctx = data;

    size_t                      i;
    ngx_uint_t                  k;
    ngx_pool_t                 *pool;
    ngx_list_part_t            *part;
    ngx_keyval_t               *kv;
    ngx_table_elt_t            *h;
    ngx_http_s3_kms_mpu_t      *mpu = pctx->mpu;
    ngx_http_s3_kms_gw_ctx_t   *ctx;
    static const char          *relay[] = {
        "x-amz-version-id", "x-amz-expiration", "x-amz-abort-date",
        "x-amz-abort-rule-id", "x-amz-request-charged", NULL
    };

    if (mpu->sub != r || mpu->sub_finished) {
        return NGX_OK;
    }

    mpu->sub_finished = 1;
    pool = pctx->request->pool;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx == NULL || r->upstream == NULL || ctx->parent != pctx) {
        return NGX_OK;
    }

    mpu->sub_status = r->upstream->headers_in.status_n;

    if (ctx->obj.etag.len) {
        mpu->sub_etag.data = ngx_pstrdup(pool, &ctx->obj.etag);
        if (mpu->sub_etag.data == NULL) {
            mpu->sub_status = 0;
            return NGX_OK;
        }
        mpu->sub_etag.len = ctx->obj.etag.len;
    }

    if (mpu->sub_kind == NGX_HTTP_S3_KMS_MPU_SUB_HDR) {
        ngx_memcpy(mpu->sub_hdr, ctx->obj.hdr, ctx->obj.hdr_len);
        mpu->sub_hdr_len = ctx->obj.hdr_len;
        return NGX_OK;
    }

    if (ctx->list_len) {
        mpu->sub_data = ngx_pnalloc(pool, ctx->list_len);
        if (mpu->sub_data == NULL) {
            mpu->sub_status = 0;
            return NGX_OK;
        }

        ngx_memcpy(mpu->sub_data, ctx->list_data, ctx->list_len);
        mpu->sub_len = ctx->list_len;
    }

    /* the backend's headers the client gets too */

    part = &r->upstream->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; relay[k]; k++) {
            if (h[i].key.len == ngx_strlen(relay[k])
                && ngx_strncasecmp(h[i].key.data, (u_char *) relay[k],
                                   h[i].key.len) == 0)
            {
                break;
            }
        }

        if (relay[k] == NULL) {
            continue;
        }

        /*
         * Some stores (moto) name the version of an unversioned bucket's
         * object "null", where S3 sends no header: a client that reads it
         * back with ?versionId=null is refused by that same store.
         */

        if (k == 0 && h[i].value.len == 4
            && ngx_strncmp(h[i].value.data, "null", 4) == 0)
        {
            continue;
        }

        if (mpu->sub_relay == NULL) {
            mpu->sub_relay = ngx_array_create(pool, 4, sizeof(ngx_keyval_t));
            if (mpu->sub_relay == NULL) {
                return NGX_OK;
            }
        }

        kv = ngx_array_push(mpu->sub_relay);
        if (kv == NULL) {
            return NGX_OK;
        }

        kv->key.data = (u_char *) relay[k];
        kv->key.len = ngx_strlen(relay[k]);
        kv->value.data = ngx_pstrdup(pool, &h[i].value);
        kv->value.len = kv->value.data ? h[i].value.len : 0;
    }

    return NGX_OK;
}


static void
ngx_http_s3_kms_mpu_sub_resume(ngx_http_request_t *r)
{
    ngx_uint_t                 i;
    ngx_pool_t                *pool;
    ngx_http_s3_kms_mpu_t     *mpu;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx == NULL || ctx->mpu == NULL || ctx->mpu->sub == NULL
        || !ctx->mpu->sub_finished)
    {
        return;
    }

    mpu = ctx->mpu;
    r->write_event_handler = ngx_http_request_empty_handler;

    /*
     * The subrequest has left the parent (nginx unlinks an active one
     * when it ends): its pool can go.  Should it still be linked, the
     * pool waits for the request's end.
     */

    pool = mpu->sub_pool;
    mpu->sub_pool = NULL;
    mpu->sub = NULL;
    mpu->sub_kind = NGX_HTTP_S3_KMS_MPU_SUB_NONE;

    if (r->postponed == NULL && r->connection->data == r) {
        ngx_destroy_pool(pool);

    } else {
        for (i = 0; i < sizeof(mpu->old_pools) / sizeof(ngx_pool_t *); i++) {
            if (mpu->old_pools[i] == NULL) {
                mpu->old_pools[i] = pool;
                pool = NULL;
                break;
            }
        }

        if (pool != NULL) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "s3_kms: subrequests still linked");
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    mpu->sub_done(r, ctx);
}


/*
 * Our own answer with a document: the backend's (its XML, its status),
 * with S3's SSE headers on a success when `sse` says so.
 */

static void
ngx_http_s3_kms_mpu_answer(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t sse)
{
    u_char                 *p;
    size_t                  n;
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_buf_t              *b;
    ngx_chain_t             cl;
    ngx_keyval_t           *kv;
    ngx_table_elt_t        *h;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b->pos = mpu->sub_data;
    b->last = mpu->sub_data + mpu->sub_len;
    b->memory = mpu->sub_len ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = mpu->sub_status;
    ngx_str_set(&r->headers_out.content_type, "application/xml");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = mpu->sub_len;

    /* the backend's answer as it is, errors too: never nginx's page */
    ctx->own_error = 1;

    if (mpu->sub_relay) {
        kv = mpu->sub_relay->elts;

        for (i = 0; i < mpu->sub_relay->nelts; i++) {
            if (ngx_http_s3_kms_mpu_out_header(r, (char *) kv[i].key.data,
                                               kv[i].value.data,
                                               kv[i].value.len)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    if (sse && mpu->sub_status >= 200 && mpu->sub_status < 300) {
        ngx_uint_t  kms = !ctx->internal_key;

        if (ngx_http_s3_kms_mpu_out_header(r, "x-amz-server-side-encryption",
                                   (u_char *) (kms ? "aws:kms" : "AES256"),
                                   kms ? 7 : 6)
            != NGX_OK
            || (kms && ngx_http_s3_kms_mpu_out_header(r,
                           "x-amz-server-side-encryption-aws-kms-key-id",
                           mpu->st[3].data, mpu->st[3].len)
                       != NGX_OK))
        {
            goto failed;
        }

        if (kms && mpu->st[8].len
            && ngx_http_s3_kms_mpu_out_header(r,
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    (u_char *) "true", 4)
               != NGX_OK)
        {
            goto failed;
        }

        /* CreateMultipartUpload: the context and checksum algorithm */

        if (ctx->s3->op == S3_OP_CREATE_MULTIPART_UPLOAD) {
            h = ngx_http_s3_kms_find_header(r,
                                    "x-amz-server-side-encryption-context");
            if (h && kms
                && ngx_http_s3_kms_mpu_out_header(r,
                                    "x-amz-server-side-encryption-context",
                                    h->value.data, h->value.len)
                   != NGX_OK)
            {
                goto failed;
            }

            if (mpu->st[7].len) {
                n = mpu->st[7].len;
                p = mpu->st[7].data;

                if (ngx_http_s3_kms_mpu_out_header(r,
                                    "x-amz-checksum-algorithm", p, n)
                    != NGX_OK)
                {
                    goto failed;
                }
            }
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    cl.buf = b;
    cl.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &cl));
    return;

failed:

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static ngx_int_t
ngx_http_s3_kms_mpu_out_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


/* ---- CreateMultipartUpload ---------------------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_mpu_create(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_http_s3_kms_mpu_t  *mpu;

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_s3_kms_mpu_ready(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* without SSE headers: the bucket's default (Redis), the location's */

    return ngx_http_s3_kms_bucket_default(r, ctx,
                                          ngx_http_s3_kms_mpu_create_start);
}


/* one data key for the upload, the encryption settings known */

static ngx_int_t
ngx_http_s3_kms_mpu_create_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                       *key;
    size_t                        meta;
    kms_call_t                   *call;
    char                         *context;
    ngx_uint_t                    bucket_key;
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    bucket_key = (ctx->sse->mode == S3_SSE_KMS && ctx->sse->bucket_key == 1);

    /* user metadata: the client's and ours (no ssek-len) within 2 KB */

    meta = ctx->sse->meta_size
           + s3_sse_meta_entry_size(sizeof("ssek-v") - 1, 1)
           + s3_sse_meta_entry_size(sizeof("ssek-alg") - 1, 7)
           + s3_sse_meta_entry_size(sizeof("ssek-key") - 1, 100)
           + s3_sse_meta_entry_size(sizeof("ssek-dek") - 1, 128)
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

    /*
     * S3 Bucket Keys: the upload's state names the bucket key's blob and
     * a salt of the object's; each part's key derives from them.
     */

    if (bucket_key) {
        return ngx_http_s3_kms_bucket_key(r, ctx,
                                          ngx_http_s3_kms_mpu_create_bk);
    }

    /* one data key for the upload: the rules and defaults of PutObject */

    if (ngx_http_s3_kms_gw_context(r, ctx, ctx->sse->ctx.json.data,
                                   ctx->sse->ctx.json.len, ctx->arn,
                                   ctx->arn_len, &context)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->sse->mode == S3_SSE_KMS) {
        key = NULL;

        if (ctx->sse->has_key_id) {
            key = ngx_pnalloc(r->pool, ctx->sse->key_id.len + 1);
            if (key == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_cpystrn(key, (u_char *) ctx->sse->key_id.data,
                        ctx->sse->key_id.len + 1);
        }

        call = kms_call_generate_data_key(mcf->worker->kms, &ctx->caller,
                                          (const char *) key, context, 32);

    } else {
        ctx->internal_key = 1;
        call = kms_call_generate_data_key_internal(mcf->worker->kms,
                                                   &ctx->caller, context, 32);
    }

    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mpu->key_done = ngx_http_s3_kms_mpu_create_key;

    return ngx_http_s3_kms_gw_kms_start(r, ctx, call, ngx_http_s3_kms_mpu_key);
}


/* the bucket key's: its blob and key ARN, the salt in ctx->obj.bk */

static ngx_int_t
ngx_http_s3_kms_mpu_create_bk(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *dek, const u_char *blob,
    size_t blen, const char *key_arn)
{
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    mpu->key_blob.data = ngx_pnalloc(r->pool,
                                     kms_base64_encoded_len(blen) + 1);
    mpu->key_arn.len = ngx_strlen(key_arn);
    mpu->key_arn.data = ngx_pnalloc(r->pool, mpu->key_arn.len + 1);

    if (mpu->key_blob.data == NULL || mpu->key_arn.data == NULL
        || ctx->obj.bk.len == 0)
    {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        return NGX_ERROR;
    }

    mpu->key_blob.len = kms_base64_encode(blob, blen,
                                          (char *) mpu->key_blob.data);
    mpu->key_blob.data[mpu->key_blob.len] = '\0';
    ngx_memcpy(mpu->key_arn.data, key_arn, mpu->key_arn.len + 1);

    ctx->internal_key = 0;
    mpu->st[8] = ctx->obj.bk;

    return ngx_http_s3_kms_mpu_create_state(r, ctx);
}


static void
ngx_http_s3_kms_mpu_create_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err)
{
    ngx_int_t               rc;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    /* the parts' keys come from the wrapped key, later */

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;

    if (err != KMS_OK) {
        ngx_http_s3_kms_mpu_fail_key(r, ctx, err);
        return;
    }

    if (mpu->key_blob.len == 0 || mpu->key_arn.len == 0) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    rc = ngx_http_s3_kms_mpu_create_state(r, ctx);

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }
}


/*
 * The upload's state to be (the key blob and ARN in mpu), and the
 * backend's POST ?uploads with the metadata of DESIGN.md 3: NGX_AGAIN,
 * or NGX_ERROR (ctx->error says why).
 */

static ngx_int_t
ngx_http_s3_kms_mpu_create_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t       *mpu = ctx->mpu;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    /* 0 bucket, 1 key, 2 alg, 3 arn, 4 dek, 5 ctx, 6 f, 7 ck, 8 bk */

    mpu->st[0] = ctx->bucket;
    mpu->st[1] = ctx->key;

    if (ctx->internal_key) {
        ngx_str_set(&mpu->st[2], "AES256");
    } else {
        ngx_str_set(&mpu->st[2], "aws:kms");
    }

    mpu->st[3] = mpu->key_arn;
    mpu->st[4] = mpu->key_blob;

    if (ctx->sse->ctx.npairs) {
        mpu->st[5].data = ngx_pnalloc(r->pool,
                          kms_base64_encoded_len(ctx->sse->ctx.json.len) + 1);
        if (mpu->st[5].data == NULL) {
            goto internal;
        }

        mpu->st[5].len = kms_base64_encode(ctx->sse->ctx.json.data,
                                           ctx->sse->ctx.json.len,
                                           (char *) mpu->st[5].data);
    }

    mpu->log2f = lcf->frame_log2;
    mpu->st[6].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (mpu->st[6].data == NULL) {
        goto internal;
    }

    mpu->st[6].len = ngx_sprintf(mpu->st[6].data, "%ui", mpu->log2f)
                     - mpu->st[6].data;

    {
        ngx_table_elt_t  *h;

        h = ngx_http_s3_kms_find_header(r, "x-amz-checksum-algorithm");
        if (h != NULL) {
            mpu->st[7] = h->value;
        }
    }

    /* the backend's POST ?uploads, with the metadata of DESIGN.md 3 */

    ctx->be_headers.nelts = 0;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 1) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-v",
                                     (u_char *) "1", 1) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-alg",
                                     mpu->st[2].data, mpu->st[2].len)
           != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-key",
                                     mpu->st[3].data, mpu->st[3].len)
           != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-dek",
                                     mpu->st[4].data, mpu->st[4].len)
           != NGX_OK
        || (mpu->st[5].len
            && ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-ctx",
                                         mpu->st[5].data, mpu->st[5].len)
               != NGX_OK)
        || (mpu->st[8].len
            && ngx_http_s3_kms_be_header(ctx, "x-amz-meta-ssek-bk",
                                         mpu->st[8].data, mpu->st[8].len)
               != NGX_OK))
    {
        goto internal;
    }

    if (ngx_http_s3_kms_mpu_sub(r, ctx, NGX_HTTP_S3_KMS_MPU_SUB_DOC, "POST",
                                &ctx->be_query, NULL,
                                ngx_http_s3_kms_mpu_create_sent)
        != NGX_OK)
    {
        goto internal;
    }

    return NGX_AGAIN;

internal:

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);

    return NGX_ERROR;
}


static void
ngx_http_s3_kms_mpu_create_sent(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_uint_t                   i, n;
    const char                  *argv[2 + 2 * NGX_HTTP_S3_KMS_MPU_STATE_N];
    size_t                       argvlen[2 + 2 * NGX_HTTP_S3_KMS_MPU_STATE_N];
    const char                  *eargv[3];
    size_t                       eargvlen[3];
    u_char                       ttl[NGX_TIME_T_LEN];
    s3_xml_result_t              res;
    ngx_http_s3_kms_mpu_t       *mpu = ctx->mpu;
    ngx_http_s3_kms_loc_conf_t  *lcf;
    ngx_http_s3_kms_main_conf_t *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mpu->sub_status == 0) {
        ctx->error.reason = "the backend did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (mpu->sub_status != NGX_HTTP_OK) {
        ngx_http_s3_kms_mpu_answer(r, ctx, 0);      /* the backend's error */
        return;
    }

    if (s3_xml_result_parse(mpu->sub_data, mpu->sub_len, &res) != S3_OK) {
        ctx->error.reason = "the backend's InitiateMultipartUploadResult "
                            "is no XML";
        goto failed;
    }

    if (res.is_error) {
        s3_xml_result_free(&res);
        ngx_http_s3_kms_mpu_answer(r, ctx, 0);
        return;
    }

    if (res.upload_id.len == 0 || res.upload_id.len > S3_ID_MAX) {
        s3_xml_result_free(&res);
        ctx->error.reason = "no UploadId from the backend";
        goto failed;
    }

    mpu->upload_id.data = ngx_pnalloc(r->pool, res.upload_id.len + 1);
    mpu->state_key.data = ngx_pnalloc(r->pool, sizeof("ssek:mpu:{}")
                                               + res.upload_id.len);

    if (mpu->upload_id.data == NULL || mpu->state_key.data == NULL) {
        s3_xml_result_free(&res);
        goto failed;
    }

    ngx_memcpy(mpu->upload_id.data, res.upload_id.data, res.upload_id.len);
    mpu->upload_id.len = res.upload_id.len;
    mpu->upload_id.data[mpu->upload_id.len] = '\0';
    mpu->state_key.len = ngx_sprintf(mpu->state_key.data, "ssek:mpu:{%V}",
                                     &mpu->upload_id)
                         - mpu->state_key.data;

    s3_xml_result_free(&res);

    /* the state, then its expiry: the answer waits for both */

    n = 0;
    argv[n] = "HSET";
    argvlen[n++] = 4;
    argv[n] = (const char *) mpu->state_key.data;
    argvlen[n++] = mpu->state_key.len;

    for (i = 0; i < NGX_HTTP_S3_KMS_MPU_STATE_N; i++) {
        argv[n] = ngx_http_s3_kms_mpu_state_fields[i];
        argvlen[n++] = ngx_strlen(ngx_http_s3_kms_mpu_state_fields[i]);
        argv[n] = mpu->st[i].len ? (const char *) mpu->st[i].data : "";
        argvlen[n++] = mpu->st[i].len;
    }

    eargv[0] = "EXPIRE";
    eargvlen[0] = 6;
    eargv[1] = argv[1];
    eargvlen[1] = argvlen[1];
    eargv[2] = (const char *) ttl;
    eargvlen[2] = ngx_sprintf(ttl, "%T", lcf->upload_expiry) - ttl;

    if (ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n, argv,
                                   argvlen, ngx_http_s3_kms_mpu_written,
                                   mcf->worker)
        == NULL
        || ngx_http_s3_kms_mpu_redis(r, mpu, 3, eargv, eargvlen,
                                     ngx_http_s3_kms_mpu_create_stored)
           != NGX_OK)
    {
        ngx_http_s3_kms_mpu_create_stored(r, ctx, NULL);
    }

    return;

failed:

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/*
 * The state is in Redis (EXPIRE answers 1 for a key that exists: the
 * HSET before it on the same connection did its work): the client gets
 * the backend's answer.  Without the state no part could be encrypted:
 * the backend's upload is aborted and the client told to try again.
 */

static void
ngx_http_s3_kms_mpu_create_stored(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    ngx_str_t               q;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER
        && reply->integer == 1)
    {
        ngx_http_s3_kms_mpu_answer(r, ctx, 1);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "s3_kms: %V/%V: the state of upload \"%V\" could not be "
                  "stored; the upload is aborted", &ctx->bucket, &ctx->key,
                  &mpu->upload_id);

    ctx->be_headers.nelts = 0;

    if (ngx_http_s3_kms_mpu_escape_query(r, &q, "uploadId", &mpu->upload_id)
        != NGX_OK
        || ngx_http_s3_kms_mpu_sub(r, ctx, NGX_HTTP_S3_KMS_MPU_SUB_DOC,
                                   "DELETE", &q, NULL,
                                   ngx_http_s3_kms_mpu_create_undone)
           != NGX_OK)
    {
        ngx_http_s3_kms_mpu_create_undone(r, ctx);
    }
}


static void
ngx_http_s3_kms_mpu_create_undone(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ctx->error.reason = "the upload's state could not be stored";
    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/* ---- UploadPart ------------------------------------------------------------------ */

ngx_int_t
ngx_http_s3_kms_mpu_part(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t                    rc;
    ngx_http_s3_kms_mpu_t       *mpu;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL || ngx_http_s3_kms_mpu_ids(r, ctx, mpu) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->mode = NGX_HTTP_S3_KMS_BE_PUT;

    /* the body's checks and S3's limit on the part, before reading it */

    rc = ngx_http_s3_kms_gw_put_payload(r, ctx, lcf->frame_log2);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_s3_kms_mpu_ready(r, ctx) != NGX_OK
        || ngx_http_s3_kms_mpu_send_state(r, ctx, 0, NULL,
                                          ngx_http_s3_kms_mpu_part_state)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_s3_kms_mpu_part_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    s3_err_t                err;
    ngx_int_t               rc;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    rc = ngx_http_s3_kms_mpu_state(r, ctx, reply);

    if (rc != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc == NGX_DECLINED ? NGX_ERROR
                                                             : rc);
        return;
    }

    /* the part in the upload's frame size */

    err = s3_objfmt_check_len((uint64_t) ctx->plain_len, mpu->log2f);

    if (err != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, err, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    ctx->be_length = s3_objfmt_stored_len((uint64_t) ctx->plain_len,
                                          mpu->log2f);

    rc = ngx_http_s3_kms_mpu_decrypt_key(r, ctx, &mpu->st[2], &mpu->st[4],
                                         &mpu->st[5],
                                         ngx_http_s3_kms_mpu_part_key);

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }
}


static void
ngx_http_s3_kms_mpu_part_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err)
{
    s3_objfmt_rc_t          rc;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (err != KMS_OK) {
        ngx_http_s3_kms_mpu_fail_key(r, ctx, err);
        return;
    }

    /* the part's segment: p = partNumber, a fresh salt */

    rc = s3_objfmt_enc_new(&ctx->enc, mpu->dek, (uint64_t) ctx->plain_len,
                           ctx->s3->part_number, mpu->log2f, NULL);

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;

    if (rc != S3_OBJFMT_OK) {
        ctx->error.reason = s3_objfmt_strerror(rc);
        goto failed;
    }

    ngx_memcpy(ctx->seg_hdr, s3_objfmt_enc_header(ctx->enc),
               S3_OBJFMT_HDR_LEN);

    /* SSE-S3: a part's ETag is its plaintext's MD5, as on S3 */

    if (ctx->internal_key && !ctx->payload->has_md5) {
        if (s3_checksum_init(&ctx->md5, S3_CKSUM_MD5) != S3_OK) {
            goto failed;
        }

        ctx->md5_on = 1;
    }

    ctx->key_arn = (const char *) mpu->st[3].data;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 1) != NGX_OK) {
        goto failed;
    }

    ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_be_start(r, ctx));
    return;

failed:

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/*
 * The backend stored the part: its record, under the ETag the client got,
 * unless the upload went meanwhile.  The answer does not wait for it:
 * Complete looks again for a record still on its way.
 */

void
ngx_http_s3_kms_mpu_part_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                       *p, *v, ttl[NGX_TIME_T_LEN];
    size_t                        n;
    ngx_str_t                     etag, be, ck;
    s3_str_t                      cv;
    const char                   *argv[7];
    size_t                        argvlen[7];
    s3_checksum_alg_t             a;
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static const char             script[] =
        "if redis.call('EXISTS', KEYS[1]) == 1 then "
        "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
        "return redis.call('EXPIRE', KEYS[1], ARGV[3]) end "
        "return 0";

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    be = ctx->obj.etag;

    if (be.len == 0 || be.len > 255 || mcf->worker == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: %V/%V: part %ui of upload \"%V\": no ETag "
                      "from the backend; no record kept", &ctx->bucket,
                      &ctx->key, (ngx_uint_t) ctx->s3->part_number,
                      &mpu->upload_id);
        return;
    }

    if (ctx->md5_done) {
        etag.data = ctx->md5_hex;
        etag.len = 32;

    } else {
        etag = ngx_http_s3_kms_mpu_core(be.data, be.len);
    }

    /* the client's checksum, for Complete's list to be checked against */

    ngx_str_null(&ck);
    a = s3_payload_checksum(ctx->payload, &cv);

    if (a != S3_CKSUM_NONE && a != S3_CKSUM_MD5) {
        ck.len = ngx_strlen(s3_checksum_name(a)) + 1 + cv.len;
        ck.data = ngx_pnalloc(r->pool, ck.len);
        if (ck.data == NULL) {
            return;
        }

        p = ngx_cpymem(ck.data, s3_checksum_name(a),
                       ngx_strlen(s3_checksum_name(a)));
        *p++ = ':';
        ngx_memcpy(p, cv.data, cv.len);
    }

    n = sizeof("p::") + NGX_INT_T_LEN + etag.len;
    p = ngx_pnalloc(r->pool, n);
    v = ngx_pnalloc(r->pool, S3_OBJFMT_HDR_LEN + 1 + be.len + ck.len);

    if (p == NULL || v == NULL) {
        return;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = sizeof(script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (const char *) mpu->state_key.data;
    argvlen[3] = mpu->state_key.len;
    argv[4] = (const char *) p;
    argvlen[4] = ngx_sprintf(p, "p:%ui:%V", (ngx_uint_t) ctx->s3->part_number,
                             &etag) - p;

    p = ngx_cpymem(v, ctx->seg_hdr, S3_OBJFMT_HDR_LEN);
    *p++ = (u_char) be.len;
    p = ngx_cpymem(p, be.data, be.len);

    if (ck.len) {
        p = ngx_cpymem(p, ck.data, ck.len);
    }

    argv[5] = (const char *) v;
    argvlen[5] = p - v;
    argv[6] = (const char *) ttl;
    argvlen[6] = ngx_sprintf(ttl, "%T", lcf->upload_expiry) - ttl;

    if (ngx_http_s3_kms_redis_send(mcf->worker->redis, 7, argv, argvlen,
                                   ngx_http_s3_kms_mpu_written, mcf->worker)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: %V/%V: part %ui of upload \"%V\" not "
                      "recorded: Redis is down", &ctx->bucket, &ctx->key,
                      (ngx_uint_t) ctx->s3->part_number, &mpu->upload_id);
    }
}


/* ---- CompleteMultipartUpload ------------------------------------------------------ */

ngx_int_t
ngx_http_s3_kms_mpu_complete(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_http_s3_kms_mpu_t  *mpu;

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL || ngx_http_s3_kms_mpu_ids(r, ctx, mpu) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->mode = NGX_HTTP_S3_KMS_BE_PASS;

    /*
     * The list, read into memory (aws-chunked framing may add to it);
     * reading holds a reference of its own, released by the answer.
     */

    rc = ngx_http_s3_kms_membody_read(r, S3_XML_COMPLETE_MAX_LEN
                                         + 1024 * 1024,
                                      ngx_http_s3_kms_mpu_complete_body);

    return rc == NGX_DONE ? NGX_DONE : rc;
}


static void
ngx_http_s3_kms_mpu_complete_body(ngx_http_request_t *r)
{
    u_char                    *xml;
    size_t                     len;
    s3_err_t                   err;
    ngx_http_s3_kms_mpu_t     *mpu;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    mpu = ctx->mpu;

    if (ctx->mem.too_big) {
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_MAX_MESSAGE_LENGTH, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    err = ngx_http_s3_kms_gw_decode_body(r, ctx, &xml, &len);

    if (err == S3_OK) {
        err = s3_xml_complete_parse(xml, len, &mpu->xml, &ctx->error);
        mpu->has_xml = 1;
    }

    if (err != S3_OK) {
        ngx_http_s3_kms_gw_fail(r, ctx, err, ctx->error.message);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    mpu->recs = ngx_pcalloc(r->pool, mpu->xml.nparts
                                     * sizeof(ngx_http_s3_kms_mpu_rec_t));
    if (mpu->recs == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_s3_kms_mpu_ready(r, ctx) != NGX_OK
        || ngx_http_s3_kms_mpu_complete_look(r, ctx) != NGX_OK)
    {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
    }
}


/* the state, and the records of the parts not found yet */

static ngx_int_t
ngx_http_s3_kms_mpu_complete_look(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                 *p;
    ngx_str_t              *f, core;
    ngx_uint_t              i, n;
    s3_xml_part_t          *part;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    f = ngx_palloc(r->pool, mpu->xml.nparts * sizeof(ngx_str_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < mpu->xml.nparts; i++) {
        if (mpu->recs[i].hdr != NULL) {
            continue;
        }

        part = &mpu->xml.parts[i];
        core = ngx_http_s3_kms_mpu_core((u_char *) part->etag.data,
                                        part->etag.len);

        p = ngx_pnalloc(r->pool, sizeof("p::") + NGX_INT_T_LEN + core.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        f[n].data = p;
        f[n].len = ngx_sprintf(p, "p:%uD:%V", part->number, &core) - p;
        n++;
    }

    return ngx_http_s3_kms_mpu_send_state(r, ctx, n, f,
                                       ngx_http_s3_kms_mpu_complete_state);
}


static void
ngx_http_s3_kms_mpu_complete_again(ngx_event_t *ev)
{
    ngx_http_request_t  *r = ev->data;

    ngx_connection_t          *c;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_mpu_complete_look(r, ctx) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_s3_kms_mpu_complete_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    u_char                     *p;
    size_t                      k, j;
    ngx_int_t                   rc;
    ngx_str_t                   core, field, name;
    ngx_uint_t                  i, missing;
    redisReply                 *e;
    s3_xml_part_t              *part;
    ngx_http_s3_kms_mpu_t      *mpu = ctx->mpu;
    ngx_http_s3_kms_mpu_rec_t  *rec;

    rc = ngx_http_s3_kms_mpu_state(r, ctx, reply);

    if (rc != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc == NGX_DECLINED ? NGX_ERROR
                                                             : rc);
        return;
    }

    /* the answers follow the state, for the parts not found before */

    j = NGX_HTTP_S3_KMS_MPU_STATE_N;
    missing = 0;

    for (i = 0; i < mpu->xml.nparts; i++) {
        rec = &mpu->recs[i];

        if (rec->hdr != NULL) {
            continue;
        }

        if (j >= reply->elements) {
            break;
        }

        e = reply->element[j++];

        if (e->type != REDIS_REPLY_STRING) {
            missing++;
            continue;
        }

        part = &mpu->xml.parts[i];
        core = ngx_http_s3_kms_mpu_core((u_char *) part->etag.data,
                                        part->etag.len);

        p = ngx_pnalloc(r->pool, sizeof("p::") + NGX_INT_T_LEN + core.len);
        if (p == NULL) {
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        field.data = p;
        field.len = ngx_sprintf(p, "p:%uD:%V", part->number, &core) - p;

        rc = ngx_http_s3_kms_mpu_record(r, &field, (u_char *) e->str, e->len,
                                        rec);
        if (rc != NGX_OK) {
            ctx->error.reason = "a damaged part record";
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }
    }

    if (missing && ++mpu->looks < NGX_HTTP_S3_KMS_MPU_LOOKS) {

        /* an UploadPart's record may still be on its way */

        mpu->look_ev.handler = ngx_http_s3_kms_mpu_complete_again;
        mpu->look_ev.data = r;
        mpu->look_ev.log = r->connection->log;
        ngx_add_timer(&mpu->look_ev, NGX_HTTP_S3_KMS_MPU_LOOK_MS);
        return;
    }

    /* S3's checks: every part there, all but the last 5 MiB at least */

    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->error.extra[0].name = "UploadId";
    ctx->error.extra[0].value.data = mpu->upload_id.data;
    ctx->error.extra[0].value.len = mpu->upload_id.len;

    for (i = 0; i < mpu->xml.nparts; i++) {
        rec = &mpu->recs[i];
        part = &mpu->xml.parts[i];

        if (rec->hdr == NULL) {
            ctx->error.extra[1].name = "PartNumber";
            ctx->error.extra[1].value.data = p;
            ctx->error.extra[1].value.len = ngx_sprintf(p, "%uD",
                                                        part->number) - p;
            ctx->error.extra[2].name = "ETag";
            ctx->error.extra[2].value = part->etag;
            ctx->error.nextra = 3;
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_PART, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }

        if (i + 1 < mpu->xml.nparts
            && rec->len < NGX_HTTP_S3_KMS_MPU_MIN_PART)
        {
            ctx->error.extra[0].name = "ProposedSize";
            ctx->error.extra[0].value.data = p;
            ctx->error.extra[0].value.len = ngx_sprintf(p, "%uL", rec->len)
                                            - p;
            ctx->error.extra[1].name = "MinSizeAllowed";
            ngx_str_set(&ctx->error.extra[1].value, "5242880");
            ctx->error.extra[2].name = "PartNumber";
            ctx->error.extra[2].value.data = p + NGX_INT_T_LEN;
            ctx->error.extra[2].value.len = ngx_sprintf(p + NGX_INT_T_LEN,
                                                        "%uD", part->number)
                                            - (p + NGX_INT_T_LEN);
            ctx->error.extra[3].name = "ETag";
            ctx->error.extra[3].value = part->etag;
            ctx->error.nextra = 4;
            ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_ENTITY_TOO_SMALL, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }

        /* a checksum in the list must be the one the part came with */

        for (k = 0; k < S3_XML_CK_MAX; k++) {
            if (part->checksum[k].len == 0 || rec->ck.len == 0) {
                continue;
            }

            name.data = (u_char *) s3_xml_checksum_name(k) + 8;
            name.len = ngx_strlen(name.data);

            if (rec->ck.len > name.len && rec->ck.data[name.len] == ':'
                && ngx_strncasecmp(rec->ck.data, name.data, name.len) == 0
                && (rec->ck.len - name.len - 1 != part->checksum[k].len
                    || ngx_memcmp(rec->ck.data + name.len + 1,
                                  part->checksum[k].data,
                                  part->checksum[k].len) != 0))
            {
                ctx->error.extra[1].name = "PartNumber";
                ctx->error.extra[1].value.data = p;
                ctx->error.extra[1].value.len = ngx_sprintf(p, "%uD",
                                                          part->number) - p;
                ctx->error.extra[2].name = "ETag";
                ctx->error.extra[2].value = part->etag;
                ctx->error.nextra = 3;
                ctx->error.reason = "a checksum differs from the part's";
                ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_PART, NULL);
                ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
                return;
            }
        }
    }

    ngx_memzero(&ctx->error, sizeof(s3_error_t));

    /* the data key, for the manifest MAC */

    rc = ngx_http_s3_kms_mpu_decrypt_key(r, ctx, &mpu->st[2], &mpu->st[4],
                                         &mpu->st[5],
                                         ngx_http_s3_kms_mpu_complete_key);

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }
}


static void
ngx_http_s3_kms_mpu_complete_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err)
{
    u_char                     *p;
    size_t                      size;
    ngx_uint_t                  i, n;
    ngx_buf_t                  *b;
    s3_objfmt_rc_t              rc;
    s3_objfmt_hdr_t            *hdrs;
    ngx_http_s3_kms_mpu_t      *mpu = ctx->mpu;
    ngx_http_s3_kms_mpu_rec_t  *rec;
    static const char           head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUpload xmlns=\"" S3_XML_NS "\">";
    static const char           tail[] = "</CompleteMultipartUpload>";

    if (err != KMS_OK) {
        ngx_http_s3_kms_mpu_fail_key(r, ctx, err);
        return;
    }

    n = mpu->xml.nparts;

    /* the part table: each segment's header and stored offset */

    mpu->nparts = n;
    mpu->segs = ngx_palloc(r->pool, n * sizeof(s3_objfmt_seg_t));
    mpu->table = ngx_pnalloc(r->pool, n * NGX_HTTP_S3_KMS_MPU_ENTRY);
    hdrs = ngx_alloc(n * sizeof(s3_objfmt_hdr_t), r->connection->log);

    if (mpu->segs == NULL || mpu->table == NULL || hdrs == NULL) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        rec = &mpu->recs[i];

        if (s3_objfmt_hdr_parse(rec->hdr, S3_OBJFMT_HDR_LEN, &hdrs[i])
            != S3_OBJFMT_OK)
        {
            goto failed;
        }

        mpu->segs[i].len = hdrs[i].len;
        mpu->segs[i].log2f = hdrs[i].log2f;
    }

    rc = s3_objfmt_segs_layout(mpu->segs, n, &mpu->plain_total,
                               &mpu->stored_total);

    if (rc == S3_OBJFMT_OK) {
        rc = s3_objfmt_manifest_mac(mpu->dek, ctx->arn, ctx->arn_len,
                                    (const char *) mpu->upload_id.data,
                                    mpu->upload_id.len, hdrs, n, mpu->mac);
    }

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;
    ngx_free(hdrs);
    hdrs = NULL;

    if (rc != S3_OBJFMT_OK) {
        ctx->error.reason = s3_objfmt_strerror(rc);
        goto failed;
    }

    for (i = 0; i < n; i++) {
        p = mpu->table + i * NGX_HTTP_S3_KMS_MPU_ENTRY;

        p[0] = (u_char) (mpu->segs[i].stored_off >> 56);
        p[1] = (u_char) (mpu->segs[i].stored_off >> 48);
        p[2] = (u_char) (mpu->segs[i].stored_off >> 40);
        p[3] = (u_char) (mpu->segs[i].stored_off >> 32);
        p[4] = (u_char) (mpu->segs[i].stored_off >> 24);
        p[5] = (u_char) (mpu->segs[i].stored_off >> 16);
        p[6] = (u_char) (mpu->segs[i].stored_off >> 8);
        p[7] = (u_char) mpu->segs[i].stored_off;

        ngx_memcpy(p + 8, mpu->recs[i].hdr, S3_OBJFMT_HDR_LEN);
    }

    /* the backend's list: its own ETags, no checksums of plaintext */

    size = sizeof(head) + sizeof(tail);

    for (i = 0; i < n; i++) {
        size += sizeof("<Part><PartNumber></PartNumber><ETag></ETag></Part>")
                + NGX_INT_T_LEN
                + s3_xml_escape(NULL, 0, mpu->recs[i].be_etag.data,
                                mpu->recs[i].be_etag.len);
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        goto failed;
    }

    p = ngx_cpymem(b->last, head, sizeof(head) - 1);

    for (i = 0; i < n; i++) {
        rec = &mpu->recs[i];
        p = ngx_sprintf(p, "<Part><PartNumber>%uD</PartNumber><ETag>",
                        rec->number);
        p += s3_xml_escape(p, b->end - p, rec->be_etag.data,
                           rec->be_etag.len);
        p = ngx_cpymem(p, "</ETag></Part>", sizeof("</ETag></Part>") - 1);
    }

    p = ngx_cpymem(p, tail, sizeof(tail) - 1);
    b->last = p;
    b->last_buf = 1;

    ctx->be_headers.nelts = 0;

    if (ngx_http_s3_kms_gw_forward_headers(r, ctx, 1) != NGX_OK
        || ngx_http_s3_kms_mpu_sub(r, ctx, NGX_HTTP_S3_KMS_MPU_SUB_DOC,
                                   "POST", &ctx->be_query, b,
                                   ngx_http_s3_kms_mpu_complete_sent)
           != NGX_OK)
    {
        goto failed;
    }

    return;

failed:

    if (hdrs != NULL) {
        ngx_free(hdrs);
    }

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


static void
ngx_http_s3_kms_mpu_complete_sent(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                       *p;
    ngx_str_t                     key, vkey, etag, version;
    ngx_uint_t                    i, n;
    const char                   *argv[80];
    size_t                        argvlen[80];
    ngx_keyval_t                 *kv;
    s3_xml_result_t               res;
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mpu->sub_status == 0) {
        ctx->error.reason = "the backend did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (mpu->sub_status != NGX_HTTP_OK) {
        ngx_http_s3_kms_mpu_answer(r, ctx, 0);      /* the backend's error */
        return;
    }

    if (s3_xml_result_parse(mpu->sub_data, mpu->sub_len, &res) != S3_OK) {
        ctx->error.reason = "the backend's CompleteMultipartUploadResult "
                            "is no XML";
        goto failed;
    }

    if (res.is_error) {
        /* S3's 200 with an error inside: nothing was completed */
        s3_xml_result_free(&res);
        ngx_http_s3_kms_mpu_answer(r, ctx, 0);
        return;
    }

    etag.len = res.etag.len ? res.etag.len : mpu->sub_etag.len;
    etag.data = ngx_pnalloc(r->pool, etag.len + 1);

    if (etag.data == NULL || etag.len == 0) {
        s3_xml_result_free(&res);
        ctx->error.reason = "no ETag from the backend";
        goto failed;
    }

    ngx_memcpy(etag.data, res.etag.len ? res.etag.data : mpu->sub_etag.data,
               etag.len);
    s3_xml_result_free(&res);

    ngx_str_null(&version);

    if (mpu->sub_relay) {
        kv = mpu->sub_relay->elts;

        for (i = 0; i < mpu->sub_relay->nelts; i++) {
            if (kv[i].key.len == 16
                && ngx_strncmp(kv[i].key.data, "x-amz-version-id", 16) == 0
                && !(kv[i].value.len == 4
                     && ngx_strncmp(kv[i].value.data, "null", 4) == 0))
            {
                version = kv[i].value;
            }
        }
    }

    if (ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK) {
        goto failed;
    }

    /*
     * One transaction: the object's entry (and its version's), whole,
     * and the upload's state gone.  The client's answer waits for it: a
     * GET right after finds the table and its manifest.
     */

    n = 0;
    argv[n] = "MULTI";
    argvlen[n++] = 5;

    if (ngx_http_s3_kms_redis_send(mcf->worker->redis, 1, argv, argvlen,
                                   ngx_http_s3_kms_mpu_written, mcf->worker)
        == NULL)
    {
        goto unindexed;
    }

    for (i = 0; i < 2; i++) {
        if (i == 1) {
            if (version.len == 0) {
                break;
            }

            vkey.len = key.len + 1 + version.len;
            vkey.data = ngx_pnalloc(r->pool, vkey.len);
            if (vkey.data == NULL) {
                goto unindexed;
            }

            p = ngx_cpymem(vkey.data, key.data, key.len);
            *p++ = ':';
            ngx_memcpy(p, version.data, version.len);
            key = vkey;
        }

        argv[0] = "DEL";
        argvlen[0] = 3;
        argv[1] = (const char *) key.data;
        argvlen[1] = key.len;

        if (ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv, argvlen,
                                       ngx_http_s3_kms_mpu_written,
                                       mcf->worker)
            == NULL
            || ngx_http_s3_kms_mpu_index_entry(r, ctx, &key, &etag, argv,
                                               argvlen, &n)
               != NGX_OK
            || ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) n, argv,
                                          argvlen,
                                          ngx_http_s3_kms_mpu_written,
                                          mcf->worker)
               == NULL)
        {
            goto unindexed;
        }
    }

    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = (const char *) mpu->state_key.data;
    argvlen[1] = mpu->state_key.len;
    argv[2] = "EXEC";
    argvlen[2] = 4;

    if (ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv, argvlen,
                                   ngx_http_s3_kms_mpu_written, mcf->worker)
        == NULL
        || ngx_http_s3_kms_mpu_redis(r, mpu, 1, &argv[2], &argvlen[2],
                                     ngx_http_s3_kms_mpu_complete_indexed)
           != NGX_OK)
    {
        goto unindexed;
    }

    return;

unindexed:

    ngx_http_s3_kms_mpu_complete_indexed(r, ctx, NULL);
    return;

failed:

    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/* the HSET of an index entry for the table in mpu, into argv */

static ngx_int_t
ngx_http_s3_kms_mpu_index_entry(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *key, ngx_str_t *etag,
    const char **argv, size_t *argvlen, ngx_uint_t *np)
{
    u_char                 *b;
    ngx_uint_t              n;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    b = ngx_pnalloc(r->pool, 3 * NGX_OFF_T_LEN);
    if (b == NULL) {
        return NGX_ERROR;
    }

    n = 0;
#define arg(s, l)  argv[n] = (const char *) (s); argvlen[n++] = (l)
#define lit(s)     arg(s, sizeof(s) - 1)

    lit("HSET");
    arg(key->data, key->len);
    lit("etag");
    arg(etag->data, etag->len);
    lit("len");
    arg(b, ngx_sprintf(b, "%uL", mpu->plain_total) - b);
    b += NGX_OFF_T_LEN;
    lit("stored");
    arg(b, ngx_sprintf(b, "%uL", mpu->stored_total) - b);
    b += NGX_OFF_T_LEN;
    lit("alg");
    arg(mpu->st[2].data, mpu->st[2].len);
    lit("key");
    arg(mpu->st[3].data, mpu->st[3].len);
    lit("dek");
    arg(mpu->st[4].data, mpu->st[4].len);
    lit("ctx");
    arg(mpu->st[5].len ? mpu->st[5].data : (u_char *) "", mpu->st[5].len);
    lit("md5");
    lit("");
    lit("bk");
    arg(mpu->st[8].len ? mpu->st[8].data : (u_char *) "", mpu->st[8].len);
    lit("nparts");
    arg(b, ngx_sprintf(b, "%ui", mpu->nparts) - b);
    lit("parts");
    arg(mpu->table, mpu->nparts * NGX_HTTP_S3_KMS_MPU_ENTRY);
    lit("mac");

    if (mpu->unverified) {
        lit("");
        lit("upload");
        lit("");
        lit("unverified");
        lit("1");

    } else {
        arg(mpu->mac, S3_OBJFMT_MAC_LEN);
        lit("upload");
        arg(mpu->upload_id.data, mpu->upload_id.len);
        lit("unverified");
        lit("");
    }

#undef lit
#undef arg

    *np = n;

    return NGX_OK;
}


static void
ngx_http_s3_kms_mpu_complete_indexed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    size_t      i;
    ngx_uint_t  ok;

    ok = (reply != NULL && reply->type == REDIS_REPLY_ARRAY);

    for (i = 0; ok && i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
            ok = 0;
        }
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: %V/%V: completed, but not indexed: its part "
                      "table will be rebuilt, manifest-unverified",
                      &ctx->bucket, &ctx->key);
    }

    ngx_http_s3_kms_mpu_answer(r, ctx, 1);
}


/* ---- AbortMultipartUpload, ListParts ----------------------------------------------- */

void
ngx_http_s3_kms_mpu_aborted(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_s3_kms_mpu_t        *mpu;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);

    if (mpu == NULL || mcf->worker == NULL || !ctx->s3->has_upload
        || ngx_http_s3_kms_mpu_ids(r, ctx, mpu) != NGX_OK)
    {
        return;
    }

    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = (const char *) mpu->state_key.data;
    argvlen[1] = mpu->state_key.len;

    (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv, argvlen,
                                      ngx_http_s3_kms_mpu_written,
                                      mcf->worker);
}


void
ngx_http_s3_kms_mpu_list_parts(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    const char             *argv[2];
    size_t                  argvlen[2];
    ngx_http_s3_kms_mpu_t  *mpu;

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);

    if (mpu == NULL || ngx_http_s3_kms_mpu_ids(r, ctx, mpu) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    argv[0] = "HGETALL";
    argvlen[0] = 7;
    argv[1] = (const char *) mpu->state_key.data;
    argvlen[1] = mpu->state_key.len;

    if (ngx_http_s3_kms_mpu_redis(r, mpu, 2, argv, argvlen,
                                  ngx_http_s3_kms_mpu_list_state)
        != NGX_OK)
    {
        /* Redis is away: the backend's sizes */
        ngx_http_s3_kms_gw_list_send(r, ctx);
    }
}


/*
 * Each listed part the records know (the same part number and backend
 * ETag) gets its plaintext size, and, for SSE-S3, the ETag its client got.
 */

static void
ngx_http_s3_kms_mpu_list_state(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, redisReply *reply)
{
    size_t                     i, k, n;
    ngx_str_t                  f, a, b;
    redisReply                *e, *v;
    s3_xml_list_entry_t       *en;
    ngx_http_s3_kms_mpu_rec_t  rec;

    n = ctx->xlist->nentries;

    ctx->list_md5 = ngx_pcalloc(r->pool, (n + 1) * sizeof(ngx_str_t));

    if (ctx->list_md5 == NULL || reply == NULL
        || reply->type != REDIS_REPLY_ARRAY)
    {
        ngx_http_s3_kms_gw_list_send(r, ctx);
        return;
    }

    for (k = 0; k + 1 < reply->elements; k += 2) {
        e = reply->element[k];
        v = reply->element[k + 1];

        if (e->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        f.data = (u_char *) e->str;
        f.len = e->len;

        if (ngx_http_s3_kms_mpu_record(r, &f, (u_char *) v->str, v->len,
                                       &rec)
            != NGX_OK)
        {
            continue;
        }

        a = ngx_http_s3_kms_mpu_core(rec.be_etag.data, rec.be_etag.len);

        for (i = 0; i < n; i++) {
            en = &ctx->xlist->entries[i];

            if (en->part_number != rec.number) {
                continue;
            }

            b = ngx_http_s3_kms_mpu_core((u_char *) en->etag.data,
                                         en->etag.len);

            if (a.len != b.len || ngx_strncmp(a.data, b.data, a.len) != 0) {
                continue;
            }

            en->new_size = (int64_t) rec.len;

            if (rec.etag.len == 32 && b.len == 32) {
                ctx->list_md5[i] = rec.etag;
            }
        }
    }

    ngx_http_s3_kms_gw_list_send(r, ctx);
}


/* ---- GetObject, HeadObject ---------------------------------------------------------- */

/*
 * ?partNumber=N: the gateway answers it for an encrypted object (the
 * backend's parts are not the plaintext's); the backend gets the query
 * without it, unless the object turns out to be a plaintext one.
 */

ngx_int_t
ngx_http_s3_kms_mpu_get(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                 *q, *end, *amp, *out;
    ngx_http_s3_kms_mpu_t  *mpu;

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL) {
        return NGX_ERROR;
    }

    mpu->part = ctx->s3->part_number;
    mpu->query = ctx->be_query;

    out = ngx_pnalloc(r->pool, ctx->be_query.len + 1);
    if (out == NULL) {
        return NGX_ERROR;
    }

    ctx->be_query.data = out;
    q = mpu->query.data;
    end = q + mpu->query.len;

    while (q < end) {
        amp = ngx_strlchr(q, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (!(amp - q >= 10 && ngx_strncmp(q, "partNumber", 10) == 0
              && (amp - q == 10 || q[10] == '=')))
        {
            if (out != ctx->be_query.data) {
                *out++ = '&';
            }
            out = ngx_cpymem(out, q, amp - q);
        }

        q = amp + 1;
    }

    ctx->be_query.len = out - ctx->be_query.data;

    return NGX_OK;
}


void
ngx_http_s3_kms_mpu_plain_query(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    if (ctx->mpu && ctx->mpu->query.data) {
        ctx->be_query = ctx->mpu->query;
    }
}


static ngx_int_t
ngx_http_s3_kms_mpu_bad_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t nparts)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->error.err = S3_ERR_INVALID_PART_NUMBER;
    ctx->error.extra[0].name = "PartNumberRequested";
    ctx->error.extra[0].value.data = p;
    ctx->error.extra[0].value.len = ngx_sprintf(p, "%ui", ctx->mpu->part)
                                    - p;
    ctx->error.extra[1].name = "ActualPartCount";
    ctx->error.extra[1].value.data = p + NGX_INT_T_LEN;
    ctx->error.extra[1].value.len = ngx_sprintf(p + NGX_INT_T_LEN, "%ui",
                                                nparts)
                                    - (p + NGX_INT_T_LEN);
    ctx->error.nextra = 2;

    return NGX_ERROR;
}


/* GetObject ?partNumber of an object of one segment: 1 is all of it */

ngx_int_t
ngx_http_s3_kms_mpu_single_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    if (ctx->mpu->part > 1) {
        (void) ngx_http_s3_kms_mpu_bad_part(r, ctx, 1);
        return NGX_ERROR;
    }

    if (ctx->obj.len > 0) {
        ctx->range.partial = 1;
        ctx->range.first = 0;
        ctx->range.last = ctx->obj.len - 1;

    } else {
        ctx->range.partial = 0;
    }

    return NGX_OK;
}


/* the index entry's multipart fields, as HGETALL gives them */

ngx_int_t
ngx_http_s3_kms_mpu_index_field(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *f, ngx_str_t *v)
{
    ngx_http_s3_kms_mpu_t  *mpu;

#define is(lit)  (f->len == sizeof(lit) - 1                                   \
                  && ngx_strncmp(f->data, lit, f->len) == 0)

    if (v->len == 0
        || !(is("parts") || is("mac") || is("upload") || is("unverified")
             || is("stale")))
    {
        return NGX_OK;
    }

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL) {
        return NGX_ERROR;
    }

    if (is("parts")) {
        mpu->idx_parts = *v;

    } else if (is("mac")) {
        mpu->idx_mac = *v;

    } else if (is("upload")) {
        mpu->idx_upload = *v;

    } else if (is("unverified")) {
        mpu->idx_unverified = (v->len == 1 && v->data[0] == '1');

    } else {
        mpu->idx_stale = *v;
    }

#undef is

    return NGX_OK;
}


/*
 * A part table as the index holds it: 80-byte entries, each segment's
 * stored offset (BE64) and header.  The headers must be well-formed with
 * ascending part numbers, and the offsets what they make.  NGX_DECLINED:
 * a damaged table; NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_s3_kms_mpu_parse_table(ngx_pool_t *pool, ngx_str_t *parts,
    s3_objfmt_seg_t **segsp, ngx_uint_t *np, uint64_t *plain,
    uint64_t *stored)
{
    u_char           *e;
    uint64_t          off;
    uint32_t          prev;
    ngx_uint_t        i, k, n;
    s3_objfmt_hdr_t   h;
    s3_objfmt_seg_t  *segs;

    n = parts->len / NGX_HTTP_S3_KMS_MPU_ENTRY;

    if (n == 0 || n > S3_OBJFMT_PART_MAX
        || parts->len % NGX_HTTP_S3_KMS_MPU_ENTRY)
    {
        return NGX_DECLINED;
    }

    segs = ngx_palloc(pool, n * sizeof(s3_objfmt_seg_t));
    if (segs == NULL) {
        return NGX_ERROR;
    }

    prev = 0;

    for (i = 0; i < n; i++) {
        e = parts->data + i * NGX_HTTP_S3_KMS_MPU_ENTRY;

        if (s3_objfmt_hdr_parse(e + 8, S3_OBJFMT_HDR_LEN, &h)
            != S3_OBJFMT_OK
            || h.part <= prev)
        {
            return NGX_DECLINED;
        }

        prev = h.part;
        segs[i].len = h.len;
        segs[i].log2f = h.log2f;
    }

    if (s3_objfmt_segs_layout(segs, n, plain, stored) != S3_OBJFMT_OK) {
        return NGX_DECLINED;
    }

    for (i = 0; i < n; i++) {
        e = parts->data + i * NGX_HTTP_S3_KMS_MPU_ENTRY;

        for (off = 0, k = 0; k < 8; k++) {
            off = (off << 8) | e[k];
        }

        if (off != segs[i].stored_off) {
            return NGX_DECLINED;
        }
    }

    *segsp = segs;
    *np = n;

    return NGX_OK;
}


/* the part table in mpu->idx_parts, its totals those of the object o */

static ngx_int_t
ngx_http_s3_kms_mpu_table(ngx_http_request_t *r, ngx_http_s3_kms_mpu_t *mpu,
    ngx_http_s3_kms_obj_t *o)
{
    ngx_uint_t  n;

    if (ngx_http_s3_kms_mpu_parse_table(r->pool, &mpu->idx_parts, &mpu->segs,
                                        &n, &mpu->plain_total,
                                        &mpu->stored_total)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (o != NULL
        && ((o->len >= 0 && (uint64_t) o->len != mpu->plain_total)
            || (o->stored >= 0 && (uint64_t) o->stored != mpu->stored_total)))
    {
        return NGX_ERROR;
    }

    mpu->table = mpu->idx_parts.data;
    mpu->nparts = n;
    mpu->tabled = 1;

    return NGX_OK;
}


/* the table's headers parsed, for the manifest MAC (ngx_free() them) */

static s3_objfmt_hdr_t *
ngx_http_s3_kms_mpu_headers(ngx_http_s3_kms_mpu_t *mpu, ngx_log_t *log)
{
    ngx_uint_t        i;
    s3_objfmt_hdr_t  *h;

    h = ngx_alloc(mpu->nparts * sizeof(s3_objfmt_hdr_t), log);
    if (h == NULL) {
        return NULL;
    }

    for (i = 0; i < mpu->nparts; i++) {
        if (s3_objfmt_hdr_parse(mpu->table + i * NGX_HTTP_S3_KMS_MPU_ENTRY
                                + 8, S3_OBJFMT_HDR_LEN, &h[i])
            != S3_OBJFMT_OK)
        {
            ngx_free(h);
            return NULL;
        }
    }

    return h;
}


/*
 * GET or HEAD of an object the index says is stored in parts: 1 when this
 * file goes on with the request.
 */

ngx_uint_t
ngx_http_s3_kms_mpu_indexed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    if (mpu == NULL || mpu->idx_parts.len == 0) {
        return 0;
    }

    mpu->etag = o->etag;
    mpu->dek_blob = o->dek;
    mpu->stale = (mpu->idx_stale.len && mpu->idx_stale.len == o->etag.len
                  && ngx_strncmp(mpu->idx_stale.data, o->etag.data,
                                 o->etag.len) == 0);
    mpu->unverified = mpu->idx_unverified
                      || mpu->idx_mac.len != S3_OBJFMT_MAC_LEN
                      || mpu->idx_upload.len == 0;

    if (o->etag.len == 0 || o->dek.len == 0 || o->key_arn.len == 0
        || o->alg.len == 0
        || ngx_http_s3_kms_mpu_table(r, mpu, o) != NGX_OK)
    {
        /* a damaged entry: as if there were none */

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: %V/%V: a damaged multipart index entry is "
                      "ignored", &ctx->bucket, &ctx->key);

        mpu->tabled = 0;
        mpu->stale = 0;
        ngx_memzero(o, sizeof(ngx_http_s3_kms_obj_t));
        o->len = -1;
        o->stored = -1;
        o->total = -1;
        ngx_str_null(&ctx->idx_etag);
        ngx_str_null(&ctx->idx_md5);
        goto probe;
    }

    ngx_memcpy(mpu->mac, mpu->idx_mac.data,
               mpu->unverified ? 0 : S3_OBJFMT_MAC_LEN);

    if (!mpu->stale) {
        ngx_http_s3_kms_mpu_serve(r, ctx);
        return 1;
    }

    /*
     * A GET found the backend's object changed since the entry was
     * written: the backend says what it holds now (the probe), and
     * ngx_http_s3_kms_mpu_probed() decides.
     */

probe:

    if (ngx_http_s3_kms_gw_probe(r, ctx) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    return 1;
}


/*
 * After the probe of an object the index does not know (or knows as
 * stale): 1 when it is a multipart object this file takes on.
 */

ngx_uint_t
ngx_http_s3_kms_mpu_probed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t                     a, b, key;
    s3_objfmt_hdr_t               h;
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_obj_t        *o = &ctx->obj;
    ngx_http_s3_kms_loc_conf_t   *lcf;
    ngx_http_s3_kms_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (!((o->status == NGX_HTTP_OK || o->status == NGX_HTTP_PARTIAL_CONTENT)
          && o->encrypted && o->len < 0
          && o->hdr_len == S3_OBJFMT_HDR_LEN
          && s3_objfmt_hdr_parse(o->hdr, S3_OBJFMT_HDR_LEN, &h)
             == S3_OBJFMT_OK
          && h.part >= 1))
    {
        if (mpu == NULL) {
            return 0;
        }

        /* not (or no more) an object in parts: its table goes */

        if (mpu->stale && o->status != 0
            && ngx_http_s3_kms_gw_index_key(r, ctx, &key) == NGX_OK)
        {
            argv[0] = "DEL";
            argvlen[0] = 3;
            argv[1] = (const char *) key.data;
            argvlen[1] = key.len;

            (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv,
                                              argvlen,
                                              ngx_http_s3_kms_mpu_written,
                                              mcf->worker);
        }

        mpu->stale = 0;
        mpu->tabled = 0;

        if (!o->encrypted) {
            ngx_http_s3_kms_mpu_plain_query(r, ctx);
        }

        return 0;
    }

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return 1;
    }

    if (mpu->stale) {
        a = ngx_http_s3_kms_mpu_core(o->etag.data, o->etag.len);
        b = ngx_http_s3_kms_mpu_core(mpu->etag.data, mpu->etag.len);

        if (a.len == b.len && ngx_strncmp(a.data, b.data, a.len) == 0) {
            /* the object the table describes after all */
            mpu->stale = 0;
            ngx_http_s3_kms_mpu_unstale(r, ctx);
            ngx_http_s3_kms_mpu_serve(r, ctx);
            return 1;
        }

        if (o->dek.len == mpu->dek_blob.len
            && ngx_strncmp(o->dek.data, mpu->dek_blob.data, o->dek.len) == 0)
        {
            /*
             * The upload the manifest covers, changed at the backend: a
             * part dropped, reordered or replaced.  Never rebuilt from
             * what the backend now holds.
             */

            ngx_http_s3_kms_mpu_refuse(r, ctx,
                                       "The object cannot be decrypted.",
                                       "the object was changed at the "
                                       "backend since its part table was "
                                       "recorded");
            return 1;
        }

        /* another object under the name: its own table is walked */

        mpu->stale = 0;
        mpu->tabled = 0;
    }

    if (lcf->unverified == NGX_HTTP_S3_KMS_UNVERIFIED_REFUSE) {
        ngx_http_s3_kms_mpu_refuse(r, ctx, NGX_HTTP_S3_KMS_MPU_REFUSED,
                                   "a multipart object without its part "
                                   "table in the index "
                                   "(s3_kms_unverified_objects refuse)");
        return 1;
    }

    mpu->etag = o->etag;
    mpu->dek_blob = o->dek;
    mpu->walk_total = o->total >= 0 ? o->total
                      : (o->status == NGX_HTTP_OK ? o->stored : -1);
    mpu->walk_off = 0;

    mpu->walk = ngx_array_create(r->pool, 16, NGX_HTTP_S3_KMS_MPU_ENTRY);

    if (mpu->walk == NULL || mpu->etag.len == 0 || mpu->walk_total <= 0) {
        ngx_http_s3_kms_mpu_refuse(r, ctx, "The object cannot be decrypted.",
                                   "no ETag or size from the backend");
        return 1;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "s3_kms: %V/%V: a multipart object without its part table "
                  "in the index: rebuilding it from the segment headers",
                  &ctx->bucket, &ctx->key);

    if (ngx_http_s3_kms_mpu_walk_add(r, ctx, o->hdr) != NGX_OK) {
        ngx_http_s3_kms_mpu_refuse(r, ctx, "The object cannot be decrypted.",
                                   "a damaged segment header");
        return 1;
    }

    ngx_http_s3_kms_mpu_walk(r, ctx);

    return 1;
}


/* the walk: each segment's header, at the offset its predecessor gives */

static void
ngx_http_s3_kms_mpu_walk(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (mpu->walk_off == mpu->walk_total) {

        /* every header read: the table */

        mpu->idx_parts.data = mpu->walk->elts;
        mpu->idx_parts.len = mpu->walk->nelts * NGX_HTTP_S3_KMS_MPU_ENTRY;

        if (ngx_http_s3_kms_mpu_table(r, mpu, NULL) != NGX_OK
            || mpu->stored_total != (uint64_t) mpu->walk_total)
        {
            ngx_http_s3_kms_mpu_refuse(r, ctx,
                                       "The object cannot be decrypted.",
                                       "the segment headers make no table");
            return;
        }

        mpu->rebuilt = 1;
        mpu->unverified = 1;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: %V/%V: part table rebuilt from %ui segment "
                      "headers; the object is manifest-unverified",
                      &ctx->bucket, &ctx->key, mpu->nparts);

        ngx_http_s3_kms_mpu_serve(r, ctx);
        return;
    }

    if (mpu->walk_off > mpu->walk_total
        || mpu->walk->nelts >= S3_OBJFMT_PART_MAX)
    {
        ngx_http_s3_kms_mpu_refuse(r, ctx, "The object cannot be decrypted.",
                                   "the segment headers do not add up to "
                                   "the stored size");
        return;
    }

    mpu->sub_off = mpu->walk_off;

    if (ngx_http_s3_kms_mpu_sub(r, ctx, NGX_HTTP_S3_KMS_MPU_SUB_HDR, "GET",
                                &ctx->be_query, NULL,
                                ngx_http_s3_kms_mpu_walk_step)
        != NGX_OK)
    {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_s3_kms_mpu_walk_step(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    switch (mpu->sub_status) {

    case NGX_HTTP_PARTIAL_CONTENT:
        break;

    case 0:
        ctx->error.reason = "the backend did not answer";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SERVICE_UNAVAILABLE, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;

    case NGX_HTTP_PRECONDITION_FAILED:
    case NGX_HTTP_NOT_FOUND:
        ctx->error.reason = "the object changed while it was read";
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_SLOW_DOWN, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;

    default:
        ngx_http_s3_kms_mpu_refuse(r, ctx, "The object cannot be decrypted.",
                                   "a segment header could not be read");
        return;
    }

    if (mpu->sub_hdr_len != S3_OBJFMT_HDR_LEN
        || ngx_http_s3_kms_mpu_walk_add(r, ctx, mpu->sub_hdr) != NGX_OK)
    {
        ngx_http_s3_kms_mpu_refuse(r, ctx, "The object cannot be decrypted.",
                                   "a damaged segment header");
        return;
    }

    ngx_http_s3_kms_mpu_walk(r, ctx);
}


static ngx_int_t
ngx_http_s3_kms_mpu_walk_add(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char *hdr)
{
    u_char                 *e;
    uint64_t                off, sl;
    ngx_uint_t              k;
    s3_objfmt_hdr_t         h, prev;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (s3_objfmt_hdr_parse(hdr, S3_OBJFMT_HDR_LEN, &h) != S3_OBJFMT_OK
        || h.part < 1)
    {
        return NGX_ERROR;
    }

    if (mpu->walk->nelts) {
        e = (u_char *) mpu->walk->elts
            + (mpu->walk->nelts - 1) * NGX_HTTP_S3_KMS_MPU_ENTRY;

        if (s3_objfmt_hdr_parse(e + 8, S3_OBJFMT_HDR_LEN, &prev)
            != S3_OBJFMT_OK
            || h.part <= prev.part)
        {
            return NGX_ERROR;
        }
    }

    sl = s3_objfmt_stored_len(h.len, h.log2f);
    off = (uint64_t) mpu->walk_off;

    if (sl == UINT64_MAX || sl > (uint64_t) NGX_MAX_OFF_T_VALUE - off) {
        return NGX_ERROR;
    }

    e = ngx_array_push(mpu->walk);
    if (e == NULL) {
        return NGX_ERROR;
    }

    for (k = 0; k < 8; k++) {
        e[k] = (u_char) (off >> (56 - 8 * k));
    }

    ngx_memcpy(e + 8, hdr, S3_OBJFMT_HDR_LEN);

    mpu->walk_off = (off_t) (off + sl);

    return NGX_OK;
}


static void
ngx_http_s3_kms_mpu_refuse(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const char *message, const char *why)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "s3_kms: %V/%V: %s; refused", &ctx->bucket, &ctx->key,
                  why);

    ctx->error.reason = why;
    ctx->error.err = S3_ERR_INTERNAL;
    ctx->error.message = message;

    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/* the entry's stale mark goes: the backend still holds its object */

static void
ngx_http_s3_kms_mpu_unstale(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t                     key;
    const char                   *argv[3];
    size_t                        argvlen[3];
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK) {
        return;
    }

    argv[0] = "HDEL";
    argvlen[0] = 4;
    argv[1] = (const char *) key.data;
    argvlen[1] = key.len;
    argv[2] = "stale";
    argvlen[2] = 5;

    (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, 3, argv, argvlen,
                                      ngx_http_s3_kms_mpu_written,
                                      mcf->worker);
}


/* GET or HEAD of an object whose part table is known */

static void
ngx_http_s3_kms_mpu_serve(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t                    rc;
    s3_err_t                     err;
    ngx_uint_t                   i;
    ngx_table_elt_t             *range;
    ngx_http_s3_kms_mpu_t       *mpu = ctx->mpu;
    ngx_http_s3_kms_obj_t       *o = &ctx->obj;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    if (mpu->part > mpu->nparts) {
        (void) ngx_http_s3_kms_mpu_bad_part(r, ctx, mpu->nparts);
        ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INVALID_PART_NUMBER, NULL);
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    if (mpu->unverified) {
        if (lcf->unverified == NGX_HTTP_S3_KMS_UNVERIFIED_REFUSE) {
            ngx_http_s3_kms_mpu_refuse(r, ctx, NGX_HTTP_S3_KMS_MPU_REFUSED,
                                       "a manifest-unverified multipart "
                                       "object (s3_kms_unverified_objects "
                                       "refuse)");
            return;
        }
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {
        /* the backend's metadata, the table's length (no KMS) */
        ngx_http_s3_kms_gw_finish(r, ctx, ngx_http_s3_kms_gw_head(r, ctx));
        return;
    }

    /* the plaintext range: a part, the client's Range, or all of it */

    o->len = (off_t) mpu->plain_total;

    if (mpu->part) {
        i = mpu->part - 1;
        mpu->off = mpu->segs[i].plain_off;
        mpu->len = mpu->segs[i].len;

        ctx->range.partial = (mpu->len != 0);
        ctx->range.first = mpu->off;
        ctx->range.last = mpu->off + mpu->len - 1;

    } else {
        range = ngx_http_s3_kms_find_header(r, "range");

        err = s3_objfmt_range_parse(range ? (const char *) range->value.data
                                          : NULL,
                                    range ? range->value.len : 0,
                                    mpu->plain_total, &ctx->range);

        if (err != S3_OK) {
            ngx_http_s3_kms_gw_fail(r, ctx, err, NULL);
            ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
            return;
        }

        if (ctx->range.partial) {
            mpu->off = ctx->range.first;
            mpu->len = ctx->range.last - ctx->range.first + 1;

        } else {
            mpu->off = 0;
            mpu->len = mpu->plain_total;
        }
    }

    if (ngx_http_s3_kms_mpu_ready(r, ctx) != NGX_OK) {
        ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
        return;
    }

    rc = ngx_http_s3_kms_mpu_decrypt_key(r, ctx, &o->alg, &o->dek, &o->ctx,
                                         ngx_http_s3_kms_mpu_get_key);

    if (rc != NGX_AGAIN) {
        ngx_http_s3_kms_gw_finish(r, ctx, rc);
    }
}


static void
ngx_http_s3_kms_mpu_get_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_err_t err)
{
    ngx_int_t               rc;
    ngx_uint_t              i;
    s3_objfmt_rc_t          orc;
    s3_objfmt_hdr_t        *hdrs;
    s3_objfmt_dec_t        *d;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (err != KMS_OK) {
        ngx_http_s3_kms_mpu_fail_key(r, ctx, err);
        return;
    }

    if (!mpu->unverified) {

        /* the manifest: the table is the one Complete recorded */

        hdrs = ngx_http_s3_kms_mpu_headers(mpu, r->connection->log);
        if (hdrs == NULL) {
            goto internal;
        }

        orc = s3_objfmt_manifest_verify(mpu->dek, ctx->arn, ctx->arn_len,
                                        (const char *) mpu->idx_upload.data,
                                        mpu->idx_upload.len, hdrs,
                                        mpu->nparts, mpu->mac);
        ngx_free(hdrs);

        if (orc != S3_OBJFMT_OK) {
            kms_wipe(mpu->dek, sizeof(mpu->dek));
            mpu->has_dek = 0;
            ngx_http_s3_kms_mpu_refuse(r, ctx,
                                       "The object cannot be decrypted.",
                                       "the part table does not match its "
                                       "manifest MAC");
            return;
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: %V/%V: served manifest-unverified",
                      &ctx->bucket, &ctx->key);
    }

    if (mpu->rebuilt) {

        /* every header walked is of this object's data key */

        for (i = 0; i < mpu->nparts; i++) {
            u_char           *e;
            s3_objfmt_hdr_t   h;

            e = mpu->table + i * NGX_HTTP_S3_KMS_MPU_ENTRY + 8;

            if (s3_objfmt_hdr_parse(e, S3_OBJFMT_HDR_LEN, &h)
                != S3_OBJFMT_OK)
            {
                goto internal;
            }

            orc = s3_objfmt_dec_new(&d, mpu->dek, h.part, e, 0, 0,
                                    h.len ? 1 : 0);
            s3_objfmt_dec_free(d);

            if (orc != S3_OBJFMT_OK) {
                kms_wipe(mpu->dek, sizeof(mpu->dek));
                mpu->has_dek = 0;
                ngx_http_s3_kms_mpu_refuse(r, ctx,
                                           "The object cannot be decrypted.",
                                           "a segment header at the backend "
                                           "is not of the object's data key");
                return;
            }
        }
    }

    rc = ngx_http_s3_kms_mpu_get_start(r, ctx);

    if (rc == NGX_DONE && mpu->rebuilt) {
        ngx_http_s3_kms_mpu_write_back(r, ctx);
    }

    ngx_http_s3_kms_gw_finish(r, ctx, rc);
    return;

internal:

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;
    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL, NULL);
    ngx_http_s3_kms_gw_finish(r, ctx, NGX_ERROR);
}


/* the first segment's decryptor, the backend GET of the range's bytes */

static ngx_int_t
ngx_http_s3_kms_mpu_get_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                 *p, *hdr;
    uint64_t                soff, slen;
    s3_objfmt_rc_t          rc;
    s3_objfmt_hdr_t         h;
    s3_objfmt_piece_t       piece;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (mpu->len == 0) {
        /* an empty object or part: its one empty frame is read */
        mpu->span.first = mpu->part ? mpu->part - 1 : 0;
        mpu->span.last = mpu->span.first;
        rc = S3_OBJFMT_OK;

    } else {
        rc = s3_objfmt_map_range(mpu->segs, mpu->nparts, mpu->off, mpu->len,
                                 &mpu->span);
    }

    if (rc != S3_OBJFMT_OK) {
        goto failed;
    }

    mpu->cur = mpu->span.first;
    s3_objfmt_map_piece(mpu->segs, &mpu->span, mpu->cur, mpu->off, mpu->len,
                        &piece);

    hdr = mpu->table + mpu->cur * NGX_HTTP_S3_KMS_MPU_ENTRY + 8;

    rc = s3_objfmt_hdr_parse(hdr, S3_OBJFMT_HDR_LEN, &h);

    if (rc == S3_OBJFMT_OK) {
        rc = s3_objfmt_dec_new(&ctx->dec, mpu->dek, h.part, hdr, 0,
                               piece.off, piece.len);
    }

    if (rc == S3_OBJFMT_OK) {
        rc = s3_objfmt_dec_span(ctx->dec, &soff, &slen);
    }

    if (mpu->span.first == mpu->span.last) {
        kms_wipe(mpu->dek, sizeof(mpu->dek));
        mpu->has_dek = 0;
    }

    if (rc != S3_OBJFMT_OK) {
        goto failed;
    }

    if (mpu->len != 0) {
        soff = mpu->span.stored_off;
        slen = mpu->span.stored_len;

    } else {
        soff += mpu->segs[mpu->cur].stored_off;
    }

    ctx->plain_len = mpu->len;

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

    /* the object the table is of, not one written since */

    if (ngx_http_s3_kms_find_header(r, "if-match") == NULL
        && ngx_http_s3_kms_be_header(ctx, "if-match", mpu->etag.data,
                                     mpu->etag.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_s3_kms_be_start(r, ctx);

failed:

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;

    ctx->error.reason = s3_objfmt_strerror(rc);
    ngx_http_s3_kms_gw_fail(r, ctx, S3_ERR_INTERNAL,
                            "The object cannot be decrypted.");

    return NGX_ERROR;
}


/*
 * A rebuilt table goes back into the index, marked unverified, unless an
 * entry with a manifest for the same object got there first (Complete's).
 */

static void
ngx_http_s3_kms_mpu_write_back(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t                     key;
    ngx_uint_t                    n, i;
    const char                   *hargv[32], *argv[40];
    size_t                        hargvlen[32], argvlen[40];
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static const char             script[] =
        "local e = redis.call('HGET', KEYS[1], 'etag') "
        "local m = redis.call('HGET', KEYS[1], 'mac') "
        "if e == ARGV[1] and m and m ~= '' then return 0 end "
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
        "return 1";

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK) {
        return;
    }

    /* the entry's own fields from the object's metadata */

    mpu->st[2] = ctx->obj.alg;
    mpu->st[3] = ctx->obj.key_arn;
    mpu->st[4] = ctx->obj.dek;
    mpu->st[5] = ctx->obj.ctx;
    mpu->st[8] = ctx->obj.bk;

    if (ngx_http_s3_kms_mpu_index_entry(r, ctx, &key, &mpu->etag, hargv,
                                        hargvlen, &n)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = sizeof(script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (const char *) key.data;
    argvlen[3] = key.len;
    argv[4] = (const char *) mpu->etag.data;
    argvlen[4] = mpu->etag.len;

    for (i = 2; i < n; i++) {
        argv[3 + i] = hargv[i];
        argvlen[3 + i] = hargvlen[i];
    }

    (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, (int) (n + 3),
                                      argv, argvlen,
                                      ngx_http_s3_kms_mpu_written,
                                      mcf->worker);
}


/* the backend's response to a GET or HEAD of an object in parts */

ngx_int_t
ngx_http_s3_kms_mpu_response_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t               a, b;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    if (!mpu->tabled) {
        return NGX_OK;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_HEAD) {

        /* HEAD has no If-Match of ours: the ETag says it is the object */

        a = ngx_http_s3_kms_mpu_core(o->etag.data, o->etag.len);
        b = ngx_http_s3_kms_mpu_core(mpu->etag.data, mpu->etag.len);

        if (!o->encrypted || a.len != b.len
            || ngx_strncmp(a.data, b.data, a.len) != 0)
        {
            ngx_http_s3_kms_mpu_changed(r, ctx);
            ctx->error.err = S3_ERR_SLOW_DOWN;
            ctx->error.reason = "the object changed since it was indexed";
            return NGX_ERROR;
        }
    }

    o->len = (off_t) mpu->plain_total;

    return NGX_OK;
}


/* ?partNumber: S3's 206, Content-Range and x-amz-mp-parts-count */

ngx_int_t
ngx_http_s3_kms_mpu_response_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                 *p;
    uint64_t                first, len;
    ngx_http_upstream_t    *u;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    if (mpu->part == 0) {
        return NGX_OK;
    }

    u = r->upstream;

    if (mpu->tabled) {
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_s3_kms_gw_header_add(r, "x-amz-mp-parts-count", p,
                                          ngx_sprintf(p, "%ui", mpu->nparts)
                                          - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        first = mpu->segs[mpu->part - 1].plain_off;
        len = mpu->segs[mpu->part - 1].len;

    } else {
        if (mpu->part > 1) {
            (void) ngx_http_s3_kms_mpu_bad_part(r, ctx, 1);
            return NGX_ERROR;
        }

        first = 0;
        len = (uint64_t) o->len;
    }

    if (ctx->mode != NGX_HTTP_S3_KMS_BE_HEAD) {
        return NGX_OK;              /* GET: the range was the part's */
    }

    u->headers_in.content_length_n = (off_t) len;

    if (len == 0) {
        return NGX_OK;
    }

    u->headers_in.status_n = NGX_HTTP_PARTIAL_CONTENT;
    u->headers_in.status_line.len = 0;

    p = ngx_pnalloc(r->pool, sizeof("bytes -/") - 1 + 3 * NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_s3_kms_gw_header_add(r, "Content-Range", p,
                                         ngx_sprintf(p, "bytes %uL-%uL/%O",
                                                     first, first + len - 1,
                                                     o->len) - p);
}


/*
 * Our If-Match failed (or HEAD saw another ETag): the backend's object is
 * not the one the entry describes.  A table is kept, marked stale with
 * the ETag it is of: the next GET asks the backend what it holds.  Any
 * other entry goes.
 */

void
ngx_http_s3_kms_mpu_changed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_str_t                     key;
    const char                   *argv[5];
    size_t                        argvlen[5];
    ngx_http_s3_kms_mpu_t        *mpu = ctx->mpu;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static const char             script[] =
        "if redis.call('HGET', KEYS[1], 'etag') == ARGV[1] then "
        "redis.call('HSET', KEYS[1], 'stale', ARGV[1]) end return 0";

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);

    if (mcf->worker == NULL
        || ngx_http_s3_kms_gw_index_key(r, ctx, &key) != NGX_OK)
    {
        return;
    }

    if (!mpu->tabled) {
        argv[0] = "DEL";
        argvlen[0] = 3;
        argv[1] = (const char *) key.data;
        argvlen[1] = key.len;

        (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, 2, argv,
                                          argvlen,
                                          ngx_http_s3_kms_mpu_written,
                                          mcf->worker);
        return;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = sizeof(script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (const char *) key.data;
    argvlen[3] = key.len;
    argv[4] = (const char *) mpu->etag.data;
    argvlen[4] = mpu->etag.len;

    (void) ngx_http_s3_kms_redis_send(mcf->worker->redis, 5, argv, argvlen,
                                      ngx_http_s3_kms_mpu_written,
                                      mcf->worker);
}


/*
 * The decrypt filter ran out of the current segment: the next one's
 * decryptor (its header comes in the stream, equal to the table's).
 * NGX_DONE when the range ends here.
 */

ngx_int_t
ngx_http_s3_kms_mpu_next(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    u_char                 *hdr;
    s3_objfmt_rc_t          rc;
    s3_objfmt_hdr_t         h;
    s3_objfmt_piece_t       piece;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (!mpu->tabled || mpu->cur >= mpu->span.last) {
        return NGX_DONE;
    }

    rc = s3_objfmt_dec_end(ctx->dec);

    if (rc != S3_OBJFMT_OK) {
        ctx->error.reason = "a part ended early";
        return NGX_ERROR;
    }

    s3_objfmt_dec_free(ctx->dec);
    ctx->dec = NULL;

    mpu->cur++;

    s3_objfmt_map_piece(mpu->segs, &mpu->span, mpu->cur, mpu->off, mpu->len,
                        &piece);

    hdr = mpu->table + mpu->cur * NGX_HTTP_S3_KMS_MPU_ENTRY + 8;

    rc = s3_objfmt_hdr_parse(hdr, S3_OBJFMT_HDR_LEN, &h);

    if (rc == S3_OBJFMT_OK && mpu->has_dek) {
        rc = s3_objfmt_dec_new(&ctx->dec, mpu->dek, h.part, hdr, 1,
                               piece.off, piece.len);

    } else if (rc == S3_OBJFMT_OK) {
        rc = S3_OBJFMT_ERR_ARGS;
    }

    if (mpu->cur == mpu->span.last) {
        kms_wipe(mpu->dek, sizeof(mpu->dek));
        mpu->has_dek = 0;
    }

    if (rc != S3_OBJFMT_OK) {
        ctx->error.reason = s3_objfmt_strerror(rc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the stored bytes ended: every segment of the range was read */

ngx_int_t
ngx_http_s3_kms_mpu_end(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (mpu->tabled && mpu->cur != mpu->span.last) {
        ctx->error.reason = "the stored object ended early";
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_s3_kms_mpu_cleanup(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_uint_t              i;
    ngx_http_s3_kms_mpu_t  *mpu = ctx->mpu;

    if (mpu->redis) {
        ngx_http_s3_kms_redis_cancel(mpu->redis);
        mpu->redis = NULL;
    }

    if (mpu->look_ev.timer_set) {
        ngx_del_timer(&mpu->look_ev);
    }

    if (mpu->has_xml) {
        s3_xml_complete_free(&mpu->xml);
        mpu->has_xml = 0;
    }

    kms_wipe(mpu->dek, sizeof(mpu->dek));
    mpu->has_dek = 0;

    if (mpu->sub_pool) {
        ngx_destroy_pool(mpu->sub_pool);
        mpu->sub_pool = NULL;
    }

    for (i = 0; i < sizeof(mpu->old_pools) / sizeof(ngx_pool_t *); i++) {
        if (mpu->old_pools[i]) {
            ngx_destroy_pool(mpu->old_pools[i]);
            mpu->old_pools[i] = NULL;
        }
    }
}


/* ---- UploadPartCopy (for copy.c) ----------------------------------------------- */

/*
 * UploadPart for a part copied from another object: the same state, key
 * and segment as ngx_http_s3_kms_mpu_part(), with the part's plaintext
 * length (ctx->plain_len) known from the source instead of a client body,
 * which copy.c pumps into the backend request.
 */

ngx_int_t
ngx_http_s3_kms_mpu_part_copy(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_http_s3_kms_mpu_t  *mpu;

    mpu = ngx_http_s3_kms_mpu_new(r, ctx);
    if (mpu == NULL || ngx_http_s3_kms_mpu_ids(r, ctx, mpu) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->mode = NGX_HTTP_S3_KMS_BE_PUT;

    if (ngx_http_s3_kms_mpu_ready(r, ctx) != NGX_OK
        || ngx_http_s3_kms_mpu_send_state(r, ctx, 0, NULL,
                                          ngx_http_s3_kms_mpu_part_state)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}
