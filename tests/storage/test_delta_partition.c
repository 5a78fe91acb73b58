/*
 * Tests of partition values and directories (storage/delta_stats.c:
 * delta_partition_value, delta_partition_dir).
 *
 * Values are checked against the text the protocol and Spark give (Java's
 * number formatting, "YYYY-MM-DD HH:MM:SS[.ffffff]" timestamps, an empty string
 * as null) and against the golden tables Spark partitioned. Directories are
 * checked as text (Hive's escaping on disk, URI quoting in `add.path`), against
 * the directories and paths Spark wrote in the golden tables, and by round
 * trip: DuckDB's hive partitioning reads the directories we made back into the
 * original strings, and delta_file_local_path turns the URI form back into the
 * directory.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/durable.h"
#include "sm_test.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_writer.h"

/* The partition value of slot `row` of c as a string ("<null>" for a null). */
static const char *value_of(const sm_column *c, int64_t row, char *out, size_t n)
{
    sm_buf b = SM_BUF_INIT;
    sm_error err = {0};
    bool is_null = false;
    int rc = delta_partition_value(c, row, &b, &is_null, &err);
    if (rc) {
        snprintf(out, n, "<error %.200s>", err.msg);
    } else if (is_null) {
        snprintf(out, n, "<null>");
    } else {
        snprintf(out, n, "%.*s", (int)b.len, (const char *)b.data);
    }
    sm_buf_free(&b);
    return out;
}

#define CHECK_VALUES(col, ...)                                                                     \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        for (size_t i_ = 0; i_ < sizeof want_ / sizeof want_[0]; i_++) {                           \
            char got_[256];                                                                        \
            value_of(col, (int64_t)i_, got_, sizeof got_);                                         \
            CU_ASSERT_STRING_EQUAL(got_, want_[i_]);                                               \
            if (strcmp(got_, want_[i_]) != 0) {                                                    \
                fprintf(stderr, "\n  %s[%zu]: got '%s', want '%s'\n", (col)->field->name, i_,      \
                        got_, want_[i_]);                                                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static sm_column *column(sm_arena *a, sm_field *f)
{
    sm_column *c = sm_column_new(a, f, 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static void i64s(sm_arena *a, sm_column *c, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        CU_ASSERT_FATAL(!sm_column_append_i64(a, c, v[i]));
    }
    CU_ASSERT_FATAL(!sm_column_append_null(a, c));
}

static void test_partition_values_of_every_type(void)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_column *c;

    c = column(a, sm_field_new(a, "b", SM_BOOL, true));
    {
        uint8_t t = 1, f = 0;
        CU_ASSERT_FATAL(!sm_column_append_fixed(a, c, &t) && !sm_column_append_fixed(a, c, &f) &&
                        !sm_column_append_null(a, c));
    }
    CHECK_VALUES(c, "true", "false", "<null>");

    static const int64_t i8v[] = {-128, 127, 0};
    c = column(a, sm_field_new(a, "i8", SM_INT8, true));
    i64s(a, c, i8v, 3);
    CHECK_VALUES(c, "-128", "127", "0", "<null>");
    static const int64_t i16v[] = {-32768, 32767};
    c = column(a, sm_field_new(a, "i16", SM_INT16, true));
    i64s(a, c, i16v, 2);
    CHECK_VALUES(c, "-32768", "32767", "<null>");
    static const int64_t i32v[] = {INT32_MIN, INT32_MAX, 42};
    c = column(a, sm_field_new(a, "i32", SM_INT32, true));
    i64s(a, c, i32v, 3);
    CHECK_VALUES(c, "-2147483648", "2147483647", "42", "<null>");
    static const int64_t i64v[] = {INT64_MIN, INT64_MAX};
    c = column(a, sm_field_new(a, "i64", SM_INT64, true));
    i64s(a, c, i64v, 2);
    CHECK_VALUES(c, "-9223372036854775808", "9223372036854775807", "<null>");
    static const int64_t u8v[] = {255, 0};
    c = column(a, sm_field_new(a, "u8", SM_UINT8, true));
    i64s(a, c, u8v, 2);
    CHECK_VALUES(c, "255", "0", "<null>");
    static const int64_t u32v[] = {4294967295LL};
    c = column(a, sm_field_new(a, "u32", SM_UINT32, true));
    i64s(a, c, u32v, 1);
    CHECK_VALUES(c, "4294967295", "<null>");
    c = column(a, sm_field_new(a, "u64", SM_UINT64, true));
    {
        uint64_t m = UINT64_MAX;
        CU_ASSERT_FATAL(!sm_column_append_fixed(a, c, &m) && !sm_column_append_null(a, c));
    }
    CHECK_VALUES(c, "18446744073709551615", "<null>");

    /* floats as Java's Float.toString / Double.toString (what Spark writes:
     * "1.0", "0.0") */
    c = column(a, sm_field_new(a, "f32", SM_FLOAT, true));
    {
        static const float fv[] = {1.0f,   0.0f,     -0.0f,         1.5f, 0.1f,    1e10f,
                                   100.0f, 1.25e-4f, 3.4028235e38f, NAN,  INFINITY};
        for (size_t i = 0; i < sizeof fv / sizeof fv[0]; i++) {
            CU_ASSERT_FATAL(!sm_column_append_f64(a, c, fv[i]));
        }
        CU_ASSERT_FATAL(!sm_column_append_null(a, c));
    }
    CHECK_VALUES(c, "1.0", "0.0", "-0.0", "1.5", "0.1", "1.0E10", "100.0", "1.25E-4",
                 "3.4028235E38", "NaN", "Infinity", "<null>");
    c = column(a, sm_field_new(a, "f64", SM_DOUBLE, true));
    {
        static const double dv[] = {1.0,  0.001, 1e-4, 1234567.0, 12345678.9, 1e300,
                                    -2.5, 0.1,   1e7,  9999999.0, -INFINITY,  123.456};
        for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
            CU_ASSERT_FATAL(!sm_column_append_f64(a, c, dv[i]));
        }
    }
    CHECK_VALUES(c, "1.0", "0.001", "1.0E-4", "1234567.0", "1.23456789E7", "1.0E300", "-2.5", "0.1",
                 "1.0E7", "9999999.0", "-Infinity", "123.456");

    /* decimals keep their scale */
    c = column(a, sm_field_decimal(a, "d1", 5, 2, true));
    static const int64_t d1v[] = {12345, -5, 0, -99999};
    i64s(a, c, d1v, 4);
    CHECK_VALUES(c, "123.45", "-0.05", "0.00", "-999.99", "<null>");
    c = column(a, sm_field_decimal(a, "d0", 10, 0, true));
    static const int64_t d0v[] = {1234567890, -1};
    i64s(a, c, d0v, 2);
    CHECK_VALUES(c, "1234567890", "-1", "<null>");
    c = column(a, sm_field_decimal(a, "d38", 38, 6, true));
    {
        __int128 v = 1;
        uint8_t le[16];
        for (int i = 0; i < 37; i++) {
            v *= 10;
        }
        v = -v - 1; /* -(10^37 + 1) */
        for (int i = 0; i < 16; i++) {
            le[i] = (uint8_t)((unsigned __int128)v >> (8 * i));
        }
        CU_ASSERT_FATAL(!sm_column_append_fixed(a, c, le));
    }
    CHECK_VALUES(c, "-10000000000000000000000000000000.000001");

    /* dates and timestamps (UTC) */
    c = column(a, sm_field_new(a, "d", SM_DATE, true));
    static const int64_t dates[] = {0, -1, 19000, 18878, 2932896};
    i64s(a, c, dates, 5);
    CHECK_VALUES(c, "1970-01-01", "1969-12-31", "2022-01-08", "2021-09-08", "9999-12-31", "<null>");
    c = column(a, sm_field_new(a, "tus", SM_TIMESTAMP_US, true));
    static const int64_t tus[] = {1631099471000000LL, 1700000000123456LL, 1700000000100000LL, -1,
                                  0};
    i64s(a, c, tus, 5);
    CHECK_VALUES(c, "2021-09-08 11:11:11", "2023-11-14 22:13:20.123456", "2023-11-14 22:13:20.1",
                 "1969-12-31 23:59:59.999999", "1970-01-01 00:00:00", "<null>");
    c = column(a, sm_field_new(a, "tms", SM_TIMESTAMP_MS, true));
    static const int64_t tms[] = {1700000000123LL, 1700000000120LL};
    i64s(a, c, tms, 2);
    CHECK_VALUES(c, "2023-11-14 22:13:20.123", "2023-11-14 22:13:20.12", "<null>");

    /* strings as they are; an empty string is a null partition value
     * (PROTOCOL.md) */
    c = column(a, sm_field_new(a, "s", SM_STRING, true));
    {
        static const char *const sv[] = {"a b", "100%", "ü/=:", ""};
        for (size_t i = 0; i < 4; i++) {
            CU_ASSERT_FATAL(!sm_column_append_bytes(a, c, sv[i], strlen(sv[i])));
        }
        CU_ASSERT_FATAL(!sm_column_append_null(a, c));
    }
    CHECK_VALUES(c, "a b", "100%", "ü/=:", "<null>", "<null>");
    /* binary: each byte as the character of its code */
    c = column(a, sm_field_new(a, "bin", SM_BINARY, true));
    CU_ASSERT_FATAL(!sm_column_append_bytes(a, c, "\x01\x02\x03", 3));
    CU_ASSERT_FATAL(!sm_column_append_bytes(a, c, "a\xff", 2));
    CHECK_VALUES(c, "\x01\x02\x03", "a\xc3\xbf");

    /* refusals: nested columns, a string that is not UTF-8, a row out of range */
    {
        sm_buf b = SM_BUF_INIT;
        sm_error err = {0};
        bool is_null;
        sm_field *inner[] = {sm_field_new(a, "x", SM_INT32, true)};
        sm_column *st = column(a, sm_field_struct(a, "st", inner, 1, true));
        CU_ASSERT_FATAL(!sm_column_append_null(a, st));
        CU_ASSERT_FATAL(!sm_column_append_valid(a, st) &&
                        !sm_column_append_i64(a, st->children[0], 1));
        CU_ASSERT_EQUAL(delta_partition_value(st, 1, &b, &is_null, &err), SM_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "st"));
        sm_column *s = column(a, sm_field_new(a, "s", SM_STRING, true));
        CU_ASSERT_FATAL(!sm_column_append_bytes(a, s, "\xc3", 1));
        CU_ASSERT_EQUAL(delta_partition_value(s, 0, &b, &is_null, &err), SM_ERR_USAGE);
        CU_ASSERT_EQUAL(delta_partition_value(s, 5, &b, &is_null, &err), SM_ERR_USAGE);
        sm_buf_free(&b);
    }
    sm_arena_destroy(a);
}

static char *fixture(const char *rel)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char *p = NULL;
    if (asprintf(&p, "%s/../shared/fixtures/delta-golden/%s", src ? src : ".", rel) < 0) {
        return NULL;
    }
    return p;
}

static void dir_of(const delta_kv *kv, int n, bool uri, char *out, size_t len)
{
    sm_buf b = SM_BUF_INIT;
    sm_error err = {0};
    int rc = delta_partition_dir(kv, n, uri, &b, &err);
    CU_ASSERT_EQUAL(rc, SM_OK);
    snprintf(out, len, "%.*s", (int)b.len, (const char *)b.data);
    sm_buf_free(&b);
}

static void test_partition_dirs_escape_as_hive_and_spark(void)
{
    static const struct {
        const char *key, *value, *disk, *uri;
    } cases[] = {
        {"k", "a b", "k=a b/", "k=a%20b/"},
        {"k", "100%", "k=100%25/", "k=100%2525/"},
        {"k", "a/b", "k=a%2Fb/", "k=a%252Fb/"},
        {"k", "x=y:z", "k=x%3Dy%3Az/", "k=x%253Dy%253Az/"},
        {"k", "ü日", "k=ü日/", "k=ü日/"},
        {"k", NULL, "k=__HIVE_DEFAULT_PARTITION__/", "k=__HIVE_DEFAULT_PARTITION__/"},
        {"k", "", "k=__HIVE_DEFAULT_PARTITION__/", "k=__HIVE_DEFAULT_PARTITION__/"},
        {"a b", "#?", "a b=%23%3F/", "a%20b=%2523%253F/"},
        {"k", "\x01\t\x7f", "k=%01%09%7F/", "k=%2501%2509%257F/"},
        {"k", "[x]{y}^*'\"\\", "k=%5Bx%5D%7By}%5E%2A%27%22%5C/", /* '}' is not Hive's */
         "k=%255Bx%255D%257By%7D%255E%252A%2527%2522%255C/"},
        {"k", "a+b,c;d@e&f$g!~()", "k=a+b,c;d@e&f$g!~()/", "k=a+b,c;d@e&f$g!~()/"},
        {"k", "<>|`", "k=<>|`/", "k=%3C%3E%7C%60/"},
        {"k", "nb\xc2\xa0sp", "k=nb\xc2\xa0sp/", "k=nb%C2%A0sp/"}, /* java.net.URI quotes U+00A0 */
        /* the golden tables: Spark's on-disk directory and add.path */
        {"_2", "bar+%21", "_2=bar+%2521/", "_2=bar+%252521/"},
        {"as_timestamp", "2021-09-08 11:11:11", "as_timestamp=2021-09-08 11%3A11%3A11/",
         "as_timestamp=2021-09-08%2011%253A11%253A11/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        delta_kv kv = {cases[i].key, cases[i].value};
        char disk[512], uri[512];
        dir_of(&kv, 1, false, disk, sizeof disk);
        dir_of(&kv, 1, true, uri, sizeof uri);
        CU_ASSERT_STRING_EQUAL(disk, cases[i].disk);
        CU_ASSERT_STRING_EQUAL(uri, cases[i].uri);
        if (strcmp(disk, cases[i].disk) || strcmp(uri, cases[i].uri)) {
            fprintf(stderr, "\n  case %zu: disk '%s' uri '%s'\n", i, disk, uri);
        }
    }
    /* several columns nest in order; none gives nothing */
    {
        delta_kv kv[] = {{"y", "2024"}, {"m", "05"}, {"city", "São Paulo"}};
        char disk[256], uri[256];
        dir_of(kv, 3, false, disk, sizeof disk);
        dir_of(kv, 3, true, uri, sizeof uri);
        CU_ASSERT_STRING_EQUAL(disk, "y=2024/m=05/city=São Paulo/");
        CU_ASSERT_STRING_EQUAL(uri, "y=2024/m=05/city=São%20Paulo/");
        dir_of(kv, 0, true, uri, sizeof uri);
        CU_ASSERT_STRING_EQUAL(uri, "");
    }
    /* Spark's own directories in the golden tables exist as we name them, and
     * their add.path is our URI form */
    {
        char *t = fixture("data-reader-escaped-chars");
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/_2=bar+%%2521", t);
        CU_ASSERT_EQUAL(stat(p, &st), 0);
        free(t);
        t = fixture("data-reader-partition-values");
        delta_kv kv[] = {{"as_int", "0"},
                         {"as_long", "0"},
                         {"as_byte", "0"},
                         {"as_short", "0"},
                         {"as_boolean", "true"},
                         {"as_float", "0.0"},
                         {"as_double", "0.0"},
                         {"as_string", "0"},
                         {"as_string_lit_null", "null"},
                         {"as_date", "2021-09-08"},
                         {"as_timestamp", "2021-09-08 11:11:11"},
                         {"as_big_decimal", "0"}};
        char disk[1024], uri[1024];
        dir_of(kv, 12, false, disk, sizeof disk);
        dir_of(kv, 12, true, uri, sizeof uri);
        snprintf(p, sizeof p, "%s/%s", t, disk);
        CU_ASSERT_EQUAL(stat(p, &st), 0);
        CU_ASSERT_STRING_EQUAL(uri, "as_int=0/as_long=0/as_byte=0/as_short=0/as_boolean=true/"
                                    "as_float=0.0/as_double=0.0/as_string=0/"
                                    "as_string_lit_null=null/as_date=2021-09-08/"
                                    "as_timestamp=2021-09-08%2011%253A11%253A11/"
                                    "as_big_decimal=0/");
        for (size_t i = 0; i < 12; i++) {
            kv[i].value = NULL;
        }
        dir_of(kv, 12, false, disk, sizeof disk);
        snprintf(p, sizeof p, "%s/%s", t, disk);
        CU_ASSERT_EQUAL(stat(p, &st), 0);
        free(t);
    }
    /* an empty key is refused */
    {
        delta_kv kv = {"", "x"};
        sm_buf b = SM_BUF_INIT;
        sm_error err = {0};
        CU_ASSERT_EQUAL(delta_partition_dir(&kv, 1, false, &b, &err), SM_ERR_USAGE);
        sm_buf_free(&b);
    }
}

/* Partition directories made here, read by DuckDB's hive partitioning, give
 * back the values; the URI form decodes to the directory. */
static void test_partition_dirs_round_trip_through_duckdb(void)
{
    static const char *const values[] = {"plain", "a b",  "100%",      "a/b",       "x=y:z",
                                         "ü日本", "#?&+", "[x]{y}^*'", "tab\there", "%41",
                                         "..",    "-",    "a%2Fb",     "São Paulo", NULL};
    enum { N = sizeof values / sizeof values[0] };
    char *dir = sm_test_tmpdir("dp-duck");
    char table[4096];
    sm_arena *a = sm_arena_create(0, 0);
    sm_field *c[] = {sm_field_new(a, "id", SM_INT64, false)};
    sm_field *schema = sm_field_struct(a, "root", c, 1, false);
    snprintf(table, sizeof table, "%s/t", dir);

    for (int i = 0; i < N; i++) {
        delta_kv kv = {"k", values[i]};
        char disk[512], uri[512], path[8192];
        sm_buf local = SM_BUF_INIT;
        sm_error err = {0};
        pq_writer *w;
        pq_file_info info;
        dir_of(&kv, 1, false, disk, sizeof disk);
        dir_of(&kv, 1, true, uri, sizeof uri);
        snprintf(path, sizeof path, "%s/%s", table, disk);
        CU_ASSERT_EQUAL_FATAL(sm_mkdir_p(path, &err), SM_OK);
        snprintf(path, sizeof path, "%s/%sf.parquet", table, disk);
        sm_column *batch = sm_column_new(a, schema, 1);
        CU_ASSERT_FATAL(!sm_column_append_valid(a, batch) &&
                        !sm_column_append_i64(a, batch->children[0], i));
        CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, schema, NULL, &w, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, batch, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, &info, &err), SM_OK);
        /* the log's form of the path leads to the same file */
        char logp[600];
        snprintf(logp, sizeof logp, "%sf.parquet", uri);
        CU_ASSERT_EQUAL(delta_file_local_path(table, logp, &local, &err), SM_OK);
        CU_ASSERT_STRING_EQUAL((const char *)local.data, path);
        sm_buf_free(&local);
    }
    char sql[8192];
    snprintf(sql, sizeof sql,
             "SELECT id, k FROM read_parquet('%s/*/*.parquet', "
             "hive_partitioning=true, "
             "hive_types_autocast=false) ORDER BY id",
             table);
    json_t *rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rows), N);
    for (int i = 0; i < N; i++) {
        json_t *r = json_array_get(rows, (size_t)i);
        const char *k = json_string_value(json_object_get(r, "k"));
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(r, "id")), i);
        if (values[i]) {
            CU_ASSERT_PTR_NOT_NULL(k);
            if (k) {
                CU_ASSERT_STRING_EQUAL(k, values[i]);
            }
        } else {
            CU_ASSERT(json_is_null(json_object_get(r, "k")));
        }
    }
    json_decref(rows);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"partition values of every type", test_partition_values_of_every_type},
    {"partition dirs escape as Hive and Spark", test_partition_dirs_escape_as_hive_and_spark},
    {"partition dirs round trip through DuckDB", test_partition_dirs_round_trip_through_duckdb},
    CU_TEST_INFO_NULL};

SM_TEST_MAIN("delta_partition", tests)
