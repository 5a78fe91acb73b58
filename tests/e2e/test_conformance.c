/*
 * Conformance through the whole pipeline: hand-made malformed and edge-case payloads for each
 * format (tests/e2e/conformance/<format>.tsv, written by gen.py there) go to a one-partition
 * topic of the embedded broker, in file order (case i at offset i, key = the case's name);
 * `smelter run --available-now` reads them into Delta tables; DuckDB reads the tables back.
 *
 * Each case lands exactly once: in bronze with the expected values (the data columns as
 * DuckDB's to_json renders them; columns the case does not name must be null), or in the
 * dead-letter table with a reason starting with the expected reason name (and the expected
 * error_offset when the case gives one), its raw bytes and its key. Nothing crashes: smelter
 * exits 0. A case marked "xfail" is a known bug: it is reported, not counted as a failure.
 *
 * Numbers compare as numbers: integers exactly, reals within a relative 1e-7 (FLOAT columns
 * render as DuckDB's shortest float text, the expectation holds the float widened to double).
 */
#include <inttypes.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "e2e_util.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"

typedef struct ccase {
    char *name;
    uint8_t *payload; /* NULL: a null value (tombstone) */
    size_t len;
    char *want; /* "ok {...}" or "dead:<reason>[@offset]" */
    bool xfail;
    bool seen;
} ccase;

typedef struct cset {
    ccase *cases;
    int n;
} cset;

static sm_broker *broker;
static char *dir;
static char conf_dir[1024];

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Reads <conf_dir>/<file>: name TAB hex TAB expected lines ('#' comments). */
static bool load_cases(const char *file, cset *s)
{
    char path[2048], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", conf_dir, file);
    f = fopen(path, "r");
    if (!f) {
        perror(path);
        return false;
    }
    memset(s, 0, sizeof *s);
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *name, *hex, *want;
        ccase *c;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0 || line[0] == '#') {
            continue;
        }
        name = line;
        hex = strchr(name, '\t');
        want = hex ? strchr(hex + 1, '\t') : NULL;
        if (!hex || !want) {
            fprintf(stderr, "%s: bad line: %s\n", path, line);
            fclose(f);
            free(line);
            return false;
        }
        *hex++ = '\0';
        *want++ = '\0';
        s->cases = realloc(s->cases, (size_t)(s->n + 1) * sizeof *s->cases);
        c = &s->cases[s->n++];
        memset(c, 0, sizeof *c);
        c->name = strdup(name);
        if (strncmp(want, "xfail ", 6) == 0) {
            c->xfail = true;
            want += 6;
        }
        c->want = strdup(want);
        if (strcmp(hex, "-") != 0) {
            size_t hl = strlen(hex);
            c->len = hl / 2;
            c->payload = malloc(c->len + 1);
            for (size_t i = 0; i < c->len; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0 || hl % 2) {
                    fprintf(stderr, "%s: bad hex in case %s\n", path, name);
                    fclose(f);
                    free(line);
                    return false;
                }
                c->payload[i] = (uint8_t)(hi << 4 | lo);
            }
        }
    }
    free(line);
    fclose(f);
    return s->n > 0;
}

static void free_cases(cset *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->cases[i].name);
        free(s->cases[i].payload);
        free(s->cases[i].want);
    }
    free(s->cases);
    memset(s, 0, sizeof *s);
}

/* Produces every case to partition 0 of `topic`, in order. */
static bool produce(const char *topic, const cset *s)
{
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;
    bool good = true;
    sm_error err;

    if (sm_broker_create_topic(broker, topic, 1, &err) != SM_OK) {
        fprintf(stderr, "topic %s: %s\n", topic, err.msg);
        return false;
    }
    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "enable.idempotence", "true", errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "max.in.flight.requests.per.connection", "1", errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", errstr);
        return false;
    }
    for (int i = 0; i < s->n && good; i++) {
        const ccase *c = &s->cases[i];
        good = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_KEY(c->name, strlen(c->name)),
                                 RD_KAFKA_V_VALUE(c->payload, c->payload ? c->len : 0),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        good = false;
    }
    rd_kafka_destroy(rk);
    if (!good) {
        fprintf(stderr, "produce to %s failed\n", topic);
    }
    return good;
}

/* Writes the pipeline <dir>/<name>.yaml over `topic` with `source_extra` lines of source:. */
static void pipeline(const char *name, const char *topic, const char *source_extra, char *path,
                     size_t n, char *lake, size_t lake_n)
{
    char text[8192];
    snprintf(lake, lake_n, "%s/lake-%s", dir, name);
    snprintf(path, n, "%s/%s.yaml", dir, name);
    snprintf(text, sizeof text,
             "pipeline: %s\n"
             "lake: %s\n"
             "source:\n"
             "  kafka:\n"
             "    bootstrap_servers: %s\n"
             "    topics: [%s]\n"
             "%s"
             "trigger: {available_now: true}\n"
             "tables:\n"
             "  bronze_conf: {layer: bronze}\n",
             name, lake, sm_broker_bootstraps(broker), topic, source_extra);
    CU_ASSERT_FATAL(e2e_write_text(path, text));
}

static int run_smelter(const char *path, const char *log)
{
    const char *bin = getenv("SMELTER_BIN");
    char *argv[] = {(char *)bin,   "run",  (char *)path, "--available-now",
                    "--log-level", "warn", NULL};
    int code = -1;
    pid_t pid = e2e_spawn(argv, NULL, log);
    if (pid < 0) {
        return -1;
    }
    if (!e2e_wait(pid, 120000, &code)) {
        fprintf(stderr, "smelter run did not end within 120 s\n");
        return e2e_kill(pid);
    }
    return code;
}

/* Numbers as numbers (integers exactly, reals within 1e-7 relative); objects by keys. */
static bool same_json(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x, y;
        if (json_is_integer(a) && json_is_integer(b)) {
            return json_integer_value(a) == json_integer_value(b);
        }
        x = json_number_value(a);
        y = json_number_value(b);
        return x == y || fabs(x - y) <= 1e-7 * fmax(fabs(x), fabs(y));
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!same_json(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !same_json(v, w)) {
                return false;
            }
        }
        return true;
    }
    return json_equal(a, b);
}

/* Drops the top-level null members and the metadata columns (names starting with '_'). */
static void strip(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v)
    {
        if (json_is_null(v) || k[0] == '_') {
            json_object_del(o, k);
        }
    }
}

typedef struct tally {
    int ok, dead, failed, xfail_hit, xfail_fixed;
    char reasons[2048];
} tally;

/* Judges one outcome of case c: `row` is the bronze row's JSON (NULL when dead), `reason`/
 * `error_offset` the dead letter's. Returns true when it matches. */
static bool judge(const ccase *c, const char *row, const char *reason, int64_t error_offset,
                  char *why, size_t why_n)
{
    if (strncmp(c->want, "ok ", 3) == 0) {
        json_t *want, *got;
        bool same;
        if (!row) {
            snprintf(why, why_n, "dead letter '%s' (error_offset %" PRId64 ")", reason,
                     error_offset);
            return false;
        }
        want = json_loads(c->want + 3, JSON_ALLOW_NUL, NULL);
        got = json_loads(row, JSON_ALLOW_NUL, NULL);
        if (!want || !got) {
            /* integers past int64 (UBIGINT columns): compare those as reals */
            json_decref(want);
            json_decref(got);
            want = json_loads(c->want + 3, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
            got = json_loads(row, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
        }
        if (!want || !got) {
            snprintf(why, why_n, "unparsable JSON (want %s, got %s)", c->want + 3, row);
            json_decref(want);
            json_decref(got);
            return false;
        }
        strip(want);
        strip(got);
        same = same_json(want, got);
        if (!same) {
            char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
            snprintf(why, why_n, "row %s", g);
            free(g);
        }
        json_decref(want);
        json_decref(got);
        return same;
    }
    if (strncmp(c->want, "dead:", 5) == 0) {
        const char *r = c->want + 5, *at = strchr(r, '@');
        size_t rl = at ? (size_t)(at - r) : strlen(r);
        if (!reason) {
            snprintf(why, why_n, "in bronze: %s", row);
            return false;
        }
        if (strncmp(reason, r, rl) != 0 || (reason[rl] != ':' && reason[rl] != '\0')) {
            snprintf(why, why_n, "reason '%s' (error_offset %" PRId64 ")", reason, error_offset);
            return false;
        }
        if (at && strtoll(at + 1, NULL, 10) != error_offset) {
            snprintf(why, why_n, "error_offset %" PRId64 " ('%s')", error_offset, reason);
            return false;
        }
        return true;
    }
    snprintf(why, why_n, "bad expectation '%s'", c->want);
    return false;
}

static void count_reason(tally *t, const char *reason)
{
    char name[64], *p;
    size_t n = strcspn(reason, ":");
    snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), reason);
    /* "name=count" entries, space separated */
    p = t->reasons;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == t->reasons || p[-1] == ' ') && p[strlen(name)] == '=') {
            char rest[2048];
            int v = atoi(p + strlen(name) + 1);
            char *end = strchr(p, ' ');
            snprintf(rest, sizeof rest, "%s", end ? end : "");
            snprintf(p, sizeof t->reasons - (size_t)(p - t->reasons), "%s=%d%s", name, v + 1, rest);
            return;
        }
        p += strlen(name);
    }
    snprintf(t->reasons + strlen(t->reasons), sizeof t->reasons - strlen(t->reasons), "%s%s=1",
             t->reasons[0] ? " " : "", name);
}

/* Reads the lake of pipeline `name` back and checks every case of `s`. */
static void check(const char *label, const char *lake, const char *name, cset *s)
{
    char bp[2048], dp[2048];
    char *bronze, *dead, *sql = NULL;
    json_t *rows;
    size_t i;
    json_t *r;
    tally t;

    memset(&t, 0, sizeof t);
    snprintf(bp, sizeof bp, "%s/bronze/bronze_conf", lake);
    snprintf(dp, sizeof dp, "%s/bronze/%s_dead_letter", lake, name);
    bronze = e2e_table_sql(bp, "NULL::BIGINT AS _kafka_offset, NULL::BLOB AS _kafka_key", false);
    dead = e2e_table_sql(dp, e2e_dead_empty, false);
    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "SELECT 'b' AS kind, t._kafka_offset AS o, decode(t._kafka_key) AS k,"
                 " to_json(t)::VARCHAR AS j, NULL::VARCHAR AS reason, NULL::BIGINT AS eo,"
                 " NULL::VARCHAR AS hx, t._kafka_partition AS p FROM %s t"
                 " UNION ALL SELECT 'd', \"offset\", decode(key), NULL, reason, error_offset,"
                 " hex(value), \"partition\" FROM %s ORDER BY o",
                 bronze, dead) > 0);
    rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    json_array_foreach(rows, i, r)
    {
        int64_t o = e2e_get_int(r, "o");
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *key = json_string_value(json_object_get(r, "k"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        json_t *eo = json_object_get(r, "eo");
        int64_t error_offset = json_is_null(eo) || !eo ? -1 : sm_test_int(eo);
        bool is_dead = kind && kind[0] == 'd';
        char why[1024];
        ccase *c;

        if (o < 0 || o >= s->n) {
            fprintf(stderr, "%s: a row at offset %" PRId64 " that no case made\n", label, o);
            CU_FAIL("row at an unknown offset");
            continue;
        }
        c = &s->cases[o];
        if (c->seen) {
            fprintf(stderr, "%s: case %s (offset %" PRId64 ") landed twice\n", label, c->name, o);
            CU_FAIL("a case landed twice");
            continue;
        }
        c->seen = true;
        if (e2e_get_int(r, "p") != 0 || !key || strcmp(key, c->name) != 0) {
            fprintf(stderr, "%s: case %s: wrong key/partition (%s)\n", label, c->name,
                    key ? key : "null");
            t.failed++;
        }
        if (is_dead) {
            /* the raw bytes go to the dead letter as they were (none for a tombstone) */
            const char *hx = json_string_value(json_object_get(r, "hx"));
            bool bytes_ok = c->payload ? hx && strlen(hx) == 2 * c->len : hx == NULL;
            for (size_t b = 0; bytes_ok && c->payload && b < c->len; b++) {
                bytes_ok = hexval(hx[2 * b]) == c->payload[b] >> 4 &&
                           hexval(hx[2 * b + 1]) == (c->payload[b] & 15);
            }
            if (!bytes_ok) {
                fprintf(stderr, "%s: case %s: dead-letter value differs from the payload\n", label,
                        c->name);
                t.failed++;
            }
            t.dead++;
            count_reason(&t, reason ? reason : "(null)");
        } else {
            t.ok++;
        }
        if (judge(c, is_dead ? NULL : json_string_value(json_object_get(r, "j")),
                  is_dead ? (reason ? reason : "") : NULL, error_offset, why, sizeof why)) {
            if (c->xfail) {
                fprintf(stderr, "%s: case %s is marked xfail but now passes\n", label, c->name);
                t.xfail_fixed++;
            }
        } else if (c->xfail) {
            fprintf(stderr, "%s: known failure %s: want %s, got %s\n", label, c->name, c->want,
                    why);
            t.xfail_hit++;
        } else {
            fprintf(stderr, "%s: FAIL case %s (offset %" PRId64 "): want %s, got %s\n", label,
                    c->name, o, c->want, why);
            t.failed++;
        }
    }
    for (int k = 0; k < s->n; k++) {
        if (!s->cases[k].seen) {
            fprintf(stderr, "%s: FAIL case %s (offset %d) is in neither table\n", label,
                    s->cases[k].name, k);
            t.failed++;
        }
    }
    fprintf(stderr, "%s: %d cases, %d ok, %d dead (%s), %d failed, %d known failures\n", label,
            s->n, t.ok, t.dead, t.reasons, t.failed, t.xfail_hit);
    CU_ASSERT_EQUAL(t.failed, 0);
    CU_ASSERT_EQUAL(t.ok + t.dead, s->n);
    json_decref(rows);
    free(sql);
    free(bronze);
    free(dead);
}

/* Produces `file`'s cases to `topic`, runs pipeline `name` and checks the lake. */
static void conform(const char *file, const char *topic, const char *name, const char *source_extra,
                    int min_cases)
{
    char path[1024], lake[1024], log[1024];
    cset s = {0};
    int code;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    CU_ASSERT_FATAL(load_cases(file, &s));
    CU_ASSERT(s.n >= min_cases);
    CU_ASSERT_FATAL(produce(topic, &s));
    pipeline(name, topic, source_extra, path, sizeof path, lake, sizeof lake);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    code = run_smelter(path, log);
    CU_ASSERT_EQUAL(code, 0);
    if (code != 0) {
        fprintf(stderr, "smelter run %s: exit %d\n", name, code);
        e2e_print_tail(log, 4000);
    } else {
        check(file, lake, name, &s);
    }
    free_cases(&s);
}

static int setup(void)
{
    sm_broker_conf bc = {1, 1, 1, 0};
    sm_error err;
    const char *src = getenv("SMELTER_SOURCE_DIR");

    snprintf(conf_dir, sizeof conf_dir, "%s/tests/e2e/conformance", src ? src : ".");
    dir = sm_test_tmpdir("conformance");
    if (sm_broker_start(&bc, &broker, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
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

static void test_conformance_json(void)
{
    char extra[4096];
    snprintf(extra, sizeof extra, "  format: json\n  schema: %s/conformance.avsc\n", conf_dir);
    conform("json.tsv", "conf_json", "cjson", extra, 200);
}

static void test_conformance_json_unknown_fields_dead_letter(void)
{
    char extra[4096];
    snprintf(extra, sizeof extra,
             "  format: json\n  schema: %s/conformance.avsc\n  json:\n"
             "    unknown_fields: dead_letter\n",
             conf_dir);
    conform("json_unknown.tsv", "conf_json_unknown", "cjsonu", extra, 5);
}

static void test_conformance_avro(void)
{
    char extra[4096];
    snprintf(extra, sizeof extra,
             "  format: avro\n  schema: %s/conformance.avsc\n  schema_registry:\n"
             "    url: %s/registry\n",
             conf_dir, conf_dir);
    conform("avro.tsv", "conf_avro", "cavro", extra, 200);
}

static void test_conformance_protobuf(void)
{
    char extra[4096];
    snprintf(extra, sizeof extra,
             "  format: protobuf\n  schema: %s/conformance.desc\n  protobuf:\n"
             "    message: conf.Conf\n",
             conf_dir);
    conform("protobuf.tsv", "conf_protobuf", "cproto", extra, 200);
}

static CU_TestInfo tests[] = {
    {"json cases land right", test_conformance_json},
    {"json unknown fields go to the dead letter", test_conformance_json_unknown_fields_dead_letter},
    {"avro cases land right", test_conformance_avro},
    {"protobuf cases land right", test_conformance_protobuf},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("conformance", setup, teardown, tests)
