/*
 * End to end, one ground truth in three wire formats: the same orders (same seed, same faults)
 * produced as JSON, Avro and Protobuf to three topics of one embedded broker, then
 * `smelter run` (available_now, bronze only) once per format. DuckDB checks that
 *
 *   - each bronze table holds exactly the decodable messages of its truth file and each
 *     dead-letter table exactly the decode-class ones (by partition and offset), with reasons
 *     of that format's decoder;
 *   - the three bronze tables hold the same rows: the decoded columns (order_ts compared in
 *     milliseconds: Protobuf's column is in µs) plus _kafka_partition/_kafka_offset/_kafka_key;
 *   - Avro with an HTTP schema registry (a libmicrohttpd server in this process, basic auth
 *     taken from the environment through ${VAR}) gives the same tables as the directory
 *     registry, and with a wrong password the run fails without committing anything and
 *     without printing the password.
 *
 * Scale: 100k orders per format over 8 partitions; 20k in sanitized builds.
 * SMELTER_TEST_ORDERS=N overrides both.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/durable.h"
#include "e2e_util.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"

#define PARTITIONS     8
#define SEED           23
#define RUN_TIMEOUT_MS 110000

/* The registry's credentials: user:s3cret-pw */
#define GOOD_AUTH  "user:s3cret-pw"
#define GOOD_BASIC "Basic dXNlcjpzM2NyZXQtcHc="
#define WRONG_PASS "Xq9notTheSecret"

enum { F_JSON, F_AVRO, F_PROTOBUF, F_COUNT };

static const char *const fmt_names[F_COUNT] = {"json", "avro", "protobuf"};
static const int prod_formats[F_COUNT] = {PROD_FORMAT_JSON, PROD_FORMAT_AVRO, PROD_FORMAT_PROTOBUF};

/* Dead-letter reasons each format's decoder may give for the producer's decode-class faults
 * (schemas/README.md, "Decode-class faults"), as a SQL list. */
static const char *const fmt_reasons[F_COUNT] = {
    "'syntax', 'invalid_utf8', 'wrong_type', 'out_of_range', 'not_object', 'trailing_data'",
    "'truncated', 'bad_union_index', 'invalid_utf8', 'unknown_schema', 'bad_varint', "
    "'bad_length', 'trailing_data'",
    "'truncated', 'bad_length', 'bad_varint', 'bad_wire_type', 'wrong_wire_type', "
    "'invalid_utf8'",
};

static sm_broker *broker;
static char *dir;
static const char *src_dir;
static int64_t n_orders;
static char truth[F_COUNT][1024];
static char lakes[F_COUNT][1024];
static bool ran[F_COUNT];

static struct MHD_Daemon *mhd;
static int mhd_port;
static char *reg_body; /* {"schema": <orders.avsc>} */

/* ---- the HTTP schema registry ------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    MHD_add_response_header(resp, "Content-Type", "application/vnd.schemaregistry.v1+json");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* GET /schemas/ids/1: the orders schema; any other id: Confluent's 404; without the right
 * Authorization: 401. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int id = -1;
    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, "GET") != 0) {
        return reply(c, 405, "");
    }
    if (!auth || strcmp(auth, GOOD_BASIC) != 0) {
        return reply(c, 401, "{\"error_code\":401,\"message\":\"Unauthorized\"}");
    }
    if (sscanf(url, "/schemas/ids/%d", &id) == 1 && id == 1) {
        return reply(c, 200, reg_body);
    }
    return reply(c, 404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
}

static int start_registry(void)
{
    char path[1024], *avsc = NULL;
    size_t len = 0;
    struct sockaddr_in sa = {0};
    const union MHD_DaemonInfo *info;
    json_t *j;
    sm_error err;

    snprintf(path, sizeof path, "%s/schemas/orders.avsc", src_dir);
    if (sm_read_file(path, 1 << 20, &avsc, &len, &err) != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    j = json_pack("{s:s%}", "schema", avsc, len);
    reg_body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(avsc);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                               MHD_USE_ERROR_LOG,
                           0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                           MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!mhd) {
        fprintf(stderr, "cannot start libmicrohttpd\n");
        return 1;
    }
    info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    mhd_port = info ? info->port : 0;
    return mhd_port > 0 && reg_body ? 0 : 1;
}

/* ---- fixture ------------------------------------------------------------------------------- */

static int setup(void)
{
    sm_broker_conf bc = {1, PARTITIONS, 1, 0};
    sm_error err;
    const char *env = getenv("SMELTER_TEST_ORDERS");

    src_dir = getenv("SMELTER_SOURCE_DIR");
    if (!src_dir) {
        src_dir = ".";
    }
    n_orders = env && *env ? strtoll(env, NULL, 10) : e2e_sanitized() ? 20000 : 100000;
    dir = sm_test_tmpdir("run-formats");
    if (start_registry() != 0) {
        return 1;
    }
    if (sm_broker_start(&bc, &broker, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    for (int f = 0; f < F_COUNT; f++) {
        char topic[64];
        prod_conf c;
        prod_report rep;

        snprintf(topic, sizeof topic, "orders_%s", fmt_names[f]);
        snprintf(truth[f], sizeof truth[f], "%s/truth-%s.ndjson", dir, fmt_names[f]);
        if (sm_broker_create_topic(broker, topic, PARTITIONS, &err) != SM_OK) {
            fprintf(stderr, "broker: %s\n", err.msg);
            return 1;
        }
        e2e_orders_conf(&c, sm_broker_bootstraps(broker), topic, n_orders, SEED, 0, truth[f]);
        c.format = prod_formats[f];
        if (prod_run(&c, NULL, &rep, &err) != SM_OK || rep.acked != n_orders) {
            fprintf(stderr, "produce %s: %s (%" PRId64 " acked)\n", fmt_names[f], err.msg,
                    rep.acked);
            return 1;
        }
        fprintf(stderr, "%sproduced %" PRId64 " %s orders in %.1f s\n", f ? "" : "\n", rep.acked,
                fmt_names[f], rep.elapsed_s);
    }
    return 0;
}

static int teardown(void)
{
    sm_broker_stop(broker);
    if (mhd) {
        MHD_stop_daemon(mhd);
    }
    free(reg_body);
    if (!getenv("SMELTER_TEST_KEEP")) {
        sm_test_rmtree(dir);
    } else {
        fprintf(stderr, "kept %s\n", dir);
    }
    free(dir);
    return 0;
}

/* ---- pipelines ----------------------------------------------------------------------------- */

/* Writes <dir>/<name>.yaml: bronze only, available_now, over orders_<format>, lake
 * <dir>/lake-<name>. `registry` and `auth` (may be NULL) are avro's schema_registry. */
static void pipeline_file(const char *name, int f, const char *registry, const char *auth,
                          char *path, size_t path_n, char *lake, size_t lake_n)
{
    char text[8192], source[2048];

    switch (f) {
    case F_JSON:
        snprintf(source, sizeof source, "  format: json\n  schema: %s/schemas/orders.avsc\n",
                 src_dir);
        break;
    case F_AVRO:
        snprintf(source, sizeof source,
                 "  format: avro\n  schema: %s/schemas/orders.avsc\n"
                 "  schema_registry:\n    url: %s\n%s%s%s",
                 src_dir, registry, auth ? "    basic_auth: \"" : "", auth ? auth : "",
                 auth ? "\"\n" : "");
        break;
    default:
        snprintf(source, sizeof source,
                 "  format: protobuf\n  schema: %s/schemas/orders.desc\n"
                 "  protobuf:\n    message: smelter.ecommerce.Order\n",
                 src_dir);
        break;
    }
    snprintf(lake, lake_n, "%s/lake-%s", dir, name);
    snprintf(path, path_n, "%s/%s.yaml", dir, name);
    snprintf(text, sizeof text,
             "pipeline: %s\n"
             "lake: %s\n"
             "source:\n"
             "  kafka:\n"
             "    bootstrap_servers: %s\n"
             "    topics: [orders_%s]\n"
             "    consumer_threads: 2\n"
             "%s"
             "trigger: {available_now: true}\n"
             "tables:\n"
             "  bronze_orders: {layer: bronze}\n",
             name, lake, sm_broker_bootstraps(broker), fmt_names[f], source);
    CU_ASSERT_FATAL(e2e_write_text(path, text));
}

/* Starts `smelter run <path>` with `env` (NULL or "NAME=value"); log at <dir>/<name>.log. */
static pid_t start_run(const char *name, const char *path, const char *env, char *log, size_t log_n)
{
    const char *bin = getenv("SMELTER_BIN");
    char *argv[] = {(char *)bin, "run", (char *)path, NULL};
    snprintf(log, log_n, "%s/%s.log", dir, name);
    return e2e_spawn(argv, env, log);
}

/* Waits for a run; its exit code (-1 on timeout, after killing it). */
static int finish_run(pid_t pid, const char *log)
{
    int code = -1;
    if (pid < 0) {
        return -1;
    }
    if (!e2e_wait(pid, RUN_TIMEOUT_MS, &code)) {
        fprintf(stderr, "%s: no exit within %d s, killed\n", log, RUN_TIMEOUT_MS / 1000);
        e2e_kill(pid);
        code = -1;
    }
    return code;
}

static void table_paths(const char *lake, const char *name, char *bronze, char *dead, size_t n)
{
    snprintf(bronze, n, "%s/bronze/bronze_orders", lake);
    snprintf(dead, n, "%s/bronze/%s_dead_letter", lake, name);
}

/* ---- checks -------------------------------------------------------------------------------- */

/* Bronze and dead letters of pipeline `name` (format f) against the truth file of f. */
static void check_against_truth(const char *lake, const char *name, int f)
{
    char bp[2048], dp[2048];
    char *bronze, *dead, *sql = NULL;
    json_t *rows, *row;

    table_paths(lake, name, bp, dp, sizeof bp);
    bronze = e2e_table_sql(bp, "1", false);
    dead = e2e_table_sql(dp, e2e_dead_empty, false);
    CU_ASSERT_FATAL(
        asprintf(
            &sql,
            "CREATE TEMP TABLE t AS SELECT \"partition\" AS p, \"offset\" AS o, key AS k, id,"
            " class FROM read_json('%s', format = 'newline_delimited') WHERE status = 'acked';"
            "CREATE TEMP TABLE b AS SELECT _kafka_partition AS p, _kafka_offset AS o,"
            " decode(_kafka_key) AS k, order_id AS id FROM %s;"
            "CREATE TEMP TABLE d AS SELECT \"partition\" AS p, \"offset\" AS o, decode(key) AS k,"
            " split_part(reason, ':', 1) AS why FROM %s;"
            "SELECT (SELECT count(*) FROM t) AS truth_n,"
            " (SELECT count(*) FROM t WHERE class = 'decode') AS truth_decode,"
            " (SELECT count(*) FROM b) AS bronze_n,"
            " (SELECT count(*) FROM d) AS dead_n,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM t WHERE class <> 'decode'"
            "   EXCEPT ALL SELECT p, o, k FROM b)) AS good_missing,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM b"
            "   EXCEPT ALL SELECT p, o, k FROM t WHERE class <> 'decode')) AS bronze_extra,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM t WHERE class = 'decode'"
            "   EXCEPT ALL SELECT p, o, k FROM d)) AS bad_missing,"
            " (SELECT count(*) FROM (SELECT p, o, k FROM d"
            "   EXCEPT ALL SELECT p, o, k FROM t WHERE class = 'decode')) AS dead_extra,"
            " (SELECT count(*) FROM b JOIN t USING (p, o) WHERE b.id IS DISTINCT FROM t.id)"
            "   AS id_mismatch,"
            " (SELECT count(*) FROM d WHERE why IS NULL OR why NOT IN (%s)) AS bad_reason,"
            " (SELECT string_agg(why || '=' || n, ', ' ORDER BY why) FROM"
            "   (SELECT why, count(*) AS n FROM d GROUP BY why)) AS reasons",
            truth[f], bronze, dead, fmt_reasons[f]) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "truth_n"), n_orders);
    CU_ASSERT(e2e_get_int(row, "truth_decode") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_n"), n_orders - e2e_get_int(row, "truth_decode"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_n"), e2e_get_int(row, "truth_decode"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "good_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "dead_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "id_mismatch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_reason"), 0);
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "%s (%s): %s\n", name, fmt_names[f], dump);
        free(dump);
    }
    if (e2e_get_int(row, "bad_reason") != 0) {
        json_t *bad;
        char *q = NULL, *dump;
        CU_ASSERT_FATAL(asprintf(&q,
                                 "SELECT reason FROM %s WHERE split_part(reason, ':', 1) NOT IN"
                                 " (%s) LIMIT 5",
                                 dead, fmt_reasons[f]) > 0);
        bad = sm_test_duckdb(q);
        dump = json_dumps(bad, JSON_COMPACT);
        fprintf(stderr, "unexpected reasons: %s\n", dump);
        free(dump);
        json_decref(bad);
        free(q);
    }
    json_decref(rows);
    free(sql);
    free(bronze);
    free(dead);
}

/* The decoded columns of a bronze relation, order_ts as epoch milliseconds; with the Kafka
 * positions when `positions`. (malloc'ed) */
static char *decoded_sql(const char *rel, bool positions)
{
    char *q = NULL;
    CU_ASSERT_FATAL(asprintf(&q,
                             "SELECT %sorder_id, customer_id, product_id, category,"
                             " CAST(quantity AS BIGINT) AS quantity, price,"
                             " epoch_ms(order_ts) AS order_ts_ms, status, device, country, coupon"
                             " FROM %s",
                             positions ? "_kafka_partition, _kafka_offset, _kafka_key, " : "",
                             rel) > 0);
    return q;
}

/* Rows only in a, rows only in b (multisets), of two bronze tables; with or without positions.
 */
static void diff_bronze(const char *ta, const char *tb, bool positions, int64_t *a_only,
                        int64_t *b_only, int64_t *a_n, int64_t *b_n)
{
    char *ra = e2e_table_sql(ta, "1", false), *rb = e2e_table_sql(tb, "1", false);
    char *qa = decoded_sql(ra, positions), *qb = decoded_sql(rb, positions);
    char *sql = NULL;
    json_t *rows, *row;

    CU_ASSERT_FATAL(asprintf(&sql,
                             "CREATE TEMP TABLE a AS %s; CREATE TEMP TABLE b AS %s;"
                             "SELECT (SELECT count(*) FROM a) AS a_n, (SELECT count(*) FROM b)"
                             " AS b_n,"
                             " (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b))"
                             " AS a_only,"
                             " (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a))"
                             " AS b_only",
                             qa, qb) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    *a_n = e2e_get_int(row, "a_n");
    *b_n = e2e_get_int(row, "b_n");
    *a_only = e2e_get_int(row, "a_only");
    *b_only = e2e_get_int(row, "b_only");
    json_decref(rows);
    free(sql);
    free(qa);
    free(qb);
    free(ra);
    free(rb);
}

/* Both bronze tables hold the same rows, Kafka positions included. */
static void check_same_bronze(const char *lake_a, const char *lake_b, const char *what)
{
    char ta[2048], tb[2048];
    int64_t a_only, b_only, a_n, b_n;

    snprintf(ta, sizeof ta, "%s/bronze/bronze_orders", lake_a);
    snprintf(tb, sizeof tb, "%s/bronze/bronze_orders", lake_b);
    diff_bronze(ta, tb, true, &a_only, &b_only, &a_n, &b_n);
    fprintf(stderr,
            "%s: %" PRId64 " vs %" PRId64 " rows, %" PRId64 " / %" PRId64 " only on one side\n",
            what, a_n, b_n, a_only, b_only);
    CU_ASSERT(a_n > 0);
    CU_ASSERT_EQUAL(a_n, b_n);
    CU_ASSERT_EQUAL(a_only, 0);
    CU_ASSERT_EQUAL(b_only, 0);
    if (a_only || b_only) {
        /* say whether only the positions differ */
        diff_bronze(ta, tb, false, &a_only, &b_only, &a_n, &b_n);
        fprintf(stderr, "%s without Kafka positions: %" PRId64 " / %" PRId64 " only on one side\n",
                what, a_only, b_only);
    }
}

/* The truth files of all formats put the same messages at the same positions with the same
 * fault classes: the ground truth is one. */
static void check_truths_agree(void)
{
    char *sql = NULL;
    json_t *rows, *row;
    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "CREATE TEMP TABLE j AS SELECT seq, \"partition\" AS p, \"offset\" AS o, key, id,"
                 " class, fault FROM read_json('%s', format = 'newline_delimited');"
                 "CREATE TEMP TABLE a AS SELECT seq, \"partition\" AS p, \"offset\" AS o, key, id,"
                 " class, fault FROM read_json('%s', format = 'newline_delimited');"
                 "CREATE TEMP TABLE pb AS SELECT seq, \"partition\" AS p, \"offset\" AS o, key, id,"
                 " class, fault FROM read_json('%s', format = 'newline_delimited');"
                 "SELECT (SELECT count(*) FROM (SELECT * FROM j EXCEPT ALL SELECT * FROM a)) AS ja,"
                 " (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM j)) AS aj,"
                 " (SELECT count(*) FROM (SELECT * FROM j EXCEPT ALL SELECT * FROM pb)) AS jp,"
                 " (SELECT count(*) FROM (SELECT * FROM pb EXCEPT ALL SELECT * FROM j)) AS pj",
                 truth[F_JSON], truth[F_AVRO], truth[F_PROTOBUF]) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "ja"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "aj"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "jp"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "pj"), 0);
    json_decref(rows);
    free(sql);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_run_formats_give_the_same_bronze_rows(void)
{
    char path[F_COUNT][1024], log[F_COUNT][1024], name[64], reg[1024];
    pid_t pid[F_COUNT];
    int64_t t0 = sm_mono_ns();

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    check_truths_agree();
    snprintf(reg, sizeof reg, "%s/schemas/registry", src_dir);
    for (int f = 0; f < F_COUNT; f++) {
        snprintf(name, sizeof name, "fmt_%s", fmt_names[f]);
        pipeline_file(name, f, reg, NULL, path[f], sizeof path[f], lakes[f], sizeof lakes[f]);
    }
    /* the three runs at once: they share nothing but the broker */
    for (int f = 0; f < F_COUNT; f++) {
        snprintf(name, sizeof name, "fmt_%s", fmt_names[f]);
        pid[f] = start_run(name, path[f], NULL, log[f], sizeof log[f]);
        CU_ASSERT(pid[f] > 0);
    }
    for (int f = 0; f < F_COUNT; f++) {
        int code = finish_run(pid[f], log[f]);
        CU_ASSERT_EQUAL(code, 0);
        if (code != 0) {
            fprintf(stderr, "%s: exit %d\n", fmt_names[f], code);
            e2e_print_tail(log[f], 3000);
        }
        ran[f] = code == 0;
    }
    fprintf(stderr, "three runs in %.1f s\n", (double)(sm_mono_ns() - t0) / 1e9);
    for (int f = 0; f < F_COUNT; f++) {
        if (ran[f]) {
            snprintf(name, sizeof name, "fmt_%s", fmt_names[f]);
            check_against_truth(lakes[f], name, f);
        }
    }
    CU_ASSERT_FATAL(ran[F_JSON]);
    if (ran[F_AVRO]) {
        check_same_bronze(lakes[F_JSON], lakes[F_AVRO], "json vs avro");
    }
    if (ran[F_PROTOBUF]) {
        check_same_bronze(lakes[F_JSON], lakes[F_PROTOBUF], "json vs protobuf");
    }
}

/* The reason of a dead letter, with every unknown_schema reason as one */
#define UNKNOWN_AS_ONE                                                                             \
    "CASE WHEN reason LIKE 'unknown_schema:%%' THEN 'unknown_schema' ELSE reason END AS reason"

static void test_run_avro_with_an_http_registry_gives_the_same_rows(void)
{
    char path[1024], lake[1024], log[1024], url[128], bp[2048], dp[2048], dpa[2048];
    char *da, *db, *sql = NULL;
    json_t *rows, *row;
    int code;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    CU_ASSERT_FATAL(ran[F_AVRO]);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mhd_port);
    pipeline_file("fmt_avro_http", F_AVRO, url, "${SMELTER_TEST_REGISTRY_AUTH}", path, sizeof path,
                  lake, sizeof lake);
    code = finish_run(
        start_run("fmt_avro_http", path, "SMELTER_TEST_REGISTRY_AUTH=" GOOD_AUTH, log, sizeof log),
        log);
    CU_ASSERT_EQUAL(code, 0);
    if (code != 0) {
        e2e_print_tail(log, 3000);
        return;
    }
    check_against_truth(lake, "fmt_avro_http", F_AVRO);
    check_same_bronze(lakes[F_AVRO], lake, "avro directory vs http registry");

    /* the same dead letters, reasons included — except that an unknown schema id says what
     * the HTTP registry answered (a directory has nothing to say) */
    table_paths(lake, "fmt_avro_http", bp, dp, sizeof bp);
    table_paths(lakes[F_AVRO], "fmt_avro", bp, dpa, sizeof bp);
    da = e2e_table_sql(dpa, e2e_dead_empty, false);
    db = e2e_table_sql(dp, e2e_dead_empty, false);
    CU_ASSERT_FATAL(asprintf(&sql,
                             "CREATE TEMP TABLE a AS SELECT \"partition\", \"offset\", key, value,"
                             " " UNKNOWN_AS_ONE ", error_offset FROM %s;"
                             "CREATE TEMP TABLE b AS SELECT \"partition\", \"offset\", key, value,"
                             " " UNKNOWN_AS_ONE ", error_offset FROM %s;"
                             "SELECT (SELECT count(*) FROM a) AS a_n,"
                             " (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b))"
                             " AS a_only,"
                             " (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a))"
                             " AS b_only",
                             da, db) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    row = json_array_get(rows, 0);
    CU_ASSERT(e2e_get_int(row, "a_n") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "a_only"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "b_only"), 0);
    json_decref(rows);
    free(sql);
    free(da);
    free(db);
}

static bool file_contains(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0;
    sm_error err;
    bool found;
    if (sm_read_file(path, 64 << 20, &text, &len, &err) != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* A wrong password fails the batch (the registry is not an unknown id: the good records must
 * not become dead letters), names the URL but not the password, commits nothing; the right
 * password on restart reads it all. */
static void test_run_avro_with_a_wrong_registry_password_fails_and_commits_nothing(void)
{
    char path[1024], lake[1024], log[1024], url[128], bp[2048], dp[2048];
    int code;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mhd_port);
    pipeline_file("fmt_avro_badauth", F_AVRO, url, "${SMELTER_TEST_REGISTRY_AUTH}", path,
                  sizeof path, lake, sizeof lake);
    code = finish_run(start_run("fmt_avro_badauth", path,
                                "SMELTER_TEST_REGISTRY_AUTH=user:" WRONG_PASS, log, sizeof log),
                      log);
    /* `smelter help`: 0 ok, 1 runtime failure, 2 usage or configuration error */
    fprintf(stderr, "wrong password: exit %d\n", code);
    CU_ASSERT(code == 1 || code == 2);
    CU_ASSERT(file_contains(log, url));
    CU_ASSERT(!file_contains(log, WRONG_PASS));
    if (code == 0 || !file_contains(log, url) || file_contains(log, WRONG_PASS)) {
        e2e_print_tail(log, 3000);
    }
    table_paths(lake, "fmt_avro_badauth", bp, dp, sizeof bp);
    CU_ASSERT_EQUAL(e2e_table_rows(bp), 0);
    CU_ASSERT_EQUAL(e2e_table_rows(dp), 0);
    /* and the checkpoint has no batch: a restart with the right password reads it all */
    snprintf(bp, sizeof bp, "%s/_checkpoints/fmt_avro_badauth/commits", lake);
    CU_ASSERT_EQUAL(e2e_latest_entry(bp, NULL), -1);

    /* the same pipeline with the right password then reads everything */
    code = finish_run(start_run("fmt_avro_badauth", path, "SMELTER_TEST_REGISTRY_AUTH=" GOOD_AUTH,
                                log, sizeof log),
                      log);
    CU_ASSERT_EQUAL(code, 0);
    if (code != 0) {
        e2e_print_tail(log, 3000);
        return;
    }
    check_against_truth(lake, "fmt_avro_badauth", F_AVRO);
    if (ran[F_AVRO]) {
        check_same_bronze(lakes[F_AVRO], lake, "avro directory vs http registry after a retry");
    }
}

static CU_TestInfo tests[] = {
    {"json, avro and protobuf give the same bronze rows",
     test_run_formats_give_the_same_bronze_rows},
    {"avro with an http registry gives the same rows",
     test_run_avro_with_an_http_registry_gives_the_same_rows},
    {"avro with a wrong registry password fails and commits nothing",
     test_run_avro_with_a_wrong_registry_password_fails_and_commits_nothing},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("run_formats", setup, teardown, tests)
