/*
 * Keys used without a KMS call (S3 Bucket Keys: a cached bucket key is
 * used only while its KMS key is usable): kms_ctx_key_usable() looks a
 * reference up in the ring alone and follows the ring as keys are
 * disabled, enabled, scheduled for deletion, aliased elsewhere; and the
 * data-key cache's key kms_ctx_cache_key().  Driven against the
 * in-memory Redis of kms_fake.h.
 */

#include "unit.h"

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


#define ACCT_A   "111122223333"
#define ACCT_C   "444455556666"
#define ARN_A    "arn:aws:iam::111122223333:user/alice"
#define ARN_C    "arn:aws:iam::444455556666:user/carol"
#define T0       1700000000000LL


typedef struct {
    fk_t        fk;
    kms_ctx_t  *ctx;
    kms_ctx_t  *ctx2;               /* another worker on the same Redis */
} fx_t;


static fx_t          *F;
static kms_caller_t   alice = { "AKIDALICE", ACCT_A, ARN_A, NULL,
                                "192.0.2.1", "aws-cli/2.15", NULL, T0 };
static kms_caller_t   carol = { "AKIDCAROL", ACCT_C, ARN_C, NULL,
                                "192.0.2.3", "aws-cli/2.15", NULL, T0 };
static kms_caller_t   s3_alice = { "AKIDALICE", ACCT_A, ARN_A,
                                   "s3.us-east-1.amazonaws.com", "192.0.2.1",
                                   "aws-cli/2.15", NULL, T0 };


static kms_ctx_t *
fx_ctx(unsigned char fill)
{
    unsigned char  root[KMS_ROOT_KEY_LEN];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_ctx_t     *ctx;
    kms_call_t    *c;

    memset(root, fill, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    assert_non_null(ctx);

    c = kms_call_load(ctx);
    assert_non_null(c);
    fk_drive(&F->fk, c);
    kms_call_free(c);

    return ctx;
}


static int
setup(void **state)
{
    F = calloc(1, sizeof(fx_t));
    F->ctx = fx_ctx(7);
    assert_int_equal(kms_ctx_state(F->ctx), KMS_RING_READY);
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


/* a KMS API call on ctx; its body decoded, its status in *status */
static json_t *
api_on(kms_ctx_t *ctx, kms_caller_t *who, const char *op, const char *body,
    int *status)
{
    kms_call_t  *c;
    json_t      *j;
    size_t       len;
    const char  *b;

    c = kms_call_new(ctx, who, op, body, strlen(body));
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
api_ok(kms_caller_t *who, const char *op, const char *body)
{
    int      status;
    json_t  *j;

    j = api_on(F->ctx, who, op, body, &status);
    if (status != 200) {
        char  *d = json_dumps(j, 0);
        fail_msg("%s %s: %d %s", op, body, status, d);
    }
    json_decref(j);
}


/* CreateKey: the new key's id and ARN */
static void
create_key(kms_caller_t *who, char *id, char *arn)
{
    int      status;
    json_t  *j, *md;

    j = api_on(F->ctx, who, "CreateKey", "{}", &status);
    assert_int_equal(status, 200);
    md = json_object_get(j, "KeyMetadata");
    strcpy(id, json_string_value(json_object_get(md, "KeyId")));
    strcpy(arn, json_string_value(json_object_get(md, "Arn")));
    json_decref(j);
}


static kms_err_t
usable(kms_ctx_t *ctx, const char *account, const char *ref, char *arn)
{
    return kms_ctx_key_usable(ctx, account, ref, arn, 256);
}


/* ---- references --------------------------------------------------------- */

static void
every_reference_form_resolves_to_the_key_arn(void **state)
{
    char  id[64], arn[256], out[256], ref[512], upper[64];
    size_t  i;

    create_key(&alice, id, arn);

    snprintf(ref, sizeof(ref), "{\"AliasName\":\"alias/bk\","
             "\"TargetKeyId\":\"%s\"}", id);
    api_ok(&alice, "CreateAlias", ref);

    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_OK);
    assert_string_equal(out, arn);

    assert_int_equal(usable(F->ctx, ACCT_A, arn, out), KMS_OK);
    assert_string_equal(out, arn);

    assert_int_equal(usable(F->ctx, ACCT_A, "alias/bk", out), KMS_OK);
    assert_string_equal(out, arn);

    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:%s:alias/bk", ACCT_A);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_OK);
    assert_string_equal(out, arn);

    /* key ids are case-insensitive, as the KMS API takes them */
    for (i = 0; id[i]; i++) {
        upper[i] = (char) (id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    }
    upper[i] = '\0';
    assert_int_equal(usable(F->ctx, ACCT_A, upper, out), KMS_OK);
    assert_string_equal(out, arn);
}


static void
unknown_or_malformed_references_need_a_call(void **state)
{
    char  id[64], arn[256], out[256], ref[512];

    create_key(&alice, id, arn);

    assert_int_equal(usable(F->ctx, ACCT_A, "alias/none", out),
                     KMS_ERR_NOT_FOUND);
    assert_string_equal(out, "");
    assert_int_equal(usable(F->ctx, ACCT_A,
                            "00000000-1111-2222-3333-444444444444", out),
                     KMS_ERR_NOT_FOUND);
    assert_int_equal(usable(F->ctx, ACCT_A, "not a key", out),
                     KMS_ERR_NOT_FOUND);
    assert_int_equal(usable(F->ctx, ACCT_A, "", out), KMS_ERR_NOT_FOUND);

    /* another region, another partition, a truncated ARN */
    snprintf(ref, sizeof(ref), "arn:aws:kms:eu-west-1:%s:key/%s", ACCT_A, id);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_ERR_NOT_FOUND);
    snprintf(ref, sizeof(ref), "arn:aws-cn:kms:us-east-1:%s:key/%s", ACCT_A,
             id);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_ERR_NOT_FOUND);
    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:%s:key/", ACCT_A);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_ERR_NOT_FOUND);
    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:1111:key/%s", id);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_ERR_NOT_FOUND);

    /* the ARN names another account than the key's */
    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:%s:key/%s", ACCT_C, id);
    assert_int_equal(usable(F->ctx, ACCT_C, ref, out), KMS_ERR_NOT_FOUND);

    /* an ARN too long for the caller's buffer is no answer */
    assert_int_equal(kms_ctx_key_usable(F->ctx, ACCT_A, id, out, 10),
                     KMS_ERR_NOT_FOUND);
}


static void
another_accounts_key_by_arn_only(void **state)
{
    char  id[64], arn[256], out[256], ref[512];

    create_key(&alice, id, arn);
    snprintf(ref, sizeof(ref), "{\"AliasName\":\"alias/mine\","
             "\"TargetKeyId\":\"%s\"}", id);
    api_ok(&alice, "CreateAlias", ref);

    /* carol may name alice's key by its ARN (the policy decides later) */
    assert_int_equal(usable(F->ctx, ACCT_C, arn, out), KMS_OK);
    assert_string_equal(out, arn);

    /* but not by id, nor by alice's aliases */
    assert_int_equal(usable(F->ctx, ACCT_C, id, out), KMS_ERR_NOT_FOUND);
    assert_int_equal(usable(F->ctx, ACCT_C, "alias/mine", out),
                     KMS_ERR_NOT_FOUND);
    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:%s:alias/mine", ACCT_A);
    assert_int_equal(usable(F->ctx, ACCT_C, ref, out), KMS_ERR_NOT_FOUND);
}


static void
default_is_alias_aws_s3_once_it_exists(void **state)
{
    char         out[256];
    kms_call_t  *c;

    assert_int_equal(usable(F->ctx, ACCT_A, NULL, out), KMS_ERR_NOT_FOUND);

    /* the first GenerateDataKey through S3 creates it */
    c = kms_call_generate_data_key(F->ctx, &s3_alice, NULL,
                                   "{\"aws:s3:arn\":\"arn:aws:s3:::b\"}", 32);
    assert_non_null(c);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_OK);

    assert_int_equal(usable(F->ctx, ACCT_A, NULL, out), KMS_OK);
    assert_string_equal(out, kms_call_key_arn(c));
    assert_int_equal(usable(F->ctx, ACCT_A, "alias/aws/s3", out), KMS_OK);
    assert_string_equal(out, kms_call_key_arn(c));

    kms_call_free(c);
}


static void
internal_key_is_never_usable(void **state)
{
    char         out[256], ref[256];
    kms_call_t  *c;

    c = kms_call_generate_data_key_internal(F->ctx, &s3_alice,
                                            "{\"aws:s3:arn\":\"x\"}", 32);
    assert_non_null(c);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_error(c), KMS_OK);
    kms_call_free(c);

    assert_int_equal(usable(F->ctx, KMS_INTERNAL_ACCOUNT,
                            KMS_INTERNAL_KEY_ID, out),
                     KMS_ERR_NOT_FOUND);
    snprintf(ref, sizeof(ref), "arn:aws:kms:us-east-1:" KMS_INTERNAL_ACCOUNT
             ":key/" KMS_INTERNAL_KEY_ID);
    assert_int_equal(usable(F->ctx, ACCT_A, ref, out), KMS_ERR_NOT_FOUND);
}


/* ---- states --------------------------------------------------------------- */

static void
follows_disable_enable_and_deletion(void **state)
{
    char  id[64], arn[256], out[256], body[256];

    create_key(&alice, id, arn);
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);

    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_OK);

    api_ok(&alice, "DisableKey", body);
    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_ERR_DISABLED);
    assert_int_equal(usable(F->ctx, ACCT_A, arn, out), KMS_ERR_DISABLED);

    api_ok(&alice, "EnableKey", body);
    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_OK);

    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\","
             "\"PendingWindowInDays\":7}", id);
    api_ok(&alice, "ScheduleKeyDeletion", body);
    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_ERR_INVALID_STATE);

    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
    api_ok(&alice, "CancelKeyDeletion", body);

    /* cancelled deletion leaves the key disabled, as AWS does */
    assert_int_equal(usable(F->ctx, ACCT_A, id, out), KMS_ERR_DISABLED);
}


static void
another_worker_sees_a_disable_after_its_refresh(void **state)
{
    char         id[64], arn[256], out[256], body[256], event[512];
    kms_call_t  *c;
    const char  *ev;

    create_key(&alice, id, arn);

    F->ctx2 = fx_ctx(7);
    assert_int_equal(usable(F->ctx2, ACCT_A, id, out), KMS_OK);

    /* the change on the first worker, with the event it publishes */
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
    c = kms_call_new(F->ctx, &alice, "DisableKey", body, strlen(body));
    assert_non_null(c);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    ev = kms_call_event(c);
    assert_non_null(ev);
    snprintf(event, sizeof(event), "%s", ev);
    kms_call_free(c);

    /* until the second worker reads the event, its ring is behind */
    assert_int_equal(usable(F->ctx2, ACCT_A, id, out), KMS_OK);

    c = kms_call_refresh(F->ctx2, event, strlen(event));
    assert_non_null(c);
    fk_drive(&F->fk, c);
    kms_call_free(c);

    assert_int_equal(usable(F->ctx2, ACCT_A, id, out), KMS_ERR_DISABLED);
}


static void
alias_moved_to_another_key_follows(void **state)
{
    char  id1[64], arn1[256], id2[64], arn2[256], out[256], body[512];

    create_key(&alice, id1, arn1);
    create_key(&alice, id2, arn2);

    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/moving\","
             "\"TargetKeyId\":\"%s\"}", id1);
    api_ok(&alice, "CreateAlias", body);
    assert_int_equal(usable(F->ctx, ACCT_A, "alias/moving", out), KMS_OK);
    assert_string_equal(out, arn1);

    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/moving\","
             "\"TargetKeyId\":\"%s\"}", id2);
    api_ok(&alice, "UpdateAlias", body);
    assert_int_equal(usable(F->ctx, ACCT_A, "alias/moving", out), KMS_OK);
    assert_string_equal(out, arn2);

    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/moving\"}");
    api_ok(&alice, "DeleteAlias", body);
    assert_int_equal(usable(F->ctx, ACCT_A, "alias/moving", out),
                     KMS_ERR_NOT_FOUND);
}


static void
nothing_is_usable_before_the_ring_is_loaded(void **state)
{
    unsigned char  root[KMS_ROOT_KEY_LEN];
    char           id[64], arn[256], out[256];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_ctx_t     *cold;

    create_key(&alice, id, arn);

    memset(root, 7, sizeof(root));
    cold = kms_ctx_new(root, &conf);
    assert_non_null(cold);
    assert_int_equal(kms_ctx_key_usable(cold, ACCT_A, arn, out, sizeof(out)),
                     KMS_ERR_NOT_FOUND);
    assert_int_equal(kms_ctx_key_usable(F->ctx, NULL, arn, out, sizeof(out)),
                     KMS_ERR_NOT_FOUND);
    kms_ctx_free(cold);

    (void) carol;
}


/* ---- the cache key ------------------------------------------------------- */

static void
cache_key_is_hkdf_of_the_root_with_its_info(void **state)
{
    unsigned char  k[32], want[32], other[32];
    kms_ctx_t     *ctx;
    unsigned char  root[KMS_ROOT_KEY_LEN];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };

    /* HKDF-SHA256(IKM = 32 x 0x07, salt empty, info "KMS1 cache"), 32 */
    assert_int_equal(unit_unhex("a7ee0989c92d749fe9cec070eaa94d9b"
                                "7ca230e7599ca55ce247af2b3654757e", want, 32),
                     32);

    assert_int_equal(kms_ctx_cache_key(F->ctx, k), 0);
    assert_memory_equal(k, want, 32);

    /* another root key, another cache key */
    memset(root, 8, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    assert_non_null(ctx);
    assert_int_equal(kms_ctx_cache_key(ctx, other), 0);
    assert_memory_not_equal(k, other, 32);
    kms_ctx_free(ctx);

    /* and not the record key (info "KMS1 record") */
    assert_memory_not_equal(k, F->ctx->rec_key, 32);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(every_reference_form_resolves_to_the_key_arn),
        T(unknown_or_malformed_references_need_a_call),
        T(another_accounts_key_by_arn_only),
        T(default_is_alias_aws_s3_once_it_exists),
        T(internal_key_is_never_usable),
        T(follows_disable_enable_and_deletion),
        T(another_worker_sees_a_disable_after_its_refresh),
        T(alias_moved_to_another_key_follows),
        T(nothing_is_usable_before_the_ring_is_loaded),
        T(cache_key_is_hkdf_of_the_root_with_its_info),
#undef T
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
