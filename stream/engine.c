/*
 * The micro-batch engine (stream/engine.h has the protocol of one batch). This file keeps it:
 * planning ranges from the checkpoint, reading them through the consumer threads straight into
 * per-thread columns, the offsets write-ahead log, one Delta commit per table with
 * txn(query id, N), the commit log, then group offsets and retention.
 *
 * DESIGN (exactly once). Nothing is written to a table before offsets/N is durable, and the rows
 * of batch N are a pure function of offsets/N (its ranges and its batch timestamp) and the
 * configuration whose hash it records: so a re-run after a crash makes the same rows, and the
 * txn action in each table's log tells whether that table already has them. A table's files are
 * written under fresh names and only become part of the table through its one commit; files of a
 * batch that crashed before its commit are orphans that vacuum removes, never rows.
 *
 * Threads. The engine's thread plans, writes the checkpoint and commits. During the read the
 * consumer threads call on_message with their own tctx: each has its own arena, JSON decoder and
 * chunk lists, so decoding needs no lock. The data files of a table are then written by one
 * worker per consumer thread, each from its own thread's chunks (one file per chunk).
 *
 * Memory (DESIGN.md contract 4). A thread's rows live in its arena, bounded by its share of the
 * batch's byte limit (times two for column growth) plus slack; when the arena refuses to grow
 * the message at hand is handed back (the range ends before it) and the batch closes there:
 * backpressure, never unbounded buffering. Arenas are reset after each batch; nothing is
 * malloc'ed per record.
 */
#include "stream/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "checkpoint/checkpoint.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/uuid.h"
#include "ingest/avsc.h"
#include "ingest/consumer.h"
#include "ingest/json_decode.h"
#include "storage/codec.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_writer.h"
#include "stream/bronze.h"
#include "stream/event_log.h"
#include "stream/silver.h"
#include "stream/source.h"

#define COMPONENT        "engine"
#define PARTITION_COLUMN SM_BRONZE_PARTITION_COLUMN
#define ARENA_SLACK      ((size_t)16 << 20)
#define MIN_CHUNK_BYTES  ((int64_t)64 << 10)
#define SLICE_ROWS       65536 /* silver rows per write to a Parquet writer */
#define MAX_JOBS         256   /* threads run_jobs starts at once; more run inline */
#define IDLE_POLL_MS     100   /* interval 0: how often an idle pipeline looks for new records */
#define CRASH_EXIT       137

_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "the consumer's stop flag is an int");

/* Metadata columns of a bronze data file, after the .avsc fields (the partition column
 * _ingestion_date is in the table's schema, not in the files, as Spark writes them). */
enum {
    M_INGESTION_TS = SM_BRONZE_INGESTION_TS,
    M_BATCH_ID = SM_BRONZE_BATCH_ID,
    M_SOURCE = SM_BRONZE_SOURCE,
    M_PARTITION = SM_BRONZE_PARTITION,
    M_OFFSET = SM_BRONZE_OFFSET,
    M_KAFKA_TS = SM_BRONZE_KAFKA_TS,
    M_KEY = SM_BRONZE_KEY,
    META_N = SM_BRONZE_META_N
};

/* Columns of a dead-letter data file (the table adds _ingestion_date). */
enum {
    D_TOPIC = 0,
    D_PARTITION,
    D_OFFSET,
    D_KAFKA_TS,
    D_KEY,
    D_VALUE,
    D_REASON,
    D_ERROR_OFFSET,
    D_BATCH_ID,
    D_INGESTION_TS,
    DEAD_N
};

/* Rows of one table from one consumer thread, written as one data file. */
typedef struct chunk {
    struct chunk *next;
    sm_column *data;         /* bronze: the decoded .avsc struct; dead letter: the file struct */
    sm_column *meta[META_N]; /* bronze only */
    int64_t in_bytes;        /* key + value bytes of its records */
    /* silver, quarantine, late: rows of chunk k of a silver table (stream/silver.h), built a
     * slice at a time while the file is written; data is NULL */
    const sm_silver *silver;
    int k, which;
    int64_t rows;
} chunk;

typedef struct chunk_list {
    chunk *head, *tail;
    int n;
    int64_t rows;
} chunk_list;

/* A consumer thread's context. @thread its consumer thread during a read, the engine's (and one
 * file writer) between reads. */
typedef struct tctx {
    struct sm_engine *e;
    int id;
    sm_arena *arena; /* rows of the batch; bounded by arena_limit */
    size_t arena_limit;
    sm_source_decoder *dec;
    chunk_list bronze, dead;
    chunk_list *derived; /* per derived table slot (silver, quarantine, late) */
    sm_arena *sarena;    /* the silver tables' per-chunk results of the batch; unbounded */
    int first_k;         /* the number of its first bronze chunk in the silver tables */
    pq_share *share;     /* with silver tables: the bronze files' dictionary indices (batch) */
    bool bronze_pending; /* its bronze job is queued or being written (wqueue.mu) */
    int64_t records, bytes;
    int64_t hint_rows; /* rows of the largest chunk of the previous batch: initial capacity */
    /* set by on_message when it hands a message back */
    bool full;
    bool abandon;
    bool fatal;   /* a record that fits nowhere, or the registry cannot be asked: reason */
    int fatal_rc; /* the error code of fatal */
    int32_t full_range;
    int64_t full_offset, full_size;
    char reason[SM_ERROR_MSG_MAX];
} tctx;

enum { T_BRONZE = 0, T_DEAD, T_SILVER, T_QUARANTINE, T_LATE };

/* A table the engine writes. */
typedef struct eng_table {
    const char *name;
    const char *path;
    int kind;              /* T_* */
    int slot;              /* T_SILVER, T_QUARANTINE, T_LATE: its chunk list in tctx.derived */
    sm_silver *silver;     /* T_SILVER (owned); T_QUARANTINE, T_LATE: their silver table's */
    const char *from;      /* T_SILVER: its input; T_QUARANTINE, T_LATE: its silver table */
    const sm_pl_table *pt; /* NULL for the dead-letter and quarantine tables */
    sm_table_totals *tot;  /* T_SILVER: since open */
    bool dead_letter;
    bool partitioned; /* by _ingestion_date */
    const sm_field *table_schema;
    const sm_field *file_schema;
    bool exists;
} eng_table;

typedef struct crash_spec {
    char step[32];
    char table[256]; /* "" = any */
    int64_t batch;   /* -1 = any */
    bool on;
} crash_spec;

typedef struct start_offset {
    const char *topic;
    int32_t partition;
    int64_t offset; /* -2 earliest, -1 latest */
} start_offset;

struct sm_engine {
    const sm_pipeline *p;
    sm_engine_opts opts;
    bool available_now;
    sm_arena *arena; /* schema, fields, strings: lives as long as the engine */
    sm_source *src;
    const sm_field *root; /* the decoded record's columns (sm_source_schema) */
    sm_field *bronze_file, *bronze_table, *dead_file, *dead_table;
    int n_avsc_fields;
    eng_table *tables; /* the bronze tables, then the dead-letter table (last) */
    int n_tables;
    sm_ckpt *ck;
    const char *query_id;
    sm_consumer *cons;
    int n_threads;
    tctx *threads;
    void **ctxs;
    size_t arena_limit;
    sm_arena *plan_arena;  /* the recovery plan (its committed offsets stay referenced) */
    sm_arena *batch_arena; /* per batch: ranges, checkpoint entries; unbounded */
    crash_spec crash;
    start_offset *starts; /* starting_offsets as JSON */
    int n_starts;

    /* progress */
    int64_t next_batch;
    const sm_ckpt_offsets *rerun;     /* offsets/next_batch to re-run, or NULL */
    const sm_ckpt_offsets *committed; /* offsets of the last committed batch, or NULL */
    bool has_history;                 /* a batch was recorded before: new partitions start early */
    int n_known;                      /* partition indices whose ends[] / targets[] are set */
    int64_t *ends;                    /* per partition index: where the next batch starts; -1 */
    int64_t *targets;                 /* available_now: the high watermark at the first batch */
    bool targets_set;
    double ratio;            /* Parquet bytes per input byte, learnt from the files written */
    double avg_record_bytes; /* key + value bytes per record, learnt from the batches read */

    /* the batch being run (read-only for the consumer threads while they run) */
    int64_t batch_id;
    int64_t batch_ts_ms;
    int64_t batch_ts_us;
    char date[16]; /* YYYY-MM-DD of the batch timestamp, UTC */
    int64_t chunk_cap;
    int64_t max_record_bytes; /* larger records go to the dead-letter table without value */

    sm_batch_report totals;

    /* silver */
    int n_derived;          /* derived table slots */
    sm_arena *silver_arena; /* per batch: the silver tables' bookkeeping and selections */
    int64_t watermark_ms;   /* the batch's (offsets/N); 0: none yet */
    int64_t next_wm_ms;     /* for the next batch (commits/N) */
    int64_t run_ms[3];      /* read, write, commit durations of the batch */
};

/* ---- small helpers ------------------------------------------------------------------------- */

static int stop_level(const sm_engine *e)
{
    return e->opts.stop ? (int)*e->opts.stop : 0;
}

static const char *join(sm_arena *a, const char *x, const char *y, const char *z)
{
    size_t n = strlen(x) + strlen(y) + strlen(z) + 1;
    char *s = sm_arena_alloc(a, n);
    if (s) {
        snprintf(s, n, "%s%s%s", x, y, z);
    }
    return s;
}

static void format_date(int64_t ts_ms, char out[16])
{
    int64_t days = ts_ms >= 0 ? ts_ms / 86400000 : -((-ts_ms + 86399999) / 86400000);
    int64_t y;
    unsigned m, d;
    sm_civil_from_days(days, &y, &m, &d);
    snprintf(out, 16, "%04d-%02u-%02u", (int)y, m, d);
}

/* The SMELTER_CRASH_AT test hook: "<step>[:<table>][:<batch>]". */
static int crash_parse(const char *spec, crash_spec *c, sm_error *err)
{
    static const char *const steps[] = {
        "after_read",    "after_offsets", "after_files",     "after_commit",
        "after_commits", "after_state",   "after_event_log", NULL};
    char buf[512];
    char *tok[4] = {0};
    int n = 0;
    bool known = false, tabled;

    memset(c, 0, sizeof *c);
    c->batch = -1;
    if (!spec || !*spec) {
        return SM_OK;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *s = buf, *save = NULL; n < 4 && (tok[n] = strtok_r(s, ":", &save)); s = NULL) {
        n++;
    }
    for (int i = 0; steps[i]; i++) {
        known = known || (tok[0] && strcmp(tok[0], steps[i]) == 0);
    }
    if (!known || n > 3) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "SMELTER_CRASH_AT=%s: expected <step>[:<batch>] or "
                            "after_files|after_commit[:<table>][:<batch>], steps after_read, "
                            "after_offsets, after_files, after_commit, after_commits, after_state, "
                            "after_event_log",
                            spec);
    }
    snprintf(c->step, sizeof c->step, "%s", tok[0]);
    tabled = strcmp(tok[0], "after_files") == 0 || strcmp(tok[0], "after_commit") == 0;
    for (int i = 1; i < n; i++) {
        char *end;
        long long v = strtoll(tok[i], &end, 10);
        if (*end == '\0' && tok[i][0] >= '0' && tok[i][0] <= '9' && (i == n - 1)) {
            c->batch = v;
        } else if (tabled && i == 1) {
            snprintf(c->table, sizeof c->table, "%s", tok[i]);
        } else {
            return sm_error_set(err, SM_ERR_USAGE, "SMELTER_CRASH_AT=%s: '%s' is not a batch id",
                                spec, tok[i]);
        }
    }
    c->on = true;
    return SM_OK;
}

static void crash_point(const sm_engine *e, const char *step, const char *table)
{
    const crash_spec *c = &e->crash;
    if (!c->on || strcmp(c->step, step) != 0) {
        return;
    }
    if (c->table[0] && (!table || strcmp(c->table, table) != 0)) {
        return;
    }
    if (c->batch >= 0 && c->batch != e->batch_id) {
        return;
    }
    fprintf(stderr, "smelter: SMELTER_CRASH_AT: exiting at %s%s%s of batch %" PRId64 "\n", step,
            table ? ":" : "", table ? table : "", e->batch_id);
    _exit(CRASH_EXIT);
}

/* ---- schemas ------------------------------------------------------------------------------- */

static sm_field *dead_field(sm_arena *a, int i)
{
    static const struct {
        const char *name;
        sm_type type;
        bool nullable;
    } cols[DEAD_N] = {
        {"topic", SM_STRING, false},    {"partition", SM_INT32, false},
        {"offset", SM_INT64, false},    {"kafka_timestamp", SM_TIMESTAMP_US, true},
        {"key", SM_BINARY, true},       {"value", SM_BINARY, true},
        {"reason", SM_STRING, false},   {"error_offset", SM_INT32, false},
        {"_batch_id", SM_INT64, false}, {"_ingestion_timestamp", SM_TIMESTAMP_US, false},
    };
    return sm_field_new(a, cols[i].name, cols[i].type, cols[i].nullable);
}

/* The bronze file and table schemas (.avsc fields + metadata columns, stream/bronze.h) and the
 * dead-letter ones. */
static int build_schemas(sm_engine *e, sm_error *err)
{
    sm_arena *a = e->arena;
    const sm_field *root = e->root;
    const char *origin = e->p->source.schema_path;
    sm_field **dfile = sm_arena_alloc(a, sizeof *dfile * DEAD_N);
    sm_field **dtable = sm_arena_alloc(a, sizeof *dtable * (DEAD_N + 1));
    sm_field *date = sm_field_new(a, PARTITION_COLUMN, SM_DATE, false);
    int rc;

    if (!dfile || !dtable || !date) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if ((rc = sm_bronze_schema(root, origin, false, a, &e->bronze_file, err)) != SM_OK ||
        (rc = sm_bronze_schema(root, origin, true, a, &e->bronze_table, err)) != SM_OK) {
        return rc;
    }
    for (int d = 0; d < DEAD_N; d++) {
        if (!(dfile[d] = dtable[d] = dead_field(a, d))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    dtable[DEAD_N] = date;
    e->n_avsc_fields = root->n_children;
    e->dead_file = sm_field_struct(a, "dead_letter", dfile, DEAD_N, false);
    e->dead_table = sm_field_struct(a, "dead_letter", dtable, DEAD_N + 1, false);
    if (!e->dead_file || !e->dead_table) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return SM_OK;
}

/* ---- tables -------------------------------------------------------------------------------- */

/* Checks that an existing table holds what the engine writes: the same schema (compared in
 * Delta's own JSON form) and partition columns. */
static int table_check(const eng_table *t, const delta_snapshot *s, sm_error *err)
{
    sm_buf ours = SM_BUF_INIT, theirs = SM_BUF_INIT;
    sm_arena *a = NULL;
    sm_field *f = NULL;
    int rc = SM_OK;
    bool part_ok;

    if (!s->metadata.schema_string) {
        return sm_error_set(err, SM_ERR_USAGE, "table %s at %s has no schema in its log", t->name,
                            t->path);
    }
    if (!(a = sm_arena_create(0, 0))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if ((rc = delta_schema_to_json(t->table_schema, &ours, err)) != SM_OK ||
        (rc = delta_schema_from_json(s->metadata.schema_string, a, &f, err)) != SM_OK ||
        (rc = delta_schema_to_json(f, &theirs, err)) != SM_OK) {
        sm_error_prefix(err, "table %s", t->name);
        goto done;
    }
    if (ours.len != theirs.len || memcmp(ours.data, theirs.data, ours.len) != 0) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "table %s at %s has another schema than the pipeline writes (%.*s, not "
                          "%.*s): the .avsc changed since the table was made; write to a new "
                          "table or migrate this one",
                          t->name, t->path, (int)(theirs.len > 400 ? 400 : theirs.len),
                          (const char *)theirs.data, (int)(ours.len > 400 ? 400 : ours.len),
                          (const char *)ours.data);
        goto done;
    }
    part_ok = t->partitioned ? s->metadata.n_partition_columns == 1 &&
                                   strcmp(s->metadata.partition_columns[0], PARTITION_COLUMN) == 0
                             : s->metadata.n_partition_columns == 0;
    if (!part_ok) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "table %s at %s is partitioned otherwise than partition_by says (%d "
                          "partition column(s)); write to a new table or change partition_by",
                          t->name, t->path, s->metadata.n_partition_columns);
    }
done:
    sm_buf_free(&ours);
    sm_buf_free(&theirs);
    sm_arena_destroy(a);
    return rc;
}

/* Creates the table when it does not exist (another process creating it at once is fine) and
 * checks it when it does. */
static int table_ensure(sm_engine *e, eng_table *t, sm_error *err)
{
    delta_snapshot *s = NULL;
    int64_t v = -1;
    int rc;

    if ((rc = delta_latest_version(t->path, &v, err)) != SM_OK) {
        return rc;
    }
    if (v < 0) {
        const char *parts[] = {PARTITION_COLUMN};
        char desc[512];
        delta_create_opts o = {0};
        snprintf(desc, sizeof desc, "%s of pipeline %s (smelter)",
                 t->kind == T_DEAD         ? "records that could not be decoded"
                 : t->kind == T_SILVER     ? "silver: records checked and de-duplicated"
                 : t->kind == T_QUARANTINE ? "records dropped by expectations"
                 : t->kind == T_LATE       ? "records later than the watermark"
                                           : "bronze: records as received",
                 e->p->name);
        o.schema = t->table_schema;
        o.n_partition_columns = t->partitioned ? 1 : 0;
        o.partition_columns = parts;
        o.name = t->name;
        o.description = desc;
        rc = delta_table_create(t->path, &o, err);
        if (rc == SM_ERR_CONFLICT) {
            sm_error_clear(err);
        } else if (rc != SM_OK) {
            sm_error_prefix(err, "table %s", t->name);
            return rc;
        } else {
            sm_log_info(COMPONENT, "created table %s at %s", t->name, t->path);
            t->exists = true;
            return SM_OK;
        }
    }
    if ((rc = delta_snapshot_load(t->path, NULL, &s, err)) != SM_OK) {
        return rc;
    }
    rc = table_check(t, s, err);
    delta_snapshot_free(s);
    t->exists = rc == SM_OK;
    return rc;
}

/* ---- the message callback ------------------------------------------------------------------ */

static chunk *chunk_new(tctx *t, bool dead)
{
    sm_engine *e = t->e;
    chunk *c = sm_arena_calloc(t->arena, sizeof *c);
    int64_t cap = t->hint_rows > 0 ? t->hint_rows : 256;
    chunk_list *l = dead ? &t->dead : &t->bronze;

    if (!c) {
        return NULL;
    }
    if (dead) {
        cap = 64;
        if (!(c->data = sm_column_new(t->arena, e->dead_file, cap))) {
            return NULL;
        }
    } else {
        if (!(c->data = sm_column_new(t->arena, e->root, cap))) {
            return NULL;
        }
        for (int m = 0; m < META_N; m++) {
            if (!(c->meta[m] = sm_column_new(
                      t->arena, e->bronze_file->children[e->n_avsc_fields + m], cap))) {
                return NULL;
            }
        }
    }
    if (l->tail) {
        l->tail->next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
    l->n++;
    return c;
}

/* The chunk the next record of `size` bytes goes to: the current one until it holds chunk_cap
 * bytes, then a new one (one chunk becomes one file). */
static chunk *chunk_for(tctx *t, bool dead, int64_t size)
{
    chunk_list *l = dead ? &t->dead : &t->bronze;
    chunk *c = l->tail;
    if (c && c->data->length > 0 && c->in_bytes + size > t->e->chunk_cap) {
        c = NULL;
    }
    return c ? c : chunk_new(t, dead);
}

static void bronze_truncate(chunk *c, int64_t row)
{
    sm_json_column_truncate(c->data, row);
    for (int m = 0; m < META_N; m++) {
        sm_json_column_truncate(c->meta[m], row);
    }
}

/* Appends the metadata columns of one decoded record. */
static int bronze_meta(tctx *t, chunk *c, const sm_kafka_msg *m)
{
    sm_engine *e = t->e;
    sm_arena *a = t->arena;
    if (sm_column_append_i64(a, c->meta[M_INGESTION_TS], e->batch_ts_us) ||
        sm_column_append_i64(a, c->meta[M_BATCH_ID], e->batch_id) ||
        sm_column_append_bytes(a, c->meta[M_SOURCE], m->topic, strlen(m->topic)) ||
        sm_column_append_i64(a, c->meta[M_PARTITION], m->partition) ||
        sm_column_append_i64(a, c->meta[M_OFFSET], m->offset) ||
        (m->timestamp_ms >= 0 ? sm_column_append_i64(a, c->meta[M_KAFKA_TS], m->timestamp_ms * 1000)
                              : sm_column_append_null(a, c->meta[M_KAFKA_TS])) ||
        (m->key ? sm_column_append_bytes(a, c->meta[M_KEY], m->key, m->key_len)
                : sm_column_append_null(a, c->meta[M_KEY]))) {
        return -1;
    }
    return 0;
}

/* Appends a dead-letter row. `value_ok` false stores a null value (tombstones, oversized). */
static int dead_row(tctx *t, const sm_kafka_msg *m, bool value_ok, const char *reason,
                    int64_t err_offset)
{
    sm_engine *e = t->e;
    sm_arena *a = t->arena;
    int64_t size = (int64_t)m->key_len + (value_ok ? (int64_t)m->value_len : 0);
    chunk *c = chunk_for(t, true, size);
    sm_column *d;
    int64_t row;

    if (!c) {
        return -1;
    }
    d = c->data;
    row = d->length;
    if (sm_column_append_bytes(a, d->children[D_TOPIC], m->topic, strlen(m->topic)) ||
        sm_column_append_i64(a, d->children[D_PARTITION], m->partition) ||
        sm_column_append_i64(a, d->children[D_OFFSET], m->offset) ||
        (m->timestamp_ms >= 0
             ? sm_column_append_i64(a, d->children[D_KAFKA_TS], m->timestamp_ms * 1000)
             : sm_column_append_null(a, d->children[D_KAFKA_TS])) ||
        (m->key ? sm_column_append_bytes(a, d->children[D_KEY], m->key, m->key_len)
                : sm_column_append_null(a, d->children[D_KEY])) ||
        (value_ok && m->value
             ? sm_column_append_bytes(a, d->children[D_VALUE], m->value, m->value_len)
             : sm_column_append_null(a, d->children[D_VALUE])) ||
        sm_column_append_bytes(a, d->children[D_REASON], reason, strlen(reason)) ||
        sm_column_append_i64(a, d->children[D_ERROR_OFFSET],
                             err_offset > INT32_MAX ? INT32_MAX : err_offset) ||
        sm_column_append_i64(a, d->children[D_BATCH_ID], e->batch_id) ||
        sm_column_append_i64(a, d->children[D_INGESTION_TS], e->batch_ts_us) ||
        sm_column_append_valid(a, d)) {
        sm_json_column_truncate(d, row);
        return -1;
    }
    c->in_bytes += size;
    t->dead.rows++;
    return 0;
}

/* Hands the message back: the batch closes before it (its range ends at its offset). */
static int hand_back(tctx *t, const sm_kafka_msg *m)
{
    t->full = true;
    t->full_range = m->range;
    t->full_offset = m->offset;
    t->full_size = (int64_t)m->key_len + (int64_t)m->value_len;
    return 1;
}

/* Takes one message into the thread's chunks: a bronze row, or a dead-letter row when it does
 * not decode, is a tombstone, or is larger than the batch's max_record_bytes (a rule that
 * depends on the size alone, recorded in offsets/N, so a re-run decides alike). Returns 0; -1
 * when the arena is full (nothing appended); -2 when the batch cannot go on (t->reason says
 * why: the schema registry cannot be asked). */
static int take(tctx *t, const sm_kafka_msg *m)
{
    sm_engine *e = t->e;
    int64_t size = (int64_t)m->key_len + (int64_t)m->value_len;
    int64_t err_offset;
    sm_error derr;
    chunk *c;
    int64_t row;
    int rc;

    if (!m->value) {
        return dead_row(t, m, false, "null value", -1);
    }
    if (size > e->max_record_bytes) {
        snprintf(t->reason, sizeof t->reason,
                 "oversized: a record of %" PRId64 " bytes is larger than the %" PRId64
                 " bytes one record may take in a batch (raise trigger.max_bytes_per_trigger); "
                 "its value is not kept here",
                 size, e->max_record_bytes);
        return dead_row(t, m, false, t->reason, -1);
    }
    if (!(c = chunk_for(t, false, size))) {
        return -1;
    }
    row = c->data->length;
    rc = sm_source_decode(t->dec, m->value, m->value_len, t->arena, c->data, t->reason,
                          sizeof t->reason, &err_offset, &derr);
    if (rc == SM_OK) {
        if (bronze_meta(t, c, m) != 0) {
            bronze_truncate(c, row);
            return -1;
        }
        c->in_bytes += size;
        t->bronze.rows++;
        return 0;
    }
    if (rc == SM_ERR_NOMEM) {
        return -1;
    }
    if (rc != SM_ERR_CORRUPT) {
        snprintf(t->reason, sizeof t->reason,
                 "kafka topic %s partition %d offset %" PRId64 ": %.700s; the batch is not "
                 "committed and is read again on restart",
                 m->topic, m->partition, m->offset, derr.msg);
        t->fatal_rc = rc;
        return -2;
    }
    return dead_row(t, m, true, t->reason, err_offset);
}

/* @thread consumer: the message callback. When the thread's arena is full, the message is
 * handed back and the batch closes before it; if the thread had nothing else in the batch, its
 * arena is emptied and the message tried once more (a batch always moves). */
static int on_message(void *ctx, const sm_kafka_msg *m)
{
    tctx *t = ctx;
    sm_engine *e = t->e;

    if (stop_level(e) >= 2) {
        t->abandon = true;
        return 1;
    }
    int rc = take(t, m);
    if (rc == -2) {
        t->fatal = true;
        return 1;
    }
    if (rc != 0) {
        if (t->bronze.rows + t->dead.rows > 0) {
            return hand_back(t, m);
        }
        sm_arena_reset(t->arena);
        memset(&t->bronze, 0, sizeof t->bronze);
        memset(&t->dead, 0, sizeof t->dead);
        t->hint_rows = 1; /* the smallest columns */
        if ((rc = take(t, m)) != 0) {
            t->fatal = true;
            if (rc == -2) {
                return 1;
            }
            t->fatal_rc = SM_ERR_NOMEM;
            snprintf(t->reason, sizeof t->reason,
                     "kafka topic %s partition %d offset %" PRId64
                     ": the record does not fit in the memory bound of %zu bytes per consumer "
                     "thread; raise trigger.max_bytes_per_trigger",
                     m->topic, m->partition, m->offset, t->arena_limit);
            return 1;
        }
    }
    t->records++;
    t->bytes += (int64_t)m->key_len + (int64_t)m->value_len;
    return 0;
}

/* ---- writing a table's files --------------------------------------------------------------- */

/* Runs fn over jobs[0..n) (each `size` bytes), one thread each, and waits for them all; a job
 * whose thread cannot be started runs here. Jobs with skip[i] set are not run. */
static void run_jobs(void *(*fn)(void *), void *jobs, size_t size, int n, const bool *skip)
{
    pthread_t th[MAX_JOBS];
    bool started[MAX_JOBS] = {false};
    for (int i = 0; i < n; i++) {
        void *job = (char *)jobs + (size_t)i * size;
        if (skip && skip[i]) {
            continue;
        }
        if (i < MAX_JOBS && pthread_create(&th[i], NULL, fn, job) == 0) {
            started[i] = true;
        } else {
            fn(job); /* no thread to spare: run it here */
        }
    }
    for (int i = 0; i < n && i < MAX_JOBS; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
        }
    }
}

/* The chunks of table t a consumer thread's context holds. */
static const chunk_list *table_list(const tctx *tc, const eng_table *t)
{
    switch (t->kind) {
    case T_BRONZE:
        return &tc->bronze;
    case T_DEAD:
        return &tc->dead;
    default:
        return &tc->derived[t->slot];
    }
}

typedef struct wjob {
    sm_engine *e;
    const eng_table *t;
    tctx *tc;
    int first_index; /* file number of the job's first chunk within the batch and table */
    const delta_kv *pv;
    int n_pv;
    const char *dir;     /* the partition directory on disk, with a trailing '/' */
    const char *dir_uri; /* the same for add.path */
    sm_arena *out;       /* its file names and add actions, until tw_end */
    sm_arena *scratch;   /* slices of silver rows */
    /* out */
    delta_file *adds;
    int n_adds;
    int64_t rows, bytes, in_bytes;
    int rc;
    sm_error err;
} wjob;

/* The rows of a silver, quarantine or late chunk: silver and late rows are read through their
 * selection; the quarantine's are built SLICE_ROWS at a time. No copy of the whole batch is made
 * (the writer keeps encoded pages only). */
static int write_slices(pq_writer *w, const chunk *c, sm_arena *scratch, sm_error *err)
{
    if (c->which != SM_SILVER_QUARANTINE) {
        sm_column *all;
        const int64_t *sel;
        int rc;
        sm_arena_reset(scratch);
        if ((rc = sm_silver_view(c->silver, c->k, c->which, scratch, &all, &sel, err)) != SM_OK) {
            return rc;
        }
        return pq_writer_write_sel(w, all, sel, c->rows, err);
    }
    for (int64_t from = 0; from < c->rows; from += SLICE_ROWS) {
        int64_t n = c->rows - from < SLICE_ROWS ? c->rows - from : SLICE_ROWS;
        sm_column *rows;
        int rc;
        sm_arena_reset(scratch);
        if ((rc = sm_silver_slice(c->silver, c->k, c->which, from, n, scratch, &rows, err)) !=
                SM_OK ||
            (rc = pq_writer_write(w, rows, err)) != SM_OK) {
            return rc;
        }
    }
    sm_arena_reset(scratch);
    return SM_OK;
}

static int64_t chunk_rows(const chunk *c)
{
    return c->data ? c->data->length : c->rows;
}

/* Writes one chunk as one Parquet file and fills its add action. On error nothing is left at
 * the file's path. */
static int write_chunk(wjob *j, const chunk *c, int index, delta_file *add, sm_error *err)
{
    sm_engine *e = j->e;
    sm_arena *out = j->out;
    char uuid[SM_UUID_LEN + 1], name[96];
    const char *local, *uri;
    sm_column view, *batch = c->data;
    pq_writer_opts wo;
    pq_writer *w = NULL;
    pq_file_info info;
    int rc;

    if ((rc = sm_uuid4(uuid, err)) != SM_OK) {
        return rc;
    }
    snprintf(name, sizeof name, "part-%05d-%s.c000.zstd.parquet", index, uuid);
    local = join(out, j->dir, name, "");
    uri = join(out, j->dir_uri, name, "");
    if (!local || !uri) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if (j->t->kind == T_BRONZE) {
        /* the file's rows: the decoded fields and the metadata columns side by side */
        int n = e->bronze_file->n_children;
        memset(&view, 0, sizeof view);
        view.field = e->bronze_file;
        view.length = c->data->length;
        view.children = sm_arena_alloc(out, sizeof *view.children * (size_t)n);
        if (!view.children) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < e->n_avsc_fields; i++) {
            view.children[i] = c->data->children[i];
        }
        for (int m = 0; m < META_N; m++) {
            view.children[e->n_avsc_fields + m] = c->meta[m];
        }
        batch = &view;
    }
    pq_writer_opts_default(&wo);
    wo.codec = PQ_CODEC_ZSTD;
    /* the silver and late files take the bronze file's dictionary indices of the columns they
     * pass through (the same sm_columns) instead of hashing every value again */
    if (j->t->kind == T_BRONZE) {
        wo.share_out = j->tc->share;
    } else if (j->t->kind == T_SILVER || j->t->kind == T_LATE) {
        wo.share_in = j->tc->share;
    }
    if ((rc = pq_writer_open(local, j->t->file_schema, &wo, &w, err)) != SM_OK) {
        return rc;
    }
    if (c->silver) {
        rc = write_slices(w, c, j->scratch, err);
    } else {
        rc = pq_writer_write(w, batch, err);
    }
    if (rc != SM_OK) {
        pq_writer_abort(w);
        return rc;
    }
    if ((rc = delta_add_from_writer(w, local, uri, out, add, &info, err)) != SM_OK) {
        return rc;
    }
    add->n_partition_values = j->n_pv;
    add->partition_values = (delta_kv *)j->pv;
    j->rows += info.rows;
    j->bytes += info.file_size;
    j->in_bytes += c->in_bytes;
    return SM_OK;
}

static void *write_job(void *arg)
{
    wjob *j = arg;
    const chunk_list *l = table_list(j->tc, j->t);
    int index = j->first_index;

    sm_error_clear(&j->err);
    j->out = sm_arena_create(0, 0);
    j->adds = j->out ? sm_arena_calloc(j->out, sizeof *j->adds * (size_t)(l->n + 1)) : NULL;
    j->scratch = sm_arena_create(0, 0);
    if (!j->adds || !j->scratch) {
        sm_arena_destroy(j->scratch);
        j->rc = sm_error_set(&j->err, SM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (const chunk *c = l->head; c; c = c->next, index++) {
        if (chunk_rows(c) == 0) {
            continue;
        }
        if (stop_level(j->e) >= 2) {
            j->rc = sm_error_set(&j->err, SM_ERR_INTERRUPTED, "batch abandoned by a second stop");
            break;
        }
        j->rc = write_chunk(j, c, index, &j->adds[j->n_adds], &j->err);
        if (j->rc != SM_OK) {
            sm_error_prefix(&j->err, "table %s", j->t->name);
            break;
        }
        j->n_adds++;
    }
    sm_arena_destroy(j->scratch);
    return NULL;
}

/* Removes the files of jobs that were written but will not be committed. */
static void unlink_adds(const wjob *jobs, int n, const eng_table *t)
{
    sm_buf path = SM_BUF_INIT;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < jobs[i].n_adds; k++) {
            sm_error ignore;
            sm_buf_reset(&path);
            if (delta_file_local_path(t->path, jobs[i].adds[k].path, &path, &ignore) == SM_OK &&
                sm_buf_append_byte(&path, '\0', &ignore) == SM_OK) {
                unlink((const char *)path.data);
            }
        }
    }
    sm_buf_free(&path);
}

/* What one table got in the batch. */
typedef struct table_result {
    int64_t version; /* -1: the table does not exist and got nothing */
    int64_t files;
    int64_t rows;
    int64_t bytes; /* of the files added */
    bool skipped;  /* it already had the batch */
} table_result;

/* One table's part of a batch: prepared (tw_begin), its files written (its jobs through the
 * batch's wqueue), committed (tw_commit), released (tw_end, which removes files that
 * were written but not committed). */
typedef struct twrite {
    eng_table *t;
    table_result res;
    delta_snapshot *s;
    int64_t rows;
    bool write;     /* files to write (not skipped, not empty) */
    bool committed; /* or its files are in the log: never removed */
    wjob *jobs;     /* one per consumer thread context */
    bool *idle;
    delta_kv pv;
    sm_buf dir, uri;
} twrite;

/*
 * Step 4 of the protocol for one table, up to its files: skipped when its log already has
 * txn(query id) >= N; a table that gets nothing records the version it is at.
 */
static int tw_begin(sm_engine *e, eng_table *t, twrite *w, sm_error *err)
{
    int index = 0, rc;

    memset(w, 0, sizeof *w);
    w->t = t;
    w->res.version = -1;
    w->pv.key = PARTITION_COLUMN;
    w->pv.value = e->date;
    for (int i = 0; i < e->n_threads; i++) {
        w->rows += table_list(&e->threads[i], t)->rows;
    }
    if (!t->exists) {
        if (w->rows == 0) {
            return SM_OK; /* a dead-letter table is made when it first gets a row */
        }
        if ((rc = table_ensure(e, t, err)) != SM_OK) {
            return rc;
        }
    }
    if (w->rows == 0) {
        /* nothing to commit: the batch records the version the table is at */
        return delta_latest_version(t->path, &w->res.version, err);
    }
    if ((rc = delta_snapshot_load(t->path, NULL, &w->s, err)) != SM_OK) {
        return rc;
    }
    if (delta_snapshot_txn_version(w->s, e->query_id) >= e->batch_id) {
        sm_log_info(COMPONENT, "table %s already has batch %" PRId64 " (version %" PRId64 ")",
                    t->name, e->batch_id, w->s->version);
        w->res.version = w->s->version;
        w->res.skipped = true;
        return SM_OK;
    }

    /* the partition directory */
    if ((rc = sm_buf_append(&w->dir, t->path, strlen(t->path), err)) != SM_OK ||
        (rc = sm_buf_append_byte(&w->dir, '/', err)) != SM_OK ||
        (t->partitioned && (rc = delta_partition_dir(&w->pv, 1, false, &w->dir, err)) != SM_OK) ||
        (t->partitioned && (rc = delta_partition_dir(&w->pv, 1, true, &w->uri, err)) != SM_OK) ||
        (rc = sm_buf_append_byte(&w->dir, '\0', err)) != SM_OK ||
        (rc = sm_buf_append_byte(&w->uri, '\0', err)) != SM_OK) {
        return rc;
    }
    if ((rc = sm_mkdir_p((const char *)w->dir.data, err)) != SM_OK) {
        return rc;
    }
    w->jobs = calloc((size_t)e->n_threads, sizeof *w->jobs);
    w->idle = calloc((size_t)e->n_threads, sizeof *w->idle);
    if (!w->jobs || !w->idle) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < e->n_threads; i++) {
        wjob *j = &w->jobs[i];
        const chunk_list *l = table_list(&e->threads[i], t);
        j->e = e;
        j->t = t;
        j->tc = &e->threads[i];
        j->first_index = index;
        j->pv = t->partitioned ? &w->pv : NULL;
        j->n_pv = t->partitioned ? 1 : 0;
        j->dir = (const char *)w->dir.data;
        j->dir_uri = (const char *)w->uri.data;
        w->idle[i] = l->rows == 0;
        index += l->n;
    }
    w->write = true;
    return SM_OK;
}

static bool is_derived(const eng_table *t)
{
    return t->kind == T_SILVER || t->kind == T_QUARANTINE || t->kind == T_LATE;
}

/*
 * The batch's file writes: one job per (table, consumer thread context) with rows, run by
 * writer threads, one per context. The bronze and dead-letter tables' jobs are queued after the
 * read; the derived tables' as soon as the silver step has decided the batch, so a writer that
 * finishes a bronze file goes on to a silver file instead of waiting for the other writers. A
 * writer takes the largest job queued (rows x columns): the small ones (dead letters,
 * quarantine) come last and fill in while the others finish. Errors stay in the jobs until
 * tw_commit.
 */
typedef struct wqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wjob **jobs; /* queued and not yet taken: jobs[0..n) */
    int64_t *size;
    int n, cap;
    bool closed;  /* no more jobs come */
    bool dropped; /* the batch is not recorded: jobs not yet taken are not run */
    pthread_t *th;
    int n_th;
} wqueue;

/* A silver or late job whose context's bronze file is not written yet: its writer would hash
 * the values the bronze writer is about to share (pq_share). */
static bool wq_early(const wjob *j)
{
    return (j->t->kind == T_SILVER || j->t->kind == T_LATE) && j->tc->bronze_pending;
}

/* The largest job queued, preferring those not early; NULL when there is none, or (wait) once
 * none can come. */
static wjob *wq_take(wqueue *q, bool wait)
{
    wjob *j = NULL;
    pthread_mutex_lock(&q->mu);
    while (wait && q->n == 0 && !q->closed && !q->dropped) {
        pthread_cond_wait(&q->cv, &q->mu);
    }
    if (q->n > 0 && !q->dropped) {
        int best = 0;
        for (int i = 1; i < q->n; i++) {
            bool early = wq_early(q->jobs[i]), best_early = wq_early(q->jobs[best]);
            if (early != best_early ? best_early : q->size[i] > q->size[best]) {
                best = i;
            }
        }
        j = q->jobs[best];
        q->n--;
        q->jobs[best] = q->jobs[q->n];
        q->size[best] = q->size[q->n];
    }
    pthread_mutex_unlock(&q->mu);
    return j;
}

static void *wq_worker(void *arg)
{
    wqueue *q = arg;
    wjob *j;
    while ((j = wq_take(q, true))) {
        write_job(j);
        if (j->t->kind == T_BRONZE) {
            pthread_mutex_lock(&q->mu);
            j->tc->bronze_pending = false;
            pthread_mutex_unlock(&q->mu);
        }
    }
    return NULL;
}

/* Starts the writer threads; jobs come with wq_add. */
static int wq_start(sm_engine *e, wqueue *q, sm_error *err)
{
    memset(q, 0, sizeof *q);
    q->cap = e->n_tables * e->n_threads;
    q->jobs = sm_arena_alloc(e->batch_arena, sizeof *q->jobs * (size_t)(q->cap + 1));
    q->size = sm_arena_alloc(e->batch_arena, sizeof *q->size * (size_t)(q->cap + 1));
    q->th = sm_arena_alloc(e->batch_arena, sizeof *q->th * (size_t)(e->n_threads + 1));
    if (!q->jobs || !q->size || !q->th) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    while (q->n_th < e->n_threads && pthread_create(&q->th[q->n_th], NULL, wq_worker, q) == 0) {
        q->n_th++; /* with none started the engine thread runs every job in wq_finish */
    }
    return SM_OK;
}

/* Queues the jobs of w (a table after tw_begin) for the contexts that have its rows. */
static void wq_add(sm_engine *e, wqueue *q, twrite *w)
{
    pthread_mutex_lock(&q->mu);
    for (int i = 0; w->write && i < e->n_threads; i++) {
        if (!w->idle[i] && q->n < q->cap) {
            e->threads[i].bronze_pending |= w->t->kind == T_BRONZE;
            q->jobs[q->n] = &w->jobs[i];
            q->size[q->n++] =
                table_list(&e->threads[i], w->t)->rows * w->t->file_schema->n_children;
        }
    }
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* No more jobs come: waits for the writer threads to run what is queued (with drop: only what
 * they have begun). With no writer thread, runs the jobs here. */
static void wq_finish(wqueue *q, bool drop)
{
    wjob *j;
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    q->dropped = drop;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    while (q->n_th == 0 && (j = wq_take(q, false))) {
        write_job(j);
    }
    for (int i = 0; i < q->n_th; i++) {
        pthread_join(q->th[i], NULL);
    }
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

/* The table's Delta commit for the batch, after its files. On error the table is unchanged —
 * except when only the commit's directory fsync failed (the commit is then in place; the txn
 * decides on restart). */
static int tw_commit(sm_engine *e, twrite *w, sm_error *err)
{
    eng_table *t = w->t;
    table_result *res = &w->res;
    delta_file *adds = NULL;
    char *params = NULL, *metrics = NULL;
    int64_t version = -1, bytes = 0;
    int n_adds = 0, rc = SM_OK;

    if (!w->write) {
        return SM_OK;
    }
    for (int i = 0; i < e->n_threads; i++) {
        if (w->jobs[i].rc != SM_OK) {
            if (err) {
                *err = w->jobs[i].err;
            }
            return w->jobs[i].rc;
        }
        n_adds += w->jobs[i].n_adds;
        res->rows += w->jobs[i].rows;
        bytes += w->jobs[i].bytes;
    }
    if (res->rows != w->rows) {
        return sm_error_set(err, SM_ERR_INTERNAL,
                            "table %s: %" PRId64 " rows written, the batch has %" PRId64, t->name,
                            res->rows, w->rows);
    }
    /* learn the Parquet size per input byte from large bronze files */
    if (t->kind == T_BRONZE) {
        int64_t in = 0;
        for (int i = 0; i < e->n_threads; i++) {
            in += w->jobs[i].in_bytes;
        }
        if (in >= ((int64_t)1 << 20)) {
            double r = (double)bytes / (double)in;
            e->ratio = 0.5 * e->ratio + 0.5 * (r < 0.01 ? 0.01 : r > 4 ? 4 : r);
        }
    }
    crash_point(e, "after_files", t->name);
    if (stop_level(e) >= 2) {
        return sm_error_set(err, SM_ERR_INTERRUPTED, "batch %" PRId64 " abandoned by a second stop",
                            e->batch_id);
    }
    if (!(adds = calloc((size_t)n_adds + 1, sizeof *adds))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    n_adds = 0;
    for (int i = 0; i < e->n_threads; i++) {
        for (int k = 0; k < w->jobs[i].n_adds; k++) {
            adds[n_adds++] = w->jobs[i].adds[k];
        }
    }
    if (asprintf(&params,
                 "{\"outputMode\":\"Append\",\"queryId\":\"%s\",\"epochId\":\"%" PRId64 "\"}",
                 e->query_id, e->batch_id) < 0 ||
        asprintf(&metrics,
                 "{\"numAddedFiles\":\"%d\",\"numOutputRows\":\"%" PRId64
                 "\",\"numOutputBytes\":\"%" PRId64 "\"}",
                 n_adds, res->rows, bytes) < 0) {
        params = metrics = NULL;
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        delta_commit c = {0};
        /* from the snapshot at hand, so the commit need not read the log back to find it; a
         * concurrent change of it is a metadata change, which conflicts anyway */
        const char *ci = delta_snapshot_config(w->s, "delta.checkpointInterval");
        char *ce = NULL;
        long iv = ci ? strtol(ci, &ce, 10) : 0;
        c.read_version = w->s->version;
        c.n_adds = n_adds;
        c.adds = adds;
        c.app_id = e->query_id;
        c.txn_version = e->batch_id;
        c.operation = "STREAMING UPDATE";
        c.operation_parameters = params;
        c.operation_metrics = metrics;
        c.checkpoint_interval = ci && *ce == '\0' && iv > 0 && iv <= INT32_MAX ? (int)iv : 10;
        rc = delta_commit_write(t->path, &c, &version, err);
    }
    if (rc != SM_OK) {
        w->committed = version >= 0; /* only the directory fsync failed: the files are used */
        sm_error_prefix(err, "table %s: batch %" PRId64, t->name, e->batch_id);
        goto done;
    }
    w->committed = true;
    res->version = version;
    res->files = n_adds;
    res->bytes = bytes;
    crash_point(e, "after_commit", t->name);
done:
    free(params);
    free(metrics);
    free(adds);
    return rc;
}

static void tw_end(sm_engine *e, twrite *w)
{
    if (w->jobs && !w->committed) {
        unlink_adds(w->jobs, e->n_threads, w->t);
    }
    for (int i = 0; w->jobs && i < e->n_threads; i++) {
        sm_arena_destroy(w->jobs[i].out);
    }
    free(w->jobs);
    free(w->idle);
    sm_buf_free(&w->dir);
    sm_buf_free(&w->uri);
    delta_snapshot_free(w->s);
    memset(w, 0, sizeof *w);
}

/* ---- silver -------------------------------------------------------------------------------- */

/* The rows of a bronze chunk as the bronze table has them (stream/bronze.h): decoded fields,
 * metadata columns and _ingestion_date, the input of the silver tables. In `a`. */
static sm_column *bronze_rows(sm_engine *e, const chunk *c, sm_arena *a)
{
    const sm_field *f = e->bronze_table;
    int n = f->n_children, k = 0;
    int64_t rows = c->data->length;
    sm_column *v = sm_arena_calloc(a, sizeof *v), *date;
    int64_t days = e->batch_ts_ms >= 0 ? e->batch_ts_ms / 86400000
                                       : -((-e->batch_ts_ms + 86399999) / 86400000);
    if (!v || !(v->children = sm_arena_alloc(a, sizeof *v->children * (size_t)n)) ||
        !(date = sm_column_new(a, f->children[e->n_avsc_fields + M_INGESTION_TS + 1], rows))) {
        return NULL;
    }
    v->field = f;
    v->length = rows;
    for (int i = 0; i < e->n_avsc_fields; i++) {
        v->children[k++] = c->data->children[i];
    }
    for (int m = 0; m < META_N; m++) {
        v->children[k++] = c->meta[m];
        if (m == M_INGESTION_TS) {
            v->children[k++] = date; /* where stream/bronze.h puts it */
        }
    }
    for (int64_t r = 0; r < rows; r++) {
        ((int32_t *)date->values)[r] = (int32_t)days;
    }
    date->length = rows;
    return k == n ? v : NULL;
}

/* Adds chunk k of silver table st's output `which` to the thread's list for `slot`. */
static int derived_add(tctx *t, int slot, const eng_table *st, int k, int which)
{
    chunk_list *l = &t->derived[slot];
    int64_t rows = sm_silver_rows(st->silver, k, which);
    chunk *c;
    if (rows == 0) {
        return SM_OK;
    }
    if (!(c = sm_arena_calloc(t->sarena, sizeof *c))) {
        return SM_ERR_NOMEM;
    }
    c->silver = st->silver;
    c->k = k;
    c->which = which;
    c->rows = rows;
    if (l->tail) {
        l->tail->next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
    l->n++;
    l->rows += rows;
    return SM_OK;
}

typedef struct sjob {
    sm_engine *e;
    tctx *t;
    int rc;
    sm_error err;
} sjob;

/* @thread one per consumer thread context: step 2 of every silver table for its chunks. */
static void *silver_job(void *arg)
{
    sjob *j = arg;
    sm_engine *e = j->e;
    sm_error_clear(&j->err);
    j->rc = SM_OK;
    for (int ti = 0; ti < e->n_tables && j->rc == SM_OK; ti++) {
        const eng_table *st = &e->tables[ti];
        int k = j->t->first_k;
        if (st->kind != T_SILVER) {
            continue;
        }
        for (const chunk *c = j->t->bronze.head; c && j->rc == SM_OK; c = c->next, k++) {
            j->rc = sm_silver_check(st->silver, k, j->t->sarena, &j->err);
        }
    }
    return NULL;
}

/*
 * The silver tables' rows of the batch (stream/silver.h), before anything of the batch is
 * recorded: an expect_or_fail rule that fails stops here, so the batch is read again after the
 * rule or the data is fixed (with a new configuration hash, which a recorded batch would
 * refuse). Rules run on one thread per consumer thread context; dedup on this one. Each
 * bronze chunk gives a silver, a quarantine and a late chunk on the same thread, written later
 * from the bronze rows through a selection.
 */
static int run_silver(sm_engine *e, sm_batch_report *rep, sm_error *err)
{
    sjob *jobs;
    int rc, k = 0;

    e->next_wm_ms = e->watermark_ms;
    if (e->n_derived == 0) {
        return SM_OK;
    }
    for (int ti = 0; ti < e->n_tables; ti++) {
        eng_table *st = &e->tables[ti];
        if (st->kind == T_SILVER &&
            (rc = sm_silver_begin(st->silver, e->batch_id, e->batch_ts_ms, e->watermark_ms,
                                  e->silver_arena, err)) != SM_OK) {
            return rc;
        }
    }
    /* step 1: the chunks, numbered thread by thread */
    for (int i = 0; i < e->n_threads; i++) {
        tctx *t = &e->threads[i];
        t->first_k = k;
        for (const chunk *c = t->bronze.head; c; c = c->next, k++) {
            sm_column *rows = bronze_rows(e, c, t->sarena);
            int kk;
            if (!rows) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            for (int ti = 0; ti < e->n_tables; ti++) {
                eng_table *st = &e->tables[ti];
                if (st->kind == T_SILVER &&
                    (rc = sm_silver_add_chunk(st->silver, rows, &kk, err)) != SM_OK) {
                    return rc;
                }
            }
        }
    }
    /* step 2 in parallel */
    if (!(jobs = sm_arena_calloc(e->silver_arena, sizeof *jobs * (size_t)e->n_threads))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < e->n_threads; i++) {
        jobs[i].e = e;
        jobs[i].t = &e->threads[i];
    }
    run_jobs(silver_job, jobs, sizeof *jobs, e->n_threads, NULL);
    for (int i = 0; i < e->n_threads; i++) {
        if (jobs[i].rc != SM_OK) {
            if (err) {
                *err = jobs[i].err;
            }
            return jobs[i].rc;
        }
    }
    /* step 3, and the chunks each table writes */
    for (int ti = 0; ti < e->n_tables; ti++) {
        const eng_table *st = &e->tables[ti];
        const sm_silver_counts *cnt;
        if (st->kind != T_SILVER) {
            continue;
        }
        if ((rc = sm_silver_finish(st->silver, err)) != SM_OK) {
            return rc;
        }
        cnt = sm_silver_counts_of(st->silver);
        rep->silver_rows += cnt->output;
        rep->quarantined += cnt->quarantined;
        rep->duplicates += cnt->duplicates;
        rep->late += cnt->late;
        rep->late_dropped += cnt->late_dropped;
        if (e->p->watermark.column && cnt->max_event_ms != INT64_MIN) {
            int64_t w = cnt->max_event_ms - e->p->watermark.delay_ms;
            if (w > e->next_wm_ms) {
                e->next_wm_ms = w;
            }
        }
    }
    for (int ti = 0; ti < e->n_tables; ti++) {
        const eng_table *dt = &e->tables[ti];
        int which = dt->kind == T_SILVER       ? SM_SILVER_OUT
                    : dt->kind == T_QUARANTINE ? SM_SILVER_QUARANTINE
                    : dt->kind == T_LATE       ? SM_SILVER_LATE
                                               : -1;
        if (which < 0) {
            continue;
        }
        for (int i = 0; i < e->n_threads; i++) {
            tctx *t = &e->threads[i];
            k = t->first_k;
            for (const chunk *c = t->bronze.head; c; c = c->next, k++) {
                if (derived_add(t, dt->slot, dt, k, which) != SM_OK) {
                    return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
                }
            }
        }
    }
    return SM_OK;
}

/* The dedup states after batch N, evicted by the next watermark, as state/N/dedup-<table>. */
static int save_states(sm_engine *e, sm_error *err)
{
    sm_buf b = SM_BUF_INIT;
    int rc = SM_OK;
    for (int ti = 0; ti < e->n_tables && rc == SM_OK; ti++) {
        eng_table *t = &e->tables[ti];
        char name[300];
        sm_dedup *d;
        if (t->kind != T_SILVER || !(d = sm_silver_state(t->silver))) {
            continue;
        }
        if (e->next_wm_ms > 0) {
            sm_dedup_evict(d, e->next_wm_ms);
        }
        snprintf(name, sizeof name, "dedup-%s", t->name);
        sm_buf_reset(&b);
        if ((rc = sm_dedup_save(d, &b, err)) == SM_OK) {
            rc = sm_ckpt_write_state(e->ck, e->batch_id, name, b.data, b.len, err);
        }
    }
    sm_buf_free(&b);
    return rc;
}

/* The dedup states of the last committed batch, at open. */
static int load_states(sm_engine *e, int64_t last_committed, sm_error *err)
{
    for (int ti = 0; ti < e->n_tables; ti++) {
        eng_table *t = &e->tables[ti];
        char name[300];
        void *data = NULL;
        size_t len = 0;
        sm_dedup *d = NULL;
        int rc;
        if (t->kind != T_SILVER || !sm_silver_has_dedup(t->silver) || last_committed < 0) {
            continue;
        }
        snprintf(name, sizeof name, "dedup-%s", t->name);
        rc = sm_ckpt_read_state(e->ck, last_committed, name, &data, &len, err);
        if (rc == SM_ERR_IO && err->sys_errno == ENOENT) {
            sm_error_clear(err);
            sm_log_warn(COMPONENT,
                        "table %s: no dedup state for batch %" PRId64
                        " in the checkpoint: starting with none (dedup was just added?)",
                        t->name, last_committed);
            continue;
        }
        if (rc == SM_OK) {
            rc = sm_dedup_load(data, len, &d, err);
        }
        free(data);
        if (rc != SM_OK) {
            sm_error_prefix(err, "table %s", t->name);
            return rc;
        }
        sm_silver_set_state(t->silver, d);
    }
    return SM_OK;
}

/* One event-log row per table of the batch (stream/event_log.h). */
static int write_event_log(sm_engine *e, const sm_batch_report *rep, const table_result *res,
                           sm_error *err)
{
    sm_evl_row *rows = sm_arena_calloc(e->batch_arena, sizeof *rows * (size_t)e->n_tables);
    sm_evl_batch b;
    const sm_strlist *tl = &e->p->source.kafka.topics;
    size_t tlen = 1;
    char *topics;
    int n = 0;

    for (size_t i = 0; i < tl->count; i++) {
        tlen += strlen(tl->items[i]) + 1;
    }
    if (!rows || !(topics = sm_arena_alloc(e->batch_arena, tlen))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    topics[0] = '\0';
    for (size_t i = 0; i < tl->count; i++) { /* "orders,returns" */
        if (i > 0) {
            strcat(topics, ",");
        }
        strcat(topics, tl->items[i]);
    }
    memset(&b, 0, sizeof b);
    b.pipeline = e->p->name;
    b.query_id = e->query_id;
    b.batch_id = e->batch_id;
    b.batch_timestamp_ms = e->batch_ts_ms;
    b.watermark_ms = e->p->watermark.column ? e->watermark_ms : INT64_MIN;
    b.num_input_rows = rep->records;
    b.read_ms = e->run_ms[0];
    b.write_ms = e->run_ms[1];
    b.duration_ms = (int64_t)(sm_wall_ms() - e->batch_ts_ms);
    if (b.read_ms > 0) {
        b.processed_rows_per_second = (double)rep->records * 1000.0 / (double)b.read_ms;
    }
    b.input_rows_per_second = b.processed_rows_per_second;
    for (int i = 0; i < e->n_tables; i++) {
        const eng_table *t = &e->tables[i];
        sm_evl_row *r = &rows[n++];
        r->table = t->name;
        r->table_version = res[i].version;
        r->files_added = res[i].files;
        r->bytes_added = res[i].bytes;
        r->output_rows = res[i].skipped ? 0 : res[i].rows;
        switch (t->kind) {
        case T_BRONZE:
            r->layer = "bronze";
            r->source = topics;
            r->input_rows = rep->records;
            r->output_rows = rep->bronze_rows;
            r->dead_letter_rows = rep->dead_letters;
            break;
        case T_DEAD:
            r->layer = "dead_letter";
            r->source = topics;
            r->input_rows = rep->records;
            r->output_rows = rep->dead_letters;
            break;
        case T_QUARANTINE:
            r->layer = "quarantine";
            r->source = t->from;
            r->output_rows = sm_silver_counts_of(t->silver)->quarantined;
            r->input_rows = r->output_rows;
            break;
        case T_LATE:
            r->layer = "late";
            r->source = t->from;
            r->output_rows = sm_silver_counts_of(t->silver)->late_dropped;
            r->input_rows = r->output_rows;
            break;
        default: {
            const sm_silver_counts *c = sm_silver_counts_of(t->silver);
            sm_evl_expectation *x =
                sm_arena_calloc(e->batch_arena, sizeof *x * (t->pt->n_expectations + 1));
            if (!x) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            r->layer = "silver";
            r->source = t->from;
            r->input_rows = c->input;
            r->output_rows = c->output;
            r->quarantined_rows = c->quarantined;
            r->dropped_duplicates = c->duplicates;
            r->dropped_late = c->late_dropped;
            r->late_rows = c->late;
            for (size_t k = 0; k < t->pt->n_expectations; k++) {
                x[k].name = t->pt->expectations[k].name;
                x[k].on_violation = sm_pl_violation_name(t->pt->expectations[k].on_violation);
                x[k].passed = c->passed[k];
                x[k].failed = c->failed[k];
            }
            r->expectations = x;
            r->n_expectations = (int)t->pt->n_expectations;
            break;
        }
        }
    }
    b.rows = rows;
    b.n_rows = n;
    return sm_event_log_append(e->p->lake, &b, NULL, err);
}

/* ---- planning ------------------------------------------------------------------------------ */

static int parse_starts(sm_engine *e, sm_error *err)
{
    const char *text = e->p->source.kafka.starting_offsets_json;
    json_error_t jerr;
    json_t *root, *parts;
    const char *topic;
    size_t n = 0;

    if (e->p->source.kafka.starting != SM_PL_START_OFFSETS || !text) {
        return SM_OK;
    }
    if (!(root = json_loads(text, 0, &jerr)) || !json_is_object(root)) {
        json_decref(root);
        return sm_error_set(err, SM_ERR_USAGE,
                            "source.kafka.starting_offsets: not a JSON object of topics");
    }
    json_object_foreach(root, topic, parts)
    {
        n += json_is_object(parts) ? json_object_size(parts) : 0;
    }
    e->starts = sm_arena_calloc(e->arena, sizeof *e->starts * (n + 1));
    if (!e->starts) {
        json_decref(root);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    json_object_foreach(root, topic, parts)
    {
        const char *key;
        json_t *v;
        json_object_foreach(parts, key, v)
        {
            start_offset *s = &e->starts[e->n_starts];
            if (!json_is_integer(v)) {
                continue;
            }
            s->topic = sm_arena_strdup(e->arena, topic);
            s->partition = (int32_t)strtol(key, NULL, 10);
            s->offset = json_integer_value(v);
            if (!s->topic) {
                json_decref(root);
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            e->n_starts++;
        }
    }
    json_decref(root);
    return SM_OK;
}

/* Grows ends[]/targets[] to the partitions the consumer knows now; a partition seen for the
 * first time takes its end from the last committed batch when it was in it. */
static int know_partitions(sm_engine *e, const sm_partition_info *parts, int n, sm_error *err)
{
    if (n <= e->n_known) {
        return SM_OK;
    }
    int64_t *ends = realloc(e->ends, sizeof *ends * (size_t)n);
    if (!ends) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    e->ends = ends;
    int64_t *targets = realloc(e->targets, sizeof *targets * (size_t)n);
    if (!targets) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    e->targets = targets;
    for (int i = e->n_known; i < n; i++) {
        char source[512];
        const sm_ckpt_range *r = NULL;
        snprintf(source, sizeof source, "kafka:%s", parts[i].topic);
        if (e->committed) {
            r = sm_ckpt_offsets_find(e->committed, source, parts[i].partition);
        }
        e->ends[i] = r ? r->end : -1;
        e->targets[i] = -1;
    }
    e->n_known = n;
    return SM_OK;
}

/* Where a partition without a recorded end starts. `by_time` holds offsets_for_time results
 * (NULL unless starting_offsets is a timestamp). */
static int64_t first_start(const sm_engine *e, const sm_partition_info *p, int index,
                           const int64_t *by_time)
{
    int64_t low = p->low >= 0 ? p->low : 0, high = p->high >= 0 ? p->high : low;
    if (e->has_history) {
        return low; /* found after the query began: from its beginning, as Spark does */
    }
    switch (e->p->source.kafka.starting) {
    case SM_PL_START_LATEST:
        return high;
    case SM_PL_START_TIMESTAMP:
        return by_time ? by_time[index] : high;
    case SM_PL_START_OFFSETS:
        for (int i = 0; i < e->n_starts; i++) {
            const start_offset *s = &e->starts[i];
            if (s->partition == p->partition && strcmp(s->topic, p->topic) == 0) {
                return s->offset == -1 ? high : s->offset == -2 ? low : s->offset;
            }
        }
        return low;
    default:
        return low;
    }
}

/* The ranges of a re-run: exactly those of offsets/N. */
static int plan_rerun(sm_engine *e, const sm_partition_info *parts, int n, sm_range **out,
                      int *n_out, sm_error *err)
{
    const sm_ckpt_offsets *o = e->rerun;
    size_t total = 0;
    sm_range *r;
    int k = 0;

    for (size_t i = 0; i < o->n_sources; i++) {
        total += o->sources[i].n_ranges;
    }
    r = sm_arena_calloc(e->batch_arena, sizeof *r * (total + 1));
    if (!r) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->n_sources; i++) {
        const sm_ckpt_source *s = &o->sources[i];
        const char *topic = s->name + 6;
        if (strncmp(s->name, "kafka:", 6) != 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "offsets/%" PRId64 " names source '%s', which this pipeline does "
                                "not read; the checkpoint belongs to another pipeline",
                                o->batch_id, s->name);
        }
        for (size_t j = 0; j < s->n_ranges; j++) {
            int idx = -1;
            for (int p = 0; p < n && idx < 0; p++) {
                if (parts[p].partition == s->ranges[j].partition &&
                    strcmp(parts[p].topic, topic) == 0) {
                    idx = p;
                }
            }
            if (idx < 0) {
                return sm_error_set(err, SM_ERR_KAFKA,
                                    "offsets/%" PRId64 ": kafka topic %s partition %d is not in "
                                    "the cluster any more; batch %" PRId64
                                    " cannot be re-run as recorded",
                                    o->batch_id, topic, s->ranges[j].partition, o->batch_id);
            }
            r[k].index = idx;
            r[k].start = s->ranges[j].start;
            r[k].end = s->ranges[j].end;
            k++;
        }
    }
    *out = r;
    *n_out = k;
    return SM_OK;
}

/* The ranges of a new batch: from where the last batch ended (or the starting offsets) to the
 * available_now target, to the high watermark (interval 0), or open (interval). Sets *work when
 * some range has something to read. */
/*
 * When a batch cannot take every bounded range whole, each partition gets a share of the record
 * limit proportional to its backlog, as Spark's Kafka source splits maxOffsetsPerTrigger.
 * Otherwise the batch would fill from whichever partitions the consumer threads reach first,
 * and the watermark (the latest event time over all partitions) would run ahead of the
 * partitions read least, making their on-time rows late. The limit is max_records_per_trigger,
 * and max_bytes_per_trigger in records at the record size seen so far (a little under it, so
 * the byte bound, which stays the backstop, is rarely what cuts the batch).
 */
static int64_t batch_byte_cap(const sm_engine *e);

static void share_limit(const sm_engine *e, sm_range *r, int n)
{
    int64_t limit = e->p->trigger.max_records_per_trigger, total = 0, given = 0;
    if (e->avg_record_bytes > 0) {
        int64_t by_bytes = (int64_t)((double)batch_byte_cap(e) * 0.9 / e->avg_record_bytes);
        by_bytes = by_bytes < 1 ? 1 : by_bytes;
        limit = limit > 0 && limit < by_bytes ? limit : by_bytes;
    }
    if (limit <= 0) {
        return;
    }
    for (int i = 0; i < n; i++) {
        if (r[i].end < 0) {
            return; /* an open range: the trigger's limits cut the batch */
        }
        total += r[i].end - r[i].start;
    }
    if (total <= limit) {
        return;
    }
    for (int i = 0; i < n; i++) {
        given += (int64_t)((double)limit * (double)(r[i].end - r[i].start) / (double)total);
    }
    for (int i = 0; i < n; i++) {
        int64_t lag = r[i].end - r[i].start;
        int64_t take = (int64_t)((double)limit * (double)lag / (double)total);
        if (take < lag && given < limit) { /* what rounding left, one each */
            take++;
            given++;
        }
        r[i].end = r[i].start + (take < lag ? take : lag);
    }
}

static int plan_new(sm_engine *e, const sm_partition_info *parts, int n, sm_range **out, int *n_out,
                    bool *work, sm_error *err)
{
    sm_range *r = sm_arena_calloc(e->batch_arena, sizeof *r * ((size_t)n + 1));
    int64_t *by_time = NULL;
    bool open = !e->available_now && e->p->trigger.interval_ms > 0;
    int rc = SM_OK;

    *work = false;
    if (!r) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if (!e->has_history && e->p->source.kafka.starting == SM_PL_START_TIMESTAMP) {
        bool need = false;
        for (int i = 0; i < n; i++) {
            need = need || e->ends[i] < 0;
        }
        if (need) {
            by_time = sm_arena_alloc(e->batch_arena, sizeof *by_time * ((size_t)n + 1));
            if (!by_time) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            rc = sm_consumer_offsets_for_time(e->cons, e->p->source.kafka.starting_timestamp_ms,
                                              by_time, err);
            if (rc != SM_OK) {
                return rc;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        int64_t start = e->ends[i] >= 0 ? e->ends[i] : first_start(e, &parts[i], i, by_time);
        int64_t end;
        if (e->available_now) {
            end = e->targets[i] > start ? e->targets[i] : start;
        } else if (open) {
            end = -1;
        } else {
            end = parts[i].high > start ? parts[i].high : start;
        }
        r[i].index = i;
        r[i].start = start;
        r[i].end = end;
        if (end < 0 || end > start) {
            *work = true;
        }
    }
    share_limit(e, r, n);
    *out = r;
    *n_out = n;
    return SM_OK;
}

/* ---- the checkpoint entries ---------------------------------------------------------------- */

/* The offsets a range actually covered, as offsets/N records them: [start, next). A partition
 * whose log was re-created behind our back (fail_on_data_loss false) is read again from its
 * beginning, so its next can be below the planned start: it is recorded from the log's start
 * then, so that a re-run reads what was read. */
static void range_read(const sm_partition_info *p, const sm_range *r, int64_t *start, int64_t *end)
{
    *start = r->start;
    *end = r->next > r->start ? r->next : r->start;
    if (r->next >= 0 && r->next < r->start) {
        *start = p->low >= 0 && p->low <= r->next ? p->low : r->next;
        *end = r->next;
    }
}

/* offsets/N from the ranges read: one source per topic, [start, next) per partition. */
static int make_offsets(sm_engine *e, const sm_partition_info *parts, const sm_range *r, int n,
                        sm_ckpt_offsets *o, sm_error *err)
{
    const sm_strlist *topics = &e->p->source.kafka.topics;
    sm_ckpt_source *src = sm_arena_calloc(e->batch_arena, sizeof *src * (topics->count + 1));
    size_t ns = 0;

    if (!src) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (size_t t = 0; t < topics->count; t++) {
        sm_ckpt_range *cr = sm_arena_calloc(e->batch_arena, sizeof *cr * ((size_t)n + 1));
        size_t k = 0;
        if (!cr) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < n; i++) {
            const sm_partition_info *p = &parts[r[i].index];
            if (strcmp(p->topic, topics->items[t]) != 0) {
                continue;
            }
            cr[k].partition = p->partition;
            range_read(p, &r[i], &cr[k].start, &cr[k].end);
            k++;
        }
        src[ns].name = join(e->batch_arena, "kafka:", topics->items[t], "");
        if (!src[ns].name) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        src[ns].n_ranges = k;
        src[ns].ranges = cr;
        ns++;
    }
    memset(o, 0, sizeof *o);
    o->batch_id = e->batch_id;
    o->batch_timestamp_ms = e->batch_ts_ms;
    o->watermark_ms = e->watermark_ms;
    o->config_hash = e->p->config_hash_hex;
    o->n_sources = ns;
    o->sources = src;
    {
        char extra[64];
        snprintf(extra, sizeof extra, "{\"max_record_bytes\":%" PRId64 "}", e->max_record_bytes);
        if (!(o->extra = sm_arena_strdup(e->batch_arena, extra))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    return SM_OK;
}

/* Step 4: offsets/N for a new batch; a re-run checks that it read what offsets/N says. */
static int write_offsets(sm_engine *e, const sm_partition_info *parts, const sm_range *ranges,
                         int n_ranges, sm_error *err)
{
    sm_ckpt_offsets offs;
    int rc;
    if ((rc = make_offsets(e, parts, ranges, n_ranges, &offs, err)) != SM_OK) {
        return rc;
    }
    if (!e->rerun) {
        return sm_ckpt_write_offsets(e->ck, &offs, err);
    }
    for (int i = 0; i < n_ranges; i++) { /* the recorded entry is the truth */
        if (ranges[i].next != ranges[i].end) {
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "batch %" PRId64 ": re-run of kafka topic %s partition %d "
                                "ended at %" PRId64 ", not %" PRId64,
                                e->batch_id, parts[ranges[i].index].topic,
                                parts[ranges[i].index].partition, ranges[i].next, ranges[i].end);
        }
    }
    return SM_OK;
}

/* The max_record_bytes a batch ran with (offsets/N extra), or `dflt` when it does not say. */
static int64_t recorded_max_record(const sm_ckpt_offsets *o, int64_t dflt)
{
    json_t *j, *v;
    int64_t r = dflt;
    if (!o->extra || !(j = json_loads(o->extra, 0, NULL))) {
        return dflt;
    }
    v = json_object_get(j, "max_record_bytes");
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        r = json_integer_value(v);
    }
    json_decref(j);
    return r;
}

/* ---- one batch ----------------------------------------------------------------------------- */

/* Empties the thread contexts once a batch is over (its memory goes back, also while an
 * interval pipeline waits), keeping as a capacity hint the rows of the largest chunk. */
static void threads_release(sm_engine *e)
{
    if (e->silver_arena) {
        sm_arena_reset(e->silver_arena);
    }
    for (int i = 0; i < e->n_threads; i++) {
        tctx *t = &e->threads[i];
        int64_t most = 0;
        for (const chunk *c = t->bronze.head; c; c = c->next) {
            most = c->data->length > most ? c->data->length : most;
        }
        if (most > 0) {
            t->hint_rows = most > (1 << 20) ? (1 << 20) : most;
        }
        if (t->arena) {
            sm_arena_reset(t->arena);
        }
        if (t->sarena) {
            sm_arena_reset(t->sarena);
        }
        memset(&t->bronze, 0, sizeof t->bronze);
        memset(&t->dead, 0, sizeof t->dead);
        if (t->derived) {
            memset(t->derived, 0, sizeof *t->derived * (size_t)e->n_derived);
        }
        pq_share_destroy(t->share);
        t->share = NULL;
        t->bronze_pending = false;
        t->records = t->bytes = 0;
        t->full = t->abandon = t->fatal = false;
        t->fatal_rc = SM_OK;
    }
}

/* Readies the thread contexts for a batch. A re-run reads what the checkpoint says, whatever
 * the limits are now, so its arenas have no bound; new batches get bounded ones. */
static int threads_prepare(sm_engine *e, sm_error *err)
{
    size_t limit = e->rerun ? 0 : e->arena_limit;
    threads_release(e);
    sm_arena_reset(e->silver_arena);
    for (int i = 0; i < e->n_threads; i++) {
        tctx *t = &e->threads[i];
        if (!t->arena || t->arena_limit != limit) {
            sm_arena_destroy(t->arena);
            t->arena = sm_arena_create((size_t)1 << 20, limit);
            t->arena_limit = limit;
            if (!t->arena) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
        }
        if (e->n_derived > 0 && !(t->share = pq_share_create())) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    return SM_OK;
}

/* Input bytes a new batch may read: max_bytes_per_trigger, and max_files_per_trigger files of
 * target_file_size (at the Parquet size per input byte learnt so far). */
static int64_t batch_byte_cap(const sm_engine *e)
{
    const sm_pipeline *p = e->p;
    int64_t cap = (int64_t)p->trigger.max_bytes_per_trigger;
    if (p->trigger.max_files_per_trigger > 0) {
        double files = (double)p->trigger.max_files_per_trigger * (double)e->chunk_cap;
        if (files < (double)cap) {
            cap = (int64_t)files;
        }
    }
    return cap > 0 ? cap : 1;
}

/*
 * Runs one batch. *ran is false when there was nothing to do (available_now caught up, or
 * interval 0 without new records): nothing was written then.
 */
static int run_batch_steps(sm_engine *e, sm_batch_report *rep, bool *ran, sm_error *err)
{
    const sm_partition_info *parts;
    sm_range *ranges = NULL;
    int n_parts = 0, n_ranges = 0, rc;
    bool rerun = e->rerun != NULL, work = true;
    int64_t t0 = sm_mono_ns();
    sm_batch_limits limits = {0};
    sm_ckpt_table *vers;
    sm_ckpt_commit commit;
    table_result *res;
    twrite *tw;
    wqueue q;
    int n_vers = 0;
    int64_t ph[6] = {0}; /* end of: read, silver, offsets+states, files, table commits, event log */

    *ran = false;
    memset(rep, 0, sizeof *rep);
    sm_arena_reset(e->batch_arena);
    if ((rc = threads_prepare(e, err)) != SM_OK) {
        return rc;
    }

    if ((rc = sm_consumer_refresh(e->cons, &parts, &n_parts, err)) != SM_OK ||
        (rc = know_partitions(e, parts, n_parts, err)) != SM_OK) {
        return rc;
    }
    if (e->available_now && !e->targets_set) {
        for (int i = 0; i < n_parts; i++) {
            e->targets[i] = parts[i].high >= 0 ? parts[i].high : 0;
        }
        e->targets_set = true;
    }
    e->batch_id = e->next_batch;
    e->chunk_cap = (int64_t)((double)e->p->trigger.target_file_size / e->ratio);
    if (e->chunk_cap < MIN_CHUNK_BYTES) {
        e->chunk_cap = MIN_CHUNK_BYTES;
    }
    if (rerun) {
        if ((rc = plan_rerun(e, parts, n_parts, &ranges, &n_ranges, err)) != SM_OK) {
            return rc;
        }
        e->batch_ts_ms = e->rerun->batch_timestamp_ms;
        e->max_record_bytes = recorded_max_record(e->rerun, (int64_t)(e->arena_limit / 4));
    } else {
        if ((rc = plan_new(e, parts, n_parts, &ranges, &n_ranges, &work, err)) != SM_OK) {
            return rc;
        }
        /* Nothing to read: no batch — except on a fresh query, whose first batch records
         * where starting_offsets put each partition (so "latest" means the latest at the
         * first run, as in Spark). */
        if (!work && e->has_history && (e->available_now || e->p->trigger.interval_ms == 0)) {
            return SM_OK;
        }
        e->batch_ts_ms = sm_wall_ms();
        e->max_record_bytes = (int64_t)(e->arena_limit / 4);
        limits.max_records = e->p->trigger.max_records_per_trigger;
        limits.max_bytes = batch_byte_cap(e);
        if (!e->available_now && e->p->trigger.interval_ms > 0) {
            limits.deadline_ms = e->batch_ts_ms + e->p->trigger.interval_ms;
        }
    }
    e->batch_ts_us = e->batch_ts_ms * 1000;
    format_date(e->batch_ts_ms, e->date);

    /* 2. read */
    rc = sm_consumer_run_batch(e->cons, ranges, n_ranges, rerun ? NULL : &limits, e->ctxs,
                               on_message, rerun ? NULL : (volatile const int *)e->opts.stop, err);
    if (rc != SM_OK) {
        bool handed_back = false, abandoned = stop_level(e) >= 2;
        for (int i = 0; i < e->n_threads; i++) {
            handed_back = handed_back || e->threads[i].full;
            abandoned = abandoned || e->threads[i].abandon;
            if (e->threads[i].fatal) {
                return sm_error_set(err, e->threads[i].fatal_rc, "batch %" PRId64 ": %s",
                                    e->batch_id, e->threads[i].reason);
            }
        }
        if (rc != SM_ERR_INTERRUPTED || abandoned) {
            if (rc == SM_ERR_INTERRUPTED) {
                sm_error_set(err, SM_ERR_INTERRUPTED,
                             "batch %" PRId64 " abandoned by a second stop request; %s",
                             e->batch_id,
                             rerun ? "it is re-run on restart"
                                   : "nothing of it was recorded: it is read again on restart");
            }
            return rc;
        }
        if (handed_back && rerun) {
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "batch %" PRId64 " cannot be re-run: its records do not fit in "
                                "the engine's memory",
                                e->batch_id);
        }
        /* a message handed back, or the first stop request: the batch closes where it is */
        sm_error_clear(err);
        for (int i = 0; i < e->n_threads; i++) {
            tctx *t = &e->threads[i];
            if (t->full) {
                sm_range *r = &ranges[t->full_range];
                r->next = t->full_offset;
                r->records--;
                r->bytes -= t->full_size;
            }
        }
        if (rerun) {
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "batch %" PRId64 ": re-run interrupted unexpectedly", e->batch_id);
        }
    }
    for (int i = 0; i < e->n_threads; i++) {
        const tctx *t = &e->threads[i];
        rep->records += t->records;
        rep->bytes += t->bytes;
        rep->bronze_rows += t->bronze.rows;
        rep->dead_letters += t->dead.rows;
    }
    if (rep->records > 0) {
        double avg = (double)rep->bytes / (double)rep->records;
        e->avg_record_bytes = e->avg_record_bytes > 0 ? 0.5 * e->avg_record_bytes + 0.5 * avg : avg;
    }
    for (int i = 0; i < n_ranges; i++) {
        if (ranges[i].skipped > 0) { /* only with fail_on_data_loss: false */
            rep->lost += ranges[i].skipped;
            sm_log_warn(COMPONENT,
                        "batch %" PRId64 ": kafka topic %s partition %d: %" PRId64
                        " record(s) from offset %" PRId64
                        " were deleted by retention before they were read; skipped "
                        "(fail_on_data_loss: false)",
                        e->batch_id, parts[ranges[i].index].topic, parts[ranges[i].index].partition,
                        ranges[i].skipped, ranges[i].start);
        }
    }
    if (!rerun && rep->records == 0 && stop_level(e) > 0 && e->has_history) {
        return SM_OK; /* stopping, nothing read: nothing to record */
    }
    crash_point(e, "after_read", NULL);
    ph[0] = sm_mono_ns();
    e->run_ms[0] = (ph[0] - t0) / 1000000;

    /* the bronze and dead-letter tables' files (step 5), queued now: written while the silver
     * tables run */
    tw = sm_arena_calloc(e->batch_arena, sizeof *tw * ((size_t)e->n_tables + 1));
    vers = sm_arena_calloc(e->batch_arena, sizeof *vers * ((size_t)e->n_tables + 1));
    res = sm_arena_calloc(e->batch_arena, sizeof *res * ((size_t)e->n_tables + 1));
    if (!tw || !vers || !res) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < e->n_tables; i++) {
        tw[i].t = &e->tables[i];
        if (!is_derived(&e->tables[i]) && (rc = tw_begin(e, &e->tables[i], &tw[i], err)) != SM_OK) {
            goto tables_done;
        }
    }
    if ((rc = wq_start(e, &q, err)) != SM_OK) {
        goto tables_done;
    }
    for (int i = 0; i < e->n_tables; i++) {
        if (!is_derived(&e->tables[i])) {
            wq_add(e, &q, &tw[i]);
        }
    }
    /* 3. silver: expectations, quarantine, late rows, dedup — before anything is recorded; its
     * tables' files are queued behind the bronze ones as soon as it has decided the batch */
    e->watermark_ms = rerun ? e->rerun->watermark_ms : e->next_wm_ms;
    rep->watermark_ms = e->watermark_ms;
    rc = run_silver(e, rep, err);
    ph[1] = sm_mono_ns();
    for (int i = 0; i < e->n_tables && rc == SM_OK; i++) {
        if (is_derived(&e->tables[i]) && (rc = tw_begin(e, &e->tables[i], &tw[i], err)) == SM_OK) {
            wq_add(e, &q, &tw[i]);
        }
    }

    /* 4. offsets: the batch is decided once no fail rule stopped it */
    if (rc == SM_OK) {
        rc = write_offsets(e, parts, ranges, n_ranges, err);
    }
    if (rc == SM_OK) {
        crash_point(e, "after_offsets", NULL);
        /* the dedup states, evicted and saved while the files are written */
        rc = save_states(e, err);
    }
    ph[2] = sm_mono_ns();
    wq_finish(&q, rc != SM_OK);
    ph[3] = sm_mono_ns();
    for (int i = 0; i < e->n_threads; i++) { /* every file is written: the shares are done */
        pq_share_destroy(e->threads[i].share);
        e->threads[i].share = NULL;
    }
    if (rc != SM_OK) {
        goto tables_done;
    }
    crash_point(e, "after_state", NULL);

    /* 5. the tables' commits, in order, once every file is written */
    for (int i = 0; i < e->n_tables; i++) {
        if (stop_level(e) >= 2) {
            rc = SM_ERR_INTERRUPTED;
        } else {
            rc = tw_commit(e, &tw[i], err);
        }
        if (rc != SM_OK) {
            if (rc == SM_ERR_INTERRUPTED) {
                sm_error_set(err, SM_ERR_INTERRUPTED,
                             "batch %" PRId64 " abandoned by a second stop request; it is "
                             "re-run on restart",
                             e->batch_id);
            }
            goto tables_done;
        }
        res[i] = tw[i].res;
        rep->files += res[i].files;
        if (res[i].version >= 0) {
            vers[n_vers].name = e->tables[i].name;
            vers[n_vers].version = res[i].version;
            n_vers++;
        }
    }
tables_done:
    ph[4] = sm_mono_ns();
    for (int i = 0; i < e->n_tables; i++) {
        tw_end(e, &tw[i]);
    }
    if (rc != SM_OK) {
        return rc;
    }

    /* the event log, then the batch is done */
    e->run_ms[1] = (sm_mono_ns() - t0) / 1000000 - e->run_ms[0];
    if ((rc = write_event_log(e, rep, res, err)) != SM_OK) {
        sm_error_prefix(err, "event log %s/_system/event_log: batch %" PRId64, e->p->lake,
                        e->batch_id);
        return rc;
    }
    crash_point(e, "after_event_log", NULL);
    ph[5] = sm_mono_ns();

    /* 6. commit */
    memset(&commit, 0, sizeof commit);
    commit.batch_id = e->batch_id;
    commit.watermark_ms = e->next_wm_ms;
    commit.n_tables = (size_t)n_vers;
    commit.tables = vers;
    if ((rc = sm_ckpt_write_commit(e->ck, &commit, err)) != SM_OK) {
        return rc;
    }
    crash_point(e, "after_commits", NULL);
    {
        sm_error cerr;
        if (sm_consumer_commit(e->cons, ranges, n_ranges, &cerr) != SM_OK) {
            sm_log_warn(COMPONENT, "batch %" PRId64 ": %s (lag tools only; the checkpoint has it)",
                        e->batch_id, cerr.msg);
        }
    }
    {
        sm_error perr;
        int64_t deleted = 0;
        if (sm_ckpt_purge(e->ck, e->p->checkpoint.retention_batches, &deleted, &perr) != SM_OK) {
            sm_log_warn(COMPONENT, "checkpoint retention: %s", perr.msg);
        }
    }

    for (int i = 0; i < e->n_tables; i++) {
        const eng_table *t = &e->tables[i];
        const sm_silver_counts *c;
        if (t->kind != T_SILVER) {
            continue;
        }
        c = sm_silver_counts_of(t->silver);
        t->tot->input += c->input;
        t->tot->output += c->output;
        t->tot->quarantined += c->quarantined;
        t->tot->duplicates += c->duplicates;
        t->tot->late += c->late;
        t->tot->late_dropped += c->late_dropped;
        for (int r = 0; r < t->tot->n_rules; r++) {
            t->tot->passed[r] += c->passed[r];
            t->tot->failed[r] += c->failed[r];
        }
    }

    /* the next batch starts where this one ended */
    for (int i = 0; i < n_ranges; i++) {
        int64_t start;
        range_read(&parts[ranges[i].index], &ranges[i], &start, &e->ends[ranges[i].index]);
    }
    e->has_history = true;
    e->rerun = NULL;
    e->next_batch = e->batch_id + 1;

    rep->batch_id = e->batch_id;
    rep->rerun = rerun;
    rep->batch_timestamp_ms = e->batch_ts_ms;
    for (int i = 0; i < n_parts; i++) {
        int64_t behind = parts[i].high - (e->ends[i] >= 0 ? e->ends[i] : parts[i].high);
        rep->lag += behind > 0 ? behind : 0;
    }
    rep->duration_ms = (sm_mono_ns() - t0) / 1000000;
    sm_log_debug(COMPONENT,
                 "batch %" PRId64 " took %" PRId64 " ms: read %.3f s, silver %.3f s, offsets "
                 "and states %.3f s, files %.3f s more, table commits %.3f s, event log %.3f s, "
                 "checkpoint commit %.3f s",
                 e->batch_id, rep->duration_ms, (double)(ph[0] - t0) / 1e9,
                 (double)(ph[1] - ph[0]) / 1e9, (double)(ph[2] - ph[1]) / 1e9,
                 (double)(ph[3] - ph[2]) / 1e9, (double)(ph[4] - ph[3]) / 1e9,
                 (double)(ph[5] - ph[4]) / 1e9, (double)(sm_mono_ns() - ph[5]) / 1e9);
    *ran = true;
    return SM_OK;
}

static int run_batch(sm_engine *e, sm_batch_report *rep, bool *ran, sm_error *err)
{
    int rc = run_batch_steps(e, rep, ran, err);
    threads_release(e);
    return rc;
}

/* ---- the public API ------------------------------------------------------------------------ */

static bool caught_up(const sm_engine *e)
{
    if (!e->targets_set) {
        return false;
    }
    for (int i = 0; i < e->n_known; i++) {
        if (e->targets[i] >= 0 && e->ends[i] < e->targets[i]) {
            return false;
        }
    }
    return true;
}

int sm_engine_run(sm_engine *e, sm_error *err)
{
    int64_t batches = 0;
    sm_error_clear(err);
    for (;;) {
        sm_batch_report rep;
        bool ran;
        int rc;

        if (stop_level(e) >= 2) {
            return sm_error_set(err, SM_ERR_INTERRUPTED, "stopped by a second stop request");
        }
        if (stop_level(e) == 1) {
            sm_log_debug(COMPONENT, "stop requested: stopping after batch %" PRId64,
                         e->next_batch - 1);
            return SM_OK;
        }
        if (e->opts.max_batches > 0 && batches >= e->opts.max_batches) {
            return SM_OK;
        }
        if (e->available_now && !e->rerun && caught_up(e)) {
            sm_log_debug(COMPONENT, "available_now: caught up with the end offsets seen at start");
            return SM_OK;
        }
        rc = run_batch(e, &rep, &ran, err);
        if (rc != SM_OK) {
            return rc;
        }
        if (!ran) {
            if (stop_level(e) > 0) {
                continue;
            }
            if (e->available_now) {
                sm_log_debug(COMPONENT,
                             "available_now: caught up with the end offsets seen at start");
                return SM_OK;
            }
            /* interval 0 and nothing new: look again shortly */
            for (int64_t waited = 0; waited < IDLE_POLL_MS && stop_level(e) == 0; waited += 20) {
                sm_sleep_ms(20);
            }
            continue;
        }
        batches++;
        e->totals.batch_id++;
        e->totals.records += rep.records;
        e->totals.bytes += rep.bytes;
        e->totals.bronze_rows += rep.bronze_rows;
        e->totals.dead_letters += rep.dead_letters;
        e->totals.silver_rows += rep.silver_rows;
        e->totals.quarantined += rep.quarantined;
        e->totals.duplicates += rep.duplicates;
        e->totals.late += rep.late;
        e->totals.late_dropped += rep.late_dropped;
        e->totals.watermark_ms = rep.watermark_ms;
        e->totals.lost += rep.lost;
        e->totals.files += rep.files;
        e->totals.lag = rep.lag;
        e->totals.duration_ms += rep.duration_ms;
        e->totals.batch_timestamp_ms = rep.batch_timestamp_ms;
        if (e->opts.on_batch) {
            e->opts.on_batch(&rep, e->opts.ctx);
        }
    }
}

void sm_engine_totals(const sm_engine *e, sm_batch_report *out)
{
    *out = e->totals;
}

int sm_engine_silver_totals(const sm_engine *e, sm_table_totals *out, int max)
{
    int n = 0;
    for (int i = 0; i < e->n_tables && n < max; i++) {
        if (e->tables[i].kind == T_SILVER) {
            out[n++] = *e->tables[i].tot;
        }
    }
    return n;
}

void sm_engine_close(sm_engine *e)
{
    if (!e) {
        return;
    }
    sm_consumer_close(e->cons);
    for (int i = 0; e->tables && i < e->n_tables; i++) {
        if (e->tables[i].kind == T_SILVER) {
            sm_silver_free(e->tables[i].silver);
        }
    }
    for (int i = 0; e->threads && i < e->n_threads; i++) {
        sm_source_decoder_free(e->threads[i].dec);
        free(e->threads[i].derived);
        sm_arena_destroy(e->threads[i].sarena);
        sm_arena_destroy(e->threads[i].arena);
        pq_share_destroy(e->threads[i].share);
    }
    free(e->threads);
    free(e->ctxs);
    free(e->ends);
    free(e->targets);
    sm_ckpt_close(e->ck);
    sm_source_close(e->src);
    sm_arena_destroy(e->plan_arena);
    sm_arena_destroy(e->batch_arena);
    sm_arena_destroy(e->silver_arena);
    sm_arena_destroy(e->arena);
    free(e);
}

/* A bronze table reads the source; the silver tables run are those reading a bronze table. */
static bool is_bronze(const sm_pl_table *pt)
{
    return pt->layer == SM_PL_BRONZE && !pt->from;
}

static bool reads_bronze(const sm_pipeline *p, const sm_pl_table *pt)
{
    return pt->layer == SM_PL_SILVER && pt->from_index >= 0 &&
           is_bronze(&p->tables[pt->from_index]);
}

/* A silver table reading a bronze table, and its quarantine and late tables right after it. */
static int pick_silver(sm_engine *e, const sm_pl_table *pt, int *n, sm_error *err)
{
    const sm_pipeline *p = e->p;
    eng_table *t = &e->tables[(*n)++];
    int rc;
    if (pt->partition_by.count > 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: table %s: partitioned silver tables are not supported yet; "
                            "remove partition_by",
                            p->file, pt->name);
    }
    t->name = pt->name;
    t->path = pt->path;
    t->kind = T_SILVER;
    t->slot = e->n_derived++;
    t->from = pt->from;
    t->pt = pt;
    if ((rc = sm_silver_new(p, pt, e->bronze_table, &t->silver, err)) != SM_OK) {
        return rc;
    }
    t->table_schema = t->file_schema = sm_silver_schema(t->silver);
    if (!(t->tot = sm_arena_calloc(e->arena, sizeof *t->tot))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    t->tot->name = pt->name;
    t->tot->quarantine = pt->quarantine;
    t->tot->n_rules = (int)pt->n_expectations;
    for (size_t r = 0; r < pt->n_expectations && r < 64; r++) {
        t->tot->rule[r] = pt->expectations[r].name;
        t->tot->on_violation[r] = pt->expectations[r].on_violation;
    }
    for (int which = SM_SILVER_QUARANTINE; which <= SM_SILVER_LATE; which++) {
        const char *name = which == SM_SILVER_QUARANTINE ? pt->quarantine : pt->late;
        eng_table *q;
        if (!name) {
            continue;
        }
        q = &e->tables[(*n)++];
        q->name = name;
        q->path = join(e->arena, p->lake, "/silver/", name);
        q->kind = which == SM_SILVER_QUARANTINE ? T_QUARANTINE : T_LATE;
        q->slot = e->n_derived++;
        q->from = pt->name;
        q->silver = t->silver;
        q->table_schema = q->file_schema = which == SM_SILVER_QUARANTINE
                                               ? sm_silver_quarantine_schema(t->silver)
                                               : sm_silver_late_schema(t->silver);
        if (!q->path) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    return SM_OK;
}

/* The tables run: bronze tables (no from:), silver tables reading a bronze table with their
 * quarantine tables, then the dead-letter table. Gold tables, and silver tables reading a
 * silver table, are left for later with one warning. */
static int pick_tables(sm_engine *e, sm_error *err)
{
    const sm_pipeline *p = e->p;
    sm_buf later = SM_BUF_INIT;
    int n = 0;

    e->tables = sm_arena_calloc(e->arena, sizeof *e->tables * (3 * p->n_tables + 1));
    if (!e->tables) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_pl_table *pt = &p->tables[i];
        eng_table *t;
        if (!is_bronze(pt)) {
            continue; /* silver after the bronze tables; the rest is named below */
        }
        t = &e->tables[n++];
        t->name = pt->name;
        t->path = pt->path;
        t->pt = pt;
        t->table_schema = e->bronze_table;
        t->file_schema = e->bronze_file;
        if (pt->partition_by.count == 0) {
            t->partitioned = false;
        } else if (pt->partition_by.count == 1 &&
                   strcmp(pt->partition_by.items[0], PARTITION_COLUMN) == 0) {
            t->partitioned = true;
        } else {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: table %s: a bronze table is partitioned by _ingestion_date "
                                "or not at all (partition_by: []); other partition columns are "
                                "not supported yet",
                                p->file, pt->name);
        }
    }
    if (n == 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: the pipeline has no bronze table (a table with layer bronze and "
                            "no from:) to write the records to",
                            p->file);
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_pl_table *pt = &p->tables[i];
        int rc;
        if (reads_bronze(p, pt) && (rc = pick_silver(e, pt, &n, err)) != SM_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        const sm_pl_table *pt = &p->tables[i];
        if (!is_bronze(pt) && !reads_bronze(p, pt)) {
            if (later.len) {
                sm_buf_append(&later, ", ", 2, NULL);
            }
            sm_buf_append(&later, pt->name, strlen(pt->name), NULL);
        }
    }
    if (later.len) {
        sm_log_warn(COMPONENT,
                    "tables %.*s are not run yet: this version writes bronze tables, silver "
                    "tables reading a bronze table, and the quarantine and dead-letter tables",
                    (int)later.len, (const char *)later.data);
    }
    sm_buf_free(&later);
    {
        eng_table *d = &e->tables[n++];
        d->name = p->dead_letter_table;
        d->path = join(e->arena, p->lake, "/bronze/", p->dead_letter_table);
        d->dead_letter = true;
        d->kind = T_DEAD;
        d->partitioned = true;
        d->table_schema = e->dead_table;
        d->file_schema = e->dead_file;
        if (!d->path) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    e->n_tables = n;
    return SM_OK;
}

static int open_consumer(sm_engine *e, sm_error *err)
{
    const sm_pipeline *p = e->p;
    sm_consumer_conf cc;
    sm_consumer_conf_default(&cc);
    cc.bootstrap_servers = p->source.kafka.bootstrap_servers;
    cc.n_topics = (int)p->source.kafka.topics.count;
    cc.topics = p->source.kafka.topics.items;
    cc.group_id = p->source.kafka.group_id;
    cc.n_options = (int)p->source.kafka.options.count;
    cc.option_keys = p->source.kafka.options.keys;
    cc.option_values = p->source.kafka.options.values;
    cc.threads = (int)p->source.kafka.consumer_threads;
    cc.fail_on_data_loss = p->source.kafka.fail_on_data_loss;
    /* records fetched ahead count against the memory bound too: a quarter of the batch's
     * bytes, within [8 MiB, 64 MiB] */
    cc.prefetch_bytes = (int64_t)(p->trigger.max_bytes_per_trigger / 4);
    if (cc.prefetch_bytes < ((int64_t)8 << 20)) {
        cc.prefetch_bytes = (int64_t)8 << 20;
    } else if (cc.prefetch_bytes > ((int64_t)64 << 20)) {
        cc.prefetch_bytes = (int64_t)64 << 20;
    }
    return sm_consumer_open(&cc, &e->cons, err);
}

int sm_engine_open(const sm_pipeline *p, const sm_engine_opts *opts, sm_engine **out, sm_error *err)
{
    sm_engine *e;
    sm_ckpt_recovery plan;
    int rc;

    *out = NULL;
    sm_error_clear(err);
    e = calloc(1, sizeof *e);
    if (!e) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    e->p = p;
    if (opts) {
        e->opts = *opts;
    }
    e->available_now = e->opts.available_now || p->trigger.available_now;
    e->ratio = 0.5;
    e->arena = sm_arena_create(0, 0);
    e->plan_arena = sm_arena_create(0, 0);
    e->batch_arena = sm_arena_create(0, 0);
    e->silver_arena = sm_arena_create(0, 0);
    if (!e->arena || !e->plan_arena || !e->batch_arena || !e->silver_arena) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = crash_parse(getenv("SMELTER_CRASH_AT"), &e->crash, err)) != SM_OK ||
        (rc = parse_starts(e, err)) != SM_OK) {
        goto fail;
    }
    if ((rc = sm_source_open(p, &e->src, err)) != SM_OK) {
        goto fail;
    }
    e->root = sm_source_schema(e->src);
    if ((rc = build_schemas(e, err)) != SM_OK || (rc = pick_tables(e, err)) != SM_OK) {
        goto fail;
    }

    /* the checkpoint and what to do first */
    if ((rc = sm_ckpt_open(p->checkpoint.location, true, &e->ck, err)) != SM_OK ||
        (rc = sm_ckpt_plan(e->ck, e->plan_arena, &plan, err)) != SM_OK) {
        goto fail;
    }
    e->query_id = sm_ckpt_query_id(e->ck);
    e->next_batch = plan.next_batch_id;
    e->rerun = plan.rerun ? plan.rerun_offsets : NULL;
    e->committed = plan.committed_offsets;
    e->has_history = plan.last_committed >= 0;
    e->next_wm_ms = plan.last_commit ? plan.last_commit->watermark_ms : 0;
    if ((rc = load_states(e, plan.last_committed, err)) != SM_OK) {
        goto fail;
    }
    if (e->rerun) {
        const char *h = e->rerun->config_hash ? e->rerun->config_hash : "";
        if (strcmp(h, p->config_hash_hex) != 0) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s/offsets/%" PRId64 " was read with configuration %s, the "
                              "pipeline file now has %s: batch %" PRId64
                              " must be re-run with the configuration it was read with (topics, "
                              "format, schema, watermark, tables). Restore that configuration, "
                              "let the batch finish, then change it",
                              p->checkpoint.location, e->rerun->batch_id, h, p->config_hash_hex,
                              e->rerun->batch_id);
            goto fail;
        }
    }

    /* the tables: bronze tables exist from the start (the dead-letter table from its first
     * row) */
    for (int i = 0; i < e->n_tables; i++) {
        eng_table *t = &e->tables[i];
        int64_t v = -1;
        if (t->kind == T_BRONZE || t->kind == T_SILVER) {
            rc = table_ensure(e, t, err);
        } else if ((rc = delta_latest_version(t->path, &v, err)) == SM_OK && v >= 0) {
            rc = table_ensure(e, t, err);
        }
        if (rc != SM_OK) {
            goto fail;
        }
    }

    /* the consumer and a context per consumer thread */
    if ((rc = open_consumer(e, err)) != SM_OK) {
        goto fail;
    }
    e->n_threads = sm_consumer_threads(e->cons);
    e->threads = calloc((size_t)e->n_threads, sizeof *e->threads);
    e->ctxs = calloc((size_t)e->n_threads, sizeof *e->ctxs);
    if (!e->threads || !e->ctxs) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    {
        /* a thread's share of the batch, twice over for column growth, plus slack */
        int64_t share = (int64_t)p->trigger.max_bytes_per_trigger / e->n_threads;
        const char *forced = getenv("SMELTER_ARENA_LIMIT");
        e->arena_limit = (size_t)share * 2 + ARENA_SLACK;
        if (forced && *forced) {
            char *end;
            unsigned long long v = strtoull(forced, &end, 10);
            if (*end != '\0' || v < 4096) {
                rc = sm_error_set(err, SM_ERR_USAGE,
                                  "SMELTER_ARENA_LIMIT=%s: expected a number of bytes >= 4096",
                                  forced);
                goto fail;
            }
            e->arena_limit = (size_t)v;
        }
    }
    for (int i = 0; i < e->n_threads; i++) {
        tctx *t = &e->threads[i];
        t->e = e;
        t->id = i;
        if (e->n_derived > 0 && !(t->derived = calloc((size_t)e->n_derived, sizeof *t->derived))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (!(t->sarena = sm_arena_create(0, 0))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if ((rc = sm_source_decoder_new(e->src, &t->dec, err)) != SM_OK) {
            goto fail;
        }
        e->ctxs[i] = t;
    }
    sm_log_info(COMPONENT, "pipeline %s: query %s, %s batch %" PRId64 ", %d consumer thread(s)%s",
                p->name, e->query_id, e->rerun ? "re-running" : "starting at", e->next_batch,
                e->n_threads, e->available_now ? ", available_now" : "");
    *out = e;
    return SM_OK;

fail:
    sm_engine_close(e);
    return rc;
}
