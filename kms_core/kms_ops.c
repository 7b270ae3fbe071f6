/*
 * The AWS KMS JSON API operations: request members checked as AWS checks
 * them (SerializationException for a wrong JSON type, ValidationException
 * listing every constraint violated), then an exec step that resolves the
 * key, asks the key policy, checks the key state, and answers or prepares
 * a write (kms_call.c).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kms_call.h"


typedef struct {
    kms_buf_t   msg;
    int         n;
} kms_verr_t;


#define KMS_RESOLVE(c, ref, flags, k)                                         \
    do {                                                                      \
        int  r_ = kms_resolve(c, ref, flags, &k);                             \
        if (r_ == KMS_R_FETCH) {                                              \
            return KMS_X_FETCH;                                               \
        }                                                                     \
        if (r_ == KMS_R_WRITE) {                                              \
            return KMS_X_WRITE;                                               \
        }                                                                     \
        if (r_ != KMS_R_OK) {                                                 \
            return KMS_X_DONE;                                                \
        }                                                                     \
        kms_set_resource(c, k);                                               \
    } while (0)


static const char *const  kms_enum_key_spec[] = {
    "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
    "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
    "HMAC_256", "HMAC_384", "HMAC_512", "SM2", "ML_DSA_44", "ML_DSA_65",
    "ML_DSA_87", "ECC_NIST_EDWARDS25519", NULL
};

static const char *const  kms_enum_cmk_spec[] = {
    "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
    "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
    "HMAC_256", "HMAC_384", "HMAC_512", "SM2", NULL
};

static const char *const  kms_enum_key_usage[] = {
    "SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT",
    NULL
};

static const char *const  kms_enum_origin[] = {
    "AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE", NULL
};

static const char *const  kms_enum_enc_alg[] = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE",
    NULL
};

static const char *const  kms_enum_data_key_spec[] = {
    "AES_256", "AES_128", NULL
};

static const char *const  kms_enum_include[] = {
    "ALL_KEY_MATERIAL", "ROTATIONS_ONLY", NULL
};


/* ---- request members ---------------------------------------------------- */

static const char *
kms_json_token(const kms_json_t *v)
{
    switch (v->type) {
    case KMS_JSON_STRING:   return "STRING_VALUE";
    case KMS_JSON_INTEGER:
    case KMS_JSON_REAL:     return "NUMBER_VALUE";
    case KMS_JSON_TRUE:     return "TRUE_VALUE";
    case KMS_JSON_FALSE:    return "FALSE_VALUE";
    default:                return "VALUE";
    }
}


/* a member of the wrong JSON type: SerializationException */
static int
kms_ser(kms_call_t *c, const kms_json_t *v, const char *want)
{
    if (kms_json_is(v, KMS_JSON_OBJECT)) {
        kms_fail(c, KMS_ERR_SERIALIZATION, "Start of structure or map found "
                 "where not expected.");

    } else if (kms_json_is(v, KMS_JSON_ARRAY)) {
        kms_fail(c, KMS_ERR_SERIALIZATION, "Start of list found where not "
                 "expected");

    } else {
        kms_fail(c, KMS_ERR_SERIALIZATION, "%s can not be converted to %s",
                 kms_json_token(v), want);
    }

    return -1;
}


static void
kms_verr(kms_verr_t *ve, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
kms_verr(kms_verr_t *ve, const char *fmt, ...)
{
    va_list  ap;
    char     tmp[1];
    int      n;
    char    *s;

    va_start(ap, fmt);
    n = vsnprintf(tmp, 0, fmt, ap);
    va_end(ap);

    if (n < 0) {
        return;
    }

    s = malloc((size_t) n + 1);
    if (s == NULL) {
        ve->msg.failed = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(s, (size_t) n + 1, fmt, ap);
    va_end(ap);

    if (ve->n++) {
        kms_buf_str(&ve->msg, "; ");
    }
    kms_buf_add(&ve->msg, s, (size_t) n);
    free(s);
}


/* characters, as AWS counts them, not bytes */
static size_t
kms_utf8_len(const char *s, size_t n)
{
    size_t  i, len = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            len++;
        }
    }

    return len;
}


static kms_json_t *
kms_member(kms_call_t *c, const char *member)
{
    kms_json_t  *v = kms_json_get(c->req, member);

    return v == NULL || v->type == KMS_JSON_NULL ? NULL : v;
}


static void
kms_verr_length(kms_verr_t *ve, const char *field, const char *val,
    size_t len, size_t min, size_t max, int sensitive)
{
    if (len >= min && len <= max) {
        return;
    }

    if (sensitive || val == NULL) {
        kms_verr(ve, "Value at '%s' failed to satisfy constraint: Member must "
                 "have length %s than or equal to %zu", field,
                 len < min ? "greater" : "less", len < min ? min : max);
    } else {
        kms_verr(ve, "Value '%s' at '%s' failed to satisfy constraint: Member "
                 "must have length %s than or equal to %zu", val, field,
                 len < min ? "greater" : "less", len < min ? min : max);
    }
}


static int
kms_p_str(kms_call_t *c, kms_verr_t *ve, const char *member,
    const char *field, int required, size_t min, size_t max,
    const char **out)
{
    kms_json_t  *v = kms_member(c, member);

    *out = NULL;

    if (v == NULL) {
        if (required) {
            kms_verr(ve, "Value null at '%s' failed to satisfy constraint: "
                     "Member must not be null", field);
        }
        return 0;
    }

    if (!kms_json_is(v, KMS_JSON_STRING)) {
        return kms_ser(c, v, "a String");
    }

    *out = v->str;
    kms_verr_length(ve, field, *out,
                    kms_utf8_len(*out, v->len), min, max, 0);
    return 0;
}


static int
kms_p_enum(kms_call_t *c, kms_verr_t *ve, const char *member,
    const char *field, const char *const *set, const char **out)
{
    size_t     i;
    kms_buf_t  list;

    if (kms_p_str(c, ve, member, field, 0, 0, (size_t) -1, out) != 0) {
        return -1;
    }

    if (*out == NULL) {
        return 0;
    }

    for (i = 0; set[i]; i++) {
        if (strcmp(set[i], *out) == 0) {
            return 0;
        }
    }

    kms_buf_init(&list);
    for (i = 0; set[i]; i++) {
        kms_buf_str(&list, i ? ", " : "");
        kms_buf_str(&list, set[i]);
    }

    kms_verr(ve, "Value '%s' at '%s' failed to satisfy constraint: Member "
             "must satisfy enum value set: [%s]", *out, field,
             list.data ? list.data : "");
    kms_buf_free(&list);
    return 0;
}


static int
kms_p_int(kms_call_t *c, kms_verr_t *ve, const char *member,
    const char *field, long long min, long long max, long long *out,
    unsigned *has)
{
    kms_json_t     *v = kms_member(c, member);
    long long   n;

    *has = 0;

    if (v == NULL) {
        return 0;
    }

    if (!kms_json_is(v, KMS_JSON_INTEGER)) {
        return kms_ser(c, v, "an Integer");
    }

    n = (v)->integer;
    *out = n;
    *has = 1;

    if (n < min) {
        kms_verr(ve, "Value '%lld' at '%s' failed to satisfy constraint: "
                 "Member must have value greater than or equal to %lld", n,
                 field, min);

    } else if (n > max) {
        kms_verr(ve, "Value '%lld' at '%s' failed to satisfy constraint: "
                 "Member must have value less than or equal to %lld", n,
                 field, max);
    }

    return 0;
}


static int
kms_p_bool(kms_call_t *c, const char *member, int *out)
{
    kms_json_t  *v = kms_member(c, member);

    *out = 0;

    if (v == NULL) {
        return 0;
    }

    if (!(kms_json_is(v, KMS_JSON_TRUE) || kms_json_is(v, KMS_JSON_FALSE))) {
        return kms_ser(c, v, "a Boolean");
    }

    *out = kms_json_is(v, KMS_JSON_TRUE);
    return 0;
}


static int
kms_p_blob(kms_call_t *c, kms_verr_t *ve, const char *member,
    const char *field, int required, size_t min, size_t max, int secure,
    unsigned char **out, size_t *outlen)
{
    kms_json_t         *v = kms_member(c, member);
    const char     *s;
    size_t          n, cap;
    long            len;
    unsigned char  *buf;

    *out = NULL;
    *outlen = 0;

    if (v == NULL) {
        if (required) {
            kms_verr(ve, "Value null at '%s' failed to satisfy constraint: "
                     "Member must not be null", field);
        }
        return 0;
    }

    if (!kms_json_is(v, KMS_JSON_STRING)) {
        return kms_ser(c, v, "a Blob");
    }

    s = v->str;
    n = v->len;
    cap = n / 4 * 3 + 3;

    buf = secure ? kms_smalloc(cap) : malloc(cap);
    if (buf == NULL) {
        kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
        return -1;
    }

    len = kms_base64_decode(s, n, buf, cap);
    if (len < 0) {
        if (secure) {
            OPENSSL_secure_clear_free(buf, cap);
        } else {
            free(buf);
        }
        kms_fail(c, KMS_ERR_SERIALIZATION, "Could not decode the base64 "
                 "value of %s", member);
        return -1;
    }

    *out = buf;
    *outlen = (size_t) len;

    kms_verr_length(ve, field, NULL, (size_t) len, min, max, 1);
    return 0;
}


static int
kms_p_context(kms_call_t *c, const char *member, kms_json_t **json,
    kms_ectx_t *ectx, kms_buf_t *canon)
{
    kms_json_t  *v = kms_member(c, member);

    *json = v;

    if (v != NULL && !kms_json_is(v, KMS_JSON_OBJECT)) {
        return kms_ser(c, v, "a Map");
    }

    if (kms_ectx_from_json(ectx, v) != 0) {
        kms_fail(c, KMS_ERR_SERIALIZATION, "Start of structure or map found "
                 "where not expected.");
        return -1;
    }

    kms_buf_reset(canon);
    if (kms_ectx_canonical(ectx, canon) != 0) {
        kms_fail(c, KMS_ERR_VALIDATION, "The encryption context is too "
                 "large.");
        return -1;
    }

    return 0;
}


static int
kms_p_grants(kms_call_t *c, kms_verr_t *ve)
{
    kms_json_t  *v = kms_member(c, "GrantTokens"), *e;
    size_t   i;

    if (v == NULL) {
        return 0;
    }

    if (!kms_json_is(v, KMS_JSON_ARRAY)) {
        return kms_ser(c, v, "a List");
    }

    for (i = 0, e = v->first; e; e = e->next, i++) {
        if (!kms_json_is(e, KMS_JSON_STRING)) {
            return kms_ser(c, e, "a String");
        }
    }

    if ((v)->n > 10) {
        kms_verr(ve, "Value at 'grantTokens' failed to satisfy constraint: "
                 "Member must have length less than or equal to 10");
    }

    return 0;
}


static int
kms_p_done(kms_call_t *c, kms_verr_t *ve)
{
    int  dry = 0;

    if (c->err == KMS_OK && kms_p_bool(c, "DryRun", &dry) == 0) {
        c->p.dry_run = dry;
    }

    if (c->err == KMS_OK) {
        kms_fail_validation(c, &ve->msg, ve->n);
    }

    kms_buf_free(&ve->msg);
    return 0;
}


static int
kms_p_key_id(kms_call_t *c, kms_verr_t *ve, int required)
{
    return kms_p_str(c, ve, "KeyId", "keyId", required, 1, 2048,
                     &c->p.key_id);
}


/* ---- answers ------------------------------------------------------------ */

static void
kms_body_open(kms_call_t *c)
{
    kms_buf_str(&c->body, "{");
}


static void
kms_body_member(kms_call_t *c, const char *name)
{
    if (c->body.len > 1) {
        kms_buf_str(&c->body, ",");
    }
    kms_buf_jstr(&c->body, name);
    kms_buf_str(&c->body, ":");
}


static void
kms_body_str(kms_call_t *c, const char *name, const char *value)
{
    kms_body_member(c, name);
    kms_buf_jstr(&c->body, value);
}


static void
kms_body_b64(kms_call_t *c, const char *name, const unsigned char *p,
    size_t n)
{
    kms_body_member(c, name);
    kms_buf_str(&c->body, "\"");
    kms_buf_b64(&c->body, p, n);
    kms_buf_str(&c->body, "\"");
}


static void
kms_body_close(kms_call_t *c)
{
    kms_buf_str(&c->body, "}");
}


static kms_x_t
kms_nomem(kms_call_t *c)
{
    kms_fail(c, KMS_ERR_INTERNAL, "%s", kms_err_message(KMS_ERR_INTERNAL));
    return KMS_X_DONE;
}


/* a DryRun request stops once it would have succeeded */
static int
kms_dry_run(kms_call_t *c)
{
    if (!c->p.dry_run) {
        return 0;
    }

    kms_fail(c, KMS_ERR_DRY_RUN, "The request would have succeeded, but the "
             "DryRun option is set.");
    return 1;
}


static int
kms_not_aws_managed(kms_call_t *c, const kms_key_t *k)
{
    if (!k->aws_managed) {
        return 0;
    }

    kms_fail(c, KMS_ERR_UNSUPPORTED, "%s is an AWS managed key. You cannot "
             "change it.", k->arn);
    return -1;
}


static int
kms_not_pending(kms_call_t *c, const kms_key_t *k)
{
    if (k->state != KMS_KS_PENDING_DELETION) {
        return 0;
    }

    kms_fail(c, KMS_ERR_INVALID_STATE, "%s is pending deletion.", k->arn);
    return -1;
}


/* ---- tags --------------------------------------------------------------- */

static int
kms_p_tags(kms_call_t *c, kms_verr_t *ve, int required)
{
    kms_json_t      *v = kms_member(c, "Tags"), *e, *tk, *tv;
    size_t       i;
    char         field[64];
    const char  *s;

    c->p.tags = v;

    if (v == NULL) {
        if (required) {
            kms_verr(ve, "Value null at 'tags' failed to satisfy constraint: "
                     "Member must not be null");
        }
        return 0;
    }

    if (!kms_json_is(v, KMS_JSON_ARRAY)) {
        return kms_ser(c, v, "a List");
    }

    for (i = 0, e = v->first; e; e = e->next, i++) {
        if (!kms_json_is(e, KMS_JSON_OBJECT)) {
            return kms_ser(c, e, "a Tag");
        }

        tk = kms_json_get(e, "TagKey");
        tv = kms_json_get(e, "TagValue");

        snprintf(field, sizeof(field), "tags.%zu.member.tagKey", i + 1);
        if (tk == NULL || kms_json_is(tk, KMS_JSON_NULL)) {
            kms_verr(ve, "Value null at '%s' failed to satisfy constraint: "
                     "Member must not be null", field);
        } else if (!kms_json_is(tk, KMS_JSON_STRING)) {
            return kms_ser(c, tk, "a String");
        } else {
            s = tk->str;
            kms_verr_length(ve, field, s,
                            kms_utf8_len(s, tk->len), 1, 128,
                            0);
        }

        snprintf(field, sizeof(field), "tags.%zu.member.tagValue", i + 1);
        if (tv == NULL || kms_json_is(tv, KMS_JSON_NULL)) {
            kms_verr(ve, "Value null at '%s' failed to satisfy constraint: "
                     "Member must not be null", field);
        } else if (!kms_json_is(tv, KMS_JSON_STRING)) {
            return kms_ser(c, tv, "a String");
        } else {
            s = tv->str;
            kms_verr_length(ve, field, s,
                            kms_utf8_len(s, tv->len), 0, 256,
                            0);
        }
    }

    return 0;
}


/* applies the request's Tags to k; -1 with the error set */
static int
kms_apply_tags(kms_call_t *c, kms_key_t *k)
{
    kms_json_t      *e;
    size_t       i, j;
    const char  *tk, *tv;
    kms_tag_t   *nt;
    char        *nv;

    for (i = 0, e = c->p.tags->first; e; e = e->next, i++) {
        tk = kms_json_get(e, "TagKey")->str;
        if (strncmp(tk, "aws:", 4) == 0) {
            kms_fail(c, KMS_ERR_TAG, "Tag keys beginning with aws: are "
                     "reserved for AWS use.");
            return -1;
        }
    }

    for (i = 0, e = c->p.tags->first; e; e = e->next, i++) {
        tk = kms_json_get(e, "TagKey")->str;
        tv = kms_json_get(e, "TagValue")->str;

        for (j = 0; j < k->ntags; j++) {
            if (strcmp(k->tags[j].key, tk) == 0) {
                break;
            }
        }

        if (j < k->ntags) {
            nv = strdup(tv);
            if (nv == NULL) {
                return -1;
            }
            free(k->tags[j].value);
            k->tags[j].value = nv;
            continue;
        }

        if (k->ntags >= KMS_MAX_TAGS) {
            kms_fail(c, KMS_ERR_TAG, "The request would exceed the limit of "
                     "%d tags on %s.", KMS_MAX_TAGS, k->arn);
            return -1;
        }

        nt = realloc(k->tags, (k->ntags + 1) * sizeof(kms_tag_t));
        if (nt == NULL) {
            return -1;
        }
        k->tags = nt;
        nt[k->ntags].key = strdup(tk);
        nt[k->ntags].value = strdup(tv);
        k->ntags++;
        if (nt[k->ntags - 1].key == NULL || nt[k->ntags - 1].value == NULL) {
            return -1;
        }
    }

    return 0;
}


/* ---- CreateKey ---------------------------------------------------------- */

static int
kms_parse_create_key(kms_call_t *c)
{
    kms_verr_t   ve = { { 0 }, 0 };
    const char  *usage, *cmk_spec, *spec, *origin, *store, *xks;
    int          multi = 0, bypass = 0;

    if (kms_p_str(c, &ve, "Policy", "policy", 0, 1, KMS_POLICY_MAX_LEN,
                  &c->p.policy) != 0
        || kms_p_str(c, &ve, "Description", "description", 0, 0, 8192,
                     &c->p.description) != 0
        || kms_p_enum(c, &ve, "KeyUsage", "keyUsage", kms_enum_key_usage,
                      &usage) != 0
        || kms_p_enum(c, &ve, "CustomerMasterKeySpec",
                      "customerMasterKeySpec", kms_enum_cmk_spec, &cmk_spec)
           != 0
        || kms_p_enum(c, &ve, "KeySpec", "keySpec", kms_enum_key_spec, &spec)
           != 0
        || kms_p_enum(c, &ve, "Origin", "origin", kms_enum_origin, &origin)
           != 0
        || kms_p_str(c, &ve, "CustomKeyStoreId", "customKeyStoreId", 0, 1, 64,
                     &store) != 0
        || kms_p_str(c, &ve, "XksKeyId", "xksKeyId", 0, 1, 128, &xks) != 0
        || kms_p_bool(c, "BypassPolicyLockoutSafetyCheck", &bypass) != 0
        || kms_p_bool(c, "MultiRegion", &multi) != 0
        || kms_p_tags(c, &ve, 0) != 0)
    {
        kms_buf_free(&ve.msg);
        return 0;
    }

    c->p.bypass = bypass;
    kms_p_done(c, &ve);

    if (c->err != KMS_OK) {
        return 0;
    }

    if (spec != NULL && cmk_spec != NULL) {
        kms_fail(c, KMS_ERR_VALIDATION, "You cannot specify KeySpec and "
                 "CustomerMasterKeySpec in the same request. "
                 "CustomerMasterKeySpec is deprecated.");
        return 0;
    }

    if (spec == NULL) {
        spec = cmk_spec;
    }

    if (spec != NULL && strcmp(spec, "SYMMETRIC_DEFAULT") != 0) {
        kms_fail(c, KMS_ERR_UNSUPPORTED, "KeySpec %s is not supported by "
                 "this key service: only SYMMETRIC_DEFAULT keys are.", spec);
        return 0;
    }

    if (usage != NULL && strcmp(usage, "ENCRYPT_DECRYPT") != 0) {
        kms_fail(c, KMS_ERR_UNSUPPORTED, "KeyUsage %s is not supported by "
                 "this key service: only ENCRYPT_DECRYPT keys are.", usage);
        return 0;
    }

    if ((origin != NULL && strcmp(origin, "AWS_KMS") != 0)
        || store != NULL || xks != NULL)
    {
        kms_fail(c, KMS_ERR_UNSUPPORTED, "Origin %s is not supported by this "
                 "key service: only AWS_KMS keys are.",
                 origin ? origin : "AWS_CLOUDHSM");
        return 0;
    }

    if (multi) {
        kms_fail(c, KMS_ERR_UNSUPPORTED, "Multi-Region keys are not "
                 "supported by this key service.");
    }

    return 0;
}


static kms_x_t
kms_exec_create_key(kms_call_t *c)
{
    kms_key_t         *k;
    kms_policy_t      *pol;
    char               msg[512];

    k = kms_new_key(c, kms_account(c), 0, c->p.description, NULL);
    if (k == NULL) {
        return KMS_X_DONE;
    }

    if (c->p.policy != NULL) {
        if (kms_policy_parse(c->p.policy, strlen(c->p.policy), &pol, msg,
                             sizeof(msg)) != KMS_OK)
        {
            kms_key_free(k);
            kms_fail(c, KMS_ERR_MALFORMED_POLICY, "%s", msg);
            return KMS_X_DONE;
        }

        if (!c->p.bypass
            && !kms_policy_allows_put_policy(pol, c->caller->arn,
                                             kms_account(c), k->arn))
        {
            kms_policy_free(pol);
            kms_key_free(k);
            kms_fail(c, KMS_ERR_MALFORMED_POLICY, "The new key policy will "
                     "not allow you to update the key policy in the "
                     "future.");
            return KMS_X_DONE;
        }

        kms_policy_free(pol);

        if (kms_key_set_policy(k, c->p.policy, strlen(c->p.policy)) != 0) {
            kms_key_free(k);
            return kms_nomem(c);
        }
    }

    if (c->p.tags != NULL && kms_apply_tags(c, k) != 0) {
        kms_key_free(k);
        return c->err ? KMS_X_DONE : kms_nomem(c);
    }

    kms_set_resource(c, k);

    if (kms_dry_run(c)) {
        kms_key_free(k);
        return KMS_X_DONE;
    }

    kms_body_open(c);
    kms_body_member(c, "KeyMetadata");
    kms_key_metadata_json(c, &c->body, k, 0);
    kms_body_close(c);

    kms_buf_str(&c->resp_el, "{\"keyMetadata\":");
    kms_key_metadata_json(c, &c->resp_el, k, 1);
    kms_buf_str(&c->resp_el, "}");

    if (kms_w_key(c, k, 0, 0) != 0 || kms_w_account_add(c, k) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


/* ---- one key ------------------------------------------------------------ */

static int
kms_parse_key(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_key_id(c, &ve, 1) == 0) {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_describe_key(kms_call_t *c)
{
    kms_key_t  *k;

    KMS_RESOLVE(c, c->p.key_id, KMS_RES_CROSS_ACCOUNT | KMS_RES_CREATE_AWS, k);

    if (kms_authorize(c, k, "kms:DescribeKey", NULL) != 0) {
        return KMS_X_DONE;
    }

    kms_body_open(c);
    kms_body_member(c, "KeyMetadata");
    kms_key_metadata_json(c, &c->body, k, 0);
    kms_body_close(c);
    return KMS_X_DONE;
}


static kms_x_t
kms_exec_set_state(kms_call_t *c, int enable)
{
    kms_key_t  *k, *nk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, enable ? "kms:EnableKey" : "kms:DisableKey", NULL)
        != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    if (k->state == (enable ? KMS_KS_ENABLED : KMS_KS_DISABLED)) {
        return KMS_X_DONE;                  /* nothing changes */
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    nk->state = enable ? KMS_KS_ENABLED : KMS_KS_DISABLED;

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_enable_key(kms_call_t *c)
{
    return kms_exec_set_state(c, 1);
}


static kms_x_t
kms_exec_disable_key(kms_call_t *c)
{
    return kms_exec_set_state(c, 0);
}


static int
kms_parse_update_description(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_str(c, &ve, "Description", "description", 1, 0, 8192,
                     &c->p.description) == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_update_description(kms_call_t *c)
{
    kms_key_t  *k, *nk;
    char       *d;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:UpdateKeyDescription", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    d = strdup(c->p.description);
    if (nk == NULL || d == NULL) {
        kms_key_free(nk);
        free(d);
        return kms_nomem(c);
    }

    free(nk->description);
    nk->description = d;

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


/* ---- ListKeys ----------------------------------------------------------- */

static int
kms_parse_list(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_int(c, &ve, "Limit", "limit", 1, 1000, &c->p.limit,
                  &(unsigned) { 0 }) != 0
        || kms_p_str(c, &ve, "Marker", "marker", 0, 1, 1024, &c->p.marker)
           != 0)
    {
        kms_buf_free(&ve.msg);
        return 0;
    }

    c->p.has_limit = kms_json_is(kms_member(c, "Limit"), KMS_JSON_INTEGER);
    kms_p_done(c, &ve);
    return 0;
}


static int
kms_key_cmp(const void *a, const void *b)
{
    const kms_key_t  *x = *(const kms_key_t *const *) a;
    const kms_key_t  *y = *(const kms_key_t *const *) b;

    if (x->created_ms != y->created_ms) {
        return x->created_ms < y->created_ms ? -1 : 1;
    }

    return strcmp(x->id_text, y->id_text);
}


static kms_x_t
kms_exec_list_keys(kms_call_t *c)
{
    kms_key_t   **all, *k;
    size_t        i, n = 0, start = 0, limit, out;
    const char   *acct = kms_account(c);
    long long     mc;
    char          mid[KMS_ID_TEXT_LEN + 1];

    all = malloc((c->ctx->ring.nkeys + 1) * sizeof(kms_key_t *));
    if (all == NULL) {
        return kms_nomem(c);
    }

    for (i = 0; i < c->ctx->ring.nkeys_buckets; i++) {
        for (k = c->ctx->ring.keys[i]; k; k = k->next) {
            if (k->state != KMS_KS_UNAVAILABLE && !k->internal
                && strcmp(k->account, acct) == 0)
            {
                all[n++] = k;
            }
        }
    }

    qsort(all, n, sizeof(kms_key_t *), kms_key_cmp);

    if (c->p.marker != NULL) {
        /* the marker names the first key of the next page */
        if (sscanf(c->p.marker, "%lld:%36s", &mc, mid) != 2
            || strlen(mid) != KMS_ID_TEXT_LEN)
        {
            free(all);
            kms_fail(c, KMS_ERR_INVALID_MARKER, "Invalid marker");
            return KMS_X_DONE;
        }

        for (start = 0; start < n; start++) {
            if (all[start]->created_ms > mc
                || (all[start]->created_ms == mc
                    && strcmp(all[start]->id_text, mid) >= 0))
            {
                break;
            }
        }
    }

    limit = c->p.has_limit ? (size_t) c->p.limit : 100;

    kms_body_open(c);
    kms_body_member(c, "Keys");
    kms_buf_str(&c->body, "[");

    for (i = start, out = 0; i < n && out < limit; i++, out++) {
        kms_buf_str(&c->body, out ? ",{\"KeyArn\":" : "{\"KeyArn\":");
        kms_buf_jstr(&c->body, all[i]->arn);
        kms_buf_str(&c->body, ",\"KeyId\":");
        kms_buf_jstr(&c->body, all[i]->id_text);
        kms_buf_str(&c->body, "}");
    }

    kms_buf_str(&c->body, "]");

    if (i < n) {
        kms_body_member(c, "NextMarker");
        kms_buf_fmt(&c->body, "\"%lld:%s\"", (long long) all[i]->created_ms,
                    all[i]->id_text);
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "true");

    } else {
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "false");
    }

    kms_body_close(c);
    free(all);
    return KMS_X_DONE;
}


/* ---- aliases ------------------------------------------------------------ */

static int
kms_alias_chars_ok(const char *s)
{
    for ( ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == ':' || *s == '/'
              || *s == '_' || *s == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
kms_p_alias_name(kms_call_t *c, kms_verr_t *ve)
{
    const char  *n;

    if (kms_p_str(c, ve, "AliasName", "aliasName", 1, 1, 256,
                  &c->p.alias_name) != 0)
    {
        return -1;
    }

    n = c->p.alias_name;
    if (n != NULL && !kms_alias_chars_ok(n)) {
        kms_verr(ve, "Value '%s' at 'aliasName' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: "
                 "^[a-zA-Z0-9:/_-]+$", n);
    }

    return 0;
}


/* the checks AWS makes on a name once the members are well-formed */
static int
kms_alias_name_ok(kms_call_t *c, const char *n)
{
    /* AWS answers this one as a ValidationException, not InvalidAliasName */
    if (strncmp(n, "alias/", 6) != 0) {
        kms_fail(c, KMS_ERR_VALIDATION, "Alias must start with the "
                 "prefix \"alias/\". Please see https://docs.aws.amazon.com/"
                 "kms/latest/developerguide/kms-alias.html");
        return -1;
    }

    if (strncmp(n, "alias/aws/", 10) == 0) {
        kms_fail(c, KMS_ERR_ACCESS_DENIED, "Alias names that begin with "
                 "alias/aws/ are reserved for AWS managed keys.");
        return -1;
    }

    if (strchr(n, ':') != NULL) {
        kms_fail(c, KMS_ERR_VALIDATION, "%s contains invalid characters for "
                 "an alias", n);
        return -1;
    }

    if (n[6] == '\0') {
        kms_fail(c, KMS_ERR_INVALID_ALIAS_NAME, "Alias name must not be "
                 "empty after the prefix \"alias/\".");
        return -1;
    }

    return 0;
}


static int
kms_parse_alias(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_alias_name(c, &ve) == 0
        && kms_p_str(c, &ve, "TargetKeyId", "targetKeyId", 1, 1, 2048,
                     &c->p.target_key_id) == 0)
    {
        kms_p_done(c, &ve);
        if (c->err == KMS_OK) {
            (void) kms_alias_name_ok(c, c->p.alias_name);
        }
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static int
kms_parse_alias_name(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_alias_name(c, &ve) == 0) {
        kms_p_done(c, &ve);
        if (c->err == KMS_OK) {
            (void) kms_alias_name_ok(c, c->p.alias_name);
        }
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static int
kms_target_ok(kms_call_t *c, const char *t)
{
    if (strncmp(t, "alias/", 6) == 0
        || (strncmp(t, "arn:", 4) == 0 && strstr(t, ":alias/") != NULL))
    {
        kms_fail(c, KMS_ERR_VALIDATION, "Aliases must refer to keys. Not "
                 "aliases");
        return -1;
    }

    return 0;
}


static size_t
kms_alias_index(const kms_key_t *k, const char *name)
{
    size_t  i;

    for (i = 0; i < k->naliases; i++) {
        if (strcmp(k->aliases[i].name, name) == 0) {
            return i;
        }
    }

    return (size_t) -1;
}


static int
kms_alias_add(kms_key_t *k, const char *name, int64_t created, int64_t now)
{
    kms_alias_t  *na;

    na = realloc(k->aliases, (k->naliases + 1) * sizeof(kms_alias_t));
    if (na == NULL) {
        return -1;
    }
    k->aliases = na;

    na[k->naliases].name = strdup(name);
    if (na[k->naliases].name == NULL) {
        return -1;
    }
    na[k->naliases].created_ms = created;
    na[k->naliases].updated_ms = now;
    k->naliases++;
    return 0;
}


static void
kms_alias_remove(kms_key_t *k, size_t i)
{
    free(k->aliases[i].name);
    memmove(&k->aliases[i], &k->aliases[i + 1],
            (k->naliases - i - 1) * sizeof(kms_alias_t));
    k->naliases--;
}


static kms_x_t
kms_exec_create_alias(kms_call_t *c)
{
    kms_key_t  *k, *existing = NULL, *nk;
    int         r;

    if (kms_target_ok(c, c->p.target_key_id) != 0) {
        return KMS_X_DONE;
    }

    KMS_RESOLVE(c, c->p.target_key_id, KMS_RES_NO_ALIAS, k);

    /* is the name taken?  Ask Redis before saying it is free */
    r = kms_resolve(c, c->p.alias_name, 0, &existing);
    if (r == KMS_R_FETCH) {
        return KMS_X_FETCH;
    }
    if (r == KMS_R_OK) {
        kms_fail(c, KMS_ERR_ALREADY_EXISTS, "An alias with the name "
                 "arn:%s:kms:%s:%s:%s already exists", c->ctx->partition,
                 c->ctx->region, kms_account(c), c->p.alias_name);
        return KMS_X_DONE;
    }
    if (c->err != KMS_ERR_NOT_FOUND) {
        return KMS_X_DONE;
    }
    c->err = KMS_OK;
    free(c->errmsg);
    c->errmsg = NULL;

    if (kms_authorize(c, k, "kms:CreateAlias", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0)
    {
        return KMS_X_DONE;
    }

    if (k->naliases >= KMS_MAX_ALIASES) {
        kms_fail(c, KMS_ERR_LIMIT_EXCEEDED, "The request would exceed the "
                 "limit of %d aliases on %s.", KMS_MAX_ALIASES, k->arn);
        return KMS_X_DONE;
    }

    if (kms_dry_run(c)) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL
        || kms_alias_add(nk, c->p.alias_name, c->caller->now_ms,
                         c->caller->now_ms) != 0)
    {
        kms_key_free(nk);
        return kms_nomem(c);
    }

    if (kms_w_key(c, nk, k->rev, k->nver) != 0
        || kms_w_alias(c, k->account, c->p.alias_name, "absent", NULL,
                       k->id_text) != 0)
    {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_update_alias(kms_call_t *c)
{
    kms_key_t  *k, *old, *nk, *nold;
    size_t      i;
    int64_t     created;

    if (kms_target_ok(c, c->p.target_key_id) != 0) {
        return KMS_X_DONE;
    }

    KMS_RESOLVE(c, c->p.alias_name, 0, old);
    KMS_RESOLVE(c, c->p.target_key_id, KMS_RES_NO_ALIAS, k);

    if (kms_authorize(c, old, "kms:UpdateAlias", NULL) != 0
        || kms_authorize(c, k, "kms:UpdateAlias", NULL) != 0
        || kms_not_aws_managed(c, old) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    if (old == k) {
        return KMS_X_DONE;
    }

    if (k->naliases >= KMS_MAX_ALIASES) {
        kms_fail(c, KMS_ERR_LIMIT_EXCEEDED, "The request would exceed the "
                 "limit of %d aliases on %s.", KMS_MAX_ALIASES, k->arn);
        return KMS_X_DONE;
    }

    i = kms_alias_index(old, c->p.alias_name);
    created = i != (size_t) -1 ? old->aliases[i].created_ms
                               : c->caller->now_ms;

    nold = kms_key_clone(old);
    nk = kms_key_clone(k);
    if (nold == NULL || nk == NULL
        || kms_alias_add(nk, c->p.alias_name, created, c->caller->now_ms)
           != 0)
    {
        kms_key_free(nold);
        kms_key_free(nk);
        return kms_nomem(c);
    }

    if (i != (size_t) -1) {
        kms_alias_remove(nold, i);
    }

    if (kms_w_key(c, nold, old->rev, old->nver) != 0
        || kms_w_key(c, nk, k->rev, k->nver) != 0
        || kms_w_alias(c, k->account, c->p.alias_name, "is", old->id_text,
                       k->id_text) != 0)
    {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_delete_alias(kms_call_t *c)
{
    kms_key_t  *k, *nk;
    size_t      i;

    KMS_RESOLVE(c, c->p.alias_name, 0, k);

    if (kms_authorize(c, k, "kms:DeleteAlias", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    i = kms_alias_index(k, c->p.alias_name);
    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    if (i != (size_t) -1) {
        kms_alias_remove(nk, i);
    }

    if (kms_w_key(c, nk, k->rev, k->nver) != 0
        || kms_w_alias(c, k->account, c->p.alias_name, "is", k->id_text,
                       NULL) != 0)
    {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static int
kms_parse_list_aliases(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 0) != 0
        || kms_p_int(c, &ve, "Limit", "limit", 1, 100, &c->p.limit, &has)
           != 0
        || kms_p_str(c, &ve, "Marker", "marker", 0, 1, 320, &c->p.marker)
           != 0)
    {
        kms_buf_free(&ve.msg);
        return 0;
    }

    c->p.has_limit = has;
    kms_p_done(c, &ve);
    return 0;
}


typedef struct {
    const kms_key_t    *key;
    const kms_alias_t  *alias;
} kms_alias_row_t;


static int
kms_alias_row_cmp(const void *a, const void *b)
{
    const kms_alias_row_t  *x = a, *y = b;

    return strcmp(x->alias->name, y->alias->name);
}


static kms_x_t
kms_exec_list_aliases(kms_call_t *c)
{
    kms_key_t        *k, *only = NULL;
    kms_alias_row_t  *rows = NULL, *nr;
    size_t            i, j, n = 0, start = 0, limit, out;
    const char       *acct = kms_account(c);
    kms_buf_t         arn;

    if (c->p.key_id != NULL) {
        if (kms_target_ok(c, c->p.key_id) != 0) {
            return KMS_X_DONE;
        }
        KMS_RESOLVE(c, c->p.key_id, KMS_RES_NO_ALIAS, only);
        c->res_arn[0] = '\0';
    }

    for (i = 0; i < c->ctx->ring.nkeys_buckets; i++) {
        for (k = c->ctx->ring.keys[i]; k; k = k->next) {
            if (k->state == KMS_KS_UNAVAILABLE || k->internal
                || strcmp(k->account, acct) != 0
                || (only != NULL && k != only))
            {
                continue;
            }

            for (j = 0; j < k->naliases; j++) {
                /* only what the alias table agrees with */
                if (kms_ring_alias(&c->ctx->ring, acct, k->aliases[j].name)
                    != k)
                {
                    continue;
                }
                nr = realloc(rows, (n + 1) * sizeof(kms_alias_row_t));
                if (nr == NULL) {
                    free(rows);
                    return kms_nomem(c);
                }
                rows = nr;
                rows[n].key = k;
                rows[n].alias = &k->aliases[j];
                n++;
            }
        }
    }

    if (n) {
        qsort(rows, n, sizeof(kms_alias_row_t), kms_alias_row_cmp);
    }

    if (c->p.marker != NULL) {
        for (start = 0; start < n; start++) {
            if (strcmp(rows[start].alias->name, c->p.marker) >= 0) {
                break;
            }
        }
    }

    limit = c->p.has_limit ? (size_t) c->p.limit : 50;
    kms_buf_init(&arn);

    kms_body_open(c);
    kms_body_member(c, "Aliases");
    kms_buf_str(&c->body, "[");

    for (i = start, out = 0; i < n && out < limit; i++, out++) {
        kms_buf_str(&c->body, out ? ",{\"AliasName\":" : "{\"AliasName\":");
        kms_buf_jstr(&c->body, rows[i].alias->name);
        arn.len = 0;
        kms_buf_fmt(&arn, "arn:%s:kms:%s:%s:%s", c->ctx->partition,
                    c->ctx->region, acct, rows[i].alias->name);
        kms_buf_str(&c->body, ",\"AliasArn\":");
        kms_buf_json(&c->body, arn.data ? arn.data : "", arn.len);
        kms_buf_str(&c->body, ",\"TargetKeyId\":");
        kms_buf_jstr(&c->body, rows[i].key->id_text);
        kms_buf_str(&c->body, ",\"CreationDate\":");
        kms_buf_date(&c->body, rows[i].alias->created_ms);
        kms_buf_str(&c->body, ",\"LastUpdatedDate\":");
        kms_buf_date(&c->body, rows[i].alias->updated_ms);
        kms_buf_str(&c->body, "}");
    }

    kms_buf_str(&c->body, "]");

    if (i < n) {
        kms_body_str(c, "NextMarker", rows[i].alias->name);
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "true");

    } else {
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "false");
    }

    kms_body_close(c);
    kms_buf_free(&arn);
    free(rows);
    return KMS_X_DONE;
}


/* ---- crypto ------------------------------------------------------------- */

static int
kms_p_enc_alg(kms_call_t *c, kms_verr_t *ve, const char *member,
    const char *field)
{
    const char  *alg;

    if (kms_p_enum(c, ve, member, field, kms_enum_enc_alg, &alg) != 0) {
        return -1;
    }

    if (alg != NULL && ve->n == 0 && strcmp(alg, "SYMMETRIC_DEFAULT") != 0) {
        kms_fail(c, KMS_ERR_INVALID_KEY_USAGE, "The encryption algorithm %s "
                 "is not supported by symmetric encryption KMS keys.", alg);
        return -1;
    }

    return 0;
}


static int
kms_parse_encrypt(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_blob(c, &ve, "Plaintext", "plaintext", 1, 1,
                      KMS_MAX_PLAINTEXT, 1, &c->p.plaintext, &c->p.ptlen) == 0
        && kms_p_context(c, "EncryptionContext", &c->p.ctx_json, &c->p.ectx,
                         &c->p.ectx_canon) == 0
        && kms_p_grants(c, &ve) == 0
        && kms_p_enc_alg(c, &ve, "EncryptionAlgorithm",
                         "encryptionAlgorithm") == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static int
kms_seal(kms_call_t *c, const kms_key_t *k, const kms_buf_t *canon,
    const unsigned char *pt, size_t len, unsigned char **blob,
    size_t *bloblen)
{
    unsigned char  nonce[32];

    *bloblen = KMS_BLOB_MIN_LEN + len;
    *blob = malloc(*bloblen);
    if (*blob == NULL) {
        return -1;
    }

    if (kms_ctx_nonce(c->ctx, nonce, sizeof(nonce)) != 0
        || kms_blob_seal(c->ctx->gcm, c->ctx->hmac,
                         k->material
                         + (size_t) (k->nver - 1) * KMS_MATERIAL_LEN,
                         nonce, k->id, k->nver,
                         (const unsigned char *) canon->data, canon->len, pt,
                         len, *blob)
           != 0)
    {
        free(*blob);
        *blob = NULL;
        return -1;
    }

    return 0;
}


static kms_x_t
kms_exec_encrypt(kms_call_t *c)
{
    kms_key_t      *k;
    unsigned char  *blob;
    size_t          bloblen;

    KMS_RESOLVE(c, c->p.key_id, KMS_RES_CROSS_ACCOUNT | KMS_RES_CREATE_AWS, k);

    if (kms_authorize(c, k, "kms:Encrypt", &c->p.ectx) != 0
        || kms_check_usable(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    if (kms_seal(c, k, &c->p.ectx_canon, c->p.plaintext, c->p.ptlen, &blob,
                 &bloblen) != 0)
    {
        return kms_nomem(c);
    }

    kms_body_open(c);
    kms_body_b64(c, "CiphertextBlob", blob, bloblen);
    kms_body_str(c, "KeyId", k->arn);
    kms_body_str(c, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    kms_body_close(c);

    free(blob);
    return KMS_X_DONE;
}


static int
kms_parse_decrypt(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_blob(c, &ve, "CiphertextBlob", "ciphertextBlob", 1, 1, 6144, 0,
                   &c->p.blob, &c->p.bloblen) == 0
        && kms_p_key_id(c, &ve, 0) == 0
        && kms_p_context(c, "EncryptionContext", &c->p.ctx_json, &c->p.ectx,
                         &c->p.ectx_canon) == 0
        && kms_p_grants(c, &ve) == 0
        && kms_p_enc_alg(c, &ve, "EncryptionAlgorithm",
                         "encryptionAlgorithm") == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


/*
 * Opens c->p.blob: finds its key (asking Redis if need be), checks KeyId
 * when given, the policy (action), the state, then decrypts into a secure
 * buffer.  Returns KMS_R_OK, KMS_R_FETCH, KMS_R_WRITE or KMS_R_ERR.
 */
static int
kms_open_blob(kms_call_t *c, const char *key_ref, const char *action,
    const kms_ectx_t *ectx, const kms_buf_t *canon, kms_key_t **key,
    uint32_t *version, unsigned char **pt, size_t *ptlen)
{
    kms_blob_t      b;
    kms_key_t      *k, *want = NULL;
    int             need, r;
    unsigned char  *out;

    if (kms_blob_parse(c->p.blob, c->p.bloblen, &b) != 0) {
        kms_fail(c, KMS_ERR_INVALID_CIPHERTEXT, "%s", "");
        return KMS_R_ERR;
    }

    if (key_ref != NULL) {
        r = kms_resolve(c, key_ref, KMS_RES_CROSS_ACCOUNT, &want);
        if (r != KMS_R_OK) {
            return r;
        }

        if (memcmp(want->id, b.id, KMS_ID_LEN) != 0) {
            kms_set_resource(c, want);
            kms_fail(c, KMS_ERR_INCORRECT_KEY, "%s",
                     kms_err_message(KMS_ERR_INCORRECT_KEY));
            return KMS_R_ERR;
        }
    }

    k = kms_fetch_blob_key(c, b.id, &need);
    if (need) {
        return KMS_R_FETCH;
    }

    if (k == NULL || k->state == KMS_KS_UNAVAILABLE) {
        if (k != NULL) {
            kms_fail(c, KMS_ERR_INVALID_STATE, "Key '%s' is unavailable.",
                     k->id_text);
        } else {
            kms_fail(c, KMS_ERR_INVALID_CIPHERTEXT, "%s", "");
        }
        return KMS_R_ERR;
    }

    kms_set_resource(c, k);

    if (kms_authorize(c, k, action, ectx) != 0
        || kms_check_usable(c, k) != 0)
    {
        return KMS_R_ERR;
    }

    if (b.version > k->nver) {
        kms_fail(c, KMS_ERR_INVALID_CIPHERTEXT, "%s", "");
        return KMS_R_ERR;
    }

    out = kms_smalloc(b.ctlen ? b.ctlen : 1);
    if (out == NULL) {
        kms_nomem(c);
        return KMS_R_ERR;
    }

    if (kms_blob_open(c->ctx->gcm, c->ctx->hmac,
                      k->material + (size_t) (b.version - 1)
                                    * KMS_MATERIAL_LEN,
                      c->p.blob, &b, (const unsigned char *) canon->data,
                      canon->len, out) != 0)
    {
        OPENSSL_secure_clear_free(out, b.ctlen ? b.ctlen : 1);
        kms_fail(c, KMS_ERR_INVALID_CIPHERTEXT, "%s", "");
        return KMS_R_ERR;
    }

    *key = k;
    *version = b.version;
    *pt = out;
    *ptlen = b.ctlen;
    return KMS_R_OK;
}


static kms_x_t
kms_exec_decrypt(kms_call_t *c)
{
    kms_key_t      *k;
    uint32_t        v;
    unsigned char  *pt;
    size_t          ptlen;
    char            matid[KMS_MATID_TEXT_LEN + 1];
    int             r;

    r = kms_open_blob(c, c->p.key_id, "kms:Decrypt", &c->p.ectx,
                      &c->p.ectx_canon, &k, &v, &pt, &ptlen);
    if (r == KMS_R_FETCH) {
        return KMS_X_FETCH;
    }
    if (r != KMS_R_OK) {
        return KMS_X_DONE;
    }

    if (kms_dry_run(c)) {
        OPENSSL_secure_clear_free(pt, ptlen ? ptlen : 1);
        return KMS_X_DONE;
    }

    kms_material_id(k->id, v, matid);

    kms_body_open(c);
    kms_body_str(c, "KeyId", k->arn);
    if (c->kind != KMS_KIND_GW_DECRYPT) {
        kms_body_b64(c, "Plaintext", pt, ptlen);
    }
    kms_body_str(c, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    kms_body_str(c, "KeyMaterialId", matid);
    kms_body_close(c);

    if (c->kind == KMS_KIND_GW_DECRYPT) {
        c->plaintext = pt;
        c->ptlen = ptlen;
        snprintf(c->key_arn, sizeof(c->key_arn), "%s", k->arn);

    } else {
        OPENSSL_secure_clear_free(pt, ptlen ? ptlen : 1);
    }

    return KMS_X_DONE;
}


static int
kms_parse_reencrypt(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_blob(c, &ve, "CiphertextBlob", "ciphertextBlob", 1, 1, 6144, 0,
                   &c->p.blob, &c->p.bloblen) == 0
        && kms_p_str(c, &ve, "SourceKeyId", "sourceKeyId", 0, 1, 2048,
                     &c->p.key_id) == 0
        && kms_p_str(c, &ve, "DestinationKeyId", "destinationKeyId", 1, 1,
                     2048, &c->p.dest_key_id) == 0
        && kms_p_context(c, "SourceEncryptionContext", &c->p.ctx_json,
                         &c->p.ectx, &c->p.ectx_canon) == 0
        && kms_p_context(c, "DestinationEncryptionContext", &c->p.dctx_json,
                         &c->p.dctx, &c->p.dctx_canon) == 0
        && kms_p_grants(c, &ve) == 0
        && kms_p_enc_alg(c, &ve, "SourceEncryptionAlgorithm",
                         "sourceEncryptionAlgorithm") == 0
        && kms_p_enc_alg(c, &ve, "DestinationEncryptionAlgorithm",
                         "destinationEncryptionAlgorithm") == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_reencrypt(kms_call_t *c)
{
    kms_key_t      *src, *dst;
    uint32_t        v;
    unsigned char  *pt, *blob;
    size_t          ptlen, bloblen;
    char            matid[KMS_MATID_TEXT_LEN + 1];
    int             r;

    /* the destination first: it may have to be read or created */
    r = kms_resolve(c, c->p.dest_key_id,
                    KMS_RES_CROSS_ACCOUNT | KMS_RES_CREATE_AWS, &dst);
    if (r == KMS_R_FETCH) {
        return KMS_X_FETCH;
    }
    if (r == KMS_R_WRITE) {
        return KMS_X_WRITE;
    }
    if (r != KMS_R_OK) {
        return KMS_X_DONE;
    }

    r = kms_open_blob(c, c->p.key_id, "kms:ReEncryptFrom", &c->p.ectx,
                      &c->p.ectx_canon, &src, &v, &pt, &ptlen);
    if (r == KMS_R_FETCH) {
        return KMS_X_FETCH;
    }
    if (r != KMS_R_OK) {
        return KMS_X_DONE;
    }

    /* kms_open_blob read the ring; dst may have moved: look again */
    r = kms_resolve(c, c->p.dest_key_id, KMS_RES_CROSS_ACCOUNT, &dst);
    if (r != KMS_R_OK) {
        OPENSSL_secure_clear_free(pt, ptlen ? ptlen : 1);
        return r == KMS_R_FETCH ? KMS_X_FETCH : KMS_X_DONE;
    }

    if (kms_authorize(c, dst, "kms:ReEncryptTo", &c->p.dctx) != 0
        || kms_check_usable(c, dst) != 0
        || kms_dry_run(c)
        || kms_seal(c, dst, &c->p.dctx_canon, pt, ptlen, &blob, &bloblen)
           != 0)
    {
        OPENSSL_secure_clear_free(pt, ptlen ? ptlen : 1);
        return c->err ? KMS_X_DONE : kms_nomem(c);
    }

    OPENSSL_secure_clear_free(pt, ptlen ? ptlen : 1);
    kms_material_id(src->id, v, matid);

    kms_body_open(c);
    kms_body_b64(c, "CiphertextBlob", blob, bloblen);
    kms_body_str(c, "SourceKeyId", src->arn);
    kms_body_str(c, "KeyId", dst->arn);
    kms_body_str(c, "SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    kms_body_str(c, "DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    kms_body_str(c, "SourceKeyMaterialId", matid);
    kms_body_str(c, "DestinationKeyMaterialId", dst->cur_matid);
    kms_body_close(c);

    free(blob);
    return KMS_X_DONE;
}


static int
kms_parse_gdk(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_context(c, "EncryptionContext", &c->p.ctx_json, &c->p.ectx,
                         &c->p.ectx_canon) == 0
        && kms_p_int(c, &ve, "NumberOfBytes", "numberOfBytes", 1, 1024,
                     &c->p.nbytes, &has) == 0
        && kms_p_enum(c, &ve, "KeySpec", "keySpec", kms_enum_data_key_spec,
                      &c->p.key_spec) == 0
        && kms_p_grants(c, &ve) == 0)
    {
        c->p.has_nbytes = has;
        kms_p_done(c, &ve);

        if (c->err == KMS_OK && (c->p.has_nbytes == (c->p.key_spec != NULL)))
        {
            kms_fail(c, KMS_ERR_VALIDATION, "Please specify either number of "
                     "bytes or key spec.");
        }

    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_gdk(kms_call_t *c)
{
    kms_key_t      *k;
    unsigned char  *dk, *blob;
    size_t          n, bloblen;
    int             with_pt = strcmp(c->event_name, "GenerateDataKey") == 0;

    KMS_RESOLVE(c, c->p.key_id, KMS_RES_CROSS_ACCOUNT | KMS_RES_CREATE_AWS, k);

    if (kms_authorize(c, k, with_pt ? "kms:GenerateDataKey"
                                    : "kms:GenerateDataKeyWithoutPlaintext",
                      &c->p.ectx) != 0
        || kms_check_usable(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    n = c->p.has_nbytes ? (size_t) c->p.nbytes
        : strcmp(c->p.key_spec, "AES_128") == 0 ? 16 : 32;

    dk = kms_smalloc(n);
    if (dk == NULL) {
        return kms_nomem(c);
    }

    if (kms_ctx_random(c->ctx, dk, n) != 0
        || kms_seal(c, k, &c->p.ectx_canon, dk, n, &blob, &bloblen) != 0)
    {
        OPENSSL_secure_clear_free(dk, n);
        return kms_nomem(c);
    }

    kms_body_open(c);
    kms_body_b64(c, "CiphertextBlob", blob, bloblen);
    if (with_pt && c->kind == KMS_KIND_API) {
        kms_body_b64(c, "Plaintext", dk, n);
    }
    kms_body_str(c, "KeyId", k->arn);
    kms_body_str(c, "KeyMaterialId", k->cur_matid);
    kms_body_close(c);

    if (c->kind == KMS_KIND_GW_GDK) {
        c->plaintext = dk;
        c->ptlen = n;
        c->blob = blob;
        c->bloblen = bloblen;
        snprintf(c->key_arn, sizeof(c->key_arn), "%s", k->arn);
        return KMS_X_DONE;
    }

    OPENSSL_secure_clear_free(dk, n);
    free(blob);
    return KMS_X_DONE;
}


static int
kms_parse_random(kms_call_t *c)
{
    kms_verr_t   ve = { { 0 }, 0 };
    unsigned     has;
    const char  *store, *r;

    if (kms_p_int(c, &ve, "NumberOfBytes", "numberOfBytes", 1, 1024,
                  &c->p.nbytes, &has) == 0
        && kms_p_str(c, &ve, "CustomKeyStoreId", "customKeyStoreId", 0, 1, 64,
                     &store) == 0)
    {
        c->p.has_nbytes = has;
        if (!has && ve.n == 0) {
            kms_verr(&ve, "Value null at 'numberOfBytes' failed to satisfy "
                     "constraint: Member must not be null");
        }
        kms_p_done(c, &ve);

        r = NULL;
        if (c->err == KMS_OK && (store != NULL
                                 || kms_member(c, "Recipient") != NULL))
        {
            (void) r;
            kms_fail(c, KMS_ERR_UNSUPPORTED, "Custom key stores and "
                     "recipients are not supported by this key service.");
        }

    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_random(kms_call_t *c)
{
    unsigned char  *buf;
    size_t          n = (size_t) c->p.nbytes;

    buf = kms_smalloc(n);
    if (buf == NULL) {
        return kms_nomem(c);
    }

    if (kms_random(buf, n) != 0) {
        OPENSSL_secure_clear_free(buf, n);
        return kms_nomem(c);
    }

    kms_body_open(c);
    kms_body_b64(c, "Plaintext", buf, n);
    kms_body_close(c);

    OPENSSL_secure_clear_free(buf, n);
    return KMS_X_DONE;
}


/* ---- rotation ----------------------------------------------------------- */

static int
kms_parse_enable_rotation(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_int(c, &ve, "RotationPeriodInDays", "rotationPeriodInDays",
                     90, 2560, &c->p.period, &has) == 0)
    {
        c->p.has_period = has;
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static int
kms_rotation_allowed(kms_call_t *c, const kms_key_t *k)
{
    if (k->aws_managed) {
        kms_fail(c, KMS_ERR_UNSUPPORTED, "%s is an AWS managed key. Its "
                 "rotation is always on and cannot be changed.", k->arn);
        return -1;
    }

    return 0;
}


static kms_x_t
kms_exec_enable_rotation(kms_call_t *c)
{
    kms_key_t  *k, *nk;
    unsigned    period = c->p.has_period ? (unsigned) c->p.period : 365;
    int64_t     now = c->caller->now_ms;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_rotation_allowed(c, k) != 0
        || kms_authorize(c, k, "kms:EnableKeyRotation", NULL) != 0
        || kms_check_usable(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    if (k->rot_enabled && k->rot_period == period) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    if (k->rot_enabled) {
        /* a new period counts from the previous rotation */
        nk->next_rot_ms = k->next_rot_ms
                          - (int64_t) k->rot_period * KMS_DAY_MS
                          + (int64_t) period * KMS_DAY_MS;
        if (nk->next_rot_ms < now) {
            nk->next_rot_ms = now;
        }

    } else {
        nk->next_rot_ms = now + (int64_t) period * KMS_DAY_MS;
    }

    nk->rot_enabled = 1;
    nk->rot_period = period;

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_disable_rotation(kms_call_t *c)
{
    kms_key_t  *k, *nk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_rotation_allowed(c, k) != 0
        || kms_authorize(c, k, "kms:DisableKeyRotation", NULL) != 0
        || kms_check_usable(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    if (!k->rot_enabled) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    nk->rot_enabled = 0;
    nk->next_rot_ms = 0;

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_get_rotation_status(kms_call_t *c)
{
    kms_key_t  *k;
    int         enabled;

    KMS_RESOLVE(c, c->p.key_id, KMS_RES_CROSS_ACCOUNT, k);

    if (kms_authorize(c, k, "kms:GetKeyRotationStatus", NULL) != 0) {
        return KMS_X_DONE;
    }

    /* a key pending deletion answers, rotation off, as AWS's does */
    enabled = k->rot_enabled && k->state != KMS_KS_PENDING_DELETION;

    kms_body_open(c);
    kms_body_member(c, "KeyRotationEnabled");
    kms_buf_str(&c->body, enabled ? "true" : "false");
    kms_body_str(c, "KeyId", k->arn);

    if (enabled) {
        kms_body_member(c, "RotationPeriodInDays");
        kms_buf_fmt(&c->body, "%u", k->rot_period);
        kms_body_member(c, "NextRotationDate");
        kms_buf_date(&c->body, k->next_rot_ms);
    }

    kms_body_close(c);
    return KMS_X_DONE;
}


static kms_x_t
kms_exec_rotate_on_demand(kms_call_t *c)
{
    kms_key_t  *k, *nk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:RotateKeyOnDemand", NULL) != 0
        || kms_rotation_allowed(c, k) != 0
        || kms_check_usable(c, k) != 0)
    {
        return KMS_X_DONE;
    }

    if (k->on_demand >= c->ctx->on_demand_max) {
        kms_fail(c, KMS_ERR_LIMIT_EXCEEDED, "%s has reached the maximum "
                 "number of on-demand rotations (%u).", k->arn,
                 c->ctx->on_demand_max);
        return KMS_X_DONE;
    }

    if (kms_dry_run(c)) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL
        || kms_key_add_version(nk, c->ctx->root, c->caller->now_ms,
                               KMS_ROT_ON_DEMAND) != 0)
    {
        kms_key_free(nk);
        return kms_nomem(c);
    }

    nk->on_demand++;

    kms_body_open(c);
    kms_body_str(c, "KeyId", k->id_text);
    kms_body_close(c);

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static int
kms_parse_list_rotations(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_int(c, &ve, "Limit", "limit", 1, 1000, &c->p.limit, &has)
           == 0
        && kms_p_str(c, &ve, "Marker", "marker", 0, 1, 1024, &c->p.marker)
           == 0
        && kms_p_enum(c, &ve, "IncludeKeyMaterial", "includeKeyMaterial",
                      kms_enum_include, &c->p.include) == 0)
    {
        c->p.has_limit = has;
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_list_rotations(kms_call_t *c)
{
    kms_key_t  *k;
    uint32_t    v, first, start;
    size_t      limit, out;
    char        matid[KMS_MATID_TEXT_LEN + 1], *end;
    static const char *const  types[] = { "", "AUTOMATIC", "ON_DEMAND" };

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:ListKeyRotations", NULL) != 0) {
        return KMS_X_DONE;
    }

    first = c->p.include && strcmp(c->p.include, "ALL_KEY_MATERIAL") == 0
            ? 1 : 2;
    start = first;

    if (c->p.marker != NULL) {
        start = (uint32_t) strtoul(c->p.marker, &end, 10);
        if (*end != '\0' || start < first) {
            kms_fail(c, KMS_ERR_INVALID_MARKER, "Invalid marker");
            return KMS_X_DONE;
        }
    }

    limit = c->p.has_limit ? (size_t) c->p.limit : 100;

    kms_body_open(c);
    kms_body_member(c, "Rotations");
    kms_buf_str(&c->body, "[");

    for (v = start, out = 0; v <= k->nver && out < limit; v++, out++) {
        kms_material_id(k->id, v, matid);
        kms_buf_str(&c->body, out ? ",{\"KeyId\":" : "{\"KeyId\":");
        kms_buf_jstr(&c->body, k->id_text);
        kms_buf_fmt(&c->body, ",\"KeyMaterialId\":\"%s\","
                    "\"KeyMaterialState\":\"%s\"", matid,
                    v == k->nver ? "CURRENT" : "NON_CURRENT");
        if (v >= 2) {
            kms_buf_str(&c->body, ",\"RotationDate\":");
            kms_buf_date(&c->body, k->vers[v - 1].date_ms);
            kms_buf_fmt(&c->body, ",\"RotationType\":\"%s\"",
                        types[k->vers[v - 1].type == KMS_ROT_ON_DEMAND
                              ? 2 : 1]);
        }
        kms_buf_str(&c->body, "}");
    }

    kms_buf_str(&c->body, "]");

    if (v <= k->nver) {
        kms_body_member(c, "NextMarker");
        kms_buf_fmt(&c->body, "\"%u\"", v);
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "true");

    } else {
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "false");
    }

    kms_body_close(c);
    return KMS_X_DONE;
}


/* ---- deletion ----------------------------------------------------------- */

static int
kms_parse_schedule_deletion(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_int(c, &ve, "PendingWindowInDays", "pendingWindowInDays", 7,
                     30, &c->p.window, &has) == 0)
    {
        c->p.has_window = has;
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_schedule_deletion(kms_call_t *c)
{
    kms_key_t  *k, *nk;
    unsigned    days = c->p.has_window ? (unsigned) c->p.window : 30;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:ScheduleKeyDeletion", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    nk->state = KMS_KS_PENDING_DELETION;
    nk->window_days = days;
    nk->deletion_ms = c->caller->now_ms + (int64_t) days * KMS_DAY_MS;

    kms_body_open(c);
    kms_body_str(c, "KeyId", k->arn);
    kms_body_member(c, "DeletionDate");
    kms_buf_date(&c->body, nk->deletion_ms);
    kms_body_str(c, "KeyState", "PendingDeletion");
    kms_body_member(c, "PendingWindowInDays");
    kms_buf_fmt(&c->body, "%u", days);
    kms_body_close(c);

    kms_buf_str(&c->resp_el, "{\"keyId\":");
    kms_buf_jstr(&c->resp_el, k->arn);
    kms_buf_str(&c->resp_el, ",\"deletionDate\":\"");
    kms_buf_iso(&c->resp_el, nk->deletion_ms);
    kms_buf_fmt(&c->resp_el, "\",\"keyState\":\"PendingDeletion\","
                "\"pendingWindowInDays\":%u}", days);

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_cancel_deletion(kms_call_t *c)
{
    kms_key_t  *k, *nk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:CancelKeyDeletion", NULL) != 0
        || kms_not_aws_managed(c, k) != 0)
    {
        return KMS_X_DONE;
    }

    if (k->state != KMS_KS_PENDING_DELETION) {
        kms_fail(c, KMS_ERR_INVALID_STATE, "%s is not pending deletion.",
                 k->arn);
        return KMS_X_DONE;
    }

    if (kms_dry_run(c)) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    nk->state = KMS_KS_DISABLED;
    nk->deletion_ms = 0;
    nk->window_days = 0;

    kms_body_open(c);
    kms_body_str(c, "KeyId", k->arn);
    kms_body_close(c);

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


/* ---- policies ----------------------------------------------------------- */

static int
kms_parse_get_policy(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_str(c, &ve, "PolicyName", "policyName", 0, 1, 128,
                     &c->p.policy_name) == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static int
kms_policy_name_ok(kms_call_t *c)
{
    if (c->p.policy_name == NULL || strcmp(c->p.policy_name, "default") == 0)
    {
        return 0;
    }

    kms_fail(c, KMS_ERR_NOT_FOUND, "No such policy exists");
    return -1;
}


static kms_x_t
kms_exec_get_policy(kms_call_t *c)
{
    kms_key_t  *k;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:GetKeyPolicy", NULL) != 0
        || kms_policy_name_ok(c) != 0)
    {
        return KMS_X_DONE;
    }

    kms_body_open(c);
    kms_body_str(c, "Policy", k->policy_json ? k->policy_json : "");
    kms_body_str(c, "PolicyName", "default");
    kms_body_close(c);
    return KMS_X_DONE;
}


static int
kms_parse_put_policy(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    int         bypass = 0;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_str(c, &ve, "PolicyName", "policyName", 0, 1, 128,
                     &c->p.policy_name) == 0
        && kms_p_str(c, &ve, "Policy", "policy", 1, 1, KMS_POLICY_MAX_LEN,
                     &c->p.policy) == 0
        && kms_p_bool(c, "BypassPolicyLockoutSafetyCheck", &bypass) == 0)
    {
        c->p.bypass = bypass;
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_put_policy(kms_call_t *c)
{
    kms_key_t     *k, *nk;
    kms_policy_t  *pol;
    char           msg[512];

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:PutKeyPolicy", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_policy_name_ok(c) != 0
        || kms_not_pending(c, k) != 0)
    {
        return KMS_X_DONE;
    }

    if (kms_policy_parse(c->p.policy, strlen(c->p.policy), &pol, msg,
                         sizeof(msg)) != KMS_OK)
    {
        kms_fail(c, KMS_ERR_MALFORMED_POLICY, "%s", msg);
        return KMS_X_DONE;
    }

    if (!c->p.bypass
        && !kms_policy_allows_put_policy(pol, c->caller->arn, kms_account(c),
                                         k->arn))
    {
        kms_policy_free(pol);
        kms_fail(c, KMS_ERR_MALFORMED_POLICY, "The new key policy will not "
                 "allow you to update the key policy in the future.");
        return KMS_X_DONE;
    }

    kms_policy_free(pol);

    if (kms_dry_run(c)) {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL
        || kms_key_set_policy(nk, c->p.policy, strlen(c->p.policy)) != 0)
    {
        kms_key_free(nk);
        return kms_nomem(c);
    }

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static kms_x_t
kms_exec_list_policies(kms_call_t *c)
{
    kms_key_t  *k;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:ListKeyPolicies", NULL) != 0) {
        return KMS_X_DONE;
    }

    kms_buf_str(&c->body, "{\"PolicyNames\":[\"default\"],"
                "\"Truncated\":false}");
    return KMS_X_DONE;
}


static int
kms_parse_list_policies(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_int(c, &ve, "Limit", "limit", 1, 1000, &c->p.limit, &has)
           == 0
        && kms_p_str(c, &ve, "Marker", "marker", 0, 1, 320, &c->p.marker)
           == 0)
    {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


/* ---- tags --------------------------------------------------------------- */

static int
kms_parse_tag(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };

    if (kms_p_key_id(c, &ve, 1) == 0 && kms_p_tags(c, &ve, 1) == 0) {
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_tag(kms_call_t *c)
{
    kms_key_t  *k, *nk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:TagResource", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    if (kms_apply_tags(c, nk) != 0) {
        kms_key_free(nk);
        return c->err ? KMS_X_DONE : kms_nomem(c);
    }

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static int
kms_parse_untag(kms_call_t *c)
{
    kms_verr_t   ve = { { 0 }, 0 };
    kms_json_t      *v, *e;
    size_t       i;
    char         field[48];
    const char  *s;

    if (kms_p_key_id(c, &ve, 1) != 0) {
        kms_buf_free(&ve.msg);
        return 0;
    }

    v = kms_member(c, "TagKeys");
    if (v == NULL) {
        kms_verr(&ve, "Value null at 'tagKeys' failed to satisfy constraint: "
                 "Member must not be null");

    } else if (!kms_json_is(v, KMS_JSON_ARRAY)) {
        kms_buf_free(&ve.msg);
        kms_ser(c, v, "a List");
        return 0;

    } else {
        for (i = 0, e = v->first; e; e = e->next, i++) {
            if (!kms_json_is(e, KMS_JSON_STRING)) {
                kms_buf_free(&ve.msg);
                kms_ser(c, e, "a String");
                return 0;
            }
            s = e->str;
            snprintf(field, sizeof(field), "tagKeys.%zu.member", i + 1);
            kms_verr_length(&ve, field, s,
                            kms_utf8_len(s, e->len), 1, 128, 0);
        }
        c->p.tag_keys = v;
    }

    kms_p_done(c, &ve);
    return 0;
}


static kms_x_t
kms_exec_untag(kms_call_t *c)
{
    kms_key_t   *k, *nk;
    kms_json_t      *e;
    size_t       i, j;
    const char  *tk;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:UntagResource", NULL) != 0
        || kms_not_aws_managed(c, k) != 0
        || kms_not_pending(c, k) != 0
        || kms_dry_run(c))
    {
        return KMS_X_DONE;
    }

    nk = kms_key_clone(k);
    if (nk == NULL) {
        return kms_nomem(c);
    }

    for (i = 0, e = c->p.tag_keys->first; e; e = e->next, i++) {
        tk = e->str;
        for (j = 0; j < nk->ntags; j++) {
            if (strcmp(nk->tags[j].key, tk) == 0) {
                free(nk->tags[j].key);
                free(nk->tags[j].value);
                memmove(&nk->tags[j], &nk->tags[j + 1],
                        (nk->ntags - j - 1) * sizeof(kms_tag_t));
                nk->ntags--;
                break;
            }
        }
    }

    if (kms_w_key(c, nk, k->rev, k->nver) != 0) {
        return kms_nomem(c);
    }

    return KMS_X_WRITE;
}


static int
kms_parse_list_tags(kms_call_t *c)
{
    kms_verr_t  ve = { { 0 }, 0 };
    unsigned    has;

    if (kms_p_key_id(c, &ve, 1) == 0
        && kms_p_int(c, &ve, "Limit", "limit", 1, 50, &c->p.limit, &has) == 0
        && kms_p_str(c, &ve, "Marker", "marker", 0, 1, 1024, &c->p.marker)
           == 0)
    {
        c->p.has_limit = has;
        kms_p_done(c, &ve);
    } else {
        kms_buf_free(&ve.msg);
    }

    return 0;
}


static kms_x_t
kms_exec_list_tags(kms_call_t *c)
{
    kms_key_t  *k;
    size_t      i, start = 0, limit, out;
    char       *end;

    KMS_RESOLVE(c, c->p.key_id, 0, k);

    if (kms_authorize(c, k, "kms:ListResourceTags", NULL) != 0) {
        return KMS_X_DONE;
    }

    if (c->p.marker != NULL) {
        start = strtoul(c->p.marker, &end, 10);
        if (*end != '\0') {
            kms_fail(c, KMS_ERR_INVALID_MARKER, "Invalid marker");
            return KMS_X_DONE;
        }
    }

    limit = c->p.has_limit ? (size_t) c->p.limit : 50;

    kms_body_open(c);
    kms_body_member(c, "Tags");
    kms_buf_str(&c->body, "[");

    for (i = start, out = 0; i < k->ntags && out < limit; i++, out++) {
        kms_buf_str(&c->body, out ? ",{\"TagKey\":" : "{\"TagKey\":");
        kms_buf_jstr(&c->body, k->tags[i].key);
        kms_buf_str(&c->body, ",\"TagValue\":");
        kms_buf_jstr(&c->body, k->tags[i].value);
        kms_buf_str(&c->body, "}");
    }

    kms_buf_str(&c->body, "]");

    if (i < k->ntags) {
        kms_body_member(c, "NextMarker");
        kms_buf_fmt(&c->body, "\"%zu\"", i);
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "true");

    } else {
        kms_body_member(c, "Truncated");
        kms_buf_str(&c->body, "false");
    }

    kms_body_close(c);
    return KMS_X_DONE;
}


/* ---- the table ---------------------------------------------------------- */

static const kms_op_t  kms_ops[] = {
    { "CancelKeyDeletion", kms_parse_key, kms_exec_cancel_deletion, 0, 0 },
    { "CreateAlias", kms_parse_alias, kms_exec_create_alias, 0, 0 },
    { "CreateKey", kms_parse_create_key, kms_exec_create_key, 0, 0 },
    { "Decrypt", kms_parse_decrypt, kms_exec_decrypt, 1, 1 },
    { "DeleteAlias", kms_parse_alias_name, kms_exec_delete_alias, 0, 0 },
    { "DescribeKey", kms_parse_key, kms_exec_describe_key, 1, 0 },
    { "DisableKey", kms_parse_key, kms_exec_disable_key, 0, 0 },
    { "DisableKeyRotation", kms_parse_key, kms_exec_disable_rotation, 0, 0 },
    { "EnableKey", kms_parse_key, kms_exec_enable_key, 0, 0 },
    { "EnableKeyRotation", kms_parse_enable_rotation,
      kms_exec_enable_rotation, 0, 0 },
    { "Encrypt", kms_parse_encrypt, kms_exec_encrypt, 1, 1 },
    { "GenerateDataKey", kms_parse_gdk, kms_exec_gdk, 1, 1 },
    { "GenerateDataKeyWithoutPlaintext", kms_parse_gdk, kms_exec_gdk, 1, 1 },
    { "GenerateRandom", kms_parse_random, kms_exec_random, 1, 1 },
    { "GetKeyPolicy", kms_parse_get_policy, kms_exec_get_policy, 1, 0 },
    { "GetKeyRotationStatus", kms_parse_key, kms_exec_get_rotation_status,
      1, 0 },
    { "ListAliases", kms_parse_list_aliases, kms_exec_list_aliases, 1, 0 },
    { "ListKeyPolicies", kms_parse_list_policies, kms_exec_list_policies,
      1, 0 },
    { "ListKeyRotations", kms_parse_list_rotations, kms_exec_list_rotations,
      1, 0 },
    { "ListKeys", kms_parse_list, kms_exec_list_keys, 1, 0 },
    { "ListResourceTags", kms_parse_list_tags, kms_exec_list_tags, 1, 0 },
    { "PutKeyPolicy", kms_parse_put_policy, kms_exec_put_policy, 0, 0 },
    { "ReEncrypt", kms_parse_reencrypt, kms_exec_reencrypt, 1, 1 },
    { "RotateKeyOnDemand", kms_parse_key, kms_exec_rotate_on_demand, 0, 0 },
    { "ScheduleKeyDeletion", kms_parse_schedule_deletion,
      kms_exec_schedule_deletion, 0, 0 },
    { "TagResource", kms_parse_tag, kms_exec_tag, 0, 0 },
    { "UntagResource", kms_parse_untag, kms_exec_untag, 0, 0 },
    { "UpdateAlias", kms_parse_alias, kms_exec_update_alias, 0, 0 },
    { "UpdateKeyDescription", kms_parse_update_description,
      kms_exec_update_description, 0, 0 },
};


static int
kms_op_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const kms_op_t *) elem)->name);
}


const kms_op_t *
kms_op_find(const char *name)
{
    return bsearch(name, kms_ops, sizeof(kms_ops) / sizeof(kms_ops[0]),
                   sizeof(kms_op_t), kms_op_cmp);
}


/* AWS KMS operations this service does not implement */
int
kms_op_known_aws(const char *name)
{
    static const char *const  names[] = {
        "ConnectCustomKeyStore", "CreateCustomKeyStore", "CreateGrant",
        "DeleteCustomKeyStore", "DeleteImportedKeyMaterial",
        "DeriveSharedSecret", "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "GenerateMac",
        "GetParametersForImport", "GetPublicKey", "ImportKeyMaterial",
        "ListGrants", "ListRetirableGrants", "ReplicateKey", "RetireGrant",
        "RevokeGrant", "Sign", "UpdateCustomKeyStore",
        "UpdatePrimaryRegion", "Verify", "VerifyMac", NULL
    };
    size_t  i;

    for (i = 0; names[i]; i++) {
        if (strcmp(names[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}
