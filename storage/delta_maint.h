/*
 * Delta table maintenance: optimize (bin-packing compaction) and vacuum, as Delta Lake's
 * OPTIMIZE and VACUUM do them, plus the summaries behind `smelter table describe|history`.
 *
 * optimize  groups the active files of each partition that are smaller than the target size
 *           into bins of about the target size, rewrites each bin of two or more files as one
 *           file (storage/parquet_writer.h), and commits `remove` + `add` with dataChange=false
 *           and operation "OPTIMIZE". Rows, partition values and txn state are unchanged. A
 *           concurrent append does not conflict; a concurrent commit that removed one of the
 *           bin's files does (delta_commit_write): the commit is retried from a fresh snapshot
 *           up to max_attempts times, then given up cleanly (the rewritten files are deleted,
 *           the table is as before).
 * vacuum    deletes files under the table directory that no version within the retention
 *           references: not active in the latest snapshot, not a tombstone removed within the
 *           retention, and not modified within it (a writer may be about to commit them).
 *           `_delta_log/` and hidden names (`_` or `.` first, except partition directories)
 *           are never touched. A retention below the table's delta.deletedFileRetentionDuration
 *           (default 168 hours) is refused unless forced, as Spark's retentionDurationCheck does.
 *
 * @thread one owner per call; safe against concurrent writers of the table.
 */
#ifndef SM_STORAGE_DELTA_MAINT_H
#define SM_STORAGE_DELTA_MAINT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "storage/delta.h"

typedef struct delta_optimize_opts {
    int64_t target_file_size; /* bytes; 0: the table's delta.targetFileSize, else 128 MiB */
    int max_attempts;         /* commit attempts from a fresh snapshot; 0: 10 */
    int codec;                /* PQ_CODEC_* for the new files; default ZSTD */
} delta_optimize_opts;

typedef struct delta_optimize_result {
    int64_t version; /* the OPTIMIZE commit, or -1 when there was nothing to do */
    int64_t files_removed, files_added;
    int64_t bytes_removed, bytes_added;
    int64_t partitions;
} delta_optimize_result;

void delta_optimize_opts_default(delta_optimize_opts *o);
int delta_optimize(const char *table_path, const delta_optimize_opts *opts,
                   delta_optimize_result *res, sm_error *err);

/* Called for each file vacuum deletes (or would delete, in a dry run): its path relative to
 * the table root, as on disk, and its size. */
typedef void (*delta_vacuum_fn)(const char *rel_path, int64_t size, void *ctx);

typedef struct delta_vacuum_opts {
    int64_t retain_ms; /* default 168 hours; < 0: the table's delta.deletedFileRetentionDuration */
    bool dry_run;      /* list, delete nothing */
    bool force;        /* allow a retention below the safe minimum */
    int64_t now_ms;    /* 0: the wall clock (tests set it) */
    delta_vacuum_fn on_file;
    void *ctx;
} delta_vacuum_opts;

typedef struct delta_vacuum_result {
    int64_t files, bytes; /* deleted, or that would be in a dry run */
    int64_t dirs_removed; /* empty partition directories removed */
} delta_vacuum_result;

void delta_vacuum_opts_default(delta_vacuum_opts *o);
int delta_vacuum(const char *table_path, const delta_vacuum_opts *opts, delta_vacuum_result *res,
                 sm_error *err);

#endif
