/*
 * S3 request classification: which S3 operation a request is, on which
 * bucket, key, version, upload and part, and what the gateway does with it.
 *
 *     s3_request_t  r;
 *
 *     if (s3_request_classify(&in, &r) != S3_OK) {
 *         ... answer r.error (S3's code, message and extra elements) ...
 *     }
 *     switch (r.cls) { case S3_CLASS_ENCRYPT: ... }
 *
 * Addressing: path style (/BUCKET/KEY) always; virtual-hosted style
 * (BUCKET.NAME/KEY) when the Host header is a subdomain of one of the
 * configured gateway names.  A Host that is an IP address or "localhost",
 * equal to a configured name, or unrelated to all of them is path style.
 *
 * The key is the percent-decoded path after the bucket, exact bytes: no
 * normalization ("a//b", "./x" and trailing slashes stay), '+' is a plus.
 * In the query string '+' is a space, as S3 reads it.
 *
 * Query parameters: the subresources S3 knows select the operation; the
 * arguments the SDKs and tools send (list parameters, response-*
 * overrides, presigned X-Amz-*, x-id, ...) are accepted; any other
 * parameter makes the request NOT_IMPLEMENTED, so that an operation this
 * code does not know never passes as one it knows.  A parameter the
 * gateway reads (uploadId, versionId, partNumber, ...) given twice is an
 * InvalidArgument: the gateway and the backend must not read different
 * ones.
 */

#ifndef S3_REQUEST_H
#define S3_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"
#include "s3_sigv4.h"             /* s3_header_t */
#include "s3_xml.h"


/* the same layout as ngx_str_t */
#ifndef S3_STR_T_DEFINED
#define S3_STR_T_DEFINED
typedef struct {
    size_t                len;
    const unsigned char  *data;
} s3_str_t;
#endif

#define S3_KEY_MAX          1024        /* bytes of UTF-8, as S3 */
#define S3_BUCKET_MAX       63
#define S3_PART_MAX         10000
#define S3_ID_MAX           1024        /* version and upload ids */


/* what the gateway does */
typedef enum {
    S3_CLASS_INVALID = 0,       /* malformed: answer r.error */
    S3_CLASS_PASS,              /* no object body either way: forward */
    S3_CLASS_ENCRYPT,           /* writes an object body (Copy/UploadPart-
                                   Copy also read their source) */
    S3_CLASS_DECRYPT,           /* reads an object body */
    S3_CLASS_LIST,              /* listing: sizes to rewrite */
    S3_CLASS_BUCKET_ENCRYPTION, /* the gateway's bucket default */
    S3_CLASS_NOT_IMPLEMENTED    /* refused: r.error is NotImplemented */
} s3_class_t;


#define S3_OPS(X)                                                           \
    X(UNKNOWN,                        "Unknown",                      NOT_IMPLEMENTED) \
    /* service */                                                           \
    X(LIST_BUCKETS,                   "ListBuckets",                  PASS) \
    /* buckets */                                                           \
    X(CREATE_BUCKET,                  "CreateBucket",                 PASS) \
    X(DELETE_BUCKET,                  "DeleteBucket",                 PASS) \
    X(HEAD_BUCKET,                    "HeadBucket",                   PASS) \
    X(GET_BUCKET_LOCATION,            "GetBucketLocation",            PASS) \
    X(LIST_OBJECTS,                   "ListObjects",                  LIST) \
    X(LIST_OBJECTS_V2,                "ListObjectsV2",                LIST) \
    X(LIST_OBJECT_VERSIONS,           "ListObjectVersions",           LIST) \
    X(LIST_MULTIPART_UPLOADS,         "ListMultipartUploads",         LIST) \
    X(DELETE_OBJECTS,                 "DeleteObjects",                PASS) \
    X(POST_OBJECT,                    "PostObject",                   NOT_IMPLEMENTED) \
    X(CREATE_SESSION,                 "CreateSession",                NOT_IMPLEMENTED) \
    X(PUT_BUCKET_ENCRYPTION,          "PutBucketEncryption",          BUCKET_ENCRYPTION) \
    X(GET_BUCKET_ENCRYPTION,          "GetBucketEncryption",          BUCKET_ENCRYPTION) \
    X(DELETE_BUCKET_ENCRYPTION,       "DeleteBucketEncryption",       BUCKET_ENCRYPTION) \
    X(GET_BUCKET_ACCELERATE,          "GetBucketAccelerateConfiguration", PASS) \
    X(PUT_BUCKET_ACCELERATE,          "PutBucketAccelerateConfiguration", PASS) \
    X(GET_BUCKET_ACL,                 "GetBucketAcl",                 PASS) \
    X(PUT_BUCKET_ACL,                 "PutBucketAcl",                 PASS) \
    X(GET_BUCKET_ANALYTICS,           "GetBucketAnalyticsConfiguration", PASS) \
    X(PUT_BUCKET_ANALYTICS,           "PutBucketAnalyticsConfiguration", PASS) \
    X(DELETE_BUCKET_ANALYTICS,        "DeleteBucketAnalyticsConfiguration", PASS) \
    X(LIST_BUCKET_ANALYTICS,          "ListBucketAnalyticsConfigurations", PASS) \
    X(GET_BUCKET_CORS,                "GetBucketCors",                PASS) \
    X(PUT_BUCKET_CORS,                "PutBucketCors",                PASS) \
    X(DELETE_BUCKET_CORS,             "DeleteBucketCors",             PASS) \
    X(GET_BUCKET_INTELLIGENT_TIERING, "GetBucketIntelligentTieringConfiguration", PASS) \
    X(PUT_BUCKET_INTELLIGENT_TIERING, "PutBucketIntelligentTieringConfiguration", PASS) \
    X(DELETE_BUCKET_INTELLIGENT_TIERING, "DeleteBucketIntelligentTieringConfiguration", PASS) \
    X(LIST_BUCKET_INTELLIGENT_TIERING, "ListBucketIntelligentTieringConfigurations", PASS) \
    X(GET_BUCKET_INVENTORY,           "GetBucketInventoryConfiguration", PASS) \
    X(PUT_BUCKET_INVENTORY,           "PutBucketInventoryConfiguration", PASS) \
    X(DELETE_BUCKET_INVENTORY,        "DeleteBucketInventoryConfiguration", PASS) \
    X(LIST_BUCKET_INVENTORY,          "ListBucketInventoryConfigurations", PASS) \
    X(GET_BUCKET_LIFECYCLE,           "GetBucketLifecycleConfiguration", PASS) \
    X(PUT_BUCKET_LIFECYCLE,           "PutBucketLifecycleConfiguration", PASS) \
    X(DELETE_BUCKET_LIFECYCLE,        "DeleteBucketLifecycle",        PASS) \
    X(GET_BUCKET_LOGGING,             "GetBucketLogging",             PASS) \
    X(PUT_BUCKET_LOGGING,             "PutBucketLogging",             PASS) \
    X(GET_BUCKET_METRICS,             "GetBucketMetricsConfiguration", PASS) \
    X(PUT_BUCKET_METRICS,             "PutBucketMetricsConfiguration", PASS) \
    X(DELETE_BUCKET_METRICS,          "DeleteBucketMetricsConfiguration", PASS) \
    X(LIST_BUCKET_METRICS,            "ListBucketMetricsConfigurations", PASS) \
    X(GET_BUCKET_NOTIFICATION,        "GetBucketNotificationConfiguration", PASS) \
    X(PUT_BUCKET_NOTIFICATION,        "PutBucketNotificationConfiguration", PASS) \
    X(GET_OBJECT_LOCK_CONFIGURATION,  "GetObjectLockConfiguration",   PASS) \
    X(PUT_OBJECT_LOCK_CONFIGURATION,  "PutObjectLockConfiguration",   PASS) \
    X(GET_BUCKET_OWNERSHIP_CONTROLS,  "GetBucketOwnershipControls",   PASS) \
    X(PUT_BUCKET_OWNERSHIP_CONTROLS,  "PutBucketOwnershipControls",   PASS) \
    X(DELETE_BUCKET_OWNERSHIP_CONTROLS, "DeleteBucketOwnershipControls", PASS) \
    X(GET_BUCKET_POLICY,              "GetBucketPolicy",              PASS) \
    X(PUT_BUCKET_POLICY,              "PutBucketPolicy",              PASS) \
    X(DELETE_BUCKET_POLICY,           "DeleteBucketPolicy",           PASS) \
    X(GET_BUCKET_POLICY_STATUS,       "GetBucketPolicyStatus",        PASS) \
    X(GET_PUBLIC_ACCESS_BLOCK,        "GetPublicAccessBlock",         PASS) \
    X(PUT_PUBLIC_ACCESS_BLOCK,        "PutPublicAccessBlock",         PASS) \
    X(DELETE_PUBLIC_ACCESS_BLOCK,     "DeletePublicAccessBlock",      PASS) \
    X(GET_BUCKET_REPLICATION,         "GetBucketReplication",         PASS) \
    X(PUT_BUCKET_REPLICATION,         "PutBucketReplication",         PASS) \
    X(DELETE_BUCKET_REPLICATION,      "DeleteBucketReplication",      PASS) \
    X(GET_BUCKET_REQUEST_PAYMENT,     "GetBucketRequestPayment",      PASS) \
    X(PUT_BUCKET_REQUEST_PAYMENT,     "PutBucketRequestPayment",      PASS) \
    X(GET_BUCKET_TAGGING,             "GetBucketTagging",             PASS) \
    X(PUT_BUCKET_TAGGING,             "PutBucketTagging",             PASS) \
    X(DELETE_BUCKET_TAGGING,          "DeleteBucketTagging",          PASS) \
    X(GET_BUCKET_VERSIONING,          "GetBucketVersioning",          PASS) \
    X(PUT_BUCKET_VERSIONING,          "PutBucketVersioning",          PASS) \
    X(GET_BUCKET_WEBSITE,             "GetBucketWebsite",             PASS) \
    X(PUT_BUCKET_WEBSITE,             "PutBucketWebsite",             PASS) \
    X(DELETE_BUCKET_WEBSITE,          "DeleteBucketWebsite",          PASS) \
    /* objects */                                                           \
    X(PUT_OBJECT,                     "PutObject",                    ENCRYPT) \
    X(COPY_OBJECT,                    "CopyObject",                   ENCRYPT) \
    X(CREATE_MULTIPART_UPLOAD,        "CreateMultipartUpload",        ENCRYPT) \
    X(UPLOAD_PART,                    "UploadPart",                   ENCRYPT) \
    X(UPLOAD_PART_COPY,               "UploadPartCopy",               ENCRYPT) \
    X(COMPLETE_MULTIPART_UPLOAD,      "CompleteMultipartUpload",      ENCRYPT) \
    X(GET_OBJECT,                     "GetObject",                    DECRYPT) \
    X(HEAD_OBJECT,                    "HeadObject",                   DECRYPT) \
    X(LIST_PARTS,                     "ListParts",                    LIST) \
    X(DELETE_OBJECT,                  "DeleteObject",                 PASS) \
    X(ABORT_MULTIPART_UPLOAD,         "AbortMultipartUpload",         PASS) \
    X(GET_OBJECT_ACL,                 "GetObjectAcl",                 PASS) \
    X(PUT_OBJECT_ACL,                 "PutObjectAcl",                 PASS) \
    X(GET_OBJECT_TAGGING,             "GetObjectTagging",             PASS) \
    X(PUT_OBJECT_TAGGING,             "PutObjectTagging",             PASS) \
    X(DELETE_OBJECT_TAGGING,          "DeleteObjectTagging",          PASS) \
    X(GET_OBJECT_RETENTION,           "GetObjectRetention",           PASS) \
    X(PUT_OBJECT_RETENTION,           "PutObjectRetention",           PASS) \
    X(GET_OBJECT_LEGAL_HOLD,          "GetObjectLegalHold",           PASS) \
    X(PUT_OBJECT_LEGAL_HOLD,          "PutObjectLegalHold",           PASS) \
    X(OPTIONS_OBJECT,                 "OptionsObject",                PASS) \
    X(GET_OBJECT_ATTRIBUTES,          "GetObjectAttributes",          NOT_IMPLEMENTED) \
    X(GET_OBJECT_TORRENT,             "GetObjectTorrent",             NOT_IMPLEMENTED) \
    X(RESTORE_OBJECT,                 "RestoreObject",                NOT_IMPLEMENTED) \
    X(SELECT_OBJECT_CONTENT,          "SelectObjectContent",          NOT_IMPLEMENTED) \
    X(UPDATE_OBJECT_ENCRYPTION,       "UpdateObjectEncryption",       NOT_IMPLEMENTED) \
    X(WRITE_GET_OBJECT_RESPONSE,      "WriteGetObjectResponse",       NOT_IMPLEMENTED)

#define S3_OP_ENUM(name, str, cls)  S3_OP_##name,
typedef enum {
    S3_OPS(S3_OP_ENUM)
    S3_OP_MAX
} s3_op_t;
#undef S3_OP_ENUM


#define S3_REQUEST_BUF  8192

typedef struct {
    s3_str_t             method;
    s3_str_t             path;          /* percent-encoded, without query */
    s3_str_t             query;         /* without the '?' */
    s3_str_t             host;          /* the Host header, port included */
    const s3_header_t   *headers;       /* x-amz-copy-source(-range), ... */
    size_t               nheaders;
    const s3_str_t      *vhost_names;   /* gateway names for virtual-hosted
                                           style: "s3.example.com" */
    size_t               nvhost_names;
} s3_request_in_t;

typedef struct {
    s3_op_t              op;
    s3_class_t           cls;
    s3_error_t           error;         /* err != S3_OK: refuse with it */
    const char          *reason;        /* short, for logs: why NOT_-
                                           IMPLEMENTED or INVALID */

    s3_str_t             bucket;        /* len 0: none (ListBuckets) */
    s3_str_t             key;           /* decoded */
    s3_str_t             version_id;    /* decoded; see has_version */
    s3_str_t             upload_id;
    uint32_t             part_number;   /* 0: none */

    /* CopyObject, UploadPartCopy: x-amz-copy-source */
    s3_str_t             copy_bucket;
    s3_str_t             copy_key;
    s3_str_t             copy_version_id;
    uint64_t             copy_first;    /* x-amz-copy-source-range */
    uint64_t             copy_last;

    unsigned             has_key:1;
    unsigned             has_version:1;
    unsigned             has_upload:1;
    unsigned             has_copy_version:1;
    unsigned             has_copy_range:1;
    unsigned             virtual_host:1;
    unsigned             list_v2:1;

    /* internal */
    size_t               used;
    unsigned char        buf[S3_REQUEST_BUF];
} s3_request_t;


/*
 * Classifies a request.  Returns r->error.err: S3_OK for a request the
 * gateway can act on (cls PASS ... BUCKET_ENCRYPTION), NotImplemented
 * (cls NOT_IMPLEMENTED) or S3's error for a malformed one (cls INVALID):
 * InvalidURI (bad percent-encoding, a key that is not UTF-8 or holds NUL),
 * InvalidBucketName, KeyTooLongError, InvalidArgument (partNumber,
 * duplicated parameters, x-amz-copy-source(-range)), MethodNotAllowed.
 * Views in r point into the input or into r->buf.
 */
s3_err_t s3_request_classify(const s3_request_in_t *in, s3_request_t *r);

const char *s3_op_name(s3_op_t op);
s3_class_t s3_op_class(s3_op_t op);
const char *s3_class_name(s3_class_t c);

/* 1 if S3 accepts the name for a general purpose bucket, else 0 */
int s3_bucket_name_valid(const unsigned char *name, size_t len);

/*
 * Percent-decodes into out (cap bytes; the output is never longer than
 * the input).  plus_space: '+' is a space (query strings).  Returns the
 * decoded length, or -1 on a bad escape or when out is too small.
 */
long s3_percent_decode(unsigned char *out, size_t cap,
    const unsigned char *in, size_t len, int plus_space);

/* 1 if the bytes are well-formed UTF-8 (no overlongs, no surrogates) */
int s3_utf8_valid(const unsigned char *p, size_t len);

/*
 * ARNs for the encryption context: "arn:aws:s3:::BUCKET/KEY" and
 * "arn:aws:s3:::BUCKET" (the key as decoded, raw bytes).  Return the
 * length without the NUL; write at most cap bytes, NUL-terminated when
 * the whole ARN fits (cap > length).
 */
size_t s3_arn_object(char *out, size_t cap, s3_str_t bucket, s3_str_t key);
size_t s3_arn_bucket(char *out, size_t cap, s3_str_t bucket);

/* finds a header by name, case-insensitively; NULL if absent */
const s3_header_t *s3_header_find(const s3_header_t *h, size_t n,
    const char *name);

#endif /* S3_REQUEST_H */
