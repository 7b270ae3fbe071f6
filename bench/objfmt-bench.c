/*
 * Throughput of the object format (s3/s3_objfmt.c) against raw OpenSSL
 * EVP AES-256-GCM on the same buffers, in the same run.
 *
 *   cc -std=gnu11 -O2 -Ikms_core -Is3 -o build/objfmt-bench \
 *      bench/objfmt-bench.c s3/s3_objfmt.c s3/s3_err.c kms_core/kms_crypto.c \
 *      -lcrypto
 *   build/objfmt-bench [MiB] [log2 F]        (defaults: 256, 16)
 *
 * Baselines:
 *   raw stream   one EVP context, EVP_EncryptUpdate in F-sized calls, no
 *                per-frame IV or tag: what `openssl speed -evp` measures,
 *                the upper bound of any GCM code.
 *   raw frames   per frame: new IV, AAD, update, tag: the least work any
 *                framed AEAD format does.
 * Ours: one big call, then pieces of 16 KiB in and out (network-sized
 * buffers), then in-place units for decryption.  All variants run
 * round-robin and each keeps its best round; MB/s = 10^6 bytes of
 * plaintext per second; ratio = against the raw stream baseline.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "s3_objfmt.h"


#define BENCH_ROUNDS  7
#define BENCH_PIECE  16384


typedef struct {
    unsigned char  *pt;
    unsigned char  *st;
    unsigned char  *out;
    size_t          len;
    size_t          stored;
    unsigned        log2f;
    unsigned char   dek[32];
    unsigned char   salt[16];
    unsigned char   hdr[72];
} bench_t;


typedef int (*bench_fn)(bench_t *b);


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static double
bench_time(bench_t *b, bench_fn fn)
{
    double  t;

    t = bench_now();

    if (fn(b) != 0) {
        fprintf(stderr, "objfmt-bench: run failed\n");
        exit(1);
    }

    return bench_now() - t;
}


/* ---- raw EVP ---------------------------------------------------------------- */

static EVP_CIPHER  *bench_gcm;


static int
bench_raw(bench_t *b, int enc, int framed)
{
    int              ok, outl;
    size_t           at, F = (size_t) 1 << b->log2f, n;
    EVP_CIPHER_CTX  *ctx;
    unsigned char    iv[12], tag[16], aad[81];

    memset(iv, 0, sizeof(iv));
    memset(aad, 0, sizeof(aad));

    ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL
         && EVP_CipherInit_ex2(ctx, bench_gcm, b->dek, iv, enc, NULL);

    for (at = 0; ok && at < b->len; at += n) {
        n = b->len - at < F ? b->len - at : F;

        if (framed) {
            iv[11] = (unsigned char) (at >> b->log2f);
            ok = EVP_CipherInit_ex2(ctx, NULL, NULL, iv, enc, NULL)
                 && EVP_CipherUpdate(ctx, NULL, &outl, aad, sizeof(aad));
        }

        ok = ok && EVP_CipherUpdate(ctx, b->out + at, &outl,
                                    enc ? b->pt + at : b->st + at, (int) n);

        if (framed && enc) {
            ok = ok && EVP_CipherFinal_ex(ctx, tag, &outl)
                 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
        }

        /* raw decryption cannot check a tag it has not got: it is skipped */
    }

    EVP_CIPHER_CTX_free(ctx);

    return ok ? 0 : -1;
}


static int bench_raw_stream_enc(bench_t *b) { return bench_raw(b, 1, 0); }
static int bench_raw_frames_enc(bench_t *b) { return bench_raw(b, 1, 1); }
static int bench_raw_stream_dec(bench_t *b) { return bench_raw(b, 0, 0); }


/* ---- ours ------------------------------------------------------------------- */

static int
bench_encrypt(bench_t *b, size_t piece)
{
    size_t            ip, op, c, w, ni, no;
    s3_objfmt_rc_t    rc;
    s3_objfmt_enc_t  *e;

    if (s3_objfmt_enc_new(&e, b->dek, b->len, 0, b->log2f, b->salt)
        != S3_OBJFMT_OK)
    {
        return -1;
    }

    ip = 0;
    op = 0;

    for ( ;; ) {
        ni = b->len - ip;
        no = b->stored - op;
        if (piece) {
            ni = ni < piece ? ni : piece;
            no = no < piece ? no : piece;
        }

        rc = s3_objfmt_enc_process(e, ni ? b->pt + ip : NULL, ni, &c,
                                   b->st + op, no, &w);
        ip += c;
        op += w;

        if (rc == S3_OBJFMT_HELD) {
            if (s3_objfmt_enc_release(e) != S3_OBJFMT_OK) {
                break;
            }
            continue;
        }

        if (rc != S3_OBJFMT_AGAIN) {
            break;
        }
    }

    memcpy(b->hdr, s3_objfmt_enc_header(e), 72);
    s3_objfmt_enc_free(e);

    return rc == S3_OBJFMT_OK && op == b->stored ? 0 : -1;
}


static int bench_enc_whole(bench_t *b) { return bench_encrypt(b, 0); }
static int bench_enc_pieces(bench_t *b) { return bench_encrypt(b, BENCH_PIECE); }


static int
bench_decrypt(bench_t *b, size_t piece)
{
    size_t            ip, op, c, w, ni, no, n;
    s3_objfmt_rc_t    rc;
    s3_objfmt_dec_t  *d;

    if (s3_objfmt_dec_new(&d, b->dek, 0, b->hdr, 0, 0, S3_OBJFMT_TO_END)
        != S3_OBJFMT_OK)
    {
        return -1;
    }

    n = b->stored - 72;
    ip = 0;
    op = 0;

    do {
        ni = n - ip;
        no = b->len - op;
        if (piece) {
            ni = ni < piece ? ni : piece;
            no = no < piece ? no : piece;
        }

        rc = s3_objfmt_dec_process(d, b->st + 72 + ip, ni, &c, b->out + op,
                                   no, &w);
        ip += c;
        op += w;

    } while (rc == S3_OBJFMT_AGAIN && (c || w));

    s3_objfmt_dec_free(d);

    return rc == S3_OBJFMT_OK && op == b->len ? 0 : -1;
}


static int bench_dec_whole(bench_t *b) { return bench_decrypt(b, 0); }
static int bench_dec_pieces(bench_t *b) { return bench_decrypt(b, BENCH_PIECE); }


/* in place, frame by frame, in a copy of the stored bytes */
static int
bench_dec_units(bench_t *b)
{
    size_t            at, need, pos, plen, got;
    s3_objfmt_dec_t  *d;

    if (s3_objfmt_dec_new(&d, b->dek, 0, b->hdr, 0, 0, S3_OBJFMT_TO_END)
        != S3_OBJFMT_OK)
    {
        return -1;
    }

    at = 72;
    got = 0;

    while ((need = s3_objfmt_dec_unit_len(d)) != 0) {
        if (s3_objfmt_dec_unit(d, b->out + at, need, &pos, &plen)
            != S3_OBJFMT_OK)
        {
            break;
        }
        at += need;
        got += plen;
    }

    s3_objfmt_dec_free(d);

    return got == b->len ? 0 : -1;
}


/* the units run in place: each round gets a fresh copy, not timed */
static int
bench_dec_units_prepare(bench_t *b)
{
    memcpy(b->out, b->st, b->stored);
    return 0;
}


int
main(int argc, char **argv)
{
    int      r, j;
    size_t   i, mib;
    double   t, best[8];
    bench_t  b;

    static const struct {
        const char  *name;
        bench_fn     prepare;
        bench_fn     fn;
        int          base;          /* index of the baseline to compare to */
    } row[8] = {
        { "raw EVP encrypt, stream (openssl speed)", NULL,
          bench_raw_stream_enc, 0 },
        { "raw EVP encrypt, per-frame IV+AAD+tag", NULL,
          bench_raw_frames_enc, 0 },
        { "objfmt encrypt, one call", NULL, bench_enc_whole, 0 },
        { "objfmt encrypt, 16 KiB pieces", NULL, bench_enc_pieces, 0 },
        { "raw EVP decrypt, stream (no tags)", NULL,
          bench_raw_stream_dec, 4 },
        { "objfmt decrypt, one call", NULL, bench_dec_whole, 4 },
        { "objfmt decrypt, 16 KiB pieces", NULL, bench_dec_pieces, 4 },
        { "objfmt decrypt, in-place units", bench_dec_units_prepare,
          bench_dec_units, 4 },
    };

    mib = argc > 1 ? (size_t) atoi(argv[1]) : 256;
    b.log2f = argc > 2 ? (unsigned) atoi(argv[2]) : S3_OBJFMT_LOG2F_DEFAULT;
    b.len = mib << 20;
    b.stored = (size_t) s3_objfmt_stored_len(b.len, b.log2f);

    bench_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);

    b.pt = malloc(b.len);
    b.st = malloc(b.stored);
    b.out = malloc(b.stored);

    if (bench_gcm == NULL || b.pt == NULL || b.st == NULL || b.out == NULL
        || b.stored == (size_t) -1)
    {
        fprintf(stderr, "objfmt-bench: setup failed\n");
        return 1;
    }

    /* touch every page once so no run pays for faulting them in */

    for (i = 0; i < b.len; i++) {
        b.pt[i] = (unsigned char) (i * 131 + (i >> 13));
    }
    memset(b.out, 0, b.stored);
    memset(b.dek, 7, sizeof(b.dek));
    memset(b.salt, 9, sizeof(b.salt));

    /* the stored segment the decryptors read, and a round trip check */

    if (bench_enc_whole(&b) != 0 || bench_dec_whole(&b) != 0
        || memcmp(b.out, b.pt, b.len) != 0)
    {
        fprintf(stderr, "objfmt-bench: round trip failed\n");
        return 1;
    }

    printf("objfmt-bench: %zu MiB, F = 2^%u (%zu KiB frames), %s\n"
           "best of %d interleaved rounds\n", mib, b.log2f,
           ((size_t) 1 << b.log2f) >> 10, OpenSSL_version(OPENSSL_VERSION),
           BENCH_ROUNDS);

    /*
     * Round-robin, best of each: a busy moment on a shared machine slows
     * one run, not one variant.
     */

    for (j = 0; j < 8; j++) {
        best[j] = 1e30;
    }

    for (r = 0; r < BENCH_ROUNDS; r++) {
        for (j = 0; j < 8; j++) {
            if (row[j].prepare != NULL) {
                (void) row[j].prepare(&b);
            }
            t = bench_time(&b, row[j].fn);
            best[j] = t < best[j] ? t : best[j];
        }
    }

    printf("\n%-42s %8s %7s\n", "", "MB/s", "ratio");

    for (j = 0; j < 8; j++) {
        printf("%-42s %8.0f %7.2f\n", row[j].name, b.len / best[j] / 1e6,
               best[row[j].base] / best[j]);
    }

    EVP_CIPHER_free(bench_gcm);
    free(b.pt);
    free(b.st);
    free(b.out);

    return 0;
}
