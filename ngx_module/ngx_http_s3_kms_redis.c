
/*
 * hiredis' async API on nginx's event loop.
 *
 * The socket hiredis opens is wrapped in an nginx connection; hiredis'
 * hooks add and delete its read and write events (level-triggered: hiredis
 * reads at most one buffer per call).  hiredis 0.14 has no command
 * timeouts, so every command carries an nginx timer: when one fires, Redis
 * is considered stuck, the context is freed (every pending command then
 * gets a NULL reply) and a reconnect is scheduled.  Requests that go away
 * cancel their command: the reply still arrives, and is dropped.
 */


#include "ngx_http_s3_kms.h"


struct ngx_http_s3_kms_redis_s {
    ngx_http_s3_kms_worker_t        *worker;
    ngx_http_s3_kms_redis_conf_t    *conf;
    ngx_log_t                       *log;
    const char                      *name;

    redisAsyncContext               *ac;
    ngx_connection_t                *conn;
    ngx_uint_t                       up;        /* connected (and AUTHed) */
    ngx_uint_t                       destroyed;

    ngx_event_t                      reconnect;
    ngx_msec_t                       backoff;

    ngx_http_s3_kms_redis_event_pt   on_event;

    ngx_http_s3_kms_redis_handler_pt sub_handler;
    void                            *sub_data;
};


struct ngx_http_s3_kms_redis_req_s {
    ngx_http_s3_kms_redis_t         *rd;
    ngx_http_s3_kms_redis_handler_pt handler;
    void                            *data;
    ngx_event_t                      timer;
    unsigned                         done:1;
};


static void ngx_http_s3_kms_redis_add_read(void *privdata);
static void ngx_http_s3_kms_redis_del_read(void *privdata);
static void ngx_http_s3_kms_redis_add_write(void *privdata);
static void ngx_http_s3_kms_redis_del_write(void *privdata);
static void ngx_http_s3_kms_redis_cleanup(void *privdata);
static void ngx_http_s3_kms_redis_read_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_redis_write_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_s3_kms_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_s3_kms_redis_gone(ngx_http_s3_kms_redis_t *rd);
static void ngx_http_s3_kms_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_s3_kms_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_http_s3_kms_redis_timeout(ngx_event_t *ev);
static void ngx_http_s3_kms_redis_auth_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_s3_kms_redis_sub_reply(redisAsyncContext *ac,
    void *reply, void *privdata);


ngx_http_s3_kms_redis_t *
ngx_http_s3_kms_redis_create(ngx_http_s3_kms_worker_t *w,
    ngx_http_s3_kms_redis_conf_t *conf, ngx_http_s3_kms_redis_event_pt on_event,
    const char *name)
{
    ngx_http_s3_kms_redis_t  *rd;

    rd = ngx_pcalloc(w->cycle->pool, sizeof(ngx_http_s3_kms_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->worker = w;
    rd->conf = conf;
    rd->log = w->log;
    rd->name = name;
    rd->on_event = on_event;

    rd->reconnect.handler = ngx_http_s3_kms_redis_reconnect_handler;
    rd->reconnect.data = rd;
    rd->reconnect.log = w->log;
    rd->reconnect.cancelable = 1;

    return rd;
}


ngx_int_t
ngx_http_s3_kms_redis_connect(ngx_http_s3_kms_redis_t *rd)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;
    const char         *argv[2];
    size_t              argvlen[2];
    char                db[NGX_INT_T_LEN + 1];

    if (rd->ac != NULL || rd->destroyed) {
        return NGX_OK;
    }

    /* the address is numeric (resolved at configuration time) */

    ac = redisAsyncConnect((const char *) rd->conf->host.data, rd->conf->port);
    if (ac == NULL) {
        goto retry;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "s3_kms: redis %s %V:%d: %s", rd->name,
                      &rd->conf->host, (int) rd->conf->port, ac->errstr);
        redisAsyncFree(ac);
        goto retry;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        goto retry;
    }

    c->data = rd;
    c->read->handler = ngx_http_s3_kms_redis_read_handler;
    c->write->handler = ngx_http_s3_kms_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->ac = ac;
    rd->conn = c;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_http_s3_kms_redis_add_read;
    ac->ev.delRead = ngx_http_s3_kms_redis_del_read;
    ac->ev.addWrite = ngx_http_s3_kms_redis_add_write;
    ac->ev.delWrite = ngx_http_s3_kms_redis_del_write;
    ac->ev.cleanup = ngx_http_s3_kms_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_s3_kms_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_s3_kms_redis_on_disconnect);

    /* queued now, sent once connected */

    if (rd->conf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) rd->conf->password.data;
        argvlen[1] = rd->conf->password.len;

        redisAsyncCommandArgv(ac, ngx_http_s3_kms_redis_auth_reply, rd, 2,
                              argv, argvlen);
    }

    if (rd->conf->db > 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%i", rd->conf->db)
                     - (u_char *) db;

        redisAsyncCommandArgv(ac, ngx_http_s3_kms_redis_auth_reply, rd, 2,
                              argv, argvlen);
    }

    return NGX_OK;

retry:

    ngx_http_s3_kms_redis_gone(rd);

    return NGX_ERROR;
}


ngx_uint_t
ngx_http_s3_kms_redis_ready(ngx_http_s3_kms_redis_t *rd)
{
    return rd != NULL && rd->ac != NULL && rd->up;
}


ngx_http_s3_kms_redis_req_t *
ngx_http_s3_kms_redis_send(ngx_http_s3_kms_redis_t *rd, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_s3_kms_redis_handler_pt handler, void *data)
{
    ngx_http_s3_kms_redis_req_t  *req;

    if (!ngx_http_s3_kms_redis_ready(rd)) {
        return NULL;
    }

    req = ngx_calloc(sizeof(ngx_http_s3_kms_redis_req_t), rd->log);
    if (req == NULL) {
        return NULL;
    }

    req->rd = rd;
    req->handler = handler;
    req->data = data;

    if (redisAsyncCommandArgv(rd->ac, ngx_http_s3_kms_redis_reply, req, argc,
                              argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(req);
        return NULL;
    }

    req->timer.handler = ngx_http_s3_kms_redis_timeout;
    req->timer.data = req;
    req->timer.log = rd->log;
    ngx_add_timer(&req->timer, rd->conf->timeout);

    return req;
}


void
ngx_http_s3_kms_redis_cancel(ngx_http_s3_kms_redis_req_t *req)
{
    /* the reply will come and be dropped; the request is freed then */

    req->done = 1;
    req->handler = NULL;
    req->data = NULL;

    if (req->timer.timer_set) {
        ngx_del_timer(&req->timer);
    }
}


ngx_int_t
ngx_http_s3_kms_redis_subscribe(ngx_http_s3_kms_redis_t *rd,
    const char *channel, ngx_http_s3_kms_redis_handler_pt handler,
    void *data)
{
    const char  *argv[2];
    size_t       argvlen[2];

    if (!ngx_http_s3_kms_redis_ready(rd)) {
        return NGX_ERROR;
    }

    rd->sub_handler = handler;
    rd->sub_data = data;

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = channel;
    argvlen[1] = ngx_strlen(channel);

    if (redisAsyncCommandArgv(rd->ac, ngx_http_s3_kms_redis_sub_reply, rd, 2,
                              argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_s3_kms_redis_destroy(ngx_http_s3_kms_redis_t *rd)
{
    if (rd == NULL) {
        return;
    }

    rd->destroyed = 1;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->ac) {
        redisAsyncFree(rd->ac);
    }
}


/* ---- hiredis hooks ---------------------------------------------------------- */

static void
ngx_http_s3_kms_redis_add_read(void *privdata)
{
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (rd->conn && !rd->conn->read->active) {
        if (ngx_add_event(rd->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "s3_kms: redis %s: adding read event failed",
                          rd->name);
        }
    }
}


static void
ngx_http_s3_kms_redis_del_read(void *privdata)
{
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->read->active) {
        (void) ngx_del_event(rd->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_s3_kms_redis_add_write(void *privdata)
{
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (rd->conn && !rd->conn->write->active) {
        if (ngx_add_event(rd->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "s3_kms: redis %s: adding write event failed",
                          rd->name);
        }
    }
}


static void
ngx_http_s3_kms_redis_del_write(void *privdata)
{
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->write->active) {
        (void) ngx_del_event(rd->conn->write, NGX_WRITE_EVENT, 0);
    }
}


static void
ngx_http_s3_kms_redis_cleanup(void *privdata)
{
    ngx_http_s3_kms_redis_t  *rd = privdata;
    ngx_connection_t         *c;

    /* hiredis frees the context and closes the socket after this */

    c = rd->conn;
    rd->conn = NULL;
    rd->ac = NULL;
    rd->up = 0;

    if (c == NULL) {
        return;
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}


static void
ngx_http_s3_kms_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c = ev->data;
    ngx_http_s3_kms_redis_t  *rd = c->data;

    if (rd->ac) {
        redisAsyncHandleRead(rd->ac);
    }
}


static void
ngx_http_s3_kms_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c = ev->data;
    ngx_http_s3_kms_redis_t  *rd = c->data;

    if (rd->ac) {
        redisAsyncHandleWrite(rd->ac);
    }
}


static void
ngx_http_s3_kms_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_s3_kms_redis_t  *rd = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context right after this; no on_disconnect */

        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "s3_kms: redis %s %V:%d: connect failed: %s", rd->name,
                      &rd->conf->host, (int) rd->conf->port,
                      ac->errstr ? ac->errstr : "error");
        ngx_http_s3_kms_redis_gone(rd);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                  "s3_kms: redis %s %V:%d connected", rd->name,
                  &rd->conf->host, (int) rd->conf->port);

    rd->up = 1;
    rd->backoff = 0;

    if (rd->on_event) {
        rd->on_event(rd->worker, rd, 1);
    }
}


static void
ngx_http_s3_kms_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_s3_kms_redis_t  *rd = ac->data;

    if (!rd->destroyed) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "s3_kms: redis %s %V:%d: connection lost%s%s",
                      rd->name, &rd->conf->host, (int) rd->conf->port,
                      ac->errstr && ac->errstr[0] ? ": " : "",
                      ac->errstr ? ac->errstr : "");
    }

    ngx_http_s3_kms_redis_gone(rd);
}


static void
ngx_http_s3_kms_redis_gone(ngx_http_s3_kms_redis_t *rd)
{
    rd->up = 0;
    rd->ac = NULL;

    if (rd->destroyed) {
        return;
    }

    if (rd->on_event) {
        rd->on_event(rd->worker, rd, 0);
    }

    rd->backoff = rd->backoff ? ngx_min(rd->backoff * 2, 2000) : 100;

    if (!rd->reconnect.timer_set && !ngx_exiting && !ngx_terminate
        && !ngx_quit)
    {
        ngx_add_timer(&rd->reconnect, rd->backoff);
    }
}


static void
ngx_http_s3_kms_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_s3_kms_redis_t  *rd = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    (void) ngx_http_s3_kms_redis_connect(rd);
}


/* ---- replies ---------------------------------------------------------------- */

static void
ngx_http_s3_kms_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_s3_kms_redis_req_t  *req = privdata;

    if (req->timer.timer_set) {
        ngx_del_timer(&req->timer);
    }

    if (!req->done) {
        req->done = 1;
        req->handler(req->data, reply);
    }

    ngx_free(req);
}


static void
ngx_http_s3_kms_redis_timeout(ngx_event_t *ev)
{
    ngx_http_s3_kms_redis_req_t  *req = ev->data;
    ngx_http_s3_kms_redis_t      *rd = req->rd;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "s3_kms: redis %s %V:%d: no reply in %M ms, reconnecting",
                  rd->name, &rd->conf->host, (int) rd->conf->port,
                  rd->conf->timeout);

    /*
     * Redis is stuck: drop the connection.  hiredis then answers every
     * pending command, this one included, with a NULL reply; no new
     * command is taken meanwhile.
     */

    rd->up = 0;

    if (rd->ac) {
        redisAsyncFree(rd->ac);
    }
}


static void
ngx_http_s3_kms_redis_auth_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply               *r = reply;
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (r != NULL && r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "s3_kms: redis %s: %s", rd->name, r->str);
    }
}


static void
ngx_http_s3_kms_redis_sub_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply               *r = reply;
    ngx_http_s3_kms_redis_t  *rd = privdata;

    if (r == NULL || rd->sub_handler == NULL) {
        return;
    }

    rd->sub_handler(rd->sub_data, r);
}
