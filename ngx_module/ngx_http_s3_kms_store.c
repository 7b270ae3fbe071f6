
/*
 * The worker's side of the key store: its KMS context (the key ring), two
 * Redis connections (commands; SUBSCRIBE kms:events), the first full load,
 * refreshes on events, the maintenance timer, and the driver that runs a
 * KMS call through Redis on the event loop.
 */


#include "ngx_http_s3_kms.h"


#define NGX_HTTP_S3_KMS_REPLY_DEPTH  4


static void ngx_http_s3_kms_log_sink(void *data, int level, const char *msg);
static void ngx_http_s3_kms_cmd_event(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_t *rd, ngx_uint_t up);
static void ngx_http_s3_kms_sub_event(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_t *rd, ngx_uint_t up);
static void ngx_http_s3_kms_try_load(ngx_http_s3_kms_worker_t *w);
static void ngx_http_s3_kms_reload_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_sub_message(void *data, redisReply *reply);
static void ngx_http_s3_kms_start_internal(ngx_http_s3_kms_worker_t *w,
    kms_call_t *call, ngx_http_s3_kms_done_pt done);
static void ngx_http_s3_kms_internal_done(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_load_done(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_maintain_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_maintain_done(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_run_reply(void *data, redisReply *reply);
static void ngx_http_s3_kms_run_finish(ngx_http_s3_kms_run_t *run);
static void ngx_http_s3_kms_publish_reply(void *data, redisReply *reply);
static ngx_int_t ngx_http_s3_kms_convert_reply(redisReply *in,
    kms_reply_t *out, ngx_uint_t depth, ngx_log_t *log);
static void ngx_http_s3_kms_free_reply(kms_reply_t *r);
static void ngx_http_s3_kms_run_cleanup(void *data);


ngx_int_t
ngx_http_s3_kms_worker_init(ngx_cycle_t *cycle,
    ngx_http_s3_kms_main_conf_t *mcf)
{
    kms_conf_t                 conf;
    ngx_http_s3_kms_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_s3_kms_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->cycle = cycle;
    w->log = cycle->log;
    w->mcf = mcf;
    mcf->worker = w;

    ngx_memzero(&conf, sizeof(kms_conf_t));
    conf.region = (const char *) mcf->region.data;
    conf.partition = "aws";
    conf.creds = mcf->creds;
    conf.rotations_on_demand_max = 25;

    w->kms = kms_ctx_new(mcf->root_key, &conf);
    if (w->kms == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: cannot create the KMS context");
        return NGX_ERROR;
    }

    kms_ctx_set_log(w->kms, ngx_http_s3_kms_log_sink, w);

    w->sigkeys = ngx_pcalloc(cycle->pool, NGX_HTTP_S3_KMS_SIGKEYS
                                          * sizeof(ngx_http_s3_kms_sigkey_t));
    if (w->sigkeys == NULL) {
        return NGX_ERROR;
    }

    /* request ids drawn ahead; a digest context for every request */

    w->ids = kms_rpool_new(4096, KMS_RPOOL_PUBLIC);
    w->sha = kms_sha256_new();

    if (w->ids == NULL || w->sha == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "s3_kms: cannot create the worker's crypto handles");
        return NGX_ERROR;
    }

    if (ngx_http_s3_kms_audit_init(w) != NGX_OK) {
        return NGX_ERROR;
    }

    w->redis = ngx_http_s3_kms_redis_create(w, &mcf->redis,
                                            ngx_http_s3_kms_cmd_event,
                                            "commands");
    w->sub = ngx_http_s3_kms_redis_create(w, &mcf->redis,
                                          ngx_http_s3_kms_sub_event,
                                          "events");
    if (w->redis == NULL || w->sub == NULL) {
        return NGX_ERROR;
    }

    w->reload_ev.handler = ngx_http_s3_kms_reload_handler;
    w->reload_ev.data = w;
    w->reload_ev.log = cycle->log;
    w->reload_ev.cancelable = 1;

    w->maintain_ev.handler = ngx_http_s3_kms_maintain_handler;
    w->maintain_ev.data = w;
    w->maintain_ev.log = cycle->log;
    w->maintain_ev.cancelable = 1;

    (void) ngx_http_s3_kms_redis_connect(w->redis);
    (void) ngx_http_s3_kms_redis_connect(w->sub);

    /* one worker rotates and erases; with several hosts, CAS keeps it safe */

    if (ngx_worker == 0) {
        ngx_add_timer(&w->maintain_ev, 1000);
    }

    return NGX_OK;
}


void
ngx_http_s3_kms_worker_exit(ngx_http_s3_kms_worker_t *w)
{
    ngx_uint_t  i;

    if (w == NULL) {
        return;
    }

    ngx_http_s3_kms_audit_flush(w);

    ngx_http_s3_kms_redis_destroy(w->redis);
    ngx_http_s3_kms_redis_destroy(w->sub);
    w->redis = NULL;
    w->sub = NULL;

    ngx_http_s3_kms_bucket_exit(w);

    if (w->sigkeys) {
        for (i = 0; i < NGX_HTTP_S3_KMS_SIGKEYS; i++) {
            kms_hmac_free(w->sigkeys[i].hmac);
        }

        kms_wipe(w->sigkeys,
                 NGX_HTTP_S3_KMS_SIGKEYS * sizeof(ngx_http_s3_kms_sigkey_t));
    }

    kms_rpool_free(w->ids);
    kms_sha256_free(w->sha);
    w->ids = NULL;
    w->sha = NULL;

    kms_ctx_free(w->kms);
    w->kms = NULL;
}


static void
ngx_http_s3_kms_log_sink(void *data, int level, const char *msg)
{
    ngx_uint_t                 lvl;
    ngx_http_s3_kms_worker_t  *w = data;

    lvl = (level == 0) ? NGX_LOG_ERR
                       : (level == 1) ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(lvl, w->log, 0, "s3_kms: %s", msg);
}


/* ---- connections, load, events ------------------------------------------- */

static void
ngx_http_s3_kms_cmd_event(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_t *rd, ngx_uint_t up)
{
    if (up) {
        ngx_http_s3_kms_try_load(w);
    }
}


static void
ngx_http_s3_kms_sub_event(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_t *rd, ngx_uint_t up)
{
    if (!up) {
        w->subscribed = 0;
        return;
    }

    if (ngx_http_s3_kms_redis_subscribe(rd, KMS_EVENTS_CHANNEL,
                                        ngx_http_s3_kms_sub_message, w)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "s3_kms: cannot subscribe to " KMS_EVENTS_CHANNEL);
    }
}


static void
ngx_http_s3_kms_sub_message(void *data, redisReply *reply)
{
    ngx_http_s3_kms_worker_t  *w = data;
    kms_call_t                *call;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    if (ngx_strcmp(reply->element[0]->str, "subscribe") == 0) {

        /*
         * Events flow from now on; whatever changed while they did not is
         * read by a full load.
         */

        w->subscribed = 1;
        w->loaded = 0;
        ngx_http_s3_kms_try_load(w);

        return;
    }

    if (ngx_strcmp(reply->element[0]->str, "message") != 0
        || reply->element[2]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    call = kms_call_refresh(w->kms, reply->element[2]->str,
                            reply->element[2]->len);
    if (call != NULL) {
        ngx_http_s3_kms_start_internal(w, call,
                                       ngx_http_s3_kms_internal_done);
    }
}


/*
 * A full load runs once both connections are up and events flow (so that
 * nothing changed between the load and the first event is missed); again
 * after the subscriber reconnects; and every second after a failure.
 */

static void
ngx_http_s3_kms_try_load(ngx_http_s3_kms_worker_t *w)
{
    kms_call_t  *call;

    if (w->loading || w->loaded || !w->subscribed
        || !ngx_http_s3_kms_redis_ready(w->redis))
    {
        return;
    }

    call = kms_call_load(w->kms);
    if (call == NULL) {
        return;
    }

    w->loading = 1;
    ngx_http_s3_kms_start_internal(w, call, ngx_http_s3_kms_load_done);
}


static void
ngx_http_s3_kms_reload_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_try_load(ev->data);
}


static void
ngx_http_s3_kms_start_internal(ngx_http_s3_kms_worker_t *w, kms_call_t *call,
    ngx_http_s3_kms_done_pt done)
{
    ngx_http_s3_kms_run_t  *run;

    run = ngx_calloc(sizeof(ngx_http_s3_kms_run_t), w->log);
    if (run == NULL) {
        kms_call_free(call);
        if (done == ngx_http_s3_kms_load_done) {
            w->loading = 0;
        }
        return;
    }

    run->call = call;
    run->worker = w;
    run->done = done;
    run->data = w;
    run->log = w->log;

    (void) ngx_http_s3_kms_run(run);
}


static void
ngx_http_s3_kms_internal_done(ngx_http_s3_kms_run_t *run)
{
    kms_call_free(run->call);
    ngx_free(run);
}


static void
ngx_http_s3_kms_load_done(ngx_http_s3_kms_run_t *run)
{
    ngx_http_s3_kms_worker_t  *w = run->data;
    kms_err_t                  err;

    w->loading = 0;
    err = kms_call_error(run->call);

    if (err != KMS_OK) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "s3_kms: loading the key store failed: %s",
                      kms_err_type(err));

        if (!w->reload_ev.timer_set && !ngx_exiting && !ngx_quit
            && !ngx_terminate)
        {
            ngx_add_timer(&w->reload_ev, 1000);
        }

    } else {
        w->loaded = 1;
        ngx_log_error(NGX_LOG_INFO, w->log, 0, "s3_kms: key store loaded");
    }

    if (kms_ctx_state(w->kms) == KMS_RING_WRONG_ROOT && !w->wrong_root) {
        w->wrong_root = 1;      /* said once; the load goes on retrying */
        ngx_log_error(NGX_LOG_EMERG, w->log, 0,
                      "s3_kms: the key store in Redis belongs to another "
                      "root key (fingerprint %s here); no key operation "
                      "is served", kms_ctx_fingerprint(w->kms));
    }

    kms_call_free(run->call);
    ngx_free(run);
}


static void
ngx_http_s3_kms_maintain_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_worker_t  *w = ev->data;
    kms_call_t                *call;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (!w->maintaining && kms_ctx_state(w->kms) == KMS_RING_READY
        && ngx_http_s3_kms_redis_ready(w->redis))
    {
        call = kms_call_maintain(w->kms,
                                 (int64_t) ngx_time() * 1000
                                 + (int64_t) w->mcf->time_offset * 1000);
        if (call != NULL) {
            w->maintaining = 1;
            ngx_http_s3_kms_start_internal(w, call,
                                           ngx_http_s3_kms_maintain_done);
        }
    }

    ngx_add_timer(ev, w->mcf->maintenance_interval);
}


static void
ngx_http_s3_kms_maintain_done(ngx_http_s3_kms_run_t *run)
{
    ngx_http_s3_kms_worker_t  *w = run->data;

    w->maintaining = 0;

    kms_call_free(run->call);
    ngx_free(run);
}


/* ---- the driver ------------------------------------------------------------ */

/*
 * Runs the call as far as it goes.  NGX_OK: done, run->done() was called
 * (before this returns).  NGX_AGAIN: waiting for Redis; run->done() comes
 * later, from the event loop.
 */

ngx_int_t
ngx_http_s3_kms_run(ngx_http_s3_kms_run_t *run)
{
    ngx_http_s3_kms_worker_t     *w = run->worker;
    const kms_cmd_t              *cmd;
    ngx_http_s3_kms_redis_req_t  *req;

    for ( ;; ) {

        if (kms_call_run(run->call) == KMS_CALL_DONE) {
            ngx_http_s3_kms_run_finish(run);
            return NGX_OK;
        }

        cmd = kms_call_command(run->call);

        req = ngx_http_s3_kms_redis_send(w->redis, cmd->argc, cmd->argv,
                                         cmd->argvlen,
                                         ngx_http_s3_kms_run_reply, run);
        if (req == NULL) {
            kms_call_fail(run->call, KMS_ERR_DEPENDENCY_TIMEOUT, NULL);
            continue;
        }

        run->pending = req;
        run->async = 1;

        return NGX_AGAIN;
    }
}


void
ngx_http_s3_kms_run_cancel(ngx_http_s3_kms_run_t *run)
{
    if (run->pending) {
        ngx_http_s3_kms_redis_cancel(run->pending);
        run->pending = NULL;
    }

    if (run->call) {
        kms_call_free(run->call);
        run->call = NULL;
    }
}


/* cancels the run when the pool (the request's) goes away */

ngx_int_t
ngx_http_s3_kms_run_on_pool(ngx_http_s3_kms_run_t *run, ngx_pool_t *pool)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_s3_kms_run_cleanup;
    cln->data = run;

    return NGX_OK;
}


static void
ngx_http_s3_kms_run_cleanup(void *data)
{
    ngx_http_s3_kms_run_cancel(data);
}


static void
ngx_http_s3_kms_run_reply(void *data, redisReply *reply)
{
    ngx_http_s3_kms_run_t  *run = data;
    kms_reply_t             kr;

    run->pending = NULL;

    if (reply == NULL) {
        kms_call_fail(run->call, KMS_ERR_DEPENDENCY_TIMEOUT, NULL);

    } else if (ngx_http_s3_kms_convert_reply(reply, &kr, 0, run->log)
               != NGX_OK)
    {
        kms_call_fail(run->call, KMS_ERR_INTERNAL, NULL);

    } else {
        kms_call_reply(run->call, &kr);
        ngx_http_s3_kms_free_reply(&kr);
    }

    (void) ngx_http_s3_kms_run(run);
}


static void
ngx_http_s3_kms_run_finish(ngx_http_s3_kms_run_t *run)
{
    ngx_http_s3_kms_worker_t  *w = run->worker;
    const char                *event, *msg, *line;
    const char                *argv[3];
    size_t                     argvlen[3], len;

    event = kms_call_event(run->call);

    if (event != NULL) {
        argv[0] = "PUBLISH";
        argvlen[0] = 7;
        argv[1] = KMS_EVENTS_CHANNEL;
        argvlen[1] = sizeof(KMS_EVENTS_CHANNEL) - 1;
        argv[2] = event;
        argvlen[2] = ngx_strlen(event);

        if (ngx_http_s3_kms_redis_send(w->redis, 3, argv, argvlen,
                                       ngx_http_s3_kms_publish_reply, w)
            == NULL)
        {
            ngx_log_error(NGX_LOG_WARN, run->log, 0,
                          "s3_kms: could not publish a key change; other "
                          "workers see it at their next load");
        }
    }

    msg = kms_call_log(run->call);
    if (msg != NULL) {
        ngx_log_error(NGX_LOG_WARN, run->log, 0, "s3_kms: %s", msg);
    }

    line = kms_call_audit(run->call, &len);
    if (line != NULL && len) {
        ngx_http_s3_kms_audit_write(w, line, len);
    }

    run->done(run);
}


static void
ngx_http_s3_kms_publish_reply(void *data, redisReply *reply)
{
    ngx_http_s3_kms_worker_t  *w = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_WARN, w->log, 0,
                      "s3_kms: publishing a key change failed");
    }
}


/* ---- hiredis reply → kms_reply_t ------------------------------------------- */

static ngx_int_t
ngx_http_s3_kms_convert_reply(redisReply *in, kms_reply_t *out,
    ngx_uint_t depth, ngx_log_t *log)
{
    size_t        i;
    kms_reply_t  *el;

    ngx_memzero(out, sizeof(kms_reply_t));

    switch (in->type) {

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        out->type = KMS_REPLY_STRING;
        out->str = in->str;
        out->len = in->len;
        return NGX_OK;

    case REDIS_REPLY_ERROR:
        out->type = KMS_REPLY_ERROR;
        out->str = in->str;
        out->len = in->len;
        return NGX_OK;

    case REDIS_REPLY_INTEGER:
        out->type = KMS_REPLY_INTEGER;
        out->integer = in->integer;
        return NGX_OK;

    case REDIS_REPLY_NIL:
        out->type = KMS_REPLY_NIL;
        return NGX_OK;

    case REDIS_REPLY_ARRAY:
        if (depth >= NGX_HTTP_S3_KMS_REPLY_DEPTH) {
            return NGX_ERROR;
        }

        out->type = KMS_REPLY_ARRAY;
        out->elements = in->elements;

        if (in->elements == 0) {
            return NGX_OK;
        }

        el = ngx_alloc(in->elements * sizeof(kms_reply_t), log);
        if (el == NULL) {
            return NGX_ERROR;
        }

        out->element = el;

        for (i = 0; i < in->elements; i++) {
            if (ngx_http_s3_kms_convert_reply(in->element[i], &el[i],
                                              depth + 1, log)
                != NGX_OK)
            {
                out->elements = i;
                ngx_http_s3_kms_free_reply(out);
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    return NGX_ERROR;
}


static void
ngx_http_s3_kms_free_reply(kms_reply_t *r)
{
    size_t  i;

    if (r->type != KMS_REPLY_ARRAY || r->element == NULL) {
        return;
    }

    for (i = 0; i < r->elements; i++) {
        ngx_http_s3_kms_free_reply((kms_reply_t *) &r->element[i]);
    }

    ngx_free((void *) r->element);
    r->element = NULL;
}
