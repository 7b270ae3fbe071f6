/*
 * The object encryption format (s3/s3_objfmt.h) against DESIGN.md §3.
 *
 * Expected stored segments are built here by hand from the DESIGN text
 * (header bytes, HKDF infos, nonces and AADs written out below, HKDF and
 * one-shot AES-GCM from kms_crypto), never by the code under test.  The
 * hex and SHA-256 known answers marked "reference" come from a separate
 * implementation in Python (the 'cryptography' package: HKDF, AESGCM)
 * written from the same DESIGN text.
 */

#include "unit.h"

#include <openssl/err.h>

#include "kms_crypto.h"
#include "s3_objfmt.h"


#define F12   4096u
#define F16   65536u


/* ---- fixtures -------------------------------------------------------------- */

static unsigned char  t_dek[32];
static unsigned char  t_salt[16];


static void
fixtures(void)
{
    int  i;

    for (i = 0; i < 32; i++) {
        t_dek[i] = (unsigned char) i;
    }

    for (i = 0; i < 16; i++) {
        t_salt[i] = (unsigned char) (0xa0 + i);
    }
}


/* plaintext byte i of every test object: (31 i + 7) mod 256 */
static unsigned char *
pattern(size_t len)
{
    size_t          i;
    unsigned char  *p = malloc(len ? len : 1);

    assert_non_null(p);

    for (i = 0; i < len; i++) {
        p[i] = (unsigned char) (i * 31 + 7);
    }

    return p;
}


static size_t
tmin(uint64_t a, uint64_t b)
{
    return (size_t) (a < b ? a : b);
}


static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}


static void
put_be(unsigned char *p, uint64_t v, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        p[i] = (unsigned char) (v >> (8 * (n - 1 - i)));
    }
}


static void
unhex_all(const char *hex, unsigned char *out, size_t n)
{
    assert_int_equal(unit_unhex(hex, out, n), (long) n);
}


/*
 * The stored segment, built from DESIGN §3 directly: header, then per
 * frame AES-256-GCM under HKDF(DEK, salt, "SSEK1 key" || BE32(p)) with
 * nonce BE96(i) and AAD header || BE64(i) || final.
 */
static unsigned char *
ref_segment(const unsigned char *dek, const unsigned char *salt, uint64_t L,
    uint32_t p, unsigned k, const unsigned char *pt, size_t *outlen)
{
    size_t          F = (size_t) 1 << k, n, i, flen, total, at;
    unsigned char  *out, key[32], info[16], nonce[12], aad[81];

    n = L == 0 ? 1 : (size_t) ((L + F - 1) / F);
    total = 72 + (size_t) L + 16 * n;
    out = malloc(total);
    assert_non_null(out);

    memcpy(out, "SSEK", 4);
    out[4] = 1;
    out[5] = 1;
    out[6] = (unsigned char) k;
    out[7] = 0;
    put_be(out + 8, L, 8);
    put_be(out + 16, p, 4);
    memset(out + 20, 0, 4);
    memcpy(out + 24, salt, 16);

    memcpy(info, "SSEK1 commit", 12);
    put_be(info + 12, p, 4);
    assert_int_equal(kms_hkdf_sha256(dek, 32, salt, 16, info, 16, out + 40,
                                     32), 0);

    memcpy(info, "SSEK1 key", 9);
    put_be(info + 9, p, 4);
    assert_int_equal(kms_hkdf_sha256(dek, 32, salt, 16, info, 13, key, 32),
                     0);

    at = 72;
    for (i = 0; i < n; i++) {
        flen = (i + 1) * F <= L ? F : (size_t) L - i * F;

        memset(nonce, 0, 4);
        put_be(nonce + 4, i, 8);
        memcpy(aad, out, 72);
        put_be(aad + 72, i, 8);
        aad[80] = (i == n - 1);

        assert_int_equal(kms_gcm_encrypt(key, nonce, 12, aad, 81, pt + i * F,
                                         flen, out + at, out + at + flen),
                         0);
        at += flen + 16;
    }

    assert_int_equal(at, total);
    *outlen = total;

    return out;
}


/*
 * Runs the encryptor over pt with input and output pieces of random sizes
 * up to max_in / max_out (0: all at once), checks that it holds back
 * exactly the final frame until released, and returns the stored bytes.
 */
static unsigned char *
encrypt_with(const unsigned char *dek, const unsigned char *salt, uint64_t L,
    uint32_t p, unsigned k, const unsigned char *pt, size_t max_in,
    size_t max_out, uint64_t seed, size_t *outlen)
{
    int               released = 0;
    size_t            total, ip, op, c, w, ni, no, held;
    unsigned char    *out;
    s3_objfmt_rc_t    rc;
    s3_objfmt_enc_t  *e;

    assert_int_equal(s3_objfmt_enc_new(&e, dek, L, p, k, salt),
                     S3_OBJFMT_OK);

    total = (size_t) s3_objfmt_enc_stored_len(e);
    assert_int_equal(total, s3_objfmt_stored_len(L, k));

    held = (size_t) (L - (s3_objfmt_frames(L, k) - 1) * ((uint64_t) 1 << k))
           + 16;

    out = malloc(total);
    assert_non_null(out);

    ip = 0;
    op = 0;

    for ( ;; ) {
        ni = (size_t) L - ip;
        if (max_in && ni) {
            ni = tmin(ni, rnd(&seed) % max_in + 1);
        }

        no = total - op;
        if (max_out) {
            no = tmin(no, rnd(&seed) % (max_out + 1));
        }

        rc = s3_objfmt_enc_process(e, ni ? pt + ip : NULL, ni, &c,
                                   no ? out + op : NULL, no, &w);
        ip += c;
        op += w;

        if (rc == S3_OBJFMT_HELD) {
            assert_int_equal(ip, L);
            assert_int_equal(op, total - held);
            assert_int_equal(s3_objfmt_enc_release(e), S3_OBJFMT_OK);
            released = 1;
            continue;
        }

        if (rc == S3_OBJFMT_OK) {
            break;
        }

        assert_int_equal(rc, S3_OBJFMT_AGAIN);
        assert_true(released || op <= total - held);
    }

    assert_int_equal(ip, L);
    assert_int_equal(op, total);

    s3_objfmt_enc_free(e);
    *outlen = total;

    return out;
}


/*
 * Feeds stored bytes to a decryptor in random pieces (in up to max_in,
 * output room up to max_out, 0: all at once), then says the input ended
 * and drains.  Returns the first non-AGAIN result; *outlen: plaintext out.
 */
static s3_objfmt_rc_t
feed_dec(s3_objfmt_dec_t *d, const unsigned char *in, size_t len,
    unsigned char *out, size_t cap, size_t max_in, size_t max_out,
    uint64_t seed, size_t *outlen)
{
    size_t          ip, op, c, w, ni, no;
    s3_objfmt_rc_t  rc;

    ip = 0;
    op = 0;
    rc = S3_OBJFMT_AGAIN;

    while (ip < len) {
        ni = len - ip;
        if (max_in) {
            ni = tmin(ni, rnd(&seed) % max_in + 1);
        }

        no = cap - op;
        if (max_out) {
            no = tmin(no, rnd(&seed) % (max_out + 1));
        }

        rc = s3_objfmt_dec_process(d, in + ip, ni, &c, no ? out + op : NULL,
                                   no, &w);
        ip += c;
        op += w;

        if (rc != S3_OBJFMT_AGAIN && rc != S3_OBJFMT_OK) {
            *outlen = op;
            return rc;
        }

        if (rc == S3_OBJFMT_OK && ip < len) {
            break;
        }
    }

    if (ip < len) {
        /* done before the input was: the rest must be refused */
        rc = s3_objfmt_dec_process(d, in + ip, len - ip, &c,
                                   cap > op ? out + op : NULL, cap - op, &w);
        *outlen = op + w;
        return rc;
    }

    rc = s3_objfmt_dec_end(d);
    if (rc != S3_OBJFMT_OK) {
        *outlen = op;
        return rc;
    }

    do {
        rc = s3_objfmt_dec_process(d, NULL, 0, &c,
                                   cap > op ? out + op : NULL, cap - op, &w);
        op += w;
        assert_int_equal(c, 0);
    } while (rc == S3_OBJFMT_AGAIN && w > 0);

    *outlen = op;

    return rc;
}


/* whole segment, header in the stream */
static s3_objfmt_rc_t
decrypt_stream(const unsigned char *dek, uint32_t p, const unsigned char *st,
    size_t slen, unsigned char *out, size_t cap, size_t max_in,
    size_t max_out, uint64_t seed, size_t *outlen)
{
    s3_objfmt_rc_t    rc;
    s3_objfmt_dec_t  *d;

    assert_int_equal(s3_objfmt_dec_new(&d, dek, p, NULL, 0, 0,
                                       S3_OBJFMT_TO_END), S3_OBJFMT_OK);

    rc = feed_dec(d, st, slen, out, cap, max_in, max_out, seed, outlen);

    s3_objfmt_dec_free(d);

    return rc;
}


/* ---- known answers (reference implementation) ----------------------------- */

static void
check_sha(const unsigned char *buf, size_t len, const char *hex)
{
    char           got[65];
    unsigned char  md[32];

    assert_int_equal(kms_sha256(buf, len, md), 0);
    unit_hex(md, 32, got);
    assert_string_equal(got, hex);
}


static void
test_segments_match_reference_known_answers(void **state)
{
    size_t           i, slen;
    unsigned char   *pt, *st, want[93];

    static const struct {
        uint64_t     L;
        uint32_t     p;
        unsigned     k;
        size_t       stored;
        const char  *sha;
    } kat[] = {
        { 3 * F12 + 5, 0, 12, 12429,
          "1bd1e2067047a32e698f32eeeb778910a819557f16c30734fa615aa5577c8f8a" },
        { 3 * F16 + 5, 1, 16, 196749,
          "e356491e5293da938d984e73bfd833fe99acbc8de923ee93f839054c4dc82165" },
        { 0, 0, 16, 88,
          "30f0c41d0d071474319c394d26495ff08d2bbd5923d850d67bf2a78cfba9d35d" },
        { F12, 7, 12, 4184,
          "8355172078f242a3793e7e82088cdadebcf81a45dedb95018280b8c71960283b" },
    };

    unhex_all("5353454b01010c0000000000000000050000000300000000a0a1a2a3a4a5a6"
              "a7a8a9aaabacadaeaf28b5f63255513da34ef74e5fec2aee548e4c5901f0e7"
              "a04529babcc6d4932f17ab6be23385bc8e940ab182a2590552bde3070e7985",
              want, sizeof(want));

    pt = pattern(5);
    st = encrypt_with(t_dek, t_salt, 5, 3, 12, pt, 0, 0, 1, &slen);
    assert_int_equal(slen, sizeof(want));
    assert_memory_equal(st, want, sizeof(want));
    free(st);
    free(pt);

    for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        pt = pattern((size_t) kat[i].L);
        st = encrypt_with(t_dek, t_salt, kat[i].L, kat[i].p, kat[i].k, pt,
                          0, 0, 1, &slen);
        assert_int_equal(slen, kat[i].stored);
        check_sha(st, slen, kat[i].sha);
        free(st);
        free(pt);
    }
}


/* ---- encryptor ---------------------------------------------------------------- */

static void
test_encryptor_matches_hand_built_segments(void **state)
{
    size_t          i, j, rlen, slen;
    unsigned char  *pt, *ref, *st;

    static const struct {
        uint64_t  L;
        uint32_t  p;
        unsigned  k;
    } c[] = {
        { 0, 0, 12 }, { 1, 1, 12 }, { F12 - 1, 2, 12 }, { F12, 3, 12 },
        { F12 + 1, 10000, 12 }, { 3 * F12 + 5, 0, 12 },
        { 0, 0, 16 }, { 1, 0, 16 }, { F16, 9, 16 }, { 3 * F16 + 5, 42, 16 },
        { (1u << 24) + 1, 1, 24 }, { 5, 0, 24 }, { 2 * 8192 - 3, 4, 13 },
    };

    static const size_t  splits[][2] = {
        { 0, 0 }, { 1, 1 }, { 7, 3 }, { 100, 5000 }, { 5000, 100 }
    };

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        pt = pattern((size_t) c[i].L);
        ref = ref_segment(t_dek, t_salt, c[i].L, c[i].p, c[i].k, pt, &rlen);

        for (j = 0; j < sizeof(splits) / sizeof(splits[0]); j++) {
            if (c[i].L > 4 * F16 && j != 0 && j != 3) {
                continue;               /* byte-sized steps over 16 MiB */
            }

            st = encrypt_with(t_dek, t_salt, c[i].L, c[i].p, c[i].k, pt,
                              splits[j][0], splits[j][1], 77 + j, &slen);
            assert_int_equal(slen, rlen);
            assert_memory_equal(st, ref, rlen);
            free(st);
        }

        free(ref);
        free(pt);
    }
}


static void
test_encryptor_holds_final_frame_until_release(void **state)
{
    size_t            i, c, w, w2, total, held;
    unsigned char    *pt, *out, *ref;
    s3_objfmt_enc_t  *e;

    static const uint64_t  lens[] = { 0, 5, F12, 2 * F12, 3 * F12 + 5 };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        pt = pattern((size_t) lens[i]);
        ref = ref_segment(t_dek, t_salt, lens[i], 0, 12, pt, &total);

        held = (size_t) (lens[i] % F12 == 0 && lens[i] ? F12 : lens[i] % F12)
               + 16;

        out = calloc(1, total);
        assert_non_null(out);

        assert_int_equal(s3_objfmt_enc_new(&e, t_dek, lens[i], 0, 12,
                                           t_salt), S3_OBJFMT_OK);

        /* all input and all the room it could want: the final frame stays */

        assert_int_equal(s3_objfmt_enc_process(e, pt, (size_t) lens[i], &c,
                                               out, total, &w),
                         S3_OBJFMT_HELD);
        assert_int_equal(c, lens[i]);
        assert_int_equal(w, total - held);
        assert_memory_equal(out, ref, w);

        /* asking again changes nothing */

        assert_int_equal(s3_objfmt_enc_process(e, NULL, 0, &c, out + w,
                                               total - w, &w2),
                         S3_OBJFMT_HELD);
        assert_int_equal(c, 0);
        assert_int_equal(w2, 0);

        assert_int_equal(s3_objfmt_enc_release(e), S3_OBJFMT_OK);
        assert_int_equal(s3_objfmt_enc_process(e, NULL, 0, &c,
                                               out + total - held, held, &w),
                         S3_OBJFMT_OK);
        assert_int_equal(w, held);
        assert_memory_equal(out, ref, total);

        s3_objfmt_enc_free(e);
        free(out);
        free(ref);
        free(pt);
    }
}


static void
test_encryptor_refuses_more_or_fewer_bytes_than_L(void **state)
{
    size_t            c, w;
    unsigned char    *pt, out[200];
    s3_objfmt_enc_t  *e;

    pt = pattern(101);

    /* one byte too many in one piece: refused whole, and for good */

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 100, 0, 12, t_salt),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_enc_process(e, pt, 101, &c, out, sizeof(out),
                                           &w), S3_OBJFMT_ERR_TOO_LONG);
    assert_int_equal(c, 0);
    assert_int_equal(s3_objfmt_enc_process(e, pt, 1, &c, out, sizeof(out),
                                           &w), S3_OBJFMT_ERR_TOO_LONG);
    assert_int_equal(s3_objfmt_enc_release(e), S3_OBJFMT_ERR_TOO_LONG);
    s3_objfmt_enc_free(e);

    /* the extra byte in a later piece */

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 100, 0, 12, t_salt),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_enc_process(e, pt, 100, &c, out, sizeof(out),
                                           &w), S3_OBJFMT_HELD);
    assert_int_equal(s3_objfmt_enc_process(e, pt + 100, 1, &c, out,
                                           sizeof(out), &w),
                     S3_OBJFMT_ERR_TOO_LONG);
    s3_objfmt_enc_free(e);

    /* an empty object fed one byte */

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 0, 0, 12, t_salt),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_enc_process(e, pt, 1, &c, out, sizeof(out),
                                           &w), S3_OBJFMT_ERR_TOO_LONG);
    s3_objfmt_enc_free(e);

    /* input ends one byte short: release refuses, nothing final goes out */

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 100, 0, 12, t_salt),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_enc_process(e, pt, 99, &c, out, sizeof(out),
                                           &w), S3_OBJFMT_AGAIN);
    assert_int_equal(c, 99);
    assert_int_equal(w, 72);
    assert_int_equal(s3_objfmt_enc_release(e), S3_OBJFMT_ERR_TRUNCATED);
    assert_int_equal(s3_objfmt_enc_process(e, pt + 99, 1, &c, out,
                                           sizeof(out), &w),
                     S3_OBJFMT_ERR_TRUNCATED);
    assert_int_equal(w, 0);
    s3_objfmt_enc_free(e);

    free(pt);
}


static void
test_encryptor_rejects_bad_parameters(void **state)
{
    s3_objfmt_enc_t  *e = (s3_objfmt_enc_t *) 1;

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 1, 0, 11, t_salt),
                     S3_OBJFMT_ERR_ARGS);
    assert_null(e);
    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 1, 0, 25, t_salt),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 1, 10001, 16, t_salt),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, S3_OBJFMT_LEN_MAX + 1, 0,
                                       16, t_salt), S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_enc_new(&e, NULL, 1, 0, 16, t_salt),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_enc_new(NULL, t_dek, 1, 0, 16, t_salt),
                     S3_OBJFMT_ERR_ARGS);

    /* the edges that are allowed */

    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 1, 10000, 24, t_salt),
                     S3_OBJFMT_OK);
    s3_objfmt_enc_free(e);
    assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 1, 0, 12, t_salt),
                     S3_OBJFMT_OK);
    s3_objfmt_enc_free(e);
}


static void
test_random_salts_differ_and_decrypt(void **state)
{
    size_t            c, w, n, i;
    unsigned char     st[2][72 + 10 + 16], out[10], *pt;
    s3_objfmt_enc_t  *e;

    pt = pattern(10);

    for (i = 0; i < 2; i++) {
        assert_int_equal(s3_objfmt_enc_new(&e, t_dek, 10, 0, 16, NULL),
                         S3_OBJFMT_OK);
        assert_int_equal(s3_objfmt_enc_process(e, pt, 10, &c, st[i],
                                               sizeof(st[i]), &w),
                         S3_OBJFMT_HELD);
        assert_int_equal(s3_objfmt_enc_release(e), S3_OBJFMT_OK);
        assert_int_equal(s3_objfmt_enc_process(e, NULL, 0, &c, st[i] + w,
                                               sizeof(st[i]) - w, &w),
                         S3_OBJFMT_OK);
        s3_objfmt_enc_free(e);

        assert_int_equal(decrypt_stream(t_dek, 0, st[i], sizeof(st[i]), out,
                                        sizeof(out), 0, 0, 1, &n),
                         S3_OBJFMT_OK);
        assert_int_equal(n, 10);
        assert_memory_equal(out, pt, 10);
    }

    assert_memory_not_equal(st[0] + 24, st[1] + 24, 16);

    free(pt);
}


/* ---- round trips ------------------------------------------------------------- */

static void
test_roundtrip_in_random_splits(void **state)
{
    int             round;
    size_t          slen, n, i;
    uint64_t        seed = 0x9e3779b97f4a7c15ULL;
    unsigned char  *pt, *st, *out;

    static const uint64_t  lens[] = {
        0, 1, 2, 15, 16, 17, F12 - 1, F12, F12 + 1, 2 * F12, 3 * F12 + 5,
        5 * F12 + 4095
    };

    static const size_t  splits[][2] = {
        { 1, 1 }, { 3, 17 }, { 64, 64 }, { 4111, 4096 }, { 9000, 20000 },
        { 0, 0 }
    };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        pt = pattern((size_t) lens[i]);
        out = malloc(lens[i] + F12);
        assert_non_null(out);

        for (round = 0; round < 6; round++) {
            st = encrypt_with(t_dek, NULL, lens[i], (uint32_t) round, 12, pt,
                              splits[round][0], splits[round][1],
                              rnd(&seed), &slen);

            assert_int_equal(decrypt_stream(t_dek, (uint32_t) round, st,
                                            slen, out, lens[i] + F12,
                                            splits[5 - round][0],
                                            splits[5 - round][1],
                                            rnd(&seed), &n),
                             S3_OBJFMT_OK);
            assert_int_equal(n, lens[i]);
            assert_memory_equal(out, pt, n);
            free(st);
        }

        free(out);
        free(pt);
    }
}


/*
 * Units fed as stored bytes come (byte by byte, in pseudo-random pieces,
 * straight from the stored segment: no gathering copy) decrypt to the
 * same plaintext as whole units; ranges too; a tampered frame fails at
 * its last byte with the unit's plaintext wiped; more than the unit lacks
 * is refused.
 */
static void
test_fed_units_decrypt_without_gathering(void **state)
{
    size_t            slen, at, need, n, pos, plen, got, i, round;
    uint64_t          L = 3 * F12 + 5, soff, sl;
    int               fresh;
    unsigned          seed = 7;
    unsigned char    *pt, *st, *unit, *out;
    s3_objfmt_rc_t    rc;
    s3_objfmt_dec_t  *d;

    static const uint64_t  r[][2] = {
        { 0, S3_OBJFMT_TO_END }, { F12 - 1, 2 }, { 2 * F12 + 7, 100000 }
    };

    pt = pattern((size_t) L);
    st = ref_segment(t_dek, t_salt, L, 5, 12, pt, &slen);
    unit = malloc(F12 + 16);
    out = malloc((size_t) L);

    for (round = 0; round < 2 + sizeof(r) / sizeof(r[0]); round++) {
        if (round < 2) {
            /* the header in the stream; round 0 byte by byte */
            assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, NULL, 0, 0,
                                               S3_OBJFMT_TO_END),
                             S3_OBJFMT_OK);
            at = 0;
        } else {
            i = round - 2;
            assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, r[i][0],
                                               r[i][1]), S3_OBJFMT_OK);
            assert_int_equal(s3_objfmt_dec_span(d, &soff, &sl), S3_OBJFMT_OK);
            at = (size_t) soff;
        }

        got = 0;
        fresh = 1;
        while ((need = s3_objfmt_dec_unit_len(d)) != 0) {
            seed = seed * 1103515245 + 12345;
            n = round == 0 ? 1 : (seed >> 9) % 9000 + 1;
            n = n < need ? n : need;
            if (fresh) {
                memset(unit, 0xee, F12 + 16);     /* nothing left over */
            }
            rc = s3_objfmt_dec_unit_feed(d, st + at, n, unit, &pos, &plen);
            at += n;
            fresh = rc != S3_OBJFMT_AGAIN;
            if (rc == S3_OBJFMT_AGAIN) {
                assert_int_equal(plen, 0);
                assert_int_equal(s3_objfmt_dec_unit_len(d), need - n);
                continue;
            }
            assert_int_equal(rc, S3_OBJFMT_OK);
            assert_int_equal(n, need);
            memcpy(out + got, unit + pos, plen);
            got += plen;
        }

        if (round < 2) {
            assert_int_equal(at, slen);
            assert_int_equal(got, L);
            assert_memory_equal(out, pt, (size_t) L);
            assert_int_equal(s3_objfmt_dec_end(d), S3_OBJFMT_OK);
        } else {
            assert_int_equal(at, soff + sl);
            assert_int_equal(got, tmin(r[i][1], L - r[i][0]));
            assert_memory_equal(out, pt + r[i][0], got);
        }
        s3_objfmt_dec_free(d);
    }

    /* a flipped bit in the first frame: refused at its last byte, wiped */
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 0, 10),
                     S3_OBJFMT_OK);
    memcpy(out, st + 72, F12 + 16);
    out[1000] ^= 0x20;
    assert_int_equal(s3_objfmt_dec_unit_feed(d, out, F12, unit, &pos, &plen),
                     S3_OBJFMT_AGAIN);
    assert_int_equal(s3_objfmt_dec_unit_feed(d, out + F12, 16, unit, &pos,
                                             &plen), S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(plen, 0);
    for (i = 0; i < F12; i++) {
        assert_int_equal(unit[i], 0);
    }
    assert_int_equal(s3_objfmt_dec_unit_len(d), 0);
    s3_objfmt_dec_free(d);

    /* more than the unit lacks, at its start and inside it */
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 0, 10),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_dec_unit_feed(d, st + 72, F12 + 17, unit, &pos,
                                             &plen), S3_OBJFMT_ERR_TOO_LONG);
    s3_objfmt_dec_free(d);

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 0, 10),
                     S3_OBJFMT_OK);
    assert_int_equal(s3_objfmt_dec_unit_feed(d, st + 72, 100, unit, &pos,
                                             &plen), S3_OBJFMT_AGAIN);
    assert_int_equal(s3_objfmt_dec_unit_feed(d, st + 172, F12 - 100 + 17,
                                             unit, &pos, &plen),
                     S3_OBJFMT_ERR_TOO_LONG);
    for (i = 0; i < 100; i++) {
        assert_int_equal(unit[i], 0);
    }
    s3_objfmt_dec_free(d);

    free(pt);
    free(st);
    free(unit);
    free(out);
}


static void
test_in_place_units_decrypt_whole_and_ranges(void **state)
{
    size_t            slen, at, need, pos, plen, got, i;
    uint64_t          L = 3 * F12 + 5, soff, sl;
    unsigned char    *pt, *st, *buf, *out;
    s3_objfmt_dec_t  *d;

    static const uint64_t  r[][2] = {
        { 0, S3_OBJFMT_TO_END }, { 1, 1 }, { F12 - 1, 2 }, { F12, F12 },
        { 2 * F12 + 7, 100000 }, { 3 * F12 + 4, 1 }
    };

    pt = pattern((size_t) L);
    st = ref_segment(t_dek, t_salt, L, 5, 12, pt, &slen);
    buf = malloc(F12 + 16);
    out = malloc((size_t) L);

    /* header in the stream, then frames, each decrypted in place */

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, NULL, 0, 0,
                                       S3_OBJFMT_TO_END), S3_OBJFMT_OK);
    assert_null(s3_objfmt_dec_header(d));

    at = 0;
    got = 0;
    while ((need = s3_objfmt_dec_unit_len(d)) != 0) {
        assert_true(at + need <= slen);
        memcpy(buf, st + at, need);
        at += need;
        assert_int_equal(s3_objfmt_dec_unit(d, buf, need, &pos, &plen),
                         S3_OBJFMT_OK);
        memcpy(out + got, buf + pos, plen);
        got += plen;
    }

    assert_int_equal(at, slen);
    assert_int_equal(got, L);
    assert_memory_equal(out, pt, (size_t) L);
    assert_non_null(s3_objfmt_dec_header(d));
    assert_int_equal(s3_objfmt_dec_header(d)->len, L);
    assert_int_equal(s3_objfmt_dec_end(d), S3_OBJFMT_OK);
    s3_objfmt_dec_free(d);

    /* ranges with the header from the index */

    for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, r[i][0],
                                           r[i][1]), S3_OBJFMT_OK);
        assert_int_equal(s3_objfmt_dec_span(d, &soff, &sl), S3_OBJFMT_OK);

        at = (size_t) soff;
        got = 0;
        while ((need = s3_objfmt_dec_unit_len(d)) != 0) {
            memcpy(buf, st + at, need);
            at += need;
            assert_int_equal(s3_objfmt_dec_unit(d, buf, need, &pos, &plen),
                             S3_OBJFMT_OK);
            memcpy(out + got, buf + pos, plen);
            got += plen;
        }

        assert_int_equal(at, soff + sl);
        assert_int_equal(got, tmin(r[i][1], L - r[i][0]));
        assert_memory_equal(out, pt + r[i][0], got);
        s3_objfmt_dec_free(d);
    }

    /* a unit of the wrong size, a tampered one */

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 0, 10),
                     S3_OBJFMT_OK);
    memcpy(buf, st + 72, F12 + 15);
    assert_int_equal(s3_objfmt_dec_unit(d, buf, F12 + 15, &pos, &plen),
                     S3_OBJFMT_ERR_TRUNCATED);
    s3_objfmt_dec_free(d);

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 0, 10),
                     S3_OBJFMT_OK);
    memcpy(buf, st + 72, F12 + 16);
    buf[100] ^= 4;
    assert_int_equal(s3_objfmt_dec_unit(d, buf, F12 + 16, &pos, &plen),
                     S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(plen, 0);
    for (i = 0; i < F12; i++) {
        assert_int_equal(buf[i], 0);        /* unverified plaintext wiped */
    }
    assert_int_equal(s3_objfmt_dec_unit_len(d), 0);
    s3_objfmt_dec_free(d);

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 5, st, 0, 3 * F12, 10),
                     S3_OBJFMT_OK);
    memcpy(buf, st + slen - 21, 21);
    assert_int_equal(s3_objfmt_dec_unit(d, buf, 21, &pos, &plen),
                     S3_OBJFMT_OK);
    assert_int_equal(plen, 5);
    assert_int_equal(s3_objfmt_dec_unit(d, buf, 21, &pos, &plen),
                     S3_OBJFMT_ERR_TOO_LONG);
    s3_objfmt_dec_free(d);

    free(out);
    free(buf);
    free(st);
    free(pt);
}


/* ---- the decryptor refuses ---------------------------------------------------- */

static void
test_decryptor_refuses_every_truncation(void **state)
{
    size_t            i, cut, slen, n, complete, F = F12;
    uint64_t          seed = 12345;
    unsigned char    *pt, *st, *out;
    s3_objfmt_dec_t  *d;
    s3_objfmt_rc_t    rc;

    static const uint64_t  lens[] = { 0, 1, F12 + 1, 3 * F12 + 5 };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        pt = pattern((size_t) lens[i]);
        st = ref_segment(t_dek, t_salt, lens[i], 0, 12, pt, &slen);
        out = malloc(lens[i] + 1);

        for (cut = 0; cut < slen; cut++) {

            /* header in the stream */

            rc = decrypt_stream(t_dek, 0, st, cut, out, lens[i] + 1,
                                cut % 3 ? 1000 : 0, 0, rnd(&seed), &n);
            assert_int_equal(rc, S3_OBJFMT_ERR_TRUNCATED);

            /* only whole, verified frames came out */

            complete = cut < 72 ? 0 : (cut - 72) / (F + 16);
            assert_int_equal(n, complete * F);
            assert_memory_equal(out, pt, n);

            /* header from the index: the stored frames cut short */

            if (cut < 72) {
                continue;
            }

            assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 0, 0,
                                               S3_OBJFMT_TO_END),
                             S3_OBJFMT_OK);
            rc = feed_dec(d, st + 72, cut - 72, out, lens[i] + 1, 0, 0, 1,
                          &n);
            assert_int_equal(rc, S3_OBJFMT_ERR_TRUNCATED);
            assert_int_equal(n, complete * F);
            assert_memory_equal(out, pt, n);
            s3_objfmt_dec_free(d);
        }

        free(out);
        free(st);
        free(pt);
    }
}


/* what a flipped bit in header byte `at` must give, by field */
static int
header_flip_ok(size_t at, const unsigned char *hdr, s3_objfmt_rc_t rc)
{
    uint32_t  p;

    if (at < 4) {
        return rc == S3_OBJFMT_ERR_MAGIC;
    }
    if (at == 4) {
        return rc == S3_OBJFMT_ERR_VERSION;
    }
    if (at == 5) {
        return rc == S3_OBJFMT_ERR_ALGORITHM;
    }
    if (at == 6 && (hdr[6] < 12 || hdr[6] > 24)) {
        return rc == S3_OBJFMT_ERR_HEADER;
    }
    if (at == 7 || (at >= 20 && at < 24)) {
        return rc == S3_OBJFMT_ERR_HEADER;
    }
    if (at >= 16 && at < 20) {
        p = (uint32_t) hdr[16] << 24 | (uint32_t) hdr[17] << 16
            | (uint32_t) hdr[18] << 8 | hdr[19];
        return rc == (p > 10000 ? S3_OBJFMT_ERR_HEADER : S3_OBJFMT_ERR_PART);
    }
    if (at >= 24) {
        return rc == S3_OBJFMT_ERR_WRONG_KEY;       /* salt, commitment */
    }
    if (at == 8 && (hdr[8] & 0xc0) && (hdr[8] != 0x40 || hdr[9] || hdr[10]
                                       || hdr[11] || hdr[12] || hdr[13]
                                       || hdr[14] || hdr[15]))
    {
        return rc == S3_OBJFMT_ERR_HEADER;          /* L > 2^62 */
    }

    /* another valid F or L: the AAD differs, the frames do not open */
    return rc == S3_OBJFMT_ERR_CORRUPT || rc == S3_OBJFMT_ERR_TRUNCATED
           || rc == S3_OBJFMT_ERR_TOO_LONG;
}


static void
test_decryptor_refuses_every_header_bit_flip(void **state)
{
    size_t            i, at, bit, slen, n;
    unsigned char    *pt, *st, *out, hdr[72];
    s3_objfmt_dec_t  *d;
    s3_objfmt_rc_t    rc;

    static const uint64_t  lens[] = { 5, 3 * F12 + 5 };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        pt = pattern((size_t) lens[i]);
        st = ref_segment(t_dek, t_salt, lens[i], 3, 12, pt, &slen);
        out = malloc((size_t) lens[i]);

        for (at = 0; at < 72; at++) {
            for (bit = 0; bit < 8; bit++) {
                st[at] ^= (unsigned char) (1u << bit);

                rc = decrypt_stream(t_dek, 3, st, slen, out, lens[i], 0, 0, 1,
                                    &n);
                if (!header_flip_ok(at, st, rc)) {
                    fail_msg("L %lu byte %zu bit %zu: %s", (unsigned long)
                             lens[i], at, bit, s3_objfmt_strerror(rc));
                }
                assert_int_equal(n, 0);

                /* the same header handed over from the index */

                memcpy(hdr, st, 72);
                rc = s3_objfmt_dec_new(&d, t_dek, 3, hdr, 0, 0,
                                       S3_OBJFMT_TO_END);
                if (rc == S3_OBJFMT_OK) {
                    uint64_t  so, sl;

                    assert_int_equal(s3_objfmt_dec_span(d, &so, &sl),
                                     S3_OBJFMT_OK);
                    rc = feed_dec(d, st + 72, slen - 72 < sl ? slen - 72
                                                             : (size_t) sl,
                                  out, lens[i], 0, 0, 1, &n);
                    assert_int_equal(n, 0);
                    s3_objfmt_dec_free(d);

                } else {
                    assert_null(d);
                }

                if (!header_flip_ok(at, st, rc)) {
                    fail_msg("given header: L %lu byte %zu bit %zu: %s",
                             (unsigned long) lens[i], at, bit,
                             s3_objfmt_strerror(rc));
                }

                st[at] ^= (unsigned char) (1u << bit);
            }
        }

        /* unflipped, it still decrypts */
        assert_int_equal(decrypt_stream(t_dek, 3, st, slen, out, lens[i], 0,
                                        0, 1, &n), S3_OBJFMT_OK);
        assert_int_equal(n, lens[i]);

        free(out);
        free(st);
        free(pt);
    }
}


static void
test_decryptor_refuses_every_frame_bit_flip(void **state)
{
    size_t          i, at, slen, n, frame;
    unsigned char  *pt, *st, *out;
    s3_objfmt_rc_t  rc;

    static const uint64_t  lens[] = { 0, 1, F12, 3 * F12 + 5 };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        pt = pattern((size_t) lens[i]);
        st = ref_segment(t_dek, t_salt, lens[i], 0, 12, pt, &slen);
        out = malloc(lens[i] + 1);

        for (at = 72; at < slen; at++) {
            st[at] ^= (unsigned char) (1u << (at % 8));

            rc = decrypt_stream(t_dek, 0, st, slen, out, lens[i] + 1, 0, 0,
                                1, &n);
            assert_int_equal(rc, S3_OBJFMT_ERR_CORRUPT);

            /* the frames before the damaged one, and nothing else */
            frame = (at - 72) / (F12 + 16);
            assert_int_equal(n, frame * F12);
            assert_memory_equal(out, pt, n);

            st[at] ^= (unsigned char) (1u << (at % 8));
        }

        free(out);
        free(st);
        free(pt);
    }
}


static void
test_decryptor_refuses_reordered_foreign_and_extra_frames(void **state)
{
    size_t          slen, olen, n, u = F12 + 16;
    uint64_t        L = 3 * F12 + 5;
    unsigned char  *pt, *st, *other, *bad, *out, salt2[16];

    pt = pattern((size_t) L);
    st = ref_segment(t_dek, t_salt, L, 0, 12, pt, &slen);
    memcpy(salt2, t_salt, 16);
    salt2[15] ^= 1;
    other = ref_segment(t_dek, salt2, L, 0, 12, pt, &olen);
    out = malloc((size_t) L + 2 * u);
    bad = malloc(slen + u);

    /* frames 0 and 1 swapped: frame 0 fails, nothing comes out */

    memcpy(bad, st, slen);
    memcpy(bad + 72, st + 72 + u, u);
    memcpy(bad + 72 + u, st + 72, u);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen, out, L, 0, 0, 1,
                                    &n), S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(n, 0);
    assert_int_equal(ERR_peek_error(), 0);      /* no OpenSSL errors left */

    /* frames 1 and 2 swapped: frame 0 only */

    memcpy(bad, st, slen);
    memcpy(bad + 72 + u, st + 72 + 2 * u, u);
    memcpy(bad + 72 + 2 * u, st + 72 + u, u);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen, out, L, 7, 13, 1,
                                    &n), S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(n, F12);

    /* frame 1 from another segment of the same key, size and position */

    memcpy(bad, st, slen);
    memcpy(bad + 72 + u, other + 72 + u, u);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen, out, L, 0, 0, 1,
                                    &n), S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(n, F12);

    /* a middle frame dropped: its successor fails at its place */

    memcpy(bad, st, 72 + u);
    memcpy(bad + 72 + u, st + 72 + 2 * u, slen - 72 - 2 * u);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen - u, out, L, 0, 0, 1,
                                    &n), S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(n, F12);

    /* the final frame dropped: truncated */

    assert_int_equal(decrypt_stream(t_dek, 0, st, slen - 21, out, L, 0, 0,
                                    1, &n), S3_OBJFMT_ERR_TRUNCATED);
    assert_int_equal(n, 3 * F12);

    /* the final frame duplicated, in one piece or in many */

    memcpy(bad, st, slen);
    memcpy(bad + slen, st + slen - 21, 21);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen + 21, out, L + 21,
                                    0, 0, 1, &n), S3_OBJFMT_ERR_TOO_LONG);
    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen + 21, out, L + 21,
                                    100, 100, 1, &n),
                     S3_OBJFMT_ERR_TOO_LONG);
    assert_true(n <= L);
    assert_memory_equal(out, pt, n);

    /* one trailing byte */

    assert_int_equal(decrypt_stream(t_dek, 0, bad, slen + 1, out, L + 1, 0,
                                    0, 1, &n), S3_OBJFMT_ERR_TOO_LONG);

    /* a whole segment with one full frame, then the last frame again as a
       non-final one is impossible to forge: the final flag is in the AAD */

    free(bad);
    free(out);
    free(other);
    free(st);
    free(pt);
}


static void
test_decryptor_tells_wrong_key_and_wrong_part(void **state)
{
    size_t            slen, n;
    unsigned char    *pt, *st, out[100], dek2[32];
    s3_objfmt_dec_t  *d;

    pt = pattern(100);
    st = ref_segment(t_dek, t_salt, 100, 7, 12, pt, &slen);
    memcpy(dek2, t_dek, 32);
    dek2[31] ^= 0x80;

    assert_int_equal(s3_objfmt_dec_new(&d, dek2, 7, st, 0, 0, 100),
                     S3_OBJFMT_ERR_WRONG_KEY);
    assert_null(d);
    assert_int_equal(decrypt_stream(dek2, 7, st, slen, out, 100, 0, 0, 1,
                                    &n), S3_OBJFMT_ERR_WRONG_KEY);
    assert_int_equal(n, 0);
    assert_int_equal(decrypt_stream(dek2, 7, st, slen, out, 100, 5, 5, 1,
                                    &n), S3_OBJFMT_ERR_WRONG_KEY);

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 8, st, 0, 0, 100),
                     S3_OBJFMT_ERR_PART);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 0, 0, 100),
                     S3_OBJFMT_ERR_PART);
    assert_int_equal(decrypt_stream(t_dek, 6, st, slen, out, 100, 0, 0, 1,
                                    &n), S3_OBJFMT_ERR_PART);

    /* the stored header differs from the index's */

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 7, st, 1, 0, 100),
                     S3_OBJFMT_OK);
    st[30] ^= 1;
    assert_int_equal(feed_dec(d, st, slen, out, 100, 0, 0, 1, &n),
                     S3_OBJFMT_ERR_CORRUPT);
    assert_int_equal(n, 0);
    s3_objfmt_dec_free(d);

    /* a bad magic is told from the first bytes */

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 7, NULL, 0, 0,
                                       S3_OBJFMT_TO_END), S3_OBJFMT_OK);
    assert_int_equal(feed_dec(d, (const unsigned char *) "<?xml", 5, out,
                              100, 0, 0, 1, &n), S3_OBJFMT_ERR_MAGIC);
    s3_objfmt_dec_free(d);

    free(st);
    free(pt);
}


static void
test_decryptor_rejects_bad_parameters(void **state)
{
    size_t            slen;
    unsigned char    *pt, *st, *empty;
    s3_objfmt_dec_t  *d;

    pt = pattern(2 * F12);
    st = ref_segment(t_dek, t_salt, 100, 0, 12, pt, &slen);
    empty = ref_segment(t_dek, t_salt, 0, 0, 12, pt, &slen);

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 0, 100, 1),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 0, 5, 0),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, NULL, 0, 1, 1),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, NULL, 0, st, 0, 0, 1),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 10001, st, 0, 0, 1),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, empty, 0, 1, 1),
                     S3_OBJFMT_ERR_ARGS);

    /* header in the stream needs the range to start in frame 0 */
    free(st);
    st = ref_segment(t_dek, t_salt, 2 * F12, 0, 12, pt, &slen);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 1, F12, 1),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, st, 1, F12 - 1, 2),
                     S3_OBJFMT_OK);
    s3_objfmt_dec_free(d);

    /* an empty segment: its one empty frame is fetched and verified */

    assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 0, empty, 0, 0, 0),
                     S3_OBJFMT_OK);
    {
        size_t    n;
        uint64_t  so, sl;

        assert_int_equal(s3_objfmt_dec_span(d, &so, &sl), S3_OBJFMT_OK);
        assert_int_equal(so, 72);
        assert_int_equal(sl, 16);
        empty[80] ^= 1;
        assert_int_equal(feed_dec(d, empty + 72, 16, NULL, 0, 0, 0, 1, &n),
                         S3_OBJFMT_ERR_CORRUPT);
    }
    s3_objfmt_dec_free(d);

    free(empty);
    free(st);
    free(pt);
}


/* ---- ranges -------------------------------------------------------------------- */

static void
test_range_decrypt_at_frame_edges(void **state)
{
    size_t            i, j, slen, n, want;
    uint64_t          L = 3 * F12 + 5, so, sl, fa, fb, seed = 99;
    unsigned char    *pt, *st, *out;
    s3_objfmt_dec_t  *d;

    static const uint64_t  e[] = {
        0, 1, F12 - 1, F12, F12 + 1, 2 * F12 - 1, 2 * F12, 2 * F12 + 1,
        3 * F12 - 1, 3 * F12, 3 * F12 + 1, 3 * F12 + 4
    };

    pt = pattern((size_t) L);
    st = ref_segment(t_dek, t_salt, L, 2, 12, pt, &slen);
    out = malloc((size_t) L);

    for (i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
        for (j = i; j < sizeof(e) / sizeof(e[0]); j++) {

            /* DESIGN: [72 + fa (F+16), 72 + (fb+1)(F+16) - 1], clipped */

            fa = e[i] / F12;
            fb = e[j] / F12;

            assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 2, st, 0, e[i],
                                               e[j] - e[i] + 1),
                             S3_OBJFMT_OK);
            assert_int_equal(s3_objfmt_dec_span(d, &so, &sl), S3_OBJFMT_OK);
            assert_int_equal(so, 72 + fa * (F12 + 16));
            assert_int_equal(so + sl,
                             72 + (fb + 1) * (F12 + 16) < slen
                             ? 72 + (fb + 1) * (F12 + 16) : slen);

            want = (size_t) (e[j] - e[i] + 1);
            assert_int_equal(feed_dec(d, st + so, (size_t) sl, out, want,
                                      (i + j) % 2 ? 333 : 0,
                                      (i + j) % 3 ? 100 : 0, rnd(&seed), &n),
                             S3_OBJFMT_OK);
            assert_int_equal(n, want);
            assert_memory_equal(out, pt + e[i], want);
            s3_objfmt_dec_free(d);
        }

        /* to the end, whatever len says beyond it */

        assert_int_equal(s3_objfmt_dec_new(&d, t_dek, 2, st, 0, e[i],
                                           S3_OBJFMT_TO_END), S3_OBJFMT_OK);
        assert_int_equal(s3_objfmt_dec_span(d, &so, &sl), S3_OBJFMT_OK);
        assert_int_equal(so + sl, slen);
        assert_int_equal(feed_dec(d, st + so, (size_t) sl, out, (size_t) L,
                                  0, 0, 1, &n), S3_OBJFMT_OK);
        assert_int_equal(n, L - e[i]);
        assert_memory_equal(out, pt + e[i], n);
        s3_objfmt_dec_free(d);
    }

    free(out);
    free(st);
    free(pt);
}


static void
test_range_header_forms(void **state)
{
    size_t             i;
    s3_objfmt_range_t  r;

    static const struct {
        const char  *v;
        uint64_t     total;
        s3_err_t     rc;
        int          partial;
        uint64_t     first, last;
    } c[] = {
        { "bytes=0-99", 1000, S3_OK, 1, 0, 99 },
        { "bytes=0-0", 1000, S3_OK, 1, 0, 0 },
        { "bytes=999-999", 1000, S3_OK, 1, 999, 999 },
        { "bytes=500-", 1000, S3_OK, 1, 500, 999 },
        { "bytes=990-2000", 1000, S3_OK, 1, 990, 999 },
        { "bytes=0-99999999999999999999999", 1000, S3_OK, 1, 0, 999 },
        { "bytes=-1", 1000, S3_OK, 1, 999, 999 },
        { "bytes=-100", 1000, S3_OK, 1, 900, 999 },
        { "bytes=-1000", 1000, S3_OK, 1, 0, 999 },
        { "bytes=-5000", 1000, S3_OK, 1, 0, 999 },
        { "BYTES=1-2", 1000, S3_OK, 1, 1, 2 },
        { "bytes= 1-2 ", 1000, S3_OK, 1, 1, 2 },
        /* unsatisfiable */
        { "bytes=1000-", 1000, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        { "bytes=1000-1001", 1000, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        { "bytes=99999999999999999999999-", 1000, S3_ERR_INVALID_RANGE,
          0, 0, 0 },
        { "bytes=-0", 1000, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        { "bytes=0-", 0, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        { "bytes=0-0", 0, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        { "bytes=-0", 0, S3_ERR_INVALID_RANGE, 0, 0, 0 },
        /* an empty object and a suffix: 200 with the empty body */
        { "bytes=-1", 0, S3_OK, 0, 0, 0 },
        /* ignored: 200 with the whole object */
        { "bytes=5-4", 1000, S3_OK, 0, 0, 0 },
        { "bytes=1500-4", 1000, S3_OK, 0, 0, 0 },
        { "bytes=0-1,5-6", 1000, S3_OK, 0, 0, 0 },
        { "bytes=-", 1000, S3_OK, 0, 0, 0 },
        { "bytes=", 1000, S3_OK, 0, 0, 0 },
        { "bytes=a-b", 1000, S3_OK, 0, 0, 0 },
        { "bytes=1-2-3", 1000, S3_OK, 0, 0, 0 },
        { "bytes=+1-2", 1000, S3_OK, 0, 0, 0 },
        { "items=0-1", 1000, S3_OK, 0, 0, 0 },
        { "bytes 0-1", 1000, S3_OK, 0, 0, 0 },
        { "", 1000, S3_OK, 0, 0, 0 },
    };

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        memset(&r, 0x55, sizeof(r));
        if (s3_objfmt_range_parse(c[i].v, strlen(c[i].v), c[i].total, &r)
            != c[i].rc || r.partial != c[i].partial
            || (r.partial && (r.first != c[i].first || r.last != c[i].last)))
        {
            fail_msg("\"%s\" of %lu: partial %d %lu-%lu", c[i].v,
                     (unsigned long) c[i].total, r.partial,
                     (unsigned long) r.first, (unsigned long) r.last);
        }
    }

    /* the value need not be NUL-terminated */
    assert_int_equal(s3_objfmt_range_parse("bytes=1-29", 9, 100, &r), S3_OK);
    assert_int_equal(r.last, 2);
}


static void
test_segment_span_at_frame_edges(void **state)
{
    size_t    i;
    uint64_t  so, sl, u = F12 + 16, L = 3 * F12 + 5;
    uint64_t  stored = 72 + L + 4 * 16;

    static const struct {
        uint64_t  a, b;             /* inclusive plaintext range */
        uint64_t  fa, fb;
    } c[] = {
        { 0, F12 - 1, 0, 0 }, { 0, F12, 0, 1 }, { 0, F12 + 1, 0, 1 },
        { F12 - 1, F12 - 1, 0, 0 }, { F12 - 1, F12, 0, 1 },
        { F12, F12, 1, 1 }, { F12 + 1, 2 * F12 - 1, 1, 1 },
        { F12 + 1, 2 * F12, 1, 2 }, { 3 * F12, 3 * F12 + 4, 3, 3 },
        { 3 * F12 + 4, 3 * F12 + 4, 3, 3 }, { 0, 3 * F12 + 4, 0, 3 },
    };

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        assert_int_equal(s3_objfmt_seg_span(L, 12, c[i].a, c[i].b - c[i].a
                                            + 1, 0, &so, &sl),
                         S3_OBJFMT_OK);
        assert_int_equal(so, 72 + c[i].fa * u);
        assert_int_equal(so + sl, c[i].fb == 3 ? stored
                                               : 72 + (c[i].fb + 1) * u);
    }

    /* the last frame's end is clipped; len past the end is clipped */
    assert_int_equal(s3_objfmt_seg_span(L, 12, 3 * F12 + 1, 1000, 0, &so,
                                        &sl), S3_OBJFMT_OK);
    assert_int_equal(so, 72 + 3 * u);
    assert_int_equal(sl, 5 + 16);

    /* with the header: from byte 0 */
    assert_int_equal(s3_objfmt_seg_span(L, 12, 5, F12, 1, &so, &sl),
                     S3_OBJFMT_OK);
    assert_int_equal(so, 0);
    assert_int_equal(sl, 72 + 2 * u);
    assert_int_equal(s3_objfmt_seg_span(L, 12, F12, 1, 1, &so, &sl),
                     S3_OBJFMT_ERR_ARGS);

    /* empty segment: its empty frame; nothing else is inside */
    assert_int_equal(s3_objfmt_seg_span(0, 16, 0, 0, 0, &so, &sl),
                     S3_OBJFMT_OK);
    assert_int_equal(so, 72);
    assert_int_equal(sl, 16);
    assert_int_equal(s3_objfmt_seg_span(0, 16, 1, 1, 0, &so, &sl),
                     S3_OBJFMT_ERR_ARGS);

    /* outside, empty, bad k */
    assert_int_equal(s3_objfmt_seg_span(L, 12, L, 1, 0, &so, &sl),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_seg_span(L, 12, 0, 0, 0, &so, &sl),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_seg_span(L, 11, 0, 1, 0, &so, &sl),
                     S3_OBJFMT_ERR_ARGS);
}


static void
test_multipart_ranges_map_and_decrypt(void **state)
{
    size_t              i, j, k, at, n, got, nr;
    uint64_t            total, stored, so, sl, off, len, seed = 4242;
    uint64_t            r[64][2];
    unsigned char      *pt, *st, *out, *seg[6], *hdr[6];
    size_t              slen[6];
    s3_objfmt_seg_t     segs[6];
    s3_objfmt_span_t    span;
    s3_objfmt_piece_t   pc;
    s3_objfmt_dec_t    *d;

    /* parts of mixed F, with an empty one inside and one at the end */

    static const struct {
        uint64_t  len;
        unsigned  k;
    } parts[6] = {
        { 3 * F12 + 1, 12 }, { F12, 12 }, { 0, 12 }, { 2 * 8192 + 9, 13 },
        { 5, 16 }, { 0, 16 }
    };

    for (i = 0, total = 0; i < 6; i++) {
        segs[i].len = parts[i].len;
        segs[i].log2f = parts[i].k;
        total += parts[i].len;
    }

    pt = pattern((size_t) total);
    assert_int_equal(s3_objfmt_segs_layout(segs, 6, &off, &stored),
                     S3_OBJFMT_OK);
    assert_int_equal(off, total);

    st = malloc((size_t) stored);
    for (i = 0, at = 0; i < 6; i++) {
        seg[i] = ref_segment(t_dek, t_salt, parts[i].len, (uint32_t) i + 1,
                             parts[i].k, pt + segs[i].plain_off, &slen[i]);
        hdr[i] = seg[i];
        assert_int_equal(segs[i].stored_off, at);
        memcpy(st + at, seg[i], slen[i]);
        at += slen[i];
    }
    assert_int_equal(at, stored);

    /* edges at part boundaries, then random ranges */

    nr = 0;
    for (i = 0; i < 6; i++) {
        uint64_t  b = segs[i].plain_off;

        if (b > 0) {
            r[nr][0] = b - 1;  r[nr++][1] = 2;
            r[nr][0] = b - 1;  r[nr++][1] = 1;
        }
        if (b < total) {
            r[nr][0] = b;  r[nr++][1] = 1;
            r[nr][0] = b;  r[nr++][1] = total - b;
        }
    }
    r[nr][0] = 0;  r[nr++][1] = total;
    r[nr][0] = 0;  r[nr++][1] = S3_OBJFMT_TO_END;
    r[nr][0] = total - 1;  r[nr++][1] = 1;
    while (nr < 64) {
        r[nr][0] = rnd(&seed) % total;
        r[nr][1] = rnd(&seed) % (total - r[nr][0]) + 1;
        nr++;
    }

    out = malloc((size_t) total);

    for (j = 0; j < nr; j++) {
        off = r[j][0];
        len = r[j][1] < total - off ? r[j][1] : total - off;

        assert_int_equal(s3_objfmt_map_range(segs, 6, off, r[j][1], &span),
                         S3_OBJFMT_OK);
        assert_true(span.first <= span.last);
        assert_true(segs[span.first].len > 0 && segs[span.last].len > 0);
        assert_true(off >= segs[span.first].plain_off);
        assert_true(off + len <= segs[span.last].plain_off
                                 + segs[span.last].len);

        at = (size_t) span.stored_off;
        got = 0;

        for (k = span.first; k <= span.last; k++) {
            s3_objfmt_map_piece(segs, &span, k, off, r[j][1], &pc);

            assert_int_equal(s3_objfmt_dec_new(&d, t_dek, (uint32_t) k + 1,
                                               hdr[k], pc.hdr_in_stream,
                                               pc.off, pc.len),
                             S3_OBJFMT_OK);
            assert_int_equal(s3_objfmt_dec_span(d, &so, &sl), S3_OBJFMT_OK);

            /* the pieces tile the fetched bytes exactly */
            assert_int_equal(segs[k].stored_off + so, at);

            assert_int_equal(feed_dec(d, st + at, (size_t) sl, out + got,
                                      (size_t) (total - got), 1000, 500,
                                      rnd(&seed), &n), S3_OBJFMT_OK);
            assert_int_equal(n, pc.len);
            at += (size_t) sl;
            got += n;
            s3_objfmt_dec_free(d);
        }

        assert_int_equal(at, span.stored_off + span.stored_len);
        assert_int_equal(got, len);
        assert_memory_equal(out, pt + off, len);
    }

    /* outside the object */
    assert_int_equal(s3_objfmt_map_range(segs, 6, total, 1, &span),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_map_range(segs, 6, 0, 0, &span),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_map_range(segs, 0, 0, 1, &span),
                     S3_OBJFMT_ERR_ARGS);

    for (i = 0; i < 6; i++) {
        free(seg[i]);
    }
    free(out);
    free(st);
    free(pt);
}


/* ---- sizes ---------------------------------------------------------------------- */

static void
test_sizes_and_the_5_gib_limit(void **state)
{
    unsigned  k;
    uint64_t  m, s, L, F, n;

    assert_int_equal(s3_objfmt_frames(0, 12), 1);
    assert_int_equal(s3_objfmt_frames(1, 12), 1);
    assert_int_equal(s3_objfmt_frames(F12, 12), 1);
    assert_int_equal(s3_objfmt_frames(F12 + 1, 12), 2);
    assert_int_equal(s3_objfmt_stored_len(0, 16), 88);
    assert_int_equal(s3_objfmt_stored_len(F16, 16), 72 + F16 + 16);
    assert_int_equal(s3_objfmt_stored_len(F16 + 1, 16), 72 + F16 + 1 + 32);
    assert_int_equal(s3_objfmt_stored_len(1, 11), UINT64_MAX);
    assert_int_equal(s3_objfmt_stored_len(S3_OBJFMT_LEN_MAX + 1, 16),
                     UINT64_MAX);

    for (k = 12; k <= 24; k++) {
        m = s3_objfmt_max_len(S3_OBJFMT_STORED_MAX, k);
        assert_true(s3_objfmt_stored_len(m, k) <= S3_OBJFMT_STORED_MAX);
        assert_true(s3_objfmt_stored_len(m + 1, k) > S3_OBJFMT_STORED_MAX);
        assert_int_equal(s3_objfmt_check_len(m, k), S3_OK);
        assert_int_equal(s3_objfmt_check_len(m + 1, k),
                         S3_ERR_ENTITY_TOO_LARGE);
    }

    /* small limits against a brute-force search, k = 12 */

    F = F12;
    L = 0;
    for (s = 88; s < 88 + 3 * (F + 16) + 40; s++) {
        for ( ;; ) {
            n = (L + F) / F;                    /* frames of L + 1 */
            if (72 + (L + 1) + 16 * n > s) {
                break;
            }
            L++;
        }
        assert_int_equal(s3_objfmt_max_len(s, 12), L);
    }

    assert_int_equal(s3_objfmt_check_len(0, 16), S3_OK);
    assert_int_equal(s3_objfmt_check_len(S3_OBJFMT_STORED_MAX, 16),
                     S3_ERR_ENTITY_TOO_LARGE);
}


/* ---- header ---------------------------------------------------------------------- */

static void
test_header_parse_tells_more_input_from_malformed(void **state)
{
    size_t           i, slen;
    unsigned char   *pt, *st, buf[72];
    s3_objfmt_hdr_t  h, h2;

    pt = pattern(10);
    st = ref_segment(t_dek, t_salt, 10, 77, 14, pt, &slen);

    for (i = 0; i < 72; i++) {
        assert_int_equal(s3_objfmt_hdr_parse(st, i, &h), S3_OBJFMT_AGAIN);
    }

    assert_int_equal(s3_objfmt_hdr_parse(st, 72, &h), S3_OBJFMT_OK);
    assert_int_equal(h.len, 10);
    assert_int_equal(h.part, 77);
    assert_int_equal(h.log2f, 14);
    assert_memory_equal(h.salt, t_salt, 16);
    assert_memory_equal(h.commit, st + 40, 32);

    s3_objfmt_hdr_write(&h, buf);
    assert_memory_equal(buf, st, 72);

    /* malformed bytes are told as soon as they are there */

    assert_int_equal(s3_objfmt_hdr_parse((const unsigned char *) "X", 1, &h2),
                     S3_OBJFMT_ERR_MAGIC);
    assert_int_equal(s3_objfmt_hdr_parse((const unsigned char *) "SSEX", 4,
                                         &h2), S3_OBJFMT_ERR_MAGIC);
    memcpy(buf, st, 72);
    buf[4] = 2;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 5, &h2),
                     S3_OBJFMT_ERR_VERSION);
    buf[4] = 1;
    buf[5] = 2;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 6, &h2),
                     S3_OBJFMT_ERR_ALGORITHM);
    buf[5] = 1;
    buf[6] = 25;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 7, &h2), S3_OBJFMT_ERR_HEADER);
    buf[6] = 11;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 72, &h2), S3_OBJFMT_ERR_HEADER);
    buf[6] = 24;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 72, &h2), S3_OBJFMT_OK);
    buf[22] = 1;
    assert_int_equal(s3_objfmt_hdr_parse(buf, 23, &h2), S3_OBJFMT_ERR_HEADER);
    buf[22] = 0;
    put_be(buf + 16, 10001, 4);
    assert_int_equal(s3_objfmt_hdr_parse(buf, 20, &h2), S3_OBJFMT_ERR_HEADER);
    put_be(buf + 16, 10000, 4);
    put_be(buf + 8, S3_OBJFMT_LEN_MAX + 1, 8);
    assert_int_equal(s3_objfmt_hdr_parse(buf, 16, &h2), S3_OBJFMT_ERR_HEADER);
    put_be(buf + 8, S3_OBJFMT_LEN_MAX, 8);
    assert_int_equal(s3_objfmt_hdr_parse(buf, 72, &h2), S3_OBJFMT_OK);

    free(st);
    free(pt);
}


/* ---- keys ----------------------------------------------------------------------- */

static void
test_object_key_derivation(void **state)
{
    int             i;
    const char     *arn = "arn:aws:s3:::my-bucket/photos/\xc3\xa9t\xc3\xa9.jpg";
    unsigned char   bk[32], salt[16], got[32], want[32], info[256];
    char           *longarn;

    for (i = 0; i < 32; i++) {
        bk[i] = (unsigned char) (0x40 + i);
    }
    for (i = 0; i < 16; i++) {
        salt[i] = (unsigned char) (0x60 + i);
    }

    assert_int_equal(s3_objfmt_object_key(bk, salt, arn, strlen(arn), got),
                     S3_OBJFMT_OK);

    /* reference implementation */
    unhex_all("f8832134bf3217124845d4290b3fe01eab57227567b0ec50d5689390f880"
              "ba23", want, 32);
    assert_memory_equal(got, want, 32);

    /* the formula, here */
    memcpy(info, "SSEK1 object", 12);
    memcpy(info + 12, arn, strlen(arn));
    assert_int_equal(kms_hkdf_sha256(bk, 32, salt, 16, info,
                                     12 + strlen(arn), want, 32), 0);
    assert_memory_equal(got, want, 32);

    /* another object of the bucket gets another key */
    assert_int_equal(s3_objfmt_object_key(bk, salt, arn, strlen(arn) - 1,
                                          want), S3_OBJFMT_OK);
    assert_memory_not_equal(got, want, 32);

    longarn = malloc(S3_OBJFMT_ARN_MAX + 1);
    memset(longarn, 'a', S3_OBJFMT_ARN_MAX + 1);
    assert_int_equal(s3_objfmt_object_key(bk, salt, longarn,
                                          S3_OBJFMT_ARN_MAX + 1, got),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_object_key(bk, salt, longarn,
                                          S3_OBJFMT_ARN_MAX, got),
                     S3_OBJFMT_OK);
    free(longarn);
}


static void
test_manifest_mac(void **state)
{
    int              i;
    const char      *arn = "arn:aws:s3:::bkt/big.bin", *id = "VXBsb2FkIElE";
    unsigned char    mac[32], want[32], key[32], data[200], *p;
    s3_objfmt_hdr_t  parts[3], swapped[2];

    memset(parts, 0, sizeof(parts));
    parts[0].part = 1;
    parts[0].len = 5 * 1024 * 1024;
    parts[1].part = 2;
    parts[1].len = 1234;
    for (i = 0; i < 16; i++) {
        parts[0].salt[i] = (unsigned char) (0x10 + i);
        parts[1].salt[i] = (unsigned char) (0x20 + i);
    }

    assert_int_equal(s3_objfmt_manifest_mac(t_dek, arn, strlen(arn), id,
                                            strlen(id), parts, 2, mac),
                     S3_OBJFMT_OK);

    /* reference implementation */
    unhex_all("27fa967fdb8888ffc0a5f97b2628c2310bcf1e5d28a52d1ef2595a20ce2a"
              "15e6", want, 32);
    assert_memory_equal(mac, want, 32);

    /* the formula, here */
    assert_int_equal(kms_hkdf_sha256(t_dek, 32, NULL, 0, "SSEK1 manifest",
                                     14, key, 32), 0);
    p = data;
    memcpy(p, arn, strlen(arn));
    p += strlen(arn);
    *p++ = 0;
    memcpy(p, id, strlen(id));
    p += strlen(id);
    *p++ = 0;
    for (i = 0; i < 2; i++) {
        put_be(p, parts[i].part, 4);
        memcpy(p + 4, parts[i].salt, 16);
        put_be(p + 20, parts[i].len, 8);
        p += 28;
    }
    assert_int_equal(kms_hmac_sha256(key, 32, data, (size_t) (p - data),
                                     want), 0);
    assert_memory_equal(mac, want, 32);

    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), parts, 2, mac),
                     S3_OBJFMT_OK);

    /* reordered, dropped, added, replaced by an older upload, resized */

    swapped[0] = parts[1];
    swapped[1] = parts[0];
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), swapped, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), parts, 1, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    parts[2] = parts[1];
    parts[2].part = 3;
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), parts, 3, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    parts[1].salt[0] ^= 1;
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), parts, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    parts[1].salt[0] ^= 1;
    parts[1].len++;
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id), parts, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    parts[1].len--;

    /* another object, another upload, another key */
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn) - 1,
                                               id, strlen(id), parts, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    assert_int_equal(s3_objfmt_manifest_verify(t_dek, arn, strlen(arn), id,
                                               strlen(id) - 1, parts, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);
    key[0] = t_dek[0] ^ 1;
    memcpy(key + 1, t_dek + 1, 31);
    assert_int_equal(s3_objfmt_manifest_verify(key, arn, strlen(arn), id,
                                               strlen(id), parts, 2, mac),
                     S3_OBJFMT_ERR_MANIFEST);

    /* a NUL inside would make the encoding ambiguous */
    assert_int_equal(s3_objfmt_manifest_mac(t_dek, "a\0b", 3, id, strlen(id),
                                            parts, 2, mac),
                     S3_OBJFMT_ERR_ARGS);
    assert_int_equal(s3_objfmt_manifest_mac(t_dek, arn, strlen(arn), id,
                                            strlen(id), parts, 0, mac),
                     S3_OBJFMT_ERR_ARGS);
}


static void
test_error_strings_are_distinct(void **state)
{
    int  i, j;

    for (i = 0; i < S3_OBJFMT_RC_MAX; i++) {
        assert_true(strlen(s3_objfmt_strerror(i)) > 0);
        for (j = 0; j < i; j++) {
            assert_string_not_equal(s3_objfmt_strerror(i),
                                    s3_objfmt_strerror(j));
        }
    }

    assert_string_equal(s3_objfmt_strerror(S3_OBJFMT_RC_MAX),
                        "unknown error");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        UNIT_GCM_TEST(test_segments_match_reference_known_answers),
        UNIT_GCM_TEST(test_encryptor_matches_hand_built_segments),
        UNIT_GCM_TEST(test_encryptor_holds_final_frame_until_release),
        UNIT_GCM_TEST(test_encryptor_refuses_more_or_fewer_bytes_than_L),
        UNIT_GCM_TEST(test_encryptor_rejects_bad_parameters),
        UNIT_GCM_TEST(test_random_salts_differ_and_decrypt),
        UNIT_GCM_TEST(test_roundtrip_in_random_splits),
        UNIT_GCM_TEST(test_in_place_units_decrypt_whole_and_ranges),
        UNIT_GCM_TEST(test_fed_units_decrypt_without_gathering),
        UNIT_GCM_TEST(test_decryptor_refuses_every_truncation),
        UNIT_GCM_TEST(test_decryptor_refuses_every_header_bit_flip),
        UNIT_GCM_TEST(test_decryptor_refuses_every_frame_bit_flip),
        UNIT_GCM_TEST(
            test_decryptor_refuses_reordered_foreign_and_extra_frames),
        UNIT_GCM_TEST(test_decryptor_tells_wrong_key_and_wrong_part),
        UNIT_GCM_TEST(test_decryptor_rejects_bad_parameters),
        UNIT_GCM_TEST(test_range_decrypt_at_frame_edges),
        UNIT_GCM_TEST(test_range_header_forms),
        UNIT_GCM_TEST(test_segment_span_at_frame_edges),
        UNIT_GCM_TEST(test_multipart_ranges_map_and_decrypt),
        UNIT_GCM_TEST(test_sizes_and_the_5_gib_limit),
        UNIT_GCM_TEST(test_header_parse_tells_more_input_from_malformed),
        UNIT_GCM_TEST(test_object_key_derivation),
        UNIT_GCM_TEST(test_manifest_mac),
        UNIT_GCM_TEST(test_error_strings_are_distinct),
    };

    fixtures();

    return UNIT_RUN(tests);
}
