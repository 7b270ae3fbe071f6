/*
 * Fuzz target: parse arbitrary documents and evaluate what parses.
 *
 * Input: a policy document, optionally followed by "\n\0\n" and request
 * fields separated by '\n': action, principal ARN, caller account, key
 * ARN, via service, then context key / value pairs.  Without the
 * separator a fixed set of requests is evaluated.
 */

#define _GNU_SOURCE             /* memmem */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms_policy.h"


#define FUZZ_MAX_FIELDS  32


static void
fuzz_check(const kms_policy_t *p, const kms_policy_request_t *req)
{
    kms_policy_decision_t  d;

    d = kms_policy_eval(p, req);
    if (d != KMS_POLICY_ALLOW && d != KMS_POLICY_IMPLICIT_DENY
        && d != KMS_POLICY_EXPLICIT_DENY)
    {
        abort();
    }

    /* evaluation is a pure function of its input */
    if (kms_policy_eval(p, req) != d) {
        abort();
    }
}


static void
fuzz_fixed_requests(const kms_policy_t *p)
{
    size_t                i, j;
    kms_policy_request_t  req;

    static const char  *actions[] = {
        "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey",
        "kms:PutKeyPolicy", "kms:DescribeKey", "KMS:ENCRYPT", ""
    };
    static const char  *arns[][2] = {
        { "arn:aws:iam::111122223333:root", "111122223333" },
        { "arn:aws:iam::111122223333:user/alice", "111122223333" },
        { "arn:aws:sts::111122223333:assumed-role/app/s1", "111122223333" },
        { "arn:aws:iam::444455556666:user/x", "444455556666" },
        { "arn:aws-cn:iam::111122223333:role/r", "111122223333" },
        { NULL, NULL }
    };
    static const char  *keys[] = { "AppName", "aws:s3:arn", "appname" };
    static const char  *vals[] = {
        "ExampleApp", "arn:aws:s3:::bucket/key", "\xc3\xa9"
    };

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        for (j = 0; j < sizeof(arns) / sizeof(arns[0]); j++) {
            memset(&req, 0, sizeof(req));
            req.action = actions[i];
            req.principal_arn = arns[j][0];
            req.caller_account = arns[j][1];
            req.key_arn = (j & 1) ? "arn:aws:kms:us-east-1:111122223333:"
                                    "key/1234abcd-12ab-34cd-56ef-"
                                    "1234567890ab"
                                  : NULL;
            req.via_service = (i & 1) ? "s3.us-east-1.amazonaws.com" : NULL;
            req.ctx_keys = keys;
            req.ctx_values = vals;
            req.nctx = (i + j) % 4;
            fuzz_check(p, &req);
        }
    }

    (void) kms_policy_allows_put_policy(p, arns[1][0], arns[1][1],
        "arn:aws:kms:us-east-1:111122223333:key/x");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  msg[256], *copy, *fields[FUZZ_MAX_FIELDS], *p;
    const char           *keys[FUZZ_MAX_FIELDS], *vals[FUZZ_MAX_FIELDS];
    size_t                doclen, n, i;
    const uint8_t        *sep;
    kms_policy_t         *pol;
    kms_policy_request_t  req;

    sep = memmem(data, size, "\n\0\n", 3);
    doclen = sep ? (size_t) (sep - data) : size;

    if (kms_policy_parse((const char *) data, doclen, &pol, msg, sizeof(msg))
        != KMS_OK)
    {
        if (pol != NULL || msg[0] == '\0') {
            abort();
        }

        return 0;
    }

    if (sep == NULL) {
        fuzz_fixed_requests(pol);
        kms_policy_free(pol);
        return 0;
    }

    /* the request fields, NUL-terminated in a copy */

    n = size - doclen - 3;
    copy = malloc(n + 1);
    if (copy == NULL) {
        kms_policy_free(pol);
        return 0;
    }

    memcpy(copy, sep + 3, n);
    copy[n] = '\0';

    n = 0;
    p = copy;
    while (n < FUZZ_MAX_FIELDS) {
        fields[n++] = p;
        p = strchr(p, '\n');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }

    for (i = n; i < 5; i++) {
        fields[i] = NULL;
    }

    memset(&req, 0, sizeof(req));
    req.action = fields[0];
    req.principal_arn = fields[1];
    req.caller_account = fields[2];
    req.key_arn = fields[3];
    req.via_service = fields[4];

    if (n > 5) {
        /* keys at 5, 7, ...; values at 6, 8, ... */
        req.nctx = (n - 5) / 2;
        for (i = 0; i < req.nctx; i++) {
            keys[i] = fields[5 + 2 * i];
            vals[i] = fields[6 + 2 * i];
        }
        req.ctx_keys = keys;
        req.ctx_values = vals;
    }

    fuzz_check(pol, &req);

    kms_policy_free(pol);
    free(copy);
    return 0;
}
