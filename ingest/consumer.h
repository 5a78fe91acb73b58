/*
 * The Kafka consumer of a pipeline: N threads, each owning a fixed set of partitions, reading
 * exact offset ranges for one micro-batch at a time (DESIGN.md "The flow of one micro-batch").
 *
 * The checkpoint, not Kafka, is the source of truth for offsets (as in Spark's Kafka source):
 * partitions are *assigned* explicitly (rd_kafka_assign, no group rebalancing), each batch reads
 * the ranges the engine chose, and group offsets are committed afterwards only so that lag
 * tools (kafka-consumer-groups, Burrow) see progress.
 *
 *   open         one librdkafka consumer handle per thread, the pipeline's options passed as
 *                they are (security.protocol, sasl.*, ...); partitions of the topics are listed
 *                from metadata and spread over the threads (partition p of the sorted list goes
 *                to thread p % threads), so a partition is always read by the same thread.
 *   refresh      re-reads metadata: partitions added since appear (assigned to a thread, and
 *                reported so the engine can start them from their earliest offset, as Spark
 *                does); watermarks (low, high) per partition for lag and available_now.
 *   run_batch    each thread reads its partitions' ranges [start, end) and calls the message
 *                callback in offset order per partition, with the thread's own context (so
 *                decoding goes straight into that thread's column builders, no locking). A new
 *                batch reads until its ranges' ends, the batch limits or the deadline, and
 *                reports where each range actually ended; a re-run reads exact ranges.
 *                Messages go from librdkafka's buffers straight into the callback, so what is
 *                in flight is librdkafka's prefetch: it is bounded per partition
 *                (conf.prefetch_bytes shared over the partitions), and a partition whose
 *                prefetch is full is not fetched until its thread reads on, however slow the
 *                callback: paused, not buffered (DESIGN.md contract 4).
 *   offsets      a start offset below the partition's low watermark means records were lost
 *                to retention: with fail_on_data_loss the batch fails (SM_ERR_KAFKA naming the
 *                topic, partition, wanted and earliest offsets); without it the range starts at
 *                the low watermark and the skipped count is reported.
 *
 * @thread sm_consumer_* from one thread (the engine's); callbacks run on the consumer threads,
 * each with its own context.
 */
#ifndef SM_INGEST_CONSUMER_H
#define SM_INGEST_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct sm_consumer sm_consumer;

typedef struct sm_consumer_conf {
    const char *bootstrap_servers;
    int n_topics;
    const char *const *topics;
    const char *group_id; /* for committing offsets (lag tools); NULL: no commits */
    int n_options;        /* librdkafka properties, passed as they are */
    const char *const *option_keys;
    const char *const *option_values;
    int threads;            /* consumer threads; 0: the number of online CPUs */
    bool fail_on_data_loss; /* default true */
    int64_t timeout_ms;     /* metadata and watermark queries; 0: 10 s */
    int64_t prefetch_bytes; /* records fetched ahead, over all partitions; 0: 64 MiB (each
                               partition gets at least 96 KiB) */
} sm_consumer_conf;

void sm_consumer_conf_default(sm_consumer_conf *c);

/* A partition known to the consumer. */
typedef struct sm_partition_info {
    const char *topic; /* owned by the consumer, valid until close */
    int32_t partition;
    int thread;        /* the consumer thread that owns it */
    int64_t low, high; /* watermarks at the last refresh: records are [low, high) */
    bool is_new;       /* appeared in the last refresh (not at open) */
} sm_partition_info;

/* Connects, lists the topics' partitions and queries their watermarks. A topic that does not
 * exist is SM_ERR_KAFKA naming it; an unreachable cluster SM_ERR_TIMEOUT after timeout_ms. */
int sm_consumer_open(const sm_consumer_conf *conf, sm_consumer **out, sm_error *err);
void sm_consumer_close(sm_consumer *c); /* accepts NULL; stops the threads */

/* Re-reads metadata and watermarks. The array is owned by the consumer, valid until the next
 * refresh or close. Indices are stable: partitions found later are appended (is_new), so an
 * index and the thread that owns it never change. */
int sm_consumer_refresh(sm_consumer *c, const sm_partition_info **parts, int *n, sm_error *err);

/* The first offset whose timestamp is >= ts_ms, per partition (rd_kafka_offsets_for_times):
 * for starting_offsets by timestamp. Partitions with no such record get their high watermark. */
int sm_consumer_offsets_for_time(sm_consumer *c, int64_t ts_ms, int64_t *offsets, sm_error *err);

/* One partition's part of a batch. */
typedef struct sm_range {
    int32_t index; /* index into the sm_partition_info array of the last refresh */
    int64_t start; /* first offset to read */
    int64_t end;   /* one past the last offset to read; -1: open (read what arrives) */
    /* filled in by run_batch: */
    int64_t next;    /* one past the last offset read: the range actually read is [start,next) */
    int64_t records; /* messages delivered */
    int64_t bytes;   /* key + value bytes delivered */
    int64_t skipped; /* offsets lost to retention (fail_on_data_loss = false) */
} sm_range;

/* One message, borrowed for the duration of the callback. */
typedef struct sm_kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 when the message has none */
    const void *key;      /* NULL for a null key */
    size_t key_len;
    const void *value; /* NULL for a null value (tombstone) */
    size_t value_len;
    int32_t range; /* index of the range in the run_batch call */
} sm_kafka_msg;

/* Called on consumer thread `thread` with contexts[thread]. Returning non-zero stops the batch
 * (run_batch then returns SM_ERR_INTERRUPTED unless the callback set a more precise error
 * through its context). */
typedef int (*sm_msg_fn)(void *thread_ctx, const sm_kafka_msg *m);

/* Limits of a new batch (a re-run passes none). */
typedef struct sm_batch_limits {
    int64_t max_records; /* over all ranges; 0: none */
    int64_t max_bytes;   /* key + value bytes over all ranges; 0: none */
    int64_t deadline_ms; /* wall clock (sm_wall_ms) at which open ranges close; 0: none */
} sm_batch_limits;

/*
 * Reads the ranges. With `limits` NULL, every range must be closed and is read exactly to its
 * end: a re-run of a batch whose offsets are in the checkpoint, which must produce the same
 * records. With limits, each range stops at its end when it has one (end >= 0: available_now
 * caps ranges at the high watermarks seen at start) and all stop when a limit or the deadline is
 * reached or `stop` becomes non-zero — the engine then records [start, next) of every range in
 * the checkpoint before writing anything. Returns when every range is done; fills
 * next/records/bytes/skipped of each range.
 * Errors: SM_ERR_KAFKA (broker error, data loss with fail_on_data_loss), SM_ERR_TIMEOUT (an
 * exact range could not be completed: the records are gone or the cluster is unreachable),
 * SM_ERR_INTERRUPTED (`stop` or a callback asked to stop).
 */
int sm_consumer_run_batch(sm_consumer *c, sm_range *ranges, int n, const sm_batch_limits *limits,
                          void *const *contexts, sm_msg_fn fn, volatile const int *stop,
                          sm_error *err);

/* Commits next offsets to the consumer group (for lag tools only; failures are logged by the
 * caller and never stop a pipeline). */
int sm_consumer_commit(sm_consumer *c, const sm_range *ranges, int n, sm_error *err);

/* Number of consumer threads (for sizing the per-thread contexts). */
int sm_consumer_threads(const sm_consumer *c);

#endif
