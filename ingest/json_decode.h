/*
 * sm_json_decoder — one JSON message → one row of a column batch, directed by the schema.
 *
 * This is the hot path of ingestion (DESIGN.md: "decode straight into column builders"). The
 * decoder is compiled once from a STRUCT schema (and optionally the .avsc it came from, for
 * defaults, enum symbols and uuid checks); each message is then read in one pass, left to
 * right, and every value is appended to its column as soon as it is read: no DOM, no malloc per
 * record or field (a scratch buffer for escaped strings grows once and is reused). Object keys
 * find their field through a perfect hash built per struct at compile time. The whole message
 * is checked as JSON (RFC 8259), unknown fields included: strings are scanned 16 bytes at a
 * time for '"', '\\', control characters and non-ASCII, and UTF-8 is validated where it
 * occurs.
 *
 * A message either appends exactly one row — one slot to `batch` and to each of its columns —
 * or appends nothing and says why: a reason code, the byte offset in the message, and a message
 * naming the field ("field 'quantity': 1.5 is not an integer at byte 57"). A row that fails
 * half-way is rolled back by truncating every column to the batch's previous length; only a few
 * counters change, so rollback costs about what the partial row did.
 *
 * The coercion rules (which JSON values each column type takes) and the failure reasons are in
 * docs/json.md; in short: integers from integral JSON numbers in range, floats from any number
 * or "NaN"/"Infinity"/"-Infinity", booleans from true/false, timestamps from an integer in the
 * column's unit or an ISO-8601 string, dates from "YYYY-MM-DD" or epoch days, decimals from
 * numbers or numeric strings at exact scale, strings from strings (other values kept as their
 * raw JSON text), binary from Avro's JSON form (each char U+0000..U+00FF is one byte), objects
 * to structs and maps, arrays to lists; duplicate keys: the last one wins.
 *
 * DESIGN: failures are data, not errors — the caller sends the message to the dead-letter table
 * with sm_json_error.msg and carries on. Only SM_ERR_NOMEM (the batch arena reached its bound)
 * is about the batch rather than the message: the message is fine and belongs to the next batch.
 *
 * @thread one decoder per consumer thread (it holds scratch state); the schema is shared.
 */
#ifndef SM_INGEST_JSON_DECODE_H
#define SM_INGEST_JSON_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "ingest/avsc.h"
#include "storage/column.h"

typedef struct sm_json_decoder sm_json_decoder;

typedef enum sm_json_unknown {
    SM_JSON_UNKNOWN_SKIP = 0,    /* unknown fields are checked as JSON and skipped */
    SM_JSON_UNKNOWN_DEAD_LETTER, /* a record with an unknown field fails (unknown_field) */
} sm_json_unknown;

#define SM_JSON_MAX_DEPTH_DEFAULT 64
#define SM_JSON_MAX_DEPTH_LIMIT   1024

typedef struct sm_json_opts {
    sm_json_unknown unknown_fields;
    int max_depth;       /* nesting of objects and arrays, the message's own object is 1; 0: 64 */
    bool decimal_round;  /* round extra decimal places half away from zero instead of failing */
    const sm_avsc *avsc; /* borrowed, may be NULL: defaults, enum symbols, uuid checks */
} sm_json_opts;

/* Why a message did not decode. Stable names (sm_json_reason_name) go to the dead-letter table. */
typedef enum sm_json_reason {
    SM_JSON_OK = 0,
    SM_JSON_SYNTAX,        /* "syntax": not JSON (unterminated, bad token, bad escape...) */
    SM_JSON_UTF8,          /* "invalid_utf8": bad UTF-8 bytes or an unpaired surrogate */
    SM_JSON_NOT_OBJECT,    /* "not_object": the message is not one JSON object */
    SM_JSON_TRAILING,      /* "trailing_data": bytes after the object */
    SM_JSON_DEPTH,         /* "too_deep": nesting deeper than max_depth */
    SM_JSON_TYPE,          /* "wrong_type": a JSON value the column type does not take */
    SM_JSON_RANGE,         /* "out_of_range": a number or date the column cannot hold */
    SM_JSON_NULL,          /* "null_required": null for a required field */
    SM_JSON_MISSING,       /* "missing_field": a required field without default is absent */
    SM_JSON_UNKNOWN_FIELD, /* "unknown_field": with SM_JSON_UNKNOWN_DEAD_LETTER */
    SM_JSON_NOMEM,         /* "no_memory": the batch arena is full; retry in the next batch */
    SM_JSON_REASON_COUNT
} sm_json_reason;

typedef struct sm_json_error {
    sm_json_reason reason;
    size_t offset; /* byte offset in the message where the problem is */
    char msg[256]; /* "field 'price': expected a number, got a string at byte 61" */
} sm_json_error;

void sm_json_opts_default(sm_json_opts *o);

/* Compiles a decoder for `schema`, a STRUCT whose children are the row's columns (borrowed:
 * must outlive the decoder; with opts->avsc, schema is opts->avsc->root or a subtree of it).
 * opts may be NULL (defaults). Fails with SM_ERR_USAGE for a schema it cannot decode into
 * (duplicate field names, a map with non-string keys, ...), SM_ERR_NOMEM. */
int sm_json_decoder_new(const sm_field *schema, const sm_json_opts *opts, sm_json_decoder **out,
                        sm_error *err);
void sm_json_decoder_free(sm_json_decoder *d); /* accepts NULL */

/*
 * Decodes one message into one new row of `batch` (a STRUCT column of the decoder's schema,
 * built in `arena`). Returns SM_OK with the row appended; SM_ERR_CORRUPT when the message does
 * not decode, SM_ERR_NOMEM when the arena refused to grow — in both cases with nothing appended
 * (every column is back at its previous length) and `why` filled. `why` may be NULL.
 */
int sm_json_decode(sm_json_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                   sm_column *batch, sm_json_error *why);

/* Truncates column c (and its children) to `length` slots, length <= c->length: the rollback
 * of a partly appended row. Exposed for the other decoders of ingest/ (Avro, Protobuf). */
void sm_json_column_truncate(sm_column *c, int64_t length);

const char *sm_json_reason_name(sm_json_reason r); /* "syntax", "invalid_utf8", ... */

#endif
