/*
 * S3 request classification.  See s3_request.h.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "s3_request.h"


#define S3_REQ_MAX_PARAMS  64

/* the message S3 gives for a partNumber out of range */
#define S3_MSG_PART_RANGE                                                   \
    "Part number must be an integer between 1 and 10000, inclusive"
#define S3_MSG_PART_NAN                                                     \
    "Provided partNumber not an integer or within integer range"
#define S3_MSG_COPY_SOURCE                                                  \
    "Copy Source must mention the source bucket and key: "                  \
    "sourcebucket/sourcekey"
#define S3_MSG_COPY_RANGE                                                   \
    "The x-amz-copy-source-range value must be of the form bytes=first-last " \
    "where first and last are the zero-based offsets of the first and last " \
    "bytes to copy"
#define S3_MSG_QUERY_NI                                                     \
    "A query parameter you provided implies functionality that is not "     \
    "implemented"
#define S3_MSG_HEADER_NI                                                    \
    "A header you provided implies functionality that is not implemented"


typedef enum {
    S3_PARAM_HARMLESS = 0,      /* forwarded, not read */
    S3_PARAM_SUB,               /* a subresource: selects the operation */
    S3_PARAM_UPLOAD_ID,         /* subresource with a value */
    S3_PARAM_VERSION_ID,
    S3_PARAM_PART_NUMBER,
    S3_PARAM_LIST_TYPE,
    S3_PARAM_SELECT_TYPE,
    S3_PARAM_ID,
    S3_PARAM_UNKNOWN
} s3_param_kind_t;

typedef struct {
    const char       *name;
    s3_param_kind_t   kind;
} s3_param_def_t;

typedef struct {
    const s3_param_def_t  *def;
    s3_str_t               raw_name;
    s3_str_t               raw_value;
    unsigned               has_value:1;
} s3_param_t;

/* operations per subresource and method; UNKNOWN: method not allowed */
typedef struct {
    const char       *sub;
    s3_op_t           get;
    s3_op_t           put;
    s3_op_t           del;
    s3_op_t           post;
} s3_sub_ops_t;


static const s3_param_def_t  s3_params[] = {
    { "accelerate",           S3_PARAM_SUB },
    { "acl",                  S3_PARAM_SUB },
    { "analytics",            S3_PARAM_SUB },
    { "attributes",           S3_PARAM_SUB },
    { "cors",                 S3_PARAM_SUB },
    { "delete",               S3_PARAM_SUB },
    { "encryption",           S3_PARAM_SUB },
    { "intelligent-tiering",  S3_PARAM_SUB },
    { "inventory",            S3_PARAM_SUB },
    { "legal-hold",           S3_PARAM_SUB },
    { "lifecycle",            S3_PARAM_SUB },
    { "location",             S3_PARAM_SUB },
    { "logging",              S3_PARAM_SUB },
    { "metrics",              S3_PARAM_SUB },
    { "notification",         S3_PARAM_SUB },
    { "object-lock",          S3_PARAM_SUB },
    { "ownershipControls",    S3_PARAM_SUB },
    { "policy",               S3_PARAM_SUB },
    { "policyStatus",         S3_PARAM_SUB },
    { "publicAccessBlock",    S3_PARAM_SUB },
    { "replication",          S3_PARAM_SUB },
    { "requestPayment",       S3_PARAM_SUB },
    { "restore",              S3_PARAM_SUB },
    { "retention",            S3_PARAM_SUB },
    { "select",               S3_PARAM_SUB },
    { "session",              S3_PARAM_SUB },
    { "tagging",              S3_PARAM_SUB },
    { "torrent",              S3_PARAM_SUB },
    { "uploads",              S3_PARAM_SUB },
    { "versioning",           S3_PARAM_SUB },
    { "versions",             S3_PARAM_SUB },
    { "website",              S3_PARAM_SUB },

    { "uploadId",             S3_PARAM_UPLOAD_ID },
    { "versionId",            S3_PARAM_VERSION_ID },
    { "partNumber",           S3_PARAM_PART_NUMBER },
    { "list-type",            S3_PARAM_LIST_TYPE },
    { "select-type",          S3_PARAM_SELECT_TYPE },
    { "id",                   S3_PARAM_ID },

    /* SDK operation hint (JS v3, Go v2) */
    { "x-id",                 S3_PARAM_HARMLESS },

    /* listings */
    { "prefix",               S3_PARAM_HARMLESS },
    { "delimiter",            S3_PARAM_HARMLESS },
    { "marker",               S3_PARAM_HARMLESS },
    { "max-keys",             S3_PARAM_HARMLESS },
    { "encoding-type",        S3_PARAM_HARMLESS },
    { "continuation-token",   S3_PARAM_HARMLESS },
    { "fetch-owner",          S3_PARAM_HARMLESS },
    { "start-after",          S3_PARAM_HARMLESS },
    { "key-marker",           S3_PARAM_HARMLESS },
    { "version-id-marker",    S3_PARAM_HARMLESS },
    { "upload-id-marker",     S3_PARAM_HARMLESS },
    { "max-uploads",          S3_PARAM_HARMLESS },
    { "max-parts",            S3_PARAM_HARMLESS },
    { "part-number-marker",   S3_PARAM_HARMLESS },
    { "max-buckets",          S3_PARAM_HARMLESS },
    { "bucket-region",        S3_PARAM_HARMLESS },

    /* GetObject response header overrides */
    { "response-cache-control",        S3_PARAM_HARMLESS },
    { "response-content-disposition",  S3_PARAM_HARMLESS },
    { "response-content-encoding",     S3_PARAM_HARMLESS },
    { "response-content-language",     S3_PARAM_HARMLESS },
    { "response-content-type",         S3_PARAM_HARMLESS },
    { "response-expires",              S3_PARAM_HARMLESS },

    /* SigV2 query authentication: the signature check refuses it */
    { "AWSAccessKeyId",       S3_PARAM_HARMLESS },
    { "Signature",            S3_PARAM_HARMLESS },
    { "Expires",              S3_PARAM_HARMLESS },

    { NULL,                   S3_PARAM_UNKNOWN }
};

static const s3_param_def_t  s3_param_presign = {
    "X-Amz-*", S3_PARAM_HARMLESS
};
static const s3_param_def_t  s3_param_unknown = { "", S3_PARAM_UNKNOWN };


#define U  S3_OP_UNKNOWN

static const s3_sub_ops_t  s3_bucket_ops[] = {
    { "",  S3_OP_LIST_OBJECTS, S3_OP_CREATE_BUCKET, S3_OP_DELETE_BUCKET,
           S3_OP_POST_OBJECT },
    { "accelerate", S3_OP_GET_BUCKET_ACCELERATE, S3_OP_PUT_BUCKET_ACCELERATE,
           U, U },
    { "acl", S3_OP_GET_BUCKET_ACL, S3_OP_PUT_BUCKET_ACL, U, U },
    { "analytics", S3_OP_GET_BUCKET_ANALYTICS, S3_OP_PUT_BUCKET_ANALYTICS,
           S3_OP_DELETE_BUCKET_ANALYTICS, U },
    { "cors", S3_OP_GET_BUCKET_CORS, S3_OP_PUT_BUCKET_CORS,
           S3_OP_DELETE_BUCKET_CORS, U },
    { "delete", U, U, U, S3_OP_DELETE_OBJECTS },
    { "encryption", S3_OP_GET_BUCKET_ENCRYPTION, S3_OP_PUT_BUCKET_ENCRYPTION,
           S3_OP_DELETE_BUCKET_ENCRYPTION, U },
    { "intelligent-tiering", S3_OP_GET_BUCKET_INTELLIGENT_TIERING,
           S3_OP_PUT_BUCKET_INTELLIGENT_TIERING,
           S3_OP_DELETE_BUCKET_INTELLIGENT_TIERING, U },
    { "inventory", S3_OP_GET_BUCKET_INVENTORY, S3_OP_PUT_BUCKET_INVENTORY,
           S3_OP_DELETE_BUCKET_INVENTORY, U },
    { "lifecycle", S3_OP_GET_BUCKET_LIFECYCLE, S3_OP_PUT_BUCKET_LIFECYCLE,
           S3_OP_DELETE_BUCKET_LIFECYCLE, U },
    { "location", S3_OP_GET_BUCKET_LOCATION, U, U, U },
    { "logging", S3_OP_GET_BUCKET_LOGGING, S3_OP_PUT_BUCKET_LOGGING, U, U },
    { "metrics", S3_OP_GET_BUCKET_METRICS, S3_OP_PUT_BUCKET_METRICS,
           S3_OP_DELETE_BUCKET_METRICS, U },
    { "notification", S3_OP_GET_BUCKET_NOTIFICATION,
           S3_OP_PUT_BUCKET_NOTIFICATION, U, U },
    { "object-lock", S3_OP_GET_OBJECT_LOCK_CONFIGURATION,
           S3_OP_PUT_OBJECT_LOCK_CONFIGURATION, U, U },
    { "ownershipControls", S3_OP_GET_BUCKET_OWNERSHIP_CONTROLS,
           S3_OP_PUT_BUCKET_OWNERSHIP_CONTROLS,
           S3_OP_DELETE_BUCKET_OWNERSHIP_CONTROLS, U },
    { "policy", S3_OP_GET_BUCKET_POLICY, S3_OP_PUT_BUCKET_POLICY,
           S3_OP_DELETE_BUCKET_POLICY, U },
    { "policyStatus", S3_OP_GET_BUCKET_POLICY_STATUS, U, U, U },
    { "publicAccessBlock", S3_OP_GET_PUBLIC_ACCESS_BLOCK,
           S3_OP_PUT_PUBLIC_ACCESS_BLOCK, S3_OP_DELETE_PUBLIC_ACCESS_BLOCK, U },
    { "replication", S3_OP_GET_BUCKET_REPLICATION,
           S3_OP_PUT_BUCKET_REPLICATION, S3_OP_DELETE_BUCKET_REPLICATION, U },
    { "requestPayment", S3_OP_GET_BUCKET_REQUEST_PAYMENT,
           S3_OP_PUT_BUCKET_REQUEST_PAYMENT, U, U },
    { "session", S3_OP_CREATE_SESSION, U, U, U },
    { "tagging", S3_OP_GET_BUCKET_TAGGING, S3_OP_PUT_BUCKET_TAGGING,
           S3_OP_DELETE_BUCKET_TAGGING, U },
    { "uploads", S3_OP_LIST_MULTIPART_UPLOADS, U, U, U },
    { "versioning", S3_OP_GET_BUCKET_VERSIONING, S3_OP_PUT_BUCKET_VERSIONING,
           U, U },
    { "versions", S3_OP_LIST_OBJECT_VERSIONS, U, U, U },
    { "website", S3_OP_GET_BUCKET_WEBSITE, S3_OP_PUT_BUCKET_WEBSITE,
           S3_OP_DELETE_BUCKET_WEBSITE, U },
    { NULL, U, U, U, U }
};

static const s3_sub_ops_t  s3_object_ops[] = {
    { "", S3_OP_GET_OBJECT, S3_OP_PUT_OBJECT, S3_OP_DELETE_OBJECT, U },
    { "acl", S3_OP_GET_OBJECT_ACL, S3_OP_PUT_OBJECT_ACL, U, U },
    { "attributes", S3_OP_GET_OBJECT_ATTRIBUTES, U, U, U },
    { "encryption", U, S3_OP_UPDATE_OBJECT_ENCRYPTION, U, U },
    { "legal-hold", S3_OP_GET_OBJECT_LEGAL_HOLD, S3_OP_PUT_OBJECT_LEGAL_HOLD,
           U, U },
    { "restore", U, U, U, S3_OP_RESTORE_OBJECT },
    { "retention", S3_OP_GET_OBJECT_RETENTION, S3_OP_PUT_OBJECT_RETENTION,
           U, U },
    { "select", U, U, U, S3_OP_SELECT_OBJECT_CONTENT },
    { "tagging", S3_OP_GET_OBJECT_TAGGING, S3_OP_PUT_OBJECT_TAGGING,
           S3_OP_DELETE_OBJECT_TAGGING, U },
    { "torrent", S3_OP_GET_OBJECT_TORRENT, U, U, U },
    { "uploadId", S3_OP_LIST_PARTS, S3_OP_UPLOAD_PART,
           S3_OP_ABORT_MULTIPART_UPLOAD, S3_OP_COMPLETE_MULTIPART_UPLOAD },
    { "uploads", U, U, U, S3_OP_CREATE_MULTIPART_UPLOAD },
    { NULL, U, U, U, U }
};

#undef U


#define S3_OP_ROW(name, str, cls)  { str, S3_CLASS_##cls },
static const struct {
    const char   *name;
    s3_class_t    cls;
} s3_op_table[] = {
    S3_OPS(S3_OP_ROW)
};
#undef S3_OP_ROW


static int s3_lower(int c);
static int s3_str_eq_lit(const unsigned char *p, size_t len, const char *s);
static int s3_str_caseeq_lit(const unsigned char *p, size_t len,
    const char *s);
static int s3_str_caseeq_n(const unsigned char *a, const unsigned char *b,
    size_t n);
static int s3_hexval(int c);
static unsigned char *s3_req_alloc(s3_request_t *r, size_t n);
static s3_err_t s3_req_fail(s3_request_t *r, s3_class_t cls, s3_err_t err,
    const char *msg, const char *reason);
static void s3_req_extra(s3_request_t *r, const char *name,
    const unsigned char *data, size_t len);
static void s3_req_extra_str(s3_request_t *r, const char *name,
    const char *s);
static int s3_host_is_ip_or_local(const unsigned char *h, size_t len);
static s3_err_t s3_req_host(const s3_request_in_t *in, s3_request_t *r);
static s3_err_t s3_req_path(const s3_request_in_t *in, s3_request_t *r);
static s3_err_t s3_req_decode_into(s3_request_t *r, s3_str_t *out,
    const unsigned char *p, size_t len, int plus_space, size_t max);
static s3_err_t s3_req_key_check(s3_request_t *r, s3_str_t key);
static const s3_param_def_t *s3_param_lookup(const unsigned char *name,
    size_t len);
static s3_err_t s3_req_query(const s3_request_in_t *in, s3_request_t *r,
    s3_param_t *params, size_t *nparams);
static s3_err_t s3_req_part_number(s3_request_t *r, const s3_param_t *p);
static s3_err_t s3_req_copy_source(const s3_request_in_t *in,
    s3_request_t *r);
static s3_err_t s3_req_copy_range(const s3_request_in_t *in,
    s3_request_t *r);
static s3_op_t s3_sub_op(const s3_sub_ops_t *table, const char *sub,
    s3_str_t method, int *known);
static size_t s3_arn_put(char *out, size_t cap, size_t at, const void *p,
    size_t len);


static int
s3_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


static int
s3_str_eq_lit(const unsigned char *p, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(p, s, len) == 0;
}


static int
s3_str_caseeq_lit(const unsigned char *p, size_t len, const char *s)
{
    size_t  i;

    if (strlen(s) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s3_lower(p[i]) != s3_lower((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


static int
s3_str_caseeq_n(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s3_lower(a[i]) != s3_lower(b[i])) {
            return 0;
        }
    }

    return 1;
}


static int
s3_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = s3_lower(c);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


long
s3_percent_decode(unsigned char *out, size_t cap, const unsigned char *in,
    size_t len, int plus_space)
{
    size_t  i, n;
    int     hi, lo;

    n = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = in[i];

        if (c == '%') {
            if (len - i < 3) {
                return -1;
            }

            hi = s3_hexval(in[i + 1]);
            lo = s3_hexval(in[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 2;

        } else if (c == '+' && plus_space) {
            c = ' ';
        }

        if (out != NULL) {
            if (n >= cap) {
                return -1;
            }

            out[n] = c;
        }

        n++;
    }

    return (long) n;
}


int
s3_utf8_valid(const unsigned char *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    for (i = 0; i < len; /* void */) {
        unsigned char  c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1; cp = c & 0x1f; min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2; cp = c & 0x0f; min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3; cp = c & 0x07; min = 0x10000;

        } else {
            return 0;
        }

        if (len - i <= n) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = cp << 6 | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}


int
s3_bucket_name_valid(const unsigned char *name, size_t len)
{
    size_t   i, dots, digits_only;
    int      prev;

    static const char  *prefixes[] = {
        "xn--", "sthree-", "amzn-s3-demo-", NULL
    };
    static const char  *suffixes[] = {
        "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3", NULL
    };

    if (len < 3 || len > S3_BUCKET_MAX) {
        return 0;
    }

    prev = 0;
    dots = 0;
    digits_only = 1;

    for (i = 0; i < len; i++) {
        unsigned char  c = name[i];

        if (c == '.') {
            if (prev == '.') {
                return 0;
            }

            dots++;

        } else if (c >= '0' && c <= '9') {
            /* void */

        } else if ((c >= 'a' && c <= 'z') || c == '-') {
            digits_only = 0;

        } else {
            return 0;
        }

        prev = c;
    }

    if (!((name[0] >= 'a' && name[0] <= 'z')
          || (name[0] >= '0' && name[0] <= '9'))
        || !((name[len - 1] >= 'a' && name[len - 1] <= 'z')
             || (name[len - 1] >= '0' && name[len - 1] <= '9')))
    {
        return 0;
    }

    /* formatted as an IP address: four groups of digits */
    if (digits_only && dots == 3) {
        return 0;
    }

    for (i = 0; prefixes[i]; i++) {
        size_t  n = strlen(prefixes[i]);

        if (len >= n && memcmp(name, prefixes[i], n) == 0) {
            return 0;
        }
    }

    for (i = 0; suffixes[i]; i++) {
        size_t  n = strlen(suffixes[i]);

        if (len >= n && memcmp(name + len - n, suffixes[i], n) == 0) {
            return 0;
        }
    }

    return 1;
}


const s3_header_t *
s3_header_find(const s3_header_t *h, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s3_str_caseeq_lit(h[i].name.data, h[i].name.len, name)) {
            return &h[i];
        }
    }

    return NULL;
}


const char *
s3_op_name(s3_op_t op)
{
    if ((unsigned) op >= S3_OP_MAX) {
        op = S3_OP_UNKNOWN;
    }

    return s3_op_table[op].name;
}


s3_class_t
s3_op_class(s3_op_t op)
{
    if ((unsigned) op >= S3_OP_MAX) {
        op = S3_OP_UNKNOWN;
    }

    return s3_op_table[op].cls;
}


const char *
s3_class_name(s3_class_t c)
{
    switch (c) {
    case S3_CLASS_INVALID:           return "INVALID";
    case S3_CLASS_PASS:              return "PASS";
    case S3_CLASS_ENCRYPT:           return "ENCRYPT";
    case S3_CLASS_DECRYPT:           return "DECRYPT";
    case S3_CLASS_LIST:              return "LIST";
    case S3_CLASS_BUCKET_ENCRYPTION: return "BUCKET_ENCRYPTION";
    case S3_CLASS_NOT_IMPLEMENTED:   return "NOT_IMPLEMENTED";
    }

    return "?";
}


static unsigned char *
s3_req_alloc(s3_request_t *r, size_t n)
{
    unsigned char  *p;

    if (n > sizeof(r->buf) - r->used) {
        return NULL;
    }

    p = r->buf + r->used;
    r->used += n;

    return p;
}


static s3_err_t
s3_req_fail(s3_request_t *r, s3_class_t cls, s3_err_t err, const char *msg,
    const char *reason)
{
    r->cls = cls;
    r->error.err = err;
    r->error.message = msg;
    r->error.reason = reason;
    r->reason = reason;

    return err;
}


static void
s3_req_extra(s3_request_t *r, const char *name, const unsigned char *data,
    size_t len)
{
    if (r->error.nextra < S3_ERROR_MAX_EXTRA) {
        r->error.extra[r->error.nextra].name = name;
        r->error.extra[r->error.nextra].value.data = data;
        r->error.extra[r->error.nextra].value.len = len;
        r->error.nextra++;
    }
}


static void
s3_req_extra_str(s3_request_t *r, const char *name, const char *s)
{
    s3_req_extra(r, name, (const unsigned char *) s, strlen(s));
}


static int
s3_host_is_ip_or_local(const unsigned char *h, size_t len)
{
    size_t  i, dots;

    if (s3_str_caseeq_lit(h, len, "localhost")) {
        return 1;
    }

    if (len == 0) {
        return 1;
    }

    dots = 0;

    for (i = 0; i < len; i++) {
        if (h[i] == '.') {
            dots++;

        } else if (h[i] < '0' || h[i] > '9') {
            return 0;
        }
    }

    return dots == 3;
}


/* virtual-hosted style: the bucket from the Host header */
static s3_err_t
s3_req_host(const s3_request_in_t *in, s3_request_t *r)
{
    size_t          i, len, n;
    unsigned char  *p;
    const unsigned char  *h;

    h = in->host.data;
    len = in->host.len;

    if (len == 0 || in->nvhost_names == 0 || h[0] == '[') {
        return S3_OK;
    }

    /* strip the port and a trailing dot */
    for (i = 0; i < len; i++) {
        if (h[i] == ':') {
            len = i;
            break;
        }
    }

    if (len && h[len - 1] == '.') {
        len--;
    }

    if (s3_host_is_ip_or_local(h, len)) {
        return S3_OK;
    }

    for (i = 0; i < in->nvhost_names; i++) {
        const s3_str_t  *name = &in->vhost_names[i];

        n = name->len;

        if (n == 0 || len <= n + 1 || h[len - n - 1] != '.') {
            continue;
        }

        if (!s3_str_caseeq_n(h + len - n, name->data, n)) {
            continue;
        }

        /* DNS names are case-insensitive: the bucket is lowercase */
        n = len - n - 1;

        if (n > S3_BUCKET_MAX) {
            return s3_req_fail(r, S3_CLASS_INVALID,
                               S3_ERR_INVALID_BUCKET_NAME, NULL,
                               "bucket name too long in Host");
        }

        p = s3_req_alloc(r, n);
        if (p == NULL) {
            return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INTERNAL, NULL,
                               "request buffer");
        }

        for (i = 0; i < n; i++) {
            p[i] = (unsigned char) s3_lower(h[i]);
        }

        r->bucket.data = p;
        r->bucket.len = n;
        r->virtual_host = 1;

        return S3_OK;
    }

    return S3_OK;
}


static s3_err_t
s3_req_decode_into(s3_request_t *r, s3_str_t *out, const unsigned char *p,
    size_t len, int plus_space, size_t max)
{
    long            n;
    unsigned char  *d;

    n = s3_percent_decode(NULL, 0, p, len, plus_space);
    if (n < 0) {
        return S3_ERR_INVALID_URI;
    }

    if ((size_t) n > max) {
        return S3_ERR_KEY_TOO_LONG;
    }

    d = s3_req_alloc(r, (size_t) n);
    if (d == NULL) {
        return S3_ERR_INTERNAL;
    }

    if (s3_percent_decode(d, (size_t) n, p, len, plus_space) != n) {
        return S3_ERR_INTERNAL;
    }

    out->data = d;
    out->len = (size_t) n;

    return S3_OK;
}


static s3_err_t
s3_req_key_check(s3_request_t *r, s3_str_t key)
{
    if (memchr(key.data, '\0', key.len) != NULL
        || !s3_utf8_valid(key.data, key.len))
    {
        return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_URI, NULL,
                           "key is not UTF-8 or holds NUL");
    }

    return S3_OK;
}


static s3_err_t
s3_req_path(const s3_request_in_t *in, s3_request_t *r)
{
    size_t               i, len, blen;
    long                 n;
    s3_err_t             rc;
    const unsigned char *p;
    char                *num;

    p = in->path.data;
    len = in->path.len;

    if (len == 0 || p[0] != '/') {
        return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_URI, NULL,
                           "path does not start with '/'");
    }

    p++;
    len--;

    if (!r->virtual_host) {
        for (blen = 0; blen < len && p[blen] != '/'; blen++) {
            /* void */
        }

        if (blen) {
            if (blen > 3 * S3_BUCKET_MAX) {
                return s3_req_fail(r, S3_CLASS_INVALID,
                                   S3_ERR_INVALID_BUCKET_NAME, NULL,
                                   "bucket name too long");
            }

            rc = s3_req_decode_into(r, &r->bucket, p, blen, 0,
                                    3 * S3_BUCKET_MAX);
            if (rc != S3_OK) {
                return s3_req_fail(r, S3_CLASS_INVALID,
                                   rc == S3_ERR_INTERNAL ? rc
                                                         : S3_ERR_INVALID_URI,
                                   NULL, "bad percent-encoding in bucket");
            }
        }

        if (blen == 0 && len) {
            /* "//...": an empty bucket name before a key */
            return s3_req_fail(r, S3_CLASS_INVALID,
                               S3_ERR_INVALID_BUCKET_NAME, NULL,
                               "empty bucket name");
        }

        p += blen;
        len -= blen;

        if (len) {
            /* the '/' after the bucket */
            p++;
            len--;
        }
    }

    if (len == 0) {
        return S3_OK;
    }

    n = s3_percent_decode(NULL, 0, p, len, 0);
    if (n < 0) {
        return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_URI, NULL,
                           "bad percent-encoding in key");
    }

    if (n > S3_KEY_MAX) {
        num = (char *) s3_req_alloc(r, 48);
        if (num == NULL) {
            return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INTERNAL, NULL,
                               "request buffer");
        }

        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_KEY_TOO_LONG, NULL,
                    "key longer than 1024 bytes");
        i = (size_t) snprintf(num, 24, "%ld", n);
        s3_req_extra(r, "Size", (unsigned char *) num, i);
        s3_req_extra_str(r, "MaxSizeAllowed", "1024");

        return S3_ERR_KEY_TOO_LONG;
    }

    rc = s3_req_decode_into(r, &r->key, p, len, 0, S3_KEY_MAX);
    if (rc != S3_OK) {
        return s3_req_fail(r, S3_CLASS_INVALID, rc, NULL, "key");
    }

    r->has_key = 1;

    return s3_req_key_check(r, r->key);
}


static const s3_param_def_t *
s3_param_lookup(const unsigned char *name, size_t len)
{
    size_t  i;

    if (len > 6 && s3_str_caseeq_lit(name, 6, "x-amz-")) {
        return &s3_param_presign;
    }

    for (i = 0; s3_params[i].name; i++) {
        if (s3_str_eq_lit(name, len, s3_params[i].name)) {
            return &s3_params[i];
        }
    }

    return &s3_param_unknown;
}


static s3_err_t
s3_req_query(const s3_request_in_t *in, s3_request_t *r, s3_param_t *params,
    size_t *nparams)
{
    size_t               i, j, len, nlen, n;
    long                 dl;
    const unsigned char *p, *end, *amp, *eq;
    unsigned char        name[64];

    p = in->query.data;
    end = p + in->query.len;
    n = 0;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        len = (size_t) (amp - p);

        if (len == 0) {
            p = amp + 1;
            continue;
        }

        if (n == S3_REQ_MAX_PARAMS) {
            return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                               NULL, "too many query parameters");
        }

        eq = memchr(p, '=', len);
        nlen = eq ? (size_t) (eq - p) : len;

        params[n].raw_name.data = p;
        params[n].raw_name.len = nlen;
        params[n].has_value = eq != NULL;
        params[n].raw_value.data = eq ? eq + 1 : amp;
        params[n].raw_value.len = eq ? (size_t) (amp - eq - 1) : 0;

        dl = s3_percent_decode(name, sizeof(name), p, nlen, 1);
        if (dl < 0) {
            if (s3_percent_decode(NULL, 0, p, nlen, 1) < 0) {
                return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_URI,
                                   NULL, "bad percent-encoding in query");
            }

            /* longer than any name we know */
            params[n].def = &s3_param_unknown;

        } else {
            params[n].def = s3_param_lookup(name, (size_t) dl);
        }

        if (params[n].has_value
            && s3_percent_decode(NULL, 0, params[n].raw_value.data,
                                 params[n].raw_value.len, 1) < 0)
        {
            return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_URI, NULL,
                               "bad percent-encoding in query");
        }

        n++;
        p = amp + 1;
    }

    /* a parameter the gateway reads must not be repeated */
    for (i = 0; i < n; i++) {
        if (params[i].def->kind == S3_PARAM_HARMLESS
            || params[i].def->kind == S3_PARAM_UNKNOWN)
        {
            continue;
        }

        for (j = i + 1; j < n; j++) {
            if (params[j].def == params[i].def) {
                s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                            NULL, "repeated query parameter");
                s3_req_extra_str(r, "ArgumentName", params[i].def->name);
                return S3_ERR_INVALID_ARGUMENT;
            }
        }
    }

    *nparams = n;

    return S3_OK;
}


static s3_err_t
s3_req_part_number(s3_request_t *r, const s3_param_t *p)
{
    size_t    i, len;
    uint64_t  v;
    s3_str_t  d;

    if (s3_req_decode_into(r, &d, p->raw_value.data, p->raw_value.len, 1,
                           sizeof(r->buf))
        != S3_OK)
    {
        return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INTERNAL, NULL,
                           "request buffer");
    }

    len = d.len;
    v = 0;

    if (len == 0 || len > 10) {
        goto nan;
    }

    for (i = 0; i < len; i++) {
        if (d.data[i] < '0' || d.data[i] > '9') {
            goto nan;
        }

        v = v * 10 + (d.data[i] - '0');
    }

    if (v > 0x7fffffff) {
        goto nan;
    }

    if (v < 1 || v > S3_PART_MAX) {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                    S3_MSG_PART_RANGE, "partNumber out of range");
        s3_req_extra_str(r, "ArgumentName", "partNumber");
        s3_req_extra(r, "ArgumentValue", d.data, d.len);
        return S3_ERR_INVALID_ARGUMENT;
    }

    r->part_number = (uint32_t) v;

    return S3_OK;

nan:

    s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                S3_MSG_PART_NAN, "partNumber not an integer");
    s3_req_extra_str(r, "ArgumentName", "partNumber");
    s3_req_extra(r, "ArgumentValue", d.data, d.len);

    return S3_ERR_INVALID_ARGUMENT;
}


static s3_err_t
s3_req_copy_source(const s3_request_in_t *in, s3_request_t *r)
{
    size_t               len, blen, qlen;
    s3_err_t             rc;
    const s3_header_t   *h;
    const unsigned char *p, *q;

    h = s3_header_find(in->headers, in->nheaders, "x-amz-copy-source");
    if (h == NULL) {
        return S3_OK;
    }

    p = h->value.data;
    len = h->value.len;

    /* access point ARNs name no bucket this gateway knows */
    if (len >= 4 && memcmp(p, "arn:", 4) == 0) {
        s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                    S3_MSG_HEADER_NI, "copy source is an ARN");
        s3_req_extra_str(r, "Header", "x-amz-copy-source");
        return S3_ERR_NOT_IMPLEMENTED;
    }

    q = memchr(p, '?', len);
    qlen = 0;

    if (q != NULL) {
        qlen = len - (size_t) (q - p) - 1;
        len = (size_t) (q - p);
        q++;
    }

    if (len && p[0] == '/') {
        p++;
        len--;
    }

    for (blen = 0; blen < len && p[blen] != '/'; blen++) {
        /* void */
    }

    if (blen == 0 || blen >= len - 1 || blen > 3 * S3_BUCKET_MAX) {
        goto invalid;
    }

    if (s3_req_decode_into(r, &r->copy_bucket, p, blen, 0,
                           3 * S3_BUCKET_MAX)
        != S3_OK)
    {
        goto invalid;
    }

    if (!s3_bucket_name_valid(r->copy_bucket.data, r->copy_bucket.len)) {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_BUCKET_NAME, NULL,
                    "copy source bucket name");
        s3_req_extra(r, "BucketName", r->copy_bucket.data, r->copy_bucket.len);
        return S3_ERR_INVALID_BUCKET_NAME;
    }

    rc = s3_req_decode_into(r, &r->copy_key, p + blen + 1, len - blen - 1, 0,
                            S3_KEY_MAX);
    if (rc == S3_ERR_KEY_TOO_LONG) {
        return s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_KEY_TOO_LONG, NULL,
                           "copy source key longer than 1024 bytes");
    }

    if (rc != S3_OK || r->copy_key.len == 0
        || memchr(r->copy_key.data, '\0', r->copy_key.len) != NULL
        || !s3_utf8_valid(r->copy_key.data, r->copy_key.len))
    {
        goto invalid;
    }

    if (q != NULL) {
        if (qlen < 10 || memcmp(q, "versionId=", 10) != 0
            || memchr(q, '&', qlen) != NULL)
        {
            goto invalid;
        }

        if (s3_req_decode_into(r, &r->copy_version_id, q + 10, qlen - 10, 0,
                               S3_ID_MAX)
            != S3_OK)
        {
            goto invalid;
        }

        r->has_copy_version = 1;
    }

    return S3_OK;

invalid:

    s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                S3_MSG_COPY_SOURCE, "malformed x-amz-copy-source");
    s3_req_extra_str(r, "ArgumentName", "x-amz-copy-source");
    s3_req_extra(r, "ArgumentValue", h->value.data, h->value.len);

    return S3_ERR_INVALID_ARGUMENT;
}


static s3_err_t
s3_req_copy_range(const s3_request_in_t *in, s3_request_t *r)
{
    size_t               i, len, digits;
    uint64_t             v[2];
    const s3_header_t   *h;
    const unsigned char *p;
    int                  k;

    h = s3_header_find(in->headers, in->nheaders, "x-amz-copy-source-range");
    if (h == NULL) {
        return S3_OK;
    }

    p = h->value.data;
    len = h->value.len;

    if (len < 9 || memcmp(p, "bytes=", 6) != 0) {
        goto invalid;
    }

    i = 6;

    for (k = 0; k < 2; k++) {
        v[k] = 0;
        digits = 0;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (++digits > 19) {
                goto invalid;
            }

            v[k] = v[k] * 10 + (p[i] - '0');
            i++;
        }

        if (digits == 0) {
            goto invalid;
        }

        if (k == 0) {
            if (i == len || p[i] != '-') {
                goto invalid;
            }

            i++;
        }
    }

    if (i != len || v[0] > v[1]) {
        goto invalid;
    }

    r->copy_first = v[0];
    r->copy_last = v[1];
    r->has_copy_range = 1;

    return S3_OK;

invalid:

    s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                S3_MSG_COPY_RANGE, "malformed x-amz-copy-source-range");
    s3_req_extra_str(r, "ArgumentName", "x-amz-copy-source-range");
    s3_req_extra(r, "ArgumentValue", h->value.data, h->value.len);

    return S3_ERR_INVALID_ARGUMENT;
}


static s3_op_t
s3_sub_op(const s3_sub_ops_t *table, const char *sub, s3_str_t method,
    int *known)
{
    size_t  i;

    *known = 0;

    for (i = 0; table[i].sub; i++) {
        if (strcmp(table[i].sub, sub) != 0) {
            continue;
        }

        *known = 1;

        if (s3_str_eq_lit(method.data, method.len, "GET")) {
            return table[i].get;
        }

        if (s3_str_eq_lit(method.data, method.len, "PUT")) {
            return table[i].put;
        }

        if (s3_str_eq_lit(method.data, method.len, "DELETE")) {
            return table[i].del;
        }

        if (s3_str_eq_lit(method.data, method.len, "POST")) {
            return table[i].post;
        }

        /* a method S3 does not have */
        *known = 0;

        return S3_OP_UNKNOWN;
    }

    return S3_OP_UNKNOWN;
}


s3_err_t
s3_request_classify(const s3_request_in_t *in, s3_request_t *r)
{
    size_t               i, nparams;
    int                  known;
    s3_err_t             rc;
    s3_str_t             m;
    const char          *sub;
    const s3_param_t    *sub_param, *part_param, *list_type, *select_type,
                        *id_param;
    s3_param_t           params[S3_REQ_MAX_PARAMS];

    memset(r, 0, offsetof(s3_request_t, buf));

    r->op = S3_OP_UNKNOWN;
    r->cls = S3_CLASS_INVALID;
    r->error.err = S3_OK;

    m = in->method;

    rc = s3_req_host(in, r);
    if (rc != S3_OK) {
        return rc;
    }

    /* WriteGetObjectResponse: S3 Object Lambda, never a bucket */
    if (!r->virtual_host
        && s3_str_eq_lit(m.data, m.len, "POST")
        && in->path.len >= 23
        && memcmp(in->path.data, "/WriteGetObjectResponse", 23) == 0
        && (in->path.len == 23 || in->path.data[23] == '/'))
    {
        r->op = S3_OP_WRITE_GET_OBJECT_RESPONSE;
        return s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED,
                           S3_ERR_NOT_IMPLEMENTED, NULL,
                           "WriteGetObjectResponse");
    }

    rc = s3_req_path(in, r);
    if (rc != S3_OK) {
        return rc;
    }

    if (r->bucket.len
        && !s3_bucket_name_valid(r->bucket.data, r->bucket.len))
    {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_BUCKET_NAME, NULL,
                    "bucket name");
        s3_req_extra(r, "BucketName", r->bucket.data, r->bucket.len);
        return S3_ERR_INVALID_BUCKET_NAME;
    }

    rc = s3_req_query(in, r, params, &nparams);
    if (rc != S3_OK) {
        return rc;
    }

    sub = "";
    sub_param = NULL;
    part_param = NULL;
    list_type = NULL;
    select_type = NULL;
    id_param = NULL;

    for (i = 0; i < nparams; i++) {
        const s3_param_t  *p = &params[i];

        switch (p->def->kind) {

        case S3_PARAM_UNKNOWN:
            s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                        S3_MSG_QUERY_NI, "unknown query parameter");
            s3_req_extra(r, "QueryParameter", p->raw_name.data,
                         p->raw_name.len);
            return S3_ERR_NOT_IMPLEMENTED;

        case S3_PARAM_SUB:
        case S3_PARAM_UPLOAD_ID:
            if (sub_param != NULL) {
                s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED,
                            S3_ERR_NOT_IMPLEMENTED, S3_MSG_QUERY_NI,
                            "several subresources");
                s3_req_extra(r, "QueryParameter", p->raw_name.data,
                             p->raw_name.len);
                return S3_ERR_NOT_IMPLEMENTED;
            }

            sub_param = p;
            sub = p->def->name;

            if (p->def->kind == S3_PARAM_UPLOAD_ID) {
                rc = s3_req_decode_into(r, &r->upload_id, p->raw_value.data,
                                        p->raw_value.len, 1, S3_ID_MAX);
                if (rc != S3_OK) {
                    goto bad_id;
                }

                r->has_upload = 1;
            }

            break;

        case S3_PARAM_VERSION_ID:
            rc = s3_req_decode_into(r, &r->version_id, p->raw_value.data,
                                    p->raw_value.len, 1, S3_ID_MAX);
            if (rc != S3_OK) {
                goto bad_id;
            }

            r->has_version = 1;
            break;

        case S3_PARAM_PART_NUMBER:
            part_param = p;
            break;

        case S3_PARAM_LIST_TYPE:
            list_type = p;
            break;

        case S3_PARAM_SELECT_TYPE:
            select_type = p;
            break;

        case S3_PARAM_ID:
            id_param = p;
            break;

        case S3_PARAM_HARMLESS:
            break;
        }
    }

    if (part_param != NULL) {
        rc = s3_req_part_number(r, part_param);
        if (rc != S3_OK) {
            return rc;
        }
    }

    /* select the operation */

    if (s3_str_eq_lit(m.data, m.len, "OPTIONS")) {
        r->op = S3_OP_OPTIONS_OBJECT;

    } else if (r->bucket.len == 0) {
        if (s3_str_eq_lit(m.data, m.len, "GET") && sub_param == NULL) {
            r->op = S3_OP_LIST_BUCKETS;

        } else if (sub_param != NULL) {
            s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                        S3_MSG_QUERY_NI, "subresource without a bucket");
            s3_req_extra(r, "QueryParameter", sub_param->raw_name.data,
                         sub_param->raw_name.len);
            return S3_ERR_NOT_IMPLEMENTED;

        } else {
            return s3_req_fail(r, S3_CLASS_INVALID,
                               S3_ERR_METHOD_NOT_ALLOWED, NULL,
                               "method not allowed without a bucket");
        }

    } else if (!r->has_key) {
        if (s3_str_eq_lit(m.data, m.len, "HEAD")) {
            r->op = sub_param ? S3_OP_UNKNOWN : S3_OP_HEAD_BUCKET;
            known = sub_param != NULL;

        } else {
            r->op = s3_sub_op(s3_bucket_ops, sub, m, &known);
        }

        if (r->op == S3_OP_LIST_OBJECTS && list_type != NULL) {
            if (!s3_str_eq_lit(list_type->raw_value.data,
                               list_type->raw_value.len, "2"))
            {
                s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                            "Invalid List Type specified",
                            "list-type not 2");
                s3_req_extra_str(r, "ArgumentName", "list-type");
                s3_req_extra(r, "ArgumentValue", list_type->raw_value.data,
                             list_type->raw_value.len);
                return S3_ERR_INVALID_ARGUMENT;
            }

            r->op = S3_OP_LIST_OBJECTS_V2;
            r->list_v2 = 1;
        }

        if (id_param == NULL) {
            switch (r->op) {
            case S3_OP_GET_BUCKET_ANALYTICS:
                r->op = S3_OP_LIST_BUCKET_ANALYTICS;
                break;
            case S3_OP_GET_BUCKET_INTELLIGENT_TIERING:
                r->op = S3_OP_LIST_BUCKET_INTELLIGENT_TIERING;
                break;
            case S3_OP_GET_BUCKET_INVENTORY:
                r->op = S3_OP_LIST_BUCKET_INVENTORY;
                break;
            case S3_OP_GET_BUCKET_METRICS:
                r->op = S3_OP_LIST_BUCKET_METRICS;
                break;
            default:
                break;
            }
        }

    } else {
        if (s3_str_eq_lit(m.data, m.len, "HEAD")) {
            r->op = sub_param ? S3_OP_UNKNOWN : S3_OP_HEAD_OBJECT;
            known = sub_param != NULL;

        } else {
            r->op = s3_sub_op(s3_object_ops, sub, m, &known);
        }
    }

    if (r->op == S3_OP_UNKNOWN) {
        if (!known && sub_param != NULL) {
            s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                        S3_MSG_QUERY_NI, "subresource not at this level");
            s3_req_extra(r, "QueryParameter", sub_param->raw_name.data,
                         sub_param->raw_name.len);
            return S3_ERR_NOT_IMPLEMENTED;
        }

        if (known || s3_str_eq_lit(m.data, m.len, "POST")) {
            return s3_req_fail(r, S3_CLASS_INVALID,
                               S3_ERR_METHOD_NOT_ALLOWED, NULL,
                               "method not allowed on this resource");
        }

        return s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED,
                           S3_ERR_NOT_IMPLEMENTED, NULL, "unknown method");
    }

    if (r->op == S3_OP_SELECT_OBJECT_CONTENT && select_type == NULL) {
        /* S3 wants select-type=2; without it this is nothing S3 knows */
        r->op = S3_OP_UNKNOWN;
        s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                    S3_MSG_QUERY_NI, "select without select-type");
        s3_req_extra_str(r, "QueryParameter", "select");
        return S3_ERR_NOT_IMPLEMENTED;
    }

    /* multipart: PUT ?uploadId needs partNumber, and partNumber uploadId */
    if (r->op == S3_OP_UPLOAD_PART && part_param == NULL) {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT,
                    S3_MSG_PART_NAN, "UploadPart without partNumber");
        s3_req_extra_str(r, "ArgumentName", "partNumber");
        return S3_ERR_INVALID_ARGUMENT;
    }

    if (r->op == S3_OP_PUT_OBJECT && part_param != NULL) {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT, NULL,
                    "partNumber without uploadId");
        s3_req_extra_str(r, "ArgumentName", "uploadId");
        return S3_ERR_INVALID_ARGUMENT;
    }

    if (r->has_upload && r->upload_id.len == 0) {
        s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_NO_SUCH_UPLOAD, NULL,
                    "empty uploadId");
        s3_req_extra(r, "UploadId", r->upload_id.data, 0);
        return S3_ERR_NO_SUCH_UPLOAD;
    }

    if (r->op == S3_OP_PUT_OBJECT || r->op == S3_OP_UPLOAD_PART) {
        if (s3_header_find(in->headers, in->nheaders, "x-amz-copy-source")) {
            r->op = (r->op == S3_OP_PUT_OBJECT) ? S3_OP_COPY_OBJECT
                                                : S3_OP_UPLOAD_PART_COPY;

            rc = s3_req_copy_source(in, r);
            if (rc != S3_OK) {
                return rc;
            }

            if (r->op == S3_OP_UPLOAD_PART_COPY) {
                rc = s3_req_copy_range(in, r);
                if (rc != S3_OK) {
                    return rc;
                }
            }
        }
    }

    r->cls = s3_op_class(r->op);

    if (r->cls == S3_CLASS_NOT_IMPLEMENTED) {
        s3_req_fail(r, S3_CLASS_NOT_IMPLEMENTED, S3_ERR_NOT_IMPLEMENTED,
                    NULL, s3_op_name(r->op));

        if (sub_param != NULL) {
            r->error.message = S3_MSG_QUERY_NI;
            s3_req_extra(r, "QueryParameter", sub_param->raw_name.data,
                         sub_param->raw_name.len);
        }

        return S3_ERR_NOT_IMPLEMENTED;
    }

    return S3_OK;

bad_id:

    if (rc == S3_ERR_INTERNAL) {
        return s3_req_fail(r, S3_CLASS_INVALID, rc, NULL, "request buffer");
    }

    s3_req_fail(r, S3_CLASS_INVALID, S3_ERR_INVALID_ARGUMENT, NULL,
                "version or upload id too long");
    s3_req_extra_str(r, "ArgumentName", params[i].def->name);

    return S3_ERR_INVALID_ARGUMENT;
}


static size_t
s3_arn_put(char *out, size_t cap, size_t at, const void *p, size_t len)
{
    if (at < cap) {
        memcpy(out + at, p, (cap - at < len) ? cap - at : len);
    }

    return at + len;
}


size_t
s3_arn_object(char *out, size_t cap, s3_str_t bucket, s3_str_t key)
{
    size_t  n;

    n = s3_arn_put(out, cap, 0, "arn:aws:s3:::", 13);
    n = s3_arn_put(out, cap, n, bucket.data, bucket.len);
    n = s3_arn_put(out, cap, n, "/", 1);
    n = s3_arn_put(out, cap, n, key.data, key.len);

    if (n < cap) {
        out[n] = '\0';
    }

    return n;
}


size_t
s3_arn_bucket(char *out, size_t cap, s3_str_t bucket)
{
    size_t  n;

    n = s3_arn_put(out, cap, 0, "arn:aws:s3:::", 13);
    n = s3_arn_put(out, cap, n, bucket.data, bucket.len);

    if (n < cap) {
        out[n] = '\0';
    }

    return n;
}
