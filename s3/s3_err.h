/*
 * S3 error codes: one table, one place.  Library functions return an
 * s3_err_t; ngx_module/ maps it to S3's XML <Error> with s3_err_code(),
 * s3_err_status() and s3_err_message() and never invents error strings.
 */

#ifndef S3_ERR_H
#define S3_ERR_H

/*
 * Categories, as in s2n: the caller treats "need more input" apart from
 * "the client sent something wrong" and "we failed".
 */
typedef enum {
    S3_ERRCAT_NONE = 0,
    S3_ERRCAT_AGAIN,
    S3_ERRCAT_CLIENT,
    S3_ERRCAT_INTERNAL
} s3_errcat_t;

/*        name                          Code                          status category            message */
#define S3_ERRORS(X)                                                          \
    X(S3_OK,                         "",                            200, NONE,     "") \
    X(S3_AGAIN,                      "",                            0,   AGAIN,    "more input needed") \
    X(S3_ERR_ACCESS_DENIED,          "AccessDenied",                403, CLIENT,   "Access Denied") \
    X(S3_ERR_REQUEST_EXPIRED,        "AccessDenied",                403, CLIENT,   "Request has expired") \
    X(S3_ERR_AUTH_HEADER_MALFORMED,  "AuthorizationHeaderMalformed",400, CLIENT,   "The authorization header is malformed.") \
    X(S3_ERR_AUTH_QUERY_ERROR,       "AuthorizationQueryParametersError", 400, CLIENT, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.") \
    X(S3_ERR_INVALID_ACCESS_KEY_ID,  "InvalidAccessKeyId",          403, CLIENT,   "The AWS Access Key Id you provided does not exist in our records.") \
    X(S3_ERR_SIGNATURE_MISMATCH,     "SignatureDoesNotMatch",       403, CLIENT,   "The request signature we calculated does not match the signature you provided. Check your key and signing method.") \
    X(S3_ERR_TIME_SKEWED,            "RequestTimeTooSkewed",        403, CLIENT,   "The difference between the request time and the current time is too large.") \
    X(S3_ERR_MISSING_SECURITY_HEADER,"MissingSecurityHeader",       400, CLIENT,   "Your request was missing a required header.") \
    X(S3_ERR_SHA256_MISMATCH,        "XAmzContentSHA256Mismatch",   400, CLIENT,   "The provided 'x-amz-content-sha256' header does not match what was computed.") \
    X(S3_ERR_INVALID_CONTENT_SHA256, "InvalidArgument",             400, CLIENT,   "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.") \
    X(S3_ERR_BAD_DIGEST,             "BadDigest",                   400, CLIENT,   "The Content-MD5 you specified did not match what we received.") \
    X(S3_ERR_BAD_CHECKSUM,           "BadDigest",                   400, CLIENT,   "The checksum you specified did not match the calculated checksum.") \
    X(S3_ERR_INVALID_DIGEST,         "InvalidDigest",               400, CLIENT,   "The Content-MD5 you specified was invalid.") \
    X(S3_ERR_INVALID_CHECKSUM,       "InvalidRequest",              400, CLIENT,   "Value for x-amz-checksum header is invalid.") \
    X(S3_ERR_MALFORMED_TRAILER,      "MalformedTrailerError",       400, CLIENT,   "The request contained trailing data that was not well-formed or did not conform to our published schema.") \
    X(S3_ERR_INVALID_CHUNK_SIZE,     "InvalidChunkSizeError",       403, CLIENT,   "Only the last chunk is allowed to have a size less than 8192 bytes") \
    X(S3_ERR_REQUEST_TIMEOUT,        "RequestTimeout",              400, CLIENT,   "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.") \
    X(S3_ERR_INCOMPLETE_BODY,        "IncompleteBody",              400, CLIENT,   "You did not provide the number of bytes specified by the Content-Length HTTP header") \
    X(S3_ERR_MISSING_CONTENT_LENGTH, "MissingContentLength",        411, CLIENT,   "You must provide the Content-Length HTTP header.") \
    X(S3_ERR_ENTITY_TOO_LARGE,       "EntityTooLarge",              400, CLIENT,   "Your proposed upload exceeds the maximum allowed object size.") \
    X(S3_ERR_ENTITY_TOO_SMALL,       "EntityTooSmall",              400, CLIENT,   "Your proposed upload is smaller than the minimum allowed object size.") \
    X(S3_ERR_METADATA_TOO_LARGE,     "MetadataTooLarge",            400, CLIENT,   "Your metadata headers exceed the maximum allowed metadata size.") \
    X(S3_ERR_INVALID_BUCKET_NAME,    "InvalidBucketName",           400, CLIENT,   "The specified bucket is not valid.") \
    X(S3_ERR_INVALID_URI,            "InvalidURI",                  400, CLIENT,   "Couldn't parse the specified URI.") \
    X(S3_ERR_KEY_TOO_LONG,           "KeyTooLongError",             400, CLIENT,   "Your key is too long") \
    X(S3_ERR_MAX_MESSAGE_LENGTH,     "MaxMessageLengthExceeded",    400, CLIENT,   "Your request was too big.") \
    X(S3_ERR_INVALID_ARGUMENT,       "InvalidArgument",             400, CLIENT,   "Invalid Argument") \
    X(S3_ERR_INVALID_REQUEST,        "InvalidRequest",              400, CLIENT,   "Invalid Request") \
    X(S3_ERR_INVALID_ENCRYPTION_ALG, "InvalidEncryptionAlgorithmError", 400, CLIENT, "The encryption request you specified is not valid. The valid value is AES256.") \
    X(S3_ERR_INVALID_RANGE,          "InvalidRange",                416, CLIENT,   "The requested range is not satisfiable") \
    X(S3_ERR_INVALID_PART_NUMBER,    "InvalidPartNumber",           416, CLIENT,   "The requested partnumber is not satisfiable") \
    X(S3_ERR_MALFORMED_XML,          "MalformedXML",                400, CLIENT,   "The XML you provided was not well-formed or did not validate against our published schema") \
    X(S3_ERR_INVALID_PART,           "InvalidPart",                 400, CLIENT,   "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.") \
    X(S3_ERR_INVALID_PART_ORDER,     "InvalidPartOrder",            400, CLIENT,   "The list of parts was not in ascending order. Parts must be ordered by part number.") \
    X(S3_ERR_NO_SUCH_UPLOAD,         "NoSuchUpload",                404, CLIENT,   "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.") \
    X(S3_ERR_NO_SUCH_KEY,            "NoSuchKey",                   404, CLIENT,   "The specified key does not exist.") \
    X(S3_ERR_PRECONDITION_FAILED,    "PreconditionFailed",          412, CLIENT,   "At least one of the pre-conditions you specified did not hold") \
    X(S3_ERR_METHOD_NOT_ALLOWED,     "MethodNotAllowed",            405, CLIENT,   "The specified method is not allowed against this resource.") \
    X(S3_ERR_NOT_IMPLEMENTED,        "NotImplemented",              501, CLIENT,   "A header you provided implies functionality that is not implemented") \
    X(S3_ERR_KMS_NOT_FOUND,          "KMS.NotFoundException",       400, CLIENT,   "Invalid keyId") \
    X(S3_ERR_KMS_DISABLED,           "KMS.DisabledException",       400, CLIENT,   "The KMS key is disabled.") \
    X(S3_ERR_KMS_INVALID_STATE,      "KMS.KMSInvalidStateException",400, CLIENT,   "The KMS key is pending deletion.") \
    X(S3_ERR_KMS_INVALID_CIPHERTEXT, "KMS.InvalidCiphertextException", 400, CLIENT, "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.") \
    X(S3_ERR_SLOW_DOWN,              "SlowDown",                    503, CLIENT,   "Please reduce your request rate.") \
    X(S3_ERR_SERVICE_UNAVAILABLE,    "ServiceUnavailable",          503, INTERNAL, "Service is unable to handle request.") \
    X(S3_ERR_INTERNAL,               "InternalError",               500, INTERNAL, "We encountered an internal error. Please try again.")

#define S3_ERR_ENUM(name, code, status, cat, msg) name,
typedef enum {
    S3_ERRORS(S3_ERR_ENUM)
    S3_ERR_MAX
} s3_err_t;
#undef S3_ERR_ENUM

const char *s3_err_code(s3_err_t e);
const char *s3_err_message(s3_err_t e);
int s3_err_status(s3_err_t e);
s3_errcat_t s3_err_category(s3_err_t e);

#endif /* S3_ERR_H */
