/*
 * decode_bench — how fast ingest/json_decode.h turns e-commerce order messages into column
 * buffers (bench/decode, bench/README.md).
 *
 * Makes N order messages once, untimed: the records of tools/datagen.h (dataset orders, seed 1,
 * no faults, the defaults of `smelter produce`), kept in one buffer as a consumer would hold
 * them. With --ndjson FILE it also writes them as NDJSON for the DuckDB side. Then it times, with
 * CLOCK_MONOTONIC on one thread, sm_json_decode of all N messages into one fresh batch (a new
 * arena and column each repetition: the arena's growth is part of the cost), --reps times after
 * --warmup untimed passes, and reports the median.
 *
 * Schema (orders.avsc as the pipeline would load it, one column per member):
 *   order_id STRING nullable; customer_id, product_id, category STRING; quantity INT32;
 *   price DOUBLE; order_ts TIMESTAMP_US (from the ISO-8601 text); status, device, country
 *   STRING; coupon STRING nullable.
 *
 * Output: a readable report, or with --json one line of JSON (bench/decode reads that).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/error.h"
#include "ingest/avsc.h"
#include "ingest/json_decode.h"
#include "storage/column.h"
#include "tools/datagen.h"

static const char orders_avsc[] =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"smelter.orders\",\"fields\":["
    "{\"name\":\"order_id\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"customer_id\",\"type\":\"string\"},"
    "{\"name\":\"product_id\",\"type\":\"string\"},"
    "{\"name\":\"category\",\"type\":\"string\"},"
    "{\"name\":\"quantity\",\"type\":\"int\"},"
    "{\"name\":\"price\",\"type\":\"double\"},"
    "{\"name\":\"order_ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"status\",\"type\":\"string\"},"
    "{\"name\":\"device\",\"type\":\"string\"},"
    "{\"name\":\"country\",\"type\":\"string\"},"
    "{\"name\":\"coupon\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "decode_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int64_t n = 1000000;
    int reps = 5, warmup = 1, json = 0;
    const char *ndjson = NULL;
    static const struct option longopts[] = {
        {"n", required_argument, NULL, 'n'},      {"reps", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'}, {"ndjson", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            n = atoll(optarg);
            break;
        case 'r':
            reps = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 'o':
            ndjson = optarg;
            break;
        case 'j':
            json = 1;
            break;
        default:
            fprintf(stderr, "usage: decode_bench [-n N] [--reps R] [--warmup W] [--ndjson FILE] "
                            "[--json]\n");
            return 2;
        }
    }
    if (n < 1 || reps < 1 || warmup < 0) {
        die("N and --reps must be positive, --warmup non-negative", NULL);
    }

    /* the messages, untimed */
    dg_conf conf = {.dataset = DG_ORDERS,
                    .seed = 1,
                    .customers = 100000,
                    .products = 5000,
                    .late_max_ms = 3600000,
                    .max_ooo_ms = 5000,
                    .start_ms = 1767225600000LL,
                    .events_per_sec = 1000};
    dg_gen *g;
    sm_error err;
    if (dg_create(&conf, &g, &err) != SM_OK) {
        die("datagen", err.msg);
    }
    size_t cap = (size_t)n * 300, used = 0;
    char *msgs = malloc(cap);
    size_t *off = malloc(sizeof *off * (size_t)(n + 1));
    FILE *out = ndjson ? fopen(ndjson, "w") : NULL;
    if (!msgs || !off || (ndjson && !out)) {
        die("out of memory or cannot write", ndjson);
    }
    for (int64_t i = 0; i < n; i++) {
        dg_record r;
        dg_next(g, &r);
        if (used + r.payload_len > cap) {
            cap = cap * 2 + r.payload_len;
            if (!(msgs = realloc(msgs, cap))) {
                die("out of memory", NULL);
            }
        }
        off[i] = used;
        memcpy(msgs + used, r.payload, r.payload_len);
        used += r.payload_len;
        if (out) {
            fwrite(r.payload, 1, r.payload_len, out);
            fputc('\n', out);
        }
    }
    off[n] = used;
    dg_destroy(g);
    if (out && fclose(out) != 0) {
        die("cannot write", ndjson);
    }

    sm_arena *schema_arena = sm_arena_create(0, 0);
    sm_avsc *avsc;
    sm_json_decoder *d;
    sm_json_opts o;
    if (sm_avsc_parse(orders_avsc, strlen(orders_avsc), "orders.avsc", schema_arena, &avsc, &err) !=
        SM_OK) {
        die("schema", err.msg);
    }
    sm_json_opts_default(&o);
    o.avsc = avsc;
    if (sm_json_decoder_new(avsc->root, &o, &d, &err) != SM_OK) {
        die("decoder", err.msg);
    }

    double *secs = malloc(sizeof *secs * (size_t)reps);
    int64_t rows = 0, nulls = 0;
    for (int rep = -warmup; rep < reps; rep++) {
        sm_arena *a = sm_arena_create(1 << 20, 0);
        double t0 = now_s();
        sm_column *batch = sm_column_new(a, avsc->root, 1024);
        if (!batch) {
            die("out of memory", NULL);
        }
        for (int64_t i = 0; i < n; i++) {
            sm_json_error why;
            if (sm_json_decode(d, (const uint8_t *)msgs + off[i], off[i + 1] - off[i], a, batch,
                               &why) != SM_OK) {
                die("a message did not decode", why.msg);
            }
        }
        double t1 = now_s();
        if (rep >= 0) {
            secs[rep] = t1 - t0;
        }
        rows = batch->length;
        nulls = batch->children[10]->null_count;
        sm_arena_destroy(a);
    }
    qsort(secs, (size_t)reps, sizeof *secs, cmp_double);
    double med = reps % 2 ? secs[reps / 2] : (secs[reps / 2 - 1] + secs[reps / 2]) / 2;
    if (json) {
        printf("{\"rows\":%lld,\"bytes\":%zu,\"secs\":%.6f,\"rows_per_s\":%.0f,\"mb_per_s\":%.1f,"
               "\"null_coupons\":%lld}\n",
               (long long)rows, used, med, (double)n / med, (double)used / 1e6 / med,
               (long long)nulls);
    } else {
        printf("%lld order messages, %.1f MB of JSON, median of %d: %.3f s, %.0f records/s, "
               "%.1f MB/s (%lld null coupons)\n",
               (long long)rows, (double)used / 1e6, reps, med, (double)n / med,
               (double)used / 1e6 / med, (long long)nulls);
    }
    free(secs);
    free(msgs);
    free(off);
    sm_json_decoder_free(d);
    sm_arena_destroy(schema_arena);
    return 0;
}
