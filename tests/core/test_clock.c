/* Tests of core/clock.c: calendar arithmetic over the whole 0000..9999 range, ISO-8601. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "sm_test.h"

static int64_t parse(const char *s)
{
    int64_t ms = INT64_MIN;
    if (sm_parse_iso8601_ms(s, strlen(s), &ms) != 0) {
        return INT64_MIN;
    }
    return ms;
}

static void test_clock_days_from_civil_known_dates(void)
{
    CU_ASSERT_EQUAL(sm_days_from_civil(1970, 1, 1), 0);
    CU_ASSERT_EQUAL(sm_days_from_civil(1970, 1, 2), 1);
    CU_ASSERT_EQUAL(sm_days_from_civil(1969, 12, 31), -1);
    CU_ASSERT_EQUAL(sm_days_from_civil(2000, 2, 29), 11016);
    CU_ASSERT_EQUAL(sm_days_from_civil(2000, 3, 1), 11017);
    CU_ASSERT_EQUAL(sm_days_from_civil(2026, 11, 22), 20779);
    CU_ASSERT_EQUAL(sm_days_from_civil(0, 3, 1), -719468);
    CU_ASSERT_EQUAL(sm_days_from_civil(0, 1, 1), -719528);
    CU_ASSERT_EQUAL(sm_days_from_civil(9999, 12, 31), 2932896);
    CU_ASSERT_EQUAL(sm_days_from_civil(1900, 3, 1) - sm_days_from_civil(1900, 2, 28), 1);
    CU_ASSERT_EQUAL(sm_days_from_civil(2000, 3, 1) - sm_days_from_civil(2000, 2, 28), 2);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_clock_civil_round_trips_every_day_from_0000_to_9999(void)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    /* Walk the calendar day by day with a naive successor and compare both directions. */
    int64_t y = 0;
    unsigned m = 1, d = 1;
    int64_t bad = 0;
    for (int64_t days = sm_days_from_civil(0, 1, 1); days <= sm_days_from_civil(9999, 12, 31);
         days++) {
        int64_t yy;
        unsigned mm, dd;
        sm_civil_from_days(days, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d || sm_days_from_civil(y, m, d) != days) {
            if (bad++ < 5) {
                fprintf(stderr, "\n  day %lld: want %04lld-%02u-%02u got %04lld-%02u-%02u\n",
                        (long long)days, (long long)y, m, d, (long long)yy, mm, dd);
            }
        }
        unsigned len = m == 2 && leap(y) ? 29 : mdays[m - 1];
        if (++d > len) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(y, 10000);
}

static void test_clock_civil_handles_years_before_zero(void)
{
    int64_t y;
    unsigned m, d;
    int64_t days = sm_days_from_civil(-1, 12, 31);
    CU_ASSERT_EQUAL(days, sm_days_from_civil(0, 1, 1) - 1);
    sm_civil_from_days(days, &y, &m, &d);
    CU_ASSERT_EQUAL(y, -1);
    CU_ASSERT_EQUAL(m, 12);
    CU_ASSERT_EQUAL(d, 31);
    sm_civil_from_days(sm_days_from_civil(-400, 2, 29), &y, &m, &d);
    CU_ASSERT_EQUAL(y, -400);
    CU_ASSERT_EQUAL(m, 2);
    CU_ASSERT_EQUAL(d, 29);
}

static void test_clock_format_iso8601(void)
{
    char buf[32];
    CU_ASSERT_EQUAL(sm_format_iso8601_ms(0, buf, sizeof buf), 24);
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00.000Z");
    sm_format_iso8601_ms(-1, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999Z");
    sm_format_iso8601_ms(951782400000LL + 3723004, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "2000-02-29T01:02:03.004Z");
    sm_format_iso8601_ms(1795320062345LL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "2026-11-22T04:01:02.345Z");
    sm_format_iso8601_ms(253402300799999LL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "9999-12-31T23:59:59.999Z");
    sm_format_iso8601_ms(-62167219200000LL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "0000-01-01T00:00:00.000Z");

    char exact[25];
    CU_ASSERT_EQUAL(sm_format_iso8601_ms(0, exact, sizeof exact), 24);
    char small[24];
    memset(small, 'z', sizeof small);
    CU_ASSERT_EQUAL(sm_format_iso8601_ms(0, small, sizeof small), 0);
    CU_ASSERT_EQUAL(small[0], '\0');
    CU_ASSERT_EQUAL(sm_format_iso8601_ms(0, NULL, 0), 0);
}

static void test_clock_format_agrees_with_gmtime(void)
{
    for (int64_t t = -2208988800LL; t < 4102444800LL; t += 86400 * 37 + 3671) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char want[64], got[32];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        sm_format_iso8601_ms(t * 1000, got, sizeof got);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "\n  %lld: want %s got %s\n", (long long)t, want, got);
            CU_FAIL("format differs from gmtime");
            break;
        }
    }
}

static void test_clock_parse_accepts_iso8601_forms(void)
{
    CU_ASSERT_EQUAL(parse("1970-01-01"), 0);
    CU_ASSERT_EQUAL(parse("2000-02-29"), 951782400000LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.345Z"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.345"), 1795320062345LL); /* no zone: UTC */
    CU_ASSERT_EQUAL(parse("2026-11-22 04:01:02.345Z"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22t04:01:02.345z"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01"), 1795320060000LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01Z"), 1795320060000LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02"), 1795320062000LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.3Z"), 1795320062300LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.34Z"), 1795320062340LL);
    /* Digits beyond milliseconds are truncated, not rounded. */
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.345999Z"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.999999999Z"), 1795320062999LL);
    /* Offsets: local = UTC + offset. */
    CU_ASSERT_EQUAL(parse("2026-11-22T06:01:02.345+02:00"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-21T22:31:02.345-05:30"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T09:31:02.345+0530"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("2026-11-22T04:01:02.345+00:00"), 1795320062345LL);
    CU_ASSERT_EQUAL(parse("1970-01-01T00:00:00+01:00"), -3600000);
    CU_ASSERT_EQUAL(parse("1969-12-31T23:59:59.999Z"), -1);
    CU_ASSERT_EQUAL(parse("9999-12-31T23:59:59.999Z"), 253402300799999LL);
    CU_ASSERT_EQUAL(parse("0000-01-01T00:00:00Z"), -62167219200000LL);
    CU_ASSERT_EQUAL(parse("2024-02-29T12:00:00Z"), parse("2024-02-29") + 12 * 3600000LL);
}

static void test_clock_parse_rejects_invalid(void)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11",
        "2026-13-01",
        "2026-00-10",
        "2026-01-32",
        "2026-01-00",
        "2026-04-31",
        "2026-02-29", /* not a leap year */
        "1900-02-29", /* divisible by 100 */
        "2000-02-30",
        "2026-1-01",
        "2026-01-1",
        "26-01-01",
        "2026/01/01",
        "2026-01-01T",
        "2026-01-01T10",
        "2026-01-01T10:",
        "2026-01-01T10:0",
        "2026-01-01T24:00",
        "2026-01-01T23:60",
        "2026-01-01T23:59:60",
        "2026-01-01T10:00:",
        "2026-01-01T10:00:0",
        "2026-01-01T10:00:00.",
        "2026-01-01T10:00:00.Z",
        "2026-01-01T10:00:00ZZ",
        "2026-01-01T10:00:00 ",
        "2026-01-01T10:00:00+",
        "2026-01-01T10:00:00+02",
        "2026-01-01T10:00:00+02:",
        "2026-01-01T10:00:00+24:00",
        "2026-01-01T10:00:00+02:60",
        "2026-01-01T10:00:00 UTC",
        "2026-01-01Z",
        "2026-01-01X10:00",
        " 2026-01-01",
        "2026-01-01 ",
        "x026-01-01",
        "2026-01-01T1a:00",
        "2026-01-01T10:00:00.12a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 777;
        if (sm_parse_iso8601_ms(bad[i], strlen(bad[i]), &ms) != -1 || ms != 777) {
            fprintf(stderr, "\n  '%s' accepted as %lld\n", bad[i], (long long)ms);
            CU_FAIL("invalid timestamp accepted");
        }
    }
    int64_t ms;
    CU_ASSERT_EQUAL(sm_parse_iso8601_ms(NULL, 0, &ms), -1);
}

static void test_clock_parse_stops_at_len(void)
{
    const char *s = "2026-11-22T04:01:02.345Zgarbage";
    int64_t ms;
    CU_ASSERT_EQUAL(sm_parse_iso8601_ms(s, 24, &ms), 0);
    CU_ASSERT_EQUAL(ms, 1795320062345LL);
    CU_ASSERT_EQUAL(sm_parse_iso8601_ms(s, 10, &ms), 0); /* just the date */
    CU_ASSERT_EQUAL(ms, parse("2026-11-22"));
    CU_ASSERT_EQUAL(sm_parse_iso8601_ms(s, 9, &ms), -1);  /* a cut date */
    CU_ASSERT_EQUAL(sm_parse_iso8601_ms(s, 20, &ms), -1); /* "…02." */
}

static void test_clock_format_then_parse_round_trips(void)
{
    uint64_t x = 88172645463325252ULL; /* xorshift: a fixed spread over 0000..9999 */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ms = -62167219200000LL + (int64_t)(x % 315537897600000ULL);
        char buf[32];
        CU_ASSERT_EQUAL_FATAL(sm_format_iso8601_ms(ms, buf, sizeof buf), 24);
        int64_t back;
        if (sm_parse_iso8601_ms(buf, 24, &back) != 0 || back != ms) {
            fprintf(stderr, "\n  %lld -> %s -> %lld\n", (long long)ms, buf, (long long)back);
            CU_FAIL("round trip");
            break;
        }
    }
}

static void test_clock_wall_and_monotonic(void)
{
    int64_t wall = sm_wall_ms();
    int64_t now = (int64_t)time(NULL) * 1000;
    CU_ASSERT_TRUE(wall >= now - 2000 && wall <= now + 2000);

    int64_t t0 = sm_mono_ns();
    sm_sleep_ms(20);
    int64_t t1 = sm_mono_ns();
    CU_ASSERT_TRUE(t1 - t0 >= 20 * 1000000LL);
    CU_ASSERT_TRUE(t1 - t0 < 5 * 1000000000LL);
    sm_sleep_ms(0);
    sm_sleep_ms(-5);
    CU_ASSERT_TRUE(sm_mono_ns() >= t1);
}

static CU_TestInfo tests[] = {
    {"days_from_civil known dates", test_clock_days_from_civil_known_dates},
    {"civil round trips every day from 0000 to 9999",
     test_clock_civil_round_trips_every_day_from_0000_to_9999},
    {"civil handles years before zero", test_clock_civil_handles_years_before_zero},
    {"format iso8601", test_clock_format_iso8601},
    {"format agrees with gmtime", test_clock_format_agrees_with_gmtime},
    {"parse accepts iso8601 forms", test_clock_parse_accepts_iso8601_forms},
    {"parse rejects invalid", test_clock_parse_rejects_invalid},
    {"parse stops at len", test_clock_parse_stops_at_len},
    {"format then parse round trips", test_clock_format_then_parse_round_trips},
    {"wall and monotonic clocks", test_clock_wall_and_monotonic},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("clock", tests)
