/*
 * SSE header rules: what a request asks of server-side encryption, read
 * from its headers as S3 reads them, with S3's errors.
 *
 *   PutObject, CreateMultipartUpload, CopyObject (target side):
 *     x-amz-server-side-encryption          AES256 | aws:kms
 *                                           (aws:kms:dsse: NotImplemented,
 *                                           anything else InvalidArgument)
 *     -aws-kms-key-id                       only with aws:kms
 *     -context                              base64 of a JSON object of
 *                                           strings; only with aws:kms
 *     -bucket-key-enabled                   true | false
 *   UploadPart, UploadPartCopy, CompleteMultipartUpload, GetObject,
 *   HeadObject: x-amz-server-side-encryption and -aws-kms-key-id are
 *     refused with S3's InvalidArgument.
 *   Everywhere: SSE-C (x-amz-server-side-encryption-customer-*, and the
 *     x-amz-copy-source-... forms): NotImplemented; x-amz-checksum-type
 *     FULL_OBJECT on a multipart upload: NotImplemented.
 *   Writes: x-amz-meta-ssek-* from the client: InvalidArgument; user
 *     metadata over 2 KB: MetadataTooLarge.
 *
 * The result is the mode the client asked for (NONE: the gateway applies
 * the bucket default), the key id as given, the canonical context and the
 * bucket-key flag.
 */

#ifndef S3_SSE_H
#define S3_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"
#include "s3_xml.h"
#include "s3_request.h"


#define S3_META_MAX            2048     /* bytes, as S3 counts them */
#define S3_META_PREFIX         "x-amz-meta-"
#define S3_SSEK_META_PREFIX    "x-amz-meta-ssek-"

#define S3_SSE_CTX_HDR_MAX     8192     /* base64, as sent */
#define S3_SSE_CTX_MAX         6144     /* decoded JSON */
#define S3_SSE_CTX_MAX_PAIRS   256


typedef enum {
    S3_SSE_NONE = 0,            /* not asked: the bucket default applies */
    S3_SSE_AES256,
    S3_SSE_KMS
} s3_sse_mode_t;


/*
 * An encryption context: pairs sorted by key bytes, and its canonical JSON
 * form {"k1":"v1","k2":"v2"} (no spaces, UTF-8 as is, only '"', '\\' and
 * control characters escaped, \u00XX in lowercase hex but for \b \f \n \r
 * \t), which is what x-amz-meta-ssek-ctx holds in base64.
 */
typedef struct {
    size_t               npairs;        /* 0: no context */
    s3_str_t             keys[S3_SSE_CTX_MAX_PAIRS];
    s3_str_t             values[S3_SSE_CTX_MAX_PAIRS];
    s3_str_t             json;          /* canonical; len 0 when npairs 0 */

    /* internal */
    unsigned char        pairs_buf[S3_SSE_CTX_MAX];
    unsigned char        json_buf[S3_SSE_CTX_MAX];
} s3_sse_ctx_t;


typedef struct {
    s3_sse_mode_t        mode;
    s3_str_t             key_id;        /* as given, see has_key_id */
    int                  bucket_key;    /* -1 not given, 0 false, 1 true */
    size_t               meta_size;     /* client's user metadata, bytes */
    unsigned             has_key_id:1;
    unsigned             has_context:1; /* the header was sent */
    unsigned             meta_replace:1;/* CopyObject: directive REPLACE */

    s3_sse_ctx_t         ctx;
    s3_error_t           error;

    /* internal */
    char                 num[2][24];
} s3_sse_t;


/*
 * Applies the rules for op to the request's headers.  Returns
 * out->error.err.  Views in out point into the headers or into out.
 */
s3_err_t s3_sse_parse(s3_op_t op, const s3_header_t *headers, size_t n,
    s3_sse_t *out);

/*
 * Decodes a context: base64 (strict) of a JSON object whose values are
 * strings, keys not starting with "aws:" (case-insensitive), at most
 * S3_SSE_CTX_MAX_PAIRS pairs, keys unique, all UTF-8.  Used for the
 * client's header and for x-amz-meta-ssek-ctx read back.  Returns S3_OK
 * or S3_ERR_INVALID_ARGUMENT.
 */
s3_err_t s3_sse_ctx_decode(const unsigned char *b64, size_t len,
    s3_sse_ctx_t *ctx);

/* the same from JSON text, not base64 */
s3_err_t s3_sse_ctx_parse_json(const unsigned char *json, size_t len,
    s3_sse_ctx_t *ctx);

/*
 * The bytes S3 counts for one user metadata entry: the name after
 * "x-amz-meta-" and the value, UTF-8.  The gateway adds its own
 * x-amz-meta-ssek-* entries with this to out->meta_size and answers
 * MetadataTooLarge (s3_sse_meta_error) when the sum exceeds S3_META_MAX.
 */
size_t s3_sse_meta_entry_size(size_t name_len_after_prefix, size_t value_len);

/* fills e with S3's MetadataTooLarge for a size; num holds 24 bytes */
void s3_sse_meta_error(s3_error_t *e, size_t size, char *num);

const char *s3_sse_mode_name(s3_sse_mode_t m);

#endif /* S3_SSE_H */
