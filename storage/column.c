/*
 * Columns and their builder (see column.h). Buffers live in the batch arena; growing one
 * allocates a buffer twice the size and copies, leaving the old one to die with the arena, so
 * appends are amortised O(1) and nothing is freed one by one.
 */
#include "storage/column.h"

#include <stdlib.h>
#include <string.h>

static sm_field *field_alloc(sm_arena *arena, const char *name, sm_type type, bool nullable)
{
    sm_field *f = sm_arena_calloc(arena, sizeof *f);
    if (!f || !(f->name = sm_arena_strdup(arena, name ? name : ""))) {
        return NULL;
    }
    f->type = type;
    f->nullable = nullable;
    return f;
}

sm_field *sm_field_new(sm_arena *arena, const char *name, sm_type type, bool nullable)
{
    return field_alloc(arena, name, type, nullable);
}

sm_field *sm_field_decimal(sm_arena *arena, const char *name, int32_t precision, int32_t scale,
                           bool nullable)
{
    sm_field *f;
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
        return NULL;
    }
    if (!(f = field_alloc(arena, name, SM_DECIMAL, nullable))) {
        return NULL;
    }
    f->precision = precision;
    f->scale = scale;
    f->width = precision <= 9 ? 4 : precision <= 18 ? 8 : 16;
    return f;
}

sm_field *sm_field_fixed(sm_arena *arena, const char *name, int32_t width, bool nullable)
{
    sm_field *f;
    if (width < 1 || !(f = field_alloc(arena, name, SM_FIXED_BINARY, nullable))) {
        return NULL;
    }
    f->width = width;
    return f;
}

static sm_field *with_children(sm_arena *arena, sm_field *f, sm_field **children, int n)
{
    if (!f || !(f->children = sm_arena_alloc(arena, sizeof(sm_field *) * (size_t)(n ? n : 1)))) {
        return NULL;
    }
    if (n) {
        memcpy(f->children, children, sizeof(sm_field *) * (size_t)n);
    }
    f->n_children = n;
    return f;
}

sm_field *sm_field_struct(sm_arena *arena, const char *name, sm_field **children, int n,
                          bool nullable)
{
    return with_children(arena, field_alloc(arena, name, SM_STRUCT, nullable), children, n);
}

sm_field *sm_field_list(sm_arena *arena, const char *name, sm_field *element, bool nullable)
{
    return with_children(arena, field_alloc(arena, name, SM_LIST, nullable), &element, 1);
}

sm_field *sm_field_map(sm_arena *arena, const char *name, sm_field *key, sm_field *value,
                       bool nullable)
{
    sm_field *kv[2] = {key, value};
    sm_field *entries;
    if (!key || key->nullable) {
        return NULL; /* map keys are required, in Parquet as in Arrow */
    }
    entries = sm_field_struct(arena, "key_value", kv, 2, false);
    return entries ? with_children(arena, field_alloc(arena, name, SM_MAP, nullable), &entries, 1)
                   : NULL;
}

size_t sm_type_width(const sm_field *f)
{
    switch (f->type) {
    case SM_BOOL:
    case SM_INT8:
    case SM_UINT8:
        return 1;
    case SM_INT16:
    case SM_UINT16:
        return 2;
    case SM_INT32:
    case SM_UINT32:
    case SM_FLOAT:
    case SM_DATE:
        return 4;
    case SM_INT64:
    case SM_UINT64:
    case SM_DOUBLE:
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        return 8;
    case SM_DECIMAL:
    case SM_FIXED_BINARY:
        return (size_t)f->width;
    default:
        return 0;
    }
}

const char *sm_type_name(sm_type t)
{
    static const char *const names[SM_TYPE_COUNT] = {
        "bool",         "int8",         "int16",   "int32",  "int64",  "uint8", "uint16", "uint32",
        "uint64",       "float",        "double",  "string", "binary", "json",  "fixed",  "date",
        "timestamp_ms", "timestamp_us", "decimal", "struct", "list",   "map"};
    return (unsigned)t < SM_TYPE_COUNT ? names[t] : "unknown";
}

bool sm_type_is_unsigned(sm_type t)
{
    return t == SM_UINT8 || t == SM_UINT16 || t == SM_UINT32 || t == SM_UINT64;
}

int64_t sm_column_i64(const sm_column *c, int64_t i)
{
    const uint8_t *v = (const uint8_t *)c->values + (size_t)i * sm_type_width(c->field);
    bool is_unsigned = sm_type_is_unsigned(c->field->type);
    switch (sm_type_width(c->field)) {
    case 1:
        return is_unsigned ? (int64_t)v[0] : (int64_t)(int8_t)v[0];
    case 2: {
        uint16_t x;
        memcpy(&x, v, 2);
        return is_unsigned ? (int64_t)x : (int64_t)(int16_t)x;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, v, 4);
        return is_unsigned ? (int64_t)x : (int64_t)(int32_t)x;
    }
    default: {
        int64_t x;
        memcpy(&x, v, 8);
        return x;
    }
    }
}

uint64_t sm_column_u64(const sm_column *c, int64_t i)
{
    uint64_t x;
    memcpy(&x, (const uint8_t *)c->values + (size_t)i * 8, 8);
    return x;
}

bool sm_type_is_binary_like(sm_type t)
{
    return t == SM_STRING || t == SM_BINARY || t == SM_JSON;
}

/* ---- building ---------------------------------------------------------------------------- */

/* Copies `used` bytes of *buf into a new arena buffer of `new_size` bytes. */
static int regrow(sm_arena *arena, void **buf, size_t used, size_t new_size)
{
    void *p = sm_arena_alloc(arena, new_size ? new_size : 1);
    if (!p) {
        return -1;
    }
    if (used && *buf) {
        memcpy(p, *buf, used);
    }
    *buf = p;
    return 0;
}

static int alloc_slots(sm_arena *arena, sm_column *c, int64_t cap)
{
    size_t w = sm_type_width(c->field);
    size_t n = (size_t)c->length;
    if (w && regrow(arena, &c->values, n * w, (size_t)cap * w)) {
        return -1;
    }
    if ((sm_type_is_binary_like(c->field->type) || c->field->type == SM_LIST ||
         c->field->type == SM_MAP) &&
        regrow(arena, (void **)&c->offsets, (n + 1) * sizeof(int32_t),
               ((size_t)cap + 1) * sizeof(int32_t))) {
        return -1;
    }
    if (c->validity && regrow(arena, (void **)&c->validity, (n + 7) / 8, ((size_t)cap + 7) / 8)) {
        return -1;
    }
    c->capacity = cap;
    return 0;
}

sm_column *sm_column_new(sm_arena *arena, const sm_field *field, int64_t capacity)
{
    sm_column *c = sm_arena_calloc(arena, sizeof *c);
    if (!c) {
        return NULL;
    }
    c->field = field;
    if (capacity < 8) {
        capacity = 8;
    }
    if (alloc_slots(arena, c, capacity)) {
        return NULL;
    }
    if (c->offsets) {
        c->offsets[0] = 0;
    }
    if (field->n_children) {
        c->children = sm_arena_calloc(arena, sizeof(sm_column *) * (size_t)field->n_children);
        if (!c->children) {
            return NULL;
        }
        for (int i = 0; i < field->n_children; i++) {
            if (!(c->children[i] = sm_column_new(arena, field->children[i], capacity))) {
                return NULL;
            }
        }
    }
    return c;
}

/* Room for one more slot. */
static int reserve_slot(sm_arena *arena, sm_column *c)
{
    return c->length < c->capacity ? 0 : alloc_slots(arena, c, c->capacity * 2);
}

static void set_valid(sm_column *c, int64_t i, bool valid)
{
    if (valid) {
        c->validity[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else {
        c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
    }
}

/* Marks slot c->length valid (the bitmap exists only once a null was seen). */
static void push_valid(sm_column *c)
{
    if (c->validity) {
        set_valid(c, c->length, true);
    }
    c->length++;
}

int sm_column_append_null(sm_arena *arena, sm_column *c)
{
    size_t w = sm_type_width(c->field);
    if (reserve_slot(arena, c)) {
        return -1;
    }
    if (!c->validity) {
        size_t bytes = ((size_t)c->capacity + 7) / 8;
        if (!(c->validity = sm_arena_alloc(arena, bytes))) {
            return -1;
        }
        memset(c->validity, 0xff, bytes);
    }
    if (c->field->type == SM_STRUCT) { /* children keep the parent's length */
        for (int i = 0; i < c->field->n_children; i++) {
            if (sm_column_append_null(arena, c->children[i])) {
                return -1;
            }
        }
    }
    if (w) {
        memset((uint8_t *)c->values + (size_t)c->length * w, 0, w);
    }
    if (c->offsets) {
        c->offsets[c->length + 1] = c->offsets[c->length];
    }
    set_valid(c, c->length, false);
    c->length++;
    c->null_count++;
    return 0;
}

int sm_column_append_valid(sm_arena *arena, sm_column *c)
{
    if (reserve_slot(arena, c)) {
        return -1;
    }
    push_valid(c);
    return 0;
}

int sm_column_append_fixed(sm_arena *arena, sm_column *c, const void *value)
{
    size_t w = sm_type_width(c->field);
    if (reserve_slot(arena, c)) {
        return -1;
    }
    memcpy((uint8_t *)c->values + (size_t)c->length * w, value, w);
    push_valid(c);
    return 0;
}

int sm_column_append_bytes(sm_arena *arena, sm_column *c, const void *bytes, size_t len)
{
    int64_t need = c->data_len + (int64_t)len;
    if (need > INT32_MAX) {
        return -1; /* int32 offsets: a batch column holds at most 2 GiB of bytes */
    }
    if (reserve_slot(arena, c)) {
        return -1;
    }
    if (need > c->data_capacity) {
        int64_t cap = c->data_capacity ? c->data_capacity * 2 : 256;
        while (cap < need) {
            cap *= 2;
        }
        if (regrow(arena, (void **)&c->data, (size_t)c->data_len, (size_t)cap)) {
            return -1;
        }
        c->data_capacity = cap;
    }
    if (len) {
        memcpy(c->data + c->data_len, bytes, len);
    }
    c->data_len = need;
    c->offsets[c->length + 1] = (int32_t)need;
    push_valid(c);
    return 0;
}

int sm_column_list_end(sm_arena *arena, sm_column *c)
{
    if (reserve_slot(arena, c)) {
        return -1;
    }
    c->offsets[c->length + 1] = (int32_t)c->children[0]->length;
    push_valid(c);
    return 0;
}

int sm_column_append_i64(sm_arena *arena, sm_column *c, int64_t v)
{
    switch (sm_type_width(c->field)) {
    case 1: {
        int8_t x = (int8_t)v;
        return sm_column_append_fixed(arena, c, &x);
    }
    case 2: {
        int16_t x = (int16_t)v;
        return sm_column_append_fixed(arena, c, &x);
    }
    case 4: {
        int32_t x = (int32_t)v;
        return sm_column_append_fixed(arena, c, &x);
    }
    case 8:
        return sm_column_append_fixed(arena, c, &v);
    case 16: { /* DECIMAL(>18): little-endian two's complement, sign-extended */
        uint8_t x[16];
        memcpy(x, &v, 8);
        memset(x + 8, v < 0 ? 0xff : 0, 8);
        return sm_column_append_fixed(arena, c, x);
    }
    default:
        return -1;
    }
}

int sm_column_append_f64(sm_arena *arena, sm_column *c, double v)
{
    if (c->field->type == SM_FLOAT) {
        float x = (float)v;
        return sm_column_append_fixed(arena, c, &x);
    }
    return sm_column_append_fixed(arena, c, &v);
}

/* ---- take and append --------------------------------------------------------------------- */

/*
 * Copying rows between columns of one field. `sel` lists source rows; when it is NULL the rows
 * are start .. start + n - 1 (a contiguous run, copied with one memcpy per buffer), which is how
 * the elements of lists are reached without building a selection for them.
 */

static bool same_shape(const sm_field *a, const sm_field *b)
{
    if (a == b) {
        return true;
    }
    if (a->type != b->type || a->n_children != b->n_children ||
        sm_type_width(a) != sm_type_width(b)) {
        return false;
    }
    for (int i = 0; i < a->n_children; i++) {
        if (!same_shape(a->children[i], b->children[i])) {
            return false;
        }
    }
    return true;
}

static inline int64_t src_row(const int64_t *sel, int64_t start, int64_t i)
{
    return sel ? sel[i] : start + i;
}

/* Room for `extra` more slots, growing geometrically so repeated appends stay amortised O(1). */
static int reserve_slots(sm_arena *arena, sm_column *c, int64_t extra)
{
    int64_t need = c->length + extra;
    int64_t cap = c->capacity * 2;
    if (need <= c->capacity) {
        return 0;
    }
    return alloc_slots(arena, c, cap > need ? cap : need);
}

static int reserve_data(sm_arena *arena, sm_column *c, int64_t need)
{
    int64_t cap = c->data_capacity ? c->data_capacity * 2 : 256;
    if (need <= c->data_capacity) {
        return 0;
    }
    if (cap < need) {
        cap = need;
    }
    if (regrow(arena, (void **)&c->data, (size_t)c->data_len, (size_t)cap)) {
        return -1;
    }
    c->data_capacity = cap;
    return 0;
}

/* Copies the validity of the selected rows into slots dst->length.. (not yet counted). The
 * bitmap is made only when a null is copied, as the builder does. */
static int take_validity(sm_arena *arena, sm_column *dst, const sm_column *src, const int64_t *sel,
                         int64_t start, int64_t n)
{
    int64_t base = dst->length, nulls = 0;
    if (!src->validity) {
        if (dst->validity) {
            for (int64_t i = 0; i < n; i++) {
                set_valid(dst, base + i, true);
            }
        }
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        bool valid = sm_column_is_valid(src, src_row(sel, start, i));
        if (!valid && !dst->validity) {
            size_t bytes = ((size_t)dst->capacity + 7) / 8;
            if (!(dst->validity = sm_arena_alloc(arena, bytes))) {
                return -1;
            }
            memset(dst->validity, 0xff, bytes);
        }
        if (dst->validity) {
            set_valid(dst, base + i, valid);
        }
        nulls += !valid;
    }
    dst->null_count += nulls;
    return 0;
}

static void take_fixed(uint8_t *restrict out, const uint8_t *restrict in, size_t w,
                       const int64_t *sel, int64_t start, int64_t n)
{
    if (!sel) {
        memcpy(out, in + (size_t)start * w, (size_t)n * w);
        return;
    }
    switch (w) {
    case 1:
        for (int64_t i = 0; i < n; i++) {
            out[i] = in[sel[i]];
        }
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) {
            memcpy(out + i * 2, in + sel[i] * 2, 2);
        }
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) {
            memcpy(out + i * 4, in + sel[i] * 4, 4);
        }
        break;
    case 8:
        for (int64_t i = 0; i < n; i++) {
            memcpy(out + i * 8, in + sel[i] * 8, 8);
        }
        break;
    case 16:
        for (int64_t i = 0; i < n; i++) {
            memcpy(out + i * 16, in + sel[i] * 16, 16);
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++) {
            memcpy(out + (size_t)i * w, in + (size_t)sel[i] * w, w);
        }
        break;
    }
}

static int take_bytes(sm_arena *arena, sm_column *dst, const sm_column *src, const int64_t *sel,
                      int64_t start, int64_t n)
{
    const int32_t *so = src->offsets;
    int32_t *dof = dst->offsets + dst->length;
    int64_t total = 0;
    if (!sel) {
        total = n ? (int64_t)so[start + n] - so[start] : 0;
    } else {
        for (int64_t i = 0; i < n; i++) {
            total += (int64_t)so[sel[i] + 1] - so[sel[i]];
        }
    }
    if (dst->data_len + total > INT32_MAX) {
        return -1; /* int32 offsets: a batch column holds at most 2 GiB of bytes */
    }
    if (reserve_data(arena, dst, dst->data_len + total)) {
        return -1;
    }
    if (!sel) {
        int32_t delta = (int32_t)(dst->data_len - (n ? so[start] : 0));
        if (total) {
            memcpy(dst->data + dst->data_len, src->data + so[start], (size_t)total);
        }
        for (int64_t i = 1; i <= n; i++) {
            dof[i] = so[start + i] + delta;
        }
    } else {
        int32_t at = (int32_t)dst->data_len;
        for (int64_t i = 0; i < n; i++) {
            int32_t b = so[sel[i]], len = so[sel[i] + 1] - b;
            if (len > 0) { /* data may still be NULL while every value so far is empty */
                memcpy(dst->data + at, src->data + b, (size_t)len);
            }
            at += len;
            dof[i + 1] = at;
        }
    }
    dst->data_len += total;
    return 0;
}

static int append_rows(sm_arena *arena, sm_column *dst, const sm_column *src, const int64_t *sel,
                       int64_t start, int64_t n);

static int take_list(sm_arena *arena, sm_column *dst, const sm_column *src, const int64_t *sel,
                     int64_t start, int64_t n)
{
    const int32_t *so = src->offsets;
    int32_t *dof = dst->offsets + dst->length;
    int32_t at = (int32_t)dst->children[0]->length;
    int64_t total = 0;
    int rc;
    if (!sel) {
        int64_t first = n ? so[start] : 0;
        total = n ? (int64_t)so[start + n] - first : 0;
        if (at + total > INT32_MAX) {
            return -1;
        }
        if (append_rows(arena, dst->children[0], src->children[0], NULL, first, total)) {
            return -1;
        }
        for (int64_t i = 1; i <= n; i++) {
            dof[i] = (int32_t)(so[start + i] - first + at);
        }
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        total += (int64_t)so[sel[i] + 1] - so[sel[i]];
    }
    if (at + total > INT32_MAX) {
        return -1;
    }
    /* The elements to copy, as one selection (released before returning). */
    int64_t *esel = malloc((size_t)(total ? total : 1) * sizeof *esel);
    if (!esel) {
        return -1;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int32_t e = so[sel[i]]; e < so[sel[i] + 1]; e++) {
            esel[k++] = e;
        }
        dof[i + 1] = (int32_t)(at + k);
    }
    rc = append_rows(arena, dst->children[0], src->children[0], esel, 0, total);
    free(esel);
    return rc;
}

static int append_rows(sm_arena *arena, sm_column *dst, const sm_column *src, const int64_t *sel,
                       int64_t start, int64_t n)
{
    const sm_field *f = dst->field;
    size_t w = sm_type_width(f);
    if (reserve_slots(arena, dst, n) || take_validity(arena, dst, src, sel, start, n)) {
        return -1;
    }
    if (f->type == SM_STRUCT) {
        for (int i = 0; i < f->n_children; i++) {
            if (append_rows(arena, dst->children[i], src->children[i], sel, start, n)) {
                return -1;
            }
        }
    } else if (f->type == SM_LIST || f->type == SM_MAP) {
        if (take_list(arena, dst, src, sel, start, n)) {
            return -1;
        }
    } else if (sm_type_is_binary_like(f->type)) {
        if (take_bytes(arena, dst, src, sel, start, n)) {
            return -1;
        }
    } else if (w) {
        take_fixed((uint8_t *)dst->values + (size_t)dst->length * w, src->values, w, sel, start, n);
    }
    dst->length += n;
    return 0;
}

/* Puts `c` back to `length` slots after a failed append: what lies past is dropped (buffers
 * that grew stay grown; the bytes before `length` were never touched). */
static void truncate_to(sm_column *c, int64_t length)
{
    c->length = length;
    if (c->validity) {
        int64_t valid = 0;
        for (int64_t i = 0; i < length; i++) {
            valid += sm_column_is_valid(c, i);
        }
        c->null_count = length - valid;
    }
    if (sm_type_is_binary_like(c->field->type)) {
        c->data_len = c->offsets[length];
    }
    if (c->field->type == SM_STRUCT) {
        for (int i = 0; i < c->field->n_children; i++) {
            truncate_to(c->children[i], length);
        }
    } else if (c->field->type == SM_LIST || c->field->type == SM_MAP) {
        truncate_to(c->children[0], c->offsets[length]);
    }
}

int sm_column_append_column(sm_arena *arena, sm_column *dst, const sm_column *src,
                            const int64_t *sel, int64_t n)
{
    int64_t length = dst->length;
    if (n < 0 || !same_shape(dst->field, src->field)) {
        return -1;
    }
    if (append_rows(arena, dst, src, sel, 0, n)) {
        truncate_to(dst, length);
        return -1;
    }
    return 0;
}

int sm_column_take(sm_arena *arena, const sm_column *src, const int64_t *sel, int64_t n,
                   sm_column **out)
{
    sm_column *c;
    *out = NULL;
    if (n < 0) {
        return -1;
    }
    if (!(c = sm_column_new(arena, src->field, n)) || append_rows(arena, c, src, sel, 0, n)) {
        return -1;
    }
    *out = c;
    return 0;
}
