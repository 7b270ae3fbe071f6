/*
 * The XML reader the s3/ parsers share (internal: libxml2 types).
 *
 * s3_xml_read() is the one place that parses untrusted XML: no DTD (a
 * "<!" that is not a comment or CDATA is refused before libxml2 sees the
 * text), no entity substitution, no network, the encoding forced to
 * UTF-8, NUL bytes and documents over 2 GiB refused, a root element
 * required.  Blank text nodes are dropped unless S3_XML_KEEP_BLANKS (a
 * leaf whose value may be all blanks, such as a tag's).
 */

#ifndef S3_XML_DOM_H
#define S3_XML_DOM_H

#include <stddef.h>

#include <libxml/tree.h>

#include "s3_err.h"


#define S3_XML_KEEP_BLANKS  0x01

s3_err_t s3_xml_read(const unsigned char *xml, size_t len, unsigned flags,
    xmlDocPtr *doc);

/* 1 for what element-only content may hold besides elements */
int s3_xml_blank(xmlNodePtr n);

#endif /* S3_XML_DOM_H */
