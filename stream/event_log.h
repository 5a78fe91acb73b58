/*
 * The event log: a Delta table at `<lake>/_system/event_log` with one row per micro-batch and
 * table, holding the fields of Spark's StreamingQueryProgress and DLT's flow_progress (input and
 * output rows, rates, durations, watermark, per-expectation passed/failed counts).
 * docs/event_log.md describes the table for users.
 *
 * DESIGN (exactly once). Each append writes one small Parquet file and makes it part of the table
 * with one Delta commit carrying txn(appId = query id, version = batch id), like every other
 * table the engine writes. An append of a batch the table already has (txn(query id) >= batch
 * id) writes nothing, so a re-run of batch N after a crash leaves exactly one set of rows for it.
 * Queries with other ids (other pipelines, other processes) append beside it: blind appends
 * never conflict (storage/delta.h).
 *
 * @thread any thread; appends from several threads or processes to one lake are safe.
 */
#ifndef SM_STREAM_EVENT_LOG_H
#define SM_STREAM_EVENT_LOG_H

#include <stdint.h>

#include "core/error.h"

/* The table's directory under a lake. */
#define SM_EVENT_LOG_DIR "_system/event_log"

/* One expectation (data-quality rule) of one table in one batch. Strings are borrowed. */
typedef struct sm_evl_expectation {
    const char *name;
    const char *on_violation; /* "warn" | "drop" | "fail" */
    int64_t passed, failed;   /* records that met / did not meet the rule */
} sm_evl_expectation;

/* What one table got in one batch: one row of the event log. Strings are borrowed. */
typedef struct sm_evl_row {
    const char *table;          /* the table's name */
    const char *layer;          /* bronze|silver|gold|dead_letter|quarantine|late */
    const char *source;         /* the input table or topic(s); may be NULL */
    int64_t input_rows;         /* rows this table's step read in the batch */
    int64_t output_rows;        /* rows written to the table */
    int64_t quarantined_rows;   /* rows sent to its quarantine table */
    int64_t dropped_duplicates; /* rows dropped by dedup */
    int64_t dropped_late;       /* rows dropped as behind the watermark */
    int64_t late_rows;          /* rows behind the watermark when they arrived */
    int64_t dead_letter_rows;   /* records that went to the dead-letter table instead */
    int64_t table_version;      /* the table's version after the batch; -1: none (no table yet) */
    int64_t files_added, bytes_added;
    const sm_evl_expectation *expectations; /* may be NULL when n_expectations is 0 */
    int n_expectations;
} sm_evl_row;

/* One micro-batch of one query. Strings and arrays are borrowed for the call. */
typedef struct sm_evl_batch {
    const char *pipeline;
    const char *query_id;
    const char *run_id; /* may be NULL */
    int64_t batch_id;
    int64_t batch_timestamp_ms; /* the batch's timestamp (recorded in offsets/N) */
    int64_t watermark_ms;       /* INT64_MIN: no watermark */
    int64_t num_input_rows;     /* records consumed by the whole batch (Spark's numInputRows) */
    double input_rows_per_second, processed_rows_per_second;
    int64_t duration_ms; /* the whole batch */
    int64_t read_ms, write_ms, commit_ms;
    /* Spark's sources[]: per topic-partition start and end offsets, as JSON text; may be NULL */
    const char *sources_json;
    const sm_evl_row *rows;
    int n_rows;
} sm_evl_batch;

/*
 * Appends one row per b->rows[i] to `<lake>/_system/event_log`, creating the table on first use
 * (another process creating it at the same moment is fine). Returns SM_OK without writing when
 * the table already has batch b->batch_id of query b->query_id, or when b->n_rows is 0.
 * `version_out` (may be NULL) gets the version committed, or -1 when nothing was.
 *
 * Errors: SM_ERR_USAGE for a batch missing pipeline, query id, a table name or layer, or a
 * negative batch id, and for an existing table whose schema is not the event log's; I/O and
 * Delta errors as storage/delta.h reports them, prefixed "event log". On error the table is
 * unchanged and no file is left behind — except when only the commit's directory fsync failed
 * (the commit is in place: version_out is set; the txn tells on a re-run).
 */
int sm_event_log_append(const char *lake, const sm_evl_batch *b, int64_t *version_out,
                        sm_error *err);

#endif
