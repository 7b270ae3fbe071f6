/*
 * Checksums of S3 object bodies: CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256
 * (x-amz-checksum-*) and MD5 (Content-MD5), incremental, with the output
 * S3 puts in headers: base64 of the big-endian CRC value or of the digest.
 *
 * An s3_checksum_t lives in the caller's memory; the digests hold one
 * OpenSSL context each (allocated by s3_checksum_init(), released by
 * s3_checksum_cleanup()), the CRCs nothing.
 */

#ifndef S3_CHECKSUM_H
#define S3_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"


typedef enum {
    S3_CKSUM_NONE = 0,
    S3_CKSUM_CRC32,
    S3_CKSUM_CRC32C,
    S3_CKSUM_CRC64NVME,
    S3_CKSUM_SHA1,
    S3_CKSUM_SHA256,
    S3_CKSUM_MD5                /* Content-MD5 only, no x-amz-checksum-md5 */
} s3_checksum_alg_t;


#define S3_CHECKSUM_MAX_LEN     32          /* SHA-256 */
#define S3_CHECKSUM_B64_MAX     45          /* base64 of 32 bytes + NUL */


typedef struct {
    s3_checksum_alg_t   alg;
    uint32_t            crc32;
    uint64_t            crc64;
    void               *md;                 /* EVP_MD_CTX or kms_sha256_t */
} s3_checksum_t;


/* alg NONE is accepted: update() ignores data, final() yields nothing */
s3_err_t s3_checksum_init(s3_checksum_t *c, s3_checksum_alg_t alg);
s3_err_t s3_checksum_reset(s3_checksum_t *c);
s3_err_t s3_checksum_update(s3_checksum_t *c, const void *data, size_t len);
/* out holds S3_CHECKSUM_MAX_LEN bytes; *outlen gets the digest size */
s3_err_t s3_checksum_final(s3_checksum_t *c, unsigned char *out,
    size_t *outlen);
/* NUL-terminated base64, out holds S3_CHECKSUM_B64_MAX bytes */
s3_err_t s3_checksum_final_base64(s3_checksum_t *c, char *out,
    size_t *outlen);
void s3_checksum_cleanup(s3_checksum_t *c);

/* one shot into base64 */
s3_err_t s3_checksum_base64(s3_checksum_alg_t alg, const void *data,
    size_t len, char *out, size_t *outlen);

/* digest size in bytes: 4, 4, 8, 20, 32, 16; 0 for NONE */
size_t s3_checksum_len(s3_checksum_alg_t alg);

/*
 * Names.  from_header() takes "x-amz-checksum-crc32" and the like (any
 * case), from_name() the algorithm as x-amz-sdk-checksum-algorithm and
 * x-amz-checksum-algorithm spell it ("CRC32", "crc64nvme", ...).  Both
 * answer S3_CKSUM_NONE for anything else (MD5 is never an x-amz-checksum).
 */
s3_checksum_alg_t s3_checksum_from_header(const void *name, size_t len);
s3_checksum_alg_t s3_checksum_from_name(const void *name, size_t len);
const char *s3_checksum_header(s3_checksum_alg_t alg);
const char *s3_checksum_name(s3_checksum_alg_t alg);

/*
 * Raw CRCs, incremental: start with crc = 0, feed the previous result.
 * The values are the standard ones (CRC-32/ISO-HDLC, CRC-32/ISCSI,
 * CRC-64/NVME), pre- and post-inverted.
 */
uint32_t s3_crc32(uint32_t crc, const void *data, size_t len);
uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len);
uint64_t s3_crc64nvme(uint64_t crc, const void *data, size_t len);

/* the portable CRC32C (slicing-by-8), for tests against the fast path */
uint32_t s3_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif /* S3_CHECKSUM_H */
