/*
 * Fuzz target: GetObjectTagging's document -> x-amz-tagging
 * (s3_tagging_from_xml).  Whatever the backend sends, the result is
 * either refused or a header of the query form: only unreserved bytes,
 * '%' escapes, '=' and '&', as long as it says, NUL-terminated.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_tagging.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *out;
    size_t          len, i, pairs, eq;
    unsigned char   c;

    if (s3_tagging_from_xml(data, size, &out, &len) != S3_OK) {
        if (out != NULL || len != 0) {
            abort();
        }

        return 0;
    }

    if (out == NULL || strlen(out) != len) {
        abort();
    }

    pairs = (len > 0);
    eq = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) out[i];

        if (c == '%') {
            if (i + 2 >= len) {
                abort();
            }
            i += 2;
            continue;
        }

        if (c == '&') {
            pairs++;
            continue;
        }

        if (c == '=') {
            eq++;
            continue;
        }

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
              || c == '~'))
        {
            abort();
        }
    }

    /* one '=' per tag: keys and values never hold a bare one */
    if (eq != pairs || pairs > S3_TAGGING_MAX_TAGS) {
        abort();
    }

    free(out);

    return 0;
}
