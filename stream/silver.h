/*
 * sm_silver — one silver table of a pipeline (`from: <bronze table>`): DLT's expectations, the
 * quarantine, the event-time watermark's late rows and dropDuplicates within the watermark, for
 * the rows one micro-batch brought to its input (DESIGN.md "The flow of one micro-batch").
 *
 * A silver table's rows are its `select:` (stream/project.h) over its input — by default every
 * input column as it is — plus _processing_timestamp; its expectations, dedup keys and event
 * time are the select's output columns, as DLT evaluates expectations on a dataset's rows.
 *
 * A batch goes through four steps:
 *   1. sm_silver_add_chunk, on the engine's thread, for each chunk of input rows (a STRUCT
 *      column of the input schema, e.g. the bronze table's columns): numbers the chunk.
 *   2. sm_silver_check for each chunk, on any thread (distinct chunks may be checked at once,
 *      each thread with its own arena): the select is evaluated (bare columns are shared, not
 *      copied) and every expectation a column at a time over slices of the chunk, so the scratch
 *      memory stays small; each row gets the set of rules it failed. A row failing a drop rule
 *      is quarantined; a row failing a warn rule is kept and counted; a NULL result is a
 *      failure, as in DLT.
 *   3. sm_silver_finish, on the engine's thread: if a fail rule failed anywhere,
 *      SM_ERR_EXPECTATION naming the rule, the table and the topic/partition/offset of the first
 *      failing record (lowest topic, partition, offset) — before any state changed, so the batch
 *      can be run again. Otherwise: a row whose event time is below the batch's watermark is
 *      late (counted; it leaves the table when the table has dedup — Spark drops late rows from
 *      stateful operators — or a late table, which then gets it); with dedup, of the rows
 *      sharing keys the one at the lowest (topic, partition, offset) is kept unless the keys are
 *      in the state already — whichever thread read what, without sorting the batch; the others
 *      are duplicates and dropped. The largest event time of the rows that passed the rules is
 *      kept for the next watermark (a row a rule dropped does not move it).
 *   4. sm_silver_rows / sm_silver_view / sm_silver_slice for each chunk, on any thread: which
 *      rows of the chunk go to the silver table, the quarantine (output columns, then those of
 *      _source_system, _kafka_partition, _kafka_offset and _batch_id the select left out, then
 *      _validation_errors: the names of every rule the row failed, in file order) and the late
 *      table (the silver table's columns). The silver and late rows are handed over as the
 *      chunk's columns plus a selection (pq_writer_write_sel reads them in place); quarantine
 *      rows are built a slice at a time as a STRUCT column of that table's schema in a scratch
 *      arena. Neither copies the whole batch.
 * Every input row ends in exactly one of: silver, quarantined, duplicate, late (dropped or in
 * the late table).
 *
 * The dedup state is the caller's to save and load (sm_silver_state / sm_silver_set_state:
 * stream/dedup.h blobs in the checkpoint) and to evict once the watermark advances.
 *
 * @thread steps 1 and 3 and everything else on one thread; steps 2 and 4 on several at once
 * for distinct chunks (step 4 for one chunk from several threads too), between them.
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

/* Per-batch counts. late: rows behind the watermark; late_dropped: those of them that left the
 * table (it has dedup or a late table; in the late table when it has one). passed[r] /
 * failed[r] per expectation r, in file order. */
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

enum { SM_SILVER_OUT = 0, SM_SILVER_QUARANTINE, SM_SILVER_LATE, SM_SILVER_N };

const sm_field *sm_silver_late_schema(const sm_silver *s); /* = the silver table's */

/* Starts a batch: bookkeeping lives in `arena` (the engine thread's, reset by the caller after
 * the batch). watermark_ms: the batch's watermark (0 or less: none yet). */
int sm_silver_begin(sm_silver *s, int64_t batch_id, int64_t batch_ts_ms, int64_t watermark_ms,
                    sm_arena *arena, sm_error *err);
/* Step 1: *k gets the chunk's number. `rows` must stay as it is until the batch ends. */
int sm_silver_add_chunk(sm_silver *s, const sm_column *rows, int *k, sm_error *err);
/* Step 2 for chunk k; what it keeps (the select's computed columns, per-row results) is
 * allocated in `arena`, which must live until the batch ends. */
int sm_silver_check(sm_silver *s, int k, sm_arena *arena, sm_error *err);
/* Step 3. */
int sm_silver_finish(sm_silver *s, sm_error *err);
/* Step 4: how many rows of chunk k go to `which` (SM_SILVER_*). */
int64_t sm_silver_rows(const sm_silver *s, int k, int which);
/* Step 4: rows [from, from + n) of those as a STRUCT column of that table's schema, in
 * `scratch`. Fails only on memory. */
int sm_silver_slice(const sm_silver *s, int k, int which, int64_t from, int64_t n,
                    sm_arena *scratch, sm_column **out, sm_error *err);
/* Step 4 without a copy, for the silver and the late table (not the quarantine, whose error
 * lists are built per row): every row of chunk k as a STRUCT column of that table's schema (the
 * columns themselves, not copies, in `scratch`) and the positions of the sm_silver_rows rows
 * that go to `which`, for pq_writer_write_sel. */
int sm_silver_view(const sm_silver *s, int k, int which, sm_arena *scratch, sm_column **out,
                   const int64_t **sel, sm_error *err);
const sm_silver_counts *sm_silver_counts_of(const sm_silver *s);

#endif
