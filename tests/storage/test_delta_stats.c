/*
 * Tests of delta_stats_from_parquet (storage/delta_stats.c): the statistics of
 * an `add` from a Parquet footer.
 *
 * A file with every primitive type, nulls, nested structs, a list, a map, an
 * all-null column, strings past the writer's statistics limit and bytes that
 * are not UTF-8 is written with our Parquet writer; its statistics are checked
 * value by value against what the rows say (the exact JSON text of every bound,
 * since numbers like 2^64-1 and decimal(30,4) do not survive a double), against
 * DuckDB's min/max over the same file, and against themselves for the same rows
 * cut into several row groups. Spark-written golden files check the format
 * against the stats Spark put in their `add` actions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/durable.h"
#include "sm_test.h"
#include "storage/column.h"
#include "storage/delta.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"

/* ---- raw JSON access: the value text of a member, exactly as written
 * --------------------- */

/* Skips a JSON value starting at p; returns the end. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    bool in_str = false;
    for (; *p; p++) {
        if (in_str) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                in_str = false;
                if (depth == 0) {
                    return p + 1;
                }
            }
            continue;
        }
        if (*p == '"') {
            in_str = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0) {
                return p;
            }
            if (--depth == 0) {
                return p + 1;
            }
        } else if (depth == 0 && *p == ',') {
            return p;
        }
    }
    return p;
}

/* The raw text of member `path` ("a" or "a.b.c") of the object at `obj`, into
 * out ("" when absent). */
static void raw_member(const char *obj, const char *path, char *out, size_t n)
{
    char key[128];
    const char *dot = strchr(path, '.');
    size_t kl = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(key, sizeof key, "\"%.*s\":", (int)kl, path);
    out[0] = '\0';
    if (*obj != '{') {
        return;
    }
    const char *p = obj + 1;
    while (*p && *p != '}') {
        const char *k = p, *colon;
        const char *kend = skip_value(k); /* the key string */
        colon = kend;
        const char *v = colon + 1, *vend = skip_value(v);
        if ((size_t)(v - k) == strlen(key) && strncmp(k, key, strlen(key)) == 0) {
            if (dot) {
                char sub[4096];
                snprintf(sub, sizeof sub, "%.*s", (int)(vend - v), v);
                raw_member(sub, dot + 1, out, n);
            } else {
                snprintf(out, n, "%.*s", (int)(vend - v), v);
            }
            return;
        }
        p = *vend == ',' ? vend + 1 : vend;
    }
}

static void section(const char *stats, const char *name, char *out, size_t n)
{
    raw_member(stats, name, out, n);
}

/* ---- the file
 * ----------------------------------------------------------------------------
 */

#define ROWS 5

enum {
    C_B,
    C_I8,
    C_I16,
    C_I32,
    C_I64,
    C_U8,
    C_U16,
    C_U32,
    C_U64,
    C_F32,
    C_F64,
    C_S,
    C_BIN,
    C_JS,
    C_FX,
    C_D,
    C_TMS,
    C_TUS,
    C_D1,
    C_D2,
    C_D3,
    C_ST,
    C_L,
    C_M,
    C_LONG,
    C_ALLNULL,
    C_USTR,
    C_BAD,
    C_COUNT
};

static sm_field *schema(sm_arena *a)
{
    sm_field *b[] = {sm_field_new(a, "c", SM_STRING, true)};
    sm_field *st[] = {sm_field_new(a, "a", SM_INT32, true), sm_field_struct(a, "b", b, 1, true)};
    sm_field *c[C_COUNT] = {
        sm_field_new(a, "b", SM_BOOL, true),
        sm_field_new(a, "i8", SM_INT8, true),
        sm_field_new(a, "i16", SM_INT16, true),
        sm_field_new(a, "i32", SM_INT32, true),
        sm_field_new(a, "i64", SM_INT64, true),
        sm_field_new(a, "u8", SM_UINT8, true),
        sm_field_new(a, "u16", SM_UINT16, false),
        sm_field_new(a, "u32", SM_UINT32, true),
        sm_field_new(a, "u64", SM_UINT64, true),
        sm_field_new(a, "f32", SM_FLOAT, true),
        sm_field_new(a, "f64", SM_DOUBLE, true),
        sm_field_new(a, "s", SM_STRING, true),
        sm_field_new(a, "bin", SM_BINARY, true),
        sm_field_new(a, "js", SM_JSON, true),
        sm_field_fixed(a, "fx", 4, true),
        sm_field_new(a, "d", SM_DATE, true),
        sm_field_new(a, "tms", SM_TIMESTAMP_MS, true),
        sm_field_new(a, "tus", SM_TIMESTAMP_US, true),
        sm_field_decimal(a, "d1", 5, 2, true),
        sm_field_decimal(a, "d2", 15, 3, true),
        sm_field_decimal(a, "d3", 30, 4, true),
        sm_field_struct(a, "st", st, 2, true),
        sm_field_list(a, "l", sm_field_new(a, "element", SM_INT32, true), true),
        sm_field_map(a, "m", sm_field_new(a, "key", SM_STRING, false),
                     sm_field_new(a, "value", SM_INT32, true), true),
        sm_field_new(a, "long", SM_STRING, true),
        sm_field_new(a, "allnull", SM_INT32, true),
        sm_field_new(a, "ustr", SM_STRING, true),
        sm_field_new(a, "bad", SM_STRING, true),
    };
    return sm_field_struct(a, "root", c, C_COUNT, false);
}

/* Row values; a NULL pointer or a `null` flag marks a null slot. */
static const int32_t i32v[ROWS] = {5, 0, -7, 100, 3};
static const bool i32n[ROWS] = {0, 1, 0, 0, 0};
static const int8_t i8v[ROWS] = {-128, 127, 0, 0, 1};
static const bool i8n[ROWS] = {0, 0, 1, 0, 0};
static const int16_t i16v[ROWS] = {-300, 300, 1, 0, 2};
static const bool i16n[ROWS] = {0, 0, 0, 1, 0};
static const int64_t i64v[ROWS] = {-9000000000LL, 9000000000LL, 0, 1, 0};
static const bool i64n[ROWS] = {0, 0, 0, 0, 1};
static const uint8_t u8v[ROWS] = {0, 255, 7, 0, 0};
static const bool u8n[ROWS] = {0, 0, 0, 1, 1};
static const uint16_t u16v[ROWS] = {65535, 1, 2, 3, 4};
static const uint32_t u32v[ROWS] = {4294967295u, 0, 0, 5, 6};
static const bool u32n[ROWS] = {0, 0, 1, 0, 0};
static const uint64_t u64v[ROWS] = {UINT64_MAX, 1, 2, 0, 3};
static const bool u64n[ROWS] = {0, 0, 0, 1, 0};
static const float f32v[ROWS] = {1.5f, -2.25f, 0, 0.1f, 3};
static const bool f32n[ROWS] = {0, 0, 1, 0, 0};
static const double f64v[ROWS] = {1e10, -1e-5, 2.5, 0, 0};
static const bool f64n[ROWS] = {0, 0, 0, 1, 0};
static const char *const sv[ROWS] = {"b", "a", NULL, "c", "ab"};
static const char *const jsv[ROWS] = {"{\"x\":1}", NULL, "[2]", "\"q\"", "3"};
static const int32_t dv[ROWS] = {0, 19000, -1, 0, 365};
static const bool dn[ROWS] = {0, 0, 0, 1, 0};
static const int64_t tmsv[ROWS] = {0, 1700000000123LL, -1, 0, 5};
static const bool tmsn[ROWS] = {0, 0, 0, 1, 0};
static const int64_t tusv[ROWS] = {1700000000123456LL, 0, 0, 1, 2};
static const bool tusn[ROWS] = {0, 0, 1, 0, 0};
static const int32_t d1v[ROWS] = {12345, -99999, 0, 0, 1};
static const bool d1n[ROWS] = {0, 0, 0, 1, 0};
static const int64_t d2v[ROWS] = {123456789012345LL, -1, 0, 5, 6};
static const bool d2n[ROWS] = {0, 0, 1, 0, 0};
static const bool d3n[ROWS] = {0, 0, 1, 0, 0};
static const char *const ustrv[ROWS] = {"é", "日本", "z", NULL, "Ä"};
static const char *const badv[ROWS] = {"\xff\xfe", "ok", NULL, "pq", "\xc3"};

static void put_fixed(sm_arena *a, sm_column *c, const void *v, bool null)
{
    CU_ASSERT_FATAL(!(null ? sm_column_append_null(a, c) : sm_column_append_fixed(a, c, v)));
}

static void put_str(sm_arena *a, sm_column *c, const char *s)
{
    CU_ASSERT_FATAL(
        !(s ? sm_column_append_bytes(a, c, s, strlen(s)) : sm_column_append_null(a, c)));
}

static void put_d3(sm_arena *a, sm_column *c, int row)
{
    /* 10^29 - 1 (29 nines: 9999999999999999999999999.9999), -5, null, 0, 1 */
    __int128 v;
    uint8_t le[16];
    if (d3n[row]) {
        put_fixed(a, c, NULL, true);
        return;
    }
    if (row == 0) {
        v = 1;
        for (int i = 0; i < 29; i++) {
            v *= 10;
        }
        v -= 1;
    } else {
        v = row == 1 ? -5 : row == 3 ? 0 : 1;
    }
    for (int i = 0; i < 16; i++) {
        le[i] = (uint8_t)((unsigned __int128)v >> (8 * i));
    }
    put_fixed(a, c, le, false);
}

static void append_row(sm_arena *a, sm_column *root, int r)
{
    sm_column **c = root->children;
    uint8_t bv = r % 2;
    char longv[80];
    CU_ASSERT_FATAL(!sm_column_append_valid(a, root));
    put_fixed(a, c[C_B], &bv, r == 4);
    put_fixed(a, c[C_I8], &i8v[r], i8n[r]);
    put_fixed(a, c[C_I16], &i16v[r], i16n[r]);
    put_fixed(a, c[C_I32], &i32v[r], i32n[r]);
    put_fixed(a, c[C_I64], &i64v[r], i64n[r]);
    put_fixed(a, c[C_U8], &u8v[r], u8n[r]);
    put_fixed(a, c[C_U16], &u16v[r], false);
    put_fixed(a, c[C_U32], &u32v[r], u32n[r]);
    put_fixed(a, c[C_U64], &u64v[r], u64n[r]);
    put_fixed(a, c[C_F32], &f32v[r], f32n[r]);
    put_fixed(a, c[C_F64], &f64v[r], f64n[r]);
    put_str(a, c[C_S], sv[r]);
    CU_ASSERT_FATAL(!(r == 1 ? sm_column_append_null(a, c[C_BIN])
                             : sm_column_append_bytes(a, c[C_BIN], "\x00\xff", 2)));
    put_str(a, c[C_JS], jsv[r]);
    put_fixed(a, c[C_FX], "abcd", r == 0);
    put_fixed(a, c[C_D], &dv[r], dn[r]);
    put_fixed(a, c[C_TMS], &tmsv[r], tmsn[r]);
    put_fixed(a, c[C_TUS], &tusv[r], tusn[r]);
    put_fixed(a, c[C_D1], &d1v[r], d1n[r]);
    put_fixed(a, c[C_D2], &d2v[r], d2n[r]);
    put_d3(a, c[C_D3], r);
    /* st: null at row 1; st.a null at row 3; st.b null at row 2; st.b.c null at
     * row 4 */
    {
        sm_column *st = c[C_ST];
        if (r == 1) {
            CU_ASSERT_FATAL(!sm_column_append_null(a, st));
        } else {
            int32_t av = r == 0 ? 1 : r == 2 ? 2 : 3;
            CU_ASSERT_FATAL(!sm_column_append_valid(a, st));
            put_fixed(a, st->children[0], &av, r == 3);
            if (r == 2) {
                CU_ASSERT_FATAL(!sm_column_append_null(a, st->children[1]));
            } else {
                CU_ASSERT_FATAL(!sm_column_append_valid(a, st->children[1]));
                put_str(a, st->children[1]->children[0], r == 0 ? "x" : r == 3 ? "y" : NULL);
            }
        }
    }
    /* l: [1,2], null, [], [null,5], null */
    {
        sm_column *l = c[C_L];
        if (r == 1 || r == 4) {
            CU_ASSERT_FATAL(!sm_column_append_null(a, l));
        } else {
            int32_t one = 1, two = 2, five = 5;
            if (r == 0) {
                put_fixed(a, l->children[0], &one, false);
                put_fixed(a, l->children[0], &two, false);
            } else if (r == 3) {
                put_fixed(a, l->children[0], NULL, true);
                put_fixed(a, l->children[0], &five, false);
            }
            CU_ASSERT_FATAL(!sm_column_list_end(a, l));
        }
    }
    /* m: {k:1}, {}, null, null, {z:null} */
    {
        sm_column *m = c[C_M], *e = m->children[0];
        if (r == 2 || r == 3) {
            CU_ASSERT_FATAL(!sm_column_append_null(a, m));
        } else {
            int32_t one = 1;
            if (r == 0 || r == 4) {
                CU_ASSERT_FATAL(!sm_column_append_valid(a, e));
                put_str(a, e->children[0], r == 0 ? "k" : "z");
                put_fixed(a, e->children[1], &one, r == 4);
            }
            CU_ASSERT_FATAL(!sm_column_list_end(a, m));
        }
    }
    /* long: "short", 70 x 'z', "a", 70 x 'b', null: the max is cut by the writer
     */
    if (r == 1 || r == 3) {
        memset(longv, r == 3 ? 'b' : 'z', 70);
        longv[70] = '\0';
        put_str(a, c[C_LONG], longv);
    } else {
        put_str(a, c[C_LONG], r == 0 ? "short" : r == 2 ? "a" : NULL);
    }
    put_fixed(a, c[C_ALLNULL], NULL, true);
    put_str(a, c[C_USTR], ustrv[r]);
    put_str(a, c[C_BAD], badv[r]);
}

/* Writes the rows into `path`, in `groups` row groups. */
static void write_file(const char *path, int groups)
{
    sm_arena *a = sm_arena_create(0, 0);
    const sm_field *f = schema(a);
    pq_writer_opts o;
    pq_writer *w;
    pq_file_info info;
    sm_error err = {0};
    pq_writer_opts_default(&o);
    if (groups > 1) {
        o.row_group_size = 1; /* every write call closes a row group */
    }
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, f, &o, &w, &err), SM_OK);
    int per = (ROWS + groups - 1) / groups;
    for (int r0 = 0; r0 < ROWS; r0 += per) {
        sm_column *root = sm_column_new(a, f, ROWS);
        for (int r = r0; r < r0 + per && r < ROWS; r++) {
            append_row(a, root, r);
        }
        CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, root, &err), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, &info, &err), SM_OK);
    sm_arena_destroy(a);
}

static char *stats_of(const char *path)
{
    sm_buf b = SM_BUF_INIT;
    sm_error err = {0};
    int rc = delta_stats_from_parquet(path, &b, &err);
    if (rc) {
        fprintf(stderr, "stats %s: %s\n", path, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    char *s = strndup((const char *)b.data, b.len);
    sm_buf_free(&b);
    return s;
}

static void expect(const char *obj, const char *key, const char *want)
{
    char got[4096];
    raw_member(obj, key, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "\n  %s: got '%s', want '%s'\n", key, got, want);
    }
}

/* ---- tests
 * -------------------------------------------------------------------------------
 */

static void test_stats_every_type_field_by_field(void)
{
    char *dir = sm_test_tmpdir("ds-types");
    char path[4096], mn[8192], mx[8192], nc[8192];
    snprintf(path, sizeof path, "%s/all.parquet", dir);
    write_file(path, 1);
    char *st = stats_of(path);

    /* valid JSON, with numbers too large for a double parsed as reals */
    json_error_t je;
    json_t *j = json_loads(st, JSON_DECODE_INT_AS_REAL, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_decref(j);

    expect(st, "numRecords", "5");
    section(st, "minValues", mn, sizeof mn);
    section(st, "maxValues", mx, sizeof mx);
    section(st, "nullCount", nc, sizeof nc);

    /* integers of every width, signed and unsigned */
    expect(mn, "i8", "-128"), expect(mx, "i8", "127");
    expect(mn, "i16", "-300"), expect(mx, "i16", "300");
    expect(mn, "i32", "-7"), expect(mx, "i32", "100");
    expect(mn, "i64", "-9000000000"), expect(mx, "i64", "9000000000");
    expect(mn, "u8", "0"), expect(mx, "u8", "255");
    expect(mn, "u16", "1"), expect(mx, "u16", "65535");
    expect(mn, "u32", "0"), expect(mx, "u32", "4294967295");
    expect(mn, "u64", "1"), expect(mx, "u64", "18446744073709551615");
    /* floats: the min as Java prints it; no max (Parquet leaves NaN out of max,
     * Spark does not, and the footer does not count NaNs) */
    expect(mn, "f32", "-2.25"), expect(mx, "f32", "");
    expect(mn, "f64", "-1.0E-5"), expect(mx, "f64", "");
    /* strings in UTF-8 byte order; JSON text as strings */
    expect(mn, "s", "\"a\""), expect(mx, "s", "\"c\"");
    expect(mn, "js", "\"\\\"q\\\"\""), expect(mx, "js", "\"{\\\"x\\\":1}\"");
    expect(mn, "ustr", "\"z\""), expect(mx, "ustr", "\"日本\"");
    /* dates and timestamps (UTC, microseconds) */
    expect(mn, "d", "\"1969-12-31\""), expect(mx, "d", "\"2022-01-08\"");
    expect(mn, "tms", "\"1969-12-31T23:59:59.999000Z\"");
    expect(mx, "tms", "\"2023-11-14T22:13:20.123000Z\"");
    expect(mn, "tus", "\"1970-01-01T00:00:00.000000Z\"");
    expect(mx, "tus", "\"2023-11-14T22:13:20.123456Z\"");
    /* decimals as exact JSON numbers with their scale */
    expect(mn, "d1", "-999.99"), expect(mx, "d1", "123.45");
    expect(mn, "d2", "-0.001"), expect(mx, "d2", "123456789012.345");
    expect(mn, "d3", "-0.0005"), expect(mx, "d3", "9999999999999999999999999.9999");
    /* no bounds for booleans, binaries, fixed binaries, lists, maps, all-null
     * columns */
    static const char *const none[] = {"b", "bin", "fx", "l", "m", "allnull"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        expect(mn, none[i], "");
        expect(mx, none[i], "");
    }
    /* struct leaves nested as objects */
    expect(mn, "st.a", "1"), expect(mx, "st.a", "3");
    expect(mn, "st.b.c", "\"x\""), expect(mx, "st.b.c", "\"y\"");
    /* a max cut at the writer's 64 bytes is inexact: dropped; the min is whole:
     * kept */
    expect(mn, "long", "\"a\""), expect(mx, "long", "");
    /* a bound that is not UTF-8 is dropped, a valid one kept */
    expect(mn, "bad", "\"ok\""), expect(mx, "bad", "");

    /* null counts for every column; struct leaves count a null parent; lists and
     * maps count null lists and maps, not empty ones or null elements */
    static const struct {
        const char *k, *v;
    } nulls[] = {{"b", "1"},    {"i8", "1"},      {"i16", "1"},    {"i32", "1"}, {"i64", "1"},
                 {"u8", "2"},   {"u16", "0"},     {"u32", "1"},    {"u64", "1"}, {"f32", "1"},
                 {"f64", "1"},  {"s", "1"},       {"bin", "1"},    {"js", "1"},  {"fx", "1"},
                 {"d", "1"},    {"tms", "1"},     {"tus", "1"},    {"d1", "1"},  {"d2", "1"},
                 {"d3", "1"},   {"st.a", "2"},    {"st.b.c", "3"}, {"l", "2"},   {"m", "2"},
                 {"long", "1"}, {"allnull", "5"}, {"ustr", "1"},   {"bad", "1"}};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        expect(nc, nulls[i].k, nulls[i].v);
    }
    /* member order follows the schema */
    CU_ASSERT(strstr(mn, "\"i8\"") < strstr(mn, "\"i16\""));
    CU_ASSERT(strncmp(st, "{\"numRecords\":5,\"minValues\":{", 29) == 0);

    /* DuckDB's min and max over the same file agree with every bound we wrote */
    {
        char sql[8192];
        snprintf(sql, sizeof sql,
                 "SELECT min(i8)::VARCHAR AS i8_min, max(i8)::VARCHAR AS i8_max, "
                 "min(i16)::VARCHAR AS i16_min, max(i16)::VARCHAR AS i16_max, "
                 "min(i32)::VARCHAR AS i32_min, max(i32)::VARCHAR AS i32_max, "
                 "min(i64)::VARCHAR AS i64_min, max(i64)::VARCHAR AS i64_max, "
                 "min(u8)::VARCHAR AS u8_min, max(u8)::VARCHAR AS u8_max, "
                 "min(u16)::VARCHAR AS u16_min, max(u16)::VARCHAR AS u16_max, "
                 "min(u32)::VARCHAR AS u32_min, max(u32)::VARCHAR AS u32_max, "
                 "min(u64)::VARCHAR AS u64_min, max(u64)::VARCHAR AS u64_max, "
                 "min(f32) AS f32_min, min(f64) AS f64_min, "
                 "min(s) AS s_min, max(s) AS s_max, min(ustr) AS ustr_min, max(ustr) AS "
                 "ustr_max, "
                 "min(d)::VARCHAR AS d_min, max(d)::VARCHAR AS d_max, "
                 "strftime(min(tms), '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') AS tms_min, "
                 "strftime(max(tms), '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') AS tms_max, "
                 "strftime(min(tus), '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') AS tus_min, "
                 "strftime(max(tus), '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') AS tus_max, "
                 "min(d1)::VARCHAR AS d1_min, max(d1)::VARCHAR AS d1_max, "
                 "min(d2)::VARCHAR AS d2_min, max(d2)::VARCHAR AS d2_max, "
                 "min(d3)::VARCHAR AS d3_min, max(d3)::VARCHAR AS d3_max, "
                 "min(st.a)::VARCHAR AS sta_min, max(st.a)::VARCHAR AS sta_max, "
                 "min(\"long\") AS long_min, "
                 "count(*) - count(i32) AS i32_nulls, count(*) - count(l) AS l_nulls, "
                 "count(*) - count(m) AS m_nulls, count(*) - count(st.b.c) AS "
                 "stbc_nulls "
                 "FROM read_parquet('%s')",
                 path);
        json_t *rows = sm_test_duckdb(sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
        json_t *r = json_array_get(rows, 0);
        static const char *const quoted[] = {"s", "ustr", "d", "tms", "tus", "long"};
        static const char *const plain[] = {"i8",  "i16", "i32", "i64", "u8", "u16",
                                            "u32", "u64", "d1",  "d2",  "d3"};
        char key[64], want[512];
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
            snprintf(key, sizeof key, "%s_min", plain[i]);
            expect(mn, plain[i], json_string_value(json_object_get(r, key)));
            snprintf(key, sizeof key, "%s_max", plain[i]);
            expect(mx, plain[i], json_string_value(json_object_get(r, key)));
        }
        for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
            snprintf(key, sizeof key, "%s_min", quoted[i]);
            snprintf(want, sizeof want, "\"%s\"", json_string_value(json_object_get(r, key)));
            expect(mn, quoted[i], want);
            if (strcmp(quoted[i], "long") != 0) {
                snprintf(key, sizeof key, "%s_max", quoted[i]);
                snprintf(want, sizeof want, "\"%s\"", json_string_value(json_object_get(r, key)));
                expect(mx, quoted[i], want);
            }
        }
        expect(mn, "st.a", json_string_value(json_object_get(r, "sta_min")));
        expect(mx, "st.a", json_string_value(json_object_get(r, "sta_max")));
        char got[64];
        raw_member(mn, "f32", got, sizeof got);
        CU_ASSERT_DOUBLE_EQUAL(strtod(got, NULL), json_number_value(json_object_get(r, "f32_min")),
                               1e-9);
        raw_member(mn, "f64", got, sizeof got);
        CU_ASSERT_DOUBLE_EQUAL(strtod(got, NULL), json_number_value(json_object_get(r, "f64_min")),
                               1e-12);
        raw_member(nc, "i32", got, sizeof got);
        CU_ASSERT_EQUAL(atoll(got), sm_test_int(json_object_get(r, "i32_nulls")));
        raw_member(nc, "l", got, sizeof got);
        CU_ASSERT_EQUAL(atoll(got), sm_test_int(json_object_get(r, "l_nulls")));
        raw_member(nc, "m", got, sizeof got);
        CU_ASSERT_EQUAL(atoll(got), sm_test_int(json_object_get(r, "m_nulls")));
        raw_member(nc, "st.b.c", got, sizeof got);
        CU_ASSERT_EQUAL(atoll(got), sm_test_int(json_object_get(r, "stbc_nulls")));
        json_decref(rows);
    }

    /* the same rows in several row groups give the same statistics */
    {
        char path3[4200];
        pq_reader *rd = NULL;
        sm_error err = {0};
        snprintf(path3, sizeof path3, "%s/groups.parquet", dir);
        write_file(path3, 3);
        CU_ASSERT_EQUAL_FATAL(pq_reader_open(path3, &rd, &err), SM_OK);
        CU_ASSERT(pq_reader_num_row_groups(rd) >= 3);
        pq_reader_close(rd);
        char *st3 = stats_of(path3);
        CU_ASSERT_STRING_EQUAL(st3, st);
        if (strcmp(st3, st) != 0) {
            fprintf(stderr, "\none group: %s\nthree:     %s\n", st, st3);
        }
        free(st3);
    }
    free(st);
    sm_test_rmtree(dir);
    free(dir);
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

/* The stats Spark wrote for the add of `file` in `table`'s first commit with
 * stats. */
static json_t *spark_stats(const char *table, const char *file)
{
    char *dir = fixture(table);
    char log[4096];
    json_t *found = NULL;
    for (int v = 0; v < 5 && !found; v++) {
        char *data = NULL;
        size_t len;
        snprintf(log, sizeof log, "%s/_delta_log/%020d.json", dir, v);
        if (sm_read_file(log, 1 << 24, &data, &len, NULL)) {
            continue;
        }
        for (char *line = strtok(data, "\n"); line && !found; line = strtok(NULL, "\n")) {
            json_t *o = json_loads(line, 0, NULL);
            json_t *add = json_object_get(o, "add");
            const char *p = json_string_value(json_object_get(add, "path"));
            const char *s = json_string_value(json_object_get(add, "stats"));
            if (p && s && strstr(p, file)) {
                found = json_loads(s, JSON_DECODE_INT_AS_REAL, NULL);
            }
            json_decref(o);
        }
        free(data);
    }
    free(dir);
    return found;
}

/* Every bound and count we write for a Spark file equals Spark's (timestamps
 * compared as instants: Spark writes milliseconds in its session zone). */
static void compare_objects(const json_t *ours, const json_t *spark, const char *where, int *n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ours, k, v)
    {
        json_t *theirs = json_object_get(spark, k);
        CU_ASSERT_PTR_NOT_NULL(theirs);
        if (!theirs) {
            fprintf(stderr, "\n  %s.%s: not in Spark's stats\n", where, k);
            continue;
        }
        if (json_is_object(v)) {
            compare_objects(v, theirs, k, n);
        } else if (json_is_number(v)) {
            CU_ASSERT_DOUBLE_EQUAL(json_number_value(v), json_number_value(theirs),
                                   fabs(json_number_value(theirs)) * 1e-12);
            (*n)++;
        } else if (json_is_string(v)) {
            const char *a = json_string_value(v), *b = json_string_value(theirs);
            int64_t ta, tb;
            if (strlen(a) > 10 && a[10] == 'T' && !sm_parse_iso8601_ms(a, strlen(a), &ta) &&
                !sm_parse_iso8601_ms(b, strlen(b), &tb)) {
                CU_ASSERT_EQUAL(ta, tb);
            } else {
                CU_ASSERT_STRING_EQUAL(a, b);
            }
            (*n)++;
        }
    }
}

static void test_stats_match_spark_for_golden_files(void)
{
    static const struct {
        const char *table, *file;
        int min_values; /* how many values must be compared at least */
    } cases[] = {
        {"data-skipping-basic-stats-all-types",
         "part-00001-93fc8b78-4b92-45c7-ad3f-bb766e6d2e28-c000.snappy.parquet", 25},
        {"parquet-all-types", "", 40},
        {"type-widening-nested", "", 4},
        {"decimal-various-scale-precision", "", 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = fixture(cases[i].table);
        char cmd[8192], file[4096] = "";
        /* the data file: the named one, else the first .parquet at the top */
        if (*cases[i].file) {
            snprintf(file, sizeof file, "%s", cases[i].file);
        } else {
            snprintf(cmd, sizeof cmd, "cd '%s' && ls *.parquet | head -1", dir);
            FILE *p = popen(cmd, "r");
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            if (!fgets(file, sizeof file, p)) {
                file[0] = '\0';
            }
            pclose(p);
            file[strcspn(file, "\n")] = '\0';
        }
        CU_ASSERT_FATAL(file[0] != '\0');
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        char *ours = stats_of(path);
        json_t *o = json_loads(ours, JSON_DECODE_INT_AS_REAL, NULL);
        json_t *s = spark_stats(cases[i].table, file);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        int n = 0;
        compare_objects(o, s, cases[i].table, &n);
        CU_ASSERT(n >= cases[i].min_values);
        if (n < cases[i].min_values) {
            fprintf(stderr, "\n  %s: only %d values compared\n", cases[i].table, n);
        }
        json_decref(o);
        json_decref(s);
        free(ours);
        free(dir);
    }
}

/* Writes one string column, one row group per value. */
static void write_groups(const char *path, const char *const *values, int n)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_field *c[] = {sm_field_new(a, "s", SM_STRING, true)};
    sm_field *f = sm_field_struct(a, "root", c, 1, false);
    pq_writer_opts o;
    pq_writer *w;
    pq_file_info info;
    sm_error err = {0};
    pq_writer_opts_default(&o);
    o.row_group_size = 1;
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, f, &o, &w, &err), SM_OK);
    for (int i = 0; i < n; i++) {
        sm_column *root = sm_column_new(a, f, 1);
        CU_ASSERT_FATAL(!sm_column_append_valid(a, root));
        put_str(a, root->children[0], values[i]);
        CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, root, &err), SM_OK);
    }
    CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, &info, &err), SM_OK);
    sm_arena_destroy(a);
}

/* An inexact (cut) bound of one row group is still a bound: the exact bound of
 * another row group is kept only when the cut one cannot hide a value beyond
 * it. */
static void test_stats_inexact_bounds_across_row_groups(void)
{
    char *dir = sm_test_tmpdir("ds-inexact");
    char path[4096], a70[71], c70[71], mn[512], mx[512];
    memset(a70, 'a', 70), a70[70] = '\0';
    memset(c70, 'c', 70), c70[70] = '\0';
    snprintf(path, sizeof path, "%s/f.parquet", dir);

    /* "aaa...a" (cut min "a"x64 below the exact "b"): the true min is the long
     * one; dropped */
    const char *v1[] = {a70, "b"};
    write_groups(path, v1, 2);
    char *st = stats_of(path);
    section(st, "minValues", mn, sizeof mn);
    section(st, "maxValues", mx, sizeof mx);
    expect(mn, "s", "");
    expect(mx, "s", "\"b\"");
    free(st);

    /* "ccc...c" (cut min above the exact "b"): the min is "b"; the cut max
     * ("c"x63 "d") is above "b", so the max is unknown */
    const char *v2[] = {c70, "b", NULL};
    write_groups(path, v2, 3);
    st = stats_of(path);
    section(st, "minValues", mn, sizeof mn);
    section(st, "maxValues", mx, sizeof mx);
    expect(mn, "s", "\"b\"");
    expect(mx, "s", "");
    expect(st, "numRecords", "3");
    free(st);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_stats_errors_name_the_file(void)
{
    char *dir = sm_test_tmpdir("ds-err");
    char path[4096];
    sm_buf b = SM_BUF_INIT;
    sm_error err = {0};
    snprintf(path, sizeof path, "%s/missing.parquet", dir);
    CU_ASSERT_NOT_EQUAL(delta_stats_from_parquet(path, &b, &err), SM_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing.parquet"));
    snprintf(path, sizeof path, "%s/junk.parquet", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not parquet at all", f);
    fclose(f);
    CU_ASSERT_EQUAL(delta_stats_from_parquet(path, &b, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "junk.parquet"));
    sm_buf_free(&b);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"stats of every type, field by field", test_stats_every_type_field_by_field},
    {"stats match Spark's for golden files", test_stats_match_spark_for_golden_files},
    {"inexact bounds across row groups", test_stats_inexact_bounds_across_row_groups},
    {"stats errors name the file", test_stats_errors_name_the_file},
    CU_TEST_INFO_NULL};

SM_TEST_MAIN("delta_stats", tests)
