/*
 * sm_avro_decoder — one Avro message → one row of a column batch, with writer → reader schema
 * resolution (docs/avro.md).
 *
 * The reader schema is the pipeline's table schema (an sm_avsc: its root STRUCT's children are
 * the row's columns). Each message names its writer schema through its framing: the Confluent
 * wire format (magic 0, 4-byte big-endian schema id) or Avro single-object encoding (C3 01,
 * 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form).
 * Writer schemas come from a registry: a local directory of `<id>.avsc` files, schemas added
 * with sm_avro_decoder_add_schema, or a fetch hook (the REST client plugs in there).
 *
 * The binary is read by hand, left to right, straight into the column builders: for each
 * (writer schema, reader schema) pair a resolution plan is compiled once and cached by schema
 * id, so decoding is a walk over the plan. Every read is bounds-checked (truncation, varints
 * over 10 bytes, negative or huge lengths and counts, bad union indexes, invalid UTF-8, unknown
 * enum symbols).
 *
 * A message either appends exactly one row or appends nothing and says why (reason code, byte
 * offset in the message, text naming the field), like sm_json_decode; a half-decoded row is
 * rolled back with sm_json_column_truncate.
 *
 * DESIGN: failures are data, not errors — the caller dead-letters the message with
 * sm_avro_error.msg. Only SM_ERR_NOMEM (the batch arena is full) is about the batch.
 *
 * @thread one decoder per consumer thread (it holds caches); the reader schema is shared.
 */
#ifndef SM_INGEST_AVRO_DECODE_H
#define SM_INGEST_AVRO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "ingest/avsc.h"
#include "storage/column.h"

typedef struct sm_avro_decoder sm_avro_decoder;

typedef enum sm_avro_framing {
    SM_AVRO_FRAMING_AUTO = 0,   /* Confluent (0x00) or single-object (0xC3 0x01) by magic */
    SM_AVRO_FRAMING_CONFLUENT,  /* only the Confluent wire format */
    SM_AVRO_FRAMING_SINGLE_OBJ, /* only single-object encoding */
} sm_avro_framing;

/* Hook: fetch the writer schema text for `id` (e.g. from a Confluent Schema Registry). Returns
 * SM_OK with *text_out a malloc'ed buffer of *len_out bytes (the decoder frees it), or any other
 * code with err set when the id is unknown or the fetch failed (the message then fails with
 * unknown_schema; the next message with that id asks again). Called on the decoder's thread. */
typedef int (*sm_avro_fetch_fn)(void *ctx, int32_t id, char **text_out, size_t *len_out,
                                sm_error *err);

#define SM_AVRO_MAX_DEPTH_DEFAULT 64

typedef struct sm_avro_opts {
    sm_avro_framing framing;
    const char *registry_dir; /* borrowed, may be NULL: `<dir>/<id>.avsc` */
    sm_avro_fetch_fn fetch;   /* may be NULL; tried after registry_dir */
    void *fetch_ctx;
    int max_depth; /* nesting of records/arrays/maps/unions while decoding; 0: 64 */
} sm_avro_opts;

typedef enum sm_avro_reason {
    SM_AVRO_OK = 0,
    SM_AVRO_FRAMING,        /* "bad_framing": not Confluent/single-object framed */
    SM_AVRO_UNKNOWN_SCHEMA, /* "unknown_schema": id or fingerprint not in the registry */
    SM_AVRO_BAD_SCHEMA,     /* "bad_schema": the writer schema does not parse */
    SM_AVRO_RESOLVE,        /* "schema_mismatch": writer does not resolve to the reader */
    SM_AVRO_TRUNCATED,      /* "truncated": the payload ends inside a value */
    SM_AVRO_VARINT,         /* "bad_varint": a varint longer than 10 bytes */
    SM_AVRO_LENGTH,         /* "bad_length": negative or impossible length or count */
    SM_AVRO_UNION,          /* "bad_union_index": union branch out of range */
    SM_AVRO_UTF8,           /* "invalid_utf8": a string that is not UTF-8 */
    SM_AVRO_ENUM,           /* "bad_enum": enum index out of range or symbol unknown to reader */
    SM_AVRO_RANGE,          /* "out_of_range": a decimal or timestamp the column cannot hold */
    SM_AVRO_NULL,           /* "null_required": null for a required column */
    SM_AVRO_DEPTH,          /* "too_deep": nesting deeper than max_depth */
    SM_AVRO_TRAILING,       /* "trailing_data": bytes after the value */
    SM_AVRO_NOMEM,          /* "no_memory": the batch arena is full; retry in the next batch */
    SM_AVRO_REASON_COUNT
} sm_avro_reason;

typedef struct sm_avro_error {
    sm_avro_reason reason;
    size_t offset; /* byte offset in the message (framing included) */
    char msg[256];
} sm_avro_error;

void sm_avro_opts_default(sm_avro_opts *o);

/* Compiles a decoder for `reader` (borrowed: must outlive the decoder). opts may be NULL.
 * SM_ERR_USAGE for a reader schema it cannot fill, SM_ERR_NOMEM. */
int sm_avro_decoder_new(const sm_avsc *reader, const sm_avro_opts *opts, sm_avro_decoder **out,
                        sm_error *err);
void sm_avro_decoder_free(sm_avro_decoder *d); /* accepts NULL */

/* Registers writer schema text under `id`; an id already known keeps its first schema.
 * SM_ERR_USAGE (and nothing registered) when the text does not parse as an Avro schema. */
int sm_avro_decoder_add_schema(sm_avro_decoder *d, int32_t id, const char *text, size_t len,
                               sm_error *err);

/* Decodes one framed message into one new row of `batch` (a STRUCT column of the reader's root,
 * built in `arena`). SM_OK with the row appended; SM_ERR_CORRUPT (the message is bad, or its
 * schema unknown/unresolvable) or SM_ERR_NOMEM with nothing appended and `why` filled (may be
 * NULL). */
int sm_avro_decode(sm_avro_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                   sm_column *batch, sm_avro_error *why);

/* The same for an unframed Avro binary body written with schema `id`. */
int sm_avro_decode_body(sm_avro_decoder *d, int32_t id, const uint8_t *body, size_t len,
                        sm_arena *arena, sm_column *batch, sm_avro_error *why);

/* CRC-64-AVRO fingerprint of the Parsing Canonical Form of schema text; the form itself is
 * written to canon (NUL-terminated, truncated to canon_cap) when canon is not NULL. */
int sm_avro_fingerprint(const char *text, size_t len, uint64_t *fp, char *canon, size_t canon_cap,
                        sm_error *err);

/* CRC-64-AVRO of bytes (the Avro specification's Rabin fingerprint). */
uint64_t sm_avro_crc64(const void *data, size_t len);

const char *sm_avro_reason_name(sm_avro_reason r);

#endif
