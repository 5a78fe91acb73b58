/* Tests of storage/thrift.c: the compact protocol writer and the bounds-checked reader. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sm_test.h"
#include "storage/thrift.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */

/* Skips one whole struct from (p, len); the generic "does this parse" check. */
static int skip_struct(const uint8_t *p, size_t len, sm_error *err)
{
    tc_reader r;
    tc_reader_init(&r, p, len);
    return tc_skip(&r, TC_STRUCT, err);
}

static bool msg_has(const sm_error *err, const char *needle)
{
    if (!strstr(err->msg, needle)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err->msg, needle);
        return false;
    }
    return true;
}

/* Every value type in one struct, with edge values, and ids that need both header forms. */
static void write_everything(tc_writer *w)
{
    static const uint8_t bin[] = {0, 1, 2, 0xff, 0};
    tc_write_struct_begin(w);
    tc_write_field_bool(w, 1, true);
    tc_write_field_bool(w, 2, false);
    tc_write_field_i8(w, 3, INT8_MIN);
    tc_write_field_i8(w, 4, INT8_MAX);
    tc_write_field_i16(w, 5, INT16_MIN);
    tc_write_field_i16(w, 6, INT16_MAX);
    tc_write_field_i32(w, 7, INT32_MIN);
    tc_write_field_i32(w, 8, INT32_MAX);
    tc_write_field_i64(w, 9, INT64_MIN);
    tc_write_field_i64(w, 10, INT64_MAX);
    tc_write_field_double(w, 11, -0.0);
    tc_write_field_double(w, 12, INFINITY);
    tc_write_field_binary(w, 13, bin, sizeof bin);
    tc_write_field_string(w, 14, "");
    tc_write_field_string(w, 40, "long-form id"); /* delta 26 */
    tc_write_field_i32(w, 30, -5);                /* decreasing id: long form */
    tc_write_field_i32(w, -3, 7);                 /* negative id */
    tc_write_field_begin(w, TC_LIST, 100);        /* short list of i32 */
    tc_write_list_begin(w, TC_I32, 3);
    tc_write_i32(w, 0);
    tc_write_i32(w, -1);
    tc_write_i32(w, 1);
    tc_write_field_begin(w, TC_LIST, 101); /* long list of i64 */
    tc_write_list_begin(w, TC_I64, 1000);
    for (int i = 0; i < 1000; i++) {
        tc_write_i64(w, (int64_t)i * 1000003 - 500000000);
    }
    tc_write_field_begin(w, TC_LIST, 102); /* bools */
    tc_write_list_begin(w, TC_BOOL, 15);
    for (int i = 0; i < 15; i++) {
        tc_write_bool(w, i % 3 == 0);
    }
    tc_write_field_begin(w, TC_SET, 103); /* set of strings */
    tc_write_set_begin(w, TC_BINARY, 2);
    tc_write_string(w, "a");
    tc_write_string(w, "bc");
    tc_write_field_begin(w, TC_MAP, 104); /* empty map */
    tc_write_map_begin(w, TC_I32, TC_BINARY, 0);
    tc_write_field_begin(w, TC_MAP, 105); /* map<i16, double> */
    tc_write_map_begin(w, TC_I16, TC_DOUBLE, 2);
    tc_write_i16(w, -2);
    tc_write_double(w, 2.5);
    tc_write_i16(w, 300);
    tc_write_double(w, -1e300);
    tc_write_field_begin(w, TC_STRUCT, 106); /* nested struct with its own id sequence */
    tc_write_struct_begin(w);
    tc_write_field_i32(w, 1, 42);
    tc_write_field_begin(w, TC_LIST, 2); /* list of structs */
    tc_write_list_begin(w, TC_STRUCT, 2);
    tc_write_struct_begin(w);
    tc_write_field_bool(w, 1, true);
    tc_write_struct_end(w);
    tc_write_struct_begin(w);
    tc_write_struct_end(w);
    tc_write_struct_end(w);
    tc_write_field_i8(w, 107, -1); /* after the nested struct: delta from 106 */
    tc_write_struct_end(w);
}

static void expect_field(tc_reader *r, tc_type type, int16_t id)
{
    tc_type t;
    int16_t got;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(tc_read_field(r, &t, &got, &err), SM_OK);
    CU_ASSERT_EQUAL(t, type);
    CU_ASSERT_EQUAL(got, id);
}

/* ---------------------------------------------------------------------------------------- */
/* Varints and zigzag                                                                        */

static void test_varint_edges_round_trip(void)
{
    static const uint64_t values[] = {
        0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX, UINT64_MAX - 1};
    static const size_t sizes[] = {1, 1, 1, 2, 2, 3, 5, 10, 10, 10};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t buf[10];
        size_t n = tc_encode_varint(values[i], buf);
        CU_ASSERT_EQUAL(n, sizes[i]);
        uint64_t v = 0;
        CU_ASSERT_EQUAL(tc_decode_varint(buf, n, &v), n);
        CU_ASSERT_EQUAL(v, values[i]);
        /* every shorter prefix is truncated */
        for (size_t k = 0; k < n; k++) {
            CU_ASSERT_EQUAL(tc_decode_varint(buf, k, &v), 0);
        }
    }
    /* The spec's example: 50399 = DF 89 03. */
    uint8_t buf[10];
    CU_ASSERT_EQUAL(tc_encode_varint(50399, buf), 3);
    CU_ASSERT_EQUAL(buf[0], 0xdf);
    CU_ASSERT_EQUAL(buf[1], 0x89);
    CU_ASSERT_EQUAL(buf[2], 0x03);
}

static void test_varint_refuses_overlong_and_overflowing(void)
{
    uint64_t v;
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof eleven);
    eleven[10] = 0x01;
    CU_ASSERT_EQUAL(tc_decode_varint(eleven, sizeof eleven, &v), 0);
    uint8_t ten[10];
    memset(ten, 0xff, 9);
    ten[9] = 0x02; /* bit 64 */
    CU_ASSERT_EQUAL(tc_decode_varint(ten, sizeof ten, &v), 0);
    ten[9] = 0x01; /* bit 63: UINT64_MAX */
    CU_ASSERT_EQUAL(tc_decode_varint(ten, sizeof ten, &v), 10);
    CU_ASSERT_EQUAL(v, UINT64_MAX);

    sm_error err = {0};
    tc_reader r;
    tc_reader_init(&r, eleven, sizeof eleven);
    int64_t x;
    CU_ASSERT_EQUAL(tc_read_i64(&r, &x, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "longer than 10 bytes"));
    ten[9] = 0x02;
    tc_reader_init(&r, ten, sizeof ten);
    CU_ASSERT_EQUAL(tc_read_i64(&r, &x, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "overflows 64 bits"));
    tc_reader_init(&r, ten, 4);
    CU_ASSERT_EQUAL(tc_read_i64(&r, &x, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "truncated"));
}

static void test_zigzag_edges(void)
{
    CU_ASSERT_EQUAL(tc_zigzag64(0), 0);
    CU_ASSERT_EQUAL(tc_zigzag64(-1), 1);
    CU_ASSERT_EQUAL(tc_zigzag64(1), 2);
    CU_ASSERT_EQUAL(tc_zigzag64(-2), 3);
    CU_ASSERT_EQUAL(tc_zigzag64(INT64_MAX), UINT64_MAX - 1);
    CU_ASSERT_EQUAL(tc_zigzag64(INT64_MIN), UINT64_MAX);
    static const int64_t values[] = {0,         1,         -1,        63,        -64,       64,
                                     INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, -123456789};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        CU_ASSERT_EQUAL(tc_unzigzag64(tc_zigzag64(values[i])), values[i]);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */

static void test_writer_known_bytes(void)
{
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 1);        /* 15 02 */
    tc_write_field_bool(&w, 2, true);    /* 11 */
    tc_write_field_bool(&w, 3, false);   /* 12 */
    tc_write_field_i64(&w, 20, -1);      /* 06 28 01: long form, zigzag id 40 */
    tc_write_field_string(&w, 21, "hi"); /* 18 02 68 69 */
    tc_write_field_begin(&w, TC_LIST, 22);
    tc_write_list_begin(&w, TC_I32, 15); /* 19 f5 0f ... */
    for (int i = 0; i < 15; i++) {
        tc_write_i32(&w, 0);
    }
    tc_write_struct_end(&w); /* 00 */
    CU_ASSERT_EQUAL(tc_writer_status(&w, NULL), SM_OK);
    static const uint8_t want_head[] = {0x15, 0x02, 0x11, 0x12, 0x06, 0x28, 0x01,
                                        0x18, 0x02, 0x68, 0x69, 0x19, 0xf5, 0x0f};
    CU_ASSERT_EQUAL_FATAL(tc_writer_len(&w), sizeof want_head + 15 + 1);
    CU_ASSERT_EQUAL(memcmp(tc_writer_data(&w), want_head, sizeof want_head), 0);
    CU_ASSERT_EQUAL(tc_writer_data(&w)[tc_writer_len(&w) - 1], 0);
    tc_writer_release(&w);
}

static void test_writer_sticky_error_on_misuse(void)
{
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_end(&w); /* no begin */
    sm_error err = {0};
    CU_ASSERT_EQUAL(tc_writer_status(&w, &err), SM_ERR_INTERNAL);
    size_t len = tc_writer_len(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 5);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL(tc_writer_len(&w), len); /* nothing written after the failure */
    CU_ASSERT_EQUAL(tc_writer_status(&w, &err), SM_ERR_INTERNAL);

    tc_writer_clear(&w);
    CU_ASSERT_EQUAL(tc_writer_status(&w, &err), SM_OK);
    for (int i = 0; i < TC_MAX_DEPTH + 1; i++) {
        tc_write_struct_begin(&w);
    }
    CU_ASSERT_EQUAL(tc_writer_status(&w, &err), SM_ERR_INTERNAL);

    tc_writer_clear(&w);
    tc_write_struct_begin(&w);
    tc_write_field_begin(&w, TC_BOOL, 1); /* bools go through tc_write_field_bool */
    CU_ASSERT_EQUAL(tc_writer_status(&w, &err), SM_ERR_INTERNAL);

    tc_writer_clear(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 9);
    tc_write_struct_end(&w);
    size_t n;
    uint8_t *buf = tc_writer_take(&w, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(tc_writer_len(&w), 0);
    free(buf);
    tc_writer_release(&w);
    tc_writer_release(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                    */

static void test_round_trip_every_type(void)
{
    tc_writer w;
    tc_writer_init(&w);
    write_everything(&w);
    CU_ASSERT_EQUAL_FATAL(tc_writer_status(&w, NULL), SM_OK);

    sm_error err = {0};
    tc_reader r;
    tc_reader_init(&r, tc_writer_data(&w), tc_writer_len(&w));
    CU_ASSERT_EQUAL_FATAL(tc_read_struct_begin(&r, &err), SM_OK);
    bool b;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    double d;
    const uint8_t *bin;
    size_t len;
    expect_field(&r, TC_BOOL, 1);
    CU_ASSERT_EQUAL(tc_read_bool(&r, &b, &err), SM_OK);
    CU_ASSERT_TRUE(b);
    expect_field(&r, TC_BOOL, 2);
    CU_ASSERT_EQUAL(tc_read_bool(&r, &b, &err), SM_OK);
    CU_ASSERT_FALSE(b);
    expect_field(&r, TC_I8, 3);
    CU_ASSERT_EQUAL(tc_read_i8(&r, &i8, &err), SM_OK);
    CU_ASSERT_EQUAL(i8, INT8_MIN);
    expect_field(&r, TC_I8, 4);
    CU_ASSERT_EQUAL(tc_read_i8(&r, &i8, &err), SM_OK);
    CU_ASSERT_EQUAL(i8, INT8_MAX);
    expect_field(&r, TC_I16, 5);
    CU_ASSERT_EQUAL(tc_read_i16(&r, &i16, &err), SM_OK);
    CU_ASSERT_EQUAL(i16, INT16_MIN);
    expect_field(&r, TC_I16, 6);
    CU_ASSERT_EQUAL(tc_read_i16(&r, &i16, &err), SM_OK);
    CU_ASSERT_EQUAL(i16, INT16_MAX);
    expect_field(&r, TC_I32, 7);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, INT32_MIN);
    expect_field(&r, TC_I32, 8);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, INT32_MAX);
    expect_field(&r, TC_I64, 9);
    CU_ASSERT_EQUAL(tc_read_i64(&r, &i64, &err), SM_OK);
    CU_ASSERT_EQUAL(i64, INT64_MIN);
    expect_field(&r, TC_I64, 10);
    CU_ASSERT_EQUAL(tc_read_i64(&r, &i64, &err), SM_OK);
    CU_ASSERT_EQUAL(i64, INT64_MAX);
    expect_field(&r, TC_DOUBLE, 11);
    CU_ASSERT_EQUAL(tc_read_double(&r, &d, &err), SM_OK);
    CU_ASSERT_TRUE(d == 0.0 && signbit(d));
    expect_field(&r, TC_DOUBLE, 12);
    CU_ASSERT_EQUAL(tc_read_double(&r, &d, &err), SM_OK);
    CU_ASSERT_TRUE(isinf(d) && d > 0);
    expect_field(&r, TC_BINARY, 13);
    CU_ASSERT_EQUAL(tc_read_binary(&r, &bin, &len, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(len, 5);
    CU_ASSERT_EQUAL(memcmp(bin, "\0\1\2\377\0", 5), 0);
    expect_field(&r, TC_BINARY, 14);
    CU_ASSERT_EQUAL(tc_read_binary(&r, &bin, &len, &err), SM_OK);
    CU_ASSERT_EQUAL(len, 0);
    expect_field(&r, TC_BINARY, 40);
    CU_ASSERT_EQUAL(tc_read_binary(&r, &bin, &len, &err), SM_OK);
    CU_ASSERT_TRUE(len == 12 && memcmp(bin, "long-form id", 12) == 0);
    expect_field(&r, TC_I32, 30);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, -5);
    expect_field(&r, TC_I32, -3);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, 7);

    tc_type et, kt, vt;
    uint32_t n;
    expect_field(&r, TC_LIST, 100);
    CU_ASSERT_EQUAL_FATAL(tc_read_list_begin(&r, &et, &n, &err), SM_OK);
    CU_ASSERT_TRUE(et == TC_I32 && n == 3);
    static const int32_t l100[] = {0, -1, 1};
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
        CU_ASSERT_EQUAL(i32, l100[i]);
    }
    tc_read_list_end(&r);
    expect_field(&r, TC_LIST, 101);
    CU_ASSERT_EQUAL_FATAL(tc_read_list_begin(&r, &et, &n, &err), SM_OK);
    CU_ASSERT_TRUE(et == TC_I64 && n == 1000);
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(tc_read_i64(&r, &i64, &err), SM_OK);
        CU_ASSERT_EQUAL(i64, (int64_t)i * 1000003 - 500000000);
    }
    tc_read_list_end(&r);
    expect_field(&r, TC_LIST, 102);
    CU_ASSERT_EQUAL_FATAL(tc_read_list_begin(&r, &et, &n, &err), SM_OK);
    CU_ASSERT_TRUE(et == TC_BOOL && n == 15);
    for (uint32_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(tc_read_bool(&r, &b, &err), SM_OK);
        CU_ASSERT_EQUAL(b, i % 3 == 0);
    }
    tc_read_list_end(&r);
    expect_field(&r, TC_SET, 103);
    CU_ASSERT_EQUAL_FATAL(tc_read_list_begin(&r, &et, &n, &err), SM_OK);
    CU_ASSERT_TRUE(et == TC_BINARY && n == 2);
    CU_ASSERT_EQUAL(tc_read_binary(&r, &bin, &len, &err), SM_OK);
    CU_ASSERT_TRUE(len == 1 && bin[0] == 'a');
    CU_ASSERT_EQUAL(tc_read_binary(&r, &bin, &len, &err), SM_OK);
    CU_ASSERT_TRUE(len == 2 && memcmp(bin, "bc", 2) == 0);
    tc_read_list_end(&r);
    expect_field(&r, TC_MAP, 104);
    CU_ASSERT_EQUAL_FATAL(tc_read_map_begin(&r, &kt, &vt, &n, &err), SM_OK);
    CU_ASSERT_EQUAL(n, 0);
    tc_read_map_end(&r);
    expect_field(&r, TC_MAP, 105);
    CU_ASSERT_EQUAL_FATAL(tc_read_map_begin(&r, &kt, &vt, &n, &err), SM_OK);
    CU_ASSERT_TRUE(kt == TC_I16 && vt == TC_DOUBLE && n == 2);
    CU_ASSERT_EQUAL(tc_read_i16(&r, &i16, &err), SM_OK);
    CU_ASSERT_EQUAL(i16, -2);
    CU_ASSERT_EQUAL(tc_read_double(&r, &d, &err), SM_OK);
    CU_ASSERT_EQUAL(d, 2.5);
    CU_ASSERT_EQUAL(tc_read_i16(&r, &i16, &err), SM_OK);
    CU_ASSERT_EQUAL(i16, 300);
    CU_ASSERT_EQUAL(tc_read_double(&r, &d, &err), SM_OK);
    CU_ASSERT_EQUAL(d, -1e300);
    tc_read_map_end(&r);
    expect_field(&r, TC_STRUCT, 106);
    CU_ASSERT_EQUAL_FATAL(tc_read_struct_begin(&r, &err), SM_OK);
    expect_field(&r, TC_I32, 1);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, 42);
    expect_field(&r, TC_LIST, 2);
    CU_ASSERT_EQUAL(tc_skip(&r, TC_LIST, &err), SM_OK);
    expect_field(&r, TC_STOP, 0);
    tc_read_struct_end(&r);
    expect_field(&r, TC_I8, 107);
    CU_ASSERT_EQUAL(tc_read_i8(&r, &i8, &err), SM_OK);
    CU_ASSERT_EQUAL(i8, -1);
    expect_field(&r, TC_STOP, 0);
    tc_read_struct_end(&r);
    CU_ASSERT_EQUAL(tc_reader_remaining(&r), 0);

    /* The same bytes skip as one struct. */
    CU_ASSERT_EQUAL(skip_struct(tc_writer_data(&w), tc_writer_len(&w), &err), SM_OK);
    tc_writer_release(&w);
}

/* Unknown fields of every type, hand-encoded, before a known field that must still be read. */
static void test_skip_unknown_fields_of_every_type(void)
{
    static const uint8_t msg[] = {
        0x11,                                                             /* 1: bool true */
        0x12,                                                             /* 2: bool false */
        0x13, 0x80,                                                       /* 3: i8 */
        0x14, 0xfe, 0xff, 0x03,                                           /* 4: i16 */
        0x15, 0xff, 0xff, 0xff, 0xff, 0x0f,                               /* 5: i32 */
        0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 6: i64 */
        0x17, 1,    2,    3,    4,    5,    6,    7,    8,                /* 7: double */
        0x18, 0x03, 'a',  'b',  'c',                                      /* 8: binary */
        0x19, 0x22, 0x01, 0x00,                   /* 9: list<bool> [1, 0] (type 2) */
        0x19, 0x21, 0x01, 0x00,                   /* 10: list<bool> (type 1) */
        0x1a, 0x28, 0x00, 0x01, 'x',              /* 11: set<binary> */
        0x1b, 0x02, 0x58, 0x02, 0x00, 0x04, 0x00, /* 12: map<i32, binary> 2 */
        0x1b, 0x00,                               /* 13: empty map */
        0x1c, 0x15, 0x02, 0x1c, 0x11, 0x00, 0x00, /* 14: struct {i32, struct{bool}} */
        0x1d, 0,    1,    2,    3,    4,    5,    6,    7,    8,    9,
        10,   11,   12,   13,   14,   15,   /* 15: uuid */
        0x19, 0x1c, 0x15, 0x04, 0x00,       /* 16: list<struct> */
        0x19, 0x29, 0x15, 0x02, 0x00,       /* 17: list<list<i32>> */
        0x19, 0x1b, 0x01, 0x11, 0x02, 0x01, /* 18: list<map<bool,bool>> */
        0x19, 0xf5, 0x0f, 0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0, /* 19: long-form list of 15 i32 */
        0x09, 0xd0, 0x0f, 0x00,                /* 1000: list, long-form id, empty */
        0x05, 0x02, 0x54,                      /* 1: i32 42, long-form id */
        0x00,
    };
    sm_error err = {0};
    tc_reader r;
    tc_reader_init(&r, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(tc_read_struct_begin(&r, &err), SM_OK);
    int skipped = 0;
    int32_t answer = 0;
    for (;;) {
        tc_type t;
        int16_t id;
        CU_ASSERT_EQUAL_FATAL(tc_read_field(&r, &t, &id, &err), SM_OK);
        if (t == TC_STOP) {
            break;
        }
        if (id == 1 && t == TC_I32) {
            CU_ASSERT_EQUAL(tc_read_i32(&r, &answer, &err), SM_OK);
            continue;
        }
        int rc = tc_skip(&r, t, &err);
        if (rc) {
            fprintf(stderr, "field %d: %s\n", id, err.msg);
        }
        CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
        skipped++;
    }
    tc_read_struct_end(&r);
    CU_ASSERT_EQUAL(skipped, 20);
    CU_ASSERT_EQUAL(answer, 42);
    CU_ASSERT_EQUAL(tc_reader_remaining(&r), 0);
}

static void test_every_truncation_is_an_error(void)
{
    tc_writer w;
    tc_writer_init(&w);
    write_everything(&w);
    CU_ASSERT_EQUAL_FATAL(tc_writer_status(&w, NULL), SM_OK);
    size_t len = tc_writer_len(&w);
    for (size_t k = 0; k < len; k++) {
        /* A copy of exactly k bytes, so ASan sees any read past the end. */
        uint8_t *prefix = malloc(k ? k : 1);
        memcpy(prefix, tc_writer_data(&w), k);
        sm_error err = {0};
        int rc = skip_struct(prefix, k, &err);
        if (rc != SM_ERR_CORRUPT) {
            fprintf(stderr, "prefix of %zu bytes: rc %d\n", k, rc);
        }
        CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
        free(prefix);
    }
    tc_writer_release(&w);
}

static void test_depth_bomb_is_refused(void)
{
    /* Nested structs: field 1 of type struct, 10000 times. */
    size_t n = 10000;
    uint8_t *p = malloc(n);
    memset(p, 0x1c, n);
    sm_error err = {0};
    CU_ASSERT_EQUAL(skip_struct(p, n, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "nesting deeper than"));

    /* Nested lists: list<list<...>> with one element each. */
    memset(p, 0x19, n);
    tc_reader r;
    tc_reader_init(&r, p, n);
    CU_ASSERT_EQUAL(tc_skip(&r, TC_LIST, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "nesting deeper than"));

    /* Exactly TC_MAX_DEPTH levels of struct parse. */
    size_t k = 0;
    for (int i = 0; i < TC_MAX_DEPTH - 1; i++) {
        p[k++] = 0x1c;
    }
    for (int i = 0; i < TC_MAX_DEPTH; i++) {
        p[k++] = 0x00;
    }
    CU_ASSERT_EQUAL(skip_struct(p, k, &err), SM_OK);
    free(p);
}

static void test_huge_counts_are_refused_before_use(void)
{
    sm_error err = {0};
    tc_reader r;
    tc_type et, kt, vt;
    uint32_t n;
    /* list of 2^31-1 i32 in 6 bytes */
    static const uint8_t list[] = {0xf5, 0xff, 0xff, 0xff, 0xff, 0x07};
    tc_reader_init(&r, list, sizeof list);
    CU_ASSERT_EQUAL(tc_read_list_begin(&r, &et, &n, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "list of 2147483647 elements exceeds the 0 bytes left"));
    /* a size past the i32 range */
    static const uint8_t list2[] = {0xf5, 0xff, 0xff, 0xff, 0xff, 0x1f};
    tc_reader_init(&r, list2, sizeof list2);
    CU_ASSERT_EQUAL(tc_read_list_begin(&r, &et, &n, &err), SM_ERR_CORRUPT);
    /* 3 doubles need 24 bytes */
    static const uint8_t dbl[] = {0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    tc_reader_init(&r, dbl, sizeof dbl);
    CU_ASSERT_EQUAL(tc_read_list_begin(&r, &et, &n, &err), SM_ERR_CORRUPT);
    /* map of 1000 entries in 3 bytes */
    static const uint8_t map[] = {0xe8, 0x07, 0x55};
    tc_reader_init(&r, map, sizeof map);
    CU_ASSERT_EQUAL(tc_read_map_begin(&r, &kt, &vt, &n, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "map of 1000 entries"));
    /* binary of 100 bytes with 2 left */
    static const uint8_t bin[] = {0x64, 'a', 'b'};
    const uint8_t *d;
    size_t len;
    tc_reader_init(&r, bin, sizeof bin);
    CU_ASSERT_EQUAL(tc_read_binary(&r, &d, &len, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "binary of 100 bytes exceeds the 2 bytes left"));
    CU_ASSERT_TRUE(msg_has(&err, "(offset 0)"));
}

static void test_bad_types_and_values_are_refused(void)
{
    sm_error err = {0};
    static const uint8_t bad_field_type[] = {0x1e, 0x00};
    CU_ASSERT_EQUAL(skip_struct(bad_field_type, sizeof bad_field_type, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "unknown type 14"));
    static const uint8_t stop_with_delta[] = {0x10};
    CU_ASSERT_EQUAL(skip_struct(stop_with_delta, sizeof stop_with_delta, &err), SM_ERR_CORRUPT);
    static const uint8_t bad_elem[] = {0x19, 0x1f, 0x00, 0x00};
    CU_ASSERT_EQUAL(skip_struct(bad_elem, sizeof bad_elem, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "unknown element type 15"));
    static const uint8_t zero_elem[] = {0x19, 0x10, 0x00, 0x00};
    CU_ASSERT_EQUAL(skip_struct(zero_elem, sizeof zero_elem, &err), SM_ERR_CORRUPT);
    static const uint8_t empty_zero_elem[] = {0x19, 0x00, 0x00}; /* empty list, type 0: ok */
    CU_ASSERT_EQUAL(skip_struct(empty_zero_elem, sizeof empty_zero_elem, &err), SM_OK);
    static const uint8_t bad_map[] = {0x1b, 0x01, 0x0e, 0x00, 0x00, 0x00};
    CU_ASSERT_EQUAL(skip_struct(bad_map, sizeof bad_map, &err), SM_ERR_CORRUPT);
    static const uint8_t bad_bool[] = {0x19, 0x11, 0x03, 0x00};
    CU_ASSERT_EQUAL(skip_struct(bad_bool, sizeof bad_bool, &err), SM_ERR_CORRUPT);
    /* field id delta past INT16_MAX: long-form 32767, then delta 1 */
    static const uint8_t id_overflow[] = {0x05, 0xfe, 0xff, 0x03, 0x00, 0x15, 0x00, 0x00};
    CU_ASSERT_EQUAL(skip_struct(id_overflow, sizeof id_overflow, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "i16 range"));
    /* long-form id past the i16 range */
    static const uint8_t id_big[] = {0x05, 0x80, 0x80, 0x04, 0x00, 0x00};
    CU_ASSERT_EQUAL(skip_struct(id_big, sizeof id_big, &err), SM_ERR_CORRUPT);

    /* i32 / i16 values out of range */
    tc_reader r;
    int32_t i32;
    int16_t i16;
    static const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x10};
    tc_reader_init(&r, big, sizeof big);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "i32 value out of range"));
    static const uint8_t mid[] = {0x80, 0x80, 0x04};
    tc_reader_init(&r, mid, sizeof mid);
    CU_ASSERT_EQUAL(tc_read_i16(&r, &i16, &err), SM_ERR_CORRUPT);
    tc_reader_init(&r, mid, sizeof mid);
    CU_ASSERT_EQUAL(tc_read_i32(&r, &i32, &err), SM_OK);
    CU_ASSERT_EQUAL(i32, 32768);

    /* an unknown type given to tc_skip */
    tc_reader_init(&r, mid, sizeof mid);
    CU_ASSERT_EQUAL(tc_skip(&r, (tc_type)14, &err), SM_ERR_CORRUPT);

    /* empty input */
    CU_ASSERT_EQUAL(skip_struct(NULL, 0, &err), SM_ERR_CORRUPT);
}

/* Every byte of a valid encoding replaced with a few values: errors are fine, crashes are
 * not (ASan builds check reads). */
static void test_mutations_never_crash(void)
{
    tc_writer w;
    tc_writer_init(&w);
    write_everything(&w);
    size_t len = tc_writer_len(&w);
    uint8_t *p = malloc(len);
    static const uint8_t values[] = {0x00, 0x01, 0x0f, 0x19, 0x1c, 0x7f, 0x80, 0xf9, 0xff};
    int ok = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(p, tc_writer_data(&w), len);
            p[i] = values[v];
            sm_error err = {0};
            ok += skip_struct(p, len, &err) == SM_OK;
        }
    }
    CU_ASSERT_TRUE(ok > 0);
    free(p);
    tc_writer_release(&w);
}

static CU_TestInfo tests[] = {
    {"varint edges round trip", test_varint_edges_round_trip},
    {"varint refuses overlong and overflowing", test_varint_refuses_overlong_and_overflowing},
    {"zigzag edges", test_zigzag_edges},
    {"writer produces the spec's bytes", test_writer_known_bytes},
    {"writer error is sticky on misuse", test_writer_sticky_error_on_misuse},
    {"round trip of every type", test_round_trip_every_type},
    {"skips unknown fields of every type", test_skip_unknown_fields_of_every_type},
    {"every truncation is an error", test_every_truncation_is_an_error},
    {"depth bomb is refused", test_depth_bomb_is_refused},
    {"huge counts are refused before use", test_huge_counts_are_refused_before_use},
    {"bad types and values are refused", test_bad_types_and_values_are_refused},
    {"mutations never crash", test_mutations_never_crash},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("thrift", tests)
