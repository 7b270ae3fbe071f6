/*
 * AWS Signature Version 4: parsing and verifying the header form
 * (Authorization: AWS4-HMAC-SHA256 ...) and the query form (presigned
 * URLs), deriving signing keys, and signing outgoing requests.
 *
 * Every input is a (length, pointer) view of bytes the caller holds (in
 * nginx: the request line and the header list); nothing is copied but the
 * few short values the query form percent-encodes, and nothing is
 * allocated: the canonical request is hashed as it is produced.
 *
 * Verifying a request:
 *
 *     s3_sigv4_auth_t  a;
 *
 *     rc = s3_sigv4_parse(&req, &a);          syntax only
 *     ... look up a.access_key; unknown: InvalidAccessKeyId ...
 *     ... s3_sigv4_signing_key(secret, a.date, a.region, a.service, key)
 *         or a cached key for (access key, date, region, service) ...
 *     rc = s3_sigv4_verify(&req, &a, &conf, key);
 *
 * On failure s3_sigv4_reason() tells which case it was, so that the KMS
 * API can answer with its own exceptions; the s3_err_t returned is S3's.
 * s3_sigv4_check() runs the checks that need no key (scope, time, host
 * signed) alone, for callers that want them before the key lookup;
 * s3_sigv4_verify() runs them too.
 */

#ifndef S3_SIGV4_H
#define S3_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"
#include "kms_crypto.h"


/* the same layout as ngx_str_t */
#ifndef S3_STR_T_DEFINED
#define S3_STR_T_DEFINED
typedef struct {
    size_t                len;
    const unsigned char  *data;
} s3_str_t;
#endif

#define s3_str(lit)  { sizeof(lit) - 1, (const unsigned char *) lit }

/* ASCII case-insensitive equality with a literal (header names) */
int s3_str_caseeq(s3_str_t a, const char *lit);
/* without leading and trailing spaces and tabs */
s3_str_t s3_str_trim(s3_str_t v);


#ifndef S3_HEADER_T_DEFINED
#define S3_HEADER_T_DEFINED
typedef struct {
    s3_str_t  name;
    s3_str_t  value;
} s3_header_t;
#endif


/* a request as received (or, for the signer, as it will be sent) */
typedef struct {
    s3_str_t             method;
    s3_str_t             path;          /* percent-encoded, without query */
    s3_str_t             query;         /* without the '?' */
    const s3_header_t   *headers;       /* in order, duplicates allowed */
    size_t               nheaders;
} s3_sigv4_request_t;


typedef enum {
    S3_SIGV4_NONE = 0,                  /* no authentication */
    S3_SIGV4_HEADER,                    /* Authorization header */
    S3_SIGV4_QUERY                      /* presigned URL */
} s3_sigv4_form_t;


/* why a call failed: finer than s3_err_t, for the KMS API and logs */
typedef enum {
    S3_SIGV4_OK = 0,
    S3_SIGV4_MISSING,           /* neither an Authorization header nor
                                   X-Amz-* query authentication */
    S3_SIGV4_MULTIPLE,          /* both, or a header twice */
    S3_SIGV4_UNSUPPORTED,       /* another scheme: SigV2, SigV4A, ... */
    S3_SIGV4_MALFORMED,         /* Authorization syntax, a component
                                   missing or repeated */
    S3_SIGV4_MISSING_QUERY,     /* a required X-Amz-* parameter absent */
    S3_SIGV4_BAD_CREDENTIAL,    /* not AKID/YYYYMMDD/region/service/term */
    S3_SIGV4_BAD_SIGNED_HEADERS,
    S3_SIGV4_MISSING_DATE,      /* neither X-Amz-Date nor Date */
    S3_SIGV4_BAD_DATE,          /* unparsable or repeated date */
    S3_SIGV4_BAD_EXPIRES,       /* X-Amz-Expires not in 1..604800 */
    S3_SIGV4_SCOPE_DATE,        /* scope date != date of X-Amz-Date */
    S3_SIGV4_SCOPE_REGION,
    S3_SIGV4_SCOPE_SERVICE,
    S3_SIGV4_SCOPE_TERMINATOR,  /* not aws4_request */
    S3_SIGV4_HOST_NOT_SIGNED,
    S3_SIGV4_UNSIGNED_HEADERS,  /* an x-amz-* header not signed (option) */
    S3_SIGV4_SKEWED,            /* header form: |now - date| > max skew */
    S3_SIGV4_EXPIRED,           /* query form: now > date + expires */
    S3_SIGV4_NOT_YET_VALID,     /* query form: date > now + max skew */
    S3_SIGV4_NO_PAYLOAD_HASH,   /* no x-amz-content-sha256 where needed */
    S3_SIGV4_BAD_ENCODING,      /* invalid %-escape in path or query */
    S3_SIGV4_TOO_LARGE,         /* over the limits below */
    S3_SIGV4_MISMATCH,          /* the signature does not verify */
    S3_SIGV4_INTERNAL
} s3_sigv4_reason_t;


#define S3_SIGV4_MAX_SIGNED_HEADERS   64
#define S3_SIGV4_MAX_QUERY_PARAMS     256
#define S3_SIGV4_MAX_PATH_SEGMENTS    256   /* normalized paths only */
#define S3_SIGV4_MAX_SECRET           128
#define S3_SIGV4_MAX_EXPIRES          604800
#define S3_SIGV4_DEFAULT_SKEW         900

#define S3_SIGV4_ALGORITHM            "AWS4-HMAC-SHA256"
#define S3_SIGV4_UNSIGNED_PAYLOAD     "UNSIGNED-PAYLOAD"
#define S3_SIGV4_EMPTY_SHA256                                               \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


/*
 * Parsed authentication.  Views point into the request's Authorization
 * header or into buf (percent-decoded query values): keep the struct where
 * s3_sigv4_parse() filled it, do not copy it by value.  Fields after
 * "internal" are for this module.
 */
typedef struct {
    s3_sigv4_form_t     form;
    s3_sigv4_reason_t   reason;

    s3_str_t            access_key;
    s3_str_t            scope;          /* date/region/service/aws4_request */
    s3_str_t            date;           /* YYYYMMDD of the scope */
    s3_str_t            region;
    s3_str_t            service;
    s3_str_t            terminator;
    s3_str_t            signed_headers; /* "host;x-amz-date" as sent */
    s3_str_t            signature;      /* hex as sent */
    s3_str_t            security_token; /* as sent: percent-encoded in the
                                           query form; empty if none */

    char                amz_date[17];   /* YYYYMMDDTHHMMSSZ, also from a
                                           Date header; NUL-terminated */
    int64_t             time;           /* amz_date as Unix time */
    int64_t             expires;        /* query form; 0 in header form */

    /* internal */
    size_t              nsigned;
    s3_str_t            signed_names[S3_SIGV4_MAX_SIGNED_HEADERS];
    unsigned char       sig[32];
    unsigned            sig_valid:1;
    unsigned            parsed:1;
    size_t              used;
    unsigned char       buf[2048];
} s3_sigv4_auth_t;


/* optional copies of the intermediate strings, for tests and debugging */
typedef struct {
    char                *creq;          /* canonical request */
    size_t               creq_cap;
    size_t               creq_len;      /* may exceed creq_cap: truncated */
    char                *sts;           /* string to sign */
    size_t               sts_cap;
    size_t               sts_len;
    char                 signature[65]; /* computed, hex */
} s3_sigv4_debug_t;


typedef struct {
    /* expected scope; an empty view accepts any */
    s3_str_t             region;
    s3_str_t             service;

    /*
     * Path canonicalization.  s3: the path is decoded and encoded once
     * (RFC 3986 unreserved kept, '/' kept, the rest %XX), never
     * normalized.  Else (every other service) the path as received is
     * encoded once more, after removing "." / ".." segments and empty
     * segments when normalize is set, as aws-c-auth does.
     */
    unsigned             s3:1;
    unsigned             normalize:1;

    /* refuse x-amz-* headers that the signature does not cover */
    unsigned             require_amz_signed:1;

    int64_t              now;           /* Unix time */
    int64_t              max_skew;      /* seconds; 0: 900 */

    /*
     * The payload hash of the canonical request.  Empty: in the query
     * form an X-Amz-Content-Sha256 parameter; then the
     * x-amz-content-sha256 header; then UNSIGNED-PAYLOAD in the query
     * form; else S3_SIGV4_NO_PAYLOAD_HASH.  The KMS API passes the hex
     * SHA-256 of the body it read.
     */
    s3_str_t             payload_hash;

    s3_sigv4_debug_t    *debug;

    /*
     * Optional, for speed (NULL: fresh contexts per call).  sha: a handle
     * reused for the canonical request's digest.  key_hmac: the signing
     * key passed to s3_sigv4_verify() set on an HMAC handle
     * (kms_hmac_set_key()), so that its padded blocks are not hashed
     * again for every request.
     */
    kms_sha256_t        *sha;
    kms_hmac_t          *key_hmac;
} s3_sigv4_conf_t;


s3_err_t s3_sigv4_parse(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a);
s3_err_t s3_sigv4_check(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a,
    const s3_sigv4_conf_t *conf);
s3_err_t s3_sigv4_verify(const s3_sigv4_request_t *r, s3_sigv4_auth_t *a,
    const s3_sigv4_conf_t *conf, const unsigned char key[32]);

s3_sigv4_reason_t s3_sigv4_reason(const s3_sigv4_auth_t *a);
const char *s3_sigv4_reason_text(s3_sigv4_reason_t reason);

/* the S3 error for a reason in a form */
s3_err_t s3_sigv4_error(s3_sigv4_form_t form, s3_sigv4_reason_t reason);


/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request").  Cache it per (access key, date, region, service).
 */
s3_err_t s3_sigv4_signing_key(const void *secret, size_t secret_len,
    s3_str_t date, s3_str_t region, s3_str_t service,
    unsigned char key[32]);


/* signing an outgoing request */
typedef struct {
    s3_sigv4_request_t   req;           /* headers: all signed, as sent */
    s3_str_t             payload_hash;
    s3_str_t             amz_date;      /* YYYYMMDDTHHMMSSZ */
    s3_str_t             access_key;
    s3_str_t             region;
    s3_str_t             service;
    unsigned             s3:1;
    unsigned             normalize:1;

    /* query form (presigning) */
    unsigned             presign:1;
    int64_t              expires;
    s3_str_t             security_token;    /* not encoded; empty: none */
} s3_sigv4_sign_t;

/*
 * Header form: writes the Authorization header value.  Query form: writes
 * the query string to send (the request's, then X-Amz-Algorithm,
 * -Credential, -Date, -SignedHeaders, -Expires, -Security-Token and
 * -Signature).  NUL-terminated; S3_ERR_INTERNAL if out is too small.
 */
s3_err_t s3_sigv4_sign(const s3_sigv4_sign_t *s, const unsigned char key[32],
    char *out, size_t cap, size_t *outlen, s3_sigv4_debug_t *debug);

/* Unix time to YYYYMMDDTHHMMSSZ (17 bytes with the NUL) */
void s3_sigv4_format_date(int64_t t, char out[17]);

#endif /* S3_SIGV4_H */
