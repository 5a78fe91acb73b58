/*
 * Time — see core/clock.h. Calendar arithmetic is Howard Hinnant's days_from_civil /
 * civil_from_days ("chrono-Compatible Low-Level Date Algorithms"): exact for every day of the
 * proleptic Gregorian calendar, no tables, no time zone database, no libc tm in the way.
 * All times are UTC; an explicit offset in parsed text is folded into the result.
 */
#include "core/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define MS_PER_DAY 86400000LL

int64_t sm_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sm_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sm_sleep_ms(int64_t ms)
{
    if (ms <= 0) {
        return;
    }
    struct timespec req = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    struct timespec rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR) {
        req = rem;
    }
}

int64_t sm_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                                   /* [0, 399] */
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void sm_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t doe = days - era * 146097;                                   /* [0, 146096] */
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    const int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    const unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);              /* [1, 31] */
    const unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);                 /* [1, 12] */
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

size_t sm_format_iso8601_ms(int64_t epoch_ms, char *buf, size_t n)
{
    if (!buf || n == 0) {
        return 0;
    }
    if (n < 25) {
        buf[0] = '\0';
        return 0;
    }
    /* Floor division so that instants before 1970 land on the right day. */
    int64_t days = epoch_ms / MS_PER_DAY;
    int64_t rem = epoch_ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days -= 1;
    }
    int64_t y;
    unsigned mo, d;
    sm_civil_from_days(days, &y, &mo, &d);
    if (y >= 0 && y <= 9999) {
        /* Digits by hand: this runs once per record in the producer and in decoders. */
        unsigned hh = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60);
        unsigned ss = (unsigned)(rem / 1000 % 60), ms = (unsigned)(rem % 1000);
        unsigned yy = (unsigned)y;
        char *p = buf;
        *p++ = (char)('0' + yy / 1000);
        *p++ = (char)('0' + yy / 100 % 10);
        *p++ = (char)('0' + yy / 10 % 10);
        *p++ = (char)('0' + yy % 10);
        *p++ = '-';
        *p++ = (char)('0' + mo / 10);
        *p++ = (char)('0' + mo % 10);
        *p++ = '-';
        *p++ = (char)('0' + d / 10);
        *p++ = (char)('0' + d % 10);
        *p++ = 'T';
        *p++ = (char)('0' + hh / 10);
        *p++ = (char)('0' + hh % 10);
        *p++ = ':';
        *p++ = (char)('0' + mi / 10);
        *p++ = (char)('0' + mi % 10);
        *p++ = ':';
        *p++ = (char)('0' + ss / 10);
        *p++ = (char)('0' + ss % 10);
        *p++ = '.';
        *p++ = (char)('0' + ms / 100);
        *p++ = (char)('0' + ms / 10 % 10);
        *p++ = (char)('0' + ms % 10);
        *p++ = 'Z';
        *p = '\0';
        return 24;
    }
    int len = snprintf(buf, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d,
                       (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                       (int)(rem % 1000));
    if (len < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)len < n ? (size_t)len : n - 1;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly `width` decimal digits at *p (within end); advances *p. */
static bool read_digits(const char **p, const char *end, int width, int *out)
{
    if (end - *p < width) {
        return false;
    }
    int v = 0;
    for (int i = 0; i < width; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += width;
    *out = v;
    return true;
}

static bool read_char(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return true;
    }
    return false;
}

int sm_parse_iso8601_ms(const char *s, size_t len, int64_t *epoch_ms_out)
{
    if (!s) {
        return -1;
    }
    const char *p = s;
    const char *end = s + len;
    int year, month, day;
    if (!read_digits(&p, end, 4, &year) || !read_char(&p, end, '-') ||
        !read_digits(&p, end, 2, &month) || !read_char(&p, end, '-') ||
        !read_digits(&p, end, 2, &day)) {
        return -1;
    }
    if (month < 1 || month > 12 || day < 1 || (unsigned)day > days_in_month(year, month)) {
        return -1;
    }
    int64_t ms = sm_days_from_civil(year, (unsigned)month, (unsigned)day) * MS_PER_DAY;
    if (p == end) {
        *epoch_ms_out = ms;
        return 0;
    }

    /* Time of day: HH:MM[:SS[.fff...]] */
    if (*p != 'T' && *p != 't' && *p != ' ') {
        return -1;
    }
    p++;
    int hour, minute, second = 0, frac_ms = 0;
    if (!read_digits(&p, end, 2, &hour) || !read_char(&p, end, ':') ||
        !read_digits(&p, end, 2, &minute)) {
        return -1;
    }
    if (read_char(&p, end, ':')) {
        if (!read_digits(&p, end, 2, &second)) {
            return -1;
        }
        if (read_char(&p, end, '.')) {
            int digits = 0;
            while (p < end && *p >= '0' && *p <= '9') {
                if (digits < 3) {
                    frac_ms = frac_ms * 10 + (*p - '0');
                }
                digits++;
                p++;
            }
            if (digits == 0) {
                return -1;
            }
            for (int i = digits; i < 3; i++) {
                frac_ms *= 10;
            }
        }
    }
    if (hour > 23 || minute > 59 || second > 59) {
        return -1;
    }
    ms += hour * 3600000LL + minute * 60000LL + second * 1000LL + frac_ms;

    /* Zone: nothing (UTC), Z, or +HH:MM / -HH:MM / +HHMM. */
    if (p < end) {
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            p++;
            int oh, om;
            if (!read_digits(&p, end, 2, &oh)) {
                return -1;
            }
            read_char(&p, end, ':');
            if (!read_digits(&p, end, 2, &om) || oh > 23 || om > 59) {
                return -1;
            }
            /* Local time = UTC + offset, so UTC = local - offset. */
            ms -= sign * (oh * 3600000LL + om * 60000LL);
        } else {
            return -1;
        }
    }
    if (p != end) {
        return -1;
    }
    *epoch_ms_out = ms;
    return 0;
}
