/*
 * AWS Signature Version 4, server and client side.
 *
 * The canonical request is never built in memory: it is written through
 * a small staging buffer into SHA-256 (s3_sink_t), with an optional copy
 * for debugging.  Query parameters are sorted by their canonical
 * (re-encoded) form without re-encoding them first: the order of two
 * encoded strings equals the order of their decoded bytes weighted so that
 * every escaped byte sorts before every unreserved one (s3_enc_cmp()).
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_crypto.h"
#include "s3_sigv4.h"


typedef struct {
    kms_sha256_t       *sha;        /* only once buf overflowed */
    kms_sha256_t       *reuse;      /* the caller's handle, or NULL */
    s3_sigv4_debug_t   *debug;
    size_t              n;
    int                 failed;
    int                 started;    /* sha holds a digest under way */
    int                 copy;       /* into debug->creq as well */
    unsigned char       buf[2048];
} s3_sink_t;


typedef struct {
    s3_str_t  name;
    s3_str_t  value;
} s3_param_t;


/* what goes into one canonical request */
typedef struct {
    const s3_sigv4_request_t  *req;
    const s3_str_t            *names;       /* sorted, unique */
    size_t                     nnames;
    const s3_param_t          *extra;       /* encoded auth parameters */
    size_t                     nextra;
    s3_str_t                   payload_hash;
    unsigned                   s3:1;
    unsigned                   normalize:1;
    unsigned                   skip_signature:1;
} s3_canon_t;


typedef struct {
    char    *p;
    size_t   cap;
    size_t   len;
} s3_out_t;


static void s3_sink_init(s3_sink_t *s, s3_sigv4_debug_t *debug,
    kms_sha256_t *reuse);
static void s3_sink_flush(s3_sink_t *s);
static void s3_sink_put(s3_sink_t *s, const void *p, size_t len);
static void s3_sink_byte(s3_sink_t *s, unsigned char c);
static int s3_sink_final(s3_sink_t *s, unsigned char out[32]);
static void s3_sink_encode(s3_sink_t *s, const unsigned char *p, size_t len,
    int keep_slash);
static void s3_sink_reencode(s3_sink_t *s, const unsigned char *p,
    size_t len, int keep_slash);
static void s3_sink_lower(s3_sink_t *s, s3_str_t v);
static void s3_sink_value(s3_sink_t *s, s3_str_t v);

static int s3_unreserved(unsigned c);
static int s3_hexval(unsigned c);
static int s3_pct_valid(s3_str_t v);
static int s3_pct_next(const unsigned char **p, const unsigned char *end);
static int s3_pct_eq(s3_str_t raw, const char *lit);
static int s3_enc_cmp(s3_str_t a, s3_str_t b);
static int s3_param_cmp(const void *x, const void *y);
static int s3_query_next(const unsigned char **pos, const unsigned char *end,
    s3_param_t *p);

static const unsigned char *s3_end(s3_str_t v);
static int s3_is_space(unsigned c);
static unsigned s3_lower(unsigned c);
static int s3_caseeq2(s3_str_t a, s3_str_t b);
static int s3_casecmp(s3_str_t a, s3_str_t b);
static int s3_eq(s3_str_t a, const char *lit);
static size_t s3_headers_find(const s3_sigv4_request_t *r, const char *name,
    s3_str_t *value);

static s3_sigv4_reason_t s3_parse_header_auth(s3_sigv4_auth_t *a,
    s3_str_t value);
static s3_sigv4_reason_t s3_parse_query_auth(const s3_sigv4_request_t *r,
    s3_sigv4_auth_t *a);
static s3_sigv4_reason_t s3_parse_credential(s3_sigv4_auth_t *a,
    s3_str_t cred);
static s3_sigv4_reason_t s3_parse_signed_headers(s3_sigv4_auth_t *a,
    s3_str_t list);
static void s3_parse_signature(s3_sigv4_auth_t *a, s3_str_t sig);
static s3_sigv4_reason_t s3_decode_into(s3_sigv4_auth_t *a, s3_str_t raw,
    s3_str_t *out);
static int s3_sort_names(s3_str_t *names, size_t n);

static int s3_digits(const unsigned char *p, size_t n, int *out);
static int s3_valid_civil(int y, int m, int d, int hh, int mm, int ss);
static int s3_parse_iso8601(s3_str_t v, int64_t *t);
static int s3_parse_http_date(s3_str_t v, int64_t *t);
static int64_t s3_days_from_civil(int64_t y, int m, int d);

static s3_sigv4_reason_t s3_canonical_request(const s3_canon_t *c,
    s3_sink_t *s);
static s3_sigv4_reason_t s3_canonical_path(const s3_canon_t *c,
    s3_sink_t *s);
static s3_sigv4_reason_t s3_canonical_query(const s3_canon_t *c,
    s3_sink_t *s);
static s3_sigv4_reason_t s3_string_to_sign(const unsigned char hash[32],
    s3_str_t amz_date, s3_str_t scope, const unsigned char key[32],
    kms_hmac_t *key_hmac, unsigned char mac[32], s3_sigv4_debug_t *debug);

static s3_sigv4_reason_t s3_fail(s3_sigv4_auth_t *a,
    s3_sigv4_reason_t reason);

static void s3_out_put(s3_out_t *o, const void *p, size_t len);
static void s3_out_str(s3_out_t *o, const char *s);
static void s3_out_encode(s3_out_t *o, const unsigned char *p, size_t len);


static const char  s3_hexu[] = "0123456789ABCDEF";


/* ---- small helpers ------------------------------------------------------- */

static int
s3_unreserved(unsigned c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~';
}


static int
s3_hexval(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return (int) (c - '0');
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return (int) (c - 'a' + 10);
    }

    return -1;
}


/* the end of a view; an empty view may have no data (nginx's args) */
static const unsigned char *
s3_end(s3_str_t v)
{
    return v.len ? v.data + v.len : v.data;
}


static int
s3_is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
           || c == '\f';
}


static unsigned
s3_lower(unsigned c)
{
    return (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
}


static int
s3_eq(s3_str_t a, const char *lit)
{
    size_t  n = strlen(lit);

    return a.len == n && memcmp(a.data, lit, n) == 0;
}


int
s3_str_caseeq(s3_str_t a, const char *lit)
{
    size_t    i, n = strlen(lit);
    unsigned  x, y;

    if (a.len != n) {
        return 0;
    }

    /* names come lowercase, as the literals: fold only where bytes differ */
    for (i = 0; i < n; i++) {
        x = a.data[i];
        y = (unsigned char) lit[i];
        if (x != y && s3_lower(x) != s3_lower(y)) {
            return 0;
        }
    }

    return 1;
}


static int
s3_caseeq2(s3_str_t a, s3_str_t b)
{
    return a.len == b.len && s3_casecmp(a, b) == 0;
}


static int
s3_casecmp(s3_str_t a, s3_str_t b)
{
    size_t    i, n = a.len < b.len ? a.len : b.len;
    unsigned  x, y;

    for (i = 0; i < n; i++) {
        x = a.data[i];
        y = b.data[i];
        if (x == y) {
            continue;
        }
        x = s3_lower(x);
        y = s3_lower(y);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }

    return a.len == b.len ? 0 : (a.len < b.len ? -1 : 1);
}


s3_str_t
s3_str_trim(s3_str_t v)
{
    while (v.len && (v.data[0] == ' ' || v.data[0] == '\t')) {
        v.data++;
        v.len--;
    }

    while (v.len && (v.data[v.len - 1] == ' ' || v.data[v.len - 1] == '\t')) {
        v.len--;
    }

    return v;
}


/* returns how many headers carry the name; *value gets the first one */
static size_t
s3_headers_find(const s3_sigv4_request_t *r, const char *name,
    s3_str_t *value)
{
    size_t  i, n = 0, len = strlen(name);

    for (i = 0; i < r->nheaders; i++) {
        /* the length first: most headers differ in it */
        if (r->headers[i].name.len == len
            && s3_str_caseeq(r->headers[i].name, name))
        {
            if (n++ == 0 && value != NULL) {
                *value = r->headers[i].value;
            }
        }
    }

    return n;
}


/* ---- percent-encoding ---------------------------------------------------- */

static int
s3_pct_valid(s3_str_t v)
{
    size_t  i;

    for (i = 0; i < v.len; i++) {
        if (v.data[i] == '%') {
            if (i + 2 >= v.len) {
                return 0;
            }
            if (s3_hexval(v.data[i + 1]) < 0
                || s3_hexval(v.data[i + 2]) < 0)
            {
                return 0;
            }
            i += 2;
        }
    }

    return 1;
}


/* next decoded byte of a valid %-encoded string, -1 at the end */
static int
s3_pct_next(const unsigned char **p, const unsigned char *end)
{
    int                   c;
    const unsigned char  *q = *p;

    if (q >= end) {
        return -1;
    }

    if (*q == '%' && end - q >= 3) {
        int  h = s3_hexval(q[1]), l = s3_hexval(q[2]);

        if (h >= 0 && l >= 0) {
            *p = q + 3;
            return h << 4 | l;
        }
    }

    c = *q;
    *p = q + 1;

    return c;
}


static int
s3_pct_eq(s3_str_t raw, const char *lit)
{
    int                   c;
    const unsigned char  *p = raw.data, *end = s3_end(raw);

    for ( ;; ) {
        c = s3_pct_next(&p, end);
        if (c < 0) {
            return *lit == '\0';
        }
        if (*lit == '\0' || c != (unsigned char) *lit++) {
            return 0;
        }
    }
}


/*
 * Orders two %-encoded strings as their canonical encodings would sort:
 * an escaped byte "%XY" sorts before every unreserved character (all of
 * them are above '%'), escaped bytes among themselves by value (hex digits
 * sort like their values), unreserved ones by value.
 */
static int
s3_enc_cmp(s3_str_t a, s3_str_t b)
{
    int                   x, y;
    const unsigned char  *p = a.data, *pe = s3_end(a);
    const unsigned char  *q = b.data, *qe = s3_end(b);

    for ( ;; ) {
        x = s3_pct_next(&p, pe);
        y = s3_pct_next(&q, qe);

        if (x < 0 || y < 0) {
            return (x >= 0) - (y >= 0);
        }

        if (s3_unreserved((unsigned) x)) {
            x += 256;
        }
        if (s3_unreserved((unsigned) y)) {
            y += 256;
        }

        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
}


static int
s3_param_cmp(const void *x, const void *y)
{
    int                 rc;
    const s3_param_t   *a = x, *b = y;

    rc = s3_enc_cmp(a->name, b->name);
    if (rc != 0) {
        return rc;
    }

    return s3_enc_cmp(a->value, b->value);
}


/* next non-empty "name[=value]" of a query string */
static int
s3_query_next(const unsigned char **pos, const unsigned char *end,
    s3_param_t *p)
{
    const unsigned char  *s, *amp, *eq;

    for ( ;; ) {
        s = *pos;
        if (s >= end) {
            return 0;
        }

        amp = memchr(s, '&', (size_t) (end - s));
        if (amp == NULL) {
            amp = end;
        }

        *pos = amp < end ? amp + 1 : end;

        if (amp > s) {
            break;
        }
    }

    eq = memchr(s, '=', (size_t) (amp - s));

    p->name.data = s;
    if (eq != NULL) {
        p->name.len = (size_t) (eq - s);
        p->value.data = eq + 1;
        p->value.len = (size_t) (amp - eq - 1);

    } else {
        p->name.len = (size_t) (amp - s);
        p->value.data = amp;
        p->value.len = 0;
    }

    return 1;
}


/* ---- the sink: SHA-256 of the canonical request, plus a copy ------------- */

static void
s3_sink_init(s3_sink_t *s, s3_sigv4_debug_t *debug, kms_sha256_t *reuse)
{
    s->sha = NULL;
    s->reuse = reuse;
    s->debug = debug;
    s->n = 0;
    s->failed = 0;
    s->started = 0;
    s->copy = debug != NULL && debug->creq != NULL;

    if (debug != NULL) {
        debug->creq_len = 0;
        debug->sts_len = 0;
        debug->signature[0] = '\0';
    }
}


static void
s3_sink_flush(s3_sink_t *s)
{
    if (s->failed) {
        s->n = 0;
        return;
    }

    if (s->sha == NULL) {
        s->sha = s->reuse ? s->reuse : kms_sha256_new();
        if (s->sha == NULL) {
            s->failed = 1;
            s->n = 0;
            return;
        }
    }

    if (!s->started) {
        s->started = 1;

        if (kms_sha256_reset(s->sha) != 0) {
            s->failed = 1;
            s->n = 0;
            return;
        }
    }

    if (kms_sha256_update(s->sha, s->buf, s->n) != 0) {
        s->failed = 1;
    }

    s->n = 0;
}


static void
s3_sink_put(s3_sink_t *s, const void *p, size_t len)
{
    size_t                room;
    const unsigned char  *q = p;
    s3_sigv4_debug_t     *d = s->debug;

    if (len == 0) {
        return;
    }

    if (d != NULL && d->creq != NULL) {
        if (d->creq_len < d->creq_cap) {
            room = d->creq_cap - d->creq_len;
            memcpy(d->creq + d->creq_len, q, len < room ? len : room);
        }
        d->creq_len += len;
    }

    while (len) {
        room = sizeof(s->buf) - s->n;
        if (room == 0) {
            s3_sink_flush(s);
            room = sizeof(s->buf);
        }

        if (room > len) {
            room = len;
        }

        memcpy(s->buf + s->n, q, room);
        s->n += room;
        q += room;
        len -= room;
    }
}


static void
s3_sink_byte(s3_sink_t *s, unsigned char c)
{
    if (s->n < sizeof(s->buf) && !s->copy) {
        s->buf[s->n++] = c;
        return;
    }

    s3_sink_put(s, &c, 1);
}


static int
s3_sink_final(s3_sink_t *s, unsigned char out[32])
{
    int                rc;
    s3_sigv4_debug_t  *d = s->debug;

    if (d != NULL && d->creq != NULL && d->creq_cap) {
        d->creq[d->creq_len < d->creq_cap ? d->creq_len
                                          : d->creq_cap - 1] = '\0';
    }

    if (s->sha == NULL && !s->failed) {
        /* all of it in buf: one digest */
        return s->reuse ? kms_sha256_digest(s->reuse, s->buf, s->n, out)
                        : kms_sha256(s->buf, s->n, out);
    }

    if (s->n) {
        s3_sink_flush(s);
    }

    rc = -1;
    if (!s->failed && s->sha != NULL) {
        rc = kms_sha256_final(s->sha, out);
    }

    if (s->sha != s->reuse) {
        kms_sha256_free(s->sha);
    }

    s->sha = NULL;

    return rc;
}


/* raw bytes, encoded: unreserved (and '/' if asked) kept, others %XX */
static void
s3_sink_encode(s3_sink_t *s, const unsigned char *p, size_t len,
    int keep_slash)
{
    size_t         run;
    unsigned char  esc[3];

    while (len) {
        for (run = 0; run < len; run++) {
            if (!s3_unreserved(p[run]) && !(keep_slash && p[run] == '/')) {
                break;
            }
        }

        if (run) {
            s3_sink_put(s, p, run);
            p += run;
            len -= run;
            continue;
        }

        esc[0] = '%';
        esc[1] = (unsigned char) s3_hexu[*p >> 4];
        esc[2] = (unsigned char) s3_hexu[*p & 15];
        s3_sink_put(s, esc, 3);
        p++;
        len--;
    }
}


/* a %-encoded string, decoded and encoded again */
static void
s3_sink_reencode(s3_sink_t *s, const unsigned char *p, size_t len,
    int keep_slash)
{
    int                   c;
    unsigned char         b;
    const unsigned char  *end;

    if (len == 0) {
        return;
    }

    end = p + len;

    for ( ;; ) {
        c = s3_pct_next(&p, end);
        if (c < 0) {
            return;
        }

        b = (unsigned char) c;
        s3_sink_encode(s, &b, 1, keep_slash);
    }
}


static void
s3_sink_lower(s3_sink_t *s, s3_str_t v)
{
    size_t         i;
    uint64_t       w, x, up;
    unsigned char *d;
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t top = 0x8080808080808080ULL;

    if (!s->copy && v.len <= sizeof(s->buf) - s->n) {
        d = s->buf + s->n;

        /*
         * Eight bytes a step: signed names come lowercase from the SDKs,
         * so a word without 'A'..'Z' goes as it is; else each of its
         * uppercase letters gets 0x20 (x has no high bits, so no byte
         * carries into the next).
         */
        for (i = 0; i + 8 <= v.len; i += 8) {
            memcpy(&w, v.data + i, 8);
            x = w & ~top;
            up = (x + ones * (0x80 - 'A')) & ~(x + ones * (0x80 - 'Z' - 1))
                 & ~w & top;
            w |= up >> 2;
            memcpy(d + i, &w, 8);
        }

        for ( /* void */ ; i < v.len; i++) {
            d[i] = (unsigned char) s3_lower(v.data[i]);
        }

        s->n += v.len;
        return;
    }

    for (i = 0; i < v.len; i++) {
        s3_sink_byte(s, (unsigned char) s3_lower(v.data[i]));
    }
}


/* a header value: trimmed, inner runs of white space made one space */
static void
s3_sink_value(s3_sink_t *s, s3_str_t v)
{
    size_t  i, run;

    while (v.len && s3_is_space(v.data[0])) {
        v.data++;
        v.len--;
    }

    while (v.len && s3_is_space(v.data[v.len - 1])) {
        v.len--;
    }

    i = 0;
    while (i < v.len) {
        for (run = i; run < v.len && !s3_is_space(v.data[run]); run++) {
            /* void */
        }

        s3_sink_put(s, v.data + i, run - i);

        if (run == v.len) {
            break;
        }

        s3_sink_byte(s, ' ');

        for (i = run; i < v.len && s3_is_space(v.data[i]); i++) {
            /* void */
        }
    }
}


/* ---- canonical request --------------------------------------------------- */

static s3_sigv4_reason_t
s3_canonical_path(const s3_canon_t *c, s3_sink_t *s)
{
    int                   trailing;
    size_t                n, i;
    s3_str_t              path, seg[S3_SIGV4_MAX_PATH_SEGMENTS];
    const unsigned char  *p, *end, *slash;

    path = c->req->path;

    if (path.len == 0) {
        s3_sink_byte(s, '/');
        return S3_SIGV4_OK;
    }

    if (c->s3) {
        if (!s3_pct_valid(path)) {
            return S3_SIGV4_BAD_ENCODING;
        }

        s3_sink_reencode(s, path.data, path.len, 1);
        return S3_SIGV4_OK;
    }

    if (!c->normalize) {
        s3_sink_encode(s, path.data, path.len, 1);
        return S3_SIGV4_OK;
    }

    /* remove "", "." and ".." segments, keep a trailing slash */

    n = 0;
    p = path.data;
    end = path.data + path.len;

    for ( ;; ) {
        slash = p < end ? memchr(p, '/', (size_t) (end - p)) : NULL;
        if (slash == NULL) {
            slash = end;
        }

        i = (size_t) (slash - p);

        if (i == 0 || (i == 1 && p[0] == '.')) {
            /* nothing */

        } else if (i == 2 && p[0] == '.' && p[1] == '.') {
            if (n) {
                n--;
            }

        } else {
            if (n == S3_SIGV4_MAX_PATH_SEGMENTS) {
                return S3_SIGV4_TOO_LARGE;
            }
            seg[n].data = p;
            seg[n++].len = i;
        }

        if (slash == end) {
            break;
        }

        p = slash + 1;
    }

    trailing = path.data[path.len - 1] == '/';

    s3_sink_byte(s, '/');

    for (i = 0; i < n; i++) {
        s3_sink_encode(s, seg[i].data, seg[i].len, 1);
        if (i + 1 < n || trailing) {
            s3_sink_byte(s, '/');
        }
    }

    return S3_SIGV4_OK;
}


static s3_sigv4_reason_t
s3_canonical_query(const s3_canon_t *c, s3_sink_t *s)
{
    size_t                n, i;
    s3_param_t            prm[S3_SIGV4_MAX_QUERY_PARAMS], q;
    const unsigned char  *pos, *end;

    n = 0;
    pos = c->req->query.data;
    end = s3_end(c->req->query);

    while (s3_query_next(&pos, end, &q)) {
        if (!s3_pct_valid(q.name) || !s3_pct_valid(q.value)) {
            return S3_SIGV4_BAD_ENCODING;
        }

        if (c->skip_signature && s3_pct_eq(q.name, "X-Amz-Signature")) {
            continue;
        }

        if (n == S3_SIGV4_MAX_QUERY_PARAMS) {
            return S3_SIGV4_TOO_LARGE;
        }

        prm[n++] = q;
    }

    for (i = 0; i < c->nextra; i++) {
        if (n == S3_SIGV4_MAX_QUERY_PARAMS) {
            return S3_SIGV4_TOO_LARGE;
        }

        prm[n++] = c->extra[i];
    }

    if (n > 1) {
        qsort(prm, n, sizeof(s3_param_t), s3_param_cmp);
    }

    for (i = 0; i < n; i++) {
        if (i) {
            s3_sink_byte(s, '&');
        }

        s3_sink_reencode(s, prm[i].name.data, prm[i].name.len, 0);
        s3_sink_byte(s, '=');
        s3_sink_reencode(s, prm[i].value.data, prm[i].value.len, 0);
    }

    return S3_SIGV4_OK;
}


static s3_sigv4_reason_t
s3_canonical_request(const s3_canon_t *c, s3_sink_t *s)
{
    size_t                     i, j, k;
    s3_sigv4_reason_t          rc;
    const s3_sigv4_request_t  *r = c->req;

    s3_sink_put(s, r->method.data, r->method.len);
    s3_sink_byte(s, '\n');

    rc = s3_canonical_path(c, s);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }
    s3_sink_byte(s, '\n');

    rc = s3_canonical_query(c, s);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }
    s3_sink_byte(s, '\n');

    for (i = 0; i < c->nnames; i++) {
        s3_sink_lower(s, c->names[i]);
        s3_sink_byte(s, ':');

        for (j = 0, k = 0; j < r->nheaders; j++) {
            if (s3_caseeq2(r->headers[j].name, c->names[i])) {
                if (k++) {
                    s3_sink_byte(s, ',');
                }
                s3_sink_value(s, r->headers[j].value);
            }
        }

        s3_sink_byte(s, '\n');
    }

    s3_sink_byte(s, '\n');

    for (i = 0; i < c->nnames; i++) {
        if (i) {
            s3_sink_byte(s, ';');
        }
        s3_sink_lower(s, c->names[i]);
    }

    s3_sink_byte(s, '\n');
    s3_sink_put(s, c->payload_hash.data, c->payload_hash.len);

    return S3_SIGV4_OK;
}


static s3_sigv4_reason_t
s3_string_to_sign(const unsigned char hash[32], s3_str_t amz_date,
    s3_str_t scope, const unsigned char key[32], kms_hmac_t *key_hmac,
    unsigned char mac[32], s3_sigv4_debug_t *debug)
{
    size_t     i, n;
    char       hex[65];
    kms_iov_t  iov[6];

    kms_hex(hash, 32, hex);

    iov[0].base = S3_SIGV4_ALGORITHM "\n";
    iov[0].len = sizeof(S3_SIGV4_ALGORITHM);
    iov[1].base = amz_date.data;
    iov[1].len = amz_date.len;
    iov[2].base = "\n";
    iov[2].len = 1;
    iov[3].base = scope.data;
    iov[3].len = scope.len;
    iov[4].base = "\n";
    iov[4].len = 1;
    iov[5].base = hex;
    iov[5].len = 64;

    if (debug != NULL && debug->sts != NULL && debug->sts_cap) {
        debug->sts_len = 0;
        for (i = 0; i < 6; i++) {
            n = iov[i].len;
            if (debug->sts_len + n < debug->sts_cap) {
                memcpy(debug->sts + debug->sts_len, iov[i].base, n);
            }
            debug->sts_len += n;
        }
        debug->sts[debug->sts_len < debug->sts_cap ? debug->sts_len
                                                   : debug->sts_cap - 1]
            = '\0';
    }

    if ((key_hmac != NULL ? kms_hmac_mac(key_hmac, iov, 6, mac)
                          : kms_hmac_sha256_iov(key, 32, iov, 6, mac))
        != 0)
    {
        return S3_SIGV4_INTERNAL;
    }

    if (debug != NULL) {
        kms_hex(mac, 32, debug->signature);
    }

    return S3_SIGV4_OK;
}


/* ---- dates --------------------------------------------------------------- */

static int64_t
s3_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
s3_valid_civil(int y, int m, int d, int hh, int mm, int ss)
{
    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) {
        return 0;
    }

    if (m == 2 && d == 29
        && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    {
        return 0;
    }

    return hh <= 23 && mm <= 59 && ss <= 59;
}


static int
s3_digits(const unsigned char *p, size_t n, int *out)
{
    size_t  i;
    int     v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        v = v * 10 + (p[i] - '0');
    }

    *out = v;

    return 1;
}


/* YYYYMMDDTHHMMSSZ */
static int
s3_parse_iso8601(s3_str_t v, int64_t *t)
{
    int                   y, m, d, hh, mm, ss;
    const unsigned char  *p = v.data;

    if (v.len != 16 || p[8] != 'T' || p[15] != 'Z'
        || !s3_digits(p, 4, &y) || !s3_digits(p + 4, 2, &m)
        || !s3_digits(p + 6, 2, &d) || !s3_digits(p + 9, 2, &hh)
        || !s3_digits(p + 11, 2, &mm) || !s3_digits(p + 13, 2, &ss)
        || !s3_valid_civil(y, m, d, hh, mm, ss))
    {
        return 0;
    }

    *t = s3_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;

    return 1;
}


/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" */
static int
s3_parse_http_date(s3_str_t v, int64_t *t)
{
    int                   y, m, d, hh, mm, ss;
    const unsigned char  *p = v.data;
    static const char     months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' '
        || p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':'
        || p[25] != ' ' || memcmp(p + 26, "GMT", 3) != 0
        || !s3_digits(p + 5, 2, &d) || !s3_digits(p + 12, 4, &y)
        || !s3_digits(p + 17, 2, &hh) || !s3_digits(p + 20, 2, &mm)
        || !s3_digits(p + 23, 2, &ss))
    {
        return 0;
    }

    for (m = 0; m < 12; m++) {
        if (memcmp(p + 8, months + 3 * m, 3) == 0) {
            break;
        }
    }

    m++;

    if (m > 12 || !s3_valid_civil(y, m, d, hh, mm, ss)) {
        return 0;
    }

    *t = s3_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;

    return 1;
}


void
s3_sigv4_format_date(int64_t t, char out[17])
{
    int64_t  days, secs, z, era, doe, yoe, y, doy, mp, d, m;

    days = t / 86400;
    secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }

    /* civil from days, Howard Hinnant's algorithm */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;

    if (y < 0 || y > 9999) {
        y = 0;
    }

    out[0] = (char) ('0' + y / 1000);
    out[1] = (char) ('0' + y / 100 % 10);
    out[2] = (char) ('0' + y / 10 % 10);
    out[3] = (char) ('0' + y % 10);
    out[4] = (char) ('0' + m / 10);
    out[5] = (char) ('0' + m % 10);
    out[6] = (char) ('0' + d / 10);
    out[7] = (char) ('0' + d % 10);
    out[8] = 'T';
    out[9] = (char) ('0' + secs / 36000);
    out[10] = (char) ('0' + secs / 3600 % 10);
    out[11] = (char) ('0' + secs % 3600 / 600);
    out[12] = (char) ('0' + secs % 3600 / 60 % 10);
    out[13] = (char) ('0' + secs % 60 / 10);
    out[14] = (char) ('0' + secs % 10);
    out[15] = 'Z';
    out[16] = '\0';
}


/* ---- parsing ------------------------------------------------------------- */

static s3_sigv4_reason_t
s3_fail(s3_sigv4_auth_t *a, s3_sigv4_reason_t reason)
{
    a->reason = reason;
    return reason;
}


static s3_sigv4_reason_t
s3_parse_credential(s3_sigv4_auth_t *a, s3_str_t cred)
{
    int                   d;
    size_t                i;
    s3_str_t             *part[5];
    const unsigned char  *p, *end, *slash;

    part[0] = &a->access_key;
    part[1] = &a->date;
    part[2] = &a->region;
    part[3] = &a->service;
    part[4] = &a->terminator;

    if (cred.len == 0) {
        return S3_SIGV4_BAD_CREDENTIAL;
    }

    p = cred.data;
    end = cred.data + cred.len;

    for (i = 0; i < 5; i++) {
        slash = memchr(p, '/', (size_t) (end - p));
        if (slash == NULL) {
            slash = end;
        }

        if ((i < 4) != (slash < end) || slash == p) {
            return S3_SIGV4_BAD_CREDENTIAL;
        }

        part[i]->data = p;
        part[i]->len = (size_t) (slash - p);

        if (slash < end) {
            p = slash + 1;
        }
    }

    if (a->date.len != 8 || !s3_digits(a->date.data, 8, &d)) {
        return S3_SIGV4_BAD_CREDENTIAL;
    }

    a->scope.data = a->date.data;
    a->scope.len = (size_t) (end - a->date.data);

    return S3_SIGV4_OK;
}


/*
 * HTTP token characters (RFC 9110): visible ASCII but for the separators
 * "(),/:;<=>?@[\]{} and the double quote; a table, not a strchr() per byte.
 */
static const unsigned char  s3_token[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1
};


/* insertion sort, case-insensitive; 0 if a name repeats */
static int
s3_sort_names(s3_str_t *names, size_t n)
{
    size_t    i, j;
    s3_str_t  t;

    for (i = 1; i < n; i++) {
        t = names[i];
        for (j = i; j > 0 && s3_casecmp(names[j - 1], t) > 0; j--) {
            names[j] = names[j - 1];
        }
        names[j] = t;
    }

    for (i = 1; i < n; i++) {
        if (s3_casecmp(names[i - 1], names[i]) == 0) {
            return 0;
        }
    }

    return 1;
}


static s3_sigv4_reason_t
s3_parse_signed_headers(s3_sigv4_auth_t *a, s3_str_t list)
{
    size_t                n;
    const unsigned char  *p, *end, *semi, *q;

    a->signed_headers = list;

    if (list.len == 0) {
        return S3_SIGV4_BAD_SIGNED_HEADERS;
    }

    n = 0;
    p = list.data;
    end = list.data + list.len;

    for ( ;; ) {
        semi = memchr(p, ';', (size_t) (end - p));
        if (semi == NULL) {
            semi = end;
        }

        if (semi == p) {
            return S3_SIGV4_BAD_SIGNED_HEADERS;
        }

        for (q = p; q < semi; q++) {
            if (!s3_token[*q]) {
                return S3_SIGV4_BAD_SIGNED_HEADERS;
            }
        }

        if (n == S3_SIGV4_MAX_SIGNED_HEADERS) {
            return S3_SIGV4_TOO_LARGE;
        }

        a->signed_names[n].data = p;
        a->signed_names[n++].len = (size_t) (semi - p);

        if (semi == end) {
            break;
        }

        p = semi + 1;
        if (p == end) {
            return S3_SIGV4_BAD_SIGNED_HEADERS;
        }
    }

    a->nsigned = n;

    if (!s3_sort_names(a->signed_names, n)) {
        return S3_SIGV4_BAD_SIGNED_HEADERS;
    }

    return S3_SIGV4_OK;
}


/* lowercase hex digits: value + 1; 0 for any other byte */
static const unsigned char  s3_hex_lc[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
    ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16
};


static void
s3_parse_signature(s3_sigv4_auth_t *a, s3_str_t sig)
{
    size_t    i;
    unsigned  h, l, bad;

    a->signature = sig;
    a->sig_valid = 0;

    if (sig.len != 64) {
        return;
    }

    /* lowercase hex only, as AWS compares the strings */
    bad = 0;

    for (i = 0; i < 32; i++) {
        h = s3_hex_lc[sig.data[2 * i]];
        l = s3_hex_lc[sig.data[2 * i + 1]];
        bad |= (h == 0) | (l == 0);
        a->sig[i] = (unsigned char) ((h - 1) << 4 | ((l - 1) & 0x0f));
    }

    if (bad) {
        return;
    }

    a->sig_valid = 1;
}


static s3_sigv4_reason_t
s3_parse_header_auth(s3_sigv4_auth_t *a, s3_str_t value)
{
    size_t                alen = sizeof(S3_SIGV4_ALGORITHM) - 1;
    s3_str_t              key, val, cred, list, sig;
    unsigned              seen;
    s3_sigv4_reason_t     rc;
    const unsigned char  *p, *end, *eq, *comma;

    value = s3_str_trim(value);

    if (value.len < alen
        || memcmp(value.data, S3_SIGV4_ALGORITHM, alen) != 0)
    {
        return S3_SIGV4_UNSUPPORTED;
    }

    p = value.data + alen;
    end = value.data + value.len;

    /* "AWS4-HMAC-SHA256-PAYLOAD ..." or SigV4A are other schemes */
    if (p < end && *p != ' ' && *p != '\t') {
        return S3_SIGV4_UNSUPPORTED;
    }

    seen = 0;
    cred.len = list.len = sig.len = 0;
    cred.data = list.data = sig.data = NULL;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            break;
        }

        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        eq = memchr(p, '=', (size_t) (comma - p));
        if (eq == NULL) {
            return S3_SIGV4_MALFORMED;
        }

        key.data = p;
        key.len = (size_t) (eq - p);
        key = s3_str_trim(key);
        val.data = eq + 1;
        val.len = (size_t) (comma - eq - 1);
        val = s3_str_trim(val);

        if (s3_eq(key, "Credential") && !(seen & 1)) {
            cred = val;
            seen |= 1;

        } else if (s3_eq(key, "SignedHeaders") && !(seen & 2)) {
            list = val;
            seen |= 2;

        } else if (s3_eq(key, "Signature") && !(seen & 4)) {
            sig = val;
            seen |= 4;

        } else {
            return S3_SIGV4_MALFORMED;
        }

        p = comma < end ? comma + 1 : end;
    }

    if (seen != 7 || sig.len == 0) {
        return S3_SIGV4_MALFORMED;
    }

    rc = s3_parse_credential(a, cred);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    rc = s3_parse_signed_headers(a, list);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    s3_parse_signature(a, sig);

    return S3_SIGV4_OK;
}


/* percent-decodes a query value into a->buf */
static s3_sigv4_reason_t
s3_decode_into(s3_sigv4_auth_t *a, s3_str_t raw, s3_str_t *out)
{
    int                   c;
    unsigned char        *dst;
    const unsigned char  *p = raw.data, *end = s3_end(raw);

    if (!s3_pct_valid(raw)) {
        return S3_SIGV4_BAD_ENCODING;
    }

    dst = a->buf + a->used;
    out->data = dst;

    while ((c = s3_pct_next(&p, end)) >= 0) {
        if (a->used == sizeof(a->buf)) {
            return S3_SIGV4_TOO_LARGE;
        }
        a->buf[a->used++] = (unsigned char) c;
    }

    out->len = (size_t) (a->buf + a->used - dst);

    return S3_SIGV4_OK;
}


static s3_sigv4_reason_t
s3_parse_query_auth(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a)
{
    int                   i, found;
    int64_t               exp;
    s3_str_t              v[7], dec;
    s3_param_t            q;
    s3_sigv4_reason_t     rc;
    const unsigned char  *pos, *end;

    static const char    *names[7] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
        "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
        "X-Amz-Security-Token"
    };

    found = 0;
    pos = r->query.data;
    end = s3_end(r->query);

    while (s3_query_next(&pos, end, &q)) {
        for (i = 0; i < 7; i++) {
            if (s3_pct_eq(q.name, names[i])) {
                if (found & (1 << i)) {
                    return S3_SIGV4_MALFORMED;
                }
                found |= 1 << i;
                v[i] = q.value;
                break;
            }
        }
    }

    if ((found & 0x3f) != 0x3f) {
        if (found & 1) {
            rc = s3_decode_into(a, v[0], &dec);
            if (rc == S3_SIGV4_OK && !s3_eq(dec, S3_SIGV4_ALGORITHM)) {
                return S3_SIGV4_UNSUPPORTED;
            }
        }
        return S3_SIGV4_MISSING_QUERY;
    }

    rc = s3_decode_into(a, v[0], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    if (!s3_eq(dec, S3_SIGV4_ALGORITHM)) {
        return S3_SIGV4_UNSUPPORTED;
    }

    rc = s3_decode_into(a, v[1], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    rc = s3_parse_credential(a, dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    rc = s3_decode_into(a, v[4], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    rc = s3_parse_signed_headers(a, dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    rc = s3_decode_into(a, v[5], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    if (dec.len == 0) {
        return S3_SIGV4_MALFORMED;
    }

    s3_parse_signature(a, dec);

    rc = s3_decode_into(a, v[2], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    if (!s3_parse_iso8601(dec, &a->time)) {
        return S3_SIGV4_BAD_DATE;
    }

    memcpy(a->amz_date, dec.data, 16);
    a->amz_date[16] = '\0';

    rc = s3_decode_into(a, v[3], &dec);
    if (rc != S3_SIGV4_OK) {
        return rc;
    }

    exp = 0;
    for (i = 0; i < (int) dec.len; i++) {
        if (dec.data[i] < '0' || dec.data[i] > '9' || exp > 10000000) {
            return S3_SIGV4_BAD_EXPIRES;
        }
        exp = exp * 10 + (dec.data[i] - '0');
    }

    if (dec.len == 0 || exp < 1 || exp > S3_SIGV4_MAX_EXPIRES) {
        return S3_SIGV4_BAD_EXPIRES;
    }

    a->expires = exp;

    if (found & (1 << 6)) {
        a->security_token = v[6];
    }

    return S3_SIGV4_OK;
}


s3_err_t
s3_sigv4_parse(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a)
{
    size_t                n;
    int64_t               t;
    s3_str_t              auth, date;
    s3_param_t            q;
    unsigned              query_auth, v2_query;
    s3_sigv4_reason_t     rc;
    const unsigned char  *pos, *end;

    memset(a, 0, offsetof(s3_sigv4_auth_t, buf));

    auth.len = 0;
    auth.data = NULL;
    n = s3_headers_find(r, "authorization", &auth);

    query_auth = 0;
    v2_query = 0;
    pos = r->query.data;
    end = s3_end(r->query);

    while (s3_query_next(&pos, end, &q)) {
        if (s3_pct_eq(q.name, "X-Amz-Algorithm")
            || s3_pct_eq(q.name, "X-Amz-Credential")
            || s3_pct_eq(q.name, "X-Amz-Signature"))
        {
            query_auth = 1;

        } else if (s3_pct_eq(q.name, "AWSAccessKeyId")) {
            v2_query = 1;
        }
    }

    if (n > 1 || (n == 1 && (query_auth || v2_query))) {
        a->form = n && !query_auth ? S3_SIGV4_HEADER : S3_SIGV4_QUERY;
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_MULTIPLE));
    }

    if (n == 1) {
        a->form = S3_SIGV4_HEADER;

        rc = s3_parse_header_auth(a, auth);
        if (rc != S3_SIGV4_OK) {
            return s3_sigv4_error(a->form, s3_fail(a, rc));
        }

        n = s3_headers_find(r, "x-amz-date", &date);

        if (n > 1) {
            return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_BAD_DATE));
        }

        if (n == 1) {
            date = s3_str_trim(date);
            if (!s3_parse_iso8601(date, &t)) {
                return s3_sigv4_error(a->form,
                                      s3_fail(a, S3_SIGV4_BAD_DATE));
            }

        } else {
            n = s3_headers_find(r, "date", &date);
            if (n == 0) {
                return s3_sigv4_error(a->form,
                                      s3_fail(a, S3_SIGV4_MISSING_DATE));
            }

            date = s3_str_trim(date);
            if (n > 1 || !(s3_parse_http_date(date, &t)
                           || s3_parse_iso8601(date, &t)))
            {
                return s3_sigv4_error(a->form,
                                      s3_fail(a, S3_SIGV4_BAD_DATE));
            }
        }

        a->time = t;
        s3_sigv4_format_date(t, a->amz_date);

        if (s3_headers_find(r, "x-amz-security-token", &a->security_token)
            > 1)
        {
            return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_MULTIPLE));
        }

        a->parsed = 1;

        return S3_OK;
    }

    if (query_auth) {
        a->form = S3_SIGV4_QUERY;

        rc = s3_parse_query_auth(r, a);
        if (rc != S3_SIGV4_OK) {
            return s3_sigv4_error(a->form, s3_fail(a, rc));
        }

        a->parsed = 1;

        return S3_OK;
    }

    if (v2_query) {
        a->form = S3_SIGV4_QUERY;
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_UNSUPPORTED));
    }

    a->form = S3_SIGV4_NONE;

    return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_MISSING));
}


/* ---- checks and verification --------------------------------------------- */

s3_err_t
s3_sigv4_check(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a,
    const s3_sigv4_conf_t *conf)
{
    size_t    i, j;
    int       host;
    int64_t   skew;
    s3_str_t  name;

    if (!a->parsed) {
        return s3_sigv4_error(a->form, s3_fail(a, a->reason != S3_SIGV4_OK
                                                  ? a->reason
                                                  : S3_SIGV4_MISSING));
    }

    if (!s3_eq(a->terminator, "aws4_request")) {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_SCOPE_TERMINATOR));
    }

    if (memcmp(a->date.data, a->amz_date, 8) != 0) {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_SCOPE_DATE));
    }

    if (conf->service.len
        && !(a->service.len == conf->service.len
             && memcmp(a->service.data, conf->service.data, a->service.len)
                == 0))
    {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_SCOPE_SERVICE));
    }

    if (conf->region.len
        && !(a->region.len == conf->region.len
             && memcmp(a->region.data, conf->region.data, a->region.len)
                == 0))
    {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_SCOPE_REGION));
    }

    host = 0;
    for (i = 0; i < a->nsigned; i++) {
        if (s3_str_caseeq(a->signed_names[i], "host")) {
            host = 1;
        }
    }

    if (!host) {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_HOST_NOT_SIGNED));
    }

    if (conf->require_amz_signed) {
        for (i = 0; i < r->nheaders; i++) {
            name = r->headers[i].name;
            if (name.len < 6 || !s3_str_caseeq((s3_str_t) { 6, name.data },
                                           "x-amz-"))
            {
                continue;
            }

            for (j = 0; j < a->nsigned; j++) {
                if (s3_caseeq2(a->signed_names[j], name)) {
                    break;
                }
            }

            if (j == a->nsigned) {
                return s3_sigv4_error(a->form,
                                      s3_fail(a, S3_SIGV4_UNSIGNED_HEADERS));
            }
        }
    }

    skew = conf->max_skew > 0 ? conf->max_skew : S3_SIGV4_DEFAULT_SKEW;

    if (a->form == S3_SIGV4_HEADER) {
        if (conf->now - a->time > skew || a->time - conf->now > skew) {
            return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_SKEWED));
        }

    } else {
        if (a->time - conf->now > skew) {
            return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_NOT_YET_VALID));
        }

        if (conf->now - a->time > a->expires) {
            return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_EXPIRED));
        }
    }

    a->reason = S3_SIGV4_OK;

    return S3_OK;
}


s3_err_t
s3_sigv4_verify(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a,
    const s3_sigv4_conf_t *conf, const unsigned char key[32])
{
    int                   ok;
    size_t                n;
    s3_err_t              err;
    s3_sink_t             sink;
    s3_str_t              amz_date;
    s3_canon_t            c;
    s3_param_t            q;
    s3_sigv4_reason_t     rc;
    unsigned char         hash[32], mac[32];
    const unsigned char  *pos, *end;

    err = s3_sigv4_check(r, a, conf);
    if (err != S3_OK) {
        return err;
    }

    memset(&c, 0, sizeof(s3_canon_t));
    c.req = r;
    c.names = a->signed_names;
    c.nnames = a->nsigned;
    c.s3 = conf->s3;
    c.normalize = conf->normalize;
    c.skip_signature = a->form == S3_SIGV4_QUERY;

    c.payload_hash = conf->payload_hash;

    if (c.payload_hash.len == 0 && a->form == S3_SIGV4_QUERY) {
        /* presigners may put it in the query (the JS SDK's does) */
        pos = r->query.data;
        end = s3_end(r->query);

        while (s3_query_next(&pos, end, &q)) {
            if (s3_pct_eq(q.name, "X-Amz-Content-Sha256")) {
                rc = s3_decode_into(a, q.value, &c.payload_hash);
                if (rc != S3_SIGV4_OK) {
                    return s3_sigv4_error(a->form, s3_fail(a, rc));
                }
                break;
            }
        }
    }

    if (c.payload_hash.len == 0) {
        n = s3_headers_find(r, "x-amz-content-sha256", &c.payload_hash);
        c.payload_hash = s3_str_trim(c.payload_hash);

        if (n == 0 && a->form == S3_SIGV4_QUERY) {
            c.payload_hash.data = (const unsigned char *)
                                  S3_SIGV4_UNSIGNED_PAYLOAD;
            c.payload_hash.len = sizeof(S3_SIGV4_UNSIGNED_PAYLOAD) - 1;

        } else if (n != 1 || c.payload_hash.len == 0) {
            return s3_sigv4_error(a->form,
                                  s3_fail(a, S3_SIGV4_NO_PAYLOAD_HASH));
        }
    }

    s3_sink_init(&sink, conf->debug, conf->sha);

    rc = s3_canonical_request(&c, &sink);

    if (s3_sink_final(&sink, hash) != 0) {
        rc = rc != S3_SIGV4_OK ? rc : S3_SIGV4_INTERNAL;
    }

    if (rc != S3_SIGV4_OK) {
        return s3_sigv4_error(a->form, s3_fail(a, rc));
    }

    amz_date.data = (const unsigned char *) a->amz_date;
    amz_date.len = 16;

    rc = s3_string_to_sign(hash, amz_date, a->scope, key, conf->key_hmac,
                           mac, conf->debug);
    if (rc != S3_SIGV4_OK) {
        return s3_sigv4_error(a->form, s3_fail(a, rc));
    }

    ok = kms_ct_equal(mac, a->sig, 32) & a->sig_valid;

    kms_wipe(mac, sizeof(mac));

    if (!ok) {
        return s3_sigv4_error(a->form, s3_fail(a, S3_SIGV4_MISMATCH));
    }

    a->reason = S3_SIGV4_OK;

    return S3_OK;
}


s3_sigv4_reason_t
s3_sigv4_reason(const s3_sigv4_auth_t *a)
{
    return a->reason;
}


const char *
s3_sigv4_reason_text(s3_sigv4_reason_t reason)
{
    static const char  *text[] = {
        "ok",
        "no authentication",
        "more than one authentication",
        "unsupported authentication scheme",
        "malformed authorization",
        "missing query authentication parameter",
        "malformed credential",
        "malformed signed headers",
        "missing date",
        "malformed date",
        "malformed expires",
        "credential date does not match the request date",
        "wrong region in credential scope",
        "wrong service in credential scope",
        "credential scope terminator is not aws4_request",
        "host is not a signed header",
        "x-amz-* header not signed",
        "request time too skewed",
        "request has expired",
        "request is not valid yet",
        "missing x-amz-content-sha256",
        "invalid percent-encoding",
        "too many headers, parameters or path segments",
        "signature does not match",
        "internal error"
    };

    if ((unsigned) reason >= sizeof(text) / sizeof(text[0])) {
        return "unknown";
    }

    return text[reason];
}


s3_err_t
s3_sigv4_error(s3_sigv4_form_t form, s3_sigv4_reason_t reason)
{
    int  query = form == S3_SIGV4_QUERY;

    switch (reason) {

    case S3_SIGV4_OK:
        return S3_OK;

    case S3_SIGV4_MISSING:
    case S3_SIGV4_HOST_NOT_SIGNED:
    case S3_SIGV4_UNSIGNED_HEADERS:
    case S3_SIGV4_NOT_YET_VALID:
        return S3_ERR_ACCESS_DENIED;

    case S3_SIGV4_MULTIPLE:
        return S3_ERR_INVALID_ARGUMENT;

    case S3_SIGV4_UNSUPPORTED:
        return query ? S3_ERR_AUTH_QUERY_ERROR : S3_ERR_INVALID_REQUEST;

    case S3_SIGV4_MALFORMED:
    case S3_SIGV4_BAD_CREDENTIAL:
    case S3_SIGV4_BAD_SIGNED_HEADERS:
    case S3_SIGV4_SCOPE_DATE:
    case S3_SIGV4_SCOPE_REGION:
    case S3_SIGV4_SCOPE_SERVICE:
    case S3_SIGV4_SCOPE_TERMINATOR:
        return query ? S3_ERR_AUTH_QUERY_ERROR : S3_ERR_AUTH_HEADER_MALFORMED;

    case S3_SIGV4_MISSING_QUERY:
    case S3_SIGV4_BAD_EXPIRES:
        return S3_ERR_AUTH_QUERY_ERROR;

    case S3_SIGV4_MISSING_DATE:
    case S3_SIGV4_BAD_DATE:
        return query ? S3_ERR_AUTH_QUERY_ERROR : S3_ERR_ACCESS_DENIED;

    case S3_SIGV4_SKEWED:
        return S3_ERR_TIME_SKEWED;

    case S3_SIGV4_EXPIRED:
        return S3_ERR_REQUEST_EXPIRED;

    case S3_SIGV4_NO_PAYLOAD_HASH:
    case S3_SIGV4_TOO_LARGE:
        return S3_ERR_INVALID_REQUEST;

    case S3_SIGV4_BAD_ENCODING:
    case S3_SIGV4_MISMATCH:
        return S3_ERR_SIGNATURE_MISMATCH;

    default:
        return S3_ERR_INTERNAL;
    }
}


/* ---- signing keys -------------------------------------------------------- */

s3_err_t
s3_sigv4_signing_key(const void *secret, size_t secret_len, s3_str_t date,
    s3_str_t region, s3_str_t service, unsigned char key[32])
{
    int            rc;
    unsigned char  k[4 + S3_SIGV4_MAX_SECRET], t[32];

    if (secret_len > S3_SIGV4_MAX_SECRET || date.len != 8) {
        return S3_ERR_INTERNAL;
    }

    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, secret_len);

    rc = kms_hmac_sha256(k, 4 + secret_len, date.data, date.len, t)
         || kms_hmac_sha256(t, 32, region.data, region.len, t)
         || kms_hmac_sha256(t, 32, service.data, service.len, t)
         || kms_hmac_sha256(t, 32, "aws4_request", 12, key);

    kms_wipe(k, sizeof(k));
    kms_wipe(t, sizeof(t));

    if (rc != 0) {
        kms_wipe(key, 32);
        return S3_ERR_INTERNAL;
    }

    return S3_OK;
}


/* ---- signing ------------------------------------------------------------- */

static void
s3_out_put(s3_out_t *o, const void *p, size_t len)
{
    if (len && o->len + len < o->cap) {
        memcpy(o->p + o->len, p, len);
    }

    o->len += len;
}


static void
s3_out_str(s3_out_t *o, const char *s)
{
    s3_out_put(o, s, strlen(s));
}


/* query-value encoding: only unreserved characters kept */
static void
s3_out_encode(s3_out_t *o, const unsigned char *p, size_t len)
{
    size_t  i;
    char    esc[3];

    for (i = 0; i < len; i++) {
        if (s3_unreserved(p[i])) {
            s3_out_put(o, p + i, 1);

        } else {
            esc[0] = '%';
            esc[1] = s3_hexu[p[i] >> 4];
            esc[2] = s3_hexu[p[i] & 15];
            s3_out_put(o, esc, 3);
        }
    }
}


s3_err_t
s3_sigv4_sign(const s3_sigv4_sign_t *s, const unsigned char key[32],
    char *out, size_t cap, size_t *outlen, s3_sigv4_debug_t *debug)
{
    size_t              i, k, n, mark, start[6], end[6];
    char                exp[24], hex[65];
    s3_out_t            o, sc;
    s3_str_t            names[S3_SIGV4_MAX_SIGNED_HEADERS], scope;
    s3_sink_t           sink;
    s3_canon_t          c;
    s3_param_t          extra[6];
    s3_sigv4_reason_t   rc;
    unsigned char       ch, scope_buf[256], hash[32], mac[32];

    static const char  *pnames[6] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
        "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Security-Token"
    };

    if (s->amz_date.len != 16 || cap == 0) {
        return S3_ERR_INTERNAL;
    }

    /* the signed header names: every header given, sorted, unique */

    n = 0;
    for (i = 0; i < s->req.nheaders; i++) {
        if (n == S3_SIGV4_MAX_SIGNED_HEADERS) {
            return S3_ERR_INTERNAL;
        }
        names[n++] = s->req.headers[i].name;
    }

    s3_sort_names(names, n);

    /* the same header given twice is signed once, values joined */
    for (i = 1, mark = n ? 1 : 0; i < n; i++) {
        if (s3_casecmp(names[mark - 1], names[i]) != 0) {
            names[mark++] = names[i];
        }
    }
    n = mark;

    /* date/region/service/aws4_request */

    sc.p = (char *) scope_buf;
    sc.cap = sizeof(scope_buf);
    sc.len = 0;
    s3_out_put(&sc, s->amz_date.data, 8);
    s3_out_str(&sc, "/");
    s3_out_put(&sc, s->region.data, s->region.len);
    s3_out_str(&sc, "/");
    s3_out_put(&sc, s->service.data, s->service.len);
    s3_out_str(&sc, "/aws4_request");

    if (sc.len >= sc.cap) {
        return S3_ERR_INTERNAL;
    }

    scope.data = scope_buf;
    scope.len = sc.len;

    memset(&c, 0, sizeof(s3_canon_t));
    c.req = &s->req;
    c.names = names;
    c.nnames = n;
    c.payload_hash = s->payload_hash;
    c.s3 = s->s3;
    c.normalize = s->normalize;

    o.p = out;
    o.cap = cap;
    o.len = 0;

    if (s->presign) {
        /*
         * The output is the query to send; the authentication parameters
         * are written into it first and the canonical query reads them
         * from there.
         */
        s3_out_put(&o, s->req.query.data, s->req.query.len);

        for (i = 0; i < 6; i++) {
            if (i == 5 && s->security_token.len == 0) {
                break;
            }

            if (o.len) {
                s3_out_str(&o, "&");
            }

            s3_out_str(&o, pnames[i]);
            s3_out_str(&o, "=");
            start[i] = o.len;

            switch (i) {

            case 0:
                s3_out_str(&o, S3_SIGV4_ALGORITHM);
                break;

            case 1:
                s3_out_encode(&o, s->access_key.data, s->access_key.len);
                s3_out_str(&o, "%2F");
                s3_out_encode(&o, scope.data, scope.len);
                break;

            case 2:
                s3_out_put(&o, s->amz_date.data, 16);
                break;

            case 3:
                for (mark = 0; mark < n; mark++) {
                    if (mark) {
                        s3_out_str(&o, "%3B");
                    }
                    for (k = 0; k < names[mark].len; k++) {
                        ch = (unsigned char) s3_lower(names[mark].data[k]);
                        s3_out_encode(&o, &ch, 1);
                    }
                }
                break;

            case 4:
                snprintf(exp, sizeof(exp), "%lld", (long long) s->expires);
                s3_out_str(&o, exp);
                break;

            default:
                s3_out_encode(&o, s->security_token.data,
                              s->security_token.len);
                break;
            }

            end[i] = o.len;
        }

        if (o.len >= o.cap) {
            return S3_ERR_INTERNAL;
        }

        for (mark = 0; mark < i; mark++) {
            extra[mark].name.data = (const unsigned char *) pnames[mark];
            extra[mark].name.len = strlen(pnames[mark]);
            extra[mark].value.data = (unsigned char *) out + start[mark];
            extra[mark].value.len = end[mark] - start[mark];
        }

        c.extra = extra;
        c.nextra = i;
    }

    s3_sink_init(&sink, debug, NULL);

    rc = s3_canonical_request(&c, &sink);

    if (s3_sink_final(&sink, hash) != 0 || rc != S3_SIGV4_OK) {
        return S3_ERR_INTERNAL;
    }

    if (s3_string_to_sign(hash, s->amz_date, scope, key, NULL, mac, debug)
        != S3_SIGV4_OK)
    {
        return S3_ERR_INTERNAL;
    }

    kms_hex(mac, 32, hex);

    if (s->presign) {
        s3_out_str(&o, "&X-Amz-Signature=");
        s3_out_str(&o, hex);

    } else {
        s3_out_str(&o, S3_SIGV4_ALGORITHM " Credential=");
        s3_out_put(&o, s->access_key.data, s->access_key.len);
        s3_out_str(&o, "/");
        s3_out_put(&o, scope.data, scope.len);
        s3_out_str(&o, ", SignedHeaders=");

        for (i = 0; i < n; i++) {
            if (i) {
                s3_out_str(&o, ";");
            }
            for (k = 0; k < names[i].len; k++) {
                ch = (unsigned char) s3_lower(names[i].data[k]);
                s3_out_put(&o, &ch, 1);
            }
        }

        s3_out_str(&o, ", Signature=");
        s3_out_str(&o, hex);
    }

    if (o.len >= o.cap) {
        return S3_ERR_INTERNAL;
    }

    out[o.len] = '\0';
    *outlen = o.len;

    return S3_OK;
}
