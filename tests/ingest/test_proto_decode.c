/*
 * ingest/proto_decode.c: descriptor sets, the dynamic wire decoder, Confluent framing.
 *
 * The descriptor set is tests/ingest/proto/test.desc (p2.proto + test.proto; make_desc.sh
 * regenerates it). The bulk is a table of cases, one payload each — hand-written hex, or bytes
 * built by a small encoder here from tables of values per type — with the JSON of one column of
 * the row it must give (as tools/json_rows.h renders it) or the failure reason and byte offset.
 * Every case is decoded into a batch that already holds a row; after a failure the batch must be
 * back at one row in every column.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/durable.h"
#include "ingest/proto_decode.h"
#include "storage/column.h"
#include "stream/source.h"
#include "tools/json_rows.h"
#include "sm_test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static sm_proto_schema *load_schema(void)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ingest/proto/test.desc", src ? src : ".");
    sm_proto_schema *s = NULL;
    sm_error err = {0};
    if (sm_proto_schema_load_file(path, &s, &err)) {
        fprintf(stderr, "load %s: %s\n", path, err.msg);
        return NULL;
    }
    return s;
}

typedef struct wbuf {
    uint8_t b[4096];
    size_t n;
} wbuf;

static void w_byte(wbuf *w, uint8_t x)
{
    if (w->n < sizeof w->b) {
        w->b[w->n++] = x;
    }
}

static void w_varint(wbuf *w, uint64_t v)
{
    while (v >= 0x80) {
        w_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    w_byte(w, (uint8_t)v);
}

static void w_tag(wbuf *w, uint32_t field, int wt)
{
    w_varint(w, (uint64_t)field << 3 | (unsigned)wt);
}

static void w_fixed(wbuf *w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        w_byte(w, (uint8_t)(v >> (8 * i)));
    }
}

static void w_len(wbuf *w, uint32_t field, const void *data, size_t n)
{
    w_tag(w, field, 2);
    w_varint(w, n);
    for (size_t i = 0; i < n; i++) {
        w_byte(w, ((const uint8_t *)data)[i]);
    }
}

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p && n < cap;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned x;
        if (sscanf(p, "%2x", &x) != 1) {
            break;
        }
        out[n++] = (uint8_t)x;
        p += 2;
    }
    return n;
}

/* A case: payload, message, column, and either the JSON of that column or "!reason". */
typedef struct pcase {
    char label[96];
    const char *msg; /* NULL: t.All */
    uint8_t payload[512];
    size_t len;
    const char *field; /* NULL: the whole row */
    char want[256];    /* JSON, "~<double>" (numeric compare), or "!reason" */
    long offset;       /* for failures; -1: not checked */
} pcase;

static pcase *cases;
static int n_cases, cap_cases;

static pcase *add(const char *label, const char *msg, const char *field, const char *want,
                  long offset)
{
    if (n_cases == cap_cases) {
        cap_cases = cap_cases ? 2 * cap_cases : 256;
        cases = realloc(cases, (size_t)cap_cases * sizeof *cases);
    }
    pcase *c = &cases[n_cases++];
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    c->msg = msg;
    c->field = field;
    snprintf(c->want, sizeof c->want, "%s", want);
    c->offset = offset;
    return c;
}

static void add_hex(const char *label, const char *msg, const char *hex, const char *field,
                    const char *want, long offset)
{
    pcase *c = add(label, msg, field, want, offset);
    c->len = unhex(hex, c->payload, sizeof c->payload);
}

static void add_w(const char *label, const char *msg, const wbuf *w, const char *field,
                  const char *want, long offset)
{
    pcase *c = add(label, msg, field, want, offset);
    memcpy(c->payload, w->b, w->n < sizeof c->payload ? w->n : sizeof c->payload);
    c->len = w->n;
}

/* ---- the table ---------------------------------------------------------------------------- */

typedef struct scalar_t {
    const char *field;
    uint32_t number;
    int kind; /* 0 varint, 1 zigzag32/64, 5 fixed32, 1+ fixed64 as 8 */
    int fixed;
} scalar_t;

static void build_cases(void)
{
    char want[128], label[96];
    wbuf w;

    /* varint-encoded integers: value as written, value expected */
    static const struct {
        const char *field;
        uint32_t number;
        int64_t in;
        const char *want;
    } ints[] = {
        {"i32", 1, 0, "0"},
        {"i32", 1, 1, "1"},
        {"i32", 1, 127, "127"},
        {"i32", 1, 128, "128"},
        {"i32", 1, 300, "300"},
        {"i32", 1, -1, "-1"},
        {"i32", 1, INT32_MAX, "2147483647"},
        {"i32", 1, INT32_MIN, "-2147483648"},
        {"i32", 1, 0x100000001LL, "1"}, /* int32 keeps the low 32 bits */
        {"i32", 1, -300, "-300"},
        {"i64", 2, 0, "0"},
        {"i64", 2, 1, "1"},
        {"i64", 2, -1, "-1"},
        {"i64", 2, INT64_MAX, "9223372036854775807"},
        {"i64", 2, INT64_MIN, "-9223372036854775808"},
        {"i64", 2, 1LL << 40, "1099511627776"},
        {"i64", 2, -(1LL << 40), "-1099511627776"},
        {"u32", 3, 0, "0"},
        {"u32", 3, 1, "1"},
        {"u32", 3, 4294967295LL, "4294967295"},
        {"u32", 3, 2147483648LL, "2147483648"},
        {"u32", 3, 65536, "65536"},
        {"u64", 4, 0, "0"},
        {"u64", 4, 1, "1"},
        {"u64", 4, -1, "18446744073709551615"},
        {"u64", 4, INT64_MAX, "9223372036854775807"},
        {"u64", 4, INT64_MIN, "9223372036854775808"},
        {"b", 11, 0, "false"},
        {"b", 11, 1, "true"},
        {"b", 11, 2, "true"},
        {"b", 11, 300, "true"},
        {"color", 16, 0, "\"RED\""},
        {"color", 16, 1, "\"GREEN\""},
        {"color", 16, 2, "\"BLUE\""},
        {"color", 16, 7, "\"7\""},
        {"color", 16, -3, "\"-3\""},
        {"ob", 26, 5, "5"},
        {"opt", 27, 0, "0"},
        {"opt", 27, -9, "-9"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        w.n = 0;
        w_tag(&w, ints[i].number, 0);
        w_varint(&w, (uint64_t)ints[i].in);
        snprintf(label, sizeof label, "%s = %" PRId64, ints[i].field, ints[i].in);
        add_w(label, NULL, &w, ints[i].field, ints[i].want, -1);
        /* truncated: drop the last byte */
        w.n--;
        snprintf(label, sizeof label, "%s = %" PRId64 " truncated", ints[i].field, ints[i].in);
        add_w(label, NULL, &w, ints[i].field, "!truncated", -1);
        /* wrong wire type: the same number as fixed32 */
        w.n = 0;
        w_tag(&w, ints[i].number, 5);
        w_fixed(&w, 1, 4);
        snprintf(label, sizeof label, "%s as fixed32", ints[i].field);
        add_w(label, NULL, &w, ints[i].field, "!wrong_wire_type", 0);
    }

    /* zig-zag */
    static const int64_t zvals[] = {0, 1, -1, 2, -2, 63, -64, 2147483647, -2147483648LL};
    for (size_t i = 0; i < sizeof zvals / sizeof zvals[0]; i++) {
        w.n = 0;
        w_tag(&w, 5, 0);
        w_varint(&w, zz(zvals[i]));
        snprintf(want, sizeof want, "%" PRId64, zvals[i]);
        snprintf(label, sizeof label, "s32 = %.40s", want);
        add_w(label, NULL, &w, "s32", want, -1);
        w.n = 0;
        w_tag(&w, 6, 0);
        w_varint(&w, zz(zvals[i] * 1000003));
        snprintf(want, sizeof want, "%" PRId64, zvals[i] * 1000003);
        snprintf(label, sizeof label, "s64 = %.40s", want);
        add_w(label, NULL, &w, "s64", want, -1);
    }
    w.n = 0;
    w_tag(&w, 6, 0);
    w_varint(&w, UINT64_MAX);
    add_w("s64 = min", NULL, &w, "s64", "-9223372036854775808", -1);

    /* fixed widths */
    static const struct {
        const char *field;
        uint32_t number;
        int bytes;
        uint64_t bits;
        const char *want;
    } fx[] = {
        {"f32", 7, 4, 0, "0"},
        {"f32", 7, 4, 0xffffffff, "4294967295"},
        {"f32", 7, 4, 0x12345678, "305419896"},
        {"f64", 8, 8, 0, "0"},
        {"f64", 8, 8, UINT64_MAX, "18446744073709551615"},
        {"f64", 8, 8, 0x0102030405060708ULL, "72623859790382856"},
        {"sf32", 9, 4, 0xffffffff, "-1"},
        {"sf32", 9, 4, 0x80000000, "-2147483648"},
        {"sf32", 9, 4, 0x7fffffff, "2147483647"},
        {"sf32", 9, 4, 42, "42"},
        {"sf64", 10, 8, UINT64_MAX, "-1"},
        {"sf64", 10, 8, 0x8000000000000000ULL, "-9223372036854775808"},
        {"sf64", 10, 8, 42, "42"},
        {"fl", 12, 4, 0x3fc00000, "~1.5"},
        {"fl", 12, 4, 0xc0100000, "~-2.25"},
        {"fl", 12, 4, 0, "~0"},
        {"fl", 12, 4, 0x7f800000, "\"Infinity\""},
        {"fl", 12, 4, 0x7fc00000, "\"NaN\""},
        {"db", 13, 8, 0x3ff8000000000000ULL, "~1.5"},
        {"db", 13, 8, 0xc002000000000000ULL, "~-2.25"},
        {"db", 13, 8, 0x4341c37937e08000ULL, "~1e16"},
        {"db", 13, 8, 0xfff0000000000000ULL, "\"-Infinity\""},
        {"db", 13, 8, 0, "~0"},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        int wt = fx[i].bytes == 4 ? 5 : 1;
        w.n = 0;
        w_tag(&w, fx[i].number, wt);
        w_fixed(&w, fx[i].bits, fx[i].bytes);
        snprintf(label, sizeof label, "%s bits %" PRIx64, fx[i].field, fx[i].bits);
        add_w(label, NULL, &w, fx[i].field, fx[i].want, -1);
        for (int cut = 1; cut <= fx[i].bytes; cut += 3) {
            wbuf t = w;
            t.n -= (size_t)cut;
            snprintf(label, sizeof label, "%s cut by %d", fx[i].field, cut);
            add_w(label, NULL, &t, fx[i].field, "!truncated", -1);
        }
        w.n = 0;
        w_tag(&w, fx[i].number, 0);
        w_varint(&w, 1);
        snprintf(label, sizeof label, "%s as varint", fx[i].field);
        add_w(label, NULL, &w, fx[i].field, "!wrong_wire_type", 0);
    }

    /* strings and bytes */
    static const struct {
        const char *hex;
        const char *want;
        const char *by;
    } strs[] = {
        {"", "\"\"", "\"\""},
        {"61", "\"a\"", "\"YQ==\""},
        {"68656c6c6f", "\"hello\"", "\"aGVsbG8=\""},
        {"c3a9", "\"\xc3\xa9\"", "\"w6k=\""},
        {"e282ac", "\"\xe2\x82\xac\"", "\"4oKs\""},
        {"f09f9880", "\"\xf0\x9f\x98\x80\"", "\"8J+YgA==\""},
        {"22", "\"\\\"\"", "\"Ig==\""},
        {"00", "\"\\u0000\"", "\"AA==\""},
        {"ff", "!invalid_utf8", "\"/w==\""},
        {"c0af", "!invalid_utf8", "\"wK8=\""},
        {"eda080", "!invalid_utf8", "\"7aCA\""},
        {"e282", "!invalid_utf8", "\"4oI=\""},
        {"f4908080", "!invalid_utf8", "\"9JCAgA==\""},
        {"6180", "!invalid_utf8", "\"YYA=\""},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        uint8_t raw[64];
        size_t n = unhex(strs[i].hex, raw, sizeof raw);
        w.n = 0;
        w_len(&w, 14, raw, n);
        snprintf(label, sizeof label, "str %s", strs[i].hex);
        long off = -1;
        if (strs[i].want[0] == '!') {
            off = 2 + (n == 2 && raw[0] == 0x61 ? 1 : 0);
        }
        add_w(label, NULL, &w, "str", strs[i].want, off);
        w.n = 0;
        w_len(&w, 15, raw, n);
        snprintf(label, sizeof label, "by %s", strs[i].hex);
        add_w(label, NULL, &w, "by", strs[i].by, -1);
        /* length one past the end */
        w.n = 0;
        w_tag(&w, 14, 2);
        w_varint(&w, n + 1);
        for (size_t k = 0; k < n; k++) {
            w_byte(&w, raw[k]);
        }
        snprintf(label, sizeof label, "str %s long length", strs[i].hex);
        add_w(label, NULL, &w, "str", "!bad_length", 1);
        /* wrong wire type */
        w.n = 0;
        w_tag(&w, 15, 0);
        w_varint(&w, n);
        snprintf(label, sizeof label, "by %s as varint", strs[i].hex);
        add_w(label, NULL, &w, "by", "!wrong_wire_type", 0);
    }

    /* defaults (proto3 implicit presence) and nulls on an empty message */
    static const struct {
        const char *field, *want;
    } empty[] = {
        {"i32", "0"},         {"i64", "0"},      {"u32", "0"},   {"u64", "0"},    {"s32", "0"},
        {"s64", "0"},         {"f32", "0"},      {"f64", "0"},   {"sf32", "0"},   {"sf64", "0"},
        {"b", "false"},       {"fl", "~0"},      {"db", "~0"},   {"str", "\"\""}, {"by", "\"\""},
        {"color", "\"RED\""}, {"inner", "null"}, {"ri", "[]"},   {"rs", "[]"},    {"rm", "[]"},
        {"m", "[]"},          {"ts", "null"},    {"ws", "null"}, {"wi", "null"},  {"oa", "null"},
        {"ob", "null"},       {"opt", "null"},   {"rc", "[]"},   {"rd", "[]"},    {"rz", "[]"},
    };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        snprintf(label, sizeof label, "empty message: %s", empty[i].field);
        add_hex(label, NULL, "", empty[i].field, empty[i].want, -1);
    }

    /* hand-made payloads */
    static const struct {
        const char *label, *msg, *hex, *field, *want;
        long offset;
    } hand[] = {
        {"last one wins", NULL, "0801 0802 0803", "i32", "3", -1},
        {"last string wins", NULL, "7201 61 7201 62", "str", "\"b\"", -1},
        {"message seen twice: merged", NULL, "8a01 02 0805 8a01 03 120178", "inner",
         "{\"a\":5,\"s\":\"x\"}", -1},
        {"message seen twice: last scalar wins", NULL, "8a01 02 0805 8a01 02 0806", "inner",
         "{\"a\":6,\"s\":\"\"}", -1},
        {"message seen twice around others", NULL, "8a01 02 0805 0801 8a01 00", "inner",
         "{\"a\":5,\"s\":\"\"}", -1},
        {"message merged: second part bad", NULL, "8a01 02 0805 8a01 01 08", "inner", "!truncated",
         9},
        {"nested messages merged", "t.Outer", "0a 04 0a 02 0801 0a 05 0a 03 120171", "n",
         "{\"in\":{\"a\":1,\"s\":\"q\"}}", -1},
        {"timestamp merged", NULL, "b201 02 0801 b201 03 10e807", "ts",
         "\"1970-01-01T00:00:01.000001Z\"", -1},
        {"string wrapper merged", NULL, "ba01 03 0a0161 ba01 00", "ws", "\"a\"", -1},
        {"int64 wrapper merged, last wins", NULL, "c201 02 0801 c201 02 0802", "wi", "2", -1},
        {"nested message", NULL, "8a01 05 0807 120163", "inner", "{\"a\":7,\"s\":\"c\"}", -1},
        {"nested empty message", NULL, "8a01 00", "inner", "{\"a\":0,\"s\":\"\"}", -1},
        {"nested truncated", NULL, "8a01 05 0807 1201", "inner", "!bad_length", 2},
        {"nested bad utf8", NULL, "8a01 03 1201 ff", "inner", "!invalid_utf8", 5},
        {"nested wrong type", NULL, "8a01 02 0d00", "inner", "!wrong_wire_type", 3},
        {"nested as varint", NULL, "8801 01", "inner", "!wrong_wire_type", 0},
        {"repeated unpacked", NULL, "9001 01 9001 02 9001 03", "ri", "[1,2,3]", -1},
        {"repeated packed", NULL, "9201 03 010203", "ri", "[1,2,3]", -1},
        {"repeated packed negative", NULL, "9201 0b ffffffffffffffffff01 05", "ri", "[-1,5]", -1},
        {"repeated mixed", NULL, "9001 01 9201 02 0203 9001 04", "ri", "[1,2,3,4]", -1},
        {"repeated packed empty", NULL, "9201 00", "ri", "[]", -1},
        {"repeated packed truncated", NULL, "9201 02 0180", "ri", "!truncated", 4},
        {"repeated packed past end", NULL, "9201 05 01", "ri", "!bad_length", 2},
        {"repeated interleaved", NULL, "9001 01 0809 9001 02", "ri", "[1,2]", -1},
        {"repeated string", NULL, "9a01 01 61 9a01 00 9a01 02 6263", "rs", "[\"a\",\"\",\"bc\"]",
         -1},
        {"repeated string bad utf8", NULL, "9a01 01 61 9a01 01 fe", "rs", "!invalid_utf8", 7},
        {"repeated message", NULL, "a201 02 0801 a201 00 a201 02 0803", "rm",
         "[{\"a\":1,\"s\":\"\"},{\"a\":0,\"s\":\"\"},{\"a\":3,\"s\":\"\"}]", -1},
        {"repeated enum packed", NULL, "e201 03 000209", "rc", "[\"RED\",\"BLUE\",\"9\"]", -1},
        {"repeated enum unpacked", NULL, "e001 01 e001 00", "rc", "[\"GREEN\",\"RED\"]", -1},
        {"repeated double packed", NULL, "ea01 10 000000000000f83f 00000000000002c0", "rd",
         "[1.5,-2.25]", -1},
        {"repeated double unpacked", NULL, "e901 000000000000f83f", "rd", "[1.5]", -1},
        {"repeated double packed ragged", NULL, "ea01 04 00000000", "rd", "!truncated", 3},
        {"repeated sint64 packed", NULL, "f201 03 010203", "rz", "[-1,1,-2]", -1},
        {"repeated sint64 unpacked", NULL, "f001 04", "rz", "[2]", -1},
        {"map", NULL, "aa01 05 0a016b 1001 aa01 05 0a016a 1002", "m",
         "[{\"key\":\"k\",\"value\":1},{\"key\":\"j\",\"value\":2}]", -1},
        {"map entry without value", NULL, "aa01 03 0a0178", "m", "[{\"key\":\"x\",\"value\":0}]",
         -1},
        {"map entry without key", NULL, "aa01 02 1005", "m", "[{\"key\":\"\",\"value\":5}]", -1},
        {"map entry reversed", NULL, "aa01 05 1005 0a0178", "m", "[{\"key\":\"x\",\"value\":5}]",
         -1},
        {"map entry bad key", NULL, "aa01 03 0a01 ff", "m", "!invalid_utf8", 5},
        {"map entry truncated", NULL, "aa01 03 0a0561", "m", "!bad_length", 4},
        {"timestamp", NULL, "b201 06 08809ac39d06", "ts", "\"2023-01-01T00:00:00.000000Z\"", -1},
        {"timestamp nanos", NULL, "b201 0a 08809ac39d06 10c0843d", "ts",
         "\"2023-01-01T00:00:00.001000Z\"", -1},
        {"timestamp epoch", NULL, "b201 00", "ts", "\"1970-01-01T00:00:00.000000Z\"", -1},
        {"timestamp negative", NULL, "b201 0b 08ffffffffffffffffff01", "ts",
         "\"1969-12-31T23:59:59.000000Z\"", -1},
        {"timestamp overflow", NULL, "b201 0a 08ffffffffffffffff7f", "ts", "!out_of_range", 3},
        {"timestamp bad nanos", NULL, "b201 06 1080a8d6b907", "ts", "!out_of_range", 3},
        /* DuckDB's range: 290309 BC .. 294247 AD; INT64_MAX us is its 'infinity' */
        {"timestamp max", NULL, "b201 0e 08f6b5c1deb78c02 10b0b8f7f102", "ts",
         "\"294247-01-10T04:00:54.775806Z\"", -1},
        {"timestamp infinity", NULL, "b201 0e 08f6b5c1deb78c02 1098c0f7f102", "ts", "!out_of_range",
         3},
        {"timestamp min", NULL, "b201 0b 0880bbbfa1c8f3fdffff01", "ts",
         "\"-290308-12-22T00:00:00.000000Z\"", -1},
        {"timestamp below min", NULL, "b201 11 08ffbabfa1c8f3fdffff01 10988cebdc03", "ts",
         "!out_of_range", 3},
        {"timestamp wrong type", NULL, "b201 02 0d00", "ts", "!wrong_wire_type", 3},
        {"timestamp extra field skipped", NULL, "b201 04 08011801", "ts",
         "\"1970-01-01T00:00:01.000000Z\"", -1},
        {"string wrapper", NULL, "ba01 03 0a0178", "ws", "\"x\"", -1},
        {"string wrapper empty", NULL, "ba01 00", "ws", "\"\"", -1},
        {"string wrapper bad utf8", NULL, "ba01 03 0a01c3", "ws", "!invalid_utf8", 5},
        {"int64 wrapper", NULL, "c201 02 082a", "wi", "42", -1},
        {"int64 wrapper empty", NULL, "c201 00", "wi", "0", -1},
        {"int64 wrapper wrong type", NULL, "c201 02 0a00", "wi", "!wrong_wire_type", 3},
        {"oneof a", NULL, "ca01 02 6869", "oa", "\"hi\"", -1},
        {"oneof a: b stays null", NULL, "ca01 02 6869", "ob", "null", -1},
        {"oneof b", NULL, "d001 07", "ob", "7", -1},
        {"oneof a then b: a is cleared", NULL, "ca01 01 61 d001 07", "oa", "null", -1},
        {"oneof a then b: b set", NULL, "ca01 01 61 d001 07", "ob", "7", -1},
        {"oneof b then a: b is cleared", NULL, "d001 07 ca01 01 61", "ob", "null", -1},
        {"oneof b then a: a set", NULL, "d001 07 ca01 01 61", "oa", "\"a\"", -1},
        {"oneof does not clear optional", NULL, "d801 03 d001 07", "opt", "3", -1},
        {"unknown varint skipped", NULL, "f807 01 0805", "i32", "5", -1},
        {"unknown fixed64 skipped", NULL, "f907 0102030405060708 0805", "i32", "5", -1},
        {"unknown fixed32 skipped", NULL, "fd07 01020304 0805", "i32", "5", -1},
        {"unknown length skipped", NULL, "fa07 03 ffffff 0805", "i32", "5", -1},
        {"unknown group skipped", NULL, "fb07 0801 1201 ff fc07 0805", "i32", "5", -1},
        {"unknown nested group skipped", NULL, "fb07 8308 0801 8408 fc07 0805", "i32", "5", -1},
        {"unknown group unterminated", NULL, "fb07 0801", "i32", "!truncated", 4},
        {"unknown group wrong end", NULL, "fb07 0801 8408", "i32", "!bad_wire_type", 4},
        {"end group alone", NULL, "0c", "i32", "!bad_wire_type", 0},
        {"wire type 6", NULL, "0e", "i32", "!bad_wire_type", 0},
        {"wire type 7", NULL, "0805 0f", "i32", "!bad_wire_type", 2},
        {"field number 0", NULL, "0001", "i32", "!bad_wire_type", 0},
        {"truncated tag", NULL, "0805 80", "i32", "!truncated", 2},
        {"varint 11 bytes", NULL, "08 ffffffffffffffffffff01", "i32", "!bad_varint", 1},
        {"tag 11 bytes", NULL, "ffffffffffffffffffffff", "i32", "!bad_varint", 0},
        {"unknown length past end", NULL, "fa07 05 0102", "i32", "!bad_length", 2},
        {"unknown length huge", NULL, "fa07 ffffffffffffffffff01", "i32", "!bad_length", 2},
        {"unknown fixed64 truncated", NULL, "f907 010203", "i32", "!truncated", 2},
        {"whole row", NULL, "0801 8a01 02 0802 9201 02 0102", NULL, NULL, -1},
        {"nested deeper message type", "t.Outer", "0a 04 0a 02 0809", "n",
         "{\"in\":{\"a\":9,\"s\":\"\"}}", -1},
        {"nested absent inner", "t.Outer", "0a 00", "n", "{\"in\":null}", -1},
        {"t.Inner row", "t.Inner", "0801 1201 7a", NULL, "{\"a\":1,\"s\":\"z\"}", -1},
        {"proto2 required present", "p2.Req", "0805", "id", "5", -1},
        {"proto2 optional absent is null", "p2.Req", "0805", "name", "null", -1},
        {"proto2 optional with default absent is null", "p2.Req", "0805", "n", "null", -1},
        {"proto2 optional present", "p2.Req", "0805 1201 71", "name", "\"q\"", -1},
        {"proto2 required missing", "p2.Req", "1201 71", "id", "!missing_field", 3},
        {"proto2 unknown field", "p2.Req", "0805 2001", "id", "5", -1},
    };
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        add_hex(hand[i].label, hand[i].msg, hand[i].hex, hand[i].field,
                hand[i].want ? hand[i].want : "", hand[i].offset);
    }

    /* deep groups: the message is level 1, so 63 nested unknown groups are fine, 64 too deep */
    for (int depth = 63; depth <= 66; depth++) {
        w.n = 0;
        for (int k = 0; k < depth; k++) {
            w_tag(&w, 100, 3);
        }
        for (int k = 0; k < depth; k++) {
            w_tag(&w, 100, 4);
        }
        w_tag(&w, 1, 0);
        w_varint(&w, 4);
        snprintf(label, sizeof label, "%d nested groups", depth);
        add_w(label, NULL, &w, "i32", depth < SM_PROTO_MAX_DEPTH ? "4" : "!too_deep", -1);
    }
}

static const sm_column *child(const sm_column *batch, const char *name)
{
    for (int i = 0; i < batch->field->n_children; i++) {
        if (!strcmp(batch->field->children[i]->name, name)) {
            return batch->children[i];
        }
    }
    return NULL;
}

static void check_lengths(const sm_column *batch, int64_t rows)
{
    CU_ASSERT_EQUAL(batch->length, rows);
    for (int i = 0; i < batch->field->n_children; i++) {
        CU_ASSERT_EQUAL(batch->children[i]->length, rows);
    }
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_proto_table(void)
{
    sm_proto_schema *s = load_schema();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    build_cases();
    CU_ASSERT(n_cases >= 200);
    int failed = 0;
    for (int i = 0; i < n_cases; i++) {
        pcase *c = &cases[i];
        const char *mname = c->msg ? c->msg : "t.All";
        sm_proto_decoder *d = NULL;
        sm_error err = {0};
        if (sm_proto_decoder_new(s, mname, &d, &err)) {
            fprintf(stderr, "case '%s': decoder: %s\n", c->label, err.msg);
            failed++;
            continue;
        }
        sm_arena *arena = sm_arena_create(64 * 1024, 0);
        sm_column *batch = sm_column_new(arena, sm_proto_decoder_schema(d), 4);
        sm_proto_error why;
        /* a good first row: the empty message (p2.Req needs its id) */
        const uint8_t req[] = {0x08, 0x01};
        bool p2 = !strcmp(mname, "p2.Req");
        CU_ASSERT_EQUAL(sm_proto_decode(d, req, p2 ? 2 : 0, arena, batch, &why), SM_OK);
        int rc = sm_proto_decode(d, c->payload, c->len, arena, batch, &why);
        char got[512] = "";
        bool ok;
        if (c->want[0] == '!') {
            ok = rc == SM_ERR_CORRUPT && !strcmp(sm_proto_reason_name(why.reason), c->want + 1) &&
                 (c->offset < 0 || (long)why.offset == c->offset);
            snprintf(got, sizeof got, "rc %d %s @%zu: %s", rc, sm_proto_reason_name(why.reason),
                     why.offset, why.msg);
            check_lengths(batch, 1);
        } else if (rc != SM_OK) {
            ok = false;
            snprintf(got, sizeof got, "%s @%zu: %s", sm_proto_reason_name(why.reason), why.offset,
                     why.msg);
        } else {
            sm_buf b;
            sm_buf_init(&b);
            const sm_column *col = c->field ? child(batch, c->field) : batch;
            CU_ASSERT_PTR_NOT_NULL_FATAL(col);
            json_value_append(col, 1, &b, &err);
            snprintf(got, sizeof got, "%.*s", (int)b.len, (const char *)b.data);
            sm_buf_free(&b);
            if (c->want[0] == '~') {
                ok = fabs(strtod(got, NULL) - strtod(c->want + 1, NULL)) < 1e-9;
            } else {
                ok = !c->want[0] || !strcmp(got, c->want);
            }
            check_lengths(batch, 2);
        }
        if (!ok) {
            fprintf(stderr, "case %d '%s' (%s): want %s, got %s\n", i, c->label,
                    c->field ? c->field : "row", c->want, got);
            failed++;
        }
        sm_arena_destroy(arena);
        sm_proto_decoder_free(d);
    }
    fprintf(stderr, "%d cases, %d failed\n", n_cases, failed);
    CU_ASSERT_EQUAL(failed, 0);
    free(cases);
    cases = NULL;
    n_cases = cap_cases = 0;
    sm_proto_schema_free(s);
}

static void test_proto_schema(void)
{
    sm_proto_schema *s = load_schema();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sm_proto_decoder *d = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_proto_decoder_new(s, "t.All", &d, &err), SM_OK);
    const sm_field *f = sm_proto_decoder_schema(d);
    CU_ASSERT_EQUAL(f->type, SM_STRUCT);
    CU_ASSERT_EQUAL(f->n_children, 30);
    static const struct {
        int i;
        sm_type t;
        bool nullable;
    } want[] = {
        {0, SM_INT32, false},        {1, SM_INT64, false},   {2, SM_UINT32, false},
        {3, SM_UINT64, false},       {4, SM_INT32, false},   {5, SM_INT64, false},
        {6, SM_UINT32, false},       {7, SM_UINT64, false},  {8, SM_INT32, false},
        {9, SM_INT64, false},        {10, SM_BOOL, false},   {11, SM_FLOAT, false},
        {12, SM_DOUBLE, false},      {13, SM_STRING, false}, {14, SM_BINARY, false},
        {15, SM_STRING, false},      {16, SM_STRUCT, true},  {17, SM_LIST, false},
        {18, SM_LIST, false},        {19, SM_LIST, false},   {20, SM_MAP, false},
        {21, SM_TIMESTAMP_US, true}, {22, SM_STRING, true},  {23, SM_INT64, true},
        {24, SM_STRING, true},       {25, SM_INT32, true},   {26, SM_INT32, true},
        {27, SM_LIST, false},        {28, SM_LIST, false},   {29, SM_LIST, false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sm_field *c = f->children[want[i].i];
        CU_ASSERT_EQUAL(c->type, want[i].t);
        CU_ASSERT_EQUAL(c->nullable, want[i].nullable);
    }
    sm_proto_decoder_free(d);
    /* names with a leading dot, unknown names, recursion */
    CU_ASSERT_EQUAL(sm_proto_decoder_new(s, ".t.Inner", &d, &err), SM_OK);
    sm_proto_decoder_free(d);
    CU_ASSERT_EQUAL(sm_proto_decoder_new(s, "t.Nope", &d, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_proto_decoder_new(s, "t.Rec", &d, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "recursive"));
    /* message indexes */
    int32_t ix[2] = {1, 0};
    CU_ASSERT_STRING_EQUAL(sm_proto_schema_message_at(s, NULL, 0), "t.Inner");
    CU_ASSERT_STRING_EQUAL(sm_proto_schema_message_at(s, ix, 1), "t.All");
    CU_ASSERT_STRING_EQUAL(sm_proto_schema_message_at(s, ix, 2), "t.All.MEntry");
    ix[0] = 3;
    CU_ASSERT_STRING_EQUAL(sm_proto_schema_message_at(s, ix, 2), "t.Outer.Nested");
    ix[0] = 9;
    CU_ASSERT_PTR_NULL(sm_proto_schema_message_at(s, ix, 1));
    sm_proto_schema_free(s);
    /* garbage descriptor sets */
    sm_proto_schema *bad = NULL;
    const uint8_t junk[] = {0x0a, 0x05, 0x01};
    CU_ASSERT_EQUAL(sm_proto_schema_load(junk, sizeof junk, &bad, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(sm_proto_schema_load(junk, 0, &bad, &err), SM_ERR_CORRUPT);
}

static void test_proto_confluent(void)
{
    char *dir = sm_test_tmpdir("proto-registry");
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char path[1024], *data;
    size_t len;
    sm_error err = {0};
    snprintf(path, sizeof path, "%s/tests/ingest/proto/test.desc", src ? src : ".");
    CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 20, &data, &len, &err), SM_OK);
    snprintf(path, sizeof path, "%s/7.desc", dir);
    CU_ASSERT_EQUAL_FATAL(sm_durable_write_file(path, data, len, SM_DURABLE_REPLACE, &err), SM_OK);
    free(data);

    sm_proto_registry *r = NULL;
    CU_ASSERT_EQUAL_FATAL(sm_proto_registry_open(dir, &r, &err), SM_OK);
    static const struct {
        const char *hex;
        const char *reason; /* NULL: ok */
        const char *msg;    /* message chosen */
        size_t payload;
    } fr[] = {
        {"00 00000007 00 0801", NULL, "t.Inner", 6},
        {"00 00000007 02 02 0801", NULL, "t.All", 7},
        {"00 00000007 04 02 00 0a016b", NULL, "t.All.MEntry", 8},
        {"00 00000007 04 06 00", NULL, "t.Outer.Nested", 8},
        {"01 00000007 00", "bad_magic", NULL, 0},
        {"00 0000", "truncated", NULL, 0},
        {"", "truncated", NULL, 0},
        {"00 00000007", "truncated", NULL, 0},
        {"00 00000007 02", "truncated", NULL, 0},
        {"00 00000007 01", "bad_message_index", NULL, 0},
        {"00 00000007 7f", "bad_message_index", NULL, 0},
        {"00 00000007 02 01", "bad_message_index", NULL, 0},
        {"00 00000007 02 14", "bad_message_index", NULL, 0},
        {"00 00000008 00", "unknown_schema", NULL, 0},
    };
    for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++) {
        uint8_t buf[64];
        size_t n = unhex(fr[i].hex, buf, sizeof buf);
        sm_proto_frame f;
        sm_proto_error why = {0};
        sm_proto_decoder *d = NULL;
        int rc = sm_proto_frame_parse(buf, n, &f, &why);
        if (rc == SM_OK) {
            rc = sm_proto_registry_decoder(r, &f, &d, &why);
        }
        if (fr[i].reason) {
            CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
            if (rc == SM_ERR_CORRUPT && strcmp(sm_proto_reason_name(why.reason), fr[i].reason)) {
                fprintf(stderr, "frame %zu: want %s got %s\n", i, fr[i].reason,
                        sm_proto_reason_name(why.reason));
                CU_FAIL("reason");
            }
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
        CU_ASSERT_EQUAL(f.payload_offset, fr[i].payload);
        CU_ASSERT_EQUAL(f.schema_id, 7);
        const sm_field *sf = sm_proto_decoder_schema(d);
        CU_ASSERT_STRING_EQUAL(sf->name, fr[i].msg);
        sm_arena *arena = sm_arena_create(4096, 0);
        sm_column *batch = sm_column_new(arena, sf, 1);
        CU_ASSERT_EQUAL(
            sm_proto_decode(d, buf + f.payload_offset, n - f.payload_offset, arena, batch, &why),
            SM_OK);
        CU_ASSERT_EQUAL(batch->length, 1);
        sm_arena_destroy(arena);
    }
    sm_proto_registry_free(r);
    sm_test_rmtree(dir);
    free(dir);
}

/* The arena running out mid-row: no_memory, and nothing appended. */
static void test_proto_nomem(void)
{
    sm_proto_schema *s = load_schema();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sm_proto_decoder *d = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sm_proto_decoder_new(s, "t.All", &d, &err), SM_OK);
    uint8_t big[2048];
    wbuf w = {.n = 0};
    for (int i = 0; i < 100; i++) {
        w_len(&w, 19, "abcdefghij", 10);
    }
    memcpy(big, w.b, w.n);
    sm_arena *arena = sm_arena_create(1024, 16 * 1024);
    sm_column *batch = sm_column_new(arena, sm_proto_decoder_schema(d), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
    sm_proto_error why;
    int rc = SM_OK;
    int64_t rows = 0;
    while ((rc = sm_proto_decode(d, big, w.n, arena, batch, &why)) == SM_OK) {
        rows++;
    }
    CU_ASSERT_EQUAL(rc, SM_ERR_NOMEM);
    CU_ASSERT_EQUAL(why.reason, SM_PROTO_NOMEM);
    check_lengths(batch, rows);
    sm_arena_destroy(arena);
    sm_proto_decoder_free(d);
    sm_proto_schema_free(s);
}

/* Payloads encoded by protoc from text format (tests/ingest/proto/encoded.tsv), then each of
 * their prefixes and single-bit flips. */
static void test_proto_protoc_encoded(void)
{
    sm_proto_schema *s = load_schema();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ingest/proto/encoded.tsv", src ? src : ".");
    FILE *fp = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        char *name = strtok(line, "\t"), *msg = strtok(NULL, "\t");
        char *hex = strtok(NULL, "\t"), *want = strtok(NULL, "\n");
        if (want == NULL) { /* empty payload: hex is the JSON */
            want = hex;
            hex = "";
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        uint8_t payload[1024];
        size_t len = unhex(hex, payload, sizeof payload);
        sm_proto_decoder *d = NULL;
        sm_error err = {0};
        CU_ASSERT_EQUAL_FATAL(sm_proto_decoder_new(s, msg, &d, &err), SM_OK);
        sm_arena *arena = sm_arena_create(16 * 1024, 0);
        sm_column *batch = sm_column_new(arena, sm_proto_decoder_schema(d), 1);
        sm_proto_error why;
        int rc = sm_proto_decode(d, payload, len, arena, batch, &why);
        if (rc != SM_OK) {
            fprintf(stderr, "encoded '%s': %s\n", name, why.msg);
        }
        CU_ASSERT_EQUAL(rc, SM_OK);
        json_error_t jerr;
        json_t *expect = json_loads(want, 0, &jerr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
        const char *key;
        json_t *value;
        json_object_foreach(expect, key, value)
        {
            const sm_column *col = child(batch, key);
            CU_ASSERT_PTR_NOT_NULL_FATAL(col);
            sm_buf b;
            sm_buf_init(&b);
            json_value_append(col, 0, &b, &err);
            json_t *got = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, &jerr);
            if (!got || !json_equal(got, value)) {
                fprintf(stderr, "encoded '%s' column %s: got %.*s\n", name, key, (int)b.len,
                        (const char *)b.data);
                CU_FAIL("value");
            }
            json_decref(got);
            sm_buf_free(&b);
        }
        json_decref(expect);
        /* every prefix and every single-byte flip: one row or nothing, never a crash */
        int64_t rows = batch->length;
        for (size_t cut = 0; cut < len; cut++) {
            if (sm_proto_decode(d, payload, cut, arena, batch, &why) == SM_OK) {
                rows++;
            } else {
                CU_ASSERT(why.offset <= cut);
            }
            check_lengths(batch, rows);
        }
        for (size_t k = 0; k < len; k++) {
            for (int bit = 0; bit < 8; bit++) {
                payload[k] ^= (uint8_t)(1u << bit);
                if (sm_proto_decode(d, payload, len, arena, batch, &why) == SM_OK) {
                    rows++;
                } else {
                    CU_ASSERT(why.offset <= len);
                }
                check_lengths(batch, rows);
                payload[k] ^= (uint8_t)(1u << bit);
            }
        }
        sm_arena_destroy(arena);
        sm_proto_decoder_free(d);
        n++;
    }
    fclose(fp);
    CU_ASSERT(n >= 16);
    sm_proto_schema_free(s);
}

/* stream/source.c: a Confluent frame's message indexes must name the pipeline's message (the
 * payload is decoded with that message), else bad_message_index. */
static void test_proto_source_message_index(void)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ingest/proto/test.desc", src ? src : ".");
    sm_pipeline p;
    memset(&p, 0, sizeof p);
    p.file = "test.yaml";
    p.source.format = SM_PL_FORMAT_PROTOBUF;
    p.source.schema_path = path;
    p.source.protobuf.message = "t.All";
    sm_error err = {0};
    sm_source *so = NULL;
    sm_source_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(sm_source_open(&p, &so, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(sm_source_decoder_new(so, &d, &err), SM_OK);
    sm_arena *a = sm_arena_create(0, 0);
    sm_column *b = sm_column_new(a, sm_source_schema(so), 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    static const struct {
        const char *hex;  /* after magic 0 and schema id 1; the message is i32 = 1 (08 01) */
        const char *want; /* NULL: decodes; else the start of the reason */
    } fr[] = {
        {"02 02 0801", NULL}, /* [1]: t.All */
        {"00 0801", "bad_message_index: Confluent frame: message indexes [0] name t.Inner, "
                    "not the pipeline's message t.All"}, /* lone 0: [0] */
        {"02 00 0801", "bad_message_index: Confluent frame: message indexes [0] name t.Inner"},
        {"02 14 0801", "bad_message_index: Confluent frame: message indexes [10] name no message"},
        {"04 06 00 0801", "bad_message_index: Confluent frame: message indexes [3,0] name "
                          "t.Outer.Nested"},
        {"04 02 04 0801", "bad_message_index: Confluent frame: message indexes [1,2] name no "
                          "message"},
        {"01 0801", "bad_message_index: Confluent frame: message index count out of range"},
    };
    for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++) {
        uint8_t buf[64] = {0, 0, 0, 0, 1};
        size_t n = 5;
        for (const char *h = fr[i].hex; *h; h++) {
            unsigned x;
            if (*h != ' ' && sscanf(h, "%2x", &x) == 1) {
                buf[n++] = (uint8_t)x, h++;
            }
        }
        char reason[512] = "";
        int64_t off = 0;
        int rc = sm_source_decode(d, buf, n, a, b, reason, sizeof reason, &off, &err);
        if (!fr[i].want) {
            CU_ASSERT_EQUAL(rc, SM_OK);
            CU_ASSERT_EQUAL(off, -1);
        } else {
            CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
            CU_ASSERT_EQUAL(off, 5);
            if (strncmp(reason, fr[i].want, strlen(fr[i].want)) != 0) {
                fprintf(stderr, "frame %zu: want %s\n got %s\n", i, fr[i].want, reason);
                CU_FAIL("reason");
            }
        }
    }
    /* a plain (unframed) message is the pipeline's message */
    const uint8_t plain[] = {0x08, 0x02};
    char reason[512] = "";
    int64_t off = 0;
    CU_ASSERT_EQUAL(
        sm_source_decode(d, plain, sizeof plain, a, b, reason, sizeof reason, &off, &err), SM_OK);
    CU_ASSERT_EQUAL(b->length, 2);
    sm_source_decoder_free(d);
    sm_source_close(so);
    sm_arena_destroy(a);
}

static CU_TestInfo tests[] = {
    {"payloads encoded by protoc, truncated and bit-flipped", test_proto_protoc_encoded},
    {"table of payloads: values and failures", test_proto_table},
    {"descriptor set to schema", test_proto_schema},
    {"Confluent framing and the local registry", test_proto_confluent},
    {"a full arena fails the row with no_memory", test_proto_nomem},
    {"stream/source.c: Confluent message indexes name the pipeline's message",
     test_proto_source_message_index},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("proto_decode", tests)
