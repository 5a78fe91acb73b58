/* Tests of storage/encoding.c: the RLE/bit-packed hybrid, PLAIN, the DELTA encodings,
 * BYTE_STREAM_SPLIT and the dictionary builder — spec examples, round trips against test-only
 * encoders, and truncated or malformed input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "storage/encoding.h"
#include "sm_test.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A copy of in[0..n) in a buffer of exactly n bytes, so ASan catches any over-read. */
static uint8_t *exact_copy(const uint8_t *in, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n) {
        memcpy(p, in, n);
    }
    return p;
}

/* ---- RLE / bit-packed hybrid ---------------------------------------------------------------- */

static void test_enc_bit_width(void)
{
    CU_ASSERT_EQUAL(enc_bit_width(0), 0);
    CU_ASSERT_EQUAL(enc_bit_width(1), 1);
    CU_ASSERT_EQUAL(enc_bit_width(2), 2);
    CU_ASSERT_EQUAL(enc_bit_width(3), 2);
    CU_ASSERT_EQUAL(enc_bit_width(4), 3);
    CU_ASSERT_EQUAL(enc_bit_width(255), 8);
    CU_ASSERT_EQUAL(enc_bit_width(256), 9);
    CU_ASSERT_EQUAL(enc_bit_width(UINT32_MAX), 32);
    CU_ASSERT_EQUAL(enc_bit_width(UINT64_MAX), 64);
}

/* Spec: the numbers 0..7 at bit width 3 bit-pack to 10001000 11000110 11111010. */
static void test_enc_rle_spec_bit_packing_example(void)
{
    uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(enc_rle_encode(v, 8, 3, &out, &err), 0);
    const uint8_t want[] = {0x03 /* 1 group, bit-packed */, 0x88, 0xC6, 0xFA};
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof want);
    CU_ASSERT_EQUAL(memcmp(out.data, want, sizeof want), 0);
    uint32_t back[8];
    size_t used = 0;
    CU_ASSERT_EQUAL(enc_rle_decode(want, sizeof want, 3, back, 8, &used, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, v, sizeof v), 0);
    CU_ASSERT_EQUAL(used, 4);
    sm_buf_free(&out);
}

static void test_enc_rle_runs_are_rle_and_literals_bit_packed(void)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    /* 100 x 5 at bit width 3: header varint(100 << 1) = C8 01, value in one byte */
    uint32_t v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = 5;
    }
    CU_ASSERT_EQUAL_FATAL(enc_rle_encode(v, 100, 3, &out, &err), 0);
    const uint8_t want[] = {0xC8, 0x01, 0x05};
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof want);
    CU_ASSERT_EQUAL(memcmp(out.data, want, sizeof want), 0);
    /* bit width 17 stores the run value in 3 bytes */
    sm_buf_reset(&out);
    for (int i = 0; i < 10; i++) {
        v[i] = 0x1ABCD;
    }
    CU_ASSERT_EQUAL_FATAL(enc_rle_encode(v, 10, 17, &out, &err), 0);
    const uint8_t want17[] = {0x14, 0xCD, 0xAB, 0x01};
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof want17);
    CU_ASSERT_EQUAL(memcmp(out.data, want17, sizeof want17), 0);
    /* 3 literals then a run of 13: the literal group takes 5 of the run, then a run of 8 */
    sm_buf_reset(&out);
    uint32_t w[16] = {1, 2, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    CU_ASSERT_EQUAL_FATAL(enc_rle_encode(w, 16, 3, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(out.len, 1 + 3 + 2);
    CU_ASSERT_EQUAL(out.data[0], 0x03);
    CU_ASSERT_EQUAL(out.data[4], 8 << 1);
    CU_ASSERT_EQUAL(out.data[5], 7);
    /* bit width 0: one run */
    sm_buf_reset(&out);
    uint32_t z[1000] = {0};
    CU_ASSERT_EQUAL_FATAL(enc_rle_encode(z, 1000, 0, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, 2); /* varint(2000) */
    /* a value wider than the bit width is a caller bug */
    uint32_t big = 8;
    CU_ASSERT_EQUAL(enc_rle_encode(&big, 1, 3, &out, &err), SM_ERR_INTERNAL);
    CU_ASSERT_EQUAL(enc_rle_encode(&big, 1, 33, &out, &err), SM_ERR_USAGE);
    sm_buf_free(&out);
}

static void fill_values(uint32_t *v, size_t n, int bw, int kind)
{
    uint64_t mask = bw == 32 ? UINT32_MAX : ((UINT64_C(1) << bw) - 1);
    size_t i = 0;
    while (i < n) {
        uint32_t x = (uint32_t)(rng() & mask);
        size_t run = 1;
        if (kind == 1) {
            run = 1 + rng() % 20; /* run-heavy */
        } else if (kind == 2) {
            run = n; /* constant */
        } else if (kind == 3) {
            run = (rng() % 3 == 0) ? 8 + rng() % 30 : 1 + rng() % 3; /* mixed */
        }
        for (size_t k = 0; k < run && i < n; k++) {
            v[i++] = x;
        }
    }
}

static void test_enc_rle_round_trips_every_bit_width(void)
{
    static const size_t lens[] = {0,  1,   2,   7,   8,   9,   15,  16,  17,  63,  64,
                                  65, 100, 503, 504, 505, 511, 512, 513, 999, 1000};
    uint32_t *v = malloc(1000 * sizeof *v);
    uint32_t *back = malloc(1001 * sizeof *back);
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    for (int bw = 0; bw <= 32; bw++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li];
            for (int kind = 0; kind < 4; kind++) {
                fill_values(v, n, bw, kind);
                sm_buf_reset(&out);
                CU_ASSERT_EQUAL_FATAL(enc_rle_encode(v, n, bw, &out, &err), 0);
                CU_ASSERT_TRUE(out.len <= enc_rle_max_len(n, bw));
                uint8_t *enc = exact_copy(out.data, out.len);
                size_t used = 0;
                back[n] = 0xDEADBEEF;
                int rc = enc_rle_decode(enc, out.len, bw, back, n, &used, &err);
                CU_ASSERT_EQUAL(rc, 0);
                if (rc != 0) {
                    fprintf(stderr, "bw %d n %zu kind %d: %s\n", bw, n, kind, err.msg);
                }
                CU_ASSERT_EQUAL(used, out.len);
                CU_ASSERT_TRUE(n == 0 || memcmp(back, v, n * sizeof *v) == 0);
                CU_ASSERT_EQUAL(back[n], 0xDEADBEEF); /* nothing past n */
                free(enc);

                /* the length-prefixed form */
                sm_buf_reset(&out);
                CU_ASSERT_EQUAL_FATAL(enc_rle_encode_prefixed(v, n, bw, &out, &err), 0);
                enc = exact_copy(out.data, out.len);
                CU_ASSERT_EQUAL(enc_rle_decode_prefixed(enc, out.len, bw, back, n, &used, &err), 0);
                CU_ASSERT_EQUAL(used, out.len);
                CU_ASSERT_TRUE(n == 0 || memcmp(back, v, n * sizeof *v) == 0);
                free(enc);
            }
        }
    }
    sm_buf_free(&out);
    free(v);
    free(back);
}

static void test_enc_rle_decodes_a_short_final_group_and_stops_at_n(void)
{
    sm_error err = {0};
    uint32_t back[16];
    /* 1, 2, 3 at bit width 3: 9 bits, the writer kept only 2 of the group's 3 bytes */
    const uint8_t short_group[] = {0x03, 0xD1, 0x00};
    size_t used = 0;
    CU_ASSERT_EQUAL(enc_rle_decode(short_group, sizeof short_group, 3, back, 3, &used, &err), 0);
    CU_ASSERT_EQUAL(back[0], 1);
    CU_ASSERT_EQUAL(back[1], 2);
    CU_ASSERT_EQUAL(back[2], 3);
    CU_ASSERT_EQUAL(used, 3);
    /* but the values must be there */
    CU_ASSERT_EQUAL(enc_rle_decode(short_group, 2, 3, back, 3, &used, &err), SM_ERR_CORRUPT);
    /* a run of 2^30 values only fills the n asked for */
    const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x01};
    back[10] = 77;
    CU_ASSERT_EQUAL(enc_rle_decode(huge, sizeof huge, 1, back, 10, &used, &err), 0);
    CU_ASSERT_EQUAL(back[9], 1);
    CU_ASSERT_EQUAL(back[10], 77);
    /* a bit-packed run of 2^28 groups does too, with the bytes the n values need */
    const uint8_t huge_bp[] = {0x81, 0x80, 0x80, 0x80, 0x08, 0xFF, 0x03};
    CU_ASSERT_EQUAL(enc_rle_decode(huge_bp, sizeof huge_bp, 1, back, 10, &used, &err), 0);
    CU_ASSERT_EQUAL(back[9], 1);
    CU_ASSERT_EQUAL(back[10], 77);
    /* bit width 0 with bit-packed and RLE runs */
    const uint8_t zero[] = {0x03, 0x04};
    CU_ASSERT_EQUAL(enc_rle_decode(zero, sizeof zero, 0, back, 10, &used, &err), 0);
    CU_ASSERT_EQUAL(back[0], 0);
    CU_ASSERT_EQUAL(back[9], 0);
    CU_ASSERT_EQUAL(used, 2);
}

static void test_enc_rle_rejects_malformed_input(void)
{
    sm_error err = {0};
    uint32_t back[64];
    size_t used;
    const uint8_t wide[] = {0x10, 0x09}; /* run value 9 at bit width 3 */
    CU_ASSERT_EQUAL(enc_rle_decode(wide, 2, 3, back, 8, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not fit bit width 3"));
    CU_ASSERT_EQUAL(enc_rle_decode(wide, 2, 33, back, 8, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_rle_decode(wide, 2, -1, back, 8, &used, &err), SM_ERR_CORRUPT);
    const uint8_t bad_varint[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    CU_ASSERT_EQUAL(enc_rle_decode(bad_varint, sizeof bad_varint, 1, back, 8, &used, &err),
                    SM_ERR_CORRUPT);
    const uint8_t few[] = {0x06, 0x01}; /* 3 values, 8 asked for */
    CU_ASSERT_EQUAL(enc_rle_decode(few, 2, 1, back, 8, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "after 3 of 8 values"));
    /* prefixed: length past the end, or shorter than 4 */
    const uint8_t pre[] = {0x09, 0x00, 0x00, 0x00, 0x10, 0x01};
    CU_ASSERT_EQUAL(enc_rle_decode_prefixed(pre, sizeof pre, 1, back, 8, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_rle_decode_prefixed(pre, 3, 1, back, 8, &used, &err), SM_ERR_CORRUPT);
}

/* Every strict prefix of an encoding lacks a needed byte, but for padding. */
static void test_enc_rle_truncated_input_is_an_error(void)
{
    uint32_t v[240], back[240];
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    for (int bw = 0; bw <= 32; bw += (bw < 4 ? 1 : 7)) {
        for (int kind = 0; kind < 4; kind++) {
            fill_values(v, 240, bw, kind);
            sm_buf_reset(&out);
            CU_ASSERT_EQUAL_FATAL(enc_rle_encode(v, 240, bw, &out, &err), 0);
            for (size_t cut = 0; cut < out.len; cut++) {
                uint8_t *enc = exact_copy(out.data, cut);
                size_t used;
                int rc = enc_rle_decode(enc, cut, bw, back, 240, &used, &err);
                /* only the zero padding of a last, partly used group (under bw bytes) may go
                 * missing; bit width 0 runs hold no value bytes at all */
                CU_ASSERT_TRUE(rc == SM_ERR_CORRUPT || (rc == 0 && memcmp(back, v, sizeof v) == 0 &&
                                                        (bw == 0 || cut + (size_t)bw > out.len)));
                free(enc);
            }
        }
    }
    sm_buf_free(&out);
}

static void test_enc_dict_indices_round_trip_and_bounds(void)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    uint32_t idx[300], back[300];
    size_t dict_lens[] = {1, 2, 3, 255, 256, 1000, 70000};
    for (size_t d = 0; d < sizeof dict_lens / sizeof dict_lens[0]; d++) {
        for (size_t i = 0; i < 300; i++) {
            idx[i] = (uint32_t)(rng() % dict_lens[d]);
        }
        sm_buf_reset(&out);
        CU_ASSERT_EQUAL_FATAL(enc_dict_indices_encode(idx, 300, dict_lens[d], &out, &err), 0);
        CU_ASSERT_EQUAL(out.data[0], dict_lens[d] == 1 ? 0 : enc_bit_width(dict_lens[d] - 1));
        size_t used;
        CU_ASSERT_EQUAL(
            enc_dict_indices_decode(out.data, out.len, 300, dict_lens[d], back, &used, &err), 0);
        CU_ASSERT_EQUAL(used, out.len);
        CU_ASSERT_EQUAL(memcmp(back, idx, sizeof idx), 0);
        if (dict_lens[d] > 1) {
            /* a dictionary one shorter than the largest index */
            uint32_t max = 0;
            for (size_t i = 0; i < 300; i++) {
                max = idx[i] > max ? idx[i] : max;
            }
            CU_ASSERT_EQUAL(enc_dict_indices_decode(out.data, out.len, 300, max, back, &used, &err),
                            SM_ERR_CORRUPT);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "out of a dictionary"));
        }
    }
    const uint8_t bad_bw[] = {33, 0x02, 0x00};
    size_t used;
    CU_ASSERT_EQUAL(enc_dict_indices_decode(bad_bw, 3, 1, 10, back, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_dict_indices_decode(bad_bw, 0, 1, 10, back, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_dict_indices_decode(bad_bw, 0, 0, 10, back, &used, &err), 0);
    sm_buf_free(&out);
}

/* ---- PLAIN ---------------------------------------------------------------------------------- */

static void test_enc_plain_bool_round_trip_with_nulls(void)
{
    uint8_t vals[100], validity[13] = {0}, back[100];
    size_t nvalid = 0;
    uint8_t want[100];
    for (size_t i = 0; i < 100; i++) {
        vals[i] = (uint8_t)(rng() % 3); /* non-zero = true */
        if (rng() % 4) {
            validity[i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    /* slots 5..94 */
    for (size_t i = 5; i < 95; i++) {
        if (validity[i / 8] >> (i % 8) & 1) {
            want[nvalid++] = vals[i] != 0;
        }
    }
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(enc_plain_encode_bool(vals, validity, 5, 90, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, (nvalid + 7) / 8);
    size_t used;
    CU_ASSERT_EQUAL(enc_plain_decode_bool(out.data, out.len, nvalid, back, &used, &err), 0);
    CU_ASSERT_EQUAL(used, out.len);
    CU_ASSERT_EQUAL(memcmp(back, want, nvalid), 0);
    CU_ASSERT_EQUAL(enc_plain_decode_bool(out.data, out.len - 1, nvalid, back, &used, &err),
                    SM_ERR_CORRUPT);
    /* LSB first: true, false, true -> 0b101 */
    sm_buf_reset(&out);
    const uint8_t tft[] = {1, 0, 1};
    CU_ASSERT_EQUAL(enc_plain_encode_bool(tft, NULL, 0, 3, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, 1);
    CU_ASSERT_EQUAL(out.data[0], 0x05);
    sm_buf_free(&out);
}

static void test_enc_plain_fixed_round_trip_with_nulls(void)
{
    int64_t vals[50], back[50], want[50];
    uint8_t validity[7] = {0};
    size_t nvalid = 0;
    for (size_t i = 0; i < 50; i++) {
        vals[i] = (int64_t)rng();
        if (i % 3) {
            validity[i / 8] |= (uint8_t)(1u << (i % 8));
            want[nvalid++] = vals[i];
        }
    }
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(enc_plain_encode_fixed(vals, 8, validity, 0, 50, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, nvalid * 8);
    size_t used;
    CU_ASSERT_EQUAL(enc_plain_decode_fixed(out.data, out.len, nvalid, 8, back, &used, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, want, nvalid * 8), 0);
    CU_ASSERT_EQUAL(used, nvalid * 8);
    CU_ASSERT_EQUAL(enc_plain_decode_fixed(out.data, out.len, nvalid + 1, 8, back, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_plain_decode_fixed(out.data, out.len, SIZE_MAX / 4, 8, back, &used, &err),
                    SM_ERR_CORRUPT);
    /* all valid: one copy; a 12-byte width (INT96) */
    sm_buf_reset(&out);
    CU_ASSERT_EQUAL(enc_plain_encode_fixed(vals, 12, NULL, 2, 3, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, 36);
    CU_ASSERT_EQUAL(memcmp(out.data, (uint8_t *)vals + 24, 36), 0);
    sm_buf_free(&out);
}

static void test_enc_plain_byte_array_round_trip_and_append(void)
{
    const char *strs[] = {"", "a", "hello", "", "parquet byte array", "zz"};
    int32_t offs[7];
    char data[64];
    size_t dl = 0;
    offs[0] = 0;
    for (int i = 0; i < 6; i++) {
        memcpy(data + dl, strs[i], strlen(strs[i]));
        dl += strlen(strs[i]);
        offs[i + 1] = (int32_t)dl;
    }
    uint8_t validity[1] = {0x3B}; /* slots 0,1,3,4,5 valid; 2 null */
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(
        enc_plain_encode_byte_array(offs, (const uint8_t *)data, validity, 0, 6, &out, &err), 0);
    CU_ASSERT_EQUAL(out.len, 5 * 4 + 0 + 1 + 0 + 18 + 2);
    /* decode twice into one buffer, as two pages of one column */
    sm_buf dec = SM_BUF_INIT;
    int32_t doffs[11];
    size_t used;
    CU_ASSERT_EQUAL(enc_plain_decode_byte_array(out.data, out.len, 5, doffs, &dec, &used, &err), 0);
    CU_ASSERT_EQUAL(used, out.len);
    CU_ASSERT_EQUAL(enc_plain_decode_byte_array(out.data, out.len, 5, doffs + 5, &dec, &used, &err),
                    0);
    const char *want[] = {"", "a", "", "parquet byte array", "zz"};
    for (int page = 0; page < 2; page++) {
        for (int i = 0; i < 5; i++) {
            int k = page * 5 + i;
            CU_ASSERT_EQUAL(doffs[k + 1] - doffs[k], (int32_t)strlen(want[i]));
            CU_ASSERT_EQUAL(memcmp(dec.data + doffs[k], want[i], strlen(want[i])), 0);
        }
    }
    CU_ASSERT_EQUAL(doffs[0], 0);
    CU_ASSERT_EQUAL((size_t)doffs[10], dec.len);
    /* every truncation fails and leaves the data alone */
    size_t before = dec.len;
    for (size_t cut = 0; cut < out.len; cut++) {
        uint8_t *enc = exact_copy(out.data, cut);
        CU_ASSERT_EQUAL(enc_plain_decode_byte_array(enc, cut, 5, doffs, &dec, &used, &err),
                        SM_ERR_CORRUPT);
        free(enc);
    }
    CU_ASSERT_EQUAL(dec.len, before);
    sm_buf_free(&dec);
    sm_buf_free(&out);
}

/* ---- DELTA_BINARY_PACKED -------------------------------------------------------------------- */

static void put_uleb(sm_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        sm_buf_append_byte(b, (uint8_t)(v | 0x80), NULL);
        v >>= 7;
    }
    sm_buf_append_byte(b, (uint8_t)v, NULL);
}

static void put_zigzag(sm_buf *b, int64_t v)
{
    put_uleb(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/*
 * Test-only DELTA_BINARY_PACKED encoder: block size 128, 4 miniblocks of 32. For INT32 (is32)
 * deltas are taken in 32-bit wrap-around arithmetic as parquet-mr does. Unused miniblocks of the
 * last block get bit width `unused_width` (the spec says readers accept any value).
 */
static void delta_encode(const int64_t *v, size_t n, bool is32, uint8_t unused_width, sm_buf *out)
{
    put_uleb(out, 128);
    put_uleb(out, 4);
    put_uleb(out, n);
    put_zigzag(out, n ? v[0] : 0);
    for (size_t start = 1; start < n; start += 128) {
        size_t m = n - start < 128 ? n - start : 128;
        int64_t d[128];
        int64_t min = INT64_MAX;
        for (size_t k = 0; k < m; k++) {
            uint64_t diff = (uint64_t)v[start + k] - (uint64_t)v[start + k - 1];
            d[k] = is32 ? (int64_t)(int32_t)(uint32_t)diff : (int64_t)diff;
            min = d[k] < min ? d[k] : min;
        }
        put_zigzag(out, min);
        uint64_t rel[128] = {0};
        for (size_t k = 0; k < m; k++) {
            rel[k] = (uint64_t)d[k] - (uint64_t)min;
        }
        int widths[4];
        for (int mb = 0; mb < 4; mb++) {
            uint64_t all = 0;
            for (size_t k = (size_t)mb * 32; k < (size_t)mb * 32 + 32 && k < m; k++) {
                all |= rel[k];
            }
            widths[mb] = (size_t)mb * 32 < m ? enc_bit_width(all) : -1;
            sm_buf_append_byte(out, widths[mb] < 0 ? unused_width : (uint8_t)widths[mb], NULL);
        }
        for (int mb = 0; mb < 4; mb++) {
            if (widths[mb] < 0) {
                continue;
            }
            /* 32 values of widths[mb] bits, LSB first; padding values are 0 */
            uint8_t bytes[32 * 8] = {0};
            for (size_t k = 0; k < 32; k++) {
                uint64_t x = rel[mb * 32 + k];
                for (int bit = 0; bit < widths[mb]; bit++) {
                    if (x >> bit & 1) {
                        size_t pos = k * (size_t)widths[mb] + (size_t)bit;
                        bytes[pos / 8] |= (uint8_t)(1u << (pos % 8));
                    }
                }
            }
            sm_buf_append(out, bytes, (size_t)widths[mb] * 4, NULL);
        }
    }
}

/* Spec examples 1 and 2, with a valid block size of 128 (one miniblock of 128 values). */
static void test_enc_delta_spec_examples(void)
{
    sm_error err = {0};
    int32_t out32[8];
    int64_t out64[8];
    size_t used;
    /* 1, 2, 3, 4, 5: min delta 1, bit width 0, no miniblock data */
    const uint8_t ex1[] = {0x80, 0x01, 0x01, 0x05, 0x02, 0x02, 0x00};
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(ex1, sizeof ex1, 5, out32, &used, &err), 0);
    CU_ASSERT_EQUAL(used, sizeof ex1);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(out32[i], i + 1);
    }
    /* 7, 5, 3, 1, 2, 3, 4, 5: min delta -2, bit width 2, relative 0,0,0,3,3,3,3 */
    uint8_t ex2[7 + 32] = {0x80, 0x01, 0x01, 0x08, 0x0E, 0x03, 0x02, 0xC0, 0x3F};
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int64(ex2, sizeof ex2, 8, out64, &used, &err), 0);
    CU_ASSERT_EQUAL(used, sizeof ex2);
    const int64_t want2[] = {7, 5, 3, 1, 2, 3, 4, 5};
    CU_ASSERT_EQUAL(memcmp(out64, want2, sizeof want2), 0);
    /* without the padding of the last miniblock (some writers): still the values */
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int64(ex2, 9, 8, out64, &used, &err), 0);
    CU_ASSERT_EQUAL(memcmp(out64, want2, sizeof want2), 0);
    CU_ASSERT_EQUAL(used, 9);
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int64(ex2, 8, 8, out64, &used, &err), SM_ERR_CORRUPT);
    /* the spec's own block size of 8 is invalid in real files */
    const uint8_t ex1_8[] = {0x08, 0x01, 0x05, 0x02, 0x02, 0x00};
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(ex1_8, sizeof ex1_8, 5, out32, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "multiple of 128"));
    /* a value count other than the page's */
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(ex1, sizeof ex1, 4, out32, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "header says 5 values"));
    /* miniblocks of 16 values */
    const uint8_t mb16[] = {0x80, 0x01, 0x08, 0x05, 0x02, 0x02, 0x00};
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(mb16, sizeof mb16, 5, out32, &used, &err),
                    SM_ERR_CORRUPT);
    /* a bit width above 32 for INT32 */
    uint8_t wide[7 + 33 * 16] = {0x80, 0x01, 0x01, 0x02, 0x00, 0x00, 33};
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(wide, sizeof wide, 2, out32, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_delta_binary_decode_int64(wide, sizeof wide, 2, out64, &used, &err), 0);
}

static void check_delta_round_trip(const int64_t *v, size_t n, bool is32, uint8_t unused_width)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    delta_encode(v, n, is32, unused_width, &out);
    CU_ASSERT_EQUAL_FATAL(sm_buf_append(&out, "TAIL", 4, &err), 0); /* what follows */
    uint8_t *enc = exact_copy(out.data, out.len);
    size_t used = 0;
    if (is32) {
        int32_t *back = malloc((n + 1) * sizeof *back);
        CU_ASSERT_EQUAL(enc_delta_binary_decode_int32(enc, out.len, n, back, &used, &err), 0);
        for (size_t i = 0; i < n; i++) {
            if (back[i] != (int32_t)v[i]) {
                CU_FAIL("int32 value differs");
                break;
            }
        }
        free(back);
    } else {
        int64_t *back = malloc((n + 1) * sizeof *back);
        CU_ASSERT_EQUAL(enc_delta_binary_decode_int64(enc, out.len, n, back, &used, &err), 0);
        CU_ASSERT_TRUE(n == 0 || memcmp(back, v, n * sizeof *v) == 0);
        free(back);
    }
    CU_ASSERT_EQUAL(used, out.len - 4);
    free(enc);
    sm_buf_free(&out);
}

static void test_enc_delta_round_trips_random_and_wrapping_values(void)
{
    static const size_t lens[] = {0, 1, 2, 3, 32, 33, 127, 128, 129, 200, 256, 257, 1000, 5000};
    int64_t *v = malloc(5000 * sizeof *v);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        for (int kind = 0; kind < 5; kind++) {
            for (size_t i = 0; i < n; i++) {
                switch (kind) {
                case 0: /* full range */
                    v[i] = (int64_t)rng();
                    break;
                case 1: /* extremes: every delta overflows */
                    v[i] = (i % 2) ? INT64_MAX : INT64_MIN;
                    break;
                case 2: /* sorted timestamps */
                    v[i] = 1700000000000000LL + (int64_t)i * 1000 + (int64_t)(rng() % 7);
                    break;
                case 3: /* small noise */
                    v[i] = (int64_t)(rng() % 16) - 8;
                    break;
                default: /* constant */
                    v[i] = -42;
                }
            }
            check_delta_round_trip(v, n, false, 0);
            check_delta_round_trip(v, n, false, 0xFF);
            /* INT32: the same values cut to 32 bits, and the 32-bit extremes */
            for (size_t i = 0; i < n; i++) {
                v[i] = kind == 1 ? ((i % 2) ? INT32_MAX : INT32_MIN) : (int32_t)(uint32_t)v[i];
            }
            check_delta_round_trip(v, n, true, 0);
            check_delta_round_trip(v, n, true, 0xEE);
        }
    }
    free(v);
}

static void test_enc_delta_truncated_input_is_an_error(void)
{
    int64_t v[300];
    for (size_t i = 0; i < 300; i++) {
        v[i] = (int64_t)(rng() % 100000);
    }
    sm_buf out = SM_BUF_INIT;
    delta_encode(v, 300, false, 0, &out);
    sm_error err = {0};
    int64_t back[300];
    for (size_t cut = 0; cut < out.len; cut++) {
        uint8_t *enc = exact_copy(out.data, cut);
        size_t used;
        int rc = enc_delta_binary_decode_int64(enc, cut, 300, back, &used, &err);
        /* the last miniblock may lose padding bytes and still hold every value */
        CU_ASSERT_TRUE(rc == SM_ERR_CORRUPT ||
                       (rc == 0 && memcmp(back, v, sizeof v) == 0 && used == cut));
        free(enc);
    }
    /* corrupt bytes anywhere never crash */
    for (int trial = 0; trial < 2000; trial++) {
        uint8_t *enc = exact_copy(out.data, out.len);
        enc[rng() % out.len] = (uint8_t)rng();
        size_t used;
        int rc = enc_delta_binary_decode_int64(enc, out.len, 300, back, &used, &err);
        CU_ASSERT_TRUE(rc == 0 || rc == SM_ERR_CORRUPT);
        int32_t back32[300];
        rc = enc_delta_binary_decode_int32(enc, out.len, 300, back32, &used, &err);
        CU_ASSERT_TRUE(rc == 0 || rc == SM_ERR_CORRUPT);
        free(enc);
    }
    sm_buf_free(&out);
}

/* ---- DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY ---------------------------------------------- */

static void delta_length_encode(const char **strs, size_t n, sm_buf *out)
{
    int64_t lens[64];
    for (size_t i = 0; i < n; i++) {
        lens[i] = (int64_t)strlen(strs[i]);
    }
    delta_encode(lens, n, true, 0, out);
    for (size_t i = 0; i < n; i++) {
        sm_buf_append(out, strs[i], strlen(strs[i]), NULL);
    }
}

static void test_enc_delta_length_spec_example(void)
{
    const char *strs[] = {"Hello", "World", "Foobar", "ABCDEF"};
    sm_buf enc = SM_BUF_INIT, data = SM_BUF_INIT;
    delta_length_encode(strs, 4, &enc);
    sm_error err = {0};
    int32_t offs[9];
    size_t used;
    uint8_t *in = exact_copy(enc.data, enc.len);
    CU_ASSERT_EQUAL_FATAL(enc_delta_length_decode(in, enc.len, 4, offs, &data, &used, &err), 0);
    CU_ASSERT_EQUAL(used, enc.len);
    CU_ASSERT_EQUAL(data.len, 22);
    CU_ASSERT_EQUAL(memcmp(data.data, "HelloWorldFoobarABCDEF", 22), 0);
    const int32_t want[] = {0, 5, 10, 16, 22};
    CU_ASSERT_EQUAL(memcmp(offs, want, sizeof want), 0);
    /* a second page appends */
    CU_ASSERT_EQUAL_FATAL(enc_delta_length_decode(in, enc.len, 4, offs + 4, &data, &used, &err), 0);
    CU_ASSERT_EQUAL(offs[8], 44);
    CU_ASSERT_EQUAL(memcmp(data.data + offs[6], "Foobar", 6), 0);
    /* truncations */
    for (size_t cut = 0; cut < enc.len; cut++) {
        uint8_t *c = exact_copy(enc.data, cut);
        CU_ASSERT_EQUAL(enc_delta_length_decode(c, cut, 4, offs, &data, &used, &err),
                        SM_ERR_CORRUPT);
        free(c);
    }
    CU_ASSERT_EQUAL(data.len, 44);
    /* a negative length */
    sm_buf bad = SM_BUF_INIT;
    int64_t lens[2] = {3, -1};
    delta_encode(lens, 2, true, 0, &bad);
    sm_buf_append(&bad, "abc", 3, NULL);
    CU_ASSERT_EQUAL(enc_delta_length_decode(bad.data, bad.len, 2, offs, &data, &used, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "length -1"));
    sm_buf_free(&bad);
    free(in);
    sm_buf_free(&enc);
    sm_buf_free(&data);
}

static void delta_byte_array_encode(const char **strs, size_t n, sm_buf *out)
{
    int64_t prefix[64];
    const char *suffix[64];
    for (size_t i = 0; i < n; i++) {
        size_t p = 0;
        if (i > 0) {
            while (strs[i][p] && strs[i][p] == strs[i - 1][p]) {
                p++;
            }
        }
        prefix[i] = (int64_t)p;
        suffix[i] = strs[i] + p;
    }
    delta_encode(prefix, n, true, 0, out);
    delta_length_encode(suffix, n, out);
}

static void test_enc_delta_byte_array_spec_example_and_round_trip(void)
{
    const char *strs[] = {"axis", "axle", "babble", "babyhood"};
    sm_buf enc = SM_BUF_INIT, data = SM_BUF_INIT;
    delta_byte_array_encode(strs, 4, &enc);
    /* the suffix bytes at the end are the spec's */
    CU_ASSERT_EQUAL(memcmp(enc.data + enc.len - 17, "axislebabbleyhood", 17), 0);
    sm_error err = {0};
    int32_t offs[5];
    size_t used;
    uint8_t *in = exact_copy(enc.data, enc.len);
    CU_ASSERT_EQUAL_FATAL(
        enc_delta_byte_array_decode(in, enc.len, 4, 1 << 20, offs, &data, &used, &err), 0);
    CU_ASSERT_EQUAL(used, enc.len);
    CU_ASSERT_EQUAL(data.len, 22);
    CU_ASSERT_EQUAL(memcmp(data.data, "axisaxlebabblebabyhood", 22), 0);
    const int32_t want[] = {0, 4, 8, 14, 22};
    CU_ASSERT_EQUAL(memcmp(offs, want, sizeof want), 0);
    for (size_t cut = 0; cut < enc.len; cut++) {
        uint8_t *c = exact_copy(enc.data, cut);
        CU_ASSERT_EQUAL(enc_delta_byte_array_decode(c, cut, 4, 1 << 20, offs, &data, &used, &err),
                        SM_ERR_CORRUPT);
        free(c);
    }
    CU_ASSERT_EQUAL(data.len, 22);
    /* the byte limit */
    CU_ASSERT_EQUAL(enc_delta_byte_array_decode(in, enc.len, 4, 21, offs, &data, &used, &err),
                    SM_ERR_NOMEM);
    free(in);

    /* sorted keys with long shared prefixes, 40 of them */
    const char *keys[40];
    char store[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(store[i], sizeof store[i], "user/%03d/%s", i / 3, (i % 3) ? "events" : "");
        keys[i] = store[i];
    }
    sm_buf_reset(&enc);
    sm_buf_reset(&data);
    delta_byte_array_encode(keys, 40, &enc);
    int32_t koffs[41];
    CU_ASSERT_EQUAL_FATAL(
        enc_delta_byte_array_decode(enc.data, enc.len, 40, 1 << 20, koffs, &data, &used, &err), 0);
    for (int i = 0; i < 40; i++) {
        CU_ASSERT_EQUAL(koffs[i + 1] - koffs[i], (int32_t)strlen(keys[i]));
        CU_ASSERT_EQUAL(memcmp(data.data + koffs[i], keys[i], strlen(keys[i])), 0);
    }

    /* a prefix longer than the previous value */
    sm_buf_reset(&enc);
    int64_t prefix[2] = {0, 5};
    delta_encode(prefix, 2, true, 0, &enc);
    const char *suf[] = {"abc", "d"};
    delta_length_encode(suf, 2, &enc);
    CU_ASSERT_EQUAL(
        enc_delta_byte_array_decode(enc.data, enc.len, 2, 1 << 20, offs, &data, &used, &err),
        SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "longer than the previous value"));
    sm_buf_free(&enc);
    sm_buf_free(&data);
}

/* ---- BYTE_STREAM_SPLIT ---------------------------------------------------------------------- */

static void test_enc_byte_stream_split(void)
{
    /* the spec's example */
    const uint8_t in[] = {0xAA, 0x00, 0xA3, 0xBB, 0x11, 0xB4, 0xCC, 0x22, 0xC5, 0xDD, 0x33, 0xD6};
    const uint8_t want[] = {0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x11, 0x22, 0x33, 0xA3, 0xB4, 0xC5, 0xD6};
    uint8_t out[64];
    sm_error err = {0};
    size_t used;
    CU_ASSERT_EQUAL(enc_byte_stream_split_decode(in, 12, 3, 4, out, &used, &err), 0);
    CU_ASSERT_EQUAL(memcmp(out, want, 12), 0);
    CU_ASSERT_EQUAL(used, 12);
    /* widths 8 and 3 (a FIXED_LEN_BYTE_ARRAY) against a test-side split */
    size_t widths[] = {2, 3, 8, 16};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        size_t width = widths[w], n = 37;
        uint8_t vals[37 * 16], split[37 * 16], back[37 * 16];
        for (size_t i = 0; i < n * width; i++) {
            vals[i] = (uint8_t)rng();
        }
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < width; k++) {
                split[k * n + i] = vals[i * width + k];
            }
        }
        uint8_t *enc = exact_copy(split, n * width);
        CU_ASSERT_EQUAL(enc_byte_stream_split_decode(enc, n * width, n, width, back, &used, &err),
                        0);
        CU_ASSERT_EQUAL(memcmp(back, vals, n * width), 0);
        free(enc);
    }
    CU_ASSERT_EQUAL(enc_byte_stream_split_decode(in, 11, 2, 4, out, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_byte_stream_split_decode(in, 12, 4, 4, out, &used, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(enc_byte_stream_split_decode(in, 12, 1, 0, out, &used, &err), SM_ERR_CORRUPT);
}

/* ---- Dictionary ----------------------------------------------------------------------------- */

static void test_enc_dict_million_int64_with_repeats(void)
{
    const size_t n = 1000000, distinct = 50000;
    int64_t *vals = malloc(n * sizeof *vals);
    uint32_t *idx = malloc(n * sizeof *idx);
    int32_t *first = malloc(distinct * sizeof *first);
    for (size_t i = 0; i < distinct; i++) {
        first[i] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        /* keys spread over the 64-bit range, a function of a small id */
        vals[i] = (int64_t)((rng() % distinct) * UINT64_C(0x9E3779B97F4A7C15));
    }
    sm_error err = {0};
    enc_dict *d = enc_dict_create(8, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t k = 0;
    /* in chunks, as a writer does per page */
    for (size_t at = 0; at < n; at += 65536) {
        size_t chunk = n - at < 65536 ? n - at : 65536, got = 0;
        CU_ASSERT_EQUAL_FATAL(enc_dict_insert_fixed(d, vals, NULL, at, chunk, idx + k, &got, &err),
                              0);
        k += got;
    }
    CU_ASSERT_EQUAL(k, n);
    /* stable: a value always gets the index of its first occurrence; first occurrences are
     * numbered in order */
    size_t seen = 0;
    int stable = 1;
    for (size_t i = 0; i < n; i++) {
        size_t id = (size_t)((uint64_t)vals[i] * UINT64_C(0xF1DE83E19937733D)); /* inverse */
        if (first[id] < 0) {
            first[id] = (int32_t)idx[i];
            stable &= idx[i] == seen++;
        } else {
            stable &= (uint32_t)first[id] == idx[i];
        }
    }
    CU_ASSERT_TRUE(stable);
    CU_ASSERT_EQUAL(enc_dict_count(d), seen);
    CU_ASSERT_EQUAL(enc_dict_plain_size(d), seen * 8);
    /* entries are unique and give back the values */
    int unique = 1;
    for (size_t i = 0; i < n; i += 97) {
        size_t len;
        const uint8_t *e = enc_dict_entry(d, idx[i], &len);
        unique &= len == 8 && memcmp(e, &vals[i], 8) == 0;
    }
    CU_ASSERT_TRUE(unique);
    sm_buf page = SM_BUF_INIT;
    CU_ASSERT_EQUAL(enc_dict_write_plain(d, &page, &err), 0);
    CU_ASSERT_EQUAL(page.len, seen * 8);
    int64_t *dec = malloc(seen * sizeof *dec);
    size_t used;
    CU_ASSERT_EQUAL(enc_plain_decode_fixed(page.data, page.len, seen, 8, dec, &used, &err), 0);
    for (size_t i = 0; i < seen; i++) {
        for (size_t j = i + 1; j < seen && j < i + 3; j++) {
            unique &= dec[i] != dec[j];
        }
    }
    CU_ASSERT_TRUE(unique);
    /* reset starts over at index 0 */
    enc_dict_reset(d);
    CU_ASSERT_EQUAL(enc_dict_count(d), 0);
    CU_ASSERT_EQUAL(enc_dict_insert(d, &vals[5], 8, &err), 0);
    CU_ASSERT_EQUAL(enc_dict_insert(d, &vals[5], 8, &err), 0);
    CU_ASSERT_EQUAL(enc_dict_insert(d, &vals[5], 4, &err), -1);
    CU_ASSERT_EQUAL(err.code, SM_ERR_INTERNAL);
    free(dec);
    sm_buf_free(&page);
    enc_dict_destroy(d);
    free(vals);
    free(idx);
    free(first);
}

static void test_enc_dict_fixed_widths_and_nulls(void)
{
    sm_error err = {0};
    size_t widths[] = {4, 12, 16};
    for (size_t w = 0; w < 3; w++) {
        size_t width = widths[w], n = 20000;
        uint8_t *vals = malloc(n * width);
        uint8_t *validity = calloc(n / 8 + 1, 1);
        uint32_t *idx = malloc(n * sizeof *idx);
        for (size_t i = 0; i < n; i++) {
            uint32_t id = (uint32_t)(rng() % 700);
            memset(vals + i * width, 0, width);
            memcpy(vals + i * width + width - 4, &id, 4); /* differ only in the last bytes */
            if (i % 5) {
                validity[i / 8] |= (uint8_t)(1u << (i % 8));
            }
        }
        enc_dict *d = enc_dict_create(width, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        size_t got = 0;
        CU_ASSERT_EQUAL(enc_dict_insert_fixed(d, vals, validity, 0, n, idx, &got, &err), 0);
        CU_ASSERT_EQUAL(got, n - n / 5);
        CU_ASSERT_TRUE(enc_dict_count(d) <= 700);
        size_t k = 0;
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            if (i % 5 == 0) {
                continue;
            }
            size_t len;
            const uint8_t *e = enc_dict_entry(d, idx[k++], &len);
            ok &= len == width && memcmp(e, vals + i * width, width) == 0;
        }
        CU_ASSERT_TRUE(ok);
        /* wrong kind of insert */
        CU_ASSERT_EQUAL(enc_dict_insert_byte_array(d, NULL, NULL, NULL, 0, 0, idx, &got, &err),
                        SM_ERR_INTERNAL);
        enc_dict_destroy(d);
        free(vals);
        free(validity);
        free(idx);
    }
    CU_ASSERT_PTR_NULL(enc_dict_create(5000, &err));
    enc_dict_destroy(NULL);
}

static void test_enc_dict_byte_arrays(void)
{
    sm_error err = {0};
    const size_t n = 200000;
    int32_t *offs = malloc((n + 1) * sizeof *offs);
    char *data = malloc(n * 24);
    uint32_t *idx = malloc(n * sizeof *idx);
    size_t dl = 0;
    offs[0] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned id = (unsigned)(rng() % 20000);
        int len = id % 7 == 0 ? 0 : snprintf(data + dl, 24, "key-%u%s", id, id % 2 ? "-x" : "");
        dl += (size_t)len;
        offs[i + 1] = (int32_t)dl;
    }
    enc_dict *d = enc_dict_create(0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t got = 0;
    CU_ASSERT_EQUAL_FATAL(
        enc_dict_insert_byte_array(d, offs, (uint8_t *)data, NULL, 0, n, idx, &got, &err), 0);
    CU_ASSERT_EQUAL(got, n);
    size_t count = enc_dict_count(d);
    CU_ASSERT_TRUE(count > 1000 && count <= 20000);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *e = enc_dict_entry(d, idx[i], &len);
        ok &= len == (size_t)(offs[i + 1] - offs[i]) &&
              (len == 0 || memcmp(e, data + offs[i], len) == 0);
    }
    CU_ASSERT_TRUE(ok);
    /* the PLAIN dictionary page decodes to the entries, which are distinct */
    sm_buf page = SM_BUF_INIT, dec = SM_BUF_INIT;
    CU_ASSERT_EQUAL(enc_dict_write_plain(d, &page, &err), 0);
    CU_ASSERT_EQUAL(page.len, enc_dict_plain_size(d));
    int32_t *doffs = malloc((count + 1) * sizeof *doffs);
    size_t used;
    CU_ASSERT_EQUAL(
        enc_plain_decode_byte_array(page.data, page.len, count, doffs, &dec, &used, &err), 0);
    CU_ASSERT_EQUAL(used, page.len);
    /* re-inserting the decoded entries gives 0, 1, 2, ... */
    uint32_t *re = malloc(count * sizeof *re);
    CU_ASSERT_EQUAL(enc_dict_insert_byte_array(d, doffs, dec.data, NULL, 0, count, re, &got, &err),
                    0);
    for (size_t i = 0; i < count; i++) {
        ok &= re[i] == i;
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(enc_dict_count(d), count);
    /* single inserts and reset */
    enc_dict_reset(d);
    CU_ASSERT_EQUAL(enc_dict_insert(d, "b", 1, &err), 0);
    CU_ASSERT_EQUAL(enc_dict_insert(d, "", 0, &err), 1);
    CU_ASSERT_EQUAL(enc_dict_insert(d, "b", 1, &err), 0);
    CU_ASSERT_EQUAL(enc_dict_insert(d, "bb", 2, &err), 2);
    CU_ASSERT_EQUAL(enc_dict_plain_size(d), 4 + 1 + 4 + 0 + 4 + 2);
    free(re);
    free(doffs);
    sm_buf_free(&page);
    sm_buf_free(&dec);
    enc_dict_destroy(d);
    free(offs);
    free(data);
    free(idx);
}

/* A page that starts with a run of one value (a column holding one value on every row, or a
 * prefix of it) is looked up once for the run: the indices are those value-by-value inserts
 * give, whether the run covers the page or ends at any row, from any start, for every width. */
static void test_enc_dict_leading_runs(void)
{
    sm_error err = {0};
    const size_t n = 40, widths[] = {4, 8, 12};
    uint32_t idx[40], want[40];
    int ok = 1;
    for (size_t wi = 0; wi < 3; wi++) {
        size_t w = widths[wi];
        for (size_t run = 1; run <= n; run++) { /* rows [0, run) hold 7, the rest 3 then 7 ... */
            uint8_t vals[40 * 12] = {0};
            for (size_t i = 0; i < n; i++) {
                vals[i * w + w - 1] = i < run ? 7 : (uint8_t)(3 + (i % 2) * 4);
            }
            for (size_t start = 0; start < 3; start++) {
                enc_dict *a = enc_dict_create(w, &err), *b = enc_dict_create(w, &err);
                size_t got = 0;
                CU_ASSERT_PTR_NOT_NULL_FATAL(a);
                CU_ASSERT_PTR_NOT_NULL_FATAL(b);
                enc_dict_insert(b, vals, w, &err); /* an entry first: indices are not all 0 */
                enc_dict_insert(a, vals, w, &err);
                for (size_t i = start; i < n; i++) {
                    want[i - start] = (uint32_t)enc_dict_insert(b, vals + i * w, w, &err);
                }
                ok &= enc_dict_insert_fixed(a, vals, NULL, start, n - start, idx, &got, &err) == 0;
                ok &= got == n - start && memcmp(idx, want, got * sizeof *idx) == 0;
                ok &= enc_dict_count(a) == enc_dict_count(b);
                enc_dict_destroy(a);
                enc_dict_destroy(b);
            }
        }
    }
    /* byte arrays: "batch-7" over the run, then other lengths and bytes, and empty values */
    for (size_t run = 1; run <= n; run++) {
        const char *other[] = {"batch-8", "batch-77", "", "batch-7"};
        char data[40 * 8];
        int32_t offs[41] = {0};
        for (size_t i = 0; i < n; i++) {
            const char *v = i < run ? "batch-7" : other[i % 4];
            memcpy(data + offs[i], v, strlen(v));
            offs[i + 1] = offs[i] + (int32_t)strlen(v);
        }
        enc_dict *a = enc_dict_create(0, &err), *b = enc_dict_create(0, &err);
        size_t got = 0;
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        for (size_t i = 1; i < n; i++) {
            want[i - 1] =
                (uint32_t)enc_dict_insert(b, data + offs[i], (size_t)(offs[i + 1] - offs[i]), &err);
        }
        ok &= enc_dict_insert_byte_array(a, offs, (uint8_t *)data, NULL, 1, n - 1, idx, &got,
                                         &err) == 0;
        ok &= got == n - 1 && memcmp(idx, want, got * sizeof *idx) == 0;
        ok &= enc_dict_count(a) == enc_dict_count(b);
        enc_dict_destroy(a);
        enc_dict_destroy(b);
    }
    /* a run of empty values */
    {
        int32_t offs[5] = {0, 0, 0, 0, 1};
        enc_dict *a = enc_dict_create(0, &err);
        size_t got = 0;
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        ok &= enc_dict_insert_byte_array(a, offs, (const uint8_t *)"x", NULL, 0, 4, idx, &got,
                                         &err) == 0;
        ok &= got == 4 && idx[0] == 0 && idx[1] == 0 && idx[2] == 0 && idx[3] == 1;
        enc_dict_destroy(a);
    }
    CU_ASSERT_TRUE(ok);
}

/* Keys of every length up to 40 that differ from a base key in one byte only, at every position:
 * the hash and the comparison read the tail with overlapping loads, so each byte must count. */
static void test_enc_dict_byte_arrays_differing_in_one_byte(void)
{
    sm_error err = {0};
    enc_dict *d = enc_dict_create(0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    uint8_t base[40], key[40];
    for (size_t k = 0; k < sizeof base; k++) {
        base[k] = (uint8_t)('a' + k % 26);
    }
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        int32_t next = 0; /* every key is new in pass 0 and found again in pass 1 */
        for (size_t len = 0; len <= sizeof base; len++) {
            ok &= enc_dict_insert(d, base, len, &err) == next++;
            for (size_t k = 0; k < len; k++) {
                memcpy(key, base, len);
                key[k] ^= 0x01;
                ok &= enc_dict_insert(d, key, len, &err) == next++;
            }
        }
        ok &= enc_dict_count(d) == (size_t)next;
    }
    CU_ASSERT_TRUE(ok);
    enc_dict_destroy(d);
}

/* The width check is folded into the packing: a bad value anywhere (in a literal group or as a run
 * value) still fails the whole call, and out keeps its length. */
static void test_enc_rle_value_too_wide_fails_anywhere(void)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    uint32_t v[1000];
    for (size_t at = 0; at < 1000; at += 37) {
        for (size_t i = 0; i < 1000; i++) {
            v[i] = i < 500 ? (uint32_t)(i * 7 % 31) : 5; /* literals, then one long run */
        }
        v[at] = at < 500 ? 32 : 37;
        if (at >= 500) {
            for (size_t i = 500; i < 1000; i++) {
                v[i] = 37;
            }
        }
        sm_buf_reset(&out);
        CU_ASSERT_EQUAL_FATAL(sm_buf_append(&out, "x", 1, &err), 0);
        CU_ASSERT_EQUAL(enc_rle_encode(v, 1000, 5, &out, &err), SM_ERR_INTERNAL);
        CU_ASSERT_EQUAL(out.len, 1);
    }
    sm_buf_free(&out);
}

static CU_TestInfo tests[] = {
    {"bit width", test_enc_bit_width},
    {"RLE: the spec's bit-packing example", test_enc_rle_spec_bit_packing_example},
    {"RLE: runs are RLE, literals bit-packed", test_enc_rle_runs_are_rle_and_literals_bit_packed},
    {"RLE: round trips every bit width", test_enc_rle_round_trips_every_bit_width},
    {"RLE: short final group, stops at n", test_enc_rle_decodes_a_short_final_group_and_stops_at_n},
    {"RLE: rejects malformed input", test_enc_rle_rejects_malformed_input},
    {"RLE: truncated input is an error", test_enc_rle_truncated_input_is_an_error},
    {"RLE: a value too wide fails anywhere", test_enc_rle_value_too_wide_fails_anywhere},
    {"dictionary indices round trip and bounds", test_enc_dict_indices_round_trip_and_bounds},
    {"PLAIN BOOLEAN round trip with nulls", test_enc_plain_bool_round_trip_with_nulls},
    {"PLAIN fixed round trip with nulls", test_enc_plain_fixed_round_trip_with_nulls},
    {"PLAIN BYTE_ARRAY round trip and append", test_enc_plain_byte_array_round_trip_and_append},
    {"DELTA_BINARY_PACKED: spec examples", test_enc_delta_spec_examples},
    {"DELTA_BINARY_PACKED: random and wrapping values",
     test_enc_delta_round_trips_random_and_wrapping_values},
    {"DELTA_BINARY_PACKED: truncated input is an error",
     test_enc_delta_truncated_input_is_an_error},
    {"DELTA_LENGTH_BYTE_ARRAY: spec example", test_enc_delta_length_spec_example},
    {"DELTA_BYTE_ARRAY: spec example and round trip",
     test_enc_delta_byte_array_spec_example_and_round_trip},
    {"BYTE_STREAM_SPLIT", test_enc_byte_stream_split},
    {"dictionary: a million INT64 with repeats", test_enc_dict_million_int64_with_repeats},
    {"dictionary: fixed widths and nulls", test_enc_dict_fixed_widths_and_nulls},
    {"dictionary: byte arrays", test_enc_dict_byte_arrays},
    {"dictionary: a leading run is looked up once", test_enc_dict_leading_runs},
    {"dictionary: byte arrays differing in one byte",
     test_enc_dict_byte_arrays_differing_in_one_byte},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("encoding", tests)
