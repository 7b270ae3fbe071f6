/*
 * Fuzz target: every S3 XML parser, and the listing rewrite.
 *
 * Input: one selector byte, then the document.  0 CompleteMultipartUpload,
 * 1 ServerSideEncryptionConfiguration (parsed, written, parsed again),
 * 2 Delete, 3 a backend listing (parsed, given new sizes, written and
 * parsed again), 4 an error document with the input as extra element,
 * 5 the plaintext size of the input read as two integers.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"


static void
fuzz_complete(const uint8_t *d, size_t n)
{
    size_t             i;
    s3_xml_complete_t  c;
    s3_error_t         e;

    memset(&e, 0, sizeof(e));

    if (s3_xml_complete_parse(d, n, &c, &e) == S3_OK) {
        if (c.nparts == 0 || c.nparts > S3_XML_MAX_PARTS) {
            abort();
        }

        for (i = 0; i < c.nparts; i++) {
            if (c.parts[i].number < 1 || c.parts[i].number > 10000
                || (i && c.parts[i - 1].number >= c.parts[i].number))
            {
                abort();
            }
        }

    } else if (e.err == S3_OK) {
        abort();
    }

    s3_xml_complete_free(&c);
}


static void
fuzz_sse_config(const uint8_t *d, size_t n)
{
    size_t               len;
    unsigned char       *buf;
    s3_xml_sse_config_t  c, c2;
    s3_error_t           e;

    if (s3_xml_sse_config_parse(d, n, &c, &e) != S3_OK) {
        return;
    }

    len = s3_xml_sse_config_write(NULL, 0, &c);
    buf = malloc(len);
    if (buf == NULL) {
        abort();
    }

    if (s3_xml_sse_config_write(buf, len, &c) != len) {
        abort();
    }

    /* what GetBucketEncryption writes reads back the same */
    if (s3_xml_sse_config_parse(buf, len, &c2, &e) != S3_OK
        || c2.algorithm != c.algorithm || c2.key_id_len != c.key_id_len
        || memcmp(c2.key_id, c.key_id, c.key_id_len) != 0
        || c2.bucket_key != c.bucket_key
        || c2.blocked_sse_c != c.blocked_sse_c
        || c2.blocked_none != c.blocked_none)
    {
        abort();
    }

    free(buf);
}


static void
fuzz_delete(const uint8_t *d, size_t n)
{
    s3_xml_delete_t  del;
    s3_error_t       e;

    if (s3_xml_delete_parse(d, n, &del, &e) == S3_OK) {
        if (del.nobjects == 0 || del.nobjects > S3_XML_MAX_DELETE) {
            abort();
        }

        s3_xml_delete_free(&del);
    }
}


static void
fuzz_list(const uint8_t *d, size_t n)
{
    size_t          i, len;
    unsigned char  *out;
    s3_xml_list_t  *l, *m;
    unsigned        flags;

    if (n < 1) {
        return;
    }

    flags = d[0] & 1;
    d++;
    n--;

    if (s3_xml_list_parse(d, n, &l) != S3_OK) {
        return;
    }

    for (i = 0; i < l->nentries; i++) {
        l->entries[i].new_size = (i % 3 == 0) ? -1 : (int64_t) (i * 7919);
    }

    if (s3_xml_list_write(l, flags, &out, &len) != S3_OK) {
        abort();
    }

    /* the rewritten listing is a listing with the new sizes */
    if (s3_xml_list_parse(out, len, &m) != S3_OK
        || m->nentries != l->nentries || m->kind != l->kind)
    {
        abort();
    }

    for (i = 0; i < l->nentries; i++) {
        int64_t  want = l->entries[i].new_size >= 0
                        && l->entries[i].size >= 0
                        ? l->entries[i].new_size : l->entries[i].size;

        if (m->entries[i].size != want
            || m->entries[i].key.len != l->entries[i].key.len
            || (l->entries[i].key.len
                && memcmp(m->entries[i].key.data, l->entries[i].key.data,
                          l->entries[i].key.len) != 0))
        {
            abort();
        }
    }

    s3_xml_list_free(m);
    s3_xml_list_free(l);
    free(out);
}


static void
fuzz_error(const uint8_t *d, size_t n)
{
    size_t          len;
    unsigned char  *buf;
    s3_error_t      e;
    s3_str_t        rid = { 4, (const unsigned char *) "R123" };
    s3_str_t        none = { 0, NULL };

    memset(&e, 0, sizeof(e));
    e.err = (s3_err_t) (n ? d[0] % (S3_ERR_MAX + 1) : 0);
    e.extra[0].name = "Key";
    e.extra[0].value.data = d;
    e.extra[0].value.len = n;
    e.nextra = 1;

    len = s3_xml_error(NULL, 0, &e, rid, none);
    buf = malloc(len);
    if (buf == NULL || s3_xml_error(buf, len, &e, rid, none) != len) {
        abort();
    }

    free(buf);
}


static void
fuzz_size(const uint8_t *d, size_t n)
{
    uint64_t  s, f, nf, want;
    int64_t   l;

    if (n < 12) {
        return;
    }

    memcpy(&s, d, 8);
    f = 0;
    memcpy(&f, d + 8, 4);

    l = s3_xml_plaintext_size(s, f);

    if (l >= 0) {
        nf = l == 0 ? 1 : ((uint64_t) l + f - 1) / f;
        want = 72 + (uint64_t) l + 16 * nf;

        if (want != s) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    switch (data[0] % 6) {
    case 0: fuzz_complete(data + 1, size - 1); break;
    case 1: fuzz_sse_config(data + 1, size - 1); break;
    case 2: fuzz_delete(data + 1, size - 1); break;
    case 3: fuzz_list(data + 1, size - 1); break;
    case 4: fuzz_error(data + 1, size - 1); break;
    default: fuzz_size(data + 1, size - 1); break;
    }

    return 0;
}
