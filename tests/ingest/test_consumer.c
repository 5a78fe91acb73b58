/*
 * The consumer against the embedded broker, in-process: partitions listed and owned by stable
 * threads, exact ranges delivering exactly [start, end) in order with the produced key, value and
 * timestamp, new batches stopping at limits and deadlines and continuing without loss or
 * duplicates, data lost to retention (the mock cluster keeps ~5 MiB per partition), offsets by
 * time, commits seen by the group, the stop flag, and an unreachable cluster.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/log.h"
#include "ingest/consumer.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"

#define BASE_TS INT64_C(1700000000000)

static sm_broker *broker;

/* ------------------------------------------------------------------ known messages */

/* Message i of topic/partition: key "k-<p>-<i>" (null when i % 10 == 9), value
 * "v-<topic>-<p>-<i>-" padded to vsize (null when i % 17 == 16), timestamp BASE_TS + p*1e6 + i. */
static size_t make_value(char *buf, size_t vsize, const char *topic, int p, int64_t i)
{
    int n = snprintf(buf, vsize + 1, "v-%s-%d-%" PRId64 "-", topic, p, i);
    size_t len = (size_t)n < vsize ? vsize : (size_t)n;
    for (size_t k = (size_t)n; k < len; k++) {
        buf[k] = (char)('a' + (i + (int64_t)k) % 26);
    }
    return len;
}

static bool key_is_null(int64_t i)
{
    return i % 10 == 9;
}

static bool value_is_null(int64_t i)
{
    return i % 17 == 16;
}

static int64_t ts_of(int p, int64_t i)
{
    return BASE_TS + p * INT64_C(1000000) + i;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ s[i]) * UINT64_C(1099511628211);
    }
    return h;
}

/* Produces messages [from, from + n) of topic/partition (offsets equal i on a fresh topic).
 * Returns 0, or -1 after printing why (it also runs in the suite set-up, outside any test). */
static int produce(const char *topic, int p, int64_t from, int64_t n, size_t vsize)
{
    char errstr[512], key[64];
    char *val = malloc(vsize + 128);
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int rc = 0;

    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "enable.idempotence", "true", errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "linger.ms", "5", errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "log_level", "3", errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", errstr);
        free(val);
        return -1;
    }
    for (int64_t i = from; rc == 0 && i < from + n; i++) {
        size_t vlen = make_value(val, vsize, topic, p, i);
        size_t klen = (size_t)snprintf(key, sizeof key, "k-%d-%" PRId64, p, i);
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                RD_KAFKA_V_KEY(key_is_null(i) ? NULL : key, key_is_null(i) ? 0 : klen),
                RD_KAFKA_V_VALUE(value_is_null(i) ? NULL : val, value_is_null(i) ? 0 : vlen),
                RD_KAFKA_V_TIMESTAMP(ts_of(p, i)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
            }
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (e) {
            fprintf(stderr, "produce %s [%d]: %s\n", topic, p, rd_kafka_err2str(e));
            rc = -1;
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "produce %s [%d]: flush timed out\n", topic, p);
        rc = -1;
    }
    rd_kafka_destroy(rk);
    free(val);
    return rc;
}

/* ------------------------------------------------------------------ what the callback saw */

typedef struct seen_msg {
    int32_t partition;
    int32_t range;
    int64_t offset;
    uint64_t hash; /* of key, value and timestamp */
} seen_msg;

typedef struct thread_ctx {
    int thread;
    size_t vsize;
    const sm_partition_info *parts; /* to check ownership */
    int n_parts;
    seen_msg *msgs;
    size_t n, cap;
    int64_t bad_content, bad_owner;
    int stop_after; /* > 0: ask to stop after this many messages */
} thread_ctx;

static int on_msg(void *ctx_, const sm_kafka_msg *m)
{
    thread_ctx *ctx = ctx_;
    char want_key[64], want_val[1200];
    size_t klen, vlen;
    uint64_t h = UINT64_C(1469598103934665603);
    int64_t i = m->offset;

    /* every produced message is checked against its generator */
    klen = (size_t)snprintf(want_key, sizeof want_key, "k-%d-%" PRId64, m->partition, i);
    vlen = make_value(want_val, ctx->vsize, m->topic, m->partition, i);
    if ((key_is_null(i) ? m->key != NULL
                        : (!m->key || m->key_len != klen || memcmp(m->key, want_key, klen))) ||
        (value_is_null(i)
             ? m->value != NULL
             : (!m->value || m->value_len != vlen || memcmp(m->value, want_val, vlen))) ||
        m->timestamp_ms != ts_of(m->partition, i)) {
        ctx->bad_content++;
    }
    {
        bool owner_ok = false;
        for (int k = 0; k < ctx->n_parts; k++) {
            if (ctx->parts[k].partition == m->partition &&
                strcmp(ctx->parts[k].topic, m->topic) == 0) {
                owner_ok = ctx->parts[k].thread == ctx->thread;
            }
        }
        ctx->bad_owner += !owner_ok;
    }
    if (m->key) {
        h = fnv(h, m->key, m->key_len);
    }
    h = fnv(h, "|", 1);
    if (m->value) {
        h = fnv(h, m->value, m->value_len);
    }
    h = fnv(h, &m->timestamp_ms, sizeof m->timestamp_ms);
    if (ctx->n == ctx->cap) {
        ctx->cap = ctx->cap ? ctx->cap * 2 : 1024;
        ctx->msgs = realloc(ctx->msgs, ctx->cap * sizeof *ctx->msgs);
    }
    ctx->msgs[ctx->n++] = (seen_msg){m->partition, m->range, m->offset, h};
    return ctx->stop_after > 0 && (int)ctx->n >= ctx->stop_after;
}

typedef struct run {
    sm_consumer *c;
    const sm_partition_info *parts;
    int n_parts, threads;
    thread_ctx *ctx;
    void **ctxp;
} run;

static int open_run(run *r, const char *const *topics, int n_topics, int threads, const char *group,
                    bool fail_on_loss, size_t vsize, sm_error *err)
{
    sm_consumer_conf conf;
    int rc;

    memset(r, 0, sizeof *r);
    sm_consumer_conf_default(&conf);
    conf.bootstrap_servers = sm_broker_bootstraps(broker);
    conf.topics = topics;
    conf.n_topics = n_topics;
    conf.threads = threads;
    conf.group_id = group;
    conf.fail_on_data_loss = fail_on_loss;
    conf.timeout_ms = 5000;
    rc = sm_consumer_open(&conf, &r->c, err);
    if (rc) {
        return rc;
    }
    rc = sm_consumer_refresh(r->c, &r->parts, &r->n_parts, err);
    r->threads = sm_consumer_threads(r->c);
    r->ctx = calloc((size_t)r->threads, sizeof *r->ctx);
    r->ctxp = calloc((size_t)r->threads, sizeof *r->ctxp);
    for (int t = 0; t < r->threads; t++) {
        r->ctx[t].thread = t;
        r->ctx[t].vsize = vsize;
        r->ctx[t].parts = r->parts;
        r->ctx[t].n_parts = r->n_parts;
        r->ctxp[t] = &r->ctx[t];
    }
    return rc;
}

static void reset_seen(run *r)
{
    for (int t = 0; t < r->threads; t++) {
        r->ctx[t].n = 0;
        r->ctx[t].bad_content = r->ctx[t].bad_owner = 0;
        r->ctx[t].parts = r->parts;
        r->ctx[t].n_parts = r->n_parts;
    }
}

static void close_run(run *r)
{
    sm_consumer_close(r->c);
    for (int t = 0; r->ctx && t < r->threads; t++) {
        free(r->ctx[t].msgs);
    }
    free(r->ctx);
    free(r->ctxp);
}

static int64_t bad_content(const run *r)
{
    int64_t n = 0;
    for (int t = 0; t < r->threads; t++) {
        n += r->ctx[t].bad_content + r->ctx[t].bad_owner;
    }
    return n;
}

/* The messages of one partition in delivery order (caller frees). */
static seen_msg *seen_of(const run *r, int32_t partition, size_t *n)
{
    seen_msg *out = NULL;
    *n = 0;
    for (int t = 0; t < r->threads; t++) {
        for (size_t k = 0; k < r->ctx[t].n; k++) {
            if (r->ctx[t].msgs[k].partition == partition) {
                out = realloc(out, (*n + 1) * sizeof *out);
                out[(*n)++] = r->ctx[t].msgs[k];
            }
        }
    }
    return out;
}

static int index_of(const run *r, const char *topic, int32_t partition)
{
    for (int i = 0; i < r->n_parts; i++) {
        if (r->parts[i].partition == partition && strcmp(r->parts[i].topic, topic) == 0) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ tests */

static void test_open_lists_partitions_sorted_and_spread_over_threads(void)
{
    const char *topics[] = {"c-spread-b", "c-spread"};
    run r;
    sm_error err;
    const sm_partition_info *again;
    int n_again;

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 2, 4, NULL, true, 0, &err), SM_OK);
    CU_ASSERT_EQUAL(r.threads, 4);
    CU_ASSERT_EQUAL_FATAL(r.n_parts, 9);
    for (int i = 0; i < 9; i++) {
        CU_ASSERT_STRING_EQUAL(r.parts[i].topic, i < 6 ? "c-spread" : "c-spread-b");
        CU_ASSERT_EQUAL(r.parts[i].partition, i < 6 ? i : i - 6);
        CU_ASSERT_EQUAL(r.parts[i].thread, i % 4);
        CU_ASSERT_EQUAL(r.parts[i].low, 0);
        CU_ASSERT_EQUAL(r.parts[i].high, 0);
        CU_ASSERT_FALSE(r.parts[i].is_new);
    }
    /* a refresh keeps indices and owners */
    CU_ASSERT_EQUAL_FATAL(sm_consumer_refresh(r.c, &again, &n_again, &err), SM_OK);
    CU_ASSERT_EQUAL(n_again, 9);
    for (int i = 0; i < n_again; i++) {
        CU_ASSERT_STRING_EQUAL(again[i].topic, i < 6 ? "c-spread" : "c-spread-b");
        CU_ASSERT_EQUAL(again[i].thread, i % 4);
        CU_ASSERT_FALSE(again[i].is_new);
    }
    close_run(&r);

    /* threads = 0: one per CPU, but no more than partitions */
    {
        const char *one[] = {"c-idle"};
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        CU_ASSERT_EQUAL_FATAL(open_run(&r, one, 1, 0, NULL, true, 0, &err), SM_OK);
        CU_ASSERT_EQUAL(r.threads, cpus < 2 ? (int)cpus : 2);
        close_run(&r);
    }
}

static void test_partitions_added_later_appear_in_refresh(void)
{
    /* librdkafka's mock cluster (2.0.2) cannot add partitions to a topic: it has no
     * CreatePartitions handler and rd_kafka_mock_topic_create refuses an existing topic. The
     * append-only listing is exercised by every refresh above (stable indices); the is_new path
     * needs a real Kafka. */
    fprintf(stderr, "\n  note: skipped, the mock cluster cannot add partitions to a topic\n");
}

static void test_exact_ranges_deliver_exactly_start_to_end_in_order(void)
{
    const char *topics[] = {"c-exact"};
    run r;
    sm_error err;
    sm_range ranges[4];
    uint64_t *first_hashes[4] = {0};

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, NULL, true, 100, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(r.n_parts, 4);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(r.parts[i].high, 1000);
    }
    for (int round = 0; round < 2; round++) {
        reset_seen(&r);
        for (int i = 0; i < 4; i++) {
            ranges[i] = (sm_range){.index = i, .start = 100, .end = 900};
        }
        CU_ASSERT_EQUAL_FATAL(
            sm_consumer_run_batch(r.c, ranges, 4, NULL, r.ctxp, on_msg, NULL, &err), SM_OK);
        CU_ASSERT_EQUAL(bad_content(&r), 0);
        for (int i = 0; i < 4; i++) {
            size_t n;
            seen_msg *s = seen_of(&r, r.parts[i].partition, &n);
            int64_t bytes = 0;
            CU_ASSERT_EQUAL(ranges[i].next, 900);
            CU_ASSERT_EQUAL(ranges[i].records, 800);
            CU_ASSERT_EQUAL(ranges[i].skipped, 0);
            CU_ASSERT_EQUAL_FATAL(n, 800);
            for (size_t k = 0; k < n; k++) {
                int64_t off = 100 + (int64_t)k;
                char key[64], val[200];
                CU_ASSERT_EQUAL_FATAL(s[k].offset, off);
                CU_ASSERT_EQUAL(s[k].range, i);
                bytes += key_is_null(off) ? 0
                                          : snprintf(key, sizeof key, "k-%d-%" PRId64,
                                                     r.parts[i].partition, off);
                bytes += value_is_null(off)
                             ? 0
                             : (int64_t)make_value(val, 100, "c-exact", r.parts[i].partition, off);
                if (round == 0) {
                    if (!first_hashes[i]) {
                        first_hashes[i] = calloc(800, sizeof(uint64_t));
                    }
                    first_hashes[i][k] = s[k].hash;
                } else {
                    CU_ASSERT_EQUAL(first_hashes[i][k], s[k].hash); /* identical re-run */
                }
            }
            CU_ASSERT_EQUAL(ranges[i].bytes, bytes);
            free(s);
        }
    }
    for (int i = 0; i < 4; i++) {
        free(first_hashes[i]);
    }

    /* continuing where the last range ended, then going back, then an empty range */
    {
        int64_t spans[3][2] = {{900, 1000}, {0, 50}, {50, 50}};
        for (int k = 0; k < 3; k++) {
            reset_seen(&r);
            for (int i = 0; i < 4; i++) {
                ranges[i] = (sm_range){.index = i, .start = spans[k][0], .end = spans[k][1]};
            }
            CU_ASSERT_EQUAL_FATAL(
                sm_consumer_run_batch(r.c, ranges, 4, NULL, r.ctxp, on_msg, NULL, &err), SM_OK);
            CU_ASSERT_EQUAL(bad_content(&r), 0);
            for (int i = 0; i < 4; i++) {
                size_t n;
                seen_msg *s = seen_of(&r, r.parts[i].partition, &n);
                CU_ASSERT_EQUAL(n, (size_t)(spans[k][1] - spans[k][0]));
                CU_ASSERT_EQUAL(ranges[i].next, spans[k][1]);
                for (size_t j = 0; j < n; j++) {
                    CU_ASSERT_EQUAL(s[j].offset, spans[k][0] + (int64_t)j);
                }
                free(s);
            }
        }
    }
    close_run(&r);
}

/* Runs new batches continuing from each range's next until `total` records arrived; checks every
 * partition got each offset of [0, per_part) once, in order. Returns the number of batches. */
static int drain_in_batches(run *r, int n_parts, int64_t per_part, const sm_batch_limits *lim,
                            bool capped, int64_t max_per_batch_records, int64_t max_batch_bytes)
{
    sm_range ranges[8];
    int64_t next[8] = {0}, got = 0, total = per_part * n_parts;
    int batches = 0;
    int64_t *expect = calloc((size_t)n_parts, sizeof *expect);
    sm_error err;

    reset_seen(r);
    while (got < total && batches < 50) {
        sm_batch_limits l = *lim;
        int64_t records = 0, bytes = 0;
        size_t before[64];
        l.deadline_ms = sm_wall_ms() + 1500;
        for (int t = 0; t < r->threads; t++) {
            before[t] = r->ctx[t].n;
        }
        for (int i = 0; i < n_parts; i++) {
            ranges[i] = (sm_range){.index = i, .start = next[i], .end = capped ? per_part : -1};
        }
        CU_ASSERT_EQUAL_FATAL(
            sm_consumer_run_batch(r->c, ranges, n_parts, &l, r->ctxp, on_msg, NULL, &err), SM_OK);
        batches++;
        for (int i = 0; i < n_parts; i++) {
            CU_ASSERT(ranges[i].next >= next[i]);
            CU_ASSERT_EQUAL(ranges[i].next - ranges[i].start, ranges[i].records);
            next[i] = ranges[i].next;
            records += ranges[i].records;
            bytes += ranges[i].bytes;
        }
        if (max_per_batch_records > 0) {
            CU_ASSERT(records <= max_per_batch_records);
            if (got + max_per_batch_records <= total) {
                CU_ASSERT_EQUAL(records, max_per_batch_records);
            }
        }
        if (max_batch_bytes > 0) {
            /* soft: each thread may deliver the one message that crosses the limit */
            CU_ASSERT(bytes <= max_batch_bytes + r->threads * 200);
            if (got + records < total) {
                CU_ASSERT(bytes >= max_batch_bytes);
            }
        }
        /* this batch's messages continue each partition's sequence */
        for (int t = 0; t < r->threads; t++) {
            for (size_t k = before[t]; k < r->ctx[t].n; k++) {
                seen_msg *m = &r->ctx[t].msgs[k];
                int i = index_of(r, "c-open", m->partition);
                CU_ASSERT_FATAL(i >= 0 && i < n_parts);
                CU_ASSERT_EQUAL(m->offset, expect[i]);
                expect[i] = m->offset + 1;
            }
        }
        got += records;
    }
    CU_ASSERT_EQUAL(got, total);
    for (int i = 0; i < n_parts; i++) {
        CU_ASSERT_EQUAL(expect[i], per_part);
        CU_ASSERT_EQUAL(next[i], per_part);
    }
    CU_ASSERT_EQUAL(bad_content(r), 0);
    free(expect);
    return batches;
}

static void test_new_batches_stop_at_limits_and_continue_without_loss(void)
{
    const char *topics[] = {"c-open"};
    run r;
    sm_error err;
    int batches;

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, NULL, true, 100, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(r.n_parts, 4);

    /* max_records: 2000 records in batches of 300 */
    batches = drain_in_batches(&r, 4, 500, &(sm_batch_limits){.max_records = 300}, false, 300, 0);
    CU_ASSERT(batches >= 7);

    /* max_bytes, from the start again */
    batches = drain_in_batches(&r, 4, 500, &(sm_batch_limits){.max_bytes = 20000}, false, 0, 20000);
    CU_ASSERT(batches >= 10);

    /* capped ranges (available_now): each stops at its end, the limit splits the work */
    batches = drain_in_batches(&r, 4, 500, &(sm_batch_limits){.max_records = 700}, true, 700, 0);
    CU_ASSERT(batches >= 3);
    close_run(&r);
}

static void test_idle_new_batch_returns_at_the_deadline(void)
{
    const char *topics[] = {"c-idle"};
    run r;
    sm_error err;
    sm_range ranges[2];
    int64_t t0, elapsed;

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, NULL, true, 100, &err), SM_OK);
    for (int i = 0; i < 2; i++) {
        ranges[i] = (sm_range){.index = i, .start = 0, .end = -1};
    }
    t0 = sm_wall_ms();
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 2,
                                          &(sm_batch_limits){.deadline_ms = t0 + 600}, r.ctxp,
                                          on_msg, NULL, &err),
                    SM_OK);
    elapsed = sm_wall_ms() - t0;
    CU_ASSERT(elapsed >= 590 && elapsed <= 800);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(ranges[i].next, 0);
        CU_ASSERT_EQUAL(ranges[i].records, 0);
    }
    /* data arriving during a batch is delivered in that batch */
    t0 = sm_wall_ms();
    CU_ASSERT_EQUAL_FATAL(produce("c-idle", 1, 0, 20, 100), 0);
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 2,
                                          &(sm_batch_limits){.deadline_ms = sm_wall_ms() + 1500},
                                          r.ctxp, on_msg, NULL, &err),
                    SM_OK);
    CU_ASSERT_EQUAL(ranges[1].records, 20);
    CU_ASSERT_EQUAL(ranges[1].next, 20);
    CU_ASSERT_EQUAL(ranges[0].records, 0);
    close_run(&r);
}

static volatile int stop_flag;

static void *set_stop_later(void *arg)
{
    (void)arg;
    sm_sleep_ms(300);
    stop_flag = 1;
    return NULL;
}

static void test_stop_flag_and_callback_interrupt_a_batch(void)
{
    const char *topics[] = {"c-idle"};
    const char *exact[] = {"c-exact"};
    run r;
    sm_error err;
    sm_range ranges[2];
    pthread_t th;
    int64_t t0, elapsed;

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, NULL, true, 100, &err), SM_OK);
    for (int i = 0; i < 2; i++) {
        ranges[i] = (sm_range){.index = i, .start = 0, .end = -1};
    }
    stop_flag = 0;
    t0 = sm_wall_ms();
    pthread_create(&th, NULL, set_stop_later, NULL);
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 2,
                                          &(sm_batch_limits){.deadline_ms = t0 + 10000}, r.ctxp,
                                          on_msg, &stop_flag, &err),
                    SM_ERR_INTERRUPTED);
    elapsed = sm_wall_ms() - t0;
    pthread_join(th, NULL);
    CU_ASSERT(elapsed >= 290 && elapsed < 1000);
    close_run(&r);

    /* a callback returning non-zero stops the batch */
    CU_ASSERT_EQUAL_FATAL(open_run(&r, exact, 1, 2, NULL, true, 100, &err), SM_OK);
    r.ctx[0].stop_after = 10;
    r.ctx[1].stop_after = 10;
    for (int i = 0; i < 2; i++) {
        ranges[i] = (sm_range){.index = i, .start = 0, .end = 1000};
    }
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 2, NULL, r.ctxp, on_msg, NULL, &err),
                    SM_ERR_INTERRUPTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "callback"));
    close_run(&r);
}

static void test_bad_ranges_are_refused(void)
{
    const char *topics[] = {"c-exact"};
    run r;
    sm_error err;
    sm_range ranges[2];

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, NULL, true, 100, &err), SM_OK);
    ranges[0] = (sm_range){.index = 7, .start = 0, .end = 1};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 1, NULL, r.ctxp, on_msg, NULL, &err),
                    SM_ERR_INTERNAL);
    ranges[0] = (sm_range){.index = 0, .start = 0, .end = -1}; /* open range in a re-run */
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 1, NULL, r.ctxp, on_msg, NULL, &err),
                    SM_ERR_INTERNAL);
    ranges[0] = (sm_range){.index = 0, .start = 5, .end = 1};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 1, NULL, r.ctxp, on_msg, NULL, &err),
                    SM_ERR_INTERNAL);
    ranges[0] = (sm_range){.index = 1, .start = 0, .end = 1};
    ranges[1] = (sm_range){.index = 1, .start = 1, .end = 2};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(r.c, ranges, 2, NULL, r.ctxp, on_msg, NULL, &err),
                    SM_ERR_INTERNAL);
    close_run(&r);
}

static void test_offsets_lost_to_retention_fail_or_are_skipped(void)
{
    const char *topics[] = {"c-loss"};
    run fail, skip;
    sm_error err;
    sm_range range;
    int64_t low1, low2;

    /* ~7 MB into partition 0: the mock keeps ~5 MiB, so the oldest message sets go */
    CU_ASSERT_EQUAL_FATAL(produce("c-loss", 0, 0, 7000, 1000), 0);
    CU_ASSERT_EQUAL_FATAL(produce("c-loss", 1, 0, 10, 1000), 0);
    CU_ASSERT_EQUAL_FATAL(open_run(&fail, topics, 1, 2, NULL, true, 1000, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(open_run(&skip, topics, 1, 2, NULL, false, 1000, &err), SM_OK);
    low1 = fail.parts[0].low;
    CU_ASSERT_FATAL(low1 > 0);
    CU_ASSERT_EQUAL(fail.parts[0].high, 7000);
    CU_ASSERT_EQUAL(fail.parts[1].low, 0);

    /* known before reading: the start is below the last refresh's low watermark */
    range = (sm_range){.index = 0, .start = 0, .end = 7000};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(fail.c, &range, 1, NULL, fail.ctxp, on_msg, NULL, &err),
                    SM_ERR_KAFKA);
    {
        char want[128];
        snprintf(want, sizeof want, "earliest available %" PRId64, low1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "c-loss"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "partition 0"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "wanted offset 0"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    }
    range = (sm_range){.index = 0, .start = 0, .end = 7000};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(skip.c, &range, 1, NULL, skip.ctxp, on_msg, NULL, &err),
                    SM_OK);
    CU_ASSERT_EQUAL(range.skipped, low1);
    CU_ASSERT_EQUAL(range.records, 7000 - low1);
    CU_ASSERT_EQUAL(range.next, 7000);
    CU_ASSERT_EQUAL(bad_content(&skip), 0);

    /* found while reading: retention overtakes the start after the last refresh */
    CU_ASSERT_EQUAL_FATAL(produce("c-loss", 0, 7000, 2500, 1000), 0);
    {
        sm_consumer_conf probe;
        sm_consumer *pc;
        const sm_partition_info *pp;
        int pn;
        sm_consumer_conf_default(&probe);
        probe.bootstrap_servers = sm_broker_bootstraps(broker);
        probe.topics = topics;
        probe.n_topics = 1;
        probe.threads = 1;
        CU_ASSERT_EQUAL_FATAL(sm_consumer_open(&probe, &pc, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(sm_consumer_refresh(pc, &pp, &pn, &err), SM_OK);
        low2 = pp[0].low;
        sm_consumer_close(pc);
    }
    CU_ASSERT_FATAL(low2 > low1);
    reset_seen(&fail);
    range = (sm_range){.index = 0, .start = low1, .end = -1};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(
                        fail.c, &range, 1,
                        &(sm_batch_limits){.max_records = 100, .deadline_ms = sm_wall_ms() + 5000},
                        fail.ctxp, on_msg, NULL, &err),
                    SM_ERR_KAFKA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "deleted by retention"));
    /* a retry of the failed batch fails the same way (it does not wait on a stopped fetcher) */
    range = (sm_range){.index = 0, .start = low1, .end = -1};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(
                        fail.c, &range, 1,
                        &(sm_batch_limits){.max_records = 100, .deadline_ms = sm_wall_ms() + 3000},
                        fail.ctxp, on_msg, NULL, &err),
                    SM_ERR_KAFKA);
    CU_ASSERT_EQUAL(range.records, 0);
    reset_seen(&skip);
    range = (sm_range){.index = 0, .start = low1, .end = -1};
    CU_ASSERT_EQUAL(sm_consumer_run_batch(
                        skip.c, &range, 1,
                        &(sm_batch_limits){.max_records = 100, .deadline_ms = sm_wall_ms() + 5000},
                        skip.ctxp, on_msg, NULL, &err),
                    SM_OK);
    CU_ASSERT_EQUAL(range.skipped, low2 - low1);
    CU_ASSERT_EQUAL(range.records, 100);
    CU_ASSERT_EQUAL(range.next, low2 + 100);
    {
        size_t n;
        seen_msg *s = seen_of(&skip, 0, &n);
        CU_ASSERT_EQUAL_FATAL(n, 100);
        CU_ASSERT_EQUAL(s[0].offset, low2);
        free(s);
    }
    CU_ASSERT_EQUAL(bad_content(&skip), 0);
    close_run(&fail);
    close_run(&skip);
}

static void test_watermarks_and_offsets_for_time(void)
{
    const char *topics[] = {"c-exact", "c-loss"};
    run r;
    sm_error err;
    int64_t offs[16];
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;

    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 2, 2, NULL, true, 100, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(r.n_parts, 6);
    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof errstr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
    for (int i = 0; i < r.n_parts; i++) {
        int64_t lo, hi;
        CU_ASSERT_EQUAL(rd_kafka_query_watermark_offsets(rk, r.parts[i].topic, r.parts[i].partition,
                                                         &lo, &hi, 5000),
                        0);
        CU_ASSERT_EQUAL(r.parts[i].low, lo);
        CU_ASSERT_EQUAL(r.parts[i].high, hi);
    }
    rd_kafka_destroy(rk);

    /* no record that late: the high watermark */
    CU_ASSERT_EQUAL_FATAL(sm_consumer_offsets_for_time(r.c, sm_wall_ms() + 86400000, offs, &err),
                          SM_OK);
    for (int i = 0; i < r.n_parts; i++) {
        CU_ASSERT_EQUAL(offs[i], r.parts[i].high);
    }
    /* The mock cluster answers every ListOffsets by time with "none" (a FIXME in librdkafka's
     * mock), so an early time also gives the high watermark here; a real broker gives the
     * first offset at or after the time. Only the bounds can be checked. */
    CU_ASSERT_EQUAL_FATAL(sm_consumer_offsets_for_time(r.c, BASE_TS + 500, offs, &err), SM_OK);
    for (int i = 0; i < r.n_parts; i++) {
        CU_ASSERT(offs[i] >= r.parts[i].low && offs[i] <= r.parts[i].high);
    }
    CU_ASSERT_EQUAL(sm_consumer_offsets_for_time(r.c, -5, offs, &err), SM_ERR_USAGE);
    close_run(&r);
}

static void test_commit_is_seen_by_the_group(void)
{
    const char *topics[] = {"c-commit"};
    run r;
    sm_error err;
    sm_range ranges[2];
    char errstr[512];
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l;

    CU_ASSERT_EQUAL_FATAL(produce("c-commit", 0, 0, 30, 50), 0);
    CU_ASSERT_EQUAL_FATAL(produce("c-commit", 1, 0, 30, 50), 0);
    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 2, "g-commit", true, 50, &err), SM_OK);
    ranges[0] = (sm_range){.index = 0, .start = 0, .end = 12};
    ranges[1] = (sm_range){.index = 1, .start = 0, .end = 25};
    CU_ASSERT_EQUAL_FATAL(sm_consumer_run_batch(r.c, ranges, 2, NULL, r.ctxp, on_msg, NULL, &err),
                          SM_OK);
    CU_ASSERT_EQUAL_FATAL(sm_consumer_commit(r.c, ranges, 2, &err), SM_OK);

    kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "bootstrap.servers", sm_broker_bootstraps(broker), errstr, sizeof errstr);
    rd_kafka_conf_set(kc, "group.id", "g-commit", errstr, sizeof errstr);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof errstr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
    l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(l, "c-commit", 0);
    rd_kafka_topic_partition_list_add(l, "c-commit", 1);
    CU_ASSERT_EQUAL(rd_kafka_committed(rk, l, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(rd_kafka_topic_partition_list_find(l, "c-commit", 0)->offset, 12);
    CU_ASSERT_EQUAL(rd_kafka_topic_partition_list_find(l, "c-commit", 1)->offset, 25);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    close_run(&r);

    /* without a group nothing is committed, and that is not an error */
    CU_ASSERT_EQUAL_FATAL(open_run(&r, topics, 1, 1, NULL, true, 50, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_consumer_commit(r.c, ranges, 2, &err), SM_OK);
    close_run(&r);
}

static void test_unreachable_cluster_and_missing_topic(void)
{
    sm_consumer_conf conf;
    sm_consumer *c = NULL;
    sm_error err;
    const char *topics[] = {"c-exact"};
    const char *missing[] = {"c-exact", "c-no-such-topic"};
    int64_t t0, elapsed;

    sm_consumer_conf_default(&conf);
    conf.bootstrap_servers = "127.0.0.1:1";
    conf.topics = topics;
    conf.n_topics = 1;
    conf.threads = 2;
    conf.timeout_ms = 1500;
    t0 = sm_wall_ms();
    CU_ASSERT_EQUAL(sm_consumer_open(&conf, &c, &err), SM_ERR_TIMEOUT);
    elapsed = sm_wall_ms() - t0;
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(elapsed >= 1400 && elapsed < 3000);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "127.0.0.1:1"));

    /* a topic that does not exist is an error naming it, and is not created by asking */
    conf.bootstrap_servers = sm_broker_bootstraps(broker);
    conf.topics = missing;
    conf.n_topics = 2;
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(sm_consumer_open(&conf, &c, &err), SM_ERR_KAFKA);
        CU_ASSERT_PTR_NULL(c);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "c-no-such-topic"));
    }
    /* configuration mistakes */
    conf.topics = topics;
    conf.n_topics = 1;
    {
        const char *k[] = {"no.such.property"}, *v[] = {"1"};
        conf.n_options = 1;
        conf.option_keys = k;
        conf.option_values = v;
        CU_ASSERT_EQUAL(sm_consumer_open(&conf, &c, &err), SM_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no.such.property"));
        conf.n_options = 0;
    }
    conf.n_topics = 0;
    CU_ASSERT_EQUAL(sm_consumer_open(&conf, &c, &err), SM_ERR_USAGE);
    sm_consumer_close(NULL);
}

static int setup(void)
{
    sm_broker_conf bc = {1, 4, 0, 0};
    sm_error err;
    sm_log_setup(SM_LOG_ERROR, SM_LOG_HUMAN, stderr);
    if (sm_broker_start(&bc, &broker, &err) != SM_OK ||
        sm_broker_create_topics(broker,
                                "c-spread:6,c-spread-b:3,c-exact:4,c-open:4,c-idle:2,c-loss:2,"
                                "c-commit:2",
                                &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    for (int p = 0; p < 4; p++) {
        if (produce("c-exact", p, 0, 1000, 100) || produce("c-open", p, 0, 500, 100)) {
            return 1;
        }
    }
    return 0;
}

static int teardown(void)
{
    sm_broker_stop(broker);
    return 0;
}

static CU_TestInfo tests[] = {
    {"open lists partitions sorted and spreads them over threads",
     test_open_lists_partitions_sorted_and_spread_over_threads},
    {"partitions added later appear in refresh", test_partitions_added_later_appear_in_refresh},
    {"exact ranges deliver exactly [start, end) in order",
     test_exact_ranges_deliver_exactly_start_to_end_in_order},
    {"new batches stop at limits and continue without loss",
     test_new_batches_stop_at_limits_and_continue_without_loss},
    {"an idle new batch returns at the deadline", test_idle_new_batch_returns_at_the_deadline},
    {"stop flag and callback interrupt a batch", test_stop_flag_and_callback_interrupt_a_batch},
    {"bad ranges are refused", test_bad_ranges_are_refused},
    {"offsets lost to retention fail or are skipped",
     test_offsets_lost_to_retention_fail_or_are_skipped},
    {"watermarks and offsets for a time", test_watermarks_and_offsets_for_time},
    {"commit is seen by the group", test_commit_is_seen_by_the_group},
    {"unreachable cluster and missing topic", test_unreachable_cluster_and_missing_topic},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("consumer", setup, teardown, tests)
