/* Tests of core/units.c: sizes and durations as users write them, and as reports show them. */
#include <stdint.h>

#include "core/units.h"
#include "sm_test.h"

static void test_units_parse_size_accepts_user_forms(void)
{
    static const struct {
        const char *s;
        uint64_t want;
    } cases[] = {
        {"0", 0},
        {"1048576", 1048576},
        {"512B", 512},
        {"512 b", 512},
        {"1K", 1024},
        {"512KB", 512 * 1024},
        {"64KiB", 64 * 1024},
        {"64kib", 64 * 1024},
        {"64Ki", 64 * 1024},
        {"256MB", 256ULL << 20},
        {"256m", 256ULL << 20},
        {"1GB", 1ULL << 30},
        {"1gib", 1ULL << 30},
        {"2T", 2ULL << 40},
        {"1.5GB", 1610612736ULL},
        {"0.5K", 512},
        {"1.3KB", 1331}, /* partial bytes truncated */
        {"  128MB  ", 128ULL << 20},
        {"1.5 GiB", 1610612736ULL},
        {"16777215T", 16777215ULL << 40},
        {"18446744073709551615", UINT64_MAX},
        {"1.0000009K", 1024}, /* digits past the sixth are read and dropped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t got = 12345;
        int rc = sm_parse_size(cases[i].s, &got);
        if (rc != 0 || got != cases[i].want) {
            fprintf(stderr, "\n  '%s': rc=%d got=%llu want=%llu\n", cases[i].s, rc,
                    (unsigned long long)got, (unsigned long long)cases[i].want);
            CU_FAIL("size parsed wrong");
        }
    }
}

static void test_units_parse_size_rejects_invalid(void)
{
    static const char *const bad[] = {"",
                                      " ",
                                      "-1",
                                      "-1MB",
                                      "+1MB",
                                      "MB",
                                      "1.5",
                                      "1.5B",
                                      "1.",
                                      ".5K",
                                      "1..5K",
                                      "1X",
                                      "1MBB",
                                      "1KiBi",
                                      "1 2",
                                      "1MB x",
                                      "18446744073709551616",
                                      "16777216T",
                                      "99999999999999999999K",
                                      "1e6",
                                      "0x10",
                                      "1,5MB",
                                      "1 bytesandmore"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t got = 777;
        if (sm_parse_size(bad[i], &got) != -1 || got != 777) {
            fprintf(stderr, "\n  '%s' accepted as %llu\n", bad[i], (unsigned long long)got);
            CU_FAIL("invalid size accepted");
        }
    }
    uint64_t got;
    CU_ASSERT_EQUAL(sm_parse_size(NULL, &got), -1);
}

static void test_units_parse_duration_accepts_user_forms(void)
{
    static const struct {
        const char *s;
        int64_t want;
    } cases[] = {
        {"0", 0},
        {"30", 30000}, /* a bare number is seconds */
        {"1.5", 1500},
        {"250ms", 250},
        {"5s", 5000},
        {"10m", 600000},
        {"1h", 3600000},
        {"2d", 172800000},
        {"1w", 604800000},
        {"1h30m", 5400000},
        {"1h 30m 15s", 5415000},
        {"1m500ms", 60500},
        {"0.5s", 500},
        {"1.5h", 5400000},
        {"10 seconds", 10000},
        {"5 minutes", 300000},
        {"1 minute", 60000},
        {"1 hour", 3600000},
        {"2 hours", 7200000},
        {"3 days", 259200000},
        {"100 milliseconds", 100},
        {"5 sec", 5000},
        {"2 min", 120000},
        {"5S", 5000},
        {"1H", 3600000},
        {"  10m ", 600000},
        {"106751991167d", 106751991167LL * 86400000},
        {"9223372036854775807ms", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 12345;
        int rc = sm_parse_duration_ms(cases[i].s, &got);
        if (rc != 0 || got != cases[i].want) {
            fprintf(stderr, "\n  '%s': rc=%d got=%lld want=%lld\n", cases[i].s, rc, (long long)got,
                    (long long)cases[i].want);
            CU_FAIL("duration parsed wrong");
        }
    }
}

static void test_units_parse_duration_rejects_invalid(void)
{
    static const char *const bad[] = {"",
                                      "  ",
                                      "-5s",
                                      "s",
                                      "5x",
                                      "5 parsecs",
                                      "5s5",
                                      "1h30",
                                      "5.s",
                                      ".5s",
                                      "5 s x",
                                      "9223372036854775808ms",
                                      "106751991168d",
                                      "9223372036854775807ms1ms",
                                      "1e3s",
                                      "5_s",
                                      "5sec5",
                                      "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 777;
        if (sm_parse_duration_ms(bad[i], &got) != -1 || got != 777) {
            fprintf(stderr, "\n  '%s' accepted as %lld\n", bad[i], (long long)got);
            CU_FAIL("invalid duration accepted");
        }
    }
    int64_t got;
    CU_ASSERT_EQUAL(sm_parse_duration_ms(NULL, &got), -1);
}

static void test_units_format_size_for_reports(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(sm_format_size(0, buf, sizeof buf), "0 B");
    CU_ASSERT_STRING_EQUAL(sm_format_size(512, buf, sizeof buf), "512 B");
    CU_ASSERT_STRING_EQUAL(sm_format_size(1023, buf, sizeof buf), "1023 B");
    CU_ASSERT_STRING_EQUAL(sm_format_size(1024, buf, sizeof buf), "1 KiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size(1536, buf, sizeof buf), "1.5 KiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size(256ULL << 20, buf, sizeof buf), "256 MiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size(1610612736ULL, buf, sizeof buf), "1.5 GiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size((1ULL << 20) - 1, buf, sizeof buf), "1 MiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size(3ULL << 40, buf, sizeof buf), "3 TiB");
    CU_ASSERT_STRING_EQUAL(sm_format_size(UINT64_MAX, buf, sizeof buf), "16 EiB");
    /* Never writes past n. */
    char small[5];
    memset(small, 'z', sizeof small);
    sm_format_size(1610612736ULL, small, 4);
    CU_ASSERT_STRING_EQUAL(small, "1.5");
    CU_ASSERT_EQUAL(small[4], 'z');
    CU_ASSERT_PTR_NULL(sm_format_size(1, NULL, 0));
}

static void test_units_format_duration_for_reports(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(0, buf, sizeof buf), "0ms");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(15, buf, sizeof buf), "15ms");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(999, buf, sizeof buf), "999ms");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(1000, buf, sizeof buf), "1s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(4200, buf, sizeof buf), "4.2s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(4299, buf, sizeof buf), "4.2s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(59999, buf, sizeof buf), "59.9s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(60000, buf, sizeof buf), "1m00s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(183000, buf, sizeof buf), "3m03s");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(7380000, buf, sizeof buf), "2h03m");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(90000000, buf, sizeof buf), "1d01h");
    CU_ASSERT_STRING_EQUAL(sm_format_duration_ms(-4200, buf, sizeof buf), "-4.2s");
    CU_ASSERT_PTR_NOT_NULL(sm_format_duration_ms(INT64_MIN, buf, sizeof buf));
    CU_ASSERT_EQUAL(buf[0], '-');
    CU_ASSERT_PTR_NOT_NULL(sm_format_duration_ms(INT64_MAX, buf, sizeof buf));
    CU_ASSERT_PTR_NULL(sm_format_duration_ms(1, NULL, 0));
}

static void test_units_formatted_durations_parse_back(void)
{
    /* What reports print for whole units can be pasted into a flag. */
    const int64_t values[] = {15, 250, 1000, 5000, 60000, 3600000, 86400000};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char buf[32];
        int64_t back;
        sm_format_duration_ms(values[i], buf, sizeof buf);
        CU_ASSERT_EQUAL(sm_parse_duration_ms(buf, &back), 0);
        CU_ASSERT_EQUAL(back, values[i]);
    }
}

static CU_TestInfo tests[] = {
    {"parse size accepts user forms", test_units_parse_size_accepts_user_forms},
    {"parse size rejects invalid", test_units_parse_size_rejects_invalid},
    {"parse duration accepts user forms", test_units_parse_duration_accepts_user_forms},
    {"parse duration rejects invalid", test_units_parse_duration_rejects_invalid},
    {"format size for reports", test_units_format_size_for_reports},
    {"format duration for reports", test_units_format_duration_for_reports},
    {"formatted durations parse back", test_units_formatted_durations_parse_back},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("units", tests)
