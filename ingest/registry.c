/*
 * ingest/registry.c: Confluent Schema Registry REST client (GET /schemas/ids/<id>).
 *
 * One request is: resolve (getaddrinfo), non-blocking connect to each address in turn, send the
 * GET, read until the response is complete (Content-Length, chunked, or close), all under one
 * deadline polled with poll(2). The response is parsed into a status and a body; the body of a
 * 200 is {"schema": "...", "schemaType": "AVRO"?}.
 *
 * DESIGN: the cache only holds answers that cannot change: a schema under its id forever, a 404
 * or a non-Avro schema for negative_ttl_ms (the id may be registered later). Failures that may
 * pass are retried here a bounded number of times and then returned, never cached. The mutex
 * is never held across I/O.
 */
#include "ingest/registry.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"

#define MAX_HEADER_BYTES (64u << 10)

typedef struct reg_ent {
    int32_t id;
    char *text; /* the schema; NULL for a negative entry */
    size_t len;
    int64_t expires_ns; /* negative entries: sm_mono_ns() after which the id is asked again */
    int code;           /* negative entries: the code and message to repeat */
    char *msg;
} reg_ent;

struct sm_registry {
    char *url;  /* shown in messages: scheme, host, port, base; no userinfo */
    char *host; /* for getaddrinfo: no brackets */
    char *host_header;
    char port[8];
    char *base;        /* "" or "/base/path", no trailing '/' */
    char *auth_header; /* "Basic <base64>" or NULL */
    int64_t timeout_ms;
    int max_attempts;
    int64_t backoff_ms;
    int64_t negative_ttl_ms;

    pthread_mutex_t mtx; /* guards everything below */
    reg_ent *ents;
    size_t n_ents, cap_ents;
    uint64_t requests;
};

void sm_registry_conf_default(sm_registry_conf *c)
{
    memset(c, 0, sizeof *c);
    c->timeout_ms = 10000;
    c->max_attempts = 3;
    c->backoff_ms = 100;
    c->negative_ttl_ms = 30000;
}

/* ---- configuration ------------------------------------------------------------------------ */

static char *base64(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), j = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out) {
        return NULL;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(uint8_t)s[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)(uint8_t)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (uint8_t)s[i + 2];
        }
        out[j++] = tab[(v >> 18) & 63];
        out[j++] = tab[(v >> 12) & 63];
        out[j++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[j++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[j] = '\0';
    return out;
}

static bool has_bad_char(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Fills host/port/base/url of r from `url`; *userinfo_out is a malloc'ed "user:pass" or NULL. */
static int parse_url(sm_registry *r, const char *url, char **userinfo_out, sm_error *err)
{
    *userinfo_out = NULL;
    if (!url || !*url) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry: no URL (want http://host[:port][/base/path])");
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry %.200s: https is not supported (no TLS in smelter); "
                            "put a local TLS-terminating proxy in front of the registry and use "
                            "its http:// URL, or use a registry directory of <id>.avsc files",
                            url);
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry URL '%.200s': want http://host[:port][/base/path]",
                            url);
    }
    const char *auth = url + 7;
    if (has_bad_char(auth, strlen(auth))) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry URL '%.200s': spaces or control characters", url);
    }
    if (strpbrk(auth, "?#")) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry URL '%.200s': no query or fragment allowed; "
                            "want http://host[:port][/base/path]",
                            url);
    }
    const char *slash = strchr(auth, '/');
    const char *auth_end = slash ? slash : auth + strlen(auth);
    const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
    const char *hp = auth;
    if (at) {
        const char *last_at = at;
        for (const char *p = at + 1; p < auth_end; p++) {
            if (*p == '@') {
                last_at = p;
            }
        }
        at = last_at;
        if (!(*userinfo_out = strndup(auth, (size_t)(at - auth)))) {
            return sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
        }
        hp = at + 1;
    }
    /* url for messages: http:// + host[:port] + base, never the userinfo */
    const char *host_start = hp, *host_end, *port_start = NULL;
    if (*hp == '[') {
        const char *close = memchr(hp, ']', (size_t)(auth_end - hp));
        if (!close || close == hp + 1) {
            goto bad_host;
        }
        host_start = hp + 1;
        host_end = close;
        if (close + 1 < auth_end) {
            if (close[1] != ':') {
                goto bad_host;
            }
            port_start = close + 2;
        }
    } else {
        const char *colon = memchr(hp, ':', (size_t)(auth_end - hp));
        host_end = colon ? colon : auth_end;
        port_start = colon ? colon + 1 : NULL;
        if (host_end == host_start) {
            goto bad_host;
        }
    }
    long port = 80;
    if (port_start) {
        char *end;
        if (port_start == auth_end || !isdigit((unsigned char)*port_start)) {
            goto bad_port;
        }
        errno = 0;
        port = strtol(port_start, &end, 10);
        if (end != auth_end || errno || port < 1 || port > 65535) {
            goto bad_port;
        }
    }
    snprintf(r->port, sizeof r->port, "%ld", port);
    r->host = strndup(host_start, (size_t)(host_end - host_start));
    r->host_header = strndup(hp, (size_t)(auth_end - hp));
    size_t base_len = slash ? strlen(slash) : 0;
    while (base_len > 0 && slash[base_len - 1] == '/') {
        base_len--;
    }
    r->base = strndup(slash ? slash : "", base_len);
    size_t ulen = 7 + strlen(r->host_header) + base_len + 1;
    r->url = malloc(ulen);
    if (!r->host || !r->host_header || !r->base || !r->url) {
        return sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
    }
    snprintf(r->url, ulen, "http://%s%s", r->host_header, r->base);
    return SM_OK;
bad_host:
    return sm_error_set(err, SM_ERR_USAGE,
                        "schema registry URL 'http://%.*s': missing or bad host; "
                        "want http://host[:port][/base/path]",
                        (int)(auth_end - hp), hp);
bad_port:
    return sm_error_set(err, SM_ERR_USAGE,
                        "schema registry URL 'http://%.*s': bad port (want 1..65535)",
                        (int)(auth_end - hp), hp);
}

int sm_registry_open(const sm_registry_conf *c, sm_registry **out, sm_error *err)
{
    char *userinfo = NULL;
    *out = NULL;
    if (c->timeout_ms < 1 || c->timeout_ms > 3600000) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry: timeout_ms %lld out of range (1 .. 3600000)",
                            (long long)c->timeout_ms);
    }
    if (c->max_attempts < 1 || c->max_attempts > 100) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry: max_attempts %d out of range (1 .. 100)",
                            c->max_attempts);
    }
    if (c->backoff_ms < 0 || c->backoff_ms > SM_REGISTRY_BACKOFF_CAP_MS || c->negative_ttl_ms < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "schema registry: backoff_ms %lld (0 .. %d) or negative_ttl_ms %lld "
                            "(>= 0) out of range",
                            (long long)c->backoff_ms, SM_REGISTRY_BACKOFF_CAP_MS,
                            (long long)c->negative_ttl_ms);
    }
    sm_registry *r = calloc(1, sizeof *r);
    if (!r) {
        return sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
    }
    if (pthread_mutex_init(&r->mtx, NULL) != 0) {
        free(r);
        return sm_error_set(err, SM_ERR_NOMEM, "schema registry: cannot create a mutex");
    }
    r->timeout_ms = c->timeout_ms;
    r->max_attempts = c->max_attempts;
    r->backoff_ms = c->backoff_ms;
    r->negative_ttl_ms = c->negative_ttl_ms;
    int rc = parse_url(r, c->url, &userinfo, err);
    if (rc != SM_OK) {
        goto fail;
    }
    const char *cred = c->basic_auth ? c->basic_auth : userinfo;
    if (cred) {
        if (!strchr(cred, ':')) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "schema registry %s: basic auth must be \"user:pass\" "
                              "(Confluent's basic.auth.user.info)",
                              r->url);
            goto fail;
        }
        if (strpbrk(cred, "\r\n")) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "schema registry %s: basic auth contains a line break", r->url);
            goto fail;
        }
        char *b64 = base64(cred);
        size_t n = b64 ? strlen(b64) + 7 : 0;
        r->auth_header = b64 ? malloc(n) : NULL;
        if (!r->auth_header) {
            free(b64);
            rc = sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
            goto fail;
        }
        snprintf(r->auth_header, n, "Basic %s", b64);
        free(b64);
    }
    free(userinfo);
    *out = r;
    return SM_OK;
fail:
    free(userinfo);
    sm_registry_free(r);
    return rc;
}

void sm_registry_free(sm_registry *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->n_ents; i++) {
        free(r->ents[i].text);
        free(r->ents[i].msg);
    }
    free(r->ents);
    free(r->url);
    free(r->host);
    free(r->host_header);
    free(r->base);
    free(r->auth_header);
    pthread_mutex_destroy(&r->mtx);
    free(r);
}

const char *sm_registry_url(const sm_registry *r)
{
    return r->url;
}

uint64_t sm_registry_requests(sm_registry *r)
{
    pthread_mutex_lock(&r->mtx);
    uint64_t n = r->requests;
    pthread_mutex_unlock(&r->mtx);
    return n;
}

/* ---- one HTTP request --------------------------------------------------------------------- */

typedef struct http_resp {
    int status;
    sm_buf raw;      /* everything received */
    size_t body_off; /* start of the body in raw (after the blank line) */
    bool chunked;
    int64_t content_length; /* -1: none */
    char *body;             /* decoded body, malloc'ed, NUL-terminated */
    size_t body_len;
} http_resp;

static int64_t ms_left(int64_t deadline_ns)
{
    int64_t left = (deadline_ns - sm_mono_ns()) / 1000000;
    return left < 0 ? 0 : left;
}

/* Waits for `events` on fd until the deadline. SM_OK, SM_ERR_TIMEOUT or SM_ERR_IO. */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (int spins = 0; spins < 1000000; spins++) {
        int64_t left = ms_left(deadline_ns);
        if (left == 0) {
            return SM_ERR_TIMEOUT;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) {
            return SM_OK;
        }
        if (n < 0 && errno != EINTR) {
            return SM_ERR_IO;
        }
    }
    return SM_ERR_TIMEOUT;
}

/* Connects to host:port before the deadline. Returns the socket, or -1 with err set. */
static int http_connect(sm_registry *r, int64_t deadline_ns, sm_error *err)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(r->host, r->port, &hints, &res);
    if (gai != 0) {
        sm_error_set(err, SM_ERR_IO, "cannot resolve host '%s': %s", r->host, gai_strerror(gai));
        err->retriable = gai == EAI_AGAIN;
        return -1;
    }
    int last_errno = 0;
    bool timed_out = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        if (errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline_ns);
            if (w == SM_OK) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                    freeaddrinfo(res);
                    return fd;
                }
                last_errno = soerr ? soerr : errno;
            } else if (w == SM_ERR_TIMEOUT) {
                timed_out = true;
                close(fd);
                break;
            } else {
                last_errno = errno;
            }
        } else {
            last_errno = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (timed_out) {
        sm_error_set(err, SM_ERR_TIMEOUT, "connect timed out after %lld ms",
                     (long long)r->timeout_ms);
        err->retriable = true;
    } else {
        sm_error_sys(err, SM_ERR_IO, last_errno, "cannot connect");
        err->retriable = true; /* refused, unreachable, reset: the registry may come back */
    }
    return -1;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline_ns, sm_error *err)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(fd, POLLOUT, deadline_ns);
            if (w == SM_OK) {
                continue;
            }
            if (w == SM_ERR_TIMEOUT) {
                sm_error_set(err, w, "sending the request timed out");
            } else {
                sm_error_sys(err, w, errno, "waiting to send the request");
            }
            err->retriable = true;
            return w;
        }
        sm_error_sys(err, SM_ERR_IO, errno, "sending the request");
        err->retriable = true;
        return SM_ERR_IO;
    }
    return SM_OK;
}

/* Case-insensitive search of `needle` within [s, s+n). */
static const char *memcasemem(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        if (strncasecmp(s + i, needle, m) == 0) {
            return s + i;
        }
    }
    return NULL;
}

/* Parses the status line and headers once the blank line is in raw. SM_OK or SM_ERR_IO. */
static int parse_head(http_resp *h, size_t head_len, sm_error *err)
{
    const char *s = (const char *)h->raw.data;
    const char *end = s + head_len;
    int st = 0;
    /* "HTTP/1.1 200 OK": the version, one space, three digits */
    const char *sp = head_len > 5 && strncmp(s, "HTTP/", 5) == 0 ? memchr(s, ' ', head_len) : NULL;
    if (sp && sp + 4 <= end && isdigit((unsigned char)sp[1]) && isdigit((unsigned char)sp[2]) &&
        isdigit((unsigned char)sp[3])) {
        st = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    }
    if (st < 100 || st > 599) {
        size_t n = strcspn(s, "\r\n");
        return sm_error_set(err, SM_ERR_IO, "not an HTTP response (first line '%.*s')",
                            (int)(n > 60 ? 60 : n), s);
    }
    h->status = st;
    h->content_length = -1;
    const char *line = memchr(s, '\n', head_len);
    for (int guard = 0; line && line + 1 < end && guard < 10000; guard++) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) {
            break;
        }
        size_t n = (size_t)(eol - line);
        if (n >= 15 && strncasecmp(line, "content-length:", 15) == 0) {
            char *e;
            const char *v = line + 15;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            errno = 0;
            long long cl = strtoll(v, &e, 10);
            if (e == v || errno || cl < 0) {
                return sm_error_set(err, SM_ERR_IO, "bad Content-Length '%.*s'",
                                    (int)(n > 40 ? 40 : n), line);
            }
            h->content_length = cl;
        } else if (n >= 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
            h->chunked = memcasemem(line, n, "chunked") != NULL;
        }
        line = eol;
    }
    return SM_OK;
}

/* Decodes a chunked body from raw[body_off..]. Returns 1 when complete (h->body set), 0 when
 * more bytes are needed, -1 (err set) when it is malformed or over the limit. */
static int dechunk(http_resp *h, sm_error *err)
{
    const char *p = (const char *)h->raw.data + h->body_off;
    const char *end = (const char *)h->raw.data + h->raw.len;
    sm_buf out = SM_BUF_INIT;
    for (int guard = 0; guard < 1 << 22; guard++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) {
            sm_buf_free(&out);
            return 0;
        }
        char *e;
        errno = 0;
        unsigned long long n = strtoull(p, &e, 16);
        if (e == p || errno || (*e != ';' && *e != '\r' && *e != '\n')) {
            sm_buf_free(&out);
            sm_error_set(err, SM_ERR_IO, "bad chunk size line in a chunked response");
            return -1;
        }
        if (n > SM_REGISTRY_MAX_BODY || out.len + n > SM_REGISTRY_MAX_BODY) {
            sm_buf_free(&out);
            sm_error_set(err, SM_ERR_NOMEM, "response body over %u bytes", SM_REGISTRY_MAX_BODY);
            return -1;
        }
        p = eol + 1;
        if (n == 0) {
            /* trailers end with an empty line */
            for (int t = 0; t < 1000; t++) {
                const char *tl = memchr(p, '\n', (size_t)(end - p));
                if (!tl) {
                    sm_buf_free(&out);
                    return 0;
                }
                bool empty = tl == p || (tl == p + 1 && *p == '\r');
                p = tl + 1;
                if (empty) {
                    break;
                }
            }
            if (sm_buf_append_byte(&out, 0, err) != SM_OK) {
                sm_buf_free(&out);
                return -1;
            }
            h->body_len = out.len - 1;
            h->body = (char *)sm_buf_detach(&out, NULL);
            return 1;
        }
        if ((size_t)(end - p) < n + 1) {
            sm_buf_free(&out);
            return 0;
        }
        if (sm_buf_append(&out, p, (size_t)n, err) != SM_OK) {
            sm_buf_free(&out);
            return -1;
        }
        p += n;
        if (*p == '\r') {
            p++;
        }
        if (p >= end) {
            sm_buf_free(&out);
            return 0;
        }
        if (*p != '\n') {
            sm_buf_free(&out);
            sm_error_set(err, SM_ERR_IO, "chunk not followed by CRLF in a chunked response");
            return -1;
        }
        p++;
    }
    sm_buf_free(&out);
    sm_error_set(err, SM_ERR_IO, "too many chunks in a chunked response");
    return -1;
}

static int set_body(http_resp *h, const void *p, size_t n, sm_error *err)
{
    if (!(h->body = malloc(n + 1))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    memcpy(h->body, p, n);
    h->body[n] = '\0';
    h->body_len = n;
    return SM_OK;
}

/* Reads the response until complete. SM_OK with h filled, or an error (retriable set). */
static int read_resp(int fd, http_resp *h, int64_t timeout_ms, int64_t deadline_ns, sm_error *err)
{
    size_t head_len = 0;
    bool eof = false;
    for (size_t guard = 0; guard < ((size_t)1 << 30); guard++) {
        if (!eof) {
            if (sm_buf_reserve(&h->raw, 16385, err) != SM_OK) {
                return SM_ERR_NOMEM;
            }
            ssize_t k = recv(fd, h->raw.data + h->raw.len, 16384, 0);
            if (k > 0) {
                h->raw.len += (size_t)k;
                h->raw.data[h->raw.len] = 0; /* the parsers below may rely on a terminator */
            } else if (k == 0) {
                eof = true;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                int w = wait_fd(fd, POLLIN, deadline_ns);
                if (w != SM_OK) {
                    sm_error_set(err, w, "no complete response within %lld ms",
                                 (long long)timeout_ms);
                    err->retriable = true;
                    return w;
                }
                continue;
            } else {
                sm_error_sys(err, SM_ERR_IO, errno, "reading the response");
                err->retriable = true;
                return SM_ERR_IO;
            }
        }
        if (!head_len) {
            const char *s = (const char *)h->raw.data;
            size_t scan = h->raw.len < MAX_HEADER_BYTES ? h->raw.len : MAX_HEADER_BYTES;
            for (size_t i = 0; i + 1 < scan; i++) {
                if (s[i] == '\n' &&
                    (s[i + 1] == '\n' || (s[i + 1] == '\r' && i + 2 < scan && s[i + 2] == '\n'))) {
                    head_len = i + (s[i + 1] == '\n' ? 2 : 3);
                    break;
                }
            }
            if (!head_len) {
                if (h->raw.len >= MAX_HEADER_BYTES) {
                    return sm_error_set(err, SM_ERR_IO, "response headers over %u bytes",
                                        MAX_HEADER_BYTES);
                }
                if (eof) {
                    sm_error_set(err, SM_ERR_IO,
                                 "connection closed before a complete response "
                                 "header");
                    err->retriable = true;
                    return SM_ERR_IO;
                }
                continue;
            }
            h->body_off = head_len;
            if (parse_head(h, head_len, err) != SM_OK) {
                return SM_ERR_IO;
            }
            if (h->content_length > (int64_t)SM_REGISTRY_MAX_BODY) {
                return sm_error_set(err, SM_ERR_NOMEM,
                                    "HTTP %d with a body of %lld bytes, over the %u byte limit",
                                    h->status, (long long)h->content_length, SM_REGISTRY_MAX_BODY);
            }
        }
        size_t have = h->raw.len - h->body_off;
        if (h->chunked) {
            size_t n = h->raw.len;
            /* a chunked body ends with an empty line: only then try to decode it */
            if (n >= 2 && h->raw.data[n - 1] == '\n' &&
                (h->raw.data[n - 2] == '\n' ||
                 (n >= 3 && h->raw.data[n - 2] == '\r' && h->raw.data[n - 3] == '\n'))) {
                int c = dechunk(h, err);
                if (c != 0) {
                    return c == 1 ? SM_OK : err->code;
                }
            }
            if (have > SM_REGISTRY_MAX_BODY + 65536) {
                return sm_error_set(err, SM_ERR_NOMEM, "response body over %u bytes",
                                    SM_REGISTRY_MAX_BODY);
            }
        } else if (h->content_length >= 0) {
            if (have >= (size_t)h->content_length) {
                return set_body(h, h->raw.data + h->body_off, (size_t)h->content_length, err);
            }
        } else if (have > SM_REGISTRY_MAX_BODY) {
            return sm_error_set(err, SM_ERR_NOMEM, "HTTP %d with a body over the %u byte limit",
                                h->status, SM_REGISTRY_MAX_BODY);
        } else if (eof) {
            return set_body(h, h->raw.data + h->body_off, have, err);
        }
        if (eof) {
            sm_error_set(err, SM_ERR_IO, "connection closed in the middle of the response body");
            err->retriable = true;
            return SM_ERR_IO;
        }
    }
    return sm_error_set(err, SM_ERR_INTERNAL, "response loop did not end");
}

static void resp_free(http_resp *h)
{
    sm_buf_free(&h->raw);
    free(h->body);
    memset(h, 0, sizeof *h);
}

/* One GET of <base><path>: SM_OK with h->status and h->body, or a transport error. */
static int http_get(sm_registry *r, const char *path, http_resp *h, sm_error *err)
{
    int64_t deadline_ns = sm_mono_ns() + r->timeout_ms * 1000000;
    memset(h, 0, sizeof *h);
    pthread_mutex_lock(&r->mtx);
    r->requests++;
    pthread_mutex_unlock(&r->mtx);
    int fd = http_connect(r, deadline_ns, err);
    if (fd < 0) {
        return err ? err->code : SM_ERR_IO;
    }
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET %s%s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "User-Agent: smelter/" SMELTER_VERSION "\r\n"
                     "Accept: application/vnd.schemaregistry.v1+json, application/json\r\n"
                     "%s%s%s"
                     "Connection: close\r\n\r\n",
                     r->base, path, r->host_header, r->auth_header ? "Authorization: " : "",
                     r->auth_header ? r->auth_header : "", r->auth_header ? "\r\n" : "");
    int rc;
    if (n < 0 || (size_t)n >= sizeof req) {
        rc = sm_error_set(err, SM_ERR_USAGE, "request line too long (base path over 3 KiB?)");
    } else if ((rc = send_all(fd, req, (size_t)n, deadline_ns, err)) == SM_OK) {
        rc = read_resp(fd, h, r->timeout_ms, deadline_ns, err);
    }
    close(fd);
    return rc;
}

/* ---- the cache ---------------------------------------------------------------------------- */

/* @locks r->mtx held. Entry of id or NULL; drops an expired negative entry. */
static reg_ent *cache_find(sm_registry *r, int32_t id)
{
    for (size_t i = 0; i < r->n_ents; i++) {
        reg_ent *e = &r->ents[i];
        if (e->id != id) {
            continue;
        }
        if (!e->text && sm_mono_ns() >= e->expires_ns) {
            free(e->msg);
            r->ents[i] = r->ents[--r->n_ents];
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* @locks r->mtx held. Makes room by dropping expired then any negative entries. */
static bool cache_room(sm_registry *r)
{
    if (r->n_ents < SM_REGISTRY_MAX_CACHED) {
        if (r->n_ents == r->cap_ents) {
            size_t cap = r->cap_ents ? 2 * r->cap_ents : 16;
            reg_ent *ne = realloc(r->ents, cap * sizeof *ne);
            if (!ne) {
                return false;
            }
            r->ents = ne;
            r->cap_ents = cap;
        }
        return true;
    }
    int64_t now = sm_mono_ns();
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->n_ents; i++) {
            reg_ent *e = &r->ents[i];
            if (!e->text && (pass == 1 || now >= e->expires_ns)) {
                free(e->msg);
                r->ents[i] = r->ents[--r->n_ents];
                return true;
            }
        }
    }
    return false; /* full of schemas: serve without caching */
}

/* Stores a schema (text taken) or a negative answer (text NULL). Frees text if not kept. */
static void cache_put(sm_registry *r, int32_t id, char *text, size_t len, int code, const char *msg)
{
    pthread_mutex_lock(&r->mtx);
    reg_ent *e = cache_find(r, id);
    if (e || !cache_room(r)) {
        pthread_mutex_unlock(&r->mtx);
        free(text);
        return;
    }
    e = &r->ents[r->n_ents];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->text = text;
    e->len = len;
    if (!text) {
        e->code = code;
        e->msg = strdup(msg);
        e->expires_ns = sm_mono_ns() + r->negative_ttl_ms * 1000000;
        if (!e->msg) {
            pthread_mutex_unlock(&r->mtx);
            return;
        }
    }
    r->n_ents++;
    pthread_mutex_unlock(&r->mtx);
}

/* ---- fetch -------------------------------------------------------------------------------- */

/* Confluent's error body: {"error_code": 40403, "message": "Schema not found"}. */
static void error_body(const http_resp *h, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *j = h->body ? json_loadb(h->body, h->body_len, 0, NULL) : NULL;
    if (json_is_object(j)) {
        json_t *c = json_object_get(j, "error_code");
        json_t *m = json_object_get(j, "message");
        if (json_is_integer(c) || json_is_string(m)) {
            snprintf(out, cap, " (error_code %lld: %.200s)",
                     json_is_integer(c) ? (long long)json_integer_value(c) : 0LL,
                     json_is_string(m) ? json_string_value(m) : "");
        }
    }
    json_decref(j);
}

/* A 200's body → the schema text. SM_OK, SM_ERR_IO (malformed) or SM_ERR_USAGE (not Avro). */
static int parse_schema(sm_registry *r, int32_t id, const http_resp *h, char **text_out,
                        size_t *len_out, sm_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(h->body, h->body_len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return sm_error_set(err, SM_ERR_IO,
                            "schema registry %s: schema id %d: HTTP 200 but the body is not a "
                            "JSON object (%.100s); is the URL a schema registry?",
                            r->url, (int)id, j ? "not an object" : je.text);
    }
    json_t *type = json_object_get(j, "schemaType");
    if (type && !json_is_null(type) &&
        (!json_is_string(type) || strcmp(json_string_value(type), "AVRO") != 0)) {
        int rc = sm_error_set(err, SM_ERR_USAGE,
                              "schema registry %s: schema id %d is a %.20s schema; only Avro "
                              "schemas are fetched from the REST registry",
                              r->url, (int)id,
                              json_is_string(type) ? json_string_value(type) : "non-Avro");
        json_decref(j);
        return rc;
    }
    json_t *s = json_object_get(j, "schema");
    if (!json_is_string(s)) {
        json_decref(j);
        return sm_error_set(err, SM_ERR_IO,
                            "schema registry %s: schema id %d: HTTP 200 but no \"schema\" string "
                            "in the body; is the URL a schema registry?",
                            r->url, (int)id);
    }
    size_t n = json_string_length(s);
    char *t = malloc(n + 1);
    if (!t) {
        json_decref(j);
        return sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
    }
    memcpy(t, json_string_value(s), n);
    t[n] = '\0';
    json_decref(j);
    *text_out = t;
    *len_out = n;
    return SM_OK;
}

typedef enum verdict { V_DONE, V_RETRY } verdict;

/* Classifies one attempt. V_DONE with *rc the fetch's result, or V_RETRY with err set. */
static verdict judge(sm_registry *r, int32_t id, int trc, http_resp *h, char **text_out,
                     size_t *len_out, int *rc, sm_error *err)
{
    char detail[300];
    if (trc != SM_OK) {
        bool retry = err->retriable;
        sm_error_prefix(err, "schema registry %s: schema id %d", r->url, (int)id);
        err->retriable = retry;
        *rc = err->code;
        return retry ? V_RETRY : V_DONE;
    }
    int st = h->status;
    if (st == 200) {
        *rc = parse_schema(r, id, h, text_out, len_out, err);
        if (*rc == SM_ERR_USAGE) {
            cache_put(r, id, NULL, 0, *rc, err->msg);
        }
        return V_DONE;
    }
    error_body(h, detail, sizeof detail);
    if (st == 404) {
        *rc = sm_error_set(err, SM_REGISTRY_NOT_FOUND,
                           "schema registry %s: unknown schema id %d (HTTP 404%s); register the "
                           "schema or check the producer's registry (and the URL's base path)",
                           r->url, (int)id, detail);
        cache_put(r, id, NULL, 0, *rc, err->msg);
        return V_DONE;
    }
    if (st == 401 || st == 403) {
        *rc = sm_error_set(err, SM_ERR_USAGE, "schema registry %s: schema id %d: HTTP %d %s%s; %s",
                           r->url, (int)id, st, st == 401 ? "unauthorized" : "forbidden", detail,
                           r->auth_header ? "check the basic auth user and password"
                                          : "the registry wants credentials: set basic auth "
                                            "(\"user:pass\")");
        return V_DONE;
    }
    *rc = sm_error_set(err, SM_ERR_IO, "schema registry %s: schema id %d: HTTP %d%s", r->url,
                       (int)id, st, detail);
    err->retriable = st >= 500 || st == 408 || st == 429;
    return err->retriable ? V_RETRY : V_DONE;
}

int sm_registry_fetch(void *registry, int32_t id, char **text_out, size_t *len_out, sm_error *err)
{
    sm_registry *r = registry;
    sm_error local;
    if (!err) {
        err = &local;
    }
    sm_error_clear(err);
    pthread_mutex_lock(&r->mtx);
    reg_ent *e = cache_find(r, id);
    if (e && e->text) {
        char *t = malloc(e->len + 1);
        if (t) {
            memcpy(t, e->text, e->len + 1);
            *text_out = t;
            *len_out = e->len;
        }
        pthread_mutex_unlock(&r->mtx);
        return t ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "schema registry: out of memory");
    }
    if (e) {
        int rc = sm_error_set(err, (sm_code)e->code, "%s (remembered)", e->msg);
        pthread_mutex_unlock(&r->mtx);
        return rc;
    }
    pthread_mutex_unlock(&r->mtx);

    char path[48];
    snprintf(path, sizeof path, "/schemas/ids/%d", (int)id);
    int rc = SM_ERR_INTERNAL;
    int64_t wait = r->backoff_ms;
    for (int attempt = 1; attempt <= r->max_attempts; attempt++) {
        http_resp h;
        char *text = NULL;
        size_t len = 0;
        sm_error_clear(err);
        int trc = http_get(r, path, &h, err);
        verdict v = judge(r, id, trc, &h, &text, &len, &rc, err);
        resp_free(&h);
        if (v == V_DONE) {
            if (rc == SM_OK) {
                char *copy = malloc(len + 1);
                if (copy) {
                    memcpy(copy, text, len + 1);
                    cache_put(r, id, copy, len, SM_OK, NULL);
                }
                *text_out = text;
                *len_out = len;
            }
            return rc;
        }
        if (attempt == r->max_attempts) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof err->msg - n,
                     " (%d attempt%s; is the registry up? the next message asks again)", attempt,
                     attempt == 1 ? "" : "s");
            break;
        }
        sm_sleep_ms(wait);
        wait = wait * 2 > SM_REGISTRY_BACKOFF_CAP_MS ? SM_REGISTRY_BACKOFF_CAP_MS : wait * 2;
    }
    return rc;
}
