/*
 * Object tags for CopyObject's x-amz-tagging-directive COPY: the source's
 * tag set, as GetObjectTagging answers it, turned into the x-amz-tagging
 * header a PutObject takes (URL query form: key=value pairs joined by
 * '&', each key and value percent-encoded, RFC 3986 unreserved bytes
 * left as they are).
 *
 * The document is parsed with libxml2 without entity substitution, DTD
 * loading or network access; one with a DOCTYPE or an entity reference
 * is refused.
 */

#ifndef S3_TAGGING_H
#define S3_TAGGING_H

#include <stddef.h>

#include "s3_err.h"


/* what a document may hold: S3 keeps 10 tags; backends may keep more */
#define S3_TAGGING_MAX_TAGS      50
#define S3_TAGGING_MAX_DOC       (64 * 1024)


/*
 * <Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet>
 * </Tagging> (the S3 namespace or none) -> "k=v&...", in the document's
 * order, in *out (malloc'ed, NUL-terminated, free() it) of length
 * *outlen; an empty tag set gives "" (length 0).  S3_ERR_MALFORMED_XML
 * for anything else (a tag without its Key or Value, an empty key, a key
 * twice, more than S3_TAGGING_MAX_TAGS tags, a document over
 * S3_TAGGING_MAX_DOC bytes); S3_ERR_INTERNAL when memory runs out.
 */
s3_err_t s3_tagging_from_xml(const unsigned char *xml, size_t len,
    char **out, size_t *outlen);

/*
 * Percent-encodes in[0..len) as a tag key or value of x-amz-tagging:
 * writes at most cap bytes to out (NULL: counts only) and returns the
 * length the encoding needs.
 */
size_t s3_tagging_encode(unsigned char *out, size_t cap,
    const unsigned char *in, size_t len);


#endif /* S3_TAGGING_H */
