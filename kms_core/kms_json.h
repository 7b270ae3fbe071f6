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
    size_t           i;
    uint64_t         w, lo, q, bs, del;
    const uint64_t   ones = 0x0101010101010101ULL;
    const uint64_t   top = 0x8080808080808080ULL;

    i = 0;

#ifdef __SSE2__
    {
        int      m;
        __m128i  x, bad;

        for ( /* void */ ; i + 16 <= n; i += 16) {
            x = _mm_loadu_si128((const __m128i *) (const void *) (p + i));

            /* x <= 0x1f unsigned: min(x, 0x1f) == x */
            bad = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
            bad = _mm_or_si128(bad,
                               high ? _mm_cmplt_epi8(x, _mm_setzero_si128())
                                    : _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));

            m = _mm_movemask_epi8(bad);
            if (m) {
                return i + (size_t) __builtin_ctz((unsigned) m);
            }
        }
    }
#endif

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
}

#endif /* KMS_JSON_H */
