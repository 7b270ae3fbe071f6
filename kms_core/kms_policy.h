/*
 * Key policies: parse, evaluate, default documents, lockout check.
 *
 * The subset of IAM's policy language that AWS KMS key policies use in
 * practice (and the issue asks for): Version, Id, Statement (one object or
 * an array) with Sid, Effect Allow|Deny, Principal {"AWS": ...} | "*",
 * Action / NotAction with '*' and '?' wildcards (case-insensitive),
 * Resource "*" or the key's ARN, and Condition with StringEquals,
 * StringLike, StringNotEquals, StringNotLike (each optionally ...IfExists)
 * on kms:EncryptionContext:KEY, kms:CallerAccount, kms:ViaService.
 * An explicit Deny wins over any Allow; no Allow is an implicit deny.
 *
 * Principal "arn:aws:iam::ACCOUNT:root" (or the bare 12-digit ACCOUNT)
 * stands for the account and every principal in it: this server has no
 * IAM, so the account's own principals are trusted the way AWS trusts IAM
 * policies that the default key policy enables.
 */

#ifndef KMS_POLICY_H
#define KMS_POLICY_H

#include <stddef.h>

#include "kms_err.h"


#define KMS_POLICY_MAX_LEN  32768         /* characters, as AWS counts */

/* the MalformedPolicyDocumentException message of a failed lockout check */
#define KMS_POLICY_LOCKOUT_MSG                                              \
    "The new key policy will not allow you to update the key policy in the " \
    "future."


typedef struct kms_policy_s  kms_policy_t;

typedef enum {
    KMS_POLICY_IMPLICIT_DENY = 0,
    KMS_POLICY_ALLOW,
    KMS_POLICY_EXPLICIT_DENY
} kms_policy_decision_t;

typedef struct {
    const char          *action;          /* "kms:Encrypt" */
    const char          *principal_arn;   /* the caller's ARN */
    const char          *caller_account;  /* the caller's account */
    const char          *key_arn;         /* the resource */
    const char          *via_service;     /* NULL or "s3.REGION.amazonaws.com" */
    const char *const   *ctx_keys;        /* encryption context, may be 0 */
    const char *const   *ctx_values;
    size_t               nctx;
} kms_policy_request_t;


/*
 * Parses a policy document.  On a bad document returns
 * KMS_ERR_MALFORMED_POLICY with AWS's message in msg; KMS_OK otherwise.
 * Before the JSON is read, the text gets the checks AWS applies to the
 * Policy parameter: empty or with a character outside tab, LF, CR and
 * U+0020..U+00FF gives KMS_ERR_VALIDATION, longer than
 * KMS_POLICY_MAX_LEN characters KMS_ERR_LIMIT_EXCEEDED (both with a
 * message); out of memory gives KMS_ERR_INTERNAL.
 */
kms_err_t kms_policy_parse(const char *json, size_t len, kms_policy_t **out,
    char *msg, size_t msglen);
void kms_policy_free(kms_policy_t *p);

kms_policy_decision_t kms_policy_eval(const kms_policy_t *p,
    const kms_policy_request_t *req);

/*
 * 1 if the principal could still call kms:PutKeyPolicy on the key under
 * this policy (AWS's lockout safety check), else 0: then CreateKey and
 * PutKeyPolicy fail with KMS_ERR_MALFORMED_POLICY and
 * KMS_POLICY_LOCKOUT_MSG unless BypassPolicyLockoutSafetyCheck is true.
 */
int kms_policy_allows_put_policy(const kms_policy_t *p,
    const char *principal_arn, const char *caller_account,
    const char *key_arn);

/* AWS's default key policy for a customer managed key (malloc'd JSON). */
char *kms_policy_default(const char *partition, const char *account);

/*
 * The policy AWS gives an AWS managed key (aws/s3): use through the
 * service only (kms:ViaService), by principals of the account
 * (kms:CallerAccount); describe by the account.  malloc'd JSON.
 */
char *kms_policy_aws_managed(const char *partition, const char *account,
    const char *service, const char *region);

#endif /* KMS_POLICY_H */
