/*
 * The always-on test of issue 5: `smelter run` on a 1 s trigger interval, as a process, while
 * the producer sends at a fixed rate.
 *
 *   1. a backlog of BACKLOG orders is in the topic before the pipeline starts; the pipeline
 *      (max_records_per_trigger below the backlog, so the first batches report lag) catches up;
 *   2. the producer (prod_run on a thread of this process) sends PRODUCED orders at RATE/s with
 *      faults; the tables grow while it sends, and after its last delivery report every record
 *      is in bronze or the dead-letter table within 3 intervals (polled every 50 ms from the
 *      Delta snapshots' numRecords stats, with timestamps);
 *   3. with nothing produced, batches keep committing (checkpoint commits/ grows) and the tables
 *      get no new version;
 *   4. SIGTERM: exit 0 within 5 s, the last batch committed (offsets/ and commits/ end alike);
 *   5. the JSON log has one "batch committed" line per batch, numbered from 0, each with an
 *      integer lag >= 0 — positive while the backlog was read, 0 at the end — and records that
 *      add up; DuckDB finds every truth record (both producer runs) once, in bronze or, when
 *      undecodable, in the dead-letter table.
 *
 * Same sizes in sanitized builds (the rate is low); SMELTER_TEST_KEEP keeps the directory with
 * live.log, the process's log.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "core/clock.h"
#include "e2e_util.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"
#include "storage/delta.h"

#define PARTITIONS  16
#define INTERVAL_MS 1000
#define BACKLOG     6000
#define PER_TRIGGER 2500 /* < BACKLOG: the first batches leave a lag */
#define RATE        2000.0
#define PRODUCED    16000 /* 8 s at RATE */

static sm_broker *broker;
static char *dir;
static char avsc_path[1024], truth0[1024], truth1[1024], path[1024], lake[1024], log_path[1024];
static char bronze_path[2048], dead_path[2048], commits_dir[2048], offsets_dir[2048];
static pid_t pid = -1;
static int64_t total; /* records acked by the producer runs */

static int setup(void)
{
    sm_broker_conf bc = {1, PARTITIONS, 1, 0};
    sm_error err;

    dir = sm_test_tmpdir("run-always-on");
    snprintf(avsc_path, sizeof avsc_path, "%s/orders.avsc", dir);
    snprintf(truth0, sizeof truth0, "%s/truth-backlog.ndjson", dir);
    snprintf(truth1, sizeof truth1, "%s/truth-live.ndjson", dir);
    snprintf(log_path, sizeof log_path, "%s/live.log", dir);
    if (!e2e_write_text(avsc_path, e2e_orders_avsc)) {
        return 1;
    }
    if (sm_broker_start(&bc, &broker, &err) != SM_OK ||
        sm_broker_create_topic(broker, "orders", PARTITIONS, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "\n%s\n", dir);
    return 0;
}

static int teardown(void)
{
    if (pid > 0) {
        e2e_kill(pid);
    }
    sm_broker_stop(broker);
    if (!getenv("SMELTER_TEST_KEEP")) {
        sm_test_rmtree(dir);
    }
    free(dir);
    return 0;
}

static int64_t ms_since(int64_t t0_ns)
{
    return (sm_mono_ns() - t0_ns) / 1000000;
}

/* Rows in bronze + dead letter, from the snapshots' stats. */
static int64_t rows_now(void)
{
    int64_t b = e2e_table_rows(bronze_path), d = e2e_table_rows(dead_path);
    return b < 0 || d < 0 ? -1 : b + d;
}

/* Polls until the tables hold `want` rows or `timeout_ms` passes; returns the ms it took, or -1. */
static int64_t wait_rows(int64_t want, int64_t timeout_ms)
{
    int64_t t0 = sm_mono_ns(), n = -1;
    while (ms_since(t0) <= timeout_ms) {
        n = rows_now();
        if (n >= want) {
            CU_ASSERT_EQUAL(n, want); /* never more */
            return ms_since(t0);
        }
        sm_sleep_ms(50);
    }
    fprintf(stderr, "tables hold %" PRId64 " of %" PRId64 " rows after %" PRId64 " ms\n", n, want,
            timeout_ms);
    return -1;
}

static bool running(void)
{
    int code;
    if (pid > 0 && e2e_wait(pid, 0, &code)) {
        fprintf(stderr, "smelter run ended with exit %d\n", code);
        e2e_print_tail(log_path, 4000);
        pid = -1;
    }
    return pid > 0;
}

/* ---- 1. start with a backlog ------------------------------------------------------------------
 */

static void test_always_on_starts_and_catches_up_with_a_backlog(void)
{
    char *bin = getenv("SMELTER_BIN");
    char trigger[128];
    char *argv[] = {bin, "run", path, "--log-format", "json", "--log-level", "info", NULL};
    prod_conf c;
    prod_report rep;
    sm_error err;
    int64_t took;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    e2e_orders_conf(&c, sm_broker_bootstraps(broker), "orders", BACKLOG, 31, 0, truth0);
    CU_ASSERT_EQUAL_FATAL(prod_run(&c, NULL, &rep, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(rep.acked, BACKLOG);
    total = rep.acked;

    snprintf(trigger, sizeof trigger, "{interval: %ds, max_records_per_trigger: %d}",
             INTERVAL_MS / 1000, PER_TRIGGER);
    CU_ASSERT_FATAL(e2e_pipeline_file(dir, "live", sm_broker_bootstraps(broker), avsc_path, trigger,
                                      "", path, sizeof path, lake, sizeof lake));
    snprintf(bronze_path, sizeof bronze_path, "%s/bronze/bronze_orders", lake);
    snprintf(dead_path, sizeof dead_path, "%s/bronze/live_dead_letter", lake);
    snprintf(commits_dir, sizeof commits_dir, "%s/_checkpoints/live/commits", lake);
    snprintf(offsets_dir, sizeof offsets_dir, "%s/_checkpoints/live/offsets", lake);

    pid = e2e_spawn(argv, NULL, log_path);
    CU_ASSERT_FATAL(pid > 0);
    took = wait_rows(total, 30000);
    fprintf(stderr, "backlog of %" PRId64 " in the tables %" PRId64 " ms after the start\n", total,
            took);
    CU_ASSERT_FATAL(took >= 0);
    CU_ASSERT_FATAL(running());
}

/* ---- 2. steady production ---------------------------------------------------------------------
 */

typedef struct produce_job {
    prod_conf conf;
    prod_report rep;
    sm_error err;
    int rc;
    _Atomic int done;
} produce_job;

static void *produce_main(void *arg)
{
    produce_job *j = arg;
    j->rc = prod_run(&j->conf, NULL, &j->rep, &j->err);
    j->done = 1;
    return NULL;
}

static void test_always_on_every_record_is_in_within_three_intervals(void)
{
    produce_job job;
    pthread_t th;
    int64_t t0, took, during = -1, samples = 0, grew = 0, prev = total;

    CU_ASSERT_FATAL(running());
    memset(&job, 0, sizeof job);
    e2e_orders_conf(&job.conf, sm_broker_bootstraps(broker), "orders", PRODUCED, 32, RATE, truth1);
    t0 = sm_mono_ns();
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, produce_main, &job), 0);
    /* the tables grow while the producer sends */
    while (!job.done) {
        int64_t n = rows_now();
        samples++;
        grew += n > prev;
        prev = n > prev ? n : prev;
        during = n;
        sm_sleep_ms(250);
    }
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL_FATAL(job.rc, SM_OK);
    CU_ASSERT_EQUAL_FATAL(job.rep.acked, PRODUCED);
    total += job.rep.acked;
    fprintf(stderr,
            "produced %" PRId64 " in %.1f s (%.0f/s); tables grew in %" PRId64 " of %" PRId64
            " samples while producing, %" PRId64 " rows at the last\n",
            job.rep.acked, job.rep.elapsed_s, job.rep.msgs_per_s, grew, samples, during);
    CU_ASSERT(grew >= 3);
    CU_ASSERT(during > BACKLOG);

    took = wait_rows(total, 10 * INTERVAL_MS);
    fprintf(stderr,
            "all %" PRId64 " records in the tables %" PRId64 " ms after the last delivery (%.1f "
            "intervals); %" PRId64 " ms since the producer started\n",
            total, took, (double)took / INTERVAL_MS, ms_since(t0));
    CU_ASSERT(took >= 0);
    CU_ASSERT(took <= 3 * INTERVAL_MS);
    CU_ASSERT(running());
}

/* ---- 3. idle batches ----------------------------------------------------------------------------
 */

static void test_always_on_idle_batches_keep_committing(void)
{
    int64_t c0, c1, v0 = -1, v1 = -1, d0 = -1, d1 = -1;
    sm_error err;

    CU_ASSERT_FATAL(running());
    c0 = e2e_latest_entry(commits_dir, NULL);
    CU_ASSERT_EQUAL(delta_latest_version(bronze_path, &v0, &err), SM_OK);
    CU_ASSERT_EQUAL(delta_latest_version(dead_path, &d0, &err), SM_OK);
    sm_sleep_ms(3 * INTERVAL_MS + 200);
    c1 = e2e_latest_entry(commits_dir, NULL);
    CU_ASSERT_EQUAL(delta_latest_version(bronze_path, &v1, &err), SM_OK);
    CU_ASSERT_EQUAL(delta_latest_version(dead_path, &d1, &err), SM_OK);
    fprintf(stderr, "idle for %d ms: commits %" PRId64 " -> %" PRId64 "\n", 3 * INTERVAL_MS + 200,
            c0, c1);
    CU_ASSERT(c1 - c0 >= 2);
    CU_ASSERT_EQUAL(v1, v0); /* no rows, no table commit */
    CU_ASSERT_EQUAL(d1, d0);
    CU_ASSERT_EQUAL(rows_now(), total);
    CU_ASSERT(running());
}

/* ---- 4. SIGTERM ---------------------------------------------------------------------------------
 */

static void test_always_on_sigterm_exits_0_within_5_s(void)
{
    int64_t t0, took;
    int code = -1;
    bool ended;

    CU_ASSERT_FATAL(running());
    t0 = sm_mono_ns();
    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    ended = e2e_wait(pid, 5000, &code);
    took = ms_since(t0);
    if (!ended) {
        code = e2e_kill(pid);
        e2e_print_tail(log_path, 4000);
    }
    pid = -1;
    fprintf(stderr, "SIGTERM: exit %d after %" PRId64 " ms\n", code, took);
    CU_ASSERT(ended);
    CU_ASSERT_EQUAL(code, 0);
    CU_ASSERT(took <= 5000);
    /* the batch at hand was committed, not left to a re-run */
    CU_ASSERT_EQUAL(e2e_latest_entry(offsets_dir, NULL), e2e_latest_entry(commits_dir, NULL));
}

/* ---- 5. the log and the rows --------------------------------------------------------------------
 */

static void test_always_on_log_reports_every_batch_with_its_lag(void)
{
    FILE *f = fopen(log_path, "r");
    char line[16384];
    int64_t batches = 0, records = 0, last_lag = -1, max_lag = 0, bad = 0;
    bool summary = false;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *msg = json_string_value(json_object_get(o, "msg"));
        if (!o) {
            continue; /* not a JSON line */
        }
        if (msg && strcmp(msg, "batch committed") == 0) {
            json_t *lag = json_object_get(o, "lag"), *b = json_object_get(o, "batch");
            json_t *n = json_object_get(o, "records");
            if (!json_is_integer(lag) || json_integer_value(lag) < 0 || !json_is_integer(b) ||
                json_integer_value(b) != batches || !json_is_integer(n)) {
                fprintf(stderr, "unexpected batch line: %s", line);
                bad++;
            } else {
                last_lag = json_integer_value(lag);
                max_lag = last_lag > max_lag ? last_lag : max_lag;
                records += json_integer_value(n);
            }
            batches++;
        } else if (msg && strcmp(msg, "stopped by a signal") == 0) {
            summary = true;
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "records")), total);
        } else if (json_is_string(json_object_get(o, "level")) &&
                   strcmp(json_string_value(json_object_get(o, "level")), "error") == 0) {
            fprintf(stderr, "error logged: %s", line);
            bad++;
        }
        json_decref(o);
    }
    fclose(f);
    fprintf(stderr,
            "%" PRId64 " batch lines, %" PRId64 " records, largest lag %" PRId64
            ", last lag %" PRId64 "\n",
            batches, records, max_lag, last_lag);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(batches, e2e_latest_entry(commits_dir, NULL) + 1);
    CU_ASSERT_EQUAL(records, total);
    CU_ASSERT(max_lag >= BACKLOG - PER_TRIGGER); /* the backlog showed */
    CU_ASSERT_EQUAL(last_lag, 0);
    CU_ASSERT(summary);
}

static void test_always_on_tables_hold_every_record_once(void)
{
    char *bronze = e2e_table_sql(bronze_path, "1", false);
    char *dead = e2e_table_sql(dead_path, e2e_dead_empty, false);
    char *sql = NULL;
    json_t *rows, *row;

    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "CREATE TEMP TABLE truth AS SELECT \"partition\" AS p, \"offset\" AS o, key AS k,"
                 " class FROM read_json(['%s', '%s'], format='newline_delimited')"
                 " WHERE status = 'acked';"
                 "CREATE TEMP TABLE b AS SELECT _kafka_partition AS p, _kafka_offset AS o,"
                 " decode(_kafka_key) AS k FROM %s;"
                 "CREATE TEMP TABLE d AS SELECT \"partition\" AS p, \"offset\" AS o,"
                 " decode(key) AS k FROM %s;"
                 "SELECT (SELECT count(*) FROM truth) AS truth_n,"
                 " (SELECT count(*) FROM truth WHERE class <> 'decode') AS truth_good,"
                 " (SELECT count(*) FROM b) AS b_n, (SELECT count(*) FROM d) AS d_n,"
                 " (SELECT count(*) - count(DISTINCT (p, o)) FROM b) AS b_dups,"
                 " (SELECT count(*) - count(DISTINCT (p, o)) FROM d) AS d_dups,"
                 " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class <> 'decode'"
                 "   EXCEPT SELECT p, o, k FROM b)) AS good_missing,"
                 " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class = 'decode'"
                 "   EXCEPT SELECT p, o, k FROM d)) AS bad_missing",
                 truth0, truth1, bronze, dead) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "tables: %s\n", dump);
        free(dump);
    }
    CU_ASSERT_EQUAL(e2e_get_int(row, "truth_n"), total);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_n"), e2e_get_int(row, "truth_good"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_n") + e2e_get_int(row, "d_n"), total);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "d_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "good_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_missing"), 0);
    json_decref(rows);
    free(sql);
    free(bronze);
    free(dead);
}

static CU_TestInfo tests[] = {
    {"starts and catches up with a backlog", test_always_on_starts_and_catches_up_with_a_backlog},
    {"every record is in within 3 intervals of the producer's end",
     test_always_on_every_record_is_in_within_three_intervals},
    {"idle batches keep committing", test_always_on_idle_batches_keep_committing},
    {"SIGTERM exits 0 within 5 s", test_always_on_sigterm_exits_0_within_5_s},
    {"the log reports every batch with its lag",
     test_always_on_log_reports_every_batch_with_its_lag},
    {"the tables hold every record once", test_always_on_tables_hold_every_record_once},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("run_always_on", setup, teardown, tests)
