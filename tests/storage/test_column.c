/* Columns and their builder: layout as column.h documents it. */
#include "sm_test.h"
#include "storage/column.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"

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

/* ---- take and append ----------------------------------------------------------------------- */

/* A schema with every type, nullable, plus struct<list<struct<x, s>>> and map<string, int64>. */
static sm_field *all_types_schema(sm_arena *a)
{
    static const sm_type scalars[] = {
        SM_BOOL,   SM_INT8,   SM_INT16,  SM_INT32,        SM_INT64,        SM_UINT8,
        SM_UINT16, SM_UINT32, SM_UINT64, SM_FLOAT,        SM_DOUBLE,       SM_STRING,
        SM_BINARY, SM_JSON,   SM_DATE,   SM_TIMESTAMP_MS, SM_TIMESTAMP_US,
    };
    enum { N_SCALARS = sizeof scalars / sizeof scalars[0] };
    sm_field *kids[N_SCALARS + 6];
    int n = 0;
    char name[32];
    for (int i = 0; i < N_SCALARS; i++) {
        snprintf(name, sizeof name, "c_%s", sm_type_name(scalars[i]));
        kids[n++] = sm_field_new(a, name, scalars[i], true);
    }
    kids[n++] = sm_field_fixed(a, "c_fixed", 3, true);
    kids[n++] = sm_field_decimal(a, "c_dec9", 9, 2, true);
    kids[n++] = sm_field_decimal(a, "c_dec18", 18, 3, true);
    kids[n++] = sm_field_decimal(a, "c_dec38", 38, 4, true);
    {
        sm_field *inner[2] = {sm_field_new(a, "x", SM_INT32, true),
                              sm_field_new(a, "s", SM_STRING, true)};
        sm_field *elem = sm_field_struct(a, "element", inner, 2, true);
        sm_field *list = sm_field_list(a, "items", elem, true);
        kids[n++] = sm_field_struct(a, "c_nested", &list, 1, true);
    }
    kids[n++] = sm_field_map(a, "c_map", sm_field_new(a, "key", SM_STRING, false),
                             sm_field_new(a, "value", SM_INT64, true), true);
    return sm_field_struct(a, "row", kids, n, false);
}

/* Appends one deterministic value derived from `v` (null when v % 7 == 3) to `c`. */
static void append_value(sm_arena *a, sm_column *c, int64_t v, int depth)
{
    const sm_field *f = c->field;
    char text[48];
    if (f->nullable && v % 7 == 3) {
        CU_ASSERT_EQUAL(sm_column_append_null(a, c), 0);
        return;
    }
    switch (f->type) {
    case SM_BOOL: {
        uint8_t b = v & 1;
        CU_ASSERT_EQUAL(sm_column_append_fixed(a, c, &b), 0);
        break;
    }
    case SM_FLOAT:
    case SM_DOUBLE:
        CU_ASSERT_EQUAL(sm_column_append_f64(a, c, (double)v * 0.25 - 3), 0);
        break;
    case SM_STRING:
    case SM_BINARY:
    case SM_JSON: {
        int len = snprintf(text, sizeof text, "\"v%lld-%.*s\"", (long long)v, (int)(v % 11),
                           "abcdefghijk");
        CU_ASSERT_EQUAL(sm_column_append_bytes(a, c, text, (size_t)len), 0);
        break;
    }
    case SM_FIXED_BINARY: {
        uint8_t x[3] = {(uint8_t)v, (uint8_t)(v >> 8), 0xab};
        CU_ASSERT_EQUAL(sm_column_append_fixed(a, c, x), 0);
        break;
    }
    case SM_STRUCT:
        CU_ASSERT_EQUAL(sm_column_append_valid(a, c), 0);
        for (int i = 0; i < f->n_children; i++) {
            append_value(a, c->children[i], v + i + 1, depth + 1);
        }
        break;
    case SM_LIST:
    case SM_MAP:
        for (int64_t e = 0; e < v % 4; e++) {
            sm_column *el = c->children[0];
            if (f->type == SM_MAP) { /* keys are required and never null */
                int len = snprintf(text, sizeof text, "k%lld", (long long)e);
                CU_ASSERT_EQUAL(sm_column_append_valid(a, el), 0);
                CU_ASSERT_EQUAL(sm_column_append_bytes(a, el->children[0], text, (size_t)len), 0);
                append_value(a, el->children[1], v * 10 + e, depth + 1);
            } else {
                append_value(a, el, v * 10 + e, depth + 1);
            }
        }
        CU_ASSERT_EQUAL(sm_column_list_end(a, c), 0);
        break;
    default:
        CU_ASSERT_EQUAL(sm_column_append_i64(a, c, v * 1000003 - 77), 0);
        break;
    }
}

static sm_column *all_types_batch(sm_arena *a, int64_t rows)
{
    sm_field *f = all_types_schema(a);
    sm_column *c = sm_column_new(a, f, 4);
    for (int64_t r = 0; r < rows; r++) {
        CU_ASSERT_EQUAL(sm_column_append_valid(a, c), 0);
        for (int i = 0; i < f->n_children; i++) {
            append_value(a, c->children[i], r * 13 + i, 1);
        }
    }
    return c;
}

/* Slot i of a equals slot j of b: validity, then values (nested: recursively). */
static bool row_equal(const sm_column *a, int64_t i, const sm_column *b, int64_t j)
{
    const sm_field *f = a->field;
    size_t w = sm_type_width(f);
    if (f->type != b->field->type || sm_column_is_valid(a, i) != sm_column_is_valid(b, j)) {
        return false;
    }
    if (!sm_column_is_valid(a, i)) {
        return true;
    }
    switch (f->type) {
    case SM_STRUCT:
        for (int k = 0; k < f->n_children; k++) {
            if (!row_equal(a->children[k], i, b->children[k], j)) {
                return false;
            }
        }
        return true;
    case SM_LIST:
    case SM_MAP: {
        int32_t n = a->offsets[i + 1] - a->offsets[i];
        if (n != b->offsets[j + 1] - b->offsets[j]) {
            return false;
        }
        for (int32_t e = 0; e < n; e++) {
            if (!row_equal(a->children[0], a->offsets[i] + e, b->children[0], b->offsets[j] + e)) {
                return false;
            }
        }
        return true;
    }
    case SM_STRING:
    case SM_BINARY:
    case SM_JSON: {
        int32_t n = a->offsets[i + 1] - a->offsets[i];
        return n == b->offsets[j + 1] - b->offsets[j] &&
               memcmp(a->data + a->offsets[i], b->data + b->offsets[j], (size_t)n) == 0;
    }
    default:
        return memcmp((const uint8_t *)a->values + (size_t)i * w,
                      (const uint8_t *)b->values + (size_t)j * w, w) == 0;
    }
}

/* The layout invariants of column.h hold in c and below. */
static bool well_formed(const sm_column *c)
{
    const sm_field *f = c->field;
    int64_t nulls = 0;
    for (int64_t i = 0; i < c->length; i++) {
        nulls += !sm_column_is_valid(c, i);
    }
    if (nulls != c->null_count || c->length > c->capacity) {
        return false;
    }
    if (c->offsets) {
        if (c->offsets[0] != 0) {
            return false;
        }
        for (int64_t i = 0; i < c->length; i++) {
            if (c->offsets[i + 1] < c->offsets[i]) {
                return false;
            }
        }
    }
    if (sm_type_is_binary_like(f->type) && c->offsets[c->length] != c->data_len) {
        return false;
    }
    if (f->type == SM_STRUCT) {
        for (int k = 0; k < f->n_children; k++) {
            if (c->children[k]->length != c->length || !well_formed(c->children[k])) {
                return false;
            }
        }
    }
    if (f->type == SM_LIST || f->type == SM_MAP) {
        return c->offsets[c->length] == c->children[0]->length && well_formed(c->children[0]);
    }
    return true;
}

static void check_taken(const sm_column *taken, const sm_column *src, const int64_t *sel, int64_t n)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(taken);
    CU_ASSERT_EQUAL(taken->length, n);
    CU_ASSERT_PTR_EQUAL(taken->field, src->field);
    CU_ASSERT_TRUE(well_formed(taken));
    for (int64_t i = 0; i < n; i++) {
        int64_t r = sel ? sel[i] : i;
        for (int k = 0; k < src->field->n_children; k++) {
            if (!row_equal(taken->children[k], i, src->children[k], r)) {
                CU_FAIL("taken row differs from its source row");
                fprintf(stderr, "row %lld (source %lld), column %s\n", (long long)i, (long long)r,
                        src->field->children[k]->name);
                return;
            }
        }
    }
}

static void test_column_take_every_type_with_repeats(void)
{
    sm_column *src = all_types_batch(arena, 50), *out = NULL;
    int64_t sel[] = {49, 3, 3, 0, 17, 3, 24, 10, 10, 10, 48, 1, 2, 45, 31, 31, 0};
    int64_t n = sizeof sel / sizeof sel[0];
    CU_ASSERT_TRUE_FATAL(well_formed(src));
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, sel, n, &out), 0);
    check_taken(out, src, sel, n);
    /* nulls came along: row 3 of c_int8 (child 1, value 3*13+1 = 40, 40 % 7 = 5) is valid, the
     * column c_bool (child 0) of row 0 (value 0) is valid, and some nulls exist somewhere */
    {
        int64_t nulls = 0;
        for (int k = 0; k < out->field->n_children; k++) {
            nulls += out->children[k]->null_count;
        }
        CU_ASSERT(nulls > 0);
    }
}

static void test_column_take_all_rows_without_selection(void)
{
    sm_column *src = all_types_batch(arena, 40), *out = NULL;
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, NULL, 40, &out), 0);
    check_taken(out, src, NULL, 40);
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, NULL, 7, &out), 0); /* a prefix */
    check_taken(out, src, NULL, 7);
}

static void test_column_take_empty_selection(void)
{
    sm_column *src = all_types_batch(arena, 10), *out = NULL;
    int64_t none = 0;
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, &none, 0, &out), 0);
    check_taken(out, src, &none, 0);
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, NULL, 0, &out), 0);
    check_taken(out, src, NULL, 0);
    CU_ASSERT_EQUAL(out->children[0]->null_count, 0);
}

/* A selection of valid rows only makes no validity bitmap, as the builder would not. */
static void test_column_take_valid_rows_has_no_bitmap(void)
{
    sm_field *f = sm_field_new(arena, "s", SM_STRING, true);
    sm_column *c = sm_column_new(arena, f, 4), *out = NULL;
    int64_t sel[] = {2, 0, 2};
    sm_column_append_bytes(arena, c, "ab", 2);
    sm_column_append_null(arena, c);
    sm_column_append_bytes(arena, c, "cde", 3);
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, c, sel, 3, &out), 0);
    CU_ASSERT_PTR_NULL(out->validity);
    CU_ASSERT_EQUAL(out->null_count, 0);
    CU_ASSERT_EQUAL(out->data_len, 8);
    CU_ASSERT_EQUAL(memcmp(out->data, "cdeabcde", 8), 0);
    CU_ASSERT_EQUAL(out->offsets[1], 3);
    CU_ASSERT_EQUAL(out->offsets[2], 5);
    CU_ASSERT_EQUAL(out->offsets[3], 8);
    sel[1] = 1;
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, c, sel, 3, &out), 0);
    CU_ASSERT_PTR_NOT_NULL(out->validity);
    CU_ASSERT_EQUAL(out->null_count, 1);
    CU_ASSERT_FALSE(sm_column_is_valid(out, 1));
    CU_ASSERT_EQUAL(out->offsets[2], out->offsets[1]); /* null: empty range */
}

/* map<string, int64> and struct<list<struct>> taken alone, elements rebased. */
static void test_column_take_nested_rebases_offsets(void)
{
    sm_column *src = all_types_batch(arena, 30), *out = NULL;
    const sm_column *nested = src->children[src->field->n_children - 2];
    const sm_column *map = src->children[src->field->n_children - 1];
    int64_t sel[] = {29, 5, 5, 12, 1};
    CU_ASSERT_EQUAL(nested->field->type, SM_STRUCT);
    CU_ASSERT_EQUAL(map->field->type, SM_MAP);
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, nested, sel, 5, &out), 0);
    CU_ASSERT_TRUE(well_formed(out));
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_TRUE(row_equal(out, i, nested, sel[i]));
    }
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, map, sel, 5, &out), 0);
    CU_ASSERT_TRUE(well_formed(out));
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_TRUE(row_equal(out, i, map, sel[i]));
    }
}

static void test_column_take_fails_when_the_arena_refuses(void)
{
    sm_arena *small = sm_arena_create(4096, 32 * 1024);
    sm_column *src = all_types_batch(arena, 200), *out = (sm_column *)1;
    CU_ASSERT_EQUAL(sm_column_take(small, src, NULL, 200, &out), -1);
    CU_ASSERT_PTR_NULL(out);
    sm_arena_destroy(small);
}

static void test_column_append_column_grows_a_column(void)
{
    sm_column *a = all_types_batch(arena, 30), *b = all_types_batch(arena, 20);
    sm_column *dst = sm_column_new(arena, a->field, 1);
    int64_t sel[] = {19, 0, 0, 7};
    CU_ASSERT_EQUAL(sm_column_append_column(arena, dst, a, NULL, 30), 0);
    CU_ASSERT_EQUAL(sm_column_append_column(arena, dst, b, sel, 4), 0);
    CU_ASSERT_EQUAL(sm_column_append_column(arena, dst, b, sel, 0), 0);
    CU_ASSERT_EQUAL(sm_column_append_column(arena, dst, a, NULL, 5), 0);
    CU_ASSERT_EQUAL_FATAL(dst->length, 39);
    CU_ASSERT_TRUE(well_formed(dst));
    for (int64_t i = 0; i < 39; i++) {
        const sm_column *src = i < 30 ? a : i < 34 ? b : a;
        int64_t r = i < 30 ? i : i < 34 ? sel[i - 30] : i - 34;
        for (int k = 0; k < a->field->n_children; k++) {
            CU_ASSERT_TRUE(row_equal(dst->children[k], i, src->children[k], r));
        }
    }
}

static void test_column_append_column_refuses_another_shape(void)
{
    sm_column *a = sm_column_new(arena, sm_field_new(arena, "a", SM_INT32, true), 1);
    sm_column *b = sm_column_new(arena, sm_field_new(arena, "b", SM_INT64, true), 1);
    sm_column_append_i64(arena, b, 1);
    CU_ASSERT_EQUAL(sm_column_append_column(arena, a, b, NULL, 1), -1);
    CU_ASSERT_EQUAL(a->length, 0);
}

/* A refused append leaves dst as it was, nested children included. */
static void test_column_append_column_failure_leaves_dst_unchanged(void)
{
    sm_arena *small = sm_arena_create(4096, 256 * 1024);
    sm_column *src = all_types_batch(arena, 300), *dst, *copy = NULL;
    int rc = 0, i;
    dst = sm_column_new(small, src->field, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    CU_ASSERT_EQUAL_FATAL(sm_column_append_column(small, dst, src, NULL, 10), 0);
    for (i = 0; i < 100 && rc == 0; i++) {
        int64_t before = dst->length;
        rc = sm_column_append_column(small, dst, src, NULL, 300);
        if (rc) {
            CU_ASSERT_EQUAL(dst->length, before);
        }
    }
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_TRUE(well_formed(dst));
    CU_ASSERT_EQUAL(sm_column_take(arena, dst, NULL, dst->length, &copy), 0);
    for (int64_t r = 0; r < dst->length; r++) {
        int64_t s = r < 10 ? r : (r - 10) % 300;
        CU_ASSERT_TRUE(row_equal(dst, r, src, s));
    }
    sm_arena_destroy(small);
}

/* A taken batch written by pq_writer reads back as the rows it was taken from. */
static void test_column_take_round_trips_through_parquet(void)
{
    sm_column *src = all_types_batch(arena, 300), *out = NULL, *back = NULL;
    int64_t sel[500];
    char *dir = sm_test_tmpdir("column-take"), path[512];
    pq_writer *w = NULL;
    pq_reader *r = NULL;
    pq_writer_opts o;
    sm_error err = {0};
    for (int i = 0; i < 500; i++) {
        sel[i] = (i * 37 + 11) % 300;
    }
    CU_ASSERT_EQUAL_FATAL(sm_column_take(arena, src, sel, 500, &out), 0);
    snprintf(path, sizeof path, "%s/taken.parquet", dir);
    pq_writer_opts_default(&o);
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, src->field, &o, &w, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, out, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, NULL, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_reader_open(path, &r, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pq_reader_read_row_group(r, 0, NULL, 0, arena, &back, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(back->length, 500);
    CU_ASSERT_EQUAL_FATAL(back->field->n_children, src->field->n_children);
    for (int64_t i = 0; i < 500; i++) {
        for (int k = 0; k < src->field->n_children; k++) {
            if (!row_equal(back->children[k], i, src->children[k], sel[i])) {
                fprintf(stderr, "row %lld column %s: %s\n", (long long)i,
                        src->field->children[k]->name, err.msg);
                CU_FAIL("read back differs");
                i = 500;
                break;
            }
        }
    }
    pq_reader_close(r);
    sm_test_rmtree(dir);
    free(dir);
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
    {"take every type with repeats", test_column_take_every_type_with_repeats},
    {"take all rows without selection", test_column_take_all_rows_without_selection},
    {"take empty selection", test_column_take_empty_selection},
    {"take valid rows has no bitmap", test_column_take_valid_rows_has_no_bitmap},
    {"take nested rebases offsets", test_column_take_nested_rebases_offsets},
    {"take fails when the arena refuses", test_column_take_fails_when_the_arena_refuses},
    {"append column grows a column", test_column_append_column_grows_a_column},
    {"append column refuses another shape", test_column_append_column_refuses_another_shape},
    {"append column failure leaves dst unchanged",
     test_column_append_column_failure_leaves_dst_unchanged},
    {"take round trips through parquet", test_column_take_round_trips_through_parquet},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("column", setup, teardown, tests)
