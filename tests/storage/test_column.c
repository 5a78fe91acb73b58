/* Columns and their builder: layout as column.h documents it. */
#include "sm_test.h"
#include "storage/column.h"

static sm_arena *arena;

static void test_column_fixed_values_and_nulls(void)
{
    sm_field *f = sm_field_new(arena, "q", SM_INT32, true);
    sm_column *c = sm_column_new(arena, f, 2);
    CU_ASSERT_PTR_NULL(c->validity); /* no bitmap until a null arrives */
    for (int i = 0; i < 100; i++) {
        if (i % 3 == 0) {
            CU_ASSERT_EQUAL(sm_column_append_null(arena, c), 0);
        } else {
            CU_ASSERT_EQUAL(sm_column_append_i64(arena, c, i * 10), 0);
        }
    }
    CU_ASSERT_EQUAL(c->length, 100);
    CU_ASSERT_EQUAL(c->null_count, 34);
    CU_ASSERT_PTR_NOT_NULL(c->validity);
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_EQUAL(sm_column_is_valid(c, i), i % 3 != 0);
        if (i % 3) {
            CU_ASSERT_EQUAL(((int32_t *)c->values)[i], i * 10);
        }
    }
}

static void test_column_strings_use_offsets(void)
{
    sm_field *f = sm_field_new(arena, "s", SM_STRING, true);
    sm_column *c = sm_column_new(arena, f, 1);
    const char *words[] = {"", "héllo", NULL, "wörld", ""};
    for (int i = 0; i < 5; i++) {
        if (words[i]) {
            CU_ASSERT_EQUAL(sm_column_append_bytes(arena, c, words[i], strlen(words[i])), 0);
        } else {
            CU_ASSERT_EQUAL(sm_column_append_null(arena, c), 0);
        }
    }
    CU_ASSERT_EQUAL(c->offsets[0], 0);
    CU_ASSERT_EQUAL(c->offsets[1], 0);
    CU_ASSERT_EQUAL(c->offsets[2], 6);
    CU_ASSERT_EQUAL(c->offsets[3], 6); /* null: empty range */
    CU_ASSERT_EQUAL(c->offsets[4], 12);
    CU_ASSERT_EQUAL(c->offsets[5], 12);
    CU_ASSERT_EQUAL(memcmp(c->data + 6, "wörld", 6), 0);
    CU_ASSERT_FALSE(sm_column_is_valid(c, 2));
}

/* list<struct<a int64, b string>>: offsets into a struct child whose children stay aligned. */
static void test_column_list_of_struct(void)
{
    sm_field *kids[2] = {sm_field_new(arena, "a", SM_INT64, false),
                         sm_field_new(arena, "b", SM_STRING, true)};
    sm_field *st = sm_field_struct(arena, "element", kids, 2, true);
    sm_field *lf = sm_field_list(arena, "items", st, true);
    sm_column *c = sm_column_new(arena, lf, 4);
    sm_column *elem = c->children[0];

    /* row 0: [ {1,"x"}, null ]; row 1: null; row 2: [] */
    CU_ASSERT_EQUAL(sm_column_append_valid(arena, elem), 0);
    sm_column_append_i64(arena, elem->children[0], 1);
    sm_column_append_bytes(arena, elem->children[1], "x", 1);
    CU_ASSERT_EQUAL(sm_column_append_null(arena, elem), 0); /* children get nulls too */
    CU_ASSERT_EQUAL(sm_column_list_end(arena, c), 0);
    CU_ASSERT_EQUAL(sm_column_append_null(arena, c), 0);
    CU_ASSERT_EQUAL(sm_column_list_end(arena, c), 0);

    CU_ASSERT_EQUAL(c->length, 3);
    CU_ASSERT_EQUAL(elem->length, 2);
    CU_ASSERT_EQUAL(elem->children[0]->length, 2);
    CU_ASSERT_EQUAL(elem->children[1]->length, 2);
    CU_ASSERT_EQUAL(c->offsets[1], 2);
    CU_ASSERT_EQUAL(c->offsets[2], 2);
    CU_ASSERT_EQUAL(c->offsets[3], 2);
    CU_ASSERT_FALSE(sm_column_is_valid(c, 1));
    CU_ASSERT_TRUE(sm_column_is_valid(c, 2));
    CU_ASSERT_FALSE(sm_column_is_valid(elem, 1));
}

static void test_column_map_has_required_keys(void)
{
    sm_field *k = sm_field_new(arena, "key", SM_STRING, false);
    sm_field *v = sm_field_new(arena, "value", SM_INT32, true);
    sm_field *m = sm_field_map(arena, "attrs", k, v, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->n_children, 1);
    CU_ASSERT_EQUAL(m->children[0]->type, SM_STRUCT);
    CU_ASSERT_FALSE(m->children[0]->nullable);
    CU_ASSERT_PTR_NULL(
        sm_field_map(arena, "bad", sm_field_new(arena, "k", SM_INT32, true), v, true));
}

static void test_column_decimal_widths(void)
{
    CU_ASSERT_EQUAL(sm_type_width(sm_field_decimal(arena, "d", 9, 2, true)), 4);
    CU_ASSERT_EQUAL(sm_type_width(sm_field_decimal(arena, "d", 18, 2, true)), 8);
    CU_ASSERT_EQUAL(sm_type_width(sm_field_decimal(arena, "d", 38, 10, true)), 16);
    CU_ASSERT_PTR_NULL(sm_field_decimal(arena, "d", 39, 0, true));
    CU_ASSERT_PTR_NULL(sm_field_decimal(arena, "d", 5, 6, true));
    {
        sm_field *f = sm_field_decimal(arena, "d", 30, 2, false);
        sm_column *c = sm_column_new(arena, f, 1);
        const uint8_t *v;
        sm_column_append_i64(arena, c, -2);
        v = c->values;
        CU_ASSERT_EQUAL(v[0], 0xfe);
        CU_ASSERT_EQUAL(v[15], 0xff); /* sign-extended */
    }
}

static void test_column_growth_is_bounded_by_the_arena(void)
{
    sm_arena *small = sm_arena_create(4096, 64 * 1024);
    sm_field *f = sm_field_new(small, "s", SM_BINARY, false);
    sm_column *c = sm_column_new(small, f, 8);
    char blob[1000];
    int i, rc = 0;
    memset(blob, 'x', sizeof blob);
    for (i = 0; i < 1000 && rc == 0; i++) {
        rc = sm_column_append_bytes(small, c, blob, sizeof blob);
    }
    CU_ASSERT_EQUAL(rc, -1); /* refused, not grown past the limit */
    CU_ASSERT(c->length < 64);
    CU_ASSERT_EQUAL(c->offsets[c->length], c->data_len);
    sm_arena_destroy(small);
}

/* sm_column_i64 sign- or zero-extends by type; checked on the extremes of each width. */
static void test_column_i64_extends_by_type(void)
{
    static const struct {
        sm_type t;
        int64_t in, want;
    } cases[] = {
        {SM_INT8, -128, -128},
        {SM_INT8, 127, 127},
        {SM_UINT8, 255, 255},
        {SM_INT16, -32768, -32768},
        {SM_UINT16, 65535, 65535},
        {SM_INT32, INT32_MIN, INT32_MIN},
        {SM_UINT32, 4294967295LL, 4294967295LL},
        {SM_INT64, INT64_MIN, INT64_MIN},
        {SM_DATE, -719162, -719162},
        {SM_TIMESTAMP_US, INT64_MAX, INT64_MAX},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sm_column *c = sm_column_new(arena, sm_field_new(arena, "x", cases[k].t, false), 1);
        sm_column_append_i64(arena, c, cases[k].in);
        CU_ASSERT_EQUAL(sm_column_i64(c, 0), cases[k].want);
    }
    {
        sm_column *c = sm_column_new(arena, sm_field_new(arena, "x", SM_UINT64, false), 1);
        sm_column_append_i64(arena, c, -1);
        CU_ASSERT_EQUAL(sm_column_u64(c, 0), UINT64_MAX);
    }
}

static int setup(void)
{
    arena = sm_arena_create(0, 0);
    return arena ? 0 : 1;
}

static int teardown(void)
{
    sm_arena_destroy(arena);
    return 0;
}

static CU_TestInfo tests[] = {
    {"fixed values and nulls", test_column_fixed_values_and_nulls},
    {"strings use offsets", test_column_strings_use_offsets},
    {"list of struct keeps children aligned", test_column_list_of_struct},
    {"map has required keys", test_column_map_has_required_keys},
    {"decimal widths", test_column_decimal_widths},
    {"growth is bounded by the arena", test_column_growth_is_bounded_by_the_arena},
    {"i64 extends by type", test_column_i64_extends_by_type},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("column", setup, teardown, tests)
