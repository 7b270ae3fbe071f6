/*
 * s3/s3_checksum: known answers from independent sources (the CRC
 * catalogue check values, RFC 3720's CRC32C vectors, aws-checksums'
 * CRC64NVME vectors, values botocore computes, RFC 1321 / FIPS 180),
 * incremental == one shot over random splits, the SSE4.2 path against the
 * portable one and both against a bitwise reference written here.
 */

#include "unit.h"

#include "s3_checksum.h"


/* bit-at-a-time references, deliberately unlike the table code */

static uint32_t
ref_crc32c(const unsigned char *p, size_t len)
{
    uint32_t  crc = 0xffffffff;
    int       k;

    while (len--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
        }
    }

    return ~crc;
}


static uint64_t
ref_crc64nvme(const unsigned char *p, size_t len)
{
    uint64_t  crc = ~(uint64_t) 0;
    int       k;

    while (len--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0x9a6c9329ac4bc9b5ULL : crc >> 1;
        }
    }

    return ~crc;
}


static uint32_t  rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}


static unsigned char *
random_buf(size_t len, uint32_t seed)
{
    size_t          i;
    unsigned char  *b = malloc(len ? len : 1);

    assert_non_null(b);
    rng_state = seed;
    for (i = 0; i < len; i++) {
        b[i] = (unsigned char) rng();
    }

    return b;
}


static void
expect_b64(s3_checksum_alg_t alg, const void *data, size_t len,
    const char *want)
{
    char    out[S3_CHECKSUM_B64_MAX];
    size_t  n;

    assert_int_equal(s3_checksum_base64(alg, data, len, out, &n), S3_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}


static void
crc_check_values_of_123456789(void **state)
{
    const char  *m = "123456789";

    assert_int_equal(s3_crc32(0, m, 9), 0xcbf43926u);
    assert_int_equal(s3_crc32c(0, m, 9), 0xe3069283u);
    assert_int_equal(s3_crc32c_sw(0, m, 9), 0xe3069283u);
    assert_true(s3_crc64nvme(0, m, 9) == 0xae8b14860a799888ULL);

    /* base64 of the big-endian value */
    expect_b64(S3_CKSUM_CRC32, m, 9, "y/Q5Jg==");
    expect_b64(S3_CKSUM_CRC32C, m, 9, "4waSgw==");
    expect_b64(S3_CKSUM_CRC64NVME, m, 9, "rosUhgp5mIg=");
}


static void
crc32c_rfc3720_vectors(void **state)
{
    int            i;
    unsigned char  b[32];

    memset(b, 0, sizeof(b));
    assert_int_equal(s3_crc32c(0, b, 32), 0x8a9136aau);
    assert_int_equal(s3_crc32c_sw(0, b, 32), 0x8a9136aau);

    memset(b, 0xff, sizeof(b));
    assert_int_equal(s3_crc32c(0, b, 32), 0x62a8ab43u);

    for (i = 0; i < 32; i++) {
        b[i] = (unsigned char) i;
    }
    assert_int_equal(s3_crc32c(0, b, 32), 0x46dd794eu);
    assert_int_equal(s3_crc32c_sw(0, b, 32), 0x46dd794eu);

    for (i = 0; i < 32; i++) {
        b[i] = (unsigned char) (31 - i);
    }
    assert_int_equal(s3_crc32c(0, b, 32), 0x113fdb5cu);
}


static void
crc64nvme_aws_checksums_vectors(void **state)
{
    int            i;
    unsigned char  b[32];

    memset(b, 0, sizeof(b));
    assert_true(s3_crc64nvme(0, b, 32) == 0xcf3473434d4ecf3bULL);

    for (i = 0; i < 32; i++) {
        b[i] = (unsigned char) i;
    }
    assert_true(s3_crc64nvme(0, b, 32) == 0xb9d9d4a8492cbd7fULL);

    assert_true(s3_crc64nvme(0, "Hello world", 11) == 0x38e259d03f312adbULL);
    expect_b64(S3_CKSUM_CRC64NVME, "Hello world", 11, "OOJZ0D8xKts=");
}


static void
crc32_known_values(void **state)
{
    int            i;
    unsigned char  b[32];

    memset(b, 0, sizeof(b));
    assert_int_equal(s3_crc32(0, b, 32), 0x190a55adu);

    for (i = 0; i < 32; i++) {
        b[i] = (unsigned char) i;
    }
    assert_int_equal(s3_crc32(0, b, 32), 0x91267e8au);
}


/* what botocore.httpchecksum produces for b"Hello world" */
static void
botocore_values_for_hello_world(void **state)
{
    expect_b64(S3_CKSUM_CRC32, "Hello world", 11, "i9aeUg==");
    expect_b64(S3_CKSUM_SHA1, "Hello world", 11,
               "e1AsOh9IyGCa4hLN+2Od7jlnP14=");
    expect_b64(S3_CKSUM_SHA256, "Hello world", 11,
               "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=");
}


static void
empty_input_values(void **state)
{
    expect_b64(S3_CKSUM_CRC32, "", 0, "AAAAAA==");
    expect_b64(S3_CKSUM_CRC32C, "", 0, "AAAAAA==");
    expect_b64(S3_CKSUM_CRC64NVME, "", 0, "AAAAAAAAAAA=");
    expect_b64(S3_CKSUM_SHA1, "", 0, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    expect_b64(S3_CKSUM_SHA256, "", 0,
               "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    expect_b64(S3_CKSUM_MD5, "", 0, "1B2M2Y8AsgTpgAmY7PhCfg==");
}


static void
digest_fips_and_rfc1321_vectors(void **state)
{
    size_t         n;
    char           hex[2 * S3_CHECKSUM_MAX_LEN + 1];
    unsigned char  out[S3_CHECKSUM_MAX_LEN];
    s3_checksum_t  c;

    assert_int_equal(s3_checksum_init(&c, S3_CKSUM_MD5), S3_OK);
    assert_int_equal(s3_checksum_update(&c, "abc", 3), S3_OK);
    assert_int_equal(s3_checksum_final(&c, out, &n), S3_OK);
    assert_int_equal(n, 16);
    unit_hex(out, n, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");

    /* reset starts over */
    assert_int_equal(s3_checksum_reset(&c), S3_OK);
    assert_int_equal(s3_checksum_update(&c, "message digest", 14), S3_OK);
    assert_int_equal(s3_checksum_final(&c, out, &n), S3_OK);
    unit_hex(out, n, hex);
    assert_string_equal(hex, "f96b697d7cb7938d525a2f31aaf161d0");
    s3_checksum_cleanup(&c);

    assert_int_equal(s3_checksum_init(&c, S3_CKSUM_SHA1), S3_OK);
    assert_int_equal(s3_checksum_update(&c, "abc", 3), S3_OK);
    assert_int_equal(s3_checksum_final(&c, out, &n), S3_OK);
    assert_int_equal(n, 20);
    unit_hex(out, n, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    s3_checksum_cleanup(&c);

    assert_int_equal(s3_checksum_init(&c, S3_CKSUM_SHA256), S3_OK);
    assert_int_equal(s3_checksum_update(&c, "abc", 3), S3_OK);
    assert_int_equal(s3_checksum_final(&c, out, &n), S3_OK);
    assert_int_equal(n, 32);
    unit_hex(out, n, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    s3_checksum_cleanup(&c);
}


static void
incremental_equals_one_shot_over_random_splits(void **state)
{
    int             alg, round;
    char            one[S3_CHECKSUM_B64_MAX], inc[S3_CHECKSUM_B64_MAX];
    size_t          len = 1 << 20, off, n, k;
    unsigned char  *data;
    s3_checksum_t   c;

    data = random_buf(len, 7);

    for (alg = S3_CKSUM_CRC32; alg <= S3_CKSUM_MD5; alg++) {
        assert_int_equal(s3_checksum_base64(alg, data, len, one, &n), S3_OK);

        for (round = 0; round < 4; round++) {
            rng_state = 1000u + (uint32_t) round;
            assert_int_equal(s3_checksum_init(&c, alg), S3_OK);

            for (off = 0; off < len; off += k) {
                /* small splits first, then large ones */
                k = round < 2 ? rng() % 61 : rng() % 70000;
                if (k > len - off) {
                    k = len - off;
                }
                assert_int_equal(s3_checksum_update(&c, data + off, k),
                                 S3_OK);
            }

            assert_int_equal(s3_checksum_final_base64(&c, inc, &n), S3_OK);
            s3_checksum_cleanup(&c);
            assert_string_equal(inc, one);
        }
    }

    free(data);
}


static void
crcs_match_bitwise_reference_at_every_alignment(void **state)
{
    size_t          off, len;
    unsigned char  *data;

    data = random_buf(600, 99);

    for (off = 0; off < 9; off++) {
        for (len = 0; len < 300; len++) {
            uint32_t  want32 = ref_crc32c(data + off, len);
            uint64_t  want64 = ref_crc64nvme(data + off, len);

            assert_int_equal(s3_crc32c(0, data + off, len), want32);
            assert_int_equal(s3_crc32c_sw(0, data + off, len), want32);
            assert_true(s3_crc64nvme(0, data + off, len) == want64);
        }
    }

    /* a large buffer, chained in two calls */
    free(data);
    data = random_buf(100003, 5);
    assert_int_equal(s3_crc32c(s3_crc32c(0, data, 4099), data + 4099,
                               100003 - 4099),
                     ref_crc32c(data, 100003));
    assert_true(s3_crc64nvme(s3_crc64nvme(0, data, 77), data + 77,
                             100003 - 77)
                == ref_crc64nvme(data, 100003));
    free(data);
}


static void
names_map_both_ways(void **state)
{
    int  alg;

    for (alg = S3_CKSUM_CRC32; alg <= S3_CKSUM_SHA256; alg++) {
        const char  *h = s3_checksum_header(alg);
        const char  *n = s3_checksum_name(alg);

        assert_int_equal(s3_checksum_from_header(h, strlen(h)), alg);
        assert_int_equal(s3_checksum_from_name(n, strlen(n)), alg);
    }

    assert_int_equal(s3_checksum_from_header("X-Amz-Checksum-CRC32C", 21),
                     S3_CKSUM_CRC32C);
    assert_int_equal(s3_checksum_from_name("crc64nvme", 9),
                     S3_CKSUM_CRC64NVME);
    assert_string_equal(s3_checksum_header(S3_CKSUM_CRC64NVME),
                        "x-amz-checksum-crc64nvme");

    /* not checksums S3 takes in x-amz-checksum-* */
    assert_int_equal(s3_checksum_from_header("x-amz-checksum-md5", 18),
                     S3_CKSUM_NONE);
    assert_int_equal(s3_checksum_from_header("x-amz-checksum-crc", 18),
                     S3_CKSUM_NONE);
    assert_int_equal(s3_checksum_from_header("x-amz-checksum-crc32cc", 22),
                     S3_CKSUM_NONE);
    assert_int_equal(s3_checksum_from_name("MD5", 3), S3_CKSUM_NONE);
    assert_int_equal(s3_checksum_from_name("", 0), S3_CKSUM_NONE);

    assert_int_equal(s3_checksum_len(S3_CKSUM_CRC64NVME), 8);
    assert_int_equal(s3_checksum_len(S3_CKSUM_SHA1), 20);
    assert_int_equal(s3_checksum_len(S3_CKSUM_NONE), 0);
}


static void
a_wrong_input_changes_every_checksum(void **state)
{
    int   alg;
    char  a[S3_CHECKSUM_B64_MAX], b[S3_CHECKSUM_B64_MAX];
    size_t n;

    for (alg = S3_CKSUM_CRC32; alg <= S3_CKSUM_MD5; alg++) {
        assert_int_equal(s3_checksum_base64(alg, "Hello world", 11, a, &n),
                         S3_OK);
        assert_int_equal(s3_checksum_base64(alg, "Hello worle", 11, b, &n),
                         S3_OK);
        assert_string_not_equal(a, b);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(crc_check_values_of_123456789),
        cmocka_unit_test(crc32c_rfc3720_vectors),
        cmocka_unit_test(crc64nvme_aws_checksums_vectors),
        cmocka_unit_test(crc32_known_values),
        cmocka_unit_test(botocore_values_for_hello_world),
        cmocka_unit_test(empty_input_values),
        cmocka_unit_test(digest_fips_and_rfc1321_vectors),
        cmocka_unit_test(incremental_equals_one_shot_over_random_splits),
        cmocka_unit_test(crcs_match_bitwise_reference_at_every_alignment),
        cmocka_unit_test(names_map_both_ways),
        cmocka_unit_test(a_wrong_input_changes_every_checksum),
    };

    return UNIT_RUN(tests);
}
