/*
 * Fuzzes the aws-chunked decoder on arbitrary bodies and splits, and
 * checks that the outcome does not depend on the splits: the whole body
 * at once and the same body in pieces must give the same error (or none)
 * and the same data.
 *
 * Input: 4 bytes of configuration, then the body.
 *   byte 0: mode (0 signed, 1 unsigned trailer, 2 signed trailer), bit 2
 *           the minimum chunk size rule
 *   byte 1: trailer checksum (0 none .. 5 sha256)
 *   byte 2: the decoded length, in bytes, or 255 for "not checked"
 *   byte 3: seed of the splits
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_chunked.h"


static const unsigned char  fz_key[32] = { 1, 2, 3 };


static s3_err_t
fz_decode(const s3_chunked_conf_t *conf, const uint8_t *body, size_t len,
    unsigned seed, unsigned char *out, size_t *outlen)
{
    size_t        off, n, used;
    s3_err_t      rc;
    s3_str_t      d;
    unsigned      x = seed * 2654435761u + 1;
    s3_chunked_t  dec;

    *outlen = 0;

    rc = s3_chunked_init(&dec, conf);
    if (rc != S3_OK) {
        s3_chunked_cleanup(&dec);
        return rc;
    }

    for (off = 0; off < len; /* void */) {
        if (seed == 0) {
            n = len - off;

        } else {
            x = x * 1103515245u + 12345u;
            n = 1 + (x >> 16) % 17;
            if (n > len - off) {
                n = len - off;
            }
        }

        while (n) {
            rc = s3_chunked_decode(&dec, body + off, n, &used, &d);
            if (rc != S3_OK && rc != S3_AGAIN) {
                s3_chunked_cleanup(&dec);
                return rc;
            }

            if (used > n || (d.len && (d.data < body + off
                                       || d.data + d.len > body + off + used)))
            {
                abort();
            }

            memcpy(out + *outlen, d.data, d.len);
            *outlen += d.len;
            off += used;
            n -= used;
        }
    }

    rc = s3_chunked_finish(&dec);
    s3_chunked_cleanup(&dec);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t             n1, n2;
    s3_err_t           r1, r2;
    unsigned char     *o1, *o2;
    s3_chunked_conf_t  c;

    if (size < 4) {
        return 0;
    }

    memset(&c, 0, sizeof(c));
    c.mode = (s3_chunked_mode_t) (1 + (data[0] & 3) % 3);
    c.min_chunk_size = (data[0] >> 2) & 1;
    c.trailer = c.mode == S3_CHUNKED_SIGNED ? S3_CKSUM_NONE
                                            : (s3_checksum_alg_t) (data[1] % 6);
    c.decoded_length = data[2] == 255 ? -1 : data[2];

    c.sign.key = fz_key;
    c.sign.amz_date.data = (const unsigned char *) "20130524T000000Z";
    c.sign.amz_date.len = 16;
    c.sign.scope.data = (const unsigned char *)
                        "20130524/us-east-1/s3/aws4_request";
    c.sign.scope.len = 34;
    c.sign.seed.data = (const unsigned char *)
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    c.sign.seed.len = 64;

    o1 = malloc(size);
    o2 = malloc(size);
    if (o1 == NULL || o2 == NULL) {
        free(o1);
        free(o2);
        return 0;
    }

    r1 = fz_decode(&c, data + 4, size - 4, 0, o1, &n1);
    r2 = fz_decode(&c, data + 4, size - 4, data[3] | 1, o2, &n2);

    /* the data given out before an error may differ; the verdict may not */
    if (r1 != r2 || (r1 == S3_OK && (n1 != n2 || memcmp(o1, o2, n1) != 0))) {
        abort();
    }

    free(o1);
    free(o2);

    return 0;
}
