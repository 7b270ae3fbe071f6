
/*
 * The S3 gateway: state of one client request, shared by the request
 * handling (ngx_http_s3_kms_gateway.c) and the backend connection
 * (ngx_http_s3_kms_backend.c).
 */

#ifndef NGX_HTTP_S3_KMS_GATEWAY_H
#define NGX_HTTP_S3_KMS_GATEWAY_H


#include "ngx_http_s3_kms.h"


#define NGX_HTTP_S3_KMS_REQ_ID_LEN   16
#define NGX_HTTP_S3_KMS_ARN_MAX      2200


/* multipart uploads and objects (ngx_http_s3_kms_mpu.c) */
typedef struct ngx_http_s3_kms_mpu_s  ngx_http_s3_kms_mpu_t;

/* bucket default encryption and S3 Bucket Keys (bucket.c) */
typedef struct ngx_http_s3_kms_bkt_s  ngx_http_s3_kms_bkt_t;

/* CopyObject and UploadPartCopy (copy.c) */
typedef struct ngx_http_s3_kms_copy_s  ngx_http_s3_kms_copy_t;


/* what the backend request is for, so what its response becomes */
typedef enum {
    NGX_HTTP_S3_KMS_BE_PASS = 0,     /* relayed as the backend answers */
    NGX_HTTP_S3_KMS_BE_PUT,          /* an encrypted PutObject */
    NGX_HTTP_S3_KMS_BE_GET,          /* GetObject, decrypted */
    NGX_HTTP_S3_KMS_BE_HEAD,         /* HeadObject, headers rewritten */
    NGX_HTTP_S3_KMS_BE_PROBE,        /* subrequest: metadata and header */
    NGX_HTTP_S3_KMS_BE_LIST,         /* subrequest: a listing, kept whole */
    NGX_HTTP_S3_KMS_BE_COPY_SRC      /* subrequest: a copy's source, read
                                        by copy.c's filter */
} ngx_http_s3_kms_be_mode_e;


/*
 * GET or HEAD ?versionId=null: the unversioned index entry is the "null"
 * version's only if the backend's ETag of that version is the entry's
 * (ngx_http_s3_kms_gw_index_key())
 */
typedef enum {
    NGX_HTTP_S3_KMS_NULL_UNKNOWN = 0,  /* the entry not read yet */
    NGX_HTTP_S3_KMS_NULL_PROBING,      /* read; the probe will tell */
    NGX_HTTP_S3_KMS_NULL_OTHER,        /* none, or another version's */
    NGX_HTTP_S3_KMS_NULL_CONFIRMED     /* the version's: used */
} ngx_http_s3_kms_null_e;


/* what the gateway knows of a stored object (index or probe) */
typedef struct {
    ngx_uint_t                   found;        /* the backend has it */
    ngx_uint_t                   encrypted;    /* x-amz-meta-ssek-v: 1 */
    ngx_uint_t                   status;       /* probe: backend status */
    ngx_str_t                    etag;
    ngx_str_t                    alg;          /* aws:kms | AES256 */
    ngx_str_t                    key_arn;
    ngx_str_t                    dek;          /* base64 blob */
    ngx_str_t                    ctx;          /* base64 canonical JSON */
    ngx_str_t                    bk;           /* base64 object salt */
    off_t                        len;          /* plaintext, -1 unknown */
    off_t                        stored;       /* stored length */
    off_t                        total;        /* probe: the object's whole
                                                  stored size, -1 unknown */
    u_char                       hdr[S3_OBJFMT_HDR_LEN];
    size_t                       hdr_len;
} ngx_http_s3_kms_obj_t;


typedef struct {
    ngx_http_s3_kms_membody_t    mem;          /* first: see body.c */
    ngx_http_request_t          *request;
    u_char                       req_id[NGX_HTTP_S3_KMS_REQ_ID_LEN + 1];
    u_char                       host_id[48];

    /* the client's request */
    s3_header_t                 *headers;
    size_t                       nheaders;
    const kms_cred_t            *cred;
    s3_sigv4_auth_t             *auth;
    const u_char                *sigkey;
    s3_request_t                *s3;
    s3_sse_t                    *sse;
    s3_payload_t                *payload;
    ngx_uint_t                   has_payload;
    char                         arn[NGX_HTTP_S3_KMS_ARN_MAX];
    size_t                       arn_len;
    ngx_str_t                    bucket;       /* NUL-terminated copies */
    ngx_str_t                    key;

    /* the KMS call in flight, and its caller */
    kms_caller_t                 caller;
    ngx_http_s3_kms_run_t        run;
    u_char                       source_ip[NGX_SOCKADDR_STRLEN + 1];
    u_char                      *user_agent;
    ngx_uint_t                   internal_key; /* SSE-S3 */

    /* the object as stored */
    ngx_http_s3_kms_obj_t        obj;
    ngx_http_s3_kms_redis_req_t *redis_req;
    ngx_uint_t                   index_hit;
    ngx_uint_t                   probing;

    /* ?versionId=null: is the unversioned entry the version's? */
    ngx_http_s3_kms_null_e       null_check;
    ngx_str_t                    null_etag;    /* the entry's, to compare */

    /* the client's Range, resolved */
    s3_objfmt_range_t            range;
    ngx_uint_t                   has_range;

    /* the backend request */
    ngx_http_s3_kms_be_mode_e    mode;
    ngx_str_t                    be_method;
    ngx_str_t                    be_path;      /* encoded, path style */
    ngx_str_t                    be_query;
    ngx_array_t                  be_headers;   /* ngx_keyval_t, signed */
    off_t                        be_length;    /* -1: no body */
    ngx_buf_t                   *be_body;      /* a body read in memory */
    ngx_http_status_t            status;
    ngx_int_t                    chunked_state;
    ngx_http_chunked_t           chunked;

    /* PUT: encryption of the request body */
    s3_objfmt_enc_t             *enc;
    u_char                       seg_hdr[S3_OBJFMT_HDR_LEN];
    ngx_buf_t                  **obufs;        /* our output buffers */
    ngx_uint_t                   nobufs;
    ngx_buf_t                   *ofill;        /* being filled */
    ngx_chain_t                 *pending;      /* input not yet consumed */
    ngx_chain_t                **pending_last;
    s3_str_t                     span;         /* decoded, not encrypted */
    ngx_buf_t                   *span_buf;     /* the input it is in */
    size_t                       span_used;    /* input bytes it stands for */
    ngx_uint_t                   input_done;   /* last_buf seen */
    ngx_uint_t                   released;     /* final frame let go */
    ngx_uint_t                   body_done;    /* last_buf passed on */
    s3_err_t                     body_error;
    u_char                      *dek_blob;     /* for the metadata */
    size_t                       dek_blob_len;
    u_char                      *ctx_b64;      /* x-amz-meta-ssek-ctx */
    const char                  *key_arn;

    /* SSE-S3: S3's ETag is the plaintext's MD5, which the index keeps */
    s3_checksum_t                md5;
    ngx_uint_t                   md5_on;
    ngx_uint_t                   md5_done;
    u_char                       md5_hex[32];

    /* what the index said, apart from what the backend answers */
    ngx_str_t                    idx_etag;
    ngx_str_t                    idx_md5;

    /* GET: decryption of the response body */
    s3_objfmt_dec_t             *dec;
    ngx_buf_t                   *frame;        /* being decrypted into */
    off_t                        plain_len;    /* answered Content-Length */

    /* errors for the S3 error filter */
    s3_error_t                   error;
    ngx_uint_t                   own_error;    /* we send the XML */
    ngx_uint_t                   error_sent;   /* nginx's page replaced */
    ngx_chain_t                 *error_out;

    /* listings: the backend's document, rewritten with plaintext sizes */
    ngx_uint_t                   listing;
    u_char                      *list_data;
    size_t                       list_len;
    size_t                       list_cap;
    ngx_uint_t                   list_status;
    s3_xml_list_t               *xlist;
    ngx_http_s3_kms_redis_req_t **list_reqs;
    ngx_str_t                   *list_md5;     /* per entry, SSE-S3 */
    ngx_uint_t                   list_pending;

    /* the probe subrequest's parent context */
    void                        *parent;

    /* multipart: an upload, or an object stored in segments */
    ngx_http_s3_kms_mpu_t       *mpu;

    /* bucket.c's state: default encryption, bucket keys, DeleteObjects */
    ngx_http_s3_kms_bkt_t       *bkt;

    /* CopyObject, UploadPartCopy: the target's request and the source's */
    ngx_http_s3_kms_copy_t      *copy;
} ngx_http_s3_kms_gw_ctx_t;


/* gateway.c */
void ngx_http_s3_kms_gw_finish(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_int_t rc);
ngx_int_t ngx_http_s3_kms_mpu_parse_table(ngx_pool_t *pool, ngx_str_t *parts,
    s3_objfmt_seg_t **segsp, ngx_uint_t *np, uint64_t *plain,
    uint64_t *stored);
void ngx_http_s3_kms_gw_send_xml(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t status, u_char *body,
    size_t len);
ngx_uint_t ngx_http_s3_kms_etag_equal(ngx_str_t *x, ngx_str_t *y);
ngx_http_s3_kms_gw_ctx_t *ngx_http_s3_kms_gw_sub_ctx(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx, ngx_http_s3_kms_be_mode_e mode);
void ngx_http_s3_kms_gw_fail(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, s3_err_t err, const char *message);
ngx_int_t ngx_http_s3_kms_gw_forward_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t body_changes);
s3_err_t ngx_http_s3_kms_gw_decode_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char **out, size_t *outlen);
ngx_int_t ngx_http_s3_kms_gw_put_payload(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_uint_t log2f);
ngx_int_t ngx_http_s3_kms_gw_body_decode(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char **out, size_t *outlen);
ngx_int_t ngx_http_s3_kms_gw_put_prepare(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const unsigned char *dek,
    const unsigned char *blob, size_t blen, const char *key_arn);
ngx_int_t ngx_http_s3_kms_gw_probe(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_gw_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *pairs, size_t len,
    const char *arn, size_t arn_len, char **out);
ngx_int_t ngx_http_s3_kms_gw_kms_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, kms_call_t *call,
    ngx_http_s3_kms_done_pt done);
s3_err_t ngx_http_s3_kms_gw_kms_error(kms_err_t err);
ngx_int_t ngx_http_s3_kms_gw_index_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *out);
void ngx_http_s3_kms_gw_list_send(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_gw_head(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

ngx_int_t ngx_http_s3_kms_gw_send_error(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_gw_response_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_gw_put_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_gw_header_add(ngx_http_request_t *r,
    const char *name, u_char *value, size_t len);

/* PutObject from the bucket default on; for a copy, no client body */
ngx_int_t ngx_http_s3_kms_gw_put(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

/* backend.c */
ngx_int_t ngx_http_s3_kms_be_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_be_header(ngx_http_s3_kms_gw_ctx_t *ctx,
    const char *name, const u_char *value, size_t len);
ngx_int_t ngx_http_s3_kms_be_init_filters(ngx_conf_t *cf);

/* mpu.c */
ngx_int_t ngx_http_s3_kms_mpu_create(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_part_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_complete(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_aborted(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_list_parts(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_get(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_index_field(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_str_t *f, ngx_str_t *v);
ngx_uint_t ngx_http_s3_kms_mpu_indexed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_uint_t ngx_http_s3_kms_mpu_probed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_single_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_plain_query(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_response_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_response_part(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_changed(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_sub_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx);
ngx_int_t ngx_http_s3_kms_mpu_next(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_mpu_end(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_mpu_cleanup(ngx_http_s3_kms_gw_ctx_t *ctx);

/* UploadPartCopy: UploadPart with ctx->plain_len set, no client body */
ngx_int_t ngx_http_s3_kms_mpu_part_copy(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

/*
 * copy.c: CopyObject and UploadPartCopy.  The handler (NGX_AGAIN, or an
 * error the caller answers); hooks for the gateway and the backend:
 * the source's subrequest (NGX_DECLINED: not a copy's), its response
 * headers and body filter, the target's PUT started with its body pumped
 * from the source, its answer (CopyObjectResult), its end, the headers
 * COPY keeps from the request, the request's answer, the pool's end.
 */
ngx_int_t ngx_http_s3_kms_copy_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_copy_sub_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *pctx);
ngx_int_t ngx_http_s3_kms_copy_src_headers(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_copy_src_body(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_chain_t *in);
ngx_int_t ngx_http_s3_kms_copy_filter_init(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_copy_be_start(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
ngx_int_t ngx_http_s3_kms_copy_response(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_copy_finalize(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_int_t rc);
ngx_uint_t ngx_http_s3_kms_copy_skip_header(ngx_http_s3_kms_gw_ctx_t *ctx,
    s3_header_t *h);
void ngx_http_s3_kms_copy_stop(ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_copy_cleanup(ngx_http_s3_kms_gw_ctx_t *ctx);

/*
 * bucket.c: PutBucketEncryption, GetBucketEncryption,
 * DeleteBucketEncryption; the default encryption of requests without SSE
 * headers; S3 Bucket Keys; the index entries of DeleteObjects.
 */
typedef ngx_int_t (*ngx_http_s3_kms_bucket_next_pt)(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

ngx_int_t ngx_http_s3_kms_bucket_handler(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
void ngx_http_s3_kms_bucket_checked(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

/*
 * For PutObject, CreateMultipartUpload and CopyObject: fills ctx->sse
 * (mode, key id, bucket key) from the bucket's default encryption (Redis
 * ssek:bucket:{BUCKET}), else the location's s3_kms_default_encryption,
 * where the request's headers leave them open: no
 * x-amz-server-side-encryption, or aws:kms without
 * -bucket-key-enabled; then goes on with next(r, ctx).  Returns what
 * next() returns when the request's headers settled it, NGX_AGAIN when
 * the default comes from Redis (next() then runs from the event loop,
 * unless the lookup failed, and what it returns, or NGX_ERROR, goes to
 * ngx_http_s3_kms_gw_finish() unless NGX_AGAIN), or NGX_ERROR
 * (ctx->error says why).  Afterwards ctx->sse->mode S3_SSE_NONE means
 * SSE-S3.
 */
ngx_int_t ngx_http_s3_kms_bucket_default(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bucket_next_pt next);

/*
 * S3 Bucket Keys, for a write with ctx->sse->mode S3_SSE_KMS and
 * ctx->sse->bucket_key 1: the requester's bucket key (cached, or KMS
 * GenerateDataKey under the bucket's ARN and the client's pairs), the
 * object's data key derived from it with ctx->arn and a fresh salt, then
 * use(r, ctx, dek, blob, blen, key_arn) with ctx->obj.bk the salt in
 * base64 (x-amz-meta-ssek-bk) and blob the bucket key's (ssek-dek); the
 * data key is wiped when use() returns.  Returns use()'s result, or
 * NGX_AGAIN (use() runs later from the event loop and what it returns,
 * unless NGX_AGAIN, goes to ngx_http_s3_kms_gw_finish()), or NGX_ERROR
 * (ctx->error says why).  ngx_http_s3_kms_bucket_key_put() is PutObject's:
 * ngx_http_s3_kms_gw_put_prepare() and the backend request.
 */
typedef ngx_int_t (*ngx_http_s3_kms_bucket_key_pt)(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *dek, const u_char *blob,
    size_t blen, const char *key_arn);

ngx_int_t ngx_http_s3_kms_bucket_key(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_http_s3_kms_bucket_key_pt use);
ngx_int_t ngx_http_s3_kms_bucket_key_put(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);

/* GET of a Bucket Key object: Decrypt's context, the object's data key */
ngx_int_t ngx_http_s3_kms_bucket_get_context(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *pairs, size_t len,
    char **out);
ngx_int_t ngx_http_s3_kms_bucket_get_dek(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *bucket_key, u_char *dek);

/* DeleteObjects' body; a relayed request's 2xx answer */
ngx_int_t ngx_http_s3_kms_bucket_delete_parse(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, const u_char *body, size_t len);
void ngx_http_s3_kms_bucket_pass_done(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);


#endif /* NGX_HTTP_S3_KMS_GATEWAY_H */
