
/*
 * ngx_http_s3_kms_module: directives, configuration, process hooks.
 *
 *     s3_kms_redis          127.0.0.1:6379 [db=N] [password_file=F] [timeout=T];
 *     s3_kms_root_key_file  /etc/nginx/s3kms/root.key;
 *     s3_kms_credentials    /etc/nginx/s3kms/credentials;
 *     s3_kms_region         us-east-1;
 *     s3_kms_audit_log      /var/log/nginx/kms-audit.log [buffer=64k] [flush=1s];
 *     s3_kms_quota          10000r/s [burst=N] | off;
 *
 *     location / { s3_kms_api; }
 *
 * docs/directives.md documents each one.
 */


#include "ngx_http_s3_kms.h"


static ngx_int_t ngx_http_s3_kms_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_s3_kms_init_process(ngx_cycle_t *cycle);
static void ngx_http_s3_kms_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_s3_kms_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_s3_kms_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_s3_kms_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_s3_kms_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_s3_kms_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_root_key_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_s3_kms_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_audit_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_quota(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_region(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_frame_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_buffers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_kms_gateway_host(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_s3_kms_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_s3_kms_read_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_str_t *path, ngx_str_t *out);
static void ngx_http_s3_kms_probe(ngx_cycle_t *cycle,
    ngx_http_s3_kms_main_conf_t *mcf);
static char *ngx_http_s3_kms_check_heap(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_s3_kms_check_interval(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_s3_kms_check_max_body(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_t  ngx_http_s3_kms_heap_post =
    { ngx_http_s3_kms_check_heap };
static ngx_conf_post_t  ngx_http_s3_kms_interval_post =
    { ngx_http_s3_kms_check_interval };
static ngx_conf_post_t  ngx_http_s3_kms_max_body_post =
    { ngx_http_s3_kms_check_max_body };


/* the names kms_gcm_use() takes, in this order */
static ngx_conf_enum_t  ngx_http_s3_kms_aes_gcm_values[] = {
    { ngx_string("auto"), 0 },
    { ngx_string("openssl"), 1 },
    { ngx_string("ipsec-mb"), 2 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_s3_kms_commands[] = {

    { ngx_string("s3_kms_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_s3_kms_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_root_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_s3_kms_root_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_s3_kms_credentials,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_s3_kms_region,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_audit_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_s3_kms_audit_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_quota"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_s3_kms_quota,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_aes_gcm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_main_conf_t, aes_gcm),
      &ngx_http_s3_kms_aes_gcm_values },

    { ngx_string("s3_kms_secure_heap"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_main_conf_t, secure_heap),
      &ngx_http_s3_kms_heap_post },

    { ngx_string("s3_kms_maintenance_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_main_conf_t, maintenance_interval),
      &ngx_http_s3_kms_interval_post },

    { ngx_string("s3_kms_time_offset"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_main_conf_t, time_offset),
      NULL },

    { ngx_string("s3_kms_api_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_main_conf_t, api_max_body),
      &ngx_http_s3_kms_max_body_post },

    { ngx_string("s3_kms_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_s3_kms_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_gateway"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_s3_kms_gateway,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_backend"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE3|NGX_CONF_TAKE4,
      ngx_http_s3_kms_backend,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_backend_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, ssl_verify),
      NULL },

    { ngx_string("s3_kms_backend_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, ssl_trusted_certificate),
      NULL },

    { ngx_string("s3_kms_backend_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, upstream.buffer_size),
      NULL },

    { ngx_string("s3_kms_backend_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, upstream.read_timeout),
      NULL },

    { ngx_string("s3_kms_frame_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_s3_kms_frame_size,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_buffers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_s3_kms_buffers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_default_encryption"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_s3_kms_default_encryption,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_bucket_key_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, bucket_key_lifetime),
      NULL },

    { ngx_string("s3_kms_gateway_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_s3_kms_gateway_host,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_kms_unverified_objects"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, unverified),
      ngx_http_s3_kms_unverified_values },

    { ngx_string("s3_kms_upload_expiry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_kms_loc_conf_t, upload_expiry),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_s3_kms_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_s3_kms_postconfiguration,     /* postconfiguration */

    ngx_http_s3_kms_create_main_conf,      /* create main configuration */
    ngx_http_s3_kms_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_s3_kms_create_loc_conf,       /* create location configuration */
    ngx_http_s3_kms_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_s3_kms_module = {
    NGX_MODULE_V1,
    &ngx_http_s3_kms_module_ctx,           /* module context */
    ngx_http_s3_kms_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_s3_kms_init_module,           /* init module */
    ngx_http_s3_kms_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_s3_kms_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ---- configuration ---------------------------------------------------------- */

static void *
ngx_http_s3_kms_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_s3_kms_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->enabled = NGX_CONF_UNSET;
    mcf->redis.db = NGX_CONF_UNSET;
    mcf->redis.timeout = NGX_CONF_UNSET_MSEC;
    mcf->audit_buffer = NGX_CONF_UNSET_SIZE;
    mcf->audit_flush = NGX_CONF_UNSET_MSEC;
    mcf->quota_rate = NGX_CONF_UNSET_UINT;
    mcf->quota_burst = NGX_CONF_UNSET_UINT;
    mcf->secure_heap = NGX_CONF_UNSET_SIZE;
    mcf->maintenance_interval = NGX_CONF_UNSET_MSEC;
    mcf->time_offset = NGX_CONF_UNSET;
    mcf->api_max_body = NGX_CONF_UNSET_SIZE;
    mcf->aes_gcm = NGX_CONF_UNSET_UINT;

    return mcf;
}


static char *
ngx_http_s3_kms_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    ngx_str_t                     name;

    ngx_conf_init_value(mcf->enabled, 0);
    ngx_conf_init_value(mcf->redis.db, 0);
    ngx_conf_init_msec_value(mcf->redis.timeout, 2000);
    ngx_conf_init_size_value(mcf->audit_buffer, 64 * 1024);
    ngx_conf_init_msec_value(mcf->audit_flush, 1000);
    ngx_conf_init_uint_value(mcf->quota_rate, 0);
    ngx_conf_init_uint_value(mcf->quota_burst, mcf->quota_rate);
    ngx_conf_init_size_value(mcf->secure_heap, 1024 * 1024);
    ngx_conf_init_msec_value(mcf->maintenance_interval, 60000);
    ngx_conf_init_value(mcf->time_offset, 0);
    ngx_conf_init_size_value(mcf->api_max_body, 256 * 1024);
    ngx_conf_init_uint_value(mcf->aes_gcm, 0);

    /*
     * The choice holds for the cipher handles made from now on: in this
     * process (the master) and in the workers it forks.
     */
    name = ngx_http_s3_kms_aes_gcm_values[mcf->aes_gcm].name;

    if (kms_gcm_use((char *) name.data) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3_kms_aes_gcm %V: this nginx module was built "
                           "without ipsec-mb (libipsec-mb-dev), or the CPU "
                           "has no AES-NI", &name);
        return NGX_CONF_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0, "s3_kms: AES-256-GCM by %s",
                  kms_gcm_using());

    if (mcf->region.data == NULL) {
        ngx_str_set(&mcf->region, "us-east-1");
    }

    mcf->via_service.len = sizeof("s3..amazonaws.com") - 1 + mcf->region.len;
    mcf->via_service.data = ngx_pnalloc(cf->pool, mcf->via_service.len + 1);
    if (mcf->via_service.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(mcf->via_service.data, "s3.%V.amazonaws.com%Z", &mcf->region);

    if (mcf->quota_rate && mcf->creds) {
        ngx_str_t  name = ngx_string("s3_kms_quota");

        mcf->quota_zone = ngx_shared_memory_add(cf, &name, 64 * 1024,
                                                &ngx_http_s3_kms_module);
        if (mcf->quota_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        mcf->quota_zone->init = ngx_http_s3_kms_quota_init_zone;
        mcf->quota_zone->data = mcf;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_s3_kms_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_s3_kms_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    lcf->api = NGX_CONF_UNSET;
    ngx_http_s3_kms_backend_create_conf(lcf);
    ngx_http_s3_kms_mpu_create_conf(lcf);
    ngx_http_s3_kms_bucket_create_conf(lcf);

    return lcf;
}


static char *
ngx_http_s3_kms_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_s3_kms_loc_conf_t  *prev = parent;
    ngx_http_s3_kms_loc_conf_t  *conf = child;

    ngx_http_core_loc_conf_t    *clcf;

    ngx_conf_merge_value(conf->api, prev->api, 0);

    /*
     * The KMS API has its own body limit (s3_kms_api_max_body), answered
     * with AWS's JSON error; nginx's client_max_body_size would answer a
     * larger body with an HTML page instead.  During the merge, cf->ctx
     * holds this location's configurations.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_s3_kms_api_handler) {
        clcf->client_max_body_size = 0;
    }

    ngx_http_s3_kms_mpu_merge_conf(prev, conf);

    if (ngx_http_s3_kms_bucket_merge_conf(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_s3_kms_backend_merge_conf(cf, prev, conf);
}


static ngx_int_t
ngx_http_s3_kms_postconfiguration(ngx_conf_t *cf)
{
    return ngx_http_s3_kms_gateway_init(cf);
}


static char *
ngx_http_s3_kms_frame_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ssize_t     size;
    ngx_str_t  *value;
    ngx_uint_t  k;

    if (lcf->frame_log2 != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = ngx_parse_size(&value[1]);

    for (k = S3_OBJFMT_LOG2F_MIN; k <= S3_OBJFMT_LOG2F_MAX; k++) {
        if (size == (ssize_t) 1 << k) {
            lcf->frame_log2 = k;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive: invalid frame size \"%V\": a "
                       "power of two from 4k to 16m", &cmd->name, &value[1]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_s3_kms_buffers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ssize_t     size;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (lcf->out_buffers != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    size = ngx_parse_size(&value[2]);

    if (n < 2 || n > 64 || size < 4096 || size > 16 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive: invalid value \"%V %V\" (2 to "
                           "64 buffers of 4k to 16m)", &cmd->name, &value[1],
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    lcf->out_buffers = n;
    lcf->out_buffer = size;

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_gateway_host(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ngx_str_t   *value, *h;
    ngx_uint_t   i;

    if (lcf->vhosts) {
        return "is duplicate";
    }

    lcf->vhosts = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(ngx_str_t));
    if (lcf->vhosts == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        h = ngx_array_push(lcf->vhosts);
        if (h == NULL) {
            return NGX_CONF_ERROR;
        }

        *h = value[i];
        ngx_strlow(h->data, h->data, h->len);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    u_char      *p;
    ngx_str_t   *value, s, file;
    ngx_url_t    u;
    ngx_uint_t   i;
    ngx_int_t    n;

    if (mcf->redis.host.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = value[1];
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: %s in "
                           "\"%V\"", &cmd->name,
                           u.err ? u.err : "invalid address", &u.url);
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: no "
                           "address for \"%V\"", &cmd->name, &u.url);
        return NGX_CONF_ERROR;
    }

    /* hiredis gets a numeric address: it must never resolve a name */

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->redis.host.data = p;
    mcf->redis.host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                        u.addrs[0].socklen, p,
                                        NGX_SOCKADDR_STRLEN, 0);
    p[mcf->redis.host.len] = '\0';
    mcf->redis.port = u.port ? u.port : 6379;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            n = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (n == NGX_ERROR) {
                goto invalid;
            }
            mcf->redis.db = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;
            mcf->redis.timeout = ngx_parse_time(&s, 0);
            if (mcf->redis.timeout == (ngx_msec_t) NGX_ERROR
                || mcf->redis.timeout == 0)
            {
                goto invalid;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {
            file.data = value[i].data + 14;
            file.len = value[i].len - 14;

            if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            mcf->redis_password_file = file;

            if (ngx_http_s3_kms_read_secret_file(cf, cmd, &file,
                                                 &mcf->redis.password)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
            continue;
        }

        goto invalid;
    }

    mcf->enabled = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: invalid "
                       "parameter \"%V\"", &cmd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * A Redis password file: the password on its first line, the file not
 * group- or world-readable (the same rule as the root key).
 */

static ngx_int_t
ngx_http_s3_kms_read_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *path, ngx_str_t *out)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;
    u_char           buf[1024], *p;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" directive: " ngx_open_file_n " \"%V\" "
                           "failed", &cmd->name, path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || (fi.st_mode & (S_IRWXG | S_IRWXO)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive: \"%V\" must not be readable "
                           "by group or others (chmod 600)", &cmd->name, path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf) - 1);
    ngx_close_file(fd);

    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: \"%V\" "
                           "is empty", &cmd->name, path);
        return NGX_ERROR;
    }

    for (p = buf; p < buf + n && *p != '\n' && *p != '\r'; p++) {
        /* void */
    }

    out->len = p - buf;
    out->data = ngx_pnalloc(cf->pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, buf, out->len);
    out->data[out->len] = '\0';
    kms_wipe(buf, sizeof(buf));

    return NGX_OK;
}


static char *
ngx_http_s3_kms_root_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    ngx_str_t      *value;
    char            err[256];
    unsigned char   key[KMS_ROOT_KEY_LEN];

    if (mcf->root_key_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->root_key_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &mcf->root_key_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* checked now so that the error names this line; read again later */

    if (kms_root_key_load((const char *) mcf->root_key_file.data, key, err,
                          sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: %s",
                           &cmd->name, err);
        return NGX_CONF_ERROR;
    }

    kms_wipe(key, sizeof(key));
    mcf->enabled = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    ngx_str_t            *value;
    char                  err[256];
    ngx_pool_cleanup_t   *cln;

    if (mcf->credentials_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->credentials_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &mcf->credentials_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    mcf->creds = kms_creds_load((const char *) mcf->credentials_file.data,
                                err, sizeof(err));
    if (mcf->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: %s",
                           &cmd->name, err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        kms_creds_free(mcf->creds);
        mcf->creds = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = (ngx_pool_cleanup_pt) kms_creds_free;
    cln->data = mcf->creds;

    mcf->enabled = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_region(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    u_char     *p;
    ngx_str_t  *value;

    if (mcf->region.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 32) {
        goto invalid;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '-'))
        {
            goto invalid;
        }
    }

    mcf->region = value[1];     /* NUL-terminated by the parser */

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive: invalid region \"%V\" (like "
                       "us-east-1)", &cmd->name, &value[1]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_s3_kms_audit_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    ssize_t     size;
    ngx_msec_t  flush;
    ngx_str_t  *value, s;
    ngx_uint_t  i;

    if (mcf->audit_file || mcf->audit_buffer != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no parameters with \"off\"";
        }
        mcf->audit_buffer = 0;
        return NGX_CONF_OK;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;
            size = ngx_parse_size(&s);
            if (size < 4096 || size > 16 * 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" directive: invalid buffer size "
                                   "\"%V\" (4k to 16m)", &cmd->name, &s);
                return NGX_CONF_ERROR;
            }
            mcf->audit_buffer = size;
            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;
            flush = ngx_parse_time(&s, 0);
            if (flush == (ngx_msec_t) NGX_ERROR || flush == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" directive: invalid flush time "
                                   "\"%V\"", &cmd->name, &s);
                return NGX_CONF_ERROR;
            }
            mcf->audit_flush = flush;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive: invalid "
                           "parameter \"%V\"", &cmd->name, &value[i]);
        return NGX_CONF_ERROR;
    }

    mcf->audit_file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (mcf->audit_file == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_quota(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_main_conf_t  *mcf = conf;

    size_t      len;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (mcf->quota_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no parameters with \"off\"";
        }
        mcf->quota_rate = 0;
        return NGX_CONF_OK;
    }

    len = value[1].len;

    if (len < 5 || ngx_strncmp(value[1].data + len - 3, "r/s", 3) != 0) {
        goto invalid;
    }

    n = ngx_atoi(value[1].data, len - 3);
    if (n <= 0) {
        goto invalid;
    }

    mcf->quota_rate = n;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "burst=", 6) != 0) {
            goto invalid;
        }

        n = ngx_atoi(value[2].data + 6, value[2].len - 6);
        if (n <= 0) {
            goto invalid;
        }

        mcf->quota_burst = n;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" directive: invalid value \"%V\" (like "
                       "\"1000r/s\" [burst=2000] or \"off\")", &cmd->name,
                       &value[cf->args->nelts - 1]);

    return NGX_CONF_ERROR;
}


/* ranges of the plain-valued directives; nginx names the directive */

static char *
ngx_http_s3_kms_check_heap(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 16 * 1024 || *sp > 1024 * 1024 * 1024) {
        return "must be from 16k to 1g";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_check_interval(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *mp = data;

    /* a timer re-armed with 0 would spin the worker */
    if (*mp < 10 || *mp > 86400000) {
        return "must be from 10ms to 1d";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_check_max_body(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    /* room for the largest valid request: a 32 KiB key policy and more */
    if (*sp < 64 * 1024 || *sp > 16 * 1024 * 1024) {
        return "must be from 64k to 16m";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_kms_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    lcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_s3_kms_api_handler;

    return NGX_CONF_OK;
}


/* ---- process hooks ---------------------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_init_module(ngx_cycle_t *cycle)
{
    char                          err[256];
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_s3_kms_module);

    if (mcf == NULL || !mcf->enabled) {
        return NGX_OK;
    }

    if (mcf->redis.host.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: \"s3_kms_redis\" is not set");
        return NGX_ERROR;
    }

    if (mcf->root_key_file.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: \"s3_kms_root_key_file\" is not set");
        return NGX_ERROR;
    }

    if (mcf->creds == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: \"s3_kms_credentials\" is not set");
        return NGX_ERROR;
    }

    /*
     * The secure heap (mlocked, not in core dumps) is set up once per
     * process: a new size needs a restart, not a reload.
     */

    if (kms_global_init(mcf->secure_heap) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: cannot set up the secure heap "
                      "(s3_kms_secure_heap %uz)", mcf->secure_heap);
        return NGX_ERROR;
    }

    mcf->root_key = kms_secure_alloc(KMS_ROOT_KEY_LEN);
    if (mcf->root_key == NULL) {
        return NGX_ERROR;
    }

    if (kms_root_key_load((const char *) mcf->root_key_file.data,
                          mcf->root_key, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms_root_key_file: %s", err);
        return NGX_ERROR;
    }

    ngx_http_s3_kms_probe(cycle, mcf);

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_init_process(ngx_cycle_t *cycle)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_s3_kms_module);

    if (mcf == NULL || !mcf->enabled) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    return ngx_http_s3_kms_worker_init(cycle, mcf);
}


static void
ngx_http_s3_kms_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_s3_kms_module);

    if (mcf == NULL || mcf->worker == NULL) {
        return;
    }

    ngx_http_s3_kms_worker_exit(mcf->worker);
    mcf->worker = NULL;
}


/* ---- the configuration-time look at Redis ---------------------------------- */

/*
 * DESIGN.md section 1: at configuration time (nginx -t, master start) a
 * short synchronous exchange with Redis is fine.  It checks the root key
 * fingerprint and the durability settings, and says what it found; it
 * never fails the configuration (Redis may come up later: then key and
 * object operations answer 503 until it does).
 */

static void
ngx_http_s3_kms_probe(ngx_cycle_t *cycle, ngx_http_s3_kms_main_conf_t *mcf)
{
    ngx_int_t   rc;
    u_char      fp[64], aof[32], fsync[32];
    char        ours[KMS_FINGERPRINT_LEN + 1];
    kms_ctx_t  *ctx;
    kms_conf_t  conf;

    ngx_memzero(&conf, sizeof(kms_conf_t));
    conf.region = (const char *) mcf->region.data;
    conf.creds = mcf->creds;

    ctx = kms_ctx_new(mcf->root_key, &conf);
    if (ctx == NULL) {
        return;
    }

    ngx_cpystrn((u_char *) ours, (u_char *) kms_ctx_fingerprint(ctx),
                sizeof(ours));
    kms_ctx_free(ctx);

    rc = ngx_http_s3_kms_probe_redis(cycle->log, &mcf->redis, fp, sizeof(fp),
                                     aof, sizeof(aof), fsync, sizeof(fsync));

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "s3_kms: Redis %V:%d is not reachable now; key and "
                      "object operations answer 503 until it is",
                      &mcf->redis.host, (int) mcf->redis.port);
        return;
    }

    if (fp[0] != '\0' && ngx_strcmp(fp, ours) != 0) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "s3_kms_root_key_file: the key store in Redis %V:%d "
                      "belongs to another root key (fingerprint %s there, "
                      "%s for \"%V\"); no key or object operation will be "
                      "served", &mcf->redis.host, (int) mcf->redis.port,
                      fp, ours, &mcf->root_key_file);
    }

    if (aof[0] != '\0'
        && (ngx_strcmp(aof, "yes") != 0 || ngx_strcmp(fsync, "always") != 0))
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "s3_kms: Redis %V:%d runs with appendonly %s, "
                      "appendfsync %s: key changes are not durable when "
                      "they are answered; set appendonly yes and "
                      "appendfsync always", &mcf->redis.host,
                      (int) mcf->redis.port, aof, fsync);
    }
}
