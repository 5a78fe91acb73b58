/*
 * Delta table maintenance: OPTIMIZE (bin-packing compaction) and VACUUM (storage/delta_maint.h).
 *
 * DESIGN
 *   optimize never changes what the table holds. A bin's files are copied row group by row group
 *   into one new file (the batch arena is reset after each row group, so memory is bounded by the
 *   largest row group, not the bin); the new file's rows are counted against the inputs' before
 *   anything is committed. New files are invisible until the OPTIMIZE commit lands: when it does
 *   not (a conflict, an error before the log link), they are deleted again and the table is as
 *   before. The commit carries no txn action, so the app transaction versions of the table are
 *   carried over untouched by the replay.
 *
 *   vacuum never deletes a live file. It refuses to run when the latest snapshot cannot be loaded
 *   (corrupt log, unsupported reader feature) or names writer features whose rules it does not
 *   know, and a file survives when it is active in the latest snapshot (same normalised path, or
 *   the same inode), a tombstone removed within the retention, or modified within the retention.
 *
 *   Writable protocols (both operations): writer version 1 to 4; 5 and 6 only with
 *   delta.columnMapping.mode absent or "none"; 7 when every writer feature is one of
 *   maint_writer_features below. Each of those features constrains new rows or new values, which
 *   neither operation makes (OPTIMIZE commits dataChange=false, so no change data is owed either).
 *   Anything else (rowTracking, clustering, inCommitTimestamp, icebergCompat*, v2Checkpoint,
 *   deletionVectors, typeWidening, ...) is refused with SM_ERR_USAGE naming the feature.
 */
#include "storage/delta_maint.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/uuid.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/units.h"
#include "storage/codec.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"

#define MAINT_TARGET_DEFAULT   ((int64_t)128 << 20)
#define MAINT_ATTEMPTS_DEFAULT 10
#define MAINT_RETAIN_DEFAULT   ((int64_t)168 * 3600 * 1000)
#define MAINT_WALK_DEPTH_MAX   64

/* ---- protocol ---------------------------------------------------------------------------- */

/* Writer features whose rules hold for a commit that only rearranges existing rows
 * (dataChange=false) and for a vacuum that keeps every file the log references. */
static const char *const maint_writer_features[] = {
    "appendOnly",          /* rearranging is allowed (PROTOCOL.md "Append-only Tables") */
    "invariants",          /* no new rows */
    "checkConstraints",    /* no new rows */
    "generatedColumns",    /* no new rows */
    "identityColumns",     /* no new values */
    "changeDataFeed",      /* dataChange=false commits owe no change data */
    "domainMetadata",      /* domains are left as they are */
    "vacuumProtocolCheck", /* asks vacuum for this very check */
    "columnMapping",       /* only with delta.columnMapping.mode none (checked below) */
    NULL,
};

static bool column_mapping_off(const delta_snapshot *s)
{
    const char *mode = delta_snapshot_config(s, "delta.columnMapping.mode");
    return !mode || strcasecmp(mode, "none") == 0;
}

static int check_writable(const delta_snapshot *s, const char *table, const char *op, sm_error *err)
{
    const delta_protocol *p = &s->protocol;
    int32_t wv = p->min_writer_version;

    if (wv < 1 || wv > 7) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: cannot %s: writer version %d is not supported (1 to 7 are)", table,
                            op, (int)wv);
    }
    if ((wv == 5 || wv == 6) && !column_mapping_off(s)) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: cannot %s: column mapping (writer version %d, "
                            "delta.columnMapping.mode=%s) is not supported",
                            table, op, (int)wv,
                            delta_snapshot_config(s, "delta.columnMapping.mode"));
    }
    if (wv < 7) {
        return SM_OK;
    }
    for (int i = 0; i < p->n_writer_features; i++) {
        const char *f = p->writer_features[i];
        bool known = false;
        for (const char *const *k = maint_writer_features; *k && !known; k++) {
            known = strcmp(*k, f) == 0;
        }
        if (!known) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: cannot %s: writer feature '%s' is not supported by smelter "
                                "(supported: appendOnly, invariants, checkConstraints, "
                                "generatedColumns, identityColumns, changeDataFeed, "
                                "domainMetadata, vacuumProtocolCheck, columnMapping mode none)",
                                table, op, f);
        }
        if (strcmp(f, "columnMapping") == 0 && !column_mapping_off(s)) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: cannot %s: column mapping (delta.columnMapping.mode=%s) is "
                                "not supported",
                                table, op, delta_snapshot_config(s, "delta.columnMapping.mode"));
        }
    }
    return SM_OK;
}

/* ---- table properties -------------------------------------------------------------------- */

/* Delta's interval properties ("interval 1 week", "7 days", "interval 1 day 12 hours"): an
 * optional "interval" keyword, then number-unit pairs read as core/units.h durations. A unit is
 * required; months and years are refused, as Delta's isValidIntervalConfigValue does. */
static int parse_interval_ms(const char *s, int64_t *ms)
{
    const char *p = s;
    size_t len;
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (strncasecmp(p, "interval", 8) == 0 && isspace((unsigned char)p[8])) {
        p += 8;
    }
    len = strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1])) {
        len--;
    }
    if (len == 0 || !isalpha((unsigned char)p[len - 1])) {
        return -1;
    }
    return sm_parse_duration_ms(p, ms);
}

static int table_retention_ms(const delta_snapshot *s, const char *table, int64_t *ms,
                              sm_error *err)
{
    const char *v = delta_snapshot_config(s, "delta.deletedFileRetentionDuration");
    if (!v) {
        *ms = MAINT_RETAIN_DEFAULT;
        return SM_OK;
    }
    if (parse_interval_ms(v, ms) != 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: delta.deletedFileRetentionDuration '%s' is not an interval such "
                            "as 'interval 1 week' (months and years are not accepted)",
                            table, v);
    }
    return SM_OK;
}

static int target_size(const delta_snapshot *s, const char *table, int64_t *bytes, sm_error *err)
{
    const char *v = delta_snapshot_config(s, "delta.targetFileSize");
    uint64_t b;
    if (!v) {
        *bytes = MAINT_TARGET_DEFAULT;
        return SM_OK;
    }
    if (sm_parse_size(v, &b) != 0 || b == 0 || b > (uint64_t)INT64_MAX) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: delta.targetFileSize '%s' is not a size such as 134217728 or "
                            "128mb",
                            table, v);
    }
    *bytes = (int64_t)b;
    return SM_OK;
}

/* ---- paths ------------------------------------------------------------------------------- */

/* `out` = the absolute, lexically normalised form of `path` (relative ones are taken from the
 * working directory; "." and empty components are dropped, ".." takes one back), NUL-terminated. */
static int abs_norm(const char *path, sm_buf *out, sm_error *err)
{
    char *cwd = NULL;
    const char *parts[2] = {NULL, path};
    int rc = SM_OK;

    sm_buf_reset(out);
    if (path[0] != '/') {
        if (!(cwd = getcwd(NULL, 0))) {
            return sm_error_sys(err, SM_ERR_IO, errno, "getcwd");
        }
        parts[0] = cwd;
    }
    for (int k = 0; k < 2 && rc == SM_OK; k++) {
        const char *p = parts[k];
        while (p && *p && rc == SM_OK) {
            const char *end = strchr(p, '/');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n == 2 && p[0] == '.' && p[1] == '.') {
                while (out->len > 0 && out->data[out->len - 1] != '/') {
                    out->len--;
                }
                if (out->len > 0) {
                    out->len--; /* the slash */
                }
            } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                if ((rc = sm_buf_append_byte(out, '/', err)) == SM_OK) {
                    rc = sm_buf_append(out, p, n, err);
                }
            }
            p = end ? end + 1 : NULL;
        }
    }
    if (rc == SM_OK && out->len == 0) {
        rc = sm_buf_append_byte(out, '/', err);
    }
    if (rc == SM_OK && (rc = sm_buf_append_byte(out, '\0', err)) == SM_OK) {
        out->len--;
    }
    free(cwd);
    return rc;
}

/* The codec part of Spark's data file names ("part-00000-<uuid>.c000.zstd.parquet"). */
static const char *codec_suffix(int codec)
{
    switch (codec) {
    case PQ_CODEC_ZSTD:
        return ".zstd";
    case PQ_CODEC_SNAPPY:
        return ".snappy";
    case PQ_CODEC_GZIP:
        return ".gz";
    case PQ_CODEC_LZ4_RAW:
        return ".lz4raw";
    default:
        return "";
    }
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* ---- schemas ----------------------------------------------------------------------------- */

static bool name_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool field_equal(const sm_field *a, const sm_field *b)
{
    if (!name_equal(a->name, b->name) || a->type != b->type || a->nullable != b->nullable ||
        a->n_children != b->n_children) {
        return false;
    }
    if (a->type == SM_DECIMAL && (a->precision != b->precision || a->scale != b->scale)) {
        return false;
    }
    if ((a->type == SM_FIXED_BINARY || a->type == SM_DECIMAL) && a->width != b->width) {
        return false;
    }
    for (int i = 0; i < a->n_children; i++) {
        if (!field_equal(a->children[i], b->children[i])) {
            return false;
        }
    }
    return true;
}

/* Same columns; the root's own name ("spark_schema", "schema", ...) does not matter. */
static bool schema_equal(const sm_field *a, const sm_field *b)
{
    if (a->n_children != b->n_children) {
        return false;
    }
    for (int i = 0; i < a->n_children; i++) {
        if (!field_equal(a->children[i], b->children[i])) {
            return false;
        }
    }
    return true;
}

static sm_field *field_copy(sm_arena *a, const sm_field *f)
{
    sm_field *c = sm_arena_alloc(a, sizeof *c);
    if (!c) {
        return NULL;
    }
    *c = *f;
    if (f->name && !(c->name = sm_arena_strdup(a, f->name))) {
        return NULL;
    }
    if (f->n_children > 0) {
        c->children = sm_arena_alloc(a, sizeof *c->children * (size_t)f->n_children);
        if (!c->children) {
            return NULL;
        }
        for (int i = 0; i < f->n_children; i++) {
            if (!(c->children[i] = field_copy(a, f->children[i]))) {
                return NULL;
            }
        }
    }
    return c;
}

/* Why pq_writer would not write `f` back as the file has it (an annotation it does not make, or
 * a value it truncates), or NULL when it would. */
static const char *lossy_reason(const pq_reader *r, const sm_field *f)
{
    const pf_schema_element *e = pq_reader_field_element(r, f);
    if (e) {
        const pf_logical_type *lt = &e->logical_type;
        if (e->has_field_id) {
            return "Parquet field ids";
        }
        if (lt->kind == PF_LT_TIMESTAMP && !lt->is_adjusted_to_utc) {
            return "a timestamp without time zone";
        }
        if (lt->kind == PF_LT_TIMESTAMP && lt->unit == PF_UNIT_NANOS) {
            return "nanosecond timestamps";
        }
        if (lt->kind == PF_LT_TIME || lt->kind == PF_LT_UUID || lt->kind == PF_LT_FLOAT16 ||
            lt->kind == PF_LT_BSON || lt->kind == PF_LT_UNKNOWN || lt->kind == PF_LT_VARIANT ||
            lt->kind == PF_LT_GEOMETRY || lt->kind == PF_LT_GEOGRAPHY) {
            return "a logical type smelter does not write";
        }
        if (lt->kind == PF_LT_NONE && e->has_converted_type &&
            (e->converted_type == PF_CT_TIME_MILLIS || e->converted_type == PF_CT_TIME_MICROS ||
             e->converted_type == PF_CT_BSON || e->converted_type == PF_CT_INTERVAL)) {
            return "a converted type smelter does not write";
        }
    }
    for (int i = 0; i < f->n_children; i++) {
        const char *why = lossy_reason(r, f->children[i]);
        if (why) {
            return why;
        }
    }
    return NULL;
}

/* ---- optimize ---------------------------------------------------------------------------- */

typedef struct opt_file {
    const delta_file *f;
    const char *key; /* the partition, as an unambiguous string */
    const char *local;
    int bin;
} opt_file;

typedef struct opt_new {
    char *local; /* NULL once handed to a commit that landed */
    delta_file add;
} opt_new;

typedef struct opt_run {
    const char *table;
    const delta_optimize_opts *opts;
    const delta_snapshot *s;
    int64_t target;
    sm_arena *plan;   /* per attempt: candidates, bins, new files, strings */
    sm_arena *batch;  /* per row group */
    sm_arena *schema; /* per bin */
    opt_new *news;
    int n_news;
    delta_file *removes;
    int n_removes;
    int64_t partitions;
} opt_run;

static bool part_value(const delta_file *f, const char *col, const char **value)
{
    for (int i = 0; i < f->n_partition_values; i++) {
        if (strcmp(f->partition_values[i].key, col) == 0) {
            *value = f->partition_values[i].value;
            return true;
        }
    }
    return false;
}

/* Length-prefixed partition values in the metadata's column order ("N" for null) into *key, or
 * NULL when the file does not name every partition column (it is then left alone). */
static int partition_key(sm_arena *a, const delta_snapshot *s, const delta_file *f, sm_buf *tmp,
                         const char **key, sm_error *err)
{
    *key = NULL;
    sm_buf_reset(tmp);
    for (int c = 0; c < s->metadata.n_partition_columns; c++) {
        const char *v;
        char head[32];
        int n;
        if (!part_value(f, s->metadata.partition_columns[c], &v)) {
            return SM_OK;
        }
        n = v ? snprintf(head, sizeof head, "%zu:", strlen(v)) : snprintf(head, sizeof head, "N");
        if (sm_buf_append(tmp, head, (size_t)n, err) != SM_OK ||
            (v && sm_buf_append(tmp, v, strlen(v), err) != SM_OK)) {
            return SM_ERR_NOMEM;
        }
    }
    if (!(*key = sm_arena_strndup(a, tmp->len ? (const char *)tmp->data : "", tmp->len))) {
        return sm_error_set(err, SM_ERR_NOMEM, "optimize: out of memory");
    }
    return SM_OK;
}

static int cmp_by_key_size(const void *pa, const void *pb)
{
    const opt_file *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c) {
        return c;
    }
    if (a->f->size != b->f->size) {
        return a->f->size < b->f->size ? -1 : 1;
    }
    return strcmp(a->f->path, b->f->path);
}

static int cmp_by_bin(const void *pa, const void *pb)
{
    const opt_file *a = pa, *b = pb;
    if (a->bin != b->bin) {
        return a->bin < b->bin ? -1 : 1;
    }
    return strcmp(a->f->path, b->f->path);
}

/* Candidates (active files smaller than the target, with every partition value and no deletion
 * vector), bin-packed per partition: sorted by size, each into the first bin it fits. The result
 * is sorted by bin. */
static int plan_bins(opt_run *r, opt_file **out, int64_t *n_out, sm_error *err)
{
    const delta_snapshot *s = r->s;
    opt_file *c = NULL;
    int64_t n = 0, *bin_bytes = NULL;
    int bins = 0;
    sm_buf tmp = SM_BUF_INIT;

    *out = NULL;
    *n_out = 0;
    if (s->n_files == 0) {
        return SM_OK;
    }
    c = sm_arena_alloc(r->plan, sizeof *c * (size_t)s->n_files);
    bin_bytes = sm_arena_alloc(r->plan, sizeof *bin_bytes * (size_t)s->n_files);
    if (!c || !bin_bytes) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
    }
    for (int64_t i = 0; i < s->n_files; i++) {
        const delta_file *f = &s->files[i];
        const char *key;
        if (f->size < 0 || f->size >= r->target || f->dv_id) {
            continue;
        }
        if (partition_key(r->plan, s, f, &tmp, &key, err) != SM_OK) {
            sm_buf_free(&tmp);
            return SM_ERR_NOMEM;
        }
        if (!key) {
            continue;
        }
        c[n].f = f;
        c[n].key = key;
        c[n].local = NULL;
        c[n].bin = -1;
        n++;
    }
    sm_buf_free(&tmp);
    qsort(c, (size_t)n, sizeof *c, cmp_by_key_size);
    /* First fit. Sizes only grow within a partition, so a bin too full for one file is too
     * full for every later one: `open` skips it for good, and the first bin that fits is the
     * first still open (linear, not quadratic, in the number of files). */
    for (int64_t i = 0, open = 0; i < n; i++) {
        if (i > 0 && strcmp(c[i].key, c[i - 1].key) != 0) {
            open = bins; /* a new partition: its own bins */
        }
        while (open < bins && bin_bytes[open] + c[i].f->size > r->target) {
            open++;
        }
        if (open < bins) {
            c[i].bin = (int)open;
            bin_bytes[open] += c[i].f->size;
        } else {
            c[i].bin = bins;
            bin_bytes[bins++] = c[i].f->size;
        }
    }
    qsort(c, (size_t)n, sizeof *c, cmp_by_bin);
    *out = c;
    *n_out = n;
    return SM_OK;
}

static void delete_news(opt_run *r)
{
    for (int i = 0; i < r->n_news; i++) {
        if (r->news[i].local && unlink(r->news[i].local) != 0 && errno != ENOENT) {
            sm_log_warn("optimize", "%s: could not delete %s: %s (vacuum will)", r->table,
                        r->news[i].local, strerror(errno));
        }
        r->news[i].local = NULL;
    }
    r->n_news = 0;
}

/* The partition values of a new file, in the metadata's column order. */
static int new_partition_values(opt_run *r, const delta_file *like, delta_kv **out, sm_error *err)
{
    int n = r->s->metadata.n_partition_columns;
    delta_kv *kv = NULL;
    if (n > 0 && !(kv = sm_arena_alloc(r->plan, sizeof *kv * (size_t)n))) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
    }
    for (int i = 0; i < n; i++) {
        kv[i].key = r->s->metadata.partition_columns[i];
        if (!part_value(like, kv[i].key, &kv[i].value)) {
            return sm_error_set(err, SM_ERR_INTERNAL, "%s: optimize: partition value lost",
                                r->table);
        }
    }
    *out = kv;
    return SM_OK;
}

/* First pass over a bin: resolves the local paths, checks that every file has the first one's
 * schema and that pq_writer can write it back as it is. *schema is NULL when the bin is skipped
 * (the reason is logged). */
static int check_bin(opt_run *r, opt_file *files, int n, const sm_field **schema, int64_t *rows,
                     sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    sm_field *first = NULL;
    int rc = SM_OK;

    *schema = NULL;
    *rows = 0;
    sm_arena_reset(r->schema);
    for (int i = 0; i < n && rc == SM_OK; i++) {
        pq_reader *rd = NULL;
        const char *why = NULL;
        sm_buf_reset(&path);
        if ((rc = delta_file_local_path(r->table, files[i].f->path, &path, err)) != SM_OK ||
            (rc = sm_buf_append_byte(&path, '\0', err)) != SM_OK) {
            break;
        }
        if (!(files[i].local = sm_arena_strdup(r->plan, (const char *)path.data))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
            break;
        }
        if ((rc = pq_reader_open(files[i].local, &rd, err)) != SM_OK) {
            sm_error_prefix(err, "%s: optimize", r->table);
            break;
        }
        if (i == 0) {
            if (!(first = field_copy(r->schema, pq_reader_schema(rd)))) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
            }
        } else if (!schema_equal(first, pq_reader_schema(rd))) {
            why = "its schema differs from the bin's first file";
        }
        if (rc == SM_OK && !why) {
            why = lossy_reason(rd, pq_reader_schema(rd));
        }
        if (rc == SM_OK && why) {
            sm_log_info("optimize", "%s: leaving a bin of %d files in place: %s has %s", r->table,
                        n, files[i].f->path, why);
            first = NULL;
            pq_reader_close(rd);
            break;
        }
        *rows += pq_reader_num_rows(rd);
        pq_reader_close(rd);
    }
    sm_buf_free(&path);
    *schema = rc == SM_OK ? first : NULL;
    return rc;
}

/* Rewrites one bin as one file in its partition's directory; appends it to r->news. Leaves the
 * bin alone (nothing appended) when check_bin says so. */
static int rewrite_bin(opt_run *r, opt_file *files, int n, sm_error *err)
{
    const sm_field *schema;
    int64_t rows_in = 0;
    pq_writer_opts wo;
    pq_writer *w = NULL;
    pq_file_info info;
    sm_buf dir = SM_BUF_INIT, uri = SM_BUF_INIT, stats = SM_BUF_INIT;
    char uuid[37], name[96];
    delta_kv *pv = NULL;
    opt_new *nf;
    int np = r->s->metadata.n_partition_columns;
    int rc;

    if ((rc = check_bin(r, files, n, &schema, &rows_in, err)) != SM_OK || !schema) {
        return rc;
    }
    if ((rc = new_partition_values(r, files[0].f, &pv, err)) != SM_OK ||
        (rc = sm_uuid4(uuid, err)) != SM_OK) {
        return rc;
    }
    snprintf(name, sizeof name, "part-00000-%s.c000%s.parquet", uuid, codec_suffix(r->opts->codec));
    if ((rc = sm_buf_append(&dir, r->table, strlen(r->table), err)) != SM_OK ||
        (rc = sm_buf_append_byte(&dir, '/', err)) != SM_OK ||
        (np > 0 && (rc = delta_partition_dir(pv, np, false, &dir, err)) != SM_OK) ||
        (np > 0 && (rc = delta_partition_dir(pv, np, true, &uri, err)) != SM_OK) ||
        (rc = sm_buf_append_byte(&dir, '\0', err)) != SM_OK) {
        goto done;
    }
    if (np > 0 && (rc = sm_mkdir_p((const char *)dir.data, err)) != SM_OK) {
        goto done;
    }
    dir.len--; /* the NUL */
    if ((rc = sm_buf_append(&dir, name, strlen(name) + 1, err)) != SM_OK ||
        (rc = sm_buf_append(&uri, name, strlen(name) + 1, err)) != SM_OK) {
        goto done;
    }

    pq_writer_opts_default(&wo);
    wo.codec = r->opts->codec;
    if ((rc = pq_writer_open((const char *)dir.data, schema, &wo, &w, err)) != SM_OK) {
        goto done;
    }
    for (int i = 0; i < n && rc == SM_OK; i++) {
        pq_reader *rd = NULL;
        if ((rc = pq_reader_open(files[i].local, &rd, err)) != SM_OK) {
            break;
        }
        for (int g = 0; g < pq_reader_num_row_groups(rd) && rc == SM_OK; g++) {
            sm_column *batch = NULL;
            sm_arena_reset(r->batch);
            if ((rc = pq_reader_read_row_group(rd, g, NULL, 0, r->batch, &batch, err)) == SM_OK) {
                rc = pq_writer_write(w, batch, err);
            }
        }
        pq_reader_close(rd);
    }
    sm_arena_reset(r->batch);
    if (rc != SM_OK) {
        sm_error_prefix(err, "%s: optimize", r->table);
        pq_writer_abort(w);
        goto done;
    }
    rc = pq_writer_close(w, &info, err);
    if (rc != SM_OK) {
        unlink((const char *)dir.data); /* complete but perhaps not durable: do not use it */
        sm_error_prefix(err, "%s: optimize", r->table);
        goto done;
    }
    if (info.rows != rows_in) {
        unlink((const char *)dir.data);
        rc = sm_error_set(err, SM_ERR_INTERNAL,
                          "%s: optimize: %s has %" PRId64 " rows, its %d inputs %" PRId64, r->table,
                          (const char *)dir.data, info.rows, n, rows_in);
        goto done;
    }
    if ((rc = delta_stats_from_parquet((const char *)dir.data, &stats, err)) != SM_OK ||
        (rc = sm_buf_append_byte(&stats, '\0', err)) != SM_OK) {
        unlink((const char *)dir.data);
        goto done;
    }

    nf = &r->news[r->n_news];
    memset(nf, 0, sizeof *nf);
    nf->local = sm_arena_strdup(r->plan, (const char *)dir.data);
    nf->add.path = sm_arena_strdup(r->plan, (const char *)uri.data);
    nf->add.stats = sm_arena_strdup(r->plan, (const char *)stats.data);
    if (!nf->local || !nf->add.path || !nf->add.stats) {
        unlink((const char *)dir.data);
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
        goto done;
    }
    nf->add.n_partition_values = np;
    nf->add.partition_values = pv;
    nf->add.size = info.file_size;
    nf->add.modification_time = sm_wall_ms();
    nf->add.deletion_timestamp = 0;
    nf->add.data_change = false;
    r->n_news++;
    for (int i = 0; i < n; i++) {
        delta_file *rm = &r->removes[r->n_removes++];
        *rm = *files[i].f;
        rm->data_change = false;
        rm->deletion_timestamp = 0;
    }
done:
    sm_buf_free(&dir);
    sm_buf_free(&uri);
    sm_buf_free(&stats);
    return rc;
}

/* commitInfo.operationMetrics as Spark's OPTIMIZE writes them (numbers as strings). */
static char *optimize_metrics(const opt_run *r)
{
    int64_t rm_bytes = 0, add_bytes = 0, min = 0, max = 0;
    char buf[32];
    json_t *m = json_object();
    char *text;
    for (int i = 0; i < r->n_removes; i++) {
        rm_bytes += r->removes[i].size > 0 ? r->removes[i].size : 0;
    }
    for (int i = 0; i < r->n_news; i++) {
        int64_t sz = r->news[i].add.size;
        add_bytes += sz;
        min = i == 0 || sz < min ? sz : min;
        max = i == 0 || sz > max ? sz : max;
    }
#define PUT(k, v)                                                                                  \
    snprintf(buf, sizeof buf, "%" PRId64, (int64_t)(v));                                           \
    json_object_set_new(m, k, json_string(buf))
    PUT("numRemovedFiles", r->n_removes);
    PUT("numRemovedBytes", rm_bytes);
    PUT("numAddedFiles", r->n_news);
    PUT("numAddedBytes", add_bytes);
    PUT("minFileSize", min);
    PUT("maxFileSize", max);
    PUT("numBins", r->n_news);
#undef PUT
    text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return text;
}

/* One attempt: plan from `s`, rewrite, commit. *conflict is set when the commit lost a race. */
static int optimize_once(opt_run *r, delta_optimize_result *res, bool *conflict, sm_error *err)
{
    opt_file *c;
    int64_t n = 0, version = -1;
    delta_commit cm;
    char *metrics = NULL;
    const char *last_key = NULL;
    int rc;

    *conflict = false;
    r->n_news = 0;
    r->n_removes = 0;
    r->partitions = 0;
    if ((rc = plan_bins(r, &c, &n, err)) != SM_OK) {
        return rc;
    }
    r->news = sm_arena_alloc(r->plan, sizeof *r->news * (size_t)(n / 2 + 1));
    r->removes = sm_arena_alloc(r->plan, sizeof *r->removes * (size_t)(n + 1));
    if (!r->news || !r->removes) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
    }
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && c[j].bin == c[i].bin) {
            j++;
        }
        if (j - i >= 2) {
            int before = r->n_news;
            if ((rc = rewrite_bin(r, c + i, (int)(j - i), err)) != SM_OK) {
                delete_news(r);
                return rc;
            }
            if (r->n_news > before && (!last_key || strcmp(last_key, c[i].key) != 0)) {
                r->partitions++;
                last_key = c[i].key;
            }
        }
        i = j;
    }
    if (r->n_news == 0) {
        sm_log_info("optimize", "%s: nothing to optimize at version %" PRId64, r->table,
                    r->s->version);
        return SM_OK;
    }

    metrics = optimize_metrics(r);
    memset(&cm, 0, sizeof cm);
    cm.read_version = r->s->version;
    cm.n_adds = r->n_news;
    cm.adds = NULL;
    cm.n_removes = r->n_removes;
    cm.removes = r->removes;
    cm.operation = "OPTIMIZE";
    cm.operation_parameters = "{\"predicate\":\"[]\",\"zOrderBy\":\"[]\"}";
    cm.operation_metrics = metrics;
    {
        delta_file *adds = sm_arena_alloc(r->plan, sizeof *adds * (size_t)r->n_news);
        if (!adds) {
            free(metrics);
            delete_news(r);
            return sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", r->table);
        }
        for (int i = 0; i < r->n_news; i++) {
            adds[i] = r->news[i].add;
        }
        cm.adds = adds;
        rc = delta_commit_write(r->table, &cm, &version, err);
    }
    free(metrics);
    if (rc == SM_OK || version >= 0) {
        /* landed (an SM_ERR_IO with a version: in place, durability unknown): the files are
         * the table's now */
        res->version = version;
        res->files_removed = r->n_removes;
        res->files_added = r->n_news;
        res->partitions = r->partitions;
        res->bytes_removed = res->bytes_added = 0;
        for (int i = 0; i < r->n_removes; i++) {
            res->bytes_removed += r->removes[i].size > 0 ? r->removes[i].size : 0;
        }
        for (int i = 0; i < r->n_news; i++) {
            res->bytes_added += r->news[i].add.size;
            r->news[i].local = NULL;
        }
        if (rc == SM_OK) {
            sm_log_info("optimize",
                        "%s: version %" PRId64 ": %" PRId64 " files compacted into %" PRId64
                        " in %" PRId64 " partitions",
                        r->table, version, res->files_removed, res->files_added, res->partitions);
        }
        return rc;
    }
    *conflict = rc == SM_ERR_CONFLICT;
    delete_news(r);
    return rc;
}

void delta_optimize_opts_default(delta_optimize_opts *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_ZSTD;
}

int delta_optimize(const char *table_path, const delta_optimize_opts *opts,
                   delta_optimize_result *res, sm_error *err)
{
    delta_optimize_opts defaults;
    delta_optimize_result local_res;
    opt_run r;
    int attempts, rc = SM_OK;
    char last[SM_ERROR_MSG_MAX] = "";

    if (!opts) {
        delta_optimize_opts_default(&defaults);
        opts = &defaults;
    }
    if (!res) {
        res = &local_res;
    }
    memset(res, 0, sizeof *res);
    res->version = -1;
    if (opts->target_file_size < 0 || opts->max_attempts < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: optimize: target file size and attempts must not be negative",
                            table_path);
    }
    if (!codec_can_compress(opts->codec)) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: optimize: codec %s cannot compress", table_path,
                            codec_name(opts->codec));
    }
    attempts = opts->max_attempts ? opts->max_attempts : MAINT_ATTEMPTS_DEFAULT;

    memset(&r, 0, sizeof r);
    r.table = table_path;
    r.opts = opts;
    r.plan = sm_arena_create(0, 0);
    r.batch = sm_arena_create(0, 0);
    r.schema = sm_arena_create(0, 0);
    if (!r.plan || !r.batch || !r.schema) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: optimize: out of memory", table_path);
        goto done;
    }
    for (int attempt = 1; attempt <= attempts; attempt++) {
        delta_load_opts lo;
        delta_snapshot *s = NULL;
        bool conflict = false;

        delta_load_opts_default(&lo);
        sm_arena_reset(r.plan);
        if ((rc = delta_snapshot_load(table_path, &lo, &s, err)) != SM_OK) {
            sm_error_prefix(err, "optimize");
            goto done;
        }
        r.s = s;
        if ((rc = check_writable(s, table_path, "optimize", err)) == SM_OK) {
            r.target = opts->target_file_size;
            if (r.target == 0) {
                rc = target_size(s, table_path, &r.target, err);
            }
        }
        if (rc == SM_OK) {
            rc = optimize_once(&r, res, &conflict, err);
        }
        r.s = NULL;
        delta_snapshot_free(s);
        if (!conflict) {
            goto done;
        }
        snprintf(last, sizeof last, "%s", err ? err->msg : "conflict");
        sm_log_warn("optimize", "%s: attempt %d of %d lost a race: %s", table_path, attempt,
                    attempts, last);
    }
    rc = sm_error_set(err, SM_ERR_CONFLICT,
                      "%s: optimize gave up after %d attempts, each overtaken by a concurrent "
                      "commit; the table is unchanged (last: %s)",
                      table_path, attempts, last);
done:
    sm_arena_destroy(r.plan);
    sm_arena_destroy(r.batch);
    sm_arena_destroy(r.schema);
    return rc;
}

/* ---- vacuum ------------------------------------------------------------------------------ */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct vac_run {
    const char *table;
    const delta_vacuum_opts *opts;
    delta_vacuum_result *res;
    int64_t cutoff; /* files and tombstones older than this may go */
    const char **keep;
    size_t n_keep; /* sorted relative paths */
    file_id *ids;
    size_t n_ids; /* sorted */
} vac_run;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_id(const void *pa, const void *pb)
{
    const file_id *a = pa, *b = pb;
    if (a->dev != b->dev) {
        return a->dev < b->dev ? -1 : 1;
    }
    return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* Records a file the log still needs: its path relative to the table root (when it is under
 * it) and its inode (when it exists). */
static int keep_file(vac_run *v, sm_arena *a, const char *root, const delta_file *f, sm_buf *tmp,
                     sm_buf *norm, sm_error *err)
{
    size_t rl = strlen(root);
    struct stat st;
    int rc;

    sm_buf_reset(tmp);
    if ((rc = delta_file_local_path(v->table, f->path, tmp, err)) != SM_OK ||
        (rc = sm_buf_append_byte(tmp, '\0', err)) != SM_OK) {
        sm_error_prefix(err, "%s: vacuum refused (a file of the log cannot be located)", v->table);
        return rc;
    }
    if ((rc = abs_norm((const char *)tmp->data, norm, err)) != SM_OK) {
        return rc;
    }
    if (norm->len > rl + 1 && memcmp(norm->data, root, rl) == 0 && norm->data[rl] == '/') {
        if (!(v->keep[v->n_keep++] = sm_arena_strdup(a, (const char *)norm->data + rl + 1))) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: vacuum: out of memory", v->table);
        }
    }
    if (stat((const char *)tmp->data, &st) == 0) {
        v->ids[v->n_ids].dev = st.st_dev;
        v->ids[v->n_ids].ino = st.st_ino;
        v->n_ids++;
    }
    return SM_OK;
}

static bool is_needed(const vac_run *v, const char *rel, const struct stat *st)
{
    file_id id = {st->st_dev, st->st_ino};
    if (bsearch(&rel, v->keep, v->n_keep, sizeof *v->keep, cmp_str)) {
        return true;
    }
    if (bsearch(&id, v->ids, v->n_ids, sizeof *v->ids, cmp_id)) {
        return true;
    }
    return mtime_ms(st) >= v->cutoff;
}

/* Names vacuum never enters or deletes: `_` or `.` first unless a partition directory (`=`), and
 * `metadata` (converted Iceberg metadata), as Spark's DeltaTableUtils.isHiddenDirectory. */
static bool is_hidden(const char *name)
{
    return ((name[0] == '_' || name[0] == '.') && !strchr(name, '=')) ||
           strcmp(name, "metadata") == 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (p) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* Vacuums directory `full` (relative path `rel`, "" at the root). *remaining counts the entries
 * that stay in it, so an emptied directory can be removed by the caller. */
static int walk(vac_run *v, const char *full, const char *rel, int depth, int64_t *remaining,
                sm_error *err)
{
    DIR *d = opendir(full);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = SM_OK;

    *remaining = 0;
    if (!d) {
        if (errno == ENOENT && depth > 0) {
            return SM_OK; /* gone meanwhile */
        }
        return sm_error_sys(err, SM_ERR_IO, errno, "%s: vacuum: opendir %s", v->table, full);
    }
    errno = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            char **grown = realloc(names, sizeof *names * (cap = cap ? cap * 2 : 64));
            if (!grown) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "%s: vacuum: out of memory", v->table);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: vacuum: out of memory", v->table);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == SM_OK && n > 1) {
        qsort(names, n, sizeof *names, cmp_str); /* the same order in a dry run and for real */
    }

    for (size_t i = 0; i < n && rc == SM_OK; i++) {
        const char *name = names[i];
        char *cfull = NULL, *crel = NULL;
        struct stat st;

        if ((depth == 0 && strcmp(name, "_delta_log") == 0) || is_hidden(name)) {
            (*remaining)++;
            continue;
        }
        cfull = join(full, name);
        crel = *rel ? join(rel, name) : strdup(name);
        if (!cfull || !crel) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: vacuum: out of memory", v->table);
        } else if (lstat(cfull, &st) != 0) {
            if (errno != ENOENT) {
                rc = sm_error_sys(err, SM_ERR_IO, errno, "%s: vacuum: stat %s", v->table, cfull);
            }
        } else if (S_ISDIR(st.st_mode) && depth + 1 < MAINT_WALK_DEPTH_MAX) {
            int64_t sub = 0;
            rc = walk(v, cfull, crel, depth + 1, &sub, err);
            if (rc == SM_OK && sub == 0 && mtime_ms(&st) < v->cutoff) {
                /* emptied, and nobody made or filled it within the retention */
                if (v->opts->dry_run) {
                    v->res->dirs_removed++;
                } else if (rmdir(cfull) == 0) {
                    v->res->dirs_removed++;
                } else if (errno != ENOENT) {
                    (*remaining)++; /* a writer put something in meanwhile */
                }
            } else if (rc == SM_OK) {
                (*remaining)++;
            }
        } else if (S_ISREG(st.st_mode) && !is_needed(v, crel, &st)) {
            if (!v->opts->dry_run && unlink(cfull) != 0) {
                if (errno != ENOENT) {
                    rc = sm_error_sys(err, SM_ERR_IO, errno, "%s: vacuum: delete %s", v->table,
                                      cfull);
                }
            } else {
                v->res->files++;
                v->res->bytes += st.st_size;
                if (v->opts->on_file) {
                    v->opts->on_file(crel, st.st_size, v->opts->ctx);
                }
            }
        } else {
            (*remaining)++; /* needed, or not a plain file (never touched) */
        }
        free(cfull);
        free(crel);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

void delta_vacuum_opts_default(delta_vacuum_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retain_ms = MAINT_RETAIN_DEFAULT;
}

int delta_vacuum(const char *table_path, const delta_vacuum_opts *opts, delta_vacuum_result *res,
                 sm_error *err)
{
    delta_vacuum_opts defaults;
    delta_vacuum_result local_res;
    delta_load_opts lo;
    delta_snapshot *s = NULL;
    sm_arena *a = NULL;
    sm_buf tmp = SM_BUF_INIT, norm = SM_BUF_INIT, root = SM_BUF_INIT;
    vac_run v;
    int64_t now, retain, min_retain, remaining = 0;
    size_t max;
    int rc;

    if (!opts) {
        delta_vacuum_opts_default(&defaults);
        opts = &defaults;
    }
    if (!res) {
        res = &local_res;
    }
    memset(res, 0, sizeof *res);
    memset(&v, 0, sizeof v);
    v.table = table_path;
    v.opts = opts;
    v.res = res;
    now = opts->now_ms ? opts->now_ms : sm_wall_ms();

    delta_load_opts_default(&lo);
    if ((rc = delta_snapshot_load(table_path, &lo, &s, err)) != SM_OK) {
        sm_error_prefix(err, "vacuum refused (the table's live files cannot be known)");
        return rc;
    }
    if ((rc = check_writable(s, table_path, "vacuum", err)) != SM_OK ||
        (rc = table_retention_ms(s, table_path, &min_retain, err)) != SM_OK) {
        goto done;
    }
    retain = opts->retain_ms < 0 ? min_retain : opts->retain_ms;
    if (retain < min_retain && !opts->force) {
        char want[32], have[32];
        sm_format_duration_ms(retain, have, sizeof have);
        sm_format_duration_ms(min_retain, want, sizeof want);
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "%s: vacuum refused: a retention of %s is below the table's "
                          "delta.deletedFileRetentionDuration (%s); files that readers of older "
                          "versions or running writers still need could be deleted. Retain at "
                          "least %s, or force it (--force) if nothing reads versions older than "
                          "%s or writes the table meanwhile",
                          table_path, have, want, want, have);
        goto done;
    }
    v.cutoff = now - retain;

    max = (size_t)(s->n_files + s->n_tombstones) + 1;
    a = sm_arena_create(0, 0);
    v.keep = a ? sm_arena_alloc(a, sizeof *v.keep * max) : NULL;
    v.ids = a ? sm_arena_alloc(a, sizeof *v.ids * max) : NULL;
    if (!v.keep || !v.ids) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: vacuum: out of memory", table_path);
        goto done;
    }
    if ((rc = abs_norm(table_path, &root, err)) != SM_OK) {
        goto done;
    }
    for (int64_t i = 0; i < s->n_files && rc == SM_OK; i++) {
        rc = keep_file(&v, a, (const char *)root.data, &s->files[i], &tmp, &norm, err);
    }
    for (int64_t i = 0; i < s->n_tombstones && rc == SM_OK; i++) {
        if (s->tombstones[i].deletion_timestamp >= v.cutoff) {
            rc = keep_file(&v, a, (const char *)root.data, &s->tombstones[i], &tmp, &norm, err);
        }
    }
    if (rc != SM_OK) {
        goto done;
    }
    qsort(v.keep, v.n_keep, sizeof *v.keep, cmp_str);
    qsort(v.ids, v.n_ids, sizeof *v.ids, cmp_id);

    rc = walk(&v, table_path, "", 0, &remaining, err);
    if (rc == SM_OK) {
        char age[32];
        sm_log_info("vacuum",
                    "%s: %s %" PRId64 " files (%" PRId64 " bytes) and %" PRId64
                    " empty directories no version within %s references (at version %" PRId64 ")",
                    table_path, opts->dry_run ? "would delete" : "deleted", res->files, res->bytes,
                    res->dirs_removed, sm_format_duration_ms(retain, age, sizeof age), s->version);
    }
done:
    sm_buf_free(&tmp);
    sm_buf_free(&norm);
    sm_buf_free(&root);
    sm_arena_destroy(a);
    delta_snapshot_free(s);
    return rc;
}
