/*
 * sm_pipeline — the pipeline file; see stream/pipeline.h.
 *
 * DESIGN: the option table below is the only place a key is declared. Each entry is an sm_opt
 * (core/options.h) whose name is the dotted key path — "trigger.max_bytes_per_trigger",
 * "tables.<name>.expectations.<name>.on_violation", where <name> stands for any name the user
 * chooses — plus what a file needs and a flag does not: whether the entry is a value, a section
 * (a map of declared keys) or a named map (tables, expectations: a map of user names to
 * sections), whether it is required, and whether it counts in the configuration hash.
 * The structure of the file is derived from those names: the keys allowed in a map are the
 * entries one level below its path, so the walker, the "did you mean" list, the reference text
 * and docs/configuration.md cannot disagree about what exists.
 *
 * Loading is three passes: walk the tree against the table (unknown keys, types, bounds,
 * required keys), then cross-checks that need the whole file (from: names a table, columns
 * exist in the schema, watermark needed by dedup and windows, ...), then derived values
 * (paths, group id, layer of a table that does not say) and the hash.
 */
#include "stream/pipeline.h"

#include <ctype.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/durable.h"
#include "ingest/avsc.h"
#include "ingest/proto_decode.h"
#include "stream/bronze.h"
#include "stream/expr.h"
#include "stream/project.h"

#define PL_PATH_MAX   512
#define PL_NAME_MAX   128
#define PL_MAX_OPTS   64
#define PL_SCHEMA_MAX (4u << 20)

/* --- the option table ----------------------------------------------------------------------- */

enum { K_VALUE, K_SECTION, K_NAMED };   /* what an entry is */
enum { S_PIPELINE, S_TABLE, S_EXPECT }; /* the struct its offset is into */
enum { F_REQUIRED = 1, F_NOHASH = 2 };  /* flags */

typedef struct loader loader;
typedef struct pl_opt pl_opt;
/* K_VALUE: parses the node instead of sm_opt_set; K_NAMED: reads the map of named entries. */
typedef int (*pl_hook)(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);

struct pl_opt {
    sm_opt o;
    unsigned char kind;
    unsigned char scope;
    unsigned char flags;
    pl_hook hook;
};

static int hook_starting_offsets(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static int hook_tables(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static int hook_expectations(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static int hook_aggregates(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static int hook_select(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static int hook_casts(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf);
static const char *join_path(loader *ld, const char *a, const char *b);
static sm_cfg_node *node_at(const sm_cfg_node *root, const char *dotted);

#define B(lo, hi) lo, hi /* bounds as one macro argument, like SM_NO_BOUNDS */
#define P(name, type, field, def, bounds, choices, flags, help)                                    \
    {                                                                                              \
        {name, 0, type, offsetof(sm_pipeline, field), def, bounds, choices, NULL, help}, K_VALUE,  \
            S_PIPELINE, flags, NULL                                                                \
    }
#define T(name, type, field, def, bounds, choices, flags, help)                                    \
    {                                                                                              \
        {name, 0, type, offsetof(sm_pl_table, field), def, bounds, choices, NULL, help}, K_VALUE,  \
            S_TABLE, flags, NULL                                                                   \
    }
#define E(name, type, field, def, bounds, choices, flags, help)                                    \
    {                                                                                              \
        {name, 0, type, offsetof(sm_pl_expectation, field), def, bounds, choices, NULL, help},     \
            K_VALUE, S_EXPECT, flags, NULL                                                         \
    }
#define SECTION(scope, name, flags, help)                                                          \
    {                                                                                              \
        {name, 0, SM_OPT_STRING, 0, NULL, SM_NO_BOUNDS, NULL, NULL, help}, K_SECTION, scope,       \
            flags, NULL                                                                            \
    }
#define NAMED(scope, name, flags, hook, help)                                                      \
    {                                                                                              \
        {name, 0, SM_OPT_STRING, 0, NULL, SM_NO_BOUNDS, NULL, NULL, help}, K_NAMED, scope, flags,  \
            hook                                                                                   \
    }

#define KB     1024.0
#define TB     (1024.0 * 1024.0 * 1024.0 * 1024.0)
#define DAY_MS 86400000.0

static const pl_opt pl_opts[] = {
    P("pipeline", SM_OPT_STRING, name, NULL, SM_NO_BOUNDS, NULL, F_REQUIRED,
      "name of the pipeline (letters, digits, '_', '-', '.'): names its checkpoint directory, "
      "its dead-letter table <pipeline>_dead_letter and its Kafka consumer group"),
    P("lake", SM_OPT_STRING, lake, "./lake", SM_NO_BOUNDS, NULL, F_NOHASH,
      "directory of the lakehouse: tables at <lake>/<layer>/<table>, checkpoints at "
      "<lake>/_checkpoints/<pipeline>; a relative path is relative to the working directory"),

    SECTION(S_PIPELINE, "source", F_REQUIRED, "where records come from"),
    SECTION(S_PIPELINE, "source.kafka", F_REQUIRED, "the Kafka topics to read"),
    P("source.kafka.bootstrap_servers", SM_OPT_STRING, source.kafka.bootstrap_servers, NULL,
      SM_NO_BOUNDS, NULL, F_REQUIRED | F_NOHASH,
      "Kafka brokers to connect to first, host:port[,host:port...]"),
    P("source.kafka.topics", SM_OPT_LIST, source.kafka.topics, NULL, SM_NO_BOUNDS, NULL, F_REQUIRED,
      "topics to read, e.g. [orders]; partitions added later are picked up"),
    {{"source.kafka.starting_offsets", 0, SM_OPT_STRING,
      offsetof(sm_pipeline, source.kafka.starting_offsets), "earliest", SM_NO_BOUNDS, NULL, NULL,
      "where a new pipeline starts (a restarted one resumes from its checkpoint): earliest, "
      "latest, per partition as JSON {\"orders\":{\"0\":42}} (-2 earliest, -1 latest, as "
      "Spark), or a timestamp (epoch ms or ISO-8601) for the first record at or after it"},
     K_VALUE,
     S_PIPELINE,
     F_NOHASH,
     hook_starting_offsets},
    P("source.kafka.fail_on_data_loss", SM_OPT_BOOL, source.kafka.fail_on_data_loss, "true",
      SM_NO_BOUNDS, NULL, F_NOHASH,
      "stop with an error when offsets to read were deleted by retention; false skips them "
      "with a warning and a count"),
    P("source.kafka.group_id", SM_OPT_STRING, source.kafka.group_id, NULL, SM_NO_BOUNDS, NULL,
      F_NOHASH,
      "consumer group whose offsets are committed after each batch, for lag tools only (the "
      "checkpoint is the source of truth); default smelter-<pipeline>"),
    P("source.kafka.consumer_threads", SM_OPT_INT, source.kafka.consumer_threads, "0", B(0, 1024),
      NULL, F_NOHASH, "consumer threads, each owning a share of the partitions; 0 = one per core"),
    P("source.kafka.options", SM_OPT_MAP, source.kafka.options, NULL, SM_NO_BOUNDS, NULL, F_NOHASH,
      "librdkafka properties passed as they are, e.g. {security.protocol: SASL_SSL, "
      "sasl.mechanisms: PLAIN}; the ones smelter sets itself (bootstrap.servers, group.id, "
      "auto.offset.reset, enable.auto.commit, enable.auto.offset.store) are refused"),
    P("source.format", SM_OPT_ENUM, source.format, "json", SM_NO_BOUNDS, "json|avro|protobuf", 0,
      "encoding of the message values (avro and protobuf in the Confluent wire format)"),
    P("source.schema", SM_OPT_STRING, source.schema, NULL, SM_NO_BOUNDS, NULL,
      F_REQUIRED | F_NOHASH, /* its content is in the hash, not its path */
      "schema of the records: an Avro schema (.avsc) for json and avro (the reader schema), a "
      "descriptor set (protoc --include_imports --descriptor_set_out) for protobuf; relative to "
      "the pipeline file's directory; its content, not its path, is in the configuration hash"),
    SECTION(S_PIPELINE, "source.json", 0, "options of format json"),
    P("source.json.unknown_fields", SM_OPT_ENUM, source.json.unknown_fields, "ignore", SM_NO_BOUNDS,
      "ignore|dead_letter", 0,
      "fields the schema does not name: ignore skips them (as Spark's from_json), dead_letter "
      "sends the record to the dead-letter table with reason unknown_field"),
    SECTION(S_PIPELINE, "source.protobuf", 0, "options of format protobuf"),
    P("source.protobuf.message", SM_OPT_STRING, source.protobuf.message, NULL, SM_NO_BOUNDS, NULL,
      0,
      "full name of the message type, e.g. smelter.ecommerce.Order; default the first message "
      "of the descriptor set's last file (Confluent's message index [0])"),
    SECTION(S_PIPELINE, "source.schema_registry", 0,
            "where avro finds the writer schema of each message's schema id"),
    P("source.schema_registry.url", SM_OPT_STRING, source.schema_registry.url, NULL, SM_NO_BOUNDS,
      NULL, F_NOHASH,
      "a Confluent Schema Registry (http://host:8081[/path]; GET /schemas/ids/{id}) or a "
      "directory of <id>.avsc files (relative to the pipeline file's directory); needed by "
      "format avro"),
    P("source.schema_registry.basic_auth", SM_OPT_STRING, source.schema_registry.basic_auth, NULL,
      SM_NO_BOUNDS, NULL, F_NOHASH,
      "user:password for HTTP basic auth (Confluent's basic.auth.user.info); use ${VAR}"),
    P("source.schema_registry.timeout", SM_OPT_DURATION, source.schema_registry.timeout_ms, "10s",
      B(1, DAY_MS), NULL, F_NOHASH, "time bound of one request to the registry"),
    P("source.schema_registry.max_attempts", SM_OPT_INT, source.schema_registry.max_attempts, "3",
      B(1, 100), NULL, F_NOHASH,
      "attempts per schema id on connection errors, timeouts and 5xx answers (with backoff); an "
      "id the registry does not know is not retried: its records go to the dead-letter table"),

    SECTION(S_PIPELINE, "trigger", 0,
            "when a micro-batch is cut; whichever limit is reached first closes the batch"),
    P("trigger.interval", SM_OPT_DURATION, trigger.interval_ms, "5s", B(0, DAY_MS), NULL, F_NOHASH,
      "a batch every interval, also when no data arrived (progress and lag stay visible); 0 "
      "starts the next batch as soon as one ends, Spark's default"),
    P("trigger.available_now", SM_OPT_BOOL, trigger.available_now, "false", SM_NO_BOUNDS, NULL,
      F_NOHASH,
      "process what is in the topics at start, in as many batches as the limits need, then "
      "exit 0 (backfills, cron, tests); interval is then ignored"),
    P("trigger.max_bytes_per_trigger", SM_OPT_SIZE, trigger.max_bytes_per_trigger, "256MB",
      B(KB, TB), NULL, F_NOHASH,
      "most message bytes in one batch; also bounds in-flight memory (partitions are paused, "
      "not buffered)"),
    P("trigger.max_records_per_trigger", SM_OPT_INT, trigger.max_records_per_trigger, "0",
      B(0, 1e12), NULL, F_NOHASH, "most records in one batch; 0 = no limit"),
    P("trigger.max_files_per_trigger", SM_OPT_INT, trigger.max_files_per_trigger, "0", B(0, 1e6),
      NULL, F_NOHASH, "most output files one batch writes per table; 0 = no limit"),
    P("trigger.target_file_size", SM_OPT_SIZE, trigger.target_file_size, "128MB",
      B(KB, 16 * KB * KB * KB), NULL, F_NOHASH,
      "size at which an output Parquet file is closed and the next begun"),

    SECTION(S_PIPELINE, "watermark", 0,
            "event-time watermark: the latest event time seen minus delay; records older than "
            "it are late. Needed by dedup and by windows in append mode"),
    P("watermark.column", SM_OPT_STRING, watermark.column, NULL, SM_NO_BOUNDS, NULL, F_REQUIRED,
      "event-time column (a timestamp of the schema, or _kafka_timestamp)"),
    P("watermark.delay", SM_OPT_DURATION, watermark.delay_ms, NULL, B(0, 365 * DAY_MS), NULL,
      F_REQUIRED, "how late a record may arrive and still count, e.g. 10m"),

    SECTION(S_PIPELINE, "checkpoint", 0, "the checkpoint: offsets and commit logs of the batches"),
    P("checkpoint.location", SM_OPT_STRING, checkpoint.location, NULL, SM_NO_BOUNDS, NULL, F_NOHASH,
      "checkpoint directory; default <lake>/_checkpoints/<pipeline>"),
    P("checkpoint.retention_batches", SM_OPT_INT, checkpoint.retention_batches, "100", B(1, 1e9),
      NULL, F_NOHASH, "batches kept in the offsets and commits logs; older entries are removed"),

    NAMED(S_PIPELINE, "tables", F_REQUIRED, hook_tables,
          "the tables, in order: each key is a table name (<layer>_<entity> by convention)"),
    T("tables.<name>.layer", SM_OPT_ENUM, layer, NULL, SM_NO_BOUNDS, "bronze|silver|gold", 0,
      "medallion layer; default from the name's prefix (bronze_, silver_, gold_), else bronze "
      "without from:, gold with aggregates:, silver otherwise"),
    T("tables.<name>.from", SM_OPT_STRING, from, NULL, SM_NO_BOUNDS, NULL, 0,
      "the table this one reads (silver and gold); a bronze table reads the source"),
    T("tables.<name>.partition_by", SM_OPT_LIST, partition_by, NULL, SM_NO_BOUNDS, NULL, 0,
      "partition columns; bronze default [_ingestion_date], others none"),
    NAMED(S_TABLE, "tables.<name>.expectations", 0, hook_expectations,
          "data-quality rules, checked in order: each key is a rule name; the value is {expr, "
          "on_violation} or just the expression (then warn)"),
    E("tables.<name>.expectations.<name>.expr", SM_OPT_STRING, expr, NULL, SM_NO_BOUNDS, NULL,
      F_REQUIRED, "SQL boolean expression a valid row satisfies"),
    E("tables.<name>.expectations.<name>.on_violation", SM_OPT_ENUM, on_violation, "warn",
      SM_NO_BOUNDS, "warn|drop|fail", 0,
      "warn keeps the row and counts it; drop removes it (to the quarantine table when there "
      "is one); fail stops the pipeline without committing the batch"),
    SECTION(S_TABLE, "tables.<name>.dedup", 0,
            "drop records whose keys were already seen, within the watermark"),
    T("tables.<name>.dedup.keys", SM_OPT_LIST, dedup_keys, NULL, SM_NO_BOUNDS, NULL, F_REQUIRED,
      "columns that identify a record, e.g. [order_id]"),
    T("tables.<name>.quarantine", SM_OPT_STRING, quarantine, NULL, SM_NO_BOUNDS, NULL, 0,
      "table that receives the rows dropped by expectations, with the failed rule names in "
      "_validation_errors"),
    {{"tables.<name>.select", 0, SM_OPT_LIST, 0, NULL, SM_NO_BOUNDS, NULL, NULL,
      "silver: the output columns, as Spark's selectExpr: \"expr [AS name]\" items over the "
      "input columns, * for all of them, e.g. [order_id, \"price * quantity AS total\"]; "
      "default every input column"},
     K_VALUE,
     S_TABLE,
     0,
     hook_select},
    {{"tables.<name>.casts", 0, SM_OPT_MAP, 0, NULL, SM_NO_BOUNDS, NULL, NULL,
      "silver: output column → type (int, bigint, double, string, date, timestamp, boolean, "
      "decimal(p,s)), e.g. {quantity: int, price: \"decimal(10,2)\"}; the value is cast, and "
      "NULL when it does not convert"},
     K_VALUE,
     S_TABLE,
     0,
     hook_casts},
    T("tables.<name>.late", SM_OPT_STRING, late, NULL, SM_NO_BOUNDS, NULL, 0,
      "silver: table that receives the rows whose event time is behind the watermark, with the "
      "table's columns (needs watermark:)"),
    SECTION(S_TABLE, "tables.<name>.window", 0, "event-time window of an aggregating table"),
    T("tables.<name>.window.column", SM_OPT_STRING, window_column, NULL, SM_NO_BOUNDS, NULL,
      F_REQUIRED, "timestamp column the window is over"),
    T("tables.<name>.window.size", SM_OPT_DURATION, window_size_ms, NULL, B(1, 366 * DAY_MS), NULL,
      F_REQUIRED, "window length, e.g. 1h or 1d"),
    T("tables.<name>.window.slide", SM_OPT_DURATION, window_slide_ms, NULL, B(1, 366 * DAY_MS),
      NULL, 0, "distance between window starts; default the size (tumbling windows)"),
    T("tables.<name>.group_by", SM_OPT_LIST, group_by, NULL, SM_NO_BOUNDS, NULL, 0,
      "grouping columns of an aggregating table"),
    {{"tables.<name>.aggregates", 0, SM_OPT_MAP, 0, NULL, SM_NO_BOUNDS, NULL, NULL,
      "output column → aggregate expression, in order, e.g. {orders: \"count(*)\", revenue: "
      "\"sum(price * quantity)\"}"},
     K_VALUE,
     S_TABLE,
     0,
     hook_aggregates},
    T("tables.<name>.output_mode", SM_OPT_ENUM, output_mode, "append", SM_NO_BOUNDS,
      "append|update|complete", 0,
      "what an aggregating table writes each batch: append = windows the watermark has "
      "finalised, update = groups that changed, complete = the whole result"),
    {{NULL}, 0, 0, 0, NULL},
};

#define N_OPTS (sizeof pl_opts / sizeof pl_opts[0] - 1)

/* --- names ---------------------------------------------------------------------------------- */

const char *sm_pl_layer_name(int layer)
{
    static const char *const names[] = {"bronze", "silver", "gold"};
    return layer >= 0 && layer < 3 ? names[layer] : "?";
}

const char *sm_pl_format_name(int format)
{
    static const char *const names[] = {"json", "avro", "protobuf"};
    return format >= 0 && format < 3 ? names[format] : "?";
}

const char *sm_pl_violation_name(int v)
{
    static const char *const names[] = {"warn", "drop", "fail"};
    return v >= 0 && v < 3 ? names[v] : "?";
}

const char *sm_pl_output_mode_name(int m)
{
    static const char *const names[] = {"append", "update", "complete"};
    return m >= 0 && m < 3 ? names[m] : "?";
}

/* The last component of a dotted name. */
static const char *leaf(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* Does `name` sit directly below `parent` ("" is the root)? */
static bool is_child_of(const char *name, const char *parent)
{
    size_t plen = strlen(parent);
    if (plen == 0) {
        return strchr(name, '.') == NULL;
    }
    return strncmp(name, parent, plen) == 0 && name[plen] == '.' && !strchr(name + plen + 1, '.');
}

static const pl_opt *find_opt(const char *name, size_t *index)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strcmp(pl_opts[i].o.name, name) == 0) {
            if (index) {
                *index = i;
            }
            return &pl_opts[i];
        }
    }
    return NULL;
}

/* --- the loader ------------------------------------------------------------------------------ */

typedef struct column {
    const char *name;
    bool is_ts;
} column;

struct loader {
    sm_arena *arena;
    sm_error *err;
    sm_pipeline *p;
    sm_cfg_node *root;
    const char *dir;          /* of the pipeline file */
    struct table_seen *tseen; /* per table: the keys it gave */
    column *schema_cols;
    size_t n_schema_cols;
    char *schema_canonical; /* malloc'ed: the .avsc as sorted compact JSON, for the hash */
    sm_avsc *avsc;          /* the .avsc parsed (ingest/avsc.h); NULL when it does not parse */
    char avsc_err[SM_ERROR_MSG_MAX]; /* why, reported only when an expression needs it */
    sm_field *bronze_schema;         /* the input of tables reading bronze, made when needed */
    bool any_select;                 /* some table has select: or casts: */
    struct table_rows *rows;         /* per table, made when needed (rows_schema) */
};

/* Per table: what the file said, for checks that care whether a key was given. */
typedef struct table_seen {
    bool seen[PL_MAX_OPTS];
} table_seen;

static int oom(loader *ld)
{
    return sm_error_set(ld->err, SM_ERR_NOMEM, "%s: out of memory while loading", ld->p->file);
}

static char *path_of(const sm_cfg_node *n, char *buf, size_t len)
{
    return sm_cfg_path(n, buf, len);
}

/* "file:line:col: <key path>: <message>" */
static int fail_at(loader *ld, const sm_cfg_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(loader *ld, const sm_cfg_node *n, const char *fmt, ...)
{
    char msg[SM_ERROR_MSG_MAX], path[PL_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    path_of(n, path, sizeof path);
    if (path[0]) {
        return sm_cfg_error(ld->err, SM_ERR_USAGE, n, "%s: %s", path, msg);
    }
    return sm_cfg_error(ld->err, SM_ERR_USAGE, n, "%s", msg);
}

/* The key node of a value when it has one (errors about a key point at the key). */
static const sm_cfg_node *key_or_self(const sm_cfg_node *n)
{
    const sm_cfg_node *k = sm_cfg_key_node(n);
    return k ? k : n;
}

static const char *expected_text(const sm_opt *o, char *buf, size_t n)
{
    switch (o->type) {
    case SM_OPT_BOOL:
        return "true or false";
    case SM_OPT_INT:
        return "an integer";
    case SM_OPT_DOUBLE:
        return "a number";
    case SM_OPT_STRING:
        return "a string";
    case SM_OPT_SIZE:
        return "a size like 256MB";
    case SM_OPT_DURATION:
        return "a duration like 5s";
    case SM_OPT_ENUM:
        snprintf(buf, n, "one of %s", o->choices);
        return buf;
    case SM_OPT_LIST:
        return "a list of strings";
    case SM_OPT_MAP:
        return "a map of strings";
    }
    return "a value";
}

/* A scalar that stands for a value (not null, not a list or map), or an error saying so. */
static int need_scalar(loader *ld, const pl_opt *o, const sm_cfg_node *n)
{
    char buf[128];
    if (n->kind != SM_CFG_SCALAR) {
        return fail_at(ld, n, "expected %s, found %s", expected_text(&o->o, buf, sizeof buf),
                       sm_cfg_kind_name(n->kind));
    }
    if (n->is_null) {
        return fail_at(ld, n, "needs a value (%s)", expected_text(&o->o, buf, sizeof buf));
    }
    if (strlen(n->str) != n->len) {
        return fail_at(ld, n, "holds a NUL character");
    }
    return SM_OK;
}

/* A list of non-empty strings, no repeats; a single scalar is a list of one. */
static int read_list(loader *ld, const sm_cfg_node *n, sm_strlist *out)
{
    const sm_cfg_node *const *items = (const sm_cfg_node *const *)&n;
    size_t count = 1;
    if (n->kind == SM_CFG_MAP || (n->kind == SM_CFG_SCALAR && n->is_null)) {
        return fail_at(ld, n, "expected a list of strings like [a, b], found %s",
                       n->kind == SM_CFG_MAP ? "a map" : "nothing");
    }
    if (n->kind == SM_CFG_SEQ) {
        items = (const sm_cfg_node *const *)n->items;
        count = n->count;
    }
    const char **arr = count ? sm_arena_alloc(ld->arena, count * sizeof *arr) : NULL;
    if (count && !arr) {
        return oom(ld);
    }
    for (size_t i = 0; i < count; i++) {
        const sm_cfg_node *it = items[i];
        static const pl_opt item = {.o = {.type = SM_OPT_STRING}};
        int rc = need_scalar(ld, &item, it);
        if (rc != SM_OK) {
            return rc;
        }
        if (it->len == 0) {
            return fail_at(ld, it, "an empty string is not a name");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(arr[j], it->str) == 0) {
                return fail_at(ld, it, "'%s' is listed twice", it->str);
            }
        }
        arr[i] = it->str;
    }
    out->items = arr;
    out->count = count;
    return SM_OK;
}

/* A map of scalar values, in file order, into the arena. */
static int read_map(loader *ld, const sm_cfg_node *n, sm_strmap *out)
{
    if (n->kind == SM_CFG_SCALAR && n->is_null) {
        *out = (sm_strmap){NULL, NULL, 0};
        return SM_OK;
    }
    if (n->kind != SM_CFG_MAP) {
        return fail_at(ld, n, "expected a map like {key: value}, found %s",
                       sm_cfg_kind_name(n->kind));
    }
    const char **keys = n->count ? sm_arena_alloc(ld->arena, n->count * sizeof *keys) : NULL;
    const char **values = n->count ? sm_arena_alloc(ld->arena, n->count * sizeof *values) : NULL;
    if (n->count && (!keys || !values)) {
        return oom(ld);
    }
    for (size_t i = 0; i < n->count; i++) {
        const sm_cfg_node *v = n->items[i];
        if (v->kind != SM_CFG_SCALAR || v->is_null) {
            return fail_at(ld, v, "expected a string value, found %s",
                           v->kind == SM_CFG_SCALAR ? "nothing" : sm_cfg_kind_name(v->kind));
        }
        keys[i] = n->keys[i]->str;
        values[i] = v->str;
    }
    *out = (sm_strmap){keys, values, n->count};
    return SM_OK;
}

/* Sets one declared value from its node. sm_opt_set's "--name: " becomes file:line:col: path. */
static int set_value(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    if (o->hook) {
        return o->hook(ld, o, n, conf);
    }
    if (o->o.type == SM_OPT_LIST) {
        return read_list(ld, n, (sm_strlist *)((char *)conf + o->o.offset));
    }
    if (o->o.type == SM_OPT_MAP) {
        return read_map(ld, n, (sm_strmap *)((char *)conf + o->o.offset));
    }
    int rc = need_scalar(ld, o, n);
    if (rc != SM_OK) {
        return rc;
    }
    if (o->o.type == SM_OPT_STRING && n->len == 0) {
        return fail_at(ld, n, "must not be empty");
    }
    sm_error e;
    sm_error_clear(&e);
    if (sm_opt_set(&o->o, conf, n->str, &e) == SM_OK) {
        return SM_OK;
    }
    char prefix[PL_PATH_MAX];
    const char *msg = e.msg;
    snprintf(prefix, sizeof prefix, "--%s: ", o->o.name);
    if (strncmp(msg, prefix, strlen(prefix)) == 0) {
        msg += strlen(prefix);
    }
    fail_at(ld, n, "%s", msg);
    ld->err->code = e.code == SM_ERR_NOMEM ? SM_ERR_NOMEM : SM_ERR_USAGE;
    return ld->err->code;
}

/* Applies the declared defaults of one scope to a zeroed struct. */
static int apply_defaults(loader *ld, int scope, void *conf)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *o = &pl_opts[i];
        if (o->kind != K_VALUE || o->scope != scope || !o->o.def) {
            continue;
        }
        if (sm_opt_set(&o->o, conf, o->o.def, ld->err) != SM_OK) {
            ld->err->code = SM_ERR_INTERNAL;
            sm_error_prefix(ld->err, "bad default in the pipeline option table");
            return SM_ERR_INTERNAL;
        }
    }
    return SM_OK;
}

/* "unknown key 'x' in trigger; did you mean 'y'?" — the nearest sibling, else where a key of
 * that name belongs, else the list of keys allowed here. */
static int unknown_key(loader *ld, const sm_cfg_node *map, const sm_cfg_node *key,
                       const char *pattern)
{
    const char *names[PL_MAX_OPTS + 1];
    size_t n = 0;
    char where[PL_PATH_MAX], known[1024] = "";
    size_t klen = 0;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (is_child_of(pl_opts[i].o.name, pattern)) {
            names[n++] = leaf(pl_opts[i].o.name);
            klen += (size_t)snprintf(known + klen, klen < sizeof known ? sizeof known - klen : 0,
                                     "%s%s", klen ? ", " : "", names[n - 1]);
        }
    }
    names[n] = NULL;
    path_of(map, where, sizeof where);
    char in[PL_PATH_MAX + 8];
    if (where[0]) {
        snprintf(in, sizeof in, "in %s", where);
    } else {
        snprintf(in, sizeof in, "at the top level");
    }
    const char *near = sm_nearest(key->str, names);
    if (near) {
        return sm_cfg_error(ld->err, SM_ERR_USAGE, key, "unknown key '%s' %s; did you mean '%s'?",
                            key->str, in, near);
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strcmp(leaf(pl_opts[i].o.name), key->str) == 0) {
            const char *name = pl_opts[i].o.name;
            int plen = (int)(leaf(name) - name) - 1;
            if (plen <= 0) {
                return sm_cfg_error(ld->err, SM_ERR_USAGE, key,
                                    "unknown key '%s' %s; it belongs at the top level", key->str,
                                    in);
            }
            return sm_cfg_error(ld->err, SM_ERR_USAGE, key,
                                "unknown key '%s' %s; it belongs in %.*s (as %s)", key->str, in,
                                plen, name, name);
        }
    }
    return sm_cfg_error(ld->err, SM_ERR_USAGE, key, "unknown key '%s' %s; known keys: %s", key->str,
                        in, known);
}

static int walk_section(loader *ld, sm_cfg_node *n, const char *pattern, int scope, void *conf,
                        bool *seen);

/*
 * Walks one map against the entries below `pattern` of `scope`, writing into conf. `seen`
 * (PL_MAX_OPTS flags, by entry index) records the keys given. Then checks required keys.
 */
static int walk_map(loader *ld, sm_cfg_node *map, const char *pattern, int scope, void *conf,
                    bool *seen)
{
    if (map->kind == SM_CFG_SCALAR && map->is_null) {
        map = NULL; /* "watermark:" with nothing: an empty section, required keys then missing */
    } else if (map->kind != SM_CFG_MAP) {
        return fail_at(ld, map, "expected a map, found %s", sm_cfg_kind_name(map->kind));
    }
    for (size_t i = 0; map && i < map->count; i++) {
        sm_cfg_node *k = map->keys[i], *v = map->items[i];
        char name[PL_PATH_MAX];
        size_t idx;
        snprintf(name, sizeof name, "%s%s%s", pattern, *pattern ? "." : "", k->str);
        const pl_opt *o = strchr(k->str, '.') ? NULL : find_opt(name, &idx);
        if (!o && strchr(k->str, '.') && find_opt(name, NULL)) {
            /* "trigger.interval: 5s": Spark-style flat keys are not paths here */
            const char *dot = strchr(k->str, '.');
            return sm_cfg_error(ld->err, SM_ERR_USAGE, k,
                                "unknown key '%s': a dotted key is not a path; write it nested, "
                                "as %.*s: {%s: ...}",
                                k->str, (int)(dot - k->str), k->str, dot + 1);
        }
        if (!o || o->scope != scope) {
            return unknown_key(ld, map, k, pattern);
        }
        seen[idx] = true;
        int rc;
        if (o->kind == K_SECTION) {
            rc = walk_section(ld, v, name, scope, conf, seen);
        } else if (o->kind == K_NAMED) {
            rc = o->hook(ld, o, v, conf);
        } else {
            rc = set_value(ld, o, v, conf);
        }
        if (rc != SM_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *o = &pl_opts[i];
        if ((o->flags & F_REQUIRED) && o->scope == scope && is_child_of(o->o.name, pattern) &&
            !seen[i]) {
            const sm_cfg_node *at = map ? key_or_self(map) : NULL;
            char where[PL_PATH_MAX];
            if (!map) {
                /* an empty section: its key is where the value should be */
                return SM_OK; /* reported by the caller, which knows the node */
            }
            path_of(map, where, sizeof where);
            if (where[0]) {
                return sm_cfg_error(ld->err, SM_ERR_USAGE, at,
                                    "missing required key '%s' in %s (%s)", leaf(o->o.name), where,
                                    o->o.help);
            }
            return sm_cfg_error(ld->err, SM_ERR_USAGE, at, "missing required key '%s' (%s)",
                                leaf(o->o.name), o->o.help);
        }
    }
    return SM_OK;
}

/* The first required entry below pattern, for "watermark: (nothing)". */
static const pl_opt *first_required(const char *pattern, int scope)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *o = &pl_opts[i];
        if ((o->flags & F_REQUIRED) && o->scope == scope && is_child_of(o->o.name, pattern)) {
            return o;
        }
    }
    return NULL;
}

/* walk_map for a section node, with the error for an empty section that needs keys. */
static int walk_section(loader *ld, sm_cfg_node *n, const char *pattern, int scope, void *conf,
                        bool *seen)
{
    int rc = walk_map(ld, n, pattern, scope, conf, seen);
    if (rc == SM_OK && n->kind == SM_CFG_SCALAR && n->is_null) {
        const pl_opt *o = first_required(pattern, scope);
        if (o) {
            return fail_at(ld, n, "is empty: missing required key '%s' (%s)", leaf(o->o.name),
                           o->o.help);
        }
    }
    return rc;
}

/* --- hooks ---------------------------------------------------------------------------------- */

static bool is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return false;
    }
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_')) {
            return false;
        }
    }
    return true;
}

static bool is_topic_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Checks {"topic": {"0": 42, ...}, ...} and returns it as compact JSON text in the arena. */
static int check_offsets_json(loader *ld, const sm_cfg_node *at, json_t *j, const char **out)
{
    const char *topic;
    json_t *parts;
    if (!json_is_object(j) || json_object_size(j) == 0) {
        return fail_at(ld, at,
                       "per-partition offsets must be a non-empty object like "
                       "{\"orders\":{\"0\":42,\"1\":-2}}");
    }
    json_object_foreach(j, topic, parts)
    {
        const char *part;
        json_t *off;
        if (!is_topic_name(topic)) {
            return fail_at(ld, at, "'%s' is not a valid Kafka topic name", topic);
        }
        if (!json_is_object(parts) || json_object_size(parts) == 0) {
            return fail_at(ld, at,
                           "offsets of topic '%s' must be an object of partition → offset, like "
                           "{\"0\":42}",
                           topic);
        }
        json_object_foreach(parts, part, off)
        {
            char *end;
            long pn = strtol(part, &end, 10);
            if (!*part || *end || pn < 0 || pn > 1000000 || !isdigit((unsigned char)*part)) {
                return fail_at(ld, at, "'%s' in topic '%s' is not a partition number", part, topic);
            }
            if (!json_is_integer(off) || json_integer_value(off) < -2) {
                return fail_at(ld, at,
                               "offset of %s/%s must be an integer >= 0, or -2 (earliest) or -1 "
                               "(latest)",
                               topic, part);
            }
        }
    }
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text) {
        return oom(ld);
    }
    *out = sm_arena_strdup(ld->arena, text);
    free(text);
    return *out ? SM_OK : oom(ld);
}

/* A YAML map of topic → {partition: offset} as JSON (numbers as numbers). */
static json_t *offsets_map_to_json(const sm_cfg_node *n)
{
    json_t *j = json_object();
    for (size_t i = 0; j && i < n->count; i++) {
        const sm_cfg_node *v = n->items[i];
        json_t *parts = json_object();
        if (!parts) {
            break;
        }
        for (size_t k = 0; v->kind == SM_CFG_MAP && k < v->count; k++) {
            const sm_cfg_node *off = v->items[k];
            char *end;
            long long x = off->kind == SM_CFG_SCALAR ? strtoll(off->str, &end, 10) : 0;
            json_t *val = off->kind == SM_CFG_SCALAR && off->len && *end == '\0'
                              ? json_integer(x)
                              : json_string(off->kind == SM_CFG_SCALAR ? off->str : "?");
            json_object_set_new(parts, v->keys[k]->str, val);
        }
        json_object_set_new(j, n->keys[i]->str, v->kind == SM_CFG_MAP ? parts : json_null());
        if (v->kind != SM_CFG_MAP) {
            json_decref(parts);
        }
    }
    return j;
}

static int hook_starting_offsets(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    sm_pipeline *p = conf;
    (void)o;
    if (n->kind == SM_CFG_MAP) {
        json_t *j = offsets_map_to_json(n);
        if (!j) {
            return oom(ld);
        }
        int rc = check_offsets_json(ld, n, j, &p->source.kafka.starting_offsets_json);
        json_decref(j);
        p->source.kafka.starting = SM_PL_START_OFFSETS;
        p->source.kafka.starting_offsets = p->source.kafka.starting_offsets_json;
        return rc;
    }
    int rc = need_scalar(ld, o, n);
    if (rc != SM_OK) {
        return rc;
    }
    const char *s = n->str;
    p->source.kafka.starting_offsets = s;
    if (strcasecmp(s, "earliest") == 0) {
        p->source.kafka.starting = SM_PL_START_EARLIEST;
        return SM_OK;
    }
    if (strcasecmp(s, "latest") == 0) {
        p->source.kafka.starting = SM_PL_START_LATEST;
        return SM_OK;
    }
    if (s[0] == '{') {
        json_error_t jerr;
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            return fail_at(ld, n, "'%s' is not valid JSON: %s", s, jerr.text);
        }
        rc = check_offsets_json(ld, n, j, &p->source.kafka.starting_offsets_json);
        json_decref(j);
        p->source.kafka.starting = SM_PL_START_OFFSETS;
        return rc;
    }
    if (strspn(s, "0123456789") == n->len && n->len > 0 && n->len <= 15) {
        p->source.kafka.starting = SM_PL_START_TIMESTAMP;
        p->source.kafka.starting_timestamp_ms = strtoll(s, NULL, 10);
        return SM_OK;
    }
    int64_t ms;
    if (isdigit((unsigned char)s[0]) && sm_parse_iso8601_ms(s, n->len, &ms) == 0) {
        p->source.kafka.starting = SM_PL_START_TIMESTAMP;
        p->source.kafka.starting_timestamp_ms = ms;
        return SM_OK;
    }
    static const char *const words[] = {"earliest", "latest", NULL};
    const char *near = sm_nearest(s, words);
    char hint[64] = "";
    if (near) {
        snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    }
    return fail_at(ld, n,
                   "'%s' is not earliest, latest, per-partition JSON like {\"orders\":{\"0\":42}}, "
                   "or a timestamp (epoch ms or ISO-8601)%s",
                   s, hint);
}

static int hook_aggregates(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    sm_pl_table *t = conf;
    (void)o;
    if (n->kind != SM_CFG_MAP) {
        return fail_at(ld, n,
                       "expected a map of output column → aggregate, like {orders: \"count(*)\"}, "
                       "found %s",
                       n->is_null ? "nothing" : sm_cfg_kind_name(n->kind));
    }
    if (n->count == 0) {
        return fail_at(ld, n, "needs at least one aggregate, like {orders: \"count(*)\"}");
    }
    t->aggregates = sm_arena_calloc(ld->arena, n->count * sizeof *t->aggregates);
    if (!t->aggregates) {
        return oom(ld);
    }
    for (size_t i = 0; i < n->count; i++) {
        const sm_cfg_node *k = n->keys[i], *v = n->items[i];
        if (!is_identifier(k->str)) {
            return fail_at(ld, k,
                           "'%s' is not a column name (letters, digits and _, not starting with a "
                           "digit)",
                           k->str);
        }
        if (v->kind != SM_CFG_SCALAR || v->is_null || v->len == 0) {
            return fail_at(ld, v, "expected an aggregate expression like \"sum(price)\", found %s",
                           v->kind == SM_CFG_SCALAR ? "nothing" : sm_cfg_kind_name(v->kind));
        }
        t->aggregates[i] = (sm_pl_aggregate){k->str, v->str, {v->file, v->line, v->col}};
    }
    t->n_aggregates = n->count;
    return SM_OK;
}

static int hook_select(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    sm_pl_table *t = conf;
    (void)o;
    size_t count = n->kind == SM_CFG_SEQ ? n->count : 1;
    if ((n->kind != SM_CFG_SEQ && n->kind != SM_CFG_SCALAR) || n->is_null || count == 0) {
        return fail_at(ld, n,
                       "expected a list of \"expr [AS name]\" items, like [order_id, \"price * "
                       "quantity AS total\"], found %s",
                       n->is_null || count == 0 ? "nothing" : sm_cfg_kind_name(n->kind));
    }
    t->select = sm_arena_calloc(ld->arena, count * sizeof *t->select);
    if (!t->select) {
        return oom(ld);
    }
    for (size_t i = 0; i < count; i++) {
        const sm_cfg_node *v = n->kind == SM_CFG_SEQ ? n->items[i] : n;
        if (v->kind != SM_CFG_SCALAR || v->is_null || v->len == 0) {
            return fail_at(ld, v, "expected an item like \"price * quantity AS total\", found %s",
                           v->kind == SM_CFG_SCALAR ? "nothing" : sm_cfg_kind_name(v->kind));
        }
        t->select[i] = (sm_pl_select){v->str, {v->file, v->line, v->col}};
    }
    t->n_select = count;
    return SM_OK;
}

/* casts: is read again by fold_casts once the input schema is known; here only its shape. */
static int hook_casts(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    (void)o;
    (void)conf;
    if (n->kind != SM_CFG_MAP || n->count == 0) {
        return fail_at(ld, n,
                       "expected a map of column → type, like {quantity: int, price: "
                       "\"decimal(10,2)\"}, found %s",
                       n->kind == SM_CFG_MAP || n->is_null ? "nothing" : sm_cfg_kind_name(n->kind));
    }
    for (size_t i = 0; i < n->count; i++) {
        const sm_cfg_node *v = n->items[i];
        if (v->kind != SM_CFG_SCALAR || v->is_null || v->len == 0) {
            return fail_at(ld, v, "expected a type like int or decimal(10,2), found %s",
                           v->kind == SM_CFG_SCALAR ? "nothing" : sm_cfg_kind_name(v->kind));
        }
    }
    return SM_OK;
}

static int hook_expectations(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    sm_pl_table *t = conf;
    if (n->kind == SM_CFG_SCALAR && n->is_null) {
        return SM_OK;
    }
    if (n->kind != SM_CFG_MAP) {
        return fail_at(ld, n,
                       "expected a map of rule name → {expr, on_violation}, found %s (write "
                       "expectations: {valid_id: {expr: \"id IS NOT NULL\", on_violation: drop}})",
                       sm_cfg_kind_name(n->kind));
    }
    t->expectations =
        sm_arena_calloc(ld->arena, (n->count ? n->count : 1) * sizeof(*t->expectations));
    if (!t->expectations) {
        return oom(ld);
    }
    char pattern[PL_PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s.<name>", o->o.name);
    for (size_t i = 0; i < n->count; i++) {
        sm_cfg_node *k = n->keys[i], *v = n->items[i];
        sm_pl_expectation *e = &t->expectations[i];
        bool seen[PL_MAX_OPTS] = {0};
        if (k->len == 0 || strlen(k->str) != k->len) {
            return fail_at(ld, k, "a rule needs a name");
        }
        e->name = k->str;
        int rc = apply_defaults(ld, S_EXPECT, e);
        if (rc != SM_OK) {
            return rc;
        }
        if (v->kind == SM_CFG_SCALAR && !v->is_null) {
            /* shorthand: the expression alone, on_violation warn */
            size_t idx;
            const pl_opt *expr = find_opt("tables.<name>.expectations.<name>.expr", &idx);
            rc = set_value(ld, expr, v, e);
        } else {
            rc = walk_section(ld, v, pattern, S_EXPECT, e, seen);
        }
        if (rc != SM_OK) {
            return rc;
        }
        const sm_cfg_node *x = v->kind == SM_CFG_MAP ? sm_cfg_get(v, "expr") : v;
        e->pos = (sm_pl_pos){x->file, x->line, x->col};
    }
    t->n_expectations = n->count;
    return SM_OK;
}

static int hook_tables(loader *ld, const pl_opt *o, sm_cfg_node *n, void *conf)
{
    sm_pipeline *p = conf;
    (void)o;
    if (n->kind != SM_CFG_MAP || n->count == 0) {
        return fail_at(ld, n,
                       "expected a map of table name → definition, like tables: {bronze_orders: "
                       "{layer: bronze}}, found %s",
                       n->kind == SM_CFG_MAP ? "an empty map"
                       : n->is_null          ? "nothing"
                                             : sm_cfg_kind_name(n->kind));
    }
    p->tables = sm_arena_calloc(ld->arena, n->count * sizeof *p->tables);
    table_seen *seen = sm_arena_calloc(ld->arena, n->count * sizeof *seen);
    if (!p->tables || !seen) {
        return oom(ld);
    }
    for (size_t i = 0; i < n->count; i++) {
        sm_cfg_node *k = n->keys[i], *v = n->items[i];
        sm_pl_table *t = &p->tables[i];
        if (strlen(k->str) != k->len || !is_identifier(k->str) || k->len > PL_NAME_MAX) {
            return fail_at(ld, k,
                           "'%s' is not a table name (letters, digits and _, not starting with a "
                           "digit, at most %d)",
                           k->str, PL_NAME_MAX);
        }
        t->name = k->str;
        t->pos = (sm_pl_pos){k->file, k->line, k->col};
        t->from_index = -1;
        int rc = apply_defaults(ld, S_TABLE, t);
        if (rc == SM_OK) {
            t->layer = -1; /* not declared (yet) */
            rc = walk_map(ld, v, "tables.<name>", S_TABLE, t, seen[i].seen);
        }
        if (rc != SM_OK) {
            return rc;
        }
    }
    p->n_tables = n->count;
    ld->tseen = seen;
    return SM_OK;
}

_Static_assert(sizeof pl_opts / sizeof pl_opts[0] <= PL_MAX_OPTS, "raise PL_MAX_OPTS");

/* --- the schema ------------------------------------------------------------------------------ */

/* Bronze metadata columns (DESIGN.md "Names and conventions of the output"), and the column
 * silver adds. */
static const column meta_cols[] = {
    {"_ingestion_timestamp", true}, {"_ingestion_date", false},  {"_batch_id", false},
    {"_source_system", false},      {"_kafka_partition", false}, {"_kafka_offset", false},
    {"_kafka_timestamp", true},     {"_kafka_key", false},
};
static const column processing_col = {"_processing_timestamp", true};

static bool avro_is_timestamp(const json_t *type)
{
    if (json_is_object(type)) {
        const char *lt = json_string_value(json_object_get(type, "logicalType"));
        return lt &&
               (strncmp(lt, "timestamp-", 10) == 0 || strncmp(lt, "local-timestamp-", 16) == 0);
    }
    if (json_is_array(type)) {
        for (size_t i = 0; i < json_array_size(type); i++) {
            if (avro_is_timestamp(json_array_get(type, i))) {
                return true;
            }
        }
    }
    return false;
}

/*
 * Reads the top-level field names of the .avsc (and which are timestamps) for the column
 * checks, and its canonical text for the hash. The full schema (types, defaults, nesting) is
 * ingest/avsc.h's business; this only makes sure the file is there and is a record.
 */
/* FNV-1a 64 of len bytes: the configuration hash and the descriptor set's fingerprint. */
static uint64_t fnv1a64(const void *data, size_t len)
{
    const unsigned char *b = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static sm_field *clone_field(sm_arena *a, const sm_field *f)
{
    sm_field *c = sm_arena_alloc(a, sizeof *c);
    if (!c) {
        return NULL;
    }
    *c = *f;
    c->name = sm_arena_strdup(a, f->name);
    c->children =
        f->n_children ? sm_arena_alloc(a, sizeof *c->children * (size_t)f->n_children) : NULL;
    if (!c->name || (f->n_children && !c->children)) {
        return NULL;
    }
    for (int i = 0; i < f->n_children; i++) {
        if (!(c->children[i] = clone_field(a, f->children[i]))) {
            return NULL;
        }
    }
    return c;
}

/*
 * Format protobuf: the schema is a descriptor set, and the table's columns are those of the
 * message source.protobuf.message (ingest/proto_decode.h maps the types). The loader keeps them
 * as an sm_avsc without Avro infos, so expressions and column checks work as for an .avsc; the
 * hash covers the message name and the descriptor set's bytes.
 */
static int load_proto_schema(loader *ld, const sm_cfg_node *at, const char *data, size_t len)
{
    sm_pipeline *p = ld->p;
    const char *path = p->source.schema_path;
    sm_proto_schema *ps = NULL;
    sm_proto_decoder *d = NULL;
    const char *msg = p->source.protobuf.message;
    sm_error e;
    int rc = SM_OK;

    if (sm_proto_schema_load((const uint8_t *)data, len, &ps, &e) != SM_OK) {
        return fail_at(ld, at,
                       "%s is not a protobuf descriptor set (make one with protoc "
                       "--include_imports --descriptor_set_out=FILE x.proto): %s",
                       path, e.msg);
    }
    if (!msg && !(msg = sm_proto_schema_message_at(ps, NULL, 0))) {
        rc = fail_at(ld, at, "%s has no message type", path);
        goto done;
    }
    if (sm_proto_decoder_new(ps, msg, &d, &e) != SM_OK) {
        const sm_cfg_node *m = node_at(ld->root, "source.protobuf.message");
        rc = fail_at(ld, m ? m : at, "%s: %s", path, e.msg);
        goto done;
    }
    const sm_field *root = sm_proto_decoder_schema(d);
    ld->avsc = sm_arena_calloc(ld->arena, sizeof *ld->avsc);
    if (!ld->avsc || !(ld->avsc->root = clone_field(ld->arena, root)) ||
        !(ld->avsc->name = p->source.protobuf.message = sm_arena_strdup(ld->arena, msg)) ||
        !(ld->schema_cols = sm_arena_calloc(ld->arena, sizeof *ld->schema_cols *
                                                           (size_t)(root->n_children + 1)))) {
        rc = oom(ld);
        goto done;
    }
    ld->avsc->origin = path;
    for (int i = 0; i < root->n_children; i++) {
        sm_type t = root->children[i]->type;
        ld->schema_cols[i].name = ld->avsc->root->children[i]->name;
        ld->schema_cols[i].is_ts = t == SM_TIMESTAMP_MS || t == SM_TIMESTAMP_US;
    }
    ld->n_schema_cols = (size_t)root->n_children;
    if (asprintf(&ld->schema_canonical, "protobuf:%s:%016llx", msg,
                 (unsigned long long)fnv1a64(data, len)) < 0) {
        ld->schema_canonical = NULL;
        rc = oom(ld);
    }
done:
    sm_proto_decoder_free(d);
    sm_proto_schema_free(ps);
    return rc;
}

static int load_schema(loader *ld, const sm_cfg_node *at)
{
    const char *path = ld->p->source.schema_path;
    char *text = NULL;
    size_t len = 0;
    sm_error e;
    if (sm_read_file(path, PL_SCHEMA_MAX, &text, &len, &e) != SM_OK) {
        return fail_at(ld, at, "cannot read the schema: %s%s", e.msg,
                       path[0] == '/' ? ""
                                      : " (a relative path is relative to the pipeline "
                                        "file's directory)");
    }
    if (ld->p->source.format == SM_PL_FORMAT_PROTOBUF) {
        int prc = load_proto_schema(ld, at, text, len);
        free(text);
        return prc;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (j && sm_avsc_parse(text, len, path, ld->arena, &ld->avsc, &e) != SM_OK) {
        ld->avsc = NULL;
        snprintf(ld->avsc_err, sizeof ld->avsc_err, "%s", e.msg);
    }
    free(text);
    if (!j) {
        return fail_at(ld, at, "%s is not JSON: line %d: %s", path, jerr.line, jerr.text);
    }
    int rc = SM_OK;
    json_t *fields = json_object_get(j, "fields");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!json_is_object(j) || !type || strcmp(type, "record") != 0 || !json_is_array(fields) ||
        json_array_size(fields) == 0) {
        rc = fail_at(ld, at,
                     "%s is not an Avro record schema: expected {\"type\": \"record\", \"name\": "
                     "..., \"fields\": [...]}",
                     path);
        goto done;
    }
    size_t n = json_array_size(fields);
    ld->schema_cols = sm_arena_calloc(ld->arena, n * sizeof *ld->schema_cols);
    if (!ld->schema_cols) {
        rc = oom(ld);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name) {
            rc = fail_at(ld, at, "%s: field %zu has no name", path, i);
            goto done;
        }
        ld->schema_cols[i].name = sm_arena_strdup(ld->arena, name);
        ld->schema_cols[i].is_ts = avro_is_timestamp(json_object_get(f, "type"));
        if (!ld->schema_cols[i].name) {
            rc = oom(ld);
            goto done;
        }
    }
    ld->n_schema_cols = n;
    ld->schema_canonical = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!ld->schema_canonical) {
        rc = oom(ld);
    }
done:
    json_decref(j);
    return rc;
}

/* Is `name` a column here? schema + bronze metadata, plus _processing_timestamp if asked. */
static const column *find_column(const loader *ld, const char *name, bool processing)
{
    for (size_t i = 0; i < ld->n_schema_cols; i++) {
        if (strcmp(ld->schema_cols[i].name, name) == 0) {
            return &ld->schema_cols[i];
        }
    }
    for (size_t i = 0; i < sizeof meta_cols / sizeof meta_cols[0]; i++) {
        if (strcmp(meta_cols[i].name, name) == 0) {
            return &meta_cols[i];
        }
    }
    return processing && strcmp(name, processing_col.name) == 0 ? &processing_col : NULL;
}

static int check_column(loader *ld, const sm_cfg_node *at, const char *name, bool processing,
                        bool need_ts, const char *what)
{
    const column *c = find_column(ld, name, processing);
    if (!c) {
        size_t n = ld->n_schema_cols + sizeof meta_cols / sizeof meta_cols[0] + 2;
        const char **names = calloc(n, sizeof *names);
        const char *near = NULL;
        if (names) {
            size_t k = 0;
            for (size_t i = 0; i < ld->n_schema_cols; i++) {
                names[k++] = ld->schema_cols[i].name;
            }
            for (size_t i = 0; i < sizeof meta_cols / sizeof meta_cols[0]; i++) {
                names[k++] = meta_cols[i].name;
            }
            if (processing) {
                names[k++] = processing_col.name;
            }
            near = sm_nearest(name, names);
        }
        char hint[PL_NAME_MAX + 32] = "";
        if (near) {
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        }
        free(names);
        return fail_at(ld, at, "'%s' is not a column of %s or a metadata column%s", name,
                       ld->p->source.schema, hint);
    }
    if (need_ts && !c->is_ts) {
        return fail_at(ld, at,
                       "'%s' is not a timestamp column: %s needs one (in the schema, a long with "
                       "logicalType timestamp-millis or timestamp-micros)",
                       name, what);
    }
    return SM_OK;
}

/* The node of item i of a list option (a lone scalar is a list of one). */
static const sm_cfg_node *list_item(const sm_cfg_node *list, size_t i)
{
    return list->kind == SM_CFG_SEQ ? list->items[i] : list;
}

static int check_columns(loader *ld, const sm_cfg_node *list, const sm_strlist *cols,
                         bool processing, const char *what)
{
    for (size_t i = 0; list && i < cols->count; i++) {
        int rc = check_column(ld, list_item(list, i), cols->items[i], processing, false, what);
        if (rc != SM_OK) {
            return rc;
        }
    }
    return SM_OK;
}

/* --- cross-checks ---------------------------------------------------------------------------- */

static sm_cfg_node *node_at(const sm_cfg_node *root, const char *path)
{
    char buf[PL_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    sm_cfg_node *n = (sm_cfg_node *)root;
    for (char *tok = buf, *save = NULL; n && (tok = strtok_r(tok, ".", &save)); tok = NULL) {
        n = sm_cfg_get(n, tok);
    }
    return n;
}

static int check_source(loader *ld)
{
    sm_pipeline *p = ld->p;
    const sm_cfg_node *topics = node_at(ld->root, "source.kafka.topics");
    const char *url = p->source.schema_registry.url;
    if (p->source.format == SM_PL_FORMAT_AVRO && !url) {
        return fail_at(ld, node_at(ld->root, "source.format"),
                       "format avro needs source.schema_registry.url: a Confluent Schema Registry "
                       "(http://host:8081) or a directory of <id>.avsc files, where the writer "
                       "schema of each message's schema id is found");
    }
    if (p->source.protobuf.message && p->source.format != SM_PL_FORMAT_PROTOBUF) {
        return fail_at(ld, node_at(ld->root, "source.protobuf.message"),
                       "is for format protobuf; the format is %s",
                       sm_pl_format_name(p->source.format));
    }
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        /* a directory of <id>.avsc, like source.schema relative to the pipeline file */
        if (!(p->source.schema_registry.url = join_path(ld, ld->dir, url))) {
            return oom(ld);
        }
    }
    if (p->source.kafka.topics.count == 0) {
        return fail_at(ld, topics, "needs at least one topic, like [orders]");
    }
    for (size_t i = 0; i < p->source.kafka.topics.count; i++) {
        if (!is_topic_name(p->source.kafka.topics.items[i])) {
            return fail_at(ld, list_item(topics, i),
                           "'%s' is not a valid Kafka topic name (letters, digits, '.', '_', '-'; "
                           "at most 249)",
                           p->source.kafka.topics.items[i]);
        }
    }
    if (p->source.kafka.starting == SM_PL_START_OFFSETS) {
        json_t *j = json_loads(p->source.kafka.starting_offsets_json, 0, NULL);
        const char *topic;
        json_t *v;
        int rc = SM_OK;
        json_object_foreach(j, topic, v)
        {
            bool known = false;
            for (size_t i = 0; i < p->source.kafka.topics.count; i++) {
                known = known || strcmp(p->source.kafka.topics.items[i], topic) == 0;
            }
            if (!known && rc == SM_OK) {
                rc = fail_at(ld, node_at(ld->root, "source.kafka.starting_offsets"),
                             "names topic '%s', which is not in source.kafka.topics", topic);
            }
        }
        json_decref(j);
        if (rc != SM_OK) {
            return rc;
        }
    }

    /* librdkafka options: the ones smelter owns are refused; the rest must be properties
     * librdkafka knows, with values it accepts (checked now, not at the first connect). */
    static const struct {
        const char *key, *instead;
    } owned[] = {
        {"bootstrap.servers", "source.kafka.bootstrap_servers"},
        {"metadata.broker.list", "source.kafka.bootstrap_servers"},
        {"group.id", "source.kafka.group_id"},
        {"auto.offset.reset", "source.kafka.starting_offsets"},
        {"enable.auto.commit", "nothing: smelter commits offsets after each batch"},
        {"enable.auto.offset.store", "nothing: smelter stores offsets after each batch"},
    };
    const sm_cfg_node *opts = node_at(ld->root, "source.kafka.options");
    const sm_strmap *m = &p->source.kafka.options;
    rd_kafka_conf_t *conf = m->count ? rd_kafka_conf_new() : NULL;
    int rc = SM_OK;
    for (size_t i = 0; i < m->count && rc == SM_OK; i++) {
        for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++) {
            if (strcmp(m->keys[i], owned[k].key) == 0) {
                rc = fail_at(ld, opts->keys[i], "smelter sets %s itself: use %s", owned[k].key,
                             owned[k].instead);
                break;
            }
        }
        char errstr[512];
        rd_kafka_conf_res_t res;
        if (rc == SM_OK && conf &&
            (res = rd_kafka_conf_set(conf, m->keys[i], m->values[i], errstr, sizeof errstr)) !=
                RD_KAFKA_CONF_OK) {
            rc = fail_at(ld, res == RD_KAFKA_CONF_UNKNOWN ? opts->keys[i] : opts->items[i],
                         "librdkafka refuses %s=%s: %s", m->keys[i], m->values[i], errstr);
        }
    }
    if (conf) {
        rd_kafka_conf_destroy(conf);
    }
    return rc;
}

static bool is_pipeline_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= PL_NAME_MAX && isalnum((unsigned char)s[0]) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int table_index(const sm_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_tables; i++) {
        if (strcmp(p->tables[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const char *nearest_table(const sm_pipeline *p, const char *name)
{
    const char *names[257];
    size_t n = p->n_tables < 256 ? p->n_tables : 256;
    for (size_t i = 0; i < n; i++) {
        names[i] = p->tables[i].name;
    }
    names[n] = NULL;
    return sm_nearest(name, names);
}

/* The layer a table did not declare: its name's prefix, else its shape. */
static int infer_layer(const sm_pl_table *t)
{
    static const char *const prefixes[] = {"bronze_", "silver_", "gold_"};
    for (int l = 0; l < 3; l++) {
        if (strncmp(t->name, prefixes[l], strlen(prefixes[l])) == 0) {
            return l;
        }
    }
    if (!t->from) {
        return SM_PL_BRONZE;
    }
    return t->n_aggregates ? SM_PL_GOLD : SM_PL_SILVER;
}

static int rows_schema(loader *ld, size_t i, const sm_field **out);
static int input_schema(loader *ld, const sm_pl_table *t, const sm_field **out);
static int check_table_column(loader *ld, const sm_cfg_node *at, size_t i, bool rows,
                              const char *name, bool processing, bool need_ts, const char *what);
static int check_side_table(loader *ld, size_t i, const char *name, const char *what,
                            const char *dead);
static sm_pl_pos expr_pos(const sm_pl_pos *node, const sm_cfg_node *x, const char *text, int at);
static const sm_field *schema_column(const sm_field *schema, const char *name);

/* Does the chain of from: above t reach a gold table (whose columns this file does not say)? */
static bool reads_gold(const sm_pipeline *p, const sm_pl_table *t)
{
    for (size_t steps = 0; t->from_index >= 0 && steps <= p->n_tables; steps++) {
        t = &p->tables[t->from_index];
        if (t->layer == SM_PL_GOLD) {
            return true;
        }
    }
    return false;
}

static int check_tables(loader *ld)
{
    sm_pipeline *p = ld->p;
    sm_cfg_node *tables = sm_cfg_get(ld->root, "tables");
    char dead[PL_NAME_MAX + 16];
    snprintf(dead, sizeof dead, "%s_dead_letter", p->name);

    /* layers and from: */
    for (size_t i = 0; i < p->n_tables; i++) {
        sm_pl_table *t = &p->tables[i];
        const sm_cfg_node *tn = tables->items[i];
        if (t->layer < 0) {
            t->layer = infer_layer(t);
        }
        if (strcmp(t->name, dead) == 0) {
            return fail_at(ld, tables->keys[i],
                           "'%s' is the name of the pipeline's dead-letter table; choose another",
                           t->name);
        }
        if (t->layer == SM_PL_BRONZE) {
            static const char *const not_bronze[] = {
                "from",       "expectations", "dedup",  "quarantine", "window", "group_by",
                "aggregates", "output_mode",  "select", "casts",      "late"};
            for (size_t k = 0; k < sizeof not_bronze / sizeof not_bronze[0]; k++) {
                const sm_cfg_node *x = sm_cfg_get(tn, not_bronze[k]);
                if (x && k == 0) {
                    return fail_at(ld, x,
                                   "a bronze table reads the source, not another table: remove "
                                   "from:, or make the table layer: silver");
                }
                if (x) {
                    return fail_at(ld, x,
                                   "a bronze table keeps the records as received: put %s on a "
                                   "silver or gold table that reads from '%s'",
                                   not_bronze[k], t->name);
                }
            }
            continue;
        }
        if (!t->from) {
            return fail_at(ld, key_or_self(tn),
                           "a %s table needs from: naming the table it reads (like from: %s)",
                           sm_pl_layer_name(t->layer), p->tables[0].name);
        }
        const sm_cfg_node *fn = sm_cfg_get(tn, "from");
        int j = table_index(p, t->from);
        if (j < 0) {
            const char *near = nearest_table(p, t->from);
            char hint[PL_NAME_MAX + 32] = "";
            if (near) {
                snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
            }
            return fail_at(ld, fn, "'%s' names no table of this pipeline%s", t->from, hint);
        }
        if ((size_t)j == i) {
            return fail_at(ld, fn, "a table cannot read itself");
        }
        t->from_index = j;
    }
    /* cycles: following from: must end at a bronze table */
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_pl_table *t = &p->tables[i];
        size_t steps = 0;
        while (t->from_index >= 0 && steps <= p->n_tables) {
            t = &p->tables[t->from_index];
            steps++;
        }
        if (steps > p->n_tables) {
            return fail_at(ld, sm_cfg_get(tables->items[i], "from"),
                           "tables reading each other in a cycle never reach the source: one of "
                           "them must be a bronze table without from:");
        }
    }

    /* select, casts, late: silver only; compiled here so later checks see the rows */
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_cfg_node *tn = tables->items[i];
        static const char *const silver_only[] = {"select", "casts", "late"};
        for (size_t k = 0; k < 3; k++) {
            const sm_cfg_node *x = sm_cfg_get(tn, silver_only[k]);
            if (x && p->tables[i].layer == SM_PL_GOLD) {
                return fail_at(ld, key_or_self(x),
                               "%s is for silver tables for now (a gold table's columns are its "
                               "group_by and aggregates): put it on the silver table '%s' reads",
                               silver_only[k], p->tables[i].name);
            }
            ld->any_select = ld->any_select || (x && k < 2);
        }
    }
    for (size_t i = 0; ld->any_select && i < p->n_tables; i++) {
        const sm_field *rows = NULL;
        const sm_cfg_node *tn = tables->items[i];
        if (p->tables[i].layer != SM_PL_SILVER) {
            continue;
        }
        if (reads_gold(p, &p->tables[i])) {
            const sm_cfg_node *x = sm_cfg_get(tn, "select");
            if ((x = x ? x : sm_cfg_get(tn, "casts")) != NULL) {
                return fail_at(ld, key_or_self(x),
                               "a select is checked against its input's columns, and those of a "
                               "gold table are not known yet: read a silver or bronze table");
            }
            continue;
        }
        int rc = rows_schema(ld, i, &rows);
        if (rc != SM_OK) {
            return rc;
        }
    }

    for (size_t i = 0; i < p->n_tables; i++) {
        sm_pl_table *t = &p->tables[i];
        const sm_cfg_node *tn = tables->items[i];
        const bool *seen = ld->tseen[i].seen;
        size_t idx_output = 0, idx_partition = 0;
        find_opt("tables.<name>.output_mode", &idx_output);
        find_opt("tables.<name>.partition_by", &idx_partition);
        bool gold_input = reads_gold(p, t);
        bool processing = t->from_index >= 0 && p->tables[t->from_index].layer != SM_PL_BRONZE;

        if (t->layer == SM_PL_BRONZE) {
            if (!seen[idx_partition]) {
                const char **items = sm_arena_alloc(ld->arena, sizeof *items);
                if (!items) {
                    return oom(ld);
                }
                items[0] = "_ingestion_date";
                t->partition_by = (sm_strlist){items, 1};
            }
            int rc = check_columns(ld, sm_cfg_get(tn, "partition_by"), &t->partition_by, false,
                                   "partition_by");
            if (rc != SM_OK) {
                return rc;
            }
            continue;
        }
        if (!t->n_aggregates) {
            static const char *const needs_aggregates[] = {"window", "group_by", "output_mode"};
            for (size_t k = 0; k < 3; k++) {
                const sm_cfg_node *x = sm_cfg_get(tn, needs_aggregates[k]);
                if (x) {
                    return fail_at(ld, key_or_self(x),
                                   "%s applies to an aggregating table: add aggregates: (like "
                                   "{orders: \"count(*)\"})",
                                   needs_aggregates[k]);
                }
            }
        }
        if (t->window_size_ms) {
            const sm_cfg_node *w = sm_cfg_get(tn, "window");
            if (!t->window_slide_ms) {
                t->window_slide_ms = t->window_size_ms;
            } else if (t->window_slide_ms > t->window_size_ms) {
                return fail_at(ld, sm_cfg_get(w, "slide"),
                               "a slide longer than the window size would skip events: make it "
                               "at most the size");
            }
            if (!gold_input) {
                int rc = check_table_column(ld, sm_cfg_get(w, "column"), i, false, t->window_column,
                                            processing, true, "a window");
                if (rc != SM_OK) {
                    return rc;
                }
            }
        }
        if (t->n_aggregates && t->output_mode == SM_PL_APPEND) {
            const sm_cfg_node *at = seen[idx_output] ? sm_cfg_get(tn, "output_mode")
                                                     : key_or_self(sm_cfg_get(tn, "aggregates"));
            if (!t->window_size_ms) {
                return fail_at(ld, at,
                               "append mode writes a window once the watermark has passed it: "
                               "add window: {column, size}, or use output_mode: update or "
                               "complete");
            }
            if (!p->watermark.column) {
                return fail_at(ld, at,
                               "append mode writes a window once the watermark has passed it: "
                               "declare watermark: {column: %s, delay: ...}",
                               t->window_column);
            }
            if (strcmp(p->watermark.column, t->window_column) != 0) {
                return fail_at(ld, sm_cfg_get(sm_cfg_get(tn, "window"), "column"),
                               "append mode needs the window over the watermark column '%s', "
                               "not '%s'",
                               p->watermark.column, t->window_column);
            }
        }
        const sm_cfg_node *dd = sm_cfg_get(tn, "dedup");
        if (dd) {
            if (t->dedup_keys.count == 0) {
                return fail_at(ld, sm_cfg_get(dd, "keys"), "needs at least one key column");
            }
            if (!p->watermark.column) {
                return fail_at(ld, key_or_self(dd),
                               "dedup keeps the keys it has seen until the watermark passes "
                               "them: declare watermark: {column, delay}");
            }
            const sm_cfg_node *keys = sm_cfg_get(dd, "keys");
            for (size_t k = 0; !gold_input && keys && k < t->dedup_keys.count; k++) {
                int rc = check_table_column(ld, list_item(keys, k), i, t->layer == SM_PL_SILVER,
                                            t->dedup_keys.items[k], processing, false, "dedup");
                if (rc != SM_OK) {
                    return rc;
                }
            }
        }
        if (!gold_input) {
            const sm_cfg_node *gb = sm_cfg_get(tn, "group_by");
            const sm_cfg_node *pb = sm_cfg_get(tn, "partition_by");
            for (size_t k = 0; gb && k < t->group_by.count; k++) {
                int rc = check_table_column(ld, list_item(gb, k), i, false, t->group_by.items[k],
                                            processing, false, "group_by");
                if (rc != SM_OK) {
                    return rc;
                }
            }
            for (size_t k = 0; pb && t->layer == SM_PL_SILVER && k < t->partition_by.count; k++) {
                int rc = check_table_column(ld, list_item(pb, k), i, true, t->partition_by.items[k],
                                            true, false, "partition_by");
                if (rc != SM_OK) {
                    return rc;
                }
            }
        }
        if (t->late) {
            int rc = check_side_table(ld, i, t->late, "late", dead);
            if (rc != SM_OK) {
                return rc;
            }
            if (!p->watermark.column) {
                return fail_at(ld, sm_cfg_get(tn, "late"),
                               "late rows are those whose event time is behind the watermark: "
                               "declare watermark: {column, delay}");
            }
        }
        if ((t->late || dd) && ld->any_select && !gold_input && p->watermark.column) {
            const sm_field *rows = NULL;
            int rc = rows_schema(ld, i, &rows);
            if (rc != SM_OK) {
                return rc;
            }
            if (!schema_column(rows, p->watermark.column)) {
                const sm_cfg_node *sel = sm_cfg_get(tn, "select");
                return fail_at(ld, key_or_self(sel ? sel : sm_cfg_get(tn, "casts")),
                               "the select drops the watermark column '%s', which %s needs: keep "
                               "it in the select",
                               p->watermark.column, dd ? "dedup" : "late");
            }
            rc = check_table_column(ld, node_at(ld->root, "watermark.column"), i, true,
                                    p->watermark.column, true, true, "the watermark");
            if (rc != SM_OK) {
                return rc;
            }
        }
        if (t->quarantine) {
            const sm_cfg_node *q = sm_cfg_get(tn, "quarantine");
            bool drops = false;
            for (size_t k = 0; k < t->n_expectations; k++) {
                drops = drops || t->expectations[k].on_violation == SM_PL_DROP;
            }
            int rc = check_side_table(ld, i, t->quarantine, "quarantine", dead);
            if (rc != SM_OK) {
                return rc;
            }
            if (!drops) {
                return fail_at(ld, q,
                               "a quarantine table receives the rows that expectations with "
                               "on_violation: drop remove, and this table has none");
            }
        }
    }
    return SM_OK;
}

/* Joins a and b with one '/' (b as it is when absolute or a is "."). In the arena. */
static const char *join_path(loader *ld, const char *a, const char *b)
{
    if (b[0] == '/' || strcmp(a, ".") == 0 || a[0] == '\0') {
        return sm_arena_strdup(ld->arena, b);
    }
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/') {
        la--;
    }
    size_t n = la + 1 + strlen(b) + 1;
    char *s = sm_arena_alloc(ld->arena, n);
    if (s) {
        snprintf(s, n, "%.*s/%s", (int)la, a, b);
    }
    return s;
}

/* --- expressions ----------------------------------------------------------------------------- */

/* Per table: its rows (pipeline.h "Schemas") and where its final select items came from. */
typedef struct sel_origin {
    size_t item;             /* index in the file's select list */
    const sm_cfg_node *node; /* that item's node; NULL when the table has no select: */
    const char *cast_column; /* the item was made by casts: for this column, else NULL */
    const sm_cfg_node *cast; /* the cast's type node */
} sel_origin;

typedef struct table_rows {
    const sm_field *rows; /* NULL until made */
    bool busy;
    sel_origin *origin; /* per final select item, when casts: rewrote the list */
} table_rows;

/*
 * The input of table t: for a table reading bronze (or, unchecked, a gold table), bronze's table
 * schema (.avsc fields, metadata columns and _ingestion_date, stream/bronze.h); for a table
 * reading a silver table, that table's rows (rows_schema). check_tables has refused cycles.
 */
static int input_schema(loader *ld, const sm_pl_table *t, const sm_field **out)
{
    sm_pipeline *p = ld->p;
    if (t->from_index >= 0 && p->tables[t->from_index].layer == SM_PL_SILVER) {
        return rows_schema(ld, (size_t)t->from_index, out);
    }
    if (!ld->bronze_schema) {
        sm_error e;
        if (!ld->avsc) {
            return fail_at(ld, node_at(ld->root, "source.schema"),
                           "the schema is needed to check expressions: %s", ld->avsc_err);
        }
        if (sm_bronze_schema(ld->avsc->root, p->source.schema_path, true, ld->arena,
                             &ld->bronze_schema, &e) != SM_OK) {
            return e.code == SM_ERR_NOMEM
                       ? oom(ld)
                       : fail_at(ld, node_at(ld->root, "source.schema"), "%s", e.msg);
        }
    }
    *out = ld->bronze_schema;
    return SM_OK;
}

/* "name" quoted as the expression language reads it ("" for a quote). In the arena. */
static char *quote_name(loader *ld, const char *name)
{
    size_t n = strlen(name);
    char *q = sm_arena_alloc(ld->arena, 2 * n + 3);
    if (q) {
        size_t k = 0;
        q[k++] = '"';
        for (size_t i = 0; i < n; i++) {
            if (name[i] == '"') {
                q[k++] = '"';
            }
            q[k++] = name[i];
        }
        q[k++] = '"';
        q[k] = 0;
    }
    return q;
}

/* The length of the expression of select item `s`, before its rename (stream/project.h: the
 * last top-level AS outside quotes followed by a name and nothing else), trailing blanks cut. */
static size_t item_expr_len(const char *s)
{
    size_t len = strlen(s);
    int depth = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            for (i++; s[i] && !(s[i] == c && s[i + 1] != c); i += s[i] == c ? 2 : 1) {
            }
            if (!s[i]) {
                break;
            }
            continue;
        }
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        if (depth || strncasecmp(s + i, "as", 2) != 0 || !isspace((unsigned char)s[i + 2]) ||
            (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))) {
            continue;
        }
        size_t j = i + 2;
        while (isspace((unsigned char)s[j])) {
            j++;
        }
        if (s[j] == '"') {
            for (j++; s[j] && !(s[j] == '"' && s[j + 1] != '"'); j += s[j] == '"' ? 2 : 1) {
            }
            j += s[j] ? 1 : 0;
        } else if (isalpha((unsigned char)s[j]) || s[j] == '_') {
            while (isalnum((unsigned char)s[j]) || s[j] == '_') {
                j++;
            }
        } else {
            continue;
        }
        while (isspace((unsigned char)s[j])) {
            j++;
        }
        if (!s[j]) {
            len = i;
        }
    }
    while (len > 0 && isspace((unsigned char)s[len - 1])) {
        len--;
    }
    return len;
}

/* Reports error `e` of sm_project_new for the select of table i (final items). */
static int select_error(loader *ld, size_t i, const sm_error *e)
{
    const sm_pl_table *t = &ld->p->tables[i];
    if (e->code == SM_ERR_NOMEM) {
        return oom(ld);
    }
    size_t k = 0;
    const char *rest = e->msg;
    int at = 0;
    if (sscanf(e->msg, "select item %zu (", &k) == 1 && k >= 1 && k <= t->n_select) {
        char prefix[64];
        int n = snprintf(prefix, sizeof prefix, "select item %zu (`", k);
        size_t tl = strlen(t->select[k - 1].text);
        if (n > 0 && strlen(e->msg) >= (size_t)n + tl + 4 &&
            strncmp(e->msg + n + tl, "`): ", 4) == 0) {
            rest = e->msg + n + tl + 4;
        }
    }
    if (rest == e->msg || k == 0) {
        const sm_cfg_node *tn = sm_cfg_get(sm_cfg_get(ld->root, "tables"), t->name);
        const sm_cfg_node *at_node = sm_cfg_get(tn, "select");
        return fail_at(ld, at_node ? at_node : sm_cfg_get(tn, "casts"), "%s", e->msg);
    }
    const sel_origin *o = ld->rows[i].origin ? &ld->rows[i].origin[k - 1] : NULL;
    if (o && o->cast_column) {
        if (sscanf(rest, "at %d:", &at) == 1) {
            rest = strchr(rest, ':') + 1;
            rest += *rest == ' ';
        }
        const sm_pl_pos *pos = &t->select[k - 1].pos;
        return sm_error_set(ld->err, SM_ERR_USAGE, "%s:%d:%d: table %s, casts.%s: %s", pos->file,
                            pos->line, pos->col, t->name, o->cast_column, rest);
    }
    size_t item = o ? o->item : k - 1;
    const sm_cfg_node *x = o ? o->node : NULL;
    if (!o) {
        const sm_cfg_node *tn = sm_cfg_get(sm_cfg_get(ld->root, "tables"), t->name);
        const sm_cfg_node *sn = sm_cfg_get(tn, "select");
        x = sn && sn->kind == SM_CFG_SEQ && item < sn->count ? sn->items[item] : sn;
    }
    if (sscanf(rest, "at %d:", &at) != 1) {
        at = 0;
    }
    sm_pl_pos pos = expr_pos(&t->select[k - 1].pos, x, t->select[k - 1].text, at);
    return sm_error_set(ld->err, SM_ERR_USAGE, "%s:%d:%d: table %s, select item %zu: %s", pos.file,
                        pos.line, pos.col, t->name, item + 1, rest);
}

/* Checks a type of casts: (whitelisted characters, then CAST(NULL AS type) must compile). */
static int check_cast_type(loader *ld, const sm_cfg_node *v, const sm_field *in)
{
    char text[160];
    bool ok = v->len < 100 && strspn(v->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_(), ") == v->len;
    sm_expr *e = NULL;
    sm_error ce;
    int kind, prec, scale;
    if (ok) {
        snprintf(text, sizeof text, "CAST(NULL AS %s)", v->str);
        if (sm_expr_compile(text, in, NULL, &e, &ce) != SM_OK) {
            if (ce.code == SM_ERR_NOMEM) {
                return oom(ld);
            }
            ok = false;
        } else {
            ok = sm_expr_cast_target(e, &kind, &prec, &scale);
            sm_expr_destroy(e);
        }
    }
    if (!ok) {
        return fail_at(ld, v,
                       "'%s' is not a type CAST accepts: int, bigint, double, string, date, "
                       "timestamp, boolean or decimal(p,s)",
                       v->str);
    }
    return SM_OK;
}

/* The output column names of select item `text` alone over `in` (a `*` gives every column).
 * *n_out 0 when it does not compile alone (the whole select compiled, so it does). */
static int item_outputs(loader *ld, const sm_field *in, const char *text, sm_project **out)
{
    sm_error e;
    const char *items[] = {text};
    if (sm_project_new(in, items, 1, out, &e) != SM_OK) {
        *out = NULL;
        return e.code == SM_ERR_NOMEM ? oom(ld) : SM_OK;
    }
    return SM_OK;
}

/* printf into the arena; NULL on out of memory. */
static char *arena_printf(sm_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *arena_printf(sm_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? sm_arena_alloc(a, (size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* Appends one final select item (text in the arena) with its origin. */
static int push_item(loader *ld, sm_pl_select *items, sel_origin *origin, size_t *n,
                     const char *text, sm_pl_pos pos, sel_origin o)
{
    if (!text) {
        return oom(ld);
    }
    items[*n] = (sm_pl_select){text, pos};
    origin[*n] = o;
    (*n)++;
    return SM_OK;
}

/* The index of cast column `name` in casts (a map node), or -1. */
static int cast_index(const sm_cfg_node *casts, const char *name)
{
    for (size_t c = 0; casts && c < casts->count; c++) {
        if (strcmp(casts->keys[c]->str, name) == 0) {
            return (int)c;
        }
    }
    return -1;
}

/* Folds casts: into t->select (see pipeline.h), checking every cast names an output column. */
static int fold_casts(loader *ld, size_t i, const sm_field *in, const sm_cfg_node *casts,
                      const sm_cfg_node *sel)
{
    sm_pl_table *t = &ld->p->tables[i];
    size_t cap = (size_t)in->n_children + casts->count;
    bool *used = sm_arena_calloc(ld->arena, casts->count * sizeof *used);
    int rc;
    for (size_t c = 0; c < casts->count; c++) {
        if ((rc = check_cast_type(ld, casts->items[c], in)) != SM_OK) {
            return rc;
        }
    }
    /* the items as they are (a table without select: every input column) */
    size_t n_src = t->n_select ? t->n_select : (size_t)in->n_children;
    cap += n_src * (size_t)(in->n_children + 1);
    sm_pl_select *items = sm_arena_calloc(ld->arena, cap * sizeof *items);
    sel_origin *origin = sm_arena_calloc(ld->arena, cap * sizeof *origin);
    if (!used || !items || !origin) {
        return oom(ld);
    }
    size_t n = 0;
    for (size_t k = 0; k < n_src; k++) {
        const char *text = t->n_select ? t->select[k].text : NULL;
        sm_pl_pos pos = t->n_select ? t->select[k].pos : t->pos;
        const sm_cfg_node *node =
            t->n_select ? (sel->kind == SM_CFG_SEQ ? sel->items[k] : sel) : NULL;
        sm_project *one = NULL;
        const sm_field *outs = NULL;
        const char *only = NULL; /* the single output's expression (quoted input column) */
        if (!text) {
            only = quote_name(ld, in->children[k]->name);
            if (!only) {
                return oom(ld);
            }
        } else {
            if ((rc = item_outputs(ld, in, text, &one)) != SM_OK) {
                return rc;
            }
            outs = one ? sm_project_schema(one) : NULL;
        }
        int n_out = text ? (outs ? outs->n_children : 0) : 1;
        bool any = false;
        for (int c = 0; c < n_out; c++) {
            any = any ||
                  cast_index(casts, text ? outs->children[c]->name : in->children[k]->name) >= 0;
        }
        sel_origin o = {k, node, NULL, NULL};
        if (!any) {
            rc = push_item(ld, items, origin, &n, text ? text : only, pos, o);
        } else if (text && (n_out != 1 || strcmp(text + strspn(text, " \t"), "*") == 0 ||
                            strncmp(text + strspn(text, " \t"), "* ", 2) == 0)) {
            /* a `*`: its columns one by one */
            for (int c = 0; c < n_out && rc == SM_OK; c++) {
                const char *name = outs->children[c]->name;
                int ci = cast_index(casts, name);
                const char *q = quote_name(ld, name);
                if (ci < 0) {
                    rc = push_item(ld, items, origin, &n, q, pos, o);
                    continue;
                }
                used[ci] = true;
                const sm_cfg_node *v = casts->items[ci];
                char *x = q ? arena_printf(ld->arena, "CAST(%s AS %s) AS %s", q, v->str, q) : NULL;
                rc = push_item(ld, items, origin, &n, x, (sm_pl_pos){v->file, v->line, v->col},
                               (sel_origin){k, node, name, v});
            }
        } else {
            const char *name = text ? outs->children[0]->name : in->children[k]->name;
            int ci = cast_index(casts, name);
            const sm_cfg_node *v = casts->items[ci];
            used[ci] = true;
            const char *expr = only;
            if (text) {
                int ic = sm_project_input_column(one, 0);
                expr = ic >= 0 ? quote_name(ld, in->children[ic]->name)
                               : sm_arena_strndup(ld->arena, text, item_expr_len(text));
            }
            const char *q = quote_name(ld, name);
            char *x =
                expr && q ? arena_printf(ld->arena, "CAST(%s AS %s) AS %s", expr, v->str, q) : NULL;
            rc = push_item(ld, items, origin, &n, x, (sm_pl_pos){v->file, v->line, v->col},
                           (sel_origin){k, node, name, v});
        }
        sm_project_free(one);
        if (rc != SM_OK) {
            return rc;
        }
    }
    for (size_t c = 0; c < casts->count; c++) {
        if (!used[c]) {
            const sm_cfg_node *k = casts->keys[c];
            const char **names = sm_arena_calloc(ld->arena, (n + 1) * sizeof *names);
            const char *near = NULL;
            sm_project *all = NULL;
            if (names) {
                const char **texts = sm_arena_calloc(ld->arena, (n + 1) * sizeof *texts);
                for (size_t j = 0; texts && j < n; j++) {
                    texts[j] = items[j].text;
                }
                sm_error e;
                if (texts && sm_project_new(in, texts, n, &all, &e) == SM_OK) {
                    const sm_field *f = sm_project_schema(all);
                    for (int j = 0; j < f->n_children; j++) {
                        names[j] = f->children[j]->name;
                    }
                    near = sm_nearest(k->str, names);
                }
            }
            char hint[PL_NAME_MAX + 32] = "";
            if (near) {
                snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
            }
            sm_project_free(all);
            return fail_at(ld, k, "'%s' is not a column of the table's select%s", k->str, hint);
        }
    }
    t->select = items;
    t->n_select = n;
    ld->rows[i].origin = origin;
    return SM_OK;
}

/*
 * The rows of silver table i (pipeline.h "Schemas"): its select compiled against its input
 * (casts: folded in first), without a column named _processing_timestamp, then
 * _processing_timestamp. The fields are copied into the pipeline's arena (one level: nested
 * fields are the input's own), so the projection is freed here. Errors point into the file.
 */
static int rows_schema(loader *ld, size_t i, const sm_field **out)
{
    sm_pipeline *p = ld->p;
    sm_pl_table *t = &p->tables[i];
    table_rows *r;
    if (!ld->rows && !(ld->rows = sm_arena_calloc(ld->arena, p->n_tables * sizeof *ld->rows))) {
        return oom(ld);
    }
    r = &ld->rows[i];
    if (r->rows) {
        *out = r->rows;
        return SM_OK;
    }
    const sm_field *in = NULL;
    int rc = input_schema(ld, t, &in);
    if (rc != SM_OK) {
        return rc;
    }
    const sm_cfg_node *tn = sm_cfg_get(sm_cfg_get(ld->root, "tables"), t->name);
    const sm_cfg_node *casts = sm_cfg_get(tn, "casts"), *sel = sm_cfg_get(tn, "select");
    const char **texts = sm_arena_calloc(ld->arena, (t->n_select + 1) * sizeof *texts);
    sm_project *pj = NULL;
    sm_error e;
    if (!texts) {
        return oom(ld);
    }
    for (size_t k = 0; k < t->n_select; k++) {
        texts[k] = t->select[k].text;
    }
    if (sm_project_new(in, texts, t->n_select, &pj, &e) != SM_OK) {
        return select_error(ld, i, &e);
    }
    if (casts && !r->busy) {
        r->busy = true;
        sm_project_free(pj);
        pj = NULL;
        if ((rc = fold_casts(ld, i, in, casts, sel)) != SM_OK) {
            return rc;
        }
        texts = sm_arena_calloc(ld->arena, (t->n_select + 1) * sizeof *texts);
        for (size_t k = 0; texts && k < t->n_select; k++) {
            texts[k] = t->select[k].text;
        }
        if (!texts) {
            return oom(ld);
        }
        if (sm_project_new(in, texts, t->n_select, &pj, &e) != SM_OK) {
            return select_error(ld, i, &e);
        }
    }
    const sm_field *s = sm_project_schema(pj);
    sm_field **kids = sm_arena_calloc(ld->arena, (size_t)(s->n_children + 1) * sizeof *kids);
    int n = 0;
    for (int k = 0; kids && k < s->n_children; k++) {
        if (strcmp(s->children[k]->name, processing_col.name) == 0) {
            continue;
        }
        sm_field *f = sm_arena_alloc(ld->arena, sizeof *f);
        if (!f || !(kids[n] = f)) {
            kids = NULL;
            break;
        }
        *f = *s->children[k];
        if (!(f->name = sm_arena_strdup(ld->arena, s->children[k]->name))) {
            kids = NULL;
        }
        n++;
    }
    sm_project_free(pj);
    sm_field *st = NULL;
    if (!kids ||
        !(kids[n] = sm_field_new(ld->arena, processing_col.name, SM_TIMESTAMP_US, false)) ||
        !(st = sm_field_struct(ld->arena, t->name, kids, n + 1, false))) {
        return oom(ld);
    }
    r->rows = st;
    *out = st;
    return SM_OK;
}

/* `name` among the columns of `schema` (exactly: keys name columns as they are). */
static const sm_field *schema_column(const sm_field *schema, const char *name)
{
    for (int k = 0; k < schema->n_children; k++) {
        if (strcmp(schema->children[k]->name, name) == 0) {
            return schema->children[k];
        }
    }
    return NULL;
}

/*
 * Checks that `name` is a column a key of table i may name: of its rows (rows) or of its input.
 * Without any select in the pipeline, the columns are the .avsc's and the metadata columns (+
 * _processing_timestamp when `processing`), as check_column says.
 */
static int check_table_column(loader *ld, const sm_cfg_node *at, size_t i, bool rows,
                              const char *name, bool processing, bool need_ts, const char *what)
{
    const sm_pl_table *t = &ld->p->tables[i];
    const sm_field *schema = NULL;
    if (!ld->any_select) {
        return check_column(ld, at, name, processing, need_ts, what);
    }
    int rc = rows ? rows_schema(ld, i, &schema) : input_schema(ld, t, &schema);
    if (rc != SM_OK) {
        return rc;
    }
    const sm_field *f = schema_column(schema, name);
    if (!f) {
        const char **names =
            sm_arena_calloc(ld->arena, (size_t)(schema->n_children + 1) * sizeof *names);
        for (int k = 0; names && k < schema->n_children; k++) {
            names[k] = schema->children[k]->name;
        }
        const char *near = names ? sm_nearest(name, names) : NULL;
        char hint[PL_NAME_MAX + 32] = "";
        if (near) {
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        }
        return fail_at(ld, at, "'%s' is not a column of the %s of table %s%s", name,
                       rows ? "rows (select output and _processing_timestamp)" : "input", t->name,
                       hint);
    }
    if (need_ts && f->type != SM_TIMESTAMP_US && f->type != SM_TIMESTAMP_MS) {
        return fail_at(ld, at, "'%s' is a %s column of table %s, not a timestamp: %s needs one",
                       name, sm_type_name(f->type), t->name, what);
    }
    return SM_OK;
}

/* A quarantine or late table name of table i: a name of its own, as check_tables wants. */
static int check_side_table(loader *ld, size_t i, const char *name, const char *what,
                            const char *dead)
{
    sm_pipeline *p = ld->p;
    const sm_cfg_node *q =
        sm_cfg_get(sm_cfg_get(sm_cfg_get(ld->root, "tables"), p->tables[i].name), what);
    if (!is_identifier(name) || strlen(name) > PL_NAME_MAX) {
        return fail_at(ld, q, "'%s' is not a table name (letters, digits and _)", name);
    }
    if (table_index(p, name) >= 0 || strcmp(name, dead) == 0) {
        return fail_at(ld, q,
                       "'%s' is already a table of this pipeline: a %s table needs a name of its "
                       "own",
                       name, what);
    }
    /* the names checked before this one: quarantine then late, table by table */
    bool late = strcmp(what, "late") == 0;
    for (size_t k = 0; k <= i; k++) {
        const sm_pl_table *o = &p->tables[k];
        if ((k < i || late) && o->quarantine && strcmp(o->quarantine, name) == 0) {
            return fail_at(ld, q, "'%s' is already the quarantine table of '%s'", name, o->name);
        }
        if (k < i && o->late && strcmp(o->late, name) == 0) {
            return fail_at(ld, q, "'%s' is already the late table of '%s'", name, o->name);
        }
    }
    return SM_OK;
}

/*
 * Where in the file position `at` (1-based) of the expression of scalar `x` is: exact for a
 * one-line plain or quoted scalar without escapes; else the scalar's own position (the message
 * keeps "at N" either way). A block scalar (| or >) on one line is counted as quoted, which is
 * off by the indicator: core/config.h does not tell quotes from block indicators.
 */
static sm_pl_pos expr_pos(const sm_pl_pos *node, const sm_cfg_node *x, const char *text, int at)
{
    sm_pl_pos pos = *node;
    if (at < 1 || strchr(text, '\n')) {
        return pos;
    }
    if (!x || !x->quoted) {
        pos.col += at - 1;
    } else if (!strpbrk(text, "\\'\"")) {
        pos.col += at;
    }
    return pos;
}

/* A result type as the expression language names it (docs/expressions.md). */
static const char *expr_type_name(sm_type t)
{
    switch (t) {
    case SM_INT64:
        return "int";
    case SM_DOUBLE:
        return "double";
    case SM_STRING:
        return "string";
    case SM_DATE:
        return "date";
    case SM_TIMESTAMP_US:
        return "timestamp";
    default:
        return sm_type_name(t);
    }
}

/*
 * The argument of an aggregate "sum(<x>)" or "avg(<x>)" (the whole text, any case, blanks
 * around): its offset in `text` and its length; false for anything else. Only these are checked
 * at load for now: count(*) has nothing to check, and the rest of the grammar of aggregates
 * (min, max, count(x), expressions over aggregates) belongs to the gold issue, which will
 * compile them whole.
 */
static bool numeric_aggregate_arg(const char *text, size_t *off, size_t *len)
{
    size_t b = strspn(text, " \t"), e = strlen(text);
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) {
        e--;
    }
    if (e - b < 5 ||
        (strncasecmp(text + b, "sum", 3) != 0 && strncasecmp(text + b, "avg", 3) != 0)) {
        return false;
    }
    size_t o = b + 3 + strspn(text + b + 3, " \t");
    if (o >= e || text[o] != '(' || text[e - 1] != ')') {
        return false;
    }
    /* the last ')' must close the first '(' (a quoted parenthesis may fool this; the compiler
     * then reports the argument's error, which is still an error of the aggregate) */
    int depth = 0;
    for (size_t i = o; i < e; i++) {
        depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
        if (depth == 0 && i + 1 < e) {
            return false;
        }
    }
    *off = o + 1;
    *len = e - 1 - (o + 1);
    return true;
}

/* Compiles `text` against `schema` and checks its result is a boolean (want_bool) or a number.
 * SM_ERR_USAGE with `msg` and *at (1-based in text, 0 when not known) when not. */
static int compile_check(loader *ld, const char *text, const sm_field *schema, bool want_bool,
                         char *msg, size_t msg_len, int *at)
{
    sm_expr *e = NULL;
    sm_error ce;
    *at = 0;
    if (sm_expr_compile(text, schema, NULL, &e, &ce) != SM_OK) {
        if (ce.code == SM_ERR_NOMEM) {
            return oom(ld);
        }
        snprintf(msg, msg_len, "%s", ce.msg);
        if (sscanf(ce.msg, "at %d:", at) != 1) {
            *at = 0;
        }
        return SM_ERR_USAGE;
    }
    sm_type type = sm_expr_result(e)->type;
    sm_expr_destroy(e);
    if (want_bool ? type == SM_BOOL : (type == SM_INT64 || type == SM_DOUBLE)) {
        return SM_OK;
    }
    snprintf(msg, msg_len, "the expression is %s, not a %s", expr_type_name(type),
             want_bool ? "boolean" : "number");
    return SM_ERR_USAGE;
}

/*
 * Compiles every expectation of every table against its rows (silver) or input (gold), and the
 * argument of sum()/avg() aggregates against the input: unknown columns and functions, type errors
 * and rules that are not boolean are found when the pipeline loads, not at the first batch. Errors
 * point at the character of the file where the compiler stopped when expr_pos can tell.
 */
static int check_expressions(loader *ld)
{
    sm_pipeline *p = ld->p;
    sm_cfg_node *tables = sm_cfg_get(ld->root, "tables");
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_pl_table *t = &p->tables[i];
        const sm_field *schema = NULL;
        const sm_cfg_node *rules = sm_cfg_get(tables->items[i], "expectations");
        const sm_cfg_node *aggs = sm_cfg_get(tables->items[i], "aggregates");
        char msg[SM_ERROR_MSG_MAX];
        int at = 0;
        if ((t->n_expectations == 0 && t->n_aggregates == 0) || t->from_index < 0) {
            continue; /* bronze tables have neither (check_tables refuses them) */
        }
        /* a silver table's rules see its rows (DLT checks a table's output); aggregates the
         * input */
        int rc = t->layer == SM_PL_SILVER && !reads_gold(p, t) ? rows_schema(ld, i, &schema)
                                                               : input_schema(ld, t, &schema);
        if (rc != SM_OK) {
            return rc;
        }
        for (size_t k = 0; k < t->n_expectations; k++) {
            const sm_pl_expectation *r = &t->expectations[k];
            const sm_cfg_node *v = rules && k < rules->count ? rules->items[k] : NULL;
            const sm_cfg_node *x = v && v->kind == SM_CFG_MAP ? sm_cfg_get(v, "expr") : v;
            if ((rc = compile_check(ld, r->expr, schema, true, msg, sizeof msg, &at)) == SM_OK) {
                continue;
            }
            if (rc != SM_ERR_USAGE) {
                return rc;
            }
            sm_pl_pos pos = expr_pos(&r->pos, x, r->expr, at);
            return sm_error_set(ld->err, SM_ERR_USAGE, "%s:%d:%d: table %s, rule %s: %s", pos.file,
                                pos.line, pos.col, t->name, r->name, msg);
        }
        for (size_t k = 0; k < t->n_aggregates; k++) {
            const sm_pl_aggregate *g = &t->aggregates[k];
            const sm_cfg_node *x = aggs && k < aggs->count ? aggs->items[k] : NULL;
            size_t off, len;
            char *arg;
            if (!numeric_aggregate_arg(g->expr, &off, &len)) {
                continue;
            }
            if (!(arg = sm_arena_strndup(ld->arena, g->expr + off, len))) {
                return oom(ld);
            }
            if ((rc = compile_check(ld, arg, schema, false, msg, sizeof msg, &at)) == SM_OK) {
                continue;
            }
            if (rc != SM_ERR_USAGE) {
                return rc;
            }
            sm_pl_pos pos = expr_pos(&g->pos, x, g->expr, at ? at + (int)off : 0);
            return sm_error_set(ld->err, SM_ERR_USAGE, "%s:%d:%d: table %s, aggregate %s: %s",
                                pos.file, pos.line, pos.col, t->name, g->name, msg);
        }
    }
    return SM_OK;
}

static int check_and_derive(loader *ld)
{
    sm_pipeline *p = ld->p;
    int rc;
    if (!is_pipeline_name(p->name)) {
        return fail_at(ld, node_at(ld->root, "pipeline"),
                       "'%s' is not a pipeline name: letters, digits, '_', '-' and '.', starting "
                       "with a letter or digit, at most %d",
                       p->name, PL_NAME_MAX);
    }
    p->source.schema_path = join_path(ld, ld->dir, p->source.schema);
    if (!p->source.schema_path) {
        return oom(ld);
    }
    if ((rc = load_schema(ld, node_at(ld->root, "source.schema"))) != SM_OK ||
        (rc = check_source(ld)) != SM_OK) {
        return rc;
    }
    if (p->watermark.column) {
        rc = check_column(ld, node_at(ld->root, "watermark.column"), p->watermark.column, false,
                          true, "the watermark");
        if (rc != SM_OK) {
            return rc;
        }
    }
    if ((rc = check_tables(ld)) != SM_OK || (rc = check_expressions(ld)) != SM_OK) {
        return rc;
    }

    char buf[PL_NAME_MAX + 64];
    if (!p->source.kafka.group_id) {
        snprintf(buf, sizeof buf, "smelter-%s", p->name);
        p->source.kafka.group_id = sm_arena_strdup(ld->arena, buf);
    }
    if (p->source.kafka.consumer_threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        p->source.kafka.consumer_threads = cores > 0 ? cores : 1;
    }
    snprintf(buf, sizeof buf, "%s_dead_letter", p->name);
    p->dead_letter_table = sm_arena_strdup(ld->arena, buf);
    if (!p->checkpoint.location) {
        snprintf(buf, sizeof buf, "_checkpoints/%s", p->name);
        p->checkpoint.location = join_path(ld, p->lake, buf);
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        sm_pl_table *t = &p->tables[i];
        snprintf(buf, sizeof buf, "%s/%s", sm_pl_layer_name(t->layer), t->name);
        t->path = join_path(ld, p->lake, buf);
        if (!t->path) {
            return oom(ld);
        }
    }
    if (!p->source.kafka.group_id || !p->dead_letter_table || !p->checkpoint.location) {
        return oom(ld);
    }
    return SM_OK;
}

/* --- effective configuration and hash -------------------------------------------------------- */

/* "256MB", "1000B": the size as a user writes it, exactly. */
static void format_size(uint64_t v, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    size_t u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, "%llu%s", (unsigned long long)v, units[u]);
}

/* "5s", "10m", "250ms", "0s". */
static void format_duration(int64_t ms, char *buf, size_t n)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    if (ms == 0) {
        snprintf(buf, n, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(buf, n, "%lldms", (long long)ms);
}

/* The i-th choice of "a|b|c" as a JSON string. */
static json_t *choice_json(const char *choices, int i)
{
    const char *p = choices;
    for (int k = 0; k < i && p; k++) {
        p = strchr(p, '|');
        p = p ? p + 1 : NULL;
    }
    if (!p || i < 0) {
        return json_null();
    }
    return json_stringn(p, strcspn(p, "|"));
}

static json_t *value_json(const pl_opt *o, const void *conf)
{
    const char *field = (const char *)conf + o->o.offset;
    char buf[64];
    switch (o->o.type) {
    case SM_OPT_BOOL:
        return json_boolean(*(const bool *)field);
    case SM_OPT_INT:
        return json_integer(*(const int64_t *)field);
    case SM_OPT_DOUBLE:
        return json_real(*(const double *)field);
    case SM_OPT_STRING: {
        const char *s = *(const char *const *)field;
        return s ? json_string(s) : json_null();
    }
    case SM_OPT_SIZE:
        format_size(*(const uint64_t *)field, buf, sizeof buf);
        return json_string(buf);
    case SM_OPT_DURATION:
        format_duration(*(const int64_t *)field, buf, sizeof buf);
        return json_string(buf);
    case SM_OPT_ENUM:
        return choice_json(o->o.choices, *(const int *)field);
    case SM_OPT_LIST: {
        const sm_strlist *l = (const sm_strlist *)field;
        json_t *a = json_array();
        for (size_t i = 0; a && i < l->count; i++) {
            json_array_append_new(a, json_string(l->items[i]));
        }
        return a;
    }
    case SM_OPT_MAP: {
        const sm_strmap *m = (const sm_strmap *)field;
        json_t *obj = json_object();
        for (size_t i = 0; obj && i < m->count; i++) {
            json_object_set_new(obj, m->keys[i], json_string(m->values[i]));
        }
        return obj;
    }
    }
    return json_null();
}

/* Replaces the values of keys that hold credentials (sasl.password, ssl.key.password,
 * sasl.oauthbearer.client.secret, ...) by "***": effective configurations get printed. */
static void mask_secrets(json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.jaas") ||
            strstr(key, ".pem") || strstr(key, "token")) {
            json_object_set_new(obj, key, json_string("***"));
        }
    }
}

/* Sets obj.<dotted path> = v, making the objects on the way (takes v). */
static void set_path(json_t *obj, const char *path, json_t *v)
{
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        char key[PL_PATH_MAX];
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        json_t *next = json_object_get(obj, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(obj, key, next);
        }
        obj = next;
        path = dot + 1;
    }
    json_object_set_new(obj, path, v);
}

/* Adds the VALUE entries of `scope` below `prefix` (stripped from names) to obj. In hash mode,
 * entries outside the hash and values equal to their default are left out. */
static void add_values(json_t *obj, int scope, const char *prefix, const void *conf,
                       const void *defaults, bool for_hash)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *o = &pl_opts[i];
        if (o->kind != K_VALUE || o->scope != scope || (for_hash && (o->flags & F_NOHASH))) {
            continue;
        }
        json_t *v;
        if (o->hook == hook_casts) {
            continue; /* folded into select at load */
        }
        if (o->hook == hook_select) {
            const sm_pl_table *t = conf;
            if (t->n_select == 0) {
                continue;
            }
            v = json_array();
            for (size_t k = 0; v && k < t->n_select; k++) {
                json_array_append_new(v, json_string(t->select[k].text));
            }
        } else if (o->hook == hook_aggregates) {
            const sm_pl_table *t = conf;
            v = json_object();
            for (size_t k = 0; v && k < t->n_aggregates; k++) {
                json_object_set_new(v, t->aggregates[k].name, json_string(t->aggregates[k].expr));
            }
            if (t->n_aggregates == 0) {
                json_decref(v);
                continue;
            }
        } else if (!for_hash && scope == S_TABLE &&
                   o->o.offset == offsetof(sm_pl_table, output_mode) &&
                   ((const sm_pl_table *)conf)->n_aggregates == 0) {
            continue; /* output_mode of a table that does not aggregate says nothing */
        } else {
            v = value_json(o, conf);
            if (!for_hash && scope == S_TABLE &&
                (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
                 (json_is_string(v) && strcmp(json_string_value(v), "0s") == 0))) {
                json_decref(v); /* a table shows what it uses, not every key it could have */
                continue;
            }
            if (!for_hash && o->o.type == SM_OPT_MAP) {
                mask_secrets(v);
            }
            json_t *d = for_hash ? value_json(o, defaults) : NULL;
            bool same = d && json_equal(v, d);
            json_decref(d);
            if (same) {
                json_decref(v);
                continue;
            }
        }
        set_path(obj, o->o.name + plen, v);
    }
}

static json_t *table_json(const sm_pl_table *t, const sm_pl_table *defaults, bool for_hash)
{
    json_t *obj = json_object();
    if (!obj) {
        return NULL;
    }
    add_values(obj, S_TABLE, "tables.<name>.", t, defaults, for_hash);
    if (t->n_expectations) {
        json_t *ex = json_object();
        for (size_t k = 0; ex && k < t->n_expectations; k++) {
            const sm_pl_expectation *e = &t->expectations[k];
            json_object_set_new(ex, e->name,
                                json_pack("{s:s, s:s}", "expr", e->expr, "on_violation",
                                          sm_pl_violation_name(e->on_violation)));
        }
        json_object_set_new(obj, "expectations", ex);
    }
    if (!for_hash) {
        json_object_set_new(obj, "path", json_string(t->path));
    }
    return obj;
}

static int cmp_table_name(const void *a, const void *b)
{
    return strcmp((*(const sm_pl_table *const *)a)->name, (*(const sm_pl_table *const *)b)->name);
}

/* The configuration as JSON: everything (effective) or the hashed part (for_hash). */
static json_t *pipeline_json(const sm_pipeline *p, const char *schema_canonical, bool for_hash)
{
    sm_pipeline dp;
    sm_pl_table dt;
    loader dl = {0};
    sm_error e;
    memset(&dp, 0, sizeof dp);
    memset(&dt, 0, sizeof dt);
    dl.err = &e;
    if (apply_defaults(&dl, S_PIPELINE, &dp) != SM_OK || apply_defaults(&dl, S_TABLE, &dt)) {
        return NULL;
    }
    json_t *root = json_object();
    if (!root) {
        return NULL;
    }
    if (for_hash) {
        json_object_set_new(root, "smelter_config_hash", json_integer(1)); /* version of this */
    }
    add_values(root, S_PIPELINE, "", p, &dp, for_hash);
    if (for_hash && schema_canonical) {
        set_path(root, "source.schema_content", json_string(schema_canonical));
    }
    if (!for_hash) {
        set_path(root, "source.schema_path", json_string(p->source.schema_path));
        set_path(root, "dead_letter_table", json_string(p->dead_letter_table));
        if (p->env) {
            set_path(root, "environment", json_string(p->env));
        }
    }
    /* tables: file order for people, name order for the hash (reordering changes nothing) */
    const sm_pl_table **order = calloc(p->n_tables ? p->n_tables : 1, sizeof *order);
    json_t *tables = json_object();
    if (!order || !tables) {
        free(order);
        json_decref(tables);
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        order[i] = &p->tables[i];
    }
    if (for_hash) {
        qsort(order, p->n_tables, sizeof *order, cmp_table_name);
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        json_object_set_new(tables, order[i]->name, table_json(order[i], &dt, for_hash));
    }
    free(order);
    json_object_set_new(root, "tables", tables);
    return root;
}

static int compute_hash(loader *ld)
{
    json_t *j = pipeline_json(ld->p, ld->schema_canonical, true);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        return oom(ld);
    }
    ld->p->config_hash = fnv1a64(text, strlen(text));
    free(text);
    snprintf(ld->p->config_hash_hex, sizeof ld->p->config_hash_hex, "%016llx",
             (unsigned long long)ld->p->config_hash);
    return SM_OK;
}

uint64_t sm_pipeline_config_hash(const sm_pipeline *p)
{
    return p ? p->config_hash : 0;
}

char *sm_pipeline_effective_json(const sm_pipeline *p)
{
    json_t *j = pipeline_json(p, NULL, false);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    return text;
}

/* --- loading --------------------------------------------------------------------------------- */

static int load(const char *file, const char *text, size_t len, const char *env_name,
                sm_arena *arena, sm_pipeline **out, sm_error *err)
{
    sm_arena *own = NULL;
    sm_pipeline *p = NULL;
    sm_cfg_node *root = NULL;
    loader ld = {0};
    bool seen[PL_MAX_OPTS] = {0};
    int rc;

    *out = NULL;
    if (!arena) {
        own = arena = sm_arena_create(0, 0);
        if (!own) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory while loading", file);
        }
    }
    p = sm_arena_calloc(arena, sizeof *p);
    ld = (loader){.arena = arena, .err = err, .p = p};
    if (!p || !(p->file = sm_arena_strdup(arena, file)) ||
        (env_name && *env_name && !(p->env = sm_arena_strdup(arena, env_name)))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory while loading", file);
        goto fail;
    }
    const char *slash = strrchr(file, '/');
    ld.dir =
        slash ? (slash == file ? "/" : sm_arena_strndup(arena, file, (size_t)(slash - file))) : ".";
    if (!ld.dir) {
        rc = oom(&ld);
        goto fail;
    }

    sm_cfg_opts copts = {.env_name = env_name};
    rc = text ? sm_cfg_load_string(arena, file, text, len, &copts, &root, err)
              : sm_cfg_load(arena, file, &copts, &root, err);
    if (rc != SM_OK) {
        goto fail;
    }
    ld.root = root;
    if (root->kind != SM_CFG_MAP) {
        rc = sm_cfg_error(err, SM_ERR_USAGE, root,
                          "%s: a pipeline file is a map with pipeline:, source: and tables: "
                          "(see docs/configuration.md)",
                          root->is_null ? "the file is empty" : "expected a map");
        goto fail;
    }
    if ((rc = apply_defaults(&ld, S_PIPELINE, p)) != SM_OK ||
        (rc = walk_map(&ld, root, "", S_PIPELINE, p, seen)) != SM_OK ||
        (rc = check_and_derive(&ld)) != SM_OK || (rc = compute_hash(&ld)) != SM_OK) {
        goto fail;
    }
    free(ld.schema_canonical);
    p->own_arena = own;
    *out = p;
    return SM_OK;

fail:
    free(ld.schema_canonical);
    sm_arena_destroy(own);
    return rc;
}

int sm_pipeline_load(const char *path, const char *env_name, sm_arena *arena, sm_pipeline **out,
                     sm_error *err)
{
    return load(path, NULL, 0, env_name, arena, out, err);
}

int sm_pipeline_load_string(const char *file, const char *text, size_t len, const char *env_name,
                            sm_arena *arena, sm_pipeline **out, sm_error *err)
{
    return load(file, text ? text : "", text ? len : 0, env_name, arena, out, err);
}

void sm_pipeline_free(sm_pipeline *p)
{
    if (p) {
        sm_arena_destroy(p->own_arena);
    }
}

const sm_pl_table *sm_pipeline_table(const sm_pipeline *p, const char *name)
{
    int i = p && name ? table_index(p, name) : -1;
    return i >= 0 ? &p->tables[i] : NULL;
}

/* --- the reference --------------------------------------------------------------------------- */

/* "size, 1KB to 1TB, required" and the like. */
static void type_text(const pl_opt *o, char *buf, size_t n)
{
    const char *req = (o->flags & F_REQUIRED) && (o->flags & F_NOHASH) && o->kind == K_VALUE
                          ? ", required, no hash"
                      : (o->flags & F_REQUIRED)                     ? ", required"
                      : (o->flags & F_NOHASH) && o->kind == K_VALUE ? ", no hash"
                                                                    : "";
    if (o->kind == K_SECTION) {
        snprintf(buf, n, "section%s", req);
    } else if (o->kind == K_NAMED) {
        snprintf(buf, n, "map of names to sections%s", req);
    } else if (o->o.type == SM_OPT_LIST) {
        snprintf(buf, n, "list of strings%s", req);
    } else if (o->o.type == SM_OPT_MAP) {
        snprintf(buf, n, "map of strings%s", req);
    } else {
        char t[256];
        sm_opt_type_text(&o->o, t, sizeof t);
        snprintf(buf, n, "%s%s", t, req);
    }
}

static void print_wrapped(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    bool first = true;
    fprintf(out, "%*s", indent, "");
    while (*text) {
        while (*text == ' ') {
            text++;
        }
        int w = (int)strcspn(text, " ");
        if (w == 0) {
            break;
        }
        if (!first && col + 1 + w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        fwrite(text, 1, (size_t)w, out);
        col += w;
        text += w;
        first = false;
    }
    fputc('\n', out);
}

void sm_pipeline_print_reference(FILE *out)
{
    fputs("Keys of a pipeline file (`smelter validate FILE` checks one; docs/configuration.md "
          "has the details).\n"
          "Sizes: 512KB, 256MB, 1GB. Durations: 250ms, 5s, 10m, 1h, 1d. ${VAR} and "
          "${VAR:-default} are\ntaken from the environment; SMELTER_ENV=<name> applies "
          "environments.<name> over the file.\n\n",
          out);
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *o = &pl_opts[i];
        char t[320];
        type_text(o, t, sizeof t);
        fprintf(out, "  %s  (%s", o->o.name, t);
        if (o->kind == K_VALUE && o->o.def) {
            fprintf(out, "; default %s", o->o.def);
        }
        fputs(")\n", out);
        print_wrapped(out, o->o.help, 6, 100);
    }
}

/* Writes s into a Markdown table cell; outside code spans '<' and '>' are escaped so that
 * "<lake>" is not taken for an HTML tag. */
static void md_cell(FILE *out, const char *s, bool code)
{
    for (; s && *s; s++) {
        if (!code && *s == '<') {
            fputs("&lt;", out);
        } else if (!code && *s == '>') {
            fputs("&gt;", out);
        } else if (*s == '|') {
            fputs("\\|", out);
        } else if (*s == '\n') {
            fputc(' ', out);
        } else {
            fputc(*s, out);
        }
    }
}

static void md_row(FILE *out, const pl_opt *o)
{
    char t[320];
    type_text(o, t, sizeof t);
    fputs("| `", out);
    md_cell(out, o->o.name, true);
    fputs("` | ", out);
    md_cell(out, t, false);
    fputs(" | ", out);
    if (o->kind == K_VALUE && o->o.def) {
        fputc('`', out);
        md_cell(out, o->o.def, true);
        fputc('`', out);
    }
    fputs(" | ", out);
    md_cell(out, o->o.help, false);
    fputs(" |\n", out);
}

static const char md_intro[] =
    "A pipeline is one YAML file: the Kafka source, the trigger, the watermark and the bronze, "
    "silver\nand gold tables (DESIGN.md \"The pipeline file\"). `schemas/examples/ecommerce.yaml` "
    "is a complete\nexample. `smelter validate FILE [--env NAME]` checks a file without running "
    "it; `smelter help\nconfig` prints this list in the terminal.\n"
    "\n"
    "## The file\n"
    "\n"
    "- **Block or flow style**, as YAML allows: `topics: [orders]` and a list under `topics:` "
    "are the same.\n"
    "  Values keep the text as written and are typed by the key: `on_violation: no` is an "
    "error, not a\n"
    "  boolean. Anchors, aliases, merge keys (`<<`), custom tags and several documents in one "
    "file are\n"
    "  refused; a key given twice in one map is an error naming both lines.\n"
    "  Inside `[...]` and `{...}`, quote values that hold `${...}` (`topics: [\"${TOPIC}\"]`): "
    "YAML ends a\n"
    "  plain value there at `{` and `}`.\n"
    "- **Environment variables** in any value: `${VAR}` (an error naming the file, line and "
    "variable when\n"
    "  VAR is not set), `${VAR:-default}` (default when VAR is unset or empty), "
    "`${VAR-default}` (only when\n"
    "  unset), `${VAR:?message}` (an error with the message when unset or empty). `$${` is a "
    "literal `${`.\n"
    "- **Environments**: `SMELTER_ENV=prod` (or `--env prod`) deep-merges `environments.prod` "
    "over the\n"
    "  file: maps merge key by key, values and lists replace. An unknown name is an error "
    "listing the\n"
    "  known ones. Variables are read after the overlay, so an environment that is not used "
    "may name\n"
    "  variables that are not set.\n"
    "- **Sizes** are written `512KB`, `256MB`, `1GB`, `64KiB` (K, M, G, T are powers of 1024, "
    "as Spark\n"
    "  reads them); **durations** `250ms`, `5s`, `10m`, `1h`, `1d`, `1h30m`, `10 seconds`; a "
    "bare number\n"
    "  is seconds.\n"
    "- **Errors** name the file, line, column and key, and for a misspelled key the nearest "
    "known one:\n"
    "  `pipeline.yaml:12:3: unknown key 'max_byte_per_trigger' in trigger; did you mean\n"
    "  'max_bytes_per_trigger'?`. `smelter validate` exits 2 on any of them.\n"
    "- **Paths**: `source.schema` is relative to the pipeline file's directory; `lake` and\n"
    "  `checkpoint.location` to the working directory.\n"
    "- **Tables** are a map in the order written. A table is bronze when it reads the source "
    "(no\n"
    "  `from:`), and every other table names the table it reads in `from:`. The layer is "
    "taken from\n"
    "  `layer:`, else from the name's prefix (`bronze_`, `silver_`, `gold_`), else from the "
    "shape.\n"
    "  Bronze rows carry the metadata columns `_ingestion_timestamp`, `_ingestion_date`, "
    "`_batch_id`,\n"
    "  `_source_system`, `_kafka_partition`, `_kafka_offset`, `_kafka_timestamp`, "
    "`_kafka_key`; silver\n"
    "  adds `_processing_timestamp`. Records that cannot be decoded go to the table\n"
    "  `<pipeline>_dead_letter`. Column names in `watermark`, `dedup`, `window`, `group_by` "
    "and\n"
    "  `partition_by` are checked against the schema. A silver table's `select` (with `casts` "
    "folded\n"
    "  in) decides its columns: its expectations, `dedup` keys and `partition_by` name columns "
    "of the\n"
    "  select's output (plus `_processing_timestamp`), and a table reading it sees those "
    "columns\n"
    "  (docs/silver.md).\n"
    "- **The configuration hash** (recorded in the checkpoint) covers what decides the "
    "contents of the\n"
    "  tables: the topics, the format, the schema file's content, the watermark and the table\n"
    "  definitions. Connection settings, librdkafka options, starting offsets, triggers and "
    "limits,\n"
    "  thread counts, paths and retention may change between runs, as Spark allows; keys left "
    "at their\n"
    "  default count as absent. Keys marked *no hash* below are outside it (`source.schema` "
    "is, by its\n  content).\n"
    "- **Trigger default**: a batch every 5 s. Spark's default trigger starts the next batch "
    "as soon as\n"
    "  the previous one ends; write `interval: 0s` for that. smelter picks 5 s so that an idle "
    "pipeline\n"
    "  does not spin and small batches do not make many small files.\n";

void sm_pipeline_print_markdown(FILE *out)
{
    fputs("# Pipeline file reference\n\n"
          "Generated by `smelter help --config-markdown` from the option table in "
          "stream/pipeline.c; do not\nedit by hand (tests/stream/test_pipeline.c checks that "
          "this file is current).\n\n",
          out);
    fputs(md_intro, out);
    /* one section per top-level group: the top-level values, then each top-level section */
    fputs("\n## Top level\n\n| key | type | default | description |\n| --- | --- | --- | --- "
          "|\n",
          out);
    for (size_t i = 0; i < N_OPTS; i++) {
        if (!strchr(pl_opts[i].o.name, '.')) {
            md_row(out, &pl_opts[i]);
        }
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const pl_opt *s = &pl_opts[i];
        if (s->kind == K_VALUE || strchr(s->o.name, '.')) {
            continue;
        }
        fprintf(out, "\n## `%s`\n\n", s->o.name);
        md_cell(out, s->o.help, false);
        fputs(".\n\n| key | type | default | description |\n| --- | --- | --- | --- |\n", out);
        size_t plen = strlen(s->o.name);
        for (size_t k = 0; k < N_OPTS; k++) {
            const pl_opt *o = &pl_opts[k];
            if (strncmp(o->o.name, s->o.name, plen) == 0 && o->o.name[plen] == '.') {
                md_row(out, o);
            }
        }
    }
}
