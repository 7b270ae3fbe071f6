/*
 * Helpers shared by the unit tests (cmocka).  Header-only: each test is
 * one program, linked with kms_core/ and s3/.
 *
 * Vectors live in tests/vectors (copied from ../shared/vectors with their
 * licences); TEST_VECTORS is set by the Makefile.
 */

#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifndef TEST_VECTORS
#define TEST_VECTORS "tests/vectors"
#endif


/* Reads a whole file under tests/vectors; NUL-terminated; NULL if absent. */
static inline char *
unit_read_vector(const char *rel, size_t *lenp)
{
    char    path[1024];
    FILE   *f;
    char   *buf;
    long    n;

    snprintf(path, sizeof(path), "%s/%s", TEST_VECTORS, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    if (lenp) {
        *lenp = (size_t) n;
    }
    return buf;
}


/* Hex to bytes; returns the byte count or -1 on a bad digit / overflow. */
static inline long
unit_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t  i, n = strlen(hex);

    if (n % 2 || n / 2 > cap) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        unsigned  v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (unsigned char) v;
    }
    return (long) (n / 2);
}


static inline void
unit_hex(const unsigned char *in, size_t n, char *out)
{
    static const char  d[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}


/* Runs a cmocka group with TAP output, so prove can read every binary. */
/*
 * A test that uses AES-GCM, once per implementation this build has
 * (kms_gcm_use() in kms_core/kms_crypto.h): each run's setup picks one.
 */
int kms_gcm_use(const char *name);

static inline int
unit_gcm_openssl(void **state)
{
    return kms_gcm_use("openssl");
}

static inline int
unit_gcm_ipsec_mb(void **state)
{
    return kms_gcm_use("ipsec-mb");
}

#define UNIT_GCM_OPENSSL(f)  { #f " (openssl)", f, unit_gcm_openssl, NULL, NULL }

#ifdef KMS_HAVE_IPSEC_MB
#define UNIT_GCM_TEST(f)                                                    \
    UNIT_GCM_OPENSSL(f), { #f " (ipsec-mb)", f, unit_gcm_ipsec_mb, NULL, NULL }
#else
#define UNIT_GCM_TEST(f)  UNIT_GCM_OPENSSL(f)
#endif

#define UNIT_RUN(tests)                                                     \
    (setenv("CMOCKA_MESSAGE_OUTPUT", "TAP", 0),                             \
     cmocka_run_group_tests(tests, NULL, NULL))

#endif /* UNIT_H */
