/*
 * CopyObject's x-amz-tagging-directive COPY: GetObjectTagging's document
 * turned into the x-amz-tagging header (s3/s3_tagging.h).
 */

#include "unit.h"

#include "s3_tagging.h"


#define DOC(set)                                                              \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                            \
    "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"             \
    "<TagSet>" set "</TagSet></Tagging>"


static s3_err_t
conv(const char *xml, char **out, size_t *outlen)
{
    return s3_tagging_from_xml((const unsigned char *) xml, strlen(xml), out,
                               outlen);
}


static void
expect(const char *xml, const char *want)
{
    char    *out;
    size_t   len;

    assert_int_equal(conv(xml, &out, &len), S3_OK);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_string_equal(out, want);
    free(out);
}


static void
refused(const char *xml)
{
    char    *out;
    size_t   len;

    assert_int_equal(conv(xml, &out, &len), S3_ERR_MALFORMED_XML);
    assert_null(out);
    assert_int_equal(len, 0);
}


static void
test_tag_set_becomes_query_form_in_order(void **state)
{
    (void) state;

    expect(DOC("<Tag><Key>colour</Key><Value>blue</Value></Tag>"
               "<Tag><Key>a</Key><Value>1</Value></Tag>"),
           "colour=blue&a=1");

    /* pretty-printed, as moto and S3 may send it; Value before Key */
    expect("<Tagging>\n  <TagSet>\n    <Tag>\n      <Value>v</Value>\n"
           "      <Key>k</Key>\n    </Tag>\n  </TagSet>\n</Tagging>\n",
           "k=v");
}


static void
test_reserved_bytes_are_percent_encoded(void **state)
{
    (void) state;

    /* space, '+', '&', '=', '/', '%', UTF-8: all encoded; -_.~ not */
    expect(DOC("<Tag><Key>my key+1</Key><Value>a&amp;b=c/d%e</Value></Tag>"
               "<Tag><Key>x-y_z.w~</Key><Value>\xc3\xa9t\xc3\xa9</Value>"
               "</Tag>"),
           "my%20key%2B1=a%26b%3Dc%2Fd%25e&x-y_z.w~=%C3%A9t%C3%A9");

    /* character references and CDATA are text like any other */
    expect(DOC("<Tag><Key>&#60;k&#62;</Key><Value><![CDATA[<&>]]></Value>"
               "</Tag>"),
           "%3Ck%3E=%3C%26%3E");
}


static void
test_empty_value_and_empty_set(void **state)
{
    (void) state;

    expect(DOC("<Tag><Key>flag</Key><Value></Value></Tag>"
               "<Tag><Key>f2</Key><Value/></Tag>"),
           "flag=&f2=");
    expect(DOC(""), "");
    expect("<Tagging><TagSet/></Tagging>", "");
}


static void
test_encode_counts_and_stops_at_cap(void **state)
{
    unsigned char  buf[8];
    size_t         n;

    (void) state;

    assert_int_equal(s3_tagging_encode(NULL, 0, (const unsigned char *) "a b",
                                       3), 5);

    memset(buf, '#', sizeof(buf));
    n = s3_tagging_encode(buf, 4, (const unsigned char *) "ab c", 4);
    assert_int_equal(n, 6);
    /* "ab" fits, "%20" does not: nothing of it is written */
    assert_memory_equal(buf, "ab##", 4);
    assert_int_equal(buf[4], '#');
}


static void
test_malformed_documents_are_refused(void **state)
{
    char    big[S3_TAGGING_MAX_DOC + 64], *out;
    char    many[S3_TAGGING_MAX_TAGS * 64 + 128];
    int     i, n;
    size_t  len;

    (void) state;

    refused("");
    refused("<Tagging><TagSet>");
    refused("<Other><TagSet/></Other>");
    refused("<Tagging/>");                                 /* no TagSet */
    refused("<Tagging><TagSet/><TagSet/></Tagging>");
    refused("<Tagging><TagSet/><Extra/></Tagging>");
    refused(DOC("<Tag><Key>k</Key></Tag>"));               /* no Value */
    refused(DOC("<Tag><Value>v</Value></Tag>"));           /* no Key */
    refused(DOC("<Tag><Key></Key><Value>v</Value></Tag>"));
    refused(DOC("<Tag><Key>k</Key><Key>k2</Key><Value>v</Value></Tag>"));
    refused(DOC("<Tag><Key>k</Key><Value>v</Value><X/></Tag>"));
    refused(DOC("<Tag><Key>k<b/></Key><Value>v</Value></Tag>"));
    refused(DOC("<Tag><Key>k</Key><Value>1</Value></Tag>"
                "<Tag><Key>k</Key><Value>2</Value></Tag>"));   /* twice */
    refused(DOC("<NotTag/>"));
    refused("<Tagging xmlns=\"urn:other\"><TagSet/></Tagging>");

    /* DTDs and entities: never expanded, refused */
    refused("<!DOCTYPE Tagging [<!ENTITY e \"boom\">]>"
            "<Tagging><TagSet><Tag><Key>&e;</Key><Value>v</Value></Tag>"
            "</TagSet></Tagging>");

    /* a NUL inside */
    assert_int_equal(s3_tagging_from_xml((const unsigned char *)
                                         "<Tagging>\0</Tagging>", 20, &out,
                                         &len),
                     S3_ERR_MALFORMED_XML);
    assert_null(out);

    /* over the size cap, however well-formed */
    n = snprintf(big, sizeof(big), "<Tagging><TagSet>");
    while (n < S3_TAGGING_MAX_DOC) {
        n += snprintf(big + n, sizeof(big) - n, "<!-- padding -->");
    }
    n += snprintf(big + n, sizeof(big) - n, "</TagSet></Tagging>");
    refused(big);

    /* more tags than the cap */
    n = snprintf(many, sizeof(many), "<Tagging><TagSet>");
    for (i = 0; i <= S3_TAGGING_MAX_TAGS; i++) {
        n += snprintf(many + n, sizeof(many) - n,
                      "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
    }
    snprintf(many + n, sizeof(many) - n, "</TagSet></Tagging>");
    refused(many);
}


static void
test_tag_cap_itself_is_accepted(void **state)
{
    char    many[S3_TAGGING_MAX_TAGS * 64 + 128], *out;
    size_t  len;
    int     i, n;

    (void) state;

    n = snprintf(many, sizeof(many), "<Tagging><TagSet>");
    for (i = 0; i < S3_TAGGING_MAX_TAGS; i++) {
        n += snprintf(many + n, sizeof(many) - n,
                      "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
    }
    snprintf(many + n, sizeof(many) - n, "</TagSet></Tagging>");

    assert_int_equal(conv(many, &out, &len), S3_OK);
    assert_non_null(strstr(out, "k0=v&k1=v&"));
    assert_non_null(strstr(out, "&k49=v"));
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_set_becomes_query_form_in_order),
        cmocka_unit_test(test_reserved_bytes_are_percent_encoded),
        cmocka_unit_test(test_empty_value_and_empty_set),
        cmocka_unit_test(test_encode_counts_and_stops_at_cap),
        cmocka_unit_test(test_malformed_documents_are_refused),
        cmocka_unit_test(test_tag_cap_itself_is_accepted),
    };

    return UNIT_RUN(tests);
}
