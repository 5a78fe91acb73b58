/*
 * A silver table's batch: expectations, quarantine, late rows and dedup (silver.h).
 */
#include "stream/silver.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "stream/expr.h"
#include "stream/project.h"

enum { FATE_SILVER = 0, FATE_QUARANTINE, FATE_DUPLICATE, FATE_LATE };

#define SLICE_ROWS 65536 /* rows per slice when checking rules */

/* The quarantine's own columns besides the select's: where the record came from. */
static const char *const trace_cols[] = {"_source_system", "_kafka_partition", "_kafka_offset",
                                         "_batch_id"};
#define N_TRACE (int)(sizeof trace_cols / sizeof trace_cols[0])

typedef struct in_chunk {
    const sm_column *rows; /* the input */
    sm_column *out;        /* the select's output columns (step 2) */
    uint64_t *failed;      /* per row: bit r = rule r failed; NULL without rules */
    uint8_t *fate;
    int64_t base; /* the batch's row number of row 0 */
    int64_t passed[SM_SILVER_MAX_RULES], nfailed[SM_SILVER_MAX_RULES];
    int fail_rule; /* the first failing record of a fail rule in the chunk; -1 none */
    int64_t fail_row;
    int64_t *sel[SM_SILVER_N]; /* step 3: the rows of each output */
    int64_t n[SM_SILVER_N];
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
    sm_project *project;
    const sm_field *view; /* the select's output */
    sm_expr *rules[SM_SILVER_MAX_RULES];
    int n_rules;
    int key_cols[64]; /* in the output */
    int n_keys;
    sm_dedup *state;
    int ev_col;                       /* the watermark column in the output, -1 none */
    int topic_col, part_col, off_col; /* in the input */
    int trace[N_TRACE];               /* input columns the quarantine adds; -1 when in the output */
    bool late_table;
    sm_field *schema[SM_SILVER_N];

    /* the batch */
    sm_arena *a;
    int64_t batch_id, batch_ts_ms, watermark_ms;
    in_chunk *chunks;
    int n_chunks, cap_chunks;
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

/* The select's items as strings (NULL with n 0: every input column). */
static int select_items(const sm_pl_table *t, sm_arena *a, const char ***out)
{
    const char **items = NULL;
    if (t->n_select > 0) {
        if (!(items = sm_arena_alloc(a, sizeof *items * t->n_select))) {
            return SM_ERR_NOMEM;
        }
        for (size_t i = 0; i < t->n_select; i++) {
            items[i] = t->select[i].text;
        }
    }
    *out = items;
    return SM_OK;
}

static int build_schemas(sm_silver *s)
{
    const sm_field *v = s->view;
    int n = v->n_children, nq = n;
    sm_field **oc = sm_arena_alloc(s->own, sizeof *oc * (size_t)(n + 1));
    sm_field **qc = sm_arena_alloc(s->own, sizeof *qc * (size_t)(n + N_TRACE + 1));
    sm_field *elem = sm_field_new(s->own, "element", SM_STRING, false);
    sm_field *list = elem ? sm_field_list(s->own, "_validation_errors", elem, false) : NULL;
    sm_field *pts = sm_field_new(s->own, "_processing_timestamp", SM_TIMESTAMP_US, false);
    if (!oc || !qc || !list || !pts) {
        return SM_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        oc[i] = qc[i] = v->children[i];
    }
    for (int k = 0; k < N_TRACE; k++) {
        int in = find_child(s->input, trace_cols[k]);
        s->trace[k] = find_child(v, trace_cols[k]) < 0 ? in : -1;
        if (s->trace[k] >= 0) {
            qc[nq++] = s->input->children[in];
        }
    }
    oc[n] = pts;
    qc[nq++] = list;
    s->schema[SM_SILVER_OUT] = sm_field_struct(s->own, "silver", oc, n + 1, false);
    s->schema[SM_SILVER_QUARANTINE] = sm_field_struct(s->own, "quarantine", qc, nq, false);
    s->schema[SM_SILVER_LATE] = s->schema[SM_SILVER_OUT];
    return s->schema[SM_SILVER_OUT] && s->schema[SM_SILVER_QUARANTINE] ? SM_OK : SM_ERR_NOMEM;
}

int sm_silver_new(const sm_pipeline *p, const sm_pl_table *t, const sm_field *input,
                  sm_silver **out, sm_error *err)
{
    sm_silver *s = calloc(1, sizeof *s);
    const char **items;
    int rc = SM_OK;

    *out = NULL;
    if (!s || !(s->own = sm_arena_create(0, 0))) {
        free(s);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    s->p = p;
    s->t = t;
    s->input = input;
    s->late_table = t->late != NULL;
    if (select_items(t, s->own, &items) != SM_OK) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = sm_project_new(input, items, t->n_select, &s->project, err)) != SM_OK) {
        sm_error_prefix(err, "%s: table %s", p->file, t->name);
        goto fail;
    }
    s->view = sm_project_schema(s->project);
    if (find_child(s->view, "_processing_timestamp") >= 0) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "%s: table %s: _processing_timestamp is the column silver adds; rename "
                          "the select's",
                          p->file, t->name);
        goto fail;
    }
    if (build_schemas(s) != SM_OK) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (t->n_expectations > SM_SILVER_MAX_RULES) {
        rc = sm_error_set(err, SM_ERR_USAGE, "%s: table %s has %zu expectations; at most %d",
                          p->file, t->name, t->n_expectations, SM_SILVER_MAX_RULES);
        goto fail;
    }
    for (size_t r = 0; r < t->n_expectations; r++) {
        const sm_pl_expectation *x = &t->expectations[r];
        if ((rc = sm_expr_compile(x->expr, s->schema[SM_SILVER_OUT], s->own, &s->rules[r], err)) !=
            SM_OK) {
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
        if ((s->key_cols[k] = find_child(s->view, t->dedup_keys.items[k])) < 0) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s: table %s: dedup key %s is not a column of the table", p->file,
                              t->name, t->dedup_keys.items[k]);
            goto fail;
        }
        s->n_keys++;
    }
    if (s->n_keys > 0 && !(s->state = sm_dedup_new())) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->ev_col = p->watermark.column ? find_child(s->view, p->watermark.column) : -1;
    s->topic_col = find_child(input, "_source_system");
    s->part_col = find_child(input, "_kafka_partition");
    s->off_col = find_child(input, "_kafka_offset");
    if (s->topic_col < 0 || s->part_col < 0 || s->off_col < 0) {
        rc = sm_error_set(err, SM_ERR_INTERNAL, "table %s: input has no Kafka position columns",
                          t->name);
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
    sm_project_free(s->project);
    sm_dedup_free(s->state);
    sm_arena_destroy(s->own);
    free(s);
}

const sm_field *sm_silver_schema(const sm_silver *s)
{
    return s->schema[SM_SILVER_OUT];
}

const sm_field *sm_silver_quarantine_schema(const sm_silver *s)
{
    return s->schema[SM_SILVER_QUARANTINE];
}

const sm_field *sm_silver_late_schema(const sm_silver *s)
{
    return s->schema[SM_SILVER_LATE];
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

/* The chunk and row of the batch's row number g. */
static pos pos_of(const sm_silver *s, int64_t g)
{
    int lo = 0, hi = s->n_chunks - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (s->chunks[mid].base <= g) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return (pos){lo, g - s->chunks[lo].base};
}

/* The event time of a row in ms; false when the table has none or it is NULL. */
static bool event_ms(const sm_silver *s, const sm_column *out, int64_t row, int64_t *ms)
{
    const sm_column *c;
    int64_t v;
    if (s->ev_col < 0) {
        return false;
    }
    c = out->children[s->ev_col];
    if (!sm_column_is_valid(c, row)) {
        return false;
    }
    v = sm_column_i64(c, row);
    switch (c->field->type) {
    case SM_TIMESTAMP_US:
        *ms = v >= 0 ? v / 1000 : -((-v + 999) / 1000);
        return true;
    case SM_DATE:
        *ms = v * 86400000;
        return true;
    default:
        *ms = v;
        return true;
    }
}

/* ---- steps 1 and 2 -------------------------------------------------------------------------- */

int sm_silver_add_chunk(sm_silver *s, const sm_column *rows, int *k, sm_error *err)
{
    in_chunk *c;
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
    memset(c, 0, sizeof *c);
    c->rows = rows;
    c->fail_rule = -1;
    c->base =
        s->n_chunks ? s->chunks[s->n_chunks - 1].base + s->chunks[s->n_chunks - 1].rows->length : 0;
    s->counts.input += rows->length;
    *k = s->n_chunks++;
    return SM_OK;
}

/* The silver table's columns of every row of `input`: the select's, then
 * _processing_timestamp. In `arena`. */
static int silver_rows(const sm_silver *s, const sm_column *input, sm_arena *arena, sm_column **out,
                       sm_error *err)
{
    const sm_field *f = s->schema[SM_SILVER_OUT];
    int nv = s->view->n_children;
    sm_expr_ctx ctx = {s->batch_ts_ms};
    sm_column *sel, *v, *pts;
    int rc;

    if ((rc = sm_project_eval(s->project, input, &ctx, arena, &sel, err)) != SM_OK) {
        sm_error_prefix(err, "table %s: select", s->t->name);
        return rc;
    }
    v = sm_arena_calloc(arena, sizeof *v);
    pts = sm_column_new(arena, f->children[nv], input->length);
    if (!v || !pts ||
        !(v->children = sm_arena_alloc(arena, sizeof *v->children * (size_t)(nv + 1)))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < input->length; i++) {
        ((int64_t *)pts->values)[i] = s->batch_ts_ms * 1000;
    }
    pts->length = input->length;
    memcpy(v->children, sel->children, sizeof *v->children * (size_t)nv);
    v->children[nv] = pts;
    v->field = f;
    v->length = v->capacity = input->length;
    *out = v;
    return SM_OK;
}

/* The rules over rows [from, from + m) of chunk c: failed bits, fates, counts, first failure. */
static int check_slice(sm_silver *s, int k, int64_t from, int64_t m, int64_t *sel, int64_t *tsel,
                       int64_t *fsel, sm_arena *scratch, sm_error *err)
{
    in_chunk *c = &s->chunks[k];
    sm_expr_ctx ctx = {s->batch_ts_ms};
    int64_t nt, nf;
    int rc;
    for (int64_t i = 0; i < m; i++) {
        sel[i] = from + i;
    }
    for (int r = 0; r < s->n_rules; r++) {
        int v = s->t->expectations[r].on_violation;
        if ((rc = sm_expr_filter(s->rules[r], c->out, &ctx, sel, m, scratch, tsel, &nt, fsel, &nf,
                                 err)) != SM_OK) {
            sm_error_prefix(err, "table %s, rule %s", s->t->name, s->t->expectations[r].name);
            return rc;
        }
        c->passed[r] += nt;
        c->nfailed[r] += nf;
        for (int64_t i = 0; i < nf; i++) {
            int64_t row = fsel[i];
            c->failed[row] |= (uint64_t)1 << r;
            if (v == SM_PL_DROP) {
                c->fate[row] = FATE_QUARANTINE;
            } else if (v == SM_PL_FAIL) {
                pos here = {k, row}, first = {k, c->fail_row};
                int d = c->fail_rule < 0 ? -1 : cmp_pos(s, here, first);
                if (d < 0 || (d == 0 && r < c->fail_rule)) {
                    c->fail_rule = r;
                    c->fail_row = row;
                }
            }
        }
    }
    return SM_OK;
}

int sm_silver_check(sm_silver *s, int k, sm_arena *arena, sm_error *err)
{
    in_chunk *c = &s->chunks[k];
    int64_t n = c->rows->length, cap = n < SLICE_ROWS ? n : SLICE_ROWS;
    int64_t *sel = NULL, *tsel = NULL, *fsel = NULL;
    sm_arena *scratch = NULL;
    int rc;

    if ((rc = silver_rows(s, c->rows, arena, &c->out, err)) != SM_OK) {
        return rc;
    }
    if (!(c->fate = sm_arena_calloc(arena, (size_t)n + 1))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if (s->n_rules == 0 || n == 0) {
        return SM_OK;
    }
    c->failed = sm_arena_calloc(arena, sizeof *c->failed * (size_t)n);
    sel = malloc(sizeof *sel * (size_t)cap);
    tsel = malloc(sizeof *tsel * (size_t)cap);
    fsel = malloc(sizeof *fsel * (size_t)cap);
    scratch = sm_arena_create(0, 0);
    if (!c->failed || !sel || !tsel || !fsel || !scratch) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t from = 0; from < n; from += cap) {
        int64_t m = n - from < cap ? n - from : cap;
        if ((rc = check_slice(s, k, from, m, sel, tsel, fsel, scratch, err)) != SM_OK) {
            goto done;
        }
        sm_arena_reset_keep(scratch);
    }
    rc = SM_OK;
done:
    free(sel);
    free(tsel);
    free(fsel);
    sm_arena_destroy(scratch);
    return rc;
}

/* ---- step 3 --------------------------------------------------------------------------------- */

static int fail_error(const sm_silver *s, int rule, pos at, sm_error *err)
{
    const sm_pl_expectation *x = &s->t->expectations[rule];
    const sm_column *rows = s->chunks[at.chunk].rows;
    const sm_column *tc = rows->children[s->topic_col];
    int64_t row = at.row;
    return sm_error_set(err, SM_ERR_EXPECTATION,
                        "%s:%d:%d: table %s: expectation %s (on_violation: fail) failed for kafka "
                        "topic %.*s partition %" PRId64 " offset %" PRId64 " (%" PRId64
                        " record(s) of batch %" PRId64 " fail it): %s. The batch is "
                        "not committed; fix the data or the rule, then restart: it is read again",
                        x->pos.file, x->pos.line, x->pos.col, s->t->name, x->name,
                        (int)(tc->offsets[row + 1] - tc->offsets[row]),
                        (const char *)tc->data + tc->offsets[row],
                        sm_column_i64(rows->children[s->part_col], row),
                        sm_column_i64(rows->children[s->off_col], row), s->counts.failed[rule],
                        s->batch_id, x->expr);
}

/* Merges the chunks' counts; the first failing record of a fail rule over all chunks. */
static int merge_checks(sm_silver *s, sm_error *err)
{
    int rule = -1;
    pos at = {0, 0};
    for (int k = 0; k < s->n_chunks; k++) {
        const in_chunk *c = &s->chunks[k];
        for (int r = 0; r < s->n_rules; r++) {
            s->counts.passed[r] += c->passed[r];
            s->counts.failed[r] += c->nfailed[r];
        }
        if (c->fail_rule >= 0) {
            pos here = {k, c->fail_row};
            int d = rule < 0 ? -1 : cmp_pos(s, here, at);
            if (d < 0 || (d == 0 && c->fail_rule < rule)) {
                rule = c->fail_rule;
                at = here;
            }
        }
    }
    return rule >= 0 ? fail_error(s, rule, at, err) : SM_OK;
}

/* Dedup of row `row` of chunk k (not quarantined, not late) with its encoded key: keeps, of the
 * rows of the batch sharing its keys, the one at the lowest position, unless the keys are in
 * the state from an earlier batch. */
static int dedup_row(sm_silver *s, int k, int64_t row, int64_t stored, const uint8_t *key,
                     size_t len, uint64_t hash)
{
    in_chunk *c = &s->chunks[k];
    uint32_t tag = (uint32_t)(c->base + row + 1), old = 0;
    bool dup = false;
    int rc = sm_dedup_check_insert_prefetched(s->state, key, len, hash, stored, tag, &dup, &old);
    if (rc != SM_OK || !dup) {
        return rc;
    }
    s->counts.duplicates++;
    if (old != 0) {
        pos other = pos_of(s, (int64_t)old - 1), here = {k, row};
        if (cmp_pos(s, here, other) < 0) {
            s->chunks[other.chunk].fate[other.row] = FATE_DUPLICATE;
            (void)sm_dedup_retag(s->state, key, len, stored, tag);
            return SM_OK;
        }
    }
    c->fate[row] = FATE_DUPLICATE;
    return SM_OK;
}

#define DEDUP_BLOCK 32 /* rows whose slots are prefetched together */

/* Step 3 for rows [from, from + m) of chunk k, m <= DEDUP_BLOCK: quarantine counts, event
 * times, late rows, then dedup of the rest, their slots fetched ahead. */
static int finish_block(sm_silver *s, int k, int64_t from, int64_t m, bool leaves, sm_buf *keys)
{
    in_chunk *c = &s->chunks[k];
    int64_t rows[DEDUP_BLOCK], stored[DEDUP_BLOCK];
    uint64_t hash[DEDUP_BLOCK];
    size_t off[DEDUP_BLOCK + 1];
    int n = 0, rc;

    sm_buf_reset(keys);
    off[0] = 0;
    for (int64_t row = from; row < from + m; row++) {
        int64_t ev = 0;
        bool has_ev;
        if (c->fate[row] == FATE_QUARANTINE) {
            s->counts.quarantined++;
            continue;
        }
        has_ev = event_ms(s, c->out, row, &ev);
        if (has_ev && ev > s->counts.max_event_ms) {
            s->counts.max_event_ms = ev;
        }
        if (has_ev && s->watermark_ms > 0 && ev < s->watermark_ms) {
            s->counts.late++;
            if (leaves) {
                c->fate[row] = FATE_LATE;
                s->counts.late_dropped++;
                continue;
            }
        }
        if (s->n_keys == 0) {
            continue;
        }
        if ((rc = sm_dedup_key_append(c->out, s->key_cols, s->n_keys, row, keys)) != SM_OK) {
            return rc;
        }
        rows[n] = row;
        stored[n] = s->ev_col < 0 ? SM_DEDUP_NO_EVENT_TIME : has_ev ? ev : s->watermark_ms;
        off[++n] = keys->len;
    }
    for (int i = 0; i < n; i++) {
        hash[i] = sm_dedup_prefetch(s->state, keys->data + off[i], off[i + 1] - off[i]);
    }
    for (int i = 0; i < n; i++) {
        if ((rc = dedup_row(s, k, rows[i], stored[i], keys->data + off[i], off[i + 1] - off[i],
                            hash[i])) != SM_OK) {
            return rc;
        }
    }
    return SM_OK;
}

/* The rows of each output of every chunk, in row order. */
static int make_selections(sm_silver *s, sm_error *err)
{
    static const int to[] = {[FATE_SILVER] = SM_SILVER_OUT,
                             [FATE_QUARANTINE] = SM_SILVER_QUARANTINE,
                             [FATE_DUPLICATE] = -1,
                             [FATE_LATE] = SM_SILVER_LATE};
    for (int k = 0; k < s->n_chunks; k++) {
        in_chunk *c = &s->chunks[k];
        int64_t n = c->rows->length;
        int64_t count[SM_SILVER_N] = {0};
        for (int64_t r = 0; r < n; r++) {
            int w = to[c->fate[r]];
            if (w >= 0) {
                count[w]++;
            }
        }
        if (!s->late_table) {
            count[SM_SILVER_LATE] = 0;
        }
        for (int w = 0; w < SM_SILVER_N; w++) {
            if (!(c->sel[w] = sm_arena_alloc(s->a, sizeof *c->sel[w] * (size_t)(count[w] + 1)))) {
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            c->n[w] = 0;
        }
        for (int64_t r = 0; r < n; r++) {
            int w = to[c->fate[r]];
            if (w >= 0 && (w != SM_SILVER_LATE || s->late_table)) {
                c->sel[w][c->n[w]++] = r;
            }
        }
    }
    return SM_OK;
}

int sm_silver_finish(sm_silver *s, sm_error *err)
{
    sm_buf key = SM_BUF_INIT;
    bool leaves = s->n_keys > 0 || s->late_table; /* late rows leave the table */
    int64_t total = 0;
    int rc;

    if ((rc = merge_checks(s, err)) != SM_OK) {
        return rc;
    }
    for (int k = 0; k < s->n_chunks; k++) {
        total += s->chunks[k].rows->length;
    }
    if (s->n_keys > 0 && total >= (int64_t)UINT32_MAX) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "table %s: a batch of %" PRId64
                            " rows is more than dedup takes (%" PRIu32
                            "); lower trigger.max_records_per_trigger",
                            s->t->name, total, UINT32_MAX - 1);
    }
    if (s->n_keys > 0 && sm_dedup_reserve(s->state, (size_t)total) != SM_OK) {
        return sm_error_set(err, SM_ERR_NOMEM, "table %s: dedup state: out of memory", s->t->name);
    }
    for (int k = 0; k < s->n_chunks && rc == SM_OK; k++) {
        int64_t n = s->chunks[k].rows->length;
        for (int64_t from = 0; from < n && rc == SM_OK; from += DEDUP_BLOCK) {
            int64_t m = n - from < DEDUP_BLOCK ? n - from : DEDUP_BLOCK;
            if ((rc = finish_block(s, k, from, m, leaves, &key)) != SM_OK) {
                rc = sm_error_set(err, rc,
                                  rc == SM_ERR_NOMEM ? "table %s: dedup state: out of memory"
                                                     : "table %s: dedup key: bad key column",
                                  s->t->name);
            }
        }
    }
    sm_buf_free(&key);
    if (s->n_keys > 0) {
        sm_dedup_clear_tags(s->state);
    }
    if (rc != SM_OK) {
        return rc;
    }
    s->counts.output =
        s->counts.input - s->counts.quarantined - s->counts.duplicates - s->counts.late_dropped;
    return make_selections(s, err);
}

/* ---- step 4 --------------------------------------------------------------------------------- */

int64_t sm_silver_rows(const sm_silver *s, int k, int which)
{
    return s->chunks[k].n[which];
}

/* The names of the rules of `bits`, a list slot each, for n rows. */
static int errors_column(const sm_silver *s, const in_chunk *c, const int64_t *sel, int64_t n,
                         const sm_field *f, sm_arena *a, sm_column **out)
{
    sm_column *errs = sm_column_new(a, f, n + 1);
    if (!errs) {
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t bits = c->failed ? c->failed[sel[i]] : 0;
        for (int r = 0; r < s->n_rules; r++) {
            const char *name = s->t->expectations[r].name;
            if (((bits >> r) & 1) &&
                sm_column_append_bytes(a, errs->children[0], name, strlen(name)) != 0) {
                return -1;
            }
        }
        if (sm_column_list_end(a, errs) != 0) {
            return -1;
        }
    }
    *out = errs;
    return 0;
}

int sm_silver_view(const sm_silver *s, int k, int which, sm_arena *scratch, sm_column **out,
                   const int64_t **sel, sm_error *err)
{
    const in_chunk *c = &s->chunks[k];
    const sm_field *f = s->schema[which];
    int nv = s->view->n_children;
    sm_column *v;

    if (which == SM_SILVER_QUARANTINE) {
        return sm_error_set(err, SM_ERR_INTERNAL, "silver: the quarantine has no view");
    }
    if (!(v = sm_arena_calloc(scratch, sizeof *v)) ||
        !(v->children = sm_arena_calloc(scratch, sizeof *v->children * (size_t)(nv + 1)))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    v->field = f;
    v->length = v->capacity = c->out->length;
    for (int i = 0; i < nv + 1; i++) { /* the table's columns, every row of the chunk */
        v->children[i] = c->out->children[i];
    }
    *out = v;
    *sel = c->sel[which];
    return SM_OK;
}

int sm_silver_slice(const sm_silver *s, int k, int which, int64_t from, int64_t n,
                    sm_arena *scratch, sm_column **out, sm_error *err)
{
    const in_chunk *c = &s->chunks[k];
    const sm_field *f = s->schema[which];
    const int64_t *sel = c->sel[which] + from;
    int nv = s->view->n_children, at = 0;
    bool q = which == SM_SILVER_QUARANTINE;
    sm_column *v = sm_arena_calloc(scratch, sizeof *v);

    if (!v ||
        !(v->children = sm_arena_calloc(scratch, sizeof *v->children * (size_t)f->n_children))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    v->field = f;
    v->length = v->capacity = n;
    for (int i = 0; i < (q ? nv : nv + 1); i++) { /* the silver table's columns */
        if (sm_column_take(scratch, c->out->children[i], sel, n, &v->children[at++]) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    for (int t = 0; q && t < N_TRACE; t++) {
        if (s->trace[t] >= 0 && sm_column_take(scratch, c->rows->children[s->trace[t]], sel, n,
                                               &v->children[at++]) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    if (q && errors_column(s, c, sel, n, f->children[at], scratch, &v->children[at]) != 0) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    *out = v;
    return SM_OK;
}
