/*
 * The ciphertext blob (DESIGN.md §4): a known-answer blob made outside the
 * core (Python's cryptography from the §4 formula), round trips, and every
 * way of damaging a blob — each byte flipped, each truncation, another
 * context, key or version — refused, at the codec and through Decrypt.
 */

#include "unit.h"

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_fake.h"


static const char  kat_blob[] =
    "011234abcd12ab34cd56ef1234567890ab00000003404142434445464748494a4b4c4d"
    "4e4f505152535455565758595a5b5c5d5e5f6ec572f13defe1ae35e15fe0b75ff38eba"
    "69cdb33accfc1176bb0c";


static void
kat_canon(kms_buf_t *canon)
{
    kms_json_t  *ctx = kms_json_parse("{\"b\":\"2\",\"a\":\"1\"}", 17);
    kms_ectx_t   e;

    assert_non_null(ctx);
    assert_int_equal(kms_ectx_from_json(&e, ctx), 0);
    kms_buf_init(canon);
    assert_int_equal(kms_ectx_canonical(&e, canon), 0);
    kms_ectx_free(&e);
    kms_json_free(ctx);
}


static void
known_answer_blob_from_the_formula_opens(void **state)
{
    unsigned char  blob[256], mat[32], out[64];
    long           n;
    size_t         i;
    kms_blob_t     b;
    kms_buf_t      canon;

    for (i = 0; i < 32; i++) {
        mat[i] = (unsigned char) i;
    }

    n = unit_unhex(kat_blob, blob, sizeof(blob));
    assert_int_equal(n, 53 + 11 + 16);

    assert_int_equal(kms_blob_parse(blob, (size_t) n, &b), 0);
    assert_int_equal(b.version, 3);
    assert_int_equal(b.ctlen, 11);

    kat_canon(&canon);
    /* count 2, then ("a","1"), ("b","2") sorted by key */
    assert_int_equal(canon.len, 2 + 2 * (2 + 1 + 2 + 1));
    assert_memory_equal(canon.data, "\0\2\0\1a\0\0011\0\1b\0\0012", 14);

    assert_int_equal(kms_blob_open(NULL, NULL, mat, blob, &b,
                                   (unsigned char *) canon.data, canon.len,
                                   out), 0);
    assert_memory_equal(out, "hello, blob", 11);

    /* the same blob under an empty context does not open */
    assert_int_equal(kms_blob_open(NULL, NULL, mat, blob, &b, NULL, 0, out),
                     -1);
    kms_buf_free(&canon);
}


static void
seal_then_open_round_trips(void **state)
{
    unsigned char  mat[32], id[16], blob[KMS_BLOB_MIN_LEN + 100], out[100];
    unsigned char  pt[100];
    kms_blob_t     b;
    size_t         len;

    assert_int_equal(kms_random(mat, 32), 0);
    assert_int_equal(kms_uuid_random(id), 0);
    memset(pt, 0x5a, sizeof(pt));

    for (len = 0; len <= 100; len += 25) {
        assert_int_equal(kms_blob_seal(NULL, NULL, mat, NULL, id, 9, NULL, 0,
                                       pt, len, blob), 0);
        assert_int_equal(blob[0], 1);
        assert_memory_equal(blob + 1, id, 16);
        assert_memory_equal(blob + 17, "\0\0\0\x09", 4);
        assert_int_equal(kms_blob_parse(blob, KMS_BLOB_MIN_LEN + len, &b), 0);
        assert_int_equal(kms_blob_open(NULL, NULL, mat, blob, &b, NULL, 0,
                                       out), 0);
        assert_memory_equal(out, pt, len);
    }
}


static void
codec_refuses_every_damage(void **state)
{
    unsigned char  mat[32], other[32], id[16], blob[KMS_BLOB_MIN_LEN + 32];
    unsigned char  out[32], pt[32];
    kms_blob_t     b;
    size_t         i, len = sizeof(blob);
    int            bit;

    assert_int_equal(kms_random(mat, 32), 0);
    assert_int_equal(kms_random(other, 32), 0);
    assert_int_equal(kms_uuid_random(id), 0);
    memset(pt, 1, sizeof(pt));
    assert_int_equal(kms_blob_seal(NULL, NULL, mat, NULL, id, 1, NULL, 0, pt,
                                   32, blob), 0);

    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit += 7) {
            blob[i] ^= (unsigned char) (1 << bit);
            if (kms_blob_parse(blob, len, &b) == 0) {
                assert_int_not_equal(kms_blob_open(NULL, NULL, mat, blob,
                                                   &b, NULL, 0, out), 0);
            }
            blob[i] ^= (unsigned char) (1 << bit);
        }
    }

    for (i = 0; i < len; i++) {
        if (kms_blob_parse(blob, i, &b) == 0) {
            assert_int_not_equal(kms_blob_open(NULL, NULL, mat, blob, &b,
                                               NULL, 0, out), 0);
        }
    }

    assert_int_equal(kms_blob_parse(blob, len, &b), 0);
    assert_int_equal(kms_blob_open(NULL, NULL, other, blob, &b, NULL, 0,
                                   out), -1);
    assert_int_equal(kms_blob_open(NULL, NULL, mat, blob, &b, NULL, 0, out),
                     0);
}


/* ---- through Decrypt ---------------------------------------------------- */

static fk_t          fk;
static kms_ctx_t    *ctx;
static kms_caller_t  alice = { "AKIDALICE", "111122223333",
                               "arn:aws:iam::111122223333:user/alice", NULL,
                               "192.0.2.1", "test", NULL, 1700000000000LL };


static int
setup(void **state)
{
    unsigned char  root[32];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_call_t    *c;

    memset(&fk, 0, sizeof(fk));
    memset(root, 3, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    assert_non_null(ctx);
    c = kms_call_load(ctx);
    fk_drive(&fk, c);
    kms_call_free(c);
    return 0;
}


static int
teardown(void **state)
{
    kms_ctx_free(ctx);
    fk_free(&fk);
    return 0;
}


static json_t *
call(const char *op, const char *body, int *status)
{
    kms_call_t  *c;
    json_t      *j;
    size_t       len;
    const char  *b;

    c = kms_call_new(ctx, &alice, op, body, strlen(body));
    fk_drive(&fk, c);
    *status = kms_call_status(c);
    b = kms_call_body(c, &len);
    j = len ? json_loadb(b, len, 0, NULL) : json_object();
    kms_call_free(c);
    assert_non_null(j);
    return j;
}


static char *
create_key(void)
{
    json_t  *r;
    int      st;
    char    *id;

    r = call("CreateKey", "{}", &st);
    assert_int_equal(st, 200);
    id = strdup(json_string_value(json_object_get(json_object_get(r,
                 "KeyMetadata"), "KeyId")));
    json_decref(r);
    return id;
}


static void
decrypt_expect(const unsigned char *blob, size_t len, const char *ctxjson,
    const char *key_id, const char *type)
{
    char     body[2048], b64[512];
    json_t  *r;
    int      st;

    b64[kms_base64_encode(blob, len, b64)] = '\0';
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"%s%s%s%s%s}", b64,
             ctxjson ? ",\"EncryptionContext\":" : "", ctxjson ? ctxjson : "",
             key_id ? ",\"KeyId\":\"" : "", key_id ? key_id : "",
             key_id ? "\"" : "");
    r = call("Decrypt", body, &st);

    if (type == NULL) {
        if (st != 200) {
            fail_msg("expected success: %s", json_dumps(r, 0));
        }
    } else {
        const char  *t = json_string_value(json_object_get(r, "__type"));

        if (t == NULL || strcmp(t, type) != 0) {
            fail_msg("expected %s, got %d %s", type, st,
                     t ? t : "(success)");
        }
        assert_int_equal(st, 400);
    }

    json_decref(r);
}


static void
decrypt_refuses_damaged_blobs(void **state)
{
    char           *id, *other, body[512];
    json_t         *r;
    int             st;
    unsigned char   blob[256];
    long            n;
    size_t          i;
    const char     *ctxj = "{\"purpose\":\"blob test\"}";

    id = create_key();
    other = create_key();

    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":"
             "\"AAECAwQFBgcICQ==\",\"EncryptionContext\":%s}", id, ctxj);
    r = call("Encrypt", body, &st);
    assert_int_equal(st, 200);
    n = kms_base64_decode(json_string_value(json_object_get(r,
                                            "CiphertextBlob")),
                          strlen(json_string_value(json_object_get(r,
                                 "CiphertextBlob"))), blob, sizeof(blob));
    json_decref(r);
    assert_int_equal(n, 69 + 10);

    decrypt_expect(blob, (size_t) n, ctxj, NULL, NULL);
    decrypt_expect(blob, (size_t) n, ctxj, id, NULL);

    /* every byte position */
    for (i = 0; i < (size_t) n; i++) {
        blob[i] ^= 0x01;
        decrypt_expect(blob, (size_t) n, ctxj, NULL,
                       "InvalidCiphertextException");
        blob[i] ^= 0x01;
    }

    /* every truncation */
    for (i = 1; i < (size_t) n; i++) {
        decrypt_expect(blob, i, ctxj, NULL, "InvalidCiphertextException");
    }

    /* another context, none, a wrong key named, another version */
    decrypt_expect(blob, (size_t) n, "{\"purpose\":\"other\"}", NULL,
                   "InvalidCiphertextException");
    decrypt_expect(blob, (size_t) n, NULL, NULL,
                   "InvalidCiphertextException");
    decrypt_expect(blob, (size_t) n, ctxj, other, "IncorrectKeyException");

    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
    r = call("RotateKeyOnDemand", body, &st);
    json_decref(r);
    assert_int_equal(st, 200);
    blob[20] = 2;                               /* version 2 exists now */
    decrypt_expect(blob, (size_t) n, ctxj, NULL,
                   "InvalidCiphertextException");
    blob[20] = 9;                               /* version 9 does not */
    decrypt_expect(blob, (size_t) n, ctxj, NULL,
                   "InvalidCiphertextException");
    blob[20] = 1;
    decrypt_expect(blob, (size_t) n, ctxj, NULL, NULL);

    free(id);
    free(other);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_answer_blob_from_the_formula_opens),
        cmocka_unit_test(seal_then_open_round_trips),
        cmocka_unit_test(codec_refuses_every_damage),
        cmocka_unit_test_setup_teardown(decrypt_refuses_damaged_blobs, setup,
                                        teardown),
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
