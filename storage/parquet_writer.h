/*
 * pq_writer — writes column batches (storage/column.h) into one Parquet file.
 *
 * Input is columnar: each pq_writer_write() takes a STRUCT column whose children are the
 * top-level columns of the schema given at open; no per-row API. Nested fields (struct, list,
 * map, any depth) are shredded into definition/repetition levels as the Dremel paper and the
 * Parquet spec describe (lists in the three-level form, maps as repeated key_value groups).
 *
 * Values are dictionary-encoded (RLE_DICTIONARY) until a column chunk's dictionary grows past
 * dict_limit bytes, then PLAIN for the rest of the chunk; booleans are always PLAIN. Levels use
 * the RLE/bit-packed hybrid. Pages close at page_size bytes (at a record boundary), row groups
 * at row_group_size uncompressed bytes. Column chunks carry statistics (min_value, max_value,
 * null_count) in the column's sort order: signed or unsigned integers, floats without NaN,
 * byte arrays unsigned-lexicographic and truncated to stats_max_len (the max rounded up, and
 * flagged inexact).
 *
 * The file is written through core/durable.h: under a temporary name, visible at `path` only
 * after pq_writer_close() succeeded. Errors are sticky: after the first failure every call
 * fails with the same error and close removes the temporary file — never half a file.
 *
 * @thread one owner.
 */
#ifndef SM_STORAGE_PARQUET_WRITER_H
#define SM_STORAGE_PARQUET_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "storage/column.h"

typedef struct pq_writer pq_writer;

/*
 * A dictionary share lets a writer of rows another writer already wrote take their values'
 * dictionary indices instead of hashing every value again (the engine writes a bronze file and
 * then the silver file of most of the same rows: the silver columns are the bronze columns
 * read through a selection).
 *
 * A writer opened with share_out records, for each top-level primitive column it writes whole
 * (rows 0 to the column's length in order, pq_writer_write) through one dictionary — one row
 * group, no PLAIN fallback — the index of every row, 1, 2 or 4 bytes per row as the dictionary
 * grows; pq_writer_close adds them to the share. A writer opened with share_in, writing rows of
 * the same sm_column (with any selection), maps those indices to its own dictionary's and
 * hashes a value only the first time it meets its index. Its dictionary still holds only the
 * values it writes, in the order it meets them: the file is the same as without the share.
 *
 * @thread a share may be written and read by several writers at once (a mutex guards its list;
 * what it holds is immutable once added). The columns must outlive the share's readers.
 */
typedef struct pq_share pq_share;

pq_share *pq_share_create(void);    /* NULL on out of memory */
void pq_share_destroy(pq_share *s); /* accepts NULL */
/* Bytes the share holds (the recorded indices); s not NULL. */
size_t pq_share_bytes(pq_share *s);

typedef struct pq_writer_opts {
    int codec;             /* PQ_CODEC_* (storage/codec.h); default ZSTD */
    int level;             /* compression level (ZSTD, GZIP); 0 = codec default */
    bool page_v2;          /* data page v2 instead of v1 */
    bool dictionary;       /* try dictionary encoding (default true) */
    size_t dict_limit;     /* bytes of PLAIN-encoded dictionary before falling back; 1 MiB */
    size_t page_size;      /* uncompressed bytes per data page; 1 MiB */
    size_t row_group_size; /* uncompressed bytes per row group; 128 MiB */
    size_t stats_max_len;  /* longest byte-array min/max kept in statistics; 64 */
    int kv_count;          /* key-value metadata for the footer (borrowed strings) */
    const char *const *kv_keys;
    const char *const *kv_values;
    pq_share *share_out; /* record dictionary indices for others (see pq_share); NULL */
    pq_share *share_in;  /* take dictionary indices recorded by others; NULL */
} pq_writer_opts;

/* What close() reports: enough for a Delta `add` action. */
typedef struct pq_file_info {
    int64_t rows;
    int64_t file_size;
    int row_groups;
} pq_file_info;

void pq_writer_opts_default(pq_writer_opts *o);

/* `schema` is a STRUCT field whose children are the top-level columns; borrowed, must outlive
 * the writer. Fails with SM_ERR_USAGE for a schema Parquet cannot hold (empty struct, ...). */
int pq_writer_open(const char *path, const sm_field *schema, const pq_writer_opts *opts,
                   pq_writer **out, sm_error *err);

/* Appends batch->length rows. `batch` is a STRUCT column of the schema (its own validity is
 * ignored). The writer copies what it keeps; the batch may be reset afterwards. */
int pq_writer_write(pq_writer *w, const sm_column *batch, sm_error *err);

/* Appends the `n` rows sel[0..n) of `batch`, in that order, without copying them first (top-level
 * primitive columns are read through the selection page by page). Every column of `batch` has
 * batch->length rows and each sel[i] is below it. pq_writer_write is this with the identity. */
int pq_writer_write_sel(pq_writer *w, const sm_column *batch, const int64_t *sel, int64_t n,
                        sm_error *err);

/* Flushes the last row group, writes the footer, makes the file visible, frees the writer.
 * On error nothing new is at `path` (a previous file there is unchanged) — except when only the
 * final directory fsync failed: then the complete file is in place but may not survive a crash
 * (core/durable.h), and the error says so. */
int pq_writer_close(pq_writer *w, pq_file_info *info, sm_error *err);

/* Discards everything written and frees the writer. Accepts NULL. */
void pq_writer_abort(pq_writer *w);

#endif
