/*
 * Thrift compact protocol: the encoding of every Parquet metadata structure (page headers and
 * the footer). Only what Parquet needs: structs, lists/sets, maps (skipped), scalars, binary.
 * No messages, no services. Spec: apache/thrift doc/specs/thrift-compact-protocol.md.
 *
 * Writer: appends to a growable malloc'ed buffer. Errors are sticky (Redis rio): after the
 * first failure (out of memory, nesting too deep) every call is a no-op and tc_writer_status()
 * reports the failure, so a caller may write a whole struct and check once at the end.
 *
 * Reader: walks (p, len) with a cursor and never reads outside it. Every length and element
 * count is checked against the bytes left before anything is read or allocated, varints are at
 * most 10 bytes, values must fit their declared width, field and element types must be known,
 * and nesting (structs, lists, sets, maps) is limited to TC_MAX_DEPTH. Errors are SM_ERR_CORRUPT
 * with a message naming what is wrong and the byte offset ("offset 17: varint longer than 10
 * bytes"); callers prefix the field they were reading. The reader itself never allocates.
 *
 * Booleans: a bool struct field carries its value in the field header. The reader reports such
 * a field as TC_BOOL and keeps the value for the next tc_read_bool (or tc_skip). List elements
 * of type bool (element type 1 or 2 on the wire, both accepted) are reported as TC_BOOL too and
 * tc_read_bool reads their one byte each.
 *
 * @thread one owner per reader / writer; not thread-safe.
 */
#ifndef SM_STORAGE_THRIFT_H
#define SM_STORAGE_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Maximum nesting of structs, lists, sets and maps, reading and writing. */
#define TC_MAX_DEPTH 64

/* Compact protocol type ids as they appear in field headers. TC_BOOL (2, "BOOLEAN_FALSE" in a
 * field header, "BOOL" as a list element type) is the one name the reader uses for every bool,
 * whatever its value; TC_BOOL_TRUE only appears on the wire. */
typedef enum tc_type {
    TC_STOP = 0,
    TC_BOOL_TRUE = 1,
    TC_BOOL = 2,
    TC_I8 = 3,
    TC_I16 = 4,
    TC_I32 = 5,
    TC_I64 = 6,
    TC_DOUBLE = 7,
    TC_BINARY = 8, /* binary and string */
    TC_LIST = 9,
    TC_SET = 10,
    TC_MAP = 11,
    TC_STRUCT = 12, /* struct and union */
    TC_UUID = 13,   /* 16 bytes; read only to skip it */
} tc_type;

/* Short name of a type for messages: "i32", "binary", ...; "unknown" for other ids. */
const char *tc_type_name(int type);

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */

/* Fields are private: use the functions. Allocate on the stack and tc_writer_init it. */
typedef struct tc_writer {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int status;      /* sticky sm_code */
    const char *why; /* static description of the failure */
    int depth;       /* open structs */
    int16_t last_id[TC_MAX_DEPTH + 1];
} tc_writer;

void tc_writer_init(tc_writer *w);
/* Frees the buffer; the writer may be initialized again. Accepts NULL. */
void tc_writer_release(tc_writer *w);
/* Empties the buffer (keeping its memory) and clears the error state and nesting. */
void tc_writer_clear(tc_writer *w);

/* The bytes written so far; borrowed, valid until the next write, clear or release. */
const uint8_t *tc_writer_data(const tc_writer *w);
size_t tc_writer_len(const tc_writer *w);
/* Hands the buffer (malloc'ed; caller frees) to the caller and empties the writer. NULL when
 * nothing was written. */
uint8_t *tc_writer_take(tc_writer *w, size_t *len_out);

/* SM_OK, or the sticky failure (SM_ERR_NOMEM, SM_ERR_INTERNAL for misuse such as nesting past
 * TC_MAX_DEPTH or ending a struct that was not begun) with a message in err. */
int tc_writer_status(const tc_writer *w, sm_error *err);

/* Puts the writer in the sticky error state (first failure wins); for callers that find
 * their input invalid half-way through. `why` must be a static string. */
void tc_writer_fail(tc_writer *w, int code, const char *why);

/* Structs: begin, fields in any order (increasing id gives the short headers), end (writes the
 * stop byte). Elements of a list of structs are written with begin/end too. */
void tc_write_struct_begin(tc_writer *w);
void tc_write_struct_end(tc_writer *w);

/* A field header of `type` (not TC_BOOL / TC_BOOL_TRUE: use tc_write_field_bool), followed by
 * the value written with the matching tc_write_* below. */
void tc_write_field_begin(tc_writer *w, tc_type type, int16_t id);

/* Values: struct fields (after tc_write_field_begin) or list / map elements. */
void tc_write_i8(tc_writer *w, int8_t v);
void tc_write_i16(tc_writer *w, int16_t v);
void tc_write_i32(tc_writer *w, int32_t v);
void tc_write_i64(tc_writer *w, int64_t v);
void tc_write_double(tc_writer *w, double v);
void tc_write_binary(tc_writer *w, const void *data, size_t len); /* len <= INT32_MAX */
void tc_write_string(tc_writer *w, const char *s);                /* strlen(s) bytes */
void tc_write_bool(tc_writer *w, bool v); /* list / map elements only: one byte 1 or 0 */

/* A list (or set) header; the `n` elements follow. elem_type TC_BOOL for bools. */
void tc_write_list_begin(tc_writer *w, tc_type elem_type, int32_t n);
void tc_write_set_begin(tc_writer *w, tc_type elem_type, int32_t n);
/* A map header; n key/value pairs follow. */
void tc_write_map_begin(tc_writer *w, tc_type key_type, tc_type value_type, int32_t n);

/* Field shorthands: header and value. */
void tc_write_field_bool(tc_writer *w, int16_t id, bool v);
void tc_write_field_i8(tc_writer *w, int16_t id, int8_t v);
void tc_write_field_i16(tc_writer *w, int16_t id, int16_t v);
void tc_write_field_i32(tc_writer *w, int16_t id, int32_t v);
void tc_write_field_i64(tc_writer *w, int16_t id, int64_t v);
void tc_write_field_double(tc_writer *w, int16_t id, double v);
void tc_write_field_binary(tc_writer *w, int16_t id, const void *data, size_t len);
void tc_write_field_string(tc_writer *w, int16_t id, const char *s);
/* A field holding an empty struct (the members of Parquet's "enum-like" unions). */
void tc_write_field_empty_struct(tc_writer *w, int16_t id);

/* Raw varint helpers, also used by tests. Return the number of bytes written to out (at most
 * 10). */
size_t tc_encode_varint(uint64_t v, uint8_t out[10]);
uint64_t tc_zigzag64(int64_t v);
int64_t tc_unzigzag64(uint64_t v);

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                    */

/* Fields are private: use the functions. */
typedef struct tc_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int depth;        /* open structs / containers */
    int pending_bool; /* value of the last bool field header, -1 when none */
    int16_t last_id[TC_MAX_DEPTH + 1];
} tc_reader;

/* Reads the bytes p[0..len); p is borrowed and must outlive the reader and every binary
 * handed out by it. */
void tc_reader_init(tc_reader *r, const uint8_t *p, size_t len);
size_t tc_reader_pos(const tc_reader *r);       /* bytes consumed */
size_t tc_reader_remaining(const tc_reader *r); /* bytes left */

/* Enters a struct (depth check). */
int tc_read_struct_begin(tc_reader *r, sm_error *err);
/* Leaves the struct whose TC_STOP tc_read_field just returned. */
void tc_read_struct_end(tc_reader *r);

/* The next field header of the current struct: *type is TC_STOP at the end of the struct
 * (*id is then 0), TC_BOOL for a bool field (value kept for tc_read_bool), otherwise the
 * field's type. Unknown type ids and ids out of the i16 range are errors. */
int tc_read_field(tc_reader *r, tc_type *type, int16_t *id, sm_error *err);

/* Values. The integer readers accept any encoding width that fits the declared type (an i32
 * read refuses a varint whose value does not fit in 32 bits). */
int tc_read_bool(tc_reader *r, bool *v, sm_error *err);
int tc_read_i8(tc_reader *r, int8_t *v, sm_error *err);
int tc_read_i16(tc_reader *r, int16_t *v, sm_error *err);
int tc_read_i32(tc_reader *r, int32_t *v, sm_error *err);
int tc_read_i64(tc_reader *r, int64_t *v, sm_error *err);
int tc_read_double(tc_reader *r, double *v, sm_error *err);
/* A binary / string: *data points into the input (borrowed), *len <= bytes left. */
int tc_read_binary(tc_reader *r, const uint8_t **data, size_t *len, sm_error *err);

/* A list or set header. *n is bounded so that n elements of the smallest encoding of *elem
 * fit in the bytes left (1 byte for most types, 8 for double, 16 for uuid): a huge count in a
 * short input is an error here, before anyone allocates for it. An empty list may carry
 * element type 0 (*elem is then TC_STOP). Enters one nesting level:
 * call tc_read_list_end after the elements. */
int tc_read_list_begin(tc_reader *r, tc_type *elem, uint32_t *n, sm_error *err);
void tc_read_list_end(tc_reader *r);
/* A map header: *n pairs, bounded like lists. Enters one nesting level (tc_read_map_end). */
int tc_read_map_begin(tc_reader *r, tc_type *key, tc_type *value, uint32_t *n, sm_error *err);
void tc_read_map_end(tc_reader *r);

/* Skips one value of `type` (as returned by tc_read_field or a list header), whatever it
 * contains, with the same checks as reading it. Use it for fields a caller does not know. */
int tc_skip(tc_reader *r, tc_type type, sm_error *err);

/* Raw varint decode over (p, len): at most 10 bytes, the 10th may only carry bit 63. Returns
 * the number of bytes read, 0 when truncated or too long. */
size_t tc_decode_varint(const uint8_t *p, size_t len, uint64_t *v);

#endif
