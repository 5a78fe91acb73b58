/*
 * Embedded broker on librdkafka's mock cluster. See embedded_broker.h for what it is and is not.
 *
 * The mock cluster hangs off an rd_kafka_t handle; we make a producer handle that is never used
 * to produce and only owns the cluster. Topic names are checked here with Kafka's own rule
 * ([a-zA-Z0-9._-], at most 249 chars) because the mock cluster accepts anything.
 */
#include "ingest/embedded_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define RELAY_MAX_PAIRS 64

/* The bootstrap relay: 127.0.0.1:<port> forwarded to the first broker. Clients only fetch
 * metadata through it, so one thread and blocking writes on loopback are plenty.
 * @thread relay (after start; stop joins it) */
typedef struct relay {
    int listen_fd;
    int wake[2]; /* a byte on wake[1] stops the thread */
    struct sockaddr_in target;
    pthread_t thread;
    bool running;
    int pairs[RELAY_MAX_PAIRS][2]; /* client, broker; -1 = free */
} relay;

struct sm_broker {
    rd_kafka_t *rk; /* owns mcluster */
    rd_kafka_mock_cluster_t *mcluster;
    sm_broker_conf conf;
    char *bootstraps;
    relay relay;
};

/* Copies what is readable on `from` to `to`. Returns -1 when either side is done. */
static int relay_pump(int from, int to)
{
    char buf[65536];
    ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0) {
        return -1;
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        off += w;
    }
    return 0;
}

static void relay_accept(relay *r)
{
    int client = accept(r->listen_fd, NULL, NULL), broker, slot = -1;
    if (client < 0) {
        return;
    }
    for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
        if (r->pairs[i][0] < 0) {
            slot = i;
            break;
        }
    }
    broker = slot < 0 ? -1 : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (broker < 0 || connect(broker, (const struct sockaddr *)&r->target, sizeof r->target) != 0) {
        if (broker >= 0) {
            close(broker);
        }
        close(client); /* the client retries, as it would with a real broker */
        return;
    }
    r->pairs[slot][0] = client;
    r->pairs[slot][1] = broker;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    for (;;) {
        struct pollfd fds[2 + 2 * RELAY_MAX_PAIRS];
        int idx[2 * RELAY_MAX_PAIRS];
        nfds_t n = 2;
        fds[0].fd = r->wake[0];
        fds[0].events = POLLIN;
        fds[1].fd = r->listen_fd;
        fds[1].events = POLLIN;
        for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
            for (int side = 0; side < 2 && r->pairs[i][0] >= 0; side++) {
                fds[n].fd = r->pairs[i][side];
                fds[n].events = POLLIN;
                idx[n - 2] = i * 2 + side;
                n++;
            }
        }
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[0].revents) {
            break;
        }
        if (fds[1].revents & POLLIN) {
            relay_accept(r);
        }
        for (nfds_t k = 2; k < n; k++) {
            int pair = idx[k - 2] / 2, side = idx[k - 2] % 2;
            if (!fds[k].revents || r->pairs[pair][0] < 0) {
                continue;
            }
            if (relay_pump(r->pairs[pair][side], r->pairs[pair][!side]) != 0) {
                close(r->pairs[pair][0]);
                close(r->pairs[pair][1]);
                r->pairs[pair][0] = r->pairs[pair][1] = -1;
            }
        }
    }
    return NULL;
}

/* Listens on 127.0.0.1:port and starts forwarding to the first broker of `bootstraps`. */
static int relay_start(relay *r, int port, const char *bootstraps, sm_error *err)
{
    struct sockaddr_in addr;
    int one = 1, target_port = 0;
    const char *colon = strchr(bootstraps, ':');

    for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
        r->pairs[i][0] = r->pairs[i][1] = -1;
    }
    r->wake[0] = r->wake[1] = -1;
    if (colon) {
        target_port = atoi(colon + 1);
    }
    memset(&r->target, 0, sizeof r->target);
    r->target.sin_family = AF_INET;
    r->target.sin_port = htons((uint16_t)target_port);
    r->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->listen_fd < 0) {
        return sm_error_sys(err, SM_ERR_IO, errno, "embedded broker: socket");
    }
    setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(r->listen_fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(r->listen_fd);
        r->listen_fd = -1;
        if (e == EADDRINUSE) {
            return sm_error_set(err, SM_ERR_IO,
                                "embedded broker: 127.0.0.1:%d is in use (a Kafka or another "
                                "smelter broker?): stop it, or pick --port (0 = no fixed port)",
                                port);
        }
        return sm_error_sys(err, SM_ERR_IO, e, "embedded broker: listen on 127.0.0.1:%d", port);
    }
    if (listen(r->listen_fd, 64) != 0 || pipe2(r->wake, O_CLOEXEC) != 0) {
        int e = errno;
        close(r->listen_fd);
        r->listen_fd = -1;
        return sm_error_sys(err, SM_ERR_IO, e, "embedded broker: listen on 127.0.0.1:%d", port);
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        close(r->listen_fd);
        close(r->wake[0]);
        close(r->wake[1]);
        r->listen_fd = r->wake[0] = r->wake[1] = -1;
        return sm_error_set(err, SM_ERR_NOMEM, "embedded broker: cannot start the relay thread");
    }
    r->running = true;
    return SM_OK;
}

static void relay_stop(relay *r)
{
    if (!r->running) {
        return;
    }
    (void)!write(r->wake[1], "x", 1);
    pthread_join(r->thread, NULL);
    for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
        if (r->pairs[i][0] >= 0) {
            close(r->pairs[i][0]);
            close(r->pairs[i][1]);
        }
    }
    close(r->listen_fd);
    close(r->wake[0]);
    close(r->wake[1]);
    r->running = false;
}

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
    if (conf->port > 0) {
        char addr[32];
        if (conf->port > 65535) {
            sm_error_set(err, SM_ERR_USAGE, "port %d is not a TCP port", conf->port);
            goto fail;
        }
        if (relay_start(&b->relay, conf->port, rd_kafka_mock_cluster_bootstraps(b->mcluster),
                        err) != SM_OK) {
            goto fail;
        }
        snprintf(addr, sizeof addr, "127.0.0.1:%d", conf->port);
        b->bootstraps = strdup(addr);
    } else {
        b->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(b->mcluster));
    }
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
    relay_stop(&b->relay);
    if (b->mcluster) {
        rd_kafka_mock_cluster_destroy(b->mcluster);
    }
    if (b->rk) {
        rd_kafka_destroy(b->rk);
    }
    free(b->bootstraps);
    free(b);
}
