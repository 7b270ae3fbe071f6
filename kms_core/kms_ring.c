/*
 * The key ring: every key of the key store by id, every alias by
 * (account, name), in chained hash tables.  Aliases are not records of
 * their own in the ring: each key's authenticated metadata lists its
 * aliases, and the alias table is rebuilt from it whenever a key changes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_int.h"


#define KMS_RING_BUCKETS   1024


static uint64_t kms_hash(const char *s, size_t n);
static void kms_ring_unlink_aliases(kms_ring_t *r, kms_key_t *k);
static int kms_ring_link_aliases(kms_ring_t *r, kms_key_t *k);
static int kms_ring_grow_keys(kms_ring_t *r);


static uint64_t
kms_hash(const char *s, size_t n)
{
    uint64_t  h = 1469598103934665603ULL;          /* FNV-1a */
    size_t    i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211ULL;
    }

    return h;
}


int
kms_ring_init(kms_ring_t *r)
{
    memset(r, 0, sizeof(*r));

    r->keys = calloc(KMS_RING_BUCKETS, sizeof(kms_key_t *));
    r->aliases = calloc(KMS_RING_BUCKETS, sizeof(kms_alias_ref_t *));
    if (r->keys == NULL || r->aliases == NULL) {
        free(r->keys);
        free(r->aliases);
        return -1;
    }

    r->nkeys_buckets = KMS_RING_BUCKETS;
    r->nalias_buckets = KMS_RING_BUCKETS;
    return 0;
}


void
kms_ring_free(kms_ring_t *r)
{
    size_t            i;
    kms_key_t        *k, *kn;
    kms_alias_ref_t  *a, *an;

    for (i = 0; i < r->nkeys_buckets; i++) {
        for (k = r->keys[i]; k; k = kn) {
            kn = k->next;
            kms_key_free(k);
        }
    }

    for (i = 0; i < r->nalias_buckets; i++) {
        for (a = r->aliases[i]; a; a = an) {
            an = a->next;
            free(a->name);
            free(a);
        }
    }

    free(r->keys);
    free(r->aliases);
    memset(r, 0, sizeof(*r));
}


kms_key_t *
kms_ring_key(const kms_ring_t *r, const char *id_text)
{
    kms_key_t  *k;
    size_t      n = strlen(id_text);

    if (r->keys == NULL) {
        return NULL;
    }

    for (k = r->keys[kms_hash(id_text, n) % r->nkeys_buckets]; k; k = k->next)
    {
        if (strcmp(k->id_text, id_text) == 0) {
            return k;
        }
    }

    return NULL;
}


static size_t
kms_alias_slot(const kms_ring_t *r, const char *full)
{
    return kms_hash(full, strlen(full)) % r->nalias_buckets;
}


kms_key_t *
kms_ring_alias(const kms_ring_t *r, const char *account, const char *name)
{
    char              full[320];
    kms_alias_ref_t  *a;

    if (r->aliases == NULL || strlen(name) > 256) {
        return NULL;
    }

    snprintf(full, sizeof(full), "%s/%s", account, name);

    for (a = r->aliases[kms_alias_slot(r, full)]; a; a = a->next) {
        if (strcmp(a->name, full) == 0) {
            return a->key;
        }
    }

    return NULL;
}


static void
kms_ring_unlink_aliases(kms_ring_t *r, kms_key_t *k)
{
    size_t             i;
    char               full[320];
    kms_alias_ref_t  **pp, *a;

    for (i = 0; i < k->naliases; i++) {
        snprintf(full, sizeof(full), "%s/%s", k->account, k->aliases[i].name);

        for (pp = &r->aliases[kms_alias_slot(r, full)]; *pp; pp = &a->next) {
            a = *pp;
            if (a->key == k && strcmp(a->name, full) == 0) {
                *pp = a->next;
                free(a->name);
                free(a);
                r->naliases--;
                break;
            }
        }
    }
}


static int
kms_ring_link_aliases(kms_ring_t *r, kms_key_t *k)
{
    size_t            i, slot;
    char              full[320];
    kms_alias_ref_t  *a;

    for (i = 0; i < k->naliases; i++) {
        snprintf(full, sizeof(full), "%s/%s", k->account, k->aliases[i].name);
        slot = kms_alias_slot(r, full);

        for (a = r->aliases[slot]; a; a = a->next) {
            if (strcmp(a->name, full) == 0) {
                break;
            }
        }

        if (a != NULL) {
            /* the newer record claims it: an update moved the alias */
            a->key = k;
            continue;
        }

        a = malloc(sizeof(kms_alias_ref_t));
        if (a == NULL || (a->name = strdup(full)) == NULL) {
            free(a);
            return -1;
        }

        a->key = k;
        a->next = r->aliases[slot];
        r->aliases[slot] = a;
        r->naliases++;
    }

    return 0;
}


static int
kms_ring_grow_keys(kms_ring_t *r)
{
    kms_key_t  **nb, *k, *kn;
    size_t       n = r->nkeys_buckets * 2, i, slot;

    nb = calloc(n, sizeof(kms_key_t *));
    if (nb == NULL) {
        return -1;
    }

    for (i = 0; i < r->nkeys_buckets; i++) {
        for (k = r->keys[i]; k; k = kn) {
            kn = k->next;
            slot = kms_hash(k->id_text, KMS_ID_TEXT_LEN) % n;
            k->next = nb[slot];
            nb[slot] = k;
        }
    }

    free(r->keys);
    r->keys = nb;
    r->nkeys_buckets = n;
    return 0;
}


int
kms_ring_put(kms_ring_t *r, kms_key_t *k)
{
    kms_key_t  **pp, *old;
    size_t       slot;

    if (r->nkeys >= r->nkeys_buckets && kms_ring_grow_keys(r) != 0) {
        return -1;
    }

    slot = kms_hash(k->id_text, strlen(k->id_text)) % r->nkeys_buckets;

    for (pp = &r->keys[slot]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id_text, k->id_text) == 0) {
            old = *pp;
            kms_ring_unlink_aliases(r, old);
            k->next = old->next;
            *pp = k;
            kms_key_free(old);
            return kms_ring_link_aliases(r, k);
        }
    }

    k->next = r->keys[slot];
    r->keys[slot] = k;
    r->nkeys++;

    return kms_ring_link_aliases(r, k);
}


void
kms_ring_del(kms_ring_t *r, const char *id_text)
{
    kms_key_t  **pp, *k;
    size_t       slot;

    slot = kms_hash(id_text, strlen(id_text)) % r->nkeys_buckets;

    for (pp = &r->keys[slot]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id_text, id_text) == 0) {
            k = *pp;
            *pp = k->next;
            kms_ring_unlink_aliases(r, k);
            kms_key_free(k);
            r->nkeys--;
            return;
        }
    }
}
