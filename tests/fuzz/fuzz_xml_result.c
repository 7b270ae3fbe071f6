/*
 * Fuzz target: the backend's answers to CreateMultipartUpload and
 * CompleteMultipartUpload (s3_xml_result_parse).  Input: the document.
 * Every value read lies inside the result's own memory and holds no
 * markup.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"


static void
fuzz_check(const s3_str_t *s, size_t max)
{
    if (s->len > max || (s->len && s->data == NULL)) {
        abort();
    }

    /* trimmed */
    if (s->len && (s->data[0] == ' ' || s->data[s->len - 1] == '\n')) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s3_xml_result_t  r;

    if (s3_xml_result_parse(data, size, &r) != S3_OK) {
        if (r.mem != NULL) {
            abort();
        }

        return 0;
    }

    fuzz_check(&r.root, size);
    fuzz_check(&r.upload_id, size);
    fuzz_check(&r.etag, size);
    fuzz_check(&r.code, size);

    if (r.is_error != (r.root.len == 5
                       && memcmp(r.root.data, "Error", 5) == 0))
    {
        abort();
    }

    s3_xml_result_free(&r);

    return 0;
}
