/*
 * Fuzzes the object format reader: the header parser, the decryptor fed
 * arbitrary stored bytes in arbitrary pieces (header in the stream, header
 * given with a range, and in-place units), the Range parser and the span
 * mapping.  The DEK is fixed, so seeds made with it (corpus/objfmt) get
 * past the key commitment and mutations reach the frames.
 *
 * Input: 8 control bytes (split seed, expected part, range), then the
 * stored bytes.  Oracles beyond the sanitizers: no call hands out more
 * plaintext than the range holds or consumes more than it was given, and
 * whatever a decryptor accepts as a whole segment re-encrypts (same DEK,
 * salt, p and F) to exactly the bytes it was fed.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_objfmt.h"


#define FUZZ_LOG2F_SEED  12


static const unsigned char  fuzz_dek[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};


static uint64_t
fuzz_rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}


/* feeds st[0..n) in random pieces; returns the final result */
static s3_objfmt_rc_t
fuzz_feed(s3_objfmt_dec_t *d, const unsigned char *st, size_t n,
    unsigned char *out, size_t cap, uint64_t *seed, size_t *outlen)
{
    size_t          ip, op, c, w, ni, no;
    s3_objfmt_rc_t  rc;

    ip = 0;
    op = 0;
    rc = S3_OBJFMT_AGAIN;

    while (ip < n) {
        ni = n - ip;
        if (fuzz_rnd(seed) & 1) {
            ni = (size_t) (fuzz_rnd(seed) % ni) + 1;
        }

        no = cap - op;
        if (no && (fuzz_rnd(seed) & 1)) {
            no = (size_t) (fuzz_rnd(seed) % (no + 1));
        }

        rc = s3_objfmt_dec_process(d, st + ip, ni, &c, no ? out + op : NULL,
                                   no, &w);
        if (c > ni || w > no) {
            abort();
        }

        ip += c;
        op += w;

        if (rc != S3_OBJFMT_AGAIN && rc != S3_OBJFMT_OK) {
            /* errors stick */
            if (s3_objfmt_dec_process(d, NULL, 0, &c, NULL, 0, &w) != rc
                || s3_objfmt_dec_end(d) != rc)
            {
                abort();
            }
            *outlen = op;
            return rc;
        }

        if (rc == S3_OBJFMT_OK && ip < n) {
            /* done: anything more must be refused */
            rc = s3_objfmt_dec_process(d, st + ip, n - ip, &c, NULL, 0, &w);
            if (rc != S3_OBJFMT_ERR_TOO_LONG || c != 0) {
                abort();
            }
            *outlen = op;
            return rc;
        }

        if (rc == S3_OBJFMT_AGAIN && c == 0 && w == 0 && no == cap - op
            && ni == n - ip)
        {
            abort();                    /* no progress with all it wants */
        }
    }

    rc = s3_objfmt_dec_end(d);

    while (rc == S3_OBJFMT_OK || rc == S3_OBJFMT_AGAIN) {
        rc = s3_objfmt_dec_process(d, NULL, 0, &c,
                                   cap > op ? out + op : NULL, cap - op, &w);
        op += w;
        if (rc == S3_OBJFMT_OK || w == 0) {
            break;
        }
    }

    *outlen = op;

    return rc;
}


/* whatever decrypted as a whole segment must re-encrypt to the input */
static void
fuzz_reencrypt(const s3_objfmt_hdr_t *h, const unsigned char *pt,
    size_t ptlen, const unsigned char *st, size_t n)
{
    size_t            c, w;
    unsigned char    *again;
    s3_objfmt_enc_t  *e;

    if (h->len != ptlen || s3_objfmt_stored_len(h->len, h->log2f) != n) {
        abort();
    }

    if (s3_objfmt_enc_new(&e, fuzz_dek, h->len, h->part, h->log2f, h->salt)
        != S3_OBJFMT_OK)
    {
        abort();
    }

    again = malloc(n);
    if (again == NULL) {
        abort();
    }

    if (s3_objfmt_enc_process(e, ptlen ? pt : NULL, ptlen, &c, again, n, &w)
        != S3_OBJFMT_HELD
        || s3_objfmt_enc_release(e) != S3_OBJFMT_OK
        || s3_objfmt_enc_process(e, NULL, 0, &c, again + w, n - w, &w)
           != S3_OBJFMT_OK
        || memcmp(again, st, n) != 0)
    {
        abort();
    }

    free(again);
    s3_objfmt_enc_free(e);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               n, got, need, at, pos, plen, total, fed, k;
    uint32_t             part;
    uint64_t             seed, off, len, so, sl;
    unsigned char       *out, *buf;
    s3_objfmt_rc_t       rc;
    s3_objfmt_hdr_t      h;
    s3_objfmt_dec_t     *d;
    s3_objfmt_range_t    r;
    s3_objfmt_span_t     span;
    s3_objfmt_seg_t      segs[2];
    const unsigned char *st;

    if (size < 8) {
        return 0;
    }

    seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t) data[0] << 8 | data[1]);
    st = data + 8;
    n = size - 8;

    /* header parser: the whole input and one prefix */

    (void) s3_objfmt_hdr_parse(st, n, &h);
    (void) s3_objfmt_hdr_parse(st, n ? (size_t) (fuzz_rnd(&seed) % n) : 0,
                               &h);

    /* the part expected: 0, or the header's own (to get past the check) */

    part = 0;
    if ((data[2] & 1) && s3_objfmt_hdr_parse(st, n, &h) == S3_OBJFMT_OK) {
        part = h.part;
    }

    out = malloc(n + 1);
    if (out == NULL) {
        return 0;
    }

    /* 1. header in the stream, whole segment */

    if (s3_objfmt_dec_new(&d, fuzz_dek, part, NULL, 0, 0, S3_OBJFMT_TO_END)
        != S3_OBJFMT_OK)
    {
        abort();
    }

    rc = fuzz_feed(d, st, n, out, n + 1, &seed, &got);
    if (got > n) {
        abort();
    }

    if (rc == S3_OBJFMT_OK) {
        fuzz_reencrypt(s3_objfmt_dec_header(d), out, got, st, n);
    }

    s3_objfmt_dec_free(d);

    /* 2. header given (first 72 bytes), a range, frames from the stream */

    if (n >= S3_OBJFMT_HDR_LEN
        && s3_objfmt_hdr_parse(st, n, &h) == S3_OBJFMT_OK)
    {
        off = h.len ? ((uint64_t) data[3] << 16 | data[4] << 8 | data[5])
                      % h.len : 0;
        len = data[6] == 0xff ? S3_OBJFMT_TO_END
                              : ((uint64_t) data[6] << 8 | data[7]) + 1;

        if (s3_objfmt_dec_new(&d, fuzz_dek, part, st, 0, off, len)
            == S3_OBJFMT_OK)
        {
            if (s3_objfmt_dec_span(d, &so, &sl) != S3_OBJFMT_OK
                || so < S3_OBJFMT_HDR_LEN)
            {
                abort();
            }

            if (so < n) {
                rc = fuzz_feed(d, st + so, (size_t) (n - so < sl ? n - so
                                                                 : sl),
                               out, n + 1, &seed, &got);
                if (got > len || (rc == S3_OBJFMT_OK
                                  && got != (len < h.len - off
                                             ? len : h.len - off)))
                {
                    abort();
                }
            }

            s3_objfmt_dec_free(d);
        }
    }

    /* 3. in-place units, header in the stream */

    buf = malloc(n + 1);
    if (buf != NULL
        && s3_objfmt_dec_new(&d, fuzz_dek, part, NULL, 0, 0,
                             S3_OBJFMT_TO_END) == S3_OBJFMT_OK)
    {
        at = 0;
        total = 0;

        while ((need = s3_objfmt_dec_unit_len(d)) != 0) {
            if (need > ((size_t) 1 << S3_OBJFMT_LOG2F_MAX) + 16) {
                abort();
            }

            need = need < n - at ? need : n - at;
            memcpy(buf, st + at, need);
            at += need;

            rc = s3_objfmt_dec_unit(d, buf, need, &pos, &plen);
            if (rc != S3_OBJFMT_OK) {
                break;
            }

            if (pos + plen > need) {
                abort();
            }
            total += plen;
        }

        if (total > n) {
            abort();
        }

        s3_objfmt_dec_free(d);

        /*
         * 3b. the same units fed in pieces straight from the stored bytes
         * (no gathering): the same plaintext count, unit for unit
         */
        if (s3_objfmt_dec_new(&d, fuzz_dek, part, NULL, 0, 0,
                              S3_OBJFMT_TO_END) == S3_OBJFMT_OK)
        {
            at = 0;
            fed = 0;

            while (at < n && (need = s3_objfmt_dec_unit_len(d)) != 0) {
                k = (size_t) (fuzz_rnd(&seed) % need) + 1;
                k = k < n - at ? k : n - at;

                rc = s3_objfmt_dec_unit_feed(d, st + at, k, buf, &pos, &plen);
                at += k;

                if (rc == S3_OBJFMT_AGAIN) {
                    if (plen != 0) {
                        abort();
                    }
                    continue;
                }

                if (rc != S3_OBJFMT_OK) {
                    break;
                }

                if (pos + plen > at) {
                    abort();
                }
                fed += plen;
            }

            if (fed != total) {
                abort();
            }

            s3_objfmt_dec_free(d);
        }
    }

    free(buf);
    free(out);

    /* 4. the Range parser and the span mappers on the same bytes */

    total = (size_t) ((uint64_t) data[3] << 16 | data[4] << 8 | data[5]);

    if (s3_objfmt_range_parse((const char *) st, n, total, &r) == S3_OK
        && r.partial)
    {
        if (r.first > r.last || r.last >= total) {
            abort();
        }

        segs[0].len = r.first + 1;
        segs[0].log2f = FUZZ_LOG2F_SEED + (data[6] % 13);
        segs[1].len = total - r.first - 1;
        segs[1].log2f = FUZZ_LOG2F_SEED + (data[7] % 13);

        if (s3_objfmt_segs_layout(segs, 2, &off, &so) != S3_OBJFMT_OK
            || off != total
            || s3_objfmt_map_range(segs, 2, r.first, r.last - r.first + 1,
                                   &span) != S3_OBJFMT_OK
            || span.stored_off + span.stored_len > so
            || span.first > span.last || span.last > 1)
        {
            abort();
        }
    }

    return 0;
}
