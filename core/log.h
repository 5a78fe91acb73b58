/*
 * Logging: human lines on a terminal, JSON lines otherwise.
 *
 * Every line goes to stderr in one write, so lines from several threads never interleave.
 *   human: "04:01:02.345 INFO  produce: connected to 127.0.0.1:40123"
 *   json:  {"ts":"2026-11-22T04:01:02.345Z","level":"info","component":"produce",
 *           "msg":"connected to 127.0.0.1:40123"}
 * sm_log_fields() adds structured fields (progress, reports) to the JSON line; on a terminal
 * they are shown as key=value after the message.
 *
 * The logger is the one process-wide setting: it is configured once by main() before any
 * thread starts (sm_log_setup) and only read afterwards. @thread any
 */
#ifndef SM_CORE_LOG_H
#define SM_CORE_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

typedef enum sm_log_level {
    SM_LOG_ERROR = 0,
    SM_LOG_WARN,
    SM_LOG_INFO,
    SM_LOG_DEBUG,
} sm_log_level;

typedef enum sm_log_format {
    SM_LOG_AUTO = 0, /* human if the stream is a terminal, json otherwise */
    SM_LOG_HUMAN,
    SM_LOG_JSON,
} sm_log_format;

/* Configures the logger. `stream` is borrowed (NULL = stderr). Call before threads start. */
void sm_log_setup(sm_log_level level, sm_log_format format, FILE *stream);

/* Parses "error|warn|info|debug" and "auto|human|json". Return 0, or -1 if unknown. */
int sm_log_level_parse(const char *s, sm_log_level *out);
int sm_log_format_parse(const char *s, sm_log_format *out);

/* True when the logger writes human lines (so live progress lines may be drawn). */
bool sm_log_is_human(void);
bool sm_log_enabled(sm_log_level level);

void sm_log(sm_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs msg plus the members of `fields` (an object; borrowed, may be NULL). */
void sm_log_fields(sm_log_level level, const char *component, json_t *fields, const char *msg);

#define sm_log_error(comp, ...) sm_log(SM_LOG_ERROR, comp, __VA_ARGS__)
#define sm_log_warn(comp, ...)  sm_log(SM_LOG_WARN, comp, __VA_ARGS__)
#define sm_log_info(comp, ...)  sm_log(SM_LOG_INFO, comp, __VA_ARGS__)
#define sm_log_debug(comp, ...) sm_log(SM_LOG_DEBUG, comp, __VA_ARGS__)

#endif
