/*
 * prod — the load-testing producer behind `smelter produce`, callable in-process from tests.
 *
 * Generates records with tools/datagen (deterministic per seed), sends them with a librdkafka
 * producer keyed by customer_id, paced by a token bucket, and accounts for every message
 * through delivery reports: acked, failed, delivery latency. With a truth path, one line per
 * message is written when its delivery report arrives (so it carries partition and offset):
 *
 *   {"seq":17,"topic":"orders","partition":3,"offset":41,"key":"C0000123",
 *    "id":"o-1f2e...","event_ts":1767225600123,"fault":"negative_quantity","class":"value",
 *    "dup_of":null,"bytes":231,"fnv1a64":"9c3e...","status":"acked"}
 *
 * (CSV with the same columns when the path ends in .csv.) Lines are in delivery order; sort by
 * seq for production order. bytes and fnv1a64 describe the payload as sent, in its format.
 *
 * @thread the caller's; librdkafka callbacks run inside prod_run's polls.
 */
#ifndef SM_TOOLS_PRODUCER_H
#define SM_TOOLS_PRODUCER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"
#include "core/options.h"
#include "tools/datagen.h"
#include "tools/transcode.h"

/* Payload encodings (tools/transcode.h): JSON as generated, or the same records as Avro or
 * Protobuf in the Confluent wire formats with the same faults and ground truth. */
typedef enum prod_format {
    PROD_FORMAT_JSON = TC_JSON,
    PROD_FORMAT_AVRO = TC_AVRO,
    PROD_FORMAT_PROTOBUF = TC_PROTOBUF,
} prod_format;

typedef struct prod_conf {
    const char *bootstrap;
    const char *topic; /* NULL: the dataset's name */
    int format;        /* prod_format */
    int64_t schema_id; /* Avro/Protobuf schema id in the frame; 0: the dataset's (1, 2, 3) */
    dg_conf gen;
    int64_t count;           /* 0: until duration or a signal */
    int64_t duration_ms;     /* 0: no time limit */
    double rate;             /* messages per second; 0: as fast as possible */
    const char *truth_path;  /* NULL: none */
    const char *to_file;     /* write "key\tpayload\n" lines here instead of Kafka; Avro and
                              * Protobuf payloads are written as lower-case hex */
    const char *compression; /* librdkafka compression.codec */
    const char *acks;
    int64_t linger_ms;
    int64_t connect_timeout_ms; /* bound on reaching the cluster at start */
    int64_t flush_timeout_ms;   /* bound on waiting for outstanding deliveries at the end */
    sm_strlist kafka_props;     /* "key=value", passed to librdkafka as is (-X) */
    bool progress;              /* draw a live progress line on stderr */
} prod_conf;

typedef struct prod_report {
    int64_t seed;
    int64_t produced; /* handed to librdkafka */
    int64_t acked;
    int64_t failed;
    int64_t bytes_acked; /* payload + key bytes */
    int64_t faults[DG_FAULT_COUNT];
    double elapsed_s;
    double msgs_per_s; /* acked / elapsed */
    double mb_per_s;
    int64_t latency_p50_us, latency_p95_us, latency_p99_us, latency_max_us;
    bool interrupted;      /* stopped by the stop flag before count/duration */
    char first_error[256]; /* first delivery error, "" if none */
} prod_report;

/*
 * Runs until count, duration or *stop. Returns SM_OK when every produced message was acked;
 * SM_ERR_KAFKA when the cluster cannot be reached within connect_timeout_ms, the topic is
 * missing, or some deliveries failed (the report says how many); SM_ERR_USAGE for a bad
 * configuration; SM_ERR_IO for the truth or output file. The report is filled in all cases.
 */
int prod_run(const prod_conf *conf, volatile sig_atomic_t *stop, prod_report *report,
             sm_error *err);

/* The report as JSON (caller json_decref's) and as human text. */
json_t *prod_report_json(const prod_report *r);
void prod_report_print(FILE *out, const prod_report *r);

#endif
