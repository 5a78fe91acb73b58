/*
 * sm_error — the one error type of smelter.
 *
 * Fallible functions return an sm_code (0 on success) and take the caller's sm_error as their
 * last argument (nanoarrow's ArrowError, librdkafka's errstr). The message is written where the
 * failure happened and says what, where and, when useful, what to do. Callers that add context
 * prefix it ("offsets/42: " + "write: No space left on device"). `err` may be NULL everywhere:
 * the code is still returned.
 *
 * The code decides the process exit status (sm_exit_code), so a usage mistake exits 2 wherever
 * it is found.
 */
#ifndef SM_CORE_ERROR_H
#define SM_CORE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum sm_code {
    SM_OK = 0,
    SM_ERR_USAGE,       /* bad flag, bad config value: exit 2 */
    SM_ERR_IO,          /* file system */
    SM_ERR_NOMEM,       /* allocation failed or a bound was exceeded */
    SM_ERR_CORRUPT,     /* input that does not parse (file, record, log entry) */
    SM_ERR_KAFKA,       /* broker or client failure */
    SM_ERR_TIMEOUT,     /* a bounded wait ran out */
    SM_ERR_CONFLICT,    /* a concurrent writer took what we wanted (e.g. a Delta version) */
    SM_ERR_EXPECTATION, /* an expect_or_fail rule failed: exit 3 */
    SM_ERR_INTERRUPTED, /* stopped by a signal before finishing */
    SM_ERR_INTERNAL,    /* a bug: an invariant did not hold */
} sm_code;

#define SM_ERROR_MSG_MAX 1024

typedef struct sm_error {
    sm_code code;
    int sys_errno;  /* errno of the failing call, 0 when none */
    bool retriable; /* trying the same operation again may succeed */
    char msg[SM_ERROR_MSG_MAX];
} sm_error;

/* Sets code and message (printf format); clears errno and retriable. Returns code. */
int sm_error_set(sm_error *err, sm_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sm_error_vset(sm_error *err, sm_code code, const char *fmt, va_list ap);

/* Like sm_error_set, then appends ": <strerror(errnum)>" and records errnum. Errors that
 * usually pass (EINTR, EAGAIN, EBUSY, ETIMEDOUT) are marked retriable. Returns code. */
int sm_error_sys(sm_error *err, sm_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Puts "<prefix>: " in front of the current message, keeping code and errno. */
void sm_error_prefix(sm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resets to SM_OK with an empty message. */
void sm_error_clear(sm_error *err);

/* Short stable name of a code: "usage", "io", ... */
const char *sm_code_name(sm_code code);

/* Process exit status for a code. Documented in README "Exit codes":
 * 0 ok, 1 runtime failure, 2 usage or configuration error, 3 expectation failed,
 * 130 interrupted before the work could be finished cleanly. */
int sm_exit_code(sm_code code);

enum {
    SM_EXIT_OK = 0,
    SM_EXIT_FAILURE = 1,
    SM_EXIT_USAGE = 2,
    SM_EXIT_EXPECTATION = 3,
    SM_EXIT_INTERRUPTED = 130,
};

#endif
