/*
 * `smelter table describe|history|optimize|vacuum PATH` — look after a Delta table
 * (storage/delta.h, storage/delta_maint.h): what it holds, what happened to it, compaction of
 * small files and deletion of files no version within the retention needs.
 *
 * Human output goes to stdout; --json prints one JSON object (an array for history) instead.
 * Errors name the table and exit as core/error.h says (2 for usage, 1 for the rest).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/units.h"
#include "storage/delta.h"
#include "storage/delta_maint.h"
#include "tools/commands.h"

typedef struct table_cli {
    cli_common common;
    bool json;
    int64_t limit;
    uint64_t target_size;
    int64_t retain;
    bool dry_run;
    bool force;
} table_cli;

static const sm_opt table_opts[] = {
    {"json", 0, SM_OPT_BOOL, offsetof(table_cli, json), NULL, SM_NO_BOUNDS, NULL, NULL,
     "machine output: one JSON object (history: an array)"},
    {"limit", 'n', SM_OPT_INT, offsetof(table_cli, limit), "0", 0, 1e15, NULL, "N",
     "history: only the N newest versions; 0 = all"},
    {"target-size", 0, SM_OPT_SIZE, offsetof(table_cli, target_size), NULL, SM_NO_BOUNDS, NULL,
     "SIZE", "optimize: target file size (default: the table's delta.targetFileSize, else 128MB)"},
    {"retain", 0, SM_OPT_DURATION, offsetof(table_cli, retain), "168h", SM_NO_BOUNDS, NULL,
     "DURATION",
     "vacuum: keep files that versions this recent reference; below the table's "
     "delta.deletedFileRetentionDuration only with --force"},
    {"dry-run", 0, SM_OPT_BOOL, offsetof(table_cli, dry_run), NULL, SM_NO_BOUNDS, NULL, NULL,
     "vacuum: list the files that would be deleted, delete nothing"},
    {"force", 0, SM_OPT_BOOL, offsetof(table_cli, force), NULL, SM_NO_BOUNDS, NULL, NULL,
     "vacuum: allow a retention below the table's minimum"},
    SM_OPT_END,
};

static const char table_usage[] =
    "Usage: smelter table describe|history|optimize|vacuum PATH [flags]\n"
    "\n"
    "Looks after a Delta table (a directory with a _delta_log/):\n"
    "  describe  version, schema, partition columns, configuration, files, rows, bytes,\n"
    "            app transaction versions and the latest checkpoint\n"
    "  history   one line per version, newest first: time, operation and its parameters,\n"
    "            engine, files added and removed, rows added (--limit)\n"
    "  optimize  compacts the small files of each partition into files of about\n"
    "            --target-size (remove + add with dataChange=false; rows, partition values and\n"
    "            app transaction versions are unchanged); safe while a stream appends\n"
    "  vacuum    deletes files that no version within --retain references (--dry-run lists\n"
    "            them); a retention below the table's delta.deletedFileRetentionDuration (7 days\n"
    "            by default) is refused unless --force\n"
    "\n"
    "Examples:\n"
    "  smelter table describe /data/orders\n"
    "  smelter table history /data/orders -n 20 --json\n"
    "  smelter table vacuum /data/orders --retain 336h --dry-run\n";

/* ---- helpers ----------------------------------------------------------------------------- */

static void iso(int64_t ms, char buf[32])
{
    if (ms <= 0) {
        snprintf(buf, 32, "-");
    } else {
        sm_format_iso8601_ms(ms, buf, 32);
    }
}

/* numRecords of an add's stats, or -1. */
static int64_t stats_rows(const char *stats)
{
    json_t *j, *n;
    int64_t rows = -1;
    if (!stats || !(j = json_loads(stats, 0, NULL))) {
        return -1;
    }
    n = json_object_get(j, "numRecords");
    if (json_is_integer(n)) {
        rows = (int64_t)json_integer_value(n);
    }
    json_decref(j);
    return rows;
}

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text) {
        printf("%s\n", text);
        free(text);
    }
}

/* Spark's printSchema tree of a schemaString type. */
static void print_type(const char *prefix, const json_t *type);

static const char *type_name(const json_t *type)
{
    if (json_is_string(type)) {
        return json_string_value(type);
    }
    if (json_is_object(type) && json_is_string(json_object_get(type, "type"))) {
        return json_string_value(json_object_get(type, "type"));
    }
    return "?";
}

static void print_child(const char *prefix, const char *name, const json_t *type, const char *flag,
                        const json_t *flag_value)
{
    printf("%s|-- %s: %s", prefix, name, type_name(type));
    if (flag) {
        printf(" (%s = %s)", flag, json_is_false(flag_value) ? "false" : "true");
    }
    printf("\n");
    if (json_is_object(type)) {
        char deeper[512];
        snprintf(deeper, sizeof deeper, "%s|    ", prefix);
        print_type(deeper, type);
    }
}

static void print_type(const char *prefix, const json_t *type)
{
    const char *t = type_name(type);
    if (strcmp(t, "struct") == 0) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(type, "fields"), i, f)
        {
            const json_t *name = json_object_get(f, "name");
            print_child(prefix, json_is_string(name) ? json_string_value(name) : "?",
                        json_object_get(f, "type"), "nullable", json_object_get(f, "nullable"));
        }
    } else if (strcmp(t, "array") == 0) {
        print_child(prefix, "element", json_object_get(type, "elementType"), "containsNull",
                    json_object_get(type, "containsNull"));
    } else if (strcmp(t, "map") == 0) {
        print_child(prefix, "key", json_object_get(type, "keyType"), NULL, NULL);
        print_child(prefix, "value", json_object_get(type, "valueType"), "valueContainsNull",
                    json_object_get(type, "valueContainsNull"));
    }
}

static json_t *kv_object(const delta_kv *kv, int n)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        json_object_set_new(o, kv[i].key, kv[i].value ? json_string(kv[i].value) : json_null());
    }
    return o;
}

static json_t *str_array(const char *const *s, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(a, json_string(s[i]));
    }
    return a;
}

/* ---- describe ---------------------------------------------------------------------------- */

static int describe(const char *path, const table_cli *cli, sm_error *err)
{
    delta_load_opts lo;
    delta_snapshot *s = NULL;
    const delta_metadata *m;
    const delta_protocol *p;
    int64_t rows = 0, no_stats = 0, bytes = 0, dvs = 0;
    json_t *schema;
    char t[32], size[32];
    int rc;

    delta_load_opts_default(&lo);
    lo.ignore_unsupported_features = true; /* describe reads the log only */
    if ((rc = delta_snapshot_load(path, &lo, &s, err)) != SM_OK) {
        return rc;
    }
    m = &s->metadata;
    p = &s->protocol;
    for (int64_t i = 0; i < s->n_files; i++) {
        int64_t r = stats_rows(s->files[i].stats);
        if (r < 0) {
            no_stats++;
        } else {
            rows += r;
        }
        bytes += s->files[i].size > 0 ? s->files[i].size : 0;
        dvs += s->files[i].dv_id != NULL;
    }
    schema = m->schema_string ? json_loads(m->schema_string, 0, NULL) : NULL;

    if (cli->json) {
        json_t *o = json_object(), *txns = json_array(), *proto = json_object();
        json_object_set_new(o, "table", json_string(path));
        json_object_set_new(o, "version", json_integer(s->version));
        json_object_set_new(o, "timestamp", json_integer(s->timestamp));
        json_object_set_new(o, "id", m->id ? json_string(m->id) : json_null());
        json_object_set_new(o, "name", m->name ? json_string(m->name) : json_null());
        json_object_set_new(o, "description",
                            m->description ? json_string(m->description) : json_null());
        json_object_set_new(o, "createdTime",
                            m->created_time ? json_integer(m->created_time) : json_null());
        json_object_set_new(proto, "minReaderVersion", json_integer(p->min_reader_version));
        json_object_set_new(proto, "minWriterVersion", json_integer(p->min_writer_version));
        if (p->min_reader_version >= 3) {
            json_object_set_new(proto, "readerFeatures",
                                str_array(p->reader_features, p->n_reader_features));
        }
        if (p->min_writer_version >= 7) {
            json_object_set_new(proto, "writerFeatures",
                                str_array(p->writer_features, p->n_writer_features));
        }
        json_object_set_new(o, "protocol", proto);
        json_object_set_new(o, "schema", schema ? json_incref(schema) : json_null());
        json_object_set_new(o, "partitionColumns",
                            str_array(m->partition_columns, m->n_partition_columns));
        json_object_set_new(o, "configuration", kv_object(m->configuration, m->n_configuration));
        json_object_set_new(o, "numFiles", json_integer(s->n_files));
        json_object_set_new(o, "numRecords",
                            no_stats == s->n_files && no_stats > 0 ? json_null()
                                                                   : json_integer(rows));
        json_object_set_new(o, "filesWithoutStats", json_integer(no_stats));
        json_object_set_new(o, "filesWithDeletionVectors", json_integer(dvs));
        json_object_set_new(o, "sizeInBytes", json_integer(bytes));
        for (int i = 0; i < s->n_txns; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "appId", json_string(s->txns[i].app_id));
            json_object_set_new(x, "version", json_integer(s->txns[i].version));
            json_object_set_new(x, "lastUpdated",
                                s->txns[i].last_updated ? json_integer(s->txns[i].last_updated)
                                                        : json_null());
            json_array_append_new(txns, x);
        }
        json_object_set_new(o, "txns", txns);
        json_object_set_new(o, "checkpointVersion",
                            s->checkpoint_version >= 0 ? json_integer(s->checkpoint_version)
                                                       : json_null());
        print_json(o);
        json_decref(o);
    } else {
        iso(s->timestamp, t);
        printf("table        %s\n", path);
        printf("version      %" PRId64 " (%s)\n", s->version, t);
        printf("id           %s\n", m->id ? m->id : "-");
        if (m->name) {
            printf("name         %s\n", m->name);
        }
        if (m->description) {
            printf("description  %s\n", m->description);
        }
        iso(m->created_time, t);
        printf("created      %s\n", t);
        printf("protocol     reader %d, writer %d", (int)p->min_reader_version,
               (int)p->min_writer_version);
        for (int i = 0; i < p->n_reader_features; i++) {
            printf("%s%s", i ? ", " : "; reader features ", p->reader_features[i]);
        }
        for (int i = 0; i < p->n_writer_features; i++) {
            printf("%s%s", i ? ", " : "; writer features ", p->writer_features[i]);
        }
        printf("\n");
        printf("partitions   ");
        for (int i = 0; i < m->n_partition_columns; i++) {
            printf("%s%s", i ? ", " : "", m->partition_columns[i]);
        }
        printf("%s\n", m->n_partition_columns ? "" : "(none)");
        printf("files        %" PRId64 "\n", s->n_files);
        if (no_stats == s->n_files && no_stats > 0) {
            printf("rows         unknown (no file has stats)");
        } else {
            printf("rows         %" PRId64, rows);
        }
        if (no_stats && no_stats < s->n_files) {
            printf(" (and %" PRId64 " files without stats)", no_stats);
        }
        if (dvs) {
            printf(" (before the deletion vectors of %" PRId64 " files)", dvs);
        }
        printf("\n");
        printf("size         %s (%" PRId64 " bytes)\n", sm_format_size((uint64_t)bytes, size, 32),
               bytes);
        if (s->checkpoint_version >= 0) {
            printf("checkpoint   %" PRId64 "\n", s->checkpoint_version);
        } else {
            printf("checkpoint   (none)\n");
        }
        printf("schema\nroot\n");
        if (schema) {
            print_type(" ", schema);
        } else {
            printf(" (unreadable schemaString)\n");
        }
        printf("configuration%s\n", m->n_configuration ? "" : "  (none)");
        for (int i = 0; i < m->n_configuration; i++) {
            printf("  %s = %s\n", m->configuration[i].key,
                   m->configuration[i].value ? m->configuration[i].value : "null");
        }
        printf("txns%s\n", s->n_txns ? "" : "         (none)");
        for (int i = 0; i < s->n_txns; i++) {
            iso(s->txns[i].last_updated, t);
            printf("  %s  version %" PRId64 "  last updated %s\n", s->txns[i].app_id,
                   s->txns[i].version, t);
        }
    }
    json_decref(schema);
    delta_snapshot_free(s);
    return SM_OK;
}

/* ---- history ----------------------------------------------------------------------------- */

/* "k=v k2=v2" of an operationParameters object: strings as they are, the rest as JSON. */
static void params_summary(const json_t *params, char *out, size_t n)
{
    const char *k;
    json_t *v;
    size_t len = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)params, k, v)
    {
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int w = snprintf(out + len, n - len, "%s%s=%s", len ? " " : "", k,
                         json_is_string(v) ? json_string_value(v)
                         : text            ? text
                                           : "?");
        free(text);
        if (w < 0 || (size_t)w >= n - len) {
            if (n > 4) {
                memcpy(out + n - 4, "...", 4);
            }
            return;
        }
        len += (size_t)w;
    }
}

static int history(const char *path, const table_cli *cli, sm_error *err)
{
    int64_t latest = -1, shown = 0;
    sm_arena *a = sm_arena_create(0, 0);
    json_t *all = cli->json ? json_array() : NULL;
    int rc;

    if (!a) {
        json_decref(all);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if ((rc = delta_latest_version(path, &latest, err)) == SM_OK && latest < 0) {
        rc = sm_error_set(err, SM_ERR_USAGE, "%s: not a Delta table (no commit in _delta_log/)",
                          path);
    }
    if (rc == SM_OK && !cli->json) {
        printf("%7s  %-24s  %-20s  %-13s  %10s  %-22s  %s\n", "version", "timestamp", "operation",
               "files", "rows added", "engine", "parameters");
    }
    for (int64_t v = latest; rc == SM_OK && v >= 0 && (!cli->limit || shown < cli->limit); v--) {
        delta_commit_actions c;
        json_t *info = NULL, *params;
        const char *op = "-", *engine = "-";
        int64_t rows = 0, with_stats = 0;
        char t[32], files[32], rows_text[32], summary[512];

        sm_arena_reset(a);
        if ((rc = delta_read_commit(path, v, a, &c, err)) != SM_OK) {
            if (rc == SM_ERR_USAGE && v < latest) {
                rc = SM_OK; /* older commits were cleaned up: the history starts here */
                sm_error_clear(err);
            }
            break;
        }
        if (c.commit_info) {
            info = json_loads(c.commit_info, 0, NULL);
        }
        if (json_is_string(json_object_get(info, "operation"))) {
            op = json_string_value(json_object_get(info, "operation"));
        }
        if (json_is_string(json_object_get(info, "engineInfo"))) {
            engine = json_string_value(json_object_get(info, "engineInfo"));
        }
        params = json_object_get(info, "operationParameters");
        for (int i = 0; i < c.n_adds; i++) {
            int64_t r = stats_rows(c.adds[i].stats);
            rows += r > 0 ? r : 0;
            with_stats += r >= 0;
        }
        if (cli->json) {
            json_t *o = json_object();
            iso(c.timestamp, t);
            json_object_set_new(o, "version", json_integer(v));
            json_object_set_new(o, "timestamp", json_integer(c.timestamp));
            json_object_set_new(o, "time", json_string(t));
            json_object_set_new(o, "operation", json_string(op));
            json_object_set_new(o, "operationParameters",
                                json_is_object(params) ? json_incref(params) : json_object());
            json_object_set_new(o, "engineInfo", json_string(engine));
            json_object_set_new(o, "filesAdded", json_integer(c.n_adds));
            json_object_set_new(o, "filesRemoved", json_integer(c.n_removes));
            json_object_set_new(o, "rowsAdded",
                                c.n_adds > 0 && with_stats == 0 ? json_null() : json_integer(rows));
            json_array_append_new(all, o);
        } else {
            iso(c.timestamp, t);
            snprintf(files, sizeof files, "+%d -%d", c.n_adds, c.n_removes);
            summary[0] = '\0';
            if (json_is_object(params)) {
                params_summary(params, summary, sizeof summary);
            }
            if (c.n_adds > 0 && with_stats == 0) {
                snprintf(rows_text, sizeof rows_text, "-"); /* the adds have no stats */
            } else {
                snprintf(rows_text, sizeof rows_text, "%" PRId64, rows);
            }
            printf("%7" PRId64 "  %-24s  %-20s  %-13s  %10s  %-22s  %s\n", v, t, op, files,
                   rows_text, engine, summary);
        }
        json_decref(info);
        shown++;
    }
    if (rc == SM_OK && cli->json) {
        print_json(all);
    }
    json_decref(all);
    sm_arena_destroy(a);
    return rc;
}

/* ---- optimize, vacuum -------------------------------------------------------------------- */

static int optimize(const char *path, const table_cli *cli, sm_error *err)
{
    delta_optimize_opts o;
    delta_optimize_result r;
    char a[32], b[32];
    int rc;

    delta_optimize_opts_default(&o);
    o.target_file_size = (int64_t)cli->target_size;
    if ((rc = delta_optimize(path, &o, &r, err)) != SM_OK) {
        return rc;
    }
    if (cli->json) {
        json_t *j = json_object();
        json_object_set_new(j, "table", json_string(path));
        json_object_set_new(j, "version", r.version >= 0 ? json_integer(r.version) : json_null());
        json_object_set_new(j, "filesRemoved", json_integer(r.files_removed));
        json_object_set_new(j, "filesAdded", json_integer(r.files_added));
        json_object_set_new(j, "bytesRemoved", json_integer(r.bytes_removed));
        json_object_set_new(j, "bytesAdded", json_integer(r.bytes_added));
        json_object_set_new(j, "partitions", json_integer(r.partitions));
        print_json(j);
        json_decref(j);
    } else if (r.version < 0) {
        printf("%s: nothing to optimize\n", path);
    } else {
        printf("%s: version %" PRId64 ": compacted %" PRId64 " files (%s) into %" PRId64
               " (%s) in %" PRId64 " partition%s\n",
               path, r.version, r.files_removed, sm_format_size((uint64_t)r.bytes_removed, a, 32),
               r.files_added, sm_format_size((uint64_t)r.bytes_added, b, 32), r.partitions,
               r.partitions == 1 ? "" : "s");
    }
    return SM_OK;
}

typedef struct vacuum_list {
    bool print; /* human dry run: one line per file */
    json_t *files;
} vacuum_list;

static void on_vacuum_file(const char *rel, int64_t size, void *ctx)
{
    vacuum_list *l = ctx;
    if (l->files) {
        json_array_append_new(l->files, json_string(rel));
    }
    if (l->print) {
        printf("  %s  (%" PRId64 " bytes)\n", rel, size);
    }
}

static int vacuum(const char *path, const table_cli *cli, sm_error *err)
{
    delta_vacuum_opts o;
    delta_vacuum_result r;
    vacuum_list l = {!cli->json && cli->dry_run, cli->json ? json_array() : NULL};
    char size[32];
    int rc;

    delta_vacuum_opts_default(&o);
    o.retain_ms = cli->retain;
    o.dry_run = cli->dry_run;
    o.force = cli->force;
    o.on_file = on_vacuum_file;
    o.ctx = &l;
    if (l.print) {
        printf("%s: files vacuum would delete:\n", path);
    }
    if ((rc = delta_vacuum(path, &o, &r, err)) != SM_OK) {
        json_decref(l.files);
        return rc;
    }
    if (cli->json) {
        json_t *j = json_object();
        json_object_set_new(j, "table", json_string(path));
        json_object_set_new(j, "dryRun", json_boolean(cli->dry_run));
        json_object_set_new(j, "numFiles", json_integer(r.files));
        json_object_set_new(j, "numBytes", json_integer(r.bytes));
        json_object_set_new(j, "dirsRemoved", json_integer(r.dirs_removed));
        json_object_set_new(j, "files", l.files);
        print_json(j);
        json_decref(j);
    } else {
        printf("%s: %s %" PRId64 " files (%s) and %" PRId64 " empty directories\n", path,
               cli->dry_run ? "would delete" : "deleted", r.files,
               sm_format_size((uint64_t)r.bytes, size, sizeof size), r.dirs_removed);
    }
    return SM_OK;
}

/* ---- the command ------------------------------------------------------------------------- */

static int cmd_table(int argc, char **argv)
{
    table_cli cli = {0};
    sm_strlist pos = {0};
    sm_error err;
    const char *verb, *path;
    int rc = cli_parse("table", table_usage, table_opts, &cli, argc, argv, &pos);

    if (rc >= 0) {
        sm_strlist_free(&pos);
        return rc;
    }
    sm_error_clear(&err);
    if (pos.count != 2) {
        sm_error_set(&err, SM_ERR_USAGE,
                     "expected describe, history, optimize or vacuum, then a table PATH");
        sm_strlist_free(&pos);
        return cli_fail("table", &err);
    }
    verb = pos.items[0];
    path = pos.items[1];
    if (strcmp(verb, "describe") == 0) {
        rc = describe(path, &cli, &err);
    } else if (strcmp(verb, "history") == 0) {
        rc = history(path, &cli, &err);
    } else if (strcmp(verb, "optimize") == 0) {
        rc = optimize(path, &cli, &err);
    } else if (strcmp(verb, "vacuum") == 0) {
        rc = vacuum(path, &cli, &err);
    } else {
        static const char *const verbs[] = {"describe", "history", "optimize", "vacuum", NULL};
        const char *near = sm_nearest(verb, verbs);
        sm_error_set(&err, SM_ERR_USAGE,
                     "unknown subcommand '%s'%s%s%s: expected describe, history, optimize or "
                     "vacuum",
                     verb, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        sm_strlist_free(&pos);
        return cli_fail("table", &err);
    }
    fflush(stdout);
    if (rc != SM_OK && !strstr(err.msg, path)) {
        sm_error_prefix(&err, "%s", path);
    }
    sm_strlist_free(&pos);
    return rc == SM_OK ? SM_EXIT_OK : cli_fail("table", &err);
}

const cli_command cli_table_command = {
    "table",     "look after a Delta table: describe, history, optimize, vacuum",
    table_usage, table_opts,
    cmd_table,
};
