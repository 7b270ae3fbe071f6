/*
 * aws-chunked request bodies (Content-Encoding: aws-chunked), decoded as a
 * stream and verified as they go:
 *
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 *       hex-size;chunk-signature=<64 hex>\r\n <data> \r\n ...
 *       0;chunk-signature=<64 hex>\r\n \r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER
 *       hex-size\r\n <data> \r\n ... 0\r\n
 *       x-amz-checksum-<alg>:<base64>\r\n \r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
 *       signed chunks ... 0;chunk-signature=<64 hex>\r\n
 *       x-amz-checksum-<alg>:<base64>\r\n
 *       x-amz-trailer-signature:<64 hex>\r\n \r\n
 *
 * Chunk signatures chain from the request's (seed) signature:
 * HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n"
 * previous "\n" hex(SHA256("")) "\n" hex(SHA256(data))); the trailer's is
 * HMAC(signing key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n"
 * previous "\n" hex(SHA256("name:value\n"))).
 *
 * The decoder takes input in any splits (down to one byte), returns the
 * data as spans of its input (no copy) and keeps no more than a trailer
 * line.  A chunk's signature is checked when its data ends; spans of that
 * chunk may be returned before, so the caller holds back what it cannot
 * take back until s3_chunked_decode() reports the end (S3_OK with an empty
 * span) or s3_chunked_finish() says S3_OK.
 */

#ifndef S3_CHUNKED_H
#define S3_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "kms_crypto.h"
#include "s3_checksum.h"
#include "s3_err.h"
#include "s3_sigv4.h"


typedef enum {
    S3_CHUNKED_SIGNED = 1,          /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    S3_CHUNKED_UNSIGNED_TRAILER,    /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
    S3_CHUNKED_SIGNED_TRAILER       /* ...-HMAC-SHA256-PAYLOAD-TRAILER */
} s3_chunked_mode_t;


#define S3_CHUNKED_MIN_CHUNK    8192
#define S3_CHUNKED_MAX_CHUNK    ((uint64_t) 5 << 30)    /* S3's PUT limit */
#define S3_CHUNKED_MAX_SCOPE    128
#define S3_CHUNKED_MAX_LINE     256


/* the request's signing context: what s3_sigv4_verify() accepted */
typedef struct {
    const unsigned char  *key;          /* signing key, 32 bytes */
    s3_str_t              amz_date;     /* YYYYMMDDTHHMMSSZ */
    s3_str_t              scope;        /* date/region/service/aws4_request */
    s3_str_t              seed;         /* the request's signature, hex */
} s3_chunked_sign_t;


typedef struct {
    s3_chunked_mode_t     mode;
    s3_chunked_sign_t     sign;         /* signed modes */

    /* trailer modes: the checksum x-amz-trailer names; NONE: no trailer */
    s3_checksum_alg_t     trailer;

    int64_t               decoded_length;   /* x-amz-decoded-content-length,
                                               -1: not checked */

    /* S3's rule: in a signed stream only the last data chunk may be
       smaller than 8 KiB (InvalidChunkSizeError) */
    unsigned              min_chunk_size:1;
} s3_chunked_conf_t;


typedef struct {
    s3_chunked_mode_t     mode;
    s3_checksum_alg_t     trailer;
    int64_t               decoded_length;
    unsigned              min_chunk_size:1;
    unsigned              is_signed:1;
    unsigned              small:1;          /* a short chunk was seen */
    unsigned              got_trailer:1;
    unsigned              got_trailer_sig:1;

    int                   state;
    s3_err_t              err;
    uint64_t              size;             /* of the current chunk */
    uint64_t              left;             /* its data not yet seen */
    uint64_t              total;            /* data bytes so far */
    unsigned              ndigits;
    unsigned              npos;

    kms_sha256_t         *sha;              /* of the current chunk */
    s3_checksum_t         ck;               /* trailer checksum */

    unsigned char         key[32];
    char                  amz_date[16];
    char                  scope[S3_CHUNKED_MAX_SCOPE];
    size_t                scope_len;
    char                  prev[64];         /* previous signature, hex */
    char                  sig[64];          /* current chunk's, hex */
    char                  trailer_sig[64];

    size_t                line_len;
    unsigned char         line[S3_CHUNKED_MAX_LINE];
    size_t                value_len;
    char                  value[S3_CHECKSUM_B64_MAX];  /* trailer value */
} s3_chunked_t;


s3_err_t s3_chunked_init(s3_chunked_t *d, const s3_chunked_conf_t *conf);

/*
 * Feeds input.  Returns
 *   S3_OK, data->len > 0   a span of decoded data inside in; *consumed
 *                          counts the input up to its end: call again with
 *                          the rest;
 *   S3_OK, data->len == 0  the body ended and every check passed;
 *   S3_AGAIN               all input consumed, more needed;
 *   an error               and the same error on every later call.
 */
s3_err_t s3_chunked_decode(s3_chunked_t *d, const unsigned char *in,
    size_t len, size_t *consumed, s3_str_t *data);

/* the input ended: S3_OK only if the body ended properly */
s3_err_t s3_chunked_finish(s3_chunked_t *d);

int s3_chunked_done(const s3_chunked_t *d);
uint64_t s3_chunked_decoded(const s3_chunked_t *d);

/* the trailer's checksum as received (base64), once done */
s3_str_t s3_chunked_trailer_value(const s3_chunked_t *d);

void s3_chunked_cleanup(s3_chunked_t *d);


/*
 * The signatures, for building signed bodies (tests, a client).  prev and
 * out are hex; out holds 65 bytes.  canonical is the trailer lines
 * "name:value\n" as signed.
 */
s3_err_t s3_chunked_chunk_signature(const s3_chunked_sign_t *s,
    const char *prev, const unsigned char data_sha256[32], char *out);
s3_err_t s3_chunked_trailer_signature(const s3_chunked_sign_t *s,
    const char *prev, const void *canonical, size_t len, char *out);

#endif /* S3_CHUNKED_H */
