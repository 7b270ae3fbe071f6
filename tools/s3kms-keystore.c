/*
 * s3kms-keystore: backup and restore of the KMS key store (the kms:* keys
 * in Redis).  Records stay as they are stored: key material wrapped under
 * the root key, records MAC'd, so an export is safe to copy anywhere and
 * useless without the root key.
 *
 *   s3kms-keystore export --redis HOST:PORT [--password-file F] FILE
 *   s3kms-keystore import --redis HOST:PORT [--password-file F] [--force] FILE
 *   s3kms-keystore verify --root-key KEYFILE FILE
 *
 * The export file: JSON lines, mode 0600.  The first line is a header,
 *   {"format":"s3kms-keystore","version":1,"exported":"2024-01-01T00:00:00Z"}
 * then one line per Redis key, values and names in base64:
 *   {"key":"kms:root","type":"string","value":"..."}
 *   {"key":"kms:key:{ID}","type":"hash","fields":[["cmV2","MQ=="],...]}
 *   {"key":"kms:keys:{ACCOUNT}","type":"zset",
 *    "members":[["...","1700000000000"],...]}
 *
 * export reads every kms:* key but the maintenance lock, then reads every
 * key record's revision again and starts over (three times at most) if one
 * changed meanwhile, so the file holds one consistent state.  import
 * refuses a Redis that holds kms:* data unless --force (which replaces
 * it), and writes everything in one MULTI/EXEC transaction.
 *
 * A command-line tool: synchronous hiredis is right here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "kms.h"
#include "kms_int.h"


typedef struct {
    const char  *redis;
    const char  *password_file;
    const char  *root_key;
    const char  *file;
    int          force;
} ks_opts_t;

typedef struct {
    char        *key;
    json_t      *line;                  /* the record as exported */
    char        *rev;                   /* key records: the revision read */
} ks_rec_t;

typedef struct {
    ks_rec_t    *r;
    size_t       n;
} ks_set_t;


static void ks_usage(void);
static redisContext *ks_connect(const ks_opts_t *o);
static int ks_collect(redisContext *rc, ks_set_t *set);
static int ks_export(const ks_opts_t *o);
static int ks_import(const ks_opts_t *o);
static int ks_verify(const ks_opts_t *o);
static json_t *ks_b64(const char *p, size_t n);
static char *ks_unb64(json_t *v, size_t *len);
static int ks_read_file(const char *path, ks_set_t *set);
static void ks_set_free(ks_set_t *set);


static void
ks_usage(void)
{
    fprintf(stderr,
        "usage: s3kms-keystore export --redis HOST:PORT "
        "[--password-file F] FILE\n"
        "       s3kms-keystore import --redis HOST:PORT "
        "[--password-file F] [--force] FILE\n"
        "       s3kms-keystore verify --root-key KEYFILE FILE\n");
}


static redisContext *
ks_connect(const ks_opts_t *o)
{
    char           host[256], pw[1024];
    const char    *colon;
    int            port;
    redisContext  *rc;
    redisReply    *r;
    FILE          *f;
    size_t         n;

    colon = strrchr(o->redis, ':');
    if (colon == NULL || colon == o->redis
        || (size_t) (colon - o->redis) >= sizeof(host)
        || (port = atoi(colon + 1)) <= 0 || port > 65535)
    {
        fprintf(stderr, "s3kms-keystore: --redis wants HOST:PORT, not "
                "\"%s\"\n", o->redis);
        return NULL;
    }

    memcpy(host, o->redis, (size_t) (colon - o->redis));
    host[colon - o->redis] = '\0';

    rc = redisConnect(host, port);
    if (rc == NULL || rc->err) {
        fprintf(stderr, "s3kms-keystore: cannot connect to Redis at %s: "
                "%s\n", o->redis, rc ? rc->errstr : "out of memory");
        if (rc) {
            redisFree(rc);
        }
        return NULL;
    }

    if (o->password_file == NULL) {
        return rc;
    }

    f = fopen(o->password_file, "r");
    if (f == NULL) {
        fprintf(stderr, "s3kms-keystore: cannot open %s: %s\n",
                o->password_file, strerror(errno));
        redisFree(rc);
        return NULL;
    }

    n = fread(pw, 1, sizeof(pw) - 1, f);
    fclose(f);
    pw[n] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';

    r = redisCommand(rc, "AUTH %s", pw);
    kms_wipe(pw, sizeof(pw));

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "s3kms-keystore: AUTH failed: %s\n",
                r ? r->str : rc->errstr);
        freeReplyObject(r);
        redisFree(rc);
        return NULL;
    }

    freeReplyObject(r);
    return rc;
}


static json_t *
ks_b64(const char *p, size_t n)
{
    char    *s;
    json_t  *j;

    s = malloc(kms_base64_encoded_len(n) + 1);
    if (s == NULL) {
        return NULL;
    }

    s[kms_base64_encode((const unsigned char *) p, n, s)] = '\0';
    j = json_string(s);
    free(s);
    return j;
}


static char *
ks_unb64(json_t *v, size_t *len)
{
    const char  *s = json_string_value(v);
    char        *out;
    long         n;

    if (s == NULL) {
        return NULL;
    }

    out = malloc(strlen(s) / 4 * 3 + 4);
    if (out == NULL) {
        return NULL;
    }

    n = kms_base64_decode(s, strlen(s), (unsigned char *) out,
                          strlen(s) / 4 * 3 + 3);
    if (n < 0) {
        free(out);
        return NULL;
    }

    out[n] = '\0';
    *len = (size_t) n;
    return out;
}


static void
ks_set_free(ks_set_t *set)
{
    size_t  i;

    for (i = 0; i < set->n; i++) {
        free(set->r[i].key);
        free(set->r[i].rev);
        json_decref(set->r[i].line);
    }

    free(set->r);
    set->r = NULL;
    set->n = 0;
}


static int
ks_add(ks_set_t *set, const char *key, json_t *line, const char *rev)
{
    ks_rec_t  *nr;

    nr = realloc(set->r, (set->n + 1) * sizeof(ks_rec_t));
    if (nr == NULL) {
        json_decref(line);
        return -1;
    }

    set->r = nr;
    nr[set->n].key = strdup(key);
    nr[set->n].line = line;
    nr[set->n].rev = rev ? strdup(rev) : NULL;
    set->n++;
    return 0;
}


/* one kms:* key, read whole, as an export line */
static int
ks_read_key(redisContext *rc, const char *key, ks_set_t *set)
{
    redisReply  *t, *r;
    json_t      *line, *arr, *pair;
    const char  *rev = NULL;
    size_t       i;
    int          rcode = -1;

    t = redisCommand(rc, "TYPE %s", key);
    if (t == NULL || t->type != REDIS_REPLY_STATUS) {
        freeReplyObject(t);
        return -1;
    }

    line = json_pack("{s:s}", "key", key);

    if (strcmp(t->str, "string") == 0) {
        r = redisCommand(rc, "GET %s", key);
        if (r == NULL || r->type != REDIS_REPLY_STRING) {
            goto done;
        }
        json_object_set_new(line, "type", json_string("string"));
        json_object_set_new(line, "value", ks_b64(r->str, r->len));

    } else if (strcmp(t->str, "hash") == 0) {
        r = redisCommand(rc, "HGETALL %s", key);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            goto done;
        }
        arr = json_array();
        for (i = 0; i + 1 < r->elements; i += 2) {
            pair = json_array();
            json_array_append_new(pair, ks_b64(r->element[i]->str,
                                               r->element[i]->len));
            json_array_append_new(pair, ks_b64(r->element[i + 1]->str,
                                               r->element[i + 1]->len));
            json_array_append_new(arr, pair);
            if (strcmp(r->element[i]->str, "rev") == 0) {
                rev = r->element[i + 1]->str;
            }
        }
        json_object_set_new(line, "type", json_string("hash"));
        json_object_set_new(line, "fields", arr);

    } else if (strcmp(t->str, "zset") == 0) {
        r = redisCommand(rc, "ZRANGE %s 0 -1 WITHSCORES", key);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            goto done;
        }
        arr = json_array();
        for (i = 0; i + 1 < r->elements; i += 2) {
            pair = json_array();
            json_array_append_new(pair, ks_b64(r->element[i]->str,
                                               r->element[i]->len));
            json_array_append_new(pair, json_string(r->element[i + 1]->str));
            json_array_append_new(arr, pair);
        }
        json_object_set_new(line, "type", json_string("zset"));
        json_object_set_new(line, "members", arr);

    } else if (strcmp(t->str, "none") == 0) {
        /* gone since the scan */
        json_decref(line);
        freeReplyObject(t);
        return 0;

    } else {
        fprintf(stderr, "s3kms-keystore: %s has unexpected type %s\n", key,
                t->str);
        r = NULL;
        goto done;
    }

    rcode = ks_add(set, key, line, strncmp(key, "kms:key:", 8) == 0 ? rev
                                                                     : NULL);
    line = NULL;

done:

    json_decref(line);
    freeReplyObject(r);
    freeReplyObject(t);
    return rcode;
}


static int
ks_key_cmp(const void *a, const void *b)
{
    return strcmp(((const ks_rec_t *) a)->key, ((const ks_rec_t *) b)->key);
}


static int
ks_collect(redisContext *rc, ks_set_t *set)
{
    redisReply  *r;
    char        *cursor = strdup("0");
    size_t       i;

    do {
        r = redisCommand(rc, "SCAN %s MATCH kms:* COUNT 1000", cursor);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "s3kms-keystore: SCAN failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
            freeReplyObject(r);
            free(cursor);
            return -1;
        }

        free(cursor);
        cursor = strdup(r->element[0]->str);

        for (i = 0; i < r->element[1]->elements; i++) {
            const char  *k = r->element[1]->element[i]->str;

            if (strncmp(k, "kms:lock:", 9) == 0) {
                continue;
            }
            if (ks_read_key(rc, k, set) != 0) {
                fprintf(stderr, "s3kms-keystore: cannot read %s\n", k);
                freeReplyObject(r);
                free(cursor);
                return -1;
            }
        }

        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);

    free(cursor);
    if (set->n) {
        qsort(set->r, set->n, sizeof(ks_rec_t), ks_key_cmp);
    }
    return 0;
}


/* 1 if every key record still has the revision read */
static int
ks_unchanged(redisContext *rc, const ks_set_t *set)
{
    redisReply  *r;
    size_t       i;
    int          same;

    for (i = 0; i < set->n; i++) {
        if (set->r[i].rev == NULL) {
            continue;
        }
        r = redisCommand(rc, "HGET %s rev", set->r[i].key);
        same = r != NULL && r->type == REDIS_REPLY_STRING
               && strcmp(r->str, set->r[i].rev) == 0;
        freeReplyObject(r);
        if (!same) {
            return 0;
        }
    }

    return 1;
}


static int
ks_export(const ks_opts_t *o)
{
    redisContext  *rc;
    ks_set_t       set = { NULL, 0 };
    int            attempt, fd, rcode = 1;
    char           tmp[4096], when[32], *s;
    FILE          *f;
    size_t         i, keys = 0, aliases = 0, accounts = 0, roots = 0;
    time_t         now = time(NULL);
    struct tm      tm;

    rc = ks_connect(o);
    if (rc == NULL) {
        return 1;
    }

    for (attempt = 0; attempt < 3; attempt++) {
        ks_set_free(&set);
        if (ks_collect(rc, &set) != 0) {
            goto done;
        }
        if (ks_unchanged(rc, &set)) {
            break;
        }
    }

    if (attempt == 3) {
        fprintf(stderr, "s3kms-keystore: the key store kept changing during "
                "the export; try again\n");
        goto done;
    }

    snprintf(tmp, sizeof(tmp), "%s.tmp", o->file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        fprintf(stderr, "s3kms-keystore: cannot write %s: %s\n", tmp,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        goto done;
    }

    f = fdopen(fd, "w");
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "{\"format\":\"s3kms-keystore\",\"version\":1,"
            "\"exported\":\"%s\"}\n", when);

    for (i = 0; i < set.n; i++) {
        s = json_dumps(set.r[i].line, JSON_COMPACT);
        if (s == NULL || fprintf(f, "%s\n", s) < 0) {
            free(s);
            fclose(f);
            unlink(tmp);
            goto done;
        }
        free(s);

        if (strncmp(set.r[i].key, "kms:key:", 8) == 0) {
            keys++;
        } else if (strncmp(set.r[i].key, "kms:alias:", 10) == 0) {
            aliases++;
        } else if (strncmp(set.r[i].key, "kms:keys:", 9) == 0) {
            accounts++;
        } else if (strcmp(set.r[i].key, "kms:root") == 0) {
            roots++;
        }
    }

    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0
        || rename(tmp, o->file) != 0)
    {
        fprintf(stderr, "s3kms-keystore: cannot write %s: %s\n", o->file,
                strerror(errno));
        unlink(tmp);
        goto done;
    }

    printf("exported %zu records: %zu root fingerprint, %zu keys, %zu alias "
           "hashes, %zu account sets\n", set.n, roots, keys, aliases,
           accounts);
    rcode = 0;

done:

    ks_set_free(&set);
    redisFree(rc);
    return rcode;
}


static int
ks_read_file(const char *path, ks_set_t *set)
{
    FILE         *f;
    char         *line = NULL;
    size_t        cap = 0;
    ssize_t       n;
    json_t       *j;
    json_error_t  err;
    unsigned      lineno = 0;
    const char   *key, *type;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "s3kms-keystore: cannot open %s: %s\n", path,
                strerror(errno));
        return -1;
    }

    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        j = json_loadb(line, (size_t) n, JSON_REJECT_DUPLICATES, &err);
        if (j == NULL) {
            fprintf(stderr, "s3kms-keystore: %s:%u: %s\n", path, lineno,
                    err.text);
            goto failed;
        }

        if (lineno == 1) {
            if (json_unpack(j, "{s:s}", "format", &type) != 0
                || strcmp(type, "s3kms-keystore") != 0
                || json_integer_value(json_object_get(j, "version")) != 1)
            {
                fprintf(stderr, "s3kms-keystore: %s is not a key store "
                        "export (version 1)\n", path);
                json_decref(j);
                goto failed;
            }
            json_decref(j);
            continue;
        }

        if (json_unpack(j, "{s:s, s:s}", "key", &key, "type", &type) != 0
            || strncmp(key, "kms:", 4) != 0
            || (strcmp(type, "string") != 0 && strcmp(type, "hash") != 0
                && strcmp(type, "zset") != 0))
        {
            fprintf(stderr, "s3kms-keystore: %s:%u: not a kms:* record\n",
                    path, lineno);
            json_decref(j);
            goto failed;
        }

        if (ks_add(set, key, j, NULL) != 0) {
            goto failed;
        }
    }

    free(line);
    fclose(f);

    if (lineno == 0) {
        fprintf(stderr, "s3kms-keystore: %s is empty\n", path);
        return -1;
    }

    return 0;

failed:

    free(line);
    fclose(f);
    return -1;
}


static int
ks_append(redisContext *rc, int argc, const char **argv,
    const size_t *argvlen)
{
    return redisAppendCommandArgv(rc, argc, argv, argvlen) == REDIS_OK
           ? 0 : -1;
}


static int
ks_import(const ks_opts_t *o)
{
    redisContext  *rc;
    redisReply    *r;
    ks_set_t       set = { NULL, 0 }, existing = { NULL, 0 };
    size_t         i, j, queued = 0, lens[4];
    const char    *argv[4];
    char          *a, *b;
    size_t         alen, blen;
    json_t        *e, *pair;
    int            rcode = 1;
    size_t         keys = 0, aliases = 0, accounts = 0, roots = 0;

    if (ks_read_file(o->file, &set) != 0) {
        return 1;
    }

    rc = ks_connect(o);
    if (rc == NULL) {
        ks_set_free(&set);
        return 1;
    }

    if (ks_collect(rc, &existing) != 0) {
        goto done;
    }

    if (existing.n && !o->force) {
        fprintf(stderr, "s3kms-keystore: Redis at %s already holds %zu kms:* "
                "records; refusing to import over them (--force replaces "
                "them)\n", o->redis, existing.n);
        goto done;
    }

    argv[0] = "MULTI";
    lens[0] = 5;
    if (ks_append(rc, 1, argv, lens) != 0) {
        goto done;
    }
    queued++;

    /* --force: what is there goes, in the same transaction */
    for (i = 0; i < existing.n; i++) {
        argv[0] = "DEL";
        lens[0] = 3;
        argv[1] = existing.r[i].key;
        lens[1] = strlen(existing.r[i].key);
        if (ks_append(rc, 2, argv, lens) != 0) {
            goto done;
        }
        queued++;
    }

    for (i = 0; i < set.n; i++) {
        json_t      *line = set.r[i].line;
        const char  *type = json_string_value(json_object_get(line, "type"));
        const char  *key = set.r[i].key;

        argv[0] = "DEL";
        lens[0] = 3;
        argv[1] = key;
        lens[1] = strlen(key);
        if (ks_append(rc, 2, argv, lens) != 0) {
            goto done;
        }
        queued++;

        if (strcmp(type, "string") == 0) {
            a = ks_unb64(json_object_get(line, "value"), &alen);
            if (a == NULL) {
                fprintf(stderr, "s3kms-keystore: %s: bad value\n", key);
                goto done;
            }
            argv[0] = "SET";
            lens[0] = 3;
            argv[2] = a;
            lens[2] = alen;
            if (ks_append(rc, 3, argv, lens) != 0) {
                free(a);
                goto done;
            }
            free(a);
            queued++;
            roots += strcmp(key, "kms:root") == 0;
            continue;
        }

        e = json_object_get(line, strcmp(type, "hash") == 0 ? "fields"
                                                             : "members");
        json_array_foreach(e, j, pair) {
            a = ks_unb64(json_array_get(pair, 0), &alen);
            if (strcmp(type, "hash") == 0) {
                b = ks_unb64(json_array_get(pair, 1), &blen);
            } else {
                const char  *sc = json_string_value(json_array_get(pair, 1));

                b = sc ? strdup(sc) : NULL;
                blen = sc ? strlen(sc) : 0;
            }

            if (a == NULL || b == NULL) {
                fprintf(stderr, "s3kms-keystore: %s: bad entry\n", key);
                free(a);
                free(b);
                goto done;
            }

            if (strcmp(type, "hash") == 0) {
                argv[0] = "HSET";
                lens[0] = 4;
                argv[2] = a;
                lens[2] = alen;
                argv[3] = b;
                lens[3] = blen;
            } else {
                argv[0] = "ZADD";
                lens[0] = 4;
                argv[2] = b;
                lens[2] = blen;
                argv[3] = a;
                lens[3] = alen;
            }

            if (ks_append(rc, 4, argv, lens) != 0) {
                free(a);
                free(b);
                goto done;
            }
            free(a);
            free(b);
            queued++;
        }

        if (strncmp(key, "kms:key:", 8) == 0) {
            keys++;
        } else if (strncmp(key, "kms:alias:", 10) == 0) {
            aliases++;
        } else if (strncmp(key, "kms:keys:", 9) == 0) {
            accounts++;
        }
    }

    argv[0] = "EXEC";
    lens[0] = 4;
    if (ks_append(rc, 1, argv, lens) != 0) {
        goto done;
    }
    queued++;

    /* the replies: +OK, +QUEUED…, then EXEC's array */
    for (i = 0; i < queued; i++) {
        if (redisGetReply(rc, (void **) &r) != REDIS_OK || r == NULL) {
            fprintf(stderr, "s3kms-keystore: Redis: %s\n", rc->errstr);
            goto done;
        }
        if (r->type == REDIS_REPLY_ERROR
            || (i == queued - 1 && r->type != REDIS_REPLY_ARRAY))
        {
            fprintf(stderr, "s3kms-keystore: the import transaction failed: "
                    "%s\n", r->type == REDIS_REPLY_ERROR ? r->str
                                                         : "aborted");
            freeReplyObject(r);
            goto done;
        }
        freeReplyObject(r);
    }

    printf("imported %zu records: %zu root fingerprint, %zu keys, %zu alias "
           "hashes, %zu account sets%s\n", set.n, roots, keys, aliases,
           accounts, existing.n ? " (replacing what was there)" : "");
    rcode = 0;

done:

    ks_set_free(&set);
    ks_set_free(&existing);
    redisFree(rc);
    return rcode;
}


static int
ks_verify(const ks_opts_t *o)
{
    ks_set_t       set = { NULL, 0 };
    unsigned char  root[KMS_ROOT_KEY_LEN], rk[32];
    char           err[512], fp[KMS_FINGERPRINT_LEN + 1], *v;
    size_t         i, j, len, good = 0, bad = 0, n;
    int            rcode = 1, fp_ok = 0;
    kms_reply_t   *el, reply;
    char         **bufs;
    json_t        *fields, *pair;
    kms_key_t     *k;

    if (kms_global_init(0) != 0
        || kms_root_key_load(o->root_key, root, err, sizeof(err)) != 0)
    {
        fprintf(stderr, "s3kms-keystore: %s\n", err);
        return 1;
    }

    if (ks_read_file(o->file, &set) != 0) {
        kms_wipe(root, sizeof(root));
        return 1;
    }

    kms_root_fingerprint(root, fp);
    kms_hkdf_sha256(root, KMS_ROOT_KEY_LEN, NULL, 0, "KMS1 record", 11, rk,
                    32);

    for (i = 0; i < set.n; i++) {
        const char  *key = set.r[i].key;

        if (strcmp(key, "kms:root") == 0) {
            v = ks_unb64(json_object_get(set.r[i].line, "value"), &len);
            fp_ok = v != NULL && len == KMS_FINGERPRINT_LEN
                    && memcmp(v, fp, len) == 0;
            if (!fp_ok) {
                fprintf(stderr, "s3kms-keystore: the export belongs to "
                        "another root key (fingerprint %s, this key's %s)\n",
                        v ? v : "?", fp);
            }
            free(v);
            continue;
        }

        if (strncmp(key, "kms:key:{", 9) != 0) {
            continue;
        }

        fields = json_object_get(set.r[i].line, "fields");
        n = json_array_size(fields);
        el = calloc(2 * n + 1, sizeof(kms_reply_t));
        bufs = calloc(2 * n + 1, sizeof(char *));

        json_array_foreach(fields, j, pair) {
            bufs[2 * j] = ks_unb64(json_array_get(pair, 0), &len);
            el[2 * j].type = KMS_REPLY_STRING;
            el[2 * j].str = bufs[2 * j] ? bufs[2 * j] : "";
            el[2 * j].len = bufs[2 * j] ? len : 0;
            bufs[2 * j + 1] = ks_unb64(json_array_get(pair, 1), &len);
            el[2 * j + 1].type = KMS_REPLY_STRING;
            el[2 * j + 1].str = bufs[2 * j + 1] ? bufs[2 * j + 1] : "";
            el[2 * j + 1].len = bufs[2 * j + 1] ? len : 0;
        }

        memset(&reply, 0, sizeof(reply));
        reply.type = KMS_REPLY_ARRAY;
        reply.elements = 2 * n;
        reply.element = el;

        {
            char  id[KMS_ID_TEXT_LEN + 1];

            snprintf(id, sizeof(id), "%.36s", key + 9);
            if (kms_record_decode(&reply, id, root, rk, "aws", "us-east-1",
                                  &k, err, sizeof(err)) == KMS_OK)
            {
                good++;
                kms_key_free(k);
            } else {
                bad++;
                fprintf(stderr, "s3kms-keystore: %s\n", err);
            }
        }

        for (j = 0; j < 2 * n; j++) {
            free(bufs[j]);
        }
        free(bufs);
        free(el);
    }

    printf("verified %zu key records: %zu good, %zu failed; root "
           "fingerprint %s\n", good + bad, good, bad,
           fp_ok ? "matches" : "DOES NOT MATCH");
    rcode = bad == 0 && fp_ok ? 0 : 1;

    kms_wipe(root, sizeof(root));
    kms_wipe(rk, sizeof(rk));
    ks_set_free(&set);
    return rcode;
}


int
main(int argc, char **argv)
{
    ks_opts_t    o;
    const char  *cmd;
    int          i;

    memset(&o, 0, sizeof(o));

    if (argc < 2) {
        ks_usage();
        return 2;
    }

    cmd = argv[1];

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc) {
            o.redis = argv[++i];
        } else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            o.password_file = argv[++i];
        } else if (strcmp(argv[i], "--root-key") == 0 && i + 1 < argc) {
            o.root_key = argv[++i];
        } else if (strcmp(argv[i], "--force") == 0) {
            o.force = 1;
        } else if (argv[i][0] == '-' || o.file != NULL) {
            ks_usage();
            return 2;
        } else {
            o.file = argv[i];
        }
    }

    if (o.file == NULL) {
        ks_usage();
        return 2;
    }

    if (strcmp(cmd, "export") == 0 && o.redis) {
        return ks_export(&o);
    }

    if (strcmp(cmd, "import") == 0 && o.redis) {
        return ks_import(&o);
    }

    if (strcmp(cmd, "verify") == 0 && o.root_key) {
        return ks_verify(&o);
    }

    ks_usage();
    return 2;
}
