/*
 * The event log (stream/event_log.h): one Parquet file and one Delta commit per batch.
 *
 * DESIGN (exactly once). The file is written under a fresh name and only becomes part of the
 * table through the commit with txn(query id, batch id); an append finds the batch already
 * there by that txn, before writing and again when a concurrent writer took the version first.
 * A file written by an append that crashed before its commit is an orphan vacuum removes, never
 * rows.
 */
#include "stream/event_log.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/uuid.h"
#include "storage/codec.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_writer.h"

#define COMPONENT "event_log"

/* The columns, in table order. */
enum {
    C_TIMESTAMP,
    C_PIPELINE,
    C_QUERY_ID,
    C_RUN_ID,
    C_BATCH_ID,
    C_TABLE_NAME,
    C_LAYER,
    C_SOURCE,
    C_BATCH_INPUT_ROWS,
    C_INPUT_ROWS,
    C_OUTPUT_ROWS,
    C_QUARANTINED_ROWS,
    C_DROPPED_DUPLICATES,
    C_DROPPED_LATE,
    C_LATE_ROWS,
    C_DEAD_LETTER_ROWS,
    C_INPUT_RPS,
    C_PROCESSED_RPS,
    C_DURATION_MS,
    C_READ_MS,
    C_WRITE_MS,
    C_COMMIT_MS,
    C_WATERMARK,
    C_TABLE_VERSION,
    C_FILES_ADDED,
    C_BYTES_ADDED,
    C_EXPECTATIONS,
    C_BATCH_SOURCES,
    C_COUNT
};

static const struct {
    const char *name;
    sm_type type;
    bool nullable;
} COLUMNS[C_COUNT] = {
    [C_TIMESTAMP] = {"timestamp", SM_TIMESTAMP_US, false},
    [C_PIPELINE] = {"pipeline", SM_STRING, false},
    [C_QUERY_ID] = {"query_id", SM_STRING, false},
    [C_RUN_ID] = {"run_id", SM_STRING, true},
    [C_BATCH_ID] = {"batch_id", SM_INT64, false},
    [C_TABLE_NAME] = {"table_name", SM_STRING, false},
    [C_LAYER] = {"layer", SM_STRING, false},
    [C_SOURCE] = {"source", SM_STRING, true},
    [C_BATCH_INPUT_ROWS] = {"batch_num_input_rows", SM_INT64, false},
    [C_INPUT_ROWS] = {"num_input_rows", SM_INT64, false},
    [C_OUTPUT_ROWS] = {"num_output_rows", SM_INT64, false},
    [C_QUARANTINED_ROWS] = {"num_quarantined_rows", SM_INT64, false},
    [C_DROPPED_DUPLICATES] = {"num_dropped_duplicates", SM_INT64, false},
    [C_DROPPED_LATE] = {"num_dropped_late", SM_INT64, false},
    [C_LATE_ROWS] = {"num_late_rows", SM_INT64, false},
    [C_DEAD_LETTER_ROWS] = {"num_dead_letter_rows", SM_INT64, false},
    [C_INPUT_RPS] = {"input_rows_per_second", SM_DOUBLE, false},
    [C_PROCESSED_RPS] = {"processed_rows_per_second", SM_DOUBLE, false},
    [C_DURATION_MS] = {"duration_ms", SM_INT64, false},
    [C_READ_MS] = {"read_ms", SM_INT64, false},
    [C_WRITE_MS] = {"write_ms", SM_INT64, false},
    [C_COMMIT_MS] = {"commit_ms", SM_INT64, false},
    [C_WATERMARK] = {"watermark", SM_TIMESTAMP_US, true},
    [C_TABLE_VERSION] = {"table_version", SM_INT64, true},
    [C_FILES_ADDED] = {"num_files_added", SM_INT64, false},
    [C_BYTES_ADDED] = {"num_bytes_added", SM_INT64, false},
    [C_EXPECTATIONS] = {"expectations", SM_LIST, false},
    [C_BATCH_SOURCES] = {"batch_sources", SM_STRING, true},
};

/* The table's schema, built in `a`; NULL on out of memory. expectations is
 * list<struct<name string, on_violation string, passed_records long, failed_records long>>. */
static sm_field *event_log_schema(sm_arena *a)
{
    sm_field *cols[C_COUNT], *ex[4];

    ex[0] = sm_field_new(a, "name", SM_STRING, false);
    ex[1] = sm_field_new(a, "on_violation", SM_STRING, false);
    ex[2] = sm_field_new(a, "passed_records", SM_INT64, false);
    ex[3] = sm_field_new(a, "failed_records", SM_INT64, false);
    for (int i = 0; i < 4; i++) {
        if (!ex[i]) {
            return NULL;
        }
    }
    for (int i = 0; i < C_COUNT; i++) {
        if (i == C_EXPECTATIONS) {
            sm_field *el = sm_field_struct(a, "element", ex, 4, false);
            cols[i] = el ? sm_field_list(a, COLUMNS[i].name, el, COLUMNS[i].nullable) : NULL;
        } else {
            cols[i] = sm_field_new(a, COLUMNS[i].name, COLUMNS[i].type, COLUMNS[i].nullable);
        }
        if (!cols[i]) {
            return NULL;
        }
    }
    return sm_field_struct(a, "event_log", cols, C_COUNT, false);
}

static int check_batch(const sm_evl_batch *b, sm_error *err)
{
    if (!b->pipeline || !b->query_id || b->batch_id < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "event log: a batch needs a pipeline, a query id and a batch id >= 0 "
                            "(got %s, %s, %" PRId64 ")",
                            b->pipeline ? b->pipeline : "(null)",
                            b->query_id ? b->query_id : "(null)", b->batch_id);
    }
    if (b->n_rows < 0 || (b->n_rows > 0 && !b->rows)) {
        return sm_error_set(err, SM_ERR_USAGE, "event log: batch %" PRId64 " has no rows array",
                            b->batch_id);
    }
    for (int i = 0; i < b->n_rows; i++) {
        const sm_evl_row *r = &b->rows[i];
        if (!r->table || !r->layer) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "event log: batch %" PRId64 " row %d has no table name or layer",
                                b->batch_id, i);
        }
        if (r->n_expectations < 0 || (r->n_expectations > 0 && !r->expectations)) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "event log: batch %" PRId64 " table %s has no expectations array",
                                b->batch_id, r->table);
        }
        for (int k = 0; k < r->n_expectations; k++) {
            if (!r->expectations[k].name || !r->expectations[k].on_violation) {
                return sm_error_set(err, SM_ERR_USAGE,
                                    "event log: batch %" PRId64
                                    " table %s expectation %d has no name or on_violation",
                                    b->batch_id, r->table, k);
            }
        }
    }
    return SM_OK;
}

/* ---- the rows ------------------------------------------------------------------------------ */

static int put_str(sm_arena *a, sm_column *c, const char *s)
{
    return s ? sm_column_append_bytes(a, c, s, strlen(s)) : sm_column_append_null(a, c);
}

static int put_expectations(sm_arena *a, sm_column *c, const sm_evl_row *r)
{
    sm_column *el = c->children[0];
    for (int k = 0; k < r->n_expectations; k++) {
        const sm_evl_expectation *x = &r->expectations[k];
        if (sm_column_append_valid(a, el) || put_str(a, el->children[0], x->name) ||
            put_str(a, el->children[1], x->on_violation) ||
            sm_column_append_i64(a, el->children[2], x->passed) ||
            sm_column_append_i64(a, el->children[3], x->failed)) {
            return -1;
        }
    }
    return sm_column_list_end(a, c);
}

/* One row of the table for b->rows[i]; -1 when the arena refuses to grow. */
static int put_row(sm_arena *a, sm_column *t, const sm_evl_batch *b, const sm_evl_row *r)
{
    sm_column **c = t->children;
    int rc = 0;

    rc |= sm_column_append_valid(a, t);
    rc |= sm_column_append_i64(a, c[C_TIMESTAMP], b->batch_timestamp_ms * 1000);
    rc |= put_str(a, c[C_PIPELINE], b->pipeline);
    rc |= put_str(a, c[C_QUERY_ID], b->query_id);
    rc |= put_str(a, c[C_RUN_ID], b->run_id);
    rc |= sm_column_append_i64(a, c[C_BATCH_ID], b->batch_id);
    rc |= put_str(a, c[C_TABLE_NAME], r->table);
    rc |= put_str(a, c[C_LAYER], r->layer);
    rc |= put_str(a, c[C_SOURCE], r->source);
    rc |= sm_column_append_i64(a, c[C_BATCH_INPUT_ROWS], b->num_input_rows);
    rc |= sm_column_append_i64(a, c[C_INPUT_ROWS], r->input_rows);
    rc |= sm_column_append_i64(a, c[C_OUTPUT_ROWS], r->output_rows);
    rc |= sm_column_append_i64(a, c[C_QUARANTINED_ROWS], r->quarantined_rows);
    rc |= sm_column_append_i64(a, c[C_DROPPED_DUPLICATES], r->dropped_duplicates);
    rc |= sm_column_append_i64(a, c[C_DROPPED_LATE], r->dropped_late);
    rc |= sm_column_append_i64(a, c[C_LATE_ROWS], r->late_rows);
    rc |= sm_column_append_i64(a, c[C_DEAD_LETTER_ROWS], r->dead_letter_rows);
    rc |= sm_column_append_f64(a, c[C_INPUT_RPS], b->input_rows_per_second);
    rc |= sm_column_append_f64(a, c[C_PROCESSED_RPS], b->processed_rows_per_second);
    rc |= sm_column_append_i64(a, c[C_DURATION_MS], b->duration_ms);
    rc |= sm_column_append_i64(a, c[C_READ_MS], b->read_ms);
    rc |= sm_column_append_i64(a, c[C_WRITE_MS], b->write_ms);
    rc |= sm_column_append_i64(a, c[C_COMMIT_MS], b->commit_ms);
    rc |= b->watermark_ms == INT64_MIN
              ? sm_column_append_null(a, c[C_WATERMARK])
              : sm_column_append_i64(a, c[C_WATERMARK], b->watermark_ms * 1000);
    rc |= r->table_version < 0 ? sm_column_append_null(a, c[C_TABLE_VERSION])
                               : sm_column_append_i64(a, c[C_TABLE_VERSION], r->table_version);
    rc |= sm_column_append_i64(a, c[C_FILES_ADDED], r->files_added);
    rc |= sm_column_append_i64(a, c[C_BYTES_ADDED], r->bytes_added);
    rc |= put_expectations(a, c[C_EXPECTATIONS], r);
    rc |= put_str(a, c[C_BATCH_SOURCES], b->sources_json);
    return rc ? -1 : 0;
}

/* ---- the table ----------------------------------------------------------------------------- */

/* Checks that an existing table has the event log's schema (compared in Delta's JSON form). */
static int table_check(const char *path, const sm_field *schema, const delta_snapshot *s,
                       sm_error *err)
{
    sm_buf ours = SM_BUF_INIT, theirs = SM_BUF_INIT;
    sm_arena *a = NULL;
    sm_field *f = NULL;
    int rc = SM_OK;

    if (!s->metadata.schema_string) {
        return sm_error_set(err, SM_ERR_USAGE, "table at %s has no schema in its log", path);
    }
    if (!(a = sm_arena_create(0, 0))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if ((rc = delta_schema_to_json(schema, &ours, err)) != SM_OK ||
        (rc = delta_schema_from_json(s->metadata.schema_string, a, &f, err)) != SM_OK ||
        (rc = delta_schema_to_json(f, &theirs, err)) != SM_OK) {
        sm_error_prefix(err, "table at %s", path);
        goto done;
    }
    if (ours.len != theirs.len || memcmp(ours.data, theirs.data, ours.len) != 0) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "table at %s has another schema than this smelter's event log (%.*s): "
                          "move the table away (a new one is made) or upgrade smelter",
                          path, (int)(theirs.len > 400 ? 400 : theirs.len),
                          (const char *)theirs.data);
    }
    if (rc == SM_OK && s->metadata.n_partition_columns != 0) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "table at %s is partitioned (%d partition column(s)); smelter writes "
                          "it unpartitioned: move the table away (a new one is made)",
                          path, s->metadata.n_partition_columns);
    }
done:
    sm_buf_free(&ours);
    sm_buf_free(&theirs);
    sm_arena_destroy(a);
    return rc;
}

/* The snapshot of the table, created first when it does not exist (another process creating it
 * at the same moment is fine) and checked when it does. */
static int table_load(const char *path, const sm_field *schema, delta_snapshot **out, sm_error *err)
{
    int64_t v = -1;
    int rc;

    *out = NULL;
    if ((rc = delta_latest_version(path, &v, err)) != SM_OK) {
        return rc;
    }
    if (v < 0) {
        delta_create_opts o = {0};
        o.schema = schema;
        o.name = "event_log";
        o.description = "smelter event log: one row per micro-batch and table";
        rc = delta_table_create(path, &o, err);
        if (rc == SM_ERR_CONFLICT) {
            sm_error_clear(err);
        } else if (rc != SM_OK) {
            return rc;
        } else {
            sm_log_info(COMPONENT, "created the event log at %s", path);
        }
    }
    if ((rc = delta_snapshot_load(path, NULL, out, err)) != SM_OK) {
        return rc;
    }
    if ((rc = table_check(path, schema, *out, err)) != SM_OK) {
        delta_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Whether the table now has the batch (after a commit lost a race); false when it cannot tell. */
static bool has_batch(const char *path, const sm_evl_batch *b)
{
    delta_snapshot *s = NULL;
    sm_error ignore;
    bool has;

    if (delta_snapshot_load(path, NULL, &s, &ignore) != SM_OK) {
        return false;
    }
    has = delta_snapshot_txn_version(s, b->query_id) >= b->batch_id;
    delta_snapshot_free(s);
    return has;
}

/* Writes the batch's rows as the Parquet file `local` and fills `add` (strings in `a`). On
 * error nothing is left at `local`. */
static int write_file(sm_arena *a, const sm_field *schema, const sm_evl_batch *b, const char *local,
                      const char *name, delta_file *add, sm_error *err)
{
    sm_column *t;
    pq_writer_opts wo;
    pq_writer *w = NULL;
    pq_file_info info;
    int rc;

    if (!(t = sm_column_new(a, schema, b->n_rows))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < b->n_rows; i++) {
        if (put_row(a, t, b, &b->rows[i]) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory building batch %" PRId64,
                                b->batch_id);
        }
    }
    pq_writer_opts_default(&wo);
    wo.codec = PQ_CODEC_ZSTD;
    if ((rc = pq_writer_open(local, schema, &wo, &w, err)) != SM_OK) {
        return rc;
    }
    if ((rc = pq_writer_write(w, t, err)) != SM_OK) {
        pq_writer_abort(w);
        return rc;
    }
    return delta_add_from_writer(w, local, name, a, add, &info, err);
}

int sm_event_log_append(const char *lake, const sm_evl_batch *b, int64_t *version_out,
                        sm_error *err)
{
    sm_arena *a = NULL;
    sm_field *schema;
    delta_snapshot *s = NULL;
    char *path = NULL, *local = NULL, *params = NULL, *metrics = NULL;
    char uuid[SM_UUID_LEN + 1], name[96];
    delta_file add;
    int64_t version = -1;
    int rc;

    if (version_out) {
        *version_out = -1;
    }
    if (!lake || !b) {
        return sm_error_set(err, SM_ERR_USAGE, "event log: no lake or no batch");
    }
    if ((rc = check_batch(b, err)) != SM_OK || b->n_rows == 0) {
        return rc;
    }
    if (!(a = sm_arena_create(0, 0)) || !(schema = event_log_schema(a)) ||
        asprintf(&path, "%s/%s", lake, SM_EVENT_LOG_DIR) < 0) {
        path = NULL;
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = sm_mkdir_p(path, err)) != SM_OK ||
        (rc = table_load(path, schema, &s, err)) != SM_OK) {
        goto done;
    }
    if (delta_snapshot_txn_version(s, b->query_id) >= b->batch_id) {
        sm_log_info(COMPONENT,
                    "event log already has batch %" PRId64 " of query %s (version %" PRId64 ")",
                    b->batch_id, b->query_id, s->version);
        goto done;
    }

    if ((rc = sm_uuid4(uuid, err)) != SM_OK) {
        goto done;
    }
    snprintf(name, sizeof name, "part-00000-%s.c000.zstd.parquet", uuid);
    if (asprintf(&local, "%s/%s", path, name) < 0 ||
        asprintf(&params,
                 "{\"outputMode\":\"Append\",\"queryId\":\"%s\",\"epochId\":\"%" PRId64 "\"}",
                 b->query_id, b->batch_id) < 0) {
        local = params = NULL;
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = write_file(a, schema, b, local, name, &add, err)) != SM_OK) {
        goto done;
    }
    if (asprintf(&metrics,
                 "{\"numAddedFiles\":\"1\",\"numOutputRows\":\"%d\",\"numOutputBytes\":\"%" PRId64
                 "\"}",
                 b->n_rows, add.size) < 0) {
        metrics = NULL;
        unlink(local);
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        delta_commit c = {0};
        c.read_version = s->version;
        c.n_adds = 1;
        c.adds = &add;
        c.app_id = b->query_id;
        c.txn_version = b->batch_id;
        c.operation = "STREAMING UPDATE";
        c.operation_parameters = params;
        c.operation_metrics = metrics;
        rc = delta_commit_write(path, &c, &version, err);
    }
    if (rc == SM_ERR_CONFLICT && version < 0 && has_batch(path, b)) {
        /* another run of this query committed the batch first */
        sm_log_info(COMPONENT, "event log got batch %" PRId64 " of query %s from another writer",
                    b->batch_id, b->query_id);
        sm_error_clear(err);
        unlink(local);
        rc = SM_OK;
        goto done;
    }
    if (rc != SM_OK && version < 0) {
        unlink(local);
    }
    if (version_out) {
        *version_out = version;
    }

done:
    if (rc != SM_OK) {
        sm_error_prefix(err, "event log: batch %" PRId64, b->batch_id);
    }
    free(path);
    free(local);
    free(params);
    free(metrics);
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    return rc;
}
