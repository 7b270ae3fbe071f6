/*
 * The request JSON reader (kms_core/kms_json.c) against jansson, which it
 * replaces on the hot path: hand-picked edge cases, then thousands of
 * deterministic mutations of seed documents; both must accept the same
 * texts and read the same values from them.
 */

#include "unit.h"

#include <jansson.h>

#include "kms_json.h"
#include "kms_int.h"


static int
same(const kms_json_t *k, json_t *j)
{
    const kms_json_t  *e;
    const char        *key;
    json_t            *v;
    size_t             i;

    switch (k->type) {
    case KMS_JSON_NULL:
        return json_is_null(j);
    case KMS_JSON_TRUE:
        return json_is_true(j);
    case KMS_JSON_FALSE:
        return json_is_false(j);
    case KMS_JSON_INTEGER:
        return json_is_integer(j) && json_integer_value(j) == k->integer;
    case KMS_JSON_REAL:
        return json_is_real(j) && json_real_value(j) == k->real;
    case KMS_JSON_STRING:
        return json_is_string(j) && json_string_length(j) == k->len
               && memcmp(json_string_value(j), k->str, k->len) == 0
               && k->str[k->len] == '\0';
    case KMS_JSON_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != k->n) {
            return 0;
        }
        for (i = 0, e = k->first; e; e = e->next, i++) {
            if (!same(e, json_array_get(j, i))) {
                return 0;
            }
        }
        return 1;
    case KMS_JSON_OBJECT:
        if (!json_is_object(j) || json_object_size(j) != k->n) {
            return 0;
        }
        for (e = k->first; e; e = e->next) {
            if (strlen(e->key) != e->klen) {
                return 0;
            }
            v = json_object_get(j, e->key);
            if (v == NULL || !same(e, v)) {
                return 0;
            }
        }
        json_object_foreach(j, key, v) {
            if (kms_json_get(k, key) == NULL) {
                return 0;
            }
        }
        return 1;
    }

    return 0;
}


/* 1 if both readers agree on text */
static int
agree(const char *text, size_t len)
{
    kms_json_t  *k = kms_json_parse(text, len);
    json_t      *j = json_loadb(text, len,
                                JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                                NULL);
    int          ok;

    ok = (k == NULL) == (j == NULL) && (k == NULL || same(k, j));

    if (!ok) {
        print_message("# disagree (%s / %s): %.*s\n", k ? "ours" : "-",
                      j ? "jansson" : "-", (int) (len > 200 ? 200 : len),
                      text);
    }

    kms_json_free(k);
    json_decref(j);
    return ok;
}


static void
edge_cases_agree_with_jansson(void **state)
{
    static const char *const  cases[] = {
        "{}", "[]", "{\"a\":1}",
        " {\"a\" : [1, 2.5, -3e2, true, false, null]} ",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":2}}", "[1,]", "{,}",
        "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[", "]", "", " ", "nul",
        "\"\\u00e9\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\u0000\"", "\"a\\u0041\"", "\"\\x\"", "\"\t\"", "\"\\/\"",
        "\"\xc3\xa9\"", "\"\xc3\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xff\"", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "-0", "01", "1.",
        ".5", "1e", "1e+", "1E-2", "0.1e1", "1e400", "-1e400", "1e-400",
        "[1 2]", "{\"a\":1 \"b\":2}", "\"unterminated", "{\"\":0}",
        "[[[[[[[[[[]]]]]]]]]]", "true false", "{\"k\":\"v\"} x",
        "{\"\\u0061\":1,\"a\":2}", "\xef\xbb\xbf{}",
        "{\"a\":\"\\uD800\\u0041\"}"
    };
    size_t  i;
    int     bad = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bad += !agree(cases[i], strlen(cases[i]));
    }

    assert_int_equal(bad, 0);
}


static void
deep_nesting_is_refused(void **state)
{
    char        buf[256];
    kms_json_t  *k;

    memset(buf, '[', 70);
    memset(buf + 70, ']', 70);
    k = kms_json_parse(buf, 140);
    assert_null(k);

    memset(buf, '[', 60);
    memset(buf + 60, ']', 60);
    k = kms_json_parse(buf, 120);
    assert_non_null(k);
    kms_json_free(k);
}


static void
large_objects_find_duplicates(void **state)
{
    char        *buf = malloc(200000);
    size_t       n = 0, i;
    kms_json_t  *k;

    n += (size_t) sprintf(buf + n, "{");
    for (i = 0; i < 5000; i++) {
        n += (size_t) sprintf(buf + n, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    }
    n += (size_t) sprintf(buf + n, "}");

    k = kms_json_parse(buf, n);
    assert_non_null(k);
    assert_int_equal(k->n, 5000);
    assert_int_equal(kms_json_get(k, "k4321")->integer, 4321);
    kms_json_free(k);

    /* the same with one key twice, far apart */
    memcpy(buf + n - 1, ",\"k17\":0}", 9);
    assert_true(agree(buf, n + 8));
    k = kms_json_parse(buf, n + 8);
    assert_null(k);

    free(buf);
}


static void
mutations_agree_with_jansson(void **state)
{
    static const char *const  seeds[] = {
        "{\"KeyId\":\"alias/x\",\"Plaintext\":\"aGVsbG8=\","
        "\"EncryptionContext\":{\"a\":\"b\",\"c\":\"\\u00e9\"}}",
        "{\"Tags\":[{\"TagKey\":\"k\",\"TagValue\":\"v\"}],\"Limit\":10,"
        "\"DryRun\":false,\"x\":null,\"r\":-1.5e3}",
        "[\"\\ud83d\\ude00\",\"\\\\\\\"\\/\\b\\f\\n\\r\\t\",123456789012,"
        "{\"\":[]}]"
    };
    unsigned long  rng = 42;
    char           buf[512];
    size_t         s, m, len, pos;
    int            bad = 0, accepted = 0;
    static const char  alphabet[] = "{}[]:,\"\\u0123456789abcdefABCDEF.-+eE "
                                    "tfnlrsx\xc3\xa9\xed\xa0\xff\x01";

    for (m = 0; m < 30000; m++) {
        s = m % (sizeof(seeds) / sizeof(seeds[0]));
        len = strlen(seeds[s]);
        memcpy(buf, seeds[s], len);

        /* one to three edits: replace, insert or delete a byte */
        for (pos = 0; pos < 1 + (m % 3); pos++) {
            size_t  at;
            char    ch;

            rng = rng * 6364136223846793005UL + 1442695040888963407UL;
            at = (size_t) (rng >> 33) % (len + 1);
            ch = alphabet[(rng >> 17) % (sizeof(alphabet) - 1)];

            switch ((rng >> 9) % 3) {
            case 0:
                if (at < len) {
                    buf[at] = ch;
                }
                break;
            case 1:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = ch;
                    len++;
                }
                break;
            default:
                if (at < len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
            }
        }

        bad += !agree(buf, len);
        {
            json_t  *j = json_loadb(buf, len, JSON_DECODE_ANY, NULL);

            accepted += j != NULL;
            json_decref(j);
        }
    }

    print_message("# 30000 mutations, agreement on all; %d well-formed\n",
                  accepted);
    assert_int_equal(bad, 0);
}


/*
 * Runs of plain text are read and written 16 or 8 bytes at a time: every
 * kind of byte that ends a run, at every offset of strings up to 40 bytes
 * long, must be read as jansson reads it and written as one byte at a
 * time would escape it.
 */

static const char *const  kms_specials[] = {
    "\"", "\\", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
    "\xf0\x9f\x98\x80", "\xff", "\xc3", "\\u00e9", "\\n", " ", "~"
};


static void
reference_escape(kms_buf_t *b, const char *s, size_t n)
{
    size_t         i;
    unsigned char  c;
    char           esc[8];

    kms_buf_add(b, "\"", 1);

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        switch (c) {
        case '"':  kms_buf_add(b, "\\\"", 2); break;
        case '\\': kms_buf_add(b, "\\\\", 2); break;
        case '\n': kms_buf_add(b, "\\n", 2); break;
        case '\r': kms_buf_add(b, "\\r", 2); break;
        case '\t': kms_buf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                kms_buf_add(b, esc, 6);
            } else {
                kms_buf_add(b, &s[i], 1);
            }
        }
    }

    kms_buf_add(b, "\"", 1);
}


static void
plain_runs_read_and_written_as_bytewise(void **state)
{
    char        text[128], str[64];
    size_t      len, at, k, slen, n;
    kms_buf_t   mine, ref;
    int         bad = 0;

    for (len = 0; len <= 40; len++) {
        for (at = 0; at <= len; at++) {
            for (k = 0; k < sizeof(kms_specials) / sizeof(kms_specials[0]);
                 k++)
            {
                /* the reader: "aaa<special>aaa" as a JSON document */
                memset(str, 'a', len);
                slen = strlen(kms_specials[k]);
                memmove(str + at + slen, str + at, len - at);
                memcpy(str + at, kms_specials[k], slen);
                n = len + slen;

                text[0] = '"';
                memcpy(text + 1, str, n);
                text[n + 1] = '"';
                bad += !agree(text, n + 2);

                /* the writer: the same bytes as a string value */
                kms_buf_init(&mine);
                kms_buf_init(&ref);
                kms_buf_add(&mine, "x", 1);
                kms_buf_add(&ref, "x", 1);
                kms_buf_json(&mine, str, n);
                reference_escape(&ref, str, n);
                assert_int_equal(mine.len, ref.len);
                assert_memory_equal(mine.data, ref.data, ref.len);
                assert_int_equal(mine.data[mine.len], '\0');
                kms_buf_free(&mine);
                kms_buf_free(&ref);
            }
        }
    }

    assert_int_equal(bad, 0);

    /* the bytewise tail and the eight-byte blocks agree on lengths */
    memset(str, 'a', sizeof(str));
    for (len = 0; len < sizeof(str); len++) {
        assert_int_equal(kms_json_plain((const unsigned char *) str, len, 0),
                         len);
        str[len] = '"';
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 1), len);
        str[len] = '\x7f';
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 0), len);
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        len + 1, 1), len + 1);
        str[len] = (char) 0x80;
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 1), len);
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        len + 1, 0), len + 1);
        /* the bounds of each class, in every lane of a 16-byte block */
        str[len] = '\0';
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 0), len);
        str[len] = 0x1f;
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 0), len);
        str[len] = '\\';
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 0), len);
        str[len] = 0x20;
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 1), sizeof(str));
        str[len] = 0x7e;
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 1), sizeof(str));
        str[len] = (char) 0xff;
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 0), sizeof(str));
        assert_int_equal(kms_json_plain((const unsigned char *) str,
                                        sizeof(str), 1), len);
        str[len] = 'a';
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_runs_read_and_written_as_bytewise),
        cmocka_unit_test(edge_cases_agree_with_jansson),
        cmocka_unit_test(deep_nesting_is_refused),
        cmocka_unit_test(large_objects_find_duplicates),
        cmocka_unit_test(mutations_agree_with_jansson),
    };

    return UNIT_RUN(tests);
}
