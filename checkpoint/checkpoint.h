/*
 * The checkpoint of a streaming query: the write-ahead log of its micro-batches, in the layout of
 * Spark Structured Streaming's checkpoint directory (checkpoint/README.md has the full picture).
 *
 *   <dir>/metadata        the query: {"id": <uuid>, "format": 1, "created": <ms>}
 *   <dir>/offsets/<N>     batch N's input, written durably BEFORE any output of the batch
 *   <dir>/commits/<N>     batch N is done: every output of it is committed
 *   <dir>/state/<N>/<x>   optional blobs of batch N (state-store snapshots)
 *
 * Every file is "v1\n" + one line of JSON + "\ncrc32c:<8 hex>\n" (state blobs: a header line and
 * the bytes), written with core/durable.h (temporary file, fsync, rename or put-if-absent link,
 * directory fsync). Every read checks the version line, the checksum, the JSON, the fields and
 * that the batch id inside matches the name; a file that fails is SM_ERR_CORRUPT with a message
 * naming the file, what is wrong and what to do. Nothing invalid is ever skipped.
 *
 * DESIGN (the recovery rule): offsets/N is written once (put-if-absent) and only after commits/N-1;
 * commits/N only after offsets/N. So at any moment at most the last batch is uncommitted, and
 * after a crash at any instruction sm_ckpt_plan() says exactly what to do: re-run batch N over
 * the ranges recorded in offsets/N (with its batch timestamp) when commits/N is missing, or go on
 * with N+1 from the ends of batch N's ranges. Batch ids in each log are contiguous; a gap, a
 * commit without its offsets, or two uncommitted batches are SM_ERR_CORRUPT.
 *
 * This floor knows nothing of Kafka or tables: a source is a name ("kafka:orders") with
 * per-partition [start, end) ranges, a table is a name with a version number.
 *
 * Memory: entries read back live in the caller's arena. The sm_ckpt handle owns its strings.
 * @thread one owner; not thread-safe. One query per checkpoint directory: a second writer is
 * detected by put-if-absent (SM_ERR_CONFLICT), not locked out.
 */
#ifndef SM_CHECKPOINT_CHECKPOINT_H
#define SM_CHECKPOINT_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"

/* The file format this build writes and reads (the "v1" line). */
#define SM_CKPT_FORMAT 1

typedef struct sm_ckpt sm_ckpt;

/* Offsets [start, end) of one partition in one batch: `end` is where the next batch starts. */
typedef struct sm_ckpt_range {
    int32_t partition; /* >= 0 */
    int64_t start;     /* >= 0 */
    int64_t end;       /* >= start; start == end: nothing read from it in this batch */
} sm_ckpt_range;

typedef struct sm_ckpt_source {
    const char *name; /* non-empty, unique within the entry: "kafka:orders" */
    size_t n_ranges;
    const sm_ckpt_range *ranges; /* partitions unique; read back in ascending order */
} sm_ckpt_source;

/* offsets/N: the input of batch N, everything needed to re-run it identically. */
typedef struct sm_ckpt_offsets {
    int64_t batch_id;           /* N >= 0 */
    int64_t batch_timestamp_ms; /* the batch's processing time (_ingestion_timestamp) */
    int64_t watermark_ms;       /* event-time watermark the batch runs with (0: none yet) */
    const char *config_hash;    /* hash of the pipeline configuration; NULL is "" */
    size_t n_sources;
    const sm_ckpt_source *sources; /* read back sorted by name */
    const char *extra;             /* a JSON object as text for later needs, or NULL (none) */
} sm_ckpt_offsets;

typedef struct sm_ckpt_table {
    const char *name; /* non-empty, unique within the entry */
    int64_t version;  /* the table's version after the batch (Delta version), >= 0 */
} sm_ckpt_table;

/* commits/N: batch N is done. */
typedef struct sm_ckpt_commit {
    int64_t batch_id;
    int64_t watermark_ms; /* the watermark for the next batch (Spark's nextBatchWatermarkMs) */
    size_t n_tables;
    const sm_ckpt_table *tables; /* read back sorted by name */
} sm_ckpt_commit;

/* What to do after (re)start. Pointers live in the arena given to sm_ckpt_plan. */
typedef struct sm_ckpt_recovery {
    int64_t next_batch_id; /* the batch to run now (0 on a fresh checkpoint) */
    bool rerun;            /* offsets/next exists without commits/next: re-run it as recorded */
    const sm_ckpt_offsets *rerun_offsets;     /* offsets/next when rerun, else NULL */
    int64_t last_committed;                   /* highest committed batch, -1 none */
    const sm_ckpt_offsets *committed_offsets; /* its offsets: the ends are where next starts */
    const sm_ckpt_commit *last_commit;        /* its commit entry; NULL when none */
    int64_t oldest_batch_id;                  /* lowest offsets/N still kept, -1 none */
} sm_ckpt_recovery;

/* ---- the directory ------------------------------------------------------------------------ */

/*
 * Opens the checkpoint at `dir`. With `create`, a missing directory or metadata file is made (a
 * new query id; put-if-absent, so two processes creating at once agree on one id). Without it,
 * a directory without metadata is SM_ERR_USAGE. A metadata file that is not ours (no version
 * line: Spark's, or something else) or damaged is SM_ERR_CORRUPT naming it; entries without any
 * metadata are SM_ERR_CORRUPT too. Temporary files left by a crashed writer are removed.
 * On error *out is NULL and nothing but directories may have been created.
 */
int sm_ckpt_open(const char *dir, bool create, sm_ckpt **out, sm_error *err);
void sm_ckpt_close(sm_ckpt *ck); /* accepts NULL */

const char *sm_ckpt_query_id(const sm_ckpt *ck); /* the uuid of the metadata file */
int64_t sm_ckpt_created_ms(const sm_ckpt *ck);
const char *sm_ckpt_dir(const sm_ckpt *ck);

/* ---- the logs ----------------------------------------------------------------------------- */

/*
 * Writes offsets/N durably (put-if-absent). Allowed when N is the next batch: 0 on an empty
 * checkpoint, latest offsets + 1 when the latest batch is committed. Rewriting an existing
 * offsets/N with the same content is a no-op (idempotent); with different content it is
 * SM_ERR_CONFLICT (another query is writing this checkpoint). Writing past the next batch, or
 * while the latest batch is uncommitted, is SM_ERR_INTERNAL (an engine bug). An invalid entry
 * (negative ids, end < start, duplicate names or partitions, `extra` not an object) is
 * SM_ERR_INTERNAL. On any error offsets/N is as it was, except that a failed directory fsync
 * after the move leaves the file in place (core/durable.h: "may not survive a crash").
 */
int sm_ckpt_write_offsets(sm_ckpt *ck, const sm_ckpt_offsets *entry, sm_error *err);

/*
 * Writes commits/N durably (put-if-absent). Allowed when offsets/N exists and is the latest
 * offsets entry; rewriting identical content is a no-op, different content SM_ERR_CONFLICT.
 * Same failure behaviour as sm_ckpt_write_offsets.
 */
int sm_ckpt_write_commit(sm_ckpt *ck, const sm_ckpt_commit *entry, sm_error *err);

/* Highest batch id in offsets/ and in commits/ (-1 when empty). Lists names only; a name that
 * looks like a batch but is not canonical ("007") is SM_ERR_CORRUPT. Either pointer may be NULL. */
int sm_ckpt_latest(sm_ckpt *ck, int64_t *last_offsets, int64_t *last_commit, sm_error *err);

/* Read and check one entry; strings and arrays are allocated in `arena`. A missing entry is
 * SM_ERR_IO with sys_errno ENOENT; a damaged one SM_ERR_CORRUPT naming the file. */
int sm_ckpt_read_offsets(sm_ckpt *ck, int64_t batch_id, sm_arena *arena, sm_ckpt_offsets **out,
                         sm_error *err);
int sm_ckpt_read_commit(sm_ckpt *ck, int64_t batch_id, sm_arena *arena, sm_ckpt_commit **out,
                        sm_error *err);

/* The range of `partition` of `source` in an entry, or NULL when the entry has none. */
const sm_ckpt_range *sm_ckpt_offsets_find(const sm_ckpt_offsets *entry, const char *source,
                                          int32_t partition);

/*
 * The recovery rule (see the file comment): reads and checks every entry of both logs, then
 * fills *plan. SM_ERR_CORRUPT when a file is damaged, a log has a gap, a commit has no offsets,
 * or more than the last batch is uncommitted. On error *plan is zeroed.
 */
int sm_ckpt_plan(sm_ckpt *ck, sm_arena *arena, sm_ckpt_recovery *plan, sm_error *err);

/*
 * Retention: deletes offsets, commits and state of every batch older than the last `keep`
 * committed ones (keep >= 1; Spark's minBatchesToRetain, our default 100). The latest committed
 * batch and an uncommitted one are never deleted. Deletion goes oldest first with a directory
 * fsync after each file, so a crash in the middle leaves no gap. *deleted_out (may be NULL)
 * counts the batches whose offsets were removed.
 */
int sm_ckpt_purge(sm_ckpt *ck, int64_t keep, int64_t *deleted_out, sm_error *err);

/* ---- state blobs -------------------------------------------------------------------------- */

/*
 * Writes state/<N>/<name> durably (replacing: a re-run of batch N writes it again). Allowed only
 * for the latest batch while it is uncommitted (offsets/N written, commits/N not yet): state of
 * a committed batch never changes. `name`: [A-Za-z0-9_.-], not starting with '.', <= 200 bytes.
 */
int sm_ckpt_write_state(sm_ckpt *ck, int64_t batch_id, const char *name, const void *data,
                        size_t len, sm_error *err);

/* Reads state/<N>/<name> into a malloc'ed buffer (caller frees; NUL-terminated past *len_out).
 * Missing: SM_ERR_IO with sys_errno ENOENT; damaged: SM_ERR_CORRUPT naming the file. */
int sm_ckpt_read_state(sm_ckpt *ck, int64_t batch_id, const char *name, void **data_out,
                       size_t *len_out, sm_error *err);

/* crc32c (Castagnoli) of `len` bytes, continuing from `crc` (0 to start): the file checksum. */
uint32_t sm_ckpt_crc32c(uint32_t crc, const void *data, size_t len);

#endif
