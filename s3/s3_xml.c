/*
 * S3 XML with libxml2.  See s3_xml.h.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "s3_xml.h"
#include "s3_xml_dom.h"


#define S3_MSG_KMS_KEY_NOT_APPLICABLE                                       \
    "a KMSMasterKeyID is not applicable if the default sse algorithm is "   \
    "not aws:kms or aws:kms:dsse"
#define S3_MSG_HEADER_NI                                                    \
    "A header you provided implies functionality that is not implemented"

#define S3_XML_DECL  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"


/* bump allocator over one block; text out of a document never outgrows it */
typedef struct {
    unsigned char  *base;
    size_t          used;
    size_t          cap;
} s3_arena_t;

/* where a listing entry's Size text and checksum elements are */
typedef struct {
    size_t          start;
    size_t          end;
} s3_range_t;

#define S3_LIST_MAX_CK  8

typedef struct {
    xmlNodePtr      size_node;
    xmlNodePtr      ck_node[S3_LIST_MAX_CK];
    size_t          nck;
    s3_range_t      size_at;            /* text of <Size> in the source */
    s3_range_t      ck_at[S3_LIST_MAX_CK];
    size_t          nck_at;
    unsigned        has_size_at:1;
} s3_list_node_t;

typedef struct {
    xmlDocPtr        doc;
    unsigned char   *src;               /* a copy of the backend's bytes */
    size_t           len;
    s3_list_node_t  *nodes;
    unsigned         spliceable:1;
    s3_arena_t       arena;
} s3_list_priv_t;


static size_t s3_put(unsigned char *out, size_t cap, size_t at,
    const void *p, size_t len);
static size_t s3_put_str(unsigned char *out, size_t cap, size_t at,
    const char *s);
static size_t s3_put_elem(unsigned char *out, size_t cap, size_t at,
    const char *name, const unsigned char *v, size_t len);
static s3_err_t s3_xml_fail(s3_error_t *e, s3_err_t err, const char *msg,
    const char *reason);
static int s3_xml_has_dtd_text(const unsigned char *xml, size_t len);
static int s3_xml_is(xmlNodePtr n, const char *name);
static int s3_xml_ns_ok(xmlNodePtr n);
static int s3_arena_init(s3_arena_t *a, size_t cap);
static int s3_xml_text(xmlNodePtr n, s3_arena_t *a, s3_str_t *out);
static void s3_xml_trim(s3_str_t *s);
static int s3_xml_bool(s3_str_t s, unsigned *v);
static int s3_xml_int(s3_str_t s, int64_t *v);
static long s3_url_decode(unsigned char *out, const unsigned char *in,
    size_t len);
static int s3_list_scan(s3_list_priv_t *p, s3_xml_list_t *l);
static s3_err_t s3_list_write_splice(s3_xml_list_t *l, unsigned flags,
    unsigned char **out, size_t *outlen);
static s3_err_t s3_list_write_dom(s3_xml_list_t *l, unsigned flags,
    unsigned char **out, size_t *outlen);


static const char  *s3_ck_names[S3_XML_CK_MAX] = {
    "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME",
    "ChecksumSHA1", "ChecksumSHA256"
};


const char *
s3_xml_checksum_name(s3_xml_checksum_t k)
{
    return (unsigned) k < S3_XML_CK_MAX ? s3_ck_names[k] : "";
}


/* ---- writing --------------------------------------------------------- */


static size_t
s3_put(unsigned char *out, size_t cap, size_t at, const void *p, size_t len)
{
    if (at < cap && len) {
        memcpy(out + at, p, (cap - at < len) ? cap - at : len);
    }

    return at + len;
}


static size_t
s3_put_str(unsigned char *out, size_t cap, size_t at, const char *s)
{
    return s3_put(out, cap, at, s, strlen(s));
}


size_t
s3_xml_escape(unsigned char *out, size_t cap, const unsigned char *in,
    size_t len)
{
    size_t       i, at;
    const char  *e;
    char         ref[8];

    at = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = in[i];

        switch (c) {
        case '&':  e = "&amp;";  break;
        case '<':  e = "&lt;";   break;
        case '>':  e = "&gt;";   break;
        case '"':  e = "&quot;"; break;
        case '\'': e = "&apos;"; break;

        default:
            if (c < 0x20 && c != '\t' && c != '\n') {
                snprintf(ref, sizeof(ref), "&#x%X;", c);
                e = ref;

            } else {
                if (at < cap) {
                    out[at] = c;
                }

                at++;
                continue;
            }
        }

        at = s3_put_str(out, cap, at, e);
    }

    return at;
}


static size_t
s3_put_elem(unsigned char *out, size_t cap, size_t at, const char *name,
    const unsigned char *v, size_t len)
{
    at = s3_put_str(out, cap, at, "<");
    at = s3_put_str(out, cap, at, name);
    at = s3_put_str(out, cap, at, ">");
    at += s3_xml_escape(at < cap ? out + at : NULL, at < cap ? cap - at : 0,
                        v, len);
    at = s3_put_str(out, cap, at, "</");
    at = s3_put_str(out, cap, at, name);
    at = s3_put_str(out, cap, at, ">");

    return at;
}


size_t
s3_xml_error(unsigned char *out, size_t cap, const s3_error_t *e,
    s3_str_t request_id, s3_str_t host_id)
{
    size_t       i, at;
    const char  *code, *msg;

    code = s3_err_code(e->err);
    msg = e->message ? e->message : s3_err_message(e->err);

    at = s3_put_str(out, cap, 0, S3_XML_DECL "<Error>");
    at = s3_put_elem(out, cap, at, "Code", (const unsigned char *) code,
                     strlen(code));
    at = s3_put_elem(out, cap, at, "Message", (const unsigned char *) msg,
                     strlen(msg));

    for (i = 0; i < e->nextra && i < S3_ERROR_MAX_EXTRA; i++) {
        at = s3_put_elem(out, cap, at, e->extra[i].name,
                         e->extra[i].value.data, e->extra[i].value.len);
    }

    if (request_id.data != NULL) {
        at = s3_put_elem(out, cap, at, "RequestId", request_id.data,
                         request_id.len);
    }

    if (host_id.data != NULL) {
        at = s3_put_elem(out, cap, at, "HostId", host_id.data, host_id.len);
    }

    return s3_put_str(out, cap, at, "</Error>");
}


size_t
s3_xml_sse_config_write(unsigned char *out, size_t cap,
    const s3_xml_sse_config_t *c)
{
    size_t       at;
    const char  *alg;

    alg = (c->algorithm == S3_XML_SSE_KMS) ? "aws:kms" : "AES256";

    at = s3_put_str(out, cap, 0, S3_XML_DECL
                    "<ServerSideEncryptionConfiguration xmlns=\""
                    S3_XML_NS "\"><Rule>"
                    "<ApplyServerSideEncryptionByDefault>");
    at = s3_put_elem(out, cap, at, "SSEAlgorithm",
                     (const unsigned char *) alg, strlen(alg));

    if (c->algorithm == S3_XML_SSE_KMS && c->key_id_len) {
        at = s3_put_elem(out, cap, at, "KMSMasterKeyID",
                         (const unsigned char *) c->key_id, c->key_id_len);
    }

    at = s3_put_str(out, cap, at, "</ApplyServerSideEncryptionByDefault>");
    at = s3_put_str(out, cap, at, c->bucket_key
                    ? "<BucketKeyEnabled>true</BucketKeyEnabled>"
                    : "<BucketKeyEnabled>false</BucketKeyEnabled>");

    if (c->has_blocked) {
        at = s3_put_str(out, cap, at, "<BlockedEncryptionTypes>");

        if (c->blocked_none) {
            at = s3_put_str(out, cap, at,
                            "<EncryptionType>NONE</EncryptionType>");
        }

        if (c->blocked_sse_c) {
            at = s3_put_str(out, cap, at,
                            "<EncryptionType>SSE-C</EncryptionType>");
        }

        at = s3_put_str(out, cap, at, "</BlockedEncryptionTypes>");
    }

    return s3_put_str(out, cap, at,
                      "</Rule></ServerSideEncryptionConfiguration>");
}


/* ---- reading --------------------------------------------------------- */


static s3_err_t
s3_xml_fail(s3_error_t *e, s3_err_t err, const char *msg, const char *reason)
{
    if (e != NULL) {
        e->err = err;
        e->message = msg;
        e->reason = reason;
    }

    return err;
}


/*
 * A DOCTYPE is refused before libxml2 sees it: no internal subset, no
 * entity declaration, nothing that could expand or fetch.  "<!" outside
 * comments and CDATA sections is nothing else.
 */
static int
s3_xml_has_dtd_text(const unsigned char *xml, size_t len)
{
    size_t  i;

    for (i = 0; i + 1 < len; i++) {
        if (xml[i] != '<' || xml[i + 1] != '!') {
            continue;
        }

        if (len - i >= 4 && memcmp(xml + i, "<!--", 4) == 0) {
            continue;
        }

        if (len - i >= 9 && memcmp(xml + i, "<![CDATA[", 9) == 0) {
            continue;
        }

        return 1;
    }

    return 0;
}


s3_err_t
s3_xml_read(const unsigned char *xml, size_t len, unsigned flags,
    xmlDocPtr *doc)
{
    xmlParserCtxtPtr  ctxt;
    xmlDocPtr         d;
    int               ok;

    *doc = NULL;

    if (len == 0 || len > 0x7fffffff || memchr(xml, '\0', len) != NULL
        || s3_xml_has_dtd_text(xml, len))
    {
        return S3_ERR_MALFORMED_XML;
    }

    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        return S3_ERR_INTERNAL;
    }

    /*
     * Neither entity substitution nor DTD loading is asked for, so
     * entities are never expanded into the tree and nothing external is
     * read; NONET forbids any fetch.  The encoding is
     * forced to UTF-8 whatever the declaration says.
     */
    d = xmlCtxtReadMemory(ctxt, (const char *) xml, (int) len, NULL, "UTF-8",
                          XML_PARSE_NONET | XML_PARSE_IGNORE_ENC
                          | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
                          | ((flags & S3_XML_KEEP_BLANKS)
                             ? 0 : XML_PARSE_NOBLANKS));

    ok = ctxt->wellFormed;

    xmlFreeParserCtxt(ctxt);
    xmlResetLastError();

    if (d == NULL) {
        return S3_ERR_MALFORMED_XML;
    }

    if (!ok || d->intSubset != NULL || d->extSubset != NULL
        || xmlDocGetRootElement(d) == NULL)
    {
        xmlFreeDoc(d);
        return S3_ERR_MALFORMED_XML;
    }

    *doc = d;

    return S3_OK;
}


static int
s3_xml_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE
           && strcmp((const char *) n->name, name) == 0;
}


static int
s3_xml_ns_ok(xmlNodePtr n)
{
    return n->ns == NULL || n->ns->href == NULL
           || strcmp((const char *) n->ns->href, S3_XML_NS) == 0;
}


/* 1 for what element-only content may hold besides elements */
int
s3_xml_blank(xmlNodePtr n)
{
    const xmlChar  *p;

    if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE) {
        return 1;
    }

    if (n->type == XML_TEXT_NODE) {
        for (p = n->content; p && *p; p++) {
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


static int
s3_arena_init(s3_arena_t *a, size_t cap)
{
    a->base = malloc(cap ? cap : 1);
    a->used = 0;
    a->cap = cap;

    return a->base != NULL;
}


/* the text of a leaf element: text and CDATA only */
static int
s3_xml_text(xmlNodePtr n, s3_arena_t *a, s3_str_t *out)
{
    size_t      len;
    xmlNodePtr  c;

    out->data = a->base + a->used;
    out->len = 0;

    for (c = n->children; c; c = c->next) {
        if (c->type == XML_COMMENT_NODE) {
            continue;
        }

        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
            return -1;
        }

        len = c->content ? strlen((const char *) c->content) : 0;

        if (len > a->cap - a->used) {
            return -1;
        }

        memcpy(a->base + a->used, c->content, len);
        a->used += len;
        out->len += len;
    }

    return 0;
}


static void
s3_xml_trim(s3_str_t *s)
{
    while (s->len && (s->data[0] == ' ' || s->data[0] == '\t'
                      || s->data[0] == '\n' || s->data[0] == '\r'))
    {
        s->data++;
        s->len--;
    }

    while (s->len && (s->data[s->len - 1] == ' '
                      || s->data[s->len - 1] == '\t'
                      || s->data[s->len - 1] == '\n'
                      || s->data[s->len - 1] == '\r'))
    {
        s->len--;
    }
}


static int
s3_xml_bool(s3_str_t s, unsigned *v)
{
    s3_xml_trim(&s);

    if (s.len == 4 && memcmp(s.data, "true", 4) == 0) {
        *v = 1;
        return 0;
    }

    if (s.len == 5 && memcmp(s.data, "false", 5) == 0) {
        *v = 0;
        return 0;
    }

    return -1;
}


/* a decimal integer, optionally negative, within int64 */
static int
s3_xml_int(s3_str_t s, int64_t *v)
{
    size_t    i;
    int       neg;
    uint64_t  x;

    s3_xml_trim(&s);

    neg = s.len && s.data[0] == '-';
    i = neg;

    if (i == s.len || s.len - i > 18) {
        return -1;
    }

    x = 0;

    for ( /* void */ ; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9') {
            return -1;
        }

        x = x * 10 + (s.data[i] - '0');
    }

    *v = neg ? -(int64_t) x : (int64_t) x;

    return 0;
}


/* ---- CompleteMultipartUpload ------------------------------------------ */


s3_err_t
s3_xml_complete_parse(const unsigned char *xml, size_t len,
    s3_xml_complete_t *out, s3_error_t *e)
{
    size_t          n, k;
    int64_t         num;
    s3_err_t        rc;
    xmlDocPtr       doc;
    xmlNodePtr      root, part, f;
    s3_arena_t      a;
    s3_xml_part_t  *p;
    s3_str_t        t;
    unsigned        seen;

    memset(out, 0, sizeof(*out));

    if (len > S3_XML_COMPLETE_MAX_LEN) {
        return s3_xml_fail(e, S3_ERR_MAX_MESSAGE_LENGTH, NULL,
                           "CompleteMultipartUpload body too large");
    }

    rc = s3_xml_read(xml, len, 0, &doc);
    if (rc != S3_OK) {
        return s3_xml_fail(e, rc, NULL, "CompleteMultipartUpload not XML");
    }

    root = xmlDocGetRootElement(doc);

    if (!s3_xml_is(root, "CompleteMultipartUpload") || !s3_xml_ns_ok(root)) {
        goto malformed;
    }

    n = 0;

    for (part = root->children; part; part = part->next) {
        if (s3_xml_blank(part)) {
            continue;
        }

        if (!s3_xml_is(part, "Part") || !s3_xml_ns_ok(part)) {
            goto malformed;
        }

        if (++n > S3_XML_MAX_PARTS) {
            goto malformed;
        }
    }

    if (n == 0) {
        goto malformed;
    }

    if (!s3_arena_init(&a, n * sizeof(s3_xml_part_t) + len)) {
        xmlFreeDoc(doc);
        return s3_xml_fail(e, S3_ERR_INTERNAL, NULL, "out of memory");
    }

    out->mem = a.base;
    out->parts = (s3_xml_part_t *) a.base;
    memset(out->parts, 0, n * sizeof(s3_xml_part_t));
    a.used = n * sizeof(s3_xml_part_t);

    n = 0;

    for (part = root->children; part; part = part->next) {
        if (s3_xml_blank(part)) {
            continue;
        }

        p = &out->parts[n];
        seen = 0;

        for (f = part->children; f; f = f->next) {
            if (s3_xml_blank(f)) {
                continue;
            }

            if (f->type != XML_ELEMENT_NODE || !s3_xml_ns_ok(f)) {
                goto malformed;
            }

            if (s3_xml_is(f, "PartNumber")) {
                if ((seen & 1) || s3_xml_text(f, &a, &t) != 0) {
                    goto malformed;
                }

                seen |= 1;

                if (s3_xml_int(t, &num) != 0) {
                    goto malformed;
                }

                if (num < 1 || num > S3_XML_MAX_PARTS) {
                    s3_xml_fail(e, S3_ERR_INVALID_PART, NULL,
                                "part number out of range");
                    if (e != NULL) {
                        e->extra[0].name = "PartNumber";
                        e->extra[0].value = t;
                        e->nextra = 1;
                    }

                    rc = S3_ERR_INVALID_PART;
                    goto failed;
                }

                p->number = (uint32_t) num;
                continue;
            }

            if (s3_xml_is(f, "ETag")) {
                if ((seen & 2) || s3_xml_text(f, &a, &p->etag) != 0) {
                    goto malformed;
                }

                seen |= 2;
                continue;
            }

            for (k = 0; k < S3_XML_CK_MAX; k++) {
                if (s3_xml_is(f, s3_ck_names[k])) {
                    break;
                }
            }

            if (k == S3_XML_CK_MAX || (seen & (4u << k))
                || s3_xml_text(f, &a, &p->checksum[k]) != 0)
            {
                goto malformed;
            }

            seen |= 4u << k;
        }

        if ((seen & 3) != 3) {
            goto malformed;
        }

        if (n && out->parts[n - 1].number >= p->number) {
            rc = s3_xml_fail(e, S3_ERR_INVALID_PART_ORDER, NULL,
                             "parts not in ascending order");
            goto failed;
        }

        n++;
    }

    out->nparts = n;
    xmlFreeDoc(doc);

    return S3_OK;

malformed:

    rc = s3_xml_fail(e, S3_ERR_MALFORMED_XML, NULL,
                     "CompleteMultipartUpload not the schema");

failed:

    xmlFreeDoc(doc);
    out->parts = NULL;
    out->nparts = 0;

    /* out->mem stays: error extras may point into it */

    return rc;
}


void
s3_xml_complete_free(s3_xml_complete_t *c)
{
    free(c->mem);
    c->mem = NULL;
    c->parts = NULL;
    c->nparts = 0;
}


/* ---- PutBucketEncryption ----------------------------------------------- */


s3_err_t
s3_xml_sse_config_parse(const unsigned char *xml, size_t len,
    s3_xml_sse_config_t *out, s3_error_t *e)
{
    size_t       nrules;
    s3_err_t     rc;
    xmlDocPtr    doc;
    xmlNodePtr   root, rule, f, g, rnode;
    s3_arena_t   a;
    s3_str_t     t, alg, key;
    unsigned     v, has_alg, has_key;

    memset(out, 0, sizeof(*out));
    out->algorithm = S3_XML_SSE_AES256;
    a.base = NULL;

    if (len > S3_XML_SSE_CONFIG_MAX_LEN) {
        return s3_xml_fail(e, S3_ERR_MAX_MESSAGE_LENGTH, NULL,
                           "encryption configuration too large");
    }

    rc = s3_xml_read(xml, len, 0, &doc);
    if (rc != S3_OK) {
        return s3_xml_fail(e, rc, NULL, "encryption configuration not XML");
    }

    if (!s3_arena_init(&a, len)) {
        xmlFreeDoc(doc);
        return s3_xml_fail(e, S3_ERR_INTERNAL, NULL, "out of memory");
    }

    root = xmlDocGetRootElement(doc);

    if (!s3_xml_is(root, "ServerSideEncryptionConfiguration")
        || !s3_xml_ns_ok(root))
    {
        goto malformed;
    }

    nrules = 0;
    rnode = NULL;

    for (rule = root->children; rule; rule = rule->next) {
        if (s3_xml_blank(rule)) {
            continue;
        }

        if (!s3_xml_is(rule, "Rule") || !s3_xml_ns_ok(rule)) {
            goto malformed;
        }

        nrules++;
        rnode = rule;
    }

    /* S3 takes exactly one rule */
    if (nrules != 1) {
        goto malformed;
    }

    has_alg = 0;
    has_key = 0;
    alg.len = 0;
    alg.data = NULL;
    key = alg;

    for (f = rnode->children; f; f = f->next) {
        if (s3_xml_blank(f)) {
            continue;
        }

        if (f->type != XML_ELEMENT_NODE || !s3_xml_ns_ok(f)) {
            goto malformed;
        }

        if (s3_xml_is(f, "ApplyServerSideEncryptionByDefault")) {
            if (out->has_default) {
                goto malformed;
            }

            out->has_default = 1;

            for (g = f->children; g; g = g->next) {
                if (s3_xml_blank(g)) {
                    continue;
                }

                if (s3_xml_is(g, "SSEAlgorithm") && s3_xml_ns_ok(g)
                    && !has_alg)
                {
                    if (s3_xml_text(g, &a, &alg) != 0) {
                        goto malformed;
                    }

                    s3_xml_trim(&alg);
                    has_alg = 1;

                } else if (s3_xml_is(g, "KMSMasterKeyID") && s3_xml_ns_ok(g)
                           && !has_key)
                {
                    if (s3_xml_text(g, &a, &key) != 0) {
                        goto malformed;
                    }

                    s3_xml_trim(&key);
                    has_key = 1;

                } else {
                    goto malformed;
                }
            }

            if (!has_alg) {
                goto malformed;
            }

        } else if (s3_xml_is(f, "BucketKeyEnabled")) {
            if (out->has_bucket_key || s3_xml_text(f, &a, &t) != 0
                || s3_xml_bool(t, &v) != 0)
            {
                goto malformed;
            }

            out->has_bucket_key = 1;
            out->bucket_key = v;

        } else if (s3_xml_is(f, "BlockedEncryptionTypes")) {
            if (out->has_blocked) {
                goto malformed;
            }

            out->has_blocked = 1;

            for (g = f->children; g; g = g->next) {
                if (s3_xml_blank(g)) {
                    continue;
                }

                if (!s3_xml_is(g, "EncryptionType") || !s3_xml_ns_ok(g)
                    || s3_xml_text(g, &a, &t) != 0)
                {
                    goto malformed;
                }

                s3_xml_trim(&t);

                if (t.len == 4 && memcmp(t.data, "NONE", 4) == 0) {
                    out->blocked_none = 1;

                } else if (t.len == 5 && memcmp(t.data, "SSE-C", 5) == 0) {
                    out->blocked_sse_c = 1;

                } else {
                    goto malformed;
                }
            }

        } else {
            goto malformed;
        }
    }

    if (has_alg) {
        if (alg.len == 6 && memcmp(alg.data, "AES256", 6) == 0) {
            out->algorithm = S3_XML_SSE_AES256;

        } else if (alg.len == 7 && memcmp(alg.data, "aws:kms", 7) == 0) {
            out->algorithm = S3_XML_SSE_KMS;

        } else if ((alg.len == 12 && memcmp(alg.data, "aws:kms:dsse", 12) == 0)
                   || (alg.len == 7 && memcmp(alg.data, "aws:fsx", 7) == 0)
                   || (alg.len == 10
                       && memcmp(alg.data, "aws:backup", 10) == 0))
        {
            rc = s3_xml_fail(e, S3_ERR_NOT_IMPLEMENTED, NULL,
                             "SSEAlgorithm the gateway does not implement");
            goto failed;

        } else {
            goto malformed;
        }
    }

    if (key.len) {
        if (out->algorithm != S3_XML_SSE_KMS) {
            rc = s3_xml_fail(e, S3_ERR_INVALID_ARGUMENT,
                             S3_MSG_KMS_KEY_NOT_APPLICABLE,
                             "KMSMasterKeyID without aws:kms");
            if (e != NULL) {
                e->extra[0].name = "ArgumentName";
                e->extra[0].value.data = (const unsigned char *)
                                         "ApplyServerSideEncryptionByDefault";
                e->extra[0].value.len =
                    sizeof("ApplyServerSideEncryptionByDefault") - 1;
                e->nextra = 1;
            }

            goto failed;
        }

        if (key.len > S3_XML_KMS_KEY_MAX
            || memchr(key.data, '\0', key.len) != NULL)
        {
            goto malformed;
        }

        memcpy(out->key_id, key.data, key.len);
        out->key_id[key.len] = '\0';
        out->key_id_len = key.len;
    }

    xmlFreeDoc(doc);
    free(a.base);

    return S3_OK;

malformed:

    rc = s3_xml_fail(e, S3_ERR_MALFORMED_XML, NULL,
                     "encryption configuration not the schema");

failed:

    xmlFreeDoc(doc);
    free(a.base);
    out->key_id_len = 0;
    out->key_id[0] = '\0';

    return rc;
}


/* ---- DeleteObjects --------------------------------------------------- */


s3_err_t
s3_xml_delete_parse(const unsigned char *xml, size_t len, s3_xml_delete_t *out,
    s3_error_t *e)
{
    size_t                n;
    s3_err_t              rc;
    xmlDocPtr             doc;
    xmlNodePtr            root, obj, f;
    s3_arena_t            a;
    s3_xml_delete_obj_t  *o;
    s3_str_t              t;
    unsigned              v, seen, quiet_seen;

    memset(out, 0, sizeof(*out));

    if (len > S3_XML_DELETE_MAX_LEN) {
        return s3_xml_fail(e, S3_ERR_MAX_MESSAGE_LENGTH, NULL,
                           "Delete body too large");
    }

    rc = s3_xml_read(xml, len, 0, &doc);
    if (rc != S3_OK) {
        return s3_xml_fail(e, rc, NULL, "Delete not XML");
    }

    root = xmlDocGetRootElement(doc);

    if (!s3_xml_is(root, "Delete") || !s3_xml_ns_ok(root)) {
        goto malformed;
    }

    n = 0;

    for (obj = root->children; obj; obj = obj->next) {
        if (s3_xml_is(obj, "Object") && ++n > S3_XML_MAX_DELETE) {
            goto malformed;
        }
    }

    if (n == 0) {
        goto malformed;
    }

    if (!s3_arena_init(&a, n * sizeof(s3_xml_delete_obj_t) + len)) {
        xmlFreeDoc(doc);
        return s3_xml_fail(e, S3_ERR_INTERNAL, NULL, "out of memory");
    }

    out->mem = a.base;
    out->objects = (s3_xml_delete_obj_t *) a.base;
    memset(out->objects, 0, n * sizeof(s3_xml_delete_obj_t));
    a.used = n * sizeof(s3_xml_delete_obj_t);

    n = 0;
    quiet_seen = 0;

    for (obj = root->children; obj; obj = obj->next) {
        if (s3_xml_blank(obj)) {
            continue;
        }

        if (obj->type != XML_ELEMENT_NODE || !s3_xml_ns_ok(obj)) {
            goto malformed;
        }

        if (s3_xml_is(obj, "Quiet")) {
            if (quiet_seen || s3_xml_text(obj, &a, &t) != 0
                || s3_xml_bool(t, &v) != 0)
            {
                goto malformed;
            }

            quiet_seen = 1;
            out->quiet = v;
            continue;
        }

        if (!s3_xml_is(obj, "Object")) {
            goto malformed;
        }

        o = &out->objects[n];
        seen = 0;

        for (f = obj->children; f; f = f->next) {
            if (s3_xml_blank(f)) {
                continue;
            }

            if (f->type != XML_ELEMENT_NODE || !s3_xml_ns_ok(f)) {
                goto malformed;
            }

            if (s3_xml_is(f, "Key") && !(seen & 1)) {
                if (s3_xml_text(f, &a, &o->key) != 0) {
                    goto malformed;
                }

                seen |= 1;

            } else if (s3_xml_is(f, "VersionId") && !(seen & 2)) {
                if (s3_xml_text(f, &a, &o->version_id) != 0) {
                    goto malformed;
                }

                seen |= 2;

            } else if (s3_xml_is(f, "ETag") && !(seen & 4)) {
                if (s3_xml_text(f, &a, &o->etag) != 0) {
                    goto malformed;
                }

                seen |= 4;

            } else if (s3_xml_is(f, "LastModifiedTime") && !(seen & 8)) {
                if (s3_xml_text(f, &a, &t) != 0) {
                    goto malformed;
                }

                seen |= 8;

            } else if (s3_xml_is(f, "Size")) {
                /* it would be compared with the ciphertext's size */
                rc = s3_xml_fail(e, S3_ERR_NOT_IMPLEMENTED, NULL,
                                 "Delete with a Size condition");
                goto failed;

            } else {
                goto malformed;
            }
        }

        if (!(seen & 1)) {
            goto malformed;
        }

        n++;
    }

    out->nobjects = n;
    xmlFreeDoc(doc);

    return S3_OK;

malformed:

    rc = s3_xml_fail(e, S3_ERR_MALFORMED_XML, NULL, "Delete not the schema");

failed:

    xmlFreeDoc(doc);
    free(out->mem);
    memset(out, 0, sizeof(*out));

    return rc;
}


void
s3_xml_delete_free(s3_xml_delete_t *d)
{
    free(d->mem);
    memset(d, 0, sizeof(*d));
}


/* ---- backend listings ------------------------------------------------ */


int64_t
s3_xml_plaintext_size(uint64_t stored, uint64_t frame_size)
{
    uint64_t  s, n, l, want;

    if (frame_size == 0 || stored < 72 + 16
        || frame_size > ((uint64_t) 1 << 40))
    {
        return -1;
    }

    s = stored - 72;

    /* every frame but the last holds F bytes and a 16-byte tag */
    n = s / (frame_size + 16) + (s % (frame_size + 16) != 0);
    l = s - 16 * n;

    if (16 * n > s) {
        return -1;
    }

    want = (l == 0) ? 1 : l / frame_size + (l % frame_size != 0);

    if (want != n || l > (uint64_t) INT64_MAX) {
        return -1;
    }

    return (int64_t) l;
}


/* encoding-type=url: S3 encodes as a form does, '+' for a space */
static long
s3_url_decode(unsigned char *out, const unsigned char *in, size_t len)
{
    size_t  i, n;
    int     hi, lo;

    n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%') {
            if (len - i < 3) {
                return -1;
            }

            hi = in[i + 1];
            lo = in[i + 2];
            hi = (hi >= '0' && hi <= '9') ? hi - '0'
                 : (hi >= 'a' && hi <= 'f') ? hi - 'a' + 10
                 : (hi >= 'A' && hi <= 'F') ? hi - 'A' + 10 : -1;
            lo = (lo >= '0' && lo <= '9') ? lo - '0'
                 : (lo >= 'a' && lo <= 'f') ? lo - 'a' + 10
                 : (lo >= 'A' && lo <= 'F') ? lo - 'A' + 10 : -1;

            if (hi < 0 || lo < 0) {
                return -1;
            }

            out[n++] = (unsigned char) (hi << 4 | lo);
            i += 2;

        } else {
            out[n++] = in[i] == '+' ? ' ' : in[i];
        }
    }

    return (long) n;
}


static int
s3_list_is_ck(const unsigned char *name, size_t len)
{
    return len > 8 && memcmp(name, "Checksum", 8) == 0
           && !(len == 17 && memcmp(name, "ChecksumAlgorithm", 17) == 0)
           && !(len == 12 && memcmp(name, "ChecksumType", 12) == 0);
}


/*
 * Finds, in the backend's own bytes, each entry's <Size> text and
 * checksum elements, so the document can be rewritten without touching
 * anything else.  The document is well-formed (libxml2 said so); this
 * only needs to walk tags, comments, CDATA sections and PIs.  Returns 0
 * when what it found agrees with the tree, else -1.
 */
static int
s3_list_scan(s3_list_priv_t *p, s3_xml_list_t *l)
{
    size_t               i, j, n, depth, nlen, entry;
    int                  in_entry, close, self;
    const unsigned char *b, *name, *colon;
    s3_list_node_t      *node;
    s3_str_t             t;
    int64_t              v;
    size_t               size_start;

    b = p->src;
    n = p->len;
    depth = 0;
    entry = 0;
    in_entry = 0;
    node = NULL;
    size_start = 0;

    for (i = 0; i < n; i++) {
        if (b[i] != '<') {
            continue;
        }

        if (n - i >= 4 && memcmp(b + i, "<!--", 4) == 0) {
            for (j = i + 4; j + 2 < n; j++) {
                if (memcmp(b + j, "-->", 3) == 0) {
                    break;
                }
            }

            i = j + 2;
            continue;
        }

        if (n - i >= 9 && memcmp(b + i, "<![CDATA[", 9) == 0) {
            for (j = i + 9; j + 2 < n; j++) {
                if (memcmp(b + j, "]]>", 3) == 0) {
                    break;
                }
            }

            i = j + 2;
            continue;
        }

        if (n - i >= 2 && b[i + 1] == '?') {
            for (j = i + 2; j + 1 < n; j++) {
                if (b[j] == '?' && b[j + 1] == '>') {
                    break;
                }
            }

            i = j + 1;
            continue;
        }

        if (n - i >= 2 && b[i + 1] == '!') {
            return -1;
        }

        close = (n - i >= 2 && b[i + 1] == '/');
        name = b + i + 1 + close;

        for (j = (size_t) (name - b); j < n; j++) {
            if (b[j] == '>' || b[j] == '/' || b[j] == ' ' || b[j] == '\t'
                || b[j] == '\n' || b[j] == '\r')
            {
                break;
            }
        }

        nlen = j - (size_t) (name - b);

        /* the end of the tag, past quoted attribute values */
        for ( /* void */ ; j < n && b[j] != '>'; j++) {
            if (b[j] == '"' || b[j] == '\'') {
                unsigned char  q = b[j];

                for (j++; j < n && b[j] != q; j++) {
                    /* void */
                }
            }
        }

        if (j >= n) {
            return -1;
        }

        self = !close && b[j - 1] == '/';

        /* local name */
        colon = memchr(name, ':', nlen);
        if (colon != NULL) {
            nlen -= (size_t) (colon + 1 - name);
            name = colon + 1;
        }

        if (!close) {
            depth++;

            if (depth == 2) {
                in_entry = (l->kind == S3_XML_LIST_OBJECTS
                            && nlen == 8 && memcmp(name, "Contents", 8) == 0)
                           || (l->kind == S3_XML_LIST_VERSIONS
                               && ((nlen == 7
                                    && memcmp(name, "Version", 7) == 0)
                                   || (nlen == 12
                                       && memcmp(name, "DeleteMarker", 12)
                                          == 0)))
                           || (l->kind == S3_XML_LIST_PARTS
                               && nlen == 4 && memcmp(name, "Part", 4) == 0);

                if (in_entry) {
                    if (entry >= l->nentries) {
                        return -1;
                    }

                    node = &p->nodes[entry++];
                }

            } else if (depth == 3 && in_entry) {
                if (nlen == 4 && memcmp(name, "Size", 4) == 0) {
                    if (self || node->has_size_at) {
                        return -1;
                    }

                    size_start = j + 1;

                } else if (s3_list_is_ck(name, nlen)) {
                    if (node->nck_at == S3_LIST_MAX_CK) {
                        return -1;
                    }

                    node->ck_at[node->nck_at].start = i;

                    if (self) {
                        node->ck_at[node->nck_at++].end = j + 1;
                    }
                }
            }

            if (self) {
                depth--;
            }

        } else {
            if (depth == 0) {
                return -1;
            }

            if (depth == 3 && in_entry) {
                if (nlen == 4 && memcmp(name, "Size", 4) == 0) {
                    node->size_at.start = size_start;
                    node->size_at.end = i;
                    node->has_size_at = 1;

                } else if (s3_list_is_ck(name, nlen)) {
                    node->ck_at[node->nck_at++].end = j + 1;
                }
            }

            if (depth == 2) {
                in_entry = 0;
            }

            depth--;
        }

        i = j;
    }

    if (entry != l->nentries) {
        return -1;
    }

    /* the text found must be the number the tree holds */
    for (i = 0; i < l->nentries; i++) {
        node = &p->nodes[i];

        if (node->has_size_at != (l->entries[i].size >= 0)
            || node->nck_at != node->nck)
        {
            return -1;
        }

        if (node->has_size_at) {
            t.data = b + node->size_at.start;
            t.len = node->size_at.end - node->size_at.start;

            if (s3_xml_int(t, &v) != 0 || v != l->entries[i].size) {
                return -1;
            }
        }
    }

    return 0;
}


s3_err_t
s3_xml_list_parse(const unsigned char *xml, size_t len, s3_xml_list_t **out)
{
    size_t                n, i;
    int64_t               v;
    long                  dl;
    xmlDocPtr             doc;
    xmlNodePtr            root, c, f;
    s3_xml_list_t        *l;
    s3_list_priv_t       *p;
    s3_xml_list_entry_t  *en;
    s3_list_node_t       *node;
    s3_str_t              t;
    s3_xml_list_kind_t    kind;
    unsigned              is_entry, latest;

    *out = NULL;

    if (len > S3_XML_LIST_MAX_LEN) {
        return S3_ERR_INTERNAL;
    }

    if (s3_xml_read(xml, len, 0, &doc) != S3_OK) {
        return S3_ERR_INTERNAL;
    }

    root = xmlDocGetRootElement(doc);

    if (s3_xml_is(root, "ListBucketResult")) {
        kind = S3_XML_LIST_OBJECTS;

    } else if (s3_xml_is(root, "ListVersionsResult")) {
        kind = S3_XML_LIST_VERSIONS;

    } else if (s3_xml_is(root, "ListPartsResult")
               || s3_xml_is(root, "ListPartsResponse"))
    {
        /* ...Response: moto's name for it, once S3's own */
        kind = S3_XML_LIST_PARTS;

    } else {
        xmlFreeDoc(doc);
        return S3_ERR_INTERNAL;
    }

    l = calloc(1, sizeof(s3_xml_list_t) + sizeof(s3_list_priv_t));
    if (l == NULL) {
        xmlFreeDoc(doc);
        return S3_ERR_INTERNAL;
    }

    p = (s3_list_priv_t *) (l + 1);
    l->priv = p;
    l->kind = kind;
    p->doc = doc;

    n = 0;

    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE
            && ((kind == S3_XML_LIST_OBJECTS && s3_xml_is(c, "Contents"))
                || (kind == S3_XML_LIST_VERSIONS
                    && (s3_xml_is(c, "Version")
                        || s3_xml_is(c, "DeleteMarker")))
                || (kind == S3_XML_LIST_PARTS && s3_xml_is(c, "Part"))))
        {
            n++;
        }
    }

    p->src = malloc(len);
    l->entries = calloc(n ? n : 1, sizeof(s3_xml_list_entry_t));
    p->nodes = calloc(n ? n : 1, sizeof(s3_list_node_t));

    /* text and url-decoded keys: at most twice the document */
    if (p->src == NULL || l->entries == NULL || p->nodes == NULL
        || !s3_arena_init(&p->arena, 2 * len))
    {
        goto failed;
    }

    memcpy(p->src, xml, len);
    p->len = len;

    for (c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }

        if (s3_xml_is(c, "Name") || s3_xml_is(c, "Bucket")) {
            if (s3_xml_text(c, &p->arena, &l->bucket) != 0) {
                goto failed;
            }

            continue;
        }

        if (s3_xml_is(c, "EncodingType")) {
            if (s3_xml_text(c, &p->arena, &t) != 0) {
                goto failed;
            }

            l->url_encoded = (t.len == 3 && memcmp(t.data, "url", 3) == 0);
            continue;
        }

        if (kind == S3_XML_LIST_PARTS && s3_xml_is(c, "Key")) {
            if (s3_xml_text(c, &p->arena, &l->key) != 0) {
                goto failed;
            }

            continue;
        }

        if (kind == S3_XML_LIST_PARTS && s3_xml_is(c, "UploadId")) {
            if (s3_xml_text(c, &p->arena, &l->upload_id) != 0) {
                goto failed;
            }

            continue;
        }

        is_entry = (kind == S3_XML_LIST_OBJECTS && s3_xml_is(c, "Contents"))
                   || (kind == S3_XML_LIST_VERSIONS
                       && (s3_xml_is(c, "Version")
                           || s3_xml_is(c, "DeleteMarker")))
                   || (kind == S3_XML_LIST_PARTS && s3_xml_is(c, "Part"));

        if (!is_entry) {
            continue;
        }

        en = &l->entries[l->nentries];
        node = &p->nodes[l->nentries];
        l->nentries++;

        en->size = -1;
        en->new_size = -1;
        en->delete_marker = s3_xml_is(c, "DeleteMarker");

        for (f = c->children; f; f = f->next) {
            if (f->type != XML_ELEMENT_NODE) {
                continue;
            }

            if (s3_xml_is(f, "Key")) {
                if (s3_xml_text(f, &p->arena, &en->key_raw) != 0) {
                    goto failed;
                }

            } else if (s3_xml_is(f, "VersionId")) {
                if (s3_xml_text(f, &p->arena, &en->version_id) != 0) {
                    goto failed;
                }

            } else if (s3_xml_is(f, "ETag")) {
                if (s3_xml_text(f, &p->arena, &en->etag) != 0) {
                    goto failed;
                }

            } else if (s3_xml_is(f, "IsLatest")) {
                if (s3_xml_text(f, &p->arena, &t) != 0
                    || s3_xml_bool(t, &latest) != 0)
                {
                    goto failed;
                }

                en->is_latest = latest;

            } else if (s3_xml_is(f, "PartNumber")) {
                if (s3_xml_text(f, &p->arena, &t) != 0
                    || s3_xml_int(t, &v) != 0 || v < 1 || v > 0x7fffffff)
                {
                    goto failed;
                }

                en->part_number = (uint32_t) v;

            } else if (s3_xml_is(f, "Size")) {
                if (node->size_node != NULL
                    || s3_xml_text(f, &p->arena, &t) != 0
                    || s3_xml_int(t, &v) != 0 || v < 0)
                {
                    goto failed;
                }

                en->size = v;
                node->size_node = f;

            } else if (s3_list_is_ck(f->name, strlen((const char *) f->name))
                       && node->nck < S3_LIST_MAX_CK)
            {
                node->ck_node[node->nck++] = f;
            }
        }

        /* EncodingType may come after the entries: decoded below */
        en->key = en->key_raw;
    }

    if (l->url_encoded) {
        for (i = 0; i < l->nentries; i++) {
            en = &l->entries[i];

            if (en->key_raw.len > p->arena.cap - p->arena.used) {
                goto failed;
            }

            dl = s3_url_decode(p->arena.base + p->arena.used,
                               en->key_raw.data, en->key_raw.len);
            if (dl < 0) {
                goto failed;
            }

            en->key.data = p->arena.base + p->arena.used;
            en->key.len = (size_t) dl;
            p->arena.used += (size_t) dl;
        }
    }

    p->spliceable = (s3_list_scan(p, l) == 0);

    *out = l;

    return S3_OK;

failed:

    s3_xml_list_free(l);

    return S3_ERR_INTERNAL;
}


static s3_err_t
s3_list_write_splice(s3_xml_list_t *l, unsigned flags, unsigned char **out,
    size_t *outlen)
{
    size_t           i, k, at, from, cap;
    unsigned char   *o;
    s3_list_priv_t  *p;
    s3_list_node_t  *node;
    char             num[24];
    int              nn;

    p = l->priv;

    /* new sizes are at most 20 digits where the old ones were at least 1 */
    cap = p->len + 20 * l->nentries + 1;

    o = malloc(cap);
    if (o == NULL) {
        return S3_ERR_INTERNAL;
    }

    at = 0;
    from = 0;

    /* ranges come in document order: Size and checksums of each entry */
    for (i = 0; i < l->nentries; i++) {
        node = &p->nodes[i];

        /* the entry's edits, in source order */
        for ( ;; ) {
            size_t   best = (size_t) -1;
            int      which = -1;

            if (node->has_size_at && node->size_at.start >= from) {
                best = node->size_at.start;
                which = 100;
            }

            if (flags & S3_XML_LIST_DROP_CHECKSUMS) {
                for (k = 0; k < node->nck_at; k++) {
                    if (node->ck_at[k].start >= from
                        && node->ck_at[k].start < best)
                    {
                        best = node->ck_at[k].start;
                        which = (int) k;
                    }
                }
            }

            if (which < 0) {
                break;
            }

            memcpy(o + at, p->src + from, best - from);
            at += best - from;

            if (which == 100) {
                if (l->entries[i].new_size >= 0) {
                    nn = snprintf(num, sizeof(num), "%lld",
                                  (long long) l->entries[i].new_size);
                    memcpy(o + at, num, (size_t) nn);
                    at += (size_t) nn;

                } else {
                    memcpy(o + at, p->src + node->size_at.start,
                           node->size_at.end - node->size_at.start);
                    at += node->size_at.end - node->size_at.start;
                }

                from = node->size_at.end;

            } else {
                from = node->ck_at[which].end;
            }
        }
    }

    memcpy(o + at, p->src + from, p->len - from);
    at += p->len - from;

    *out = o;
    *outlen = at;

    return S3_OK;
}


static s3_err_t
s3_list_write_dom(s3_xml_list_t *l, unsigned flags, unsigned char **out,
    size_t *outlen)
{
    size_t           i, k;
    int              size;
    xmlChar         *mem;
    s3_list_priv_t  *p;
    s3_list_node_t  *node;
    char             num[24];

    p = l->priv;

    for (i = 0; i < l->nentries; i++) {
        node = &p->nodes[i];

        if (node->size_node != NULL && l->entries[i].new_size >= 0) {
            snprintf(num, sizeof(num), "%lld",
                     (long long) l->entries[i].new_size);
            xmlNodeSetContent(node->size_node, (const xmlChar *) num);
        }

        if (flags & S3_XML_LIST_DROP_CHECKSUMS) {
            for (k = 0; k < node->nck; k++) {
                xmlUnlinkNode(node->ck_node[k]);
                xmlFreeNode(node->ck_node[k]);
            }

            node->nck = 0;
        }
    }

    mem = NULL;
    size = 0;
    xmlDocDumpMemoryEnc(p->doc, &mem, &size, "UTF-8");

    if (mem == NULL || size < 0) {
        xmlFree(mem);
        return S3_ERR_INTERNAL;
    }

    *out = malloc((size_t) size ? (size_t) size : 1);
    if (*out == NULL) {
        xmlFree(mem);
        return S3_ERR_INTERNAL;
    }

    memcpy(*out, mem, (size_t) size);
    *outlen = (size_t) size;
    xmlFree(mem);

    /* the tree changed: the source offsets no longer describe it */
    p->spliceable = 0;

    return S3_OK;
}


s3_err_t
s3_xml_list_write(s3_xml_list_t *l, unsigned flags, unsigned char **out,
    size_t *outlen)
{
    s3_list_priv_t  *p = l->priv;

    *out = NULL;
    *outlen = 0;

    if (p->spliceable) {
        return s3_list_write_splice(l, flags, out, outlen);
    }

    return s3_list_write_dom(l, flags, out, outlen);
}


void
s3_xml_list_free(s3_xml_list_t *l)
{
    s3_list_priv_t  *p;

    if (l == NULL) {
        return;
    }

    p = l->priv;

    if (p->doc != NULL) {
        xmlFreeDoc(p->doc);
    }

    free(p->src);
    free(p->nodes);
    free(p->arena.base);
    free(l->entries);
    free(l);
}


/* ---- the backend's answers to the multipart calls --------------------- */


s3_err_t
s3_xml_result_parse(const unsigned char *xml, size_t len,
    s3_xml_result_t *out)
{
    s3_str_t    *want;
    xmlDocPtr    doc;
    xmlNodePtr   root, n;
    s3_arena_t   a;

    memset(out, 0, sizeof(*out));

    if (len > S3_XML_RESULT_MAX_LEN || s3_xml_read(xml, len, 0, &doc) != S3_OK) {
        return S3_ERR_INTERNAL;
    }

    root = xmlDocGetRootElement(doc);

    if (!s3_arena_init(&a, len + 64)) {
        xmlFreeDoc(doc);
        return S3_ERR_INTERNAL;
    }

    out->mem = a.base;

    /* the root's name: copied, the document goes */

    out->root.len = strlen((const char *) root->name);

    if (out->root.len > a.cap) {
        goto failed;
    }

    memcpy(a.base, root->name, out->root.len);
    out->root.data = a.base;
    a.used = out->root.len;

    out->is_error = (strcmp((const char *) root->name, "Error") == 0);

    for (n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }

        if (s3_xml_is(n, "UploadId")) {
            want = &out->upload_id;

        } else if (s3_xml_is(n, "ETag")) {
            want = &out->etag;

        } else if (s3_xml_is(n, "Code")) {
            want = &out->code;

        } else {
            continue;
        }

        /* the first of each; one with markup inside is no value */

        if (want->data != NULL) {
            continue;
        }

        if (s3_xml_text(n, &a, want) != 0) {
            goto failed;
        }

        s3_xml_trim(want);
    }

    xmlFreeDoc(doc);

    return S3_OK;

failed:

    xmlFreeDoc(doc);
    s3_xml_result_free(out);

    return S3_ERR_INTERNAL;
}


void
s3_xml_result_free(s3_xml_result_t *r)
{
    free(r->mem);
    memset(r, 0, sizeof(*r));
}
