
/*
 * ngx_s3_kms: declarations shared by the files of the nginx module.
 */

#ifndef NGX_HTTP_S3_KMS_H
#define NGX_HTTP_S3_KMS_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "kms.h"
#include "kms_crypto.h"
#include "s3_sigv4.h"
#include "s3_request.h"
#include "s3_sse.h"
#include "s3_xml.h"
#include "s3_payload.h"
#include "s3_objfmt.h"


#define NGX_HTTP_S3_KMS_REQUEST_ID_LEN  36


typedef struct ngx_http_s3_kms_redis_s      ngx_http_s3_kms_redis_t;
typedef struct ngx_http_s3_kms_redis_req_s  ngx_http_s3_kms_redis_req_t;
typedef struct ngx_http_s3_kms_worker_s     ngx_http_s3_kms_worker_t;
typedef struct ngx_http_s3_kms_run_s        ngx_http_s3_kms_run_t;
typedef struct ngx_http_s3_kms_bk_cache_s   ngx_http_s3_kms_bk_cache_t;


/* a reply of NULL means: no answer (Redis down, timed out, disconnected) */
typedef void (*ngx_http_s3_kms_redis_handler_pt)(void *data,
    redisReply *reply);
typedef void (*ngx_http_s3_kms_redis_event_pt)(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_t *rd, ngx_uint_t up);


typedef struct {
    ngx_str_t                    host;         /* numeric address */
    in_port_t                    port;
    ngx_str_t                    password;
    ngx_int_t                    db;
    ngx_msec_t                   timeout;
} ngx_http_s3_kms_redis_conf_t;


typedef struct {
    ngx_flag_t                   enabled;      /* the module is configured */

    ngx_http_s3_kms_redis_conf_t redis;
    ngx_str_t                    redis_password_file;

    ngx_str_t                    root_key_file;
    unsigned char               *root_key;     /* secure heap, 32 bytes */

    ngx_str_t                    credentials_file;
    kms_creds_t                 *creds;

    ngx_str_t                    region;
    ngx_str_t                    via_service;  /* s3.REGION.amazonaws.com */

    ngx_open_file_t             *audit_file;   /* NULL: off */
    size_t                       audit_buffer;
    ngx_msec_t                   audit_flush;

    ngx_uint_t                   quota_rate;   /* per account per second */
    ngx_uint_t                   quota_burst;
    ngx_shm_zone_t              *quota_zone;

    size_t                       secure_heap;
    ngx_msec_t                   maintenance_interval;
    time_t                       time_offset;  /* tests: shifts KMS time */
    size_t                       api_max_body;
    ngx_uint_t                   aes_gcm;      /* s3_kms_aes_gcm */

    ngx_http_s3_kms_worker_t    *worker;
} ngx_http_s3_kms_main_conf_t;


typedef struct {
    ngx_flag_t                   api;          /* s3_kms_api here */

    ngx_flag_t                   gateway;      /* s3_kms_gateway */
    ngx_http_upstream_conf_t     upstream;     /* s3_kms_backend */
    ngx_str_t                    backend_url;
    ngx_str_t                    backend_host; /* Host: as signed */
    ngx_str_t                    backend_akid;
    ngx_str_t                    backend_secret;
    ngx_str_t                    backend_region;
    ngx_uint_t                   backend_ssl;
    ngx_flag_t                   ssl_verify;
    ngx_str_t                    ssl_trusted_certificate;
    ngx_uint_t                   frame_log2;   /* s3_kms_frame_size */
    size_t                       out_buffer;   /* s3_kms_buffers */
    ngx_uint_t                   out_buffers;
    ngx_array_t                 *vhosts;       /* ngx_str_t */
    ngx_uint_t                   unverified;   /* s3_kms_unverified_objects */
    time_t                       upload_expiry;/* s3_kms_upload_expiry */

    /* s3_kms_default_encryption, s3_kms_bucket_key_lifetime */
    ngx_uint_t                   default_sse;  /* s3_sse_mode_t */
    ngx_str_t                    default_key;  /* NUL-terminated */
    ngx_flag_t                   default_bucket_key;
    ngx_msec_t                   bucket_key_lifetime;
} ngx_http_s3_kms_loc_conf_t;


/* s3_kms_unverified_objects */
#define NGX_HTTP_S3_KMS_UNVERIFIED_SERVE   0
#define NGX_HTTP_S3_KMS_UNVERIFIED_REFUSE  1


#define NGX_HTTP_S3_KMS_SIGKEYS  256

typedef struct {
    uint32_t                     hash;
    u_char                       name[192];  /* akid/date/region/service */
    size_t                       len;
    u_char                       key[32];
    kms_hmac_t                  *hmac;       /* key set: the KMS API's */
} ngx_http_s3_kms_sigkey_t;


/* the state of one worker process */

struct ngx_http_s3_kms_worker_s {
    ngx_cycle_t                 *cycle;
    ngx_log_t                   *log;
    ngx_http_s3_kms_main_conf_t *mcf;
    kms_ctx_t                   *kms;

    ngx_http_s3_kms_redis_t     *redis;        /* commands */
    ngx_http_s3_kms_redis_t     *sub;          /* SUBSCRIBE kms:events */
    ngx_uint_t                   subscribed;   /* events are flowing */
    ngx_uint_t                   loading;      /* a full load in flight */
    ngx_uint_t                   loaded;       /* since the subscription */
    ngx_uint_t                   wrong_root;   /* logged */

    ngx_event_t                  maintain_ev;
    ngx_event_t                  reload_ev;
    ngx_uint_t                   maintaining;

    u_char                      *audit_start;
    u_char                      *audit_pos;
    u_char                      *audit_end;
    ngx_event_t                  audit_ev;

    /* SigV4 signing keys by (access key id, date, region, service) */
    ngx_http_s3_kms_sigkey_t    *sigkeys;

    /* request ids drawn ahead; the KMS API's body and request digests */
    kms_rpool_t                 *ids;
    kms_sha256_t                *sha;
    /* S3 Bucket Keys in use (ngx_http_s3_kms_bucket.c) */
    ngx_http_s3_kms_bk_cache_t  *bk_cache;
};


/* a small request body read into memory (ngx_http_s3_kms_body.c) */

typedef void (*ngx_http_s3_kms_membody_done_pt)(ngx_http_request_t *r);

typedef struct {
    ngx_http_s3_kms_membody_done_pt  done;
    u_char                          *body;
    size_t                           len;
    size_t                           cap;
    size_t                           max;
    ngx_uint_t                       too_big;
} ngx_http_s3_kms_membody_t;


/* a KMS call driven through Redis on the event loop */

typedef void (*ngx_http_s3_kms_done_pt)(ngx_http_s3_kms_run_t *run);

struct ngx_http_s3_kms_run_s {
    kms_call_t                  *call;
    ngx_http_s3_kms_worker_t    *worker;
    ngx_http_s3_kms_redis_req_t *pending;
    ngx_http_s3_kms_done_pt      done;
    void                        *data;
    ngx_log_t                   *log;
    ngx_uint_t                   async;        /* done() came later */
};


extern ngx_module_t  ngx_http_s3_kms_module;


/* ngx_http_s3_kms_redis.c */
ngx_http_s3_kms_redis_t *ngx_http_s3_kms_redis_create(
    ngx_http_s3_kms_worker_t *w, ngx_http_s3_kms_redis_conf_t *conf,
    ngx_http_s3_kms_redis_event_pt on_event, const char *name);
ngx_int_t ngx_http_s3_kms_redis_connect(ngx_http_s3_kms_redis_t *rd);
ngx_uint_t ngx_http_s3_kms_redis_ready(ngx_http_s3_kms_redis_t *rd);
ngx_http_s3_kms_redis_req_t *ngx_http_s3_kms_redis_send(
    ngx_http_s3_kms_redis_t *rd, int argc, const char **argv,
    const size_t *argvlen, ngx_http_s3_kms_redis_handler_pt handler,
    void *data);
void ngx_http_s3_kms_redis_cancel(ngx_http_s3_kms_redis_req_t *req);
ngx_int_t ngx_http_s3_kms_redis_subscribe(ngx_http_s3_kms_redis_t *rd,
    const char *channel, ngx_http_s3_kms_redis_handler_pt handler,
    void *data);
void ngx_http_s3_kms_redis_destroy(ngx_http_s3_kms_redis_t *rd);

/* ngx_http_s3_kms_store.c */
ngx_int_t ngx_http_s3_kms_worker_init(ngx_cycle_t *cycle,
    ngx_http_s3_kms_main_conf_t *mcf);
void ngx_http_s3_kms_worker_exit(ngx_http_s3_kms_worker_t *w);
ngx_int_t ngx_http_s3_kms_run(ngx_http_s3_kms_run_t *run);
void ngx_http_s3_kms_run_cancel(ngx_http_s3_kms_run_t *run);
ngx_int_t ngx_http_s3_kms_run_on_pool(ngx_http_s3_kms_run_t *run,
    ngx_pool_t *pool);

/* ngx_http_s3_kms_probe.c */
ngx_int_t ngx_http_s3_kms_probe_redis(ngx_log_t *log,
    ngx_http_s3_kms_redis_conf_t *rc, u_char *fp, size_t fplen, u_char *aof,
    size_t aoflen, u_char *fsync, size_t fsynclen);

/* ngx_http_s3_kms_audit.c */
ngx_int_t ngx_http_s3_kms_audit_init(ngx_http_s3_kms_worker_t *w);
void ngx_http_s3_kms_audit_write(ngx_http_s3_kms_worker_t *w,
    const char *line, size_t len);
void ngx_http_s3_kms_audit_flush(ngx_http_s3_kms_worker_t *w);

/* ngx_http_s3_kms_quota.c */
ngx_int_t ngx_http_s3_kms_quota_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_s3_kms_quota_take(ngx_http_s3_kms_main_conf_t *mcf,
    const char *account);

/* ngx_http_s3_kms_auth.c */
ngx_table_elt_t *ngx_http_s3_kms_find_header(ngx_http_request_t *r,
    const char *lowcase_name);
ngx_table_elt_t *ngx_http_s3_kms_list_header(ngx_list_t *headers,
    const char *name);
s3_header_t *ngx_http_s3_kms_request_headers(ngx_http_request_t *r,
    size_t *n);
kms_err_t ngx_http_s3_kms_api_auth(ngx_http_request_t *r, const u_char *body,
    size_t len, const kms_cred_t **cred, ngx_str_t *msg);
void ngx_http_s3_kms_request_id(u_char *buf);
const u_char *ngx_http_s3_kms_signing_key(ngx_http_s3_kms_worker_t *w,
    const kms_cred_t *cred, const char *date, size_t datelen,
    const char *region, size_t regionlen, const char *service,
    size_t servicelen);
ngx_http_s3_kms_sigkey_t *ngx_http_s3_kms_sigkey(ngx_http_s3_kms_worker_t *w,
    const kms_cred_t *cred, const char *date, size_t datelen,
    const char *region, size_t regionlen, const char *service,
    size_t servicelen);

/* ngx_http_s3_kms_gateway.c, ngx_http_s3_kms_backend.c */
ngx_int_t ngx_http_s3_kms_gateway_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_s3_kms_gateway_init(ngx_conf_t *cf);
char *ngx_http_s3_kms_backend(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_s3_kms_gateway(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_s3_kms_backend_create_conf(ngx_http_s3_kms_loc_conf_t *lcf);
char *ngx_http_s3_kms_backend_merge_conf(ngx_conf_t *cf,
    ngx_http_s3_kms_loc_conf_t *prev, ngx_http_s3_kms_loc_conf_t *conf);

/* ngx_http_s3_kms_mpu.c */
extern ngx_conf_enum_t  ngx_http_s3_kms_unverified_values[];
void ngx_http_s3_kms_mpu_create_conf(ngx_http_s3_kms_loc_conf_t *lcf);
void ngx_http_s3_kms_mpu_merge_conf(ngx_http_s3_kms_loc_conf_t *prev,
    ngx_http_s3_kms_loc_conf_t *conf);
/* ngx_http_s3_kms_bucket.c */
char *ngx_http_s3_kms_default_encryption(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_s3_kms_bucket_create_conf(ngx_http_s3_kms_loc_conf_t *lcf);
char *ngx_http_s3_kms_bucket_merge_conf(ngx_conf_t *cf,
    ngx_http_s3_kms_loc_conf_t *prev, ngx_http_s3_kms_loc_conf_t *conf);
void ngx_http_s3_kms_bucket_exit(ngx_http_s3_kms_worker_t *w);

/* ngx_http_s3_kms_body.c: the module ctx starts with the membody */
ngx_int_t ngx_http_s3_kms_membody_read(ngx_http_request_t *r, size_t max,
    ngx_http_s3_kms_membody_done_pt done);

/* ngx_http_s3_kms_api.c */
ngx_int_t ngx_http_s3_kms_api_handler(ngx_http_request_t *r);


#endif /* NGX_HTTP_S3_KMS_H */
