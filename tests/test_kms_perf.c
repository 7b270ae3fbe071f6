/*
 * Cost of the core's hot paths once the key is in the ring (no Redis):
 * GenerateDataKey and Decrypt through kms_call_new (JSON in, JSON body and
 * the audit line out), and the gateway's kms_call_generate_data_key on
 * alias/aws/s3.  Prints microseconds per call.  The bound asserted is
 * loose, for builds with sanitizers; the goal (well under 10 µs) is for
 * -O2 builds: build this file with -O2 and no sanitizers to see it.
 */

#include "unit.h"

#include <time.h>

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


#define N  20000


static double
now_us(void)
{
    struct timespec  ts;

    /* CPU time: other processes on the machine do not count */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static void
hot_paths_cost(void **state)
{
    fk_t           fk;
    kms_ctx_t     *ctx;
    kms_call_t    *c;
    unsigned char  root[32];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_caller_t   who = { "AKIDALICE", "111122223333",
                           "arn:aws:iam::111122223333:user/alice", NULL,
                           "192.0.2.1", "bench", "req", 1700000000000LL };
    kms_caller_t   gw = who;
    char           gdk[256], dec[512], id[40];
    json_t        *j;
    size_t         i, len;
    double         t, us_gdk, us_dec, us_gw;
    const char    *ctxj = "{\"aws:s3:arn\":\"arn:aws:s3:::bucket/key\"}";

    memset(&fk, 0, sizeof(fk));
    memset(root, 1, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    c = kms_call_load(ctx);
    fk_drive(&fk, c);
    kms_call_free(c);

    c = kms_call_new(ctx, &who, "CreateKey", "{}", 2);
    fk_drive(&fk, c);
    j = json_loads(kms_call_body(c, NULL), 0, NULL);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(
             json_object_get(j, "KeyMetadata"), "KeyId")));
    json_decref(j);
    kms_call_free(c);

    snprintf(gdk, sizeof(gdk), "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\","
             "\"EncryptionContext\":%s}", id, ctxj);

    t = now_us();
    for (i = 0; i < N; i++) {
        c = kms_call_new(ctx, &who, "GenerateDataKey", gdk, strlen(gdk));
        assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
        assert_int_equal(kms_call_status(c), 200);
        (void) kms_call_audit(c, &len);
        if (i == N - 1) {
            j = json_loads(kms_call_body(c, NULL), 0, NULL);
            snprintf(dec, sizeof(dec), "{\"CiphertextBlob\":\"%s\","
                     "\"EncryptionContext\":%s}",
                     json_string_value(json_object_get(j, "CiphertextBlob")),
                     ctxj);
            json_decref(j);
        }
        kms_call_free(c);
    }
    us_gdk = (now_us() - t) / N;

    t = now_us();
    for (i = 0; i < N; i++) {
        c = kms_call_new(ctx, &who, "Decrypt", dec, strlen(dec));
        assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
        assert_int_equal(kms_call_status(c), 200);
        (void) kms_call_audit(c, &len);
        kms_call_free(c);
    }
    us_dec = (now_us() - t) / N;

    gw.via_service = "s3.us-east-1.amazonaws.com";
    c = kms_call_generate_data_key(ctx, &gw, NULL, ctxj, 32);
    fk_drive(&fk, c);                       /* creates alias/aws/s3 */
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);

    t = now_us();
    for (i = 0; i < N; i++) {
        c = kms_call_generate_data_key(ctx, &gw, NULL, ctxj, 32);
        assert_int_equal(kms_call_run(c), KMS_CALL_DONE);
        assert_int_equal(kms_call_status(c), 200);
        (void) kms_call_audit(c, &len);
        kms_call_free(c);
    }
    us_gw = (now_us() - t) / N;

    print_message("# per call: GenerateDataKey %.2f us, Decrypt %.2f us, "
                  "gateway GenerateDataKey (alias/aws/s3) %.2f us\n", us_gdk,
                  us_dec, us_gw);

    assert_true(us_gdk < 500 && us_dec < 500 && us_gw < 500);

    kms_ctx_free(ctx);
    fk_free(&fk);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hot_paths_cost),
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
