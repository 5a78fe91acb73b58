/*
 * Parquet value encodings (apache/parquet-format Encodings.md): the bytes of a page's levels and
 * values, after decompression and before the column layout of storage/column.h.
 *
 * Writer side: the RLE/bit-packed hybrid (levels, dictionary indices), PLAIN, and a dictionary
 * builder (enc_dict). Reader side: every encoding a Parquet file in the wild uses for values:
 * PLAIN, RLE, dictionary indices, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 *
 * Conventions of the decoders:
 *   - they read in[0..in_len), produce exactly `n` values (the caller knows how many the page
 *     holds and bounds n) and store in *consumed the input bytes they used, so the caller can find
 *     what follows (e.g. the values after the levels);
 *   - malformed or truncated input is SM_ERR_CORRUPT with a message saying what is wrong; they
 *     never read past in[in_len) nor write past the n values of the caller's buffers;
 *   - allocation is bounded by a small multiple of in_len or by n (and by `max_bytes` for
 *     DELTA_BYTE_ARRAY, whose output can be far larger than its input);
 *   - byte arrays are decoded into int32 `offsets[0..n]` plus bytes APPENDED to an sm_buf: on
 *     entry offsets[0] is set to data->len, and offsets[i + 1] - offsets[i] is value i's length.
 *     Successive pages of one column therefore decode into the same buffer by passing
 *     `offsets + values_so_far` (whose first entry already equals data->len). Total data must stay
 *     below 2^31 bytes (int32 offsets), else SM_ERR_NOMEM.
 *
 * Conventions of the encoders: they APPEND to an sm_buf (which is unchanged on error apart from
 * spare capacity), and take the slots [start, start + n) of a column's arrays; `validity` is the
 * column's bitmap (bit i set = slot i valid; NULL = all valid) and null slots are skipped.
 *
 * @thread no shared state; an enc_dict belongs to one thread.
 */
#ifndef SM_STORAGE_ENCODING_H
#define SM_STORAGE_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* parquet.thrift Encoding */
enum {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4, /* deprecated */
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

/* Bits needed for values 0..max_value: 0 for 0, 1 for 1, 2 for 2..3, ... (up to 64). */
int enc_bit_width(uint64_t max_value);

/* ---- RLE / bit-packed hybrid ------------------------------------------------------------- */

/*
 * Appends the hybrid encoding of values[0..n) at `bit_width` (0..32) to out, without a length
 * prefix. Repeats of 8 or more become RLE runs, the rest bit-packed groups of 8 (the last group
 * padded with zeros), like parquet-mr and Arrow. A value that does not fit in bit_width is
 * SM_ERR_INTERNAL (a caller bug); bit_width out of range is SM_ERR_USAGE.
 */
int enc_rle_encode(const uint32_t *values, size_t n, int bit_width, sm_buf *out, sm_error *err);

/* Same, preceded by the 4-byte little-endian length of the encoded data: the form of levels in
 * data page v1 and of RLE-encoded BOOLEAN values. */
int enc_rle_encode_prefixed(const uint32_t *values, size_t n, int bit_width, sm_buf *out,
                            sm_error *err);

/* Upper bound of enc_rle_encode's output for n values (the prefixed form adds 4). */
size_t enc_rle_max_len(size_t n, int bit_width);

/*
 * Decodes n values at `bit_width` (0..32) from in[0..in_len) into out[0..n). Runs past the n-th
 * value are not read; a final bit-packed run may be cut short after the bytes holding the last
 * needed value (some writers do). Fewer than n values in the input, or an RLE run value wider
 * than bit_width, is SM_ERR_CORRUPT. *consumed: bytes of the runs used (a partly used bit-packed
 * run counts whole, as far as the input holds it).
 */
int enc_rle_decode(const uint8_t *in, size_t in_len, int bit_width, uint32_t *out, size_t n,
                   size_t *consumed, sm_error *err);

/* The length-prefixed form: a 4-byte LE length L, then L bytes of hybrid data holding at least
 * n values. *consumed = 4 + L. */
int enc_rle_decode_prefixed(const uint8_t *in, size_t in_len, int bit_width, uint32_t *out,
                            size_t n, size_t *consumed, sm_error *err);

/*
 * Dictionary indices of an RLE_DICTIONARY / PLAIN_DICTIONARY data page: one byte of bit width,
 * then the hybrid data (no length prefix). The encoder picks bit width enc_bit_width(dict_len-1)
 * (0 for a dictionary of one entry). The decoder fails on an index >= dict_len.
 */
int enc_dict_indices_encode(const uint32_t *indices, size_t n, size_t dict_len, sm_buf *out,
                            sm_error *err);
int enc_dict_indices_decode(const uint8_t *in, size_t in_len, size_t n, size_t dict_len,
                            uint32_t *out, size_t *consumed, sm_error *err);

/* ---- PLAIN -------------------------------------------------------------------------------- */

/* BOOLEAN: bits LSB first; `values` one byte per slot (non-zero = true). Each call starts on a
 * byte boundary, so encode one page's values in one call. */
int enc_plain_encode_bool(const uint8_t *values, const uint8_t *validity, size_t start, size_t n,
                          sm_buf *out, sm_error *err);

/* Fixed-width values (INT32, INT64, INT96, FLOAT, DOUBLE, FIXED_LEN_BYTE_ARRAY): `width` bytes
 * per slot, copied as they are (the column layout is already little-endian). */
int enc_plain_encode_fixed(const void *values, size_t width, const uint8_t *validity, size_t start,
                           size_t n, sm_buf *out, sm_error *err);

/* BYTE_ARRAY: for each valid slot a 4-byte LE length then the bytes
 * data[offsets[i] .. offsets[i + 1]). */
int enc_plain_encode_byte_array(const int32_t *offsets, const uint8_t *data,
                                const uint8_t *validity, size_t start, size_t n, sm_buf *out,
                                sm_error *err);

/* BOOLEAN: n bits LSB first into out[0..n), one byte per value (0 or 1). Consumes ceil(n/8). */
int enc_plain_decode_bool(const uint8_t *in, size_t in_len, size_t n, uint8_t *out,
                          size_t *consumed, sm_error *err);

/* Fixed width (see enc_plain_encode_fixed): n * width bytes copied to out. */
int enc_plain_decode_fixed(const uint8_t *in, size_t in_len, size_t n, size_t width, void *out,
                           size_t *consumed, sm_error *err);

/* BYTE_ARRAY: n length-prefixed values into offsets[0..n] and data (see the header comment). */
int enc_plain_decode_byte_array(const uint8_t *in, size_t in_len, size_t n, int32_t *offsets,
                                sm_buf *data, size_t *consumed, sm_error *err);

/* ---- Reader-only encodings ---------------------------------------------------------------- */

/*
 * DELTA_BINARY_PACKED for INT32 and INT64. The header's total value count must equal n.
 * Arithmetic wraps (two's complement, as the writers compute it), so deltas that overflow the
 * type round-trip. Bit widths above the type's width, a block size not a multiple of 128 or
 * miniblocks not a multiple of 32 values are SM_ERR_CORRUPT. *consumed ends after the last
 * miniblock holding a value (the padding of the last miniblock included when present).
 */
int enc_delta_binary_decode_int32(const uint8_t *in, size_t in_len, size_t n, int32_t *out,
                                  size_t *consumed, sm_error *err);
int enc_delta_binary_decode_int64(const uint8_t *in, size_t in_len, size_t n, int64_t *out,
                                  size_t *consumed, sm_error *err);

/* DELTA_LENGTH_BYTE_ARRAY: n lengths (DELTA_BINARY_PACKED) then the concatenated bytes. */
int enc_delta_length_decode(const uint8_t *in, size_t in_len, size_t n, int32_t *offsets,
                            sm_buf *data, size_t *consumed, sm_error *err);

/* DELTA_BYTE_ARRAY: n prefix lengths (DELTA_BINARY_PACKED), then n suffixes
 * (DELTA_LENGTH_BYTE_ARRAY); value i = the first prefix[i] bytes of value i-1, then suffix i.
 * Also used for FIXED_LEN_BYTE_ARRAY (each value must then be `width` long: the caller checks).
 * Decoded bytes beyond `max_bytes` are SM_ERR_NOMEM (prefixes let a small page expand a lot). */
int enc_delta_byte_array_decode(const uint8_t *in, size_t in_len, size_t n, size_t max_bytes,
                                int32_t *offsets, sm_buf *data, size_t *consumed, sm_error *err);

/*
 * BYTE_STREAM_SPLIT for values of `width` bytes (FLOAT 4, DOUBLE 8, INT32 4, INT64 8,
 * FIXED_LEN_BYTE_ARRAY w): the input is `width` streams of in_len / width bytes each (byte k of
 * every value in stream k). in_len must be a multiple of width holding at least n values; the
 * first n values are written to out (n * width bytes). *consumed = in_len.
 */
int enc_byte_stream_split_decode(const uint8_t *in, size_t in_len, size_t n, size_t width,
                                 void *out, size_t *consumed, sm_error *err);

/* ---- Dictionary builder (writer) ---------------------------------------------------------- */

/*
 * enc_dict maps distinct values to dense indices 0, 1, 2, ... in insertion order, with an
 * open-addressing hash table. Fixed-width dictionaries (width > 0: INT32 4, INT64 8, FLOAT 4,
 * DOUBLE 8, INT96 12, FIXED_LEN_BYTE_ARRAY w) compare values bytewise (so -0.0 and 0.0, or NaNs
 * with different bits, are different entries: the file keeps the exact bits). Byte-array
 * dictionaries (width 0) keep the distinct values' bytes in one buffer.
 *
 * No per-value allocation: the table and the value store grow by doubling, and reset keeps them.
 * Indices stay stable until reset. At most 2^31 - 1 entries, and for byte arrays 4 GiB of distinct
 * values (far past any dictionary page limit; the writer falls back to PLAIN long before).
 */
typedef struct enc_dict enc_dict;

/* width: bytes per value (1..1024), or 0 for BYTE_ARRAY. NULL on out of memory / bad width. */
enc_dict *enc_dict_create(size_t width, sm_error *err);
void enc_dict_destroy(enc_dict *d); /* accepts NULL */

/* Forgets every entry (the next insert gets index 0), keeping memory. */
void enc_dict_reset(enc_dict *d);

/* One value (len must equal the width of a fixed-width dictionary). Returns its index, new or
 * existing, or -1 with err set (SM_ERR_NOMEM, or SM_ERR_INTERNAL for a wrong len). */
int32_t enc_dict_insert(enc_dict *d, const void *value, size_t len, sm_error *err);

/*
 * Batch inserts from a column (the fast path; loops with the lookup inlined). For each valid slot
 * of [start, start + n) in order, writes its index to indices[k++]; *n_indices = k (the number of
 * valid slots). On error some values may have been added (the dictionary stays consistent) and
 * *n_indices is unspecified.
 */
int enc_dict_insert_fixed(enc_dict *d, const void *values, const uint8_t *validity, size_t start,
                          size_t n, uint32_t *indices, size_t *n_indices, sm_error *err);
int enc_dict_insert_byte_array(enc_dict *d, const int32_t *offsets, const uint8_t *data,
                               const uint8_t *validity, size_t start, size_t n, uint32_t *indices,
                               size_t *n_indices, sm_error *err);

/* Number of entries. */
size_t enc_dict_count(const enc_dict *d);

/* Size of the PLAIN-encoded dictionary page body (fixed: count * width; byte arrays: sum of
 * 4 + length): compare it with the dictionary page size limit to decide on the PLAIN fallback. */
size_t enc_dict_plain_size(const enc_dict *d);

/* Entry i (< count): pointer into the dictionary (valid until the next insert or reset). */
const uint8_t *enc_dict_entry(const enc_dict *d, size_t i, size_t *len);

/* Appends the PLAIN encoding of the entries in index order (the dictionary page body). */
int enc_dict_write_plain(const enc_dict *d, sm_buf *out, sm_error *err);

#endif
