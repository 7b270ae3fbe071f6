/*
 * The KMS JSON API through kms_call_new(): JSON in, JSON out, against the
 * in-memory Redis of kms_fake.h.  Each test checks the fields and types
 * AWS answers with, and the errors (type and message) it gives.
 */

#include "unit.h"

#include <ctype.h>
#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


#define ACCT_A   "111122223333"
#define ACCT_B   "444455556666"
#define ARN_A    "arn:aws:iam::111122223333:user/alice"
#define ARN_B    "arn:aws:iam::444455556666:user/bob"
#define T0       1700000000000LL
#define DAY      86400000LL


typedef struct {
    fk_t        fk;
    kms_ctx_t  *ctx;
    kms_ctx_t  *ctx2;             /* a second worker on the same Redis */
    char        log[8192];
} fx_t;

typedef struct {
    int         status;
    kms_err_t   err;
    json_t     *body;
    json_t     *audit;
    char       *event;
    char        raw[65536];
} res_t;


static fx_t          *F;
static kms_caller_t   alice = { "AKIDALICE", ACCT_A, ARN_A, NULL, "192.0.2.1",
                                "aws-cli/2.15", "11111111-2222-4333-8444-"
                                "555555555555", T0 };
static kms_caller_t   bob = { "AKIDBOB", ACCT_B, ARN_B, NULL, "192.0.2.2",
                              "boto3", NULL, T0 };
static kms_caller_t   s3gw = { "AKIDALICE", ACCT_A, ARN_A,
                               "s3.us-east-1.amazonaws.com", "192.0.2.1",
                               "aws-cli/2.15", NULL, T0 };
static res_t          R;


static void
fx_log(void *data, int level, const char *msg)
{
    fx_t  *f = data;
    size_t n = strlen(f->log);

    snprintf(f->log + n, sizeof(f->log) - n, "%d:%s\n", level, msg);
}


static kms_ctx_t *
fx_ctx(unsigned char fill)
{
    unsigned char  root[KMS_ROOT_KEY_LEN];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_ctx_t     *ctx;

    memset(root, fill, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    assert_non_null(ctx);
    kms_ctx_set_log(ctx, fx_log, F);
    return ctx;
}


static void
fx_load(kms_ctx_t *ctx)
{
    kms_call_t  *c = kms_call_load(ctx);

    assert_non_null(c);
    fk_drive(&F->fk, c);
    kms_call_free(c);
}


static int
setup(void **state)
{
    F = calloc(1, sizeof(fx_t));
    F->ctx = fx_ctx(7);
    fx_load(F->ctx);
    assert_int_equal(kms_ctx_state(F->ctx), KMS_RING_READY);
    alice.now_ms = T0;
    bob.now_ms = T0;
    s3gw.now_ms = T0;
    *state = F;
    return 0;
}


static void
res_clear(void)
{
    json_decref(R.body);
    json_decref(R.audit);
    free(R.event);
    memset(&R, 0, sizeof(R));
}


static int
teardown(void **state)
{
    res_clear();
    kms_ctx_free(F->ctx);
    kms_ctx_free(F->ctx2);
    fk_free(&F->fk);
    free(F);
    F = NULL;
    return 0;
}


static void
res_take(kms_call_t *c)
{
    size_t       len;
    const char  *b, *a;

    res_clear();
    R.status = kms_call_status(c);
    R.err = kms_call_error(c);
    b = kms_call_body(c, &len);
    snprintf(R.raw, sizeof(R.raw), "%.*s", (int) len, b);
    R.body = len ? json_loadb(b, len, 0, NULL) : json_object();
    assert_non_null(R.body);
    a = kms_call_audit(c, &len);
    R.audit = len ? json_loadb(a, len, 0, NULL) : NULL;
    R.event = kms_call_event(c) ? strdup(kms_call_event(c)) : NULL;
}


static res_t *
api_on(kms_ctx_t *ctx, kms_caller_t *who, const char *op, const char *body)
{
    kms_call_t  *c;

    c = kms_call_new(ctx, who, op, body, strlen(body));
    assert_non_null(c);
    fk_drive(&F->fk, c);
    res_take(c);
    kms_call_free(c);
    return &R;
}


static res_t *
api(kms_caller_t *who, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static res_t *
api(kms_caller_t *who, const char *op, const char *fmt, ...)
{
    char     body[65536];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);

    return api_on(F->ctx, who, op, body);
}


static const char *
js(json_t *o, const char *path)
{
    json_t  *v = json_object_get(o, path);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


static void
expect_err(const char *type, const char *msg)
{
    if (strcmp(js(R.body, "__type") ? js(R.body, "__type") : "", type) != 0) {
        fail_msg("expected %s, got %s", type, R.raw);
    }

    if (msg == NULL) {
        assert_null(json_object_get(R.body, "message"));
    } else if (strcmp(js(R.body, "message") ? js(R.body, "message") : "",
                      msg) != 0)
    {
        fail_msg("expected message \"%s\", got %s", msg, R.raw);
    }

    assert_int_equal(R.status, type[0] == 'K' && strcmp(type,
                     "KMSInternalException") == 0 ? 500
                     : strcmp(type, "DependencyTimeoutException") == 0 ? 503
                     : strcmp(type, "DryRunOperationException") == 0 ? 412
                     : 400);
    assert_null(R.event);
}


static void
expect_ok(void)
{
    if (R.status != 200) {
        fail_msg("expected success, got %d %s", R.status, R.raw);
    }
}


/* creates a key for alice; returns its id (static buffer) */
static const char *
new_key(const char *extra)
{
    static char  id[64];

    api(&alice, "CreateKey", "{%s}", extra ? extra : "");
    expect_ok();
    snprintf(id, sizeof(id), "%s",
             js(json_object_get(R.body, "KeyMetadata"), "KeyId"));
    return id;
}


static char *
key_arn(const char *acct, const char *id)
{
    static char  arn[128];

    snprintf(arn, sizeof(arn), "arn:aws:kms:us-east-1:%s:key/%s", acct, id);
    return arn;
}


/* ---- load and the root key ---------------------------------------------- */

static void
load_stores_root_fingerprint(void **state)
{
    fk_key_t  *root = fk_find(&F->fk, "kms:root", 8);

    assert_non_null(root);
    assert_int_equal(root->slen, KMS_FINGERPRINT_LEN);
    assert_memory_equal(root->str, kms_ctx_fingerprint(F->ctx),
                        KMS_FINGERPRINT_LEN);
}


static void
wrong_root_fingerprint_refuses_everything(void **state)
{
    unsigned   writes;

    new_key(NULL);
    writes = F->fk.writes;

    F->ctx2 = fx_ctx(9);                       /* another root key */
    fx_load(F->ctx2);
    assert_int_equal(kms_ctx_state(F->ctx2), KMS_RING_WRONG_ROOT);
    assert_non_null(strstr(F->log, "belongs to another root key"));

    api_on(F->ctx2, &alice, "CreateKey", "{}");
    assert_int_equal(R.status, 500);
    assert_string_equal(js(R.body, "__type"), "KMSInternalException");
    assert_non_null(strstr(js(R.body, "message"), "another root key"));
    assert_int_equal(F->fk.writes, writes);

    api_on(F->ctx2, &alice, "ListKeys", "{}");
    assert_int_equal(R.status, 500);
}


static void
calls_before_load_are_refused(void **state)
{
    F->ctx2 = fx_ctx(7);
    api_on(F->ctx2, &alice, "ListKeys", "{}");
    expect_err("DependencyTimeoutException",
               "The key store is not loaded yet. Try again later.");
}


/* ---- CreateKey, DescribeKey --------------------------------------------- */

static void
create_key_returns_full_metadata(void **state)
{
    json_t        *m, *algs;
    unsigned char  bin[16];
    char           matid[65];

    api(&alice, "CreateKey", "{\"Description\":\"payroll\",\"Tags\":"
        "[{\"TagKey\":\"team\",\"TagValue\":\"hr\"}]}");
    expect_ok();

    m = json_object_get(R.body, "KeyMetadata");
    assert_non_null(m);
    assert_string_equal(js(m, "AWSAccountId"), ACCT_A);
    assert_int_equal(strlen(js(m, "KeyId")), 36);
    assert_string_equal(js(m, "Arn"), key_arn(ACCT_A, js(m, "KeyId")));
    assert_true(json_is_number(json_object_get(m, "CreationDate")));
    assert_true(json_number_value(json_object_get(m, "CreationDate"))
                == T0 / 1000.0);
    assert_true(json_is_true(json_object_get(m, "Enabled")));
    assert_string_equal(js(m, "Description"), "payroll");
    assert_string_equal(js(m, "KeyUsage"), "ENCRYPT_DECRYPT");
    assert_string_equal(js(m, "KeyState"), "Enabled");
    assert_string_equal(js(m, "Origin"), "AWS_KMS");
    assert_string_equal(js(m, "KeyManager"), "CUSTOMER");
    assert_string_equal(js(m, "KeySpec"), "SYMMETRIC_DEFAULT");
    assert_string_equal(js(m, "CustomerMasterKeySpec"), "SYMMETRIC_DEFAULT");
    algs = json_object_get(m, "EncryptionAlgorithms");
    assert_int_equal(json_array_size(algs), 1);
    assert_string_equal(json_string_value(json_array_get(algs, 0)),
                        "SYMMETRIC_DEFAULT");
    assert_true(json_is_false(json_object_get(m, "MultiRegion")));
    assert_null(json_object_get(m, "DeletionDate"));

    assert_int_equal(kms_uuid_parse(js(m, "KeyId"), 36, bin), 0);
    kms_material_id(bin, 1, matid);
    assert_string_equal(js(m, "CurrentKeyMaterialId"), matid);

    /* the record landed in Redis with its first version and account set */
    {
        char       name[96];
        fk_key_t  *k;

        snprintf(name, sizeof(name), "kms:key:{%s}", js(m, "KeyId"));
        k = fk_find(&F->fk, name, strlen(name));
        assert_non_null(k);
        assert_non_null(fk_hfind(k, "v1", 2));
        assert_int_equal(fk_hfind(k, "v1", 2)->vlen, 60);
        assert_non_null(fk_hfind(k, "mac", 3));
        assert_non_null(fk_find(&F->fk, "kms:keys:{" ACCT_A "}",
                                strlen("kms:keys:{" ACCT_A "}")));
    }

    /* the event names the key and its revision */
    assert_non_null(R.event);
    assert_true(strncmp(R.event, "kms1 ", 5) == 0);
    assert_non_null(strstr(R.event, js(m, "KeyId")));
}


static void
create_key_refuses_what_is_not_supported(void **state)
{
    char  *desc = malloc(8194);

    memset(desc, 'd', 8193);
    desc[8193] = '\0';
    api(&alice, "CreateKey", "{\"Description\":\"%s\"}", desc);
    free(desc);
    assert_string_equal(js(R.body, "__type"), "ValidationException");
    assert_non_null(strstr(js(R.body, "message"), "1 validation error "
                           "detected: Value 'dddd"));
    assert_non_null(strstr(js(R.body, "message"), "' at 'description' failed "
                           "to satisfy constraint: Member must have length "
                           "less than or equal to 8192"));

    api(&alice, "CreateKey", "{\"KeyUsage\":\"SIGN_VERIFY\"}");
    expect_err("UnsupportedOperationException", "KeyUsage SIGN_VERIFY is not "
               "supported by this key service: only ENCRYPT_DECRYPT keys "
               "are.");

    api(&alice, "CreateKey", "{\"KeySpec\":\"RSA_2048\"}");
    assert_string_equal(js(R.body, "__type"),
                        "UnsupportedOperationException");

    api(&alice, "CreateKey", "{\"KeySpec\":\"AES\"}");
    expect_err("ValidationException", "1 validation error detected: Value "
               "'AES' at 'keySpec' failed to satisfy constraint: Member must "
               "satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, "
               "ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, "
               "ECC_SECG_P256K1, SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, "
               "HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, "
               "ECC_NIST_EDWARDS25519]");

    api(&alice, "CreateKey", "{\"KeySpec\":\"SYMMETRIC_DEFAULT\","
        "\"CustomerMasterKeySpec\":\"SYMMETRIC_DEFAULT\"}");
    assert_string_equal(js(R.body, "__type"), "ValidationException");

    api(&alice, "CreateKey", "{\"Origin\":\"EXTERNAL\"}");
    assert_string_equal(js(R.body, "__type"),
                        "UnsupportedOperationException");

    api(&alice, "CreateKey", "{\"MultiRegion\":true}");
    assert_string_equal(js(R.body, "__type"),
                        "UnsupportedOperationException");

    api(&alice, "CreateKey", "{\"KeyUsage\":\"BOTH\",\"Origin\":\"X\"}");
    assert_string_equal(js(R.body, "__type"), "ValidationException");
    assert_true(strncmp(js(R.body, "message"), "2 validation errors detected: "
                        "Value 'BOTH' at 'keyUsage'", 55) == 0);

    api(&alice, "CreateKey", "{\"MultiRegion\":\"yes\"}");
    expect_err("SerializationException",
               "STRING_VALUE can not be converted to a Boolean");

    assert_int_equal(F->fk.writes, 0);
}


static void
json_specials_round_trip(void **state)
{
    const char  *want = "q\"b\\n\nt\tc\x01" "d\x7f" "\xc3\xa9/";

    api(&alice, "CreateKey", "{\"Description\":\"q\\\"b\\\\n\\nt\\tc"
        "\\u0001d\\u007f\\u00e9/\"}");
    expect_ok();
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"),
                           "Description"), want);
    assert_string_equal(js(json_object_get(R.audit, "requestParameters"),
                           "description"), want);

    /* member names come from the client too */
    api(&alice, "ListKeys", "{\"M\\r\\\"ker\":1}");
    expect_ok();
    assert_non_null(R.audit);
    assert_non_null(json_object_get(json_object_get(R.audit,
                    "requestParameters"), "m\r\"ker"));
}


static void
bad_requests_are_serialization_errors(void **state)
{
    api(&alice, "DescribeKey", "{\"KeyId\":");
    expect_err("SerializationException", NULL);

    api(&alice, "DescribeKey", "[1]");
    expect_err("SerializationException",
               "Start of list found where not expected");

    api(&alice, "DescribeKey", "{\"KeyId\":12}");
    expect_err("SerializationException",
               "NUMBER_VALUE can not be converted to a String");

    api(&alice, "DescribeKey", "{\"KeyId\":{\"a\":1}}");
    expect_err("SerializationException",
               "Start of structure or map found where not expected.");

    api(&alice, "ListKeys", "{\"Limit\":\"10\"}");
    expect_err("SerializationException",
               "STRING_VALUE can not be converted to an Integer");

    api(&alice, "DescribeKey", "{\"KeyId\":\"a\",\"KeyId\":\"b\"}");
    expect_err("SerializationException", NULL);

    api(&alice, "DescribeKey", "{}");
    expect_err("ValidationException", "1 validation error detected: Value "
               "null at 'keyId' failed to satisfy constraint: Member must not "
               "be null");

    api(&alice, "Encrypt", "{\"KeyId\":\"alias/x\",\"Plaintext\":\"%%%%\"}");
    assert_string_equal(js(R.body, "__type"), "SerializationException");
}


static void
unknown_and_unsupported_operations(void **state)
{
    api(&alice, "MakeCoffee", "{}");
    expect_err("UnknownOperationException", NULL);

    api(&alice, "Sign", "{}");
    expect_err("UnsupportedOperationException",
               "Sign is not supported by this key service.");
}


static void
describe_key_by_every_reference(void **state)
{
    char  id[64], arn[128];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(arn, sizeof(arn), "%s", key_arn(ACCT_A, id));

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/app\","
        "\"TargetKeyId\":\"%s\"}", id);
    expect_ok();
    assert_string_equal(R.raw, "");

    const char  *refs[] = { id, arn, "alias/app",
                            "arn:aws:kms:us-east-1:" ACCT_A ":alias/app" };
    size_t       i;

    for (i = 0; i < 4; i++) {
        api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", refs[i]);
        expect_ok();
        assert_string_equal(js(json_object_get(R.body, "KeyMetadata"),
                               "KeyId"), id);
    }

    /* upper-case key ids name the same key */
    for (i = 0; id[i]; i++) {
        id[i] = (char) toupper((unsigned char) id[i]);
    }
    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
}


static void
describe_key_not_found_messages(void **state)
{
    api(&alice, "DescribeKey",
        "{\"KeyId\":\"0b4cbc2b-0f6e-4b0e-9f0c-1a2b3c4d5e6f\"}");
    expect_err("NotFoundException", "Key 'arn:aws:kms:us-east-1:" ACCT_A
               ":key/0b4cbc2b-0f6e-4b0e-9f0c-1a2b3c4d5e6f' does not exist");

    api(&alice, "DescribeKey", "{\"KeyId\":\"nope\"}");
    expect_err("NotFoundException", "Invalid keyId nope");

    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/none\"}");
    expect_err("NotFoundException", "Alias arn:aws:kms:us-east-1:" ACCT_A
               ":alias/none is not found.");

    api(&alice, "DescribeKey", "{\"KeyId\":\"arn:aws:kms:eu-west-1:" ACCT_A
        ":key/0b4cbc2b-0f6e-4b0e-9f0c-1a2b3c4d5e6f\"}");
    expect_err("NotFoundException", "Invalid arn eu-west-1");
}


/* ---- crypto ------------------------------------------------------------- */

static char *
b64(const void *p, size_t n)
{
    static char  out[8192];

    out[kms_base64_encode(p, n, out)] = '\0';
    return out;
}


static void
encrypt_decrypt_round_trip_with_context(void **state)
{
    char   id[64], blob[8192];
    char   arn[128];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(arn, sizeof(arn), "%s", key_arn(ACCT_A, id));

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\","
        "\"EncryptionContext\":{\"dept\":\"10\",\"app\":\"pay\"}}", id,
        b64("secret", 6));
    expect_ok();
    assert_string_equal(js(R.body, "KeyId"), arn);
    assert_string_equal(js(R.body, "EncryptionAlgorithm"), "SYMMETRIC_DEFAULT");
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));
    assert_null(R.event);

    /* the audit line never holds the plaintext */
    assert_string_equal(js(R.audit, "eventName"), "Encrypt");
    {
        char  *dump = json_dumps(R.audit, 0);

        assert_null(strstr(dump, b64("secret", 6)));
        free(dump);
    }

    /* the context's order does not matter */
    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":"
        "{\"app\":\"pay\",\"dept\":\"10\"}}", blob);
    expect_ok();
    assert_string_equal(js(R.body, "Plaintext"), b64("secret", 6));
    assert_string_equal(js(R.body, "KeyId"), arn);
    assert_int_equal(strlen(js(R.body, "KeyMaterialId")), 64);

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":"
        "{\"app\":\"pay\"}}", blob);
    expect_err("InvalidCiphertextException", NULL);

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\"}", blob);
    expect_err("InvalidCiphertextException", NULL);

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"%s\","
        "\"EncryptionContext\":{\"app\":\"pay\",\"dept\":\"10\"}}", blob, arn);
    expect_ok();

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"%s\","
        "\"EncryptionContext\":{\"app\":\"pay\",\"dept\":\"10\"}}", blob,
        id);
    expect_err("IncorrectKeyException", "The key ID in the request does not "
               "identify a CMK that can perform this operation.");
}


static void
encrypt_plaintext_limits(void **state)
{
    char           id[64];
    unsigned char  big[4097];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    memset(big, 'x', sizeof(big));

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}", id,
        b64(big, 4097));
    expect_err("ValidationException", "1 validation error detected: Value at "
               "'plaintext' failed to satisfy constraint: Member must have "
               "length less than or equal to 4096");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}", id,
        b64(big, 4096));
    expect_ok();

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"\"}", id);
    expect_err("ValidationException", "1 validation error detected: Value at "
               "'plaintext' failed to satisfy constraint: Member must have "
               "length greater than or equal to 1");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\","
        "\"EncryptionContext\":{\"a\":1}}", id);
    assert_string_equal(js(R.body, "__type"), "SerializationException");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\","
        "\"EncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}", id);
    assert_string_equal(js(R.body, "__type"), "InvalidKeyUsageException");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\","
        "\"GrantTokens\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
        "\"9\",\"10\",\"11\"]}", id);
    expect_err("ValidationException", "1 validation error detected: Value at "
               "'grantTokens' failed to satisfy constraint: Member must have "
               "length less than or equal to 10");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\","
        "\"DryRun\":true}", id);
    expect_err("DryRunOperationException", "The request would have "
               "succeeded, but the DryRun option is set.");
}


static size_t
b64len(const char *s)
{
    unsigned char  buf[4096];

    return (size_t) kms_base64_decode(s, strlen(s), buf, sizeof(buf));
}


static void
generate_data_key_specs(void **state)
{
    char  id[64], blob[4096], pt[4096];

    snprintf(id, sizeof(id), "%s", new_key(NULL));

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_256\"}", id);
    expect_ok();
    assert_int_equal(b64len(js(R.body, "Plaintext")), 32);
    assert_string_equal(js(R.body, "KeyId"), key_arn(ACCT_A, id));
    assert_int_equal(strlen(js(R.body, "KeyMaterialId")), 64);
    assert_int_equal(b64len(js(R.body, "CiphertextBlob")), 32 + 69);
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));
    snprintf(pt, sizeof(pt), "%s", js(R.body, "Plaintext"));
    assert_string_equal(js(json_object_get(R.audit, "requestParameters"),
                           "keySpec"), "AES_256");
    assert_true(json_is_null(json_object_get(R.audit, "responseElements")));
    assert_true(json_is_true(json_object_get(R.audit, "readOnly")));

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\"}", blob);
    expect_ok();
    assert_string_equal(js(R.body, "Plaintext"), pt);

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_128\"}", id);
    assert_int_equal(b64len(js(R.body, "Plaintext")), 16);

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"NumberOfBytes\":1024}",
        id);
    assert_int_equal(b64len(js(R.body, "Plaintext")), 1024);

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"NumberOfBytes\":1025}",
        id);
    expect_err("ValidationException", "1 validation error detected: Value "
               "'1025' at 'numberOfBytes' failed to satisfy constraint: "
               "Member must have value less than or equal to 1024");

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\"}", id);
    expect_err("ValidationException",
               "Please specify either number of bytes or key spec.");

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"NumberOfBytes\":32,"
        "\"KeySpec\":\"AES_256\"}", id);
    expect_err("ValidationException",
               "Please specify either number of bytes or key spec.");

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":\"AES\"}",
        id);
    expect_err("ValidationException", "1 validation error detected: Value "
               "'AES' at 'keySpec' failed to satisfy constraint: Member must "
               "satisfy enum value set: [AES_256, AES_128]");

    api(&alice, "GenerateDataKeyWithoutPlaintext", "{\"KeyId\":\"%s\","
        "\"KeySpec\":\"AES_256\"}", id);
    expect_ok();
    assert_null(json_object_get(R.body, "Plaintext"));
    assert_non_null(js(R.body, "CiphertextBlob"));
}


static void
generate_random_bounds(void **state)
{
    api(&alice, "GenerateRandom", "{\"NumberOfBytes\":64}");
    expect_ok();
    assert_int_equal(b64len(js(R.body, "Plaintext")), 64);

    api(&alice, "GenerateRandom", "{\"NumberOfBytes\":0}");
    expect_err("ValidationException", "1 validation error detected: Value "
               "'0' at 'numberOfBytes' failed to satisfy constraint: Member "
               "must have value greater than or equal to 1");

    api(&alice, "GenerateRandom", "{}");
    assert_string_equal(js(R.body, "__type"), "ValidationException");
}


static void
reencrypt_moves_to_another_key(void **state)
{
    char  a[64], b[64], blob[4096];

    snprintf(a, sizeof(a), "%s", new_key(NULL));
    snprintf(b, sizeof(b), "%s", new_key(NULL));

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"aGVsbG8=\","
        "\"EncryptionContext\":{\"k\":\"1\"}}", a);
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));

    api(&alice, "ReEncrypt", "{\"CiphertextBlob\":\"%s\","
        "\"SourceEncryptionContext\":{\"k\":\"1\"},\"DestinationKeyId\":\"%s\","
        "\"DestinationEncryptionContext\":{\"k\":\"2\"}}", blob, b);
    expect_ok();
    assert_string_equal(js(R.body, "SourceKeyId"), key_arn(ACCT_A, a));
    assert_string_equal(js(R.body, "KeyId"), key_arn(ACCT_A, b));
    assert_string_equal(js(R.body, "SourceEncryptionAlgorithm"),
                        "SYMMETRIC_DEFAULT");
    assert_non_null(js(R.body, "SourceKeyMaterialId"));
    assert_non_null(js(R.body, "DestinationKeyMaterialId"));
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":"
        "{\"k\":\"2\"}}", blob);
    expect_ok();
    assert_string_equal(js(R.body, "Plaintext"), "aGVsbG8=");
    assert_string_equal(js(R.body, "KeyId"), key_arn(ACCT_A, b));

    api(&alice, "ReEncrypt", "{\"CiphertextBlob\":\"%s\","
        "\"DestinationKeyId\":\"%s\"}", blob, a);
    expect_err("InvalidCiphertextException", NULL);
}


/* ---- key state ---------------------------------------------------------- */

static void
disable_and_enable_key_messages(void **state)
{
    char  id[64], msg[256];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    api(&alice, "DisableKey", "{\"KeyId\":\"%s\"}", id);
    expect_ok();

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_256\"}", id);
    snprintf(msg, sizeof(msg), "%s is disabled.", key_arn(ACCT_A, id));
    expect_err("DisabledException", msg);

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"), "KeyState"),
                        "Disabled");
    assert_true(json_is_false(json_object_get(json_object_get(R.body,
                                              "KeyMetadata"), "Enabled")));

    api(&alice, "EnableKey", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_256\"}", id);
    expect_ok();

    api(&alice, "UpdateKeyDescription", "{\"KeyId\":\"%s\","
        "\"Description\":\"new\"}", id);
    expect_ok();
    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"),
                           "Description"), "new");
}


/* ---- aliases ------------------------------------------------------------ */

static void
alias_lifecycle(void **state)
{
    char    k1[64], k2[64];
    json_t  *a;

    snprintf(k1, sizeof(k1), "%s", new_key(NULL));
    snprintf(k2, sizeof(k2), "%s", new_key(NULL));

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/pay\","
        "\"TargetKeyId\":\"%s\"}", k1);
    expect_ok();

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/pay\","
        "\"TargetKeyId\":\"%s\"}", k2);
    expect_err("AlreadyExistsException", "An alias with the name "
               "arn:aws:kms:us-east-1:" ACCT_A ":alias/pay already exists");

    api(&alice, "CreateAlias", "{\"AliasName\":\"pay\","
        "\"TargetKeyId\":\"%s\"}", k2);
    expect_err("ValidationException", "Alias must start with the "
               "prefix \"alias/\". Please see https://docs.aws.amazon.com/"
               "kms/latest/developerguide/kms-alias.html");

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/aws/mine\","
        "\"TargetKeyId\":\"%s\"}", k2);
    assert_string_equal(js(R.body, "__type"), "AccessDeniedException");

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/a b\","
        "\"TargetKeyId\":\"%s\"}", k2);
    expect_err("ValidationException", "1 validation error detected: Value "
               "'alias/a b' at 'aliasName' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: "
               "^[a-zA-Z0-9:/_-]+$");

    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/x\","
        "\"TargetKeyId\":\"alias/pay\"}");
    expect_err("ValidationException", "Aliases must refer to keys. Not "
               "aliases");

    alice.now_ms = T0 + 5000;
    api(&alice, "UpdateAlias", "{\"AliasName\":\"alias/pay\","
        "\"TargetKeyId\":\"%s\"}", k2);
    expect_ok();

    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/pay\"}");
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"), "KeyId"),
                        k2);

    api(&alice, "ListAliases", "{}");
    expect_ok();
    a = json_array_get(json_object_get(R.body, "Aliases"), 0);
    assert_int_equal(json_array_size(json_object_get(R.body, "Aliases")), 1);
    assert_string_equal(js(a, "AliasName"), "alias/pay");
    assert_string_equal(js(a, "AliasArn"),
                        "arn:aws:kms:us-east-1:" ACCT_A ":alias/pay");
    assert_string_equal(js(a, "TargetKeyId"), k2);
    assert_true(json_number_value(json_object_get(a, "CreationDate"))
                == T0 / 1000.0);
    assert_true(json_number_value(json_object_get(a, "LastUpdatedDate"))
                == (T0 + 5000) / 1000.0);
    assert_true(json_is_false(json_object_get(R.body, "Truncated")));

    api(&alice, "ListAliases", "{\"KeyId\":\"%s\"}", k1);
    assert_int_equal(json_array_size(json_object_get(R.body, "Aliases")), 0);

    api(&alice, "UpdateAlias", "{\"AliasName\":\"alias/none\","
        "\"TargetKeyId\":\"%s\"}", k2);
    expect_err("NotFoundException", "Alias arn:aws:kms:us-east-1:" ACCT_A
               ":alias/none is not found.");

    api(&alice, "DeleteAlias", "{\"AliasName\":\"alias/pay\"}");
    expect_ok();
    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/pay\"}");
    assert_string_equal(js(R.body, "__type"), "NotFoundException");
    assert_null(fk_hfind(fk_find(&F->fk, "kms:alias:{" ACCT_A "}",
                                 strlen("kms:alias:{" ACCT_A "}")),
                         "alias/pay", 9));
}


static void
alias_made_by_another_worker_is_found(void **state)
{
    char  id[64], body[256];

    snprintf(id, sizeof(id), "%s", new_key(NULL));

    F->ctx2 = fx_ctx(7);
    fx_load(F->ctx2);

    /* worker 2 creates the alias; worker 1 never heard of it */
    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/late\","
             "\"TargetKeyId\":\"%s\"}", id);
    api_on(F->ctx2, &alice, "CreateAlias", body);
    expect_ok();

    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/late\"}");
    expect_ok();
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"), "KeyId"),
                        id);

    /* and worker 1 refuses to create it again */
    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/late\","
        "\"TargetKeyId\":\"%s\"}", id);
    assert_string_equal(js(R.body, "__type"), "AlreadyExistsException");
}


/* ---- ListKeys ----------------------------------------------------------- */

static void
list_keys_pages_and_accounts(void **state)
{
    char    ids[5][64], marker[128];
    int     i, seen = 0;
    json_t *keys;

    for (i = 0; i < 5; i++) {
        alice.now_ms = T0 + i;
        snprintf(ids[i], sizeof(ids[i]), "%s", new_key(NULL));
    }

    api(&alice, "ListKeys", "{\"Limit\":2}");
    expect_ok();
    keys = json_object_get(R.body, "Keys");
    assert_int_equal(json_array_size(keys), 2);
    assert_true(json_is_true(json_object_get(R.body, "Truncated")));
    assert_string_equal(js(json_array_get(keys, 0), "KeyId"), ids[0]);
    assert_string_equal(js(json_array_get(keys, 0), "KeyArn"),
                        key_arn(ACCT_A, ids[0]));

    for (seen = 2; json_is_true(json_object_get(R.body, "Truncated")); ) {
        snprintf(marker, sizeof(marker), "%s", js(R.body, "NextMarker"));
        api(&alice, "ListKeys", "{\"Limit\":2,\"Marker\":\"%s\"}", marker);
        expect_ok();
        keys = json_object_get(R.body, "Keys");
        assert_string_equal(js(json_array_get(keys, 0), "KeyId"), ids[seen]);
        seen += (int) json_array_size(keys);
    }
    assert_int_equal(seen, 5);
    assert_null(json_object_get(R.body, "NextMarker"));

    api(&alice, "ListKeys", "{\"Limit\":0}");
    expect_err("ValidationException", "1 validation error detected: Value '0' "
               "at 'limit' failed to satisfy constraint: Member must have "
               "value greater than or equal to 1");

    api(&alice, "ListKeys", "{\"Marker\":\"garbage\"}");
    assert_string_equal(js(R.body, "__type"), "InvalidMarkerException");

    api(&bob, "ListKeys", "{}");
    expect_ok();
    assert_int_equal(json_array_size(json_object_get(R.body, "Keys")), 0);
}


/* ---- rotation ----------------------------------------------------------- */

static void
rotation_status_and_period(void **state)
{
    char  id[64];

    snprintf(id, sizeof(id), "%s", new_key(NULL));

    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_true(json_is_false(json_object_get(R.body, "KeyRotationEnabled")));
    assert_null(json_object_get(R.body, "RotationPeriodInDays"));

    api(&alice, "EnableKeyRotation", "{\"KeyId\":\"%s\","
        "\"RotationPeriodInDays\":89}", id);
    expect_err("ValidationException", "1 validation error detected: Value "
               "'89' at 'rotationPeriodInDays' failed to satisfy constraint: "
               "Member must have value greater than or equal to 90");

    api(&alice, "EnableKeyRotation", "{\"KeyId\":\"%s\"}", id);
    expect_ok();

    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"%s\"}", id);
    assert_true(json_is_true(json_object_get(R.body, "KeyRotationEnabled")));
    assert_int_equal(json_integer_value(json_object_get(R.body,
                                        "RotationPeriodInDays")), 365);
    assert_true(json_number_value(json_object_get(R.body, "NextRotationDate"))
                == (T0 + 365 * DAY) / 1000.0);
    assert_string_equal(js(R.body, "KeyId"), key_arn(ACCT_A, id));

    api(&alice, "DisableKeyRotation", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"%s\"}", id);
    assert_true(json_is_false(json_object_get(R.body, "KeyRotationEnabled")));
}


static void
on_demand_rotation_keeps_old_versions(void **state)
{
    char    id[64], blob[4096], mat1[80];
    int     i;
    json_t  *rot;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(mat1, sizeof(mat1), "%s",
             js(json_object_get(R.body, "KeyMetadata"),
                "CurrentKeyMaterialId"));

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"b2xk\"}", id);
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));

    alice.now_ms = T0 + DAY;
    api(&alice, "RotateKeyOnDemand", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_string_equal(js(R.body, "KeyId"), id);

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_not_equal(js(json_object_get(R.body, "KeyMetadata"),
                               "CurrentKeyMaterialId"), mat1);

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\"}", blob);
    expect_ok();
    assert_string_equal(js(R.body, "Plaintext"), "b2xk");
    assert_string_equal(js(R.body, "KeyMaterialId"), mat1);

    api(&alice, "ListKeyRotations", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    rot = json_object_get(R.body, "Rotations");
    assert_int_equal(json_array_size(rot), 1);
    assert_string_equal(js(json_array_get(rot, 0), "RotationType"),
                        "ON_DEMAND");
    assert_string_equal(js(json_array_get(rot, 0), "KeyMaterialState"),
                        "CURRENT");
    assert_true(json_number_value(json_object_get(json_array_get(rot, 0),
                                                  "RotationDate"))
                == (T0 + DAY) / 1000.0);

    api(&alice, "ListKeyRotations", "{\"KeyId\":\"%s\","
        "\"IncludeKeyMaterial\":\"ALL_KEY_MATERIAL\"}", id);
    rot = json_object_get(R.body, "Rotations");
    assert_int_equal(json_array_size(rot), 2);
    assert_string_equal(js(json_array_get(rot, 0), "KeyMaterialId"), mat1);
    assert_string_equal(js(json_array_get(rot, 0), "KeyMaterialState"),
                        "NON_CURRENT");

    for (i = 2; i <= 25; i++) {
        api(&alice, "RotateKeyOnDemand", "{\"KeyId\":\"%s\"}", id);
        expect_ok();
    }

    api(&alice, "RotateKeyOnDemand", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(R.body, "__type"), "LimitExceededException");

    api(&alice, "ListKeyRotations", "{\"KeyId\":\"%s\",\"Limit\":10}", id);
    assert_int_equal(json_array_size(json_object_get(R.body, "Rotations")),
                     10);
    assert_true(json_is_true(json_object_get(R.body, "Truncated")));

    /* the first version still opens the first blob */
    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\"}", blob);
    expect_ok();
}


static void
maintain_rotates_due_keys(void **state)
{
    char         id[64], blob[4096];
    kms_call_t  *c;
    size_t       len;
    const char  *audit;
    json_t      *rot;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"b2xk\"}", id);
    snprintf(blob, sizeof(blob), "%s", js(R.body, "CiphertextBlob"));
    api(&alice, "EnableKeyRotation", "{\"KeyId\":\"%s\","
        "\"RotationPeriodInDays\":90}", id);
    expect_ok();

    /* not due yet */
    c = kms_call_maintain(F->ctx, T0 + 89 * DAY);
    fk_drive(&F->fk, c);
    assert_null(kms_call_event(c));
    kms_call_free(c);
    fk_del(&F->fk, "kms:lock:maintain", 17);

    c = kms_call_maintain(F->ctx, T0 + 91 * DAY);
    fk_drive(&F->fk, c);
    assert_non_null(kms_call_event(c));
    audit = kms_call_audit(c, &len);
    assert_non_null(strstr(audit, "\"eventName\":\"RotateKey\""));
    kms_call_free(c);

    api(&alice, "ListKeyRotations", "{\"KeyId\":\"%s\"}", id);
    rot = json_object_get(R.body, "Rotations");
    assert_int_equal(json_array_size(rot), 1);
    assert_string_equal(js(json_array_get(rot, 0), "RotationType"),
                        "AUTOMATIC");

    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"%s\"}", id);
    assert_true(json_number_value(json_object_get(R.body, "NextRotationDate"))
                == (T0 + 180 * DAY) / 1000.0);

    api(&alice, "Decrypt", "{\"CiphertextBlob\":\"%s\"}", blob);
    expect_ok();

    /* a finished run released the lock */
    assert_null(fk_find(&F->fk, "kms:lock:maintain", 17));

    /* a run under way elsewhere (its lock held) keeps this one out */
    {
        fk_key_t  *lock = fk_get(&F->fk, "kms:lock:maintain", 17, 1);

        lock->str = strdup("another-worker");
        lock->slen = 14;
    }
    c = kms_call_maintain(F->ctx, T0 + 400 * DAY);
    fk_drive(&F->fk, c);
    assert_null(kms_call_event(c));
    kms_call_free(c);

    /* and a run does not release a lock that is not its own */
    assert_non_null(fk_find(&F->fk, "kms:lock:maintain", 17));
    fk_del(&F->fk, "kms:lock:maintain", 17);

    c = kms_call_maintain(F->ctx, T0 + 400 * DAY);
    fk_drive(&F->fk, c);
    assert_non_null(kms_call_event(c));
    kms_call_free(c);
}


/* ---- deletion ----------------------------------------------------------- */

static void
schedule_cancel_and_erase(void **state)
{
    char         id[64], msg[256];
    char         name[96];
    kms_call_t  *c;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(name, sizeof(name), "kms:key:{%s}", id);
    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/gone\","
        "\"TargetKeyId\":\"%s\"}", id);

    api(&alice, "ScheduleKeyDeletion", "{\"KeyId\":\"%s\","
        "\"PendingWindowInDays\":6}", id);
    expect_err("ValidationException", "1 validation error detected: Value "
               "'6' at 'pendingWindowInDays' failed to satisfy constraint: "
               "Member must have value greater than or equal to 7");

    api(&alice, "ScheduleKeyDeletion", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_string_equal(js(R.body, "KeyId"), key_arn(ACCT_A, id));
    assert_string_equal(js(R.body, "KeyState"), "PendingDeletion");
    assert_int_equal(json_integer_value(json_object_get(R.body,
                                        "PendingWindowInDays")), 30);
    assert_true(json_number_value(json_object_get(R.body, "DeletionDate"))
                == (T0 + 30 * DAY) / 1000.0);

    snprintf(msg, sizeof(msg), "%s is pending deletion.",
             key_arn(ACCT_A, id));
    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\"}", id);
    expect_err("KMSInvalidStateException", msg);
    api(&alice, "ScheduleKeyDeletion", "{\"KeyId\":\"%s\"}", id);
    expect_err("KMSInvalidStateException", msg);

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(
        R.body, "KeyMetadata"), "PendingDeletionWindowInDays")), 30);

    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_true(json_is_false(json_object_get(R.body, "KeyRotationEnabled")));

    api(&alice, "CancelKeyDeletion", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"), "KeyState"),
                        "Disabled");
    api(&alice, "CancelKeyDeletion", "{\"KeyId\":\"%s\"}", id);
    snprintf(msg, sizeof(msg), "%s is not pending deletion.",
             key_arn(ACCT_A, id));
    expect_err("KMSInvalidStateException", msg);

    api(&alice, "ScheduleKeyDeletion", "{\"KeyId\":\"%s\","
        "\"PendingWindowInDays\":7}", id);
    expect_ok();

    c = kms_call_maintain(F->ctx, T0 + 6 * DAY);
    fk_drive(&F->fk, c);
    kms_call_free(c);
    fk_del(&F->fk, "kms:lock:maintain", 17);
    assert_non_null(fk_find(&F->fk, name, strlen(name)));

    c = kms_call_maintain(F->ctx, T0 + 7 * DAY);
    fk_drive(&F->fk, c);
    assert_non_null(strstr(kms_call_audit(c, NULL),
                           "\"eventName\":\"DeleteKey\""));
    kms_call_free(c);

    assert_null(fk_find(&F->fk, name, strlen(name)));
    assert_null(fk_find(&F->fk, "kms:alias:{" ACCT_A "}",
                        strlen("kms:alias:{" ACCT_A "}")));

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(R.body, "__type"), "NotFoundException");
    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/gone\"}");
    assert_string_equal(js(R.body, "__type"), "NotFoundException");
}


/* ---- policies, tags ----------------------------------------------------- */

static void
key_policy_get_put_and_lockout(void **state)
{
    char  id[64], pol[1024];

    snprintf(id, sizeof(id), "%s", new_key(NULL));

    api(&alice, "GetKeyPolicy", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_string_equal(js(R.body, "PolicyName"), "default");
    assert_non_null(strstr(js(R.body, "Policy"),
                           "arn:aws:iam::" ACCT_A ":root"));

    api(&alice, "GetKeyPolicy", "{\"KeyId\":\"%s\",\"PolicyName\":\"x\"}",
        id);
    expect_err("NotFoundException", "No such policy exists");

    api(&alice, "ListKeyPolicies", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    assert_string_equal(R.raw, "{\"PolicyNames\":[\"default\"],"
                        "\"Truncated\":false}");

    /* a policy that shuts the caller out is refused */
    snprintf(pol, sizeof(pol), "{\\\"Version\\\":\\\"2012-10-17\\\","
             "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\","
             "\\\"Principal\\\":{\\\"AWS\\\":\\\"arn:aws:iam::%s:root\\\"},"
             "\\\"Action\\\":\\\"kms:*\\\",\\\"Resource\\\":\\\"*\\\"}]}",
             ACCT_B);
    api(&alice, "PutKeyPolicy", "{\"KeyId\":\"%s\",\"Policy\":\"%s\"}", id,
        pol);
    expect_err("MalformedPolicyDocumentException", "The new key policy will "
               "not allow you to update the key policy in the future.");

    api(&alice, "PutKeyPolicy", "{\"KeyId\":\"%s\",\"Policy\":\"{oops\"}", id);
    assert_string_equal(js(R.body, "__type"),
                        "MalformedPolicyDocumentException");

    api(&alice, "PutKeyPolicy", "{\"KeyId\":\"%s\",\"Policy\":\"%s\","
        "\"BypassPolicyLockoutSafetyCheck\":true}", id, pol);
    expect_ok();

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", id);
    assert_string_equal(js(R.body, "__type"), "AccessDeniedException");
    assert_non_null(strstr(js(R.body, "message"), "User: " ARN_A " is not "
                           "authorized to perform: kms:DescribeKey on "
                           "resource: arn:aws:kms:us-east-1:" ACCT_A
                           ":key/"));
    assert_non_null(strstr(js(R.body, "message"), "because no "
                           "resource-based policy allows the kms:DescribeKey "
                           "action"));
    assert_string_equal(js(R.audit, "errorCode"), "AccessDeniedException");
}


static void
tags_add_list_remove(void **state)
{
    char     id[64], tags[8192], k129[130];
    size_t   n, i;
    json_t  *t;

    snprintf(id, sizeof(id), "%s", new_key(NULL));

    api(&alice, "TagResource", "{\"KeyId\":\"%s\",\"Tags\":[{\"TagKey\":"
        "\"a\",\"TagValue\":\"1\"},{\"TagKey\":\"b\",\"TagValue\":\"\"}]}", id);
    expect_ok();
    api(&alice, "TagResource", "{\"KeyId\":\"%s\",\"Tags\":[{\"TagKey\":"
        "\"a\",\"TagValue\":\"2\"}]}", id);
    expect_ok();

    api(&alice, "ListResourceTags", "{\"KeyId\":\"%s\"}", id);
    expect_ok();
    t = json_object_get(R.body, "Tags");
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(js(json_array_get(t, 0), "TagKey"), "a");
    assert_string_equal(js(json_array_get(t, 0), "TagValue"), "2");
    assert_string_equal(js(json_array_get(t, 1), "TagValue"), "");

    api(&alice, "UntagResource", "{\"KeyId\":\"%s\",\"TagKeys\":[\"a\"]}", id);
    expect_ok();
    api(&alice, "ListResourceTags", "{\"KeyId\":\"%s\"}", id);
    assert_int_equal(json_array_size(json_object_get(R.body, "Tags")), 1);

    api(&alice, "TagResource", "{\"KeyId\":\"%s\",\"Tags\":[{\"TagKey\":"
        "\"aws:x\",\"TagValue\":\"1\"}]}", id);
    assert_string_equal(js(R.body, "__type"), "TagException");

    memset(k129, 'k', 129);
    k129[129] = '\0';
    api(&alice, "TagResource", "{\"KeyId\":\"%s\",\"Tags\":[{\"TagKey\":"
        "\"%s\",\"TagValue\":\"1\"}]}", id, k129);
    assert_string_equal(js(R.body, "__type"), "ValidationException");
    assert_non_null(strstr(js(R.body, "message"), "' at 'tags.1.member."
                           "tagKey' failed to satisfy constraint: Member "
                           "must have length less than or equal to 128"));

    n = (size_t) snprintf(tags, sizeof(tags), "[");
    for (i = 0; i < 50; i++) {
        n += (size_t) snprintf(tags + n, sizeof(tags) - n,
                               "%s{\"TagKey\":\"t%zu\",\"TagValue\":\"v\"}",
                               i ? "," : "", i);
    }
    snprintf(tags + n, sizeof(tags) - n, "]");
    api(&alice, "TagResource", "{\"KeyId\":\"%s\",\"Tags\":%s}", id, tags);
    assert_string_equal(js(R.body, "__type"), "TagException");

    api(&alice, "ListResourceTags", "{\"KeyId\":\"%s\",\"Limit\":51}", id);
    assert_string_equal(js(R.body, "__type"), "ValidationException");
}


/* ---- accounts ----------------------------------------------------------- */

static void
cross_account_use_by_key_arn_only(void **state)
{
    char  id[64], arn[128], pol[2048];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(arn, sizeof(arn), "%s", key_arn(ACCT_A, id));
    api(&alice, "CreateAlias", "{\"AliasName\":\"alias/shared\","
        "\"TargetKeyId\":\"%s\"}", id);

    api(&bob, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\"}", arn);
    assert_string_equal(js(R.body, "__type"), "AccessDeniedException");

    snprintf(pol, sizeof(pol), "{\\\"Version\\\":\\\"2012-10-17\\\","
             "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\","
             "\\\"Principal\\\":{\\\"AWS\\\":\\\"arn:aws:iam::%s:root\\\"},"
             "\\\"Action\\\":\\\"kms:*\\\",\\\"Resource\\\":\\\"*\\\"},"
             "{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":"
             "\\\"arn:aws:iam::%s:root\\\"},\\\"Action\\\":["
             "\\\"kms:Encrypt\\\","
             "\\\"kms:Decrypt\\\"],\\\"Resource\\\":\\\"*\\\"}]}", ACCT_A,
             ACCT_B);
    api(&alice, "PutKeyPolicy", "{\"KeyId\":\"%s\",\"Policy\":\"%s\"}", id,
        pol);
    expect_ok();

    api(&bob, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\"}", arn);
    expect_ok();
    assert_string_equal(js(json_array_get(json_object_get(R.audit,
                           "resources"), 0), "accountId"), ACCT_A);

    api(&bob, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\"}", id);
    assert_string_equal(js(R.body, "__type"), "NotFoundException");

    api(&bob, "Encrypt", "{\"KeyId\":\"arn:aws:kms:us-east-1:" ACCT_A
        ":alias/shared\",\"Plaintext\":\"YQ==\"}");
    assert_string_equal(js(R.body, "__type"), "NotFoundException");

    /* not for managing it */
    api(&bob, "DisableKey", "{\"KeyId\":\"%s\"}", arn);
    assert_string_equal(js(R.body, "__type"), "NotFoundException");
}


/* ---- the AWS managed key ------------------------------------------------ */

static void
aws_managed_s3_key_created_once(void **state)
{
    kms_call_t  *c;
    char         arn[128];
    size_t       len, i, keys = 0;

    c = kms_call_generate_data_key(F->ctx, &s3gw, NULL,
                                   "{\"aws:s3:arn\":\"arn:aws:s3:::b/k\"}", 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    assert_non_null(kms_call_plaintext(c, &len));
    assert_int_equal(len, 32);
    assert_non_null(kms_call_blob(c, &len));
    assert_int_equal(len, 32 + 69);
    snprintf(arn, sizeof(arn), "%s", kms_call_key_arn(c));
    assert_non_null(strstr(kms_call_audit(c, NULL),
                           "\"invokedBy\":\"s3.amazonaws.com\""));
    kms_call_free(c);

    c = kms_call_generate_data_key(F->ctx, &s3gw, "alias/aws/s3", NULL, 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    assert_string_equal(kms_call_key_arn(c), arn);
    kms_call_free(c);

    for (i = 0; i < F->fk.n; i++) {
        keys += strncmp(F->fk.keys[i].name, "kms:key:", 8) == 0;
    }
    assert_int_equal(keys, 1);

    api(&alice, "DescribeKey", "{\"KeyId\":\"alias/aws/s3\"}");
    expect_ok();
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"),
                           "KeyManager"), "AWS");
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"), "Arn"),
                        arn);

    api(&alice, "GetKeyRotationStatus", "{\"KeyId\":\"alias/aws/s3\"}");
    expect_ok();
    assert_true(json_is_true(json_object_get(R.body, "KeyRotationEnabled")));

    api(&alice, "DisableKeyRotation", "{\"KeyId\":\"alias/aws/s3\"}");
    assert_string_equal(js(R.body, "__type"),
                        "UnsupportedOperationException");
    api(&alice, "EnableKeyRotation", "{\"KeyId\":\"alias/aws/s3\"}");
    assert_string_equal(js(R.body, "__type"),
                        "UnsupportedOperationException");

    /* used directly, not through S3: the managed policy says no */
    api(&alice, "Encrypt", "{\"KeyId\":\"alias/aws/s3\",\"Plaintext\":"
        "\"YQ==\"}");
    assert_string_equal(js(R.body, "__type"), "AccessDeniedException");

    api(&alice, "ScheduleKeyDeletion", "{\"KeyId\":\"alias/aws/s3\"}");
    assert_true(strcmp(js(R.body, "__type"), "AccessDeniedException") == 0
                || strcmp(js(R.body, "__type"),
                          "UnsupportedOperationException") == 0);

    api(&alice, "DeleteAlias", "{\"AliasName\":\"alias/aws/s3\"}");
    assert_string_equal(js(R.body, "__type"), "AccessDeniedException");

    api(&alice, "ListAliases", "{}");
    assert_string_equal(js(json_array_get(json_object_get(R.body, "Aliases"),
                                          0), "AliasName"), "alias/aws/s3");
}


static void
aws_managed_key_race_ends_with_one_key(void **state)
{
    kms_call_t       *c1, *c2;
    const kms_cmd_t  *cmd;
    char              arn1[128];
    size_t            i, keys = 0;

    F->ctx2 = fx_ctx(7);
    fx_load(F->ctx2);

    /* worker 2 gets as far as its write */
    c2 = kms_call_generate_data_key(F->ctx2, &s3gw, NULL, NULL, 32);
    for (;;) {
        assert_int_equal(kms_call_run(c2), KMS_CALL_NEED_REDIS);
        cmd = kms_call_command(c2);
        if (strstr(cmd->argv[1], "return 'ROOT'") != NULL) {
            break;
        }
        kms_call_reply(c2, fk_exec(&F->fk, cmd));
    }

    /* worker 1 creates the key meanwhile */
    c1 = kms_call_generate_data_key(F->ctx, &s3gw, NULL, NULL, 32);
    fk_drive(&F->fk, c1);
    assert_int_equal(kms_call_status(c1), 200);
    snprintf(arn1, sizeof(arn1), "%s", kms_call_key_arn(c1));
    kms_call_free(c1);

    /* worker 2's write fails, it reads the winner's key and uses it */
    kms_call_reply(c2, fk_exec(&F->fk, cmd));
    fk_drive(&F->fk, c2);
    assert_int_equal(kms_call_status(c2), 200);
    assert_string_equal(kms_call_key_arn(c2), arn1);
    kms_call_free(c2);

    for (i = 0; i < F->fk.n; i++) {
        keys += strncmp(F->fk.keys[i].name, "kms:key:", 8) == 0;
    }
    assert_int_equal(keys, 1);
}


/* ---- consistency -------------------------------------------------------- */

static char  hook_key[64];

static void
hook_tag_from_worker2(void *data)
{
    fx_t        *f = data;
    char         body[256];
    kms_call_t  *c;

    f->fk.before_write = NULL;
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Tags\":[{\"TagKey\":"
             "\"by\",\"TagValue\":\"worker2\"}]}", hook_key);
    c = kms_call_new(f->ctx2, &alice, "TagResource", body, strlen(body));
    fk_drive(&f->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);
}


static void
cas_conflict_is_retried(void **state)
{
    unsigned  writes;

    snprintf(hook_key, sizeof(hook_key), "%s", new_key(NULL));
    F->ctx2 = fx_ctx(7);
    fx_load(F->ctx2);

    writes = F->fk.writes;
    F->fk.before_write = hook_tag_from_worker2;
    F->fk.hook_data = F;

    api(&alice, "UpdateKeyDescription", "{\"KeyId\":\"%s\","
        "\"Description\":\"mine\"}", hook_key);
    expect_ok();

    /* worker 2's write, our refused one, our retry */
    assert_int_equal(F->fk.writes - writes, 3);

    api(&alice, "DescribeKey", "{\"KeyId\":\"%s\"}", hook_key);
    assert_string_equal(js(json_object_get(R.body, "KeyMetadata"),
                           "Description"), "mine");
    api(&alice, "ListResourceTags", "{\"KeyId\":\"%s\"}", hook_key);
    assert_string_equal(js(json_array_get(json_object_get(R.body, "Tags"), 0),
                           "TagValue"), "worker2");
}


static void
refresh_applies_other_workers_changes(void **state)
{
    char         id[64], event[256];
    kms_call_t  *c;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    F->ctx2 = fx_ctx(7);
    fx_load(F->ctx2);

    /* worker 2 disables the key; worker 1 hears the event */
    {
        char  body[128];

        snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
        api_on(F->ctx2, &alice, "DisableKey", body);
        expect_ok();
        snprintf(event, sizeof(event), "%s", R.event);
    }

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_256\"}", id);
    expect_ok();                            /* not heard yet */

    c = kms_call_refresh(F->ctx, event, strlen(event));
    fk_drive(&F->fk, c);
    kms_call_free(c);

    api(&alice, "GenerateDataKey", "{\"KeyId\":\"%s\",\"KeySpec\":"
        "\"AES_256\"}", id);
    assert_string_equal(js(R.body, "__type"), "DisabledException");

    /* an event for an older revision is logged and ignored */
    snprintf(event, sizeof(event), "kms1 %s 1", id);
    c = kms_call_refresh(F->ctx, event, strlen(event));
    fk_drive(&F->fk, c);
    kms_call_free(c);
    assert_non_null(strstr(F->log, "older than revision"));
}


static void
reload_drops_keys_erased_meanwhile(void **state)
{
    char         id[64], keep[64], name[96];
    kms_call_t  *c;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    snprintf(keep, sizeof(keep), "%s", new_key(NULL));

    /* erased behind this worker's back (it missed the event) */
    snprintf(name, sizeof(name), "kms:key:{%s}", id);
    fk_del(&F->fk, name, strlen(name));

    api(&alice, "ListKeys", "{}");
    assert_int_equal(json_array_size(json_object_get(R.body, "Keys")), 2);

    fx_load(F->ctx);
    assert_int_equal(kms_ctx_state(F->ctx), KMS_RING_READY);

    api(&alice, "ListKeys", "{}");
    assert_int_equal(json_array_size(json_object_get(R.body, "Keys")), 1);
    assert_string_equal(js(json_array_get(json_object_get(R.body, "Keys"), 0),
                           "KeyId"), keep);

    c = kms_call_refresh(F->ctx, "garbage", 7);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);
    assert_non_null(strstr(F->log, "unknown format"));
}


static void
tampered_record_makes_key_unavailable(void **state)
{
    char         id[64], name[96], msg[256];
    fk_key_t    *k;
    fk_field_t  *meta;
    char        *p;

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    api(&alice, "DisableKey", "{\"KeyId\":\"%s\"}", id);
    expect_ok();

    /* someone with Redis access sets the state back to Enabled */
    snprintf(name, sizeof(name), "kms:key:{%s}", id);
    k = fk_find(&F->fk, name, strlen(name));
    meta = fk_hfind(k, "meta", 4);
    p = strstr(meta->v, "\"Disabled\"");
    assert_non_null(p);
    memcpy(p, "\"Enabled\" ", 10);
    meta->v[meta->vlen] = '\0';

    F->ctx2 = fx_ctx(7);
    fx_load(F->ctx2);
    assert_non_null(strstr(F->log, "failed authentication"));

    {
        char  body[256];

        snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":"
                 "\"YQ==\"}", id);
        api_on(F->ctx2, &alice, "Encrypt", body);
        snprintf(msg, sizeof(msg), "%s is unavailable.", key_arn(ACCT_A, id));
        expect_err("KMSInvalidStateException", msg);
    }
}


static void
redis_errors_and_module_failures(void **state)
{
    kms_call_t  *c;
    const char  *body = "{\"KeyId\":\"0b4cbc2b-0f6e-4b0e-9f0c-1a2b3c4d5e6f\"}";

    F->fk.fail_next = 1;
    api(&alice, "DescribeKey", "%s", body);
    expect_err("KMSInternalException", "An internal error occurred");
    assert_non_null(strstr(F->log, "ERR injected"));

    c = kms_call_new(F->ctx, &alice, "DescribeKey", body, strlen(body));
    assert_int_equal(kms_call_run(c), KMS_CALL_NEED_REDIS);
    kms_call_fail(c, KMS_ERR_DEPENDENCY_TIMEOUT, NULL);
    assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
    res_take(c);
    kms_call_free(c);
    expect_err("DependencyTimeoutException",
               "The key store is unreachable. Try again later.");
    assert_string_equal(js(R.audit, "errorCode"), "DependencyTimeoutException");

    c = kms_call_new(F->ctx, &alice, "ListKeys", "{}", 2);
    kms_call_fail(c, KMS_ERR_THROTTLING, NULL);
    assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
    assert_int_equal(kms_call_status(c), 400);
    assert_non_null(strstr(kms_call_audit(c, NULL), "ThrottlingException"));
    kms_call_free(c);
}


static void
audit_record_shape(void **state)
{
    json_t  *u, *res;
    char     id[64];

    snprintf(id, sizeof(id), "%s", new_key(NULL));
    assert_non_null(R.audit);
    assert_string_equal(js(R.audit, "eventName"), "CreateKey");
    u = json_object_get(json_object_get(R.audit, "responseElements"),
                        "keyMetadata");
    assert_string_equal(js(u, "aWSAccountId"), ACCT_A);
    assert_string_equal(js(u, "keyId"), id);
    assert_string_equal(js(u, "creationDate"), "Nov 14, 2023, 10:13:20 PM");
    assert_string_equal(js(u, "keyState"), "Enabled");

    api(&alice, "Encrypt", "{\"KeyId\":\"%s\",\"Plaintext\":\"c2VjcmV0\","
        "\"EncryptionContext\":{\"purpose\":\"test\"}}", id);
    expect_ok();

    assert_string_equal(js(R.audit, "eventVersion"), "1.08");
    u = json_object_get(R.audit, "userIdentity");
    assert_string_equal(js(u, "type"), "IAMUser");
    assert_string_equal(js(u, "arn"), ARN_A);
    assert_string_equal(js(u, "accountId"), ACCT_A);
    assert_string_equal(js(u, "accessKeyId"), "AKIDALICE");
    assert_null(json_object_get(u, "invokedBy"));
    assert_string_equal(js(R.audit, "eventTime"), "2023-11-14T22:13:20Z");
    assert_string_equal(js(R.audit, "eventSource"), "kms.amazonaws.com");
    assert_string_equal(js(R.audit, "awsRegion"), "us-east-1");
    assert_string_equal(js(R.audit, "sourceIPAddress"), "192.0.2.1");
    assert_string_equal(js(R.audit, "userAgent"), "aws-cli/2.15");
    assert_string_equal(js(R.audit, "requestID"),
                        "11111111-2222-4333-8444-555555555555");
    assert_int_equal(strlen(js(R.audit, "eventID")), 36);
    assert_string_equal(js(R.audit, "eventType"), "AwsApiCall");
    assert_string_equal(js(R.audit, "eventCategory"), "Management");
    assert_true(json_is_true(json_object_get(R.audit, "managementEvent")));
    assert_string_equal(js(R.audit, "recipientAccountId"), ACCT_A);
    assert_true(json_is_null(json_object_get(R.audit, "responseElements")));
    assert_null(json_object_get(R.audit, "errorCode"));

    res = json_array_get(json_object_get(R.audit, "resources"), 0);
    assert_string_equal(js(res, "type"), "AWS::KMS::Key");
    assert_string_equal(js(res, "ARN"), key_arn(ACCT_A, id));

    u = json_object_get(R.audit, "requestParameters");
    assert_string_equal(js(u, "keyId"), id);
    assert_string_equal(js(json_object_get(u, "encryptionContext"), "purpose"),
                        "test");
    assert_string_equal(js(u, "encryptionAlgorithm"), "SYMMETRIC_DEFAULT");
    assert_null(json_object_get(u, "plaintext"));
    {
        char  *dump = json_dumps(R.audit, 0);

        assert_null(strstr(dump, "c2VjcmV0"));
        free(dump);
    }
}


static void
gateway_decrypt_blob(void **state)
{
    kms_call_t           *c;
    unsigned char         dk[32], blob[256];
    size_t                len, bloblen;
    const unsigned char  *p;
    const char           *ctx = "{\"aws:s3:arn\":\"arn:aws:s3:::b/k\"}";

    c = kms_call_generate_data_key(F->ctx, &s3gw, NULL, ctx, 32);
    fk_drive(&F->fk, c);
    p = kms_call_plaintext(c, &len);
    memcpy(dk, p, 32);
    p = kms_call_blob(c, &bloblen);
    memcpy(blob, p, bloblen);
    kms_call_free(c);

    c = kms_call_decrypt_blob(F->ctx, &s3gw, blob, bloblen, ctx);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    p = kms_call_plaintext(c, &len);
    assert_int_equal(len, 32);
    assert_memory_equal(p, dk, 32);
    assert_null(strstr(kms_call_body(c, NULL), "Plaintext"));
    kms_call_free(c);

    c = kms_call_decrypt_blob(F->ctx, &s3gw, blob, bloblen,
                              "{\"aws:s3:arn\":\"arn:aws:s3:::b/other\"}");
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_INVALID_CIPHERTEXT);
    assert_null(kms_call_plaintext(c, &len));
    kms_call_free(c);

    /* a context that is not an object of strings */
    c = kms_call_decrypt_blob(F->ctx, &s3gw, blob, bloblen, "{\"a\":");
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_VALIDATION);
    kms_call_free(c);
    c = kms_call_generate_data_key(F->ctx, &s3gw, NULL, "[\"a\"]", 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_VALIDATION);
    assert_null(kms_call_plaintext(c, &len));
    kms_call_free(c);
    c = kms_call_generate_data_key(F->ctx, &s3gw, NULL, "{\"a\":1}", 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_SERIALIZATION);
    kms_call_free(c);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(load_stores_root_fingerprint),
        T(wrong_root_fingerprint_refuses_everything),
        T(calls_before_load_are_refused),
        T(create_key_returns_full_metadata),
        T(create_key_refuses_what_is_not_supported),
        T(json_specials_round_trip),
        T(bad_requests_are_serialization_errors),
        T(unknown_and_unsupported_operations),
        T(describe_key_by_every_reference),
        T(describe_key_not_found_messages),
        T(encrypt_decrypt_round_trip_with_context),
        T(encrypt_plaintext_limits),
        T(generate_data_key_specs),
        T(generate_random_bounds),
        T(reencrypt_moves_to_another_key),
        T(disable_and_enable_key_messages),
        T(alias_lifecycle),
        T(alias_made_by_another_worker_is_found),
        T(list_keys_pages_and_accounts),
        T(rotation_status_and_period),
        T(on_demand_rotation_keeps_old_versions),
        T(maintain_rotates_due_keys),
        T(schedule_cancel_and_erase),
        T(key_policy_get_put_and_lockout),
        T(tags_add_list_remove),
        T(cross_account_use_by_key_arn_only),
        T(aws_managed_s3_key_created_once),
        T(aws_managed_key_race_ends_with_one_key),
        T(cas_conflict_is_retried),
        T(refresh_applies_other_workers_changes),
        T(reload_drops_keys_erased_meanwhile),
        T(tampered_record_makes_key_unavailable),
        T(redis_errors_and_module_failures),
        T(audit_record_shape),
        T(gateway_decrypt_blob),
#undef T
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
