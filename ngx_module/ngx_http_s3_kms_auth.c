
/*
 * Authentication of requests with SigV4 (s3/s3_sigv4.h) against the
 * credentials file, request ids, and the worker's cache of signing keys.
 */


#include "ngx_http_s3_kms.h"

#include "s3_sigv4.h"


static uint32_t ngx_http_s3_kms_fnv(const u_char *p, size_t len);
static ngx_int_t ngx_http_s3_kms_incomplete(ngx_http_request_t *r,
    s3_sigv4_reason_t reason, ngx_str_t *msg);
static ngx_uint_t ngx_http_s3_kms_bare_token(ngx_str_t *v);


void
ngx_http_s3_kms_request_id(u_char *buf)
{
    u_char                        r[16], *p;
    ngx_uint_t                    i;
    ngx_http_s3_kms_main_conf_t  *mcf;
    static const u_char           hex[] = "0123456789abcdef";

    /* the worker's pool: one DRBG call per 256 ids */

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_s3_kms_module);

    if (mcf == NULL || mcf->worker == NULL || mcf->worker->ids == NULL
        || kms_rpool_bytes(mcf->worker->ids, r, sizeof(r)) != 0)
    {
        if (kms_random(r, sizeof(r)) != 0) {
            ngx_memzero(r, sizeof(r));
        }
    }

    r[6] = (r[6] & 0x0f) | 0x40;            /* version 4 */
    r[8] = (r[8] & 0x3f) | 0x80;            /* RFC 4122 variant */

    p = buf;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }

        *p++ = hex[r[i] >> 4];
        *p++ = hex[r[i] & 0xf];
    }

    *p = '\0';
}


ngx_table_elt_t *
ngx_http_s3_kms_find_header(ngx_http_request_t *r, const char *name)
{
    return ngx_http_s3_kms_list_header(&r->headers_in.headers, name);
}


/* the first header of that name (any case) in a list of headers */

ngx_table_elt_t *
ngx_http_s3_kms_list_header(ngx_list_t *headers, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* the request's headers as s3_header_t views (no copies) */

s3_header_t *
ngx_http_s3_kms_request_headers(ngx_http_request_t *r, size_t *n)
{
    size_t            count;
    ngx_uint_t        i;
    s3_header_t      *out;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    count = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        count += part->nelts;
    }

    out = ngx_palloc(r->pool, (count ? count : 1) * sizeof(s3_header_t));
    if (out == NULL) {
        return NULL;
    }

    count = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            out[count].name.len = h[i].key.len;
            out[count].name.data = h[i].key.data;
            out[count].value.len = h[i].value.len;
            out[count].value.data = h[i].value.data;
            count++;
        }
    }

    *n = count;

    return out;
}


/*
 * The signing key for (access key id, date, region, service), from the
 * cache or derived and cached.  The cache is a small direct-mapped table:
 * a day's keys for a few hundred identities stay in it.
 */

const u_char *
ngx_http_s3_kms_signing_key(ngx_http_s3_kms_worker_t *w,
    const kms_cred_t *cred, const char *date, size_t datelen,
    const char *region, size_t regionlen, const char *service,
    size_t servicelen)
{
    ngx_http_s3_kms_sigkey_t  *e;

    e = ngx_http_s3_kms_sigkey(w, cred, date, datelen, region, regionlen,
                               service, servicelen);

    return e ? e->key : NULL;
}


/*
 * The cache entry itself: its key, and (made on first use) an HMAC handle
 * with the key set, which verification starts from.
 */

ngx_http_s3_kms_sigkey_t *
ngx_http_s3_kms_sigkey(ngx_http_s3_kms_worker_t *w, const kms_cred_t *cred,
    const char *date, size_t datelen, const char *region, size_t regionlen,
    const char *service, size_t servicelen)
{
    u_char                    name[192], *p;
    size_t                    len, akidlen;
    uint32_t                  hash;
    s3_str_t                  d, rg, sv;
    ngx_http_s3_kms_sigkey_t *e;

    akidlen = ngx_strlen(cred->access_key_id);
    len = akidlen + datelen + regionlen + servicelen + 3;

    if (len > sizeof(name)) {
        return NULL;
    }

    p = ngx_cpymem(name, cred->access_key_id, akidlen);
    *p++ = '/';
    p = ngx_cpymem(p, date, datelen);
    *p++ = '/';
    p = ngx_cpymem(p, region, regionlen);
    *p++ = '/';
    p = ngx_cpymem(p, service, servicelen);

    hash = ngx_http_s3_kms_fnv(name, len);
    e = &w->sigkeys[hash % NGX_HTTP_S3_KMS_SIGKEYS];

    if (e->len == len && e->hash == hash
        && ngx_memcmp(e->name, name, len) == 0)
    {
        return e;
    }

    d.data = (const unsigned char *) date;
    d.len = datelen;
    rg.data = (const unsigned char *) region;
    rg.len = regionlen;
    sv.data = (const unsigned char *) service;
    sv.len = servicelen;

    e->len = 0;

    if (s3_sigv4_signing_key(cred->secret, ngx_strlen(cred->secret), d, rg,
                             sv, e->key)
        != S3_OK)
    {
        return NULL;
    }

    if (e->hmac != NULL && kms_hmac_set_key(e->hmac, e->key, 32) != 0) {
        /* without it, verification computes the HMAC from the key */
        kms_hmac_free(e->hmac);
        e->hmac = NULL;
    }

    ngx_memcpy(e->name, name, len);
    e->len = len;
    e->hash = hash;

    return e;
}


static uint32_t
ngx_http_s3_kms_fnv(const u_char *p, size_t len)
{
    uint32_t  h = 2166136261u;

    while (len--) {
        h = (h ^ *p++) * 16777619u;
    }

    return h;
}


/*
 * KMS API authentication: SigV4, service "kms", the region this server
 * serves, the body's SHA-256 as payload hash.  Maps SigV4's reasons to
 * the exceptions AWS KMS answers with.
 */

kms_err_t
ngx_http_s3_kms_api_auth(ngx_http_request_t *r, const u_char *body,
    size_t len, const kms_cred_t **cred, ngx_str_t *msg)
{
    s3_err_t                      rc;
    u_char                        hash[32], *p;
    char                          hex[65];
    s3_sigv4_auth_t               auth, *a;
    s3_sigv4_conf_t               conf;
    s3_sigv4_request_t            req;
    s3_sigv4_reason_t             reason;
    const kms_cred_t             *c;
    ngx_http_s3_kms_worker_t     *w;
    ngx_http_s3_kms_sigkey_t     *e;
    ngx_http_s3_kms_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_s3_kms_module);
    w = mcf->worker;
    *cred = NULL;

    /*
     * On the stack: nothing keeps it past this call, and at 1.2 KB it made
     * the request's pool take a second block (a posix_memalign() and a
     * free() per call).
     */
    a = &auth;

    req.method.data = r->method_name.data;
    req.method.len = r->method_name.len;
    req.path.data = r->uri_start;
    req.path.len = (r->args_start ? r->args_start - 1 : r->uri_end)
                   - r->uri_start;
    req.query.data = r->args.data;
    req.query.len = r->args.len;
    req.headers = ngx_http_s3_kms_request_headers(r, &req.nheaders);

    if (req.headers == NULL) {
        return KMS_ERR_INTERNAL;
    }

    rc = s3_sigv4_parse(&req, a);

    if (rc != S3_OK) {
        reason = s3_sigv4_reason(a);
        goto failed;
    }

    c = kms_creds_find(mcf->creds, (const char *) a->access_key.data,
                       a->access_key.len);
    if (c == NULL) {
        reason = S3_SIGV4_OK;
        goto failed;
    }

    if ((w->sha != NULL ? kms_sha256_digest(w->sha, body, len, hash)
                        : kms_sha256(body, len, hash))
        != 0)
    {
        return KMS_ERR_INTERNAL;
    }

    kms_hex(hash, sizeof(hash), hex);

    ngx_memzero(&conf, sizeof(s3_sigv4_conf_t));
    conf.region.data = mcf->region.data;
    conf.region.len = mcf->region.len;
    conf.service.data = (const unsigned char *) "kms";
    conf.service.len = 3;
    conf.normalize = 1;
    conf.now = ngx_time();
    conf.max_skew = 900;
    conf.payload_hash.data = (const unsigned char *) hex;
    conf.payload_hash.len = 64;
    conf.sha = w->sha;

    rc = s3_sigv4_check(&req, a, &conf);

    if (rc != S3_OK) {
        reason = s3_sigv4_reason(a);
        goto failed;
    }

    e = ngx_http_s3_kms_sigkey(w, c, (const char *) a->date.data,
                               a->date.len, (const char *) a->region.data,
                               a->region.len, (const char *) a->service.data,
                               a->service.len);
    if (e == NULL) {
        return KMS_ERR_INTERNAL;
    }

    if (e->hmac == NULL) {
        /* made once per cache entry; a failure costs speed only */
        e->hmac = kms_hmac_new();

        if (e->hmac != NULL && kms_hmac_set_key(e->hmac, e->key, 32) != 0) {
            kms_hmac_free(e->hmac);
            e->hmac = NULL;
        }
    }

    conf.key_hmac = e->hmac;

    rc = s3_sigv4_verify(&req, a, &conf, e->key);

    if (rc != S3_OK) {
        reason = s3_sigv4_reason(a);
        goto failed;
    }

    *cred = c;

    return KMS_OK;

failed:

    /*
     * An Authorization component that is not key=value is what AWS
     * answers first.  Looked for here only: such a component always
     * fails the parse or the signature (the parser takes components
     * between commas, so a bare token lands in a key or a value).
     */

    if (ngx_http_s3_kms_incomplete(r, S3_SIGV4_OK, msg) == NGX_OK) {
        return KMS_ERR_INCOMPLETE_SIGNATURE;
    }

    if (reason == S3_SIGV4_OK) {
        /* the signature parsed, the access key id is nobody's */
        return KMS_ERR_UNRECOGNIZED_CLIENT;
    }

    switch (reason) {

    case S3_SIGV4_MISSING:
        return KMS_ERR_MISSING_AUTH;

    case S3_SIGV4_MISMATCH:
        return KMS_ERR_INVALID_SIGNATURE;

    case S3_SIGV4_SKEWED:
    case S3_SIGV4_EXPIRED:
    case S3_SIGV4_NOT_YET_VALID:

        /* AWS: "Signature expired: T is now earlier than T' (now - 15 min.)" */

        p = ngx_pnalloc(r->pool, 128);
        if (p != NULL) {
            char  now[17], edge[17];

            s3_sigv4_format_date(ngx_time(), now);
            s3_sigv4_format_date(ngx_time()
                                 + (a->time > ngx_time() ? 900 : -900),
                                 edge);
            msg->data = p;
            msg->len = ngx_sprintf(p, "Signature %s: %s is %s than %s "
                                   "(%s %s 15 min.)%Z",
                                   a->time > ngx_time() ? "not yet current"
                                                        : "expired",
                                   a->amz_date,
                                   a->time > ngx_time() ? "still later"
                                                        : "now earlier",
                                   edge, now,
                                   a->time > ngx_time() ? "+" : "-")
                       - p - 1;
        }

        return KMS_ERR_INVALID_SIGNATURE;

    case S3_SIGV4_SCOPE_REGION:
    case S3_SIGV4_SCOPE_SERVICE:
        msg->data = (u_char *) s3_sigv4_reason_text(reason);
        msg->len = ngx_strlen(msg->data);
        return KMS_ERR_INVALID_SIGNATURE;

    case S3_SIGV4_INTERNAL:
        return KMS_ERR_INTERNAL;

    default:
        (void) ngx_http_s3_kms_incomplete(r, reason, msg);
        return KMS_ERR_INCOMPLETE_SIGNATURE;
    }
}


/*
 * IncompleteSignatureException's message as AWS's front end writes it:
 *
 *   'x' not a valid key=value pair (missing equal-sign) in Authorization
 *   header: 'AUTHORIZATION'.
 *
 *   Authorization header requires 'Credential' parameter. Authorization
 *   header requires 'Signature' parameter. Authorization header requires
 *   'SignedHeaders' parameter. Authorization header requires existence of
 *   either a 'X-Amz-Date' or a 'Date' header. Authorization=AUTHORIZATION
 *
 *   Credential must have exactly 5 slash-delimited elements, e.g.
 *   keyid/date/region/service/term, got 'CREDENTIAL'
 *
 * With reason S3_SIGV4_OK only the first case is looked for.  Returns
 * NGX_OK when msg was set, else NGX_DECLINED.
 */

static ngx_int_t
ngx_http_s3_kms_incomplete(ngx_http_request_t *r, s3_sigv4_reason_t reason,
    ngx_str_t *msg)
{
    size_t            len;
    u_char           *p, *last, *start, *end, *tok, *eq;
    ngx_str_t         v;
    ngx_uint_t        cred, sig, signed_headers, date, sigv4;
    ngx_table_elt_t  *h;

    /* Authorization is unique in nginx: a second one is a 400 already */
    h = r->headers_in.authorization;

    if (h == NULL) {
        goto fallback;
    }

    v = h->value;

    if (reason == S3_SIGV4_OK && !ngx_http_s3_kms_bare_token(&v)) {
        /* the common case: every component is key=value */
        ngx_str_null(msg);
        return NGX_DECLINED;
    }

    len = 512 + 2 * v.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        goto fallback;
    }

    /* kms_call_fail() takes a C string: room for the NUL */
    msg->data = p;
    last = p + len - 1;

    start = v.data;
    end = v.data + v.len;

    /* the scheme */
    while (start < end && *start != ' ') {
        start++;
    }

    sigv4 = (size_t) (start - v.data) == sizeof(S3_SIGV4_ALGORITHM) - 1
            && ngx_strncmp(v.data, S3_SIGV4_ALGORITHM,
                           sizeof(S3_SIGV4_ALGORITHM) - 1) == 0;

    cred = 0;
    sig = 0;
    signed_headers = 0;

    while (sigv4 && start < end) {
        while (start < end && (*start == ' ' || *start == ',')) {
            start++;
        }

        tok = start;
        while (start < end && *start != ' ' && *start != ',') {
            start++;
        }

        if (tok == start) {
            break;
        }

        eq = ngx_strlchr(tok, start, '=');

        if (eq == NULL) {
            msg->len = ngx_slprintf(p, last, "'%*s' not a valid key=value "
                                    "pair (missing equal-sign) in "
                                    "Authorization header: '%V'.",
                                    (size_t) (start - tok), tok, &v)
                       - p;
            msg->data[msg->len] = '\0';
            return NGX_OK;
        }

        if (reason == S3_SIGV4_OK) {
            continue;
        }

#define ngx_http_s3_kms_is(name)                                            \
        ((size_t) (eq - tok) == sizeof(name) - 1                            \
         && ngx_strncmp(tok, name, sizeof(name) - 1) == 0)

        if (ngx_http_s3_kms_is("Credential")) {
            cred = 1;

            if (reason == S3_SIGV4_BAD_CREDENTIAL) {
                msg->len = ngx_slprintf(p, last, "Credential must have "
                                        "exactly 5 slash-delimited "
                                        "elements, e.g. keyid/date/region/"
                                        "service/term, got '%*s'",
                                        (size_t) (start - eq - 1), eq + 1)
                           - p;
                msg->data[msg->len] = '\0';
                return NGX_OK;
            }

        } else if (ngx_http_s3_kms_is("Signature")) {
            sig = 1;

        } else if (ngx_http_s3_kms_is("SignedHeaders")) {
            signed_headers = 1;
        }

#undef ngx_http_s3_kms_is
    }

    if (reason == S3_SIGV4_OK) {
        ngx_str_null(msg);
        return NGX_DECLINED;
    }

    date = ngx_http_s3_kms_find_header(r, "x-amz-date") != NULL
           || ngx_http_s3_kms_find_header(r, "date") != NULL;

    if (cred && sig && signed_headers && date) {
        goto fallback;
    }

    if (!cred) {
        p = ngx_slprintf(p, last, "Authorization header requires "
                         "'Credential' parameter. ");
    }

    if (!sig) {
        p = ngx_slprintf(p, last, "Authorization header requires "
                         "'Signature' parameter. ");
    }

    if (!signed_headers) {
        p = ngx_slprintf(p, last, "Authorization header requires "
                         "'SignedHeaders' parameter. ");
    }

    if (!date) {
        p = ngx_slprintf(p, last, "Authorization header requires existence "
                         "of either a 'X-Amz-Date' or a 'Date' header. ");
    }

    p = ngx_slprintf(p, last, "Authorization=%V", &v);
    *p = '\0';
    msg->len = p - msg->data;

    return NGX_OK;

fallback:

    if (reason == S3_SIGV4_OK) {
        return NGX_DECLINED;
    }

    msg->data = (u_char *) s3_sigv4_reason_text(reason);
    msg->len = ngx_strlen(msg->data);

    return NGX_OK;
}


/*
 * Whether an AWS4-HMAC-SHA256 Authorization value holds a component
 * without '=' (what ngx_http_s3_kms_incomplete() reports), without
 * allocating: the scan it does, on the way of every request.
 */

static ngx_uint_t
ngx_http_s3_kms_bare_token(ngx_str_t *v)
{
    u_char      *p, *end;
    ngx_uint_t   in_token, eq;

    p = v->data;
    end = v->data + v->len;

    while (p < end && *p != ' ') {
        p++;
    }

    if ((size_t) (p - v->data) != sizeof(S3_SIGV4_ALGORITHM) - 1
        || ngx_strncmp(v->data, S3_SIGV4_ALGORITHM,
                       sizeof(S3_SIGV4_ALGORITHM) - 1) != 0)
    {
        return 0;
    }

    /* one pass: a token ends at ' ' or ',' and must have held a '=' */

    in_token = 0;
    eq = 0;

    for ( /* void */ ; p < end; p++) {
        switch (*p) {

        case ' ':
        case ',':
            if (in_token && !eq) {
                return 1;
            }

            in_token = 0;
            eq = 0;
            break;

        case '=':
            in_token = 1;
            eq = 1;
            break;

        default:
            in_token = 1;
        }
    }

    return in_token && !eq;
}
