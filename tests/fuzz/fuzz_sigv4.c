/*
 * Fuzzes the SigV4 parser (Authorization header and query form), the
 * checks, canonicalization (both path flavours) and the signer on
 * arbitrary requests.
 *
 * Input: an optional first byte below 0x20 with flags (bit 0 S3 paths,
 * bit 1 normalize, bit 2 require x-amz-* signed), then a request as the
 * signing test suite writes it: "METHOD URI HTTP/1.1\n" and "name:value"
 * lines.  The seed corpus is the suite's signed requests.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sigv4.h"


#define FZ_MAX_HEADERS  64


static void
fz_request(const unsigned char *p, size_t len, s3_sigv4_request_t *r,
    s3_header_t *h)
{
    size_t                n;
    const unsigned char  *end = p + len, *eol, *sp, *q, *colon;

    memset(r, 0, sizeof(s3_sigv4_request_t));
    r->headers = h;

    eol = memchr(p, '\n', len);
    if (eol == NULL) {
        eol = end;
    }

    /* METHOD SP URI [SP VERSION] */
    sp = memchr(p, ' ', (size_t) (eol - p));
    if (sp == NULL) {
        r->method.data = p;
        r->method.len = (size_t) (eol - p);

    } else {
        r->method.data = p;
        r->method.len = (size_t) (sp - p);

        q = eol;
        while (q > sp + 1 && q[-1] != ' ') {
            q--;
        }
        if (q == sp + 1) {
            q = eol + 1;
        }

        r->path.data = sp + 1;
        r->path.len = (size_t) (q - 1 - (sp + 1));

        q = memchr(r->path.data, '?', r->path.len);
        if (q != NULL) {
            r->query.data = q + 1;
            r->query.len = (size_t) (r->path.data + r->path.len - q - 1);
            r->path.len = (size_t) (q - r->path.data);
        }
    }

    n = 0;
    p = eol < end ? eol + 1 : end;

    while (p < end && n < FZ_MAX_HEADERS) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon != NULL) {
            h[n].name.data = p;
            h[n].name.len = (size_t) (colon - p);
            h[n].value.data = colon + 1;
            h[n].value.len = (size_t) (eol - colon - 1);
            n++;
        }

        p = eol < end ? eol + 1 : end;
    }

    r->nheaders = n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 out[4096], creq[64], sts[32];
    size_t               outlen;
    unsigned             flags = 0;
    s3_header_t          h[FZ_MAX_HEADERS];
    unsigned char        key[32];
    s3_sigv4_auth_t      a;
    s3_sigv4_conf_t      conf;
    s3_sigv4_sign_t      s;
    s3_sigv4_debug_t     dbg;
    s3_sigv4_request_t   r;

    if (size && data[0] < 0x20) {
        flags = data[0];
        data++;
        size--;
    }

    fz_request(data, size, &r, h);
    memset(key, 0x5a, sizeof(key));

    /* small debug buffers: the copies must truncate safely */
    memset(&dbg, 0, sizeof(dbg));
    dbg.creq = creq;
    dbg.creq_cap = sizeof(creq);
    dbg.sts = sts;
    dbg.sts_cap = sizeof(sts);

    if (s3_sigv4_parse(&r, &a) == S3_OK) {
        memset(&conf, 0, sizeof(conf));
        conf.s3 = flags & 1;
        conf.normalize = (flags >> 1) & 1;
        conf.require_amz_signed = (flags >> 2) & 1;
        conf.now = a.time + (int64_t) (flags >> 3);
        conf.debug = &dbg;

        (void) s3_sigv4_verify(&r, &a, &conf, key);
        (void) s3_sigv4_reason_text(s3_sigv4_reason(&a));

        /* with the scope the request names */
        conf.region = a.region;
        conf.service = a.service;
        (void) s3_sigv4_verify(&r, &a, &conf, key);
    }

    /* the signer over the same request, both forms */
    memset(&s, 0, sizeof(s));
    s.req = r;
    if (r.nheaders > S3_SIGV4_MAX_SIGNED_HEADERS) {
        s.req.nheaders = S3_SIGV4_MAX_SIGNED_HEADERS;
    }
    s.payload_hash.data = (const unsigned char *) S3_SIGV4_UNSIGNED_PAYLOAD;
    s.payload_hash.len = sizeof(S3_SIGV4_UNSIGNED_PAYLOAD) - 1;
    s.amz_date.data = (const unsigned char *) "20150830T123600Z";
    s.amz_date.len = 16;
    s.access_key = r.method;
    s.region.data = (const unsigned char *) "us-east-1";
    s.region.len = 9;
    s.service = r.method.len < 64 ? r.method : s.region;
    s.s3 = flags & 1;
    s.normalize = (flags >> 1) & 1;

    (void) s3_sigv4_sign(&s, key, out, sizeof(out), &outlen, &dbg);

    s.presign = 1;
    s.expires = 3600;
    s.security_token = r.path;
    (void) s3_sigv4_sign(&s, key, out, sizeof(out), &outlen, NULL);

    return 0;
}
