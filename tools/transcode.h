/*
 * tc — re-encodes the producer's JSON records (tools/datagen.h) as Avro or Protobuf, with the
 * same faults, so `smelter produce --format avro|protobuf` feeds the Avro and Protobuf decoders
 * the same data and the same ground truth as JSON.
 *
 * Avro: the Confluent wire format — magic 0, 4-byte big-endian schema id, then the Avro binary
 * of the dataset's schema (schemas/<dataset>.avsc, compiled into the binary: the encoder is
 * driven by its sm_field tree, ingest/avsc.h).
 * Protobuf: the Confluent Protobuf framing — magic 0, 4-byte big-endian schema id, message
 * indexes as the single byte 0 (the first message of the file), then the proto3 binary of
 * schemas/<dataset>.proto, whose fields are the .avsc's in the same order, numbered 1, 2, ...
 * Proto3 implicit-presence fields holding their default (0, 0.0 with all bits zero, false, "")
 * are omitted as protoc does; `optional` fields are written when non-null, even when empty.
 * Timestamps are google.protobuf.Timestamp, Avro dates are strings "YYYY-MM-DD".
 *
 * Faults (dg_fault_class): records of class none/value/late/duplicate are the JSON payload
 * transcoded, so every decoder reads the same values; a duplicate has the original's bytes. A
 * decode-class record becomes an encoding that our decoders reject, chosen deterministically
 * from the record's bytes:
 *   truncated     Avro: the encoding cut short inside the body. Protobuf: cut inside the
 *                 contents of a length-delimited field (a cut between fields would be valid).
 *   malformed     Avro: the first union (the nullable id) gets branch index 2 or 3.
 *                 Protobuf: a tag with wire type 6 or 7 inserted between two fields.
 *   invalid_utf8  a string field with invalid UTF-8 bytes (the same sequences as the JSON).
 *   wrong_type    Avro: written under schema id TC_AVRO_UNKNOWN_SCHEMA_ID (no such schema; the
 *                 binary cannot carry a wrongly typed value). Protobuf: the wrongly typed field
 *                 written with the wrong wire type (a number field as length-delimited bytes).
 * JSON is passed through as is (the generator's own faults).
 *
 * @thread one encoder per thread (it holds the output buffer).
 */
#ifndef SM_TOOLS_TRANSCODE_H
#define SM_TOOLS_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tools/datagen.h"

typedef enum tc_format {
    TC_JSON = 0,
    TC_AVRO,
    TC_PROTOBUF,
} tc_format;

#define TC_FORMAT_CHOICES "json|avro|protobuf"

/* The schema id that Avro wrong_type faults are written under; never registered. */
#define TC_AVRO_UNKNOWN_SCHEMA_ID 999

typedef struct tc_encoder tc_encoder;

/* An encoder for one dataset and format; schema_id <= 0 means the dataset's default
 * (tc_default_schema_id). SM_ERR_USAGE for a bad dataset/format, SM_ERR_NOMEM. */
int tc_create(dg_dataset dataset, tc_format format, int32_t schema_id, tc_encoder **out,
              sm_error *err);
void tc_destroy(tc_encoder *e); /* accepts NULL */

/* Encodes one record of the encoder's dataset. *out points into the encoder (or, for JSON, at
 * r->payload) and stays valid until the next call. SM_ERR_CORRUPT when the record's JSON does
 * not fit the schema (a generator bug, not a fault: faults are encoded). */
int tc_encode(tc_encoder *e, const dg_record *r, const uint8_t **out, size_t *len, sm_error *err);

/* The registry ids of schemas/registry: orders 1, activity 2, profiles 3. */
int32_t tc_default_schema_id(dg_dataset dataset);

/* The text of schemas/<dataset>.avsc as compiled in (tests check it against the file). */
const char *tc_avsc_text(dg_dataset dataset);

/* "smelter.ecommerce.Order" | ".Activity" | ".Profile" (schemas/<dataset>.proto). */
const char *tc_proto_message(dg_dataset dataset);

const char *tc_format_name(tc_format f); /* "json" | "avro" | "protobuf" */

#endif
