/*
 * Parquet metadata: C structs for the part of parquet.thrift (apache/parquet-format,
 * src/main/thrift/parquet.thrift) that smelter reads and writes, and their Thrift compact
 * encoding (storage/thrift.h): the file footer (FileMetaData) and page headers (PageHeader).
 *
 * Conventions of the structs:
 *   - Enum-valued fields are int32_t holding the wire value (PF_TYPE_*, PF_ENC_*, ...), so a
 *     value from a newer writer survives reading; callers check the values they rely on.
 *   - An optional scalar `x` comes with `bool has_x`; an optional string is NULL when absent;
 *     an optional list is absent when its count is 0 (written only when non-empty).
 *   - Strings read from a file are NUL-terminated copies; binaries are pf_bytes (ptr, len).
 *   - Counts are int32_t, the width of Thrift list sizes.
 *
 * Reading: the footer is decoded into one pf_file_metadata whose every allocation lives in one
 * arena, freed by pf_file_metadata_free. Counts are checked against the bytes left before any
 * allocation, and the arena is capped at a fixed multiple of the footer size. Unknown fields
 * (newer format versions, bloom filters, page indexes, size statistics, ...) are skipped.
 * Encrypted files (FileMetaData.encryption_algorithm, ColumnChunk.crypto_metadata or
 * encrypted_column_metadata) are refused with SM_ERR_CORRUPT "encrypted files are not
 * supported". Errors name the path of fields and the byte offset: "field 4 (row_groups):
 * list of 3000000 elements exceeds the 812 bytes left (offset 40)"; callers prefix the file.
 *
 * Writing: fields in increasing id order, optional fields only when present, appended to a
 * tc_writer. Write functions read the structs and never keep pointers into them.
 *
 * @thread any; the functions keep no state.
 */
#ifndef SM_STORAGE_PARQUET_FORMAT_H
#define SM_STORAGE_PARQUET_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/thrift.h"

/* "PAR1" at the start and end of every file; "PARE" ends files with an encrypted footer. */
#define PF_MAGIC     "PAR1"
#define PF_MAGIC_ENC "PARE"
#define PF_MAGIC_LEN 4
#define PF_TAIL_LEN  8 /* footer length (u32 little-endian) + magic */

/* Physical types (parquet.thrift Type). */
enum {
    PF_TYPE_BOOLEAN = 0,
    PF_TYPE_INT32 = 1,
    PF_TYPE_INT64 = 2,
    PF_TYPE_INT96 = 3,
    PF_TYPE_FLOAT = 4,
    PF_TYPE_DOUBLE = 5,
    PF_TYPE_BYTE_ARRAY = 6,
    PF_TYPE_FIXED_LEN_BYTE_ARRAY = 7,
};

/* ConvertedType (deprecated by LogicalType, still written for old readers). */
enum {
    PF_CT_UTF8 = 0,
    PF_CT_MAP = 1,
    PF_CT_MAP_KEY_VALUE = 2,
    PF_CT_LIST = 3,
    PF_CT_ENUM = 4,
    PF_CT_DECIMAL = 5,
    PF_CT_DATE = 6,
    PF_CT_TIME_MILLIS = 7,
    PF_CT_TIME_MICROS = 8,
    PF_CT_TIMESTAMP_MILLIS = 9,
    PF_CT_TIMESTAMP_MICROS = 10,
    PF_CT_UINT_8 = 11,
    PF_CT_UINT_16 = 12,
    PF_CT_UINT_32 = 13,
    PF_CT_UINT_64 = 14,
    PF_CT_INT_8 = 15,
    PF_CT_INT_16 = 16,
    PF_CT_INT_32 = 17,
    PF_CT_INT_64 = 18,
    PF_CT_JSON = 19,
    PF_CT_BSON = 20,
    PF_CT_INTERVAL = 21,
};

/* FieldRepetitionType. */
enum {
    PF_REQUIRED = 0,
    PF_OPTIONAL = 1,
    PF_REPEATED = 2,
};

/* Encoding (1, GROUP_VAR_INT, was never used). */
enum {
    PF_ENC_PLAIN = 0,
    PF_ENC_PLAIN_DICTIONARY = 2,
    PF_ENC_RLE = 3,
    PF_ENC_BIT_PACKED = 4,
    PF_ENC_DELTA_BINARY_PACKED = 5,
    PF_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PF_ENC_DELTA_BYTE_ARRAY = 7,
    PF_ENC_RLE_DICTIONARY = 8,
    PF_ENC_BYTE_STREAM_SPLIT = 9,
};

/* CompressionCodec. */
enum {
    PF_CODEC_UNCOMPRESSED = 0,
    PF_CODEC_SNAPPY = 1,
    PF_CODEC_GZIP = 2,
    PF_CODEC_LZO = 3,
    PF_CODEC_BROTLI = 4,
    PF_CODEC_LZ4 = 5, /* the Hadoop framing; deprecated */
    PF_CODEC_ZSTD = 6,
    PF_CODEC_LZ4_RAW = 7,
};

/* PageType. */
enum {
    PF_PAGE_DATA = 0,
    PF_PAGE_INDEX = 1,
    PF_PAGE_DICTIONARY = 2,
    PF_PAGE_DATA_V2 = 3,
};

/* ColumnOrder union members (FileMetaData.column_orders). */
enum {
    PF_ORDER_TYPE_DEFINED = 1,
    PF_ORDER_IEEE_754_TOTAL = 2,
    PF_ORDER_INT96_TIMESTAMP = 3,
};

/* LogicalType union members: the kind is the union's field id; 0 = no logical type. A kind
 * this list does not name (a newer format) is kept as its id, with no parameters. */
enum {
    PF_LT_NONE = 0,
    PF_LT_STRING = 1,
    PF_LT_MAP = 2,
    PF_LT_LIST = 3,
    PF_LT_ENUM = 4,
    PF_LT_DECIMAL = 5,
    PF_LT_DATE = 6,
    PF_LT_TIME = 7,
    PF_LT_TIMESTAMP = 8,
    /* 9 reserved (INTERVAL) */
    PF_LT_INTEGER = 10,
    PF_LT_UNKNOWN = 11, /* always null ("NullType") */
    PF_LT_JSON = 12,
    PF_LT_BSON = 13,
    PF_LT_UUID = 14,
    PF_LT_FLOAT16 = 15,
    PF_LT_VARIANT = 16,   /* read as a kind only */
    PF_LT_GEOMETRY = 17,  /* read as a kind only */
    PF_LT_GEOGRAPHY = 18, /* read as a kind only */
};

/* TimeUnit union members. */
enum {
    PF_UNIT_MILLIS = 1,
    PF_UNIT_MICROS = 2,
    PF_UNIT_NANOS = 3,
};

typedef struct pf_bytes {
    const uint8_t *ptr;
    size_t len;
} pf_bytes;

typedef struct pf_logical_type {
    int kind;                /* PF_LT_*; 0 = absent */
    int32_t scale;           /* DECIMAL */
    int32_t precision;       /* DECIMAL */
    bool is_adjusted_to_utc; /* TIME, TIMESTAMP */
    int unit;                /* TIME, TIMESTAMP: PF_UNIT_* */
    int8_t bit_width;        /* INTEGER: 8, 16, 32, 64 */
    bool is_signed;          /* INTEGER */
} pf_logical_type;

typedef struct pf_schema_element {
    const char *name; /* required */
    bool has_type;
    int32_t type; /* PF_TYPE_*; leaves only (read: checked to be a known type) */
    bool has_type_length;
    int32_t type_length;
    bool has_repetition_type;
    int32_t repetition_type; /* PF_REQUIRED...; absent on the root */
    bool has_num_children;
    int32_t num_children; /* groups only (read: checked >= 0) */
    bool has_converted_type;
    int32_t converted_type; /* PF_CT_* */
    bool has_scale;
    int32_t scale;
    bool has_precision;
    int32_t precision;
    bool has_field_id;
    int32_t field_id;
    pf_logical_type logical_type; /* kind 0 = absent */
} pf_schema_element;

typedef struct pf_statistics {
    bool has_max, has_min, has_null_count, has_distinct_count;
    bool has_max_value, has_min_value, has_is_max_value_exact, has_is_min_value_exact;
    bool has_nan_count;
    pf_bytes max; /* deprecated: signed order */
    pf_bytes min;
    int64_t null_count;
    int64_t distinct_count;
    pf_bytes max_value; /* order of FileMetaData.column_orders */
    pf_bytes min_value;
    bool is_max_value_exact;
    bool is_min_value_exact;
    int64_t nan_count;
} pf_statistics;

typedef struct pf_key_value {
    const char *key;   /* required */
    const char *value; /* NULL = absent */
} pf_key_value;

typedef struct pf_page_encoding_stats {
    int32_t page_type; /* PF_PAGE_* */
    int32_t encoding;  /* PF_ENC_* */
    int32_t count;
} pf_page_encoding_stats;

typedef struct pf_column_meta_data {
    int32_t type; /* PF_TYPE_* */
    int32_t *encodings;
    int32_t n_encodings;
    const char **path_in_schema;
    int32_t n_path_in_schema;
    int32_t codec; /* PF_CODEC_* */
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    pf_key_value *key_value_metadata;
    int32_t n_key_value_metadata;
    int64_t data_page_offset;
    bool has_index_page_offset;
    int64_t index_page_offset;
    bool has_dictionary_page_offset;
    int64_t dictionary_page_offset;
    bool has_statistics;
    pf_statistics statistics;
    pf_page_encoding_stats *encoding_stats;
    int32_t n_encoding_stats;
    bool has_bloom_filter_offset;
    int64_t bloom_filter_offset;
    bool has_bloom_filter_length;
    int32_t bloom_filter_length;
} pf_column_meta_data;

typedef struct pf_column_chunk {
    const char *file_path;          /* NULL = this file */
    int64_t file_offset;            /* deprecated; writers put 0 */
    pf_column_meta_data *meta_data; /* required in practice: read refuses NULL */
    bool has_offset_index_offset;
    int64_t offset_index_offset;
    bool has_offset_index_length;
    int32_t offset_index_length;
    bool has_column_index_offset;
    int64_t column_index_offset;
    bool has_column_index_length;
    int32_t column_index_length;
} pf_column_chunk;

typedef struct pf_sorting_column {
    int32_t column_idx;
    bool descending;
    bool nulls_first;
} pf_sorting_column;

typedef struct pf_row_group {
    pf_column_chunk *columns;
    int32_t n_columns;
    int64_t total_byte_size;
    int64_t num_rows;
    pf_sorting_column *sorting_columns;
    int32_t n_sorting_columns;
    bool has_file_offset;
    int64_t file_offset;
    bool has_total_compressed_size;
    int64_t total_compressed_size;
    bool has_ordinal;
    int16_t ordinal;
} pf_row_group;

typedef struct pf_file_metadata {
    int32_t version;           /* write 1 */
    pf_schema_element *schema; /* depth-first, schema[0] is the root */
    int32_t n_schema;
    int64_t num_rows;
    pf_row_group *row_groups;
    int32_t n_row_groups;
    pf_key_value *key_value_metadata;
    int32_t n_key_value_metadata;
    const char *created_by; /* NULL = absent */
    /* One PF_ORDER_* per leaf column. Writing with n_column_orders 0 writes TYPE_DEFINED for
     * every leaf (schema element with has_type); reading keeps what the file says. */
    int32_t *column_orders;
    int32_t n_column_orders;
    sm_arena *arena; /* read: owns everything above; NULL for caller-built metadata */
} pf_file_metadata;

typedef struct pf_data_page_header {
    int32_t num_values; /* including nulls */
    int32_t encoding;
    int32_t definition_level_encoding;
    int32_t repetition_level_encoding;
    bool has_statistics;
    pf_statistics statistics;
} pf_data_page_header;

typedef struct pf_dictionary_page_header {
    int32_t num_values;
    int32_t encoding;
    bool has_is_sorted;
    bool is_sorted;
} pf_dictionary_page_header;

typedef struct pf_data_page_header_v2 {
    int32_t num_values;
    int32_t num_nulls;
    int32_t num_rows;
    int32_t encoding;
    int32_t definition_levels_byte_length;
    int32_t repetition_levels_byte_length;
    bool is_compressed; /* absent on the wire = true; always written */
    bool has_statistics;
    pf_statistics statistics;
} pf_data_page_header_v2;

typedef struct pf_page_header {
    int32_t type; /* PF_PAGE_*; other values parse (callers skip the page) */
    int32_t uncompressed_page_size;
    int32_t compressed_page_size;
    bool has_crc;
    int32_t crc;
    bool has_data_page_header;
    pf_data_page_header data_page_header;
    bool has_dictionary_page_header;
    pf_dictionary_page_header dictionary_page_header;
    bool has_data_page_header_v2;
    pf_data_page_header_v2 data_page_header_v2;
} pf_page_header;

/* ---------------------------------------------------------------------------------------- */

/*
 * Decodes a footer (the FileMetaData bytes between the data and the tail, without the tail).
 * On success *out owns a copy of everything it points to (free with pf_file_metadata_free);
 * `p` may be freed right away. On error *out is NULL, nothing is left allocated and err says
 * what and where (SM_ERR_CORRUPT; SM_ERR_NOMEM when memory runs out).
 */
int pf_read_file_metadata(const uint8_t *p, size_t len, pf_file_metadata **out, sm_error *err);
/* Frees metadata made by pf_read_file_metadata. Accepts NULL. */
void pf_file_metadata_free(pf_file_metadata *md);

/*
 * Appends the encoding of `md` to w. Checks what the format requires (names and keys set,
 * counts >= 0 with arrays present) and returns SM_ERR_INTERNAL naming the field otherwise;
 * SM_ERR_NOMEM when the buffer cannot grow. On error w is left in its sticky error state.
 */
int pf_write_file_metadata(const pf_file_metadata *md, tc_writer *w, sm_error *err);

/*
 * Decodes the page header at the start of (p, len). *header_len receives its encoded size:
 * the page's bytes start at p + *header_len. Statistics binaries point into `p` (borrowed), so
 * `p` must outlive *out. A buffer that ends inside the header is an error (SM_ERR_CORRUPT); pass
 * the rest of the column chunk. Checks sizes >= 0 and that DATA_PAGE, DICTIONARY_PAGE and
 * DATA_PAGE_V2 headers carry their sub-header; other page types parse as is.
 */
int pf_read_page_header(const uint8_t *p, size_t len, pf_page_header *out, size_t *header_len,
                        sm_error *err);
int pf_write_page_header(const pf_page_header *h, tc_writer *w, sm_error *err);

/*
 * Checks the last PF_TAIL_LEN bytes of a file and returns the footer length. "PARE" (encrypted
 * footer) and any other magic are SM_ERR_CORRUPT; the caller checks the length against the
 * file size.
 */
int pf_parse_tail(const uint8_t tail[PF_TAIL_LEN], uint32_t *footer_len, sm_error *err);

/* Names for messages: "INT64", "RLE_DICTIONARY", "ZSTD", "DICTIONARY_PAGE"; "?" if unknown. */
const char *pf_type_name(int32_t type);
const char *pf_encoding_name(int32_t encoding);
const char *pf_codec_name(int32_t codec);
const char *pf_page_type_name(int32_t page_type);

#endif
