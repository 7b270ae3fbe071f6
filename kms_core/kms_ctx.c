/*
 * Process setup, the root key file, the credentials file and the
 * per-process context.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kms_int.h"


#define KMS_RECORD_INFO  "KMS1 record"
#define KMS_POOL_SIZE    4096
#define KMS_CACHE_INFO   "KMS1 cache"


struct kms_creds_s {
    kms_cred_t  *cred;
    size_t       n;
    char        *mem;
};


int
kms_global_init(size_t secure_heap_size)
{
    size_t  sz = 1;

    if (secure_heap_size && !CRYPTO_secure_malloc_initialized()) {
        /* the secure heap wants a power of two */
        while (sz < secure_heap_size) {
            sz <<= 1;
        }

        if (CRYPTO_secure_malloc_init(sz, 32) == 0) {
            return -1;
        }
    }

    return kms_crypto_init();
}


int
kms_root_key_load(const char *path, unsigned char key[KMS_ROOT_KEY_LEN],
    char *err, size_t errlen)
{
    struct stat    st;
    int            fd;
    ssize_t        n;
    unsigned char  buf[KMS_ROOT_KEY_LEN + 1];

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open root key file \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "root key file \"%s\" is not a regular file",
                 path);
        goto failed;
    }

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "root key file \"%s\" is accessible by group "
                 "or others (mode %03o); chmod 600 it", path,
                 (unsigned) (st.st_mode & 0777));
        goto failed;
    }

    n = read(fd, buf, sizeof(buf));
    if (n != KMS_ROOT_KEY_LEN) {
        snprintf(err, errlen, "root key file \"%s\" must hold exactly %d "
                 "bytes", path, KMS_ROOT_KEY_LEN);
        goto failed;
    }

    memcpy(key, buf, KMS_ROOT_KEY_LEN);
    kms_wipe(buf, sizeof(buf));
    close(fd);
    return 0;

failed:

    kms_wipe(buf, sizeof(buf));
    close(fd);
    return -1;
}


/* ---- credentials -------------------------------------------------------- */

static int
kms_is_account(const char *s)
{
    size_t  i;

    for (i = 0; i < 12; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return 0;
        }
    }

    return s[12] == '\0';
}


kms_creds_t *
kms_creds_load(const char *path, char *err, size_t errlen)
{
    FILE         *f;
    struct stat   st;
    kms_creds_t  *c;
    char         *line = NULL, *p, *tok[5], *save;
    size_t        cap = 0, i, j, total = 0, ntok;
    ssize_t       n;
    unsigned      lineno = 0;
    kms_cred_t   *nc;
    char          prefix[40];

    c = calloc(1, sizeof(kms_creds_t));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open credentials file \"%s\": %s",
                 path, strerror(errno));
        free(c);
        return NULL;
    }

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & (S_IRWXG | S_IRWXO)))
    {
        snprintf(err, errlen, "credentials file \"%s\" must be a regular "
                 "file not accessible by group or others", path);
        goto failed;
    }

    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        snprintf(prefix, sizeof(prefix), "%s:%u", "line", lineno);

        p = strchr(line, '#');
        if (p) {
            *p = '\0';
        }

        ntok = 0;
        for (p = strtok_r(line, " \t\r\n", &save); p && ntok < 5;
             p = strtok_r(NULL, " \t\r\n", &save))
        {
            tok[ntok++] = p;
        }

        if (ntok == 0) {
            continue;
        }

        if (ntok != 4) {
            snprintf(err, errlen, "%s, %s: expected ACCESS_KEY_ID SECRET "
                     "ACCOUNT_ID PRINCIPAL_ARN", path, prefix);
            goto failed;
        }

        if (!kms_is_account(tok[2])) {
            snprintf(err, errlen, "%s, %s: account id \"%s\" is not 12 "
                     "digits", path, prefix, tok[2]);
            goto failed;
        }

        if (strcmp(tok[2], KMS_INTERNAL_ACCOUNT) == 0) {
            snprintf(err, errlen, "%s, %s: account id %s is reserved for "
                     "the gateway's internal key", path, prefix, tok[2]);
            goto failed;
        }

        if (strncmp(tok[3], "arn:aws:iam::", 13) != 0
            || strncmp(tok[3] + 13, tok[2], 12) != 0 || tok[3][25] != ':')
        {
            snprintf(err, errlen, "%s, %s: principal \"%s\" is not "
                     "arn:aws:iam::%s:...", path, prefix, tok[3], tok[2]);
            goto failed;
        }

        for (i = 0; i < c->n; i++) {
            if (strcmp(c->cred[i].access_key_id, tok[0]) == 0) {
                snprintf(err, errlen, "%s, %s: access key id \"%s\" "
                         "repeats", path, prefix, tok[0]);
                goto failed;
            }
        }

        nc = realloc(c->cred, (c->n + 1) * sizeof(kms_cred_t));
        if (nc == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
        c->cred = nc;

        for (j = 0; j < 4; j++) {
            char  *d = strdup(tok[j]);

            if (d == NULL) {
                snprintf(err, errlen, "out of memory");
                goto failed;
            }
            total += strlen(d);
            ((const char **) &c->cred[c->n])[j] = d;
        }
        c->n++;
    }

    kms_wipe(line, cap);
    free(line);
    fclose(f);
    (void) total;
    return c;

failed:

    if (line) {
        kms_wipe(line, cap);
        free(line);
    }
    fclose(f);
    kms_creds_free(c);
    return NULL;
}


const kms_cred_t *
kms_creds_find(const kms_creds_t *creds, const char *akid, size_t len)
{
    size_t  i;

    for (i = 0; creds && i < creds->n; i++) {
        if (strlen(creds->cred[i].access_key_id) == len
            && memcmp(creds->cred[i].access_key_id, akid, len) == 0)
        {
            return &creds->cred[i];
        }
    }

    return NULL;
}


size_t
kms_creds_count(const kms_creds_t *creds)
{
    return creds ? creds->n : 0;
}


const kms_cred_t *
kms_creds_get(const kms_creds_t *creds, size_t i)
{
    return creds && i < creds->n ? &creds->cred[i] : NULL;
}


void
kms_creds_free(kms_creds_t *creds)
{
    size_t  i;

    if (creds == NULL) {
        return;
    }

    for (i = 0; i < creds->n; i++) {
        free((char *) creds->cred[i].access_key_id);
        if (creds->cred[i].secret) {
            kms_wipe((char *) creds->cred[i].secret,
                     strlen(creds->cred[i].secret));
        }
        free((char *) creds->cred[i].secret);
        free((char *) creds->cred[i].account);
        free((char *) creds->cred[i].arn);
    }

    free(creds->cred);
    free(creds);
}


/* ---- context ------------------------------------------------------------ */

kms_ctx_t *
kms_ctx_new(const unsigned char root[KMS_ROOT_KEY_LEN],
    const kms_conf_t *conf)
{
    kms_ctx_t  *ctx;

    if (kms_crypto_init() != 0) {
        return NULL;
    }

    ctx = kms_smalloc(sizeof(kms_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    memset(ctx, 0, sizeof(kms_ctx_t));

    memcpy(ctx->root, root, KMS_ROOT_KEY_LEN);

    if (kms_hkdf_sha256(root, KMS_ROOT_KEY_LEN, NULL, 0, KMS_RECORD_INFO,
                        sizeof(KMS_RECORD_INFO) - 1, ctx->rec_key, 32) != 0)
    {
        goto failed;
    }

    kms_root_fingerprint(root, ctx->fingerprint);

    ctx->region = strdup(conf && conf->region ? conf->region : "us-east-1");
    ctx->partition = strdup(conf && conf->partition ? conf->partition
                                                    : "aws");
    ctx->creds = conf ? conf->creds : NULL;
    ctx->on_demand_max = conf && conf->rotations_on_demand_max
                         ? conf->rotations_on_demand_max : 25;

    ctx->gcm = kms_gcm_new();
    ctx->hmac = kms_hmac_new();
    ctx->iso_sec = -1;
    ctx->keys = kms_rpool_new(KMS_POOL_SIZE, KMS_RPOOL_SECRET);
    ctx->nonces = kms_rpool_new(KMS_POOL_SIZE, KMS_RPOOL_PUBLIC);
    ctx->ids = kms_rpool_new(KMS_POOL_SIZE, KMS_RPOOL_PUBLIC);

    if (ctx->region == NULL || ctx->partition == NULL || ctx->gcm == NULL
        || ctx->hmac == NULL || ctx->keys == NULL || ctx->nonces == NULL
        || ctx->ids == NULL
        || kms_ring_init(&ctx->ring) != 0)
    {
        goto failed;
    }

    return ctx;

failed:

    kms_ctx_free(ctx);
    return NULL;
}


void
kms_ctx_free(kms_ctx_t *ctx)
{
    if (ctx == NULL) {
        return;
    }

    kms_call_spare_free(ctx);
    kms_ring_free(&ctx->ring);
    kms_gcm_free(ctx->gcm);
    kms_hmac_free(ctx->hmac);
    kms_rpool_free(ctx->keys);
    kms_rpool_free(ctx->nonces);
    kms_rpool_free(ctx->ids);
    free(ctx->region);
    free(ctx->partition);
    free(ctx->stored_fingerprint);
    OPENSSL_secure_clear_free(ctx, sizeof(kms_ctx_t));
}


int
kms_ctx_random(kms_ctx_t *ctx, void *buf, size_t n)
{
    return kms_rpool_bytes(ctx->keys, buf, n);
}


int
kms_ctx_nonce(kms_ctx_t *ctx, void *buf, size_t n)
{
    return kms_rpool_bytes(ctx->nonces, buf, n);
}


int
kms_ctx_id(kms_ctx_t *ctx, void *buf, size_t n)
{
    return kms_rpool_bytes(ctx->ids, buf, n);
}


const char *
kms_ctx_fingerprint(const kms_ctx_t *ctx)
{
    return ctx->fingerprint;
}


kms_ring_state_t
kms_ctx_state(const kms_ctx_t *ctx)
{
    return ctx->state;
}


void
kms_ctx_set_log(kms_ctx_t *ctx, kms_log_pt log, void *data)
{
    ctx->log = log;
    ctx->log_data = data;
}


void
kms_log(kms_ctx_t *ctx, int level, const char *fmt, ...)
{
    char     msg[1024];
    va_list  ap;

    if (ctx->log == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    ctx->log(ctx->log_data, level, msg);
}


/* ---- keys used without a call (S3 Bucket Keys) ---------------------------- */

static kms_key_t *
kms_ctx_ring_ref(const kms_ctx_t *ctx, const char *account, const char *ref)
{
    char            id[KMS_ID_TEXT_LEN + 1], arn_acct[13];
    size_t          plen, i, n;
    kms_key_t      *k;
    const char     *s, *res;
    unsigned char   bin[KMS_ID_LEN];

    if (ref == NULL) {
        return kms_ring_alias(&ctx->ring, account, "alias/aws/s3");
    }

    if (strncmp(ref, "alias/", 6) == 0) {
        return kms_ring_alias(&ctx->ring, account, ref);
    }

    if (strncmp(ref, "arn:", 4) != 0) {
        if (kms_uuid_parse(ref, strlen(ref), bin) != 0) {
            return NULL;
        }

        kms_uuid_text(bin, id);
        k = kms_ring_key(&ctx->ring, id);

        return (k != NULL && strcmp(k->account, account) == 0) ? k : NULL;
    }

    /* arn:PARTITION:kms:REGION:ACCOUNT:key/ID or ...:alias/NAME */

    s = ref + 4;
    n = strlen(ctx->partition);

    if (strncmp(s, ctx->partition, n) != 0 || strncmp(s + n, ":kms:", 5) != 0)
    {
        return NULL;
    }

    s += n + 5;
    n = strlen(ctx->region);

    if (strncmp(s, ctx->region, n) != 0 || s[n] != ':') {
        return NULL;
    }

    s += n + 1;

    for (i = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return NULL;
        }
    }

    if (s[12] != ':') {
        return NULL;
    }

    memcpy(arn_acct, s, 12);
    arn_acct[12] = '\0';
    res = s + 13;

    if (strncmp(res, "alias/", 6) == 0) {
        /* another account's alias is never resolved (as a call does) */
        return strcmp(arn_acct, account) == 0
               ? kms_ring_alias(&ctx->ring, account, res) : NULL;
    }

    plen = strlen(res);

    if (plen < 4 || strncmp(res, "key/", 4) != 0
        || kms_uuid_parse(res + 4, plen - 4, bin) != 0)
    {
        return NULL;
    }

    kms_uuid_text(bin, id);
    k = kms_ring_key(&ctx->ring, id);

    /* a key ARN may name another account's key, as GenerateDataKey takes */
    return (k != NULL && strcmp(k->account, arn_acct) == 0) ? k : NULL;
}


kms_err_t
kms_ctx_key_usable(const kms_ctx_t *ctx, const char *account,
    const char *ref, char *arn, size_t cap)
{
    kms_key_t  *k;
    size_t      n;

    if (cap) {
        arn[0] = '\0';
    }

    if (ctx->state != KMS_RING_READY || account == NULL) {
        return KMS_ERR_NOT_FOUND;
    }

    k = kms_ctx_ring_ref(ctx, account, ref);

    if (k == NULL || k->internal || k->arn == NULL) {
        return KMS_ERR_NOT_FOUND;
    }

    switch (k->state) {
    case KMS_KS_ENABLED:
        break;
    case KMS_KS_DISABLED:
        return KMS_ERR_DISABLED;
    default:
        return KMS_ERR_INVALID_STATE;
    }

    n = strlen(k->arn);

    if (n >= cap) {
        return KMS_ERR_NOT_FOUND;
    }

    memcpy(arn, k->arn, n + 1);

    return KMS_OK;
}


int
kms_ctx_cache_key(const kms_ctx_t *ctx, unsigned char out[32])
{
    return kms_hkdf_sha256(ctx->root, KMS_ROOT_KEY_LEN, NULL, 0,
                           KMS_CACHE_INFO, sizeof(KMS_CACHE_INFO) - 1, out,
                           32);
}
