/*
 * `smelter demo` — the README's main job, in one process: start the embedded broker
 * (ingest/embedded_broker.h), produce a sample of orders with faults (tools/producer.h), run
 * the example pipeline schemas/examples/ecommerce.yaml with available_now through the engine
 * (stream/engine.h), then print what landed: every table of the lake with its Delta version,
 * rows (the numRecords of its files' stats), files and bytes; the dead letters grouped by
 * reason beside the producer's fault counts (every decode fault must be a dead letter, every
 * other message a bronze row: the demo checks it and exits 1 when the counts do not add up);
 * time and rate; and the DuckDB commands that query the tables.
 *
 * The lake: each run starts a new broker, so a checkpoint of an earlier run would point at
 * offsets of a broker that no longer exists. The demo therefore rebuilds its lake on every
 * run: a directory it made itself (it holds the marker file .smelter-demo) is emptied first; a
 * new or empty directory is taken; any other directory is refused (exit 2), so a lake of
 * `smelter run` is never touched.
 *
 * It grows as silver and gold arrive: the table list is every table the pipeline declares
 * (those the engine does not run yet are shown as such) plus every other Delta table found in
 * <lake>/{bronze,silver,gold}/ (quarantine tables), so new layers show up here as the engine
 * writes them; their expectation counts belong beside the producer's value faults, which today
 * only pass through bronze.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "ingest/embedded_broker.h"
#include "storage/delta.h"
#include "storage/parquet_reader.h"
#include "stream/engine.h"
#include "stream/pipeline.h"
#include "tools/commands.h"
#include "tools/producer.h"

#define DEMO_PIPELINE      "schemas/examples/ecommerce.yaml"
#define DEMO_TOPIC         "orders" /* the producer writes the orders dataset here */
#define DEMO_MARKER        ".smelter-demo"
#define DEMO_MAX_TABLES    64
#define DEMO_MAX_REASONS   32
#define DEMO_SHOWN_REASONS 8
#define DEMO_PATH_MAX      (PATH_MAX + 1024) /* a lake joined with a table path */

typedef struct demo_cli {
    cli_common common;
    int64_t count;
    int64_t seed;
    int64_t partitions;
    const char *lake;
    const char *pipeline;
} demo_cli;

static const sm_opt demo_opts[] = {
    {"count", 'n', SM_OPT_INT, offsetof(demo_cli, count), "200000", 1, 1e9, NULL, "N",
     "orders to produce"},
    {"seed", 0, SM_OPT_INT, offsetof(demo_cli, seed), "7", 0, 9e15, NULL, "N",
     "random seed of the producer (the same seed gives the same messages)"},
    {"partitions", 'p', SM_OPT_INT, offsetof(demo_cli, partitions), "16", 1, 1024, NULL, "P",
     "partitions of the topic (the embedded broker keeps about 5 MiB per partition: give more "
     "for a large --count)"},
    {"lake", 0, SM_OPT_STRING, offsetof(demo_cli, lake), "lake-demo/ecommerce", SM_NO_BOUNDS, NULL,
     "DIR",
     "where the tables go; rebuilt on every run (a directory the demo did not make must be new "
     "or empty)"},
    {"pipeline", 0, SM_OPT_STRING, offsetof(demo_cli, pipeline), DEMO_PIPELINE, SM_NO_BOUNDS, NULL,
     "FILE",
     "the pipeline to run; it must read topic orders (the default is looked up in the working "
     "directory, then above the binary's directory, so build/smelter finds it anywhere)"},
    SM_OPT_END,
};

static const char demo_usage[] =
    "Usage: smelter demo [--count N] [--seed N] [--lake DIR]\n"
    "\n"
    "The main job on the embedded default, in one process: starts the embedded broker (topic\n"
    "orders), produces a sample of orders with faults (5% bad, 1% duplicates, 1% late, like\n"
    "`smelter produce --bad-ratio 0.05 --dup-ratio 0.01 --late-ratio 0.01`), runs the example\n"
    "pipeline schemas/examples/ecommerce.yaml with available_now, and prints a summary: the\n"
    "tables with their Delta versions, rows, files and bytes, the dead letters by reason beside\n"
    "the producer's fault counts, the rate, and the DuckDB commands to query the tables.\n"
    "Silver and gold tables are listed as not run yet until the engine runs them.\n"
    "\n"
    "The lake is rebuilt on every run (the broker is new each time, so an old checkpoint would\n"
    "not match it): a directory the demo made (it holds a .smelter-demo file) is emptied first,\n"
    "any other directory must be new or empty. Exit 0 when every message is in bronze or the\n"
    "dead-letter table as the producer's faults say, 1 when the counts do not add up or a step\n"
    "failed, 2 for bad flags or a lake the demo did not make, 130 when interrupted.\n"
    "\n"
    "Example:\n"
    "  smelter demo --count 50000 --lake /tmp/lake\n";

/* A table of the summary. */
typedef struct demo_table {
    char name[256];
    char rel[512]; /* path relative to the lake: bronze/bronze_orders */
    const char *layer;
    int partition_depth; /* directory levels of partitions, for the read_parquet glob */
    bool declared;       /* in the pipeline file (or its dead-letter table) */
    bool exists;
    bool dead_letter;
    int64_t version, rows, files, bytes;
    bool rows_known; /* every file had numRecords */
} demo_table;

typedef struct demo_reason {
    char code[64];
    char example[160];
    int64_t count;
} demo_reason;

typedef struct demo_state {
    bool live;
    int64_t t0_ns;
    int64_t records;
} demo_state;

/* ---- the lake ------------------------------------------------------------------------------ */

static int unlink_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    if (ftw->level == 0) {
        return 0; /* the lake itself stays */
    }
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT) {
        return errno;
    }
    return 0;
}

/* Makes `lake` a new, empty lake of the demo's, with its marker, and its absolute path in
 * `abs`. Refuses (SM_ERR_USAGE) a non-empty directory without the marker. */
static int prepare_lake(const char *lake, char *abs, size_t n, bool *wiped, sm_error *err)
{
    char marker[PATH_MAX];
    struct stat st;
    static const char note[] =
        "made by `smelter demo`; the next `smelter demo` on this lake empties it first\n";

    *wiped = false;
    if (snprintf(marker, sizeof marker, "%s/%s", lake, DEMO_MARKER) >= (int)sizeof marker) {
        return sm_error_set(err, SM_ERR_USAGE, "--lake %s: the path is too long", lake);
    }
    if (stat(lake, &st) == 0) {
        DIR *d;
        struct dirent *de;
        bool empty = true;
        if (!S_ISDIR(st.st_mode)) {
            return sm_error_set(err, SM_ERR_USAGE, "--lake %s: exists and is not a directory",
                                lake);
        }
        if (!(d = opendir(lake))) {
            return sm_error_sys(err, SM_ERR_IO, errno, "--lake %s: cannot list it", lake);
        }
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                empty = false;
                break;
            }
        }
        closedir(d);
        if (!empty) {
            if (access(marker, F_OK) != 0) {
                return sm_error_set(err, SM_ERR_USAGE,
                                    "--lake %s: the directory is not empty and was not made by "
                                    "smelter demo (no %s in it). The demo rebuilds its lake on "
                                    "every run, so give a new or empty directory",
                                    lake, DEMO_MARKER);
            }
            if (nftw(lake, unlink_entry, 32, FTW_DEPTH | FTW_PHYS) != 0) {
                return sm_error_sys(err, SM_ERR_IO, errno,
                                    "--lake %s: cannot empty the demo's earlier lake", lake);
            }
            *wiped = true;
        }
    } else if (errno != ENOENT) {
        return sm_error_sys(err, SM_ERR_IO, errno, "--lake %s", lake);
    }
    if (sm_mkdir_p(lake, err) != SM_OK ||
        sm_durable_write_file(marker, note, sizeof note - 1, SM_DURABLE_REPLACE, err) != SM_OK) {
        sm_error_prefix(err, "--lake %s", lake);
        return err->code;
    }
    if (!realpath(lake, abs) || strlen(abs) >= n) {
        return sm_error_sys(err, SM_ERR_IO, errno, "--lake %s: cannot resolve the path", lake);
    }
    return SM_OK;
}

/* The pipeline file: as given when it exists; the default also beside the binary's directory
 * (build/smelter → ./schemas/...), so the demo runs from anywhere in a checkout. */
static int find_pipeline(const char *given, char *out, size_t n, sm_error *err)
{
    char exe[PATH_MAX];
    ssize_t len;

    if (access(given, R_OK) == 0 || strcmp(given, DEMO_PIPELINE) != 0) {
        snprintf(out, n, "%s", given);
        return SM_OK;
    }
    len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        char *slash;
        exe[len] = '\0';
        for (int up = 0; up < 3 && (slash = strrchr(exe, '/')); up++) {
            *slash = '\0';
            if (snprintf(out, n, "%s/%s", exe, DEMO_PIPELINE) < (int)n && access(out, R_OK) == 0) {
                return SM_OK;
            }
        }
    }
    return sm_error_set(err, SM_ERR_USAGE,
                        "cannot find %s in the working directory or above the binary; run the "
                        "demo from the repository (make demo) or give --pipeline FILE",
                        DEMO_PIPELINE);
}

/* ---- progress ------------------------------------------------------------------------------ */

static void on_batch(const sm_batch_report *r, void *ctx)
{
    demo_state *st = ctx;
    double el = (double)(sm_mono_ns() - st->t0_ns) / 1e9;

    st->records += r->records;
    if (st->live) {
        fprintf(stderr,
                "\r\033[Kpipeline: batch %" PRId64 "  records %" PRId64 " (+%" PRId64
                ")  %.0f rec/s  bronze +%" PRId64 "  dead letters +%" PRId64 "  lag %" PRId64,
                r->batch_id, st->records, r->records, el > 0 ? (double)st->records / el : 0.0,
                r->bronze_rows, r->dead_letters, r->lag);
        fflush(stderr);
        return;
    }
    {
        json_t *f =
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "batch", (json_int_t)r->batch_id, "records",
                      (json_int_t)r->records, "bronze_rows", (json_int_t)r->bronze_rows,
                      "dead_letters", (json_int_t)r->dead_letters, "files", (json_int_t)r->files,
                      "lag", (json_int_t)r->lag, "duration_ms", (json_int_t)r->duration_ms);
        sm_log_fields(SM_LOG_INFO, "demo", f, "batch committed");
        json_decref(f);
    }
}

/* ---- the summary --------------------------------------------------------------------------- */

static void fmt_bytes(int64_t b, char *buf, size_t n)
{
    if (b < 1024) {
        snprintf(buf, n, "%" PRId64 " B", b);
    } else if (b < 1024 * 1024) {
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
    } else if (b < (int64_t)1024 * 1024 * 1024) {
        snprintf(buf, n, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    } else {
        snprintf(buf, n, "%.2f GiB", (double)b / (1024.0 * 1024.0 * 1024.0));
    }
}

static demo_table *add_table(demo_table *ts, int *n, const char *name, const char *layer, int depth,
                             bool declared)
{
    demo_table *t;
    for (int i = 0; i < *n; i++) {
        if (strcmp(ts[i].name, name) == 0) {
            return &ts[i];
        }
    }
    if (*n >= DEMO_MAX_TABLES) {
        return NULL;
    }
    t = &ts[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->rel, sizeof t->rel, "%s/%s", layer, name);
    t->layer = layer;
    t->partition_depth = depth;
    t->declared = declared;
    t->version = -1;
    return t;
}

/* Version, rows, files and bytes of one table from its snapshot; a table without a log is left
 * as not existing. */
static int describe_table(const char *lake, demo_table *t, sm_error *err)
{
    char path[DEMO_PATH_MAX];
    delta_snapshot *s = NULL;
    int64_t v = -1;

    snprintf(path, sizeof path, "%s/%s", lake, t->rel);
    if (access(path, F_OK) != 0 || delta_latest_version(path, &v, err) != SM_OK || v < 0) {
        sm_error_clear(err);
        return SM_OK;
    }
    if (delta_snapshot_load(path, NULL, &s, err) != SM_OK) {
        return err->code;
    }
    t->exists = true;
    t->version = s->version;
    t->files = s->n_files;
    t->rows_known = true;
    t->partition_depth = s->metadata.n_partition_columns;
    for (int64_t i = 0; i < s->n_files; i++) {
        const delta_file *f = &s->files[i];
        json_t *stats = f->stats ? json_loads(f->stats, 0, NULL) : NULL;
        json_t *nr = stats ? json_object_get(stats, "numRecords") : NULL;
        t->bytes += f->size > 0 ? f->size : 0;
        if (json_is_integer(nr)) {
            t->rows += (int64_t)json_integer_value(nr);
        } else {
            t->rows_known = false;
        }
        json_decref(stats);
    }
    delta_snapshot_free(s);
    return SM_OK;
}

/* Delta tables in <lake>/<layer>/ that the pipeline does not declare (quarantine tables). */
static void find_other_tables(const char *lake, const char *layer, demo_table *ts, int *n)
{
    char dir[DEMO_PATH_MAX], log[DEMO_PATH_MAX + 256];
    struct dirent **names = NULL;
    int k;

    snprintf(dir, sizeof dir, "%s/%s", lake, layer);
    k = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < k; i++) {
        if (names[i]->d_name[0] != '.' &&
            snprintf(log, sizeof log, "%s/%s/_delta_log", dir, names[i]->d_name) <
                (int)sizeof log &&
            access(log, F_OK) == 0) {
            add_table(ts, n, names[i]->d_name, layer, 0, false);
        }
        free(names[i]);
    }
    free(names);
}

/* Groups the reasons of the dead-letter table's rows by their code (the text before the first
 * ':'), keeping the first full reason of each as an example. */
static int group_reasons(const char *table_path, demo_reason *rs, int *n_rs, sm_error *err)
{
    delta_snapshot *s = NULL;
    sm_arena *arena = NULL;
    sm_buf path = SM_BUF_INIT;
    int rc;

    *n_rs = 0;
    if ((rc = delta_snapshot_load(table_path, NULL, &s, err)) != SM_OK) {
        return rc;
    }
    if (!(arena = sm_arena_create(0, 0))) {
        delta_snapshot_free(s);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < s->n_files && rc == SM_OK; i++) {
        pq_reader *r = NULL;
        int col;
        sm_buf_reset(&path);
        if ((rc = delta_file_local_path(table_path, s->files[i].path, &path, err)) != SM_OK ||
            (rc = pq_reader_open((const char *)path.data, &r, err)) != SM_OK) {
            break;
        }
        if ((col = pq_reader_column_index(r, "reason")) < 0) {
            rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: no reason column", (const char *)path.data);
        }
        for (int g = 0; rc == SM_OK && g < pq_reader_num_row_groups(r); g++) {
            sm_column *c = NULL, *reason;
            sm_arena_reset(arena);
            if ((rc = pq_reader_read_row_group(r, g, &col, 1, arena, &c, err)) != SM_OK) {
                break;
            }
            reason = c->children[0];
            for (int64_t row = 0; row < reason->length; row++) {
                const char *text;
                size_t len, code_len;
                int k;
                if (!sm_column_is_valid(reason, row)) {
                    continue;
                }
                text = (const char *)reason->data + reason->offsets[row];
                len = (size_t)(reason->offsets[row + 1] - reason->offsets[row]);
                code_len = 0;
                while (code_len < len && text[code_len] != ':') {
                    code_len++;
                }
                if (code_len >= sizeof rs[0].code) {
                    code_len = sizeof rs[0].code - 1;
                }
                for (k = 0; k < *n_rs; k++) {
                    if (strlen(rs[k].code) == code_len && memcmp(rs[k].code, text, code_len) == 0) {
                        break;
                    }
                }
                if (k == *n_rs) {
                    if (*n_rs == DEMO_MAX_REASONS) {
                        k = DEMO_MAX_REASONS - 1; /* the rest count as the last group */
                    } else {
                        size_t ex = len < sizeof rs[k].example - 1 ? len : sizeof rs[k].example - 4;
                        memset(&rs[k], 0, sizeof rs[k]);
                        memcpy(rs[k].code, text, code_len);
                        memcpy(rs[k].example, text, ex);
                        if (ex < len) {
                            memcpy(rs[k].example + ex, "...", 3);
                        }
                        (*n_rs)++;
                    }
                }
                rs[k].count++;
            }
        }
        pq_reader_close(r);
    }
    sm_buf_free(&path);
    sm_arena_destroy(arena);
    delta_snapshot_free(s);
    return rc;
}

static int by_count_desc(const void *a, const void *b)
{
    const demo_reason *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->code, y->code);
}

/* The producer's faults of one class as "name N, name N" (empty when none). */
static int64_t fault_list(const prod_report *rep, const char *cls, char *buf, size_t n)
{
    int64_t total = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int f = 1; f < DG_FAULT_COUNT; f++) {
        if (rep->faults[f] == 0 || strcmp(dg_fault_class((dg_fault)f), cls) != 0) {
            continue;
        }
        total += rep->faults[f];
        if (used < n) {
            int w = snprintf(buf + used, n - used, "%s%s %" PRId64, used ? ", " : "",
                             dg_fault_name((dg_fault)f), rep->faults[f]);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return total;
}

/* The read_parquet glob of a table's data files: one directory level per partition column. */
static void parquet_glob(const char *lake, const demo_table *t, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "%s/%s/", lake, t->rel);
    for (int i = 0; i < t->partition_depth && used < n; i++) {
        used += (size_t)snprintf(buf + used, n - used, "*/");
    }
    if (used < n) {
        snprintf(buf + used, n - used, "*.parquet");
    }
}

typedef struct demo_run {
    const demo_cli *cli;
    const sm_pipeline *p;
    const char *pipeline_file;
    const char *lake;
    const prod_report *rep;
    const sm_batch_report *tot;
    const sm_table_totals *silver; /* per silver table */
    int n_silver;
    bool ran; /* the pipeline ran (not interrupted before it): the summary needs it */
    double produce_s, pipeline_s, total_s;
} demo_run;

/* Prints the summary; returns false when the counts do not add up. */
static bool print_summary(const demo_run *d, FILE *out)
{
    demo_table ts[DEMO_MAX_TABLES];
    demo_reason rs[DEMO_MAX_REASONS];
    int n = 0, n_rs = 0;
    char buf[1024], glob[DEMO_PATH_MAX + 64];
    sm_error err;
    const sm_pipeline *p = d->p;
    const demo_table *bronze = NULL, *dead = NULL;
    int64_t decode, value, dead_rows, bronze_rows = 0;
    bool ok = true, partial = cli_stop != 0;
    static const char *const layers[] = {"bronze", "silver", "gold"};

    /* bronze tables, the dead-letter table, the rest as declared, then what else is there */
    for (size_t i = 0; i < p->n_tables; i++) {
        if (p->tables[i].layer == SM_PL_BRONZE && !p->tables[i].from) {
            add_table(ts, &n, p->tables[i].name, "bronze", (int)p->tables[i].partition_by.count,
                      true);
        }
    }
    {
        demo_table *t = add_table(ts, &n, p->dead_letter_table, "bronze", 1, true);
        if (t) {
            t->dead_letter = true;
        }
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        add_table(ts, &n, p->tables[i].name, sm_pl_layer_name(p->tables[i].layer),
                  (int)p->tables[i].partition_by.count, true);
    }
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        find_other_tables(d->lake, layers[l], ts, &n);
    }

    fprintf(out, "\n== tables in %s\n", d->lake);
    fprintf(out, "  %-26s %-7s %7s %10s %6s %11s  %s\n", "table", "layer", "version", "rows",
            "files", "bytes", "path");
    for (int i = 0; i < n; i++) {
        demo_table *t = &ts[i];
        char rows[32], bytes[32];
        if (describe_table(d->lake, t, &err) != SM_OK) {
            fprintf(out, "  %-26s %-7s cannot read it: %s\n", t->name, t->layer, err.msg);
            ok = false;
            continue;
        }
        if (!t->exists) {
            fprintf(out, "  %-26s %-7s %7s %10s %6s %11s  %s\n", t->name, t->layer, "-", "-", "-",
                    "-",
                    t->dead_letter                    ? "(no dead letters: made at the first one)"
                    : strcmp(t->layer, "bronze") == 0 ? "(not written)"
                                                      : "(not run yet: gold comes next)");
            continue;
        }
        if (t->rows_known) {
            snprintf(rows, sizeof rows, "%" PRId64, t->rows);
        } else {
            snprintf(rows, sizeof rows, "%" PRId64 "?", t->rows);
        }
        fmt_bytes(t->bytes, bytes, sizeof bytes);
        fprintf(out, "  %-26s %-7s %7" PRId64 " %10s %6" PRId64 " %11s  %s\n", t->name, t->layer,
                t->version, rows, t->files, bytes, t->rel);
        if (t->dead_letter) {
            dead = t;
        } else if (t->declared && strcmp(t->layer, "bronze") == 0) {
            bronze_rows += t->rows;
            if (!bronze) {
                bronze = t;
            }
        }
    }

    /* the producer's faults beside what the tables hold */
    fprintf(out, "\n== faults: what the producer injected and where it went\n");
    decode = fault_list(d->rep, "decode", buf, sizeof buf);
    dead_rows = dead ? dead->rows : 0;
    fprintf(out, "  cannot be decoded %7" PRId64 "%s%s%s\n", decode, decode ? "  (" : "", buf,
            decode ? ")" : "");
    fprintf(out, "  dead letters      %7" PRId64 "  %s\n", dead_rows,
            dead_rows == decode ? "= the decode faults: each one is a dead letter"
            : partial           ? "(interrupted: not every message was read)"
                                : "MISMATCH: should equal the decode faults");
    value = fault_list(d->rep, "value", buf, sizeof buf);
    fprintf(out,
            "  break a rule      %7" PRId64 "  in bronze, which keeps every record that "
            "decodes (%s)\n",
            value, buf);
    fprintf(out, "  duplicates        %7" PRId64 "  in bronze too (silver de-duplicates)\n",
            d->rep->faults[DG_FAULT_DUPLICATE]);
    fprintf(out,
            "  late              %7" PRId64 "  in bronze too (late for silver only once the "
            "watermark passed them)\n",
            d->rep->faults[DG_FAULT_LATE]);
    fprintf(out, "  bronze rows       %7" PRId64 "  %s %" PRId64 "\n", bronze_rows,
            bronze_rows + dead_rows == d->rep->acked ? "+ dead letters = the messages acked:"
            : partial ? "(interrupted: not every message was read); messages acked:"
                      : "MISMATCH: bronze + dead letters should equal the messages acked:",
            d->rep->acked);
    if (!partial && (dead_rows != decode || bronze_rows + dead_rows != d->rep->acked)) {
        ok = false;
    }

    for (int i = 0; i < d->n_silver; i++) {
        const sm_table_totals *t = &d->silver[i];
        int64_t sum = t->output + t->quarantined + t->duplicates + t->late_dropped;
        fprintf(out, "\n== %s: expectations (DLT's expect / expect_or_drop / expect_or_fail)\n",
                t->name);
        fprintf(out, "  %-22s %-6s %10s %10s\n", "rule", "action", "passed", "failed");
        for (int r = 0; r < t->n_rules; r++) {
            fprintf(out, "  %-22s %-6s %10" PRId64 " %10" PRId64 "\n", t->rule[r],
                    sm_pl_violation_name(t->on_violation[r]), t->passed[r], t->failed[r]);
        }
        fprintf(out,
                "  input %" PRId64 " = silver %" PRId64 " + quarantined %" PRId64
                " + duplicates %" PRId64 " + late %" PRId64 "%s\n",
                t->input, t->output, t->quarantined, t->duplicates, t->late_dropped,
                sum == t->input ? "" : "  MISMATCH");
        if (t->quarantined > 0 && t->quarantine) {
            fprintf(out, "  the quarantined rows are in %s, each with _validation_errors\n",
                    t->quarantine);
        }
        if (sum != t->input) {
            ok = false;
        }
    }

    if (dead) {
        char path[DEMO_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", d->lake, dead->rel);
        if (group_reasons(path, rs, &n_rs, &err) != SM_OK) {
            fprintf(out, "  cannot read the dead letters' reasons: %s\n", err.msg);
            ok = false;
        } else {
            qsort(rs, (size_t)n_rs, sizeof rs[0], by_count_desc);
            fprintf(out, "\n== dead letters by reason (of %" PRId64 ")\n", dead->rows);
            for (int i = 0; i < n_rs && i < DEMO_SHOWN_REASONS; i++) {
                fprintf(out, "  %-14s %7" PRId64 "  e.g. %s\n", rs[i].code, rs[i].count,
                        rs[i].example);
            }
            if (n_rs > DEMO_SHOWN_REASONS) {
                fprintf(out, "  ... %d more reasons\n", n_rs - DEMO_SHOWN_REASONS);
            }
        }
    }

    fprintf(out, "\n== time\n");
    fprintf(out, "  produce   %7.2f s  %10.0f msg/s  (%" PRId64 " messages acked)\n", d->produce_s,
            d->rep->msgs_per_s, d->rep->acked);
    fprintf(out,
            "  pipeline  %7.2f s  %10.0f records/s  (%" PRId64 " records in %" PRId64
            " batch(es))\n",
            d->pipeline_s, d->pipeline_s > 0 ? (double)d->tot->records / d->pipeline_s : 0.0,
            d->tot->records, d->tot->batch_id);
    fprintf(out, "  total     %7.2f s\n", d->total_s);

    fprintf(out, "\n== query the tables with DuckDB\n");
    if (bronze) {
        parquet_glob(d->lake, bronze, glob, sizeof glob);
        fprintf(
            out,
            "  duckdb -c \"SELECT category, count(*) AS orders, round(sum(price * quantity), 2) "
            "AS revenue FROM read_parquet('%s') GROUP BY ALL ORDER BY revenue DESC\"\n",
            glob);
    }
    if (dead) {
        parquet_glob(d->lake, dead, glob, sizeof glob);
        fprintf(out,
                "  duckdb -c \"SELECT split_part(reason, ':', 1) AS reason, count(*) FROM "
                "read_parquet('%s') GROUP BY ALL ORDER BY 2 DESC\"\n",
                glob);
    }
    if (bronze) {
        fprintf(out,
                "  # the globs read every Parquet file in the directory; a Delta reader takes the "
                "table's\n"
                "  # active files. Where DuckDB's delta extension is installed (INSTALL delta):\n"
                "  duckdb -c \"LOAD delta; SELECT count(*) FROM delta_scan('%s/%s')\"\n",
                d->lake, bronze->rel);
        fprintf(out, "  build/smelter table describe %s/%s\n", d->lake, bronze->rel);
    }
    return ok;
}

/* ---- the command --------------------------------------------------------------------------- */

static void produce_conf(const demo_cli *cli, const char *bootstrap, prod_conf *c)
{
    memset(c, 0, sizeof *c);
    c->bootstrap = bootstrap;
    c->topic = DEMO_TOPIC;
    c->gen.dataset = DG_ORDERS;
    c->gen.seed = cli->seed;
    c->gen.customers = 10000; /* the defaults of `smelter produce` */
    c->gen.products = 2000;
    c->gen.bad_ratio = 0.05;
    c->gen.dup_ratio = 0.01;
    c->gen.late_ratio = 0.01;
    c->gen.late_max_ms = 3600000;
    c->gen.max_ooo_ms = 5000;
    c->gen.start_ms = INT64_C(1767225600000); /* 2026-01-01T00:00:00Z */
    c->gen.events_per_sec = 20;
    c->count = cli->count;
    c->compression = "lz4";
    c->acks = "all";
    c->linger_ms = 5;
    c->connect_timeout_ms = 10000;
    c->flush_timeout_ms = 60000;
}

static int cmd_demo(int argc, char **argv)
{
    demo_cli cli = {0};
    char pipeline_file[PATH_MAX], lake[PATH_MAX];
    sm_pipeline *p = NULL;
    sm_broker *b = NULL;
    sm_broker_conf bc = {0};
    sm_engine *e = NULL;
    sm_engine_opts eo = {0};
    sm_batch_report tot;
    static sm_table_totals silver[DEMO_MAX_TABLES];
    prod_conf pc;
    prod_report rep;
    demo_state st = {0};
    demo_run d = {0};
    sm_error err;
    bool wiped, reads_orders = false;
    int64_t t0 = sm_mono_ns(), t1;
    int rc = cli_parse("demo", demo_usage, demo_opts, &cli, argc, argv, NULL);
    int code = SM_EXIT_OK;

    if (rc >= 0) {
        return rc;
    }
    memset(&tot, 0, sizeof tot);
    memset(&rep, 0, sizeof rep);
    if (find_pipeline(cli.pipeline, pipeline_file, sizeof pipeline_file, &err) != SM_OK ||
        prepare_lake(cli.lake, lake, sizeof lake, &wiped, &err) != SM_OK) {
        return cli_fail("demo", &err);
    }
    /* The example pipeline takes its lake from ${SMELTER_LAKE}; the bootstrap is known only once
     * the broker runs, so it replaces source.kafka.bootstrap_servers after loading (connection
     * options are not part of the configuration hash). */
    if (setenv("SMELTER_LAKE", lake, 1) != 0) {
        sm_error_sys(&err, SM_ERR_IO, errno, "setenv SMELTER_LAKE");
        return cli_fail("demo", &err);
    }
    if (sm_pipeline_load(pipeline_file, NULL, NULL, &p, &err) != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return err.code == SM_ERR_NOMEM || err.code == SM_ERR_INTERNAL ? SM_EXIT_FAILURE
                                                                       : SM_EXIT_USAGE;
    }
    for (size_t i = 0; i < p->source.kafka.topics.count; i++) {
        reads_orders |= strcmp(p->source.kafka.topics.items[i], DEMO_TOPIC) == 0;
    }
    /* the demo empties only its own lake, so everything the run writes must be in it */
    sm_error_clear(&err);
    if (!reads_orders) {
        sm_error_set(&err, SM_ERR_USAGE,
                     "%s does not read topic %s, where the demo produces its orders", pipeline_file,
                     DEMO_TOPIC);
    } else if (strcmp(p->lake, lake) != 0 ||
               strncmp(p->checkpoint.location, lake, strlen(lake)) != 0 ||
               p->checkpoint.location[strlen(lake)] != '/') {
        sm_error_set(&err, SM_ERR_USAGE,
                     "%s: the lake must be ${SMELTER_LAKE} and the checkpoint inside it (the "
                     "file has lake %s, checkpoint %s), so that the demo's lake holds the whole "
                     "run",
                     pipeline_file, p->lake, p->checkpoint.location);
    }
    if (err.code != SM_OK) {
        sm_pipeline_free(p);
        return cli_fail("demo", &err);
    }
    st.live = sm_log_is_human() && isatty(STDERR_FILENO);
    printf("smelter demo: %" PRId64 " orders with faults through %s (pipeline %s)\n", cli.count,
           pipeline_file, p->name);
    printf("lake %s%s\n", lake, wiped ? " (the previous demo's lake was emptied first)" : "");

    /* 1. the broker, with the pipeline's topics */
    bc.brokers = 1;
    bc.default_partitions = (int)cli.partitions;
    bc.replication_factor = 1;
    bc.port = 0;
    if (sm_broker_start(&bc, &b, &err) != SM_OK) {
        goto fail;
    }
    for (size_t i = 0; i < p->source.kafka.topics.count; i++) {
        if (sm_broker_create_topic(b, p->source.kafka.topics.items[i], (int)cli.partitions, &err) !=
            SM_OK) {
            goto fail;
        }
    }
    p->source.kafka.bootstrap_servers = sm_broker_bootstraps(b);
    printf("embedded broker at %s: topic %s with %" PRId64 " partitions\n", sm_broker_bootstraps(b),
           DEMO_TOPIC, cli.partitions);
    fflush(stdout);

    /* 2. the orders */
    produce_conf(&cli, sm_broker_bootstraps(b), &pc);
    pc.progress = st.live;
    printf("producing %" PRId64 " orders, seed %" PRId64
           ": 5%% bad, 1%% duplicates, 1%% late (smelter produce --dataset orders --count %" PRId64
           " --seed %" PRId64 " --bad-ratio 0.05 --dup-ratio 0.01 --late-ratio 0.01)\n",
           cli.count, cli.seed, cli.count, cli.seed);
    fflush(stdout);
    t1 = sm_mono_ns();
    rc = prod_run(&pc, &cli_stop, &rep, &err);
    d.produce_s = (double)(sm_mono_ns() - t1) / 1e9;
    if (rc != SM_OK) {
        goto fail;
    }

    /* 3. the pipeline, available_now */
    if (!cli_stop) {
        printf("running pipeline %s with available_now\n", p->name);
        fflush(stdout);
        st.t0_ns = t1 = sm_mono_ns();
        eo.stop = &cli_stop;
        eo.available_now = true;
        eo.on_batch = on_batch;
        eo.ctx = &st;
        if (sm_engine_open(p, &eo, &e, &err) != SM_OK) {
            goto fail;
        }
        rc = sm_engine_run(e, &err);
        sm_engine_totals(e, &tot);
        d.n_silver = sm_engine_silver_totals(e, silver, DEMO_MAX_TABLES);
        d.silver = silver;
        d.pipeline_s = (double)(sm_mono_ns() - t1) / 1e9;
        if (st.live && tot.batch_id > 0) {
            fputc('\n', stderr);
        }
        sm_engine_close(e);
        e = NULL;
        if (rc != SM_OK) {
            goto fail;
        }
        d.ran = true;
    }

    if (!d.ran) {
        printf("interrupted while producing: %" PRId64 " orders acked, the pipeline did not run\n",
               rep.acked);
        sm_broker_stop(b);
        sm_pipeline_free(p);
        return SM_EXIT_INTERRUPTED;
    }

    /* 4. what landed */
    d.cli = &cli;
    d.p = p;
    d.pipeline_file = pipeline_file;
    d.lake = lake;
    d.rep = &rep;
    d.tot = &tot;
    d.total_s = (double)(sm_mono_ns() - t0) / 1e9;
    if (!print_summary(&d, stdout)) {
        fflush(stdout);
        sm_log_error("demo", "the tables do not hold what the producer sent (see MISMATCH above)");
        code = SM_EXIT_FAILURE;
    }
    fflush(stdout);
    if (cli_stop && code == SM_EXIT_OK) {
        sm_log_warn("demo", "interrupted: the summary shows what was done before the signal");
        code = SM_EXIT_INTERRUPTED;
    }
    sm_broker_stop(b);
    sm_pipeline_free(p);
    return code;

fail:
    fflush(stdout);
    if (st.live) {
        fputc('\n', stderr);
    }
    code = cli_fail("demo", &err);
    sm_engine_close(e);
    sm_broker_stop(b);
    sm_pipeline_free(p);
    return code;
}

const cli_command cli_demo_command = {
    "demo",     "the main job: embedded broker, orders with faults, the example pipeline, summary",
    demo_usage, demo_opts,
    cmd_demo,   true,
};
