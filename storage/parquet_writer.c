/*
 * The Parquet writer (see parquet_writer.h).
 *
 * Per leaf column (a path from a top-level field down to a primitive) the writer keeps the
 * state of the current column chunk: its dictionary, the pages written so far (compressed, with
 * their headers, in memory until the row group closes, because the dictionary page must come
 * first in the chunk) and its statistics. A batch is shredded leaf by leaf into definition and
 * repetition levels plus the positions of the leaf's non-null values; levels are cut into pages
 * at record boundaries; each page is encoded, compressed and appended to the chunk. When the row
 * group is big enough, every chunk is written to the file in schema order and its metadata kept
 * for the footer.
 *
 * DESIGN: the file only appears at `path` when close() wrote the footer and the durable commit
 * succeeded (core/durable.h). Any failure is sticky and close() then removes the temporary file.
 *
 * Statistics: for pages that went through the dictionary, min/max are taken over the
 * dictionary's entries at the end of the chunk (every entry came from a value of the chunk, so
 * the result is exact and costs one pass over distinct values); PLAIN pages update min/max as
 * they are encoded.
 *
 * Shares (pq_share): a recording leaf (share_out) keeps `rec`, the index of every row of the
 * column it writes, from the chunk's first page; any page that breaks the pattern (another
 * column, rows out of order, a PLAIN page) drops it, and the row group's flush keeps it only if
 * it covers the whole column. A leaf that reads a share (share_in) looks its column up once per
 * chunk and keeps `remap`: the recorded index -> its own dictionary's, -1 until met.
 */
#include "storage/parquet_writer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/durable.h"
#include "storage/codec.h"
#include "storage/encoding.h"
#include "storage/parquet_format.h"
#include "storage/thrift.h"

#define MAX_DEPTH 64

/* How min/max compare for a leaf. */
typedef enum sort_kind {
    SORT_NONE = 0, /* no statistics (INT96) */
    SORT_BOOL,
    SORT_I32,
    SORT_U32,
    SORT_I64,
    SORT_U64,
    SORT_FLOAT,
    SORT_DOUBLE,
    SORT_BYTES,      /* unsigned lexicographic */
    SORT_DECIMAL_BE, /* signed big-endian two's complement (DECIMAL on FIXED_LEN_BYTE_ARRAY) */
} sort_kind;

/* The dictionary index of every row of one column, recorded by one writer for others. */
typedef struct memo {
    const sm_column *col;
    uint8_t *idx; /* idx[row * width], in the host's byte order */
    int width;    /* 1, 2 or 4 bytes per row */
    int64_t rows; /* rows recorded: 0 .. rows */
    size_t count; /* entries of the dictionary the indices point into */
    int32_t ptype;
    size_t pwidth;
    struct memo *next;
} memo;

struct pq_share {
    pthread_mutex_t mu;
    memo *head;
    size_t bytes;
};

typedef struct leaf {
    /* schema */
    const sm_field *path[MAX_DEPTH]; /* path[0] a top-level field, path[depth-1] the leaf */
    int pick[MAX_DEPTH];             /* child taken below path[k] (STRUCT: which field) */
    int rep_at[MAX_DEPTH];           /* LIST/MAP at path[k]: its repetition level */
    int depth;
    int top; /* index of path[0] among the top-level fields */
    int max_def, max_rep;
    const sm_field *field;
    int32_t ptype;
    size_t pwidth; /* bytes per physical value; 0 for BYTE_ARRAY */
    bool direct;   /* column values are already physical (no widening or byte swap) */
    sort_kind sort;
    const char **names; /* path_in_schema */
    int n_names;

    /* chunk state */
    enc_dict *dict;
    bool dict_active; /* pages still go through the dictionary */
    bool dict_used;   /* some page of this chunk did */
    sm_buf pages;     /* data pages of this chunk: headers and bodies */
    int64_t num_values;
    int64_t null_count;
    int64_t uncompressed; /* of data pages, headers included */
    uint32_t encodings;   /* bit per PF_ENC_* used */
    bool has_minmax;
    sm_buf min, max; /* physical PLAIN form, without length prefix */

    /* shares (see the top of the file) */
    memo *rec;                /* share_out: this chunk's indices, while they cover its rows */
    const memo *src;          /* share_in: the indices of src_col, NULL if none recorded */
    const sm_column *src_col; /* the column src was looked up for; NULL: look up again */
    int32_t *remap;           /* src index -> this chunk's dictionary index; -1: not yet */
    size_t remap_cap;
} leaf;

struct pq_writer {
    pq_writer_opts o;
    const sm_field *schema;
    sm_durable *file;
    int64_t offset; /* bytes written to the file */
    bool failed;
    sm_error error;

    leaf *leaves;
    int n_leaves;
    codec_ctx *codec;
    tc_writer tc;

    /* scratch, reused across pages */
    uint32_t *def, *rep;
    int64_t *slots; /* leaf column positions of the values */
    size_t lv_cap, slot_cap;
    size_t n_lv, n_slots;
    uint32_t *indices;
    size_t idx_cap;
    sm_buf dense; /* gathered physical values (fixed width) or byte-array bytes */
    int32_t *dense_offsets;
    size_t dense_off_cap;
    sm_buf values, body, page;
    const int64_t *sel; /* write_sel: batch rows of the rows being written (NULL: identity) */
    sm_arena *take;     /* write_sel: nested top-level columns copied through the selection */

    /* footer */
    sm_arena *meta; /* schema elements, row group metadata, statistics bytes */
    pf_schema_element *elems;
    int n_elems;
    pf_row_group *groups;
    int n_groups, groups_cap;
    int64_t rows_total;
    int64_t rg_rows;
    int64_t rg_bytes; /* uncompressed bytes buffered in the current row group */
    memo *recorded;   /* share_out: complete recordings, added to the share at close */
};

/* ---- errors ------------------------------------------------------------------------------ */

static int fail(pq_writer *w, sm_error *err)
{
    w->failed = true;
    if (err && err != &w->error) {
        *err = w->error;
    }
    return w->error.code ? (int)w->error.code : SM_ERR_INTERNAL;
}

static int fail_nomem(pq_writer *w, sm_error *err)
{
    sm_error_set(&w->error, SM_ERR_NOMEM, "parquet writer: out of memory");
    return fail(w, err);
}

/* ---- schema ------------------------------------------------------------------------------ */

void pq_writer_opts_default(pq_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_ZSTD;
    o->dictionary = true;
    o->dict_limit = 1 << 20;
    o->page_size = 1 << 20;
    o->row_group_size = (size_t)128 << 20;
    o->stats_max_len = 64;
}

static int decimal_flba_len(int32_t precision)
{
    /* the fewest bytes whose signed range holds 10^precision - 1 */
    int n = 1;
    while (n < 16 && (double)(n * 8 - 1) < precision * 3.321928094887362) {
        n++;
    }
    return n;
}

static pf_schema_element *new_elem(pq_writer *w)
{
    pf_schema_element *e;
    if (w->n_elems % 64 == 0) {
        pf_schema_element *grown =
            sm_arena_alloc(w->meta, sizeof *grown * (size_t)(w->n_elems + 64));
        if (!grown) {
            return NULL;
        }
        if (w->n_elems) {
            memcpy(grown, w->elems, sizeof *grown * (size_t)w->n_elems);
        }
        w->elems = grown;
    }
    e = &w->elems[w->n_elems++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Physical type and annotations of a primitive field. */
static void set_primitive(pf_schema_element *e, leaf *l, const sm_field *f)
{
    e->has_type = true;
    l->direct = true;
    l->sort = SORT_I32;
    switch (f->type) {
    case SM_BOOL:
        e->type = PF_TYPE_BOOLEAN;
        l->pwidth = 1;
        l->sort = SORT_BOOL;
        break;
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32: {
        static const int8_t bits[] = {[SM_INT8] = 8,  [SM_INT16] = 16,  [SM_INT32] = 32,
                                      [SM_UINT8] = 8, [SM_UINT16] = 16, [SM_UINT32] = 32};
        static const int32_t ct[] = {
            [SM_INT8] = PF_CT_INT_8,   [SM_INT16] = PF_CT_INT_16,   [SM_INT32] = PF_CT_INT_32,
            [SM_UINT8] = PF_CT_UINT_8, [SM_UINT16] = PF_CT_UINT_16, [SM_UINT32] = PF_CT_UINT_32};
        bool is_signed = f->type <= SM_INT32;
        e->type = PF_TYPE_INT32;
        l->pwidth = 4;
        l->direct = f->type == SM_INT32 || f->type == SM_UINT32;
        l->sort = is_signed ? SORT_I32 : SORT_U32;
        if (f->type != SM_INT32) { /* plain INT32 needs no annotation */
            e->has_converted_type = true;
            e->converted_type = ct[f->type];
            e->logical_type.kind = PF_LT_INTEGER;
            e->logical_type.bit_width = bits[f->type];
            e->logical_type.is_signed = is_signed;
        }
        break;
    }
    case SM_INT64:
    case SM_UINT64:
        e->type = PF_TYPE_INT64;
        l->pwidth = 8;
        l->sort = f->type == SM_INT64 ? SORT_I64 : SORT_U64;
        if (f->type == SM_UINT64) {
            e->has_converted_type = true;
            e->converted_type = PF_CT_UINT_64;
            e->logical_type.kind = PF_LT_INTEGER;
            e->logical_type.bit_width = 64;
            e->logical_type.is_signed = false;
        }
        break;
    case SM_FLOAT:
        e->type = PF_TYPE_FLOAT;
        l->pwidth = 4;
        l->sort = SORT_FLOAT;
        break;
    case SM_DOUBLE:
        e->type = PF_TYPE_DOUBLE;
        l->pwidth = 8;
        l->sort = SORT_DOUBLE;
        break;
    case SM_STRING:
    case SM_JSON:
        e->has_converted_type = true;
        e->converted_type = f->type == SM_STRING ? PF_CT_UTF8 : PF_CT_JSON;
        e->logical_type.kind = f->type == SM_STRING ? PF_LT_STRING : PF_LT_JSON;
        /* fall through */
    case SM_BINARY:
        e->type = PF_TYPE_BYTE_ARRAY;
        l->pwidth = 0;
        l->sort = SORT_BYTES;
        break;
    case SM_FIXED_BINARY:
        e->type = PF_TYPE_FIXED_LEN_BYTE_ARRAY;
        e->has_type_length = true;
        e->type_length = f->width;
        l->pwidth = (size_t)f->width;
        l->sort = SORT_BYTES;
        break;
    case SM_DATE:
        e->type = PF_TYPE_INT32;
        e->has_converted_type = true;
        e->converted_type = PF_CT_DATE;
        e->logical_type.kind = PF_LT_DATE;
        l->pwidth = 4;
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        e->type = PF_TYPE_INT64;
        e->has_converted_type = true;
        e->converted_type =
            f->type == SM_TIMESTAMP_MS ? PF_CT_TIMESTAMP_MILLIS : PF_CT_TIMESTAMP_MICROS;
        e->logical_type.kind = PF_LT_TIMESTAMP;
        e->logical_type.is_adjusted_to_utc = true;
        e->logical_type.unit = f->type == SM_TIMESTAMP_MS ? PF_UNIT_MILLIS : PF_UNIT_MICROS;
        l->pwidth = 8;
        l->sort = SORT_I64;
        break;
    case SM_DECIMAL:
        e->has_converted_type = true;
        e->converted_type = PF_CT_DECIMAL;
        e->has_scale = e->has_precision = true;
        e->scale = f->scale;
        e->precision = f->precision;
        e->logical_type.kind = PF_LT_DECIMAL;
        e->logical_type.scale = f->scale;
        e->logical_type.precision = f->precision;
        if (f->width == 4) {
            e->type = PF_TYPE_INT32;
            l->pwidth = 4;
        } else if (f->width == 8) {
            e->type = PF_TYPE_INT64;
            l->pwidth = 8;
            l->sort = SORT_I64;
        } else {
            e->type = PF_TYPE_FIXED_LEN_BYTE_ARRAY;
            e->has_type_length = true;
            e->type_length = decimal_flba_len(f->precision);
            l->pwidth = (size_t)e->type_length;
            l->direct = false;
            l->sort = SORT_DECIMAL_BE;
        }
        break;
    default:
        break;
    }
    l->ptype = e->type;
}

/* Adds the schema elements of `f` (depth-first) and a leaf for each primitive below it.
 * `l` holds the path so far (depth, def, rep). */
static int add_field(pq_writer *w, const sm_field *f, const char *name, int repetition, leaf *l,
                     const char **names, int n_names, sm_error *err)
{
    pf_schema_element *e = new_elem(w);
    int k = l->depth;

    if (!e) {
        return sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
    }
    if (k >= MAX_DEPTH - 2 || n_names >= MAX_DEPTH - 2) {
        return sm_error_set(err, SM_ERR_USAGE, "field %s: nested deeper than %d levels", f->name,
                            MAX_DEPTH - 2);
    }
    e->name = name;
    e->has_repetition_type = true;
    e->repetition_type = repetition;
    l->path[k] = f;
    l->depth = k + 1;
    names[n_names++] = name;
    if (repetition == PF_OPTIONAL) {
        l->max_def++;
    }

    switch (f->type) {
    case SM_STRUCT:
        if (f->n_children == 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "field %s: a struct needs at least one field in Parquet", f->name);
        }
        e->has_num_children = true;
        e->num_children = f->n_children;
        for (int i = 0; i < f->n_children; i++) {
            leaf sub = *l;
            sub.pick[k] = i;
            const sm_field *c = f->children[i];
            if (add_field(w, c, c->name, c->nullable ? PF_OPTIONAL : PF_REQUIRED, &sub, names,
                          n_names, err)) {
                return err->code;
            }
        }
        return SM_OK;
    case SM_LIST:
    case SM_MAP: {
        bool is_map = f->type == SM_MAP;
        pf_schema_element *rep_group;
        const sm_field *c = f->children[0];
        leaf sub = *l;

        e->has_num_children = true;
        e->num_children = 1;
        e->has_converted_type = true;
        e->converted_type = is_map ? PF_CT_MAP : PF_CT_LIST;
        e->logical_type.kind = is_map ? PF_LT_MAP : PF_LT_LIST;
        /* the repeated group: "list" holding "element", or "key_value" holding key and value */
        if (!(rep_group = new_elem(w))) {
            return sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
        }
        rep_group->name = is_map ? "key_value" : "list";
        rep_group->has_repetition_type = true;
        rep_group->repetition_type = PF_REPEATED;
        rep_group->has_num_children = true;
        rep_group->num_children = is_map ? 2 : 1;
        names[n_names++] = rep_group->name;
        sub.pick[k] = 0;
        sub.max_def++;
        sub.max_rep++;
        sub.rep_at[k] = sub.max_rep;
        if (is_map) {
            /* the entries struct is the repeated group itself: its fields come right below */
            sub.path[k + 1] = c;
            sub.depth = k + 2;
            for (int i = 0; i < 2; i++) {
                leaf kv = sub;
                const sm_field *x = c->children[i];
                kv.pick[k + 1] = i;
                if (add_field(w, x, i ? "value" : "key",
                              x->nullable && i ? PF_OPTIONAL : PF_REQUIRED, &kv, names, n_names,
                              err)) {
                    return err->code;
                }
            }
            return SM_OK;
        }
        return add_field(w, c, "element", c->nullable ? PF_OPTIONAL : PF_REQUIRED, &sub, names,
                         n_names, err);
    }
    default: {
        leaf *dst;
        if (w->n_leaves % 16 == 0) {
            leaf *grown = realloc(w->leaves, sizeof *grown * (size_t)(w->n_leaves + 16));
            if (!grown) {
                return sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
            }
            w->leaves = grown;
        }
        dst = &w->leaves[w->n_leaves++];
        *dst = *l;
        dst->field = f;
        set_primitive(e, dst, f);
        dst->n_names = n_names;
        dst->names = sm_arena_alloc(w->meta, sizeof(char *) * (size_t)n_names);
        if (!dst->names) {
            return sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
        }
        memcpy(dst->names, names, sizeof(char *) * (size_t)n_names);
        return SM_OK;
    }
    }
}

/* ---- opening ----------------------------------------------------------------------------- */

static int write_bytes(pq_writer *w, const void *p, size_t n, sm_error *err)
{
    if (sm_durable_write(w->file, p, n, &w->error) != SM_OK) {
        return fail(w, err);
    }
    w->offset += (int64_t)n;
    return SM_OK;
}

int pq_writer_open(const char *path, const sm_field *schema, const pq_writer_opts *opts,
                   pq_writer **out, sm_error *err)
{
    pq_writer *w;
    pf_schema_element *root;
    const char *names[MAX_DEPTH];

    *out = NULL;
    if (!schema || schema->type != SM_STRUCT || schema->n_children == 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "parquet writer %s: the schema must be a struct with at least one "
                            "field",
                            path);
    }
    if (opts && !codec_can_compress(opts->codec)) {
        return sm_error_set(err, SM_ERR_USAGE, "parquet writer %s: cannot write codec %s", path,
                            codec_name(opts->codec));
    }
    if (!(w = calloc(1, sizeof *w))) {
        return sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
    }
    if (opts) {
        w->o = *opts;
    } else {
        pq_writer_opts_default(&w->o);
    }
    if (w->o.page_size == 0) {
        w->o.page_size = 1 << 20;
    }
    if (w->o.row_group_size == 0) {
        w->o.row_group_size = (size_t)128 << 20;
    }
    w->schema = schema;
    tc_writer_init(&w->tc);
    if (!(w->meta = sm_arena_create(0, 0)) || !(w->codec = codec_ctx_create())) {
        sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
        goto fail;
    }
    if (!(root = new_elem(w))) {
        sm_error_set(err, SM_ERR_NOMEM, "parquet writer: out of memory");
        goto fail;
    }
    root->name = "schema";
    root->has_num_children = true;
    root->num_children = schema->n_children;
    for (int i = 0; i < schema->n_children; i++) {
        leaf l;
        const sm_field *f = schema->children[i];
        memset(&l, 0, sizeof l);
        l.top = i;
        if (add_field(w, f, f->name, f->nullable ? PF_OPTIONAL : PF_REQUIRED, &l, names, 0, err)) {
            sm_error_prefix(err, "parquet writer %s", path);
            goto fail;
        }
    }
    for (int i = 0; i < w->n_leaves; i++) {
        leaf *l = &w->leaves[i];
        l->dict_active = w->o.dictionary && l->ptype != PF_TYPE_BOOLEAN;
        if (l->dict_active && !(l->dict = enc_dict_create(l->pwidth, err))) {
            goto fail;
        }
    }
    if (sm_durable_open(path, SM_DURABLE_REPLACE, &w->file, err) != SM_OK) {
        goto fail;
    }
    if (write_bytes(w, PF_MAGIC, PF_MAGIC_LEN, err) != SM_OK) {
        goto fail;
    }
    *out = w;
    return SM_OK;

fail : {
    int code = err ? (int)err->code : SM_ERR_INTERNAL;
    pq_writer_abort(w);
    return code;
}
}

/* ---- shredding --------------------------------------------------------------------------- */

static int grow_levels(pq_writer *w)
{
    size_t cap = w->lv_cap ? w->lv_cap * 2 : 4096;
    uint32_t *d = realloc(w->def, cap * sizeof *d);
    uint32_t *r;
    if (!d) {
        return -1;
    }
    w->def = d;
    if (!(r = realloc(w->rep, cap * sizeof *r))) {
        return -1;
    }
    w->rep = r;
    w->lv_cap = cap;
    return 0;
}

static int grow_slots(pq_writer *w)
{
    size_t cap = w->slot_cap ? w->slot_cap * 2 : 4096;
    int64_t *s = realloc(w->slots, cap * sizeof *s);
    if (!s) {
        return -1;
    }
    w->slots = s;
    w->slot_cap = cap;
    return 0;
}

static inline int emit(pq_writer *w, int def, int rep, int64_t slot, bool has_value)
{
    if (w->n_lv == w->lv_cap && grow_levels(w)) {
        return -1;
    }
    w->def[w->n_lv] = (uint32_t)def;
    w->rep[w->n_lv] = (uint32_t)rep;
    w->n_lv++;
    if (has_value) {
        if (w->n_slots == w->slot_cap && grow_slots(w)) {
            return -1;
        }
        w->slots[w->n_slots++] = slot;
    }
    return 0;
}

/* Emits the levels of slot i of column c, which stands at path[k] of leaf l. */
static int shred(pq_writer *w, const leaf *l, int k, const sm_column *c, int64_t i, int def,
                 int rep)
{
    const sm_field *f = l->path[k];
    if (f->nullable) {
        if (!sm_column_is_valid(c, i)) {
            return emit(w, def, rep, 0, false);
        }
        def++;
    }
    switch (f->type) {
    case SM_STRUCT:
        return shred(w, l, k + 1, c->children[l->pick[k]], i, def, rep);
    case SM_LIST:
    case SM_MAP: {
        int32_t s = c->offsets[i], e = c->offsets[i + 1];
        const sm_column *child = c->children[0];
        if (s == e) {
            return emit(w, def, rep, 0, false);
        }
        for (int32_t j = s; j < e; j++) {
            int r = j == s ? rep : l->rep_at[k];
            int rc = f->type == SM_MAP
                         /* entries struct: required, one level down to key or value */
                         ? shred(w, l, k + 2, child->children[l->pick[k + 1]], j, def + 1, r)
                         : shred(w, l, k + 1, child, j, def + 1, r);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    default:
        return emit(w, def, rep, i, true);
    }
}

/* Levels and value slots of rows [r0, r1) for a nested leaf. */
static int shred_rows(pq_writer *w, const leaf *l, const sm_column *top, int64_t r0, int64_t r1)
{
    w->n_lv = w->n_slots = 0;
    for (int64_t i = r0; i < r1; i++) {
        if (shred(w, l, 0, top, i, 0, 0)) {
            return -1;
        }
    }
    return 0;
}

/* The leaf's column inside `top` (children at fixed positions; only indices vary). */
static const sm_column *leaf_column(const leaf *l, const sm_column *top)
{
    const sm_column *c = top;
    for (int k = 0; k < l->depth - 1; k++) {
        const sm_field *f = l->path[k];
        if (f->type == SM_STRUCT) {
            c = c->children[l->pick[k]];
        } else if (f->type == SM_MAP) {
            c = c->children[0]->children[l->pick[k + 1]];
            k++;
        } else {
            c = c->children[0];
        }
    }
    return c;
}

/* ---- statistics -------------------------------------------------------------------------- */

static int cmp_phys(sort_kind s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    switch (s) {
    case SORT_BOOL:
        return (a[0] != 0) - (b[0] != 0);
    case SORT_I32: {
        int32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case SORT_U32: {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case SORT_I64: {
        int64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case SORT_U64: {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case SORT_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case SORT_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case SORT_DECIMAL_BE:
        if ((a[0] ^ b[0]) & 0x80) { /* different signs: the negative one is smaller */
            return (a[0] & 0x80) ? -1 : 1;
        }
        return memcmp(a, b, alen);
    case SORT_BYTES: {
        size_t n = alen < blen ? alen : blen;
        int c = n ? memcmp(a, b, n) : 0;
        return c ? c : (alen > blen) - (alen < blen);
    }
    default:
        return 0;
    }
}

static bool is_nan(sort_kind s, const uint8_t *v)
{
    if (s == SORT_FLOAT) {
        float x;
        memcpy(&x, v, 4);
        return isnan(x);
    }
    if (s == SORT_DOUBLE) {
        double x;
        memcpy(&x, v, 8);
        return isnan(x);
    }
    return false;
}

static int stats_add(leaf *l, const uint8_t *v, size_t len)
{
    if (l->sort == SORT_NONE || is_nan(l->sort, v)) {
        return 0;
    }
    if (!l->has_minmax) {
        l->has_minmax = true;
        sm_buf_reset(&l->min);
        sm_buf_reset(&l->max);
        return sm_buf_append(&l->min, v, len, NULL) || sm_buf_append(&l->max, v, len, NULL);
    }
    if (cmp_phys(l->sort, v, len, l->min.data, l->min.len) < 0) {
        sm_buf_reset(&l->min);
        if (sm_buf_append(&l->min, v, len, NULL)) {
            return -1;
        }
    }
    if (cmp_phys(l->sort, v, len, l->max.data, l->max.len) > 0) {
        sm_buf_reset(&l->max);
        if (sm_buf_append(&l->max, v, len, NULL)) {
            return -1;
        }
    }
    return 0;
}

/* ---- dictionary shares ------------------------------------------------------------------- */

pq_share *pq_share_create(void)
{
    pq_share *s = calloc(1, sizeof *s);
    if (s) {
        pthread_mutex_init(&s->mu, NULL);
    }
    return s;
}

static void memo_free(memo *m)
{
    if (m) {
        free(m->idx);
        free(m);
    }
}

static void memo_free_list(memo *m)
{
    while (m) {
        memo *next = m->next;
        memo_free(m);
        m = next;
    }
}

void pq_share_destroy(pq_share *s)
{
    if (s) {
        memo_free_list(s->head);
        pthread_mutex_destroy(&s->mu);
        free(s);
    }
}

size_t pq_share_bytes(pq_share *s)
{
    size_t n;
    pthread_mutex_lock(&s->mu);
    n = s->bytes;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static inline uint32_t idx_get(const uint8_t *p, int width, size_t i)
{
    if (width == 1) {
        return p[i];
    }
    if (width == 2) {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
}

static inline void idx_put(uint8_t *p, int width, size_t i, uint32_t v)
{
    if (width == 1) {
        p[i] = (uint8_t)v;
    } else if (width == 2) {
        uint16_t h = (uint16_t)v;
        memcpy(p + 2 * i, &h, 2);
    } else {
        memcpy(p + 4 * i, &v, 4);
    }
}

/* Widens the recorded indices so that indices below `count` fit. */
static int memo_fit(memo *m, size_t count)
{
    int width = count <= 256 ? 1 : count <= 65536 ? 2 : 4;
    uint8_t *p;
    if (width <= m->width) {
        return 0;
    }
    if (!(p = realloc(m->idx, (size_t)m->col->length * (size_t)width))) {
        return -1;
    }
    /* from the last row down: a row's wider slot only covers narrow slots already moved */
    for (size_t i = (size_t)m->rows; i-- > 0;) {
        idx_put(p, width, i, idx_get(p, m->width, i));
    }
    m->idx = p;
    m->width = width;
    return 0;
}

static void rec_drop(leaf *l)
{
    memo_free(l->rec);
    l->rec = NULL;
}

/* share_out, before a page of rows [p0, ...) of column c: starts recording at the chunk's first
 * page, stops when the pages no longer follow the column's rows in order. */
static void rec_track(pq_writer *w, leaf *l, const sm_column *c, int64_t p0)
{
    if (l->rec && (l->rec->col != c || l->rec->rows != p0 || w->sel)) {
        rec_drop(l);
    }
    if (!l->rec && p0 == 0 && !w->sel && l->num_values == 0 && l->dict_active &&
        (l->direct || l->pwidth == 0) && c->length > 0) {
        memo *m = calloc(1, sizeof *m);
        if (m && (m->idx = calloc((size_t)c->length, 1))) { /* no memory: no recording */
            m->col = c;
            m->width = 1;
            m->ptype = l->ptype;
            m->pwidth = l->pwidth;
            l->rec = m;
        } else {
            free(m);
        }
    }
}

/* share_in: the recorded indices of column c, if any, and a fresh remap for them. */
static void src_lookup(pq_writer *w, leaf *l, const sm_column *c)
{
    pq_share *s = w->o.share_in;
    const memo *found = NULL;
    pthread_mutex_lock(&s->mu);
    for (const memo *m = s->head; m && !found; m = m->next) {
        if (m->col == c && m->ptype == l->ptype && m->pwidth == l->pwidth) {
            found = m;
        }
    }
    pthread_mutex_unlock(&s->mu);
    l->src_col = c;
    l->src = NULL;
    if (found && l->remap_cap < found->count) {
        int32_t *r = realloc(l->remap, found->count * sizeof *r);
        if (!r) {
            return; /* no memory: hash as without a share */
        }
        l->remap = r;
        l->remap_cap = found->count;
    }
    if (found) {
        memset(l->remap, 0xff, found->count * sizeof *l->remap); /* all -1 */
        l->src = found;
    }
}

/* Dictionary indices of values slots[0..n) of c into w->indices through the leaf's share: a
 * value is hashed only the first time its recorded index comes up. With `plain`, also the
 * bytes of the values' PLAIN encoding. */
static int dict_from_src(pq_writer *w, leaf *l, const sm_column *c, const int64_t *slots, size_t n,
                         size_t *plain)
{
    const memo *m = l->src;
    size_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t row = slots[k];
        uint32_t si = idx_get(m->idx, m->width, (size_t)row);
        int32_t di = l->remap[si];
        if (plain && l->pwidth == 0) {
            bytes += 4 + (size_t)(c->offsets[row + 1] - c->offsets[row]);
        }
        if (di < 0) {
            const uint8_t *v;
            size_t len = l->pwidth;
            if (l->pwidth == 0) {
                len = (size_t)(c->offsets[row + 1] - c->offsets[row]);
                v = len ? c->data + c->offsets[row] : (const uint8_t *)"";
            } else {
                v = (const uint8_t *)c->values + (size_t)row * l->pwidth;
            }
            if ((di = enc_dict_insert(l->dict, v, len, &w->error)) < 0) {
                return -1;
            }
            l->remap[si] = di;
        }
        w->indices[k] = (uint32_t)di;
    }
    if (plain) {
        *plain = l->pwidth ? n * l->pwidth : bytes;
    }
    return 0;
}

/* ---- pages ------------------------------------------------------------------------------- */

/* Puts the physical form of values slots[0..n) of column c into w->dense (fixed width) or
 * w->dense_offsets + w->dense (byte arrays). */
static int gather(pq_writer *w, const leaf *l, const sm_column *c, const int64_t *slots, size_t n)
{
    sm_buf_reset(&w->dense);
    if (n == 0) { /* a page of nulls only: levels, no values */
        return 0;
    }
    if (l->pwidth == 0) {
        if (w->dense_off_cap < n + 1) {
            int32_t *o = realloc(w->dense_offsets, (n + 1) * sizeof *o);
            if (!o) {
                return -1;
            }
            w->dense_offsets = o;
            w->dense_off_cap = n + 1;
        }
        {
            size_t total = 0, at = 0;
            uint8_t *dst = NULL;
            for (size_t k = 0; k < n; k++) {
                total += (size_t)(c->offsets[slots[k] + 1] - c->offsets[slots[k]]);
            }
            if (total > INT32_MAX || (total && !(dst = sm_buf_extend(&w->dense, total, NULL)))) {
                return -1;
            }
            w->dense_offsets[0] = 0;
            for (size_t k = 0; k < n; k++) {
                int64_t i = slots[k];
                size_t len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
                if (len) { /* all-empty values may have no data buffer at all */
                    memcpy(dst + at, c->data + c->offsets[i], len);
                }
                at += len;
                w->dense_offsets[k + 1] = (int32_t)at;
            }
        }
        return 0;
    }
    {
        uint8_t *dst = sm_buf_extend(&w->dense, n * l->pwidth, NULL);
        size_t cw = sm_type_width(c->field);
        const uint8_t *src = c->values;
        if (!dst) {
            return -1;
        }
        if (l->direct && cw == l->pwidth && (cw == 8 || cw == 4)) { /* the common case */
            for (size_t k = 0; k < n; k++, dst += cw) {
                memcpy(dst, src + (size_t)slots[k] * cw, cw == 8 ? 8 : 4);
            }
            return 0;
        }
        for (size_t k = 0; k < n; k++, dst += l->pwidth) {
            const uint8_t *v = src + (size_t)slots[k] * cw;
            switch (c->field->type) {
            case SM_INT8: {
                int32_t x = *(const int8_t *)v;
                memcpy(dst, &x, 4);
                break;
            }
            case SM_INT16: {
                int16_t h;
                int32_t x;
                memcpy(&h, v, 2);
                x = h;
                memcpy(dst, &x, 4);
                break;
            }
            case SM_UINT8: {
                uint32_t x = *v;
                memcpy(dst, &x, 4);
                break;
            }
            case SM_UINT16: {
                uint16_t h;
                uint32_t x;
                memcpy(&h, v, 2);
                x = h;
                memcpy(dst, &x, 4);
                break;
            }
            case SM_DECIMAL:
                if (cw == 16) { /* little-endian 16 bytes -> big-endian, low pwidth bytes */
                    for (size_t b = 0; b < l->pwidth; b++) {
                        dst[b] = v[l->pwidth - 1 - b];
                    }
                    break;
                }
                /* fall through */
            default:
                memcpy(dst, v, l->pwidth);
            }
        }
    }
    return 0;
}

static int ensure_indices(pq_writer *w, size_t n)
{
    if (w->idx_cap < n) {
        uint32_t *p = realloc(w->indices, (n ? n : 1) * sizeof *p);
        if (!p) {
            return -1;
        }
        w->indices = p;
        w->idx_cap = n;
    }
    return 0;
}

/* Compresses `body` and appends header + compressed bytes to the chunk. For v2 the first
 * `levels_len` bytes of body stay uncompressed. */
static int append_page(pq_writer *w, leaf *l, pf_page_header *h, const sm_buf *body,
                       size_t levels_len, sm_error *err)
{
    sm_buf_reset(&w->page);
    if (levels_len && sm_buf_append(&w->page, body->data, levels_len, &w->error)) {
        return fail(w, err);
    }
    if (codec_ctx_compress(w->codec, w->o.codec, w->o.level, body->data + levels_len,
                           body->len - levels_len, &w->page, &w->error)) {
        return fail(w, err);
    }
    if (body->len > INT32_MAX || w->page.len > INT32_MAX) {
        sm_error_set(&w->error, SM_ERR_NOMEM, "parquet writer: page larger than 2 GiB");
        return fail(w, err);
    }
    h->uncompressed_page_size = (int32_t)body->len;
    h->compressed_page_size = (int32_t)w->page.len;
    tc_writer_clear(&w->tc);
    if (pf_write_page_header(h, &w->tc, &w->error)) {
        return fail(w, err);
    }
    if (sm_buf_append(&l->pages, tc_writer_data(&w->tc), tc_writer_len(&w->tc), &w->error) ||
        sm_buf_append(&l->pages, w->page.data, w->page.len, &w->error)) {
        return fail(w, err);
    }
    l->uncompressed += (int64_t)(tc_writer_len(&w->tc) + body->len);
    w->rg_bytes += (int64_t)body->len;
    return SM_OK;
}

/* Encodes levels [a, b) and values [va, vb) of the shredded arrays as one data page. */
static int write_page(pq_writer *w, leaf *l, const sm_column *c, size_t a, size_t b, size_t va,
                      size_t vb, sm_error *err)
{
    size_t nv = vb - va, nlv = b - a;
    const int64_t *slots = w->slots + va;
    bool use_dict = l->dict_active;
    pf_page_header h;
    size_t rep_len = 0, def_len = 0;
    int64_t rows = 0;
    /* flat leaves whose column already holds the physical values are read in place */
    bool in_place = l->depth == 1 && l->direct && !w->sel;
    int64_t first = nv ? slots[0] : 0, span = nv ? slots[nv - 1] - first + 1 : 0;
    const uint8_t *validity = l->max_def ? c->validity : NULL;
    /* through a share the dictionary pages need no gathered values */
    bool from_src = use_dict && l->src && l->src_col == c;
    size_t src_plain = 0;

    if (!in_place && !from_src && gather(w, l, c, slots, nv)) {
        return fail_nomem(w, err);
    }

    /* values */
    sm_buf_reset(&w->values);
    if (use_dict) {
        size_t got = 0;
        int rc;
        if (ensure_indices(w, nv)) {
            return fail_nomem(w, err);
        }
        if (from_src) {
            rc = dict_from_src(w, l, c, slots, nv, l->dict_used ? NULL : &src_plain);
            got = nv;
        } else if (l->pwidth == 0) {
            rc = in_place ? enc_dict_insert_byte_array(l->dict, c->offsets, c->data, validity,
                                                       (size_t)first, (size_t)span, w->indices,
                                                       &got, &w->error)
                          : enc_dict_insert_byte_array(l->dict, w->dense_offsets, w->dense.data,
                                                       NULL, 0, nv, w->indices, &got, &w->error);
        } else {
            rc = in_place ? enc_dict_insert_fixed(l->dict, c->values, validity, (size_t)first,
                                                  (size_t)span, w->indices, &got, &w->error)
                          : enc_dict_insert_fixed(l->dict, w->dense.data, NULL, 0, nv, w->indices,
                                                  &got, &w->error);
        }
        if (rc) {
            return fail(w, err);
        }
        if (!l->dict_used && got > 0) {
            /* The chunk's first page decides, as parquet-mr does: the dictionary stays only if
             * it and the indices are smaller than PLAIN (near-unique columns such as ids and
             * timestamps are better off PLAIN from the start, above all in small files). */
            size_t plain = from_src    ? src_plain
                           : l->pwidth ? got * l->pwidth
                           : in_place
                               ? (size_t)(c->offsets[first + span] - c->offsets[first]) + 4 * got
                               : w->dense.len + 4 * got;
            size_t count = enc_dict_count(l->dict);
            size_t idx_bytes = got * (size_t)enc_bit_width(count ? count - 1 : 0) / 8 + 1;
            if (enc_dict_plain_size(l->dict) + idx_bytes >= plain) {
                enc_dict_reset(l->dict);
                l->dict_active = use_dict = false;
                if (from_src && !in_place && gather(w, l, c, slots, nv)) {
                    return fail_nomem(w, err);
                }
            }
        }
    }
    if (l->rec) { /* share_out: every row's index, or no recording once a page is PLAIN */
        if (!use_dict || memo_fit(l->rec, enc_dict_count(l->dict))) {
            rec_drop(l);
        } else {
            for (size_t k = 0; k < nv; k++) {
                idx_put(l->rec->idx, l->rec->width, (size_t)slots[k], w->indices[k]);
            }
        }
    }
    if (use_dict) {
        if (enc_dict_indices_encode(w->indices, nv, enc_dict_count(l->dict), &w->values,
                                    &w->error)) {
            return fail(w, err);
        }
        l->dict_used = true;
        l->encodings |= 1u << PF_ENC_RLE_DICTIONARY;
        if (enc_dict_plain_size(l->dict) > w->o.dict_limit) {
            l->dict_active = false; /* later pages of this chunk are PLAIN */
        }
    } else {
        int rc;
        if (l->ptype == PF_TYPE_BOOLEAN) {
            rc = in_place
                     ? enc_plain_encode_bool(c->values, validity, (size_t)first, (size_t)span,
                                             &w->values, &w->error)
                     : enc_plain_encode_bool(w->dense.data, NULL, 0, nv, &w->values, &w->error);
        } else if (l->pwidth == 0) {
            rc = in_place
                     ? enc_plain_encode_byte_array(c->offsets, c->data, validity, (size_t)first,
                                                   (size_t)span, &w->values, &w->error)
                     : enc_plain_encode_byte_array(w->dense_offsets, w->dense.data, NULL, 0, nv,
                                                   &w->values, &w->error);
        } else {
            rc = in_place ? enc_plain_encode_fixed(c->values, l->pwidth, validity, (size_t)first,
                                                   (size_t)span, &w->values, &w->error)
                          : enc_plain_encode_fixed(w->dense.data, l->pwidth, NULL, 0, nv,
                                                   &w->values, &w->error);
        }
        if (rc) {
            return fail(w, err);
        }
        l->encodings |= 1u << PF_ENC_PLAIN;
        /* statistics of PLAIN pages, value by value */
        for (size_t k = 0; k < nv; k++) {
            const uint8_t *v;
            size_t len;
            if (in_place) {
                int64_t i = slots[k];
                if (l->pwidth == 0) {
                    v = c->data + c->offsets[i];
                    len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
                } else {
                    v = (const uint8_t *)c->values + (size_t)i * l->pwidth;
                    len = l->pwidth;
                }
            } else if (l->pwidth == 0) {
                v = w->dense.data + w->dense_offsets[k];
                len = (size_t)(w->dense_offsets[k + 1] - w->dense_offsets[k]);
            } else {
                v = w->dense.data + k * l->pwidth;
                len = l->pwidth;
            }
            if (stats_add(l, v, len)) {
                return fail_nomem(w, err);
            }
        }
    }

    /* levels, then the page body */
    if (l->max_rep) {
        for (size_t i = a; i < b; i++) {
            rows += w->rep[i] == 0;
        }
    } else {
        rows = (int64_t)nlv; /* flat: a level is a row (and rep[] is not filled) */
    }
    sm_buf_reset(&w->body);
    if (w->o.page_v2) {
        if (l->max_rep && enc_rle_encode(w->rep + a, nlv, enc_bit_width((uint64_t)l->max_rep),
                                         &w->body, &w->error)) {
            return fail(w, err);
        }
        rep_len = w->body.len;
        if (l->max_def && enc_rle_encode(w->def + a, nlv, enc_bit_width((uint64_t)l->max_def),
                                         &w->body, &w->error)) {
            return fail(w, err);
        }
        def_len = w->body.len - rep_len;
    } else {
        if (l->max_rep &&
            enc_rle_encode_prefixed(w->rep + a, nlv, enc_bit_width((uint64_t)l->max_rep), &w->body,
                                    &w->error)) {
            return fail(w, err);
        }
        if (l->max_def &&
            enc_rle_encode_prefixed(w->def + a, nlv, enc_bit_width((uint64_t)l->max_def), &w->body,
                                    &w->error)) {
            return fail(w, err);
        }
    }
    if (l->max_rep || l->max_def) {
        l->encodings |= 1u << PF_ENC_RLE;
    }
    if (sm_buf_append(&w->body, w->values.data, w->values.len, &w->error)) {
        return fail(w, err);
    }

    memset(&h, 0, sizeof h);
    if (w->o.page_v2) {
        h.type = PF_PAGE_DATA_V2;
        h.has_data_page_header_v2 = true;
        h.data_page_header_v2.num_values = (int32_t)nlv;
        h.data_page_header_v2.num_nulls = (int32_t)(nlv - nv);
        h.data_page_header_v2.num_rows = (int32_t)rows;
        h.data_page_header_v2.encoding = use_dict ? PF_ENC_RLE_DICTIONARY : PF_ENC_PLAIN;
        h.data_page_header_v2.definition_levels_byte_length = (int32_t)def_len;
        h.data_page_header_v2.repetition_levels_byte_length = (int32_t)rep_len;
        h.data_page_header_v2.is_compressed = w->o.codec != PQ_CODEC_UNCOMPRESSED;
    } else {
        h.type = PF_PAGE_DATA;
        h.has_data_page_header = true;
        h.data_page_header.num_values = (int32_t)nlv;
        h.data_page_header.encoding = use_dict ? PF_ENC_RLE_DICTIONARY : PF_ENC_PLAIN;
        h.data_page_header.definition_level_encoding = PF_ENC_RLE;
        h.data_page_header.repetition_level_encoding = PF_ENC_RLE;
    }
    l->num_values += (int64_t)nlv;
    l->null_count += (int64_t)(nlv - nv);
    return append_page(w, l, &h, &w->body, rep_len + def_len, err);
}

/* Bytes a value adds to a page, roughly: for cutting pages by size. */
static size_t value_cost(const leaf *l, const sm_column *c, int64_t slot)
{
    if (l->pwidth == 0) {
        return 4 + (size_t)(c->offsets[slot + 1] - c->offsets[slot]);
    }
    return l->ptype == PF_TYPE_BOOLEAN ? 1 : l->pwidth;
}

/* Shreds rows [r0, r1) of leaf l and writes them as pages of about page_size bytes. */
/* The end of a flat leaf's page that starts at row p0: about page_size bytes of values and
 * levels, at least one row. */
static int64_t flat_page_end(const leaf *l, const sm_column *c, const int64_t *sel, int64_t p0,
                             int64_t r1, size_t page_size)
{
    if (l->pwidth == 0 && sel) { /* byte arrays through a selection: add up row by row */
        size_t bytes = 0;
        int64_t r = p0;
        do {
            int64_t i = sel[r++];
            bytes += (size_t)(c->offsets[i + 1] - c->offsets[i]) + 5;
        } while (r < r1 && bytes < page_size);
        return r;
    }
    if (l->pwidth == 0) { /* byte arrays: the first row whose bytes reach page_size */
        int64_t lo = p0 + 1, hi = r1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            size_t bytes = (size_t)(c->offsets[mid] - c->offsets[p0]) + 5 * (size_t)(mid - p0);
            if (bytes >= page_size) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }
    {
        int64_t rows = (int64_t)(page_size / (l->pwidth + 1));
        if (rows < 1) {
            rows = 1;
        }
        return r1 - p0 < rows ? r1 : p0 + rows;
    }
}

/* A top-level primitive: no shredding, one page at a time with scratch that stays in cache.
 * Rows [r0, r1) are the column's rows w->sel[r0..r1) when there is a selection. */
static int write_flat_rows(pq_writer *w, leaf *l, const sm_column *c, int64_t r0, int64_t r1,
                           sm_error *err)
{
    const int64_t *sel = w->sel;
    for (int64_t p0 = r0; p0 < r1;) {
        int64_t p1 = flat_page_end(l, c, sel, p0, r1, w->o.page_size);
        size_t n = (size_t)(p1 - p0), k = 0;
        while (w->lv_cap < n) {
            if (grow_levels(w)) {
                return fail_nomem(w, err);
            }
        }
        while (w->slot_cap < n) {
            if (grow_slots(w)) {
                return fail_nomem(w, err);
            }
        }
        if (l->max_def == 0 || !c->validity) {
            for (size_t i = 0; i < n; i++) {
                w->def[i] = (uint32_t)l->max_def;
                w->slots[i] = sel ? sel[p0 + (int64_t)i] : p0 + (int64_t)i;
            }
            k = n;
        } else {
            for (size_t i = 0; i < n; i++) {
                int64_t row = sel ? sel[p0 + (int64_t)i] : p0 + (int64_t)i;
                bool valid = sm_column_is_valid(c, row);
                w->def[i] = valid;
                w->slots[k] = row;
                k += valid;
            }
        }
        w->n_lv = n;
        w->n_slots = k;
        if (w->o.share_out) {
            rec_track(w, l, c, p0);
        }
        if (w->o.share_in && l->dict_active && l->src_col != c && (l->direct || l->pwidth == 0)) {
            src_lookup(w, l, c);
        }
        if (write_page(w, l, c, 0, n, 0, k, err)) {
            return w->error.code;
        }
        if (l->rec) {
            l->rec->rows = p1;
        }
        p0 = p1;
    }
    return SM_OK;
}

static int write_leaf_rows(pq_writer *w, leaf *l, const sm_column *top, int64_t r0, int64_t r1,
                           sm_error *err)
{
    const sm_column *c = leaf_column(l, top);
    size_t a = 0, va = 0, v = 0, cost = 0;

    if (l->depth == 1) {
        return write_flat_rows(w, l, c, r0, r1, err);
    }
    if (shred_rows(w, l, top, r0, r1)) {
        return fail_nomem(w, err);
    }
    for (size_t i = 0; i < w->n_lv; i++) {
        /* a page may end only before a new record */
        if (w->rep[i] == 0 && i > a && cost >= w->o.page_size) {
            if (write_page(w, l, c, a, i, va, v, err)) {
                return w->error.code;
            }
            a = i;
            va = v;
            cost = 0;
        }
        cost += 1;
        if (w->def[i] == (uint32_t)l->max_def) {
            cost += value_cost(l, c, w->slots[v]);
            v++;
        }
    }
    if (w->n_lv > a && write_page(w, l, c, a, w->n_lv, va, v, err)) {
        return w->error.code;
    }
    return SM_OK;
}

/* ---- row groups -------------------------------------------------------------------------- */

static pf_bytes keep_bytes(pq_writer *w, const uint8_t *p, size_t len)
{
    pf_bytes b = {NULL, 0};
    uint8_t *copy = sm_arena_alloc(w->meta, len ? len : 1);
    if (copy) {
        if (len) { /* an empty min (the empty string) may have no buffer at all */
            memcpy(copy, p, len);
        }
        b.ptr = copy;
        b.len = len;
    }
    return b;
}

/* Min/max over the dictionary's entries (the values of the dictionary pages). */
static int dict_stats(leaf *l)
{
    size_t n = enc_dict_count(l->dict);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *v = enc_dict_entry(l->dict, i, &len);
        if (stats_add(l, v, len)) {
            return -1;
        }
    }
    return 0;
}

/* Statistics for the footer: min/max (byte arrays truncated, max rounded up), null count. */
static void make_stats(pq_writer *w, leaf *l, pf_statistics *s)
{
    memset(s, 0, sizeof *s);
    s->has_null_count = true;
    s->null_count = l->null_count;
    if (!l->has_minmax) {
        return;
    }
    {
        const uint8_t *mn = l->min.data, *mx = l->max.data;
        size_t mn_len = l->min.len, mx_len = l->max.len;
        bool mx_exact = true, mn_exact = true;
        uint8_t zero[8] = {0};
        if (l->sort == SORT_FLOAT || l->sort == SORT_DOUBLE) {
            /* the spec: a zero min is written as -0.0, a zero max as +0.0 */
            double x;
            if (l->sort == SORT_FLOAT) {
                float fmn, fmx;
                memcpy(&fmn, mn, 4);
                memcpy(&fmx, mx, 4);
                if (fmn == 0) {
                    static const float neg = -0.0f;
                    memcpy(l->min.data, &neg, 4);
                }
                if (fmx == 0) {
                    memcpy(l->max.data, zero, 4);
                }
            } else {
                memcpy(&x, mn, 8);
                if (x == 0) {
                    static const double neg = -0.0;
                    memcpy(l->min.data, &neg, 8);
                }
                memcpy(&x, mx, 8);
                if (x == 0) {
                    memcpy(l->max.data, zero, 8);
                }
            }
        }
        if (l->ptype == PF_TYPE_BYTE_ARRAY && w->o.stats_max_len) {
            size_t cut = w->o.stats_max_len;
            if (mn_len > cut) {
                mn_len = cut; /* a prefix is <= the value */
                mn_exact = false;
            }
            if (mx_len > cut) {
                /* round up: the prefix with its last byte that is not 0xff incremented */
                size_t n = cut;
                while (n > 0 && mx[n - 1] == 0xff) {
                    n--;
                }
                if (n > 0) {
                    uint8_t *up = sm_arena_alloc(w->meta, n);
                    if (up) {
                        memcpy(up, mx, n);
                        up[n - 1]++;
                        s->max_value.ptr = up;
                        s->max_value.len = n;
                        s->has_max_value = true;
                        mx_exact = false;
                    }
                } /* else all 0xff: keep the whole value */
            }
        }
        s->has_min_value = true;
        s->min_value = keep_bytes(w, mn, mn_len);
        if (!s->has_max_value) {
            s->has_max_value = true;
            s->max_value = keep_bytes(w, mx, mx_len);
        }
        if (l->ptype == PF_TYPE_BYTE_ARRAY) {
            s->has_is_min_value_exact = s->has_is_max_value_exact = true;
            s->is_min_value_exact = mn_exact;
            s->is_max_value_exact = mx_exact;
        }
    }
}

static int flush_row_group(pq_writer *w, sm_error *err)
{
    pf_row_group *g;
    int64_t start = w->offset, total_uncompressed = 0;

    if (w->rg_rows == 0) {
        return SM_OK;
    }
    if (w->n_groups == w->groups_cap) {
        int cap = w->groups_cap ? w->groups_cap * 2 : 8;
        pf_row_group *grown = realloc(w->groups, sizeof *grown * (size_t)cap);
        if (!grown) {
            return fail_nomem(w, err);
        }
        w->groups = grown;
        w->groups_cap = cap;
    }
    g = &w->groups[w->n_groups];
    memset(g, 0, sizeof *g);
    g->columns = sm_arena_calloc(w->meta, sizeof *g->columns * (size_t)w->n_leaves);
    if (!g->columns) {
        return fail_nomem(w, err);
    }
    g->n_columns = w->n_leaves;

    for (int i = 0; i < w->n_leaves; i++) {
        leaf *l = &w->leaves[i];
        pf_column_chunk *cc = &g->columns[i];
        pf_column_meta_data *m = sm_arena_calloc(w->meta, sizeof *m);
        int64_t chunk_start = w->offset, dict_bytes = 0;
        int n_enc = 0;

        if (!m || !(m->encodings = sm_arena_alloc(w->meta, sizeof(int32_t) * 16))) {
            return fail_nomem(w, err);
        }
        if (l->dict_used) {
            pf_page_header h;
            if (dict_stats(l)) {
                return fail_nomem(w, err);
            }
            sm_buf_reset(&w->body);
            if (enc_dict_write_plain(l->dict, &w->body, &w->error)) {
                return fail(w, err);
            }
            memset(&h, 0, sizeof h);
            h.type = PF_PAGE_DICTIONARY;
            h.has_dictionary_page_header = true;
            h.dictionary_page_header.num_values = (int32_t)enc_dict_count(l->dict);
            h.dictionary_page_header.encoding = PF_ENC_PLAIN;
            /* compress and write the dictionary page straight to the file */
            sm_buf_reset(&w->page);
            if (codec_ctx_compress(w->codec, w->o.codec, w->o.level, w->body.data, w->body.len,
                                   &w->page, &w->error)) {
                return fail(w, err);
            }
            h.uncompressed_page_size = (int32_t)w->body.len;
            h.compressed_page_size = (int32_t)w->page.len;
            tc_writer_clear(&w->tc);
            if (pf_write_page_header(&h, &w->tc, &w->error)) {
                return fail(w, err);
            }
            dict_bytes = (int64_t)(tc_writer_len(&w->tc) + w->body.len);
            if (write_bytes(w, tc_writer_data(&w->tc), tc_writer_len(&w->tc), err) ||
                write_bytes(w, w->page.data, w->page.len, err)) {
                return w->error.code;
            }
            m->has_dictionary_page_offset = true;
            m->dictionary_page_offset = chunk_start;
            l->encodings |= 1u << PF_ENC_PLAIN; /* the dictionary page */
        }
        m->data_page_offset = w->offset;
        if (write_bytes(w, l->pages.data, l->pages.len, err)) {
            return w->error.code;
        }
        for (int e = 0; e < 16; e++) {
            if (l->encodings & (1u << e)) {
                m->encodings[n_enc++] = e;
            }
        }
        m->n_encodings = n_enc;
        m->type = l->ptype;
        m->path_in_schema = l->names;
        m->n_path_in_schema = l->n_names;
        m->codec = w->o.codec;
        m->num_values = l->num_values;
        m->total_uncompressed_size = l->uncompressed + dict_bytes;
        m->total_compressed_size = w->offset - chunk_start;
        m->has_statistics = l->sort != SORT_NONE;
        make_stats(w, l, &m->statistics);
        cc->file_offset = chunk_start;
        cc->meta_data = m;
        total_uncompressed += m->total_uncompressed_size;

        /* share_out: a recording that covers the whole column is kept for close */
        if (l->rec && l->rec->rows == l->rec->col->length && l->dict_used) {
            l->rec->count = enc_dict_count(l->dict);
            l->rec->next = w->recorded;
            w->recorded = l->rec;
            l->rec = NULL;
        }
        rec_drop(l);
        l->src_col = NULL; /* share_in: the next chunk's dictionary starts empty */

        /* the next chunk starts afresh */
        sm_buf_reset(&l->pages);
        if (l->dict) {
            enc_dict_reset(l->dict);
        }
        l->dict_active = w->o.dictionary && l->ptype != PF_TYPE_BOOLEAN;
        l->dict_used = false;
        l->num_values = l->null_count = l->uncompressed = 0;
        l->encodings = 0;
        l->has_minmax = false;
    }
    g->num_rows = w->rg_rows;
    g->total_byte_size = total_uncompressed;
    g->has_file_offset = true;
    g->file_offset = start;
    g->has_total_compressed_size = true;
    g->total_compressed_size = w->offset - start;
    g->has_ordinal = true;
    g->ordinal = (int16_t)w->n_groups;
    w->n_groups++;
    w->rg_rows = 0;
    w->rg_bytes = 0;
    return SM_OK;
}

/* ---- the API ----------------------------------------------------------------------------- */

/* Uncompressed bytes of rows [r0, r1) of a column, roughly: for slicing a batch into row
 * groups. */
static int64_t column_bytes(const sm_column *c, int64_t r0, int64_t r1)
{
    int64_t n = r1 - r0, bytes = n / 8 + 1;
    size_t w = sm_type_width(c->field);
    if (w) {
        bytes += n * (int64_t)w;
    }
    if (c->offsets) {
        int64_t s = c->offsets[r0], e = c->offsets[r1];
        if (sm_type_is_binary_like(c->field->type)) {
            bytes += (e - s) + 4 * n;
        } else if (c->children && e > s) {
            for (int i = 0; i < c->field->n_children; i++) {
                bytes += column_bytes(c->children[i], s, e);
            }
        }
    } else if (c->children) {
        for (int i = 0; i < c->field->n_children; i++) {
            bytes += column_bytes(c->children[i], r0, r1);
        }
    }
    return bytes;
}

int pq_writer_write(pq_writer *w, const sm_column *batch, sm_error *err)
{
    return pq_writer_write_sel(w, batch, NULL, batch->length, err);
}

/* Rows [r0, r1) of the call for every leaf. Top-level primitives read the batch's columns
 * through the selection; nested ones are shredded from a copy of their selected rows. */
static int write_leaves(pq_writer *w, const sm_column *batch, const int64_t *sel, int64_t r0,
                        int64_t r1, sm_error *err)
{
    const sm_column *taken_top = NULL, *taken = NULL;
    int rc = SM_OK;
    for (int i = 0; i < w->n_leaves && rc == SM_OK; i++) {
        leaf *l = &w->leaves[i];
        const sm_column *top = batch->children[l->top];
        if (!sel) {
            rc = write_leaf_rows(w, l, top, r0, r1, err);
        } else if (l->depth == 1) {
            w->sel = sel;
            rc = write_flat_rows(w, l, top, r0, r1, err);
            w->sel = NULL;
        } else {
            if (taken_top != top) { /* the leaves of one top-level column are adjacent */
                sm_column *t;
                sm_arena_reset(w->take);
                if (sm_column_take(w->take, top, sel + r0, r1 - r0, &t) != 0) {
                    return fail_nomem(w, err);
                }
                taken_top = top;
                taken = t;
            }
            rc = write_leaf_rows(w, l, taken, 0, r1 - r0, err);
        }
    }
    sm_arena_reset(w->take);
    return rc ? w->error.code : SM_OK;
}

int pq_writer_write_sel(pq_writer *w, const sm_column *batch, const int64_t *sel, int64_t rows,
                        sm_error *err)
{
    int64_t r0 = 0, bytes = 0, per_row, len = batch->length;

    if (w->failed) {
        return fail(w, err);
    }
    if (batch->field != w->schema &&
        (batch->field->type != SM_STRUCT || batch->field->n_children != w->schema->n_children)) {
        sm_error_set(&w->error, SM_ERR_USAGE,
                     "parquet writer: the batch does not have the writer's schema");
        return fail(w, err);
    }
    if (sel && !w->take && !(w->take = sm_arena_create(0, 0))) {
        return fail_nomem(w, err);
    }
    for (int i = 0; i < w->schema->n_children; i++) {
        if (batch->children[i]->length != len) {
            sm_error_set(&w->error, SM_ERR_USAGE,
                         "parquet writer: column %s has %lld rows, the batch %lld",
                         w->schema->children[i]->name, (long long)batch->children[i]->length,
                         (long long)len);
            return fail(w, err);
        }
        bytes += column_bytes(batch->children[i], 0, len);
    }
    per_row = len ? bytes / len + 1 : 1;

    while (r0 < rows) {
        /* as many rows as fit in what is left of the row group, at least one */
        int64_t room = (int64_t)w->o.row_group_size - w->rg_bytes;
        int64_t n = room > 0 ? room / per_row : 1;
        int64_t r1;
        if (n < 1) {
            n = 1;
        }
        r1 = rows - r0 < n ? rows : r0 + n;
        if (write_leaves(w, batch, sel, r0, r1, err)) {
            return w->error.code;
        }
        w->rg_rows += r1 - r0;
        w->rows_total += r1 - r0;
        r0 = r1;
        if (w->rg_bytes >= (int64_t)w->o.row_group_size && flush_row_group(w, err)) {
            return w->error.code;
        }
    }
    return SM_OK;
}

static void free_writer(pq_writer *w)
{
    for (int i = 0; i < w->n_leaves; i++) {
        enc_dict_destroy(w->leaves[i].dict);
        sm_buf_free(&w->leaves[i].pages);
        sm_buf_free(&w->leaves[i].min);
        sm_buf_free(&w->leaves[i].max);
        memo_free(w->leaves[i].rec);
        free(w->leaves[i].remap);
    }
    memo_free_list(w->recorded);
    free(w->leaves);
    free(w->def);
    free(w->rep);
    free(w->slots);
    free(w->indices);
    free(w->dense_offsets);
    free(w->groups);
    sm_buf_free(&w->dense);
    sm_buf_free(&w->values);
    sm_buf_free(&w->body);
    sm_buf_free(&w->page);
    tc_writer_release(&w->tc);
    codec_ctx_destroy(w->codec);
    sm_arena_destroy(w->meta);
    sm_arena_destroy(w->take);
    free(w);
}

int pq_writer_close(pq_writer *w, pq_file_info *info, sm_error *err)
{
    pf_file_metadata md;
    uint8_t tail[PF_TAIL_LEN];
    uint32_t footer_len;
    int rc;

    if (w->failed || flush_row_group(w, err)) {
        rc = fail(w, err);
        pq_writer_abort(w);
        return rc;
    }
    memset(&md, 0, sizeof md);
    md.version = 1;
    md.schema = w->elems;
    md.n_schema = w->n_elems;
    md.num_rows = w->rows_total;
    md.row_groups = w->groups;
    md.n_row_groups = w->n_groups;
    md.created_by = "smelter version " SMELTER_VERSION;
    if (w->o.kv_count > 0) {
        md.key_value_metadata =
            sm_arena_alloc(w->meta, sizeof(pf_key_value) * (size_t)w->o.kv_count);
        if (!md.key_value_metadata) {
            fail_nomem(w, err);
            pq_writer_abort(w);
            return SM_ERR_NOMEM;
        }
        for (int i = 0; i < w->o.kv_count; i++) {
            md.key_value_metadata[i].key = w->o.kv_keys[i];
            md.key_value_metadata[i].value = w->o.kv_values[i];
        }
        md.n_key_value_metadata = w->o.kv_count;
    }
    tc_writer_clear(&w->tc);
    if (pf_write_file_metadata(&md, &w->tc, &w->error) ||
        write_bytes(w, tc_writer_data(&w->tc), tc_writer_len(&w->tc), err)) {
        rc = fail(w, err);
        pq_writer_abort(w);
        return rc;
    }
    footer_len = (uint32_t)tc_writer_len(&w->tc);
    tail[0] = (uint8_t)footer_len;
    tail[1] = (uint8_t)(footer_len >> 8);
    tail[2] = (uint8_t)(footer_len >> 16);
    tail[3] = (uint8_t)(footer_len >> 24);
    memcpy(tail + 4, PF_MAGIC, PF_MAGIC_LEN);
    if (write_bytes(w, tail, sizeof tail, err)) {
        rc = w->error.code;
        pq_writer_abort(w);
        return rc;
    }
    rc = sm_durable_commit(w->file, err);
    w->file = NULL;
    if (rc == SM_OK && w->o.share_out && w->recorded) { /* hand the recordings over */
        pq_share *s = w->o.share_out;
        memo *last = w->recorded;
        size_t bytes = 0;
        for (memo *m = w->recorded; m; last = m, m = m->next) {
            bytes += (size_t)m->col->length * (size_t)m->width;
        }
        pthread_mutex_lock(&s->mu);
        last->next = s->head;
        s->head = w->recorded;
        s->bytes += bytes;
        pthread_mutex_unlock(&s->mu);
        w->recorded = NULL;
    }
    if (rc == SM_OK && info) {
        info->rows = w->rows_total;
        info->file_size = w->offset;
        info->row_groups = w->n_groups;
    }
    free_writer(w);
    return rc;
}

void pq_writer_abort(pq_writer *w)
{
    if (!w) {
        return;
    }
    sm_durable_abort(w->file);
    free_writer(w);
}
