/*
 * The key store codec (DESIGN.md §5): material ids, wrapped material,
 * the root fingerprint, and the authenticated record of a key
 * (the kms:key:{ID} hash).
 *
 * Fields of kms:key:{ID}:
 *
 *   rev      revision, decimal; 1 at creation, +1 per change
 *   meta     JSON: everything about the key but its policy and material
 *   policy   the key policy document, as given
 *   mac      hex HMAC-SHA256 (input documented in kms_int.h)
 *   v1…vN    each version's wrapped material: IV ‖ ct ‖ tag, 60 bytes
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kms_int.h"


#define KMS_MATID_INFO   "KMS1 material id"
#define KMS_WRAP_AAD     "KMS1 material"
#define KMS_FP_INFO      "KMS1 root fingerprint"
#define KMS_RECORD_TAG   "KMS1 record v1"


static void kms_be32(unsigned char *p, uint32_t v);
static char *kms_strdup(const char *s);
static char *kms_meta_encode(const kms_key_t *k);
static int kms_unhex32(const char *s, unsigned char out[32]);
static int kms_meta_decode(kms_key_t *k, const char *meta, size_t len);


static void
kms_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}


static int
kms_unhex32(const char *s, unsigned char out[32])
{
    int     i, h, l;
    char    c;

    for (i = 0; i < 32; i++) {
        c = s[2 * i];
        h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 87 : -1;
        c = s[2 * i + 1];
        l = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 87 : -1;
        if (h < 0 || l < 0) {
            return -1;
        }
        out[i] = (unsigned char) (h << 4 | l);
    }

    return 0;
}


static char *
kms_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}


void
kms_material_id(const unsigned char id[KMS_ID_LEN], uint32_t version,
    char out[KMS_MATID_TEXT_LEN + 1])
{
    unsigned char  in[sizeof(KMS_MATID_INFO) - 1 + KMS_ID_LEN + 4];
    unsigned char  md[32];

    memcpy(in, KMS_MATID_INFO, sizeof(KMS_MATID_INFO) - 1);
    memcpy(in + sizeof(KMS_MATID_INFO) - 1, id, KMS_ID_LEN);
    kms_be32(in + sizeof(KMS_MATID_INFO) - 1 + KMS_ID_LEN, version);

    if (kms_sha256(in, sizeof(in), md) != 0) {
        memset(md, 0, sizeof(md));
    }

    kms_hex(md, sizeof(md), out);
}


static void
kms_wrap_aad(const unsigned char id[KMS_ID_LEN], uint32_t version,
    unsigned char *aad)
{
    memcpy(aad, KMS_WRAP_AAD, sizeof(KMS_WRAP_AAD) - 1);
    memcpy(aad + sizeof(KMS_WRAP_AAD) - 1, id, KMS_ID_LEN);
    kms_be32(aad + sizeof(KMS_WRAP_AAD) - 1 + KMS_ID_LEN, version);
}


int
kms_material_wrap(const unsigned char root[KMS_ROOT_KEY_LEN],
    const unsigned char id[KMS_ID_LEN], uint32_t version,
    const unsigned char material[KMS_MATERIAL_LEN],
    unsigned char out[KMS_WRAPPED_LEN])
{
    unsigned char  aad[sizeof(KMS_WRAP_AAD) - 1 + KMS_ID_LEN + 4];

    if (kms_random(out, 12) != 0) {
        return -1;
    }

    kms_wrap_aad(id, version, aad);

    return kms_gcm_encrypt(root, out, 12, aad, sizeof(aad), material,
                           KMS_MATERIAL_LEN, out + 12, out + 44);
}


int
kms_material_unwrap(const unsigned char root[KMS_ROOT_KEY_LEN],
    const unsigned char id[KMS_ID_LEN], uint32_t version,
    const unsigned char in[KMS_WRAPPED_LEN],
    unsigned char material[KMS_MATERIAL_LEN])
{
    unsigned char  aad[sizeof(KMS_WRAP_AAD) - 1 + KMS_ID_LEN + 4];

    kms_wrap_aad(id, version, aad);

    return kms_gcm_decrypt(root, in, 12, aad, sizeof(aad), in + 12,
                           KMS_MATERIAL_LEN, material, in + 44);
}


void
kms_root_fingerprint(const unsigned char root[KMS_ROOT_KEY_LEN],
    char out[KMS_FINGERPRINT_LEN + 1])
{
    unsigned char  md[32];

    if (kms_hmac_sha256(root, KMS_ROOT_KEY_LEN, KMS_FP_INFO,
                        sizeof(KMS_FP_INFO) - 1, md) != 0)
    {
        memset(md, 0, sizeof(md));
    }

    kms_hex(md, 16, out);
    kms_wipe(md, sizeof(md));
}


/* ---- keys --------------------------------------------------------------- */

kms_key_t *
kms_key_new(void)
{
    return calloc(1, sizeof(kms_key_t));
}


void
kms_key_free(kms_key_t *k)
{
    size_t  i;

    if (k == NULL) {
        return;
    }

    if (k->material != NULL) {
        OPENSSL_secure_clear_free(k->material,
                                  (size_t) k->nver * KMS_MATERIAL_LEN);
    }

    free(k->wrapped);
    free(k->vers);
    free(k->arn);
    free(k->description);

    for (i = 0; i < k->ntags; i++) {
        free(k->tags[i].key);
        free(k->tags[i].value);
    }
    free(k->tags);

    for (i = 0; i < k->naliases; i++) {
        free(k->aliases[i].name);
    }
    free(k->aliases);

    free(k->policy_json);
    kms_policy_free(k->policy);
    free(k);
}


kms_key_t *
kms_key_clone(const kms_key_t *k)
{
    kms_key_t  *c;
    size_t      i, mlen;

    c = kms_key_new();
    if (c == NULL) {
        return NULL;
    }

    *c = *k;
    c->next = NULL;
    c->arn = NULL;
    c->description = NULL;
    c->vers = NULL;
    c->material = NULL;
    c->wrapped = NULL;
    c->tags = NULL;
    c->ntags = 0;
    c->aliases = NULL;
    c->naliases = 0;
    c->policy_json = NULL;
    c->policy = NULL;
    c->nver = 0;

    c->arn = kms_strdup(k->arn);
    c->description = kms_strdup(k->description);
    if ((k->arn && c->arn == NULL)
        || (k->description && c->description == NULL))
    {
        goto failed;
    }

    if (k->nver) {
        mlen = (size_t) k->nver * KMS_MATERIAL_LEN;
        c->vers = malloc(k->nver * sizeof(kms_ver_t));
        c->wrapped = malloc((size_t) k->nver * KMS_WRAPPED_LEN);
        c->material = kms_smalloc(mlen);
        if (c->vers == NULL || c->wrapped == NULL || c->material == NULL) {
            goto failed;
        }
        c->nver = k->nver;
        memcpy(c->vers, k->vers, k->nver * sizeof(kms_ver_t));
        memcpy(c->wrapped, k->wrapped, (size_t) k->nver * KMS_WRAPPED_LEN);
        memcpy(c->material, k->material, mlen);
    }

    if (k->ntags) {
        c->tags = calloc(k->ntags, sizeof(kms_tag_t));
        if (c->tags == NULL) {
            goto failed;
        }
        for (i = 0; i < k->ntags; i++) {
            c->tags[i].key = strdup(k->tags[i].key);
            c->tags[i].value = strdup(k->tags[i].value);
            c->ntags++;
            if (c->tags[i].key == NULL || c->tags[i].value == NULL) {
                goto failed;
            }
        }
    }

    if (k->naliases) {
        c->aliases = calloc(k->naliases, sizeof(kms_alias_t));
        if (c->aliases == NULL) {
            goto failed;
        }
        for (i = 0; i < k->naliases; i++) {
            c->aliases[i] = k->aliases[i];
            c->aliases[i].name = strdup(k->aliases[i].name);
            c->naliases++;
            if (c->aliases[i].name == NULL) {
                goto failed;
            }
        }
    }

    if (k->policy_json != NULL
        && kms_key_set_policy(c, k->policy_json, strlen(k->policy_json))
           != 0)
    {
        goto failed;
    }

    return c;

failed:

    kms_key_free(c);
    return NULL;
}


int
kms_key_set_arn(kms_key_t *k, const char *partition, const char *region)
{
    char  buf[256];

    snprintf(buf, sizeof(buf), "arn:%s:kms:%s:%s:key/%s", partition, region,
             k->account, k->id_text);
    free(k->arn);
    k->arn = strdup(buf);
    return k->arn ? 0 : -1;
}


int
kms_key_add_version(kms_key_t *k, const unsigned char *root, int64_t now_ms,
    int type)
{
    size_t          n = (size_t) k->nver + 1;
    unsigned char  *m, *w;
    kms_ver_t      *v;

    if (k->nver >= KMS_MAX_VERSIONS) {
        return -1;
    }

    m = kms_smalloc(n * KMS_MATERIAL_LEN);
    if (m == NULL) {
        return -1;
    }

    if (k->nver) {
        memcpy(m, k->material, (size_t) k->nver * KMS_MATERIAL_LEN);
    }

    if (kms_random(m + (n - 1) * KMS_MATERIAL_LEN, KMS_MATERIAL_LEN) != 0) {
        OPENSSL_secure_clear_free(m, n * KMS_MATERIAL_LEN);
        return -1;
    }

    w = realloc(k->wrapped, n * KMS_WRAPPED_LEN);
    if (w == NULL) {
        OPENSSL_secure_clear_free(m, n * KMS_MATERIAL_LEN);
        return -1;
    }
    k->wrapped = w;

    v = realloc(k->vers, n * sizeof(kms_ver_t));
    if (v == NULL) {
        OPENSSL_secure_clear_free(m, n * KMS_MATERIAL_LEN);
        return -1;
    }
    k->vers = v;

    if (kms_material_wrap(root, k->id, (uint32_t) n,
                          m + (n - 1) * KMS_MATERIAL_LEN,
                          w + (n - 1) * KMS_WRAPPED_LEN)
        != 0)
    {
        OPENSSL_secure_clear_free(m, n * KMS_MATERIAL_LEN);
        return -1;
    }

    if (k->material != NULL) {
        OPENSSL_secure_clear_free(k->material,
                                  (size_t) k->nver * KMS_MATERIAL_LEN);
    }

    k->material = m;
    v[n - 1].date_ms = now_ms;
    v[n - 1].type = type;
    k->nver = (uint32_t) n;
    kms_material_id(k->id, k->nver, k->cur_matid);

    return 0;
}


int
kms_key_set_policy(kms_key_t *k, const char *json, size_t len)
{
    kms_policy_t  *p;
    char          *copy;
    char           msg[256];

    if (kms_policy_parse(json, len, &p, msg, sizeof(msg)) != KMS_OK) {
        return -1;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        kms_policy_free(p);
        return -1;
    }

    memcpy(copy, json, len);
    copy[len] = '\0';

    free(k->policy_json);
    kms_policy_free(k->policy);
    k->policy_json = copy;
    k->policy = p;
    return 0;
}


const char *
kms_key_state_name(int state)
{
    switch (state) {
    case KMS_KS_ENABLED:           return "Enabled";
    case KMS_KS_DISABLED:          return "Disabled";
    case KMS_KS_PENDING_DELETION:  return "PendingDeletion";
    default:                       return "Unavailable";
    }
}


static int
kms_state_parse(const char *s)
{
    if (strcmp(s, "Enabled") == 0) {
        return KMS_KS_ENABLED;
    }
    if (strcmp(s, "Disabled") == 0) {
        return KMS_KS_DISABLED;
    }
    if (strcmp(s, "PendingDeletion") == 0) {
        return KMS_KS_PENDING_DELETION;
    }
    return -1;
}


/* ---- the record --------------------------------------------------------- */

static char *
kms_meta_encode(const kms_key_t *k)
{
    json_t  *m, *vers, *tags, *aliases, *rot;
    size_t   i;
    char    *s;
    int      rc = 0;

    m = json_object();
    vers = json_array();
    tags = json_array();
    aliases = json_array();
    rot = json_object();
    if (m == NULL || vers == NULL || tags == NULL || aliases == NULL
        || rot == NULL)
    {
        json_decref(m);
        json_decref(vers);
        json_decref(tags);
        json_decref(aliases);
        json_decref(rot);
        return NULL;
    }

    for (i = 0; i < k->nver; i++) {
        rc |= json_array_append_new(vers,
                  json_pack("[Ii]", (json_int_t) k->vers[i].date_ms,
                            k->vers[i].type));
    }

    for (i = 0; i < k->ntags; i++) {
        rc |= json_array_append_new(tags,
                  json_pack("[ss]", k->tags[i].key, k->tags[i].value));
    }

    for (i = 0; i < k->naliases; i++) {
        rc |= json_array_append_new(aliases,
                  json_pack("[sII]", k->aliases[i].name,
                            (json_int_t) k->aliases[i].created_ms,
                            (json_int_t) k->aliases[i].updated_ms));
    }

    rc |= json_object_set_new(rot, "enabled", json_boolean(k->rot_enabled));
    rc |= json_object_set_new(rot, "period", json_integer(k->rot_period));
    rc |= json_object_set_new(rot, "next", json_integer(k->next_rot_ms));

    rc |= json_object_set_new(m, "format", json_integer(1));
    rc |= json_object_set_new(m, "id", json_string(k->id_text));
    rc |= json_object_set_new(m, "account", json_string(k->account));
    rc |= json_object_set_new(m, "created", json_integer(k->created_ms));
    rc |= json_object_set_new(m, "state",
                              json_string(kms_key_state_name(k->state)));
    rc |= json_object_set_new(m, "description",
                              json_string(k->description ? k->description
                                                         : ""));
    rc |= json_object_set_new(m, "manager",
                              json_string(k->aws_managed ? "AWS"
                                                         : "CUSTOMER"));
    rc |= json_object_set_new(m, "deletion", json_integer(k->deletion_ms));
    rc |= json_object_set_new(m, "window", json_integer(k->window_days));
    rc |= json_object_set_new(m, "onDemand", json_integer(k->on_demand));
    rc |= json_object_set_new(m, "rotation", rot);
    rc |= json_object_set_new(m, "versions", vers);
    rc |= json_object_set_new(m, "tags", tags);
    rc |= json_object_set_new(m, "aliases", aliases);

    s = rc ? NULL : json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    return s;
}


static int
kms_meta_decode(kms_key_t *k, const char *meta, size_t len)
{
    json_t        *m, *rot, *vers, *tags, *aliases, *e;
    json_error_t   jerr;
    const char    *id, *account, *state, *desc, *manager;
    json_int_t     created, deletion, window, on_demand, period, next;
    int            enabled, format, st;
    size_t         i, n;

    m = json_loadb(meta, len, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL) {
        return -1;
    }

    if (json_unpack(m, "{s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I,"
                       " s:o, s:o, s:o, s:o}",
                    "format", &format, "id", &id, "account", &account,
                    "created", &created, "state", &state,
                    "description", &desc, "manager", &manager,
                    "deletion", &deletion, "window", &window,
                    "onDemand", &on_demand, "rotation", &rot,
                    "versions", &vers, "tags", &tags, "aliases", &aliases)
        != 0
        || format != 1
        || json_unpack(rot, "{s:b, s:I, s:I}", "enabled", &enabled,
                       "period", &period, "next", &next) != 0
        || !json_is_array(vers) || !json_is_array(tags)
        || !json_is_array(aliases)
        || strcmp(id, k->id_text) != 0
        || strlen(account) != 12
        || (st = kms_state_parse(state)) < 0
        || json_array_size(vers) == 0
        || json_array_size(vers) > KMS_MAX_VERSIONS)
    {
        goto failed;
    }

    memcpy(k->account, account, 13);
    k->created_ms = created;
    k->state = st;
    k->description = strdup(desc);
    k->aws_managed = strcmp(manager, "AWS") == 0;
    k->deletion_ms = deletion;
    k->window_days = (unsigned) window;
    k->on_demand = (unsigned) on_demand;
    k->rot_enabled = enabled;
    k->rot_period = (unsigned) period;
    k->next_rot_ms = next;

    n = json_array_size(vers);
    k->vers = calloc(n, sizeof(kms_ver_t));
    if (k->description == NULL || k->vers == NULL) {
        goto failed;
    }

    json_array_foreach(vers, i, e) {
        json_int_t  d;
        int         t;

        if (json_unpack(e, "[Ii]", &d, &t) != 0) {
            goto failed;
        }
        k->vers[i].date_ms = d;
        k->vers[i].type = t;
    }
    k->nver = (uint32_t) n;

    n = json_array_size(tags);
    if (n) {
        k->tags = calloc(n, sizeof(kms_tag_t));
        if (k->tags == NULL) {
            goto failed;
        }
    }

    json_array_foreach(tags, i, e) {
        const char  *tk, *tv;

        if (json_unpack(e, "[ss]", &tk, &tv) != 0) {
            goto failed;
        }
        k->tags[i].key = strdup(tk);
        k->tags[i].value = strdup(tv);
        k->ntags++;
        if (k->tags[i].key == NULL || k->tags[i].value == NULL) {
            goto failed;
        }
    }

    n = json_array_size(aliases);
    if (n) {
        k->aliases = calloc(n, sizeof(kms_alias_t));
        if (k->aliases == NULL) {
            goto failed;
        }
    }

    json_array_foreach(aliases, i, e) {
        const char  *an;
        json_int_t   c, u;

        if (json_unpack(e, "[sII]", &an, &c, &u) != 0) {
            goto failed;
        }
        k->aliases[i].name = strdup(an);
        k->aliases[i].created_ms = c;
        k->aliases[i].updated_ms = u;
        k->naliases++;
        if (k->aliases[i].name == NULL) {
            goto failed;
        }
    }

    json_decref(m);
    return 0;

failed:

    json_decref(m);
    return -1;
}


int
kms_record_mac(const unsigned char *rec_key, const unsigned char id[16],
    const char *rev, size_t revlen, const char *meta, size_t metalen,
    const char *policy, size_t policylen, uint32_t n,
    const unsigned char *const *wrapped, const size_t *wlen,
    unsigned char out[32])
{
    kms_iov_t      *iov;
    unsigned char  *lens;
    size_t          niov, i, j;
    int             rc;

    niov = 2 + 2 * 3 + 1 + 2 * (size_t) n;
    iov = malloc(niov * sizeof(kms_iov_t));
    lens = malloc(4 * (4 + (size_t) n));
    if (iov == NULL || lens == NULL) {
        free(iov);
        free(lens);
        return -1;
    }

    i = 0;
    iov[i].base = KMS_RECORD_TAG;
    iov[i++].len = sizeof(KMS_RECORD_TAG) - 1;
    iov[i].base = id;
    iov[i++].len = KMS_ID_LEN;

    kms_be32(lens, (uint32_t) revlen);
    iov[i].base = lens;
    iov[i++].len = 4;
    iov[i].base = rev;
    iov[i++].len = revlen;

    kms_be32(lens + 4, (uint32_t) metalen);
    iov[i].base = lens + 4;
    iov[i++].len = 4;
    iov[i].base = meta;
    iov[i++].len = metalen;

    kms_be32(lens + 8, (uint32_t) policylen);
    iov[i].base = lens + 8;
    iov[i++].len = 4;
    iov[i].base = policy;
    iov[i++].len = policylen;

    kms_be32(lens + 12, n);
    iov[i].base = lens + 12;
    iov[i++].len = 4;

    for (j = 0; j < n; j++) {
        kms_be32(lens + 16 + 4 * j, (uint32_t) wlen[j]);
        iov[i].base = lens + 16 + 4 * j;
        iov[i++].len = 4;
        iov[i].base = wrapped[j];
        iov[i++].len = wlen[j];
    }

    rc = kms_hmac_sha256_iov(rec_key, 32, iov, i, out);

    free(iov);
    free(lens);
    return rc;
}


int
kms_record_encode(const kms_key_t *k, const unsigned char *rec_key,
    kms_record_t *r)
{
    const unsigned char  **w;
    size_t                *wl;
    unsigned char          mac[32];
    uint32_t               i;
    const char            *policy;
    int                    rc;

    memset(r, 0, sizeof(*r));

    r->meta = kms_meta_encode(k);
    policy = k->policy_json ? k->policy_json : "";
    r->policy = strdup(policy);
    snprintf(r->rev, sizeof(r->rev), "%llu", (unsigned long long) k->rev);

    w = malloc(k->nver * sizeof(*w));
    wl = malloc(k->nver * sizeof(*wl));
    if (r->meta == NULL || r->policy == NULL || w == NULL || wl == NULL) {
        free(w);
        free(wl);
        kms_record_free(r);
        return -1;
    }

    for (i = 0; i < k->nver; i++) {
        w[i] = k->wrapped + (size_t) i * KMS_WRAPPED_LEN;
        wl[i] = KMS_WRAPPED_LEN;
    }

    rc = kms_record_mac(rec_key, k->id, r->rev, strlen(r->rev), r->meta,
                        strlen(r->meta), r->policy, strlen(r->policy),
                        k->nver, w, wl, mac);
    free(w);
    free(wl);

    if (rc != 0) {
        kms_record_free(r);
        return -1;
    }

    kms_hex(mac, 32, r->mac);
    return 0;
}


void
kms_record_free(kms_record_t *r)
{
    free(r->meta);
    free(r->policy);
    r->meta = NULL;
    r->policy = NULL;
}


static const kms_reply_t *
kms_hash_field(const kms_reply_t *r, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i].type == KMS_REPLY_STRING
            && r->element[i].len == len
            && memcmp(r->element[i].str, name, len) == 0
            && r->element[i + 1].type == KMS_REPLY_STRING)
        {
            return &r->element[i + 1];
        }
    }

    return NULL;
}


kms_err_t
kms_record_decode(const kms_reply_t *r, const char *id_text,
    const unsigned char *root, const unsigned char *rec_key,
    const char *partition, const char *region, kms_key_t **out, char *err,
    size_t errlen)
{
    const kms_reply_t     *rev, *meta, *policy, *mac, *v;
    const unsigned char  **w = NULL;
    size_t                *wl = NULL;
    kms_key_t             *k = NULL;
    unsigned char          want[32], got[32];
    char                   name[16], *end;
    unsigned long long     revn;
    uint32_t               i, n;
    json_t                *mj;

    *out = NULL;

    if (r->type != KMS_REPLY_ARRAY) {
        snprintf(err, errlen, "key %s: unexpected reply", id_text);
        return KMS_ERR_INTERNAL;
    }

    if (r->elements == 0) {
        return KMS_ERR_NOT_FOUND;
    }

    k = kms_key_new();
    if (k == NULL || kms_uuid_parse(id_text, strlen(id_text), k->id) != 0) {
        snprintf(err, errlen, "key %s: bad key id", id_text);
        goto failed;
    }
    kms_uuid_text(k->id, k->id_text);

    rev = kms_hash_field(r, "rev", 3);
    meta = kms_hash_field(r, "meta", 4);
    policy = kms_hash_field(r, "policy", 6);
    mac = kms_hash_field(r, "mac", 3);

    if (rev == NULL || meta == NULL || policy == NULL || mac == NULL
        || mac->len != 64 || rev->len == 0 || rev->len > 20)
    {
        snprintf(err, errlen, "key %s: record incomplete", id_text);
        goto failed;
    }

    /* the version count comes from meta, checked by the MAC below */
    mj = json_loadb(meta->str, meta->len, 0, NULL);
    n = (uint32_t) json_array_size(json_object_get(mj, "versions"));
    json_decref(mj);

    if (n == 0 || n > KMS_MAX_VERSIONS) {
        snprintf(err, errlen, "key %s: record has no versions", id_text);
        goto failed;
    }

    w = malloc(n * sizeof(*w));
    wl = malloc(n * sizeof(*wl));
    if (w == NULL || wl == NULL) {
        snprintf(err, errlen, "key %s: out of memory", id_text);
        goto failed;
    }

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "v%u", i + 1);
        v = kms_hash_field(r, name, strlen(name));
        if (v == NULL) {
            snprintf(err, errlen, "key %s: version %u missing", id_text,
                     i + 1);
            goto failed;
        }
        w[i] = (const unsigned char *) v->str;
        wl[i] = v->len;
    }

    if (kms_record_mac(rec_key, k->id, rev->str, rev->len, meta->str,
                       meta->len, policy->str, policy->len, n, w, wl, want)
        != 0
        || kms_unhex32(mac->str, got) != 0
        || !kms_ct_equal(want, got, 32))
    {
        snprintf(err, errlen, "key %s: record failed authentication",
                 id_text);
        goto failed;
    }

    revn = strtoull(rev->str, &end, 10);
    if (end != rev->str + rev->len || revn == 0) {
        snprintf(err, errlen, "key %s: bad revision", id_text);
        goto failed;
    }
    k->rev = revn;

    if (kms_meta_decode(k, meta->str, meta->len) != 0 || k->nver != n) {
        snprintf(err, errlen, "key %s: bad metadata", id_text);
        goto failed;
    }

    /* the internal key is known by its id, and lives in no account */
    k->internal = kms_id_internal(k->id);

    if (k->internal != (strcmp(k->account, KMS_INTERNAL_ACCOUNT) == 0)) {
        snprintf(err, errlen, "key %s: bad metadata", id_text);
        goto failed;
    }

    k->wrapped = malloc((size_t) n * KMS_WRAPPED_LEN);
    k->material = kms_smalloc((size_t) n * KMS_MATERIAL_LEN);
    if (k->wrapped == NULL || k->material == NULL) {
        snprintf(err, errlen, "key %s: out of memory", id_text);
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (wl[i] != KMS_WRAPPED_LEN
            || kms_material_unwrap(root, k->id, i + 1, w[i],
                                   k->material + (size_t) i
                                                 * KMS_MATERIAL_LEN)
               != 0)
        {
            snprintf(err, errlen, "key %s: version %u does not unwrap",
                     id_text, i + 1);
            goto failed;
        }
        memcpy(k->wrapped + (size_t) i * KMS_WRAPPED_LEN, w[i],
               KMS_WRAPPED_LEN);
    }

    if (policy->len == 0
        || kms_key_set_policy(k, policy->str, policy->len) != 0)
    {
        snprintf(err, errlen, "key %s: stored policy does not parse",
                 id_text);
        goto failed;
    }

    if (kms_key_set_arn(k, partition, region) != 0) {
        snprintf(err, errlen, "key %s: out of memory", id_text);
        goto failed;
    }

    kms_material_id(k->id, k->nver, k->cur_matid);

    free(w);
    free(wl);
    *out = k;
    return KMS_OK;

failed:

    free(w);
    free(wl);
    kms_key_free(k);
    return KMS_ERR_INTERNAL;
}
