/*
 * OPTIMIZE and VACUUM (storage/delta_maint.c) on real tables, checked by DuckDB.
 *
 * Each test keeps a model of what it appended (partition, id range, commit version, and the
 * version of a commit that deleted the file, if any) and compares, inside DuckDB, the rows of a
 * snapshot's active files (read_parquet over the list, each file's partition value attached by
 * its path) with the rows the model says that version holds: EXCEPT ALL both ways and the
 * counts. So no check goes through the code under test.
 *
 * Races are made two ways: deterministically, by a core/fault.h hook that commits an append (or
 * a remove of one of the optimizer's inputs) at the moment the OPTIMIZE commit is about to be
 * linked into the log, and for real, with a thread appending while optimize runs.
 *
 * Vacuum is driven with now_ms and retentions chosen around commit and file times, and with
 * file mtimes set by hand (utimensat) for orphans, hidden files and empty partition
 * directories; time travel to every version whose files were retained must still read right.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/fault.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/delta_maint.h"
#include "storage/parquet_writer.h"
#include "sm_test.h"

#define HOUR_MS  ((int64_t)3600 * 1000)
#define MAX_RECS 256

/* ---- the model --------------------------------------------------------------------------- */

typedef struct rec {
    int64_t version;    /* the commit that added the file */
    int64_t removed_at; /* a commit that deleted it (not optimize), or INT64_MAX */
    bool region_null;
    char region[32];
    char path[256]; /* add.path */
    int64_t start, n;
} rec;

typedef struct model {
    char *table;
    pthread_mutex_t mu;
    rec recs[MAX_RECS];
    int n;
} model;

static const char *const regions[] = {"east", "west", NULL, "a b%c:d"};

static void model_init(model *m, const char *tag)
{
    memset(m, 0, sizeof *m);
    m->table = sm_test_tmpdir(tag);
    pthread_mutex_init(&m->mu, NULL);
}

static void model_free(model *m)
{
    sm_test_rmtree(m->table);
    free(m->table);
    pthread_mutex_destroy(&m->mu);
}

static sm_field *data_schema(sm_arena *a, bool id_nullable)
{
    sm_field *kids[2] = {sm_field_new(a, "id", SM_INT64, id_nullable),
                         sm_field_new(a, "s", SM_STRING, true)};
    return sm_field_struct(a, "schema", kids, 2, false);
}

static void create_table(const char *t, int n_conf, const delta_kv *conf)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_field *kids[3] = {sm_field_new(a, "id", SM_INT64, false),
                         sm_field_new(a, "s", SM_STRING, true),
                         sm_field_new(a, "region", SM_STRING, true)};
    static const char *const parts[] = {"region"};
    delta_create_opts o;
    sm_error err;
    memset(&o, 0, sizeof o);
    o.schema = sm_field_struct(a, "schema", kids, 3, false);
    o.n_partition_columns = 1;
    o.partition_columns = parts;
    o.n_configuration = n_conf;
    o.configuration = conf;
    if (delta_table_create(t, &o, &err) != SM_OK) {
        fprintf(stderr, "create %s: %s\n", t, err.msg);
        CU_FAIL_FATAL("delta_table_create");
    }
    sm_arena_destroy(a);
}

static atomic_int file_seq;

/* Writes rows [start, start + n) of partition `region` (ids, and s = "s<id>" or null when id %
 * 7 == 0) as one data file and commits it, with a txn when `app` is set. `odd` writes the id
 * column as optional instead of required (another file schema). Thread-safe; returns SM_OK or
 * prints why not. */
static int append_rows_ex(model *m, const char *region, int64_t start, int64_t n, const char *app,
                          int64_t txn_version, bool odd, int64_t *version_out)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_field *schema = data_schema(a, odd);
    sm_column *batch = sm_column_new(a, schema, n);
    delta_kv kv = {"region", region};
    sm_buf dir = SM_BUF_INIT, uri = SM_BUF_INIT, stats = SM_BUF_INIT;
    pq_writer_opts wo;
    pq_writer *w = NULL;
    pq_file_info info;
    delta_file add;
    delta_commit c;
    char name[128];
    int64_t latest = -1, version = -1;
    sm_error err;
    int rc;

    for (int64_t i = 0; i < n; i++) {
        int64_t id = start + i;
        char s[32];
        snprintf(s, sizeof s, "s%" PRId64, id);
        sm_column_append_valid(a, batch);
        sm_column_append_i64(a, batch->children[0], id);
        if (id % 7 == 0) {
            sm_column_append_null(a, batch->children[1]);
        } else {
            sm_column_append_bytes(a, batch->children[1], s, strlen(s));
        }
    }
    snprintf(name, sizeof name, "part-00000-t%06d-%d.c000.zstd.parquet",
             atomic_fetch_add(&file_seq, 1), (int)getpid());
    sm_buf_append(&dir, m->table, strlen(m->table), &err);
    sm_buf_append_byte(&dir, '/', &err);
    if ((rc = delta_partition_dir(&kv, 1, false, &dir, &err)) != SM_OK ||
        (rc = delta_partition_dir(&kv, 1, true, &uri, &err)) != SM_OK) {
        goto done;
    }
    sm_buf_append_byte(&dir, '\0', &err);
    if ((rc = sm_mkdir_p((const char *)dir.data, &err)) != SM_OK) {
        goto done;
    }
    dir.len--;
    sm_buf_append(&dir, name, strlen(name) + 1, &err);
    sm_buf_append(&uri, name, strlen(name) + 1, &err);
    pq_writer_opts_default(&wo);
    if ((rc = pq_writer_open((const char *)dir.data, schema, &wo, &w, &err)) != SM_OK ||
        (rc = pq_writer_write(w, batch, &err)) != SM_OK ||
        (rc = pq_writer_close(w, &info, &err)) != SM_OK) {
        goto done;
    }
    if ((rc = delta_stats_from_parquet((const char *)dir.data, &stats, &err)) != SM_OK) {
        goto done;
    }
    sm_buf_append_byte(&stats, '\0', &err);
    if ((rc = delta_latest_version(m->table, &latest, &err)) != SM_OK) {
        goto done;
    }
    memset(&add, 0, sizeof add);
    add.path = (const char *)uri.data;
    add.n_partition_values = 1;
    add.partition_values = &kv;
    add.size = info.file_size;
    add.modification_time = sm_wall_ms();
    add.data_change = true;
    add.stats = (const char *)stats.data;
    memset(&c, 0, sizeof c);
    c.read_version = latest;
    c.n_adds = 1;
    c.adds = &add;
    c.app_id = app;
    c.txn_version = txn_version;
    c.operation = app ? "STREAMING UPDATE" : "WRITE";
    if ((rc = delta_commit_write(m->table, &c, &version, &err)) != SM_OK) {
        goto done;
    }
    pthread_mutex_lock(&m->mu);
    if (m->n < MAX_RECS) {
        rec *r = &m->recs[m->n++];
        r->version = version;
        r->removed_at = INT64_MAX;
        r->region_null = region == NULL;
        snprintf(r->region, sizeof r->region, "%s", region ? region : "");
        snprintf(r->path, sizeof r->path, "%s", (const char *)uri.data);
        r->start = start;
        r->n = n;
    }
    pthread_mutex_unlock(&m->mu);
    if (version_out) {
        *version_out = version;
    }
done:
    if (rc != SM_OK) {
        fprintf(stderr, "append to %s: %s\n", m->table, err.msg);
    }
    sm_buf_free(&dir);
    sm_buf_free(&uri);
    sm_buf_free(&stats);
    sm_arena_destroy(a);
    return rc;
}

static int append_rows(model *m, const char *region, int64_t start, int64_t n, const char *app,
                       int64_t txn_version, int64_t *version_out)
{
    return append_rows_ex(m, region, start, n, app, txn_version, false, version_out);
}

/* Commits the removal of the model's file at index `i` (a DELETE of its rows). */
static int remove_rec(model *m, int i, int64_t *version_out)
{
    delta_snapshot *s = NULL;
    delta_load_opts lo;
    delta_commit c;
    delta_file rm;
    int64_t version = -1;
    sm_error err;
    int rc;

    delta_load_opts_default(&lo);
    if ((rc = delta_snapshot_load(m->table, &lo, &s, &err)) != SM_OK) {
        fprintf(stderr, "remove: %s\n", err.msg);
        return rc;
    }
    rc = SM_ERR_USAGE;
    for (int64_t k = 0; k < s->n_files; k++) {
        if (strcmp(s->files[k].path, m->recs[i].path) == 0) {
            rm = s->files[k];
            rm.data_change = true;
            memset(&c, 0, sizeof c);
            c.read_version = s->version;
            c.n_removes = 1;
            c.removes = &rm;
            c.operation = "DELETE";
            rc = delta_commit_write(m->table, &c, &version, &err);
            break;
        }
    }
    if (rc == SM_OK) {
        pthread_mutex_lock(&m->mu);
        m->recs[i].removed_at = version;
        pthread_mutex_unlock(&m->mu);
        if (version_out) {
            *version_out = version;
        }
    } else {
        fprintf(stderr, "remove %s: %s\n", m->recs[i].path, err.msg);
    }
    delta_snapshot_free(s);
    return rc;
}

static int64_t expected_rows(const model *m, int64_t version)
{
    int64_t n = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->recs[i].version <= version && m->recs[i].removed_at > version) {
            n += m->recs[i].n;
        }
    }
    return n;
}

static void sql_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') {
            fputc('\'', f);
        }
        fputc(*s, f);
    }
    fputc('\'', f);
}

static char *local_path(const char *table, const char *log_path)
{
    sm_buf b = SM_BUF_INIT;
    sm_error err;
    char *p;
    if (delta_file_local_path(table, log_path, &b, &err) != SM_OK) {
        fprintf(stderr, "local path of %s: %s\n", log_path, err.msg);
        return NULL;
    }
    sm_buf_append_byte(&b, '\0', &err);
    p = strdup((const char *)b.data);
    sm_buf_free(&b);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

/* True when every active file of snapshot `s` exists. */
static bool all_files_exist(const char *table, const delta_snapshot *s)
{
    for (int64_t i = 0; i < s->n_files; i++) {
        char *p = local_path(table, s->files[i].path);
        bool ok = exists(p);
        free(p);
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The SQL of the rows of snapshot `s` (id, s, region) as DuckDB reads its files. */
static void snapshot_rows_sql(FILE *f, const char *table, const delta_snapshot *s)
{
    if (s->n_files == 0) {
        fputs("SELECT CAST(NULL AS BIGINT) AS id, CAST(NULL AS VARCHAR) AS s, "
              "CAST(NULL AS VARCHAR) AS region WHERE false",
              f);
        return;
    }
    fputs("SELECT d.id, d.s, f.region FROM read_parquet([", f);
    for (int64_t i = 0; i < s->n_files; i++) {
        char *p = local_path(table, s->files[i].path);
        fputs(i ? ", " : "", f);
        sql_str(f, p ? p : "?");
        free(p);
    }
    fputs("], filename = true, hive_partitioning = false) d JOIN (VALUES ", f);
    for (int64_t i = 0; i < s->n_files; i++) {
        const delta_file *df = &s->files[i];
        const char *region = NULL;
        char *p = local_path(table, df->path);
        for (int k = 0; k < df->n_partition_values; k++) {
            if (strcmp(df->partition_values[k].key, "region") == 0) {
                region = df->partition_values[k].value;
            }
        }
        fputs(i ? ", (" : "(", f);
        sql_str(f, p ? p : "?");
        fputs(", ", f);
        if (region) {
            sql_str(f, region);
        } else {
            fputs("CAST(NULL AS VARCHAR)", f);
        }
        fputs(")", f);
        free(p);
    }
    fputs(") f(path, region) ON d.filename = f.path", f);
}

static void model_rows_sql(FILE *f, const model *m, int64_t version)
{
    bool any = false;
    for (int i = 0; i < m->n; i++) {
        const rec *r = &m->recs[i];
        if (r->version > version || r->removed_at <= version) {
            continue;
        }
        fputs(any ? " UNION ALL " : "", f);
        fprintf(f, "SELECT range AS id, CASE WHEN range %% 7 = 0 THEN NULL ELSE 's' || "
                   "CAST(range AS VARCHAR) END AS s, ");
        if (r->region_null) {
            fputs("CAST(NULL AS VARCHAR)", f);
        } else {
            sql_str(f, r->region);
        }
        fprintf(f, " AS region FROM range(%" PRId64 ", %" PRId64 ")", r->start, r->start + r->n);
        any = true;
    }
    if (!any) {
        fputs("SELECT CAST(NULL AS BIGINT) AS id, CAST(NULL AS VARCHAR) AS s, "
              "CAST(NULL AS VARCHAR) AS region WHERE false",
              f);
    }
}

/* Loads the table at `version` (-1: latest) and checks, in DuckDB, that its files hold exactly
 * the rows the model says. */
static bool contents_match(const model *m, int64_t version)
{
    delta_snapshot *s = NULL;
    delta_load_opts lo;
    sm_error err;
    char *sql = NULL;
    size_t len = 0;
    FILE *f;
    json_t *rows, *row;
    bool ok;

    delta_load_opts_default(&lo);
    lo.version = version;
    if (delta_snapshot_load(m->table, &lo, &s, &err) != SM_OK) {
        fprintf(stderr, "load %s @%" PRId64 ": %s\n", m->table, version, err.msg);
        return false;
    }
    if (!all_files_exist(m->table, s)) {
        fprintf(stderr, "%s @%" PRId64 ": a file is missing\n", m->table, s->version);
        delta_snapshot_free(s);
        return false;
    }
    f = open_memstream(&sql, &len);
    fputs("WITH a AS (", f);
    snapshot_rows_sql(f, m->table, s);
    fputs("), b AS (", f);
    model_rows_sql(f, m, s->version);
    fputs(") SELECT (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS ab, "
          "(SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS ba, "
          "(SELECT count(*) FROM a) AS na, (SELECT count(*) FROM b) AS nb, "
          "(SELECT count(DISTINCT id) FROM a) AS nd",
          f);
    fclose(f);
    rows = sm_test_duckdb(sql);
    row = json_array_get(rows, 0);
    ok = row && sm_test_int(json_object_get(row, "ab")) == 0 &&
         sm_test_int(json_object_get(row, "ba")) == 0 &&
         sm_test_int(json_object_get(row, "na")) == expected_rows(m, s->version) &&
         sm_test_int(json_object_get(row, "nb")) == expected_rows(m, s->version) &&
         sm_test_int(json_object_get(row, "nd")) == expected_rows(m, s->version);
    if (!ok) {
        char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s @%" PRId64 ": %s (expected %" PRId64 " rows)\n", m->table, s->version,
                text ? text : "(no result)", expected_rows(m, s->version));
        free(text);
    }
    json_decref(rows);
    free(sql);
    delta_snapshot_free(s);
    return ok;
}

static delta_snapshot *load(const char *table, int64_t version)
{
    delta_snapshot *s = NULL;
    delta_load_opts lo;
    sm_error err;
    delta_load_opts_default(&lo);
    lo.version = version;
    if (delta_snapshot_load(table, &lo, &s, &err) != SM_OK) {
        fprintf(stderr, "load %s: %s\n", table, err.msg);
        return NULL;
    }
    return s;
}

static int64_t latest_version(const char *table)
{
    int64_t v = -1;
    sm_error err;
    if (delta_latest_version(table, &v, &err) != SM_OK) {
        return -2;
    }
    return v;
}

/* ---- files on disk ----------------------------------------------------------------------- */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_add(names *l, const char *s)
{
    if (l->n == l->cap) {
        l->v = realloc(l->v, sizeof *l->v * (l->cap = l->cap ? 2 * l->cap : 64));
    }
    l->v[l->n++] = strdup(s);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(names *l)
{
    qsort(l->v, l->n, sizeof *l->v, cmp_name);
}

static bool names_has(const names *l, const char *s)
{
    return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_name);
}

static void names_free(names *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Regular files under `dir` whose names do not start with '.' or '_' (full paths). */
static void list_data_files(const char *dir, names *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        char p[4096];
        struct stat st;
        if (e->d_name[0] == '.' || e->d_name[0] == '_') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            list_data_files(p, out);
        } else if (S_ISREG(st.st_mode)) {
            names_add(out, p);
        }
    }
    closedir(d);
}

/* Local paths of every file any commit of the log added or removed. */
static void referenced_files(const char *table, names *out)
{
    int64_t latest = latest_version(table);
    sm_arena *a = sm_arena_create(0, 0);
    for (int64_t v = 0; v <= latest; v++) {
        delta_commit_actions c;
        sm_error err;
        sm_arena_reset(a);
        if (delta_read_commit(table, v, a, &c, &err) != SM_OK) {
            continue;
        }
        for (int i = 0; i < c.n_adds + c.n_removes; i++) {
            const delta_file *f = i < c.n_adds ? &c.adds[i] : &c.removes[i - c.n_adds];
            char *p = local_path(table, f->path);
            if (p) {
                names_add(out, p);
            }
            free(p);
        }
    }
    sm_arena_destroy(a);
    names_sort(out);
}

/* Every data file on disk is one the log references (no orphan from a failed optimize). */
static bool no_orphans(const char *table)
{
    names disk = {0}, refs = {0};
    bool ok = true;
    list_data_files(table, &disk);
    referenced_files(table, &refs);
    for (size_t i = 0; i < disk.n; i++) {
        if (!names_has(&refs, disk.v[i])) {
            fprintf(stderr, "orphan: %s\n", disk.v[i]);
            ok = false;
        }
    }
    names_free(&disk);
    names_free(&refs);
    return ok;
}

static void touch_at(const char *path, int64_t ms)
{
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = ms / 1000;
    ts[0].tv_nsec = ts[1].tv_nsec = (ms % 1000) * 1000000;
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* Appends 30 files over the four regions, with a txn each (app "app-1", versions 0..29). */
static void append_thirty(model *m)
{
    for (int i = 0; i < 30; i++) {
        CU_ASSERT_EQUAL_FATAL(
            append_rows(m, regions[i % 4], (int64_t)i * 100, 10 + i % 3, "app-1", i, NULL), SM_OK);
    }
}

/* ---- optimize ---------------------------------------------------------------------------- */

static void test_optimize_compacts_and_keeps_rows_and_txns(void)
{
    model m;
    delta_snapshot *before, *after;
    delta_optimize_result res;
    delta_commit_actions c;
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err;
    int64_t vb;

    model_init(&m, "maint-opt");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    before = load(m.table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    vb = before->version;
    CU_ASSERT_EQUAL(before->n_files, 30);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(before, "app-1"), 29);
    CU_ASSERT(contents_match(&m, -1));

    CU_ASSERT_EQUAL_FATAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    CU_ASSERT_EQUAL(res.version, vb + 1);
    CU_ASSERT_EQUAL(res.files_removed, 30);
    CU_ASSERT_EQUAL(res.files_added, 4);
    CU_ASSERT_EQUAL(res.partitions, 4);
    CU_ASSERT(res.bytes_removed > 0 && res.bytes_added > 0);

    after = load(m.table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_EQUAL(after->version, vb + 1);
    CU_ASSERT_EQUAL(after->n_files, 4);
    CU_ASSERT_EQUAL(after->n_txns, before->n_txns);
    CU_ASSERT_EQUAL(delta_snapshot_txn_version(after, "app-1"), 29);
    for (int64_t i = 0; i < after->n_files; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(after->files[i].path, ".c000.zstd.parquet"));
        CU_ASSERT_PTR_NOT_NULL(after->files[i].stats);
        CU_ASSERT_PTR_NOT_NULL(strstr(after->files[i].stats, "\"numRecords\""));
    }
    CU_ASSERT(contents_match(&m, -1));
    CU_ASSERT(contents_match(&m, vb)); /* time travel: the old files are still there */

    /* the commit: OPTIMIZE, dataChange=false both ways, no txn */
    CU_ASSERT_EQUAL_FATAL(delta_read_commit(m.table, vb + 1, a, &c, &err), SM_OK);
    CU_ASSERT_EQUAL(c.n_adds, 4);
    CU_ASSERT_EQUAL(c.n_removes, 30);
    CU_ASSERT_EQUAL(c.n_txns, 0);
    CU_ASSERT_PTR_NULL(c.metadata);
    CU_ASSERT_PTR_NULL(c.protocol);
    for (int i = 0; i < c.n_adds; i++) {
        CU_ASSERT_FALSE(c.adds[i].data_change);
    }
    for (int i = 0; i < c.n_removes; i++) {
        CU_ASSERT_FALSE(c.removes[i].data_change);
        CU_ASSERT(c.removes[i].deletion_timestamp > 0);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.commit_info);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.commit_info, "\"operation\":\"OPTIMIZE\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.commit_info, "\"zOrderBy\":\"[]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.commit_info, "\"predicate\":\"[]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.commit_info, "\"numRemovedFiles\":\"30\""));

    /* a second optimize has nothing to do */
    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    CU_ASSERT_EQUAL(res.version, -1);
    CU_ASSERT_EQUAL(res.files_removed, 0);
    CU_ASSERT_EQUAL(latest_version(m.table), vb + 1);
    CU_ASSERT(no_orphans(m.table));

    delta_snapshot_free(before);
    delta_snapshot_free(after);
    sm_arena_destroy(a);
    model_free(&m);
}

/* Files at or above the target stay; the small ones are packed by size, two per bin here. */
static void test_optimize_bins_by_size_and_skips_large_files(void)
{
    model m;
    delta_snapshot *s;
    delta_optimize_opts o;
    delta_optimize_result res;
    sm_error err;
    int64_t max_small = 0;
    char big_path[256];

    model_init(&m, "maint-bins");
    create_table(m.table, 0, NULL);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 1000 + i * 10, 10, NULL, 0, NULL), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 100000, 20000, NULL, 0, NULL), SM_OK);
    snprintf(big_path, sizeof big_path, "%s", m.recs[6].path);
    s = load(m.table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int64_t i = 0; i < s->n_files; i++) {
        if (strcmp(s->files[i].path, big_path) != 0 && s->files[i].size > max_small) {
            max_small = s->files[i].size;
        }
    }
    delta_snapshot_free(s);

    delta_optimize_opts_default(&o);
    o.target_file_size = max_small * 5 / 2; /* two small files fit, three do not */
    CU_ASSERT_EQUAL_FATAL(delta_optimize(m.table, &o, &res, &err), SM_OK);
    CU_ASSERT_EQUAL(res.files_removed, 6);
    CU_ASSERT_EQUAL(res.files_added, 3);
    CU_ASSERT_EQUAL(res.partitions, 1);
    s = load(m.table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_files, 4);
    {
        bool big_kept = false;
        for (int64_t i = 0; i < s->n_files; i++) {
            big_kept |= strcmp(s->files[i].path, big_path) == 0;
        }
        CU_ASSERT(big_kept);
    }
    delta_snapshot_free(s);
    CU_ASSERT(contents_match(&m, -1));
    model_free(&m);
}

/* A hook on the durable steps: when the optimizer is about to link its commit, another writer
 * commits first (an append, or the removal of one of the optimizer's inputs). */
typedef struct race {
    model *m;
    int mode; /* 1 append, 2 remove a file of region east */
    int fires_left;
    bool in_hook;
    int fired;
    int rc;
} race;

static int race_hook(sm_fault_point point, const char *path, void *ctx)
{
    race *r = ctx;
    size_t len = strlen(path);
    if (r->in_hook || r->fires_left <= 0 || point != SM_FAULT_RENAME || len < 5 ||
        strcmp(path + len - 5, ".json") != 0 || !strstr(path, "/_delta_log/")) {
        return 0;
    }
    r->in_hook = true;
    r->fires_left--;
    r->fired++;
    if (r->mode == 1) {
        r->rc |= append_rows(r->m, "east", 90000 + r->fired * 100, 7, "app-2", r->fired, NULL);
    } else {
        /* the first east file still active */
        delta_snapshot *s = load(r->m->table, -1);
        int victim = -1;
        for (int i = 0; i < r->m->n && s && victim < 0; i++) {
            if (r->m->recs[i].removed_at != INT64_MAX || strcmp(r->m->recs[i].region, "east")) {
                continue;
            }
            for (int64_t k = 0; k < s->n_files; k++) {
                if (strcmp(s->files[k].path, r->m->recs[i].path) == 0) {
                    victim = i;
                }
            }
        }
        delta_snapshot_free(s);
        r->rc |= victim < 0 ? 1 : remove_rec(r->m, victim, NULL);
    }
    r->in_hook = false;
    return 0;
}

static void test_optimize_racing_an_append_lands_both(void)
{
    model m;
    race r;
    delta_optimize_result res;
    delta_commit_actions c;
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err;
    int64_t vb;

    model_init(&m, "maint-race-add");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    vb = latest_version(m.table);
    memset(&r, 0, sizeof r);
    r.m = &m;
    r.mode = 1;
    r.fires_left = 1;
    sm_fault_install(race_hook, &r);
    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(r.fired, 1);
    CU_ASSERT_EQUAL(r.rc, 0);
    /* the append took vb + 1, the optimize vb + 2 */
    CU_ASSERT_EQUAL(res.version, vb + 2);
    CU_ASSERT_EQUAL(latest_version(m.table), vb + 2);
    CU_ASSERT_EQUAL_FATAL(delta_read_commit(m.table, vb + 1, a, &c, &err), SM_OK);
    CU_ASSERT_EQUAL(c.n_adds, 1);
    CU_ASSERT_EQUAL(c.n_removes, 0);
    CU_ASSERT(contents_match(&m, -1));
    {
        delta_snapshot *s = load(m.table, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(s->n_files, 5); /* 4 compacted + the racing append */
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app-1"), 29);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app-2"), 1);
        delta_snapshot_free(s);
    }
    CU_ASSERT(no_orphans(m.table));
    sm_arena_destroy(a);
    model_free(&m);
}

typedef struct appender {
    model *m;
    int n;
    int failures;
} appender;

static void *append_thread(void *arg)
{
    appender *ap = arg;
    for (int i = 0; i < ap->n; i++) {
        if (append_rows(ap->m, regions[i % 2], 500000 + i * 100, 5, "app-3", i, NULL) != SM_OK) {
            ap->failures++;
        }
        sm_sleep_ms(2);
    }
    return NULL;
}

static void test_optimize_while_a_thread_appends(void)
{
    model m;
    appender ap = {&m, 12, 0};
    pthread_t th;
    delta_optimize_result res;
    sm_error err;
    int rc;

    model_init(&m, "maint-race-thread");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, append_thread, &ap), 0);
    rc = delta_optimize(m.table, NULL, &res, &err);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(rc, SM_OK);
    if (rc != SM_OK) {
        fprintf(stderr, "optimize: %s\n", err.msg);
    }
    CU_ASSERT_EQUAL(ap.failures, 0);
    CU_ASSERT(res.files_removed >= 30);
    CU_ASSERT(contents_match(&m, -1));
    {
        delta_snapshot *s = load(m.table, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app-1"), 29);
        CU_ASSERT_EQUAL(delta_snapshot_txn_version(s, "app-3"), 11);
        delta_snapshot_free(s);
    }
    CU_ASSERT(no_orphans(m.table));
    model_free(&m);
}

/* A commit that removes one of the optimizer's inputs wins the race: the optimizer's commit
 * conflicts, its files are deleted, and it tries again from a fresh snapshot. */
static void test_optimize_racing_a_remove_retries(void)
{
    model m;
    race r;
    delta_optimize_result res;
    sm_error err;
    int64_t vb;

    model_init(&m, "maint-race-rm");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    vb = latest_version(m.table);
    memset(&r, 0, sizeof r);
    r.m = &m;
    r.mode = 2;
    r.fires_left = 1;
    sm_fault_install(race_hook, &r);
    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(r.fired, 1);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(res.version, vb + 2);
    CU_ASSERT_EQUAL(res.files_removed, 29);
    CU_ASSERT_EQUAL(res.files_added, 4);
    CU_ASSERT(contents_match(&m, -1)); /* the deleted rows did not come back */
    CU_ASSERT(contents_match(&m, vb + 1));
    CU_ASSERT(no_orphans(m.table));
    model_free(&m);
}

static void test_optimize_gives_up_cleanly(void)
{
    model m;
    race r;
    delta_optimize_opts o;
    delta_optimize_result res;
    sm_error err;
    int64_t vb;
    int rc;

    model_init(&m, "maint-giveup");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    vb = latest_version(m.table);
    memset(&r, 0, sizeof r);
    r.m = &m;
    r.mode = 2;
    r.fires_left = 100;
    delta_optimize_opts_default(&o);
    o.max_attempts = 3;
    sm_fault_install(race_hook, &r);
    rc = delta_optimize(m.table, &o, &res, &err);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_ERR_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gave up after 3 attempts"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unchanged"));
    CU_ASSERT_EQUAL(r.fired, 3);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(res.version, -1);
    CU_ASSERT_EQUAL(latest_version(m.table), vb + 3); /* the three removes, no OPTIMIZE */
    CU_ASSERT(contents_match(&m, -1));
    CU_ASSERT(no_orphans(m.table));
    model_free(&m);
}

/* A bin whose files do not all have one schema is left as it is; the other bins go on. */
static void test_optimize_skips_a_bin_of_mixed_schemas(void)
{
    model m;
    delta_optimize_result res;
    sm_error err;

    model_init(&m, "maint-mixed");
    create_table(m.table, 0, NULL);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 0, 5, NULL, 0, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 10, 5, NULL, 0, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(append_rows_ex(&m, "east", 20, 5, NULL, 0, true, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "west", 30, 5, NULL, 0, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "west", 40, 5, NULL, 0, NULL), SM_OK);
    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    CU_ASSERT_EQUAL(res.files_removed, 2); /* west only */
    CU_ASSERT_EQUAL(res.files_added, 1);
    CU_ASSERT_EQUAL(res.partitions, 1);
    CU_ASSERT(contents_match(&m, -1));
    CU_ASSERT(no_orphans(m.table));
    model_free(&m);
}

/* Fails one durable step (the first `point` whose path ends with `suffix`, in or outside the
 * log) with EIO. */
typedef struct fail_at {
    sm_fault_point point;
    const char *suffix;
    bool in_log;
    int fired;
} fail_at;

static int fail_hook(sm_fault_point point, const char *path, void *ctx)
{
    fail_at *f = ctx;
    size_t len = strlen(path), sl = strlen(f->suffix);
    if (f->fired || point != f->point || len < sl || strcmp(path + len - sl, f->suffix) != 0 ||
        (strstr(path, "/_delta_log/") != NULL) != f->in_log) {
        return 0;
    }
    f->fired++;
    return EIO;
}

/* Temporary files (".<name>.<pid>.<n>.tmp") left under `dir`, _delta_log included. */
static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) {
        return 0;
    }
    while ((e = readdir(d))) {
        char p[4096];
        size_t len = strlen(e->d_name);
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += count_tmp_files(p);
        } else if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* A failed step leaves the table as it was and no file behind; when only the log directory's
 * fsync failed, the commit is in the log and its files are kept. */
static void test_optimize_failures_leave_nothing_behind(void)
{
    static const fail_at cases[] = {
        {SM_FAULT_OPEN, ".parquet", false, 0},      {SM_FAULT_WRITE, ".parquet", false, 0},
        {SM_FAULT_FSYNC, ".parquet", false, 0},     {SM_FAULT_RENAME, ".parquet", false, 0},
        {SM_FAULT_FSYNC_DIR, ".parquet", false, 0}, {SM_FAULT_OPEN, ".json", true, 0},
        {SM_FAULT_RENAME, ".json", true, 0},
    };
    for (size_t k = 0; k <= sizeof cases / sizeof cases[0]; k++) {
        model m;
        fail_at f;
        delta_optimize_result res;
        sm_error err;
        int64_t vb;
        int rc;

        model_init(&m, "maint-fault");
        create_table(m.table, 0, NULL);
        for (int i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL_FATAL(append_rows(&m, regions[i % 2], i * 10, 5, NULL, 0, NULL), SM_OK);
        }
        vb = latest_version(m.table);
        if (k < sizeof cases / sizeof cases[0]) {
            f = cases[k];
        } else {
            f = (fail_at){SM_FAULT_FSYNC_DIR, ".json", true, 0};
        }
        sm_fault_install(fail_hook, &f);
        rc = delta_optimize(m.table, NULL, &res, &err);
        sm_fault_install(NULL, NULL);
        CU_ASSERT_EQUAL(f.fired, 1);
        CU_ASSERT_EQUAL(rc, SM_ERR_IO);
        CU_ASSERT_EQUAL(count_tmp_files(m.table), 0);
        CU_ASSERT(no_orphans(m.table));
        if (k < sizeof cases / sizeof cases[0]) {
            CU_ASSERT_EQUAL(res.version, -1);
            CU_ASSERT_EQUAL(latest_version(m.table), vb);
        } else {
            /* in the log, durability unknown: the files are the table's */
            CU_ASSERT_EQUAL(res.version, vb + 1);
            CU_ASSERT_EQUAL(latest_version(m.table), vb + 1);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not survive a crash"));
        }
        CU_ASSERT(contents_match(&m, -1));
        model_free(&m);
    }
}

/* A commit by hand (the writer may not make every action we want to test). */
static void write_commit(const char *table, int64_t version, const char *text)
{
    char path[4096];
    sm_error err;
    snprintf(path, sizeof path, "%s/_delta_log/%020" PRId64 ".json", table, version);
    CU_ASSERT_EQUAL(sm_durable_write_file(path, text, strlen(text), SM_DURABLE_NOREPLACE, &err),
                    SM_OK);
}

static void test_maintenance_refuses_unknown_writer_features(void)
{
    model m;
    delta_optimize_result res;
    delta_vacuum_opts vo;
    char orphan[4096];
    sm_error err;

    model_init(&m, "maint-features");
    create_table(m.table, 0, NULL);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", i * 10, 5, NULL, 0, NULL), SM_OK);
    }
    write_commit(m.table, latest_version(m.table) + 1,
                 "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
                 "\"writerFeatures\":[\"domainMetadata\",\"rowTracking\"]}}\n");
    snprintf(orphan, sizeof orphan, "%s/region=east/old-orphan.parquet", m.table);
    write_file(orphan, "x");
    touch_at(orphan, sm_wall_ms() - 1000 * HOUR_MS);

    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rowTracking"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, m.table));
    delta_vacuum_opts_default(&vo);
    vo.retain_ms = 0;
    vo.force = true;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rowTracking"));
    CU_ASSERT(exists(orphan));

    /* features whose rules hold for both are fine */
    write_commit(m.table, latest_version(m.table) + 1,
                 "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
                 "\"writerFeatures\":[\"appendOnly\",\"invariants\",\"changeDataFeed\"]}}\n");
    CU_ASSERT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    CU_ASSERT_EQUAL(res.files_removed, 3);
    CU_ASSERT(contents_match(&m, -1));
    model_free(&m);
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -R '%s/.' '%s/'", from, to);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* Rows of a snapshot as DuckDB reads them, each with its file's partition values as text. */
static void fixture_rows_sql(FILE *f, const char *table, const delta_snapshot *s)
{
    fputs("SELECT d.* EXCLUDE (filename), f.pv FROM read_parquet([", f);
    for (int64_t i = 0; i < s->n_files; i++) {
        char *p = local_path(table, s->files[i].path);
        fputs(i ? ", " : "", f);
        sql_str(f, p ? p : "?");
        free(p);
    }
    fputs("], filename = true, hive_partitioning = false) d JOIN (VALUES ", f);
    for (int64_t i = 0; i < s->n_files; i++) {
        const delta_file *df = &s->files[i];
        char *p = local_path(table, df->path), pv[2048] = "";
        size_t len = 0;
        for (int c = 0; c < s->metadata.n_partition_columns; c++) {
            const char *col = s->metadata.partition_columns[c], *v = "<null>";
            for (int k = 0; k < df->n_partition_values; k++) {
                if (strcmp(df->partition_values[k].key, col) == 0) {
                    v = df->partition_values[k].value ? df->partition_values[k].value : "<null>";
                }
            }
            len += (size_t)snprintf(pv + len, sizeof pv - len, "%s=%s;", col, v);
        }
        fputs(i ? ", (" : "(", f);
        sql_str(f, p ? p : "?");
        fputs(", ", f);
        sql_str(f, pv);
        fputs(")", f);
        free(p);
    }
    fputs(") f(path, pv) ON d.filename = f.path", f);
}

/* Optimize on tables Spark wrote (snappy files, nested types, escaped partition directories):
 * the rows and partition values of the latest version are the same before and after. */
static void test_optimize_spark_fixtures_keeps_rows(void)
{
    static const char *const fixtures[] = {
        "time-travel-partition-changes-b",
        "data-reader-nested-struct",
        "data-reader-array-complex-objects",
        "data-reader-map",
        "kernel-timestamp-TIMESTAMP_MICROS",
        "snapshot-data3",
        "125-iterator-bug",
    };
    const char *src = getenv("SMELTER_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char from[4096], *t = sm_test_tmpdir("maint-fx"), *sql = NULL;
        size_t len = 0;
        delta_snapshot *before, *after;
        delta_optimize_result res;
        sm_error err;
        json_t *rows, *row;
        FILE *f;
        int rc;

        snprintf(from, sizeof from, "%s/../shared/fixtures/delta-golden/%s", src, fixtures[i]);
        copy_tree(from, t);
        before = load(t, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(before);
        rc = delta_optimize(t, NULL, &res, &err);
        if (rc != SM_OK) {
            fprintf(stderr, "%s: %s\n", fixtures[i], err.msg);
        }
        CU_ASSERT_EQUAL(rc, SM_OK);
        after = load(t, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(after);
        if (res.version < 0 || after->n_files >= before->n_files) {
            fprintf(stderr, "%s: %" PRId64 " files before, %" PRId64 " after\n", fixtures[i],
                    before->n_files, after->n_files);
        }
        CU_ASSERT(res.version >= 0);
        CU_ASSERT(after->n_files < before->n_files);
        f = open_memstream(&sql, &len);
        fputs("WITH a AS (", f);
        fixture_rows_sql(f, t, before);
        fputs("), b AS (", f);
        fixture_rows_sql(f, t, after);
        fputs(") SELECT (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS "
              "ab, (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS ba, "
              "(SELECT count(*) FROM a) AS na, (SELECT count(*) FROM b) AS nb",
              f);
        fclose(f);
        rows = sm_test_duckdb(sql);
        row = json_array_get(rows, 0);
        CU_ASSERT_PTR_NOT_NULL(row);
        if (row) {
            bool same = sm_test_int(json_object_get(row, "ab")) == 0 &&
                        sm_test_int(json_object_get(row, "ba")) == 0 &&
                        sm_test_int(json_object_get(row, "na")) ==
                            sm_test_int(json_object_get(row, "nb")) &&
                        sm_test_int(json_object_get(row, "na")) > 0;
            if (!same) {
                char *text = json_dumps(rows, JSON_COMPACT);
                fprintf(stderr, "%s: %s\n", fixtures[i], text);
                free(text);
            }
            CU_ASSERT(same);
        }
        json_decref(rows);
        free(sql);
        delta_snapshot_free(before);
        delta_snapshot_free(after);
        sm_test_rmtree(t);
        free(t);
    }
}

/* ---- vacuum ------------------------------------------------------------------------------ */

static void collect(const char *rel, int64_t size, void *ctx)
{
    CU_ASSERT(size >= 0);
    names_add(ctx, rel);
}

/* The files optimize removed go only once their tombstones are older than the retention. */
static void test_vacuum_deletes_removed_files_only_past_retention(void)
{
    model m;
    delta_optimize_result res;
    delta_vacuum_opts vo;
    delta_vacuum_result vr;
    delta_snapshot *before;
    names gone = {0};
    sm_error err;
    int64_t t0;

    model_init(&m, "maint-vac");
    create_table(m.table, 0, NULL);
    append_thirty(&m);
    before = load(m.table, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_EQUAL_FATAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    t0 = sm_wall_ms();

    delta_vacuum_opts_default(&vo);
    vo.now_ms = t0 + 167 * HOUR_MS;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    CU_ASSERT_EQUAL(vr.files, 0);
    CU_ASSERT(all_files_exist(m.table, before));

    vo.now_ms = t0 + 169 * HOUR_MS;
    vo.on_file = collect;
    vo.ctx = &gone;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    CU_ASSERT_EQUAL(vr.files, 30);
    CU_ASSERT_EQUAL(gone.n, 30);
    CU_ASSERT(vr.bytes == res.bytes_removed);
    for (int64_t i = 0; i < before->n_files; i++) {
        char *p = local_path(m.table, before->files[i].path);
        CU_ASSERT_FALSE(exists(p));
        free(p);
    }
    CU_ASSERT(contents_match(&m, -1));
    /* nothing more to do */
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    CU_ASSERT_EQUAL(vr.files, 0);
    names_free(&gone);
    delta_snapshot_free(before);
    model_free(&m);
}

static void test_vacuum_dry_run_and_time_travel_within_retention(void)
{
    model m;
    delta_optimize_result res;
    delta_vacuum_opts vo;
    delta_vacuum_result dry, real;
    names listed = {0}, deleted = {0};
    char p_old[4096], p_new[4096], p_hidden[4096], p_under[4096], p_change[4096], d_gone[4096];
    char d_change[4096];
    sm_error err;
    int64_t tmid, now, v_opt1, v_opt2;

    model_init(&m, "maint-vac-tt");
    create_table(m.table, 0, NULL);
    for (int i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL_FATAL(append_rows(&m, regions[i % 2], i * 100, 8, NULL, 0, NULL), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    v_opt1 = res.version;
    sm_sleep_ms(40);
    tmid = sm_wall_ms();
    sm_sleep_ms(40);
    for (int i = 10; i < 14; i++) {
        CU_ASSERT_EQUAL_FATAL(append_rows(&m, regions[i % 2], i * 100, 8, NULL, 0, NULL), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    v_opt2 = res.version;
    CU_ASSERT_EQUAL(res.files_removed, 6); /* 2 from the first optimize + 4 appends */

    /* files the log does not know of */
    snprintf(p_old, sizeof p_old, "%s/region=east/orphan-old.parquet", m.table);
    snprintf(p_new, sizeof p_new, "%s/region=east/orphan-new.parquet", m.table);
    snprintf(p_hidden, sizeof p_hidden, "%s/region=east/.hidden-old", m.table);
    snprintf(p_under, sizeof p_under, "%s/_underscore-old", m.table);
    snprintf(d_change, sizeof d_change, "%s/_change_data", m.table);
    snprintf(p_change, sizeof p_change, "%s/_change_data/cdc-old.parquet", m.table);
    snprintf(d_gone, sizeof d_gone, "%s/region=gone", m.table);
    write_file(p_old, "old");
    write_file(p_new, "new");
    write_file(p_hidden, "hidden");
    write_file(p_under, "underscore");
    CU_ASSERT_EQUAL_FATAL(mkdir(d_change, 0755), 0);
    write_file(p_change, "cdc");
    CU_ASSERT_EQUAL_FATAL(mkdir(d_gone, 0755), 0);
    touch_at(p_old, tmid - HOUR_MS);
    touch_at(p_hidden, tmid - HOUR_MS);
    touch_at(p_under, tmid - HOUR_MS);
    touch_at(p_change, tmid - HOUR_MS);
    touch_at(d_gone, tmid - HOUR_MS);

    /* cutoff = tmid: the first optimize's tombstones are older, the second's newer */
    now = sm_wall_ms();
    delta_vacuum_opts_default(&vo);
    vo.retain_ms = now - tmid;
    vo.force = true;
    vo.now_ms = now;
    vo.dry_run = true;
    vo.on_file = collect;
    vo.ctx = &listed;
    CU_ASSERT_EQUAL_FATAL(delta_vacuum(m.table, &vo, &dry, &err), SM_OK);
    CU_ASSERT_EQUAL(dry.files, 11); /* the 10 first appends and the old orphan */
    CU_ASSERT_EQUAL(dry.dirs_removed, 1);
    CU_ASSERT(exists(p_old));
    CU_ASSERT(exists(d_gone));
    for (int i = 0; i < 10; i++) {
        char *p = local_path(m.table, m.recs[i].path);
        CU_ASSERT(exists(p));
        free(p);
    }

    vo.dry_run = false;
    vo.ctx = &deleted;
    CU_ASSERT_EQUAL_FATAL(delta_vacuum(m.table, &vo, &real, &err), SM_OK);
    CU_ASSERT_EQUAL(real.files, dry.files);
    CU_ASSERT_EQUAL(real.bytes, dry.bytes);
    CU_ASSERT_EQUAL(real.dirs_removed, dry.dirs_removed);
    CU_ASSERT_EQUAL_FATAL(listed.n, deleted.n);
    names_sort(&listed);
    names_sort(&deleted);
    for (size_t i = 0; i < listed.n; i++) {
        CU_ASSERT_STRING_EQUAL(listed.v[i], deleted.v[i]);
    }
    CU_ASSERT(names_has(&deleted, "region=east/orphan-old.parquet"));
    CU_ASSERT_FALSE(exists(p_old));
    CU_ASSERT_FALSE(exists(d_gone));
    CU_ASSERT(exists(p_new));
    CU_ASSERT(exists(p_hidden));
    CU_ASSERT(exists(p_under));
    CU_ASSERT(exists(p_change));
    for (int i = 0; i < 10; i++) {
        char *p = local_path(m.table, m.recs[i].path);
        CU_ASSERT_FALSE(exists(p));
        free(p);
    }

    /* time travel: every version from the first optimize on still reads right; the versions
     * before it lost their files, as the retention allowed */
    for (int64_t v = v_opt1; v <= v_opt2; v++) {
        CU_ASSERT(contents_match(&m, v));
    }
    for (int64_t v = 1; v < v_opt1; v++) {
        delta_snapshot *s = load(m.table, v);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_FALSE(all_files_exist(m.table, s));
        delta_snapshot_free(s);
    }
    names_free(&listed);
    names_free(&deleted);
    model_free(&m);
}

static void test_vacuum_retention_minimum(void)
{
    model m, m2;
    delta_vacuum_opts vo;
    delta_vacuum_result vr;
    sm_error err;
    delta_kv two_days = {"delta.deletedFileRetentionDuration", "interval 2 days"};
    delta_kv month = {"delta.deletedFileRetentionDuration", "interval 1 month"};

    /* the default minimum, 1 week */
    model_init(&m, "maint-vac-min");
    create_table(m.table, 0, NULL);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 0, 5, NULL, 0, NULL), SM_OK);
    delta_vacuum_opts_default(&vo);
    CU_ASSERT_EQUAL(vo.retain_ms, 168 * HOUR_MS);
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    vo.retain_ms = 167 * HOUR_MS;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--force"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "delta.deletedFileRetentionDuration"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, m.table));
    vo.retain_ms = 0;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_ERR_USAGE);
    vo.force = true;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    CU_ASSERT_EQUAL(vr.files, 0); /* nothing was ever removed */
    CU_ASSERT(contents_match(&m, -1));
    model_free(&m);

    /* the table's own minimum, as Delta writes it */
    model_init(&m, "maint-vac-min2");
    create_table(m.table, 1, &two_days);
    CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", 0, 5, NULL, 0, NULL), SM_OK);
    delta_vacuum_opts_default(&vo);
    vo.retain_ms = 47 * HOUR_MS;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_ERR_USAGE);
    vo.retain_ms = 48 * HOUR_MS;
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    vo.retain_ms = -1; /* the table's */
    CU_ASSERT_EQUAL(delta_vacuum(m.table, &vo, &vr, &err), SM_OK);
    model_free(&m);

    /* months are not a fixed duration: Delta refuses them, so do we */
    model_init(&m2, "maint-vac-month");
    create_table(m2.table, 1, &month);
    delta_vacuum_opts_default(&vo);
    CU_ASSERT_EQUAL(delta_vacuum(m2.table, &vo, &vr, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "interval 1 month"));
    model_free(&m2);
}

/* Without a readable log nothing is known to be dead: vacuum deletes nothing. */
static void test_vacuum_refuses_unreadable_log(void)
{
    model m;
    delta_vacuum_opts vo;
    delta_optimize_result res;
    char orphan[4096];
    sm_error err;

    model_init(&m, "maint-vac-corrupt");
    create_table(m.table, 0, NULL);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(append_rows(&m, "east", i * 10, 5, NULL, 0, NULL), SM_OK);
    }
    snprintf(orphan, sizeof orphan, "%s/region=east/old-orphan.parquet", m.table);
    write_file(orphan, "x");
    touch_at(orphan, sm_wall_ms() - 1000 * HOUR_MS);
    write_commit(m.table, latest_version(m.table) + 1, "{\"add\": {not json\n");
    delta_vacuum_opts_default(&vo);
    vo.retain_ms = 0;
    vo.force = true;
    CU_ASSERT_NOT_EQUAL(delta_vacuum(m.table, &vo, NULL, &err), SM_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "vacuum refused"));
    CU_ASSERT(exists(orphan));
    for (int i = 0; i < 3; i++) {
        char *p = local_path(m.table, m.recs[i].path);
        CU_ASSERT(exists(p));
        free(p);
    }
    CU_ASSERT_NOT_EQUAL(delta_optimize(m.table, NULL, &res, &err), SM_OK);
    model_free(&m);

    /* not a table at all */
    {
        char *t = sm_test_tmpdir("maint-vac-none");
        CU_ASSERT_EQUAL(delta_vacuum(t, &vo, NULL, &err), SM_ERR_USAGE);
        sm_test_rmtree(t);
        free(t);
    }
}

static CU_TestInfo tests[] = {
    {"optimize compacts small files and keeps rows and txns",
     test_optimize_compacts_and_keeps_rows_and_txns},
    {"optimize bins by size and skips large files",
     test_optimize_bins_by_size_and_skips_large_files},
    {"optimize racing an append lands both", test_optimize_racing_an_append_lands_both},
    {"optimize while a thread appends", test_optimize_while_a_thread_appends},
    {"optimize racing a remove of its input retries", test_optimize_racing_a_remove_retries},
    {"optimize gives up cleanly after max attempts", test_optimize_gives_up_cleanly},
    {"optimize skips a bin of mixed schemas", test_optimize_skips_a_bin_of_mixed_schemas},
    {"optimize failures leave nothing behind", test_optimize_failures_leave_nothing_behind},
    {"maintenance refuses unknown writer features",
     test_maintenance_refuses_unknown_writer_features},
    {"optimize of Spark fixtures keeps their rows", test_optimize_spark_fixtures_keeps_rows},
    {"vacuum deletes removed files only past the retention",
     test_vacuum_deletes_removed_files_only_past_retention},
    {"vacuum dry run lists what it deletes; time travel within retention works",
     test_vacuum_dry_run_and_time_travel_within_retention},
    {"vacuum refuses a retention below the minimum unless forced", test_vacuum_retention_minimum},
    {"vacuum refuses a table whose log cannot be read", test_vacuum_refuses_unreadable_log},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("delta_maint", tests)
