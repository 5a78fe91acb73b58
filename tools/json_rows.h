/*
 * Columns as JSON text — for `smelter parquet cat`, `smelter table` and tests.
 *
 * One row of a STRUCT column becomes one JSON object. Values: integers as numbers; floats as
 * numbers with the shortest text that reads back to the same value (NaN and infinities as the
 * strings "NaN", "Infinity", "-Infinity", JSON having no such numbers); STRING as strings;
 * JSON columns as strings (the text may be invalid JSON); BINARY and FIXED_BINARY as base64
 * strings; DATE "YYYY-MM-DD"; TIMESTAMP "YYYY-MM-DDTHH:MM:SS.ffffffZ" (6 fraction digits for
 * µs columns, 3 for ms); DECIMAL as a string of the exact decimal ("-12.50"); structs as
 * objects, lists as arrays, maps as arrays of {"key": k, "value": v}; null as null.
 */
#ifndef SM_TOOLS_JSON_ROWS_H
#define SM_TOOLS_JSON_ROWS_H

#include <stdint.h>

#include "core/buf.h"
#include "storage/column.h"

/* Appends row i of `batch` (a STRUCT column) as one JSON object, without a newline. */
int json_row_append(const sm_column *batch, int64_t i, sm_buf *out, sm_error *err);

/* Appends the value of slot i of column c (any type) as JSON. */
int json_value_append(const sm_column *c, int64_t i, sm_buf *out, sm_error *err);

#endif
