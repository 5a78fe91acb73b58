/*
 * sm_pipeline — the pipeline file (DESIGN.md "The pipeline file"): one YAML file declares the
 * Kafka source, the trigger, the watermark and the bronze / silver / gold tables.
 *
 * Every key is declared once, in the option table of pipeline.c (dotted name, type, default,
 * bounds, description — core/options.h's sm_opt). The loader walks the file against that
 * table, `smelter help config` prints it, and docs/configuration.md is generated from it
 * (`smelter help --config-markdown`). Loading goes through core/config.h, so `${VAR}`,
 * `${VAR:-default}` and the `environments:` overlay (SMELTER_ENV) work as described there.
 *
 * Errors are SM_ERR_USAGE with one line that names the file, line, column and key path:
 *   pipeline.yaml:12:3: unknown key 'max_byte_per_trigger' in trigger; did you mean
 *   'max_bytes_per_trigger'?
 *   pipeline.yaml:14:26: trigger.max_bytes_per_trigger: 'abc' is not a size (like 512KB, ...)
 * and SM_ERR_IO when the file cannot be read. The first error found is reported.
 *
 * Schemas. A table's input is: for a table reading bronze, the .avsc fields then the bronze
 * metadata columns (stream/bronze.h); for a table reading a silver table S, S's rows. A silver
 * table's rows are the output of its `select` (stream/project.h, compiled at load against its
 * input; `casts:` folded in, see sm_pl_table.select) — a column named _processing_timestamp
 * there is dropped — followed by `_processing_timestamp` (TIMESTAMP_US, required), recursively.
 * Expectations, dedup keys, partition_by and (with dedup or late) the watermark column of a
 * silver table name columns of its rows (DLT evaluates expectations on a table's output);
 * aggregates, group_by and window of a gold table name columns of its input.
 *
 * Expressions are compiled at load (stream/expr.h) against those schemas. Every expectation
 * must compile to a boolean; of aggregates, only the argument of sum()/avg() is compiled for
 * now (must be a number). The error points at the character of the file where the compiler
 * stopped when the scalar is on one line (else at the scalar) and keeps the compiler's "at N":
 *   pipeline.yaml:23:47: table silver_orders, rule valid_quantity: at 18: unknown column
 *   'quantty'; did you mean 'quantity'?
 *   pipeline.yaml:9:19: table silver_orders, select item 2: at 7: unknown column 'qty'
 *
 * Paths: `source.schema` is resolved against the directory of the pipeline file (it belongs to
 * the project); `lake` and `checkpoint.location` are used as written, so a relative lake is
 * relative to the working directory, as Spark's paths are.
 *
 * Ownership: the pipeline and every string and array in it live in one arena: the caller's
 * when one is passed to sm_pipeline_load (it must outlive the pipeline), else the pipeline's
 * own, which sm_pipeline_free destroys. Immutable once loaded. @thread any, read-only.
 */
#ifndef SM_STREAM_PIPELINE_H
#define SM_STREAM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/options.h"

typedef enum sm_pl_format {
    SM_PL_FORMAT_JSON = 0,
    SM_PL_FORMAT_AVRO,
    SM_PL_FORMAT_PROTOBUF,
} sm_pl_format;

typedef enum sm_pl_unknown {
    SM_PL_UNKNOWN_IGNORE = 0,  /* JSON fields the schema does not name are skipped */
    SM_PL_UNKNOWN_DEAD_LETTER, /* a record with one goes to the dead-letter table */
} sm_pl_unknown;

typedef enum sm_pl_start {
    SM_PL_START_EARLIEST = 0,
    SM_PL_START_LATEST,
    SM_PL_START_OFFSETS,   /* per partition: starting_offsets_json */
    SM_PL_START_TIMESTAMP, /* the first record at or after starting_timestamp_ms */
} sm_pl_start;

typedef enum sm_pl_layer {
    SM_PL_BRONZE = 0,
    SM_PL_SILVER,
    SM_PL_GOLD,
} sm_pl_layer;

typedef enum sm_pl_violation {
    SM_PL_WARN = 0, /* keep the row, count the failure */
    SM_PL_DROP,     /* drop the row (to the quarantine table when there is one) */
    SM_PL_FAIL,     /* stop the pipeline; the batch is not committed */
} sm_pl_violation;

typedef enum sm_pl_output_mode {
    SM_PL_APPEND = 0, /* finalised windows only (after the watermark passes them) */
    SM_PL_UPDATE,     /* changed groups every batch */
    SM_PL_COMPLETE,   /* the whole result every batch */
} sm_pl_output_mode;

/* Where something was declared, for errors found later (an expression that does not compile). */
typedef struct sm_pl_pos {
    const char *file;
    int line, col;
} sm_pl_pos;

typedef struct sm_pl_expectation {
    const char *name;
    const char *expr;
    int on_violation; /* sm_pl_violation */
    sm_pl_pos pos;    /* of the expr */
} sm_pl_expectation;

typedef struct sm_pl_aggregate {
    const char *name; /* output column */
    const char *expr; /* "sum(price * quantity)" */
    sm_pl_pos pos;
} sm_pl_aggregate;

/* One item of a silver table's select, "expr [AS name]" (stream/project.h). */
typedef struct sm_pl_select {
    const char *text;
    sm_pl_pos pos; /* of the item in the file; of the cast's type for items casts: made */
} sm_pl_select;

typedef struct sm_pl_table {
    const char *name;
    int layer;        /* sm_pl_layer: as declared, else from the name's prefix, else the shape */
    const char *path; /* <lake>/<layer>/<name> */
    sm_strlist partition_by;         /* bronze default: [_ingestion_date] */
    const char *from;                /* the input table; NULL for bronze (reads the source) */
    int from_index;                  /* index of `from` in sm_pipeline.tables; -1 for bronze */
    sm_pl_expectation *expectations; /* in file order */
    size_t n_expectations;
    sm_strlist dedup_keys;  /* empty: no dedup */
    const char *quarantine; /* table for dropped rows, or NULL */
    /* The final select items, ready for sm_project_new against the table's input; NULL/0:
     * every input column as it is. `casts: {c: type}` is folded in at load: the item whose
     * output is c becomes "CAST(<its expr> AS type) AS c" (a `*` is expanded to its columns
     * for that); without a select, the items are every input column in order, the cast ones
     * replaced. Only silver tables have one. */
    sm_pl_select *select;
    size_t n_select;
    const char *late; /* table for rows behind the watermark, or NULL (silver only) */
    const char *window_column;
    int64_t window_size_ms;  /* 0: no window */
    int64_t window_slide_ms; /* = size (tumbling) unless given */
    sm_strlist group_by;
    sm_pl_aggregate *aggregates; /* in file order */
    size_t n_aggregates;
    int output_mode; /* sm_pl_output_mode */
    sm_pl_pos pos;   /* of the table's name */
} sm_pl_table;

typedef struct sm_pipeline {
    const char *name;
    const char *lake;
    const char *file; /* the pipeline file as given */
    const char *env;  /* the environment overlay applied, or NULL */
    struct {
        struct {
            const char *bootstrap_servers;
            sm_strlist topics;
            const char *starting_offsets;      /* as written (JSON text for a map) */
            int starting;                      /* sm_pl_start */
            const char *starting_offsets_json; /* SM_PL_START_OFFSETS: {"topic":{"0":42}} */
            int64_t starting_timestamp_ms;     /* SM_PL_START_TIMESTAMP */
            bool fail_on_data_loss;
            const char *group_id;     /* default smelter-<pipeline> */
            int64_t consumer_threads; /* resolved: >= 1 (0 in the file = number of cores) */
            sm_strmap options;        /* passed to librdkafka as they are, in file order */
        } kafka;
        int format;              /* sm_pl_format */
        const char *schema;      /* as written */
        const char *schema_path; /* resolved against the pipeline file's directory */
        struct {
            int unknown_fields; /* sm_pl_unknown */
        } json;
        struct {
            const char *message; /* full name; NULL: the first message of the descriptor set */
        } protobuf;
        struct {
            const char *url;        /* http://host:port[/path] or a directory of <id>.avsc; NULL */
            const char *basic_auth; /* "user:password" or NULL */
            int64_t timeout_ms;
            int64_t max_attempts;
        } schema_registry;
    } source;
    struct {
        int64_t interval_ms; /* 0: the next batch starts when the previous ends */
        bool available_now;  /* process the backlog seen at start, then stop */
        uint64_t max_bytes_per_trigger;
        int64_t max_records_per_trigger; /* 0: no limit */
        int64_t max_files_per_trigger;   /* 0: no limit */
        uint64_t target_file_size;
    } trigger;
    struct {
        const char *column; /* NULL: no watermark */
        int64_t delay_ms;
    } watermark;
    struct {
        const char *location; /* default <lake>/_checkpoints/<pipeline> */
        int64_t retention_batches;
    } checkpoint;
    sm_pl_table *tables; /* in file order */
    size_t n_tables;
    const char *dead_letter_table; /* <pipeline>_dead_letter */
    uint64_t config_hash;
    char config_hash_hex[17];
    struct sm_arena *own_arena; /* non-NULL when the pipeline owns its arena */
} sm_pipeline;

/*
 * Loads and validates the pipeline file at `path`. `env_name` picks the environments: overlay
 * (the caller passes SMELTER_ENV or --env; NULL or "" for none). `arena` may be NULL: the
 * pipeline then has an arena of its own. On error *out is NULL and err says what and where.
 */
int sm_pipeline_load(const char *path, const char *env_name, sm_arena *arena, sm_pipeline **out,
                     sm_error *err);

/* The same over text in memory; `file` names it in errors and is the base of relative schema
 * paths. */
int sm_pipeline_load_string(const char *file, const char *text, size_t len, const char *env_name,
                            sm_arena *arena, sm_pipeline **out, sm_error *err);

void sm_pipeline_free(sm_pipeline *p); /* accepts NULL */

/* The table named `name`, or NULL. */
const sm_pl_table *sm_pipeline_table(const sm_pipeline *p, const char *name);

/*
 * A stable 64-bit hash of the effective configuration (FNV-1a over canonical JSON, also in
 * p->config_hash_hex), recorded by the checkpoint. It covers what decides the contents of the
 * tables — topics, format, the schema file's content, the watermark, every table definition —
 * and leaves out what may change between runs of the same query as Spark allows: connection
 * and librdkafka options, starting offsets, triggers and limits, thread counts, paths,
 * retention. Values equal to their default count as absent, so a new option with a default
 * does not change the hash of existing pipelines.
 */
uint64_t sm_pipeline_config_hash(const sm_pipeline *p);

/* The effective configuration as JSON (every option, defaults included, after interpolation
 * and overlay); malloc'ed, caller frees. NULL on out of memory. */
char *sm_pipeline_effective_json(const sm_pipeline *p);

/* The reference of every key, from the option table: text for `smelter help config`, Markdown
 * for docs/configuration.md. */
void sm_pipeline_print_reference(FILE *out);
void sm_pipeline_print_markdown(FILE *out);

/* Names for messages and reports. */
const char *sm_pl_layer_name(int layer);
const char *sm_pl_format_name(int format);
const char *sm_pl_violation_name(int v);
const char *sm_pl_output_mode_name(int m);

#endif
