/* Helpers shared by the end-to-end tests (e2e_util.h). */
#include "e2e_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "sm_test.h"
#include "storage/delta.h"
#include "stream/engine.h"
#include "stream/pipeline.h"

extern char **environ;

#if defined(__SANITIZE_ADDRESS__)
#define E2E_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define E2E_ASAN 1
#endif
#endif
#ifndef E2E_ASAN
#define E2E_ASAN 0
#endif

bool e2e_sanitized(void)
{
    return E2E_ASAN || getenv("SMELTER_SANITIZED") != NULL;
}

const char e2e_orders_avsc[] =
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

const char e2e_dead_empty[] =
    "NULL::VARCHAR AS topic, NULL::INTEGER AS \"partition\", NULL::BIGINT AS \"offset\", "
    "NULL::TIMESTAMP AS kafka_timestamp, NULL::BLOB AS key, NULL::BLOB AS value, "
    "NULL::VARCHAR AS reason, NULL::INTEGER AS error_offset, NULL::BIGINT AS _batch_id, "
    "NULL::TIMESTAMP AS _ingestion_timestamp";

bool e2e_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return false;
    }
    fputs(text, f);
    return fclose(f) == 0;
}

void e2e_orders_conf(prod_conf *c, const char *bootstrap, const char *topic, int64_t count,
                     int64_t seed, double rate, const char *truth_path)
{
    memset(c, 0, sizeof *c);
    c->bootstrap = bootstrap;
    c->topic = topic;
    c->gen.dataset = DG_ORDERS;
    c->gen.seed = seed;
    c->gen.customers = 10000;
    c->gen.products = 2000;
    c->gen.bad_ratio = 0.05;
    c->gen.dup_ratio = 0.01;
    c->gen.late_ratio = 0.01;
    c->gen.late_max_ms = 3600000;
    c->gen.max_ooo_ms = 5000;
    c->gen.start_ms = 1767225600000;
    c->gen.events_per_sec = 20;
    c->count = count;
    c->rate = rate;
    c->truth_path = truth_path;
    c->compression = "lz4";
    c->acks = "all";
    c->linger_ms = 5;
    c->connect_timeout_ms = 10000;
    c->flush_timeout_ms = 120000;
}

bool e2e_pipeline_file(const char *dir, const char *name, const char *bootstrap,
                       const char *avsc_path, const char *trigger, const char *kafka_extra,
                       char *path, size_t path_n, char *lake, size_t lake_n)
{
    char text[8192];
    snprintf(lake, lake_n, "%s/lake-%s", dir, name);
    snprintf(path, path_n, "%s/%s.yaml", dir, name);
    snprintf(text, sizeof text,
             "pipeline: %s\n"
             "lake: %s\n"
             "source:\n"
             "  kafka:\n"
             "    bootstrap_servers: %s\n"
             "    topics: [orders]\n"
             "    consumer_threads: 2\n"
             "%s"
             "  schema: %s\n"
             "trigger: %s\n"
             "tables:\n"
             "  bronze_orders: {layer: bronze}\n",
             name, lake, bootstrap, kafka_extra, avsc_path, trigger);
    return e2e_write_text(path, text);
}

/* ---- smelter as a child process ------------------------------------------------------------- */

pid_t e2e_spawn(char *const argv[], const char *env_extra, const char *log_path)
{
    size_t n = 0;
    char **envp;
    pid_t pid;

    while (environ[n]) {
        n++;
    }
    /* built before the fork: the child may only make async-signal-safe calls */
    envp = calloc(n + 2, sizeof *envp);
    if (!envp) {
        return -1;
    }
    memcpy(envp, environ, n * sizeof *envp);
    if (env_extra) {
        envp[n++] = (char *)env_extra;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        free(envp);
        return -1;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
            _exit(97);
        }
        execve(argv[0], argv, envp);
        _exit(98);
    }
    free(envp);
    return pid;
}

static int status_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

bool e2e_wait(pid_t pid, int64_t timeout_ms, int *code)
{
    int64_t deadline = sm_mono_ns() + timeout_ms * 1000000;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid) {
            *code = status_code(st);
            return true;
        }
        if (r < 0 && errno != EINTR) {
            perror("waitpid");
            *code = -1;
            return true;
        }
        if (timeout_ms >= 0 && sm_mono_ns() >= deadline) {
            return false;
        }
        if (r == 0) {
            sm_sleep_ms(5);
        }
    }
}

int e2e_kill(pid_t pid)
{
    int code = -1;
    kill(pid, SIGKILL);
    e2e_wait(pid, -1, &code);
    return code;
}

void e2e_print_tail(const char *log_path, long bytes)
{
    FILE *f = fopen(log_path, "r");
    char buf[4096];
    size_t n;
    if (!f) {
        return;
    }
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > bytes) {
        fseek(f, -bytes, SEEK_END);
    } else {
        rewind(f);
    }
    fprintf(stderr, "---- %s (end) ----\n", log_path);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        fwrite(buf, 1, n, stderr);
    }
    fprintf(stderr, "---- end of %s ----\n", log_path);
    fclose(f);
}

/* ---- tables and checkpoints ------------------------------------------------------------------ */

char *e2e_table_sql(const char *table, const char *empty_cols, bool hive)
{
    delta_snapshot *s = NULL;
    sm_buf b = SM_BUF_INIT, path = SM_BUF_INIT;
    sm_error err;
    int64_t v = -1;
    char tail[64];

    CU_ASSERT_EQUAL_FATAL(delta_latest_version(table, &v, &err), SM_OK);
    if (v >= 0) {
        int rc = delta_snapshot_load(table, NULL, &s, &err);
        if (rc != SM_OK) {
            fprintf(stderr, "%s: %s\n", table, err.msg);
        }
        CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    }
    if (!s || s->n_files == 0) {
        char *q = NULL;
        delta_snapshot_free(s);
        CU_ASSERT_FATAL(asprintf(&q, "(SELECT %s WHERE false)", empty_cols) > 0);
        return q;
    }
    sm_buf_append(&b, "read_parquet([", 14, NULL);
    for (int64_t i = 0; i < s->n_files; i++) {
        sm_buf_reset(&path);
        CU_ASSERT_EQUAL_FATAL(delta_file_local_path(table, s->files[i].path, &path, &err), SM_OK);
        sm_buf_append(&b, i ? ", '" : "'", i ? 3 : 1, NULL);
        sm_buf_append(&b, path.data, path.len, NULL);
        sm_buf_append(&b, "'", 1, NULL);
    }
    snprintf(tail, sizeof tail, "], hive_partitioning = %s)", hive ? "true" : "false");
    sm_buf_append(&b, tail, strlen(tail) + 1, NULL); /* with the NUL */
    delta_snapshot_free(s);
    sm_buf_free(&path);
    return (char *)b.data;
}

int64_t e2e_table_rows(const char *table)
{
    delta_snapshot *s = NULL;
    sm_error err;
    int64_t v = -1, rows = 0;

    if (delta_latest_version(table, &v, &err) != SM_OK) {
        return -1;
    }
    if (v < 0) {
        return 0;
    }
    if (delta_snapshot_load(table, NULL, &s, &err) != SM_OK) {
        fprintf(stderr, "%s: %s\n", table, err.msg);
        return -1;
    }
    for (int64_t i = 0; i < s->n_files && rows >= 0; i++) {
        json_t *stats = s->files[i].stats ? json_loads(s->files[i].stats, 0, NULL) : NULL;
        json_t *n = json_object_get(stats, "numRecords");
        rows = json_is_integer(n) ? rows + json_integer_value(n) : -1;
        json_decref(stats);
    }
    delta_snapshot_free(s);
    return rows;
}

int64_t e2e_get_int(json_t *row, const char *k)
{
    json_t *v = json_object_get(row, k);
    if (!v) {
        fprintf(stderr, "no column %s\n", k);
        return -999;
    }
    return sm_test_int(v);
}

int64_t e2e_latest_entry(const char *dir, int64_t *count_out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int64_t latest = -1, count = 0;

    while (d && (de = readdir(d)) != NULL) {
        char *end;
        long long v;
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        v = strtoll(de->d_name, &end, 10);
        if (*end != '\0') {
            continue;
        }
        count++;
        latest = v > latest ? v : latest;
    }
    if (d) {
        closedir(d);
    }
    if (count_out) {
        *count_out = count;
    }
    return latest;
}

int e2e_run_in_process(const char *path, sm_batch_report *tot)
{
    sm_pipeline *p = NULL;
    sm_engine *e = NULL;
    sm_engine_opts o = {0};
    sm_error err;
    int rc;

    memset(tot, 0, sizeof *tot);
    rc = sm_pipeline_load(path, NULL, NULL, &p, &err);
    if (rc != SM_OK) {
        fprintf(stderr, "pipeline: %s\n", err.msg);
        return rc;
    }
    o.available_now = true;
    rc = sm_engine_open(p, &o, &e, &err);
    if (rc == SM_OK) {
        rc = sm_engine_run(e, &err);
        sm_engine_totals(e, tot);
    }
    if (rc != SM_OK) {
        fprintf(stderr, "engine: %s\n", err.msg);
    }
    sm_engine_close(e);
    sm_pipeline_free(p);
    return rc;
}
