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


/* ---- verifying every suite case, then tampering with it ----------------- */

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

    return rc;
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


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(suite_every_case_signs_both_forms),
        cmocka_unit_test(
            suite_every_signed_request_verifies_and_tampering_fails),
    };

    return UNIT_RUN(tests);
}
