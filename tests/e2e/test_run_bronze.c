/*
 * End to end: the embedded broker in-process, orders from the producer with faults and a
 * ground-truth file, then the engine (stream/engine.h) in-process and `smelter run` as a
 * process. DuckDB, the independent reader, checks the tables against the truth file:
 *
 *   - bronze holds exactly the decodable messages (every (partition, offset, key) of the truth
 *     with class != decode, once), the dead-letter table exactly the undecodable ones, with their
 *     raw bytes; the counts add up;
 *   - a second available_now run with nothing new commits nothing;
 *   - small batches (max_records_per_trigger) give the same rows over several batches;
 *   - `smelter run` killed at every protocol step (SMELTER_CRASH_AT) and restarted ends with the
 *     same rows, none twice;
 *   - `smelter run` on an interval commits idle batches and exits 0 on SIGTERM.
 *
 * Scale: 500k orders over 32 partitions; 50k in sanitized builds (ASan, or SMELTER_SANITIZED
 * set). SMELTER_TEST_ORDERS=N overrides both.
 */
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "core/buf.h"
#include "e2e_util.h"
#include "core/clock.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"
#include "storage/delta.h"
#include "stream/engine.h"
#include "stream/pipeline.h"
#include "tools/producer.h"

#define PARTITIONS 32

/* How many numeric entries a checkpoint directory (offsets/, commits/) holds. */
static int64_t checkpoint_entries(const char *d)
{
    int64_t n = 0;
    e2e_latest_entry(d, &n);
    return n;
}

static sm_broker *broker;
static char *dir;
static char truth_path[1024];
static char avsc_path[1024];
static int64_t n_orders;
static char first_lake[1024]; /* the lake of the first full run, for comparisons */

/* The orders schema with a nullable order_id: the producer's null_id fault is a "value" fault
 * (it decodes; silver's expectations catch it), so bronze must take it. */
static const char avsc[] =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"smelter.ecommerce\",\"fields\":["
    "{\"name\":\"order_id\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"customer_id\",\"type\":\"string\"},"
    "{\"name\":\"product_id\",\"type\":\"string\"},"
    "{\"name\":\"category\",\"type\":\"string\"},"
    "{\"name\":\"quantity\",\"type\":\"int\"},"
    "{\"name\":\"price\",\"type\":\"double\"},"
    "{\"name\":\"order_ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"status\",\"type\":\"string\"},"
    "{\"name\":\"device\",\"type\":\"string\"},"
    "{\"name\":\"country\",\"type\":\"string\"},"
    "{\"name\":\"coupon\",\"type\":[\"null\",\"string\"],\"default\":null}]}\n";

static int setup(void)
{
    sm_broker_conf bc = {1, PARTITIONS, 1, 0};
    prod_conf c = {0};
    prod_report rep;
    sm_error err;
    const char *env = getenv("SMELTER_TEST_ORDERS");

    n_orders = env && *env ? strtoll(env, NULL, 10) : e2e_sanitized() ? 50000 : 500000;
    dir = sm_test_tmpdir("run-bronze");
    snprintf(truth_path, sizeof truth_path, "%s/truth.ndjson", dir);
    snprintf(avsc_path, sizeof avsc_path, "%s/orders.avsc", dir);
    if (!e2e_write_text(avsc_path, avsc)) {
        return 1;
    }
    if (sm_broker_start(&bc, &broker, &err) != SM_OK ||
        sm_broker_create_topic(broker, "orders", PARTITIONS, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    c.bootstrap = sm_broker_bootstraps(broker);
    c.topic = "orders";
    c.gen.dataset = DG_ORDERS;
    c.gen.seed = 11;
    c.gen.customers = 10000;
    c.gen.products = 2000;
    c.gen.bad_ratio = 0.05;
    c.gen.dup_ratio = 0.01;
    c.gen.late_ratio = 0.01;
    c.gen.late_max_ms = 3600000;
    c.gen.max_ooo_ms = 5000;
    c.gen.start_ms = 1767225600000;
    c.gen.events_per_sec = 20;
    c.count = n_orders;
    c.truth_path = truth_path;
    c.compression = "lz4";
    c.acks = "all";
    c.linger_ms = 5;
    c.connect_timeout_ms = 10000;
    c.flush_timeout_ms = 120000;
    if (prod_run(&c, NULL, &rep, &err) != SM_OK || rep.acked != n_orders) {
        fprintf(stderr, "produce: %s (%" PRId64 " acked)\n", err.msg, rep.acked);
        return 1;
    }
    fprintf(stderr, "\nproduced %" PRId64 " orders in %.1f s\n", rep.acked, rep.elapsed_s);
    return 0;
}

static int teardown(void)
{
    sm_broker_stop(broker);
    if (!getenv("SMELTER_TEST_KEEP")) {
        sm_test_rmtree(dir);
    }
    free(dir);
    return 0;
}

/* Writes <dir>/<name>.yaml for pipeline `name` with its own lake; returns the file's path.
 * `kafka_extra`: more lines of source.kafka ("" for none). */
static void pipeline_file(const char *name, const char *trigger, const char *kafka_extra,
                          char *path, size_t n, char *lake, size_t lake_n)
{
    CU_ASSERT_FATAL(e2e_pipeline_file(dir, name, sm_broker_bootstraps(broker), avsc_path, trigger,
                                      kafka_extra, path, n, lake, lake_n));
}

/* Checks the tables of `lake` (pipeline `name`) against the truth file. */
static void check_against_truth(const char *lake, const char *name)
{
    char bronze_path[4096], dead_path[4096];
    char *bronze, *dead, *sql = NULL;
    json_t *rows, *row;

    snprintf(bronze_path, sizeof bronze_path, "%s/bronze/bronze_orders", lake);
    snprintf(dead_path, sizeof dead_path, "%s/bronze/%s_dead_letter", lake, name);
    bronze = e2e_table_sql(bronze_path, "1", true);
    dead = e2e_table_sql(dead_path, e2e_dead_empty, true);
    CU_ASSERT_FATAL(
        asprintf(
            &sql,
            "CREATE TEMP TABLE truth AS SELECT \"partition\" AS p, \"offset\" AS o, key AS k, id,"
            " class, bytes FROM read_json('%s', format='newline_delimited') WHERE status = "
            "'acked';"
            "CREATE TEMP TABLE b AS SELECT _kafka_partition AS p, _kafka_offset AS o,"
            " decode(_kafka_key) AS k, order_id AS id, _source_system AS src, _batch_id,"
            " _ingestion_timestamp, _kafka_timestamp FROM %s;"
            "CREATE TEMP TABLE d AS SELECT \"partition\" AS p, \"offset\" AS o, decode(key) AS k,"
            " octet_length(value) AS bytes, reason, topic FROM %s;"
            "SELECT (SELECT count(*) FROM truth) AS truth_n,"
            " (SELECT count(*) FROM truth WHERE class <> 'decode') AS truth_good,"
            " (SELECT count(*) FROM b) AS bronze_n,"
            " (SELECT count(*) FROM (SELECT DISTINCT p, o FROM b)) AS bronze_distinct,"
            " (SELECT count(*) FROM d) AS dead_n,"
            " (SELECT count(*) FROM (SELECT DISTINCT p, o FROM d)) AS dead_distinct,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class <> 'decode'"
            "   EXCEPT SELECT p, o, k FROM b)) AS good_missing,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM b"
            "   EXCEPT SELECT p, o, k FROM truth WHERE class <> 'decode')) AS bronze_extra,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class = 'decode'"
            "   EXCEPT SELECT p, o, k FROM d)) AS bad_missing,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM d"
            "   EXCEPT SELECT p, o, k FROM truth WHERE class = 'decode')) AS dead_extra,"
            " (SELECT count(*) FROM b JOIN truth t USING (p, o) WHERE b.id IS DISTINCT FROM t.id)"
            "   AS id_mismatch,"
            " (SELECT count(*) FROM d JOIN truth t USING (p, o) WHERE d.bytes <> t.bytes)"
            "   AS bytes_mismatch,"
            " (SELECT count(*) FROM b WHERE src <> 'orders' OR _kafka_timestamp IS NULL"
            "   OR _ingestion_timestamp IS NULL OR _batch_id < 0) AS bad_meta,"
            " (SELECT count(*) FROM d WHERE reason IS NULL OR reason = '' OR topic <> 'orders')"
            "   AS bad_reason",
            truth_path, bronze, dead) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "truth_n"), n_orders);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_n"), e2e_get_int(row, "truth_good"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_distinct"), e2e_get_int(row, "bronze_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_n"), n_orders - e2e_get_int(row, "truth_good"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_distinct"), e2e_get_int(row, "dead_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_n") + e2e_get_int(row, "dead_n"), n_orders);
    CU_ASSERT_EQUAL(e2e_get_int(row, "good_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "id_mismatch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bytes_mismatch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_meta"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_reason"), 0);
    CU_ASSERT(e2e_get_int(row, "dead_n") > 0); /* the producer's decode faults are there */
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "%s: %s\n", name, dump);
        free(dump);
    }
    json_decref(rows);
    free(sql);
    free(bronze);
    free(dead);
}

/* Rows of two lakes' tables are the same multisets, batch columns aside. */
static void check_same_rows(const char *lake_a, const char *name_a, const char *lake_b,
                            const char *name_b)
{
    char pa[4096], pb[4096], da[4096], db[4096];
    char *ba, *bb, *xa, *xb, *sql = NULL;
    json_t *rows, *row;

    snprintf(pa, sizeof pa, "%s/bronze/bronze_orders", lake_a);
    snprintf(pb, sizeof pb, "%s/bronze/bronze_orders", lake_b);
    snprintf(da, sizeof da, "%s/bronze/%s_dead_letter", lake_a, name_a);
    snprintf(db, sizeof db, "%s/bronze/%s_dead_letter", lake_b, name_b);
    ba = e2e_table_sql(pa, "1", true);
    bb = e2e_table_sql(pb, "1", true);
    xa = e2e_table_sql(da, e2e_dead_empty, true);
    xb = e2e_table_sql(db, e2e_dead_empty, true);
    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "SELECT (SELECT count(*) FROM %s) AS a_n, (SELECT count(*) FROM %s) AS b_n,"
                 " (SELECT count(*) FROM (SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM"
                 " %s EXCEPT ALL SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s))"
                 " AS a_only,"
                 " (SELECT count(*) FROM (SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM"
                 " %s EXCEPT ALL SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s))"
                 " AS b_only,"
                 " (SELECT count(*) FROM (SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM"
                 " %s EXCEPT ALL SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s))"
                 " AS da_only,"
                 " (SELECT count(*) FROM (SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM"
                 " %s EXCEPT ALL SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s))"
                 " AS db_only",
                 ba, bb, ba, bb, bb, ba, xa, xb, xb, xa) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "a_n"), e2e_get_int(row, "b_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "a_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "da_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_only"), 0);
    json_decref(rows);
    free(sql);
    free(ba);
    free(bb);
    free(xa);
    free(xb);
}

static int64_t table_version(const char *lake, const char *table)
{
    char path[4096];
    int64_t v = -1;
    sm_error err;
    snprintf(path, sizeof path, "%s/bronze/%s", lake, table);
    CU_ASSERT_EQUAL(delta_latest_version(path, &v, &err), SM_OK);
    return v;
}

static void test_run_bronze_holds_exactly_the_decodable_messages(void)
{
    char path[1024], lake[1024];
    sm_batch_report tot;
    int64_t t0 = sm_mono_ns();
    int64_t vb, vd;

    pipeline_file("full", "{available_now: true}", "", path, sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    fprintf(stderr, "full run: %" PRId64 " batch(es), %" PRId64 " records in %.1f s\n",
            tot.batch_id, tot.records, (double)(sm_mono_ns() - t0) / 1e9);
    CU_ASSERT_EQUAL(tot.records, n_orders);
    CU_ASSERT_EQUAL(tot.bronze_rows + tot.dead_letters, n_orders);
    CU_ASSERT(tot.batch_id >= 1);
    snprintf(first_lake, sizeof first_lake, "%s", lake);
    check_against_truth(lake, "full");

    /* a second run finds nothing new and commits nothing */
    vb = table_version(lake, "bronze_orders");
    vd = table_version(lake, "full_dead_letter");
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    CU_ASSERT_EQUAL(tot.batch_id, 0);
    CU_ASSERT_EQUAL(tot.records, 0);
    CU_ASSERT_EQUAL(table_version(lake, "bronze_orders"), vb);
    CU_ASSERT_EQUAL(table_version(lake, "full_dead_letter"), vd);
}

static void test_run_bronze_small_batches_give_the_same_rows(void)
{
    char path[1024], lake[1024], trigger[128];
    sm_batch_report tot;
    int64_t per = n_orders / 6 + 1;

    CU_ASSERT_FATAL(first_lake[0] != '\0');
    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             per);
    pipeline_file("small", trigger, "", path, sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    CU_ASSERT(tot.batch_id >= 6);
    CU_ASSERT_EQUAL(tot.records, n_orders);
    /* one Delta version per batch after the create */
    CU_ASSERT_EQUAL(table_version(lake, "bronze_orders"), tot.batch_id);
    check_against_truth(lake, "small");
    check_same_rows(first_lake, "full", lake, "small");
}

/* Runs `smelter run FILE --available-now` with the environment assignments `env` ("" for
 * none); returns the exit status (128 + signal when killed). */
static int run_binary(const char *path, const char *env)
{
    const char *bin = getenv("SMELTER_BIN");
    char cmd[8192];
    int st;
    if (!bin) {
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "%s '%s' run '%s' --available-now --log-format json --log-level warn "
             "2>>'%s/binary.log'",
             env, bin, path, dir);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_run_bronze_crash_at_every_step_then_restart_gives_the_same_rows(void)
{
    static const char *const crashes[] = {
        "after_read:0",
        "after_offsets:0",
        "after_files:bronze_orders:1",
        "after_commit:bronze_orders:1",
        "after_files:crash_dead_letter:2",
        "after_commit:crash_dead_letter:2",
        "after_commits:3",
        "after_offsets:4",
        "after_commit:bronze_orders",
        NULL,
    };
    char path[1024], lake[1024], trigger[128];
    int64_t per = n_orders / 8 + 1;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    CU_ASSERT_FATAL(first_lake[0] != '\0');
    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             per);
    pipeline_file("crash", trigger, "", path, sizeof path, lake, sizeof lake);
    for (int i = 0; crashes[i]; i++) {
        char env[256];
        int st;
        snprintf(env, sizeof env, "SMELTER_CRASH_AT=%s", crashes[i]);
        st = run_binary(path, env);
        CU_ASSERT_EQUAL(st, 137);
        if (st != 137) {
            fprintf(stderr, "SMELTER_CRASH_AT=%s: exit %d\n", crashes[i], st);
        }
    }
    CU_ASSERT_EQUAL(run_binary(path, ""), 0);
    check_against_truth(lake, "crash");
    check_same_rows(first_lake, "full", lake, "crash");
}

/* Tombstones, oversized records and undecodable ones go to the dead-letter table with their
 * reasons (a small SMELTER_ARENA_LIMIT makes max_record_bytes 16 KiB). */
static void test_run_bronze_tombstones_and_oversized_records_are_dead_letters(void)
{
    static const char order[] =
        "{\"order_id\":\"o-1\",\"customer_id\":\"C1\",\"product_id\":\"P1\",\"category\":"
        "\"toys\",\"quantity\":1,\"price\":2.5,\"order_ts\":\"2026-01-01T00:00:00Z\",\"status\":"
        "\"placed\",\"device\":\"mobile\",\"country\":\"DE\",\"coupon\":null";
    char path[1024], lake[1024], errstr[512], *big, *sql = NULL, *bronze, *dead;
    char bp[2048], dp[2048];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;
    sm_error err;
    json_t *rows, *row;
    size_t big_len = 100000;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(sm_broker_create_topic(broker, "edge", 1, &err), SM_OK);
    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "message.max.bytes", "1000000", errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof errstr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
    big = malloc(big_len + 1);
    snprintf(big, big_len + 1, "%s,\"pad\":\"", order);
    memset(big + strlen(big), 'a', big_len - strlen(big) - 2);
    memcpy(big + big_len - 2, "\"}", 3);
    {
        char good[512];
        snprintf(good, sizeof good, "%s}", order);
        struct {
            const char *key, *value;
            size_t len;
        } msgs[] = {
            {"k0", good, strlen(good)}, {"k1", NULL, 0},        {"k2", big, big_len},
            {NULL, good, strlen(good)}, {"k4", "{not json", 9},
        };
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            CU_ASSERT_EQUAL(rd_kafka_producev(
                                rk, RD_KAFKA_V_TOPIC("edge"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_KEY(msgs[i].key, msgs[i].key ? strlen(msgs[i].key) : 0),
                                RD_KAFKA_V_VALUE((void *)msgs[i].value, msgs[i].len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                            RD_KAFKA_RESP_ERR_NO_ERROR);
        }
    }
    CU_ASSERT_EQUAL(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    free(big);

    pipeline_file("edge", "{available_now: true}", "", path, sizeof path, lake, sizeof lake);
    {
        /* read topic edge instead of orders */
        FILE *f = fopen(path, "r");
        char text[8192], *at;
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        at = strstr(text, "[orders]");
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        memcpy(at, "[edge]  ", 8);
        CU_ASSERT_FATAL(e2e_write_text(path, text));
    }
    CU_ASSERT_EQUAL(run_binary(path, "SMELTER_ARENA_LIMIT=65536"), 0);
    snprintf(bp, sizeof bp, "%s/bronze/bronze_orders", lake);
    snprintf(dp, sizeof dp, "%s/bronze/edge_dead_letter", lake);
    bronze = e2e_table_sql(bp, "1", true);
    dead = e2e_table_sql(dp, e2e_dead_empty, true);
    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "SELECT (SELECT count(*) FROM %s) AS bronze_n,"
                 " (SELECT count(*) FROM %s WHERE _kafka_key IS NULL AND _kafka_offset = 3"
                 "   AND order_id = 'o-1' AND quantity = 1) AS null_key_row,"
                 " (SELECT count(*) FROM %s) AS dead_n,"
                 " (SELECT count(*) FROM %s WHERE \"offset\" = 1 AND value IS NULL"
                 "   AND reason = 'null value' AND error_offset = -1) AS tombstone,"
                 " (SELECT count(*) FROM %s WHERE \"offset\" = 2 AND value IS NULL"
                 "   AND reason LIKE 'oversized: a record of 100002 bytes%%') AS oversized,"
                 " (SELECT count(*) FROM %s WHERE \"offset\" = 4 AND decode(value) = '{not json'"
                 "   AND reason LIKE 'syntax: %%' AND decode(key) = 'k4') AS not_json",
                 bronze, bronze, dead, dead, dead, dead) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_n"), 2);
    CU_ASSERT_EQUAL(e2e_get_int(row, "null_key_row"), 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_n"), 3);
    CU_ASSERT_EQUAL(e2e_get_int(row, "tombstone"), 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "oversized"), 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "not_json"), 1);
    json_decref(rows);
    free(sql);
    free(bronze);
    free(dead);
}

/* A small memory bound closes batches because the arenas are full, before any limit: every
 * message handed back starts the next batch, none lost or doubled. */
static void test_run_bronze_full_memory_closes_batches_early_same_rows(void)
{
    char path[1024], lake[1024], ck[2048];
    int batches;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    CU_ASSERT_FATAL(first_lake[0] != '\0');
    pipeline_file("mem", "{available_now: true}", "", path, sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL(run_binary(path, "SMELTER_ARENA_LIMIT=2097152"), 0);
    snprintf(ck, sizeof ck, "%s/_checkpoints/mem/commits", lake);
    batches = checkpoint_entries(ck);
    fprintf(stderr, "mem: %d batches\n", batches);
    CU_ASSERT(batches >= 3);
    check_against_truth(lake, "mem");
    check_same_rows(first_lake, "full", lake, "mem");
}

/* In-process: the stop flag at 1 ends the run after the batch at hand (SM_OK), at 2 abandons
 * (SM_ERR_INTERRUPTED); what was committed stays, and a later run completes the rest. */
static volatile sig_atomic_t stop_flag;

static void stop_after_first(const sm_batch_report *r, void *ctx)
{
    (void)r;
    stop_flag = (sig_atomic_t)(intptr_t)ctx;
}

static int run_with_stop(const char *path, int level, sm_batch_report *tot)
{
    sm_pipeline *p = NULL;
    sm_engine *e = NULL;
    sm_engine_opts o = {0};
    sm_error err;
    int rc;

    stop_flag = 0;
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load(path, NULL, NULL, &p, &err), SM_OK);
    o.available_now = true;
    o.stop = &stop_flag;
    o.on_batch = stop_after_first;
    o.ctx = (void *)(intptr_t)level;
    rc = sm_engine_open(p, &o, &e, &err);
    if (rc == SM_OK) {
        rc = sm_engine_run(e, &err);
        sm_engine_totals(e, tot);
    }
    sm_engine_close(e);
    sm_pipeline_free(p);
    return rc;
}

static void test_run_bronze_stop_flag_finishes_or_abandons(void)
{
    char path[1024], lake[1024], trigger[128];
    sm_batch_report tot;

    CU_ASSERT_FATAL(first_lake[0] != '\0');
    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_orders / 4 + 1);
    pipeline_file("stop", trigger, "", path, sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL(run_with_stop(path, 1, &tot), SM_OK);
    CU_ASSERT_EQUAL(tot.batch_id, 1);
    CU_ASSERT_EQUAL(run_with_stop(path, 2, &tot), SM_ERR_INTERRUPTED);
    CU_ASSERT_EQUAL(tot.batch_id, 1);
    CU_ASSERT_EQUAL(e2e_run_in_process(path, &tot), SM_OK);
    CU_ASSERT_EQUAL(tot.batch_id, 2);
    check_against_truth(lake, "stop");
}

static void test_run_interval_commits_idle_batches_and_stops_on_sigterm(void)
{
    const char *bin = getenv("SMELTER_BIN");
    char path[1024], lake[1024], ck[2048];
    pid_t pid;
    int st = -1;
    int64_t t_kill;

    if (!bin) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    /* from the end of the topic: every batch is idle */
    pipeline_file("idle", "{interval: 1s}", "    starting_offsets: latest\n", path, sizeof path,
                  lake, sizeof lake);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char log[4096];
        snprintf(log, sizeof log, "%s/idle.log", dir);
        if (!freopen(log, "w", stderr)) {
            _exit(99);
        }
        execl(bin, bin, "run", path, "--log-format", "json", (char *)NULL);
        _exit(98);
    }
    sm_sleep_ms(3500);
    t_kill = sm_mono_ns();
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            break;
        }
        sm_sleep_ms(50);
        st = -1;
    }
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        CU_FAIL("smelter run did not stop within 5 s of SIGTERM");
        return;
    }
    CU_ASSERT((sm_mono_ns() - t_kill) / 1000000 < 5000);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(ck, sizeof ck, "%s/_checkpoints/idle/commits", lake);
    CU_ASSERT(checkpoint_entries(ck) >= 2);                   /* idle batches commit too */
    CU_ASSERT_EQUAL(table_version(lake, "bronze_orders"), 0); /* created, no rows */
}

static CU_TestInfo tests[] = {
    {"bronze holds exactly the decodable messages",
     test_run_bronze_holds_exactly_the_decodable_messages},
    {"small batches give the same rows", test_run_bronze_small_batches_give_the_same_rows},
    {"crash at every step then restart gives the same rows",
     test_run_bronze_crash_at_every_step_then_restart_gives_the_same_rows},
    {"full memory closes batches early, same rows",
     test_run_bronze_full_memory_closes_batches_early_same_rows},
    {"stop flag finishes or abandons", test_run_bronze_stop_flag_finishes_or_abandons},
    {"tombstones and oversized records are dead letters",
     test_run_bronze_tombstones_and_oversized_records_are_dead_letters},
    {"interval run commits idle batches and stops on SIGTERM",
     test_run_interval_commits_idle_batches_and_stops_on_sigterm},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("run_bronze", setup, teardown, tests)
