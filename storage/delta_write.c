/*
 * Writing a Delta table: creating it (version 0) and committing to it (delta.h "writing").
 *
 * A commit is one JSON file, `_delta_log/%020d.json`, with one action per line in the order
 * commitInfo, protocol, metaData, txn, remove, add, made by put-if-absent (core/durable.h
 * NOREPLACE: a link or rename that refuses an existing name). The text is built once; each
 * attempt only chooses the version.
 *
 * DESIGN: the log is the table, so two invariants hold whatever happens around a commit:
 *   1. a version file is never overwritten and never half there: the durable helper writes a
 *      hidden temporary file, fsyncs it and links it into place, so a reader (and a process
 *      that crashes at any instruction) sees all of the commit or none of it;
 *   2. a commit only lands on a version after every version between the snapshot it was
 *      prepared from (read_version) and that one has been read and found compatible:
 *      no protocol or metadata change, no txn of our application at our batch or later (the
 *      batch is already in the table), no remove of a file we remove. Blind appends from any
 *      number of processes therefore all land, each exactly once.
 * The one ambiguous outcome is a failed directory fsync after the link: the commit is visible
 * (a reader may have acted on it) but may not survive a crash. It is reported as SM_ERR_IO with
 * the version set and never retried here: a retry must first ask the log (the txn) whether the
 * batch is in, or it could land twice. Our own file is recognised by its content (the commit
 * carries a random txnId), never taken for another writer's.
 *
 * After a commit at v with v % interval == 0 a checkpoint of v is written; its failure is
 * logged and does not undo the commit.
 */
#include "storage/delta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/uuid.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "storage/delta_internal.h"
#include "storage/parquet_reader.h"

#define DEFAULT_CHECKPOINT_INTERVAL 10
#define DEFAULT_MAX_ATTEMPTS        1000

/* ---- small helpers ----------------------------------------------------------------------- */

/* JSON builders that remember a failure (NULL from jansson: out of memory or a string that is
 * not UTF-8) instead of checking every call; the caller looks at `bad` once. */
typedef struct jb {
    bool bad;
    const char *what; /* the first string refused, for the message */
} jb;

static void jset(jb *j, json_t *obj, const char *key, json_t *v)
{
    if (!v || !obj) {
        json_decref(v);
    } else if (json_object_set_new(obj, key, v) == 0) {
        return;
    }
    if (!j->bad) {
        j->what = key;
    }
    j->bad = true;
}

static json_t *jstr(jb *j, const char *s)
{
    json_t *v = s ? json_string(s) : json_null();
    if (!v && !j->bad) {
        j->bad = true;
        j->what = s;
    }
    return v;
}

static json_t *jkv(jb *j, const delta_kv *kv, int n)
{
    json_t *o = json_object();
    for (int i = 0; o && i < n; i++) {
        if (!kv[i].key) {
            j->bad = true;
            continue;
        }
        jset(j, o, kv[i].key, jstr(j, kv[i].value));
    }
    if (!o) {
        j->bad = true;
    }
    return o;
}

static json_t *jstrs(jb *j, const char *const *s, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *v = jstr(j, s[i]);
        if (!v || json_array_append_new(a, v) != 0) {
            j->bad = true;
        }
    }
    if (!a) {
        j->bad = true;
    }
    return a;
}

/* Appends {"<key>":<value>} and a newline to `out`; takes `value`. */
static int put_action(sm_buf *out, const char *key, json_t *value, sm_error *err)
{
    json_t *line = json_object();
    char *text = NULL;
    int rc = SM_OK;
    if (!line || !value || json_object_set_new(line, key, value) != 0) {
        if (!line) {
            json_decref(value);
        }
        rc = sm_error_set(err, SM_ERR_NOMEM, "delta: %s action: out of memory", key);
    } else if (!(text = json_dumps(line, JSON_COMPACT))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "delta: %s action: out of memory", key);
    } else if (sm_buf_append(out, text, strlen(text), err) || sm_buf_append_byte(out, '\n', err)) {
        rc = SM_ERR_NOMEM;
    }
    free(text);
    json_decref(line);
    return rc;
}

/* Parses caller JSON that must be an object (operationParameters, operationMetrics). */
static int parse_object(const char *text, const char *what, json_t **out, sm_error *err)
{
    json_error_t je;
    *out = NULL;
    if (!text) {
        *out = json_object();
        return *out ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "delta: out of memory");
    }
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        return sm_error_set(err, SM_ERR_USAGE, "delta commit: %s is not a JSON object%s%s", what,
                            v ? "" : ": ", v ? "" : je.text);
    }
    *out = v;
    return SM_OK;
}

/* Spark writes the values of operationParameters and operationMetrics as strings
 * ({"epochId":"7"}; a list as its JSON text): so do we, whatever the caller gave. Nulls stay. */
static int values_as_strings(json_t *obj, sm_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char *text;
        json_t *s;
        if (json_is_string(v) || json_is_null(v)) {
            continue;
        }
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        s = text ? json_string(text) : NULL;
        free(text);
        if (!s || json_object_set_new(obj, key, s) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "delta commit: out of memory");
        }
    }
    return SM_OK;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* True when the file at `path` holds exactly `text` (our own commit). */
static bool file_holds(const char *path, const sm_buf *text)
{
    char *data = NULL;
    size_t len = 0;
    bool same = false;
    if (sm_read_file(path, text->len + 1, &data, &len, NULL) == SM_OK) {
        same = len == text->len && memcmp(data, text->data, len) == 0;
    }
    free(data);
    return same;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- table creation ---------------------------------------------------------------------- */

static const sm_field *top_field(const sm_field *schema, const char *name)
{
    for (int i = 0; i < schema->n_children; i++) {
        if (strcmp(schema->children[i]->name, name) == 0) {
            return schema->children[i];
        }
    }
    return NULL;
}

/* A positive integer in text, or -1. */
static long parse_interval(const char *s)
{
    char *end;
    long v;
    if (!s || !*s) {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > INT32_MAX) {
        return -1;
    }
    return v;
}

static int check_create_opts(const char *table, const delta_create_opts *o, sm_error *err)
{
    if (!o || !o->schema || o->schema->type != SM_STRUCT || o->schema->n_children == 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: create table: the schema must be a struct with at least one "
                            "column",
                            table);
    }
    for (int i = 0; i < o->n_partition_columns; i++) {
        const char *name = o->partition_columns[i];
        const sm_field *f = name ? top_field(o->schema, name) : NULL;
        if (!f) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: create table: partition column '%s' is not a top-level "
                                "column of the schema",
                                table, name ? name : "(null)");
        }
        if (f->type == SM_STRUCT || f->type == SM_LIST || f->type == SM_MAP) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: create table: partition column '%s' is a %s; partition "
                                "columns must be of a primitive type",
                                table, name, sm_type_name(f->type));
        }
        for (int k = 0; k < i; k++) {
            if (strcmp(o->partition_columns[k], name) == 0) {
                return sm_error_set(err, SM_ERR_USAGE,
                                    "%s: create table: partition column '%s' is listed twice",
                                    table, name);
            }
        }
    }
    if (o->n_partition_columns >= o->schema->n_children) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: create table: every column is a partition column; the data "
                            "files need at least one column of their own",
                            table);
    }
    for (int i = 0; i < o->n_configuration; i++) {
        const delta_kv *kv = &o->configuration[i];
        if (!kv->key || !kv->value) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: create table: configuration entries need a key and a value",
                                table);
        }
        if (strcmp(kv->key, "delta.checkpointInterval") == 0 && parse_interval(kv->value) < 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: create table: delta.checkpointInterval '%s' is not a "
                                "positive integer",
                                table, kv->value);
        }
    }
    return SM_OK;
}

int delta_table_create(const char *table_path, const delta_create_opts *opts, sm_error *err)
{
    sm_buf path = SM_BUF_INIT, schema = SM_BUF_INIT, text = SM_BUF_INIT;
    char id[37], txn_id[37];
    int64_t now = sm_wall_ms();
    json_t *ci = NULL, *params = NULL, *proto = NULL, *md = NULL, *fmt = NULL;
    char *part_text = NULL, *props_text = NULL;
    jb j = {0};
    int rc;

    if ((rc = check_create_opts(table_path, opts, err))) {
        return rc;
    }
    if ((rc = delta_log_path(table_path, 0, ".json", &path, err))) {
        goto done;
    }
    {
        /* mkdir -p <table>/_delta_log: the directory of the version file */
        char *dir = strndup((const char *)path.data, path.len);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (!dir) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory", table_path);
            goto done;
        }
        if (slash) {
            *slash = '\0';
        }
        rc = sm_mkdir_p(dir, err);
        free(dir);
        if (rc) {
            sm_error_prefix(err, "%s: create table", table_path);
            goto done;
        }
    }
    if ((rc = delta_schema_to_json(opts->schema, &schema, err))) {
        sm_error_prefix(err, "%s: create table", table_path);
        goto done;
    }
    if ((rc = sm_uuid4(id, err)) || (rc = sm_uuid4(txn_id, err))) {
        goto done;
    }

    /* commitInfo, as Spark writes it for CREATE TABLE (parameters are JSON text in strings) */
    {
        json_t *parts = jstrs(&j, opts->partition_columns, opts->n_partition_columns);
        json_t *props = jkv(&j, opts->configuration, opts->n_configuration);
        part_text = parts ? json_dumps(parts, JSON_COMPACT) : NULL;
        props_text = props ? json_dumps(props, JSON_COMPACT) : NULL;
        json_decref(parts);
        json_decref(props);
        if (!part_text || !props_text) {
            j.bad = true;
        }
    }
    params = json_object();
    jset(&j, params, "partitionBy", jstr(&j, part_text ? part_text : "[]"));
    jset(&j, params, "description", jstr(&j, opts->description));
    jset(&j, params, "isManaged", jstr(&j, "false"));
    jset(&j, params, "properties", jstr(&j, props_text ? props_text : "{}"));
    ci = json_object();
    jset(&j, ci, "timestamp", json_integer(now));
    jset(&j, ci, "operation", jstr(&j, "CREATE TABLE"));
    jset(&j, ci, "operationParameters", params);
    params = NULL;
    jset(&j, ci, "isBlindAppend", json_true());
    jset(&j, ci, "engineInfo", jstr(&j, DELTA_ENGINE_INFO));
    jset(&j, ci, "txnId", jstr(&j, txn_id));

    proto = json_object();
    jset(&j, proto, "minReaderVersion", json_integer(1));
    jset(&j, proto, "minWriterVersion", json_integer(2));

    md = json_object();
    jset(&j, md, "id", jstr(&j, id));
    if (opts->name) {
        jset(&j, md, "name", jstr(&j, opts->name));
    }
    if (opts->description) {
        jset(&j, md, "description", jstr(&j, opts->description));
    }
    fmt = json_object();
    jset(&j, fmt, "provider", jstr(&j, "parquet"));
    jset(&j, fmt, "options", json_object());
    jset(&j, md, "format", fmt);
    fmt = NULL;
    jset(&j, md, "schemaString", json_stringn((const char *)schema.data, schema.len));
    jset(&j, md, "partitionColumns", jstrs(&j, opts->partition_columns, opts->n_partition_columns));
    jset(&j, md, "configuration", jkv(&j, opts->configuration, opts->n_configuration));
    jset(&j, md, "createdTime", json_integer(now));
    if (j.bad) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "%s: create table: '%s' is not valid UTF-8 (or memory ran out)",
                          table_path, j.what ? j.what : "?");
        goto done;
    }
    rc = put_action(&text, "commitInfo", ci, err);
    ci = NULL;
    if (!rc) {
        rc = put_action(&text, "protocol", proto, err);
    }
    proto = NULL;
    if (!rc) {
        rc = put_action(&text, "metaData", md, err);
    }
    md = NULL;
    if (rc) {
        goto done;
    }

    rc = sm_durable_write_file((const char *)path.data, text.data, text.len, SM_DURABLE_NOREPLACE,
                               err);
    if (rc == SM_ERR_CONFLICT) {
        rc = sm_error_set(err, SM_ERR_CONFLICT,
                          "%s: create table: the table already exists (version 0 is taken)",
                          table_path);
    } else if (rc) {
        sm_error_prefix(err, "%s: create table", table_path);
    }

done:
    json_decref(ci);
    json_decref(params);
    json_decref(proto);
    json_decref(md);
    json_decref(fmt);
    free(part_text);
    free(props_text);
    sm_buf_free(&path);
    sm_buf_free(&schema);
    sm_buf_free(&text);
    return rc;
}

/* ---- commits ----------------------------------------------------------------------------- */

static json_t *file_action(jb *j, const delta_file *f, bool is_add, int64_t now)
{
    json_t *o = json_object();
    jset(j, o, "path", jstr(j, f->path));
    if (is_add) {
        jset(j, o, "partitionValues", jkv(j, f->partition_values, f->n_partition_values));
        jset(j, o, "size", json_integer(f->size));
        jset(j, o, "modificationTime",
             json_integer(f->modification_time > 0 ? f->modification_time : now));
        jset(j, o, "dataChange", json_boolean(f->data_change));
        if (f->stats) {
            jset(j, o, "stats", jstr(j, f->stats));
        }
        if (f->n_tags) {
            jset(j, o, "tags", jkv(j, f->tags, f->n_tags));
        }
    } else {
        bool extended = f->size >= 0;
        jset(j, o, "deletionTimestamp", json_integer(now));
        jset(j, o, "dataChange", json_boolean(f->data_change));
        jset(j, o, "extendedFileMetadata", json_boolean(extended));
        jset(j, o, "partitionValues", jkv(j, f->partition_values, f->n_partition_values));
        if (extended) {
            jset(j, o, "size", json_integer(f->size));
        }
        if (f->n_tags) {
            jset(j, o, "tags", jkv(j, f->tags, f->n_tags));
        }
    }
    return o;
}

static int check_commit(const char *table, const delta_commit *c, sm_error *err)
{
    if (!c || c->read_version < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: commit: read_version must be the version of the snapshot the "
                            "commit was prepared from (>= 0)",
                            table);
    }
    if (c->n_adds < 0 || c->n_removes < 0 || (c->n_adds && !c->adds) ||
        (c->n_removes && !c->removes)) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: commit: bad add or remove list", table);
    }
    for (int i = 0; i < c->n_adds; i++) {
        if (!c->adds[i].path || !*c->adds[i].path || c->adds[i].size < 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: commit: add %d needs a path and a size >= 0", table, i);
        }
        if (c->adds[i].dv_id) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: commit: add '%s' has a deletion vector; smelter does not "
                                "write deletion vectors",
                                table, c->adds[i].path);
        }
    }
    for (int i = 0; i < c->n_removes; i++) {
        if (!c->removes[i].path || !*c->removes[i].path) {
            return sm_error_set(err, SM_ERR_USAGE, "%s: commit: remove %d needs a path", table, i);
        }
    }
    if (c->app_id && (!*c->app_id || c->txn_version < 0)) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: commit: a txn needs a non-empty app id and a version >= 0", table);
    }
    return SM_OK;
}

/* The reconciliation keys of `files` (decoded, normalised paths), sorted; refuses a path twice
 * (PROTOCOL.md: a commit holds at most one action per path and type). */
static int file_keys(const char *table, const char *root_abs, const delta_file *files, int n,
                     const char *what, sm_arena *a, const char ***out, sm_error *err)
{
    const char **keys = sm_arena_alloc(a, sizeof(char *) * (size_t)(n ? n : 1));
    if (!keys) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: commit: out of memory", table);
    }
    for (int i = 0; i < n; i++) {
        if (delta_path_key(root_abs, files[i].path, a, &keys[i], err)) {
            return err ? err->code : SM_ERR_NOMEM;
        }
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_str_ptr);
    for (int i = 1; i < n; i++) {
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            return sm_error_set(err, SM_ERR_USAGE, "%s: commit: %s '%s' is listed twice", table,
                                what, keys[i]);
        }
    }
    *out = keys;
    return SM_OK;
}

static bool has_key(const char **keys, int n, const char *key)
{
    return n && bsearch(&key, keys, (size_t)n, sizeof *keys, cmp_str_ptr) != NULL;
}

/* Builds the commit's text. */
static int commit_text(const char *table, const delta_commit *c, int64_t now, sm_buf *out,
                       sm_error *err)
{
    json_t *params = NULL, *metrics = NULL, *ci;
    char txn_id[37];
    jb j = {0};
    int rc;

    if ((rc = parse_object(c->operation_parameters, "operation_parameters", &params, err)) ||
        (c->operation_metrics &&
         (rc = parse_object(c->operation_metrics, "operation_metrics", &metrics, err)))) {
        json_decref(params);
        sm_error_prefix(err, "%s", table);
        return rc;
    }
    if ((rc = sm_uuid4(txn_id, err)) || (rc = values_as_strings(params, err)) ||
        (metrics && (rc = values_as_strings(metrics, err)))) {
        json_decref(params);
        json_decref(metrics);
        sm_error_prefix(err, "%s: commit", table);
        return rc;
    }
    ci = json_object();
    jset(&j, ci, "timestamp", json_integer(now));
    jset(&j, ci, "operation", jstr(&j, c->operation ? c->operation : "WRITE"));
    jset(&j, ci, "operationParameters", params);
    jset(&j, ci, "isBlindAppend", json_boolean(c->n_removes == 0));
    if (metrics) {
        jset(&j, ci, "operationMetrics", metrics);
    }
    jset(&j, ci, "engineInfo", jstr(&j, DELTA_ENGINE_INFO));
    jset(&j, ci, "txnId", jstr(&j, txn_id));
    if (j.bad) {
        json_decref(ci);
        return sm_error_set(err, SM_ERR_USAGE, "%s: commit: '%s' is not valid UTF-8", table,
                            j.what ? j.what : "?");
    }
    if ((rc = put_action(out, "commitInfo", ci, err))) {
        return rc;
    }
    if (c->app_id) {
        json_t *t = json_object();
        jset(&j, t, "appId", jstr(&j, c->app_id));
        jset(&j, t, "version", json_integer(c->txn_version));
        jset(&j, t, "lastUpdated", json_integer(now));
        if (j.bad) {
            json_decref(t);
            return sm_error_set(err, SM_ERR_USAGE, "%s: commit: app id is not valid UTF-8", table);
        }
        if ((rc = put_action(out, "txn", t, err))) {
            return rc;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        bool is_add = pass == 1;
        int n = is_add ? c->n_adds : c->n_removes;
        for (int i = 0; i < n; i++) {
            const delta_file *f = is_add ? &c->adds[i] : &c->removes[i];
            json_t *a = file_action(&j, f, is_add, now);
            if (j.bad) {
                json_decref(a);
                return sm_error_set(err, SM_ERR_USAGE,
                                    "%s: commit: %s '%s': '%s' is not valid UTF-8", table,
                                    is_add ? "add" : "remove", f->path, j.what ? j.what : "?");
            }
            if ((rc = put_action(out, is_add ? "add" : "remove", a, err))) {
                return rc;
            }
        }
    }
    return SM_OK;
}

/* Checks commit w, written by another writer, against ours. */
static int check_winner(const char *table, const char *root_abs, const delta_commit *c,
                        const char **remove_keys, int64_t w, sm_error *err)
{
    sm_arena *a = sm_arena_create(0, 0);
    delta_commit_actions acts;
    int rc;

    if (!a) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: commit: out of memory", table);
    }
    if ((rc = delta_read_commit(table, w, a, &acts, err))) {
        sm_error_prefix(err, "%s: commit: reading the concurrent commit %" PRId64, table, w);
        goto done;
    }
    if (acts.protocol) {
        rc =
            sm_error_set(err, SM_ERR_CONFLICT,
                         "%s: commit (prepared from version %" PRId64 ") conflicts: commit %" PRId64
                         " changed the protocol; prepare the commit again from a new snapshot",
                         table, c->read_version, w);
        goto done;
    }
    if (acts.metadata) {
        rc =
            sm_error_set(err, SM_ERR_CONFLICT,
                         "%s: commit (prepared from version %" PRId64 ") conflicts: commit %" PRId64
                         " changed the table metadata (schema, partitioning or configuration); "
                         "prepare the commit again from a new snapshot",
                         table, c->read_version, w);
        goto done;
    }
    if (c->app_id) {
        for (int i = 0; i < acts.n_txns; i++) {
            if (strcmp(acts.txns[i].app_id, c->app_id) == 0 &&
                acts.txns[i].version >= c->txn_version) {
                rc = sm_error_set(err, SM_ERR_CONFLICT,
                                  "%s: commit (prepared from version %" PRId64
                                  ") conflicts: txn for app '%s' is already at version %" PRId64
                                  " in commit %" PRId64 ": batch already committed",
                                  table, c->read_version, c->app_id, acts.txns[i].version, w);
                goto done;
            }
        }
    }
    for (int i = 0; i < acts.n_removes && c->n_removes; i++) {
        const char *key;
        if ((rc = delta_path_key(root_abs, acts.removes[i].path, a, &key, err))) {
            goto done;
        }
        if (has_key(remove_keys, c->n_removes, key)) {
            rc = sm_error_set(err, SM_ERR_CONFLICT,
                              "%s: commit (prepared from version %" PRId64
                              ") conflicts: commit %" PRId64
                              " already removed '%s', which this commit removes too",
                              table, c->read_version, w, acts.removes[i].path);
            goto done;
        }
    }
done:
    sm_arena_destroy(a);
    return rc;
}

/* ---- checkpoint interval ----------------------------------------------------------------- */

typedef struct md_find {
    const char *interval; /* copied into the arena */
    bool found;
} md_find;

static int md_find_fn(void *ctx, const delta_action *a, sm_error *err)
{
    md_find *f = ctx;
    (void)err;
    if (a->type == DELTA_ACT_METADATA) {
        f->found = true;
        f->interval = NULL;
        for (int i = 0; i < a->u.metadata.n_configuration; i++) {
            if (strcmp(a->u.metadata.configuration[i].key, "delta.checkpointInterval") == 0) {
                f->interval = a->u.metadata.configuration[i].value;
            }
        }
    }
    return 0;
}

static int child_index(const sm_field *f, const char *name)
{
    for (int i = 0; f && i < f->n_children; i++) {
        if (strcmp(f->children[i]->name, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* delta.checkpointInterval from the metaData row of a classic checkpoint, reading only the
 * metaData column (a checkpoint's other columns hold every file of the table). */
static int checkpoint_metadata_config(const char *path, sm_arena *a, md_find *f)
{
    pq_reader *r = NULL;
    int rc = pq_reader_open(path, &r, NULL);
    int col = rc ? -1 : pq_reader_column_index(r, "metaData");
    for (int g = 0; col >= 0 && g < pq_reader_num_row_groups(r) && !f->found; g++) {
        sm_column *batch;
        if ((rc = pq_reader_read_row_group(r, g, &col, 1, a, &batch, NULL))) {
            break;
        }
        const sm_column *md = batch->children[0];
        int ci = child_index(md->field, "configuration");
        const sm_column *conf = ci >= 0 ? md->children[ci] : NULL;
        if (!conf || conf->field->type != SM_MAP) {
            break;
        }
        const sm_column *kv = conf->children[0];
        const sm_column *keys = kv->children[0], *vals = kv->children[1];
        for (int64_t i = 0; i < md->length && !f->found; i++) {
            if (!sm_column_is_valid(md, i)) {
                continue;
            }
            f->found = true;
            f->interval = NULL;
            if (!sm_column_is_valid(conf, i)) {
                break;
            }
            for (int32_t k = conf->offsets[i]; k < conf->offsets[i + 1]; k++) {
                const char *key = (const char *)keys->data + keys->offsets[k];
                size_t klen = (size_t)(keys->offsets[k + 1] - keys->offsets[k]);
                if (klen == strlen("delta.checkpointInterval") &&
                    memcmp(key, "delta.checkpointInterval", klen) == 0 &&
                    sm_column_is_valid(vals, k)) {
                    f->interval =
                        sm_arena_strndup(a, (const char *)vals->data + vals->offsets[k],
                                         (size_t)(vals->offsets[k + 1] - vals->offsets[k]));
                }
            }
        }
    }
    pq_reader_close(r);
    return f->found ? SM_OK : SM_ERR_CORRUPT;
}

static int interval_from_text(const char *table, const char *s)
{
    long v;
    if (!s) {
        return DEFAULT_CHECKPOINT_INTERVAL;
    }
    if ((v = parse_interval(s)) < 0) {
        sm_log_warn("delta",
                    "%s: delta.checkpointInterval '%s' is not a positive integer; using %d", table,
                    s, DEFAULT_CHECKPOINT_INTERVAL);
        return DEFAULT_CHECKPOINT_INTERVAL;
    }
    return (int)v;
}

/*
 * The table's delta.checkpointInterval at version v, found by walking back from v to the newest
 * metaData action: in a commit (its text is only parsed when it mentions "metaData") or in a
 * classic checkpoint. The walk ends at the last checkpoint or at the table's metadata commit,
 * so it reads about one interval of commits. When it cannot finish (cleaned-up log, multi-part
 * or v2 checkpoints) the snapshot at v says. 0 when nothing could be read (logged).
 */
static int table_checkpoint_interval(const char *table, int64_t v)
{
    sm_buf path = SM_BUF_INIT;
    sm_arena *a = sm_arena_create(0, 0);
    sm_error e = {0};
    md_find f = {0};
    int result = -1;

    if (!a) {
        return 0;
    }
    for (int64_t w = v; w >= 0 && result < 0; w--) {
        char *data = NULL;
        size_t len = 0;
        if (delta_log_path(table, w, ".json", &path, &e)) {
            break;
        }
        if (sm_read_file((const char *)path.data, DELTA_MAX_LOG_FILE, &data, &len, &e)) {
            break; /* cleaned up or unreadable: ask the snapshot */
        }
        if (strstr(data, "\"metaData\"")) {
            int rc =
                delta_parse_json_lines(data, len, (const char *)path.data, a, md_find_fn, &f, &e);
            if (rc) {
                free(data);
                break;
            }
        }
        free(data);
        if (f.found) {
            result = interval_from_text(table, f.interval);
            break;
        }
        if (w < v) {
            if (delta_log_path(table, w, ".checkpoint.parquet", &path, &e)) {
                break;
            }
            if (file_exists((const char *)path.data)) {
                if (checkpoint_metadata_config((const char *)path.data, a, &f) == SM_OK &&
                    f.found) {
                    result = interval_from_text(table, f.interval);
                }
                break;
            }
        }
    }
    sm_buf_free(&path);
    sm_arena_destroy(a);
    if (result > 0) {
        return result;
    }

    delta_load_opts lo;
    delta_snapshot *s = NULL;
    delta_load_opts_default(&lo);
    lo.version = v;
    lo.ignore_unsupported_features = true;
    if (delta_snapshot_load(table, &lo, &s, &e)) {
        sm_log_warn("delta",
                    "%s: no checkpoint after version %" PRId64
                    ": cannot read the table's checkpoint interval: %s",
                    table, v, e.msg);
        return 0;
    }
    result = interval_from_text(table, delta_snapshot_config(s, "delta.checkpointInterval"));
    delta_snapshot_free(s);
    return result;
}

static void maybe_checkpoint(const char *table, const delta_commit *c, int64_t v)
{
    int interval =
        c->checkpoint_interval > 0 ? c->checkpoint_interval : table_checkpoint_interval(table, v);
    delta_snapshot *s = NULL;
    delta_load_opts lo;
    sm_error e = {0};

    if (v <= 0 || interval <= 0 || v % interval != 0) {
        return;
    }
    delta_load_opts_default(&lo);
    lo.version = v;
    /* the checkpoint restates the log; reader features matter to readers of data, and what a
     * checkpoint cannot carry (deletion vectors, row tracking) it refuses itself */
    lo.ignore_unsupported_features = true;
    if (delta_snapshot_load(table, &lo, &s, &e) || delta_checkpoint_write(table, s, &e)) {
        sm_log_warn("delta",
                    "%s: checkpoint of version %" PRId64
                    " failed (the commit stands; readers replay the log): %s",
                    table, v, e.msg);
    } else {
        sm_log_debug("delta", "%s: checkpoint of version %" PRId64 " written", table, v);
    }
    delta_snapshot_free(s);
}

/* ---- the commit -------------------------------------------------------------------------- */

int delta_commit_write(const char *table_path, const delta_commit *c, int64_t *version_out,
                       sm_error *err)
{
    sm_buf text = SM_BUF_INIT, path = SM_BUF_INIT, root = SM_BUF_INIT;
    sm_arena *a = NULL;
    const char **remove_keys = NULL, **add_keys = NULL;
    int64_t now = sm_wall_ms(), v;
    int max_attempts, attempts = 0;
    int rc;

    if (version_out) {
        *version_out = -1;
    }
    if ((rc = check_commit(table_path, c, err))) {
        return rc;
    }
    max_attempts = c->max_attempts > 0 ? c->max_attempts : DEFAULT_MAX_ATTEMPTS;
    if (!(a = sm_arena_create(0, 0))) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: commit: out of memory", table_path);
    }
    if ((rc = delta_abs_path(table_path, &root, err)) ||
        (rc = file_keys(table_path, (const char *)root.data, c->removes, c->n_removes, "remove", a,
                        &remove_keys, err)) ||
        (rc = file_keys(table_path, (const char *)root.data, c->adds, c->n_adds, "add", a,
                        &add_keys, err))) {
        goto done;
    }
    for (int i = 0; i < c->n_adds; i++) {
        if (has_key(remove_keys, c->n_removes, add_keys[i])) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s: commit: '%s' is both added and removed in one commit",
                              table_path, add_keys[i]);
            goto done;
        }
    }
    if ((rc = commit_text(table_path, c, now, &text, err))) {
        goto done;
    }

    /* the log must hold read_version: a commit past its end would leave a gap */
    if ((rc = delta_log_path(table_path, c->read_version, ".json", &path, err))) {
        goto done;
    }
    if (!file_exists((const char *)path.data)) {
        int64_t last = -1;
        if ((rc = delta_latest_version(table_path, &last, err))) {
            goto done;
        }
        if (last < c->read_version) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s: commit: read_version %" PRId64
                              " is past the end of the log (latest version %" PRId64
                              "); prepare the commit from a snapshot of this table",
                              table_path, c->read_version, last);
            goto done;
        }
    }

    v = c->read_version + 1;
    for (;;) {
        sm_error e = {0};
        if (attempts++ >= max_attempts) {
            rc = sm_error_set(err, SM_ERR_CONFLICT,
                              "%s: commit gave up after %d attempts: versions %" PRId64 "..%" PRId64
                              " were all taken by other writers",
                              table_path, max_attempts, c->read_version + 1, v - 1);
            goto done;
        }
        if ((rc = delta_log_path(table_path, v, ".json", &path, err))) {
            goto done;
        }
        rc = sm_durable_write_file((const char *)path.data, text.data, text.len,
                                   SM_DURABLE_NOREPLACE, &e);
        if (rc == SM_OK) {
            break;
        }
        if (rc == SM_ERR_CONFLICT) {
            /* version v is another writer's: check it and every later one in the log */
            for (;;) {
                if ((rc = check_winner(table_path, (const char *)root.data, c, remove_keys, v,
                                       err))) {
                    goto done;
                }
                v++;
                if ((rc = delta_log_path(table_path, v, ".json", &path, err))) {
                    goto done;
                }
                if (!file_exists((const char *)path.data)) {
                    break;
                }
            }
            continue;
        }
        if (rc == SM_ERR_IO && file_holds((const char *)path.data, &text)) {
            /* only the directory fsync failed: the commit is visible, durability unknown */
            if (version_out) {
                *version_out = v;
            }
            if (err) {
                *err = e;
                err->retriable = false;
            }
            sm_error_prefix(err,
                            "%s: commit %" PRId64 " is in the log but may not survive a crash "
                            "(do not retry blindly: on restart the txn in the log tells whether "
                            "it is there)",
                            table_path, v);
            goto done;
        }
        if (err) {
            *err = e;
        }
        sm_error_prefix(err, "%s: commit at version %" PRId64 " (nothing was committed)",
                        table_path, v);
        goto done;
    }
    if (version_out) {
        *version_out = v;
    }
    rc = SM_OK;
    maybe_checkpoint(table_path, c, v);

done:
    sm_arena_destroy(a);
    sm_buf_free(&text);
    sm_buf_free(&path);
    sm_buf_free(&root);
    return rc;
}
