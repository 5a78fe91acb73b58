/*
 * Columns and their builder (see column.h). Buffers live in the batch arena; growing one
 * allocates a buffer twice the size and copies, leaving the old one to die with the arena, so
 * appends are amortised O(1) and nothing is freed one by one.
 */
#include "storage/column.h"

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
