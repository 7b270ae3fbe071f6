/*
 * A small in-memory stand-in for Redis that interprets the commands the
 * KMS core hands out (kms_call.c: EVAL of its four scripts, HGET, SCAN,
 * SET NX), so the unit tests drive calls through the real state machine
 * without a server.  Header-only, for the tests.
 */

#ifndef KMS_FAKE_H
#define KMS_FAKE_H

#include <stdlib.h>
#include <string.h>

#include "kms.h"


typedef struct {
    char       *f;
    size_t      flen;
    char       *v;
    size_t      vlen;
} fk_field_t;

typedef struct {
    char       *name;
    int         type;                /* 1 string, 2 hash, 3 sorted set */
    char       *str;
    size_t      slen;
    fk_field_t *fields;
    size_t      nfields;
} fk_key_t;

typedef struct {
    fk_key_t   *keys;
    size_t      n;
    unsigned    commands;
    unsigned    writes;
    unsigned    write_replies_ok;
    /* test hooks */
    void      (*before_write)(void *data);
    void       *hook_data;
    int         fail_next;           /* answer the next command with an error */
    /* replies handed out, freed at the next command */
    void      **arena;
    size_t      narena;
} fk_t;


static inline void *
fk_alloc(fk_t *fk, size_t n)
{
    void  *p = calloc(1, n ? n : 1);

    fk->arena = realloc(fk->arena, (fk->narena + 1) * sizeof(void *));
    fk->arena[fk->narena++] = p;
    return p;
}


static inline void
fk_arena_free(fk_t *fk)
{
    size_t  i;

    for (i = 0; i < fk->narena; i++) {
        free(fk->arena[i]);
    }
    free(fk->arena);
    fk->arena = NULL;
    fk->narena = 0;
}


static inline fk_key_t *
fk_find(fk_t *fk, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < fk->n; i++) {
        if (strlen(fk->keys[i].name) == len
            && memcmp(fk->keys[i].name, name, len) == 0)
        {
            return &fk->keys[i];
        }
    }

    return NULL;
}


static inline fk_key_t *
fk_get(fk_t *fk, const char *name, size_t len, int type)
{
    fk_key_t  *k = fk_find(fk, name, len);

    if (k != NULL) {
        return k;
    }

    fk->keys = realloc(fk->keys, (fk->n + 1) * sizeof(fk_key_t));
    k = &fk->keys[fk->n++];
    memset(k, 0, sizeof(*k));
    k->name = strndup(name, len);
    k->type = type;
    return k;
}


static inline void
fk_del(fk_t *fk, const char *name, size_t len)
{
    fk_key_t  *k = fk_find(fk, name, len);
    size_t     i;

    if (k == NULL) {
        return;
    }

    for (i = 0; i < k->nfields; i++) {
        free(k->fields[i].f);
        free(k->fields[i].v);
    }
    free(k->fields);
    free(k->str);
    free(k->name);
    *k = fk->keys[--fk->n];
}


static inline fk_field_t *
fk_hfind(fk_key_t *k, const char *f, size_t flen)
{
    size_t  i;

    for (i = 0; k && i < k->nfields; i++) {
        if (k->fields[i].flen == flen && memcmp(k->fields[i].f, f, flen) == 0)
        {
            return &k->fields[i];
        }
    }

    return NULL;
}


static inline void
fk_hset(fk_t *fk, const char *key, size_t klen, const char *f, size_t flen,
    const char *v, size_t vlen)
{
    fk_key_t    *k = fk_get(fk, key, klen, 2);
    fk_field_t  *e = fk_hfind(k, f, flen);

    if (e == NULL) {
        k->fields = realloc(k->fields, (k->nfields + 1) * sizeof(fk_field_t));
        e = &k->fields[k->nfields++];
        e->f = malloc(flen + 1);
        memcpy(e->f, f, flen);
        e->f[flen] = '\0';
        e->flen = flen;
    } else {
        free(e->v);
    }

    e->v = malloc(vlen + 1);
    memcpy(e->v, v, vlen);
    e->v[vlen] = '\0';
    e->vlen = vlen;
}


static inline void
fk_hdel(fk_t *fk, const char *key, size_t klen, const char *f, size_t flen)
{
    fk_key_t    *k = fk_find(fk, key, klen);
    fk_field_t  *e = fk_hfind(k, f, flen);

    if (e == NULL) {
        return;
    }

    free(e->f);
    free(e->v);
    *e = k->fields[--k->nfields];

    if (k->nfields == 0) {
        fk_del(fk, key, klen);
    }
}


static inline kms_reply_t *
fk_str(fk_t *fk, const char *s, size_t n)
{
    kms_reply_t  *r = fk_alloc(fk, sizeof(kms_reply_t));
    char         *p = fk_alloc(fk, n + 1);

    memcpy(p, s, n);
    r->type = KMS_REPLY_STRING;
    r->str = p;
    r->len = n;
    return r;
}


static inline kms_reply_t *
fk_nil(fk_t *fk)
{
    kms_reply_t  *r = fk_alloc(fk, sizeof(kms_reply_t));

    r->type = KMS_REPLY_NIL;
    return r;
}


static inline void
fk_hgetall(fk_t *fk, const char *key, size_t klen, kms_reply_t *out)
{
    fk_key_t     *k = fk_find(fk, key, klen);
    kms_reply_t  *el;
    size_t        i;

    out->type = KMS_REPLY_ARRAY;
    out->elements = k && k->type == 2 ? 2 * k->nfields : 0;
    el = fk_alloc(fk, (out->elements + 1) * sizeof(kms_reply_t));
    out->element = el;

    for (i = 0; k && k->type == 2 && i < k->nfields; i++) {
        el[2 * i] = *fk_str(fk, k->fields[i].f, k->fields[i].flen);
        el[2 * i + 1] = *fk_str(fk, k->fields[i].v, k->fields[i].vlen);
    }
}


#define FK_ARG(i)  cmd->argv[i], cmd->argvlen[i]
#define FK_IS(i, s) (cmd->argvlen[i] == strlen(s)                            \
                     && memcmp(cmd->argv[i], s, strlen(s)) == 0)


static inline const char *
fk_write(fk_t *fk, const kms_cmd_t *cmd)
{
    int          nkeys = atoi(cmd->argv[2]), pass, i, idx;
    const char  *fp = cmd->argv[3 + nkeys];
    size_t       fplen = cmd->argvlen[3 + nkeys];
    fk_key_t    *root, *k;
    fk_field_t  *e;

    fk->writes++;
    if (fk->before_write) {
        fk->before_write(fk->hook_data);
    }

    root = fk_find(fk, "kms:root", 8);
    if (root == NULL || root->slen != fplen
        || memcmp(root->str, fp, fplen) != 0)
    {
        return "ROOT";
    }

    for (pass = 0; pass < 2; pass++) {
        for (i = 4 + nkeys; i + 3 < cmd->argc; i += 4) {
            const char  *op = cmd->argv[i];
            const char  *kn;
            size_t       kl;

            idx = atoi(cmd->argv[i + 1]);
            kn = cmd->argv[2 + idx];
            kl = cmd->argvlen[2 + idx];
            k = fk_find(fk, kn, kl);

            if (pass == 0) {
                if (strcmp(op, "rev") == 0) {
                    e = fk_hfind(k, "rev", 3);
                    if (e ? (e->vlen != cmd->argvlen[i + 2]
                             || memcmp(e->v, cmd->argv[i + 2], e->vlen))
                          : strcmp(cmd->argv[i + 2], "0") != 0)
                    {
                        return "CONFLICT";
                    }
                } else if (strcmp(op, "absent") == 0) {
                    if (fk_hfind(k, FK_ARG(i + 2)) != NULL) {
                        return "EXISTS";
                    }
                } else if (strcmp(op, "is") == 0) {
                    e = fk_hfind(k, FK_ARG(i + 2));
                    if (e == NULL || e->vlen != cmd->argvlen[i + 3]
                        || memcmp(e->v, cmd->argv[i + 3], e->vlen) != 0)
                    {
                        return "MISMATCH";
                    }
                }
                continue;
            }

            if (strcmp(op, "hset") == 0 || strcmp(op, "zadd") == 0) {
                if (strcmp(op, "zadd") == 0) {
                    fk_get(fk, kn, kl, 3);
                    fk_hset(fk, kn, kl, FK_ARG(i + 3), FK_ARG(i + 2));
                } else {
                    fk_hset(fk, kn, kl, FK_ARG(i + 2), FK_ARG(i + 3));
                }
            } else if (strcmp(op, "hdel") == 0 || strcmp(op, "zrem") == 0) {
                fk_hdel(fk, kn, kl, FK_ARG(i + 2));
            } else if (strcmp(op, "del") == 0) {
                fk_del(fk, kn, kl);
            }
        }
    }

    fk->write_replies_ok++;
    return "OK";
}


static inline const kms_reply_t *
fk_exec(fk_t *fk, const kms_cmd_t *cmd)
{
    kms_reply_t  *r;
    fk_key_t     *k;
    fk_field_t   *e;
    int           i, n;
    size_t        j, m;

    fk_arena_free(fk);
    fk->commands++;

    if (fk->fail_next) {
        fk->fail_next = 0;
        r = fk_alloc(fk, sizeof(kms_reply_t));
        r->type = KMS_REPLY_ERROR;
        r->str = "ERR injected";
        r->len = 12;
        return r;
    }

    if (FK_IS(0, "EVAL")) {
        const char  *script = cmd->argv[1];

        if (strstr(script, "return 'ROOT'") != NULL) {
            const char  *s = fk_write(fk, cmd);
            return fk_str(fk, s, strlen(s));
        }

        if (strstr(script, "HGETALL") != NULL) {
            n = atoi(cmd->argv[2]);
            r = fk_alloc(fk, sizeof(kms_reply_t));
            r->type = KMS_REPLY_ARRAY;
            r->elements = (size_t) n;
            r->element = fk_alloc(fk, (size_t) (n + 1) * sizeof(kms_reply_t));
            for (i = 0; i < n; i++) {
                fk_hgetall(fk, FK_ARG(3 + i),
                           (kms_reply_t *) &r->element[i]);
            }
            return r;
        }

        /* the unlock script: DEL if it still holds ARGV[1] */
        if (strstr(script, "'DEL'") != NULL) {
            k = fk_find(fk, FK_ARG(3));
            r = fk_alloc(fk, sizeof(kms_reply_t));
            r->type = KMS_REPLY_INTEGER;
            if (k != NULL && k->type == 1 && k->slen == cmd->argvlen[4]
                && memcmp(k->str, cmd->argv[4], k->slen) == 0)
            {
                fk_del(fk, FK_ARG(3));
                r->integer = 1;
            }
            return r;
        }

        /* the root script: GET, SET if absent */
        k = fk_find(fk, FK_ARG(3));
        if (k == NULL) {
            k = fk_get(fk, FK_ARG(3), 1);
            k->str = strndup(FK_ARG(4));
            k->slen = cmd->argvlen[4];
        }
        return fk_str(fk, k->str, k->slen);
    }

    if (FK_IS(0, "HGET")) {
        e = fk_hfind(fk_find(fk, FK_ARG(1)), FK_ARG(2));
        return e ? fk_str(fk, e->v, e->vlen) : fk_nil(fk);
    }

    if (FK_IS(0, "SCAN")) {
        r = fk_alloc(fk, sizeof(kms_reply_t));
        r->type = KMS_REPLY_ARRAY;
        r->elements = 2;
        r->element = fk_alloc(fk, 2 * sizeof(kms_reply_t));
        ((kms_reply_t *) r->element)[0] = *fk_str(fk, "0", 1);

        kms_reply_t  *list = (kms_reply_t *) &r->element[1];
        list->type = KMS_REPLY_ARRAY;
        list->element = fk_alloc(fk, (fk->n + 1) * sizeof(kms_reply_t));
        for (j = 0, m = 0; j < fk->n; j++) {
            if (strncmp(fk->keys[j].name, "kms:key:", 8) == 0) {
                ((kms_reply_t *) list->element)[m++] =
                    *fk_str(fk, fk->keys[j].name, strlen(fk->keys[j].name));
            }
        }
        list->elements = m;
        return r;
    }

    if (FK_IS(0, "SET")) {
        if (fk_find(fk, FK_ARG(1)) != NULL) {
            return fk_nil(fk);
        }
        k = fk_get(fk, FK_ARG(1), 1);
        k->str = strndup(FK_ARG(2));
        k->slen = cmd->argvlen[2];
        return fk_str(fk, "OK", 2);
    }

    r = fk_alloc(fk, sizeof(kms_reply_t));
    r->type = KMS_REPLY_ERROR;
    r->str = "ERR unknown command";
    r->len = 19;
    return r;
}


/* runs a call to its end against the fake */
static inline void
fk_drive(fk_t *fk, kms_call_t *call)
{
    while (kms_call_run(call) == KMS_CALL_NEED_REDIS) {
        kms_call_reply(call, fk_exec(fk, kms_call_command(call)));
    }
}


static inline void
fk_free(fk_t *fk)
{
    while (fk->n) {
        fk_del(fk, fk->keys[0].name, strlen(fk->keys[0].name));
    }
    free(fk->keys);
    fk->keys = NULL;
    fk_arena_free(fk);
}

#endif /* KMS_FAKE_H */
