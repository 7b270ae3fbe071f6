/*
 * kms_crypto against Project Wycheproof: every AES-GCM case with a 256-bit
 * key (105; one uses a 257-byte IV, beyond OpenSSL 3.0, and is refused),
 * every HKDF-SHA256 case (86), every HMAC-SHA256 case (174, truncated tags
 * compared on their prefix), and base64 strictness.
 */

#include "unit.h"

#include <jansson.h>

#include "kms_crypto.h"


static json_t *
load(const char *name)
{
    char          *text;
    size_t         len;
    json_t        *j;

    text = unit_read_vector(name, &len);
    assert_non_null(text);
    j = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}


static unsigned char *
hex(json_t *t, const char *field, size_t *len)
{
    const char     *s = json_string_value(json_object_get(t, field));
    unsigned char  *p;
    long            n;

    assert_non_null(s);
    p = malloc(strlen(s) / 2 + 1);
    n = unit_unhex(s, p, strlen(s) / 2 + 1);
    assert_true(n >= 0);
    *len = (size_t) n;
    return p;
}


static int
is_valid(json_t *t)
{
    const char  *r = json_string_value(json_object_get(t, "result"));

    assert_true(strcmp(r, "valid") == 0 || strcmp(r, "invalid") == 0);
    return strcmp(r, "valid") == 0;
}


static void
wycheproof_aes_gcm_256(void **state)
{
    json_t         *doc = load("wycheproof/aes_gcm_test.json"), *g, *t;
    size_t          gi, ti, klen, ivlen, alen, mlen, clen, tlen, count = 0;
    size_t          valid = 0, long_iv = 0;
    unsigned char  *key, *iv, *aad, *msg, *ct, *tag, *out, otag[16];

    json_array_foreach(json_object_get(doc, "testGroups"), gi, g) {
        if (json_integer_value(json_object_get(g, "keySize")) != 256) {
            continue;
        }
        assert_int_equal(json_integer_value(json_object_get(g, "tagSize")),
                         128);

        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            key = hex(t, "key", &klen);
            iv = hex(t, "iv", &ivlen);
            aad = hex(t, "aad", &alen);
            msg = hex(t, "msg", &mlen);
            ct = hex(t, "ct", &clen);
            tag = hex(t, "tag", &tlen);
            out = malloc(mlen + clen + 1);
            assert_int_equal(klen, 32);
            count++;

            if (ivlen > 128) {
                /*
                 * OpenSSL 3.0's GCM takes IVs of at most 128 bytes; ours are
                 * always 12.  Both directions must refuse, never misbehave.
                 */
                long_iv++;
                assert_int_equal(kms_gcm_encrypt(key, iv, ivlen, aad, alen,
                                                 msg, mlen, out, otag), -1);
                assert_int_equal(kms_gcm_decrypt(key, iv, ivlen, aad, alen,
                                                 ct, clen, out, tag), -1);

            } else if (is_valid(t)) {
                valid++;
                assert_int_equal(kms_gcm_encrypt(key, iv, ivlen, aad, alen,
                                                 msg, mlen, out, otag), 0);
                assert_memory_equal(out, ct, clen);
                assert_memory_equal(otag, tag, 16);
                assert_int_equal(kms_gcm_decrypt(key, iv, ivlen, aad, alen,
                                                 ct, clen, out, tag), 0);
                assert_memory_equal(out, msg, mlen);

            } else if (tlen == 16) {
                assert_int_equal(kms_gcm_decrypt(key, iv, ivlen, aad, alen,
                                                 ct, clen, out, tag), -1);
            }

            free(key);
            free(iv);
            free(aad);
            free(msg);
            free(ct);
            free(tag);
            free(out);
        }
    }

    print_message("# AES-256-GCM (%s): %zu cases: %zu valid matched, %zu "
                  "invalid refused, %zu with IVs over OpenSSL's 128 bytes "
                  "refused\n", kms_gcm_using(), count, valid,
                  count - valid - long_iv, long_iv);
    assert_int_equal(count, 105);
    json_decref(doc);
}


static void
wycheproof_hkdf_sha256(void **state)
{
    json_t         *doc = load("wycheproof/hkdf_sha256_test.json"), *g, *t;
    size_t          gi, ti, ilen, slen, nlen, olen, size, count = 0;
    unsigned char  *ikm, *salt, *info, *okm, *out;

    json_array_foreach(json_object_get(doc, "testGroups"), gi, g) {
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            ikm = hex(t, "ikm", &ilen);
            salt = hex(t, "salt", &slen);
            info = hex(t, "info", &nlen);
            okm = hex(t, "okm", &olen);
            size = (size_t) json_integer_value(json_object_get(t, "size"));
            out = malloc(size + 1);
            count++;

            if (is_valid(t)) {
                assert_int_equal(kms_hkdf_sha256(ikm, ilen, salt, slen, info,
                                                 nlen, out, size), 0);
                assert_memory_equal(out, okm, size);
            } else {
                /* the only invalid cases ask for more than 255 × 32 bytes */
                assert_true(size > 255 * 32);
                assert_int_equal(kms_hkdf_sha256(ikm, ilen, salt, slen, info,
                                                 nlen, out, size), -1);
            }

            free(ikm);
            free(salt);
            free(info);
            free(okm);
            free(out);
        }
    }

    print_message("# HKDF-SHA256: %zu cases\n", count);
    assert_int_equal(count, 86);
    json_decref(doc);
}


static void
wycheproof_hmac_sha256(void **state)
{
    json_t         *doc = load("wycheproof/hmac_sha256_test.json"), *g, *t;
    size_t          gi, ti, klen, mlen, tlen, count = 0, tsize;
    unsigned char  *key, *msg, *tag, out[32];

    json_array_foreach(json_object_get(doc, "testGroups"), gi, g) {
        tsize = (size_t) json_integer_value(json_object_get(g, "tagSize")) / 8;

        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            key = hex(t, "key", &klen);
            msg = hex(t, "msg", &mlen);
            tag = hex(t, "tag", &tlen);
            count++;

            assert_int_equal(kms_hmac_sha256(key, klen, msg, mlen, out), 0);

            if (is_valid(t)) {
                assert_int_equal(tlen, tsize);
                assert_true(kms_ct_equal(out, tag, tsize));
            } else {
                assert_false(tlen == tsize && kms_ct_equal(out, tag, tsize));
            }

            free(key);
            free(msg);
            free(tag);
        }
    }

    print_message("# HMAC-SHA256: %zu cases\n", count);
    assert_int_equal(count, 174);
    json_decref(doc);
}


static void
base64_is_strict(void **state)
{
    unsigned char  out[64];
    char           enc[64];
    size_t         n;

    assert_int_equal(kms_base64_decode("aGVsbG8=", 8, out, sizeof(out)), 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(kms_base64_decode("", 0, out, sizeof(out)), 0);
    assert_int_equal(kms_base64_decode("AP8A", 4, out, sizeof(out)), 3);

    assert_int_equal(kms_base64_decode("aGVsbG8", 7, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("aGVsbG9=", 8, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("aGVs bG8=", 9, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("aGVsbG8=\n", 9, out, sizeof(out)),
                     -1);
    assert_int_equal(kms_base64_decode("aGVs_G8=", 8, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("aGV=bG8=", 8, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("====", 4, out, sizeof(out)), -1);
    assert_int_equal(kms_base64_decode("aGVsbG8=", 8, out, 4), -1);

    n = kms_base64_encode((const unsigned char *) "hello!", 6, enc);
    assert_int_equal(n, kms_base64_encoded_len(6));
    assert_memory_equal(enc, "aGVsbG8h", 8);
}


/* kms_hex: every byte value as two lowercase digits, NUL-terminated */
static void
hex_gives_two_lowercase_digits_per_byte(void **state)
{
    size_t         i;
    char           out[2 * 256 + 1], ref[3];
    unsigned char  in[256];

    (void) state;

    for (i = 0; i < 256; i++) {
        in[i] = (unsigned char) (255 - i);
    }

    memset(out, 'x', sizeof(out));
    kms_hex(in, sizeof(in), out);

    for (i = 0; i < 256; i++) {
        snprintf(ref, sizeof(ref), "%02x", (unsigned) in[i]);
        assert_memory_equal(out + 2 * i, ref, 2);
    }
    assert_int_equal(out[512], '\0');

    out[0] = 'x';
    kms_hex(in, 0, out);
    assert_int_equal(out[0], '\0');
}


/* kms_wipe clears exactly the bytes asked for, at any length and offset */
static void
wipe_clears_exactly_the_range(void **state)
{
    size_t         len, off, i;
    unsigned char  buf[300];

    (void) state;

    for (len = 0; len <= 260; len += 13) {
        for (off = 0; off < 8; off += 3) {
            memset(buf, 0xa5, sizeof(buf));
            kms_wipe(buf + off, len);

            for (i = 0; i < sizeof(buf); i++) {
                assert_int_equal(buf[i],
                                 i >= off && i < off + len ? 0 : 0xa5);
            }
        }
    }

    kms_wipe(NULL, 16);                 /* no-op, no crash */
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_GCM_TEST(wycheproof_aes_gcm_256),
        cmocka_unit_test(wycheproof_hkdf_sha256),
        cmocka_unit_test(wycheproof_hmac_sha256),
        cmocka_unit_test(base64_is_strict),
        cmocka_unit_test(wipe_clears_exactly_the_range),
        cmocka_unit_test(hex_gives_two_lowercase_digits_per_byte),
    };

    return UNIT_RUN(tests);
}
