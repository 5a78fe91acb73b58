/*
 * Parquet compression codecs: the page bodies of a column chunk are compressed with one of
 * Parquet's CompressionCodec values (parquet.thrift), numbered as in the file format.
 *
 *   codec          compress  decompress  library
 *   UNCOMPRESSED   yes       yes         -
 *   SNAPPY         yes       yes         libsnappy (raw snappy, no framing)
 *   GZIP           yes       yes         zlib, gzip wrapper; concatenated members accepted
 *   LZO            no        no          not supported (refused with an error)
 *   BROTLI         no        yes         libbrotlidec
 *   LZ4            no        yes         deprecated: Hadoop framing, raw LZ4 block fallback
 *   ZSTD           yes       yes         libzstd (one frame or several)
 *   LZ4_RAW        yes       yes         liblz4 block format
 *
 * LZ4 (5) in files from parquet-mr is Hadoop's framing, repeated
 *   [uint32 BE uncompressed length][uint32 BE compressed length][LZ4 block]
 * while some older parquet-cpp files hold one raw LZ4 block; the decompressor tries the Hadoop
 * framing first and falls back to a raw block, like Arrow. Writers use LZ4_RAW instead.
 *
 * Decompression is told the exact uncompressed size (from the page header) and fails unless the
 * input decompresses to exactly that many bytes. It never writes past `out[out_len)` and does
 * bounded work on corrupt input (every library call is bounded by out_len).
 *
 * Contexts: codec_ctx holds reusable ZSTD and zlib state so a writer compressing many pages does
 * not set them up per page. The context-free calls make a temporary context (slower for ZSTD and
 * GZIP, fine for tests and one-offs).
 *
 * @thread a codec_ctx belongs to one thread; the context-free calls are thread-safe.
 */
#ifndef SM_STORAGE_CODEC_H
#define SM_STORAGE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* parquet.thrift CompressionCodec */
enum {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5, /* deprecated Hadoop framing; decompress only */
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7,
};

/* `level` 0 means the codec's default: ZSTD 1 (Arrow's; zstd's own is 3), GZIP 6 (zlib's). Other
 * codecs ignore it. ZSTD accepts its range (negative "fast" levels up to ZSTD_maxCLevel()),
 * GZIP 1..9. */
#define CODEC_LEVEL_DEFAULT 0

typedef struct codec_ctx codec_ctx;

/* Returns NULL on out of memory. The codec_ctx_* calls also accept a NULL ctx (and then behave as
 * the context-free calls). */
codec_ctx *codec_ctx_create(void);
void codec_ctx_destroy(codec_ctx *ctx); /* accepts NULL */

/* Short name of a codec ("SNAPPY", "ZSTD", ...); "UNKNOWN" for other numbers. */
const char *codec_name(int codec);

/* True when codec_compress supports `codec` (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW). */
bool codec_can_compress(int codec);

/* Upper bound of the compressed size of in_len bytes; 0 when `codec` cannot compress (or the
 * bound would overflow, e.g. over LZ4's 2 GB block limit). */
size_t codec_max_compressed_len(int codec, size_t in_len);

/*
 * Compresses in[0..in_len) and APPENDS the result to `out` (out->len grows by the compressed
 * size; what was in `out` stays). On error out->len is unchanged (its spare capacity may have
 * been written) and `err` says why: SM_ERR_USAGE for a codec or level that cannot compress,
 * SM_ERR_NOMEM for memory or an input too large for the codec, SM_ERR_INTERNAL for a library
 * failure.
 */
int codec_ctx_compress(codec_ctx *ctx, int codec, int level, const uint8_t *in, size_t in_len,
                       sm_buf *out, sm_error *err);
int codec_compress(int codec, int level, const uint8_t *in, size_t in_len, sm_buf *out,
                   sm_error *err);

/*
 * Decompresses in[0..in_len) into out[0..out_len), where out_len is the exact uncompressed size
 * from the page header. Fails with SM_ERR_CORRUPT when the input does not decompress or
 * decompresses to a different size ("decompressed to N bytes, page header says M"), with
 * SM_ERR_USAGE for LZO or an unknown codec. On error out's contents are unspecified, but nothing
 * past out[out_len) is written. An empty input for an empty page (in_len == out_len == 0) is
 * accepted for every readable codec: some writers store an empty data page v2 body as no bytes.
 */
int codec_ctx_decompress(codec_ctx *ctx, int codec, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_len, sm_error *err);
int codec_decompress(int codec, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                     sm_error *err);

#endif
