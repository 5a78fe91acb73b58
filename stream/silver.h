/*
 * sm_silver — one silver table of a pipeline (`from: <bronze table>`): DLT's expectations, the
 * quarantine, the event-time watermark's late rows and dropDuplicates within the watermark, for
 * the rows one micro-batch brought to its input (DESIGN.md "The flow of one micro-batch").
 *
 * A batch goes through three steps, all on the engine's thread:
 *   1. sm_silver_add_chunk for each chunk of input rows (a STRUCT column of the input schema:
 *      the bronze table's columns): every expectation is evaluated a column at a time
 *      (stream/expr.h) and each row gets the set of rules it failed. A row failing a drop rule
 *      is quarantined; a row failing a warn rule is kept and counted; a NULL result is a
 *      failure, as in DLT.
 *   2. sm_silver_finish: if a fail rule failed anywhere, SM_ERR_EXPECTATION naming the rule,
 *      the table and the topic/partition/offset of the first failing record (lowest topic,
 *      partition, offset) — before any state changed, so the batch can be run again. Otherwise
 *      the rows that passed are visited in (topic, partition, offset) order, so the outcome
 *      does not depend on which consumer thread read what: a row whose event time is below the
 *      batch's watermark is late (counted; dropped when the table has dedup, as Spark drops
 *      late rows from stateful operators); with dedup, a row whose keys are in the state (or
 *      came earlier in the batch) is a duplicate and dropped, otherwise its keys enter the
 *      state. The largest event time of the rows that passed the rules is kept for the next
 *      watermark (a row a rule dropped does not move it).
 *   3. sm_silver_output for each chunk: the silver rows (input columns + _processing_timestamp,
 *      the batch timestamp) and the quarantine rows (input columns + _validation_errors: the
 *      names of every rule the row failed, in file order).
 * Every input row ends in exactly one of: silver, quarantined, duplicate, late-dropped.
 *
 * The dedup state is the caller's to save and load (sm_silver_state / sm_silver_set_state:
 * stream/dedup.h blobs in the checkpoint) and to evict once the watermark advances.
 *
 * @thread one thread.
 */
#ifndef SM_STREAM_SILVER_H
#define SM_STREAM_SILVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"
#include "stream/dedup.h"
#include "stream/pipeline.h"

#define SM_SILVER_MAX_RULES 64

typedef struct sm_silver sm_silver;

/* Per-batch counts. passed[r] / failed[r] per expectation r, in file order. */
typedef struct sm_silver_counts {
    int64_t input, output, quarantined, duplicates, late, late_dropped;
    int64_t passed[SM_SILVER_MAX_RULES], failed[SM_SILVER_MAX_RULES];
    int64_t max_event_ms; /* INT64_MIN when no row had an event time */
} sm_silver_counts;

/* Compiles the table's expectations against `input` (borrowed; the bronze table schema) and
 * finds its key, event-time and Kafka position columns. Errors name the file, table and rule. */
int sm_silver_new(const sm_pipeline *p, const sm_pl_table *t, const sm_field *input,
                  sm_silver **out, sm_error *err);
void sm_silver_free(sm_silver *s); /* accepts NULL */

const sm_field *sm_silver_schema(const sm_silver *s);            /* the silver table's */
const sm_field *sm_silver_quarantine_schema(const sm_silver *s); /* its quarantine's */
bool sm_silver_has_dedup(const sm_silver *s);
/* The dedup state (NULL without dedup). set_state takes ownership of `d`, freeing the old. */
sm_dedup *sm_silver_state(sm_silver *s);
void sm_silver_set_state(sm_silver *s, sm_dedup *d);

/* Starts a batch: chunks and results live in `arena` (reset by the caller after the batch).
 * watermark_ms: the batch's watermark (0 or less: none yet). */
int sm_silver_begin(sm_silver *s, int64_t batch_id, int64_t batch_ts_ms, int64_t watermark_ms,
                    sm_arena *arena, sm_error *err);
/* Step 1 for one chunk; chunks are numbered in the order they are added. */
int sm_silver_add_chunk(sm_silver *s, const sm_column *rows, sm_error *err);
/* Step 2. */
int sm_silver_finish(sm_silver *s, sm_error *err);
/* Step 3 for chunk k: *silver and *quarantine (either may come back with 0 rows). */
int sm_silver_output(sm_silver *s, int k, sm_column **silver, sm_column **quarantine,
                     sm_error *err);
const sm_silver_counts *sm_silver_counts_of(const sm_silver *s);

#endif
