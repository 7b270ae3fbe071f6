/*
 * Throughput of s3/: checksums, SigV4 verification, aws-chunked decoding.
 * One core, no sanitizers; build with every .c of kms_core/ and s3/:
 *
 *   cc -std=gnu11 -O2 -Ikms_core -Is3 -I/usr/include/libxml2
 *      -o build/bench_sigv4 bench/bench_sigv4.c kms_core/[a-z]*.c
 *      s3/[a-z]*.c -lssl -lcrypto -ljansson -lxml2 -lz
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms_crypto.h"
#include "s3_checksum.h"
#include "s3_chunked.h"
#include "s3_sigv4.h"


#define MB        (1024.0 * 1024.0)
#define BODY_LEN  (64u << 20)


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static s3_str_t
str_of(const char *s)
{
    s3_str_t  v;

    v.data = (const unsigned char *) s;
    v.len = strlen(s);

    return v;
}


static void
bench_checksums(const unsigned char *buf)
{
    int            alg;
    double         t;
    size_t         n;
    char           b64[S3_CHECKSUM_B64_MAX];
    s3_checksum_t  c;

    for (alg = S3_CKSUM_CRC32; alg <= S3_CKSUM_MD5; alg++) {
        s3_checksum_init(&c, alg);
        t = now();
        s3_checksum_update(&c, buf, BODY_LEN);
        s3_checksum_final_base64(&c, b64, &n);
        t = now() - t;
        s3_checksum_cleanup(&c);
        printf("%-10s %8.0f MB/s\n", s3_checksum_name(alg),
               BODY_LEN / MB / t);
    }

    t = now();
    (void) s3_crc32c_sw(0, buf, BODY_LEN);
    t = now() - t;
    printf("%-10s %8.0f MB/s (portable slicing-by-8)\n", "CRC32C",
           BODY_LEN / MB / t);
}


static void
bench_verify(void)
{
    int                  i, iters = 200000;
    char                 auth[512], hash[65];
    double               t;
    size_t               n;
    s3_header_t          h[6];
    unsigned char        key[32], sha[32];
    s3_sigv4_auth_t      a;
    s3_sigv4_conf_t      conf;
    s3_sigv4_sign_t      s;
    s3_sigv4_request_t   r;
    const char          *body = "{\"KeyId\":\"alias/test\",\"Plaintext\":"
                                "\"aGVsbG8=\"}";

    s3_sigv4_signing_key("secret", 6, str_of("20130524"),
                         str_of("eu-west-1"), str_of("kms"), key);

    h[0].name = str_of("Host");
    h[0].value = str_of("kms.eu-west-1.amazonaws.com");
    h[1].name = str_of("X-Amz-Target");
    h[1].value = str_of("TrentService.Encrypt");
    h[2].name = str_of("Content-Type");
    h[2].value = str_of("application/x-amz-json-1.1");
    h[3].name = str_of("X-Amz-Date");
    h[3].value = str_of("20130524T000000Z");
    h[4].name = str_of("Content-Length");
    h[4].value = str_of("45");

    kms_sha256(body, strlen(body), sha);
    kms_hex(sha, 32, hash);

    memset(&s, 0, sizeof(s));
    s.req.method = str_of("POST");
    s.req.path = str_of("/");
    s.req.query = str_of("");
    s.req.headers = h;
    s.req.nheaders = 5;
    s.payload_hash = str_of(hash);
    s.amz_date = str_of("20130524T000000Z");
    s.access_key = str_of("AKIDEXAMPLE");
    s.region = str_of("eu-west-1");
    s.service = str_of("kms");
    s3_sigv4_sign(&s, key, auth, sizeof(auth), &n, NULL);

    h[5].name = str_of("Authorization");
    h[5].value = str_of(auth);
    r = s.req;
    r.nheaders = 6;

    memset(&conf, 0, sizeof(conf));
    conf.region = str_of("eu-west-1");
    conf.service = str_of("kms");
    conf.normalize = 1;
    conf.now = 1369353600;
    conf.max_skew = 300;

    t = now();
    for (i = 0; i < iters; i++) {
        /* the body hash is part of a KMS request's cost */
        kms_sha256(body, strlen(body), sha);
        kms_hex(sha, 32, hash);
        conf.payload_hash = str_of(hash);

        if (s3_sigv4_parse(&r, &a) != S3_OK
            || s3_sigv4_verify(&r, &a, &conf, key) != S3_OK)
        {
            printf("verify failed\n");
            return;
        }
    }
    t = now() - t;

    printf("SigV4 KMS verify (cached key)   %8.0f /s/core\n", iters / t);

    t = now();
    for (i = 0; i < iters / 4; i++) {
        s3_sigv4_signing_key("secret", 6, str_of("20130524"),
                             str_of("eu-west-1"), str_of("kms"), key);
    }
    t = now() - t;

    printf("SigV4 signing key derivation    %8.0f /s/core\n", iters / 4 / t);
}


/* a 64 MiB body in 64 KiB signed chunks */
static unsigned char *
signed_body(const unsigned char *data, size_t *len, const unsigned char *key)
{
    char               prev[65], sig[65];
    size_t             off, n, cap, k;
    unsigned char     *b, h[32];
    s3_chunked_sign_t  s;

    s.key = key;
    s.amz_date = str_of("20130524T000000Z");
    s.scope = str_of("20130524/us-east-1/s3/aws4_request");
    s.seed = str_of("4f232c4386841ef735655705268965c4"
                    "4a0e4690baa4adea153f7db9fa80a0a9");
    memcpy(prev, s.seed.data, 64);
    prev[64] = '\0';

    cap = BODY_LEN + (BODY_LEN / 65536 + 2) * 100;
    b = malloc(cap);
    k = 0;

    for (off = 0; off <= BODY_LEN; off += n) {
        n = BODY_LEN - off < 65536 ? BODY_LEN - off : 65536;
        kms_sha256(data + off, n, h);
        s3_chunked_chunk_signature(&s, prev, h, sig);
        k += (size_t) sprintf((char *) b + k, "%zx;chunk-signature=%s\r\n", n,
                              sig);
        memcpy(b + k, data + off, n);
        k += n;
        memcpy(b + k, "\r\n", 2);
        k += 2;
        memcpy(prev, sig, 65);
        if (n == 0) {
            break;
        }
    }

    *len = k;

    return b;
}


static unsigned char *
unsigned_body(const unsigned char *data, size_t *len)
{
    char            b64[S3_CHECKSUM_B64_MAX];
    size_t          off, n, k;
    unsigned char  *b;

    b = malloc(BODY_LEN + (BODY_LEN / 65536 + 2) * 100);
    k = 0;

    for (off = 0; off < BODY_LEN; off += n) {
        n = BODY_LEN - off < 65536 ? BODY_LEN - off : 65536;
        k += (size_t) sprintf((char *) b + k, "%zx\r\n", n);
        memcpy(b + k, data + off, n);
        k += n;
        memcpy(b + k, "\r\n", 2);
        k += 2;
    }

    s3_checksum_base64(S3_CKSUM_CRC32C, data, BODY_LEN, b64, &n);
    k += (size_t) sprintf((char *) b + k, "0\r\nx-amz-checksum-crc32c:%s\r\n"
                          "\r\n", b64);
    *len = k;

    return b;
}


static void
bench_decode(const char *what, const s3_chunked_conf_t *c,
    const unsigned char *body, size_t len)
{
    double        t;
    size_t        off, used, piece;
    s3_err_t      rc;
    s3_str_t      d;
    uint64_t      sum = 0;
    s3_chunked_t  dec;

    s3_chunked_init(&dec, c);
    t = now();

    /* nginx hands the body over in buffers of about 16 KiB */
    for (off = 0; off < len; off += used) {
        piece = len - off < 16384 ? len - off : 16384;
        rc = s3_chunked_decode(&dec, body + off, piece, &used, &d);
        if (rc != S3_OK && rc != S3_AGAIN) {
            printf("%s: %s\n", what, s3_err_code(rc));
            return;
        }
        sum += d.len;
    }

    rc = s3_chunked_finish(&dec);
    t = now() - t;
    s3_chunked_cleanup(&dec);

    printf("%-36s %6.0f MB/s (%s, %llu bytes)\n", what, len / MB / t,
           rc == S3_OK ? "ok" : s3_err_code(rc), (unsigned long long) sum);
}


int
main(void)
{
    size_t              i, len;
    unsigned char      *buf, *body, key[32];
    s3_chunked_conf_t   c;

    buf = malloc(BODY_LEN);
    for (i = 0; i < BODY_LEN; i++) {
        buf[i] = (unsigned char) (i * 2654435761u >> 13);
    }

    printf("checksums over 64 MiB, one core:\n");
    bench_checksums(buf);

    printf("\n");
    bench_verify();

    printf("\naws-chunked, 64 MiB in 64 KiB chunks, 16 KiB reads:\n");
    memset(key, 7, sizeof(key));

    body = signed_body(buf, &len, key);
    memset(&c, 0, sizeof(c));
    c.mode = S3_CHUNKED_SIGNED;
    c.sign.key = key;
    c.sign.amz_date = str_of("20130524T000000Z");
    c.sign.scope = str_of("20130524/us-east-1/s3/aws4_request");
    c.sign.seed = str_of("4f232c4386841ef735655705268965c4"
                         "4a0e4690baa4adea153f7db9fa80a0a9");
    c.decoded_length = BODY_LEN;
    c.min_chunk_size = 1;
    bench_decode("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &c, body, len);
    free(body);

    body = unsigned_body(buf, &len);
    memset(&c, 0, sizeof(c));
    c.mode = S3_CHUNKED_UNSIGNED_TRAILER;
    c.trailer = S3_CKSUM_CRC32C;
    c.decoded_length = BODY_LEN;
    bench_decode("STREAMING-UNSIGNED-PAYLOAD-TRAILER", &c, body, len);
    free(body);

    free(buf);

    return 0;
}
