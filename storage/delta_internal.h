/*
 * Internals of the Delta log shared by the reader (delta_log*.c) and the writer: the one place
 * that turns log actions — JSON lines of commits and of v2 checkpoints, rows of Parquet
 * checkpoints and sidecars — into the structs of storage/delta.h, and the path helpers both
 * sides need. Not a public API: only storage/delta*.c include it.
 *
 * Parsers copy every string they keep into the arena they are given, so what they return lives
 * as long as that arena; jansson values passed in are borrowed. Error messages of the parsers
 * say what is wrong with the action ("add: 'size' is not an integer") but not where: the caller
 * knows the file and line and prefixes them.
 *
 * @thread one owner per call; nothing here keeps state between calls.
 */
#ifndef SM_STORAGE_DELTA_INTERNAL_H
#define SM_STORAGE_DELTA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "storage/delta.h"

#define DELTA_LOG_DIR        "_delta_log"
#define DELTA_SIDECAR_DIR    "_sidecars"
#define DELTA_LAST_CKPT      "_last_checkpoint"
#define DELTA_VERSION_DIGITS 20 /* %020lld */

/* The most a single log file may hold before reading it is refused (SM_ERR_NOMEM). */
#define DELTA_MAX_LOG_FILE ((size_t)1 << 31)

/* ---- actions ----------------------------------------------------------------------------- */

typedef enum delta_action_type {
    DELTA_ACT_NONE = 0,            /* an action this reader ignores (cdc, unknown ones) */
    DELTA_ACT_ADD,                 /* u.file */
    DELTA_ACT_REMOVE,              /* u.file */
    DELTA_ACT_METADATA,            /* u.metadata */
    DELTA_ACT_PROTOCOL,            /* u.protocol */
    DELTA_ACT_TXN,                 /* u.txn */
    DELTA_ACT_DOMAIN,              /* u.domain */
    DELTA_ACT_COMMIT_INFO,         /* commit_info, commit_timestamp */
    DELTA_ACT_SIDECAR,             /* u.sidecar (v2 checkpoints only) */
    DELTA_ACT_CHECKPOINT_METADATA, /* u.checkpoint_version (v2 checkpoints only) */
} delta_action_type;

/* A `sidecar` action of a v2 checkpoint. */
typedef struct delta_sidecar {
    const char *path; /* URI-encoded, usually a bare file name in _delta_log/_sidecars/ */
    int64_t size_in_bytes;
    int64_t modification_time;
} delta_sidecar;

/* One action, as parsed from a JSON line or a checkpoint row. */
typedef struct delta_action {
    delta_action_type type;
    union {
        delta_file file;
        delta_metadata metadata;
        delta_protocol protocol;
        delta_txn txn;
        delta_domain domain;
        delta_sidecar sidecar;
        int64_t checkpoint_version;
    } u;
    /* COMMIT_INFO from JSON: the object (borrowed: valid during the callback only). */
    const json_t *commit_info;
    /* COMMIT_INFO: inCommitTimestamp, else timestamp, else -1 when neither is an integer. */
    int64_t commit_timestamp;
} delta_action;

/* Receives each action of a file in file order. A non-zero return stops the read and is
 * returned by it (with `err` set by the callback). The action's strings live in the arena the
 * reader was given; the struct itself is reused after the callback returns: copy it. */
typedef int (*delta_action_fn)(void *ctx, const delta_action *a, sm_error *err);

/*
 * Field parsers for the value of one action key (`{"add": <obj>}` passes <obj>). They follow
 * PROTOCOL.md "Actions": unknown fields are ignored, optional fields absent or null take their
 * documented default (size -1 and deletion_timestamp 0 for a remove that does not say, dataChange
 * true when absent), a required field missing or of the wrong JSON type is SM_ERR_CORRUPT
 * ("add: 'path' is missing"). Strings, maps and arrays are copied into `a`; SM_ERR_NOMEM when it
 * refuses.
 *
 * delta_parse_file_json   add (is_add) or remove: path, partitionValues (null values kept as
 *                         NULL), size, modificationTime, deletionTimestamp, dataChange, stats
 *                         (the JSON text), tags, and dv_id derived from deletionVector as
 *                         PROTOCOL.md "Derived Fields" says: storageType + pathOrInlineDv, plus
 *                         "@" offset when the offset is present.
 * delta_parse_metadata_json  metaData; schemaString may be absent in old logs (some of Delta's own
 *                         golden tables): schema_string is NULL then and readers of data refuse.
 * delta_parse_protocol_json  protocol with readerFeatures / writerFeatures when present.
 * delta_parse_txn_json    txn (appId and version required).
 * delta_parse_domain_json domainMetadata (domain required; removed defaults to false).
 */
int delta_parse_file_json(const json_t *obj, bool is_add, sm_arena *a, delta_file *out,
                          sm_error *err);
int delta_parse_metadata_json(const json_t *obj, sm_arena *a, delta_metadata *out, sm_error *err);
int delta_parse_protocol_json(const json_t *obj, sm_arena *a, delta_protocol *out, sm_error *err);
int delta_parse_txn_json(const json_t *obj, sm_arena *a, delta_txn *out, sm_error *err);
int delta_parse_domain_json(const json_t *obj, sm_arena *a, delta_domain *out, sm_error *err);

/* inCommitTimestamp of a commitInfo object, else its timestamp; -1 when it has neither. */
int64_t delta_commit_info_timestamp(const json_t *commit_info);

/*
 * One line of a commit or v2 checkpoint: an object with one action key. Sets out->type to
 * DELTA_ACT_NONE for keys this reader does not use (cdc, and any unknown action: PROTOCOL.md
 * "Protocol Evolution" says to ignore them). SM_ERR_CORRUPT when the line is not an object or
 * the action's fields are wrong.
 */
int delta_parse_action(const json_t *line, sm_arena *a, delta_action *out, sm_error *err);

/*
 * Parses newline-delimited JSON actions (a commit `%020d.json` or a v2 checkpoint `.json`) and
 * calls `fn` for each, in order; blank lines are skipped, a trailing CR is allowed. Errors name
 * `name` and the 1-based line: "<name>:2: not JSON: ..." (SM_ERR_CORRUPT).
 */
int delta_parse_json_lines(const char *data, size_t len, const char *name, sm_arena *a,
                           delta_action_fn fn, void *ctx, sm_error *err);

/*
 * Reads a Parquet checkpoint (classic, one part of a multi-part one, a v2 one, or a sidecar)
 * and calls `fn` for each action row, selecting the top-level columns txn, add, remove,
 * metaData, protocol, domainMetadata, sidecar and checkpointMetadata by name (any may be
 * missing: older checkpoints lack some; other columns such as cdc or commitInfo are not read).
 * A row's action is its non-null column with its key field set (add.path, txn.appId, ...);
 * add.stats may be absent; partitionValues_parsed and stats_parsed are ignored. Errors name
 * `name` (SM_ERR_CORRUPT for a file that does not parse or a column of an unexpected type;
 * SM_ERR_IO when it cannot be opened).
 */
int delta_read_checkpoint_parquet(const char *path, const char *name, sm_arena *a,
                                  delta_action_fn fn, void *ctx, sm_error *err);

/* ---- paths ------------------------------------------------------------------------------- */

/*
 * "<table>/_delta_log/<version as %020lld><suffix>" into `out` (reset first, NUL-terminated;
 * len excludes the NUL). Suffix examples: ".json", ".checkpoint.parquet", ".crc"; NULL or ""
 * gives the bare zero-padded version. SM_ERR_NOMEM only.
 */
int delta_log_path(const char *table, int64_t version, const char *suffix, sm_buf *out,
                   sm_error *err);

/* Appends the percent-decoding of s[0..n) to `out` (no NUL). A '%' not followed by two hex
 * digits is kept as it is (Spark would not have written it; being lenient costs nothing). */
int delta_percent_decode(const char *s, size_t n, sm_buf *out, sm_error *err);

/* True when `path` starts with a URI scheme ("s3:", "file:"); sets *scheme_len (without ':'). */
bool delta_path_has_scheme(const char *path, size_t *scheme_len);

/*
 * The identity of a data file path for reconciliation (PROTOCOL.md "Action Reconciliation";
 * Spark's DeltaLog.canonicalizePath): percent-decoded, `file:` URIs (file:/p, file:///p,
 * file://localhost/p) made plain paths, relative paths joined to `root_abs` (the table's
 * absolute path, normalised), "." and ".." segments and repeated slashes removed; a result
 * under root_abs is made relative to it again. So "a%20b", "a b", "./a b" and
 * "file:<root>/a%20b" all give "a b". Paths of other schemes ("s3://...") are only
 * percent-decoded. A path that needs none of this is returned as it is, without copying
 * (*key_out == path); otherwise the key is built in `scratch`.
 */
int delta_path_key(const char *root_abs, const char *path, sm_arena *scratch, const char **key_out,
                   sm_error *err);

/* The absolute, lexically normalised form of a directory path (getcwd() joined when relative),
 * into `out` (reset, NUL-terminated, no trailing slash except for "/"). */
int delta_abs_path(const char *path, sm_buf *out, sm_error *err);

/* ---- protocol ---------------------------------------------------------------------------- */

/*
 * Whether smelter can read the table's data files as plain Parquet with this protocol and
 * metadata: 0, or SM_ERR_USAGE naming the table, the feature and what to do
 * ("<table>: reader feature 'deletionVectors' is not supported (...)"). The decisions are
 * listed in delta_log.c's header comment and docs/delta.md "Reading".
 */
int delta_check_reader_support(const char *table, const delta_protocol *p, const delta_metadata *m,
                               sm_error *err);

#endif
