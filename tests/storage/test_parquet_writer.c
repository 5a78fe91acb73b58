/*
 * Round-trip property tests of storage/parquet_writer.c, checked by readers that share no code
 * with it.
 *
 * A seeded generator makes a schema (every sm_type at the top level, nullable or not, and
 * struct / list / map nested three and more levels deep) and rows for it (null ratios from 0 to
 * 100 %, empty strings and lists, extreme integers, NaN, infinities, -0.0, denormals, decimals of
 * every precision, dates and timestamps thousands of years from 1970, multi-byte UTF-8, values
 * longer than the statistics limit and longer than a page). The rows live in a model of their
 * own (struct tv), from which the test builds the writer's column batches, the SQL literals
 * DuckDB compares against, the statistics it expects and the canonical JSON arrow-rs must give
 * back, so no check goes through the code it checks.
 *
 * Each seed's rows are written with several writer options (every codec, data page v1 and v2,
 * dictionary on and off, tiny pages, tiny row groups, a tiny dictionary limit that forces the
 * PLAIN fallback inside a chunk) and every file is checked:
 *   - by DuckDB: the column types, the row count, the rows themselves compared inside DuckDB
 *     (EXCEPT ALL both ways, with the id column keeping the order) once as typed values and once
 *     as their VARCHAR renderings, because DuckDB's equality says NaN = NaN and -0.0 = 0.0 and
 *     the text does not; and each column chunk's statistics from parquet_metadata() against
 *     min / max / null count computed here (rendered by DuckDB from typed literals, so both sides
 *     print the same way);
 *   - by hyparquet (tests/node/hyparquet_stats.mjs): the raw statistics of every chunk, which
 *     DuckDB does not all show (it prints no infinite float min/max);
 *   - by arrow-rs (parquet-wasm, tests/node/arrow_read.mjs) for a subset: every row as
 *     canonical JSON, bit-exact for floats.
 * Page headers are walked (with storage/parquet_format.c, only to prove the options did what
 * they are for: many pages, many row groups, dictionary then PLAIN pages in one chunk).
 * Hand-built cases then pin the statistics rules random rows seldom reach (zero and NaN rules,
 * cuts at stats_max_len, nested null counts) and pages without values in gathered leaves.
 *
 * SMELTER_PQW_EXTRA_SEEDS=N adds N more random seeds (up to 3000 rows each) for a longer hunt.
 * Sanitized builds (ASan, or SMELTER_SANITIZED set) run half the seeds with fewer rows.
 *
 * The last tests drive the error paths: a failed write is sticky and close leaves no file and no
 * temporary (every write of a file is failed in turn through core/fault.h), the file is not
 * visible before close, an empty struct is refused, so is a batch of another schema.
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/durable.h"
#include "core/fault.h"
#include "storage/codec.h"
#include "storage/column.h"
#include "storage/parquet_format.h"
#include "storage/parquet_reader.h"
#include "storage/parquet_writer.h"
#include "tools/json_rows.h"
#include "sm_test.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif
#ifndef BUILT_WITH_ASAN
#define BUILT_WITH_ASAN 0
#endif

/* Sanitized builds run slower: fewer seeds and rows, same kinds of cases. */
static bool sanitized(void)
{
    return BUILT_WITH_ASAN || getenv("SMELTER_SANITIZED") != NULL;
}

#define MAX_PATH_DEPTH 32
#define MAX_LEAVES     512

/* ---- random numbers (splitmix64: one seed, one sequence) -------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd_below(rng *r, uint64_t n)
{
    return n ? rnd(r) % n : 0;
}

static int64_t rnd_range(rng *r, int64_t lo, int64_t hi) /* inclusive, hi - lo < 2^63 */
{
    return lo + (int64_t)rnd_below(r, (uint64_t)(hi - lo) + 1);
}

static bool chance(rng *r, double p)
{
    return (double)(rnd(r) >> 11) * 0x1.0p-53 < p;
}

/* ---- a growable string ------------------------------------------------------------------- */

typedef struct sb {
    char *p;
    size_t len, cap;
} sb;

static void sb_reserve(sb *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + extra + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
}

static void sb_put(sb *b, const void *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_free(sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void sb_hex(sb *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    sb_reserve(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->p[b->len++] = digits[p[i] >> 4];
        b->p[b->len++] = digits[p[i] & 15];
    }
    b->p[b->len] = 0;
}

/* ---- the model: schemas and values ------------------------------------------------------- */

/* One slot of a column, recursively. A null slot has no children. */
typedef struct tv {
    bool null;
    int n; /* STRUCT: fields; LIST: elements; MAP: 2 * entries (key, value, ...) */
    struct tv *kids;
    union {
        int64_t i;  /* BOOL, signed integers, DATE, TIMESTAMP_* */
        uint64_t u; /* unsigned integers */
        double d;   /* FLOAT (holding a float value) and DOUBLE */
        i128 dec;   /* DECIMAL: the unscaled value */
    };
    const uint8_t *b; /* STRING, BINARY, JSON, FIXED_BINARY */
    size_t len;
} tv;

/* How values of a field are generated; a tree parallel to the schema. */
typedef struct gnode {
    const sm_field *f;
    double null_p; /* chance of a null slot (0 when not nullable) */
    int max_len;   /* LIST / MAP: most elements per slot */
    int flavour;   /* byte arrays: 0 mixed, 1 few distinct values, 2 mostly long */
    int n_kids;    /* STRUCT: fields; LIST: the element; MAP: key, value */
    struct gnode *kids;
} gnode;

typedef struct model {
    sm_arena *a; /* schema, gnodes and values */
    rng r;
    sm_field *schema;
    gnode root;
    int n_rows;
    tv *rows; /* STRUCT values: kids are the top-level columns */
} model;

static void *model_alloc(model *m, size_t n)
{
    void *p = sm_arena_calloc(m->a, n ? n : 1);
    if (!p) {
        abort();
    }
    return p;
}

static const sm_type prim_types[] = {
    SM_BOOL,         SM_INT8,   SM_INT16,        SM_INT32,        SM_INT64,  SM_UINT8,  SM_UINT16,
    SM_UINT32,       SM_UINT64, SM_FLOAT,        SM_DOUBLE,       SM_STRING, SM_BINARY, SM_JSON,
    SM_FIXED_BINARY, SM_DATE,   SM_TIMESTAMP_MS, SM_TIMESTAMP_US, SM_DECIMAL};
#define N_PRIM_TYPES ((int)(sizeof prim_types / sizeof prim_types[0]))

static sm_field *decimal_in(model *m, const char *name, int lo, int hi, bool nullable)
{
    int p = (int)rnd_range(&m->r, lo, hi);
    int s = chance(&m->r, 0.2) ? 0 : chance(&m->r, 0.2) ? p : (int)rnd_range(&m->r, 0, p);
    return sm_field_decimal(m->a, name, p, s, nullable);
}

static sm_field *make_prim(model *m, const char *name, sm_type t, bool nullable)
{
    static const int widths[] = {1, 2, 3, 8, 16, 70};
    if (t == SM_DECIMAL) {
        return decimal_in(m, name, 1, 38, nullable);
    }
    if (t == SM_FIXED_BINARY) {
        return sm_field_fixed(m->a, name, widths[rnd_below(&m->r, 6)], nullable);
    }
    return sm_field_new(m->a, name, t, nullable);
}

static sm_field *make_key(model *m)
{
    static const sm_type keys[] = {SM_STRING, SM_INT32, SM_INT64};
    return sm_field_new(m->a, "key", keys[rnd_below(&m->r, 3)], false);
}

/* A random field: nested with some chance while depth allows. */
static sm_field *random_field(model *m, const char *name, int depth)
{
    bool nullable = chance(&m->r, 0.7);
    if (depth < 4 && chance(&m->r, depth == 0 ? 0.7 : 0.45)) {
        switch (rnd_below(&m->r, 3)) {
        case 0: {
            sm_field *kids[3];
            int n = 1 + (int)rnd_below(&m->r, 3);
            for (int i = 0; i < n; i++) {
                char nm[16];
                snprintf(nm, sizeof nm, "f%d", i);
                kids[i] = random_field(m, nm, depth + 1);
            }
            return sm_field_struct(m->a, name, kids, n, nullable);
        }
        case 1:
            return sm_field_list(m->a, name, random_field(m, "element", depth + 1), nullable);
        default:
            return sm_field_map(m->a, name, make_key(m), random_field(m, "value", depth + 1),
                                nullable);
        }
    }
    return make_prim(m, name, prim_types[rnd_below(&m->r, N_PRIM_TYPES)], nullable);
}

/* The nested shapes every seed cycles through (random nullability at each level). */
#define N_SHAPES 6
static sm_field *shape_field(model *m, int which, const char *name)
{
    rng *r = &m->r;
    sm_arena *a = m->a;
#define NB chance(r, 0.6)
    switch (which) {
    case 0: { /* list<struct<a: list<int32>, b: string>> */
        sm_field *k[2] = {sm_field_list(a, "a", sm_field_new(a, "element", SM_INT32, NB), NB),
                          sm_field_new(a, "b", SM_STRING, NB)};
        return sm_field_list(a, name, sm_field_struct(a, "element", k, 2, NB), NB);
    }
    case 1: { /* map<string, list<struct<x: int64, y: list<double>>>> */
        sm_field *k[2] = {sm_field_new(a, "x", SM_INT64, NB),
                          sm_field_list(a, "y", sm_field_new(a, "element", SM_DOUBLE, NB), NB)};
        sm_field *v = sm_field_list(a, "value", sm_field_struct(a, "element", k, 2, NB), NB);
        return sm_field_map(a, name, sm_field_new(a, "key", SM_STRING, false), v, NB);
    }
    case 2: { /* struct<s: struct<s: struct<v: decimal(38), w: list<date>, u: uint64>>> */
        sm_field *in[3] = {decimal_in(m, "v", 19, 38, NB),
                           sm_field_list(a, "w", sm_field_new(a, "element", SM_DATE, NB), NB),
                           sm_field_new(a, "u", SM_UINT64, NB)};
        sm_field *s3 = sm_field_struct(a, "s", in, 3, NB);
        sm_field *s2 = sm_field_struct(a, "s", &s3, 1, NB);
        return sm_field_struct(a, name, &s2, 1, NB);
    }
    case 3: { /* list<list<list<int16>>> */
        sm_field *l1 = sm_field_list(a, "element", sm_field_new(a, "element", SM_INT16, NB), NB);
        sm_field *l2 = sm_field_list(a, "element", l1, NB);
        return sm_field_list(a, name, l2, NB);
    }
    case 4: { /* map<int32, map<string, binary>> */
        sm_field *in = sm_field_map(a, "value", sm_field_new(a, "key", SM_STRING, false),
                                    sm_field_new(a, "value", SM_BINARY, NB), NB);
        return sm_field_map(a, name, sm_field_new(a, "key", SM_INT32, false), in, NB);
    }
    default: { /* list<struct<ts: timestamp_us, m: map<int64, float>, j: json>> */
        sm_field *k[3] = {sm_field_new(a, "ts", SM_TIMESTAMP_US, NB),
                          sm_field_map(a, "m", sm_field_new(a, "key", SM_INT64, false),
                                       sm_field_new(a, "value", SM_FLOAT, NB), NB),
                          sm_field_new(a, "j", SM_JSON, NB)};
        return sm_field_list(a, name, sm_field_struct(a, "element", k, 3, NB), NB);
    }
    }
#undef NB
}

/* Generation profile of field f (and below). */
static void gnode_build(model *m, gnode *g, const sm_field *f, int depth)
{
    static const double null_ratios[] = {0, 0, 0.02, 0.2, 0.5, 0.9, 1.0};
    static const int lens[] = {0, 2, 4, 4, 8, 25};
    g->f = f;
    g->null_p = f->nullable ? null_ratios[rnd_below(&m->r, 7)] : 0;
    g->max_len = depth >= 2 ? 3 : lens[rnd_below(&m->r, 6)];
    g->flavour = (int)rnd_below(&m->r, 3);
    if (f->type == SM_STRUCT) {
        g->n_kids = f->n_children;
        g->kids = model_alloc(m, sizeof *g->kids * (size_t)f->n_children);
        for (int i = 0; i < f->n_children; i++) {
            gnode_build(m, &g->kids[i], f->children[i], depth + 1);
        }
    } else if (f->type == SM_LIST) {
        g->n_kids = 1;
        g->kids = model_alloc(m, sizeof *g->kids);
        gnode_build(m, &g->kids[0], f->children[0], depth + 1);
    } else if (f->type == SM_MAP) {
        g->n_kids = 2;
        g->kids = model_alloc(m, sizeof *g->kids * 2);
        gnode_build(m, &g->kids[0], f->children[0]->children[0], depth + 1);
        gnode_build(m, &g->kids[1], f->children[0]->children[1], depth + 1);
    }
}

/* ---- values ------------------------------------------------------------------------------ */

/* Pieces of text: ASCII with both quotes; 2-, 3- and 4-byte UTF-8:
 * é ß € 日本 語 😀 🦀, U+0080, U+FFFD, U+10FFFF. */
/* clang-format off */
static const char *const text_pieces[] = {
    "a", "b", "m", "z", "A", "Q", "0", "7", " ", "-", "'", "\"",
    "\xc3\xa9", "\xc3\x9f", "\xe2\x82\xac", "\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e",
    "\xf0\x9f\x98\x80", "\xf0\x9f\xa6\x80", "\xc2\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"};
/* clang-format on */
#define N_TEXT_PIECES (sizeof text_pieces / sizeof text_pieces[0])

static void put_piece(rng *r, sb *out, bool json_safe)
{
    const char *p;
    do {
        p = text_pieces[rnd_below(r, N_TEXT_PIECES)];
    } while (json_safe && p[0] == '"');
    sb_puts(out, p);
}

/* UTF-8 text (no NUL, no backslash, no control characters), lengths biased by `flavour`:
 * empty, short, around the 64-byte statistics limit (with shared 64-byte prefixes), and longer
 * than a tiny page. */
static void gen_text(rng *r, int flavour, bool json_safe, sb *out)
{
    static const char *const few[] = {
        "", "alpha", "beta", "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80x"};
    int k = (int)rnd_below(r, 100);
    size_t target;
    if (flavour == 1 && k < 85) {
        sb_puts(out, few[rnd_below(r, 6)]);
        return;
    }
    if (flavour == 2 && k < 60) {
        target = 65 + rnd_below(r, 120);
    } else if (k < 10) {
        target = 0;
    } else if (k < 55) {
        target = 1 + rnd_below(r, 12);
    } else if (k < 75) {
        target = 55 + rnd_below(r, 80);
    } else if (k < 87) { /* a shared 64-byte prefix: truncated statistics tie */
        for (int i = 0; i < 32; i++) {
            sb_puts(out, k & 1 ? "\xc3\xa9" : "pp");
        }
        target = out->len + rnd_below(r, 6);
    } else if (k < 90) {
        target = 600 + rnd_below(r, 2000); /* longer than a 512-byte page */
    } else {
        target = 1;
    }
    while (out->len < target) {
        put_piece(r, out, json_safe);
    }
}

static void gen_json(rng *r, int flavour, sb *out)
{
    sb s = {0};
    switch (rnd_below(r, 8)) {
    case 0:
        gen_text(r, flavour, true, &s);
        sb_printf(out, "{\"k\":%d,\"s\":\"%s\"}", (int)rnd_range(r, -5, 5), s.p ? s.p : "");
        break;
    case 1:
        sb_printf(out, "[%d,%d,%d]", (int)rnd_below(r, 3), (int)rnd_below(r, 100), -7);
        break;
    case 2:
        gen_text(r, flavour, true, &s);
        sb_printf(out, "\"%s\"", s.p ? s.p : "");
        break;
    case 3:
        sb_printf(out, "%lld", (long long)rnd_range(r, -1000000, 1000000));
        break;
    case 4:
        sb_puts(out, "null"); /* JSON null text, not an SQL NULL */
        break;
    case 5:
        sb_puts(out, chance(r, 0.5) ? "true" : "{}");
        break;
    default:
        gen_text(r, 2, true, &s);
        sb_printf(out, "{\"long\":\"%s\"}", s.p ? s.p : "");
        break;
    }
    sb_free(&s);
}

static void gen_binary(rng *r, int flavour, sb *out)
{
    static const uint8_t few[][3] = {{0, 0, 0}, {1, 2, 3}, {0xff, 0xff, 0xff}, {0x7f, 0x80, 0}};
    int k = (int)rnd_below(r, 100);
    size_t n = 0;
    uint8_t fill = 0;
    bool random = true;
    if (flavour == 1 && k < 85) {
        int i = (int)rnd_below(r, 4);
        sb_put(out, few[i], 1 + (size_t)i % 3);
        return;
    }
    if (k < 10) {
        n = 0;
    } else if (k < 45) {
        n = 1 + rnd_below(r, 12);
    } else if (k < 60 || flavour == 2) {
        n = 55 + rnd_below(r, 80);
    } else if (k < 72) { /* a run of 0xff across the 64-byte cut, then other bytes */
        size_t run = 60 + rnd_below(r, 8);
        for (size_t i = 0; i < run; i++) {
            sb_put(out, "\xff", 1);
        }
        n = rnd_below(r, 4);
    } else if (k < 80) { /* all 0xff, longer than the limit: max cannot be rounded up */
        n = 65 + rnd_below(r, 40);
        fill = 0xff;
        random = false;
    } else if (k < 85) {
        n = 1 + rnd_below(r, 90);
        fill = 0;
        random = false;
    } else if (k < 88) {
        n = 600 + rnd_below(r, 2000);
    } else {
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = random ? (uint8_t)rnd(r) : fill;
        sb_put(out, &b, 1);
    }
}

static const uint8_t *keep(model *m, const sb *s, size_t *len)
{
    uint8_t *p = model_alloc(m, s->len);
    if (s->len) {
        memcpy(p, s->p, s->len);
    }
    *len = s->len;
    return p;
}

static i128 pow10_i128(int n)
{
    i128 v = 1;
    while (n-- > 0) {
        v *= 10;
    }
    return v;
}

static void gen_scalar(model *m, const gnode *g, tv *v)
{
    rng *r = &m->r;
    const sm_field *f = g->f;
    int pick = (int)rnd_below(r, 10); /* 0-1 extreme, 2-4 small (repeats), else random */
    switch (f->type) {
    case SM_BOOL:
        v->i = (int64_t)rnd_below(r, 2);
        break;
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64: {
        int bits = f->type == SM_INT8    ? 8
                   : f->type == SM_INT16 ? 16
                   : f->type == SM_INT32 ? 32
                                         : 64;
        int64_t lo = bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1));
        int64_t hi = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
        if (pick < 2) {
            int64_t ex[] = {lo, hi, 0, -1, 1};
            v->i = ex[rnd_below(r, 5)];
        } else if (pick < 5) {
            v->i = rnd_range(r, -10, 10);
        } else {
            uint64_t x = rnd(r);
            v->i = bits == 64 ? (int64_t)x : lo + (int64_t)(x % ((uint64_t)1 << bits));
        }
        break;
    }
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64: {
        int bits = f->type == SM_UINT8    ? 8
                   : f->type == SM_UINT16 ? 16
                   : f->type == SM_UINT32 ? 32
                                          : 64;
        uint64_t hi = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        if (pick < 2) {
            uint64_t ex[] = {0, hi, hi / 2 + 1, hi / 2}; /* the high bit: unsigned order */
            v->u = ex[rnd_below(r, 4)];
        } else if (pick < 5) {
            v->u = rnd_below(r, 20);
        } else {
            v->u = rnd(r) & hi;
        }
        break;
    }
    case SM_FLOAT: {
        static const float ex[] = {NAN,     INFINITY, -INFINITY,    -0.0f,        0.0f,
                                   FLT_MAX, -FLT_MAX, FLT_MIN,      FLT_TRUE_MIN, -FLT_TRUE_MIN,
                                   0.1f,    1.0f,     -16777216.0f, 3.40282e+38f};
        float x;
        if (pick < 2) {
            x = ex[rnd_below(r, sizeof ex / sizeof ex[0])];
        } else if (pick < 5) {
            x = (float)rnd_range(r, -10, 10) / 4;
        } else {
            uint32_t bits = (uint32_t)rnd(r);
            memcpy(&x, &bits, 4);
            if (isnan(x)) {
                x = 1.5f;
            }
        }
        v->d = x;
        break;
    }
    case SM_DOUBLE: {
        static const double ex[] = {
            NAN,     INFINITY,     -INFINITY,     -0.0, 0.0,   DBL_MAX, -DBL_MAX,
            DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 0.1,  1e300, -1e-300, 9007199254740993.0};
        double x;
        if (pick < 2) {
            x = ex[rnd_below(r, sizeof ex / sizeof ex[0])];
        } else if (pick < 5) {
            x = (double)rnd_range(r, -10, 10) / 8;
        } else if (pick < 8) {
            uint64_t bits = rnd(r);
            memcpy(&x, &bits, 8);
            if (isnan(x)) {
                x = -2.5;
            }
        } else {
            x = (double)rnd_range(r, -1000000, 1000000) / 1000;
        }
        v->d = x;
        break;
    }
    case SM_DATE: {
        static const int64_t ex[] = {
            0, -1, 1, -719528 /* 0001-01-01 */, 2932896 /* 9999-12-31 */, -2500000, 2500000};
        v->i = pick < 2   ? ex[rnd_below(r, 7)]
               : pick < 5 ? 19000 + rnd_range(r, 0, 5)
                          : rnd_range(r, -2500000, 2500000);
        break;
    }
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US: {
        /* DuckDB holds about 290000 years either side; stay within 9999 and ~6300 BC */
        static const int64_t ex[] = {0,
                                     -1,
                                     1,
                                     -260000000000000000LL,
                                     253402300799999999LL /* 9999-12-31 23:59:59.999999 */,
                                     -62135596800000000LL /* 0001-01-01 */,
                                     1700000000123456LL};
        int64_t us = pick < 2   ? ex[rnd_below(r, 7)]
                     : pick < 5 ? 1700000000000000LL + rnd_range(r, 0, 3) * 1000000
                                : rnd_range(r, -260000000000000000LL, 253402300799999999LL);
        v->i = f->type == SM_TIMESTAMP_MS ? us / 1000 : us;
        break;
    }
    case SM_DECIMAL: {
        i128 max = pow10_i128(f->precision) - 1;
        if (pick < 2) {
            i128 ex[] = {max, -max, 0, 1, -1};
            v->dec = ex[rnd_below(r, 5)];
        } else if (pick < 5) {
            v->dec = rnd_range(r, -10, 10);
            v->dec = v->dec > max ? max : v->dec < -max ? -max : v->dec;
        } else {
            int digits = 1 + (int)rnd_below(r, (uint64_t)f->precision);
            i128 x = 0;
            for (int i = 0; i < digits; i++) {
                x = x * 10 + (i128)rnd_below(r, 10);
            }
            v->dec = chance(r, 0.5) ? -x : x;
        }
        break;
    }
    case SM_STRING:
    case SM_JSON:
    case SM_BINARY: {
        sb s = {0};
        if (f->type == SM_STRING) {
            gen_text(r, g->flavour, false, &s);
        } else if (f->type == SM_JSON) {
            gen_json(r, g->flavour, &s);
        } else {
            gen_binary(r, g->flavour, &s);
        }
        v->b = keep(m, &s, &v->len);
        sb_free(&s);
        break;
    }
    case SM_FIXED_BINARY: {
        uint8_t *p = model_alloc(m, (size_t)f->width);
        int kind = pick < 2 ? (int)rnd_below(r, 2) : pick < 5 ? 2 : 3;
        for (int i = 0; i < f->width; i++) {
            p[i] = kind == 0   ? 0xff
                   : kind == 1 ? 0
                   : kind == 2 ? (uint8_t)(i == 0 ? rnd_below(r, 3) : 7)
                               : (uint8_t)rnd(r);
        }
        v->b = p;
        v->len = (size_t)f->width;
        break;
    }
    default:
        abort();
    }
}

/* Map key i of a map slot: unique within the slot (DuckDB refuses duplicate keys). */
static void gen_key(model *m, const gnode *g, tv *v, int i)
{
    rng *r = &m->r;
    if (g->f->type == SM_STRING) {
        sb s = {0};
        sb_printf(&s, "%d:", i);
        for (int k = (int)rnd_below(r, 3); k > 0; k--) {
            put_piece(r, &s, false);
        }
        v->b = keep(m, &s, &v->len);
        sb_free(&s);
    } else if (g->f->type == SM_INT32) {
        v->i = (int64_t)(i - 3) * 7919 + rnd_range(r, 0, 7918);
    } else {
        v->i = (int64_t)(i - 3) * ((int64_t)1 << 40) + rnd_range(r, 0, ((int64_t)1 << 40) - 1);
    }
}

static int pick_len(rng *r, const gnode *g)
{
    if (g->max_len == 0 || chance(r, 0.2)) {
        return 0;
    }
    return 1 + (int)rnd_below(r, (uint64_t)g->max_len);
}

static void gen_value(model *m, const gnode *g, tv *v)
{
    const sm_field *f = g->f;
    memset(v, 0, sizeof *v);
    if (f->nullable && chance(&m->r, g->null_p)) {
        v->null = true;
        return;
    }
    switch (f->type) {
    case SM_STRUCT:
        v->n = f->n_children;
        v->kids = model_alloc(m, sizeof *v->kids * (size_t)v->n);
        for (int i = 0; i < v->n; i++) {
            gen_value(m, &g->kids[i], &v->kids[i]);
        }
        break;
    case SM_LIST:
        v->n = pick_len(&m->r, g);
        v->kids = model_alloc(m, sizeof *v->kids * (size_t)v->n);
        for (int i = 0; i < v->n; i++) {
            gen_value(m, &g->kids[0], &v->kids[i]);
        }
        break;
    case SM_MAP: {
        int e = pick_len(&m->r, g);
        v->n = 2 * e;
        v->kids = model_alloc(m, sizeof *v->kids * (size_t)v->n);
        for (int i = 0; i < e; i++) {
            memset(&v->kids[2 * i], 0, sizeof(tv));
            gen_key(m, &g->kids[0], &v->kids[2 * i], i);
            gen_value(m, &g->kids[1], &v->kids[2 * i + 1]);
        }
        break;
    }
    default:
        gen_scalar(m, g, v);
    }
}

/*
 * A model for `seed`: an "id" column (the row number, keeps the order in set comparisons), one
 * column of every primitive type (three decimals: INT32, INT64 and FIXED_LEN_BYTE_ARRAY forms),
 * `n_shapes` of the fixed nested shapes and `n_random` random (possibly nested) fields.
 */
static void model_make(model *m, uint64_t seed, int n_rows, int n_shapes, int n_random)
{
    sm_field *cols[64];
    int n = 0;
    char name[16];

    memset(m, 0, sizeof *m);
    if (!(m->a = sm_arena_create(0, 0))) {
        abort();
    }
    m->r.s = seed * 0x2545f4914f6cdd1dULL + 1;
    cols[n++] = sm_field_new(m->a, "id", SM_INT64, false);
    for (int t = 0; t < N_PRIM_TYPES; t++) {
        snprintf(name, sizeof name, "c%d", n);
        if (prim_types[t] == SM_DECIMAL) {
            cols[n++] = decimal_in(m, name, 1, 9, chance(&m->r, 0.7));
            snprintf(name, sizeof name, "c%d", n);
            cols[n++] = decimal_in(m, name, 10, 18, chance(&m->r, 0.7));
            snprintf(name, sizeof name, "c%d", n);
            cols[n++] = decimal_in(m, name, 19, 38, chance(&m->r, 0.7));
        } else {
            cols[n++] = make_prim(m, name, prim_types[t], chance(&m->r, 0.7));
        }
    }
    for (int i = 0; i < n_shapes; i++) {
        snprintf(name, sizeof name, "c%d", n);
        cols[n++] = shape_field(m, (int)((seed + (uint64_t)i) % N_SHAPES), name);
    }
    for (int i = 0; i < n_random; i++) {
        snprintf(name, sizeof name, "c%d", n);
        cols[n++] = random_field(m, name, 0);
    }
    for (int i = 0; i < n; i++) {
        if (!cols[i]) {
            abort();
        }
    }
    m->schema = sm_field_struct(m->a, "schema", cols, n, false);
    gnode_build(m, &m->root, m->schema, -1);
    m->n_rows = n_rows;
    m->rows = model_alloc(m, sizeof *m->rows * (size_t)n_rows);
    for (int r = 0; r < n_rows; r++) {
        tv *row = &m->rows[r];
        row->n = n;
        row->kids = model_alloc(m, sizeof *row->kids * (size_t)n);
        row->kids[0].i = r;
        for (int c = 1; c < n; c++) {
            gen_value(m, &m->root.kids[c], &row->kids[c]);
        }
    }
}

static void model_free(model *m)
{
    sm_arena_destroy(m->a);
    memset(m, 0, sizeof *m);
}

/* A hand-built model: model_init, fields made in m->a, then model_rows gives n_rows rows of
 * the id column plus `cols`, every cell null; tests fill the cells they need. */
static void model_init(model *m)
{
    memset(m, 0, sizeof *m);
    if (!(m->a = sm_arena_create(0, 0))) {
        abort();
    }
}

static void model_rows(model *m, sm_field **cols, int n, int n_rows)
{
    sm_field *all[64];
    all[0] = sm_field_new(m->a, "id", SM_INT64, false);
    for (int i = 0; i < n; i++) {
        if (!cols[i]) {
            abort();
        }
        all[i + 1] = cols[i];
    }
    m->schema = sm_field_struct(m->a, "schema", all, n + 1, false);
    m->n_rows = n_rows;
    m->rows = model_alloc(m, sizeof *m->rows * (size_t)n_rows);
    for (int r = 0; r < n_rows; r++) {
        m->rows[r].n = n + 1;
        m->rows[r].kids = model_alloc(m, sizeof(tv) * (size_t)(n + 1));
        m->rows[r].kids[0].i = r;
        for (int c = 1; c <= n; c++) {
            m->rows[r].kids[c].null = true;
        }
    }
}

/* Cell (row r, column c) of a hand-built model; column 0 is the id. */
static tv *cell(model *m, int r, int c)
{
    tv *v = &m->rows[r].kids[c];
    v->null = false;
    return v;
}

static void set_bytes(model *m, tv *v, const void *p, size_t n)
{
    uint8_t *copy = model_alloc(m, n);
    if (n) {
        memcpy(copy, p, n);
    }
    v->b = copy;
    v->len = n;
}

/* ---- batches ----------------------------------------------------------------------------- */

static void le_bytes_i128(i128 v, uint8_t out[16])
{
    u128 u = (u128)v;
    for (int i = 0; i < 16; i++) {
        out[i] = (uint8_t)(u >> (8 * i));
    }
}

static int append_value(sm_arena *a, sm_column *c, const tv *v)
{
    const sm_field *f = c->field;
    if (v->null) {
        return sm_column_append_null(a, c);
    }
    switch (f->type) {
    case SM_STRUCT:
        if (sm_column_append_valid(a, c)) {
            return -1;
        }
        for (int i = 0; i < v->n; i++) {
            if (append_value(a, c->children[i], &v->kids[i])) {
                return -1;
            }
        }
        return 0;
    case SM_LIST:
        for (int i = 0; i < v->n; i++) {
            if (append_value(a, c->children[0], &v->kids[i])) {
                return -1;
            }
        }
        return sm_column_list_end(a, c);
    case SM_MAP: {
        sm_column *e = c->children[0];
        for (int i = 0; i < v->n; i += 2) {
            if (sm_column_append_valid(a, e) || append_value(a, e->children[0], &v->kids[i]) ||
                append_value(a, e->children[1], &v->kids[i + 1])) {
                return -1;
            }
        }
        return sm_column_list_end(a, c);
    }
    case SM_BOOL: {
        uint8_t b = (uint8_t)v->i;
        return sm_column_append_fixed(a, c, &b);
    }
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        return sm_column_append_i64(a, c, (int64_t)v->u);
    case SM_FLOAT:
    case SM_DOUBLE:
        return sm_column_append_f64(a, c, v->d);
    case SM_DECIMAL:
        if (f->width == 16) {
            uint8_t le[16];
            le_bytes_i128(v->dec, le);
            return sm_column_append_fixed(a, c, le);
        }
        return sm_column_append_i64(a, c, (int64_t)v->dec);
    case SM_STRING:
    case SM_BINARY:
    case SM_JSON:
        return sm_column_append_bytes(a, c, v->b, v->len);
    case SM_FIXED_BINARY:
        return sm_column_append_fixed(a, c, v->b);
    default:
        return sm_column_append_i64(a, c, v->i);
    }
}

/* The model's rows rows[0..n) as a batch in a fresh arena (the caller destroys it). */
static sm_column *make_batch_of(const model *m, const int *rows, int n, sm_arena **arena)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_column *b = a ? sm_column_new(a, m->schema, n) : NULL;
    if (!b) {
        abort();
    }
    for (int i = 0; i < n; i++) {
        if (sm_column_append_valid(a, b)) {
            abort();
        }
        for (int c = 0; c < m->schema->n_children; c++) {
            if (append_value(a, b->children[c], &m->rows[rows[i]].kids[c])) {
                abort();
            }
        }
    }
    *arena = a;
    return b;
}

/* Rows [r0, r1) as a batch in a fresh arena (the caller destroys it). */
static sm_column *make_batch(const model *m, int r0, int r1, sm_arena **arena)
{
    int *rows = malloc(sizeof *rows * (size_t)(r1 - r0 + 1));
    sm_column *b;
    if (!rows) {
        abort();
    }
    for (int r = r0; r < r1; r++) {
        rows[r - r0] = r;
    }
    b = make_batch_of(m, rows, r1 - r0, arena);
    free(rows);
    return b;
}

/* Writes rows [r0, r1) through pq_writer_write_sel: the batch holds them backwards with other
 * rows of the model between them, and the selection picks them out in order. */
static int write_through_selection(pq_writer *w, const model *m, int r0, int r1, sm_error *err)
{
    int n = r1 - r0, len = 0, rc;
    int *rows = malloc(sizeof *rows * (size_t)(2 * n + 1));
    int64_t *sel = malloc(sizeof *sel * (size_t)(n + 1));
    sm_arena *a;
    sm_column *b;
    if (!rows || !sel) {
        abort();
    }
    for (int r = r1 - 1; r >= r0; r--) {
        if (r % 3 != 1) { /* a row that is not written */
            rows[len++] = (int)(((int64_t)r * 7 + 3) % m->n_rows);
        }
        sel[r - r0] = len;
        rows[len++] = r;
    }
    b = make_batch_of(m, rows, len, &a);
    rc = pq_writer_write_sel(w, b, sel, n, err);
    sm_arena_destroy(a);
    free(rows);
    free(sel);
    return rc;
}

/* Writes the model's rows in `n_batches` writes, through selections when `sel`. Returns 0 or
 * the first error (in err). */
static int write_model(const model *m, const char *path, const pq_writer_opts *o, int n_batches,
                       bool sel, pq_file_info *info, sm_error *err)
{
    pq_writer *w;
    int rc = pq_writer_open(path, m->schema, o, &w, err);
    if (rc) {
        return rc;
    }
    for (int k = 0; k < n_batches; k++) {
        int r0 = (int)((int64_t)m->n_rows * k / n_batches);
        int r1 = (int)((int64_t)m->n_rows * (k + 1) / n_batches);
        if (sel) {
            rc = write_through_selection(w, m, r0, r1, err);
        } else {
            sm_arena *a;
            sm_column *b = make_batch(m, r0, r1, &a);
            rc = pq_writer_write(w, b, err);
            sm_arena_destroy(a); /* the writer copies what it keeps */
        }
        if (rc) {
            pq_writer_abort(w);
            return rc;
        }
    }
    return pq_writer_close(w, info, err);
}

/* ---- our own reader ---------------------------------------------------------------------- */

/* Reads `path` back with storage/parquet_reader and compares every row, rendered by
 * tools/json_rows, with the same row of the batch that was written. Returns mismatches. */
static int check_with_our_reader(const model *m, const char *path)
{
    sm_arena *a, *ra;
    sm_column *want = make_batch(m, 0, m->n_rows, &a);
    pq_reader *r;
    sm_error err;
    sm_buf x = SM_BUF_INIT, y = SM_BUF_INIT;
    int64_t row = 0;
    int bad = 0;

    if (pq_reader_open(path, &r, &err) != SM_OK) {
        fprintf(stderr, "\n%s: our reader: %s\n", path, err.msg);
        sm_arena_destroy(a);
        return 1;
    }
    ra = sm_arena_create(0, 0);
    for (int g = 0; g < pq_reader_num_row_groups(r) && !bad; g++) {
        sm_column *got;
        if (pq_reader_read_row_group(r, g, NULL, 0, ra, &got, &err) != SM_OK) {
            fprintf(stderr, "\n%s: our reader, row group %d: %s\n", path, g, err.msg);
            bad++;
            break;
        }
        for (int64_t i = 0; i < got->length && !bad; i++, row++) {
            sm_buf_reset(&x);
            sm_buf_reset(&y);
            json_row_append(got, i, &x, NULL);
            json_row_append(want, row, &y, NULL);
            if (row >= want->length || x.len != y.len || memcmp(x.data, y.data, x.len) != 0) {
                fprintf(stderr, "\n%s row %lld: our reader %.*s\n  written %.*s\n", path,
                        (long long)row, (int)x.len, (const char *)x.data, (int)y.len,
                        (const char *)y.data);
                bad++;
            }
        }
        sm_arena_reset(ra);
    }
    if (!bad && row != want->length) {
        fprintf(stderr, "\n%s: our reader gave %lld rows, %lld written\n", path, (long long)row,
                (long long)want->length);
        bad++;
    }
    sm_buf_free(&x);
    sm_buf_free(&y);
    sm_arena_destroy(ra);
    sm_arena_destroy(a);
    pq_reader_close(r);
    return bad;
}

/* ---- SQL for DuckDB ---------------------------------------------------------------------- */

static void sql_type(sb *b, const sm_field *f)
{
    switch (f->type) {
    case SM_BOOL:
        sb_puts(b, "BOOLEAN");
        break;
    case SM_INT8:
        sb_puts(b, "TINYINT");
        break;
    case SM_INT16:
        sb_puts(b, "SMALLINT");
        break;
    case SM_INT32:
        sb_puts(b, "INTEGER");
        break;
    case SM_INT64:
        sb_puts(b, "BIGINT");
        break;
    case SM_UINT8:
        sb_puts(b, "UTINYINT");
        break;
    case SM_UINT16:
        sb_puts(b, "USMALLINT");
        break;
    case SM_UINT32:
        sb_puts(b, "UINTEGER");
        break;
    case SM_UINT64:
        sb_puts(b, "UBIGINT");
        break;
    case SM_FLOAT:
        sb_puts(b, "FLOAT");
        break;
    case SM_DOUBLE:
        sb_puts(b, "DOUBLE");
        break;
    case SM_STRING:
        sb_puts(b, "VARCHAR");
        break;
    case SM_JSON:
        sb_puts(b, "JSON");
        break;
    case SM_BINARY:
    case SM_FIXED_BINARY:
        sb_puts(b, "BLOB");
        break;
    case SM_DATE:
        sb_puts(b, "DATE");
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        /* isAdjustedToUTC: DuckDB reads TIMESTAMP WITH TIME ZONE */
        sb_puts(b, "TIMESTAMPTZ");
        break;
    case SM_DECIMAL:
        sb_printf(b, "DECIMAL(%d,%d)", f->precision, f->scale);
        break;
    case SM_STRUCT:
        sb_puts(b, "STRUCT(");
        for (int i = 0; i < f->n_children; i++) {
            sb_printf(b, "%s\"%s\" ", i ? ", " : "", f->children[i]->name);
            sql_type(b, f->children[i]);
        }
        sb_puts(b, ")");
        break;
    case SM_LIST:
        sql_type(b, f->children[0]);
        sb_puts(b, "[]");
        break;
    case SM_MAP:
        sb_puts(b, "MAP(");
        sql_type(b, f->children[0]->children[0]);
        sb_puts(b, ", ");
        sql_type(b, f->children[0]->children[1]);
        sb_puts(b, ")");
        break;
    default:
        abort();
    }
}

static void sql_string(sb *b, const uint8_t *p, size_t n)
{
    sb_put(b, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\'') {
            sb_put(b, "''", 2);
        } else {
            sb_put(b, &p[i], 1);
        }
    }
    sb_put(b, "'", 1);
}

static void sql_blob(sb *b, const uint8_t *p, size_t n)
{
    sb_puts(b, "from_hex('");
    sb_hex(b, p, n);
    sb_puts(b, "')");
}

/* The digits of an unscaled decimal with the point put in. */
static void decimal_text(char *out, i128 v, int scale)
{
    char digits[64];
    int n = 0, k = 0;
    u128 u = v < 0 ? (u128)0 - (u128)v : (u128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale) {
        digits[n++] = '0';
    }
    if (v < 0) {
        out[k++] = '-';
    }
    for (int i = n - 1; i >= 0; i--) {
        out[k++] = digits[i];
        if (i == scale && scale > 0) {
            out[k++] = '.';
        }
    }
    out[k] = 0;
}

static void float_text(char *out, size_t n, double d, bool is_float)
{
    if (isnan(d)) {
        snprintf(out, n, "nan");
    } else if (isinf(d)) {
        snprintf(out, n, d < 0 ? "-inf" : "inf");
    } else {
        snprintf(out, n, is_float ? "%.9g" : "%.17g", d); /* round-trips the value */
    }
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* A date as DuckDB prints it: "2024-02-29", "0044-03-15 (BC)" (year 0 is 1 BC). */
static void date_text(char *out, size_t n, int64_t days)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, n, "%04lld-%02d-%02d%s", (long long)(y > 0 ? y : 1 - y), m, d,
             y > 0 ? "" : " (BC)");
}

/* Microseconds since the epoch as DuckDB prints a TIMESTAMPTZ in UTC. */
static void timestamp_text(char *out, size_t n, int64_t us)
{
    int64_t days = us / 86400000000LL, rest = us % 86400000000LL;
    char date[48];
    if (rest < 0) {
        rest += 86400000000LL;
        days--;
    }
    date_text(date, sizeof date, days);
    snprintf(out, n, "%s %02d:%02d:%02d.%06d+00", date, (int)(rest / 3600000000LL),
             (int)(rest / 60000000 % 60), (int)(rest / 1000000 % 60), (int)(rest % 1000000));
}

/* A literal of value v of field f, for a row of the expected table: scalars are bare numbers
 * or strings that the INSERT casts to the column's type (casts and functions per value make
 * DuckDB's parsing several times slower). */
static void sql_value(sb *b, const sm_field *f, const tv *v)
{
    char t[96];
    if (v->null) {
        sb_puts(b, "NULL");
        return;
    }
    switch (f->type) {
    case SM_BOOL:
        sb_puts(b, v->i ? "true" : "false");
        break;
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
        sb_printf(b, "%lld", (long long)v->i);
        break;
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        sb_printf(b, "%llu", (unsigned long long)v->u);
        break;
    case SM_FLOAT:
    case SM_DOUBLE:
        if (isfinite(v->d) && !(v->d == 0 && signbit(v->d))) {
            /* a DOUBLE literal of every digit: exact, also for floats (cast on insert) */
            sb_printf(b, "%.17e", v->d);
        } else {
            float_text(t, sizeof t, v->d, false);
            sb_printf(b, "'%s'::DOUBLE", v->d == 0 ? "-0.0" : t);
        }
        break;
    case SM_STRING:
    case SM_JSON:
        sql_string(b, v->b, v->len);
        break;
    case SM_BINARY:
    case SM_FIXED_BINARY: /* the blob notation, cast on insert */
        sb_puts(b, "'");
        for (size_t i = 0; i < v->len; i++) {
            sb_printf(b, "\\x%02X", v->b[i]);
        }
        sb_puts(b, "'");
        break;
    case SM_DATE:
        date_text(t, sizeof t, v->i);
        sb_printf(b, "'%s'", t);
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        timestamp_text(t, sizeof t, f->type == SM_TIMESTAMP_MS ? v->i * 1000 : v->i);
        sb_printf(b, "'%s'", t);
        break;
    case SM_DECIMAL:
        decimal_text(t, v->dec, f->scale);
        sb_printf(b, "'%s'", t);
        break;
    case SM_STRUCT:
        sb_puts(b, "{");
        for (int i = 0; i < v->n; i++) {
            sb_printf(b, "%s'%s': ", i ? ", " : "", f->children[i]->name);
            sql_value(b, f->children[i], &v->kids[i]);
        }
        sb_puts(b, "}");
        break;
    case SM_LIST:
        sb_puts(b, "[");
        for (int i = 0; i < v->n; i++) {
            if (i) {
                sb_puts(b, ", ");
            }
            sql_value(b, f->children[0], &v->kids[i]);
        }
        sb_puts(b, "]");
        break;
    case SM_MAP:
        sb_puts(b, "MAP {");
        for (int i = 0; i < v->n; i += 2) {
            if (i) {
                sb_puts(b, ", ");
            }
            sql_value(b, f->children[0]->children[0], &v->kids[i]);
            sb_puts(b, ": ");
            sql_value(b, f->children[0]->children[1], &v->kids[i + 1]);
        }
        sb_puts(b, "}");
        break;
    default:
        abort();
    }
}

/* CREATE TABLE e (the expected rows) and its INSERTs, in statements of at most 200 rows. */
static void sql_expected_table(sb *b, const model *m, const char *table)
{
    const sm_field *s = m->schema;
    sb_printf(b, "CREATE TABLE %s (", table);
    for (int c = 0; c < s->n_children; c++) {
        sb_printf(b, "%s\"%s\" ", c ? ", " : "", s->children[c]->name);
        sql_type(b, s->children[c]);
    }
    sb_puts(b, ");\n");
    for (int r = 0; r < m->n_rows; r++) {
        sb_printf(b, r % 200 ? ",\n(" : "INSERT INTO %s VALUES\n(", table);
        for (int c = 0; c < s->n_children; c++) {
            if (c) {
                sb_puts(b, ", ");
            }
            sql_value(b, s->children[c], &m->rows[r].kids[c]);
        }
        sb_puts(b, ")");
        if (r % 200 == 199 || r == m->n_rows - 1) {
            sb_puts(b, ";\n");
        }
    }
}

/* ---- statistics -------------------------------------------------------------------------- */

/* A leaf column: the fields from a top-level column down to a primitive. At a MAP, the next
 * field is its key (pick 0) or value (pick 1), the entries struct skipped. */
typedef struct leaf_path {
    int top;
    int depth;
    const sm_field *f[MAX_PATH_DEPTH];
    int pick[MAX_PATH_DEPTH];
} leaf_path;

static void collect_leaves(const sm_field *f, leaf_path *cur, int k, leaf_path *out, int *n)
{
    if (k >= MAX_PATH_DEPTH || *n >= MAX_LEAVES) {
        abort();
    }
    cur->f[k] = f;
    switch (f->type) {
    case SM_STRUCT:
        for (int i = 0; i < f->n_children; i++) {
            cur->pick[k] = i;
            collect_leaves(f->children[i], cur, k + 1, out, n);
        }
        break;
    case SM_LIST:
        cur->pick[k] = 0;
        collect_leaves(f->children[0], cur, k + 1, out, n);
        break;
    case SM_MAP:
        for (int i = 0; i < 2; i++) {
            cur->pick[k] = i;
            collect_leaves(f->children[0]->children[i], cur, k + 1, out, n);
        }
        break;
    default:
        cur->depth = k + 1;
        out[(*n)++] = *cur;
    }
}

typedef struct chunk_stat {
    int64_t nulls; /* level entries without a value: null leaf, null ancestor, empty list */
    bool has;      /* min / max over the values (NaN left out) */
    const tv *mn, *mx;
} chunk_stat;

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al > bl) - (al < bl);
}

/* The column's sort order (parquet.thrift ColumnOrder TYPE_DEFINED). */
static int cmp_values(const sm_field *f, const tv *a, const tv *b)
{
    switch (f->type) {
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        return (a->u > b->u) - (a->u < b->u);
    case SM_FLOAT:
    case SM_DOUBLE:
        return (a->d > b->d) - (a->d < b->d);
    case SM_DECIMAL:
        return (a->dec > b->dec) - (a->dec < b->dec);
    case SM_STRING:
    case SM_BINARY:
    case SM_JSON:
    case SM_FIXED_BINARY:
        return cmp_bytes(a->b, a->len, b->b, b->len);
    default:
        return (a->i > b->i) - (a->i < b->i);
    }
}

static void stat_walk(const leaf_path *lp, int k, const tv *v, chunk_stat *st)
{
    const sm_field *f = lp->f[k];
    if (v->null) {
        st->nulls++;
        return;
    }
    switch (f->type) {
    case SM_STRUCT:
        stat_walk(lp, k + 1, &v->kids[lp->pick[k]], st);
        return;
    case SM_LIST:
    case SM_MAP:
        if (v->n == 0) {
            st->nulls++;
            return;
        }
        if (f->type == SM_LIST) {
            for (int i = 0; i < v->n; i++) {
                stat_walk(lp, k + 1, &v->kids[i], st);
            }
        } else {
            for (int i = 0; i < v->n; i += 2) {
                stat_walk(lp, k + 1, &v->kids[i + lp->pick[k]], st);
            }
        }
        return;
    default:
        if ((f->type == SM_FLOAT || f->type == SM_DOUBLE) && isnan(v->d)) {
            return; /* a value, not a null, but outside min/max */
        }
        if (!st->has) {
            st->has = true;
            st->mn = st->mx = v;
        } else {
            if (cmp_values(f, v, st->mn) < 0) {
                st->mn = v;
            }
            if (cmp_values(f, v, st->mx) > 0) {
                st->mx = v;
            }
        }
    }
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

/* The bytes of a BYTE_ARRAY min (or max) statistic, malloc'ed: values longer than max_len are
 * cut to the prefix (min) or to the prefix with its last byte that is not 0xff incremented
 * (max; a prefix of only 0xff bytes keeps the whole value, exact). *exact: not cut. */
static uint8_t *stat_bytes(const tv *v, bool is_max, size_t max_len, size_t *n, bool *exact)
{
    uint8_t *p = malloc(v->len ? v->len : 1);
    if (!p) {
        abort();
    }
    memcpy(p, v->b, v->len);
    *n = v->len;
    *exact = true;
    if (max_len && v->len > max_len) {
        size_t k = max_len;
        if (!is_max) {
            *n = max_len;
            *exact = false;
            return p;
        }
        while (k > 0 && p[k - 1] == 0xff) {
            k--;
        }
        if (k > 0) {
            p[k - 1]++;
            *n = k;
            *exact = false;
        }
    }
    return p;
}

/*
 * An SQL expression for how DuckDB's parquet_metadata() prints a min (or max) statistic: the
 * value as a typed literal cast to VARCHAR, so both sides are printed by DuckDB. *exact gets
 * the expected is_{min,max}_value_exact ("NULL" when the writer does not set it: every type but
 * BYTE_ARRAY).
 *
 * Per type: floats use the spec's zero rule (a zero min is -0.0, a zero max +0.0); an infinite
 * min or max prints as NULL because DuckDB does not turn non-finite float statistics into
 * values (the bytes in the file are right: checked with hyparquet and the footer). BYTE_ARRAY
 * values longer than stats_max_len: the min is the prefix, the max the prefix with its last
 * byte that is not 0xff incremented (all 0xff: the whole value, exact). DuckDB prints a
 * statistic of a string column that is not valid UTF-8 (a prefix cut inside a character) in
 * the blob notation, like a BLOB cast to VARCHAR; so does the expected side.
 */
static void sql_stat(sb *b, const sm_field *f, const tv *v, bool is_max, size_t max_len,
                     const char **exact)
{
    char t[96];
    *exact = "NULL";
    switch (f->type) {
    case SM_BOOL:
        sb_puts(b, v->i ? "'true'" : "'false'");
        break;
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
        sb_printf(b, "'%lld'", (long long)v->i);
        break;
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        sb_printf(b, "'%llu'", (unsigned long long)v->u);
        break;
    case SM_FLOAT:
    case SM_DOUBLE: {
        double d = v->d;
        if (isinf(d)) {
            sb_puts(b, "NULL");
            break;
        }
        if (d == 0) {
            d = is_max ? 0.0 : -0.0;
        }
        float_text(t, sizeof t, d, f->type == SM_FLOAT);
        sb_printf(b, "CAST('%s'::%s AS VARCHAR)", t, f->type == SM_FLOAT ? "FLOAT" : "DOUBLE");
        break;
    }
    case SM_STRING:
    case SM_JSON:
    case SM_BINARY: {
        size_t n;
        bool ex;
        uint8_t *p = stat_bytes(v, is_max, max_len, &n, &ex);
        if (f->type != SM_BINARY && utf8_valid(p, n)) {
            sql_string(b, p, n);
        } else {
            sb_puts(b, "CAST(");
            sql_blob(b, p, n);
            sb_puts(b, " AS VARCHAR)");
        }
        *exact = ex ? "true" : "false";
        free(p);
        break;
    }
    case SM_FIXED_BINARY:
        sb_puts(b, "CAST(");
        sql_blob(b, v->b, v->len);
        sb_puts(b, " AS VARCHAR)");
        break;
    case SM_DATE:
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
    case SM_DECIMAL:
        sb_puts(b, "CAST(CAST(");
        sql_value(b, f, v);
        sb_puts(b, " AS ");
        sql_type(b, f);
        sb_puts(b, ") AS VARCHAR)");
        break;
    default:
        abort();
    }
}

/* ---- files and their footers ------------------------------------------------------------- */

typedef struct file_facts {
    int n_groups;
    int64_t group_rows[4096];
    int max_data_pages;   /* most data pages in one column chunk */
    bool dict_then_plain; /* some chunk has dictionary-encoded pages and later PLAIN ones */
    bool ok;
} file_facts;

/* Row group sizes and page facts, from the footer and the page headers (our own parser: only to
 * know where row groups start and that the options took effect; DuckDB checks the row counts
 * against what it reads). */
static void read_facts(const char *path, file_facts *ff)
{
    char *data = NULL;
    size_t len = 0;
    uint32_t footer_len;
    pf_file_metadata *md = NULL;
    sm_error err = {0};

    memset(ff, 0, sizeof *ff);
    if (sm_read_file(path, (size_t)1 << 30, &data, &len, &err) || len < 12 + PF_TAIL_LEN ||
        pf_parse_tail((const uint8_t *)data + len - PF_TAIL_LEN, &footer_len, &err) ||
        footer_len > len - PF_TAIL_LEN - 4 ||
        pf_read_file_metadata((const uint8_t *)data + len - PF_TAIL_LEN - footer_len, footer_len,
                              &md, &err)) {
        fprintf(stderr, "%s: footer: %s\n", path, err.msg);
        free(data);
        return;
    }
    ff->n_groups = md->n_row_groups;
    for (int g = 0; g < md->n_row_groups && g < 4096; g++) {
        const pf_row_group *rg = &md->row_groups[g];
        ff->group_rows[g] = rg->num_rows;
        for (int c = 0; c < rg->n_columns; c++) {
            const pf_column_meta_data *cm = rg->columns[c].meta_data;
            int64_t pos =
                cm->has_dictionary_page_offset ? cm->dictionary_page_offset : cm->data_page_offset;
            int64_t end = pos + cm->total_compressed_size;
            int pages = 0;
            bool seen_dict = false;
            while (pos < end && end <= (int64_t)len) {
                pf_page_header h;
                size_t hl;
                int32_t enc = -1;
                if (pf_read_page_header((const uint8_t *)data + pos, (size_t)(end - pos), &h, &hl,
                                        &err)) {
                    fprintf(stderr, "%s: page header: %s\n", path, err.msg);
                    break;
                }
                if (h.type == PF_PAGE_DATA) {
                    enc = h.data_page_header.encoding;
                } else if (h.type == PF_PAGE_DATA_V2) {
                    enc = h.data_page_header_v2.encoding;
                }
                if (enc >= 0) {
                    pages++;
                    if (enc == PF_ENC_RLE_DICTIONARY || enc == PF_ENC_PLAIN_DICTIONARY) {
                        seen_dict = true;
                    } else if (enc == PF_ENC_PLAIN && seen_dict) {
                        ff->dict_then_plain = true;
                    }
                }
                pos += (int64_t)hl + h.compressed_page_size;
            }
            if (pages > ff->max_data_pages) {
                ff->max_data_pages = pages;
            }
        }
    }
    ff->ok = md->n_row_groups <= 4096;
    pf_file_metadata_free(md);
    free(data);
}

/* What one column chunk's statistics must say. */
typedef struct chunk_expect {
    int rg, col;
    int64_t rows;
    const sm_field *leaf;
    chunk_stat st;
} chunk_expect;

/* The expected statistics of every column chunk of a file whose row groups hold
 * ff->group_rows[] rows; *n_out chunks, malloc'ed. */
static chunk_expect *expected_chunks(const model *m, const file_facts *ff, int *n_out)
{
    static leaf_path leaves[MAX_LEAVES];
    leaf_path cur;
    int n_leaves = 0, n = 0;
    int64_t row0 = 0;
    chunk_expect *out;

    for (int c = 0; c < m->schema->n_children; c++) {
        int before = n_leaves;
        memset(&cur, 0, sizeof cur);
        collect_leaves(m->schema->children[c], &cur, 0, leaves, &n_leaves);
        for (int i = before; i < n_leaves; i++) {
            leaves[i].top = c;
        }
    }
    out = calloc((size_t)(ff->n_groups * n_leaves) + 1, sizeof *out);
    if (!out) {
        abort();
    }
    for (int g = 0; g < ff->n_groups; g++) {
        int64_t row1 = row0 + ff->group_rows[g];
        for (int l = 0; l < n_leaves; l++) {
            const leaf_path *lp = &leaves[l];
            chunk_expect *ce = &out[n++];
            ce->rg = g;
            ce->col = l;
            ce->rows = row1 - row0;
            ce->leaf = lp->f[lp->depth - 1];
            for (int64_t r = row0; r < row1 && r < m->n_rows; r++) {
                stat_walk(lp, 0, &m->rows[r].kids[lp->top], &ce->st);
            }
        }
        row0 = row1;
    }
    *n_out = n;
    return out;
}

/* The expected parquet_metadata() rows of one file: a table st<k>. */
static void sql_expected_stats(sb *b, const chunk_expect *ce, int n, size_t max_len, int k)
{
    sb_printf(b,
              "CREATE TABLE st%d (rg BIGINT, col BIGINT, nrows BIGINT, mn VARCHAR, mx VARCHAR, "
              "nulls BIGINT, mn_exact BOOLEAN, mx_exact BOOLEAN);\n",
              k);
    for (int i = 0; i < n; i++) {
        const char *mn_exact = "NULL", *mx_exact = "NULL";
        if (i) {
            sb_puts(b, ",\n");
        } else {
            sb_printf(b, "INSERT INTO st%d VALUES\n", k);
        }
        sb_printf(b, "(%d, %d, %lld, ", ce[i].rg, ce[i].col, (long long)ce[i].rows);
        if (ce[i].st.has) {
            sql_stat(b, ce[i].leaf, ce[i].st.mn, false, max_len, &mn_exact);
            sb_puts(b, ", ");
            sql_stat(b, ce[i].leaf, ce[i].st.mx, true, max_len, &mx_exact);
        } else {
            sb_puts(b, "NULL, NULL");
        }
        sb_printf(b, ", %lld, %s, %s)", (long long)ce[i].st.nulls, mn_exact, mx_exact);
    }
    if (n) {
        sb_puts(b, ";\n");
    }
}

/* A min or max in hyparquet_stats.mjs's raw form. */
static json_t *canon_stat(const sm_field *f, const tv *v, bool is_max, size_t max_len,
                          json_t **exact)
{
    char t[64];
    *exact = json_null();
    switch (f->type) {
    case SM_BOOL:
        return json_boolean(v->i);
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        snprintf(t, sizeof t, "%llu", (unsigned long long)v->u);
        return json_string(t);
    case SM_FLOAT:
    case SM_DOUBLE: {
        double d = v->d == 0 ? (is_max ? 0.0 : -0.0) : v->d; /* the zero rule */
        if (f->type == SM_FLOAT) {
            float x = (float)d;
            uint32_t bits;
            memcpy(&bits, &x, 4);
            snprintf(t, sizeof t, "f32:%08x", bits);
        } else {
            uint64_t bits;
            memcpy(&bits, &d, 8);
            snprintf(t, sizeof t, "f64:%016llx", (unsigned long long)bits);
        }
        return json_string(t);
    }
    case SM_DECIMAL:
        return json_string("decimal");
    case SM_STRING:
    case SM_JSON:
    case SM_BINARY: {
        size_t n;
        bool ex;
        sb h = {0};
        uint8_t *p = stat_bytes(v, is_max, max_len, &n, &ex);
        json_t *j;
        sb_hex(&h, p, n);
        j = json_string(h.p ? h.p : "");
        json_decref(*exact);
        *exact = json_boolean(ex);
        sb_free(&h);
        free(p);
        return j;
    }
    case SM_FIXED_BINARY: {
        sb h = {0};
        json_t *j;
        sb_hex(&h, v->b, v->len);
        j = json_string(h.p ? h.p : "");
        sb_free(&h);
        return j;
    }
    default: /* signed integers, dates, timestamps in the unit stored */
        snprintf(t, sizeof t, "%lld", (long long)v->i);
        return json_string(t);
    }
}

/* Compares hyparquet's reading of a file's statistics with the expected chunks. */
static bool hyparquet_stats_match(const json_t *doc, const chunk_expect *ce, int n, size_t max_len,
                                  const char *what)
{
    json_t *chunks = json_object_get(doc, "chunks");
    int bad = 0;
    if (!json_is_array(chunks)) {
        fprintf(stderr, "%s: hyparquet could not read it: %s\n", what,
                json_string_value(json_object_get(doc, "error")));
        return false;
    }
    if ((int)json_array_size(chunks) != n) {
        fprintf(stderr, "%s: hyparquet sees %zu column chunks, expected %d\n", what,
                json_array_size(chunks), n);
        return false;
    }
    for (int i = 0; i < n && bad < 5; i++) {
        json_t *mn_exact, *mx_exact, *want;
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)ce[i].st.nulls);
        if (ce[i].st.has) {
            json_t *mn = canon_stat(ce[i].leaf, ce[i].st.mn, false, max_len, &mn_exact);
            json_t *mx = canon_stat(ce[i].leaf, ce[i].st.mx, true, max_len, &mx_exact);
            want = json_pack("[i, i, o, o, s, o, o]", ce[i].rg, ce[i].col, mn, mx, t, mn_exact,
                             mx_exact);
        } else {
            want = json_pack("[i, i, n, n, s, n, n]", ce[i].rg, ce[i].col, t);
        }
        if (!json_equal(want, json_array_get(chunks, (size_t)i))) {
            char *w = json_dumps(want, JSON_COMPACT);
            char *h = json_dumps(json_array_get(chunks, (size_t)i), JSON_COMPACT);
            fprintf(stderr, "%s: hyparquet statistics:\n  expected %.600s\n  read     %.600s\n",
                    what, w ? w : "?", h ? h : "?");
            free(w);
            free(h);
            bad++;
        }
        json_decref(want);
    }
    return bad == 0;
}

/* The checks of file k against table e, each adding rows to table res when it fails. */
static void sql_file_checks(sb *b, const char *path, int k, int n_rows, int codec)
{
    sb_printf(b, "CREATE OR REPLACE TABLE p AS FROM read_parquet('%s');\n", path);
    /* column names and types */
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'types', (SELECT string_agg(column_name || ' ' || "
              "column_type, ', ') FROM (DESCRIBE p)) WHERE (SELECT list(column_name || ' ' || "
              "column_type) FROM (DESCRIBE p)) IS DISTINCT FROM (SELECT list(column_name || ' ' "
              "|| column_type) FROM (DESCRIBE e));\n",
              k);
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'row count', count(*)::VARCHAR FROM p HAVING count(*) "
              "<> %d;\n",
              k, n_rows);
    /* typed values; the id column makes the order part of each row */
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'row only in file', left(x::VARCHAR, 1500) FROM (FROM p "
              "EXCEPT ALL FROM e) x LIMIT 3;\n",
              k);
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'row missing from file', left(x::VARCHAR, 1500) FROM "
              "(FROM e EXCEPT ALL FROM p) x LIMIT 3;\n",
              k);
    /* the rows as DuckDB prints them, matched by id: tells -0.0 from 0.0 (equal as values),
     * NaN payloads aside every float apart, and nested values field by field */
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'row prints differently', 'file: ' || left(p::VARCHAR, "
              "800) || ' / expected: ' || left(e::VARCHAR, 800) FROM p JOIN e USING (id) WHERE "
              "p::VARCHAR IS DISTINCT FROM e::VARCHAR LIMIT 3;\n",
              k);
    /* statistics */
    sb_printf(b,
              "CREATE OR REPLACE TABLE pm AS SELECT row_group_id AS rg, column_id AS col, "
              "row_group_num_rows AS nrows, stats_min_value AS mn, stats_max_value AS mx, "
              "stats_null_count AS nulls, min_is_exact AS mn_exact, max_is_exact AS mx_exact FROM "
              "parquet_metadata('%s');\n",
              path);
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'codec', compression FROM parquet_metadata('%s') WHERE "
              "compression <> '%s' LIMIT 1;\n",
              k, path, codec_name(codec));
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'stats expected', left(x::VARCHAR, 1500) FROM (FROM st%d "
              "EXCEPT ALL FROM pm) x ORDER BY ALL LIMIT 4;\n",
              k, k);
    sb_printf(b,
              "INSERT INTO res SELECT %d, 'stats in file', left(x::VARCHAR, 1500) FROM (FROM pm "
              "EXCEPT ALL FROM st%d) x ORDER BY ALL LIMIT 4;\n",
              k, k);
}

/* ---- canonical JSON (the arrow_read.mjs form) -------------------------------------------- */

static json_t *canon_value(const sm_field *f, const tv *v)
{
    char t[96];
    sb s = {0};
    json_t *j;
    if (v->null) {
        return json_null();
    }
    switch (f->type) {
    case SM_BOOL:
        return json_boolean(v->i);
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_DATE:
    case SM_TIMESTAMP_US:
        snprintf(t, sizeof t, "%lld", (long long)v->i);
        return json_string(t);
    case SM_TIMESTAMP_MS:
        snprintf(t, sizeof t, "%lld", (long long)v->i * 1000);
        return json_string(t);
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        snprintf(t, sizeof t, "%llu", (unsigned long long)v->u);
        return json_string(t);
    case SM_FLOAT: {
        float x = (float)v->d;
        uint32_t bits;
        memcpy(&bits, &x, 4);
        if (isnan(x)) {
            return json_string("nan");
        }
        snprintf(t, sizeof t, "f32:%08x", bits);
        return json_string(t);
    }
    case SM_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        if (isnan(v->d)) {
            return json_string("nan");
        }
        snprintf(t, sizeof t, "f64:%016llx", (unsigned long long)bits);
        return json_string(t);
    }
    case SM_DECIMAL:
        decimal_text(t, v->dec, 0);
        return json_string(t);
    case SM_STRING:
    case SM_JSON:
        return json_stringn((const char *)v->b, v->len);
    case SM_BINARY:
    case SM_FIXED_BINARY:
        sb_hex(&s, v->b, v->len);
        j = json_string(s.p ? s.p : "");
        sb_free(&s);
        return j;
    case SM_STRUCT:
        j = json_object();
        for (int i = 0; i < v->n; i++) {
            json_object_set_new(j, f->children[i]->name, canon_value(f->children[i], &v->kids[i]));
        }
        return j;
    case SM_LIST:
        j = json_array();
        for (int i = 0; i < v->n; i++) {
            json_array_append_new(j, canon_value(f->children[0], &v->kids[i]));
        }
        return j;
    case SM_MAP:
        j = json_array();
        for (int i = 0; i < v->n; i += 2) {
            json_t *kv = json_array();
            json_array_append_new(kv, canon_value(f->children[0]->children[0], &v->kids[i]));
            json_array_append_new(kv, canon_value(f->children[0]->children[1], &v->kids[i + 1]));
            json_array_append_new(j, kv);
        }
        return j;
    default:
        abort();
    }
}

/* Runs `node <script> <args...>` in SMELTER_NODE_DIR and parses its stdout; NULL on failure. */
static json_t *run_node_json(const char *script, const char *const *args, int n_args)
{
    const char *dir = getenv("SMELTER_NODE_DIR");
    sb cmd = {0};
    json_error_t jerr;
    json_t *out;
    FILE *p;
    int st;
    if (!dir) {
        fprintf(stderr, "SMELTER_NODE_DIR is not set (run through ctest)\n");
        return NULL;
    }
    sb_printf(&cmd, "node '%s/%s'", dir, script);
    for (int i = 0; i < n_args; i++) {
        sb_printf(&cmd, " '%s'", args[i]);
    }
    p = popen(cmd.p, "r");
    if (!p) {
        perror("popen");
        sb_free(&cmd);
        return NULL;
    }
    out = json_loadf(p, JSON_DECODE_ANY, &jerr);
    st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !out) {
        fprintf(stderr, "%s: failed (exit %d) %s\n", cmd.p, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                out ? "" : jerr.text);
        json_decref(out);
        out = NULL;
    }
    sb_free(&cmd);
    return out;
}

/* Compares arrow-rs's reading of a file (one document of arrow_read.mjs) with the model;
 * prints the first differences. */
static bool arrow_matches(const model *m, const json_t *got, const char *what)
{
    json_t *rows = json_object_get(got, "rows");
    json_t *cols = json_object_get(got, "columns");
    const sm_field *s = m->schema;
    int bad = 0;

    if (!json_is_array(rows) || !json_is_array(cols)) {
        fprintf(stderr, "%s: arrow-rs could not read it: %s\n", what,
                json_string_value(json_object_get(got, "error")));
        return false;
    }
    if ((int)json_array_size(cols) != s->n_children) {
        fprintf(stderr, "%s: arrow-rs sees %zu columns, wrote %d\n", what, json_array_size(cols),
                s->n_children);
        bad++;
    }
    for (int c = 0; c < s->n_children && c < (int)json_array_size(cols); c++) {
        const char *name = json_string_value(json_array_get(cols, (size_t)c));
        if (!name || strcmp(name, s->children[c]->name) != 0) {
            fprintf(stderr, "%s: arrow-rs column %d is %s, wrote %s\n", what, c, name ? name : "?",
                    s->children[c]->name);
            bad++;
        }
    }
    if ((int)json_array_size(rows) != m->n_rows) {
        fprintf(stderr, "%s: arrow-rs reads %zu rows, wrote %d\n", what, json_array_size(rows),
                m->n_rows);
        bad++;
    }
    for (int r = 0; r < m->n_rows && r < (int)json_array_size(rows) && bad < 5; r++) {
        json_t *row = json_array_get(rows, (size_t)r);
        for (int c = 0; c < s->n_children && bad < 5; c++) {
            json_t *want = canon_value(s->children[c], &m->rows[r].kids[c]);
            json_t *have = json_array_get(row, (size_t)c);
            if (!json_equal(want, have)) {
                char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
                char *h = have ? json_dumps(have, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
                fprintf(stderr,
                        "%s: arrow-rs row %d column %s:\n  wrote %.1500s\n  read  %.1500s\n", what,
                        r, s->children[c]->name, w ? w : "?", h ? h : "(missing)");
                free(w);
                free(h);
                bad++;
            }
            json_decref(want);
        }
    }
    return bad == 0;
}

/* ---- the round-trip driver --------------------------------------------------------------- */

static const int all_codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                 PQ_CODEC_ZSTD, PQ_CODEC_LZ4_RAW};

/* Options of the g-th file of a run. The codec cycles fastest, then page v1/v2, then dictionary
 * on/off, so any 20 consecutive files cover all 20 combinations; tiny pages, row groups and
 * dictionary limits come in on their own cycles. */
static void case_opts(int g, pq_writer_opts *o, char *desc, size_t desc_len)
{
    pq_writer_opts_default(o);
    o->codec = all_codecs[g % 5];
    o->page_v2 = (g / 5) % 2;
    o->dictionary = (g / 10) % 2 == 0;
    if (g % 3 != 0) {
        o->page_size = 512;
    }
    if (g % 4 == 1 || g % 7 == 2) {
        o->row_group_size = 64 << 10;
    }
    if (g % 3 == 2) {
        o->dict_limit = 200;
    }
    if (g % 11 == 4) {
        o->stats_max_len = 5;
    } else if (g % 11 == 9) {
        o->stats_max_len = 1000;
    }
    if (g % 6 == 3 && (o->codec == PQ_CODEC_ZSTD || o->codec == PQ_CODEC_GZIP)) {
        o->level = o->codec == PQ_CODEC_ZSTD ? -3 : 9;
    }
    snprintf(desc, desc_len,
             "%s level %d page v%d dictionary %s dict_limit %zu page_size %zu row_group_size %zu "
             "stats_max_len %zu",
             codec_name(o->codec), o->level, o->page_v2 ? 2 : 1, o->dictionary ? "on" : "off",
             o->dict_limit, o->page_size, o->row_group_size, o->stats_max_len);
}

typedef struct run_totals {
    int files, arrow_files, hyparquet_files, many_pages, many_groups, fallbacks;
    unsigned arrow_codecs; /* bit per codec of a file with rows that arrow-rs read */
} run_totals;

/* One file of a seed's run. */
typedef struct seed_file {
    char path[4096];
    char desc[256];
    size_t stats_max_len;
    chunk_expect *chunks;
    int n_chunks;
    bool written;
} seed_file;

/* Runs one node script over the seed's written files (those in `mask`) and hands each file's
 * document to `check`. */
static void node_check_files(const char *script, const model *m, seed_file *sf, int n,
                             unsigned mask, uint64_t seed, int *counter,
                             bool (*check)(const model *, const seed_file *, const json_t *,
                                           const char *))
{
    const char *paths[16];
    int idx[16], k = 0;
    json_t *docs;
    for (int i = 0; i < n; i++) {
        if ((mask & (1u << i)) && sf[i].written) {
            paths[k] = sf[i].path;
            idx[k++] = i;
        }
    }
    if (!k) {
        return;
    }
    docs = run_node_json(script, paths, k); /* one process for all: node starts slowly */
    CU_ASSERT_TRUE(json_is_array(docs) && (int)json_array_size(docs) == k);
    for (int i = 0; json_is_array(docs) && i < k && i < (int)json_array_size(docs); i++) {
        char what[512];
        snprintf(what, sizeof what, "seed %llu file %d (%s)", (unsigned long long)seed, idx[i],
                 sf[idx[i]].desc);
        CU_ASSERT_TRUE(check(m, &sf[idx[i]], json_array_get(docs, (size_t)i), what));
        (*counter)++;
    }
    json_decref(docs);
}

static bool check_arrow(const model *m, const seed_file *f, const json_t *doc, const char *what)
{
    (void)f;
    return arrow_matches(m, doc, what);
}

static bool check_hyparquet(const model *m, const seed_file *f, const json_t *doc, const char *what)
{
    (void)m;
    return hyparquet_stats_match(doc, f->chunks, f->n_chunks, f->stats_max_len, what);
}

/*
 * The model's rows written with n_files option sets (cases g0, g0 + 1, ...), then one DuckDB
 * session checks every file, hyparquet every file's statistics, and arrow-rs reads the files
 * with their bit set in arrow_mask. `seed` names the run in messages.
 */
static void round_trip_model(const model *mp, uint64_t seed, int g0, int n_files,
                             unsigned arrow_mask, run_totals *tot)
{
    const model m = *mp;
    int n_rows = m.n_rows;
    sb sql = {0};
    char *dir = sm_test_tmpdir("pqw");
    seed_file *sf = calloc((size_t)n_files, sizeof *sf);
    static const int batches[] = {1, 2, 3, 10}; /* pq_writer_write calls per file */
    json_t *res;

    if (!sf || n_files > 16) {
        abort();
    }
    sb_puts(&sql, "SET TimeZone='UTC';\n");
    sql_expected_table(&sql, &m, "e");
    sb_puts(&sql, "CREATE TABLE res (f INTEGER, what VARCHAR, detail VARCHAR);\n");

    for (int k = 0; k < n_files; k++) {
        pq_writer_opts o;
        pq_file_info info = {0};
        sm_error err = {0};
        file_facts *ff = calloc(1, sizeof *ff);
        bool sel;
        int rc;

        if (!ff) {
            abort();
        }
        case_opts(g0 + k, &o, sf[k].desc, sizeof sf[k].desc);
        snprintf(sf[k].path, sizeof sf[k].path, "%s/f%d.parquet", dir, k);
        sf[k].stats_max_len = o.stats_max_len;
        /* every other file goes through pq_writer_write_sel */
        sel = (seed + (uint64_t)k / 2) % 2 == 1;
        if (sel) {
            size_t dl = strlen(sf[k].desc);
            snprintf(sf[k].desc + dl, sizeof sf[k].desc - dl, ", through a selection");
        }
        rc = write_model(&m, sf[k].path, &o, batches[(seed + (uint64_t)k) % 4], sel, &info, &err);
        if (rc) {
            fprintf(stderr, "\nseed %llu file %d (%s): write failed: %s\n",
                    (unsigned long long)seed, k, sf[k].desc, err.msg);
            CU_FAIL("pq_writer failed on a valid batch");
            free(ff);
            continue;
        }
        sf[k].written = true;
        CU_ASSERT_EQUAL(info.rows, n_rows);
        read_facts(sf[k].path, ff);
        CU_ASSERT_TRUE(ff->ok);
        CU_ASSERT_EQUAL(check_with_our_reader(&m, sf[k].path), 0);
        CU_ASSERT_EQUAL(ff->n_groups, info.row_groups);
        tot->files++;
        tot->many_pages += ff->max_data_pages > 1;
        tot->many_groups += ff->n_groups > 1;
        tot->fallbacks += ff->dict_then_plain;
        sf[k].chunks = expected_chunks(&m, ff, &sf[k].n_chunks);
        sql_expected_stats(&sql, sf[k].chunks, sf[k].n_chunks, o.stats_max_len, k);
        sql_file_checks(&sql, sf[k].path, k, n_rows, o.codec);
        free(ff);
    }
    node_check_files("hyparquet_stats.mjs", &m, sf, n_files, ~0u, seed, &tot->hyparquet_files,
                     check_hyparquet);
    node_check_files("arrow_read.mjs", &m, sf, n_files, arrow_mask, seed, &tot->arrow_files,
                     check_arrow);
    for (int k = 0; k < n_files; k++) {
        if ((arrow_mask & (1u << k)) && sf[k].written && n_rows > 1) {
            tot->arrow_codecs |= 1u << all_codecs[(g0 + k) % 5];
        }
    }

    /* the last row proves the script ran to its end */
    sb_puts(&sql, "FROM res UNION ALL SELECT -1, 'expected rows', (SELECT count(*) FROM "
                  "e)::VARCHAR;\n");
    res = sm_test_duckdb(sql.p);
    CU_ASSERT_PTR_NOT_NULL(res);
    if (res) {
        size_t n = json_array_size(res);
        json_t *last = n ? json_array_get(res, n - 1) : NULL;
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_EQUAL(last ? sm_test_int(json_object_get(last, "f")) : 0, -1);
        CU_ASSERT_EQUAL(last ? sm_test_int(json_object_get(last, "detail")) : 0, n_rows);
        for (size_t i = 0; i + 1 < n && i < 40; i++) {
            json_t *row = json_array_get(res, i);
            int k = (int)sm_test_int(json_object_get(row, "f"));
            fprintf(stderr, "\nseed %llu rows %d file %d (%s): %s: %s\n", (unsigned long long)seed,
                    n_rows, k, k >= 0 && k < n_files ? sf[k].desc : "?",
                    json_string_value(json_object_get(row, "what")),
                    json_string_value(json_object_get(row, "detail")));
        }
        json_decref(res);
    }
    for (int k = 0; k < n_files; k++) {
        free(sf[k].chunks);
    }
    free(sf);
    sb_free(&sql);
    sm_test_rmtree(dir);
    free(dir);
}

static void round_trip_seed(uint64_t seed, int n_rows, int n_shapes, int n_random, int g0,
                            int n_files, unsigned arrow_mask, run_totals *tot)
{
    model m;
    model_make(&m, seed, n_rows, n_shapes, n_random);
    round_trip_model(&m, seed, g0, n_files, arrow_mask, tot);
    model_free(&m);
}

static void test_pq_writer_round_trips_random_schemas_through_duckdb(void)
{
    /* Rows per seed (empty files, one row, up to 3000) and which of its 4 files arrow-rs reads
     * too: all of the small and middle-sized seeds (every codec, page version and dictionary
     * setting, with flat and nested columns), of the large ones the file with tiny row groups. */
    static const struct {
        int rows;
        unsigned arrow;
    } seeds[] = {{0, 0x1},  {1, 0x1},    {3000, 0x2}, {17, 0xf},  {700, 0xf}, {2500, 0x0},
                 {64, 0xf}, {1500, 0x2}, {3000, 0x0}, {300, 0xf}, {2, 0x1},   {1000, 0x1}};
    int n_seeds = sanitized() ? 6 : (int)(sizeof seeds / sizeof seeds[0]), files = 4;
    run_totals tot = {0};
    const char *extra = getenv("SMELTER_PQW_EXTRA_SEEDS"); /* a longer hunt, on demand */
    for (int s = 0; s < n_seeds; s++) {
        int n_rows = sanitized() && seeds[s].rows > 1000 ? seeds[s].rows / 4 : seeds[s].rows;
        round_trip_seed(1000 + (uint64_t)s, n_rows, 2 + s % 3, 2, s * files, files, seeds[s].arrow,
                        &tot);
    }
    for (int s = 0; extra && s < atoi(extra); s++) {
        rng r = {(uint64_t)s * 7919 + 17};
        round_trip_seed(5000 + (uint64_t)s, (int)rnd_below(&r, 3001), 1 + s % 4, 1 + s % 5,
                        (int)rnd_below(&r, 1000), files, 1u << (s % 4), &tot);
    }
    fprintf(stderr,
            "\nround trips: %d files (statistics of %d read by hyparquet, rows of %d by "
            "arrow-rs); %d with several pages in a chunk, %d with several row groups, %d with "
            "dictionary then PLAIN pages in a chunk\n",
            tot.files, tot.hyparquet_files, tot.arrow_files, tot.many_pages, tot.many_groups,
            tot.fallbacks);
    /* the options did what they are there for; arrow-rs read rows of every codec */
    CU_ASSERT_TRUE(tot.many_pages > tot.files / 3);
    CU_ASSERT_TRUE(tot.many_groups >= 2);
    CU_ASSERT_TRUE(tot.fallbacks >= 2);
    for (int c = 0; c < 5; c++) {
        CU_ASSERT_TRUE(tot.arrow_codecs & (1u << all_codecs[c]));
    }
}

/* ---- hand-picked statistics cases ------------------------------------------------------- */

/* Writes a hand-built model with the cases g0.. and checks it like the random ones. */
static void round_trip_hand(model *m, uint64_t tag, int g0, int n_files)
{
    run_totals tot = {0};
    round_trip_model(m, tag, g0, n_files, (1u << n_files) - 1, &tot);
    CU_ASSERT_EQUAL(tot.files, n_files);
    CU_ASSERT_EQUAL(tot.hyparquet_files, n_files);
    CU_ASSERT_EQUAL(tot.arrow_files, n_files);
}

/*
 * Float statistics: NaN never counts, a zero min is written -0.0 and a zero max +0.0, infinities
 * are kept (DuckDB prints them as NULL; hyparquet reads the bytes). The random rows rarely make
 * a chunk whose min or max is zero, hence these.
 */
static void test_pq_writer_float_statistics_follow_the_zero_and_nan_rules(void)
{
    model m;
    /* per column: three values, "N" = null */
    static const char *const cols[][3] = {
        {"0", "1.5", "N"},   /* min -0.0 (was +0.0), max 1.5 */
        {"-0", "-2", "N"},   /* min -2, max +0.0 (was -0.0) */
        {"nan", "nan", "N"}, /* no min / max */
        {"nan", "-inf", "3"}, {"inf", "1", "nan"}, {"-0", "0", "-0"},       {"-0", "N", "N"},
        {"N", "N", "N"},      {"nan", "0", "nan"}, {"1e-45", "-1e-45", "N"}};
    int n = (int)(sizeof cols / sizeof cols[0]);
    sm_field *f[16];
    model_init(&m);
    for (int c = 0; c < n; c++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", c + 1);
        f[c] = sm_field_new(m.a, name, c % 2 ? SM_DOUBLE : SM_FLOAT, true);
    }
    model_rows(&m, f, n, 3);
    for (int c = 0; c < n; c++) {
        for (int r = 0; r < 3; r++) {
            if (strcmp(cols[c][r], "N") != 0) {
                double d = strtod(cols[c][r], NULL);
                cell(&m, r, c + 1)->d = c % 2 ? d : (double)(float)d;
            }
        }
    }
    /* cases 8..11: dictionary on (min/max from the dictionary) and off (from PLAIN pages) */
    round_trip_hand(&m, 1, 8, 4);
    model_free(&m);
}

/*
 * Byte-array statistics around stats_max_len: a value exactly at the limit, one byte over, a
 * prefix cut inside a UTF-8 character, a max whose prefix ends in 0xff (the increment carries
 * left), a max of only 0xff bytes (kept whole), empty values; with limits 64, 5 and 1000.
 * Also the null count of nested leaves, which counts every level below the leaf's maximum
 * definition level: null and empty lists, null elements, null parents (as parquet-cpp does).
 */
static void test_pq_writer_byte_array_statistics_are_cut_and_rounded_up(void)
{
    model m;
    uint8_t buf[256];
    sb t = {0};
    sm_field *f[8];
    model_init(&m);
    f[0] = sm_field_new(m.a, "s_at_limit", SM_STRING, true);
    f[1] = sm_field_new(m.a, "s_cut_in_char", SM_STRING, true);
    f[2] = sm_field_new(m.a, "b_carry", SM_BINARY, true);
    f[3] = sm_field_new(m.a, "b_all_ff", SM_BINARY, true);
    f[4] = sm_field_new(m.a, "b_empty", SM_BINARY, true);
    f[5] = sm_field_new(m.a, "j", SM_JSON, true);
    f[6] = sm_field_list(m.a, "l", sm_field_new(m.a, "element", SM_INT32, true), true);
    {
        sm_field *k[2] = {
            sm_field_new(m.a, "a", SM_STRING, false),
            sm_field_list(m.a, "b", sm_field_new(m.a, "element", SM_INT16, false), true)};
        f[7] = sm_field_struct(m.a, "st", k, 2, true);
    }
    model_rows(&m, f, 8, 5);

    memset(buf, 'a', 65);
    set_bytes(&m, cell(&m, 0, 1), buf, 64); /* exactly the limit: exact */
    set_bytes(&m, cell(&m, 1, 1), buf, 65); /* one over: max "a"*63 "b", inexact */
    set_bytes(&m, cell(&m, 2, 1), "", 0);

    sb_puts(&t, "a");
    for (int i = 0; i < 40; i++) {
        sb_puts(&t, "\xc3\xa9"); /* the 64-byte cut falls inside an é */
    }
    set_bytes(&m, cell(&m, 0, 2), t.p, t.len);
    set_bytes(&m, cell(&m, 1, 2), t.p + 1, t.len - 1); /* cut between characters */

    memset(buf, 0x41, 63);
    buf[63] = 0xff;
    memset(buf + 64, 0x10, 6);
    set_bytes(&m, cell(&m, 0, 3), buf, 70); /* max: 0x41 * 62, 0x42 (the 0xff dropped) */
    buf[63] = 0x00;
    set_bytes(&m, cell(&m, 1, 3), buf, 70);

    memset(buf, 0xff, 100);
    set_bytes(&m, cell(&m, 0, 4), buf, 100); /* max of only 0xff: the whole value */
    set_bytes(&m, cell(&m, 3, 4), buf, 3);

    set_bytes(&m, cell(&m, 0, 5), "", 0);
    set_bytes(&m, cell(&m, 4, 5), "\x00", 1);

    sb_free(&t);
    sb_puts(&t, "{\"k\":\"");
    for (int i = 0; i < 30; i++) {
        sb_puts(&t, "\xe6\x97\xa5"); /* 日 */
    }
    sb_puts(&t, "\"}");
    set_bytes(&m, cell(&m, 2, 6), t.p, t.len);
    set_bytes(&m, cell(&m, 3, 6), "[]", 2);

    /* l: [1, 2], [], [NULL], NULL, [3]: null count 3. */
    cell(&m, 1, 7)->n = 0;
    {
        tv *v = cell(&m, 2, 7);
        v->n = 1;
        v->kids = model_alloc(&m, sizeof(tv));
        v->kids[0].null = true;
    }
    for (int r = 0; r < 5; r += 4) {
        tv *v = cell(&m, r, 7);
        v->n = r == 0 ? 2 : 1;
        v->kids = model_alloc(&m, sizeof(tv) * 2);
        v->kids[0].i = r == 0 ? 1 : 3;
        v->kids[1].i = 2;
    }
    /* st: {a: "y", b: [7, -7]}, {a: "x", b: NULL}, {a: "", b: []}, NULL, NULL */
    for (int r = 0; r < 3; r++) {
        tv *v = cell(&m, r, 8);
        v->n = 2;
        v->kids = model_alloc(&m, sizeof(tv) * 2);
        set_bytes(&m, &v->kids[0], r == 1 ? "x" : r == 2 ? "" : "y", r == 2 ? 0 : 1);
        v->kids[1].null = r == 1;
        v->kids[1].n = r == 0 ? 2 : 0;
        v->kids[1].kids = model_alloc(&m, sizeof(tv) * 2);
        v->kids[1].kids[0].i = 7;
        v->kids[1].kids[1].i = -7;
    }
    sb_free(&t);
    /* cases 4..9: stats_max_len 5 (case 4) and 1000 (case 9), the others 64 */
    round_trip_hand(&m, 2, 4, 6);
    model_free(&m);
}

/* A page without any value (only nulls, empty or null lists) in a leaf whose values are
 * gathered (narrow ints, wide decimals, anything nested) is written as levels only — once a
 * regression: gather() took the empty buffer for a failed allocation. */
static void test_pq_writer_writes_a_first_page_without_values(void)
{
    char *dir = sm_test_tmpdir("pqw-empty");
    for (int c = 0; c < 4; c++) {
        model m;
        sm_field *f;
        char path[4096];
        pq_writer_opts o;
        sm_error err = {0};
        int rc;
        model_init(&m);
        f = c == 0   ? sm_field_new(m.a, "x", SM_INT8, true)
            : c == 1 ? sm_field_new(m.a, "x", SM_UINT16, true)
            : c == 2 ? sm_field_decimal(m.a, "x", 25, 2, true)
                     : sm_field_list(m.a, "x", sm_field_new(m.a, "element", SM_INT32, true), true);
        model_rows(&m, &f, 1, 3);
        if (c == 3) { /* NULL, [], [NULL] */
            cell(&m, 1, 1)->n = 0;
            cell(&m, 2, 1)->n = 1;
            m.rows[2].kids[1].kids = model_alloc(&m, sizeof(tv));
            m.rows[2].kids[1].kids[0].null = true;
        }
        pq_writer_opts_default(&o);
        snprintf(path, sizeof path, "%s/c%d.parquet", dir, c);
        rc = write_model(&m, path, &o, 1, false, NULL, &err);
        {
            sb sql = {0};
            json_t *res;
            CU_ASSERT_EQUAL(rc, SM_OK);
            sb_printf(&sql,
                      "SELECT count(*) AS n, list(x::VARCHAR ORDER BY id)::VARCHAR AS l FROM "
                      "read_parquet('%s')",
                      path);
            res = sm_test_duckdb(sql.p);
            sb_free(&sql);
            CU_ASSERT_PTR_NOT_NULL_FATAL(res);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "n")), 3);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(res, 0), "l")),
                                   c == 3 ? "[NULL, '[]', '[NULL]']" : "[NULL, NULL, NULL]");
            json_decref(res);
        }
        model_free(&m);
    }

    sm_test_rmtree(dir);
    free(dir);
}

/* ---- dictionary shares ------------------------------------------------------------------- */

/* The whole content of a file (malloc'd) and its size. */
static uint8_t *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
        !(p = malloc((size_t)n + 1)) || fread(p, 1, (size_t)n, f) != (size_t)n) {
        abort();
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Rows of every kind a share meets: dictionaries whose indices need 1, 2 and 4 bytes, nulls,
 * empty strings, a near-unique column (PLAIN from the first page), booleans (never a
 * dictionary) and columns whose dictionary passes a low dict_limit part way (then PLAIN). */
static sm_column *share_batch(sm_arena *a, int64_t rows)
{
    sm_field *kids[7];
    sm_field *st;
    sm_column *b;
    kids[0] = sm_field_new(a, "small", SM_INT32, false);   /* 8 values */
    kids[1] = sm_field_new(a, "mid", SM_INT64, true);      /* ~3000 values, nulls */
    kids[2] = sm_field_new(a, "big", SM_STRING, true);     /* ~80000 values, "" and nulls */
    kids[3] = sm_field_new(a, "unique", SM_STRING, false); /* every row its own */
    kids[4] = sm_field_new(a, "flag", SM_BOOL, true);
    kids[5] = sm_field_new(a, "price", SM_DOUBLE, false);    /* ~500 values */
    kids[6] = sm_field_new(a, "late_big", SM_STRING, false); /* few values, then many */
    st = sm_field_struct(a, "row", kids, 7, false);
    b = sm_column_new(a, st, rows);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int64_t r = 0; r < rows; r++) {
        uint64_t h = (uint64_t)r * 0x9E3779B97F4A7C15u;
        char s[40];
        int n;
        bool ok = sm_column_append_valid(a, b) == 0 &&
                  sm_column_append_i64(a, b->children[0], (int64_t)(h >> 61)) == 0;
        ok = ok && (r % 11 == 3 ? sm_column_append_null(a, b->children[1])
                                : sm_column_append_i64(a, b->children[1],
                                                       (int64_t)((h >> 20) % 3000) - 1500)) == 0;
        n = snprintf(s, sizeof s, "v%llu", (unsigned long long)((h >> 17) % 80000));
        ok = ok && (r % 13 == 5   ? sm_column_append_null(a, b->children[2])
                    : r % 17 == 2 ? sm_column_append_bytes(a, b->children[2], "", 0)
                                  : sm_column_append_bytes(a, b->children[2], s, (size_t)n)) == 0;
        n = snprintf(s, sizeof s, "u-%016llx", (unsigned long long)h);
        ok = ok && sm_column_append_bytes(a, b->children[3], s, (size_t)n) == 0;
        ok = ok && (r % 5 == 0 ? sm_column_append_null(a, b->children[4])
                               : sm_column_append_fixed(a, b->children[4], &(bool){h >> 63})) == 0;
        ok = ok && sm_column_append_f64(a, b->children[5], (double)((h >> 30) % 500) / 4) == 0;
        n = snprintf(s, sizeof s, "late-%llu",
                     r < rows / 2 ? (unsigned long long)(r % 5)
                                  : (unsigned long long)((h >> 11) % 100000));
        ok = ok && sm_column_append_bytes(a, b->children[6], s, (size_t)n) == 0;
        CU_ASSERT_FATAL(ok);
    }
    return b;
}

/* A writer that takes dictionary indices from a share writes the same bytes as one that hashes
 * every value; the share holds a column only when one dictionary covered all its rows. */
static void test_pq_writer_share_gives_the_same_file(void)
{
    char *dir = sm_test_tmpdir("pqw-share");
    sm_arena *a = sm_arena_create(0, 0);
    const int64_t rows = 200000;
    sm_column *b = share_batch(a, rows);
    int64_t *sel = malloc(sizeof *sel * (size_t)rows);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sel);

    /* variant 0: defaults; 1: data page v2, small pages; 2: a dictionary limit that the big
     * columns pass; 3: row groups of a few MB, so no column is recorded */
    for (int v = 0; v < 4; v++) {
        pq_share *share = pq_share_create();
        pq_writer_opts o;
        pq_writer *w;
        sm_error err = {0};
        char path[3][4096];
        size_t recorded;
        CU_ASSERT_PTR_NOT_NULL_FATAL(share);
        pq_writer_opts_default(&o);
        o.page_v2 = v == 1;
        o.page_size = v == 1 ? 8192 : o.page_size;
        o.dict_limit = v == 2 ? 100000 : o.dict_limit;
        o.row_group_size = v == 3 ? (size_t)2 << 20 : o.row_group_size;
        snprintf(path[0], sizeof path[0], "%s/out%d.parquet", dir, v);
        o.share_out = share;
        CU_ASSERT_EQUAL_FATAL(pq_writer_open(path[0], b->field, &o, &w, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(pq_writer_write(w, b, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, NULL, &err), SM_OK);
        o.share_out = NULL;
        recorded = pq_share_bytes(share);
        /* bytes a row: small 1, mid 2, big 4, price 2, late_big 2 (63k values, under the
         * limit); unique is PLAIN from its first page, flag a boolean. With small pages (1) mid's
         * first page is cheaper PLAIN; with the low limit (2) big and late_big fall back to
         * PLAIN; several row groups (3) record nothing. */
        CU_ASSERT_EQUAL(recorded, (size_t)rows * (size_t)(v == 0   ? 11
                                                          : v == 1 ? 9
                                                          : v == 2 ? 5
                                                                   : 0));

        /* selections: every row; every third; 94% of the rows at random; none but the last */
        for (int k = 0; k < 4; k++) {
            int64_t n = 0;
            uint8_t *x, *y;
            size_t xl, yl;
            for (int64_t r = 0; r < rows; r++) {
                uint64_t h = (uint64_t)(r + 1) * 0xD6E8FEB86659FD93u;
                if (k == 0 || (k == 1 && r % 3 == 0) || (k == 2 && h % 100 >= 6) ||
                    (k == 3 && r == rows - 1)) {
                    sel[n++] = r;
                }
            }
            for (int f = 1; f <= 2; f++) { /* 1 through the share, 2 hashing */
                snprintf(path[f], sizeof path[f], "%s/sel%d-%d-%d.parquet", dir, v, k, f);
                o.share_in = f == 1 ? share : NULL;
                CU_ASSERT_EQUAL_FATAL(pq_writer_open(path[f], b->field, &o, &w, &err), SM_OK);
                CU_ASSERT_EQUAL_FATAL(pq_writer_write_sel(w, b, sel, n, &err), SM_OK);
                CU_ASSERT_EQUAL_FATAL(pq_writer_close(w, NULL, &err), SM_OK);
            }
            x = file_bytes(path[1], &xl);
            y = file_bytes(path[2], &yl);
            if (xl != yl || memcmp(x, y, xl) != 0) {
                fprintf(stderr, "\nvariant %d selection %d: %s and %s differ\n", v, k, path[1],
                        path[2]);
                CU_FAIL("a share changed the file");
            }
            free(x);
            free(y);
        }
        pq_share_destroy(share);
    }
    {
        /* and DuckDB reads a file written through the share as the rows it was given */
        sb sql = {0};
        json_t *res;
        sb_printf(&sql,
                  "SELECT count(*) AS n, count(DISTINCT big) AS d, sum(mid) AS s, "
                  "count(*) FILTER (WHERE big = '') AS e FROM read_parquet('%s/sel0-2-1.parquet')",
                  dir);
        res = sm_test_duckdb(sql.p);
        sb_free(&sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(res);
        {
            int64_t n = 0, s = 0, e = 0;
            for (int64_t r = 0; r < rows; r++) {
                uint64_t h = (uint64_t)(r + 1) * 0xD6E8FEB86659FD93u;
                uint64_t g = (uint64_t)r * 0x9E3779B97F4A7C15u;
                if (h % 100 >= 6) {
                    n++;
                    if (r % 11 != 3) {
                        s += (int64_t)((g >> 20) % 3000) - 1500;
                    }
                    e += r % 13 != 5 && r % 17 == 2;
                }
            }
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "n")), n);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "s")), s);
            CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "e")), e);
        }
        json_decref(res);
    }
    free(sel);
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- error paths ------------------------------------------------------------------------- */

/* Entries of `dir` (without . and ..), their names joined into `names`. */
static int dir_entries(const char *dir, char *names, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (names && len) {
        names[0] = 0;
    }
    if (!d) {
        return -1;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (names && len && strlen(names) + strlen(e->d_name) + 2 < len) {
            strcat(names, e->d_name);
            strcat(names, " ");
        }
        n++;
    }
    closedir(d);
    return n;
}

typedef struct fault_plan {
    sm_fault_point point;
    int fail_at; /* the call of `point` to fail (1-based); 0: only count */
    int seen;
} fault_plan;

static int fault_hook(sm_fault_point point, const char *path, void *ctx)
{
    fault_plan *fp = ctx;
    (void)path;
    if (point != fp->point) {
        return 0;
    }
    fp->seen++;
    return fp->seen == fp->fail_at ? EIO : 0;
}

enum { AT_OPEN, AT_WRITE, AT_CLOSE, AT_NONE };

/* Writes m in 4 batches under the fault plan; returns the first error (0 when none) and where
 * it came out (*stage: AT_*), and checks on the way that every call after the first failure
 * fails the same way. */
static int write_with_fault(const model *m, const char *path, const pq_writer_opts *o,
                            fault_plan *fp, sm_error *first, int *stage)
{
    pq_writer *w = NULL;
    sm_error err = {0};
    int rc, failed = 0;

    memset(first, 0, sizeof *first);
    fp->seen = 0;
    *stage = AT_OPEN;
    sm_fault_install(fault_hook, fp);
    rc = pq_writer_open(path, m->schema, o, &w, &err);
    if (rc) {
        sm_fault_install(NULL, NULL);
        CU_ASSERT_PTR_NULL(w);
        *first = err;
        return rc;
    }
    *stage = AT_WRITE;
    for (int k = 0; k < 4; k++) {
        int r0 = m->n_rows * k / 4, r1 = m->n_rows * (k + 1) / 4;
        sm_arena *a;
        sm_column *b = make_batch(m, r0, r1, &a);
        rc = pq_writer_write(w, b, &err);
        sm_arena_destroy(a);
        if (rc && !failed) {
            failed = rc;
            *first = err;
        } else if (failed) { /* sticky: the same error again, whatever the batch */
            CU_ASSERT_EQUAL(rc, failed);
            CU_ASSERT_EQUAL(err.code, first->code);
            CU_ASSERT_STRING_EQUAL(err.msg, first->msg);
        }
    }
    rc = pq_writer_close(w, NULL, &err);
    sm_fault_install(NULL, NULL);
    if (failed) {
        CU_ASSERT_EQUAL(rc, failed); /* close reports the write's error */
        CU_ASSERT_STRING_EQUAL(err.msg, first->msg);
        return failed;
    }
    *stage = rc ? AT_CLOSE : AT_NONE;
    if (rc) {
        *first = err;
    }
    return rc;
}

/*
 * Every write of a file is failed in turn (EIO at the n-th write(2) of core/durable.c): the
 * error comes back from open, a write or close, every later call repeats it, close removes the
 * temporary file, and nothing is left in the directory. Fsync and rename failures the same.
 */
static void test_pq_writer_write_failures_are_sticky_and_leave_no_file(void)
{
    model m;
    pq_writer_opts o;
    char *dir = sm_test_tmpdir("pqw-fault");
    char path[4096], names[1024];
    fault_plan fp = {SM_FAULT_WRITE, 0, 0};
    sm_error err;
    int total, tried = 0, stage, at[4] = {0};

    model_make(&m, 77, sanitized() ? 200 : 600, 2, 1);
    pq_writer_opts_default(&o);
    o.page_size = 512;
    o.row_group_size = 8 << 10; /* row groups reach the file during the writes */
    snprintf(path, sizeof path, "%s/t.parquet", dir);

    CU_ASSERT_EQUAL_FATAL(write_with_fault(&m, path, &o, &fp, &err, &stage), SM_OK); /* count */
    total = fp.seen;
    CU_ASSERT_TRUE(total > 10);
    unlink(path);

    for (int n = 1; n <= total; n += n < 8 || n > total - 8 ? 1 : 1 + total / 60) {
        fp.fail_at = n;
        int rc = write_with_fault(&m, path, &o, &fp, &err, &stage);
        tried++;
        at[stage]++;
        CU_ASSERT_EQUAL(rc, SM_ERR_IO);
        CU_ASSERT_EQUAL(err.sys_errno, EIO);
        if (rc != SM_ERR_IO) {
            fprintf(stderr, "\n  write %d of %d failed: got %d (%s)", n, total, rc, err.msg);
        }
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 0);
        if (names[0]) {
            fprintf(stderr, "\n  after failing write %d of %d, left: %s", n, total, names);
        }
    }
    /* the first write (the magic) fails open; later ones a write or, in the last row group and
     * the footer, close */
    CU_ASSERT_EQUAL(at[AT_OPEN], 1);
    CU_ASSERT_TRUE(at[AT_WRITE] > 0);
    CU_ASSERT_TRUE(at[AT_CLOSE] > 0);
    CU_ASSERT_EQUAL(at[AT_NONE], 0);

    /* fsync and rename, in close */
    for (int point = SM_FAULT_FSYNC; point <= SM_FAULT_RENAME; point++) {
        fault_plan p2 = {(sm_fault_point)point, 1, 0};
        CU_ASSERT_EQUAL(write_with_fault(&m, path, &o, &p2, &err, &stage), SM_ERR_IO);
        CU_ASSERT_EQUAL(stage, AT_CLOSE);
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 0);
    }
    /* creating the temporary file, in open */
    {
        fault_plan p3 = {SM_FAULT_OPEN, 1, 0};
        CU_ASSERT_EQUAL(write_with_fault(&m, path, &o, &p3, &err, &stage), SM_ERR_IO);
        CU_ASSERT_EQUAL(stage, AT_OPEN);
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 0);
    }
    /* a failure over an existing file leaves that file as it was */
    {
        fault_plan p4 = {SM_FAULT_WRITE, total / 2, 0};
        char *data = NULL;
        size_t len = 0;
        CU_ASSERT_EQUAL(sm_durable_write_file(path, "old", 3, SM_DURABLE_REPLACE, &err), SM_OK);
        CU_ASSERT_EQUAL(write_with_fault(&m, path, &o, &p4, &err, &stage), SM_ERR_IO);
        CU_ASSERT_EQUAL(sm_read_file(path, 100, &data, &len, &err), SM_OK);
        CU_ASSERT_TRUE(len == 3 && data && memcmp(data, "old", 3) == 0);
        free(data);
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 1);
        unlink(path);
    }
    /*
     * fsync of the directory, after the rename: the one error after which the file is in place
     * (a reader may have seen it; core/durable.h, pq_writer_close's doc) and complete, with
     * SM_ERR_IO saying it "may not survive a crash".
     */
    {
        fault_plan p5 = {SM_FAULT_FSYNC_DIR, 1, 0};
        char *data = NULL;
        size_t len = 0;
        CU_ASSERT_EQUAL(write_with_fault(&m, path, &o, &p5, &err, &stage), SM_ERR_IO);
        CU_ASSERT_EQUAL(stage, AT_CLOSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not survive a crash"));
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 1);
        CU_ASSERT_EQUAL(sm_read_file(path, (size_t)1 << 30, &data, &len, &err), SM_OK);
        CU_ASSERT_TRUE(len > 8 && memcmp(data + len - 4, "PAR1", 4) == 0); /* whole */
        free(data);
    }
    fprintf(stderr, "\n  %d of %d writes failed in turn (seen by open %d, write %d, close %d) ",
            tried, total, at[AT_OPEN], at[AT_WRITE], at[AT_CLOSE]);
    model_free(&m);
    sm_test_rmtree(dir);
    free(dir);
}

/* Until close the file has only its temporary name; abort removes it. */
static void test_pq_writer_file_is_invisible_until_close(void)
{
    model m;
    char *dir = sm_test_tmpdir("pqw-vis");
    char path[4096], names[1024];
    pq_writer *w;
    pq_writer_opts o;
    sm_error err = {0};
    sm_arena *a;
    sm_column *b;
    pq_file_info info = {0};
    json_t *res;

    model_make(&m, 5, 500, 1, 1);
    pq_writer_opts_default(&o);
    o.page_size = 512;
    o.row_group_size = 4 << 10; /* row groups are written to the file before close */
    snprintf(path, sizeof path, "%s/v.parquet", dir);

    for (int round = 0; round < 2; round++) {
        CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, m.schema, &o, &w, &err), SM_OK);
        b = make_batch(&m, 0, m.n_rows, &a);
        CU_ASSERT_EQUAL(pq_writer_write(w, b, &err), SM_OK);
        sm_arena_destroy(a);
        CU_ASSERT_EQUAL(access(path, F_OK), -1);
        CU_ASSERT_EQUAL(errno, ENOENT);
        /* one hidden temporary beside it, holding the row groups so far */
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 1);
        CU_ASSERT_TRUE(names[0] == '.' && strstr(names, ".tmp") != NULL);
        {
            char tmp[8192];
            struct stat st;
            names[strcspn(names, " ")] = 0;
            snprintf(tmp, sizeof tmp, "%s/%s", dir, names);
            CU_ASSERT_TRUE(stat(tmp, &st) == 0 && st.st_size > 4 * 1024);
        }
        if (round == 0) {
            pq_writer_abort(w);
            CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 0);
            continue;
        }
        CU_ASSERT_EQUAL(pq_writer_close(w, &info, &err), SM_OK);
        CU_ASSERT_EQUAL(dir_entries(dir, names, sizeof names), 1);
        CU_ASSERT_STRING_EQUAL(names, "v.parquet ");
        CU_ASSERT_EQUAL(info.rows, m.n_rows);
        CU_ASSERT_TRUE(info.row_groups > 1);
    }
    {
        sb sql = {0};
        sb_printf(&sql,
                  "SELECT count(*) AS n, (SELECT count(DISTINCT row_group_id) FROM "
                  "parquet_metadata('%s')) AS g FROM read_parquet('%s')",
                  path, path);
        res = sm_test_duckdb(sql.p);
        sb_free(&sql);
        CU_ASSERT_PTR_NOT_NULL_FATAL(res);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "n")), m.n_rows);
        CU_ASSERT_EQUAL(sm_test_int(json_object_get(json_array_get(res, 0), "g")), info.row_groups);
        json_decref(res);
    }
    model_free(&m);
    sm_test_rmtree(dir);
    free(dir);
}

/* Parquet has no empty group: a struct without fields is refused at open, wherever it is. */
static void test_pq_writer_refuses_an_empty_struct(void)
{
    sm_arena *a = sm_arena_create(0, 0);
    char *dir = sm_test_tmpdir("pqw-empty-struct");
    char path[4096];
    /* (a valid pointer with n = 0: column.c's with_children() memcpy's from `children` even
     * when n is 0, undefined for NULL -- UBSan stops there) */
    sm_field *none[1] = {NULL};
    sm_field *empty = sm_field_struct(a, "nothing", none, 0, true);
    sm_field *schemas[4];
    sm_field *k[2];

    snprintf(path, sizeof path, "%s/x.parquet", dir);
    k[0] = sm_field_new(a, "id", SM_INT64, false);
    k[1] = empty;
    schemas[0] = sm_field_struct(a, "schema", k, 2, false);
    k[1] = sm_field_list(a, "l", sm_field_struct(a, "element", none, 0, true), true);
    schemas[1] = sm_field_struct(a, "schema", k, 2, false);
    k[1] = sm_field_map(a, "m", sm_field_new(a, "key", SM_STRING, false),
                        sm_field_struct(a, "value", none, 0, true), true);
    schemas[2] = sm_field_struct(a, "schema", k, 2, false);
    schemas[3] = sm_field_struct(a, "schema", none, 0, false); /* no columns at all */
    for (int i = 0; i < 4; i++) {
        pq_writer *w = (pq_writer *)&w; /* must come back NULL */
        sm_error err = {0};
        CU_ASSERT_PTR_NOT_NULL_FATAL(schemas[i]);
        CU_ASSERT_EQUAL(pq_writer_open(path, schemas[i], NULL, &w, &err), SM_ERR_USAGE);
        CU_ASSERT_PTR_NULL(w);
        CU_ASSERT_TRUE(strlen(err.msg) > 0);
        CU_ASSERT_EQUAL(dir_entries(dir, NULL, 0), 0);
    }
    sm_test_rmtree(dir);
    free(dir);
    sm_arena_destroy(a);
}

/* A batch of another shape is a usage error, and sticky like any other. */
static void test_pq_writer_refuses_a_batch_of_another_schema(void)
{
    model m, other;
    char *dir = sm_test_tmpdir("pqw-shape");
    char path[4096];
    pq_writer *w;
    sm_error err = {0}, first;
    sm_arena *a;
    sm_column *b;

    model_make(&m, 9, 10, 1, 0);
    model_make(&other, 10, 10, 0, 0);
    snprintf(path, sizeof path, "%s/s.parquet", dir);
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, m.schema, NULL, &w, &err), SM_OK);
    b = make_batch(&other, 0, 10, &a);
    CU_ASSERT_EQUAL(pq_writer_write(w, b, &err), SM_ERR_USAGE);
    sm_arena_destroy(a);
    first = err;
    b = make_batch(&m, 0, 10, &a); /* a good batch now fails the same way */
    CU_ASSERT_EQUAL(pq_writer_write(w, b, &err), SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, first.msg);
    sm_arena_destroy(a);
    CU_ASSERT_EQUAL(pq_writer_close(w, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(dir_entries(dir, NULL, 0), 0);

    /* columns of different lengths */
    CU_ASSERT_EQUAL_FATAL(pq_writer_open(path, m.schema, NULL, &w, &err), SM_OK);
    b = make_batch(&m, 0, 10, &a);
    b->children[1]->length--;
    CU_ASSERT_EQUAL(pq_writer_write(w, b, &err), SM_ERR_USAGE);
    sm_arena_destroy(a);
    pq_writer_abort(w);
    CU_ASSERT_EQUAL(dir_entries(dir, NULL, 0), 0);

    model_free(&m);
    model_free(&other);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"round trips random schemas and options (DuckDB, arrow-rs, hyparquet)",
     test_pq_writer_round_trips_random_schemas_through_duckdb},
    {"float statistics follow the zero and NaN rules",
     test_pq_writer_float_statistics_follow_the_zero_and_nan_rules},
    {"byte-array statistics are cut and rounded up",
     test_pq_writer_byte_array_statistics_are_cut_and_rounded_up},
    {"writes a first page without values", test_pq_writer_writes_a_first_page_without_values},
    {"a dictionary share gives the same file", test_pq_writer_share_gives_the_same_file},
    {"write failures are sticky and leave no file",
     test_pq_writer_write_failures_are_sticky_and_leave_no_file},
    {"the file is invisible until close", test_pq_writer_file_is_invisible_until_close},
    {"refuses an empty struct", test_pq_writer_refuses_an_empty_struct},
    {"refuses a batch of another schema", test_pq_writer_refuses_a_batch_of_another_schema},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("parquet_writer", tests)
