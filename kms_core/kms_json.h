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

#endif /* KMS_JSON_H */
