/*
 * Tests of stream/expr.c: a table of (expression, row, expected value) over a three-row batch
 * covering NULL logic, every operator and function, LIKE, CASE, CAST, overflow and dates; a
 * table of compile errors with their positions; and a randomized comparison of the vectorised
 * evaluator against a per-row reference written here, over 10k-row batches with NULLs, with
 * and without selection vectors.
 */
#include <inttypes.h>
#include <math.h>

#include "core/clock.h"
#include "storage/parquet_writer.h"
#include "stream/expr.h"
#include "sm_test.h"

/* ---- the fixed batch ------------------------------------------------------------------------ */

enum { C_I, C_L, C_D, C_S, C_T, C_B, C_DT, C_TS, C_TSM, C_DEC, C_ST, C_OID, C_N, C_COUNT };

static sm_field *fixed_schema(sm_arena *a)
{
    sm_field *kids[2] = {sm_field_new(a, "x", SM_INT32, true),
                         sm_field_new(a, "y", SM_STRING, true)};
    sm_field *c[C_COUNT] = {
        sm_field_new(a, "i", SM_INT32, true),          sm_field_new(a, "l", SM_INT64, true),
        sm_field_new(a, "d", SM_DOUBLE, true),         sm_field_new(a, "s", SM_STRING, true),
        sm_field_new(a, "t", SM_STRING, true),         sm_field_new(a, "b", SM_BOOL, true),
        sm_field_new(a, "dt", SM_DATE, true),          sm_field_new(a, "ts", SM_TIMESTAMP_US, true),
        sm_field_new(a, "tsm", SM_TIMESTAMP_MS, true), sm_field_decimal(a, "dec", 10, 2, true),
        sm_field_struct(a, "st", kids, 2, true),       sm_field_new(a, "Order Id", SM_STRING, true),
        sm_field_new(a, "quantity", SM_INT32, true),
    };
    return sm_field_struct(a, "root", c, C_COUNT, false);
}

static void put_str(sm_arena *a, sm_column *c, const char *s)
{
    CU_ASSERT_EQUAL_FATAL(
        s ? sm_column_append_bytes(a, c, s, strlen(s)) : sm_column_append_null(a, c), 0);
}

static void put_i(sm_arena *a, sm_column *c, bool null, int64_t v)
{
    CU_ASSERT_EQUAL_FATAL(null ? sm_column_append_null(a, c) : sm_column_append_i64(a, c, v), 0);
}

static int64_t ts_us(const char *s)
{
    int64_t ms = 0;
    CU_ASSERT_EQUAL_FATAL(sm_parse_iso8601_ms(s, strlen(s), &ms), 0);
    return ms * 1000;
}

/* row 0: ordinary values; row 1: every column NULL; row 2: edges */
static sm_column *fixed_batch(sm_arena *a, sm_field *schema)
{
    sm_column *b = sm_column_new(a, schema, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sm_column **c = b->children;
    /* row 0 */
    put_i(a, c[C_I], false, 7);
    put_i(a, c[C_L], false, -3);
    sm_column_append_f64(a, c[C_D], 2.5);
    put_str(a, c[C_S], "Hello");
    put_str(a, c[C_T], "  ab  ");
    put_i(a, c[C_B], false, 1);
    put_i(a, c[C_DT], false, sm_days_from_civil(2024, 2, 29));
    put_i(a, c[C_TS], false, ts_us("2024-03-01T13:45:30.123Z") + 456);
    put_i(a, c[C_TSM], false, ts_us("2024-03-01T13:45:30.123Z") / 1000);
    put_i(a, c[C_DEC], false, 12345);
    sm_column_append_valid(a, c[C_ST]);
    put_i(a, c[C_ST]->children[0], false, 5);
    put_str(a, c[C_ST]->children[1], "in");
    put_str(a, c[C_OID], "A-1");
    put_i(a, c[C_N], false, 3);
    sm_column_append_valid(a, b);
    /* row 1 */
    for (int i = 0; i < C_COUNT; i++) {
        sm_column_append_null(a, c[i]);
    }
    sm_column_append_valid(a, b);
    /* row 2 */
    put_i(a, c[C_I], false, 0);
    put_i(a, c[C_L], false, INT64_MAX);
    sm_column_append_f64(a, c[C_D], -0.5);
    put_str(a, c[C_S], "");
    put_str(a, c[C_T], "x%y_z");
    put_i(a, c[C_B], false, 0);
    put_i(a, c[C_DT], false, -1);
    put_i(a, c[C_TS], false, -1);
    put_i(a, c[C_TSM], false, -1);
    put_i(a, c[C_DEC], false, -5);
    sm_column_append_valid(a, c[C_ST]);
    put_i(a, c[C_ST]->children[0], true, 0);
    put_str(a, c[C_ST]->children[1], "a");
    put_str(a, c[C_OID], "  ");
    put_i(a, c[C_N], false, 101);
    sm_column_append_valid(a, b);
    return b;
}

/* The value of slot k as text: NULL, true/false, integers, %.15g doubles, ISO dates. */
static void format_slot(const sm_column *c, int64_t k, char *buf, size_t n)
{
    if (!sm_column_is_valid(c, k)) {
        snprintf(buf, n, "NULL");
        return;
    }
    switch (c->field->type) {
    case SM_BOOL:
        snprintf(buf, n, "%s", ((const uint8_t *)c->values)[k] ? "true" : "false");
        break;
    case SM_INT64:
        snprintf(buf, n, "%" PRId64, ((const int64_t *)c->values)[k]);
        break;
    case SM_DOUBLE:
        snprintf(buf, n, "%.15g", ((const double *)c->values)[k]);
        break;
    case SM_STRING:
        snprintf(buf, n, "'%.*s'", c->offsets[k + 1] - c->offsets[k],
                 (const char *)c->data + c->offsets[k]);
        break;
    case SM_DATE: {
        int64_t y;
        unsigned m, d;
        sm_civil_from_days(((const int32_t *)c->values)[k], &y, &m, &d);
        snprintf(buf, n, "%04" PRId64 "-%02u-%02u", y, m, d);
        break;
    }
    case SM_TIMESTAMP_US: {
        int64_t us = ((const int64_t *)c->values)[k];
        int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
        char iso[40];
        sm_format_iso8601_ms(ms, iso, sizeof iso);
        snprintf(buf, n, "%s+%03d", iso, (int)(us - ms * 1000));
        break;
    }
    default:
        snprintf(buf, n, "?type %d", (int)c->field->type);
    }
}

typedef struct vcase {
    const char *expr;
    int row;
    const char *want;
} vcase;

static const vcase value_cases[] = {
    /* literals */
    {"1", 0, "1"},
    {"1.5", 0, "1.5"},
    {"1e3", 0, "1000"},
    {"'it''s'", 0, "'it's'"},
    {"TRUE", 0, "true"},
    {"false", 0, "false"},
    {"NULL", 0, "NULL"},
    {"DATE '2024-01-01'", 0, "2024-01-01"},
    {"TIMESTAMP '2024-01-01 10:00:00'", 0, "2024-01-01T10:00:00.000Z+000"},
    {"TIMESTAMP '2024-01-01T10:00:00.000123Z'", 0, "2024-01-01T10:00:00.000Z+123"},
    {"-9223372036854775808", 0, "-9223372036854775808"},
    {"TIMESTAMP '1969-12-31 23:59:59.999999'", 0, "1969-12-31T23:59:59.999Z+999"},
    {"TIMESTAMP '2024-01-01T10:00:00+02:00'", 0, "2024-01-01T08:00:00.000Z+000"},
    {"TIMESTAMP '2024-01-01T10:00:00.5'", 0, "2024-01-01T10:00:00.500Z+000"},
    /* columns */
    {"i", 0, "7"},
    {"i", 1, "NULL"},
    {"l", 2, "9223372036854775807"},
    {"d", 0, "2.5"},
    {"s", 0, "'Hello'"},
    {"b", 0, "true"},
    {"dt", 0, "2024-02-29"},
    {"ts", 0, "2024-03-01T13:45:30.123Z+456"},
    {"tsm", 0, "2024-03-01T13:45:30.123Z+000"},
    {"dec", 0, "123.45"},
    {"dec", 2, "-0.05"},
    {"st.x", 0, "5"},
    {"st.y", 0, "'in'"},
    {"st.x", 1, "NULL"},
    {"st.y", 1, "NULL"},
    {"st.x", 2, "NULL"},
    {"\"Order Id\"", 0, "'A-1'"},
    {"I + L", 0, "4"},
    /* arithmetic */
    {"i + l", 0, "4"},
    {"i - l", 0, "10"},
    {"i * l", 0, "-21"},
    {"i / 2", 0, "3.5"},
    {"i % 3", 0, "1"},
    {"l % 2", 0, "-1"},
    {"-7 % 3", 0, "-1"},
    {"i / 0", 0, "NULL"},
    {"i % 0", 0, "NULL"},
    {"d / 0", 0, "NULL"},
    {"d % 2", 0, "0.5"},
    {"i + d", 0, "9.5"},
    {"i + NULL", 0, "NULL"},
    {"i + l", 1, "NULL"},
    {"l + 1", 2, "NULL"},
    {"l * 2", 2, "NULL"},
    {"-l - 2", 2, "NULL"},
    {"-l - 1", 2, "-9223372036854775808"},
    {"-(-l - 1)", 2, "NULL"},
    {"abs(-l - 1)", 2, "NULL"},
    {"-i", 0, "-7"},
    {"- - i", 0, "7"},
    {"2 + 3 * 4", 0, "14"},
    {"(2 + 3) * 4", 0, "20"},
    {"10 - 2 - 3", 0, "5"},
    {"dec * 2", 0, "246.9"},
    /* comparison */
    {"i = 7", 0, "true"},
    {"i == 7", 0, "true"},
    {"i != 7", 0, "false"},
    {"i <> 8", 0, "true"},
    {"i < 8", 0, "true"},
    {"i <= 7", 0, "true"},
    {"i > 7", 0, "false"},
    {"i >= 8", 0, "false"},
    {"i = 7.0", 0, "true"},
    {"d > i", 0, "false"},
    {"i = NULL", 0, "NULL"},
    {"i = 7", 1, "NULL"},
    {"s = 'Hello'", 0, "true"},
    {"s < 'Help'", 0, "true"},
    {"s > ''", 2, "false"},
    {"'a' < 'ab'", 0, "true"},
    {"b = TRUE", 0, "true"},
    {"dt = DATE '2024-02-29'", 0, "true"},
    {"dt = '2024-02-29'", 0, "true"},
    {"dt < ts", 0, "true"},
    {"ts > '2024-03-01'", 0, "true"},
    {"ts = tsm", 0, "false"},
    /* logic */
    {"TRUE AND NULL", 0, "NULL"},
    {"FALSE AND NULL", 0, "false"},
    {"NULL AND FALSE", 0, "false"},
    {"TRUE OR NULL", 0, "true"},
    {"NULL OR TRUE", 0, "true"},
    {"FALSE OR NULL", 0, "NULL"},
    {"NOT NULL", 0, "NULL"},
    {"NOT b", 0, "false"},
    {"NOT b", 1, "NULL"},
    {"b AND i > 0", 0, "true"},
    {"b OR i > 0", 1, "NULL"},
    {"b OR TRUE", 1, "true"},
    {"b AND FALSE", 1, "false"},
    {"NOT i > 8 AND b", 0, "true"},
    {"TRUE OR FALSE AND FALSE", 0, "true"},
    /* IS NULL */
    {"i IS NULL", 0, "false"},
    {"i IS NULL", 1, "true"},
    {"i IS NOT NULL", 1, "false"},
    {"st.x IS NULL", 2, "true"},
    {"NULL IS NULL", 0, "true"},
    {"i / 0 IS NULL", 0, "true"},
    /* IN */
    {"i IN (1, 7, 9)", 0, "true"},
    {"i IN (1, 2)", 0, "false"},
    {"i IN (1, NULL)", 0, "NULL"},
    {"i IN (7, NULL)", 0, "true"},
    {"i NOT IN (1, 2)", 0, "true"},
    {"i NOT IN (1, NULL)", 0, "NULL"},
    {"i IN (1, 2)", 1, "NULL"},
    {"s IN ('a', 'Hello')", 0, "true"},
    {"i IN (7.0)", 0, "true"},
    {"dt IN ('2024-02-29')", 0, "true"},
    /* BETWEEN */
    {"i BETWEEN 1 AND 7", 0, "true"},
    {"i BETWEEN 8 AND 9", 0, "false"},
    {"i NOT BETWEEN 8 AND 9", 0, "true"},
    {"i BETWEEN NULL AND 9", 0, "NULL"},
    {"i BETWEEN 8 AND NULL", 0, "false"},
    {"quantity > 0 AND quantity <= 100", 2, "false"},
    /* LIKE */
    {"s LIKE 'H%'", 0, "true"},
    {"s LIKE 'h%'", 0, "false"},
    {"s LIKE '%llo'", 0, "true"},
    {"s LIKE 'H_llo'", 0, "true"},
    {"s LIKE 'H_lo'", 0, "false"},
    {"s LIKE '%'", 2, "true"},
    {"s LIKE '_'", 2, "false"},
    {"s LIKE ''", 2, "true"},
    {"s LIKE '%l%l%'", 0, "true"},
    {"s LIKE 'Hello%%'", 0, "true"},
    {"s NOT LIKE 'H%'", 0, "false"},
    {"s LIKE 'H%'", 1, "NULL"},
    {"t LIKE 'x\\%y\\_z'", 2, "true"},
    {"'x%yz' LIKE 'x\\%y\\_z'", 0, "false"},
    {"t LIKE 'x!%y!_z' ESCAPE '!'", 2, "true"},
    {"'é!' LIKE '_!'", 0, "true"},
    {"'aaa' LIKE '%a%a%a%'", 0, "true"},
    {"'aa' LIKE '%a%a%a%'", 0, "false"},
    {"s LIKE NULL", 0, "NULL"},
    /* CASE */
    {"CASE WHEN i > 5 THEN 'big' ELSE 'small' END", 0, "'big'"},
    {"CASE WHEN i > 5 THEN 'big' ELSE 'small' END", 2, "'small'"},
    {"CASE WHEN i > 5 THEN 'big' ELSE 'small' END", 1, "'small'"},
    {"CASE WHEN i > 5 THEN 'big' END", 2, "NULL"},
    {"CASE WHEN i > 5 THEN 1 WHEN i > 6 THEN 2 ELSE 3 END", 0, "1"},
    {"CASE WHEN i < 0 THEN 1 WHEN i = 0 THEN 2.5 END", 2, "2.5"},
    {"CASE i WHEN 7 THEN 'seven' WHEN 0 THEN 'zero' END", 0, "'seven'"},
    {"CASE i WHEN 7 THEN 'seven' WHEN 0 THEN 'zero' END", 2, "'zero'"},
    {"CASE i WHEN 7 THEN 'seven' ELSE 'other' END", 1, "'other'"},
    {"CASE WHEN NULL THEN 1 ELSE 2 END", 0, "2"},
    {"CASE WHEN b THEN NULL ELSE i END", 0, "NULL"},
    /* CAST */
    {"CAST('42' AS INT)", 0, "42"},
    {"CAST(' 42 ' AS bigint)", 0, "42"},
    {"CAST('4x' AS INT)", 0, "NULL"},
    {"CAST('12.7' AS INT)", 0, "12"},
    {"CAST(l AS INT)", 2, "NULL"},
    {"CAST(l AS BIGINT)", 2, "9223372036854775807"},
    {"CAST(d AS INT)", 0, "2"},
    {"CAST(-2.9 AS INT)", 0, "-2"},
    {"CAST(1e300 AS BIGINT)", 0, "NULL"},
    {"CAST(i AS DOUBLE)", 0, "7"},
    {"CAST(i AS STRING)", 0, "'7'"},
    {"CAST(d AS STRING)", 0, "'2.5'"},
    {"CAST(1.0 AS STRING)", 0, "'1.0'"},
    {"CAST(b AS STRING)", 0, "'true'"},
    {"CAST(dt AS STRING)", 0, "'2024-02-29'"},
    {"CAST(ts AS STRING)", 0, "'2024-03-01 13:45:30.123456'"},
    {"CAST(ts AS STRING)", 2, "'1969-12-31 23:59:59.999999'"},
    {"CAST(ts AS DATE)", 0, "2024-03-01"},
    {"CAST(ts AS DATE)", 2, "1969-12-31"},
    {"CAST(dt AS TIMESTAMP)", 0, "2024-02-29T00:00:00.000Z+000"},
    {"CAST('2024-02-30' AS DATE)", 0, "NULL"},
    {"CAST('2024-02-28' AS DATE)", 0, "2024-02-28"},
    {"CAST('2024-02-28 10:00:00' AS DATE)", 0, "2024-02-28"},
    {"CAST('garbage' AS TIMESTAMP)", 0, "NULL"},
    {"CAST('true' AS BOOLEAN)", 0, "true"},
    {"CAST('no' AS BOOLEAN)", 0, "false"},
    {"CAST('maybe' AS BOOLEAN)", 0, "NULL"},
    {"CAST(0 AS BOOLEAN)", 0, "false"},
    {"CAST(b AS INT)", 0, "1"},
    {"CAST(2.345 AS DECIMAL(5,2))", 0, "2.35"},
    {"CAST('1.5' AS DOUBLE)", 0, "1.5"},
    {"CAST(NULL AS INT)", 0, "NULL"},
    {"CAST(s AS INT)", 1, "NULL"},
    /* functions */
    {"length(s)", 0, "5"},
    {"length(s)", 2, "0"},
    {"length(s)", 1, "NULL"},
    {"length('héllo')", 0, "5"},
    {"LENGTH(trim(t))", 0, "2"},
    {"trim(t)", 0, "'ab'"},
    {"ltrim(t)", 0, "'ab  '"},
    {"rtrim(t)", 0, "'  ab'"},
    {"lower(s)", 0, "'hello'"},
    {"upper(s)", 0, "'HELLO'"},
    {"upper(s)", 1, "NULL"},
    {"substr(s, 2, 3)", 0, "'ell'"},
    {"substr(s, 2)", 0, "'ello'"},
    {"substring(s, 0, 2)", 0, "'He'"},
    {"substr(s, -3)", 0, "'llo'"},
    {"substr(s, -3, 2)", 0, "'ll'"},
    {"substr(s, 10)", 0, "''"},
    {"substr(s, 2, 0)", 0, "''"},
    {"substr(s, 2, -1)", 0, "''"},
    {"substr(s, NULL)", 0, "NULL"},
    {"substr('héllo', 2, 2)", 0, "'él'"},
    {"coalesce(i, 9)", 1, "9"},
    {"coalesce(i, 9)", 0, "7"},
    {"coalesce(NULL, NULL)", 0, "NULL"},
    {"coalesce(i, l, 5)", 1, "5"},
    {"coalesce(s, 'none')", 1, "'none'"},
    {"coalesce(i, 2.5)", 1, "2.5"},
    {"abs(l)", 0, "3"},
    {"abs(d)", 2, "0.5"},
    {"abs(i)", 1, "NULL"},
    {"round(2.5)", 0, "3"},
    {"round(-2.5)", 0, "-3"},
    {"round(3.14159, 2)", 0, "3.14"},
    {"round(d)", 0, "3"},
    {"round(i)", 0, "7"},
    {"round(1250, -2)", 0, "1300"},
    {"round(-1250, -2)", 0, "-1300"},
    {"round(1249, -2)", 0, "1200"},
    {"round(d, NULL)", 0, "NULL"},
    {"regexp_like(s, '^H[a-z]+$')", 0, "true"},
    {"regexp_like(s, '^h')", 0, "false"},
    {"regexp_like(s, 'x')", 1, "NULL"},
    {"regexp_like(\"Order Id\", '^[A-Z]-[0-9]+$')", 0, "true"},
    {"year(dt)", 0, "2024"},
    {"month(dt)", 0, "2"},
    {"day(dt)", 0, "29"},
    {"year(ts)", 0, "2024"},
    {"month(ts)", 0, "3"},
    {"day(ts)", 0, "1"},
    {"hour(ts)", 0, "13"},
    {"minute(ts)", 0, "45"},
    {"second(ts)", 0, "30"},
    {"hour(ts)", 2, "23"},
    {"year(ts)", 2, "1969"},
    {"day(dt)", 2, "31"},
    {"hour(dt)", 0, "0"},
    {"year(ts)", 1, "NULL"},
    {"year('2023-05-06')", 0, "2023"},
    {"date_trunc('year', ts)", 0, "2024-01-01T00:00:00.000Z+000"},
    {"date_trunc('quarter', ts)", 0, "2024-01-01T00:00:00.000Z+000"},
    {"date_trunc('MONTH', ts)", 0, "2024-03-01T00:00:00.000Z+000"},
    {"date_trunc('week', ts)", 0, "2024-02-26T00:00:00.000Z+000"},
    {"date_trunc('day', ts)", 0, "2024-03-01T00:00:00.000Z+000"},
    {"date_trunc('hour', ts)", 0, "2024-03-01T13:00:00.000Z+000"},
    {"date_trunc('minute', ts)", 0, "2024-03-01T13:45:00.000Z+000"},
    {"date_trunc('second', ts)", 0, "2024-03-01T13:45:30.000Z+000"},
    {"date_trunc('day', ts)", 2, "1969-12-31T00:00:00.000Z+000"},
    {"date_trunc('week', DATE '1970-01-01')", 0, "1969-12-29T00:00:00.000Z+000"},
    {"date_trunc('month', dt)", 0, "2024-02-01T00:00:00.000Z+000"},
    {"date_trunc('day', ts)", 1, "NULL"},
    {"date_trunc('hour', '2024-05-05 10:30:00')", 0, "2024-05-05T10:00:00.000Z+000"},
    {"current_date", 0, "2024-06-01"},
    {"current_date()", 0, "2024-06-01"},
    {"current_timestamp()", 0, "2024-06-01T12:00:00.000Z+000"},
    {"year(current_date) = 2024", 0, "true"},
    {"dt < current_date", 0, "true"},
    /* the example pipeline's rules */
    {"\"Order Id\" IS NOT NULL AND length(trim(\"Order Id\")) > 0", 0, "true"},
    {"\"Order Id\" IS NOT NULL AND length(trim(\"Order Id\")) > 0", 1, "false"},
    {"\"Order Id\" IS NOT NULL AND length(trim(\"Order Id\")) > 0", 2, "false"},
    {"quantity > 0 AND quantity <= 100", 0, "true"},
    {"quantity > 0 AND quantity <= 100", 1, "NULL"},
    {"dec * quantity <= 100000", 0, "true"},
};

typedef struct ecase {
    const char *expr;
    const char *want; /* part of the message */
} ecase;

static const ecase error_cases[] = {
    {"quantty > 0", "at 1: unknown column 'quantty'; did you mean 'quantity'?"},
    {"i > 0 AND quantty > 0", "at 11: unknown column 'quantty'"},
    {"zzzzzzz = 1", "at 1: unknown column 'zzzzzzz'"},
    {"s = 3", "at 3: cannot compare string with int"},
    {"b < 1", "cannot compare boolean with int"},
    {"dt = 5", "cannot compare date with int"},
    {"length(s, 2)", "at 1: length() takes 1 argument"},
    {"length(i)", "at 8: length() takes a string, not int"},
    {"substr(s)", "substr() takes 2 to 3 arguments"},
    {"coalesce()", "coalesce() takes at least 1 argument"},
    {"coalesce(i, s)", "coalesce() cannot mix int with string"},
    {"lenght(s)", "unknown function 'lenght'; did you mean 'length'?"},
    {"s + 1", "at 3: cannot apply '+' to string and int"},
    {"-s", "unary - needs a number"},
    {"i AND b", "AND needs a boolean, not int"},
    {"NOT i", "NOT needs a boolean"},
    {"i OR b", "OR needs a boolean"},
    {"i > ", "unexpected end of expression"},
    {"i > 1 1", "at 7: unexpected '1'"},
    {"(i > 1", "expected ')'"},
    {"'abc", "at 1: unterminated string"},
    {"i # 1", "at 3: unexpected character '#'"},
    {"CAST(i AS blob)", "unknown type 'blob'"},
    {"CAST(b AS DATE)", "cannot cast boolean to date"},
    {"CAST(dt AS INT)", "cannot cast date to int"},
    {"CASE WHEN i THEN 1 END", "WHEN needs a boolean, not int"},
    {"CASE WHEN b THEN 1 ELSE 'x' END", "CASE cannot mix int with string"},
    {"CASE i END", "CASE needs at least one WHEN"},
    {"i LIKE 'x'", "LIKE needs strings"},
    {"s LIKE 'x' ESCAPE 'ab'", "ESCAPE takes a one-character string"},
    {"i IN (1, 'a')", "cannot compare int with string in IN"},
    {"regexp_like(s, t)", "pattern must be a string literal"},
    {"regexp_like(s, '(')", "regexp_like() pattern '('"},
    {"year(i)", "year() takes a date or timestamp, not int"},
    {"DATE '2024-13-01'", "'2024-13-01' is not a date"},
    {"dt = 'yesterday'", "'yesterday' is not a date"},
    {"st.zz = 1", "unknown column 'zz'"},
    {"i.x = 1", "not a struct"},
    {"round(s)", "round() takes a number"},
    {"abs(s)", "abs() takes a number"},
    {"", "unexpected end of expression"},
    {"date_trunc('fortnight', ts)", "at 12: date_trunc() unit 'fortnight' is not one of"},
    {"date_trunc(s, ts)", "unit must be a string literal"},
    {"date_trunc('day', i)", "date_trunc() takes a date or timestamp, not int"},
    {"i = 1 AND", "unexpected end of expression"},
    {"CAST(i AS DECIMAL(50, 2))", "not a valid decimal type"},
    {"1abc", "unexpected 'a' after a number"},
};

static void test_expr_value_table(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *schema = fixed_schema(a);
    sm_column *batch = fixed_batch(a, schema);
    sm_expr_ctx ctx = {.batch_ts_ms = ts_us("2024-06-01T12:00:00Z") / 1000};
    size_t n = sizeof value_cases / sizeof value_cases[0];
    CU_ASSERT(n >= 150);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const vcase *vc = &value_cases[i];
        sm_error err = {0};
        sm_expr *e = NULL;
        if (sm_expr_compile(vc->expr, schema, NULL, &e, &err) != 0) {
            fprintf(stderr, "case %zu '%s': compile failed: %s\n", i, vc->expr, err.msg);
            failures++;
            continue;
        }
        int64_t row = vc->row;
        sm_column *out = NULL;
        char got[1100];
        if (sm_expr_eval(e, batch, &ctx, &row, 1, a, &out, &err) != 0) {
            snprintf(got, sizeof got, "error: %s", err.msg);
        } else {
            format_slot(out, 0, got, sizeof got);
        }
        if (strcmp(got, vc->want) != 0) {
            fprintf(stderr, "case %zu '%s' row %d: got %s, want %s\n", i, vc->expr, vc->row, got,
                    vc->want);
            failures++;
        }
        sm_expr_destroy(e);
    }
    CU_ASSERT_EQUAL(failures, 0);
    sm_arena_destroy(a);
}

static void test_expr_compile_errors_name_position(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *schema = fixed_schema(a);
    int failures = 0;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        sm_error err = {0};
        sm_expr *e = NULL;
        int rc = sm_expr_compile(error_cases[i].expr, schema, a, &e, &err);
        if (rc == 0 || e || !strstr(err.msg, error_cases[i].want) || err.code != SM_ERR_USAGE) {
            fprintf(stderr, "error case '%s': rc %d, msg '%s', want '%s'\n", error_cases[i].expr,
                    rc, err.msg, error_cases[i].want);
            failures++;
        }
        sm_expr_destroy(e);
    }
    CU_ASSERT_EQUAL(failures, 0);
    sm_arena_destroy(a);
}

static void test_expr_result_types(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *schema = fixed_schema(a);
    static const struct {
        const char *expr;
        sm_type t;
    } cases[] = {{"i > 1", SM_BOOL},      {"i + 1", SM_INT64}, {"i / 1", SM_DOUBLE},
                 {"upper(s)", SM_STRING}, {"dt", SM_DATE},     {"tsm", SM_TIMESTAMP_US},
                 {"NULL", SM_BOOL},       {"dec", SM_DOUBLE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_error err = {0};
        sm_expr *e = NULL;
        CU_ASSERT_EQUAL_FATAL(sm_expr_compile(cases[i].expr, schema, a, &e, &err), 0);
        CU_ASSERT_EQUAL(sm_expr_result(e)->type, cases[i].t);
        CU_ASSERT_STRING_EQUAL(sm_expr_text(e), cases[i].expr);
        sm_expr_destroy(e);
    }
    /* filter refuses a non-boolean expression */
    sm_column *batch = fixed_batch(a, schema);
    sm_expr *e = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sm_expr_compile("i + 1", schema, NULL, &e, &err), 0);
    int64_t t[3], f[3], nt, nf;
    CU_ASSERT_EQUAL(sm_expr_filter(e, batch, NULL, NULL, 3, a, t, &nt, f, &nf, &err), SM_ERR_USAGE);
    sm_expr_destroy(e);
    sm_arena_destroy(a);
}

/* ---- randomized: vectorised vs per-row reference -----------------------------------------------
 */

typedef struct rrow {
    bool an, bn, xn, sn;
    int64_t a, b;
    double x;
    const char *s;
} rrow;

typedef struct rval {
    bool null;
    int64_t i;
    double d;
    const char *s;
} rval;

static uint64_t rnd(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return *seed >> 33;
}
#define RND() rnd(&seed)

static const char *const words[] = {"apple", "Apple", "banana", "", "app", "cherry pie", "a_b"};

static bool ref_like_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Each randomized expression with its reference per row. */
typedef rval (*ref_fn)(const rrow *r);

static rval r_null(void)
{
    rval v = {.null = true};
    return v;
}
static rval r_int(int64_t i)
{
    rval v = {.i = i};
    return v;
}
static rval r_dbl(double d)
{
    rval v = {.d = d};
    return v;
}
static rval r_str(const char *s)
{
    rval v = {.s = s};
    return v;
}

static rval ref_add(const rrow *r)
{
    int64_t o;
    if (r->an || r->bn || __builtin_add_overflow(r->a, r->b, &o)) {
        return r_null();
    }
    return r_int(o);
}
static rval ref_mul(const rrow *r)
{
    int64_t o;
    if (r->an || r->bn || __builtin_mul_overflow(r->a, r->b, &o)) {
        return r_null();
    }
    return r_int(o);
}
static rval ref_mod(const rrow *r)
{
    if (r->an || r->bn || r->b == 0) {
        return r_null();
    }
    return r_int(r->b == -1 ? 0 : r->a % r->b);
}
static rval ref_div(const rrow *r)
{
    if (r->an || r->bn || r->b == 0) {
        return r_null();
    }
    return r_dbl((double)r->a / (double)r->b);
}
/* a < b AND s LIKE 'app%' */
static rval ref_and(const rrow *r)
{
    bool ln = r->an || r->bn, rn = r->sn;
    bool lv = !ln && r->a < r->b, rv = !rn && ref_like_prefix(r->s, "app");
    if ((!ln && !lv) || (!rn && !rv)) {
        return r_int(0);
    }
    if (ln || rn) {
        return r_null();
    }
    return r_int(1);
}
/* a > 0 OR x < 0.5 */
static rval ref_or(const rrow *r)
{
    bool ln = r->an, rn = r->xn;
    bool lv = !ln && r->a > 0, rv = !rn && r->x < 0.5;
    if (lv || rv) {
        return r_int(1);
    }
    if (ln || rn) {
        return r_null();
    }
    return r_int(0);
}
static rval ref_coalesce(const rrow *r)
{
    return r->an ? (r->bn ? r_int(-1) : r_int(r->b)) : r_int(r->a);
}
static rval ref_case(const rrow *r)
{
    if (!r->an && r->a > 10) {
        return r->sn ? r_null() : r_str(r->s);
    }
    if (!r->xn && r->x > 0.25) {
        return r_str("x");
    }
    return r_str("other");
}
static rval ref_in(const rrow *r)
{
    if (r->an) {
        return r_null();
    }
    if (r->a == 1 || r->a == 2 || r->a == 3) {
        return r_int(0); /* NOT IN */
    }
    return r_int(1);
}
static rval ref_length(const rrow *r)
{
    return r->sn ? r_null() : r_int((int64_t)strlen(r->s));
}
static rval ref_between_x(const rrow *r)
{
    if (r->xn) {
        return r_null();
    }
    return r_int(r->x >= 0.25 && r->x <= 0.75);
}
static rval ref_isnull(const rrow *r)
{
    return r_int(r->an || r->sn);
}
static rval ref_upper_eq(const rrow *r)
{
    if (r->sn) {
        return r_null();
    }
    return r_int(strcasecmp(r->s, "apple") == 0);
}
static rval ref_abs_neg(const rrow *r)
{
    if (r->an || r->a == INT64_MIN) {
        return r_null();
    }
    return r_int(r->a < 0 ? r->a : -r->a);
}

/* Comparisons against a literal, either side (one pass, no vector of the literal). */
static rval ref_lit_le(const rrow *r) /* 3 >= a */
{
    return r->an ? r_null() : r_int(r->a <= 3);
}
static rval ref_lit_ne(const rrow *r) /* a <> -2 */
{
    return r->an ? r_null() : r_int(r->a != -2);
}
static rval ref_lit_gt_x(const rrow *r) /* 0.5 < x */
{
    return r->xn ? r_null() : r_int(r->x > 0.5);
}
static rval ref_lit_eq_x(const rrow *r) /* x = 0.25 */
{
    return r->xn ? r_null() : r_int(r->x == 0.25);
}
static rval ref_lit_ge_s(const rrow *r) /* s >= 'app' */
{
    return r->sn ? r_null() : r_int(strcmp(r->s, "app") >= 0);
}
static rval ref_lit_lt_s(const rrow *r) /* 'apple' > s */
{
    return r->sn ? r_null() : r_int(strcmp(r->s, "apple") < 0);
}
static rval ref_lit_null(const rrow *r) /* a = NULL */
{
    (void)r;
    return r_null();
}

static const struct {
    const char *expr;
    ref_fn ref;
} rand_cases[] = {
    {"a + b", ref_add},
    {"a * b", ref_mul},
    {"a % b", ref_mod},
    {"a / b", ref_div},
    {"a < b AND s LIKE 'app%'", ref_and},
    {"a > 0 OR x < 0.5", ref_or},
    {"coalesce(a, b, -1)", ref_coalesce},
    {"CASE WHEN a > 10 THEN s WHEN x > 0.25 THEN 'x' ELSE 'other' END", ref_case},
    {"a NOT IN (1, 2, 3)", ref_in},
    {"length(s)", ref_length},
    {"x BETWEEN 0.25 AND 0.75", ref_between_x},
    {"a IS NULL OR s IS NULL", ref_isnull},
    {"upper(s) = 'APPLE'", ref_upper_eq},
    {"-abs(a)", ref_abs_neg},
    {"3 >= a", ref_lit_le},
    {"a <> -2", ref_lit_ne},
    {"0.5 < x", ref_lit_gt_x},
    {"x = 0.25", ref_lit_eq_x},
    {"s >= 'app'", ref_lit_ge_s},
    {"'apple' > s", ref_lit_lt_s},
    {"a = NULL", ref_lit_null},
};

static bool slot_matches(const sm_column *c, int64_t k, rval want)
{
    bool valid = sm_column_is_valid(c, k);
    if (want.null || !valid) {
        return want.null && !valid;
    }
    switch (c->field->type) {
    case SM_BOOL:
        return ((const uint8_t *)c->values)[k] == (want.i != 0);
    case SM_INT64:
        return ((const int64_t *)c->values)[k] == want.i;
    case SM_DOUBLE:
        return ((const double *)c->values)[k] == want.d;
    case SM_STRING:
        return (size_t)(c->offsets[k + 1] - c->offsets[k]) == strlen(want.s) &&
               memcmp(c->data + c->offsets[k], want.s, strlen(want.s)) == 0;
    default:
        return false;
    }
}

static void test_expr_randomized_matches_per_row_reference(void)
{
    enum { N = 10000 };
    sm_arena *a = sm_arena_create(1 << 20, 0);
    sm_field *c[4] = {sm_field_new(a, "a", SM_INT64, true), sm_field_new(a, "b", SM_INT32, true),
                      sm_field_new(a, "x", SM_DOUBLE, true), sm_field_new(a, "s", SM_STRING, true)};
    sm_field *schema = sm_field_struct(a, "root", c, 4, false);
    rrow *rows = calloc(N, sizeof *rows);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 3; round++) {
        sm_column *batch = sm_column_new(a, schema, N);
        for (int i = 0; i < N; i++) {
            rrow *r = &rows[i];
            r->an = RND() % 10 == 0;
            r->bn = RND() % 10 == 0;
            r->xn = RND() % 10 == 0;
            r->sn = RND() % 10 == 0;
            uint64_t pick = RND() % 20;
            r->a = pick == 0   ? INT64_MAX
                   : pick == 1 ? INT64_MIN
                   : pick == 2 ? (int64_t)(RND() << 31) * (RND() % 2 ? 1 : -1)
                               : (int64_t)(RND() % 41) - 20;
            r->b = pick == 3 ? INT32_MIN : (int64_t)(RND() % 21) - 10;
            r->x = (double)(RND() % 1000) / 1000.0;
            r->s = words[RND() % (sizeof words / sizeof words[0])];
            put_i(a, batch->children[0], r->an, r->a);
            put_i(a, batch->children[1], r->bn, r->b);
            if (r->xn) {
                sm_column_append_null(a, batch->children[2]);
            } else {
                sm_column_append_f64(a, batch->children[2], r->x);
            }
            put_str(a, batch->children[3], r->sn ? NULL : r->s);
            sm_column_append_valid(a, batch);
        }
        /* every third row, as a selection vector */
        int64_t *sel = sm_arena_alloc(a, sizeof(int64_t) * N);
        int64_t nsel = 0;
        for (int64_t i = round; i < N; i += 3) {
            sel[nsel++] = i;
        }
        for (size_t q = 0; q < sizeof rand_cases / sizeof rand_cases[0]; q++) {
            sm_error err = {0};
            sm_expr *e = NULL;
            CU_ASSERT_EQUAL_FATAL(sm_expr_compile(rand_cases[q].expr, schema, NULL, &e, &err), 0);
            sm_column *all = NULL, *some = NULL;
            CU_ASSERT_EQUAL_FATAL(sm_expr_eval(e, batch, NULL, NULL, N, a, &all, &err), 0);
            CU_ASSERT_EQUAL_FATAL(sm_expr_eval(e, batch, NULL, sel, nsel, a, &some, &err), 0);
            CU_ASSERT_EQUAL(all->length, N);
            int bad = 0;
            for (int64_t i = 0; i < N; i++) {
                rval want = rand_cases[q].ref(&rows[i]);
                if (!slot_matches(all, i, want)) {
                    if (bad++ < 3) {
                        char got[128];
                        format_slot(all, i, got, sizeof got);
                        fprintf(stderr,
                                "'%s' row %" PRId64 ": got %s (a=%s%" PRId64 " b=%s%" PRId64 ")\n",
                                rand_cases[q].expr, i, got, rows[i].an ? "NULL " : "", rows[i].a,
                                rows[i].bn ? "NULL " : "", rows[i].b);
                    }
                }
            }
            for (int64_t k = 0; k < nsel; k++) {
                if (!slot_matches(some, k, rand_cases[q].ref(&rows[sel[k]]))) {
                    bad++;
                }
            }
            CU_ASSERT_EQUAL(bad, 0);
            if (sm_expr_result(e)->type == SM_BOOL) {
                int64_t *t = sm_arena_alloc(a, sizeof(int64_t) * N);
                int64_t *f = sm_arena_alloc(a, sizeof(int64_t) * N);
                int64_t nt = -1, nf = -1;
                CU_ASSERT_EQUAL_FATAL(
                    sm_expr_filter(e, batch, NULL, sel, nsel, a, t, &nt, f, &nf, &err), 0);
                CU_ASSERT_EQUAL(nt + nf, nsel);
                int64_t wt = 0, ti = 0, fi = 0;
                for (int64_t k = 0; k < nsel; k++) {
                    rval w = rand_cases[q].ref(&rows[sel[k]]);
                    if (!w.null && w.i) {
                        wt++;
                        CU_ASSERT(ti < nt && t[ti++] == sel[k]);
                    } else {
                        CU_ASSERT(fi < nf && f[fi++] == sel[k]);
                    }
                }
                CU_ASSERT_EQUAL(nt, wt);
                /* without a fail list */
                int64_t nt2 = -1;
                CU_ASSERT_EQUAL(
                    sm_expr_filter(e, batch, NULL, NULL, N, a, t, &nt2, NULL, NULL, &err), 0);
                CU_ASSERT(nt2 >= 0 && nt2 <= N);
            }
            sm_expr_destroy(e);
        }
        sm_arena_reset(a);
        /* schema lives in the arena too: rebuild it */
        c[0] = sm_field_new(a, "a", SM_INT64, true);
        c[1] = sm_field_new(a, "b", SM_INT32, true);
        c[2] = sm_field_new(a, "x", SM_DOUBLE, true);
        c[3] = sm_field_new(a, "s", SM_STRING, true);
        schema = sm_field_struct(a, "root", c, 4, false);
    }
    free(rows);
    sm_arena_destroy(a);
}

/* ---- DuckDB on the same data ------------------------------------------------------------------
 */

static const struct {
    const char *mine, *duck;
} duck_cases[] = {
    {"a < b AND s LIKE 'app%'", NULL},
    {"a > 0 OR x < 0.5", NULL},
    {"a / b", "a / NULLIF(b, 0)"},
    {"a % b", "a % NULLIF(b, 0)"},
    {"coalesce(a, b, -1)", NULL},
    {"CASE WHEN a > 10 THEN s WHEN x > 0.25 THEN 'x' ELSE 'other' END", NULL},
    {"a NOT IN (1, 2, 3, NULL)", NULL},
    {"a IN (1, 2, b)", NULL},
    {"length(s)", NULL},
    {"upper(s)", NULL},
    {"substr(s, 2, 3)", NULL},
    {"substr(s, -2)", NULL},
    {"trim(s)", NULL},
    {"x BETWEEN 0.25 AND 0.75", NULL},
    {"round(x, 2)", NULL},
    {"abs(a - b) * 2 + a % 3", NULL},
    {"NOT (a = b) OR s IS NULL", NULL},
    {"s IN ('apple', 'banana')", NULL},
    {"CAST(a AS STRING)", NULL},
    {"a + b * 2 >= x * 10", NULL},
    {"s LIKE '%p%e'", NULL},
    {"s NOT LIKE 'a\\_%'", "s NOT LIKE 'a\\_%' ESCAPE '\\'"},
    {"CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", NULL},
};

static bool duck_matches(const sm_column *c, int64_t k, const json_t *v)
{
    bool valid = sm_column_is_valid(c, k);
    if (json_is_null(v) || !valid) {
        return json_is_null(v) && !valid;
    }
    switch (c->field->type) {
    case SM_BOOL:
        return json_is_boolean(v) && json_is_true(v) == (((const uint8_t *)c->values)[k] != 0);
    case SM_INT64:
        return sm_test_int(v) == ((const int64_t *)c->values)[k];
    case SM_DOUBLE: {
        double want = json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v);
        double got = ((const double *)c->values)[k];
        return fabs(want - got) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
    }
    case SM_STRING: {
        const char *w = json_string_value(v);
        return w && strlen(w) == (size_t)(c->offsets[k + 1] - c->offsets[k]) &&
               memcmp(w, c->data + c->offsets[k], strlen(w)) == 0;
    }
    default:
        return false;
    }
}

static void test_expr_agrees_with_duckdb(void)
{
    enum { N = 10000 };
    sm_arena *a = sm_arena_create(1 << 20, 0);
    sm_field *c[4] = {sm_field_new(a, "a", SM_INT64, true), sm_field_new(a, "b", SM_INT32, true),
                      sm_field_new(a, "x", SM_DOUBLE, true), sm_field_new(a, "s", SM_STRING, true)};
    sm_field *schema = sm_field_struct(a, "root", c, 4, false);
    sm_column *batch = sm_column_new(a, schema, N);
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        put_i(a, batch->children[0], RND() % 10 == 0, (int64_t)(RND() % 41) - 20);
        put_i(a, batch->children[1], RND() % 10 == 0, (int64_t)(RND() % 21) - 10);
        if (RND() % 10 == 0) {
            sm_column_append_null(a, batch->children[2]);
        } else {
            sm_column_append_f64(a, batch->children[2], (double)(RND() % 100000) / 100000.0);
        }
        put_str(a, batch->children[3],
                RND() % 10 == 0 ? NULL : words[RND() % (sizeof words / sizeof words[0])]);
        sm_column_append_valid(a, batch);
    }
    char *dir = sm_test_tmpdir("expr-duck");
    char path[4096];
    snprintf(path, sizeof path, "%s/rows.parquet", dir);
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    pq_writer *w = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, schema, &o, &w, &err), 0);
    CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, batch, &err), 0);
    CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, NULL, &err), 0);

    size_t nq = sizeof duck_cases / sizeof duck_cases[0];
    char *sql = malloc(65536);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    size_t at = (size_t)snprintf(sql, 65536, "SELECT file_row_number AS r");
    for (size_t q = 0; q < nq; q++) {
        at += (size_t)snprintf(sql + at, 65536 - at, ", (%s) AS e%zu",
                               duck_cases[q].duck ? duck_cases[q].duck : duck_cases[q].mine, q);
    }
    snprintf(sql + at, 65536 - at, " FROM read_parquet('%s', file_row_number = true) ORDER BY r",
             path);
    json_t *rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL_FATAL(json_array_size(rows), N);
    for (size_t q = 0; q < nq; q++) {
        sm_expr *e = NULL;
        CU_ASSERT_EQUAL_FATAL(sm_expr_compile(duck_cases[q].mine, schema, NULL, &e, &err), 0);
        sm_column *out = NULL;
        CU_ASSERT_EQUAL_FATAL(sm_expr_eval(e, batch, NULL, NULL, N, a, &out, &err), 0);
        char key[16];
        snprintf(key, sizeof key, "e%zu", q);
        int bad = 0;
        for (int64_t i = 0; i < N; i++) {
            json_t *v = json_object_get(json_array_get(rows, (size_t)i), key);
            if (!duck_matches(out, i, v)) {
                if (bad++ < 3) {
                    char got[256], *want = json_dumps(v, JSON_ENCODE_ANY);
                    format_slot(out, i, got, sizeof got);
                    fprintf(stderr, "'%s' row %" PRId64 ": got %s, duckdb %s\n", duck_cases[q].mine,
                            i, got, want ? want : "?");
                    free(want);
                }
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        sm_expr_destroy(e);
    }
    json_decref(rows);
    free(sql);
    sm_test_rmtree(dir);
    free(dir);
    sm_arena_destroy(a);
}

/* Every column type the language reads, and a struct inside a struct with a NULL parent. */
static void test_expr_reads_every_column_type(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *inner_kids[1] = {sm_field_new(a, "z", SM_INT16, true)};
    sm_field *inner = sm_field_struct(a, "in", inner_kids, 1, true);
    sm_field *outer_kids[1] = {inner};
    sm_field *c[] = {
        sm_field_new(a, "i8", SM_INT8, true),    sm_field_new(a, "u8", SM_UINT8, true),
        sm_field_new(a, "u32", SM_UINT32, true), sm_field_new(a, "u64", SM_UINT64, true),
        sm_field_new(a, "f", SM_FLOAT, true),    sm_field_new(a, "j", SM_JSON, true),
        sm_field_decimal(a, "d9", 9, 3, true),   sm_field_struct(a, "out", outer_kids, 1, true),
        sm_field_new(a, "bin", SM_BINARY, true),
    };
    int nc = (int)(sizeof c / sizeof c[0]);
    sm_field *schema = sm_field_struct(a, "root", c, nc, false);
    sm_column *b = sm_column_new(a, schema, 2);
    sm_column **k = b->children;
    /* row 0 */
    put_i(a, k[0], false, -5);
    put_i(a, k[1], false, 250);
    put_i(a, k[2], false, 4000000000LL);
    uint64_t big = UINT64_MAX;
    CU_ASSERT_EQUAL(sm_column_append_fixed(a, k[3], &big), 0);
    sm_column_append_f64(a, k[4], 1.5);
    put_str(a, k[5], "{\"a\":1}");
    put_i(a, k[6], false, -1234);
    sm_column_append_valid(a, k[7]);
    sm_column_append_valid(a, k[7]->children[0]);
    put_i(a, k[7]->children[0]->children[0], false, 300);
    put_str(a, k[8], "xx");
    sm_column_append_valid(a, b);
    /* row 1: out is NULL (its children get NULL slots), u64 small */
    put_i(a, k[0], false, 127);
    put_i(a, k[1], true, 0);
    put_i(a, k[2], false, 1);
    uint64_t small = 42;
    CU_ASSERT_EQUAL(sm_column_append_fixed(a, k[3], &small), 0);
    sm_column_append_null(a, k[4]);
    put_str(a, k[5], "[]");
    put_i(a, k[6], false, 5);
    sm_column_append_null(a, k[7]);
    put_str(a, k[8], NULL);
    sm_column_append_valid(a, b);

    static const vcase cases[] = {
        {"i8", 0, "-5"},
        {"i8 + 1", 1, "128"},
        {"u8", 0, "250"},
        {"u8", 1, "NULL"},
        {"u32", 0, "4000000000"},
        {"u64", 0, "NULL"},
        {"u64", 1, "42"},
        {"f * 2", 0, "3"},
        {"f", 1, "NULL"},
        {"j LIKE '{%'", 0, "true"},
        {"length(j)", 1, "2"},
        {"d9", 0, "-1.234"},
        {"out.\"in\".z", 0, "300"},
        {"out.\"in\".z", 1, "NULL"},
        {"out.\"in\".z IS NULL", 1, "true"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_error err = {0};
        sm_expr *e = NULL;
        char got[1100];
        int64_t row = cases[i].row;
        sm_column *out = NULL;
        if (sm_expr_compile(cases[i].expr, schema, a, &e, &err) != 0) {
            snprintf(got, sizeof got, "compile: %s", err.msg);
        } else if (sm_expr_eval(e, b, NULL, &row, 1, a, &out, &err) != 0) {
            snprintf(got, sizeof got, "eval: %s", err.msg);
        } else {
            format_slot(out, 0, got, sizeof got);
        }
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "'%s' row %d: got %s, want %s\n", cases[i].expr, cases[i].row, got,
                    cases[i].want);
            failures++;
        }
        sm_expr_destroy(e);
    }
    CU_ASSERT_EQUAL(failures, 0);
    sm_error err = {0};
    sm_expr *e = NULL;
    CU_ASSERT_NOT_EQUAL(sm_expr_compile("bin = 'x'", schema, a, &e, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "column 'bin' has type binary"));
    sm_arena_destroy(a);
}

/* Deep nesting, long and mangled texts fail with a message, never a crash. */
static void test_expr_hostile_texts_fail_cleanly(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *schema = fixed_schema(a);
    size_t n = 100000;
    char *text = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *fills[] = {"(", "-", "NOT ", "CASE WHEN "};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
        size_t l = strlen(fills[f]), at = 0;
        while (at + l < n) {
            memcpy(text + at, fills[f], l);
            at += l;
        }
        text[at] = 0;
        sm_error err = {0};
        sm_expr *e = NULL;
        CU_ASSERT_NOT_EQUAL(sm_expr_compile(text, schema, NULL, &e, &err), 0);
        CU_ASSERT_PTR_NULL(e);
        CU_ASSERT(err.msg[0] != 0);
    }
    /* a long flat chain: bounded by the term limit */
    for (size_t f = 0; f < 2; f++) {
        const char *unit = f ? "b AND " : "1 + ";
        size_t l = strlen(unit), at = 0;
        while (at + l + 2 < n) {
            memcpy(text + at, unit, l);
            at += l;
        }
        memcpy(text + at, f ? "b" : "1", 2);
        sm_error err = {0};
        sm_expr *e = NULL;
        CU_ASSERT_NOT_EQUAL(sm_expr_compile(text, schema, NULL, &e, &err), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expression too long"));
    }
    /* every prefix of a rich expression compiles or fails with a positioned message */
    const char *rich = "CASE WHEN s LIKE 'a%' ESCAPE '!' THEN substr(s, 1, 2) ELSE "
                       "CAST(i + l * 2 AS STRING) END IN ('x', 'y') AND dt BETWEEN "
                       "DATE '2024-01-01' AND current_date OR regexp_like(t, '^a') "
                       "AND st.x IS NOT NULL AND \"Order Id\" NOT IN ('a')";
    for (size_t k = 0; k <= strlen(rich); k++) {
        memcpy(text, rich, k);
        text[k] = 0;
        sm_error err = {0};
        sm_expr *e = NULL;
        if (sm_expr_compile(text, schema, NULL, &e, &err) != 0) {
            CU_ASSERT(strncmp(err.msg, "at ", 3) == 0);
        }
        sm_expr_destroy(e);
    }
    free(text);
    sm_arena_destroy(a);
}

static void test_expr_empty_batch_and_caller_arena(void)
{
    sm_arena *a = sm_arena_create(1 << 16, 0);
    sm_field *schema = fixed_schema(a);
    sm_column *batch = fixed_batch(a, schema);
    sm_expr *e = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sm_expr_compile("regexp_like(s, 'l+') AND i > 0", schema, a, &e, &err),
                          0);
    sm_column *out = NULL;
    CU_ASSERT_EQUAL(sm_expr_eval(e, batch, NULL, NULL, 0, a, &out, &err), 0);
    CU_ASSERT_EQUAL(out->length, 0);
    int64_t t[3], f[3], nt = -1, nf = -1;
    CU_ASSERT_EQUAL(sm_expr_filter(e, batch, NULL, NULL, 3, a, t, &nt, f, &nf, &err), 0);
    CU_ASSERT_EQUAL(nt, 1);
    CU_ASSERT_EQUAL(t[0], 0);
    CU_ASSERT_EQUAL(nf, 2); /* row 1 NULL counts as failed, row 2 false */
    CU_ASSERT_EQUAL(f[0], 1);
    CU_ASSERT_EQUAL(f[1], 2);
    sm_expr_destroy(e);
    sm_arena_destroy(a);
}

static CU_TestInfo tests[] = {
    {"value table", test_expr_value_table},
    {"compile errors name the position", test_expr_compile_errors_name_position},
    {"result types", test_expr_result_types},
    {"randomized matches per-row reference", test_expr_randomized_matches_per_row_reference},
    {"empty batch and caller arena", test_expr_empty_batch_and_caller_arena},
    {"hostile texts fail cleanly", test_expr_hostile_texts_fail_cleanly},
    {"reads every column type", test_expr_reads_every_column_type},
    {"agrees with DuckDB", test_expr_agrees_with_duckdb},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("expr", tests)
