/*
 * A silver table's batch: expectations, quarantine, late rows and dedup (silver.h).
 */
#include "stream/silver.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "stream/expr.h"

enum { FATE_SILVER = 0, FATE_QUARANTINE, FATE_DUPLICATE, FATE_LATE };

typedef struct in_chunk {
    const sm_column *rows;
    uint64_t *failed; /* per row: bit r = rule r failed */
    uint8_t *fate;
} in_chunk;

typedef struct pos {
    int32_t chunk;
    int64_t row;
} pos;

struct sm_silver {
    const sm_pipeline *p;
    const sm_pl_table *t;
    const sm_field *input;
    sm_arena *own; /* schemas and compiled rules */
    sm_expr *rules[SM_SILVER_MAX_RULES];
    int n_rules;
    int key_cols[64];
    int n_keys;
    sm_dedup *state;
    int ev_col; /* the watermark column, -1 none */
    int topic_col, part_col, off_col;
    sm_field *out_schema, *q_schema;

    /* the batch */
    sm_arena *a;
    int64_t batch_id, batch_ts_ms, watermark_ms;
    in_chunk *chunks;
    int n_chunks, cap_chunks;
    int fail_rule; /* -1: none */
    pos fail_at;
    sm_silver_counts counts;
};

static int find_child(const sm_field *s, const char *name)
{
    for (int i = 0; i < s->n_children; i++) {
        if (strcmp(s->children[i]->name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int sm_silver_new(const sm_pipeline *p, const sm_pl_table *t, const sm_field *input,
                  sm_silver **out, sm_error *err)
{
    sm_silver *s = calloc(1, sizeof *s);
    sm_field **oc, **qc, *elem, *list, *pts;
    int n = input->n_children, rc = SM_OK;

    *out = NULL;
    if (!s || !(s->own = sm_arena_create(0, 0))) {
        free(s);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    s->p = p;
    s->t = t;
    s->input = input;
    s->fail_rule = -1;
    if (t->n_expectations > SM_SILVER_MAX_RULES) {
        rc = sm_error_set(err, SM_ERR_USAGE, "%s: table %s has %zu expectations; at most %d",
                          p->file, t->name, t->n_expectations, SM_SILVER_MAX_RULES);
        goto fail;
    }
    for (size_t r = 0; r < t->n_expectations; r++) {
        const sm_pl_expectation *x = &t->expectations[r];
        if ((rc = sm_expr_compile(x->expr, input, s->own, &s->rules[r], err)) != SM_OK) {
            sm_error_prefix(err, "%s:%d:%d: table %s, rule %s", x->pos.file, x->pos.line,
                            x->pos.col, t->name, x->name);
            goto fail;
        }
        s->n_rules++;
    }
    if (t->dedup_keys.count > sizeof s->key_cols / sizeof s->key_cols[0]) {
        rc = sm_error_set(err, SM_ERR_USAGE, "%s: table %s: too many dedup keys", p->file, t->name);
        goto fail;
    }
    for (size_t k = 0; k < t->dedup_keys.count; k++) {
        if ((s->key_cols[k] = find_child(input, t->dedup_keys.items[k])) < 0) {
            rc = sm_error_set(err, SM_ERR_USAGE, "%s: table %s: dedup key %s is not a column of %s",
                              p->file, t->name, t->dedup_keys.items[k], t->from);
            goto fail;
        }
        s->n_keys++;
    }
    if (s->n_keys > 0 && !(s->state = sm_dedup_new())) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->ev_col = p->watermark.column ? find_child(input, p->watermark.column) : -1;
    s->topic_col = find_child(input, "_source_system");
    s->part_col = find_child(input, "_kafka_partition");
    s->off_col = find_child(input, "_kafka_offset");
    if (s->topic_col < 0 || s->part_col < 0 || s->off_col < 0) {
        rc = sm_error_set(err, SM_ERR_INTERNAL, "table %s: input has no Kafka position columns",
                          t->name);
        goto fail;
    }

    oc = sm_arena_alloc(s->own, sizeof *oc * (size_t)(n + 1));
    qc = sm_arena_alloc(s->own, sizeof *qc * (size_t)(n + 1));
    elem = sm_field_new(s->own, "element", SM_STRING, false);
    list = elem ? sm_field_list(s->own, "_validation_errors", elem, false) : NULL;
    pts = sm_field_new(s->own, "_processing_timestamp", SM_TIMESTAMP_US, false);
    if (!oc || !qc || !list || !pts) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        oc[i] = qc[i] = input->children[i];
    }
    oc[n] = pts;
    qc[n] = list;
    s->out_schema = sm_field_struct(s->own, "silver", oc, n + 1, false);
    s->q_schema = sm_field_struct(s->own, "quarantine", qc, n + 1, false);
    if (!s->out_schema || !s->q_schema) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = s;
    return SM_OK;

fail:
    sm_silver_free(s);
    return rc;
}

void sm_silver_free(sm_silver *s)
{
    if (!s) {
        return;
    }
    for (int r = 0; r < s->n_rules; r++) {
        sm_expr_destroy(s->rules[r]);
    }
    sm_dedup_free(s->state);
    sm_arena_destroy(s->own);
    free(s);
}

const sm_field *sm_silver_schema(const sm_silver *s)
{
    return s->out_schema;
}

const sm_field *sm_silver_quarantine_schema(const sm_silver *s)
{
    return s->q_schema;
}

bool sm_silver_has_dedup(const sm_silver *s)
{
    return s->n_keys > 0;
}

sm_dedup *sm_silver_state(sm_silver *s)
{
    return s->state;
}

void sm_silver_set_state(sm_silver *s, sm_dedup *d)
{
    if (d != s->state) {
        sm_dedup_free(s->state);
        s->state = d;
    }
}

const sm_silver_counts *sm_silver_counts_of(const sm_silver *s)
{
    return &s->counts;
}

int sm_silver_begin(sm_silver *s, int64_t batch_id, int64_t batch_ts_ms, int64_t watermark_ms,
                    sm_arena *arena, sm_error *err)
{
    (void)err;
    s->a = arena;
    s->batch_id = batch_id;
    s->batch_ts_ms = batch_ts_ms;
    s->watermark_ms = watermark_ms;
    s->chunks = NULL;
    s->n_chunks = s->cap_chunks = 0;
    s->fail_rule = -1;
    memset(&s->counts, 0, sizeof s->counts);
    s->counts.max_event_ms = INT64_MIN;
    return SM_OK;
}

/* ---- positions ------------------------------------------------------------------------------ */

static int cmp_pos(const sm_silver *s, pos x, pos y)
{
    const sm_column *a = s->chunks[x.chunk].rows, *b = s->chunks[y.chunk].rows;
    const sm_column *ta = a->children[s->topic_col], *tb = b->children[s->topic_col];
    int32_t la = ta->offsets[x.row + 1] - ta->offsets[x.row];
    int32_t lb = tb->offsets[y.row + 1] - tb->offsets[y.row];
    int c = memcmp(ta->data + ta->offsets[x.row], tb->data + tb->offsets[y.row],
                   (size_t)(la < lb ? la : lb));
    int64_t u, v;
    if (c != 0 || la != lb) {
        return c != 0 ? c : la < lb ? -1 : 1;
    }
    u = sm_column_i64(a->children[s->part_col], x.row);
    v = sm_column_i64(b->children[s->part_col], y.row);
    if (u != v) {
        return u < v ? -1 : 1;
    }
    u = sm_column_i64(a->children[s->off_col], x.row);
    v = sm_column_i64(b->children[s->off_col], y.row);
    return u < v ? -1 : u > v;
}

static int cmp_pos_q(const void *x, const void *y, void *s)
{
    return cmp_pos(s, *(const pos *)x, *(const pos *)y);
}

/* The event time of a row in ms; false when the table has none or it is NULL. */
static bool event_ms(const sm_silver *s, const sm_column *rows, int64_t row, int64_t *out)
{
    const sm_column *c;
    int64_t v;
    if (s->ev_col < 0) {
        return false;
    }
    c = rows->children[s->ev_col];
    if (!sm_column_is_valid(c, row)) {
        return false;
    }
    v = sm_column_i64(c, row);
    switch (c->field->type) {
    case SM_TIMESTAMP_US:
        *out = v >= 0 ? v / 1000 : -((-v + 999) / 1000);
        return true;
    case SM_DATE:
        *out = v * 86400000;
        return true;
    default:
        *out = v;
        return true;
    }
}

/* ---- step 1 --------------------------------------------------------------------------------- */

int sm_silver_add_chunk(sm_silver *s, const sm_column *rows, sm_error *err)
{
    int64_t n = rows->length, nt, nf;
    in_chunk *c;
    int64_t *tsel, *fsel;
    sm_expr_ctx ctx = {s->batch_ts_ms};
    int rc;

    if (s->n_chunks == s->cap_chunks) {
        int cap = s->cap_chunks ? s->cap_chunks * 2 : 16;
        in_chunk *nc = sm_arena_alloc(s->a, sizeof *nc * (size_t)cap);
        if (!nc) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        if (s->n_chunks) {
            memcpy(nc, s->chunks, sizeof *nc * (size_t)s->n_chunks);
        }
        s->chunks = nc;
        s->cap_chunks = cap;
    }
    c = &s->chunks[s->n_chunks];
    c->rows = rows;
    c->failed = sm_arena_calloc(s->a, sizeof *c->failed * (size_t)(n + 1));
    c->fate = sm_arena_calloc(s->a, (size_t)n + 1);
    tsel = sm_arena_alloc(s->a, sizeof *tsel * (size_t)(n + 1));
    fsel = sm_arena_alloc(s->a, sizeof *fsel * (size_t)(n + 1));
    if (!c->failed || !c->fate || !tsel || !fsel) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    s->counts.input += n;
    for (int r = 0; r < s->n_rules; r++) {
        int v = s->t->expectations[r].on_violation;
        if ((rc = sm_expr_filter(s->rules[r], rows, &ctx, NULL, n, s->a, tsel, &nt, fsel, &nf,
                                 err)) != SM_OK) {
            sm_error_prefix(err, "table %s, rule %s", s->t->name, s->t->expectations[r].name);
            return rc;
        }
        s->counts.passed[r] += nt;
        s->counts.failed[r] += nf;
        for (int64_t i = 0; i < nf; i++) {
            int64_t row = fsel[i];
            c->failed[row] |= (uint64_t)1 << r;
            if (v == SM_PL_DROP) {
                c->fate[row] = FATE_QUARANTINE;
            } else if (v == SM_PL_FAIL) {
                pos here = {s->n_chunks, row};
                if (s->fail_rule < 0 || cmp_pos(s, here, s->fail_at) < 0 ||
                    (cmp_pos(s, here, s->fail_at) == 0 && r < s->fail_rule)) {
                    s->fail_rule = r;
                    s->fail_at = here;
                }
            }
        }
    }
    s->n_chunks++;
    return SM_OK;
}

/* ---- step 2 --------------------------------------------------------------------------------- */

static int fail_error(const sm_silver *s, sm_error *err)
{
    const sm_pl_expectation *x = &s->t->expectations[s->fail_rule];
    const sm_column *rows = s->chunks[s->fail_at.chunk].rows;
    const sm_column *tc = rows->children[s->topic_col];
    int64_t row = s->fail_at.row;
    return sm_error_set(err, SM_ERR_EXPECTATION,
                        "%s:%d:%d: table %s: expectation %s (on_violation: fail) failed for kafka "
                        "topic %.*s partition %" PRId64 " offset %" PRId64 " (%" PRId64
                        " record(s) of batch %" PRId64 " fail it): %s. The batch is "
                        "not committed; fix the data or the rule, then restart: it is read again",
                        x->pos.file, x->pos.line, x->pos.col, s->t->name, x->name,
                        (int)(tc->offsets[row + 1] - tc->offsets[row]),
                        (const char *)tc->data + tc->offsets[row],
                        sm_column_i64(rows->children[s->part_col], row),
                        sm_column_i64(rows->children[s->off_col], row),
                        s->counts.failed[s->fail_rule], s->batch_id, x->expr);
}

int sm_silver_finish(sm_silver *s, sm_error *err)
{
    pos *order;
    int64_t n = 0, k = 0;
    sm_buf key = SM_BUF_INIT;
    int rc = SM_OK;

    if (s->fail_rule >= 0) {
        return fail_error(s, err);
    }
    for (int c = 0; c < s->n_chunks; c++) {
        n += s->chunks[c].rows->length;
    }
    order = sm_arena_alloc(s->a, sizeof *order * (size_t)(n + 1));
    if (!order) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < s->n_chunks; c++) {
        const in_chunk *ic = &s->chunks[c];
        for (int64_t r = 0; r < ic->rows->length; r++) {
            if (ic->fate[r] == FATE_QUARANTINE) {
                s->counts.quarantined++;
            } else {
                order[k].chunk = c;
                order[k].row = r;
                k++;
            }
        }
    }
    if (s->n_keys > 0 && k > 1) {
        qsort_r(order, (size_t)k, sizeof *order, cmp_pos_q, s);
    }
    for (int64_t i = 0; i < k; i++) {
        in_chunk *ic = &s->chunks[order[i].chunk];
        int64_t row = order[i].row, ev = 0;
        bool has_ev = event_ms(s, ic->rows, row, &ev), dup = false;
        if (has_ev && ev > s->counts.max_event_ms) {
            s->counts.max_event_ms = ev;
        }
        if (has_ev && s->watermark_ms > 0 && ev < s->watermark_ms) {
            s->counts.late++;
            if (s->n_keys > 0) {
                ic->fate[row] = FATE_LATE;
                s->counts.late_dropped++;
                continue;
            }
        }
        if (s->n_keys == 0) {
            continue;
        }
        if ((rc = sm_dedup_key(ic->rows, s->key_cols, s->n_keys, row, &key)) != SM_OK ||
            (rc = sm_dedup_check_insert(s->state, key.data, key.len,
                                        s->ev_col < 0 ? SM_DEDUP_NO_EVENT_TIME
                                        : has_ev      ? ev
                                                      : s->watermark_ms,
                                        &dup)) != SM_OK) {
            sm_buf_free(&key);
            return sm_error_set(err, rc,
                                rc == SM_ERR_NOMEM ? "table %s: dedup state: out of memory"
                                                   : "table %s: dedup key: bad key column",
                                s->t->name);
        }
        if (dup) {
            ic->fate[row] = FATE_DUPLICATE;
            s->counts.duplicates++;
        }
    }
    sm_buf_free(&key);
    s->counts.output =
        s->counts.input - s->counts.quarantined - s->counts.duplicates - s->counts.late_dropped;
    return SM_OK;
}

/* ---- step 3 --------------------------------------------------------------------------------- */

/* A STRUCT column of `schema` whose first children are rows sel[0..n) of `rows`. The last
 * child is left for the caller. */
static sm_column *take_rows(sm_silver *s, const sm_field *schema, const sm_column *rows,
                            const int64_t *sel, int64_t n)
{
    sm_column *c = sm_arena_calloc(s->a, sizeof *c);
    int nc = schema->n_children;
    if (!c || !(c->children = sm_arena_calloc(s->a, sizeof *c->children * (size_t)nc))) {
        return NULL;
    }
    c->field = schema;
    c->length = n;
    c->capacity = n;
    for (int i = 0; i < nc - 1; i++) {
        if (sm_column_take(s->a, rows->children[i], sel, n, &c->children[i]) != 0) {
            return NULL;
        }
    }
    return c;
}

int sm_silver_output(sm_silver *s, int k, sm_column **silver, sm_column **quarantine, sm_error *err)
{
    const in_chunk *ic = &s->chunks[k];
    int64_t n = ic->rows->length, ns = 0, nq = 0;
    int64_t *ssel = sm_arena_alloc(s->a, sizeof *ssel * (size_t)(n + 1));
    int64_t *qsel = sm_arena_alloc(s->a, sizeof *qsel * (size_t)(n + 1));
    sm_column *out, *q, *pts, *errs;
    int last = s->input->n_children;

    if (!ssel || !qsel) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int64_t r = 0; r < n; r++) {
        if (ic->fate[r] == FATE_SILVER) {
            ssel[ns++] = r;
        } else if (ic->fate[r] == FATE_QUARANTINE) {
            qsel[nq++] = r;
        }
    }
    out = take_rows(s, s->out_schema, ic->rows, ssel, ns);
    q = take_rows(s, s->q_schema, ic->rows, qsel, nq);
    pts = sm_column_new(s->a, s->out_schema->children[last], ns + 1);
    errs = sm_column_new(s->a, s->q_schema->children[last], nq + 1);
    if (!out || !q || !pts || !errs) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < ns; i++) {
        if (sm_column_append_i64(s->a, pts, s->batch_ts_ms * 1000) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    for (int64_t i = 0; i < nq; i++) {
        uint64_t bits = ic->failed[qsel[i]];
        for (int r = 0; r < s->n_rules; r++) {
            const char *name = s->t->expectations[r].name;
            if (((bits >> r) & 1) &&
                sm_column_append_bytes(s->a, errs->children[0], name, strlen(name)) != 0) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
        }
        if (sm_column_list_end(s->a, errs) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    out->children[last] = pts;
    q->children[last] = errs;
    *silver = out;
    *quarantine = q;
    return SM_OK;
}
