/*
 * End to end: the embedded broker in-process, 200k orders from the producer with faults, read
 * back by a plain librdkafka consumer; every consumed message must match its ground-truth line
 * (partition, offset, key, length, fingerprint) and the bytes the generator makes for that seq.
 */
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/log.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"
#include "tools/producer.h"

#define N_MSGS     200000
#define PARTITIONS 32

typedef struct consumed {
    char *key;
    char *payload;
    size_t len;
    bool seen_in_truth;
} consumed;

/* consumed messages per partition, indexed by offset (offsets start at 0 on a new topic) */
typedef struct partition_log {
    consumed *at;
    int64_t cap;
} partition_log;

static sm_broker *broker;
static char *dir;

static consumed *slot_for(partition_log *pl, int64_t offset)
{
    if (offset >= pl->cap) {
        int64_t cap = pl->cap ? pl->cap : 1024;
        while (cap <= offset) {
            cap *= 2;
        }
        pl->at = realloc(pl->at, (size_t)cap * sizeof *pl->at);
        memset(pl->at + pl->cap, 0, (size_t)(cap - pl->cap) * sizeof *pl->at);
        pl->cap = cap;
    }
    return &pl->at[offset];
}

static prod_conf base_conf(const char *truth)
{
    prod_conf c = {0};
    c.bootstrap = sm_broker_bootstraps(broker);
    c.topic = "orders";
    c.gen.dataset = DG_ORDERS;
    c.gen.seed = 7;
    c.gen.customers = 10000;
    c.gen.products = 2000;
    c.gen.bad_ratio = 0.05;
    c.gen.dup_ratio = 0.01;
    c.gen.late_max_ms = 3600000;
    c.gen.max_ooo_ms = 5000;
    c.gen.start_ms = 1767225600000;
    c.gen.events_per_sec = 20;
    c.count = N_MSGS;
    c.truth_path = truth;
    c.compression = "lz4";
    c.acks = "all";
    c.linger_ms = 5;
    c.connect_timeout_ms = 10000;
    c.flush_timeout_ms = 60000;
    return c;
}

/* Reads every partition of `topic` from the beginning until `expect` messages or 60 s. */
static int64_t consume_all(const char *topic, partition_log *by_pos, int64_t expect,
                           int64_t *per_partition)
{
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    int64_t got = 0, deadline = sm_mono_ns() + INT64_C(60000000000);

    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "group.id", "e2e-check", errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "enable.auto.commit", "false", errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof errstr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
    for (int p = 0; p < PARTITIONS; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    CU_ASSERT_EQUAL_FATAL(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);

    while (got < expect && sm_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            continue;
        }
        if (!m->err) {
            int64_t slot = m->offset;
            CU_ASSERT_FATAL(m->partition >= 0 && m->partition < PARTITIONS);
            CU_ASSERT_FATAL(slot >= 0 && slot < N_MSGS);
            consumed *c = slot_for(&by_pos[m->partition], slot);
            CU_ASSERT_PTR_NULL(c->payload); /* each (partition, offset) once */
            c->payload = malloc(m->len + 1);
            memcpy(c->payload, m->payload, m->len);
            c->len = m->len;
            c->key = strndup(m->key, m->key_len);
            per_partition[m->partition]++;
            got++;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

static void test_e2e_200k_orders_match_ground_truth(void)
{
    char truth_path[4096];
    prod_conf conf;
    prod_report rep;
    sm_error err;
    partition_log by_pos[PARTITIONS] = {{0}};
    int64_t per_partition[PARTITIONS] = {0};
    int64_t got, lines = 0, faults[DG_FAULT_COUNT] = {0};
    char **payload_of_seq = calloc(N_MSGS, sizeof(char *));
    size_t *len_of_seq = calloc(N_MSGS, sizeof(size_t));
    FILE *f;
    char line[4096];
    dg_gen *g;

    snprintf(truth_path, sizeof truth_path, "%s/truth.ndjson", dir);
    conf = base_conf(truth_path);
    CU_ASSERT_EQUAL_FATAL(prod_run(&conf, NULL, &rep, &err), SM_OK);
    CU_ASSERT_EQUAL(rep.produced, N_MSGS);
    CU_ASSERT_EQUAL(rep.acked, N_MSGS);
    CU_ASSERT_EQUAL(rep.failed, 0);
    CU_ASSERT(rep.latency_p50_us > 0 && rep.latency_p50_us <= rep.latency_p99_us);
    fprintf(stderr, "\nproduced %" PRId64 " in %.2fs (%.0f msg/s, p99 %.1f ms)\n", rep.acked,
            rep.elapsed_s, rep.msgs_per_s, (double)rep.latency_p99_us / 1000);

    got = consume_all("orders", by_pos, N_MSGS, per_partition);
    CU_ASSERT_EQUAL_FATAL(got, N_MSGS);
    for (int p = 0; p < PARTITIONS; p++) {
        CU_ASSERT(per_partition[p] > 0); /* keys spread over every partition */
    }

    f = fopen(truth_path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof line, f)) {
        json_error_t jerr;
        json_t *t = json_loads(line, 0, &jerr);
        int64_t seq, part, off;
        const char *key, *fault, *status, *fnv;
        json_int_t bytes;
        consumed *c;
        char hex[17];

        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL_FATAL(json_unpack(t, "{s:I,s:I,s:I,s:s,s:s,s:s,s:I,s:s}", "seq", &seq,
                                          "partition", &part, "offset", &off, "key", &key, "fault",
                                          &fault, "status", &status, "bytes", &bytes, "fnv1a64",
                                          &fnv),
                              0);
        lines++;
        CU_ASSERT_STRING_EQUAL(status, "acked");
        CU_ASSERT_FATAL(seq >= 0 && seq < N_MSGS && part >= 0 && part < PARTITIONS && off >= 0 &&
                        off < N_MSGS);
        CU_ASSERT_FATAL(off < per_partition[part]);
        c = &by_pos[part].at[off];
        CU_ASSERT_PTR_NOT_NULL_FATAL(c->payload);
        CU_ASSERT_FALSE(c->seen_in_truth);
        c->seen_in_truth = true;
        CU_ASSERT_STRING_EQUAL(c->key, key);
        CU_ASSERT_EQUAL(c->len, (size_t)bytes);
        snprintf(hex, sizeof hex, "%016" PRIx64, dg_fnv1a64(c->payload, c->len));
        CU_ASSERT_STRING_EQUAL(hex, fnv);
        CU_ASSERT_PTR_NULL(payload_of_seq[seq]);
        payload_of_seq[seq] = c->payload;
        len_of_seq[seq] = c->len;
        for (int k = 0; k < DG_FAULT_COUNT; k++) {
            if (strcmp(fault, dg_fault_name((dg_fault)k)) == 0) {
                faults[k]++;
            }
        }
        json_decref(t);
    }
    fclose(f);
    CU_ASSERT_EQUAL(lines, N_MSGS);

    /* The report's fault counts are the truth file's. */
    for (int k = 0; k < DG_FAULT_COUNT; k++) {
        CU_ASSERT_EQUAL(faults[k], rep.faults[k]);
    }
    {
        int64_t bad = 0;
        for (int k = DG_FAULT_NULL_ID; k <= DG_FAULT_INVALID_UTF8; k++) {
            bad += faults[k];
        }
        CU_ASSERT(bad > 10000 - 500 && bad < 10000 + 500);
        CU_ASSERT(faults[DG_FAULT_DUPLICATE] > 2000 - 225 &&
                  faults[DG_FAULT_DUPLICATE] < 2000 + 225);
        CU_ASSERT_EQUAL(faults[DG_FAULT_LATE], 0);
    }

    /* DuckDB, the independent reader, sees the same truth file: one line per message, each
     * (partition, offset) once, and the report's fault counts. */
    {
        char sql[8192];
        json_t *rows, *row;
        int64_t bad = 0;
        for (int k = DG_FAULT_NULL_ID; k <= DG_FAULT_INVALID_UTF8; k++) {
            bad += rep.faults[k];
        }
        snprintf(
            sql, sizeof sql,
            "SELECT count(*) AS n, count(DISTINCT (\"partition\", \"offset\")) AS positions,"
            " count(DISTINCT seq) AS seqs, count(*) FILTER (class IN ('value','decode')) AS bad,"
            " count(*) FILTER (fault = 'duplicate') AS dups,"
            " count(*) FILTER (status = 'acked') AS acked"
            " FROM read_json('%s', format='newline_delimited')",
            truth_path);
        rows = sm_test_duckdb(sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        row = json_array_get(rows, 0);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "n")), N_MSGS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "positions")), N_MSGS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "seqs")), N_MSGS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "acked")), N_MSGS);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "bad")), bad);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "dups")), rep.faults[DG_FAULT_DUPLICATE]);
        json_decref(rows);
    }

    /* Byte for byte: what arrived for seq n is what the generator makes for seq n. */
    CU_ASSERT_EQUAL_FATAL(dg_create(&conf.gen, &g, NULL), SM_OK);
    for (int64_t s = 0; s < N_MSGS; s++) {
        dg_record r;
        dg_next(g, &r);
        CU_ASSERT_FATAL(payload_of_seq[s] != NULL);
        if (r.payload_len != len_of_seq[s] || memcmp(r.payload, payload_of_seq[s], r.payload_len)) {
            CU_FAIL("consumed payload differs from the generator's");
            break;
        }
    }
    dg_destroy(g);

    for (int p = 0; p < PARTITIONS; p++) {
        for (int64_t o = 0; o < per_partition[p]; o++) {
            free(by_pos[p].at[o].payload);
            free(by_pos[p].at[o].key);
        }
        free(by_pos[p].at);
    }
    free(payload_of_seq);
    free(len_of_seq);
}

/* A stop request ends the run early, flushes what was produced, and reports it. */
static void test_e2e_stop_flag_ends_run_with_everything_accounted(void)
{
    prod_conf conf = base_conf(NULL);
    prod_report rep;
    sm_error err;
    volatile sig_atomic_t stop = 1;
    conf.topic = "orders-stop";
    conf.count = 0;
    CU_ASSERT_EQUAL(prod_run(&conf, &stop, &rep, &err), SM_OK);
    CU_ASSERT(rep.interrupted);
    CU_ASSERT_EQUAL(rep.produced, rep.acked + rep.failed);
}

/* Rate limiting holds the rate near the target. */
static void test_e2e_rate_is_paced(void)
{
    prod_conf conf = base_conf(NULL);
    prod_report rep;
    sm_error err;
    conf.topic = "orders-rate";
    conf.count = 1000;
    conf.rate = 2000;
    CU_ASSERT_EQUAL(prod_run(&conf, NULL, &rep, &err), SM_OK);
    CU_ASSERT_EQUAL(rep.acked, 1000);
    /* 1000 messages at 2000/s take about 0.5 s (the first 1/20 s is a burst) */
    CU_ASSERT(rep.elapsed_s > 0.4 && rep.elapsed_s < 3.0);
}

static int setup(void)
{
    sm_broker_conf bc = {1, 4, 0};
    sm_error err;
    sm_log_setup(SM_LOG_WARN, SM_LOG_HUMAN, stderr);
    if (sm_broker_start(&bc, &broker, &err) != SM_OK ||
        sm_broker_create_topic(broker, "orders", PARTITIONS, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    dir = sm_test_tmpdir("e2e");
    return 0;
}

static int teardown(void)
{
    sm_broker_stop(broker);
    sm_test_rmtree(dir);
    free(dir);
    return 0;
}

static CU_TestInfo tests[] = {
    {"200k orders consumed back match the ground truth message for message",
     test_e2e_200k_orders_match_ground_truth},
    {"stop flag ends the run with everything accounted for",
     test_e2e_stop_flag_ends_run_with_everything_accounted},
    {"rate is paced", test_e2e_rate_is_paced},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("produce-consume", setup, teardown, tests)
