/*
 * s3/s3_chunked: AWS's documented streaming example (seed, chunk and final
 * signatures) and aws-c-auth's trailer signature as known answers; the
 * example body decoded whole, byte by byte and in random splits; every
 * kind of damage; the unsigned and signed trailer forms with known
 * checksums.
 */

#include "unit.h"

#include "kms_crypto.h"
#include "s3_chunked.h"


#define EX_AKID    "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE    "20130524T000000Z"
#define EX_SCOPE   "20130524/us-east-1/s3/aws4_request"
#define EX_SEED                                                             \
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EX_SIG1                                                             \
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define EX_SIG2                                                             \
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define EX_SIG3                                                             \
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"

#define EX_LEN     66560
#define EX_BODY    66824


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          cap;
} buf_t;


static unsigned char  ex_key[32];


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


/* one bit of a hex digit's value, still a lowercase hex digit */
static void
flip_hex(char *c)
{
    int  v = *c <= '9' ? *c - '0' : *c - 'a' + 10;

    v ^= 1;
    *c = (char) (v < 10 ? '0' + v : 'a' + v - 10);
}


static void
buf_str(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}


static void
buf_fill(buf_t *b, int c, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        unsigned char  ch = (unsigned char) c;

        buf_put(b, &ch, 1);
    }
}


static s3_chunked_sign_t
ex_sign(void)
{
    s3_chunked_sign_t  s;

    s.key = ex_key;
    s.amz_date = str_of(EX_DATE);
    s.scope = str_of(EX_SCOPE);
    s.seed = str_of(EX_SEED);

    return s;
}


static int
setup_key(void **state)
{
    (void) state;

    return s3_sigv4_signing_key(EX_SECRET, strlen(EX_SECRET),
                                (s3_str_t) { 8, (unsigned char *) EX_DATE },
                                str_of("us-east-1"), str_of("s3"), ex_key)
           == S3_OK ? 0 : -1;
}


/* one signed chunk: its header with a signature chained from prev */
static void
signed_chunk(buf_t *b, char *prev, const unsigned char *data, size_t n)
{
    char               line[128], sig[65];
    unsigned char      h[32];
    s3_chunked_sign_t  s = ex_sign();

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


/* the body of AWS's example, built by hand from its published values */
static void
ex_body(buf_t *b)
{
    memset(b, 0, sizeof(buf_t));
    buf_str(b, "10000;chunk-signature=" EX_SIG1 "\r\n");
    buf_fill(b, 'a', 65536);
    buf_str(b, "\r\n400;chunk-signature=" EX_SIG2 "\r\n");
    buf_fill(b, 'a', 1024);
    buf_str(b, "\r\n0;chunk-signature=" EX_SIG3 "\r\n\r\n");
}


static s3_chunked_conf_t
signed_conf(int64_t decoded_length)
{
    s3_chunked_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.mode = S3_CHUNKED_SIGNED;
    c.sign = ex_sign();
    c.decoded_length = decoded_length;
    c.min_chunk_size = 1;

    return c;
}


static uint32_t  rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}


enum { SPLIT_WHOLE = 0, SPLIT_BYTES, SPLIT_RANDOM, SPLIT_SMALL };


/*
 * Feeds body in splits, collects the data spans into out (if not NULL),
 * then finishes.  Returns the first error, S3_OK if the body ended and
 * every check passed.  The spans must lie inside the input given.
 */
static s3_err_t
decode(const s3_chunked_conf_t *conf, const unsigned char *body, size_t len,
    int split, uint32_t seed, buf_t *out)
{
    size_t         off, n, used;
    s3_err_t       rc;
    s3_str_t       data;
    s3_chunked_t   d;

    if (out != NULL) {
        out->len = 0;
    }

    rc = s3_chunked_init(&d, conf);
    if (rc != S3_OK) {
        s3_chunked_cleanup(&d);
        return rc;
    }

    rng_state = seed;
    off = 0;

    while (off < len) {
        switch (split) {
        case SPLIT_BYTES:
            n = 1;
            break;
        case SPLIT_RANDOM:
            n = 1 + rng() % 9000;
            break;
        case SPLIT_SMALL:
            n = 1 + rng() % 100;
            break;
        default:
            n = len;
        }

        if (n > len - off) {
            n = len - off;
        }

        /* the piece given, fed until the decoder took all of it */
        while (n) {
            rc = s3_chunked_decode(&d, body + off, n, &used, &data);

            if (rc != S3_OK && rc != S3_AGAIN) {
                s3_chunked_cleanup(&d);
                return rc;
            }

            assert_true(used <= n);

            if (data.len) {
                assert_true(data.data >= body + off
                            && data.data + data.len <= body + off + used);
                if (out != NULL) {
                    buf_put(out, data.data, data.len);
                }
            }

            if (rc == S3_OK && data.len == 0) {
                /* the end; anything after it is for the next call */
                assert_int_equal(used, n);
                assert_true(s3_chunked_done(&d));
            }

            off += used;
            n -= used;
        }
    }

    rc = s3_chunked_finish(&d);

    /* errors stay */
    if (rc != S3_OK) {
        assert_int_equal(s3_chunked_finish(&d), rc);
        assert_int_equal(s3_chunked_decode(&d, body, 1, &used, &data), rc);
    }

    s3_chunked_cleanup(&d);

    return rc;
}


static void
all_a(const buf_t *out, size_t n)
{
    size_t  i;

    assert_int_equal(out->len, n);
    for (i = 0; i < n; i++) {
        if (out->p[i] != 'a') {
            fail_msg("byte %zu", i);
        }
    }
}


/* ---- known answers ---------------------------------------------------- */

static void
aws_example_seed_signature_from_its_canonical_request(void **state)
{
    char                 creq[1024], out[512];
    size_t               n;
    s3_header_t          h[7];
    s3_sigv4_sign_t      s;
    s3_sigv4_debug_t     dbg;
    s3_sigv4_auth_t      a;
    s3_sigv4_conf_t      conf;
    s3_sigv4_request_t   r;
    s3_header_t          hv[8];

    h[0].name = str_of("Host");
    h[0].value = str_of("s3.amazonaws.com");
    h[1].name = str_of("x-amz-date");
    h[1].value = str_of(EX_DATE);
    h[2].name = str_of("x-amz-storage-class");
    h[2].value = str_of("REDUCED_REDUNDANCY");
    h[3].name = str_of("x-amz-content-sha256");
    h[3].value = str_of("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    h[4].name = str_of("Content-Encoding");
    h[4].value = str_of("aws-chunked");
    h[5].name = str_of("x-amz-decoded-content-length");
    h[5].value = str_of("66560");
    h[6].name = str_of("Content-Length");
    h[6].value = str_of("66824");

    memset(&s, 0, sizeof(s));
    s.req.method = str_of("PUT");
    s.req.path = str_of("/examplebucket/chunkObject.txt");
    s.req.query = str_of("");
    s.req.headers = h;
    s.req.nheaders = 7;
    s.payload_hash = str_of("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;

    memset(&dbg, 0, sizeof(dbg));
    dbg.creq = creq;
    dbg.creq_cap = sizeof(creq);

    assert_int_equal(s3_sigv4_sign(&s, ex_key, out, sizeof(out), &n, &dbg),
                     S3_OK);
    assert_string_equal(creq,
        "PUT\n/examplebucket/chunkObject.txt\n\n"
        "content-encoding:aws-chunked\ncontent-length:66824\n"
        "host:s3.amazonaws.com\n"
        "x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\n"
        "x-amz-date:" EX_DATE "\nx-amz-decoded-content-length:66560\n"
        "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
        "content-encoding;content-length;host;x-amz-content-sha256;"
        "x-amz-date;x-amz-decoded-content-length;x-amz-storage-class\n"
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    assert_string_equal(dbg.signature, EX_SEED);

    /* and the server accepts the request with it */
    memcpy(hv, h, sizeof(h));
    hv[7].name = str_of("Authorization");
    hv[7].value = str_of(out);
    r = s.req;
    r.headers = hv;
    r.nheaders = 8;

    memset(&conf, 0, sizeof(conf));
    conf.region = str_of("us-east-1");
    conf.service = str_of("s3");
    conf.s3 = 1;
    conf.now = 1369353600;

    assert_int_equal(s3_sigv4_parse(&r, &a), S3_OK);
    assert_int_equal(s3_sigv4_verify(&r, &a, &conf, ex_key), S3_OK);
    assert_true(a.signature.len == 64
                && memcmp(a.signature.data, EX_SEED, 64) == 0);
}


static void
chunk_signatures_match_the_aws_example(void **state)
{
    char               sig[65];
    unsigned char      h[32], *a;
    s3_chunked_sign_t  s = ex_sign();

    a = malloc(65536);
    memset(a, 'a', 65536);

    assert_int_equal(kms_sha256(a, 65536, h), 0);
    assert_int_equal(s3_chunked_chunk_signature(&s, EX_SEED, h, sig), S3_OK);
    assert_string_equal(sig, EX_SIG1);

    assert_int_equal(kms_sha256(a, 1024, h), 0);
    assert_int_equal(s3_chunked_chunk_signature(&s, EX_SIG1, h, sig), S3_OK);
    assert_string_equal(sig, EX_SIG2);

    assert_int_equal(kms_sha256("", 0, h), 0);
    assert_int_equal(s3_chunked_chunk_signature(&s, EX_SIG2, h, sig), S3_OK);
    assert_string_equal(sig, EX_SIG3);

    free(a);
}


/* aws-c-auth's tests/test_chunked_signing.c, trailing headers */
static void
trailer_signature_matches_aws_c_auth(void **state)
{
    char               sig[65];
    const char        *canon = "first:1st\nsecond:2nd\nthird:3rd\n";
    s3_chunked_sign_t  s = ex_sign();

    assert_int_equal(s3_chunked_trailer_signature(&s, EX_SIG3, canon,
                                                  strlen(canon), sig),
                     S3_OK);
    assert_string_equal(sig, "df5735bd9f3295cd9386572292562fef"
                             "c93ba94e80a0a1ddcbd652c4e0a75e6c");
}


/* ---- the example body ------------------------------------------------- */

static void
aws_example_body_decodes_in_any_split(void **state)
{
    int                split;
    uint32_t           seed;
    buf_t              b, out;
    s3_chunked_conf_t  c = signed_conf(EX_LEN);

    ex_body(&b);
    assert_int_equal(b.len, EX_BODY);
    memset(&out, 0, sizeof(out));

    for (split = SPLIT_WHOLE; split <= SPLIT_SMALL; split++) {
        for (seed = 1; seed <= (split >= SPLIT_RANDOM ? 5u : 1u); seed++) {
            assert_int_equal(decode(&c, b.p, b.len, split, seed, &out),
                             S3_OK);
            all_a(&out, EX_LEN);
        }
    }

    /* without a declared length too */
    c.decoded_length = -1;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 9, &out), S3_OK);
    all_a(&out, EX_LEN);

    free(b.p);
    free(out.p);
}


static void
damaged_data_or_signatures_fail(void **state)
{
    size_t             i, at[4];
    buf_t              b;
    char              *p;
    s3_chunked_conf_t  c = signed_conf(EX_LEN);

    ex_body(&b);

    /* a flipped data bit: first and last byte of each chunk */
    p = strstr((char *) b.p, "\r\n") + 2;
    at[0] = (size_t) (p - (char *) b.p);
    at[1] = at[0] + 65535;
    at[2] = at[1] + 3 + strlen("400;chunk-signature=") + 64 + 2;
    at[3] = at[2] + 1023;

    for (i = 0; i < 4; i++) {
        assert_int_equal(b.p[at[i]], 'a');
        b.p[at[i]] ^= 1;
        assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 3, NULL),
                         S3_ERR_SIGNATURE_MISMATCH);
        b.p[at[i]] ^= 1;
    }

    /* a flipped bit in each signature, still hex */
    for (i = 0; i < 3; i++) {
        const char  *sigs[3] = { EX_SIG1, EX_SIG2, EX_SIG3 };

        p = strstr((char *) b.p + (i ? at[2 * i - 1] : 0), sigs[i]);
        assert_non_null(p);
        flip_hex(&p[5]);
        assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL),
                         S3_ERR_SIGNATURE_MISMATCH);
        flip_hex(&p[5]);

        /* uppercase hex is not what AWS writes */
        p[0] = (char) (p[0] >= 'a' ? p[0] - 32 : p[0]);
        p[2] = (char) (p[2] >= 'a' ? p[2] - 32 : p[2]);
        if (memcmp(p, sigs[i], 64) != 0) {
            assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                             S3_ERR_SIGNATURE_MISMATCH);
        }
        memcpy(p, sigs[i], 64);
    }

    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL), S3_OK);
    free(b.p);
}


static void
a_missing_or_reordered_chunk_fails(void **state)
{
    char               prev[65];
    size_t             clen;
    buf_t              b, r;
    unsigned char      a[8192], z[8192];
    s3_chunked_conf_t  c = signed_conf(-1);

    memset(a, 'a', sizeof(a));
    memset(z, 'z', sizeof(z));

    /* the second chunk of the example left out */
    memset(&b, 0, sizeof(b));
    buf_str(&b, "10000;chunk-signature=" EX_SIG1 "\r\n");
    buf_fill(&b, 'a', 65536);
    buf_str(&b, "\r\n0;chunk-signature=" EX_SIG3 "\r\n\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);

    c.decoded_length = EX_LEN;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    free(b.p);

    /* two chunks, each signed right, sent in the other order */
    memset(&b, 0, sizeof(b));
    memcpy(prev, EX_SEED, 65);
    signed_chunk(&b, prev, a, sizeof(a));
    signed_chunk(&b, prev, z, sizeof(z));
    signed_chunk(&b, prev, NULL, 0);
    buf_str(&b, "\r\n");

    c.decoded_length = 16384;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_SMALL, 4, NULL), S3_OK);

    /* both chunks have the same length: swap them whole */
    clen = strlen("2000;chunk-signature=") + 64 + 2 + 8192 + 2;
    memset(&r, 0, sizeof(r));
    buf_put(&r, b.p + clen, clen);
    buf_put(&r, b.p, clen);
    buf_put(&r, b.p + 2 * clen, b.len - 2 * clen);
    assert_int_equal(r.len, b.len);
    assert_int_equal(decode(&c, r.p, r.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    free(r.p);

    free(b.p);
}


static void
truncation_at_every_interesting_offset_is_an_incomplete_body(void **state)
{
    size_t             i, k, cut;
    buf_t              b;
    s3_chunked_conf_t  c = signed_conf(EX_LEN);
    const size_t       h1 = strlen("10000;chunk-signature=") + 64 + 2;
    const size_t       h2 = strlen("400;chunk-signature=") + 64 + 2;
    size_t             marks[8];

    ex_body(&b);

    /* the starts of: header 1, data 1, CRLF, header 2, data 2, CRLF,
       final header, final CRLF */
    marks[0] = 0;
    marks[1] = h1;
    marks[2] = h1 + 65536;
    marks[3] = marks[2] + 2;
    marks[4] = marks[3] + h2;
    marks[5] = marks[4] + 1024;
    marks[6] = marks[5] + 2;
    marks[7] = b.len - 2;

    for (i = 0; i < 8; i++) {
        for (k = 0; k < 5; k++) {
            cut = marks[i] + k;
            if (cut >= b.len) {
                continue;
            }
            if (decode(&c, b.p, cut, SPLIT_RANDOM, (uint32_t) cut, NULL)
                != S3_ERR_INCOMPLETE_BODY)
            {
                fail_msg("cut at %zu", cut);
            }
        }
    }

    /* inside every part of the first header, byte by byte */
    for (cut = 1; cut < h1; cut++) {
        assert_int_equal(decode(&c, b.p, cut, SPLIT_BYTES, 0, NULL),
                         S3_ERR_INCOMPLETE_BODY);
    }

    /* the last byte missing, and the last two */
    assert_int_equal(decode(&c, b.p, b.len - 1, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    assert_int_equal(decode(&c, b.p, b.len - 2, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    free(b.p);
}


static void
extra_bytes_after_the_end_fail(void **state)
{
    buf_t              b;
    s3_chunked_conf_t  c = signed_conf(EX_LEN);

    ex_body(&b);
    buf_str(&b, "x");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL),
                     S3_ERR_INVALID_REQUEST);
    free(b.p);

    ex_body(&b);
    buf_str(&b, "\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 2, NULL),
                     S3_ERR_INVALID_REQUEST);
    free(b.p);
}


/* a small signed body with its first header line replaced */
static s3_err_t
with_header(const char *header, const char *data_and_rest)
{
    buf_t              b;
    s3_err_t           rc;
    s3_chunked_conf_t  c = signed_conf(-1);

    memset(&b, 0, sizeof(b));
    buf_str(&b, header);
    buf_str(&b, data_and_rest);
    rc = decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL);
    free(b.p);

    return rc;
}


static void
malformed_framing_fails(void **state)
{
    assert_int_equal(with_header("1000g;chunk-signature=" EX_SIG1 "\r\n",
                                 "abc"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header(";chunk-signature=" EX_SIG1 "\r\n", "abc"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("-1;chunk-signature=" EX_SIG1 "\r\n", "a"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000000000000000;chunk-signature="
                                 EX_SIG1 "\r\n", "a"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("140000001;chunk-signature=" EX_SIG1 "\r\n",
                                 "a"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000\r\n", "a"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;chunk-signatur=" EX_SIG1 "\r\n", "a"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;Chunk-Signature=" EX_SIG1 "\r\n",
                                 "a"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000 ;chunk-signature=" EX_SIG1 "\r\n",
                                 "a"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;chunk-signature=" EX_SIG1 "\n", "a"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;chunk-signature=" EX_SIG1 "0\r\n",
                                 "a"), S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;chunk-signature=ad80c730\r\n", "a"),
                     S3_ERR_INVALID_REQUEST);
    assert_int_equal(with_header("10000;chunk-signature=" EX_SIG1 "\r\r",
                                 "a"), S3_ERR_INVALID_REQUEST);
}


static void
framing_after_the_data_must_be_crlf(void **state)
{
    char               prev[65];
    buf_t              b;
    unsigned char      a[10000];
    s3_chunked_conf_t  c = signed_conf(10000);
    size_t             crlf;

    memset(a, 'a', sizeof(a));
    memset(&b, 0, sizeof(b));
    memcpy(prev, EX_SEED, 65);
    signed_chunk(&b, prev, a, sizeof(a));
    crlf = b.len - 2;
    signed_chunk(&b, prev, NULL, 0);
    buf_str(&b, "\r\n");

    assert_int_equal(decode(&c, b.p, b.len, SPLIT_SMALL, 1, NULL), S3_OK);

    b.p[crlf] = '\n';
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_SMALL, 1, NULL),
                     S3_ERR_INVALID_REQUEST);
    b.p[crlf] = '\r';
    b.p[crlf + 1] = 'X';
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_SMALL, 1, NULL),
                     S3_ERR_INVALID_REQUEST);
    b.p[crlf + 1] = '\n';

    /* the final "\r\n" of a signed stream */
    b.p[b.len - 1] = 'x';
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INVALID_REQUEST);
    b.p[b.len - 2] = 'x';
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INVALID_REQUEST);
    free(b.p);
}


static void
decoded_length_must_match(void **state)
{
    buf_t              b;
    s3_chunked_conf_t  c;

    ex_body(&b);

    c = signed_conf(EX_LEN - 1);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 5, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    c = signed_conf(EX_LEN + 1);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 5, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    c = signed_conf(0);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    free(b.p);
}


static void
only_the_last_chunk_may_be_small(void **state)
{
    char               prev[65];
    buf_t              b;
    unsigned char      a[8192];
    s3_chunked_conf_t  c = signed_conf(-1);

    memset(a, 'a', sizeof(a));

    /* 8191 then 1: the first is too small */
    memset(&b, 0, sizeof(b));
    memcpy(prev, EX_SEED, 65);
    signed_chunk(&b, prev, a, 8191);
    signed_chunk(&b, prev, a, 1);
    signed_chunk(&b, prev, NULL, 0);
    buf_str(&b, "\r\n");

    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INVALID_CHUNK_SIZE);
    c.min_chunk_size = 0;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL), S3_OK);
    free(b.p);

    /* 8192 then 1: fine */
    memset(&b, 0, sizeof(b));
    memcpy(prev, EX_SEED, 65);
    signed_chunk(&b, prev, a, 8192);
    signed_chunk(&b, prev, a, 1);
    signed_chunk(&b, prev, NULL, 0);
    buf_str(&b, "\r\n");

    c.min_chunk_size = 1;
    c.decoded_length = 8193;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL), S3_OK);
    free(b.p);

    /* an empty object: only the final chunk */
    memset(&b, 0, sizeof(b));
    memcpy(prev, EX_SEED, 65);
    signed_chunk(&b, prev, NULL, 0);
    buf_str(&b, "\r\n");
    c.decoded_length = 0;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL), S3_OK);
    free(b.p);
}


/* ---- trailers ---------------------------------------------------------- */

static const struct {
    s3_checksum_alg_t   alg;
    const char         *b64;        /* of "Hello world" */
} hello[] = {
    { S3_CKSUM_CRC32,     "i9aeUg==" },
    { S3_CKSUM_CRC32C,    NULL },
    { S3_CKSUM_CRC64NVME, "OOJZ0D8xKts=" },
    { S3_CKSUM_SHA1,      "e1AsOh9IyGCa4hLN+2Od7jlnP14=" },
    { S3_CKSUM_SHA256,    "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=" },
};


static void
hello_b64(size_t i, char *out)
{
    size_t  n;

    assert_int_equal(s3_checksum_base64(hello[i].alg, "Hello world", 11,
                                        out, &n), S3_OK);
    if (hello[i].b64 != NULL) {
        assert_string_equal(out, hello[i].b64);
    }
}


/* "Hello" and " world" as unsigned chunks, then the trailer lines */
static void
unsigned_body(buf_t *b, const char *trailers)
{
    memset(b, 0, sizeof(buf_t));
    buf_str(b, "5\r\nHello\r\n6\r\n world\r\n0\r\n");
    buf_str(b, trailers);
}


static s3_chunked_conf_t
unsigned_conf(s3_checksum_alg_t alg)
{
    s3_chunked_conf_t  c;

    memset(&c, 0, sizeof(c));
    c.mode = S3_CHUNKED_UNSIGNED_TRAILER;
    c.trailer = alg;
    c.decoded_length = 11;

    return c;
}


static void
unsigned_trailer_with_each_checksum(void **state)
{
    int                split;
    size_t             i, used;
    char               b64[S3_CHECKSUM_B64_MAX], line[128];
    buf_t              b, out;
    s3_str_t           data, v;
    s3_chunked_t       d;
    s3_chunked_conf_t  c;

    memset(&out, 0, sizeof(out));

    for (i = 0; i < sizeof(hello) / sizeof(hello[0]); i++) {
        hello_b64(i, b64);
        snprintf(line, sizeof(line), "%s:%s\r\n\r\n",
                 s3_checksum_header(hello[i].alg), b64);
        unsigned_body(&b, line);
        c = unsigned_conf(hello[i].alg);

        for (split = SPLIT_WHOLE; split <= SPLIT_SMALL; split++) {
            assert_int_equal(decode(&c, b.p, b.len, split, 7, &out), S3_OK);
            assert_int_equal(out.len, 11);
            assert_memory_equal(out.p, "Hello world", 11);
        }

        /* the value received is there for the response */
        assert_int_equal(s3_chunked_init(&d, &c), S3_OK);
        while (s3_chunked_decode(&d, b.p, b.len, &used, &data) == S3_OK
               && data.len)
        {
            memmove(b.p, b.p + used, b.len - used);
            b.len -= used;
        }
        assert_true(s3_chunked_done(&d));
        v = s3_chunked_trailer_value(&d);
        assert_int_equal(v.len, strlen(b64));
        assert_memory_equal(v.data, b64, v.len);
        assert_int_equal(s3_chunked_decoded(&d), 11);
        s3_chunked_cleanup(&d);
        free(b.p);

        /* another value of the right size */
        b64[1] = b64[1] == 'A' ? 'B' : 'A';
        snprintf(line, sizeof(line), "%s:%s\r\n\r\n",
                 s3_checksum_header(hello[i].alg), b64);
        unsigned_body(&b, line);
        assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL),
                         S3_ERR_BAD_CHECKSUM);
        free(b.p);
    }

    free(out.p);
}


static void
unsigned_trailer_malformed(void **state)
{
    size_t             i;
    buf_t              b;
    s3_chunked_conf_t  c = unsigned_conf(S3_CKSUM_CRC32);

    static const struct {
        const char  *trailers;
        s3_err_t     err;
    } bad[] = {
        { "\r\n", S3_ERR_MALFORMED_TRAILER },                  /* missing */
        { "x-amz-checksum-crc32c:i9aeUg==\r\n\r\n",
          S3_ERR_MALFORMED_TRAILER },                          /* another */
        { "x-amz-checksum-crc32:i9aeUg==\r\n"
          "x-amz-checksum-crc32:i9aeUg==\r\n\r\n",
          S3_ERR_MALFORMED_TRAILER },                          /* twice */
        { "x-amz-meta-foo:bar\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n",
          S3_ERR_MALFORMED_TRAILER },
        { "x-amz-checksum-crc32 i9aeUg==\r\n\r\n",
          S3_ERR_MALFORMED_TRAILER },                          /* no colon */
        { ":i9aeUg==\r\n\r\n", S3_ERR_MALFORMED_TRAILER },
        { "x-amz-checksum-crc32:i9aeUg==\n\r\n",
          S3_ERR_MALFORMED_TRAILER },                          /* bare LF */
        { "x-amz-checksum-crc32:i9aeUg==\r\r\n",
          S3_ERR_MALFORMED_TRAILER },
        { "x-amz-checksum-crc32:i9aeUg==\r\n"
          "x-amz-trailer-signature:" EX_SIG1 "\r\n\r\n",
          S3_ERR_MALFORMED_TRAILER },                          /* unsigned */
        { "x-amz-checksum-crc32:i9aeUg=\r\n\r\n",
          S3_ERR_INVALID_CHECKSUM },                           /* base64 */
        { "x-amz-checksum-crc32:i9aeUgAA\r\n\r\n",
          S3_ERR_INVALID_CHECKSUM },                           /* 6 bytes */
        { "x-amz-checksum-crc32:" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n",
          S3_ERR_INVALID_CHECKSUM },
        { "x-amz-checksum-crc32:i9aeUg==\r\n\r\nX",
          S3_ERR_INVALID_REQUEST },                            /* after */
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned_body(&b, bad[i].trailers);
        if (decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL) != bad[i].err) {
            fail_msg("case %zu", i);
        }
        free(b.p);
    }

    /* the header name in another case and spaces around the value */
    unsigned_body(&b, "X-Amz-Checksum-CRC32:  i9aeUg== \r\n\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL), S3_OK);
    free(b.p);

    /* no trailer declared: none may come */
    c = unsigned_conf(S3_CKSUM_NONE);
    unsigned_body(&b, "\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL), S3_OK);
    free(b.p);
    unsigned_body(&b, "x-amz-checksum-crc32:i9aeUg==\r\n\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL),
                     S3_ERR_MALFORMED_TRAILER);
    free(b.p);

    /* unsigned chunks carry no signature */
    c = unsigned_conf(S3_CKSUM_CRC32);
    memset(&b, 0, sizeof(b));
    buf_str(&b, "5;chunk-signature=" EX_SIG1 "\r\nHello\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INVALID_REQUEST);
    free(b.p);

    /* a trailer line longer than we keep */
    memset(&b, 0, sizeof(b));
    unsigned_body(&b, "x-amz-checksum-crc32:");
    buf_fill(&b, 'A', S3_CHUNKED_MAX_LINE);
    buf_str(&b, "\r\n\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 1, NULL),
                     S3_ERR_MALFORMED_TRAILER);
    free(b.p);

    /* the data length declared is checked here too */
    c.decoded_length = 12;
    unsigned_body(&b, "x-amz-checksum-crc32:i9aeUg==\r\n\r\n");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_INCOMPLETE_BODY);
    free(b.p);
}


/* the example's chunks, then a signed trailer with the given value */
static void
signed_trailer_body(buf_t *b, const char *value, int sign_value_as,
    const char *sig_override)
{
    char               canon[128], line[160], sig[65];
    s3_chunked_sign_t  s = ex_sign();

    memset(b, 0, sizeof(buf_t));
    buf_str(b, "10000;chunk-signature=" EX_SIG1 "\r\n");
    buf_fill(b, 'a', 65536);
    buf_str(b, "\r\n400;chunk-signature=" EX_SIG2 "\r\n");
    buf_fill(b, 'a', 1024);
    buf_str(b, "\r\n0;chunk-signature=" EX_SIG3 "\r\n");

    snprintf(line, sizeof(line), "x-amz-checksum-crc32c:%s\r\n", value);
    buf_str(b, line);

    snprintf(canon, sizeof(canon), "x-amz-checksum-crc32c:%s\n",
             sign_value_as ? "AAAAAA==" : value);
    assert_int_equal(s3_chunked_trailer_signature(&s, EX_SIG3, canon,
                                                  strlen(canon), sig),
                     S3_OK);

    snprintf(line, sizeof(line), "x-amz-trailer-signature:%s\r\n\r\n",
             sig_override ? sig_override : sig);
    buf_str(b, line);
}


static void
signed_trailer_verifies_and_damage_fails(void **state)
{
    char               b64[S3_CHECKSUM_B64_MAX], *p;
    size_t             n;
    buf_t              b, out;
    unsigned char     *a;
    s3_chunked_conf_t  c = signed_conf(EX_LEN);

    c.mode = S3_CHUNKED_SIGNED_TRAILER;
    c.trailer = S3_CKSUM_CRC32C;

    a = malloc(EX_LEN);
    memset(a, 'a', EX_LEN);
    assert_int_equal(s3_checksum_base64(S3_CKSUM_CRC32C, a, EX_LEN, b64, &n),
                     S3_OK);
    free(a);

    memset(&out, 0, sizeof(out));
    signed_trailer_body(&b, b64, 0, NULL);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_RANDOM, 11, &out), S3_OK);
    all_a(&out, EX_LEN);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_BYTES, 0, NULL), S3_OK);

    /* the trailer signature flipped */
    p = strstr((char *) b.p, "x-amz-trailer-signature:") + 24;
    flip_hex(&p[0]);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    free(b.p);

    /* another checksum value than the one signed */
    signed_trailer_body(&b, "AAAAAA==", 0, NULL);
    p = strstr((char *) b.p, "x-amz-checksum-crc32c:") + 22;
    p[0] = 'B';
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    free(b.p);

    /* a wrong checksum, signed correctly: the checksum is what fails */
    signed_trailer_body(&b, "AAAAAA==", 1, NULL);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_SMALL, 2, NULL),
                     S3_ERR_BAD_CHECKSUM);
    free(b.p);

    /* the signature line missing */
    signed_trailer_body(&b, b64, 0, NULL);
    p = strstr((char *) b.p, "x-amz-trailer-signature:");
    strcpy(p, "\r\n");
    b.len = (size_t) (p - (char *) b.p) + 2;
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_MALFORMED_TRAILER);
    free(b.p);

    /* a short signature */
    signed_trailer_body(&b, b64, 0, "abcdef");
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    free(b.p);

    /* the final chunk's signature is still checked */
    signed_trailer_body(&b, b64, 0, NULL);
    p = strstr((char *) b.p, EX_SIG3);
    flip_hex(&p[63]);
    assert_int_equal(decode(&c, b.p, b.len, SPLIT_WHOLE, 0, NULL),
                     S3_ERR_SIGNATURE_MISMATCH);
    free(b.p);

    free(out.p);
}


static void
bad_configurations_are_refused(void **state)
{
    s3_chunked_t       d;
    s3_chunked_conf_t  c = signed_conf(-1);

    c.sign.seed = str_of("abc");
    assert_int_equal(s3_chunked_init(&d, &c), S3_ERR_INTERNAL);
    s3_chunked_cleanup(&d);

    c = signed_conf(-1);
    c.trailer = S3_CKSUM_CRC32;         /* no trailer in this mode */
    assert_int_equal(s3_chunked_init(&d, &c), S3_ERR_INTERNAL);
    s3_chunked_cleanup(&d);

    c = signed_conf(-1);
    c.mode = 0;
    assert_int_equal(s3_chunked_init(&d, &c), S3_ERR_INTERNAL);
    s3_chunked_cleanup(&d);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(aws_example_seed_signature_from_its_canonical_request),
        cmocka_unit_test(chunk_signatures_match_the_aws_example),
        cmocka_unit_test(trailer_signature_matches_aws_c_auth),
        cmocka_unit_test(aws_example_body_decodes_in_any_split),
        cmocka_unit_test(damaged_data_or_signatures_fail),
        cmocka_unit_test(a_missing_or_reordered_chunk_fails),
        cmocka_unit_test(
            truncation_at_every_interesting_offset_is_an_incomplete_body),
        cmocka_unit_test(extra_bytes_after_the_end_fail),
        cmocka_unit_test(malformed_framing_fails),
        cmocka_unit_test(framing_after_the_data_must_be_crlf),
        cmocka_unit_test(decoded_length_must_match),
        cmocka_unit_test(only_the_last_chunk_may_be_small),
        cmocka_unit_test(unsigned_trailer_with_each_checksum),
        cmocka_unit_test(unsigned_trailer_malformed),
        cmocka_unit_test(signed_trailer_verifies_and_damage_fails),
        cmocka_unit_test(bad_configurations_are_refused),
    };

    assert_int_equal(setup_key(NULL), 0);

    return UNIT_RUN(tests);
}
