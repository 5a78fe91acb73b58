/* Dedup state of a silver table: insert/dup/evict, key encodings, save/load, damaged blobs.
 *
 * The module is compiled into this test (not taken from the library) so the damaged-blob tests
 * can re-sign forged blobs with its checksum and reach the bounds checks behind it. */
#include <math.h>
#include <time.h>

#include "sm_test.h"
#include "stream/dedup.c"

static sm_arena *arena;

static bool ins(sm_dedup *d, const char *key, int64_t t)
{
    bool dup = false;
    CU_ASSERT_EQUAL(sm_dedup_check_insert(d, key, strlen(key), t, &dup), 0);
    return dup;
}

static void test_dedup_insert_then_dup(void)
{
    sm_dedup *d = sm_dedup_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_FALSE(ins(d, "a", 100));
    CU_ASSERT_TRUE(ins(d, "a", 500)); /* present: nothing changes, the first time stays */
    CU_ASSERT_FALSE(ins(d, "b", 100));
    CU_ASSERT_FALSE(ins(d, "", 100)); /* the empty key is a key */
    CU_ASSERT_TRUE(ins(d, "", 100));
    CU_ASSERT_EQUAL(sm_dedup_count(d), 3);
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 200), 3); /* "a" kept 100, not 500 */
    CU_ASSERT_EQUAL(sm_dedup_count(d), 0);
    CU_ASSERT_FALSE(ins(d, "a", 300)); /* forgotten, so new again */
    CU_ASSERT(sm_dedup_bytes(d) > 0);
    sm_dedup_free(d);
    sm_dedup_free(NULL);
}

static void test_dedup_evict_below_the_watermark_only(void)
{
    sm_dedup *d = sm_dedup_new();
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT_FALSE(ins(d, key, i));
    }
    CU_ASSERT_FALSE(ins(d, "forever", SM_DEDUP_NO_EVENT_TIME));
    CU_ASSERT_EQUAL(sm_dedup_evict(d, SM_DEDUP_NO_EVENT_TIME), 0);
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 0), 0);
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 500), 500); /* event time < 500 */
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 500), 0);
    CU_ASSERT_EQUAL(sm_dedup_count(d), 501);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT_EQUAL(ins(d, key, 2000), i >= 500);
    }
    /* without a watermark column the key is never evicted */
    CU_ASSERT_EQUAL(sm_dedup_evict(d, INT64_MAX), 1000);
    CU_ASSERT_EQUAL(sm_dedup_count(d), 1);
    CU_ASSERT_TRUE(ins(d, "forever", 0));
    sm_dedup_free(d);
}

/* Random inserts and evictions against a model: the table (growth, backward-shift deletion of a
 * few keys, a new table when many go, compaction, shrinking) answers as a plain array would. */
static void test_dedup_matches_a_model_under_churn(void)
{
    enum { N = 60000 };
    static int64_t model[N]; /* event time, or -1 when absent */
    sm_dedup *d = sm_dedup_new();
    uint64_t rng = 42;
    int64_t present = 0, wm = 0;
    char key[40];
    for (int i = 0; i < N; i++) {
        model[i] = -1;
    }
    for (int round = 0; round < 40; round++) {
        for (int op = 0; op < 20000; op++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int id = (int)((rng >> 33) % N);
            int64_t t = wm + (int64_t)((rng >> 20) % 1000);
            bool dup = false;
            int len = snprintf(key, sizeof key, "order-%d-%s", id, id % 3 ? "x" : "longer-suffix");
            CU_ASSERT_EQUAL(sm_dedup_check_insert(d, key, (size_t)len, t, &dup), 0);
            if (dup != (model[id] >= 0)) {
                CU_FAIL("dup answer differs from the model");
                sm_dedup_free(d);
                return;
            }
            if (!dup) {
                model[id] = t;
                present++;
            }
        }
        /* steps of 40 evict a few keys, of 300 a third; the end nearly everything: shrink */
        wm += round >= 30 ? 2000 : round % 2 ? 300 : 40;
        int64_t want = 0;
        for (int i = 0; i < N; i++) {
            if (model[i] >= 0 && model[i] < wm) {
                model[i] = -1;
                want++;
            }
        }
        CU_ASSERT_EQUAL(sm_dedup_evict(d, wm), want);
        present -= want;
        CU_ASSERT_EQUAL(sm_dedup_count(d), present);
    }
    for (int i = 0; i < N; i++) { /* every survivor is still found */
        bool dup = false;
        int len = snprintf(key, sizeof key, "order-%d-%s", i, i % 3 ? "x" : "longer-suffix");
        sm_dedup_check_insert(d, key, (size_t)len, wm, &dup);
        CU_ASSERT_EQUAL(dup, model[i] >= 0);
    }
    sm_dedup_free(d);
}

/* ---- key encodings ----------------------------------------------------------------------- */

/* A one-column STRUCT batch of `type` with rows appended by the caller. */
static sm_column *one_col(sm_field *f)
{
    sm_field *row = sm_field_struct(arena, "row", &f, 1, false);
    return sm_column_new(arena, row, 4);
}

static void add_i(sm_column *b, int64_t v)
{
    sm_column_append_valid(arena, b);
    CU_ASSERT_EQUAL(sm_column_append_i64(arena, b->children[0], v), 0);
}

static void add_f(sm_column *b, double v)
{
    sm_column_append_valid(arena, b);
    CU_ASSERT_EQUAL(sm_column_append_f64(arena, b->children[0], v), 0);
}

static void add_s(sm_column *b, const char *s)
{
    sm_column_append_valid(arena, b);
    CU_ASSERT_EQUAL(sm_column_append_bytes(arena, b->children[0], s, strlen(s)), 0);
}

static void add_null(sm_column *b)
{
    sm_column_append_valid(arena, b);
    CU_ASSERT_EQUAL(sm_column_append_null(arena, b->children[0]), 0);
}

/* Key of row `row` of batch b (key column 0) equals key of row `row2` of b2. */
static bool same_key(const sm_column *b, int64_t row, const sm_column *b2, int64_t row2)
{
    sm_buf k1 = SM_BUF_INIT, k2 = SM_BUF_INIT;
    int col = 0;
    bool eq;
    CU_ASSERT_EQUAL(sm_dedup_key(b, &col, 1, row, &k1), 0);
    CU_ASSERT_EQUAL(sm_dedup_key(b2, &col, 1, row2, &k2), 0);
    eq = k1.len == k2.len && memcmp(k1.data, k2.data, k1.len) == 0;
    sm_buf_free(&k1);
    sm_buf_free(&k2);
    return eq;
}

/* Every integer-like type: value v equals v, differs from v+1, NULL equals NULL, NULL differs
 * from 0. Rows: 0: 5, 1: 5, 2: 6, 3: null, 4: null, 5: 0. */
static void test_dedup_key_integers_and_nulls(void)
{
    static const sm_type types[] = {SM_INT8,  SM_INT16,        SM_INT32,       SM_INT64,
                                    SM_UINT8, SM_UINT16,       SM_UINT32,      SM_UINT64,
                                    SM_DATE,  SM_TIMESTAMP_MS, SM_TIMESTAMP_US};
    sm_column *ref = one_col(sm_field_new(arena, "x", SM_INT64, true));
    add_i(ref, 5);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        sm_column *b = one_col(sm_field_new(arena, "x", types[t], true));
        add_i(b, 5);
        add_i(b, 5);
        add_i(b, 6);
        add_null(b);
        add_null(b);
        add_i(b, 0);
        CU_ASSERT_TRUE(same_key(b, 0, b, 1));
        CU_ASSERT_FALSE(same_key(b, 0, b, 2));
        CU_ASSERT_TRUE(same_key(b, 3, b, 4));
        CU_ASSERT_FALSE(same_key(b, 3, b, 5));
        CU_ASSERT_FALSE(same_key(b, 0, b, 3));
        /* integers of every width normalise to int64; dates and timestamps stay apart */
        bool integer =
            types[t] != SM_DATE && types[t] != SM_TIMESTAMP_MS && types[t] != SM_TIMESTAMP_US;
        CU_ASSERT_EQUAL(same_key(b, 0, ref, 0), integer);
    }
    {
        sm_column *u = one_col(sm_field_new(arena, "x", SM_UINT64, false));
        sm_column *s = one_col(sm_field_new(arena, "x", SM_INT64, false));
        add_i(u, -1); /* UINT64_MAX */
        add_i(s, -1);
        CU_ASSERT_FALSE(same_key(u, 0, s, 0));
    }
    { /* one instant in ms and in us is one key */
        sm_column *ms = one_col(sm_field_new(arena, "t", SM_TIMESTAMP_MS, false));
        sm_column *us = one_col(sm_field_new(arena, "t", SM_TIMESTAMP_US, false));
        add_i(ms, 1700000000123LL);
        add_i(us, 1700000000123000LL);
        add_i(ms, INT64_MAX); /* does not fit in microseconds: its own tag */
        add_i(us, INT64_MAX);
        CU_ASSERT_TRUE(same_key(ms, 0, us, 0));
        CU_ASSERT_FALSE(same_key(ms, 1, us, 1));
    }
}

static void test_dedup_key_bool_and_floats(void)
{
    sm_column *b = one_col(sm_field_new(arena, "b", SM_BOOL, true));
    uint8_t t = 1, f = 0;
    for (int i = 0; i < 3; i++) {
        sm_column_append_valid(arena, b);
        sm_column_append_fixed(arena, b->children[0], i == 2 ? &f : &t);
    }
    add_null(b);
    CU_ASSERT_TRUE(same_key(b, 0, b, 1));
    CU_ASSERT_FALSE(same_key(b, 0, b, 2));
    CU_ASSERT_FALSE(same_key(b, 2, b, 3));

    sm_column *d = one_col(sm_field_new(arena, "d", SM_DOUBLE, true));
    sm_column *fl = one_col(sm_field_new(arena, "f", SM_FLOAT, true));
    double nan2;
    uint64_t bits = 0xfff8000000000123ULL; /* a negative NaN with a payload */
    memcpy(&nan2, &bits, 8);
    add_f(d, 0.0);  /* 0 */
    add_f(d, -0.0); /* 1 */
    add_f(d, NAN);  /* 2 */
    add_f(d, nan2); /* 3 */
    add_f(d, 1.5);  /* 4 */
    add_null(d);    /* 5 */
    add_f(d, 1.25); /* 6 */
    add_f(fl, 1.5);
    add_f(fl, -0.0);
    add_f(fl, NAN);
    CU_ASSERT_TRUE(same_key(d, 0, d, 1));
    CU_ASSERT_TRUE(same_key(d, 2, d, 3));
    CU_ASSERT_FALSE(same_key(d, 2, d, 0));
    CU_ASSERT_FALSE(same_key(d, 4, d, 6));
    CU_ASSERT_FALSE(same_key(d, 5, d, 0));
    CU_ASSERT_TRUE(same_key(fl, 0, d, 4)); /* float 1.5 = double 1.5 */
    CU_ASSERT_TRUE(same_key(fl, 1, d, 0));
    CU_ASSERT_TRUE(same_key(fl, 2, d, 3));
}

static void test_dedup_key_strings_binary_decimal(void)
{
    sm_column *s = one_col(sm_field_new(arena, "s", SM_STRING, true));
    sm_column *j = one_col(sm_field_new(arena, "j", SM_JSON, true));
    sm_column *bin = one_col(sm_field_new(arena, "b", SM_BINARY, true));
    sm_column *fix = one_col(sm_field_fixed(arena, "f", 2, true));
    add_s(s, "ab");
    add_s(s, "ab");
    add_s(s, "");
    add_null(s);
    add_s(s, "abc");
    add_s(j, "ab");
    add_s(bin, "ab");
    sm_column_append_valid(arena, fix);
    sm_column_append_fixed(arena, fix->children[0], "ab");
    CU_ASSERT_TRUE(same_key(s, 0, s, 1));
    CU_ASSERT_FALSE(same_key(s, 2, s, 3)); /* "" is not NULL */
    CU_ASSERT_FALSE(same_key(s, 0, s, 4));
    CU_ASSERT_FALSE(same_key(s, 0, j, 0)); /* a string is not JSON text */
    CU_ASSERT_FALSE(same_key(s, 0, bin, 0));
    CU_ASSERT_TRUE(same_key(bin, 0, fix, 0)); /* binary equals fixed binary of the same bytes */

    sm_column *d9 = one_col(sm_field_decimal(arena, "d", 9, 2, true));
    sm_column *d18 = one_col(sm_field_decimal(arena, "d", 18, 1, true));
    sm_column *d38 = one_col(sm_field_decimal(arena, "d", 38, 5, true));
    add_i(d9, 150);      /* 1.50 */
    add_i(d9, -150);     /* -1.50 */
    add_i(d9, 0);        /* 0.00 */
    add_null(d9);        /* null */
    add_i(d18, 15);      /* 1.5 */
    add_i(d18, 0);       /* 0.0 */
    add_i(d38, 150000);  /* 1.50000 */
    add_i(d38, -150000); /* -1.50000 */
    add_i(d38, 150001);  /* 1.50001 */
    CU_ASSERT_TRUE(same_key(d9, 0, d18, 0));
    CU_ASSERT_TRUE(same_key(d9, 0, d38, 0));
    CU_ASSERT_TRUE(same_key(d9, 1, d38, 1));
    CU_ASSERT_TRUE(same_key(d9, 2, d18, 1));
    CU_ASSERT_FALSE(same_key(d9, 0, d38, 2));
    CU_ASSERT_FALSE(same_key(d9, 2, d9, 3));
}

/* Several key columns: ("ab", "c") and ("a", "bc") differ; nested values compare by value. */
static void test_dedup_key_several_columns_and_nested(void)
{
    sm_field *kids[4] = {
        sm_field_new(arena, "a", SM_STRING, true), sm_field_new(arena, "b", SM_STRING, true),
        sm_field_list(arena, "l", sm_field_new(arena, "e", SM_INT32, true), true), NULL};
    sm_field *inner[1] = {sm_field_new(arena, "x", SM_INT64, true)};
    kids[3] = sm_field_struct(arena, "st", inner, 1, true);
    sm_field *row = sm_field_struct(arena, "row", kids, 4, false);
    sm_column *b = sm_column_new(arena, row, 4);
    const char *a[] = {"ab", "a", "ab", "ab"}, *bb[] = {"c", "bc", "c", "c"};
    sm_buf k[4] = {SM_BUF_INIT, SM_BUF_INIT, SM_BUF_INIT, SM_BUF_INIT};
    int cols[] = {0, 1, 2, 3}, bad = 9;
    for (int r = 0; r < 4; r++) {
        sm_column_append_valid(arena, b);
        sm_column_append_bytes(arena, b->children[0], a[r], strlen(a[r]));
        sm_column_append_bytes(arena, b->children[1], bb[r], strlen(bb[r]));
        for (int e = 0; e < 2; e++) {
            if (r == 3 && e == 1) {
                sm_column_append_null(arena, b->children[2]->children[0]);
            } else {
                sm_column_append_i64(arena, b->children[2]->children[0], e + 7);
            }
        }
        sm_column_list_end(arena, b->children[2]);
        sm_column_append_valid(arena, b->children[3]);
        sm_column_append_i64(arena, b->children[3]->children[0], 1);
        CU_ASSERT_EQUAL(sm_dedup_key(b, cols, 4, r, &k[r]), 0);
    }
    CU_ASSERT_FALSE(k[0].len == k[1].len && memcmp(k[0].data, k[1].data, k[0].len) == 0);
    CU_ASSERT_TRUE(k[0].len == k[2].len && memcmp(k[0].data, k[2].data, k[0].len) == 0);
    CU_ASSERT_FALSE(k[0].len == k[3].len && memcmp(k[0].data, k[3].data, k[0].len) == 0);
    /* the buffer is replaced, not appended to */
    size_t len = k[0].len;
    CU_ASSERT_EQUAL(sm_dedup_key(b, cols, 4, 0, &k[0]), 0);
    CU_ASSERT_EQUAL(k[0].len, len);
    CU_ASSERT_EQUAL(sm_dedup_key(b, &bad, 1, 0, &k[0]), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_dedup_key(b, cols, 1, 4, &k[0]), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_dedup_key(b->children[0], cols, 1, 0, &k[0]), SM_ERR_USAGE);
    for (int r = 0; r < 4; r++) {
        sm_buf_free(&k[r]);
    }
}

/* ---- save and load ----------------------------------------------------------------------- */

static sm_dedup *filled(int n, int order, int extra_evicted)
{
    sm_dedup *d = sm_dedup_new();
    char key[40];
    for (int k = 0; k < extra_evicted; k++) { /* history that leaves nothing behind */
        snprintf(key, sizeof key, "gone-%d", k);
        ins(d, key, -5);
    }
    for (int k = 0; k < n; k++) {
        int i = order ? n - 1 - k : k;
        snprintf(key, sizeof key, "key-%d", i);
        ins(d, key, i % 2 ? SM_DEDUP_NO_EVENT_TIME : 1000 + i);
    }
    sm_dedup_evict(d, -4);
    return d;
}

static void test_dedup_save_load_round_trip(void)
{
    sm_dedup *d = filled(5000, 0, 0), *back = NULL;
    sm_buf a = SM_BUF_INIT, b = SM_BUF_INIT;
    sm_error err = {0};
    char key[40];
    CU_ASSERT_EQUAL_FATAL(sm_dedup_save(d, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sm_dedup_load(a.data, a.len, &back, &err), 0);
    CU_ASSERT_EQUAL(sm_dedup_count(back), 5000);
    CU_ASSERT_EQUAL(sm_dedup_save(back, &b, &err), 0);
    CU_ASSERT_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        CU_ASSERT_TRUE(ins(back, key, 0));
    }
    /* event times came back: evicting below 3000 removes the even keys below 2000 */
    CU_ASSERT_EQUAL(sm_dedup_evict(back, 3000), 1000);
    sm_dedup_free(back);
    { /* the empty state */
        sm_dedup *e = sm_dedup_new();
        sm_buf_reset(&a);
        CU_ASSERT_EQUAL(sm_dedup_save(e, &a, &err), 0);
        CU_ASSERT_EQUAL(a.len, HEADER_LEN + TRAILER_LEN);
        CU_ASSERT_EQUAL(sm_dedup_load(a.data, a.len, &back, &err), 0);
        CU_ASSERT_EQUAL(sm_dedup_count(back), 0);
        sm_dedup_free(back);
        sm_dedup_free(e);
    }
    sm_dedup_free(d);
    sm_buf_free(&a);
    sm_buf_free(&b);
}

/* The same state gives the same bytes, whatever the order and history that made it. */
static void test_dedup_save_is_deterministic(void)
{
    sm_dedup *x = filled(3000, 0, 0), *y = filled(3000, 1, 20000);
    sm_buf a = SM_BUF_INIT, b = SM_BUF_INIT;
    CU_ASSERT_EQUAL(sm_dedup_save(x, &a, NULL), 0);
    CU_ASSERT_EQUAL(sm_dedup_save(y, &b, NULL), 0);
    CU_ASSERT_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    ins(y, "one more", 1);
    sm_buf_reset(&b);
    CU_ASSERT_EQUAL(sm_dedup_save(y, &b, NULL), 0);
    CU_ASSERT_FALSE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    sm_dedup_free(x);
    sm_dedup_free(y);
    sm_buf_free(&a);
    sm_buf_free(&b);
}

static int load_code(const uint8_t *p, size_t len)
{
    sm_dedup *d = (sm_dedup *)1;
    sm_error err = {0};
    int rc = sm_dedup_load(p, len, &d, &err);
    if (rc) {
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_EQUAL(strncmp(err.msg, "dedup state: ", 13), 0);
    }
    sm_dedup_free(rc ? NULL : d);
    return rc;
}

/* Re-signs a forged blob so that load gets past the checksum to its bounds checks. */
static void resign(uint8_t *p, size_t len)
{
    wr64(p + len - TRAILER_LEN, hash_bytes(p, len - TRAILER_LEN, P2));
}

static void test_dedup_load_refuses_damaged_blobs(void)
{
    sm_dedup *d = filled(40, 0, 0);
    sm_buf a = SM_BUF_INIT;
    uint8_t *p;
    CU_ASSERT_EQUAL_FATAL(sm_dedup_save(d, &a, NULL), 0);
    p = malloc(a.len + 64);
    for (size_t n = 0; n < a.len; n++) { /* every truncation */
        memcpy(p, a.data, n);
        CU_ASSERT_EQUAL(load_code(p, n), SM_ERR_CORRUPT);
    }
    CU_ASSERT_EQUAL(load_code(NULL, 0), SM_ERR_CORRUPT);
    for (size_t bit = 0; bit < a.len * 8; bit++) { /* every single bit flip */
        memcpy(p, a.data, a.len);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT);
    }
    /* forged blobs with a valid checksum: counts and lengths are still checked */
    memcpy(p, a.data, a.len);
    wr64(p + 16, 41);
    resign(p, a.len);
    CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT); /* count past the entries */
    wr64(p + 16, UINT64_MAX);
    resign(p, a.len);
    CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT);
    wr64(p + 16, 39);
    resign(p, a.len);
    CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT); /* trailing bytes */
    memcpy(p, a.data, a.len);
    wr32(p + HEADER_LEN, 0xfffffff0u);
    resign(p, a.len);
    CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT); /* key length past the end */
    memcpy(p, a.data, a.len);
    wr32(p + 8, 2);
    resign(p, a.len);
    CU_ASSERT_EQUAL(load_code(p, a.len), SM_ERR_CORRUPT); /* unknown version */
    {                                                     /* the same key twice */
        uint32_t klen = rd32(p + HEADER_LEN);
        size_t entry = ENTRY_LEN + klen;
        memcpy(p, a.data, HEADER_LEN + entry);
        memcpy(p + HEADER_LEN + entry, a.data + HEADER_LEN, a.len - HEADER_LEN);
        wr64(p + 16, 41);
        resign(p, a.len + entry);
        CU_ASSERT_EQUAL(load_code(p, a.len + entry), SM_ERR_CORRUPT);
    }
    CU_ASSERT_EQUAL(load_code(a.data, a.len), 0);
    free(p);
    sm_buf_free(&a);
    sm_dedup_free(d);
}

/* 1M inserts of 20-byte keys; the figure is printed (the bound asserted is loose for ASan). */
static void test_dedup_million_inserts_are_fast(void)
{
    enum { N = 1000000 };
    sm_dedup *d = sm_dedup_new();
    char *keys = malloc((size_t)N * 21);
    struct timespec t0, t1;
    bool dup;
    int fails = 0;
    sm_buf blob = SM_BUF_INIT;
    for (int i = 0; i < N; i++) { /* 20 bytes each, made before the clock starts */
        snprintf(keys + (size_t)i * 21, 21, "order-%014d", (int)((int64_t)i * 7919 % N));
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        fails += sm_dedup_check_insert(d, keys + (size_t)i * 21, 20, i, &dup) != 0 || dup;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ins_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT_EQUAL(sm_dedup_count(d), N);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(sm_dedup_save(d, &blob, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double save_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(sm_dedup_evict(d, N / 2), N / 2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double evict_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "\n    dedup: 1M inserts of 20-byte keys %.3f s, save %.3f s (%zu bytes), "
            "evict half %.3f s, %zu bytes held\n",
            ins_s, save_s, blob.len, evict_s, sm_dedup_bytes(d));
    CU_ASSERT(ins_s < 10.0);
    sm_buf_free(&blob);
    sm_dedup_free(d);
    free(keys);
}

/* Tags: the row of the batch that holds a key, moved by retag, cleared after the batch; a
 * reserved table does not rehash (tags and slots stay put) while it fills. */
static void test_dedup_tags_and_reserve(void)
{
    sm_dedup *d = sm_dedup_new();
    bool dup = false;
    uint32_t old = 99;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_FALSE(ins(d, "earlier", 100)); /* an earlier batch's key: tag 0 */
    CU_ASSERT_EQUAL(sm_dedup_reserve(d, 5000), 0);
    size_t cap = d->cap;
    CU_ASSERT_EQUAL(sm_dedup_check_insert_tagged(d, "a", 1, 200, 7, &dup, &old), 0);
    CU_ASSERT_FALSE(dup);
    CU_ASSERT_EQUAL(sm_dedup_check_insert_tagged(d, "a", 1, 300, 9, &dup, &old), 0);
    CU_ASSERT_TRUE(dup);
    CU_ASSERT_EQUAL(old, 7);
    CU_ASSERT_EQUAL(sm_dedup_check_insert_tagged(d, "earlier", 7, 300, 10, &dup, &old), 0);
    CU_ASSERT_TRUE(dup);
    CU_ASSERT_EQUAL(old, 0);
    CU_ASSERT_TRUE(sm_dedup_retag(d, "a", 1, 150, 3)); /* an earlier copy of "a" came later */
    CU_ASSERT_FALSE(sm_dedup_retag(d, "zz", 2, 150, 3));
    CU_ASSERT_EQUAL(sm_dedup_check_insert_tagged(d, "a", 1, 300, 11, &dup, &old), 0);
    CU_ASSERT_EQUAL(old, 3);
    for (int i = 0; i < 4000; i++) {
        char key[16];
        snprintf(key, sizeof key, "r%d", i);
        CU_ASSERT_EQUAL(
            sm_dedup_check_insert_tagged(d, key, strlen(key), 500, (uint32_t)i + 20, &dup, &old),
            0);
    }
    CU_ASSERT_EQUAL(d->cap, cap);
    sm_dedup_clear_tags(d);
    CU_ASSERT_EQUAL(sm_dedup_check_insert_tagged(d, "a", 1, 300, 12, &dup, &old), 0);
    CU_ASSERT_TRUE(dup);
    CU_ASSERT_EQUAL(old, 0);
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 120), 1); /* "earlier" (100); "a" was moved to 150 */
    CU_ASSERT_EQUAL(sm_dedup_evict(d, 151), 1); /* "a" */
    sm_dedup_free(d);
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
    {"insert then dup", test_dedup_insert_then_dup},
    {"evict below the watermark only", test_dedup_evict_below_the_watermark_only},
    {"matches a model under churn", test_dedup_matches_a_model_under_churn},
    {"key integers and nulls", test_dedup_key_integers_and_nulls},
    {"key bool and floats", test_dedup_key_bool_and_floats},
    {"key strings binary decimal", test_dedup_key_strings_binary_decimal},
    {"key several columns and nested", test_dedup_key_several_columns_and_nested},
    {"save load round trip", test_dedup_save_load_round_trip},
    {"save is deterministic", test_dedup_save_is_deterministic},
    {"load refuses damaged blobs", test_dedup_load_refuses_damaged_blobs},
    {"million inserts are fast", test_dedup_million_inserts_are_fast},
    {"tags and reserve", test_dedup_tags_and_reserve},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("dedup", setup, teardown, tests)
