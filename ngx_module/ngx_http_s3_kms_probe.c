
/*
 * The configuration-time look at Redis (nginx -t and master start only,
 * never in a worker): a short blocking exchange over a plain socket, with
 * a one-second deadline, in RESP written by hand.  It reads the root key
 * fingerprint (kms:root) and the AOF settings.  Workers reach Redis only
 * through hiredis' async API on the event loop (ngx_http_s3_kms_redis.c).
 */


#include "ngx_http_s3_kms.h"

#include <poll.h>


#define NGX_HTTP_S3_KMS_PROBE_MS  1000


typedef struct {
    int          fd;
    ngx_msec_t   deadline;
    u_char       buf[4096];
    size_t       len;
    size_t       pos;
} ngx_http_s3_kms_probe_t;


static ngx_int_t ngx_http_s3_kms_probe_wait(ngx_http_s3_kms_probe_t *pr,
    short events);
static ngx_int_t ngx_http_s3_kms_probe_cmd(ngx_http_s3_kms_probe_t *pr,
    ngx_uint_t argc, ngx_str_t *argv);
static ngx_int_t ngx_http_s3_kms_probe_line(ngx_http_s3_kms_probe_t *pr,
    u_char **line, size_t *len);
static ngx_int_t ngx_http_s3_kms_probe_reply(ngx_http_s3_kms_probe_t *pr,
    u_char *out, size_t outlen, ngx_uint_t want_index);


static ngx_msec_t
ngx_http_s3_kms_probe_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * NGX_OK: fp holds the fingerprint ("" if none yet), aof and fsync the
 * settings ("" if CONFIG is not allowed).  NGX_ERROR: no answer.
 */

ngx_int_t
ngx_http_s3_kms_probe_redis(ngx_log_t *log, ngx_http_s3_kms_redis_conf_t *rc,
    u_char *fp, size_t fplen, u_char *aof, size_t aoflen, u_char *fsync,
    size_t fsynclen)
{
    int                       flags, err;
    socklen_t                 errlen;
    ngx_int_t                 ret;
    ngx_str_t                 argv[3];
    ngx_url_t                 u;
    ngx_http_s3_kms_probe_t  *pr;
    u_char                    db[NGX_INT_T_LEN];

    fp[0] = '\0';
    aof[0] = '\0';
    fsync[0] = '\0';
    ret = NGX_ERROR;

    pr = ngx_calloc(sizeof(ngx_http_s3_kms_probe_t), log);
    if (pr == NULL) {
        return NGX_ERROR;
    }

    pr->fd = -1;
    pr->deadline = ngx_http_s3_kms_probe_now() + NGX_HTTP_S3_KMS_PROBE_MS;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = rc->host;
    u.default_port = rc->port;
    u.no_resolve = 1;

    if (ngx_parse_url(ngx_cycle->pool, &u) != NGX_OK || u.naddrs == 0) {
        goto done;
    }

    ngx_inet_set_port(u.addrs[0].sockaddr, rc->port);

    pr->fd = socket(u.addrs[0].sockaddr->sa_family, SOCK_STREAM, 0);
    if (pr->fd == -1) {
        goto done;
    }

    flags = fcntl(pr->fd, F_GETFL);
    if (flags == -1 || fcntl(pr->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
        goto done;
    }

    if (connect(pr->fd, u.addrs[0].sockaddr, u.addrs[0].socklen) == -1) {
        if (errno != EINPROGRESS) {
            goto done;
        }

        if (ngx_http_s3_kms_probe_wait(pr, POLLOUT) != NGX_OK) {
            goto done;
        }

        err = 0;
        errlen = sizeof(err);
        if (getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1
            || err != 0)
        {
            goto done;
        }
    }

    if (rc->password.len) {
        ngx_str_set(&argv[0], "AUTH");
        argv[1] = rc->password;

        if (ngx_http_s3_kms_probe_cmd(pr, 2, argv) != NGX_OK
            || ngx_http_s3_kms_probe_reply(pr, NULL, 0, 0) != NGX_OK)
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "s3_kms: Redis refused AUTH");
            goto done;
        }
    }

    if (rc->db > 0) {
        ngx_str_set(&argv[0], "SELECT");
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%i", rc->db) - db;

        if (ngx_http_s3_kms_probe_cmd(pr, 2, argv) != NGX_OK
            || ngx_http_s3_kms_probe_reply(pr, NULL, 0, 0) != NGX_OK)
        {
            goto done;
        }
    }

    ngx_str_set(&argv[0], "GET");
    ngx_str_set(&argv[1], "kms:root");

    if (ngx_http_s3_kms_probe_cmd(pr, 2, argv) != NGX_OK
        || ngx_http_s3_kms_probe_reply(pr, fp, fplen, 0) != NGX_OK)
    {
        goto done;
    }

    ret = NGX_OK;

    /* CONFIG may be renamed away; then the settings stay unknown ("") */

    ngx_str_set(&argv[0], "CONFIG");
    ngx_str_set(&argv[1], "GET");
    ngx_str_set(&argv[2], "appendonly");

    if (ngx_http_s3_kms_probe_cmd(pr, 3, argv) != NGX_OK
        || ngx_http_s3_kms_probe_reply(pr, aof, aoflen, 1) != NGX_OK)
    {
        aof[0] = '\0';
        goto done;
    }

    ngx_str_set(&argv[2], "appendfsync");

    if (ngx_http_s3_kms_probe_cmd(pr, 3, argv) != NGX_OK
        || ngx_http_s3_kms_probe_reply(pr, fsync, fsynclen, 1) != NGX_OK)
    {
        aof[0] = '\0';
        fsync[0] = '\0';
    }

done:

    if (pr->fd != -1) {
        (void) close(pr->fd);
    }

    ngx_free(pr);

    return ret;
}


static ngx_int_t
ngx_http_s3_kms_probe_wait(ngx_http_s3_kms_probe_t *pr, short events)
{
    int            n;
    ngx_msec_t     now;
    struct pollfd  pfd;

    now = ngx_http_s3_kms_probe_now();
    if (now >= pr->deadline) {
        return NGX_ERROR;
    }

    pfd.fd = pr->fd;
    pfd.events = events;
    pfd.revents = 0;

    n = poll(&pfd, 1, (int) (pr->deadline - now));

    return (n == 1 && (pfd.revents & (events | POLLHUP))) ? NGX_OK
                                                          : NGX_ERROR;
}


static ngx_int_t
ngx_http_s3_kms_probe_cmd(ngx_http_s3_kms_probe_t *pr, ngx_uint_t argc,
    ngx_str_t *argv)
{
    u_char      out[1024], *p, *last;
    ssize_t     n;
    ngx_uint_t  i;

    p = out;
    last = out + sizeof(out);

    p = ngx_slprintf(p, last, "*%ui\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_slprintf(p, last, "$%uz\r\n%V\r\n", argv[i].len, &argv[i]);
    }

    if (p == last) {
        return NGX_ERROR;
    }

    last = p;
    p = out;

    while (p < last) {
        n = send(pr->fd, p, last - p, 0);

        if (n > 0) {
            p += n;
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            if (ngx_http_s3_kms_probe_wait(pr, POLLOUT) != NGX_OK) {
                return NGX_ERROR;
            }
            continue;
        }

        return NGX_ERROR;
    }

    kms_wipe(out, sizeof(out));

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_kms_probe_line(ngx_http_s3_kms_probe_t *pr, u_char **line,
    size_t *len)
{
    u_char   *crlf;
    ssize_t   n;

    for ( ;; ) {
        crlf = ngx_strlchr(pr->buf + pr->pos, pr->buf + pr->len, '\n');

        if (crlf != NULL) {
            *line = pr->buf + pr->pos;
            *len = crlf - *line;
            if (*len && (*line)[*len - 1] == '\r') {
                (*len)--;
            }
            pr->pos = crlf + 1 - pr->buf;
            return NGX_OK;
        }

        if (pr->pos) {
            ngx_memmove(pr->buf, pr->buf + pr->pos, pr->len - pr->pos);
            pr->len -= pr->pos;
            pr->pos = 0;
        }

        if (pr->len == sizeof(pr->buf)) {
            return NGX_ERROR;
        }

        n = recv(pr->fd, pr->buf + pr->len, sizeof(pr->buf) - pr->len, 0);

        if (n > 0) {
            pr->len += n;
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            if (ngx_http_s3_kms_probe_wait(pr, POLLIN) != NGX_OK) {
                return NGX_ERROR;
            }
            continue;
        }

        return NGX_ERROR;
    }
}


/*
 * Reads one reply: a status, an error (NGX_ERROR), a bulk string, or an
 * array of bulk strings; copies the string (or the array element
 * want_index) to out.  A nil bulk string copies "".
 */

static ngx_int_t
ngx_http_s3_kms_probe_reply(ngx_http_s3_kms_probe_t *pr, u_char *out,
    size_t outlen, ngx_uint_t want_index)
{
    u_char      *line;
    size_t       len;
    ngx_int_t    n, count, i;

    if (ngx_http_s3_kms_probe_line(pr, &line, &len) != NGX_OK || len == 0) {
        return NGX_ERROR;
    }

    count = 1;
    i = 0;

    if (line[0] == '*') {
        count = ngx_atoi(line + 1, len - 1);
        if (count <= 0 || count > 16) {
            return NGX_ERROR;
        }

        if (ngx_http_s3_kms_probe_line(pr, &line, &len) != NGX_OK
            || len == 0)
        {
            return NGX_ERROR;
        }

    } else {
        want_index = 0;
    }

    for ( ;; ) {

        switch (line[0]) {

        case '+':
            if (out && (ngx_uint_t) i == want_index) {
                ngx_cpystrn(out, line + 1, ngx_min(outlen, len));
            }
            break;

        case '-':
            return NGX_ERROR;

        case '$':
            if (len == 3 && line[1] == '-' && line[2] == '1') {
                break;
            }

            n = ngx_atoi(line + 1, len - 1);
            if (n == NGX_ERROR
                || ngx_http_s3_kms_probe_line(pr, &line, &len) != NGX_OK
                || (ngx_int_t) len != n)
            {
                return NGX_ERROR;
            }

            if (out && (ngx_uint_t) i == want_index) {
                ngx_cpystrn(out, line, ngx_min(outlen, len + 1));
            }
            break;

        default:
            return NGX_ERROR;
        }

        if (++i == count) {
            return NGX_OK;
        }

        if (ngx_http_s3_kms_probe_line(pr, &line, &len) != NGX_OK
            || len == 0)
        {
            return NGX_ERROR;
        }
    }
}
