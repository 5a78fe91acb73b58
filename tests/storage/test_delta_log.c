/*
 * The Delta log reader (storage/delta_log*.c): replay, checkpoints of every kind, time travel,
 * protocol refusals, path canonicalisation, schema JSON, and every table of Delta's golden
 * fixtures (../shared/fixtures/delta-golden) loaded or refused with a reason.
 *
 * Logs are written by hand into temporary directories (JSON lines), Parquet checkpoints with
 * pq_writer (a small builder below) or taken from the Spark-written fixtures.
 */
#include "sm_test.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "storage/delta.h"
#include "storage/delta_internal.h"
#include "storage/parquet_writer.h"

/* ---- helpers ----------------------------------------------------------------------------- */

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define SCHEMA                                                                                     \
    "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\",\\\"type\\\":"           \
    "\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}"
#define META(id, conf)                                                                             \
    "{\"metaData\":{\"id\":\"" id "\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"       \
    "\"schemaString\":\"" SCHEMA "\",\"partitionColumns\":[],\"configuration\":{" conf "},"        \
    "\"createdTime\":1}}\n"
#define CI(ts) "{\"commitInfo\":{\"timestamp\":" #ts ",\"operation\":\"WRITE\"}}\n"
#define ADD(path, size)                                                                            \
    "{\"add\":{\"path\":\"" path "\",\"partitionValues\":{},\"size\":" #size                       \
    ",\"modificationTime\":1,\"dataChange\":true}}\n"
#define REMOVE(path)                                                                               \
    "{\"remove\":{\"path\":\"" path "\",\"deletionTimestamp\":5,\"dataChange\":true}}\n"

static const char *golden_dir(void)
{
    static char dir[2048];
    const char *src = getenv("SMELTER_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/../shared/fixtures/delta-golden", src ? src : ".");
    return dir;
}

static char *golden(const char *name)
{
    static char path[8192];
    if (snprintf(path, sizeof path, "%s/%s", golden_dir(), name) >= (int)sizeof path) {
        abort();
    }
    return path;
}

/* A temporary table directory with an empty _delta_log. Caller frees and removes. */
static char *new_table(const char *tag)
{
    char *dir = sm_test_tmpdir(tag);
    char log[4200];
    snprintf(log, sizeof log, "%s/_delta_log", dir);
    CU_ASSERT_FATAL(mkdir(log, 0755) == 0);
    return dir;
}

static void drop_table(char *dir)
{
    sm_test_rmtree(dir);
    free(dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void write_log(const char *table, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/_delta_log/%s", table, name);
    write_file(path, text);
}

static void write_commit(const char *table, int64_t v, const char *text)
{
    char name[64];
    snprintf(name, sizeof name, "%020lld.json", (long long)v);
    write_log(table, name, text);
}

static void remove_log(const char *table, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/_delta_log/%s", table, name);
    CU_ASSERT(unlink(path) == 0);
}

static int load(const char *table, int64_t version, int64_t ts, delta_snapshot **s, sm_error *err)
{
    delta_load_opts o;
    delta_load_opts_default(&o);
    o.version = version;
    o.timestamp = ts;
    return delta_snapshot_load(table, &o, s, err);
}

static const delta_file *find_file(const delta_file *files, int64_t n, const char *path)
{
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(files[i].path, path) == 0) {
            return &files[i];
        }
    }
    return NULL;
}

/* Copies a fixture table to a writable temporary directory. */
static char *copy_golden(const char *name)
{
    char *dir = sm_test_tmpdir("dlog-copy");
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s/.' '%s/' && chmod -R u+w '%s'", golden(name), dir, dir);
    CU_ASSERT_FATAL(system(cmd) == 0);
    return dir;
}

/* ---- a small checkpoint writer ----------------------------------------------------------- */

typedef struct tc_action {
    char kind;                   /* 'a' add, 'r' remove, 'm' metaData, 'p' protocol, 't' txn */
    const char *s;               /* path, id or appId */
    int64_t n;                   /* size, version; protocol: reader version */
    const char *pv_key, *pv_val; /* add: one partition value */
} tc_action;

static sm_field *ck_schema(sm_arena *a)
{
    sm_field *add_f[] = {
        sm_field_new(a, "path", SM_STRING, true),
        sm_field_map(a, "partitionValues", sm_field_new(a, "key", SM_STRING, false),
                     sm_field_new(a, "value", SM_STRING, true), true),
        sm_field_new(a, "size", SM_INT64, true),
        sm_field_new(a, "modificationTime", SM_INT64, true),
        sm_field_new(a, "dataChange", SM_BOOL, true),
        sm_field_new(a, "stats", SM_STRING, true),
    };
    sm_field *rm_f[] = {sm_field_new(a, "path", SM_STRING, true),
                        sm_field_new(a, "deletionTimestamp", SM_INT64, true),
                        sm_field_new(a, "dataChange", SM_BOOL, true)};
    sm_field *fmt_f[] = {sm_field_new(a, "provider", SM_STRING, true)};
    sm_field *md_f[] = {
        sm_field_new(a, "id", SM_STRING, true),
        sm_field_struct(a, "format", fmt_f, 1, true),
        sm_field_new(a, "schemaString", SM_STRING, true),
        sm_field_list(a, "partitionColumns", sm_field_new(a, "element", SM_STRING, true), true),
        sm_field_map(a, "configuration", sm_field_new(a, "key", SM_STRING, false),
                     sm_field_new(a, "value", SM_STRING, true), true),
        sm_field_new(a, "createdTime", SM_INT64, true),
    };
    sm_field *pr_f[] = {sm_field_new(a, "minReaderVersion", SM_INT32, true),
                        sm_field_new(a, "minWriterVersion", SM_INT32, true)};
    sm_field *tx_f[] = {sm_field_new(a, "appId", SM_STRING, true),
                        sm_field_new(a, "version", SM_INT64, true)};
    sm_field *top[] = {
        sm_field_struct(a, "txn", tx_f, 2, true),
        sm_field_struct(a, "add", add_f, 6, true),
        sm_field_struct(a, "remove", rm_f, 3, true),
        sm_field_struct(a, "metaData", md_f, 6, true),
        sm_field_struct(a, "protocol", pr_f, 2, true),
    };
    return sm_field_struct(a, "spark_schema", top, 5, false);
}

static void app_str(sm_arena *a, sm_column *c, const char *s)
{
    CU_ASSERT_FATAL(
        (s ? sm_column_append_bytes(a, c, s, strlen(s)) : sm_column_append_null(a, c)) == 0);
}

static void app_row(sm_arena *a, sm_column *batch, const tc_action *act)
{
    sm_column *txn = batch->children[0], *add = batch->children[1], *rm = batch->children[2];
    sm_column *md = batch->children[3], *pr = batch->children[4];
    char stats[128];

    CU_ASSERT_FATAL(sm_column_append_valid(a, batch) == 0);
    if (act->kind == 't') {
        CU_ASSERT_FATAL(sm_column_append_valid(a, txn) == 0);
        app_str(a, txn->children[0], act->s);
        CU_ASSERT_FATAL(sm_column_append_i64(a, txn->children[1], act->n) == 0);
    } else {
        CU_ASSERT_FATAL(sm_column_append_null(a, txn) == 0);
    }
    if (act->kind == 'a') {
        sm_column *pv = add->children[1], *entries = pv->children[0];
        CU_ASSERT_FATAL(sm_column_append_valid(a, add) == 0);
        app_str(a, add->children[0], act->s);
        if (act->pv_key) {
            CU_ASSERT_FATAL(sm_column_append_valid(a, entries) == 0);
            app_str(a, entries->children[0], act->pv_key);
            app_str(a, entries->children[1], act->pv_val);
        }
        CU_ASSERT_FATAL(sm_column_list_end(a, pv) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, add->children[2], act->n) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, add->children[3], 1700000000000) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, add->children[4], 1) == 0);
        snprintf(stats, sizeof stats, "{\"numRecords\":%lld}", (long long)act->n);
        app_str(a, add->children[5], stats);
    } else {
        CU_ASSERT_FATAL(sm_column_append_null(a, add) == 0);
    }
    if (act->kind == 'r') {
        CU_ASSERT_FATAL(sm_column_append_valid(a, rm) == 0);
        app_str(a, rm->children[0], act->s);
        CU_ASSERT_FATAL(sm_column_append_i64(a, rm->children[1], 5) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, rm->children[2], 1) == 0);
    } else {
        CU_ASSERT_FATAL(sm_column_append_null(a, rm) == 0);
    }
    if (act->kind == 'm') {
        sm_column *conf = md->children[4];
        CU_ASSERT_FATAL(sm_column_append_valid(a, md) == 0);
        app_str(a, md->children[0], act->s);
        CU_ASSERT_FATAL(sm_column_append_valid(a, md->children[1]) == 0);
        app_str(a, md->children[1]->children[0], "parquet");
        app_str(a, md->children[2],
                "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\","
                "\"nullable\":true,\"metadata\":{}}]}");
        app_str(a, md->children[3]->children[0], "p");
        CU_ASSERT_FATAL(sm_column_list_end(a, md->children[3]) == 0);
        CU_ASSERT_FATAL(sm_column_append_valid(a, conf->children[0]) == 0);
        app_str(a, conf->children[0]->children[0], "k");
        app_str(a, conf->children[0]->children[1], "from-checkpoint");
        CU_ASSERT_FATAL(sm_column_list_end(a, conf) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, md->children[5], 7) == 0);
    } else {
        CU_ASSERT_FATAL(sm_column_append_null(a, md) == 0);
    }
    if (act->kind == 'p') {
        CU_ASSERT_FATAL(sm_column_append_valid(a, pr) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, pr->children[0], act->n) == 0);
        CU_ASSERT_FATAL(sm_column_append_i64(a, pr->children[1], 2) == 0);
    } else {
        CU_ASSERT_FATAL(sm_column_append_null(a, pr) == 0);
    }
}

static void write_checkpoint(const char *path, const tc_action *acts, int n)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_field *schema = ck_schema(a);
    pq_writer_opts o;
    pq_writer *w = NULL;
    sm_column *batch;
    sm_error err;
    CU_ASSERT_FATAL(schema != NULL);
    pq_writer_opts_default(&o);
    CU_ASSERT_FATAL(pq_writer_open(path, schema, &o, &w, &err) == 0);
    batch = sm_column_new(a, schema, n);
    for (int i = 0; i < n; i++) {
        app_row(a, batch, &acts[i]);
    }
    if (pq_writer_write(w, batch, &err) != 0 || pq_writer_close(w, NULL, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        CU_FAIL_FATAL("write checkpoint");
    }
    sm_arena_destroy(a);
}

static void write_checkpoint_at(const char *table, int64_t v, const tc_action *acts, int n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/_delta_log/%020lld.checkpoint.parquet", table, (long long)v);
    write_checkpoint(path, acts, n);
}

/* ---- replay ------------------------------------------------------------------------------ */

static void test_replay_add_remove_readd(void)
{
    char *t = new_table("dlog-replay");
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, CI(1000) PROTO META("id0", "") ADD("a", 1) ADD("b", 2));
    write_commit(t, 1, CI(2000) REMOVE("a"));
    write_commit(t, 2,
                 CI(3000) "{\"add\":{\"path\":\"a\",\"partitionValues\":{},\"size\":11,"
                          "\"modificationTime\":99,\"dataChange\":true,\"stats\":"
                          "\"{\\\"numRecords\\\":3}\",\"tags\":{\"t\":\"v\"}}}\n" REMOVE("b"));
    write_commit(t, 3, CI(4000) ADD("c", 3));
    /* not commits: ignored whatever they hold */
    write_log(t, "00000000000000000001.00000000000000000003.compacted.json", "garbage");
    write_log(t, "00000000000000000003.crc", "garbage");
    write_log(t, ".00000000000000000004.json.3f2a.tmp", "garbage");
    write_log(t, "00000000000000000004.json.tmp", "garbage");
    write_log(t, "0000000000000000004.json", "garbage");
    write_log(t, "00000000000000000004.checkpoint.1.2.parquet", "garbage");
    write_log(t, "00000000000000000004.checkpoint.a.b.json", "garbage");

    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 3);
    CU_ASSERT_EQUAL(s->timestamp, 4000);
    CU_ASSERT_EQUAL(s->checkpoint_version, -1);
    CU_ASSERT_EQUAL(s->n_files, 2);
    CU_ASSERT_EQUAL(s->n_tombstones, 1);
    const delta_file *a = find_file(s->files, s->n_files, "a");
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL(a->size, 11); /* the re-add replaced the first add */
    CU_ASSERT_EQUAL(a->modification_time, 99);
    CU_ASSERT_STRING_EQUAL(a->stats, "{\"numRecords\":3}");
    CU_ASSERT_EQUAL(a->n_tags, 1);
    CU_ASSERT_PTR_NOT_NULL(find_file(s->files, s->n_files, "c"));
    CU_ASSERT_PTR_NOT_NULL(find_file(s->tombstones, s->n_tombstones, "b"));
    CU_ASSERT_EQUAL(find_file(s->tombstones, s->n_tombstones, "b")->deletion_timestamp, 5);
    CU_ASSERT_EQUAL(find_file(s->tombstones, s->n_tombstones, "b")->size, -1);
    CU_ASSERT_STRING_EQUAL(s->metadata.id, "id0");
    CU_ASSERT_STRING_EQUAL(s->metadata.format, "parquet");
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL_FATAL(load(t, 1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 1);
    CU_ASSERT_EQUAL(s->n_files, 1);
    CU_ASSERT_PTR_NOT_NULL(find_file(s->files, s->n_files, "b"));
    CU_ASSERT_PTR_NOT_NULL(find_file(s->tombstones, s->n_tombstones, "a"));
    delta_snapshot_free(s);
    drop_table(t);
}

static void test_replay_txn_map_and_domains(void)
{
    char *t = new_table("dlog-txn");
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(
        t, 0,
        PROTO META("m", "") "{\"txn\":{\"appId\":\"app1\",\"version\":1,\"lastUpdated\":7}}\n"
                            "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":"
                            "\"{}\",\"removed\":false}}\n"
                            "{\"domainMetadata\":{\"domain\":\"d2\",\"configuration\":"
                            "\"x\",\"removed\":false}}\n");
    write_commit(t, 1, "{\"txn\":{\"appId\":\"app2\",\"version\":5}}\n");
    write_commit(t, 2,
                 "{\"txn\":{\"appId\":\"app1\",\"version\":3}}\n"
                 "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"{}\","
                 "\"removed\":true}}\n");
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->n_txns, 2);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app1"), 3);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app2"), 5);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "nope"), -1);
    CU_ASSERT_EQUAL(s->n_domains, 1);
    CU_ASSERT_STRING_EQUAL(s->domains[0].domain, "d2");
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL_FATAL(load(t, 0, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app1"), 1);
    CU_ASSERT_EQUAL(s->txns[0].last_updated, 7);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app2"), -1);
    CU_ASSERT_EQUAL(s->n_domains, 2);
    delta_snapshot_free(s);
    drop_table(t);
}

static void test_replay_latest_metadata_and_protocol_win(void)
{
    char *t = new_table("dlog-meta");
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, PROTO META("first", "\"k\":\"1\""));
    write_commit(t, 1, META("second", "\"k\":\"2\",\"delta.checkpointInterval\":\"5\""));
    write_commit(t, 2,
                 "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"timestampNtz\",\"v2Checkpoint\","
                 "\"vacuumProtocolCheck\"],\"writerFeatures\":[\"timestampNtz\"]}}\n");
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s->metadata.id, "second");
    CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "k"), "2");
    CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "delta.checkpointInterval"), "5");
    CU_ASSERT_PTR_NULL(delta_snapshot_config(s, "missing"));
    CU_ASSERT_EQUAL(s->protocol.min_reader_version, 3);
    CU_ASSERT_EQUAL(s->protocol.min_writer_version, 7);
    CU_ASSERT_EQUAL(s->protocol.n_reader_features, 3);
    CU_ASSERT_EQUAL(s->protocol.n_writer_features, 1);
    CU_ASSERT_PTR_NOT_NULL(s->metadata.schema_string);
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL_FATAL(load(t, 0, 0, &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "k"), "1");
    CU_ASSERT_EQUAL(s->protocol.min_reader_version, 1);
    delta_snapshot_free(s);
    drop_table(t);
}

/* ---- time travel ------------------------------------------------------------------------- */

static void test_time_travel_by_version_and_timestamp(void)
{
    char *t = new_table("dlog-tt");
    char path[4200];
    struct timeval tv[2] = {{1500, 0}, {1500, 0}}; /* 1500 s = 1,500,000 ms */
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, CI(1000) PROTO META("m", "") ADD("a", 1));
    write_commit(t, 1, CI(2000) ADD("b", 1));
    /* in-commit timestamps win over commitInfo.timestamp */
    write_commit(t, 2,
                 "{\"commitInfo\":{\"timestamp\":1,\"inCommitTimestamp\":3000}}\n" ADD("c", 1));
    /* no commitInfo: the file's mtime */
    write_commit(t, 3, ADD("d", 1));
    snprintf(path, sizeof path, "%s/_delta_log/%020d.json", t, 3);
    CU_ASSERT_FATAL(utimes(path, tv) == 0);

    CU_ASSERT_EQUAL_FATAL(load(t, 2, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 2);
    CU_ASSERT_EQUAL(s->n_files, 3);
    CU_ASSERT_EQUAL(s->timestamp, 3000);
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL_FATAL(load(t, -1, 2500, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 1);
    CU_ASSERT_EQUAL(s->timestamp, 2000);
    delta_snapshot_free(s);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 2000, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 1);
    delta_snapshot_free(s);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 3000, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 2);
    delta_snapshot_free(s);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 1500000, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 3);
    CU_ASSERT_EQUAL(s->timestamp, 1500000);
    delta_snapshot_free(s);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, INT64_C(4102444800000), &s, &err), 0); /* 2100: latest */
    CU_ASSERT_EQUAL(s->version, 3);
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL(load(t, -1, 999, &s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "before the earliest available commit"));
    CU_ASSERT_EQUAL(load(t, 4, 0, &s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "version 4 does not exist (the latest is 3)"));
    CU_ASSERT_EQUAL(load(t, 1, 2000, &s, &err), SM_ERR_USAGE);
    drop_table(t);
}

static void test_time_travel_before_cleaned_log_names_earliest(void)
{
    char *t = new_table("dlog-cleaned");
    tc_action acts[] = {{'p', NULL, 1, NULL, NULL}, {'m', "ck", 0, NULL, NULL},
                        {'a', "x", 10, "p", "1"},   {'a', "y", 20, "p", NULL},
                        {'r', "z", 0, NULL, NULL},  {'t', "app", 42, NULL, NULL}};
    delta_snapshot *s = NULL;
    sm_error err;

    write_checkpoint_at(t, 5, acts, 6);
    write_commit(t, 5, CI(5000) ADD("x", 10));
    write_commit(t, 6, CI(6000) ADD("w", 1));
    write_commit(t, 7, CI(7000) REMOVE("x"));

    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 7);
    CU_ASSERT_EQUAL(s->checkpoint_version, 5);
    CU_ASSERT_EQUAL(s->n_files, 2);      /* y, w */
    CU_ASSERT_EQUAL(s->n_tombstones, 2); /* z, x */
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app"), 42);
    CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "k"), "from-checkpoint");
    CU_ASSERT_EQUAL(s->metadata.n_partition_columns, 1);
    const delta_file *y = find_file(s->files, s->n_files, "y");
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_EQUAL(y->n_partition_values, 1);
    CU_ASSERT_STRING_EQUAL(y->partition_values[0].key, "p");
    CU_ASSERT_PTR_NULL(y->partition_values[0].value); /* a null partition value */
    CU_ASSERT_STRING_EQUAL(y->stats, "{\"numRecords\":20}");
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL_FATAL(load(t, 5, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->timestamp, 5000);
    CU_ASSERT_EQUAL(s->n_files, 2); /* x, y */
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL(load(t, 3, 0, &s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "earliest version that can be loaded is 5"));
    CU_ASSERT_EQUAL(load(t, -1, 4000, &s, &err), SM_ERR_USAGE);
    drop_table(t);
}

/* ---- checkpoints ------------------------------------------------------------------------- */

static void test_corrupt_last_checkpoint_falls_back_to_listing(void)
{
    char *t = new_table("dlog-lastck");
    tc_action acts[] = {
        {'p', NULL, 1, NULL, NULL}, {'m', "ck", 0, NULL, NULL}, {'a', "x", 1, NULL, NULL}};
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, PROTO META("m", "") ADD("x", 1));
    write_commit(t, 1, ADD("y", 1));
    write_commit(t, 2, ADD("z", 1));
    write_checkpoint_at(t, 1, acts, 3); /* deliberately without y: proves it was used */
    const char *hints[] = {"{not json", "", "{\"version\":\"one\"}", "{\"version\":7,\"size\":3}",
                           "{\"version\":1,\"size\":3,\"parts\":4}"};
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        write_log(t, "_last_checkpoint", hints[i]);
        CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
        CU_ASSERT_EQUAL(s->version, 2);
        CU_ASSERT_EQUAL(s->checkpoint_version, 1);
        CU_ASSERT_EQUAL(s->n_files, 2);
        delta_snapshot_free(s);
    }
    drop_table(t);

    /* the kernel's golden table: an empty _last_checkpoint */
    CU_ASSERT_EQUAL_FATAL(load(golden("corrupted-last-checkpoint-kernel"), -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 11);
    CU_ASSERT_EQUAL(s->checkpoint_version, 10);
    delta_snapshot_free(s);
}

static void test_unreadable_checkpoint_falls_back(void)
{
    char *t = new_table("dlog-badck");
    tc_action acts[] = {
        {'p', NULL, 1, NULL, NULL}, {'m', "ck", 0, NULL, NULL}, {'a', "x", 1, NULL, NULL}};
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, PROTO META("m", "") ADD("x", 1));
    write_commit(t, 1, ADD("y", 1));
    write_commit(t, 2, ADD("z", 1));
    write_commit(t, 3, ADD("w", 1));
    write_checkpoint_at(t, 1, acts, 3);
    write_log(t, "00000000000000000002.checkpoint.parquet", "not parquet at all");
    write_log(t, "_last_checkpoint", "{\"version\":2,\"size\":3}");
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->checkpoint_version, 1); /* the older one */
    CU_ASSERT_EQUAL(s->n_files, 3);            /* x, z, w: y is not in the checkpoint at 1 */
    delta_snapshot_free(s);

    /* checkpoint 1 missing its protocol: down to the commits from 0 */
    tc_action no_proto[] = {{'m', "ck", 0, NULL, NULL}, {'a', "x", 1, NULL, NULL}};
    write_checkpoint_at(t, 1, no_proto, 2);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->checkpoint_version, -1);
    CU_ASSERT_EQUAL(s->n_files, 4);
    delta_snapshot_free(s);

    /* without commit 0 there is nothing to fall back to */
    remove_log(t, "00000000000000000000.json");
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no readable checkpoint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "00000000000000000002.checkpoint.parquet"));
    drop_table(t);
}

static void test_missing_commit_is_corrupt_naming_the_gap(void)
{
    char *t = new_table("dlog-gap");
    delta_snapshot *s = NULL;
    sm_error err;

    write_commit(t, 0, PROTO META("m", "") ADD("a", 1));
    write_commit(t, 1, ADD("b", 1));
    write_commit(t, 3, ADD("c", 1));
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "_delta_log/00000000000000000002.json is missing"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, t));
    CU_ASSERT_EQUAL_FATAL(load(t, 1, 0, &s, &err), 0); /* before the gap is fine */
    CU_ASSERT_EQUAL(s->n_files, 2);
    delta_snapshot_free(s);
    drop_table(t);

    CU_ASSERT_EQUAL(load(golden("versions-not-contiguous"), -1, 0, &s, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "00000000000000000001.json is missing"));
}

static void test_multi_part_checkpoint_incomplete_set_ignored(void)
{
    char *t = copy_golden("multi-part-checkpoint");
    delta_snapshot *s = NULL;
    sm_error err;

    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 1);
    CU_ASSERT_EQUAL(s->checkpoint_version, 1);
    CU_ASSERT_EQUAL(s->n_files, 10);
    delta_snapshot_free(s);

    remove_log(t, "00000000000000000001.checkpoint.0000000002.0000000002.parquet");
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->version, 1);
    CU_ASSERT_EQUAL(s->checkpoint_version, -1); /* replayed from the JSON commits */
    CU_ASSERT_EQUAL(s->n_files, 10);
    delta_snapshot_free(s);
    drop_table(t);
}

static void test_v2_checkpoints_with_sidecars(void)
{
    const char *names[] = {"v2-checkpoint-json", "v2-checkpoint-parquet"};
    for (int i = 0; i < 2; i++) {
        delta_snapshot *s = NULL, *s1 = NULL;
        sm_error err;
        CU_ASSERT_EQUAL_FATAL(load(golden(names[i]), -1, 0, &s, &err), 0);
        CU_ASSERT_EQUAL(s->version, 2);
        CU_ASSERT_EQUAL(s->checkpoint_version, 2);
        CU_ASSERT_EQUAL(s->n_files, 4); /* all of them from the sidecars */
        CU_ASSERT_EQUAL(s->protocol.min_reader_version, 3);
        CU_ASSERT_STRING_EQUAL(delta_snapshot_config(s, "delta.checkpointPolicy"), "v2");
        CU_ASSERT_EQUAL_FATAL(load(golden(names[i]), 1, 0, &s1, &err), 0);
        CU_ASSERT_EQUAL(s1->checkpoint_version, -1);
        for (int64_t k = 0; k < s1->n_files; k++) {
            CU_ASSERT_PTR_NOT_NULL(find_file(s->files, s->n_files, s1->files[k].path));
        }
        delta_snapshot_free(s1);
        delta_snapshot_free(s);
    }
}

static void test_spark_checkpoint_matches_json_replay(void)
{
    /* The same version from Spark's checkpoint and from the JSON commits alone. */
    const char *names[] = {"checkpoint", "basic-with-inserts-deletes-checkpoint",
                           "only-checkpoint-files", "basic-with-inserts-overwrite-restore"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *t = copy_golden(names[i]);
        delta_snapshot *a = NULL, *b = NULL;
        sm_error err;
        char cmd[4400];
        CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &a, &err), 0);
        CU_ASSERT(a->checkpoint_version >= 0);
        snprintf(cmd, sizeof cmd, "rm -f '%s'/_delta_log/*.checkpoint*.parquet", t);
        CU_ASSERT_FATAL(system(cmd) == 0);
        CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &b, &err), 0);
        CU_ASSERT_EQUAL(b->checkpoint_version, -1);
        CU_ASSERT_EQUAL(a->version, b->version);
        CU_ASSERT_EQUAL(a->n_files, b->n_files);
        for (int64_t k = 0; k < a->n_files; k++) {
            const delta_file *f = find_file(b->files, b->n_files, a->files[k].path);
            CU_ASSERT_FATAL(f != NULL);
            CU_ASSERT_EQUAL(f->size, a->files[k].size);
            CU_ASSERT_EQUAL(f->n_partition_values, a->files[k].n_partition_values);
            CU_ASSERT((f->stats == NULL) == (a->files[k].stats == NULL));
        }
        CU_ASSERT_STRING_EQUAL(a->metadata.id, b->metadata.id);
        CU_ASSERT_EQUAL(a->protocol.min_reader_version, b->protocol.min_reader_version);
        delta_snapshot_free(a);
        delta_snapshot_free(b);
        drop_table(t);
    }
}

/* ---- protocol ---------------------------------------------------------------------------- */

static void expect_refused(const char *table, const char *needle)
{
    delta_snapshot *s = NULL;
    sm_error err;
    delta_load_opts o;
    CU_ASSERT_EQUAL(load(table, -1, 0, &s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(s);
    if (!strstr(err.msg, needle)) {
        fprintf(stderr, "\n%s: '%s' not in: %s\n", table, needle, err.msg);
        CU_FAIL("refusal message");
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, table));
    /* and `table history` may still read the log */
    delta_load_opts_default(&o);
    o.ignore_unsupported_features = true;
    CU_ASSERT_EQUAL(delta_snapshot_load(table, &o, &s, &err), 0);
    delta_snapshot_free(s);
}

static void test_unsupported_reader_features_refused(void)
{
    delta_snapshot *s = NULL;
    delta_load_opts o;
    sm_error err;

    expect_refused(golden("dv-partitioned-with-checkpoint"),
                   "reader feature 'deletionVectors' is not supported");
    expect_refused(golden("dv-with-columnmapping"), "'deletionVectors'");
    expect_refused(golden("log-replay-dv-key-cases"), "'deletionVectors'");
    expect_refused(golden("table-with-columnmapping-mode-name"),
                   "reader feature 'columnMapping' (delta.columnMapping.mode 'name')");
    expect_refused(golden("table-with-columnmapping-mode-id"), "'columnMapping'");
    expect_refused(golden("data-reader-timestamp_ntz-name-mode"), "'columnMapping'");
    expect_refused(golden("type-widening"), "reader feature 'typeWidening-preview'");
    expect_refused(golden("spark-variant-checkpoint"), "reader feature 'variantType-preview'");
    expect_refused(golden("deltalog-invalid-protocol-version"), "reader version 99");

    /* deletion vector ids take part in the file identity (PROTOCOL.md "Action Reconciliation") */
    delta_load_opts_default(&o);
    o.ignore_unsupported_features = true;
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(golden("log-replay-dv-key-cases"), &o, &s, &err), 0);
    CU_ASSERT_EQUAL(s->n_files, 1);
    CU_ASSERT_PTR_NOT_NULL(s->files[0].dv_id);
    CU_ASSERT_EQUAL(s->n_tombstones, 3); /* (path, none), (path, dv1), (path, dv2) */
    delta_snapshot_free(s);

    char *t = new_table("dlog-feat");
    write_commit(t, 0,
                 "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"timestampNtz\",\"fancyNewThing\"],"
                 "\"writerFeatures\":[]}}\n" META("m", ""));
    expect_refused(t, "reader feature 'fancyNewThing' is not supported");
    /* column mapping in mode none reads as plain Parquet */
    write_commit(t, 0,
                 "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"columnMapping\",\"vacuumProtocolCheck\"],"
                 "\"writerFeatures\":[]}}\n" META("m", "\"delta.columnMapping.mode\":"
                                                       "\"none\""));
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), 0);
    delta_snapshot_free(s);
    write_commit(t, 0,
                 "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n" META("m", ""));
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), 0);
    delta_snapshot_free(s);
    write_commit(t, 0,
                 "{\"protocol\":{\"minReaderVersion\":4,\"minWriterVersion\":7}}\n" META("m", ""));
    expect_refused(t, "reader version 4 is not supported");
    drop_table(t);
}

/* ---- paths ------------------------------------------------------------------------------- */

static void test_canonicalized_paths_reconcile(void)
{
    const char *names[] = {"canonicalized-paths-normal-a", "canonicalized-paths-normal-b",
                           "canonicalized-paths-special-a", "canonicalized-paths-special-b"};
    char abs_root[4200], text[16384];
    sm_buf root = SM_BUF_INIT;
    delta_snapshot *s = NULL;
    sm_error err;

    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL_FATAL(load(golden(names[i]), -1, 0, &s, &err), 0);
        CU_ASSERT_EQUAL(s->version, 1);
        CU_ASSERT_EQUAL(s->n_files, 0);
        CU_ASSERT_EQUAL(s->n_tombstones, 1);
        delta_snapshot_free(s);
    }

    char *t = new_table("dlog-canon");
    CU_ASSERT_FATAL(delta_abs_path(t, &root, &err) == 0);
    snprintf(abs_root, sizeof abs_root, "%s", (const char *)root.data);
    snprintf(text, sizeof text,
             PROTO META("m", "") ADD("a%%20b/x.parquet", 1) ADD("plain", 1) ADD("file:///%s/y", 1)
                 ADD("d/../e", 1) ADD("keep%%25me", 1) ADD("s3://bucket/k%%3Dv", 1),
             abs_root + 1);
    write_commit(t, 0, text);
    snprintf(text, sizeof text,
             REMOVE("a b/x.parquet") REMOVE("file:%s/plain") REMOVE("./y") REMOVE("e")
                 REMOVE("s3://bucket/k=v"),
             abs_root);
    write_commit(t, 1, text);
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->n_files, 1);
    CU_ASSERT_STRING_EQUAL(s->files[0].path, "keep%25me"); /* "keep%me" is another file */
    CU_ASSERT_EQUAL(s->n_tombstones, 5);
    delta_snapshot_free(s);
    sm_buf_free(&root);
    drop_table(t);
}

static void expect_local(const char *table, const char *log_path, const char *want)
{
    sm_buf out = SM_BUF_INIT;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(delta_file_local_path(table, log_path, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL((const char *)out.data, want);
    CU_ASSERT_EQUAL(out.len, strlen(want));
    sm_buf_free(&out);
}

static void test_local_path_decoding(void)
{
    sm_buf out = SM_BUF_INIT;
    sm_error err;
    expect_local("/t", "part-0.parquet", "/t/part-0.parquet");
    expect_local("/t/", "a%20b/c.parquet", "/t/a b/c.parquet");
    expect_local("rel/t", "x=a%253Ab/f", "rel/t/x=a%3Ab/f");
    expect_local("/t", "bar%2Dbar.snappy.parquet", "/t/bar-bar.snappy.parquet");
    expect_local("/t", "file:/abs/x%25y", "/abs/x%y");
    expect_local("/t", "file:///abs/x", "/abs/x");
    expect_local("/t", "file://localhost/abs/x", "/abs/x");
    expect_local("/t", "/abs/with%20space", "/abs/with space");
    expect_local("/t", "bad%zz", "/t/bad%zz");
    CU_ASSERT_EQUAL(delta_file_local_path("/t", "s3://bucket/x", &out, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "scheme 's3'"));
    CU_ASSERT_EQUAL(delta_file_local_path("/t", "file://otherhost/x", &out, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(delta_file_local_path("/t", "hdfs://nn/x", &out, &err), SM_ERR_USAGE);
    sm_buf_free(&out);
}

static void test_log_path_and_path_keys(void)
{
    sm_buf b = SM_BUF_INIT;
    sm_arena *a = sm_arena_create(0, 0);
    const char *key;
    sm_error err;
    CU_ASSERT_EQUAL(delta_log_path("/t", 3, ".json", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL((const char *)b.data, "/t/_delta_log/00000000000000000003.json");
    CU_ASSERT_EQUAL(delta_log_path("/t/", 12, ".checkpoint.parquet", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL((const char *)b.data,
                           "/t/_delta_log/00000000000000000012.checkpoint.parquet");
    CU_ASSERT_EQUAL(delta_log_path("/t", 7, NULL, &b, &err), 0);
    CU_ASSERT_STRING_EQUAL((const char *)b.data, "/t/_delta_log/00000000000000000007");

    const char *plain = "p=1/part-0.parquet";
    CU_ASSERT_EQUAL(delta_path_key("/r", plain, a, &key, &err), 0);
    CU_ASSERT_PTR_EQUAL(key, plain); /* no copy */
    const struct {
        const char *in, *want;
    } cases[] = {
        {"a%20b", "a b"},
        {"./a b", "a b"},
        {"x//y/./z", "x/y/z"},
        {"file:/r/q", "q"},
        {"file:///r/q%3D", "q="},
        {"/r/sub/../q", "q"},
        {"/elsewhere/f", "/elsewhere/f"},
        {"../up", "/up"},
        {"s3://b/a%20c", "s3://b/a c"},
        {"file://host/r/q", "file://host/r/q"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(delta_path_key("/r", cases[i].in, a, &key, &err), 0);
        if (strcmp(key, cases[i].want) != 0) {
            fprintf(stderr, "\nkey of '%s' is '%s', want '%s'\n", cases[i].in, key, cases[i].want);
            CU_FAIL("path key");
        }
    }
    sm_arena_destroy(a);
    sm_buf_free(&b);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_log_errors_name_table_file_and_line(void)
{
    char *t = new_table("dlog-err");
    delta_snapshot *s = NULL;
    sm_error err;
    char want[4400];
    int64_t v;

    CU_ASSERT_EQUAL(delta_latest_version(t, &v, &err), 0);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_USAGE); /* empty _delta_log */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a Delta table"));

    write_commit(t, 0, PROTO META("m", ""));
    write_commit(t, 1, ADD("a", 1) "{\"add\":{\"path\":\n");
    CU_ASSERT_EQUAL(delta_latest_version(t, &v, &err), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_CORRUPT);
    snprintf(want, sizeof want, "%s/_delta_log/00000000000000000001.json:2: not JSON", t);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));

    write_commit(t, 1, "\n" ADD("a", 1) "{\"add\":{\"size\":1}}\n");
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_CORRUPT);
    snprintf(want, sizeof want, "00000000000000000001.json:3: add: 'path' is missing");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));

    write_commit(t, 1, "{\"add\":{\"path\":\"x\",\"size\":\"big\"}}\n");
    CU_ASSERT_EQUAL(load(t, -1, 0, &s, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "add: 'size' is a string, not an integer"));

    /* unknown actions and fields are ignored; CRLF and blank lines are fine */
    write_commit(t, 1,
                 "{\"cdc\":{\"path\":\"c\"}}\r\n\r\n{\"futureAction\":{}}\n"
                 "{\"add\":{\"path\":\"x\",\"size\":1,\"newField\":[1,2]}}\r\n");
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    CU_ASSERT_EQUAL(s->n_files, 1);
    delta_snapshot_free(s);

    CU_ASSERT_EQUAL(load(golden("no-delta-log-folder"), -1, 0, &s, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a Delta table (no _delta_log/"));
    CU_ASSERT_EQUAL(delta_latest_version(golden("no-delta-log-folder"), &v, &err), 0);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(load(golden("deltalog-state-reconstruction-without-metadata"), -1, 0, &s, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no metaData action"));
    CU_ASSERT_EQUAL(load(golden("deltalog-state-reconstruction-without-protocol"), -1, 0, &s, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no protocol action"));
    drop_table(t);
}

static void test_read_commit(void)
{
    char *t = new_table("dlog-commit");
    sm_arena *a = sm_arena_create(0, 0);
    delta_commit_actions c;
    sm_error err;

    write_commit(
        t, 0,
        "{\"commitInfo\":{\"timestamp\":1234,\"operation\":\"WRITE\",\"operationParameters\":"
        "{\"mode\":\"Append\"}}}\n" PROTO META("m", "") ADD("a", 1) ADD("b", 2)
            REMOVE("c") "{\"txn\":{\"appId\":\"q\",\"version\":9}}\n");
    CU_ASSERT_EQUAL_FATAL(delta_read_commit(t, 0, a, &c, &err), 0);
    CU_ASSERT_EQUAL(c.version, 0);
    CU_ASSERT_EQUAL(c.timestamp, 1234);
    CU_ASSERT_EQUAL(c.n_adds, 2);
    CU_ASSERT_EQUAL(c.n_removes, 1);
    CU_ASSERT_EQUAL(c.n_txns, 1);
    CU_ASSERT_EQUAL(c.txns[0].version, 9);
    CU_ASSERT_PTR_NOT_NULL(c.protocol);
    CU_ASSERT_PTR_NOT_NULL(c.metadata);
    CU_ASSERT_STRING_EQUAL(c.adds[1].path, "b");
    CU_ASSERT_STRING_EQUAL(c.commit_info, "{\"timestamp\":1234,\"operation\":\"WRITE\","
                                          "\"operationParameters\":{\"mode\":\"Append\"}}");
    write_commit(t, 1, "{\"commitInfo\":{\"timestamp\":5,\"inCommitTimestamp\":6}}\n");
    CU_ASSERT_EQUAL_FATAL(delta_read_commit(t, 1, a, &c, &err), 0);
    CU_ASSERT_EQUAL(c.timestamp, 6);
    CU_ASSERT_EQUAL(c.n_adds, 0);
    CU_ASSERT_PTR_NULL(c.adds);
    CU_ASSERT_PTR_NULL(c.protocol);
    CU_ASSERT_EQUAL(delta_read_commit(t, 2, a, &c, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "version 2 has no commit file"));
    sm_arena_destroy(a);
    drop_table(t);
}

/* ---- schemas ----------------------------------------------------------------------------- */

static void test_schema_json_round_trip(void)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_buf json = SM_BUF_INIT, again = SM_BUF_INIT;
    sm_field *back;
    sm_error err;
    sm_field *inner[] = {sm_field_new(a, "x", SM_INT32, false),
                         sm_field_decimal(a, "d", 38, 10, true)};
    sm_field *cols[] = {
        sm_field_new(a, "b", SM_BOOL, true),
        sm_field_new(a, "i8", SM_INT8, true),
        sm_field_new(a, "i16", SM_INT16, true),
        sm_field_new(a, "i32", SM_INT32, false),
        sm_field_new(a, "i64", SM_INT64, true),
        sm_field_new(a, "u8", SM_UINT8, true),
        sm_field_new(a, "u16", SM_UINT16, true),
        sm_field_new(a, "u32", SM_UINT32, true),
        sm_field_new(a, "u64", SM_UINT64, true),
        sm_field_new(a, "f", SM_FLOAT, true),
        sm_field_new(a, "dbl", SM_DOUBLE, true),
        sm_field_new(a, "s", SM_STRING, true),
        sm_field_new(a, "j", SM_JSON, true),
        sm_field_new(a, "bin", SM_BINARY, true),
        sm_field_fixed(a, "fb", 16, true),
        sm_field_new(a, "dt", SM_DATE, true),
        sm_field_new(a, "tms", SM_TIMESTAMP_MS, true),
        sm_field_new(a, "tus", SM_TIMESTAMP_US, true),
        sm_field_decimal(a, "dec", 10, 2, true),
        sm_field_struct(a, "st", inner, 2, true),
        sm_field_list(a, "l", sm_field_new(a, "element", SM_STRING, false), true),
        sm_field_map(a, "m", sm_field_new(a, "key", SM_STRING, false),
                     sm_field_list(a, "value", sm_field_new(a, "element", SM_INT64, true), true),
                     true),
    };
    int n = (int)(sizeof cols / sizeof cols[0]);
    sm_field *root = sm_field_struct(a, "", cols, n, false);
    static const sm_type want_back[] = {
        SM_BOOL,    SM_INT8,   SM_INT16,   SM_INT32, SM_INT64,        SM_INT16,
        SM_INT32,   SM_INT64,  SM_DECIMAL, SM_FLOAT, SM_DOUBLE,       SM_STRING,
        SM_STRING,  SM_BINARY, SM_BINARY,  SM_DATE,  SM_TIMESTAMP_US, SM_TIMESTAMP_US,
        SM_DECIMAL, SM_STRUCT, SM_LIST,    SM_MAP,
    };

    CU_ASSERT_EQUAL_FATAL(delta_schema_to_json(root, &json, &err), 0);
    CU_ASSERT_EQUAL(strlen((const char *)json.data), json.len);
    CU_ASSERT_PTR_NOT_NULL(strstr((const char *)json.data,
                                  "{\"type\":\"struct\",\"fields\":[{\"name\":\"b\",\"type\":"
                                  "\"boolean\",\"nullable\":true,\"metadata\":{}},"));
    CU_ASSERT_PTR_NOT_NULL(strstr((const char *)json.data,
                                  "{\"name\":\"i32\",\"type\":\"integer\",\"nullable\":false,"
                                  "\"metadata\":{}}"));
    CU_ASSERT_PTR_NOT_NULL(strstr((const char *)json.data, "\"type\":\"decimal(20,0)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((const char *)json.data, "\"type\":\"decimal(10,2)\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr((const char *)json.data,
               "{\"name\":\"l\",\"type\":{\"type\":\"array\",\"elementType\":\"string\","
               "\"containsNull\":false},\"nullable\":true,\"metadata\":{}}"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr((const char *)json.data,
               "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"array\","
               "\"elementType\":\"long\",\"containsNull\":true},\"valueContainsNull\":true}"));

    CU_ASSERT_EQUAL_FATAL(delta_schema_from_json((const char *)json.data, a, &back, &err), 0);
    CU_ASSERT_EQUAL(back->type, SM_STRUCT);
    CU_ASSERT_EQUAL_FATAL(back->n_children, n);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(back->children[i]->name, cols[i]->name);
        CU_ASSERT_EQUAL(back->children[i]->type, want_back[i]);
        CU_ASSERT_EQUAL(back->children[i]->nullable, cols[i]->nullable);
    }
    CU_ASSERT_EQUAL(back->children[8]->precision, 20);
    CU_ASSERT_EQUAL(back->children[18]->precision, 10);
    CU_ASSERT_EQUAL(back->children[18]->scale, 2);
    CU_ASSERT_EQUAL(back->children[19]->children[1]->precision, 38);
    CU_ASSERT_EQUAL(back->children[19]->children[0]->nullable, false);
    CU_ASSERT_EQUAL(back->children[20]->children[0]->nullable, false);
    const sm_field *m = back->children[21]->children[0];
    CU_ASSERT_EQUAL(m->children[0]->nullable, false);
    CU_ASSERT_EQUAL(m->children[1]->type, SM_LIST);
    CU_ASSERT_EQUAL(m->children[1]->children[0]->type, SM_INT64);
    /* the mapped schema is a fixed point */
    CU_ASSERT_EQUAL_FATAL(delta_schema_to_json(back, &again, &err), 0);
    CU_ASSERT_EQUAL_FATAL(delta_schema_from_json((const char *)again.data, a, &back, &err), 0);
    CU_ASSERT_EQUAL_FATAL(delta_schema_to_json(back, &json, &err), 0);
    CU_ASSERT_STRING_EQUAL((const char *)json.data, (const char *)again.data);

    /* Spark's form with metadata, spaces in decimals, timestamp_ntz */
    CU_ASSERT_EQUAL(
        delta_schema_from_json(
            "{\"type\":\"struct\",\"fields\":[{\"name\":\"t\",\"type\":\"timestamp_ntz\","
            "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":1}},"
            "{\"name\":\"d\",\"type\":\"decimal(5, 1)\",\"nullable\":true,"
            "\"metadata\":{}}]}",
            a, &back, &err),
        0);
    CU_ASSERT_EQUAL(back->children[0]->type, SM_TIMESTAMP_US);
    CU_ASSERT_EQUAL(back->children[1]->precision, 5);
    CU_ASSERT_EQUAL(back->children[1]->scale, 1);

    CU_ASSERT_EQUAL(delta_schema_from_json(
                        "{\"type\":\"struct\",\"fields\":[{\"name\":\"s\",\"type\":{\"type\":"
                        "\"struct\",\"fields\":[{\"name\":\"arr\",\"type\":{\"type\":\"array\","
                        "\"elementType\":\"variant\",\"containsNull\":true},\"nullable\":true,"
                        "\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}}]}",
                        a, &back, &err),
                    SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "column s.arr.element: type 'variant'"));
    CU_ASSERT_EQUAL(delta_schema_from_json("{\"type\":\"struct\",\"fields\":[{\"name\":\"i\","
                                           "\"type\":\"interval\",\"nullable\":true}]}",
                                           a, &back, &err),
                    SM_ERR_USAGE);
    CU_ASSERT_EQUAL(delta_schema_from_json("{\"type\":", a, &back, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(delta_schema_from_json(NULL, a, &back, &err), SM_ERR_CORRUPT);
    sm_buf_free(&json);
    sm_buf_free(&again);
    sm_arena_destroy(a);
}

static void test_schema_from_every_golden_schema(void)
{
    /* every schemaString of the loadable golden tables parses, or names its unsupported type */
    const char *names[] = {"parquet-all-types",
                           "data-reader-array-complex-objects",
                           "data-reader-map",
                           "data-reader-nested-struct",
                           "decimal-various-scale-precision",
                           "data-reader-primitives",
                           "data-reader-timestamp_ntz",
                           "basic-decimal-table"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        delta_snapshot *s = NULL;
        sm_field *f;
        sm_error err;
        CU_ASSERT_EQUAL_FATAL(load(golden(names[i]), -1, 0, &s, &err), 0);
        if (delta_schema_from_json(s->metadata.schema_string, s->arena, &f, &err) != 0) {
            fprintf(stderr, "\n%s: %s\n", names[i], err.msg);
            CU_FAIL("golden schema");
        } else {
            CU_ASSERT(f->n_children > 0);
        }
        delta_snapshot_free(s);
    }
}

/* ---- scale ------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_large_checkpoint_loads_fast(void)
{
    enum { N = 120000 };
    char *t = new_table("dlog-big");
    tc_action *acts = calloc(N + 2, sizeof *acts);
    char(*paths)[64] = calloc(N, sizeof *paths);
    delta_snapshot *s = NULL;
    sm_error err;
    double t0, dt;

    CU_ASSERT_FATAL(acts && paths);
    acts[0] = (tc_action){'p', NULL, 1, NULL, NULL};
    acts[1] = (tc_action){'m', "big", 0, NULL, NULL};
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof paths[i], "p=%d/part-%06d-0a1b2c3d-c000.snappy.parquet", i % 50,
                 i);
        acts[i + 2] = (tc_action){'a', paths[i], 1000 + i, "p", "7"};
    }
    write_checkpoint_at(t, 10, acts, N + 2);
    write_commit(t, 10, CI(10));
    write_commit(t, 11,
                 CI(11) REMOVE("p=0/part-000000-0a1b2c3d-c000.snappy.parquet") ADD("new", 1));
    t0 = now_s();
    CU_ASSERT_EQUAL_FATAL(load(t, -1, 0, &s, &err), 0);
    dt = now_s() - t0;
    fprintf(stderr, "\n    %d files from a checkpoint in %.3f s ", N, dt);
    CU_ASSERT_EQUAL(s->n_files, N);
    CU_ASSERT_EQUAL(s->n_tombstones, 1);
    CU_ASSERT_EQUAL(s->checkpoint_version, 10);
    CU_ASSERT(dt < 3.0); /* well under a second in a release build; ASan is slower */
    delta_snapshot_free(s);
    free(acts);
    free(paths);
    drop_table(t);
}

/* ---- every golden table ------------------------------------------------------------------ */

/* Tables that really are corrupt (the reference readers refuse them too). */
static const char *const corrupt_tables[] = {
    "data-reader-absolute-paths-escaped-chars", /* no metaData action at all */
    "deltalog-state-reconstruction-without-metadata",
    "deltalog-state-reconstruction-without-protocol",
    "versions-not-contiguous", /* 00000000000000000001.json is missing */
};

static bool is_known_corrupt(const char *name)
{
    for (size_t i = 0; i < sizeof corrupt_tables / sizeof corrupt_tables[0]; i++) {
        if (strcmp(name, corrupt_tables[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int outcome_rows;

static void check_golden(const char *name)
{
    delta_snapshot *s = NULL;
    sm_error err;
    int rc = load(golden(name), -1, 0, &s, &err);
    outcome_rows++;
    if (rc == 0) {
        fprintf(stderr, "    | %-58s | v%-3lld | %4lld files | ckpt %lld\n", name,
                (long long)s->version, (long long)s->n_files, (long long)s->checkpoint_version);
        CU_ASSERT(!is_known_corrupt(name));
        delta_snapshot_free(s);
        return;
    }
    fprintf(stderr, "    | %-58s | %s: %s\n", name, sm_code_name(rc), err.msg);
    if (rc == SM_ERR_CORRUPT) {
        if (!is_known_corrupt(name)) {
            CU_FAIL("a golden table reported corrupt");
        }
    } else if (rc != SM_ERR_USAGE) {
        CU_FAIL("a golden table neither loaded nor refused");
    }
}

static void test_every_golden_table_loads_or_is_refused(void)
{
    char cmd[4400];
    FILE *p;
    char line[1024];

    /* every directory holding a _delta_log, and every top-level one (tables without a log are
     * refused as "not a Delta table") */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && { ls -1; find . -mindepth 2 -maxdepth 3 -name _delta_log -type d | "
             "sed -e 's,^\\./,,' -e 's,/_delta_log$,,' | grep /; } | sort -u",
             golden_dir());
    p = popen(cmd, "r");
    CU_ASSERT_FATAL(p != NULL);
    fprintf(stderr, "\n");
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0]) {
            check_golden(line);
        }
    }
    pclose(p);
    CU_ASSERT(outcome_rows >= 100);
}

/* Each golden table at every one of its versions: no crash, and no CORRUPT except the known. */
static void test_every_golden_version_loads(void)
{
    char cmd[4400];
    FILE *p;
    char line[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && find . -name _delta_log -type d | sed -e 's,^\\./,,' -e "
             "'s,/_delta_log$,,' | sort",
             golden_dir());
    p = popen(cmd, "r");
    CU_ASSERT_FATAL(p != NULL);
    while (fgets(line, sizeof line, p)) {
        int64_t latest = -1;
        sm_error err;
        line[strcspn(line, "\n")] = '\0';
        CU_ASSERT_EQUAL(delta_latest_version(golden(line), &latest, &err), 0);
        for (int64_t v = 0; v <= latest; v++) {
            delta_snapshot *s = NULL;
            delta_load_opts o;
            int rc;
            delta_load_opts_default(&o);
            o.version = v;
            o.ignore_unsupported_features = true;
            rc = delta_snapshot_load(golden(line), &o, &s, &err);
            if (rc == SM_ERR_CORRUPT && !is_known_corrupt(line)) {
                fprintf(stderr, "\n%s@%lld: %s\n", line, (long long)v, err.msg);
                CU_FAIL("corrupt golden version");
            }
            CU_ASSERT(rc == 0 || rc == SM_ERR_CORRUPT || rc == SM_ERR_USAGE);
            delta_snapshot_free(s);
        }
    }
    pclose(p);
}

static int quiet_logs(void)
{
    sm_log_setup(SM_LOG_ERROR, SM_LOG_HUMAN, NULL); /* expected warnings stay out of the log */
    return 0;
}

static int no_teardown(void)
{
    return 0;
}

static CU_TestInfo tests[] = {
    {"replay: add, remove, re-add", test_replay_add_remove_readd},
    {"replay: txn map and domain metadata", test_replay_txn_map_and_domains},
    {"replay: latest metadata and protocol win", test_replay_latest_metadata_and_protocol_win},
    {"time travel by version and timestamp", test_time_travel_by_version_and_timestamp},
    {"time travel before a cleaned log names the earliest",
     test_time_travel_before_cleaned_log_names_earliest},
    {"corrupt _last_checkpoint falls back to listing",
     test_corrupt_last_checkpoint_falls_back_to_listing},
    {"unreadable checkpoint falls back", test_unreadable_checkpoint_falls_back},
    {"missing commit is corrupt, naming the gap", test_missing_commit_is_corrupt_naming_the_gap},
    {"multi-part checkpoint: incomplete set ignored",
     test_multi_part_checkpoint_incomplete_set_ignored},
    {"v2 checkpoints (json, parquet) with sidecars", test_v2_checkpoints_with_sidecars},
    {"Spark checkpoint equals JSON replay", test_spark_checkpoint_matches_json_replay},
    {"unsupported reader features refused", test_unsupported_reader_features_refused},
    {"canonicalized paths reconcile", test_canonicalized_paths_reconcile},
    {"local path decoding", test_local_path_decoding},
    {"log paths and path keys", test_log_path_and_path_keys},
    {"log errors name table, file and line", test_log_errors_name_table_file_and_line},
    {"read one commit", test_read_commit},
    {"schema JSON round trip", test_schema_json_round_trip},
    {"schemas of golden tables", test_schema_from_every_golden_schema},
    {"large checkpoint loads fast", test_large_checkpoint_loads_fast},
    {"every golden table loads or is refused", test_every_golden_table_loads_or_is_refused},
    {"every golden version loads", test_every_golden_version_loads},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("delta_log", quiet_logs, no_teardown, tests)
