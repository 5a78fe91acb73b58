/*
 * The Parquet reader (see parquet_reader.h).
 *
 * Opening maps the file read-only, checks both magic numbers, decodes the footer and converts
 * the flat depth-first schema into two parallel trees: the sm_field schema callers see, and
 * rd_node, which knows for every field the levels that shape it:
 *
 *   rad  a slot of the field exists at a level entry whose definition level is >= rad (its
 *        nearest repeated ancestor has an element there);
 *   rep  ... and whose repetition level is <= rep (the entry starts a new slot, not a later
 *        element of a list below the field);
 *   def  the slot is valid (not null) when the definition level is >= def.
 *
 * Reading a row group decodes, for each selected top-level column, every leaf's column chunk
 * into definition levels, repetition levels and the dense run of its non-null values (converted
 * to the sm_type layout: narrowed integers, little-endian decimals, microsecond timestamps).
 * Then each node of the column is rebuilt from the levels of the first leaf below it (the
 * inverse of Dremel shredding): its slots are the entries that satisfy (rep, rad), its validity
 * the entries that reach def, a list's offsets count the slots of its element. Every length
 * one leaf implies for another is checked, so a file whose leaves disagree is an error, never a
 * column with children of the wrong length.
 *
 * DESIGN: the reader never reads outside the file and never allocates more than a bound derived
 * from the file's size. Every offset and length from the footer and the page headers is checked
 * against the bytes it points into before use; level and value counts are checked against the
 * column chunk's declared count, which is checked against the decode limit (bytes of levels and
 * values decoded in one row group read, r->limit: PQ_READER_EXPANSION times the file size, at
 * least PQ_READER_MIN_LIMIT); decompressed page sizes are checked against the limit and against
 * the largest ratio the page's codec can reach. Decoded columns are allocated in the caller's
 * arena, whose own limit bounds them.
 */
#include "storage/parquet_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "storage/codec.h"
#include "storage/encoding.h"

#define RD_MAX_DEPTH 64 /* schema nesting: levels fit in a byte */

/* Julian day number of 1970-01-01 (INT96 timestamps). */
#define JULIAN_EPOCH_DAY 2440588
#define US_PER_DAY       INT64_C(86400000000)

/* How a leaf's physical values become the sm layout. */
typedef enum rd_conv {
    CV_COPY = 0,    /* same bytes (also BOOLEAN, decoded one byte per value) */
    CV_I32_TO_8,    /* INT32 -> INT8 / UINT8, truncated */
    CV_I32_TO_16,   /* INT32 -> INT16 / UINT16, truncated */
    CV_I32_TO_64,   /* INT32 DECIMAL -> 8-byte decimal */
    CV_I32_TO_128,  /* INT32 DECIMAL -> 16-byte decimal */
    CV_I64_TO_32,   /* INT64 DECIMAL -> 4-byte decimal (checked) */
    CV_I64_TO_128,  /* INT64 DECIMAL -> 16-byte decimal */
    CV_BE_DECIMAL,  /* FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY big-endian -> 4/8/16-byte decimal */
    CV_NS_TO_US,    /* INT64 TIMESTAMP(NANOS) -> microseconds, rounded down */
    CV_INT96_TO_US, /* INT96 (nanoseconds of day, Julian day) -> microseconds */
} rd_conv;

typedef struct rd_node rd_node;
struct rd_node {
    sm_field *field;
    const pf_schema_element *elem; /* NULL for a list the reader made up around a field */
    int def, rep, rad;             /* see the file comment */
    bool no_nulls;                 /* map key read from an optional field: a null is corrupt */
    int leaf0, n_leaves;           /* the column chunks below, in schema order */
    int n_children;
    rd_node **children;
};

typedef struct rd_leaf {
    const pf_schema_element *elem;
    rd_node *node;
    char *path; /* dotted path_in_schema, for messages */
    const char **names;
    int n_names;
    int max_def, max_rep;
    int *rep_def; /* [r] = definition level of the r-th repeated ancestor, r = 1..max_rep */
    int32_t ptype;
    size_t pwidth; /* bytes of a physical value; 0 for BYTE_ARRAY, 1 for BOOLEAN */
    size_t width;  /* bytes of an sm value; 0 for STRING / BINARY / JSON */
    rd_conv conv;
} rd_leaf;

/* Decoded values in the sm layout: fixed width, or offsets + bytes. */
typedef struct rd_values {
    sm_buf fixed;
    int32_t *offs; /* n + 1 entries; offs[0] == 0 */
    size_t offs_cap;
    sm_buf data;
    int64_t n;
} rd_values;

/* One column chunk, decoded. */
typedef struct rd_chunk {
    uint8_t *def, *rep; /* NULL when the leaf has no such levels */
    size_t lv_cap;
    int64_t n_levels;
    rd_values v;
} rd_chunk;

struct pq_reader {
    char *path;
    const uint8_t *data;
    size_t size;
    size_t data_end; /* where the footer starts: column chunks end before */
    bool mapped;
    size_t limit;
    int64_t num_rows;
    pf_file_metadata *md;
    sm_arena *arena; /* schema fields, nodes, leaf paths */
    sm_field *schema;
    rd_node **tops;
    int n_tops;
    rd_leaf *leaves;
    int n_leaves, leaves_cap;
    codec_ctx *codec;

    /* scratch, reused */
    rd_chunk *chunks; /* one per leaf */
    rd_values dict;
    bool has_dict;
    sm_buf page;   /* decompressed page */
    sm_buf phys;   /* physical values before conversion */
    rd_values tmp; /* byte arrays before conversion */
    uint32_t *u32; /* levels / indices of one page */
    size_t u32_cap;
    size_t budget; /* bytes left to decode in this row group read */
};

/* Where a read is, for messages. */
typedef struct rd_where {
    pq_reader *r;
    int rg;
    const rd_leaf *leaf;
    int page;
} rd_where;

/* ---- errors ------------------------------------------------------------------------------ */

static int fail_at(const rd_where *w, sm_error *err, sm_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(const rd_where *w, sm_error *err, sm_code code, const char *fmt, ...)
{
    char msg[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->page >= 0) {
        return sm_error_set(err, code, "%s: row group %d, column %s, page %d: %s", w->r->path,
                            w->rg, w->leaf->path, w->page, msg);
    }
    return sm_error_set(err, code, "%s: row group %d, column %s: %s", w->r->path, w->rg,
                        w->leaf ? w->leaf->path : "?", msg);
}

/* Prefixes an error from a decoder or codec with the place. */
static int wrap_at(const rd_where *w, sm_error *err)
{
    if (w->page >= 0) {
        sm_error_prefix(err, "%s: row group %d, column %s, page %d", w->r->path, w->rg,
                        w->leaf->path, w->page);
    } else {
        sm_error_prefix(err, "%s: row group %d, column %s", w->r->path, w->rg, w->leaf->path);
    }
    return err->code ? (int)err->code : SM_ERR_INTERNAL;
}

static int nomem(sm_error *err, const char *path)
{
    return sm_error_set(err, SM_ERR_NOMEM, "%s: parquet reader: out of memory", path);
}

/* ---- small helpers ----------------------------------------------------------------------- */

static int grow_u32(pq_reader *r, size_t n)
{
    if (r->u32_cap < n || !r->u32) {
        size_t cap = r->u32_cap ? r->u32_cap : 1024;
        uint32_t *p;
        while (cap < n) {
            cap *= 2;
        }
        if (!(p = realloc(r->u32, cap * sizeof *p))) {
            return -1;
        }
        r->u32 = p;
        r->u32_cap = cap;
    }
    return 0;
}

static int grow_offs(rd_values *v, size_t n_total)
{
    if (v->offs_cap < n_total + 1 || !v->offs) {
        size_t cap = v->offs_cap ? v->offs_cap : 1024;
        int32_t *p;
        while (cap < n_total + 1) {
            cap *= 2;
        }
        if (!(p = realloc(v->offs, cap * sizeof *p))) {
            return -1;
        }
        v->offs = p;
        v->offs_cap = cap;
    }
    return 0;
}

static void values_reset(rd_values *v)
{
    sm_buf_reset(&v->fixed);
    sm_buf_reset(&v->data);
    v->n = 0;
    if (v->offs) {
        v->offs[0] = 0;
    }
}

static void values_free(rd_values *v)
{
    sm_buf_free(&v->fixed);
    sm_buf_free(&v->data);
    free(v->offs);
    memset(v, 0, sizeof *v);
}

static inline int64_t load_i64(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline int32_t load_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* b->data + off, also for an empty buffer (whose data is NULL). */
static inline const uint8_t *buf_at(const sm_buf *b, size_t off)
{
    return b->data ? b->data + off : (const uint8_t *)"";
}

/* Writes v as a `width`-byte little-endian two's complement integer (4, 8 or 16). */
static void store_int(uint8_t *dst, int64_t v, size_t width)
{
    if (width == 4) {
        int32_t x = (int32_t)v;
        memcpy(dst, &x, 4);
    } else {
        memcpy(dst, &v, 8);
        if (width == 16) {
            memset(dst + 8, v < 0 ? 0xff : 0, 8);
        }
    }
}

/* ---- schema ------------------------------------------------------------------------------ */

typedef struct rd_levels {
    int def, rep, rad;
} rd_levels;

/* State of the schema conversion: the next element and the path to it. */
typedef struct rd_schema {
    pq_reader *r;
    int pos;
    int depth;
    const char *names[RD_MAX_DEPTH];
    int rep_def[RD_MAX_DEPTH + 1];
    sm_error *err;
} rd_schema;

static int schema_fail(rd_schema *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int schema_fail(rd_schema *s, const char *fmt, ...)
{
    char msg[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sm_error_set(s->err, SM_ERR_CORRUPT, "%s: schema: %s", s->r->path, msg);
}

static sm_field *new_field(pq_reader *r, const char *name, sm_type type, bool nullable, int n)
{
    sm_field *f = sm_arena_calloc(r->arena, sizeof *f);
    if (!f || !(f->name = sm_arena_strdup(r->arena, name ? name : ""))) {
        return NULL;
    }
    f->type = type;
    f->nullable = nullable;
    f->n_children = n;
    if (n > 0 && !(f->children = sm_arena_calloc(r->arena, sizeof(sm_field *) * (size_t)n))) {
        return NULL;
    }
    return f;
}

static rd_node *new_node(pq_reader *r, sm_field *f, const pf_schema_element *e, int n_children)
{
    rd_node *n = sm_arena_calloc(r->arena, sizeof *n);
    if (!n) {
        return NULL;
    }
    n->field = f;
    n->elem = e;
    n->n_children = n_children;
    n->leaf0 = r->n_leaves;
    if (n_children > 0 &&
        !(n->children = sm_arena_calloc(r->arena, sizeof(rd_node *) * (size_t)n_children))) {
        return NULL;
    }
    return n;
}

static bool is_group(const pf_schema_element *e)
{
    return !e->has_type;
}

static int repetition_of(const pf_schema_element *e)
{
    return e->has_repetition_type ? e->repetition_type : PF_REQUIRED;
}

static bool is_list(const pf_schema_element *e)
{
    return e->logical_type.kind == PF_LT_LIST ||
           (e->logical_type.kind == PF_LT_NONE && e->has_converted_type &&
            e->converted_type == PF_CT_LIST);
}

static bool is_map(const pf_schema_element *e)
{
    return e->logical_type.kind == PF_LT_MAP ||
           (e->logical_type.kind == PF_LT_NONE && e->has_converted_type &&
            (e->converted_type == PF_CT_MAP || e->converted_type == PF_CT_MAP_KEY_VALUE));
}

/* The annotation of a leaf, from LogicalType when it names a kind this reader knows, else from
 * ConvertedType. */
typedef struct rd_annot {
    enum { AN_NONE, AN_STRING, AN_JSON, AN_DECIMAL, AN_DATE, AN_TS, AN_INT } kind;
    int32_t precision, scale;
    int unit; /* AN_TS */
    int bits; /* AN_INT */
    bool is_signed;
} rd_annot;

static rd_annot annotation(const pf_schema_element *e)
{
    rd_annot a;
    const pf_logical_type *lt = &e->logical_type;
    memset(&a, 0, sizeof a);
    if (lt->kind >= PF_LT_STRING && lt->kind <= PF_LT_GEOGRAPHY) {
        switch (lt->kind) {
        case PF_LT_STRING:
        case PF_LT_ENUM:
            a.kind = AN_STRING;
            break;
        case PF_LT_JSON:
            a.kind = AN_JSON;
            break;
        case PF_LT_DECIMAL:
            a.kind = AN_DECIMAL;
            a.precision = lt->precision;
            a.scale = lt->scale;
            break;
        case PF_LT_DATE:
            a.kind = AN_DATE;
            break;
        case PF_LT_TIMESTAMP:
            a.kind = AN_TS;
            a.unit = lt->unit;
            break;
        case PF_LT_INTEGER:
            a.kind = AN_INT;
            a.bits = lt->bit_width;
            a.is_signed = lt->is_signed;
            break;
        default:
            break;
        }
        return a;
    }
    if (!e->has_converted_type) {
        return a;
    }
    switch (e->converted_type) {
    case PF_CT_UTF8:
    case PF_CT_ENUM:
        a.kind = AN_STRING;
        break;
    case PF_CT_JSON:
        a.kind = AN_JSON;
        break;
    case PF_CT_DECIMAL:
        a.kind = AN_DECIMAL;
        a.precision = e->has_precision ? e->precision : 0;
        a.scale = e->has_scale ? e->scale : 0;
        break;
    case PF_CT_DATE:
        a.kind = AN_DATE;
        break;
    case PF_CT_TIMESTAMP_MILLIS:
        a.kind = AN_TS;
        a.unit = PF_UNIT_MILLIS;
        break;
    case PF_CT_TIMESTAMP_MICROS:
        a.kind = AN_TS;
        a.unit = PF_UNIT_MICROS;
        break;
    case PF_CT_INT_8:
    case PF_CT_INT_16:
    case PF_CT_INT_32:
    case PF_CT_INT_64:
        a.kind = AN_INT;
        a.is_signed = true;
        a.bits = 8 << (e->converted_type - PF_CT_INT_8);
        break;
    case PF_CT_UINT_8:
    case PF_CT_UINT_16:
    case PF_CT_UINT_32:
    case PF_CT_UINT_64:
        a.kind = AN_INT;
        a.bits = 8 << (e->converted_type - PF_CT_UINT_8);
        break;
    default:
        break;
    }
    return a;
}

/* sm type, width and conversion of a leaf (see the type mapping in parquet_reader.h). */
static int map_leaf(rd_schema *s, const pf_schema_element *e, sm_field *f, rd_leaf *l)
{
    rd_annot a = annotation(e);
    bool decimal = a.kind == AN_DECIMAL && a.precision >= 1 && a.precision <= 38 && a.scale >= 0 &&
                   a.scale <= a.precision;
    l->conv = CV_COPY;
    if (decimal) {
        f->precision = a.precision;
        f->scale = a.scale;
        f->width = a.precision <= 9 ? 4 : a.precision <= 18 ? 8 : 16;
    }
    switch (e->type) {
    case PF_TYPE_BOOLEAN:
        f->type = SM_BOOL;
        l->pwidth = 1;
        break;
    case PF_TYPE_INT32:
        l->pwidth = 4;
        f->type = SM_INT32;
        if (decimal) {
            f->type = SM_DECIMAL;
            l->conv = f->width == 4 ? CV_COPY : f->width == 8 ? CV_I32_TO_64 : CV_I32_TO_128;
        } else if (a.kind == AN_DATE) {
            f->type = SM_DATE;
        } else if (a.kind == AN_INT && a.bits <= 32) {
            static const sm_type types[2][3] = {{SM_UINT8, SM_UINT16, SM_UINT32},
                                                {SM_INT8, SM_INT16, SM_INT32}};
            int k = a.bits == 8 ? 0 : a.bits == 16 ? 1 : 2;
            f->type = types[a.is_signed][k];
            l->conv = k == 0 ? CV_I32_TO_8 : k == 1 ? CV_I32_TO_16 : CV_COPY;
        }
        break;
    case PF_TYPE_INT64:
        l->pwidth = 8;
        f->type = SM_INT64;
        if (decimal) {
            f->type = SM_DECIMAL;
            l->conv = f->width == 4 ? CV_I64_TO_32 : f->width == 8 ? CV_COPY : CV_I64_TO_128;
        } else if (a.kind == AN_TS && a.unit == PF_UNIT_MILLIS) {
            f->type = SM_TIMESTAMP_MS;
        } else if (a.kind == AN_TS && (a.unit == PF_UNIT_MICROS || a.unit == PF_UNIT_NANOS)) {
            f->type = SM_TIMESTAMP_US;
            l->conv = a.unit == PF_UNIT_NANOS ? CV_NS_TO_US : CV_COPY;
        } else if (a.kind == AN_INT && a.bits == 64 && !a.is_signed) {
            f->type = SM_UINT64;
        }
        break;
    case PF_TYPE_INT96:
        l->pwidth = 12;
        f->type = SM_TIMESTAMP_US;
        l->conv = CV_INT96_TO_US;
        break;
    case PF_TYPE_FLOAT:
        l->pwidth = 4;
        f->type = SM_FLOAT;
        break;
    case PF_TYPE_DOUBLE:
        l->pwidth = 8;
        f->type = SM_DOUBLE;
        break;
    case PF_TYPE_BYTE_ARRAY:
        l->pwidth = 0;
        if (decimal) {
            f->type = SM_DECIMAL;
            l->conv = CV_BE_DECIMAL;
        } else {
            f->type = a.kind == AN_STRING ? SM_STRING : a.kind == AN_JSON ? SM_JSON : SM_BINARY;
        }
        break;
    case PF_TYPE_FIXED_LEN_BYTE_ARRAY:
        if (!e->has_type_length || e->type_length < 1) {
            return schema_fail(s, "%s: FIXED_LEN_BYTE_ARRAY without a positive type_length",
                               e->name);
        }
        l->pwidth = (size_t)e->type_length;
        if (decimal) {
            f->type = SM_DECIMAL;
            l->conv = CV_BE_DECIMAL;
        } else {
            f->type = SM_FIXED_BINARY;
            f->width = e->type_length;
        }
        break;
    default:
        return schema_fail(s, "%s: unknown physical type %d", e->name, (int)e->type);
    }
    if (!decimal) {
        f->precision = f->scale = 0;
    }
    l->width = sm_type_width(f);
    return SM_OK;
}

static int convert(rd_schema *s, rd_levels lv, bool as_element, rd_node **out);

/* The leaf at s->pos - 1 (already entered). */
static int convert_leaf(rd_schema *s, const pf_schema_element *e, rd_node *n)
{
    pq_reader *r = s->r;
    rd_leaf *l;
    size_t path_len = 0;
    char *p;
    int rc;
    if (r->n_leaves == r->leaves_cap) {
        int cap = r->leaves_cap ? r->leaves_cap * 2 : 16;
        rd_leaf *grown = realloc(r->leaves, sizeof *grown * (size_t)cap);
        if (!grown) {
            return nomem(s->err, r->path);
        }
        r->leaves = grown;
        r->leaves_cap = cap;
    }
    l = &r->leaves[r->n_leaves];
    memset(l, 0, sizeof *l);
    l->elem = e;
    l->node = n;
    l->ptype = e->type;
    l->max_def = n->def;
    l->max_rep = n->rep;
    l->n_names = s->depth;
    l->names = sm_arena_alloc(r->arena, sizeof(char *) * (size_t)s->depth);
    l->rep_def = sm_arena_alloc(r->arena, sizeof(int) * (size_t)(n->rep + 1));
    for (int i = 0; i < s->depth; i++) {
        path_len += strlen(s->names[i]) + 1;
    }
    l->path = sm_arena_alloc(r->arena, path_len + 1);
    if (!l->names || !l->rep_def || !l->path) {
        return nomem(s->err, r->path);
    }
    memcpy(l->rep_def, s->rep_def, sizeof(int) * (size_t)(n->rep + 1));
    p = l->path;
    for (int i = 0; i < s->depth; i++) {
        size_t k = strlen(s->names[i]);
        l->names[i] = s->names[i];
        if (i) {
            *p++ = '.';
        }
        memcpy(p, s->names[i], k);
        p += k;
    }
    *p = '\0';
    if ((rc = map_leaf(s, e, n->field, l))) {
        return rc;
    }
    n->n_leaves = 1;
    r->n_leaves++;
    return SM_OK;
}

/* Enters the next element: checks it exists and the depth, pushes its name. */
static int enter(rd_schema *s, const pf_schema_element **e)
{
    const pf_file_metadata *md = s->r->md;
    if (s->pos >= md->n_schema) {
        return schema_fail(s, "ends inside group %s (%d elements)",
                           s->depth ? s->names[s->depth - 1] : "(root)", (int)md->n_schema);
    }
    if (s->depth >= RD_MAX_DEPTH) {
        return schema_fail(s, "nested deeper than %d levels", RD_MAX_DEPTH);
    }
    *e = &md->schema[s->pos++];
    s->names[s->depth++] = (*e)->name ? (*e)->name : "";
    return SM_OK;
}

/* The element at s->pos, not entered, or NULL past the end. */
static const pf_schema_element *peek(rd_schema *s)
{
    return s->pos < s->r->md->n_schema ? &s->r->md->schema[s->pos] : NULL;
}

/* Levels below a repeated element whose parent node is valid at definition level `def`. */
static rd_levels repeated_levels(rd_schema *s, rd_levels lv, int def)
{
    rd_levels in = {def + 1, lv.rep + 1, def + 1};
    if (in.rep <= RD_MAX_DEPTH) {
        s->rep_def[in.rep] = in.def;
    }
    return in;
}

/* A LIST-annotated group `e` whose node `n` is made (levels known); converts its element
 * following the backward-compatibility rules of LogicalTypes.md. */
static int convert_list(rd_schema *s, const pf_schema_element *e, rd_levels lv, rd_node *n)
{
    const pf_schema_element *rep = peek(s), *sub;
    rd_levels in = repeated_levels(s, lv, n->def);
    bool element_is_repeated;
    int rc;
    if (!e->has_num_children || e->num_children != 1) {
        return schema_fail(s, "LIST group %s has %d fields, not 1", e->name,
                           e->has_num_children ? (int)e->num_children : 0);
    }
    if (!rep || repetition_of(rep) != PF_REPEATED) {
        return schema_fail(s, "LIST group %s: its field is not repeated", e->name);
    }
    sub = s->pos + 1 < s->r->md->n_schema ? &s->r->md->schema[s->pos + 1] : NULL;
    if (!is_group(rep)) {
        element_is_repeated = true; /* rule 1 */
    } else if (!rep->has_num_children || rep->num_children != 1) {
        element_is_repeated = true; /* rule 2 */
    } else if (sub && repetition_of(sub) == PF_REPEATED) {
        element_is_repeated = true; /* rule 3 */
    } else {
        size_t k = strlen(e->name);
        element_is_repeated =
            strcmp(rep->name, "array") == 0 || /* rule 4 */
            (strncmp(rep->name, e->name, k) == 0 && strcmp(rep->name + k, "_tuple") == 0);
    }
    if (element_is_repeated) {
        rc = convert(s, in, true, &n->children[0]);
    } else { /* rule 5: the three-level form */
        const pf_schema_element *middle;
        if ((rc = enter(s, &middle))) {
            return rc;
        }
        rc = convert(s, in, false, &n->children[0]);
        s->depth--;
    }
    if (rc) {
        return rc;
    }
    n->field->children[0] = n->children[0]->field;
    return SM_OK;
}

/* A MAP (or MAP_KEY_VALUE) group: a repeated key_value group of key and value. Without a value
 * field the map is read as a list of its keys, like Arrow. */
static int convert_map(rd_schema *s, const pf_schema_element *e, rd_levels lv, rd_node *n)
{
    pq_reader *r = s->r;
    const pf_schema_element *kv;
    rd_levels in = repeated_levels(s, lv, n->def);
    rd_node *entries;
    sm_field *ef;
    int rc;
    if (!e->has_num_children || e->num_children != 1) {
        return schema_fail(s, "MAP group %s has %d fields, not 1", e->name,
                           e->has_num_children ? (int)e->num_children : 0);
    }
    if ((rc = enter(s, &kv))) {
        return rc;
    }
    if (repetition_of(kv) != PF_REPEATED || !is_group(kv)) {
        return schema_fail(s, "MAP group %s: %s is not a repeated group", e->name, kv->name);
    }
    if (kv->num_children == 1) {
        n->field->type = SM_LIST;
        if ((rc = convert(s, in, false, &n->children[0]))) {
            return rc;
        }
        n->field->children[0] = n->children[0]->field;
        s->depth--;
        return SM_OK;
    }
    if (kv->num_children != 2) {
        return schema_fail(s, "MAP group %s: %s has %d fields, not a key and a value", e->name,
                           kv->name, (int)kv->num_children);
    }
    if (!(ef = new_field(r, kv->name, SM_STRUCT, false, 2)) ||
        !(entries = new_node(r, ef, kv, 2))) {
        return nomem(s->err, r->path);
    }
    entries->def = in.def;
    entries->rep = in.rep;
    entries->rad = in.rad;
    for (int i = 0; i < 2; i++) {
        if ((rc = convert(s, in, false, &entries->children[i]))) {
            return rc;
        }
        ef->children[i] = entries->children[i]->field;
    }
    if (ef->children[0]->nullable) { /* keys are required; an optional one must hold no null */
        ef->children[0]->nullable = false;
        entries->children[0]->no_nulls = true;
    }
    entries->n_leaves = r->n_leaves - entries->leaf0;
    n->children[0] = entries;
    n->field->children[0] = ef;
    s->depth--;
    return SM_OK;
}

/*
 * Converts the element at s->pos and its subtree. `lv`: levels of the enclosing node.
 * as_element: the element is the repeated element of a list or map whose levels the caller
 * already counted (it reads as required); otherwise a repeated element is a required list of
 * required elements (a repeated field outside LIST and MAP annotations).
 */
static int convert(rd_schema *s, rd_levels lv, bool as_element, rd_node **out)
{
    pq_reader *r = s->r;
    const pf_schema_element *e;
    int repetition, rc;
    int n_children;
    rd_node *n;
    sm_field *f;

    if ((rc = enter(s, &e))) {
        return rc;
    }
    repetition = as_element ? PF_REQUIRED : repetition_of(e);
    if (repetition == PF_REPEATED) {
        rd_node *list;
        sm_field *lf = new_field(r, e->name, SM_LIST, false, 1);
        if (!lf || !(list = new_node(r, lf, NULL, 1))) {
            return nomem(s->err, r->path);
        }
        list->def = lv.def;
        list->rep = lv.rep;
        list->rad = lv.rad;
        s->pos--; /* convert the same element again, as the list's element */
        s->depth--;
        if ((rc = convert(s, repeated_levels(s, lv, lv.def), true, &list->children[0]))) {
            return rc;
        }
        lf->children[0] = list->children[0]->field;
        lf->children[0]->name = "element";
        list->n_leaves = r->n_leaves - list->leaf0;
        *out = list;
        return SM_OK;
    }
    if (repetition != PF_REQUIRED && repetition != PF_OPTIONAL) {
        return schema_fail(s, "%s: unknown repetition %d", e->name, repetition);
    }

    if (!is_group(e)) {
        n_children = 0;
    } else if (is_list(e) || is_map(e)) {
        n_children = 1;
    } else {
        if (!e->has_num_children || e->num_children < 1) {
            return schema_fail(s, "group %s has no fields", e->name);
        }
        if (e->num_children > r->md->n_schema - s->pos) {
            return schema_fail(s, "group %s has %d fields, the schema only %d more elements",
                               e->name, (int)e->num_children, (int)(r->md->n_schema - s->pos));
        }
        n_children = e->num_children;
    }
    f = new_field(r, e->name,
                  !is_group(e)                    ? SM_BINARY
                  : n_children == 1 && is_list(e) ? SM_LIST
                  : n_children == 1 && is_map(e)  ? SM_MAP
                                                  : SM_STRUCT,
                  repetition == PF_OPTIONAL, n_children);
    if (!f || !(n = new_node(r, f, e, n_children))) {
        return nomem(s->err, r->path);
    }
    n->def = lv.def + (repetition == PF_OPTIONAL);
    n->rep = lv.rep;
    n->rad = lv.rad;
    *out = n;

    if (!is_group(e)) {
        rc = convert_leaf(s, e, n);
    } else if (f->type == SM_LIST) {
        rc = convert_list(s, e, lv, n);
    } else if (f->type == SM_MAP) {
        rc = convert_map(s, e, lv, n);
    } else {
        rd_levels in = {n->def, lv.rep, lv.rad};
        rc = SM_OK;
        for (int i = 0; i < n_children && !rc; i++) {
            if (!(rc = convert(s, in, false, &n->children[i]))) {
                f->children[i] = n->children[i]->field;
            }
        }
    }
    if (rc) {
        return rc;
    }
    n->n_leaves = r->n_leaves - n->leaf0;
    if (n->n_leaves == 0) {
        return schema_fail(s, "group %s has no leaf column", e->name);
    }
    s->depth--;
    return SM_OK;
}

static int convert_schema(pq_reader *r, sm_error *err)
{
    const pf_file_metadata *md = r->md;
    const pf_schema_element *root;
    rd_schema s;
    int n;

    memset(&s, 0, sizeof s);
    s.r = r;
    s.err = err;
    if (md->n_schema < 1) {
        return schema_fail(&s, "no elements");
    }
    root = &md->schema[0];
    n = root->has_num_children ? root->num_children : 0;
    if (!is_group(root) || n < 0 || n > md->n_schema - 1) {
        return schema_fail(&s, "the root is not a group of at most %d fields",
                           (int)md->n_schema - 1);
    }
    s.pos = 1;
    if (!(r->schema = new_field(r, root->name, SM_STRUCT, false, n)) ||
        (n > 0 && !(r->tops = sm_arena_calloc(r->arena, sizeof(rd_node *) * (size_t)n)))) {
        return nomem(err, r->path);
    }
    r->n_tops = n;
    for (int i = 0; i < n; i++) {
        rd_levels top = {0, 0, 0};
        int rc = convert(&s, top, false, &r->tops[i]);
        if (rc) {
            return rc;
        }
        r->schema->children[i] = r->tops[i]->field;
    }
    if (s.pos != md->n_schema) {
        return schema_fail(&s, "%d elements after the last field", (int)md->n_schema - s.pos);
    }
    return SM_OK;
}

/* ---- opening ----------------------------------------------------------------------------- */

static int check_footer(pq_reader *r, sm_error *err)
{
    const pf_file_metadata *md = r->md;
    int64_t rows = 0;
    for (int g = 0; g < md->n_row_groups; g++) {
        const pf_row_group *rg = &md->row_groups[g];
        if (rg->num_rows < 0 || rg->num_rows > INT64_MAX - rows) {
            return sm_error_set(err, SM_ERR_CORRUPT, "%s: footer: row group %d: num_rows %lld",
                                r->path, g, (long long)rg->num_rows);
        }
        rows += rg->num_rows;
        if (rg->n_columns != r->n_leaves) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "%s: footer: row group %d has %d column chunks, the schema %d "
                                "leaf columns",
                                r->path, g, (int)rg->n_columns, r->n_leaves);
        }
        for (int c = 0; c < rg->n_columns; c++) {
            const pf_column_chunk *cc = &rg->columns[c];
            const pf_column_meta_data *m = cc->meta_data;
            const rd_leaf *l = &r->leaves[c];
            bool same_path = m && m->n_path_in_schema == l->n_names;
            if (cc->file_path) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "%s: row group %d, column %s: stored in another file (%s): "
                                    "not supported",
                                    r->path, g, l->path, cc->file_path);
            }
            if (!m) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "%s: footer: row group %d, column %s: no metadata", r->path, g,
                                    l->path);
            }
            for (int k = 0; same_path && k < l->n_names; k++) {
                same_path = m->path_in_schema[k] && strcmp(m->path_in_schema[k], l->names[k]) == 0;
            }
            if (!same_path || m->type != l->ptype) {
                return sm_error_set(err, SM_ERR_CORRUPT,
                                    "%s: footer: row group %d: column chunk %d (%s %s) does not "
                                    "match the schema's leaf %s (%s)",
                                    r->path, g, c,
                                    m->n_path_in_schema > 0 && m->path_in_schema[0]
                                        ? m->path_in_schema[m->n_path_in_schema - 1]
                                        : "?",
                                    pf_type_name(m->type), l->path, pf_type_name(l->ptype));
            }
        }
    }
    r->num_rows = rows; /* FileMetaData.num_rows is 0 in some files: the groups are right */
    return SM_OK;
}

/* Opens the bytes data[0..size) (owned when mapped). On error frees everything, unmaps. */
static int open_bytes(const uint8_t *data, size_t size, bool mapped, const char *name,
                      pq_reader **out, sm_error *err)
{
    pq_reader *r = calloc(1, sizeof *r);
    uint32_t footer_len;
    int rc;

    *out = NULL;
    if (!r || !(r->path = strdup(name))) {
        free(r);
        if (mapped) {
            munmap((void *)data, size);
        }
        return nomem(err, name);
    }
    r->data = data;
    r->size = size;
    r->mapped = mapped;
    r->limit =
        size > SIZE_MAX / PQ_READER_EXPANSION / 2 ? SIZE_MAX / 2 : size * PQ_READER_EXPANSION;
    if (r->limit < PQ_READER_MIN_LIMIT) {
        r->limit = PQ_READER_MIN_LIMIT;
    }
    if (size < PF_MAGIC_LEN + PF_TAIL_LEN) {
        rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: %zu bytes: too small for a Parquet file", name,
                          size);
        goto fail;
    }
    if (memcmp(data, PF_MAGIC, PF_MAGIC_LEN) != 0) {
        rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: not a Parquet file: does not start with PAR1",
                          name);
        goto fail;
    }
    if ((rc = pf_parse_tail(data + size - PF_TAIL_LEN, &footer_len, err))) {
        sm_error_prefix(err, "%s", name);
        goto fail;
    }
    if (footer_len > size - PF_MAGIC_LEN - PF_TAIL_LEN) {
        rc = sm_error_set(err, SM_ERR_CORRUPT,
                          "%s: footer: length %u exceeds the %zu bytes of the file before it", name,
                          footer_len, size - PF_MAGIC_LEN - PF_TAIL_LEN);
        goto fail;
    }
    r->data_end = size - PF_TAIL_LEN - footer_len;
    if ((rc = pf_read_file_metadata(data + r->data_end, footer_len, &r->md, err))) {
        sm_error_prefix(err, "%s: footer", name);
        goto fail;
    }
    if (!(r->arena = sm_arena_create(0, 0)) || !(r->codec = codec_ctx_create())) {
        rc = nomem(err, name);
        goto fail;
    }
    if ((rc = convert_schema(r, err)) || (rc = check_footer(r, err))) {
        goto fail;
    }
    if (r->n_leaves > 0 && !(r->chunks = calloc((size_t)r->n_leaves, sizeof *r->chunks))) {
        rc = nomem(err, name);
        goto fail;
    }
    *out = r;
    return SM_OK;

fail:
    pq_reader_close(r);
    return rc;
}

int pq_reader_open(const char *path, pq_reader **out, sm_error *err)
{
    struct stat st;
    void *p;
    int fd;
    sm_error local;

    if (!err) {
        err = &local;
    }
    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return sm_error_sys(err, SM_ERR_IO, errno, "%s: open", path);
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sm_error_sys(err, SM_ERR_IO, e, "%s: stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sm_error_set(err, SM_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size < PF_MAGIC_LEN + PF_TAIL_LEN) {
        close(fd);
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: %lld bytes: too small for a Parquet file",
                            path, (long long)st.st_size);
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        return sm_error_sys(err, SM_ERR_IO, errno, "%s: mmap", path);
    }
    return open_bytes(p, (size_t)st.st_size, true, path, out, err);
}

int pq_reader_open_memory(const uint8_t *data, size_t len, const char *name, pq_reader **out,
                          sm_error *err)
{
    sm_error local;
    if (!err) {
        err = &local;
    }
    return open_bytes(data, len, false, name ? name : "(memory)", out, err);
}

void pq_reader_close(pq_reader *r)
{
    if (!r) {
        return;
    }
    if (r->chunks) {
        for (int i = 0; i < r->n_leaves; i++) {
            free(r->chunks[i].def);
            free(r->chunks[i].rep);
            values_free(&r->chunks[i].v);
        }
        free(r->chunks);
    }
    values_free(&r->dict);
    values_free(&r->tmp);
    sm_buf_free(&r->page);
    sm_buf_free(&r->phys);
    free(r->u32);
    free(r->leaves);
    codec_ctx_destroy(r->codec);
    sm_arena_destroy(r->arena);
    pf_file_metadata_free(r->md);
    if (r->mapped) {
        munmap((void *)r->data, r->size);
    }
    free(r->path);
    free(r);
}

const sm_field *pq_reader_schema(const pq_reader *r)
{
    return r->schema;
}

const pf_file_metadata *pq_reader_metadata(const pq_reader *r)
{
    return r->md;
}

int64_t pq_reader_num_rows(const pq_reader *r)
{
    return r->num_rows;
}

int pq_reader_num_row_groups(const pq_reader *r)
{
    return r->md->n_row_groups;
}

int pq_reader_column_index(const pq_reader *r, const char *name)
{
    for (int i = 0; i < r->n_tops; i++) {
        if (strcmp(r->schema->children[i]->name, name) == 0) {
            return i;
        }
    }
    return -1;
}

void pq_reader_set_decode_limit(pq_reader *r, size_t bytes)
{
    r->limit = bytes;
}

static const pf_schema_element *find_element(const rd_node *n, const sm_field *f)
{
    if (n->field == f) {
        return n->elem;
    }
    for (int i = 0; i < n->n_children; i++) {
        const pf_schema_element *e = find_element(n->children[i], f);
        if (e) {
            return e;
        }
    }
    return NULL;
}

const pf_schema_element *pq_reader_field_element(const pq_reader *r, const sm_field *f)
{
    for (int i = 0; i < r->n_tops; i++) {
        const pf_schema_element *e = find_element(r->tops[i], f);
        if (e) {
            return e;
        }
    }
    return NULL;
}

/* ---- values ------------------------------------------------------------------------------ */

/* Charges `bytes` of decoded output to the row group's budget. */
static int charge(const rd_where *w, size_t bytes, sm_error *err)
{
    pq_reader *r = w->r;
    if (bytes > r->budget) {
        return fail_at(w, err, SM_ERR_NOMEM,
                       "decoded data exceeds the reader's limit of %zu bytes for a row group",
                       r->limit);
    }
    r->budget -= bytes;
    return SM_OK;
}

/* Converts n physical values at `src` (pwidth bytes each) to the leaf's layout at `dst`. */
static int convert_fixed(const rd_where *w, const rd_leaf *l, const uint8_t *src, size_t n,
                         uint8_t *dst, sm_error *err)
{
    size_t pw = l->pwidth, ow = l->width;
    for (size_t i = 0; i < n; i++, src += pw, dst += ow) {
        switch (l->conv) {
        case CV_COPY:
            memcpy(dst, src, ow);
            break;
        case CV_I32_TO_8:
            dst[0] = src[0];
            break;
        case CV_I32_TO_16:
            memcpy(dst, src, 2);
            break;
        case CV_I32_TO_64:
        case CV_I32_TO_128:
            store_int(dst, load_i32(src), ow);
            break;
        case CV_I64_TO_32: {
            int64_t v = load_i64(src);
            if (v < INT32_MIN || v > INT32_MAX) {
                return fail_at(w, err, SM_ERR_CORRUPT,
                               "decimal value %lld does not fit precision %d", (long long)v,
                               l->node->field->precision);
            }
            store_int(dst, v, 4);
            break;
        }
        case CV_I64_TO_128:
            store_int(dst, load_i64(src), 16);
            break;
        case CV_NS_TO_US: {
            int64_t v = floor_div(load_i64(src), 1000);
            memcpy(dst, &v, 8);
            break;
        }
        case CV_INT96_TO_US: {
            /* Spark computes (days, nanos) from microseconds with wrapping 64-bit arithmetic,
             * so timestamps near the end of the range come with an odd day and negative nanos:
             * the same wrapping arithmetic here gives back what Spark wrote. */
            int64_t nanos = load_i64(src), days = (int64_t)load_i32(src + 8) - JULIAN_EPOCH_DAY;
            uint64_t us = (uint64_t)days * (uint64_t)US_PER_DAY + (uint64_t)(nanos / 1000);
            memcpy(dst, &us, 8);
            break;
        }
        case CV_BE_DECIMAL:
            return fail_at(w, err, SM_ERR_INTERNAL, "bad conversion");
        }
    }
    return SM_OK;
}

/* A big-endian two's complement integer of len bytes into a `width`-byte little-endian one. */
static int be_decimal(const rd_where *w, const uint8_t *b, size_t len, uint8_t *dst, size_t width,
                      sm_error *err)
{
    uint8_t sign = len && (b[0] & 0x80) ? 0xff : 0;
    if (len > width) {
        for (size_t k = 0; k < len - width; k++) {
            if (b[k] != sign) {
                return fail_at(w, err, SM_ERR_CORRUPT,
                               "decimal value of %zu bytes does not fit %zu bytes", len, width);
            }
        }
        if ((b[len - width] & 0x80 ? 0xff : 0) != sign) {
            return fail_at(w, err, SM_ERR_CORRUPT,
                           "decimal value of %zu bytes does not fit %zu bytes", len, width);
        }
        b += len - width;
        len = width;
    }
    for (size_t k = 0; k < width; k++) {
        dst[k] = k < len ? b[len - 1 - k] : sign;
    }
    return SM_OK;
}

/* Room for n more fixed values in v; returns where they go. */
static uint8_t *extend_fixed(const rd_where *w, rd_values *v, size_t bytes, sm_error *err)
{
    uint8_t *p;
    if (charge(w, bytes, err)) {
        return NULL;
    }
    if (!(p = sm_buf_extend(&v->fixed, bytes, err))) {
        wrap_at(w, err);
    }
    return p;
}

/* Decodes `n` byte arrays of encoding `enc` into b (appended). */
static int decode_byte_arrays(const rd_where *w, int enc, const uint8_t *in, size_t len, size_t n,
                              rd_values *b, sm_error *err)
{
    size_t used = 0, before = b->data.len;
    int rc;
    if (grow_offs(b, (size_t)b->n + n)) {
        return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
    }
    b->offs[b->n] = (int32_t)b->data.len;
    switch (enc) {
    case PF_ENC_PLAIN:
        rc = enc_plain_decode_byte_array(in, len, n, b->offs + b->n, &b->data, &used, err);
        break;
    case PF_ENC_DELTA_LENGTH_BYTE_ARRAY:
        rc = enc_delta_length_decode(in, len, n, b->offs + b->n, &b->data, &used, err);
        break;
    case PF_ENC_DELTA_BYTE_ARRAY:
        rc = enc_delta_byte_array_decode(in, len, n, w->r->budget, b->offs + b->n, &b->data, &used,
                                         err);
        break;
    default:
        return fail_at(w, err, SM_ERR_CORRUPT, "encoding %s is not valid for %s",
                       pf_encoding_name(enc), pf_type_name(w->leaf->ptype));
    }
    if (rc) {
        return wrap_at(w, err);
    }
    b->n += (int64_t)n;
    return charge(w, b->data.len - before + 4 * n, err);
}

/*
 * Decodes n non-null values of encoding `enc` from in[0..len) and appends them, in the leaf's
 * sm layout, to `dst`. `dict`: the column chunk's dictionary (NULL when none).
 */
static int decode_values(const rd_where *w, int enc, const uint8_t *in, size_t len, size_t n,
                         const rd_values *dict, rd_values *dst, sm_error *err)
{
    pq_reader *r = w->r;
    const rd_leaf *l = w->leaf;
    bool bytes_out = l->width == 0;
    size_t used = 0;
    int rc = SM_OK;

    if (n == 0) {
        return SM_OK;
    }
    if (enc == PF_ENC_PLAIN_DICTIONARY || enc == PF_ENC_RLE_DICTIONARY) {
        if (!dict) {
            return fail_at(w, err, SM_ERR_CORRUPT, "dictionary-encoded page without a dictionary");
        }
        if (grow_u32(r, n)) {
            return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
        }
        if (enc_dict_indices_decode(in, len, n, (size_t)dict->n, r->u32, &used, err)) {
            return wrap_at(w, err);
        }
        if (!bytes_out) {
            uint8_t *p;
            if ((uint64_t)n * l->width > r->budget) {
                return charge(w, SIZE_MAX, err);
            }
            if (!(p = extend_fixed(w, dst, n * l->width, err))) {
                return err->code;
            }
            for (size_t i = 0; i < n; i++, p += l->width) {
                memcpy(p, dict->fixed.data + (size_t)r->u32[i] * l->width, l->width);
            }
            dst->n += (int64_t)n;
            return SM_OK;
        }
        if (grow_offs(dst, (size_t)dst->n + n)) {
            return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t k = r->u32[i];
            size_t vl = (size_t)(dict->offs[k + 1] - dict->offs[k]);
            if (charge(w, vl + 4, err)) {
                return err->code;
            }
            if (dst->data.len + vl > INT32_MAX) {
                return fail_at(w, err, SM_ERR_NOMEM, "more than 2 GiB of bytes in one column");
            }
            if (sm_buf_append(&dst->data, buf_at(&dict->data, (size_t)dict->offs[k]), vl, err)) {
                return wrap_at(w, err);
            }
            dst->offs[dst->n + 1] = (int32_t)dst->data.len;
            dst->n++;
        }
        return SM_OK;
    }

    if (l->ptype == PF_TYPE_BOOLEAN) {
        uint8_t *p;
        if (enc != PF_ENC_PLAIN && enc != PF_ENC_RLE) {
            return fail_at(w, err, SM_ERR_CORRUPT, "encoding %s is not valid for BOOLEAN",
                           pf_encoding_name(enc));
        }
        if (!(p = extend_fixed(w, dst, n, err))) {
            return err->code;
        }
        if (enc == PF_ENC_PLAIN) {
            rc = enc_plain_decode_bool(in, len, n, p, &used, err);
        } else {
            if (grow_u32(r, n)) {
                return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
            }
            rc = enc_rle_decode_prefixed(in, len, 1, r->u32, n, &used, err);
            for (size_t i = 0; !rc && i < n; i++) {
                p[i] = (uint8_t)r->u32[i];
            }
        }
        if (rc) {
            return wrap_at(w, err);
        }
        dst->n += (int64_t)n;
        return SM_OK;
    }

    if (l->ptype == PF_TYPE_BYTE_ARRAY) {
        uint8_t *p;
        if (bytes_out) {
            return decode_byte_arrays(w, enc, in, len, n, dst, err);
        }
        /* DECIMAL on BYTE_ARRAY */
        values_reset(&r->tmp);
        if (decode_byte_arrays(w, enc, in, len, n, &r->tmp, err)) {
            return err->code;
        }
        if (!(p = extend_fixed(w, dst, n * l->width, err))) {
            return err->code;
        }
        for (size_t i = 0; i < n; i++, p += l->width) {
            const int32_t *o = r->tmp.offs + i;
            if (be_decimal(w, buf_at(&r->tmp.data, (size_t)o[0]), (size_t)(o[1] - o[0]), p,
                           l->width, err)) {
                return err->code;
            }
        }
        dst->n += (int64_t)n;
        return SM_OK;
    }

    /* fixed-width physical types */
    {
        size_t pw = l->pwidth, ow = l->width;
        bool direct = l->conv == CV_COPY;
        uint8_t *phys, *out;
        if ((enc == PF_ENC_PLAIN || enc == PF_ENC_BYTE_STREAM_SPLIT) &&
            (uint64_t)n * pw > (uint64_t)len) {
            return fail_at(w, err, SM_ERR_CORRUPT,
                           "%zu values of %zu bytes do not fit the %zu bytes of the page", n, pw,
                           len);
        }
        if (enc == PF_ENC_DELTA_BYTE_ARRAY) {
            if (l->ptype != PF_TYPE_FIXED_LEN_BYTE_ARRAY) {
                return fail_at(w, err, SM_ERR_CORRUPT, "encoding %s is not valid for %s",
                               pf_encoding_name(enc), pf_type_name(l->ptype));
            }
            values_reset(&r->tmp);
            if (decode_byte_arrays(w, enc, in, len, n, &r->tmp, err)) {
                return err->code;
            }
            if (r->tmp.data.len != n * pw) {
                return fail_at(w, err, SM_ERR_CORRUPT,
                               "DELTA_BYTE_ARRAY values are not all %zu bytes long", pw);
            }
            for (size_t i = 0; i < n; i++) {
                if ((size_t)(r->tmp.offs[i + 1] - r->tmp.offs[i]) != pw) {
                    return fail_at(w, err, SM_ERR_CORRUPT,
                                   "DELTA_BYTE_ARRAY value %zu is %d bytes, not %zu", i,
                                   (int)(r->tmp.offs[i + 1] - r->tmp.offs[i]), pw);
                }
            }
        } else if ((uint64_t)n * pw > r->budget) {
            return charge(w, SIZE_MAX, err);
        }
        if (!(out = extend_fixed(w, dst, n * ow, err))) {
            return err->code;
        }
        if (direct) {
            phys = out;
        } else {
            sm_buf_reset(&r->phys);
            if (!(phys = sm_buf_extend(&r->phys, n * pw, err))) {
                return wrap_at(w, err);
            }
        }
        switch (enc) {
        case PF_ENC_PLAIN:
            rc = enc_plain_decode_fixed(in, len, n, pw, phys, &used, err);
            break;
        case PF_ENC_BYTE_STREAM_SPLIT:
            if (l->ptype == PF_TYPE_INT96) {
                goto bad_encoding;
            }
            rc = enc_byte_stream_split_decode(in, len, n, pw, phys, &used, err);
            break;
        case PF_ENC_DELTA_BINARY_PACKED:
            if (l->ptype == PF_TYPE_INT32) {
                rc = enc_delta_binary_decode_int32(in, len, n, (int32_t *)(void *)phys, &used, err);
            } else if (l->ptype == PF_TYPE_INT64) {
                rc = enc_delta_binary_decode_int64(in, len, n, (int64_t *)(void *)phys, &used, err);
            } else {
                goto bad_encoding;
            }
            break;
        case PF_ENC_DELTA_BYTE_ARRAY:
            memcpy(phys, r->tmp.data.data, n * pw);
            break;
        default:
            goto bad_encoding;
        }
        if (rc) {
            return wrap_at(w, err);
        }
        if (!direct) {
            if (l->conv == CV_BE_DECIMAL) {
                for (size_t i = 0; i < n; i++) {
                    if (be_decimal(w, phys + i * pw, pw, out + i * ow, ow, err)) {
                        return err->code;
                    }
                }
            } else if (convert_fixed(w, l, phys, n, out, err)) {
                return err->code;
            }
        }
        dst->n += (int64_t)n;
        return SM_OK;
    }

bad_encoding:
    return fail_at(w, err, SM_ERR_CORRUPT, "encoding %s is not valid for %s", pf_encoding_name(enc),
                   pf_type_name(l->ptype));
}

/* ---- pages ------------------------------------------------------------------------------- */

/* The largest ratio of uncompressed to compressed size a codec can produce (a little over the
 * format's maximum), 0 when unbounded. */
static size_t codec_max_ratio(int codec)
{
    switch (codec) {
    case PF_CODEC_SNAPPY:
        return 32;
    case PF_CODEC_GZIP:
        return 1100;
    case PF_CODEC_LZ4:
    case PF_CODEC_LZ4_RAW:
        return 300;
    case PF_CODEC_ZSTD:
        return 1 << 16;
    default:
        return 0;
    }
}

/* The uncompressed bytes of a page (or of a v2 page's values). */
static int page_bytes(const rd_where *w, int codec, bool compressed, const uint8_t *in,
                      size_t in_len, size_t out_len, const uint8_t **out, sm_error *err)
{
    pq_reader *r = w->r;
    size_t ratio = codec_max_ratio(codec);
    if (!compressed || codec == PF_CODEC_UNCOMPRESSED || (in_len == 0 && out_len == 0)) {
        if (in_len != out_len) {
            return fail_at(w, err, SM_ERR_CORRUPT,
                           "uncompressed page of %zu bytes, its header says %zu", in_len, out_len);
        }
        *out = in;
        return SM_OK;
    }
    if (out_len > r->limit) {
        return fail_at(w, err, SM_ERR_NOMEM,
                       "page of %zu bytes uncompressed exceeds the reader's limit of %zu", out_len,
                       r->limit);
    }
    if (ratio && out_len / ratio > in_len + 64) {
        return fail_at(w, err, SM_ERR_CORRUPT,
                       "%zu bytes of %s cannot decompress to the %zu bytes the header says", in_len,
                       pf_codec_name(codec), out_len);
    }
    sm_buf_reset(&r->page);
    if (sm_buf_reserve(&r->page, out_len ? out_len : 1, err)) {
        return wrap_at(w, err);
    }
    if (codec_ctx_decompress(r->codec, codec, in, in_len, r->page.data, out_len, err)) {
        return wrap_at(w, err);
    }
    *out = r->page.data;
    return SM_OK;
}

/* The deprecated BIT_PACKED level encoding: n values of bw bits, most significant bit first. */
static int decode_bit_packed(const uint8_t *in, size_t len, int bw, uint32_t *out, size_t n,
                             size_t *used)
{
    uint64_t bits = (uint64_t)n * (uint64_t)bw;
    uint64_t bit = 0;
    if ((bits + 7) / 8 > len) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (int k = 0; k < bw; k++, bit++) {
            v = v << 1 | ((in[bit >> 3] >> (7 - (bit & 7))) & 1);
        }
        out[i] = v;
    }
    *used = (size_t)((bits + 7) / 8);
    return 0;
}

/* Decodes n levels of max_level into dst. v1 pages name the encoding (RLE with a length prefix,
 * or BIT_PACKED); v2 pages hold the hybrid data without prefix (enc < 0). */
static int decode_levels(const rd_where *w, int enc, const uint8_t *in, size_t len, int max_level,
                         size_t n, uint8_t *dst, size_t *used, sm_error *err)
{
    pq_reader *r = w->r;
    int bw = enc_bit_width((uint64_t)max_level);
    int rc;
    if (grow_u32(r, n)) {
        return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
    }
    if (enc < 0) {
        rc = enc_rle_decode(in, len, bw, r->u32, n, used, err);
    } else if (enc == PF_ENC_RLE) {
        rc = enc_rle_decode_prefixed(in, len, bw, r->u32, n, used, err);
    } else if (enc == PF_ENC_BIT_PACKED) {
        if (decode_bit_packed(in, len, bw, r->u32, n, used)) {
            return fail_at(w, err, SM_ERR_CORRUPT,
                           "BIT_PACKED levels: %zu bytes hold fewer "
                           "than %zu values",
                           len, n);
        }
        rc = SM_OK;
    } else {
        return fail_at(w, err, SM_ERR_CORRUPT, "level encoding %s is not supported",
                       pf_encoding_name(enc));
    }
    if (rc) {
        sm_error_prefix(err, "levels");
        return wrap_at(w, err);
    }
    for (size_t i = 0; i < n; i++) {
        if (r->u32[i] > (uint32_t)max_level) {
            return fail_at(w, err, SM_ERR_CORRUPT, "level %u exceeds the column's maximum %d",
                           r->u32[i], max_level);
        }
        dst[i] = (uint8_t)r->u32[i];
    }
    return SM_OK;
}

/* Room for n more levels in chunk c. */
static int grow_levels(const rd_where *w, rd_chunk *c, size_t n, sm_error *err)
{
    const rd_leaf *l = w->leaf;
    size_t need = (size_t)c->n_levels + n;
    if (charge(w, n * (size_t)((l->max_def > 0) + (l->max_rep > 0)), err)) {
        return err->code;
    }
    if ((need > c->lv_cap || c->lv_cap == 0) && (l->max_def > 0 || l->max_rep > 0)) {
        size_t cap = c->lv_cap ? c->lv_cap : 4096;
        while (cap < need) {
            cap *= 2;
        }
        if (l->max_def > 0) {
            uint8_t *p = realloc(c->def, cap);
            if (!p) {
                return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
            }
            c->def = p;
        }
        if (l->max_rep > 0) {
            uint8_t *p = realloc(c->rep, cap);
            if (!p) {
                return fail_at(w, err, SM_ERR_NOMEM, "out of memory");
            }
            c->rep = p;
        }
        c->lv_cap = cap;
    }
    return SM_OK;
}

/* Checks the levels [from, to) of c against Dremel's rules and counts rows and values. */
static int check_levels(const rd_where *w, const rd_chunk *c, int64_t from, int64_t to,
                        int64_t *rows, size_t *values, sm_error *err)
{
    const rd_leaf *l = w->leaf;
    size_t nv = 0;
    int64_t nr = 0;
    for (int64_t i = from; i < to; i++) {
        int d = c->def ? c->def[i] : 0;
        int rp = c->rep ? c->rep[i] : 0;
        if (rp == 0) {
            nr++;
        } else {
            int need = l->rep_def[rp];
            if (i == 0) {
                return fail_at(w, err, SM_ERR_CORRUPT,
                               "the first value has repetition level %d, not 0", rp);
            }
            if (d < need || (c->def ? c->def[i - 1] : 0) < need) {
                return fail_at(w, err, SM_ERR_CORRUPT,
                               "repetition level %d at value %lld continues a list that is "
                               "empty or null",
                               rp, (long long)(i - from));
            }
        }
        nv += d == l->max_def;
    }
    *rows += nr;
    *values = nv;
    return SM_OK;
}

static int read_dictionary(const rd_where *w, const pf_page_header *h, int codec,
                           const uint8_t *body, sm_error *err)
{
    pq_reader *r = w->r;
    const pf_dictionary_page_header *dh = &h->dictionary_page_header;
    const uint8_t *bytes;
    size_t len = (size_t)h->uncompressed_page_size;
    if (r->has_dict) {
        return fail_at(w, err, SM_ERR_CORRUPT, "a second dictionary page");
    }
    if (dh->encoding != PF_ENC_PLAIN && dh->encoding != PF_ENC_PLAIN_DICTIONARY) {
        return fail_at(w, err, SM_ERR_CORRUPT, "dictionary page encoding %s is not supported",
                       pf_encoding_name(dh->encoding));
    }
    if (dh->num_values < 0 || (uint64_t)dh->num_values > (uint64_t)len * 8) {
        return fail_at(w, err, SM_ERR_CORRUPT, "dictionary of %d values in %zu bytes",
                       (int)dh->num_values, len);
    }
    if (page_bytes(w, codec, true, body, (size_t)h->compressed_page_size, len, &bytes, err)) {
        return err->code;
    }
    values_reset(&r->dict);
    if (decode_values(w, PF_ENC_PLAIN, bytes, len, (size_t)dh->num_values, NULL, &r->dict, err)) {
        return err->code;
    }
    r->has_dict = true;
    return SM_OK;
}

static int read_data_page(const rd_where *w, const pf_page_header *h, int codec,
                          const uint8_t *body, rd_chunk *c, int64_t declared, int64_t *rows,
                          sm_error *err)
{
    pq_reader *r = w->r;
    const rd_leaf *l = w->leaf;
    bool v2 = h->type == PF_PAGE_DATA_V2;
    int32_t num = v2 ? h->data_page_header_v2.num_values : h->data_page_header.num_values;
    int enc = v2 ? h->data_page_header_v2.encoding : h->data_page_header.encoding;
    size_t n, pos = 0, used = 0, values = 0, len;
    const uint8_t *bytes;
    int64_t first = c->n_levels;

    if (num < 0 || num > declared - c->n_levels) {
        return fail_at(w, err, SM_ERR_CORRUPT, "%d values, past the %lld the column chunk declares",
                       (int)num, (long long)declared);
    }
    n = (size_t)num;
    if (grow_levels(w, c, n, err)) {
        return err->code;
    }
    if (v2) {
        const pf_data_page_header_v2 *h2 = &h->data_page_header_v2;
        size_t rl = (size_t)h2->repetition_levels_byte_length;
        size_t dl = (size_t)h2->definition_levels_byte_length;
        if (h2->repetition_levels_byte_length < 0 || h2->definition_levels_byte_length < 0 ||
            rl + dl > (size_t)h->compressed_page_size ||
            rl + dl > (size_t)h->uncompressed_page_size) {
            return fail_at(w, err, SM_ERR_CORRUPT,
                           "level lengths %d + %d exceed the page (%d bytes)",
                           (int)h2->repetition_levels_byte_length,
                           (int)h2->definition_levels_byte_length, (int)h->compressed_page_size);
        }
        if (l->max_rep > 0 &&
            decode_levels(w, -1, body, rl, l->max_rep, n, c->rep + first, &used, err)) {
            return err->code;
        }
        if (l->max_def > 0 &&
            decode_levels(w, -1, body + rl, dl, l->max_def, n, c->def + first, &used, err)) {
            return err->code;
        }
        len = (size_t)h->uncompressed_page_size - rl - dl;
        if (page_bytes(w, codec, h2->is_compressed, body + rl + dl,
                       (size_t)h->compressed_page_size - rl - dl, len, &bytes, err)) {
            return err->code;
        }
    } else {
        const pf_data_page_header *h1 = &h->data_page_header;
        len = (size_t)h->uncompressed_page_size;
        if (page_bytes(w, codec, true, body, (size_t)h->compressed_page_size, len, &bytes, err)) {
            return err->code;
        }
        if (l->max_rep > 0) {
            if (decode_levels(w, h1->repetition_level_encoding, bytes, len, l->max_rep, n,
                              c->rep + first, &used, err)) {
                return err->code;
            }
            pos += used;
        }
        if (l->max_def > 0) {
            if (decode_levels(w, h1->definition_level_encoding, bytes + pos, len - pos, l->max_def,
                              n, c->def + first, &used, err)) {
                return err->code;
            }
            pos += used;
        }
    }
    c->n_levels += (int64_t)n;
    if (check_levels(w, c, first, c->n_levels, rows, &values, err)) {
        return err->code;
    }
    return decode_values(w, enc, bytes + pos, len - pos, values, r->has_dict ? &r->dict : NULL,
                         &c->v, err);
}

/* Decodes the column chunk of leaf `li` in row group `rg` into r->chunks[li]. */
static int read_chunk(pq_reader *r, int rg, int li, sm_error *err)
{
    const pf_row_group *g = &r->md->row_groups[rg];
    const pf_column_meta_data *m = g->columns[li].meta_data;
    rd_chunk *c = &r->chunks[li];
    rd_where w = {r, rg, &r->leaves[li], -1};
    size_t data_end = r->data_end;
    int64_t start = m->data_page_offset, len = m->total_compressed_size, rows = 0;
    const uint8_t *chunk;
    size_t pos = 0;

    c->n_levels = 0;
    values_reset(&c->v);
    r->has_dict = false;
    if (m->codec == PF_CODEC_LZO) {
        return fail_at(&w, err, SM_ERR_CORRUPT, "codec LZO is not supported");
    }
    if (m->codec < PF_CODEC_UNCOMPRESSED || m->codec > PF_CODEC_LZ4_RAW) {
        return fail_at(&w, err, SM_ERR_CORRUPT, "unknown codec %d", (int)m->codec);
    }
    if (m->num_values == 0) { /* nothing stored: some writers leave the offsets at 0 */
        if (g->num_rows != 0) {
            return fail_at(&w, err, SM_ERR_CORRUPT, "no values for the row group's %lld rows",
                           (long long)g->num_rows);
        }
        return SM_OK;
    }
    if (m->num_values < 0) {
        return fail_at(&w, err, SM_ERR_CORRUPT, "num_values %lld", (long long)m->num_values);
    }
    if ((uint64_t)m->num_values > r->budget) {
        return fail_at(&w, err, SM_ERR_NOMEM,
                       "%lld values exceed the reader's limit of %zu bytes for a row group",
                       (long long)m->num_values, r->limit);
    }
    if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
        m->dictionary_page_offset < start) {
        start = m->dictionary_page_offset;
    }
    if (start < PF_MAGIC_LEN || len < 0 || (uint64_t)start > data_end ||
        (uint64_t)len > data_end - (uint64_t)start) {
        return fail_at(&w, err, SM_ERR_CORRUPT,
                       "column chunk at offset %lld, %lld bytes, is outside the file's %zu "
                       "bytes of data",
                       (long long)start, (long long)len, data_end);
    }
    chunk = r->data + start;
    for (w.page = 0; c->n_levels < m->num_values; w.page++) {
        pf_page_header h;
        size_t hl;
        if (pos >= (size_t)len) {
            return fail_at(&w, err, SM_ERR_CORRUPT,
                           "the column chunk ends after %lld of its %lld values",
                           (long long)c->n_levels, (long long)m->num_values);
        }
        if (pf_read_page_header(chunk + pos, (size_t)len - pos, &h, &hl, err)) {
            sm_error_prefix(err, "page header");
            return wrap_at(&w, err);
        }
        pos += hl;
        if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0 ||
            (size_t)h.compressed_page_size > (size_t)len - pos) {
            return fail_at(&w, err, SM_ERR_CORRUPT,
                           "page of %d bytes runs past the column chunk (%zu bytes left)",
                           (int)h.compressed_page_size, (size_t)len - pos);
        }
        switch (h.type) {
        case PF_PAGE_DICTIONARY:
            if (c->n_levels > 0) {
                return fail_at(&w, err, SM_ERR_CORRUPT, "dictionary page after data pages");
            }
            if (read_dictionary(&w, &h, m->codec, chunk + pos, err)) {
                return err->code;
            }
            break;
        case PF_PAGE_DATA:
        case PF_PAGE_DATA_V2:
            if (read_data_page(&w, &h, m->codec, chunk + pos, c, m->num_values, &rows, err)) {
                return err->code;
            }
            break;
        default: /* index pages and newer kinds: skipped */
            break;
        }
        pos += (size_t)h.compressed_page_size;
    }
    w.page = -1;
    if (rows != g->num_rows) {
        return fail_at(&w, err, SM_ERR_CORRUPT, "%lld rows, the row group has %lld",
                       (long long)rows, (long long)g->num_rows);
    }
    return SM_OK;
}

/* ---- assembly ---------------------------------------------------------------------------- */

static sm_field *copy_field(sm_arena *a, const sm_field *f)
{
    sm_field *c = sm_arena_alloc(a, sizeof *c);
    if (!c) {
        return NULL;
    }
    *c = *f;
    if (!(c->name = sm_arena_strdup(a, f->name))) {
        return NULL;
    }
    if (f->n_children > 0) {
        if (!(c->children = sm_arena_alloc(a, sizeof(sm_field *) * (size_t)f->n_children))) {
            return NULL;
        }
        for (int i = 0; i < f->n_children; i++) {
            if (!(c->children[i] = copy_field(a, f->children[i]))) {
                return NULL;
            }
        }
    }
    return c;
}

#define SLOT(c, n, i)                                                                              \
    (((c)->rep ? (c)->rep[i] : 0) <= (n)->rep && ((c)->def ? (c)->def[i] : 0) >= (n)->rad)
#define VALID(c, n, i) (((c)->def ? (c)->def[i] : 0) >= (n)->def)

/* Rebuilds the column of node n (field f, a copy in the caller's arena) from the levels of the
 * first leaf below it. */
static int assemble(pq_reader *r, int rg, const rd_node *n, const sm_field *f, sm_arena *a,
                    sm_column **out, sm_error *err)
{
    const rd_chunk *c = &r->chunks[n->leaf0];
    rd_where w = {r, rg, &r->leaves[n->leaf0], -1};
    int64_t nl = c->n_levels, len = 0, nulls = 0, k = 0;
    sm_column *col = sm_arena_calloc(a, sizeof *col);

    if (!col) {
        return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
    }
    for (int64_t i = 0; i < nl; i++) {
        if (SLOT(c, n, i)) {
            len++;
            nulls += !VALID(c, n, i);
        }
    }
    if (nulls && n->no_nulls) {
        return fail_at(&w, err, SM_ERR_CORRUPT, "a map key is null");
    }
    col->field = f;
    col->length = len;
    col->capacity = len;
    col->null_count = nulls;
    if (nulls) {
        if (!(col->validity = sm_arena_calloc(a, (size_t)(len + 7) / 8))) {
            return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
        }
        for (int64_t i = 0; i < nl; i++) {
            if (SLOT(c, n, i)) {
                if (VALID(c, n, i)) {
                    col->validity[k >> 3] |= (uint8_t)(1u << (k & 7));
                }
                k++;
            }
        }
    }

    switch (f->type) {
    case SM_STRUCT:
        if (!(col->children = sm_arena_alloc(a, sizeof(sm_column *) * (size_t)n->n_children))) {
            return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
        }
        for (int i = 0; i < n->n_children; i++) {
            if (assemble(r, rg, n->children[i], f->children[i], a, &col->children[i], err)) {
                return err->code;
            }
            if (col->children[i]->length != len) {
                w.leaf = &r->leaves[n->children[i]->leaf0];
                return fail_at(&w, err, SM_ERR_CORRUPT, "%lld values where its struct %s has %lld",
                               (long long)col->children[i]->length, f->name, (long long)len);
            }
        }
        break;
    case SM_LIST:
    case SM_MAP: {
        const rd_node *e = n->children[0];
        int64_t total = 0;
        k = 0;
        if (!(col->offsets = sm_arena_alloc(a, sizeof(int32_t) * (size_t)(len + 1))) ||
            !(col->children = sm_arena_alloc(a, sizeof(sm_column *)))) {
            return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
        }
        for (int64_t i = 0; i < nl; i++) {
            if (SLOT(c, n, i)) {
                col->offsets[k++] = (int32_t)total;
            }
            if (SLOT(c, e, i)) {
                if (k == 0) {
                    return fail_at(&w, err, SM_ERR_CORRUPT, "a list element outside any list");
                }
                if (++total > INT32_MAX) {
                    return fail_at(&w, err, SM_ERR_NOMEM, "more than 2^31 list elements");
                }
            }
        }
        col->offsets[len] = (int32_t)total;
        if (assemble(r, rg, e, f->children[0], a, &col->children[0], err)) {
            return err->code;
        }
        if (col->children[0]->length != total) {
            w.leaf = &r->leaves[e->leaf0];
            return fail_at(&w, err, SM_ERR_CORRUPT, "%lld elements where list %s has %lld",
                           (long long)col->children[0]->length, f->name, (long long)total);
        }
        break;
    }
    default: {
        const rd_values *v = &c->v;
        int64_t j = 0;
        k = 0;
        if (f->type == SM_STRING || f->type == SM_BINARY || f->type == SM_JSON) {
            size_t bytes = v->n ? (size_t)v->offs[v->n] : 0;
            if (!(col->offsets = sm_arena_alloc(a, sizeof(int32_t) * (size_t)(len + 1))) ||
                !(col->data = sm_arena_alloc(a, bytes ? bytes : 1))) {
                return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
            }
            if (bytes) {
                memcpy(col->data, v->data.data, bytes);
            }
            col->data_len = col->data_capacity = (int64_t)bytes;
            col->offsets[0] = 0;
            for (int64_t i = 0; i < nl; i++) {
                if (SLOT(c, n, i)) {
                    if (VALID(c, n, i)) {
                        if (j >= v->n) {
                            goto too_few;
                        }
                        col->offsets[k + 1] = v->offs[++j];
                    } else {
                        col->offsets[k + 1] = col->offsets[k];
                    }
                    k++;
                }
            }
        } else {
            size_t wd = sm_type_width(f);
            const uint8_t *src = v->fixed.data;
            uint8_t *dst;
            if ((uint64_t)wd * (uint64_t)len > r->limit) { /* null slots take room too */
                return fail_at(&w, err, SM_ERR_NOMEM,
                               "%lld values of %zu bytes exceed the reader's limit of %zu bytes",
                               (long long)len, wd, r->limit);
            }
            if (!(col->values = sm_arena_alloc(a, wd * (size_t)len + 1))) {
                return fail_at(&w, err, SM_ERR_NOMEM, "out of memory (arena)");
            }
            dst = col->values;
            if (nulls == 0 && len == v->n) {
                if (len) {
                    memcpy(dst, src, wd * (size_t)len);
                }
                j = len;
            } else {
                for (int64_t i = 0; i < nl; i++) {
                    if (SLOT(c, n, i)) {
                        if (VALID(c, n, i)) {
                            if (j >= v->n) {
                                goto too_few;
                            }
                            memcpy(dst, src + (size_t)j++ * wd, wd);
                        } else {
                            memset(dst, 0, wd);
                        }
                        dst += wd;
                    }
                }
            }
        }
        if (j != v->n) {
        too_few:
            return fail_at(&w, err, SM_ERR_CORRUPT, "%lld values for %lld non-null slots",
                           (long long)v->n, (long long)(len - nulls));
        }
        break;
    }
    }
    *out = col;
    return SM_OK;
}

int pq_reader_read_row_group(pq_reader *r, int rg, const int *columns, int n_columns,
                             sm_arena *arena, sm_column **out, sm_error *err)
{
    const pf_row_group *g;
    sm_field *sf;
    sm_column *sc;
    int n = columns ? n_columns : r->n_tops;
    sm_error local;

    if (!err) {
        err = &local;
    }
    *out = NULL;
    if (rg < 0 || rg >= r->md->n_row_groups) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: no row group %d (the file has %d)", r->path, rg,
                            (int)r->md->n_row_groups);
    }
    if (n < 0) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: %d columns", r->path, n);
    }
    for (int i = 0; columns && i < n; i++) {
        if (columns[i] < 0 || columns[i] >= r->n_tops) {
            return sm_error_set(err, SM_ERR_USAGE, "%s: no column %d (the file has %d)", r->path,
                                columns[i], r->n_tops);
        }
    }
    g = &r->md->row_groups[rg];
    sf = sm_arena_calloc(arena, sizeof *sf);
    sc = sm_arena_calloc(arena, sizeof *sc);
    if (!sf || !sc || !(sf->name = sm_arena_strdup(arena, r->schema->name)) ||
        !(sf->children = sm_arena_alloc(arena, sizeof(sm_field *) * (size_t)(n ? n : 1))) ||
        !(sc->children = sm_arena_alloc(arena, sizeof(sm_column *) * (size_t)(n ? n : 1)))) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: row group %d: out of memory (arena)", r->path,
                            rg);
    }
    sf->type = SM_STRUCT;
    sf->n_children = n;
    sc->field = sf;
    sc->length = g->num_rows;
    sc->capacity = g->num_rows;
    r->budget = r->limit;
    for (int i = 0; i < n; i++) {
        const rd_node *top = r->tops[columns ? columns[i] : i];
        if (!(sf->children[i] = copy_field(arena, top->field))) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: row group %d: out of memory (arena)",
                                r->path, rg);
        }
        for (int li = top->leaf0; li < top->leaf0 + top->n_leaves; li++) {
            if (read_chunk(r, rg, li, err)) {
                return err->code;
            }
        }
        if (assemble(r, rg, top, sf->children[i], arena, &sc->children[i], err)) {
            return err->code;
        }
        if (sc->children[i]->length != g->num_rows) { /* read_chunk checked the rows */
            return sm_error_set(err, SM_ERR_INTERNAL, "%s: row group %d: column %s has %lld rows",
                                r->path, rg, top->field->name, (long long)sc->children[i]->length);
        }
    }
    *out = sc;
    return SM_OK;
}
