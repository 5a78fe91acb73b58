/* Tests of storage/codec.c: round trips of every codec, exact-size checks, corrupt input,
 * LZ4 Hadoop framing and its raw fallback, concatenated gzip members, and brotli reading. */
#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/buf.h"
#include "storage/codec.h"
#include "sm_test.h"

static const int compressible_codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                          PQ_CODEC_ZSTD, PQ_CODEC_LZ4_RAW};
#define N_CODECS (sizeof compressible_codecs / sizeof compressible_codecs[0])

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rng();
    }
    return p;
}

/* Text-like data that compresses well: repeated words with a counter. */
static uint8_t *compressible_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    static const char *words[] = {"kafka ", "delta ", "parquet ", "smelter ", "offset ", "42 "};
    size_t i = 0, w = 0;
    while (i < n) {
        const char *s = words[(w++ / 3) % 6];
        for (size_t k = 0; s[k] && i < n; k++) {
            p[i++] = (uint8_t)s[k];
        }
    }
    return p;
}

/* Compresses with `codec` (through ctx when given), checks the bound, decompresses and compares. */
static void round_trip(codec_ctx *ctx, int codec, int level, const uint8_t *in, size_t n)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    /* something already in the buffer must survive: compress appends */
    CU_ASSERT_EQUAL_FATAL(sm_buf_append(&out, "HDR", 3, &err), 0);
    int rc = ctx ? codec_ctx_compress(ctx, codec, level, in, n, &out, &err)
                 : codec_compress(codec, level, in, n, &out, &err);
    if (rc != 0) {
        fprintf(stderr, "compress %s n=%zu: %s\n", codec_name(codec), n, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(memcmp(out.data, "HDR", 3), 0);
    size_t clen = out.len - 3;
    CU_ASSERT_TRUE(clen <= codec_max_compressed_len(codec, n));
    uint8_t *back = malloc(n ? n : 1);
    rc = ctx ? codec_ctx_decompress(ctx, codec, out.data + 3, clen, back, n, &err)
             : codec_decompress(codec, out.data + 3, clen, back, n, &err);
    if (rc != 0) {
        fprintf(stderr, "decompress %s n=%zu: %s\n", codec_name(codec), n, err.msg);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(n == 0 || memcmp(back, in, n) == 0);
    free(back);
    sm_buf_free(&out);
}

static void test_codec_round_trips_every_codec_and_size(void)
{
    size_t sizes[] = {0, 1, 2, 100, 4096, 65537, 1 << 20, 3 << 20};
    codec_ctx *ctx = codec_ctx_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *rnd = random_bytes(n);
        uint8_t *txt = compressible_bytes(n);
        for (size_t c = 0; c < N_CODECS; c++) {
            int codec = compressible_codecs[c];
            if (n <= (1 << 20)) { /* random data: keep the big sizes for the fast path */
                round_trip(ctx, codec, CODEC_LEVEL_DEFAULT, rnd, n);
            }
            round_trip(ctx, codec, CODEC_LEVEL_DEFAULT, txt, n);
            if (n <= 65537) {
                round_trip(NULL, codec, CODEC_LEVEL_DEFAULT, txt, n);
            }
        }
        free(rnd);
        free(txt);
    }
    codec_ctx_destroy(ctx);
}

static void test_codec_levels_are_honoured_and_checked(void)
{
    size_t n = 200000;
    uint8_t *txt = compressible_bytes(n);
    codec_ctx *ctx = codec_ctx_create();
    /* level changes on one context re-initialise zlib and reuse the ZSTD context */
    int zstd_levels[] = {1, 3, 9, -5, 1};
    for (size_t i = 0; i < sizeof zstd_levels / sizeof zstd_levels[0]; i++) {
        round_trip(ctx, PQ_CODEC_ZSTD, zstd_levels[i], txt, n);
    }
    int gzip_levels[] = {1, 6, 9, 1};
    for (size_t i = 0; i < sizeof gzip_levels / sizeof gzip_levels[0]; i++) {
        round_trip(ctx, PQ_CODEC_GZIP, gzip_levels[i], txt, n);
    }
    /* the context calls take a NULL context */
    sm_buf z = SM_BUF_INIT;
    sm_error zerr = {0};
    CU_ASSERT_EQUAL(codec_ctx_compress(NULL, PQ_CODEC_ZSTD, 0, txt, n, &z, &zerr), 0);
    uint8_t *zback = malloc(n);
    CU_ASSERT_EQUAL(codec_ctx_decompress(NULL, PQ_CODEC_ZSTD, z.data, z.len, zback, n, &zerr), 0);
    CU_ASSERT_EQUAL(memcmp(zback, txt, n), 0);
    free(zback);
    sm_buf_free(&z);
    /* a higher gzip level is not larger here */
    sm_error err = {0};
    sm_buf a = SM_BUF_INIT, b = SM_BUF_INIT;
    CU_ASSERT_EQUAL(codec_ctx_compress(ctx, PQ_CODEC_GZIP, 1, txt, n, &a, &err), 0);
    CU_ASSERT_EQUAL(codec_ctx_compress(ctx, PQ_CODEC_GZIP, 9, txt, n, &b, &err), 0);
    CU_ASSERT_TRUE(b.len <= a.len);
    size_t before = a.len;
    CU_ASSERT_EQUAL(codec_ctx_compress(ctx, PQ_CODEC_GZIP, 10, txt, n, &a, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "level 10"));
    CU_ASSERT_EQUAL(a.len, before);
    CU_ASSERT_EQUAL(codec_ctx_compress(ctx, PQ_CODEC_ZSTD, 1000, txt, n, &a, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(a.len, before);
    sm_buf_free(&a);
    sm_buf_free(&b);
    codec_ctx_destroy(ctx);
    free(txt);
}

static void test_codec_refuses_lzo_and_unknown_codecs(void)
{
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    uint8_t in[4] = {1, 2, 3, 4}, back[4];
    CU_ASSERT_EQUAL(codec_compress(PQ_CODEC_LZO, 0, in, 4, &out, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "LZO is not supported"));
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZO, in, 4, back, 4, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "LZO is not supported"));
    CU_ASSERT_EQUAL(codec_compress(PQ_CODEC_BROTLI, 0, in, 4, &out, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "BROTLI"));
    CU_ASSERT_EQUAL(codec_compress(PQ_CODEC_LZ4, 0, in, 4, &out, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "LZ4_RAW"));
    CU_ASSERT_EQUAL(codec_compress(99, 0, in, 4, &out, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown codec 99"));
    CU_ASSERT_EQUAL(codec_decompress(-1, in, 4, back, 4, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_FALSE(codec_can_compress(PQ_CODEC_LZO));
    CU_ASSERT_TRUE(codec_can_compress(PQ_CODEC_ZSTD));
    CU_ASSERT_EQUAL(codec_max_compressed_len(PQ_CODEC_LZO, 10), 0);
    CU_ASSERT_STRING_EQUAL(codec_name(PQ_CODEC_LZ4_RAW), "LZ4_RAW");
    CU_ASSERT_STRING_EQUAL(codec_name(12), "UNKNOWN");
    sm_buf_free(&out);
}

static void test_codec_decompress_refuses_a_size_other_than_the_header(void)
{
    size_t n = 10000;
    uint8_t *txt = compressible_bytes(n);
    uint8_t *back = malloc(n + 1);
    sm_error err = {0};
    int codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD,
                    PQ_CODEC_LZ4_RAW};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        sm_buf out = SM_BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(codec_compress(codecs[c], 0, txt, n, &out, &err), 0);
        /* header says one more byte than there is */
        back[n] = 0xEE;
        CU_ASSERT_EQUAL(codec_decompress(codecs[c], out.data, out.len, back, n + 1, &err),
                        SM_ERR_CORRUPT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "page header says 10001"));
        if (codecs[c] != PQ_CODEC_LZ4_RAW) { /* LZ4 cannot tell short from corrupt */
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "decompressed to 10000 bytes"));
        }
        /* header says one byte less: never written past out[n - 1) */
        back[n - 1] = 0xEE;
        CU_ASSERT_EQUAL(codec_decompress(codecs[c], out.data, out.len, back, n - 1, &err),
                        SM_ERR_CORRUPT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "page header says 9999"));
        CU_ASSERT_EQUAL(back[n - 1], 0xEE);
        sm_buf_free(&out);
    }
    free(back);
    free(txt);
}

/* Every truncation of a valid stream is an error (or, for the odd prefix that happens to be a
 * valid stream, the right bytes); byte flips never crash or write past the output. */
static void test_codec_corrupt_input_is_an_error_not_a_crash(void)
{
    size_t n = 3000;
    uint8_t *txt = compressible_bytes(n);
    uint8_t *back = malloc(n);
    sm_error err = {0};
    codec_ctx *ctx = codec_ctx_create();
    int codecs[] = {PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD, PQ_CODEC_LZ4_RAW};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        sm_buf out = SM_BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(codec_compress(codecs[c], 0, txt, n, &out, &err), 0);
        for (size_t cut = 0; cut < out.len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any over-read */
            memcpy(copy, out.data, cut);
            int rc = codec_ctx_decompress(ctx, codecs[c], copy, cut, back, n, &err);
            CU_ASSERT_TRUE(rc == SM_ERR_CORRUPT || (rc == 0 && memcmp(back, txt, n) == 0));
            free(copy);
        }
        for (int trial = 0; trial < 300; trial++) {
            uint8_t *copy = malloc(out.len);
            memcpy(copy, out.data, out.len);
            for (int k = 0; k < 1 + trial % 4; k++) {
                copy[rng() % out.len] ^= (uint8_t)(1 + rng() % 255);
            }
            int rc = codec_ctx_decompress(ctx, codecs[c], copy, out.len, back, n, &err);
            CU_ASSERT_TRUE(rc == 0 || rc == SM_ERR_CORRUPT);
            free(copy);
        }
        sm_buf_free(&out);
    }
    /* garbage that is no stream at all */
    uint8_t junk[64];
    memset(junk, 0xFF, sizeof junk);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        CU_ASSERT_EQUAL(codec_ctx_decompress(ctx, codecs[c], junk, sizeof junk, back, n, &err),
                        SM_ERR_CORRUPT);
    }
    CU_ASSERT_EQUAL(codec_ctx_decompress(ctx, PQ_CODEC_LZ4, junk, sizeof junk, back, n, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(codec_ctx_decompress(ctx, PQ_CODEC_BROTLI, junk, sizeof junk, back, n, &err),
                    SM_ERR_CORRUPT);
    codec_ctx_destroy(ctx);
    free(back);
    free(txt);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends one Hadoop frame holding in[0..n) as an LZ4 block. */
static size_t hadoop_frame(uint8_t *dst, const uint8_t *in, size_t n)
{
    int c =
        LZ4_compress_default((const char *)in, (char *)dst + 8, (int)n, LZ4_compressBound((int)n));
    CU_ASSERT_FATAL(c > 0);
    put_be32(dst, (uint32_t)n);
    put_be32(dst + 4, (uint32_t)c);
    return 8 + (size_t)c;
}

static void test_codec_lz4_reads_hadoop_frames_then_raw_blocks(void)
{
    size_t n = 300000;
    uint8_t *txt = compressible_bytes(n);
    uint8_t *back = malloc(n);
    uint8_t *framed = malloc(2 * (size_t)LZ4_compressBound((int)n) + 64);
    sm_error err = {0};

    /* three frames of different sizes */
    size_t len = 0;
    len += hadoop_frame(framed + len, txt, 100000);
    len += hadoop_frame(framed + len, txt + 100000, 150000);
    len += hadoop_frame(framed + len, txt + 250000, 50000);
    memset(back, 0, n);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, framed, len, back, n, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, txt, n), 0);
    /* a header size that disagrees with the frames is an error */
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, framed, len, back, n - 1, &err), SM_ERR_CORRUPT);
    /* a truncated framed stream is an error, not a crash */
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, framed, len - 3, back, n, &err), SM_ERR_CORRUPT);

    /* a raw block, as old parquet-cpp wrote for codec LZ4 */
    sm_buf raw = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(codec_compress(PQ_CODEC_LZ4_RAW, 0, txt, n, &raw, &err), 0);
    memset(back, 0, n);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, raw.data, raw.len, back, n, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, txt, n), 0);

    /* tiny inputs: a raw block of a few bytes must not be taken for a frame */
    for (size_t small = 0; small < 40; small++) {
        sm_buf s = SM_BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(codec_compress(PQ_CODEC_LZ4_RAW, 0, txt, small, &s, &err), 0);
        CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, s.data, s.len, back, small, &err), 0);
        CU_ASSERT_TRUE(small == 0 || memcmp(back, txt, small) == 0);
        uint8_t one[64];
        size_t fl = hadoop_frame(one, txt, small);
        CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, one, fl, back, small, &err), 0);
        CU_ASSERT_TRUE(small == 0 || memcmp(back, txt, small) == 0);
        sm_buf_free(&s);
    }
    sm_buf_free(&raw);
    free(framed);
    free(back);
    free(txt);
}

static void test_codec_gzip_reads_concatenated_members_and_zlib(void)
{
    size_t n = 50000;
    uint8_t *txt = compressible_bytes(n);
    uint8_t *back = malloc(n);
    sm_error err = {0};
    sm_buf out = SM_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(codec_compress(PQ_CODEC_GZIP, 0, txt, 20000, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(codec_compress(PQ_CODEC_GZIP, 9, txt + 20000, 1, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(codec_compress(PQ_CODEC_GZIP, 1, txt + 20001, n - 20001, &out, &err), 0);
    CU_ASSERT_EQUAL(out.data[0], 0x1f); /* gzip magic */
    CU_ASSERT_EQUAL(out.data[1], 0x8b);
    memset(back, 0, n);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_GZIP, out.data, out.len, back, n, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, txt, n), 0);
    /* garbage after the last member is an error */
    CU_ASSERT_EQUAL(sm_buf_append(&out, "xyz", 3, &err), 0);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_GZIP, out.data, out.len, back, n, &err),
                    SM_ERR_CORRUPT);

    /* a zlib-wrapped stream is read too (windowBits auto-detection) */
    uLongf zlen = compressBound(n);
    uint8_t *z = malloc(zlen);
    CU_ASSERT_EQUAL_FATAL(compress(z, &zlen, txt, n), Z_OK);
    memset(back, 0, n);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_GZIP, z, zlen, back, n, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, txt, n), 0);
    free(z);
    sm_buf_free(&out);
    free(back);
    free(txt);
}

/* Made with libbrotlienc (quality 11, window 22) from brotli_text(). */
static const uint8_t brotli_stream[] = {
    0x1b, 0xdf, 0x01, 0xf8, 0x8d, 0xd4, 0x5a, 0x2d, 0xb6, 0x1e, 0x82, 0xda, 0xe6, 0xb4,
    0xde, 0x30, 0xea, 0x38, 0x2a, 0x3c, 0x11, 0x18, 0x85, 0xa9, 0x93, 0xb1, 0x58, 0x6f,
    0xd8, 0x68, 0x26, 0xa8, 0xd0, 0x64, 0xaa, 0x71, 0xc2, 0xfd, 0x3f, 0xaa, 0x51, 0x93,
    0x7d, 0xa7, 0x36, 0x2f, 0x96, 0x30, 0x3c, 0x42, 0x91, 0x58, 0x22, 0x25, 0x2d, 0x23,
    0x0b, 0x57, 0x1c, 0x42, 0x91, 0x58, 0x22, 0x25, 0x2d, 0x23, 0xbb, 0x7b, 0x00,
};

static size_t brotli_text(char *buf)
{
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        n += (size_t)sprintf(buf + n, "smelter brotli page %02d; ", i);
    }
    return n;
}

static void test_codec_brotli_decompresses_a_known_stream(void)
{
    char want[600];
    size_t n = brotli_text(want);
    CU_ASSERT_EQUAL_FATAL(n, 480);
    uint8_t back[600];
    sm_error err = {0};
    memset(back, 0, sizeof back);
    CU_ASSERT_EQUAL(
        codec_decompress(PQ_CODEC_BROTLI, brotli_stream, sizeof brotli_stream, back, n, &err), 0);
    CU_ASSERT_EQUAL(memcmp(back, want, n), 0);
    CU_ASSERT_EQUAL(
        codec_decompress(PQ_CODEC_BROTLI, brotli_stream, sizeof brotli_stream, back, n + 1, &err),
        SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "decompressed to 480 bytes, page header says 481"));
    back[n - 1] = 0xEE;
    CU_ASSERT_EQUAL(
        codec_decompress(PQ_CODEC_BROTLI, brotli_stream, sizeof brotli_stream, back, n - 1, &err),
        SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(back[n - 1], 0xEE);
    for (size_t cut = 0; cut < sizeof brotli_stream; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, brotli_stream, cut);
        CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_BROTLI, copy, cut, back, n, &err),
                        SM_ERR_CORRUPT);
        free(copy);
    }
}

static void test_codec_empty_pages(void)
{
    sm_error err = {0};
    for (size_t c = 0; c < N_CODECS; c++) {
        sm_buf out = SM_BUF_INIT;
        CU_ASSERT_EQUAL(codec_compress(compressible_codecs[c], 0, NULL, 0, &out, &err), 0);
        CU_ASSERT_EQUAL(codec_decompress(compressible_codecs[c], out.data, out.len, NULL, 0, &err),
                        0);
        sm_buf_free(&out);
    }
    /* an empty page body stored as no bytes at all (datapage_v2_empty_datapage.snappy.parquet),
     * for every codec that reads; LZO stays refused */
    for (int codec = PQ_CODEC_UNCOMPRESSED; codec <= PQ_CODEC_LZ4_RAW; codec++) {
        CU_ASSERT_EQUAL(codec_decompress(codec, NULL, 0, NULL, 0, &err),
                        codec == PQ_CODEC_LZO ? SM_ERR_USAGE : 0);
    }
    /* but no bytes cannot make a non-empty page */
    uint8_t two[2];
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_SNAPPY, NULL, 0, two, 2, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_GZIP, NULL, 0, two, 2, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_ZSTD, NULL, 0, two, 2, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_LZ4, NULL, 0, two, 2, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_BROTLI, NULL, 0, two, 2, &err), SM_ERR_CORRUPT);
    uint8_t one;
    CU_ASSERT_EQUAL(codec_decompress(PQ_CODEC_UNCOMPRESSED, NULL, 0, &one, 1, &err),
                    SM_ERR_CORRUPT);
}

static CU_TestInfo tests[] = {
    {"round trips every codec and size", test_codec_round_trips_every_codec_and_size},
    {"levels are honoured and checked", test_codec_levels_are_honoured_and_checked},
    {"refuses LZO and unknown codecs", test_codec_refuses_lzo_and_unknown_codecs},
    {"decompress refuses a size other than the header",
     test_codec_decompress_refuses_a_size_other_than_the_header},
    {"corrupt input is an error, not a crash", test_codec_corrupt_input_is_an_error_not_a_crash},
    {"LZ4 reads Hadoop frames, then raw blocks",
     test_codec_lz4_reads_hadoop_frames_then_raw_blocks},
    {"GZIP reads concatenated members and zlib",
     test_codec_gzip_reads_concatenated_members_and_zlib},
    {"BROTLI decompresses a known stream", test_codec_brotli_decompresses_a_known_stream},
    {"empty pages", test_codec_empty_pages},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("codec", tests)
