/*
 * Parquet metadata encoding — see storage/parquet_format.h.
 *
 * Reading is table-driven: each struct has a table of the fields this module knows (id, name,
 * wire type, required) and a function that reads one known field. read_struct() walks the
 * fields, skips the unknown ones (and optional ones of an unexpected wire type, as Thrift's
 * generated code does; a required one is an error), adds
 * "field <id> (<name>)" to any error from below and checks the required fields at the stop.
 * Lists add "element <i>". The message thus reads as a path from the top:
 *   footer: field 4 (row_groups): element 3: field 1 (columns): element 0: field 3
 *   (meta_data): missing required field 9 (data_page_offset) (offset 123)
 *
 * DESIGN: memory is bounded by the input. Every list count is checked against the bytes left
 * before its array is allocated, assuming the smallest encoding of one element (which for
 * structs counts their required fields), and the footer's arena is capped at
 * PF_ARENA_FACTOR times the footer size plus PF_ARENA_SLACK, so even a hostile footer cannot
 * make the reader allocate much more than it is given.
 */
#include "storage/parquet_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PF_ARENA_FACTOR 64
#define PF_ARENA_SLACK  (1024 * 1024)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define TYPE_ANY (-1) /* field table: any wire type (refused fields) */

typedef struct rd {
    tc_reader r;
    sm_arena *arena; /* NULL: binaries point into the input (page headers) */
    size_t limit;    /* the arena's cap, for messages */
    sm_error *err;
} rd;

typedef struct field_desc {
    int16_t id;
    const char *name;
    int type; /* tc_type or TYPE_ANY */
    bool required;
} field_desc;

/* Reads the value of known field `id` (wire type already checked) into obj. */
typedef int (*field_fn)(rd *c, void *obj, int16_t id, tc_type type);

__attribute__((format(printf, 3, 4))) static int fail(rd *c, size_t at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sm_error_set(c->err, SM_ERR_CORRUPT, "%s (offset %zu)", what, at);
}

static int nomem(rd *c)
{
    return sm_error_set(c->err, SM_ERR_NOMEM,
                        "out of memory or over the %zu-byte limit for this footer", c->limit);
}

static const field_desc *find_field(const field_desc *fd, size_t n, int16_t id, size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        if (fd[i].id == id) {
            *idx = i;
            return &fd[i];
        }
    }
    return NULL;
}

static int read_struct(rd *c, const field_desc *fd, size_t nfd, void *obj, field_fn fn)
{
    uint32_t seen = 0; /* bit i: fd[i] was read; tables have fewer than 32 entries */
    int rc = tc_read_struct_begin(&c->r, c->err);
    if (rc) {
        return rc;
    }
    for (;;) {
        tc_type type;
        int16_t id;
        size_t at = tc_reader_pos(&c->r);
        rc = tc_read_field(&c->r, &type, &id, c->err);
        if (rc) {
            return rc;
        }
        if (type == TC_STOP) {
            break;
        }
        size_t idx;
        const field_desc *f = find_field(fd, nfd, id, &idx);
        if (!f) {
            rc = tc_skip(&c->r, type, c->err);
            if (rc) {
                sm_error_prefix(c->err, "field %d (unknown, skipped)", id);
                return rc;
            }
            continue;
        }
        if (f->type != TYPE_ANY && f->type != (int)type) {
            if (f->required) {
                return fail(c, at, "field %d (%s): expected %s, found %s", id, f->name,
                            tc_type_name(f->type), tc_type_name(type));
            }
            /* An optional field of another type: what Thrift's generated code does (and so
             * what other readers accept) is to skip it. Some old writers reused ids. */
            rc = tc_skip(&c->r, type, c->err);
            if (rc) {
                sm_error_prefix(c->err, "field %d (%s, %s, skipped)", id, f->name,
                                tc_type_name(type));
                return rc;
            }
            continue;
        }
        rc = fn(c, obj, id, type);
        if (rc) {
            sm_error_prefix(c->err, "field %d (%s)", id, f->name);
            return rc;
        }
        seen |= 1u << idx;
    }
    tc_read_struct_end(&c->r);
    for (size_t i = 0; i < nfd; i++) {
        if (fd[i].required && !(seen & (1u << i))) {
            return fail(c, tc_reader_pos(&c->r), "missing required field %d (%s)", fd[i].id,
                        fd[i].name);
        }
    }
    return SM_OK;
}

/*
 * A union: at most one member. *kind receives the member's id (0 when empty); fn reads known
 * members, unknown ones are skipped but still recorded (a newer logical type stays visible).
 */
static int read_union(rd *c, void *obj, int *kind, field_fn fn)
{
    *kind = 0;
    int rc = tc_read_struct_begin(&c->r, c->err);
    if (rc) {
        return rc;
    }
    for (;;) {
        tc_type type;
        int16_t id;
        size_t at = tc_reader_pos(&c->r);
        rc = tc_read_field(&c->r, &type, &id, c->err);
        if (rc) {
            return rc;
        }
        if (type == TC_STOP) {
            break;
        }
        if (*kind != 0) {
            return fail(c, at, "union with a second member (fields %d and %d)", *kind, id);
        }
        if (id <= 0) {
            rc = tc_skip(&c->r, type, c->err);
            if (rc) {
                sm_error_prefix(c->err, "member %d", id);
                return rc;
            }
            continue;
        }
        *kind = id;
        rc = fn(c, obj, id, type);
        if (rc) {
            sm_error_prefix(c->err, "member %d", id);
            return rc;
        }
    }
    tc_read_struct_end(&c->r);
    return SM_OK;
}

/* Union members this module does not read (TypeDefinedOrder {} and the like): skipped
 * whatever their type. */
static int skip_member(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)obj;
    (void)id;
    return tc_skip(&c->r, type, c->err);
}

static int expect_struct_member(rd *c, int16_t id, tc_type type, size_t at)
{
    if (type != TC_STRUCT) {
        return fail(c, at, "member %d: expected struct, found %s", id, tc_type_name(type));
    }
    return SM_OK;
}

static int rd_i8(rd *c, int8_t *v)
{
    return tc_read_i8(&c->r, v, c->err);
}

static int rd_i16(rd *c, int16_t *v)
{
    return tc_read_i16(&c->r, v, c->err);
}

static int rd_i32(rd *c, int32_t *v)
{
    return tc_read_i32(&c->r, v, c->err);
}

static int rd_i64(rd *c, int64_t *v)
{
    return tc_read_i64(&c->r, v, c->err);
}

static int rd_bool(rd *c, bool *v)
{
    return tc_read_bool(&c->r, v, c->err);
}

static int rd_physical_type(rd *c, int32_t *v)
{
    size_t at = tc_reader_pos(&c->r);
    int rc = rd_i32(c, v);
    if (rc == SM_OK && (*v < PF_TYPE_BOOLEAN || *v > PF_TYPE_FIXED_LEN_BYTE_ARRAY)) {
        return fail(c, at, "unknown physical type %d", (int)*v);
    }
    return rc;
}

static int rd_bytes(rd *c, pf_bytes *out)
{
    const uint8_t *d;
    size_t n;
    int rc = tc_read_binary(&c->r, &d, &n, c->err);
    if (rc) {
        return rc;
    }
    if (!c->arena) {
        out->ptr = d;
        out->len = n;
        return SM_OK;
    }
    uint8_t *copy = sm_arena_alloc(c->arena, n ? n : 1);
    if (!copy) {
        return nomem(c);
    }
    memcpy(copy, d, n);
    out->ptr = copy;
    out->len = n;
    return SM_OK;
}

static int rd_string(rd *c, const char **out)
{
    const uint8_t *d;
    size_t n;
    int rc = tc_read_binary(&c->r, &d, &n, c->err);
    if (rc) {
        return rc;
    }
    if (!c->arena) {
        return sm_error_set(c->err, SM_ERR_INTERNAL, "string read without an arena");
    }
    char *s = sm_arena_strndup(c->arena, (const char *)d, n);
    if (!s) {
        return nomem(c);
    }
    *out = s;
    return SM_OK;
}

/* A list header of `want` elements, each encoded in at least min_bytes. */
static int list_begin(rd *c, tc_type want, size_t min_bytes, uint32_t *n)
{
    size_t at = tc_reader_pos(&c->r);
    tc_type et;
    int rc = tc_read_list_begin(&c->r, &et, n, c->err);
    if (rc) {
        return rc;
    }
    if (*n > 0 && et != want) {
        return fail(c, at, "list of %s, expected a list of %s", tc_type_name(et),
                    tc_type_name(want));
    }
    size_t left = tc_reader_remaining(&c->r);
    if (min_bytes > 1 && *n > left / min_bytes) {
        return fail(c, at, "list of %u elements of at least %zu bytes exceeds the %zu bytes left",
                    *n, min_bytes, left);
    }
    return SM_OK;
}

static void *alloc_array(rd *c, uint32_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    return sm_arena_calloc(c->arena, (size_t)n * size);
}

/* ---------------------------------------------------------------------------------------- */
/* Statistics                                                                                */

static const field_desc statistics_fields[] = {
    {1, "max", TC_BINARY, false},
    {2, "min", TC_BINARY, false},
    {3, "null_count", TC_I64, false},
    {4, "distinct_count", TC_I64, false},
    {5, "max_value", TC_BINARY, false},
    {6, "min_value", TC_BINARY, false},
    {7, "is_max_value_exact", TC_BOOL, false},
    {8, "is_min_value_exact", TC_BOOL, false},
    {9, "nan_count", TC_I64, false},
};

static int statistics_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_statistics *s = obj;
    switch (id) {
    case 1:
        s->has_max = true;
        return rd_bytes(c, &s->max);
    case 2:
        s->has_min = true;
        return rd_bytes(c, &s->min);
    case 3:
        s->has_null_count = true;
        return rd_i64(c, &s->null_count);
    case 4:
        s->has_distinct_count = true;
        return rd_i64(c, &s->distinct_count);
    case 5:
        s->has_max_value = true;
        return rd_bytes(c, &s->max_value);
    case 6:
        s->has_min_value = true;
        return rd_bytes(c, &s->min_value);
    case 7:
        s->has_is_max_value_exact = true;
        return rd_bool(c, &s->is_max_value_exact);
    case 8:
        s->has_is_min_value_exact = true;
        return rd_bool(c, &s->is_min_value_exact);
    case 9:
        s->has_nan_count = true;
        return rd_i64(c, &s->nan_count);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static int read_statistics(rd *c, pf_statistics *s)
{
    memset(s, 0, sizeof *s);
    return read_struct(c, statistics_fields, ARRAY_LEN(statistics_fields), s, statistics_field);
}

/* ---------------------------------------------------------------------------------------- */
/* LogicalType                                                                               */

static const field_desc decimal_fields[] = {
    {1, "scale", TC_I32, true},
    {2, "precision", TC_I32, true},
};

static int decimal_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_logical_type *lt = obj;
    return rd_i32(c, id == 1 ? &lt->scale : &lt->precision);
}

static int time_unit_member(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)obj;
    int rc = expect_struct_member(c, id, type, tc_reader_pos(&c->r));
    return rc ? rc : tc_skip(&c->r, type, c->err); /* MilliSeconds {} etc. */
}

static const field_desc time_fields[] = {
    {1, "isAdjustedToUTC", TC_BOOL, true},
    {2, "unit", TC_STRUCT, true},
};

static int time_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_logical_type *lt = obj;
    if (id == 1) {
        return rd_bool(c, &lt->is_adjusted_to_utc);
    }
    size_t at = tc_reader_pos(&c->r);
    int rc = read_union(c, NULL, &lt->unit, time_unit_member);
    if (rc == SM_OK && lt->unit == 0) {
        return fail(c, at, "time unit union is empty");
    }
    return rc;
}

static const field_desc int_fields[] = {
    {1, "bitWidth", TC_I8, true},
    {2, "isSigned", TC_BOOL, true},
};

static int int_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_logical_type *lt = obj;
    return id == 1 ? rd_i8(c, &lt->bit_width) : rd_bool(c, &lt->is_signed);
}

static int logical_member(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_logical_type *lt = obj;
    int rc = expect_struct_member(c, id, type, tc_reader_pos(&c->r));
    if (rc) {
        return rc;
    }
    switch (id) {
    case PF_LT_DECIMAL:
        return read_struct(c, decimal_fields, ARRAY_LEN(decimal_fields), lt, decimal_field);
    case PF_LT_TIME:
    case PF_LT_TIMESTAMP:
        return read_struct(c, time_fields, ARRAY_LEN(time_fields), lt, time_field);
    case PF_LT_INTEGER:
        return read_struct(c, int_fields, ARRAY_LEN(int_fields), lt, int_field);
    default:
        return tc_skip(&c->r, type, c->err); /* empty structs, or newer kinds */
    }
}

static int read_logical_type(rd *c, pf_logical_type *lt)
{
    memset(lt, 0, sizeof *lt);
    return read_union(c, lt, &lt->kind, logical_member);
}

/* ---------------------------------------------------------------------------------------- */
/* SchemaElement, KeyValue                                                                   */

static const field_desc schema_fields[] = {
    {1, "type", TC_I32, false},
    {2, "type_length", TC_I32, false},
    {3, "repetition_type", TC_I32, false},
    {4, "name", TC_BINARY, true},
    {5, "num_children", TC_I32, false},
    {6, "converted_type", TC_I32, false},
    {7, "scale", TC_I32, false},
    {8, "precision", TC_I32, false},
    {9, "field_id", TC_I32, false},
    {10, "logicalType", TC_STRUCT, false},
};

static int schema_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_schema_element *e = obj;
    size_t at = tc_reader_pos(&c->r);
    int rc;
    switch (id) {
    case 1:
        e->has_type = true;
        return rd_physical_type(c, &e->type);
    case 2:
        e->has_type_length = true;
        return rd_i32(c, &e->type_length);
    case 3:
        e->has_repetition_type = true;
        return rd_i32(c, &e->repetition_type);
    case 4:
        return rd_string(c, &e->name);
    case 5:
        e->has_num_children = true;
        rc = rd_i32(c, &e->num_children);
        if (rc == SM_OK && e->num_children < 0) {
            return fail(c, at, "negative num_children %d", (int)e->num_children);
        }
        return rc;
    case 6:
        e->has_converted_type = true;
        return rd_i32(c, &e->converted_type);
    case 7:
        e->has_scale = true;
        return rd_i32(c, &e->scale);
    case 8:
        e->has_precision = true;
        return rd_i32(c, &e->precision);
    case 9:
        e->has_field_id = true;
        return rd_i32(c, &e->field_id);
    case 10:
        return read_logical_type(c, &e->logical_type);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc key_value_fields[] = {
    {1, "key", TC_BINARY, true},
    {2, "value", TC_BINARY, false},
};

static int key_value_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_key_value *kv = obj;
    return rd_string(c, id == 1 ? &kv->key : &kv->value);
}

/* Smallest encodings of list elements (struct: its required fields and the stop byte). */
#define MIN_SCHEMA_ELEMENT 3 /* name: header, length 0; stop */
#define MIN_KEY_VALUE      3 /* key */
#define MIN_ENCODING_STATS 7 /* three i32 fields */
#define MIN_COLUMN_CHUNK   3 /* file_offset */
#define MIN_SORTING_COLUMN 5 /* i32 and two bools */
#define MIN_ROW_GROUP      7 /* columns, total_byte_size, num_rows */
#define MIN_COLUMN_ORDER   1 /* empty union */

static int read_key_values(rd *c, pf_key_value **out, int32_t *n_out)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_KEY_VALUE, &n);
    if (rc) {
        return rc;
    }
    pf_key_value *kvs = alloc_array(c, n, sizeof *kvs);
    if (n > 0 && !kvs) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc =
            read_struct(c, key_value_fields, ARRAY_LEN(key_value_fields), &kvs[i], key_value_field);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    *out = kvs;
    *n_out = (int32_t)n;
    return SM_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* ColumnMetaData, ColumnChunk, RowGroup                                                     */

static const field_desc encoding_stats_fields[] = {
    {1, "page_type", TC_I32, true},
    {2, "encoding", TC_I32, true},
    {3, "count", TC_I32, true},
};

static int encoding_stats_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_page_encoding_stats *s = obj;
    return rd_i32(c, id == 1 ? &s->page_type : id == 2 ? &s->encoding : &s->count);
}

static const field_desc column_meta_fields[] = {
    {1, "type", TC_I32, true},
    {2, "encodings", TC_LIST, true},
    {3, "path_in_schema", TC_LIST, true},
    {4, "codec", TC_I32, true},
    {5, "num_values", TC_I64, true},
    {6, "total_uncompressed_size", TC_I64, true},
    {7, "total_compressed_size", TC_I64, true},
    {8, "key_value_metadata", TC_LIST, false},
    {9, "data_page_offset", TC_I64, true},
    {10, "index_page_offset", TC_I64, false},
    {11, "dictionary_page_offset", TC_I64, false},
    {12, "statistics", TC_STRUCT, false},
    {13, "encoding_stats", TC_LIST, false},
    {14, "bloom_filter_offset", TC_I64, false},
    {15, "bloom_filter_length", TC_I32, false},
};

static int read_encodings(rd *c, pf_column_meta_data *m)
{
    uint32_t n;
    int rc = list_begin(c, TC_I32, 1, &n);
    if (rc) {
        return rc;
    }
    m->encodings = alloc_array(c, n, sizeof *m->encodings);
    if (n > 0 && !m->encodings) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = rd_i32(c, &m->encodings[i]);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    m->n_encodings = (int32_t)n;
    return SM_OK;
}

static int read_path(rd *c, pf_column_meta_data *m)
{
    uint32_t n;
    int rc = list_begin(c, TC_BINARY, 1, &n);
    if (rc) {
        return rc;
    }
    m->path_in_schema = alloc_array(c, n, sizeof *m->path_in_schema);
    if (n > 0 && !m->path_in_schema) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = rd_string(c, &m->path_in_schema[i]);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    m->n_path_in_schema = (int32_t)n;
    return SM_OK;
}

static int read_encoding_stats(rd *c, pf_column_meta_data *m)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_ENCODING_STATS, &n);
    if (rc) {
        return rc;
    }
    m->encoding_stats = alloc_array(c, n, sizeof *m->encoding_stats);
    if (n > 0 && !m->encoding_stats) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = read_struct(c, encoding_stats_fields, ARRAY_LEN(encoding_stats_fields),
                         &m->encoding_stats[i], encoding_stats_field);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    m->n_encoding_stats = (int32_t)n;
    return SM_OK;
}

static int column_meta_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_column_meta_data *m = obj;
    switch (id) {
    case 1:
        return rd_physical_type(c, &m->type);
    case 2:
        return read_encodings(c, m);
    case 3:
        return read_path(c, m);
    case 4:
        return rd_i32(c, &m->codec);
    case 5:
        return rd_i64(c, &m->num_values);
    case 6:
        return rd_i64(c, &m->total_uncompressed_size);
    case 7:
        return rd_i64(c, &m->total_compressed_size);
    case 8:
        return read_key_values(c, &m->key_value_metadata, &m->n_key_value_metadata);
    case 9:
        return rd_i64(c, &m->data_page_offset);
    case 10:
        m->has_index_page_offset = true;
        return rd_i64(c, &m->index_page_offset);
    case 11:
        m->has_dictionary_page_offset = true;
        return rd_i64(c, &m->dictionary_page_offset);
    case 12:
        m->has_statistics = true;
        return read_statistics(c, &m->statistics);
    case 13:
        return read_encoding_stats(c, m);
    case 14:
        m->has_bloom_filter_offset = true;
        return rd_i64(c, &m->bloom_filter_offset);
    case 15:
        m->has_bloom_filter_length = true;
        return rd_i32(c, &m->bloom_filter_length);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc column_chunk_fields[] = {
    {1, "file_path", TC_BINARY, false},
    {2, "file_offset", TC_I64, true},
    {3, "meta_data", TC_STRUCT, false},
    {4, "offset_index_offset", TC_I64, false},
    {5, "offset_index_length", TC_I32, false},
    {6, "column_index_offset", TC_I64, false},
    {7, "column_index_length", TC_I32, false},
    {8, "crypto_metadata", TYPE_ANY, false},
    {9, "encrypted_column_metadata", TYPE_ANY, false},
};

static int column_chunk_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_column_chunk *cc = obj;
    size_t at = tc_reader_pos(&c->r);
    switch (id) {
    case 1:
        return rd_string(c, &cc->file_path);
    case 2:
        return rd_i64(c, &cc->file_offset);
    case 3:
        cc->meta_data = sm_arena_calloc(c->arena, sizeof *cc->meta_data);
        if (!cc->meta_data) {
            return nomem(c);
        }
        return read_struct(c, column_meta_fields, ARRAY_LEN(column_meta_fields), cc->meta_data,
                           column_meta_field);
    case 4:
        cc->has_offset_index_offset = true;
        return rd_i64(c, &cc->offset_index_offset);
    case 5:
        cc->has_offset_index_length = true;
        return rd_i32(c, &cc->offset_index_length);
    case 6:
        cc->has_column_index_offset = true;
        return rd_i64(c, &cc->column_index_offset);
    case 7:
        cc->has_column_index_length = true;
        return rd_i32(c, &cc->column_index_length);
    case 8:
    case 9:
        return fail(c, at, "encrypted column: encrypted files are not supported");
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc sorting_column_fields[] = {
    {1, "column_idx", TC_I32, true},
    {2, "descending", TC_BOOL, true},
    {3, "nulls_first", TC_BOOL, true},
};

static int sorting_column_field(rd *c, void *obj, int16_t id, tc_type type)
{
    (void)type;
    pf_sorting_column *s = obj;
    if (id == 1) {
        return rd_i32(c, &s->column_idx);
    }
    return rd_bool(c, id == 2 ? &s->descending : &s->nulls_first);
}

static const field_desc row_group_fields[] = {
    {1, "columns", TC_LIST, true},     {2, "total_byte_size", TC_I64, true},
    {3, "num_rows", TC_I64, true},     {4, "sorting_columns", TC_LIST, false},
    {5, "file_offset", TC_I64, false}, {6, "total_compressed_size", TC_I64, false},
    {7, "ordinal", TC_I16, false},
};

static int read_columns(rd *c, pf_row_group *g)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_COLUMN_CHUNK, &n);
    if (rc) {
        return rc;
    }
    g->columns = alloc_array(c, n, sizeof *g->columns);
    if (n > 0 && !g->columns) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t at = tc_reader_pos(&c->r);
        rc = read_struct(c, column_chunk_fields, ARRAY_LEN(column_chunk_fields), &g->columns[i],
                         column_chunk_field);
        if (rc == SM_OK && !g->columns[i].meta_data) {
            rc = fail(c, at, "column chunk without meta_data");
        }
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    g->n_columns = (int32_t)n;
    return SM_OK;
}

static int read_sorting_columns(rd *c, pf_row_group *g)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_SORTING_COLUMN, &n);
    if (rc) {
        return rc;
    }
    g->sorting_columns = alloc_array(c, n, sizeof *g->sorting_columns);
    if (n > 0 && !g->sorting_columns) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = read_struct(c, sorting_column_fields, ARRAY_LEN(sorting_column_fields),
                         &g->sorting_columns[i], sorting_column_field);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    g->n_sorting_columns = (int32_t)n;
    return SM_OK;
}

static int row_group_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_row_group *g = obj;
    switch (id) {
    case 1:
        return read_columns(c, g);
    case 2:
        return rd_i64(c, &g->total_byte_size);
    case 3:
        return rd_i64(c, &g->num_rows);
    case 4:
        return read_sorting_columns(c, g);
    case 5:
        g->has_file_offset = true;
        return rd_i64(c, &g->file_offset);
    case 6:
        g->has_total_compressed_size = true;
        return rd_i64(c, &g->total_compressed_size);
    case 7:
        g->has_ordinal = true;
        return rd_i16(c, &g->ordinal);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* FileMetaData                                                                              */

static const field_desc file_fields[] = {
    {1, "version", TC_I32, true},
    {2, "schema", TC_LIST, true},
    {3, "num_rows", TC_I64, true},
    {4, "row_groups", TC_LIST, true},
    {5, "key_value_metadata", TC_LIST, false},
    {6, "created_by", TC_BINARY, false},
    {7, "column_orders", TC_LIST, false},
    {8, "encryption_algorithm", TYPE_ANY, false},
    {9, "footer_signing_key_metadata", TYPE_ANY, false},
};

static int read_schema(rd *c, pf_file_metadata *md)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_SCHEMA_ELEMENT, &n);
    if (rc) {
        return rc;
    }
    md->schema = alloc_array(c, n, sizeof *md->schema);
    if (n > 0 && !md->schema) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = read_struct(c, schema_fields, ARRAY_LEN(schema_fields), &md->schema[i], schema_field);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    md->n_schema = (int32_t)n;
    return SM_OK;
}

static int read_row_groups(rd *c, pf_file_metadata *md)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_ROW_GROUP, &n);
    if (rc) {
        return rc;
    }
    md->row_groups = alloc_array(c, n, sizeof *md->row_groups);
    if (n > 0 && !md->row_groups) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = read_struct(c, row_group_fields, ARRAY_LEN(row_group_fields), &md->row_groups[i],
                         row_group_field);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
    }
    tc_read_list_end(&c->r);
    md->n_row_groups = (int32_t)n;
    return SM_OK;
}

static int read_column_orders(rd *c, pf_file_metadata *md)
{
    uint32_t n;
    int rc = list_begin(c, TC_STRUCT, MIN_COLUMN_ORDER, &n);
    if (rc) {
        return rc;
    }
    md->column_orders = alloc_array(c, n, sizeof *md->column_orders);
    if (n > 0 && !md->column_orders) {
        return nomem(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        int kind;
        rc = read_union(c, NULL, &kind, skip_member);
        if (rc) {
            sm_error_prefix(c->err, "element %u", i);
            return rc;
        }
        md->column_orders[i] = kind;
    }
    tc_read_list_end(&c->r);
    md->n_column_orders = (int32_t)n;
    return SM_OK;
}

static int file_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_file_metadata *md = obj;
    switch (id) {
    case 1:
        return rd_i32(c, &md->version);
    case 2:
        return read_schema(c, md);
    case 3:
        return rd_i64(c, &md->num_rows);
    case 4:
        return read_row_groups(c, md);
    case 5:
        return read_key_values(c, &md->key_value_metadata, &md->n_key_value_metadata);
    case 6:
        return rd_string(c, &md->created_by);
    case 7:
        return read_column_orders(c, md);
    case 8:
    case 9:
        return fail(c, tc_reader_pos(&c->r), "encrypted files are not supported");
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

int pf_read_file_metadata(const uint8_t *p, size_t len, pf_file_metadata **out, sm_error *err)
{
    *out = NULL;
    size_t limit = SIZE_MAX;
    if (len < (SIZE_MAX - PF_ARENA_SLACK) / PF_ARENA_FACTOR) {
        limit = len * PF_ARENA_FACTOR + PF_ARENA_SLACK;
    }
    sm_arena *arena = sm_arena_create(0, limit);
    if (!arena) {
        return sm_error_set(err, SM_ERR_NOMEM, "footer: out of memory");
    }
    rd c = {.arena = arena, .limit = limit, .err = err};
    tc_reader_init(&c.r, p, len);
    pf_file_metadata *md = sm_arena_calloc(arena, sizeof *md);
    int rc;
    if (!md) {
        rc = nomem(&c);
        goto fail;
    }
    md->arena = arena;
    rc = read_struct(&c, file_fields, ARRAY_LEN(file_fields), md, file_field);
    if (rc) {
        goto fail;
    }
    if (md->n_schema == 0) {
        rc = fail(&c, tc_reader_pos(&c.r), "schema is empty (no root element)");
        goto fail;
    }
    *out = md;
    return SM_OK;

fail:
    sm_error_prefix(err, "footer");
    sm_arena_destroy(arena);
    return rc;
}

void pf_file_metadata_free(pf_file_metadata *md)
{
    if (md) {
        sm_arena_destroy(md->arena); /* md itself lives in the arena */
    }
}

/* ---------------------------------------------------------------------------------------- */
/* PageHeader                                                                                */

static const field_desc data_page_fields[] = {
    {1, "num_values", TC_I32, true},
    {2, "encoding", TC_I32, true},
    {3, "definition_level_encoding", TC_I32, true},
    {4, "repetition_level_encoding", TC_I32, true},
    {5, "statistics", TC_STRUCT, false},
};

static int data_page_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_data_page_header *h = obj;
    switch (id) {
    case 1:
        return rd_i32(c, &h->num_values);
    case 2:
        return rd_i32(c, &h->encoding);
    case 3:
        return rd_i32(c, &h->definition_level_encoding);
    case 4:
        return rd_i32(c, &h->repetition_level_encoding);
    case 5:
        h->has_statistics = true;
        return read_statistics(c, &h->statistics);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc dictionary_page_fields[] = {
    {1, "num_values", TC_I32, true},
    {2, "encoding", TC_I32, true},
    {3, "is_sorted", TC_BOOL, false},
};

static int dictionary_page_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_dictionary_page_header *h = obj;
    switch (id) {
    case 1:
        return rd_i32(c, &h->num_values);
    case 2:
        return rd_i32(c, &h->encoding);
    case 3:
        h->has_is_sorted = true;
        return rd_bool(c, &h->is_sorted);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc data_page_v2_fields[] = {
    {1, "num_values", TC_I32, true},
    {2, "num_nulls", TC_I32, true},
    {3, "num_rows", TC_I32, true},
    {4, "encoding", TC_I32, true},
    {5, "definition_levels_byte_length", TC_I32, true},
    {6, "repetition_levels_byte_length", TC_I32, true},
    {7, "is_compressed", TC_BOOL, false},
    {8, "statistics", TC_STRUCT, false},
};

static int data_page_v2_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_data_page_header_v2 *h = obj;
    switch (id) {
    case 1:
        return rd_i32(c, &h->num_values);
    case 2:
        return rd_i32(c, &h->num_nulls);
    case 3:
        return rd_i32(c, &h->num_rows);
    case 4:
        return rd_i32(c, &h->encoding);
    case 5:
        return rd_i32(c, &h->definition_levels_byte_length);
    case 6:
        return rd_i32(c, &h->repetition_levels_byte_length);
    case 7:
        return rd_bool(c, &h->is_compressed);
    case 8:
        h->has_statistics = true;
        return read_statistics(c, &h->statistics);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

static const field_desc page_fields[] = {
    {1, "type", TC_I32, true},
    {2, "uncompressed_page_size", TC_I32, true},
    {3, "compressed_page_size", TC_I32, true},
    {4, "crc", TC_I32, false},
    {5, "data_page_header", TC_STRUCT, false},
    {7, "dictionary_page_header", TC_STRUCT, false},
    {8, "data_page_header_v2", TC_STRUCT, false},
};

static int page_field(rd *c, void *obj, int16_t id, tc_type type)
{
    pf_page_header *h = obj;
    switch (id) {
    case 1:
        return rd_i32(c, &h->type);
    case 2:
        return rd_i32(c, &h->uncompressed_page_size);
    case 3:
        return rd_i32(c, &h->compressed_page_size);
    case 4:
        h->has_crc = true;
        return rd_i32(c, &h->crc);
    case 5:
        h->has_data_page_header = true;
        memset(&h->data_page_header, 0, sizeof h->data_page_header);
        return read_struct(c, data_page_fields, ARRAY_LEN(data_page_fields), &h->data_page_header,
                           data_page_field);
    case 7:
        h->has_dictionary_page_header = true;
        memset(&h->dictionary_page_header, 0, sizeof h->dictionary_page_header);
        return read_struct(c, dictionary_page_fields, ARRAY_LEN(dictionary_page_fields),
                           &h->dictionary_page_header, dictionary_page_field);
    case 8:
        h->has_data_page_header_v2 = true;
        memset(&h->data_page_header_v2, 0, sizeof h->data_page_header_v2);
        h->data_page_header_v2.is_compressed = true; /* the IDL default */
        return read_struct(c, data_page_v2_fields, ARRAY_LEN(data_page_v2_fields),
                           &h->data_page_header_v2, data_page_v2_field);
    default:
        return tc_skip(&c->r, type, c->err);
    }
}

int pf_read_page_header(const uint8_t *p, size_t len, pf_page_header *out, size_t *header_len,
                        sm_error *err)
{
    memset(out, 0, sizeof *out);
    rd c = {.arena = NULL, .err = err};
    tc_reader_init(&c.r, p, len);
    int rc = read_struct(&c, page_fields, ARRAY_LEN(page_fields), out, page_field);
    if (rc == SM_OK) {
        size_t end = tc_reader_pos(&c.r);
        if (out->uncompressed_page_size < 0 || out->compressed_page_size < 0) {
            rc = fail(&c, end, "negative page size (uncompressed %d, compressed %d)",
                      (int)out->uncompressed_page_size, (int)out->compressed_page_size);
        } else if ((out->type == PF_PAGE_DATA && !out->has_data_page_header) ||
                   (out->type == PF_PAGE_DICTIONARY && !out->has_dictionary_page_header) ||
                   (out->type == PF_PAGE_DATA_V2 && !out->has_data_page_header_v2)) {
            rc =
                fail(&c, end, "%s page without its header (field %d)", pf_page_type_name(out->type),
                     out->type == PF_PAGE_DATA         ? 5
                     : out->type == PF_PAGE_DICTIONARY ? 7
                                                       : 8);
        }
    }
    if (rc) {
        sm_error_prefix(err, "page header");
        return rc;
    }
    *header_len = tc_reader_pos(&c.r);
    return SM_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Writing                                                                                   */

/* Refuses caller-built metadata the format cannot carry; puts w in its error state. */
__attribute__((format(printf, 3, 4))) static int invalid(tc_writer *w, sm_error *err,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sm_error_vset(err, SM_ERR_INTERNAL, fmt, ap);
    va_end(ap);
    tc_writer_fail(w, SM_ERR_INTERNAL, "invalid Parquet metadata");
    return SM_ERR_INTERNAL;
}

/* A list field of n elements, or an error when n and the array disagree. */
static int list_field(tc_writer *w, int16_t id, const char *name, tc_type elem, int32_t n,
                      const void *array, sm_error *err)
{
    if (n < 0 || (n > 0 && !array)) {
        return invalid(w, err, "%s: count %d with %s array", name, (int)n, array ? "an" : "no");
    }
    tc_write_field_begin(w, TC_LIST, id);
    tc_write_list_begin(w, elem, n);
    return SM_OK;
}

static void w_statistics(tc_writer *w, const pf_statistics *s)
{
    tc_write_struct_begin(w);
    if (s->has_max) {
        tc_write_field_binary(w, 1, s->max.ptr, s->max.len);
    }
    if (s->has_min) {
        tc_write_field_binary(w, 2, s->min.ptr, s->min.len);
    }
    if (s->has_null_count) {
        tc_write_field_i64(w, 3, s->null_count);
    }
    if (s->has_distinct_count) {
        tc_write_field_i64(w, 4, s->distinct_count);
    }
    if (s->has_max_value) {
        tc_write_field_binary(w, 5, s->max_value.ptr, s->max_value.len);
    }
    if (s->has_min_value) {
        tc_write_field_binary(w, 6, s->min_value.ptr, s->min_value.len);
    }
    if (s->has_is_max_value_exact) {
        tc_write_field_bool(w, 7, s->is_max_value_exact);
    }
    if (s->has_is_min_value_exact) {
        tc_write_field_bool(w, 8, s->is_min_value_exact);
    }
    if (s->has_nan_count) {
        tc_write_field_i64(w, 9, s->nan_count);
    }
    tc_write_struct_end(w);
}

static int w_logical_type(tc_writer *w, const pf_logical_type *lt, sm_error *err)
{
    if (lt->kind <= 0 || lt->kind > INT16_MAX) {
        return invalid(w, err, "logicalType: kind %d", lt->kind);
    }
    tc_write_struct_begin(w); /* the union */
    tc_write_field_begin(w, TC_STRUCT, (int16_t)lt->kind);
    tc_write_struct_begin(w);
    switch (lt->kind) {
    case PF_LT_DECIMAL:
        tc_write_field_i32(w, 1, lt->scale);
        tc_write_field_i32(w, 2, lt->precision);
        break;
    case PF_LT_TIME:
    case PF_LT_TIMESTAMP:
        if (lt->unit < PF_UNIT_MILLIS || lt->unit > PF_UNIT_NANOS) {
            return invalid(w, err, "logicalType: time unit %d", lt->unit);
        }
        tc_write_field_bool(w, 1, lt->is_adjusted_to_utc);
        tc_write_field_begin(w, TC_STRUCT, 2);
        tc_write_struct_begin(w);
        tc_write_field_empty_struct(w, (int16_t)lt->unit);
        tc_write_struct_end(w);
        break;
    case PF_LT_INTEGER:
        tc_write_field_i8(w, 1, lt->bit_width);
        tc_write_field_bool(w, 2, lt->is_signed);
        break;
    default:
        break; /* an empty struct */
    }
    tc_write_struct_end(w);
    tc_write_struct_end(w);
    return SM_OK;
}

static int w_schema_element(tc_writer *w, const pf_schema_element *e, sm_error *err)
{
    if (!e->name) {
        return invalid(w, err, "name is NULL");
    }
    tc_write_struct_begin(w);
    if (e->has_type) {
        tc_write_field_i32(w, 1, e->type);
    }
    if (e->has_type_length) {
        tc_write_field_i32(w, 2, e->type_length);
    }
    if (e->has_repetition_type) {
        tc_write_field_i32(w, 3, e->repetition_type);
    }
    tc_write_field_string(w, 4, e->name);
    if (e->has_num_children) {
        tc_write_field_i32(w, 5, e->num_children);
    }
    if (e->has_converted_type) {
        tc_write_field_i32(w, 6, e->converted_type);
    }
    if (e->has_scale) {
        tc_write_field_i32(w, 7, e->scale);
    }
    if (e->has_precision) {
        tc_write_field_i32(w, 8, e->precision);
    }
    if (e->has_field_id) {
        tc_write_field_i32(w, 9, e->field_id);
    }
    if (e->logical_type.kind != PF_LT_NONE) {
        tc_write_field_begin(w, TC_STRUCT, 10);
        int rc = w_logical_type(w, &e->logical_type, err);
        if (rc) {
            return rc;
        }
    }
    tc_write_struct_end(w);
    return SM_OK;
}

static int w_key_values(tc_writer *w, int16_t id, const pf_key_value *kvs, int32_t n, sm_error *err)
{
    if (n == 0) {
        return SM_OK;
    }
    int rc = list_field(w, id, "key_value_metadata", TC_STRUCT, n, kvs, err);
    for (int32_t i = 0; rc == SM_OK && i < n; i++) {
        if (!kvs[i].key) {
            return invalid(w, err, "key_value_metadata[%d]: key is NULL", (int)i);
        }
        tc_write_struct_begin(w);
        tc_write_field_string(w, 1, kvs[i].key);
        if (kvs[i].value) {
            tc_write_field_string(w, 2, kvs[i].value);
        }
        tc_write_struct_end(w);
    }
    return rc;
}

static int w_column_meta_data(tc_writer *w, const pf_column_meta_data *m, sm_error *err)
{
    tc_write_struct_begin(w);
    tc_write_field_i32(w, 1, m->type);
    int rc = list_field(w, 2, "encodings", TC_I32, m->n_encodings, m->encodings, err);
    for (int32_t i = 0; rc == SM_OK && i < m->n_encodings; i++) {
        tc_write_i32(w, m->encodings[i]);
    }
    if (rc == SM_OK) {
        rc = list_field(w, 3, "path_in_schema", TC_BINARY, m->n_path_in_schema, m->path_in_schema,
                        err);
    }
    for (int32_t i = 0; rc == SM_OK && i < m->n_path_in_schema; i++) {
        if (!m->path_in_schema[i]) {
            return invalid(w, err, "path_in_schema[%d] is NULL", (int)i);
        }
        tc_write_string(w, m->path_in_schema[i]);
    }
    if (rc) {
        return rc;
    }
    tc_write_field_i32(w, 4, m->codec);
    tc_write_field_i64(w, 5, m->num_values);
    tc_write_field_i64(w, 6, m->total_uncompressed_size);
    tc_write_field_i64(w, 7, m->total_compressed_size);
    rc = w_key_values(w, 8, m->key_value_metadata, m->n_key_value_metadata, err);
    if (rc) {
        return rc;
    }
    tc_write_field_i64(w, 9, m->data_page_offset);
    if (m->has_index_page_offset) {
        tc_write_field_i64(w, 10, m->index_page_offset);
    }
    if (m->has_dictionary_page_offset) {
        tc_write_field_i64(w, 11, m->dictionary_page_offset);
    }
    if (m->has_statistics) {
        tc_write_field_begin(w, TC_STRUCT, 12);
        w_statistics(w, &m->statistics);
    }
    if (m->n_encoding_stats != 0) {
        rc = list_field(w, 13, "encoding_stats", TC_STRUCT, m->n_encoding_stats, m->encoding_stats,
                        err);
        for (int32_t i = 0; rc == SM_OK && i < m->n_encoding_stats; i++) {
            const pf_page_encoding_stats *s = &m->encoding_stats[i];
            tc_write_struct_begin(w);
            tc_write_field_i32(w, 1, s->page_type);
            tc_write_field_i32(w, 2, s->encoding);
            tc_write_field_i32(w, 3, s->count);
            tc_write_struct_end(w);
        }
        if (rc) {
            return rc;
        }
    }
    if (m->has_bloom_filter_offset) {
        tc_write_field_i64(w, 14, m->bloom_filter_offset);
    }
    if (m->has_bloom_filter_length) {
        tc_write_field_i32(w, 15, m->bloom_filter_length);
    }
    tc_write_struct_end(w);
    return SM_OK;
}

static int w_column_chunk(tc_writer *w, const pf_column_chunk *cc, sm_error *err)
{
    tc_write_struct_begin(w);
    if (cc->file_path) {
        tc_write_field_string(w, 1, cc->file_path);
    }
    tc_write_field_i64(w, 2, cc->file_offset);
    if (cc->meta_data) {
        tc_write_field_begin(w, TC_STRUCT, 3);
        int rc = w_column_meta_data(w, cc->meta_data, err);
        if (rc) {
            sm_error_prefix(err, "meta_data");
            return rc;
        }
    }
    if (cc->has_offset_index_offset) {
        tc_write_field_i64(w, 4, cc->offset_index_offset);
    }
    if (cc->has_offset_index_length) {
        tc_write_field_i32(w, 5, cc->offset_index_length);
    }
    if (cc->has_column_index_offset) {
        tc_write_field_i64(w, 6, cc->column_index_offset);
    }
    if (cc->has_column_index_length) {
        tc_write_field_i32(w, 7, cc->column_index_length);
    }
    tc_write_struct_end(w);
    return SM_OK;
}

static int w_row_group(tc_writer *w, const pf_row_group *g, sm_error *err)
{
    tc_write_struct_begin(w);
    int rc = list_field(w, 1, "columns", TC_STRUCT, g->n_columns, g->columns, err);
    for (int32_t i = 0; rc == SM_OK && i < g->n_columns; i++) {
        rc = w_column_chunk(w, &g->columns[i], err);
        if (rc) {
            sm_error_prefix(err, "columns[%d]", (int)i);
        }
    }
    if (rc) {
        return rc;
    }
    tc_write_field_i64(w, 2, g->total_byte_size);
    tc_write_field_i64(w, 3, g->num_rows);
    if (g->n_sorting_columns != 0) {
        rc = list_field(w, 4, "sorting_columns", TC_STRUCT, g->n_sorting_columns,
                        g->sorting_columns, err);
        for (int32_t i = 0; rc == SM_OK && i < g->n_sorting_columns; i++) {
            const pf_sorting_column *s = &g->sorting_columns[i];
            tc_write_struct_begin(w);
            tc_write_field_i32(w, 1, s->column_idx);
            tc_write_field_bool(w, 2, s->descending);
            tc_write_field_bool(w, 3, s->nulls_first);
            tc_write_struct_end(w);
        }
        if (rc) {
            return rc;
        }
    }
    if (g->has_file_offset) {
        tc_write_field_i64(w, 5, g->file_offset);
    }
    if (g->has_total_compressed_size) {
        tc_write_field_i64(w, 6, g->total_compressed_size);
    }
    if (g->has_ordinal) {
        tc_write_field_i16(w, 7, g->ordinal);
    }
    tc_write_struct_end(w);
    return SM_OK;
}

static int w_file_metadata(tc_writer *w, const pf_file_metadata *md, sm_error *err)
{
    tc_write_struct_begin(w);
    tc_write_field_i32(w, 1, md->version);
    int rc = list_field(w, 2, "schema", TC_STRUCT, md->n_schema, md->schema, err);
    for (int32_t i = 0; rc == SM_OK && i < md->n_schema; i++) {
        rc = w_schema_element(w, &md->schema[i], err);
        if (rc) {
            sm_error_prefix(err, "schema[%d]", (int)i);
        }
    }
    if (rc) {
        return rc;
    }
    tc_write_field_i64(w, 3, md->num_rows);
    rc = list_field(w, 4, "row_groups", TC_STRUCT, md->n_row_groups, md->row_groups, err);
    for (int32_t i = 0; rc == SM_OK && i < md->n_row_groups; i++) {
        rc = w_row_group(w, &md->row_groups[i], err);
        if (rc) {
            sm_error_prefix(err, "row_groups[%d]", (int)i);
        }
    }
    if (rc == SM_OK) {
        rc = w_key_values(w, 5, md->key_value_metadata, md->n_key_value_metadata, err);
    }
    if (rc) {
        return rc;
    }
    if (md->created_by) {
        tc_write_field_string(w, 6, md->created_by);
    }
    if (md->n_column_orders != 0) {
        rc = list_field(w, 7, "column_orders", TC_STRUCT, md->n_column_orders, md->column_orders,
                        err);
        for (int32_t i = 0; rc == SM_OK && i < md->n_column_orders; i++) {
            int kind = md->column_orders[i];
            if (kind <= 0 || kind > INT16_MAX) {
                return invalid(w, err, "column_orders[%d]: kind %d", (int)i, kind);
            }
            tc_write_struct_begin(w);
            tc_write_field_empty_struct(w, (int16_t)kind);
            tc_write_struct_end(w);
        }
        if (rc) {
            return rc;
        }
    } else {
        int32_t leaves = 0;
        for (int32_t i = 0; i < md->n_schema; i++) {
            leaves += md->schema[i].has_type;
        }
        if (leaves > 0) {
            tc_write_field_begin(w, TC_LIST, 7);
            tc_write_list_begin(w, TC_STRUCT, leaves);
            for (int32_t i = 0; i < leaves; i++) {
                tc_write_struct_begin(w);
                tc_write_field_empty_struct(w, PF_ORDER_TYPE_DEFINED);
                tc_write_struct_end(w);
            }
        }
    }
    tc_write_struct_end(w);
    return SM_OK;
}

int pf_write_file_metadata(const pf_file_metadata *md, tc_writer *w, sm_error *err)
{
    int rc = tc_writer_status(w, err);
    if (rc == SM_OK) {
        rc = w_file_metadata(w, md, err);
    }
    if (rc == SM_OK) {
        rc = tc_writer_status(w, err);
    }
    if (rc) {
        sm_error_prefix(err, "footer");
    }
    return rc;
}

int pf_write_page_header(const pf_page_header *h, tc_writer *w, sm_error *err)
{
    tc_write_struct_begin(w);
    tc_write_field_i32(w, 1, h->type);
    tc_write_field_i32(w, 2, h->uncompressed_page_size);
    tc_write_field_i32(w, 3, h->compressed_page_size);
    if (h->has_crc) {
        tc_write_field_i32(w, 4, h->crc);
    }
    if (h->has_data_page_header) {
        const pf_data_page_header *d = &h->data_page_header;
        tc_write_field_begin(w, TC_STRUCT, 5);
        tc_write_struct_begin(w);
        tc_write_field_i32(w, 1, d->num_values);
        tc_write_field_i32(w, 2, d->encoding);
        tc_write_field_i32(w, 3, d->definition_level_encoding);
        tc_write_field_i32(w, 4, d->repetition_level_encoding);
        if (d->has_statistics) {
            tc_write_field_begin(w, TC_STRUCT, 5);
            w_statistics(w, &d->statistics);
        }
        tc_write_struct_end(w);
    }
    if (h->has_dictionary_page_header) {
        const pf_dictionary_page_header *d = &h->dictionary_page_header;
        tc_write_field_begin(w, TC_STRUCT, 7);
        tc_write_struct_begin(w);
        tc_write_field_i32(w, 1, d->num_values);
        tc_write_field_i32(w, 2, d->encoding);
        if (d->has_is_sorted) {
            tc_write_field_bool(w, 3, d->is_sorted);
        }
        tc_write_struct_end(w);
    }
    if (h->has_data_page_header_v2) {
        const pf_data_page_header_v2 *d = &h->data_page_header_v2;
        tc_write_field_begin(w, TC_STRUCT, 8);
        tc_write_struct_begin(w);
        tc_write_field_i32(w, 1, d->num_values);
        tc_write_field_i32(w, 2, d->num_nulls);
        tc_write_field_i32(w, 3, d->num_rows);
        tc_write_field_i32(w, 4, d->encoding);
        tc_write_field_i32(w, 5, d->definition_levels_byte_length);
        tc_write_field_i32(w, 6, d->repetition_levels_byte_length);
        tc_write_field_bool(w, 7, d->is_compressed);
        if (d->has_statistics) {
            tc_write_field_begin(w, TC_STRUCT, 8);
            w_statistics(w, &d->statistics);
        }
        tc_write_struct_end(w);
    }
    tc_write_struct_end(w);
    int rc = tc_writer_status(w, err);
    if (rc) {
        sm_error_prefix(err, "page header");
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Tail and names                                                                            */

int pf_parse_tail(const uint8_t tail[PF_TAIL_LEN], uint32_t *footer_len, sm_error *err)
{
    const uint8_t *magic = tail + 4;
    if (memcmp(magic, PF_MAGIC_ENC, PF_MAGIC_LEN) == 0) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "encrypted footer (magic PARE): encrypted files are not supported");
    }
    if (memcmp(magic, PF_MAGIC, PF_MAGIC_LEN) != 0) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "not a Parquet file: ends with %02x %02x %02x %02x, not \"PAR1\"",
                            magic[0], magic[1], magic[2], magic[3]);
    }
    *footer_len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                  (uint32_t)tail[3] << 24;
    return SM_OK;
}

const char *pf_type_name(int32_t type)
{
    static const char *const names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                        "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return type >= 0 && type < (int32_t)ARRAY_LEN(names) ? names[type] : "?";
}

const char *pf_encoding_name(int32_t encoding)
{
    static const char *const names[] = {
        "PLAIN",          "GROUP_VAR_INT",       "PLAIN_DICTIONARY",        "RLE",
        "BIT_PACKED",     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
        "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return encoding >= 0 && encoding < (int32_t)ARRAY_LEN(names) ? names[encoding] : "?";
}

const char *pf_codec_name(int32_t codec)
{
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                        "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return codec >= 0 && codec < (int32_t)ARRAY_LEN(names) ? names[codec] : "?";
}

const char *pf_page_type_name(int32_t page_type)
{
    static const char *const names[] = {"DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE",
                                        "DATA_PAGE_V2"};
    return page_type >= 0 && page_type < (int32_t)ARRAY_LEN(names) ? names[page_type] : "?";
}
