/*
 * pq_reader — reads Parquet files into the column layout of storage/column.h, the same layout
 * pq_writer takes, so what the writer stored comes back as it went in.
 *
 * Reads files from other writers too (parquet-mr, parquet-cpp/Arrow, Impala, Spark, arrow-rs,
 * DuckDB): every physical type; PLAIN, dictionary (PLAIN_DICTIONARY, RLE_DICTIONARY),
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT and RLE
 * booleans; data pages v1 and v2; every codec of storage/codec.h; nested lists, maps and structs
 * in the standard three-level form and the legacy forms the Parquet spec's backward-compatibility
 * rules describe (two-level lists, repeated fields without annotation). Encrypted files and LZO
 * are refused with an error naming the reason.
 *
 * Type mapping (Parquet → sm_type): BOOLEAN → BOOL; INT32 → INT32, or by annotation INT8/16/32,
 * UINT8/16/32, DATE, DECIMAL; INT64 → INT64, UINT64, TIMESTAMP_MS/US (NANOS → TIMESTAMP_US,
 * truncated), DECIMAL; INT96 → TIMESTAMP_US (Impala/Spark nanoseconds-of-day + Julian day);
 * FLOAT, DOUBLE; BYTE_ARRAY → STRING (UTF8/STRING/ENUM), JSON, DECIMAL, or BINARY;
 * FIXED_LEN_BYTE_ARRAY → FIXED_BINARY, or DECIMAL (as the 16-byte form when precision > 18, else
 * int32/int64). Other annotations (TIME, UUID, FLOAT16, ...), and decimals whose precision is
 * outside 1..38, keep the physical type's mapping. A MAP whose key_value group has no value field
 * reads as a list of its keys (as Arrow reads it); a map key declared optional reads as required
 * and a null key is an error.
 *
 * Memory: decoded columns go to the caller's arena (give it a limit to bound them). The levels
 * and values decoded in one pq_reader_read_row_group call are also bounded by the reader's decode
 * limit: PQ_READER_EXPANSION times the file size, at least PQ_READER_MIN_LIMIT bytes; past it the
 * read fails with SM_ERR_NOMEM. So a small corrupt file cannot claim gigabytes.
 *
 * Safety: a corrupt or truncated file gives SM_ERR_CORRUPT naming the file and what is wrong
 * (row group, column path, page, byte offset) — never a crash, a read outside the file, a hang,
 * or an allocation larger than a bound derived from the file's own size.
 *
 * @thread one owner.
 */
#ifndef SM_STORAGE_PARQUET_READER_H
#define SM_STORAGE_PARQUET_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"
#include "storage/parquet_format.h"

typedef struct pq_reader pq_reader;

#define PQ_READER_EXPANSION 4096               /* decode limit: bytes per byte of file */
#define PQ_READER_MIN_LIMIT ((size_t)64 << 20) /* decode limit: at least this */

/* Opens and checks the file (mapped read-only; it must not change while open), parses the
 * footer and converts the schema. Errors name the file: "<path>: footer: ...". */
int pq_reader_open(const char *path, pq_reader **out, sm_error *err);
/* The same over bytes in memory, borrowed: they must outlive the reader. `name` is used in
 * messages. For tests and fuzzing. */
int pq_reader_open_memory(const uint8_t *data, size_t len, const char *name, pq_reader **out,
                          sm_error *err);
void pq_reader_close(pq_reader *r); /* accepts NULL */

/* Replaces the decode limit (bytes of levels and values per row group read). */
void pq_reader_set_decode_limit(pq_reader *r, size_t bytes);

/* The schema as a STRUCT field whose children are the top-level columns; owned by the reader. */
const sm_field *pq_reader_schema(const pq_reader *r);
/* The decoded footer; owned by the reader. */
const pf_file_metadata *pq_reader_metadata(const pq_reader *r);
/* Rows of the file: the sum of its row groups' (FileMetaData.num_rows is 0 in some files). */
int64_t pq_reader_num_rows(const pq_reader *r);
int pq_reader_num_row_groups(const pq_reader *r);

/*
 * Reads row group `rg` into a STRUCT column (length = the row group's rows) allocated in `arena`,
 * whose children are the top-level columns listed in `columns` (indices into the schema's
 * children, in that order) or all of them when columns is NULL. Only the selected columns'
 * chunks are read. The returned column's field is a STRUCT of copies of the selected fields,
 * allocated in `arena` too, so the batch outlives the reader.
 *
 * Errors: SM_ERR_USAGE for a row group or column index out of range; SM_ERR_CORRUPT naming the
 * file, row group, column path and page ("f.parquet: row group 0, column a.list.element, page
 * 3: ..."); SM_ERR_NOMEM when the arena or the decode limit refuses. On error *out is NULL and
 * what the read allocated stays in `arena` until its reset; the reader stays usable.
 */
int pq_reader_read_row_group(pq_reader *r, int rg, const int *columns, int n_columns,
                             sm_arena *arena, sm_column **out, sm_error *err);

/* Index of the top-level column named `name`, or -1. */
int pq_reader_column_index(const pq_reader *r, const char *name);

/* The Parquet schema element a field of pq_reader_schema() was made from (its annotations,
 * field_id), or NULL for a field the reader made up (the list around a repeated field) or a
 * field that is not the reader's. */
const pf_schema_element *pq_reader_field_element(const pq_reader *r, const sm_field *f);

#endif
