/*
 * S3 XML: error documents byte for byte, the client documents the gateway
 * reads (and every way they can be wrong, XXE included), GetBucketEncryption
 * as S3 writes it, listings rewritten with plaintext sizes, and the
 * ciphertext-to-plaintext size of DESIGN §3.
 */

#include "unit.h"

#include <stdint.h>
#include <unistd.h>

#include "s3_xml.h"


#define NS  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define DECL  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

#define X(lit)  (const unsigned char *) (lit), sizeof(lit) - 1
#define S(lit)  { sizeof(lit) - 1, (const unsigned char *) (lit) }


static void
assert_str(s3_str_t s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.data, want, s.len) != 0) {
        fail_msg("got \"%.*s\", want \"%s\"", (int) s.len, s.data, want);
    }
}


static char *
error_doc(const s3_error_t *e, const char *rid, const char *hid)
{
    size_t     n;
    char      *buf;
    s3_str_t   r, h;

    r.data = (const unsigned char *) rid;
    r.len = rid ? strlen(rid) : 0;
    h.data = (const unsigned char *) hid;
    h.len = hid ? strlen(hid) : 0;

    n = s3_xml_error(NULL, 0, e, r, h);
    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(s3_xml_error((unsigned char *) buf, n, e, r, h), n);
    buf[n] = '\0';

    return buf;
}


/* ---- error documents --------------------------------------------------- */

static void
test_error_document_is_s3s_bytes(void **state)
{
    s3_error_t  e;
    char       *doc;

    memset(&e, 0, sizeof(e));
    e.err = S3_ERR_NO_SUCH_KEY;
    e.extra[0].name = "Key";
    e.extra[0].value.data = (const unsigned char *) "dir/a&b<c>\"d\"'e'\x01";
    e.extra[0].value.len = 17;
    e.nextra = 1;

    doc = error_doc(&e, "4442587FB7D0A2F9", "ZNMzh/0sd==");
    assert_string_equal(doc,
        DECL "<Error><Code>NoSuchKey</Code>"
        "<Message>The specified key does not exist.</Message>"
        "<Key>dir/a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;&#x1;</Key>"
        "<RequestId>4442587FB7D0A2F9</RequestId>"
        "<HostId>ZNMzh/0sd==</HostId></Error>");
    free(doc);

    /* a message override, two extras, no host id */
    memset(&e, 0, sizeof(e));
    e.err = S3_ERR_INVALID_ARGUMENT;
    e.message = "Part number must be an integer between 1 and 10000, "
                "inclusive";
    e.extra[0].name = "ArgumentName";
    e.extra[0].value.data = (const unsigned char *) "partNumber";
    e.extra[0].value.len = 10;
    e.extra[1].name = "ArgumentValue";
    e.extra[1].value.data = (const unsigned char *) "0";
    e.extra[1].value.len = 1;
    e.nextra = 2;

    doc = error_doc(&e, "R1", NULL);
    assert_string_equal(doc,
        DECL "<Error><Code>InvalidArgument</Code>"
        "<Message>Part number must be an integer between 1 and 10000, "
        "inclusive</Message><ArgumentName>partNumber</ArgumentName>"
        "<ArgumentValue>0</ArgumentValue><RequestId>R1</RequestId></Error>");
    free(doc);

    /* the table's message is escaped too */
    memset(&e, 0, sizeof(e));
    e.err = S3_ERR_INVALID_PART;
    doc = error_doc(&e, NULL, NULL);
    assert_non_null(strstr(doc, "the part&apos;s entity tag"));
    free(doc);
}


static void
test_error_document_never_writes_past_cap(void **state)
{
    unsigned char  buf[64];
    s3_error_t     e;
    s3_str_t       none = { 0, NULL };
    size_t         n;

    memset(&e, 0, sizeof(e));
    e.err = S3_ERR_ACCESS_DENIED;

    memset(buf, 0xAA, sizeof(buf));
    n = s3_xml_error(buf, 20, &e, none, none);
    assert_true(n > 20);
    assert_memory_equal(buf, DECL, 20);
    assert_int_equal(buf[20], 0xAA);
    assert_int_equal(buf[63], 0xAA);
}


static void
test_escape_handles_every_special(void **state)
{
    unsigned char  out[64];
    size_t         n;

    static const char  want[] = "&lt;a&amp;&apos;&quot;&#xD;\t\n&gt;&#x1F;\x7f";

    n = s3_xml_escape(out, sizeof(out), X("<a&'\"\r\t\n>\x1f\x7f"));
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
}


/* ---- CompleteMultipartUpload ------------------------------------------ */

static void
test_complete_parses_parts_and_checksums(void **state)
{
    s3_xml_complete_t  c;
    s3_error_t         e;

    static const char  doc[] =
        DECL "<CompleteMultipartUpload " NS ">\n"
        "  <Part>\n    <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>\n"
        "    <PartNumber> 1 </PartNumber>\n"
        "    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n  </Part>\n"
        "  <!-- second -->\n"
        "  <Part><PartNumber>2</PartNumber>"
        "<ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>"
        "<ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        "</ChecksumSHA256></Part>\n"
        "  <Part><PartNumber>10000</PartNumber><ETag>e3</ETag></Part>\n"
        "</CompleteMultipartUpload>";

    memset(&e, 0, sizeof(e));
    assert_int_equal(s3_xml_complete_parse(X(doc), &c, &e), S3_OK);
    assert_int_equal(c.nparts, 3);
    assert_int_equal(c.parts[0].number, 1);
    assert_str(c.parts[0].etag, "\"a54357aff0632cce46d942af68356b38\"");
    assert_str(c.parts[0].checksum[S3_XML_CK_CRC32], "AAAAAA==");
    assert_int_equal(c.parts[0].checksum[S3_XML_CK_SHA256].len, 0);
    assert_int_equal(c.parts[1].number, 2);
    assert_str(c.parts[1].etag, "\"0c78aef83f66abc1fa1e8477f296d394\"");
    assert_str(c.parts[1].checksum[S3_XML_CK_SHA256],
               "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_int_equal(c.parts[2].number, 10000);
    assert_string_equal(s3_xml_checksum_name(S3_XML_CK_CRC64NVME),
                        "ChecksumCRC64NVME");
    s3_xml_complete_free(&c);

    /* no namespace is fine too */
    assert_int_equal(s3_xml_complete_parse(X("<CompleteMultipartUpload><Part>"
        "<PartNumber>1</PartNumber><ETag>x</ETag></Part>"
        "</CompleteMultipartUpload>"), &c, NULL), S3_OK);
    s3_xml_complete_free(&c);
}


static s3_err_t
complete(const char *doc, s3_error_t *e)
{
    s3_xml_complete_t  c;
    s3_err_t           rc;

    memset(e, 0, sizeof(*e));
    rc = s3_xml_complete_parse((const unsigned char *) doc, strlen(doc), &c,
                               e);
    assert_int_equal(rc, e->err);
    s3_xml_complete_free(&c);

    return rc;
}


#define P(n, etag)  "<Part><PartNumber>" n "</PartNumber><ETag>" etag \
                    "</ETag></Part>"
#define CMU(parts)  "<CompleteMultipartUpload " NS ">" parts \
                    "</CompleteMultipartUpload>"

static void
test_complete_errors_are_s3s(void **state)
{
    size_t             i;
    s3_error_t         e;
    s3_xml_complete_t  c;

    static const char  *malformed[] = {
        "", "not xml", "<CompleteMultipartUpload/>", CMU(""),
        CMU(P("x", "e")), CMU(P("1.5", "e")), CMU(P("", "e")),
        CMU("<Part><PartNumber>1</PartNumber></Part>"),
        CMU("<Part><ETag>e</ETag></Part>"),
        CMU("<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
            "<ETag>e</ETag></Part>"),
        CMU("<Part><PartNumber>1</PartNumber><ETag>e</ETag><Size>3</Size>"
            "</Part>"),
        CMU(P("1", "e") "<Other/>"),
        CMU(P("1", "e") "text"),
        CMU("<Part><PartNumber>1<b/></PartNumber><ETag>e</ETag></Part>"),
        "<Complete " NS ">" P("1", "e") "</Complete>",
        "<CompleteMultipartUpload xmlns=\"urn:other\">" P("1", "e")
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload " NS "><o:Part xmlns:o=\"urn:o\">"
        "<PartNumber>1</PartNumber><ETag>e</ETag></o:Part>"
        "</CompleteMultipartUpload>",
        CMU(P("1", "e")) "<extra/>",
        "<CompleteMultipartUpload>" P("1", "e"),
        NULL
    };

    for (i = 0; malformed[i]; i++) {
        if (complete(malformed[i], &e) != S3_ERR_MALFORMED_XML) {
            fail_msg("not MalformedXML: %s", malformed[i]);
        }
    }

    assert_int_equal(complete(CMU(P("2", "a") P("1", "b")), &e),
                     S3_ERR_INVALID_PART_ORDER);
    assert_int_equal(complete(CMU(P("1", "a") P("1", "b")), &e),
                     S3_ERR_INVALID_PART_ORDER);
    assert_int_equal(complete(CMU(P("0", "a")), &e), S3_ERR_INVALID_PART);
    assert_int_equal(complete(CMU(P("-3", "a")), &e), S3_ERR_INVALID_PART);

    /* the extras point into the result: read them before freeing it */
    memset(&e, 0, sizeof(e));
    assert_int_equal(s3_xml_complete_parse(X(CMU(P("1", "a")
                                                 P("10001", "b"))), &c, &e),
                     S3_ERR_INVALID_PART);
    assert_int_equal(e.nextra, 1);
    assert_string_equal(e.extra[0].name, "PartNumber");
    assert_str(e.extra[0].value, "10001");
    s3_xml_complete_free(&c);
}


static void
test_complete_part_count_limit(void **state)
{
    size_t      i, n, cap;
    char       *doc;
    s3_error_t  e;
    s3_xml_complete_t  c;

    cap = 64 * 10002 + 128;
    doc = malloc(cap);
    assert_non_null(doc);

    n = (size_t) sprintf(doc, "<CompleteMultipartUpload>");
    for (i = 1; i <= 10000; i++) {
        n += (size_t) sprintf(doc + n, "<Part><PartNumber>%zu</PartNumber>"
                              "<ETag>\"e%zu\"</ETag></Part>", i, i);
    }
    strcpy(doc + n, "</CompleteMultipartUpload>");

    assert_int_equal(s3_xml_complete_parse((unsigned char *) doc, strlen(doc),
                                           &c, &e), S3_OK);
    assert_int_equal(c.nparts, 10000);
    assert_int_equal(c.parts[9999].number, 10000);
    assert_str(c.parts[9999].etag, "\"e10000\"");
    s3_xml_complete_free(&c);

    n += (size_t) sprintf(doc + n, "<Part><PartNumber>10001</PartNumber>"
                          "<ETag>x</ETag></Part>");
    strcpy(doc + n, "</CompleteMultipartUpload>");
    memset(&e, 0, sizeof(e));
    assert_int_equal(s3_xml_complete_parse((unsigned char *) doc, strlen(doc),
                                           &c, &e), S3_ERR_MALFORMED_XML);
    s3_xml_complete_free(&c);
    free(doc);

    /* over the size limit before any parsing */
    cap = S3_XML_COMPLETE_MAX_LEN + 1;
    doc = malloc(cap);
    assert_non_null(doc);
    memset(doc, ' ', cap);
    assert_int_equal(s3_xml_complete_parse((unsigned char *) doc, cap, &c,
                                           &e), S3_ERR_MAX_MESSAGE_LENGTH);
    s3_xml_complete_free(&c);
    free(doc);
}


/* ---- XXE and friends ----------------------------------------------------- */

static void
test_entity_attacks_are_malformed_xml(void **state)
{
    size_t              i;
    char                path[] = "/tmp/s3xml-xxe-XXXXXX";
    char                doc[1024];
    int                 fd;
    s3_error_t          e;
    s3_xml_complete_t   c;
    s3_xml_delete_t     d;
    s3_xml_sse_config_t cfg;
    s3_xml_list_t      *l;

    /* a file the attacks point at: its content must never come back */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "7", 1), 1);
    close(fd);

    const char  *attacks[] = {
        /* external entity */
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
        "\"file://%s\">]><CompleteMultipartUpload><Part><PartNumber>&x;"
        "</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
        /* billion laughs */
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;"
        "&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&d;"
        "</ETag></Part></CompleteMultipartUpload><!-- %s -->",
        /* parameter entities and an external DTD */
        "<!DOCTYPE r [<!ENTITY %% p SYSTEM \"file://%s\"> %%p;]>"
        "<CompleteMultipartUpload/>",
        "<!DOCTYPE CompleteMultipartUpload SYSTEM \"file://%s\">"
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        "<ETag>e</ETag></Part></CompleteMultipartUpload>",
        "<!DOCTYPE r PUBLIC \"-//x//y\" \"http://127.0.0.1:1/%s\">"
        "<CompleteMultipartUpload/>",
        /* hidden after a comment, or lowercase */
        "<!-- x --><!doctype r SYSTEM \"file://%s\"><CompleteMultipartUpload/>",
        /* an undeclared entity reference */
        "<CompleteMultipartUpload><Part><PartNumber>&xxe;</PartNumber>"
        "<ETag>%s</ETag></Part></CompleteMultipartUpload>",
        /* XInclude is just an unknown element */
        "<CompleteMultipartUpload xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
        "<Part><PartNumber><xi:include href=\"file://%s\" parse=\"text\"/>"
        "</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
        NULL
    };

    for (i = 0; attacks[i]; i++) {
        snprintf(doc, sizeof(doc), attacks[i], path);

        memset(&e, 0, sizeof(e));
        if (s3_xml_complete_parse((unsigned char *) doc, strlen(doc), &c, &e)
            != S3_ERR_MALFORMED_XML)
        {
            fail_msg("attack %zu not refused", i);
        }

        s3_xml_complete_free(&c);

        assert_int_equal(s3_xml_delete_parse((unsigned char *) doc,
                                             strlen(doc), &d, &e),
                         S3_ERR_MALFORMED_XML);
        assert_int_equal(s3_xml_sse_config_parse((unsigned char *) doc,
                                                 strlen(doc), &cfg, &e),
                         S3_ERR_MALFORMED_XML);
        assert_int_equal(s3_xml_list_parse((unsigned char *) doc,
                                           strlen(doc), &l),
                         S3_ERR_INTERNAL);
    }

    /* UTF-16 would hide a DOCTYPE from a byte scan: refused as such */
    static const unsigned char  utf16[] = {
        0xff, 0xfe, '<', 0, '!', 0, 'D', 0, 'O', 0, 'C', 0, 'T', 0, 'Y', 0,
        'P', 0, 'E', 0, ' ', 0, 'r', 0, '>', 0, '<', 0, 'r', 0, '/', 0,
        '>', 0
    };

    assert_int_equal(s3_xml_complete_parse(utf16, sizeof(utf16), &c, &e),
                     S3_ERR_MALFORMED_XML);
    s3_xml_complete_free(&c);

    /* a declared foreign encoding is read as UTF-8 all the same */
    assert_int_equal(s3_xml_delete_parse(X("<?xml version=\"1.0\" "
        "encoding=\"ISO-8859-1\"?><Delete><Object><Key>\xe9</Key></Object>"
        "</Delete>"), &d, &e), S3_ERR_MALFORMED_XML);

    unlink(path);
}


/* ---- bucket encryption ------------------------------------------------ */

static s3_err_t
sse_config(const char *doc, s3_xml_sse_config_t *c, s3_error_t *e)
{
    memset(e, 0, sizeof(*e));
    return s3_xml_sse_config_parse((const unsigned char *) doc, strlen(doc),
                                   c, e);
}


#define SSE(rules)  "<ServerSideEncryptionConfiguration " NS ">" rules \
                    "</ServerSideEncryptionConfiguration>"
#define DEF(alg)    "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>" \
                    alg "</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"

static void
test_sse_config_parses_what_clients_send(void **state)
{
    s3_xml_sse_config_t  c;
    s3_error_t           e;

    /* aws s3api put-bucket-encryption, as botocore serializes it */
    assert_int_equal(sse_config(DECL SSE("<Rule>"
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms"
        "</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-1:111122223333:"
        "key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault>"
        "<BucketKeyEnabled>true</BucketKeyEnabled></Rule>"), &c, &e), S3_OK);
    assert_int_equal(c.algorithm, S3_XML_SSE_KMS);
    assert_string_equal(c.key_id, "arn:aws:kms:us-east-1:111122223333:"
                        "key/1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_true(c.has_default);
    assert_true(c.bucket_key);
    assert_true(c.has_bucket_key);

    assert_int_equal(sse_config("<ServerSideEncryptionConfiguration><Rule>"
        DEF(" AES256 ") "</Rule></ServerSideEncryptionConfiguration>", &c,
        &e), S3_OK);
    assert_int_equal(c.algorithm, S3_XML_SSE_AES256);
    assert_int_equal(c.key_id_len, 0);
    assert_false(c.bucket_key);

    assert_int_equal(sse_config(SSE("<Rule>" DEF("aws:kms")
        "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType>"
        "</BlockedEncryptionTypes></Rule>"), &c, &e), S3_OK);
    assert_true(c.has_blocked);
    assert_true(c.blocked_sse_c);
    assert_false(c.blocked_none);

    assert_int_equal(sse_config(SSE("<Rule><BucketKeyEnabled>false"
        "</BucketKeyEnabled></Rule>"), &c, &e), S3_OK);
    assert_false(c.has_default);
    assert_int_equal(c.algorithm, S3_XML_SSE_AES256);
}


static void
test_sse_config_errors_are_s3s(void **state)
{
    size_t               i;
    s3_xml_sse_config_t  c;
    s3_error_t           e;

    static const char  *malformed[] = {
        SSE(""), SSE("<Rule>" DEF("AES256") "</Rule><Rule>" DEF("AES256")
        "</Rule>"), SSE("<Rule>" DEF("AES128") "</Rule>"),
        SSE("<Rule>" DEF("aes256") "</Rule>"), SSE("<Rule>" DEF("") "</Rule>"),
        SSE("<Rule><ApplyServerSideEncryptionByDefault/></Rule>"),
        SSE("<Rule><ApplyServerSideEncryptionByDefault><KMSMasterKeyID>k"
            "</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>"),
        SSE("<Rule>" DEF("AES256") DEF("AES256") "</Rule>"),
        SSE("<Rule>" DEF("AES256") "<BucketKeyEnabled>yes</BucketKeyEnabled>"
            "</Rule>"),
        SSE("<Rule>" DEF("AES256") "<BlockedEncryptionTypes><EncryptionType>"
            "SSE-S3</EncryptionType></BlockedEncryptionTypes></Rule>"),
        SSE("<Rule>" DEF("AES256") "<Other/></Rule>"),
        SSE("<Rule>" DEF("AES256") "</Rule><Other/>"),
        "<Rule>" DEF("AES256") "</Rule>",
        NULL
    };

    for (i = 0; malformed[i]; i++) {
        if (sse_config(malformed[i], &c, &e) != S3_ERR_MALFORMED_XML) {
            fail_msg("not MalformedXML: %s", malformed[i]);
        }
    }

    assert_int_equal(sse_config(SSE("<Rule>"
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        "</SSEAlgorithm><KMSMasterKeyID>k1</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault></Rule>"), &c, &e),
        S3_ERR_INVALID_ARGUMENT);
    assert_string_equal(e.message, "a KMSMasterKeyID is not applicable if "
                        "the default sse algorithm is not aws:kms or "
                        "aws:kms:dsse");
    assert_int_equal(e.nextra, 1);
    assert_string_equal(e.extra[0].name, "ArgumentName");
    assert_str(e.extra[0].value, "ApplyServerSideEncryptionByDefault");

    assert_int_equal(sse_config(SSE("<Rule>" DEF("aws:kms:dsse") "</Rule>"),
                                &c, &e), S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(sse_config(SSE("<Rule>" DEF("aws:fsx") "</Rule>"),
                                &c, &e), S3_ERR_NOT_IMPLEMENTED);
}


static char *
sse_write(const s3_xml_sse_config_t *c)
{
    size_t  n;
    char   *buf;

    n = s3_xml_sse_config_write(NULL, 0, c);
    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(s3_xml_sse_config_write((unsigned char *) buf, n, c), n);
    buf[n] = '\0';

    return buf;
}


static void
test_get_bucket_encryption_body_is_s3s_bytes(void **state)
{
    s3_xml_sse_config_t  c, d;
    s3_error_t           e;
    char                *doc;

    memset(&c, 0, sizeof(c));
    c.algorithm = S3_XML_SSE_KMS;
    strcpy(c.key_id, "arn:aws:kms:us-east-1:111122223333:key/k&1");
    c.key_id_len = strlen(c.key_id);
    c.bucket_key = 1;

    doc = sse_write(&c);
    assert_string_equal(doc,
        DECL "<ServerSideEncryptionConfiguration "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>"
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms"
        "</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-1:111122223333:"
        "key/k&amp;1</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"
        "<BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        "</ServerSideEncryptionConfiguration>");

    /* what was written reads back the same */
    assert_int_equal(sse_config(doc, &d, &e), S3_OK);
    assert_int_equal(d.algorithm, S3_XML_SSE_KMS);
    assert_string_equal(d.key_id, c.key_id);
    assert_true(d.bucket_key);
    free(doc);

    memset(&c, 0, sizeof(c));
    c.algorithm = S3_XML_SSE_AES256;
    c.has_blocked = 1;
    c.blocked_sse_c = 1;
    doc = sse_write(&c);
    assert_string_equal(doc,
        DECL "<ServerSideEncryptionConfiguration "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>"
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        "</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
        "<BucketKeyEnabled>false</BucketKeyEnabled><BlockedEncryptionTypes>"
        "<EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>"
        "</Rule></ServerSideEncryptionConfiguration>");
    free(doc);
}


/* ---- DeleteObjects ------------------------------------------------------ */

static void
test_delete_lists_keys_exactly(void **state)
{
    s3_xml_delete_t  d;
    s3_error_t       e;

    static const char  doc[] =
        DECL "<Delete " NS ">\n"
        "  <Object><Key> a &amp; b.txt </Key></Object>\n"
        "  <Object><Key>dir/&#x20AC;</Key><VersionId>3HL4kqtJlcpXroDTDmJ+rmSpX"
        "d3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo</VersionId>"
        "<ETag>\"e\"</ETag></Object>\n"
        "  <Quiet>true</Quiet>\n</Delete>";

    assert_int_equal(s3_xml_delete_parse(X(doc), &d, &e), S3_OK);
    assert_int_equal(d.nobjects, 2);
    assert_true(d.quiet);
    assert_str(d.objects[0].key, " a & b.txt ");
    assert_int_equal(d.objects[0].version_id.len, 0);
    assert_str(d.objects[1].key, "dir/\xe2\x82\xac");
    assert_str(d.objects[1].version_id, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+"
               "MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo");
    assert_str(d.objects[1].etag, "\"e\"");
    s3_xml_delete_free(&d);

    /* an empty key is the backend's to refuse */
    assert_int_equal(s3_xml_delete_parse(X("<Delete><Object><Key></Key>"
                                           "</Object></Delete>"), &d, &e),
                     S3_OK);
    assert_int_equal(d.objects[0].key.len, 0);
    assert_false(d.quiet);
    s3_xml_delete_free(&d);
}


static void
test_delete_errors(void **state)
{
    size_t           i, n;
    char            *doc;
    s3_xml_delete_t  d;
    s3_error_t       e;

    static const char  *malformed[] = {
        "<Delete/>", "<Delete><Quiet>true</Quiet></Delete>",
        "<Delete><Object/></Delete>",
        "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        "<Delete><Object><Key>a</Key></Object><Quiet>maybe</Quiet></Delete>",
        "<Delete><Object><Key>a</Key><Bogus/></Object></Delete>",
        "<Delete><Object><Key>a<b/></Key></Object></Delete>",
        "<Del><Object><Key>a</Key></Object></Del>",
        NULL
    };

    for (i = 0; malformed[i]; i++) {
        if (s3_xml_delete_parse((unsigned char *) malformed[i],
                                strlen(malformed[i]), &d, &e)
            != S3_ERR_MALFORMED_XML)
        {
            fail_msg("not MalformedXML: %s", malformed[i]);
        }
    }

    assert_int_equal(s3_xml_delete_parse(X("<Delete><Object><Key>a</Key>"
        "<Size>3</Size></Object></Delete>"), &d, &e), S3_ERR_NOT_IMPLEMENTED);

    /* 1000 keys pass, 1001 do not */
    doc = malloc(40 * 1002 + 64);
    assert_non_null(doc);
    n = (size_t) sprintf(doc, "<Delete>");
    for (i = 0; i < 1000; i++) {
        n += (size_t) sprintf(doc + n, "<Object><Key>k%zu</Key></Object>", i);
    }
    strcpy(doc + n, "</Delete>");
    assert_int_equal(s3_xml_delete_parse((unsigned char *) doc, strlen(doc),
                                         &d, &e), S3_OK);
    assert_int_equal(d.nobjects, 1000);
    s3_xml_delete_free(&d);

    n += (size_t) sprintf(doc + n, "<Object><Key>x</Key></Object>");
    strcpy(doc + n, "</Delete>");
    assert_int_equal(s3_xml_delete_parse((unsigned char *) doc, strlen(doc),
                                         &d, &e), S3_ERR_MALFORMED_XML);
    free(doc);
}


/* ---- listings ----------------------------------------------------------- */

static char *
list_rewrite(const char *doc, const int64_t *sizes, unsigned flags,
    s3_xml_list_t **lp)
{
    size_t          i, n;
    unsigned char  *out;
    char           *s;
    s3_xml_list_t  *l;

    assert_int_equal(s3_xml_list_parse((const unsigned char *) doc,
                                       strlen(doc), &l), S3_OK);

    for (i = 0; sizes && i < l->nentries; i++) {
        l->entries[i].new_size = sizes[i];
    }

    assert_int_equal(s3_xml_list_write(l, flags, &out, &n), S3_OK);

    s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, out, n);
    s[n] = '\0';
    free(out);

    if (lp) {
        *lp = l;
    } else {
        s3_xml_list_free(l);
    }

    return s;
}


#define LIST_V1                                                             \
    DECL "<ListBucketResult " NS "><Name>bkt</Name><Prefix></Prefix>"       \
    "<Marker></Marker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"      \
    "<IsTruncated>true</IsTruncated>"                                       \
    "<Contents><Key>a &amp; b.txt</Key>"                                    \
    "<LastModified>2024-05-01T10:00:00.000Z</LastModified>"                 \
    "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag>"             \
    "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"                          \
    "<Size>%s</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c" \
    "078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner>"   \
    "<StorageClass>STANDARD</StorageClass></Contents>"                      \
    "<Contents><Key>empty</Key><LastModified>2024-05-01T10:00:01.000Z"      \
    "</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;"     \
    "</ETag><Size>%s</Size><StorageClass>STANDARD</StorageClass>"           \
    "</Contents>"                                                           \
    "<CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>"             \
    "<NextMarker>empty</NextMarker></ListBucketResult>"

static void
test_list_objects_sizes_rewritten_rest_untouched(void **state)
{
    char            before[4096], after[4096];
    char           *out;
    s3_xml_list_t  *l;
    int64_t         sizes[] = { 5, -1 };

    snprintf(before, sizeof(before), LIST_V1, "93", "88");
    snprintf(after, sizeof(after), LIST_V1, "5", "88");

    out = list_rewrite(before, sizes, 0, &l);
    assert_int_equal(l->kind, S3_XML_LIST_OBJECTS);
    assert_str(l->bucket, "bkt");
    assert_false(l->url_encoded);
    assert_int_equal(l->nentries, 2);
    assert_str(l->entries[0].key, "a & b.txt");
    assert_str(l->entries[0].etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    assert_int_equal(l->entries[0].size, 93);
    assert_str(l->entries[1].key, "empty");
    assert_int_equal(l->entries[1].size, 88);

    /* byte for byte the backend's document but for the one Size */
    assert_string_equal(out, after);
    free(out);
    s3_xml_list_free(l);

    /* no new sizes: the same bytes */
    out = list_rewrite(before, NULL, 0, NULL);
    assert_string_equal(out, before);
    free(out);
}


static void
test_list_v2_url_encoded_keys_are_decoded(void **state)
{
    char           *out;
    s3_xml_list_t  *l;
    int64_t         sizes[] = { 1 };

    static const char  doc[] =
        DECL "<ListBucketResult " NS "><Name>bkt</Name><Prefix>a%2F</Prefix>"
        "<KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><Delimiter>%2F</Delimiter>"
        "<IsTruncated>true</IsTruncated><Contents><Key>a%2Fb+c%2Bd%01</Key>"
        "<LastModified>2024-05-01T10:00:00.000Z</LastModified>"
        "<ETag>\"x\"</ETag><Size>89</Size><StorageClass>STANDARD"
        "</StorageClass></Contents><EncodingType>url</EncodingType>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
        "</NextContinuationToken><StartAfter>a%2F</StartAfter>"
        "</ListBucketResult>";

    out = list_rewrite(doc, sizes, 0, &l);
    assert_true(l->url_encoded);
    assert_str(l->entries[0].key_raw, "a%2Fb+c%2Bd%01");
    assert_str(l->entries[0].key, "a/b c+d\x01");
    assert_non_null(strstr(out, "<Size>1</Size>"));
    assert_null(strstr(out, "<Size>89</Size>"));
    assert_non_null(strstr(out, "<Key>a%2Fb+c%2Bd%01</Key>"));
    assert_non_null(strstr(out, "<NextContinuationToken>1ueGcxLPRx1Tr/XYExH"
                            "nhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuation"
                            "Token>"));
    free(out);
    s3_xml_list_free(l);
}


static void
test_list_versions_keeps_delete_markers(void **state)
{
    char           *out;
    s3_xml_list_t  *l;
    int64_t         sizes[] = { 10, -1, 0 };

    static const char  doc[] =
        DECL "<ListVersionsResult " NS "><Name>bkt</Name><Prefix>k</Prefix>"
        "<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
        "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
        "<Version><Key>k</Key><VersionId>v3</VersionId>"
        "<IsLatest>false</IsLatest><LastModified>2024-05-01T10:00:00.000Z"
        "</LastModified><ETag>\"a\"</ETag><Size>98</Size><StorageClass>"
        "STANDARD</StorageClass></Version>"
        "<DeleteMarker><Key>k</Key><VersionId>v4</VersionId>"
        "<IsLatest>true</IsLatest><LastModified>2024-05-02T10:00:00.000Z"
        "</LastModified></DeleteMarker>"
        "<Version><Key>k</Key><VersionId>null</VersionId>"
        "<IsLatest>false</IsLatest><LastModified>2024-04-01T10:00:00.000Z"
        "</LastModified><ETag>\"b\"</ETag><Size>88</Size><StorageClass>"
        "STANDARD</StorageClass></Version></ListVersionsResult>";

    out = list_rewrite(doc, sizes, 0, &l);
    assert_int_equal(l->kind, S3_XML_LIST_VERSIONS);
    assert_int_equal(l->nentries, 3);
    assert_str(l->entries[0].version_id, "v3");
    assert_false(l->entries[0].is_latest);
    assert_true(l->entries[1].delete_marker);
    assert_true(l->entries[1].is_latest);
    assert_int_equal(l->entries[1].size, -1);
    assert_str(l->entries[2].version_id, "null");
    assert_non_null(strstr(out, "<Size>10</Size>"));
    assert_non_null(strstr(out, "<Size>0</Size>"));
    assert_null(strstr(out, "<Size>98</Size>"));
    assert_int_equal(strlen(out), sizeof(doc) - 1 - 1);
    free(out);
    s3_xml_list_free(l);
}


static void
test_list_parts_sizes_and_checksums_dropped(void **state)
{
    char           *out;
    s3_xml_list_t  *l;
    int64_t         sizes[] = { 5242880, 7 };

    static const char  doc[] =
        DECL "<ListPartsResult " NS "><Bucket>bkt</Bucket><Key>big.bin</Key>"
        "<UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
        "</UploadId><PartNumberMarker>0</PartNumberMarker>"
        "<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1000"
        "</MaxParts><IsTruncated>false</IsTruncated>"
        "<Part><PartNumber>1</PartNumber><LastModified>2024-05-01T10:00:00"
        ".000Z</LastModified><ETag>\"7778aef83f66abc1fa1e8477f296d394\""
        "</ETag><ChecksumCRC32>qIrZrA==</ChecksumCRC32><Size>5243040</Size>"
        "</Part>\n"
        "<Part><PartNumber>2</PartNumber><LastModified>2024-05-01T10:00:01"
        ".000Z</LastModified><ETag>\"aaaaaef83f66abc1fa1e8477f296d394\""
        "</ETag><Size>95</Size><ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5"
        "NMpJWZG3hSuFU=</ChecksumSHA256></Part>\n"
        "<StorageClass>STANDARD</StorageClass><ChecksumAlgorithm>CRC32"
        "</ChecksumAlgorithm></ListPartsResult>";

    out = list_rewrite(doc, sizes, S3_XML_LIST_DROP_CHECKSUMS, &l);
    assert_int_equal(l->kind, S3_XML_LIST_PARTS);
    assert_str(l->bucket, "bkt");
    assert_str(l->key, "big.bin");
    assert_str(l->upload_id, "XXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRz"
               "IHVwbG9hZA");
    assert_int_equal(l->entries[0].part_number, 1);
    assert_int_equal(l->entries[0].size, 5243040);
    assert_int_equal(l->entries[1].part_number, 2);

    assert_non_null(strstr(out, "</ETag><Size>5242880</Size></Part>"));
    assert_non_null(strstr(out, "</ETag><Size>7</Size></Part>"));
    assert_null(strstr(out, "ChecksumCRC32"));
    assert_null(strstr(out, "ChecksumSHA256"));
    /* the algorithm's name is no checksum of anything */
    assert_non_null(strstr(out, "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
                            "</ListPartsResult>"));
    free(out);
    s3_xml_list_free(l);
}


/* moto names ListParts' document ListPartsResponse: rewritten all the same */
static void
test_list_parts_response_is_a_parts_listing(void **state)
{
    char           *out;
    s3_xml_list_t  *l;
    int64_t         sizes[] = { 5242880 };

    static const char  doc[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<ListPartsResponse " NS "><Bucket>b</Bucket><Key>k</Key>"
        "<UploadId>U</UploadId><Part><PartNumber>1</PartNumber>"
        "<ETag>\"7778aef83f66abc1fa1e8477f296d394\"</ETag>"
        "<Size>5244232</Size></Part></ListPartsResponse>";

    out = list_rewrite(doc, sizes, S3_XML_LIST_DROP_CHECKSUMS, &l);
    assert_int_equal(l->kind, S3_XML_LIST_PARTS);
    assert_int_equal(l->entries[0].size, 5244232);
    assert_non_null(strstr(out, "<Size>5242880</Size></Part>"
                            "</ListPartsResponse>"));
    free(out);
    s3_xml_list_free(l);
}


static void
test_odd_listing_falls_back_to_libxml2_serialization(void **state)
{
    char           *out;
    s3_xml_list_t  *l, *m;
    int64_t         sizes[] = { 3 };

    /* a Size written with character references cannot be spliced */
    static const char  doc[] =
        "<ListBucketResult " NS "><Name>b</Name><Contents><Key>k</Key>"
        "<Size>&#49;&#50;</Size><ChecksumCRC32>x</ChecksumCRC32></Contents>"
        "</ListBucketResult>";

    out = list_rewrite(doc, sizes, S3_XML_LIST_DROP_CHECKSUMS, &l);
    assert_int_equal(l->entries[0].size, 12);
    s3_xml_list_free(l);

    assert_int_equal(s3_xml_list_parse((unsigned char *) out, strlen(out),
                                       &m), S3_OK);
    assert_int_equal(m->nentries, 1);
    assert_int_equal(m->entries[0].size, 3);
    assert_str(m->entries[0].key, "k");
    assert_null(strstr(out, "ChecksumCRC32"));
    s3_xml_list_free(m);
    free(out);
}


static void
test_bad_listings_are_internal_errors(void **state)
{
    size_t          i;
    s3_xml_list_t  *l;

    static const char  *bad[] = {
        "", "<Error><Code>NoSuchBucket</Code></Error>",
        "<ListBucketResult><Contents><Size>x</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Size>-1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size><Size>2</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz"
        "</Key></Contents></ListBucketResult>",
        "<ListBucketResult>", NULL
    };

    for (i = 0; bad[i]; i++) {
        l = NULL;

        if (s3_xml_list_parse((unsigned char *) bad[i], strlen(bad[i]), &l)
            != S3_ERR_INTERNAL)
        {
            fail_msg("listing accepted: %s", bad[i]);
        }

        assert_null(l);
    }
}


/* ---- sizes ------------------------------------------------------------ */

static uint64_t
stored_of(uint64_t l, uint64_t f)
{
    uint64_t  n = l == 0 ? 1 : (l + f - 1) / f;

    return 72 + l + 16 * n;
}


static void
test_plaintext_size_inverts_design_formula(void **state)
{
    uint64_t  f, l, s;
    int64_t   r;
    size_t    i, valid;

    static const uint64_t  frames[] = { 4096, 65536, 1 << 24 };

    f = 65536;
    assert_int_equal(s3_xml_plaintext_size(88, f), 0);
    assert_int_equal(s3_xml_plaintext_size(89, f), 1);
    assert_int_equal(s3_xml_plaintext_size(72 + f + 16, f), (int64_t) f);
    assert_int_equal(s3_xml_plaintext_size(72 + f + 1 + 32, f),
                     (int64_t) f + 1);
    assert_int_equal(s3_xml_plaintext_size(87, f), -1);
    assert_int_equal(s3_xml_plaintext_size(0, f), -1);
    assert_int_equal(s3_xml_plaintext_size(72 + f + 17, f), -1);
    assert_int_equal(s3_xml_plaintext_size(72 + f + 32, f), -1);
    assert_int_equal(s3_xml_plaintext_size(100, 0), -1);

    /* 5 GiB of plaintext */
    l = 5ULL << 30;
    assert_int_equal(s3_xml_plaintext_size(stored_of(l, f), f), (int64_t) l);

    for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        f = frames[i];

        for (l = 0; l < 3 * f + 40; l += (l < 70 || (l % f) < 40
                                          || (l % f) > f - 40) ? 1 : 997)
        {
            r = s3_xml_plaintext_size(stored_of(l, f), f);
            if (r != (int64_t) l) {
                fail_msg("F %llu L %llu: got %lld", (unsigned long long) f,
                         (unsigned long long) l, (long long) r);
            }
        }
    }

    /* every stored length either inverts exactly or is refused */
    f = 4096;
    valid = 0;

    for (s = 0; s < 72 + 4 * (f + 16) + 100; s++) {
        r = s3_xml_plaintext_size(s, f);

        if (r >= 0) {
            assert_int_equal(stored_of((uint64_t) r, f), s);
            valid++;
        }
    }

    /* and each L below the bound has exactly one stored length */
    for (l = 0; stored_of(l, f) < 72 + 4 * (f + 16) + 100; l++) {
        /* void */
    }

    assert_int_equal(valid, l);
}


/* ---- the backend's multipart answers ----------------------------------- */

static void
test_backend_results_give_upload_id_etag_and_error_code(void **state)
{
    s3_xml_result_t  r;

    assert_int_equal(s3_xml_result_parse(X(DECL
        "<InitiateMultipartUploadResult " NS "><Bucket>b</Bucket>"
        "<Key>k&amp;1</Key><UploadId>\n  VXBsb2Fk+/=.Id&lt;x&gt;  \n"
        "</UploadId></InitiateMultipartUploadResult>"), &r), S3_OK);
    assert_str(r.root, "InitiateMultipartUploadResult");
    assert_str(r.upload_id, "VXBsb2Fk+/=.Id<x>");
    assert_int_equal(r.etag.len, 0);
    assert_false(r.is_error);
    s3_xml_result_free(&r);

    /* S3 writes the quotes of a multipart ETag as entities */
    assert_int_equal(s3_xml_result_parse(X(
        "<CompleteMultipartUploadResult " NS "><Location>http://x/b/k"
        "</Location><Bucket>b</Bucket><Key>k</Key>"
        "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
        "<ETag>\"second\"</ETag></CompleteMultipartUploadResult>"), &r),
        S3_OK);
    assert_str(r.etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
    assert_int_equal(r.upload_id.len, 0);
    s3_xml_result_free(&r);

    /* the 200 with an error inside */
    assert_int_equal(s3_xml_result_parse(X(DECL "\n\n<Error><Code>InternalError"
        "</Code><Message>We encountered an internal error.</Message>"
        "<RequestId>R</RequestId></Error>"), &r), S3_OK);
    assert_true(r.is_error);
    assert_str(r.root, "Error");
    assert_str(r.code, "InternalError");
    s3_xml_result_free(&r);

    /* elements deeper than the root's children are not read */
    assert_int_equal(s3_xml_result_parse(X(
        "<R><X><UploadId>no</UploadId></X><UploadId>yes</UploadId></R>"),
        &r), S3_OK);
    assert_str(r.upload_id, "yes");
    assert_false(r.is_error);
    s3_xml_result_free(&r);
}


static void
test_backend_results_that_are_not_xml_are_internal_errors(void **state)
{
    s3_xml_result_t  r;

    assert_int_equal(s3_xml_result_parse(X("<Error><Code>x</Code>"), &r),
                     S3_ERR_INTERNAL);
    assert_null(r.mem);
    assert_int_equal(s3_xml_result_parse(X(""), &r), S3_ERR_INTERNAL);
    assert_int_equal(s3_xml_result_parse(X("Not Found"), &r),
                     S3_ERR_INTERNAL);
    assert_int_equal(s3_xml_result_parse(X(
        "<!DOCTYPE r [<!ENTITY e \"x\">]><R><UploadId>&e;</UploadId></R>"),
        &r), S3_ERR_INTERNAL);

    /* markup where a value belongs */
    assert_int_equal(s3_xml_result_parse(X(
        "<R><UploadId>a<b/>c</UploadId></R>"), &r), S3_ERR_INTERNAL);
    assert_null(r.mem);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_error_document_is_s3s_bytes),
        cmocka_unit_test(test_error_document_never_writes_past_cap),
        cmocka_unit_test(test_escape_handles_every_special),
        cmocka_unit_test(test_complete_parses_parts_and_checksums),
        cmocka_unit_test(test_complete_errors_are_s3s),
        cmocka_unit_test(test_complete_part_count_limit),
        cmocka_unit_test(test_entity_attacks_are_malformed_xml),
        cmocka_unit_test(test_sse_config_parses_what_clients_send),
        cmocka_unit_test(test_sse_config_errors_are_s3s),
        cmocka_unit_test(test_get_bucket_encryption_body_is_s3s_bytes),
        cmocka_unit_test(test_delete_lists_keys_exactly),
        cmocka_unit_test(test_delete_errors),
        cmocka_unit_test(test_list_objects_sizes_rewritten_rest_untouched),
        cmocka_unit_test(test_list_v2_url_encoded_keys_are_decoded),
        cmocka_unit_test(test_list_versions_keeps_delete_markers),
        cmocka_unit_test(test_list_parts_sizes_and_checksums_dropped),
        cmocka_unit_test(test_list_parts_response_is_a_parts_listing),
        cmocka_unit_test(test_odd_listing_falls_back_to_libxml2_serialization),
        cmocka_unit_test(test_bad_listings_are_internal_errors),
        cmocka_unit_test(test_plaintext_size_inverts_design_formula),
        cmocka_unit_test(test_backend_results_give_upload_id_etag_and_error_code),
        cmocka_unit_test(test_backend_results_that_are_not_xml_are_internal_errors),
    };

    return UNIT_RUN(tests);
}
