/*
 * Tests of Delta checkpoints (storage/delta_checkpoint.c): written every
 * `interval` commits by delta_commit_write, with Spark's checkpoint schema, and
 * equal in content to the log they summarise.
 *
 * The schema is compared with the checkpoint Spark wrote in the golden table
 * `checkpoint`
 * (../shared/fixtures/delta-golden) twice, by independent readers: DuckDB's
 * DESCRIBE (every column's full type string) and the raw Parquet schema
 * elements of both footers (names, repetition, physical and converted types, so
 * "optional everywhere" and the map/list layouts are checked too). The content
 * is compared by loading the table once from our checkpoint and once from a
 * copy without checkpoints (a replay of every JSON commit), and by DuckDB
 * reading our checkpoint's rows.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/durable.h"
#include "sm_test.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_format.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"

static sm_field *data_schema(sm_arena *a)
{
    sm_field *c[] = {sm_field_new(a, "id", SM_INT64, false),
                     sm_field_new(a, "name", SM_STRING, true),
                     sm_field_new(a, "part", SM_STRING, true)};
    return sm_field_struct(a, "root", c, 3, false);
}

static sm_field *file_schema(sm_arena *a)
{
    sm_field *c[] = {sm_field_new(a, "id", SM_INT64, false),
                     sm_field_new(a, "name", SM_STRING, true)};
    return sm_field_struct(a, "root", c, 2, false);
}

static char *fixture(const char *rel)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char *p = NULL;
    if (asprintf(&p, "%s/../shared/fixtures/delta-golden/%s", src ? src : ".", rel) < 0) {
        return NULL;
    }
    return p;
}

/* Writes a data file of one partition (value NULL: the null partition) and
 * fills the add. */
static void write_file(const char *table, int i, const char *part, sm_arena *a, delta_file *f)
{
    sm_buf dir = SM_BUF_INIT, uri = SM_BUF_INIT, stats = SM_BUF_INIT;
    sm_error err = {0};
    delta_kv *pv = sm_arena_alloc(a, sizeof *pv);
    char path[4096], name[64];
    pq_writer *w;
    pq_file_info info;
    const sm_field *schema = file_schema(a);
    sm_column *batch = sm_column_new(a, schema, 2);

    pv->key = "part";
    pv->value = part ? sm_arena_strdup(a, part) : NULL;
    CU_ASSERT_EQUAL_FATAL(delta_partition_dir(pv, 1, false, &dir, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(delta_partition_dir(pv, 1, true, &uri, &err), SM_OK);
    snprintf(name, sizeof name, "part-%05d.parquet", i);
    snprintf(path, sizeof path, "%s/%.*s", table, (int)dir.len, (const char *)dir.data);
    CU_ASSERT_EQUAL_FATAL(sm_mkdir_p(path, &err), SM_OK);
    snprintf(path, sizeof path, "%s/%.*s%s", table, (int)dir.len, (const char *)dir.data, name);
    for (int r = 0; r < 2; r++) {
        CU_ASSERT_FATAL(!sm_column_append_valid(a, batch) &&
                        !sm_column_append_i64(a, batch->children[0], i * 10 + r) &&
                        !sm_column_append_bytes(a, batch->children[1], "x", 1));
    }
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, schema, NULL, &w, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, batch, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, &info, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(delta_stats_from_parquet(path, &stats, &err), SM_OK);
    memset(f, 0, sizeof *f);
    {
        size_t n = uri.len + strlen(name) + 1;
        char *p = sm_arena_alloc(a, n);
        snprintf(p, n, "%.*s%s", (int)uri.len, (const char *)uri.data, name);
        f->path = p;
    }
    f->n_partition_values = 1;
    f->partition_values = pv;
    f->size = info.file_size;
    f->modification_time = 1700000000000LL + i;
    f->data_change = true;
    f->stats = sm_arena_strndup(a, (const char *)stats.data, stats.len);
    sm_buf_free(&dir);
    sm_buf_free(&uri);
    sm_buf_free(&stats);
}

static delta_snapshot *load(const char *table, int64_t version)
{
    delta_load_opts o;
    delta_snapshot *s = NULL;
    sm_error err = {0};
    delta_load_opts_default(&o);
    o.version = version;
    if (delta_snapshot_load(table, &o, &s, &err)) {
        fprintf(stderr, "load %s@%" PRId64 ": %s\n", table, version, err.msg);
        return NULL;
    }
    return s;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* 25 commits on a partitioned table with interval 10: adds, removes of earlier
 * files, txns of two apps. */
static void build_table(const char *table)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    const char *parts[] = {"part"};
    delta_kv conf[] = {{"delta.checkpointInterval", "10"}};
    delta_create_opts co = {.schema = data_schema(a),
                            .partition_columns = parts,
                            .n_partition_columns = 1,
                            .configuration = conf,
                            .n_configuration = 1,
                            .name = "events",
                            .description = "checkpoint test"};
    static const char *const values[] = {"x", "y z", NULL, "100%", "ü/=:"};
    delta_file files[26];
    CU_ASSERT_EQUAL_FATAL(delta_table_create(table, &co, &err), SM_OK);
    for (int i = 1; i <= 25; i++) {
        delta_commit c = {0};
        delta_file rm;
        int64_t v;
        write_file(table, i, values[i % 5], a, &files[i]);
        c.read_version = i - 1;
        c.adds = &files[i];
        c.n_adds = 1;
        c.app_id = i % 2 ? "odd" : "even";
        c.txn_version = i;
        c.operation = "WRITE";
        if (i % 3 == 0) {
            rm = files[i - 2];
            rm.data_change = true;
            c.removes = &rm;
            c.n_removes = 1;
        }
        CU_ASSERT_EQUAL_FATAL(delta_commit_write(table, &c, &v, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(v, i);
    }
    sm_arena_destroy(a);
}

/* ---- comparisons
 * ------------------------------------------------------------------------- */

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const delta_file *)a)->path, ((const delta_file *)b)->path);
}

static int cmp_txn(const void *a, const void *b)
{
    return strcmp(((const delta_txn *)a)->app_id, ((const delta_txn *)b)->app_id);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool kv_eq(const delta_kv *a, int na, const delta_kv *b, int nb)
{
    if (na != nb) {
        return false;
    }
    for (int i = 0; i < na; i++) {
        bool found = false;
        for (int k = 0; k < nb; k++) {
            if (strcmp(a[i].key, b[k].key) == 0) {
                found = str_eq(a[i].value, b[k].value);
            }
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static void assert_files_equal(delta_file *a, int64_t na, delta_file *b, int64_t nb, bool add)
{
    CU_ASSERT_EQUAL_FATAL(na, nb);
    qsort(a, (size_t)na, sizeof *a, cmp_file);
    qsort(b, (size_t)nb, sizeof *b, cmp_file);
    for (int64_t i = 0; i < na; i++) {
        CU_ASSERT_STRING_EQUAL(a[i].path, b[i].path);
        CU_ASSERT_EQUAL(a[i].size, b[i].size);
        CU_ASSERT(kv_eq(a[i].partition_values, a[i].n_partition_values, b[i].partition_values,
                        b[i].n_partition_values));
        if (add) {
            CU_ASSERT(str_eq(a[i].stats, b[i].stats));
            CU_ASSERT_EQUAL(a[i].modification_time, b[i].modification_time);
        } else {
            CU_ASSERT_EQUAL(a[i].deletion_timestamp, b[i].deletion_timestamp);
        }
    }
}

static void assert_snapshots_equal(delta_snapshot *x, delta_snapshot *y)
{
    CU_ASSERT_EQUAL(x->version, y->version);
    CU_ASSERT_EQUAL(x->protocol.min_reader_version, y->protocol.min_reader_version);
    CU_ASSERT_EQUAL(x->protocol.min_writer_version, y->protocol.min_writer_version);
    CU_ASSERT_EQUAL(x->protocol.n_reader_features, y->protocol.n_reader_features);
    CU_ASSERT_EQUAL(x->protocol.n_writer_features, y->protocol.n_writer_features);
    CU_ASSERT(str_eq(x->metadata.id, y->metadata.id));
    CU_ASSERT(str_eq(x->metadata.name, y->metadata.name));
    CU_ASSERT(str_eq(x->metadata.description, y->metadata.description));
    CU_ASSERT(str_eq(x->metadata.format, y->metadata.format));
    CU_ASSERT(str_eq(x->metadata.schema_string, y->metadata.schema_string));
    CU_ASSERT_EQUAL(x->metadata.created_time, y->metadata.created_time);
    CU_ASSERT_EQUAL_FATAL(x->metadata.n_partition_columns, y->metadata.n_partition_columns);
    for (int i = 0; i < x->metadata.n_partition_columns; i++) {
        CU_ASSERT_STRING_EQUAL(x->metadata.partition_columns[i], y->metadata.partition_columns[i]);
    }
    CU_ASSERT(kv_eq(x->metadata.configuration, x->metadata.n_configuration,
                    y->metadata.configuration, y->metadata.n_configuration));
    assert_files_equal(x->files, x->n_files, y->files, y->n_files, true);
    assert_files_equal(x->tombstones, x->n_tombstones, y->tombstones, y->n_tombstones, false);
    CU_ASSERT_EQUAL_FATAL(x->n_txns, y->n_txns);
    qsort(x->txns, (size_t)x->n_txns, sizeof *x->txns, cmp_txn);
    qsort(y->txns, (size_t)y->n_txns, sizeof *y->txns, cmp_txn);
    for (int i = 0; i < x->n_txns; i++) {
        CU_ASSERT_STRING_EQUAL(x->txns[i].app_id, y->txns[i].app_id);
        CU_ASSERT_EQUAL(x->txns[i].version, y->txns[i].version);
        CU_ASSERT_EQUAL(x->txns[i].last_updated, y->txns[i].last_updated);
    }
    CU_ASSERT_EQUAL(x->n_domains, y->n_domains);
}

/* DuckDB's DESCRIBE of a Parquet file as {column_name: column_type}. */
static json_t *describe(const char *path)
{
    char sql[8192];
    snprintf(sql, sizeof sql, "DESCRIBE SELECT * FROM read_parquet('%s')", path);
    json_t *rows = sm_test_duckdb(sql), *out = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        json_object_set(out, json_string_value(json_object_get(r, "column_name")),
                        json_object_get(r, "column_type"));
    }
    json_decref(rows);
    return out;
}

/* The footer schema as text: one line per element, root name left out. */
static void schema_text(const char *path, sm_buf *out)
{
    pq_reader *r = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(pq_reader_open(path, &r, &err), SM_OK);
    const pf_file_metadata *md = pq_reader_metadata(r);
    for (int i = 1; i < md->n_schema; i++) {
        const pf_schema_element *e = &md->schema[i];
        char line[512];
        int n = snprintf(line, sizeof line, "%s rep=%d type=%d conv=%d children=%d\n", e->name,
                         e->has_repetition_type ? e->repetition_type : -1,
                         e->has_type ? e->type : -1, e->has_converted_type ? e->converted_type : -1,
                         e->has_num_children ? e->num_children : -1);
        sm_buf_append(out, line, (size_t)n, NULL);
    }
    pq_reader_close(r);
}

/* ---- tests
 * -------------------------------------------------------------------------------
 */

static void test_checkpoint_schema_matches_spark(void)
{
    char *dir = sm_test_tmpdir("dc-schema");
    char table[4096], ours[4200];
    char *spark = fixture("checkpoint/_delta_log/00000000000000000010.checkpoint.parquet");
    snprintf(table, sizeof table, "%s/t", dir);
    build_table(table);
    snprintf(ours, sizeof ours, "%s/_delta_log/00000000000000000010.checkpoint.parquet", table);
    CU_ASSERT_FATAL(exists(ours));

    json_t *a = describe(ours), *b = describe(spark);
    static const char *const cols[] = {"txn",      "add",      "remove",
                                       "metaData", "protocol", "domainMetadata"};
    CU_ASSERT_EQUAL(json_object_size(a), 6);
    CU_ASSERT_EQUAL(json_object_size(b), 6);
    for (size_t i = 0; i < 6; i++) {
        const char *ta = json_string_value(json_object_get(a, cols[i]));
        const char *tb = json_string_value(json_object_get(b, cols[i]));
        CU_ASSERT_PTR_NOT_NULL(ta);
        CU_ASSERT_PTR_NOT_NULL(tb);
        if (ta && tb) {
            CU_ASSERT_STRING_EQUAL(ta, tb);
            if (strcmp(ta, tb) != 0) {
                fprintf(stderr, "%s:\n  ours  %s\n  spark %s\n", cols[i], ta, tb);
            }
        }
    }
    json_decref(a);
    json_decref(b);

    sm_buf sa = SM_BUF_INIT, sb = SM_BUF_INIT;
    schema_text(ours, &sa);
    schema_text(spark, &sb);
    CU_ASSERT_EQUAL(sa.len, sb.len);
    CU_ASSERT(sa.len == sb.len && memcmp(sa.data, sb.data, sa.len) == 0);
    if (sa.len != sb.len || memcmp(sa.data, sb.data, sa.len) != 0) {
        fprintf(stderr, "ours:\n%.*s\nspark:\n%.*s\n", (int)sa.len, (const char *)sa.data,
                (int)sb.len, (const char *)sb.data);
    }
    sm_buf_free(&sa);
    sm_buf_free(&sb);

    /* delta_checkpoint_schema is the schema the file was written with */
    sm_arena *ar = sm_arena_create(0, 0);
    sm_field *f = delta_checkpoint_schema(ar);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_children, 6);
    for (int i = 0; i < f->n_children; i++) {
        CU_ASSERT_STRING_EQUAL(f->children[i]->name, cols[i]);
        CU_ASSERT(f->children[i]->nullable);
    }
    sm_arena_destroy(ar);
    free(spark);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_checkpoints_every_interval_and_equal_replay(void)
{
    char *dir = sm_test_tmpdir("dc-replay");
    char table[4096], copy[4096], path[4400], cmd[20000];
    snprintf(table, sizeof table, "%s/t", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    build_table(table);

    for (int v = 1; v <= 25; v++) {
        snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", table, v);
        CU_ASSERT_EQUAL(exists(path), v == 10 || v == 20);
    }
    /* _last_checkpoint names 20 with the row and add counts of that checkpoint */
    delta_snapshot *s20 = load(table, 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s20);
    CU_ASSERT_EQUAL(s20->checkpoint_version, 20);
    {
        char *data = NULL;
        size_t len;
        struct stat st;
        snprintf(path, sizeof path, "%s/_delta_log/_last_checkpoint", table);
        CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 16, &data, &len, NULL), SM_OK);
        json_t *lc = json_loads(data, 0, NULL);
        free(data);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(lc, "version")), 20);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(lc, "numOfAddFiles")), s20->n_files);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(lc, "size")),
                        2 + s20->n_txns + s20->n_tombstones + s20->n_files);
        snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", table, 20);
        CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(lc, "sizeInBytes")), st.st_size);
        json_decref(lc);
    }

    /* a copy without checkpoints replays every commit; both give the same state
     * at 25, 20, 10 */
    snprintf(cmd, sizeof cmd,
             "cp -a '%s' '%s' && rm -f '%s'/_delta_log/*.checkpoint.parquet "
             "'%s'/_delta_log/_last_checkpoint",
             table, copy, copy, copy);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    static const int64_t versions[] = {25, 20, 10, 12};
    for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
        delta_snapshot *a = load(table, versions[k]);
        delta_snapshot *b = load(copy, versions[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(a->checkpoint_version, versions[k] >= 20 ? 20 : 10);
        CU_ASSERT_EQUAL(b->checkpoint_version, -1);
        CU_ASSERT(a->n_files > 0 && a->n_tombstones > 0 && a->n_txns == 2);
        assert_snapshots_equal(a, b);
        delta_snapshot_free(a);
        delta_snapshot_free(b);
    }

    /* DuckDB reads the checkpoint's rows: one protocol, one metaData, the txns,
     * and each add's path and partition value as the snapshot has them */
    {
        char sql[8192];
        snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", table, 20);
        snprintf(sql, sizeof sql,
                 "SELECT count(protocol) AS p, count(metaData) AS m, count(txn) AS t, "
                 "count(add) AS a, count(remove) AS r, count(domainMetadata) AS d, "
                 "max(protocol.minWriterVersion) AS w, "
                 "max(metaData.partitionColumns[1]) AS pc, "
                 "bool_and(add.dataChange = false) AS dc FROM read_parquet('%s')",
                 path);
        json_t *rows = sm_test_duckdb(sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        json_t *r = json_array_get(rows, 0);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "p")), 1);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "m")), 1);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "t")), 2);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "a")), s20->n_files);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "r")), s20->n_tombstones);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "d")), 0);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "w")), 2);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "pc")), "part");
        CU_ASSERT(json_is_true(json_object_get(r, "dc")));
        json_decref(rows);

        snprintf(sql, sizeof sql,
                 "SELECT add.path AS path, len(map_extract(add.partitionValues, "
                 "'part')) AS n, "
                 "map_extract(add.partitionValues, 'part')[1] AS v, add.size AS size, "
                 "add.stats AS stats FROM read_parquet('%s') WHERE add IS NOT NULL "
                 "ORDER BY "
                 "add.path",
                 path);
        rows = sm_test_duckdb(sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        CU_ASSERT_EQUAL_FATAL((int64_t)json_array_size(rows), s20->n_files);
        qsort(s20->files, (size_t)s20->n_files, sizeof *s20->files, cmp_file);
        for (int64_t i = 0; i < s20->n_files; i++) {
            const delta_file *f = &s20->files[i];
            r = json_array_get(rows, (size_t)i);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "path")), f->path);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "n")), 1);
            CU_ASSERT(
                str_eq(json_string_value(json_object_get(r, "v")), f->partition_values[0].value));
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "size")), f->size);
            CU_ASSERT(str_eq(json_string_value(json_object_get(r, "stats")), f->stats));
        }
        json_decref(rows);
    }
    delta_snapshot_free(s20);

    /* an older checkpoint written later does not move _last_checkpoint back */
    {
        delta_snapshot *s10 = load(table, 10);
        sm_error err = {0};
        CU_ASSERT_PTR_NOT_NULL_FATAL(s10);
        CU_ASSERT_EQUAL(delta_checkpoint_write(table, s10, &err), SM_OK);
        delta_snapshot_free(s10);
        char *data = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/_delta_log/_last_checkpoint", table);
        CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 16, &data, &len, NULL), SM_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"version\":20"));
        free(data);
    }
    sm_test_rmtree(dir);
    free(dir);
}

static void test_checkpoint_drops_expired_tombstones(void)
{
    char *dir = sm_test_tmpdir("dc-expired");
    char table[4096], path[4400];
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_create_opts co = {.schema = file_schema(a)};
    snprintf(table, sizeof table, "%s/t", dir);
    CU_ASSERT_EQUAL_FATAL(delta_table_create(table, &co, &err), SM_OK);
    /* version 1 adds two files; version 2 removes one long ago (by its timestamp)
     * and one now */
    snprintf(path, sizeof path, "%s/_delta_log/%020d.json", table, 1);
    const char *v1 = "{\"add\":{\"path\":\"old\",\"partitionValues\":{},\"size\":1,"
                     "\"modificationTime\":1,\"dataChange\":true}}\n"
                     "{\"add\":{\"path\":\"new\",\"partitionValues\":{},\"size\":1,"
                     "\"modificationTime\":1,\"dataChange\":true}}\n";
    CU_ASSERT_EQUAL_FATAL(sm_durable_write_file(path, v1, strlen(v1), SM_DURABLE_NOREPLACE, &err),
                          SM_OK);
    delta_file rm = {.path = "new", .size = 1, .data_change = true};
    delta_commit c = {.read_version = 1, .removes = &rm, .n_removes = 1};
    int64_t v;
    CU_ASSERT_EQUAL_FATAL(delta_commit_write(table, &c, &v, &err), SM_OK);
    snprintf(path, sizeof path, "%s/_delta_log/%020d.json", table, 3);
    const char *v3 = "{\"remove\":{\"path\":\"old\",\"deletionTimestamp\":1000,"
                     "\"dataChange\":true}}\n";
    CU_ASSERT_EQUAL_FATAL(sm_durable_write_file(path, v3, strlen(v3), SM_DURABLE_NOREPLACE, &err),
                          SM_OK);
    delta_snapshot *s = load(table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_tombstones, 2);
    CU_ASSERT_EQUAL(delta_checkpoint_write(table, s, &err), SM_OK);
    delta_snapshot_free(s);
    s = load(table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->checkpoint_version, 3);
    CU_ASSERT_EQUAL(s->n_files, 0);
    CU_ASSERT_EQUAL(s->n_tombstones, 1); /* "old" expired, "new" kept */
    if (s->n_tombstones == 1) {
        CU_ASSERT_STRING_EQUAL(s->tombstones[0].path, "new");
        CU_ASSERT_EQUAL(s->tombstones[0].size, 1);
    }
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_checkpoint_refuses_what_it_cannot_hold(void)
{
    char *dv = fixture("dv-partitioned-with-checkpoint");
    char *dir = sm_test_tmpdir("dc-refuse");
    delta_load_opts o;
    delta_snapshot *s = NULL;
    sm_error err = {0};
    delta_load_opts_default(&o);
    o.ignore_unsupported_features = true;
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(dv, &o, &s, &err), SM_OK);
    /* deletion vectors: refused before anything is written */
    CU_ASSERT_EQUAL(delta_checkpoint_write(dir, s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "deletion vector"));
    delta_snapshot_free(s);
    free(dv);
    sm_test_rmtree(dir);
    free(dir);
}

/* The interval comes from the table's configuration when the commit does not
 * give one: found in the log (the metaData of commit 0, then of a later commit
 * that changes it) or in the metaData column of the last checkpoint. */
static void test_interval_from_table_configuration(void)
{
    char *dir = sm_test_tmpdir("dc-interval");
    char path[4400];
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};
    delta_kv conf[] = {{"delta.checkpointInterval", "3"}};
    delta_create_opts co = {.schema = file_schema(a), .configuration = conf, .n_configuration = 1};
    int64_t v;
    CU_ASSERT_EQUAL_FATAL(delta_table_create(dir, &co, &err), SM_OK);
    for (int i = 1; i <= 7; i++) {
        delta_commit c = {.read_version = i - 1, .app_id = "x", .txn_version = i};
        CU_ASSERT_EQUAL_FATAL(delta_commit_write(dir, &c, &v, &err), SM_OK);
    }
    for (int i = 1; i <= 7; i++) {
        snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", dir, i);
        CU_ASSERT_EQUAL(exists(path), i == 3 || i == 6);
    }
    /* another writer changes the interval to 2 at version 8 (keeping the table's
     * id) */
    delta_snapshot *s = load(dir, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    json_t *md = json_pack("{s:{s:s,s:{s:s,s:{}},s:s,s:[],s:{s:s}}}", "metaData", "id",
                           s->metadata.id, "format", "provider", "parquet", "options",
                           "schemaString", s->metadata.schema_string, "partitionColumns",
                           "configuration", "delta.checkpointInterval", "2");
    char *text = json_dumps(md, JSON_COMPACT);
    json_decref(md);
    delta_snapshot_free(s);
    snprintf(path, sizeof path, "%s/_delta_log/%020d.json", dir, 8);
    CU_ASSERT_EQUAL_FATAL(
        sm_durable_write_file(path, text, strlen(text), SM_DURABLE_NOREPLACE, &err), SM_OK);
    free(text);
    for (int i = 9; i <= 12; i++) {
        delta_commit c = {.read_version = i - 1, .app_id = "x", .txn_version = i};
        CU_ASSERT_EQUAL_FATAL(delta_commit_write(dir, &c, &v, &err), SM_OK);
    }
    for (int i = 8; i <= 12; i++) {
        snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", dir, i);
        CU_ASSERT_EQUAL(exists(path), i == 10 || i == 12);
    }
    /* an explicit interval wins over the table's */
    delta_commit c = {.read_version = 12, .checkpoint_interval = 13};
    CU_ASSERT_EQUAL_FATAL(delta_commit_write(dir, &c, &v, &err), SM_OK);
    snprintf(path, sizeof path, "%s/_delta_log/%020d.checkpoint.parquet", dir, 13);
    CU_ASSERT(exists(path));
    s = load(dir, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->checkpoint_version, 13);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "x"), 12);
    CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "delta.checkpointInterval"), "2");
    delta_snapshot_free(s);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"checkpoint schema matches Spark's", test_checkpoint_schema_matches_spark},
    {"checkpoints every interval and equal the replay",
     test_checkpoints_every_interval_and_equal_replay},
    {"checkpoint drops expired tombstones", test_checkpoint_drops_expired_tombstones},
    {"interval from the table configuration", test_interval_from_table_configuration},
    {"checkpoint refuses what it cannot hold", test_checkpoint_refuses_what_it_cannot_hold},
    CU_TEST_INFO_NULL};

SM_TEST_MAIN("delta_checkpoint", tests)
