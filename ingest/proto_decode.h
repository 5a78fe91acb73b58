/*
 * sm_proto_decoder — one Protobuf message → one row of a column batch, directed by a descriptor.
 *
 * The schema comes from a FileDescriptorSet (`protoc --include_imports --descriptor_set_out`),
 * read with a small wire parser of our own (descriptor.proto's messages; Debian's protobuf-c
 * ships no descriptor.pb-c.h). One message is picked by full name ("shop.Order") and compiled
 * into an sm_field STRUCT schema plus a decode plan; see docs/protobuf.md for the type mapping
 * (scalars, enums → STRING, messages → nullable STRUCT, repeated → LIST, maps → MAP,
 * google.protobuf.Timestamp → TIMESTAMP_US, wrappers → nullable scalars, oneof members and
 * proto3 `optional`/proto2 optional → nullable, proto3 implicit presence → default value).
 *
 * Same contract as sm_json_decode: a message appends exactly one row, or appends nothing and
 * says why (reason, byte offset, message) — the caller sends it to the dead-letter table.
 * Non-repeated fields seen twice: the last one wins; message fields seen twice are merged (the
 * protobuf rule), so each column gets one value.
 *
 * @thread one decoder per consumer thread (it holds per-message scratch).
 */
#ifndef SM_INGEST_PROTO_DECODE_H
#define SM_INGEST_PROTO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"

typedef struct sm_proto_schema sm_proto_schema; /* a loaded descriptor set */
typedef struct sm_proto_decoder sm_proto_decoder;

#define SM_PROTO_MAX_DEPTH 64

/* Why a message did not decode. Stable names (sm_proto_reason_name) go to the dead letter. */
typedef enum sm_proto_reason {
    SM_PROTO_OK = 0,
    SM_PROTO_TRUNCATED,      /* "truncated": a varint, fixed value or tag runs past the end */
    SM_PROTO_BAD_VARINT,     /* "bad_varint": a varint longer than 10 bytes */
    SM_PROTO_BAD_LENGTH,     /* "bad_length": a length-delimited field longer than what is left */
    SM_PROTO_BAD_WIRE_TYPE,  /* "bad_wire_type": wire type 6/7, field number 0, bad group end */
    SM_PROTO_WRONG_TYPE,     /* "wrong_wire_type": a known field with the wrong wire type */
    SM_PROTO_UTF8,           /* "invalid_utf8": a string field that is not UTF-8 */
    SM_PROTO_DEPTH,          /* "too_deep": groups/messages nested deeper than 64 */
    SM_PROTO_RANGE,          /* "out_of_range": a Timestamp outside int64 microseconds */
    SM_PROTO_MISSING,        /* "missing_field": a proto2 required field is absent */
    SM_PROTO_NOMEM,          /* "no_memory": the batch arena is full; retry in the next batch */
    SM_PROTO_BAD_MAGIC,      /* "bad_magic": Confluent framing without magic byte 0 */
    SM_PROTO_UNKNOWN_SCHEMA, /* "unknown_schema": no registry/<id>.desc for the schema id */
    SM_PROTO_BAD_INDEX,      /* "bad_message_index": message indexes naming no message */
    SM_PROTO_REASON_COUNT
} sm_proto_reason;

typedef struct sm_proto_error {
    sm_proto_reason reason;
    size_t offset; /* byte offset in the message (in the whole Confluent frame for those) */
    char msg[256];
} sm_proto_error;

/* Loads a serialized FileDescriptorSet (copied). SM_ERR_CORRUPT if it does not parse. */
int sm_proto_schema_load(const uint8_t *desc, size_t len, sm_proto_schema **out, sm_error *err);
int sm_proto_schema_load_file(const char *path, sm_proto_schema **out, sm_error *err);
void sm_proto_schema_free(sm_proto_schema *s); /* accepts NULL */

/* Full name ("pkg.Outer.Inner", no leading dot) of the message at an index path: indexes[0] into
 * the top-level messages of the LAST file of the set (the one protoc was asked for), the rest
 * into nested messages. NULL if the path names no message. n == 0 means [0]. */
const char *sm_proto_schema_message_at(const sm_proto_schema *s, const int32_t *indexes, int n);

/* Compiles a decoder for message `full_name` (with or without a leading dot). The schema must
 * outlive the decoder. SM_ERR_USAGE: no such message, a recursive message (named in the error),
 * an unresolved type, nesting over 64 levels. */
int sm_proto_decoder_new(const sm_proto_schema *s, const char *full_name, sm_proto_decoder **out,
                         sm_error *err);
void sm_proto_decoder_free(sm_proto_decoder *d); /* accepts NULL */

/* The row schema: a STRUCT whose children are the message's fields (owned by the decoder). */
const sm_field *sm_proto_decoder_schema(const sm_proto_decoder *d);

/* Decodes one message into one new row of `batch` (a STRUCT column of the decoder's schema).
 * SM_OK with the row appended; SM_ERR_CORRUPT / SM_ERR_NOMEM with nothing appended and `why`
 * filled (why may be NULL). */
int sm_proto_decode(sm_proto_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                    sm_column *batch, sm_proto_error *why);

/* ---- Confluent wire format ----------------------------------------------------------------
 * magic 0, big-endian 4-byte schema id, message indexes (zig-zag varint count, then that many
 * zig-zag varint indexes; a lone 0 means [0]), then the message. */

#define SM_PROTO_MAX_INDEXES 16

typedef struct sm_proto_frame {
    uint32_t schema_id;
    int n_indexes; /* 0..SM_PROTO_MAX_INDEXES; a lone 0 count is returned as [0] (n_indexes 1) */
    int32_t indexes[SM_PROTO_MAX_INDEXES];
    size_t payload_offset; /* where the message starts in the frame */
} sm_proto_frame;

/* Parses the framing. SM_ERR_CORRUPT with `why` (bad_magic, truncated, bad_message_index). */
int sm_proto_frame_parse(const uint8_t *msg, size_t len, sm_proto_frame *out, sm_proto_error *why);

/* A local registry: `dir`/<id>.desc holds the descriptor set of schema id <id>. Decoders are
 * compiled on first use and cached per (id, message path). An id whose file is missing or does
 * not load is remembered as unknown for the registry's lifetime (no file system hit per
 * message); reopen the registry to pick up new files. */
typedef struct sm_proto_registry sm_proto_registry;
int sm_proto_registry_open(const char *dir, sm_proto_registry **out, sm_error *err);
void sm_proto_registry_free(sm_proto_registry *r); /* accepts NULL */

/* The decoder for a parsed frame (owned by the registry). SM_ERR_CORRUPT with `why`:
 * unknown_schema (no such file, or it does not load), bad_message_index. */
int sm_proto_registry_decoder(sm_proto_registry *r, const sm_proto_frame *f, sm_proto_decoder **out,
                              sm_proto_error *why);

const char *sm_proto_reason_name(sm_proto_reason r);

#endif
