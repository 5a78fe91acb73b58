/*
 * Parquet checkpoints read back into log actions (see delta_internal.h,
 * delta_read_checkpoint_parquet).
 *
 * A checkpoint row holds one action: the top-level columns are the action names (txn, add,
 * remove, metaData, protocol, domainMetadata, and for v2 checkpoints checkpointMetadata and
 * sidecar), each a nullable struct, and a row's action is the one struct that is set (PROTOCOL.md
 * "Checkpoint Schema"). Columns are looked up by name at every level, so checkpoints of any age
 * read alike: Spark 2.4-era files without deletionVector or domainMetadata, files with
 * partitionValues_parsed or stats_parsed (never read: their children are skipped by name), and
 * v2 sidecars with only add and remove. A child of an unexpected type (a string where a long is
 * due) is SM_ERR_CORRUPT naming the column; a missing child reads as null.
 *
 * Decoded row groups live in a scratch arena reset after each one; only the strings an action
 * keeps are copied into the caller's arena.
 */
#include "storage/delta_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "storage/parquet_reader.h"

typedef enum ck_kind { K_STR, K_INT, K_BOOL, K_MAP, K_LIST, K_STRUCT } ck_kind;

static const char *kind_word(ck_kind k)
{
    static const char *const words[] = {"a string", "an integer", "a boolean",
                                        "a map",    "a list",     "a struct"};
    return words[k];
}

static bool kind_ok(const sm_field *f, ck_kind k)
{
    switch (k) {
    case K_STR:
        return sm_type_is_binary_like(f->type);
    case K_INT:
        return f->type == SM_INT8 || f->type == SM_INT16 || f->type == SM_INT32 ||
               f->type == SM_INT64 || f->type == SM_UINT8 || f->type == SM_UINT16 ||
               f->type == SM_UINT32;
    case K_BOOL:
        return f->type == SM_BOOL;
    case K_MAP:
        return f->type == SM_MAP && f->n_children == 1 && f->children[0]->n_children == 2 &&
               sm_type_is_binary_like(f->children[0]->children[0]->type) &&
               sm_type_is_binary_like(f->children[0]->children[1]->type);
    case K_LIST:
        return f->type == SM_LIST && f->n_children == 1 &&
               sm_type_is_binary_like(f->children[0]->type);
    case K_STRUCT:
        return f->type == SM_STRUCT;
    }
    return false;
}

/* The child `name` of struct column `c` (NULL when `c` is NULL or has no such child); a child of
 * the wrong kind is an error. */
static int child(const char *file, const char *parent, const sm_column *c, const char *name,
                 ck_kind kind, const sm_column **out, sm_error *err)
{
    *out = NULL;
    if (!c) {
        return 0;
    }
    for (int i = 0; i < c->field->n_children; i++) {
        const sm_field *f = c->field->children[i];
        if (strcmp(f->name, name) == 0) {
            if (!kind_ok(f, kind)) {
                return sm_error_set(err, SM_ERR_CORRUPT, "%s: column %s.%s is %s, not %s", file,
                                    parent, name, sm_type_name(f->type), kind_word(kind));
            }
            *out = c->children[i];
            return 0;
        }
    }
    return 0;
}

static bool valid(const sm_column *c, int64_t i)
{
    return c && sm_column_is_valid(c, i);
}

static int str_at(const sm_column *c, int64_t i, sm_arena *a, const char **out, sm_error *err)
{
    *out = NULL;
    if (!valid(c, i)) {
        return 0;
    }
    if (!(*out = sm_arena_strndup(a, (const char *)c->data + c->offsets[i],
                                  (size_t)(c->offsets[i + 1] - c->offsets[i])))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return 0;
}

static int64_t int_at(const sm_column *c, int64_t i, int64_t dflt)
{
    return valid(c, i) ? sm_column_i64(c, i) : dflt;
}

static bool bool_at(const sm_column *c, int64_t i, bool dflt)
{
    return valid(c, i) ? ((const uint8_t *)c->values)[i] != 0 : dflt;
}

static int map_at(const sm_column *c, int64_t i, sm_arena *a, delta_kv **out, int *n_out,
                  sm_error *err)
{
    const sm_column *entries, *keys, *vals;
    int32_t lo, hi;
    int rc;

    *out = NULL;
    *n_out = 0;
    if (!valid(c, i)) {
        return 0;
    }
    lo = c->offsets[i];
    hi = c->offsets[i + 1];
    if (hi <= lo) {
        return 0;
    }
    entries = c->children[0];
    keys = entries->children[0];
    vals = entries->children[1];
    if (!(*out = sm_arena_alloc(a, sizeof(delta_kv) * (size_t)(hi - lo)))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int32_t j = lo; j < hi; j++) {
        if ((rc = str_at(keys, j, a, &(*out)[j - lo].key, err)) != 0 ||
            (rc = str_at(vals, j, a, &(*out)[j - lo].value, err)) != 0) {
            return rc;
        }
        if (!(*out)[j - lo].key && !((*out)[j - lo].key = sm_arena_strdup(a, ""))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    *n_out = hi - lo;
    return 0;
}

static int list_at(const sm_column *c, int64_t i, sm_arena *a, const char ***out, int *n_out,
                   sm_error *err)
{
    int32_t lo, hi;
    int rc;

    *out = NULL;
    *n_out = 0;
    if (!valid(c, i)) {
        return 0;
    }
    lo = c->offsets[i];
    hi = c->offsets[i + 1];
    if (hi <= lo) {
        return 0;
    }
    if (!(*out = sm_arena_alloc(a, sizeof(char *) * (size_t)(hi - lo)))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int32_t j = lo; j < hi; j++) {
        if ((rc = str_at(c->children[0], j, a, &(*out)[j - lo], err)) != 0) {
            return rc;
        }
        if (!(*out)[j - lo] && !((*out)[j - lo] = sm_arena_strdup(a, ""))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    *n_out = hi - lo;
    return 0;
}

/* ---- per-action column sets, resolved once per row group --------------------------------- */

typedef struct ck_file {
    const sm_column *s, *path, *pv, *size, *mtime, *dtime, *dc, *stats, *tags;
    const sm_column *dv, *dv_type, *dv_where, *dv_offset;
} ck_file;

typedef struct ck_meta {
    const sm_column *s, *id, *name, *desc, *format, *provider, *schema, *parts, *conf, *created;
} ck_meta;

typedef struct ck_proto {
    const sm_column *s, *r, *w, *rf, *wf;
} ck_proto;

typedef struct ck_txn {
    const sm_column *s, *app, *version, *updated;
} ck_txn;

typedef struct ck_domain {
    const sm_column *s, *domain, *conf, *removed;
} ck_domain;

typedef struct ck_sidecar {
    const sm_column *s, *path, *size, *mtime;
} ck_sidecar;

typedef struct ck_cmeta {
    const sm_column *s, *version;
} ck_cmeta;

static int resolve_file(const char *file, const char *what, const sm_column *s, ck_file *f,
                        sm_error *err)
{
    int rc;
    memset(f, 0, sizeof *f);
    f->s = s;
    if ((rc = child(file, what, s, "path", K_STR, &f->path, err)) != 0 ||
        (rc = child(file, what, s, "partitionValues", K_MAP, &f->pv, err)) != 0 ||
        (rc = child(file, what, s, "size", K_INT, &f->size, err)) != 0 ||
        (rc = child(file, what, s, "modificationTime", K_INT, &f->mtime, err)) != 0 ||
        (rc = child(file, what, s, "deletionTimestamp", K_INT, &f->dtime, err)) != 0 ||
        (rc = child(file, what, s, "dataChange", K_BOOL, &f->dc, err)) != 0 ||
        (rc = child(file, what, s, "stats", K_STR, &f->stats, err)) != 0 ||
        (rc = child(file, what, s, "tags", K_MAP, &f->tags, err)) != 0 ||
        (rc = child(file, what, s, "deletionVector", K_STRUCT, &f->dv, err)) != 0 ||
        (rc = child(file, "deletionVector", f->dv, "storageType", K_STR, &f->dv_type, err)) != 0 ||
        (rc = child(file, "deletionVector", f->dv, "pathOrInlineDv", K_STR, &f->dv_where, err)) !=
            0 ||
        (rc = child(file, "deletionVector", f->dv, "offset", K_INT, &f->dv_offset, err)) != 0) {
        return rc;
    }
    return 0;
}

static int file_row(const ck_file *f, int64_t i, sm_arena *a, delta_file *out, sm_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = str_at(f->path, i, a, &out->path, err)) != 0 ||
        (rc = map_at(f->pv, i, a, &out->partition_values, &out->n_partition_values, err)) != 0 ||
        (rc = str_at(f->stats, i, a, &out->stats, err)) != 0 ||
        (rc = map_at(f->tags, i, a, &out->tags, &out->n_tags, err)) != 0) {
        return rc;
    }
    out->size = int_at(f->size, i, -1);
    out->modification_time = int_at(f->mtime, i, 0);
    out->deletion_timestamp = int_at(f->dtime, i, 0);
    out->data_change = bool_at(f->dc, i, true);
    if (valid(f->dv, i) && valid(f->dv_type, i) && valid(f->dv_where, i)) {
        int32_t tl = f->dv_type->offsets[i + 1] - f->dv_type->offsets[i];
        int32_t wl = f->dv_where->offsets[i + 1] - f->dv_where->offsets[i];
        size_t cap = (size_t)tl + (size_t)wl + 24;
        char *id = sm_arena_alloc(a, cap);
        if (!id) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        if (valid(f->dv_offset, i)) {
            snprintf(id, cap, "%.*s%.*s@%" PRId64, (int)tl,
                     (const char *)f->dv_type->data + f->dv_type->offsets[i], (int)wl,
                     (const char *)f->dv_where->data + f->dv_where->offsets[i],
                     sm_column_i64(f->dv_offset, i));
        } else {
            snprintf(id, cap, "%.*s%.*s", (int)tl,
                     (const char *)f->dv_type->data + f->dv_type->offsets[i], (int)wl,
                     (const char *)f->dv_where->data + f->dv_where->offsets[i]);
        }
        out->dv_id = id;
    }
    return 0;
}

static int resolve_meta(const char *file, const sm_column *s, ck_meta *m, sm_error *err)
{
    int rc;
    memset(m, 0, sizeof *m);
    m->s = s;
    if ((rc = child(file, "metaData", s, "id", K_STR, &m->id, err)) != 0 ||
        (rc = child(file, "metaData", s, "name", K_STR, &m->name, err)) != 0 ||
        (rc = child(file, "metaData", s, "description", K_STR, &m->desc, err)) != 0 ||
        (rc = child(file, "metaData", s, "format", K_STRUCT, &m->format, err)) != 0 ||
        (rc = child(file, "metaData.format", m->format, "provider", K_STR, &m->provider, err)) !=
            0 ||
        (rc = child(file, "metaData", s, "schemaString", K_STR, &m->schema, err)) != 0 ||
        (rc = child(file, "metaData", s, "partitionColumns", K_LIST, &m->parts, err)) != 0 ||
        (rc = child(file, "metaData", s, "configuration", K_MAP, &m->conf, err)) != 0 ||
        (rc = child(file, "metaData", s, "createdTime", K_INT, &m->created, err)) != 0) {
        return rc;
    }
    return 0;
}

static int meta_row(const ck_meta *m, int64_t i, sm_arena *a, delta_metadata *out, sm_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = str_at(m->id, i, a, &out->id, err)) != 0 ||
        (rc = str_at(m->name, i, a, &out->name, err)) != 0 ||
        (rc = str_at(m->desc, i, a, &out->description, err)) != 0 ||
        (rc = str_at(valid(m->format, i) ? m->provider : NULL, i, a, &out->format, err)) != 0 ||
        (rc = str_at(m->schema, i, a, &out->schema_string, err)) != 0 ||
        (rc = list_at(m->parts, i, a, &out->partition_columns, &out->n_partition_columns, err)) !=
            0 ||
        (rc = map_at(m->conf, i, a, &out->configuration, &out->n_configuration, err)) != 0) {
        return rc;
    }
    if (!out->format && !(out->format = sm_arena_strdup(a, "parquet"))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    out->created_time = int_at(m->created, i, 0);
    return 0;
}

/* The column set of one read row group. */
typedef struct ck_cols {
    ck_file add, remove;
    ck_meta meta;
    ck_proto proto;
    ck_txn txn;
    ck_domain domain;
    ck_sidecar sidecar;
    ck_cmeta cmeta;
} ck_cols;

static const char *const ck_names[] = {"add", "remove",         "metaData", "protocol",
                                       "txn", "domainMetadata", "sidecar",  "checkpointMetadata"};
enum { CK_ADD, CK_REMOVE, CK_META, CK_PROTO, CK_TXN, CK_DOMAIN, CK_SIDECAR, CK_CMETA, CK_N };

static int resolve_cols(const char *file, const sm_column *top[CK_N], ck_cols *c, sm_error *err)
{
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = resolve_file(file, "add", top[CK_ADD], &c->add, err)) != 0 ||
        (rc = resolve_file(file, "remove", top[CK_REMOVE], &c->remove, err)) != 0 ||
        (rc = resolve_meta(file, top[CK_META], &c->meta, err)) != 0) {
        return rc;
    }
    c->proto.s = top[CK_PROTO];
    c->txn.s = top[CK_TXN];
    c->domain.s = top[CK_DOMAIN];
    c->sidecar.s = top[CK_SIDECAR];
    c->cmeta.s = top[CK_CMETA];
    if ((rc = child(file, "protocol", c->proto.s, "minReaderVersion", K_INT, &c->proto.r, err)) !=
            0 ||
        (rc = child(file, "protocol", c->proto.s, "minWriterVersion", K_INT, &c->proto.w, err)) !=
            0 ||
        (rc = child(file, "protocol", c->proto.s, "readerFeatures", K_LIST, &c->proto.rf, err)) !=
            0 ||
        (rc = child(file, "protocol", c->proto.s, "writerFeatures", K_LIST, &c->proto.wf, err)) !=
            0 ||
        (rc = child(file, "txn", c->txn.s, "appId", K_STR, &c->txn.app, err)) != 0 ||
        (rc = child(file, "txn", c->txn.s, "version", K_INT, &c->txn.version, err)) != 0 ||
        (rc = child(file, "txn", c->txn.s, "lastUpdated", K_INT, &c->txn.updated, err)) != 0 ||
        (rc = child(file, "domainMetadata", c->domain.s, "domain", K_STR, &c->domain.domain,
                    err)) != 0 ||
        (rc = child(file, "domainMetadata", c->domain.s, "configuration", K_STR, &c->domain.conf,
                    err)) != 0 ||
        (rc = child(file, "domainMetadata", c->domain.s, "removed", K_BOOL, &c->domain.removed,
                    err)) != 0 ||
        (rc = child(file, "sidecar", c->sidecar.s, "path", K_STR, &c->sidecar.path, err)) != 0 ||
        (rc = child(file, "sidecar", c->sidecar.s, "sizeInBytes", K_INT, &c->sidecar.size, err)) !=
            0 ||
        (rc = child(file, "sidecar", c->sidecar.s, "modificationTime", K_INT, &c->sidecar.mtime,
                    err)) != 0 ||
        (rc = child(file, "checkpointMetadata", c->cmeta.s, "version", K_INT, &c->cmeta.version,
                    err)) != 0) {
        return rc;
    }
    return 0;
}

/* Emits the actions of row i (normally one). */
static int emit_row(const ck_cols *c, int64_t i, sm_arena *a, delta_action_fn fn, void *ctx,
                    sm_error *err)
{
    delta_action act;
    int rc;

#define EMIT()                                                                                     \
    do {                                                                                           \
        if ((rc = fn(ctx, &act, err)) != 0) {                                                      \
            return rc;                                                                             \
        }                                                                                          \
    } while (0)

    if (valid(c->add.s, i) && valid(c->add.path, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_ADD;
        if ((rc = file_row(&c->add, i, a, &act.u.file, err)) != 0) {
            return rc;
        }
        EMIT();
    }
    if (valid(c->remove.s, i) && valid(c->remove.path, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_REMOVE;
        if ((rc = file_row(&c->remove, i, a, &act.u.file, err)) != 0) {
            return rc;
        }
        EMIT();
    }
    if (valid(c->meta.s, i) && valid(c->meta.id, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_METADATA;
        if ((rc = meta_row(&c->meta, i, a, &act.u.metadata, err)) != 0) {
            return rc;
        }
        EMIT();
    }
    if (valid(c->proto.s, i) && valid(c->proto.r, i)) {
        delta_protocol *p = &act.u.protocol;
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_PROTOCOL;
        p->min_reader_version = (int32_t)int_at(c->proto.r, i, 0);
        p->min_writer_version = (int32_t)int_at(c->proto.w, i, 0);
        if ((rc = list_at(c->proto.rf, i, a, &p->reader_features, &p->n_reader_features, err)) !=
                0 ||
            (rc = list_at(c->proto.wf, i, a, &p->writer_features, &p->n_writer_features, err)) !=
                0) {
            return rc;
        }
        EMIT();
    }
    if (valid(c->txn.s, i) && valid(c->txn.app, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_TXN;
        if ((rc = str_at(c->txn.app, i, a, &act.u.txn.app_id, err)) != 0) {
            return rc;
        }
        act.u.txn.version = int_at(c->txn.version, i, 0);
        act.u.txn.last_updated = int_at(c->txn.updated, i, 0);
        EMIT();
    }
    if (valid(c->domain.s, i) && valid(c->domain.domain, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_DOMAIN;
        if ((rc = str_at(c->domain.domain, i, a, &act.u.domain.domain, err)) != 0 ||
            (rc = str_at(c->domain.conf, i, a, &act.u.domain.configuration, err)) != 0) {
            return rc;
        }
        if (!act.u.domain.configuration && !(act.u.domain.configuration = sm_arena_strdup(a, ""))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        act.u.domain.removed = bool_at(c->domain.removed, i, false);
        EMIT();
    }
    if (valid(c->sidecar.s, i) && valid(c->sidecar.path, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_SIDECAR;
        if ((rc = str_at(c->sidecar.path, i, a, &act.u.sidecar.path, err)) != 0) {
            return rc;
        }
        act.u.sidecar.size_in_bytes = int_at(c->sidecar.size, i, -1);
        act.u.sidecar.modification_time = int_at(c->sidecar.mtime, i, 0);
        EMIT();
    }
    if (valid(c->cmeta.s, i) && valid(c->cmeta.version, i)) {
        memset(&act, 0, sizeof act);
        act.type = DELTA_ACT_CHECKPOINT_METADATA;
        act.u.checkpoint_version = int_at(c->cmeta.version, i, 0);
        EMIT();
    }
#undef EMIT
    return 0;
}

int delta_read_checkpoint_parquet(const char *path, const char *name, sm_arena *a,
                                  delta_action_fn fn, void *ctx, sm_error *err)
{
    pq_reader *r = NULL;
    sm_arena *scratch = NULL;
    int cols[CK_N], slot[CK_N], n_cols = 0;
    int rc;

    if ((rc = pq_reader_open(path, &r, err)) != 0) {
        /* the reader's message names the path; a file that is not Parquet is a corrupt log */
        return rc;
    }
    for (int k = 0; k < CK_N; k++) {
        int idx = pq_reader_column_index(r, ck_names[k]);
        slot[k] = -1;
        if (idx >= 0) {
            if (pq_reader_schema(r)->children[idx]->type != SM_STRUCT) {
                rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: column %s is %s, not a struct", name,
                                  ck_names[k],
                                  sm_type_name(pq_reader_schema(r)->children[idx]->type));
                goto done;
            }
            slot[k] = n_cols;
            cols[n_cols++] = idx;
        }
    }
    if (n_cols == 0) {
        rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: no action column (add, metaData, ...)", name);
        goto done;
    }
    if (!(scratch = sm_arena_create(1 << 20, 0))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int rg = 0; rg < pq_reader_num_row_groups(r); rg++) {
        sm_column *batch = NULL;
        const sm_column *top[CK_N];
        ck_cols c;

        if ((rc = pq_reader_read_row_group(r, rg, cols, n_cols, scratch, &batch, err)) != 0) {
            goto done;
        }
        for (int k = 0; k < CK_N; k++) {
            top[k] = slot[k] >= 0 ? batch->children[slot[k]] : NULL;
        }
        if ((rc = resolve_cols(name, top, &c, err)) != 0) {
            goto done;
        }
        for (int64_t i = 0; i < batch->length; i++) {
            if ((rc = emit_row(&c, i, a, fn, ctx, err)) != 0) {
                goto done;
            }
        }
        sm_arena_reset(scratch);
    }
done:
    sm_arena_destroy(scratch);
    pq_reader_close(r);
    return rc;
}
