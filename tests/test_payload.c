/*
 * s3/s3_payload: the header combinations real clients send, with good and
 * damaged bodies.  The botocore cases are requests botocore 1.43 built
 * (put_object over https and http, with SHA-256, SHA-1, Content-MD5,
 * upload_part, request_checksum_calculation=when_required), captured
 * before sending: their signatures and trailers are botocore's own.
 */

#include "unit.h"

#include "kms_crypto.h"
#include "s3_payload.h"


#define EX_AKID    "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE    "20130524T000000Z"
#define EX_TIME    1369353600
#define HELLO      "Hello world"
#define HELLO_MD5  "PiWWCnnbxptnTNTsZ6csYg=="
#define HELLO_SHA                                                           \
    "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c"


typedef struct {
    const char  *name;
    const char  *path;
    const char  *query;
    const char  *body;
    const char  *headers[16][2];
} boto_case_t;


static const boto_case_t  boto_cases[] = {
    { "https-default", "/b/k", "",
      "b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n",
      {
        { "Transfer-Encoding",
          "chunked" },
        { "Content-Encoding",
          "aws-chunked" },
        { "X-Amz-Trailer",
          "x-amz-checksum-crc32" },
        { "X-Amz-Decoded-Content-Length",
          "11" },
        { "x-amz-sdk-checksum-algorithm",
          "CRC32" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-conte"
          "nt-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checks"
          "um-algorithm;x-amz-trailer, Signature=7f6970b3aed6840f2ddc020583b3"
          "07ea50ff83b27627518ec83a5a8264ccacec" },
        { NULL, NULL } } },
    { "https-sha256", "/b/k", "",
      "b\r\nHello world\r\n0\r\nx-amz-checksum-sha256:ZOyIygCyaOW6GjVnihtTFtI"
      "S9PNmskdyMlNKiuyjfzw=\r\n\r\n",
      {
        { "x-amz-sdk-checksum-algorithm",
          "SHA256" },
        { "Transfer-Encoding",
          "chunked" },
        { "Content-Encoding",
          "aws-chunked" },
        { "X-Amz-Trailer",
          "x-amz-checksum-sha256" },
        { "X-Amz-Decoded-Content-Length",
          "11" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-conte"
          "nt-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checks"
          "um-algorithm;x-amz-trailer, Signature=bc3d00ad8b8dd90aeaab1b2fa066"
          "36f4dacc74755becc8c37363c9b72e9716dd" },
        { NULL, NULL } } },
    { "https-sha1", "/b/k", "",
      "b\r\nHello world\r\n0\r\nx-amz-checksum-sha1:e1AsOh9IyGCa4hLN+2Od7jlnP"
      "14=\r\n\r\n",
      {
        { "x-amz-sdk-checksum-algorithm",
          "SHA1" },
        { "Transfer-Encoding",
          "chunked" },
        { "Content-Encoding",
          "aws-chunked" },
        { "X-Amz-Trailer",
          "x-amz-checksum-sha1" },
        { "X-Amz-Decoded-Content-Length",
          "11" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-conte"
          "nt-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checks"
          "um-algorithm;x-amz-trailer, Signature=4f905fd1c5727c17db0f2de59725"
          "85996ece4df405340b392edd235f39c33cb7" },
        { NULL, NULL } } },
    { "https-md5", "/b/k", "",
      "b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n",
      {
        { "Content-MD5",
          "PiWWCnnbxptnTNTsZ6csYg==" },
        { "Transfer-Encoding",
          "chunked" },
        { "Content-Encoding",
          "aws-chunked" },
        { "X-Amz-Trailer",
          "x-amz-checksum-crc32" },
        { "X-Amz-Decoded-Content-Length",
          "11" },
        { "x-amz-sdk-checksum-algorithm",
          "CRC32" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=content-encoding;content-md5;host"
          ";x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-am"
          "z-sdk-checksum-algorithm;x-amz-trailer, Signature=c2f0d8c19d11dd31"
          "e3a88578efaba1ff403b9b7a7336448a51347ee693bc1954" },
        { NULL, NULL } } },
    { "https-part", "/b/k", "partNumber=1&uploadId=u",
      "b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n",
      {
        { "Transfer-Encoding",
          "chunked" },
        { "Content-Encoding",
          "aws-chunked" },
        { "X-Amz-Trailer",
          "x-amz-checksum-crc32" },
        { "X-Amz-Decoded-Content-Length",
          "11" },
        { "x-amz-sdk-checksum-algorithm",
          "CRC32" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "STREAMING-UNSIGNED-PAYLOAD-TRAILER" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-conte"
          "nt-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checks"
          "um-algorithm;x-amz-trailer, Signature=5b536aef00ca999c26b148edfcdb"
          "38510b720ec373a907652ce84f981ed0b290" },
        { NULL, NULL } } },
    { "http-default", "/b/k", "",
      "Hello world",
      {
        { "x-amz-checksum-crc32",
          "i9aeUg==" },
        { "x-amz-sdk-checksum-algorithm",
          "CRC32" },
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=host;x-amz-checksum-crc32;x-amz-c"
          "ontent-sha256;x-amz-date;x-amz-sdk-checksum-algorithm, Signature=a"
          "8a35e735535606afbcd44d6b8fe34e9319c2426dc5990539ab687c4480e76f7" },
        { "Content-Length",
          "11" },
        { NULL, NULL } } },
    { "https-when-required", "/b/k", "",
      "Hello world",
      {
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-d"
          "ate, Signature=54710601fb270749b6a0123c835ed4ac9d16831965fcaf99b56"
          "77806303b8482" },
        { "Content-Length",
          "11" },
        { NULL, NULL } } },
    { "http-when-required", "/b/k", "",
      "Hello world",
      {
        { "X-Amz-Date",
          "20130524T000000Z" },
        { "X-Amz-Content-SHA256",
          "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2477232534a8aeca37f3c" },
        { "Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-"
          "1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-d"
          "ate, Signature=54710601fb270749b6a0123c835ed4ac9d16831965fcaf99b56"
          "77806303b8482" },
        { "Content-Length",
          "11" },
        { NULL, NULL } } },
};


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          cap;
} buf_t;


typedef struct {
    s3_header_t          h[24];
    size_t               n;
    s3_sigv4_request_t   r;
} req_t;


static unsigned char  s3_key[32];


static s3_str_t
str_of(const char *s)
{
    s3_str_t  v;

    v.data = (const unsigned char *) s;
    v.len = strlen(s);

    return v;
}


static void
buf_put(buf_t *b, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }

    memcpy(b->p + b->len, p, n);
    b->len += n;
}


static void
buf_str(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}


static void
req_init(req_t *q, const char *method, const char *path, const char *query)
{
    memset(q, 0, sizeof(req_t));
    q->r.method = str_of(method);
    q->r.path = str_of(path);
    q->r.query = str_of(query);
    q->r.headers = q->h;
}


static void
req_hdr(req_t *q, const char *name, const char *value)
{
    assert_true(q->n < 24);
    q->h[q->n].name = str_of(name);
    q->h[q->n].value = str_of(value);
    q->r.nheaders = ++q->n;
}


static void
derive_key(void)
{
    s3_str_t  date = { 8, (const unsigned char *) EX_DATE };

    assert_int_equal(s3_sigv4_signing_key(EX_SECRET, strlen(EX_SECRET), date,
                                          str_of("us-east-1"), str_of("s3"),
                                          s3_key), S3_OK);
}


static uint32_t  rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}


/*
 * Runs a body through a payload object in random pieces (1 byte pieces
 * when seed is 0).  Returns init's error, else the first error of feed or
 * finish.  The data lands in out.
 */
static s3_err_t
run_body(const s3_payload_conf_t *conf, const unsigned char *body,
    size_t len, uint32_t seed, buf_t *out, s3_payload_t *keep)
{
    size_t         off, n, used;
    s3_err_t       rc;
    s3_str_t       data;
    s3_payload_t   p;

    out->len = 0;

    rc = s3_payload_init(&p, conf);
    if (rc != S3_OK) {
        s3_payload_cleanup(&p);
        return rc;
    }

    rng_state = seed;

    for (off = 0; off < len; /* void */) {
        n = seed ? 1 + rng() % 1000 : 1;
        if (n > len - off) {
            n = len - off;
        }

        while (n) {
            rc = s3_payload_feed(&p, body + off, n, &used, &data);
            if (rc != S3_OK && rc != S3_AGAIN) {
                s3_payload_cleanup(&p);
                return rc;
            }

            if (data.len) {
                assert_true(data.data >= body + off
                            && data.data + data.len <= body + off + used);
                buf_put(out, data.data, data.len);
            }

            off += used;
            n -= used;
        }
    }

    rc = s3_payload_finish(&p);

    if (keep != NULL && rc == S3_OK) {
        *keep = p;
        return rc;
    }

    s3_payload_cleanup(&p);

    return rc;
}


static void
boto_request(req_t *q, const boto_case_t *c)
{
    size_t  i;

    req_init(q, "PUT", c->path, c->query);
    req_hdr(q, "Host", "s3.amazonaws.com");

    for (i = 0; c->headers[i][0] != NULL; i++) {
        req_hdr(q, c->headers[i][0], c->headers[i][1]);
    }
}


static s3_err_t
verify(req_t *q, s3_sigv4_auth_t *a)
{
    s3_err_t         rc;
    s3_sigv4_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.region = str_of("us-east-1");
    conf.service = str_of("s3");
    conf.s3 = 1;
    conf.now = EX_TIME;

    rc = s3_sigv4_parse(&q->r, a);
    if (rc != S3_OK) {
        return rc;
    }

    return s3_sigv4_verify(&q->r, a, &conf, s3_key);
}


static void
payload_conf(s3_payload_conf_t *pc, req_t *q, const s3_sigv4_auth_t *a)
{
    memset(pc, 0, sizeof(s3_payload_conf_t));
    pc->headers = q->h;
    pc->nheaders = q->n;
    pc->auth = a;
    pc->key = s3_key;
    pc->min_chunk_size = 1;
}


/* ---- botocore ------------------------------------------------------------ */

static void
botocore_requests_verify_and_their_bodies_pass(void **state)
{
    size_t              i;
    buf_t               out;
    req_t               q;
    s3_str_t            v;
    const char         *b;
    s3_payload_t        p;
    s3_sigv4_auth_t     a;
    s3_payload_conf_t   pc;
    s3_checksum_alg_t   alg;

    derive_key();
    memset(&out, 0, sizeof(out));

    for (i = 0; i < sizeof(boto_cases) / sizeof(boto_cases[0]); i++) {
        const boto_case_t  *c = &boto_cases[i];

        boto_request(&q, c);
        if (verify(&q, &a) != S3_OK) {
            fail_msg("%s: %s", c->name,
                     s3_sigv4_reason_text(s3_sigv4_reason(&a)));
        }

        payload_conf(&pc, &q, &a);
        b = c->body;

        assert_int_equal(run_body(&pc, (const unsigned char *) b, strlen(b),
                                  0, &out, NULL), S3_OK);
        assert_int_equal(run_body(&pc, (const unsigned char *) b, strlen(b),
                                  (uint32_t) i + 1, &out, &p), S3_OK);
        assert_int_equal(out.len, 11);
        assert_memory_equal(out.p, HELLO, 11);
        assert_int_equal(s3_payload_length(&p), 11);

        /* the checksum S3 would echo: CRC32 unless asked otherwise */
        alg = s3_payload_checksum(&p, &v);
        if (strstr(c->name, "when-required") != NULL) {
            assert_int_equal(alg, S3_CKSUM_NONE);
        } else if (strstr(c->name, "sha256") != NULL) {
            assert_int_equal(alg, S3_CKSUM_SHA256);
            assert_int_equal(s3_payload_kind(&p), S3_PAYLOAD_STREAMING);
        } else if (strstr(c->name, "sha1") != NULL) {
            assert_int_equal(alg, S3_CKSUM_SHA1);
        } else {
            assert_int_equal(alg, S3_CKSUM_CRC32);
            assert_int_equal(v.len, 8);
            assert_memory_equal(v.data, "i9aeUg==", 8);
        }

        s3_payload_cleanup(&p);
    }

    free(out.p);
}


static void
botocore_bodies_damaged_fail(void **state)
{
    size_t              i;
    char               *b, *h;
    buf_t               out;
    req_t               q;
    s3_err_t            want;
    s3_sigv4_auth_t     a;
    s3_payload_conf_t   pc;

    derive_key();
    memset(&out, 0, sizeof(out));

    for (i = 0; i < sizeof(boto_cases) / sizeof(boto_cases[0]); i++) {
        const boto_case_t  *c = &boto_cases[i];

        boto_request(&q, c);
        assert_int_equal(verify(&q, &a), S3_OK);
        payload_conf(&pc, &q, &a);

        /* "Hello" -> "hello" */
        b = strdup(c->body);
        h = strstr(b, HELLO);
        h[0] = 'h';

        if (strstr(c->body, "x-amz-checksum") != NULL) {
            want = S3_ERR_BAD_CHECKSUM;
        } else {
            want = S3_ERR_SHA256_MISMATCH;
        }

        if (run_body(&pc, (unsigned char *) b, strlen(b), 3, &out, NULL)
            != want)
        {
            fail_msg("%s", c->name);
        }

        /* one byte short */
        h[0] = 'H';
        assert_int_equal(run_body(&pc, (unsigned char *) b, strlen(b) - 1, 3,
                                  &out, NULL), S3_ERR_INCOMPLETE_BODY);

        /* one byte more */
        h = malloc(strlen(b) + 2);
        sprintf(h, "%sX", b);
        assert_int_equal(run_body(&pc, (unsigned char *) h, strlen(h), 0,
                                  &out, NULL), S3_ERR_INVALID_REQUEST);
        free(h);
        free(b);
    }

    free(out.p);
}


/* ---- hand-built combinations --------------------------------------------- */

/* headers from a "name: value" list, no authentication */
static s3_err_t
plain(const char *const *hv, const char *body, size_t len)
{
    size_t              i;
    buf_t               out;
    req_t               q;
    s3_err_t            rc;
    s3_payload_conf_t   pc;

    req_init(&q, "PUT", "/b/k", "");
    for (i = 0; hv[i] != NULL; i += 2) {
        req_hdr(&q, hv[i], hv[i + 1]);
    }

    payload_conf(&pc, &q, NULL);
    memset(&out, 0, sizeof(out));

    rc = run_body(&pc, (const unsigned char *) body, len, 5, &out, NULL);
    if (rc == S3_OK) {
        assert_int_equal(out.len, len);
        assert_memory_equal(out.p, body, len);
    }

    free(out.p);

    return rc;
}


static void
unsigned_payload_with_each_checksum_header(void **state)
{
    size_t  i;
    char    b64[S3_CHECKSUM_B64_MAX], bad[S3_CHECKSUM_B64_MAX];
    size_t  n;

    for (i = S3_CKSUM_CRC32; i <= S3_CKSUM_SHA256; i++) {
        const char  *h[] = {
            "Content-Length", "11",
            "x-amz-content-sha256", "UNSIGNED-PAYLOAD",
            s3_checksum_header(i), b64,
            "x-amz-sdk-checksum-algorithm", s3_checksum_name(i),
            NULL
        };

        assert_int_equal(s3_checksum_base64(i, HELLO, 11, b64, &n), S3_OK);
        assert_int_equal(plain(h, HELLO, 11), S3_OK);
        assert_int_equal(plain(h, "Hello World", 11), S3_ERR_BAD_CHECKSUM);

        /* a value of the right size that does not match */
        strcpy(bad, b64);
        bad[0] = bad[0] == 'A' ? 'B' : 'A';
        h[5] = bad;
        assert_int_equal(plain(h, HELLO, 11), S3_ERR_BAD_CHECKSUM);

        /* a value of the wrong size */
        h[5] = "AAAA";
        assert_int_equal(plain(h, HELLO, 11), S3_ERR_INVALID_CHECKSUM);
        h[5] = "not base64!";
        assert_int_equal(plain(h, HELLO, 11), S3_ERR_INVALID_CHECKSUM);
    }

    /* no x-amz-content-sha256 at all (presigned, anonymous) */
    {
        const char  *h[] = { "Content-Length", "11",
                             "x-amz-checksum-crc32", "i9aeUg==", NULL };

        assert_int_equal(plain(h, HELLO, 11), S3_OK);
    }
}


static void
sha256_with_content_md5(void **state)
{
    const char  *h[] = {
        "Content-Length", "11",
        "x-amz-content-sha256", HELLO_SHA,
        "Content-MD5", HELLO_MD5,
        NULL
    };
    const char  *upper[] = {
        "Content-Length", "11",
        "x-amz-content-sha256",
        "64EC88CA00B268E5BA1A35678A1B5316D212F4F366B2477232534A8AECA37F3C",
        NULL
    };

    assert_int_equal(plain(h, HELLO, 11), S3_OK);
    assert_int_equal(plain(upper, HELLO, 11), S3_OK);

    /* the body is checked against the SHA-256 first */
    assert_int_equal(plain(h, "Hello World", 11), S3_ERR_SHA256_MISMATCH);

    h[5] = "1B2M2Y8AsgTpgAmY7PhCfg==";
    assert_int_equal(plain(h, HELLO, 11), S3_ERR_BAD_DIGEST);
    h[5] = "1B2M2Y8AsgTpgAmY7PhC";
    assert_int_equal(plain(h, HELLO, 11), S3_ERR_INVALID_DIGEST);
    h[5] = "PiWWCnnbxptnTNTsZ6csYg";
    assert_int_equal(plain(h, HELLO, 11), S3_ERR_INVALID_DIGEST);
    h[5] = "PiWWCnnbxptnTNTsZ6csYg==PiWW";
    assert_int_equal(plain(h, HELLO, 11), S3_ERR_INVALID_DIGEST);

    /* an empty body */
    h[1] = "0";
    h[3] = S3_SIGV4_EMPTY_SHA256;
    h[5] = "1B2M2Y8AsgTpgAmY7PhCfg==";
    assert_int_equal(plain(h, "", 0), S3_OK);
    assert_int_equal(plain(h, "x", 1), S3_ERR_INVALID_REQUEST);
}


static void
unsigned_trailer_with_each_algorithm(void **state)
{
    size_t  i, n;
    char    b64[S3_CHECKSUM_B64_MAX], body[256], name[16];

    for (i = S3_CKSUM_CRC32; i <= S3_CKSUM_SHA256; i++) {
        const char  *h[] = {
            "Transfer-Encoding", "chunked",
            "Content-Encoding", "aws-chunked",
            "x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length", "11",
            "x-amz-trailer", s3_checksum_header(i),
            "x-amz-sdk-checksum-algorithm", name,
            NULL
        };

        /* the SDKs send the algorithm name in upper case */
        snprintf(name, sizeof(name), "%s", s3_checksum_name(i));

        assert_int_equal(s3_checksum_base64(i, HELLO, 11, b64, &n), S3_OK);
        snprintf(body, sizeof(body), "5\r\nHello\r\n6\r\n world\r\n0\r\n"
                 "%s:%s\r\n\r\n", s3_checksum_header(i), b64);

        {
            buf_t               out;
            req_t               q;
            size_t              k;
            s3_payload_conf_t   pc;

            req_init(&q, "PUT", "/b/k", "");
            for (k = 0; h[k] != NULL; k += 2) {
                req_hdr(&q, h[k], h[k + 1]);
            }
            payload_conf(&pc, &q, NULL);
            memset(&out, 0, sizeof(out));

            assert_int_equal(run_body(&pc, (unsigned char *) body,
                                      strlen(body), 0, &out, NULL), S3_OK);
            assert_int_equal(out.len, 11);
            assert_memory_equal(out.p, HELLO, 11);

            body[3] = 'h';
            assert_int_equal(run_body(&pc, (unsigned char *) body,
                                      strlen(body), 9, &out, NULL),
                             S3_ERR_BAD_CHECKSUM);
            free(out.p);
        }
    }
}


/* the AWS streaming example: signed chunks, no trailer */
static void
aws_example_request(req_t *q, const char *content_sha)
{
    req_init(q, "PUT", "/examplebucket/chunkObject.txt", "");
    req_hdr(q, "Host", "s3.amazonaws.com");
    req_hdr(q, "x-amz-date", EX_DATE);
    req_hdr(q, "x-amz-storage-class", "REDUCED_REDUNDANCY");
    req_hdr(q, "x-amz-content-sha256", content_sha);
    req_hdr(q, "Content-Encoding", "aws-chunked");
    req_hdr(q, "x-amz-decoded-content-length", "66560");
    req_hdr(q, "Content-Length", "66824");
}


static void
sign_request(req_t *q, char *auth, size_t cap, const char *payload_hash)
{
    size_t           n;
    s3_sigv4_sign_t  s;

    memset(&s, 0, sizeof(s));
    s.req = q->r;
    s.payload_hash = str_of(payload_hash);
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;
    assert_int_equal(s3_sigv4_sign(&s, s3_key, auth, cap, &n, NULL), S3_OK);
    req_hdr(q, "Authorization", auth);
}


static void
signed_chunk(buf_t *b, const s3_sigv4_auth_t *a, char *prev,
    const unsigned char *data, size_t n)
{
    char               line[128], sig[65];
    unsigned char      h[32];
    s3_chunked_sign_t  s;

    s.key = s3_key;
    s.amz_date.data = (const unsigned char *) a->amz_date;
    s.amz_date.len = 16;
    s.scope = a->scope;
    s.seed = a->signature;

    assert_int_equal(kms_sha256(data, n, h), 0);
    assert_int_equal(s3_chunked_chunk_signature(&s, prev, h, sig), S3_OK);
    snprintf(line, sizeof(line), "%zx;chunk-signature=%s\r\n", n, sig);
    buf_str(b, line);
    buf_put(b, data, n);
    if (n) {
        buf_str(b, "\r\n");
    }
    memcpy(prev, sig, 65);
}


static void
signed_streaming_without_and_with_trailer(void **state)
{
    char                auth[512], prev[65], line[160], canon[128], sig[65];
    char                b64[S3_CHECKSUM_B64_MAX];
    size_t              n;
    buf_t               b, out;
    req_t               q;
    s3_payload_t        p;
    unsigned char      *a;
    s3_sigv4_auth_t     au;
    s3_chunked_sign_t   cs;
    s3_payload_conf_t   pc;

    derive_key();
    memset(&out, 0, sizeof(out));
    a = malloc(66560);
    memset(a, 'a', 66560);

    /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD, the AWS example exactly */
    aws_example_request(&q, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    sign_request(&q, auth, sizeof(auth),
                 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    assert_int_equal(verify(&q, &au), S3_OK);
    assert_true(au.signature.len == 64
                && memcmp(au.signature.data, "4f232c4386841ef735655705268965c4"
                          "4a0e4690baa4adea153f7db9fa80a0a9", 64) == 0);

    memset(&b, 0, sizeof(b));
    memcpy(prev, au.signature.data, 64);
    prev[64] = '\0';
    signed_chunk(&b, &au, prev, a, 65536);
    signed_chunk(&b, &au, prev, a, 1024);
    signed_chunk(&b, &au, prev, NULL, 0);
    buf_str(&b, "\r\n");
    assert_int_equal(b.len, 66824);
    assert_non_null(strstr((char *) b.p + b.len - 100,
                           "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ce"
                           "b9323e279d449df9"));

    payload_conf(&pc, &q, &au);
    assert_int_equal(run_body(&pc, b.p, b.len, 77, &out, &p), S3_OK);
    assert_int_equal(out.len, 66560);
    assert_int_equal(s3_payload_length(&p), 66560);
    assert_int_equal(s3_payload_kind(&p), S3_PAYLOAD_STREAMING);
    s3_payload_cleanup(&p);

    b.p[200] ^= 1;
    assert_int_equal(run_body(&pc, b.p, b.len, 77, &out, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    b.p[200] ^= 1;

    /* a presigned or anonymous request cannot carry a signed stream */
    pc.auth = NULL;
    assert_int_equal(run_body(&pc, b.p, b.len, 77, &out, NULL),
                     S3_ERR_INVALID_REQUEST);
    free(b.p);

    /* ...-PAYLOAD-TRAILER with a CRC64NVME trailer */
    aws_example_request(&q, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
    q.h[7].value = str_of("66957");
    req_hdr(&q, "x-amz-trailer", "x-amz-checksum-crc64nvme");
    req_hdr(&q, "x-amz-sdk-checksum-algorithm", "CRC64NVME");
    sign_request(&q, auth, sizeof(auth),
                 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
    assert_int_equal(verify(&q, &au), S3_OK);

    memset(&b, 0, sizeof(b));
    memcpy(prev, au.signature.data, 64);
    prev[64] = '\0';
    signed_chunk(&b, &au, prev, a, 65536);
    signed_chunk(&b, &au, prev, a, 1024);
    signed_chunk(&b, &au, prev, NULL, 0);

    assert_int_equal(s3_checksum_base64(S3_CKSUM_CRC64NVME, a, 66560, b64,
                                        &n), S3_OK);
    snprintf(line, sizeof(line), "x-amz-checksum-crc64nvme:%s\r\n", b64);
    buf_str(&b, line);

    cs.key = s3_key;
    cs.amz_date = str_of(EX_DATE);
    cs.scope = au.scope;
    cs.seed = au.signature;
    snprintf(canon, sizeof(canon), "x-amz-checksum-crc64nvme:%s\n", b64);
    assert_int_equal(s3_chunked_trailer_signature(&cs, prev, canon,
                                                  strlen(canon), sig),
                     S3_OK);
    snprintf(line, sizeof(line), "x-amz-trailer-signature:%s\r\n\r\n", sig);
    buf_str(&b, line);

    payload_conf(&pc, &q, &au);
    assert_int_equal(run_body(&pc, b.p, b.len, 78, &out, &p), S3_OK);
    assert_int_equal(out.len, 66560);
    {
        s3_str_t  v;

        assert_int_equal(s3_payload_checksum(&p, &v), S3_CKSUM_CRC64NVME);
        assert_int_equal(v.len, strlen(b64));
        assert_memory_equal(v.data, b64, v.len);
    }
    s3_payload_cleanup(&p);

    /* the trailer's checksum changed: its signature no longer holds */
    {
        char  *t = strstr((char *) b.p, "x-amz-checksum-crc64nvme:") + 25;

        t[0] = t[0] == 'A' ? 'B' : 'A';
        assert_int_equal(run_body(&pc, b.p, b.len, 79, &out, NULL),
                         S3_ERR_SIGNATURE_MISMATCH);
    }

    free(b.p);
    free(a);
    free(out.p);
}


static s3_err_t
init_only(const char *const *hv)
{
    size_t              i;
    req_t               q;
    s3_err_t            rc;
    s3_payload_t        p;
    s3_payload_conf_t   pc;

    req_init(&q, "PUT", "/b/k", "");
    for (i = 0; hv[i] != NULL; i += 2) {
        req_hdr(&q, hv[i], hv[i + 1]);
    }

    payload_conf(&pc, &q, NULL);
    rc = s3_payload_init(&p, &pc);
    s3_payload_cleanup(&p);

    return rc;
}


#define H(...)  ((const char *const []) { __VA_ARGS__, NULL })
#define UTR     "x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define DL      "x-amz-decoded-content-length", "11"


static void
header_errors_are_found_before_the_body(void **state)
{
    /* lengths */
    assert_int_equal(init_only(H("x-amz-content-sha256", "UNSIGNED-PAYLOAD")),
                     S3_ERR_MISSING_CONTENT_LENGTH);
    assert_int_equal(init_only(H("Transfer-Encoding", "chunked")),
                     S3_ERR_MISSING_CONTENT_LENGTH);
    assert_int_equal(init_only(H(UTR)), S3_ERR_MISSING_CONTENT_LENGTH);
    assert_int_equal(init_only(H("Content-Length", "abc")),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(init_only(H("Content-Length", "-1")),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(init_only(H("Content-Length", "")),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(init_only(H("Content-Length", "1",
                                 "Content-Length", "1")),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(init_only(H(UTR, "x-amz-decoded-content-length", "1x")),
                     S3_ERR_INVALID_ARGUMENT);

    /* x-amz-content-sha256 */
    assert_int_equal(init_only(H("Content-Length", "1",
                                 "x-amz-content-sha256", "abc")),
                     S3_ERR_INVALID_CONTENT_SHA256);
    assert_int_equal(init_only(H("Content-Length", "1",
                                 "x-amz-content-sha256",
                                 "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b2"
                                 "477232534a8aeca37f3")),
                     S3_ERR_INVALID_CONTENT_SHA256);
    assert_int_equal(init_only(H("Content-Length", "1",
                                 "x-amz-content-sha256", "unsigned-payload")),
                     S3_ERR_INVALID_CONTENT_SHA256);
    assert_int_equal(init_only(H(DL, "x-amz-content-sha256",
                                 "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(init_only(H(DL, "x-amz-content-sha256",
                                 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")),
                     S3_ERR_INVALID_REQUEST);

    /* checksums */
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-checksum-crc32", "i9aeUg==",
                                 "x-amz-checksum-crc32c", "i9aeUg==")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-checksum-sha1", "i9aeUg==")),
                     S3_ERR_INVALID_CHECKSUM);
    assert_int_equal(init_only(H(UTR, DL, "x-amz-trailer",
                                 "x-amz-checksum-md5")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H("Content-Length", "11", "x-amz-trailer",
                                 "x-amz-checksum-crc32")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H(UTR, DL, "x-amz-trailer",
                                 "x-amz-checksum-crc32",
                                 "x-amz-checksum-crc32", "i9aeUg==")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-sdk-checksum-algorithm", "CRC32")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-sdk-checksum-algorithm", "CRC32C",
                                 "x-amz-checksum-crc32", "i9aeUg==")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-sdk-checksum-algorithm", "MD5",
                                 "x-amz-checksum-crc32", "i9aeUg==")),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(init_only(H(UTR, DL, "x-amz-trailer",
                                 "x-amz-checksum-sha256",
                                 "x-amz-sdk-checksum-algorithm", "sha256")),
                     S3_OK);

    /* other x-amz-checksum-* headers are not checksums */
    assert_int_equal(init_only(H("Content-Length", "11",
                                 "x-amz-checksum-algorithm", "CRC32",
                                 "x-amz-checksum-type", "FULL_OBJECT")),
                     S3_OK);

    /* Content-MD5 */
    assert_int_equal(init_only(H("Content-Length", "11", "Content-MD5",
                                 HELLO_MD5, "Content-MD5", HELLO_MD5)),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(init_only(H("Content-Length", "11", "Content-MD5", "")),
                     S3_ERR_INVALID_DIGEST);
}


static void
lengths_are_known_before_the_body(void **state)
{
    req_t               q;
    s3_payload_t        p;
    s3_payload_conf_t   pc;

    req_init(&q, "PUT", "/b/k", "");
    req_hdr(&q, "Content-Length", "123456789012");
    payload_conf(&pc, &q, NULL);
    assert_int_equal(s3_payload_init(&p, &pc), S3_OK);
    assert_true(s3_payload_length(&p) == 123456789012LL);
    assert_int_equal(s3_payload_kind(&p), S3_PAYLOAD_UNSIGNED);
    s3_payload_cleanup(&p);

    req_init(&q, "PUT", "/b/k", "");
    req_hdr(&q, "Transfer-Encoding", "chunked");
    req_hdr(&q, "x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    req_hdr(&q, "x-amz-decoded-content-length", "5368709120");
    payload_conf(&pc, &q, NULL);
    assert_int_equal(s3_payload_init(&p, &pc), S3_OK);
    assert_true(s3_payload_length(&p) == 5368709120LL);
    s3_payload_cleanup(&p);
}


static void
the_stored_content_encoding_drops_aws_chunked(void **state)
{
    char         out[64];
    size_t       n;
    s3_header_t  h[3];

    h[0].name = str_of("Content-Encoding");
    h[0].value = str_of("aws-chunked");
    h[1].name = str_of("content-encoding");
    h[1].value = str_of(" gzip ,AWS-Chunked, br");
    h[2].name = str_of("Content-Type");
    h[2].value = str_of("text/plain");

    assert_int_equal(s3_payload_stored_encoding(h, 1, out, sizeof(out), &n),
                     S3_OK);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");

    assert_int_equal(s3_payload_stored_encoding(h, 3, out, sizeof(out), &n),
                     S3_OK);
    assert_string_equal(out, "gzip, br");
    assert_int_equal(n, 8);

    assert_int_equal(s3_payload_stored_encoding(h, 3, out, 6, &n),
                     S3_ERR_INTERNAL);
}


static void
feeding_after_an_error_or_the_end(void **state)
{
    size_t              used;
    req_t               q;
    s3_str_t            d;
    s3_payload_t        p;
    s3_payload_conf_t   pc;

    req_init(&q, "PUT", "/b/k", "");
    req_hdr(&q, "Content-Length", "11");
    req_hdr(&q, "x-amz-content-sha256", HELLO_SHA);
    payload_conf(&pc, &q, NULL);

    assert_int_equal(s3_payload_init(&p, &pc), S3_OK);
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) "Hello", 5, &used,
                                     &d), S3_OK);
    assert_int_equal(used, 5);
    assert_int_equal(d.len, 5);
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) "", 0, &used, &d),
                     S3_AGAIN);
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) " world", 6,
                                     &used, &d), S3_OK);
    /* all of Content-Length came: the end */
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) "", 0, &used, &d),
                     S3_OK);
    assert_int_equal(d.len, 0);
    assert_int_equal(s3_payload_finish(&p), S3_OK);
    assert_int_equal(s3_payload_finish(&p), S3_OK);
    s3_payload_cleanup(&p);

    assert_int_equal(s3_payload_init(&p, &pc), S3_OK);
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) "Hello worlD", 11,
                                     &used, &d), S3_OK);
    assert_int_equal(s3_payload_finish(&p), S3_ERR_SHA256_MISMATCH);
    assert_int_equal(s3_payload_finish(&p), S3_ERR_SHA256_MISMATCH);
    assert_int_equal(s3_payload_feed(&p, (unsigned char *) "x", 1, &used, &d),
                     S3_ERR_SHA256_MISMATCH);
    s3_payload_cleanup(&p);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(botocore_requests_verify_and_their_bodies_pass),
        cmocka_unit_test(botocore_bodies_damaged_fail),
        cmocka_unit_test(unsigned_payload_with_each_checksum_header),
        cmocka_unit_test(sha256_with_content_md5),
        cmocka_unit_test(unsigned_trailer_with_each_algorithm),
        cmocka_unit_test(signed_streaming_without_and_with_trailer),
        cmocka_unit_test(header_errors_are_found_before_the_body),
        cmocka_unit_test(lengths_are_known_before_the_body),
        cmocka_unit_test(the_stored_content_encoding_drops_aws_chunked),
        cmocka_unit_test(feeding_after_an_error_or_the_end),
    };

    return UNIT_RUN(tests);
}
