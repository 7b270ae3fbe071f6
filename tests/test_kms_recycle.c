/*
 * The context's spare call: a freed call is kept, zeroed, with the memory
 * of its body and audit line, and the next call starts from it.  A kept
 * body never keeps a data key: it is wiped before it is kept.  Calls made
 * one after the other on the spare answer as fresh ones do.
 */

#include "unit.h"

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_call.h"
#include "kms_fake.h"


typedef struct {
    fk_t           fk;
    kms_ctx_t     *ctx;
    kms_caller_t   who;
    char           id[40];
} rc_fixture_t;


static int
rc_setup(void **state)
{
    rc_fixture_t   *F;
    kms_call_t     *c;
    json_t         *j;
    unsigned char   root[32];
    kms_conf_t      conf = { "us-east-1", "aws", NULL, 25 };
    kms_caller_t    who = { "AKIDALICE", "111122223333",
                            "arn:aws:iam::111122223333:user/alice", NULL,
                            "192.0.2.1", "test", "req", 1700000000000LL };

    F = calloc(1, sizeof(rc_fixture_t));
    assert_non_null(F);
    F->who = who;

    memset(root, 7, sizeof(root));
    F->ctx = kms_ctx_new(root, &conf);
    assert_non_null(F->ctx);

    c = kms_call_load(F->ctx);
    fk_drive(&F->fk, c);
    kms_call_free(c);

    c = kms_call_new(F->ctx, &F->who, "CreateKey", "{}", 2);
    fk_drive(&F->fk, c);
    assert_int_equal(kms_call_status(c), 200);
    j = json_loads(kms_call_body(c, NULL), 0, NULL);
    assert_non_null(j);
    snprintf(F->id, sizeof(F->id), "%s", json_string_value(json_object_get(
             json_object_get(j, "KeyMetadata"), "KeyId")));
    json_decref(j);
    kms_call_free(c);

    *state = F;
    return 0;
}


static int
rc_teardown(void **state)
{
    rc_fixture_t  *F = *state;

    kms_ctx_free(F->ctx);
    fk_free(&F->fk);
    free(F);
    return 0;
}


static kms_call_t *
rc_gdk(rc_fixture_t *F)
{
    char         req[256];
    kms_call_t  *c;

    snprintf(req, sizeof(req), "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\","
             "\"EncryptionContext\":{\"a\":\"b\"}}", F->id);

    c = kms_call_new(F->ctx, &F->who, "GenerateDataKey", req, strlen(req));
    assert_non_null(c);
    assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
    assert_int_equal(kms_call_status(c), 200);

    return c;
}


static void
freed_call_is_kept_with_its_body_wiped(void **state)
{
    rc_fixture_t  *F = *state;
    kms_call_t    *c, *spare;
    const char    *body;
    char          *data;
    size_t         len, i, audit_cap;

    c = rc_gdk(F);
    body = kms_call_body(c, &len);
    assert_non_null(strstr(body, "\"Plaintext\":\""));
    data = c->body.data;
    audit_cap = c->audit.cap;
    assert_true(len > 0 && audit_cap > 0);

    kms_call_free(c);

    spare = F->ctx->spare;
    assert_ptr_equal(spare, c);
    assert_ptr_equal(spare->body.data, data);
    assert_int_equal(spare->body.len, 0);
    assert_int_equal(spare->audit.len, 0);
    assert_int_equal(spare->audit.cap, audit_cap);

    /* the data key (and the rest of the answer) wiped, not just dropped */
    for (i = 0; i < len; i++) {
        assert_int_equal(data[i], 0);
    }

    /* the rest of the call is as calloc() leaves it */
    assert_null(spare->req);
    assert_null(spare->caller);
    assert_int_equal(spare->err, KMS_OK);
    assert_int_equal(spare->done, 0);
    assert_null(spare->plaintext);
    assert_int_equal(spare->key_arn[0], 0);
    assert_int_equal(spare->res_arn[0], 0);
}


static void
next_call_starts_from_the_spare_and_answers_as_a_fresh_one(void **state)
{
    rc_fixture_t  *F = *state;
    kms_call_t    *c, *d;
    json_t        *g, *r;
    char           req[1024];
    size_t         len;
    int            i;

    for (i = 0; i < 3; i++) {
        c = rc_gdk(F);
        g = json_loads(kms_call_body(c, NULL), 0, NULL);
        assert_non_null(g);
        kms_call_free(c);

        snprintf(req, sizeof(req), "{\"CiphertextBlob\":\"%s\","
                 "\"EncryptionContext\":{\"a\":\"b\"}}",
                 json_string_value(json_object_get(g, "CiphertextBlob")));

        d = kms_call_new(F->ctx, &F->who, "Decrypt", req, strlen(req));
        /* the GenerateDataKey's call, reused */
        assert_ptr_equal(d, c);
        assert_int_equal(kms_call_run(d), KMS_CALL_DONE);
        assert_int_equal(kms_call_status(d), 200);

        r = json_loads(kms_call_body(d, &len), 0, NULL);
        assert_non_null(r);
        assert_string_equal(json_string_value(json_object_get(r, "Plaintext")),
                            json_string_value(json_object_get(g, "Plaintext")));

        /* one audit line, of this call alone */
        assert_non_null(strstr(kms_call_audit(d, NULL),
                                "\"eventName\":\"Decrypt\""));
        assert_null(strstr(kms_call_audit(d, NULL), "GenerateDataKey"));
        assert_null(strchr(kms_call_audit(d, NULL), '\n'));

        json_decref(r);
        json_decref(g);
        kms_call_free(d);
    }
}


static void
failed_call_after_a_good_one_carries_no_leftovers(void **state)
{
    rc_fixture_t  *F = *state;
    kms_call_t    *c;
    const char    *body;

    kms_call_free(rc_gdk(F));

    c = kms_call_new(F->ctx, &F->who, "GenerateDataKey", "{\"KeyId\":1}",
                     11);
    assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
    assert_int_equal(kms_call_status(c), 400);

    body = kms_call_body(c, NULL);
    assert_null(strstr(body, "Plaintext"));
    assert_null(strstr(body, "CiphertextBlob"));
    assert_null(kms_call_key_arn(c));
    assert_null(kms_call_plaintext(c, NULL));
    assert_non_null(strstr(kms_call_audit(c, NULL), "\"errorCode\""));
    assert_null(strstr(kms_call_audit(c, NULL), "\"resources\""));

    kms_call_free(c);
}


static void
two_calls_at_once_get_two_structs(void **state)
{
    rc_fixture_t  *F = *state;
    kms_call_t    *a, *b;

    kms_call_free(rc_gdk(F));
    assert_non_null(F->ctx->spare);

    a = rc_gdk(F);
    assert_null(F->ctx->spare);
    b = rc_gdk(F);
    assert_ptr_not_equal(a, b);

    kms_call_free(a);
    assert_ptr_equal(F->ctx->spare, a);

    /* one spare: the second goes back to the heap (ASan sees no leak) */
    kms_call_free(b);
    assert_ptr_equal(F->ctx->spare, a);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(freed_call_is_kept_with_its_body_wiped,
                                        rc_setup, rc_teardown),
        cmocka_unit_test_setup_teardown(
            next_call_starts_from_the_spare_and_answers_as_a_fresh_one,
            rc_setup, rc_teardown),
        cmocka_unit_test_setup_teardown(
            failed_call_after_a_good_one_carries_no_leftovers, rc_setup,
            rc_teardown),
        cmocka_unit_test_setup_teardown(two_calls_at_once_get_two_structs,
                                        rc_setup, rc_teardown),
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
