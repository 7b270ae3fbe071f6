/*
 * SSE header rules and encryption contexts.  See s3_sse.h.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kms_crypto.h"
#include "s3_sse.h"


#define S3_MSG_SSE_UNSUPPORTED                                              \
    "The encryption method specified is not supported"
#define S3_MSG_SSE_NOT_FOR_OP                                               \
    "x-amz-server-side-encryption header is not supported for this "        \
    "operation."
#define S3_MSG_SSE_REQUIRES_KMS                                             \
    "Server Side Encryption with AWS KMS managed key requires HTTP header " \
    "x-amz-server-side-encryption : aws:kms"
#define S3_MSG_SSEC_CONFLICT                                                \
    "Server Side Encryption with Customer provided key is incompatible "    \
    "with the encryption method specified"
#define S3_MSG_CONTEXT                                                      \
    "The header 'x-amz-server-side-encryption-context' shall be "           \
    "Base64-encoded UTF-8 string holding JSON which represents a "          \
    "string-string map"
#define S3_MSG_BUCKET_KEY                                                   \
    "The header 'x-amz-server-side-encryption-bucket-key-enabled' shall "   \
    "be true or false"
#define S3_MSG_SSEK_RESERVED                                                \
    "Metadata names starting with ssek- are reserved by the encryption "    \
    "gateway"
#define S3_MSG_HEADER_NI                                                    \
    "A header you provided implies functionality that is not implemented"

#define S3_HDR_SSE       "x-amz-server-side-encryption"
#define S3_HDR_KEY_ID    "x-amz-server-side-encryption-aws-kms-key-id"
#define S3_HDR_CONTEXT   "x-amz-server-side-encryption-context"
#define S3_HDR_BK        "x-amz-server-side-encryption-bucket-key-enabled"
#define S3_HDR_SSEC      "x-amz-server-side-encryption-customer-"
#define S3_HDR_COPY_SSEC "x-amz-copy-source-server-side-encryption-customer-"


typedef struct {
    const s3_header_t   *sse;
    const s3_header_t   *key_id;
    const s3_header_t   *context;
    const s3_header_t   *bucket_key;
    const s3_header_t   *ssec;
    const s3_header_t   *copy_ssec;
    const s3_header_t   *checksum_type;
    const s3_header_t   *checksum_value;
    const s3_header_t   *directive;
    const s3_header_t   *ssek;
    unsigned             dup_sse:1;
    unsigned             dup_key_id:1;
    unsigned             dup_context:1;
    unsigned             dup_bucket_key:1;
} s3_sse_headers_t;


static int s3_sse_lower(int c);
static int s3_sse_caseeq(const unsigned char *a, size_t alen, const char *b);
static int s3_sse_caseeq_n(const unsigned char *a, const unsigned char *b,
    size_t n);
static int s3_sse_caseprefix(const unsigned char *a, size_t alen,
    const char *b);
static s3_err_t s3_sse_fail(s3_sse_t *out, s3_err_t err, const char *msg,
    const char *reason);
static void s3_sse_extra(s3_sse_t *out, const char *name,
    const unsigned char *data, size_t len);
static void s3_sse_extra_str(s3_sse_t *out, const char *name, const char *s);
static void s3_sse_scan(const s3_header_t *h, size_t n, s3_sse_headers_t *s,
    size_t *meta);
static s3_err_t s3_sse_not_impl(s3_sse_t *out, const s3_header_t *h,
    const char *reason);
static s3_err_t s3_sse_common(s3_op_t op, const s3_sse_headers_t *s,
    s3_sse_t *out);
static s3_err_t s3_sse_write(s3_op_t op, const s3_sse_headers_t *s,
    s3_sse_t *out);
static s3_err_t s3_sse_refused(const s3_sse_headers_t *s, s3_sse_t *out);
static long s3_json_string(const unsigned char *p, size_t len, size_t *pos,
    unsigned char *out, size_t cap);
static size_t s3_json_escape(unsigned char *out, size_t cap, size_t at,
    s3_str_t s);
static int s3_str_cmp(s3_str_t a, s3_str_t b);


static int
s3_sse_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


static int
s3_sse_caseeq(const unsigned char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && s3_sse_caseprefix(a, alen, b);
}


static int
s3_sse_caseeq_n(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s3_sse_lower(a[i]) != s3_sse_lower(b[i])) {
            return 0;
        }
    }

    return 1;
}


static int
s3_sse_caseprefix(const unsigned char *a, size_t alen, const char *b)
{
    size_t  i, n;

    n = strlen(b);

    if (alen < n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (s3_sse_lower(a[i]) != s3_sse_lower((unsigned char) b[i])) {
            return 0;
        }
    }

    return 1;
}


static s3_err_t
s3_sse_fail(s3_sse_t *out, s3_err_t err, const char *msg, const char *reason)
{
    out->error.err = err;
    out->error.message = msg;
    out->error.reason = reason;

    return err;
}


static void
s3_sse_extra(s3_sse_t *out, const char *name, const unsigned char *data,
    size_t len)
{
    if (out->error.nextra < S3_ERROR_MAX_EXTRA) {
        out->error.extra[out->error.nextra].name = name;
        out->error.extra[out->error.nextra].value.data = data;
        out->error.extra[out->error.nextra].value.len = len;
        out->error.nextra++;
    }
}


static void
s3_sse_extra_str(s3_sse_t *out, const char *name, const char *s)
{
    s3_sse_extra(out, name, (const unsigned char *) s, strlen(s));
}


const char *
s3_sse_mode_name(s3_sse_mode_t m)
{
    switch (m) {
    case S3_SSE_NONE:   return "none";
    case S3_SSE_AES256: return "AES256";
    case S3_SSE_KMS:    return "aws:kms";
    }

    return "?";
}


size_t
s3_sse_meta_entry_size(size_t name_len_after_prefix, size_t value_len)
{
    return name_len_after_prefix + value_len;
}


void
s3_sse_meta_error(s3_error_t *e, size_t size, char *num)
{
    int  n;

    memset(e, 0, sizeof(*e));

    n = snprintf(num, 24, "%zu", size);

    e->err = S3_ERR_METADATA_TOO_LARGE;
    e->reason = "user metadata over 2 KB";
    e->extra[0].name = "Size";
    e->extra[0].value.data = (const unsigned char *) num;
    e->extra[0].value.len = n > 0 ? (size_t) n : 0;
    e->extra[1].name = "MaxSizeAllowed";
    e->extra[1].value.data = (const unsigned char *) "2048";
    e->extra[1].value.len = 4;
    e->nextra = 2;
}


static void
s3_sse_scan(const s3_header_t *h, size_t n, s3_sse_headers_t *s, size_t *meta)
{
    size_t               i, j, plen;
    const unsigned char *name;
    size_t               len;
    int                  dup;

    plen = sizeof(S3_META_PREFIX) - 1;
    *meta = 0;

    for (i = 0; i < n; i++) {
        name = h[i].name.data;
        len = h[i].name.len;

        if (s3_sse_caseeq(name, len, S3_HDR_SSE)) {
            s->dup_sse |= s->sse != NULL;
            s->sse = &h[i];

        } else if (s3_sse_caseeq(name, len, S3_HDR_KEY_ID)) {
            s->dup_key_id |= s->key_id != NULL;
            s->key_id = &h[i];

        } else if (s3_sse_caseeq(name, len, S3_HDR_CONTEXT)) {
            s->dup_context |= s->context != NULL;
            s->context = &h[i];

        } else if (s3_sse_caseeq(name, len, S3_HDR_BK)) {
            s->dup_bucket_key |= s->bucket_key != NULL;
            s->bucket_key = &h[i];

        } else if (s3_sse_caseprefix(name, len, S3_HDR_SSEC)) {
            if (s->ssec == NULL) {
                s->ssec = &h[i];
            }

        } else if (s3_sse_caseprefix(name, len, S3_HDR_COPY_SSEC)) {
            if (s->copy_ssec == NULL) {
                s->copy_ssec = &h[i];
            }

        } else if (s3_sse_caseeq(name, len, "x-amz-checksum-type")) {
            s->checksum_type = &h[i];

        } else if (s3_sse_caseprefix(name, len, "x-amz-checksum-")
                   && !s3_sse_caseeq(name, len, "x-amz-checksum-algorithm")
                   && !s3_sse_caseeq(name, len, "x-amz-checksum-mode"))
        {
            if (s->checksum_value == NULL) {
                s->checksum_value = &h[i];
            }

        } else if (s3_sse_caseeq(name, len, "x-amz-metadata-directive")) {
            s->directive = &h[i];

        } else if (s3_sse_caseprefix(name, len, S3_META_PREFIX)) {
            if (s3_sse_caseprefix(name, len, S3_SSEK_META_PREFIX)
                && s->ssek == NULL)
            {
                s->ssek = &h[i];
            }

            /* S3 joins repeated names with ',' and counts the name once */
            dup = 0;

            for (j = 0; j < i; j++) {
                if (h[j].name.len == len
                    && s3_sse_caseeq_n(h[j].name.data, name, len))
                {
                    dup = 1;
                    break;
                }
            }

            if (dup) {
                *meta += h[i].value.len + 1;

            } else {
                *meta += s3_sse_meta_entry_size(len - plen, h[i].value.len);
            }
        }
    }
}


static s3_err_t
s3_sse_not_impl(s3_sse_t *out, const s3_header_t *h, const char *reason)
{
    s3_sse_fail(out, S3_ERR_NOT_IMPLEMENTED, S3_MSG_HEADER_NI, reason);
    s3_sse_extra(out, "Header", h->name.data, h->name.len);

    return S3_ERR_NOT_IMPLEMENTED;
}


/* SSE-C and full-object checksums, for every operation that takes them */
static s3_err_t
s3_sse_common(s3_op_t op, const s3_sse_headers_t *s, s3_sse_t *out)
{
    if (s->ssec != NULL) {
        if (s->sse != NULL
            && (op == S3_OP_PUT_OBJECT || op == S3_OP_COPY_OBJECT
                || op == S3_OP_CREATE_MULTIPART_UPLOAD))
        {
            s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSEC_CONFLICT,
                        "SSE-C with x-amz-server-side-encryption");
            s3_sse_extra_str(out, "ArgumentName", S3_HDR_SSE);
            s3_sse_extra(out, "ArgumentValue", s->sse->value.data,
                         s->sse->value.len);
            return S3_ERR_INVALID_ARGUMENT;
        }

        return s3_sse_not_impl(out, s->ssec, "SSE-C");
    }

    if (s->copy_ssec != NULL
        && (op == S3_OP_COPY_OBJECT || op == S3_OP_UPLOAD_PART_COPY))
    {
        return s3_sse_not_impl(out, s->copy_ssec, "SSE-C copy source");
    }

    if (op == S3_OP_CREATE_MULTIPART_UPLOAD
        || op == S3_OP_COMPLETE_MULTIPART_UPLOAD)
    {
        /*
         * A full-object checksum of a multipart object is computed by the
         * backend over what it stores: ciphertext.
         */
        if (s->checksum_type != NULL
            && s3_sse_caseeq(s->checksum_type->value.data,
                             s->checksum_type->value.len, "FULL_OBJECT"))
        {
            return s3_sse_not_impl(out, s->checksum_type,
                                   "full-object checksum of a multipart "
                                   "upload");
        }

        if (op == S3_OP_COMPLETE_MULTIPART_UPLOAD
            && s->checksum_value != NULL)
        {
            return s3_sse_not_impl(out, s->checksum_value,
                                   "object checksum on "
                                   "CompleteMultipartUpload");
        }
    }

    return S3_OK;
}


/* operations that take no SSE headers but SSE-C */
static s3_err_t
s3_sse_refused(const s3_sse_headers_t *s, s3_sse_t *out)
{
    if (s->sse != NULL) {
        s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSE_NOT_FOR_OP,
                    "SSE header on an operation that takes none");
        s3_sse_extra_str(out, "ArgumentName", S3_HDR_SSE);
        s3_sse_extra(out, "ArgumentValue", s->sse->value.data,
                     s->sse->value.len);
        return S3_ERR_INVALID_ARGUMENT;
    }

    if (s->key_id != NULL) {
        s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSE_REQUIRES_KMS,
                    "KMS key id on an operation that takes none");
        s3_sse_extra_str(out, "ArgumentName", S3_HDR_SSE);
        return S3_ERR_INVALID_ARGUMENT;
    }

    return S3_OK;
}


static s3_err_t
s3_sse_write(s3_op_t op, const s3_sse_headers_t *s, s3_sse_t *out)
{
    const s3_header_t  *h;
    s3_str_t            v;

    if (s->ssek != NULL) {
        s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSEK_RESERVED,
                    "client sent x-amz-meta-ssek-*");
        s3_sse_extra(out, "ArgumentName", s->ssek->name.data,
                     s->ssek->name.len);
        s3_sse_extra(out, "ArgumentValue", s->ssek->value.data,
                     s->ssek->value.len);
        return S3_ERR_INVALID_ARGUMENT;
    }

    if (s->sse != NULL) {
        v = s->sse->value;

        if (s->dup_sse) {
            /* S3 would read "a,b": no method it knows */
            goto unsupported;

        } else if (v.len == 6 && memcmp(v.data, "AES256", 6) == 0) {
            out->mode = S3_SSE_AES256;

        } else if (v.len == 7 && memcmp(v.data, "aws:kms", 7) == 0) {
            out->mode = S3_SSE_KMS;

        } else if (v.len == 12 && memcmp(v.data, "aws:kms:dsse", 12) == 0) {
            return s3_sse_not_impl(out, s->sse, "DSSE-KMS");

        } else {
            goto unsupported;
        }
    }

    h = s->key_id ? s->key_id : s->context;

    if (h != NULL && out->mode != S3_SSE_KMS) {
        s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSE_REQUIRES_KMS,
                    "KMS header without aws:kms");
        s3_sse_extra(out, "ArgumentName", h->name.data, h->name.len);
        s3_sse_extra(out, "ArgumentValue", h->value.data, h->value.len);
        return S3_ERR_INVALID_ARGUMENT;
    }

    if (s->key_id != NULL) {
        if (s->dup_key_id) {
            s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, NULL,
                        "KMS key id header repeated");
            s3_sse_extra_str(out, "ArgumentName", S3_HDR_KEY_ID);
            return S3_ERR_INVALID_ARGUMENT;
        }

        out->key_id = s->key_id->value;
        out->has_key_id = 1;
    }

    if (s->context != NULL) {
        out->has_context = 1;

        if (s->dup_context || s->context->value.len > S3_SSE_CTX_HDR_MAX
            || s3_sse_ctx_decode(s->context->value.data,
                                 s->context->value.len, &out->ctx)
               != S3_OK)
        {
            out->ctx.npairs = 0;
            out->ctx.json.len = 0;
            s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_CONTEXT,
                        "bad encryption context");
            s3_sse_extra_str(out, "ArgumentName", S3_HDR_CONTEXT);
            return S3_ERR_INVALID_ARGUMENT;
        }
    }

    if (s->bucket_key != NULL) {
        v = s->bucket_key->value;

        if (!s->dup_bucket_key && s3_sse_caseeq(v.data, v.len, "true")) {
            out->bucket_key = 1;

        } else if (!s->dup_bucket_key
                   && s3_sse_caseeq(v.data, v.len, "false"))
        {
            out->bucket_key = 0;

        } else {
            s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_BUCKET_KEY,
                        "bad bucket-key-enabled value");
            s3_sse_extra_str(out, "ArgumentName", S3_HDR_BK);
            s3_sse_extra(out, "ArgumentValue", v.data, v.len);
            return S3_ERR_INVALID_ARGUMENT;
        }

        /* S3 Bucket Keys are an SSE-KMS feature: SSE-S3 ignores the flag */
        if (out->mode == S3_SSE_AES256) {
            out->bucket_key = -1;
        }
    }

    if (op == S3_OP_COPY_OBJECT) {
        out->meta_replace = s->directive != NULL
                            && s->directive->value.len == 7
                            && memcmp(s->directive->value.data, "REPLACE", 7)
                               == 0;
    }

    if (out->meta_size > S3_META_MAX
        && (op != S3_OP_COPY_OBJECT || out->meta_replace))
    {
        s3_sse_meta_error(&out->error, out->meta_size, out->num[0]);
        return S3_ERR_METADATA_TOO_LARGE;
    }

    return S3_OK;

unsupported:

    s3_sse_fail(out, S3_ERR_INVALID_ARGUMENT, S3_MSG_SSE_UNSUPPORTED,
                "unsupported x-amz-server-side-encryption value");
    s3_sse_extra_str(out, "ArgumentName", S3_HDR_SSE);
    s3_sse_extra(out, "ArgumentValue", v.data, v.len);

    return S3_ERR_INVALID_ARGUMENT;
}


s3_err_t
s3_sse_parse(s3_op_t op, const s3_header_t *headers, size_t n, s3_sse_t *out)
{
    s3_err_t          rc;
    s3_sse_headers_t  s;

    memset(out, 0, offsetof(s3_sse_t, ctx));
    memset(&out->ctx, 0, offsetof(s3_sse_ctx_t, pairs_buf));
    memset(&out->error, 0, sizeof(out->error));

    out->mode = S3_SSE_NONE;
    out->bucket_key = -1;

    memset(&s, 0, sizeof(s));
    s3_sse_scan(headers, n, &s, &out->meta_size);

    switch (op) {

    case S3_OP_PUT_OBJECT:
    case S3_OP_COPY_OBJECT:
    case S3_OP_CREATE_MULTIPART_UPLOAD:
        rc = s3_sse_common(op, &s, out);
        if (rc != S3_OK) {
            return rc;
        }

        return s3_sse_write(op, &s, out);

    case S3_OP_UPLOAD_PART:
    case S3_OP_UPLOAD_PART_COPY:
    case S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case S3_OP_GET_OBJECT:
    case S3_OP_HEAD_OBJECT:
        rc = s3_sse_common(op, &s, out);
        if (rc != S3_OK) {
            return rc;
        }

        return s3_sse_refused(&s, out);

    case S3_OP_LIST_PARTS:
    case S3_OP_GET_OBJECT_ATTRIBUTES:
    case S3_OP_SELECT_OBJECT_CONTENT:
        return s3_sse_common(op, &s, out);

    default:
        return S3_OK;
    }
}


/* ---- encryption contexts ------------------------------------------- */


/*
 * Reads a JSON string at p[*pos] (the opening quote) into out; returns
 * its decoded length or -1.  Refuses \u0000 and unpaired surrogates.
 */
static long
s3_json_string(const unsigned char *p, size_t len, size_t *pos,
    unsigned char *out, size_t cap)
{
    size_t    i, n, k;
    uint32_t  cp, lo;
    int       d;

    i = *pos;
    n = 0;

    if (i >= len || p[i] != '"') {
        return -1;
    }

    i++;

    for ( ;; ) {
        unsigned char  c;

        if (i >= len) {
            return -1;
        }

        c = p[i++];

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c != '\\') {
            if (n >= cap) {
                return -1;
            }

            out[n++] = c;
            continue;
        }

        if (i >= len) {
            return -1;
        }

        c = p[i++];

        switch (c) {
        case '"':  case '\\':  case '/':
            break;
        case 'b':  c = '\b'; break;
        case 'f':  c = '\f'; break;
        case 'n':  c = '\n'; break;
        case 'r':  c = '\r'; break;
        case 't':  c = '\t'; break;

        case 'u':
            cp = 0;

            for (k = 0; k < 4; k++) {
                if (i >= len) {
                    return -1;
                }

                d = p[i++];
                d = (d >= '0' && d <= '9') ? d - '0'
                    : (d >= 'a' && d <= 'f') ? d - 'a' + 10
                    : (d >= 'A' && d <= 'F') ? d - 'A' + 10 : -1;

                if (d < 0) {
                    return -1;
                }

                cp = cp << 4 | (uint32_t) d;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (len - i < 6 || p[i] != '\\' || p[i + 1] != 'u') {
                    return -1;
                }

                i += 2;
                lo = 0;

                for (k = 0; k < 4; k++) {
                    d = p[i++];
                    d = (d >= '0' && d <= '9') ? d - '0'
                        : (d >= 'a' && d <= 'f') ? d - 'a' + 10
                        : (d >= 'A' && d <= 'F') ? d - 'A' + 10 : -1;

                    if (d < 0) {
                        return -1;
                    }

                    lo = lo << 4 | (uint32_t) d;
                }

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return -1;
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }

            if (cp == 0) {
                return -1;
            }

            if (cap - n < 4) {
                return -1;
            }

            if (cp < 0x80) {
                out[n++] = (unsigned char) cp;

            } else if (cp < 0x800) {
                out[n++] = (unsigned char) (0xc0 | cp >> 6);
                out[n++] = (unsigned char) (0x80 | (cp & 0x3f));

            } else if (cp < 0x10000) {
                out[n++] = (unsigned char) (0xe0 | cp >> 12);
                out[n++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                out[n++] = (unsigned char) (0x80 | (cp & 0x3f));

            } else {
                out[n++] = (unsigned char) (0xf0 | cp >> 18);
                out[n++] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
                out[n++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                out[n++] = (unsigned char) (0x80 | (cp & 0x3f));
            }

            continue;

        default:
            return -1;
        }

        if (n >= cap) {
            return -1;
        }

        out[n++] = c;
    }

    *pos = i;

    if (!s3_utf8_valid(out, n)) {
        return -1;
    }

    return (long) n;
}


static int
s3_str_cmp(s3_str_t a, s3_str_t b)
{
    size_t  n;
    int     c;

    n = a.len < b.len ? a.len : b.len;
    c = n ? memcmp(a.data, b.data, n) : 0;

    if (c != 0) {
        return c;
    }

    return (a.len > b.len) - (a.len < b.len);
}


static size_t
s3_json_escape(unsigned char *out, size_t cap, size_t at, s3_str_t s)
{
    size_t         i, k, n;
    unsigned char  e[6];

    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < s.len; i++) {
        unsigned char  c = s.data[i];

        n = 0;

        switch (c) {
        case '"':  e[n++] = '\\'; e[n++] = '"'; break;
        case '\\': e[n++] = '\\'; e[n++] = '\\'; break;
        case '\b': e[n++] = '\\'; e[n++] = 'b'; break;
        case '\f': e[n++] = '\\'; e[n++] = 'f'; break;
        case '\n': e[n++] = '\\'; e[n++] = 'n'; break;
        case '\r': e[n++] = '\\'; e[n++] = 'r'; break;
        case '\t': e[n++] = '\\'; e[n++] = 't'; break;

        default:
            if (c < 0x20) {
                e[n++] = '\\'; e[n++] = 'u'; e[n++] = '0'; e[n++] = '0';
                e[n++] = (unsigned char) hex[c >> 4];
                e[n++] = (unsigned char) hex[c & 15];

            } else {
                e[n++] = c;
            }
        }

        for (k = 0; k < n; k++, at++) {
            if (at < cap) {
                out[at] = e[k];
            }
        }
    }

    return at;
}


s3_err_t
s3_sse_ctx_parse_json(const unsigned char *json, size_t len,
    s3_sse_ctx_t *ctx)
{
    size_t    i, j, pos, used, at, cap;
    long      kl, vl;
    s3_str_t  tk, tv;

#define S3_JSON_WS()                                                        \
    while (pos < len && (json[pos] == ' ' || json[pos] == '\t'              \
                         || json[pos] == '\n' || json[pos] == '\r'))        \
    {                                                                       \
        pos++;                                                              \
    }

    ctx->npairs = 0;
    ctx->json.len = 0;
    ctx->json.data = ctx->json_buf;

    pos = 0;
    used = 0;

    S3_JSON_WS();

    if (pos >= len || json[pos] != '{') {
        return S3_ERR_INVALID_ARGUMENT;
    }

    pos++;
    S3_JSON_WS();

    if (pos < len && json[pos] == '}') {
        pos++;
        goto done;
    }

    for ( ;; ) {
        if (ctx->npairs == S3_SSE_CTX_MAX_PAIRS) {
            return S3_ERR_INVALID_ARGUMENT;
        }

        kl = s3_json_string(json, len, &pos, ctx->pairs_buf + used,
                            sizeof(ctx->pairs_buf) - used);
        if (kl <= 0) {
            return S3_ERR_INVALID_ARGUMENT;
        }

        ctx->keys[ctx->npairs].data = ctx->pairs_buf + used;
        ctx->keys[ctx->npairs].len = (size_t) kl;
        used += (size_t) kl;

        /* aws: is AWS's; aws:s3:arn is added by the gateway itself */
        if (s3_sse_caseprefix(ctx->keys[ctx->npairs].data, (size_t) kl,
                              "aws:"))
        {
            return S3_ERR_INVALID_ARGUMENT;
        }

        S3_JSON_WS();

        if (pos >= len || json[pos] != ':') {
            return S3_ERR_INVALID_ARGUMENT;
        }

        pos++;
        S3_JSON_WS();

        vl = s3_json_string(json, len, &pos, ctx->pairs_buf + used,
                            sizeof(ctx->pairs_buf) - used);
        if (vl < 0) {
            return S3_ERR_INVALID_ARGUMENT;
        }

        ctx->values[ctx->npairs].data = ctx->pairs_buf + used;
        ctx->values[ctx->npairs].len = (size_t) vl;
        used += (size_t) vl;
        ctx->npairs++;

        S3_JSON_WS();

        if (pos < len && json[pos] == ',') {
            pos++;
            S3_JSON_WS();
            continue;
        }

        if (pos < len && json[pos] == '}') {
            pos++;
            break;
        }

        return S3_ERR_INVALID_ARGUMENT;
    }

done:

    S3_JSON_WS();

#undef S3_JSON_WS

    if (pos != len) {
        return S3_ERR_INVALID_ARGUMENT;
    }

    /* sort by key bytes; a repeated key is refused */
    for (i = 1; i < ctx->npairs; i++) {
        tk = ctx->keys[i];
        tv = ctx->values[i];

        for (j = i; j > 0 && s3_str_cmp(ctx->keys[j - 1], tk) > 0; j--) {
            ctx->keys[j] = ctx->keys[j - 1];
            ctx->values[j] = ctx->values[j - 1];
        }

        ctx->keys[j] = tk;
        ctx->values[j] = tv;
    }

    for (i = 1; i < ctx->npairs; i++) {
        if (s3_str_cmp(ctx->keys[i - 1], ctx->keys[i]) == 0) {
            ctx->npairs = 0;
            return S3_ERR_INVALID_ARGUMENT;
        }
    }

    if (ctx->npairs == 0) {
        return S3_OK;
    }

    /* the canonical form; the input may have been in json_buf: it is read */
    cap = sizeof(ctx->json_buf);
    at = 0;

    if (at < cap) {
        ctx->json_buf[at] = '{';
    }

    at++;

    for (i = 0; i < ctx->npairs; i++) {
        if (i) {
            if (at < cap) {
                ctx->json_buf[at] = ',';
            }

            at++;
        }

        if (at < cap) {
            ctx->json_buf[at] = '"';
        }

        at++;
        at = s3_json_escape(ctx->json_buf, cap, at, ctx->keys[i]);

        if (at + 3 <= cap) {
            memcpy(ctx->json_buf + at, "\":\"", 3);
        }

        at += 3;
        at = s3_json_escape(ctx->json_buf, cap, at, ctx->values[i]);

        if (at < cap) {
            ctx->json_buf[at] = '"';
        }

        at++;
    }

    if (at < cap) {
        ctx->json_buf[at] = '}';
    }

    at++;

    if (at > cap) {
        ctx->npairs = 0;
        return S3_ERR_INVALID_ARGUMENT;
    }

    ctx->json.data = ctx->json_buf;
    ctx->json.len = at;

    return S3_OK;
}


s3_err_t
s3_sse_ctx_decode(const unsigned char *b64, size_t len, s3_sse_ctx_t *ctx)
{
    long      n;
    s3_err_t  rc;

    ctx->npairs = 0;
    ctx->json.len = 0;

    if (len == 0 || len > S3_SSE_CTX_HDR_MAX) {
        return S3_ERR_INVALID_ARGUMENT;
    }

    /*
     * The JSON is decoded into json_buf, parsed into pairs_buf, and only
     * then is the canonical form written over it.
     */
    n = kms_base64_decode((const char *) b64, len, ctx->json_buf,
                          sizeof(ctx->json_buf));
    if (n <= 0) {
        return S3_ERR_INVALID_ARGUMENT;
    }

    rc = s3_sse_ctx_parse_json(ctx->json_buf, (size_t) n, ctx);

    if (rc != S3_OK) {
        ctx->npairs = 0;
        ctx->json.len = 0;
    }

    return rc;
}
