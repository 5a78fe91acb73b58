/*
 * Parquet compression codecs — see storage/codec.h.
 *
 * DESIGN: every decompressor is told the exact output size and is given exactly that much room,
 * so a corrupt or hostile page can neither write past the caller's buffer nor make us allocate
 * by what it claims: the libraries' bounded calls (LZ4_decompress_safe, snappy_uncompress after
 * snappy_uncompressed_length, ZSTD_decompressDCtx, inflate with avail_out, the brotli stream
 * API) stop at the end of the output. Work is bounded by in_len + out_len.
 *
 * Pages are at most 2 GiB (the page header's sizes are int32), which also keeps every length
 * inside the libraries' int / uInt parameters.
 */
#include "storage/codec.h"

#include <brotli/decode.h>
#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define CODEC_MAX_INPUT    ((size_t)INT32_MAX)
#define GZIP_DEFAULT_LEVEL 6
/* Not zstd's own default (3): level 1, as Arrow's writers, compresses Parquet pages (already
 * dictionary- and RLE-encoded) about 1.5-2x faster for a size within a few percent — smaller
 * on the orders of bench/parquet. */
#define ZSTD_DEFAULT_LEVEL 1

struct codec_ctx {
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    z_stream def; /* gzip deflate, valid when def_ready */
    bool def_ready;
    int def_level;
    z_stream inf; /* gzip/zlib inflate, valid when inf_ready */
    bool inf_ready;
};

codec_ctx *codec_ctx_create(void)
{
    return calloc(1, sizeof(codec_ctx));
}

void codec_ctx_destroy(codec_ctx *ctx)
{
    if (!ctx) {
        return;
    }
    ZSTD_freeCCtx(ctx->zc);
    ZSTD_freeDCtx(ctx->zd);
    if (ctx->def_ready) {
        deflateEnd(&ctx->def);
    }
    if (ctx->inf_ready) {
        inflateEnd(&ctx->inf);
    }
    free(ctx);
}

const char *codec_name(int codec)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        return "UNCOMPRESSED";
    case PQ_CODEC_SNAPPY:
        return "SNAPPY";
    case PQ_CODEC_GZIP:
        return "GZIP";
    case PQ_CODEC_LZO:
        return "LZO";
    case PQ_CODEC_BROTLI:
        return "BROTLI";
    case PQ_CODEC_LZ4:
        return "LZ4";
    case PQ_CODEC_ZSTD:
        return "ZSTD";
    case PQ_CODEC_LZ4_RAW:
        return "LZ4_RAW";
    }
    return "UNKNOWN";
}

bool codec_can_compress(int codec)
{
    return codec == PQ_CODEC_UNCOMPRESSED || codec == PQ_CODEC_SNAPPY || codec == PQ_CODEC_GZIP ||
           codec == PQ_CODEC_ZSTD || codec == PQ_CODEC_LZ4_RAW;
}

size_t codec_max_compressed_len(int codec, size_t in_len)
{
    if (in_len > CODEC_MAX_INPUT) {
        return 0;
    }
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        return in_len;
    case PQ_CODEC_SNAPPY:
        return snappy_max_compressed_length(in_len);
    case PQ_CODEC_GZIP:
        /* compressBound covers deflate plus zlib's 6-byte wrapper; gzip's is 18 bytes */
        return (size_t)compressBound((uLong)in_len) + 12;
    case PQ_CODEC_ZSTD: {
        size_t b = ZSTD_compressBound(in_len);
        return ZSTD_isError(b) ? 0 : b;
    }
    case PQ_CODEC_LZ4_RAW:
        return in_len > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)in_len);
    default:
        return 0;
    }
}

/* ---- compression ---------------------------------------------------------------------------- */

static int refuse_codec(int codec, const char *what, sm_error *err)
{
    switch (codec) {
    case PQ_CODEC_LZO:
        return sm_error_set(err, SM_ERR_USAGE, "%s: codec LZO is not supported", what);
    case PQ_CODEC_BROTLI:
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: codec BROTLI is supported for reading only; write ZSTD instead",
                            what);
    case PQ_CODEC_LZ4:
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: codec LZ4 (Hadoop framing) is deprecated and read-only; "
                            "write LZ4_RAW instead",
                            what);
    default:
        return sm_error_set(err, SM_ERR_USAGE, "%s: unknown codec %d", what, codec);
    }
}

static int compress_gzip(codec_ctx *ctx, int level, const uint8_t *in, size_t in_len, uint8_t *dst,
                         size_t cap, size_t *out_len, sm_error *err)
{
    if (level == CODEC_LEVEL_DEFAULT) {
        level = GZIP_DEFAULT_LEVEL;
    }
    if (level < 1 || level > 9) {
        return sm_error_set(err, SM_ERR_USAGE, "GZIP level %d out of range 1..9", level);
    }
    z_stream *zs = &ctx->def;
    if (ctx->def_ready && ctx->def_level != level) {
        deflateEnd(zs);
        ctx->def_ready = false;
    }
    if (!ctx->def_ready) {
        memset(zs, 0, sizeof *zs);
        int rc = deflateInit2(zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) {
            return sm_error_set(err, rc == Z_MEM_ERROR ? SM_ERR_NOMEM : SM_ERR_INTERNAL,
                                "GZIP: deflateInit2 failed (%d)", rc);
        }
        ctx->def_ready = true;
        ctx->def_level = level;
    } else if (deflateReset(zs) != Z_OK) {
        return sm_error_set(err, SM_ERR_INTERNAL, "GZIP: deflateReset failed");
    }
    static const uint8_t empty = 0;
    zs->next_in = (Bytef *)(in_len ? in : &empty);
    zs->avail_in = (uInt)in_len;
    zs->next_out = dst;
    zs->avail_out = (uInt)cap;
    int rc = deflate(zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        return sm_error_set(err, SM_ERR_INTERNAL, "GZIP: deflate did not finish (%d)", rc);
    }
    *out_len = cap - zs->avail_out;
    return 0;
}

static int compress_zstd(codec_ctx *ctx, int level, const uint8_t *in, size_t in_len, uint8_t *dst,
                         size_t cap, size_t *out_len, sm_error *err)
{
    if (level == CODEC_LEVEL_DEFAULT) {
        level = ZSTD_DEFAULT_LEVEL;
    }
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        return sm_error_set(err, SM_ERR_USAGE, "ZSTD level %d out of range %d..%d", level,
                            ZSTD_minCLevel(), ZSTD_maxCLevel());
    }
    if (!ctx->zc) {
        ctx->zc = ZSTD_createCCtx();
        if (!ctx->zc) {
            return sm_error_set(err, SM_ERR_NOMEM, "ZSTD: out of memory creating a context");
        }
    }
    size_t r = ZSTD_compressCCtx(ctx->zc, dst, cap, in, in_len, level);
    if (ZSTD_isError(r)) {
        return sm_error_set(err, SM_ERR_INTERNAL, "ZSTD: %s", ZSTD_getErrorName(r));
    }
    *out_len = r;
    return 0;
}

int codec_ctx_compress(codec_ctx *ctx, int codec, int level, const uint8_t *in, size_t in_len,
                       sm_buf *out, sm_error *err)
{
    if (!ctx) {
        return codec_compress(codec, level, in, in_len, out, err);
    }
    if (!codec_can_compress(codec)) {
        return refuse_codec(codec, "compress", err);
    }
    if (in_len > CODEC_MAX_INPUT) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: %zu bytes is too large for one page (max %zu)",
                            codec_name(codec), in_len, CODEC_MAX_INPUT);
    }
    size_t bound = codec_max_compressed_len(codec, in_len);
    if (sm_buf_reserve(out, bound, err) != 0) {
        return SM_ERR_NOMEM;
    }
    uint8_t *dst = out->data + out->len;
    size_t n = 0;
    int rc = 0;
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (in_len) {
            memcpy(dst, in, in_len);
        }
        n = in_len;
        break;
    case PQ_CODEC_SNAPPY: {
        n = bound;
        snappy_status st = snappy_compress((const char *)in, in_len, (char *)dst, &n);
        if (st != SNAPPY_OK) {
            rc = sm_error_set(err, SM_ERR_INTERNAL, "SNAPPY: compress failed (%d)", (int)st);
        }
        break;
    }
    case PQ_CODEC_GZIP:
        rc = compress_gzip(ctx, level, in, in_len, dst, bound, &n, err);
        break;
    case PQ_CODEC_ZSTD:
        rc = compress_zstd(ctx, level, in, in_len, dst, bound, &n, err);
        break;
    case PQ_CODEC_LZ4_RAW: {
        int r = LZ4_compress_default((const char *)in, (char *)dst, (int)in_len, (int)bound);
        if (r <= 0) {
            rc = sm_error_set(err, SM_ERR_INTERNAL, "LZ4_RAW: compress failed");
        }
        n = (size_t)r;
        break;
    }
    }
    if (rc != 0) {
        return rc;
    }
    out->len += n;
    return 0;
}

int codec_compress(int codec, int level, const uint8_t *in, size_t in_len, sm_buf *out,
                   sm_error *err)
{
    codec_ctx ctx = {0};
    int rc = codec_ctx_compress(&ctx, codec, level, in, in_len, out, err);
    ZSTD_freeCCtx(ctx.zc);
    if (ctx.def_ready) {
        deflateEnd(&ctx.def);
    }
    return rc;
}

/* ---- decompression -------------------------------------------------------------------------- */

static int size_mismatch(int codec, size_t got, size_t want, sm_error *err)
{
    return sm_error_set(err, SM_ERR_CORRUPT, "%s: decompressed to %zu bytes, page header says %zu",
                        codec_name(codec), got, want);
}

static int too_large(int codec, size_t want, sm_error *err)
{
    return sm_error_set(err, SM_ERR_CORRUPT,
                        "%s: decompressed to more than %zu bytes, page header says %zu",
                        codec_name(codec), want, want);
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Hadoop framing: [BE32 uncompressed][BE32 compressed][LZ4 block], repeated to the end of the
 * input. True only when every frame is well formed and they fill out[0..out_len) exactly. */
static bool lz4_hadoop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    size_t ip = 0, op = 0; /* empty input: zero frames, zero bytes */
    while (ip < in_len) {
        if (in_len - ip < 8) {
            return false;
        }
        size_t ulen = load_be32(in + ip);
        size_t clen = load_be32(in + ip + 4);
        ip += 8;
        if (clen > in_len - ip || ulen > out_len - op) {
            return false;
        }
        if (ulen > 0 || clen > 0) {
            int r =
                LZ4_decompress_safe((const char *)in + ip, (char *)out + op, (int)clen, (int)ulen);
            if (r < 0 || (size_t)r != ulen) {
                return false;
            }
        }
        ip += clen;
        op += ulen;
    }
    return op == out_len;
}

static int decompress_lz4_block(int codec, const uint8_t *in, size_t in_len, uint8_t *out,
                                size_t out_len, sm_error *err)
{
    char dummy;
    int r = LZ4_decompress_safe((const char *)in, out_len ? (char *)out : &dummy, (int)in_len,
                                (int)out_len);
    if (r < 0) {
        return sm_error_set(
            err, SM_ERR_CORRUPT,
            "%s: corrupt block, or decompressed to more than %zu bytes, page header "
            "says %zu",
            codec_name(codec), out_len, out_len);
    }
    if ((size_t)r != out_len) {
        return size_mismatch(codec, (size_t)r, out_len, err);
    }
    return 0;
}

/* gzip or zlib (windowBits 15 + 32 detects the header); concatenated members are read one after
 * the other, as gzip(1) does. */
static int decompress_gzip(codec_ctx *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t out_len, sm_error *err)
{
    z_stream *zs = &ctx->inf;
    if (!ctx->inf_ready) {
        memset(zs, 0, sizeof *zs);
        int rc = inflateInit2(zs, 15 + 32);
        if (rc != Z_OK) {
            return sm_error_set(err, rc == Z_MEM_ERROR ? SM_ERR_NOMEM : SM_ERR_INTERNAL,
                                "GZIP: inflateInit2 failed (%d)", rc);
        }
        ctx->inf_ready = true;
    } else if (inflateReset(zs) != Z_OK) {
        return sm_error_set(err, SM_ERR_INTERNAL, "GZIP: inflateReset failed");
    }
    uint8_t dummy;
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = out_len ? out : &dummy;
    zs->avail_out = (uInt)out_len;
    if (in_len == 0) {
        return sm_error_set(err, SM_ERR_CORRUPT, "GZIP: empty input is not a gzip stream");
    }
    for (;;) {
        int rc = inflate(zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (zs->avail_in == 0) {
                break;
            }
            /* another member follows */
            if (inflateReset(zs) != Z_OK) {
                return sm_error_set(err, SM_ERR_INTERNAL, "GZIP: inflateReset failed");
            }
            continue;
        }
        if (rc == Z_OK) {
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            if (zs->avail_out == 0 && zs->avail_in > 0) {
                return too_large(PQ_CODEC_GZIP, out_len, err);
            }
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "GZIP: stream truncated after %zu of %zu compressed bytes "
                                "(%zu bytes decompressed)",
                                in_len - zs->avail_in, in_len, out_len - zs->avail_out);
        }
        if (rc == Z_MEM_ERROR) {
            return sm_error_set(err, SM_ERR_NOMEM, "GZIP: out of memory");
        }
        return sm_error_set(err, SM_ERR_CORRUPT, "GZIP: %s at compressed byte %zu",
                            zs->msg ? zs->msg : "corrupt data", in_len - zs->avail_in);
    }
    size_t got = out_len - zs->avail_out;
    if (got != out_len) {
        return size_mismatch(PQ_CODEC_GZIP, got, out_len, err);
    }
    return 0;
}

static int decompress_zstd(codec_ctx *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t out_len, sm_error *err)
{
    if (!ctx->zd) {
        ctx->zd = ZSTD_createDCtx();
        if (!ctx->zd) {
            return sm_error_set(err, SM_ERR_NOMEM, "ZSTD: out of memory creating a context");
        }
    }
    uint8_t dummy;
    size_t r = ZSTD_decompressDCtx(ctx->zd, out_len ? out : &dummy, out_len, in, in_len);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
            return too_large(PQ_CODEC_ZSTD, out_len, err);
        }
        return sm_error_set(err, SM_ERR_CORRUPT, "ZSTD: %s", ZSTD_getErrorName(r));
    }
    if (r != out_len) {
        return size_mismatch(PQ_CODEC_ZSTD, r, out_len, err);
    }
    return 0;
}

static int decompress_snappy(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                             sm_error *err)
{
    size_t ulen = 0;
    if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK) {
        return sm_error_set(err, SM_ERR_CORRUPT, "SNAPPY: corrupt length header");
    }
    if (ulen != out_len) {
        return size_mismatch(PQ_CODEC_SNAPPY, ulen, out_len, err);
    }
    char dummy;
    size_t n = out_len;
    if (snappy_uncompress((const char *)in, in_len, out_len ? (char *)out : &dummy, &n) !=
        SNAPPY_OK) {
        return sm_error_set(err, SM_ERR_CORRUPT, "SNAPPY: corrupt data");
    }
    if (n != out_len) {
        return size_mismatch(PQ_CODEC_SNAPPY, n, out_len, err);
    }
    return 0;
}

static int decompress_brotli(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                             sm_error *err)
{
    BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!s) {
        return sm_error_set(err, SM_ERR_NOMEM, "BROTLI: out of memory creating a decoder");
    }
    uint8_t dummy;
    size_t avail_in = in_len, avail_out = out_len;
    const uint8_t *next_in = in;
    uint8_t *next_out = out_len ? out : &dummy;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
    int rc = 0;
    size_t got = out_len - avail_out;
    switch (r) {
    case BROTLI_DECODER_RESULT_SUCCESS:
        if (avail_in != 0) {
            rc = sm_error_set(err, SM_ERR_CORRUPT, "BROTLI: %zu bytes of garbage after the stream",
                              avail_in);
        } else if (got != out_len) {
            rc = size_mismatch(PQ_CODEC_BROTLI, got, out_len, err);
        }
        break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        rc = too_large(PQ_CODEC_BROTLI, out_len, err);
        break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        rc = sm_error_set(err, SM_ERR_CORRUPT, "BROTLI: stream truncated (%zu bytes decompressed)",
                          got);
        break;
    default:
        rc = sm_error_set(err, SM_ERR_CORRUPT, "BROTLI: %s",
                          BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s)));
        break;
    }
    BrotliDecoderDestroyInstance(s);
    return rc;
}

int codec_ctx_decompress(codec_ctx *ctx, int codec, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_len, sm_error *err)
{
    if (in_len > CODEC_MAX_INPUT || out_len > CODEC_MAX_INPUT) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "%s: page of %zu bytes decompressing to %zu is over the 2 GiB limit",
                            codec_name(codec), in_len, out_len);
    }
    if (!ctx) {
        return codec_decompress(codec, in, in_len, out, out_len, err);
    }
    static const uint8_t empty = 0;
    if (!in) {
        in = &empty; /* in_len is 0: the libraries want a valid pointer */
    }
    if (in_len == 0 && out_len == 0 && codec >= PQ_CODEC_UNCOMPRESSED &&
        codec <= PQ_CODEC_LZ4_RAW && codec != PQ_CODEC_LZO) {
        return 0; /* an empty page body, which some writers leave as no bytes (data page v2) */
    }
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (in_len != out_len) {
            return size_mismatch(codec, in_len, out_len, err);
        }
        if (in_len && in != out) {
            memcpy(out, in, in_len);
        }
        return 0;
    case PQ_CODEC_SNAPPY:
        return decompress_snappy(in, in_len, out, out_len, err);
    case PQ_CODEC_GZIP:
        return decompress_gzip(ctx, in, in_len, out, out_len, err);
    case PQ_CODEC_BROTLI:
        return decompress_brotli(in, in_len, out, out_len, err);
    case PQ_CODEC_LZ4:
        if (lz4_hadoop(in, in_len, out, out_len)) {
            return 0;
        }
        /* not Hadoop framing: older parquet-cpp wrote one raw block */
        return decompress_lz4_block(codec, in, in_len, out, out_len, err);
    case PQ_CODEC_ZSTD:
        return decompress_zstd(ctx, in, in_len, out, out_len, err);
    case PQ_CODEC_LZ4_RAW:
        return decompress_lz4_block(codec, in, in_len, out, out_len, err);
    default:
        return refuse_codec(codec, "decompress", err);
    }
}

int codec_decompress(int codec, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                     sm_error *err)
{
    codec_ctx ctx = {0};
    int rc = codec_ctx_decompress(&ctx, codec, in, in_len, out, out_len, err);
    ZSTD_freeDCtx(ctx.zd);
    if (ctx.inf_ready) {
        inflateEnd(&ctx.inf);
    }
    return rc;
}
