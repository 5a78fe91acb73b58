/*
 * Time: wall clock for timestamps that are recorded, monotonic clock for intervals and rates,
 * and ISO-8601 formatting and parsing (UTC, "2026-11-22T04:01:02.345Z").
 */
#ifndef SM_CORE_CLOCK_H
#define SM_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* The timestamps readers take, in microseconds since the epoch: DuckDB's range (290309-12-22 BC
 * .. 294247-01-10 04:00:54.775806; INT64_MAX is its 'infinity', -INT64_MAX '-infinity'). A
 * timestamp the decoders store must lie in it (a millisecond one once multiplied by 1000), or
 * DuckDB and Spark cannot read the file: outside, the record is an `out_of_range` dead letter. */
#define SM_TS_US_MIN (-INT64_C(9223372022400000000))
#define SM_TS_US_MAX (INT64_MAX - 1)
#define SM_TS_MS_MIN (-(-SM_TS_US_MIN / 1000))
#define SM_TS_MS_MAX (SM_TS_US_MAX / 1000)

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
