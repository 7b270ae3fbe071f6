
/*
 * Small request bodies read into memory: the KMS API's JSON and the S3
 * requests whose XML body passes to the backend.  Read unbuffered into a
 * buffer of our own, so a body never goes to a temporary file whatever
 * client_body_buffer_size says; past the limit the rest is read and
 * dropped, and the caller answers with its own error.
 *
 * The module context of the request starts with an
 * ngx_http_s3_kms_membody_t (both the API's and the gateway's do).
 */


#include "ngx_http_s3_kms.h"


static void ngx_http_s3_kms_membody_first(ngx_http_request_t *r);
static void ngx_http_s3_kms_membody_more(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_kms_membody_collect(ngx_http_request_t *r,
    ngx_http_s3_kms_membody_t *mb);


ngx_int_t
ngx_http_s3_kms_membody_read(ngx_http_request_t *r, size_t max,
    ngx_http_s3_kms_membody_done_pt done)
{
    ngx_int_t                   rc;
    ngx_http_s3_kms_membody_t  *mb;

    mb = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    mb->max = max;
    mb->done = done;

    if (r->headers_in.content_length_n > (off_t) max) {
        mb->too_big = 1;
    }

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_s3_kms_membody_first);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_s3_kms_membody_first(ngx_http_request_t *r)
{
    ngx_http_s3_kms_membody_t  *mb;

    mb = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    if (ngx_http_s3_kms_membody_collect(r, mb) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!r->reading_body) {
        mb->done(r);
        return;
    }

    /*
     * More to come.  What is already in the socket must be read now: its
     * read event has fired (edge-triggered) while nginx's buffer was full,
     * and will not fire again for bytes that are already there.
     */

    r->read_event_handler = ngx_http_s3_kms_membody_more;
    ngx_http_s3_kms_membody_more(r);
}


static void
ngx_http_s3_kms_membody_more(ngx_http_request_t *r)
{
    ngx_int_t                   rc, got;
    ngx_http_s3_kms_membody_t  *mb;

    mb = ngx_http_get_module_ctx(r, ngx_http_s3_kms_module);

    for ( ;; ) {
        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            ngx_http_finalize_request(r, rc);
            return;
        }

        got = ngx_http_s3_kms_membody_collect(r, mb);

        if (got == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (rc == NGX_OK) {
            break;
        }

        /* NGX_AGAIN: read again while the buffer gave something up */

        if (got == 0) {
            return;
        }
    }

    r->read_event_handler = ngx_http_block_reading;
    mb->done(r);
}


/*
 * Moves what the body filters produced into mb->body (past the limit:
 * drops it).  Returns the number of bytes taken, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_s3_kms_membody_collect(ngx_http_request_t *r,
    ngx_http_s3_kms_membody_t *mb)
{
    size_t        n, got;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return 0;
    }

    got = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        n = cl->buf->last - cl->buf->pos;

        if (n == 0) {
            continue;
        }

        got += n;

        if (mb->too_big || mb->len + n > mb->max) {
            mb->too_big = 1;
            cl->buf->pos = cl->buf->last;
            continue;
        }

        if (mb->body == NULL) {
            /*
             * Content-Length, if any, is at most mb->max (checked).  A
             * chunked body has none: nginx counts what arrived so far in
             * content_length_n, which is no bound.
             */

            mb->cap = (r->headers_in.content_length_n > 0
                       && !r->headers_in.chunked)
                      ? (size_t) r->headers_in.content_length_n : mb->max;

            mb->body = ngx_pnalloc(r->pool, mb->cap + 1);
            if (mb->body == NULL) {
                return NGX_ERROR;
            }
        }

        if (mb->len + n > mb->cap) {
            return NGX_ERROR;
        }

        ngx_memcpy(mb->body + mb->len, cl->buf->pos, n);
        mb->len += n;
        cl->buf->pos = cl->buf->last;
    }

    r->request_body->bufs = NULL;

    return (ngx_int_t) got;
}
