/*
 * sm_avsc — an Avro schema (.avsc, JSON) as a table schema: the one schema language of every
 * pipeline (issue 5), whatever the wire format.
 *
 * The top-level schema must be a record; it becomes a STRUCT sm_field (storage/column.h) whose
 * children are the table's columns. The mapping (docs/json.md has the full table):
 *
 *   record → STRUCT        array → LIST (element "element")      map → MAP (key STRING)
 *   enum → STRING          fixed → FIXED_BINARY(size)            bytes → BINARY
 *   string → STRING        boolean, int, long, float, double → BOOL, INT32, INT64, FLOAT, DOUBLE
 *   int  + date                     → DATE
 *   long + timestamp-millis / -micros (and local-timestamp-*) → TIMESTAMP_MS / TIMESTAMP_US
 *   bytes / fixed + decimal(p, s)   → DECIMAL(p, s), p <= 38
 *   string + uuid                   → STRING (values checked by the JSON decoder)
 *   other logical types (time-*, timestamp-nanos, duration, unknown) → the underlying type
 *   ["null", T] and [T, "null"] → T, nullable; [T] → T
 *
 * Named types (record, enum, fixed) may be referenced by full name or by short name within
 * their namespace, as the Avro specification resolves names. What a column schema cannot hold
 * is refused with a reason: other unions, recursive types, a top-level non-record, records
 * without fields, "null" alone, decimals with precision > 38 or not fitting their fixed size,
 * invalid names, duplicate fields or symbols, and defaults that do not match their type. Every
 * error names the origin (file) and the JSON path of the bad node:
 *   "schemas/orders.avsc: $.fields[4].type: union [\"int\",\"string\"] is not supported ..."
 *
 * Besides the field tree, the schema keeps what sm_field has no room for, per node
 * (sm_avsc_info): the field's Avro default as JSON text the JSON decoder accepts (decimal
 * byte-string defaults are rewritten as decimal strings), the symbols of an enum, the logical
 * type. The JSON decoder (ingest/json_decode.h) takes the sm_avsc to use them.
 *
 * Ownership: everything lives in the caller's arena and is immutable once parsed; the arena
 * must outlive every decoder and batch built from the schema. @thread any, read-only.
 */
#ifndef SM_INGEST_AVSC_H
#define SM_INGEST_AVSC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"

/* What the .avsc says about one node that sm_field cannot hold. */
typedef struct sm_avsc_info {
    const sm_field *field;
    const char *path;         /* JSON path of the node in the .avsc ("$.fields[2].type") */
    const char *type_name;    /* full name of a named type (record, enum, fixed), else NULL */
    const char *logical;      /* logicalType as written ("uuid", "decimal", ...), else NULL */
    const char *default_json; /* record fields: the default as decoder JSON; NULL when none */
    size_t default_len;
    int n_symbols; /* enum */
    const char *const *symbols;
} sm_avsc_info;

typedef struct sm_avsc {
    sm_field *root;     /* STRUCT, not nullable */
    const char *name;   /* full name of the top-level record */
    const char *origin; /* as given to sm_avsc_parse */
    int n_infos;        /* only nodes with something to say */
    sm_avsc_info **infos;
} sm_avsc;

/* Parses Avro schema JSON text. `origin` names the source in errors (a file name). On error
 * *out is NULL, err names origin and JSON path (SM_ERR_USAGE: the schema is a configuration
 * mistake), and whatever was allocated stays in the arena. */
int sm_avsc_parse(const char *text, size_t len, const char *origin, sm_arena *arena, sm_avsc **out,
                  sm_error *err);

/* Reads and parses a .avsc file (SM_ERR_IO when it cannot be read). */
int sm_avsc_load(const char *path, sm_arena *arena, sm_avsc **out, sm_error *err);

/* The info of a node, or NULL when the .avsc says nothing more about it. */
const sm_avsc_info *sm_avsc_info_of(const sm_avsc *s, const sm_field *f);

#endif
