/*
 * A secure heap too small for the key store: keys still load and work
 * from ordinary memory (wiped just the same), and the log says to raise
 * the heap.
 */

#include "unit.h"

#include <openssl/crypto.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


static char  logbuf[4096];


static void
sink(void *data, int level, const char *msg)
{
    size_t  n = strlen(logbuf);

    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}


static void
keys_load_when_the_secure_heap_is_full(void **state)
{
    fk_t           fk;
    unsigned char  root[32];
    kms_ctx_t     *a, *b;
    kms_call_t    *c;
    kms_caller_t   who = { "AKID", "111122223333",
                           "arn:aws:iam::111122223333:root", NULL, "::1",
                           "test", NULL, 1700000000000LL };
    int            i;
    char           body[128];

    memset(&fk, 0, sizeof(fk));
    memset(root, 4, sizeof(root));
    assert_true(CRYPTO_secure_malloc_initialized());

    a = kms_ctx_new(root, NULL);
    assert_non_null(a);
    c = kms_call_load(a);
    fk_drive(&fk, c);
    kms_call_free(c);

    /* far more material than 4 KiB of secure heap holds */
    for (i = 0; i < 200; i++) {
        c = kms_call_new(a, &who, "CreateKey", "{}", 2);
        fk_drive(&fk, c);
        assert_int_equal(kms_call_status(c), 200);
        kms_call_free(c);
    }

    b = kms_ctx_new(root, NULL);
    assert_non_null(b);
    kms_ctx_set_log(b, sink, NULL);
    c = kms_call_load(b);
    fk_drive(&fk, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);
    assert_int_equal(b->ring.nkeys, 200);
    assert_non_null(strstr(logbuf, "secure heap is full"));

    snprintf(body, sizeof(body), "{\"NumberOfBytes\":32}");
    c = kms_call_new(b, &who, "GenerateRandom", body, strlen(body));
    fk_drive(&fk, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);

    kms_ctx_free(a);
    kms_ctx_free(b);
    fk_free(&fk);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_load_when_the_secure_heap_is_full),
    };

    if (kms_global_init(4096) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
