
/*
 * The audit log: one JSON line per KMS call (kms_core writes the line).
 * Each worker appends whole lines to a buffer and writes it out when it is
 * full, every s3_kms_audit_log flush= interval, before a log reopen
 * (USR1) and at exit — the way access_log buffer= works, and for the same
 * reason: one write(2) of many lines, O_APPEND keeps workers' lines whole.
 */


#include "ngx_http_s3_kms.h"


static void ngx_http_s3_kms_audit_timer(ngx_event_t *ev);
static void ngx_http_s3_kms_audit_file_flush(ngx_open_file_t *file,
    ngx_log_t *log);
static void ngx_http_s3_kms_audit_out(ngx_http_s3_kms_worker_t *w,
    const u_char *p, size_t len);


ngx_int_t
ngx_http_s3_kms_audit_init(ngx_http_s3_kms_worker_t *w)
{
    ngx_http_s3_kms_main_conf_t  *mcf = w->mcf;

    if (mcf->audit_file == NULL) {
        return NGX_OK;
    }

    w->audit_start = ngx_palloc(w->cycle->pool, mcf->audit_buffer);
    if (w->audit_start == NULL) {
        return NGX_ERROR;
    }

    w->audit_pos = w->audit_start;
    w->audit_end = w->audit_start + mcf->audit_buffer;

    w->audit_ev.handler = ngx_http_s3_kms_audit_timer;
    w->audit_ev.data = w;
    w->audit_ev.log = w->log;
    w->audit_ev.cancelable = 1;

    mcf->audit_file->flush = ngx_http_s3_kms_audit_file_flush;
    mcf->audit_file->data = w;

    return NGX_OK;
}


void
ngx_http_s3_kms_audit_write(ngx_http_s3_kms_worker_t *w, const char *line,
    size_t len)
{
    size_t  need;

    if (w->audit_start == NULL) {
        return;
    }

    need = len + 1;

    if (need > (size_t) (w->audit_end - w->audit_pos)) {
        ngx_http_s3_kms_audit_flush(w);
    }

    if (need > (size_t) (w->audit_end - w->audit_pos)) {
        /* a line longer than the buffer goes out on its own */
        ngx_http_s3_kms_audit_out(w, (const u_char *) line, len);
        ngx_http_s3_kms_audit_out(w, (const u_char *) "\n", 1);
        return;
    }

    w->audit_pos = ngx_cpymem(w->audit_pos, line, len);
    *w->audit_pos++ = '\n';

    if (!w->audit_ev.timer_set) {
        ngx_add_timer(&w->audit_ev, w->mcf->audit_flush);
    }
}


void
ngx_http_s3_kms_audit_flush(ngx_http_s3_kms_worker_t *w)
{
    if (w->audit_start == NULL || w->audit_pos == w->audit_start) {
        return;
    }

    ngx_http_s3_kms_audit_out(w, w->audit_start,
                              w->audit_pos - w->audit_start);
    w->audit_pos = w->audit_start;

    if (w->audit_ev.timer_set) {
        ngx_del_timer(&w->audit_ev);
    }
}


static void
ngx_http_s3_kms_audit_out(ngx_http_s3_kms_worker_t *w, const u_char *p,
    size_t len)
{
    ssize_t           n;
    ngx_open_file_t  *file = w->mcf->audit_file;

    n = ngx_write_fd(file->fd, (u_char *) p, len);

    if (n == (ssize_t) len) {
        return;
    }

    if (n == -1) {
        ngx_log_error(NGX_LOG_ALERT, w->log, ngx_errno,
                      ngx_write_fd_n " to the audit log \"%s\" failed",
                      file->name.data);
        return;
    }

    ngx_log_error(NGX_LOG_ALERT, w->log, 0,
                  ngx_write_fd_n " to the audit log \"%s\" was incomplete: "
                  "%z of %uz", file->name.data, n, len);
}


static void
ngx_http_s3_kms_audit_timer(ngx_event_t *ev)
{
    ngx_http_s3_kms_audit_flush(ev->data);
}


static void
ngx_http_s3_kms_audit_file_flush(ngx_open_file_t *file, ngx_log_t *log)
{
    if (file->data) {
        ngx_http_s3_kms_audit_flush(file->data);
    }
}
