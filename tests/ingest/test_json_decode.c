/*
 * ingest/json_decode.c: the schema-directed JSON decoder.
 *
 * The bulk is one table of cases: an Avro type for a field "v" (or a whole record schema), a
 * payload, and either the row it must give (as tools/json_rows.h renders it: the independent
 * view of the columns) or the reason, a substring of the message and the byte offset of the
 * failure (given as the first occurrence of a marker in the payload, or as a number). Every
 * case is decoded twice into the same batch, and after each decode every column is checked for
 * the builder's invariants (lengths, offsets, null counts), so a failure that leaves part of a
 * row behind is caught wherever it happens.
 *
 * Then: rollback in nested rows among good ones, the arena running out, wide schemas, keys in
 * any order, a differential test against jansson over mutated messages (whatever jansson
 * rejects we reject; whatever it accepts decodes into an all-string schema), and datagen's
 * orders: every fault of class "decode" fails, every other record decodes, and 10k decoded
 * orders written with pq_writer read back in DuckDB equal DuckDB's own read_json of the same
 * NDJSON.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "ingest/avsc.h"
#include "ingest/json_decode.h"
#include "storage/column.h"
#include "storage/parquet_writer.h"
#include "tools/datagen.h"
#include "tools/json_rows.h"
#include "sm_test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

#define O_DEAD  1 /* unknown_fields = dead_letter */
#define O_ROUND 2 /* decimal_round */

/* Checks the builder invariants of c and its children; returns a description or NULL. */
static const char *check_column(const sm_column *c)
{
    int64_t nulls = 0;
    if (c->length > c->capacity) {
        return "length > capacity";
    }
    if (c->validity) {
        for (int64_t i = 0; i < c->length; i++) {
            nulls += !sm_column_is_valid(c, i);
        }
    }
    if (nulls != c->null_count) {
        return "null_count does not match the validity bitmap";
    }
    if (c->offsets) {
        if (c->offsets[0] != 0) {
            return "offsets[0] != 0";
        }
        for (int64_t i = 0; i < c->length; i++) {
            if (c->offsets[i + 1] < c->offsets[i]) {
                return "offsets go backwards";
            }
            if (!sm_column_is_valid(c, i) && c->offsets[i + 1] != c->offsets[i]) {
                return "a null slot has a non-empty range";
            }
        }
    }
    if (sm_type_is_binary_like(c->field->type) && c->offsets[c->length] != c->data_len) {
        return "offsets[length] != data_len";
    }
    if (c->field->type == SM_STRUCT) {
        for (int i = 0; i < c->field->n_children; i++) {
            const char *why;
            if (c->children[i]->length != c->length) {
                return "a struct child's length differs from the struct's";
            }
            if ((why = check_column(c->children[i])) != NULL) {
                return why;
            }
        }
    }
    if (c->field->type == SM_LIST || c->field->type == SM_MAP) {
        if (c->offsets[c->length] != c->children[0]->length) {
            return "offsets[length] != element count";
        }
        return check_column(c->children[0]);
    }
    return NULL;
}

/* Renders row i as JSON into a static buffer. */
static const char *render(const sm_column *batch, int64_t i)
{
    static char out[8192];
    sm_buf b = SM_BUF_INIT;
    sm_error err;
    if (json_row_append(batch, i, &b, &err) != SM_OK) {
        snprintf(out, sizeof out, "(render failed: %s)", err.msg);
    } else {
        snprintf(out, sizeof out, "%.*s", (int)b.len, (const char *)b.data);
    }
    sm_buf_free(&b);
    return out;
}

/* A record schema: `type` itself when it is a record named R or starts with '#' (then the rest),
 * else a record with one field "v" of it. */
static char *schema_text(const char *type)
{
    static char buf[8192];
    if (type[0] == '#') {
        return (char *)type + 1;
    }
    if (strncmp(type, "{\"type\":\"record\",\"name\":\"R\"", 27) == 0) {
        return (char *)type;
    }
    snprintf(buf, sizeof buf,
             "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"v\",\"type\":%s}]}",
             type);
    return buf;
}

typedef struct fixture {
    sm_arena *arena;
    sm_avsc *avsc;
    sm_json_decoder *dec;
    sm_column *batch;
} fixture;

static bool fixture_open(fixture *f, const char *type, int opts)
{
    sm_error err;
    sm_json_opts o;
    memset(f, 0, sizeof *f);
    f->arena = sm_arena_create(0, 0);
    const char *text = schema_text(type);
    if (sm_avsc_parse(text, strlen(text), "case.avsc", f->arena, &f->avsc, &err) != SM_OK) {
        fprintf(stderr, "schema %s: %s\n", type, err.msg);
        return false;
    }
    sm_json_opts_default(&o);
    o.avsc = f->avsc;
    o.unknown_fields = opts & O_DEAD ? SM_JSON_UNKNOWN_DEAD_LETTER : SM_JSON_UNKNOWN_SKIP;
    o.decimal_round = opts & O_ROUND;
    if (sm_json_decoder_new(f->avsc->root, &o, &f->dec, &err) != SM_OK) {
        fprintf(stderr, "decoder %s: %s\n", type, err.msg);
        return false;
    }
    f->batch = sm_column_new(f->arena, f->avsc->root, 1);
    return f->batch != NULL;
}

static void fixture_close(fixture *f)
{
    sm_json_decoder_free(f->dec);
    sm_arena_destroy(f->arena);
}

static int decode(fixture *f, const char *msg, size_t len, sm_json_error *why)
{
    return sm_json_decode(f->dec, (const uint8_t *)msg, len, f->arena, f->batch, why);
}

/* ---- the table ---------------------------------------------------------------------------- */

typedef struct jcase {
    const char *type;   /* Avro type of field "v", or a record schema */
    const char *msg;    /* payload */
    const char *want;   /* the row, or NULL for a failure */
    const char *reason; /* sm_json_reason_name */
    const char *sub;    /* substring of the failure message */
    const char *at;     /* the failure's offset: first occurrence of this in msg */
    int off;            /* or this offset (-1: at) */
    int opts;           /* O_* */
    int len;            /* payload length when it holds NUL bytes (0: strlen) */
} jcase;

#define OK(t, m, w)                                                                                \
    {                                                                                              \
        t, m, w, NULL, NULL, NULL, -1, 0, 0                                                        \
    }
#define OKX(t, m, w, o)                                                                            \
    {                                                                                              \
        t, m, w, NULL, NULL, NULL, -1, o, 0                                                        \
    }
#define BAD(t, m, r, s, a)                                                                         \
    {                                                                                              \
        t, m, NULL, r, s, a, -1, 0, 0                                                              \
    }
#define BADO(t, m, r, s, off)                                                                      \
    {                                                                                              \
        t, m, NULL, r, s, NULL, off, 0, 0                                                          \
    }
#define BADX(t, m, r, s, a, o)                                                                     \
    {                                                                                              \
        t, m, NULL, r, s, a, -1, o, 0                                                              \
    }
#define BADL(t, m, len, r, s, off)                                                                 \
    {                                                                                              \
        t, m, NULL, r, s, NULL, off, 0, len                                                        \
    }

#define NINT "[\"null\",\"int\"]"
#define TSMS "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}"
#define TSUS "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"
#define DATE "{\"type\":\"int\",\"logicalType\":\"date\"}"
#define DEC(p, s)                                                                                  \
    "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":" #p ",\"scale\":" #s "}"
#define ENUM    "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}"
#define UUID    "{\"type\":\"string\",\"logicalType\":\"uuid\"}"
#define FIX4    "{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}"
#define REC_X   "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}"
#define ARR(t)  "{\"type\":\"array\",\"items\":" t "}"
#define MAP(t)  "{\"type\":\"map\",\"values\":" t "}"
#define REC2(f) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" f "]}"

/* a string of 40 chars, for the 16-byte scanning paths */
#define S40 "abcdefghijklmnopqrstuvwxyz0123456789ABCD"

static const jcase cases[] = {
    /* ---- integers ---- */
    OK("\"int\"", "{\"v\":1}", "{\"v\":1}"),
    OK("\"int\"", "{\"v\":-1}", "{\"v\":-1}"),
    OK("\"int\"", "{\"v\":0}", "{\"v\":0}"),
    OK("\"int\"", "{\"v\":-0}", "{\"v\":0}"),
    OK("\"int\"", "{\"v\":2147483647}", "{\"v\":2147483647}"),
    BAD("\"int\"", "{\"v\":2147483648}", "out_of_range", "2147483648 is out of range for int32",
        "2147"),
    OK("\"int\"", "{\"v\":-2147483648}", "{\"v\":-2147483648}"),
    BAD("\"int\"", "{\"v\":-2147483649}", "out_of_range", "field 'v': -2147483649 is out of range",
        "-2147"),
    OK("\"long\"", "{\"v\":9223372036854775807}", "{\"v\":9223372036854775807}"),
    BAD("\"long\"", "{\"v\":9223372036854775808}", "out_of_range", "out of range for int64",
        "9223"),
    OK("\"long\"", "{\"v\":-9223372036854775808}", "{\"v\":-9223372036854775808}"),
    BAD("\"long\"", "{\"v\":-9223372036854775809}", "out_of_range", "out of range", "-9223"),
    BAD("\"long\"", "{\"v\":99999999999999999999999}", "out_of_range", "out of range", "999"),
    BAD("\"long\"", "{\"v\":18446744073709551616}", "out_of_range", "out of range", "184"),
    OK("\"int\"", "{\"v\":1.0}", "{\"v\":1}"),
    BAD("\"int\"", "{\"v\":1.5}", "wrong_type", "field 'v': 1.5 is not an integer", "1.5"),
    OK("\"int\"", "{\"v\":1e3}", "{\"v\":1000}"),
    OK("\"int\"", "{\"v\":1E+2}", "{\"v\":100}"),
    OK("\"int\"", "{\"v\":100e-2}", "{\"v\":1}"),
    OK("\"int\"", "{\"v\":2.50e1}", "{\"v\":25}"),
    BAD("\"int\"", "{\"v\":15e-1}", "wrong_type", "15e-1 is not an integer", "15e"),
    BAD("\"int\"", "{\"v\":1e-5}", "wrong_type", "is not an integer", "1e"),
    OK("\"int\"", "{\"v\":0e999999999999}", "{\"v\":0}"),
    BAD("\"int\"", "{\"v\":1e999999999999}", "out_of_range", "out of range", "1e"),
    OK("\"int\"", "{\"v\":0.0}", "{\"v\":0}"),
    OK("\"int\"", "{\"v\":-0.0}", "{\"v\":0}"),
    OK("\"long\"", "{\"v\":1e18}", "{\"v\":1000000000000000000}"),
    OK("\"long\"", "{\"v\":12345678901234567890e-1}", "{\"v\":1234567890123456789}"),
    OK("\"long\"", "{\"v\":0.00000000000000000000000000001e29}", "{\"v\":1}"),
    BAD("\"int\"", "{\"v\":\"1\"}", "wrong_type", "expected an integer, got a string", "\"1\""),
    BAD("\"int\"", "{\"v\":true}", "wrong_type", "expected an integer, got a boolean", "true"),
    BAD("\"int\"", "{\"v\":[1]}", "wrong_type", "got an array", "["),
    BAD("\"int\"", "{\"v\":{}}", "wrong_type", "got an object", "{}"),
    BAD("\"int\"", "{\"v\":null}", "null_required", "field 'v': null for a required field", "null"),
    OK(NINT, "{\"v\":null}", "{\"v\":null}"),
    OK(NINT, "{}", "{\"v\":null}"),
    OK(NINT, "{\"v\":7}", "{\"v\":7}"),
    OK("[\"int\",\"null\"]", "{\"v\":null}", "{\"v\":null}"),
    BADO("\"int\"", "{}", "missing_field", "missing required field 'v'", 1),
    BAD("\"int\"", "{\"v\":01}", "syntax", "invalid number", "01"),
    BAD("\"int\"", "{\"v\":+1}", "syntax", "unexpected character '+'", "+"),
    BAD("\"int\"", "{\"v\":.5}", "syntax", "unexpected character '.'", ".5"),
    BAD("\"int\"", "{\"v\":1.}", "syntax", "invalid number", "1."),
    BAD("\"int\"", "{\"v\":-}", "syntax", "invalid number", "-"),
    BAD("\"int\"", "{\"v\":1e}", "syntax", "invalid number", "1e"),
    BAD("\"int\"", "{\"v\":1e+}", "syntax", "invalid number", "1e"),
    BAD("\"int\"", "{\"v\":1x}", "syntax", "invalid number", "1x"),
    BAD("\"int\"", "{\"v\":0x10}", "syntax", "invalid number", "0x"),
    BAD("\"int\"", "{\"v\":1.2.3}", "syntax", "invalid number", "1.2"),
    BAD("\"int\"", "{\"v\":NaN}", "syntax", "unexpected character 'N'", "NaN"),
    BAD("\"int\"", "{\"v\":-Infinity}", "syntax", "invalid number", "-Inf"),
    BAD("\"int\"", "{\"v\":1 2}", "syntax", "expected ',' or '}'", "2"),
    /* ---- floating point ---- */
    OK("\"double\"", "{\"v\":12.34}", "{\"v\":12.34}"),
    OK("\"double\"", "{\"v\":1}", "{\"v\":1}"),
    OK("\"double\"", "{\"v\":-0.0}", "{\"v\":-0}"),
    OK("\"double\"", "{\"v\":0.1}", "{\"v\":0.1}"),
    OK("\"double\"", "{\"v\":1e308}", "{\"v\":1e+308}"),
    OK("\"double\"", "{\"v\":4.9e-324}", "{\"v\":4.94065645841247e-324}"),
    OK("\"double\"", "{\"v\":1e-400}", "{\"v\":0}"),
    OK("\"double\"", "{\"v\":123456789012345678901234567890}", "{\"v\":1.2345678901234568e+29}"),
    OK("\"double\"", "{\"v\":0.30000000000000004}", "{\"v\":0.30000000000000004}"),
    OK("\"double\"", "{\"v\":9007199254740993}", "{\"v\":9007199254740992}"),
    BAD("\"double\"", "{\"v\":1e309}", "out_of_range", "1e309 is out of range for double", "1e"),
    BAD("\"double\"", "{\"v\":-1e400}", "out_of_range", "out of range for double", "-1e"),
    OK("\"double\"", "{\"v\":\"NaN\"}", "{\"v\":\"NaN\"}"),
    OK("\"double\"", "{\"v\":\"Infinity\"}", "{\"v\":\"Infinity\"}"),
    OK("\"double\"", "{\"v\":\"-Infinity\"}", "{\"v\":\"-Infinity\"}"),
    BAD("\"double\"", "{\"v\":\"nan\"}", "wrong_type", "expected a number, got a string", "\"nan"),
    BAD("\"double\"", "{\"v\":\"12.5\"}", "wrong_type", "expected a number", "\"12"),
    BAD("\"double\"", "{\"v\":true}", "wrong_type", "expected a number, got a boolean", "true"),
    BAD("\"double\"", "{\"v\":[]}", "wrong_type", "got an array", "[]"),
    OK("\"float\"", "{\"v\":1.5}", "{\"v\":1.5}"),
    OK("\"float\"", "{\"v\":0.1}", "{\"v\":0.1}"),
    OK("\"float\"", "{\"v\":16777217}", "{\"v\":16777216}"),
    OK("\"float\"", "{\"v\":1e-50}", "{\"v\":0}"),
    BAD("\"float\"", "{\"v\":1e39}", "out_of_range", "1e39 is out of range for float", "1e"),
    OK("\"float\"", "{\"v\":\"-Infinity\"}", "{\"v\":\"-Infinity\"}"),
    /* ---- booleans ---- */
    OK("\"boolean\"", "{\"v\":true}", "{\"v\":true}"),
    OK("\"boolean\"", "{\"v\":false}", "{\"v\":false}"),
    BAD("\"boolean\"", "{\"v\":1}", "wrong_type", "expected true or false, got a number", "1"),
    BAD("\"boolean\"", "{\"v\":\"true\"}", "wrong_type", "got a string", "\"true"),
    BAD("\"boolean\"", "{\"v\":tru}", "syntax", "invalid literal", "tru"),
    BAD("\"boolean\"", "{\"v\":truex}", "syntax", "invalid literal", "truex"),
    BAD("\"boolean\"", "{\"v\":False}", "syntax", "unexpected character 'F'", "F"),
    BAD("\"boolean\"", "{\"v\":nul}", "syntax", "invalid literal", "nul"),
    BAD("\"boolean\"", "{\"v\":null}", "null_required", "null for a required field", "null"),
    /* ---- strings ---- */
    OK("\"string\"", "{\"v\":\"abc\"}", "{\"v\":\"abc\"}"),
    OK("\"string\"", "{\"v\":\"\"}", "{\"v\":\"\"}"),
    OK("\"string\"", "{\"v\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}",
       "{\"v\":\"a\\\"b\\\\c/d\\u0008\\u000c\\n\\r\\t\"}"),
    OK("\"string\"", "{\"v\":\"\\u00e9\"}", "{\"v\":\"\xc3\xa9\"}"),
    OK("\"string\"", "{\"v\":\"\\u20AC\"}", "{\"v\":\"\xe2\x82\xac\"}"),
    OK("\"string\"", "{\"v\":\"\\ud83d\\ude00\"}", "{\"v\":\"\xf0\x9f\x98\x80\"}"),
    OK("\"string\"", "{\"v\":\"\\uDBFF\\uDFFF\"}", "{\"v\":\"\xf4\x8f\xbf\xbf\"}"),
    OK("\"string\"", "{\"v\":\"\\u0000\"}", "{\"v\":\"\\u0000\"}"),
    OK("\"string\"", "{\"v\":\"x\\u0041y\"}", "{\"v\":\"xAy\"}"),
    BAD("\"string\"", "{\"v\":\"\\ud83d\"}", "invalid_utf8", "unpaired surrogate \\ud83d",
        "\\ud83d"),
    BAD("\"string\"", "{\"v\":\"ab\\ude00\"}", "invalid_utf8", "unpaired surrogate \\ude00",
        "\\ude"),
    BAD("\"string\"", "{\"v\":\"\\ud83d\\u0041\"}", "invalid_utf8", "unpaired surrogate",
        "\\ud83d"),
    BAD("\"string\"", "{\"v\":\"\\ud83dx\"}", "invalid_utf8", "unpaired surrogate", "\\ud83d"),
    BAD("\"string\"", "{\"v\":\"\\ud83d\\ud83d\"}", "invalid_utf8", "unpaired surrogate",
        "\\ud83d"),
    BAD("\"string\"", "{\"v\":\"\\u00\"}", "syntax", "invalid \\u escape", "\\u00"),
    BAD("\"string\"", "{\"v\":\"\\uZZZZ\"}", "syntax", "invalid \\u escape", "\\uZ"),
    BAD("\"string\"", "{\"v\":\"\\x\"}", "syntax", "invalid escape '\\x'", "\\x"),
    BAD("\"string\"", "{\"v\":\"\\'\"}", "syntax", "invalid escape", "\\'"),
    OK("\"string\"", "{\"v\":\"\xc3\xa9t\xc3\xa9\"}", "{\"v\":\"\xc3\xa9t\xc3\xa9\"}"),
    OK("\"string\"", "{\"v\":\"\xf0\x9f\x98\x80\"}", "{\"v\":\"\xf0\x9f\x98\x80\"}"),
    OK("\"string\"", "{\"v\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}",
       "{\"v\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}"),
    BAD("\"string\"", "{\"v\":\"ab\xff\"}", "invalid_utf8", "field 'v': invalid UTF-8 at byte 8",
        "\xff"),
    BAD("\"string\"", "{\"v\":\"\xc3\x28\"}", "invalid_utf8", "invalid UTF-8", "\xc3"),
    BAD("\"string\"", "{\"v\":\"\x80\"}", "invalid_utf8", "invalid UTF-8", "\x80"),
    BAD("\"string\"", "{\"v\":\"\xc0\xaf\"}", "invalid_utf8", "invalid UTF-8", "\xc0"),
    BAD("\"string\"", "{\"v\":\"\xc1\xbf\"}", "invalid_utf8", "invalid UTF-8", "\xc1"),
    BAD("\"string\"", "{\"v\":\"\xed\xa0\x80\"}", "invalid_utf8", "invalid UTF-8", "\xed"),
    BAD("\"string\"", "{\"v\":\"\xf8\x88\x80\x80\x80\"}", "invalid_utf8", "invalid UTF-8", "\xf8"),
    BAD("\"string\"", "{\"v\":\"\xe0\x80\x80\"}", "invalid_utf8", "invalid UTF-8", "\xe0"),
    BAD("\"string\"", "{\"v\":\"\xf0\x80\x80\x80\"}", "invalid_utf8", "invalid UTF-8", "\xf0"),
    BAD("\"string\"", "{\"v\":\"\xf4\x90\x80\x80\"}", "invalid_utf8", "invalid UTF-8", "\xf4"),
    BAD("\"string\"", "{\"v\":\"\xe2\x82\"}", "invalid_utf8", "invalid UTF-8", "\xe2"),
    BAD("\"string\"", "{\"v\":\"a\x01\"}", "syntax", "control character 0x01 in a string", "\x01"),
    BAD("\"string\"", "{\"v\":\"a\tb\"}", "syntax", "control character 0x09", "\t"),
    BAD("\"string\"", "{\"v\":\"a\nb\"}", "syntax", "control character 0x0a", "\n"),
    BADO("\"string\"", "{\"v\":\"abc", "syntax", "unterminated string", 9),
    BADO("\"string\"", "{\"v\":\"abc\\", "syntax", "unterminated string", 10),
    OK("\"string\"", "{\"v\":12.50}", "{\"v\":\"12.50\"}"),
    OK("\"string\"", "{\"v\":{\"a\": [1, 2]}}", "{\"v\":\"{\\\"a\\\": [1, 2]}\"}"),
    OK("\"string\"", "{\"v\":[1,\"x\",null]}", "{\"v\":\"[1,\\\"x\\\",null]\"}"),
    OK("\"string\"", "{\"v\":true}", "{\"v\":\"true\"}"),
    OK("\"string\"", "{\"v\" : -1e5 }", "{\"v\":\"-1e5\"}"),
    BAD("\"string\"", "{\"v\":{\"a\": tru}}", "syntax", "invalid literal", "tru"),
    BAD("\"string\"", "{\"v\":[1,2}", "syntax", "expected ',' or ']'", "}"),
    BAD("\"string\"", "{\"v\":{\"a\":\"\xff\"}}", "invalid_utf8", "invalid UTF-8", "\xff"),
    OK("\"string\"", "{\"v\":\"" S40 "\\n" S40 "\"}", "{\"v\":\"" S40 "\\n" S40 "\"}"),
    OK("\"string\"", "{\"v\":\"" S40 "\xc3\xa9" S40 "\"}", "{\"v\":\"" S40 "\xc3\xa9" S40 "\"}"),
    BAD("\"string\"", "{\"v\":\"" S40 "\xff" S40 "\"}", "invalid_utf8", "invalid UTF-8", "\xff"),
    BAD("\"string\"", "{\"v\":\"" S40 "\x1f" S40 "\"}", "syntax", "control character", "\x1f"),
    OK("\"string\"", "{\"v\":\"0123456789abcde\"}", "{\"v\":\"0123456789abcde\"}"),
    OK("\"string\"", "{\"v\":\"0123456789abcdef\"}", "{\"v\":\"0123456789abcdef\"}"),
    OK("\"string\"", "{\"v\":\"0123456789abcdef\\\"\"}", "{\"v\":\"0123456789abcdef\\\"\"}"),
    OK("[\"null\",\"string\"]", "{\"v\":null}", "{\"v\":null}"),
    OK(ENUM, "{\"v\":\"A\"}", "{\"v\":\"A\"}"),
    OK(ENUM, "{\"v\":\"\\u0042\"}", "{\"v\":\"B\"}"),
    BAD(ENUM, "{\"v\":\"C\"}", "wrong_type", "\"C\" is not a symbol of the enum", "\"C"),
    BAD(ENUM, "{\"v\":\"a\"}", "wrong_type", "not a symbol", "\"a"),
    BAD(ENUM, "{\"v\":1}", "wrong_type", "expected a string, got a number", "1"),
    OK(UUID, "{\"v\":\"123e4567-e89b-12d3-a456-426614174000\"}",
       "{\"v\":\"123e4567-e89b-12d3-a456-426614174000\"}"),
    OK(UUID, "{\"v\":\"123E4567-E89B-12D3-A456-426614174000\"}",
       "{\"v\":\"123E4567-E89B-12D3-A456-426614174000\"}"),
    BAD(UUID, "{\"v\":\"123e4567e89b12d3a456426614174000\"}", "wrong_type", "is not a UUID",
        "\"123"),
    BAD(UUID, "{\"v\":\"123e4567-e89b-12d3-a456-42661417400g\"}", "wrong_type", "not a UUID",
        "\"123"),
    /* ---- keys, unknown and duplicate fields ---- */
    OK("\"int\"", "{\"\\u0076\":1}", "{\"v\":1}"),
    OK("\"int\"", "{ \"v\" : 1 }", "{\"v\":1}"),
    OK("\"int\"", "\r\n\t {\"v\":1} \n", "{\"v\":1}"),
    BAD("\"int\"", "{\"v\xff\":1}", "invalid_utf8", "invalid UTF-8", "\xff"),
    OK("\"int\"", "{\"x\":{\"deep\":[1,2,{\"z\":null}],\"s\":\"\\u00e9\"},\"v\":1,\"y\":-2.5e3}",
       "{\"v\":1}"),
    OK("\"int\"", "{\"V\":5,\"v\":1,\"vv\":2,\"\":3}", "{\"v\":1}"),
    BAD("\"int\"", "{\"x\":[1,2,],\"v\":1}", "syntax", "unexpected character ']'", "]"),
    BAD("\"int\"", "{\"x\":\"\xc3\",\"v\":1}", "invalid_utf8", "invalid UTF-8", "\xc3"),
    BAD("\"int\"", "{\"x\":01,\"v\":1}", "syntax", "invalid number", "01"),
    BAD("\"int\"", "{\"x\":[1 2],\"v\":1}", "syntax", "expected ',' or ']'", "2]"),
    BAD("\"int\"", "{\"x\":{\"a\" 1},\"v\":1}", "syntax", "expected ':' after a key", "1}"),
    BAD("\"int\"", "{\"x\":{1:1},\"v\":1}", "syntax", "expected a string key", "1:"),
    BADX("\"int\"", "{\"v\":1,\"extra\":2}", "unknown_field", "unknown field 'extra'", "\"extra",
         O_DEAD),
    BADX(REC2("{\"name\":\"v\",\"type\":" REC_X "}"), "{\"v\":{\"x\":1,\"y\":2}}", "unknown_field",
         "unknown field 'v.y'", "\"y", O_DEAD),
    OKX("\"int\"", "{\"v\":1}", "{\"v\":1}", O_DEAD),
    OK("\"int\"", "{\"v\":1,\"v\":2}", "{\"v\":2}"),
    OK("\"string\"", "{\"v\":\"a\",\"v\":\"bcd\"}", "{\"v\":\"bcd\"}"),
    OK("\"string\"", "{\"v\":\"abc\",\"v\":\"\",\"v\":\"z\"}", "{\"v\":\"z\"}"),
    BAD("\"int\"", "{\"v\":\"x\",\"v\":1}", "wrong_type", "expected an integer", "\"x"),
    OK(NINT, "{\"v\":null,\"v\":3}", "{\"v\":3}"),
    OK(NINT, "{\"v\":3,\"v\":null}", "{\"v\":null}"),
    OK(ARR("\"int\""), "{\"v\":[1,2,3],\"v\":[4]}", "{\"v\":[4]}"),
    OK(REC2("{\"name\":\"v\",\"type\":" REC_X "}"), "{\"v\":{\"x\":1},\"v\":{\"x\":2,\"x\":3}}",
       "{\"v\":{\"x\":3}}"),
    /* ---- the message as a whole ---- */
    BADO("\"int\"", "", "not_object", "empty message", 0),
    BADO("\"int\"", "   ", "not_object", "blank message", 3),
    BAD("\"int\"", "[1]", "not_object", "the message is an array, not an object", "["),
    BAD("\"int\"", "\"x\"", "not_object", "the message is a string", "\""),
    BAD("\"int\"", " 42", "not_object", "the message is a number", "4"),
    BAD("\"int\"", "null", "not_object", "the message is null", "n"),
    BAD("\"int\"", "{\"v\":1} x", "trailing_data", "trailing data after the object at byte 8", "x"),
    BADO("\"int\"", "{\"v\":1}}", "trailing_data", "trailing data", 7),
    BAD("\"int\"", "{\"v\":1}{\"v\":2}", "trailing_data", "trailing data", "{\"v\":2"),
    BADL("\"int\"", "{\"v\":1}\0", 8, "trailing_data", "trailing data", 7),
    BADL("\"int\"", "{\"v\":1\0}", 8, "syntax", "expected ',' or '}'", 6),
    BADO("\"int\"", "{\"v\":1,}", "syntax", "expected a string key", 7),
    BAD("\"int\"", "{\"v\" 1}", "syntax", "expected ':' after a key", "1"),
    BAD("\"int\"", "{v:1}", "syntax", "expected a string key", "v"),
    BAD("\"int\"", "{'v':1}", "syntax", "expected a string key", "'"),
    BADO("\"int\"", "{\"v\":1", "syntax", "unexpected end of message", 6),
    BADO("\"int\"", "{\"v\":", "syntax", "unexpected end of message", 5),
    BADO("\"int\"", "{\"v\"", "syntax", "expected ':'", 4),
    BADO("\"int\"", "{", "syntax", "unexpected end of message", 1),
    BAD("\"int\"", "{\"v\":1 \"w\":2}", "syntax", "expected ',' or '}'", "\"w"),
    BAD("\"int\"", "}", "syntax", "unexpected character '}'", "}"),
    BAD("\"int\"", "\xef\xbb\xbf{\"v\":1}", "syntax", "unexpected byte 0xef", "\xef"),
    BAD("\"int\"", "{\"v\":1,,\"w\":2}", "syntax", "expected a string key", ",\"w"),
    BAD("\"int\"", "{,\"v\":1}", "syntax", "expected a string key", ","),
    /* ---- timestamps and dates ---- */
    OK(TSMS, "{\"v\":1700000000000}", "{\"v\":\"2023-11-14T22:13:20.000Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14T22:13:20.123Z\"}", "{\"v\":\"2023-11-14T22:13:20.123Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14T22:13:20.1239Z\"}", "{\"v\":\"2023-11-14T22:13:20.123Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14T23:13:20.5+01:00\"}", "{\"v\":\"2023-11-14T22:13:20.500Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14T22:13:20-0130\"}", "{\"v\":\"2023-11-14T23:43:20.000Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14T22:13:20\"}", "{\"v\":\"2023-11-14T22:13:20.000Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14 22:13:20z\"}", "{\"v\":\"2023-11-14T22:13:20.000Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14t22:13Z\"}", "{\"v\":\"2023-11-14T22:13:00.000Z\"}"),
    OK(TSMS, "{\"v\":\"2023-11-14\"}", "{\"v\":\"2023-11-14T00:00:00.000Z\"}"),
    OK(TSMS, "{\"v\":\"\\u0032023-11-14\"}", "{\"v\":\"2023-11-14T00:00:00.000Z\"}"),
    OK(TSMS, "{\"v\":-1}", "{\"v\":\"1969-12-31T23:59:59.999Z\"}"),
    OK(TSMS, "{\"v\":\"1969-12-31T23:59:59.9995Z\"}", "{\"v\":\"1969-12-31T23:59:59.999Z\"}"),
    OK(TSMS, "{\"v\":1.7e12}", "{\"v\":\"2023-11-14T22:13:20.000Z\"}"),
    BAD(TSMS, "{\"v\":1700000000000.5}", "wrong_type", "is not an integer", "17"),
    BAD(TSMS, "{\"v\":\"2023-02-30T00:00:00Z\"}", "wrong_type",
        "\"2023-02-30T00:00:00Z\" is not an ISO-8601 timestamp", "\"2023"),
    BAD(TSMS, "{\"v\":\"2023-11-14T24:00:00Z\"}", "wrong_type", "not an ISO-8601", "\"2023"),
    BAD(TSMS, "{\"v\":\"2023-11-14T23:59:60Z\"}", "wrong_type", "not an ISO-8601", "\"2023"),
    BAD(TSMS, "{\"v\":\"2023-11-14T22:13:20+25:00\"}", "wrong_type", "not an ISO-8601", "\"2023"),
    BAD(TSMS, "{\"v\":\"2023-11-14T22:13:20.Z\"}", "wrong_type", "not an ISO-8601", "\"2023"),
    BAD(TSMS, "{\"v\":\"2023-11-14T22:13:20Zjunk\"}", "wrong_type", "not an ISO-8601", "\"2023"),
    BAD(TSMS, "{\"v\":\"yesterday\"}", "wrong_type", "\"yesterday\" is not an ISO-8601", "\"y"),
    BAD(TSMS, "{\"v\":true}", "wrong_type", "expected a timestamp", "true"),
    BAD(TSMS, "{\"v\":{}}", "wrong_type", "got an object", "{}"),
    /* a timestamp must fit DuckDB's int64 microseconds (290309 BC .. 294247 AD, without the
     * infinities): stored as is, DuckDB would read 'infinity' or refuse the whole file */
    OK(TSMS, "{\"v\":9223372036854775}", "{\"v\":\"294247-01-10T04:00:54.775Z\"}"),
    OK(TSMS, "{\"v\":-9223372022400000}", "{\"v\":\"-290308-12-22T00:00:00.000Z\"}"),
    BAD(TSMS, "{\"v\":9223372036854775807}", "out_of_range",
        "field 'v': 9223372036854775807 is out of range for timestamp", "9223"),
    BAD(TSMS, "{\"v\":9223372036854776}", "out_of_range", "out of range", "9223"),
    BAD(TSMS, "{\"v\":-9223372022400001}", "out_of_range", "out of range", "-9223"),
    BAD(TSMS, "{\"v\":4611686018427387904}", "out_of_range", "out of range", "4611"),
    BAD(TSMS, "{\"v\":-9223372036854775808}", "out_of_range", "out of range", "-9223"),
    BAD(TSMS, "{\"v\":1e16}", "out_of_range", "out of range", "1e16"),
    OK(TSUS, "{\"v\":9223372036854775806}", "{\"v\":\"294247-01-10T04:00:54.775806Z\"}"),
    OK(TSUS, "{\"v\":-9223372022400000000}", "{\"v\":\"-290308-12-22T00:00:00.000000Z\"}"),
    BAD(TSUS, "{\"v\":9223372036854775807}", "out_of_range", "out of range for timestamp", "9223"),
    BAD(TSUS, "{\"v\":-9223372036854775807}", "out_of_range", "out of range", "-9223"),
    BAD(TSUS, "{\"v\":-9223372022400000001}", "out_of_range", "out of range", "-9223"),
    OK(TSUS, "{\"v\":1700000000000000}", "{\"v\":\"2023-11-14T22:13:20.000000Z\"}"),
    OK(TSUS, "{\"v\":\"2023-11-14T22:13:20.123456Z\"}", "{\"v\":\"2023-11-14T22:13:20.123456Z\"}"),
    OK(TSUS, "{\"v\":\"2023-11-14T22:13:20.1234567Z\"}", "{\"v\":\"2023-11-14T22:13:20.123456Z\"}"),
    OK(TSUS, "{\"v\":\"1969-12-31T23:59:59.999999Z\"}", "{\"v\":\"1969-12-31T23:59:59.999999Z\"}"),
    OK(TSUS, "{\"v\":\"0001-01-01T00:00:00Z\"}", "{\"v\":\"0001-01-01T00:00:00.000000Z\"}"),
    OK(TSUS, "{\"v\":\"9999-12-31T23:59:59.999999Z\"}", "{\"v\":\"9999-12-31T23:59:59.999999Z\"}"),
    OK(DATE, "{\"v\":\"2024-02-29\"}", "{\"v\":\"2024-02-29\"}"),
    OK(DATE, "{\"v\":19782}", "{\"v\":\"2024-02-29\"}"),
    OK(DATE, "{\"v\":-1}", "{\"v\":\"1969-12-31\"}"),
    OK(DATE, "{\"v\":\"0000-01-01\"}", "{\"v\":\"0000-01-01\"}"),
    OK(DATE, "{\"v\":\"9999-12-31\"}", "{\"v\":\"9999-12-31\"}"),
    BAD(DATE, "{\"v\":\"2023-02-29\"}", "wrong_type", "\"2023-02-29\" is not a date", "\"2023"),
    BAD(DATE, "{\"v\":\"2024-02-29T00:00:00Z\"}", "wrong_type", "is not a date (YYYY-MM-DD)",
        "\"2024"),
    BAD(DATE, "{\"v\":\"2024-2-29\"}", "wrong_type", "is not a date", "\"2024"),
    BAD(DATE, "{\"v\":2147483648}", "out_of_range", "out of range for date", "2147"),
    BAD(DATE, "{\"v\":1.5}", "wrong_type", "is not an integer", "1.5"),
    /* ---- decimals ---- */
    OK(DEC(10, 2), "{\"v\":12.34}", "{\"v\":\"12.34\"}"),
    OK(DEC(10, 2), "{\"v\":\"12.34\"}", "{\"v\":\"12.34\"}"),
    OK(DEC(10, 2), "{\"v\":12.3}", "{\"v\":\"12.30\"}"),
    OK(DEC(10, 2), "{\"v\":12}", "{\"v\":\"12.00\"}"),
    OK(DEC(10, 2), "{\"v\":-0.5}", "{\"v\":\"-0.50\"}"),
    OK(DEC(10, 2), "{\"v\":\"-0.00\"}", "{\"v\":\"0.00\"}"),
    OK(DEC(10, 2), "{\"v\":1.230}", "{\"v\":\"1.23\"}"),
    OK(DEC(10, 2), "{\"v\":1.5e2}", "{\"v\":\"150.00\"}"),
    OK(DEC(10, 2), "{\"v\":99999999.99}", "{\"v\":\"99999999.99\"}"),
    OK(DEC(10, 2), "{\"v\":-99999999.99}", "{\"v\":\"-99999999.99\"}"),
    BAD(DEC(10, 2), "{\"v\":1.234}", "out_of_range",
        "1.234 does not fit decimal(10,2): too many decimal places", "1.2"),
    BAD(DEC(10, 2), "{\"v\":1234e-3}", "out_of_range", "too many decimal places", "1234"),
    BAD(DEC(10, 2), "{\"v\":100000000.00}", "out_of_range", "does not fit decimal(10,2)", "1000"),
    BAD(DEC(10, 2), "{\"v\":\"1e100\"}", "out_of_range", "\"1e100\" does not fit", "\"1e"),
    BAD(DEC(10, 2), "{\"v\":\"abc\"}", "wrong_type", "\"abc\" is not a decimal number", "\"abc"),
    BAD(DEC(10, 2), "{\"v\":\"1.2.3\"}", "wrong_type", "is not a decimal number", "\"1.2"),
    BAD(DEC(10, 2), "{\"v\":\" 1.5\"}", "wrong_type", "is not a decimal number", "\" 1"),
    BAD(DEC(10, 2), "{\"v\":\"\"}", "wrong_type", "is not a decimal number", "\"\""),
    BAD(DEC(10, 2), "{\"v\":true}", "wrong_type", "expected a decimal", "true"),
    OKX(DEC(10, 2), "{\"v\":1.234}", "{\"v\":\"1.23\"}", O_ROUND),
    OKX(DEC(10, 2), "{\"v\":1.235}", "{\"v\":\"1.24\"}", O_ROUND),
    OKX(DEC(10, 2), "{\"v\":-1.235}", "{\"v\":\"-1.24\"}", O_ROUND),
    OKX(DEC(10, 2), "{\"v\":0.001}", "{\"v\":\"0.00\"}", O_ROUND),
    OKX(DEC(10, 2), "{\"v\":0.005}", "{\"v\":\"0.01\"}", O_ROUND),
    OKX(DEC(10, 2), "{\"v\":1e-300}", "{\"v\":\"0.00\"}", O_ROUND),
    BADX(DEC(10, 2), "{\"v\":99999999.995}", "out_of_range", "does not fit decimal(10,2)", "999",
         O_ROUND),
    OK(DEC(38, 0), "{\"v\":99999999999999999999999999999999999999}",
       "{\"v\":\"99999999999999999999999999999999999999\"}"),
    OK(DEC(38, 0), "{\"v\":-99999999999999999999999999999999999999}",
       "{\"v\":\"-99999999999999999999999999999999999999\"}"),
    BAD(DEC(38, 0), "{\"v\":100000000000000000000000000000000000000}", "out_of_range",
        "does not fit decimal(38,0)", "1000"),
    OK(DEC(38, 10), "{\"v\":\"-1234567890123456789012345678.0123456789\"}",
       "{\"v\":\"-1234567890123456789012345678.0123456789\"}"),
    OK(DEC(18, 4), "{\"v\":123.4567}", "{\"v\":\"123.4567\"}"),
    OK(DEC(18, 4), "{\"v\":-99999999999999.9999}", "{\"v\":\"-99999999999999.9999\"}"),
    OK(DEC(5, 0), "{\"v\":0e10}", "{\"v\":\"0\"}"),
    OK(DEC(9, 9), "{\"v\":0.123456789}", "{\"v\":\"0.123456789\"}"),
    OK("{\"type\":\"fixed\",\"name\":\"D\",\"size\":8,\"logicalType\":\"decimal\",\"precision\":"
       "18,\"scale\":3}",
       "{\"v\":-1.5}", "{\"v\":\"-1.500\"}"),
    /* ---- bytes and fixed ---- */
    OK("\"bytes\"", "{\"v\":\"abc\"}", "{\"v\":\"YWJj\"}"),
    OK("\"bytes\"", "{\"v\":\"\\u00ff\\u0000\"}", "{\"v\":\"/wA=\"}"),
    OK("\"bytes\"", "{\"v\":\"\xc3\xa9\"}", "{\"v\":\"6Q==\"}"),
    OK("\"bytes\"", "{\"v\":\"\"}", "{\"v\":\"\"}"),
    BAD("\"bytes\"", "{\"v\":\"\xe2\x82\xac\"}", "wrong_type", "a character above U+00FF",
        "\"\xe2"),
    BAD("\"bytes\"", "{\"v\":\"\\u0100\"}", "wrong_type", "above U+00FF", "\"\\u"),
    BAD("\"bytes\"", "{\"v\":12}", "wrong_type", "expected a string, got a number", "12"),
    OK(FIX4, "{\"v\":\"abcd\"}", "{\"v\":\"YWJjZA==\"}"),
    BAD(FIX4, "{\"v\":\"abc\"}", "wrong_type", "expected 4 bytes, got 3", "\"abc"),
    BAD(FIX4, "{\"v\":\"abcde\"}", "wrong_type", "expected 4 bytes, got 5", "\"abc"),
    /* ---- nested ---- */
    OK(REC_X, "{\"v\":{\"x\":1}}", "{\"v\":{\"x\":1}}"),
    BAD(REC_X, "{\"v\":{}}", "missing_field", "missing required field 'v.x'", "}}"),
    BAD(REC_X, "{\"v\":{\"x\":\"a\"}}", "wrong_type", "field 'v.x': expected an integer", "\"a"),
    BAD(REC_X, "{\"v\":[]}", "wrong_type", "field 'v': expected an object, got an array", "[]"),
    BAD(REC_X, "{\"v\":null}", "null_required", "null for a required field", "null"),
    OK("[\"null\"," REC_X "]", "{\"v\":null}", "{\"v\":null}"),
    OK("[\"null\"," REC_X "]", "{}", "{\"v\":null}"),
    OK(ARR("\"int\""), "{\"v\":[1,2,3]}", "{\"v\":[1,2,3]}"),
    OK(ARR("\"int\""), "{\"v\":[ ]}", "{\"v\":[]}"),
    OK(ARR("\"int\""), "{\"v\":[ 1 , 2 ]}", "{\"v\":[1,2]}"),
    BAD(ARR("\"int\""), "{\"v\":[1,\"a\"]}", "wrong_type", "field 'v[1]': expected an integer",
        "\"a"),
    OK(ARR(NINT), "{\"v\":[1,null]}", "{\"v\":[1,null]}"),
    BAD(ARR("\"int\""), "{\"v\":[1,null]}", "null_required", "field 'v[1]': null", "null"),
    BAD(ARR("\"int\""), "{\"v\":[1,]}", "syntax", "unexpected character ']'", "]"),
    BAD(ARR("\"int\""), "{\"v\":[1,2}", "syntax", "expected ',' or ']'", "}"),
    BADO(ARR("\"int\""), "{\"v\":[1,2", "syntax", "unexpected end of message", 9),
    BAD(ARR("\"int\""), "{\"v\":{}}", "wrong_type", "expected an array, got an object", "{}"),
    OK(ARR(ARR("\"string\"")), "{\"v\":[[\"a\"],[],[\"b\",\"c\"]]}",
       "{\"v\":[[\"a\"],[],[\"b\",\"c\"]]}"),
    OK(MAP("\"int\""), "{\"v\":{\"a\":1,\"b\":2}}",
       "{\"v\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2}]}"),
    OK(MAP("\"int\""), "{\"v\":{}}", "{\"v\":[]}"),
    OK(MAP("\"int\""), "{\"v\":{\"\":1,\"\":2}}", "{\"v\":[{\"key\":\"\",\"value\":2}]}"),
    OK(MAP("\"int\""),
       "{\"v\":{\"\":1,\"a\":2,\"b\":3,\"c\":4,\"d\":5,\"e\":6,\"f\":7,\"g\":8,\"h\":9,\"\":0}}",
       "{\"v\":[{\"key\":\"a\",\"value\":2},{\"key\":\"b\",\"value\":3},{\"key\":\"c\","
       "\"value\":4},{\"key\":\"d\",\"value\":5},{\"key\":\"e\",\"value\":6},{\"key\":\"f\","
       "\"value\":7},{\"key\":\"g\",\"value\":8},{\"key\":\"h\",\"value\":9},{\"key\":\"\","
       "\"value\":0}]}"),
    OK(MAP("\"int\""), "{\"v\":{\"a\":1,\"b\":2,\"a\":3}}",
       "{\"v\":[{\"key\":\"b\",\"value\":2},{\"key\":\"a\",\"value\":3}]}"),
    OK(MAP("\"int\""), "{\"v\":{\"a\":1,\"\\u0061\":3}}", "{\"v\":[{\"key\":\"a\",\"value\":3}]}"),
    OK(MAP("\"int\""),
       "{\"v\":{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
       "\"k2\":20,\"k9\":90}}",
       "{\"v\":[{\"key\":\"k1\",\"value\":1},{\"key\":\"k3\",\"value\":3},{\"key\":\"k4\","
       "\"value\":"
       "4},{\"key\":\"k5\",\"value\":5},{\"key\":\"k6\",\"value\":6},{\"key\":\"k7\",\"value\":7},{"
       "\"key\":\"k8\",\"value\":8},{\"key\":\"k2\",\"value\":20},{\"key\":\"k9\",\"value\":90}]}"),
    OK(MAP(MAP("\"int\"")), "{\"v\":{\"a\":{\"x\":1,\"x\":2},\"b\":{},\"a\":{\"y\":3,\"y\":4}}}",
       "{\"v\":[{\"key\":\"b\",\"value\":[]},{\"key\":\"a\",\"value\":[{\"key\":\"y\",\"value\":4}]"
       "}"
       "]}"),
    BAD(MAP("\"int\""), "{\"v\":{\"a\":1,\"b\":\"x\"}}", "wrong_type",
        "field 'v[\"b\"]': expected an integer", "\"x"),
    BAD(MAP("\"int\""), "{\"v\":[]}", "wrong_type", "expected an object, got an array", "[]"),
    BAD(MAP("\"int\""), "{\"v\":{\"a\":1,}}", "syntax", "expected a string key", "}}"),
    OK(MAP(NINT), "{\"v\":{\"a\":null}}", "{\"v\":[{\"key\":\"a\",\"value\":null}]}"),
    OK(ARR(REC_X), "{\"v\":[{\"x\":1},{\"x\":2,\"x\":5}]}", "{\"v\":[{\"x\":1},{\"x\":5}]}"),
    BAD(ARR(REC_X), "{\"v\":[{\"x\":1},{\"y\":2}]}", "missing_field",
        "missing required field 'v[1].x'", "}]"),
    OK(REC2("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"},"
            "{\"name\":\"c\",\"type\":[\"null\",\"double\"]}"),
       "{\"c\":1.5,\"b\":\"x\",\"a\":1}", "{\"a\":1,\"b\":\"x\",\"c\":1.5}"),
    BAD(REC2("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\"}"),
        "{\"b\":\"x\"}", "missing_field", "missing required field 'a'", "}"),
    /* ---- defaults ---- */
    OK(REC2("{\"name\":\"v\",\"type\":\"int\",\"default\":5}"), "{}", "{\"v\":5}"),
    OK(REC2("{\"name\":\"v\",\"type\":\"int\",\"default\":5}"), "{\"v\":6}", "{\"v\":6}"),
    OK(REC2("{\"name\":\"v\",\"type\":\"string\",\"default\":\"d\\u00e9f\"}"), "{}",
       "{\"v\":\"d\xc3\xa9"
       "f\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":[\"null\",\"int\"],\"default\":null}"), "{}", "{\"v\":null}"),
    OK(REC2("{\"name\":\"v\",\"type\":[\"string\",\"null\"],\"default\":\"x\"}"), "{}",
       "{\"v\":\"x\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":[\"string\",\"null\"],\"default\":\"x\"}"), "{\"v\":null}",
       "{\"v\":null}"),
    OK(REC2("{\"name\":\"v\",\"type\":" REC_X ",\"default\":{\"x\":7}}"), "{}",
       "{\"v\":{\"x\":7}}"),
    OK(REC2("{\"name\":\"v\",\"type\":" ARR("\"int\"") ",\"default\":[1,2]}"), "{}",
       "{\"v\":[1,2]}"),
    OK(REC2("{\"name\":\"v\",\"type\":" MAP("\"int\"") ",\"default\":{\"a\":1}}"), "{}",
       "{\"v\":[{\"key\":\"a\",\"value\":1}]}"),
    OK(REC2("{\"name\":\"v\",\"type\":" ENUM ",\"default\":\"B\"}"), "{}", "{\"v\":\"B\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":\"bytes\",\"default\":\"\\u00ff\"}"), "{}",
       "{\"v\":\"/w==\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":" DEC(10, 2) ",\"default\":\"\\u0004\\u00d2\"}"), "{}",
       "{\"v\":\"12.34\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":" DEC(10, 2) ",\"default\":\"\\u00ff\"}"), "{}",
       "{\"v\":\"-0.01\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":" TSMS ",\"default\":0}"), "{}",
       "{\"v\":\"1970-01-01T00:00:00.000Z\"}"),
    OK(REC2("{\"name\":\"v\",\"type\":\"boolean\",\"default\":false}"), "{}", "{\"v\":false}"),
    OK(REC2("{\"name\":\"v\",\"type\":\"double\",\"default\":\"NaN\"}"), "{}", "{\"v\":\"NaN\"}"),
};

static void run_case(const jcase *k, int idx)
{
    fixture f;
    size_t len = k->len ? (size_t)k->len : strlen(k->msg);
    char label[160];
    snprintf(label, sizeof label, "case %d (%.60s | %.60s)", idx, k->type, k->msg);
    if (!fixture_open(&f, k->type, k->opts)) {
        fprintf(stderr, "%s: fixture failed\n", label);
        CU_FAIL("fixture");
        fixture_close(&f);
        return;
    }
    for (int round = 0; round < 2; round++) {
        sm_json_error why;
        int rc = decode(&f, k->msg, len, &why);
        const char *bad = check_column(f.batch);
        if (bad) {
            fprintf(stderr, "%s: column invariant broken: %s\n", label, bad);
            CU_FAIL("column invariant");
        }
        if (k->want) {
            if (rc != SM_OK) {
                fprintf(stderr, "%s: expected %s, failed: %s\n", label, k->want, why.msg);
                CU_FAIL("expected success");
                break;
            }
            CU_ASSERT_EQUAL(f.batch->length, round + 1);
            const char *got = render(f.batch, f.batch->length - 1);
            if (strcmp(got, k->want) != 0) {
                fprintf(stderr, "%s:\n  want %s\n  got  %s\n", label, k->want, got);
                CU_FAIL("row differs");
            }
        } else {
            size_t want_off = k->at ? (size_t)(strstr(k->msg, k->at) - k->msg) : (size_t)k->off;
            if (rc != SM_ERR_CORRUPT) {
                fprintf(stderr, "%s: expected failure %s, got rc %d row %s\n", label, k->reason, rc,
                        rc == SM_OK ? render(f.batch, f.batch->length - 1) : "");
                CU_FAIL("expected failure");
                break;
            }
            CU_ASSERT_EQUAL(f.batch->length, 0);
            if (strcmp(sm_json_reason_name(why.reason), k->reason) != 0 ||
                !strstr(why.msg, k->sub) || why.offset != want_off) {
                fprintf(stderr, "%s:\n  want %s \"%s\" at %zu\n  got  %s \"%s\" at %zu\n", label,
                        k->reason, k->sub, want_off, sm_json_reason_name(why.reason), why.msg,
                        why.offset);
                CU_FAIL("failure differs");
            }
            if (k->at && !strstr(k->msg, k->at)) {
                CU_FAIL("marker not in message");
            }
        }
    }
    fixture_close(&f);
}

static void test_json_decode_table(void)
{
    int n = (int)(sizeof cases / sizeof cases[0]);
    printf("\n  %d cases\n", n);
    CU_ASSERT(n >= 150);
    for (int i = 0; i < n; i++) {
        run_case(&cases[i], i);
    }
}

/* ---- depth ------------------------------------------------------------------------------ */

static char *nest(const char *head, int k, const char *open, const char *inner, const char *close,
                  const char *tail)
{
    size_t n = strlen(head) + (size_t)k * (strlen(open) + strlen(close)) + strlen(inner) +
               strlen(tail) + 1;
    char *s = malloc(n), *o = s;
    o += sprintf(o, "%s", head);
    for (int i = 0; i < k; i++) {
        o += sprintf(o, "%s", open);
    }
    o += sprintf(o, "%s", inner);
    for (int i = 0; i < k; i++) {
        o += sprintf(o, "%s", close);
    }
    sprintf(o, "%s", tail);
    return s;
}

static void expect_depth(const char *type, const char *head, const char *open, const char *inner,
                         const char *close, const char *tail, int ok_k, const char *want)
{
    fixture f;
    sm_json_error why;
    CU_ASSERT_FATAL(fixture_open(&f, type, 0));
    char *m = nest(head, ok_k, open, inner, close, tail);
    int rc = decode(&f, m, strlen(m), &why);
    if (rc != SM_OK) {
        fprintf(stderr, "depth %d: %s\n", ok_k, why.msg);
    }
    CU_ASSERT_EQUAL(rc, SM_OK);
    if (rc == SM_OK && want) {
        CU_ASSERT_STRING_EQUAL(render(f.batch, 0), want);
    }
    free(m);
    m = nest(head, ok_k + 1, open, inner, close, tail);
    rc = decode(&f, m, strlen(m), &why);
    CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(why.reason, SM_JSON_DEPTH);
    CU_ASSERT(strstr(why.msg, "nesting deeper than 64") != NULL);
    /* the failing bracket is the 65th level: the message's object is level 1 */
    CU_ASSERT_EQUAL(why.offset, strlen(head) + (size_t)ok_k * strlen(open));
    CU_ASSERT_EQUAL(f.batch->length, rc == SM_OK ? 2 : 1);
    CU_ASSERT_PTR_NULL(check_column(f.batch));
    free(m);
    fixture_close(&f);
}

static void test_json_decode_depth_is_bounded(void)
{
    /* an unknown field: arrays, then objects, 63 levels below the message's object */
    expect_depth("\"int\"", "{\"v\":1,\"x\":", "[", "0", "]", "}", 63, "{\"v\":1}");
    expect_depth("\"int\"", "{\"v\":1,\"x\":", "{\"k\":", "0", "}", "}", 63, "{\"v\":1}");
    /* a string field keeps the deep value as text */
    expect_depth("\"string\"", "{\"v\":", "[", "", "]", "}", 63, NULL);
    /* schema-directed nesting: a list of lists of ... */
    {
        char type[4096] = "\"int\"";
        for (int i = 0; i < 63; i++) {
            static const char head[] = "{\"type\":\"array\",\"items\":";
            size_t tl = strlen(type), hl = sizeof head - 1;
            CU_ASSERT_FATAL(tl + hl + 2 < sizeof type);
            memmove(type + hl, type, tl);
            memcpy(type, head, hl);
            type[hl + tl] = '}';
            type[hl + tl + 1] = '\0';
        }
        /* 63 arrays typed by the schema; the 64th level would be an array where an int is
         * expected, so the deepest legal message holds an int there */
        fixture f;
        sm_json_error why;
        CU_ASSERT_FATAL(fixture_open(&f, type, 0));
        char *m = nest("{\"v\":", 63, "[", "7", "]", "}");
        CU_ASSERT_EQUAL(decode(&f, m, strlen(m), &why), SM_OK);
        free(m);
        fixture_close(&f);
    }
    /* a lower bound from the options */
    {
        fixture f;
        sm_json_error why;
        sm_error err;
        sm_json_opts o;
        sm_json_decoder *d;
        CU_ASSERT_FATAL(fixture_open(&f, "\"string\"", 0));
        sm_json_opts_default(&o);
        o.max_depth = 3;
        CU_ASSERT_FATAL(sm_json_decoder_new(f.avsc->root, &o, &d, &err) == SM_OK);
        const char *okm = "{\"v\":[[1]]}", *bad = "{\"v\":[[[1]]]}";
        CU_ASSERT_EQUAL(
            sm_json_decode(d, (const uint8_t *)okm, strlen(okm), f.arena, f.batch, &why), SM_OK);
        CU_ASSERT_EQUAL(
            sm_json_decode(d, (const uint8_t *)bad, strlen(bad), f.arena, f.batch, &why),
            SM_ERR_CORRUPT);
        CU_ASSERT_STRING_EQUAL(why.msg, "field 'v': nesting deeper than 3 at byte 7");
        sm_json_decoder_free(d);
        o.max_depth = SM_JSON_MAX_DEPTH_LIMIT + 1;
        CU_ASSERT_EQUAL(sm_json_decoder_new(f.avsc->root, &o, &d, &err), SM_ERR_USAGE);
        fixture_close(&f);
    }
}

/* ---- rollback ----------------------------------------------------------------------------- */

#define NESTED                                                                                     \
    "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":["                         \
    "{\"name\":\"id\",\"type\":\"string\"},"                                                       \
    "{\"name\":\"items\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"    \
    "\"Item\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"qty\",\"type\":"      \
    "\"int\"},{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"string\"]}},"   \
    "{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":"  \
    "20,\"scale\":2},\"default\":\"\\u0000\"}]}}},"                                                \
    "{\"name\":\"meta\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"M\",\"fields\":["       \
    "{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"b\",\"type\":[\"null\",\"string\"]},"          \
    "{\"name\":\"when\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}}]}]},"   \
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"]},"                                          \
    "{\"name\":\"ok\",\"type\":\"boolean\",\"default\":true}]}"

static const char *const nested_good[] = {
    "{\"id\":\"a\",\"items\":[{\"sku\":\"s1\",\"qty\":1,\"tags\":{\"x\":\"1\",\"y\":null},"
    "\"price\":1.25}],\"meta\":{\"a\":5,\"b\":\"bee\",\"when\":\"2024-01-02T03:04:05.678901Z\"},"
    "\"note\":\"n\"}",
    "{\"items\":[],\"id\":\"b\",\"meta\":null,\"ok\":false}",
    "{\"id\":\"c\",\"items\":[{\"sku\":\"s2\",\"qty\":2,\"tags\":{}},{\"sku\":\"s3\",\"qty\":3,"
    "\"tags\":{\"k\":\"v\",\"k\":\"w\"}}],\"meta\":{\"a\":-1,\"when\":0},\"note\":null}",
    "{\"id\":\"d\\u00e9\",\"items\":[{\"qty\":4,\"sku\":\"s4\",\"tags\":{\"t\":\"" S40 "\"}}],"
    "\"extra\":[1,{\"z\":2}]}",
};

static const char *const nested_bad[] = {
    /* fails in the second item's map value, after the first item and part of the second */
    "{\"id\":\"x\",\"items\":[{\"sku\":\"s\",\"qty\":1,\"tags\":{}},{\"sku\":\"s\",\"qty\":2,"
    "\"tags\":{\"a\":\"1\",\"b\":{\"x\":}}}]}",
    /* trailing data after a complete row */
    "{\"id\":\"x\",\"items\":[{\"sku\":\"s\",\"qty\":1,\"tags\":{\"a\":\"b\"}}],\"meta\":{\"a\":1,"
    "\"when\":1}} ,",
    /* a missing required field inside meta, after everything else */
    "{\"id\":\"x\",\"items\":[{\"sku\":\"s\",\"qty\":1,\"tags\":{\"a\":null}}],\"meta\":{\"b\":"
    "\"z\",\"when\":1},\"note\":\"n\"}",
    /* duplicate map keys (the re-decode path) then a failure */
    "{\"id\":\"x\",\"items\":[{\"sku\":\"s\",\"qty\":1,\"tags\":{\"a\":\"1\",\"a\":\"2\"}},"
    "{\"sku\":1}]}",
    /* invalid UTF-8 in the last field */
    "{\"id\":\"x\",\"items\":[],\"note\":\"ab\xc3\"}",
    /* the decimal is out of range */
    "{\"id\":\"x\",\"items\":[{\"sku\":\"s\",\"qty\":1,\"tags\":{},\"price\":1e30}]}",
};

static void test_json_decode_failed_rows_leave_nothing(void)
{
    fixture mixed, clean;
    sm_json_error why;
    uint64_t seed = 42;
    int n_good = (int)(sizeof nested_good / sizeof *nested_good);
    int n_bad = (int)(sizeof nested_bad / sizeof *nested_bad);
    CU_ASSERT_FATAL(fixture_open(&mixed, NESTED, 0));
    CU_ASSERT_FATAL(fixture_open(&clean, NESTED, 0));
    for (int i = 0; i < n_good; i++) {
        if (decode(&clean, nested_good[i], strlen(nested_good[i]), &why) != SM_OK) {
            fprintf(stderr, "good %d: %s\n", i, why.msg);
            CU_FAIL("a good message failed");
        }
    }
    for (int i = 0; i < n_bad; i++) {
        if (decode(&clean, nested_bad[i], strlen(nested_bad[i]), &why) == SM_OK) {
            fprintf(stderr, "bad %d decoded\n", i);
            CU_FAIL("a bad message decoded");
        }
    }
    CU_ASSERT_EQUAL_FATAL(clean.batch->length, n_good);
    CU_ASSERT_STRING_EQUAL(render(clean.batch, 0),
                           "{\"id\":\"a\",\"items\":[{\"sku\":\"s1\",\"qty\":1,\"tags\":[{\"key\":"
                           "\"x\",\"value\":\"1\"},{\"key\":\"y\",\"value\":null}],\"price\":"
                           "\"1.25\"}],\"meta\":{\"a\":5,\"b\":\"bee\",\"when\":\"2024-01-02T03:"
                           "04:05.678901Z\"},\"note\":\"n\",\"ok\":true}");
    CU_ASSERT_STRING_EQUAL(render(clean.batch, 2),
                           "{\"id\":\"c\",\"items\":[{\"sku\":\"s2\",\"qty\":2,\"tags\":[],"
                           "\"price\":\"0.00\"},{\"sku\":\"s3\",\"qty\":3,\"tags\":[{\"key\":\"k\","
                           "\"value\":\"w\"}],\"price\":\"0.00\"}],\"meta\":{\"a\":-1,\"b\":null,"
                           "\"when\":\"1970-01-01T00:00:00.000000Z\"},\"note\":null,\"ok\":true}");
    /* 3000 messages, good and bad in random order: the batch holds exactly the good ones */
    int64_t goods = 0;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        bool good = (seed >> 33) % 3 == 0;
        int k = (int)((seed >> 40) % (uint64_t)(good ? n_good : n_bad));
        const char *m = good ? nested_good[k] : nested_bad[k];
        int rc = decode(&mixed, m, strlen(m), &why);
        CU_ASSERT_EQUAL(rc, good ? SM_OK : SM_ERR_CORRUPT);
        if (good) {
            char want[8192];
            snprintf(want, sizeof want, "%s", render(clean.batch, k));
            CU_ASSERT_STRING_EQUAL(render(mixed.batch, goods), want);
            goods++;
        }
        CU_ASSERT_EQUAL(mixed.batch->length, goods);
        if (i % 97 == 0 || !good) {
            const char *bad = check_column(mixed.batch);
            if (bad) {
                fprintf(stderr, "after message %d: %s\n", i, bad);
                CU_FAIL("column invariant");
                break;
            }
        }
    }
    fixture_close(&mixed);
    fixture_close(&clean);
}

static void test_json_decode_full_arena_is_no_memory(void)
{
    const char *m = nested_good[0];
    sm_arena *small = sm_arena_create(4096, 256 << 10);
    fixture f;
    sm_json_error why;
    int rc = SM_OK;
    int64_t rows = 0;
    CU_ASSERT_FATAL(fixture_open(&f, NESTED, 0));
    sm_column *batch = sm_column_new(small, f.avsc->root, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
    while (rows < 1000000 && (rc = sm_json_decode(f.dec, (const uint8_t *)m, strlen(m), small,
                                                  batch, &why)) == SM_OK) {
        rows++;
    }
    CU_ASSERT_EQUAL(rc, SM_ERR_NOMEM);
    CU_ASSERT_EQUAL(why.reason, SM_JSON_NOMEM);
    CU_ASSERT_STRING_EQUAL(sm_json_reason_name(why.reason), "no_memory");
    CU_ASSERT(rows > 10);
    CU_ASSERT_EQUAL(batch->length, rows);
    CU_ASSERT_PTR_NULL(check_column(batch));
    CU_ASSERT_EQUAL(decode(&f, m, strlen(m), &why), SM_OK);
    char want[8192];
    snprintf(want, sizeof want, "%s", render(f.batch, 0));
    CU_ASSERT_STRING_EQUAL(render(batch, 0), want);
    CU_ASSERT_STRING_EQUAL(render(batch, rows - 1), want);
    sm_arena_destroy(small);
    fixture_close(&f);
}

/* ---- wide schemas ------------------------------------------------------------------------- */

static void test_json_decode_wide_schema_any_key_order(void)
{
    enum { N = 300 };
    char *schema = malloc(64 * N + 200), *o = schema;
    char *msg = malloc(64 * N + 10), *want = malloc(64 * N + 10);
    int order[N];
    uint64_t seed = 7;
    fixture f;
    sm_json_error why;
    o += sprintf(o, "{\"type\":\"record\",\"name\":\"R\",\"fields\":[");
    for (int i = 0; i < N; i++) {
        /* names that share prefixes and lengths */
        o += sprintf(o, "%s{\"name\":\"field_%d\",\"type\":%s}", i ? "," : "", i,
                     i % 3 == 0   ? "\"string\""
                     : i % 3 == 1 ? "\"long\""
                                  : "[\"null\",\"int\"]");
    }
    sprintf(o, "]}");
    CU_ASSERT_FATAL(fixture_open(&f, schema, 0));
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < N; i++) {
            order[i] = i;
        }
        for (int i = N - 1; i > 0; i--) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((seed >> 33) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        o = msg;
        *o++ = '{';
        for (int k = 0; k < N; k++) {
            int i = order[k];
            if (i % 3 == 2 && (i + round) % 5 == 0) {
                continue; /* missing nullable */
            }
            o += sprintf(o, "%s\"field_%d\":", o > msg + 1 ? "," : "", i);
            if (i % 3 == 0) {
                o += sprintf(o, "\"s%d_%d\"", i, round);
            } else {
                o += sprintf(o, "%d", i * 1000 + round);
            }
        }
        *o++ = '}';
        *o = '\0';
        CU_ASSERT_EQUAL_FATAL(decode(&f, msg, strlen(msg), &why), SM_OK);
        o = want;
        *o++ = '{';
        for (int i = 0; i < N; i++) {
            o += sprintf(o, "%s\"field_%d\":", i ? "," : "", i);
            if (i % 3 == 0) {
                o += sprintf(o, "\"s%d_%d\"", i, round);
            } else if (i % 3 == 2 && (i + round) % 5 == 0) {
                o += sprintf(o, "null");
            } else {
                o += sprintf(o, "%d", i * 1000 + round);
            }
        }
        *o++ = '}';
        *o = '\0';
        CU_ASSERT_STRING_EQUAL(render(f.batch, round), want);
    }
    /* a key that hashes like a field but is not one is skipped */
    const char *m = "{\"field_0\":\"a\",\"field_1\":1,\"field_300\":1}";
    CU_ASSERT_EQUAL(decode(&f, m, strlen(m), &why), SM_ERR_CORRUPT);
    if (strcmp(why.msg, "missing required field 'field_3' at byte 40") != 0) {
        fprintf(stderr, "got: %s\n", why.msg);
        CU_FAIL("wrong failure");
    }
    CU_ASSERT_PTR_NULL(check_column(f.batch));
    fixture_close(&f);
    free(schema);
    free(msg);
    free(want);
}

/* ---- against other parsers ---------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random numbers as text, decoded into double, float and long fields, against strtod, strtof
 * and strtoll. */
static void test_json_decode_numbers_match_libc(void)
{
    fixture fd, ff, fl;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    sm_json_error why;
    CU_ASSERT_FATAL(fixture_open(&fd, "\"double\"", 0));
    CU_ASSERT_FATAL(fixture_open(&ff, "\"float\"", 0));
    CU_ASSERT_FATAL(fixture_open(&fl, "\"long\"", 0));
    int64_t rows_d = 0, rows_f = 0, rows_l = 0;
    for (int i = 0; i < 200000; i++) {
        char num[64], msg[96];
        uint64_t r = rnd(&seed);
        switch (r % 6) {
        case 0: { /* a random double, shortest-ish text */
            double x;
            uint64_t bits = rnd(&seed);
            memcpy(&x, &bits, 8);
            if (!isfinite(x)) {
                continue;
            }
            snprintf(num, sizeof num, "%.*g", 1 + (int)(r >> 8) % 17, x);
            break;
        }
        case 1: /* digits, a point, an exponent */
            snprintf(num, sizeof num, "%s%llu.%llue%d", (r >> 10) & 1 ? "-" : "",
                     (unsigned long long)(rnd(&seed) % 100000000000ULL),
                     (unsigned long long)(rnd(&seed) % 1000000000ULL), (int)(rnd(&seed) % 80) - 40);
            break;
        case 2: /* prices */
            snprintf(num, sizeof num, "%llu.%02llu", (unsigned long long)(rnd(&seed) % 100000),
                     (unsigned long long)(rnd(&seed) % 100));
            break;
        case 3: /* near 2^53 and 2^63 */
            snprintf(
                num, sizeof num, "%s%llu", (r >> 10) & 1 ? "-" : "",
                (unsigned long long)((1ULL << (53 + (r >> 12) % 11)) + rnd(&seed) % 4096 - 2048));
            break;
        case 4: /* small integers */
            snprintf(num, sizeof num, "%lld", (long long)(rnd(&seed) % 2000001) - 1000000);
            break;
        default: /* long digit strings with tiny or huge exponents */
            snprintf(num, sizeof num, "%llu%llue%d", (unsigned long long)(rnd(&seed)),
                     (unsigned long long)(rnd(&seed) % 1000), (int)(rnd(&seed) % 700) - 350);
        }
        int n = snprintf(msg, sizeof msg, "{\"v\":%s}", num);
        double want = strtod(num, NULL);
        float wantf = strtof(num, NULL);
        /* double */
        int rc = decode(&fd, msg, (size_t)n, &why);
        if (isinf(want)) {
            CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
        } else if (rc != SM_OK) {
            fprintf(stderr, "double %s: %s\n", num, why.msg);
            CU_FAIL("double failed");
        } else {
            double got;
            memcpy(&got, (uint8_t *)fd.batch->children[0]->values + 8 * rows_d++, 8);
            if (memcmp(&got, &want, 8) != 0) {
                fprintf(stderr, "double %s: got %.17g want %.17g\n", num, got, want);
                CU_FAIL("double differs from strtod");
            }
        }
        /* float */
        rc = decode(&ff, msg, (size_t)n, &why);
        if (isinf(wantf)) {
            CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
        } else if (rc != SM_OK) {
            fprintf(stderr, "float %s: %s\n", num, why.msg);
            CU_FAIL("float failed");
        } else {
            float got;
            memcpy(&got, (uint8_t *)ff.batch->children[0]->values + 4 * rows_f++, 4);
            if (memcmp(&got, &wantf, 4) != 0) {
                fprintf(stderr, "float %s: got %.9g want %.9g\n", num, got, wantf);
                CU_FAIL("float differs from strtof");
            }
        }
        /* long: only plain integers are compared with strtoll */
        if (!strpbrk(num, ".eE")) {
            char *end;
            errno = 0;
            long long wl = strtoll(num, &end, 10);
            rc = decode(&fl, msg, (size_t)n, &why);
            if (errno == ERANGE) {
                CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
                CU_ASSERT_EQUAL(why.reason, SM_JSON_RANGE);
            } else if (rc != SM_OK) {
                fprintf(stderr, "long %s: %s\n", num, why.msg);
                CU_FAIL("long failed");
            } else {
                CU_ASSERT_EQUAL(sm_column_i64(fl.batch->children[0], rows_l++), wl);
            }
        }
        if (fd.batch->length > 50000) { /* keep memory small */
            fixture_close(&fd);
            fixture_close(&ff);
            fixture_close(&fl);
            CU_ASSERT_FATAL(fixture_open(&fd, "\"double\"", 0));
            CU_ASSERT_FATAL(fixture_open(&ff, "\"float\"", 0));
            CU_ASSERT_FATAL(fixture_open(&fl, "\"long\"", 0));
            rows_d = rows_f = rows_l = 0;
        }
    }
    fixture_close(&fd);
    fixture_close(&ff);
    fixture_close(&fl);
}

/* ISO-8601 strings: our microsecond parser, floored to milliseconds, against core/clock.h. */
static void test_json_decode_iso8601_matches_clock(void)
{
    fixture f;
    uint64_t seed = 12345;
    sm_json_error why;
    int64_t rows = 0;
    CU_ASSERT_FATAL(fixture_open(&f, TSMS, 0));
    for (int i = 0; i < 100000; i++) {
        char ts[64], msg[128];
        uint64_t r = rnd(&seed);
        int64_t days = (int64_t)(rnd(&seed) % 3652059) - 719162; /* 0001 .. 9999 */
        int64_t y;
        unsigned mo, d;
        sm_civil_from_days(days, &y, &mo, &d);
        int n = snprintf(ts, sizeof ts, "%04lld-%02u-%02u", (long long)y, mo, d);
        if (r % 7) {
            n += snprintf(ts + n, sizeof ts - (size_t)n, "%c%02d:%02d", "T t"[r % 3],
                          (int)(rnd(&seed) % 24), (int)(rnd(&seed) % 60));
            if ((r >> 8) % 4) {
                n += snprintf(ts + n, sizeof ts - (size_t)n, ":%02d", (int)(rnd(&seed) % 60));
                int fd = (int)((r >> 12) % 10);
                if (fd) {
                    ts[n++] = '.';
                    for (int k = 0; k < fd; k++) {
                        ts[n++] = (char)('0' + rnd(&seed) % 10);
                    }
                    ts[n] = '\0';
                }
            }
            switch ((r >> 20) % 5) {
            case 0:
                n += snprintf(ts + n, sizeof ts - (size_t)n, "Z");
                break;
            case 1:
                n += snprintf(ts + n, sizeof ts - (size_t)n, "%c%02d:%02d",
                              (r >> 30) & 1 ? '+' : '-', (int)(rnd(&seed) % 24),
                              (int)(rnd(&seed) % 60));
                break;
            case 2:
                n +=
                    snprintf(ts + n, sizeof ts - (size_t)n, "%c%02d%02d", (r >> 30) & 1 ? '+' : '-',
                             (int)(rnd(&seed) % 24), (int)(rnd(&seed) % 60));
                break;
            default:
                break;
            }
        }
        if ((r >> 40) % 10 == 0) { /* break it somewhere */
            ts[rnd(&seed) % (uint64_t)n] = "x9:-+. Z"[rnd(&seed) % 8];
        }
        int64_t want;
        int ok = sm_parse_iso8601_ms(ts, strlen(ts), &want) == 0;
        int m = snprintf(msg, sizeof msg, "{\"v\":\"%s\"}", ts);
        int rc = decode(&f, msg, (size_t)m, &why);
        if (ok != (rc == SM_OK)) {
            fprintf(stderr, "%s: clock %s, decoder %s\n", ts, ok ? "parses" : "refuses",
                    rc == SM_OK ? "parses" : why.msg);
            CU_FAIL("ISO-8601 acceptance differs");
        } else if (ok) {
            CU_ASSERT_EQUAL(sm_column_i64(f.batch->children[0], rows++), want);
        }
    }
    fixture_close(&f);
}

/* Mutated JSON against jansson: whatever jansson refuses we refuse; whatever it accepts as an
 * object decodes into a schema of nullable strings, with the same values. */
#define STRS                                                                                       \
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\","          \
    "\"string\"]},{\"name\":\"b\",\"type\":[\"null\",\"string\"]},{\"name\":\"c\",\"type\":["      \
    "\"null\",\"string\"]}]}"

static const char *const seeds_json[] = {
    "{\"a\":\"x\",\"b\":1,\"c\":[1,2,{\"d\":null}]}",
    "{\"a\":\"\\u00e9\\ud83d\\ude00\\n\",\"zz\":{\"q\":[true,false,null]},\"b\":-1.5e-3}",
    "{\"c\":\"M\xc3\xbcnchen \xe2\x82\xac\",\"a\":{\"x\":\"y\"},\"b\":\"\\\"q\\\\\"}",
    "{ \"a\" : [ ] , \"b\" : { } , \"c\" : \"\" }",
    "{\"b\":\"0123456789abcdef0123456789\",\"a\":0,\"c\":true}",
    "{\"a\":null,\"b\":null,\"c\":12345678901234567890123}",
};

static void test_json_decode_agrees_with_jansson(void)
{
    static const char alphabet[] = "{}[]\":,\\0123456789.-+eEntfuarl \t\n\x80\xff\xc3\xa9\xed";
    fixture f;
    uint64_t seed = 99;
    int64_t rows = 0;
    int accepted = 0, refused = 0;
    sm_json_error why;
    CU_ASSERT_FATAL(fixture_open(&f, STRS, 0));
    for (int i = 0; i < 60000; i++) {
        const char *base = seeds_json[rnd(&seed) % (sizeof seeds_json / sizeof *seeds_json)];
        char m[256];
        size_t len = strlen(base);
        memcpy(m, base, len);
        int edits = 1 + (int)(rnd(&seed) % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = rnd(&seed) % len;
            char ch = alphabet[rnd(&seed) % (sizeof alphabet - 1)];
            switch (rnd(&seed) % 4) {
            case 0:
                m[at] = ch;
                break;
            case 1:
                if (len < sizeof m - 1) {
                    memmove(m + at + 1, m + at, len - at);
                    m[at] = ch;
                    len++;
                }
                break;
            case 2:
                memmove(m + at, m + at + 1, len - at - 1);
                len--;
                break;
            default:
                len = at;
            }
        }
        json_error_t jerr;
        json_t *j = json_loadb(m, len, JSON_ALLOW_NUL, &jerr);
        int rc = decode(&f, m, len, &why);
        if (!j) {
            if (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow")) {
                if (rc == SM_OK) {
                    rows++;
                }
                continue;
            }
            refused++;
            if (rc == SM_OK) {
                fprintf(stderr, "jansson refuses (%s), we accept: %.*s\n", jerr.text, (int)len, m);
                CU_FAIL("accepted what jansson refuses");
                rows++;
            }
            continue;
        }
        if (!json_is_object(j)) {
            CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
            json_decref(j);
            continue;
        }
        accepted++;
        if (rc != SM_OK) {
            fprintf(stderr, "jansson accepts, we refuse (%s): %.*s\n", why.msg, (int)len, m);
            CU_FAIL("refused what jansson accepts");
            json_decref(j);
            continue;
        }
        const char *names[3] = {"a", "b", "c"};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(j, names[k]);
            const sm_column *c = f.batch->children[k];
            const char *data = (const char *)c->data + c->offsets[rows];
            size_t dl = (size_t)(c->offsets[rows + 1] - c->offsets[rows]);
            if (!v || json_is_null(v)) {
                CU_ASSERT(!sm_column_is_valid(c, rows));
            } else if (json_is_string(v)) {
                CU_ASSERT(dl == json_string_length(v) &&
                          (dl == 0 || memcmp(data, json_string_value(v), dl) == 0));
            } else {
                json_t *raw = json_loadb(data, dl, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
                if (!raw || !json_equal(raw, v)) {
                    fprintf(stderr, "field %s: raw text %.*s differs from jansson's value\n",
                            names[k], (int)dl, data);
                    CU_FAIL("raw JSON text differs");
                }
                json_decref(raw);
            }
        }
        rows++;
        json_decref(j);
    }
    printf("\n  jansson accepted %d objects, refused %d messages\n", accepted, refused);
    CU_ASSERT(accepted > 1000 && refused > 1000);
    CU_ASSERT_PTR_NULL(check_column(f.batch));
    fixture_close(&f);
}

/* ---- datagen orders ----------------------------------------------------------------------- */

#define ORDERS_AVSC                                                                                \
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"smelter.orders\",\"fields\":["        \
    "{\"name\":\"order_id\",\"type\":[\"null\",\"string\"]},"                                      \
    "{\"name\":\"customer_id\",\"type\":\"string\"},"                                              \
    "{\"name\":\"product_id\",\"type\":\"string\"},"                                               \
    "{\"name\":\"category\",\"type\":\"string\"},"                                                 \
    "{\"name\":\"quantity\",\"type\":\"int\"},"                                                    \
    "{\"name\":\"price\",\"type\":\"double\"},"                                                    \
    "{\"name\":\"order_ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"   \
    "{\"name\":\"status\",\"type\":{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":["           \
    "\"placed\",\"paid\",\"shipped\",\"cancelled\",\"returned\"]}},"                               \
    "{\"name\":\"device\",\"type\":\"string\"},"                                                   \
    "{\"name\":\"country\",\"type\":\"string\"},"                                                  \
    "{\"name\":\"coupon\",\"type\":[\"null\",\"string\"],\"default\":null}]}"

static void test_json_decode_datagen_orders_in_duckdb(void)
{
    dg_conf conf = {.dataset = DG_ORDERS,
                    .seed = 5,
                    .customers = 5000,
                    .products = 500,
                    .bad_ratio = 0.1,
                    .late_ratio = 0.02,
                    .dup_ratio = 0.02,
                    .late_max_ms = 3600000,
                    .max_ooo_ms = 5000,
                    .start_ms = 1767225600000LL,
                    .events_per_sec = 100};
    dg_gen *g;
    dg_record rec;
    sm_error err;
    sm_json_error why;
    fixture f;
    int64_t good = 0, failed = 0;
    int mismatches = 0;
    char *dir = sm_test_tmpdir("json-decode-orders");
    char ndjson[512], parquet[512];
    snprintf(ndjson, sizeof ndjson, "%s/orders.ndjson", dir);
    snprintf(parquet, sizeof parquet, "%s/orders.parquet", dir);
    FILE *out = fopen(ndjson, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_FATAL(fixture_open(&f, "#" ORDERS_AVSC, 0));
    CU_ASSERT_FATAL(dg_create(&conf, &g, &err) == SM_OK);
    for (int n = 0; good < 10000 && n < 40000; n++) {
        dg_next(g, &rec);
        int rc = decode(&f, rec.payload, rec.payload_len, &why);
        bool should = strcmp(dg_fault_class(rec.fault), "decode") != 0;
        if ((rc == SM_OK) != should) {
            fprintf(stderr, "record %lld (%s): %s: %.*s\n", (long long)rec.seq,
                    dg_fault_name(rec.fault), rc == SM_OK ? "decoded" : why.msg,
                    (int)rec.payload_len, rec.payload);
            CU_FAIL("datagen's fault class and the decoder disagree");
            if (++mismatches > 20) {
                break;
            }
        }
        if (rc == SM_OK) {
            good++;
            fwrite(rec.payload, 1, rec.payload_len, out);
            fputc('\n', out);
        } else {
            failed++;
        }
    }
    fclose(out);
    dg_destroy(g);
    CU_ASSERT_EQUAL_FATAL(good, 10000);
    CU_ASSERT(failed > 300);
    CU_ASSERT_PTR_NULL(check_column(f.batch));

    pq_writer_opts po;
    pq_writer *w;
    pq_file_info info;
    pq_writer_opts_default(&po);
    CU_ASSERT_FATAL(pq_writer_open(parquet, f.avsc->root, &po, &w, &err) == SM_OK);
    CU_ASSERT_FATAL(pq_writer_write(w, f.batch, &err) == SM_OK);
    CU_ASSERT_FATAL(pq_writer_close(w, &info, &err) == SM_OK);
    CU_ASSERT_EQUAL(info.rows, 10000);

    static const char cols[] =
        "order_id, customer_id, product_id, category, quantity, price, epoch_us(order_ts) AS ts, "
        "status, device, country, coupon";
    char sql[4096];
    snprintf(sql, sizeof sql,
             "CREATE TABLE a AS SELECT %s FROM read_parquet('%s');"
             "CREATE TABLE b AS SELECT %s FROM read_json('%s', format='newline_delimited', "
             "columns={order_id:'VARCHAR', customer_id:'VARCHAR', product_id:'VARCHAR', "
             "category:'VARCHAR', quantity:'INTEGER', price:'DOUBLE', order_ts:'TIMESTAMPTZ', "
             "status:'VARCHAR', device:'VARCHAR', country:'VARCHAR', coupon:'VARCHAR'});"
             "SELECT (SELECT count(*) FROM a) AS na, (SELECT count(*) FROM b) AS nb,"
             " (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS a_not_b,"
             " (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS b_not_a,"
             " (SELECT count(*) FROM a WHERE order_id IS NULL) AS null_ids,"
             " (SELECT count(*) FROM a WHERE coupon IS NOT NULL) AS coupons",
             cols, parquet, cols, ndjson);
    json_t *res = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    json_t *row = json_array_get(res, 0);
    char *shown = json_dumps(row, JSON_COMPACT);
    printf("\n  duckdb: %s\n", shown);
    free(shown);
    CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "na")), 10000);
    CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "nb")), 10000);
    CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "a_not_b")), 0);
    CU_ASSERT_EQUAL(sm_test_int(json_object_get(row, "b_not_a")), 0);
    CU_ASSERT(sm_test_int(json_object_get(row, "null_ids")) > 0);
    CU_ASSERT(sm_test_int(json_object_get(row, "coupons")) > 1000);
    json_decref(res);
    fixture_close(&f);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- the API around decoding -------------------------------------------------------------- */

static void test_json_decoder_refuses_schemas_it_cannot_fill(void)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err;
    sm_json_decoder *d;
    sm_field *kids[2];
    kids[0] = sm_field_new(a, "x", SM_INT32, false);
    kids[1] = sm_field_new(a, "x", SM_STRING, false);
    sm_field *dup = sm_field_struct(a, "R", kids, 2, false);
    CU_ASSERT_EQUAL(sm_json_decoder_new(dup, NULL, &d, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT(strstr(err.msg, "field 'x' appears twice") != NULL);
    CU_ASSERT_EQUAL(sm_json_decoder_new(kids[0], NULL, &d, &err), SM_ERR_USAGE);
    sm_field *ik = sm_field_new(a, "key", SM_INT32, false);
    sm_field *m = sm_field_map(a, "m", ik, sm_field_new(a, "value", SM_INT32, true), false);
    sm_field *rm = sm_field_struct(a, "R", &m, 1, false);
    CU_ASSERT_EQUAL(sm_json_decoder_new(rm, NULL, &d, &err), SM_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "JSON object keys need string keys") != NULL);
    /* a hand-built schema without .avsc: JSON and unsigned columns */
    sm_field *k3[3] = {sm_field_new(a, "j", SM_JSON, true), sm_field_new(a, "u", SM_UINT64, false),
                       sm_field_new(a, "s", SM_UINT8, false)};
    sm_field *r3 = sm_field_struct(a, "R", k3, 3, false);
    CU_ASSERT_FATAL(sm_json_decoder_new(r3, NULL, &d, &err) == SM_OK);
    sm_column *c = sm_column_new(a, r3, 4);
    sm_json_error why;
    const char *m1 = "{\"j\":{\"a\": \"b\"},\"u\":18446744073709551615,\"s\":255}";
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)m1, strlen(m1), a, c, &why), SM_OK);
    CU_ASSERT_STRING_EQUAL(
        render(c, 0), "{\"j\":\"{\\\"a\\\": \\\"b\\\"}\",\"u\":18446744073709551615,\"s\":255}");
    const char *m2 = "{\"j\":\"text\",\"u\":0,\"s\":256}";
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)m2, strlen(m2), a, c, &why), SM_ERR_CORRUPT);
    CU_ASSERT_STRING_EQUAL(why.msg, "field 's': 256 is out of range for uint8 at byte 22");
    const char *m3 = "{\"j\":\"text\",\"u\":-1,\"s\":1}";
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)m3, strlen(m3), a, c, &why), SM_ERR_CORRUPT);
    CU_ASSERT_STRING_EQUAL(why.msg, "field 'u': -1 is out of range for uint64 at byte 16");
    const char *m4 = "{\"j\":\"text\",\"u\":-0,\"s\":0}";
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)m4, strlen(m4), a, c, &why), SM_OK);
    CU_ASSERT_STRING_EQUAL(render(c, 1), "{\"j\":\"\\\"text\\\"\",\"u\":0,\"s\":0}");
    /* why may be NULL */
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)"{", 1, a, c, NULL), SM_ERR_CORRUPT);
    sm_json_decoder_free(d);
    sm_json_decoder_free(NULL);
    CU_ASSERT_STRING_EQUAL(sm_json_reason_name(SM_JSON_UTF8), "invalid_utf8");
    CU_ASSERT_STRING_EQUAL(sm_json_reason_name(SM_JSON_REASON_COUNT), "unknown");
    sm_arena_destroy(a);
}

static CU_TestInfo tests[] = {
    {"table of payloads: rows and failures", test_json_decode_table},
    {"nesting is bounded at 64 levels", test_json_decode_depth_is_bounded},
    {"a failed message leaves no trace in the batch", test_json_decode_failed_rows_leave_nothing},
    {"a full arena fails with no_memory and keeps the rows",
     test_json_decode_full_arena_is_no_memory},
    {"300 fields in any key order", test_json_decode_wide_schema_any_key_order},
    {"numbers match strtod, strtof, strtoll", test_json_decode_numbers_match_libc},
    {"ISO-8601 matches core/clock.h", test_json_decode_iso8601_matches_clock},
    {"mutated JSON: refused and accepted as jansson does", test_json_decode_agrees_with_jansson},
    {"decoder refuses schemas it cannot fill; JSON and unsigned columns",
     test_json_decoder_refuses_schemas_it_cannot_fill},
    {"10k datagen orders through Parquet equal DuckDB's read_json",
     test_json_decode_datagen_orders_in_duckdb},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("json_decode", tests)
