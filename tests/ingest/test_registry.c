/*
 * ingest/registry.c: the Confluent Schema Registry REST client against an in-process
 * libmicrohttpd server on 127.0.0.1 (ephemeral port).
 *
 * The server answers, under an optional path prefix that selects a behaviour:
 *   /schemas/ids/1          the orders schema (schemas/orders.avsc) as {"schema": ...}
 *   /schemas/ids/2          a malformed JSON body
 *   /schemas/ids/3          a 5 MiB body (over the client's 4 MiB bound)
 *   /schemas/ids/4          the orders schema, chunked transfer encoding
 *   /schemas/ids/5          a PROTOBUF schema
 *   /schemas/ids/6          a JSON object without "schema"
 *   /schemas/ids/<other>    404 with Confluent's {"error_code": 40403, ...}
 *   /registry/...           the same under a base path
 *   /auth/...               the same, after checking Authorization: Basic dXNlcjpwYXNz
 *   /flaky/...              500 for the first `flaky_left` requests, then the same
 *   /slow/...               answers after 700 ms
 * and counts the requests it sees. Plus raw sockets for refused connections and a listener
 * that never answers.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "ingest/avro_decode.h"
#include "ingest/avsc.h"
#include "ingest/registry.h"
#include "storage/column.h"
#include "tools/json_rows.h"
#include "sm_test.h"

/* ---- the server --------------------------------------------------------------------------- */

static struct MHD_Daemon *g_mhd;
static int g_port;
static char *g_orders;  /* schemas/orders.avsc */
static char *g_ok_body; /* {"schema": <orders>} */
static char *g_huge;    /* 5 MiB */
static pthread_mutex_t g_mtx = PTHREAD_MUTEX_INITIALIZER;
static int g_requests;   /* seen by the server */
static int g_flaky_left; /* 500s still to give on /flaky */

static int server_requests(void)
{
    pthread_mutex_lock(&g_mtx);
    int n = g_requests;
    pthread_mutex_unlock(&g_mtx);
    return n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/vnd.schemaregistry.v1+json");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Chunked: the body in pieces of 100 bytes (MHD_SIZE_UNKNOWN makes MHD chunk it). */
static ssize_t chunk_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    size_t n = strlen(g_ok_body);
    if (pos >= n) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t k = n - (size_t)pos;
    k = k > 100 ? 100 : k;
    k = k > max ? max : k;
    memcpy(buf, g_ok_body + pos, k);
    return (ssize_t)k;
}

static bool strip(const char **url, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(*url, prefix, n) == 0) {
        *url += n;
        return true;
    }
    return false;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    pthread_mutex_lock(&g_mtx);
    g_requests++;
    bool fail = false;
    if (strncmp(url, "/flaky/", 7) == 0 && g_flaky_left > 0) {
        g_flaky_left--;
        fail = true;
    }
    pthread_mutex_unlock(&g_mtx);
    if (strcmp(method, "GET") != 0) {
        return reply(c, 405, "", 0);
    }
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    if (!accept || !strstr(accept, "application/vnd.schemaregistry.v1+json")) {
        return reply(c, 406, "", 0);
    }
    if (fail) {
        const char *b = "{\"error_code\":50001,\"message\":\"store error\"}";
        return reply(c, 500, b, strlen(b));
    }
    if (strip(&url, "/slow")) {
        usleep(700 * 1000);
    }
    (void)strip(&url, "/flaky");
    (void)strip(&url, "/registry");
    if (strip(&url, "/auth")) {
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!a) {
            const char *b = "{\"error_code\":401,\"message\":\"Unauthorized\"}";
            return reply(c, 401, b, strlen(b));
        }
        if (strcmp(a, "Basic dXNlcjpwYXNz") != 0) { /* user:pass */
            const char *b =
                "{\"error_code\":40301,\"message\":\"User cannot access the resource\"}";
            return reply(c, 403, b, strlen(b));
        }
    }
    int id = -1;
    if (sscanf(url, "/schemas/ids/%d", &id) != 1) {
        const char *b = "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}";
        return reply(c, 404, b, strlen(b));
    }
    switch (id) {
    case 1:
        return reply(c, 200, g_ok_body, strlen(g_ok_body));
    case 2: {
        const char *b = "{\"schema\": \"{\\\"type";
        return reply(c, 200, b, strlen(b));
    }
    case 3:
        return reply(c, 200, g_huge, strlen(g_huge));
    case 4: {
        struct MHD_Response *resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, chunk_cb, NULL, NULL);
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    case 5: {
        const char *b = "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\";\"}";
        return reply(c, 200, b, strlen(b));
    }
    case 6:
        return reply(c, 200, "{\"id\": 6}", 9);
    default: {
        char b[128];
        snprintf(b, sizeof b, "{\"error_code\":40403,\"message\":\"Schema %d not found\"}", id);
        return reply(c, 404, b, strlen(b));
    }
    }
}

static int suite_setup(void)
{
    char path[1024];
    sm_error err;
    size_t len;
    const char *src = getenv("SMELTER_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/schemas/orders.avsc", src ? src : ".");
    if (sm_read_file(path, 1 << 20, &g_orders, &len, &err) != SM_OK) {
        printf("\n%s\n", err.msg);
        return 1;
    }
    json_t *j = json_pack("{s:s%}", "schema", g_orders, len);
    g_ok_body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t huge = 5u << 20;
    g_huge = malloc(huge + 1);
    memset(g_huge, ' ', huge);
    memcpy(g_huge, "{\"schema\":\"\"}", 13);
    g_huge[huge] = '\0';

    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    g_mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                 MHD_USE_ERROR_LOG,
                             0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!g_mhd) {
        printf("\ncannot start libmicrohttpd\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(g_mhd, MHD_DAEMON_INFO_BIND_PORT);
    g_port = info ? info->port : 0;
    return g_port > 0 ? 0 : 1;
}

static int suite_teardown(void)
{
    if (g_mhd) {
        MHD_stop_daemon(g_mhd);
    }
    free(g_orders);
    free(g_ok_body);
    free(g_huge);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static sm_registry *open_at(const char *prefix, const char *auth, int64_t timeout_ms, int attempts)
{
    char url[256];
    sm_registry_conf c;
    sm_error err;
    sm_registry *r = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, prefix);
    sm_registry_conf_default(&c);
    c.url = url;
    c.basic_auth = auth;
    c.timeout_ms = timeout_ms;
    c.max_attempts = attempts;
    c.backoff_ms = 10;
    if (sm_registry_open(&c, &r, &err) != SM_OK) {
        printf("\nopen %s: %s\n", url, err.msg);
    }
    return r;
}

static int fetch(sm_registry *r, int32_t id, sm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = sm_registry_fetch(r, id, &text, &len, err);
    if (rc == SM_OK) {
        CU_ASSERT_EQUAL(len, strlen(g_orders));
        CU_ASSERT(text && memcmp(text, g_orders, len) == 0 && text[len] == '\0');
    } else {
        CU_ASSERT_PTR_NULL(text);
    }
    free(text);
    return rc;
}

static int refused_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        return 0;
    }
    close(fd); /* nobody listens there now */
    return ntohs(sa.sin_port);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_registry_fetch_caches_the_schema(void)
{
    sm_error err;
    sm_registry *r = open_at("", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    int before = server_requests();
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK); /* from the cache */
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    CU_ASSERT_EQUAL(server_requests() - before, 1);
    sm_registry_free(r);
}

static void test_registry_base_path_and_chunked(void)
{
    sm_error err;
    sm_registry *r = open_at("/registry/", NULL, 2000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_NSTRING_EQUAL(sm_registry_url(r), "http://127.0.0.1:", 17);
    CU_ASSERT(strstr(sm_registry_url(r), "/registry") != NULL);
    CU_ASSERT(sm_registry_url(r)[strlen(sm_registry_url(r)) - 1] != '/');
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK);
    CU_ASSERT_EQUAL(fetch(r, 4, &err), SM_OK); /* chunked */
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);
    sm_registry_free(r);
}

static void test_registry_unknown_id_is_remembered(void)
{
    sm_error err;
    sm_registry *r = open_at("", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(fetch(r, 42, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT(strstr(err.msg, "unknown schema id 42") != NULL);
    CU_ASSERT(strstr(err.msg, "HTTP 404") != NULL);
    CU_ASSERT(strstr(err.msg, "40403") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1); /* a definite answer: not retried */
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(fetch(r, 42, &err), SM_REGISTRY_NOT_FOUND);
    }
    CU_ASSERT(strstr(err.msg, "unknown schema id 42") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1); /* negative cache */
    CU_ASSERT_EQUAL(fetch(r, 43, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);
    sm_registry_free(r);

    /* with a short negative TTL the id is asked again once it expires */
    char url[128];
    sm_registry_conf c;
    sm_registry_conf_default(&c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", g_port);
    c.url = url;
    c.negative_ttl_ms = 50;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    CU_ASSERT_EQUAL(fetch(r, 42, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT_EQUAL(fetch(r, 42, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    sm_sleep_ms(80);
    CU_ASSERT_EQUAL(fetch(r, 42, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);
    sm_registry_free(r);
}

static void test_registry_retries_5xx_bounded(void)
{
    sm_error err;
    sm_registry *r = open_at("/flaky", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    pthread_mutex_lock(&g_mtx);
    g_flaky_left = 2;
    pthread_mutex_unlock(&g_mtx);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK); /* 500, 500, 200 */
    CU_ASSERT_EQUAL(sm_registry_requests(r), 3);
    sm_registry_free(r);

    r = open_at("/flaky", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    pthread_mutex_lock(&g_mtx);
    g_flaky_left = 10;
    pthread_mutex_unlock(&g_mtx);
    int before = server_requests();
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_IO);
    CU_ASSERT(err.retriable);
    CU_ASSERT(strstr(err.msg, "HTTP 500") != NULL);
    CU_ASSERT(strstr(err.msg, "3 attempts") != NULL);
    CU_ASSERT(strstr(err.msg, "schema id 1") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 3);
    CU_ASSERT_EQUAL(server_requests() - before, 3);
    /* failures are not cached: the next fetch asks again */
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 6);
    pthread_mutex_lock(&g_mtx);
    g_flaky_left = 0;
    pthread_mutex_unlock(&g_mtx);
    sm_registry_free(r);
}

static void test_registry_refused_connection_retried(void)
{
    char url[128];
    sm_error err;
    sm_registry_conf c;
    sm_registry *r;
    int port = refused_port();
    CU_ASSERT_FATAL(port > 0);
    sm_registry_conf_default(&c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    c.url = url;
    c.max_attempts = 4;
    c.backoff_ms = 5;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    int64_t t0 = sm_mono_ns();
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_IO);
    int64_t ms = (sm_mono_ns() - t0) / 1000000;
    CU_ASSERT(err.retriable);
    CU_ASSERT(strstr(err.msg, "cannot connect") != NULL);
    CU_ASSERT(strstr(err.msg, url) != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 4);
    CU_ASSERT(ms >= 5 + 10 + 20); /* the backoff waits */
    CU_ASSERT(ms < 2000);
    sm_registry_free(r);
}

static void test_registry_auth(void)
{
    sm_error err;
    sm_registry *r = open_at("/auth", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_USAGE);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT(strstr(err.msg, "HTTP 401") != NULL);
    CU_ASSERT(strstr(err.msg, "set basic auth") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    sm_registry_free(r);

    r = open_at("/auth", "user:wrongsecret", 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "HTTP 403") != NULL);
    CU_ASSERT(strstr(err.msg, "/auth") != NULL);
    CU_ASSERT(strstr(err.msg, "wrongsecret") == NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    sm_registry_free(r);

    r = open_at("/auth", "user:pass", 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK);
    CU_ASSERT_EQUAL(fetch(r, 77, &err), SM_REGISTRY_NOT_FOUND);
    sm_registry_free(r);

    /* credentials in the URL are used and never shown */
    char url[128];
    sm_registry_conf c;
    sm_registry_conf_default(&c);
    snprintf(url, sizeof url, "http://user:pass@127.0.0.1:%d/auth", g_port);
    c.url = url;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    CU_ASSERT(strstr(sm_registry_url(r), "pass") == NULL);
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_OK);
    CU_ASSERT_EQUAL(fetch(r, 78, &err), SM_REGISTRY_NOT_FOUND);
    CU_ASSERT(strstr(err.msg, "pass") == NULL);
    sm_registry_free(r);
}

static void test_registry_timeout_bounded(void)
{
    sm_error err;
    sm_registry *r = open_at("/slow", NULL, 200, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    int64_t t0 = sm_mono_ns();
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_TIMEOUT);
    int64_t ms = (sm_mono_ns() - t0) / 1000000;
    CU_ASSERT(err.retriable);
    CU_ASSERT(strstr(err.msg, "200 ms") != NULL);
    CU_ASSERT(strstr(err.msg, "2 attempts") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);
    CU_ASSERT(ms >= 400);
    CU_ASSERT(ms < 1500);
    sm_registry_free(r);

    /* a listener that never accepts nor answers */
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                    listen(fd, 4) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    char url[128];
    sm_registry_conf c;
    sm_registry_conf_default(&c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    c.url = url;
    c.timeout_ms = 150;
    c.max_attempts = 1;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    t0 = sm_mono_ns();
    CU_ASSERT_EQUAL(fetch(r, 1, &err), SM_ERR_TIMEOUT);
    ms = (sm_mono_ns() - t0) / 1000000;
    CU_ASSERT(ms >= 140 && ms < 1000);
    CU_ASSERT(strstr(err.msg, "1 attempt;") != NULL);
    sm_registry_free(r);
    close(fd);
}

static void test_registry_bad_answers(void)
{
    sm_error err;
    sm_registry *r = open_at("", NULL, 5000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(fetch(r, 2, &err), SM_ERR_IO); /* malformed JSON: not retried */
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT(strstr(err.msg, "not a JSON object") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    CU_ASSERT_EQUAL(fetch(r, 3, &err), SM_ERR_NOMEM); /* over the bound */
    CU_ASSERT(strstr(err.msg, "limit") != NULL);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);
    CU_ASSERT_EQUAL(fetch(r, 5, &err), SM_ERR_USAGE); /* protobuf */
    CU_ASSERT(strstr(err.msg, "PROTOBUF") != NULL);
    CU_ASSERT(strstr(err.msg, "only Avro schemas") != NULL);
    CU_ASSERT_EQUAL(fetch(r, 5, &err), SM_ERR_USAGE); /* remembered */
    CU_ASSERT_EQUAL(sm_registry_requests(r), 3);
    CU_ASSERT_EQUAL(fetch(r, 6, &err), SM_ERR_IO);
    CU_ASSERT(strstr(err.msg, "no \"schema\"") != NULL);
    sm_registry_free(r);
}

static void test_registry_open_refuses_bad_urls(void)
{
    static const struct {
        const char *url, *auth, *want;
    } cases[] = {
        {"https://registry.example:8081", NULL, "TLS"},
        {"HTTPS://x", NULL, "local TLS-terminating proxy"},
        {NULL, NULL, "no URL"},
        {"", NULL, "no URL"},
        {"ftp://x", NULL, "want http://"},
        {"127.0.0.1:8081", NULL, "want http://"},
        {"http://", NULL, "bad host"},
        {"http://:8081", NULL, "bad host"},
        {"http://host:0", NULL, "bad port"},
        {"http://host:65536", NULL, "bad port"},
        {"http://host:80x", NULL, "bad port"},
        {"http://host:", NULL, "bad port"},
        {"http://[::1", NULL, "bad host"},
        {"http://host/a?b=c", NULL, "no query"},
        {"http://host/a#f", NULL, "no query"},
        {"http://ho st", NULL, "spaces"},
        {"http://host", "nocolon", "user:pass"},
        {"http://host", "user:pa\r\nss", "line break"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_registry_conf c;
        sm_error err;
        sm_registry *r = (sm_registry *)1;
        sm_registry_conf_default(&c);
        c.url = cases[i].url;
        c.basic_auth = cases[i].auth;
        CU_ASSERT_EQUAL(sm_registry_open(&c, &r, &err), SM_ERR_USAGE);
        CU_ASSERT_PTR_NULL(r);
        if (!strstr(err.msg, cases[i].want)) {
            printf("\n%s: want '%s' in '%s'\n", cases[i].url ? cases[i].url : "(null)",
                   cases[i].want, err.msg);
            CU_FAIL("message");
        }
    }
    sm_registry_conf c;
    sm_error err;
    sm_registry *r;
    sm_registry_conf_default(&c);
    c.url = "http://localhost";
    c.max_attempts = 0;
    CU_ASSERT_EQUAL(sm_registry_open(&c, &r, &err), SM_ERR_USAGE);
    c.max_attempts = 3;
    c.timeout_ms = 0;
    CU_ASSERT_EQUAL(sm_registry_open(&c, &r, &err), SM_ERR_USAGE);
    c.timeout_ms = 1000;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(sm_registry_url(r), "http://localhost");
    sm_registry_free(r);
    c.url = "http://[::1]:8081/base//";
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(sm_registry_url(r), "http://[::1]:8081/base");
    sm_registry_free(r);
    sm_registry_free(NULL);
}

/* A one-shot raw server: accepts one connection, keeps the request, writes `answer`, closes. */
typedef struct raw_server {
    int fd, port;
    const char *answer;
    char request[4096];
    pthread_t thread;
} raw_server;

static void *raw_serve(void *p)
{
    raw_server *s = p;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) {
        return NULL;
    }
    size_t n = 0;
    for (int i = 0; i < 100 && n < sizeof s->request - 1; i++) {
        ssize_t k = recv(c, s->request + n, sizeof s->request - 1 - n, 0);
        if (k <= 0) {
            break;
        }
        n += (size_t)k;
        s->request[n] = '\0';
        if (strstr(s->request, "\r\n\r\n")) {
            break;
        }
    }
    size_t len = strlen(s->answer), off = 0;
    while (off < len) {
        ssize_t k = send(c, s->answer + off, len - off, MSG_NOSIGNAL);
        if (k <= 0) {
            break;
        }
        off += (size_t)k;
    }
    close(c);
    return NULL;
}

static bool raw_start(raw_server *s, const char *answer)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    memset(s, 0, sizeof *s);
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->fd, 4) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&sa, &sl) != 0) {
        return false;
    }
    s->port = ntohs(sa.sin_port);
    return pthread_create(&s->thread, NULL, raw_serve, s) == 0;
}

/* One fetch of id 1 against a raw server answering `answer`; returns the code. */
static int raw_fetch(const char *answer, const char *auth, raw_server *s, char **text,
                     sm_error *err)
{
    char url[128];
    sm_registry_conf c;
    sm_registry *r;
    size_t len;
    CU_ASSERT_FATAL(raw_start(s, answer));
    sm_registry_conf_default(&c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/base/", s->port);
    c.url = url;
    c.basic_auth = auth;
    c.timeout_ms = 2000;
    c.max_attempts = 1;
    CU_ASSERT_EQUAL_FATAL(sm_registry_open(&c, &r, err), SM_OK);
    *text = NULL;
    int rc = sm_registry_fetch(r, 1, text, &len, err);
    CU_ASSERT(rc != SM_OK || strlen(*text) == len);
    sm_registry_free(r);
    pthread_join(s->thread, NULL);
    close(s->fd);
    return rc;
}

static void test_registry_http_framing(void)
{
    raw_server s;
    sm_error err;
    char *text;
    /* the request; read-to-close body; bare LF line ends */
    CU_ASSERT_EQUAL(raw_fetch("HTTP/1.0 200 OK\nContent-Type: application/json\n\n"
                              "{\"schema\":\"\\\"int\\\"\"}",
                              "user:pass", &s, &text, &err),
                    SM_OK);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "\"int\"");
    free(text);
    char want[256];
    snprintf(want, sizeof want, "GET /base/schemas/ids/1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
             s.port);
    CU_ASSERT_NSTRING_EQUAL(s.request, want, strlen(want));
    CU_ASSERT(strstr(s.request, "\r\nAccept: application/vnd.schemaregistry.v1+json, "
                                "application/json\r\n") != NULL);
    CU_ASSERT(strstr(s.request, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n") != NULL);
    CU_ASSERT(strstr(s.request, "\r\nConnection: close\r\n\r\n") != NULL);

    /* chunked with an extension and a trailer, in odd pieces */
    CU_ASSERT_EQUAL(raw_fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5;ext=1\r\n{\"sch\r\n"
                              "E\r\nema\":\"\\\"long\\\"\r\n"
                              "2\r\n\"}\r\n0\r\nX-Trailer: t\r\n\r\n",
                              NULL, &s, &text, &err),
                    SM_OK);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "\"long\"");
    CU_ASSERT(strstr(s.request, "Authorization") == NULL);
    free(text);

    /* chunked over the bound */
    CU_ASSERT_EQUAL(raw_fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "7fffffff\r\nxx\r\n\r\n",
                              NULL, &s, &text, &err),
                    SM_ERR_NOMEM);
    /* not HTTP, a cut body, a cut header, a bad chunk */
    CU_ASSERT_EQUAL(raw_fetch("SSH-2.0-OpenSSH\r\n\r\n", NULL, &s, &text, &err), SM_ERR_IO);
    CU_ASSERT(strstr(err.msg, "not an HTTP response") != NULL);
    CU_ASSERT_EQUAL(
        raw_fetch("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"sch", NULL, &s, &text, &err),
        SM_ERR_IO);
    CU_ASSERT(err.retriable);
    CU_ASSERT(strstr(err.msg, "closed in the middle") != NULL);
    CU_ASSERT_EQUAL(raw_fetch("HTTP/1.1 200 OK\r\nContent-Len", NULL, &s, &text, &err), SM_ERR_IO);
    CU_ASSERT(strstr(err.msg, "header") != NULL);
    CU_ASSERT_EQUAL(raw_fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "zz\r\n\r\n",
                              NULL, &s, &text, &err),
                    SM_ERR_IO);
    CU_ASSERT(strstr(err.msg, "chunk") != NULL);
    CU_ASSERT_EQUAL(
        raw_fetch("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", NULL, &s, &text, &err),
        SM_ERR_IO);
    CU_ASSERT(strstr(err.msg, "Content-Length") != NULL);
    /* other 4xx: not retried, not cached */
    CU_ASSERT_EQUAL(
        raw_fetch("HTTP/1.1 422 Unprocessable\r\nContent-Length: 0\r\n\r\n", NULL, &s, &text, &err),
        SM_ERR_IO);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT(strstr(err.msg, "HTTP 422") != NULL);
}

typedef struct hammer_arg {
    sm_registry *r;
    int ok;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    for (int i = 0; i < 50; i++) {
        char *text = NULL;
        size_t len;
        sm_error err;
        int32_t id = i % 2 ? 1 : 42;
        int rc = sm_registry_fetch(a->r, id, &text, &len, &err);
        a->ok += id == 1 ? rc == SM_OK && len == strlen(g_orders) : rc == SM_REGISTRY_NOT_FOUND;
        free(text);
    }
    return NULL;
}

static void test_registry_shared_by_threads(void)
{
    sm_registry *r = open_at("", NULL, 2000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    pthread_t t[4];
    hammer_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i].r = r, a[i].ok = 0;
        CU_ASSERT_FATAL(pthread_create(&t[i], NULL, hammer, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(a[i].ok, 50);
    }
    /* at most one request per thread and id raced past the cache */
    CU_ASSERT(sm_registry_requests(r) >= 2 && sm_registry_requests(r) <= 8);
    sm_registry_free(r);
}

/* The registry as the Avro decoder's fetch hook: a Confluent-framed orders message with id 1. */
static void put_str(sm_buf *b, const char *s)
{
    size_t n = strlen(s);
    CU_ASSERT_FATAL(n < 64);
    sm_buf_append_byte(b, (uint8_t)(2 * n), NULL); /* zigzag varint, one byte */
    sm_buf_append(b, s, n, NULL);
}

static void test_registry_plugs_into_avro_decoder(void)
{
    sm_error err;
    sm_avro_error why;
    sm_registry *r = open_at("/registry", NULL, 2000, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    sm_arena *a = sm_arena_create(0, 0);
    sm_avsc *reader;
    CU_ASSERT_EQUAL_FATAL(
        sm_avsc_parse(g_orders, strlen(g_orders), "orders.avsc", a, &reader, &err), SM_OK);
    sm_avro_opts o;
    sm_avro_opts_default(&o);
    o.fetch = sm_registry_fetch;
    o.fetch_ctx = r;
    sm_avro_decoder *d;
    CU_ASSERT_EQUAL_FATAL(sm_avro_decoder_new(reader, &o, &d, &err), SM_OK);
    sm_column *batch = sm_column_new(a, reader->root, 4);

    sm_buf m = SM_BUF_INIT;
    const uint8_t frame[] = {0, 0, 0, 0, 1};
    sm_buf_append(&m, frame, 5, NULL);
    sm_buf_append_byte(&m, 2, NULL); /* order_id: union branch 1 (string) */
    put_str(&m, "o-0000000000000001");
    put_str(&m, "C0000007");
    put_str(&m, "P00042");
    put_str(&m, "books");
    sm_buf_append_byte(&m, 6, NULL); /* quantity 3 */
    double price = 12.5;
    uint8_t pb[8];
    memcpy(pb, &price, 8); /* little-endian host */
    sm_buf_append(&m, pb, 8, NULL);
    /* order_ts 1700000000000 ms: zigzag 3400000000000 as a varint */
    uint64_t z = 3400000000000ull;
    for (int i = 0; i < 10 && z; i++) {
        sm_buf_append_byte(&m, (uint8_t)((z & 0x7f) | (z > 0x7f ? 0x80 : 0)), NULL);
        z >>= 7;
    }
    put_str(&m, "paid");
    put_str(&m, "mobile");
    put_str(&m, "DE");
    sm_buf_append_byte(&m, 0, NULL); /* coupon: null */

    CU_ASSERT_EQUAL(sm_avro_decode(d, m.data, m.len, a, batch, &why), SM_OK);
    CU_ASSERT_EQUAL(sm_avro_decode(d, m.data, m.len, a, batch, &why), SM_OK);
    CU_ASSERT_EQUAL(batch->length, 2);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 1);
    sm_buf row = SM_BUF_INIT;
    CU_ASSERT_EQUAL(json_row_append(batch, 0, &row, &err), SM_OK);
    sm_buf_append_byte(&row, 0, NULL);
    const char *s = (const char *)row.data;
    CU_ASSERT(strstr(s, "\"order_id\":\"o-0000000000000001\"") != NULL);
    CU_ASSERT(strstr(s, "\"customer_id\":\"C0000007\"") != NULL);
    CU_ASSERT(strstr(s, "\"quantity\":3") != NULL);
    CU_ASSERT(strstr(s, "\"price\":12.5") != NULL);
    CU_ASSERT(strstr(s, "\"order_ts\":\"2023-11-14T22:13:20.000") != NULL);
    CU_ASSERT(strstr(s, "\"country\":\"DE\"") != NULL);
    CU_ASSERT(strstr(s, "\"coupon\":null") != NULL);
    if (!strstr(s, "\"order_ts\":\"2023-11-14T22:13:20.000")) {
        printf("\nrow: %s\n", s);
    }
    sm_buf_free(&row);

    /* an unknown id: unknown_schema, and the registry is asked once */
    m.data[4] = 9;
    CU_ASSERT_EQUAL(sm_avro_decode(d, m.data, m.len, a, batch, &why), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(why.reason, SM_AVRO_UNKNOWN_SCHEMA);
    CU_ASSERT_STRING_EQUAL(sm_avro_reason_name(why.reason), "unknown_schema");
    CU_ASSERT_EQUAL(sm_avro_decode(d, m.data, m.len, a, batch, &why), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(why.reason, SM_AVRO_UNKNOWN_SCHEMA);
    CU_ASSERT_EQUAL(batch->length, 2);
    CU_ASSERT_EQUAL(sm_registry_requests(r), 2);

    sm_buf_free(&m);
    sm_avro_decoder_free(d);
    sm_arena_destroy(a);
    sm_registry_free(r);
}

static CU_TestInfo tests[] = {
    {"registry_fetch_caches_the_schema", test_registry_fetch_caches_the_schema},
    {"registry_base_path_and_chunked", test_registry_base_path_and_chunked},
    {"registry_unknown_id_is_remembered", test_registry_unknown_id_is_remembered},
    {"registry_retries_5xx_bounded", test_registry_retries_5xx_bounded},
    {"registry_refused_connection_retried", test_registry_refused_connection_retried},
    {"registry_auth", test_registry_auth},
    {"registry_timeout_bounded", test_registry_timeout_bounded},
    {"registry_bad_answers", test_registry_bad_answers},
    {"registry_open_refuses_bad_urls", test_registry_open_refuses_bad_urls},
    {"registry_http_framing", test_registry_http_framing},
    {"registry_shared_by_threads", test_registry_shared_by_threads},
    {"registry_plugs_into_avro_decoder", test_registry_plugs_into_avro_decoder},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("registry", suite_setup, suite_teardown, tests)
