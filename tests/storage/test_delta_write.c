/*
 * Tests of the Delta writer (storage/delta_write.c): table creation, the commit format, the
 * conflict rules of delta_commit_write, two processes appending to one table at once, and a
 * commit failed or crashed at every durable step.
 *
 * Every check reads the table back with the log reader (delta_snapshot_load, delta_read_commit)
 * or the raw commit files; the data files are read by DuckDB where their contents matter.
 * Crashes are real process deaths: a forked child installs a core/fault.h hook that _exit()s at
 * step N of "write the data file, commit it", and the parent then checks the table it left.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/durable.h"
#include "core/fault.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"
#include "sm_test.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static sm_field *data_schema(sm_arena *a)
{
    sm_field *c[] = {sm_field_new(a, "id", SM_INT64, false),
                     sm_field_new(a, "name", SM_STRING, true)};
    return sm_field_struct(a, "root", c, 2, false);
}

static void create_table(const char *dir, int interval)
{
    sm_arena *a = sm_arena_create(0, 0);
    delta_create_opts o = {0};
    delta_kv conf[1];
    char iv[32];
    sm_error err = {0};
    o.schema = data_schema(a);
    if (interval > 0) {
        snprintf(iv, sizeof iv, "%d", interval);
        conf[0].key = "delta.checkpointInterval";
        conf[0].value = iv;
        o.configuration = conf;
        o.n_configuration = 1;
    }
    int rc = delta_table_create(dir, &o, &err);
    if (rc) {
        fprintf(stderr, "create %s: %s\n", dir, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    sm_arena_destroy(a);
}

/* Writes <table>/<rel> with `rows` rows (ids from id0) and fills `f` as an add of it; strings
 * of `f` are allocated in `a`. */
static int write_data_file(const char *table, const char *rel, int64_t id0, int rows, sm_arena *a,
                           delta_file *f, sm_error *err)
{
    char path[4096];
    pq_writer *w;
    pq_file_info info;
    sm_buf stats = SM_BUF_INIT;
    const sm_field *schema = data_schema(a);
    sm_column *batch = sm_column_new(a, schema, rows);
    int rc;

    snprintf(path, sizeof path, "%s/%s", table, rel);
    for (int i = 0; i < rows; i++) {
        char name[32];
        snprintf(name, sizeof name, "row-%" PRId64, id0 + i);
        if (sm_column_append_valid(a, batch) ||
            sm_column_append_i64(a, batch->children[0], id0 + i) ||
            sm_column_append_bytes(a, batch->children[1], name, strlen(name))) {
            return sm_error_set(err, SM_ERR_NOMEM, "rows");
        }
    }
    if ((rc = pq_writer_open(path, schema, NULL, &w, err))) {
        return rc;
    }
    if ((rc = pq_writer_write(w, batch, err))) {
        pq_writer_abort(w);
        return rc;
    }
    if ((rc = pq_writer_close(w, &info, err))) {
        return rc;
    }
    if ((rc = delta_stats_from_parquet(path, &stats, err))) {
        return rc;
    }
    memset(f, 0, sizeof *f);
    f->path = sm_arena_strdup(a, rel);
    f->size = info.file_size;
    f->modification_time = 0;
    f->data_change = true;
    f->stats = sm_arena_strndup(a, (const char *)stats.data, stats.len);
    sm_buf_free(&stats);
    return SM_OK;
}

static int commit_one(const char *table, int64_t read_version, const char *app, int64_t txn,
                      const delta_file *adds, int n_adds, const delta_file *removes, int n_removes,
                      int interval, int64_t *v, sm_error *err)
{
    delta_commit c = {0};
    c.read_version = read_version;
    c.adds = adds;
    c.n_adds = n_adds;
    c.removes = removes;
    c.n_removes = n_removes;
    c.app_id = app;
    c.txn_version = txn;
    c.operation = "STREAMING UPDATE";
    c.operation_parameters = "{\"outputMode\":\"Append\",\"queryId\":\"q\",\"epochId\":\"1\"}";
    c.checkpoint_interval = interval;
    return delta_commit_write(table, &c, v, err);
}

static delta_snapshot *load(const char *table, int64_t version)
{
    delta_load_opts o;
    delta_snapshot *s = NULL;
    sm_error err = {0};
    delta_load_opts_default(&o);
    o.version = version;
    if (delta_snapshot_load(table, &o, &s, &err)) {
        fprintf(stderr, "load %s: %s\n", table, err.msg);
        return NULL;
    }
    return s;
}

static int64_t latest(const char *table)
{
    int64_t v = -2;
    sm_error err = {0};
    if (delta_latest_version(table, &v, &err)) {
        fprintf(stderr, "latest %s: %s\n", table, err.msg);
    }
    return v;
}

static int count_path(const delta_snapshot *s, const char *path)
{
    int n = 0;
    for (int64_t i = 0; i < s->n_files; i++) {
        n += strcmp(s->files[i].path, path) == 0;
    }
    return n;
}

static json_t *read_lines(const char *table, int64_t v)
{
    char path[4096], *data = NULL;
    size_t len;
    json_t *arr = json_array();
    snprintf(path, sizeof path, "%s/_delta_log/%020" PRId64 ".json", table, v);
    if (sm_read_file(path, 1 << 24, &data, &len, NULL)) {
        json_decref(arr);
        return NULL;
    }
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o) {
            free(data);
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, o);
    }
    free(data);
    return arr;
}

static const char *first_key(const json_t *o)
{
    void *it = json_object_iter((json_t *)o);
    return it ? json_object_iter_key(it) : "";
}

static void copy_tree(const char *src, const char *dst)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", dst, src, dst);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* ---- creation and format ----------------------------------------------------------------- */

static void test_create_writes_protocol_metadata_and_commit_info(void)
{
    char *dir = sm_test_tmpdir("dw-create");
    char table[4096];
    sm_error err = {0};
    snprintf(table, sizeof table, "%s/a/b/t", dir); /* parents made as needed */
    create_table(table, 0);

    json_t *lines = read_lines(table, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    CU_ASSERT_EQUAL(json_array_size(lines), 3);
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 0)), "commitInfo");
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 1)), "protocol");
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 2)), "metaData");
    json_t *ci = json_object_get(json_array_get(lines, 0), "commitInfo");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ci, "operation")), "CREATE TABLE");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ci, "engineInfo")), "smelter/0.1.0");
    CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(ci, "txnId"))), 36);
    CU_ASSERT(json_is_true(json_object_get(ci, "isBlindAppend")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(ci, "operationParameters"), "partitionBy")),
                           "[]");
    json_t *p = json_object_get(json_array_get(lines, 1), "protocol");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "minReaderVersion")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "minWriterVersion")), 2);
    json_t *md = json_object_get(json_array_get(lines, 2), "metaData");
    CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(md, "id"))), 36);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(md, "format"), "provider")), "parquet");
    CU_ASSERT(json_is_object(json_object_get(json_object_get(md, "format"), "options")));
    CU_ASSERT(json_is_array(json_object_get(md, "partitionColumns")));
    CU_ASSERT(json_is_object(json_object_get(md, "configuration")));
    CU_ASSERT(json_is_integer(json_object_get(md, "createdTime")));
    const char *schema = json_string_value(json_object_get(md, "schemaString"));
    CU_ASSERT_PTR_NOT_NULL(schema);
    CU_ASSERT_PTR_NOT_NULL(schema && strstr(schema, "\"name\":\"id\""));
    json_decref(lines);

    delta_snapshot *s = load(table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->version, 0);
    CU_ASSERT_EQUAL(s->n_files, 0);
    CU_ASSERT_EQUAL(s->protocol.min_reader_version, 1);
    delta_snapshot_free(s);

    /* a second create finds version 0 taken */
    sm_arena *a = sm_arena_create(0, 0);
    delta_create_opts o = {.schema = data_schema(a)};
    CU_ASSERT_EQUAL(delta_table_create(table, &o, &err), SM_ERR_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already exists"));

    /* refusals: a partition column that is not in the schema, every column a partition */
    const char *bad[] = {"nope"};
    o.partition_columns = bad;
    o.n_partition_columns = 1;
    snprintf(table, sizeof table, "%s/t2", dir);
    CU_ASSERT_EQUAL(delta_table_create(table, &o, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nope"));
    const char *all[] = {"id", "name"};
    o.partition_columns = all;
    o.n_partition_columns = 2;
    CU_ASSERT_EQUAL(delta_table_create(table, &o, &err), SM_ERR_USAGE);
    delta_kv badconf[] = {{"delta.checkpointInterval", "zero"}};
    o.n_partition_columns = 1;
    o.configuration = badconf;
    o.n_configuration = 1;
    CU_ASSERT_EQUAL(delta_table_create(table, &o, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "checkpointInterval"));
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_commit_format_has_actions_in_order(void)
{
    char *dir = sm_test_tmpdir("dw-format");
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_file add[2], rm;
    int64_t v;
    create_table(dir, 0);
    CU_ASSERT_EQUAL_FATAL(write_data_file(dir, "f1.parquet", 0, 3, a, &add[0], &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(write_data_file(dir, "f2.parquet", 3, 3, a, &add[1], &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(commit_one(dir, 0, "app", 1, add, 2, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 1);

    json_t *lines = read_lines(dir, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    CU_ASSERT_EQUAL(json_array_size(lines), 4);
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 0)), "commitInfo");
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 1)), "txn");
    CU_ASSERT_STRING_EQUAL(first_key(json_array_get(lines, 2)), "add");
    json_t *ci = json_object_get(json_array_get(lines, 0), "commitInfo");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ci, "operation")), "STREAMING UPDATE");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(ci, "operationParameters"), "outputMode")),
                           "Append");
    CU_ASSERT(json_is_true(json_object_get(ci, "isBlindAppend")));
    CU_ASSERT(json_is_integer(json_object_get(ci, "timestamp")));
    json_t *txn = json_object_get(json_array_get(lines, 1), "txn");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(txn, "appId")), "app");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(txn, "version")), 1);
    CU_ASSERT(json_is_integer(json_object_get(txn, "lastUpdated")));
    json_t *ad = json_object_get(json_array_get(lines, 2), "add");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ad, "path")), "f1.parquet");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ad, "size")), add[0].size);
    CU_ASSERT(json_is_object(json_object_get(ad, "partitionValues")));
    CU_ASSERT(json_integer_value(json_object_get(ad, "modificationTime")) > 0);
    CU_ASSERT(json_is_true(json_object_get(ad, "dataChange")));
    const char *stats = json_string_value(json_object_get(ad, "stats"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(stats);
    CU_ASSERT_PTR_NOT_NULL(strstr(stats, "\"numRecords\":3"));
    json_decref(lines);

    /* a remove: after the txn-less commitInfo comes the remove with its extended metadata */
    memset(&rm, 0, sizeof rm);
    rm.path = "f1.parquet";
    rm.size = add[0].size;
    rm.data_change = true;
    CU_ASSERT_EQUAL_FATAL(commit_one(dir, 1, NULL, 0, NULL, 0, &rm, 1, 100, &v, &err), SM_OK);
    lines = read_lines(dir, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    CU_ASSERT_EQUAL(json_array_size(lines), 2);
    ci = json_object_get(json_array_get(lines, 0), "commitInfo");
    CU_ASSERT(json_is_false(json_object_get(ci, "isBlindAppend")));
    json_t *r = json_object_get(json_array_get(lines, 1), "remove");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "path")), "f1.parquet");
    CU_ASSERT(json_integer_value(json_object_get(r, "deletionTimestamp")) > 0);
    CU_ASSERT(json_is_true(json_object_get(r, "extendedFileMetadata")));
    CU_ASSERT(json_is_true(json_object_get(r, "dataChange")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "size")), add[0].size);
    CU_ASSERT(json_is_object(json_object_get(r, "partitionValues")));
    json_decref(lines);

    delta_snapshot *s = load(dir, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_files, 1);
    CU_ASSERT_EQUAL(count_path(s, "f2.parquet"), 1);
    CU_ASSERT_EQUAL(s->n_tombstones, 1);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app"), 1);
    delta_snapshot_free(s);

    /* operation parameters and metrics are written as Spark writes them: values as strings */
    {
        delta_commit c = {.read_version = 2, .operation = "WRITE"};
        c.operation_parameters = "{\"epochId\":7,\"flag\":true,\"none\":null,\"l\":[1,\"a\"]}";
        c.operation_metrics = "{\"numFiles\":3}";
        CU_ASSERT_EQUAL_FATAL(delta_commit_write(dir, &c, &v, &err), SM_OK);
        CU_ASSERT_EQUAL(v, 3);
        lines = read_lines(dir, 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
        ci = json_object_get(json_array_get(lines, 0), "commitInfo");
        json_t *op = json_object_get(ci, "operationParameters");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(op, "epochId")), "7");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(op, "flag")), "true");
        CU_ASSERT(json_is_null(json_object_get(op, "none")));
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(op, "l")), "[1,\"a\"]");
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(ci, "operationMetrics"), "numFiles")),
            "3");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ci, "operation")), "WRITE");
        json_decref(lines);
    }

    /* refusals: bad operation parameters, the same path twice, add and remove of one path */
    delta_commit c = {.read_version = 3, .adds = add, .n_adds = 1};
    c.operation_parameters = "[1]";
    CU_ASSERT_EQUAL(delta_commit_write(dir, &c, &v, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(v, -1);
    c.operation_parameters = NULL;
    delta_file twice[2] = {add[1], add[1]};
    c.adds = twice;
    c.n_adds = 2;
    CU_ASSERT_EQUAL(delta_commit_write(dir, &c, &v, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "twice"));
    c.adds = &add[1];
    c.n_adds = 1;
    delta_file rm2 = {.path = "./f2.parquet", .size = -1};
    c.removes = &rm2;
    c.n_removes = 1;
    CU_ASSERT_EQUAL(delta_commit_write(dir, &c, &v, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(latest(dir), 3);

    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- conflicts --------------------------------------------------------------------------- */

/* Writes a commit as another engine would (Spark changing the table): raw lines. */
static void write_raw_commit(const char *table, int64_t v, const char *lines)
{
    char path[4096];
    sm_error err = {0};
    snprintf(path, sizeof path, "%s/_delta_log/%020" PRId64 ".json", table, v);
    CU_ASSERT_EQUAL_FATAL(
        sm_durable_write_file(path, lines, strlen(lines), SM_DURABLE_NOREPLACE, &err), SM_OK);
}

static void test_conflict_on_metadata_or_protocol_change(void)
{
    char *dir = sm_test_tmpdir("dw-conflict-md");
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_file f;
    int64_t v;
    create_table(dir, 0);
    CU_ASSERT_EQUAL_FATAL(write_data_file(dir, "a.parquet", 0, 1, a, &f, &err), SM_OK);
    /* another writer changes the table properties at version 1 */
    delta_snapshot *s0 = load(dir, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s0);
    char *md = NULL;
    {
        json_t *m = json_pack("{s:{s:s,s:{s:s,s:{}},s:s,s:[],s:{s:s}}}", "metaData", "id",
                              s0->metadata.id, "format", "provider", "parquet", "options",
                              "schemaString", s0->metadata.schema_string, "partitionColumns",
                              "configuration", "delta.appendOnly", "true");
        md = json_dumps(m, JSON_COMPACT);
        json_decref(m);
    }
    delta_snapshot_free(s0);
    char lines[8192];
    snprintf(lines, sizeof lines,
             "{\"commitInfo\":{\"timestamp\":1,\"operation\":\"SET TBLPROPERTIES\"}}\n%s\n", md);
    free(md);
    write_raw_commit(dir, 1, lines);

    CU_ASSERT_EQUAL(commit_one(dir, 0, "q", 1, &f, 1, NULL, 0, 100, &v, &err), SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "metadata"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "commit 1"));
    /* a commit prepared after the change lands */
    CU_ASSERT_EQUAL(commit_one(dir, 1, "q", 1, &f, 1, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 2);

    /* a protocol upgrade at version 3 conflicts with a commit prepared at 2 */
    write_raw_commit(dir, 3, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":3}}\n");
    CU_ASSERT_EQUAL(commit_one(dir, 2, "q", 2, NULL, 0, NULL, 0, 100, &v, &err), SM_ERR_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "protocol"));
    CU_ASSERT_EQUAL(latest(dir), 3);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_conflict_on_txn_already_committed(void)
{
    char *dir = sm_test_tmpdir("dw-conflict-txn");
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_file f[4];
    int64_t v;
    create_table(dir, 0);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.parquet", i);
        CU_ASSERT_EQUAL_FATAL(write_data_file(dir, name, i, 1, a, &f[i], &err), SM_OK);
    }
    /* versions 1 (another app) and 2 (q1 at 7) land */
    CU_ASSERT_EQUAL_FATAL(commit_one(dir, 0, "other", 1, &f[0], 1, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(commit_one(dir, 1, "q1", 7, &f[1], 1, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 2);
    /* a stale writer of q1 batch 7 prepared at version 0: every version from 1 on is checked,
     * version 1 is compatible, version 2 holds the batch */
    CU_ASSERT_EQUAL(commit_one(dir, 0, "q1", 7, &f[2], 1, NULL, 0, 100, &v, &err), SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(v, -1);
    {
        char want[512];
        snprintf(want, sizeof want,
                 "txn for app 'q1' is already at version 7 in commit 2: batch already committed");
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
        if (!strstr(err.msg, want)) {
            fprintf(stderr, "message: %s\n", err.msg);
        }
    }
    /* an older batch number conflicts too (the table is past it) */
    CU_ASSERT_EQUAL(commit_one(dir, 0, "q1", 5, &f[2], 1, NULL, 0, 100, &v, &err), SM_ERR_CONFLICT);
    /* the next batch lands, after versions 1 and 2 */
    CU_ASSERT_EQUAL(commit_one(dir, 0, "q1", 8, &f[2], 1, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 3);
    /* a read_version past the end of the log is refused: it would leave a gap */
    CU_ASSERT_EQUAL(commit_one(dir, 9, "q1", 9, &f[3], 1, NULL, 0, 100, &v, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "past the end of the log"));
    CU_ASSERT_EQUAL(latest(dir), 3);
    /* max_attempts bounds the versions tried */
    {
        delta_commit c = {.read_version = 0, .adds = &f[3], .n_adds = 1, .max_attempts = 1};
        CU_ASSERT_EQUAL(delta_commit_write(dir, &c, &v, &err), SM_ERR_CONFLICT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gave up"));
        c.max_attempts = 0;
        CU_ASSERT_EQUAL(delta_commit_write(dir, &c, &v, &err), SM_OK);
        CU_ASSERT_EQUAL(v, 4);
    }
    delta_snapshot *s = load(dir, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_files, 4);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "q1"), 8);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "other"), 1);
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_conflict_on_double_remove_and_appends_pass(void)
{
    char *dir = sm_test_tmpdir("dw-conflict-rm");
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_file f[4];
    int64_t v;
    create_table(dir, 0);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "part %d.parquet", i); /* a space: %20 in the log */
        CU_ASSERT_EQUAL_FATAL(write_data_file(dir, name, i, 1, a, &f[i], &err), SM_OK);
    }
    f[0].path = "part%200.parquet";
    f[1].path = "part%201.parquet";
    f[2].path = "part%202.parquet";
    f[3].path = "part%203.parquet";
    CU_ASSERT_EQUAL_FATAL(commit_one(dir, 0, NULL, 0, f, 2, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 1);

    /* X removes f0 (an optimizer), prepared at 1 */
    delta_file rm0 = {.path = "part%200.parquet", .size = f[0].size, .data_change = false};
    CU_ASSERT_EQUAL(commit_one(dir, 1, NULL, 0, NULL, 0, &rm0, 1, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 2);
    /* Y, also prepared at 1, removes the same file (spelled differently): conflict */
    delta_file rm0b = {.path = "part 0.parquet", .size = f[0].size, .data_change = true};
    CU_ASSERT_EQUAL(commit_one(dir, 1, NULL, 0, NULL, 0, &rm0b, 1, 100, &v, &err), SM_ERR_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "removed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "commit 2"));
    /* a blind append prepared at 1 lands after the remove */
    CU_ASSERT_EQUAL(commit_one(dir, 1, "stream", 1, &f[2], 1, NULL, 0, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 3);
    /* and a remove of another file, prepared at 1, lands too */
    delta_file rm1 = {.path = "part%201.parquet", .size = f[1].size, .data_change = true};
    CU_ASSERT_EQUAL(commit_one(dir, 1, NULL, 0, &f[3], 1, &rm1, 1, 100, &v, &err), SM_OK);
    CU_ASSERT_EQUAL(v, 4);

    delta_snapshot *s = load(dir, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_files, 2);
    CU_ASSERT_EQUAL(count_path(s, "part%202.parquet"), 1);
    CU_ASSERT_EQUAL(count_path(s, "part%203.parquet"), 1);
    CU_ASSERT_EQUAL(s->n_tombstones, 2);
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- two processes ----------------------------------------------------------------------- */

#define CONC_COMMITS 100

/* One appender: CONC_COMMITS commits, each one new file and a txn of its own app; records the
 * version each landed at in <dir>/versions-<k>. Runs in a forked child: exits, never returns. */
static void appender(const char *table, const char *dir, int k)
{
    char app[16], rec[4096];
    sm_arena *a = sm_arena_create(0, 0);
    int64_t read_version = 0;
    snprintf(app, sizeof app, "proc-%d", k);
    snprintf(rec, sizeof rec, "%s/versions-%d", dir, k);
    FILE *out = fopen(rec, "w");
    if (!out) {
        _exit(3);
    }
    for (int i = 0; i < CONC_COMMITS; i++) {
        char rel[64];
        delta_file f;
        sm_error err = {0};
        int64_t v;
        sm_arena_reset(a);
        snprintf(rel, sizeof rel, "p%d-%03d.parquet", k, i);
        if (write_data_file(table, rel, (k * 1000 + i) * 2, 2, a, &f, &err) ||
            commit_one(table, read_version, app, i, &f, 1, NULL, 0, 0, &v, &err)) {
            fprintf(stderr, "appender %d commit %d: %s\n", k, i, err.msg);
            _exit(4);
        }
        fprintf(out, "%" PRId64 " %d\n", v, i);
        fflush(out);
        read_version = v;
    }
    fclose(out);
    sm_arena_destroy(a);
    _exit(0);
}

static void test_two_processes_append_concurrently(void)
{
    char *dir = sm_test_tmpdir("dw-conc");
    char table[4096];
    int owner[2 * CONC_COMMITS + 1], batch[2 * CONC_COMMITS + 1];
    pid_t pids[2];
    snprintf(table, sizeof table, "%s/t", dir);
    create_table(table, 0);
    memset(owner, -1, sizeof owner);

    fflush(NULL);
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        CU_ASSERT_FATAL(pids[k] >= 0);
        if (pids[k] == 0) {
            appender(table, dir, k);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        CU_ASSERT_EQUAL(waitpid(pids[k], &st, 0), pids[k]);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    /* each process's versions: 100 each, disjoint, together 1..200 */
    for (int k = 0; k < 2; k++) {
        char rec[4096];
        long long v;
        int i, n = 0;
        snprintf(rec, sizeof rec, "%s/versions-%d", dir, k);
        FILE *in = fopen(rec, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(in);
        while (fscanf(in, "%lld %d", &v, &i) == 2) {
            CU_ASSERT_FATAL(v >= 1 && v <= 2 * CONC_COMMITS);
            CU_ASSERT_EQUAL(owner[v], -1); /* no version handed to two commits */
            owner[v] = k;
            batch[v] = i;
            n++;
        }
        fclose(in);
        CU_ASSERT_EQUAL(n, CONC_COMMITS);
    }
    CU_ASSERT_EQUAL(latest(table), 2 * CONC_COMMITS);

    /* every version file holds what exactly the process that got it wrote: nothing was
     * overwritten */
    sm_arena *a = sm_arena_create(0, 0);
    for (int v = 1; v <= 2 * CONC_COMMITS; v++) {
        delta_commit_actions c;
        sm_error err = {0};
        char app[16], rel[64];
        sm_arena_reset(a);
        CU_ASSERT_FATAL(owner[v] >= 0);
        CU_ASSERT_EQUAL_FATAL(delta_read_commit(table, v, a, &c, &err), SM_OK);
        snprintf(app, sizeof app, "proc-%d", owner[v]);
        snprintf(rel, sizeof rel, "p%d-%03d.parquet", owner[v], batch[v]);
        CU_ASSERT_EQUAL(c.n_txns, 1);
        CU_ASSERT_EQUAL(c.n_adds, 1);
        CU_ASSERT_EQUAL(c.n_removes, 0);
        if (c.n_txns == 1 && c.n_adds == 1) {
            CU_ASSERT_STRING_EQUAL(c.txns[0].app_id, app);
            CU_ASSERT_EQUAL(c.txns[0].version, batch[v]);
            CU_ASSERT_STRING_EQUAL(c.adds[0].path, rel);
        }
    }
    sm_arena_destroy(a);

    /* the snapshot: 200 files, each once; both txns at 99 */
    delta_snapshot *s = load(table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->version, 2 * CONC_COMMITS);
    CU_ASSERT_EQUAL(s->n_files, 2 * CONC_COMMITS);
    for (int k = 0; k < 2; k++) {
        char app[16];
        snprintf(app, sizeof app, "proc-%d", k);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, app), CONC_COMMITS - 1);
        for (int i = 0; i < CONC_COMMITS; i++) {
            char rel[64];
            snprintf(rel, sizeof rel, "p%d-%03d.parquet", k, i);
            CU_ASSERT_EQUAL(count_path(s, rel), 1);
        }
    }
    /* checkpoints were written along the way (every 10 versions, by whoever landed there) */
    CU_ASSERT(s->checkpoint_version >= 10 && s->checkpoint_version % 10 == 0);
    delta_snapshot_free(s);

    /* DuckDB over the active files: 400 rows, ids as written */
    {
        char sql[8192];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM "
                 "read_parquet('%s/p*.parquet')",
                 table);
        json_t *rows = sm_test_duckdb(sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        json_t *r = json_array_get(rows, 0);
        long long want = 0;
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < CONC_COMMITS; i++) {
                want += 4LL * (k * 1000 + i) + 1;
            }
        }
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "n")), 4 * CONC_COMMITS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "d")), 4 * CONC_COMMITS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "s")), want);
        json_decref(rows);
    }
    sm_test_rmtree(dir);
    free(dir);
}

/* The same race between threads of one process (commits are safe from several threads). */
#define THREAD_COMMITS 40

typedef struct thread_arg {
    const char *table;
    int k;
    int64_t versions[THREAD_COMMITS];
    int failed;
} thread_arg;

static void *thread_appender(void *p)
{
    thread_arg *t = p;
    sm_arena *a = sm_arena_create(0, 0);
    char app[16];
    int64_t read_version = 0;
    snprintf(app, sizeof app, "thread-%d", t->k);
    for (int i = 0; i < THREAD_COMMITS; i++) {
        char rel[64];
        delta_file f;
        sm_error err = {0};
        sm_arena_reset(a);
        snprintf(rel, sizeof rel, "t%d-%03d.parquet", t->k, i);
        if (write_data_file(t->table, rel, (t->k * 1000 + i) * 2, 2, a, &f, &err) ||
            commit_one(t->table, read_version, app, i, &f, 1, NULL, 0, 0, &t->versions[i], &err)) {
            fprintf(stderr, "thread %d commit %d: %s\n", t->k, i, err.msg);
            t->failed++;
            break;
        }
        read_version = t->versions[i];
    }
    sm_arena_destroy(a);
    return NULL;
}

static void test_two_threads_append_concurrently(void)
{
    char *dir = sm_test_tmpdir("dw-threads");
    thread_arg args[2] = {{.table = dir, .k = 0}, {.table = dir, .k = 1}};
    pthread_t th[2];
    bool seen[2 * THREAD_COMMITS + 1] = {0};
    create_table(dir, 0);
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[k], NULL, thread_appender, &args[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        CU_ASSERT_EQUAL(args[k].failed, 0);
    }
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < THREAD_COMMITS; i++) {
            int64_t v = args[k].versions[i];
            CU_ASSERT_FATAL(v >= 1 && v <= 2 * THREAD_COMMITS);
            CU_ASSERT_FALSE(seen[v]);
            seen[v] = true;
        }
    }
    delta_snapshot *s = load(dir, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->version, 2 * THREAD_COMMITS);
    CU_ASSERT_EQUAL(s->n_files, 2 * THREAD_COMMITS);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "thread-0"), THREAD_COMMITS - 1);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "thread-1"), THREAD_COMMITS - 1);
    delta_snapshot_free(s);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- failures and crashes ---------------------------------------------------------------- */

typedef struct fault_plan {
    int crash_at;           /* > 0: _exit(42) at this durable step (counted from 1) */
    sm_fault_point fail_pt; /* with fail_json: fail this step of the commit file */
    bool fail_json;
    bool fired;
    int steps;
} fault_plan;

static int fault_hook(sm_fault_point pt, const char *path, void *ctx)
{
    fault_plan *p = ctx;
    p->steps++;
    if (p->crash_at > 0 && p->steps == p->crash_at) {
        _exit(42);
    }
    if (p->fail_json && !p->fired && pt == p->fail_pt) {
        size_t n = strlen(path);
        if (n > 5 && strcmp(path + n - 5, ".json") == 0 && strstr(path, "_delta_log/")) {
            p->fired = true;
            return EIO;
        }
    }
    return 0;
}

/* No visible file in _delta_log is partial: every commit parses, every checkpoint reads. */
static void check_log_whole(const char *table)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/_delta_log", table);
    DIR *d = opendir(dir);
    struct dirent *e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    sm_arena *a = sm_arena_create(0, 0);
    while ((e = readdir(d))) {
        long long v;
        char rest[64];
        if (e->d_name[0] == '.' || e->d_name[0] == '_') {
            continue;
        }
        CU_ASSERT_EQUAL(sscanf(e->d_name, "%20lld.%63s", &v, rest), 2);
        if (strcmp(rest, "json") == 0) {
            delta_commit_actions c;
            sm_error err = {0};
            CU_ASSERT_EQUAL(delta_read_commit(table, v, a, &c, &err), SM_OK);
        } else if (strcmp(rest, "checkpoint.parquet") == 0) {
            char p[4400];
            pq_reader *r = NULL;
            sm_error err = {0};
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            CU_ASSERT_EQUAL(pq_reader_open(p, &r, &err), SM_OK);
            pq_reader_close(r);
        }
    }
    closedir(d);
    sm_arena_destroy(a);
}

/* What an engine does for batch `b` of app "eng": skip it when the table's txn says it is in,
 * else write its data file and commit. Returns the commit's result (SM_OK when skipped). */
static int engine_batch(const char *table, int64_t b, const char *file, int interval, bool *skipped,
                        sm_error *err)
{
    sm_arena *a = sm_arena_create(0, 0);
    delta_snapshot *s = load(table, -1);
    delta_file f;
    int64_t v;
    int rc;
    *skipped = false;
    if (!s) {
        sm_arena_destroy(a);
        return sm_error_set(err, SM_ERR_CORRUPT, "snapshot does not load");
    }
    if (delta_snapshot_txn_version(s, "eng") >= b) {
        *skipped = true;
        rc = SM_OK;
    } else if (!(rc = write_data_file(table, file, b * 100, 3, a, &f, err))) {
        rc = commit_one(table, s->version, "eng", b, &f, 1, NULL, 0, interval, &v, err);
    }
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    return rc;
}

/* Rows of batch b in the snapshot's files (stats numRecords by file name prefix). */
static int files_of_batch(const delta_snapshot *s, int64_t b)
{
    char prefix[32];
    int n = 0;
    snprintf(prefix, sizeof prefix, "batch-%" PRId64 "-", b);
    for (int64_t i = 0; i < s->n_files; i++) {
        n += strncmp(s->files[i].path, prefix, strlen(prefix)) == 0;
    }
    return n;
}

/* A table at version 9 (batches 1..9 of "eng"); the next commit lands at 10, a checkpoint
 * version (interval 10), so a crash can also hit the checkpoint after it. */
static void make_base(const char *base)
{
    create_table(base, 10);
    for (int b = 1; b <= 9; b++) {
        char file[64];
        bool skipped;
        sm_error err = {0};
        snprintf(file, sizeof file, "batch-%d-0.parquet", b);
        CU_ASSERT_EQUAL_FATAL(engine_batch(base, b, file, 0, &skipped, &err), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(latest(base), 9);
}

static void test_crash_at_every_step_leaves_whole_commit_or_none(void)
{
    char *dir = sm_test_tmpdir("dw-crash");
    char base[4096], table[4096];
    int crashes = 0, whole = 0, none = 0;
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(table, sizeof table, "%s/t", dir);
    make_base(base);

    for (int n = 1; n < 200; n++) {
        pid_t pid;
        int st;
        copy_tree(base, table);
        fflush(NULL);
        pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            fault_plan plan = {.crash_at = n};
            bool skipped;
            sm_error err = {0};
            sm_fault_install(fault_hook, &plan);
            int rc = engine_batch(table, 10, "batch-10-0.parquet", 0, &skipped, &err);
            _exit(rc == SM_OK ? 0 : 5);
        }
        CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
        CU_ASSERT_FATAL(WIFEXITED(st));
        if (WEXITSTATUS(st) == 0) {
            break; /* step n is past the end: every step has been crashed at */
        }
        CU_ASSERT_EQUAL_FATAL(WEXITSTATUS(st), 42);
        crashes++;

        /* the table after the crash: a valid snapshot with all of batch 10 or none of it */
        check_log_whole(table);
        delta_snapshot *s = load(table, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        int64_t txn = delta_snapshot_txn_version(s, "eng");
        bool was_whole = s->version == 10;
        if (was_whole) {
            whole++;
            CU_ASSERT_EQUAL(txn, 10);
            CU_ASSERT_EQUAL(files_of_batch(s, 10), 1);
        } else {
            none++;
            CU_ASSERT_EQUAL(s->version, 9);
            CU_ASSERT_EQUAL(txn, 9);
            CU_ASSERT_EQUAL(files_of_batch(s, 10), 0);
        }
        CU_ASSERT_EQUAL(s->n_files, s->version);
        delta_snapshot_free(s);

        /* the engine restarts and retries the batch (a new file name): it lands exactly once */
        bool skipped;
        sm_error err = {0};
        CU_ASSERT_EQUAL(engine_batch(table, 10, "batch-10-1.parquet", 0, &skipped, &err), SM_OK);
        CU_ASSERT_EQUAL(skipped, was_whole);
        s = load(table, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(s->version, 10);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "eng"), 10);
        CU_ASSERT_EQUAL(files_of_batch(s, 10), 1);
        CU_ASSERT_EQUAL(s->n_files, 10);
        delta_snapshot_free(s);
        check_log_whole(table);
    }
    /* crashes hit the data file, the commit and the checkpoint steps; some before the link,
     * some after */
    printf("(%d crash points: %d left the commit whole, %d left none of it) ", crashes, whole,
           none);
    CU_ASSERT(crashes >= 10);
    CU_ASSERT(whole > 0);
    CU_ASSERT(none > 0);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_failed_commit_step_commits_nothing_and_retry_lands_once(void)
{
    char *dir = sm_test_tmpdir("dw-fail");
    char base[4096], table[4096];
    static const sm_fault_point pts[] = {SM_FAULT_OPEN, SM_FAULT_WRITE, SM_FAULT_FSYNC,
                                         SM_FAULT_RENAME, SM_FAULT_FSYNC_DIR};
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(table, sizeof table, "%s/t", dir);
    make_base(base);

    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        sm_arena *a = sm_arena_create(0, 0);
        fault_plan plan = {.fail_json = true, .fail_pt = pts[k]};
        sm_error err = {0};
        delta_file f;
        int64_t v = 123;
        copy_tree(base, table);
        CU_ASSERT_EQUAL_FATAL(write_data_file(table, "batch-10-0.parquet", 1000, 3, a, &f, &err),
                              SM_OK);
        sm_fault_install(fault_hook, &plan);
        int rc = commit_one(table, 9, "eng", 10, &f, 1, NULL, 0, 0, &v, &err);
        sm_fault_install(NULL, NULL);
        CU_ASSERT(plan.fired);
        CU_ASSERT_EQUAL(rc, SM_ERR_IO);
        check_log_whole(table);
        if (pts[k] != SM_FAULT_FSYNC_DIR) {
            /* nothing committed; a retry of the same commit lands at 10 */
            CU_ASSERT_EQUAL(v, -1);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nothing was committed"));
            CU_ASSERT_EQUAL(latest(table), 9);
            CU_ASSERT_EQUAL(commit_one(table, 9, "eng", 10, &f, 1, NULL, 0, 0, &v, &err), SM_OK);
            CU_ASSERT_EQUAL(v, 10);
        } else {
            /* the link happened: the commit is visible and its version reported */
            CU_ASSERT_EQUAL(v, 10);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not survive a crash"));
            CU_ASSERT_FALSE(err.retriable);
            CU_ASSERT_EQUAL(latest(table), 10);
            /* a blind retry of the same commit is refused by the txn, not landed twice */
            CU_ASSERT_EQUAL(commit_one(table, 9, "eng", 10, &f, 1, NULL, 0, 0, &v, &err),
                            SM_ERR_CONFLICT);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "batch already committed"));
            /* and an engine that asks the log first skips it */
            bool skipped;
            CU_ASSERT_EQUAL(engine_batch(table, 10, "batch-10-1.parquet", 0, &skipped, &err),
                            SM_OK);
            CU_ASSERT(skipped);
        }
        delta_snapshot *s = load(table, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(s->version, 10);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "eng"), 10);
        CU_ASSERT_EQUAL(files_of_batch(s, 10), 1);
        CU_ASSERT_EQUAL(s->n_files, 10);
        delta_snapshot_free(s);
        /* no temporary file is left in the log */
        {
            char d[4400];
            snprintf(d, sizeof d, "%s/_delta_log", table);
            DIR *dd = opendir(d);
            struct dirent *e;
            int tmp = 0;
            while (dd && (e = readdir(dd))) {
                tmp += strstr(e->d_name, ".tmp") != NULL;
            }
            if (dd) {
                closedir(dd);
            }
            CU_ASSERT_EQUAL(tmp, 0);
        }
        sm_arena_destroy(a);
    }
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"create writes protocol, metadata and commitInfo",
     test_create_writes_protocol_metadata_and_commit_info},
    {"commit format has actions in order", test_commit_format_has_actions_in_order},
    {"conflict on metadata or protocol change", test_conflict_on_metadata_or_protocol_change},
    {"conflict on txn already committed", test_conflict_on_txn_already_committed},
    {"conflict on double remove, appends pass", test_conflict_on_double_remove_and_appends_pass},
    {"two processes append concurrently", test_two_processes_append_concurrently},
    {"two threads append concurrently", test_two_threads_append_concurrently},
    {"crash at every step leaves whole commit or none",
     test_crash_at_every_step_leaves_whole_commit_or_none},
    {"failed commit step commits nothing, retry lands once",
     test_failed_commit_step_commits_nothing_and_retry_lands_once},
    CU_TEST_INFO_NULL};

SM_TEST_MAIN("delta_write", tests)
