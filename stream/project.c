/*
 * sm_project — a silver table's `select:` (see project.h). Each item is split into its
 * expression and its output name at load; bare columns and `*` become references to input
 * columns (shared at evaluation), everything else a compiled sm_expr whose result column is
 * converted to the declared type when the item is a top-level CAST to int or decimal.
 */
#include "stream/project.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct proj_item {
    int input;     /* input column index, or -1 */
    sm_expr *expr; /* computed: the compiled expression */
    sm_type kind;  /* computed: the output type (INT32 / DECIMAL convert from the result) */
    int32_t precision, scale;
} proj_item;

struct sm_project {
    sm_arena *arena;
    const sm_field *input;
    sm_field *schema;
    proj_item *items;
    int n_items;
};

/* ---- splitting an item ---------------------------------------------------------------------- */

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* A name at s[i..]: a plain identifier or a "quoted" one ("" is a quote). Sets *end past it and
 * copies the name (unquoted) into the arena when `out` is given. False when there is none. */
static bool scan_name(sm_arena *arena, const char *s, size_t i, size_t *end, const char **out)
{
    size_t b = i;
    if (ident_start(s[i])) {
        while (ident_char(s[i])) {
            i++;
        }
        if (out && !(*out = sm_arena_strndup(arena, s + b, i - b))) {
            return false;
        }
        *end = i;
        return true;
    }
    if (s[i] != '"') {
        return false;
    }
    i++;
    char *name = out ? sm_arena_alloc(arena, strlen(s + i) + 1) : NULL;
    if (out && !name) {
        return false;
    }
    size_t n = 0;
    for (;;) {
        if (!s[i]) {
            return false;
        }
        if (s[i] == '"') {
            if (s[i + 1] != '"') {
                i++;
                break;
            }
            i++;
        }
        if (name) {
            name[n] = s[i];
        }
        n++;
        i++;
    }
    if (n == 0) {
        return false;
    }
    if (name) {
        name[n] = 0;
        *out = name;
    }
    *end = i;
    return true;
}

static size_t skip_space(const char *s, size_t i)
{
    while (isspace((unsigned char)s[i])) {
        i++;
    }
    return i;
}

/* The offset of the rename's `AS` in `s` (the last top-level AS followed by a name and nothing
 * else), or -1. */
static long find_rename(const char *s)
{
    long found = -1;
    int depth = 0;
    for (size_t i = 0; s[i];) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            i++;
            while (s[i] && !(s[i] == c && s[i + 1] != c)) {
                i += s[i] == c ? 2 : 1;
            }
            if (s[i]) {
                i++;
            }
            continue;
        }
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        }
        if (depth == 0 && (c == 'a' || c == 'A') && (s[i + 1] == 's' || s[i + 1] == 'S') &&
            (i == 0 || !ident_char(s[i - 1])) && isspace((unsigned char)s[i + 2])) {
            size_t end = 0;
            if (scan_name(NULL, s, skip_space(s, i + 2), &end, NULL) && !s[skip_space(s, end)]) {
                found = (long)i;
            }
        }
        i += ident_char(c) ? 0 : 1;
        while (ident_char(c) && ident_char(s[i])) {
            i++;
        }
    }
    return found;
}

/* ---- compiling ------------------------------------------------------------------------------ */

static int input_index(const sm_field *input, const char *name)
{
    for (int i = 0; i < input->n_children; i++) {
        if (strcmp(input->children[i]->name, name) == 0) {
            return i;
        }
    }
    for (int i = 0; i < input->n_children; i++) {
        if (strcasecmp(input->children[i]->name, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Appends one output column; grows the arrays. */
static int add_output(sm_project *p, int *cap, sm_field ***fields, proj_item item, sm_field *f)
{
    if (p->n_items == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        proj_item *ni = sm_arena_calloc(p->arena, sizeof *ni * (size_t)ncap);
        sm_field **nf = sm_arena_calloc(p->arena, sizeof *nf * (size_t)ncap);
        if (!ni || !nf) {
            return -1;
        }
        if (p->n_items) {
            memcpy(ni, p->items, sizeof *ni * (size_t)p->n_items);
            memcpy(nf, *fields, sizeof *nf * (size_t)p->n_items);
        }
        p->items = ni;
        *fields = nf;
        *cap = ncap;
    }
    p->items[p->n_items] = item;
    (*fields)[p->n_items] = f;
    p->n_items++;
    return 0;
}

/* Rewrites the compiler's "at N: what" for item k (the expression starts at the item's start,
 * so N is already the item's position). */
static int item_error(sm_error *err, size_t k, const char *text)
{
    if (err) {
        if (strncmp(err->msg, "at ", 3) != 0) {
            sm_error_prefix(err, "select item %zu (`%s`): at 1", k + 1, text);
        } else {
            sm_error_prefix(err, "select item %zu (`%s`)", k + 1, text);
        }
        return (int)err->code;
    }
    return SM_ERR_USAGE;
}

static int compile_item(sm_project *p, size_t k, const char *text, int *cap, sm_field ***fields,
                        sm_error *err)
{
    size_t b = skip_space(text, 0);
    size_t e = strlen(text);
    while (e > b && isspace((unsigned char)text[e - 1])) {
        e--;
    }
    if (e == b) {
        return sm_error_set(err, SM_ERR_USAGE, "select item %zu (`%s`): at 1: empty item", k + 1,
                            text);
    }
    if (e - b == 1 && text[b] == '*') {
        for (int i = 0; i < p->input->n_children; i++) {
            proj_item it = {.input = i};
            if (add_output(p, cap, fields, it, p->input->children[i]) != 0) {
                return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
            }
        }
        return 0;
    }
    long as = find_rename(text);
    const char *name = NULL;
    size_t expr_end = e;
    if (as >= 0) {
        size_t nb = skip_space(text, (size_t)as + 2), ne = 0;
        if (!scan_name(p->arena, text, nb, &ne, &name)) {
            return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
        }
        expr_end = (size_t)as;
        while (expr_end > b && isspace((unsigned char)text[expr_end - 1])) {
            expr_end--;
        }
        if (expr_end == b) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "select item %zu (`%s`): at %d: expected an expression before AS",
                                k + 1, text, (int)as + 1);
        }
    }
    /* a bare column: the input's own column */
    size_t ne = 0;
    const char *bare = NULL;
    if (scan_name(p->arena, text, b, &ne, &bare) && ne == expr_end) {
        int idx = input_index(p->input, bare);
        if (idx >= 0) {
            const sm_field *in = p->input->children[idx];
            sm_field *f = (sm_field *)in;
            if (name && strcmp(name, in->name) != 0) {
                if (!(f = sm_arena_alloc(p->arena, sizeof *f))) {
                    return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
                }
                *f = *in;
                f->name = name;
            }
            proj_item it = {.input = idx};
            if (add_output(p, cap, fields, it, f) != 0) {
                return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
            }
            return 0;
        }
    }
    char *etext = sm_arena_strndup(p->arena, text, expr_end);
    if (!etext) {
        return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
    }
    sm_expr *x = NULL;
    if (sm_expr_compile(etext, p->input, p->arena, &x, err) != 0) {
        return item_error(err, k, text);
    }
    proj_item it = {.input = -1, .expr = x, .kind = sm_expr_result(x)->type};
    int kind = 0, prec = 0, scale = 0;
    if (sm_expr_cast_target(x, &kind, &prec, &scale)) {
        if (kind == SM_DECIMAL || kind == SM_INT32) {
            it.kind = (sm_type)kind;
            it.precision = prec;
            it.scale = scale;
        }
    }
    if (!name) {
        sm_expr_destroy(x);
        return sm_error_set(err, SM_ERR_USAGE,
                            "select item %zu (`%s`): at %d: give the expression a name: %.*s AS "
                            "<name>",
                            k + 1, text, (int)b + 1, (int)(expr_end - b), text + b);
    }
    sm_field *f = it.kind == SM_DECIMAL
                      ? sm_field_decimal(p->arena, name, it.precision, it.scale, true)
                      : sm_field_new(p->arena, name, it.kind, true);
    if (!f || add_output(p, cap, fields, it, f) != 0) {
        sm_expr_destroy(x);
        return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
    }
    return 0;
}

/* The position (1-based) of output column `name` in item `text`, for duplicate errors: where
 * its rename starts, else 1. */
static int name_position(const char *text)
{
    long as = find_rename(text);
    return as >= 0 ? (int)skip_space(text, (size_t)as + 2) + 1 : (int)skip_space(text, 0) + 1;
}

int sm_project_new(const sm_field *input, const char *const *items, size_t n, sm_project **out,
                   sm_error *err)
{
    *out = NULL;
    if (!input || input->type != SM_STRUCT) {
        return sm_error_set(err, SM_ERR_USAGE, "select: the input schema must be a struct");
    }
    sm_arena *arena = sm_arena_create(16 * 1024, 0);
    sm_project *p = arena ? sm_arena_calloc(arena, sizeof *p) : NULL;
    if (!p) {
        sm_arena_destroy(arena);
        return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
    }
    p->arena = arena;
    p->input = input;
    int cap = 0;
    sm_field **fields = NULL;
    static const char *const star[] = {"*"};
    if (n == 0) {
        items = star;
        n = 1;
    }
    for (size_t k = 0; k < n; k++) {
        int first = p->n_items;
        if (compile_item(p, k, items[k] ? items[k] : "", &cap, &fields, err) != 0) {
            goto fail;
        }
        for (int j = first; j < p->n_items; j++) {
            for (int i = 0; i < j; i++) {
                if (strcmp(fields[i]->name, fields[j]->name) == 0) {
                    sm_error_set(err, SM_ERR_USAGE,
                                 "select item %zu (`%s`): at %d: duplicate output column '%s'",
                                 k + 1, items[k], name_position(items[k]), fields[j]->name);
                    goto fail;
                }
            }
        }
    }
    if (!(p->schema = sm_field_struct(arena, "select", fields, p->n_items, false))) {
        sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    sm_project_free(p);
    return err ? (int)err->code : SM_ERR_USAGE;
}

void sm_project_free(sm_project *p)
{
    if (!p) {
        return;
    }
    for (int i = 0; i < p->n_items; i++) {
        sm_expr_destroy(p->items[i].expr);
    }
    sm_arena_destroy(p->arena);
}

const sm_field *sm_project_schema(const sm_project *p)
{
    return p->schema;
}

int sm_project_input_column(const sm_project *p, int k)
{
    return k >= 0 && k < p->n_items ? p->items[k].input : -1;
}

/* ---- evaluating ----------------------------------------------------------------------------- */

static void set_null(sm_column *c, int64_t i)
{
    c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
    c->null_count++;
}

/* Converts the evaluated INT64 / DOUBLE column `v` to the item's INT32 or DECIMAL column `f`. */
static int convert(const proj_item *it, const sm_field *f, const sm_column *v, sm_arena *arena,
                   sm_column **out)
{
    int64_t n = v->length;
    sm_column *c = sm_arena_calloc(arena, sizeof *c);
    size_t w = sm_type_width(f);
    if (!c || !(c->values = sm_arena_calloc(arena, w * (size_t)(n ? n : 1))) ||
        !(c->validity = sm_arena_alloc(arena, (size_t)(n + 7) / 8 + 1))) {
        return -1;
    }
    memset(c->validity, 0xff, (size_t)(n + 7) / 8 + 1);
    c->field = f;
    c->length = n;
    c->capacity = n;
    if (it->kind == SM_INT32) {
        int32_t *dst = c->values;
        for (int64_t i = 0; i < n; i++) {
            int64_t x = sm_column_is_valid(v, i) ? ((const int64_t *)v->values)[i] : 0;
            if (!sm_column_is_valid(v, i) || x < INT32_MIN || x > INT32_MAX) {
                set_null(c, i);
            } else {
                dst[i] = (int32_t)x;
            }
        }
        return (*out = c, 0);
    }
    double mul = pow(10.0, it->scale), lim = pow(10.0, it->precision);
    for (int64_t i = 0; i < n; i++) {
        if (!sm_column_is_valid(v, i)) {
            set_null(c, i);
            continue;
        }
        double x = v->field->type == SM_DOUBLE ? ((const double *)v->values)[i]
                                               : (double)((const int64_t *)v->values)[i];
        double u = round(x * mul);
        if (!isfinite(u) || fabs(u) >= lim) {
            set_null(c, i);
            continue;
        }
        if (w == 4) {
            ((int32_t *)c->values)[i] = (int32_t)u;
        } else if (w == 8) {
            ((int64_t *)c->values)[i] = (int64_t)u;
        } else {
            __int128 q = (__int128)u;                      /* |u| < 1e38 < 2^127 */
            memcpy((uint8_t *)c->values + 16 * i, &q, 16); /* little-endian hosts */
        }
    }
    *out = c;
    return 0;
}

int sm_project_eval(const sm_project *p, const sm_column *batch, const sm_expr_ctx *ctx,
                    sm_arena *arena, sm_column **out, sm_error *err)
{
    *out = NULL;
    sm_column *s = sm_arena_calloc(arena, sizeof *s);
    sm_column **kids = sm_arena_calloc(arena, sizeof *kids * (size_t)(p->n_items ? p->n_items : 1));
    if (!s || !kids) {
        return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
    }
    s->field = p->schema;
    s->length = batch->length;
    s->capacity = batch->length;
    s->children = kids;
    for (int k = 0; k < p->n_items; k++) {
        const proj_item *it = &p->items[k];
        const sm_field *f = p->schema->children[k];
        if (it->input >= 0) {
            sm_column *in = batch->children[it->input];
            if (f != p->input->children[it->input]) { /* renamed: same buffers, new field */
                sm_column *c = sm_arena_alloc(arena, sizeof *c);
                if (!c) {
                    return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
                }
                *c = *in;
                c->field = f;
                in = c;
            }
            kids[k] = in;
            continue;
        }
        sm_column *v = NULL;
        int rc = sm_expr_eval(it->expr, batch, ctx, NULL, batch->length, arena, &v, err);
        if (rc != 0) {
            return rc;
        }
        if (it->kind == SM_INT32 || it->kind == SM_DECIMAL) {
            if (convert(it, f, v, arena, &v) != 0) {
                return sm_error_set(err, SM_ERR_NOMEM, "select: out of memory");
            }
        } else {
            v->field = f;
        }
        kids[k] = v;
    }
    *out = s;
    return 0;
}
