/*
 * The key store codec (DESIGN.md §5): known answers computed outside the
 * core (Python: hashlib, hmac, cryptography) for material ids, wrapped
 * material, the root fingerprint and the record MAC; records that verify,
 * and every edit of one refused.  Also the root key and credentials files.
 */

#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kms.h"
#include "kms_int.h"
#include "kms_policy.h"


static const unsigned char  kat_id[16] = {
    0x12, 0x34, 0xab, 0xcd, 0x12, 0xab, 0x34, 0xcd,
    0x56, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab
};


static void
root7(unsigned char root[32])
{
    memset(root, 7, 32);
}


static void
material_id_known_answers(void **state)
{
    char  out[65];

    kms_material_id(kat_id, 1, out);
    assert_string_equal(out, "bd149f4a94ed3670e296c2600d04847d33618fdf7419fa1e"
                             "1582ab2c71ffe0cd");
    kms_material_id(kat_id, 7, out);
    assert_string_equal(out, "a07cd6cccaf0d970ebde348024c179758cb7f63b163038"
                             "94af29a44c3e842254");
}


static void
root_fingerprint_known_answer(void **state)
{
    unsigned char  root[32];
    char           fp[33];
    kms_ctx_t     *ctx;

    root7(root);
    kms_root_fingerprint(root, fp);
    assert_string_equal(fp, "760dc807c31aab924c9d05c2f06a90db");

    ctx = kms_ctx_new(root, NULL);
    assert_non_null(ctx);
    assert_string_equal(kms_ctx_fingerprint(ctx), fp);
    assert_int_equal(kms_ctx_state(ctx), KMS_RING_EMPTY);
    kms_ctx_free(ctx);
}


static void
wrapped_material_known_answer_and_binding(void **state)
{
    unsigned char  root[32], w[60], m[32], want[32], w2[60], other[16];
    size_t         i;

    root7(root);
    for (i = 0; i < 32; i++) {
        want[i] = (unsigned char) i;
    }

    assert_int_equal(unit_unhex("000102030405060708090a0b1880eb73190cdf4e7fbb"
                                "ef97ee5562f5f12da49d0c7761260ed779a192ca731a"
                                "f24a726b2003d2674ab7207b939737ff", w, 60),
                     60);
    assert_int_equal(kms_material_unwrap(root, kat_id, 2, w, m), 0);
    assert_memory_equal(m, want, 32);

    /* bound to the key id and the version */
    assert_int_equal(kms_material_unwrap(root, kat_id, 1, w, m), -1);
    memcpy(other, kat_id, 16);
    other[15] ^= 1;
    assert_int_equal(kms_material_unwrap(root, other, 2, w, m), -1);
    root[0] ^= 1;
    assert_int_equal(kms_material_unwrap(root, kat_id, 2, w, m), -1);
    root[0] ^= 1;

    /* our own wrapping: a fresh IV each time, and it opens */
    assert_int_equal(kms_material_wrap(root, kat_id, 5, want, w), 0);
    assert_int_equal(kms_material_wrap(root, kat_id, 5, want, w2), 0);
    assert_memory_not_equal(w, w2, 12);
    assert_int_equal(kms_material_unwrap(root, kat_id, 5, w2, m), 0);
    assert_memory_equal(m, want, 32);
}


static void
record_mac_known_answer(void **state)
{
    unsigned char         root[32], rk[32], mac[32], v1[60], v2[60];
    const unsigned char  *w[2] = { v1, v2 };
    size_t                wl[2] = { 60, 60 };
    char                  hex[65];

    root7(root);
    assert_int_equal(kms_hkdf_sha256(root, 32, NULL, 0, "KMS1 record", 11, rk,
                                     32), 0);
    memset(v1, 1, 60);
    memset(v2, 2, 60);

    assert_int_equal(kms_record_mac(rk, kat_id, "5", 1, "{\"m\":1}", 7,
                                    "{\"p\":2}", 7, 2, w, wl, mac), 0);
    kms_hex(mac, 32, hex);
    assert_string_equal(hex, "b249c840be673632ba5b8f5e6eb7a3938b17ce0704c9bc5f"
                             "af22a0cb5e009367");

    /* moving a byte across a field boundary changes the MAC */
    assert_int_equal(kms_record_mac(rk, kat_id, "5", 1, "{\"m\":1}{", 8,
                                    "\"p\":2}", 6, 2, w, wl, mac), 0);
    kms_hex(mac, 32, hex);
    assert_string_not_equal(hex, "b249c840be673632ba5b8f5e6eb7a3938b17ce0704c9"
                                 "bc5faf22a0cb5e009367");
}


/* ---- whole records ------------------------------------------------------ */

typedef struct {
    char         *f[64];
    size_t        flen[64];
    char         *v[64];
    size_t        vlen[64];
    size_t        n;
    kms_reply_t   el[128];
    kms_reply_t   r;
} rec_t;


static void
rec_add(rec_t *r, const char *f, const void *v, size_t vlen)
{
    r->f[r->n] = strdup(f);
    r->flen[r->n] = strlen(f);
    r->v[r->n] = malloc(vlen + 1);
    memcpy(r->v[r->n], v, vlen);
    r->v[r->n][vlen] = '\0';
    r->vlen[r->n] = vlen;
    r->n++;
}


static rec_t *
rec_from_key(const kms_key_t *k, const unsigned char *rk)
{
    rec_t         *r = calloc(1, sizeof(rec_t));
    kms_record_t   rec;
    uint32_t       i;
    char           name[16];

    assert_int_equal(kms_record_encode(k, rk, &rec), 0);
    rec_add(r, "rev", rec.rev, strlen(rec.rev));
    rec_add(r, "meta", rec.meta, strlen(rec.meta));
    rec_add(r, "policy", rec.policy, strlen(rec.policy));
    rec_add(r, "mac", rec.mac, 64);
    for (i = 0; i < k->nver; i++) {
        snprintf(name, sizeof(name), "v%u", i + 1);
        rec_add(r, name, k->wrapped + (size_t) i * 60, 60);
    }
    kms_record_free(&rec);
    return r;
}


static const kms_reply_t *
rec_reply(rec_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        r->el[2 * i].type = KMS_REPLY_STRING;
        r->el[2 * i].str = r->f[i];
        r->el[2 * i].len = r->flen[i];
        r->el[2 * i + 1].type = KMS_REPLY_STRING;
        r->el[2 * i + 1].str = r->v[i];
        r->el[2 * i + 1].len = r->vlen[i];
    }
    r->r.type = KMS_REPLY_ARRAY;
    r->r.elements = 2 * r->n;
    r->r.element = r->el;
    return &r->r;
}


static size_t
rec_find(rec_t *r, const char *f)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        if (strcmp(r->f[i], f) == 0) {
            return i;
        }
    }
    fail_msg("no field %s", f);
    return 0;
}


static void
rec_free(rec_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        free(r->f[i]);
        free(r->v[i]);
    }
    free(r);
}


static kms_key_t *
make_key(const unsigned char *root)
{
    kms_key_t  *k = kms_key_new();
    char       *pol;

    memcpy(k->id, kat_id, 16);
    kms_uuid_text(k->id, k->id_text);
    strcpy(k->account, "111122223333");
    k->created_ms = 1700000000000LL;
    k->state = KMS_KS_DISABLED;
    k->description = strdup("d");
    k->rev = 4;
    assert_int_equal(kms_key_set_arn(k, "aws", "us-east-1"), 0);
    assert_int_equal(kms_key_add_version(k, root, 1, KMS_ROT_INITIAL), 0);
    assert_int_equal(kms_key_add_version(k, root, 2, KMS_ROT_ON_DEMAND), 0);
    pol = kms_policy_default("aws", "111122223333");
    assert_int_equal(kms_key_set_policy(k, pol, strlen(pol)), 0);
    free(pol);
    return k;
}


static kms_err_t
decode(rec_t *r, const unsigned char *root, const unsigned char *rk,
    kms_key_t **out)
{
    char  err[256];

    return kms_record_decode(rec_reply(r), "1234abcd-12ab-34cd-56ef-"
                             "1234567890ab", root, rk, "aws", "us-east-1",
                             out, err, sizeof(err));
}


static void
record_round_trip(void **state)
{
    unsigned char  root[32], rk[32];
    kms_key_t     *k, *d;
    rec_t         *r;

    root7(root);
    kms_hkdf_sha256(root, 32, NULL, 0, "KMS1 record", 11, rk, 32);
    k = make_key(root);
    r = rec_from_key(k, rk);

    assert_int_equal(decode(r, root, rk, &d), KMS_OK);
    assert_non_null(d);
    assert_int_equal(d->rev, 4);
    assert_int_equal(d->state, KMS_KS_DISABLED);
    assert_int_equal(d->nver, 2);
    assert_memory_equal(d->material, k->material, 64);
    assert_int_equal(d->vers[1].type, KMS_ROT_ON_DEMAND);
    assert_string_equal(d->arn, "arn:aws:kms:us-east-1:111122223333:key/"
                                "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_string_equal(d->cur_matid, k->cur_matid);
    assert_non_null(d->policy);

    kms_key_free(d);
    rec_free(r);
    kms_key_free(k);
}


static void
edited_records_are_refused(void **state)
{
    unsigned char  root[32], rk[32], other[32];
    kms_key_t     *k, *d;
    rec_t         *r;
    size_t         i, j;
    char          *p, tmp[60];

    root7(root);
    kms_hkdf_sha256(root, 32, NULL, 0, "KMS1 record", 11, rk, 32);
    k = make_key(root);

    /* the state flipped back to Enabled */
    r = rec_from_key(k, rk);
    i = rec_find(r, "meta");
    p = strstr(r->v[i], "\"Disabled\"");
    assert_non_null(p);
    memcpy(p, "\"Enabled\" ", 10);
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    assert_null(d);
    rec_free(r);

    /* the policy changed */
    r = rec_from_key(k, rk);
    i = rec_find(r, "policy");
    free(r->v[i]);
    r->v[i] = strdup("{\"Version\":\"2012-10-17\",\"Statement\":[]}");
    r->vlen[i] = strlen(r->v[i]);
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* two versions' material swapped */
    r = rec_from_key(k, rk);
    i = rec_find(r, "v1");
    j = rec_find(r, "v2");
    memcpy(tmp, r->v[i], 60);
    memcpy(r->v[i], r->v[j], 60);
    memcpy(r->v[j], tmp, 60);
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* a revision rewound */
    r = rec_from_key(k, rk);
    i = rec_find(r, "rev");
    r->v[i][0] = '3';
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* a version dropped */
    r = rec_from_key(k, rk);
    i = rec_find(r, "v2");
    r->f[i][0] = 'x';
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* the MAC itself */
    r = rec_from_key(k, rk);
    i = rec_find(r, "mac");
    r->v[i][10] = r->v[i][10] == '0' ? '1' : '0';
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* another root key verifies nothing */
    memset(other, 8, 32);
    r = rec_from_key(k, rk);
    kms_hkdf_sha256(other, 32, NULL, 0, "KMS1 record", 11, rk, 32);
    assert_int_equal(decode(r, other, rk, &d), KMS_ERR_INTERNAL);
    rec_free(r);

    /* an empty hash is simply absent */
    r = calloc(1, sizeof(rec_t));
    assert_int_equal(decode(r, root, rk, &d), KMS_ERR_NOT_FOUND);
    rec_free(r);

    kms_key_free(k);
}


static void
clone_is_deep(void **state)
{
    unsigned char  root[32];
    kms_key_t     *k, *c;

    root7(root);
    k = make_key(root);
    k->tags = calloc(1, sizeof(kms_tag_t));
    k->tags[0].key = strdup("a");
    k->tags[0].value = strdup("b");
    k->ntags = 1;

    c = kms_key_clone(k);
    assert_non_null(c);
    assert_ptr_not_equal(c->material, k->material);
    assert_memory_equal(c->material, k->material, 64);
    assert_string_equal(c->tags[0].key, "a");
    assert_int_equal(kms_key_add_version(c, root, 3, KMS_ROT_AUTOMATIC), 0);
    assert_int_equal(c->nver, 3);
    assert_int_equal(k->nver, 2);
    kms_key_free(c);
    kms_key_free(k);
}


/* ---- the ring ----------------------------------------------------------- */

static void
ring_keys_and_aliases(void **state)
{
    unsigned char  root[32];
    kms_ring_t     ring;
    kms_key_t     *k, *k2;
    size_t         i;
    char           id[37];

    root7(root);
    assert_int_equal(kms_ring_init(&ring), 0);

    /* enough keys to make the table grow */
    for (i = 0; i < 3000; i++) {
        k = kms_key_new();
        assert_int_equal(kms_uuid_random(k->id), 0);
        kms_uuid_text(k->id, k->id_text);
        strcpy(k->account, "111122223333");
        if (i == 1234) {
            strcpy(id, k->id_text);
            k->aliases = calloc(1, sizeof(kms_alias_t));
            k->aliases[0].name = strdup("alias/x");
            k->naliases = 1;
        }
        assert_int_equal(kms_ring_put(&ring, k), 0);
    }
    assert_int_equal(ring.nkeys, 3000);

    k = kms_ring_key(&ring, id);
    assert_non_null(k);
    assert_ptr_equal(kms_ring_alias(&ring, "111122223333", "alias/x"), k);
    assert_null(kms_ring_alias(&ring, "444455556666", "alias/x"));

    /* a newer record without the alias drops it */
    k2 = kms_key_new();
    memcpy(k2->id, k->id, 16);
    strcpy(k2->id_text, id);
    strcpy(k2->account, "111122223333");
    assert_int_equal(kms_ring_put(&ring, k2), 0);
    assert_int_equal(ring.nkeys, 3000);
    assert_null(kms_ring_alias(&ring, "111122223333", "alias/x"));

    kms_ring_del(&ring, id);
    assert_null(kms_ring_key(&ring, id));
    assert_int_equal(ring.nkeys, 2999);
    kms_ring_free(&ring);
    (void) root;
}


/* ---- files -------------------------------------------------------------- */

static void
root_key_file_rules(void **state)
{
    char           path[] = "/tmp/kms-root-XXXXXX", err[256];
    unsigned char  key[32], data[33];
    int            fd;

    memset(data, 0x42, sizeof(data));
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, 32), 32);
    close(fd);

    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(kms_root_key_load(path, key, err, sizeof(err)), 0);
    assert_memory_equal(key, data, 32);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(kms_root_key_load(path, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "group or others"));

    assert_int_equal(chmod(path, 0600), 0);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, data, 1), 1);
    close(fd);
    assert_int_equal(kms_root_key_load(path, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "exactly 32 bytes"));

    unlink(path);
    assert_int_equal(kms_root_key_load(path, key, err, sizeof(err)), -1);
}


static char *
creds_file(const char *text, mode_t mode)
{
    static char  path[64];
    int          fd;

    strcpy(path, "/tmp/kms-creds-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}


static void
credentials_file_rules(void **state)
{
    char               err[256], *p;
    kms_creds_t       *c;
    const kms_cred_t  *e;

    p = creds_file("# who\n\nAKIDA secretA 111122223333 arn:aws:iam::"
                   "111122223333:user/alice\nAKIDB secretB 444455556666 "
                   "arn:aws:iam::444455556666:root  # bob\n", 0600);
    c = kms_creds_load(p, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(kms_creds_count(c), 2);
    e = kms_creds_find(c, "AKIDB", 5);
    assert_non_null(e);
    assert_string_equal(e->secret, "secretB");
    assert_string_equal(e->account, "444455556666");
    assert_string_equal(e->arn, "arn:aws:iam::444455556666:root");
    assert_null(kms_creds_find(c, "AKID", 4));
    assert_string_equal(kms_creds_get(c, 0)->access_key_id, "AKIDA");
    kms_creds_free(c);
    unlink(p);

    p = creds_file("AKIDA s 11112222333 arn:aws:iam::11112222333:root\n",
                   0600);
    assert_null(kms_creds_load(p, err, sizeof(err)));
    assert_non_null(strstr(err, "not 12 digits"));
    unlink(p);

    p = creds_file("AKIDA s 111122223333 arn:aws:iam::444455556666:root\n",
                   0600);
    assert_null(kms_creds_load(p, err, sizeof(err)));
    assert_non_null(strstr(err, "is not arn:aws:iam::111122223333:"));
    unlink(p);

    p = creds_file("AKIDA s 111122223333 arn:aws:iam::111122223333:root\n"
                   "AKIDA t 111122223333 arn:aws:iam::111122223333:root\n",
                   0600);
    assert_null(kms_creds_load(p, err, sizeof(err)));
    assert_non_null(strstr(err, "repeats"));
    unlink(p);

    p = creds_file("AKIDA s 111122223333 arn:aws:iam::111122223333:root\n",
                   0644);
    assert_null(kms_creds_load(p, err, sizeof(err)));
    unlink(p);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(material_id_known_answers),
        cmocka_unit_test(root_fingerprint_known_answer),
        cmocka_unit_test(wrapped_material_known_answer_and_binding),
        cmocka_unit_test(record_mac_known_answer),
        cmocka_unit_test(record_round_trip),
        cmocka_unit_test(edited_records_are_refused),
        cmocka_unit_test(clone_is_deep),
        cmocka_unit_test(ring_keys_and_aliases),
        cmocka_unit_test(root_key_file_rules),
        cmocka_unit_test(credentials_file_rules),
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
