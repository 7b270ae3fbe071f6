/*
 * GetObjectTagging's document -> x-amz-tagging (s3_tagging.h).
 */

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "s3_tagging.h"
#include "s3_xml.h"
#include "s3_xml_dom.h"


typedef struct {
    const xmlChar  *key;
    size_t          key_len;
    const xmlChar  *value;
    size_t          value_len;
} s3_tagging_tag_t;


static int s3_tagging_is(xmlNodePtr n, const char *name);
static int s3_tagging_text(xmlNodePtr n, const xmlChar **text, size_t *len);
static s3_err_t s3_tagging_tag(xmlNodePtr tag, s3_tagging_tag_t *t);


size_t
s3_tagging_encode(unsigned char *out, size_t cap, const unsigned char *in,
    size_t len)
{
    size_t         i, n;
    unsigned char  c;
    static const char  hex[] = "0123456789ABCDEF";

    n = 0;

    for (i = 0; i < len; i++) {
        c = in[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~')
        {
            if (out != NULL && n < cap) {
                out[n] = c;
            }

            n++;
            continue;
        }

        if (out != NULL && n + 3 <= cap) {
            out[n] = '%';
            out[n + 1] = hex[c >> 4];
            out[n + 2] = hex[c & 0xf];
        }

        n += 3;
    }

    return n;
}


s3_err_t
s3_tagging_from_xml(const unsigned char *xml, size_t len, char **out,
    size_t *outlen)
{
    char              *s;
    size_t             i, k, n, size;
    s3_err_t           rc;
    xmlDocPtr          doc;
    xmlNodePtr         root, set, c;
    s3_tagging_tag_t   tags[S3_TAGGING_MAX_TAGS];

    *out = NULL;
    *outlen = 0;

    if (len > S3_TAGGING_MAX_DOC) {
        return S3_ERR_MALFORMED_XML;
    }

    rc = s3_xml_read(xml, len, S3_XML_KEEP_BLANKS, &doc);
    if (rc != S3_OK) {
        return rc;
    }

    rc = S3_ERR_MALFORMED_XML;
    n = 0;

    root = xmlDocGetRootElement(doc);

    if (!s3_tagging_is(root, "Tagging")) {
        goto done;
    }

    /* Tagging holds one TagSet and nothing else */

    set = NULL;

    for (c = root->children; c; c = c->next) {
        if (s3_xml_blank(c)) {
            continue;
        }

        if (set != NULL || !s3_tagging_is(c, "TagSet")) {
            goto done;
        }

        set = c;
    }

    if (set == NULL) {
        goto done;
    }

    for (c = set->children; c; c = c->next) {
        if (s3_xml_blank(c)) {
            continue;
        }

        if (!s3_tagging_is(c, "Tag") || n == S3_TAGGING_MAX_TAGS) {
            goto done;
        }

        if (s3_tagging_tag(c, &tags[n]) != S3_OK) {
            goto done;
        }

        for (i = 0; i < n; i++) {
            if (tags[i].key_len == tags[n].key_len
                && memcmp(tags[i].key, tags[n].key, tags[n].key_len) == 0)
            {
                goto done;
            }
        }

        n++;
    }

    /* the header: key=value&key=value */

    size = 1;

    for (i = 0; i < n; i++) {
        size += (i ? 1 : 0)
                + s3_tagging_encode(NULL, 0, tags[i].key, tags[i].key_len)
                + 1
                + s3_tagging_encode(NULL, 0, tags[i].value,
                                    tags[i].value_len);
    }

    s = malloc(size);
    if (s == NULL) {
        rc = S3_ERR_INTERNAL;
        goto done;
    }

    k = 0;

    for (i = 0; i < n; i++) {
        if (i) {
            s[k++] = '&';
        }

        k += s3_tagging_encode((unsigned char *) s + k, size - k,
                               tags[i].key, tags[i].key_len);
        s[k++] = '=';
        k += s3_tagging_encode((unsigned char *) s + k, size - k,
                               tags[i].value, tags[i].value_len);
    }

    s[k] = '\0';

    *out = s;
    *outlen = k;
    rc = S3_OK;

done:

    xmlFreeDoc(doc);

    return rc;
}


/* a Tag: one Key (not empty) and one Value, in either order */

static s3_err_t
s3_tagging_tag(xmlNodePtr tag, s3_tagging_tag_t *t)
{
    int         has_key, has_value;
    xmlNodePtr  c;

    has_key = 0;
    has_value = 0;

    for (c = tag->children; c; c = c->next) {
        if (s3_xml_blank(c)) {
            continue;
        }

        if (s3_tagging_is(c, "Key") && !has_key) {
            if (!s3_tagging_text(c, &t->key, &t->key_len)
                || t->key_len == 0)
            {
                return S3_ERR_MALFORMED_XML;
            }

            has_key = 1;

        } else if (s3_tagging_is(c, "Value") && !has_value) {
            if (!s3_tagging_text(c, &t->value, &t->value_len)) {
                return S3_ERR_MALFORMED_XML;
            }

            has_value = 1;

        } else {
            return S3_ERR_MALFORMED_XML;
        }
    }

    return (has_key && has_value) ? S3_OK : S3_ERR_MALFORMED_XML;
}


static int
s3_tagging_is(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE
           && strcmp((const char *) n->name, name) == 0
           && (n->ns == NULL || n->ns->href == NULL
               || strcmp((const char *) n->ns->href, S3_XML_NS) == 0);
}


/*
 * A leaf's text: one text or CDATA node (libxml2 merges adjacent text),
 * or none for "".  The pointer is into the tree.
 */

static int
s3_tagging_text(xmlNodePtr n, const xmlChar **text, size_t *len)
{
    xmlNodePtr  c;

    c = n->children;

    if (c == NULL) {
        *text = (const xmlChar *) "";
        *len = 0;
        return 1;
    }

    if (c->next != NULL
        || (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
        || c->content == NULL)
    {
        return 0;
    }

    *text = c->content;
    *len = strlen((const char *) c->content);

    return 1;
}
