/*
 * sm_source — the pipeline's record format behind one call: the schema of the decoded columns
 * and one decoder per consumer thread, whatever source.format is (json, avro, protobuf).
 *
 *   json      source.schema is the .avsc; ingest/json_decode.h, with
 *             source.json.unknown_fields (ignore | dead_letter).
 *   avro      source.schema is the reader .avsc; each message's writer schema is found by its
 *             Confluent schema id (or single-object fingerprint) in source.schema_registry.url:
 *             a directory of <id>.avsc files, or a Confluent Schema Registry over HTTP
 *             (ingest/registry.h; fetched once per id, shared by the threads).
 *   protobuf  source.schema is a descriptor set; the message is source.protobuf.message (the
 *             loader resolved the default). A value whose first byte is 0 is Confluent-framed
 *             (magic, schema id, message indexes) — a protobuf message never starts with 0,
 *             since field number 0 does not exist — and is decoded from its payload; others are
 *             plain messages. The reader's descriptor decodes every writer's message (protobuf
 *             compatibility is by field number), so the schema id is not looked up; the frame's
 *             message indexes are read against the reader's descriptor set and must name
 *             source.protobuf.message (else a bad_message_index dead letter: a producer whose
 *             .proto orders its messages differently is refused rather than misread).
 *
 * A record either appends one row or is refused with a reason for the dead-letter table
 * ("<reason name>: <message>", the names of the decoder headers) and the byte offset where the
 * decoder stopped. One failure is not about the record: the HTTP registry could not be asked
 * (down, timing out, refusing the credentials) — then sm_source_decode returns SM_ERR_KAFKA
 * with err set, and the engine fails the batch rather than dead-letter good records; a restart
 * reads it again.
 *
 * @thread sm_source_open/close on one thread; each decoder on its own consumer thread.
 */
#ifndef SM_STREAM_SOURCE_H
#define SM_STREAM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "ingest/avsc.h"
#include "storage/column.h"
#include "stream/pipeline.h"

typedef struct sm_source sm_source;
typedef struct sm_source_decoder sm_source_decoder;

/* Loads the schema (and opens the registry) named by the pipeline. Errors name the file. */
int sm_source_open(const sm_pipeline *p, sm_source **out, sm_error *err);
void sm_source_close(sm_source *s); /* accepts NULL; after every decoder is freed */

/* The decoded record's columns: a STRUCT, not nullable. Lives as long as the source. */
const sm_field *sm_source_schema(const sm_source *s);

int sm_source_decoder_new(sm_source *s, sm_source_decoder **out, sm_error *err);
void sm_source_decoder_free(sm_source_decoder *d); /* accepts NULL */

/*
 * Decodes one value into one new row of `batch` (a STRUCT column of sm_source_schema).
 * SM_OK: one row appended. SM_ERR_CORRUPT: nothing appended; reason (cap bytes) says why and
 * *err_offset where (-1 when nowhere). SM_ERR_NOMEM: the arena is full, nothing appended.
 * SM_ERR_KAFKA: the schema registry could not be asked; err says why.
 */
int sm_source_decode(sm_source_decoder *d, const uint8_t *value, size_t len, sm_arena *arena,
                     sm_column *batch, char *reason, size_t cap, int64_t *err_offset,
                     sm_error *err);

#endif
