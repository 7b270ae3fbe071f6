/*
 * The reusable crypto handles of kms_crypto.h against the one-shot
 * functions (which the Wycheproof vectors prove) and against RFC vectors:
 * HMAC with precomputed key states and on a reused context, HKDF on a
 * handle, SHA-256 on a reused context, one GCM handle for message after
 * message (keys, directions and IV lengths changing), and the random
 * pools: distinct bytes, refills, and a forked child that never hands out
 * its parent's bytes.
 */

#include "unit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

#include "kms_crypto.h"


static void
fill(unsigned char *p, size_t n, unsigned seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char) (seed >> 16);
    }
}


static void
hmac_handle_matches_rfc4231(void **state)
{
    kms_hmac_t     *h;
    kms_iov_t       iov[2];
    unsigned char   out[32], want[32];

    /* RFC 4231, test case 2 */
    assert_int_equal(unit_unhex("5bdcc146bf60754e6a042426089575c7"
                                "5a003f089d2739839dec58b964ec3843", want,
                                sizeof(want)), 32);

    h = kms_hmac_new();
    assert_non_null(h);

    /* no key yet: refused */
    iov[0].base = "x";
    iov[0].len = 1;
    assert_int_equal(kms_hmac_mac(h, iov, 1, out), -1);

    assert_int_equal(kms_hmac_set_key(h, "Jefe", 4), 0);

    iov[0].base = "what do ya want ";
    iov[0].len = 16;
    iov[1].base = "for nothing?";
    iov[1].len = 12;

    /* twice: the key states are copied, never consumed */
    assert_int_equal(kms_hmac_mac(h, iov, 2, out), 0);
    assert_memory_equal(out, want, 32);
    assert_int_equal(kms_hmac_mac(h, iov, 2, out), 0);
    assert_memory_equal(out, want, 32);

    memset(out, 0, sizeof(out));
    assert_int_equal(kms_hmac_once(h, "Jefe", 4, iov, 2, out), 0);
    assert_memory_equal(out, want, 32);

    /* once() leaves the key that was set */
    assert_int_equal(kms_hmac_mac(h, iov, 2, out), 0);
    assert_memory_equal(out, want, 32);

    kms_hmac_free(h);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
hmac_handle_matches_one_shot(void **state)
{
    static const size_t  klens[] = { 0, 1, 31, 32, 63, 64, 65, 100, 200 };
    static const size_t  mlens[] = { 0, 1, 55, 56, 63, 64, 65, 200, 1000 };
    kms_hmac_t          *h;
    kms_iov_t            iov[3];
    size_t               ki, mi, cut1, cut2;
    unsigned char        key[200], msg[1000], a[32], b[32], c[32];

    h = kms_hmac_new();
    assert_non_null(h);

    for (ki = 0; ki < sizeof(klens) / sizeof(klens[0]); ki++) {
        fill(key, sizeof(key), (unsigned) ki + 1);
        assert_int_equal(kms_hmac_set_key(h, key, klens[ki]), 0);

        for (mi = 0; mi < sizeof(mlens) / sizeof(mlens[0]); mi++) {
            fill(msg, sizeof(msg), (unsigned) (100 + mi));
            cut1 = mlens[mi] / 3;
            cut2 = mlens[mi] - mlens[mi] / 4;

            iov[0].base = msg;
            iov[0].len = cut1;
            iov[1].base = msg + cut1;
            iov[1].len = cut2 - cut1;
            iov[2].base = msg + cut2;
            iov[2].len = mlens[mi] - cut2;

            assert_int_equal(kms_hmac_sha256(key, klens[ki], msg, mlens[mi],
                                             a), 0);
            assert_int_equal(kms_hmac_mac(h, iov, 3, b), 0);
            assert_memory_equal(a, b, 32);

            /* a key used once, on the same handle */
            assert_int_equal(kms_hmac_once(h, msg, mlens[mi] % 90, iov, 3,
                                           c), 0);
            assert_int_equal(kms_hmac_sha256(msg, mlens[mi] % 90, msg,
                                             mlens[mi], b), 0);
            assert_memory_equal(b, c, 32);
        }

        /* and the key set before is still the one used */
        assert_int_equal(kms_hmac_mac(h, iov, 3, b), 0);
        assert_int_equal(kms_hmac_sha256(key, klens[ki], msg, 1000, a), 0);
        assert_memory_equal(a, b, 32);
    }

    /* another key changes the MAC */
    key[0] ^= 1;
    assert_int_equal(kms_hmac_set_key(h, key, 32), 0);
    assert_int_equal(kms_hmac_mac(h, iov, 3, c), 0);
    assert_memory_not_equal(b, c, 32);

    kms_hmac_free(h);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
hkdf_handle_matches_rfc5869(void **state)
{
    kms_hmac_t     *h;
    size_t          n;
    unsigned char   ikm[22], salt[13], info[10], want[42], out[255 * 32];
    unsigned char   ref[255 * 32];

    /* RFC 5869, test case 1 */
    memset(ikm, 0x0b, sizeof(ikm));
    assert_int_equal(unit_unhex("000102030405060708090a0b0c", salt,
                                sizeof(salt)), 13);
    assert_int_equal(unit_unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info)),
                     10);
    assert_int_equal(unit_unhex("3cb25f25faacd57a90434f64d0362f2a"
                                "2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                                "34007208d5b887185865", want, sizeof(want)),
                     42);

    h = kms_hmac_new();
    assert_non_null(h);
    assert_int_equal(kms_hmac_set_key(h, "kept", 4), 0);

    assert_int_equal(kms_hkdf_sha256_h(h, ikm, sizeof(ikm), salt,
                                       sizeof(salt), info, sizeof(info), out,
                                       42), 0);
    assert_memory_equal(out, want, 42);

    for (n = 1; n <= sizeof(out); n = n * 3 + 1) {
        assert_int_equal(kms_hkdf_sha256_h(h, ikm, sizeof(ikm), NULL, 0,
                                           info, sizeof(info), out, n), 0);
        assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, info,
                                         sizeof(info), ref, n), 0);
        assert_memory_equal(out, ref, n);
    }

    assert_int_equal(kms_hkdf_sha256_h(h, ikm, sizeof(ikm), NULL, 0, info,
                                       sizeof(info), out, 255 * 32 + 1), -1);

    /* HKDF on the handle's context left its key alone */
    {
        kms_iov_t  iov = { "x", 1 };

        assert_int_equal(kms_hmac_mac(h, &iov, 1, out), 0);
        assert_int_equal(kms_hmac_sha256("kept", 4, "x", 1, ref), 0);
        assert_memory_equal(out, ref, 32);
    }

    kms_hmac_free(h);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
sha256_digest_reuses_context(void **state)
{
    kms_sha256_t   *s;
    unsigned char   out[32], want[32], big[3000];
    size_t          n;

    assert_int_equal(unit_unhex("ba7816bf8f01cfea414140de5dae2223"
                                "b00361a396177a9cb410ff61f20015ad", want,
                                sizeof(want)), 32);

    s = kms_sha256_new();
    assert_non_null(s);

    /* a digest left half done does not leak into the next one */
    assert_int_equal(kms_sha256_update(s, "junk", 4), 0);
    assert_int_equal(kms_sha256_digest(s, "abc", 3, out), 0);
    assert_memory_equal(out, want, 32);

    fill(big, sizeof(big), 7);
    for (n = 0; n <= sizeof(big); n += 499) {
        assert_int_equal(kms_sha256_digest(s, big, n, out), 0);
        assert_int_equal(kms_sha256(big, n, want), 0);
        assert_memory_equal(out, want, 32);
    }

    kms_sha256_free(s);
    assert_int_equal(ERR_peek_error(), 0);
}


/* one message on the handle, compared with the one-shot functions */
static void
gcm_one(kms_gcm_t *g, unsigned seed, size_t ivlen, size_t len, int flip)
{
    unsigned char  key[32], iv[64], aad[40], pt[300], ct[300], out[300];
    unsigned char  tag[16], tag2[16];

    fill(key, sizeof(key), seed);
    fill(iv, sizeof(iv), seed + 1);
    fill(aad, sizeof(aad), seed + 2);
    fill(pt, sizeof(pt), seed + 3);

    assert_int_equal(kms_gcm_encrypt(key, iv, ivlen, aad, sizeof(aad), pt,
                                     len, ct, tag), 0);

    assert_int_equal(kms_gcm_start(g, 1, key, iv, ivlen), 0);
    assert_int_equal(kms_gcm_aad(g, aad, sizeof(aad)), 0);
    assert_int_equal(kms_gcm_update(g, pt, len, out), 0);
    assert_int_equal(kms_gcm_finish(g, tag2), 0);
    assert_memory_equal(out, ct, len);
    assert_memory_equal(tag, tag2, 16);

    if (flip) {
        tag[seed % 16] ^= 0x40;
    }

    assert_int_equal(kms_gcm_start(g, 0, key, iv, ivlen), 0);
    assert_int_equal(kms_gcm_aad(g, aad, sizeof(aad)), 0);
    assert_int_equal(kms_gcm_update(g, ct, len, out), 0);
    assert_int_equal(kms_gcm_finish(g, tag), flip ? -1 : 0);

    if (!flip) {
        assert_memory_equal(out, pt, len);
    }

    assert_int_equal(ERR_peek_error(), 0);
}


/* one message on g, its updates cut at pseudo-random points */
static void
gcm_split(kms_gcm_t *g, int enc, const unsigned char *key,
    const unsigned char *iv, const unsigned char *aad, size_t alen,
    const unsigned char *in, size_t len, unsigned char *out,
    unsigned char tag[16], int rc, unsigned seed)
{
    size_t  off = 0, n;

    assert_int_equal(kms_gcm_start(g, enc, key, iv, 12), 0);
    assert_int_equal(kms_gcm_aad(g, aad, alen), 0);

    while (off < len) {
        seed = seed * 1103515245 + 12345;
        n = (seed >> 8) % 7000 + 1;
        n = n > len - off ? len - off : n;
        assert_int_equal(kms_gcm_update(g, in + off, n, out + off), 0);
        off += n;
    }

    assert_int_equal(kms_gcm_finish(g, tag), rc);
}


/*
 * OpenSSL's AES-GCM and ipsec-mb's give the same ciphertext and tag for
 * the same message, whatever the cut of the updates; each opens the
 * other's messages, in place; a flipped bit fails both.
 */
static void
gcm_implementations_agree_in_any_split(void **state)
{
#ifdef KMS_HAVE_IPSEC_MB
    size_t          len, alen, i;
    kms_gcm_t      *o, *m;
    unsigned char   key[32], iv[12], aad[64], t1[16], t2[16];
    unsigned char  *pt, *c1, *c2;
    static const size_t  lens[] = { 0, 1, 15, 16, 17, 255, 256, 257, 4095,
                                    65536, 65552, 200003 };

    assert_int_equal(kms_gcm_use("openssl"), 0);
    o = kms_gcm_new();
    assert_int_equal(kms_gcm_use("ipsec-mb"), 0);
    m = kms_gcm_new();
    assert_non_null(o);
    assert_non_null(m);

    pt = malloc(200003);
    c1 = malloc(200003);
    c2 = malloc(200003);

    for (i = 0; i < 36; i++) {
        len = i < 12 ? lens[i] : (i * 7919u) % 200003;
        alen = i % 3 == 0 ? 0 : (i * 13) % 64 + 1;

        fill(key, sizeof(key), i * 5);
        fill(iv, sizeof(iv), i * 5 + 1);
        fill(aad, sizeof(aad), i * 5 + 2);
        fill(pt, len, i * 5 + 3);

        gcm_split(o, 1, key, iv, aad, alen, pt, len, c1, t1, 0, i);
        gcm_split(m, 1, key, iv, aad, alen, pt, len, c2, t2, 0, i * 3 + 1);
        assert_memory_equal(c1, c2, len);
        assert_memory_equal(t1, t2, 16);

        /* each opens the other's, in place */
        gcm_split(m, 0, key, iv, aad, alen, c1, len, c1, t1, 0, i + 7);
        assert_memory_equal(c1, pt, len);
        gcm_split(o, 0, key, iv, aad, alen, c2, len, c2, t2, 0, i + 9);
        assert_memory_equal(c2, pt, len);

        /* a bit flipped in the ciphertext, or in the tag */
        gcm_split(o, 1, key, iv, aad, alen, pt, len, c1, t1, 0, i);
        memcpy(c2, c1, len);
        memcpy(t2, t1, 16);

        if (len) {
            c1[(i * 31) % len] ^= 0x10;
        } else {
            t1[i % 16] ^= 0x01;
        }

        t2[(i + 3) % 16] ^= 0x80;
        gcm_split(m, 0, key, iv, aad, alen, c1, len, c1, t1, -1, i);
        gcm_split(o, 0, key, iv, aad, alen, c2, len, c2, t2, -1, i);
    }

    /* ipsec-mb takes one AAD per message, before the data: no more */
    fill(key, sizeof(key), 99);
    assert_int_equal(kms_gcm_start(m, 1, key, iv, 12), 0);
    assert_int_equal(kms_gcm_aad(m, aad, 8), 0);
    assert_int_equal(kms_gcm_aad(m, aad, 8), -1);
    assert_int_equal(kms_gcm_start(m, 1, NULL, iv, 12), 0);
    assert_int_equal(kms_gcm_update(m, pt, 16, c1), 0);
    assert_int_equal(kms_gcm_aad(m, aad, 8), -1);

    /* and, like OpenSSL's, IVs of 1 to 128 bytes */
    assert_int_equal(kms_gcm_start(m, 1, NULL, pt, 129), -1);
    assert_int_equal(kms_gcm_start(m, 1, NULL, pt, 0), -1);

    free(pt);
    free(c1);
    free(c2);
    kms_gcm_free(o);
    kms_gcm_free(m);
    assert_int_equal(ERR_peek_error(), 0);
    print_message("# AES-GCM: openssl and ipsec-mb agree on 36 messages\n");
#else
    skip();
#endif
}


static void
gcm_handle_serves_message_after_message(void **state)
{
    kms_gcm_t      *g;
    unsigned        i;
    unsigned char   key[32], iv[12], pt[64], ct[64], tag[16], out[64];

    g = kms_gcm_new();
    assert_non_null(g);

    for (i = 0; i < 40; i++) {
        gcm_one(g, i * 10, i % 5 == 3 ? 16 : i % 7 == 5 ? 8 : 12,
                (i * 37) % 300, i % 4 == 1);
    }

    /* a key kept (NULL) across a new IV, as the object format's frames */
    fill(key, sizeof(key), 1);
    fill(pt, sizeof(pt), 2);
    memset(iv, 0, sizeof(iv));
    iv[11] = 1;
    assert_int_equal(kms_gcm_encrypt(key, iv, 12, NULL, 0, pt, 64, ct, tag),
                     0);

    iv[11] = 0;
    assert_int_equal(kms_gcm_start(g, 1, key, iv, 12), 0);
    assert_int_equal(kms_gcm_update(g, pt, 64, out), 0);
    assert_int_equal(kms_gcm_finish(g, out), 0);

    iv[11] = 1;
    assert_int_equal(kms_gcm_start(g, 0, NULL, iv, 12), 0);
    assert_int_equal(kms_gcm_update(g, ct, 64, out), 0);
    assert_int_equal(kms_gcm_finish(g, tag), 0);
    assert_memory_equal(out, pt, 64);

    kms_gcm_free(g);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
rpool_draws(int flags)
{
    kms_rpool_t    *p;
    size_t          i, n, total;
    unsigned char   a[600], b[600], zero[600];

    memset(zero, 0, sizeof(zero));

    assert_null(kms_rpool_new(10, flags));

    p = kms_rpool_new(4096, flags);
    assert_non_null(p);

    assert_int_equal(kms_rpool_bytes(p, a, 0), 0);

    /* across several refills, no two draws alike */
    memset(b, 0, sizeof(b));
    for (total = 0, i = 0; total < 3 * 4096; i++) {
        n = 16 + (i * 7) % 48;
        assert_int_equal(kms_rpool_bytes(p, a, n), 0);
        assert_memory_not_equal(a, b, n);
        assert_memory_not_equal(a, zero, n);
        memcpy(b, a, n);
        total += n;
    }

    /* over size/8: straight from the DRBG */
    assert_int_equal(kms_rpool_bytes(p, a, sizeof(a)), 0);
    assert_int_equal(kms_rpool_bytes(p, b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));

    kms_rpool_free(p);
    kms_rpool_free(NULL);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
rpool_public_and_secret_draw_fresh_bytes(void **state)
{
    rpool_draws(KMS_RPOOL_PUBLIC);
    rpool_draws(KMS_RPOOL_SECRET);
}


/*
 * A filled pool, then fork(): the child's next bytes must not be the
 * parent's next bytes (a copied pool would hand out the same ones).
 */
static void
rpool_fork(int flags)
{
    int             fds[2], status;
    pid_t           pid;
    kms_rpool_t    *p;
    unsigned char   mine[32], child[32], first[16];

    p = kms_rpool_new(4096, flags);
    assert_non_null(p);
    assert_int_equal(kms_rpool_bytes(p, first, sizeof(first)), 0);

    assert_int_equal(pipe(fds), 0);

    pid = fork();
    assert_true(pid >= 0);

    if (pid == 0) {
        close(fds[0]);
        if (kms_rpool_bytes(p, child, sizeof(child)) != 0
            || write(fds[1], child, sizeof(child)) != (ssize_t) sizeof(child))
        {
            _exit(1);
        }
        _exit(0);
    }

    close(fds[1]);
    assert_int_equal(read(fds[0], child, sizeof(child)),
                     (ssize_t) sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    assert_int_equal(kms_rpool_bytes(p, mine, sizeof(mine)), 0);
    assert_memory_not_equal(mine, child, sizeof(mine));

    kms_rpool_free(p);
}


static void
rpool_child_never_hands_out_parent_bytes(void **state)
{
    rpool_fork(KMS_RPOOL_PUBLIC);
    rpool_fork(KMS_RPOOL_SECRET);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(hmac_handle_matches_rfc4231),
        cmocka_unit_test(hmac_handle_matches_one_shot),
        cmocka_unit_test(hkdf_handle_matches_rfc5869),
        cmocka_unit_test(sha256_digest_reuses_context),
        UNIT_GCM_TEST(gcm_handle_serves_message_after_message),
        cmocka_unit_test(gcm_implementations_agree_in_any_split),
        cmocka_unit_test(rpool_public_and_secret_draw_fresh_bytes),
        cmocka_unit_test(rpool_child_never_hands_out_parent_bytes),
    };

    return UNIT_RUN(tests);
}
