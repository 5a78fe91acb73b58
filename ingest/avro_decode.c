/*
 * Avro binary → column rows, with writer → reader resolution (see avro_decode.h, docs/avro.md).
 *
 * Writer schemas are parsed with jansson into a small node tree (wnode) that also yields the
 * Parsing Canonical Form for single-object fingerprints. For each writer schema a plan (pnode
 * tree) is compiled against the reader's sm_field tree on first use and cached with the schema:
 * what to read, which column it goes to, how to convert, what to skip, which defaults to fill.
 *
 * DESIGN: the reader never trusts a length, count, index or varint: each is checked against
 * the bytes that remain before anything is read or appended. Zero-width items (null, empty
 * records) are bounded by a per-message item budget so a huge count cannot spin.
 */
#include "ingest/avro_decode.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/durable.h"
#include "ingest/json_decode.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define ITEM_BUDGET     (1 << 24) /* array/map items per message */
#define MAX_SCHEMA_TEXT (16u << 20)

/* ---- CRC-64-AVRO ------------------------------------------------------------------------- */

#define CRC64_EMPTY 0xc15d213aa4d7a795ULL

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t f = (uint64_t)i;
        for (int j = 0; j < 8; j++) {
            f = (f >> 1) ^ (CRC64_EMPTY & (0 - (f & 1)));
        }
        crc64_table[i] = f;
    }
}

uint64_t sm_avro_crc64(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t fp = CRC64_EMPTY;
    pthread_once(&crc64_once, crc64_init);
    for (size_t i = 0; i < len; i++) {
        fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
    }
    return fp;
}

/* ---- writer schemas ---------------------------------------------------------------------- */

enum {
    W_NULL,
    W_BOOL,
    W_INT,
    W_LONG,
    W_FLOAT,
    W_DOUBLE,
    W_BYTES,
    W_STRING,
    W_RECORD,
    W_ENUM,
    W_ARRAY,
    W_MAP,
    W_UNION,
    W_FIXED
};

static const char *const prim_names[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};

typedef struct wnode {
    int t;
    const char *name;    /* full name of record, enum, fixed */
    const char *logical; /* logicalType or NULL */
    int precision, scale;
    int size;           /* fixed */
    int min_size;       /* fewest bytes one value takes */
    int n;              /* record fields, enum symbols, union branches, array/map: 1 */
    const char **names; /* record field names, enum symbols */
    struct wnode **kids;
} wnode;

typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = true;
            return;
        }
        b->s = t, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_quoted(sbuf *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (!t) {
        b->oom = true;
    } else {
        sb_str(b, t);
    }
    free(t);
    json_decref(j);
}

typedef struct wparse {
    sm_arena *a;
    wnode **named;
    int n_named, cap_named;
    sbuf pcf;
    char err[200];
    int depth;
} wparse;

static wnode *wnew(wparse *P, int t)
{
    wnode *w = sm_arena_calloc(P->a, sizeof *w);
    if (w) {
        w->t = t;
    } else {
        snprintf(P->err, sizeof P->err, "out of memory");
    }
    return w;
}

static const char *full_name(wparse *P, const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns) {
        return sm_arena_strdup(P->a, name);
    }
    size_t n = strlen(ns) + strlen(name) + 2;
    char *s = sm_arena_alloc(P->a, n);
    if (s) {
        snprintf(s, n, "%s.%s", ns, name);
    }
    return s;
}

static const char *name_space(wparse *P, const char *full)
{
    const char *dot = strrchr(full, '.');
    return dot ? sm_arena_strndup(P->a, full, (size_t)(dot - full)) : "";
}

static wnode *find_named(wparse *P, const char *name, const char *ns)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *want = name;
        char buf[512];
        if (pass == 0) {
            if (strchr(name, '.') || !ns || !*ns) {
                continue;
            }
            snprintf(buf, sizeof buf, "%s.%s", ns, name);
            want = buf;
        }
        for (int i = 0; i < P->n_named; i++) {
            if (strcmp(P->named[i]->name, want) == 0) {
                return P->named[i];
            }
        }
    }
    return NULL;
}

static int add_named(wparse *P, wnode *w)
{
    if (find_named(P, w->name, NULL)) {
        snprintf(P->err, sizeof P->err, "type '%s' defined twice", w->name);
        return -1;
    }
    if (P->n_named == P->cap_named) {
        int cap = P->cap_named ? P->cap_named * 2 : 8;
        wnode **t = realloc(P->named, sizeof *t * (size_t)cap);
        if (!t) {
            snprintf(P->err, sizeof P->err, "out of memory");
            return -1;
        }
        P->named = t, P->cap_named = cap;
    }
    P->named[P->n_named++] = w;
    return 0;
}

static int prim_of(const char *s)
{
    for (int i = 0; i < 8; i++) {
        if (strcmp(s, prim_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const int prim_min[] = {0, 1, 1, 1, 4, 8, 1, 1};

static wnode *wparse_node(wparse *P, json_t *j, const char *ns);

static wnode *wparse_named_ref(wparse *P, const char *s, const char *ns)
{
    int p = prim_of(s);
    if (p >= 0) {
        wnode *w = wnew(P, p);
        if (w) {
            w->min_size = prim_min[p];
            sb_quoted(&P->pcf, s);
        }
        return w;
    }
    wnode *w = find_named(P, s, ns);
    if (!w) {
        snprintf(P->err, sizeof P->err, "unknown type '%s'", s);
        return NULL;
    }
    sb_quoted(&P->pcf, w->name);
    return w;
}

static wnode *wparse_complex(wparse *P, json_t *j, const char *ns, const char *type)
{
    wnode *w;
    const char *name = jstr(j, "name");
    bool is_named = !strcmp(type, "record") || !strcmp(type, "error") || !strcmp(type, "enum") ||
                    !strcmp(type, "fixed");
    if (is_named) {
        const char *nsp = jstr(j, "namespace");
        if (!name || !*name) {
            snprintf(P->err, sizeof P->err, "%s without a name", type);
            return NULL;
        }
        if (!(w = wnew(P, !strcmp(type, "enum")    ? W_ENUM
                          : !strcmp(type, "fixed") ? W_FIXED
                                                   : W_RECORD)) ||
            !(w->name = full_name(P, name, nsp ? nsp : ns)) || add_named(P, w)) {
            return NULL;
        }
        sb_str(&P->pcf, "{\"name\":");
        sb_quoted(&P->pcf, w->name);
        sb_str(&P->pcf, ",\"type\":");
        sb_quoted(&P->pcf, w->t == W_RECORD ? "record" : type);
        ns = name_space(P, w->name);
        if (w->t == W_RECORD) {
            json_t *fs = json_object_get(j, "fields");
            if (!json_is_array(fs)) {
                snprintf(P->err, sizeof P->err, "record '%s' without fields", w->name);
                return NULL;
            }
            w->n = (int)json_array_size(fs);
            w->names = sm_arena_calloc(P->a, sizeof(char *) * (size_t)(w->n + 1));
            w->kids = sm_arena_calloc(P->a, sizeof(wnode *) * (size_t)(w->n + 1));
            if (!w->names || !w->kids) {
                snprintf(P->err, sizeof P->err, "out of memory");
                return NULL;
            }
            sb_str(&P->pcf, ",\"fields\":[");
            for (int i = 0; i < w->n; i++) {
                json_t *fj = json_array_get(fs, (size_t)i);
                const char *fname = jstr(fj, "name");
                json_t *ft = json_object_get(fj, "type");
                if (!fname || !ft) {
                    snprintf(P->err, sizeof P->err, "record '%s': field %d without name or type",
                             w->name, i);
                    return NULL;
                }
                w->names[i] = sm_arena_strdup(P->a, fname);
                sb_str(&P->pcf, i ? ",{\"name\":" : "{\"name\":");
                sb_quoted(&P->pcf, fname);
                sb_str(&P->pcf, ",\"type\":");
                if (!(w->kids[i] = wparse_node(P, ft, ns))) {
                    return NULL;
                }
                sb_str(&P->pcf, "}");
                w->min_size += w->kids[i]->min_size;
            }
            sb_str(&P->pcf, "]}");
        } else if (w->t == W_ENUM) {
            json_t *ss = json_object_get(j, "symbols");
            if (!json_is_array(ss) || json_array_size(ss) == 0) {
                snprintf(P->err, sizeof P->err, "enum '%s' without symbols", w->name);
                return NULL;
            }
            w->n = (int)json_array_size(ss);
            w->min_size = 1;
            if (!(w->names = sm_arena_calloc(P->a, sizeof(char *) * (size_t)w->n))) {
                snprintf(P->err, sizeof P->err, "out of memory");
                return NULL;
            }
            sb_str(&P->pcf, ",\"symbols\":[");
            for (int i = 0; i < w->n; i++) {
                json_t *s = json_array_get(ss, (size_t)i);
                if (!json_is_string(s)) {
                    snprintf(P->err, sizeof P->err, "enum '%s': symbol %d is not a string", w->name,
                             i);
                    return NULL;
                }
                w->names[i] = sm_arena_strdup(P->a, json_string_value(s));
                if (i) {
                    sb_str(&P->pcf, ",");
                }
                sb_quoted(&P->pcf, w->names[i]);
            }
            sb_str(&P->pcf, "]}");
        } else {
            json_t *sz = json_object_get(j, "size");
            if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
                json_integer_value(sz) > (1 << 20)) {
                snprintf(P->err, sizeof P->err, "fixed '%s' without a valid size", w->name);
                return NULL;
            }
            w->size = w->min_size = (int)json_integer_value(sz);
            char num[32];
            snprintf(num, sizeof num, ",\"size\":%d}", w->size);
            sb_str(&P->pcf, num);
        }
        return w;
    }
    if (!strcmp(type, "array") || !strcmp(type, "map")) {
        bool arr = type[0] == 'a';
        json_t *it = json_object_get(j, arr ? "items" : "values");
        if (!it || !(w = wnew(P, arr ? W_ARRAY : W_MAP)) ||
            !(w->kids = sm_arena_calloc(P->a, sizeof(wnode *)))) {
            if (!P->err[0]) {
                snprintf(P->err, sizeof P->err, "%s without %s", type, arr ? "items" : "values");
            }
            return NULL;
        }
        w->n = 1;
        w->min_size = 1;
        sb_str(&P->pcf, arr ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":");
        if (!(w->kids[0] = wparse_node(P, it, ns))) {
            return NULL;
        }
        sb_str(&P->pcf, "}");
        return w;
    }
    return wparse_named_ref(P, type, ns);
}

static wnode *wparse_node(wparse *P, json_t *j, const char *ns)
{
    wnode *w = NULL;
    if (++P->depth > 200) {
        snprintf(P->err, sizeof P->err, "schema nested deeper than 200");
        return NULL;
    }
    if (json_is_string(j)) {
        w = wparse_named_ref(P, json_string_value(j), ns);
    } else if (json_is_array(j)) {
        size_t n = json_array_size(j);
        if (n == 0 || !(w = wnew(P, W_UNION)) ||
            !(w->kids = sm_arena_calloc(P->a, sizeof(wnode *) * n))) {
            if (!P->err[0]) {
                snprintf(P->err, sizeof P->err, "empty union");
            }
            P->depth--;
            return NULL;
        }
        w->n = (int)n;
        w->min_size = 1;
        sb_str(&P->pcf, "[");
        for (size_t i = 0; i < n; i++) {
            if (i) {
                sb_str(&P->pcf, ",");
            }
            if (!(w->kids[i] = wparse_node(P, json_array_get(j, i), ns))) {
                w = NULL;
                break;
            }
            if (w->kids[i]->t == W_UNION) {
                snprintf(P->err, sizeof P->err, "union inside a union");
                w = NULL;
                break;
            }
        }
        if (w) {
            sb_str(&P->pcf, "]");
        }
    } else if (json_is_object(j)) {
        json_t *t = json_object_get(j, "type");
        if (json_is_string(t)) {
            const char *ts = json_string_value(t);
            int p = prim_of(ts);
            if (p >= 0) {
                if ((w = wnew(P, p))) {
                    w->min_size = prim_min[p];
                    sb_quoted(&P->pcf, ts);
                    const char *lt = jstr(j, "logicalType");
                    if (lt) {
                        w->logical = sm_arena_strdup(P->a, lt);
                        json_t *pr = json_object_get(j, "precision"),
                               *sc = json_object_get(j, "scale");
                        w->precision = json_is_integer(pr) ? (int)json_integer_value(pr) : 0;
                        w->scale = json_is_integer(sc) ? (int)json_integer_value(sc) : 0;
                    }
                }
            } else {
                w = wparse_complex(P, j, ns, ts);
                if (w && w->t == W_FIXED && !w->logical) {
                    const char *lt = jstr(j, "logicalType");
                    if (lt) {
                        json_t *pr = json_object_get(j, "precision"),
                               *sc = json_object_get(j, "scale");
                        w->logical = sm_arena_strdup(P->a, lt);
                        w->precision = json_is_integer(pr) ? (int)json_integer_value(pr) : 0;
                        w->scale = json_is_integer(sc) ? (int)json_integer_value(sc) : 0;
                    }
                }
            }
        } else if (t) {
            w = wparse_node(P, t, ns);
        } else {
            snprintf(P->err, sizeof P->err, "object without \"type\"");
        }
    } else {
        snprintf(P->err, sizeof P->err, "a schema is a string, array or object");
    }
    P->depth--;
    return w;
}

/* Parses writer schema text; the canonical form goes to *pcf (malloc'ed) when pcf != NULL. */
static wnode *writer_parse(const char *text, size_t len, sm_arena *a, char **pcf, char *errbuf,
                           size_t errcap)
{
    json_error_t je;
    wparse P;
    memset(&P, 0, sizeof P);
    P.a = a;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    wnode *w = NULL;
    if (!j) {
        snprintf(errbuf, errcap, "not JSON: %s (line %d)", je.text, je.line);
    } else {
        w = wparse_node(&P, j, "");
        if (!w) {
            snprintf(errbuf, errcap, "%s", P.err[0] ? P.err : "out of memory");
        } else if (P.pcf.oom) {
            snprintf(errbuf, errcap, "out of memory");
            w = NULL;
        }
    }
    json_decref(j);
    free(P.named);
    if (w && pcf) {
        *pcf = P.pcf.s;
    } else {
        free(P.pcf.s);
    }
    return w;
}

int sm_avro_fingerprint(const char *text, size_t len, uint64_t *fp, char *canon, size_t canon_cap,
                        sm_error *err)
{
    char msg[200];
    char *pcf = NULL;
    sm_arena *a = sm_arena_create(0, 0);
    if (!a) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    wnode *w = writer_parse(text, len, a, &pcf, msg, sizeof msg);
    sm_arena_destroy(a);
    if (!w) {
        return sm_error_set(err, SM_ERR_USAGE, "avro schema: %s", msg);
    }
    *fp = sm_avro_crc64(pcf, strlen(pcf));
    if (canon && canon_cap) {
        snprintf(canon, canon_cap, "%s", pcf);
    }
    free(pcf);
    return SM_OK;
}

/* ---- resolution plans -------------------------------------------------------------------- */

enum {
    P_SKIP,
    P_NULL,
    P_FAIL,
    P_BOOL,
    P_INT,
    P_TS,
    P_I2F,
    P_FLOAT,
    P_DOUBLE,
    P_STR,
    P_BIN,
    P_FIXED,
    P_DEC_B,
    P_DEC_F,
    P_ENUM,
    P_RECORD,
    P_ARRAY,
    P_MAP,
    P_UNION
};

typedef struct pnode {
    int op;
    const wnode *w;   /* the writer's type at this point */
    const char *name; /* field name for messages */
    int64_t mul;      /* P_TS: writer unit → column unit */
    int64_t lo, hi;   /* P_TS: the values taken, in the writer's unit */
    int fail_reason;  /* P_FAIL */
    const char *fail_msg;
    int n;              /* record: writer fields; union: branches */
    struct pnode *kids; /* record: per writer field; union: per branch; array/map: [0] */
    int *target;        /* record: writer field i → reader child, -1: skipped */
    int n_def;          /* record: reader children the writer lacks */
    int *def_idx;
    json_t **def;
    const char **sym; /* enum: writer index → reader symbol, NULL: unknown to the reader */
    i128 dec_limit;   /* decimal: 10^precision */
} pnode;

typedef struct sm_schema_ent {
    int32_t id;
    bool has_id;
    uint64_t fp;
    wnode *root; /* NULL when the text did not parse */
    char *bad;   /* why it did not parse / resolve (malloc'ed) */
    int bad_reason;
    pnode *plan; /* compiled on first use */
    bool planned;
} sm_schema_ent;

struct sm_avro_decoder {
    const sm_avsc *reader;
    sm_avro_opts opts;
    sm_arena *a; /* writer schemas and plans */
    sm_schema_ent *ents;
    int n_ents, cap_ents;
    int last; /* index of the last entry used */
    bool dir_scanned;
    json_t **defs; /* decref'ed at free */
    int n_defs, cap_defs;
};

typedef struct pctx {
    sm_avro_decoder *d;
    char err[256];
} pctx;

static int pfail(pctx *C, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfail(pctx *C, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(C->err, sizeof C->err, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *wtype_name(const wnode *w)
{
    static const char *const n[] = {"null",   "boolean", "int",    "long",   "float",
                                    "double", "bytes",   "string", "record", "enum",
                                    "array",  "map",     "union",  "fixed"};
    return w->name ? w->name : n[w->t];
}

static bool is_logical(const wnode *w, const char *l)
{
    return w->logical && !strcmp(w->logical, l);
}

static int keep_def(sm_avro_decoder *d, json_t *j)
{
    if (d->n_defs == d->cap_defs) {
        int cap = d->cap_defs ? d->cap_defs * 2 : 16;
        json_t **t = realloc(d->defs, sizeof *t * (size_t)cap);
        if (!t) {
            return -1;
        }
        d->defs = t, d->cap_defs = cap;
    }
    d->defs[d->n_defs++] = j;
    return 0;
}

static int compile(pctx *C, pnode *pn, const wnode *w, const sm_field *f, const char *name);

static bool is_reader_enum(pctx *C, const sm_field *f)
{
    const sm_avsc_info *in = sm_avsc_info_of(C->d->reader, f);
    return in && in->n_symbols > 0;
}

static int compile_record(pctx *C, pnode *pn, const wnode *w, const sm_field *f)
{
    sm_arena *a = C->d->a;
    pn->op = P_RECORD;
    pn->n = w->n;
    pn->kids = sm_arena_calloc(a, sizeof(pnode) * (size_t)(w->n + 1));
    pn->target = sm_arena_calloc(a, sizeof(int) * (size_t)(w->n + 1));
    pn->def_idx = sm_arena_calloc(a, sizeof(int) * (size_t)(f->n_children + 1));
    pn->def = sm_arena_calloc(a, sizeof(json_t *) * (size_t)(f->n_children + 1));
    bool *seen = calloc((size_t)f->n_children + 1, 1);
    if (!pn->kids || !pn->target || !pn->def_idx || !pn->def || !seen) {
        free(seen);
        return pfail(C, "out of memory");
    }
    for (int i = 0; i < w->n; i++) {
        int k = -1;
        for (int j = 0; j < f->n_children; j++) {
            if (!strcmp(f->children[j]->name, w->names[i])) {
                k = j;
                break;
            }
        }
        pn->target[i] = k;
        if (k < 0) {
            pn->kids[i].op = P_SKIP;
            pn->kids[i].w = w->kids[i];
            pn->kids[i].name = w->names[i];
            continue;
        }
        seen[k] = true;
        if (compile(C, &pn->kids[i], w->kids[i], f->children[k], w->names[i])) {
            free(seen);
            return -1;
        }
    }
    for (int j = 0; j < f->n_children; j++) {
        if (seen[j]) {
            continue;
        }
        const sm_avsc_info *in = sm_avsc_info_of(C->d->reader, f->children[j]);
        json_t *dj = NULL;
        if (in && in->default_json) {
            dj = json_loadb(in->default_json, in->default_len, JSON_DECODE_ANY, NULL);
        }
        if (!dj) {
            free(seen);
            return pfail(C, "reader field '%s' is not in writer record '%s' and has no default",
                         f->children[j]->name, wtype_name(w));
        }
        if (keep_def(C->d, dj)) {
            json_decref(dj);
            free(seen);
            return pfail(C, "out of memory");
        }
        pn->def_idx[pn->n_def] = j;
        pn->def[pn->n_def++] = dj;
    }
    free(seen);
    return 0;
}

/* A writer branch that cannot resolve fails only when a message takes it. */
static int compile_branch(pctx *C, pnode *pn, const wnode *w, const sm_field *f, const char *name)
{
    if (compile(C, pn, w, f, name) == 0) {
        return 0;
    }
    memset(pn, 0, sizeof *pn);
    pn->op = P_FAIL;
    pn->w = w;
    pn->name = name;
    pn->fail_reason = SM_AVRO_RESOLVE;
    pn->fail_msg = sm_arena_strdup(C->d->a, C->err);
    return pn->fail_msg ? 0 : pfail(C, "out of memory");
}

static int compile(pctx *C, pnode *pn, const wnode *w, const sm_field *f, const char *name)
{
    memset(pn, 0, sizeof *pn);
    pn->w = w;
    pn->name = name;
    if (w->t == W_UNION) {
        pn->op = P_UNION;
        pn->n = w->n;
        if (!(pn->kids = sm_arena_calloc(C->d->a, sizeof(pnode) * (size_t)w->n))) {
            return pfail(C, "out of memory");
        }
        for (int i = 0; i < w->n; i++) {
            if (compile_branch(C, &pn->kids[i], w->kids[i], f, name)) {
                return -1;
            }
        }
        return 0;
    }
    if (w->t == W_NULL) {
        if (f->nullable) {
            pn->op = P_NULL;
            return 0;
        }
        pn->op = P_FAIL;
        pn->fail_reason = SM_AVRO_NULL;
        pn->fail_msg = "null for a required column";
        return 0;
    }
    const int t = w->t;
    switch (f->type) {
    case SM_BOOL:
        if (t == W_BOOL) {
            pn->op = P_BOOL;
            return 0;
        }
        break;
    case SM_INT32:
        if (t == W_INT) {
            pn->op = P_INT;
            return 0;
        }
        break;
    case SM_INT64:
        if (t == W_INT || t == W_LONG) {
            pn->op = P_INT;
            return 0;
        }
        break;
    case SM_DATE:
        if (t == W_INT) {
            pn->op = P_INT;
            return 0;
        }
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        if (t == W_LONG || t == W_INT) {
            bool wus = is_logical(w, "timestamp-micros") || is_logical(w, "local-timestamp-micros");
            bool wms = is_logical(w, "timestamp-millis") || is_logical(w, "local-timestamp-millis");
            if (f->type == SM_TIMESTAMP_MS && wus) {
                return pfail(C,
                             "field '%s': writer timestamp-micros cannot go to a millisecond "
                             "column without losing precision",
                             name);
            }
            pn->op = P_TS;
            pn->mul = (f->type == SM_TIMESTAMP_US && wms) ? 1000 : 1;
            if (f->type == SM_TIMESTAMP_MS || pn->mul == 1000) {
                pn->lo = SM_TS_MS_MIN, pn->hi = SM_TS_MS_MAX;
            } else {
                pn->lo = SM_TS_US_MIN, pn->hi = SM_TS_US_MAX;
            }
            return 0;
        }
        break;
    case SM_FLOAT:
        if (t == W_INT || t == W_LONG) {
            pn->op = P_I2F;
            return 0;
        }
        if (t == W_FLOAT) {
            pn->op = P_FLOAT;
            return 0;
        }
        break;
    case SM_DOUBLE:
        if (t == W_INT || t == W_LONG) {
            pn->op = P_I2F;
            return 0;
        }
        if (t == W_FLOAT || t == W_DOUBLE) {
            pn->op = t == W_FLOAT ? P_FLOAT : P_DOUBLE;
            return 0;
        }
        break;
    case SM_STRING:
    case SM_JSON:
        if ((t == W_STRING || t == W_BYTES) && !is_reader_enum(C, f)) {
            pn->op = P_STR;
            return 0;
        }
        if (t == W_ENUM) {
            const sm_avsc_info *in = sm_avsc_info_of(C->d->reader, f);
            pn->op = P_ENUM;
            if (!(pn->sym = sm_arena_calloc(C->d->a, sizeof(char *) * (size_t)w->n))) {
                return pfail(C, "out of memory");
            }
            for (int i = 0; i < w->n; i++) {
                if (!in || in->n_symbols == 0) {
                    pn->sym[i] = w->names[i];
                    continue;
                }
                for (int s = 0; s < in->n_symbols; s++) {
                    if (!strcmp(in->symbols[s], w->names[i])) {
                        pn->sym[i] = in->symbols[s];
                    }
                }
            }
            return 0;
        }
        break;
    case SM_BINARY:
        if (t == W_STRING || t == W_BYTES) {
            pn->op = P_BIN;
            return 0;
        }
        break;
    case SM_FIXED_BINARY:
        if (t == W_FIXED && w->size == f->width) {
            pn->op = P_FIXED;
            return 0;
        }
        break;
    case SM_DECIMAL:
        if ((t == W_BYTES || t == W_FIXED) && is_logical(w, "decimal")) {
            if (w->scale != f->scale) {
                return pfail(C, "field '%s': writer decimal scale %d, reader scale %d", name,
                             w->scale, f->scale);
            }
            pn->op = t == W_BYTES ? P_DEC_B : P_DEC_F;
            pn->dec_limit = 1;
            for (int i = 0; i < f->precision; i++) {
                pn->dec_limit *= 10;
            }
            return 0;
        }
        break;
    case SM_STRUCT:
        if (t == W_RECORD) {
            return compile_record(C, pn, w, f);
        }
        break;
    case SM_LIST:
        if (t == W_ARRAY && f->n_children == 1) {
            pn->op = P_ARRAY;
            pn->n = 1;
            if (!(pn->kids = sm_arena_calloc(C->d->a, sizeof(pnode)))) {
                return pfail(C, "out of memory");
            }
            return compile(C, &pn->kids[0], w->kids[0], f->children[0], name);
        }
        break;
    case SM_MAP:
        if (t == W_MAP && f->n_children == 1 && f->children[0]->n_children == 2) {
            pn->op = P_MAP;
            pn->n = 1;
            if (!(pn->kids = sm_arena_calloc(C->d->a, sizeof(pnode)))) {
                return pfail(C, "out of memory");
            }
            return compile(C, &pn->kids[0], w->kids[0], f->children[0]->children[1], name);
        }
        break;
    default:
        break;
    }
    return pfail(C, "field '%s': writer type %s%s%s does not resolve to column type %s", name,
                 wtype_name(w), w->logical ? "/" : "", w->logical ? w->logical : "",
                 sm_type_name(f->type));
}

/* ---- decoding ---------------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *base, *p, *end;
    sm_arena *a;
    sm_avro_error *why;
    int depth, max_depth;
    int64_t budget; /* array/map items left */
} rd;

static int rfail(rd *r, int reason, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rfail(rd *r, int reason, const uint8_t *at, const char *fmt, ...)
{
    if (r->why) {
        va_list ap;
        char m[200];
        va_start(ap, fmt);
        vsnprintf(m, sizeof m, fmt, ap);
        va_end(ap);
        r->why->reason = (sm_avro_reason)reason;
        r->why->offset = (size_t)(at - r->base);
        snprintf(r->why->msg, sizeof r->why->msg, "%s at byte %zu", m, r->why->offset);
    }
    return -1;
}

static int nomem(rd *r)
{
    return rfail(r, SM_AVRO_NOMEM, r->p, "batch arena is full");
}

static int truncated(rd *r, const char *name, const char *what)
{
    return rfail(r, SM_AVRO_TRUNCATED, r->end, "field '%s': payload ends inside %s", name, what);
}

static int read_long(rd *r, const char *name, int64_t *v)
{
    const uint8_t *at = r->p;
    uint64_t u = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) {
            return truncated(r, name, "a varint");
        }
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) {
            return rfail(r, SM_AVRO_VARINT, at, "field '%s': varint overflows 64 bits", name);
        }
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)((u >> 1) ^ (0 - (u & 1)));
            return 0;
        }
    }
    return rfail(r, SM_AVRO_VARINT, at, "field '%s': varint longer than 10 bytes", name);
}

static int read_int(rd *r, const char *name, int64_t *v)
{
    const uint8_t *at = r->p;
    if (read_long(r, name, v)) {
        return -1;
    }
    if (*v < INT32_MIN || *v > INT32_MAX) {
        return rfail(r, SM_AVRO_RANGE, at, "field '%s': %lld does not fit an Avro int", name,
                     (long long)*v);
    }
    return 0;
}

/* A length-prefixed run of bytes, checked against what remains. */
static int read_len(rd *r, const char *name, const uint8_t **s, size_t *n)
{
    const uint8_t *at = r->p;
    int64_t v;
    if (read_long(r, name, &v)) {
        return -1;
    }
    if (v < 0) {
        return rfail(r, SM_AVRO_LENGTH, at, "field '%s': negative length %lld", name, (long long)v);
    }
    if ((uint64_t)v > (uint64_t)(r->end - r->p)) {
        return rfail(r, SM_AVRO_TRUNCATED, at,
                     "field '%s': length %lld runs past the end of the payload", name,
                     (long long)v);
    }
    *s = r->p;
    *n = (size_t)v;
    r->p += v;
    return 0;
}

static int need(rd *r, const char *name, size_t n, const char *what)
{
    if ((size_t)(r->end - r->p) < n) {
        return truncated(r, name, what);
    }
    return 0;
}

/* Offset of the first invalid UTF-8 byte, or n when s is valid. */
static size_t utf8_check(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ULL))) {
                i += 8;
            }
            if (i < n && s[i] < 0x80) {
                i++;
            }
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= k) {
            return i;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return i;
        }
        i += k + 1;
    }
    return n;
}

static int enter(rd *r, const char *name)
{
    if (++r->depth > r->max_depth) {
        return rfail(r, SM_AVRO_DEPTH, r->p, "field '%s': nested deeper than %d", name,
                     r->max_depth);
    }
    return 0;
}

/* Reads a block header; *count 0 ends the array/map. */
static int block_count(rd *r, const char *name, int min_size, int64_t *count, int64_t *bytes)
{
    const uint8_t *at = r->p;
    int64_t c;
    *bytes = -1;
    if (read_long(r, name, &c)) {
        return -1;
    }
    if (c < 0) {
        if (c == INT64_MIN) {
            return rfail(r, SM_AVRO_LENGTH, at, "field '%s': bad block count", name);
        }
        c = -c;
        const uint8_t *bat = r->p;
        if (read_long(r, name, bytes)) {
            return -1;
        }
        if (*bytes < 0) {
            return rfail(r, SM_AVRO_LENGTH, bat, "field '%s': negative block size", name);
        }
        if ((uint64_t)*bytes > (uint64_t)(r->end - r->p)) {
            return rfail(r, SM_AVRO_TRUNCATED, bat,
                         "field '%s': block size %lld runs past the end of the payload", name,
                         (long long)*bytes);
        }
    }
    if (min_size > 0 && (uint64_t)c > (uint64_t)(r->end - r->p) / (uint64_t)min_size) {
        return rfail(r, SM_AVRO_TRUNCATED, at,
                     "field '%s': %lld items cannot fit in the %zu bytes left", name, (long long)c,
                     (size_t)(r->end - r->p));
    }
    if (c > r->budget) {
        return rfail(r, SM_AVRO_LENGTH, at, "field '%s': more than %d items in one message", name,
                     ITEM_BUDGET);
    }
    r->budget -= c;
    *count = c;
    return 0;
}

static int skip(rd *r, const wnode *w, const char *name)
{
    int64_t v;
    const uint8_t *s;
    size_t n;
    switch (w->t) {
    case W_NULL:
        return 0;
    case W_BOOL:
        return need(r, name, 1, "a boolean") ? -1 : (r->p++, 0);
    case W_INT:
        return read_int(r, name, &v);
    case W_LONG:
        return read_long(r, name, &v);
    case W_FLOAT:
        return need(r, name, 4, "a float") ? -1 : (r->p += 4, 0);
    case W_DOUBLE:
        return need(r, name, 8, "a double") ? -1 : (r->p += 8, 0);
    case W_BYTES:
    case W_STRING:
        return read_len(r, name, &s, &n);
    case W_FIXED:
        return need(r, name, (size_t)w->size, "a fixed") ? -1 : (r->p += w->size, 0);
    case W_ENUM: {
        const uint8_t *at = r->p;
        if (read_int(r, name, &v)) {
            return -1;
        }
        if (v < 0 || v >= w->n) {
            return rfail(r, SM_AVRO_ENUM, at, "field '%s': enum index %lld out of 0..%d", name,
                         (long long)v, w->n - 1);
        }
        return 0;
    }
    default:
        break;
    }
    if (enter(r, name)) {
        return -1;
    }
    int rc = 0;
    if (w->t == W_RECORD) {
        for (int i = 0; i < w->n && !rc; i++) {
            rc = skip(r, w->kids[i], w->names[i]);
        }
    } else if (w->t == W_UNION) {
        const uint8_t *at = r->p;
        if (!(rc = read_long(r, name, &v))) {
            if (v < 0 || v >= w->n) {
                rc = rfail(r, SM_AVRO_UNION, at, "field '%s': union index %lld out of 0..%d", name,
                           (long long)v, w->n - 1);
            } else {
                rc = skip(r, w->kids[v], name);
            }
        }
    } else { /* array, map */
        const wnode *it = w->kids[0];
        int min = it->min_size + (w->t == W_MAP ? 1 : 0);
        for (;;) {
            int64_t c, bytes;
            if ((rc = block_count(r, name, min, &c, &bytes)) || c == 0) {
                break;
            }
            if (bytes >= 0) {
                r->p += bytes;
                continue;
            }
            for (int64_t i = 0; i < c && !rc; i++) {
                if (w->t == W_MAP) {
                    rc = read_len(r, name, &s, &n);
                }
                if (!rc) {
                    rc = skip(r, it, name);
                }
            }
            if (rc) {
                break;
            }
        }
    }
    r->depth--;
    return rc;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int put_decimal(rd *r, const pnode *pn, sm_column *c, const uint8_t *s, size_t n,
                       const uint8_t *at)
{
    i128 v = 0;
    if (n == 0) {
        return rfail(r, SM_AVRO_LENGTH, at, "field '%s': empty decimal", pn->name);
    }
    bool neg = s[0] & 0x80;
    while (n > 16) { /* only sign extension may be longer than 16 bytes */
        if (s[0] != (neg ? 0xff : 0x00)) {
            return rfail(r, SM_AVRO_RANGE, at, "field '%s': decimal wider than 128 bits", pn->name);
        }
        s++, n--;
    }
    u128 u = neg ? ~(u128)0 : 0;
    for (size_t i = 0; i < n; i++) {
        u = (u << 8) | s[i];
    }
    v = (i128)u;
    if (v >= pn->dec_limit || v <= -pn->dec_limit) {
        return rfail(r, SM_AVRO_RANGE, at, "field '%s': decimal has more than %d digits", pn->name,
                     c->field->precision);
    }
    size_t w = sm_type_width(c->field);
    int rc;
    if (w == 4) {
        int32_t x = (int32_t)v;
        rc = sm_column_append_fixed(r->a, c, &x);
    } else if (w == 8) {
        int64_t x = (int64_t)v;
        rc = sm_column_append_fixed(r->a, c, &x);
    } else {
        uint8_t b[16];
        for (int i = 0; i < 16; i++) {
            b[i] = (uint8_t)((u128)v >> (8 * i));
        }
        rc = sm_column_append_fixed(r->a, c, b);
    }
    return rc ? nomem(r) : 0;
}

static int put_json(rd *r, const json_t *j, sm_column *c, const char *name);

static int dec(rd *r, const pnode *pn, sm_column *c);

static int dec_record(rd *r, const pnode *pn, sm_column *c)
{
    if (enter(r, pn->name)) {
        return -1;
    }
    for (int i = 0; i < pn->n; i++) {
        int k = pn->target[i];
        if (k < 0 ? skip(r, pn->kids[i].w, pn->kids[i].name)
                  : dec(r, &pn->kids[i], c->children[k])) {
            return -1;
        }
    }
    for (int i = 0; i < pn->n_def; i++) {
        sm_column *kc = c->children[pn->def_idx[i]];
        if (put_json(r, pn->def[i], kc, kc->field->name)) {
            return -1;
        }
    }
    r->depth--;
    return sm_column_append_valid(r->a, c) ? nomem(r) : 0;
}

static int dec_items(rd *r, const pnode *pn, sm_column *c)
{
    bool map = pn->op == P_MAP;
    const pnode *it = &pn->kids[0];
    sm_column *ent = c->children[0];
    int min = pn->w->kids[0]->min_size + (map ? 1 : 0);
    if (enter(r, pn->name)) {
        return -1;
    }
    for (;;) {
        int64_t cnt, bytes;
        if (block_count(r, pn->name, min, &cnt, &bytes)) {
            return -1;
        }
        if (cnt == 0) {
            break;
        }
        for (int64_t i = 0; i < cnt; i++) {
            if (!map) {
                if (dec(r, it, ent)) {
                    return -1;
                }
                continue;
            }
            const uint8_t *s, *at = r->p;
            size_t n, bad;
            if (read_len(r, pn->name, &s, &n)) {
                return -1;
            }
            if ((bad = utf8_check(s, n)) < n) {
                return rfail(r, SM_AVRO_UTF8, s + bad, "field '%s': map key is not UTF-8",
                             pn->name);
            }
            (void)at;
            if (sm_column_append_bytes(r->a, ent->children[0], s, n)) {
                return nomem(r);
            }
            if (dec(r, it, ent->children[1])) {
                return -1;
            }
            if (sm_column_append_valid(r->a, ent)) {
                return nomem(r);
            }
        }
    }
    r->depth--;
    return sm_column_list_end(r->a, c) ? nomem(r) : 0;
}

static int dec(rd *r, const pnode *pn, sm_column *c)
{
    const uint8_t *at = r->p, *s;
    int64_t v;
    size_t n, bad;
    int rc;
    switch (pn->op) {
    case P_SKIP:
        return skip(r, pn->w, pn->name);
    case P_NULL:
        return sm_column_append_null(r->a, c) ? nomem(r) : 0;
    case P_FAIL:
        return rfail(r, pn->fail_reason, at, "field '%s': %s", pn->name, pn->fail_msg);
    case P_BOOL: {
        if (need(r, pn->name, 1, "a boolean")) {
            return -1;
        }
        uint8_t b = *r->p;
        if (b > 1) {
            return rfail(r, SM_AVRO_RANGE, at, "field '%s': boolean byte 0x%02x is not 0 or 1",
                         pn->name, b);
        }
        r->p++;
        return sm_column_append_fixed(r->a, c, &b) ? nomem(r) : 0;
    }
    case P_INT:
        rc = pn->w->t == W_INT ? read_int(r, pn->name, &v) : read_long(r, pn->name, &v);
        if (rc) {
            return -1;
        }
        return sm_column_append_i64(r->a, c, v) ? nomem(r) : 0;
    case P_TS:
        rc = pn->w->t == W_INT ? read_int(r, pn->name, &v) : read_long(r, pn->name, &v);
        if (rc) {
            return -1;
        }
        if (v < pn->lo || v > pn->hi) {
            return rfail(r, SM_AVRO_RANGE, at,
                         "field '%s': timestamp %lld %s out of range (a timestamp must lie "
                         "within 290309 BC .. 294247 AD, the int64 microseconds readers take)",
                         pn->name, (long long)v, pn->hi == SM_TS_US_MAX ? "us" : "ms");
        }
        v *= pn->mul;
        return sm_column_append_i64(r->a, c, v) ? nomem(r) : 0;
    case P_I2F:
        rc = pn->w->t == W_INT ? read_int(r, pn->name, &v) : read_long(r, pn->name, &v);
        if (rc) {
            return -1;
        }
        return sm_column_append_f64(r->a, c, (double)v) ? nomem(r) : 0;
    case P_FLOAT: {
        if (need(r, pn->name, 4, "a float")) {
            return -1;
        }
        uint32_t u = le32(r->p);
        float f;
        memcpy(&f, &u, 4);
        r->p += 4;
        return sm_column_append_f64(r->a, c, (double)f) ? nomem(r) : 0;
    }
    case P_DOUBLE: {
        if (need(r, pn->name, 8, "a double")) {
            return -1;
        }
        uint64_t u = (uint64_t)le32(r->p) | (uint64_t)le32(r->p + 4) << 32;
        double f;
        memcpy(&f, &u, 8);
        r->p += 8;
        return sm_column_append_f64(r->a, c, f) ? nomem(r) : 0;
    }
    case P_STR:
    case P_BIN:
        if (read_len(r, pn->name, &s, &n)) {
            return -1;
        }
        if (pn->op == P_STR && (bad = utf8_check(s, n)) < n) {
            return rfail(r, SM_AVRO_UTF8, s + bad, "field '%s': string is not valid UTF-8",
                         pn->name);
        }
        return sm_column_append_bytes(r->a, c, s, n) ? nomem(r) : 0;
    case P_FIXED:
        if (need(r, pn->name, (size_t)pn->w->size, "a fixed")) {
            return -1;
        }
        s = r->p;
        r->p += pn->w->size;
        return sm_column_append_fixed(r->a, c, s) ? nomem(r) : 0;
    case P_DEC_B:
        if (read_len(r, pn->name, &s, &n)) {
            return -1;
        }
        return put_decimal(r, pn, c, s, n, at);
    case P_DEC_F:
        if (need(r, pn->name, (size_t)pn->w->size, "a fixed decimal")) {
            return -1;
        }
        s = r->p;
        r->p += pn->w->size;
        return put_decimal(r, pn, c, s, (size_t)pn->w->size, at);
    case P_ENUM:
        if (read_int(r, pn->name, &v)) {
            return -1;
        }
        if (v < 0 || v >= pn->w->n) {
            return rfail(r, SM_AVRO_ENUM, at, "field '%s': enum index %lld out of 0..%d", pn->name,
                         (long long)v, pn->w->n - 1);
        }
        if (!pn->sym[v]) {
            return rfail(r, SM_AVRO_ENUM, at, "field '%s': symbol '%s' is unknown to the reader",
                         pn->name, pn->w->names[v]);
        }
        return sm_column_append_bytes(r->a, c, pn->sym[v], strlen(pn->sym[v])) ? nomem(r) : 0;
    case P_RECORD:
        return dec_record(r, pn, c);
    case P_ARRAY:
    case P_MAP:
        return dec_items(r, pn, c);
    case P_UNION:
        if (read_long(r, pn->name, &v)) {
            return -1;
        }
        if (v < 0 || v >= pn->n) {
            return rfail(r, SM_AVRO_UNION, at, "field '%s': union index %lld out of 0..%d",
                         pn->name, (long long)v, pn->n - 1);
        }
        if (enter(r, pn->name)) {
            return -1;
        }
        rc = dec(r, &pn->kids[v], c);
        r->depth--;
        return rc;
    default:
        return rfail(r, SM_AVRO_RESOLVE, at, "field '%s': internal: bad plan op", pn->name);
    }
}

/* ---- reader defaults (JSON, as sm_avsc keeps them) --------------------------------------- */

static int put_json_decimal(rd *r, const json_t *j, sm_column *c, const char *name)
{
    char buf[96];
    const char *s;
    const sm_field *f = c->field;
    if (json_is_string(j)) {
        s = json_string_value(j);
    } else if (json_is_integer(j)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
        s = buf;
    } else if (json_is_real(j)) {
        snprintf(buf, sizeof buf, "%.*f", f->scale, json_real_value(j));
        s = buf;
    } else {
        return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': default is not a decimal", name);
    }
    bool neg = *s == '-';
    s += neg || *s == '+';
    u128 mag = 0;
    int frac = -1, digits = 0;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || ++digits > 38) {
            return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': default is not a decimal", name);
        }
        if (frac >= 0 && ++frac > f->scale) {
            return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': default has too many places", name);
        }
        mag = mag * 10 + (u128)(*s - '0');
    }
    for (int i = frac < 0 ? 0 : frac; i < f->scale; i++) {
        mag *= 10;
    }
    uint8_t be[16];
    i128 v = neg ? -(i128)mag : (i128)mag;
    for (int i = 0; i < 16; i++) {
        be[15 - i] = (uint8_t)((u128)v >> (8 * i));
    }
    pnode pn;
    memset(&pn, 0, sizeof pn);
    pn.name = name;
    pn.dec_limit = 1;
    for (int i = 0; i < f->precision; i++) {
        pn.dec_limit *= 10;
    }
    return put_decimal(r, &pn, c, be, 16, r->p);
}

static int put_json(rd *r, const json_t *j, sm_column *c, const char *name)
{
    const sm_field *f = c->field;
    int rc = 0;
    if (json_is_null(j)) {
        if (!f->nullable) {
            return rfail(r, SM_AVRO_NULL, r->p, "field '%s': null default for a required column",
                         name);
        }
        return sm_column_append_null(r->a, c) ? nomem(r) : 0;
    }
    switch (f->type) {
    case SM_BOOL: {
        uint8_t b = json_is_true(j);
        rc = sm_column_append_fixed(r->a, c, &b);
        break;
    }
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_DATE:
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        rc = sm_column_append_i64(r->a, c, json_integer_value(j));
        break;
    case SM_FLOAT:
    case SM_DOUBLE:
        rc = sm_column_append_f64(r->a, c, json_number_value(j));
        break;
    case SM_STRING:
    case SM_JSON:
        rc = sm_column_append_bytes(r->a, c, json_string_value(j) ? json_string_value(j) : "",
                                    json_string_length(j));
        break;
    case SM_BINARY:
    case SM_FIXED_BINARY: { /* Avro's JSON bytes: each char U+0000..U+00FF is one byte */
        const uint8_t *s = (const uint8_t *)json_string_value(j);
        size_t n = json_string_length(j), k = 0;
        uint8_t *out = s ? sm_arena_alloc(r->a, n + 1) : NULL;
        if (!out) {
            return s ? nomem(r) : rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': bad default", name);
        }
        for (size_t i = 0; i < n; i++) {
            if (s[i] < 0x80) {
                out[k++] = s[i];
            } else if (i + 1 < n && (s[i] & 0xfe) == 0xc2) {
                out[k++] = (uint8_t)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3f));
                i++;
            } else {
                return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': bad bytes default", name);
            }
        }
        if (f->type == SM_FIXED_BINARY) {
            if ((int32_t)k != f->width) {
                return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': bad fixed default", name);
            }
            rc = sm_column_append_fixed(r->a, c, out);
        } else {
            rc = sm_column_append_bytes(r->a, c, out, k);
        }
        break;
    }
    case SM_DECIMAL:
        return put_json_decimal(r, j, c, name);
    case SM_STRUCT:
        for (int i = 0; i < f->n_children; i++) {
            json_t *v = json_object_get(j, f->children[i]->name);
            if (put_json(r, v ? v : json_null(), c->children[i], f->children[i]->name)) {
                return -1;
            }
        }
        rc = sm_column_append_valid(r->a, c);
        break;
    case SM_LIST: {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            if (put_json(r, v, c->children[0], name)) {
                return -1;
            }
        }
        rc = sm_column_list_end(r->a, c);
        break;
    }
    case SM_MAP: {
        const char *k;
        json_t *v;
        sm_column *ent = c->children[0];
        json_object_foreach((json_t *)j, k, v)
        {
            if (sm_column_append_bytes(r->a, ent->children[0], k, strlen(k))) {
                return nomem(r);
            }
            if (put_json(r, v, ent->children[1], name)) {
                return -1;
            }
            if (sm_column_append_valid(r->a, ent)) {
                return nomem(r);
            }
        }
        rc = sm_column_list_end(r->a, c);
        break;
    }
    default:
        return rfail(r, SM_AVRO_RESOLVE, r->p, "field '%s': no default for column type %s", name,
                     sm_type_name(f->type));
    }
    return rc ? nomem(r) : 0;
}

/* ---- the registry ------------------------------------------------------------------------- */

static sm_schema_ent *ent_new(sm_avro_decoder *d)
{
    if (d->n_ents == d->cap_ents) {
        int cap = d->cap_ents ? d->cap_ents * 2 : 8;
        sm_schema_ent *t = realloc(d->ents, sizeof *t * (size_t)cap);
        if (!t) {
            return NULL;
        }
        d->ents = t, d->cap_ents = cap;
    }
    sm_schema_ent *e = &d->ents[d->n_ents++];
    memset(e, 0, sizeof *e);
    return e;
}

static sm_schema_ent *ent_by_id(sm_avro_decoder *d, int32_t id)
{
    if (d->last < d->n_ents && d->ents[d->last].has_id && d->ents[d->last].id == id) {
        return &d->ents[d->last];
    }
    for (int i = 0; i < d->n_ents; i++) {
        if (d->ents[i].has_id && d->ents[i].id == id) {
            d->last = i;
            return &d->ents[i];
        }
    }
    return NULL;
}

static sm_schema_ent *ent_by_fp(sm_avro_decoder *d, uint64_t fp)
{
    for (int i = 0; i < d->n_ents; i++) {
        if (d->ents[i].root && d->ents[i].fp == fp) {
            d->last = i;
            return &d->ents[i];
        }
    }
    return NULL;
}

/* Adds an entry for the text; a text that does not parse gives an entry that fails messages. */
static sm_schema_ent *ent_add(sm_avro_decoder *d, int32_t id, bool has_id, const char *text,
                              size_t len, const char *origin)
{
    char msg[200], *pcf = NULL;
    sm_schema_ent *e = ent_new(d);
    if (!e) {
        return NULL;
    }
    e->id = id, e->has_id = has_id;
    e->root = writer_parse(text, len, d->a, &pcf, msg, sizeof msg);
    if (!e->root) {
        size_t n = strlen(msg) + strlen(origin) + 64;
        if ((e->bad = malloc(n))) {
            snprintf(e->bad, n, "writer schema %s does not parse: %s", origin, msg);
        }
        e->bad_reason = SM_AVRO_BAD_SCHEMA;
        return e;
    }
    e->fp = sm_avro_crc64(pcf, strlen(pcf));
    free(pcf);
    return e;
}

int sm_avro_decoder_add_schema(sm_avro_decoder *d, int32_t id, const char *text, size_t len,
                               sm_error *err)
{
    char origin[32];
    sm_schema_ent *e = ent_by_id(d, id);
    if (e) {
        return SM_OK;
    }
    snprintf(origin, sizeof origin, "id %d", (int)id);
    if (!(e = ent_add(d, id, true, text, len, origin))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if (!e->root) {
        int rc = sm_error_set(err, SM_ERR_USAGE, "%s", e->bad ? e->bad : "bad schema");
        free(e->bad);
        d->n_ents--;
        return rc;
    }
    return SM_OK;
}

/* The schema of `id` from the registry directory, then the fetch hook. NULL when neither has it
 * (or out of memory); `miss` (may be NULL) then says why, with the hook's own message. */
static sm_schema_ent *ent_load(sm_avro_decoder *d, int32_t id, char *miss, size_t cap)
{
    char path[4096], *text = NULL;
    size_t len;
    sm_error err = {0};
    if (d->opts.registry_dir) {
        snprintf(path, sizeof path, "%s/%d.avsc", d->opts.registry_dir, (int)id);
        if (sm_read_file(path, MAX_SCHEMA_TEXT, &text, &len, &err) == SM_OK) {
            sm_schema_ent *e = ent_add(d, id, true, text, len, path);
            free(text);
            if (!e && miss) {
                snprintf(miss, cap, "schema id %d: out of memory", (int)id);
            }
            return e;
        }
    }
    if (d->opts.fetch) {
        err.msg[0] = 0;
        if (d->opts.fetch(d->opts.fetch_ctx, id, &text, &len, &err) == SM_OK) {
            snprintf(path, sizeof path, "id %d (fetched)", (int)id);
            sm_schema_ent *e = ent_add(d, id, true, text, len, path);
            free(text);
            if (!e && miss) {
                snprintf(miss, cap, "schema id %d: out of memory", (int)id);
            }
            return e;
        }
        if (miss && err.msg[0]) {
            snprintf(miss, cap, "schema id %d: the registry says: %.160s", (int)id, err.msg);
            return NULL;
        }
    }
    if (miss) {
        snprintf(miss, cap, "schema id %d is not in the registry", (int)id);
    }
    return NULL;
}

/* Loads every `<id>.avsc` of the registry directory (single-object lookups by fingerprint). */
static void scan_dir(sm_avro_decoder *d)
{
    DIR *dir;
    struct dirent *de;
    d->dir_scanned = true;
    if (!d->opts.registry_dir || !(dir = opendir(d->opts.registry_dir))) {
        return;
    }
    while ((de = readdir(dir))) {
        char *end;
        long id = strtol(de->d_name, &end, 10);
        if (end == de->d_name || strcmp(end, ".avsc") || id < INT32_MIN || id > INT32_MAX) {
            continue;
        }
        if (!ent_by_id(d, (int32_t)id)) {
            (void)ent_load(d, (int32_t)id, NULL, 0);
        }
    }
    closedir(dir);
}

/* ---- the decoder -------------------------------------------------------------------------- */

void sm_avro_opts_default(sm_avro_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_depth = SM_AVRO_MAX_DEPTH_DEFAULT;
}

int sm_avro_decoder_new(const sm_avsc *reader, const sm_avro_opts *opts, sm_avro_decoder **out,
                        sm_error *err)
{
    *out = NULL;
    if (!reader || !reader->root || reader->root->type != SM_STRUCT) {
        return sm_error_set(err, SM_ERR_USAGE, "avro decoder: the reader schema is not a record");
    }
    sm_avro_decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->a = sm_arena_create(0, 0))) {
        free(d);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    d->reader = reader;
    if (opts) {
        d->opts = *opts;
    } else {
        sm_avro_opts_default(&d->opts);
    }
    if (d->opts.max_depth <= 0) {
        d->opts.max_depth = SM_AVRO_MAX_DEPTH_DEFAULT;
    }
    *out = d;
    return SM_OK;
}

void sm_avro_decoder_free(sm_avro_decoder *d)
{
    if (!d) {
        return;
    }
    for (int i = 0; i < d->n_ents; i++) {
        free(d->ents[i].bad);
    }
    for (int i = 0; i < d->n_defs; i++) {
        json_decref(d->defs[i]);
    }
    free(d->defs);
    free(d->ents);
    sm_arena_destroy(d->a);
    free(d);
}

static int why_set(sm_avro_error *why, int reason, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int why_set(sm_avro_error *why, int reason, size_t off, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        why->reason = (sm_avro_reason)reason;
        why->offset = off;
        vsnprintf(why->msg, sizeof why->msg, fmt, ap);
        va_end(ap);
    }
    return reason == SM_AVRO_NOMEM ? SM_ERR_NOMEM : SM_ERR_CORRUPT;
}

static int decode_with(sm_avro_decoder *d, sm_schema_ent *e, const uint8_t *msg, size_t len,
                       size_t body, sm_arena *arena, sm_column *batch, sm_avro_error *why)
{
    if (!e->root || e->bad) {
        return why_set(why, e->bad_reason, 0, "%s", e->bad ? e->bad : "bad writer schema");
    }
    if (!e->planned) {
        pctx C;
        memset(&C, 0, sizeof C);
        C.d = d;
        pnode *pn = sm_arena_calloc(d->a, sizeof *pn);
        e->planned = true;
        if (!pn) {
            return why_set(why, SM_AVRO_NOMEM, 0, "out of memory compiling a plan");
        }
        if (e->root->t != W_RECORD) {
            snprintf(C.err, sizeof C.err, "writer schema is %s, not a record", wtype_name(e->root));
        } else if (compile(&C, pn, e->root, d->reader->root, d->reader->name) == 0) {
            e->plan = pn;
        }
        if (!e->plan) {
            size_t n = strlen(C.err) + 80;
            if ((e->bad = malloc(n))) {
                snprintf(e->bad, n, "schema %d does not resolve to the reader: %s", (int)e->id,
                         C.err);
            }
            e->bad_reason = SM_AVRO_RESOLVE;
            return why_set(why, SM_AVRO_RESOLVE, 0, "%s", e->bad ? e->bad : C.err);
        }
    }
    rd r = {.base = msg,
            .p = msg + body,
            .end = msg + len,
            .a = arena,
            .why = why,
            .max_depth = d->opts.max_depth,
            .budget = ITEM_BUDGET};
    const int64_t row = batch->length;
    int rc = dec(&r, e->plan, batch);
    if (rc == 0 && r.p != r.end) {
        rc = rfail(&r, SM_AVRO_TRAILING, r.p, "%zu bytes after the record", (size_t)(r.end - r.p));
    }
    if (rc) {
        sm_json_column_truncate(batch, row);
        return why && why->reason == SM_AVRO_NOMEM ? SM_ERR_NOMEM : SM_ERR_CORRUPT;
    }
    return SM_OK;
}

static sm_schema_ent *lookup_id(sm_avro_decoder *d, int32_t id, char *miss, size_t cap)
{
    sm_schema_ent *e = ent_by_id(d, id);
    return e ? e : ent_load(d, id, miss, cap);
}

int sm_avro_decode_body(sm_avro_decoder *d, int32_t id, const uint8_t *body, size_t len,
                        sm_arena *arena, sm_column *batch, sm_avro_error *why)
{
    sm_avro_error local;
    if (!why) {
        why = &local;
    }
    char miss[224] = "";
    sm_schema_ent *e = lookup_id(d, id, miss, sizeof miss);
    if (!e) {
        return why_set(why, SM_AVRO_UNKNOWN_SCHEMA, 0, "unknown_schema: %s", miss);
    }
    return decode_with(d, e, body, len, 0, arena, batch, why);
}

int sm_avro_decode(sm_avro_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                   sm_column *batch, sm_avro_error *why)
{
    const sm_avro_framing fr = d->opts.framing;
    sm_avro_error local;
    if (!why) {
        why = &local;
    }
    why->reason = SM_AVRO_OK, why->offset = 0, why->msg[0] = 0;
    if (len >= 1 && msg[0] == 0x00 && fr != SM_AVRO_FRAMING_SINGLE_OBJ) {
        if (len < 5) {
            return why_set(why, SM_AVRO_TRUNCATED, len,
                           "Confluent header needs 5 bytes, message has %zu", len);
        }
        int32_t id = (int32_t)((uint32_t)msg[1] << 24 | (uint32_t)msg[2] << 16 |
                               (uint32_t)msg[3] << 8 | msg[4]);
        char miss[224] = "";
        sm_schema_ent *e = lookup_id(d, id, miss, sizeof miss);
        if (!e) {
            return why_set(why, SM_AVRO_UNKNOWN_SCHEMA, 1, "unknown_schema: %s", miss);
        }
        return decode_with(d, e, msg, len, 5, arena, batch, why);
    }
    if (len >= 2 && msg[0] == 0xC3 && msg[1] == 0x01 && fr != SM_AVRO_FRAMING_CONFLUENT) {
        if (len < 10) {
            return why_set(why, SM_AVRO_TRUNCATED, len,
                           "single-object header needs 10 bytes, message has %zu", len);
        }
        uint64_t fp = (uint64_t)le32(msg + 2) | (uint64_t)le32(msg + 6) << 32;
        sm_schema_ent *e = ent_by_fp(d, fp);
        if (!e && !d->dir_scanned) {
            scan_dir(d);
            e = ent_by_fp(d, fp);
        }
        if (!e) {
            return why_set(why, SM_AVRO_UNKNOWN_SCHEMA, 2,
                           "unknown_schema: no schema with fingerprint %016llx in the registry",
                           (unsigned long long)fp);
        }
        return decode_with(d, e, msg, len, 10, arena, batch, why);
    }
    return why_set(why, SM_AVRO_FRAMING, 0,
                   "not Confluent/single-object framed (first byte 0x%02x)", len ? msg[0] : 0);
}

const char *sm_avro_reason_name(sm_avro_reason r)
{
    static const char *const names[] = {
        "ok",        "bad_framing",  "unknown_schema", "bad_schema",      "schema_mismatch",
        "truncated", "bad_varint",   "bad_length",     "bad_union_index", "invalid_utf8",
        "bad_enum",  "out_of_range", "null_required",  "too_deep",        "trailing_data",
        "no_memory"};
    return (unsigned)r < SM_AVRO_REASON_COUNT ? names[r] : "unknown";
}
