/*
 * Tests of stream/project.c: a silver select over a three-row batch (row 1 all NULL): identity,
 * `*` plus computed columns, renames, bare columns shared without copy, casts to int / decimal /
 * string / timestamp with out-of-range values becoming NULL, and the errors (duplicate names,
 * a missing AS, unknown columns with their position, AS inside CAST or strings).
 */
#include <string.h>

#include "stream/project.h"
#include "sm_test.h"

static sm_field *schema(sm_arena *a)
{
    sm_field *c[] = {
        sm_field_new(a, "id", SM_INT64, false),       sm_field_new(a, "qty", SM_INT32, true),
        sm_field_new(a, "price", SM_DOUBLE, true),    sm_field_new(a, "s", SM_STRING, true),
        sm_field_new(a, "Order Id", SM_STRING, true),
    };
    return sm_field_struct(a, "root", c, 5, false);
}

/* row 0: 1, 3, 2.5, "12", "A"; row 1: 2 and NULLs; row 2: 3, 2147483647, 1e12, "x", "C" */
static sm_column *batch(sm_arena *a, const sm_field *f)
{
    sm_column *b = sm_column_new(a, f, 4);
    sm_column **c = b->children;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sm_column_append_i64(a, c[0], 1);
    sm_column_append_i64(a, c[1], 3);
    sm_column_append_f64(a, c[2], 2.5);
    sm_column_append_bytes(a, c[3], "12", 2);
    sm_column_append_bytes(a, c[4], "A", 1);
    sm_column_append_valid(a, b);
    sm_column_append_i64(a, c[0], 2);
    for (int i = 1; i < 5; i++) {
        sm_column_append_null(a, c[i]);
    }
    sm_column_append_valid(a, b);
    sm_column_append_i64(a, c[0], 3);
    sm_column_append_i64(a, c[1], 2147483647);
    sm_column_append_f64(a, c[2], 1e12);
    sm_column_append_bytes(a, c[3], "x", 1);
    sm_column_append_bytes(a, c[4], "C", 1);
    sm_column_append_valid(a, b);
    return b;
}

typedef struct fixture {
    sm_arena *a;
    sm_field *in;
    sm_column *rows;
    sm_project *p;
    sm_column *out;
} fixture;

static int run(fixture *fx, const char *const *items, size_t n, sm_error *err)
{
    if (!fx->a) {
        fx->a = sm_arena_create(64 * 1024, 0);
        fx->in = schema(fx->a);
        fx->rows = batch(fx->a, fx->in);
    }
    sm_project_free(fx->p);
    fx->p = NULL;
    int rc = sm_project_new(fx->in, items, n, &fx->p, err);
    if (rc != 0) {
        return rc;
    }
    sm_expr_ctx ctx = {.batch_ts_ms = 0};
    rc = sm_project_eval(fx->p, fx->rows, &ctx, fx->a, &fx->out, err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        CU_ASSERT_EQUAL(fx->out->length, 3);
        CU_ASSERT_PTR_EQUAL(fx->out->field, sm_project_schema(fx->p));
    }
    return rc;
}

static void done(fixture *fx)
{
    sm_project_free(fx->p);
    sm_arena_destroy(fx->a);
}

static const sm_field *out_field(fixture *fx, int k)
{
    return sm_project_schema(fx->p)->children[k];
}

static void test_project_identity_shares_every_column(void)
{
    fixture fx = {0};
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(run(&fx, NULL, 0, &err), 0);
    const sm_field *s = sm_project_schema(fx.p);
    CU_ASSERT_STRING_EQUAL(s->name, "select");
    CU_ASSERT_EQUAL(s->n_children, 5);
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_PTR_EQUAL(s->children[k], fx.in->children[k]);
        CU_ASSERT_EQUAL(sm_project_input_column(fx.p, k), k);
        CU_ASSERT_PTR_EQUAL(fx.out->children[k], fx.rows->children[k]);
    }
    done(&fx);
}

static void test_project_star_plus_computed(void)
{
    fixture fx = {0};
    sm_error err = {0};
    const char *items[] = {"*", "price * qty AS total", "upper(s) AS S2"};
    CU_ASSERT_EQUAL_FATAL(run(&fx, items, 3, &err), 0);
    CU_ASSERT_EQUAL(sm_project_schema(fx.p)->n_children, 7);
    CU_ASSERT_EQUAL(sm_project_input_column(fx.p, 4), 4);
    CU_ASSERT_EQUAL(sm_project_input_column(fx.p, 5), -1);
    CU_ASSERT_EQUAL(sm_project_input_column(fx.p, 6), -1);
    CU_ASSERT_STRING_EQUAL(out_field(&fx, 5)->name, "total");
    CU_ASSERT_EQUAL(out_field(&fx, 5)->type, SM_DOUBLE);
    CU_ASSERT(out_field(&fx, 5)->nullable);
    const double *t = fx.out->children[5]->values;
    CU_ASSERT_DOUBLE_EQUAL(t[0], 7.5, 1e-9);
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[5], 1)); /* NULL propagates */
    CU_ASSERT_EQUAL(out_field(&fx, 6)->type, SM_STRING);
    CU_ASSERT_PTR_EQUAL(fx.out->children[5]->field, out_field(&fx, 5));
    done(&fx);
}

static void test_project_bare_columns_and_renames(void)
{
    fixture fx = {0};
    sm_error err = {0};
    const char *items[] = {" qty ", "id AS key", "\"Order Id\" AS \"order id\"", "PRICE"};
    CU_ASSERT_EQUAL_FATAL(run(&fx, items, 4, &err), 0);
    const sm_field *s = sm_project_schema(fx.p);
    CU_ASSERT_STRING_EQUAL(s->children[0]->name, "qty");
    CU_ASSERT_PTR_EQUAL(fx.out->children[0], fx.rows->children[1]); /* the same object */
    CU_ASSERT_STRING_EQUAL(s->children[1]->name, "key");
    CU_ASSERT_EQUAL(s->children[1]->type, SM_INT64);
    CU_ASSERT_FALSE(s->children[1]->nullable); /* keeps the input's nullability */
    CU_ASSERT_EQUAL(sm_project_input_column(fx.p, 1), 0);
    CU_ASSERT_PTR_EQUAL(fx.out->children[1]->values, fx.rows->children[0]->values); /* shared */
    CU_ASSERT_PTR_EQUAL(fx.out->children[1]->field, s->children[1]);
    CU_ASSERT_STRING_EQUAL(fx.rows->children[0]->field->name, "id"); /* input untouched */
    CU_ASSERT_STRING_EQUAL(s->children[2]->name, "order id");
    CU_ASSERT_EQUAL(sm_project_input_column(fx.p, 2), 4);
    CU_ASSERT_STRING_EQUAL(s->children[3]->name, "price"); /* matched case-insensitively */
    CU_ASSERT_PTR_EQUAL(fx.out->children[3], fx.rows->children[2]);
    done(&fx);
}

static void test_project_casts_declare_the_type(void)
{
    fixture fx = {0};
    sm_error err = {0};
    const char *items[] = {
        "CAST(price AS int) AS p_int",          "CAST(qty + 1 AS int) AS q1",
        "CAST(price AS decimal(5,2)) AS p_dec", "CAST(price AS decimal(20,3)) AS p_big",
        "CAST(qty AS string) AS q_str",         "CAST('2024-01-02 03:04:05' AS timestamp) AS ts",
        "CAST(s AS bigint) AS s_long",          "cast(price as DECIMAL) AS p_d10",
    };
    CU_ASSERT_EQUAL_FATAL(run(&fx, items, 8, &err), 0);
    /* int: 2.5 rounds or truncates to 2 or 3; 1e12 does not fit */
    CU_ASSERT_EQUAL(out_field(&fx, 0)->type, SM_INT32);
    const int32_t *pi = fx.out->children[0]->values;
    CU_ASSERT(pi[0] == 2 || pi[0] == 3);
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[0], 1));
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[0], 2));
    /* int overflow of qty + 1 */
    CU_ASSERT_EQUAL(((const int32_t *)fx.out->children[1]->values)[0], 4);
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[1], 2));
    /* decimal(5,2): 250 unscaled; 1e12 out of range */
    const sm_field *d = out_field(&fx, 2);
    CU_ASSERT_EQUAL(d->type, SM_DECIMAL);
    CU_ASSERT_EQUAL(d->precision, 5);
    CU_ASSERT_EQUAL(d->scale, 2);
    CU_ASSERT_EQUAL(sm_column_i64(fx.out->children[2], 0), 250);
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[2], 1));
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[2], 2));
    /* decimal(20,3): 16 bytes */
    CU_ASSERT_EQUAL(sm_type_width(out_field(&fx, 3)), 16);
    __int128 big = 0;
    memcpy(&big, (const uint8_t *)fx.out->children[3]->values + 32, 16);
    CU_ASSERT(big == (__int128)1000000000000000LL);
    memcpy(&big, fx.out->children[3]->values, 16);
    CU_ASSERT(big == 2500);
    CU_ASSERT_EQUAL(out_field(&fx, 4)->type, SM_STRING);
    CU_ASSERT_EQUAL(fx.out->children[4]->offsets[1], 1);
    CU_ASSERT_EQUAL(out_field(&fx, 5)->type, SM_TIMESTAMP_US);
    CU_ASSERT_EQUAL(out_field(&fx, 6)->type, SM_INT64);
    CU_ASSERT_EQUAL(sm_column_i64(fx.out->children[6], 0), 12);
    CU_ASSERT_FALSE(sm_column_is_valid(fx.out->children[6], 2)); /* 'x' is not a number */
    CU_ASSERT_EQUAL(out_field(&fx, 7)->precision, 10);
    CU_ASSERT_EQUAL(out_field(&fx, 7)->scale, 0);
    done(&fx);
}

static void expect_error(const char *const *items, size_t n, const char *msg)
{
    fixture fx = {0};
    sm_error err = {0};
    CU_ASSERT_EQUAL(run(&fx, items, n, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(fx.p);
    if (!strstr(err.msg, msg)) {
        fprintf(stderr, "\nexpected '%s' in '%s'\n", msg, err.msg);
        CU_FAIL("message");
    }
    done(&fx);
}

static void test_project_errors_name_item_and_position(void)
{
    const char *dup[] = {"id", "qty AS id"};
    expect_error(dup, 2, "select item 2 (`qty AS id`): at 8: duplicate output column 'id'");
    const char *dup_star[] = {"qty", "*"};
    expect_error(dup_star, 2, "select item 2 (`*`): at 1: duplicate output column 'qty'");
    const char *noname[] = {"id", "qty + 1"};
    expect_error(noname, 2,
                 "select item 2 (`qty + 1`): at 1: give the expression a name: qty + 1 AS");
    const char *cast_only[] = {"CAST(qty AS int)"};
    expect_error(cast_only, 1, "select item 1 (`CAST(qty AS int)`): at 1: give the expression");
    const char *unknown[] = {"id", "  price * qtty AS t"};
    expect_error(unknown, 2, "select item 2 (`  price * qtty AS t`): at 11: unknown column 'qtty'");
    const char *bare_unknown[] = {"nope"};
    expect_error(bare_unknown, 1, "select item 1 (`nope`): at 1: unknown column 'nope'");
    const char *bad_cast[] = {"CAST(qty AS intt) AS q"};
    expect_error(bad_cast, 1, "select item 1 (`CAST(qty AS intt) AS q`): at 13: unknown type");
    const char *empty[] = {"id", " "};
    expect_error(empty, 2, "select item 2");
    const char *as_only[] = {"AS x"};
    expect_error(as_only, 1, "select item 1 (`AS x`): at 1:");
}

static void test_project_as_inside_cast_and_strings(void)
{
    fixture fx = {0};
    sm_error err = {0};
    const char *ok[] = {"'a AS b' AS lit", "CASE WHEN s = ' AS y' THEN 1 ELSE 0 END AS \"as\"",
                        "qty AS \"a\"\"b\"", "id as lower_as"};
    CU_ASSERT_EQUAL_FATAL(run(&fx, ok, 4, &err), 0);
    const sm_field *s = sm_project_schema(fx.p);
    CU_ASSERT_STRING_EQUAL(s->children[0]->name, "lit");
    CU_ASSERT_EQUAL(s->children[0]->type, SM_STRING);
    CU_ASSERT_STRING_EQUAL(s->children[1]->name, "as");
    CU_ASSERT_STRING_EQUAL(s->children[2]->name, "a\"b");
    CU_ASSERT_STRING_EQUAL(s->children[3]->name, "lower_as");
    CU_ASSERT_EQUAL(((const int32_t *)fx.out->children[0]->offsets)[1], 6);
    done(&fx);
    /* AS inside a string with nothing after: not a rename, so the expression has no name */
    const char *str_only[] = {"'x AS y'"};
    expect_error(str_only, 1, "give the expression a name");
}

static void test_project_empty_batch(void)
{
    sm_arena *a = sm_arena_create(16 * 1024, 0);
    sm_field *in = schema(a);
    sm_column *rows = sm_column_new(a, in, 0);
    sm_project *p = NULL;
    sm_error err = {0};
    const char *items[] = {"CAST(price AS decimal(9,2)) AS d", "qty AS q"};
    CU_ASSERT_EQUAL_FATAL(sm_project_new(in, items, 2, &p, &err), 0);
    sm_column *out = NULL;
    sm_expr_ctx ctx = {0};
    CU_ASSERT_EQUAL(sm_project_eval(p, rows, &ctx, a, &out, &err), 0);
    CU_ASSERT_EQUAL(out->length, 0);
    CU_ASSERT_EQUAL(out->children[0]->length, 0);
    sm_project_free(p);
    sm_project_free(NULL);
    sm_arena_destroy(a);
}

static CU_TestInfo tests[] = {
    {"identity shares every column", test_project_identity_shares_every_column},
    {"star plus computed", test_project_star_plus_computed},
    {"bare columns and renames", test_project_bare_columns_and_renames},
    {"casts declare the type", test_project_casts_declare_the_type},
    {"errors name item and position", test_project_errors_name_item_and_position},
    {"AS inside CAST and strings", test_project_as_inside_cast_and_strings},
    {"empty batch", test_project_empty_batch},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("project", tests)
