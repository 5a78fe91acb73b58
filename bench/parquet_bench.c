/*
 * parquet_bench — how fast storage/parquet_writer.h encodes e-commerce orders (bench/parquet,
 * bench/README.md).
 *
 * Builds N order rows into column buffers once, untimed: the records of tools/datagen.h
 * (dataset orders, seed 1, no faults) parsed with jansson, except coupon, which is null for 30 %
 * of the rows instead of datagen's 80 % (the issue asks for ~30 % nulls in one column; a hash of
 * (seed, row) decides, the codes are datagen's). Then it times pq_writer_open + write (one
 * batch of all rows) + close to --out with ZSTD at the default level, --reps times (after
 * --warmup untimed writes), with CLOCK_MONOTONIC, and reports the median.
 *
 * Schema (all required but coupon):
 *   order_id, customer_id, product_id, category STRING; quantity INT32; price DOUBLE;
 *   order_ts TIMESTAMP_US (UTC); status, device, country STRING; coupon STRING nullable.
 *
 * Input bytes = value bytes: the bytes of every non-null string plus 4 or 8 per fixed-width
 * value (no offsets, no validity). MB = 10^6 bytes.
 *
 * --plain FILE also writes the same rows UNCOMPRESSED (untimed): the input the DuckDB side of
 * bench/parquet loads into a table, so that DuckDB's timing is only its Parquet write.
 *
 * Output: a readable report, or with --json one line of JSON (bench/parquet reads that).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/error.h"
#include "storage/codec.h"
#include "storage/column.h"
#include "storage/parquet_writer.h"
#include "tools/datagen.h"

enum {
    C_ORDER_ID,
    C_CUSTOMER_ID,
    C_PRODUCT_ID,
    C_CATEGORY,
    C_QUANTITY,
    C_PRICE,
    C_ORDER_TS,
    C_STATUS,
    C_DEVICE,
    C_COUNTRY,
    C_COUPON,
    N_COLS
};

static const struct {
    const char *name;
    sm_type type;
    bool nullable;
} columns[N_COLS] = {
    {"order_id", SM_STRING, false},       {"customer_id", SM_STRING, false},
    {"product_id", SM_STRING, false},     {"category", SM_STRING, false},
    {"quantity", SM_INT32, false},        {"price", SM_DOUBLE, false},
    {"order_ts", SM_TIMESTAMP_US, false}, {"status", SM_STRING, false},
    {"device", SM_STRING, false},         {"country", SM_STRING, false},
    {"coupon", SM_STRING, true},
};

/* datagen.c's coupon codes, for the rows where datagen wrote null but we want a value */
static const char *const coupons[] = {"SAVE10", "WELCOME", "FREESHIP", "BF2026"};
#define COUPON_NULL_PERCENT 30

typedef struct bench {
    sm_arena *arena;
    sm_field *schema;
    sm_column *batch;
    int64_t rows;
    int64_t input_bytes;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void die(const char *what, const sm_error *err)
{
    fprintf(stderr, "parquet_bench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(1);
}

static const char *member_str(json_t *row, const char *key, size_t *len)
{
    json_t *v = json_object_get(row, key);
    if (!json_is_string(v)) {
        fprintf(stderr, "parquet_bench: member %s is not a string\n", key);
        exit(1);
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

static void append_str(bench *b, int col, const char *s, size_t len)
{
    if (sm_column_append_bytes(b->arena, b->batch->children[col], s, len)) {
        die("out of memory building the columns", NULL);
    }
    b->input_bytes += (int64_t)len;
}

static void append_row(bench *b, json_t *row, uint64_t seed)
{
    static const struct {
        int col;
        const char *key;
    } strs[] = {{C_ORDER_ID, "order_id"},     {C_CUSTOMER_ID, "customer_id"},
                {C_PRODUCT_ID, "product_id"}, {C_CATEGORY, "category"},
                {C_STATUS, "status"},         {C_DEVICE, "device"},
                {C_COUNTRY, "country"}};
    sm_column **c = b->batch->children;
    const char *s;
    size_t len;
    int64_t ms;
    json_t *v;
    uint64_t h = mix64(seed * 0x9e3779b97f4a7c15ULL ^ mix64((uint64_t)b->rows + 1));

    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        s = member_str(row, strs[i].key, &len);
        append_str(b, strs[i].col, s, len);
    }
    v = json_object_get(row, "quantity");
    if (!json_is_integer(v) ||
        sm_column_append_i64(b->arena, c[C_QUANTITY], json_integer_value(v))) {
        die("quantity: not an integer, or out of memory", NULL);
    }
    v = json_object_get(row, "price");
    if (!json_is_number(v) || sm_column_append_f64(b->arena, c[C_PRICE], json_number_value(v))) {
        die("price: not a number, or out of memory", NULL);
    }
    s = member_str(row, "order_ts", &len);
    if (sm_parse_iso8601_ms(s, len, &ms) ||
        sm_column_append_i64(b->arena, c[C_ORDER_TS], ms * 1000)) {
        die("order_ts: not ISO-8601, or out of memory", NULL);
    }
    b->input_bytes += 4 + 8 + 8;

    if (h % 100 < COUPON_NULL_PERCENT) {
        if (sm_column_append_null(b->arena, c[C_COUPON])) {
            die("out of memory building the columns", NULL);
        }
    } else {
        v = json_object_get(row, "coupon");
        if (json_is_string(v)) {
            append_str(b, C_COUPON, json_string_value(v), json_string_length(v));
        } else {
            s = coupons[(h >> 32) % (sizeof coupons / sizeof coupons[0])];
            append_str(b, C_COUPON, s, strlen(s));
        }
    }
    if (sm_column_append_valid(b->arena, b->batch)) {
        die("out of memory building the columns", NULL);
    }
    b->rows++;
}

static void build(bench *b, int64_t rows, int64_t seed)
{
    sm_field *fields[N_COLS];
    dg_conf conf = {.dataset = DG_ORDERS,
                    .seed = seed,
                    .customers = 10000,
                    .products = 2000,
                    .late_max_ms = 3600000,
                    .max_ooo_ms = 5000,
                    .events_per_sec = 20};
    dg_gen *g;
    sm_error err;

    /* `smelter produce` defaults: --start-time 2026-01-01T00:00:00Z and the rest above */
    if (sm_parse_iso8601_ms("2026-01-01T00:00:00Z", 20, &conf.start_ms)) {
        die("bad start time", NULL);
    }
    if (!(b->arena = sm_arena_create((size_t)4 << 20, 0))) {
        die("out of memory", NULL);
    }
    for (int i = 0; i < N_COLS; i++) {
        if (!(fields[i] =
                  sm_field_new(b->arena, columns[i].name, columns[i].type, columns[i].nullable))) {
            die("out of memory", NULL);
        }
    }
    if (!(b->schema = sm_field_struct(b->arena, "orders", fields, N_COLS, false)) ||
        !(b->batch = sm_column_new(b->arena, b->schema, rows))) {
        die("out of memory", NULL);
    }
    if (dg_create(&conf, &g, &err)) {
        die("dg_create", &err);
    }
    for (int64_t i = 0; i < rows; i++) {
        dg_record r;
        json_error_t jerr;
        json_t *row;
        dg_next(g, &r);
        if (!(row = json_loadb(r.payload, r.payload_len, 0, &jerr))) {
            fprintf(stderr, "parquet_bench: record %lld: %s\n", (long long)i, jerr.text);
            exit(1);
        }
        append_row(b, row, (uint64_t)seed);
        json_decref(row);
    }
    dg_destroy(g);
}

typedef struct timing {
    double open_s, write_s, close_s, total_s;
    pq_file_info info;
} timing;

static bool dictionary = true; /* --no-dictionary: for experiments */

static timing write_file(const bench *b, const char *path, int codec, int level)
{
    pq_writer_opts o;
    pq_writer *w;
    sm_error err;
    timing t;
    double t0, t1, t2, t3;

    pq_writer_opts_default(&o);
    o.codec = codec;
    o.level = level;
    o.dictionary = dictionary;
    t0 = now_s();
    if (pq_writer_open(path, b->schema, &o, &w, &err)) {
        die("pq_writer_open", &err);
    }
    t1 = now_s();
    if (pq_writer_write(w, b->batch, &err)) {
        pq_writer_abort(w);
        die("pq_writer_write", &err);
    }
    t2 = now_s();
    if (pq_writer_close(w, &t.info, &err)) {
        die("pq_writer_close", &err);
    }
    t3 = now_s();
    t.open_s = t1 - t0;
    t.write_s = t2 - t1;
    t.close_s = t3 - t2;
    t.total_s = t3 - t0;
    return t;
}

static int cmp_total(const void *a, const void *b)
{
    double x = ((const timing *)a)->total_s, y = ((const timing *)b)->total_s;
    return (x > y) - (x < y);
}

/* Times each column alone (a one-column schema over the same column buffer): where the time
 * and the bytes of the full write go. The files go to "<out>.column", removed at the end. */
static void per_column(const bench *b, const char *out, int64_t reps, int level, bool json)
{
    timing *t = calloc((size_t)reps, sizeof *t);
    char path[4096];
    if (!t) {
        die("out of memory", NULL);
    }
    if ((size_t)snprintf(path, sizeof path, "%s.column", out) >= sizeof path) {
        die("--out: path too long", NULL);
    }
    if (!json) {
        printf("per column, alone (median of %lld):\n  %-12s %8s %10s %12s %12s\n", (long long)reps,
               "column", "s", "MB/s", "input bytes", "file bytes");
    }
    for (int i = 0; i < N_COLS; i++) {
        sm_field *child = b->schema->children[i];
        sm_field *one = sm_field_struct(b->arena, "orders", &child, 1, false);
        sm_column batch = {0};
        sm_column *c = b->batch->children[i];
        bench sub = *b;
        int64_t in = sm_type_is_binary_like(c->field->type)
                         ? c->data_len
                         : (c->length - c->null_count) * (int64_t)sm_type_width(c->field);
        if (!one) {
            die("out of memory", NULL);
        }
        batch.field = one;
        batch.length = b->rows;
        batch.children = &b->batch->children[i];
        sub.schema = one;
        sub.batch = &batch;
        for (int64_t k = 0; k < reps; k++) {
            t[k] = write_file(&sub, path, PQ_CODEC_ZSTD, level);
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_total);
        if (json) {
            printf("{\"column\":\"%s\",\"secs\":%.6f,\"input_bytes\":%lld,\"file_size\":%lld}\n",
                   child->name, t[reps / 2].total_s, (long long)in,
                   (long long)t[reps / 2].info.file_size);
        } else {
            printf("  %-12s %8.3f %10.1f %12lld %12lld\n", child->name, t[reps / 2].total_s,
                   (double)in / 1e6 / t[reps / 2].total_s, (long long)in,
                   (long long)t[reps / 2].info.file_size);
        }
    }
    remove(path);
    free(t);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: parquet_bench [-n ROWS] [--seed S] [--out FILE] [--plain FILE]\n"
               "                     [--reps R] [--warmup W] [--level L] [--per-column]\n"
               "                     [--no-dictionary] [--json]\n"
               "  -n ROWS        order rows (default 1000000)\n"
               "  --seed S       datagen seed (default 1)\n"
               "  --out FILE     the ZSTD file the timed writes produce (default: none, no "
               "timing)\n"
               "  --plain FILE   also write the rows UNCOMPRESSED to FILE, untimed\n"
               "  --reps R       timed writes (default 1); the median is reported\n"
               "  --warmup W     untimed writes before them (default 0)\n"
               "  --level L      ZSTD level (default 0: the codec's default, 1)\n"
               "  --per-column   also time each column written alone (to FILE.column)\n"
               "  --no-dictionary  PLAIN only (an experiment; the benchmark uses dictionaries)\n"
               "  --json         one line of JSON instead of the readable report\n");
}

static int64_t parse_int(const char *s, const char *what, int64_t min)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min) {
        fprintf(stderr, "parquet_bench: %s must be an integer >= %lld, not '%s'\n", what,
                (long long)min, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"plain", required_argument, NULL, 'p'},
                                         {"reps", required_argument, NULL, 'r'},
                                         {"warmup", required_argument, NULL, 'w'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"per-column", no_argument, NULL, 'c'},
                                         {"no-dictionary", no_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int64_t rows = 1000000, seed = 1, reps = 1, warmup = 0, level = 0;
    const char *out = NULL, *plain = NULL;
    bool json = false, columns_alone = false;
    bench b = {0};
    timing *t = NULL;
    double t0, build_s;
    int opt;

    while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            rows = parse_int(optarg, "-n", 1);
            break;
        case 's':
            seed = parse_int(optarg, "--seed", 0);
            break;
        case 'o':
            out = optarg;
            break;
        case 'p':
            plain = optarg;
            break;
        case 'r':
            reps = parse_int(optarg, "--reps", 1);
            break;
        case 'w':
            warmup = parse_int(optarg, "--warmup", 0);
            break;
        case 'l':
            level = parse_int(optarg, "--level", -131072);
            break;
        case 'j':
            json = true;
            break;
        case 'c':
            columns_alone = true;
            break;
        case 'D':
            dictionary = false;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }

    t0 = now_s();
    build(&b, rows, seed);
    build_s = now_s() - t0;
    if (plain) {
        timing p = write_file(&b, plain, PQ_CODEC_UNCOMPRESSED, 0);
        (void)p;
    }
    if (!out) {
        if (json) {
            printf("{\"rows\":%lld,\"input_bytes\":%lld,\"build_s\":%.3f}\n", (long long)b.rows,
                   (long long)b.input_bytes, build_s);
        } else {
            printf("built %lld rows (%.1f MB of values) in %.2f s\n", (long long)b.rows,
                   (double)b.input_bytes / 1e6, build_s);
        }
        sm_arena_destroy(b.arena);
        return 0;
    }

    for (int64_t i = 0; i < warmup; i++) {
        write_file(&b, out, PQ_CODEC_ZSTD, (int)level);
    }
    if (!(t = calloc((size_t)reps, sizeof *t))) {
        die("out of memory", NULL);
    }
    for (int64_t i = 0; i < reps; i++) {
        t[i] = write_file(&b, out, PQ_CODEC_ZSTD, (int)level);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_total);
    {
        const timing *m = &t[reps / 2]; /* the median (upper one for an even count) */
        double rps = (double)b.rows / m->total_s, mbps = (double)b.input_bytes / 1e6 / m->total_s;
        if (json) {
            printf("{\"rows\":%lld,\"input_bytes\":%lld,\"build_s\":%.3f,\"reps\":%lld,"
                   "\"secs\":%.6f,\"open_s\":%.6f,\"write_s\":%.6f,\"close_s\":%.6f,"
                   "\"min_s\":%.6f,\"max_s\":%.6f,\"rows_per_s\":%.0f,\"mb_per_s\":%.2f,"
                   "\"file_size\":%lld,\"row_groups\":%d}\n",
                   (long long)b.rows, (long long)b.input_bytes, build_s, (long long)reps,
                   m->total_s, m->open_s, m->write_s, m->close_s, t[0].total_s, t[reps - 1].total_s,
                   rps, mbps, (long long)m->info.file_size, m->info.row_groups);
        } else {
            printf("built %lld rows (%.1f MB of values) in %.2f s\n", (long long)b.rows,
                   (double)b.input_bytes / 1e6, build_s);
            printf("median of %lld write(s) to %s (ZSTD, level %lld):\n", (long long)reps, out,
                   (long long)level);
            printf("  %.3f s (open %.3f, write %.3f, close %.3f; min %.3f, max %.3f)\n", m->total_s,
                   m->open_s, m->write_s, m->close_s, t[0].total_s, t[reps - 1].total_s);
            printf("  %.0f rows/s, %.1f MB/s of input, file %lld bytes, %d row group(s)\n", rps,
                   mbps, (long long)m->info.file_size, m->info.row_groups);
        }
    }
    free(t);
    if (columns_alone) {
        per_column(&b, out, reps, (int)level, json);
    }
    sm_arena_destroy(b.arena);
    return 0;
}
