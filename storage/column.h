/*
 * Columns: the in-memory layout of a micro-batch, shared by the decoders that build it, the
 * Parquet writer that stores it and the reader that gives it back (DESIGN.md: "decode straight
 * into column builders").
 *
 * The layout is Arrow's, simplified where smelter does not need the generality:
 *   - validity: a bitmap, bit i (LSB first) set = slot i is valid; NULL = every slot is valid;
 *   - fixed-width values in one array of the type's width (BOOL: one byte per value, 0 or 1);
 *   - STRING / BINARY / JSON: int32 offsets[length + 1] into a byte buffer;
 *   - FIXED_BINARY (and DECIMAL with precision > 18): `width` bytes per value;
 *   - STRUCT: one child column per field, each of the same length;
 *   - LIST: int32 offsets[length + 1] into one child column (the elements);
 *   - MAP: like LIST, into one STRUCT child column of two fields, key (required) and value.
 * A null slot still has a value in the values array (any bytes) and an empty range in offsets.
 *
 * DECIMAL(precision, scale): unscaled integers, int32 for precision <= 9, int64 for <= 18,
 * 16 bytes little-endian two's complement for <= 38. DATE: int32 days since 1970-01-01.
 * TIMESTAMP_MS / TIMESTAMP_US: int64 since the epoch, UTC.
 *
 * Ownership: a column and its buffers belong to an arena (core/arena.h) — the batch's — and die
 * with it; fields (the schema) are immutable once built and outlive the batches that use them.
 *
 * @thread one owner per column; fields may be shared read-only.
 */
#ifndef SM_STORAGE_COLUMN_H
#define SM_STORAGE_COLUMN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"

typedef enum sm_type {
    SM_BOOL = 0,
    SM_INT8,
    SM_INT16,
    SM_INT32,
    SM_INT64,
    SM_UINT8,
    SM_UINT16,
    SM_UINT32,
    SM_UINT64,
    SM_FLOAT,
    SM_DOUBLE,
    SM_STRING, /* UTF-8 */
    SM_BINARY,
    SM_JSON, /* UTF-8 JSON text */
    SM_FIXED_BINARY,
    SM_DATE,
    SM_TIMESTAMP_MS,
    SM_TIMESTAMP_US,
    SM_DECIMAL,
    SM_STRUCT,
    SM_LIST,
    SM_MAP,
    SM_TYPE_COUNT
} sm_type;

/* A node of a schema. */
typedef struct sm_field {
    const char *name;
    sm_type type;
    bool nullable;
    int32_t precision, scale; /* DECIMAL */
    int32_t width;            /* FIXED_BINARY: bytes per value; DECIMAL: derived */
    int n_children;           /* STRUCT: fields; LIST: 1 (element); MAP: 1 (entries struct) */
    struct sm_field **children;
} sm_field;

typedef struct sm_column {
    const sm_field *field; /* borrowed */
    int64_t length;        /* slots */
    int64_t null_count;
    uint8_t *validity; /* NULL: all valid */
    void *values;      /* fixed-width types */
    int32_t *offsets;  /* STRING, BINARY, JSON, LIST, MAP */
    uint8_t *data;     /* STRING, BINARY, JSON bytes */
    int64_t data_len;  /* bytes used in data */
    struct sm_column **children;
    /* builder state: slots and data bytes allocated */
    int64_t capacity;
    int64_t data_capacity;
} sm_column;

/* ---- fields ------------------------------------------------------------------------------ */

/* Builds schema nodes in `arena` (names are copied). NULL on out of memory. */
sm_field *sm_field_new(sm_arena *arena, const char *name, sm_type type, bool nullable);
sm_field *sm_field_decimal(sm_arena *arena, const char *name, int32_t precision, int32_t scale,
                           bool nullable);
sm_field *sm_field_fixed(sm_arena *arena, const char *name, int32_t width, bool nullable);
/* children: `n` fields, copied as pointers */
sm_field *sm_field_struct(sm_arena *arena, const char *name, sm_field **children, int n,
                          bool nullable);
sm_field *sm_field_list(sm_arena *arena, const char *name, sm_field *element, bool nullable);
sm_field *sm_field_map(sm_arena *arena, const char *name, sm_field *key, sm_field *value,
                       bool nullable);

/* Bytes per value of a fixed-width type (BOOL 1, DECIMAL 4/8/16, FIXED_BINARY width); 0 for
 * variable-width and nested types. */
size_t sm_type_width(const sm_field *f);
const char *sm_type_name(sm_type t);    /* "int32", "timestamp_us", ... */
bool sm_type_is_binary_like(sm_type t); /* STRING, BINARY, JSON */

/* ---- columns ----------------------------------------------------------------------------- */

/* An empty column (and its children, recursively) for `field`, with room for `capacity` slots.
 * Buffers grow in the arena as values are appended. NULL on out of memory. */
sm_column *sm_column_new(sm_arena *arena, const sm_field *field, int64_t capacity);

/* Appending, for decoders and tests. Each returns 0, or -1 when the arena refuses to grow (the
 * column is unchanged then). A struct slot is appended with sm_column_append_valid/null and its
 * children get one value each; a list slot with sm_column_list_end after appending its elements
 * to the child. */
int sm_column_append_null(sm_arena *arena, sm_column *c);
int sm_column_append_valid(sm_arena *arena, sm_column *c); /* STRUCT slot */
int sm_column_append_fixed(sm_arena *arena, sm_column *c, const void *value);
int sm_column_append_bytes(sm_arena *arena, sm_column *c, const void *bytes, size_t len);
int sm_column_list_end(sm_arena *arena, sm_column *c); /* closes a LIST/MAP slot */

/* Typed helpers over append_fixed. */
int sm_column_append_i64(sm_arena *arena, sm_column *c, int64_t v); /* any integer width */
int sm_column_append_f64(sm_arena *arena, sm_column *c, double v);  /* FLOAT or DOUBLE */

/* Slot i of an integer-like column (INT8..INT64, UINT8..UINT32, DATE, TIMESTAMP_*, DECIMAL of
 * width 4 or 8) as int64, sign- or zero-extended by its type. UINT64 wraps: use sm_column_u64. */
int64_t sm_column_i64(const sm_column *c, int64_t i);
uint64_t sm_column_u64(const sm_column *c, int64_t i); /* UINT64 */
bool sm_type_is_unsigned(sm_type t);

/* ---- copying rows ------------------------------------------------------------------------ */

/* A new column of src's field holding rows sel[0..n) of `src` in that order (rows may repeat;
 * sel NULL means rows 0..n-1), nested children included: values, validity, offsets rebased.
 * Every sel[i] must be in 0..src->length-1. Fixed-width values are copied with one memcpy per
 * buffer when sel is NULL and one per value otherwise; strings and lists copy their byte and
 * element ranges. A LIST/MAP with a selection uses a temporary malloc'd selection of its
 * elements, freed before returning.
 * Returns 0 with *out set, or -1 with *out NULL when the arena refuses (or the bytes of one
 * string column would pass 2 GiB); what was allocated stays in the arena until its reset. */
int sm_column_take(sm_arena *arena, const sm_column *src, const int64_t *sel, int64_t n,
                   sm_column **out);

/* Appends rows sel[0..n) of `src` (sel NULL: rows 0..n-1) to `dst`, a column of the same field
 * (or one of the same shape: types, widths and children alike), as sm_column_take copies them.
 * Growth is geometric, so appending batch after batch to one column stays amortised O(rows).
 * Returns 0, or -1 when the arena refuses or the shapes differ: then dst keeps its previous
 * length and contents (its buffers may have grown). */
int sm_column_append_column(sm_arena *arena, sm_column *dst, const sm_column *src,
                            const int64_t *sel, int64_t n);

static inline bool sm_column_is_valid(const sm_column *c, int64_t i)
{
    return !c->validity || (c->validity[i >> 3] >> (i & 7)) & 1;
}

#endif
