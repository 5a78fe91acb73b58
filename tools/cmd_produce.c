/*
 * `smelter produce` — the load-testing producer (tools/producer.h): e-commerce datasets with
 * injected faults, paced, keyed, with a ground-truth file and a delivery report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "tools/commands.h"
#include "tools/producer.h"

typedef struct produce_cli {
    cli_common common;
    prod_conf p;
    const char *bootstrap_file;
    const char *seed;
    const char *start_time;
    int report; /* auto|text|json */
    bool quiet;
} produce_cli;

#define P(field) offsetof(produce_cli, p.field)
#define G(field) offsetof(produce_cli, p.gen.field)

static const sm_opt produce_opts[] = {
    {"bootstrap", 'b', SM_OPT_STRING, P(bootstrap), "localhost:9092", SM_NO_BOUNDS, NULL, "HOSTS",
     "Kafka bootstrap servers (host:port,...)"},
    {"bootstrap-file", 0, SM_OPT_STRING, offsetof(produce_cli, bootstrap_file), NULL, SM_NO_BOUNDS,
     NULL, "FILE", "read the bootstrap servers from FILE (smelter broker -f)"},
    {"topic", 't', SM_OPT_STRING, P(topic), NULL, SM_NO_BOUNDS, NULL, "TOPIC",
     "topic to produce to (default: the dataset's name)"},
    {"dataset", 'd', SM_OPT_ENUM, G(dataset), "orders", SM_NO_BOUNDS, DG_DATASET_CHOICES, "NAME",
     "what to generate"},
    {"format", 0, SM_OPT_ENUM, P(format), "json", SM_NO_BOUNDS, TC_FORMAT_CHOICES, "FORMAT",
     "payload encoding: json, or the same records (and faults) as Avro or Protobuf in the "
     "Confluent wire format (schemas/DATASET.avsc, .proto)"},
    {"schema-id", 0, SM_OPT_INT, P(schema_id), "0", 0, 2147483647, NULL, "N",
     "schema id in Avro/Protobuf frames; 0 = the dataset's id in schemas/registry (orders 1, "
     "activity 2, profiles 3)"},
    {"count", 'n', SM_OPT_INT, P(count), "10000", 0, 1e15, NULL, "N",
     "messages to produce; 0 = until --duration or Ctrl-C"},
    {"duration", 0, SM_OPT_DURATION, P(duration_ms), "0", 0, 1e15, NULL, "TIME",
     "stop after this long (e.g. 30s, 10m); 0 = no limit"},
    {"rate", 'r', SM_OPT_DOUBLE, P(rate), "0", 0, 1e9, NULL, "R",
     "messages per second (token bucket); 0 = as fast as possible"},
    {"seed", 0, SM_OPT_STRING, offsetof(produce_cli, seed), "random", SM_NO_BOUNDS, NULL, "N",
     "random seed; the same seed gives byte-identical messages (the report shows the seed)"},
    {"bad-ratio", 0, SM_OPT_DOUBLE, G(bad_ratio), "0", 0, 1, NULL, "F",
     "share of bad records: null/empty ids, zero/negative values, wrong types, truncated or "
     "malformed payloads, invalid UTF-8"},
    {"late-ratio", 0, SM_OPT_DOUBLE, G(late_ratio), "0", 0, 1, NULL, "F",
     "share of late records: event time late-max/2 .. late-max behind the event clock"},
    {"late-max", 0, SM_OPT_DURATION, G(late_max_ms), "1h", 0, 1e13, NULL, "TIME",
     "how far behind a late record may be"},
    {"dup-ratio", 0, SM_OPT_DOUBLE, G(dup_ratio), "0", 0, 1, NULL, "F",
     "share of duplicates: exact re-sends of a recent good record"},
    {"max-out-of-order", 0, SM_OPT_DURATION, G(max_ooo_ms), "5s", 0, 1e13, NULL, "TIME",
     "bounded out-of-orderness of on-time records"},
    {"customers", 0, SM_OPT_INT, G(customers), "10000", 1, 1e9, NULL, "N",
     "size of the customer space (shared by all datasets)"},
    {"products", 0, SM_OPT_INT, G(products), "2000", 1, 1e9, NULL, "N", "size of the catalogue"},
    {"start-time", 0, SM_OPT_STRING, offsetof(produce_cli, start_time), "2026-01-01T00:00:00Z",
     SM_NO_BOUNDS, NULL, "TIME", "event clock start: ISO-8601, epoch ms, or 'now'"},
    {"event-rate", 0, SM_OPT_DOUBLE, G(events_per_sec), "20", 1e-6, 1e9, NULL, "R",
     "events per second of event time (how fast the simulated clock runs)"},
    {"truth", 0, SM_OPT_STRING, P(truth_path), NULL, SM_NO_BOUNDS, NULL, "FILE",
     "write one ground-truth line per message (NDJSON, or CSV if FILE ends in .csv)"},
    {"to-file", 0, SM_OPT_STRING, P(to_file), NULL, SM_NO_BOUNDS, NULL, "FILE",
     "write key<TAB>payload lines to FILE instead of Kafka (input for kcat -K'\\t'); Avro and "
     "Protobuf payloads are written as lower-case hex (decode before sending)"},
    {"compression", 'z', SM_OPT_STRING, P(compression), "lz4", SM_NO_BOUNDS, NULL, "CODEC",
     "none, gzip, snappy, lz4 or zstd"},
    {"acks", 0, SM_OPT_STRING, P(acks), "all", SM_NO_BOUNDS, NULL, "ACKS", "0, 1 or all"},
    {"linger", 0, SM_OPT_DURATION, P(linger_ms), "5ms", 0, 900000, NULL, "TIME",
     "how long the producer waits to fill a batch"},
    {"connect-timeout", 0, SM_OPT_DURATION, P(connect_timeout_ms), "10s", 100, 3600000, NULL,
     "TIME", "give up when the cluster cannot be reached within this time"},
    {"flush-timeout", 0, SM_OPT_DURATION, P(flush_timeout_ms), "60s", 100, 3600000, NULL, "TIME",
     "at the end, wait this long for outstanding deliveries"},
    {"property", 'X', SM_OPT_LIST, P(kafka_props), NULL, SM_NO_BOUNDS, NULL, "KEY=VALUE",
     "librdkafka producer property, passed as is (repeatable)"},
    {"report", 0, SM_OPT_ENUM, offsetof(produce_cli, report), "auto", SM_NO_BOUNDS,
     "auto|text|json", "FORMAT", "final report on stdout; auto: text on a terminal, else JSON"},
    {"quiet", 'q', SM_OPT_BOOL, offsetof(produce_cli, quiet), NULL, SM_NO_BOUNDS, NULL, NULL,
     "no live progress line"},
    SM_OPT_END,
};

static const char produce_usage[] =
    "Usage: smelter produce [flags]\n"
    "\n"
    "Produces e-commerce events (orders, activity, profiles) to Kafka for load tests and demos,\n"
    "keyed by customer_id, with injected faults at the given ratios and an optional\n"
    "ground-truth file that records, per message, its partition, offset and fault.\n"
    "Prints a report: messages and bytes acked, failures, rate, delivery latency p50/p95/p99.\n"
    "Exit code 0 when every message was acked, 1 when some failed or Kafka was unreachable,\n"
    "2 for bad flags.\n"
    "\n"
    "With --format avro or protobuf the same records are sent in the Confluent wire format\n"
    "(magic 0, schema id; schemas/ holds the .avsc, .proto and descriptor sets, and\n"
    "schemas/registry the schemas by id); faults that break decoding break the binary\n"
    "encoding instead (truncated, bad union index or wire type, invalid UTF-8, unknown schema).\n"
    "\n"
    "Examples:\n"
    "  smelter produce -b 127.0.0.1:9092 -n 200000 --seed 7 --bad-ratio 0.05 \\\n"
    "      --dup-ratio 0.01 --truth truth.ndjson\n"
    "  smelter produce -b 127.0.0.1:9092 -d activity --format avro -n 100000\n";

/* "random" | integer */
static int parse_seed(const char *s, int64_t *out, sm_error *err)
{
    char *end;
    long long v;
    if (strcmp(s, "random") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *out = (int64_t)(((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                          ((uint64_t)getpid() << 40)) &
                         0x7fffffffffffULL);
        return SM_OK;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "--seed: '%s' is not a non-negative integer or 'random'", s);
    }
    *out = v;
    return SM_OK;
}

static int parse_start(const char *s, int64_t *out, sm_error *err)
{
    char *end;
    long long v;
    if (strcmp(s, "now") == 0) {
        *out = sm_wall_ms();
        return SM_OK;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && end != s && !*end) {
        *out = v;
        return SM_OK;
    }
    if (sm_parse_iso8601_ms(s, strlen(s), out) == 0) {
        return SM_OK;
    }
    return sm_error_set(err, SM_ERR_USAGE,
                        "--start-time: '%s' is not ISO-8601 (2026-01-01T00:00:00Z), epoch "
                        "milliseconds or 'now'",
                        s);
}

/* Reads the first line of the broker's bootstrap file into buf. */
static int read_bootstrap_file(const char *path, char *buf, size_t n, sm_error *err)
{
    char *data = NULL;
    size_t len = 0;
    if (sm_read_file(path, 4096, &data, &len, err) != SM_OK) {
        sm_error_prefix(err, "--bootstrap-file");
        return err->code;
    }
    len = strcspn(data, "\r\n");
    if (len == 0 || len >= n) {
        free(data);
        return sm_error_set(err, SM_ERR_USAGE, "--bootstrap-file %s: no address in the file", path);
    }
    memcpy(buf, data, len);
    buf[len] = '\0';
    free(data);
    return SM_OK;
}

static int cmd_produce(int argc, char **argv)
{
    produce_cli cli = {0};
    prod_report rep;
    sm_error err;
    char bootstrap[1024];
    int rc = cli_parse("produce", produce_usage, produce_opts, &cli, argc, argv, NULL);
    bool json_report;

    if (rc >= 0) {
        sm_strlist_free(&cli.p.kafka_props);
        return rc;
    }
    if (parse_seed(cli.seed, &cli.p.gen.seed, &err) != SM_OK ||
        parse_start(cli.start_time, &cli.p.gen.start_ms, &err) != SM_OK ||
        (cli.bootstrap_file &&
         read_bootstrap_file(cli.bootstrap_file, bootstrap, sizeof bootstrap, &err) != SM_OK)) {
        sm_strlist_free(&cli.p.kafka_props);
        return cli_fail("produce", &err);
    }
    if (cli.bootstrap_file) {
        cli.p.bootstrap = bootstrap;
    }
    cli.p.progress = !cli.quiet && sm_log_is_human() && isatty(STDERR_FILENO);

    rc = prod_run(&cli.p, &cli_stop, &rep, &err);
    sm_strlist_free(&cli.p.kafka_props);
    if (rc == SM_ERR_USAGE) {
        return cli_fail("produce", &err);
    }
    if (rep.produced > 0 || rc == SM_OK) {
        json_report = cli.report == 2 || (cli.report == 0 && !isatty(STDOUT_FILENO));
        if (json_report) {
            json_t *j = prod_report_json(&rep);
            json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
            fputc('\n', stdout);
            json_decref(j);
        } else {
            prod_report_print(stdout, &rep);
        }
        fflush(stdout);
    }
    if (rc != SM_OK) {
        return cli_fail("produce", &err);
    }
    return SM_EXIT_OK;
}

const cli_command cli_produce_command = {
    "produce",     "produce e-commerce events with injected faults (load tests)",
    produce_usage, produce_opts,
    cmd_produce,
};
