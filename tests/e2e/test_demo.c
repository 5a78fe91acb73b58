/*
 * End to end: `smelter demo`, the README's main job, as a process (from the repository root, as
 * `make demo` runs it, so the example pipeline is found where it is).
 *
 *   - it exits 0 and its summary names the tables, the dead letters beside the producer's
 *     decode faults, the rate and the DuckDB commands;
 *   - DuckDB, the independent reader, finds every produced message once: bronze rows plus dead
 *     letters are the count asked for, and they agree with the summary; the first DuckDB
 *     command the summary prints runs as printed;
 *   - a second run on the same lake empties it first (only the new rows are there); a lake the
 *     demo did not make is refused with exit 2 and left alone.
 */
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/durable.h"
#include "sm_test.h"

static char *dir;

static int setup(void)
{
    dir = sm_test_tmpdir("demo");
    return dir ? 0 : 1;
}

static int teardown(void)
{
    if (!getenv("SMELTER_TEST_KEEP")) {
        sm_test_rmtree(dir);
    }
    free(dir);
    return 0;
}

/* Runs `smelter demo --count <count> --lake <lake>` from the repository root with stdout and
 * stderr to files; returns its exit status (-1 when it did not exit). */
static int run_demo(const char *count, const char *lake, const char *out, const char *errf)
{
    const char *bin = getenv("SMELTER_BIN");
    const char *src = getenv("SMELTER_SOURCE_DIR");
    pid_t pid;
    int status;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char *argv[] = {(char *)bin,  "demo",         "--count", (char *)count, "--lake",
                        (char *)lake, "--log-format", "json",    NULL};
        if (chdir(src) != 0 || !freopen(out, "w", stdout) || !freopen(errf, "w", stderr)) {
            _exit(127);
        }
        execv(bin, argv);
        _exit(127);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    sm_error err;
    if (sm_read_file(path, 1 << 24, &data, &len, &err) != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return data;
}

/* The number after `label` at the start of a line of the summary ("  dead letters   397"), or
 * -1. */
static long long summary_number(const char *text, const char *label)
{
    char pat[128];
    const char *at;
    snprintf(pat, sizeof pat, "\n  %s ", label);
    at = strstr(text, pat);
    return at ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

/* The SQL of the summary's first `duckdb -c "..."` line (malloc'ed), or NULL. */
static char *first_duckdb_sql(const char *text)
{
    const char *at = strstr(text, "duckdb -c \"");
    const char *end;
    if (!at) {
        return NULL;
    }
    at += strlen("duckdb -c \"");
    end = strchr(at, '\n');
    if (!end) {
        return NULL;
    }
    while (end > at && end[-1] != '"') {
        end--;
    }
    return end > at ? strndup(at, (size_t)(end - at - 1)) : NULL;
}

/* Bronze rows, dead letters and distinct (partition, offset) over both, by DuckDB. */
static void count_tables(const char *lake, long long *bronze, long long *dead, long long *distinct)
{
    char *sql = NULL;
    json_t *rows, *row;

    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "CREATE TEMP TABLE b AS SELECT _kafka_partition AS p, _kafka_offset AS o FROM "
                 "read_parquet('%s/bronze/bronze_orders/*/*.parquet');"
                 "CREATE TEMP TABLE d AS SELECT \"partition\" AS p, \"offset\" AS o FROM "
                 "read_parquet('%s/bronze/ecommerce_dead_letter/*/*.parquet');"
                 "SELECT (SELECT count(*) FROM b) AS bronze, (SELECT count(*) FROM d) AS dead,"
                 " (SELECT count(*) FROM (SELECT p, o FROM b UNION SELECT p, o FROM d))"
                 " AS distinct_messages",
                 lake, lake) > 0);
    rows = sm_test_duckdb(sql);
    free(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    *bronze = sm_test_int(json_object_get(row, "bronze"));
    *dead = sm_test_int(json_object_get(row, "dead"));
    *distinct = sm_test_int(json_object_get(row, "distinct_messages"));
    json_decref(rows);
}

static void test_demo_puts_every_order_in_bronze_or_the_dead_letters(void)
{
    char lake[PATH_MAX], out[PATH_MAX], errf[PATH_MAX], line[PATH_MAX + 64];
    char *text, *sql;
    long long bronze, dead, distinct, decode;
    json_t *rows;
    int rc;

    snprintf(lake, sizeof lake, "%s/lake", dir);
    snprintf(out, sizeof out, "%s/out1.txt", dir);
    snprintf(errf, sizeof errf, "%s/err1.txt", dir);
    rc = run_demo("20000", lake, out, errf);
    text = slurp(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    if (rc != 0) {
        char *e = slurp(errf);
        fprintf(stderr, "demo exited %d\n--- stdout\n%s\n--- stderr\n%s\n", rc, text, e ? e : "");
        free(e);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    /* the summary */
    {
        char real[PATH_MAX];
        CU_ASSERT_FATAL(realpath(lake, real) != NULL);
        snprintf(line, sizeof line, "== tables in %s\n", real);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
        snprintf(lake, sizeof lake, "%s", real);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  bronze_orders "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  ecommerce_dead_letter "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  silver_orders ")); /* declared: listed */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "= the decode faults: each one is a dead letter"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "+ dead letters = the messages acked: 20000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "== dead letters by reason"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "records/s"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "delta_scan('"));
    CU_ASSERT_PTR_NULL(strstr(text, "MISMATCH"));
    decode = summary_number(text, "cannot be decoded");
    CU_ASSERT(decode > 0);
    CU_ASSERT_EQUAL(summary_number(text, "dead letters"), decode);

    /* what DuckDB reads */
    count_tables(lake, &bronze, &dead, &distinct);
    fprintf(stderr, "\ndemo: bronze %lld, dead letters %lld, distinct %lld\n", bronze, dead,
            distinct);
    CU_ASSERT_EQUAL(bronze + dead, 20000);
    CU_ASSERT_EQUAL(distinct, 20000);
    CU_ASSERT_EQUAL(dead, decode);
    CU_ASSERT_EQUAL(bronze, summary_number(text, "bronze rows"));

    /* the first DuckDB command of the summary runs as printed: orders per category */
    sql = first_duckdb_sql(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    {
        char *total = NULL;
        CU_ASSERT_FATAL(asprintf(&total, "SELECT sum(orders) AS n FROM (%s)", sql) > 0);
        rows = sm_test_duckdb(total);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(rows, 0), "n")), bronze);
        json_decref(rows);
        free(total);
    }
    free(sql);
    free(text);
}

static void test_demo_rebuilds_its_own_lake_and_refuses_another(void)
{
    char lake[PATH_MAX], other[PATH_MAX], keep[PATH_MAX + 16], out[PATH_MAX], errf[PATH_MAX];
    char *text, *errtext;
    long long bronze, dead, distinct;
    FILE *f;
    int rc;

    /* the lake of the first test again: emptied, then only the new run's rows */
    snprintf(lake, sizeof lake, "%s/lake", dir);
    snprintf(out, sizeof out, "%s/out2.txt", dir);
    snprintf(errf, sizeof errf, "%s/err2.txt", dir);
    rc = run_demo("3000", lake, out, errf);
    CU_ASSERT_EQUAL(rc, 0);
    text = slurp(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(the previous demo's lake was emptied first)"));
    free(text);
    count_tables(lake, &bronze, &dead, &distinct);
    CU_ASSERT_EQUAL(bronze + dead, 3000);
    CU_ASSERT_EQUAL(distinct, 3000);

    /* a directory the demo did not make */
    snprintf(other, sizeof other, "%s/not-a-demo-lake", dir);
    snprintf(keep, sizeof keep, "%s/mine.txt", other);
    CU_ASSERT_FATAL(mkdir(other, 0755) == 0);
    f = fopen(keep, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not the demo's\n", f);
    fclose(f);
    snprintf(out, sizeof out, "%s/out3.txt", dir);
    snprintf(errf, sizeof errf, "%s/err3.txt", dir);
    rc = run_demo("3000", other, out, errf);
    CU_ASSERT_EQUAL(rc, 2);
    errtext = slurp(errf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errtext);
    CU_ASSERT_PTR_NOT_NULL(strstr(errtext, "not made by smelter demo"));
    CU_ASSERT_EQUAL(access(keep, F_OK), 0);
    free(errtext);
}

static CU_TestInfo tests[] = {
    {"demo puts every order in bronze or the dead letters",
     test_demo_puts_every_order_in_bronze_or_the_dead_letters},
    {"demo rebuilds its own lake and refuses another",
     test_demo_rebuilds_its_own_lake_and_refuses_another},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("demo", setup, teardown, tests)
