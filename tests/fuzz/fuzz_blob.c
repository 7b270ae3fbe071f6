/*
 * Fuzz target: the ciphertext blob and the key record codecs.
 *
 * Input: a blob for kms_blob_parse / kms_blob_open under a fixed backing
 * key and context (which must never open a blob it did not seal, bar a
 * 2^-128 forgery), then the same bytes as a Redis HGETALL reply — fields
 * and values split at 0x00 — for kms_record_decode, which must refuse
 * anything not MAC'd under the root key.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "kms_int.h"


#define FUZZ_MAX_FIELDS  64


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char  ctx[] = "\0\1\0\3app\0\4fuzz";
    unsigned char               mat[32], root[32], rk[32], *out;
    kms_blob_t                  b;
    kms_reply_t                 el[2 * FUZZ_MAX_FIELDS], r;
    kms_key_t                  *k;
    size_t                      i, n, start;
    char                        err[256];

    memset(mat, 0x11, sizeof(mat));
    memset(root, 0x22, sizeof(root));

    if (kms_blob_parse(data, size, &b) == 0) {
        if (b.ctlen > size) {
            abort();
        }
        out = malloc(b.ctlen + 1);
        if (kms_blob_open(NULL, NULL, mat, data, &b, ctx, sizeof(ctx) - 1, out)
            == 0)
        {
            abort();                /* a forgery: nothing was sealed here */
        }
        free(out);
    }

    /* the bytes as a hash: field \0 value \0 field \0 value ... */
    n = 0;
    start = 0;
    for (i = 0; i <= size && n < 2 * FUZZ_MAX_FIELDS; i++) {
        if (i == size || data[i] == 0) {
            el[n].type = KMS_REPLY_STRING;
            el[n].str = (const char *) data + start;
            el[n].len = i - start;
            n++;
            start = i + 1;
        }
    }

    memset(&r, 0, sizeof(r));
    r.type = KMS_REPLY_ARRAY;
    r.elements = n & ~(size_t) 1;
    r.element = el;

    kms_hkdf_sha256(root, 32, NULL, 0, "KMS1 record", 11, rk, 32);

    if (kms_record_decode(&r, "1234abcd-12ab-34cd-56ef-1234567890ab", root,
                          rk, "aws", "us-east-1", &k, err, sizeof(err))
        == KMS_OK)
    {
        abort();                    /* a forged record */
    }

    return 0;
}
