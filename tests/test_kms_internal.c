/*
 * SSE-S3's internal key (kms_call_generate_data_key_internal,
 * kms_call_decrypt_blob_internal): one real key record for the whole key
 * store, created on first use once across workers, rotated yearly, used
 * without policy or audit, and invisible and unusable through the KMS
 * API.  Driven against the in-memory Redis of kms_fake.h.
 */

#include "unit.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


#define ACCT_A   "111122223333"
#define ARN_A    "arn:aws:iam::111122223333:user/alice"
#define T0       1700000000000LL
#define DAY      86400000LL
#define S3CTX    "{\"aws:s3:arn\":\"arn:aws:s3:::bucket/key\"}"
#define INT_ARN  "arn:aws:kms:us-east-1:" KMS_INTERNAL_ACCOUNT ":key/" \
                 KMS_INTERNAL_KEY_ID
#define INT_NAME "kms:key:{" KMS_INTERNAL_KEY_ID "}"


typedef struct {
    fk_t        fk;
    kms_ctx_t  *ctx;
    kms_ctx_t  *ctx2;               /* a second worker on the same Redis */
    char        log[8192];
} fx_t;

typedef struct {
    unsigned char  dk[32];
    unsigned char  blob[256];
    size_t         bloblen;
    char           arn[256];
} dk_t;


static fx_t          *F;
static kms_caller_t   alice = { "AKIDALICE", ACCT_A, ARN_A,
                                "s3.us-east-1.amazonaws.com", "192.0.2.1",
                                "aws-cli/2.15", NULL, T0 };
static kms_caller_t   api_alice = { "AKIDALICE", ACCT_A, ARN_A, NULL,
                                    "192.0.2.1", "aws-cli/2.15", NULL, T0 };


static void
fx_log(void *data, int level, const char *msg)
{
    fx_t    *f = data;
    size_t   n = strlen(f->log);

    snprintf(f->log + n, sizeof(f->log) - n, "%d:%s\n", level, msg);
}


static kms_ctx_t *
fx_ctx(void)
{
    unsigned char  root[KMS_ROOT_KEY_LEN];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_ctx_t     *ctx;
    kms_call_t    *c;

    memset(root, 7, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    assert_non_null(ctx);
    kms_ctx_set_log(ctx, fx_log, F);

    c = kms_call_load(ctx);
    assert_non_null(c);
    fk_drive(&F->fk, c);
    kms_call_free(c);
    assert_int_equal(kms_ctx_state(ctx), KMS_RING_READY);

    return ctx;
}


static int
setup(void **state)
{
    F = calloc(1, sizeof(fx_t));
    F->ctx = fx_ctx();
    alice.now_ms = T0;
    api_alice.now_ms = T0;
    return 0;
}


static int
teardown(void **state)
{
    kms_ctx_free(F->ctx);
    kms_ctx_free(F->ctx2);
    fk_free(&F->fk);
    free(F);
    F = NULL;
    return 0;
}


static size_t
key_records(void)
{
    size_t  i, n = 0;

    for (i = 0; i < F->fk.n; i++) {
        n += strncmp(F->fk.keys[i].name, "kms:key:", 8) == 0;
    }

    return n;
}


/* an SSE-S3 data key on ctx, kept in *out */
static void
internal_gdk(kms_ctx_t *ctx, const char *context, dk_t *out)
{
    kms_call_t           *c;
    const unsigned char  *p;
    size_t                len;

    c = kms_call_generate_data_key_internal(ctx, &alice, context, 32);
    assert_non_null(c);
    fk_drive(&F->fk, c);

    if (kms_call_status(c) != 200) {
        fail_msg("internal GenerateDataKey: %s", kms_call_body(c, NULL));
    }

    p = kms_call_plaintext(c, &len);
    assert_non_null(p);
    assert_int_equal(len, 32);
    memcpy(out->dk, p, 32);

    p = kms_call_blob(c, &out->bloblen);
    assert_non_null(p);
    assert_true(out->bloblen <= sizeof(out->blob));
    memcpy(out->blob, p, out->bloblen);

    snprintf(out->arn, sizeof(out->arn), "%s", kms_call_key_arn(c));

    /* SSE-S3 never touches KMS: nothing for a customer's trail */
    kms_call_audit(c, &len);
    assert_int_equal(len, 0);
    assert_null(strstr(kms_call_body(c, NULL), "Plaintext"));

    kms_call_free(c);
}


/* runs an internal Decrypt; returns its error, the data key in dk */
static kms_err_t
internal_decrypt(kms_ctx_t *ctx, const unsigned char *blob, size_t len,
    const char *context, unsigned char *dk)
{
    kms_call_t           *c;
    const unsigned char  *p;
    size_t                n, alen;
    kms_err_t             err;

    c = kms_call_decrypt_blob_internal(ctx, &alice, blob, len, context);
    assert_non_null(c);
    fk_drive(&F->fk, c);

    err = kms_call_error(c);
    p = kms_call_plaintext(c, &n);

    if (err == KMS_OK) {
        assert_int_equal(n, 32);
        memcpy(dk, p, 32);
        assert_string_equal(kms_call_key_arn(c), INT_ARN);

    } else {
        assert_null(p);
    }

    kms_call_audit(c, &alen);
    assert_int_equal(alen, 0);

    kms_call_free(c);
    return err;
}


/* a KMS API call by alice; returns the decoded body, *type its __type */
static json_t *
api(const char *op, const char *body, int *status)
{
    kms_call_t  *c;
    json_t      *j;
    size_t       len;
    const char  *b;

    c = kms_call_new(F->ctx, &api_alice, op, body, strlen(body));
    assert_non_null(c);
    fk_drive(&F->fk, c);
    b = kms_call_body(c, &len);
    j = len ? json_loadb(b, len, 0, NULL) : json_object();
    assert_non_null(j);
    *status = kms_call_status(c);
    kms_call_free(c);
    return j;
}


static void
expect_api_err(const char *op, const char *body, const char *type,
    const char *msg)
{
    json_t      *j;
    int          status;
    const char  *t, *m;

    j = api(op, body, &status);
    t = json_string_value(json_object_get(j, "__type"));
    m = json_string_value(json_object_get(j, "message"));

    if (t == NULL || strcmp(t, type) != 0) {
        fail_msg("%s %s: expected %s, got %s", op, body, type,
                 t ? t : "success");
    }

    if (msg == NULL) {
        assert_null(m);

    } else if (m == NULL || strcmp(m, msg) != 0) {
        fail_msg("%s: expected \"%s\", got \"%s\"", op, msg, m ? m : "");
    }

    assert_int_equal(status, 400);
    json_decref(j);
}


static char *
b64(const unsigned char *p, size_t n)
{
    static char  out[512];
    kms_buf_t    b;

    kms_buf_init(&b);
    kms_buf_b64(&b, p, n);
    assert_false(b.failed);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    kms_buf_free(&b);
    return out;
}


/* ---- the key ------------------------------------------------------------ */

static void
internal_key_id_is_reserved(void **state)
{
    unsigned char  id[KMS_ID_LEN], rnd[KMS_ID_LEN];

    assert_int_equal(kms_uuid_parse(KMS_INTERNAL_KEY_ID,
                                    strlen(KMS_INTERNAL_KEY_ID), id), 0);
    assert_true(kms_id_internal(id));

    id[15] ^= 1;
    assert_false(kms_id_internal(id));

    assert_int_equal(kms_uuid_random(rnd), 0);
    assert_false(kms_id_internal(rnd));
}


static void
first_use_creates_one_authenticated_record(void **state)
{
    dk_t         a, b;
    fk_key_t    *k;
    fk_field_t  *meta;
    json_t      *m;

    assert_null(fk_find(&F->fk, INT_NAME, strlen(INT_NAME)));

    internal_gdk(F->ctx, S3CTX, &a);
    assert_string_equal(a.arn, INT_ARN);
    assert_int_equal(a.bloblen, KMS_BLOB_MIN_LEN + 32);
    /* a §4 blob of the internal key, version 1 */
    assert_int_equal(a.blob[0], 1);
    assert_true(kms_id_internal(a.blob + 1));
    assert_memory_equal(a.blob + 17, "\0\0\0\1", 4);

    k = fk_find(&F->fk, INT_NAME, strlen(INT_NAME));
    assert_non_null(k);
    assert_non_null(fk_hfind(k, "mac", 3));
    assert_int_equal(fk_hfind(k, "v1", 2)->vlen, KMS_WRAPPED_LEN);
    meta = fk_hfind(k, "meta", 4);
    m = json_loads(meta->v, 0, NULL);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "account")),
                        KMS_INTERNAL_ACCOUNT);
    assert_true(json_is_true(json_object_get(json_object_get(m, "rotation"),
                                             "enabled")));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(m, "rotation"), "period")), 365);
    json_decref(m);

    /* no account lists it */
    assert_null(fk_find(&F->fk, "kms:keys:{" KMS_INTERNAL_ACCOUNT "}",
                        strlen("kms:keys:{" KMS_INTERNAL_ACCOUNT "}")));

    /* the second call uses the same key, fresh data key */
    internal_gdk(F->ctx, S3CTX, &b);
    assert_string_equal(b.arn, INT_ARN);
    assert_memory_not_equal(a.dk, b.dk, 32);
    assert_int_equal(key_records(), 1);
}


static void
blob_opens_with_its_context_only(void **state)
{
    dk_t           a;
    unsigned char  dk[32];

    internal_gdk(F->ctx, S3CTX, &a);

    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen, S3CTX, dk),
                     KMS_OK);
    assert_memory_equal(dk, a.dk, 32);

    /* the object moved: another aws:s3:arn */
    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen,
                         "{\"aws:s3:arn\":\"arn:aws:s3:::bucket/other\"}",
                         dk),
                     KMS_ERR_INVALID_CIPHERTEXT);
    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen, NULL, dk),
                     KMS_ERR_INVALID_CIPHERTEXT);

    /* a damaged blob */
    a.blob[a.bloblen - 1] ^= 1;
    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen, S3CTX, dk),
                     KMS_ERR_INVALID_CIPHERTEXT);
}


static void
another_worker_reads_the_key_from_redis(void **state)
{
    dk_t           a, b;
    unsigned char  dk[32];
    unsigned       writes;

    /* a worker loaded before the key existed */
    F->ctx2 = fx_ctx();

    internal_gdk(F->ctx, S3CTX, &a);

    /* it reads the key from Redis, and creates nothing */
    writes = F->fk.writes;
    assert_int_equal(internal_decrypt(F->ctx2, a.blob, a.bloblen, S3CTX, dk),
                     KMS_OK);
    assert_memory_equal(dk, a.dk, 32);
    internal_gdk(F->ctx2, S3CTX, &b);
    assert_string_equal(b.arn, a.arn);
    assert_int_equal(F->fk.writes, writes);
    assert_int_equal(key_records(), 1);
}


static void
decrypt_before_creation_is_not_found(void **state)
{
    dk_t           a;
    unsigned char  dk[32];

    /* a blob naming the internal key, in a store that has none */
    memset(&a, 0, sizeof(a));
    a.blob[0] = 1;
    assert_int_equal(kms_uuid_parse(KMS_INTERNAL_KEY_ID, KMS_ID_TEXT_LEN,
                                    a.blob + 1), 0);
    a.blob[20] = 1;
    a.bloblen = KMS_BLOB_MIN_LEN + 32;

    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen, S3CTX, dk),
                     KMS_ERR_INVALID_CIPHERTEXT);
    assert_int_equal(key_records(), 0);
}


static void
concurrent_first_use_ends_with_one_key(void **state)
{
    kms_call_t       *c2;
    const kms_cmd_t  *cmd;
    dk_t              a;
    unsigned char     dk[32];
    const unsigned char *p;
    size_t            len;
    unsigned char     blob2[256];
    size_t            blob2len;
    unsigned char     dk2[32];

    F->ctx2 = fx_ctx();

    /* worker 2 gets as far as writing its new internal key */
    c2 = kms_call_generate_data_key_internal(F->ctx2, &alice, S3CTX, 32);
    for ( ;; ) {
        assert_int_equal(kms_call_run(c2), KMS_CALL_NEED_REDIS);
        cmd = kms_call_command(c2);
        if (strstr(cmd->argv[1], "return 'ROOT'") != NULL) {
            break;
        }
        kms_call_reply(c2, fk_exec(&F->fk, cmd));
    }

    /* worker 1 creates it meanwhile (another host would do the same) */
    internal_gdk(F->ctx, S3CTX, &a);

    /* worker 2's write loses; it reads the winner's key and uses it */
    kms_call_reply(c2, fk_exec(&F->fk, cmd));
    fk_drive(&F->fk, c2);
    assert_int_equal(kms_call_status(c2), 200);
    assert_string_equal(kms_call_key_arn(c2), INT_ARN);
    p = kms_call_plaintext(c2, &len);
    memcpy(dk2, p, 32);
    p = kms_call_blob(c2, &blob2len);
    memcpy(blob2, p, blob2len);
    kms_call_free(c2);

    assert_int_equal(key_records(), 1);

    /* each worker opens the other's blobs: one key material */
    assert_int_equal(internal_decrypt(F->ctx, blob2, blob2len, S3CTX, dk),
                     KMS_OK);
    assert_memory_equal(dk, dk2, 32);
    assert_int_equal(internal_decrypt(F->ctx2, a.blob, a.bloblen, S3CTX, dk),
                     KMS_OK);
    assert_memory_equal(dk, a.dk, 32);
}


static void
rotates_yearly_and_keeps_old_versions(void **state)
{
    dk_t           a, b;
    unsigned char  dk[32];
    kms_call_t    *c;
    size_t         len;

    internal_gdk(F->ctx, S3CTX, &a);

    c = kms_call_maintain(F->ctx, T0 + 364 * DAY);
    fk_drive(&F->fk, c);
    assert_null(kms_call_event(c));
    kms_call_free(c);
    fk_del(&F->fk, "kms:lock:maintain", 17);

    c = kms_call_maintain(F->ctx, T0 + 366 * DAY);
    fk_drive(&F->fk, c);
    assert_non_null(kms_call_event(c));
    assert_non_null(strstr(kms_call_event(c), KMS_INTERNAL_KEY_ID));
    /* no RotateKey record in anyone's trail */
    kms_call_audit(c, &len);
    assert_int_equal(len, 0);
    kms_call_free(c);
    fk_del(&F->fk, "kms:lock:maintain", 17);
    assert_non_null(strstr(F->log, "internal key to version 2"));

    alice.now_ms = T0 + 366 * DAY;
    internal_gdk(F->ctx, S3CTX, &b);
    assert_memory_equal(b.blob + 17, "\0\0\0\2", 4);

    /* the blob made under version 1 still opens */
    assert_int_equal(internal_decrypt(F->ctx, a.blob, a.bloblen, S3CTX, dk),
                     KMS_OK);
    assert_memory_equal(dk, a.dk, 32);

    /* the next rotation is a year on */
    c = kms_call_maintain(F->ctx, T0 + 700 * DAY);
    fk_drive(&F->fk, c);
    assert_null(kms_call_event(c));
    kms_call_free(c);
}


static void
tampered_record_is_unavailable_not_enabled(void **state)
{
    dk_t         a;
    fk_key_t    *k;
    fk_field_t  *meta;
    char        *p;
    kms_call_t  *c;

    internal_gdk(F->ctx, S3CTX, &a);

    /* someone with write access to Redis edits its metadata */
    k = fk_find(&F->fk, INT_NAME, strlen(INT_NAME));
    meta = fk_hfind(k, "meta", 4);
    p = strstr(meta->v, "\"period\":365");
    assert_non_null(p);
    memcpy(p, "\"period\":366", 12);

    F->ctx2 = fx_ctx();
    assert_non_null(strstr(F->log, "failed authentication"));

    c = kms_call_generate_data_key_internal(F->ctx2, &alice, S3CTX, 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_INVALID_STATE);
    assert_null(kms_call_plaintext(c, NULL));
    kms_call_free(c);

    c = kms_call_decrypt_blob_internal(F->ctx2, &alice, a.blob, a.bloblen,
                                       S3CTX);
    fk_drive(&F->fk, c);
    assert_int_not_equal(kms_call_error(c), KMS_OK);
    assert_null(kms_call_plaintext(c, NULL));
    kms_call_free(c);

    /* and it is not re-created beside the damaged one */
    assert_int_equal(key_records(), 1);
}


/* ---- what the API sees ------------------------------------------------ */

static void
api_never_lists_it(void **state)
{
    dk_t     a;
    json_t  *j;
    int      status;

    internal_gdk(F->ctx, S3CTX, &a);

    j = api("ListKeys", "{}", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(j, "Keys")), 0);
    json_decref(j);

    j = api("ListAliases", "{}", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(j, "Aliases")), 0);
    json_decref(j);
}


static void
api_finds_no_such_key(void **state)
{
    dk_t         a;
    char         body[1024], msg[256], blob[512];
    const char  *not_found;
    unsigned char  fake[KMS_BLOB_MIN_LEN + 32];
    json_t      *j;
    int          status;

    internal_gdk(F->ctx, S3CTX, &a);

    not_found = "Key '" INT_ARN "' does not exist";

    expect_api_err("DescribeKey", "{\"KeyId\":\"" INT_ARN "\"}",
                   "NotFoundException", not_found);
    snprintf(msg, sizeof(msg), "Key 'arn:aws:kms:us-east-1:%s:key/%s' does "
             "not exist", ACCT_A, KMS_INTERNAL_KEY_ID);
    expect_api_err("DescribeKey", "{\"KeyId\":\"" KMS_INTERNAL_KEY_ID "\"}",
                   "NotFoundException", msg);
    expect_api_err("Encrypt", "{\"KeyId\":\"" INT_ARN "\","
                   "\"Plaintext\":\"YQ==\"}", "NotFoundException", not_found);
    expect_api_err("GenerateDataKey", "{\"KeyId\":\"" INT_ARN "\","
                   "\"KeySpec\":\"AES_256\"}", "NotFoundException", not_found);
    expect_api_err("GetKeyRotationStatus", "{\"KeyId\":\"" INT_ARN "\"}",
                   "NotFoundException", not_found);
    expect_api_err("DisableKey", "{\"KeyId\":\"" KMS_INTERNAL_KEY_ID "\"}",
                   "NotFoundException", msg);
    expect_api_err("ScheduleKeyDeletion",
                   "{\"KeyId\":\"" KMS_INTERNAL_KEY_ID "\"}",
                   "NotFoundException", msg);
    expect_api_err("CreateAlias", "{\"AliasName\":\"alias/mine\","
                   "\"TargetKeyId\":\"" KMS_INTERNAL_KEY_ID "\"}",
                   "NotFoundException", msg);

    /* its blob is refused as a blob of a key that does not exist */
    snprintf(blob, sizeof(blob), "%s", b64(a.blob, a.bloblen));
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"EncryptionContext\":" S3CTX "}", blob);
    expect_api_err("Decrypt", body, "InvalidCiphertextException", NULL);

    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"KeyId\":\"" INT_ARN "\",\"EncryptionContext\":" S3CTX "}",
             blob);
    expect_api_err("Decrypt", body, "NotFoundException", not_found);

    /* the same answers as for a blob of a random key id */
    memcpy(fake, a.blob, sizeof(fake));
    assert_int_equal(kms_uuid_random(fake + 1), 0);
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"EncryptionContext\":" S3CTX "}", b64(fake, sizeof(fake)));
    expect_api_err("Decrypt", body, "InvalidCiphertextException", NULL);

    /* ReEncrypt: neither from nor to it */
    j = api("CreateKey", "{}", &status);
    assert_int_equal(status, 200);
    snprintf(msg, sizeof(msg), "%s", json_string_value(json_object_get(
                 json_object_get(j, "KeyMetadata"), "KeyId")));
    json_decref(j);

    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"SourceEncryptionContext\":" S3CTX ","
             "\"DestinationKeyId\":\"%s\"}", blob, msg);
    expect_api_err("ReEncrypt", body, "InvalidCiphertextException", NULL);

    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"YQ==\"}",
             msg);
    j = api("Encrypt", body, &status);
    assert_int_equal(status, 200);
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"DestinationKeyId\":\"" INT_ARN "\"}",
             json_string_value(json_object_get(j, "CiphertextBlob")));
    json_decref(j);
    expect_api_err("ReEncrypt", body, "NotFoundException", not_found);
}


static void
gateway_kms_calls_cannot_reach_it(void **state)
{
    dk_t                  a;
    kms_call_t           *c;
    const unsigned char  *p;
    unsigned char         cblob[256], dk[32];
    size_t                clen;

    internal_gdk(F->ctx, S3CTX, &a);

    /* aws:kms naming the internal key's ARN */
    c = kms_call_generate_data_key(F->ctx, &alice, INT_ARN, S3CTX, 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_NOT_FOUND);
    assert_null(kms_call_plaintext(c, NULL));
    kms_call_free(c);

    /* an aws:kms Decrypt of an internal blob */
    c = kms_call_decrypt_blob(F->ctx, &alice, a.blob, a.bloblen, S3CTX);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_ERR_INVALID_CIPHERTEXT);
    assert_null(kms_call_plaintext(c, NULL));
    kms_call_free(c);

    /* and the internal Decrypt opens no customer key's blob: metadata
     * edited at the backend to say AES256 bypasses no key policy */
    c = kms_call_generate_data_key(F->ctx, &alice, NULL, S3CTX, 32);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    p = kms_call_blob(c, &clen);
    memcpy(cblob, p, clen);
    kms_call_free(c);

    assert_int_equal(internal_decrypt(F->ctx, cblob, clen, S3CTX, dk),
                     KMS_ERR_INVALID_CIPHERTEXT);
}


static void
no_policy_is_asked(void **state)
{
    dk_t            a;
    unsigned char   dk[32];
    kms_caller_t    other = { "AKIDDAVE", "777788889999",
                              "arn:aws:iam::777788889999:user/dave",
                              "s3.us-east-1.amazonaws.com", "192.0.2.9",
                              "boto3", NULL, T0 };
    kms_call_t     *c;
    const unsigned char  *p;
    size_t          n;

    /* the internal key's policy allows nothing; the calls go through */
    internal_gdk(F->ctx, S3CTX, &a);

    c = kms_call_decrypt_blob_internal(F->ctx, &other, a.blob, a.bloblen,
                                       S3CTX);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_OK);
    p = kms_call_plaintext(c, &n);
    assert_int_equal(n, 32);
    memcpy(dk, p, 32);
    assert_memory_equal(dk, a.dk, 32);
    kms_call_free(c);
}


static void
credentials_may_not_use_the_reserved_account(void **state)
{
    char          path[] = "/tmp/kms-internal-credsXXXXXX";
    char          err[256];
    int           fd;
    kms_creds_t  *creds;
    const char   *line = "AKIDX secret " KMS_INTERNAL_ACCOUNT
                         " arn:aws:iam::" KMS_INTERNAL_ACCOUNT ":user/x\n";

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, line, strlen(line)), (ssize_t) strlen(line));
    close(fd);

    creds = kms_creds_load(path, err, sizeof(err));
    unlink(path);
    assert_null(creds);
    assert_non_null(strstr(err, "reserved"));
}


/* a UUID's text: 8-4-4-4-12 lowercase digits, read back to the same bytes */
static void
uuid_text_is_canonical_and_parses_back(void **state)
{
    static const unsigned char  id[KMS_ID_LEN] = {
        0x12, 0x34, 0xab, 0xcd, 0xef, 0x01, 0x4a, 0xbc,
        0x89, 0xde, 0x00, 0xff, 0x10, 0x20, 0x30, 0x9f
    };
    char           text[KMS_ID_TEXT_LEN + 1];
    unsigned char  back[KMS_ID_LEN];

    (void) state;

    memset(text, 'x', sizeof(text));
    kms_uuid_text(id, text);
    assert_string_equal(text, "1234abcd-ef01-4abc-89de-00ff1020309f");
    assert_int_equal(kms_uuid_parse(text, strlen(text), back), 0);
    assert_memory_equal(back, id, KMS_ID_LEN);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(internal_key_id_is_reserved),
        T(first_use_creates_one_authenticated_record),
        T(blob_opens_with_its_context_only),
        T(another_worker_reads_the_key_from_redis),
        T(decrypt_before_creation_is_not_found),
        T(concurrent_first_use_ends_with_one_key),
        T(rotates_yearly_and_keeps_old_versions),
        T(tampered_record_is_unavailable_not_enabled),
        T(api_never_lists_it),
        T(api_finds_no_such_key),
        T(gateway_kms_calls_cannot_reach_it),
        T(no_policy_is_asked),
        T(credentials_may_not_use_the_reserved_account),
        T(uuid_text_is_canonical_and_parses_back),
#undef T
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
