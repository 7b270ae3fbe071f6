/*
 * Fuzz target: request classification and the SSE header rules.
 *
 * Input: fields separated by '\n': method, path, query, Host, then header
 * name / value pairs.  The request is classified (with and without
 * virtual-hosted names) and the SSE rules run for every operation that
 * has them; the last header value is also parsed as an encryption
 * context (JSON), whose canonical form must parse to itself.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_request.h"
#include "s3_sse.h"


#define FUZZ_MAX_FIELDS  40


static void
fuzz_in_bounds(s3_str_t s, const uint8_t *d, size_t n, const s3_request_t *r)
{
    if (s.len == 0) {
        return;
    }

    if (!((s.data >= d && s.data + s.len <= d + n)
          || (s.data >= r->buf && s.data + s.len <= r->buf + sizeof(r->buf))))
    {
        abort();
    }
}


static void
fuzz_check(const s3_request_t *r, s3_err_t rc, const uint8_t *d, size_t n)
{
    if (rc != r->error.err) {
        abort();
    }

    if (rc == S3_OK) {
        if (r->cls == S3_CLASS_INVALID || r->cls == S3_CLASS_NOT_IMPLEMENTED
            || r->cls != s3_op_class(r->op))
        {
            abort();
        }

        if (r->bucket.len
            && !s3_bucket_name_valid(r->bucket.data, r->bucket.len))
        {
            abort();
        }

        if (r->key.len > S3_KEY_MAX || (r->has_key && r->bucket.len == 0)
            || !s3_utf8_valid(r->key.data, r->key.len))
        {
            abort();
        }

        if (r->part_number > S3_PART_MAX) {
            abort();
        }

    } else if (rc == S3_ERR_NOT_IMPLEMENTED) {
        if (r->cls != S3_CLASS_NOT_IMPLEMENTED) {
            abort();
        }

    } else if (r->cls != S3_CLASS_INVALID) {
        abort();
    }

    fuzz_in_bounds(r->bucket, d, n, r);
    fuzz_in_bounds(r->key, d, n, r);
    fuzz_in_bounds(r->version_id, d, n, r);
    fuzz_in_bounds(r->upload_id, d, n, r);
    fuzz_in_bounds(r->copy_bucket, d, n, r);
    fuzz_in_bounds(r->copy_key, d, n, r);
    fuzz_in_bounds(r->copy_version_id, d, n, r);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t            i, nf, nh;
    const uint8_t    *p, *end, *nl;
    s3_str_t          f[FUZZ_MAX_FIELDS];
    s3_header_t       h[FUZZ_MAX_FIELDS / 2];
    s3_request_in_t   in;
    s3_err_t          rc;
    uint8_t          *copy;

    static s3_request_t  r;
    static s3_sse_t      s;
    static s3_sse_ctx_t  c1, c2;

    static const s3_str_t  vhosts[] = {
        { 14, (const unsigned char *) "s3.example.com" },
        { 1, (const unsigned char *) "a" }
    };

    static const s3_op_t  ops[] = {
        S3_OP_PUT_OBJECT, S3_OP_COPY_OBJECT, S3_OP_CREATE_MULTIPART_UPLOAD,
        S3_OP_UPLOAD_PART, S3_OP_UPLOAD_PART_COPY,
        S3_OP_COMPLETE_MULTIPART_UPLOAD, S3_OP_GET_OBJECT, S3_OP_HEAD_OBJECT,
        S3_OP_LIST_PARTS, S3_OP_DELETE_OBJECT
    };

    /* a copy of exactly size bytes, so ASan sees any overread */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    p = copy;
    end = copy + size;
    nf = 0;

    while (nf < FUZZ_MAX_FIELDS) {
        nl = memchr(p, '\n', (size_t) (end - p));
        f[nf].data = p;
        f[nf].len = (size_t) ((nl ? nl : end) - p);
        nf++;

        if (nl == NULL) {
            break;
        }

        p = nl + 1;
    }

    while (nf < 4) {
        f[nf].data = end;
        f[nf].len = 0;
        nf++;
    }

    nh = 0;

    for (i = 4; i + 1 < nf; i += 2) {
        h[nh].name = f[i];
        h[nh].value = f[i + 1];
        nh++;
    }

    memset(&in, 0, sizeof(in));
    in.method = f[0];
    in.path = f[1];
    in.query = f[2];
    in.host = f[3];
    in.headers = h;
    in.nheaders = nh;
    in.vhost_names = vhosts;
    in.nvhost_names = 2;

    rc = s3_request_classify(&in, &r);
    fuzz_check(&r, rc, copy, size);

    in.nvhost_names = 0;
    rc = s3_request_classify(&in, &r);
    fuzz_check(&r, rc, copy, size);

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        rc = s3_sse_parse(ops[i], h, nh, &s);

        if (rc != s.error.err) {
            abort();
        }

        if (rc == S3_OK && s.ctx.npairs && s.ctx.json.len == 0) {
            abort();
        }
    }

    /* canonical contexts are a fixed point */
    if (nf > 0
        && s3_sse_ctx_parse_json(f[nf - 1].data, f[nf - 1].len, &c1) == S3_OK
        && c1.npairs)
    {
        if (s3_sse_ctx_parse_json(c1.json.data, c1.json.len, &c2) != S3_OK
            || c2.npairs != c1.npairs || c2.json.len != c1.json.len
            || memcmp(c2.json.data, c1.json.data, c1.json.len) != 0)
        {
            abort();
        }
    }

    free(copy);

    return 0;
}
