/*
 * S3 XML: error documents, the client documents the gateway reads
 * (CompleteMultipartUpload, ServerSideEncryptionConfiguration, Delete),
 * GetBucketEncryption's answer, and the rewriting of backend listings
 * (ListObjects v1/v2, ListObjectVersions, ListParts) with plaintext sizes.
 *
 * Client XML is parsed with libxml2 without entity substitution, DTD
 * loading or network access; a document with a DOCTYPE, an entity
 * declaration or reference, or in another encoding than UTF-8 is refused
 * with MalformedXML before anything in it is used.
 *
 * Parsers allocate with malloc (libxml2 does too) and each result has its
 * own free function; nothing is kept between calls.
 */

#ifndef S3_XML_H
#define S3_XML_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"


/* the same layout as ngx_str_t */
#ifndef S3_STR_T_DEFINED
#define S3_STR_T_DEFINED
typedef struct {
    size_t                len;
    const unsigned char  *data;
} s3_str_t;
#endif


#define S3_XML_NS  "http://s3.amazonaws.com/doc/2006-03-01/"


/* an extra element of an error document: <ArgumentName>x</ArgumentName> */
typedef struct {
    const char           *name;
    s3_str_t              value;
} s3_xml_elem_t;

/*
 * The extra elements S3 puts in its errors, for callers building them:
 * NoSuchKey Key; NoSuchBucket BucketName; NoSuchUpload UploadId;
 * InvalidArgument ArgumentName, ArgumentValue; NotImplemented Header (or
 * QueryParameter); InvalidRange RangeRequested, ActualObjectSize;
 * MetadataTooLarge and KeyTooLongError Size, MaxSizeAllowed;
 * EntityTooLarge ProposedSize, MaxSizeAllowed; EntityTooSmall
 * ProposedSize, MinSizeAllowed, PartNumber, ETag; InvalidPart UploadId,
 * PartNumber, ETag; PreconditionFailed Condition; MethodNotAllowed Method,
 * ResourceType; InvalidAccessKeyId AWSAccessKeyId; RequestTimeTooSkewed
 * RequestTime, ServerTime, MaxAllowedSkewMilliseconds.
 */
#define S3_ERROR_MAX_EXTRA  8

/*
 * An error as S3 reports it: the code (from the s3_err table), the message
 * when S3 uses another one than the table's for this case, and the extra
 * elements S3 adds (ArgumentName / ArgumentValue, Header, QueryParameter,
 * Size / MaxSizeAllowed, ...).  Values point into the request the error
 * is about or into static strings; reason is a short text for logs only.
 */
typedef struct {
    s3_err_t              err;
    const char           *message;      /* NULL: s3_err_message(err) */
    s3_xml_elem_t         extra[S3_ERROR_MAX_EXTRA];
    size_t                nextra;
    const char           *reason;
} s3_error_t;


/*
 * Writes S3's error document:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>\n
 *   <Error><Code>..</Code><Message>..</Message>[extra elements]
 *   <RequestId>..</RequestId><HostId>..</HostId></Error>
 *
 * (one line after the declaration).  Text is escaped as S3 escapes it.
 * request_id and host_id are left out when their data is NULL.  Returns
 * the document's length; writes at most cap bytes (nothing is written
 * past cap, and the output is not NUL-terminated): call with cap 0 to
 * size a buffer.
 */
size_t s3_xml_error(unsigned char *out, size_t cap, const s3_error_t *e,
    s3_str_t request_id, s3_str_t host_id);

/*
 * Escapes text for element content: & < > " ' and control characters
 * (as character references).  Returns the escaped length; writes at most
 * cap bytes.
 */
size_t s3_xml_escape(unsigned char *out, size_t cap, const unsigned char *in,
    size_t len);


/* ---- CompleteMultipartUpload ---------------------------------------- */

#define S3_XML_MAX_PARTS          10000
#define S3_XML_COMPLETE_MAX_LEN   (4 * 1024 * 1024)

typedef enum {
    S3_XML_CK_CRC32 = 0,
    S3_XML_CK_CRC32C,
    S3_XML_CK_CRC64NVME,
    S3_XML_CK_SHA1,
    S3_XML_CK_SHA256,
    S3_XML_CK_MAX
} s3_xml_checksum_t;

typedef struct {
    uint32_t              number;
    s3_str_t              etag;         /* as sent, quotes included */
    s3_str_t              checksum[S3_XML_CK_MAX];   /* len 0: absent */
} s3_xml_part_t;

typedef struct {
    s3_xml_part_t        *parts;
    size_t                nparts;
    void                 *mem;          /* internal */
} s3_xml_complete_t;

/*
 * Parses a CompleteMultipartUpload body.  Errors: MalformedXML (not
 * well-formed, not the schema, no part, more than 10,000 parts, a part
 * without PartNumber or ETag, a PartNumber that is not an integer),
 * InvalidPart (a PartNumber outside 1..10000), InvalidPartOrder (not in
 * strictly ascending order), MaxMessageLengthExceeded (body over
 * S3_XML_COMPLETE_MAX_LEN).  e may be NULL.
 */
s3_err_t s3_xml_complete_parse(const unsigned char *xml, size_t len,
    s3_xml_complete_t *out, s3_error_t *e);
void s3_xml_complete_free(s3_xml_complete_t *c);

/* the element name of a checksum kind: "ChecksumCRC32", ... */
const char *s3_xml_checksum_name(s3_xml_checksum_t k);


/* ---- bucket default encryption --------------------------------------- */

#define S3_XML_SSE_CONFIG_MAX_LEN  (64 * 1024)
#define S3_XML_KMS_KEY_MAX         2048

typedef enum {
    S3_XML_SSE_AES256 = 1,
    S3_XML_SSE_KMS
} s3_xml_sse_alg_t;

typedef struct {
    unsigned              has_default:1;    /* ApplyServerSideEncryption-
                                               ByDefault was given */
    unsigned              bucket_key:1;
    unsigned              has_bucket_key:1; /* BucketKeyEnabled was given */
    unsigned              blocked_sse_c:1;  /* BlockedEncryptionTypes */
    unsigned              blocked_none:1;
    unsigned              has_blocked:1;
    s3_xml_sse_alg_t      algorithm;        /* AES256 without a default */
    size_t                key_id_len;       /* 0: no KMSMasterKeyID */
    char                  key_id[S3_XML_KMS_KEY_MAX + 1];
} s3_xml_sse_config_t;

/*
 * Parses a PutBucketEncryption body.  Exactly one Rule; SSEAlgorithm
 * AES256 or aws:kms (aws:kms:dsse, aws:fsx, aws:backup: NotImplemented;
 * anything else MalformedXML); KMSMasterKeyID only with aws:kms
 * (InvalidArgument as S3 words it); BucketKeyEnabled true|false;
 * BlockedEncryptionTypes/EncryptionType NONE|SSE-C.
 */
s3_err_t s3_xml_sse_config_parse(const unsigned char *xml, size_t len,
    s3_xml_sse_config_t *out, s3_error_t *e);

/*
 * GetBucketEncryption's body for a configuration, byte for byte as S3
 * writes it.  Returns the length; writes at most cap bytes.
 */
size_t s3_xml_sse_config_write(unsigned char *out, size_t cap,
    const s3_xml_sse_config_t *c);


/* ---- DeleteObjects ----------------------------------------------------- */

#define S3_XML_MAX_DELETE          1000
#define S3_XML_DELETE_MAX_LEN      (2 * 1024 * 1024)

typedef struct {
    s3_str_t              key;
    s3_str_t              version_id;   /* len 0: none */
    s3_str_t              etag;         /* len 0: none (If-Match) */
} s3_xml_delete_obj_t;

typedef struct {
    s3_xml_delete_obj_t  *objects;
    size_t                nobjects;
    unsigned              quiet:1;
    void                 *mem;          /* internal */
} s3_xml_delete_t;

/*
 * Parses a DeleteObjects body: 1..1000 Object elements (Key required,
 * VersionId, ETag, LastModifiedTime optional), optional Quiet.  More than
 * 1000 keys or none: MalformedXML.  A Size condition (it would be compared
 * with the ciphertext size): NotImplemented.
 */
s3_err_t s3_xml_delete_parse(const unsigned char *xml, size_t len,
    s3_xml_delete_t *out, s3_error_t *e);
void s3_xml_delete_free(s3_xml_delete_t *d);


/* ---- backend listings ------------------------------------------------- */

#define S3_XML_LIST_MAX_LEN        (32 * 1024 * 1024)

/*
 * The listings with sizes.  ListMultipartUploads (class LIST too) has no
 * sizes and passes as the backend wrote it.
 */

typedef enum {
    S3_XML_LIST_OBJECTS = 1,            /* ListBucketResult, v1 and v2 */
    S3_XML_LIST_VERSIONS,               /* ListVersionsResult */
    S3_XML_LIST_PARTS                   /* ListPartsResult */
} s3_xml_list_kind_t;

typedef struct {
    s3_str_t              key;          /* the object key (url-decoded when
                                           the listing is url-encoded) */
    s3_str_t              key_raw;      /* as the document has it */
    s3_str_t              version_id;
    s3_str_t              etag;
    int64_t               size;         /* -1: none (delete marker) */
    uint32_t              part_number;  /* ListParts */
    unsigned              delete_marker:1;
    unsigned              is_latest:1;

    int64_t               new_size;     /* set by the caller; -1 keeps */
} s3_xml_list_entry_t;

typedef struct s3_xml_list_s  s3_xml_list_t;

struct s3_xml_list_s {
    s3_xml_list_kind_t    kind;
    s3_str_t              bucket;
    s3_str_t              key;          /* ListParts */
    s3_str_t              upload_id;    /* ListParts */
    unsigned              url_encoded:1;
    s3_xml_list_entry_t  *entries;
    size_t                nentries;
    void                 *priv;         /* internal */
};

/* drop the entries' Checksum* values (they are of ciphertext) */
#define S3_XML_LIST_DROP_CHECKSUMS  0x1

/*
 * Step one: parse a backend listing.  A document that is not one of the
 * three listings, or not well-formed, gives S3_ERR_INTERNAL (the backend
 * misbehaved, the client did nothing wrong).
 */
s3_err_t s3_xml_list_parse(const unsigned char *xml, size_t len,
    s3_xml_list_t **out);

/*
 * Step two, after the caller set new_size where it knows better: the
 * document with those sizes.  Every other byte is kept as the backend
 * wrote it (the new values are spliced into the original text); should
 * the document be too odd for that (a Size written with character
 * references, say), it is re-serialized by libxml2 instead, with the same
 * content.  *out is malloc'd; the caller frees it.
 */
s3_err_t s3_xml_list_write(s3_xml_list_t *l, unsigned flags,
    unsigned char **out, size_t *outlen);
void s3_xml_list_free(s3_xml_list_t *l);

/*
 * The plaintext length L of a single-segment object of stored length
 * `stored` and frame size F (DESIGN §3: stored = 72 + L + 16 max(1,
 * ceil(L/F))), or -1 when no L gives that length.  For when the index has
 * nothing better: a multipart object has one segment per part.
 */
int64_t s3_xml_plaintext_size(uint64_t stored, uint64_t frame_size);


/* ---- the backend's answers to the multipart calls --------------------- */

#define S3_XML_RESULT_MAX_LEN      (1024 * 1024)

/*
 * The values the gateway reads in the backend's answer to
 * CreateMultipartUpload (InitiateMultipartUploadResult: UploadId) and
 * CompleteMultipartUpload (CompleteMultipartUploadResult: ETag, entities
 * resolved: "&quot;..&quot;" gives the quoted ETag), or in an error
 * document (S3 may answer CompleteMultipartUpload 200 with an <Error>):
 * the root element's name and, for <Error>, its Code.  Values are the
 * first child element of that name, whitespace trimmed; len 0 (data
 * NULL) when there is none.  A document that is not well-formed XML, or
 * has a DOCTYPE, gives S3_ERR_INTERNAL: the backend misbehaved.
 */
typedef struct {
    s3_str_t              root;
    s3_str_t              upload_id;
    s3_str_t              etag;
    s3_str_t              code;
    unsigned              is_error:1;   /* the root is <Error> */
    void                 *mem;          /* internal */
} s3_xml_result_t;

s3_err_t s3_xml_result_parse(const unsigned char *xml, size_t len,
    s3_xml_result_t *out);
void s3_xml_result_free(s3_xml_result_t *r);

#endif /* S3_XML_H */
