/*
 * Tests of stream/event_log.c: batches appended to a temporary lake read back in DuckDB with
 * every field (the expectations list unnested), a re-append of a batch is a no-op (txn), another
 * query appends beside, the Delta log loads with one file and one txn per batch, and a batch or
 * table the event log cannot take is refused with SM_ERR_USAGE.
 */
#include <inttypes.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "storage/delta.h"
#include "stream/event_log.h"
#include "sm_test.h"

#define Q1 "6f1c3a52-0e2b-4c55-9d1e-2b7f6a0c1d11"
#define Q2 "0a9b8c7d-1111-4222-8333-944455566677"

#define T0 1714564800000LL /* 2024-05-01T12:00:00Z */

static const sm_evl_expectation EX_SILVER[] = {
    {"valid_order_id", "drop", 97, 3},
    {"valid_quantity", "drop", 99, 1},
    {"sane_total", "warn", 95, 5},
};
static const sm_evl_expectation EX_SILVER_B1[] = {
    {"valid_order_id", "drop", 10, 0},
    {"valid_quantity", "drop", 8, 2},
    {"sane_total", "warn", 10, 0},
};

/* Batch `n` (0, 1 or 2) of query `q`: batch 0 has bronze, silver (3 rules) and quarantine rows;
 * batch 1 bronze and silver; batch 2 a dead-letter row, no watermark and no run id. */
static sm_evl_batch make_batch(int n, const char *q, sm_evl_row rows[3])
{
    sm_evl_batch b = {0};
    memset(rows, 0, 3 * sizeof *rows);
    b.pipeline = "ecommerce";
    b.query_id = q;
    b.run_id = n == 2 ? NULL : "run-1";
    b.batch_id = n;
    b.batch_timestamp_ms = T0 + n * 5000;
    b.watermark_ms = n == 2 ? INT64_MIN : T0 - 600000 + n;
    b.num_input_rows = 105 + n;
    b.input_rows_per_second = 21.5 + n;
    b.processed_rows_per_second = 1000.25;
    b.duration_ms = 40 + n;
    b.read_ms = 10;
    b.write_ms = 20;
    b.commit_ms = 5 + n;
    b.sources_json =
        n == 2 ? NULL : "[{\"topic\":\"orders\",\"partition\":0,\"start\":0,\"end\":105}]";
    b.rows = rows;
    if (n == 2) {
        rows[0] = (sm_evl_row){.table = "bronze_orders_dead_letter",
                               .layer = "dead_letter",
                               .source = "orders",
                               .input_rows = 107,
                               .output_rows = 2,
                               .dead_letter_rows = 2,
                               .table_version = 0,
                               .files_added = 1,
                               .bytes_added = 999};
        b.n_rows = 1;
        return b;
    }
    rows[0] = (sm_evl_row){.table = "bronze_orders",
                           .layer = "bronze",
                           .source = "orders",
                           .input_rows = 105 + n,
                           .output_rows = 100 + n,
                           .dead_letter_rows = 5,
                           .table_version = 1 + n,
                           .files_added = 2,
                           .bytes_added = 123456};
    rows[1] = (sm_evl_row){.table = "silver_orders",
                           .layer = "silver",
                           .source = "bronze_orders",
                           .input_rows = 100 + n,
                           .output_rows = n == 0 ? 94 : 8,
                           .quarantined_rows = n == 0 ? 4 : 2,
                           .dropped_duplicates = 1,
                           .dropped_late = 1,
                           .late_rows = 2,
                           .table_version = n == 0 ? -1 : 7,
                           .files_added = 1,
                           .bytes_added = 4321,
                           .expectations = n == 0 ? EX_SILVER : EX_SILVER_B1,
                           .n_expectations = 3};
    rows[2] = (sm_evl_row){.table = "silver_orders_quarantine",
                           .layer = "quarantine",
                           .source = "silver_orders",
                           .input_rows = 4,
                           .output_rows = 4,
                           .table_version = 0,
                           .files_added = 1,
                           .bytes_added = 777};
    b.n_rows = n == 0 ? 3 : 2;
    return b;
}

static char *event_log_path(const char *lake)
{
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", lake, SM_EVENT_LOG_DIR) > 0);
    return p;
}

/* "read_parquet(['f1', ...])" over the active files of the event log (malloc'ed). */
static char *scan(const char *lake)
{
    char *table = event_log_path(lake);
    delta_snapshot *s = NULL;
    sm_buf b = SM_BUF_INIT, path = SM_BUF_INIT;
    sm_error err;

    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(table, NULL, &s, &err), SM_OK);
    CU_ASSERT_FATAL(s->n_files > 0);
    sm_buf_append(&b, "read_parquet([", 14, NULL);
    for (int64_t i = 0; i < s->n_files; i++) {
        sm_buf_reset(&path);
        CU_ASSERT_EQUAL_FATAL(delta_file_local_path(table, s->files[i].path, &path, &err), SM_OK);
        sm_buf_append(&b, i ? ", '" : "'", i ? 3 : 1, NULL);
        sm_buf_append(&b, path.data, path.len, NULL);
        sm_buf_append(&b, "'", 1, NULL);
    }
    sm_buf_append(&b, "])", 3, NULL); /* with the NUL */
    delta_snapshot_free(s);
    sm_buf_free(&path);
    free(table);
    return (char *)b.data;
}

static json_t *query(const char *lake, const char *fmt)
{
    char *from = scan(lake), *sql = NULL;
    json_t *rows;
    CU_ASSERT_FATAL(asprintf(&sql, fmt, from) > 0);
    rows = sm_test_duckdb(sql);
    if (!rows) {
        fprintf(stderr, "query failed: %s\n", sql);
    }
    free(sql);
    free(from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    return rows;
}

static void append_ok(const char *lake, int n, const char *q, int64_t *version)
{
    sm_evl_row rows[3];
    sm_evl_batch b = make_batch(n, q, rows);
    sm_error err;
    int rc = sm_event_log_append(lake, &b, version, &err);
    if (rc != SM_OK) {
        fprintf(stderr, "append: %s\n", err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
}

static const char *str(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

static long long num(const json_t *row, const char *key)
{
    return sm_test_int(json_object_get(row, key));
}

static double dbl(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool is_null(const json_t *row, const char *key)
{
    return json_is_null(json_object_get(row, key));
}

/* Three batches: every field of every row, and the expectations unnested. */
static void test_event_log_rows_read_back_in_duckdb(void)
{
    char *lake = sm_test_tmpdir("evl-rows");
    int64_t v[3];
    json_t *rows, *r;

    for (int n = 0; n < 3; n++) {
        append_ok(lake, n, Q1, &v[n]);
    }
    CU_ASSERT_EQUAL(v[0], 1); /* version 0 created the table */
    CU_ASSERT_EQUAL(v[1], 2);
    CU_ASSERT_EQUAL(v[2], 3);

    rows = query(lake, "SELECT epoch_ms(\"timestamp\") AS ts, pipeline, query_id, run_id, "
                       "batch_id, table_name, layer, source, batch_num_input_rows, "
                       "num_input_rows, num_output_rows, num_quarantined_rows, "
                       "num_dropped_duplicates, num_dropped_late, num_late_rows, "
                       "num_dead_letter_rows, input_rows_per_second, processed_rows_per_second, "
                       "duration_ms, read_ms, write_ms, commit_ms, epoch_ms(watermark) AS wm, "
                       "table_version, num_files_added, num_bytes_added, "
                       "len(expectations) AS n_ex, batch_sources, "
                       "typeof(\"timestamp\") AS ts_type, typeof(expectations) AS ex_type "
                       "FROM %s ORDER BY batch_id, table_name");
    CU_ASSERT_EQUAL_FATAL(json_array_size(rows), 6);

    /* batch 0, silver_orders (sorted: bronze_orders, silver_orders, silver_orders_quarantine) */
    r = json_array_get(rows, 1);
    CU_ASSERT_EQUAL(num(r, "ts"), T0);
    CU_ASSERT_STRING_EQUAL(str(r, "pipeline"), "ecommerce");
    CU_ASSERT_STRING_EQUAL(str(r, "query_id"), Q1);
    CU_ASSERT_STRING_EQUAL(str(r, "run_id"), "run-1");
    CU_ASSERT_EQUAL(num(r, "batch_id"), 0);
    CU_ASSERT_STRING_EQUAL(str(r, "table_name"), "silver_orders");
    CU_ASSERT_STRING_EQUAL(str(r, "layer"), "silver");
    CU_ASSERT_STRING_EQUAL(str(r, "source"), "bronze_orders");
    CU_ASSERT_EQUAL(num(r, "batch_num_input_rows"), 105);
    CU_ASSERT_EQUAL(num(r, "num_input_rows"), 100);
    CU_ASSERT_EQUAL(num(r, "num_output_rows"), 94);
    CU_ASSERT_EQUAL(num(r, "num_quarantined_rows"), 4);
    CU_ASSERT_EQUAL(num(r, "num_dropped_duplicates"), 1);
    CU_ASSERT_EQUAL(num(r, "num_dropped_late"), 1);
    CU_ASSERT_EQUAL(num(r, "num_late_rows"), 2);
    CU_ASSERT_EQUAL(num(r, "num_dead_letter_rows"), 0);
    CU_ASSERT_DOUBLE_EQUAL(dbl(r, "input_rows_per_second"), 21.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dbl(r, "processed_rows_per_second"), 1000.25, 1e-9);
    CU_ASSERT_EQUAL(num(r, "duration_ms"), 40);
    CU_ASSERT_EQUAL(num(r, "read_ms"), 10);
    CU_ASSERT_EQUAL(num(r, "write_ms"), 20);
    CU_ASSERT_EQUAL(num(r, "commit_ms"), 5);
    CU_ASSERT_EQUAL(num(r, "wm"), T0 - 600000);
    CU_ASSERT(is_null(r, "table_version")); /* -1: none */
    CU_ASSERT_EQUAL(num(r, "num_files_added"), 1);
    CU_ASSERT_EQUAL(num(r, "num_bytes_added"), 4321);
    CU_ASSERT_EQUAL(num(r, "n_ex"), 3);
    CU_ASSERT_STRING_EQUAL(str(r, "batch_sources"),
                           "[{\"topic\":\"orders\",\"partition\":0,\"start\":0,\"end\":105}]");
    CU_ASSERT_EQUAL(strncmp(str(r, "ts_type"), "TIMESTAMP", 9), 0);
    CU_ASSERT_STRING_EQUAL(str(r, "ex_type"), "STRUCT(\"name\" VARCHAR, on_violation VARCHAR, "
                                              "passed_records BIGINT, failed_records BIGINT)[]");

    /* batch 0, bronze_orders: no expectations, a table version */
    r = json_array_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(str(r, "table_name"), "bronze_orders");
    CU_ASSERT_EQUAL(num(r, "table_version"), 1);
    CU_ASSERT_EQUAL(num(r, "num_dead_letter_rows"), 5);
    CU_ASSERT_EQUAL(num(r, "num_bytes_added"), 123456);
    CU_ASSERT_EQUAL(num(r, "n_ex"), 0);

    /* batch 1, silver_orders */
    r = json_array_get(rows, 4);
    CU_ASSERT_EQUAL(num(r, "batch_id"), 1);
    CU_ASSERT_STRING_EQUAL(str(r, "table_name"), "silver_orders");
    CU_ASSERT_EQUAL(num(r, "ts"), T0 + 5000);
    CU_ASSERT_EQUAL(num(r, "wm"), T0 - 600000 + 1);
    CU_ASSERT_EQUAL(num(r, "table_version"), 7);
    CU_ASSERT_EQUAL(num(r, "commit_ms"), 6);

    /* batch 2: the dead-letter row, no watermark, run id or sources */
    r = json_array_get(rows, 5);
    CU_ASSERT_EQUAL(num(r, "batch_id"), 2);
    CU_ASSERT_STRING_EQUAL(str(r, "table_name"), "bronze_orders_dead_letter");
    CU_ASSERT_STRING_EQUAL(str(r, "layer"), "dead_letter");
    CU_ASSERT_EQUAL(num(r, "num_dead_letter_rows"), 2);
    CU_ASSERT_EQUAL(num(r, "table_version"), 0);
    CU_ASSERT(is_null(r, "wm"));
    CU_ASSERT(is_null(r, "run_id"));
    CU_ASSERT(is_null(r, "batch_sources"));
    CU_ASSERT_EQUAL(num(r, "n_ex"), 0);
    json_decref(rows);

    /* the expectations, one row each */
    rows = query(lake, "SELECT batch_id, table_name, e.name AS name, e.on_violation AS ov, "
                       "e.passed_records AS passed, e.failed_records AS failed "
                       "FROM (SELECT batch_id, table_name, unnest(expectations) AS e FROM %s) "
                       "ORDER BY batch_id, name");
    CU_ASSERT_EQUAL_FATAL(json_array_size(rows), 6);
    {
        static const struct {
            int batch;
            const char *name, *ov;
            int passed, failed;
        } want[] = {
            {0, "sane_total", "warn", 95, 5},     {0, "valid_order_id", "drop", 97, 3},
            {0, "valid_quantity", "drop", 99, 1}, {1, "sane_total", "warn", 10, 0},
            {1, "valid_order_id", "drop", 10, 0}, {1, "valid_quantity", "drop", 8, 2},
        };
        for (size_t i = 0; i < 6; i++) {
            r = json_array_get(rows, i);
            CU_ASSERT_EQUAL(num(r, "batch_id"), want[i].batch);
            CU_ASSERT_STRING_EQUAL(str(r, "table_name"), "silver_orders");
            CU_ASSERT_STRING_EQUAL(str(r, "name"), want[i].name);
            CU_ASSERT_STRING_EQUAL(str(r, "ov"), want[i].ov);
            CU_ASSERT_EQUAL(num(r, "passed"), want[i].passed);
            CU_ASSERT_EQUAL(num(r, "failed"), want[i].failed);
        }
    }
    json_decref(rows);
    sm_test_rmtree(lake);
    free(lake);
}

/* A re-run of a batch appends nothing; another query id appends beside; the log is valid. */
static void test_event_log_rerun_is_a_noop_and_queries_append_beside(void)
{
    char *lake = sm_test_tmpdir("evl-txn");
    char *table = event_log_path(lake);
    delta_snapshot *s = NULL;
    sm_error err;
    int64_t v;
    json_t *rows;

    append_ok(lake, 0, Q1, &v);
    CU_ASSERT_EQUAL(v, 1);
    append_ok(lake, 1, Q1, &v);
    CU_ASSERT_EQUAL(v, 2);
    append_ok(lake, 0, Q1, &v); /* re-runs of committed batches */
    CU_ASSERT_EQUAL(v, -1);
    append_ok(lake, 1, Q1, &v);
    CU_ASSERT_EQUAL(v, -1);
    append_ok(lake, 0, Q2, &v); /* another query: its own batch 0 */
    CU_ASSERT_EQUAL(v, 3);
    append_ok(lake, 0, Q2, &v);
    CU_ASSERT_EQUAL(v, -1);

    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(table, NULL, &s, &err), SM_OK);
    CU_ASSERT_EQUAL(s->version, 3);
    CU_ASSERT_EQUAL(s->n_files, 3);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, Q1), 1);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, Q2), 0);
    CU_ASSERT_EQUAL(s->metadata.n_partition_columns, 0);
    CU_ASSERT_STRING_EQUAL(s->metadata.name, "event_log");
    CU_ASSERT_PTR_NOT_NULL(strstr(s->metadata.schema_string, "\"passed_records\""));
    for (int64_t i = 0; i < s->n_files; i++) {
        CU_ASSERT_PTR_NOT_NULL(s->files[i].stats);
        CU_ASSERT_PTR_NOT_NULL(strstr(s->files[i].stats, "\"numRecords\""));
        CU_ASSERT_PTR_NULL(strchr(s->files[i].path, '/')); /* not partitioned */
    }
    delta_snapshot_free(s);

    rows = query(lake, "SELECT query_id, batch_id, count(*) AS n FROM %s "
                       "GROUP BY ALL ORDER BY query_id DESC, batch_id");
    CU_ASSERT_EQUAL_FATAL(json_array_size(rows), 3);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(rows, 0), "query_id"), Q1);
    CU_ASSERT_EQUAL(num(json_array_get(rows, 0), "n"), 3);
    CU_ASSERT_EQUAL(num(json_array_get(rows, 1), "batch_id"), 1);
    CU_ASSERT_EQUAL(num(json_array_get(rows, 1), "n"), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(rows, 2), "query_id"), Q2);
    CU_ASSERT_EQUAL(num(json_array_get(rows, 2), "n"), 3);
    json_decref(rows);

    /* no stray files: exactly the committed ones next to _delta_log */
    {
        char *cmd = NULL;
        FILE *p;
        int count = -1;
        CU_ASSERT_FATAL(asprintf(&cmd, "ls '%s' | grep -c parquet", table) > 0);
        p = popen(cmd, "r");
        CU_ASSERT_FATAL(p != NULL);
        CU_ASSERT_EQUAL(fscanf(p, "%d", &count), 1);
        pclose(p);
        free(cmd);
        CU_ASSERT_EQUAL(count, 3);
    }
    free(table);
    sm_test_rmtree(lake);
    free(lake);
}

/* Processes appending at once, each its own query: every batch lands once. */
static void test_event_log_concurrent_processes_all_land(void)
{
    char *lake = sm_test_tmpdir("evl-procs");
    char *table = event_log_path(lake);
    static const char *queries[] = {"q-a", "q-b", "q-c"};
    pid_t pids[3];
    delta_snapshot *s = NULL;
    sm_error err;

    for (int i = 0; i < 3; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0) {
            for (int n = 0; n < 3; n++) {
                sm_evl_row rows[3];
                sm_evl_batch b = make_batch(n, queries[i], rows);
                if (sm_event_log_append(lake, &b, NULL, &err) != SM_OK) {
                    fprintf(stderr, "child %d: %s\n", i, err.msg);
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 3; i++) {
        int st = -1;
        CU_ASSERT_EQUAL(waitpid(pids[i], &st, 0), pids[i]);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(table, NULL, &s, &err), SM_OK);
    CU_ASSERT_EQUAL(s->n_files, 9);
    CU_ASSERT_EQUAL(s->version, 9);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, queries[i]), 2);
    }
    delta_snapshot_free(s);
    free(table);
    sm_test_rmtree(lake);
    free(lake);
}

/* Processes re-running the same batch of one query at once: it lands once, every one succeeds. */
static void test_event_log_racing_reruns_land_once(void)
{
    char *lake = sm_test_tmpdir("evl-race");
    char *table = event_log_path(lake);
    pid_t pids[4];
    delta_snapshot *s = NULL;
    sm_error err;

    append_ok(lake, 0, Q2, NULL); /* the table exists: the children race on the commit only */
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0) {
            sm_evl_row rows[3];
            sm_evl_batch b = make_batch(1, Q1, rows);
            if (sm_event_log_append(lake, &b, NULL, &err) != SM_OK) {
                fprintf(stderr, "child %d: %s\n", i, err.msg);
                _exit(1);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int st = -1;
        CU_ASSERT_EQUAL(waitpid(pids[i], &st, 0), pids[i]);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(table, NULL, &s, &err), SM_OK);
    CU_ASSERT_EQUAL(s->version, 2);
    CU_ASSERT_EQUAL(s->n_files, 2);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, Q1), 1);
    delta_snapshot_free(s);
    {
        char *cmd = NULL;
        FILE *p;
        int count = -1;
        CU_ASSERT_FATAL(asprintf(&cmd, "ls '%s' | grep -c parquet", table) > 0);
        p = popen(cmd, "r");
        CU_ASSERT_FATAL(p != NULL);
        CU_ASSERT_EQUAL(fscanf(p, "%d", &count), 1);
        pclose(p);
        free(cmd);
        CU_ASSERT_EQUAL(count, 2); /* the losers removed their files */
    }
    free(table);
    sm_test_rmtree(lake);
    free(lake);
}

/* Batches the event log cannot take, and a table at its path that is not an event log. */
static void test_event_log_refuses_bad_batches_and_foreign_tables(void)
{
    char *lake = sm_test_tmpdir("evl-bad");
    char *table = event_log_path(lake);
    sm_evl_row rows[3];
    sm_evl_batch b;
    sm_evl_expectation bad_ex = {NULL, "drop", 1, 0};
    sm_error err;
    int64_t v = 42;

    b = make_batch(0, NULL, rows);
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, &v, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(v, -1);
    b = make_batch(0, Q1, rows);
    b.batch_id = -1;
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, NULL, &err), SM_ERR_USAGE);
    b = make_batch(0, Q1, rows);
    rows[1].layer = NULL;
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row 1"));
    b = make_batch(0, Q1, rows);
    rows[0].expectations = &bad_ex;
    rows[0].n_expectations = 1;
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, NULL, &err), SM_ERR_USAGE);
    b = make_batch(0, Q1, rows);
    b.n_rows = 0; /* nothing to record: no table made */
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_NOT_EQUAL(access(table, F_OK), 0);

    /* a table of another schema at the event log's path */
    {
        sm_arena *a = sm_arena_create(0, 0);
        sm_field *col = sm_field_new(a, "x", SM_INT64, true);
        delta_create_opts o = {0};
        o.schema = sm_field_struct(a, "t", &col, 1, false);
        CU_ASSERT_EQUAL_FATAL(delta_table_create(table, &o, &err), SM_OK);
        sm_arena_destroy(a);
    }
    b = make_batch(0, Q1, rows);
    CU_ASSERT_EQUAL(sm_event_log_append(lake, &b, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "another schema"));
    free(table);
    sm_test_rmtree(lake);
    free(lake);
}

static CU_TestInfo tests[] = {
    {"rows read back in duckdb", test_event_log_rows_read_back_in_duckdb},
    {"rerun is a noop and queries append beside",
     test_event_log_rerun_is_a_noop_and_queries_append_beside},
    {"concurrent processes all land", test_event_log_concurrent_processes_all_land},
    {"racing reruns land once", test_event_log_racing_reruns_land_once},
    {"refuses bad batches and foreign tables",
     test_event_log_refuses_bad_batches_and_foreign_tables},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("event_log", tests)
