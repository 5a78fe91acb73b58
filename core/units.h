/*
 * Sizes and durations as users write them in flags and pipeline files.
 *
 * Sizes: "1048576", "512KB", "256MB", "1GB", "64KiB", "1.5GB" — K/M/G/T are powers of 1024,
 *   as Spark reads "256m" and as JVM users expect; "B" and the "i" are optional; case-insensitive.
 * Durations: "250ms", "5s", "10m", "1h", "2d", "1h30m", also Spark's "10 seconds",
 *   "5 minutes", "1 hour"; a bare number is seconds. Results are in milliseconds.
 */
#ifndef SM_CORE_UNITS_H
#define SM_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Return 0 on success, -1 when `s` is not a valid, non-negative, non-overflowing value. */
int sm_parse_size(const char *s, uint64_t *bytes_out);
int sm_parse_duration_ms(const char *s, int64_t *ms_out);

/* "1.5 GiB", "512 B" — for reports. Writes at most n bytes; returns buf. */
char *sm_format_size(uint64_t bytes, char *buf, size_t n);
/* "2h03m", "4.2s", "15ms" */
char *sm_format_duration_ms(int64_t ms, char *buf, size_t n);

#endif
