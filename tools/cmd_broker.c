/*
 * `smelter broker` — run the embedded Kafka-protocol broker (ingest/embedded_broker.h) until
 * SIGINT or SIGTERM. Prints the bootstrap address on stdout and, with --bootstrap-file, writes
 * it to a file durably (a reader sees the whole address or no file); the file is removed on a
 * clean stop so scripts can tell a stale address from a live one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "ingest/embedded_broker.h"
#include "tools/commands.h"

typedef struct broker_cli {
    cli_common common;
    int64_t brokers;
    int64_t partitions;
    const char *topics;
    const char *bootstrap_file;
    int64_t port;
} broker_cli;

static const sm_opt broker_opts[] = {
    {"brokers", 0, SM_OPT_INT, offsetof(broker_cli, brokers), "1", 1, 64, NULL, "N",
     "number of brokers in the cluster"},
    {"partitions", 'p', SM_OPT_INT, offsetof(broker_cli, partitions), "8", 1, 10000, NULL, "P",
     "partitions of topics listed without a count"},
    {"topics", 't', SM_OPT_STRING, offsetof(broker_cli, topics), "orders,activity,profiles",
     SM_NO_BOUNDS, NULL, "LIST", "topics to create: name[:partitions],... (empty string: none)"},
    {"port", 0, SM_OPT_INT, offsetof(broker_cli, port), "9092", 0, 65535, NULL, "PORT",
     "bootstrap address 127.0.0.1:PORT (a relay to the first broker); 0 = none, use the "
     "printed address"},
    {"bootstrap-file", 'f', SM_OPT_STRING, offsetof(broker_cli, bootstrap_file), NULL, SM_NO_BOUNDS,
     NULL, "FILE", "also write the bootstrap address to FILE (removed on exit)"},
    SM_OPT_END,
};

static const char broker_usage[] =
    "Usage: smelter broker [flags]\n"
    "\n"
    "Runs the embedded Kafka-protocol broker (librdkafka's mock cluster) on 127.0.0.1 until\n"
    "SIGINT or SIGTERM, and prints its bootstrap address: 127.0.0.1:9092 by default, the\n"
    "default of `smelter produce` and of pipeline files. For development, demos and tests:\n"
    "each partition keeps only about 5 MiB or 100k message sets (older ones are dropped),\n"
    "nothing is persisted, there is no read_committed isolation and no authentication.\n"
    "Production points smelter at a real Kafka cluster.\n"
    "\n"
    "Example:\n"
    "  smelter broker --topics orders:16,activity:8 --bootstrap-file /tmp/smelter.bootstrap\n";

static int cmd_broker(int argc, char **argv)
{
    broker_cli cli = {0};
    sm_broker_conf conf = {0};
    sm_broker *b = NULL;
    sm_error err;
    int rc = cli_parse("broker", broker_usage, broker_opts, &cli, argc, argv, NULL);

    if (rc >= 0) {
        return rc;
    }
    conf.brokers = (int)cli.brokers;
    conf.default_partitions = (int)cli.partitions;
    conf.port = (int)cli.port;
    if (sm_broker_start(&conf, &b, &err) != SM_OK) {
        return cli_fail("broker", &err);
    }
    if (cli.topics && *cli.topics && sm_broker_create_topics(b, cli.topics, &err) != SM_OK) {
        sm_broker_stop(b);
        return cli_fail("broker", &err);
    }
    if (cli.bootstrap_file) {
        const char *addr = sm_broker_bootstraps(b);
        char line[1024];
        int n = snprintf(line, sizeof line, "%s\n", addr);
        if (sm_durable_write_file(cli.bootstrap_file, line, (size_t)n, SM_DURABLE_REPLACE, &err) !=
            SM_OK) {
            sm_broker_stop(b);
            return cli_fail("broker", &err);
        }
    }
    printf("%s\n", sm_broker_bootstraps(b));
    fflush(stdout);
    sm_log_info("broker", "embedded broker ready at %s (%d broker(s), topics: %s); Ctrl-C stops",
                sm_broker_bootstraps(b), conf.brokers,
                cli.topics && *cli.topics ? cli.topics : "none");

    while (!cli_stop) {
        sm_sleep_ms(100);
    }
    sm_log_info("broker", "stopping");
    if (cli.bootstrap_file) {
        unlink(cli.bootstrap_file);
    }
    sm_broker_stop(b);
    return SM_EXIT_OK;
}

const cli_command cli_broker_command = {
    "broker",     "run the embedded Kafka-protocol broker (development, demos, tests)",
    broker_usage, broker_opts,
    cmd_broker,
};
