/*
 * Sizes and durations — see core/units.h.
 *
 * A value is a decimal number (digits, optionally "." and more digits) and a unit. Arithmetic
 * is integer: the fraction keeps at most 6 digits (later digits must still be digits and are
 * dropped), which is exact to a byte for every size unit up to T and to a millisecond for
 * every duration unit, so "1.5GB" is exactly 1610612736 and not a rounded double. Partial
 * bytes and milliseconds are truncated.
 */
#include "core/units.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FRAC_DIGITS_MAX 6

typedef struct number {
    uint64_t ip;       /* integer part */
    uint64_t frac;     /* first up to FRAC_DIGITS_MAX fraction digits */
    uint64_t frac_div; /* 10^(digits kept) */
} number;

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* Reads "123" or "1.25" at p; returns the end, or NULL when there is no valid number. */
static const char *read_number(const char *p, number *n)
{
    n->ip = 0;
    n->frac = 0;
    n->frac_div = 1;
    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (n->ip > (UINT64_MAX - d) / 10) {
            return NULL;
        }
        n->ip = n->ip * 10 + d;
        p++;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) {
            return NULL;
        }
        int kept = 0;
        while (isdigit((unsigned char)*p)) {
            if (kept < FRAC_DIGITS_MAX) {
                n->frac = n->frac * 10 + (uint64_t)(*p - '0');
                n->frac_div *= 10;
                kept++;
            }
            p++;
        }
    }
    return p;
}

/* n * mult, truncated to an integer; false on overflow. mult <= 2^40 or 7 days of ms. */
static bool scale(const number *n, uint64_t mult, uint64_t limit, uint64_t *out)
{
    if (n->ip != 0 && mult > limit / n->ip) {
        return false;
    }
    uint64_t whole = n->ip * mult;
    uint64_t part = n->frac * mult / n->frac_div; /* frac < 10^6, mult < 2^41: no overflow */
    if (part > limit - whole) {
        return false;
    }
    *out = whole + part;
    return true;
}

/* Reads a run of letters at p into unit (lower-cased); returns the end. */
static const char *read_unit(const char *p, char *unit, size_t n)
{
    size_t len = 0;
    while (isalpha((unsigned char)*p)) {
        if (len + 1 < n) {
            unit[len] = (char)tolower((unsigned char)*p);
        }
        len++;
        p++;
    }
    unit[len < n ? len : n - 1] = '\0';
    if (len >= n) {
        unit[0] = '?'; /* too long to be any unit */
    }
    return p;
}

static bool size_unit(const char *u, uint64_t *mult)
{
    static const struct {
        char letter;
        uint64_t mult;
    } units[] = {
        {'k', 1ULL << 10},
        {'m', 1ULL << 20},
        {'g', 1ULL << 30},
        {'t', 1ULL << 40},
    };
    if (u[0] == '\0' || strcmp(u, "b") == 0) {
        *mult = 1;
        return true;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (u[0] != units[i].letter) {
            continue;
        }
        /* "k", "kb", "ki", "kib" */
        const char *rest = u + 1;
        if (*rest == 'i') {
            rest++;
        }
        if (*rest == 'b') {
            rest++;
        }
        if (*rest == '\0') {
            *mult = units[i].mult;
            return true;
        }
        return false;
    }
    return false;
}

int sm_parse_size(const char *s, uint64_t *bytes_out)
{
    if (!s) {
        return -1;
    }
    number n;
    const char *p = read_number(skip_space(s), &n);
    if (!p) {
        return -1;
    }
    char unit[8];
    p = read_unit(skip_space(p), unit, sizeof unit);
    if (*skip_space(p) != '\0') {
        return -1;
    }
    uint64_t mult;
    if (!size_unit(unit, &mult)) {
        return -1;
    }
    if (mult == 1 && n.frac != 0) {
        return -1; /* "1.5B": there is no half a byte */
    }
    uint64_t v;
    if (!scale(&n, mult, UINT64_MAX, &v)) {
        return -1;
    }
    *bytes_out = v;
    return 0;
}

static bool duration_unit(const char *u, uint64_t *mult)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {
        {"ms", 1},           {"msec", 1},          {"msecs", 1},       {"millisecond", 1},
        {"milliseconds", 1}, {"s", 1000},          {"sec", 1000},      {"secs", 1000},
        {"second", 1000},    {"seconds", 1000},    {"m", 60000},       {"min", 60000},
        {"mins", 60000},     {"minute", 60000},    {"minutes", 60000}, {"h", 3600000},
        {"hr", 3600000},     {"hrs", 3600000},     {"hour", 3600000},  {"hours", 3600000},
        {"d", 86400000},     {"day", 86400000},    {"days", 86400000}, {"w", 604800000},
        {"week", 604800000}, {"weeks", 604800000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(u, units[i].name) == 0) {
            *mult = units[i].mult;
            return true;
        }
    }
    return false;
}

int sm_parse_duration_ms(const char *s, int64_t *ms_out)
{
    if (!s) {
        return -1;
    }
    const char *p = skip_space(s);
    uint64_t total = 0;
    int terms = 0;
    while (*p) {
        number n;
        p = read_number(p, &n);
        if (!p) {
            return -1;
        }
        char unit[16];
        p = read_unit(skip_space(p), unit, sizeof unit);
        uint64_t mult;
        if (unit[0] == '\0') {
            /* A bare number is seconds, and only when it is the whole value. */
            if (terms > 0 || *skip_space(p) != '\0') {
                return -1;
            }
            mult = 1000;
        } else if (!duration_unit(unit, &mult)) {
            return -1;
        }
        uint64_t v;
        if (!scale(&n, mult, (uint64_t)INT64_MAX, &v) || v > (uint64_t)INT64_MAX - total) {
            return -1;
        }
        total += v;
        terms++;
        p = skip_space(p);
    }
    if (terms == 0) {
        return -1;
    }
    *ms_out = (int64_t)total;
    return 0;
}

char *sm_format_size(uint64_t bytes, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (!buf || n == 0) {
        return buf;
    }
    if (bytes < 1024) {
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes;
    size_t u = 0;
    /* Move up while the value would print as 1024.0 or more in this unit. */
    while (v >= 1023.95 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    char num[32];
    snprintf(num, sizeof num, "%.1f", v);
    size_t len = strlen(num);
    if (len >= 2 && strcmp(num + len - 2, ".0") == 0) {
        num[len - 2] = '\0'; /* "256 MiB", not "256.0 MiB" */
    }
    snprintf(buf, n, "%s %s", num, units[u]);
    return buf;
}

char *sm_format_duration_ms(int64_t ms, char *buf, size_t n)
{
    if (!buf || n == 0) {
        return buf;
    }
    const char *sign = ms < 0 ? "-" : "";
    /* Magnitude as unsigned so that INT64_MIN has one too. */
    unsigned long long v = ms < 0 ? 0ULL - (unsigned long long)ms : (unsigned long long)ms;
    if (v < 1000) {
        snprintf(buf, n, "%s%llums", sign, v);
    } else if (v < 60000) {
        unsigned long long tenths = v / 100 % 10;
        if (tenths) {
            snprintf(buf, n, "%s%llu.%llus", sign, v / 1000, tenths);
        } else {
            snprintf(buf, n, "%s%llus", sign, v / 1000);
        }
    } else if (v < 3600000) {
        snprintf(buf, n, "%s%llum%02llus", sign, v / 60000, v / 1000 % 60);
    } else if (v < 86400000) {
        snprintf(buf, n, "%s%lluh%02llum", sign, v / 3600000, v / 60000 % 60);
    } else {
        snprintf(buf, n, "%s%llud%02lluh", sign, v / 86400000, v / 3600000 % 24);
    }
    return buf;
}
