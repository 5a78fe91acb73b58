/*
 * Embedded broker on librdkafka's mock cluster. See embedded_broker.h for what it is and is not.
 *
 * The mock cluster hangs off an rd_kafka_t handle; we make a producer handle that is never used
 * to produce and only owns the cluster. Topic names are checked here with Kafka's own rule
 * ([a-zA-Z0-9._-], at most 249 chars) because the mock cluster accepts anything.
 */
#include "ingest/embedded_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct sm_broker {
    rd_kafka_t *rk; /* owns mcluster */
    rd_kafka_mock_cluster_t *mcluster;
    sm_broker_conf conf;
    char *bootstraps;
};

int sm_broker_start(const sm_broker_conf *conf, sm_broker **out, sm_error *err)
{
    char errstr[512];
    sm_broker *b = NULL;
    rd_kafka_conf_t *kconf = NULL;

    *out = NULL;
    if (conf->brokers < 1 || conf->brokers > 64) {
        return sm_error_set(err, SM_ERR_USAGE, "brokers must be between 1 and 64, not %d",
                            conf->brokers);
    }
    if (conf->default_partitions < 1 || conf->default_partitions > 10000) {
        return sm_error_set(err, SM_ERR_USAGE, "partitions must be between 1 and 10000, not %d",
                            conf->default_partitions);
    }
    if (conf->replication_factor < 0 || conf->replication_factor > conf->brokers) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "replication factor %d is more than the %d broker(s)",
                            conf->replication_factor, conf->brokers);
    }

    b = calloc(1, sizeof *b);
    if (!b) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    b->conf = *conf;
    if (b->conf.replication_factor == 0) {
        b->conf.replication_factor = conf->brokers < 3 ? conf->brokers : 3;
    }

    kconf = rd_kafka_conf_new();
    /* Silence the handle that only hosts the cluster: it never connects anywhere. */
    if (rd_kafka_conf_set(kconf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        sm_error_set(err, SM_ERR_KAFKA, "embedded broker: %s", errstr);
        goto fail;
    }
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, sizeof errstr);
    if (!b->rk) {
        sm_error_set(err, SM_ERR_KAFKA, "embedded broker: cannot create host handle: %s", errstr);
        goto fail;
    }
    kconf = NULL; /* owned by rk now */

    b->mcluster = rd_kafka_mock_cluster_new(b->rk, conf->brokers);
    if (!b->mcluster) {
        sm_error_set(err, SM_ERR_KAFKA,
                     "embedded broker: cannot start the mock cluster (could not listen on "
                     "127.0.0.1?)");
        goto fail;
    }
    b->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(b->mcluster));
    if (!b->bootstraps) {
        sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = b;
    return SM_OK;

fail:
    if (kconf) {
        rd_kafka_conf_destroy(kconf);
    }
    sm_broker_stop(b);
    return err ? (int)err->code : SM_ERR_KAFKA;
}

static int topic_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 249) {
        return 0;
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

int sm_broker_create_topic(sm_broker *b, const char *topic, int partitions, sm_error *err)
{
    rd_kafka_resp_err_t kerr;

    if (!topic_name_ok(topic, strlen(topic))) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "invalid topic name '%s': use 1-249 characters from [a-zA-Z0-9._-]",
                            topic);
    }
    if (partitions <= 0) {
        partitions = b->conf.default_partitions;
    }
    if (partitions > 10000) {
        return sm_error_set(err, SM_ERR_USAGE, "topic %s: %d partitions is more than 10000", topic,
                            partitions);
    }
    kerr = rd_kafka_mock_topic_create(b->mcluster, topic, partitions, b->conf.replication_factor);
    if (kerr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        return sm_error_set(err, SM_ERR_CONFLICT, "topic %s already exists", topic);
    }
    if (kerr) {
        return sm_error_set(err, SM_ERR_KAFKA, "create topic %s: %s", topic,
                            rd_kafka_err2str(kerr));
    }
    return SM_OK;
}

int sm_broker_create_topics(sm_broker *b, const char *spec, sm_error *err)
{
    const char *p = spec;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[512];
        char *colon;
        int partitions = 0;

        if (len == 0 || len >= sizeof item) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "bad topic list '%s': expected name[:partitions],...", spec);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        colon = strchr(item, ':');
        if (colon) {
            char *num_end;
            long n;
            *colon = '\0';
            n = strtol(colon + 1, &num_end, 10);
            if (num_end == colon + 1 || *num_end || n < 1 || n > 10000) {
                return sm_error_set(err, SM_ERR_USAGE,
                                    "bad partition count '%s' for topic %s: expected 1..10000",
                                    colon + 1, item);
            }
            partitions = (int)n;
        }
        if (sm_broker_create_topic(b, item, partitions, err) != SM_OK) {
            return err ? (int)err->code : SM_ERR_USAGE;
        }
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return SM_OK;
}

const char *sm_broker_bootstraps(const sm_broker *b)
{
    return b->bootstraps;
}

void sm_broker_stop(sm_broker *b)
{
    if (!b) {
        return;
    }
    if (b->mcluster) {
        rd_kafka_mock_cluster_destroy(b->mcluster);
    }
    if (b->rk) {
        rd_kafka_destroy(b->rk);
    }
    free(b->bootstraps);
    free(b);
}
