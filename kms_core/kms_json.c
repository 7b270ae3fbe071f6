/*
 * The strict JSON reader (kms_json.h).  Two passes over the text: the
 * first bounds the number of values (every value but the first follows a
 * ':', a ',' or a '['), so nodes and decoded strings fit one allocation;
 * the second parses by recursive descent, depth-limited.
 */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms_json.h"


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    kms_json_t           *nodes;
    size_t                nnodes;
    size_t                cap;
    char                 *strs;         /* decoded strings go here */
} kms_jp_t;


static int kms_jp_value(kms_jp_t *jp, kms_json_t *v, int depth);
static int kms_jp_string(kms_jp_t *jp, const char **out, size_t *len);
static int kms_jp_dups(kms_json_t *obj);


static void
kms_jp_ws(kms_jp_t *jp)
{
    while (jp->p < jp->end
           && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n'
               || *jp->p == '\r'))
    {
        jp->p++;
    }
}


static kms_json_t *
kms_jp_node(kms_jp_t *jp)
{
    kms_json_t  *v;

    if (jp->nnodes >= jp->cap) {
        return NULL;                    /* cannot happen: the count bounds */
    }

    v = &jp->nodes[jp->nnodes++];
    memset(v, 0, sizeof(*v));
    return v;
}


static int
kms_jp_hex4(const unsigned char *p, unsigned *out)
{
    unsigned  v = 0, d;
    int       i;

    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            d = p[i] - '0';
        } else if (p[i] >= 'a' && p[i] <= 'f') {
            d = p[i] - 'a' + 10;
        } else if (p[i] >= 'A' && p[i] <= 'F') {
            d = p[i] - 'A' + 10;
        } else {
            return -1;
        }
        v = v << 4 | d;
    }

    *out = v;
    return 0;
}


/* length of a valid UTF-8 sequence at p, or 0 */
static size_t
kms_jp_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned  c = p[0], cp;
    size_t    n, i;

    if (c < 0xc2) {
        return 0;                       /* continuation or overlong lead */
    }
    if (c < 0xe0) {
        n = 2;
        cp = c & 0x1f;
    } else if (c < 0xf0) {
        n = 3;
        cp = c & 0x0f;
    } else if (c < 0xf5) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }

    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
        || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    {
        return 0;
    }

    return n;
}


static int
kms_jp_string(kms_jp_t *jp, const char **out, size_t *len)
{
    char      *o = jp->strs, *start = jp->strs;
    unsigned   cp, lo;
    size_t     n;

    jp->p++;                            /* the opening quote */

    for ( ;; ) {
        if (jp->p >= jp->end) {
            return -1;
        }

        if (*jp->p == '"') {
            jp->p++;
            break;
        }

        if (*jp->p < 0x20) {
            return -1;
        }

        if (*jp->p == '\\') {
            if (jp->end - jp->p < 2) {
                return -1;
            }

            switch (jp->p[1]) {
            case '"':  *o++ = '"';  break;
            case '\\': *o++ = '\\'; break;
            case '/':  *o++ = '/';  break;
            case 'b':  *o++ = '\b'; break;
            case 'f':  *o++ = '\f'; break;
            case 'n':  *o++ = '\n'; break;
            case 'r':  *o++ = '\r'; break;
            case 't':  *o++ = '\t'; break;

            case 'u':
                if (jp->end - jp->p < 6 || kms_jp_hex4(jp->p + 2, &cp) != 0) {
                    return -1;
                }
                jp->p += 6;

                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return -1;          /* a lone low surrogate */
                }

                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (jp->end - jp->p < 6 || jp->p[0] != '\\'
                        || jp->p[1] != 'u'
                        || kms_jp_hex4(jp->p + 2, &lo) != 0
                        || lo < 0xdc00 || lo > 0xdfff)
                    {
                        return -1;
                    }
                    jp->p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }

                if (cp == 0) {
                    return -1;          /* as jansson without JSON_ALLOW_NUL */
                }

                if (cp < 0x80) {
                    *o++ = (char) cp;
                } else if (cp < 0x800) {
                    *o++ = (char) (0xc0 | cp >> 6);
                    *o++ = (char) (0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                    *o++ = (char) (0xe0 | cp >> 12);
                    *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                    *o++ = (char) (0x80 | (cp & 0x3f));
                } else {
                    *o++ = (char) (0xf0 | cp >> 18);
                    *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                    *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                    *o++ = (char) (0x80 | (cp & 0x3f));
                }
                continue;

            default:
                return -1;
            }

            jp->p += 2;
            continue;
        }

        if (*jp->p < 0x80) {
            /* a plain run (at least this byte), in one copy */
            n = kms_json_plain(jp->p, (size_t) (jp->end - jp->p), 1);
            memcpy(o, jp->p, n);
            o += n;
            jp->p += n;
            continue;
        }

        n = kms_jp_utf8(jp->p, jp->end);
        if (n == 0) {
            return -1;
        }
        memcpy(o, jp->p, n);
        o += n;
        jp->p += n;
    }

    /* an escape never decodes longer than it is written: this fits */
    *o++ = '\0';
    *out = start;
    *len = (size_t) (o - start - 1);
    jp->strs = o;
    return 0;
}


static int
kms_jp_number(kms_jp_t *jp, kms_json_t *v)
{
    const unsigned char  *s = jp->p;
    int                   real = 0, neg = 0;
    unsigned long long    acc = 0;
    char                  buf[128], *end;
    size_t                n;

    if (jp->p < jp->end && *jp->p == '-') {
        neg = 1;
        jp->p++;
    }

    if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
        return -1;
    }

    if (*jp->p == '0') {
        jp->p++;
    } else {
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
            jp->p++;
        }
    }

    if (jp->p < jp->end && *jp->p == '.') {
        real = 1;
        jp->p++;
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
            return -1;
        }
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
            jp->p++;
        }
    }

    if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
        real = 1;
        jp->p++;
        if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-')) {
            jp->p++;
        }
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
            return -1;
        }
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
            jp->p++;
        }
    }

    if (!real) {
        for (s += neg; s < jp->p; s++) {
            if (acc > (ULLONG_MAX - 9) / 10) {
                return -1;
            }
            acc = acc * 10 + (unsigned) (*s - '0');
        }

        if ((!neg && acc > (unsigned long long) LLONG_MAX)
            || (neg && acc > (unsigned long long) LLONG_MAX + 1))
        {
            return -1;                  /* too big for 64 bits */
        }

        v->type = KMS_JSON_INTEGER;
        v->integer = neg ? (long long) (0 - acc) : (long long) acc;
        return 0;
    }

    n = (size_t) (jp->p - s);
    if (n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';

    errno = 0;
    v->real = strtod(buf, &end);
    if (end != buf + n || (errno == ERANGE && (v->real > 1 || v->real < -1)))
    {
        return -1;                      /* overflow, as jansson refuses it */
    }

    v->type = KMS_JSON_REAL;
    return 0;
}


static int
kms_jp_lit(kms_jp_t *jp, const char *lit, size_t n)
{
    if ((size_t) (jp->end - jp->p) < n || memcmp(jp->p, lit, n) != 0) {
        return -1;
    }

    jp->p += n;
    return 0;
}


static int
kms_jp_value(kms_jp_t *jp, kms_json_t *v, int depth)
{
    kms_json_t  *child, *last;

    kms_jp_ws(jp);

    if (jp->p >= jp->end) {
        return -1;
    }

    switch (*jp->p) {

    case '{':
    case '[':
        if (depth >= KMS_JSON_MAX_DEPTH) {
            return -1;
        }

        v->type = *jp->p == '{' ? KMS_JSON_OBJECT : KMS_JSON_ARRAY;
        jp->p++;
        kms_jp_ws(jp);
        last = NULL;

        if (jp->p < jp->end && *jp->p == (v->type == KMS_JSON_OBJECT ? '}'
                                                                     : ']'))
        {
            jp->p++;
            return 0;
        }

        for ( ;; ) {
            child = kms_jp_node(jp);
            if (child == NULL) {
                return -1;
            }

            if (v->type == KMS_JSON_OBJECT) {
                kms_jp_ws(jp);
                if (jp->p >= jp->end || *jp->p != '"'
                    || kms_jp_string(jp, &child->key, &child->klen) != 0)
                {
                    return -1;
                }
                kms_jp_ws(jp);
                if (jp->p >= jp->end || *jp->p != ':') {
                    return -1;
                }
                jp->p++;
            }

            if (kms_jp_value(jp, child, depth + 1) != 0) {
                return -1;
            }

            if (last == NULL) {
                v->first = child;
            } else {
                last->next = child;
            }
            last = child;
            v->n++;

            kms_jp_ws(jp);
            if (jp->p >= jp->end) {
                return -1;
            }

            if (*jp->p == ',') {
                jp->p++;
                continue;
            }

            if (*jp->p == (v->type == KMS_JSON_OBJECT ? '}' : ']')) {
                jp->p++;
                break;
            }

            return -1;
        }

        return v->type == KMS_JSON_OBJECT ? kms_jp_dups(v) : 0;

    case '"':
        v->type = KMS_JSON_STRING;
        return kms_jp_string(jp, &v->str, &v->len);

    case 't':
        v->type = KMS_JSON_TRUE;
        return kms_jp_lit(jp, "true", 4);

    case 'f':
        v->type = KMS_JSON_FALSE;
        return kms_jp_lit(jp, "false", 5);

    case 'n':
        v->type = KMS_JSON_NULL;
        return kms_jp_lit(jp, "null", 4);

    default:
        return kms_jp_number(jp, v);
    }
}


static int
kms_jp_keycmp(const void *a, const void *b)
{
    const kms_json_t  *x = *(const kms_json_t *const *) a;
    const kms_json_t  *y = *(const kms_json_t *const *) b;
    size_t             n = x->klen < y->klen ? x->klen : y->klen;
    int                c = memcmp(x->key, y->key, n);

    if (c != 0) {
        return c;
    }

    return x->klen < y->klen ? -1 : x->klen > y->klen;
}


/* duplicate members: pairwise for small objects, sorted for large ones */
static int
kms_jp_dups(kms_json_t *obj)
{
    kms_json_t   *a, *b, **v;
    size_t        i;
    int           rc = 0;

    if (obj->n <= 16) {
        for (a = obj->first; a; a = a->next) {
            for (b = a->next; b; b = b->next) {
                if (a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0)
                {
                    return -1;
                }
            }
        }
        return 0;
    }

    v = malloc(obj->n * sizeof(kms_json_t *));
    if (v == NULL) {
        return -1;
    }

    for (a = obj->first, i = 0; a; a = a->next) {
        v[i++] = a;
    }

    qsort(v, obj->n, sizeof(kms_json_t *), kms_jp_keycmp);

    for (i = 1; i < obj->n; i++) {
        if (kms_jp_keycmp(&v[i - 1], &v[i]) == 0) {
            rc = -1;
            break;
        }
    }

    free(v);
    return rc;
}


kms_json_t *
kms_json_parse(const char *text, size_t len)
{
    const unsigned char  *p = (const unsigned char *) text;
    const unsigned char  *end = p + len;
    size_t                count = 1;
    int                   in_str = 0;
    kms_jp_t              jp;
    void                 *mem;

    /* every value but the first comes after a ':', a ',' or a '[' */
    for ( ; p < end; p++) {
        if (in_str) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                in_str = 0;
            }
            continue;
        }

        switch (*p) {
        case '"':
            in_str = 1;
            break;
        case ':':
        case ',':
        case '[':
            count++;
            break;
        }
    }

    if (count > SIZE_MAX / sizeof(kms_json_t) / 2) {
        return NULL;
    }

    mem = malloc(count * sizeof(kms_json_t) + len + count + 1);
    if (mem == NULL) {
        return NULL;
    }

    jp.p = (const unsigned char *) text;
    jp.end = end;
    jp.nodes = mem;
    jp.nnodes = 0;
    jp.cap = count;
    jp.strs = (char *) mem + count * sizeof(kms_json_t);

    if (kms_jp_value(&jp, kms_jp_node(&jp), 0) != 0) {
        free(mem);
        return NULL;
    }

    kms_jp_ws(&jp);
    if (jp.p != jp.end) {
        free(mem);
        return NULL;
    }

    return mem;
}


void
kms_json_free(kms_json_t *root)
{
    free(root);
}


kms_json_t *
kms_json_get(const kms_json_t *v, const char *name)
{
    kms_json_t  *m;
    size_t       n;

    if (v == NULL || v->type != KMS_JSON_OBJECT) {
        return NULL;
    }

    n = strlen(name);

    for (m = v->first; m; m = m->next) {
        if (m->klen == n && memcmp(m->key, name, n) == 0) {
            return m;
        }
    }

    return NULL;
}
