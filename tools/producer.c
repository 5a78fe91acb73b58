/*
 * The load-testing producer (see producer.h).
 *
 * One thread generates and enqueues; librdkafka's threads batch and send; delivery reports come
 * back through rd_kafka_poll() on this thread, so counters need no locks. Backpressure is
 * librdkafka's own queue: when it is full we poll until there is room, never buffer more.
 *
 * Every message is accounted for: produced = acked + failed once the final flush returns; a
 * flush that runs out of time counts the remainder as failed ("not delivered within ...").
 */
#include "tools/producer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/histogram.h"
#include "core/log.h"
#include "core/units.h"

/* What a delivery report needs to write the message's ground-truth line. */
typedef struct truth_msg {
    int64_t seq;
    int64_t dup_of;
    int64_t event_ms;
    uint64_t fnv;
    size_t bytes;
    dg_fault fault;
    bool id_null;
    char key[24];
    char id[40];
} truth_msg;

typedef struct prod_state {
    const prod_conf *conf;
    const char *topic;
    prod_report *rep;
    sm_hist *latency;
    FILE *truth;
    bool truth_csv;
    int truth_errno; /* first write error on the truth file */
    int64_t in_flight;
} prod_state;

static void truth_write(prod_state *st, const truth_msg *m, const rd_kafka_message_t *km)
{
    FILE *f = st->truth;
    const char *status = km->err ? rd_kafka_err2str(km->err) : "acked";

    if (st->truth_csv) {
        fprintf(f, "%" PRId64 ",%s,%" PRId32 ",%" PRId64 ",%s,%s,%" PRId64 ",%s,%s,", m->seq,
                st->topic, km->partition, km->err ? (int64_t)-1 : km->offset, m->key,
                m->id_null ? "" : m->id, m->event_ms, dg_fault_name(m->fault),
                dg_fault_class(m->fault));
        if (m->dup_of >= 0) {
            fprintf(f, "%" PRId64, m->dup_of);
        }
        fprintf(f, ",%zu,%016" PRIx64 ",\"%s\"\n", m->bytes, m->fnv, status);
    } else {
        fprintf(f,
                "{\"seq\":%" PRId64 ",\"topic\":\"%s\",\"partition\":%" PRId32
                ",\"offset\":%" PRId64 ",\"key\":\"%s\",\"id\":",
                m->seq, st->topic, km->partition, km->err ? (int64_t)-1 : km->offset, m->key);
        if (m->id_null) {
            fputs("null", f);
        } else {
            fprintf(f, "\"%s\"", m->id);
        }
        fprintf(f, ",\"event_ts\":%" PRId64 ",\"fault\":\"%s\",\"class\":\"%s\",\"dup_of\":",
                m->event_ms, dg_fault_name(m->fault), dg_fault_class(m->fault));
        if (m->dup_of >= 0) {
            fprintf(f, "%" PRId64, m->dup_of);
        } else {
            fputs("null", f);
        }
        fprintf(f, ",\"bytes\":%zu,\"fnv1a64\":\"%016" PRIx64 "\",\"status\":\"%s\"}\n", m->bytes,
                m->fnv, status);
    }
    if (ferror(f) && !st->truth_errno) { /* any of the writes above (disk full, ...) */
        st->truth_errno = errno ? errno : EIO;
    }
}

/* @thread the caller's (inside rd_kafka_poll / rd_kafka_flush) */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *km, void *opaque)
{
    prod_state *st = opaque;
    truth_msg *m = km->_private;
    (void)rk;

    st->in_flight--;
    if (km->err) {
        st->rep->failed++;
        if (!st->rep->first_error[0]) {
            snprintf(st->rep->first_error, sizeof st->rep->first_error, "%s [%" PRId32 "]: %s",
                     st->topic, km->partition, rd_kafka_err2str(km->err));
        }
    } else {
        int64_t lat = rd_kafka_message_latency(km);
        st->rep->acked++;
        st->rep->bytes_acked += (int64_t)(km->len + km->key_len);
        sm_hist_add(st->latency, lat > 0 ? (uint64_t)lat : 0);
    }
    if (m) {
        truth_write(st, m, km);
        free(m);
    }
}

/* librdkafka's own log lines: connection refusals and retries are expected while we wait
 * (our error names the problem), so they go to debug; only critical ones are shown. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sm_log(level <= 2 ? SM_LOG_WARN : SM_LOG_DEBUG, "rdkafka", "%s: %s", fac, buf);
}

static int kset(rd_kafka_conf_t *kc, const char *name, const char *value, sm_error *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(kc, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        return sm_error_set(err, SM_ERR_USAGE, "kafka property %s=%s: %s", name, value, errstr);
    }
    return SM_OK;
}

static rd_kafka_t *make_producer(const prod_conf *conf, prod_state *st, sm_error *err)
{
    char errstr[512], num[32];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_t *rk;

    snprintf(num, sizeof num, "%" PRId64, conf->linger_ms);
    if (kset(kc, "bootstrap.servers", conf->bootstrap, err) ||
        kset(kc, "compression.codec", conf->compression, err) ||
        kset(kc, "acks", conf->acks, err) || kset(kc, "linger.ms", num, err) ||
        /* the Java client's partitioner: keyed messages land where Kafka clients put them */
        kset(kc, "partitioner", "murmur2_random", err)) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    for (size_t i = 0; i < conf->kafka_props.count; i++) {
        const char *kv = conf->kafka_props.items[i];
        const char *eq = strchr(kv, '=');
        char name[256];
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof name) {
            sm_error_set(err, SM_ERR_USAGE, "-X %s: expected key=value", kv);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
        memcpy(name, kv, (size_t)(eq - kv));
        name[eq - kv] = '\0';
        if (kset(kc, name, eq + 1, err)) {
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    rd_kafka_conf_set_log_cb(kc, on_log);
    rd_kafka_conf_set_opaque(kc, st);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        sm_error_set(err, SM_ERR_USAGE, "kafka producer: %s", errstr);
    }
    return rk;
}

/* Bounded wait for the cluster and the topic: metadata for our topic within the timeout. */
static int wait_for_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const prod_conf *conf,
                          const char *topic, sm_error *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr;
    int64_t deadline = sm_mono_ns() + conf->connect_timeout_ms * 1000000;
    char dur[32];

    sm_format_duration_ms(conf->connect_timeout_ms, dur, sizeof dur);
    for (;;) {
        int64_t left_ms = (deadline - sm_mono_ns()) / 1000000;
        if (left_ms <= 0) {
            return sm_error_set(err, SM_ERR_KAFKA,
                                "cannot reach Kafka at %s within %s: no broker answered. Is it "
                                "running? (`smelter broker` starts the embedded one; "
                                "--connect-timeout waits longer)",
                                conf->bootstrap, dur);
        }
        kerr = rd_kafka_metadata(rk, 0, rkt, &md, (int)(left_ms < 1000 ? left_ms : 1000));
        if (kerr == RD_KAFKA_RESP_ERR__TRANSPORT || kerr == RD_KAFKA_RESP_ERR__TIMED_OUT) {
            continue;
        }
        if (kerr) {
            return sm_error_set(err, SM_ERR_KAFKA, "metadata from %s: %s", conf->bootstrap,
                                rd_kafka_err2str(kerr));
        }
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topics[0].partition_cnt > 0) {
            rd_kafka_metadata_destroy(md);
            return SM_OK;
        }
        kerr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        rd_kafka_metadata_destroy(md);
        md = NULL;
        if (kerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            kerr == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
            /* auto-creation may be on its way; give it until the deadline */
            sm_sleep_ms(100);
            if ((deadline - sm_mono_ns()) / 1000000 <= 100) {
                return sm_error_set(err, SM_ERR_KAFKA,
                                    "topic %s does not exist on %s and was not auto-created: "
                                    "create it (smelter broker --topics %s:8) or pick --topic",
                                    topic, conf->bootstrap, topic);
            }
            continue;
        }
        return sm_error_set(err, SM_ERR_KAFKA, "topic %s on %s: %s", topic, conf->bootstrap,
                            rd_kafka_err2str(kerr));
    }
}

static void draw_progress(const prod_state *st, int64_t t0, bool final)
{
    const prod_report *r = st->rep;
    double el = (double)(sm_mono_ns() - t0) / 1e9;
    fprintf(stderr,
            "\r\033[Kproduce %s: sent %" PRId64 "  acked %" PRId64 "  failed %" PRId64
            "  %.0f msg/s  in flight %" PRId64 "%s",
            st->topic, r->produced, r->acked, r->failed, el > 0 ? (double)r->acked / el : 0.0,
            st->in_flight, final ? "\n" : "");
    fflush(stderr);
}

static void log_progress(const prod_state *st, int64_t t0)
{
    const prod_report *r = st->rep;
    double el = (double)(sm_mono_ns() - t0) / 1e9;
    json_t *f =
        json_pack("{s:s,s:I,s:I,s:I,s:f,s:I}", "topic", st->topic, "sent", (json_int_t)r->produced,
                  "acked", (json_int_t)r->acked, "failed", (json_int_t)r->failed, "msgs_per_s",
                  el > 0 ? (double)r->acked / el : 0.0, "in_flight", (json_int_t)st->in_flight);
    sm_log_fields(SM_LOG_INFO, "produce", f, "progress");
    json_decref(f);
}

/* --to-file with a binary format: the payload as lower-case hex, so lines stay lines. */
static void write_hex(FILE *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putc(hex[p[i] >> 4], out);
        putc(hex[p[i] & 15], out);
    }
}

/* Sleeps until the token bucket has a token. Burst is 1/20 s worth of messages. */
static void pace(double rate, double *tokens, int64_t *last_ns, rd_kafka_t *rk)
{
    for (;;) {
        int64_t now = sm_mono_ns();
        double burst = rate / 20.0 < 1.0 ? 1.0 : rate / 20.0;
        *tokens += rate * (double)(now - *last_ns) / 1e9;
        *last_ns = now;
        if (*tokens > burst) {
            *tokens = burst;
        }
        if (*tokens >= 1.0) {
            *tokens -= 1.0;
            return;
        }
        {
            int wait_ms = (int)((1.0 - *tokens) / rate * 1000.0);
            if (rk) {
                rd_kafka_poll(rk, wait_ms < 1 ? 0 : (wait_ms > 10 ? 10 : wait_ms));
            }
            if (wait_ms < 1 || !rk) {
                struct timespec ts = {0, wait_ms < 1 ? 100000 : (long)wait_ms * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
}

int prod_run(const prod_conf *conf, volatile sig_atomic_t *stop, prod_report *rep, sm_error *err)
{
    prod_state st = {0};
    dg_gen *gen = NULL;
    tc_encoder *tc = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    FILE *out = NULL;
    int rc = SM_OK;
    int64_t t0, last_progress, last_ns;
    double tokens = 0;
    const char *topic = conf->topic ? conf->topic : dg_dataset_name((dg_dataset)conf->gen.dataset);

    memset(rep, 0, sizeof *rep);
    rep->seed = conf->gen.seed;
    st.conf = conf;
    st.topic = topic;
    st.rep = rep;

    if (conf->rate < 0) {
        return sm_error_set(err, SM_ERR_USAGE, "rate must be >= 0 (0 = as fast as possible)");
    }
    if (conf->schema_id < 0 || conf->schema_id > INT32_MAX) {
        return sm_error_set(err, SM_ERR_USAGE, "schema id %" PRId64 " is out of range",
                            conf->schema_id);
    }
    if (dg_create(&conf->gen, &gen, err) != SM_OK) {
        return err ? (int)err->code : SM_ERR_USAGE;
    }
    if (tc_create((dg_dataset)conf->gen.dataset, (tc_format)conf->format, (int32_t)conf->schema_id,
                  &tc, err) != SM_OK) {
        dg_destroy(gen);
        return err ? (int)err->code : SM_ERR_USAGE;
    }
    if (!(st.latency = sm_hist_create())) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (conf->truth_path) {
        size_t n = strlen(conf->truth_path);
        st.truth_csv = n > 4 && strcmp(conf->truth_path + n - 4, ".csv") == 0;
        st.truth = fopen(conf->truth_path, "w");
        if (!st.truth) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "truth file %s", conf->truth_path);
            goto done;
        }
        setvbuf(st.truth, NULL, _IOFBF, 1 << 20);
        if (st.truth_csv) {
            fputs("seq,topic,partition,offset,key,id,event_ts,fault,class,dup_of,bytes,fnv1a64,"
                  "status\n",
                  st.truth);
        }
    }
    if (conf->to_file) {
        out = fopen(conf->to_file, "w");
        if (!out) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "output file %s", conf->to_file);
            goto done;
        }
        setvbuf(out, NULL, _IOFBF, 1 << 20);
    } else {
        if (!(rk = make_producer(conf, &st, err))) {
            rc = err ? (int)err->code : SM_ERR_USAGE;
            goto done;
        }
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!rkt) {
            rc = sm_error_set(err, SM_ERR_USAGE, "topic %s: %s", topic,
                              rd_kafka_err2str(rd_kafka_last_error()));
            goto done;
        }
        if ((rc = wait_for_topic(rk, rkt, conf, topic, err)) != SM_OK) {
            goto done;
        }
        sm_log_info("produce", "connected to %s, producing %s to topic %s", conf->bootstrap,
                    dg_dataset_name((dg_dataset)conf->gen.dataset), topic);
    }

    t0 = last_progress = last_ns = sm_mono_ns();
    while (!(stop && *stop)) {
        dg_record r;
        rd_kafka_resp_err_t kerr;
        truth_msg *tm = NULL;
        const uint8_t *payload;
        size_t payload_len;
        int64_t now;

        if (conf->count > 0 && rep->produced >= conf->count) {
            break;
        }
        if (conf->rate > 0) {
            pace(conf->rate, &tokens, &last_ns, rk);
        }
        /* the clock is read every 64 messages: at full speed that is still every ~50 µs */
        if ((rep->produced & 63) == 0 || conf->rate > 0) {
            now = sm_mono_ns();
        } else {
            now = last_progress;
        }
        if (conf->duration_ms > 0 && now - t0 >= conf->duration_ms * 1000000) {
            break;
        }
        if (now - last_progress >= 250000000) {
            if (rk) {
                rd_kafka_poll(rk, 0);
            }
            if (conf->progress) {
                draw_progress(&st, t0, false);
                last_progress = now;
            } else if (now - last_progress >= INT64_C(10000000000)) {
                log_progress(&st, t0);
                last_progress = now;
            }
        }

        dg_next(gen, &r);
        if ((rc = tc_encode(tc, &r, &payload, &payload_len, err)) != SM_OK) {
            break;
        }
        rep->faults[r.fault]++;
        if (out) {
            fwrite(r.key, 1, r.key_len, out);
            fputc('\t', out);
            if (conf->format == PROD_FORMAT_JSON) {
                fwrite(payload, 1, payload_len, out);
            } else {
                write_hex(out, payload, payload_len);
            }
            if (fputc('\n', out) == EOF) {
                rc = sm_error_sys(err, SM_ERR_IO, errno, "write %s", conf->to_file);
                goto done;
            }
            rep->produced++;
            rep->acked++;
            rep->bytes_acked += (int64_t)(r.key_len + payload_len);
            continue;
        }
        if (st.truth) {
            tm = malloc(sizeof *tm);
            if (!tm) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
                break;
            }
            tm->seq = r.seq;
            tm->dup_of = r.dup_of;
            tm->event_ms = r.event_ms;
            tm->fnv = dg_fnv1a64(payload, payload_len);
            tm->bytes = payload_len;
            tm->fault = r.fault;
            tm->id_null = r.id == NULL;
            snprintf(tm->key, sizeof tm->key, "%.*s", (int)r.key_len, r.key);
            snprintf(tm->id, sizeof tm->id, "%s", r.id ? r.id : "");
        }
        for (;;) {
            kerr = rd_kafka_producev(
                rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY((void *)r.key, r.key_len),
                RD_KAFKA_V_VALUE((void *)payload, payload_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(tm), RD_KAFKA_V_END);
            if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                break;
            }
            rd_kafka_poll(rk, 10); /* backpressure: wait for deliveries to make room */
        }
        if (kerr) {
            free(tm);
            rc =
                sm_error_set(err, SM_ERR_KAFKA, "produce to %s: %s", topic, rd_kafka_err2str(kerr));
            break;
        }
        rep->produced++;
        st.in_flight++;
        if ((rep->produced & 1023) == 0) {
            rd_kafka_poll(rk, 0);
        }
    }
    rep->interrupted = stop && *stop;

    if (rk) {
        int64_t deadline = sm_mono_ns() + conf->flush_timeout_ms * 1000000;
        while (st.in_flight > 0 && sm_mono_ns() < deadline) {
            rd_kafka_flush(rk, 100);
            if (conf->progress) {
                draw_progress(&st, t0, false);
            }
        }
        if (st.in_flight > 0) {
            char dur[32];
            sm_format_duration_ms(conf->flush_timeout_ms, dur, sizeof dur);
            /* purge so their delivery reports (as failures) come back and are written */
            rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            for (int i = 0; i < 50 && st.in_flight > 0; i++) {
                rd_kafka_poll(rk, 100);
            }
            if (!rep->first_error[0]) {
                snprintf(rep->first_error, sizeof rep->first_error,
                         "%" PRId64 " message(s) not delivered within %s", st.in_flight, dur);
            }
            rep->failed += st.in_flight;
            st.in_flight = 0;
        }
    }
    if (conf->progress && !out) {
        draw_progress(&st, t0, true);
    }
    rep->elapsed_s = (double)(sm_mono_ns() - t0) / 1e9;
    rep->msgs_per_s = rep->elapsed_s > 0 ? (double)rep->acked / rep->elapsed_s : 0;
    rep->mb_per_s = rep->elapsed_s > 0 ? (double)rep->bytes_acked / 1e6 / rep->elapsed_s : 0;
    rep->latency_p50_us = (int64_t)sm_hist_quantile(st.latency, 0.50);
    rep->latency_p95_us = (int64_t)sm_hist_quantile(st.latency, 0.95);
    rep->latency_p99_us = (int64_t)sm_hist_quantile(st.latency, 0.99);
    rep->latency_max_us = (int64_t)sm_hist_max(st.latency);

    if (rc == SM_OK && rep->failed > 0) {
        rc = sm_error_set(err, SM_ERR_KAFKA, "%" PRId64 " of %" PRId64 " messages failed: %s",
                          rep->failed, rep->produced, rep->first_error);
    }

done:
    if (rkt) {
        rd_kafka_topic_destroy(rkt);
    }
    if (rk) {
        rd_kafka_destroy(rk);
    }
    if (out && fclose(out) != 0 && rc == SM_OK) {
        rc = sm_error_sys(err, SM_ERR_IO, errno, "close %s", conf->to_file);
    }
    if (st.truth) {
        if ((fclose(st.truth) != 0 || st.truth_errno) && rc == SM_OK) {
            rc = sm_error_sys(err, SM_ERR_IO, st.truth_errno ? st.truth_errno : errno,
                              "truth file %s", conf->truth_path);
        }
    }
    sm_hist_destroy(st.latency);
    tc_destroy(tc);
    dg_destroy(gen);
    return rc;
}

json_t *prod_report_json(const prod_report *r)
{
    json_t *faults = json_object();
    for (int f = 0; f < DG_FAULT_COUNT; f++) {
        if (r->faults[f]) {
            json_object_set_new(faults, dg_fault_name((dg_fault)f), json_integer(r->faults[f]));
        }
    }
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:{s:I,s:I,s:I,s:I},s:o,s:b,s:s?}", "seed",
        (json_int_t)r->seed, "produced", (json_int_t)r->produced, "acked", (json_int_t)r->acked,
        "failed", (json_int_t)r->failed, "bytes_acked", (json_int_t)r->bytes_acked, "elapsed_s",
        r->elapsed_s, "msgs_per_s", r->msgs_per_s, "mb_per_s", r->mb_per_s, "latency_us", "p50",
        (json_int_t)r->latency_p50_us, "p95", (json_int_t)r->latency_p95_us, "p99",
        (json_int_t)r->latency_p99_us, "max", (json_int_t)r->latency_max_us, "faults", faults,
        "interrupted", r->interrupted, "first_error", r->first_error[0] ? r->first_error : NULL);
}

void prod_report_print(FILE *out, const prod_report *r)
{
    char bytes[32];
    sm_format_size((uint64_t)r->bytes_acked, bytes, sizeof bytes);
    fprintf(out, "produced   %" PRId64 " messages (seed %" PRId64 ")%s\n", r->produced, r->seed,
            r->interrupted ? ", interrupted" : "");
    fprintf(out, "acked      %" PRId64 " messages, %s\n", r->acked, bytes);
    fprintf(out, "failed     %" PRId64 "%s%s\n", r->failed, r->first_error[0] ? ": " : "",
            r->first_error);
    fprintf(out, "rate       %.0f msg/s, %.1f MB/s over %.2f s\n", r->msgs_per_s, r->mb_per_s,
            r->elapsed_s);
    fprintf(out, "latency    p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms\n",
            (double)r->latency_p50_us / 1000, (double)r->latency_p95_us / 1000,
            (double)r->latency_p99_us / 1000, (double)r->latency_max_us / 1000);
    fprintf(out, "faults    ");
    for (int f = 1; f < DG_FAULT_COUNT; f++) {
        if (r->faults[f]) {
            fprintf(out, " %s=%" PRId64, dg_fault_name((dg_fault)f), r->faults[f]);
        }
    }
    fprintf(out, "%s\n", r->faults[0] == r->produced ? " none" : "");
}
