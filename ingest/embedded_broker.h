/*
 * The embedded broker: librdkafka's mock cluster (rdkafka_mock.h) — a real Kafka-protocol
 * server on 127.0.0.1, for development, demos and tests. `smelter broker` runs one; tests start
 * one in-process with sm_broker_start().
 *
 * Limits, honestly: it is not Kafka. Each partition keeps only ~5 MiB or 100k message sets
 * (older ones are dropped, like an aggressive retention), there is no persistence, no
 * read_committed isolation, no authentication. The brokers listen on ports the operating system
 * picks; with `port` set, a bootstrap relay also listens on 127.0.0.1:<port> (9092 for
 * `smelter broker`) and forwards each connection to the first broker, so clients configured
 * with localhost:9092 work: Kafka clients use the bootstrap address only to fetch metadata and
 * then connect to the brokers it advertises. Production points smelter at a real Kafka.
 *
 * @thread sm_broker_* calls from one thread; the cluster itself runs in librdkafka threads.
 */
#ifndef SM_INGEST_EMBEDDED_BROKER_H
#define SM_INGEST_EMBEDDED_BROKER_H

#include "core/error.h"

typedef struct sm_broker sm_broker;

typedef struct sm_broker_conf {
    int brokers;            /* number of brokers, >= 1 */
    int default_partitions; /* partitions of topics created without a count, and auto-created */
    int replication_factor; /* <= brokers; 0 picks min(3, brokers) */
    int port;               /* bootstrap relay on 127.0.0.1:port; 0 = none */
} sm_broker_conf;

/* Starts the cluster. On error nothing is left running. */
int sm_broker_start(const sm_broker_conf *conf, sm_broker **out, sm_error *err);

/* Creates a topic; partitions <= 0 uses the default. Creating an existing topic is an error
 * (SM_ERR_CONFLICT). */
int sm_broker_create_topic(sm_broker *b, const char *topic, int partitions, sm_error *err);

/* Creates topics from a spec "orders:8,activity,profiles:4" (name[:partitions], comma list). */
int sm_broker_create_topics(sm_broker *b, const char *spec, sm_error *err);

/* The relay's "127.0.0.1:9092" when there is one, else the brokers' "127.0.0.1:40123,..." —
 * borrowed, valid until sm_broker_stop. */
const char *sm_broker_bootstraps(const sm_broker *b);

/* Stops the cluster and frees it; accepts NULL. Clients still connected see disconnects. */
void sm_broker_stop(sm_broker *b);

#endif
