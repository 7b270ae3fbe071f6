/*
 * A growing string for JSON bodies and audit lines, UUIDs, and the
 * encryption context in its canonical form.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "kms_int.h"


static int kms_buf_grow(kms_buf_t *b, size_t n);


void
kms_buf_init(kms_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}


void
kms_buf_free(kms_buf_t *b)
{
    free(b->data);
    kms_buf_init(b);
}


void
kms_buf_reset(kms_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
}


static int
kms_buf_grow(kms_buf_t *b, size_t n)
{
    size_t   cap;
    char    *p;

    if (b->failed) {
        return -1;
    }

    if (b->len + n + 1 <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : 512;
    while (cap < b->len + n + 1) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }

    b->data = p;
    b->cap = cap;
    return 0;
}


int
kms_buf_reserve(kms_buf_t *b, size_t n)
{
    return kms_buf_grow(b, n);
}


void
kms_buf_fmt(kms_buf_t *b, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0 || kms_buf_grow(b, (size_t) n) != 0) {
        b->failed = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
}


/* 1 for the bytes a JSON string cannot hold as they are */
static const unsigned char  kms_json_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
};


void
kms_buf_json(kms_buf_t *b, const char *s, size_t n)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i, start;
    unsigned char      c;
    char              *p, esc[6];

    if (kms_buf_grow(b, n + 2) != 0) {
        return;
    }

    i = kms_json_plain((const unsigned char *) s, n, 0);

    if (i == n) {
        /* nothing to escape (ids, ARNs, names): one copy */
        p = b->data + b->len;
        *p++ = '"';
        memcpy(p, s, n);
        p[n] = '"';
        p[n + 1] = '\0';
        b->len += n + 2;
        return;
    }

    b->data[b->len++] = '"';

    /* the plain run before i goes out with the first escape */
    for (start = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (!kms_json_esc[c]) {
            continue;
        }

        kms_buf_add(b, s + start, i - start);
        start = i + 1;

        switch (c) {
        case '"':  kms_buf_add(b, "\\\"", 2); break;
        case '\\': kms_buf_add(b, "\\\\", 2); break;
        case '\n': kms_buf_add(b, "\\n", 2); break;
        case '\r': kms_buf_add(b, "\\r", 2); break;
        case '\t': kms_buf_add(b, "\\t", 2); break;
        default:
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            kms_buf_add(b, esc, 6);
        }
    }

    kms_buf_add(b, s + start, n - start);
    kms_buf_add(b, "\"", 1);
}


void
kms_buf_b64(kms_buf_t *b, const unsigned char *p, size_t n)
{
    size_t  m = kms_base64_encoded_len(n);

    if (kms_buf_grow(b, m) != 0) {
        return;
    }

    kms_base64_encode(p, n, b->data + b->len);
    b->len += m;
    b->data[b->len] = '\0';
}


void
kms_buf_iso(kms_buf_t *b, int64_t ms)
{
    time_t     t = (time_t) (ms / 1000);
    struct tm  tm;
    char       s[32];

    gmtime_r(&t, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    kms_buf_str(b, s);
}


void
kms_buf_date(kms_buf_t *b, int64_t ms)
{
    int64_t  s = ms / 1000, f = ms % 1000;

    if (f < 0) {
        s -= 1;
        f += 1000;
    }

    kms_buf_fmt(b, "%lld.%03d", (long long) s, (int) f);
}


char *
kms_buf_steal(kms_buf_t *b)
{
    char  *p;

    if (b->failed) {
        kms_buf_free(b);
        return NULL;
    }

    if (b->data == NULL) {
        p = calloc(1, 1);

    } else {
        p = b->data;
    }

    kms_buf_init(b);
    return p;
}


void *
kms_smalloc(size_t n)
{
    void  *p = OPENSSL_secure_malloc(n);

    return p != NULL ? p : OPENSSL_malloc(n);
}


/* ---- UUIDs -------------------------------------------------------------- */

static int
kms_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


int
kms_uuid_parse(const char *s, size_t len, unsigned char id[KMS_ID_LEN])
{
    size_t  i, j;
    int     h, l;

    if (len != KMS_ID_TEXT_LEN) {
        return -1;
    }

    for (i = 0, j = 0; i < len; ) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return -1;
            }
            i++;
            continue;
        }

        h = kms_hexval((unsigned char) s[i]);
        l = kms_hexval((unsigned char) s[i + 1]);
        if (h < 0 || l < 0) {
            return -1;
        }

        id[j++] = (unsigned char) (h << 4 | l);
        i += 2;
    }

    return 0;
}


void
kms_uuid_text(const unsigned char id[KMS_ID_LEN], char *out)
{
    /* 8-4-4-4-12 digits; each kms_hex()'s NUL is overwritten by a dash */
    kms_hex(id, 4, out);
    out[8] = '-';
    kms_hex(id + 4, 2, out + 9);
    out[13] = '-';
    kms_hex(id + 6, 2, out + 14);
    out[18] = '-';
    kms_hex(id + 8, 2, out + 19);
    out[23] = '-';
    kms_hex(id + 10, 6, out + 24);
}


int
kms_uuid_random(unsigned char id[KMS_ID_LEN])
{
    if (kms_random(id, KMS_ID_LEN) != 0) {
        return -1;
    }

    id[6] = (id[6] & 0x0f) | 0x40;          /* version 4 */
    id[8] = (id[8] & 0x3f) | 0x80;          /* RFC 4122 variant */
    return 0;
}


int
kms_id_internal(const unsigned char id[KMS_ID_LEN])
{
    static const unsigned char  internal[KMS_ID_LEN] = {
        0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0
    };

    /* KMS_INTERNAL_KEY_ID, 00000000-0000-4000-8000-000000000000 */
    return memcmp(id, internal, KMS_ID_LEN) == 0;
}


void
kms_uuid_random_text(char out[KMS_ID_TEXT_LEN + 1])
{
    unsigned char  id[KMS_ID_LEN];

    if (kms_uuid_random(id) != 0) {
        memset(id, 0, sizeof(id));
    }

    kms_uuid_text(id, out);
}


/* ---- encryption context ------------------------------------------------- */

typedef struct {
    const char  *k;
    size_t       klen;
    const char  *v;
    size_t       vlen;
} kms_pair_t;


static int
kms_pair_cmp(const void *a, const void *b)
{
    const kms_pair_t  *x = a, *y = b;
    size_t             n = x->klen < y->klen ? x->klen : y->klen;
    int                c;

    c = memcmp(x->k, y->k, n);
    if (c != 0) {
        return c;
    }

    return x->klen < y->klen ? -1 : x->klen > y->klen;
}


int
kms_ectx_from_json(kms_ectx_t *c, const kms_json_t *obj)
{
    size_t             n, i;
    const kms_json_t  *m;
    kms_pair_t        *pairs;
    char              *mem;

    memset(c, 0, sizeof(*c));

    if (obj == NULL || obj->type == KMS_JSON_NULL) {
        return 0;
    }

    if (obj->type != KMS_JSON_OBJECT) {
        return -1;
    }

    n = obj->n;
    if (n == 0) {
        return 0;
    }

    mem = calloc(1, n * (sizeof(kms_pair_t) + 2 * sizeof(char *)
                         + 2 * sizeof(size_t)));
    if (mem == NULL) {
        return -1;
    }

    pairs = (kms_pair_t *) mem;
    i = 0;

    for (m = obj->first; m; m = m->next) {
        if (m->type != KMS_JSON_STRING) {
            free(mem);
            return -1;
        }
        pairs[i].k = m->key;
        pairs[i].klen = m->klen;
        pairs[i].v = m->str;
        pairs[i].vlen = m->len;
        i++;
    }

    qsort(pairs, n, sizeof(kms_pair_t), kms_pair_cmp);

    c->keys = (const char **) (mem + n * sizeof(kms_pair_t));
    c->values = c->keys + n;
    c->klen = (size_t *) (c->values + n);
    c->vlen = c->klen + n;

    for (i = 0; i < n; i++) {
        c->keys[i] = pairs[i].k;
        c->klen[i] = pairs[i].klen;
        c->values[i] = pairs[i].v;
        c->vlen[i] = pairs[i].vlen;
    }

    c->n = n;
    c->mem = mem;
    return 0;
}


void
kms_ectx_free(kms_ectx_t *c)
{
    free(c->mem);
    memset(c, 0, sizeof(*c));
}


int
kms_ectx_canonical(const kms_ectx_t *c, kms_buf_t *out)
{
    unsigned char  be[2];
    size_t         i;

    if (c->n > 0xffff) {
        return -1;
    }

    be[0] = (unsigned char) (c->n >> 8);
    be[1] = (unsigned char) c->n;
    kms_buf_add(out, be, 2);

    for (i = 0; i < c->n; i++) {
        if (c->klen[i] > 0xffff || c->vlen[i] > 0xffff) {
            return -1;
        }

        be[0] = (unsigned char) (c->klen[i] >> 8);
        be[1] = (unsigned char) c->klen[i];
        kms_buf_add(out, be, 2);
        kms_buf_add(out, c->keys[i], c->klen[i]);

        be[0] = (unsigned char) (c->vlen[i] >> 8);
        be[1] = (unsigned char) c->vlen[i];
        kms_buf_add(out, be, 2);
        kms_buf_add(out, c->values[i], c->vlen[i]);
    }

    return out->failed ? -1 : 0;
}
