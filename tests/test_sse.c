/*
 * SSE header rules: the modes, key ids, contexts and bucket-key flags a
 * request asks for, S3's errors for what it refuses, the canonical form
 * of encryption contexts, and user metadata as S3 counts it.
 */

#include "unit.h"

#include "kms_crypto.h"
#include "s3_sse.h"


#define MAX_H  64

typedef struct {
    s3_header_t  h[MAX_H];
    size_t       n;
    char         b64[2][9000];
} hdrs_t;


static void
add(hdrs_t *t, const char *name, const char *value)
{
    assert_true(t->n < MAX_H);
    t->h[t->n].name.data = (const unsigned char *) name;
    t->h[t->n].name.len = strlen(name);
    t->h[t->n].value.data = (const unsigned char *) value;
    t->h[t->n].value.len = strlen(value);
    t->n++;
}


/* adds the context header with the base64 of json */
static void
add_ctx(hdrs_t *t, int slot, const char *json)
{
    size_t  n;

    n = kms_base64_encode((const unsigned char *) json, strlen(json),
                          t->b64[slot]);
    t->b64[slot][n] = '\0';
    add(t, "x-amz-server-side-encryption-context", t->b64[slot]);
}


static s3_err_t
parse(s3_op_t op, hdrs_t *t, s3_sse_t *out)
{
    return s3_sse_parse(op, t->h, t->n, out);
}


static void
assert_str(s3_str_t s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.data, want, s.len) != 0) {
        fail_msg("got \"%.*s\", want \"%s\"", (int) s.len, s.data, want);
    }
}


static const s3_xml_elem_t *
extra(const s3_error_t *e, const char *name)
{
    size_t  i;

    for (i = 0; i < e->nextra; i++) {
        if (strcmp(e->extra[i].name, name) == 0) {
            return &e->extra[i];
        }
    }

    return NULL;
}


static void
assert_extra(const s3_error_t *e, const char *name, const char *value)
{
    const s3_xml_elem_t  *x = extra(e, name);

    if (x == NULL) {
        fail_msg("no <%s> in the error", name);
    }

    if (value != NULL) {
        assert_str(x->value, value);
    }
}


/* ---- modes ----------------------------------------------------------- */

static void
test_no_sse_headers_leave_the_bucket_default(void **state)
{
    hdrs_t    t = { .n = 0 };
    s3_sse_t  s;

    add(&t, "Content-Type", "text/plain");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.mode, S3_SSE_NONE);
    assert_int_equal(s.bucket_key, -1);
    assert_false(s.has_key_id);
    assert_false(s.has_context);
    assert_int_equal(s.ctx.npairs, 0);
    assert_int_equal(s.meta_size, 0);
}


static void
test_aes256_and_aws_kms_are_read(void **state)
{
    hdrs_t    t = { .n = 0 };
    s3_sse_t  s;

    add(&t, "X-Amz-Server-Side-Encryption", "AES256");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.mode, S3_SSE_AES256);
    assert_string_equal(s3_sse_mode_name(s.mode), "AES256");

    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms");
    add(&t, "x-amz-server-side-encryption-aws-kms-key-id", "alias/app");
    add(&t, "x-amz-server-side-encryption-bucket-key-enabled", "true");
    add_ctx(&t, 0, "{\"b\": \"2\", \"a\": \"1\"}");
    assert_int_equal(parse(S3_OP_CREATE_MULTIPART_UPLOAD, &t, &s), S3_OK);
    assert_int_equal(s.mode, S3_SSE_KMS);
    assert_true(s.has_key_id);
    assert_str(s.key_id, "alias/app");
    assert_int_equal(s.bucket_key, 1);
    assert_true(s.has_context);
    assert_int_equal(s.ctx.npairs, 2);
    assert_str(s.ctx.keys[0], "a");
    assert_str(s.ctx.values[0], "1");
    assert_str(s.ctx.keys[1], "b");
    assert_str(s.ctx.values[1], "2");
    assert_str(s.ctx.json, "{\"a\":\"1\",\"b\":\"2\"}");

    /* CopyObject takes them for its target */
    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms");
    add(&t, "x-amz-server-side-encryption-bucket-key-enabled", "FALSE");
    assert_int_equal(parse(S3_OP_COPY_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.mode, S3_SSE_KMS);
    assert_false(s.has_key_id);
    assert_int_equal(s.bucket_key, 0);
}


static void
test_unknown_sse_value_is_invalid_argument(void **state)
{
    size_t    i;
    hdrs_t    t;
    s3_sse_t  s;

    static const char  *bad[] = {
        "aes256", "AES512", "aws:KMS", "aes:kms", "", " AES256", NULL
    };

    for (i = 0; bad[i]; i++) {
        t.n = 0;
        add(&t, "x-amz-server-side-encryption", bad[i]);

        if (parse(S3_OP_PUT_OBJECT, &t, &s) != S3_ERR_INVALID_ARGUMENT) {
            fail_msg("accepted: \"%s\"", bad[i]);
        }

        assert_string_equal(s.error.message,
                            "The encryption method specified is not "
                            "supported");
        assert_extra(&s.error, "ArgumentName",
                     "x-amz-server-side-encryption");
        assert_extra(&s.error, "ArgumentValue", bad[i]);
    }

    /* twice: S3 would read "AES256,AES256" */
    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "AES256");
    add(&t, "x-amz-server-side-encryption", "AES256");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
}


static void
test_dsse_and_sse_c_are_not_implemented(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms:dsse");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_ERR_NOT_IMPLEMENTED);
    assert_extra(&s.error, "Header", "x-amz-server-side-encryption");

    t.n = 0;
    add(&t, "x-amz-server-side-encryption-customer-algorithm", "AES256");
    add(&t, "x-amz-server-side-encryption-customer-key", "a2V5");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_ERR_NOT_IMPLEMENTED);
    assert_extra(&s.error, "Header",
                 "x-amz-server-side-encryption-customer-algorithm");

    /* on reads, parts, listings of parts too */
    assert_int_equal(parse(S3_OP_GET_OBJECT, &t, &s), S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(parse(S3_OP_HEAD_OBJECT, &t, &s), S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(parse(S3_OP_UPLOAD_PART, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(parse(S3_OP_COMPLETE_MULTIPART_UPLOAD, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(parse(S3_OP_LIST_PARTS, &t, &s), S3_ERR_NOT_IMPLEMENTED);

    /* SSE-C with x-amz-server-side-encryption: S3's conflict first */
    add(&t, "x-amz-server-side-encryption", "AES256");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_string_equal(s.error.message, "Server Side Encryption with "
                        "Customer provided key is incompatible with the "
                        "encryption method specified");
    assert_extra(&s.error, "ArgumentValue", "AES256");

    /* the copy source's SSE-C */
    t.n = 0;
    add(&t, "x-amz-copy-source-server-side-encryption-customer-key-MD5",
        "bWQ1");
    assert_int_equal(parse(S3_OP_COPY_OBJECT, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(parse(S3_OP_UPLOAD_PART_COPY, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);
}


static void
test_kms_headers_need_aws_kms(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "x-amz-server-side-encryption-aws-kms-key-id", "k1");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_string_equal(s.error.message, "Server Side Encryption with AWS "
                        "KMS managed key requires HTTP header "
                        "x-amz-server-side-encryption : aws:kms");
    assert_extra(&s.error, "ArgumentName",
                 "x-amz-server-side-encryption-aws-kms-key-id");
    assert_extra(&s.error, "ArgumentValue", "k1");

    add(&t, "x-amz-server-side-encryption", "AES256");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);

    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "AES256");
    add_ctx(&t, 0, "{\"a\":\"b\"}");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_extra(&s.error, "ArgumentName",
                 "x-amz-server-side-encryption-context");

    /* the key id header twice */
    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms");
    add(&t, "x-amz-server-side-encryption-aws-kms-key-id", "k1");
    add(&t, "x-amz-server-side-encryption-aws-kms-key-id", "k2");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
}


static void
test_sse_headers_refused_where_s3_refuses_them(void **state)
{
    size_t    i;
    hdrs_t    t;
    s3_sse_t  s;

    static const s3_op_t  ops[] = {
        S3_OP_UPLOAD_PART, S3_OP_UPLOAD_PART_COPY,
        S3_OP_COMPLETE_MULTIPART_UPLOAD, S3_OP_GET_OBJECT, S3_OP_HEAD_OBJECT
    };

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        t.n = 0;
        add(&t, "x-amz-server-side-encryption", "AES256");
        assert_int_equal(parse(ops[i], &t, &s), S3_ERR_INVALID_ARGUMENT);
        assert_string_equal(s.error.message, "x-amz-server-side-encryption "
                            "header is not supported for this operation.");
        assert_extra(&s.error, "ArgumentName",
                     "x-amz-server-side-encryption");
        assert_extra(&s.error, "ArgumentValue", "AES256");

        t.n = 0;
        add(&t, "x-amz-server-side-encryption-aws-kms-key-id", "arn:x");
        assert_int_equal(parse(ops[i], &t, &s), S3_ERR_INVALID_ARGUMENT);
        assert_string_equal(s.error.message, "Server Side Encryption with "
                            "AWS KMS managed key requires HTTP header "
                            "x-amz-server-side-encryption : aws:kms");
        assert_extra(&s.error, "ArgumentName",
                     "x-amz-server-side-encryption");
        assert_null(extra(&s.error, "ArgumentValue"));
    }

    /* operations without rules ignore the headers */
    assert_int_equal(parse(S3_OP_DELETE_OBJECT, &t, &s), S3_OK);
    assert_int_equal(parse(S3_OP_LIST_OBJECTS_V2, &t, &s), S3_OK);
}


static void
test_bucket_key_flag_true_false_only(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "x-amz-server-side-encryption-bucket-key-enabled", "yes");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_extra(&s.error, "ArgumentValue", "yes");

    /* given alone, for the bucket default to use */
    t.n = 0;
    add(&t, "x-amz-server-side-encryption-bucket-key-enabled", "True");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.bucket_key, 1);

    /* SSE-S3 has no bucket keys: S3 accepts the flag and ignores it */
    add(&t, "x-amz-server-side-encryption", "AES256");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.mode, S3_SSE_AES256);
    assert_int_equal(s.bucket_key, -1);
}


/* ---- contexts ---------------------------------------------------------- */

static void
test_context_canonical_form_known_answer(void **state)
{
    s3_sse_ctx_t  c;

    static const char  json[] =
        " { \"z\\u00e9\" : \"x\\/y\" ,\n\t\"k\":\"line\\nbreak \\\"q\\\" "
        "\\\\ \\u0001\\u001F\\t\",\"\\ud83d\\ude00\":\"\xc3\xa9\",\"A\":\"\"} ";

    assert_int_equal(s3_sse_ctx_parse_json((const unsigned char *) json,
                                           sizeof(json) - 1, &c), S3_OK);
    assert_int_equal(c.npairs, 4);

    /* sorted by bytes: "A" < "k" < "z\xc3\xa9" < "\xf0\x9f\x98\x80" */
    assert_str(c.keys[0], "A");
    assert_str(c.keys[1], "k");
    assert_str(c.values[1], "line\nbreak \"q\" \\ \x01\x1f\t");
    assert_str(c.keys[2], "z\xc3\xa9");
    assert_str(c.values[2], "x/y");
    assert_str(c.keys[3], "\xf0\x9f\x98\x80");
    assert_str(c.json,
               "{\"A\":\"\",\"k\":\"line\\nbreak \\\"q\\\" \\\\ \\u0001"
               "\\u001f\\t\",\"z\xc3\xa9\":\"x/y\",\"\xf0\x9f\x98\x80\":"
               "\"\xc3\xa9\"}");
}


static void
test_context_round_trips_through_its_stored_form(void **state)
{
    s3_sse_ctx_t   c, d;
    char           b64[256];
    size_t         n;

    static const char  json[] = "{\"dept\":\"fin\",\"app\":\"\xe2\x82\xac\"}";

    assert_int_equal(s3_sse_ctx_parse_json((const unsigned char *) json,
                                           sizeof(json) - 1, &c), S3_OK);

    /* what x-amz-meta-ssek-ctx holds, read back at GET */
    n = kms_base64_encode(c.json.data, c.json.len, b64);
    assert_int_equal(s3_sse_ctx_decode((unsigned char *) b64, n, &d), S3_OK);
    assert_int_equal(d.npairs, 2);
    assert_int_equal(d.json.len, c.json.len);
    assert_memory_equal(d.json.data, c.json.data, c.json.len);
    assert_str(d.keys[0], "app");
    assert_str(d.keys[1], "dept");
}


static void
test_empty_context_object_is_no_context(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms");
    add_ctx(&t, 0, " {} ");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_true(s.has_context);
    assert_int_equal(s.ctx.npairs, 0);
    assert_int_equal(s.ctx.json.len, 0);
}


static void
test_bad_contexts_are_refused(void **state)
{
    size_t    i;
    hdrs_t    t;
    s3_sse_t  s;

    static const char  *bad_json[] = {
        "", "[]", "\"a\"", "{", "{\"a\":\"b\"", "{\"a\":\"b\",}",
        "{\"a\":1}", "{\"a\":true}", "{\"a\":null}", "{\"a\":{\"b\":\"c\"}}",
        "{\"a\":[\"b\"]}", "{a:\"b\"}", "{'a':'b'}", "{\"a\":\"b\"} x",
        "{\"a\":\"b\"}{}", "{\"a\":\"b\",\"a\":\"c\"}",
        "{\"a\":\"b\",\"\\u0061\":\"c\"}", "{\"aws:s3:arn\":\"x\"}",
        "{\"AWS:x\":\"y\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00x\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"\":\"x\"}", "{\"a\":\"b\nc\"}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", NULL
    };

    for (i = 0; bad_json[i]; i++) {
        t.n = 0;
        add(&t, "x-amz-server-side-encryption", "aws:kms");
        add_ctx(&t, 0, bad_json[i]);

        if (parse(S3_OP_PUT_OBJECT, &t, &s) != S3_ERR_INVALID_ARGUMENT) {
            fail_msg("context accepted: %s", bad_json[i]);
        }

        assert_string_equal(s.error.message, "The header "
                            "'x-amz-server-side-encryption-context' shall be "
                            "Base64-encoded UTF-8 string holding JSON which "
                            "represents a string-string map");
        assert_extra(&s.error, "ArgumentName",
                     "x-amz-server-side-encryption-context");
        assert_int_equal(s.ctx.npairs, 0);
    }

    /* not canonical base64 */
    t.n = 0;
    add(&t, "x-amz-server-side-encryption", "aws:kms");
    add(&t, "x-amz-server-side-encryption-context", "eyJhIjoiYiJ9 ");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    t.h[1].value.data = (const unsigned char *) "eyJhIjoiYiJ9";
    t.h[1].value.len = 12;
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    t.h[1].value.data = (const unsigned char *) "e30";
    t.h[1].value.len = 3;
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
}


static void
test_context_pair_limit(void **state)
{
    static char   json[8192];
    size_t        i, n;
    s3_sse_ctx_t  c;

    n = 0;
    json[n++] = '{';
    for (i = 0; i < S3_SSE_CTX_MAX_PAIRS; i++) {
        n += (size_t) sprintf(json + n, "%s\"k%03zu\":\"\"", i ? "," : "", i);
    }
    json[n++] = '}';

    assert_int_equal(s3_sse_ctx_parse_json((unsigned char *) json, n, &c),
                     S3_OK);
    assert_int_equal(c.npairs, S3_SSE_CTX_MAX_PAIRS);

    n--;
    n += (size_t) sprintf(json + n, ",\"more\":\"\"}");
    assert_int_equal(s3_sse_ctx_parse_json((unsigned char *) json, n, &c),
                     S3_ERR_INVALID_ARGUMENT);
}


/* ---- metadata ---------------------------------------------------------- */

static void
test_client_ssek_metadata_is_refused(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "X-Amz-Meta-SSEK-dek", "AAAA");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_extra(&s.error, "ArgumentName", "X-Amz-Meta-SSEK-dek");
    assert_int_equal(parse(S3_OP_CREATE_MULTIPART_UPLOAD, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(parse(S3_OP_COPY_OBJECT, &t, &s),
                     S3_ERR_INVALID_ARGUMENT);

    /* "ssekx" is not the reserved "ssek-" */
    t.n = 0;
    add(&t, "x-amz-meta-ssekx", "1");
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
}


static void
test_metadata_size_counts_names_and_values(void **state)
{
    static char   big[2100];
    hdrs_t        t;
    s3_sse_t      s;

    t.n = 0;
    add(&t, "x-amz-meta-author", "Janet");          /* 6 + 5 */
    add(&t, "X-AMZ-META-\xc3\xa9", "\xe2\x82\xac"); /* 2 + 3 */
    add(&t, "x-amz-metadata-directive", "REPLACE"); /* not metadata */
    add(&t, "x-amz-meta-author", "Bob");            /* joined: ",Bob" */
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.meta_size, 6 + 5 + 2 + 3 + 4);

    /* 2048 is allowed, 2049 is not */
    memset(big, 'v', 2047);
    big[2047] = '\0';
    t.n = 0;
    add(&t, "x-amz-meta-a", big);
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
    assert_int_equal(s.meta_size, 2048);

    big[2047] = 'v';
    big[2048] = '\0';
    t.h[0].value.len = 2048;
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s),
                     S3_ERR_METADATA_TOO_LARGE);
    assert_extra(&s.error, "Size", "2049");
    assert_extra(&s.error, "MaxSizeAllowed", "2048");

    /* CopyObject keeps the source's metadata unless told REPLACE */
    assert_int_equal(parse(S3_OP_COPY_OBJECT, &t, &s), S3_OK);
    assert_false(s.meta_replace);
    add(&t, "x-amz-metadata-directive", "REPLACE");
    assert_int_equal(parse(S3_OP_COPY_OBJECT, &t, &s),
                     S3_ERR_METADATA_TOO_LARGE);
}


static void
test_gateway_metadata_accounting(void **state)
{
    s3_error_t  e;
    char        num[24];

    assert_int_equal(s3_sse_meta_entry_size(strlen("ssek-dek"), 100), 108);

    s3_sse_meta_error(&e, 2100, num);
    assert_int_equal(e.err, S3_ERR_METADATA_TOO_LARGE);
    assert_extra(&e, "Size", "2100");
    assert_extra(&e, "MaxSizeAllowed", "2048");
}


/* ---- checksums ------------------------------------------------------- */

static void
test_multipart_full_object_checksum_refused(void **state)
{
    hdrs_t    t;
    s3_sse_t  s;

    t.n = 0;
    add(&t, "x-amz-checksum-algorithm", "CRC32");
    add(&t, "x-amz-checksum-type", "COMPOSITE");
    assert_int_equal(parse(S3_OP_CREATE_MULTIPART_UPLOAD, &t, &s), S3_OK);

    t.n = 0;
    add(&t, "x-amz-checksum-algorithm", "CRC32");
    add(&t, "x-amz-checksum-type", "FULL_OBJECT");
    assert_int_equal(parse(S3_OP_CREATE_MULTIPART_UPLOAD, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_extra(&s.error, "Header", "x-amz-checksum-type");
    assert_int_equal(parse(S3_OP_COMPLETE_MULTIPART_UPLOAD, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);

    t.n = 0;
    add(&t, "x-amz-checksum-crc32", "AAAAAA==");
    assert_int_equal(parse(S3_OP_COMPLETE_MULTIPART_UPLOAD, &t, &s),
                     S3_ERR_NOT_IMPLEMENTED);

    /* a single PUT's checksum is checked by the gateway on plaintext */
    assert_int_equal(parse(S3_OP_PUT_OBJECT, &t, &s), S3_OK);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_no_sse_headers_leave_the_bucket_default),
        cmocka_unit_test(test_aes256_and_aws_kms_are_read),
        cmocka_unit_test(test_unknown_sse_value_is_invalid_argument),
        cmocka_unit_test(test_dsse_and_sse_c_are_not_implemented),
        cmocka_unit_test(test_kms_headers_need_aws_kms),
        cmocka_unit_test(test_sse_headers_refused_where_s3_refuses_them),
        cmocka_unit_test(test_bucket_key_flag_true_false_only),
        cmocka_unit_test(test_context_canonical_form_known_answer),
        cmocka_unit_test(test_context_round_trips_through_its_stored_form),
        cmocka_unit_test(test_empty_context_object_is_no_context),
        cmocka_unit_test(test_bad_contexts_are_refused),
        cmocka_unit_test(test_context_pair_limit),
        cmocka_unit_test(test_client_ssek_metadata_is_refused),
        cmocka_unit_test(test_metadata_size_counts_names_and_values),
        cmocka_unit_test(test_gateway_metadata_accounting),
        cmocka_unit_test(test_multipart_full_object_checksum_refused),
    };

    return UNIT_RUN(tests);
}
