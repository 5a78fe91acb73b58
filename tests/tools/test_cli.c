/*
 * The `smelter` command as a user meets it: exit codes, one-line errors, bounded waits, the
 * broker's lifecycle, byte-identical reruns. Runs the built binary ($SMELTER_BIN).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "sm_test.h"

static char *dir;
static const char *bin;

typedef struct result {
    int status; /* exit code, or 128+signal */
    double secs;
    char out[65536];
    char err[65536];
} result;

static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = 0;
    if (f) {
        len = fread(buf, 1, n - 1, f);
        fclose(f);
    }
    buf[len] = '\0';
}

/* Runs "$SMELTER_BIN <args>" through the shell with stdout and stderr captured. */
static void run(result *r, const char *args)
{
    char cmd[16384], out_path[4096], err_path[4096];
    int64_t t0 = sm_mono_ns();
    int st;
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s' 2>'%s' </dev/null", dir, bin, args,
             out_path, err_path);
    st = system(cmd);
    r->secs = (double)(sm_mono_ns() - t0) / 1e9;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

static void test_cli_unknown_flag_is_usage_error_with_suggestion(void)
{
    static result r;
    run(&r, "produce --cout 5");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--cout"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--count"));
    CU_ASSERT(count_lines(r.err) <= 2); /* the error, and where to look */
}

static void test_cli_negative_rate_is_usage_error(void)
{
    static result r;
    run(&r, "produce --rate -1");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--rate"));
    CU_ASSERT(count_lines(r.err) <= 2);
    run(&r, "produce --rate fast");
    CU_ASSERT_EQUAL(r.status, 2);
    run(&r, "produce --bad-ratio 0.7 --dup-ratio 0.5 --to-file x");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "ratio"));
}

static void test_cli_unknown_command_is_usage_error(void)
{
    static result r;
    run(&r, "prodce");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "produce"));
    run(&r, "");
    CU_ASSERT_EQUAL(r.status, 2);
}

static void test_cli_help_lists_flags_and_exits_zero(void)
{
    static result r;
    run(&r, "--help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "broker"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "produce"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Exit codes"));
    run(&r, "produce --help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--bad-ratio"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--truth"));
    run(&r, "broker --help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--bootstrap-file"));
    run(&r, "help broker");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--topics"));
    run(&r, "version");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "smelter "));
}

/* Nothing listens on port 1: a runtime failure within the bounded timeout, not a hang. */
static void test_cli_unreachable_bootstrap_fails_within_timeout(void)
{
    static result r;
    run(&r, "produce -b 127.0.0.1:1 --connect-timeout 2s -n 10 --log-format human");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "cannot reach Kafka at 127.0.0.1:1"));
    CU_ASSERT(r.secs < 10);
    CU_ASSERT(count_lines(r.err) <= 2);
}

static void test_cli_same_seed_twice_gives_identical_files(void)
{
    static result r;
    static char a[1 << 16], b[1 << 16];
    char pa[4096], pb[4096];
    run(&r, "produce --to-file a.tsv -n 5000 --seed 7 --bad-ratio 0.05 --dup-ratio 0.01 "
            "--late-ratio 0.01 --report json");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"seed\":7"));
    run(&r, "produce --to-file b.tsv -n 5000 --seed 7 --bad-ratio 0.05 --dup-ratio 0.01 "
            "--late-ratio 0.01");
    CU_ASSERT_EQUAL(r.status, 0);
    snprintf(pa, sizeof pa, "%s/a.tsv", dir);
    snprintf(pb, sizeof pb, "%s/b.tsv", dir);
    {
        char cmd[10000];
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", pa, pb);
        CU_ASSERT_EQUAL(system(cmd), 0);
        run(&r, "produce --to-file c.tsv -n 5000 --seed 8 --bad-ratio 0.05");
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s/c.tsv'", pa, dir);
        CU_ASSERT_NOT_EQUAL(system(cmd), 0);
    }
    slurp(pa, a, sizeof a);
    slurp(pb, b, sizeof b);
    CU_ASSERT(strlen(a) > 1000);
    CU_ASSERT_STRING_EQUAL(a, b);
}

/* A TCP port free right now on 127.0.0.1 (the kernel's pick; racy only in theory). */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* smelter broker: writes the bootstrap file, serves produce, stops on SIGTERM with exit 0 and
 * removes the file. */
static void test_cli_broker_serves_produce_and_stops_on_sigterm(void)
{
    static result r;
    char addr_file[4096], log_path[4096], port_arg[16], args[256];
    pid_t pid;
    int st, waited = 0;

    snprintf(addr_file, sizeof addr_file, "%s/bootstrap", dir);
    snprintf(port_arg, sizeof port_arg, "%d", free_port());
    snprintf(log_path, sizeof log_path, "%s/broker.log", dir);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        FILE *lf = freopen(log_path, "w", stdout);
        (void)lf;
        dup2(fileno(stdout), 2);
        execl(bin, bin, "broker", "--topics", "orders:4,activity", "--bootstrap-file", addr_file,
              "--port", port_arg, (char *)NULL);
        _exit(127);
    }
    while (access(addr_file, F_OK) != 0 && waited++ < 100) {
        sm_sleep_ms(100);
    }
    CU_ASSERT_EQUAL_FATAL(access(addr_file, F_OK), 0);

    run(&r, "produce --bootstrap-file bootstrap -n 2000 --seed 1 --truth t.csv --report json");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"acked\":2000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"failed\":0"));
    /* through the bootstrap relay on the fixed port, as a client configured by hand would */
    snprintf(args, sizeof args, "produce -b 127.0.0.1:%s -d activity -n 500 -q --report json",
             port_arg);
    run(&r, args);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"acked\":500"));
    {
        char csv_path[4096], cmd[9000];
        snprintf(csv_path, sizeof csv_path, "%s/t.csv", dir);
        /* header + one line per message */
        snprintf(cmd, sizeof cmd, "test $(wc -l < '%s') -eq 2001", csv_path);
        CU_ASSERT_EQUAL(system(cmd), 0);
        /* the CSV form reads in DuckDB with its header: 2000 distinct seqs, all acked */
        snprintf(cmd, sizeof cmd,
                 "SELECT count(DISTINCT seq) AS n, count(*) FILTER (status = 'acked') AS acked "
                 "FROM read_csv('%s', header=true)",
                 csv_path);
        {
            json_t *rows = sm_test_duckdb(cmd);
            CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(rows, 0), "n")), 2000);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(rows, 0), "acked")), 2000);
            json_decref(rows);
        }
    }

    kill(pid, SIGTERM);
    waited = 0;
    while (waitpid(pid, &st, WNOHANG) == 0 && waited++ < 100) {
        sm_sleep_ms(100);
    }
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_NOT_EQUAL(access(addr_file, F_OK), 0);
}

/* smelter parquet on a third-party file: schema, cat with --limit/--columns, and the errors. */
static void test_cli_parquet_inspects_fixture(void)
{
    static result r;
    char args[8192];
    const char *src = getenv("SMELTER_SOURCE_DIR");
    const char *fx = "../shared/fixtures/parquet-testing/alltypes_plain.parquet";
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    snprintf(args, sizeof args, "parquet schema '%s/%s'", src, fx);
    run(&r, args);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "message schema {"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "optional INT32 id;"));
    snprintf(args, sizeof args, "parquet cat '%s/%s' -n 2 -c id,bool_col", src, fx);
    run(&r, args);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, "{\"id\":4,\"bool_col\":true}\n{\"id\":5,\"bool_col\":false}\n");
    snprintf(args, sizeof args, "parquet meta '%s/%s'", src, fx);
    run(&r, args);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "rows:       8"));
    snprintf(args, sizeof args, "parquet cat '%s/%s' -c idd", src, fx);
    run(&r, args);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "did you mean 'id'"));
    run(&r, "parquet cat /nonexistent.parquet");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "/nonexistent.parquet"));
    run(&r, "parquet frobnicate x");
    CU_ASSERT_EQUAL(r.status, 2);
}

/* docs/cli.md is generated from the flag tables; it must match the binary. */
static void test_cli_reference_doc_is_current(void)
{
    static result r;
    static char doc[1 << 16];
    char path[4096];
    const char *src = getenv("SMELTER_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    snprintf(path, sizeof path, "%s/docs/cli.md", src);
    slurp(path, doc, sizeof doc);
    run(&r, "help --markdown");
    CU_ASSERT_EQUAL(r.status, 0);
    if (strcmp(doc, r.out) != 0) {
        CU_FAIL("docs/cli.md is stale: run `make docs` (smelter help --markdown > docs/cli.md)");
    }
}

static void test_cli_broker_rejects_bad_topic_spec(void)
{
    static result r;
    run(&r, "broker --port 0 --topics 'orders:0'");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "orders"));
    run(&r, "broker --port 0 --topics 'bad topic'");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "invalid topic name"));
}

/* smelter table on a copy of a Spark-written table: describe, history, optimize, vacuum, their
 * --json forms, and the errors. */
static void test_cli_table_describe_history_optimize_vacuum(void)
{
    static result r;
    char cmd[8192];
    const char *src = getenv("SMELTER_SOURCE_DIR");
    json_t *j;
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s/tbl' && cp -R '%s/../shared/fixtures/delta-golden/"
             "time-travel-partition-changes-b' '%s/tbl'",
             dir, src, dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);

    run(&r, "table describe tbl");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "version      1 ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "partitions   part2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "files        4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, " |-- id: long (nullable = true)\n"));
    run(&r, "table describe tbl --json");
    CU_ASSERT_EQUAL(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "numFiles")), 4);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_object_get(j, "partitionColumns"), 0)), "part2");
    json_decref(j);

    run(&r, "table history tbl");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(count_lines(r.out), 3); /* header + versions 1 and 0 */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "mode=Overwrite"));
    run(&r, "table history tbl --json -n 1");
    CU_ASSERT_EQUAL(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    CU_ASSERT_FATAL(json_is_array(j));
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(j, 0), "version")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(j, 0), "filesRemoved")), 10);
    json_decref(j);

    run(&r, "table optimize tbl");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "version 2: compacted 4 files"));
    run(&r, "table optimize tbl --json");
    CU_ASSERT_EQUAL(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(json_is_null(json_object_get(j, "version"))); /* nothing left to do */
    json_decref(j);
    run(&r, "table history tbl -n 1");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "OPTIMIZE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "smelter/"));

    run(&r, "table vacuum tbl --dry-run");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "would delete 0 files"));
    run(&r, "table vacuum tbl --retain 1h");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--force"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "tbl"));
    CU_ASSERT(count_lines(r.err) <= 2);
    run(&r, "table vacuum tbl --retain 0s --force --dry-run --json");
    CU_ASSERT_EQUAL(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(json_is_true(json_object_get(j, "dryRun")));
    CU_ASSERT(json_integer_value(json_object_get(j, "numFiles")) >= 10);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "files")),
                    (size_t)json_integer_value(json_object_get(j, "numFiles")));
    json_decref(j);
    run(&r, "table vacuum tbl --retain 0s --force");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "tbl: deleted "));
    run(&r, "table describe tbl");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "files        2\n"));

    run(&r, "table describe nonexistent-table");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "nonexistent-table"));
    run(&r, "table descrbe tbl");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "did you mean 'describe'"));
    run(&r, "table describe");
    CU_ASSERT_EQUAL(r.status, 2);
    run(&r, "table vacuum tbl --retain soon");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--retain"));
}

static int setup(void)
{
    bin = getenv("SMELTER_BIN");
    if (!bin) {
        fprintf(stderr, "SMELTER_BIN is not set (run through ctest)\n");
        return 1;
    }
    dir = sm_test_tmpdir("cli");
    return 0;
}

static int teardown(void)
{
    sm_test_rmtree(dir);
    free(dir);
    return 0;
}

static CU_TestInfo tests[] = {
    {"unknown flag is a usage error with a suggestion",
     test_cli_unknown_flag_is_usage_error_with_suggestion},
    {"negative rate is a usage error", test_cli_negative_rate_is_usage_error},
    {"unknown command is a usage error", test_cli_unknown_command_is_usage_error},
    {"help lists flags and exits zero", test_cli_help_lists_flags_and_exits_zero},
    {"unreachable bootstrap fails within the timeout",
     test_cli_unreachable_bootstrap_fails_within_timeout},
    {"same seed twice gives identical files", test_cli_same_seed_twice_gives_identical_files},
    {"broker serves produce and stops on SIGTERM",
     test_cli_broker_serves_produce_and_stops_on_sigterm},
    {"broker rejects a bad topic spec", test_cli_broker_rejects_bad_topic_spec},
    {"reference doc is current", test_cli_reference_doc_is_current},
    {"parquet inspects a fixture", test_cli_parquet_inspects_fixture},
    {"table describe, history, optimize, vacuum", test_cli_table_describe_history_optimize_vacuum},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("cli", setup, teardown, tests)
