
/*
 * The gateway's connection to the S3 backend, on nginx's upstream
 * machinery (so upstream{} blocks, keepalive, TLS and timeouts work as
 * for proxy_pass):
 *
 *   - the request to the backend, built and re-signed with the backend's
 *     own key (SigV4, UNSIGNED-PAYLOAD); the client's signature, framing
 *     and plaintext checksums never reach it;
 *   - the response: status line and headers parsed, internal metadata and
 *     the backend's checksums (of ciphertext) kept from the client, the
 *     headers the gateway decides added;
 *   - the response body: relayed (Content-Length or chunked), decrypted
 *     frame by frame (GetObject; a frame's plaintext goes out only after
 *     its tag verified), or kept (the probe subrequest);
 *   - the request body filter that decodes the client's body (aws-chunked,
 *     checks) and encrypts it, with a bounded set of output buffers: when
 *     they are all in flight to the backend, input is left unconsumed and
 *     nginx stops reading from the client.  The final frame is released
 *     only after every check on the body passed; a failure ends the
 *     request before the backend got Content-Length bytes, so it stores
 *     nothing.
 */


#include "ngx_http_s3_kms_gateway.h"


static ngx_int_t ngx_http_s3_kms_be_create_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_be_reinit_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_be_status_line(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_be_process_header(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_be_first_frame(ngx_http_request_t *r);
static ngx_buf_t *ngx_http_s3_kms_be_frame_buf(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, size_t unit);
static void ngx_http_s3_kms_be_abort_request(ngx_http_request_t *r);
static void ngx_http_s3_kms_be_finalize_request(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_s3_kms_be_keep_header(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_table_elt_t *h);
static ngx_int_t ngx_http_s3_kms_be_filter_init(void *data);
static ngx_int_t ngx_http_s3_kms_be_pass_filter(void *data, ssize_t bytes);
static ngx_int_t ngx_http_s3_kms_be_chunked_filter(void *data,
    ssize_t bytes);
static ngx_int_t ngx_http_s3_kms_be_decrypt_filter(void *data,
    ssize_t bytes);
static ngx_int_t ngx_http_s3_kms_be_probe_filter(void *data, ssize_t bytes);
static ngx_int_t ngx_http_s3_kms_be_list_filter(void *data, ssize_t bytes);
static ngx_int_t ngx_http_s3_kms_be_list_add(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char *p, size_t n);
static ngx_int_t ngx_http_s3_kms_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_s3_kms_body_run(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_chain_t **out);
static ngx_buf_t *ngx_http_s3_kms_body_obuf(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx);
static ngx_int_t ngx_http_s3_kms_body_fail(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, s3_err_t err);
static ngx_int_t ngx_http_s3_kms_body_md5(ngx_http_s3_kms_gw_ctx_t *ctx);


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


/* never passed to the client as the backend sent them */
static ngx_str_t  ngx_http_s3_kms_hide_headers[] = {
    ngx_string("Date"),
    ngx_string("Server"),
    ngx_string("X-Pad"),
    ngx_string("X-Accel-Expires"),
    ngx_string("X-Accel-Redirect"),
    ngx_string("X-Accel-Limit-Rate"),
    ngx_string("X-Accel-Buffering"),
    ngx_string("X-Accel-Charset"),
    ngx_string("x-amz-request-id"),    /* the gateway's own go out */
    ngx_string("x-amz-id-2"),
    ngx_string("x-amzn-RequestId"),
    ngx_null_string
};


/* ---- configuration ------------------------------------------------------------ */

void
ngx_http_s3_kms_backend_create_conf(ngx_http_s3_kms_loc_conf_t *lcf)
{
    lcf->gateway = NGX_CONF_UNSET;
    lcf->ssl_verify = NGX_CONF_UNSET;
    lcf->frame_log2 = NGX_CONF_UNSET_UINT;
    lcf->out_buffer = NGX_CONF_UNSET_SIZE;
    lcf->out_buffers = NGX_CONF_UNSET_UINT;

    lcf->upstream.local = NGX_CONF_UNSET_PTR;
    lcf->upstream.socket_keepalive = NGX_CONF_UNSET;
    lcf->upstream.next_upstream_tries = NGX_CONF_UNSET_UINT;
    lcf->upstream.connect_timeout = NGX_CONF_UNSET_MSEC;
    lcf->upstream.send_timeout = NGX_CONF_UNSET_MSEC;
    lcf->upstream.read_timeout = NGX_CONF_UNSET_MSEC;
    lcf->upstream.next_upstream_timeout = NGX_CONF_UNSET_MSEC;
    lcf->upstream.buffer_size = NGX_CONF_UNSET_SIZE;

    /* the hardcoded values: no buffering, no caching, no temp files */
    lcf->upstream.buffering = 0;
    lcf->upstream.request_buffering = 0;
    lcf->upstream.cyclic_temp_file = 0;
    lcf->upstream.ignore_client_abort = 0;
    lcf->upstream.send_lowat = 0;
    lcf->upstream.bufs.num = 0;
    lcf->upstream.busy_buffers_size = 0;
    lcf->upstream.max_temp_file_size = 0;
    lcf->upstream.temp_file_write_size = 0;
    lcf->upstream.intercept_errors = 0;
    lcf->upstream.intercept_404 = 0;
    lcf->upstream.pass_request_headers = 0;
    lcf->upstream.pass_request_body = 0;
    lcf->upstream.force_ranges = 0;
    lcf->upstream.pass_trailers = 0;
    lcf->upstream.hide_headers = NGX_CONF_UNSET_PTR;
    lcf->upstream.pass_headers = NGX_CONF_UNSET_PTR;

#if (NGX_HTTP_SSL)
    lcf->upstream.ssl_session_reuse = NGX_CONF_UNSET;
    lcf->upstream.ssl_server_name = NGX_CONF_UNSET;
    lcf->upstream.ssl_verify = NGX_CONF_UNSET;
    lcf->upstream.ssl_name = NULL;
    lcf->upstream.ssl_certificate = NULL;
    lcf->upstream.ssl_certificate_key = NULL;
    lcf->upstream.ssl_passwords = NULL;
#endif
}


char *
ngx_http_s3_kms_backend_merge_conf(ngx_conf_t *cf,
    ngx_http_s3_kms_loc_conf_t *prev, ngx_http_s3_kms_loc_conf_t *conf)
{
    ngx_hash_init_t  hash;

    ngx_conf_merge_value(conf->gateway, prev->gateway, 0);
    ngx_conf_merge_value(conf->ssl_verify, prev->ssl_verify, 1);
    ngx_conf_merge_str_value(conf->ssl_trusted_certificate,
                             prev->ssl_trusted_certificate, "");
    ngx_conf_merge_uint_value(conf->frame_log2, prev->frame_log2,
                              S3_OBJFMT_LOG2F_DEFAULT);
    ngx_conf_merge_size_value(conf->out_buffer, prev->out_buffer,
                              64 * 1024);
    ngx_conf_merge_uint_value(conf->out_buffers, prev->out_buffers, 4);

    if (conf->vhosts == NULL) {
        conf->vhosts = prev->vhosts;
    }

    ngx_conf_merge_ptr_value(conf->upstream.local, prev->upstream.local,
                             NULL);
    ngx_conf_merge_value(conf->upstream.socket_keepalive,
                         prev->upstream.socket_keepalive, 0);
    ngx_conf_merge_uint_value(conf->upstream.next_upstream_tries,
                              prev->upstream.next_upstream_tries, 0);
    ngx_conf_merge_msec_value(conf->upstream.connect_timeout,
                              prev->upstream.connect_timeout, 10000);
    ngx_conf_merge_msec_value(conf->upstream.send_timeout,
                              prev->upstream.send_timeout, 60000);
    ngx_conf_merge_msec_value(conf->upstream.read_timeout,
                              prev->upstream.read_timeout, 60000);
    ngx_conf_merge_msec_value(conf->upstream.next_upstream_timeout,
                              prev->upstream.next_upstream_timeout, 0);
    /*
     * 256k: a GET reads several frames per system call and sends them in
     * one write (a quarter of the calls 64k makes: bench/s3-notes.md)
     */
    ngx_conf_merge_size_value(conf->upstream.buffer_size,
                              prev->upstream.buffer_size, 256 * 1024);

    /* a request body cannot be sent twice: never retry another server */
    conf->upstream.next_upstream = NGX_CONF_BITMASK_SET
                                   |NGX_HTTP_UPSTREAM_FT_OFF;

    if (conf->upstream.upstream == NULL) {
        conf->upstream.upstream = prev->upstream.upstream;
        conf->backend_url = prev->backend_url;
        conf->backend_host = prev->backend_host;
        conf->backend_akid = prev->backend_akid;
        conf->backend_secret = prev->backend_secret;
        conf->backend_region = prev->backend_region;
        conf->backend_ssl = prev->backend_ssl;
    }

    hash.max_size = 512;
    hash.bucket_size = ngx_align(64, ngx_cacheline_size);
    hash.name = "s3_kms_backend_hide_headers_hash";

    if (ngx_http_upstream_hide_headers_hash(cf, &conf->upstream,
                                            &prev->upstream,
                                            ngx_http_s3_kms_hide_headers,
                                            &hash)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

#if (NGX_HTTP_SSL)

    ngx_conf_merge_value(conf->upstream.ssl_session_reuse,
                         prev->upstream.ssl_session_reuse, 1);
    ngx_conf_merge_value(conf->upstream.ssl_server_name,
                         prev->upstream.ssl_server_name, 1);
    conf->upstream.ssl_verify = conf->ssl_verify;

    if (conf->backend_ssl && conf->upstream.ssl == NULL) {
        ngx_pool_cleanup_t  *cln;

        conf->upstream.ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (conf->upstream.ssl == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->upstream.ssl->log = cf->log;

        if (ngx_ssl_create(conf->upstream.ssl,
                           NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_ssl_cleanup_ctx(conf->upstream.ssl);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_ssl_cleanup_ctx;
        cln->data = conf->upstream.ssl;

        if (conf->ssl_verify) {
            if (conf->ssl_trusted_certificate.len == 0) {
                ngx_str_set(&conf->ssl_trusted_certificate,
                            "/etc/ssl/certs/ca-certificates.crt");
            }

            if (ngx_ssl_trusted_certificate(cf, conf->upstream.ssl,
                                            &conf->ssl_trusted_certificate,
                                            4)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
        }
    }

#endif

    if (conf->gateway && conf->upstream.upstream == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"s3_kms_gateway\" needs \"s3_kms_backend\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * s3_kms_backend URL ACCESS_KEY_ID SECRET [region=REGION];
 *
 * URL is http:// or https:// with a host (or the name of an upstream{}
 * block) and an optional port; the Host header and the signature use its
 * host[:port] as written.
 */

char *
ngx_http_s3_kms_backend(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_kms_loc_conf_t  *lcf = conf;

    size_t       add;
    ngx_url_t    u;
    ngx_str_t   *value, url;
    ngx_uint_t   i;

    if (lcf->upstream.upstream) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = value[1];

    if (ngx_strncasecmp(url.data, (u_char *) "http://", 7) == 0) {
        add = 7;
        lcf->backend_ssl = 0;

    } else if (ngx_strncasecmp(url.data, (u_char *) "https://", 8) == 0) {
#if (NGX_HTTP_SSL)
        add = 8;
        lcf->backend_ssl = 1;
#else
        return "needs the SSL module for https";
#endif

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL prefix in \"%V\"", &url);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url.len = url.len - add;
    u.url.data = url.data + add;
    u.default_port = lcf->backend_ssl ? 443 : 80;
    u.uri_part = 1;
    u.no_resolve = 1;

    if (u.url.len && u.url.data[u.url.len - 1] == '/') {
        u.url.len--;
    }

    lcf->upstream.upstream = ngx_http_upstream_add(cf, &u, 0);
    if (lcf->upstream.upstream == NULL) {
        return NGX_CONF_ERROR;
    }

    if (u.uri.len && !(u.uri.len == 1 && u.uri.data[0] == '/')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a URI part in \"%V\" is not supported: buckets "
                           "are addressed path-style from the root", &url);
        return NGX_CONF_ERROR;
    }

    lcf->backend_url = url;
    lcf->backend_host.data = u.url.data;
    lcf->backend_host.len = u.url.len - u.uri.len;
    lcf->backend_akid = value[2];
    lcf->backend_secret = value[3];
    ngx_str_set(&lcf->backend_region, "us-east-1");

    for (i = 4; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "region=", 7) == 0
            && value[i].len > 7)
        {
            lcf->backend_region.data = value[i].data + 7;
            lcf->backend_region.len = value[i].len - 7;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (lcf->backend_akid.len == 0 || lcf->backend_secret.len == 0) {
        return "needs the backend's access key id and secret";
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_s3_kms_be_init_filters(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_s3_kms_body_filter;

    return NGX_OK;
}


/* ---- starting the backend request -------------------------------------------- */

ngx_int_t
ngx_http_s3_kms_be_header(ngx_http_s3_kms_gw_ctx_t *ctx, const char *name,
    const u_char *value, size_t len)
{
    ngx_keyval_t  *kv;

    kv = ngx_array_push(&ctx->be_headers);
    if (kv == NULL) {
        return NGX_ERROR;
    }

    kv->key.data = (u_char *) name;
    kv->key.len = ngx_strlen(name);
    kv->value.data = (u_char *) value;
    kv->value.len = len;

    return NGX_OK;
}


/*
 * Creates the upstream and starts it: with the request body read through
 * the body filter (PUT, and requests whose body passes), or at once.
 * Returns what the content handler returns (NGX_DONE, or an error status
 * when nothing was started).
 */

ngx_int_t
ngx_http_s3_kms_be_start(ngx_http_request_t *r, ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_int_t                    rc;
    ngx_http_upstream_t         *u;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    if (ngx_http_upstream_create(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = r->upstream;

    if (lcf->backend_ssl) {
        ngx_str_set(&u->schema, "https://");
#if (NGX_HTTP_SSL)
        u->ssl = 1;
        u->ssl_name = lcf->backend_host;
#endif

    } else {
        ngx_str_set(&u->schema, "http://");
    }

    u->output.tag = (ngx_buf_tag_t) &ngx_http_s3_kms_module;
    u->conf = &lcf->upstream;

    u->create_request = ngx_http_s3_kms_be_create_request;
    u->reinit_request = ngx_http_s3_kms_be_reinit_request;
    u->process_header = ngx_http_s3_kms_be_status_line;
    u->abort_request = ngx_http_s3_kms_be_abort_request;
    u->finalize_request = ngx_http_s3_kms_be_finalize_request;

    u->input_filter_init = ngx_http_s3_kms_be_filter_init;
    u->input_filter = ngx_http_s3_kms_be_pass_filter;
    u->input_filter_ctx = r;

    u->buffering = 0;

    if (ctx->be_body) {

        /* a body read into memory already: it goes with the request */

        r->main->count++;
        ngx_http_upstream_init(r);

        return NGX_DONE;
    }

    if (ctx->copy && ctx->mode == NGX_HTTP_S3_KMS_BE_PUT) {
        /* a copy's body: pumped from its source (copy.c) */
        return ngx_http_s3_kms_copy_be_start(r, ctx);
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_PUT) {

        /* the body streams through ngx_http_s3_kms_body_filter */

        r->request_body_no_buffering = 1;

        rc = ngx_http_read_client_request_body(r, ngx_http_upstream_init);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    r->main->count++;

    ngx_http_upstream_init(r);

    return NGX_DONE;
}


/* ---- the request to the backend --------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_be_create_request(ngx_http_request_t *r)
{
    size_t                       len, n;
    u_char                       date[17], lenbuf[NGX_OFF_T_LEN];
    u_char                       key[32], *p;
    char                         auth[512];
    size_t                       authlen;
    ngx_buf_t                   *b;
    ngx_uint_t                   i;
    ngx_chain_t                 *cl, *body;
    ngx_keyval_t                *kv;
    s3_header_t                 *sh;
    s3_sigv4_sign_t              sign;
    ngx_http_s3_kms_gw_ctx_t    *ctx;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    s3_sigv4_format_date(ngx_time(), (char *) date);

    if (ngx_http_s3_kms_be_header(ctx, "x-amz-date", date, 16) != NGX_OK
        || ngx_http_s3_kms_be_header(ctx, "x-amz-content-sha256",
                                     (u_char *) (ctx->be_length > 0
                                                 ? S3_SIGV4_UNSIGNED_PAYLOAD
                                                 : S3_SIGV4_EMPTY_SHA256),
                                     ctx->be_length > 0 ? 16 : 64)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->be_length >= 0
        && (ctx->be_length > 0 || ctx->be_method.len != 3
            || ngx_strncmp(ctx->be_method.data, "GET", 3) != 0))
    {
        n = ngx_sprintf(lenbuf, "%O", ctx->be_length) - lenbuf;
        p = ngx_pnalloc(r->pool, n);
        if (p == NULL) {
            return NGX_ERROR;
        }
        ngx_memcpy(p, lenbuf, n);

        if (ngx_http_s3_kms_be_header(ctx, "content-length", p, n)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* sign host and every header sent */

    sh = ngx_palloc(r->pool, (ctx->be_headers.nelts + 1)
                             * sizeof(s3_header_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh[0].name.data = (u_char *) "host";
    sh[0].name.len = 4;
    sh[0].value.data = lcf->backend_host.data;
    sh[0].value.len = lcf->backend_host.len;

    kv = ctx->be_headers.elts;

    for (i = 0; i < ctx->be_headers.nelts; i++) {
        sh[i + 1].name.data = kv[i].key.data;
        sh[i + 1].name.len = kv[i].key.len;
        sh[i + 1].value.data = kv[i].value.data;
        sh[i + 1].value.len = kv[i].value.len;
    }

    ngx_memzero(&sign, sizeof(s3_sigv4_sign_t));
    sign.req.method.data = ctx->be_method.data;
    sign.req.method.len = ctx->be_method.len;
    sign.req.path.data = ctx->be_path.data;
    sign.req.path.len = ctx->be_path.len;
    sign.req.query.data = ctx->be_query.data;
    sign.req.query.len = ctx->be_query.len;
    sign.req.headers = sh;
    sign.req.nheaders = ctx->be_headers.nelts + 1;
    sign.payload_hash.data = (u_char *) (ctx->be_length > 0
                                         ? S3_SIGV4_UNSIGNED_PAYLOAD
                                         : S3_SIGV4_EMPTY_SHA256);
    sign.payload_hash.len = ctx->be_length > 0 ? 16 : 64;
    sign.amz_date.data = date;
    sign.amz_date.len = 16;
    sign.access_key.data = lcf->backend_akid.data;
    sign.access_key.len = lcf->backend_akid.len;
    sign.region.data = lcf->backend_region.data;
    sign.region.len = lcf->backend_region.len;
    sign.service.data = (u_char *) "s3";
    sign.service.len = 2;
    sign.s3 = 1;

    {
        s3_str_t  d, rg, sv;

        d.data = date;
        d.len = 8;
        rg = sign.region;
        sv = sign.service;

        if (s3_sigv4_signing_key(lcf->backend_secret.data,
                                 lcf->backend_secret.len, d, rg, sv, key)
            != S3_OK
            || s3_sigv4_sign(&sign, key, auth, sizeof(auth), &authlen, NULL)
               != S3_OK)
        {
            kms_wipe(key, sizeof(key));
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: signing the backend request failed");
            return NGX_ERROR;
        }

        kms_wipe(key, sizeof(key));
    }

    /* the request line and the headers */

    len = ctx->be_method.len + 1 + ctx->be_path.len + 1 + ctx->be_query.len
          + sizeof(" HTTP/1.1\r\n") - 1
          + sizeof("Host: \r\n") - 1 + lcf->backend_host.len
          + sizeof("Authorization: \r\n") - 1 + authlen
          + sizeof("\r\n") - 1;

    for (i = 0; i < ctx->be_headers.nelts; i++) {
        len += kv[i].key.len + 2 + kv[i].value.len + 2;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->last;
    p = ngx_cpymem(p, ctx->be_method.data, ctx->be_method.len);
    *p++ = ' ';
    p = ngx_cpymem(p, ctx->be_path.data, ctx->be_path.len);

    if (ctx->be_query.len) {
        *p++ = '?';
        p = ngx_cpymem(p, ctx->be_query.data, ctx->be_query.len);
    }

    p = ngx_cpymem(p, " HTTP/1.1\r\nHost: ", sizeof(" HTTP/1.1\r\nHost: ") - 1);
    p = ngx_cpymem(p, lcf->backend_host.data, lcf->backend_host.len);
    p = ngx_cpymem(p, "\r\nAuthorization: ", sizeof("\r\nAuthorization: ") - 1);
    p = ngx_cpymem(p, auth, authlen);
    *p++ = '\r';
    *p++ = '\n';

    for (i = 0; i < ctx->be_headers.nelts; i++) {
        p = ngx_cpymem(p, kv[i].key.data, kv[i].key.len);
        *p++ = ':';
        *p++ = ' ';
        p = ngx_cpymem(p, kv[i].value.data, kv[i].value.len);
        *p++ = '\r';
        *p++ = '\n';
    }

    *p++ = '\r';
    *p++ = '\n';
    b->last = p;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    /*
     * The body follows the headers: a body read in memory, or, when
     * nginx read the whole body before the upstream started (it was in
     * the header buffer, so nginx dropped request_body_no_buffering), what
     * the body filter made of it.  Streamed bodies are appended by the
     * upstream itself as they come.
     */

    if (ctx->be_body) {
        body = ngx_alloc_chain_link(r->pool);
        if (body == NULL) {
            return NGX_ERROR;
        }

        body->buf = ctx->be_body;
        body->next = NULL;
        cl->next = body;

    } else if (!r->request_body_no_buffering) {
        cl->next = r->upstream->request_bufs;
    }

    r->upstream->request_bufs = cl;

    /* the backend's length is what we send, not what the client sent */

    r->upstream->request_sent = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "s3_kms backend request: \"%V %V\"", &ctx->be_method,
                   &ctx->be_path);

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_be_reinit_request(ngx_http_request_t *r)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    ctx->status.code = 0;
    ctx->status.count = 0;
    ctx->status.start = NULL;
    ctx->status.end = NULL;

    r->upstream->process_header = ngx_http_s3_kms_be_status_line;

    return NGX_OK;
}


/* ---- the response's status line and headers ------------------------------------ */

static ngx_int_t
ngx_http_s3_kms_be_status_line(ngx_http_request_t *r)
{
    size_t                     len;
    ngx_int_t                  rc;
    ngx_http_upstream_t       *u;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;

    rc = ngx_http_parse_status_line(r, &u->buffer, &ctx->status);

    if (rc == NGX_AGAIN) {
        return rc;
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: the backend sent no valid HTTP/1.x status");
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (u->state && u->state->status == 0) {
        u->state->status = ctx->status.code;
    }

    u->headers_in.status_n = ctx->status.code;

    len = ctx->status.end - ctx->status.start;
    u->headers_in.status_line.len = len;
    u->headers_in.status_line.data = ngx_pnalloc(r->pool, len);
    if (u->headers_in.status_line.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(u->headers_in.status_line.data, ctx->status.start, len);

    if (ctx->status.http_version < NGX_HTTP_VERSION_11) {
        u->headers_in.connection_close = 1;
    }

    u->process_header = ngx_http_s3_kms_be_process_header;

    return ngx_http_s3_kms_be_process_header(r);
}


static ngx_int_t
ngx_http_s3_kms_be_process_header(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_table_elt_t                *h, tmp;
    ngx_http_upstream_t            *u;
    ngx_http_upstream_header_t     *hh;
    ngx_http_s3_kms_gw_ctx_t       *ctx;
    ngx_http_upstream_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_upstream_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;

    for ( ;; ) {

        rc = ngx_http_parse_header_line(r, &u->buffer, 1);

        if (rc == NGX_OK) {

            tmp.hash = r->header_hash;
            tmp.key.len = r->header_name_end - r->header_name_start;
            tmp.value.len = r->header_end - r->header_start;

            tmp.key.data = ngx_pnalloc(r->pool, tmp.key.len + 1
                                                + tmp.value.len + 1
                                                + tmp.key.len);
            if (tmp.key.data == NULL) {
                return NGX_ERROR;
            }

            tmp.value.data = tmp.key.data + tmp.key.len + 1;
            tmp.lowcase_key = tmp.key.data + tmp.key.len + 1
                              + tmp.value.len + 1;

            ngx_memcpy(tmp.key.data, r->header_name_start, tmp.key.len);
            tmp.key.data[tmp.key.len] = '\0';
            ngx_memcpy(tmp.value.data, r->header_start, tmp.value.len);
            tmp.value.data[tmp.value.len] = '\0';

            if (tmp.key.len == r->lowcase_index) {
                ngx_memcpy(tmp.lowcase_key, r->lowcase_header, tmp.key.len);

            } else {
                ngx_strlow(tmp.lowcase_key, tmp.key.data, tmp.key.len);
            }

            rc = ngx_http_s3_kms_be_keep_header(r, ctx, &tmp);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_DECLINED) {
                continue;           /* captured or dropped */
            }

            h = ngx_list_push(&u->headers_in.headers);
            if (h == NULL) {
                return NGX_ERROR;
            }

            *h = tmp;

            hh = ngx_hash_find(&umcf->headers_in_hash, h->hash,
                               h->lowcase_key, h->key.len);

            if (hh && hh->handler(r, h, hh->offset) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {

            if (u->headers_in.chunked) {
                u->headers_in.content_length_n = -1;
            }

            ctx->obj.stored = u->headers_in.content_length_n;

            /* the gateway adds its headers and decides the status */

            rc = ngx_http_s3_kms_gw_response_headers(r, ctx);

            if (rc != NGX_OK) {
                return rc;
            }

            /* the backend's own status says whether a body follows */

            if (ctx->status.code == NGX_HTTP_NO_CONTENT
                || ctx->status.code == NGX_HTTP_NOT_MODIFIED
                || (ctx->be_method.len == 4
                    && ngx_strncmp(ctx->be_method.data, "HEAD", 4) == 0)
                || (!u->headers_in.chunked && ctx->obj.stored == 0))
            {
                u->keepalive = !u->headers_in.connection_close;
            }

            if (ctx->dec && !u->headers_in.chunked
                && (u->headers_in.status_n == NGX_HTTP_OK
                    || u->headers_in.status_n == NGX_HTTP_PARTIAL_CONTENT))
            {
                /* the answer's headers wait for the first frame */

                u->process_header = ngx_http_s3_kms_be_first_frame;
                return ngx_http_s3_kms_be_first_frame(r);
            }

            return NGX_OK;
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: the backend sent an invalid header");

        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }
}


/*
 * GetObject: the stored bytes up to the first frame with plaintext in the
 * range are read and that frame authenticated before the answer's headers
 * go out, so a failure there (a damaged object, a wrong key) still gets
 * S3's XML error instead of a 200 cut short.  The frame's plaintext waits
 * in u->out_bufs; ctx->obj.stored becomes what is left to read.
 */

static ngx_int_t
ngx_http_s3_kms_be_first_frame(ngx_http_request_t *r)
{
    size_t                      unit, n, pos, plen;
    ngx_buf_t                  *b, *f;
    ngx_chain_t                *cl;
    s3_objfmt_rc_t              rc;
    ngx_http_upstream_t        *u;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;
    b = &u->buffer;

    for ( ;; ) {

        unit = s3_objfmt_dec_unit_len(ctx->dec);

        if (unit == 0 && ctx->mpu) {

            /* a multipart object: the range goes on in the next part */

            switch (ngx_http_s3_kms_mpu_next(r, ctx)) {
            case NGX_OK:
                continue;
            case NGX_DONE:
                break;
            default:
                goto failed;
            }
        }

        if (unit == 0) {
            break;                  /* the range holds no plaintext */
        }

        if (ctx->obj.stored == 0) {
            ctx->error.reason = "the stored object ended early";
            goto failed;
        }

        f = ngx_http_s3_kms_be_frame_buf(r, ctx, unit);
        if (f == NULL) {
            return NGX_ERROR;
        }

        n = ngx_min(unit, (size_t) (b->last - b->pos));

        if (ctx->obj.stored > 0) {
            n = ngx_min(n, (size_t) ctx->obj.stored);
        }

        rc = s3_objfmt_dec_unit_feed(ctx->dec, b->pos, n, f->start, &pos,
                                     &plen);
        b->pos += n;

        if (ctx->obj.stored > 0) {
            ctx->obj.stored -= n;
        }

        if (rc == S3_OBJFMT_AGAIN) {
            /* all of the buffer is ours: room for the next read */
            b->pos = b->start;
            b->last = b->start;
            return NGX_AGAIN;
        }

        if (rc != S3_OBJFMT_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: %V/%V: %s; nothing sent",
                          &ctx->bucket, &ctx->key, s3_objfmt_strerror(rc));
            ctx->error.reason = s3_objfmt_strerror(rc);
            goto failed;
        }

        if (plen == 0) {
            continue;               /* the header */
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        f->pos = f->start + pos;
        f->last = f->pos + plen;
        f->memory = 1;
        f->flush = 1;
        f->tag = u->output.tag;

        cl->buf = f;
        cl->next = NULL;
        u->out_bufs = cl;
        ctx->frame = NULL;

        break;
    }

    if (ctx->obj.stored == 0) {
        u->keepalive = !u->headers_in.connection_close;
    }

    return NGX_OK;

failed:

    ctx->error.err = S3_ERR_INTERNAL;
    ctx->error.message = "The object cannot be decrypted.";

    return NGX_ERROR;
}


/* the buffer a stored frame is decrypted into: one of ours, reused */

static ngx_buf_t *
ngx_http_s3_kms_be_frame_buf(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, size_t unit)
{
    size_t                size;
    ngx_chain_t          *cl;
    ngx_http_upstream_t  *u;

    if (ctx->frame != NULL) {
        return ctx->frame;
    }

    u = r->upstream;

    cl = ngx_chain_get_free_buf(r->pool, &u->free_bufs);
    if (cl == NULL) {
        return NULL;
    }

    ctx->frame = cl->buf;
    ngx_free_chain(r->pool, cl);

    if (ctx->frame->start == NULL
        || (size_t) (ctx->frame->end - ctx->frame->start) < unit)
    {
        /* a whole frame: F + 16, 64 KiB + 16 by default */

        size = ngx_max(unit, 65536 + 16);

        ctx->frame->start = ngx_palloc(r->pool, size);
        if (ctx->frame->start == NULL) {
            return NULL;
        }

        ctx->frame->end = ctx->frame->start + size;
    }

    ctx->frame->pos = ctx->frame->start;
    ctx->frame->last = ctx->frame->start;

    return ctx->frame;
}


#define ngx_http_s3_kms_is(h, lit)                                           \
    ((h)->key.len == sizeof(lit) - 1                                          \
     && ngx_strncmp((h)->lowcase_key, lit, sizeof(lit) - 1) == 0)

#define ngx_http_s3_kms_starts(h, lit)                                       \
    ((h)->key.len >= sizeof(lit) - 1                                          \
     && ngx_strncmp((h)->lowcase_key, lit, sizeof(lit) - 1) == 0)


/*
 * NGX_OK: pass the header on; NGX_DECLINED: captured into ctx->obj or
 * dropped.  Internal metadata never reaches the client; for an object the
 * gateway encrypts or decrypts, neither do the backend's checksums,
 * lengths, ranges and encryption headers (they describe ciphertext).
 */

static ngx_int_t
ngx_http_s3_kms_be_keep_header(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_table_elt_t *h)
{
    ngx_http_s3_kms_obj_t  *o = &ctx->obj;

    if (ngx_http_s3_kms_is(h, "etag")) {
        o->etag = h->value;
        return ctx->mode == NGX_HTTP_S3_KMS_BE_PROBE ? NGX_DECLINED : NGX_OK;
    }

    if (ngx_http_s3_kms_starts(h, "x-amz-meta-ssek-")) {
        u_char  *f = h->lowcase_key + sizeof("x-amz-meta-ssek-") - 1;
        size_t   n = h->key.len - (sizeof("x-amz-meta-ssek-") - 1);

        if (n == 1 && f[0] == 'v') {
            o->encrypted = (h->value.len == 1 && h->value.data[0] == '1');

        } else if (n == 3 && ngx_strncmp(f, "alg", 3) == 0) {
            o->alg = h->value;

        } else if (n == 3 && ngx_strncmp(f, "key", 3) == 0) {
            o->key_arn = h->value;

        } else if (n == 3 && ngx_strncmp(f, "dek", 3) == 0) {
            o->dek = h->value;

        } else if (n == 3 && ngx_strncmp(f, "ctx", 3) == 0) {
            o->ctx = h->value;

        } else if (n == 3 && ngx_strncmp(f, "len", 3) == 0) {
            o->len = ngx_atoof(h->value.data, h->value.len);

        } else if (n == 2 && ngx_strncmp(f, "bk", 2) == 0) {
            o->bk = h->value;
        }

        return NGX_DECLINED;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_PASS) {
        return NGX_OK;
    }

    if (ngx_http_s3_kms_is(h, "content-range")) {

        /* the probe: the object's whole stored size, after the '/' */

        u_char  *slash;

        slash = ngx_strlchr(h->value.data, h->value.data + h->value.len, '/');

        if ((ctx->mode == NGX_HTTP_S3_KMS_BE_PROBE
             || ctx->mode == NGX_HTTP_S3_KMS_BE_COPY_SRC)
            && slash != NULL)
        {
            o->total = ngx_atoof(slash + 1,
                                 h->value.data + h->value.len - slash - 1);
        }

        return NGX_DECLINED;
    }

    if (ngx_http_s3_kms_is(h, "content-length")) {
        /* the stored length: the upstream needs it, the client not */
        h->hash = 1;
        o->stored = ngx_atoof(h->value.data, h->value.len);
        r->upstream->headers_in.content_length_n = o->stored;
        return NGX_DECLINED;
    }

    if (ngx_http_s3_kms_starts(h, "x-amz-checksum-")
        || ngx_http_s3_kms_starts(h, "x-amz-server-side-encryption")
        || ngx_http_s3_kms_is(h, "x-amz-mp-parts-count"))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_s3_kms_be_abort_request(ngx_http_request_t *r)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "s3_kms: abort backend request");
}


static void
ngx_http_s3_kms_be_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "s3_kms: finalize backend request %i", rc);

    if (ctx == NULL) {
        return;
    }

    if (ctx->copy && ctx->mode == NGX_HTTP_S3_KMS_BE_PUT) {
        ngx_http_s3_kms_copy_finalize(r, ctx, rc);
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_PUT && rc == 0
        && r->upstream->headers_in.status_n >= 200
        && r->upstream->headers_in.status_n < 300)
    {
        ngx_http_s3_kms_gw_put_done(r, ctx);
    }

    /*
     * A client that stopped sending its body: nginx closes such a
     * connection without an answer; S3 answers RequestTimeout first.
     */

    if (rc == NGX_HTTP_REQUEST_TIME_OUT && !r->header_sent
        && !r->connection->error)
    {
        ctx->error.err = S3_ERR_REQUEST_TIMEOUT;
        ctx->error.reason = "the client stopped sending its body";
        r->keepalive = 0;
        (void) ngx_http_s3_kms_gw_send_error(r, ctx);
        return;
    }

    /* nginx's own error statuses become S3 errors (the error filter) */

    if (rc == NGX_HTTP_BAD_GATEWAY || rc == NGX_HTTP_GATEWAY_TIME_OUT) {
        if (ctx->error.err == S3_OK) {
            ctx->error.err = S3_ERR_SERVICE_UNAVAILABLE;
            ctx->error.reason = "the backend did not answer";
        }
    }
}


/* ---- the response body -------------------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_be_filter_init(void *data)
{
    ngx_http_request_t        *r = data;
    ngx_http_upstream_t       *u;
    ngx_http_s3_kms_gw_ctx_t  *ctx;

    u = r->upstream;
    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    /*
     * The backend's own status says whether a body follows (the status
     * the client gets may differ: a 204 to a PUT is answered 200).
     */

    if (ctx->status.code == NGX_HTTP_NO_CONTENT
        || ctx->status.code == NGX_HTTP_NOT_MODIFIED
        || (ctx->be_method.len == 4
            && ngx_strncmp(ctx->be_method.data, "HEAD", 4) == 0))
    {
        u->length = 0;
        u->keepalive = !u->headers_in.connection_close;
        return NGX_OK;
    }

    if (ctx->copy && (ctx->mode == NGX_HTTP_S3_KMS_BE_COPY_SRC
                      || ctx->mode == NGX_HTTP_S3_KMS_BE_PUT)
        && ngx_http_s3_kms_copy_filter_init(r, ctx) == NGX_OK)
    {
        return NGX_OK;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_LIST) {
        u->input_filter = ngx_http_s3_kms_be_list_filter;
        u->length = u->headers_in.chunked ? 1 : ctx->obj.stored;

        if (u->length == 0) {
            u->keepalive = !u->headers_in.connection_close;
        }

        return NGX_OK;
    }

    if (u->headers_in.chunked) {
        if (ctx->dec) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: the backend sent an encrypted object "
                          "chunked; a length is needed");
            return NGX_ERROR;
        }

        u->input_filter = ngx_http_s3_kms_be_chunked_filter;
        u->length = 1;
        return NGX_OK;
    }

    if (ctx->mode == NGX_HTTP_S3_KMS_BE_PROBE) {
        u->input_filter = ngx_http_s3_kms_be_probe_filter;

    } else if (ctx->dec) {
        u->input_filter = ngx_http_s3_kms_be_decrypt_filter;
    }

    u->length = ctx->obj.stored;

    if (u->length == 0) {
        u->keepalive = !u->headers_in.connection_close;

        if (ctx->dec && s3_objfmt_dec_end(ctx->dec) != S3_OBJFMT_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: the backend sent an empty body for an "
                          "encrypted object");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* relays the body as it comes (the default non-buffered filter's job) */

static ngx_int_t
ngx_http_s3_kms_be_pass_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t   *r = data;

    ngx_buf_t            *b;
    ngx_chain_t          *cl, **ll;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (u->length == 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: the backend sent more than Content-Length");
        u->keepalive = 0;
        return NGX_OK;
    }

    for (cl = u->out_bufs, ll = &u->out_bufs; cl; cl = cl->next) {
        ll = &cl->next;
    }

    cl = ngx_chain_get_free_buf(r->pool, &u->free_bufs);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    *ll = cl;

    cl->buf->flush = 1;
    cl->buf->memory = 1;

    b = &u->buffer;

    cl->buf->pos = b->last;
    b->last += bytes;
    cl->buf->last = b->last;
    cl->buf->tag = u->output.tag;

    if (u->length == -1) {
        return NGX_OK;
    }

    if (bytes > u->length) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "s3_kms: the backend sent more than Content-Length");
        cl->buf->last = cl->buf->pos + u->length;
        u->length = 0;
        return NGX_OK;
    }

    u->length -= bytes;

    if (u->length == 0) {
        u->keepalive = !u->headers_in.connection_close;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_be_chunked_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t         *r = data;

    ngx_int_t                   rc;
    ngx_buf_t                  *b, *buf;
    ngx_chain_t                *cl, **ll;
    ngx_http_upstream_t        *u;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;
    buf = &u->buffer;

    buf->pos = buf->last;
    buf->last += bytes;

    for (cl = u->out_bufs, ll = &u->out_bufs; cl; cl = cl->next) {
        ll = &cl->next;
    }

    for ( ;; ) {

        rc = ngx_http_parse_chunked(r, buf, &ctx->chunked);

        if (rc == NGX_OK) {

            cl = ngx_chain_get_free_buf(r->pool, &u->free_bufs);
            if (cl == NULL) {
                return NGX_ERROR;
            }

            *ll = cl;
            ll = &cl->next;

            b = cl->buf;
            b->flush = 1;
            b->memory = 1;
            b->pos = buf->pos;
            b->tag = u->output.tag;

            if (buf->last - buf->pos >= ctx->chunked.size) {
                buf->pos += (size_t) ctx->chunked.size;
                b->last = buf->pos;
                ctx->chunked.size = 0;

            } else {
                ctx->chunked.size -= buf->last - buf->pos;
                buf->pos = buf->last;
                b->last = buf->last;
            }

            continue;
        }

        if (rc == NGX_DONE) {
            u->keepalive = !u->headers_in.connection_close;
            u->length = 0;

            if (buf->pos != buf->last) {
                u->keepalive = 0;
            }

            break;
        }

        if (rc == NGX_AGAIN) {
            break;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: the backend sent an invalid chunked body");

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * GetObject: decrypts each stored frame as it arrives, from the
 * upstream's buffer straight into a frame buffer of ours, and only once
 * its tag verified hands its plaintext (trimmed to the range) to the
 * client.  Buffers come back through
 * u->free_bufs once sent; at most a few are in flight, since the upstream
 * stops reading while any is busy and its own buffer is full.
 */

static ngx_int_t
ngx_http_s3_kms_be_decrypt_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t         *r = data;

    u_char                     *p, *last;
    size_t                      n, pos, plen, unit;
    ngx_int_t                   next;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl, **ll;
    s3_objfmt_rc_t              rc;
    ngx_http_upstream_t        *u;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;
    b = &u->buffer;

    p = b->last;
    b->last += bytes;
    last = b->last;

    if (u->length >= 0 && bytes > u->length) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: the backend sent more than Content-Length");
        return NGX_ERROR;
    }

    for (cl = u->out_bufs, ll = &u->out_bufs; cl; cl = cl->next) {
        ll = &cl->next;
    }

    while (p < last) {

        unit = s3_objfmt_dec_unit_len(ctx->dec);

        if (unit == 0 && ctx->mpu) {
            next = ngx_http_s3_kms_mpu_next(r, ctx);

            if (next == NGX_OK) {
                continue;           /* the next part's header follows */
            }

            if (next == NGX_ERROR) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "s3_kms: %V/%V: %s; the response is cut "
                              "short", &ctx->bucket, &ctx->key,
                              ctx->error.reason);
                return NGX_ERROR;
            }
        }

        if (unit == 0) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: %V/%V: data after the last frame",
                          &ctx->bucket, &ctx->key);
            return NGX_ERROR;
        }

        if (ngx_http_s3_kms_be_frame_buf(r, ctx, unit) == NULL) {
            return NGX_ERROR;
        }

        /* decrypted from the upstream's buffer into the frame's */

        n = ngx_min(unit, (size_t) (last - p));

        rc = s3_objfmt_dec_unit_feed(ctx->dec, p, n, ctx->frame->start, &pos,
                                     &plen);
        p += n;

        if (rc == S3_OBJFMT_AGAIN) {
            break;
        }

        if (rc != S3_OBJFMT_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: %V/%V: %s; the response is cut short",
                          &ctx->bucket, &ctx->key, s3_objfmt_strerror(rc));
            return NGX_ERROR;
        }

        if (plen == 0) {
            continue;               /* the header, or nothing in range */
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        ctx->frame->pos = ctx->frame->start + pos;
        ctx->frame->last = ctx->frame->pos + plen;
        ctx->frame->memory = 1;
        ctx->frame->flush = 1;
        ctx->frame->tag = u->output.tag;

        cl->buf = ctx->frame;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;

        ctx->frame = NULL;
    }

    if (u->length >= 0) {
        u->length -= bytes;

        if (u->length == 0) {
            rc = s3_objfmt_dec_end(ctx->dec);

            if (rc == S3_OBJFMT_OK && ctx->mpu
                && ngx_http_s3_kms_mpu_end(r, ctx) != NGX_OK)
            {
                rc = S3_OBJFMT_ERR_TRUNCATED;
            }

            if (rc != S3_OBJFMT_OK) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "s3_kms: %V/%V: %s; the response is cut short",
                              &ctx->bucket, &ctx->key,
                              s3_objfmt_strerror(rc));
                return NGX_ERROR;
            }

            u->keepalive = !u->headers_in.connection_close;
        }
    }

    return NGX_OK;
}


/* the probe: keeps the first bytes of the stored object (its header) */

static ngx_int_t
ngx_http_s3_kms_be_probe_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t         *r = data;

    size_t                      n;
    ngx_buf_t                  *b;
    ngx_http_upstream_t        *u;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;
    b = &u->buffer;

    n = ngx_min((size_t) bytes, S3_OBJFMT_HDR_LEN - ctx->obj.hdr_len);
    ngx_memcpy(ctx->obj.hdr + ctx->obj.hdr_len, b->last, n);
    ctx->obj.hdr_len += n;

    b->last += bytes;

    if (u->length >= 0) {
        u->length -= ngx_min(bytes, u->length);

        if (u->length == 0) {
            u->keepalive = !u->headers_in.connection_close;
        }
    }

    return NGX_OK;
}


/*
 * A listing: the whole document (chunked or not) in a buffer of ours, up
 * to S3_XML_LIST_MAX_LEN; the upstream's buffer is reused for each read.
 */

static ngx_int_t
ngx_http_s3_kms_be_list_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t         *r = data;

    ngx_int_t                   rc;
    ngx_buf_t                   in;
    ngx_http_upstream_t        *u;
    ngx_http_s3_kms_gw_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);
    u = r->upstream;

    if (!u->headers_in.chunked) {
        if (u->length >= 0 && bytes > u->length) {
            bytes = u->length;
        }

        if (ngx_http_s3_kms_be_list_add(r, ctx, u->buffer.last, bytes)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (u->length >= 0) {
            u->length -= bytes;
        }

        return NGX_OK;
    }

    ngx_memzero(&in, sizeof(ngx_buf_t));
    in.pos = u->buffer.last;
    in.last = u->buffer.last + bytes;

    while (in.pos < in.last) {

        rc = ngx_http_parse_chunked(r, &in, &ctx->chunked);

        if (rc == NGX_OK) {
            size_t  n = ngx_min((off_t) (in.last - in.pos),
                                ctx->chunked.size);

            if (ngx_http_s3_kms_be_list_add(r, ctx, in.pos, n) != NGX_OK) {
                return NGX_ERROR;
            }

            in.pos += n;
            ctx->chunked.size -= n;
            continue;
        }

        if (rc == NGX_DONE) {
            u->length = 0;
            break;
        }

        if (rc == NGX_AGAIN) {
            break;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_kms: the backend sent an invalid chunked body");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_be_list_add(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, u_char *p, size_t n)
{
    u_char  *d;
    size_t   cap;

    if (ctx->list_len + n > ctx->list_cap) {

        if (ctx->list_len + n > S3_XML_LIST_MAX_LEN) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "s3_kms: the backend's listing is over %uz bytes",
                          (size_t) S3_XML_LIST_MAX_LEN);
            return NGX_ERROR;
        }

        cap = ngx_max(ctx->list_cap * 2, 64 * 1024);
        cap = ngx_max(cap, ctx->list_len + n);
        cap = ngx_min(cap, (size_t) S3_XML_LIST_MAX_LEN);

        d = ngx_pnalloc(r->pool, cap);
        if (d == NULL) {
            return NGX_ERROR;
        }

        if (ctx->list_len) {
            ngx_memcpy(d, ctx->list_data, ctx->list_len);
        }

        ctx->list_data = d;
        ctx->list_cap = cap;
    }

    ngx_memcpy(ctx->list_data + ctx->list_len, p, n);
    ctx->list_len += n;

    return NGX_OK;
}


/* ---- the request body: decoding, checks, encryption ------------------------------ */

static ngx_int_t
ngx_http_s3_kms_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                    rc;
    ngx_chain_t                 *cl, *tl, *out;
    ngx_http_s3_kms_gw_ctx_t    *ctx;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    if (!lcf->gateway || r != r->main) {
        return ngx_http_next_request_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ctx == NULL || !ctx->has_payload) {
        return ngx_http_next_request_body_filter(r, in);
    }

    if (ctx->body_error != S3_OK) {
        return ngx_http_s3_kms_body_fail(r, ctx, ctx->body_error);
    }

    /* keep the input buffers: they are consumed as output room allows */

    for (cl = in; cl; cl = cl->next) {
        tl = ngx_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        tl->buf = cl->buf;
        tl->next = NULL;

        if (ctx->pending_last == NULL) {
            ctx->pending_last = &ctx->pending;
        }

        *ctx->pending_last = tl;
        ctx->pending_last = &tl->next;
    }

    out = NULL;

    rc = ngx_http_s3_kms_body_run(r, ctx, &out);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_next_request_body_filter(r, out);

    /* the save filter links the buffers in links of its own */

    while (out) {
        cl = out;
        out = out->next;
        ngx_free_chain(r->pool, cl);
    }

    return rc;
}


/* an output buffer with room, or NULL when all are in flight */

static ngx_buf_t *
ngx_http_s3_kms_body_obuf(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx)
{
    ngx_buf_t                   *b;
    ngx_uint_t                   i;
    ngx_http_s3_kms_loc_conf_t  *lcf;

    if (ctx->ofill) {
        return ctx->ofill;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_kms_module);

    if (ctx->obufs == NULL) {
        ctx->obufs = ngx_pcalloc(r->pool,
                                 lcf->out_buffers * sizeof(ngx_buf_t *));
        if (ctx->obufs == NULL) {
            return NULL;
        }
    }

    /* a sent buffer has pos == last; the backend writer moved it */

    for (i = 0; i < ctx->nobufs; i++) {
        b = ctx->obufs[i];

        if (b->pos == b->last && !b->last_buf) {
            b->pos = b->start;
            b->last = b->start;
            b->flush = 0;
            ctx->ofill = b;
            return b;
        }
    }

    if (ctx->nobufs == lcf->out_buffers) {
        return NULL;
    }

    b = ngx_create_temp_buf(r->pool, lcf->out_buffer);
    if (b == NULL) {
        return NULL;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_s3_kms_module;
    ctx->obufs[ctx->nobufs++] = b;
    ctx->ofill = b;

    return b;
}


/*
 * Moves as much as output room allows: input → decoded spans → encrypted
 * bytes in our buffers; full buffers (and, when the input ran dry, the
 * partly filled one) go out.  At the end of the input every check runs,
 * and only then the final frame is released.
 */

static ngx_int_t
ngx_http_s3_kms_body_run(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, ngx_chain_t **out)
{
    size_t           consumed, written, used;
    s3_err_t         err;
    ngx_buf_t       *ib, *ob;
    ngx_chain_t     *cl, **ll;
    s3_objfmt_rc_t   rc;

    ll = out;

    for ( ;; ) {

        /* 1. a decoded span waiting to be encrypted */

        if (ctx->span.len) {
            ob = ngx_http_s3_kms_body_obuf(r, ctx);
            if (ob == NULL) {
                break;                  /* no room: wait for the backend */
            }

            if (ctx->enc) {
                rc = s3_objfmt_enc_process(ctx->enc, ctx->span.data,
                                           ctx->span.len, &consumed,
                                           ob->last, ob->end - ob->last,
                                           &written);

                if (ctx->md5_on && consumed
                    && s3_checksum_update(&ctx->md5, ctx->span.data,
                                          consumed)
                       != S3_OK)
                {
                    return ngx_http_s3_kms_body_fail(r, ctx, S3_ERR_INTERNAL);
                }

                if (rc != S3_OBJFMT_OK && rc != S3_OBJFMT_AGAIN
                    && rc != S3_OBJFMT_HELD)
                {
                    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                  "s3_kms: encryption: %s",
                                  s3_objfmt_strerror(rc));
                    return ngx_http_s3_kms_body_fail(r, ctx,
                                            rc == S3_OBJFMT_ERR_TOO_LONG
                                            ? S3_ERR_INVALID_REQUEST
                                            : S3_ERR_INTERNAL);
                }

            } else {
                /* a body that passes as it is (decoded, checked) */
                consumed = ngx_min(ctx->span.len,
                                   (size_t) (ob->end - ob->last));
                ngx_memcpy(ob->last, ctx->span.data, consumed);
                written = consumed;
            }

            ctx->span.data += consumed;
            ctx->span.len -= consumed;
            ob->last += written;

            if (ctx->span.len == 0) {
                /* the whole span is in: its input bytes are consumed */
                ctx->span_buf->pos += ctx->span_used;
                ctx->span_used = 0;
            }

            if (ob->last == ob->end) {
                goto emit;
            }

            continue;
        }

        /* 2. the next piece of input */

        if (ctx->pending != NULL) {
            ib = ctx->pending->buf;

            if (ib->pos < ib->last) {
                err = s3_payload_feed(ctx->payload, ib->pos,
                                      ib->last - ib->pos, &used,
                                      &ctx->span);

                if (err != S3_OK && err != S3_AGAIN) {
                    return ngx_http_s3_kms_body_fail(r, ctx, err);
                }

                if (ctx->span.len) {
                    ctx->span_buf = ib;
                    ctx->span_used = used;
                    continue;
                }

                if (used == 0) {
                    /* the decoder saw the end, and bytes follow it */
                    return ngx_http_s3_kms_body_fail(r, ctx,
                                                     S3_ERR_INVALID_REQUEST);
                }

                ib->pos += used;

                if (ib->pos < ib->last) {
                    continue;
                }
            }

            if (ib->last_buf) {
                ctx->input_done = 1;
            }

            cl = ctx->pending;
            ctx->pending = cl->next;
            if (ctx->pending == NULL) {
                ctx->pending_last = &ctx->pending;
            }
            ngx_free_chain(r->pool, cl);
            continue;
        }

        /* 3. the end of the input: every check, then the final frame */

        if (ctx->input_done && !ctx->released) {
            err = s3_payload_finish(ctx->payload);

            if (err != S3_OK) {
                return ngx_http_s3_kms_body_fail(r, ctx, err);
            }

            if (ngx_http_s3_kms_body_md5(ctx) != NGX_OK) {
                return ngx_http_s3_kms_body_fail(r, ctx, S3_ERR_INTERNAL);
            }

            if (ctx->enc) {
                rc = s3_objfmt_enc_release(ctx->enc);
                if (rc != S3_OBJFMT_OK) {
                    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                  "s3_kms: encryption: %s",
                                  s3_objfmt_strerror(rc));
                    return ngx_http_s3_kms_body_fail(r, ctx,
                                                     S3_ERR_INCOMPLETE_BODY);
                }
            }

            ctx->released = 1;
        }

        if (ctx->released && !ctx->body_done) {

            if (ctx->enc) {
                ob = ngx_http_s3_kms_body_obuf(r, ctx);
                if (ob == NULL) {
                    break;
                }

                rc = s3_objfmt_enc_process(ctx->enc, NULL, 0, &consumed,
                                           ob->last, ob->end - ob->last,
                                           &written);
                ob->last += written;

                if (rc == S3_OBJFMT_AGAIN) {
                    goto emit;              /* more of the final frame */
                }

                if (rc != S3_OBJFMT_OK) {
                    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                  "s3_kms: encryption: %s",
                                  s3_objfmt_strerror(rc));
                    return ngx_http_s3_kms_body_fail(r, ctx,
                                                     S3_ERR_INTERNAL);
                }

            } else {
                ob = ngx_http_s3_kms_body_obuf(r, ctx);
                if (ob == NULL) {
                    break;
                }
            }

            ob->last_buf = 1;
            ctx->body_done = 1;
            goto emit;
        }

        /*
         * Input ran dry: a partly filled buffer waits for more (the
         * client is sending; at its end the buffer goes with the final
         * frame).  Full buffers only: fewer, larger writes to the backend.
         */

        break;

    emit:

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->ofill->flush = 1;
        cl->buf = ctx->ofill;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
        ctx->ofill = NULL;

        if (ctx->body_done) {
            break;
        }
    }

    return NGX_OK;
}


/* SSE-S3: the plaintext's MD5, the object's ETag */

static ngx_int_t
ngx_http_s3_kms_body_md5(ngx_http_s3_kms_gw_ctx_t *ctx)
{
    size_t         n;
    unsigned char  md[S3_CHECKSUM_MAX_LEN];

    if (!ctx->internal_key) {
        return NGX_OK;
    }

    if (ctx->md5_on) {
        if (s3_checksum_final(&ctx->md5, md, &n) != S3_OK || n != 16) {
            return NGX_ERROR;
        }

    } else if (ctx->payload->has_md5) {
        ngx_memcpy(md, ctx->payload->md5_want, 16);      /* verified */

    } else {
        return NGX_OK;
    }

    ngx_hex_dump(ctx->md5_hex, md, 16);
    ctx->md5_done = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_body_fail(ngx_http_request_t *r,
    ngx_http_s3_kms_gw_ctx_t *ctx, s3_err_t err)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "s3_kms: request body refused: %s; the backend request "
                  "is aborted", s3_err_code(err));

    ctx->body_error = err;

    if (ctx->error.err == S3_OK) {
        ctx->error.err = err;
    }

    return s3_err_status(err) ? s3_err_status(err)
                              : NGX_HTTP_INTERNAL_SERVER_ERROR;
}
