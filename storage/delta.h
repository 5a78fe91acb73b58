/*
 * Delta Lake tables: the transaction log of delta-io/delta PROTOCOL.md, read and written.
 *
 * A table is a directory holding Parquet data files and `_delta_log/`, whose numbered JSON files
 * (`%020d.json`, one commit each: newline-separated actions) are the table's history. The state
 * at version v — protocol, metadata, active files, app transaction versions — is the replay of
 * commits 0..v, or of a checkpoint at c <= v plus commits c+1..v.
 *
 *   reading   delta_snapshot_load: `_last_checkpoint` (a corrupt one is ignored: the log is
 *             listed instead), classic single- and multi-part checkpoints, v2 checkpoints (JSON
 *             or Parquet, with sidecars), JSON commits; at the latest version, a version, or a
 *             timestamp. Reader features it cannot honour (deletion vectors, column mapping, ...)
 *             are refused with an error naming the feature, never misread.
 *   writing   delta_table_create, delta_commit: each commit is one `_delta_log/%020d.json` made
 *             with put-if-absent (core/durable.h NOREPLACE: link, never overwrite). A version
 *             taken by another writer is read back; if it conflicts with ours the commit fails
 *             with SM_ERR_CONFLICT, otherwise it retries at the next version, so blind appends
 *             from several processes all land.
 *   checkpoints  every `checkpoint_interval` commits: `%020d.checkpoint.parquet` with Spark's
 *             checkpoint schema (written with storage/parquet_writer.h) and `_last_checkpoint`.
 *
 * Paths: `delta_file.path` is the path as the log holds it — a URI, relative to the table root
 * unless absolute (Spark percent-encodes it: a space is `%20`, a `%` in a directory name is
 * `%25`). delta_file_local_path turns it into a file-system path.
 *
 * Memory: a snapshot owns an arena; every string and array in it lives there and dies with
 * delta_snapshot_free. Control-plane JSON (actions, stats) is handled with jansson.
 *
 * @thread a snapshot is immutable after load and may be read by many threads; commits from
 * several threads or processes to one table are safe (that is what put-if-absent is for).
 */
#ifndef SM_STORAGE_DELTA_H
#define SM_STORAGE_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "storage/column.h"
#include "storage/parquet_writer.h"

/* ---- actions ----------------------------------------------------------------------------- */

typedef struct delta_kv {
    const char *key;
    const char *value; /* NULL: a null value (a null partition value) */
} delta_kv;

typedef struct delta_protocol {
    int32_t min_reader_version;
    int32_t min_writer_version;
    int n_reader_features; /* readerFeatures, when min_reader_version is 3 */
    const char **reader_features;
    int n_writer_features; /* writerFeatures, when min_writer_version is 7 */
    const char **writer_features;
} delta_protocol;

typedef struct delta_metadata {
    const char *id;
    const char *name;          /* may be NULL */
    const char *description;   /* may be NULL */
    const char *format;        /* format.provider: "parquet" */
    const char *schema_string; /* Spark StructType JSON; NULL when an old log omits it */
    int n_partition_columns;
    const char **partition_columns;
    int n_configuration;
    delta_kv *configuration;
    int64_t created_time; /* ms since the epoch; 0 when absent */
} delta_metadata;

/* An `add` or a `remove` (a tombstone). */
typedef struct delta_file {
    const char *path; /* as in the log (URI-encoded, usually relative) */
    int n_partition_values;
    delta_kv *partition_values;
    int64_t size;               /* bytes; -1 when a remove does not say */
    int64_t modification_time;  /* add: ms since the epoch */
    int64_t deletion_timestamp; /* remove: ms since the epoch; 0 when absent */
    bool data_change;
    const char *stats; /* add: the stats JSON text, or NULL */
    const char *dv_id; /* deletion vector: storageType + pathOrInlineDv (+ "@" offset), or NULL */
    int n_tags;
    delta_kv *tags;
} delta_file;

typedef struct delta_txn {
    const char *app_id;
    int64_t version;
    int64_t last_updated; /* ms; 0 when absent */
} delta_txn;

typedef struct delta_domain {
    const char *domain;
    const char *configuration;
    bool removed;
} delta_domain;

/* What one commit file holds (delta_read_commit). */
typedef struct delta_commit_actions {
    int64_t version;
    int64_t timestamp; /* inCommitTimestamp, else commitInfo.timestamp, else the file's mtime */
    const delta_protocol *protocol; /* NULL when the commit has none */
    const delta_metadata *metadata; /* NULL when the commit has none */
    int n_adds, n_removes, n_txns, n_domains;
    delta_file *adds;
    delta_file *removes;
    delta_txn *txns;
    delta_domain *domains;
    const char *commit_info; /* the commitInfo object as compact JSON text, or NULL */
} delta_commit_actions;

/* ---- snapshots --------------------------------------------------------------------------- */

typedef struct delta_snapshot {
    const char *table_path; /* as given to delta_snapshot_load */
    int64_t version;
    int64_t timestamp; /* of that version's commit (as delta_commit_actions.timestamp) */
    delta_protocol protocol;
    delta_metadata metadata;
    int64_t n_files; /* active files: adds not removed since, in no particular order */
    delta_file *files;
    int64_t n_tombstones; /* removes still remembered (for vacuum and checkpoints) */
    delta_file *tombstones;
    int n_txns; /* appId -> latest version */
    delta_txn *txns;
    int n_domains; /* domain metadata not removed */
    delta_domain *domains;
    int64_t checkpoint_version; /* the checkpoint the load started from, -1 when none */
    sm_arena *arena;            /* owns everything above */
} delta_snapshot;

typedef struct delta_load_opts {
    int64_t version;   /* >= 0: time travel to this version; -1: latest */
    int64_t timestamp; /* > 0 (ms): the latest version committed at or before it; 0: unused */
    /* Load even when the protocol names reader features smelter does not support (for
     * `table history`, which reads only the log). Active files are still computed. */
    bool ignore_unsupported_features;
} delta_load_opts;

void delta_load_opts_default(delta_load_opts *o); /* latest version, strict */

/*
 * Loads the snapshot of the table at `table_path` (a directory).
 * Errors, each naming the table and, where there is one, the log file:
 *   SM_ERR_USAGE    not a Delta table (no `_delta_log/` or no commit in it), a version or
 *                   timestamp out of the log's range, a version whose log has been cleaned up;
 *   SM_ERR_CORRUPT  a log file that does not parse, a missing protocol or metadata, versions
 *                   that are not contiguous (an unreadable or incomplete checkpoint is skipped
 *                   for an older one, or for the commits from 0 when they are all there);
 *   SM_ERR_USAGE    an unsupported reader feature or reader version: the message names it
 *                   ("reader feature 'deletionVectors' is not supported").
 */
int delta_snapshot_load(const char *table_path, const delta_load_opts *opts, delta_snapshot **out,
                        sm_error *err);
void delta_snapshot_free(delta_snapshot *s); /* accepts NULL */

/* The latest version in the log (by listing), without a replay; -1 when there is no commit. */
int delta_latest_version(const char *table_path, int64_t *version_out, sm_error *err);

/* Reads commit `version` into `arena`. SM_ERR_USAGE when it does not exist. */
int delta_read_commit(const char *table_path, int64_t version, sm_arena *arena,
                      delta_commit_actions *out, sm_error *err);

/* The txn version recorded for `app_id`, or -1. */
int64_t delta_snapshot_txn_version(const delta_snapshot *s, const char *app_id);

/* A configuration value of the table's metadata, or NULL. */
const char *delta_snapshot_config(const delta_snapshot *s, const char *key);

/* The file-system path of a data file: the table root joined with the percent-decoded relative
 * path, or the decoded path of an absolute `file:` URI. SM_ERR_USAGE for other schemes. */
int delta_file_local_path(const char *table_path, const char *log_path, sm_buf *out, sm_error *err);

/* ---- schemas ----------------------------------------------------------------------------- */

/* Spark StructType JSON (Delta's schemaString) for a STRUCT field, and back. Types map as
 * docs/delta.md says (INT32 "integer", INT64 "long", STRING "string", TIMESTAMP_US
 * "timestamp", DECIMAL "decimal(p,s)", LIST "array", MAP "map", ...). The reverse refuses a
 * type it cannot hold with SM_ERR_USAGE naming the column. */
int delta_schema_to_json(const sm_field *schema, sm_buf *out, sm_error *err);
int delta_schema_from_json(const char *schema_string, sm_arena *arena, sm_field **out,
                           sm_error *err);

/* ---- writing ----------------------------------------------------------------------------- */

#define DELTA_ENGINE_INFO "smelter/" SMELTER_VERSION

typedef struct delta_create_opts {
    const sm_field *schema; /* STRUCT of the table's columns */
    int n_partition_columns;
    const char *const *partition_columns; /* names of top-level columns of `schema` */
    int n_configuration;
    const delta_kv *configuration; /* e.g. delta.checkpointInterval */
    const char *name;              /* may be NULL */
    const char *description;       /* may be NULL */
} delta_create_opts;

/*
 * Creates the table: version 0 with protocol (1, 2), metaData (a random UUID id, format parquet,
 * the schema as Spark's StructType JSON, partition columns, configuration, createdTime) and
 * commitInfo (operation "CREATE TABLE"). Creates the directory if needed. SM_ERR_CONFLICT when
 * the table already exists (version 0 taken).
 */
int delta_table_create(const char *table_path, const delta_create_opts *opts, sm_error *err);

typedef struct delta_commit {
    int64_t read_version; /* the snapshot version the commit was prepared from */
    int n_adds;
    const delta_file *adds;
    int n_removes; /* removes: path, partition values, size, data_change; the deletion
                    * timestamp is set at commit */
    const delta_file *removes;
    const char *app_id;    /* txn appId, or NULL for no txn */
    int64_t txn_version;   /* txn version when app_id is set */
    const char *operation; /* commitInfo.operation: "STREAMING UPDATE", "WRITE", "OPTIMIZE" */
    /* commitInfo.operationParameters as a JSON object text ("{\"outputMode\":\"Append\",...}"),
     * or NULL for {}. */
    const char *operation_parameters;
    const char *operation_metrics; /* JSON object text, or NULL */
    int checkpoint_interval;       /* 0: the table's delta.checkpointInterval, else 10 */
    int max_attempts; /* versions to try before giving up with SM_ERR_CONFLICT; 0: 1000 */
} delta_commit;

/*
 * Commits `c` as the next version: writes `%020d.json` with commitInfo, txn, remove and add
 * actions by put-if-absent. When the version is taken, reads it and every later one up to the
 * end of the log, and fails with SM_ERR_CONFLICT (message naming the version and the reason) if
 * one of them
 *   - changes the protocol or the metadata,
 *   - holds a txn for our app_id at a version >= ours (the batch is already committed),
 *   - removes a file our commit removes (two optimizers, or a delete racing an optimize);
 * appends — adds of new files — never conflict with anything, and removes never conflict with
 * adds. Otherwise it retries at the next free version. Writes a checkpoint after version v when
 * v % interval == 0 (a failed checkpoint is logged, not returned: the commit stands).
 *
 * If only the directory fsync after the link failed, the commit is in place but its durability
 * is unknown: SM_ERR_IO is returned and *version_out is set; the caller must not retry blindly
 * (on restart, the txn in the log tells whether it survived).
 */
int delta_commit_write(const char *table_path, const delta_commit *c, int64_t *version_out,
                       sm_error *err);

/* ---- checkpoints ------------------------------------------------------------------------- */

/* Spark's classic checkpoint schema (txn, add, remove, metaData, protocol, domainMetadata with
 * their nested structs and maps, every field nullable), built in `arena`. */
sm_field *delta_checkpoint_schema(sm_arena *arena);

/* Writes `%020d.checkpoint.parquet` for the snapshot's version (durably; replacing one that
 * exists is fine: checkpoints are deterministic) with protocol, metaData, txns, active adds,
 * tombstones newer than the table's delta.deletedFileRetentionDuration (default 1 week) and
 * domain metadata, then `_last_checkpoint` (version, size, sizeInBytes, numOfAddFiles). */
int delta_checkpoint_write(const char *table_path, const delta_snapshot *s, sm_error *err);

/* ---- data files -------------------------------------------------------------------------- */

/*
 * Statistics for an `add` from the footer of a Parquet file: {"numRecords":N,"minValues":{...},
 * "maxValues":{...},"nullCount":{...}} over the top-level columns and the leaves of structs
 * (nested as objects), as Spark writes them. Lists and maps have nullCount only; a min or max
 * the footer does not have, or that is not exact (truncated strings), is left out — a missing
 * bound only costs data skipping, a wrong one costs correctness. Timestamps are ISO-8601 UTC
 * with microseconds ("2024-05-01T12:00:00.000000Z"), dates "YYYY-MM-DD".
 */
int delta_stats_from_parquet(const char *parquet_path, sm_buf *out, sm_error *err);

/*
 * Closes a writer of the data file `local` and fills the file's `add` action: path (as given,
 * kept), size, modification time, dataChange and the statistics above (copied into `a`); the
 * partition values are the caller's to set. On error the file is removed (a file closed but not
 * known to be durable is not used).
 */
int delta_add_from_writer(pq_writer *w, const char *local, const char *path, sm_arena *a,
                          delta_file *add, pq_file_info *info, sm_error *err);

/*
 * Partition values, as the protocol serializes them: numbers in decimal, booleans
 * "true"/"false", dates "YYYY-MM-DD", timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC), strings
 * as they are, binary as the characters of its bytes (U+0000..U+00FF); a null slot, or an empty
 * string (the protocol reads an empty value as null), gives *is_null set. `out` is reset.
 */
int delta_partition_value(const sm_column *c, int64_t row, sm_buf *out, bool *is_null,
                          sm_error *err);

/*
 * The directory of a partition, Hive style: "k1=v1/k2=v2/" with keys and values escaped as
 * Hive does (control characters and "#%'*\/:=?\\\x7f{[]^ as %XX), a null value as
 * __HIVE_DEFAULT_PARTITION__. `uri` selects the form for `add.path`, where the whole relative
 * path is percent-encoded once more (a `%` of the directory name becomes `%25`, a space `%20`);
 * otherwise the form on disk. Appends to `out`.
 */
int delta_partition_dir(const delta_kv *values, int n, bool uri, sm_buf *out, sm_error *err);

#endif
