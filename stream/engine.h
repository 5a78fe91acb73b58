/*
 * The micro-batch engine: Kafka → bronze and dead-letter Delta tables, exactly once
 * (DESIGN.md "The flow of one micro-batch", contract 1). `smelter run` is a loop around it.
 *
 * One batch N:
 *   1. plan     sm_ckpt_plan: if offsets/N exists without commits/N, batch N is re-run over
 *               exactly the ranges and with the batch timestamp recorded there; otherwise a new
 *               batch N = last committed + 1 starts where the last one ended (partitions seen for
 *               the first time start at source.kafka.starting_offsets).
 *   2. read     the consumer threads (ingest/consumer.h) read the ranges and decode each message
 *               straight into their own column builders: a bronze row (the .avsc fields + the
 *               metadata columns below) or, when it cannot be decoded, a dead-letter row with the
 *               raw bytes and the reason. A new batch closes at the trigger: interval elapsed,
 *               max_records_per_trigger / max_bytes_per_trigger reached (the bound on memory:
 *               consumers pause, never buffer past it), or, with available_now, the high
 *               watermarks seen at start (then as many batches as the limits need, then exit).
 *   3. silver   the silver tables' expectations, late rows and dedup (stream/silver.h) run while
 *               the bronze and dead-letter files are written (under fresh names: not part of a
 *               table before its commit). A `fail` rule stops here: nothing is recorded.
 *               Otherwise the silver, quarantine and late files join the writers' queue at once
 *               (one writer thread per consumer thread, the largest file first; a silver or
 *               late file waits, if other work is queued, for its rows' bronze file, whose
 *               dictionary indices it then takes instead of hashing the values again: pq_share
 *               in storage/parquet_writer.h).
 *   4. offsets  offsets/N records the ranges actually read [start, next), the batch timestamp,
 *               the watermark and the pipeline's config hash — durably, before any commit.
 *   5. tables   the dedup states are evicted by the next watermark and saved as
 *               state/N/dedup-<table> while the writers go on; once every file is written,
 *               for each table in order (bronze, the dead-letter table when it has rows or
 *               exists, the derived tables): if its log already holds txn(appId = query id) >= N
 *               the table is skipped (the batch reached it before a crash); otherwise its files
 *               (split at target_file_size, into the partition directory) are committed as one
 *               Delta commit with txn(query id, N), operation "STREAMING UPDATE",
 *               operationParameters {outputMode: Append, queryId, epochId: N}. Tables are
 *               created on first use. Then the batch's row in the event log.
 *   6. commit   commits/N, then the Kafka group offsets (for lag tools only), then checkpoint
 *               entries older than checkpoint.retention_batches are purged.
 * A crash anywhere is safe: before 4 nothing was recorded and the batch is read again from the
 * same starts (files written are orphans); after 4 the re-run reads the same ranges and makes
 * identical rows, and step 5 skips tables that already have the batch.
 *
 * Bronze metadata columns (DESIGN.md "Names and conventions"): _ingestion_timestamp
 * (timestamp, the batch timestamp of offsets/N), _ingestion_date (date, of that timestamp, UTC;
 * the default partition column), _batch_id (long), _source_system (string: the topic),
 * _kafka_partition (int), _kafka_offset (long), _kafka_timestamp (timestamp),
 * _kafka_key (binary, as Spark's Kafka source gives it).
 * Dead-letter table `<pipeline>_dead_letter` (partitioned by _ingestion_date): topic,
 * partition, offset, kafka_timestamp, key (binary), value (binary: the raw payload), reason
 * (string), error_offset (int: byte position in the payload, -1 when none), _batch_id,
 * _ingestion_timestamp, _ingestion_date. It is at <lake>/bronze/<pipeline>_dead_letter. Reasons
 * are "<json reason>: <message>", "null value" (tombstones) and "oversized: ..." for a record
 * larger than a quarter of a consumer thread's memory bound (stored without its value; the bound
 * is recorded in offsets/N "extra" as max_record_bytes, so a re-run decides alike).
 *
 * Signals: the first SIGINT/SIGTERM (`*opts->stop` becomes 1) stops taking new data: a batch
 * still reading closes early and is committed; the engine returns SM_OK. A second one
 * (`*stop` >= 2) abandons the batch at once (SM_ERR_INTERRUPTED); the checkpoint keeps it safe.
 *
 * Testing hook: the environment variable SMELTER_CRASH_AT="<step>[:<batch>]" makes the process
 * _exit(137) at that protocol step — after_read, after_offsets, after_state, after_files:<table>,
 * after_commit:<table>, after_event_log, after_commits — so the crash tests can stop it between
 * any two steps.
 * SMELTER_ARENA_LIMIT=<bytes> replaces the per-consumer-thread memory bound (tests use a small
 * one to make batches close because memory is full rather than at a limit).
 *
 * @thread the engine's calls from one thread; it runs the consumer threads itself.
 */
#ifndef SM_STREAM_ENGINE_H
#define SM_STREAM_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "stream/pipeline.h"

typedef struct sm_engine sm_engine;

/* What one batch did, for progress lines, logs and tests. */
typedef struct sm_batch_report {
    int64_t batch_id;
    bool rerun;
    int64_t batch_timestamp_ms;
    int64_t records;      /* consumed */
    int64_t bytes;        /* key + value bytes consumed */
    int64_t bronze_rows;  /* records decoded into bronze */
    int64_t dead_letters; /* records that went to the dead-letter table */
    int64_t silver_rows;  /* rows written to silver tables (all of them) */
    int64_t quarantined;  /* rows dropped by expectations (to quarantine tables) */
    int64_t duplicates;   /* rows dropped by dedup */
    int64_t late;         /* rows behind the watermark */
    int64_t late_dropped; /* of those, rows dropped (tables with dedup) */
    int64_t watermark_ms; /* the batch's watermark (0: none yet) */
    int64_t lost;         /* offsets deleted by retention before they were read and skipped
                           * (source.kafka.fail_on_data_loss: false; with true the batch fails) */
    int64_t files;        /* data files written over all tables */
    int64_t lag;          /* records behind the high watermarks after the batch */
    int64_t duration_ms;
} sm_batch_report;

typedef void (*sm_batch_fn)(const sm_batch_report *r, void *ctx);

typedef struct sm_engine_opts {
    volatile const sig_atomic_t *stop; /* 1: finish cleanly; 2: abandon now. May be NULL. */
    bool available_now;                /* overrides the pipeline's trigger when true */
    int64_t max_batches;               /* stop after this many batches (0: no limit; tests) */
    sm_batch_fn on_batch;              /* called after each committed batch; may be NULL */
    void *ctx;
} sm_engine_opts;

/* Opens the checkpoint (creating it), loads the schema, connects the consumer. Errors name the
 * file, table or topic: a corrupt or foreign checkpoint, a schema that does not load, a
 * checkpoint written with a different config hash for a re-run batch (SM_ERR_USAGE: the batch
 * must be re-run with the configuration it was read with). */
int sm_engine_open(const sm_pipeline *p, const sm_engine_opts *opts, sm_engine **out,
                   sm_error *err);

/* Runs batches until stopped, until available_now has caught up, or until max_batches. */
int sm_engine_run(sm_engine *e, sm_error *err);

/* Totals since open (records, bronze rows, dead letters, batches in batch_id = count). */
void sm_engine_totals(const sm_engine *e, sm_batch_report *out);

/* Totals since open of one silver table: what its rows became and each expectation's counts
 * (names borrowed from the pipeline). */
typedef struct sm_table_totals {
    const char *name;
    const char *quarantine; /* NULL when none */
    int64_t input, output, quarantined, duplicates, late, late_dropped;
    int n_rules;
    const char *rule[64];
    int on_violation[64]; /* sm_pl_violation */
    int64_t passed[64], failed[64];
} sm_table_totals;

/* Fills up to `max` entries (one per silver table run, in order); returns how many. */
int sm_engine_silver_totals(const sm_engine *e, sm_table_totals *out, int max);

void sm_engine_close(sm_engine *e); /* accepts NULL */

#endif
