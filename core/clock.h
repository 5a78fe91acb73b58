/*
 * Time: wall clock for timestamps that are recorded, monotonic clock for intervals and rates,
 * and ISO-8601 formatting and parsing (UTC, "2026-11-22T04:01:02.345Z").
 */
#ifndef SM_CORE_CLOCK_H
#define SM_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t sm_wall_ms(void); /* milliseconds since the Unix epoch */
int64_t sm_mono_ns(void); /* monotonic nanoseconds, arbitrary origin */
void sm_sleep_ms(int64_t ms);

/* Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL; n >= 25).
 * Valid for years 0000..9999. Returns the length written. */
size_t sm_format_iso8601_ms(int64_t epoch_ms, char *buf, size_t n);

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff...]]" with "Z", "+HH:MM" or no zone (UTC),
 * also with a space instead of the T. Returns 0, or -1 if malformed. */
int sm_parse_iso8601_ms(const char *s, size_t len, int64_t *epoch_ms_out);

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
int64_t sm_days_from_civil(int64_t y, unsigned m, unsigned d);
void sm_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
