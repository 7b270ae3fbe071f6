/*
 * Every check S3 runs on a request body, in one object: the module asks
 * it, before reading the body, how long the plaintext will be (or which
 * error to answer at once), feeds it the body as it arrives and gets the
 * decoded data back as spans of its input, and at the end asks whether
 * the body passed.
 *
 * Configured from the request's headers:
 *   Content-Length                 the body's length (411 if absent and the
 *                                  length cannot be known otherwise)
 *   x-amz-content-sha256           hex SHA-256 (verified), UNSIGNED-PAYLOAD,
 *                                  or STREAMING-* (aws-chunked, s3_chunked)
 *   x-amz-decoded-content-length   the plaintext length of STREAMING-*
 *   Content-MD5                    base64 of 16 bytes (verified)
 *   x-amz-checksum-<alg>           one checksum header (verified)
 *   x-amz-trailer                  the checksum a STREAMING-*-TRAILER body
 *                                  ends with (verified)
 *   x-amz-sdk-checksum-algorithm   must name the checksum sent
 *   Content-Encoding               may hold aws-chunked among others
 * and, for signed streams, the signing context s3_sigv4_verify() accepted.
 *
 * Calls (zlib-like, no copies):
 *
 *   rc = s3_payload_init(&p, &conf);       an S3 error to answer now, or
 *   len = s3_payload_length(&p);           the plaintext length, -1 unknown
 *   rc = s3_payload_feed(&p, in, n, &used, &span);
 *        S3_OK + span.len > 0: data; S3_AGAIN: give more input;
 *        S3_OK + span.len == 0: an aws-chunked body ended, all verified
 *   rc = s3_payload_finish(&p);            the input ended: S3_OK or the
 *                                          first failed check
 *   s3_payload_cleanup(&p);
 */

#ifndef S3_PAYLOAD_H
#define S3_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "kms_crypto.h"
#include "s3_checksum.h"
#include "s3_chunked.h"
#include "s3_err.h"
#include "s3_sigv4.h"


typedef enum {
    S3_PAYLOAD_UNSIGNED = 0,        /* UNSIGNED-PAYLOAD or no header */
    S3_PAYLOAD_SHA256,              /* hex SHA-256 of the body */
    S3_PAYLOAD_STREAMING            /* STREAMING-*: aws-chunked */
} s3_payload_kind_t;


typedef struct {
    const s3_header_t       *headers;
    size_t                   nheaders;

    /* the verified authentication and its signing key, for signed
       streams; NULL for anonymous or presigned requests */
    const s3_sigv4_auth_t   *auth;
    const unsigned char     *key;

    /* S3's 8 KiB minimum chunk size for signed streams */
    unsigned                 min_chunk_size:1;
} s3_payload_conf_t;


typedef struct {
    s3_payload_kind_t    kind;
    s3_err_t             err;
    unsigned             failed:1;
    unsigned             finished:1;        /* finish() said S3_OK */
    unsigned             has_md5:1;
    unsigned             has_checksum:1;    /* x-amz-checksum-* header */

    int64_t              content_length;    /* -1 if absent */
    int64_t              length;            /* plaintext, -1 if unknown */
    uint64_t             received;          /* plaintext seen */

    s3_chunked_t         chunked;
    kms_sha256_t        *sha;
    s3_checksum_t        md5;
    s3_checksum_t        ck;

    s3_checksum_alg_t    alg;               /* header or trailer checksum */
    unsigned char        sha_want[32];
    unsigned char        md5_want[16];
    char                 ck_want[S3_CHECKSUM_B64_MAX];
} s3_payload_t;


s3_err_t s3_payload_init(s3_payload_t *p, const s3_payload_conf_t *conf);
int64_t s3_payload_length(const s3_payload_t *p);
s3_payload_kind_t s3_payload_kind(const s3_payload_t *p);
s3_err_t s3_payload_feed(s3_payload_t *p, const unsigned char *in,
    size_t len, size_t *consumed, s3_str_t *data);
s3_err_t s3_payload_finish(s3_payload_t *p);
void s3_payload_cleanup(s3_payload_t *p);

/*
 * After s3_payload_finish() said S3_OK: the checksum the client sent (in a
 * header or the trailer), which S3 echoes in its response; NONE if none.
 */
s3_checksum_alg_t s3_payload_checksum(const s3_payload_t *p,
    s3_str_t *value);

/*
 * The Content-Encoding to store with the object: the request's, without
 * aws-chunked ("gzip, aws-chunked" -> "gzip"); *len is 0 when nothing is
 * left.  S3_ERR_INTERNAL if out is too small.
 */
s3_err_t s3_payload_stored_encoding(const s3_header_t *headers,
    size_t nheaders, char *out, size_t cap, size_t *len);

#endif /* S3_PAYLOAD_H */
