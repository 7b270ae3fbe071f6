/*
 * Fuzz target: KMS JSON API requests through kms_call_new, run to the end
 * against the in-memory Redis of tests/kms_fake.h.
 *
 * Input: the first byte picks the operation (an index into a table of the
 * 29 operations, a few unknown names and the gateway's calls), the rest is
 * the request body.  The key store holds a key and an alias from the
 * start, so resolution, policy, state checks and writes are reached.  The
 * answer must always be a JSON object with the right shape.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "../kms_fake.h"


static const char *const  ops[] = {
    "CancelKeyDeletion", "CreateAlias", "CreateKey", "Decrypt",
    "DeleteAlias", "DescribeKey", "DisableKey", "DisableKeyRotation",
    "EnableKey", "EnableKeyRotation", "Encrypt", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "GetKeyPolicy",
    "GetKeyRotationStatus", "ListAliases", "ListKeyPolicies",
    "ListKeyRotations", "ListKeys", "ListResourceTags", "PutKeyPolicy",
    "ReEncrypt", "RotateKeyOnDemand", "ScheduleKeyDeletion", "TagResource",
    "UntagResource", "UpdateAlias", "UpdateKeyDescription", "Sign",
    "NoSuchThing", "", "gateway:GenerateDataKey", "gateway:Decrypt",
    "refresh"
};

static fk_t           fk;
static kms_ctx_t     *ctx;
static unsigned       runs;
static kms_caller_t   who = { "AKIDALICE", "111122223333",
                              "arn:aws:iam::111122223333:user/alice",
                              NULL, "192.0.2.1", "fuzz", NULL,
                              1700000000000LL };
static kms_caller_t   gw = { "AKIDALICE", "111122223333",
                             "arn:aws:iam::111122223333:user/alice",
                             "s3.us-east-1.amazonaws.com", "192.0.2.1",
                             "fuzz", NULL, 1700000000000LL };


static void
fresh(void)
{
    unsigned char  root[32];
    kms_call_t    *c;
    static const char  create[] =
        "{\"Description\":\"fuzz\"}";
    json_t        *j;
    char           body[256];

    if (ctx != NULL) {
        kms_ctx_free(ctx);
        fk_free(&fk);
    }

    memset(&fk, 0, sizeof(fk));
    memset(root, 5, sizeof(root));
    ctx = kms_ctx_new(root, NULL);
    c = kms_call_load(ctx);
    fk_drive(&fk, c);
    kms_call_free(c);

    c = kms_call_new(ctx, &who, "CreateKey", create, sizeof(create) - 1);
    fk_drive(&fk, c);
    j = json_loads(kms_call_body(c, NULL), 0, NULL);
    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/fuzz\","
             "\"TargetKeyId\":\"%s\"}",
             json_string_value(json_object_get(json_object_get(j,
                               "KeyMetadata"), "KeyId")));
    json_decref(j);
    kms_call_free(c);

    c = kms_call_new(ctx, &who, "CreateAlias", body, strlen(body));
    fk_drive(&fk, c);
    kms_call_free(c);
}


static void
check(kms_call_t *c)
{
    size_t       len;
    const char  *body = kms_call_body(c, &len);
    json_t      *j;
    int          st = kms_call_status(c);

    if (st != 200 && st != 400 && st != 412 && st != 500 && st != 503) {
        abort();
    }

    if (len) {
        j = json_loadb(body, len, 0, NULL);
        if (j == NULL || !json_is_object(j)) {
            abort();
        }
        if (st != 200 && !json_is_string(json_object_get(j, "__type"))) {
            abort();
        }
        json_decref(j);
    }

    body = kms_call_audit(c, &len);
    if (len) {
        j = json_loadb(body, len, 0, NULL);
        if (j == NULL) {
            abort();
        }
        json_decref(j);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_call_t   *c;
    const char   *op;
    char         *nul;

    if (size == 0) {
        return 0;
    }

    if (ctx == NULL || ++runs % 500 == 0) {
        /* no secure heap: LeakSanitizer does not look inside it */
        kms_global_init(0);
        fresh();
    }

    op = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
    data++;
    size--;

    {
        kms_json_t  *k = kms_json_parse((const char *) data, size);
        json_t      *j = json_loadb((const char *) data, size,
                                    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                                    NULL);

        /*
         * kms_json may refuse more than jansson: nesting beyond its limit,
         * and a NUL byte after the value (jansson stops reading there)
         */
        if (k != NULL && j == NULL) {
            abort();
        }
        if (k == NULL && j != NULL && size < 2 * KMS_JSON_MAX_DEPTH + 2
            && memchr(data, 0, size) == NULL)
        {
            abort();
        }
        kms_json_free(k);
        json_decref(j);
    }

    if (strcmp(op, "gateway:GenerateDataKey") == 0) {
        nul = strndup((const char *) data, size);
        c = kms_call_generate_data_key(ctx, &gw, size & 1 ? "alias/fuzz"
                                                          : NULL, nul, 32);
        free(nul);

    } else if (strcmp(op, "gateway:Decrypt") == 0) {
        c = kms_call_decrypt_blob(ctx, &gw, data, size,
                                  "{\"aws:s3:arn\":\"arn:aws:s3:::b/k\"}");

    } else if (strcmp(op, "refresh") == 0) {
        c = kms_call_refresh(ctx, (const char *) data, size);

    } else {
        c = kms_call_new(ctx, &who, op, (const char *) data, size);
    }

    if (c == NULL) {
        return 0;
    }

    fk_drive(&fk, c);
    check(c);
    kms_call_free(c);
    return 0;
}
