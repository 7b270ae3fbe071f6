/*
 * A small strict JSON reader for request bodies (RFC 8259): one allocation
 * per document, no per-value malloc, so a KMS request costs a fraction of
 * what a general DOM library spends on it.  Refuses what jansson refuses
 * with JSON_REJECT_DUPLICATES: duplicate object members, invalid UTF-8,
 * lone surrogates, control characters and \u0000 in strings, integers that
 * do not fit 64 bits, reals that overflow; nesting deeper than
 * KMS_JSON_MAX_DEPTH.  Private to kms_core/.
 */

#ifndef KMS_JSON_H
#define KMS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif


#define KMS_JSON_MAX_DEPTH  64

typedef enum {
    KMS_JSON_NULL = 0,
    KMS_JSON_FALSE,
    KMS_JSON_TRUE,
    KMS_JSON_INTEGER,
    KMS_JSON_REAL,
    KMS_JSON_STRING,
    KMS_JSON_ARRAY,
    KMS_JSON_OBJECT
} kms_json_type_t;

typedef struct kms_json_s  kms_json_t;

struct kms_json_s {
    kms_json_type_t   type;
    const char       *key;          /* member name inside an object */
    size_t            klen;
    const char       *str;          /* STRING: decoded, NUL-terminated */
    size_t            len;
    long long         integer;
    double            real;
    size_t            n;            /* ARRAY, OBJECT: count */
    kms_json_t       *first;        /* ARRAY, OBJECT: first child */
    kms_json_t       *next;         /* the next sibling */
};


/* NULL when the text is not one well-formed JSON value */
kms_json_t *kms_json_parse(const char *text, size_t len);
void kms_json_free(kms_json_t *root);

/* an object's member by name, NULL if absent (or v not an object) */
kms_json_t *kms_json_get(const kms_json_t *v, const char *name);

#define kms_json_is(v, t)  ((v) != NULL && (v)->type == (t))


#ifdef __SSE2__

/* a bit for each of the 16 bytes at p that kms_json_plain() stops at */
static inline unsigned
kms_json_bad16(const unsigned char *p, int high)
{
    __m128i  x, bad;

    x = _mm_loadu_si128((const __m128i *) (const void *) p);

    /* x <= 0x1f unsigned: min(x, 0x1f) == x */
    bad = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    bad = _mm_or_si128(bad, high ? _mm_cmplt_epi8(x, _mm_setzero_si128())
                                 : _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));

    return (unsigned) _mm_movemask_epi8(bad);
}

#endif


/*
 * The length of the run at p that a JSON string holds as it is: no
 * control character, '"' or '\\'; and no DEL (high = 0: what the writer
 * escapes) or no byte over 0x7f (high = 1: what the reader checks as
 * UTF-8).  Sixteen bytes at a time with SSE2 (any x86-64), else eight in
 * a word, where a request's strings and an audit line's are plain text
 * almost always.
 */
static inline size_t
kms_json_plain(const unsigned char *p, size_t n, int high)
{
    size_t  i = 0;

#ifdef __SSE2__
    {
        unsigned       m, r;
        unsigned char  t[16];

        for ( /* void */ ; i + 16 <= n; i += 16) {
            m = kms_json_bad16(p + i, high);
            if (m) {
                return i + (size_t) __builtin_ctz(m);
            }
        }

        if (i == n) {
            return n;
        }

        /*
         * The last 1..15 bytes in one more step: the 16 bytes that end
         * the run (some checked already, their bits shifted out), or a
         * short string copied into plain padding; never a read past it.
         */
        r = (unsigned) (n - i);

        if (n >= 16) {
            m = kms_json_bad16(p + n - 16, high) >> (16 - r);

        } else {
            memset(t, 'a', sizeof(t));
            memcpy(t, p, n);
            m = kms_json_bad16(t, high);
        }

        return m ? i + (size_t) __builtin_ctz(m) : n;
    }

#else

    uint64_t         w, lo, q, bs, del;
    const uint64_t   ones = 0x0101010101010101ULL;
    const uint64_t   top = 0x8080808080808080ULL;

    for ( /* void */ ; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);

        /* exact for "some byte is": < 0x20, '"', '\\', 0x7f */
        lo = (w - ones * 0x20) & ~w;
        q = (w ^ (ones * 0x22));
        q = (q - ones) & ~q;
        bs = (w ^ (ones * 0x5c));
        bs = (bs - ones) & ~bs;
        del = high ? w : ((w ^ (ones * 0x7f)) - ones) & ~(w ^ (ones * 0x7f));

        if ((lo | q | bs | del) & top) {
            break;
        }
    }

    for ( /* void */ ; i < n; i++) {
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\'
            || (high ? p[i] > 0x7f : p[i] == 0x7f))
        {
            break;
        }
    }

    return i;

#endif
}

#endif /* KMS_JSON_H */
