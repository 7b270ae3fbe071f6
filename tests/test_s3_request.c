/*
 * S3 request classification: operations of every API the AWS CLI, boto3,
 * rclone and s3cmd use, addressing styles, key decoding, and S3's errors
 * for malformed requests.
 */

#include "unit.h"

#include "s3_request.h"


#define S(lit)  { sizeof(lit) - 1, (const unsigned char *) lit }

static const s3_str_t  vhosts[] = { S("s3.example.com"), S("gw.local") };


/* hdrs: name, value, name, value, ..., NULL */
static s3_err_t
classify_h(const char *method, const char *path, const char *query,
    const char *host, const char **hdrs, size_t nvhosts, s3_request_t *r)
{
    s3_request_in_t  in;
    s3_header_t      h[16];
    size_t           n = 0;

    memset(&in, 0, sizeof(in));
    in.method.data = (const unsigned char *) method;
    in.method.len = strlen(method);
    in.path.data = (const unsigned char *) path;
    in.path.len = strlen(path);
    in.query.data = (const unsigned char *) (query ? query : "");
    in.query.len = query ? strlen(query) : 0;
    in.host.data = (const unsigned char *) (host ? host : "");
    in.host.len = host ? strlen(host) : 0;

    while (hdrs && hdrs[2 * n]) {
        h[n].name.data = (const unsigned char *) hdrs[2 * n];
        h[n].name.len = strlen(hdrs[2 * n]);
        h[n].value.data = (const unsigned char *) hdrs[2 * n + 1];
        h[n].value.len = strlen(hdrs[2 * n + 1]);
        n++;
    }

    in.headers = h;
    in.nheaders = n;
    in.vhost_names = vhosts;
    in.nvhost_names = nvhosts;

    return s3_request_classify(&in, r);
}


static s3_err_t
classify(const char *method, const char *path, const char *query,
    s3_request_t *r)
{
    return classify_h(method, path, query, "localhost:8080", NULL, 2, r);
}


static void
assert_str(s3_str_t s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.data, want, s.len);
}


static const s3_xml_elem_t *
extra(const s3_request_t *r, const char *name)
{
    size_t  i;

    for (i = 0; i < r->error.nextra; i++) {
        if (strcmp(r->error.extra[i].name, name) == 0) {
            return &r->error.extra[i];
        }
    }

    return NULL;
}


/* ---- operations ------------------------------------------------------ */

typedef struct {
    const char  *method;
    const char  *path;
    const char  *query;
    const char  *copy_source;
    s3_op_t      op;
    s3_class_t   cls;
} op_case_t;

static const op_case_t  op_cases[] = {
    { "GET", "/", "", NULL, S3_OP_LIST_BUCKETS, S3_CLASS_PASS },
    { "GET", "/", "max-buckets=10&prefix=a&x-id=ListBuckets", NULL,
      S3_OP_LIST_BUCKETS, S3_CLASS_PASS },
    { "PUT", "/bkt", "", NULL, S3_OP_CREATE_BUCKET, S3_CLASS_PASS },
    { "PUT", "/bkt/", "", NULL, S3_OP_CREATE_BUCKET, S3_CLASS_PASS },
    { "DELETE", "/bkt", "", NULL, S3_OP_DELETE_BUCKET, S3_CLASS_PASS },
    { "HEAD", "/bkt", "", NULL, S3_OP_HEAD_BUCKET, S3_CLASS_PASS },
    { "GET", "/bkt", "location", NULL, S3_OP_GET_BUCKET_LOCATION,
      S3_CLASS_PASS },
    { "GET", "/bkt", "", NULL, S3_OP_LIST_OBJECTS, S3_CLASS_LIST },
    { "GET", "/bkt", "delimiter=%2F&encoding-type=url&marker=m&max-keys=5"
      "&prefix=p", NULL, S3_OP_LIST_OBJECTS, S3_CLASS_LIST },
    { "GET", "/bkt", "list-type=2&continuation-token=abc&fetch-owner=true"
      "&start-after=x", NULL, S3_OP_LIST_OBJECTS_V2, S3_CLASS_LIST },
    { "GET", "/bkt", "versions&key-marker=k&version-id-marker=v", NULL,
      S3_OP_LIST_OBJECT_VERSIONS, S3_CLASS_LIST },
    { "GET", "/bkt", "uploads&max-uploads=3&upload-id-marker=u", NULL,
      S3_OP_LIST_MULTIPART_UPLOADS, S3_CLASS_LIST },
    { "POST", "/bkt", "delete", NULL, S3_OP_DELETE_OBJECTS, S3_CLASS_PASS },
    { "POST", "/bkt", "delete=", NULL, S3_OP_DELETE_OBJECTS, S3_CLASS_PASS },
    { "PUT", "/bkt", "encryption", NULL, S3_OP_PUT_BUCKET_ENCRYPTION,
      S3_CLASS_BUCKET_ENCRYPTION },
    { "GET", "/bkt", "encryption", NULL, S3_OP_GET_BUCKET_ENCRYPTION,
      S3_CLASS_BUCKET_ENCRYPTION },
    { "DELETE", "/bkt", "encryption", NULL, S3_OP_DELETE_BUCKET_ENCRYPTION,
      S3_CLASS_BUCKET_ENCRYPTION },
    { "GET", "/bkt", "versioning", NULL, S3_OP_GET_BUCKET_VERSIONING,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "versioning", NULL, S3_OP_PUT_BUCKET_VERSIONING,
      S3_CLASS_PASS },
    { "GET", "/bkt", "tagging", NULL, S3_OP_GET_BUCKET_TAGGING,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "tagging", NULL, S3_OP_PUT_BUCKET_TAGGING,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "tagging", NULL, S3_OP_DELETE_BUCKET_TAGGING,
      S3_CLASS_PASS },
    { "GET", "/bkt", "acl", NULL, S3_OP_GET_BUCKET_ACL, S3_CLASS_PASS },
    { "PUT", "/bkt", "acl", NULL, S3_OP_PUT_BUCKET_ACL, S3_CLASS_PASS },
    { "GET", "/bkt", "cors", NULL, S3_OP_GET_BUCKET_CORS, S3_CLASS_PASS },
    { "PUT", "/bkt", "cors", NULL, S3_OP_PUT_BUCKET_CORS, S3_CLASS_PASS },
    { "DELETE", "/bkt", "cors", NULL, S3_OP_DELETE_BUCKET_CORS,
      S3_CLASS_PASS },
    { "GET", "/bkt", "lifecycle", NULL, S3_OP_GET_BUCKET_LIFECYCLE,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "lifecycle", NULL, S3_OP_PUT_BUCKET_LIFECYCLE,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "lifecycle", NULL, S3_OP_DELETE_BUCKET_LIFECYCLE,
      S3_CLASS_PASS },
    { "GET", "/bkt", "policy", NULL, S3_OP_GET_BUCKET_POLICY, S3_CLASS_PASS },
    { "PUT", "/bkt", "policy", NULL, S3_OP_PUT_BUCKET_POLICY, S3_CLASS_PASS },
    { "DELETE", "/bkt", "policy", NULL, S3_OP_DELETE_BUCKET_POLICY,
      S3_CLASS_PASS },
    { "GET", "/bkt", "policyStatus", NULL, S3_OP_GET_BUCKET_POLICY_STATUS,
      S3_CLASS_PASS },
    { "GET", "/bkt", "website", NULL, S3_OP_GET_BUCKET_WEBSITE,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "website", NULL, S3_OP_PUT_BUCKET_WEBSITE,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "website", NULL, S3_OP_DELETE_BUCKET_WEBSITE,
      S3_CLASS_PASS },
    { "GET", "/bkt", "logging", NULL, S3_OP_GET_BUCKET_LOGGING,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "logging", NULL, S3_OP_PUT_BUCKET_LOGGING,
      S3_CLASS_PASS },
    { "GET", "/bkt", "notification", NULL, S3_OP_GET_BUCKET_NOTIFICATION,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "notification", NULL, S3_OP_PUT_BUCKET_NOTIFICATION,
      S3_CLASS_PASS },
    { "GET", "/bkt", "replication", NULL, S3_OP_GET_BUCKET_REPLICATION,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "replication", NULL, S3_OP_PUT_BUCKET_REPLICATION,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "replication", NULL, S3_OP_DELETE_BUCKET_REPLICATION,
      S3_CLASS_PASS },
    { "GET", "/bkt", "ownershipControls", NULL,
      S3_OP_GET_BUCKET_OWNERSHIP_CONTROLS, S3_CLASS_PASS },
    { "PUT", "/bkt", "ownershipControls", NULL,
      S3_OP_PUT_BUCKET_OWNERSHIP_CONTROLS, S3_CLASS_PASS },
    { "DELETE", "/bkt", "ownershipControls", NULL,
      S3_OP_DELETE_BUCKET_OWNERSHIP_CONTROLS, S3_CLASS_PASS },
    { "GET", "/bkt", "publicAccessBlock", NULL, S3_OP_GET_PUBLIC_ACCESS_BLOCK,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "publicAccessBlock", NULL, S3_OP_PUT_PUBLIC_ACCESS_BLOCK,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "publicAccessBlock", NULL,
      S3_OP_DELETE_PUBLIC_ACCESS_BLOCK, S3_CLASS_PASS },
    { "GET", "/bkt", "accelerate", NULL, S3_OP_GET_BUCKET_ACCELERATE,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "accelerate", NULL, S3_OP_PUT_BUCKET_ACCELERATE,
      S3_CLASS_PASS },
    { "GET", "/bkt", "requestPayment", NULL, S3_OP_GET_BUCKET_REQUEST_PAYMENT,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "requestPayment", NULL, S3_OP_PUT_BUCKET_REQUEST_PAYMENT,
      S3_CLASS_PASS },
    { "GET", "/bkt", "object-lock", NULL, S3_OP_GET_OBJECT_LOCK_CONFIGURATION,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "object-lock", NULL, S3_OP_PUT_OBJECT_LOCK_CONFIGURATION,
      S3_CLASS_PASS },
    { "GET", "/bkt", "analytics", NULL, S3_OP_LIST_BUCKET_ANALYTICS,
      S3_CLASS_PASS },
    { "GET", "/bkt", "analytics&id=a1", NULL, S3_OP_GET_BUCKET_ANALYTICS,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "analytics&id=a1", NULL, S3_OP_PUT_BUCKET_ANALYTICS,
      S3_CLASS_PASS },
    { "DELETE", "/bkt", "analytics&id=a1", NULL,
      S3_OP_DELETE_BUCKET_ANALYTICS, S3_CLASS_PASS },
    { "GET", "/bkt", "metrics", NULL, S3_OP_LIST_BUCKET_METRICS,
      S3_CLASS_PASS },
    { "GET", "/bkt", "id=m&metrics", NULL, S3_OP_GET_BUCKET_METRICS,
      S3_CLASS_PASS },
    { "GET", "/bkt", "inventory", NULL, S3_OP_LIST_BUCKET_INVENTORY,
      S3_CLASS_PASS },
    { "PUT", "/bkt", "inventory&id=i", NULL, S3_OP_PUT_BUCKET_INVENTORY,
      S3_CLASS_PASS },
    { "GET", "/bkt", "intelligent-tiering", NULL,
      S3_OP_LIST_BUCKET_INTELLIGENT_TIERING, S3_CLASS_PASS },
    { "DELETE", "/bkt", "intelligent-tiering&id=t", NULL,
      S3_OP_DELETE_BUCKET_INTELLIGENT_TIERING, S3_CLASS_PASS },
    { "POST", "/bkt", "", NULL, S3_OP_POST_OBJECT,
      S3_CLASS_NOT_IMPLEMENTED },
    { "GET", "/bkt", "session", NULL, S3_OP_CREATE_SESSION,
      S3_CLASS_NOT_IMPLEMENTED },

    { "PUT", "/bkt/k", "", NULL, S3_OP_PUT_OBJECT, S3_CLASS_ENCRYPT },
    { "PUT", "/bkt/k", "x-id=PutObject", NULL, S3_OP_PUT_OBJECT,
      S3_CLASS_ENCRYPT },
    { "PUT", "/bkt/k", "", "/src/obj", S3_OP_COPY_OBJECT, S3_CLASS_ENCRYPT },
    { "POST", "/bkt/k", "uploads", NULL, S3_OP_CREATE_MULTIPART_UPLOAD,
      S3_CLASS_ENCRYPT },
    { "POST", "/bkt/k", "uploads=", NULL, S3_OP_CREATE_MULTIPART_UPLOAD,
      S3_CLASS_ENCRYPT },
    { "PUT", "/bkt/k", "partNumber=3&uploadId=UP", NULL, S3_OP_UPLOAD_PART,
      S3_CLASS_ENCRYPT },
    { "PUT", "/bkt/k", "uploadId=UP&partNumber=3", "src/o",
      S3_OP_UPLOAD_PART_COPY, S3_CLASS_ENCRYPT },
    { "POST", "/bkt/k", "uploadId=UP", NULL, S3_OP_COMPLETE_MULTIPART_UPLOAD,
      S3_CLASS_ENCRYPT },
    { "DELETE", "/bkt/k", "uploadId=UP", NULL, S3_OP_ABORT_MULTIPART_UPLOAD,
      S3_CLASS_PASS },
    { "GET", "/bkt/k", "uploadId=UP&max-parts=2&part-number-marker=1", NULL,
      S3_OP_LIST_PARTS, S3_CLASS_LIST },
    { "GET", "/bkt/k", "", NULL, S3_OP_GET_OBJECT, S3_CLASS_DECRYPT },
    { "GET", "/bkt/k", "partNumber=2&versionId=v&response-content-type=a%2Fb"
      "&response-content-disposition=x&response-cache-control=c"
      "&response-content-encoding=e&response-content-language=l"
      "&response-expires=t", NULL, S3_OP_GET_OBJECT, S3_CLASS_DECRYPT },
    { "GET", "/bkt/k", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a"
      "&X-Amz-Date=d&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=s&X-Amz-Security-Token=t", NULL, S3_OP_GET_OBJECT,
      S3_CLASS_DECRYPT },
    { "HEAD", "/bkt/k", "", NULL, S3_OP_HEAD_OBJECT, S3_CLASS_DECRYPT },
    { "HEAD", "/bkt/k", "partNumber=1", NULL, S3_OP_HEAD_OBJECT,
      S3_CLASS_DECRYPT },
    { "DELETE", "/bkt/k", "", NULL, S3_OP_DELETE_OBJECT, S3_CLASS_PASS },
    { "DELETE", "/bkt/k", "versionId=v1", NULL, S3_OP_DELETE_OBJECT,
      S3_CLASS_PASS },
    { "GET", "/bkt/k", "acl", NULL, S3_OP_GET_OBJECT_ACL, S3_CLASS_PASS },
    { "PUT", "/bkt/k", "acl", NULL, S3_OP_PUT_OBJECT_ACL, S3_CLASS_PASS },
    { "GET", "/bkt/k", "tagging&versionId=v", NULL, S3_OP_GET_OBJECT_TAGGING,
      S3_CLASS_PASS },
    { "PUT", "/bkt/k", "tagging", NULL, S3_OP_PUT_OBJECT_TAGGING,
      S3_CLASS_PASS },
    { "DELETE", "/bkt/k", "tagging", NULL, S3_OP_DELETE_OBJECT_TAGGING,
      S3_CLASS_PASS },
    { "GET", "/bkt/k", "retention", NULL, S3_OP_GET_OBJECT_RETENTION,
      S3_CLASS_PASS },
    { "PUT", "/bkt/k", "retention", NULL, S3_OP_PUT_OBJECT_RETENTION,
      S3_CLASS_PASS },
    { "GET", "/bkt/k", "legal-hold", NULL, S3_OP_GET_OBJECT_LEGAL_HOLD,
      S3_CLASS_PASS },
    { "PUT", "/bkt/k", "legal-hold", NULL, S3_OP_PUT_OBJECT_LEGAL_HOLD,
      S3_CLASS_PASS },
    { "OPTIONS", "/bkt/k", "", NULL, S3_OP_OPTIONS_OBJECT, S3_CLASS_PASS },
    { "GET", "/bkt/k", "attributes", NULL, S3_OP_GET_OBJECT_ATTRIBUTES,
      S3_CLASS_NOT_IMPLEMENTED },
    { "GET", "/bkt/k", "torrent", NULL, S3_OP_GET_OBJECT_TORRENT,
      S3_CLASS_NOT_IMPLEMENTED },
    { "POST", "/bkt/k", "restore&versionId=v", NULL, S3_OP_RESTORE_OBJECT,
      S3_CLASS_NOT_IMPLEMENTED },
    { "POST", "/bkt/k", "select&select-type=2", NULL,
      S3_OP_SELECT_OBJECT_CONTENT, S3_CLASS_NOT_IMPLEMENTED },
    { "PUT", "/bkt/k", "encryption", NULL, S3_OP_UPDATE_OBJECT_ENCRYPTION,
      S3_CLASS_NOT_IMPLEMENTED },
    { "POST", "/WriteGetObjectResponse", "", NULL,
      S3_OP_WRITE_GET_OBJECT_RESPONSE, S3_CLASS_NOT_IMPLEMENTED },
};


static void
test_every_operation_maps_to_its_class(void **state)
{
    size_t         i;
    s3_request_t   r;
    s3_err_t       rc, want;
    const char    *h[3];

    for (i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
        const op_case_t  *c = &op_cases[i];

        h[0] = c->copy_source ? "X-Amz-Copy-Source" : NULL;
        h[1] = c->copy_source;
        h[2] = NULL;

        rc = classify_h(c->method, c->path, c->query, "localhost", h, 2, &r);

        want = c->cls == S3_CLASS_NOT_IMPLEMENTED ? S3_ERR_NOT_IMPLEMENTED
                                                  : S3_OK;
        if (rc != want || r.op != c->op || r.cls != c->cls) {
            print_error("case %zu: %s %s?%s: got %s/%s rc %d (%s)\n", i,
                        c->method, c->path, c->query, s3_op_name(r.op),
                        s3_class_name(r.cls), rc,
                        r.reason ? r.reason : "");
        }

        assert_int_equal(rc, want);
        assert_int_equal(r.op, c->op);
        assert_int_equal(r.cls, c->cls);
        assert_int_equal(s3_op_class(r.op), c->cls);
    }
}


static void
test_op_names_are_aws_api_names(void **state)
{
    assert_string_equal(s3_op_name(S3_OP_PUT_OBJECT), "PutObject");
    assert_string_equal(s3_op_name(S3_OP_LIST_OBJECTS_V2), "ListObjectsV2");
    assert_string_equal(s3_op_name(S3_OP_UPLOAD_PART_COPY), "UploadPartCopy");
    assert_string_equal(s3_op_name(S3_OP_GET_BUCKET_LIFECYCLE),
                        "GetBucketLifecycleConfiguration");
    assert_string_equal(s3_op_name((s3_op_t) 9999), "Unknown");
    assert_int_equal(s3_op_class((s3_op_t) 9999), S3_CLASS_NOT_IMPLEMENTED);
}


/* ---- addressing -------------------------------------------------------- */

static void
test_path_style_key_is_decoded_exactly(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("GET", "/bkt/dir/a%20b+c%2Bd%25", "", &r),
                     S3_OK);
    assert_str(r.bucket, "bkt");
    assert_str(r.key, "dir/a b+c+d%");
    assert_true(r.has_key);
    assert_false(r.virtual_host);

    /* no normalization: empty, dot segments and the trailing slash stay */
    assert_int_equal(classify("PUT", "/bkt//a/./b/../c/", "", &r), S3_OK);
    assert_str(r.key, "/a/./b/../c/");

    /* UTF-8 keys */
    assert_int_equal(classify("GET", "/bkt/%E2%82%AC/%F0%9F%98%80", "", &r),
                     S3_OK);
    assert_str(r.key, "\xe2\x82\xac/\xf0\x9f\x98\x80");

    /* an encoded slash in the bucket segment is not a separator */
    assert_int_equal(classify("GET", "/b%2Fkt/k", "", &r),
                     S3_ERR_INVALID_BUCKET_NAME);

    /* "/bkt/" is the bucket, "/bkt//" the key "/" */
    assert_int_equal(classify("GET", "/bkt/", "", &r), S3_OK);
    assert_int_equal(r.op, S3_OP_LIST_OBJECTS);
    assert_false(r.has_key);
    assert_int_equal(classify("GET", "/bkt//", "", &r), S3_OK);
    assert_int_equal(r.op, S3_OP_GET_OBJECT);
    assert_str(r.key, "/");

    /* "//k" names no bucket: it is not ListBuckets with a key */
    assert_int_equal(classify("GET", "//k", "", &r),
                     S3_ERR_INVALID_BUCKET_NAME);
}


static void
test_virtual_hosted_style_takes_bucket_from_host(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify_h("GET", "/a/b", "", "my.bucket.s3.example.com"
                                ":8443", NULL, 2, &r), S3_OK);
    assert_true(r.virtual_host);
    assert_str(r.bucket, "my.bucket");
    assert_str(r.key, "a/b");

    /* DNS is case-insensitive: the bucket is lowercased */
    assert_int_equal(classify_h("GET", "/", "", "MyBucket.GW.Local.", NULL, 2,
                                &r), S3_OK);
    assert_str(r.bucket, "mybucket");
    assert_int_equal(r.op, S3_OP_LIST_OBJECTS);

    /* a key of "/" in virtual-hosted style */
    assert_int_equal(classify_h("GET", "//", "", "bkt.gw.local", NULL, 2, &r),
                     S3_OK);
    assert_str(r.key, "/");

    /* the configured name itself, an IP, localhost, another name: path */
    assert_int_equal(classify_h("GET", "/bkt/k", "", "s3.example.com", NULL,
                                2, &r), S3_OK);
    assert_false(r.virtual_host);
    assert_str(r.bucket, "bkt");

    assert_int_equal(classify_h("GET", "/bkt/k", "", "127.0.0.1:9000", NULL,
                                2, &r), S3_OK);
    assert_false(r.virtual_host);
    assert_str(r.bucket, "bkt");

    assert_int_equal(classify_h("GET", "/bkt/k", "", "[::1]:9000", NULL, 2,
                                &r), S3_OK);
    assert_false(r.virtual_host);

    assert_int_equal(classify_h("GET", "/bkt/k", "", "other.example.org",
                                NULL, 2, &r), S3_OK);
    assert_false(r.virtual_host);
    assert_str(r.bucket, "bkt");

    /* a name that only ends like a configured one is not a subdomain */
    assert_int_equal(classify_h("GET", "/bkt/k", "", "xs3.example.com",
                                NULL, 2, &r), S3_OK);
    assert_false(r.virtual_host);

    /* no configured names: path style only */
    assert_int_equal(classify_h("GET", "/bkt/k", "", "bucket.s3.example.com",
                                NULL, 0, &r), S3_OK);
    assert_false(r.virtual_host);
    assert_str(r.bucket, "bkt");

    /* the bucket from the Host is validated like any other */
    assert_int_equal(classify_h("GET", "/k", "", "bad_name.gw.local", NULL, 2,
                                &r), S3_ERR_INVALID_BUCKET_NAME);
}


static void
test_bucket_names_follow_s3_rules(void **state)
{
    size_t  i;
    char    n64[65];

    static const char  *good[] = {
        "abc", "a.b-c", "123", "my-bucket.2024", "xn-abc", "s3alias-x", NULL
    };
    static const char  *bad[] = {
        "ab", "Abc", "a_b", "a..b", "-ab", "ab-", ".ab", "192.168.1.1",
        "xn--abc", "sthree-x", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3",
        "abc.mrap", "abc--x-s3", "abc--table-s3", "a b", NULL
    };

    for (i = 0; good[i]; i++) {
        if (!s3_bucket_name_valid((const unsigned char *) good[i],
                                  strlen(good[i])))
        {
            fail_msg("valid name refused: %s", good[i]);
        }
    }

    for (i = 0; bad[i]; i++) {
        if (s3_bucket_name_valid((const unsigned char *) bad[i],
                                 strlen(bad[i])))
        {
            fail_msg("invalid name accepted: %s", bad[i]);
        }
    }

    memset(n64, 'a', 64);
    n64[64] = '\0';
    assert_false(s3_bucket_name_valid((unsigned char *) n64, 64));
    assert_true(s3_bucket_name_valid((unsigned char *) n64, 63));
}


static void
test_invalid_bucket_name_is_refused_with_its_name(void **state)
{
    s3_request_t          r;
    const s3_xml_elem_t  *x;

    assert_int_equal(classify("PUT", "/Bad_Bucket", "", &r),
                     S3_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(r.cls, S3_CLASS_INVALID);
    x = extra(&r, "BucketName");
    assert_non_null(x);
    assert_str(x->value, "Bad_Bucket");
}


static void
test_bad_percent_encoding_is_invalid_uri(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("GET", "/bkt/a%zz", "", &r), S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/a%4", "", &r), S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/a%", "", &r), S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/k", "prefix=%G1", &r),
                     S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bk%t/k", "", &r), S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "bkt/k", "", &r), S3_ERR_INVALID_URI);
}


static void
test_key_must_be_utf8_without_nul(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("GET", "/bkt/a%FF", "", &r), S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/a%00b", "", &r),
                     S3_ERR_INVALID_URI);
    /* overlong '/' and a UTF-16 surrogate */
    assert_int_equal(classify("GET", "/bkt/%C0%AF", "", &r),
                     S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/%ED%A0%80", "", &r),
                     S3_ERR_INVALID_URI);
    assert_int_equal(classify("GET", "/bkt/%F4%8F%BF%BF", "", &r), S3_OK);
    assert_int_equal(classify("GET", "/bkt/%F4%90%80%80", "", &r),
                     S3_ERR_INVALID_URI);
}


static void
test_key_over_1024_bytes_is_key_too_long(void **state)
{
    char                  path[10 * 1024];
    s3_request_t          r;
    const s3_xml_elem_t  *x;
    size_t                i;

    strcpy(path, "/bkt/");
    for (i = 0; i < 1024; i++) {
        path[5 + i] = 'k';
    }
    path[5 + 1024] = '\0';

    assert_int_equal(classify("PUT", path, "", &r), S3_OK);
    assert_int_equal(r.key.len, 1024);

    path[5 + 1024] = 'k';
    path[5 + 1025] = '\0';
    assert_int_equal(classify("PUT", path, "", &r), S3_ERR_KEY_TOO_LONG);
    x = extra(&r, "Size");
    assert_non_null(x);
    assert_str(x->value, "1025");
    x = extra(&r, "MaxSizeAllowed");
    assert_non_null(x);
    assert_str(x->value, "1024");

    /* the decoded bytes count: 1024 escapes are 1024 bytes */
    strcpy(path, "/bkt/");
    for (i = 0; i < 1024; i++) {
        memcpy(path + 5 + 3 * i, "%41", 3);
    }
    path[5 + 3 * 1024] = '\0';
    assert_int_equal(classify("PUT", path, "", &r), S3_OK);
    assert_int_equal(r.key.len, 1024);

    /* 342 euro signs are 1026 bytes of UTF-8 */
    for (i = 0; i < 342; i++) {
        memcpy(path + 5 + 9 * i, "%E2%82%AC", 9);
    }
    path[5 + 9 * 342] = '\0';
    assert_int_equal(classify("PUT", path, "", &r), S3_ERR_KEY_TOO_LONG);
}


/* ---- query parameters ------------------------------------------------ */

static void
test_part_number_out_of_range_is_invalid_argument(void **state)
{
    s3_request_t          r;
    const s3_xml_elem_t  *x;

    assert_int_equal(classify("PUT", "/bkt/k", "partNumber=1&uploadId=u", &r),
                     S3_OK);
    assert_int_equal(r.part_number, 1);
    assert_int_equal(classify("PUT", "/bkt/k", "partNumber=10000&uploadId=u",
                              &r), S3_OK);
    assert_int_equal(r.part_number, 10000);

    assert_int_equal(classify("PUT", "/bkt/k", "partNumber=10001&uploadId=u",
                              &r), S3_ERR_INVALID_ARGUMENT);
    assert_string_equal(r.error.message,
                        "Part number must be an integer between 1 and 10000,"
                        " inclusive");
    x = extra(&r, "ArgumentName");
    assert_non_null(x);
    assert_str(x->value, "partNumber");
    x = extra(&r, "ArgumentValue");
    assert_non_null(x);
    assert_str(x->value, "10001");

    assert_int_equal(classify("GET", "/bkt/k", "partNumber=0", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(r.op, S3_OP_UNKNOWN);

    assert_int_equal(classify("GET", "/bkt/k", "partNumber=abc", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_string_equal(r.error.message,
                        "Provided partNumber not an integer or within "
                        "integer range");
    assert_int_equal(classify("GET", "/bkt/k", "partNumber=-1", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(classify("GET", "/bkt/k", "partNumber=99999999999", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(classify("GET", "/bkt/k", "partNumber=", &r),
                     S3_ERR_INVALID_ARGUMENT);
}


static void
test_multipart_needs_both_upload_id_and_part_number(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("PUT", "/bkt/k", "uploadId=u", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(r.op, S3_OP_UPLOAD_PART);
    assert_int_equal(classify("PUT", "/bkt/k", "partNumber=2", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(classify("POST", "/bkt/k", "uploadId=", &r),
                     S3_ERR_NO_SUCH_UPLOAD);
}


static void
test_ids_are_decoded_with_plus_as_space(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("GET", "/bkt/k", "versionId=a+b%2Bc", &r),
                     S3_OK);
    assert_true(r.has_version);
    assert_str(r.version_id, "a b+c");

    assert_int_equal(classify("PUT", "/bkt/k",
                              "partNumber=7&uploadId=VXBsb2Fk%3D%3D", &r),
                     S3_OK);
    assert_true(r.has_upload);
    assert_str(r.upload_id, "VXBsb2Fk==");
    assert_int_equal(r.part_number, 7);

    /* an encoded parameter name is the name */
    assert_int_equal(classify("GET", "/bkt/k", "upload%49d=zz", &r), S3_OK);
    assert_int_equal(r.op, S3_OP_LIST_PARTS);
    assert_str(r.upload_id, "zz");
}


static void
test_unknown_query_parameter_is_not_implemented(void **state)
{
    s3_request_t          r;
    const s3_xml_elem_t  *x;

    assert_int_equal(classify("GET", "/bkt/k", "renameObject", &r),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(r.cls, S3_CLASS_NOT_IMPLEMENTED);
    x = extra(&r, "QueryParameter");
    assert_non_null(x);
    assert_str(x->value, "renameObject");
    assert_string_equal(r.error.message, "A query parameter you provided "
                        "implies functionality that is not implemented");

    /* subresources are case-sensitive in S3 */
    assert_int_equal(classify("POST", "/bkt/k", "UPLOADS", &r),
                     S3_ERR_NOT_IMPLEMENTED);
    /* a subresource at the wrong level */
    assert_int_equal(classify("GET", "/bkt", "attributes", &r),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(classify("GET", "/", "acl", &r), S3_ERR_NOT_IMPLEMENTED);
}


static void
test_repeated_or_combined_subresources_are_refused(void **state)
{
    s3_request_t          r;
    const s3_xml_elem_t  *x;

    assert_int_equal(classify("PUT", "/bkt/k",
                              "partNumber=1&uploadId=a&uploadId=b", &r),
                     S3_ERR_INVALID_ARGUMENT);
    x = extra(&r, "ArgumentName");
    assert_non_null(x);
    assert_str(x->value, "uploadId");

    assert_int_equal(classify("GET", "/bkt/k", "versionId=a&versionId=b", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(classify("PUT", "/bkt/k",
                              "partNumber=1&partNumber=2&uploadId=a", &r),
                     S3_ERR_INVALID_ARGUMENT);
    assert_int_equal(classify("GET", "/bkt", "acl&tagging", &r),
                     S3_ERR_NOT_IMPLEMENTED);

    /* harmless parameters may repeat; empty pairs are skipped */
    assert_int_equal(classify("GET", "/bkt", "prefix=a&prefix=b&&", &r),
                     S3_OK);
}


static void
test_list_type_other_than_2_is_invalid(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("GET", "/bkt", "list-type=2", &r), S3_OK);
    assert_true(r.list_v2);
    assert_int_equal(classify("GET", "/bkt", "list-type=3", &r),
                     S3_ERR_INVALID_ARGUMENT);
}


static void
test_wrong_method_for_resource(void **state)
{
    s3_request_t  r;

    assert_int_equal(classify("DELETE", "/", "", &r),
                     S3_ERR_METHOD_NOT_ALLOWED);
    assert_int_equal(classify("DELETE", "/bkt", "location", &r),
                     S3_ERR_METHOD_NOT_ALLOWED);
    assert_int_equal(classify("HEAD", "/bkt", "acl", &r),
                     S3_ERR_METHOD_NOT_ALLOWED);
    assert_int_equal(classify("POST", "/bkt/k", "", &r),
                     S3_ERR_METHOD_NOT_ALLOWED);
    assert_int_equal(classify("PATCH", "/bkt/k", "", &r),
                     S3_ERR_NOT_IMPLEMENTED);
    assert_int_equal(classify("POST", "/bkt/k", "select", &r),
                     S3_ERR_NOT_IMPLEMENTED);
}


/* ---- copies ------------------------------------------------------------ */

static void
test_copy_source_is_parsed_and_decoded(void **state)
{
    s3_request_t  r;
    const char   *h[] = { "x-amz-copy-source",
                          "/src-bkt/dir/a%2Fb%20c?versionId=v%2B1", NULL };
    const char   *h2[] = { "x-amz-copy-source", "src-bkt/k", NULL };

    assert_int_equal(classify_h("PUT", "/dst/k", "", "localhost", h, 2, &r),
                     S3_OK);
    assert_int_equal(r.op, S3_OP_COPY_OBJECT);
    assert_str(r.copy_bucket, "src-bkt");
    assert_str(r.copy_key, "dir/a/b c");
    assert_true(r.has_copy_version);
    assert_str(r.copy_version_id, "v+1");

    assert_int_equal(classify_h("PUT", "/dst/k", "", "localhost", h2, 2, &r),
                     S3_OK);
    assert_str(r.copy_bucket, "src-bkt");
    assert_str(r.copy_key, "k");
    assert_false(r.has_copy_version);
}


static void
test_malformed_copy_source_is_invalid_argument(void **state)
{
    size_t                i;
    s3_request_t          r;
    const s3_xml_elem_t  *x;
    const char           *h[3] = { "x-amz-copy-source", NULL, NULL };

    static const char  *bad[] = {
        "srcbucket", "/srcbucket", "srcbucket/", "/srcbucket/", "/",
        "src/k%zz", "src/k?foo=1", "src/k?versionId=a&x=1", "src/a%00b", NULL
    };

    for (i = 0; bad[i]; i++) {
        h[1] = bad[i];

        if (classify_h("PUT", "/dst/k", "", "localhost", h, 2, &r)
            != S3_ERR_INVALID_ARGUMENT)
        {
            fail_msg("copy source accepted: %s", bad[i]);
        }

        assert_string_equal(r.error.message, "Copy Source must mention the "
                            "source bucket and key: sourcebucket/sourcekey");
        x = extra(&r, "ArgumentName");
        assert_non_null(x);
        assert_str(x->value, "x-amz-copy-source");
        x = extra(&r, "ArgumentValue");
        assert_non_null(x);
        assert_str(x->value, bad[i]);
    }

    h[1] = "Bad_Bucket/k";
    assert_int_equal(classify_h("PUT", "/dst/k", "", "localhost", h, 2, &r),
                     S3_ERR_INVALID_BUCKET_NAME);

    h[1] = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap/object/k";
    assert_int_equal(classify_h("PUT", "/dst/k", "", "localhost", h, 2, &r),
                     S3_ERR_NOT_IMPLEMENTED);
}


static void
test_copy_source_range_only_bytes_first_last(void **state)
{
    s3_request_t  r;
    const char   *h[] = { "x-amz-copy-source", "s3c/k",
                          "x-amz-copy-source-range", NULL, NULL };
    size_t        i;

    static const char  *bad[] = {
        "bytes=5-4", "bytes=-4", "bytes=4-", "bytes=a-b", "bytes 0-1",
        "bytes=0-1,3-4", "bytes=0-99999999999999999999", NULL
    };

    h[3] = "bytes=0-5242879";
    assert_int_equal(classify_h("PUT", "/dst/k", "partNumber=1&uploadId=u",
                                "localhost", h, 2, &r), S3_OK);
    assert_int_equal(r.op, S3_OP_UPLOAD_PART_COPY);
    assert_true(r.has_copy_range);
    assert_int_equal(r.copy_first, 0);
    assert_int_equal(r.copy_last, 5242879);

    for (i = 0; bad[i]; i++) {
        h[3] = bad[i];
        if (classify_h("PUT", "/dst/k", "partNumber=1&uploadId=u",
                       "localhost", h, 2, &r)
            != S3_ERR_INVALID_ARGUMENT)
        {
            fail_msg("copy range accepted: %s", bad[i]);
        }
    }
}


/* ---- helpers --------------------------------------------------------- */

static void
test_arn_builders(void **state)
{
    char      buf[64];
    s3_str_t  b = S("bkt"), k = S("a/b c");

    assert_int_equal(s3_arn_object(buf, sizeof(buf), b, k), 22);
    assert_string_equal(buf, "arn:aws:s3:::bkt/a/b c");
    assert_int_equal(s3_arn_bucket(buf, sizeof(buf), b), 16);
    assert_string_equal(buf, "arn:aws:s3:::bkt");

    /* too small: the length is still told, nothing past cap is written */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(s3_arn_object(buf, 10, b, k), 22);
    assert_memory_equal(buf, "arn:aws:s3", 10);
    assert_int_equal(buf[10], 'X');
    assert_int_equal(s3_arn_object(NULL, 0, b, k), 22);
}


static void
test_percent_decode_and_utf8_helpers(void **state)
{
    unsigned char  out[16];

    assert_int_equal(s3_percent_decode(out, sizeof(out),
                                       (const unsigned char *) "%41%2b+", 7, 0),
                     3);
    assert_memory_equal(out, "A++", 3);
    assert_int_equal(s3_percent_decode(out, sizeof(out),
                                       (const unsigned char *) "%41%2b+", 7, 1),
                     3);
    assert_memory_equal(out, "A+ ", 3);
    assert_int_equal(s3_percent_decode(out, 2,
                                       (const unsigned char *) "abc", 3, 0),
                     -1);

    assert_true(s3_utf8_valid((const unsigned char *) "a\xc3\xa9", 3));
    assert_false(s3_utf8_valid((const unsigned char *) "\xc3", 1));
    assert_false(s3_utf8_valid((const unsigned char *) "\xe0\x80\x80", 3));
    assert_false(s3_utf8_valid((const unsigned char *) "\x80", 1));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_every_operation_maps_to_its_class),
        cmocka_unit_test(test_op_names_are_aws_api_names),
        cmocka_unit_test(test_path_style_key_is_decoded_exactly),
        cmocka_unit_test(test_virtual_hosted_style_takes_bucket_from_host),
        cmocka_unit_test(test_bucket_names_follow_s3_rules),
        cmocka_unit_test(test_invalid_bucket_name_is_refused_with_its_name),
        cmocka_unit_test(test_bad_percent_encoding_is_invalid_uri),
        cmocka_unit_test(test_key_must_be_utf8_without_nul),
        cmocka_unit_test(test_key_over_1024_bytes_is_key_too_long),
        cmocka_unit_test(test_part_number_out_of_range_is_invalid_argument),
        cmocka_unit_test(test_multipart_needs_both_upload_id_and_part_number),
        cmocka_unit_test(test_ids_are_decoded_with_plus_as_space),
        cmocka_unit_test(test_unknown_query_parameter_is_not_implemented),
        cmocka_unit_test(test_repeated_or_combined_subresources_are_refused),
        cmocka_unit_test(test_list_type_other_than_2_is_invalid),
        cmocka_unit_test(test_wrong_method_for_resource),
        cmocka_unit_test(test_copy_source_is_parsed_and_decoded),
        cmocka_unit_test(test_malformed_copy_source_is_invalid_argument),
        cmocka_unit_test(test_copy_source_range_only_bytes_first_last),
        cmocka_unit_test(test_arn_builders),
        cmocka_unit_test(test_percent_decode_and_utf8_helpers),
    };

    return UNIT_RUN(tests);
}
