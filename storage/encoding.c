/*
 * Parquet value encodings — see storage/encoding.h and apache/parquet-format Encodings.md.
 *
 * DESIGN: decoders trust nothing in the input. Every count read from a page is checked against
 * the bytes that remain before it is used to read, and against the caller's n before it is used
 * to write; sizes are computed in 64 bits (or checked for overflow) so a hostile count cannot
 * wrap a bound. Integer decoding is done in unsigned arithmetic, which wraps as the writers'
 * two's complement subtraction did.
 *
 * The host must be little-endian (Parquet and the column layout are): fixed-width values are
 * copied, and bit-packed runs are read with unaligned 64-bit little-endian loads.
 */
#include "storage/encoding.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "smelter's Parquet encodings assume a little-endian host"
#endif

#define IS_VALID(validity, i) (!(validity) || (((validity)[(i) >> 3] >> ((i)&7)) & 1))

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int enc_bit_width(uint64_t max_value)
{
    return max_value == 0 ? 0 : 64 - __builtin_clzll(max_value);
}

/*
 * Value of `bw` (0..64) bits starting at bit `bitpos` of in[0..in_bytes), LSB first. The caller
 * guarantees bitpos + bw <= 8 * in_bytes; nothing past in[in_bytes) is read.
 */
static inline uint64_t read_bits(const uint8_t *in, size_t in_bytes, uint64_t bitpos, int bw)
{
    if (bw == 0) {
        return 0;
    }
    size_t byte = (size_t)(bitpos >> 3);
    unsigned shift = (unsigned)(bitpos & 7);
    uint64_t v;
    if (in_bytes - byte >= 8) {
        v = load_le64(in + byte) >> shift;
    } else {
        uint8_t tmp[8] = {0};
        memcpy(tmp, in + byte, in_bytes - byte);
        v = load_le64(tmp) >> shift;
    }
    if (shift + (unsigned)bw > 64) {
        /* only possible for bw > 56; the 9th byte exists by the caller's guarantee */
        v |= (uint64_t)in[byte + 8] << (64 - shift);
    }
    return bw == 64 ? v : v & ((UINT64_C(1) << bw) - 1);
}

/* ULEB128 into *v (at most 64 bits). Returns bytes read, 0 when truncated or too long. */
static size_t read_uleb(const uint8_t *in, size_t in_len, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < in_len && i < 10; i++) {
        uint64_t b = in[i];
        if (i == 9 && b > 1) {
            return 0; /* more than 64 bits */
        }
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static inline size_t put_uleb(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------------------- */

#define RLE_MAX_RUN            ((size_t)INT32_MAX) /* spec: run lengths in [1, 2^31 - 1] */
#define RLE_MAX_LITERAL_GROUPS ((size_t)63)        /* a one-byte bit-packed header */
#define RLE_MAX_LITERAL        (RLE_MAX_LITERAL_GROUPS * 8)

size_t enc_rle_max_len(size_t n, int bit_width)
{
    if (bit_width < 0 || bit_width > 32) {
        return 0;
    }
    size_t vbytes = ((size_t)bit_width + 7) / 8;
    size_t per8 = ((size_t)bit_width > vbytes ? (size_t)bit_width : vbytes) + 2;
    return (n / 8 + 2) * per8 + 16;
}

/*
 * Packs groups of 8 values at bit width B (1..32) into B bytes each, LSB first, and returns the
 * end. The values are accumulated in a uint64 flushed 4 bytes at a time; once inlined with a
 * constant B every shift and flush is fixed at compile time. A group's last store may write up to
 * 3 bytes past its end (the caller reserves the slack; the next group or the buffer's spare
 * capacity overwrites them). Values are not checked here: the OR of them all goes to *all.
 */
static inline __attribute__((always_inline)) uint8_t *
rle_pack_groups_bw(uint8_t *p, const uint32_t *v, size_t groups, const int B, uint32_t *all)
{
    uint32_t any = 0;
    for (size_t g = 0; g < groups; g++, v += 8) {
        uint64_t acc = 0;
        int nbits = 0;
        /* unrolled by hand: -O2 does not unroll it, and the constant shifts need it */
#define RLE_PACK_STEP(k)                                                                           \
    any |= v[k];                                                                                   \
    acc |= (uint64_t)v[k] << nbits;                                                                \
    nbits += B;                                                                                    \
    if (nbits >= 32) {                                                                             \
        uint32_t lo = (uint32_t)acc;                                                               \
        memcpy(p, &lo, 4);                                                                         \
        p += 4;                                                                                    \
        acc >>= 32;                                                                                \
        nbits -= 32;                                                                               \
    }
        RLE_PACK_STEP(0)
        RLE_PACK_STEP(1)
        RLE_PACK_STEP(2)
        RLE_PACK_STEP(3)
        RLE_PACK_STEP(4)
        RLE_PACK_STEP(5)
        RLE_PACK_STEP(6)
        RLE_PACK_STEP(7)
#undef RLE_PACK_STEP
        if (nbits > 0) { /* a multiple of 8 below 32: 8 * B bits are whole bytes */
            uint32_t lo = (uint32_t)acc;
            memcpy(p, &lo, 4);
            p += nbits / 8;
        }
    }
    *all |= any;
    return p;
}

static uint8_t *rle_pack_groups(uint8_t *p, const uint32_t *v, size_t groups, int bw, uint32_t *all)
{
    switch (bw) {
#define RLE_PACK_CASE(B)                                                                           \
    case B:                                                                                        \
        return rle_pack_groups_bw(p, v, groups, B, all);
        RLE_PACK_CASE(1)
        RLE_PACK_CASE(2)
        RLE_PACK_CASE(3)
        RLE_PACK_CASE(4)
        RLE_PACK_CASE(5)
        RLE_PACK_CASE(6)
        RLE_PACK_CASE(7)
        RLE_PACK_CASE(8)
        RLE_PACK_CASE(9)
        RLE_PACK_CASE(10)
        RLE_PACK_CASE(11)
        RLE_PACK_CASE(12)
        RLE_PACK_CASE(13)
        RLE_PACK_CASE(14)
        RLE_PACK_CASE(15)
        RLE_PACK_CASE(16)
        RLE_PACK_CASE(17)
        RLE_PACK_CASE(18)
        RLE_PACK_CASE(19)
        RLE_PACK_CASE(20)
        RLE_PACK_CASE(21)
        RLE_PACK_CASE(22)
        RLE_PACK_CASE(23)
        RLE_PACK_CASE(24)
        RLE_PACK_CASE(25)
        RLE_PACK_CASE(26)
        RLE_PACK_CASE(27)
        RLE_PACK_CASE(28)
        RLE_PACK_CASE(29)
        RLE_PACK_CASE(30)
        RLE_PACK_CASE(31)
        RLE_PACK_CASE(32)
#undef RLE_PACK_CASE
    default: /* 0: nothing to write, but the values must still be 0 */
        for (size_t i = 0; i < groups * 8; i++) {
            *all |= v[i];
        }
        return p;
    }
}

/* Writes values[0..count) as bit-packed runs of at most 504 values, the last group zero-padded.
 * The OR of the values goes to *all. */
static uint8_t *rle_put_literals(uint8_t *p, const uint32_t *v, size_t count, int bw, uint32_t *all)
{
    while (count > 0) {
        size_t c = count < RLE_MAX_LITERAL ? count : RLE_MAX_LITERAL;
        size_t full = c / 8;
        p += put_uleb(p, (uint64_t)((c + 7) / 8) << 1 | 1);
        p = rle_pack_groups(p, v, full, bw, all);
        if (c % 8) {
            uint32_t last[8] = {0};
            memcpy(last, v + full * 8, (c % 8) * sizeof *v);
            p = rle_pack_groups(p, last, 1, bw, all);
        }
        v += c;
        count -= c;
    }
    return p;
}

static uint8_t *rle_put_repeat(uint8_t *p, uint32_t value, size_t count, int bw)
{
    size_t vbytes = ((size_t)bw + 7) / 8;
    while (count > 0) {
        size_t run = count < RLE_MAX_RUN ? count : RLE_MAX_RUN;
        p += put_uleb(p, (uint64_t)run << 1);
        for (size_t k = 0; k < vbytes; k++) {
            *p++ = (uint8_t)(value >> (8 * k));
        }
        count -= run;
    }
    return p;
}

/* First j in [i, n - 1) with v[j] == v[j + 1], or n. Compares 8 pairs per step: in literal
 * stretches (random indices) equal neighbours are rare. */
static inline size_t rle_find_pair(const uint32_t *v, size_t i, size_t n)
{
    while (n - i > 8) {
        const uint32_t *w = v + i;
        if ((w[0] == w[1]) | (w[1] == w[2]) | (w[2] == w[3]) | (w[3] == w[4]) | (w[4] == w[5]) |
            (w[5] == w[6]) | (w[6] == w[7]) | (w[7] == w[8])) {
            break;
        }
        i += 8;
    }
    for (; i + 1 < n; i++) {
        if (v[i] == v[i + 1]) {
            return i;
        }
    }
    return n;
}

/* First j in [i, n) with v[j] != x, or n. */
static inline size_t rle_run_end(const uint32_t *v, size_t i, size_t n, uint32_t x)
{
    while (n - i >= 8) {
        const uint32_t *w = v + i;
        if (((w[0] ^ x) | (w[1] ^ x) | (w[2] ^ x) | (w[3] ^ x) | (w[4] ^ x) | (w[5] ^ x) |
             (w[6] ^ x) | (w[7] ^ x)) != 0) {
            break;
        }
        i += 8;
    }
    while (i < n && v[i] == x) {
        i++;
    }
    return i;
}

/*
 * Runs of 8 or more equal values become RLE runs, everything else bit-packed, as parquet-mr and
 * Arrow do. A run that follows literals whose count is not a multiple of 8 first completes their
 * last group (a bit-packed run cannot end mid-group unless it ends the data), and is absorbed
 * into the literals when fewer than 8 of its values would remain. Bytes are written past `p`
 * before the values are known to fit (their OR is checked once at the end): out->len moves only
 * on success, so a failure leaves out as it was.
 */
int enc_rle_encode(const uint32_t *values, size_t n, int bit_width, sm_buf *out, sm_error *err)
{
    if (bit_width < 0 || bit_width > 32) {
        return sm_error_set(err, SM_ERR_USAGE, "RLE: bit width %d out of range 0..32", bit_width);
    }
    if (n == 0) {
        return 0;
    }
    if (n > SIZE_MAX / 64) {
        return sm_error_set(err, SM_ERR_NOMEM, "RLE: %zu values are too many", n);
    }
    /* + 8: slack for the packer's whole-word stores */
    if (sm_buf_reserve(out, enc_rle_max_len(n, bit_width) + 8, err) != 0) {
        return SM_ERR_NOMEM;
    }
    uint8_t *p = out->data + out->len;
    uint32_t all = 0;            /* OR of every value */
    size_t lit_start = 0, i = 0; /* pending literals: values[lit_start .. i); i starts a run */
    for (;;) {
        size_t j = rle_find_pair(values, i, n); /* j starts a run of 2 or more, or is n */
        if (j >= n) {
            break;
        }
        uint32_t v = values[j];
        size_t r = rle_run_end(values, j + 2, n, v) - j;
        i = j + r;
        if (r < 8) {
            continue;
        }
        size_t lit = j - lit_start;
        size_t pad = lit % 8 ? 8 - lit % 8 : 0;
        if (pad && r - pad < 8) {
            continue; /* the whole run joins the literals */
        }
        p = rle_put_literals(p, values + lit_start, lit + pad, bit_width, &all);
        p = rle_put_repeat(p, v, r - pad, bit_width);
        all |= v;
        lit_start = i;
    }
    p = rle_put_literals(p, values + lit_start, n - lit_start, bit_width, &all);
    if (bit_width < 32 && (all >> bit_width) != 0) {
        return sm_error_set(err, SM_ERR_INTERNAL,
                            "RLE: a value needs more than bit width %d (or-ed values 0x%x)",
                            bit_width, all);
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int enc_rle_encode_prefixed(const uint32_t *values, size_t n, int bit_width, sm_buf *out,
                            sm_error *err)
{
    size_t at = out->len;
    if (sm_buf_append_u32le(out, 0, err) != 0) {
        return SM_ERR_NOMEM;
    }
    int rc = enc_rle_encode(values, n, bit_width, out, err);
    if (rc != 0) {
        out->len = at;
        return rc;
    }
    size_t len = out->len - at - 4;
    if (len > UINT32_MAX) {
        out->len = at;
        return sm_error_set(err, SM_ERR_NOMEM, "RLE: %zu bytes do not fit a 4-byte length", len);
    }
    uint32_t l32 = (uint32_t)len;
    memcpy(out->data + at, &l32, 4);
    return 0;
}

int enc_rle_decode(const uint8_t *in, size_t in_len, int bit_width, uint32_t *out, size_t n,
                   size_t *consumed, sm_error *err)
{
    if (bit_width < 0 || bit_width > 32) {
        return sm_error_set(err, SM_ERR_CORRUPT, "RLE: bit width %d out of range 0..32", bit_width);
    }
    size_t vbytes = ((size_t)bit_width + 7) / 8;
    size_t pos = 0, got = 0;
    while (got < n) {
        if (pos >= in_len) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "RLE: data ends after %zu of %zu values (%zu bytes)", got, n,
                                in_len);
        }
        uint64_t header;
        size_t hl = read_uleb(in + pos, in_len - pos, &header);
        if (hl == 0 || header > UINT32_MAX) {
            return sm_error_set(err, SM_ERR_CORRUPT, "RLE: bad run header at byte %zu", pos);
        }
        pos += hl;
        if (header & 1) {
            uint64_t run_vals = (header >> 1) * 8;
            uint64_t run_bytes = (header >> 1) * (uint64_t)bit_width;
            size_t avail = in_len - pos;
            size_t take = run_vals < n - got ? (size_t)run_vals : n - got;
            if ((uint64_t)take * (uint64_t)bit_width > (uint64_t)avail * 8) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "RLE: bit-packed run at byte %zu truncated (%zu values of "
                                    "%d bits in %zu bytes)",
                                    pos - hl, take, bit_width, avail);
            }
            size_t have = run_bytes < avail ? (size_t)run_bytes : avail;
            const uint8_t *src = in + pos;
            uint32_t *dst = out + got;
            if (bit_width == 0) {
                memset(dst, 0, take * sizeof *dst);
            } else {
                uint64_t bp = 0;
                for (size_t k = 0; k < take; k++, bp += (uint64_t)bit_width) {
                    dst[k] = (uint32_t)read_bits(src, have, bp, bit_width);
                }
            }
            pos += have;
            got += take;
        } else {
            uint64_t count = header >> 1;
            if (in_len - pos < vbytes) {
                return sm_error_set(err, SM_ERR_CORRUPT, "RLE: run value at byte %zu truncated",
                                    pos);
            }
            uint32_t value = 0;
            for (size_t k = 0; k < vbytes; k++) {
                value |= (uint32_t)in[pos + k] << (8 * k);
            }
            pos += vbytes;
            if (bit_width < 32 && (value >> bit_width) != 0) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "RLE: run value %u does not fit bit width %d", value,
                                    bit_width);
            }
            size_t take = count < n - got ? (size_t)count : n - got;
            for (size_t k = 0; k < take; k++) {
                out[got + k] = value;
            }
            got += take;
        }
    }
    if (consumed) {
        *consumed = pos;
    }
    return 0;
}

int enc_rle_decode_prefixed(const uint8_t *in, size_t in_len, int bit_width, uint32_t *out,
                            size_t n, size_t *consumed, sm_error *err)
{
    if (in_len < 4) {
        return sm_error_set(err, SM_ERR_CORRUPT, "RLE: %zu bytes cannot hold the 4-byte length",
                            in_len);
    }
    uint32_t len = load_le32(in);
    if (len > in_len - 4) {
        return sm_error_set(err, SM_ERR_CORRUPT, "RLE: length %u is past the %zu bytes left", len,
                            in_len - 4);
    }
    int rc = enc_rle_decode(in + 4, len, bit_width, out, n, NULL, err);
    if (rc != 0) {
        return rc;
    }
    if (consumed) {
        *consumed = 4 + (size_t)len;
    }
    return 0;
}

int enc_dict_indices_encode(const uint32_t *indices, size_t n, size_t dict_len, sm_buf *out,
                            sm_error *err)
{
    if (n > 0 && dict_len == 0) {
        return sm_error_set(err, SM_ERR_INTERNAL, "dictionary indices: empty dictionary");
    }
    int bw = dict_len <= 1 ? 0 : enc_bit_width(dict_len - 1);
    if (bw > 32) {
        return sm_error_set(err, SM_ERR_INTERNAL, "dictionary of %zu entries", dict_len);
    }
    size_t at = out->len;
    if (sm_buf_append_byte(out, (uint8_t)bw, err) != 0) {
        return SM_ERR_NOMEM;
    }
    int rc = enc_rle_encode(indices, n, bw, out, err);
    if (rc != 0) {
        out->len = at;
    }
    return rc;
}

int enc_dict_indices_decode(const uint8_t *in, size_t in_len, size_t n, size_t dict_len,
                            uint32_t *out, size_t *consumed, sm_error *err)
{
    if (n == 0) {
        if (consumed) {
            *consumed = in_len > 0 ? 1 : 0;
        }
        return 0;
    }
    if (in_len < 1) {
        return sm_error_set(err, SM_ERR_CORRUPT, "dictionary indices: empty page data");
    }
    int bw = in[0];
    if (bw > 32) {
        return sm_error_set(err, SM_ERR_CORRUPT, "dictionary indices: bit width %d over 32", bw);
    }
    size_t used = 0;
    int rc = enc_rle_decode(in + 1, in_len - 1, bw, out, n, &used, err);
    if (rc != 0) {
        sm_error_prefix(err, "dictionary indices");
        return rc;
    }
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++) {
        max = out[i] > max ? out[i] : max;
    }
    if ((size_t)max >= dict_len) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "dictionary indices: index %u out of a dictionary of %zu entries", max,
                            dict_len);
    }
    if (consumed) {
        *consumed = 1 + used;
    }
    return 0;
}

/* ---- PLAIN -------------------------------------------------------------------------------- */

int enc_plain_encode_bool(const uint8_t *values, const uint8_t *validity, size_t start, size_t n,
                          sm_buf *out, sm_error *err)
{
    if (sm_buf_reserve(out, n / 8 + 1, err) != 0) {
        return SM_ERR_NOMEM;
    }
    uint8_t *p = out->data + out->len;
    unsigned acc = 0, nbits = 0;
    for (size_t i = start; i < start + n; i++) {
        if (!IS_VALID(validity, i)) {
            continue;
        }
        acc |= (unsigned)(values[i] != 0) << nbits;
        if (++nbits == 8) {
            *p++ = (uint8_t)acc;
            acc = 0;
            nbits = 0;
        }
    }
    if (nbits > 0) {
        *p++ = (uint8_t)acc;
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int enc_plain_encode_fixed(const void *values, size_t width, const uint8_t *validity, size_t start,
                           size_t n, sm_buf *out, sm_error *err)
{
    if (width == 0 || (n > 0 && width > SIZE_MAX / n)) {
        return sm_error_set(err, SM_ERR_INTERNAL, "PLAIN: %zu values of width %zu", n, width);
    }
    const uint8_t *src = (const uint8_t *)values + start * width;
    if (!validity) {
        return sm_buf_append(out, src, n * width, err);
    }
    if (sm_buf_reserve(out, n * width, err) != 0) {
        return SM_ERR_NOMEM;
    }
    uint8_t *p = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        if (IS_VALID(validity, start + i)) {
            memcpy(p, src + i * width, width);
            p += width;
        }
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int enc_plain_encode_byte_array(const int32_t *offsets, const uint8_t *data,
                                const uint8_t *validity, size_t start, size_t n, sm_buf *out,
                                sm_error *err)
{
    size_t total = 0;
    for (size_t i = start; i < start + n; i++) {
        if (!IS_VALID(validity, i)) {
            continue;
        }
        if (offsets[i + 1] < offsets[i]) {
            return sm_error_set(err, SM_ERR_INTERNAL, "PLAIN: offsets decrease at slot %zu", i);
        }
        total += 4 + (size_t)(offsets[i + 1] - offsets[i]);
    }
    if (sm_buf_reserve(out, total, err) != 0) {
        return SM_ERR_NOMEM;
    }
    uint8_t *p = out->data + out->len;
    for (size_t i = start; i < start + n; i++) {
        if (!IS_VALID(validity, i)) {
            continue;
        }
        uint32_t len = (uint32_t)(offsets[i + 1] - offsets[i]);
        memcpy(p, &len, 4);
        if (len) {
            memcpy(p + 4, data + offsets[i], len);
        }
        p += 4 + len;
    }
    out->len += total;
    return 0;
}

int enc_plain_decode_bool(const uint8_t *in, size_t in_len, size_t n, uint8_t *out,
                          size_t *consumed, sm_error *err)
{
    size_t bytes = n / 8 + (n % 8 != 0);
    if (bytes > in_len) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "PLAIN BOOLEAN: %zu values need %zu bytes, page has %zu", n, bytes,
                            in_len);
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (in[i >> 3] >> (i & 7)) & 1;
    }
    if (consumed) {
        *consumed = bytes;
    }
    return 0;
}

int enc_plain_decode_fixed(const uint8_t *in, size_t in_len, size_t n, size_t width, void *out,
                           size_t *consumed, sm_error *err)
{
    if (width == 0 || (n > 0 && width > SIZE_MAX / n) || n * width > in_len) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "PLAIN: %zu values of %zu bytes do not fit the %zu bytes of the page",
                            n, width, in_len);
    }
    if (n) {
        memcpy(out, in, n * width);
    }
    if (consumed) {
        *consumed = n * width;
    }
    return 0;
}

/* Checks that data can take `add` more bytes with int32 offsets. */
static int check_offsets_room(const sm_buf *data, uint64_t add, const char *what, sm_error *err)
{
    if (data->len > (size_t)INT32_MAX || add > (uint64_t)INT32_MAX - data->len) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: %zu + %llu bytes exceed int32 offsets", what,
                            data->len, (unsigned long long)add);
    }
    return 0;
}

int enc_plain_decode_byte_array(const uint8_t *in, size_t in_len, size_t n, int32_t *offsets,
                                sm_buf *data, size_t *consumed, sm_error *err)
{
    /* pass 1: validate the lengths and size the data */
    size_t pos = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_len - pos < 4) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "PLAIN BYTE_ARRAY: value %zu of %zu: length truncated at byte %zu",
                                i, n, pos);
        }
        uint32_t len = load_le32(in + pos);
        pos += 4;
        if (len > in_len - pos) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "PLAIN BYTE_ARRAY: value %zu of %zu: length %u is past the %zu "
                                "bytes left",
                                i, n, len, in_len - pos);
        }
        pos += len;
        total += len;
    }
    if (check_offsets_room(data, total, "PLAIN BYTE_ARRAY", err) != 0 ||
        sm_buf_reserve(data, (size_t)total, err) != 0) {
        return SM_ERR_NOMEM;
    }
    /* pass 2: copy */
    uint8_t *dst = data->data;
    size_t off = data->len;
    offsets[0] = (int32_t)off;
    pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t len = load_le32(in + pos);
        pos += 4;
        if (len) {
            memcpy(dst + off, in + pos, len);
        }
        pos += len;
        off += len;
        offsets[i + 1] = (int32_t)off;
    }
    data->len = off;
    if (consumed) {
        *consumed = pos;
    }
    return 0;
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------------------------ */

/*
 * Decodes into out32 or out64 (one is NULL). All arithmetic is uint64; for INT32 the low 32 bits
 * are stored, which equals 32-bit wrap-around arithmetic.
 */
static int delta_decode(const uint8_t *in, size_t in_len, size_t n, int32_t *out32, int64_t *out64,
                        size_t *consumed, sm_error *err)
{
    const int max_bw = out32 ? 32 : 64;
    const char *what = out32 ? "DELTA_BINARY_PACKED INT32" : "DELTA_BINARY_PACKED INT64";
    size_t pos = 0, l;
    uint64_t block_size, n_mini, total, zz_first;
    if ((l = read_uleb(in, in_len, &block_size)) == 0) {
        goto truncated;
    }
    pos += l;
    if ((l = read_uleb(in + pos, in_len - pos, &n_mini)) == 0) {
        goto truncated;
    }
    pos += l;
    if ((l = read_uleb(in + pos, in_len - pos, &total)) == 0) {
        goto truncated;
    }
    pos += l;
    if ((l = read_uleb(in + pos, in_len - pos, &zz_first)) == 0) {
        goto truncated;
    }
    pos += l;
    if (block_size == 0 || block_size % 128 != 0 || block_size > (UINT64_C(1) << 31)) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "%s: block size %llu is not a multiple of 128 (up to 2^31)", what,
                            (unsigned long long)block_size);
    }
    if (n_mini == 0 || block_size % n_mini != 0 || (block_size / n_mini) % 32 != 0) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "%s: %llu miniblocks do not split a block of %llu into multiples of "
                            "32 values",
                            what, (unsigned long long)n_mini, (unsigned long long)block_size);
    }
    if (total != n) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: header says %llu values, page has %zu", what,
                            (unsigned long long)total, n);
    }
    const uint64_t per_mini = block_size / n_mini;
    uint64_t prev = (zz_first >> 1) ^ (0 - (zz_first & 1));
    size_t got = 0;
    if (n > 0) {
        if (out32) {
            out32[0] = (int32_t)(uint32_t)prev;
        } else {
            out64[0] = (int64_t)prev;
        }
        got = 1;
    }
    while (got < n) {
        uint64_t zz_min;
        if ((l = read_uleb(in + pos, in_len - pos, &zz_min)) == 0) {
            goto truncated;
        }
        pos += l;
        const uint64_t min_delta = (zz_min >> 1) ^ (0 - (zz_min & 1));
        if (n_mini > in_len - pos) {
            goto truncated;
        }
        const uint8_t *widths = in + pos;
        pos += (size_t)n_mini;
        for (size_t m = 0; m < n_mini && got < n; m++) {
            int bw = widths[m];
            if (bw > max_bw) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "%s: miniblock bit width %d over %d at byte %zu", what, bw,
                                    max_bw, (size_t)(widths - in) + m);
            }
            uint64_t mini_bytes = per_mini * (uint64_t)bw / 8;
            size_t avail = in_len - pos;
            size_t take = per_mini < n - got ? (size_t)per_mini : n - got;
            if ((uint64_t)take * (uint64_t)bw > (uint64_t)avail * 8) {
                goto truncated;
            }
            size_t have = mini_bytes < avail ? (size_t)mini_bytes : avail;
            const uint8_t *src = in + pos;
            uint64_t bp = 0;
            if (out32) {
                for (size_t k = 0; k < take; k++, bp += (uint64_t)bw) {
                    prev += min_delta + read_bits(src, have, bp, bw);
                    out32[got + k] = (int32_t)(uint32_t)prev;
                }
            } else {
                for (size_t k = 0; k < take; k++, bp += (uint64_t)bw) {
                    prev += min_delta + read_bits(src, have, bp, bw);
                    out64[got + k] = (int64_t)prev;
                }
            }
            got += take;
            pos += have;
        }
    }
    if (consumed) {
        *consumed = pos;
    }
    return 0;
truncated:
    return sm_error_set(err, SM_ERR_CORRUPT, "%s: data truncated or bad varint at byte %zu of %zu",
                        what, pos, in_len);
}

int enc_delta_binary_decode_int32(const uint8_t *in, size_t in_len, size_t n, int32_t *out,
                                  size_t *consumed, sm_error *err)
{
    return delta_decode(in, in_len, n, out, NULL, consumed, err);
}

int enc_delta_binary_decode_int64(const uint8_t *in, size_t in_len, size_t n, int64_t *out,
                                  size_t *consumed, sm_error *err)
{
    return delta_decode(in, in_len, n, NULL, out, consumed, err);
}

/* Decodes n DELTA_BINARY_PACKED lengths into lens[0..n), checks each is >= 0 and returns their
 * sum in *total. */
static int decode_lengths(const uint8_t *in, size_t in_len, size_t n, int32_t *lens,
                          uint64_t *total, size_t *used, const char *what, sm_error *err)
{
    int rc = delta_decode(in, in_len, n, lens, NULL, used, err);
    if (rc != 0) {
        sm_error_prefix(err, "%s", what);
        return rc;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 0) {
            return sm_error_set(err, SM_ERR_CORRUPT, "%s: value %zu has length %d", what, i,
                                (int)lens[i]);
        }
        sum += (uint64_t)lens[i];
    }
    *total = sum;
    return 0;
}

int enc_delta_length_decode(const uint8_t *in, size_t in_len, size_t n, int32_t *offsets,
                            sm_buf *data, size_t *consumed, sm_error *err)
{
    const char *what = "DELTA_LENGTH_BYTE_ARRAY";
    size_t pos = 0;
    uint64_t total = 0;
    /* the lengths go to offsets[1..n] and become offsets in place */
    int rc = decode_lengths(in, in_len, n, offsets + 1, &total, &pos, what, err);
    if (rc != 0) {
        return rc;
    }
    if (total > in_len - pos) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: %llu bytes of values, %zu left in the page",
                            what, (unsigned long long)total, in_len - pos);
    }
    if (check_offsets_room(data, total, what, err) != 0 ||
        sm_buf_append(data, in + pos, (size_t)total, err) != 0) {
        return SM_ERR_NOMEM;
    }
    int64_t off = (int64_t)(data->len - (size_t)total);
    offsets[0] = (int32_t)off;
    for (size_t i = 0; i < n; i++) {
        off += offsets[i + 1];
        offsets[i + 1] = (int32_t)off;
    }
    if (consumed) {
        *consumed = pos + (size_t)total;
    }
    return 0;
}

int enc_delta_byte_array_decode(const uint8_t *in, size_t in_len, size_t n, size_t max_bytes,
                                int32_t *offsets, sm_buf *data, size_t *consumed, sm_error *err)
{
    const char *what = "DELTA_BYTE_ARRAY";
    int32_t *prefix = NULL;
    if (n > 0) {
        if (n > SIZE_MAX / sizeof *prefix || !(prefix = malloc(n * sizeof *prefix))) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory for %zu prefixes", what, n);
        }
    }
    int rc;
    size_t pos = 0, used = 0;
    uint64_t prefix_total = 0, suffix_total = 0;
    rc = decode_lengths(in, in_len, n, prefix, &prefix_total, &used, "DELTA_BYTE_ARRAY prefixes",
                        err);
    if (rc != 0) {
        goto done;
    }
    pos = used;
    /* suffix lengths go to offsets[1..n] for now */
    rc = decode_lengths(in + pos, in_len - pos, n, offsets + 1, &suffix_total, &used,
                        "DELTA_BYTE_ARRAY suffixes", err);
    if (rc != 0) {
        goto done;
    }
    pos += used;
    if (suffix_total > in_len - pos) {
        rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: %llu bytes of suffixes, %zu left in the page",
                          what, (unsigned long long)suffix_total, in_len - pos);
        goto done;
    }
    /* pass 1: every prefix within the previous value; size the output */
    uint64_t out_total = 0, prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        if ((uint64_t)prefix[i] > prev_len) {
            rc = sm_error_set(err, SM_ERR_CORRUPT,
                              "%s: value %zu has prefix %d, longer than the previous value (%llu)",
                              what, i, (int)prefix[i], (unsigned long long)prev_len);
            goto done;
        }
        prev_len = (uint64_t)prefix[i] + (uint64_t)offsets[i + 1];
        out_total += prev_len;
        if (out_total > max_bytes) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: values decode to more than %zu bytes", what,
                              max_bytes);
            goto done;
        }
    }
    if (check_offsets_room(data, out_total, what, err) != 0 ||
        sm_buf_reserve(data, (size_t)out_total, err) != 0) {
        rc = SM_ERR_NOMEM;
        goto done;
    }
    /* pass 2: value i = prefix of value i-1 (already in data) + suffix from the page */
    uint8_t *d = data->data;
    size_t off = data->len, prev_off = data->len;
    const uint8_t *suffix = in + pos;
    offsets[0] = (int32_t)off;
    for (size_t i = 0; i < n; i++) {
        size_t p = (size_t)prefix[i];
        size_t s = (size_t)offsets[i + 1];
        if (p) {
            memcpy(d + off, d + prev_off, p);
        }
        if (s) {
            memcpy(d + off + p, suffix, s);
        }
        suffix += s;
        prev_off = off;
        off += p + s;
        offsets[i + 1] = (int32_t)off;
    }
    data->len = off;
    if (consumed) {
        *consumed = pos + (size_t)suffix_total;
    }
    rc = 0;
done:
    free(prefix);
    return rc;
}

/* ---- BYTE_STREAM_SPLIT -------------------------------------------------------------------- */

int enc_byte_stream_split_decode(const uint8_t *in, size_t in_len, size_t n, size_t width,
                                 void *out, size_t *consumed, sm_error *err)
{
    if (width == 0 || in_len % width != 0) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "BYTE_STREAM_SPLIT: %zu bytes are not whole values of %zu bytes",
                            in_len, width);
    }
    size_t stride = in_len / width;
    if (n > stride) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "BYTE_STREAM_SPLIT: %zu values expected, page holds %zu", n, stride);
    }
    uint8_t *o = out;
    if (width == 4) {
        for (size_t i = 0; i < n; i++) {
            o[4 * i + 0] = in[i];
            o[4 * i + 1] = in[stride + i];
            o[4 * i + 2] = in[2 * stride + i];
            o[4 * i + 3] = in[3 * stride + i];
        }
    } else if (width == 8) {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < 8; k++) {
                o[8 * i + k] = in[k * stride + i];
            }
        }
    } else {
        for (size_t k = 0; k < width; k++) {
            const uint8_t *s = in + k * stride;
            for (size_t i = 0; i < n; i++) {
                o[i * width + k] = s[i];
            }
        }
    }
    if (consumed) {
        *consumed = in_len;
    }
    return 0;
}

/* ---- Dictionary builder ------------------------------------------------------------------- */

/*
 * DESIGN: open addressing with linear probing at a load of at most 1/2. A slot holds the entry
 * index + 1 (0 = empty), the low 32 bits of the hash and `key`: the value itself for widths up to
 * 8 bytes (so a probe of INT32/INT64/FLOAT/DOUBLE touches one cache line), or the entry's start
 * and length for byte arrays (so a probe goes to the bytes only when hash and length match).
 * Fixed-width entries are packed in `values` (count * width bytes); byte-array entries are
 * concatenated in `values` (at most 4 GiB, as slots keep 32-bit starts) with their start offsets
 * also in `starts` (count + 1 entries) for enc_dict_entry. Growing the table rehashes from the
 * stored hashes, never from the values.
 */
typedef struct dict_slot {
    uint32_t idx1; /* entry index + 1; 0 = empty */
    uint32_t hash;
    uint64_t key; /* width <= 8: the value, zero-extended; byte arrays: start << 32 | length */
} dict_slot;

struct enc_dict {
    size_t width; /* 0: byte arrays */
    dict_slot *slots;
    size_t mask; /* slots - 1 */
    size_t count;
    size_t plain_size;
    sm_buf values;
    sm_buf starts; /* byte arrays: size_t[count + 1] */
};

#define DICT_MAX_ENTRIES ((size_t)INT32_MAX)
#define DICT_MIN_SLOTS   256
#define DICT_MAX_WIDTH   1024

static const uint64_t K0 = UINT64_C(0x9E3779B97F4A7C15);
static const uint64_t K1 = UINT64_C(0xD6E8FEB86659FD93);
static const uint64_t K2 = UINT64_C(0xFF51AFD7ED558CCD);

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= K1;
    x ^= x >> 32;
    x *= K1;
    x ^= x >> 32;
    return x;
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/*
 * The tail is read with overlapping loads rather than copied into a zeroed buffer (whose
 * reload stalls on store forwarding): from 8 bytes on, the last block is the 8 bytes ending at
 * p + len, overlapping the previous one; 4..7 bytes are two overlapping 4-byte loads; 1..3 bytes
 * the first, middle and last byte (as wyhash and xxh3 do). The length is mixed in first, so
 * values that differ only in length hash apart.
 */
static inline uint64_t hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = K0 ^ (len * K2);
    uint64_t tail;
    if (len >= 8) {
        const uint8_t *last = p + len - 8;
        while (p < last) {
            h = rotl64(h ^ (load_le64(p) * K1), 29) * K0;
            p += 8;
        }
        tail = load_le64(last);
    } else if (len >= 4) {
        tail = (uint64_t)load_le32(p) << 32 | load_le32(p + len - 4);
    } else if (len > 0) {
        tail = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
    } else {
        return mix64(h);
    }
    h = rotl64(h ^ (tail * K1), 29) * K0;
    return mix64(h);
}

/* a[0..len) == b[0..len): keys of up to 16 bytes with two overlapping loads, longer by memcmp. */
static inline bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    if (len >= 8) {
        if (len > 16) {
            return memcmp(a, b, len) == 0;
        }
        return ((load_le64(a) ^ load_le64(b)) |
                (load_le64(a + len - 8) ^ load_le64(b + len - 8))) == 0;
    }
    if (len >= 4) {
        return ((load_le32(a) ^ load_le32(b)) |
                (load_le32(a + len - 4) ^ load_le32(b + len - 4))) == 0;
    }
    if (len == 0) {
        return true;
    }
    return a[0] == b[0] && a[len >> 1] == b[len >> 1] && a[len - 1] == b[len - 1];
}

static int dict_alloc_slots(enc_dict *d, size_t nslots, sm_error *err)
{
    dict_slot *s = calloc(nslots, sizeof *s);
    if (!s) {
        return sm_error_set(err, SM_ERR_NOMEM, "dictionary: out of memory for %zu slots", nslots);
    }
    free(d->slots);
    d->slots = s;
    d->mask = nslots - 1;
    return 0;
}

enc_dict *enc_dict_create(size_t width, sm_error *err)
{
    if (width > DICT_MAX_WIDTH) {
        sm_error_set(err, SM_ERR_USAGE, "dictionary: value width %zu over %d", width,
                     DICT_MAX_WIDTH);
        return NULL;
    }
    enc_dict *d = calloc(1, sizeof *d);
    if (!d) {
        sm_error_set(err, SM_ERR_NOMEM, "dictionary: out of memory");
        return NULL;
    }
    d->width = width;
    if (dict_alloc_slots(d, DICT_MIN_SLOTS, err) != 0) {
        goto fail;
    }
    if (width == 0) {
        size_t zero = 0;
        if (sm_buf_append(&d->starts, &zero, sizeof zero, err) != 0) {
            goto fail;
        }
    }
    return d;
fail:
    enc_dict_destroy(d);
    return NULL;
}

void enc_dict_destroy(enc_dict *d)
{
    if (!d) {
        return;
    }
    free(d->slots);
    sm_buf_free(&d->values);
    sm_buf_free(&d->starts);
    free(d);
}

void enc_dict_reset(enc_dict *d)
{
    memset(d->slots, 0, (d->mask + 1) * sizeof *d->slots);
    d->count = 0;
    d->plain_size = 0;
    sm_buf_reset(&d->values);
    if (d->width == 0) {
        d->starts.len = sizeof(size_t); /* starts[0] = 0 stays */
    }
}

static int dict_grow(enc_dict *d, sm_error *err)
{
    size_t old_n = d->mask + 1;
    if (old_n > SIZE_MAX / 2 / sizeof(dict_slot)) {
        return sm_error_set(err, SM_ERR_NOMEM, "dictionary: table too large");
    }
    dict_slot *old = d->slots;
    dict_slot *s = sm_calloc_table(old_n * 2, sizeof *s); /* core/arena.h: why not calloc */
    if (!s) {
        return sm_error_set(err, SM_ERR_NOMEM, "dictionary: out of memory for %zu slots",
                            old_n * 2);
    }
    size_t mask = old_n * 2 - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].idx1) {
            size_t j = old[i].hash & mask;
            while (s[j].idx1) {
                j = (j + 1) & mask;
            }
            s[j] = old[i];
        }
    }
    free(old);
    d->slots = s;
    d->mask = mask;
    return 0;
}

static inline const size_t *dict_starts(const enc_dict *d)
{
    return (const size_t *)(const void *)d->starts.data;
}

/* Adds a new entry at slot j. Returns its index or -1. */
static int32_t dict_add(enc_dict *d, size_t j, uint32_t h, uint64_t key, const uint8_t *v,
                        size_t len, sm_error *err)
{
    if (d->count >= DICT_MAX_ENTRIES) {
        sm_error_set(err, SM_ERR_NOMEM, "dictionary: more than %zu entries", DICT_MAX_ENTRIES);
        return -1;
    }
    if (d->width == 0) {
        size_t start = dict_starts(d)[d->count];
        if (len > UINT32_MAX - start) {
            sm_error_set(err, SM_ERR_NOMEM, "dictionary: more than 4 GiB of values");
            return -1;
        }
        key = (uint64_t)start << 32 | len;
        size_t end = start + len;
        if (sm_buf_reserve(&d->starts, sizeof end, err) != 0 ||
            sm_buf_append(&d->values, v, len, err) != 0) {
            return -1;
        }
        memcpy(d->starts.data + d->starts.len, &end, sizeof end);
        d->starts.len += sizeof end;
        d->plain_size += 4 + len;
    } else {
        if (sm_buf_append(&d->values, v, d->width, err) != 0) {
            return -1;
        }
        d->plain_size += d->width;
    }
    int32_t idx = (int32_t)d->count++;
    d->slots[j].idx1 = (uint32_t)idx + 1;
    d->slots[j].hash = h;
    d->slots[j].key = key;
    return idx;
}

/* Keeps the load at most 1/2 counting the entry about to be added, so a probe always ends. */
static inline int dict_make_room(enc_dict *d, sm_error *err)
{
    if ((d->count + 1) * 2 > d->mask + 1) {
        return dict_grow(d, err);
    }
    return 0;
}

static inline int32_t dict_lookup_fixed(enc_dict *d, const uint8_t *v, sm_error *err)
{
    const size_t w = d->width;
    if (dict_make_room(d, err) != 0) {
        return -1;
    }
    uint64_t key = 0;
    if (w == 8) {
        key = load_le64(v);
    } else if (w == 4) {
        key = load_le32(v);
    } else if (w < 8) {
        memcpy(&key, v, w);
    }
    const uint32_t h = (uint32_t)(w <= 8 ? mix64(key * K0 + K2 + w) : hash_bytes(v, w));
    size_t j = h & d->mask;
    for (;;) {
        dict_slot s = d->slots[j];
        if (s.idx1 == 0) {
            return dict_add(d, j, h, key, v, w, err);
        }
        if (s.hash == h &&
            (w <= 8 ? s.key == key
                    : bytes_equal(d->values.data + (size_t)(s.idx1 - 1) * w, v, w))) {
            return (int32_t)(s.idx1 - 1);
        }
        j = (j + 1) & d->mask;
    }
}

static inline int32_t dict_lookup_bytes(enc_dict *d, const uint8_t *v, size_t len, sm_error *err)
{
    if (dict_make_room(d, err) != 0) {
        return -1;
    }
    const uint32_t h = (uint32_t)hash_bytes(v, len);
    size_t j = h & d->mask;
    for (;;) {
        dict_slot s = d->slots[j];
        if (s.idx1 == 0) {
            return dict_add(d, j, h, 0, v, len, err);
        }
        if (s.hash == h && (uint32_t)s.key == len &&
            bytes_equal(d->values.data + (s.key >> 32), v, len)) {
            return (int32_t)(s.idx1 - 1);
        }
        j = (j + 1) & d->mask;
    }
}

int32_t enc_dict_insert(enc_dict *d, const void *value, size_t len, sm_error *err)
{
    if (d->width == 0) {
        if (len > UINT32_MAX) {
            sm_error_set(err, SM_ERR_INTERNAL, "dictionary: value of %zu bytes", len);
            return -1;
        }
        return dict_lookup_bytes(d, value, len, err);
    }
    if (len != d->width) {
        sm_error_set(err, SM_ERR_INTERNAL, "dictionary: value of %zu bytes, width is %zu", len,
                     d->width);
        return -1;
    }
    return dict_lookup_fixed(d, value, err);
}

/* How many of the n values from v on equal the first (1 when the second differs): a column
 * that holds one value on every row (a batch id, a processing time) then costs one lookup a
 * page, not one a value; any other column, one comparison. */
static size_t leading_run_fixed(const uint8_t *v, size_t w, size_t n)
{
    size_t r = 1;
    if (w == 8) {
        uint64_t a, b;
        memcpy(&a, v, 8);
        for (; r < n; r++) {
            memcpy(&b, v + r * 8, 8);
            if (b != a) {
                break;
            }
        }
    } else if (w == 4) {
        uint32_t a, b;
        memcpy(&a, v, 4);
        for (; r < n; r++) {
            memcpy(&b, v + r * 4, 4);
            if (b != a) {
                break;
            }
        }
    } else {
        while (r < n && memcmp(v + r * w, v, w) == 0) {
            r++;
        }
    }
    return r;
}

/* indices[0..run) = idx, the run's one lookup: run, or 0 when the lookup failed (idx < 0). */
static size_t fill_run(uint32_t *indices, int32_t idx, size_t run)
{
    if (idx < 0) {
        return 0;
    }
    for (size_t k = 0; k < run; k++) {
        indices[k] = (uint32_t)idx;
    }
    return run;
}

/* The same for byte arrays: offsets[0..n] of the values in data. */
static size_t leading_run_bytes(const int32_t *offsets, const uint8_t *data, size_t n)
{
    int32_t len = offsets[1] - offsets[0];
    const uint8_t *first = data + offsets[0];
    size_t r = 1;
    while (r < n && offsets[r + 1] - offsets[r] == len &&
           (len == 0 || memcmp(data + offsets[r], first, (size_t)len) == 0)) {
        r++;
    }
    return r;
}

int enc_dict_insert_fixed(enc_dict *d, const void *values, const uint8_t *validity, size_t start,
                          size_t n, uint32_t *indices, size_t *n_indices, sm_error *err)
{
    if (d->width == 0) {
        return sm_error_set(err, SM_ERR_INTERNAL,
                            "dictionary: fixed insert into a byte-array "
                            "dictionary");
    }
    const uint8_t *v = values;
    const size_t w = d->width;
    size_t k = 0, i = start;
    if (!validity && n > 1) {
        size_t run = leading_run_fixed(v + start * w, w, n);
        if (run > 1 &&
            (k = fill_run(indices, dict_lookup_fixed(d, v + start * w, err), run)) == 0) {
            return SM_ERR_NOMEM;
        }
        i += k;
    }
    for (; i < start + n; i++) {
        if (!IS_VALID(validity, i)) {
            continue;
        }
        int32_t idx = dict_lookup_fixed(d, v + i * w, err);
        if (idx < 0) {
            return SM_ERR_NOMEM;
        }
        indices[k++] = (uint32_t)idx;
    }
    *n_indices = k;
    return 0;
}

int enc_dict_insert_byte_array(enc_dict *d, const int32_t *offsets, const uint8_t *data,
                               const uint8_t *validity, size_t start, size_t n, uint32_t *indices,
                               size_t *n_indices, sm_error *err)
{
    if (d->width != 0) {
        return sm_error_set(err, SM_ERR_INTERNAL,
                            "dictionary: byte-array insert into a fixed-width dictionary");
    }
    size_t k = 0, i = start;
    if (!validity && n > 1 && offsets[start + 1] >= offsets[start]) {
        size_t run = leading_run_bytes(offsets + start, data, n);
        size_t len = (size_t)(offsets[start + 1] - offsets[start]);
        if (run > 1 && (k = fill_run(indices, dict_lookup_bytes(d, data + offsets[start], len, err),
                                     run)) == 0) {
            return SM_ERR_NOMEM;
        }
        i += k;
    }
    for (; i < start + n; i++) {
        if (!IS_VALID(validity, i)) {
            continue;
        }
        if (offsets[i + 1] < offsets[i]) {
            return sm_error_set(err, SM_ERR_INTERNAL, "dictionary: offsets decrease at slot %zu",
                                i);
        }
        int32_t idx =
            dict_lookup_bytes(d, data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]), err);
        if (idx < 0) {
            return SM_ERR_NOMEM;
        }
        indices[k++] = (uint32_t)idx;
    }
    *n_indices = k;
    return 0;
}

size_t enc_dict_count(const enc_dict *d)
{
    return d->count;
}

size_t enc_dict_plain_size(const enc_dict *d)
{
    return d->plain_size;
}

const uint8_t *enc_dict_entry(const enc_dict *d, size_t i, size_t *len)
{
    if (i >= d->count) {
        *len = 0;
        return NULL;
    }
    if (d->width == 0) {
        const size_t *starts = dict_starts(d);
        *len = starts[i + 1] - starts[i];
        return d->values.data + starts[i];
    }
    *len = d->width;
    return d->values.data + i * d->width;
}

int enc_dict_write_plain(const enc_dict *d, sm_buf *out, sm_error *err)
{
    if (d->width != 0) {
        return sm_buf_append(out, d->values.data, d->count * d->width, err);
    }
    if (sm_buf_reserve(out, d->plain_size, err) != 0) {
        return SM_ERR_NOMEM;
    }
    const size_t *starts = dict_starts(d);
    uint8_t *p = out->data + out->len;
    for (size_t i = 0; i < d->count; i++) {
        uint32_t len = (uint32_t)(starts[i + 1] - starts[i]);
        memcpy(p, &len, 4);
        if (len) {
            memcpy(p + 4, d->values.data + starts[i], len);
        }
        p += 4 + len;
    }
    out->len += d->plain_size;
    return 0;
}
