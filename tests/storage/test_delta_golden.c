/*
 * The Delta golden tables (../shared/fixtures/delta-golden, written by Spark + Delta for
 * delta-io/delta's own readers) against tests/storage/delta_golden_expect.json, the known truth
 * of each, taken from upstream's generator and tests (each entry names its source):
 *
 *   expect "ok"       delta_snapshot_load gives the version, the active files (paths as the log
 *                     holds them), partition columns, protocol and txns listed; and, unless the
 *                     adds name files that do not exist, DuckDB reading the files *our snapshot
 *                     lists* (each file's partition values taken from its add, typed by the
 *                     schema) gives the listed rows, or the row count and aggregate checks;
 *   expect "refused"  the load fails with the listed error code and a message naming one of
 *                     the listed reasons (the reader feature, "metadata", ...).
 *
 * Every directory of the fixtures (and every table nested in one) must have an entry. The run
 * prints one line per table: what it reconstructed to, or why it was refused.
 *
 * Rows are compared as text: each select expression is CAST to VARCHAR by DuckDB (timestamps
 * are selected as epoch_us(...), binary as hex(...)), rows as sorted sets. Tables are sent to
 * DuckDB in batches (one process per batch); a failing batch is retried table by table so the
 * failure names its table.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#include "sm_test.h"
#include "storage/delta.h"

#define GOLDEN_BATCH 8

typedef struct golden_env {
    char fixtures[4096];
    char expect_path[4096];
} golden_env;

/* A growable string for SQL and reports. Aborts the test program on allocation failure. */
typedef struct gstr {
    char *s;
    size_t len, cap;
} gstr;

static void gs_addn(gstr *g, const char *p, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap : 256;
        while (cap < g->len + n + 1) {
            cap *= 2;
        }
        char *s = realloc(g->s, cap);
        if (!s) {
            fprintf(stderr, "test_delta_golden: out of memory\n");
            exit(2);
        }
        g->s = s;
        g->cap = cap;
    }
    memcpy(g->s + g->len, p, n);
    g->len += n;
    g->s[g->len] = '\0';
}

static void gs_add(gstr *g, const char *p)
{
    gs_addn(g, p, strlen(p));
}

static void gs_printf(gstr *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void gs_printf(gstr *g, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof tmp) {
        gs_addn(g, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        exit(2);
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gs_addn(g, big, (size_t)n);
    free(big);
}

/* A SQL string literal. */
static void gs_sql_str(gstr *g, const char *s)
{
    gs_add(g, "'");
    for (const char *p = s; *p; p++) {
        gs_addn(g, p, 1);
        if (*p == '\'') {
            gs_add(g, "'");
        }
    }
    gs_add(g, "'");
}

/* A SQL quoted identifier. */
static void gs_sql_ident(gstr *g, const char *s)
{
    gs_add(g, "\"");
    for (const char *p = s; *p; p++) {
        gs_addn(g, p, 1);
        if (*p == '"') {
            gs_add(g, "\"");
        }
    }
    gs_add(g, "\"");
}

static void gs_free(gstr *g)
{
    free(g->s);
    g->s = NULL;
    g->len = g->cap = 0;
}

static const char *gs_cstr(const gstr *g)
{
    return g->s ? g->s : "";
}

static bool golden_env_init(golden_env *env)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "test_delta_golden: SMELTER_SOURCE_DIR is not set (run through ctest)\n");
        return false;
    }
    snprintf(env->fixtures, sizeof env->fixtures, "%s/../shared/fixtures/delta-golden", src);
    snprintf(env->expect_path, sizeof env->expect_path, "%s/tests/storage/delta_golden_expect.json",
             src);
    return true;
}

static json_t *load_expectations(const golden_env *env)
{
    json_error_t jerr;
    json_t *root = json_load_file(env->expect_path, 0, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", env->expect_path, jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_array(json_object_get(root, "tables"))) {
        fprintf(stderr, "%s: no \"tables\" array\n", env->expect_path);
        json_decref(root);
        return NULL;
    }
    return root;
}

static const json_t *find_entry(const json_t *tables, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(tables, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "table"));
        if (t && strcmp(t, name) == 0) {
            return e;
        }
    }
    return NULL;
}

/* out = a + "/" + b; false (and an empty string) when it does not fit. */
static bool path_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return false;
    }
    return true;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---------------------------------------------------------------------------------------- */
/* Coverage: every directory has an entry, every entry a directory                           */

/* Reports every directory under `dir` (relative name `rel`) that holds a `_delta_log/` and
 * has no entry. Returns how many are missing. */
static int check_nested_tables(const char *dir, const char *rel, const json_t *tables, int depth)
{
    int missing = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d || depth > 4) {
        if (d) {
            closedir(d);
        }
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096], name[4096], log[4200];
        if (de->d_name[0] == '.' || strcmp(de->d_name, "_delta_log") == 0) {
            continue;
        }
        path_join(path, sizeof path, dir, de->d_name);
        if (!is_dir(path)) {
            continue;
        }
        path_join(name, sizeof name, rel, de->d_name);
        path_join(log, sizeof log, path, "_delta_log");
        if (is_dir(log) && !find_entry(tables, name)) {
            fprintf(stderr, "  no expectation for nested table %s\n", name);
            missing++;
        }
        missing += check_nested_tables(path, name, tables, depth + 1);
    }
    closedir(d);
    return missing;
}

static void test_every_fixture_has_an_expectation(void)
{
    golden_env env;
    json_t *root;
    const json_t *tables, *e;
    DIR *d;
    struct dirent *de;
    int missing = 0, dirs = 0;
    size_t i;

    CU_ASSERT_FATAL(golden_env_init(&env));
    CU_ASSERT_FATAL((root = load_expectations(&env)) != NULL);
    tables = json_object_get(root, "tables");
    d = opendir(env.fixtures);
    CU_ASSERT_FATAL(d != NULL);
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        if (de->d_name[0] == '.') {
            continue;
        }
        path_join(path, sizeof path, env.fixtures, de->d_name);
        if (!is_dir(path)) {
            continue;
        }
        dirs++;
        if (!find_entry(tables, de->d_name)) {
            fprintf(stderr, "  no expectation for fixture directory %s\n", de->d_name);
            missing++;
        }
        missing += check_nested_tables(path, de->d_name, tables, 1);
    }
    closedir(d);
    json_array_foreach(tables, i, e)
    {
        char path[4096];
        const char *t = json_string_value(json_object_get(e, "table"));
        path_join(path, sizeof path, env.fixtures, t ? t : "");
        if (!t || !is_dir(path)) {
            fprintf(stderr, "  expectation %s names no fixture directory\n", t ? t : "(null)");
            missing++;
        }
    }
    printf("\n  %d fixture directories, %zu expectations\n", dirs, json_array_size(tables));
    CU_ASSERT(dirs >= 100);
    CU_ASSERT_EQUAL(missing, 0);
    json_decref(root);
}

/* ---------------------------------------------------------------------------------------- */
/* One table                                                                                 */

typedef struct golden_case {
    const json_t *e;    /* borrowed from the expectations */
    char name[512];     /* the table, "@v<version>" added for a time-travel case */
    int64_t at_version; /* -1: the latest version */
    char dir[4096];
    delta_snapshot *snap;
    gstr sql;    /* the DuckDB subquery of this table's contents, empty when none */
    gstr report; /* the line printed for this table */
    gstr fail;   /* mismatches; empty when the table passed */
} golden_case;

static void case_fail(golden_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void case_fail(golden_case *c, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    gs_printf(&c->fail, "    %s: %s\n", c->name, tmp);
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        if (strncasecmp(p, needle, n) == 0) {
            return true;
        }
    }
    return n == 0;
}

static void check_files(golden_case *c, const json_t *want);

static void check_refused(golden_case *c, int rc, const sm_error *err)
{
    const char *want = json_string_value(json_object_get(c->e, "code"));
    const json_t *reasons = json_object_get(c->e, "reason");
    const json_t *or_ok = json_object_get(c->e, "or_ok");
    const json_t *r;
    size_t i;
    bool named = false;

    if (rc == 0 && or_ok) {
        /* Upstream refuses; a reader may instead rebuild the snapshot another valid way (the
         * entry says how), and must then get it right. */
        json_int_t v = json_integer_value(json_object_get(or_ok, "version"));
        if (c->snap->version != v) {
            case_fail(c, "version %lld, expected %lld", (long long)c->snap->version, (long long)v);
        }
        check_files(c, json_object_get(or_ok, "files"));
        gs_printf(&c->report, "ok       version %lld, %lld files (upstream refuses: see or_ok)",
                  (long long)c->snap->version, (long long)c->snap->n_files);
        return;
    }
    if (rc == 0) {
        case_fail(c, "loaded (version %lld, %lld files) but should be refused",
                  (long long)c->snap->version, (long long)c->snap->n_files);
        gs_printf(&c->report, "LOADED, expected refusal");
        return;
    }
    if (want && strcmp(sm_code_name(err->code), want) != 0) {
        case_fail(c, "refused with code %s, expected %s: %s", sm_code_name(err->code), want,
                  err->msg);
    }
    json_array_foreach(reasons, i, r)
    {
        if (contains_nocase(err->msg, json_string_value(r))) {
            named = true;
        }
    }
    if (!named) {
        case_fail(c, "refusal does not name the reason (%s): %s",
                  json_string_value(json_array_get(reasons, 0)), err->msg);
    }
    gs_printf(&c->report, "refused  %-7s %.110s", sm_code_name(err->code), err->msg);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_files(golden_case *c, const json_t *want)
{
    size_t n_want = json_array_size(want), n_got = (size_t)c->snap->n_files;
    const char **a = calloc(n_want + 1, sizeof *a), **b = calloc(n_got + 1, sizeof *b);
    size_t i, j, shown = 0;

    if (!a || !b) {
        exit(2);
    }
    for (i = 0; i < n_want; i++) {
        a[i] = json_string_value(json_array_get(want, i));
    }
    for (i = 0; i < n_got; i++) {
        b[i] = c->snap->files[i].path;
    }
    qsort(a, n_want, sizeof *a, cmp_str);
    qsort(b, n_got, sizeof *b, cmp_str);
    if (n_want != n_got) {
        case_fail(c, "%zu active files, expected %zu", n_got, n_want);
    }
    for (i = 0, j = 0; (i < n_want || j < n_got) && shown < 4;) {
        int d = i == n_want ? 1 : j == n_got ? -1 : strcmp(a[i], b[j]);
        if (d == 0) {
            i++, j++;
        } else if (d < 0) {
            case_fail(c, "missing active file %s", a[i++]);
            shown++;
        } else {
            case_fail(c, "unexpected active file %s", b[j++]);
            shown++;
        }
    }
    free(a);
    free(b);
}

static void check_metadata(golden_case *c)
{
    const json_t *pc = json_object_get(c->e, "partition_columns");
    const json_t *proto = json_object_get(c->e, "protocol");
    const json_t *txns = json_object_get(c->e, "txns");
    const char *k;
    const json_t *v;

    if (pc) {
        bool same = json_array_size(pc) == (size_t)c->snap->metadata.n_partition_columns;
        for (int i = 0; same && i < c->snap->metadata.n_partition_columns; i++) {
            same = strcmp(json_string_value(json_array_get(pc, (size_t)i)),
                          c->snap->metadata.partition_columns[i]) == 0;
        }
        if (!same) {
            case_fail(c, "partition columns differ (%d, expected %zu)",
                      c->snap->metadata.n_partition_columns, json_array_size(pc));
        }
    }
    if (proto &&
        (json_integer_value(json_array_get(proto, 0)) != c->snap->protocol.min_reader_version ||
         json_integer_value(json_array_get(proto, 1)) != c->snap->protocol.min_writer_version)) {
        case_fail(c, "protocol (%d, %d), expected (%lld, %lld)",
                  c->snap->protocol.min_reader_version, c->snap->protocol.min_writer_version,
                  json_integer_value(json_array_get(proto, 0)),
                  json_integer_value(json_array_get(proto, 1)));
    }
    json_object_foreach((json_t *)txns, k, v)
    {
        int64_t got = delta_snapshot_txn_version(c->snap, k);
        if (got != json_integer_value(v)) {
            case_fail(c, "txn %s at version %lld, expected %lld", k, (long long)got,
                      json_integer_value(v));
        }
    }
    if (txns && c->snap->n_txns != (int)json_object_size(txns)) {
        case_fail(c, "%d txns, expected %zu", c->snap->n_txns, json_object_size(txns));
    }
}

static const delta_file *snap_file(const delta_snapshot *s, const char *path)
{
    for (int64_t i = 0; i < s->n_files; i++) {
        if (strcmp(s->files[i].path, path) == 0) {
            return &s->files[i];
        }
    }
    return NULL;
}

/* delta_file_local_path of a log path, as a malloc'd string, or NULL (failure recorded). */
static char *local_path(golden_case *c, const char *log_path)
{
    sm_buf out = SM_BUF_INIT;
    sm_error err = {0};
    char *s = NULL;
    if (delta_file_local_path(c->dir, log_path, &out, &err) != 0) {
        case_fail(c, "delta_file_local_path(%s): %s", log_path, err.msg);
    } else if ((s = malloc(out.len + 1)) != NULL) {
        memcpy(s, out.data, out.len);
        s[out.len] = '\0';
    }
    sm_buf_free(&out);
    return s;
}

static void check_files_detail(golden_case *c)
{
    const json_t *lp = json_object_get(c->e, "local_paths");
    const json_t *fc = json_object_get(c->e, "file_checks");
    const char *k;
    const json_t *v;
    size_t i;

    json_object_foreach((json_t *)lp, k, v)
    {
        char want[8192];
        char *got = local_path(c, k);
        path_join(want, sizeof want, c->dir, json_string_value(v) ? json_string_value(v) : "");
        if (got && strcmp(got, want) != 0) {
            case_fail(c, "local path of %s is %s, expected %s", k, got, want);
        }
        free(got);
    }
    json_array_foreach(fc, i, v)
    {
        const char *p = json_string_value(json_object_get(v, "path"));
        const delta_file *f = snap_file(c->snap, p ? p : "");
        json_int_t mt = json_integer_value(json_object_get(v, "modification_time"));
        if (!f) {
            case_fail(c, "file %s is not active", p ? p : "(null)");
        } else if (f->modification_time != mt) {
            case_fail(c, "file %s modificationTime %lld, expected %lld", p,
                      (long long)f->modification_time, (long long)mt);
        }
    }
}

/* The DuckDB type of a Delta primitive type, for typing partition values; NULL if none. */
static const char *duck_type(const char *t, char *buf, size_t cap)
{
    static const char *const map[][2] = {
        {"integer", "INTEGER"}, {"long", "BIGINT"},         {"short", "SMALLINT"},
        {"byte", "TINYINT"},    {"boolean", "BOOLEAN"},     {"float", "FLOAT"},
        {"double", "DOUBLE"},   {"string", "VARCHAR"},      {"binary", "BLOB"},
        {"date", "DATE"},       {"timestamp", "TIMESTAMP"}, {"timestamp_ntz", "TIMESTAMP"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(t, map[i][0]) == 0) {
            return map[i][1];
        }
    }
    if (strncmp(t, "decimal(", 8) == 0) {
        snprintf(buf, cap, "DECIMAL%s", t + 7);
        return buf;
    }
    return NULL;
}

static const char *field_type(const json_t *schema, const char *name)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(schema, "fields"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) {
            return json_string_value(json_object_get(f, "type"));
        }
    }
    return NULL;
}

/*
 * Builds c->sql: one subquery returning (tbl, n, rows, checks) for this table, over the files
 * the snapshot lists. The partition values come from each add, typed by the schema string
 * (parsed here with jansson, not by the reader's schema code).
 */
static void build_query(golden_case *c)
{
    const json_t *select = json_object_get(c->e, "select");
    const json_t *rows = json_object_get(c->e, "rows");
    const json_t *checks = json_object_get(c->e, "checks");
    json_error_t jerr;
    json_t *schema;
    gstr body = {0};
    size_t i;
    const json_t *v;

    if (!select || c->snap->n_files == 0) {
        return;
    }
    schema = json_loads(c->snap->metadata.schema_string ? c->snap->metadata.schema_string : "", 0,
                        &jerr);
    if (!schema) {
        case_fail(c, "schemaString does not parse: %s", jerr.text);
        return;
    }
    for (int64_t f = 0; f < c->snap->n_files; f++) {
        const delta_file *df = &c->snap->files[f];
        char *lp = local_path(c, df->path);
        if (!lp) {
            goto done;
        }
        if (f > 0) {
            gs_add(&body, "\n  UNION ALL BY NAME\n");
        }
        gs_add(&body, "  SELECT *");
        for (int k = 0; k < df->n_partition_values; k++) {
            char dec[64];
            const char *st = field_type(schema, df->partition_values[k].key);
            const char *dt = st ? duck_type(st, dec, sizeof dec) : NULL;
            if (!dt) {
                case_fail(c, "partition column %s has no primitive type in the schema",
                          df->partition_values[k].key);
                free(lp);
                goto done;
            }
            gs_add(&body, ", CAST(");
            if (df->partition_values[k].value) {
                gs_sql_str(&body, df->partition_values[k].value);
            } else {
                gs_add(&body, "NULL");
            }
            gs_printf(&body, " AS %s) AS ", dt);
            gs_sql_ident(&body, df->partition_values[k].key);
        }
        gs_add(&body, " FROM read_parquet(");
        gs_sql_str(&body, lp);
        gs_add(&body, ", hive_partitioning=false)");
        free(lp);
    }
    gs_add(&c->sql, "SELECT * FROM (WITH t AS (\n");
    gs_add(&c->sql, gs_cstr(&body));
    gs_add(&c->sql, "\n) SELECT ");
    gs_sql_str(&c->sql, c->name);
    gs_add(&c->sql, " AS tbl, (SELECT count(*) FROM t) AS n, ");
    if (rows) {
        gs_add(&c->sql, "(SELECT list([");
        json_array_foreach(select, i, v)
        {
            gs_printf(&c->sql, "%sCAST(%s AS VARCHAR)", i ? ", " : "", json_string_value(v));
        }
        gs_add(&c->sql, "]) FROM t) AS rows, ");
    } else {
        gs_add(&c->sql, "CAST(NULL AS VARCHAR[][]) AS rows, ");
    }
    if (json_array_size(checks) > 0) {
        gs_add(&c->sql, "[");
        json_array_foreach(checks, i, v)
        {
            gs_printf(&c->sql, "%sCAST((%s) AS VARCHAR)", i ? ", " : "",
                      json_string_value(json_object_get(v, "sql")));
        }
        gs_add(&c->sql, "] AS checks");
    } else {
        gs_add(&c->sql, "CAST(NULL AS VARCHAR[]) AS checks");
    }
    gs_add(&c->sql, ")");
done:
    gs_free(&body);
    json_decref(schema);
}

/* Loads the snapshot and checks everything but the contents; builds the contents query. */
static void run_case(golden_case *c)
{
    const char *expect = json_string_value(json_object_get(c->e, "expect"));
    delta_load_opts opts;
    sm_error err = {0};
    int rc;

    delta_load_opts_default(&opts);
    opts.version = c->at_version;
    rc = delta_snapshot_load(c->dir, &opts, &c->snap, &err);
    if (rc == 0 && !c->snap) {
        case_fail(c, "load returned 0 but no snapshot");
        return;
    }
    if (expect && strcmp(expect, "refused") == 0) {
        check_refused(c, rc, &err);
        return;
    }
    if (rc != 0) {
        case_fail(c, "refused (%s): %s", sm_code_name(err.code), err.msg);
        gs_printf(&c->report, "REFUSED  %-7s %.110s", sm_code_name(err.code), err.msg);
        return;
    }
    if (c->snap->version != json_integer_value(json_object_get(c->e, "version"))) {
        case_fail(c, "version %lld, expected %lld", (long long)c->snap->version,
                  json_integer_value(json_object_get(c->e, "version")));
    }
    check_files(c, json_object_get(c->e, "files"));
    check_metadata(c);
    check_files_detail(c);
    gs_printf(&c->report, "ok       version %lld, %lld files", (long long)c->snap->version,
              (long long)c->snap->n_files);
    if (json_object_get(c->e, "select")) {
        gs_printf(&c->report, ", %lld rows",
                  json_integer_value(json_object_get(c->e, "row_count")));
        if (c->snap->n_files > 0) {
            build_query(c);
        } else if (json_integer_value(json_object_get(c->e, "row_count")) != 0) {
            case_fail(c, "no files, but %lld rows expected",
                      json_integer_value(json_object_get(c->e, "row_count")));
        }
    } else {
        gs_add(&c->report, " (log only)");
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Contents through DuckDB                                                                   */

/* Serialises a row (a JSON array of strings and nulls) for sorting and comparison. */
static char *row_text(const json_t *row)
{
    return json_dumps(row, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

static char **row_texts(const json_t *rows, size_t *n)
{
    size_t i;
    const json_t *r;
    char **out;
    *n = json_array_size(rows);
    out = calloc(*n + 1, sizeof *out);
    if (!out) {
        exit(2);
    }
    json_array_foreach(rows, i, r)
    {
        out[i] = row_text(r);
    }
    qsort(out, *n, sizeof *out, cmp_str);
    return out;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i]);
    }
    free(t);
}

static void check_contents(golden_case *c, const json_t *got)
{
    const json_t *want_rows = json_object_get(c->e, "rows");
    const json_t *checks = json_object_get(c->e, "checks");
    long long n = sm_test_int(json_object_get(got, "n"));
    json_int_t want_n = json_integer_value(json_object_get(c->e, "row_count"));
    size_t i;
    const json_t *v;

    if (n != want_n) {
        case_fail(c, "DuckDB reads %lld rows from the snapshot's files, expected %lld", n,
                  (long long)want_n);
    }
    if (want_rows) {
        const json_t *got_rows = json_object_get(got, "rows");
        size_t na, nb, ia = 0, ib = 0, shown = 0;
        char **a = row_texts(want_rows, &na);
        char **b = row_texts(json_is_array(got_rows) ? got_rows : NULL, &nb);
        while ((ia < na || ib < nb) && shown < 4) {
            int d = ia == na ? 1 : ib == nb ? -1 : strcmp(a[ia], b[ib]);
            if (d == 0) {
                ia++, ib++;
            } else if (d < 0) {
                case_fail(c, "row missing: %s", a[ia++]);
                shown++;
            } else {
                case_fail(c, "row not expected: %s", b[ib++]);
                shown++;
            }
        }
        free_texts(a, na);
        free_texts(b, nb);
    }
    json_array_foreach(checks, i, v)
    {
        const json_t *g = json_array_get(json_object_get(got, "checks"), i);
        const char *want = json_string_value(json_object_get(v, "value"));
        const char *gs = json_string_value(g);
        if (!gs || !want || strcmp(gs, want) != 0) {
            case_fail(c, "%s gives %s, expected %s", json_string_value(json_object_get(v, "sql")),
                      gs ? gs : "NULL", want ? want : "NULL");
        }
    }
}

/* Runs the queries of cases[0..n) in one DuckDB process; returns false if the query failed. */
static bool run_batch(golden_case **cases, size_t n)
{
    gstr sql = {0};
    json_t *res;
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (k++ > 0) {
            gs_add(&sql, "\nUNION ALL\n");
        }
        gs_add(&sql, gs_cstr(&cases[i]->sql));
    }
    res = sm_test_duckdb(gs_cstr(&sql));
    gs_free(&sql);
    if (!res) {
        return false;
    }
    for (i = 0; i < n; i++) {
        const json_t *row = NULL, *r;
        size_t j;
        json_array_foreach(res, j, r)
        {
            const char *t = json_string_value(json_object_get(r, "tbl"));
            if (t && strcmp(t, cases[i]->name) == 0) {
                row = r;
            }
        }
        if (!row) {
            case_fail(cases[i], "DuckDB returned no result row");
        } else {
            check_contents(cases[i], row);
        }
    }
    json_decref(res);
    return true;
}

static void run_contents(golden_case *cases, size_t n)
{
    golden_case *batch[GOLDEN_BATCH];
    size_t nb = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && cases[i].sql.len > 0) {
            batch[nb++] = &cases[i];
        }
        if (nb == GOLDEN_BATCH || (i == n && nb > 0)) {
            if (!run_batch(batch, nb)) {
                /* find the table whose files DuckDB could not read */
                for (size_t j = 0; j < nb; j++) {
                    if (!run_batch(&batch[j], 1)) {
                        case_fail(batch[j], "DuckDB could not read the snapshot's files");
                    }
                }
            }
            nb = 0;
        }
    }
}

static void test_every_golden_table_reconstructs_or_is_refused(void)
{
    golden_env env;
    json_t *root;
    const json_t *tables, *e;
    golden_case *cases;
    size_t n, i, k, failed = 0, n_ok = 0, n_refused = 0;

    CU_ASSERT_FATAL(golden_env_init(&env));
    CU_ASSERT_FATAL((root = load_expectations(&env)) != NULL);
    tables = json_object_get(root, "tables");
    /* one case per entry, and one per time-travel snapshot an entry lists */
    n = 0;
    json_array_foreach(tables, i, e)
    {
        n += 1 + json_array_size(json_object_get(e, "time_travel"));
    }
    cases = calloc(n, sizeof *cases);
    CU_ASSERT_FATAL(cases != NULL);
    k = 0;
    json_array_foreach(tables, i, e)
    {
        const char *table = json_string_value(json_object_get(e, "table"));
        size_t j;
        const json_t *tt;
        golden_case *c = &cases[k++];
        c->e = e;
        c->at_version = -1;
        snprintf(c->name, sizeof c->name, "%s", table ? table : "(unnamed)");
        path_join(c->dir, sizeof c->dir, env.fixtures, table ? table : "");
        json_array_foreach(json_object_get(e, "time_travel"), j, tt)
        {
            golden_case *t = &cases[k++];
            t->e = tt;
            t->at_version = json_integer_value(json_object_get(tt, "version"));
            if (snprintf(t->name, sizeof t->name, "%s@v%lld", table ? table : "(unnamed)",
                         (long long)t->at_version) >= (int)sizeof t->name) {
                t->name[0] = '\0';
            }
            memcpy(t->dir, c->dir, sizeof t->dir);
        }
    }
    for (i = 0; i < n; i++) {
        run_case(&cases[i]);
    }
    run_contents(cases, n);

    printf("\n  %-60s %s\n", "golden table", "result");
    for (i = 0; i < n; i++) {
        golden_case *c = &cases[i];
        const char *expect = json_string_value(json_object_get(c->e, "expect"));
        printf("  %-60s %s%s\n", c->name, c->fail.len ? "FAIL " : "", gs_cstr(&c->report));
        if (c->fail.len) {
            failed++;
        } else if (expect && strcmp(expect, "refused") == 0 && !c->snap) {
            n_refused++;
        } else {
            n_ok++;
        }
    }
    printf("  %zu snapshots (%zu tables, time travel marked @v): %zu reconstructed, %zu refused as "
           "expected, %zu failed\n",
           n, json_array_size(tables), n_ok, n_refused, failed);
    for (i = 0; i < n; i++) {
        if (cases[i].fail.len) {
            fputs(gs_cstr(&cases[i].fail), stdout);
        }
    }
    CU_ASSERT_EQUAL(failed, 0);

    for (i = 0; i < n; i++) {
        delta_snapshot_free(cases[i].snap);
        gs_free(&cases[i].sql);
        gs_free(&cases[i].report);
        gs_free(&cases[i].fail);
    }
    free(cases);
    json_decref(root);
}

static CU_TestInfo tests[] = {
    {"every fixture directory has an expectation", test_every_fixture_has_an_expectation},
    {"every golden table reconstructs or is refused as expected",
     test_every_golden_table_reconstructs_or_is_refused},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("delta_golden", tests)
