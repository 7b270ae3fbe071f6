/*
 * KMS error codes: AWS's __type names, default messages and HTTP statuses
 * in one table.  ngx_module/ never invents error strings.
 */

#ifndef KMS_ERR_H
#define KMS_ERR_H

/*        name                        __type                                status message */
#define KMS_ERRORS(X)                                                         \
    X(KMS_OK,                      "",                                   200, "") \
    X(KMS_ERR_NOT_FOUND,           "NotFoundException",                  400, "Key does not exist") \
    X(KMS_ERR_DISABLED,            "DisabledException",                  400, "Key is disabled") \
    X(KMS_ERR_INVALID_STATE,       "KMSInvalidStateException",           400, "Key is in an invalid state for this operation") \
    X(KMS_ERR_INVALID_CIPHERTEXT,  "InvalidCiphertextException",         400, "") \
    X(KMS_ERR_INCORRECT_KEY,       "IncorrectKeyException",              400, "The key ID in the request does not identify a CMK that can perform this operation.") \
    X(KMS_ERR_VALIDATION,          "ValidationException",                400, "Invalid request") \
    X(KMS_ERR_SERIALIZATION,       "SerializationException",             400, "Start of structure or map found where not expected.") \
    X(KMS_ERR_ALREADY_EXISTS,      "AlreadyExistsException",             400, "An alias with the name already exists") \
    X(KMS_ERR_INVALID_ALIAS_NAME,  "InvalidAliasNameException",          400, "Invalid alias name") \
    X(KMS_ERR_INVALID_ARN,         "InvalidArnException",                400, "Invalid arn") \
    X(KMS_ERR_INVALID_MARKER,      "InvalidMarkerException",             400, "Invalid marker") \
    X(KMS_ERR_INVALID_KEY_USAGE,   "InvalidKeyUsageException",           400, "Invalid key usage") \
    X(KMS_ERR_UNSUPPORTED,         "UnsupportedOperationException",      400, "This operation is not supported") \
    X(KMS_ERR_LIMIT_EXCEEDED,      "LimitExceededException",             400, "Limit exceeded") \
    X(KMS_ERR_MALFORMED_POLICY,    "MalformedPolicyDocumentException",   400, "The policy is malformed") \
    X(KMS_ERR_TAG,                 "TagException",                       400, "Invalid tag") \
    X(KMS_ERR_ACCESS_DENIED,       "AccessDeniedException",              400, "Access denied") \
    X(KMS_ERR_UNRECOGNIZED_CLIENT, "UnrecognizedClientException",        400, "The security token included in the request is invalid.") \
    X(KMS_ERR_INVALID_SIGNATURE,   "InvalidSignatureException",          400, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.") \
    X(KMS_ERR_INCOMPLETE_SIGNATURE,"IncompleteSignatureException",       400, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.") \
    X(KMS_ERR_MISSING_AUTH,        "MissingAuthenticationTokenException",400, "Missing Authentication Token") \
    X(KMS_ERR_UNKNOWN_OPERATION,   "UnknownOperationException",          400, "") \
    X(KMS_ERR_THROTTLING,          "ThrottlingException",                400, "Rate exceeded") \
    X(KMS_ERR_DRY_RUN,             "DryRunOperationException",           412, "The request would have succeeded, but the DryRun option is set.") \
    X(KMS_ERR_INTERNAL,            "KMSInternalException",               500, "An internal error occurred") \
    X(KMS_ERR_DEPENDENCY_TIMEOUT,  "DependencyTimeoutException",         503, "The key store is unreachable. Try again later.")

#define KMS_ERR_ENUM(name, type, status, msg) name,
typedef enum {
    KMS_ERRORS(KMS_ERR_ENUM)
    KMS_ERR_MAX
} kms_err_t;
#undef KMS_ERR_ENUM

const char *kms_err_type(kms_err_t e);
const char *kms_err_message(kms_err_t e);
int kms_err_status(kms_err_t e);

#endif /* KMS_ERR_H */
