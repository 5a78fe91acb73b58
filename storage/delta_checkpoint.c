/*
 * Classic Delta checkpoints (PROTOCOL.md "Checkpoints", V1 spec): the state of one version —
 * protocol, metaData, txns, active adds, unexpired removes, domain metadata — as one Parquet
 * file `_delta_log/%020d.checkpoint.parquet`, one action per row, then `_last_checkpoint`.
 *
 * The schema is Spark's, column for column (names, nesting, map<string,string>, list<string>,
 * every field optional), so that Spark, delta-rs, DuckDB and our own reader read it as they
 * read a checkpoint Spark wrote. As Spark does, adds and removes are written with
 * dataChange=false (a checkpoint is a state, not a change), removes without stats or tags.
 *
 * DESIGN: a checkpoint must say exactly what replaying the log says, or readers that start from
 * it see another table. So a snapshot holding what these columns cannot carry faithfully —
 * deletion vectors (the snapshot keeps only their id), row tracking, v2 checkpoints — is
 * refused, never written lossy. The file goes through the Parquet writer's durable close, so it
 * is complete or absent; `_last_checkpoint` is replaced only after it, and never moved back to
 * an older version than the one it names.
 */
#include "storage/delta.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "storage/codec.h"
#include "storage/delta_internal.h"
#include "storage/parquet_writer.h"

#define ROWS_PER_BATCH 4096
#define WEEK_MS        (7LL * 24 * 3600 * 1000)

/* Top-level columns, in Spark's order. */
enum { C_TXN, C_ADD, C_REMOVE, C_METADATA, C_PROTOCOL, C_DOMAIN, C_COUNT };

/* ---- schema ------------------------------------------------------------------------------ */

static sm_field *f_str(sm_arena *a, const char *name)
{
    return sm_field_new(a, name, SM_STRING, true);
}

static sm_field *f_i64(sm_arena *a, const char *name)
{
    return sm_field_new(a, name, SM_INT64, true);
}

static sm_field *f_map(sm_arena *a, const char *name)
{
    sm_field *k = sm_field_new(a, "key", SM_STRING, false);
    sm_field *v = f_str(a, "value");
    return k && v ? sm_field_map(a, name, k, v, true) : NULL;
}

static sm_field *f_list(sm_arena *a, const char *name)
{
    sm_field *e = f_str(a, "element");
    return e ? sm_field_list(a, name, e, true) : NULL;
}

static sm_field *f_struct(sm_arena *a, const char *name, sm_field **children, int n)
{
    for (int i = 0; i < n; i++) {
        if (!children[i]) {
            return NULL;
        }
    }
    return sm_field_struct(a, name, children, n, true);
}

static sm_field *f_dv(sm_arena *a)
{
    sm_field *c[] = {f_str(a, "storageType"),
                     f_str(a, "pathOrInlineDv"),
                     sm_field_new(a, "offset", SM_INT32, true),
                     sm_field_new(a, "sizeInBytes", SM_INT32, true),
                     f_i64(a, "cardinality"),
                     f_i64(a, "maxRowIndex")};
    return f_struct(a, "deletionVector", c, 6);
}

sm_field *delta_checkpoint_schema(sm_arena *arena)
{
    sm_arena *a = arena;
    sm_field *txn[] = {f_str(a, "appId"), f_i64(a, "version"), f_i64(a, "lastUpdated")};
    sm_field *add[] = {f_str(a, "path"),
                       f_map(a, "partitionValues"),
                       f_i64(a, "size"),
                       f_i64(a, "modificationTime"),
                       sm_field_new(a, "dataChange", SM_BOOL, true),
                       f_map(a, "tags"),
                       f_dv(a),
                       f_i64(a, "baseRowId"),
                       f_i64(a, "defaultRowCommitVersion"),
                       f_str(a, "stats")};
    sm_field *remove[] = {f_str(a, "path"),
                          f_i64(a, "deletionTimestamp"),
                          sm_field_new(a, "dataChange", SM_BOOL, true),
                          sm_field_new(a, "extendedFileMetadata", SM_BOOL, true),
                          f_map(a, "partitionValues"),
                          f_i64(a, "size"),
                          f_dv(a),
                          f_i64(a, "baseRowId"),
                          f_i64(a, "defaultRowCommitVersion")};
    sm_field *format[] = {f_str(a, "provider"), f_map(a, "options")};
    sm_field *md[] = {f_str(a, "id"),
                      f_str(a, "name"),
                      f_str(a, "description"),
                      f_struct(a, "format", format, 2),
                      f_str(a, "schemaString"),
                      f_list(a, "partitionColumns"),
                      f_map(a, "configuration"),
                      f_i64(a, "createdTime")};
    sm_field *proto[] = {sm_field_new(a, "minReaderVersion", SM_INT32, true),
                         sm_field_new(a, "minWriterVersion", SM_INT32, true),
                         f_list(a, "readerFeatures"), f_list(a, "writerFeatures")};
    sm_field *domain[] = {f_str(a, "domain"), f_str(a, "configuration"),
                          sm_field_new(a, "removed", SM_BOOL, true)};
    sm_field *top[] = {f_struct(a, "txn", txn, 3),        f_struct(a, "add", add, 10),
                       f_struct(a, "remove", remove, 9),  f_struct(a, "metaData", md, 8),
                       f_struct(a, "protocol", proto, 4), f_struct(a, "domainMetadata", domain, 3)};
    for (int i = 0; i < C_COUNT; i++) {
        if (!top[i]) {
            return NULL;
        }
    }
    return sm_field_struct(a, "spark_schema", top, C_COUNT, false);
}

/* ---- rows -------------------------------------------------------------------------------- */

/* A batch of rows being built; `ok` turns false at the first allocation that fails. */
typedef struct rows {
    sm_arena *a;
    const sm_field *schema;
    sm_column *root;
    bool ok;
} rows;

static void chk(rows *r, int rc)
{
    if (rc) {
        r->ok = false;
    }
}

static void put_str(rows *r, sm_column *c, const char *s)
{
    chk(r, s ? sm_column_append_bytes(r->a, c, s, strlen(s)) : sm_column_append_null(r->a, c));
}

static void put_i64(rows *r, sm_column *c, int64_t v, bool present)
{
    chk(r, present ? sm_column_append_i64(r->a, c, v) : sm_column_append_null(r->a, c));
}

static void put_bool(rows *r, sm_column *c, bool v)
{
    uint8_t b = v;
    chk(r, sm_column_append_fixed(r->a, c, &b));
}

static void put_null(rows *r, sm_column *c)
{
    chk(r, sm_column_append_null(r->a, c));
}

static void put_map(rows *r, sm_column *c, const delta_kv *kv, int n)
{
    sm_column *entries = c->children[0];
    for (int i = 0; i < n; i++) {
        chk(r, sm_column_append_valid(r->a, entries));
        put_str(r, entries->children[0], kv[i].key ? kv[i].key : "");
        put_str(r, entries->children[1], kv[i].value);
    }
    chk(r, sm_column_list_end(r->a, c));
}

static void put_list(rows *r, sm_column *c, const char *const *s, int n)
{
    for (int i = 0; i < n; i++) {
        put_str(r, c->children[0], s[i]);
    }
    chk(r, sm_column_list_end(r->a, c));
}

/* Starts a row whose action is top-level column `which`: the others are null. Returns the
 * struct column of the action, marked valid; the caller appends one value to each child. */
static sm_column *row_begin(rows *r, int which)
{
    chk(r, sm_column_append_valid(r->a, r->root));
    for (int i = 0; i < C_COUNT; i++) {
        if (i != which) {
            put_null(r, r->root->children[i]);
        }
    }
    sm_column *c = r->root->children[which];
    chk(r, sm_column_append_valid(r->a, c));
    return c;
}

static void row_txn(rows *r, const delta_txn *t)
{
    sm_column *c = row_begin(r, C_TXN);
    put_str(r, c->children[0], t->app_id);
    put_i64(r, c->children[1], t->version, true);
    put_i64(r, c->children[2], t->last_updated, t->last_updated != 0);
}

static void row_add(rows *r, const delta_file *f)
{
    sm_column *c = row_begin(r, C_ADD);
    put_str(r, c->children[0], f->path);
    put_map(r, c->children[1], f->partition_values, f->n_partition_values);
    put_i64(r, c->children[2], f->size, f->size >= 0);
    put_i64(r, c->children[3], f->modification_time, true);
    put_bool(r, c->children[4], false);
    if (f->n_tags) {
        put_map(r, c->children[5], f->tags, f->n_tags);
    } else {
        put_null(r, c->children[5]);
    }
    put_null(r, c->children[6]); /* deletionVector */
    put_null(r, c->children[7]); /* baseRowId */
    put_null(r, c->children[8]); /* defaultRowCommitVersion */
    put_str(r, c->children[9], f->stats);
}

static void row_remove(rows *r, const delta_file *f)
{
    sm_column *c = row_begin(r, C_REMOVE);
    bool extended = f->size >= 0;
    put_str(r, c->children[0], f->path);
    put_i64(r, c->children[1], f->deletion_timestamp, true);
    put_bool(r, c->children[2], false);
    put_bool(r, c->children[3], extended);
    put_map(r, c->children[4], f->partition_values, f->n_partition_values);
    put_i64(r, c->children[5], f->size, extended);
    put_null(r, c->children[6]);
    put_null(r, c->children[7]);
    put_null(r, c->children[8]);
}

static void row_metadata(rows *r, const delta_metadata *m)
{
    sm_column *c = row_begin(r, C_METADATA);
    sm_column *fmt = c->children[3];
    put_str(r, c->children[0], m->id);
    put_str(r, c->children[1], m->name);
    put_str(r, c->children[2], m->description);
    chk(r, sm_column_append_valid(r->a, fmt));
    put_str(r, fmt->children[0], m->format ? m->format : "parquet");
    put_map(r, fmt->children[1], NULL, 0);
    put_str(r, c->children[4], m->schema_string);
    put_list(r, c->children[5], m->partition_columns, m->n_partition_columns);
    put_map(r, c->children[6], m->configuration, m->n_configuration);
    put_i64(r, c->children[7], m->created_time, m->created_time != 0);
}

static void row_protocol(rows *r, const delta_protocol *p)
{
    sm_column *c = row_begin(r, C_PROTOCOL);
    put_i64(r, c->children[0], p->min_reader_version, true);
    put_i64(r, c->children[1], p->min_writer_version, true);
    /* PROTOCOL.md "Checkpoint Schema": the feature lists are set exactly when the versions
     * call for them, null otherwise */
    if (p->min_reader_version >= 3) {
        put_list(r, c->children[2], p->reader_features, p->n_reader_features);
    } else {
        put_null(r, c->children[2]);
    }
    if (p->min_writer_version >= 7) {
        put_list(r, c->children[3], p->writer_features, p->n_writer_features);
    } else {
        put_null(r, c->children[3]);
    }
}

static void row_domain(rows *r, const delta_domain *d)
{
    sm_column *c = row_begin(r, C_DOMAIN);
    put_str(r, c->children[0], d->domain);
    put_str(r, c->children[1], d->configuration ? d->configuration : "");
    put_bool(r, c->children[2], false);
}

static int rows_reset(rows *r, sm_error *err)
{
    sm_arena_reset(r->a);
    r->ok = true;
    if (!(r->root = sm_column_new(r->a, r->schema, ROWS_PER_BATCH))) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint: out of memory");
    }
    return SM_OK;
}

/* Writes the rows built so far, if there are enough (or `force`), and starts a new batch. */
static int rows_flush(rows *r, pq_writer *w, bool force, sm_error *err)
{
    int rc;
    if (!r->ok) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint: out of memory building rows");
    }
    if (r->root->length == 0 || (!force && r->root->length < ROWS_PER_BATCH)) {
        return SM_OK;
    }
    if ((rc = pq_writer_write(w, r->root, err))) {
        return rc;
    }
    return rows_reset(r, err);
}

/* ---- retention --------------------------------------------------------------------------- */

/* Parses a CalendarInterval string as Spark writes table properties ("interval 1 week",
 * "168 hours", "interval 7 days 12 hours") into milliseconds; -1 when it does not parse. */
static int64_t parse_interval_ms(const char *s)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"week", WEEK_MS},  {"day", 86400000LL}, {"hour", 3600000LL}, {"minute", 60000LL},
                 {"second", 1000LL}, {"millisecond", 1},  {"microsecond", 0}};
    int64_t total = 0;
    int terms = 0;
    const char *p = s;

    if (!s) {
        return -1;
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (strncasecmp(p, "interval", 8) == 0 && (isspace((unsigned char)p[8]) || !p[8])) {
        p += 8;
    }
    for (;;) {
        char *end;
        long long n;
        size_t len = 0;
        bool matched = false;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        n = strtoll(p, &end, 10);
        if (end == p || n < 0 || n > 100000000LL) {
            return -1;
        }
        p = end;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        while (isalpha((unsigned char)p[len])) {
            len++;
        }
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t ul = strlen(units[i].unit);
            if ((len == ul || (len == ul + 1 && tolower((unsigned char)p[ul]) == 's')) &&
                strncasecmp(p, units[i].unit, ul) == 0) {
                total += units[i].ms ? n * units[i].ms : n / 1000;
                matched = true;
                break;
            }
        }
        if (!matched) {
            return -1;
        }
        p += len;
        terms++;
    }
    return terms ? total : -1;
}

/* ---- _last_checkpoint -------------------------------------------------------------------- */

/* The version _last_checkpoint names, or -1 when there is none or it does not parse. */
static int64_t last_checkpoint_version(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int64_t v = -1;
    if (sm_read_file(path, 1 << 20, &data, &len, NULL) == SM_OK) {
        json_t *o = json_loadb(data, len, 0, NULL);
        json_t *jv = json_object_get(o, "version");
        if (json_is_integer(jv)) {
            v = json_integer_value(jv);
        }
        json_decref(o);
    }
    free(data);
    return v;
}

static int write_last_checkpoint(const char *table, int64_t version, int64_t size,
                                 int64_t size_in_bytes, int64_t n_adds, sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    char text[256];
    int rc, n;
    size_t tl = strlen(table);

    while (tl > 1 && table[tl - 1] == '/') {
        tl--;
    }
    if (sm_buf_append(&path, table, tl, err) ||
        sm_buf_append(&path, "/" DELTA_LOG_DIR "/" DELTA_LAST_CKPT,
                      strlen("/" DELTA_LOG_DIR "/" DELTA_LAST_CKPT) + 1, err)) {
        sm_buf_free(&path);
        return SM_ERR_NOMEM;
    }
    int64_t current = last_checkpoint_version((const char *)path.data);
    if (current > version) {
        sm_log_debug("delta",
                     "%s: _last_checkpoint already names version %" PRId64 ", newer than %" PRId64
                     "; left as it is",
                     table, current, version);
        sm_buf_free(&path);
        return SM_OK;
    }
    n = snprintf(text, sizeof text,
                 "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%" PRId64
                 ",\"numOfAddFiles\":%" PRId64 "}",
                 version, size, size_in_bytes, n_adds);
    rc = sm_durable_write_file((const char *)path.data, text, (size_t)n, SM_DURABLE_REPLACE, err);
    if (rc) {
        sm_error_prefix(err, "%s: checkpoint %" PRId64, table, version);
    }
    sm_buf_free(&path);
    return rc;
}

/* ---- the checkpoint ---------------------------------------------------------------------- */

/* Refuses a snapshot this V1 checkpoint cannot hold without losing something. */
static int check_writable(const char *table, const delta_snapshot *s, sm_error *err)
{
    static const char *const lossy[] = {"rowTracking", "v2Checkpoint", "catalogManaged",
                                        "catalogOwned-preview"};
    for (int i = 0; i < s->protocol.n_writer_features; i++) {
        for (size_t k = 0; k < sizeof lossy / sizeof lossy[0]; k++) {
            if (strcmp(s->protocol.writer_features[i], lossy[k]) == 0) {
                return sm_error_set(err, SM_ERR_USAGE,
                                    "%s: checkpoint %" PRId64
                                    ": writer feature '%s' is not supported by smelter's "
                                    "checkpoints; none was written",
                                    table, s->version, lossy[k]);
            }
        }
    }
    for (int64_t i = 0; i < s->n_files; i++) {
        if (s->files[i].dv_id) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: checkpoint %" PRId64
                                ": file '%s' has a deletion vector, which smelter's "
                                "checkpoints cannot carry; none was written",
                                table, s->version, s->files[i].path);
        }
    }
    for (int64_t i = 0; i < s->n_tombstones; i++) {
        if (s->tombstones[i].dv_id) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: checkpoint %" PRId64
                                ": tombstone '%s' has a deletion vector, which smelter's "
                                "checkpoints cannot carry; none was written",
                                table, s->version, s->tombstones[i].path);
        }
    }
    return SM_OK;
}

int delta_checkpoint_write(const char *table_path, const delta_snapshot *s, sm_error *err)
{
    sm_arena *schema_arena = NULL;
    rows r = {0};
    pq_writer *w = NULL;
    pq_writer_opts o;
    pq_file_info info;
    sm_buf path = SM_BUF_INIT;
    int64_t n_rows = 0, retention, horizon;
    int rc;

    if (!s) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: checkpoint: no snapshot", table_path);
    }
    if ((rc = check_writable(table_path, s, err))) {
        return rc;
    }
    {
        const char *ret = delta_snapshot_config(s, "delta.deletedFileRetentionDuration");
        retention = ret ? parse_interval_ms(ret) : WEEK_MS;
        if (retention < 0) {
            sm_log_warn("delta",
                        "%s: delta.deletedFileRetentionDuration '%s' does not parse; keeping "
                        "tombstones for 1 week",
                        table_path, ret);
            retention = WEEK_MS;
        }
        horizon = sm_wall_ms() - retention;
    }
    if (!(schema_arena = sm_arena_create(0, 0)) || !(r.a = sm_arena_create(0, 0)) ||
        !(r.schema = delta_checkpoint_schema(schema_arena))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: checkpoint: out of memory", table_path);
        goto done;
    }
    if ((rc = rows_reset(&r, err)) ||
        (rc = delta_log_path(table_path, s->version, ".checkpoint.parquet", &path, err))) {
        goto done;
    }
    pq_writer_opts_default(&o);
    o.codec = PQ_CODEC_SNAPPY; /* what Spark writes checkpoints with; every reader has it */
    if ((rc = pq_writer_open((const char *)path.data, r.schema, &o, &w, err))) {
        goto done;
    }

    row_protocol(&r, &s->protocol);
    row_metadata(&r, &s->metadata);
    n_rows += 2;
    for (int i = 0; i < s->n_txns; i++, n_rows++) {
        row_txn(&r, &s->txns[i]);
    }
    for (int i = 0; i < s->n_domains; i++) {
        if (!s->domains[i].removed) {
            row_domain(&r, &s->domains[i]);
            n_rows++;
        }
    }
    if ((rc = rows_flush(&r, w, false, err))) {
        goto done;
    }
    for (int64_t i = 0; i < s->n_tombstones; i++) {
        if (s->tombstones[i].deletion_timestamp <= horizon) {
            continue; /* expired: vacuum may already have deleted the file */
        }
        row_remove(&r, &s->tombstones[i]);
        n_rows++;
        if ((rc = rows_flush(&r, w, false, err))) {
            goto done;
        }
    }
    for (int64_t i = 0; i < s->n_files; i++) {
        row_add(&r, &s->files[i]);
        n_rows++;
        if ((rc = rows_flush(&r, w, false, err))) {
            goto done;
        }
    }
    if ((rc = rows_flush(&r, w, true, err))) {
        goto done;
    }
    rc = pq_writer_close(w, &info, err);
    w = NULL;
    if (rc) {
        goto done;
    }
    rc = write_last_checkpoint(table_path, s->version, n_rows, info.file_size, s->n_files, err);

done:
    pq_writer_abort(w);
    sm_arena_destroy(r.a);
    sm_arena_destroy(schema_arena);
    sm_buf_free(&path);
    return rc;
}
