/*
 * Logging — see core/log.h.
 *
 * A line is built whole in memory and written with one write(2) under a mutex, so lines from
 * different threads never interleave, and lines up to PIPE_BUF stay whole also when the stream
 * is a pipe shared with other processes.
 *
 * JSON lines must stay JSON whatever a message holds: bytes that are not UTF-8 (a Kafka key,
 * a broken payload quoted in a message) are replaced with U+FFFD before they reach jansson,
 * which would otherwise refuse the whole string.
 *
 * The configuration is the one process-wide setting (log.h): written by sm_log_setup() before
 * threads start, only read afterwards.
 */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static struct {
    sm_log_level level;
    sm_log_format format; /* as configured; AUTO is resolved per line */
    FILE *stream;         /* NULL = stderr */
} log_conf = {SM_LOG_INFO, SM_LOG_AUTO, NULL};

static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

void sm_log_setup(sm_log_level level, sm_log_format format, FILE *stream)
{
    if ((unsigned)level > SM_LOG_DEBUG) {
        level = SM_LOG_DEBUG;
    }
    log_conf.level = level;
    log_conf.stream = stream;
    log_conf.format = format;
    if (format == SM_LOG_AUTO) {
        log_conf.format = sm_log_is_human() ? SM_LOG_HUMAN : SM_LOG_JSON;
    }
}

int sm_log_level_parse(const char *s, sm_log_level *out)
{
    if (!s) {
        return -1;
    }
    for (int i = 0; i <= SM_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (sm_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = SM_LOG_WARN;
        return 0;
    }
    return -1;
}

int sm_log_format_parse(const char *s, sm_log_format *out)
{
    static const char *const names[] = {"auto", "human", "json"};
    if (!s) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (sm_log_format)i;
            return 0;
        }
    }
    return -1;
}

static FILE *log_stream(void)
{
    return log_conf.stream ? log_conf.stream : stderr;
}

bool sm_log_is_human(void)
{
    if (log_conf.format != SM_LOG_AUTO) {
        return log_conf.format == SM_LOG_HUMAN;
    }
    int fd = fileno(log_stream());
    return fd >= 0 && isatty(fd);
}

bool sm_log_enabled(sm_log_level level)
{
    /* Unsigned, so that a level outside the enum is never enabled (and never indexes). */
    return (unsigned)level <= (unsigned)log_conf.level;
}

/* --- a small growable buffer; on allocation failure it keeps what fits and stops growing */

typedef struct line_buf {
    char *data;
    size_t len, cap;
    char stack[1024];
} line_buf;

static void lb_init(line_buf *b)
{
    b->data = b->stack;
    b->len = 0;
    b->cap = sizeof b->stack;
    b->data[0] = '\0';
}

static void lb_free(line_buf *b)
{
    if (b->data != b->stack) {
        free(b->data);
    }
}

static bool lb_reserve(line_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) {
        return true;
    }
    size_t cap = b->cap * 2;
    while (cap < b->len + extra + 1) {
        cap *= 2;
    }
    char *p = b->data == b->stack ? malloc(cap) : realloc(b->data, cap);
    if (!p) {
        return false;
    }
    if (b->data == b->stack) {
        memcpy(p, b->stack, b->len + 1);
    }
    b->data = p;
    b->cap = cap;
    return true;
}

static void lb_append(line_buf *b, const char *s, size_t n)
{
    if (!lb_reserve(b, n)) {
        n = b->cap - b->len - 1;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void lb_puts(line_buf *b, const char *s)
{
    lb_append(b, s, strlen(s));
}

static void lb_vprintf(line_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (lb_reserve(b, (size_t)n)) {
            vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
        } else {
            n = (int)(b->cap - b->len - 1); /* keep the truncated text */
        }
    }
    va_end(ap2);
    b->len += (size_t)n;
}

static void lb_printf(line_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_printf(line_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not valid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0; /* overlong, out of range, or a surrogate */
    }
    return len;
}

/* A JSON string of s with invalid UTF-8 replaced by U+FFFD. New reference or NULL. */
static json_t *json_text(const char *s)
{
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (l == 0) {
            break;
        }
        i += l;
    }
    if (i == n) {
        return json_stringn(s, n);
    }
    line_buf b;
    lb_init(&b);
    lb_append(&b, s, i);
    while (i < n) {
        size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (l == 0) {
            lb_puts(&b, "\xEF\xBF\xBD");
            i++;
        } else {
            lb_append(&b, s + i, l);
            i += l;
        }
    }
    json_t *j = json_stringn(b.data, b.len);
    lb_free(&b);
    return j;
}

static bool is_reserved_key(const char *key)
{
    return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "component") == 0 ||
           strcmp(key, "msg") == 0;
}

static void build_json(line_buf *b, int64_t now_ms, sm_log_level level, const char *component,
                       const char *msg, json_t *fields)
{
    char ts[32];
    sm_format_iso8601_ms(now_ms, ts, sizeof ts);
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[level]));
        if (component) {
            json_object_set_new(o, "component", json_text(component));
        }
        json_object_set_new(o, "msg", json_text(msg));
        if (json_is_object(fields)) {
            const char *key;
            json_t *value;
            json_object_foreach(fields, key, value)
            {
                if (!is_reserved_key(key)) {
                    json_object_set(o, key, value);
                }
            }
        }
    }
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text) {
        lb_puts(b, text);
        free(text);
    } else {
        /* Out of memory: still say something, as valid JSON with what is known to be safe. */
        lb_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"(log line lost: out of memory)\"}",
                  ts, level_names[level]);
    }
    lb_puts(b, "\n");
}

/* A field value as shown on a terminal: strings bare unless they need quotes, else JSON. */
static void append_human_value(line_buf *b, json_t *value)
{
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        bool plain = *s != '\0';
        for (const char *p = s; *p && plain; p++) {
            plain = *p != ' ' && *p != '"' && *p != '=' && (unsigned char)*p >= 0x20;
        }
        if (plain) {
            lb_puts(b, s);
            return;
        }
    }
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    lb_puts(b, text ? text : "?");
    free(text);
}

static void build_human(line_buf *b, int64_t now_ms, sm_log_level level, const char *component,
                        const char *msg, json_t *fields)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    lb_printf(b, "%02d:%02d:%02d.%03d %s ", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000),
              level_tags[level]);
    if (component) {
        lb_printf(b, "%s: ", component);
    }
    lb_puts(b, msg);
    if (json_is_object(fields)) {
        const char *key;
        json_t *value;
        json_object_foreach(fields, key, value)
        {
            lb_printf(b, " %s=", key);
            append_human_value(b, value);
        }
    }
    lb_puts(b, "\n");
}

/* One write(2) for the line, after anything the stream still buffers; stdio would cut a long
 * line at its buffer size. Streams without a descriptor (memory streams) go through stdio.
 * @locks log_mtx held */
static void write_line(FILE *out, const char *data, size_t len)
{
    int fd = fileno(out);
    if (fd < 0) {
        fwrite(data, 1, len, out);
        fflush(out);
        return;
    }
    fflush(out);
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a failing log */
        }
        data += n;
        len -= (size_t)n;
    }
}

static void emit(sm_log_level level, const char *component, const char *msg, json_t *fields)
{
    int64_t now_ms = sm_wall_ms();
    line_buf b;
    lb_init(&b);
    if (sm_log_is_human()) {
        build_human(&b, now_ms, level, component, msg, fields);
    } else {
        build_json(&b, now_ms, level, component, msg, fields);
    }
    pthread_mutex_lock(&log_mtx);
    write_line(log_stream(), b.data, b.len);
    pthread_mutex_unlock(&log_mtx);
    lb_free(&b);
}

void sm_log(sm_log_level level, const char *component, const char *fmt, ...)
{
    if (!sm_log_enabled(level)) {
        return;
    }
    line_buf msg;
    lb_init(&msg);
    va_list ap;
    va_start(ap, fmt);
    lb_vprintf(&msg, fmt, ap);
    va_end(ap);
    emit(level, component, msg.data, NULL);
    lb_free(&msg);
}

void sm_log_fields(sm_log_level level, const char *component, json_t *fields, const char *msg)
{
    if (!sm_log_enabled(level)) {
        return;
    }
    emit(level, component, msg ? msg : "", fields);
}
