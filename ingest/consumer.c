/*
 * The Kafka consumer of a pipeline. See consumer.h for the contract; this is how it is kept.
 *
 * Handles. One "meta" librdkafka consumer handle, used from the engine's thread only, answers
 * metadata, watermarks, offsets_for_times and commits. Each consumer thread has a handle of its
 * own that owns a fixed set of partitions (index % threads of the partition list, which only
 * grows by appending, so ownership never moves). No handle ever subscribes: partitions are
 * assigned with explicit offsets (rd_kafka_incremental_assign), which librdkafka allows without a
 * rebalance protocol. group.id is set on every handle because assign needs a consumer group
 * object; without conf.group_id a fixed internal name is used and nothing is committed.
 *
 * Per-partition queues. Every partition's fetch queue is taken out of the handle's consumer queue
 * (rd_kafka_queue_get_partition + rd_kafka_queue_forward(q, NULL) before the first assign: the
 * forward is "by the application" and sticks across assigns). A thread reads its partitions'
 * queues round-robin, at most CHUNK messages per turn, and sleeps on a pipe that librdkafka
 * writes to when a queue goes from empty to non-empty (rd_kafka_queue_io_event_enable). Reading a
 * partition's queue separately is what lets a closed range stop exactly at `end`: a message past
 * the range, or past a limit, stays "held" in the partition's small buffer for the next batch.
 *
 * Cursor. Per partition, `cursor` is the offset below which everything in the stream (held
 * messages + queue + fetcher) has been consumed; a batch whose range starts at the cursor just
 * continues (keeping prefetched data), any other start repositions the partition (incremental
 * unassign + assign at the start; librdkafka's op version barrier drops messages of the old
 * position). Gaps (compaction, transaction markers) are crossed by partition EOF events, which
 * carry the high watermark: so a closed range also completes when its last offsets hold no
 * message.
 *
 * Data loss. auto.offset.reset=error makes a fetch below the log start (or past the end) an
 * __AUTO_OFFSET_RESET event instead of a silent jump. Before reading, a range start below the
 * low watermark of the last refresh is caught directly; a start that retention overtook since is
 * caught by that event, after which the watermarks are queried afresh. Both go through
 * loss_decide(): fail the batch naming topic, partition and offsets, or skip to the low
 * watermark and count the skipped offsets.
 *
 * Memory (DESIGN.md contract 4). Messages go straight from librdkafka's buffers into the
 * callback; what is "in flight" is what librdkafka prefetches. With separate partition queues
 * queued.max.messages.kbytes applies per partition, and librdkafka stops fetching a partition
 * whose queue holds that much (the partition is paused by the fetcher, not buffered further);
 * one fetch response (max.partition.fetch.bytes) may overshoot it. Both are sized at open from
 * conf.prefetch_bytes over the partitions, so prefetched data stay near that bound however slow
 * a thread's callback is and however long the engine takes between batches. Partitions added
 * later get the same per-partition sizes.
 *
 * Limits. A new batch (limits given) counts records and bytes in atomics shared by the threads;
 * a message is delivered only after reserving its record (hard limit) and while the bytes before
 * it are under max_bytes (soft limit: the message that crosses it is delivered, so a batch always
 * moves). The first refusal or the deadline close every range where it stands. A re-run (no
 * limits) reads every range to its end. A range with an end that makes no progress for
 * 3 x timeout_ms fails the batch with SM_ERR_TIMEOUT (records gone, cluster unreachable). The
 * stop flag, a callback's non-zero return or an error in one thread end the batch in all.
 */
#include "ingest/consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/log.h"

#define CHUNK              256  /* messages taken from a partition queue per turn */
#define WAIT_SLICE_MS      50   /* longest sleep between checks of stop, deadline, stall */
#define FETCH_WAIT_MS      "20" /* fetch.wait.max.ms of the thread handles */
#define KICK_EVERY_MS      100  /* at most one wake-up of a starved handle this often */
#define IDLE_SERVE_MS      1000 /* idle threads serve their handle's queues this often */
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_PREFETCH   (INT64_C(64) << 20)
#define NO_GROUP_ID        "smelter-no-commit"
#define MAX_RESET_RETRIES  5
#define COMPONENT          "consumer"

/* A partition's reading state. @thread its owning consumer thread during a batch, the engine's
 * between batches. */
typedef struct cpart {
    rd_kafka_queue_t *q; /* the partition's own fetch queue; NULL until first used */
    bool assigned;       /* in the owner handle's assignment */
    bool stream_ok;      /* cursor is where held + queue continue */
    int64_t cursor;
    int resets; /* __AUTO_OFFSET_RESET events handled in this batch */
    rd_kafka_message_t **held;
    int head, count;
} cpart;

typedef struct batch batch;

typedef struct cthread {
    struct sm_consumer *c;
    int id;
    rd_kafka_t *rk;
    int wake[2]; /* partition queues write a byte here when they become non-empty */
    pthread_t th;
    bool started;
    int *mine; /* indices of this thread's ranges in the current batch */
    int n_mine;
} cthread;

struct batch {
    sm_range *ranges;
    int n;
    bool exact; /* a re-run (no limits): every range is read to its end */
    int64_t max_records, max_bytes, deadline_ms;
    void *const *contexts;
    sm_msg_fn fn;
    volatile const int *stop;
    uint64_t seq;
    atomic_llong records, bytes;
    atomic_int halt;  /* a limit was reached: the ranges of a new batch close */
    atomic_int abort; /* an error, the stop flag or a callback ended the batch */
    pthread_mutex_t err_mtx;
    bool has_err;
    sm_error err;
};

struct sm_consumer {
    char *bootstrap;
    char *group_id; /* NULL: no commits */
    char **topics;  /* sorted by name */
    int n_topics;
    char **opt_keys, **opt_values;
    int n_options;
    bool fail_on_data_loss;
    int64_t timeout_ms;
    int64_t prefetch_bytes;
    int64_t part_queue_kb, part_fetch_bytes; /* sizes applied to thread handles */

    rd_kafka_t *meta; /* @thread engine */
    rd_kafka_queue_t *commit_q;

    sm_partition_info *parts; /* index-stable: new partitions are appended */
    cpart *cparts;
    int n_parts, cap_parts;

    int n_threads;
    cthread *threads;
    pthread_mutex_t mtx;
    pthread_cond_t cv_start, cv_done;
    bool sync_made;
    uint64_t gen;     /* @locks mtx: bumped to start a batch */
    int pending;      /* @locks mtx: threads still running the batch */
    bool shutdown;    /* @locks mtx */
    batch *job;       /* @locks mtx */
    uint64_t batches; /* batches run, to rotate the reading order */
};

/* ---------------------------------------------------------------- small helpers */

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void batch_fail(batch *b, const sm_error *e)
{
    pthread_mutex_lock(&b->err_mtx);
    if (!b->has_err) {
        b->has_err = true;
        b->err = *e;
    }
    pthread_mutex_unlock(&b->err_mtx);
    atomic_store(&b->abort, 1);
}

static int kafka_code(rd_kafka_resp_err_t e)
{
    return (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
            e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
               ? SM_ERR_TIMEOUT
               : SM_ERR_KAFKA;
}

/* librdkafka's log lines, routed to ours. Called on librdkafka's threads (sm_log is @thread
 * any). Its errors are mostly transient (a broker down, a reconnect): warnings; the outcome the
 * pipeline cares about reaches it through our return codes. */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sm_log(level <= 4 ? SM_LOG_WARN : SM_LOG_DEBUG, "kafka", "%s: %s", fac, buf);
}

/* Serves a handle's callbacks and drains its consumer queue (group errors) so neither grows
 * while nobody reads messages from them. */
static void serve_handle(rd_kafka_t *rk)
{
    rd_kafka_message_t *m;
    rd_kafka_poll(rk, 0);
    while ((m = rd_kafka_consumer_poll(rk, 0))) {
        if (m->err) {
            sm_log_debug(COMPONENT, "%s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
}

static int set_prop(rd_kafka_conf_t *kc, const char *k, const char *v, sm_error *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(kc, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        return sm_error_set(err, SM_ERR_USAGE, "kafka option %s=%s: %s", k, v, errstr);
    }
    return SM_OK;
}

/* A consumer handle with our settings, then the pipeline's options (which may override them).
 * `thread` < 0 makes the meta handle. */
static int make_handle(sm_consumer *c, int thread, rd_kafka_t **out, sm_error *err)
{
    char errstr[512], num[32], client[64];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    int rc = SM_OK;

    *out = NULL;
    snprintf(client, sizeof client, thread < 0 ? "smelter-meta" : "smelter-%d", thread);
    rc = set_prop(kc, "bootstrap.servers", c->bootstrap, err);
    if (!rc) {
        rc = set_prop(kc, "group.id", c->group_id ? c->group_id : NO_GROUP_ID, err);
    }
    if (!rc) {
        rc = set_prop(kc, "client.id", client, err);
    }
    if (!rc) {
        rc = set_prop(kc, "enable.auto.commit", "false", err);
    }
    if (!rc) {
        rc = set_prop(kc, "enable.auto.offset.store", "false", err);
    }
    if (!rc) {
        rc = set_prop(kc, "auto.offset.reset", "error", err);
    }
    if (!rc) {
        rc = set_prop(kc, "enable.partition.eof", "true", err);
    }
    if (!rc && thread >= 0) {
        /* A fetch holding only partitions already at their end waits this long at the broker
         * while partitions behind it are starved (one fetch in flight per broker): keep it
         * short. Users may override it in options. */
        rc = set_prop(kc, "fetch.wait.max.ms", FETCH_WAIT_MS, err);
    }
    if (!rc && thread >= 0) {
        snprintf(num, sizeof num, "%" PRId64, c->part_queue_kb);
        rc = set_prop(kc, "queued.max.messages.kbytes", num, err);
        if (!rc) {
            snprintf(num, sizeof num, "%" PRId64, c->part_fetch_bytes);
            rc = set_prop(kc, "max.partition.fetch.bytes", num, err);
        }
    }
    for (int i = 0; !rc && i < c->n_options; i++) {
        rc = set_prop(kc, c->opt_keys[i], c->opt_values[i], err);
    }
    if (rc) {
        rd_kafka_conf_destroy(kc);
        return rc;
    }
    rd_kafka_conf_set_log_cb(kc, on_kafka_log);
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof errstr);
    if (!*out) {
        rd_kafka_conf_destroy(kc);
        return sm_error_set(err, SM_ERR_USAGE, "kafka consumer: %s", errstr);
    }
    return SM_OK;
}

/* ---------------------------------------------------------------- metadata and watermarks */

static int add_part(sm_consumer *c, const char *topic, int32_t partition, bool is_new)
{
    if (c->n_parts == c->cap_parts) {
        int cap = c->cap_parts ? c->cap_parts * 2 : 64;
        sm_partition_info *p = realloc(c->parts, (size_t)cap * sizeof *p);
        cpart *cp;
        if (!p) {
            return SM_ERR_NOMEM;
        }
        c->parts = p;
        cp = realloc(c->cparts, (size_t)cap * sizeof *cp);
        if (!cp) {
            return SM_ERR_NOMEM;
        }
        c->cparts = cp;
        c->cap_parts = cap;
    }
    c->parts[c->n_parts] =
        (sm_partition_info){.topic = topic,
                            .partition = partition,
                            .thread = c->n_threads ? c->n_parts % c->n_threads : 0,
                            .low = -1,
                            .high = -1,
                            .is_new = is_new};
    memset(&c->cparts[c->n_parts], 0, sizeof c->cparts[0]);
    c->n_parts++;
    return SM_OK;
}

static int find_part(const sm_consumer *c, const char *topic, int32_t partition)
{
    for (int i = 0; i < c->n_parts; i++) {
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * Lists the topics' partitions from cluster metadata and appends those not known yet (marked
 * is_new unless this is the first listing). All-topics metadata is asked for because a request
 * naming a topic may auto-create it (brokers with auto.create.topics.enable, and always with
 * brokers older than 0.11): a misspelled topic must be an error, not a new topic.
 */
static int list_partitions(sm_consumer *c, bool first, sm_error *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(c->meta, 1, NULL, &md, (int)c->timeout_ms);

    if (kerr) {
        return sm_error_set(err, kafka_code(kerr),
                            "kafka %s: cannot read cluster metadata within %" PRId64
                            " ms: %s (is the cluster reachable, are the security options right?)",
                            c->bootstrap, c->timeout_ms, rd_kafka_err2str(kerr));
    }
    for (int i = 0; i < c->n_parts; i++) {
        c->parts[i].is_new = false;
    }
    for (int t = 0; t < c->n_topics; t++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        int32_t *ids;
        for (int k = 0; k < md->topic_cnt; k++) {
            if (strcmp(md->topics[k].topic, c->topics[t]) == 0) {
                mt = &md->topics[k];
                break;
            }
        }
        if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            rd_kafka_metadata_destroy(md);
            return sm_error_set(err, SM_ERR_KAFKA,
                                "kafka topic '%s' does not exist on %s: create it, or fix "
                                "source.kafka.topics",
                                c->topics[t], c->bootstrap);
        }
        if (mt->err) {
            sm_error_set(err, SM_ERR_KAFKA, "kafka topic '%s': %s", c->topics[t],
                         rd_kafka_err2str(mt->err));
            if (err) {
                err->retriable = true;
            }
            rd_kafka_metadata_destroy(md);
            return SM_ERR_KAFKA;
        }
        /* partitions in id order, whatever order the broker lists them in */
        ids = malloc(sizeof *ids * (size_t)(mt->partition_cnt ? mt->partition_cnt : 1));
        if (!ids) {
            rd_kafka_metadata_destroy(md);
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        for (int k = 0; k < mt->partition_cnt; k++) {
            int32_t v = mt->partitions[k].id;
            int j = k;
            while (j > 0 && ids[j - 1] > v) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = v;
        }
        for (int k = 0; k < mt->partition_cnt; k++) {
            if (find_part(c, c->topics[t], ids[k]) < 0 &&
                add_part(c, c->topics[t], ids[k], !first) != SM_OK) {
                free(ids);
                rd_kafka_metadata_destroy(md);
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
        }
        free(ids);
    }
    rd_kafka_metadata_destroy(md);
    return SM_OK;
}

/*
 * ListOffsets for every known partition with the same "timestamp": -2 (earliest), -1 (latest)
 * or a time in ms (the first offset with a timestamp >= it, -1 when there is none). One request
 * per leader through rd_kafka_offsets_for_times, instead of one round trip per partition with
 * rd_kafka_query_watermark_offsets. Retriable per-partition errors (leader moving) are retried
 * until the timeout.
 */
static int list_offsets(sm_consumer *c, int64_t ts, int64_t *out, sm_error *err)
{
    int64_t give_up = sm_mono_ns() + c->timeout_ms * INT64_C(1000000);
    for (;;) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->n_parts);
        rd_kafka_resp_err_t kerr;
        int bad = -1;

        for (int i = 0; i < c->n_parts; i++) {
            rd_kafka_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition)->offset =
                ts;
        }
        kerr = rd_kafka_offsets_for_times(c->meta, l, (int)c->timeout_ms);
        if (!kerr) {
            for (int i = 0; i < c->n_parts; i++) {
                /* the list keeps our order; look it up anyway, it costs nothing here */
                rd_kafka_topic_partition_t *e =
                    rd_kafka_topic_partition_list_find(l, c->parts[i].topic, c->parts[i].partition);
                if (!e || e->err) {
                    bad = i;
                    kerr = e ? e->err : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
                    break;
                }
                out[i] = e->offset;
            }
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (!kerr) {
            return SM_OK;
        }
        if (sm_mono_ns() >= give_up || kerr == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            if (bad >= 0) {
                sm_error_set(err, kafka_code(kerr), "kafka topic %s partition %d: list offsets: %s",
                             c->parts[bad].topic, c->parts[bad].partition, rd_kafka_err2str(kerr));
            } else {
                sm_error_set(err, kafka_code(kerr), "kafka %s: list offsets: %s", c->bootstrap,
                             rd_kafka_err2str(kerr));
            }
            if (err) {
                err->retriable = kerr != RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
            }
            return kafka_code(kerr);
        }
        sm_sleep_ms(100);
    }
}

static int query_watermarks(sm_consumer *c, sm_error *err)
{
    int64_t *lo = malloc(sizeof *lo * (size_t)(c->n_parts + 1));
    int64_t *hi = malloc(sizeof *hi * (size_t)(c->n_parts + 1));
    int rc;

    if (!lo || !hi) {
        free(lo);
        free(hi);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    rc = list_offsets(c, RD_KAFKA_OFFSET_BEGINNING, lo, err);
    if (!rc) {
        rc = list_offsets(c, RD_KAFKA_OFFSET_END, hi, err);
    }
    if (!rc) {
        for (int i = 0; i < c->n_parts; i++) {
            c->parts[i].low = lo[i];
            c->parts[i].high = hi[i];
        }
    }
    free(lo);
    free(hi);
    return rc;
}

/* ---------------------------------------------------------------- data loss */

/*
 * What to do when reading `topic`/`partition` from `pos` (range end `end`, -1 open) while the
 * log holds [low, high). Returns SM_OK with the position to read from and the offsets skipped,
 * or SM_ERR_KAFKA when records are gone and fail_on_data_loss is set.
 *  pos < low:  records [pos, low) were deleted by retention before they were read.
 *  pos > high: the offset is past the log's end: the topic was deleted and re-created, or the
 *              log truncated. A closed range skips the rest of its offsets; an open one starts
 *              again at low (a re-created topic's records begin there).
 */
static int loss_decide(const char *topic, int32_t partition, int64_t pos, int64_t end, int64_t low,
                       int64_t high, bool fail, int64_t *new_pos, int64_t *skipped, sm_error *err)
{
    *new_pos = pos;
    *skipped = 0;
    if (low >= 0 && pos < low) {
        int64_t to = end >= 0 && end < low ? end : low;
        if (fail) {
            return sm_error_set(err, SM_ERR_KAFKA,
                                "kafka topic %s partition %d: offsets %" PRId64 "..%" PRId64
                                " were deleted by retention before they were read (wanted "
                                "offset %" PRId64 ", earliest available %" PRId64
                                "); set source.kafka.fail_on_data_loss: false to skip them",
                                topic, partition, pos, low - 1, pos, low);
        }
        sm_log_warn(COMPONENT,
                    "kafka topic %s partition %d: skipping offsets %" PRId64 "..%" PRId64
                    " deleted by retention before they were read (fail_on_data_loss is false)",
                    topic, partition, pos, to - 1);
        *new_pos = to;
        *skipped = to - pos;
    } else if (high >= 0 && pos > high) {
        if (fail) {
            return sm_error_set(err, SM_ERR_KAFKA,
                                "kafka topic %s partition %d: wanted offset %" PRId64
                                " is past the end of the log (%" PRId64
                                "): was the topic deleted and re-created? set "
                                "source.kafka.fail_on_data_loss: false to go on",
                                topic, partition, pos, high);
        }
        if (end >= 0) {
            *new_pos = end;
            *skipped = end - pos;
        } else {
            *new_pos = low;
        }
        sm_log_warn(COMPONENT,
                    "kafka topic %s partition %d: offset %" PRId64
                    " is past the end of the log (%" PRId64 "); going on at %" PRId64
                    " (fail_on_data_loss is false)",
                    topic, partition, pos, high, *new_pos);
    }
    return SM_OK;
}

/* ---------------------------------------------------------------- consumer threads */

static void drop_held(cpart *cp)
{
    for (int i = 0; i < cp->count; i++) {
        rd_kafka_message_destroy(cp->held[cp->head + i]);
    }
    cp->head = cp->count = 0;
}

/* Makes the partition's own queue, before it is ever assigned. */
static int ensure_queue(cthread *t, int pi, sm_error *err)
{
    sm_consumer *c = t->c;
    cpart *cp = &c->cparts[pi];
    if (cp->q) {
        return SM_OK;
    }
    if (!cp->held) {
        cp->held = malloc(sizeof *cp->held * CHUNK);
        if (!cp->held) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    cp->q = rd_kafka_queue_get_partition(t->rk, c->parts[pi].topic, c->parts[pi].partition);
    if (!cp->q) {
        return sm_error_set(err, SM_ERR_KAFKA, "kafka topic %s partition %d: no queue",
                            c->parts[pi].topic, c->parts[pi].partition);
    }
    rd_kafka_queue_forward(cp->q, NULL);
    rd_kafka_queue_io_event_enable(cp->q, t->wake[1], "x", 1);
    return SM_OK;
}

/* Starts reading the given partitions at the given offsets: those assigned already are
 * unassigned first (dropping what was fetched for the old position). */
static int reposition(cthread *t, const int *pis, const int64_t *offs, int n, sm_error *err)
{
    sm_consumer *c = t->c;
    rd_kafka_topic_partition_list_t *un = rd_kafka_topic_partition_list_new(n);
    rd_kafka_topic_partition_list_t *as = rd_kafka_topic_partition_list_new(n);
    rd_kafka_error_t *kerr = NULL;
    int rc = SM_OK;

    for (int i = 0; i < n; i++) {
        const sm_partition_info *p = &c->parts[pis[i]];
        cpart *cp = &c->cparts[pis[i]];
        drop_held(cp);
        if (cp->assigned) {
            rd_kafka_topic_partition_list_add(un, p->topic, p->partition);
        }
        rd_kafka_topic_partition_list_add(as, p->topic, p->partition)->offset = offs[i];
    }
    if (un->cnt > 0) {
        kerr = rd_kafka_incremental_unassign(t->rk, un);
    }
    if (!kerr) {
        for (int i = 0; i < n; i++) {
            c->cparts[pis[i]].assigned = false;
        }
        kerr = rd_kafka_incremental_assign(t->rk, as);
    }
    if (kerr) {
        rc = sm_error_set(err, SM_ERR_KAFKA,
                          "kafka: cannot assign partitions at the batch's offsets: %s",
                          rd_kafka_error_string(kerr));
        rd_kafka_error_destroy(kerr);
    } else {
        for (int i = 0; i < n; i++) {
            cpart *cp = &c->cparts[pis[i]];
            cp->assigned = cp->stream_ok = true;
            cp->cursor = offs[i];
        }
    }
    rd_kafka_topic_partition_list_destroy(un);
    rd_kafka_topic_partition_list_destroy(as);
    return rc;
}

static bool range_done(const sm_range *r, const cpart *cp)
{
    return r->end >= 0 && cp->cursor >= r->end;
}

/* Prepares the thread's ranges: data-loss check against the last refresh's low watermark, then
 * every partition whose stream is not already at its range's start is repositioned. */
static int thread_begin(cthread *t, batch *b, bool *active)
{
    sm_consumer *c = t->c;
    int *pis = malloc(sizeof *pis * (size_t)(t->n_mine + 1));
    int64_t *offs = malloc(sizeof *offs * (size_t)(t->n_mine + 1));
    int n = 0, rc = SM_OK;
    sm_error e;

    sm_error_clear(&e);
    if (!pis || !offs) {
        rc = sm_error_set(&e, SM_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; !rc && k < t->n_mine; k++) {
        sm_range *r = &b->ranges[t->mine[k]];
        const sm_partition_info *p = &c->parts[r->index];
        cpart *cp = &c->cparts[r->index];
        int64_t pos = r->start, skipped = 0;

        cp->resets = 0;
        rc = ensure_queue(t, r->index, &e);
        if (!rc && p->low >= 0 && pos < p->low) {
            rc = loss_decide(p->topic, p->partition, pos, r->end, p->low, -1, c->fail_on_data_loss,
                             &pos, &skipped, &e);
        }
        if (rc) {
            break;
        }
        r->skipped = skipped;
        r->next = pos;
        if (!(cp->assigned && cp->stream_ok && cp->cursor == pos)) {
            pis[n] = r->index;
            offs[n] = pos;
            n++;
        }
    }
    if (!rc && n > 0) {
        rc = reposition(t, pis, offs, n, &e);
    }
    for (int k = 0; !rc && k < t->n_mine; k++) {
        sm_range *r = &b->ranges[t->mine[k]];
        active[k] = !range_done(r, &c->cparts[r->index]);
    }
    if (rc) {
        batch_fail(b, &e);
    }
    free(pis);
    free(offs);
    return rc;
}

/* An __AUTO_OFFSET_RESET event: the fetch position is outside the log. Fresh watermarks decide
 * between data loss and a transient condition; either way the partition is repositioned. */
static int handle_reset(cthread *t, sm_range *r, cpart *cp, const char *why, sm_error *e)
{
    sm_consumer *c = t->c;
    const sm_partition_info *p = &c->parts[r->index];
    int64_t lo = -1, hi = -1, pos, skipped;
    rd_kafka_resp_err_t kerr;
    int rc;

    if (++cp->resets > MAX_RESET_RETRIES) {
        return sm_error_set(e, SM_ERR_KAFKA,
                            "kafka topic %s partition %d: cannot read from offset %" PRId64 ": %s",
                            p->topic, p->partition, cp->cursor, why);
    }
    kerr = rd_kafka_query_watermark_offsets(t->rk, p->topic, p->partition, &lo, &hi,
                                            (int)c->timeout_ms);
    if (kerr) {
        sm_error_set(e, kafka_code(kerr),
                     "kafka topic %s partition %d: offset %" PRId64
                     " is out of range and the log's bounds cannot be read: %s",
                     p->topic, p->partition, cp->cursor, rd_kafka_err2str(kerr));
        e->retriable = true;
        return e->code;
    }
    rc = loss_decide(p->topic, p->partition, cp->cursor, r->end, lo, hi, c->fail_on_data_loss, &pos,
                     &skipped, e);
    if (rc) {
        return rc;
    }
    if (skipped == 0 && pos == cp->cursor) {
        sm_log_debug(COMPONENT, "kafka topic %s partition %d: %s; retrying at %" PRId64, p->topic,
                     p->partition, why, pos);
    }
    r->skipped += skipped;
    r->next = pos;
    return reposition(t, &r->index, &pos, 1, e);
}

/* Reserves one message of `sz` bytes against the batch limits (a re-run has none). */
static bool reserve(batch *b, int64_t sz)
{
    long long rec, by;
    if (b->exact) {
        return true;
    }
    rec = atomic_fetch_add(&b->records, 1);
    by = atomic_fetch_add(&b->bytes, sz);
    if ((b->max_records > 0 && rec >= b->max_records) || (b->max_bytes > 0 && by >= b->max_bytes)) {
        atomic_fetch_sub(&b->records, 1);
        atomic_fetch_sub(&b->bytes, sz);
        atomic_store(&b->halt, 1);
        return false;
    }
    return true;
}

/*
 * Delivers up to CHUNK messages of one range. Sets *progress when anything moved (a message, an
 * EOF that advanced the cursor). Returns SM_OK, or an error already recorded in the batch.
 * Sets *done when the range is finished.
 */
static int pump(cthread *t, batch *b, int k, bool *done, bool *progress)
{
    sm_consumer *c = t->c;
    int ri = t->mine[k];
    sm_range *r = &b->ranges[ri];
    const sm_partition_info *p = &c->parts[r->index];
    cpart *cp = &c->cparts[r->index];
    bool closed = r->end >= 0;
    sm_error e;

    for (int delivered = 0; delivered < CHUNK && !atomic_load(&b->abort);) {
        rd_kafka_message_t *m;
        if (cp->count == 0) {
            ssize_t got = rd_kafka_consume_batch_queue(cp->q, 0, cp->held, CHUNK);
            if (got < 0) {
                sm_error_set(&e, SM_ERR_KAFKA, "kafka topic %s partition %d: consume: %s", p->topic,
                             p->partition, rd_kafka_err2str(rd_kafka_last_error()));
                batch_fail(b, &e);
                return SM_ERR_KAFKA;
            }
            if (got == 0) {
                return SM_OK;
            }
            cp->head = 0;
            cp->count = (int)got;
        }
        m = cp->held[cp->head];
        if (m->err) {
            rd_kafka_resp_err_t merr = m->err;
            int64_t at = m->offset;
            char why[256];
            snprintf(why, sizeof why, "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            cp->head++;
            cp->count--;
            if (merr == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                /* caught up with the log's end `at`: offsets below it hold nothing more */
                if (at > cp->cursor) {
                    cp->cursor = closed && at > r->end ? r->end : at;
                    r->next = cp->cursor;
                    *progress = true;
                }
                if (range_done(r, cp)) {
                    *done = true;
                    return SM_OK;
                }
                continue;
            }
            if (merr == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
                int rc;
                cp->stream_ok = false; /* librdkafka stopped fetching: reposition to go on */
                rc = handle_reset(t, r, cp, why, &e);
                if (rc) {
                    batch_fail(b, &e);
                    return rc;
                }
                *progress = true;
                if (range_done(r, cp)) {
                    *done = true;
                }
                return SM_OK; /* the queue was reset: come back on the next turn */
            }
            if (merr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                merr == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                merr == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                merr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
                cp->stream_ok = false;
                sm_error_set(&e, SM_ERR_KAFKA, "kafka topic %s partition %d: %s", p->topic,
                             p->partition, why);
                batch_fail(b, &e);
                return SM_ERR_KAFKA;
            }
            sm_log_warn(COMPONENT, "kafka topic %s partition %d: %s (retrying)", p->topic,
                        p->partition, why);
            continue;
        }
        if (m->offset < cp->cursor) { /* from before a reposition: not ours */
            rd_kafka_message_destroy(m);
            cp->head++;
            cp->count--;
            continue;
        }
        if (closed && m->offset >= r->end) { /* the next batch's: stays held */
            cp->cursor = r->end;
            r->next = r->end;
            *done = true;
            return SM_OK;
        }
        if (!b->exact && atomic_load(&b->halt)) {
            *done = true;
            return SM_OK;
        }
        {
            int64_t sz = (int64_t)m->key_len + (int64_t)m->len;
            sm_kafka_msg km;
            rd_kafka_timestamp_type_t tstype;
            int stop_it;

            if (!reserve(b, sz)) {
                *done = true;
                return SM_OK;
            }
            km.topic = p->topic;
            km.partition = p->partition;
            km.offset = m->offset;
            km.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
            km.key = m->key;
            km.key_len = m->key ? m->key_len : 0;
            km.value = m->payload;
            km.value_len = m->payload ? m->len : 0;
            km.range = ri;
            stop_it = b->fn(b->contexts ? b->contexts[t->id] : NULL, &km);
            cp->cursor = m->offset + 1;
            r->next = cp->cursor;
            r->records++;
            r->bytes += sz;
            rd_kafka_message_destroy(m);
            cp->head++;
            cp->count--;
            delivered++;
            *progress = true;
            if (stop_it) {
                sm_error_set(&e, SM_ERR_INTERRUPTED,
                             "stopped by the message callback at kafka topic %s partition %d "
                             "offset %" PRId64,
                             p->topic, p->partition, km.offset);
                batch_fail(b, &e);
                return SM_ERR_INTERRUPTED;
            }
            if (range_done(r, cp)) {
                *done = true;
                return SM_OK;
            }
        }
    }
    return SM_OK;
}

static void drain_wake(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* Runs the thread's part of a batch. Errors are recorded in the batch. */
/*
 * librdkafka 2.0.2 stops fetching a partition whose queue is full and looks at it again only
 * when its broker thread wakes up, which can take up to fetch.wait.max.ms or a second (2.2
 * added fetch.queue.backoff.ms for this). A thread that is idle while one of its ranges still
 * has records to read wakes that broker thread with a watermark query — a cheap request —
 * at most every KICK_EVERY_MS.
 */
static void kick_if_starved(cthread *t, const batch *b, const bool *active, int64_t now_ms,
                            int64_t *last_kick)
{
    const sm_consumer *c = t->c;
    if (now_ms - *last_kick < KICK_EVERY_MS) {
        return;
    }
    for (int k = 0; k < t->n_mine; k++) {
        const sm_range *r = &b->ranges[t->mine[k]];
        const sm_partition_info *p = &c->parts[r->index];
        int64_t lo, hi;
        if (!active[k] || (r->end >= 0 ? r->next >= r->end : r->next >= p->high)) {
            continue;
        }
        *last_kick = now_ms;
        (void)rd_kafka_query_watermark_offsets(t->rk, p->topic, p->partition, &lo, &hi,
                                               (int)WAIT_SLICE_MS);
        return;
    }
}

/* A new handle knows no topic until its first metadata refresh (up to a second after the
 * assignment): ask for the pipeline's topics now, so the first fetch does not wait for it.
 * Failures are harmless here: the refresh comes anyway. */
static void warm_metadata(const sm_consumer *c, rd_kafka_t *rk)
{
    for (int k = 0; k < c->n_topics; k++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, c->topics[k], NULL);
        if (!rkt) {
            continue;
        }
        if (rd_kafka_metadata(rk, 0, rkt, &md, (int)c->timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
    }
}

static void thread_run(cthread *t, batch *b)
{
    sm_consumer *c = t->c;
    int64_t stall_ms = 3 * c->timeout_ms, last_progress = sm_mono_ns() / 1000000, last_kick = 0;
    bool *active;
    int n_active = 0, first;
    sm_error e;

    if (t->n_mine == 0) {
        return;
    }
    active = calloc((size_t)t->n_mine, sizeof *active);
    if (!active) {
        sm_error_set(&e, SM_ERR_NOMEM, "out of memory");
        batch_fail(b, &e);
        return;
    }
    if (thread_begin(t, b, active) != SM_OK) {
        free(active);
        return;
    }
    for (int k = 0; k < t->n_mine; k++) {
        n_active += active[k];
    }
    first = (int)(b->seq % (uint64_t)t->n_mine);

    while (n_active > 0 && !atomic_load(&b->abort)) {
        bool progress = false, closing;
        int64_t now_ms;

        if (b->stop && *b->stop) {
            sm_error_set(&e, SM_ERR_INTERRUPTED, "batch interrupted by a stop request");
            batch_fail(b, &e);
            break;
        }
        closing = !b->exact &&
                  (atomic_load(&b->halt) || (b->deadline_ms > 0 && sm_wall_ms() >= b->deadline_ms));
        for (int j = 0; j < t->n_mine && !atomic_load(&b->abort); j++) {
            int k = (first + j) % t->n_mine;
            bool done = false;
            if (!active[k]) {
                continue;
            }
            if (closing) {
                active[k] = false; /* the range closes where it stands */
                n_active--;
                continue;
            }
            if (pump(t, b, k, &done, &progress) != SM_OK) {
                break;
            }
            if (done) {
                active[k] = false;
                n_active--;
            }
        }
        if (n_active == 0 || atomic_load(&b->abort)) {
            break;
        }
        now_ms = sm_mono_ns() / 1000000;
        if (progress) {
            last_progress = now_ms;
            continue;
        }
        if (now_ms - last_progress > stall_ms) {
            bool closed_left = false;
            for (int k = 0; k < t->n_mine; k++) {
                const sm_range *r = &b->ranges[t->mine[k]];
                if (active[k] && r->end >= 0) {
                    const sm_partition_info *p = &c->parts[r->index];
                    sm_error_set(&e, SM_ERR_TIMEOUT,
                                 "kafka topic %s partition %d: no progress for %" PRId64
                                 " ms reading offsets %" PRId64 "..%" PRId64 " (stuck at %" PRId64
                                 "): the cluster is unreachable or the records are gone",
                                 p->topic, p->partition, stall_ms, r->start, r->end - 1, r->next);
                    e.retriable = true;
                    closed_left = true;
                    break;
                }
            }
            if (closed_left) {
                batch_fail(b, &e);
                break;
            }
            last_progress = now_ms;
        }
        kick_if_starved(t, b, active, now_ms, &last_kick);
        {
            int64_t wait = WAIT_SLICE_MS;
            struct pollfd pfd = {.fd = t->wake[0], .events = POLLIN};
            if (b->deadline_ms > 0) {
                int64_t left = b->deadline_ms - sm_wall_ms();
                if (left < wait) {
                    wait = left < 0 ? 0 : left;
                }
            }
            if (poll(&pfd, 1, (int)wait) > 0) {
                drain_wake(t->wake[0]);
            }
            serve_handle(t->rk);
        }
    }
    free(active);
}

static void *thread_main(void *arg)
{
    cthread *t = arg;
    sm_consumer *c = t->c;
    uint64_t seen = 0;

    pthread_mutex_lock(&c->mtx);
    for (;;) {
        batch *b;
        while (!c->shutdown && c->gen == seen) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += IDLE_SERVE_MS / 1000;
            if (pthread_cond_timedwait(&c->cv_start, &c->mtx, &ts) == ETIMEDOUT) {
                pthread_mutex_unlock(&c->mtx);
                serve_handle(t->rk);
                drain_wake(t->wake[0]);
                pthread_mutex_lock(&c->mtx);
            }
        }
        if (c->shutdown) {
            break;
        }
        seen = c->gen;
        b = c->job;
        pthread_mutex_unlock(&c->mtx);

        thread_run(t, b);

        pthread_mutex_lock(&c->mtx);
        if (--c->pending == 0) {
            pthread_cond_signal(&c->cv_done);
        }
    }
    pthread_mutex_unlock(&c->mtx);
    return NULL;
}

/* ---------------------------------------------------------------- public API */

void sm_consumer_conf_default(sm_consumer_conf *c)
{
    memset(c, 0, sizeof *c);
    c->fail_on_data_loss = true;
}

static void free_strv(char **v, int n)
{
    for (int i = 0; v && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void sm_consumer_close(sm_consumer *c)
{
    if (!c) {
        return;
    }
    if (c->sync_made) {
        pthread_mutex_lock(&c->mtx);
        c->shutdown = true;
        pthread_cond_broadcast(&c->cv_start);
        pthread_mutex_unlock(&c->mtx);
    }
    for (int i = 0; i < c->n_threads; i++) {
        if (c->threads[i].started) {
            pthread_join(c->threads[i].th, NULL);
        }
    }
    /* partition queues: stop librdkafka writing to our pipes, drop held messages */
    for (int i = 0; i < c->n_parts; i++) {
        cpart *cp = &c->cparts[i];
        if (cp->q) {
            rd_kafka_queue_io_event_enable(cp->q, -1, NULL, 0);
            drop_held(cp);
            rd_kafka_queue_destroy(cp->q);
        }
        free(cp->held);
    }
    for (int i = 0; i < c->n_threads; i++) {
        cthread *t = &c->threads[i];
        if (t->rk) {
            rd_kafka_consumer_close(t->rk);
            rd_kafka_destroy(t->rk);
        }
        if (t->wake[0] >= 0) {
            close(t->wake[0]);
            close(t->wake[1]);
        }
        free(t->mine);
    }
    if (c->commit_q) {
        rd_kafka_queue_destroy(c->commit_q);
    }
    if (c->meta) {
        rd_kafka_consumer_close(c->meta);
        rd_kafka_destroy(c->meta);
    }
    if (c->sync_made) {
        pthread_mutex_destroy(&c->mtx);
        pthread_cond_destroy(&c->cv_start);
        pthread_cond_destroy(&c->cv_done);
    }
    free(c->threads);
    free(c->parts);
    free(c->cparts);
    free_strv(c->topics, c->n_topics);
    free_strv(c->opt_keys, c->n_options);
    free_strv(c->opt_values, c->n_options);
    free(c->bootstrap);
    free(c->group_id);
    free(c);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int sm_consumer_open(const sm_consumer_conf *conf, sm_consumer **out, sm_error *err)
{
    sm_consumer *c;
    int rc;

    *out = NULL;
    if (!conf->bootstrap_servers || !*conf->bootstrap_servers) {
        return sm_error_set(err, SM_ERR_USAGE, "source.kafka.bootstrap_servers is empty");
    }
    if (conf->n_topics < 1 || !conf->topics) {
        return sm_error_set(err, SM_ERR_USAGE, "source.kafka.topics is empty: name a topic");
    }
    if (conf->threads < 0 || conf->threads > 1024) {
        return sm_error_set(err, SM_ERR_USAGE, "consumer threads must be 0..1024, not %d",
                            conf->threads);
    }
    if (conf->n_options < 0 || conf->timeout_ms < 0 || conf->prefetch_bytes < 0) {
        return sm_error_set(err, SM_ERR_USAGE, "consumer: negative option count or bound");
    }

    c = calloc(1, sizeof *c);
    if (!c) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    c->bootstrap = strdup(conf->bootstrap_servers);
    c->group_id = dup_str(conf->group_id);
    c->fail_on_data_loss = conf->fail_on_data_loss;
    c->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->prefetch_bytes = conf->prefetch_bytes > 0 ? conf->prefetch_bytes : DEFAULT_PREFETCH;
    c->topics = calloc((size_t)conf->n_topics, sizeof *c->topics);
    c->opt_keys = calloc((size_t)conf->n_options + 1, sizeof *c->opt_keys);
    c->opt_values = calloc((size_t)conf->n_options + 1, sizeof *c->opt_values);
    if (!c->bootstrap || (conf->group_id && !c->group_id) || !c->topics || !c->opt_keys ||
        !c->opt_values) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < conf->n_topics; i++) {
        if (!conf->topics[i] || !*conf->topics[i]) {
            rc = sm_error_set(err, SM_ERR_USAGE, "source.kafka.topics[%d] is empty", i);
            goto fail;
        }
        c->topics[i] = strdup(conf->topics[i]);
        c->n_topics++;
        if (!c->topics[i]) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    qsort(c->topics, (size_t)c->n_topics, sizeof *c->topics, cmp_str);
    for (int i = 1; i < c->n_topics; i++) {
        if (strcmp(c->topics[i - 1], c->topics[i]) == 0) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "topic '%s' is listed twice in "
                              "source.kafka.topics",
                              c->topics[i]);
            goto fail;
        }
    }
    for (int i = 0; i < conf->n_options; i++) {
        c->opt_keys[i] = strdup(conf->option_keys[i]);
        c->opt_values[i] = strdup(conf->option_values[i]);
        c->n_options++;
        if (!c->opt_keys[i] || !c->opt_values[i]) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }

    rc = make_handle(c, -1, &c->meta, err);
    if (rc) {
        goto fail;
    }
    c->commit_q = rd_kafka_queue_new(c->meta);
    if (!c->commit_q) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    rc = list_partitions(c, true, err);
    if (rc) {
        goto fail;
    }
    if (c->n_parts == 0) {
        rc = sm_error_set(err, SM_ERR_KAFKA, "kafka topics have no partitions");
        goto fail;
    }
    rc = query_watermarks(c, err);
    if (rc) {
        goto fail;
    }

    /* threads: the configured count, else one per CPU but no more than partitions */
    c->n_threads = conf->threads;
    if (c->n_threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        c->n_threads = cpus > 0 ? (int)cpus : 1;
        if (c->n_threads > c->n_parts) {
            c->n_threads = c->n_parts;
        }
    }
    for (int i = 0; i < c->n_parts; i++) {
        c->parts[i].thread = i % c->n_threads;
    }
    /* prefetch sizing: half a partition's share queued, half in one fetch (see the top) */
    {
        int64_t share = c->prefetch_bytes / c->n_parts;
        c->part_queue_kb = clamp64(share / 2 / 1024, 64, 65536);
        c->part_fetch_bytes = clamp64(share / 2, 32 * 1024, 1 << 20);
    }

    c->threads = calloc((size_t)c->n_threads, sizeof *c->threads);
    if (!c->threads) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c->n_threads; i++) {
        cthread *t = &c->threads[i];
        t->c = c;
        t->id = i;
        t->wake[0] = t->wake[1] = -1;
    }
    pthread_mutex_init(&c->mtx, NULL);
    pthread_cond_init(&c->cv_start, NULL);
    pthread_cond_init(&c->cv_done, NULL);
    c->sync_made = true;
    for (int i = 0; i < c->n_threads; i++) {
        cthread *t = &c->threads[i];
        if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "consumer: pipe");
            t->wake[0] = t->wake[1] = -1;
            goto fail;
        }
        rc = make_handle(c, i, &t->rk, err);
        if (rc) {
            goto fail;
        }
        warm_metadata(c, t->rk);
        if (pthread_create(&t->th, NULL, thread_main, t) != 0) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "consumer: cannot start thread %d", i);
            goto fail;
        }
        t->started = true;
    }
    sm_log_debug(COMPONENT,
                 "%d partition(s) over %d thread(s); prefetch %" PRId64 " KiB queued + %" PRId64
                 " B per fetch per partition",
                 c->n_parts, c->n_threads, c->part_queue_kb, c->part_fetch_bytes);
    *out = c;
    return SM_OK;

fail:
    sm_consumer_close(c);
    return rc;
}

int sm_consumer_refresh(sm_consumer *c, const sm_partition_info **parts, int *n, sm_error *err)
{
    int before = c->n_parts, rc;

    serve_handle(c->meta);
    rc = list_partitions(c, false, err);
    if (!rc) {
        rc = query_watermarks(c, err);
    }
    for (int i = before; i < c->n_parts; i++) {
        c->parts[i].thread = i % c->n_threads;
    }
    if (c->n_parts > before) {
        sm_log_info(COMPONENT, "%d new kafka partition(s) found", c->n_parts - before);
    }
    *parts = c->parts;
    *n = c->n_parts;
    return rc;
}

int sm_consumer_offsets_for_time(sm_consumer *c, int64_t ts_ms, int64_t *offsets, sm_error *err)
{
    int64_t *hi;
    int rc;

    if (ts_ms < 0) {
        return sm_error_set(err, SM_ERR_USAGE, "starting timestamp %" PRId64 " is negative", ts_ms);
    }
    hi = malloc(sizeof *hi * (size_t)(c->n_parts + 1));
    if (!hi) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    rc = list_offsets(c, ts_ms, offsets, err);
    if (!rc) {
        rc = list_offsets(c, RD_KAFKA_OFFSET_END, hi, err);
    }
    for (int i = 0; !rc && i < c->n_parts; i++) {
        if (offsets[i] < 0 || offsets[i] > hi[i]) {
            offsets[i] = hi[i];
        }
    }
    free(hi);
    return rc;
}

int sm_consumer_run_batch(sm_consumer *c, sm_range *ranges, int n, const sm_batch_limits *limits,
                          void *const *contexts, sm_msg_fn fn, volatile const int *stop,
                          sm_error *err)
{
    batch b;
    unsigned char *seen;
    int rc = SM_OK;

    if (n < 0 || (n > 0 && !ranges) || !fn) {
        return sm_error_set(err, SM_ERR_INTERNAL, "run_batch: bad arguments");
    }
    seen = calloc((size_t)c->n_parts + 1, 1);
    if (!seen) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        const sm_range *r = &ranges[i];
        if (r->index < 0 || r->index >= c->n_parts) {
            free(seen);
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "run_batch: range %d names partition index %d of %d", i, r->index,
                                c->n_parts);
        }
        if (seen[r->index]++) {
            free(seen);
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "run_batch: kafka topic %s partition %d is in two ranges",
                                c->parts[r->index].topic, c->parts[r->index].partition);
        }
        if (r->start < 0 || (r->end != -1 && r->end < r->start)) {
            free(seen);
            return sm_error_set(
                err, SM_ERR_INTERNAL,
                "run_batch: kafka topic %s partition %d: bad range %" PRId64 "..%" PRId64,
                c->parts[r->index].topic, c->parts[r->index].partition, r->start, r->end);
        }
        if (!limits && r->end < 0) {
            free(seen);
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "run_batch: kafka topic %s partition %d: a re-run (no limits) "
                                "needs a closed range, not an open one",
                                c->parts[r->index].topic, c->parts[r->index].partition);
        }
    }
    free(seen);

    for (int i = 0; i < c->n_threads; i++) {
        cthread *t = &c->threads[i];
        int *mine = realloc(t->mine, sizeof *mine * (size_t)(n + 1));
        if (!mine) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        t->mine = mine;
        t->n_mine = 0;
    }
    for (int i = 0; i < n; i++) {
        cthread *t = &c->threads[c->parts[ranges[i].index].thread];
        ranges[i].next = ranges[i].start;
        ranges[i].records = ranges[i].bytes = ranges[i].skipped = 0;
        t->mine[t->n_mine++] = i;
    }

    memset(&b, 0, sizeof b);
    b.ranges = ranges;
    b.n = n;
    b.exact = !limits;
    if (limits) {
        b.max_records = limits->max_records;
        b.max_bytes = limits->max_bytes;
        b.deadline_ms = limits->deadline_ms;
    }
    b.contexts = contexts;
    b.fn = fn;
    b.stop = stop;
    b.seq = c->batches++;
    atomic_init(&b.records, 0);
    atomic_init(&b.bytes, 0);
    atomic_init(&b.halt, 0);
    atomic_init(&b.abort, 0);
    pthread_mutex_init(&b.err_mtx, NULL);

    pthread_mutex_lock(&c->mtx);
    c->job = &b;
    c->pending = c->n_threads;
    c->gen++;
    pthread_cond_broadcast(&c->cv_start);
    while (c->pending > 0) {
        pthread_cond_wait(&c->cv_done, &c->mtx);
    }
    c->job = NULL;
    pthread_mutex_unlock(&c->mtx);

    if (b.has_err) {
        if (err) {
            *err = b.err;
        }
        rc = b.err.code;
    } else if (stop && *stop) {
        rc = sm_error_set(err, SM_ERR_INTERRUPTED, "batch interrupted by a stop request");
    }
    pthread_mutex_destroy(&b.err_mtx);
    return rc;
}

int sm_consumer_commit(sm_consumer *c, const sm_range *ranges, int n, sm_error *err)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_event_t *ev;
    int64_t give_up;
    int rc = SM_OK;

    if (!c->group_id || n == 0) {
        return SM_OK;
    }
    /* results of earlier commits that timed out here */
    while ((ev = rd_kafka_queue_poll(c->commit_q, 0))) {
        rd_kafka_event_destroy(ev);
    }
    serve_handle(c->meta);
    l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        const sm_range *r = &ranges[i];
        if (r->index < 0 || r->index >= c->n_parts || r->next < 0) {
            continue;
        }
        rd_kafka_topic_partition_list_add(l, c->parts[r->index].topic, c->parts[r->index].partition)
            ->offset = r->next;
    }
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return SM_OK;
    }
    {
        rd_kafka_resp_err_t kerr = rd_kafka_commit_queue(c->meta, l, c->commit_q, NULL, NULL);
        rd_kafka_topic_partition_list_destroy(l);
        if (kerr) {
            return sm_error_set(err, SM_ERR_KAFKA, "kafka group %s: offset commit: %s", c->group_id,
                                rd_kafka_err2str(kerr));
        }
    }

    give_up = sm_mono_ns() + c->timeout_ms * INT64_C(1000000);
    for (;;) {
        int64_t left = (give_up - sm_mono_ns()) / 1000000;
        if (left <= 0) {
            rc = sm_error_set(err, SM_ERR_TIMEOUT,
                              "kafka group %s: offset commit not confirmed within %" PRId64 " ms",
                              c->group_id, c->timeout_ms);
            if (err) {
                err->retriable = true;
            }
            break;
        }
        ev = rd_kafka_queue_poll(c->commit_q, (int)left);
        if (!ev) {
            continue;
        }
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            const rd_kafka_topic_partition_list_t *res = rd_kafka_event_topic_partition_list(ev);
            rd_kafka_resp_err_t kerr = rd_kafka_event_error(ev);
            for (int i = 0; !kerr && res && i < res->cnt; i++) {
                if (res->elems[i].err) {
                    kerr = res->elems[i].err;
                    rc = sm_error_set(err, SM_ERR_KAFKA,
                                      "kafka group %s: commit of topic %s partition %d: %s",
                                      c->group_id, res->elems[i].topic, res->elems[i].partition,
                                      rd_kafka_err2str(kerr));
                }
            }
            if (kerr && !rc) {
                rc = sm_error_set(err, SM_ERR_KAFKA, "kafka group %s: offset commit: %s",
                                  c->group_id, rd_kafka_err2str(kerr));
            }
            rd_kafka_event_destroy(ev);
            break;
        }
        rd_kafka_event_destroy(ev);
    }
    return rc;
}

int sm_consumer_threads(const sm_consumer *c)
{
    return c->n_threads;
}
