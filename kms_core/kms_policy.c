/*
 * Key policies: parse once into a compact form, evaluate without
 * allocating, AWS's default documents, the lockout safety check.
 *
 * Where AWS leaves room, the choices made here:
 *
 * - Condition keys.  Names are case-insensitive.  Evaluated from the
 *   request: kms:EncryptionContext:KEY (KEY matched without regard to
 *   ASCII case, as AWS documents), kms:EncryptionContextKeys (multi-
 *   valued), kms:CallerAccount, kms:ViaService, aws:PrincipalArn,
 *   aws:PrincipalAccount, kms:EncryptionAlgorithm (SYMMETRIC_DEFAULT on
 *   the symmetric cryptographic actions).  Constant, because this server
 *   has only one kind of key: kms:KeySpec (and the deprecated
 *   kms:CustomerMasterKeySpec) = SYMMETRIC_DEFAULT, kms:KeyUsage (and
 *   kms:CustomerMasterKeyUsage) = ENCRYPT_DECRYPT, kms:KeyOrigin =
 *   AWS_KMS, kms:MultiRegion = false.  aws:ResourceTag/... and
 *   kms:ResourceAliases are refused as AWS refuses them in key policies.
 *   Every other aws: key is refused: AWS fills those (aws:SourceIp,
 *   aws:CurrentTime, aws:SecureTransport, ...) on nearly every request,
 *   and treating them as absent here would silently turn a Deny off.
 *   Any other key (other kms: keys, which only concern operations this
 *   server does not have, and other services' keys) is accepted and is
 *   absent from every request, as on AWS.
 * - Operators: every IAM operator name is accepted.  String*, Arn*
 *   (ARN components matched one by one, with wildcards), Bool and Null
 *   are evaluated; Numeric*, Date*, IpAddress, NotIpAddress and
 *   BinaryEquals see every key as absent (none of the keys above holds a
 *   number, date, address or binary).  An absent key makes a condition
 *   false, except for the negated operators (true), ...IfExists (true),
 *   ForAllValues: (true) and Null.  Unknown operators are refused.
 *   ForAllValues: with kms:EncryptionContext:KEY is refused with AWS's
 *   OverlyPermissiveCondition message.  Case-insensitive comparisons
 *   fold ASCII letters only.  Policy variables (${...}) are literal text.
 * - Principals: {"AWS": ...} with "*", a 12-digit account, or an IAM
 *   principal ARN (root, user, role, assumed-role and federated-user
 *   sessions; no wildcards, no groups).  A role names its assumed-role
 *   sessions too.  {"Service": ...} is accepted (AWS accepts it, and
 *   policies copied from AWS have it) and matches only a caller whose
 *   principal ARN is that service name: the gateway calls on behalf of
 *   users with kms:ViaService, never as a service, so such statements
 *   are inert here as they are on AWS for user requests.  NotPrincipal
 *   is supported.  This server has no IAM: principals are not checked
 *   for existence.
 * - A statement without Action/NotAction or Resource/NotResource is
 *   accepted and never applies (AWS: "the policy statement has no
 *   effect").  A missing Version is taken as 2008-10-17.
 * - AWS's exact messages for "invalid principals", the lockout check,
 *   OverlyPermissiveCondition and not-permitted keys are known; the other
 *   MalformedPolicyDocumentException messages are written in their style.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kms_policy.h"


#define KMS_POLICY_MAX_DEPTH   16
#define KMS_POLICY_BLOCK_SIZE  4096
#define KMS_POLICY_ALIGN       16


#define KMS_POLICY_MSG_PRINCIPALS                                           \
    "Policy contains a statement with one or more invalid principals."
#define KMS_POLICY_MSG_JSON        "The policy document is not valid JSON."
#define KMS_POLICY_MSG_DUP_KEY                                              \
    "The policy document contains duplicate JSON keys."
#define KMS_POLICY_MSG_DEPTH                                                \
    "The policy document is nested too deeply."
#define KMS_POLICY_MSG_NOT_OBJECT                                           \
    "The policy document must be a JSON object."
#define KMS_POLICY_MSG_VERSION                                              \
    "The policy must contain a valid version string."
#define KMS_POLICY_MSG_NO_STATEMENT                                         \
    "The policy document must contain at least one statement."
#define KMS_POLICY_MSG_STATEMENT                                            \
    "Policy contains a statement that is not a JSON object."
#define KMS_POLICY_MSG_EFFECT                                               \
    "Policy contains a statement with an invalid Effect."
#define KMS_POLICY_MSG_NO_PRINCIPAL                                         \
    "Policy contains a statement with no principal"
#define KMS_POLICY_MSG_ACTIONS                                              \
    "Policy contains a statement with one or more invalid actions."
#define KMS_POLICY_MSG_RESOURCES                                            \
    "Policy contains a statement with one or more invalid resources."
#define KMS_POLICY_MSG_CONDITION                                            \
    "Policy contains a statement with an invalid condition."
#define KMS_POLICY_MSG_DUP_SID                                              \
    "Policy contains statements with duplicate Sids."
#define KMS_POLICY_MSG_OVERLY_PERMISSIVE                                    \
    "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues "  \
    "set operator with a single-valued condition key matches requests "     \
    "without the specified encryption context or with an unspecified "      \
    "encryption context. To fix, remove ForAllValues."
#define KMS_POLICY_MSG_NOT_PERMITTED                                        \
    "These condition keys are not permitted in a key policy: "              \
    "aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases"


typedef struct kms_policy_blk_s  kms_policy_blk_t;

struct kms_policy_blk_s {
    kms_policy_blk_t   *next;
    size_t              size;
    size_t              used;
};

#define KMS_POLICY_BLK_HDR                                                  \
    ((sizeof(kms_policy_blk_t) + KMS_POLICY_ALIGN - 1)                      \
     & ~(size_t) (KMS_POLICY_ALIGN - 1))


typedef struct {
    const char         *s;
    size_t              len;
} kms_pstr_t;


typedef enum {
    KMS_PRIN_ANY = 0,
    KMS_PRIN_ACCOUNT,            /* bare account or :root */
    KMS_PRIN_ARN,                /* a user or a session, exactly */
    KMS_PRIN_ROLE,               /* a role and its assumed-role sessions */
    KMS_PRIN_SERVICE
} kms_prin_kind_t;

typedef struct {
    kms_prin_kind_t     kind;
    kms_pstr_t          partition;      /* empty for a bare account */
    kms_pstr_t          account;
    kms_pstr_t          arn;            /* ARN or service name */
    kms_pstr_t          role;           /* ROLE: name without its path */
} kms_pprin_t;


typedef enum {
    KMS_OP_STR_EQ = 0,
    KMS_OP_STR_EQ_IC,
    KMS_OP_STR_LIKE,
    KMS_OP_ARN_LIKE,
    KMS_OP_BOOL,
    KMS_OP_NULL,
    KMS_OP_UNTYPED               /* numeric, date, address, binary */
} kms_op_t;

typedef enum {
    KMS_SET_NONE = 0,
    KMS_SET_ANY,
    KMS_SET_ALL
} kms_set_t;

typedef enum {
    KMS_KEY_ABSENT = 0,
    KMS_KEY_CTX,                 /* kms:EncryptionContext:KEY */
    KMS_KEY_CTX_KEYS,
    KMS_KEY_CALLER_ACCOUNT,
    KMS_KEY_VIA_SERVICE,
    KMS_KEY_PRINCIPAL_ARN,
    KMS_KEY_PRINCIPAL_ACCOUNT,
    KMS_KEY_ENC_ALG,
    KMS_KEY_CONST
} kms_key_kind_t;

typedef struct {
    kms_op_t            op;
    kms_set_t           set;
    kms_key_kind_t      key;
    unsigned            negate:1;
    unsigned            if_exists:1;
    kms_pstr_t          name;           /* CTX: KEY; CONST: the value */
    kms_pstr_t         *values;
    size_t              nvalues;
} kms_pcond_t;


typedef struct {
    unsigned            deny:1;
    unsigned            not_principal:1;
    unsigned            has_action:1;
    unsigned            not_action:1;
    unsigned            has_resource:1;
    unsigned            not_resource:1;
    kms_pprin_t        *principals;
    size_t              nprincipals;
    kms_pstr_t         *actions;        /* lowercased */
    size_t              nactions;
    kms_pstr_t         *resources;
    size_t              nresources;
    kms_pcond_t        *conds;
    size_t              nconds;
} kms_pstmt_t;


struct kms_policy_s {
    kms_pstmt_t        *stmts;
    size_t              nstmts;
    kms_policy_blk_t   *blocks;
};


typedef struct {
    kms_policy_t       *pol;
    char               *msg;
    size_t              msglen;
} kms_pctx_t;


typedef struct {
    const char         *name;
    kms_op_t            op;
    unsigned            negate;
} kms_op_name_t;


static void *kms_policy_alloc(kms_policy_t *p, size_t n);
static kms_err_t kms_policy_fail(kms_pctx_t *ctx, kms_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static kms_err_t kms_policy_check_text(kms_pctx_t *ctx, const char *text,
    size_t len);
static kms_err_t kms_policy_parse_stmt(kms_pctx_t *ctx, json_t *obj,
    kms_pstmt_t *st);
static kms_err_t kms_policy_parse_principal(kms_pctx_t *ctx, json_t *v,
    kms_pstmt_t *st);
static int kms_policy_parse_aws_principal(kms_pctx_t *ctx, const char *s,
    kms_pprin_t *pr);
static int kms_policy_parse_service(kms_pctx_t *ctx, const char *s,
    kms_pprin_t *pr);
static kms_err_t kms_policy_parse_list(kms_pctx_t *ctx, json_t *v,
    int actions, kms_pstr_t **out, size_t *n);
static kms_err_t kms_policy_parse_conditions(kms_pctx_t *ctx, json_t *v,
    kms_pstmt_t *st);
static kms_err_t kms_policy_parse_cond(kms_pctx_t *ctx, const char *opname,
    const char *keyname, json_t *v, kms_pcond_t *c);
static int kms_policy_parse_opname(const char *name, kms_pcond_t *c);
static kms_err_t kms_policy_parse_keyname(kms_pctx_t *ctx,
    const char *name, kms_pcond_t *c);
static kms_err_t kms_policy_cond_value(kms_pctx_t *ctx, json_t *v,
    kms_pstr_t *out);
static int kms_policy_dup(kms_pctx_t *ctx, const char *s, size_t len,
    int lower, kms_pstr_t *out);

static int kms_stmt_applies(const kms_pstmt_t *st,
    const kms_policy_request_t *req);
static int kms_principal_matches(const kms_pprin_t *pr,
    const kms_policy_request_t *req);
static int kms_cond_holds(const kms_pcond_t *c,
    const kms_policy_request_t *req);
static const char *kms_cond_next(const kms_pcond_t *c,
    const kms_policy_request_t *req, size_t *pos);
static int kms_cond_match_one(const kms_pcond_t *c, const char *v);
static int kms_is_symmetric_crypto(const char *action);

static int kms_glob(const char *p, size_t plen, const char *s, size_t slen,
    int fold);
static int kms_arn_glob(const char *p, size_t plen, const char *s,
    size_t slen);
static int kms_arn_split(const char *s, size_t len, kms_pstr_t comp[6]);
static int kms_ieq(const char *a, size_t alen, const char *b, size_t blen);
static int kms_ieq_cstr(const char *a, const char *b);
static int kms_starts_icase(const char *s, const char *prefix);
static size_t kms_utf8_len(const char *s, size_t left);
static int kms_is_account(const char *s, size_t len);
static int kms_is_partition(const char *s, size_t len);
static int kms_is_name(const char *s, size_t len, int slashes);
static int kms_is_dns_label_text(const char *s, size_t len);


static const kms_op_name_t  kms_op_names[] = {
    { "StringEquals",              KMS_OP_STR_EQ,    0 },
    { "StringNotEquals",           KMS_OP_STR_EQ,    1 },
    { "StringEqualsIgnoreCase",    KMS_OP_STR_EQ_IC, 0 },
    { "StringNotEqualsIgnoreCase", KMS_OP_STR_EQ_IC, 1 },
    { "StringLike",                KMS_OP_STR_LIKE,  0 },
    { "StringNotLike",             KMS_OP_STR_LIKE,  1 },
    { "ArnEquals",                 KMS_OP_ARN_LIKE,  0 },
    { "ArnLike",                   KMS_OP_ARN_LIKE,  0 },
    { "ArnNotEquals",              KMS_OP_ARN_LIKE,  1 },
    { "ArnNotLike",                KMS_OP_ARN_LIKE,  1 },
    { "Bool",                      KMS_OP_BOOL,      0 },
    { "Null",                      KMS_OP_NULL,      0 },
    { "NumericEquals",             KMS_OP_UNTYPED,   0 },
    { "NumericNotEquals",          KMS_OP_UNTYPED,   1 },
    { "NumericLessThan",           KMS_OP_UNTYPED,   0 },
    { "NumericLessThanEquals",     KMS_OP_UNTYPED,   0 },
    { "NumericGreaterThan",        KMS_OP_UNTYPED,   0 },
    { "NumericGreaterThanEquals",  KMS_OP_UNTYPED,   0 },
    { "DateEquals",                KMS_OP_UNTYPED,   0 },
    { "DateNotEquals",             KMS_OP_UNTYPED,   1 },
    { "DateLessThan",              KMS_OP_UNTYPED,   0 },
    { "DateLessThanEquals",        KMS_OP_UNTYPED,   0 },
    { "DateGreaterThan",           KMS_OP_UNTYPED,   0 },
    { "DateGreaterThanEquals",     KMS_OP_UNTYPED,   0 },
    { "IpAddress",                 KMS_OP_UNTYPED,   0 },
    { "NotIpAddress",              KMS_OP_UNTYPED,   1 },
    { "BinaryEquals",              KMS_OP_UNTYPED,   0 },
    { NULL,                        KMS_OP_STR_EQ,    0 }
};


/* ---- parsing ----------------------------------------------------------- */

kms_err_t
kms_policy_parse(const char *json, size_t len, kms_policy_t **out,
    char *msg, size_t msglen)
{
    size_t        i, j, n;
    json_t       *root, *v, *stmts;
    const char   *key, *sid_i, *sid_j;
    kms_err_t     rc;
    kms_pctx_t    ctx;
    json_error_t  jerr;

    *out = NULL;
    if (msg != NULL && msglen > 0) {
        msg[0] = '\0';
    }

    stmts = NULL;
    ctx.pol = NULL;
    ctx.msg = msg;
    ctx.msglen = msglen;
    root = NULL;

    if (json == NULL) {
        json = "";
        len = 0;
    }

    rc = kms_policy_check_text(&ctx, json, len);
    if (rc != KMS_OK) {
        return rc;
    }

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            return kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                   KMS_POLICY_MSG_DUP_KEY);
        }
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return kms_policy_fail(&ctx, KMS_ERR_INTERNAL, "%s",
                                   kms_err_message(KMS_ERR_INTERNAL));
        }
        return kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_JSON);
    }

    if (!json_is_object(root)) {
        rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                             KMS_POLICY_MSG_NOT_OBJECT);
        goto failed;
    }

    ctx.pol = calloc(1, sizeof(kms_policy_t));
    if (ctx.pol == NULL) {
        goto nomem;
    }

    json_object_foreach(root, key, v) {

        if (strcmp(key, "Version") == 0) {
            if (!json_is_string(v)
                || (strcmp(json_string_value(v), "2012-10-17") != 0
                    && strcmp(json_string_value(v), "2008-10-17") != 0))
            {
                rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                     KMS_POLICY_MSG_VERSION);
                goto failed;
            }

        } else if (strcmp(key, "Id") == 0) {
            if (!json_is_string(v)) {
                rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY,
                                     "The policy Id must be a string.");
                goto failed;
            }

        } else if (strcmp(key, "Statement") == 0) {
            stmts = v;

        } else {
            rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY,
                                 "The policy document contains an "
                                 "unsupported element: %.64s", key);
            goto failed;
        }
    }

    if (stmts == NULL
        || (json_is_array(stmts) && json_array_size(stmts) == 0))
    {
        rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                             KMS_POLICY_MSG_NO_STATEMENT);
        goto failed;
    }

    if (json_is_object(stmts)) {
        n = 1;

    } else if (json_is_array(stmts)) {
        n = json_array_size(stmts);

    } else {
        rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                             KMS_POLICY_MSG_STATEMENT);
        goto failed;
    }

    ctx.pol->stmts = kms_policy_alloc(ctx.pol, n * sizeof(kms_pstmt_t));
    if (ctx.pol->stmts == NULL) {
        goto nomem;
    }
    ctx.pol->nstmts = n;

    for (i = 0; i < n; i++) {
        v = json_is_object(stmts) ? stmts : json_array_get(stmts, i);

        rc = kms_policy_parse_stmt(&ctx, v, &ctx.pol->stmts[i]);
        if (rc != KMS_OK) {
            goto failed;
        }
    }

    /* AWS refuses repeated Sids; statements without one do not count */

    for (i = 1; i < n; i++) {
        sid_i = json_string_value(json_object_get(json_array_get(stmts, i),
                                                  "Sid"));
        if (sid_i == NULL || sid_i[0] == '\0') {
            continue;
        }

        for (j = 0; j < i; j++) {
            sid_j = json_string_value(
                        json_object_get(json_array_get(stmts, j), "Sid"));

            if (sid_j != NULL && strcmp(sid_i, sid_j) == 0) {
                rc = kms_policy_fail(&ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                     KMS_POLICY_MSG_DUP_SID);
                goto failed;
            }
        }
    }

    json_decref(root);
    *out = ctx.pol;
    return KMS_OK;

nomem:

    rc = kms_policy_fail(&ctx, KMS_ERR_INTERNAL, "%s",
                         kms_err_message(KMS_ERR_INTERNAL));

failed:

    json_decref(root);
    kms_policy_free(ctx.pol);
    return rc;
}


void
kms_policy_free(kms_policy_t *p)
{
    kms_policy_blk_t  *b, *next;

    if (p == NULL) {
        return;
    }

    for (b = p->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    free(p);
}


/*
 * The checks AWS makes on the Policy parameter before it reads it as a
 * policy (length in characters, character set), and a nesting limit
 * applied before jansson sees the text, so that no document recurses
 * deeper than any policy needs.
 */

static kms_err_t
kms_policy_check_text(kms_pctx_t *ctx, const char *text, size_t len)
{
    size_t          i, n, chars, depth;
    uint32_t        cp;
    const uint8_t  *s;
    int             in_string, escaped;

    if (len == 0) {
        return kms_policy_fail(ctx, KMS_ERR_VALIDATION,
                               "1 validation error detected: Value at "
                               "'policy' failed to satisfy constraint: "
                               "Member must have length greater than or "
                               "equal to 1");
    }

    /* every allowed character takes at most 2 bytes in UTF-8 */

    if (len > 2 * (size_t) KMS_POLICY_MAX_LEN) {
        goto too_long;
    }

    s = (const uint8_t *) text;
    chars = 0;
    depth = 0;
    in_string = 0;
    escaped = 0;

    for (i = 0; i < len; i += n) {

        if (s[i] < 0x80) {
            n = 1;
            cp = s[i];

        } else if ((s[i] & 0xe0) == 0xc0 && i + 1 < len
                   && (s[i + 1] & 0xc0) == 0x80)
        {
            n = 2;
            cp = ((uint32_t) (s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f);
            if (cp < 0x80) {
                goto bad_char;          /* overlong */
            }

        } else {
            /* U+0800 and above, or not UTF-8 at all */
            goto bad_char;
        }

        if (cp > 0xff
            || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r'))
        {
            goto bad_char;
        }

        if (++chars > KMS_POLICY_MAX_LEN) {
            goto too_long;
        }

        if (in_string) {
            if (escaped) {
                escaped = 0;

            } else if (cp == '\\') {
                escaped = 1;

            } else if (cp == '"') {
                in_string = 0;
            }

            continue;
        }

        if (cp == '"') {
            in_string = 1;

        } else if (cp == '{' || cp == '[') {
            if (++depth > KMS_POLICY_MAX_DEPTH) {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                       KMS_POLICY_MSG_DEPTH);
            }

        } else if ((cp == '}' || cp == ']') && depth > 0) {
            depth--;
        }
    }

    return KMS_OK;

too_long:

    return kms_policy_fail(ctx, KMS_ERR_LIMIT_EXCEEDED,
                           "The key policy exceeds the maximum length of "
                           "%d characters.", KMS_POLICY_MAX_LEN);

bad_char:

    return kms_policy_fail(ctx, KMS_ERR_VALIDATION,
                           "1 validation error detected: Value at 'policy' "
                           "failed to satisfy constraint: Member must "
                           "satisfy regular expression pattern: "
                           "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
}


static kms_err_t
kms_policy_parse_stmt(kms_pctx_t *ctx, json_t *obj, kms_pstmt_t *st)
{
    int          has_effect, has_principal;
    json_t      *v;
    const char  *key, *s;
    kms_err_t    rc;

    if (!json_is_object(obj)) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_STATEMENT);
    }

    has_effect = 0;
    has_principal = 0;

    json_object_foreach(obj, key, v) {

        if (strcmp(key, "Sid") == 0) {
            if (!json_is_string(v)) {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY,
                                       "Policy contains a statement with an "
                                       "invalid Sid.");
            }

        } else if (strcmp(key, "Effect") == 0) {
            s = json_string_value(v);
            if (s == NULL
                || (strcmp(s, "Allow") != 0 && strcmp(s, "Deny") != 0))
            {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                       KMS_POLICY_MSG_EFFECT);
            }

            st->deny = (s[0] == 'D');
            has_effect = 1;

        } else if (strcmp(key, "Principal") == 0
                   || strcmp(key, "NotPrincipal") == 0)
        {
            if (has_principal) {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                       KMS_POLICY_MSG_PRINCIPALS);
            }

            has_principal = 1;
            st->not_principal = (key[0] == 'N');

            rc = kms_policy_parse_principal(ctx, v, st);
            if (rc != KMS_OK) {
                return rc;
            }

        } else if (strcmp(key, "Action") == 0
                   || strcmp(key, "NotAction") == 0)
        {
            if (st->has_action) {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                       KMS_POLICY_MSG_ACTIONS);
            }

            st->has_action = 1;
            st->not_action = (key[0] == 'N');

            rc = kms_policy_parse_list(ctx, v, 1, &st->actions,
                                       &st->nactions);
            if (rc != KMS_OK) {
                return rc;
            }

        } else if (strcmp(key, "Resource") == 0
                   || strcmp(key, "NotResource") == 0)
        {
            if (st->has_resource) {
                return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                                       KMS_POLICY_MSG_RESOURCES);
            }

            st->has_resource = 1;
            st->not_resource = (key[0] == 'N');

            rc = kms_policy_parse_list(ctx, v, 0, &st->resources,
                                       &st->nresources);
            if (rc != KMS_OK) {
                return rc;
            }

        } else if (strcmp(key, "Condition") == 0) {
            rc = kms_policy_parse_conditions(ctx, v, st);
            if (rc != KMS_OK) {
                return rc;
            }

        } else {
            return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY,
                                   "Policy contains a statement with an "
                                   "unsupported element: %.64s", key);
        }
    }

    if (!has_effect) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_EFFECT);
    }

    if (!has_principal) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_NO_PRINCIPAL);
    }

    return KMS_OK;
}


static kms_err_t
kms_policy_parse_principal(kms_pctx_t *ctx, json_t *v, kms_pstmt_t *st)
{
    int           service;
    size_t        i, n, k, cnt;
    json_t       *list, *e;
    const char   *key, *s;
    kms_pprin_t  *pr;

    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0) {
            goto invalid;
        }

        st->principals = kms_policy_alloc(ctx->pol, sizeof(kms_pprin_t));
        if (st->principals == NULL) {
            goto nomem;
        }

        st->principals[0].kind = KMS_PRIN_ANY;
        st->nprincipals = 1;
        return KMS_OK;
    }

    if (!json_is_object(v) || json_object_size(v) == 0) {
        goto invalid;
    }

    /* count first, so the entries sit in one array */

    n = 0;

    json_object_foreach(v, key, list) {
        if (strcmp(key, "AWS") != 0 && strcmp(key, "Service") != 0) {
            goto invalid;
        }

        if (json_is_string(list)) {
            n++;

        } else if (json_is_array(list) && json_array_size(list) > 0) {
            n += json_array_size(list);

        } else {
            goto invalid;
        }
    }

    st->principals = kms_policy_alloc(ctx->pol, n * sizeof(kms_pprin_t));
    if (st->principals == NULL) {
        goto nomem;
    }

    k = 0;

    json_object_foreach(v, key, list) {
        service = (key[0] == 'S');
        cnt = json_is_array(list) ? json_array_size(list) : 1;

        for (i = 0; i < cnt; i++) {
            e = json_is_array(list) ? json_array_get(list, i) : list;
            s = json_string_value(e);
            if (s == NULL) {
                goto invalid;
            }

            pr = &st->principals[k++];

            if (service ? kms_policy_parse_service(ctx, s, pr)
                        : kms_policy_parse_aws_principal(ctx, s, pr))
            {
                goto invalid;
            }
        }
    }

    st->nprincipals = k;
    return KMS_OK;

invalid:

    return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                           KMS_POLICY_MSG_PRINCIPALS);

nomem:

    return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                           kms_err_message(KMS_ERR_INTERNAL));
}


/*
 * "*", ACCOUNT, arn:PARTITION:iam::ACCOUNT:root|user/...|role/...,
 * arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION|federated-user/NAME.
 * Returns 0, or -1 for anything else (allocation failures included: the
 * caller cannot tell them apart, and a policy that fails to parse for
 * want of memory is refused either way).
 */

static int
kms_policy_parse_aws_principal(kms_pctx_t *ctx, const char *s,
    kms_pprin_t *pr)
{
    int          sts;
    size_t       len, plen;
    const char  *p, *part, *acct, *res, *slash;

    len = strlen(s);

    if (len == 1 && s[0] == '*') {
        pr->kind = KMS_PRIN_ANY;
        return 0;
    }

    if (kms_is_account(s, len)) {
        pr->kind = KMS_PRIN_ACCOUNT;
        return kms_policy_dup(ctx, s, len, 0, &pr->account);
    }

    if (strncmp(s, "arn:", 4) != 0) {
        return -1;
    }

    part = s + 4;
    p = strchr(part, ':');
    if (p == NULL || !kms_is_partition(part, (size_t) (p - part))) {
        return -1;
    }
    plen = (size_t) (p - part);

    if (strncmp(p, ":iam::", 6) == 0) {
        sts = 0;

    } else if (strncmp(p, ":sts::", 6) == 0) {
        sts = 1;

    } else {
        return -1;
    }

    acct = p + 6;
    if (strlen(acct) < 14 || !kms_is_account(acct, 12) || acct[12] != ':') {
        return -1;
    }
    res = acct + 13;

    if (kms_policy_dup(ctx, part, plen, 0, &pr->partition) != 0
        || kms_policy_dup(ctx, acct, 12, 0, &pr->account) != 0
        || kms_policy_dup(ctx, s, len, 0, &pr->arn) != 0)
    {
        return -1;
    }

    if (!sts && strcmp(res, "root") == 0) {
        pr->kind = KMS_PRIN_ACCOUNT;
        return 0;
    }

    if (!sts && strncmp(res, "user/", 5) == 0) {
        pr->kind = KMS_PRIN_ARN;
        return kms_is_name(res + 5, strlen(res + 5), 1) ? 0 : -1;
    }

    if (!sts && strncmp(res, "role/", 5) == 0) {
        if (!kms_is_name(res + 5, strlen(res + 5), 1)) {
            return -1;
        }

        slash = strrchr(res, '/');
        pr->kind = KMS_PRIN_ROLE;
        return kms_policy_dup(ctx, slash + 1, strlen(slash + 1), 0,
                              &pr->role);
    }

    if (sts && strncmp(res, "assumed-role/", 13) == 0) {
        slash = strchr(res + 13, '/');
        if (slash == NULL
            || !kms_is_name(res + 13, (size_t) (slash - res - 13), 0)
            || !kms_is_name(slash + 1, strlen(slash + 1), 0))
        {
            return -1;
        }

        pr->kind = KMS_PRIN_ARN;
        return 0;
    }

    if (sts && strncmp(res, "federated-user/", 15) == 0) {
        pr->kind = KMS_PRIN_ARN;
        return kms_is_name(res + 15, strlen(res + 15), 0) ? 0 : -1;
    }

    return -1;
}


static int
kms_policy_parse_service(kms_pctx_t *ctx, const char *s, kms_pprin_t *pr)
{
    size_t  len;

    len = strlen(s);

    if (!kms_is_dns_label_text(s, len) || strchr(s, '.') == NULL) {
        return -1;
    }

    pr->kind = KMS_PRIN_SERVICE;
    return kms_policy_dup(ctx, s, len, 0, &pr->arn);
}


/* Action / NotAction (actions = 1) and Resource / NotResource lists. */

static kms_err_t
kms_policy_parse_list(kms_pctx_t *ctx, json_t *v, int actions,
    kms_pstr_t **out, size_t *n)
{
    size_t       i, k, len;
    json_t      *e;
    const char  *s, *c, *colon;

    if (json_is_string(v)) {
        k = 1;

    } else if (json_is_array(v)) {
        k = json_array_size(v);

    } else {
        goto invalid;
    }

    *n = 0;

    if (k == 0) {
        /* like a missing element: the statement never applies */
        return KMS_OK;
    }

    *out = kms_policy_alloc(ctx->pol, k * sizeof(kms_pstr_t));
    if (*out == NULL) {
        goto nomem;
    }

    for (i = 0; i < k; i++) {
        e = json_is_array(v) ? json_array_get(v, i) : v;
        s = json_string_value(e);
        if (s == NULL) {
            goto invalid;
        }

        len = json_string_length(e);

        if (actions) {
            /* "*" or SERVICE:NAME, one colon, wildcards in NAME */
            colon = memchr(s, ':', len);

            if (!(len == 1 && s[0] == '*')
                && (colon == NULL || colon == s
                    || memchr(colon + 1, ':', len - (colon + 1 - s)) != NULL
                    || !kms_is_dns_label_text(s, (size_t) (colon - s))
                    || colon + 1 == s + len))
            {
                goto invalid;
            }

            for (c = colon ? colon + 1 : s + len; c < s + len; c++) {
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                      || (*c >= '0' && *c <= '9') || *c == '*' || *c == '?'
                      || *c == '_' || *c == '-'))
                {
                    goto invalid;
                }
            }

        } else if (!(len == 1 && s[0] == '*')
                   && (len < 5 || strncmp(s, "arn:", 4) != 0
                       || memchr(s, '\0', len) != NULL))
        {
            goto invalid;
        }

        if (kms_policy_dup(ctx, s, len, actions, &(*out)[i]) != 0) {
            goto nomem;
        }
    }

    *n = k;
    return KMS_OK;

invalid:

    return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                           actions ? KMS_POLICY_MSG_ACTIONS
                                   : KMS_POLICY_MSG_RESOURCES);

nomem:

    return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                           kms_err_message(KMS_ERR_INTERNAL));
}


static kms_err_t
kms_policy_parse_conditions(kms_pctx_t *ctx, json_t *v, kms_pstmt_t *st)
{
    size_t       n, k;
    json_t      *keys, *vals;
    const char  *op, *key;
    kms_err_t    rc;

    if (!json_is_object(v)) {
        goto invalid;
    }

    n = 0;

    json_object_foreach(v, op, keys) {
        if (!json_is_object(keys)) {
            goto invalid;
        }

        n += json_object_size(keys);
    }

    if (n == 0) {
        return KMS_OK;
    }

    st->conds = kms_policy_alloc(ctx->pol, n * sizeof(kms_pcond_t));
    if (st->conds == NULL) {
        return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                               kms_err_message(KMS_ERR_INTERNAL));
    }

    k = 0;

    json_object_foreach(v, op, keys) {
        json_object_foreach(keys, key, vals) {
            rc = kms_policy_parse_cond(ctx, op, key, vals, &st->conds[k++]);
            if (rc != KMS_OK) {
                return rc;
            }
        }
    }

    st->nconds = k;
    return KMS_OK;

invalid:

    return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                           KMS_POLICY_MSG_CONDITION);
}


static kms_err_t
kms_policy_parse_cond(kms_pctx_t *ctx, const char *opname,
    const char *keyname, json_t *v, kms_pcond_t *c)
{
    size_t     i, n;
    kms_err_t  rc;

    if (kms_policy_parse_opname(opname, c) != 0) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY,
                               "Policy contains a statement with an invalid "
                               "condition operator: %.64s", opname);
    }

    rc = kms_policy_parse_keyname(ctx, keyname, c);
    if (rc != KMS_OK) {
        return rc;
    }

    if (c->set == KMS_SET_ALL && c->key == KMS_KEY_CTX) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_OVERLY_PERMISSIVE);
    }

    n = json_is_array(v) ? json_array_size(v) : 1;

    c->values = kms_policy_alloc(ctx->pol, (n ? n : 1) * sizeof(kms_pstr_t));
    if (c->values == NULL) {
        return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                               kms_err_message(KMS_ERR_INTERNAL));
    }

    for (i = 0; i < n; i++) {
        rc = kms_policy_cond_value(ctx,
                                   json_is_array(v) ? json_array_get(v, i) : v,
                                   &c->values[i]);
        if (rc != KMS_OK) {
            return rc;
        }
    }

    c->nvalues = n;
    return KMS_OK;
}


/* [ForAnyValue:|ForAllValues:]OPERATOR[IfExists] */

static int
kms_policy_parse_opname(const char *name, kms_pcond_t *c)
{
    size_t                i, len;
    const kms_op_name_t  *o;

    if (strncmp(name, "ForAnyValue:", 12) == 0) {
        c->set = KMS_SET_ANY;
        name += 12;

    } else if (strncmp(name, "ForAllValues:", 13) == 0) {
        c->set = KMS_SET_ALL;
        name += 13;
    }

    len = strlen(name);

    if (len > 8 && strcmp(name + len - 8, "IfExists") == 0) {
        c->if_exists = 1;
        len -= 8;
    }

    for (i = 0; kms_op_names[i].name != NULL; i++) {
        o = &kms_op_names[i];

        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            if (o->op == KMS_OP_NULL && (c->if_exists || c->set)) {
                return -1;
            }

            c->op = o->op;
            c->negate = o->negate;
            return 0;
        }
    }

    return -1;
}


static kms_err_t
kms_policy_parse_keyname(kms_pctx_t *ctx, const char *name, kms_pcond_t *c)
{
    size_t  i;

    static const struct {
        const char      *name;
        kms_key_kind_t   kind;
        const char      *value;
    }  keys[] = {
        { "kms:encryptioncontextkeys",  KMS_KEY_CTX_KEYS,          NULL },
        { "kms:calleraccount",          KMS_KEY_CALLER_ACCOUNT,    NULL },
        { "kms:viaservice",             KMS_KEY_VIA_SERVICE,       NULL },
        { "aws:principalarn",           KMS_KEY_PRINCIPAL_ARN,     NULL },
        { "aws:principalaccount",       KMS_KEY_PRINCIPAL_ACCOUNT, NULL },
        { "kms:encryptionalgorithm",    KMS_KEY_ENC_ALG,           NULL },
        { "kms:keyspec",                KMS_KEY_CONST, "SYMMETRIC_DEFAULT" },
        { "kms:customermasterkeyspec",  KMS_KEY_CONST, "SYMMETRIC_DEFAULT" },
        { "kms:keyusage",               KMS_KEY_CONST, "ENCRYPT_DECRYPT" },
        { "kms:customermasterkeyusage", KMS_KEY_CONST, "ENCRYPT_DECRYPT" },
        { "kms:keyorigin",              KMS_KEY_CONST, "AWS_KMS" },
        { "kms:multiregion",            KMS_KEY_CONST, "false" },
        { NULL,                         KMS_KEY_ABSENT,            NULL }
    };

    if (kms_starts_icase(name, "kms:encryptioncontext:")) {
        if (name[22] == '\0') {
            goto invalid;
        }

        c->key = KMS_KEY_CTX;
        if (kms_policy_dup(ctx, name + 22, strlen(name + 22), 0, &c->name)
            != 0)
        {
            goto nomem;
        }

        return KMS_OK;
    }

    for (i = 0; keys[i].name != NULL; i++) {
        if (kms_ieq_cstr(name, keys[i].name)) {
            c->key = keys[i].kind;

            if (keys[i].value != NULL) {
                c->name.s = keys[i].value;
                c->name.len = strlen(keys[i].value);
            }

            return KMS_OK;
        }
    }

    if (kms_starts_icase(name, "aws:resourcetag")
        || kms_starts_icase(name, "kms:resourcetag")
        || kms_ieq_cstr(name, "kms:resourcealiases"))
    {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_NOT_PERMITTED);
    }

    if (kms_starts_icase(name, "aws:")) {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY,
                               "Policy contains a statement with a condition "
                               "key that this KMS does not support: %.64s",
                               name);
    }

    if (name[0] == '\0') {
        goto invalid;
    }

    c->key = KMS_KEY_ABSENT;
    return KMS_OK;

invalid:

    return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                           KMS_POLICY_MSG_CONDITION);

nomem:

    return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                           kms_err_message(KMS_ERR_INTERNAL));
}


/* A condition value: a string, or a number or boolean taken as text. */

static kms_err_t
kms_policy_cond_value(kms_pctx_t *ctx, json_t *v, kms_pstr_t *out)
{
    int   n;
    char  buf[64];

    if (json_is_string(v)) {
        if (kms_policy_dup(ctx, json_string_value(v), json_string_length(v),
                           0, out)
            != 0)
        {
            goto nomem;
        }

        return KMS_OK;
    }

    if (json_is_true(v)) {
        n = snprintf(buf, sizeof(buf), "true");

    } else if (json_is_false(v)) {
        n = snprintf(buf, sizeof(buf), "false");

    } else if (json_is_integer(v)) {
        n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));

    } else if (json_is_real(v)) {
        n = snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));

    } else {
        return kms_policy_fail(ctx, KMS_ERR_MALFORMED_POLICY, "%s",
                               KMS_POLICY_MSG_CONDITION);
    }

    if (kms_policy_dup(ctx, buf, (size_t) n, 0, out) != 0) {
        goto nomem;
    }

    return KMS_OK;

nomem:

    return kms_policy_fail(ctx, KMS_ERR_INTERNAL, "%s",
                           kms_err_message(KMS_ERR_INTERNAL));
}


static int
kms_policy_dup(kms_pctx_t *ctx, const char *s, size_t len, int lower,
    kms_pstr_t *out)
{
    size_t   i;
    char    *d;

    d = kms_policy_alloc(ctx->pol, len + 1);
    if (d == NULL) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        d[i] = (lower && s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] + 32)
                                                     : s[i];
    }

    d[len] = '\0';
    out->s = d;
    out->len = len;
    return 0;
}


/* Bump allocation in blocks freed together; memory comes back zeroed. */

static void *
kms_policy_alloc(kms_policy_t *p, size_t n)
{
    size_t             size;
    kms_policy_blk_t  *b;

    n = (n + KMS_POLICY_ALIGN - 1) & ~(size_t) (KMS_POLICY_ALIGN - 1);
    b = p->blocks;

    if (b == NULL || b->size - b->used < n) {
        size = KMS_POLICY_BLOCK_SIZE - KMS_POLICY_BLK_HDR;
        if (n > size) {
            size = n;
        }

        b = calloc(1, KMS_POLICY_BLK_HDR + size);
        if (b == NULL) {
            return NULL;
        }

        b->size = size;
        b->next = p->blocks;
        p->blocks = b;
    }

    b->used += n;
    return (char *) b + KMS_POLICY_BLK_HDR + b->used - n;
}


static kms_err_t
kms_policy_fail(kms_pctx_t *ctx, kms_err_t err, const char *fmt, ...)
{
    va_list  args;

    if (ctx->msg != NULL && ctx->msglen > 0) {
        va_start(args, fmt);
        vsnprintf(ctx->msg, ctx->msglen, fmt, args);
        va_end(args);
    }

    return err;
}


/* ---- evaluation -------------------------------------------------------- */

kms_policy_decision_t
kms_policy_eval(const kms_policy_t *p, const kms_policy_request_t *req)
{
    int                 allowed;
    size_t              i;
    const kms_pstmt_t  *st;

    if (p == NULL || req == NULL || req->action == NULL) {
        return KMS_POLICY_IMPLICIT_DENY;
    }

    allowed = 0;

    for (i = 0; i < p->nstmts; i++) {
        st = &p->stmts[i];

        /* once allowed, only a Deny can change the answer */
        if (!st->deny && allowed) {
            continue;
        }

        if (!kms_stmt_applies(st, req)) {
            continue;
        }

        if (st->deny) {
            return KMS_POLICY_EXPLICIT_DENY;
        }

        allowed = 1;
    }

    return allowed ? KMS_POLICY_ALLOW : KMS_POLICY_IMPLICIT_DENY;
}


int
kms_policy_allows_put_policy(const kms_policy_t *p,
    const char *principal_arn, const char *caller_account,
    const char *key_arn)
{
    kms_policy_request_t  req;

    memset(&req, 0, sizeof(req));
    req.action = "kms:PutKeyPolicy";
    req.principal_arn = principal_arn;
    req.caller_account = caller_account;
    req.key_arn = key_arn;

    return kms_policy_eval(p, &req) == KMS_POLICY_ALLOW;
}


static int
kms_stmt_applies(const kms_pstmt_t *st, const kms_policy_request_t *req)
{
    int     hit;
    size_t  i, alen, rlen;

    if (!st->has_action || !st->has_resource) {
        return 0;
    }

    alen = strlen(req->action);
    hit = 0;

    for (i = 0; i < st->nactions && !hit; i++) {
        hit = kms_glob(st->actions[i].s, st->actions[i].len, req->action,
                       alen, 1);
    }

    if (hit == st->not_action) {
        return 0;
    }

    rlen = req->key_arn ? strlen(req->key_arn) : 0;
    hit = 0;

    for (i = 0; i < st->nresources && !hit; i++) {
        if (st->resources[i].len == 1 && st->resources[i].s[0] == '*') {
            hit = 1;

        } else if (req->key_arn != NULL) {
            hit = kms_glob(st->resources[i].s, st->resources[i].len,
                           req->key_arn, rlen, 0);
        }
    }

    if (hit == st->not_resource) {
        return 0;
    }

    hit = 0;

    for (i = 0; i < st->nprincipals && !hit; i++) {
        hit = kms_principal_matches(&st->principals[i], req);
    }

    if (hit == st->not_principal) {
        return 0;
    }

    for (i = 0; i < st->nconds; i++) {
        if (!kms_cond_holds(&st->conds[i], req)) {
            return 0;
        }
    }

    return 1;
}


static int
kms_principal_matches(const kms_pprin_t *pr, const kms_policy_request_t *req)
{
    size_t       len;
    const char  *arn, *p, *acct, *role, *end;

    arn = req->principal_arn;

    switch (pr->kind) {

    case KMS_PRIN_ANY:
        return 1;

    case KMS_PRIN_ACCOUNT:
        if (req->caller_account == NULL
            || strcmp(req->caller_account, pr->account.s) != 0)
        {
            return 0;
        }

        /* arn:PARTITION:iam::ACCOUNT:root names only its own partition */
        if (pr->partition.len > 0 && arn != NULL
            && strncmp(arn, "arn:", 4) == 0)
        {
            p = strchr(arn + 4, ':');
            if (p == NULL || (size_t) (p - arn - 4) != pr->partition.len
                || memcmp(arn + 4, pr->partition.s, pr->partition.len) != 0)
            {
                return 0;
            }
        }

        return 1;

    case KMS_PRIN_SERVICE:
    case KMS_PRIN_ARN:
        return arn != NULL && strcmp(arn, pr->arn.s) == 0;

    case KMS_PRIN_ROLE:
        if (arn == NULL) {
            return 0;
        }

        if (strcmp(arn, pr->arn.s) == 0) {
            return 1;
        }

        /* arn:P:sts::ACCOUNT:assumed-role/NAME/SESSION */

        if (strncmp(arn, "arn:", 4) != 0
            || strncmp(arn + 4, pr->partition.s, pr->partition.len) != 0)
        {
            return 0;
        }

        p = arn + 4 + pr->partition.len;
        if (strncmp(p, ":sts::", 6) != 0) {
            return 0;
        }

        acct = p + 6;
        if (strncmp(acct, pr->account.s, 12) != 0 || acct[12] != ':'
            || strncmp(acct + 13, "assumed-role/", 13) != 0)
        {
            return 0;
        }

        role = acct + 26;
        end = strchr(role, '/');
        len = end ? (size_t) (end - role) : 0;

        return end != NULL && len == pr->role.len
               && memcmp(role, pr->role.s, len) == 0;
    }

    return 0;
}


/*
 * One condition key with its values.  Request values are visited one by
 * one (kms_cond_next), so a multi-valued key costs no allocation.
 */

static int
kms_cond_holds(const kms_pcond_t *c, const kms_policy_request_t *req)
{
    int          present, all, any, sat;
    size_t       i, pos;
    const char  *v;

    pos = 0;
    v = (c->op == KMS_OP_UNTYPED) ? NULL : kms_cond_next(c, req, &pos);
    present = (v != NULL);

    if (c->op == KMS_OP_NULL) {
        for (i = 0; i < c->nvalues; i++) {
            if (kms_ieq(c->values[i].s, c->values[i].len, "true", 4)
                ? !present : present)
            {
                return 1;
            }
        }

        return 0;
    }

    if (!present) {
        if (c->if_exists || c->set == KMS_SET_ALL) {
            return 1;
        }

        return c->set == KMS_SET_NONE && c->negate;
    }

    /*
     * Each request value satisfies the operator when it matches one of
     * the policy's values (OR), or for a negated operator matches none
     * (NOR).  ForAnyValue: wants one request value to satisfy it; all
     * other forms want every one to: a multi-valued key without a set
     * operator then behaves as AWS's plain operators do on one value,
     * and a negated operator refuses a request holding a listed value.
     */

    all = 1;
    any = 0;

    for ( /* void */ ; v != NULL; v = kms_cond_next(c, req, &pos)) {
        sat = kms_cond_match_one(c, v) ^ c->negate;
        all &= sat;
        any |= sat;
    }

    if (c->set == KMS_SET_ANY) {
        return any;
    }

    if (c->set == KMS_SET_NONE && !c->negate) {
        return any;
    }

    return all;
}


static const char *
kms_cond_next(const kms_pcond_t *c, const kms_policy_request_t *req,
    size_t *pos)
{
    const char  *k;

    switch (c->key) {

    case KMS_KEY_CTX:
        while (*pos < req->nctx) {
            k = req->ctx_keys[*pos];
            (*pos)++;

            if (kms_ieq(k, strlen(k), c->name.s, c->name.len)) {
                return req->ctx_values[*pos - 1];
            }
        }

        return NULL;

    case KMS_KEY_CTX_KEYS:
        if (*pos < req->nctx) {
            return req->ctx_keys[(*pos)++];
        }

        return NULL;

    default:
        break;
    }

    if ((*pos)++ > 0) {
        return NULL;
    }

    switch (c->key) {

    case KMS_KEY_CALLER_ACCOUNT:
    case KMS_KEY_PRINCIPAL_ACCOUNT:
        return req->caller_account;

    case KMS_KEY_VIA_SERVICE:
        return req->via_service;

    case KMS_KEY_PRINCIPAL_ARN:
        return req->principal_arn;

    case KMS_KEY_ENC_ALG:
        return kms_is_symmetric_crypto(req->action) ? "SYMMETRIC_DEFAULT"
                                                    : NULL;

    case KMS_KEY_CONST:
        return c->name.s;

    default:
        return NULL;
    }
}


static int
kms_cond_match_one(const kms_pcond_t *c, const char *v)
{
    size_t             i, len;
    const kms_pstr_t  *pv;

    len = strlen(v);

    for (i = 0; i < c->nvalues; i++) {
        pv = &c->values[i];

        switch (c->op) {

        case KMS_OP_STR_EQ:
            if (pv->len == len && memcmp(pv->s, v, len) == 0) {
                return 1;
            }
            break;

        case KMS_OP_STR_EQ_IC:
        case KMS_OP_BOOL:
            if (kms_ieq(pv->s, pv->len, v, len)) {
                return 1;
            }
            break;

        case KMS_OP_STR_LIKE:
            if (kms_glob(pv->s, pv->len, v, len, 0)) {
                return 1;
            }
            break;

        case KMS_OP_ARN_LIKE:
            if (kms_arn_glob(pv->s, pv->len, v, len)) {
                return 1;
            }
            break;

        default:
            break;
        }
    }

    return 0;
}


static int
kms_is_symmetric_crypto(const char *action)
{
    size_t  i;

    static const char  *actions[] = {
        "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
        "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", NULL
    };

    for (i = 0; actions[i] != NULL; i++) {
        if (kms_ieq_cstr(action, actions[i])) {
            return 1;
        }
    }

    return 0;
}


/* ---- matching helpers -------------------------------------------------- */

/*
 * '*' matches any run of characters, '?' one character (a whole UTF-8
 * sequence); fold compares ASCII letters without case.  Linear
 * backtracking to the last '*': O(len(p) * len(s)) at worst.
 */

static int
kms_glob(const char *p, size_t plen, const char *s, size_t slen, int fold)
{
    char    a, b;
    size_t  pi, si, star_p, star_s;

    pi = 0;
    si = 0;
    star_p = (size_t) -1;
    star_s = 0;

    while (si < slen) {

        if (pi < plen && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
            continue;
        }

        if (pi < plen) {
            if (p[pi] == '?') {
                pi++;
                si += kms_utf8_len(s + si, slen - si);
                continue;
            }

            a = p[pi];
            b = s[si];

            if (fold) {
                a = (a >= 'A' && a <= 'Z') ? (char) (a + 32) : a;
                b = (b >= 'A' && b <= 'Z') ? (char) (b + 32) : b;
            }

            if (a == b) {
                pi++;
                si++;
                continue;
            }
        }

        if (star_p == (size_t) -1) {
            return 0;
        }

        pi = star_p + 1;
        star_s += kms_utf8_len(s + star_s, slen - star_s);
        si = star_s;
    }

    while (pi < plen && p[pi] == '*') {
        pi++;
    }

    return pi == plen;
}


/* ArnLike: each of the six components matched on its own. */

static int
kms_arn_glob(const char *p, size_t plen, const char *s, size_t slen)
{
    int         i;
    kms_pstr_t  pc[6], sc[6];

    if (plen == 1 && p[0] == '*') {
        return 1;
    }

    if (kms_arn_split(p, plen, pc) != 0 || kms_arn_split(s, slen, sc) != 0) {
        return 0;
    }

    for (i = 0; i < 6; i++) {
        if (!kms_glob(pc[i].s, pc[i].len, sc[i].s, sc[i].len, 0)) {
            return 0;
        }
    }

    return 1;
}


static int
kms_arn_split(const char *s, size_t len, kms_pstr_t comp[6])
{
    int          i;
    const char  *end, *colon;

    end = s + len;

    for (i = 0; i < 5; i++) {
        colon = memchr(s, ':', (size_t) (end - s));
        if (colon == NULL) {
            return -1;
        }

        comp[i].s = s;
        comp[i].len = (size_t) (colon - s);
        s = colon + 1;
    }

    comp[5].s = s;
    comp[5].len = (size_t) (end - s);
    return 0;
}


static int
kms_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    char    x, y;
    size_t  i;

    if (alen != blen) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        x = (a[i] >= 'A' && a[i] <= 'Z') ? (char) (a[i] + 32) : a[i];
        y = (b[i] >= 'A' && b[i] <= 'Z') ? (char) (b[i] + 32) : b[i];

        if (x != y) {
            return 0;
        }
    }

    return 1;
}


static int
kms_ieq_cstr(const char *a, const char *b)
{
    return kms_ieq(a, strlen(a), b, strlen(b));
}


static int
kms_starts_icase(const char *s, const char *prefix)
{
    size_t  n;

    n = strlen(prefix);
    return strlen(s) >= n && kms_ieq(s, n, prefix, n);
}


static size_t
kms_utf8_len(const char *s, size_t left)
{
    size_t          n;
    unsigned char   c;

    c = (unsigned char) s[0];
    n = (c < 0xc0) ? 1 : (c < 0xe0) ? 2 : (c < 0xf0) ? 3 : 4;

    return n < left ? n : left;
}


static int
kms_is_account(const char *s, size_t len)
{
    size_t  i;

    if (len != 12) {
        return 0;
    }

    for (i = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* aws, aws-cn, aws-us-gov, aws-iso-b, ... */

static int
kms_is_partition(const char *s, size_t len)
{
    size_t  i;

    if (len < 3 || strncmp(s, "aws", 3) != 0) {
        return 0;
    }

    for (i = 3; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')) {
            return 0;
        }
    }

    return 1;
}


/* IAM names: [A-Za-z0-9+=,.@_-], with '/' path separators if slashes */

static int
kms_is_name(const char *s, size_t len, int slashes)
{
    size_t  i;

    if (len == 0 || s[len - 1] == '/' || s[0] == '/') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
            || (s[i] >= '0' && s[i] <= '9')
            || (s[i] != '\0' && strchr("+=,.@_-", s[i]) != NULL))
        {
            continue;
        }

        if (s[i] == '/' && slashes && s[i - 1] != '/') {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
kms_is_dns_label_text(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
              || s[i] == '.'))
        {
            return 0;
        }
    }

    return 1;
}


/* ---- AWS's documents --------------------------------------------------- */

/*
 * GetKeyPolicy returns AWS's own documents as its JSON printer lays them
 * out: two-space indent, " : " between names and values, "[ {" and
 * "}, {" for arrays of objects, no final newline.
 */

char *
kms_policy_default(const char *partition, const char *account)
{
    int    n;
    char  *out;

    static const char  fmt[] =
        "{\n"
        "  \"Version\" : \"2012-10-17\",\n"
        "  \"Id\" : \"key-default-1\",\n"
        "  \"Statement\" : [ {\n"
        "    \"Sid\" : \"Enable IAM User Permissions\",\n"
        "    \"Effect\" : \"Allow\",\n"
        "    \"Principal\" : {\n"
        "      \"AWS\" : \"arn:%s:iam::%s:root\"\n"
        "    },\n"
        "    \"Action\" : \"kms:*\",\n"
        "    \"Resource\" : \"*\"\n"
        "  } ]\n"
        "}";

    if (partition == NULL) {
        partition = "aws";
    }

    if (account == NULL || !kms_is_account(account, strlen(account))
        || !kms_is_partition(partition, strlen(partition)))
    {
        return NULL;
    }

    n = snprintf(NULL, 0, fmt, partition, account);
    if (n < 0) {
        return NULL;
    }

    out = malloc((size_t) n + 1);
    if (out == NULL) {
        return NULL;
    }

    snprintf(out, (size_t) n + 1, fmt, partition, account);
    return out;
}


char *
kms_policy_aws_managed(const char *partition, const char *account,
    const char *service, const char *region)
{
    int          n;
    char        *out, upper[32];
    size_t       i, len;
    const char  *dns, *actions;

    static const char  fmt[] =
        "{\n"
        "  \"Version\" : \"2012-10-17\",\n"
        "  \"Id\" : \"auto-%s-2\",\n"
        "  \"Statement\" : [ {\n"
        "    \"Sid\" : \"Allow access through %s for all principals in the "
        "account that are authorized to use %s\",\n"
        "    \"Effect\" : \"Allow\",\n"
        "    \"Principal\" : {\n"
        "      \"AWS\" : \"*\"\n"
        "    },\n"
        "    \"Action\" : [ %s ],\n"
        "    \"Resource\" : \"*\",\n"
        "    \"Condition\" : {\n"
        "      \"StringEquals\" : {\n"
        "        \"kms:CallerAccount\" : \"%s\",\n"
        "        \"kms:ViaService\" : \"%s.%s.%s\"\n"
        "      }\n"
        "    }\n"
        "  }, {\n"
        "    \"Sid\" : \"Allow direct access to key metadata to the "
        "account\",\n"
        "    \"Effect\" : \"Allow\",\n"
        "    \"Principal\" : {\n"
        "      \"AWS\" : \"arn:%s:iam::%s:root\"\n"
        "    },\n"
        "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\" ],\n"
        "    \"Resource\" : \"*\"\n"
        "  } ]\n"
        "}";

    if (partition == NULL) {
        partition = "aws";
    }

    if (account == NULL || service == NULL || region == NULL
        || !kms_is_account(account, strlen(account))
        || !kms_is_partition(partition, strlen(partition)))
    {
        return NULL;
    }

    len = strlen(service);
    if (len == 0 || len >= sizeof(upper)
        || !kms_is_dns_label_text(service, len)
        || !kms_is_dns_label_text(region, strlen(region)))
    {
        return NULL;
    }

    for (i = 0; i <= len; i++) {
        upper[i] = (service[i] >= 'a' && service[i] <= 'z')
                   ? (char) (service[i] - 32) : service[i];
    }

    dns = (strcmp(partition, "aws-cn") == 0) ? "amazonaws.com.cn"
                                             : "amazonaws.com";

    /* the aws/s3 list; services that take grants (EBS, RDS) add one */
    actions = "\"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
              "\"kms:GenerateDataKey*\", \"kms:DescribeKey\"";

    n = snprintf(NULL, 0, fmt, service, upper, upper, actions, account,
                 service, region, dns, partition, account);
    if (n < 0) {
        return NULL;
    }

    out = malloc((size_t) n + 1);
    if (out == NULL) {
        return NULL;
    }

    snprintf(out, (size_t) n + 1, fmt, service, upper, upper, actions,
             account, service, region, dns, partition, account);
    return out;
}
