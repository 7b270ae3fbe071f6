/*
 * Key policies: AWS's documents, evaluation, conditions, lockout check,
 * and every malformed shape the parser refuses.
 */

#include "unit.h"

#include "kms_policy.h"


#define A        "111122223333"
#define B        "444455556666"
#define C        "777788889999"
#define KEY_ARN  "arn:aws:kms:us-east-1:" A ":key/1234abcd-12ab-34cd-56ef-" \
                 "1234567890ab"
#define KEY2_ARN "arn:aws:kms:us-east-1:" A ":key/0987dcba-09fe-87dc-65ba-" \
                 "ab0987654321"

#define ROOT(acct)       "arn:aws:iam::" acct ":root"
#define USER(acct, n)    "arn:aws:iam::" acct ":user/" n
#define ROLE(acct, n)    "arn:aws:iam::" acct ":role/" n
#define SESSION(acct, r, s)  "arn:aws:sts::" acct ":assumed-role/" r "/" s

#define ALLOW     KMS_POLICY_ALLOW
#define DENY      KMS_POLICY_EXPLICIT_DENY
#define IMPLICIT  KMS_POLICY_IMPLICIT_DENY

#define S3_VIA    "s3.us-east-1.amazonaws.com"


static kms_policy_t *
parse_ok(const char *json)
{
    char           msg[512];
    kms_err_t      rc;
    kms_policy_t  *p;

    rc = kms_policy_parse(json, strlen(json), &p, msg, sizeof(msg));
    if (rc != KMS_OK) {
        fail_msg("policy refused (%s): %s\n%s", kms_err_type(rc), msg, json);
    }

    assert_non_null(p);
    return p;
}


static void
expect_refused(const char *json, size_t len, kms_err_t err, const char *want)
{
    char           msg[512];
    kms_err_t      rc;
    kms_policy_t  *p;

    p = (kms_policy_t *) 0x1;
    rc = kms_policy_parse(json, len, &p, msg, sizeof(msg));
    if (rc != err || strcmp(msg, want) != 0) {
        fail_msg("want %s \"%s\", got %s \"%s\" for\n%.300s",
                 kms_err_type(err), want, kms_err_type(rc), msg, json);
    }

    assert_null(p);
}


#define REFUSED(json, msg)                                                  \
    expect_refused(json, strlen(json), KMS_ERR_MALFORMED_POLICY, msg)


/* The caller's account is the one in its ARN, as the credentials say. */

static kms_policy_decision_t
eval_ctx(const kms_policy_t *p, const char *action, const char *arn,
    const char *via, size_t nctx, const char *const *keys,
    const char *const *vals)
{
    char                  acct[13];
    const char           *colon;
    kms_policy_request_t  req;

    memset(&req, 0, sizeof(req));
    colon = strstr(arn, "::");
    assert_non_null(colon);
    memcpy(acct, colon + 2, 12);
    acct[12] = '\0';

    req.action = action;
    req.principal_arn = arn;
    req.caller_account = acct;
    req.key_arn = KEY_ARN;
    req.via_service = via;
    req.ctx_keys = keys;
    req.ctx_values = vals;
    req.nctx = nctx;

    return kms_policy_eval(p, &req);
}


static kms_policy_decision_t
eval(const kms_policy_t *p, const char *action, const char *arn)
{
    return eval_ctx(p, action, arn, NULL, 0, NULL, NULL);
}


/* a one-statement policy for user alice of A with this condition */

static kms_policy_t *
cond_policy(const char *effect, const char *condition)
{
    char  buf[4096];

    snprintf(buf, sizeof(buf),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"%s\","
             "\"Principal\":{\"AWS\":\"" USER(A, "alice") "\"},"
             "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":%s}]}",
             effect, condition);

    return parse_ok(buf);
}


static kms_policy_decision_t
eval_alice(const kms_policy_t *p, size_t n, const char *const *keys,
    const char *const *vals)
{
    return eval_ctx(p, "kms:Decrypt", USER(A, "alice"), NULL, n, keys,
                    vals);
}


/* ---- AWS's documents --------------------------------------------------- */

/* GetKeyPolicy's output for a key created without a policy (AWS docs). */
static const char  default_policy_text[] =
    "{\n"
    "  \"Version\" : \"2012-10-17\",\n"
    "  \"Id\" : \"key-default-1\",\n"
    "  \"Statement\" : [ {\n"
    "    \"Sid\" : \"Enable IAM User Permissions\",\n"
    "    \"Effect\" : \"Allow\",\n"
    "    \"Principal\" : {\n"
    "      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n"
    "    },\n"
    "    \"Action\" : \"kms:*\",\n"
    "    \"Resource\" : \"*\"\n"
    "  } ]\n"
    "}";

/* The aws/s3 key's policy as read from an account in us-east-1. */
static const char  aws_s3_policy_text[] =
    "{\n"
    "  \"Version\" : \"2012-10-17\",\n"
    "  \"Id\" : \"auto-s3-2\",\n"
    "  \"Statement\" : [ {\n"
    "    \"Sid\" : \"Allow access through S3 for all principals in the "
    "account that are authorized to use S3\",\n"
    "    \"Effect\" : \"Allow\",\n"
    "    \"Principal\" : {\n"
    "      \"AWS\" : \"*\"\n"
    "    },\n"
    "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
    "\"kms:GenerateDataKey*\", \"kms:DescribeKey\" ],\n"
    "    \"Resource\" : \"*\",\n"
    "    \"Condition\" : {\n"
    "      \"StringEquals\" : {\n"
    "        \"kms:CallerAccount\" : \"123412341234\",\n"
    "        \"kms:ViaService\" : \"s3.us-east-1.amazonaws.com\"\n"
    "      }\n"
    "    }\n"
    "  }, {\n"
    "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n"
    "    \"Effect\" : \"Allow\",\n"
    "    \"Principal\" : {\n"
    "      \"AWS\" : \"arn:aws:iam::123412341234:root\"\n"
    "    },\n"
    "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\" ],\n"
    "    \"Resource\" : \"*\"\n"
    "  } ]\n"
    "}";


static void
default_policy_is_awss_text(void **state)
{
    char  *doc;

    doc = kms_policy_default("aws", A);
    assert_non_null(doc);
    assert_string_equal(doc, default_policy_text);
    free(doc);

    doc = kms_policy_default(NULL, A);
    assert_non_null(doc);
    assert_string_equal(doc, default_policy_text);
    free(doc);

    doc = kms_policy_default("aws-cn", A);
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"arn:aws-cn:iam::111122223333:root\""));
    free(doc);

    /* nothing that could break out of the JSON string */
    assert_null(kms_policy_default("aws", "11112222333"));
    assert_null(kms_policy_default("aws", "11112222333\""));
    assert_null(kms_policy_default("aws\"", A));
    assert_null(kms_policy_default("aws", NULL));
}


static void
default_policy_allows_account_root_and_users(void **state)
{
    size_t         i;
    char          *doc;
    kms_policy_t  *p;

    static const char  *actions[] = {
        "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom",
        "kms:DescribeKey", "kms:PutKeyPolicy", "kms:GetKeyPolicy",
        "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateAlias",
        "kms:EnableKeyRotation", "kms:TagResource", NULL
    };

    doc = kms_policy_default("aws", A);
    p = parse_ok(doc);
    free(doc);

    for (i = 0; actions[i] != NULL; i++) {
        assert_int_equal(eval(p, actions[i], ROOT(A)), ALLOW);
        assert_int_equal(eval(p, actions[i], USER(A, "alice")), ALLOW);
        assert_int_equal(eval(p, actions[i], USER(A, "ops/bob")), ALLOW);
        assert_int_equal(eval(p, actions[i], SESSION(A, "app", "i-1")),
                         ALLOW);
        assert_int_equal(eval(p, actions[i], ROOT(B)), IMPLICIT);
        assert_int_equal(eval(p, actions[i], USER(B, "alice")), IMPLICIT);
    }

    kms_policy_free(p);
}


static void
aws_managed_policy_is_awss_text(void **state)
{
    char  *doc;

    doc = kms_policy_aws_managed("aws", "123412341234", "s3", "us-east-1");
    assert_non_null(doc);
    assert_string_equal(doc, aws_s3_policy_text);
    free(doc);

    doc = kms_policy_aws_managed("aws-cn", A, "s3", "cn-north-1");
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"s3.cn-north-1.amazonaws.com.cn\""));
    free(doc);

    assert_null(kms_policy_aws_managed("aws", A, "s3\"", "us-east-1"));
    assert_null(kms_policy_aws_managed("aws", A, "s3", "us east"));
    assert_null(kms_policy_aws_managed("aws", "1234", "s3", "us-east-1"));
}


static void
aws_managed_policy_allows_use_through_s3_only(void **state)
{
    char          *doc;
    kms_policy_t  *p;

    doc = kms_policy_aws_managed("aws", A, "s3", "us-east-1");
    p = parse_ok(doc);
    free(doc);

    /* through S3, any principal of the account */
    assert_int_equal(eval_ctx(p, "kms:GenerateDataKey", USER(A, "alice"),
                              S3_VIA, 0, NULL, NULL), ALLOW);
    assert_int_equal(eval_ctx(p, "kms:Decrypt", ROLE(A, "app"), S3_VIA, 0,
                              NULL, NULL), ALLOW);
    assert_int_equal(eval_ctx(p, "kms:ReEncryptTo", ROOT(A), S3_VIA, 0,
                              NULL, NULL), ALLOW);

    /* directly: no */
    assert_int_equal(eval(p, "kms:GenerateDataKey", USER(A, "alice")),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Decrypt", ROOT(A)), IMPLICIT);

    /* through S3 elsewhere, or from another account: no */
    assert_int_equal(eval_ctx(p, "kms:GenerateDataKey", USER(A, "alice"),
                              "s3.eu-west-1.amazonaws.com", 0, NULL, NULL),
                     IMPLICIT);
    assert_int_equal(eval_ctx(p, "kms:GenerateDataKey", USER(B, "alice"),
                              S3_VIA, 0, NULL, NULL), IMPLICIT);
    assert_int_equal(eval_ctx(p, "kms:GenerateDataKey", USER(A, "alice"),
                              "ec2.us-east-1.amazonaws.com", 0, NULL, NULL),
                     IMPLICIT);

    /* S3 does not manage the key */
    assert_int_equal(eval_ctx(p, "kms:ScheduleKeyDeletion", ROOT(A), S3_VIA,
                              0, NULL, NULL), IMPLICIT);

    /* metadata: directly, by the account */
    assert_int_equal(eval(p, "kms:DescribeKey", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(p, "kms:GetKeyPolicy", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:ListResourceTags", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:DescribeKey", ROOT(B)), IMPLICIT);
    assert_int_equal(eval(p, "kms:PutKeyPolicy", ROOT(A)), IMPLICIT);

    /* an AWS managed key's policy cannot be changed by anyone */
    assert_false(kms_policy_allows_put_policy(p, ROOT(A), A, KEY_ARN));

    kms_policy_free(p);
}


/* ---- evaluation -------------------------------------------------------- */

static void
explicit_deny_wins_over_allow(void **state)
{
    kms_policy_t  *p, *q;

    static const char  allow_first[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ROOT(A) "\"},"
        "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
        "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" USER(A, "bob")
        "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}";

    static const char  deny_first[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
        "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" USER(A, "bob")
        "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"},"
        "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ROOT(A) "\"},"
        "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";

    p = parse_ok(allow_first);
    q = parse_ok(deny_first);

    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "bob")), DENY);
    assert_int_equal(eval(q, "kms:Decrypt", USER(A, "bob")), DENY);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "bob")), ALLOW);
    assert_int_equal(eval(q, "kms:Encrypt", USER(A, "bob")), ALLOW);
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(q, "kms:Decrypt", USER(A, "alice")), ALLOW);

    /* a Deny alone is still only a Deny for what it names */
    assert_int_equal(eval(q, "kms:Decrypt", USER(B, "bob")), IMPLICIT);

    kms_policy_free(p);
    kms_policy_free(q);
}


static void
no_policy_or_no_action_is_implicit_deny(void **state)
{
    kms_policy_request_t  req;

    memset(&req, 0, sizeof(req));
    assert_int_equal(kms_policy_eval(NULL, &req), IMPLICIT);

    req.action = "kms:Encrypt";
    assert_int_equal(kms_policy_eval(NULL, &req), IMPLICIT);
    assert_false(kms_policy_allows_put_policy(NULL, ROOT(A), A, KEY_ARN));
}


static void
action_wildcards_and_case(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":{"
                 "\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\","
                 "\"Action\":[\"kms:GenerateDataKey*\",\"KMS:describekey\","
                 "\"kms:*Alias\",\"kms:Re?ncrypt*\"]}}");

    assert_int_equal(eval(p, "kms:GenerateDataKey", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateDataKeyWithoutPlaintext",
                          ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateDataKeyPair", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:generatedatakey", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateRandom", ROOT(A)), IMPLICIT);
    assert_int_equal(eval(p, "kms:DescribeKey", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:CreateAlias", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:UpdateAlias", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:ListAliases", ROOT(A)), IMPLICIT);
    assert_int_equal(eval(p, "kms:ReEncryptFrom", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:ReEncryptTo", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", ROOT(A)), IMPLICIT);
    assert_int_equal(eval(p, "s3:GenerateDataKey", ROOT(A)), IMPLICIT);
    kms_policy_free(p);

    p = parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Resource\":\"*\",\"Action\":\"*\"}}");
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", ROOT(B)), ALLOW);
    kms_policy_free(p);

    p = parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Resource\":\"*\",\"Action\":\"kms:Encrypt\"}}");
    assert_int_equal(eval(p, "kms:Encrypt", ROOT(B)), ALLOW);
    assert_int_equal(eval(p, "kms:EncryptX", ROOT(B)), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encryp", ROOT(B)), IMPLICIT);
    kms_policy_free(p);
}


static void
not_action_applies_to_every_other_action(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" A "\"},"
                 "\"NotAction\":[\"kms:ScheduleKeyDeletion\","
                 "\"kms:Disable*\"],\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(p, "kms:PutKeyPolicy", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(A, "alice")),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:DisableKey", USER(A, "alice")), IMPLICIT);
    assert_int_equal(eval(p, "kms:DisableKeyRotation", USER(A, "alice")),
                     IMPLICIT);
    kms_policy_free(p);

    /* Deny with NotAction: everything but reading is refused */
    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
                 USER(A, "ro") "\"},\"NotAction\":[\"kms:Describe*\","
                 "\"kms:Get*\",\"kms:List*\"],\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:DescribeKey", USER(A, "ro")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "ro")), DENY);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "rw")), ALLOW);
    kms_policy_free(p);
}


static void
principal_arn_is_exact_root_is_the_account(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" USER(A, "alice") "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "Alice")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice2")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "bob")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROOT(A)), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(B, "alice")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    /* the bare account id is the same as its root */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":[\"" A "\"]},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "bob")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", ROOT(A)), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(B, "bob")), IMPLICIT);
    kms_policy_free(p);

    /* a root names its own partition only */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"arn:aws-cn:iam::" A ":root\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "bob")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt",
                          "arn:aws-cn:iam::" A ":user/bob"), ALLOW);
    kms_policy_free(p);
}


static void
role_names_its_sessions(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" ROLE(A, "team/app") "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "team/app")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", SESSION(A, "app", "s1")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", SESSION(A, "app2", "s1")),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", SESSION(A, "ap", "p")),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", SESSION(B, "app", "s1")),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "app")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "app")), IMPLICIT);
    kms_policy_free(p);

    /* a session ARN names that session only */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" SESSION(A, "app", "s1") "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", SESSION(A, "app", "s1")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", SESSION(A, "app", "s2")),
                     IMPLICIT);
    kms_policy_free(p);
}


static void
principal_star_is_everyone(void **state)
{
    kms_policy_t  *p, *q;

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}");
    q = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"*\"},"
                 "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Decrypt", USER(C, "x")), ALLOW);
    assert_int_equal(eval(q, "kms:Decrypt", ROOT(B)), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(C, "x")), IMPLICIT);
    assert_int_equal(eval(q, "kms:Encrypt", ROOT(B)), IMPLICIT);

    kms_policy_free(p);
    kms_policy_free(q);
}


static void
cross_account_grant(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Version\":\"2012-10-17\",\"Id\":\"cross\",\"Statement\":["
                 "{\"Sid\":\"Owner\",\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" ROOT(A) "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                 "{\"Sid\":\"Account B uses the key\",\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" ROOT(B) "\"},"
                 "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\","
                 "\"kms:GenerateDataKey*\"],\"Resource\":\"*\"},"
                 "{\"Sid\":\"C's x decrypts\",\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" USER(C, "x") "\"},"
                 "\"Action\":\"kms:Decrypt\",\"Resource\":\"" KEY_ARN "\"}]}");

    /* B's users may encrypt, decrypt, make data keys; not manage */
    assert_int_equal(eval(p, "kms:Encrypt", USER(B, "u1")), ALLOW);
    assert_int_equal(eval(p, "kms:Decrypt", ROLE(B, "r")), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateDataKey", ROOT(B)), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateDataKeyWithoutPlaintext",
                          USER(B, "u1")), ALLOW);
    assert_int_equal(eval(p, "kms:PutKeyPolicy", ROOT(B)), IMPLICIT);
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(B, "u1")),
                     IMPLICIT);

    /* C's x may decrypt, not encrypt; C's others nothing */
    assert_int_equal(eval(p, "kms:Decrypt", USER(C, "x")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(C, "x")), IMPLICIT);
    assert_int_equal(eval(p, "kms:GenerateDataKey", USER(C, "x")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Decrypt", USER(C, "y")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Decrypt", ROOT(C)), IMPLICIT);

    /* the owner keeps everything */
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(A, "adm")),
                     ALLOW);

    kms_policy_free(p);
}


static void
not_principal_excludes_the_named(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\""
                 USER(A, "admin") "\",\"" B "\"]},"
                 "\"Action\":\"kms:ScheduleKeyDeletion\","
                 "\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(A, "admin")),
                     ALLOW);
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(B, "any")),
                     ALLOW);
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", USER(A, "bob")),
                     DENY);
    assert_int_equal(eval(p, "kms:ScheduleKeyDeletion", ROOT(A)), DENY);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "bob")), ALLOW);
    kms_policy_free(p);
}


static void
service_principal_matches_only_that_service(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"Service\":[\"logs.us-east-1.amazonaws.com\","
                 "\"s3.amazonaws.com\"]},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");

    /* a user's request through S3 is the user's, not the service's */
    assert_int_equal(eval_ctx(p, "kms:GenerateDataKey", USER(A, "alice"),
                              S3_VIA, 0, NULL, NULL), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROOT(A)), IMPLICIT);
    kms_policy_free(p);
}


static void
resource_star_key_arn_and_not_resource(void **state)
{
    kms_policy_request_t  req;
    kms_policy_t         *p;

    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:Encrypt\",\"Resource\":\"" KEY_ARN "\"},"
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:Decrypt\","
                 "\"Resource\":\"arn:aws:kms:*:" A ":key/1234*\"},"
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:DescribeKey\","
                 "\"NotResource\":\"" KEY2_ARN "\"}]}");

    memset(&req, 0, sizeof(req));
    req.principal_arn = ROOT(A);
    req.caller_account = A;

    req.key_arn = KEY_ARN;
    req.action = "kms:Encrypt";
    assert_int_equal(kms_policy_eval(p, &req), ALLOW);
    req.action = "kms:Decrypt";
    assert_int_equal(kms_policy_eval(p, &req), ALLOW);
    req.action = "kms:DescribeKey";
    assert_int_equal(kms_policy_eval(p, &req), ALLOW);

    req.key_arn = KEY2_ARN;
    req.action = "kms:Encrypt";
    assert_int_equal(kms_policy_eval(p, &req), IMPLICIT);
    req.action = "kms:Decrypt";
    assert_int_equal(kms_policy_eval(p, &req), IMPLICIT);
    req.action = "kms:DescribeKey";
    assert_int_equal(kms_policy_eval(p, &req), IMPLICIT);

    /* an ARN is case-sensitive */
    req.key_arn = "arn:aws:kms:us-east-1:" A ":KEY/1234abcd";
    req.action = "kms:Decrypt";
    assert_int_equal(kms_policy_eval(p, &req), IMPLICIT);

    kms_policy_free(p);
}


static void
statement_without_action_or_resource_has_no_effect(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\"},"
                 "{\"Effect\":\"Deny\",\"Principal\":\"*\","
                 "\"Action\":[],\"Resource\":\"*\"}]}");

    assert_int_equal(eval(p, "kms:Encrypt", ROOT(A)), IMPLICIT);
    kms_policy_free(p);
}


/* ---- conditions -------------------------------------------------------- */

static void
condition_string_equals(void **state)
{
    kms_policy_t  *p;

    static const char  *k1[] = { "AppName" }, *v1[] = { "ExampleApp" };
    static const char  *v2[] = { "exampleapp" };
    static const char  *k3[] = { "appname" };
    static const char  *k4[] = { "Other", "AppName" };
    static const char  *v4[] = { "ExampleApp", "Other" };
    static const char  *k5[] = { "Project", "AppName" };
    static const char  *v5[] = { "Alpha", "ExampleApp" };

    p = cond_policy("Allow", "{\"StringEquals\":"
                    "{\"kms:EncryptionContext:AppName\":\"ExampleApp\"}}");

    assert_int_equal(eval_alice(p, 1, k1, v1), ALLOW);
    assert_int_equal(eval_alice(p, 2, k5, v5), ALLOW);
    /* the value is case-sensitive, the context key is not */
    assert_int_equal(eval_alice(p, 1, k1, v2), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k3, v1), ALLOW);
    /* the value must be that key's */
    assert_int_equal(eval_alice(p, 2, k4, v4), IMPLICIT);
    /* absent */
    assert_int_equal(eval_alice(p, 0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);

    /* the condition key's own name is case-insensitive */
    p = cond_policy("Allow", "{\"StringEquals\":"
                    "{\"KMS:ENCRYPTIONCONTEXT:appname\":\"ExampleApp\"}}");
    assert_int_equal(eval_alice(p, 1, k1, v1), ALLOW);
    assert_int_equal(eval_alice(p, 1, k1, v2), IMPLICIT);
    kms_policy_free(p);
}


static void
condition_values_or_keys_and_operators_and(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "Department", "Project" };
    static const char  *it_alpha[] = { "IT", "Alpha" };
    static const char  *hr_alpha[] = { "HR", "Alpha" };
    static const char  *fin_alpha[] = { "Finance", "Alpha" };
    static const char  *it_beta[] = { "IT", "Beta" };

    /* two values for one key: either; two keys: both */
    p = cond_policy("Allow", "{\"StringEquals\":{"
                    "\"kms:EncryptionContext:Department\":[\"IT\",\"HR\"],"
                    "\"kms:EncryptionContext:Project\":\"Alpha\"}}");

    assert_int_equal(eval_alice(p, 2, k, it_alpha), ALLOW);
    assert_int_equal(eval_alice(p, 2, k, hr_alpha), ALLOW);
    assert_int_equal(eval_alice(p, 2, k, fin_alpha), IMPLICIT);
    assert_int_equal(eval_alice(p, 2, k, it_beta), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, it_alpha), IMPLICIT);
    kms_policy_free(p);

    /* two operators: both */
    p = cond_policy("Allow", "{\"StringEquals\":{"
                    "\"kms:EncryptionContext:Department\":\"IT\"},"
                    "\"StringLike\":{\"kms:EncryptionContext:Project\":"
                    "\"Al*\"}}");

    assert_int_equal(eval_alice(p, 2, k, it_alpha), ALLOW);
    assert_int_equal(eval_alice(p, 2, k, it_beta), IMPLICIT);
    assert_int_equal(eval_alice(p, 2, k, hr_alpha), IMPLICIT);
    kms_policy_free(p);
}


static void
condition_string_not_equals(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "Stage" };
    static const char  *test[] = { "Test" };
    static const char  *restricted[] = { "Restricted" };
    static const char  *prod[] = { "Production" };
    static const char  *lower[] = { "restricted" };

    /* several values of a negated operator: none of them (NOR) */
    p = cond_policy("Allow", "{\"StringNotEquals\":{"
                    "\"kms:EncryptionContext:Stage\":[\"Restricted\","
                    "\"Production\"]}}");

    assert_int_equal(eval_alice(p, 1, k, test), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, lower), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, restricted), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, prod), IMPLICIT);
    /* AWS: a negated operator on an absent key is true */
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);

    /* as a Deny */
    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":"
                 "{\"StringEquals\":{\"kms:EncryptionContext:Stage\":"
                 "[\"Restricted\",\"Production\"]}}}]}");

    assert_int_equal(eval_alice(p, 1, k, test), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, restricted), DENY);
    assert_int_equal(eval_alice(p, 1, k, prod), DENY);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);
}


static void
condition_ignore_case(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "Env" };
    static const char  *v1[] = { "PROD" }, *v2[] = { "prod" };
    static const char  *v3[] = { "Pr0d" }, *v4[] = { "production" };

    p = cond_policy("Allow", "{\"StringEqualsIgnoreCase\":{"
                    "\"kms:EncryptionContext:env\":\"Prod\"}}");

    assert_int_equal(eval_alice(p, 1, k, v1), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, v2), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, v3), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, v4), IMPLICIT);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringNotEqualsIgnoreCase\":{"
                    "\"kms:EncryptionContext:env\":\"Prod\"}}");

    assert_int_equal(eval_alice(p, 1, k, v1), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, v2), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, v4), ALLOW);
    kms_policy_free(p);
}


static void
condition_string_like(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "aws:s3:arn" };
    static const char  *in[] = { "arn:aws:s3:::bucket/reports/2024/q1.csv" };
    static const char  *out[] = { "arn:aws:s3:::bucket/other/q1.csv" };
    static const char  *other[] = { "arn:aws:s3:::bucket2/reports/q1.csv" };
    static const char  *q[] = { "arn:aws:s3:::bucket/x" };
    static const char  *qq[] = { "arn:aws:s3:::bucket/xy" };
    static const char  *utf[] = { "arn:aws:s3:::bucket/\xc3\xa9" };

    p = cond_policy("Allow", "{\"StringLike\":{\"kms:EncryptionContext:"
                    "aws:s3:arn\":[\"arn:aws:s3:::bucket/reports/*\","
                    "\"arn:aws:s3:::bucket/?\"]}}");

    assert_int_equal(eval_alice(p, 1, k, in), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, out), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, other), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, q), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, qq), IMPLICIT);
    /* '?' is one character, not one byte */
    assert_int_equal(eval_alice(p, 1, k, utf), ALLOW);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringNotLike\":{\"kms:EncryptionContext:"
                    "aws:s3:arn\":\"arn:aws:s3:::bucket/reports/*\"}}");

    assert_int_equal(eval_alice(p, 1, k, in), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, out), ALLOW);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);

    /* several stars, backtracking */
    p = cond_policy("Allow", "{\"StringLike\":{\"kms:EncryptionContext:"
                    "aws:s3:arn\":\"*:::*/*/*.c?v\"}}");
    assert_int_equal(eval_alice(p, 1, k, in), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, q), IMPLICIT);
    kms_policy_free(p);
}


static void
condition_if_exists(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "Dept" };
    static const char  *it[] = { "IT" }, *hr[] = { "HR" };

    p = cond_policy("Allow", "{\"StringEqualsIfExists\":{"
                    "\"kms:EncryptionContext:Dept\":\"IT\"}}");
    assert_int_equal(eval_alice(p, 1, k, it), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, hr), IMPLICIT);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringLikeIfExists\":{"
                    "\"kms:EncryptionContext:Dept\":\"I*\"}}");
    assert_int_equal(eval_alice(p, 1, k, it), ALLOW);
    assert_int_equal(eval_alice(p, 1, k, hr), IMPLICIT);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringNotEqualsIfExists\":{"
                    "\"kms:EncryptionContext:Dept\":\"IT\"}}");
    assert_int_equal(eval_alice(p, 1, k, it), IMPLICIT);
    assert_int_equal(eval_alice(p, 1, k, hr), ALLOW);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringEqualsIgnoreCaseIfExists\":{"
                    "\"kms:ViaService\":\"S3.US-EAST-1.AMAZONAWS.COM\"}}");
    assert_int_equal(eval_ctx(p, "kms:Decrypt", USER(A, "alice"), S3_VIA,
                              0, NULL, NULL), ALLOW);
    assert_int_equal(eval_ctx(p, "kms:Decrypt", USER(A, "alice"),
                              "ec2.us-east-1.amazonaws.com", 0, NULL, NULL),
                     IMPLICIT);
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);
}


static void
condition_caller_account_via_service_principal_keys(void **state)
{
    kms_policy_t  *p;

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{"
                 "\"StringEquals\":{\"kms:CallerAccount\":[\"" A "\",\"" B
                 "\"]},\"StringLike\":{\"aws:PrincipalArn\":"
                 "\"arn:aws:iam::*:user/app-*\"}}}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "app-1")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(B, "app-2")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(C, "app-1")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "web-1")), IMPLICIT);
    kms_policy_free(p);

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{"
                 "\"StringEquals\":{\"aws:PrincipalAccount\":\"" C "\"},"
                 "\"ArnLike\":{\"aws:principalarn\":"
                 "\"arn:aws:iam::" C ":role/*\"}}}]}");

    assert_int_equal(eval(p, "kms:Encrypt", ROLE(C, "a/b")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(C, "a")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "a")), IMPLICIT);
    kms_policy_free(p);

    /* ArnLike matches field by field: '*' stays in its own field */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{"
                 "\"ArnLike\":{\"aws:PrincipalArn\":[\"arn:aws:*:*:" A
                 ":user/*\",\"arn:*:role/r\"]}}}]}");

    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "a")), ALLOW);
    assert_int_equal(eval(p, "kms:Encrypt", USER(B, "a")), IMPLICIT);
    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "r")), IMPLICIT);
    kms_policy_free(p);

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{"
                 "\"StringLike\":{\"aws:PrincipalArn\":\"arn:*:role/r\"}}}]}");
    assert_int_equal(eval(p, "kms:Encrypt", ROLE(A, "r")), ALLOW);
    kms_policy_free(p);
}


static void
condition_encryption_context_keys_set_operators(void **state)
{
    kms_policy_t  *any, *all, *plain, *notall;

    static const char  *app[] = { "AppName" }, *v[] = { "x", "y", "z" };
    static const char  *app_proj[] = { "AppName", "Project" };
    static const char  *proj[] = { "Project" };
    static const char  *app_lower[] = { "appname" };
    static const char  *app_other[] = { "AppName", "Other" };

    any = cond_policy("Allow", "{\"ForAnyValue:StringEquals\":"
                      "{\"kms:EncryptionContextKeys\":\"AppName\"}}");
    all = cond_policy("Allow", "{\"ForAllValues:StringEquals\":"
                      "{\"kms:EncryptionContextKeys\":[\"AppName\","
                      "\"Project\"]}}");
    plain = cond_policy("Allow", "{\"StringEquals\":"
                        "{\"kms:EncryptionContextKeys\":\"AppName\"}}");
    notall = cond_policy("Allow", "{\"ForAllValues:StringNotEquals\":"
                         "{\"kms:EncryptionContextKeys\":\"Secret\"}}");

    /* ForAnyValue: one key listed; other keys allowed; none: no */
    assert_int_equal(eval_alice(any, 1, app, v), ALLOW);
    assert_int_equal(eval_alice(any, 2, app_proj, v), ALLOW);
    assert_int_equal(eval_alice(any, 1, proj, v), IMPLICIT);
    assert_int_equal(eval_alice(any, 1, app_lower, v), IMPLICIT);
    assert_int_equal(eval_alice(any, 0, NULL, NULL), IMPLICIT);

    /* ForAllValues: only listed keys; an empty context passes */
    assert_int_equal(eval_alice(all, 1, app, v), ALLOW);
    assert_int_equal(eval_alice(all, 2, app_proj, v), ALLOW);
    assert_int_equal(eval_alice(all, 2, app_other, v), IMPLICIT);
    assert_int_equal(eval_alice(all, 0, NULL, NULL), ALLOW);

    /* no set operator on a multi-valued key: one match is enough */
    assert_int_equal(eval_alice(plain, 2, app_other, v), ALLOW);
    assert_int_equal(eval_alice(plain, 1, proj, v), IMPLICIT);
    assert_int_equal(eval_alice(plain, 0, NULL, NULL), IMPLICIT);

    /* ForAllValues with a negated operator: no key may be listed */
    assert_int_equal(eval_alice(notall, 2, app_proj, v), ALLOW);
    assert_int_equal(eval_alice(notall, 0, NULL, NULL), ALLOW);
    {
        static const char  *sec[] = { "AppName", "Secret" };
        assert_int_equal(eval_alice(notall, 2, sec, v), IMPLICIT);
    }

    kms_policy_free(any);
    kms_policy_free(all);
    kms_policy_free(plain);
    kms_policy_free(notall);
}


static void
condition_context_pair_and_keys_together(void **state)
{
    kms_policy_t  *p;

    static const char  *k1[] = { "Department", "Project" };
    static const char  *v1[] = { "IT", "Alpha" };
    static const char  *k2[] = { "Department", "Project", "Extra" };
    static const char  *v2[] = { "IT", "Alpha", "x" };
    static const char  *k3[] = { "department", "Project" };

    /* AWS's example: these pairs and no other keys */
    p = cond_policy("Allow", "{\"StringEquals\":{"
                    "\"kms:EncryptionContext:Department\":\"IT\","
                    "\"kms:EncryptionContext:Project\":\"Alpha\"},"
                    "\"ForAllValues:StringEquals\":{"
                    "\"kms:EncryptionContextKeys\":[\"Department\","
                    "\"Project\"]}}");

    assert_int_equal(eval_alice(p, 2, k1, v1), ALLOW);
    assert_int_equal(eval_alice(p, 3, k2, v2), IMPLICIT);
    /* EncryptionContextKeys is where the key's case is checked */
    assert_int_equal(eval_alice(p, 2, k3, v1), IMPLICIT);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);
}


static void
condition_null_and_bool(void **state)
{
    kms_policy_t  *p;

    static const char  *k[] = { "a" }, *v[] = { "b" };

    /* an encryption context is required */
    p = cond_policy("Allow", "{\"Null\":{\"kms:EncryptionContextKeys\":"
                    "false}}");
    assert_int_equal(eval_alice(p, 1, k, v), ALLOW);
    assert_int_equal(eval_alice(p, 0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"Null\":{\"kms:ViaService\":\"true\"}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    assert_int_equal(eval_ctx(p, "kms:Decrypt", USER(A, "alice"), S3_VIA,
                              0, NULL, NULL), IMPLICIT);
    kms_policy_free(p);

    /* AWS's lockout example: a key this server never sets is null */
    p = cond_policy("Allow", "{\"Null\":"
                    "{\"kms:BypassPolicyLockoutSafetyCheck\":true}}");
    assert_int_equal(eval(p, "kms:PutKeyPolicy", USER(A, "alice")), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"Bool\":{\"kms:MultiRegion\":false}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"Bool\":{\"kms:MultiRegion\":\"true\"}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"Bool\":{\"kms:GrantIsForAWSResource\":"
                    "true}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"BoolIfExists\":"
                    "{\"kms:GrantIsForAWSResource\":true}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);
}


static void
condition_key_properties_and_untyped_operators(void **state)
{
    kms_policy_t  *p;

    p = cond_policy("Allow", "{\"StringEquals\":{\"kms:KeySpec\":"
                    "\"SYMMETRIC_DEFAULT\",\"kms:keyusage\":"
                    "\"ENCRYPT_DECRYPT\",\"kms:KeyOrigin\":\"AWS_KMS\"}}");
    assert_int_equal(eval(p, "kms:DescribeKey", USER(A, "alice")), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringLike\":{\"kms:DataKeyPairSpec\":"
                    "\"RSA*\"}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"StringEquals\":{\"kms:EncryptionAlgorithm\":"
                    "\"SYMMETRIC_DEFAULT\"}}");
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice")), ALLOW);
    assert_int_equal(eval(p, "kms:GenerateDataKey", USER(A, "alice")),
                     ALLOW);
    assert_int_equal(eval(p, "kms:DescribeKey", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    /* no key of this server holds a number or a date */
    p = cond_policy("Allow", "{\"NumericLessThanEquals\":"
                    "{\"kms:ValidTo\":1700000000}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"NumericNotEquals\":{\"kms:ValidTo\":1}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);

    p = cond_policy("Allow", "{\"DateGreaterThanIfExists\":"
                    "{\"kms:ValidTo\":\"2030-01-01T00:00:00Z\"}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);

    /* other services' keys are never in a KMS request */
    p = cond_policy("Allow", "{\"StringEquals\":{\"s3:prefix\":\"x\"}}");
    assert_int_equal(eval(p, "kms:Decrypt", USER(A, "alice")), IMPLICIT);
    kms_policy_free(p);
}


static void
condition_duplicate_context_keys_by_case(void **state)
{
    kms_policy_t  *allow, *deny;

    static const char  *k[] = { "Stage", "stage" };
    static const char  *v[] = { "Test", "Restricted" };

    /* either pair can trigger a Deny; neither can slip past a NotEquals */
    deny = parse_ok("{\"Statement\":["
                    "{\"Effect\":\"Allow\",\"Principal\":\"*\","
                    "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                    "{\"Effect\":\"Deny\",\"Principal\":\"*\","
                    "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":"
                    "{\"StringEquals\":{\"kms:EncryptionContext:STAGE\":"
                    "\"Restricted\"}}}]}");
    allow = cond_policy("Allow", "{\"StringNotEquals\":"
                        "{\"kms:EncryptionContext:Stage\":\"Restricted\"}}");

    assert_int_equal(eval_alice(deny, 2, k, v), DENY);
    assert_int_equal(eval_alice(allow, 2, k, v), IMPLICIT);

    kms_policy_free(deny);
    kms_policy_free(allow);
}


/* ---- lockout check ----------------------------------------------------- */

static void
lockout_check(void **state)
{
    char          *doc;
    kms_policy_t  *p;

    doc = kms_policy_default("aws", A);
    p = parse_ok(doc);
    free(doc);
    assert_true(kms_policy_allows_put_policy(p, ROOT(A), A, KEY_ARN));
    assert_true(kms_policy_allows_put_policy(p, USER(A, "adm"), A, KEY_ARN));
    assert_false(kms_policy_allows_put_policy(p, USER(B, "adm"), B,
                                              KEY_ARN));
    kms_policy_free(p);

    /* alice may only encrypt: she would lock herself out */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" USER(A, "alice") "\"},"
                 "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\"],"
                 "\"Resource\":\"*\"}]}");
    assert_false(kms_policy_allows_put_policy(p, USER(A, "alice"), A,
                                              KEY_ARN));
    kms_policy_free(p);

    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\","
                 "\"Principal\":{\"AWS\":\"" USER(A, "alice") "\"},"
                 "\"Action\":\"kms:Put*\",\"Resource\":\"" KEY_ARN "\"}]}");
    assert_true(kms_policy_allows_put_policy(p, USER(A, "alice"), A,
                                             KEY_ARN));
    assert_false(kms_policy_allows_put_policy(p, USER(A, "bob"), A,
                                              KEY_ARN));
    assert_false(kms_policy_allows_put_policy(p, USER(A, "alice"), A,
                                              KEY2_ARN));
    kms_policy_free(p);

    /* a Deny of PutKeyPolicy for the caller fails the check */
    p = parse_ok("{\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" A "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
                 USER(A, "alice") "\"},\"Action\":\"kms:PutKeyPolicy\","
                 "\"Resource\":\"*\"}]}");
    assert_false(kms_policy_allows_put_policy(p, USER(A, "alice"), A,
                                              KEY_ARN));
    assert_true(kms_policy_allows_put_policy(p, USER(A, "bob"), A, KEY_ARN));
    kms_policy_free(p);

    /* only through a service: PutKeyPolicy never comes through one */
    p = parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{"
                 "\"StringEquals\":{\"kms:ViaService\":\"" S3_VIA "\"}}}]}");
    assert_false(kms_policy_allows_put_policy(p, ROOT(A), A, KEY_ARN));
    kms_policy_free(p);

    assert_string_equal(KMS_POLICY_LOCKOUT_MSG, "The new key policy will "
                        "not allow you to update the key policy in the "
                        "future.");
}


/* ---- the parser's refusals --------------------------------------------- */

#define MSG_JSON        "The policy document is not valid JSON."
#define MSG_DUP_KEY     "The policy document contains duplicate JSON keys."
#define MSG_DEPTH       "The policy document is nested too deeply."
#define MSG_NOT_OBJECT  "The policy document must be a JSON object."
#define MSG_VERSION     "The policy must contain a valid version string."
#define MSG_NO_STMT     "The policy document must contain at least one " \
                        "statement."
#define MSG_STMT        "Policy contains a statement that is not a JSON " \
                        "object."
#define MSG_EFFECT      "Policy contains a statement with an invalid Effect."
#define MSG_PRINCIPALS  "Policy contains a statement with one or more " \
                        "invalid principals."
#define MSG_NO_PRIN     "Policy contains a statement with no principal"
#define MSG_ACTIONS     "Policy contains a statement with one or more " \
                        "invalid actions."
#define MSG_RESOURCES   "Policy contains a statement with one or more " \
                        "invalid resources."
#define MSG_CONDITION   "Policy contains a statement with an invalid " \
                        "condition."
#define MSG_DUP_SID     "Policy contains statements with duplicate Sids."

#define STMT(body)                                                          \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{" body "}]}"
#define OK_STMT(extra)                                                      \
    STMT("\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" A "\"},"        \
         "\"Action\":\"kms:*\",\"Resource\":\"*\"" extra)
#define PRIN(p)                                                             \
    STMT("\"Effect\":\"Allow\",\"Principal\":" p ","                       \
         "\"Action\":\"kms:*\",\"Resource\":\"*\"")
#define ACTION(a)                                                           \
    STMT("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":" a ","      \
         "\"Resource\":\"*\"")
#define RESOURCE(r)                                                         \
    STMT("\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","  \
         "\"Resource\":" r)
#define COND(c)  OK_STMT(",\"Condition\":" c)


static void
refuses_bad_json(void **state)
{
    REFUSED("not json", MSG_JSON);
    REFUSED("{\"Version\":\"2012-10-17\",", MSG_JSON);
    REFUSED("{\"Version\":\"2012-10-17\"} x", MSG_JSON);
    REFUSED("42", MSG_JSON);
    REFUSED("{'Version':'2012-10-17'}", MSG_JSON);
    REFUSED("{\"Statement\":{\"Sid\":\"\\u0000\"}}", MSG_JSON);
    REFUSED("[]", MSG_NOT_OBJECT);
    REFUSED("[" OK_STMT("") "]", MSG_NOT_OBJECT);

    REFUSED("{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\","
            "\"Statement\":[]}", MSG_DUP_KEY);
    REFUSED(STMT("\"Effect\":\"Allow\",\"Effect\":\"Deny\","
                 "\"Principal\":\"*\",\"Action\":\"kms:*\","
                 "\"Resource\":\"*\""), MSG_DUP_KEY);
    REFUSED(COND("{\"StringEquals\":{\"kms:ViaService\":\"a\","
                 "\"kms:ViaService\":\"b\"}}"), MSG_DUP_KEY);
}


static void
refuses_bad_document_elements(void **state)
{
    REFUSED("{\"Version\":\"2012-10-18\",\"Statement\":[]}", MSG_VERSION);
    REFUSED("{\"Version\":20121017,\"Statement\":[]}", MSG_VERSION);
    REFUSED("{\"Version\":\"2012-10-17\"}", MSG_NO_STMT);
    REFUSED("{\"Version\":\"2012-10-17\",\"Statement\":[]}", MSG_NO_STMT);
    REFUSED("{\"Version\":\"2012-10-17\",\"Statement\":\"Allow\"}",
            MSG_STMT);
    REFUSED("{\"Version\":\"2012-10-17\",\"Statement\":[1]}", MSG_STMT);
    REFUSED("{\"Version\":\"2012-10-17\",\"Statement\":[[]]}", MSG_STMT);
    REFUSED("{\"Version\":\"2012-10-17\",\"Id\":7,\"Statement\":[]}",
            "The policy Id must be a string.");
    REFUSED("{\"Version\":\"2012-10-17\",\"Statment\":[]}",
            "The policy document contains an unsupported element: "
            "Statment");
    REFUSED(OK_STMT(",\"Effects\":\"Allow\""),
            "Policy contains a statement with an unsupported element: "
            "Effects");
    REFUSED(OK_STMT(",\"Sid\":5"),
            "Policy contains a statement with an invalid Sid.");
    REFUSED("{\"Statement\":[" OK_STMT("") "]}",
            "Policy contains a statement with an unsupported element: "
            "Version");

    REFUSED("{\"Statement\":[{\"Sid\":\"s\",\"Effect\":\"Allow\","
            "\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"},"
            "{\"Sid\":\"s\",\"Effect\":\"Deny\",\"Principal\":\"*\","
            "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}", MSG_DUP_SID);
}


static void
refuses_bad_effect(void **state)
{
    REFUSED(STMT("\"Principal\":\"*\",\"Action\":\"kms:*\","
                 "\"Resource\":\"*\""), MSG_EFFECT);
    REFUSED(STMT("\"Effect\":\"allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\""), MSG_EFFECT);
    REFUSED(STMT("\"Effect\":\"Permit\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\""), MSG_EFFECT);
    REFUSED(STMT("\"Effect\":true,\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\""), MSG_EFFECT);
}


static void
refuses_bad_principals(void **state)
{
    REFUSED(STMT("\"Effect\":\"Allow\",\"Action\":\"kms:*\","
                 "\"Resource\":\"*\""), MSG_NO_PRIN);
    REFUSED(PRIN("\"" ROOT(A) "\""), MSG_PRINCIPALS);
    REFUSED(PRIN("\"**\""), MSG_PRINCIPALS);
    REFUSED(PRIN("{}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":[]}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":5}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":[\"" ROOT(A) "\",5]}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"user/alice\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"11112222333\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"1111222233334\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::1111222233:root\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":group/admins\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":user/*\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::*:root\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":user/\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":user/a//b\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":rooot\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:kms::" A ":root\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:gcp:iam::" A ":root\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:sts::" A ":assumed-role/r\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"AWS\":\"arn:aws:iam::" A ":user/a b\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"Federated\":\"cognito-identity.amazonaws.com\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"CanonicalUser\":\"79a59df900b949e55d96a1e698fbaced\"}"),
            MSG_PRINCIPALS);
    REFUSED(PRIN("{\"Service\":\"not a service\"}"), MSG_PRINCIPALS);
    REFUSED(PRIN("{\"Service\":\"s3\"}"), MSG_PRINCIPALS);
    REFUSED(STMT("\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"NotPrincipal\":{\"AWS\":\"" A "\"},"
                 "\"Action\":\"kms:*\",\"Resource\":\"*\""), MSG_PRINCIPALS);
}


static void
refuses_bad_actions_and_resources(void **state)
{
    REFUSED(ACTION("\"Encrypt\""), MSG_ACTIONS);
    REFUSED(ACTION("\"kms:\""), MSG_ACTIONS);
    REFUSED(ACTION("\":Encrypt\""), MSG_ACTIONS);
    REFUSED(ACTION("\"kms:a:b\""), MSG_ACTIONS);
    REFUSED(ACTION("\"kms:Encrypt Decrypt\""), MSG_ACTIONS);
    REFUSED(ACTION("5"), MSG_ACTIONS);
    REFUSED(ACTION("[\"kms:Encrypt\",null]"), MSG_ACTIONS);
    REFUSED(ACTION("{\"kms\":\"Encrypt\"}"), MSG_ACTIONS);
    REFUSED(STMT("\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"NotAction\":\"kms:Encrypt\","
                 "\"Resource\":\"*\""), MSG_ACTIONS);

    REFUSED(RESOURCE("\"key/1234\""), MSG_RESOURCES);
    REFUSED(RESOURCE("\"arn:\""), MSG_RESOURCES);
    REFUSED(RESOURCE("7"), MSG_RESOURCES);
    REFUSED(RESOURCE("[\"*\",true]"), MSG_RESOURCES);
    REFUSED(STMT("\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\","
                 "\"NotResource\":\"*\""), MSG_RESOURCES);
}


static void
refuses_bad_conditions(void **state)
{
    REFUSED(COND("\"StringEquals\""), MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":\"kms:ViaService\"}"), MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":{\"kms:ViaService\":{\"a\":\"b\"}}}"),
            MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":{\"kms:ViaService\":[[\"a\"]]}}"),
            MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":{\"kms:ViaService\":null}}"),
            MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":{\"\":\"x\"}}"), MSG_CONDITION);
    REFUSED(COND("{\"StringEquals\":{\"kms:EncryptionContext:\":\"x\"}}"),
            MSG_CONDITION);

    REFUSED(COND("{\"StringEqual\":{\"kms:ViaService\":\"a\"}}"),
            "Policy contains a statement with an invalid condition "
            "operator: StringEqual");
    REFUSED(COND("{\"stringequals\":{\"kms:ViaService\":\"a\"}}"),
            "Policy contains a statement with an invalid condition "
            "operator: stringequals");
    REFUSED(COND("{\"ForSomeValues:StringEquals\":{\"kms:ViaService\":"
                 "\"a\"}}"),
            "Policy contains a statement with an invalid condition "
            "operator: ForSomeValues:StringEquals");
    REFUSED(COND("{\"NullIfExists\":{\"kms:ViaService\":true}}"),
            "Policy contains a statement with an invalid condition "
            "operator: NullIfExists");
    REFUSED(COND("{\"IfExists\":{\"kms:ViaService\":true}}"),
            "Policy contains a statement with an invalid condition "
            "operator: IfExists");

    REFUSED(COND("{\"ForAllValues:StringEquals\":"
                 "{\"kms:EncryptionContext:Dept\":\"IT\"}}"),
            "OverlyPermissiveCondition:EncryptionContext: Using the "
            "ForAllValues set operator with a single-valued condition key "
            "matches requests without the specified encryption context or "
            "with an unspecified encryption context. To fix, remove "
            "ForAllValues.");

    REFUSED(COND("{\"StringEquals\":{\"aws:ResourceTag/Project\":\"x\"}}"),
            "These condition keys are not permitted in a key policy: "
            "aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases");
    REFUSED(COND("{\"ForAnyValue:StringLike\":{\"kms:ResourceAliases\":"
                 "\"alias/x\"}}"),
            "These condition keys are not permitted in a key policy: "
            "aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases");

    REFUSED(COND("{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"),
            "Policy contains a statement with a condition key that this "
            "KMS does not support: aws:SourceIp");
    REFUSED(COND("{\"Bool\":{\"aws:SecureTransport\":false}}"),
            "Policy contains a statement with a condition key that this "
            "KMS does not support: aws:SecureTransport");
}


static void
refuses_by_size_depth_and_characters(void **state)
{
    char           *big, *deep;
    size_t          i, n, head, len;
    kms_policy_t   *p;
    char            msg[256];

    static const char  prefix[] = "{\"Statement\":[{\"Sid\":\"";
    static const char  suffix[] = "\",\"Effect\":\"Allow\",\"Principal\":"
                                  "\"*\",\"Action\":\"kms:*\","
                                  "\"Resource\":\"*\"}]}";

    expect_refused("", 0, KMS_ERR_VALIDATION,
                   "1 validation error detected: Value at 'policy' failed to "
                   "satisfy constraint: Member must have length greater than "
                   "or equal to 1");

    /* exactly 32768 characters is fine, one more is not */
    big = malloc(80000);
    assert_non_null(big);

    head = strlen(prefix);
    n = KMS_POLICY_MAX_LEN - head - strlen(suffix);
    memcpy(big, prefix, head);
    memset(big + head, 'x', n);
    strcpy(big + head + n, suffix);
    len = strlen(big);
    assert_int_equal(len, KMS_POLICY_MAX_LEN);

    assert_int_equal(kms_policy_parse(big, len, &p, msg, sizeof(msg)),
                     KMS_OK);
    kms_policy_free(p);

    memmove(big + 1, big, len + 1);
    big[0] = ' ';
    expect_refused(big, len + 1, KMS_ERR_LIMIT_EXCEEDED,
                   "The key policy exceeds the maximum length of 32768 "
                   "characters.");

    /* characters, not bytes: 20000 two-byte characters are fine */
    n = 20000;
    memcpy(big, prefix, head);
    for (i = 0; i < n; i++) {
        big[head + 2 * i] = '\xc3';
        big[head + 2 * i + 1] = '\xa9';
    }
    strcpy(big + head + 2 * n, suffix);
    assert_true(strlen(big) > KMS_POLICY_MAX_LEN);
    p = parse_ok(big);
    kms_policy_free(p);

    /* 33000 of them are too many, whatever the bytes */
    n = 33000;
    for (i = 0; i < n; i++) {
        big[head + 2 * i] = '\xc3';
        big[head + 2 * i + 1] = '\xa9';
    }
    strcpy(big + head + 2 * n, suffix);
    expect_refused(big, strlen(big), KMS_ERR_LIMIT_EXCEEDED,
                   "The key policy exceeds the maximum length of 32768 "
                   "characters.");
    free(big);

#define BAD_CHAR                                                            \
    "1 validation error detected: Value at 'policy' failed to satisfy "     \
    "constraint: Member must satisfy regular expression pattern: "          \
    "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"

    expect_refused(OK_STMT(",\"Sid\":\"a\x01\""),
                   strlen(OK_STMT(",\"Sid\":\"a\x01\"")),
                   KMS_ERR_VALIDATION, BAD_CHAR);
    expect_refused(OK_STMT(",\"Sid\":\"\xe4\xb8\xad\""),
                   strlen(OK_STMT(",\"Sid\":\"\xe4\xb8\xad\"")),
                   KMS_ERR_VALIDATION, BAD_CHAR);
    expect_refused(OK_STMT(",\"Sid\":\"\xff\""),
                   strlen(OK_STMT(",\"Sid\":\"\xff\"")),
                   KMS_ERR_VALIDATION, BAD_CHAR);
    expect_refused(OK_STMT(",\"Sid\":\"\xc1\xa1\""),
                   strlen(OK_STMT(",\"Sid\":\"\xc1\xa1\"")),
                   KMS_ERR_VALIDATION, BAD_CHAR);
    expect_refused("{\"Statement\":\0}", 15, KMS_ERR_VALIDATION, BAD_CHAR);

    /* tab, CR, LF, Latin-1, and escapes for the rest are fine */
    p = parse_ok("{\t\"Statement\":\r\n[{\"Sid\":\"caf\xc3\xa9 \\u4e2d\","
                 "\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}");
    kms_policy_free(p);

    /* nesting: brackets inside strings do not count */
    p = parse_ok(OK_STMT(",\"Sid\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{\\\"\""));
    kms_policy_free(p);

    deep = malloc(4096);
    assert_non_null(deep);
    strcpy(deep, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":"
                 "{\"StringEquals\":{\"kms:ViaService\":");
    for (i = 0; i < 20; i++) {
        strcat(deep, "[");
    }
    strcat(deep, "\"a\"");
    for (i = 0; i < 20; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}}}]}");
    REFUSED(deep, MSG_DEPTH);

    /* refused before jansson recurses into it */
    n = 100000;
    deep = realloc(deep, n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    expect_refused(deep, n, KMS_ERR_LIMIT_EXCEEDED,
                   "The key policy exceeds the maximum length of 32768 "
                   "characters.");
    REFUSED(deep + n - 30000, MSG_DEPTH);
    free(deep);
}


static void
accepts_aws_shapes(void **state)
{
    char           msg[8];
    kms_policy_t  *p;

    static const char  json[] =
        "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\","
        "\"Principal\":{\"AWS\":\"" A "\"},\"Action\":\"kms:*\","
        "\"Resource\":\"*\"}}";

    /* one statement as an object, the old Version, a short msg buffer */
    assert_int_equal(kms_policy_parse(json, strlen(json), &p, msg,
                                      sizeof(msg)), KMS_OK);
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "x")), ALLOW);
    kms_policy_free(p);

    /* a NULL message buffer is allowed */
    assert_int_equal(kms_policy_parse("[]", 2, &p, NULL, 0),
                     KMS_ERR_MALFORMED_POLICY);
    assert_null(p);

    /* Sids with spaces, repeated empty Sids, Service principals */
    p = parse_ok("{\"Id\":\"x\",\"Statement\":["
                 "{\"Sid\":\"\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"},"
                 "{\"Sid\":\"\",\"Effect\":\"Allow\",\"Principal\":"
                 "{\"Service\":\"logs.us-east-1.amazonaws.com\",\"AWS\":"
                 "[\"" ROOT(A) "\",\"" SESSION(A, "r", "s") "\","
                 "\"arn:aws:sts::" A ":federated-user/bob\","
                 "\"arn:aws-us-gov:iam::" A ":user/path/to/x+y=z,a.b@c_d-e\""
                 "]},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"},"
                 "{\"Sid\":\"Allow use of the key\",\"Effect\":\"Deny\","
                 "\"Principal\":\"*\",\"Action\":\"kms:Sign\","
                 "\"Resource\":\"*\",\"Condition\":{}}]}");
    kms_policy_free(p);

    /* numbers and booleans in condition values are text */
    p = cond_policy("Allow", "{\"StringEquals\":{\"kms:CallerAccount\":"
                    "111122223333}}");
    assert_int_equal(eval(p, "kms:Encrypt", USER(A, "alice")), ALLOW);
    kms_policy_free(p);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(default_policy_is_awss_text),
        cmocka_unit_test(default_policy_allows_account_root_and_users),
        cmocka_unit_test(aws_managed_policy_is_awss_text),
        cmocka_unit_test(aws_managed_policy_allows_use_through_s3_only),
        cmocka_unit_test(explicit_deny_wins_over_allow),
        cmocka_unit_test(no_policy_or_no_action_is_implicit_deny),
        cmocka_unit_test(action_wildcards_and_case),
        cmocka_unit_test(not_action_applies_to_every_other_action),
        cmocka_unit_test(principal_arn_is_exact_root_is_the_account),
        cmocka_unit_test(role_names_its_sessions),
        cmocka_unit_test(principal_star_is_everyone),
        cmocka_unit_test(cross_account_grant),
        cmocka_unit_test(not_principal_excludes_the_named),
        cmocka_unit_test(service_principal_matches_only_that_service),
        cmocka_unit_test(resource_star_key_arn_and_not_resource),
        cmocka_unit_test(statement_without_action_or_resource_has_no_effect),
        cmocka_unit_test(condition_string_equals),
        cmocka_unit_test(condition_values_or_keys_and_operators_and),
        cmocka_unit_test(condition_string_not_equals),
        cmocka_unit_test(condition_ignore_case),
        cmocka_unit_test(condition_string_like),
        cmocka_unit_test(condition_if_exists),
        cmocka_unit_test(condition_caller_account_via_service_principal_keys),
        cmocka_unit_test(condition_encryption_context_keys_set_operators),
        cmocka_unit_test(condition_context_pair_and_keys_together),
        cmocka_unit_test(condition_null_and_bool),
        cmocka_unit_test(condition_key_properties_and_untyped_operators),
        cmocka_unit_test(condition_duplicate_context_keys_by_case),
        cmocka_unit_test(lockout_check),
        cmocka_unit_test(refuses_bad_json),
        cmocka_unit_test(refuses_bad_document_elements),
        cmocka_unit_test(refuses_bad_effect),
        cmocka_unit_test(refuses_bad_principals),
        cmocka_unit_test(refuses_bad_actions_and_resources),
        cmocka_unit_test(refuses_bad_conditions),
        cmocka_unit_test(refuses_by_size_depth_and_characters),
        cmocka_unit_test(accepts_aws_shapes),
    };

    return UNIT_RUN(tests);
}
