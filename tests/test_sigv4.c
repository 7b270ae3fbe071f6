/*
 * s3/s3_sigv4: every case of the aws-c-auth signing test suite
 * (tests/vectors/sigv4) signed in both forms and verified in both forms
 * with tampering; AWS's and botocore's S3 examples; parser negatives;
 * skew, expiry and scope rules; S3-flavour paths.
 */

#include <dirent.h>
#include <time.h>

#include <jansson.h>

#include "unit.h"

#include <ctype.h>

#include "kms_crypto.h"
#include "s3_sigv4.h"


#define MAX_HDRS  32


/* a request parsed from the suite's request.txt format */
typedef struct {
    char         *text;                 /* owns the bytes */
    s3_str_t      method;
    s3_str_t      path;
    s3_str_t      query;
    s3_header_t   h[MAX_HDRS];
    size_t        n;
    s3_str_t      body;
    char         *values[MAX_HDRS];     /* folded multi-line values */
} http_t;


typedef struct {
    char       akid[64];
    char       secret[128];
    char       token[1024];
    char       region[32];
    char       service[32];
    char       amz_date[17];
    int64_t    now;
    int64_t    expires;
    int        normalize;
    int        sign_body;
    int        omit_token;
} ctx_t;


static s3_str_t
str_of(const char *s)
{
    s3_str_t  v;

    v.data = (const unsigned char *) s;
    v.len = strlen(s);

    return v;
}


static int
str_is(s3_str_t v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.data, s, v.len) == 0;
}


static int64_t
timegm_of(const char *amz)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    assert_int_equal(sscanf(amz, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year,
                            &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                            &tm.tm_sec), 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm);
}


/*
 * "METHOD URI HTTP/1.1" (the URI may hold spaces), header lines, lines
 * starting with white space continue the previous value, an empty line,
 * the body.
 */
static void
http_parse(http_t *m, char *text)
{
    char   *p, *eol, *sp, *q, *colon;
    size_t  i;

    memset(m, 0, sizeof(http_t));
    m->text = text;

    eol = strchr(text, '\n');
    assert_non_null(eol);
    *eol = '\0';

    sp = strchr(text, ' ');
    q = strrchr(text, ' ');
    assert_true(sp != NULL && q != NULL && q > sp);
    m->method.data = (unsigned char *) text;
    m->method.len = (size_t) (sp - text);
    *q = '\0';

    p = sp + 1;
    q = strchr(p, '?');
    m->path.data = (unsigned char *) p;
    if (q) {
        m->path.len = (size_t) (q - p);
        m->query.data = (unsigned char *) q + 1;
        m->query.len = strlen(q + 1);

    } else {
        m->path.len = strlen(p);
        m->query.data = (unsigned char *) p + m->path.len;
    }

    p = eol + 1;

    while (*p && *p != '\n') {
        eol = strchr(p, '\n');
        if (eol) {
            *eol = '\0';
        }

        if ((*p == ' ' || *p == '\t') && m->n) {
            /* continuation: fold into the previous value */
            i = m->n - 1;
            if (m->values[i] == NULL) {
                m->values[i] = strndup((char *) m->h[i].value.data,
                                       m->h[i].value.len);
            }
            q = malloc(strlen(m->values[i]) + strlen(p) + 2);
            sprintf(q, "%s\n%s", m->values[i], p);
            free(m->values[i]);
            m->values[i] = q;
            m->h[i].value = str_of(q);

        } else {
            colon = strchr(p, ':');
            assert_non_null(colon);
            assert_true(m->n < MAX_HDRS);
            m->h[m->n].name.data = (unsigned char *) p;
            m->h[m->n].name.len = (size_t) (colon - p);
            m->h[m->n].value = str_of(colon + 1);
            m->n++;
        }

        if (eol == NULL) {
            p += strlen(p);
            break;
        }
        p = eol + 1;
    }

    if (*p == '\n') {
        p++;
    }

    m->body = str_of(p);
}


static void
http_free(http_t *m)
{
    size_t  i;

    for (i = 0; i < MAX_HDRS; i++) {
        free(m->values[i]);
    }
    free(m->text);
}


static s3_sigv4_request_t
http_req(http_t *m)
{
    s3_sigv4_request_t  r;

    r.method = m->method;
    r.path = m->path;
    r.query = m->query;
    r.headers = m->h;
    r.nheaders = m->n;

    return r;
}


static char *
read_case(const char *dir, const char *file)
{
    char   rel[512];
    char  *s;

    snprintf(rel, sizeof(rel), "sigv4/%s/%s", dir, file);
    s = unit_read_vector(rel, NULL);
    assert_non_null(s);

    return s;
}


static void
ctx_load(ctx_t *c, const char *dir)
{
    char          *text;
    json_t        *j, *cred, *v;
    json_error_t   err;
    const char    *ts;

    memset(c, 0, sizeof(ctx_t));

    text = read_case(dir, "context.json");
    j = json_loads(text, 0, &err);
    free(text);
    assert_non_null(j);

    cred = json_object_get(j, "credentials");
    snprintf(c->akid, sizeof(c->akid), "%s",
             json_string_value(json_object_get(cred, "access_key_id")));
    snprintf(c->secret, sizeof(c->secret), "%s",
             json_string_value(json_object_get(cred, "secret_access_key")));
    v = json_object_get(cred, "token");
    if (v) {
        snprintf(c->token, sizeof(c->token), "%s", json_string_value(v));
    }

    snprintf(c->region, sizeof(c->region), "%s",
             json_string_value(json_object_get(j, "region")));
    snprintf(c->service, sizeof(c->service), "%s",
             json_string_value(json_object_get(j, "service")));
    c->expires = json_integer_value(json_object_get(j,
                                                    "expiration_in_seconds"));
    c->normalize = json_is_true(json_object_get(j, "normalize"));
    c->sign_body = json_is_true(json_object_get(j, "sign_body"));
    c->omit_token = json_is_true(json_object_get(j, "omit_session_token"));

    /* "2015-08-30T12:36:00Z" */
    ts = json_string_value(json_object_get(j, "timestamp"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 20);
    snprintf(c->amz_date, sizeof(c->amz_date), "%.4s%.2s%.2sT%.2s%.2s%.2sZ",
             ts, ts + 5, ts + 8, ts + 11, ts + 14, ts + 17);
    c->now = timegm_of(c->amz_date);

    json_decref(j);
}


static void
ctx_key(const ctx_t *c, unsigned char key[32])
{
    s3_str_t  date = { 8, (const unsigned char *) c->amz_date };

    assert_int_equal(s3_sigv4_signing_key(c->secret, strlen(c->secret), date,
                                          str_of(c->region),
                                          str_of(c->service), key), S3_OK);
}


static void
hex_sha256(s3_str_t body, char hex[65])
{
    unsigned char  h[32];

    assert_int_equal(kms_sha256(body.data, body.len, h), 0);
    kms_hex(h, 32, hex);
}


/* the expected file, without a trailing newline the suite sometimes has */
static void
expect_file(const char *dir, const char *file, const char *got)
{
    char    *want;
    size_t   n;

    want = read_case(dir, file);
    n = strlen(want);
    while (n && want[n - 1] == '\n') {
        want[--n] = '\0';
    }

    if (strcmp(want, got) != 0) {
        print_error("%s/%s:\nwant:\n%s\ngot:\n%s\n", dir, file, want, got);
        free(want);
        fail();
    }

    free(want);
}


static void
dbg_init(s3_sigv4_debug_t *d, char *creq, size_t ccap, char *sts,
    size_t scap)
{
    memset(d, 0, sizeof(s3_sigv4_debug_t));
    d->creq = creq;
    d->creq_cap = ccap;
    d->sts = sts;
    d->sts_cap = scap;
}


/* ---- signing every suite case -------------------------------------------- */

static void
sign_case(const char *dir)
{
    char                 creq[4096], sts[1024], out[4096], hash[65];
    char                *text, *want, *line;
    size_t               n, outlen;
    ctx_t                c;
    http_t               m;
    s3_header_t          hs[MAX_HDRS];
    s3_sigv4_sign_t      s;
    s3_sigv4_debug_t     d;
    unsigned char        key[32];

    ctx_load(&c, dir);
    ctx_key(&c, key);

    http_parse(&m, read_case(dir, "request.txt"));
    hex_sha256(m.body, hash);

    /* header form: the request's headers and those the signer adds */

    memcpy(hs, m.h, m.n * sizeof(s3_header_t));
    n = m.n;
    hs[n].name = str_of("X-Amz-Date");
    hs[n++].value = str_of(c.amz_date);
    if (c.token[0] && !c.omit_token) {
        hs[n].name = str_of("X-Amz-Security-Token");
        hs[n++].value = str_of(c.token);
    }
    if (c.sign_body) {
        hs[n].name = str_of("x-amz-content-sha256");
        hs[n++].value = str_of(hash);
    }

    memset(&s, 0, sizeof(s));
    s.req = http_req(&m);
    s.req.headers = hs;
    s.req.nheaders = n;
    s.payload_hash = str_of(hash);
    s.amz_date = str_of(c.amz_date);
    s.access_key = str_of(c.akid);
    s.region = str_of(c.region);
    s.service = str_of(c.service);
    s.normalize = c.normalize;

    dbg_init(&d, creq, sizeof(creq), sts, sizeof(sts));
    assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &outlen, &d),
                     S3_OK);
    assert_int_equal(outlen, strlen(out));

    expect_file(dir, "header-canonical-request.txt", creq);
    expect_file(dir, "header-string-to-sign.txt", sts);
    expect_file(dir, "header-signature.txt", d.signature);

    /* the Authorization header of the signed request */
    text = read_case(dir, "header-signed-request.txt");
    line = strstr(text, "\nAuthorization:");
    assert_non_null(line);
    line += strlen("\nAuthorization:");
    want = strndup(line, strcspn(line, "\n"));
    assert_string_equal(out, want);
    free(want);
    free(text);

    /* query form: presigned with the request's own headers */

    s.req = http_req(&m);
    s.presign = 1;
    s.expires = c.expires;
    if (c.token[0] && !c.omit_token) {
        s.security_token = str_of(c.token);
    }

    dbg_init(&d, creq, sizeof(creq), sts, sizeof(sts));
    assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &outlen, &d),
                     S3_OK);

    expect_file(dir, "query-canonical-request.txt", creq);
    expect_file(dir, "query-string-to-sign.txt", sts);
    expect_file(dir, "query-signature.txt", d.signature);

    if (!c.omit_token) {
        /* the request line carries exactly the query we produced */
        text = read_case(dir, "query-signed-request.txt");
        want = malloc(strlen(text) + 1);
        sprintf(want, "%.*s %.*s?%s HTTP/1.1", (int) m.method.len,
                m.method.data, (int) m.path.len, m.path.data, out);
        assert_int_equal(strncmp(text, want, strlen(want)), 0);
        assert_int_equal(text[strlen(want)], '\n');
        free(want);
        free(text);
    }

    http_free(&m);
}


/* ---- verifying every suite case, then tampering with it ------------------ */

typedef enum {
    TAMPER_NONE = 0,
    TAMPER_SIGNATURE,
    TAMPER_HEADER,
    TAMPER_PATH,
    TAMPER_QUERY,
    TAMPER_METHOD
} tamper_t;


static char *
str_insert(const char *s, size_t at, const char *ins)
{
    char  *r = malloc(strlen(s) + strlen(ins) + 1);

    memcpy(r, s, at);
    strcpy(r + at, ins);
    strcat(r, s + at);

    return r;
}


static char *
tamper(const char *orig, tamper_t how, int query_form)
{
    char    *t, *p, *sp;
    size_t   at;
    int      v;

    switch (how) {

    case TAMPER_SIGNATURE:
        /* one bit of the signature's value, still lowercase hex */
        t = strdup(orig);
        p = strstr(t, query_form ? "X-Amz-Signature=" : "Signature=");
        assert_non_null(p);
        p = strchr(p, '=') + 1;
        v = p[10] <= '9' ? p[10] - '0' : p[10] - 'a' + 10;
        v ^= 1;
        p[10] = (char) (v < 10 ? '0' + v : 'a' + v - 10);
        return t;

    case TAMPER_HEADER:
        t = strdup(orig);
        p = strstr(t, "Host:example.amazonaws.com");
        assert_non_null(p);
        p[strlen("Host:example")] = 'X';
        return t;

    case TAMPER_PATH:
        /* at the end: "/a/b/../.." normalizes the same with "/xa/..." */
        sp = strstr(orig, " HTTP/1.1\n");
        assert_non_null(sp);
        at = (size_t) (sp - orig);
        p = memchr(orig, '?', at);
        return str_insert(orig, p ? (size_t) (p - orig) : at, "x");

    case TAMPER_QUERY:
        sp = strstr(orig, " HTTP/1.1\n");
        assert_non_null(sp);
        at = (size_t) (sp - orig);
        p = memchr(orig, '?', at);
        return str_insert(orig, at, p ? "&x=y" : "?x=y");

    case TAMPER_METHOD:
        return str_insert(orig, 0, "X");

    default:
        return strdup(orig);
    }
}


/*
 * s3_sigv4_verify() once more with the optional handles of the conf (a
 * reused digest context, the key's HMAC state) and without debug copies:
 * the same answer and reason as with fresh contexts, whatever the case.
 */
static s3_err_t
verify_with_handles(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a,
    const s3_sigv4_conf_t *conf, const unsigned char key[32], s3_err_t want)
{
    s3_err_t                  rc;
    s3_sigv4_reason_t         reason;
    s3_sigv4_conf_t           fast;
    static kms_hmac_t        *h;
    static kms_sha256_t      *sha;

    /* one pair for every call: reuse across requests is the point */
    if (h == NULL) {
        h = kms_hmac_new();
        sha = kms_sha256_new();
        assert_non_null(h);
        assert_non_null(sha);
    }

    reason = s3_sigv4_reason(a);

    fast = *conf;
    fast.debug = NULL;
    fast.sha = sha;
    fast.key_hmac = h;
    assert_int_equal(kms_hmac_set_key(h, key, 32), 0);

    rc = s3_sigv4_verify(r, a, &fast, key);
    assert_int_equal(rc, want);
    assert_int_equal(s3_sigv4_reason(a), reason);

    return rc;
}


/* m keeps the request the views of a point into; http_free() it */
static s3_err_t
verify_text(const ctx_t *c, const unsigned char key[32], const char *text,
    const char *dir, const char *creq_file, s3_sigv4_auth_t *a, http_t *mp)
{
    char                 creq[4096], hash[65];
    s3_err_t             rc;
    s3_sigv4_conf_t      conf;
    s3_sigv4_debug_t     d;
    s3_sigv4_request_t   r;

    http_parse(mp, strdup(text));
    r = http_req(mp);
    hex_sha256(mp->body, hash);

    rc = s3_sigv4_parse(&r, a);
    if (rc != S3_OK) {
        return rc;
    }

    memset(&conf, 0, sizeof(conf));
    conf.region = str_of(c->region);
    conf.service = str_of(c->service);
    conf.normalize = c->normalize;
    conf.now = c->now;
    conf.payload_hash = str_of(hash);

    dbg_init(&d, creq, sizeof(creq), NULL, 0);
    conf.debug = &d;

    rc = s3_sigv4_verify(&r, a, &conf, key);

    if (creq_file != NULL) {
        /* the verifier rebuilt the same canonical request */
        expect_file(dir, creq_file, creq);
    }

    return verify_with_handles(&r, a, &conf, key, rc);
}


static void
verify_case(const char *dir)
{
    int               form, how;
    char             *text, *bad;
    ctx_t             c;
    http_t            m;
    s3_err_t          want;
    unsigned char     key[32];
    s3_sigv4_auth_t   a;

    static const char  *files[2] = {
        "header-signed-request.txt", "query-signed-request.txt"
    };
    static const char  *creqs[2] = {
        "header-canonical-request.txt", "query-canonical-request.txt"
    };

    ctx_load(&c, dir);
    ctx_key(&c, key);

    for (form = 0; form < 2; form++) {
        text = read_case(dir, files[form]);

        if (form == 1 && c.omit_token) {
            /*
             * The suite's signer left X-Amz-Security-Token out of the
             * canonical query and appended it afterwards; a server signs
             * every parameter but X-Amz-Signature, as AWS does, so this
             * request cannot verify.
             */
            assert_int_equal(verify_text(&c, key, text, dir, NULL, &a, &m),
                             S3_ERR_SIGNATURE_MISMATCH);
            http_free(&m);
            free(text);
            continue;
        }

        assert_int_equal(verify_text(&c, key, text, dir, creqs[form], &a,
                                     &m), S3_OK);
        assert_int_equal(a.form, form ? S3_SIGV4_QUERY : S3_SIGV4_HEADER);
        assert_true(str_is(a.access_key, c.akid));
        assert_true(str_is(a.region, c.region));
        assert_true(str_is(a.service, c.service));
        assert_string_equal(a.amz_date, c.amz_date);
        assert_int_equal(a.expires, form ? c.expires : 0);
        assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_OK);
        http_free(&m);

        for (how = TAMPER_SIGNATURE; how <= TAMPER_METHOD; how++) {
            bad = tamper(text, how, form);
            want = S3_ERR_SIGNATURE_MISMATCH;

            if (verify_text(&c, key, bad, dir, NULL, &a, &m) != want
                || s3_sigv4_reason(&a) != S3_SIGV4_MISMATCH)
            {
                print_error("%s %s: tampering %d verified\n", dir,
                            files[form], how);
                free(bad);
                fail();
            }

            http_free(&m);
            free(bad);
        }

        free(text);
    }
}


static int
for_each_case(void (*fn)(const char *dir))
{
    int             n;
    char            path[1024];
    DIR            *d;
    struct dirent  *e;

    snprintf(path, sizeof(path), "%s/sigv4", TEST_VECTORS);
    d = opendir(path);
    assert_non_null(d);

    n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL
            || strcmp(e->d_name, "LICENSE") == 0
            || strcmp(e->d_name, "NOTICE") == 0)
        {
            continue;
        }

        fn(e->d_name);
        n++;
    }

    closedir(d);

    return n;
}


static void
suite_every_case_signs_both_forms(void **state)
{
    assert_int_equal(for_each_case(sign_case), 38);
}


static void
suite_every_signed_request_verifies_and_tampering_fails(void **state)
{
    assert_int_equal(for_each_case(verify_case), 38);
}



/* ---- hand-built requests ------------------------------------------------- */

#define EX_AKID    "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE    "20130524T000000Z"
#define EX_TIME    1369353600
#define HELLO_SHA                                                           \
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


typedef struct {
    s3_header_t          h[80];
    size_t               n;
    s3_sigv4_request_t   r;
} req_t;


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
    assert_true(q->n < 80);
    q->h[q->n].name = str_of(name);
    q->h[q->n].value = str_of(value);
    q->r.nheaders = ++q->n;
}


static void
ex_key(const char *region, const char *service, unsigned char key[32])
{
    s3_str_t  date = { 8, (const unsigned char *) EX_DATE };

    assert_int_equal(s3_sigv4_signing_key(EX_SECRET, strlen(EX_SECRET), date,
                                          str_of(region), str_of(service),
                                          key), S3_OK);
}


static void
s3_conf(s3_sigv4_conf_t *conf, int64_t now)
{
    memset(conf, 0, sizeof(s3_sigv4_conf_t));
    conf->region = str_of("us-east-1");
    conf->service = str_of("s3");
    conf->s3 = 1;
    conf->now = now;
}


/* parse, then verify; the reason lands in *reason */
static s3_err_t
run(req_t *q, const s3_sigv4_conf_t *conf, const unsigned char key[32],
    s3_sigv4_auth_t *a)
{
    s3_err_t  rc;

    rc = s3_sigv4_parse(&q->r, a);
    if (rc != S3_OK) {
        return rc;
    }

    rc = s3_sigv4_verify(&q->r, a, conf, key);

    return verify_with_handles(&q->r, a, conf, key, rc);
}


#define EX_GET_SIG                                                          \
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


/* AWS's "GET Object" example (sig-v4-header-based-auth) */
static void
ex_get(req_t *q, const char *auth)
{
    req_init(q, "GET", "/test.txt", "");
    req_hdr(q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(q, "Authorization", auth);
    req_hdr(q, "Range", "bytes=0-9");
    req_hdr(q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    req_hdr(q, "x-amz-date", " " EX_DATE);
}


#define EX_GET_AUTH                                                         \
    "AWS4-HMAC-SHA256 Credential=" EX_AKID "/20130524/us-east-1/s3/"       \
    "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"           \
    "x-amz-date,Signature=" EX_GET_SIG


static void
signing_key_matches_aws_example(void **state)
{
    char           hex[65];
    s3_str_t       date = str_of("20120215");
    unsigned char  key[32];
    const char    *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    assert_int_equal(s3_sigv4_signing_key(secret, strlen(secret), date,
                                          str_of("us-east-1"), str_of("iam"),
                                          key), S3_OK);
    kms_hex(key, 32, hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0"
                             "b0d8a43505a000a1a9e090d414db404d");

    /* a date that is not YYYYMMDD is refused */
    assert_int_equal(s3_sigv4_signing_key(secret, strlen(secret),
                                          str_of("2012021"),
                                          str_of("us-east-1"), str_of("iam"),
                                          key), S3_ERR_INTERNAL);
}


static void
aws_s3_get_object_example_verifies_and_signs(void **state)
{
    char               creq[1024], sts[512], out[512];
    size_t             n;
    req_t              q;
    s3_sigv4_auth_t    a;
    s3_sigv4_conf_t    conf;
    s3_sigv4_debug_t   d;
    s3_sigv4_sign_t    s;
    unsigned char      key[32];

    ex_key("us-east-1", "s3", key);
    ex_get(&q, EX_GET_AUTH);
    s3_conf(&conf, EX_TIME);

    dbg_init(&d, creq, sizeof(creq), sts, sizeof(sts));
    conf.debug = &d;

    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    assert_string_equal(creq,
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
        "range:bytes=0-9\n"
        "x-amz-content-sha256:" S3_SIGV4_EMPTY_SHA256 "\n"
        "x-amz-date:" EX_DATE "\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n"
        S3_SIGV4_EMPTY_SHA256);
    assert_string_equal(sts,
        "AWS4-HMAC-SHA256\n" EX_DATE "\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    assert_true(str_is(a.scope, "20130524/us-east-1/s3/aws4_request"));
    assert_true(str_is(a.signature, EX_GET_SIG));

    /* nginx leaves an absent query as { 0, NULL } */
    q.r.query.len = 0;
    q.r.query.data = NULL;
    conf.debug = NULL;
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* the signer, fed the same headers, produces the same signature */
    memset(&s, 0, sizeof(s));
    req_init(&q, "GET", "/test.txt", "");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(&q, "Range", "bytes=0-9");
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    req_hdr(&q, "x-amz-date", EX_DATE);
    s.req = q.r;
    s.payload_hash = str_of(S3_SIGV4_EMPTY_SHA256);
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;
    assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &n, NULL),
                     S3_OK);
    assert_string_equal(out,
        "AWS4-HMAC-SHA256 Credential=" EX_AKID "/20130524/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
        "x-amz-date, Signature=" EX_GET_SIG);

    /* too small an output buffer */
    assert_int_equal(s3_sigv4_sign(&s, key, out, 100, &n, NULL),
                     S3_ERR_INTERNAL);
}


#define EX_PRESIGN_QUERY                                                    \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" EX_AKID            \
    "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=" EX_DATE       \
    "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="        \
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


static void
ex_presigned(req_t *q, const char *query)
{
    req_init(q, "GET", "/test.txt", query);
    req_hdr(q, "Host", "examplebucket.s3.amazonaws.com");
}


static void
aws_s3_presigned_example_verifies_until_it_expires(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    ex_presigned(&q, EX_PRESIGN_QUERY);

    s3_conf(&conf, EX_TIME + 100);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    assert_int_equal(a.form, S3_SIGV4_QUERY);
    assert_int_equal(a.expires, 86400);
    assert_true(str_is(a.access_key, EX_AKID));
    assert_true(str_is(a.signed_headers, "host"));

    /* the last second it is valid, the first it is not */
    conf.now = EX_TIME + 86400;
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    conf.now = EX_TIME + 86401;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_REQUEST_EXPIRED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_EXPIRED);

    /* from the future, beyond the allowed skew */
    conf.now = EX_TIME - 900;
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    conf.now = EX_TIME - 901;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_NOT_YET_VALID);

    /* a parameter added after signing */
    ex_presigned(&q, EX_PRESIGN_QUERY "&response-content-type=text%2Fplain");
    conf.now = EX_TIME;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
}


static void
presigning_reproduces_the_aws_example(void **state)
{
    char              out[1024];
    size_t            n;
    req_t             q;
    s3_sigv4_sign_t   s;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    ex_presigned(&q, "");

    memset(&s, 0, sizeof(s));
    s.req = q.r;
    s.payload_hash = str_of(S3_SIGV4_UNSIGNED_PAYLOAD);
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;
    s.presign = 1;
    s.expires = 86400;

    assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &n, NULL),
                     S3_OK);

    /* our parameter order differs from the example's: compare sorted */
    assert_non_null(strstr(out, "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d"
                                "86835f995330da4c265957d157751f604d404"));
    assert_non_null(strstr(out, "X-Amz-Expires=86400"));
    assert_non_null(strstr(out, "X-Amz-Credential=" EX_AKID "%2F20130524%2F"
                                "us-east-1%2Fs3%2Faws4_request"));
}


/* keys and signatures from botocore 1.43 (S3SigV4Auth, S3SigV4QueryAuth) */
static const struct {
    const char  *path;
    const char  *header_sig;
    const char  *query_sig;
} boto[] = {
    { "/examplebucket/a%20b%2Bc.txt",
      "5b1f50394c6c937c6f57bec67105db7cdd27f81a4fe335442e3ec1d572ede9cb",
      "d690269914ee028a860698af6775b0135c22c47d5cb6ef5ebb0910420b73624e" },
    { "/examplebucket/%E1%88%B4/%C3%A9t%C3%A9.txt",
      "ae293a801174b8a6b27aab90805225315925e9c99e05371a1ae78fb4950cf5df",
      "85124b56a887fdd28d30e1d1ee84fa4b49ce4617fac122b9f75d6fc089a0e468" },
    { "/examplebucket/tilde~and-dots..._x",
      "5fcb1223820ffb2fd033f4a8a6d66b6f8101e5099092d45dbd16703dc26660f5",
      "6d20c821348e4be016096a00aea5b31983a9236c00da322f035e60bc509b63f3" },
    { "/examplebucket/a//b/../c",
      "b30055e916f2bfe7810cdfa9a23c244ed278982b7c18a2336e99653004564e9f",
      "ffdb02b92ba23be5907011d5e0a4258c68110f32f5632d319a861122263a8a14" },
    { "/examplebucket/x%252Fy",
      "f74a48fbb0f73db1f228b80c686428731824342ef722448f172e41aca18c56f2",
      "f7f53e5a75650c746f4e438d925492dd31d22cf41d4770e845227bad02294162" },
    { "/examplebucket/q%21%27%28%29%2A%26%24%3D%3B%3A%40%2C",
      "d52cf9adbfd22a86acf79f047896fe5bc068d3cd6cd9afe63df897fc9c0fbd36",
      "7ec8745623ec9f45de3c2212644cb312ccea9552477ea983821207dd5c226b33" },
};


static void
boto_put(req_t *q, const char *path, char *auth, const char *sig)
{
    sprintf(auth, "AWS4-HMAC-SHA256 Credential=" EX_AKID "/20130524/"
            "us-east-1/s3/aws4_request, SignedHeaders=content-type;host;"
            "x-amz-content-sha256;x-amz-date, Signature=%s", sig);

    req_init(q, "PUT", path, "x-id=PutObject");
    req_hdr(q, "Host", "s3.amazonaws.com");
    req_hdr(q, "Content-Type", "text/plain");
    req_hdr(q, "X-Amz-Date", EX_DATE);
    req_hdr(q, "X-Amz-Content-SHA256", HELLO_SHA);
    req_hdr(q, "Authorization", auth);
    req_hdr(q, "Content-Length", "5");
}


static void
boto_get(req_t *q, const char *path, char *query, const char *sig)
{
    sprintf(query, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
            EX_AKID "%%2F20130524%%2Fus-east-1%%2Fs3%%2Faws4_request&"
            "X-Amz-Date=" EX_DATE "&X-Amz-Expires=3600&"
            "X-Amz-SignedHeaders=host&X-Amz-Signature=%s", sig);

    req_init(q, "GET", path, query);
    req_hdr(q, "Host", "s3.amazonaws.com");
}


static void
botocore_s3_keys_verify_in_both_forms(void **state)
{
    char              auth[512], query[512], out[512];
    size_t            i, n;
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    s3_sigv4_sign_t   s;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    for (i = 0; i < sizeof(boto) / sizeof(boto[0]); i++) {
        boto_put(&q, boto[i].path, auth, boto[i].header_sig);
        assert_int_equal(run(&q, &conf, key, &a), S3_OK);

        /* our signer agrees */
        memset(&s, 0, sizeof(s));
        s.req = q.r;
        s.req.nheaders = 4;         /* without Authorization, length */
        s.payload_hash = str_of(HELLO_SHA);
        s.amz_date = str_of(EX_DATE);
        s.access_key = str_of(EX_AKID);
        s.region = str_of("us-east-1");
        s.service = str_of("s3");
        s.s3 = 1;
        assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &n, NULL),
                         S3_OK);
        assert_string_equal(out, auth);

        boto_get(&q, boto[i].path, query, boto[i].query_sig);
        assert_int_equal(run(&q, &conf, key, &a), S3_OK);

        /* another key does not verify */
        boto_get(&q, boto[(i + 1) % 6].path, query, boto[i].query_sig);
        assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    }
}


/* the canonical path line of a request in the S3 flavour */
static void
expect_s3_path(const char *path, const char *want)
{
    char              creq[1024], line[512];
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    s3_sigv4_debug_t  d;
    unsigned char     key[32];

    memset(key, 0, sizeof(key));
    req_init(&q, "GET", path, "");
    req_hdr(&q, "Host", "h");
    req_hdr(&q, "x-amz-date", EX_DATE);
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    req_hdr(&q, "Authorization", "AWS4-HMAC-SHA256 Credential=A/20130524/"
            "us-east-1/s3/aws4_request, SignedHeaders=host, Signature="
            S3_SIGV4_EMPTY_SHA256);

    s3_conf(&conf, EX_TIME);
    dbg_init(&d, creq, sizeof(creq), NULL, 0);
    conf.debug = &d;

    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(sscanf(creq, "GET\n%511[^\n]", line), 1);
    assert_string_equal(line, want);
}


static void
s3_paths_are_decoded_and_encoded_once_never_normalized(void **state)
{
    char              auth[512];
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    expect_s3_path("/b/a b", "/b/a%20b");
    expect_s3_path("/b/a+b", "/b/a%2Bb");
    expect_s3_path("/b/a%2bb", "/b/a%2Bb");
    expect_s3_path("/b/\xe1\x88\xb4", "/b/%E1%88%B4");
    expect_s3_path("/b/%e1%88%b4", "/b/%E1%88%B4");
    expect_s3_path("/b/%7E~", "/b/~~");
    expect_s3_path("/b/x%2Fy", "/b/x/y");
    expect_s3_path("/b/x%252Fy", "/b/x%252Fy");
    expect_s3_path("/b/a//b/../c/./", "/b/a//b/../c/./");
    expect_s3_path("", "/");
    expect_s3_path("/b/!'()*", "/b/%21%27%28%29%2A");

    /* lowercase escapes and %7E verify against botocore's signatures */
    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    boto_put(&q, "/examplebucket/%e1%88%b4/%c3%a9t%c3%a9.txt", auth,
             boto[1].header_sig);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    boto_put(&q, "/examplebucket/tilde%7Eand-dots..._x", auth,
             boto[2].header_sig);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* "a//b/../c" is kept as sent: normalizing it breaks the signature */
    boto_put(&q, boto[3].path, auth, boto[3].header_sig);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    conf.s3 = 0;
    conf.normalize = 1;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);

    /* a bad escape cannot be canonicalized */
    conf.s3 = 1;
    boto_put(&q, "/examplebucket/a%zz", auth, boto[0].header_sig);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_ENCODING);
}


/* the canonical query line for a raw query */
static void
expect_query(const char *query, const char *want)
{
    char              creq[2048], line[1024];
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    s3_sigv4_debug_t  d;
    unsigned char     key[32];

    memset(key, 0, sizeof(key));
    req_init(&q, "GET", "/", query);
    req_hdr(&q, "Host", "h");
    req_hdr(&q, "x-amz-date", EX_DATE);
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    req_hdr(&q, "Authorization", "AWS4-HMAC-SHA256 Credential=A/20130524/"
            "us-east-1/s3/aws4_request, SignedHeaders=host, Signature="
            S3_SIGV4_EMPTY_SHA256);

    s3_conf(&conf, EX_TIME);
    dbg_init(&d, creq, sizeof(creq), NULL, 0);
    conf.debug = &d;

    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(strncmp(creq, "GET\n/\n", 6), 0);
    snprintf(line, sizeof(line), "%.*s", (int) strcspn(creq + 6, "\n"),
             creq + 6);
    assert_string_equal(line, want);
}


static void
query_is_decoded_reencoded_and_sorted(void **state)
{
    expect_query("", "");
    expect_query("b&a", "a=&b=");
    expect_query("a=2&a=1&a=10", "a=1&a=10&a=2");
    expect_query("prefix=a+b c", "prefix=a%2Bb%20c");
    expect_query("x=%2f%7e%41", "x=%2F~A");
    expect_query("&&a=1&&", "a=1");
    expect_query("a=b=c", "a=b%3Dc");
    /* an escaped byte sorts before every unreserved character */
    expect_query("a-=1&a%21=2&a0=3", "a%21=2&a-=1&a0=3");
    expect_query("%E1%88%B4=1&Z=2&z=3", "%E1%88%B4=1&Z=2&z=3");
    expect_query("k=%e1%88%b4", "k=%E1%88%B4");
}


static void
kms_request_signed_by_botocore_verifies(void **state)
{
    char              hash[65];
    req_t             q;
    s3_str_t          body;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("eu-west-1", "kms", key);

    req_init(&q, "POST", "/", "");
    req_hdr(&q, "Host", "kms.eu-west-1.amazonaws.com");
    req_hdr(&q, "X-Amz-Target", "TrentService.Encrypt");
    req_hdr(&q, "Content-Type", "application/x-amz-json-1.1");
    req_hdr(&q, "X-Amz-Date", EX_DATE);
    req_hdr(&q, "Authorization", "AWS4-HMAC-SHA256 Credential=" EX_AKID
            "/20130524/eu-west-1/kms/aws4_request, SignedHeaders="
            "content-type;host;x-amz-date;x-amz-target, Signature="
            "5603e5219579c36be5f1b3a010f364401814b396315fd24baf961d4c9438c52f");
    req_hdr(&q, "Content-Length", "45");

    body = str_of("{\"KeyId\":\"alias/test\",\"Plaintext\":\"aGVsbG8=\"}");
    hex_sha256(body, hash);

    memset(&conf, 0, sizeof(conf));
    conf.region = str_of("eu-west-1");
    conf.service = str_of("kms");
    conf.normalize = 1;
    conf.now = EX_TIME + 299;
    conf.max_skew = 300;
    conf.payload_hash = str_of(hash);

    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* KMS allows five minutes */
    conf.now = EX_TIME + 301;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_TIME_SKEWED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_SKEWED);

    /* another body */
    conf.now = EX_TIME;
    body = str_of("{\"KeyId\":\"alias/test\",\"Plaintext\":\"aGVsbG9=\"}");
    hex_sha256(body, hash);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);

    /* the service of the scope is checked */
    conf.service = str_of("s3");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_AUTH_HEADER_MALFORMED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_SCOPE_SERVICE);
}


static void
header_skew_is_fifteen_minutes_either_way(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    ex_get(&q, EX_GET_AUTH);

    s3_conf(&conf, EX_TIME + 900);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    conf.now = EX_TIME - 900;
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    conf.now = EX_TIME + 901;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_TIME_SKEWED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_SKEWED);
    conf.now = EX_TIME - 901;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_TIME_SKEWED);

    /* check() alone decides the same before any key is known */
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_OK);
    assert_int_equal(s3_sigv4_check(&q.r, &a, &conf), S3_ERR_TIME_SKEWED);
    conf.now = EX_TIME;
    assert_int_equal(s3_sigv4_check(&q.r, &a, &conf), S3_OK);
}


static void
verify_only_with_the_right_key(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_get(&q, EX_GET_AUTH);
    s3_conf(&conf, EX_TIME);

    ex_key("us-east-1", "s3", key);
    key[31] ^= 1;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);

    ex_key("us-west-2", "s3", key);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
}


/* a header-form request whose Authorization value is the only variable */
static s3_err_t
try_auth(const char *auth, s3_sigv4_reason_t want_reason)
{
    req_t             q;
    s3_err_t          rc;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    ex_get(&q, auth);
    s3_conf(&conf, EX_TIME);

    rc = run(&q, &conf, key, &a);
    if (s3_sigv4_reason(&a) != want_reason) {
        print_error("%s: reason %s\n", auth,
                    s3_sigv4_reason_text(s3_sigv4_reason(&a)));
        fail();
    }

    return rc;
}


#define CRED   "Credential=" EX_AKID "/20130524/us-east-1/s3/aws4_request"
#define SH     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"
#define SIG    "Signature=" EX_GET_SIG
#define ALG    "AWS4-HMAC-SHA256 "


static void
authorization_header_spacing_and_order_are_tolerated(void **state)
{
    assert_int_equal(try_auth(ALG CRED "," SH "," SIG, S3_SIGV4_OK), S3_OK);
    assert_int_equal(try_auth(ALG CRED ", " SH ", " SIG, S3_SIGV4_OK), S3_OK);
    assert_int_equal(try_auth("  AWS4-HMAC-SHA256   " CRED " ,  " SH
                              "\t, " SIG "  ", S3_SIGV4_OK), S3_OK);
    assert_int_equal(try_auth(ALG SIG ", " CRED ", " SH, S3_SIGV4_OK), S3_OK);
}


static void
authorization_header_parser_negatives(void **state)
{
    size_t  i;
    char    many[4096];

    static const struct {
        const char          *auth;
        s3_err_t             err;
        s3_sigv4_reason_t    reason;
    } bad[] = {
        { "AWS " EX_AKID ":frJIUN8DYpKDtOLCwo//yllqDzg=",
          S3_ERR_INVALID_REQUEST, S3_SIGV4_UNSUPPORTED },
        { "AWS4-ECDSA-P256-SHA256 " CRED ", " SH ", " SIG,
          S3_ERR_INVALID_REQUEST, S3_SIGV4_UNSUPPORTED },
        { "AWS4-HMAC-SHA256X " CRED ", " SH ", " SIG,
          S3_ERR_INVALID_REQUEST, S3_SIGV4_UNSUPPORTED },
        { "", S3_ERR_INVALID_REQUEST, S3_SIGV4_UNSUPPORTED },
        { "AWS4-HMAC-SHA256",
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " SH,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " CRED ", " SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " SH ", " SIG ", Foo=bar",
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " SH ", Signature",
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG CRED ", " SH ", Signature=",
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG "credential=" EX_AKID "/20130524/us-east-1/s3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_MALFORMED },
        { ALG "Credential=" EX_AKID "/20130524/us-east-1/s3, " SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG "Credential=" EX_AKID "/20130524/us-east-1/s3/aws4_request/x, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG "Credential=/20130524/us-east-1/s3/aws4_request, " SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG "Credential=" EX_AKID "/2013052/us-east-1/s3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG "Credential=" EX_AKID "/2013O524/us-east-1/s3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG "Credential=" EX_AKID "/20130524//s3/aws4_request, " SH ", "
          SIG, S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_CREDENTIAL },
        { ALG CRED ", SignedHeaders=, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;;range, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;range;, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;Host, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=ho st, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host:range, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x(y), " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x\"y, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x@y, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x{y}, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x\\y, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x/y?z, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x\x7fy, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        { ALG CRED ", SignedHeaders=host;x\xc3\xa9, " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_BAD_SIGNED_HEADERS },
        /* scope */
        { ALG "Credential=" EX_AKID "/20130524/us-east-1/s3/aws5_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_SCOPE_TERMINATOR },
        { ALG "Credential=" EX_AKID "/20130523/us-east-1/s3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_SCOPE_DATE },
        { ALG "Credential=" EX_AKID "/20130524/us-west-2/s3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_SCOPE_REGION },
        { ALG "Credential=" EX_AKID "/20130524/us-east-1/S3/aws4_request, "
          SH ", " SIG,
          S3_ERR_AUTH_HEADER_MALFORMED, S3_SIGV4_SCOPE_SERVICE },
        { ALG CRED ", SignedHeaders=range;x-amz-content-sha256;x-amz-date, "
          SIG, S3_ERR_ACCESS_DENIED, S3_SIGV4_HOST_NOT_SIGNED },
        /* well-formed, but it cannot match */
        { ALG CRED ", " SH ", Signature=F0E8BDB87C964420E857BD35B5D6ED310BD44"
          "F0170ABA48DD91039C6036BDB41",
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_MISMATCH },
        { ALG CRED ", " SH ", Signature=f0e8bd",
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_MISMATCH },
        { ALG CRED ", " SH ", " SIG "0",
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_MISMATCH },
        { ALG CRED ", SignedHeaders=host;range;x-amz-content-sha256;"
          "x-amz-date;x-amz-meta-absent, " SIG,
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_MISMATCH },
        /* every token character is a valid name character */
        { ALG CRED ", SignedHeaders=host;range;x-amz-content-sha256;"
          "x-amz-date;x-!#$%&'*+.^_`|~09az, " SIG,
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_MISMATCH },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (try_auth(bad[i].auth, bad[i].reason) != bad[i].err) {
            print_error("case %zu: %s\n", i, bad[i].auth);
            fail();
        }
    }

    /* more signed headers than the limit */
    strcpy(many, ALG CRED ", SignedHeaders=host");
    for (i = 0; i < S3_SIGV4_MAX_SIGNED_HEADERS; i++) {
        sprintf(many + strlen(many), ";x-h%zu", i);
    }
    strcat(many, ", " SIG);
    assert_int_equal(try_auth(many, S3_SIGV4_TOO_LARGE),
                     S3_ERR_INVALID_REQUEST);
}


static void
dates_missing_malformed_or_from_the_date_header(void **state)
{
    char              out[512], auth[600];
    size_t            n;
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    s3_sigv4_sign_t   s;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    req_init(&q, "GET", "/test.txt", "");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(&q, "Authorization", EX_GET_AUTH);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_MISSING_DATE);

    req_hdr(&q, "x-amz-date", "20130524T000000");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_DATE);

    q.h[2].value = str_of("20130230T000000Z");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_DATE);

    q.h[2].value = str_of("20130524T240000Z");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);

    q.h[2].value = str_of(EX_DATE);
    req_hdr(&q, "X-Amz-Date", EX_DATE);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_DATE);

    /* only a Date header, RFC 7231 format: signed as "date" */
    req_init(&q, "GET", "/test.txt", "");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(&q, "Date", "Fri, 24 May 2013 00:00:00 GMT");
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);

    memset(&s, 0, sizeof(s));
    s.req = q.r;
    s.payload_hash = str_of(S3_SIGV4_EMPTY_SHA256);
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;
    assert_int_equal(s3_sigv4_sign(&s, key, out, sizeof(out), &n, NULL),
                     S3_OK);

    snprintf(auth, sizeof(auth), "%s", out);
    req_hdr(&q, "Authorization", auth);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
    assert_string_equal(a.amz_date, EX_DATE);
    assert_true(a.time == EX_TIME);

    q.h[1].value = str_of("Fri, 24 May 2013 00:00:01 GMT");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    q.h[1].value = str_of("Fri, 24 Mey 2013 00:00:00 GMT");
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_DATE);
}


static void
no_auth_and_more_than_one_auth(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;

    req_init(&q, "GET", "/test.txt", "versionId=3");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(a.form, S3_SIGV4_NONE);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_MISSING);

    req_hdr(&q, "Authorization", EX_GET_AUTH);
    req_hdr(&q, "authorization", EX_GET_AUTH);
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_MULTIPLE);

    ex_presigned(&q, EX_PRESIGN_QUERY);
    req_hdr(&q, "Authorization", EX_GET_AUTH);
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_MULTIPLE);

    /* SigV2 query authentication */
    ex_presigned(&q, "AWSAccessKeyId=" EX_AKID "&Expires=1141889120&"
                 "Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D");
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_AUTH_QUERY_ERROR);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_UNSUPPORTED);

    /* a check without a parsed authentication refuses */
    req_init(&q, "GET", "/", "");
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_check(&q.r, &a, &(s3_sigv4_conf_t) { 0 }),
                     S3_ERR_ACCESS_DENIED);

    /* so does one after a parse that failed half-way */
    ex_get(&q, EX_GET_AUTH);
    q.h[4].value = str_of("2013");
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_ERR_ACCESS_DENIED);
    assert_true(a.access_key.len > 0);
    assert_int_equal(s3_sigv4_check(&q.r, &a, &(s3_sigv4_conf_t) { 0 }),
                     S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_BAD_DATE);
}


static void
query_parser_negatives(void **state)
{
    size_t            i;
    char              qs[1024];
    req_t             q;
    s3_err_t          rc;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    static const char  *alg = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
    static const char  *cred = "X-Amz-Credential=" EX_AKID "%2F20130524%2F"
                               "us-east-1%2Fs3%2Faws4_request";
    static const char  *date = "X-Amz-Date=" EX_DATE;
    static const char  *exp = "X-Amz-Expires=86400";
    static const char  *sh = "X-Amz-SignedHeaders=host";
    static const char  *sig = "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86"
                              "835f995330da4c265957d157751f604d404";

    static const struct {
        const char          *replace;   /* for one of the six */
        int                  which;
        s3_err_t             err;
        s3_sigv4_reason_t    reason;
    } bad[] = {
        { NULL, 0, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { NULL, 1, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { NULL, 2, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { NULL, 3, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { NULL, 4, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { NULL, 5, S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MISSING_QUERY },
        { "X-Amz-Algorithm=AWS4-HMAC-SHA1", 0,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_UNSUPPORTED },
        { "X-Amz-Credential=" EX_AKID "%2F20130524%2Fus-east-1%2Fs3", 1,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_CREDENTIAL },
        { "X-Amz-Credential=" EX_AKID "%2", 1,
          S3_ERR_SIGNATURE_MISMATCH, S3_SIGV4_BAD_ENCODING },
        { "X-Amz-Date=20130524", 2,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_DATE },
        { "X-Amz-Expires=0", 3,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_EXPIRES },
        { "X-Amz-Expires=604801", 3,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_EXPIRES },
        { "X-Amz-Expires=-5", 3,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_EXPIRES },
        { "X-Amz-Expires=", 3,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_EXPIRES },
        { "X-Amz-Expires=99999999999999999999", 3,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_EXPIRES },
        { "X-Amz-SignedHeaders=", 4,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_BAD_SIGNED_HEADERS },
        { "X-Amz-SignedHeaders=range", 4,
          S3_ERR_ACCESS_DENIED, S3_SIGV4_HOST_NOT_SIGNED },
        { "X-Amz-Signature=", 5,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MALFORMED },
        { "X-Amz-Date=" EX_DATE "&X-Amz-Date=" EX_DATE, 2,
          S3_ERR_AUTH_QUERY_ERROR, S3_SIGV4_MALFORMED },
    };

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char  *p[6] = { alg, cred, date, exp, sh, sig };
        int          k;

        p[bad[i].which] = bad[i].replace;
        qs[0] = '\0';
        for (k = 0; k < 6; k++) {
            if (p[k] != NULL) {
                if (qs[0]) {
                    strcat(qs, "&");
                }
                strcat(qs, p[k]);
            }
        }

        ex_presigned(&q, qs);
        rc = run(&q, &conf, key, &a);
        if (rc != bad[i].err || s3_sigv4_reason(&a) != bad[i].reason) {
            print_error("case %zu: %s -> %s (%s)\n", i, qs, s3_err_code(rc),
                        s3_sigv4_reason_text(s3_sigv4_reason(&a)));
            fail();
        }
    }

    /* the longest expiry is allowed; the signature then fails */
    snprintf(qs, sizeof(qs), "%s&%s&%s&X-Amz-Expires=604800&%s&%s", alg,
             cred, date, sh, sig);
    ex_presigned(&q, qs);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(a.expires, 604800);
}


/*
 * Presigned with X-Amz-Content-Sha256 in the query, as the JS SDK's
 * presigner writes it; signatures computed from the SigV4 specification
 * with Python's hmac (the canonical request spelled out by hand).
 */
static void
presigned_payload_hash_from_the_query(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    req_init(&q, "PUT", "/b/k", "x-id=PutObject&X-Amz-Algorithm=AWS4-HMAC-"
             "SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential="
             EX_AKID "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
             EX_DATE "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&"
             "X-Amz-Signature=422f836387f115289f726cb4b0ae733027ee9540dada7"
             "07696d9595f7ee59fe1");
    req_hdr(&q, "Host", "s3.amazonaws.com");
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* a hex hash there is what the canonical request ends with */
    req_init(&q, "PUT", "/b/k", "x-id=PutObject&X-Amz-Algorithm=AWS4-HMAC-"
             "SHA256&X-Amz-Content-Sha256=64ec88ca00b268e5ba1a35678a1b5316d"
             "212f4f366b2477232534a8aeca37f3c&X-Amz-Credential="
             EX_AKID "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
             EX_DATE "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&"
             "X-Amz-Signature=417f706c60f76879d2af3032eece542fc476426b16ecd"
             "d49f017d5f985684b78");
    req_hdr(&q, "Host", "s3.amazonaws.com");
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* ...and not UNSIGNED-PAYLOAD, nor the caller's */
    conf.payload_hash = str_of(S3_SIGV4_UNSIGNED_PAYLOAD);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
}


static void
unsigned_amz_headers_refused_when_asked(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    ex_get(&q, EX_GET_AUTH);
    req_hdr(&q, "X-Amz-Meta-Color", "blue");
    s3_conf(&conf, EX_TIME);

    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    conf.require_amz_signed = 1;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_ACCESS_DENIED);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_UNSIGNED_HEADERS);

    ex_get(&q, EX_GET_AUTH);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
}


static void
payload_hash_from_header_or_caller(void **state)
{
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    /* the header form needs x-amz-content-sha256 (or the caller's) */
    req_init(&q, "GET", "/test.txt", "");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(&q, "Authorization", EX_GET_AUTH);
    req_hdr(&q, "Range", "bytes=0-9");
    req_hdr(&q, "x-amz-date", EX_DATE);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_INVALID_REQUEST);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_NO_PAYLOAD_HASH);

    conf.payload_hash = str_of(S3_SIGV4_EMPTY_SHA256);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);

    /* x-amz-content-sha256 is signed here, so give it back */
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* the caller's hash wins over the header */
    conf.payload_hash = str_of(S3_SIGV4_UNSIGNED_PAYLOAD);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
}


static void
dates_format_and_reasons_have_text(void **state)
{
    int       r;
    char      d[17];
    int64_t   t;

    s3_sigv4_format_date(0, d);
    assert_string_equal(d, "19700101T000000Z");
    s3_sigv4_format_date(951868799, d);
    assert_string_equal(d, "20000229T235959Z");
    s3_sigv4_format_date(EX_TIME, d);
    assert_string_equal(d, EX_DATE);

    /* round trip against the C library over a range of dates */
    for (t = 0; t < 4102444800LL; t += 7777777) {
        time_t     tt = (time_t) t;
        struct tm  tm;
        char       want[17];

        gmtime_r(&tt, &tm);
        strftime(want, sizeof(want), "%Y%m%dT%H%M%SZ", &tm);
        s3_sigv4_format_date(t, d);
        assert_string_equal(d, want);
    }

    for (r = S3_SIGV4_OK; r <= S3_SIGV4_INTERNAL; r++) {
        assert_string_not_equal(s3_sigv4_reason_text(r), "unknown");
    }
    assert_string_equal(s3_sigv4_reason_text(S3_SIGV4_INTERNAL + 1),
                        "unknown");

    assert_int_equal(s3_sigv4_error(S3_SIGV4_QUERY, S3_SIGV4_SCOPE_REGION),
                     S3_ERR_AUTH_QUERY_ERROR);
    assert_int_equal(s3_sigv4_error(S3_SIGV4_HEADER, S3_SIGV4_SCOPE_REGION),
                     S3_ERR_AUTH_HEADER_MALFORMED);
    assert_int_equal(s3_sigv4_error(S3_SIGV4_HEADER, S3_SIGV4_EXPIRED),
                     S3_ERR_REQUEST_EXPIRED);
}


/*
 * A canonical request longer than the verifier's 2 KiB staging buffer
 * goes through the digest in pieces: on a reused handle as on a fresh
 * one, and a short request after it on the same handle is not disturbed.
 */
static void
long_canonical_request_verifies_on_reused_handles(void **state)
{
    char              *big, auth[512];
    size_t             n;
    req_t              q;
    s3_sigv4_auth_t    a;
    s3_sigv4_conf_t    conf;
    s3_sigv4_sign_t    s;
    unsigned char      key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    big = malloc(5001);
    memset(big, 'v', 5000);
    big[5000] = '\0';

    req_init(&q, "GET", "/test.txt", "");
    req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
    req_hdr(&q, "x-amz-meta-big", big);
    req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
    req_hdr(&q, "x-amz-date", EX_DATE);

    memset(&s, 0, sizeof(s));
    s.req = q.r;
    s.payload_hash = str_of(S3_SIGV4_EMPTY_SHA256);
    s.amz_date = str_of(EX_DATE);
    s.access_key = str_of(EX_AKID);
    s.region = str_of("us-east-1");
    s.service = str_of("s3");
    s.s3 = 1;
    assert_int_equal(s3_sigv4_sign(&s, key, auth, sizeof(auth), &n, NULL),
                     S3_OK);

    req_hdr(&q, "Authorization", auth);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);

    /* one byte changed in the long header: both paths refuse it */
    big[4000] = 'w';
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_MISMATCH);
    free(big);

    /* then a short one, on the same handles */
    ex_get(&q, EX_GET_AUTH);
    assert_int_equal(run(&q, &conf, key, &a), S3_OK);
}


/*
 * Signed header names are written lowercase into the canonical request
 * (eight bytes a step): every letter, every token character next to the
 * letters in ASCII, at every offset of an eight-byte word.
 */
static void
signed_names_in_any_case_are_lowercased(void **state)
{
    char               creq[2048], sts[512], auth[512], name[128], lc[128];
    char               want[1024];
    size_t             k, i;
    req_t              q;
    s3_sigv4_auth_t    a;
    s3_sigv4_conf_t    conf;
    s3_sigv4_debug_t   d;
    unsigned char      key[32];
    const char        *mixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcxyz0189"
                               "-~|!#$%&'*+.Z";

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    for (k = 0; k < 9; k++) {
        /* k bytes of prefix move the name across word boundaries */
        snprintf(name, sizeof(name), "x-amz-meta-%.*s%s", (int) k,
                 "QqQqQqQqQ", mixed);
        name[strlen(name) - 1] = '\0';     /* the Z: an odd length */
        for (i = 0; name[i]; i++) {
            lc[i] = (char) tolower((unsigned char) name[i]);
        }
        lc[i] = '\0';

        req_init(&q, "GET", "/test.txt", "");
        req_hdr(&q, "Host", "examplebucket.s3.amazonaws.com");
        req_hdr(&q, name, "v");
        req_hdr(&q, "x-amz-content-sha256", S3_SIGV4_EMPTY_SHA256);
        req_hdr(&q, "x-amz-date", EX_DATE);
        snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential=" EX_AKID
                 "/20130524/us-east-1/s3/aws4_request, SignedHeaders="
                 "Host;%s;X-Amz-Content-SHA256;X-AMZ-DATE, Signature=%064d",
                 name, 0);
        req_hdr(&q, "Authorization", auth);

        dbg_init(&d, creq, sizeof(creq), sts, sizeof(sts));
        conf.debug = &d;
        assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);

        snprintf(want, sizeof(want),
                 "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                 "x-amz-content-sha256:" S3_SIGV4_EMPTY_SHA256 "\n"
                 "x-amz-date:" EX_DATE "\n"
                 "%s:v\n\n"
                 "host;x-amz-content-sha256;x-amz-date;%s\n"
                 S3_SIGV4_EMPTY_SHA256, lc, lc);
        assert_string_equal(creq, want);
    }

    conf.debug = NULL;
}


/* the signature: 64 lowercase hex digits, nothing else */
static void
signature_hex_is_lowercase_only(void **state)
{
    char               sig[65], auth[512];
    size_t             i;
    req_t              q;
    s3_sigv4_auth_t    a;
    const char        *bad = "ABCDEFGg/:@`G ";

    strcpy(sig, EX_GET_SIG);
    ex_get(&q, EX_GET_AUTH);
    assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_OK);
    assert_true(a.sig_valid);
    assert_int_equal(a.sig[0], 0xf0);
    assert_int_equal(a.sig[31], 0x41);

    for (i = 0; i < 64; i += 7) {
        const char  *b;

        for (b = bad; *b; b++) {
            strcpy(sig, EX_GET_SIG);
            sig[i] = *b;
            snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential="
                     EX_AKID "/20130524/us-east-1/s3/aws4_request,"
                     "SignedHeaders=host;range;x-amz-content-sha256;"
                     "x-amz-date,Signature=%s", sig);
            ex_get(&q, auth);
            assert_int_equal(s3_sigv4_parse(&q.r, &a), S3_OK);
            assert_false(a.sig_valid);
        }
    }
}


static void
limits_on_query_parameters_and_path_segments(void **state)
{
    size_t            i;
    char             *big;
    req_t             q;
    s3_sigv4_auth_t   a;
    s3_sigv4_conf_t   conf;
    unsigned char     key[32];

    ex_key("us-east-1", "s3", key);
    s3_conf(&conf, EX_TIME);

    big = malloc(8 * (S3_SIGV4_MAX_QUERY_PARAMS + 2) + 1);
    big[0] = '\0';
    for (i = 0; i <= S3_SIGV4_MAX_QUERY_PARAMS; i++) {
        sprintf(big + strlen(big), "%sp%zu=1", i ? "&" : "", i);
    }

    ex_get(&q, EX_GET_AUTH);
    q.r.query = str_of(big);
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_INVALID_REQUEST);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_TOO_LARGE);
    free(big);

    big = malloc(2 * (S3_SIGV4_MAX_PATH_SEGMENTS + 2) + 1);
    big[0] = '\0';
    for (i = 0; i <= S3_SIGV4_MAX_PATH_SEGMENTS; i++) {
        strcat(big, "/a");
    }

    ex_get(&q, EX_GET_AUTH);
    q.r.path = str_of(big);
    conf.s3 = 0;
    conf.normalize = 1;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_INVALID_REQUEST);
    assert_int_equal(s3_sigv4_reason(&a), S3_SIGV4_TOO_LARGE);

    /* S3 paths are not split, so any depth is fine */
    conf.s3 = 1;
    assert_int_equal(run(&q, &conf, key, &a), S3_ERR_SIGNATURE_MISMATCH);
    free(big);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(suite_every_case_signs_both_forms),
        cmocka_unit_test(
            suite_every_signed_request_verifies_and_tampering_fails),
        cmocka_unit_test(signing_key_matches_aws_example),
        cmocka_unit_test(long_canonical_request_verifies_on_reused_handles),
        cmocka_unit_test(signed_names_in_any_case_are_lowercased),
        cmocka_unit_test(signature_hex_is_lowercase_only),
        cmocka_unit_test(aws_s3_get_object_example_verifies_and_signs),
        cmocka_unit_test(aws_s3_presigned_example_verifies_until_it_expires),
        cmocka_unit_test(presigning_reproduces_the_aws_example),
        cmocka_unit_test(botocore_s3_keys_verify_in_both_forms),
        cmocka_unit_test(
            s3_paths_are_decoded_and_encoded_once_never_normalized),
        cmocka_unit_test(query_is_decoded_reencoded_and_sorted),
        cmocka_unit_test(kms_request_signed_by_botocore_verifies),
        cmocka_unit_test(header_skew_is_fifteen_minutes_either_way),
        cmocka_unit_test(verify_only_with_the_right_key),
        cmocka_unit_test(authorization_header_spacing_and_order_are_tolerated),
        cmocka_unit_test(authorization_header_parser_negatives),
        cmocka_unit_test(dates_missing_malformed_or_from_the_date_header),
        cmocka_unit_test(no_auth_and_more_than_one_auth),
        cmocka_unit_test(query_parser_negatives),
        cmocka_unit_test(presigned_payload_hash_from_the_query),
        cmocka_unit_test(unsigned_amz_headers_refused_when_asked),
        cmocka_unit_test(payload_hash_from_header_or_caller),
        cmocka_unit_test(dates_format_and_reasons_have_text),
        cmocka_unit_test(limits_on_query_parameters_and_path_segments),
    };

    return UNIT_RUN(tests);
}
