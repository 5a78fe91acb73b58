/*
 * The crash test of issues 5 and 7: `smelter run` killed again and again ends with the same tables
 * as a run that was never killed — bronze, dead-letter, a silver table with expectations and
 * dedup, its quarantine, and the event log — and no duplicate slips through a restart.
 *
 * The pipeline: bronze_orders; silver_orders from it with a drop rule (order_id present), a warn
 * rule (price * quantity <= WARN_TOTAL), dedup on order_id, quarantine silver_orders_quarantine;
 * a watermark on order_ts with a delay (720 h) longer than the whole event-time span of the
 * data (20 orders per second: 4 h at 300k), so nothing is late and no key is evicted, whatever
 * the cuts (with a realistic delay, which rows are late depends on how far each partition was
 * read when a batch closed, and the batches of A and B are cut differently); and the
 * dead-letter table. The producer re-sends DUP_RATIO of good records (exact copies, same key,
 * so same partition: the copy kept is the lowest offset, whatever the batches).
 *
 *   1. reference  the embedded broker in-process, N orders with faults and a ground-truth file;
 *                 `smelter run ref.yaml --available-now` into lake A, in many small batches
 *                 (max_records_per_trigger = N / BATCHES). Its wall time T and that of a run with
 *                 nothing to do (S: start, plan, exit) calibrate the kills.
 *   2. SIGKILL    lake B (pipeline "crash", same topic, same limits, checkpoint retention of
 *                 RETENTION_B batches so that purging runs too): start `smelter run`, SIGKILL
 *                 it after a delay drawn uniformly (seeded) from [0, W) and restart, until
 *                 RANDOM_KILLS runs were killed while alive. W starts at S + 2w, w = (T - S) /
 *                 batches of the reference: a start plus two batches. (Uniform over all of T
 *                 would finish lake B in two or three kills; this window spreads the kills over
 *                 the start, the reads, the files and the commits of every batch while work is
 *                 left.) A restart costs more than a reference batch — it re-reads the batch in
 *                 flight and its consumer starts cold, sometimes 0.5-1.5 s — so W grows by half
 *                 after three kills in a row that made no progress (up to S + 2w + 3 s), and
 *                 shrinks when one kill let two batches through; a run that has committed
 *                 MAX_PER_KILL batches is killed at once. Once no more than RESERVE batches are
 *                 left, kills stay within [0, S) so that phase 3 has fresh batches to crash in.
 *   3. injected   SMELTER_CRASH_AT at each protocol step (after_read, after_offsets,
 *                 after_state, after_files:<table>, after_commit:<table> for the four tables in
 *                 the engine's order — bronze and silver only in the second batch —,
 *                 after_event_log, after_commits) of two fresh batches,
 *                 checking after each exit what the step must have left behind (offsets/N,
 *                 each table's txn, state/N/dedup-silver_orders, the event log's txn,
 *                 commits/N); then two steps without a batch number.
 *   4. final      a run to completion (exit 0). DuckDB over the active files: B's bronze and
 *                 dead-letter rows equal A's (EXCEPT ALL both ways and counts, on every column
 *                 but _batch_id / _ingestion_timestamp / _ingestion_date, which depend on where
 *                 batches were cut); no (partition, offset) twice; every truth record in bronze
 *                 or, when undecodable, in the dead-letter table; a batch's rows share one
 *                 _ingestion_timestamp whose UTC date is their partition. Each table's Delta log
 *                 has contiguous versions, one txn(query id) per commit after the create with
 *                 strictly increasing versions (each batch committed at most once), each file's
 *                 rows carry the txn version of the commit that added it as _batch_id, and every
 *                 checkpoint commits/N names table versions that hold batch N.
 *                 Silver and quarantine: B's equal A's likewise (but for _batch_id,
 *                 _ingestion_timestamp, _ingestion_date, _processing_timestamp); no order_id
 *                 twice in silver; silver rows carry their commit's txn as _batch_id and
 *                 _processing_timestamp = _ingestion_timestamp (the batch timestamp of
 *                 offsets/N, kept by re-runs); quarantine rows fail the drop rule and list it in
 *                 _validation_errors. Event log: one row per (batch, table) for every committed
 *                 batch, all of query B; its num_output_rows add up to each table's rows, and
 *                 silver + quarantine + dropped duplicates + dropped late = bronze, in both
 *                 lakes, with the same duplicate and warn counts as A's.
 *
 * Scale: N = 300k orders over 32 partitions (the mock broker keeps ~5 MiB per partition; 500k
 * before silver, which made each batch and restart dearer: the dedup state, all keys here, is
 * saved whole per batch and loaded per start), 100k
 * in sanitized builds (ASan, detected with __SANITIZE_ADDRESS__ / __has_feature, or
 * SMELTER_SANITIZED set). SMELTER_TEST_ORDERS=N overrides both; SMELTER_CRASH_SEED=S the seed
 * of the kill delays (printed); SMELTER_TEST_KEEP keeps the directory (printed) with crash.log,
 * the log of every run of lake B.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "e2e_util.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"
#include "storage/delta.h"

#define PARTITIONS   32
#define BATCHES      20 /* the reference run's batches: max_records_per_trigger = N / BATCHES */
#define RANDOM_KILLS 40
#define RESERVE      6              /* batches left for the injected crashes */
#define RETENTION_B  3              /* checkpoint.retention_batches of lake B */
#define MAX_PER_KILL 2              /* a run is killed at once when it committed this many */
#define RUN_TIMEOUT  (180 * 1000LL) /* ms; a run that takes longer has hung */
#define SIGKILL_CODE (128 + SIGKILL)
#define CRASH_CODE   137 /* SMELTER_CRASH_AT's _exit status */
#define DUP_RATIO    0.03
#define WARN_TOTAL   "500" /* the warn rule: price * quantity <= WARN_TOTAL */
#define QUARANTINE   "silver_orders_quarantine"
#define N_TABLES     4

/* Lake B's tables in the order the engine writes them in a batch. */
static const char *const tables_b[N_TABLES] = {"bronze_orders", "silver_orders", QUARANTINE,
                                               "crash_dead_letter"};

static sm_broker *broker;
static char *dir;
static char truth_path[1024], avsc_path[1024];
static int64_t n_orders;
static char path_a[1024], lake_a[1024], path_b[1024], lake_b[1024], log_b[1024];
static int64_t ref_ms, idle_ms, ref_batches; /* the reference run's calibration */

static int setup(void)
{
    sm_broker_conf bc = {1, PARTITIONS, 1, 0};
    prod_conf c;
    prod_report rep;
    sm_error err;
    const char *env = getenv("SMELTER_TEST_ORDERS");

    n_orders = env && *env ? strtoll(env, NULL, 10) : e2e_sanitized() ? 100000 : 300000;
    dir = sm_test_tmpdir("run-crash");
    snprintf(truth_path, sizeof truth_path, "%s/truth.ndjson", dir);
    snprintf(avsc_path, sizeof avsc_path, "%s/orders.avsc", dir);
    snprintf(log_b, sizeof log_b, "%s/crash.log", dir);
    if (!e2e_write_text(avsc_path, e2e_orders_avsc)) {
        return 1;
    }
    if (sm_broker_start(&bc, &broker, &err) != SM_OK ||
        sm_broker_create_topic(broker, "orders", PARTITIONS, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    e2e_orders_conf(&c, sm_broker_bootstraps(broker), "orders", n_orders, 23, 0, truth_path);
    c.gen.dup_ratio = DUP_RATIO;
    if (prod_run(&c, NULL, &rep, &err) != SM_OK || rep.acked != n_orders) {
        fprintf(stderr, "produce: %s (%" PRId64 " acked)\n", err.msg, rep.acked);
        return 1;
    }
    fprintf(stderr, "\nproduced %" PRId64 " orders in %.1f s (%s)\n", rep.acked, rep.elapsed_s,
            dir);
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

static int64_t ms_since(int64_t t0_ns)
{
    return (sm_mono_ns() - t0_ns) / 1000000;
}

/* splitmix64: the seeded source of kill delays */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Appends a marker line to the log of lake B's runs. */
static void log_note(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_note(const char *log, const char *fmt, ...)
{
    FILE *f = fopen(log, "a");
    va_list ap;
    if (f) {
        va_start(ap, fmt);
        fputs("==== ", f);
        vfprintf(f, fmt, ap);
        fputs(" ====\n", f);
        va_end(ap);
        fclose(f);
    }
}

/* Starts `smelter run PATH --available-now` with `env` ("NAME=value" or NULL). */
static pid_t start_run(const char *path, const char *env, const char *log)
{
    char *argv[] = {getenv("SMELTER_BIN"), "run",          (char *)path,
                    "--available-now",     "--log-format", "json",
                    "--log-level",         "info",         NULL};
    pid_t pid = e2e_spawn(argv, env, log);
    CU_ASSERT_FATAL(pid > 0);
    return pid;
}

/* Runs to the end; returns the exit code (128 + signal), or -1 after killing a hung run. */
static int run_once(const char *path, const char *env, const char *log)
{
    pid_t pid = start_run(path, env, log);
    int code;
    if (!e2e_wait(pid, RUN_TIMEOUT, &code)) {
        fprintf(stderr, "smelter run %s (%s) still running after %lld s: killed\n", path,
                env ? env : "", RUN_TIMEOUT / 1000);
        e2e_kill(pid);
        e2e_print_tail(log, 4000);
        return -1;
    }
    return code;
}

static void ckpt_dirs(const char *lake, const char *name, char *offsets, char *commits, size_t n)
{
    snprintf(offsets, n, "%s/_checkpoints/%s/offsets", lake, name);
    snprintf(commits, n, "%s/_checkpoints/%s/commits", lake, name);
}

/* The batch the next run starts with, and whether it is a re-run (offsets without commits). */
static int64_t next_batch(const char *lake, const char *name, bool *rerun)
{
    char o[2048], c[2048];
    int64_t lo, lc;
    ckpt_dirs(lake, name, o, c, sizeof o);
    lo = e2e_latest_entry(o, NULL);
    lc = e2e_latest_entry(c, NULL);
    *rerun = lo > lc;
    return lo > lc ? lo : lc + 1;
}

static bool entry_exists(const char *lake, const char *name, const char *log, int64_t batch)
{
    char p[2048];
    struct stat sb;
    snprintf(p, sizeof p, "%s/_checkpoints/%s/%s/%" PRId64, lake, name, log, batch);
    return stat(p, &sb) == 0;
}

static const char *query_id(const char *lake, const char *name, char *out, size_t n)
{
    char p[2048];
    sm_ckpt *ck = NULL;
    sm_error err;
    snprintf(p, sizeof p, "%s/_checkpoints/%s", lake, name);
    CU_ASSERT_EQUAL_FATAL(sm_ckpt_open(p, false, &ck, &err), SM_OK);
    snprintf(out, n, "%s", sm_ckpt_query_id(ck));
    sm_ckpt_close(ck);
    return out;
}

/* The directory of a table of either lake: silver_* under silver/, "event_log" the event log. */
static const char *table_dir(const char *lake, const char *table, char *out, size_t n)
{
    if (strcmp(table, "event_log") == 0) {
        snprintf(out, n, "%s/_system/event_log", lake);
    } else {
        snprintf(out, n, "%s/%s/%s", lake, strncmp(table, "silver_", 7) == 0 ? "silver" : "bronze",
                 table);
    }
    return out;
}

/* The txn version of `qid` in the table's latest snapshot; -1 when none or no table. */
static int64_t table_txn(const char *lake, const char *table, const char *qid)
{
    char p[2048];
    delta_snapshot *s = NULL;
    sm_error err;
    int64_t v = -1, txn;
    table_dir(lake, table, p, sizeof p);
    if (delta_latest_version(p, &v, &err) != SM_OK || v < 0) {
        return -1;
    }
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(p, NULL, &s, &err), SM_OK);
    txn = delta_snapshot_txn_version(s, qid);
    delta_snapshot_free(s);
    return txn;
}

/* Appends the silver table, its quarantine and the watermark to a pipeline file of
 * e2e_pipeline_file (whose last section is tables:). */
static bool add_silver(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        return false;
    }
    fputs("  silver_orders:\n"
          "    from: bronze_orders\n"
          "    expectations:\n"
          "      valid_order_id: {expr: \"order_id IS NOT NULL AND length(trim(order_id)) > 0\","
          " on_violation: drop}\n"
          "      sane_total: {expr: \"price * quantity <= " WARN_TOTAL "\", on_violation: warn}\n"
          "    dedup: {keys: [order_id]}\n"
          "    quarantine: " QUARANTINE "\n"
          "watermark: {column: order_ts, delay: 720h}\n",
          f);
    return fclose(f) == 0;
}

/* ---- 1. the reference run ------------------------------------------------------------------- */

static void test_crash_reference_run_uncrashed(void)
{
    char trigger[160], o[2048], c[2048], log[1024];
    int64_t per = n_orders / BATCHES + 1, t0, n;
    int code;

    CU_ASSERT_PTR_NOT_NULL_FATAL(getenv("SMELTER_BIN"));
    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             per);
    CU_ASSERT_FATAL(e2e_pipeline_file(dir, "ref", sm_broker_bootstraps(broker), avsc_path, trigger,
                                      "", path_a, sizeof path_a, lake_a, sizeof lake_a));
    CU_ASSERT_FATAL(e2e_pipeline_file(dir, "crash", sm_broker_bootstraps(broker), avsc_path,
                                      trigger, "", path_b, sizeof path_b, lake_b, sizeof lake_b));
    CU_ASSERT_FATAL(add_silver(path_a));
    CU_ASSERT_FATAL(add_silver(path_b));
    {
        /* B purges its checkpoint as it goes, so kills land in retention too */
        FILE *f = fopen(path_b, "a");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fprintf(f, "checkpoint:\n  retention_batches: %d\n", RETENTION_B);
        CU_ASSERT_FATAL(fclose(f) == 0);
    }
    snprintf(log, sizeof log, "%s/ref.log", dir);

    t0 = sm_mono_ns();
    code = run_once(path_a, NULL, log);
    ref_ms = ms_since(t0);
    if (code != 0) {
        e2e_print_tail(log, 4000);
    }
    CU_ASSERT_EQUAL_FATAL(code, 0);
    ckpt_dirs(lake_a, "ref", o, c, sizeof o);
    e2e_latest_entry(c, &ref_batches);
    CU_ASSERT_FATAL(ref_batches >= BATCHES);

    /* a run with nothing to do: the fixed cost of a start */
    t0 = sm_mono_ns();
    code = run_once(path_a, NULL, log);
    idle_ms = ms_since(t0);
    CU_ASSERT_EQUAL_FATAL(code, 0);
    e2e_latest_entry(c, &n);
    CU_ASSERT_EQUAL(n, ref_batches); /* nothing new, no batch */
    fprintf(stderr,
            "reference: %" PRId64 " orders in %" PRId64 " batches, %" PRId64
            " ms; a run with nothing to do %" PRId64 " ms\n",
            n_orders, ref_batches, ref_ms, idle_ms);
}

/* ---- 2. SIGKILL at random moments ------------------------------------------------------------ */

/* Waits up to `delay_ms` for a run of lake B; false when it is still running then — or
 * earlier, as soon as commits/<cap_batch - 1> exists (*capped counts those). True when it
 * ended by itself: *code as e2e_wait. */
static bool wait_or_cap(pid_t pid, int64_t delay_ms, int64_t cap_batch, int *code, int *capped)
{
    char o[2048], c[2048];
    int64_t t0 = sm_mono_ns();
    ckpt_dirs(lake_b, "crash", o, c, sizeof o);
    for (;;) {
        int64_t left = delay_ms - ms_since(t0);
        if (e2e_wait(pid, left < 5 ? (left < 0 ? 0 : left) : 5, code)) {
            return true;
        }
        if (ms_since(t0) >= delay_ms) {
            return false;
        }
        if (e2e_latest_entry(c, NULL) >= cap_batch - 1) {
            (*capped)++;
            return false;
        }
    }
}

/* Where a kill left lake B, from what is on disk: 0 no batch in flight (killed while starting,
 * reading, or between batches), 1 + k offsets/N written and the first k of tables_b have N,
 * N_TABLES + 2 the event log has N too but commits/N is missing. */
#define KILL_STATES (N_TABLES + 3)
static int kill_state(void)
{
    char p[2048];
    sm_ckpt *ck = NULL;
    sm_error err;
    bool rerun;
    int64_t b = next_batch(lake_b, "crash", &rerun);
    int state = 0;

    snprintf(p, sizeof p, "%s/_checkpoints/crash", lake_b);
    if (rerun && sm_ckpt_open(p, false, &ck, &err) == SM_OK) {
        const char *qid = sm_ckpt_query_id(ck);
        state = 1;
        while (state <= N_TABLES && table_txn(lake_b, tables_b[state - 1], qid) >= b) {
            state++;
        }
        if (state == N_TABLES + 1 && table_txn(lake_b, "event_log", qid) >= b) {
            state++;
        }
        sm_ckpt_close(ck);
    }
    return state;
}

static void test_crash_sigkill_at_random_moments_then_restart(void)
{
    const char *env_seed = getenv("SMELTER_CRASH_SEED");
    uint64_t seed = env_seed && *env_seed ? strtoull(env_seed, NULL, 10) : 20260105;
    uint64_t rng = seed;
    int64_t w, window, w_min, w_max, w_cap, t0 = sm_mono_ns(), last_key = -1, last_batch = 0;
    int kills = 0, runs = 0, finished = 0, stuck = 0, capped = 0, states[KILL_STATES] = {0};
    bool rerun;

    CU_ASSERT_FATAL(ref_batches > 0);
    w = (ref_ms - idle_ms) / ref_batches;
    w = w < 10 ? 10 : w;
    window = w_min = w_max = idle_ms + 2 * w;
    w_cap = window + 3000;
    fprintf(stderr, "SIGKILL after U[0, %" PRId64 ") ms (seed %" PRIu64 ")\n", window, seed);
    while (kills < RANDOM_KILLS && runs < RANDOM_KILLS * 10) {
        int64_t left = ref_batches - next_batch(lake_b, "crash", &rerun);
        int64_t span = left > RESERVE ? window : idle_ms;
        int64_t delay = (int64_t)(rng_next(&rng) % (uint64_t)(span > 1 ? span : 1));
        pid_t pid;
        int code;

        log_note(log_b, "run %d: SIGKILL after %" PRId64 " ms", runs, delay);
        pid = start_run(path_b, NULL, log_b);
        if (wait_or_cap(pid, delay, next_batch(lake_b, "crash", &rerun) + MAX_PER_KILL, &code,
                        &capped)) {
            /* it ended before the kill */
            if (code == 0) {
                finished++;
            } else {
                fprintf(stderr, "run %d ended by itself with exit %d\n", runs, code);
                e2e_print_tail(log_b, 4000);
                CU_FAIL("a run of lake B failed before it was killed");
            }
        } else {
            int state;
            int64_t b;
            code = e2e_kill(pid);
            CU_ASSERT_EQUAL(code, SIGKILL_CODE);
            kills += code == SIGKILL_CODE;
            state = kill_state();
            states[state]++;
            /* A restart costs more than a batch of the reference run (it re-reads the batch
             * in flight, its consumer starts cold): widen the window while the kills make no
             * progress, narrow it when one kill let several batches through. */
            b = next_batch(lake_b, "crash", &rerun);
            if (b * KILL_STATES + state <= last_key) {
                if (++stuck >= 3) {
                    window = window * 3 / 2 < w_cap ? window * 3 / 2 : w_cap;
                    stuck = 0;
                }
            } else {
                if (b - last_batch >= 2 && window * 2 / 3 >= idle_ms + w) {
                    window = window * 2 / 3;
                }
                stuck = 0;
            }
            last_key = b * KILL_STATES + state;
            last_batch = b;
            w_min = window < w_min ? window : w_min;
            w_max = window > w_max ? window : w_max;
        }
        runs++;
    }
    fprintf(stderr,
            "%d runs: %d killed with SIGKILL (%d with no batch in flight, %d after offsets/N, "
            "%d/%d/%d after the commit of bronze/silver/quarantine, %d after the dead-letter's, "
            "%d after the event log's; %d early, after %d batches), %d "
            "finished by themselves; window %" PRId64 "..%" PRId64 " ms; next batch %" PRId64
            "%s of about %" PRId64 "; %" PRId64 " ms\n",
            runs, kills, states[0], states[1], states[2], states[3], states[4], states[5],
            states[6], capped, MAX_PER_KILL, finished, w_min, w_max,
            next_batch(lake_b, "crash", &rerun), rerun ? " (a re-run)" : "", ref_batches,
            ms_since(t0));
    CU_ASSERT(kills >= RANDOM_KILLS);
}

/* ---- 3. at each protocol step ---------------------------------------------------------------- */

/* Runs with SMELTER_CRASH_AT=spec, which must end the run (exit 137). */
static void crash_at(const char *spec)
{
    char env[512];
    int code;
    snprintf(env, sizeof env, "SMELTER_CRASH_AT=%s", spec);
    log_note(log_b, "%s", env);
    code = run_once(path_b, env, log_b);
    if (code != CRASH_CODE) {
        fprintf(stderr, "%s: exit %d, expected %d\n", env, code, CRASH_CODE);
        e2e_print_tail(log_b, 4000);
    }
    CU_ASSERT_EQUAL_FATAL(code, CRASH_CODE);
}

static void test_crash_at_each_protocol_step_then_restart(void)
{
    char spec[256], qid[128];
    bool rerun;
    int64_t b = next_batch(lake_b, "crash", &rerun), t0 = sm_mono_ns();

    CU_ASSERT_FATAL(ref_batches > 0);
    query_id(lake_b, "crash", qid, sizeof qid);
    if (rerun) {
        /* finish the batch the last kill left behind, crashing right after its commit */
        snprintf(spec, sizeof spec, "after_commits:%" PRId64, b);
        crash_at(spec);
        CU_ASSERT_FATAL(entry_exists(lake_b, "crash", "commits", b));
        b++;
    }
    /* two fresh batches need to be left, and one more for the steps without a number */
    if (b + 3 > ref_batches) {
        fprintf(stderr, "only %" PRId64 " of about %" PRId64 " batches left\n", ref_batches - b,
                ref_batches);
    }
    CU_ASSERT_FATAL(b + 3 <= ref_batches);

    for (int round = 0; round < 2; round++, b++) {
        int64_t before[N_TABLES], evl0 = table_txn(lake_b, "event_log", qid);
        char state_path[2048];
        struct stat sb;

        snprintf(state_path, sizeof state_path,
                 "%s/_checkpoints/crash/state/%" PRId64 "/dedup-silver_orders", lake_b, b);
        for (int t = 0; t < N_TABLES; t++) {
            before[t] = table_txn(lake_b, tables_b[t], qid);
        }
        CU_ASSERT(!entry_exists(lake_b, "crash", "offsets", b));
        snprintf(spec, sizeof spec, "after_read:%" PRId64, b);
        crash_at(spec); /* read, nothing recorded */
        CU_ASSERT(!entry_exists(lake_b, "crash", "offsets", b));

        snprintf(spec, sizeof spec, "after_offsets:%" PRId64, b);
        crash_at(spec); /* offsets/b written: from here on b is re-run */
        CU_ASSERT(entry_exists(lake_b, "crash", "offsets", b));
        CU_ASSERT(!entry_exists(lake_b, "crash", "commits", b));
        CU_ASSERT_EQUAL(table_txn(lake_b, "bronze_orders", qid), before[0]);

        snprintf(spec, sizeof spec, "after_state:%" PRId64, b);
        crash_at(spec); /* the dedup state of b saved (with the silver files); nothing committed */
        CU_ASSERT(stat(state_path, &sb) == 0);
        for (int t = 0; t < N_TABLES; t++) {
            CU_ASSERT_EQUAL(table_txn(lake_b, tables_b[t], qid), before[t]);
        }
        CU_ASSERT_EQUAL(table_txn(lake_b, "event_log", qid), evl0);
        CU_ASSERT(!entry_exists(lake_b, "crash", "commits", b));

        /* each table in turn: files written but not committed are not part of it; after its
         * commit it has b and the next one does not yet (earlier ones are skipped on re-run) */
        for (int t = 0; t < (round == 0 ? N_TABLES : 2); t++) { /* the second: bronze, silver */
            snprintf(spec, sizeof spec, "after_files:%s:%" PRId64, tables_b[t], b);
            crash_at(spec);
            for (int u = 0; u < N_TABLES; u++) {
                CU_ASSERT_EQUAL(table_txn(lake_b, tables_b[u], qid), u < t ? b : before[u]);
            }
            snprintf(spec, sizeof spec, "after_commit:%s:%" PRId64, tables_b[t], b);
            crash_at(spec);
            for (int u = 0; u < N_TABLES; u++) {
                CU_ASSERT_EQUAL(table_txn(lake_b, tables_b[u], qid), u <= t ? b : before[u]);
            }
            CU_ASSERT(!entry_exists(lake_b, "crash", "commits", b));
        }

        snprintf(spec, sizeof spec, "after_event_log:%" PRId64, b);
        crash_at(spec); /* the re-run saves the state again and finds b in the event log */
        CU_ASSERT(stat(state_path, &sb) == 0);
        CU_ASSERT_EQUAL(table_txn(lake_b, "event_log", qid), b);
        CU_ASSERT(!entry_exists(lake_b, "crash", "commits", b));

        snprintf(spec, sizeof spec, "after_commits:%" PRId64, b);
        crash_at(spec);
        CU_ASSERT(entry_exists(lake_b, "crash", "commits", b));
        for (int u = 0; u < N_TABLES; u++) {
            CU_ASSERT_EQUAL(table_txn(lake_b, tables_b[u], qid), b);
        }
        CU_ASSERT_EQUAL(table_txn(lake_b, "event_log", qid), b);
    }
    /* without a batch number: the first batch that gets there */
    crash_at("after_offsets");
    CU_ASSERT(entry_exists(lake_b, "crash", "offsets", b));
    crash_at("after_commit:bronze_orders");
    CU_ASSERT_EQUAL(table_txn(lake_b, "bronze_orders", qid), b);
    CU_ASSERT(!entry_exists(lake_b, "crash", "commits", b));
    fprintf(stderr, "injected crashes in batches up to %" PRId64 ": %" PRId64 " ms\n", b,
            ms_since(t0));
}

/* ---- 4. the final run and the comparison ----------------------------------------------------- */

/* The silver table, its quarantine and the event log of both lakes against each other and
 * against bronze; `map_s` lists B's silver files with their batches; b_n / db_n are the bronze
 * and dead-letter rows of B. */
static void check_silver(const char *qb, const char *map_s, int64_t b_n, int64_t truth_dups)
{
    char sa[2048], sb[2048], qa_[2048], qb_[2048], ea[2048], eb[2048], ca[2048], cb[2048];
    char *xsa, *xsb, *xqa, *xqb, *xea, *xeb, *sql = NULL;
    int64_t last_a = -1, last_b = -1, a_n;
    json_t *rows, *row;

    table_dir(lake_a, "silver_orders", sa, sizeof sa);
    table_dir(lake_b, "silver_orders", sb, sizeof sb);
    table_dir(lake_a, QUARANTINE, qa_, sizeof qa_);
    table_dir(lake_b, QUARANTINE, qb_, sizeof qb_);
    table_dir(lake_a, "event_log", ea, sizeof ea);
    table_dir(lake_b, "event_log", eb, sizeof eb);
    ckpt_dirs(lake_a, "ref", ca, ca, sizeof ca);
    last_a = e2e_latest_entry(ca, NULL);
    ckpt_dirs(lake_b, "crash", cb, cb, sizeof cb);
    last_b = e2e_latest_entry(cb, NULL);
    a_n = e2e_table_rows(table_dir(lake_a, "bronze_orders", ca, sizeof ca));
    xsa = e2e_table_sql(sa, "NULL AS x", false);
    xsb = e2e_table_sql(sb, "NULL AS x", true);
    xqa = e2e_table_sql(qa_, "NULL AS x", false);
    xqb = e2e_table_sql(qb_, "NULL AS x", false);
    xea = e2e_table_sql(ea, "NULL AS x", false);
    xeb = e2e_table_sql(eb, "NULL AS x", false);
    xsb[strlen(xsb) - 1] = '\0'; /* add filename = true */
#define SILVERLESS "_batch_id, _ingestion_timestamp, _ingestion_date, _processing_timestamp"
#define EVL(l, t, col, name)                                                                       \
    " (SELECT coalesce(sum(" col "), 0) FROM e" l " WHERE table_name = '" t "') AS e" l "_" name ","
#define EVLS(l)                                                                                    \
    " (SELECT count(*) FROM e" l ") AS e" l "_n,"                                                  \
    " (SELECT count(*) - count(DISTINCT (batch_id, table_name)) FROM e" l ") AS e" l "_dups,"      \
    " (SELECT count(DISTINCT batch_id) FROM e" l ") AS e" l "_batches,"                            \
    " (SELECT coalesce(min(batch_id), -1) FROM e" l ") AS e" l "_min,"                             \
    " (SELECT coalesce(max(batch_id), -1) FROM e" l ") AS e" l "_max,"                             \
    " (SELECT count(DISTINCT table_name) FROM e" l ") AS e" l                                      \
    "_tables," EVL(l, "bronze_orders", "num_output_rows", "bronze") EVL(                           \
        l, "silver_orders", "num_output_rows",                                                     \
        "silver") EVL(l, "silver_orders", "num_input_rows",                                        \
                      "silver_in") EVL(l, "silver_orders", "num_quarantined_rows",                 \
                                       "silver_quar") EVL(l, "silver_orders",                      \
                                                          "num_dropped_duplicates",                \
                                                          "dropped_dups")                          \
        EVL(l, "silver_orders", "num_dropped_late", "dropped_late") EVL(                           \
            l, QUARANTINE, "num_output_rows",                                                      \
            "quar") " (SELECT coalesce(sum(x.failed_records), 0) FROM (SELECT "                    \
                    "unnest(expectations) AS x FROM e" l                                           \
                    "   WHERE table_name = 'silver_orders') WHERE x.name = 'sane_total') AS e" l   \
                    "_warn,"
    CU_ASSERT_FATAL(
        asprintf(
            &sql,
            "CREATE TEMP TABLE sa AS SELECT * EXCLUDE (" SILVERLESS ") FROM %s;"
            "CREATE TEMP TABLE sb AS SELECT * FROM %s, filename = true);"
            "CREATE TEMP TABLE qa AS SELECT * EXCLUDE (_batch_id, _ingestion_timestamp,"
            " _ingestion_date) FROM %s;"
            "CREATE TEMP TABLE qb AS SELECT * FROM %s;"
            "CREATE TEMP TABLE ea AS SELECT * FROM %s;"
            "CREATE TEMP TABLE eb AS SELECT * FROM %s;"
            "CREATE TEMP TABLE map_s (f VARCHAR, v BIGINT);"
            "INSERT INTO map_s VALUES %s;"
            "SELECT (SELECT count(*) FROM sa) AS sa_n, (SELECT count(*) FROM sb) AS sb_n,"
            " (SELECT count(*) FROM qa) AS qa_n, (SELECT count(*) FROM qb) AS qb_n,"
            " (SELECT count(*) FROM (SELECT * FROM sa EXCEPT ALL"
            "   SELECT * EXCLUDE (" SILVERLESS ", filename) FROM sb)) AS sa_only,"
            " (SELECT count(*) FROM (SELECT * EXCLUDE (" SILVERLESS ", filename) FROM sb"
            "   EXCEPT ALL SELECT * FROM sa)) AS sb_only,"
            " (SELECT count(*) FROM (SELECT * FROM qa EXCEPT ALL SELECT * EXCLUDE (_batch_id,"
            "   _ingestion_timestamp, _ingestion_date) FROM qb)) AS qa_only,"
            " (SELECT count(*) FROM (SELECT * EXCLUDE (_batch_id, _ingestion_timestamp,"
            "   _ingestion_date) FROM qb EXCEPT ALL SELECT * FROM qa)) AS qb_only,"
            " (SELECT count(*) - count(DISTINCT order_id) FROM sa) AS sa_dup_ids,"
            " (SELECT count(*) - count(DISTINCT order_id) FROM sb) AS sb_dup_ids,"
            " (SELECT count(*) FROM sb WHERE order_id IS NULL OR length(trim(order_id)) = 0)"
            "   AS sb_bad_ids,"
            " (SELECT count(*) FROM sb WHERE price * quantity > " WARN_TOTAL ") AS sb_warned,"
            " (SELECT count(*) FROM sb WHERE _processing_timestamp IS DISTINCT FROM"
            "   _ingestion_timestamp) AS sb_ts,"
            " (SELECT count(*) FROM sb LEFT JOIN map_s ON sb.filename = map_s.f"
            "   WHERE map_s.v IS DISTINCT FROM sb._batch_id) AS sb_wrong_batch,"
            " (SELECT count(*) FROM qb WHERE NOT list_contains(_validation_errors,"
            "   'valid_order_id')) AS qb_no_rule,"
            " (SELECT count(*) FROM qb WHERE order_id IS NOT NULL AND length(trim(order_id)) > 0)"
            "   AS qb_good_ids," EVLS("a")
                EVLS("b") " (SELECT count(*) FROM eb WHERE query_id <> '%s') AS eb_foreign",
            xsa, xsb, xqa, xqb, xea, xeb, map_s, qb) > 0);
#undef EVLS
#undef EVL
#undef SILVERLESS
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "silver comparison (A batches 0..%" PRId64 ", B 0..%" PRId64 "): %s\n",
                last_a, last_b, dump);
        free(dump);
    }
    /* B's silver and quarantine are A's; silver has each order once and only valid ids */
    CU_ASSERT(e2e_get_int(row, "sb_n") > 0 && e2e_get_int(row, "qb_n") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_n"), e2e_get_int(row, "sa_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "qb_n"), e2e_get_int(row, "qa_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "sa_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "qa_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "qb_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sa_dup_ids"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_dup_ids"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_bad_ids"), 0);
    CU_ASSERT(e2e_get_int(row, "sb_warned") > 0); /* warn keeps the row */
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_ts"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_wrong_batch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "qb_no_rule"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "qb_good_ids"), 0);
    /* the event log: one row per (batch, table) of every committed batch, all of B's query */
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ea_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_min"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_max"), last_b);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_batches"), last_b + 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ea_batches"), last_a + 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_tables"), N_TABLES);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_n"), (last_b + 1) * N_TABLES);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ea_n"), (last_a + 1) * N_TABLES);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_foreign"), 0);
    /* its counts add up to the tables; silver + quarantine + dropped = bronze, in both lakes */
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_bronze"), b_n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_silver_in"), b_n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_silver"), e2e_get_int(row, "sb_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_quar"), e2e_get_int(row, "qb_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_silver_quar"), e2e_get_int(row, "qb_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "sb_n") + e2e_get_int(row, "qb_n") +
                        e2e_get_int(row, "eb_dropped_dups") + e2e_get_int(row, "eb_dropped_late"),
                    b_n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ea_bronze"), a_n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "sa_n") + e2e_get_int(row, "qa_n") +
                        e2e_get_int(row, "ea_dropped_dups") + e2e_get_int(row, "ea_dropped_late"),
                    a_n);
    /* every re-sent copy dropped, nothing late (the delay outlasts the data) */
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_dropped_dups"), truth_dups);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ea_dropped_dups"), truth_dups);
    CU_ASSERT(truth_dups >= (int64_t)((double)n_orders * DUP_RATIO / 2));
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_dropped_late"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "eb_warn"), e2e_get_int(row, "ea_warn"));
    CU_ASSERT(e2e_get_int(row, "eb_warn") > 0);
    json_decref(rows);
    free(sql);
    free(xsa);
    free(xsb);
    free(xqa);
    free(xqb);
    free(xea);
    free(xeb);
}

/*
 * Checks the Delta log of a table (table_dir): versions 0..latest all there, the create first,
 * then exactly one txn(qid) per commit with strictly increasing versions. Appends to `map` a
 * "('file', batch)" row per added file (its local path and the txn version of its commit) and
 * returns the number of commits with a txn; -1 when the table does not exist.
 */
static int64_t check_log(const char *lake, const char *table, const char *qid, sm_buf *map)
{
    char p[2048];
    sm_arena *a = sm_arena_create(0, 0);
    sm_buf local = SM_BUF_INIT;
    sm_error err;
    int64_t latest = -1, prev = -1, n_txn = 0;
    delta_snapshot *s = NULL;

    table_dir(lake, table, p, sizeof p);
    CU_ASSERT_EQUAL_FATAL(delta_latest_version(p, &latest, &err), SM_OK);
    if (latest < 0) {
        sm_arena_destroy(a);
        return -1;
    }
    for (int64_t v = 0; v <= latest; v++) {
        delta_commit_actions c;
        int rc = delta_read_commit(p, v, a, &c, &err);
        if (rc != SM_OK) {
            fprintf(stderr, "%s version %" PRId64 ": %s\n", table, v, err.msg);
        }
        CU_ASSERT_EQUAL_FATAL(rc, SM_OK); /* contiguous */
        CU_ASSERT_EQUAL(c.version, v);
        if (v == 0) {
            CU_ASSERT(c.metadata != NULL && c.protocol != NULL && c.n_txns == 0);
            continue;
        }
        CU_ASSERT_EQUAL(c.n_txns, 1);
        CU_ASSERT(c.n_adds > 0);
        CU_ASSERT(c.n_removes == 0);
        if (c.n_txns != 1) {
            continue;
        }
        CU_ASSERT_STRING_EQUAL(c.txns[0].app_id, qid);
        if (c.txns[0].version <= prev) {
            fprintf(stderr, "%s version %" PRId64 ": txn %" PRId64 " after %" PRId64 "\n", table, v,
                    c.txns[0].version, prev);
        }
        CU_ASSERT(c.txns[0].version > prev); /* each batch committed at most once */
        prev = c.txns[0].version;
        n_txn++;
        for (int i = 0; i < c.n_adds; i++) {
            char row[4096];
            sm_buf_reset(&local);
            CU_ASSERT_EQUAL_FATAL(delta_file_local_path(p, c.adds[i].path, &local, &err), SM_OK);
            snprintf(row, sizeof row, "%s('%.*s', %" PRId64 ")", map->len ? ", " : "",
                     (int)local.len, (const char *)local.data, prev);
            sm_buf_append(map, row, strlen(row), NULL);
        }
        sm_arena_reset(a);
    }
    CU_ASSERT_EQUAL_FATAL(delta_snapshot_load(p, NULL, &s, &err), SM_OK);
    CU_ASSERT_EQUAL(s->version, latest);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, qid), prev);
    delta_snapshot_free(s);
    sm_buf_free(&local);
    sm_arena_destroy(a);
    return n_txn;
}

/* Every commits/N of the checkpoint names, per table, a version whose commit holds txn N. */
static void check_checkpoint_commits(const char *lake, const char *name, const char *qid)
{
    char p[2048];
    sm_ckpt *ck = NULL;
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err;
    int64_t lo = -1, lc = -1, checked = 0;

    snprintf(p, sizeof p, "%s/_checkpoints/%s", lake, name);
    CU_ASSERT_EQUAL_FATAL(sm_ckpt_open(p, false, &ck, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(sm_ckpt_latest(ck, &lo, &lc, &err), SM_OK);
    CU_ASSERT_EQUAL(lo, lc); /* nothing left uncommitted */
    for (int64_t n = 0; n <= lc; n++) {
        sm_ckpt_commit *c = NULL;
        if (sm_ckpt_read_commit(ck, n, a, &c, &err) != SM_OK) {
            continue; /* purged by retention */
        }
        for (size_t i = 0; i < c->n_tables; i++) {
            char t[2048];
            delta_commit_actions d;
            table_dir(lake, c->tables[i].name, t, sizeof t);
            CU_ASSERT_EQUAL_FATAL(delta_read_commit(t, c->tables[i].version, a, &d, &err), SM_OK);
            CU_ASSERT(d.n_txns == 1 && d.txns[0].version == n &&
                      strcmp(d.txns[0].app_id, qid) == 0);
            checked++;
        }
        sm_arena_reset(a);
    }
    CU_ASSERT(checked > 0);
    sm_arena_destroy(a);
    sm_ckpt_close(ck);
}

static void test_crash_final_run_gives_the_tables_of_the_uncrashed_run(void)
{
    char pa[2048], pb[2048], da[2048], db[2048], qa[128], qb[128];
    char *ba, *bb, *xa, *xb, *sql = NULL;
    sm_buf map_b = SM_BUF_INIT, map_d = SM_BUF_INIT, map_s = SM_BUF_INIT, scratch = SM_BUF_INIT;
    int64_t t0 = sm_mono_ns(), n_bronze_txn, n_dead_txn;
    json_t *rows, *row;
    int code;

    CU_ASSERT_FATAL(ref_batches > 0);
    log_note(log_b, "final run");
    code = run_once(path_b, NULL, log_b);
    if (code != 0) {
        e2e_print_tail(log_b, 4000);
    }
    CU_ASSERT_EQUAL_FATAL(code, 0);
    fprintf(stderr, "final run: %" PRId64 " ms\n", ms_since(t0));

    query_id(lake_a, "ref", qa, sizeof qa);
    query_id(lake_b, "crash", qb, sizeof qb);
    CU_ASSERT(strcmp(qa, qb) != 0);
    /* the logs of both lakes; the files of B's with their batches */
    CU_ASSERT(check_log(lake_a, "bronze_orders", qa, &scratch) >= BATCHES);
    CU_ASSERT(check_log(lake_a, "ref_dead_letter", qa, &scratch) > 0);
    n_bronze_txn = check_log(lake_b, "bronze_orders", qb, &map_b);
    n_dead_txn = check_log(lake_b, "crash_dead_letter", qb, &map_d);
    CU_ASSERT_FATAL(n_bronze_txn > 0 && n_dead_txn > 0);
    CU_ASSERT(check_log(lake_a, "silver_orders", qa, &scratch) >= BATCHES);
    CU_ASSERT(check_log(lake_a, QUARANTINE, qa, &scratch) > 0);
    CU_ASSERT(check_log(lake_a, "event_log", qa, &scratch) >= BATCHES);
    CU_ASSERT(check_log(lake_b, "silver_orders", qb, &map_s) > 0);
    CU_ASSERT(check_log(lake_b, QUARANTINE, qb, &scratch) > 0);
    CU_ASSERT(check_log(lake_b, "event_log", qb, &scratch) > 0);
    check_checkpoint_commits(lake_a, "ref", qa);
    check_checkpoint_commits(lake_b, "crash", qb);
    {
        /* B's retention kept its last RETENTION_B batches, kills or not */
        char o[2048], c[2048];
        int64_t n_o = 0, n_c = 0;
        ckpt_dirs(lake_b, "crash", o, c, sizeof o);
        e2e_latest_entry(o, &n_o);
        e2e_latest_entry(c, &n_c);
        CU_ASSERT_EQUAL(n_o, RETENTION_B);
        CU_ASSERT_EQUAL(n_c, RETENTION_B);
    }
    sm_buf_append(&map_b, "", 1, NULL);
    sm_buf_append(&map_d, "", 1, NULL);
    sm_buf_append(&map_s, "", 1, NULL);

    snprintf(pa, sizeof pa, "%s/bronze/bronze_orders", lake_a);
    snprintf(pb, sizeof pb, "%s/bronze/bronze_orders", lake_b);
    snprintf(da, sizeof da, "%s/bronze/ref_dead_letter", lake_a);
    snprintf(db, sizeof db, "%s/bronze/crash_dead_letter", lake_b);
    ba = e2e_table_sql(pa, "1", false);
    bb = e2e_table_sql(pb, "1", true);
    xa = e2e_table_sql(da, e2e_dead_empty, false);
    xb = e2e_table_sql(db, e2e_dead_empty, true);
    /* read_parquet(..., hive_partitioning = true) → add filename = true */
    bb[strlen(bb) - 1] = '\0';
    xb[strlen(xb) - 1] = '\0';
#define BATCHLESS "_batch_id, _ingestion_timestamp, _ingestion_date, filename"
    CU_ASSERT_FATAL(
        asprintf(
            &sql,
            "CREATE TEMP TABLE truth AS SELECT \"partition\" AS p, \"offset\" AS o, key AS k,"
            " class, dup_of IS NOT NULL AS dup FROM read_json('%s',"
            " format='newline_delimited') WHERE status = 'acked';"
            "CREATE TEMP TABLE a AS SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s;"
            "CREATE TEMP TABLE b AS SELECT * FROM %s, filename = true);"
            "CREATE TEMP TABLE da AS SELECT * EXCLUDE (_batch_id, _ingestion_timestamp) FROM %s;"
            "CREATE TEMP TABLE db AS SELECT * FROM %s, filename = true);"
            "CREATE TEMP TABLE map_b (f VARCHAR, v BIGINT);"
            "INSERT INTO map_b VALUES %s;"
            "CREATE TEMP TABLE map_d (f VARCHAR, v BIGINT);"
            "INSERT INTO map_d VALUES %s;"
            "SELECT (SELECT count(*) FROM truth) AS truth_n,"
            " (SELECT count(*) FROM truth WHERE dup) AS truth_dups,"
            " (SELECT count(*) FROM truth WHERE class <> 'decode') AS truth_good,"
            " (SELECT count(*) FROM a) AS a_n, (SELECT count(*) FROM b) AS b_n,"
            " (SELECT count(*) FROM da) AS da_n, (SELECT count(*) FROM db) AS db_n,"
            " (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL"
            "   SELECT * EXCLUDE (" BATCHLESS ") FROM b)) AS a_only,"
            " (SELECT count(*) FROM (SELECT * EXCLUDE (" BATCHLESS ") FROM b EXCEPT ALL"
            "   SELECT * FROM a)) AS b_only,"
            " (SELECT count(*) FROM (SELECT * FROM da EXCEPT ALL"
            "   SELECT * EXCLUDE (" BATCHLESS ") FROM db)) AS da_only,"
            " (SELECT count(*) FROM (SELECT * EXCLUDE (" BATCHLESS ") FROM db EXCEPT ALL"
            "   SELECT * FROM da)) AS db_only,"
            " (SELECT count(*) - count(DISTINCT (_kafka_partition, _kafka_offset)) FROM b)"
            "   AS b_dups,"
            " (SELECT count(*) - count(DISTINCT (\"partition\", \"offset\")) FROM db) AS db_dups,"
            " (SELECT count(*) FROM b JOIN db ON _kafka_partition = \"partition\""
            "   AND _kafka_offset = \"offset\") AS in_both,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class <> 'decode' EXCEPT"
            "   SELECT _kafka_partition, _kafka_offset, decode(_kafka_key) FROM b)) AS "
            "good_missing,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM truth WHERE class = 'decode' EXCEPT"
            "   SELECT \"partition\", \"offset\", decode(key) FROM db)) AS bad_missing,"
            " (SELECT count(*) FROM (SELECT _batch_id FROM b GROUP BY _batch_id"
            "   HAVING count(DISTINCT _ingestion_timestamp) > 1)) AS b_split_ts,"
            " (SELECT count(*) FROM (SELECT _batch_id FROM db GROUP BY _batch_id"
            "   HAVING count(DISTINCT _ingestion_timestamp) > 1)) AS db_split_ts,"
            " (SELECT count(*) FROM b WHERE CAST(_ingestion_date AS DATE) <>"
            "   DATE '1970-01-01' + CAST(floor(epoch_ms(_ingestion_timestamp) / 86400000) AS"
            "   INTEGER)) AS b_bad_date,"
            " (SELECT count(*) FROM b LEFT JOIN map_b ON b.filename = map_b.f"
            "   WHERE map_b.v IS DISTINCT FROM b._batch_id) AS b_wrong_batch,"
            " (SELECT count(*) FROM db LEFT JOIN map_d ON db.filename = map_d.f"
            "   WHERE map_d.v IS DISTINCT FROM db._batch_id) AS db_wrong_batch,"
            " (SELECT count(DISTINCT _batch_id) FROM b) AS b_batches,"
            " (SELECT count(DISTINCT _batch_id) FROM db) AS db_batches",
            truth_path, ba, bb, xa, xb, (char *)map_b.data, (char *)map_d.data) > 0);
#undef BATCHLESS
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "comparison: %s\n", dump);
        free(dump);
    }
    CU_ASSERT_EQUAL(e2e_get_int(row, "truth_n"), n_orders);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_n"), e2e_get_int(row, "a_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_n"), e2e_get_int(row, "da_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_n"), e2e_get_int(row, "truth_good"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_n") + e2e_get_int(row, "db_n"), n_orders);
    CU_ASSERT(e2e_get_int(row, "db_n") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "a_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "da_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_dups"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "in_both"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "good_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_split_ts"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_split_ts"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_bad_date"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_wrong_batch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_wrong_batch"), 0);
    /* one commit per batch that had rows */
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_batches"), n_bronze_txn);
    CU_ASSERT_EQUAL(e2e_get_int(row, "db_batches"), n_dead_txn);
    check_silver(qb, (char *)map_s.data, e2e_get_int(row, "b_n"), e2e_get_int(row, "truth_dups"));
    json_decref(rows);
    free(sql);
    free(ba);
    free(bb);
    free(xa);
    free(xb);
    sm_buf_free(&map_b);
    sm_buf_free(&map_d);
    sm_buf_free(&map_s);
    sm_buf_free(&scratch);
    fprintf(stderr, "checks: %" PRId64 " ms\n", ms_since(t0));
}

static CU_TestInfo tests[] = {
    {"reference run, uncrashed", test_crash_reference_run_uncrashed},
    {"SIGKILL at random moments, then restart", test_crash_sigkill_at_random_moments_then_restart},
    {"crash at each protocol step, then restart", test_crash_at_each_protocol_step_then_restart},
    {"final run gives the tables of the uncrashed run",
     test_crash_final_run_gives_the_tables_of_the_uncrashed_run},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("run_crash", setup, teardown, tests)
