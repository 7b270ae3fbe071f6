/*
 * The object encryption format, version 1 (DESIGN.md section 3).
 *
 * Stored body = one segment per single PUT, one per part of a multipart
 * upload.  Segment = header (72 bytes) || frame 0 || ... || frame n-1.
 *
 *   bytes   field
 *   0-3     magic "SSEK"
 *   4       format version = 1
 *   5       algorithm = 1 (AES-256-GCM)
 *   6       k = log2 of the plaintext frame size F (12..24, default 16)
 *   7       reserved = 0
 *   8-15    plaintext length L of the segment, BE64
 *   16-19   part number p, BE32: 0 for a single PUT, 1..10000 for a part
 *   20-23   reserved = 0
 *   24-39   segment salt, 16 random bytes
 *   40-71   key commitment, 32 bytes
 *
 *   segment key = HKDF-SHA256(DEK, salt, "SSEK1 key" || BE32(p))
 *   commitment  = HKDF-SHA256(DEK, salt, "SSEK1 commit" || BE32(p))
 *   n           = max(1, ceil(L / F)); frame i holds plaintext
 *                 [i*F, min(L, (i+1)*F)); an empty segment has one empty
 *                 frame
 *   frame i     = AES-256-GCM(segment key, nonce BE96(i),
 *                 AAD header || BE64(i) || (i == n-1)) ciphertext || tag
 *   stored len  = 72 + L + 16*n
 *
 * Ranges in this API are half-open: (off, len) means bytes [off, off+len).
 * Offsets into a segment count from its first header byte.
 *
 * Nothing here does I/O or keeps global state; the streaming objects hold
 * at most one frame (F + 16 bytes) each.
 */

#ifndef S3_OBJFMT_H
#define S3_OBJFMT_H

#include <stddef.h>
#include <stdint.h>

#include "s3_err.h"


#define S3_OBJFMT_HDR_LEN        72
#define S3_OBJFMT_TAG_LEN        16
#define S3_OBJFMT_SALT_LEN       16
#define S3_OBJFMT_COMMIT_LEN     32
#define S3_OBJFMT_KEY_LEN        32     /* DEK, bucket key, segment key */
#define S3_OBJFMT_MAC_LEN        32
#define S3_OBJFMT_VERSION        1
#define S3_OBJFMT_ALG_AES256GCM  1
#define S3_OBJFMT_LOG2F_MIN      12
#define S3_OBJFMT_LOG2F_MAX      24
#define S3_OBJFMT_LOG2F_DEFAULT  16
#define S3_OBJFMT_PART_MAX       10000

/* S3's limit on one PUT and on one part, applied to the stored length */
#define S3_OBJFMT_STORED_MAX     ((uint64_t) 5 << 30)

/* L beyond this is refused: keeps every stored offset below 2^63 */
#define S3_OBJFMT_LEN_MAX        ((uint64_t) 1 << 62)

/* object ARNs longer than this are refused (S3's is at most ~1.1 KB) */
#define S3_OBJFMT_ARN_MAX        2048

/* as a range length: up to the end of the segment */
#define S3_OBJFMT_TO_END         UINT64_MAX


/*
 * Results of the format and crypto functions.  OK, AGAIN and HELD are not
 * failures; every ERR_ is sticky in a streaming object (later calls return
 * it again) and no plaintext of a frame that failed is ever released.
 */
typedef enum {
    S3_OBJFMT_OK = 0,
    S3_OBJFMT_AGAIN,           /* more input, or more output room, needed */
    S3_OBJFMT_HELD,            /* encryptor: everything but the final frame
                                  is out; it waits for _enc_release() */
    S3_OBJFMT_ERR_MAGIC,       /* no "SSEK": not an object in this format */
    S3_OBJFMT_ERR_VERSION,     /* a format version other than 1 */
    S3_OBJFMT_ERR_ALGORITHM,   /* an algorithm other than AES-256-GCM */
    S3_OBJFMT_ERR_HEADER,      /* reserved bytes set, k outside 12..24,
                                  p > 10000 or L > S3_OBJFMT_LEN_MAX */
    S3_OBJFMT_ERR_PART,        /* header's p is not the one expected */
    S3_OBJFMT_ERR_WRONG_KEY,   /* key commitment mismatch: another DEK (or
                                  salt or commitment altered); checked
                                  before any decryption */
    S3_OBJFMT_ERR_CORRUPT,     /* a frame failed authentication (data,
                                  tag, order, L or F altered), or a stored
                                  header differs from the expected one */
    S3_OBJFMT_ERR_TRUNCATED,   /* input ended before its expected end */
    S3_OBJFMT_ERR_TOO_LONG,    /* input goes on past its expected end */
    S3_OBJFMT_ERR_MANIFEST,    /* multipart manifest MAC mismatch */
    S3_OBJFMT_ERR_ARGS,        /* the caller broke the API's contract */
    S3_OBJFMT_ERR_CRYPTO,      /* OpenSSL or memory allocation failed */
    S3_OBJFMT_RC_MAX
} s3_objfmt_rc_t;

/* a short fixed English phrase for logs; never holds key material */
const char *s3_objfmt_strerror(s3_objfmt_rc_t rc);


/* ---- header -------------------------------------------------------------- */

typedef struct {
    uint64_t       len;                            /* L */
    uint32_t       part;                           /* p */
    unsigned       log2f;                          /* k, F = 2^k */
    unsigned char  salt[S3_OBJFMT_SALT_LEN];
    unsigned char  commit[S3_OBJFMT_COMMIT_LEN];
} s3_objfmt_hdr_t;

/*
 * Parses and checks the header in buf[0..len).  Fields are checked as soon
 * as their bytes are present, so a short buffer gives ERR_MAGIC & co. when
 * the bytes it has are wrong, and AGAIN only when they are right so far.
 * Checks magic, version, algorithm, reserved bytes, k, p <= 10000 and L;
 * not the commitment (that needs the DEK) nor which p is expected.
 */
s3_objfmt_rc_t s3_objfmt_hdr_parse(const unsigned char *buf, size_t len,
    s3_objfmt_hdr_t *h);

/* serializes h (no checks) */
void s3_objfmt_hdr_write(const s3_objfmt_hdr_t *h,
    unsigned char out[S3_OBJFMT_HDR_LEN]);


/* ---- sizes --------------------------------------------------------------- */

/* n = max(1, ceil(L / F)) */
uint64_t s3_objfmt_frames(uint64_t len, unsigned log2f);

/* 72 + L + 16n; UINT64_MAX when L > S3_OBJFMT_LEN_MAX or k is invalid */
uint64_t s3_objfmt_stored_len(uint64_t len, unsigned log2f);

/*
 * The largest L whose stored length is <= stored_max (which must be at
 * least 88, the size of an empty segment); with S3_OBJFMT_STORED_MAX, the
 * largest plaintext a PUT or part may carry.
 */
uint64_t s3_objfmt_max_len(uint64_t stored_max, unsigned log2f);

/* S3_OK, or S3_ERR_ENTITY_TOO_LARGE when the segment would exceed 5 GiB */
s3_err_t s3_objfmt_check_len(uint64_t len, unsigned log2f);


/* ---- keys ---------------------------------------------------------------- */

/*
 * S3 Bucket Keys: the object's DEK = HKDF-SHA256(IKM = bucket key,
 * salt = object salt, info = "SSEK1 object" || object ARN (UTF-8 bytes)).
 */
s3_objfmt_rc_t s3_objfmt_object_key(
    const unsigned char bucket_key[S3_OBJFMT_KEY_LEN],
    const unsigned char salt[S3_OBJFMT_SALT_LEN], const char *arn,
    size_t arn_len, unsigned char dek[S3_OBJFMT_KEY_LEN]);

/*
 * Multipart manifest: HMAC-SHA256(key = HKDF-SHA256(DEK, empty salt,
 * "SSEK1 manifest"), object ARN || 0x00 || upload id || 0x00 || for each
 * part in order: BE32(p) || salt || BE64(L)).  parts[] are the parts'
 * headers (only p, salt and L are used).
 */
s3_objfmt_rc_t s3_objfmt_manifest_mac(
    const unsigned char dek[S3_OBJFMT_KEY_LEN], const char *arn,
    size_t arn_len, const char *upload_id, size_t id_len,
    const s3_objfmt_hdr_t *parts, size_t nparts,
    unsigned char mac[S3_OBJFMT_MAC_LEN]);

/* OK, or ERR_MANIFEST when mac differs (compared in constant time) */
s3_objfmt_rc_t s3_objfmt_manifest_verify(
    const unsigned char dek[S3_OBJFMT_KEY_LEN], const char *arn,
    size_t arn_len, const char *upload_id, size_t id_len,
    const s3_objfmt_hdr_t *parts, size_t nparts,
    const unsigned char mac[S3_OBJFMT_MAC_LEN]);


/* ---- encryptor (PUT, UploadPart) ----------------------------------------- */

typedef struct s3_objfmt_enc_s  s3_objfmt_enc_t;

/*
 * An encryptor for one segment of plaintext length len, part p, frame size
 * 2^log2f.  salt: 16 bytes, or NULL for fresh random ones (only tests pass
 * a salt).  The DEK is not kept: only the segment key, inside the cipher
 * context.  The caller enforces S3's size limit with _check_len() first.
 */
s3_objfmt_rc_t s3_objfmt_enc_new(s3_objfmt_enc_t **encp,
    const unsigned char dek[S3_OBJFMT_KEY_LEN], uint64_t len, uint32_t part,
    unsigned log2f, const unsigned char *salt);

/* the segment's header (for the object index) */
const unsigned char *s3_objfmt_enc_header(const s3_objfmt_enc_t *e);

/* the segment's stored length (the backend's Content-Length) */
uint64_t s3_objfmt_enc_stored_len(const s3_objfmt_enc_t *e);

/*
 * zlib-like: encrypts from in[0..in_len) to out[0..out_len), straight from
 * one to the other (they must not overlap), and says how much of each it
 * used.  The header comes first, then the frames.  The final frame is encrypted into a buffer of
 * its own and kept there until _enc_release().
 *
 *   AGAIN       more input or more output room needed (written == out_len
 *               tells which)
 *   HELD        every stored byte but the final frame's is out and all L
 *               bytes were consumed
 *   OK          every stored byte is out
 *   ERR_TOO_LONG  in_len is more than what remains of L (nothing consumed)
 */
s3_objfmt_rc_t s3_objfmt_enc_process(s3_objfmt_enc_t *e,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_len, size_t *written);

/*
 * The caller's input ended and every check on it passed: lets the final
 * frame out (on the next _enc_process() calls).  ERR_TRUNCATED when fewer
 * than L bytes were fed.
 */
s3_objfmt_rc_t s3_objfmt_enc_release(s3_objfmt_enc_t *e);

void s3_objfmt_enc_free(s3_objfmt_enc_t *e);


/* ---- decryptor (GET) ----------------------------------------------------- */

typedef struct s3_objfmt_dec_s  s3_objfmt_dec_t;

/*
 * A decryptor for the plaintext range (off, len) of one segment; len is
 * clipped to the segment's end (S3_OBJFMT_TO_END: all of it).  part is the
 * p the segment must carry.  Where its header comes from:
 *
 *   hdr != NULL, hdr_in_stream == 0: the header (from the index) is given;
 *       the stored stream starts at the first frame of the range.
 *   hdr != NULL, hdr_in_stream == 1: as above, but the stream starts at
 *       the segment's byte 0 and its header must equal hdr byte for byte
 *       (the parts after the first in a range across parts); needs
 *       off < F.
 *   hdr == NULL: the stream starts with the header, read from it; needs
 *       off == 0.
 *
 * A given header is checked here (format, p, then the key commitment in
 * constant time), one read from the stream when it has arrived.  off must
 * lie inside the segment (off == 0 for an empty one, whose empty frame is
 * then verified) and len must not be 0 unless the segment is empty.
 */
s3_objfmt_rc_t s3_objfmt_dec_new(s3_objfmt_dec_t **decp,
    const unsigned char dek[S3_OBJFMT_KEY_LEN], uint32_t part,
    const unsigned char *hdr, int hdr_in_stream, uint64_t off, uint64_t len);

/*
 * The stored bytes to fetch: (off, len) relative to the segment's start,
 * [72 + fa*(F+16), 72 + (fb+1)*(F+16)) clipped to the segment's end, or
 * from 0 when the header is in the stream.  AGAIN while the header has not
 * arrived yet (hdr == NULL); the fetch then starts at 0 anyway.
 */
s3_objfmt_rc_t s3_objfmt_dec_span(const s3_objfmt_dec_t *d, uint64_t *off,
    uint64_t *len);

/* the segment's header, once known (NULL before) */
const s3_objfmt_hdr_t *s3_objfmt_dec_header(const s3_objfmt_dec_t *d);

/*
 * zlib-like: feeds stored bytes, in pieces of any size, and gets plaintext
 * of the range.  A frame's plaintext comes out only after its tag
 * verified.  When a whole frame is in `in` and `out` has room for all of
 * its plaintext, it is decrypted straight into `out` (no copy; bytes of it
 * outside the range may be left in `out` past *written); otherwise through
 * a buffer of one frame, then copied out.  in and out must not overlap.
 *
 *   AGAIN          more input or more output room needed
 *   OK             every stored byte was consumed and all plaintext is out
 *   ERR_TOO_LONG   in_len is more than the stream has left (nothing
 *                  consumed); a duplicated frame or trailing bytes
 *   ERR_CORRUPT, ERR_WRONG_KEY, ERR_PART, header errors: see above
 */
s3_objfmt_rc_t s3_objfmt_dec_process(s3_objfmt_dec_t *d,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_len, size_t *written);

/*
 * In-place use, for a caller that gathers stored bytes into its own buffer
 * one unit at a time: _dec_unit_len() is the stored length of the next
 * unit (the header when it is in the stream, then each frame; 0 when
 * done); _dec_unit() takes exactly that unit in buf, decrypts it in place
 * and points at the plaintext to release: buf[*pos, *pos + *plen).  A
 * shorter buf gives ERR_TRUNCATED, a longer one ERR_TOO_LONG; on any error
 * buf's plaintext is wiped.  Do not mix with _dec_process() inside a
 * frame.
 */
size_t s3_objfmt_dec_unit_len(const s3_objfmt_dec_t *d);
s3_objfmt_rc_t s3_objfmt_dec_unit(s3_objfmt_dec_t *d, unsigned char *buf,
    size_t len, size_t *pos, size_t *plen);

/*
 * The same unit fed as the stored bytes come, without gathering them
 * first: each call takes the next n bytes of the current unit from in (n
 * at most _dec_unit_len(), which counts what the unit still lacks; more
 * is ERR_TOO_LONG) and decrypts them into out, the unit's plaintext buffer
 * (byte i of a frame's ciphertext goes to out[i]; at least the frame's
 * length; the same out for all of a unit's calls; out may be in).  It
 * answers AGAIN until the unit is complete, then checks the tag: OK with
 * out[*pos, *pos + *plen) to release, or an error with out's plaintext
 * wiped.  Nothing in out may be released before the OK.
 */
s3_objfmt_rc_t s3_objfmt_dec_unit_feed(s3_objfmt_dec_t *d,
    const unsigned char *in, size_t n, unsigned char *out, size_t *pos,
    size_t *plen);

/*
 * The stored input ended: OK when all of it was there (plaintext may still
 * be waiting in the decryptor; drain it with _dec_process(NULL, 0, ...)),
 * else ERR_TRUNCATED.
 */
s3_objfmt_rc_t s3_objfmt_dec_end(s3_objfmt_dec_t *d);

void s3_objfmt_dec_free(s3_objfmt_dec_t *d);


/* ---- ranges -------------------------------------------------------------- */

typedef struct {
    int       partial;      /* 1: answer 206 with bytes first-last/total;
                               0: ignore the Range header, answer 200 */
    uint64_t  first;        /* inclusive, as in Content-Range */
    uint64_t  last;
} s3_objfmt_range_t;

/*
 * A Range header value against an object of plaintext length total, as
 * S3 answers it:
 *   bytes=a-b, bytes=a-   [a, min(b, total-1)]; a >= total: InvalidRange
 *   bytes=-n              the last n bytes (all when n >= total);
 *                         n == 0: InvalidRange; an empty object: 200
 *   anything else         ignored (200, whole object): other units, a
 *                         syntax error, b < a, several ranges
 * Returns S3_OK or S3_ERR_INVALID_RANGE (416, Content-Range bytes * /total).
 */
s3_err_t s3_objfmt_range_parse(const char *value, size_t len, uint64_t total,
    s3_objfmt_range_t *r);

/*
 * One segment: the stored bytes that hold plaintext (off, len) (len > 0,
 * clipped to L; for L == 0 the empty frame), relative to the segment's
 * start; from byte 0 when with_header.  ERR_ARGS when off is outside.
 */
s3_objfmt_rc_t s3_objfmt_seg_span(uint64_t seg_len, unsigned log2f,
    uint64_t off, uint64_t len, int with_header, uint64_t *soff,
    uint64_t *slen);

/* a segment of a multipart object, as the index lists them in order */
typedef struct {
    uint64_t  len;              /* L of the segment */
    unsigned  log2f;
    uint64_t  plain_off;        /* set by s3_objfmt_segs_layout() */
    uint64_t  stored_off;       /* ditto */
} s3_objfmt_seg_t;

/* fills plain_off and stored_off from len and log2f; gives the totals */
s3_objfmt_rc_t s3_objfmt_segs_layout(s3_objfmt_seg_t *segs, size_t n,
    uint64_t *plain_total, uint64_t *stored_total);

typedef struct {
    size_t    first;            /* segments the range touches, inclusive */
    size_t    last;
    uint64_t  stored_off;       /* what to fetch from the stored object */
    uint64_t  stored_len;
} s3_objfmt_span_t;

/*
 * Multipart: the stored bytes holding plaintext (off, len) of the object
 * (len > 0, clipped to the total).  The fetched bytes are, in order, the
 * range's frames of segment `first` (from frame fa, without its header),
 * then each later segment from its header on (whole, or up to the range's
 * last frame in segment `last`); empty segments in between included.
 */
s3_objfmt_rc_t s3_objfmt_map_range(const s3_objfmt_seg_t *segs, size_t n,
    uint64_t off, uint64_t len, s3_objfmt_span_t *span);

typedef struct {
    uint64_t  off;              /* plaintext range inside the segment */
    uint64_t  len;              /* 0 only for an empty segment */
    int       hdr_in_stream;
} s3_objfmt_piece_t;

/*
 * For segment i of span (first <= i <= last): the arguments its decryptor
 * takes (s3_objfmt_dec_new(..., hdr_in_stream, off, len)).
 */
void s3_objfmt_map_piece(const s3_objfmt_seg_t *segs,
    const s3_objfmt_span_t *span, size_t i, uint64_t off, uint64_t len,
    s3_objfmt_piece_t *piece);

#endif /* S3_OBJFMT_H */
