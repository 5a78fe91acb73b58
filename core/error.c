/*
 * sm_error — see core/error.h. Messages are truncated, never overflowed: a message longer than
 * SM_ERROR_MSG_MAX - 1 bytes is cut, which loses words but keeps the start that names the place.
 */
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sm_error_vset(sm_error *err, sm_code code, const char *fmt, va_list ap)
{
    if (!err) {
        return code;
    }
    err->code = code;
    err->sys_errno = 0;
    err->retriable = false;
    if (fmt) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    } else {
        err->msg[0] = '\0';
    }
    return code;
}

int sm_error_set(sm_error *err, sm_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sm_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static bool errno_is_transient(int errnum)
{
    return errnum == EINTR || errnum == EAGAIN || errnum == EBUSY || errnum == ETIMEDOUT;
}

int sm_error_sys(sm_error *err, sm_code code, int errnum, const char *fmt, ...)
{
    if (!err) {
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    sm_error_vset(err, code, fmt, ap);
    va_end(ap);

    char buf[256];
    const char *reason = strerror_r(errnum, buf, sizeof buf); /* GNU variant */
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s", reason);
    err->sys_errno = errnum;
    err->retriable = errno_is_transient(errnum);
    return code;
}

void sm_error_prefix(sm_error *err, const char *fmt, ...)
{
    if (!err) {
        return;
    }
    char prefix[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t plen = strlen(prefix);
    size_t mlen = strlen(err->msg);
    size_t cap = sizeof err->msg - 1; /* room for the terminating NUL */
    size_t head = plen + 2;           /* "<prefix>: " */
    if (head >= cap) {
        memcpy(err->msg, prefix, cap);
        err->msg[cap] = '\0';
        return;
    }
    if (mlen > cap - head) {
        mlen = cap - head;
    }
    memmove(err->msg + head, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen] = ':';
    err->msg[plen + 1] = ' ';
    err->msg[head + mlen] = '\0';
}

void sm_error_clear(sm_error *err)
{
    if (!err) {
        return;
    }
    err->code = SM_OK;
    err->sys_errno = 0;
    err->retriable = false;
    err->msg[0] = '\0';
}

const char *sm_code_name(sm_code code)
{
    switch (code) {
    case SM_OK:
        return "ok";
    case SM_ERR_USAGE:
        return "usage";
    case SM_ERR_IO:
        return "io";
    case SM_ERR_NOMEM:
        return "nomem";
    case SM_ERR_CORRUPT:
        return "corrupt";
    case SM_ERR_KAFKA:
        return "kafka";
    case SM_ERR_TIMEOUT:
        return "timeout";
    case SM_ERR_CONFLICT:
        return "conflict";
    case SM_ERR_EXPECTATION:
        return "expectation";
    case SM_ERR_INTERRUPTED:
        return "interrupted";
    case SM_ERR_INTERNAL:
        return "internal";
    }
    return "unknown";
}

int sm_exit_code(sm_code code)
{
    switch (code) {
    case SM_OK:
        return SM_EXIT_OK;
    case SM_ERR_USAGE:
        return SM_EXIT_USAGE;
    case SM_ERR_EXPECTATION:
        return SM_EXIT_EXPECTATION;
    case SM_ERR_INTERRUPTED:
        return SM_EXIT_INTERRUPTED;
    default:
        return SM_EXIT_FAILURE;
    }
}
