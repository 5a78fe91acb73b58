/*
 * sm_cfg — YAML files as positioned node trees; see core/config.h.
 *
 * The tree is built from libyaml's event stream with an explicit stack of open containers (no
 * recursion while parsing, and a depth limit so a file of ten thousand '[' is an error, not a
 * stack overflow). Children collect in malloc'ed vectors while their container is open and are
 * copied into the arena when it closes, so the arena holds exactly the final arrays.
 * The overlay and the interpolation walk the finished tree recursively, which the depth limit
 * keeps bounded.
 */
#include "core/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/durable.h"

#define CFG_MAX_DEPTH         64
#define CFG_MAX_INTERP_DEPTH  8
#define CFG_DEFAULT_MAX_BYTES (16u << 20)
#define CFG_DEFAULT_ENV_KEY   "environments"

static const char yaml_tag_prefix[] = "tag:yaml.org,2002:";

/* --- errors and paths ----------------------------------------------------------------------- */

int sm_cfg_error(sm_error *err, sm_code code, const sm_cfg_node *at, const char *fmt, ...)
{
    char msg[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at) {
        return sm_error_set(err, code, "%s:%d:%d: %s", at->file, at->line, at->col, msg);
    }
    return sm_error_set(err, code, "%s", msg);
}

const char *sm_cfg_kind_name(sm_cfg_kind kind)
{
    switch (kind) {
    case SM_CFG_SCALAR:
        return "a scalar";
    case SM_CFG_SEQ:
        return "a list";
    case SM_CFG_MAP:
        return "a map";
    }
    return "a node";
}

char *sm_cfg_path(const sm_cfg_node *node, char *buf, size_t n)
{
    const sm_cfg_node *chain[CFG_MAX_DEPTH + 2];
    size_t depth = 0;
    if (!buf || n == 0) {
        return buf;
    }
    buf[0] = '\0';
    for (const sm_cfg_node *p = node; p && p->parent && depth < sizeof chain / sizeof chain[0];
         p = p->parent) {
        chain[depth++] = p;
    }
    size_t len = 0;
    while (depth-- > 0 && len < n) {
        const sm_cfg_node *c = chain[depth];
        int w;
        if (c->parent->kind == SM_CFG_SEQ) {
            w = snprintf(buf + len, n - len, "[%zu]", c->index);
        } else {
            w = snprintf(buf + len, n - len, "%s%s", len ? "." : "", c->key ? c->key : c->str);
        }
        if (w < 0) {
            break;
        }
        len += (size_t)w;
    }
    return buf;
}

sm_cfg_node *sm_cfg_get(const sm_cfg_node *map, const char *key)
{
    if (!map || map->kind != SM_CFG_MAP || !key) {
        return NULL;
    }
    for (size_t i = 0; i < map->count; i++) {
        if (strcmp(map->keys[i]->str, key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

const sm_cfg_node *sm_cfg_key_node(const sm_cfg_node *value)
{
    if (!value || !value->parent || value->parent->kind != SM_CFG_MAP ||
        value->index >= value->parent->count || value->parent->items[value->index] != value) {
        return NULL;
    }
    return value->parent->keys[value->index];
}

/* --- parsing -------------------------------------------------------------------------------- */

/* An open container and the children read so far. */
typedef struct frame {
    sm_cfg_node *node;
    sm_cfg_node **items;
    sm_cfg_node **keys;
    size_t count, cap;
    sm_cfg_node *pending_key; /* mapping: a key read, its value not yet */
} frame;

typedef struct parser {
    sm_arena *arena;
    const char *file; /* in the arena */
    sm_error *err;
    frame stack[CFG_MAX_DEPTH];
    size_t depth;
    sm_cfg_node *root;
} parser;

static int nomem(parser *ps)
{
    return sm_error_set(ps->err, SM_ERR_NOMEM, "%s: out of memory while loading", ps->file);
}

static sm_cfg_node *new_node(parser *ps, sm_cfg_kind kind, const yaml_mark_t *mark)
{
    sm_cfg_node *n = sm_arena_calloc(ps->arena, sizeof *n);
    if (!n) {
        return NULL;
    }
    n->kind = kind;
    n->file = ps->file;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    return n;
}

/* Accepts the core schema's tags (they say what the text says already) and !!str, which makes
 * a plain scalar a string. Anything else would mean something we do not do. */
static int check_tag(parser *ps, const sm_cfg_node *at, const yaml_char_t *tag, bool *is_str)
{
    static const char *const known[] = {"str", "int", "float", "bool", "null", "map", "seq"};
    *is_str = false;
    if (!tag) {
        return SM_OK;
    }
    const char *t = (const char *)tag;
    size_t plen = sizeof yaml_tag_prefix - 1;
    if (strncmp(t, yaml_tag_prefix, plen) == 0) {
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (strcmp(t + plen, known[i]) == 0) {
                *is_str = i == 0;
                return SM_OK;
            }
        }
    }
    if (strcmp(t, "!") == 0) { /* the non-specific tag of a quoted scalar */
        return SM_OK;
    }
    return sm_cfg_error(ps->err, SM_ERR_USAGE, at, "tag '%s' is not supported", t);
}

static int check_anchor(parser *ps, const sm_cfg_node *at, const yaml_char_t *anchor)
{
    if (!anchor) {
        return SM_OK;
    }
    return sm_cfg_error(ps->err, SM_ERR_USAGE, at,
                        "anchors (&%s) and aliases are not supported: write the value out, or use "
                        "environments: for variations",
                        (const char *)anchor);
}

static int frame_push_child(parser *ps, frame *f, sm_cfg_node *key, sm_cfg_node *value)
{
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        sm_cfg_node **items = realloc(f->items, cap * sizeof *items);
        if (!items) {
            return nomem(ps);
        }
        f->items = items;
        if (f->node->kind == SM_CFG_MAP) {
            sm_cfg_node **keys = realloc(f->keys, cap * sizeof *keys);
            if (!keys) {
                return nomem(ps);
            }
            f->keys = keys;
        }
        f->cap = cap;
    }
    value->parent = f->node;
    value->index = f->count;
    if (key) {
        key->parent = f->node;
        key->index = f->count;
        value->key = key->str;
        f->keys[f->count] = key;
    }
    f->items[f->count++] = value;
    return SM_OK;
}

/* Places a finished or just-opened node where the stack says it goes. */
static int attach(parser *ps, sm_cfg_node *n)
{
    if (ps->depth == 0) {
        ps->root = n;
        return SM_OK;
    }
    frame *f = &ps->stack[ps->depth - 1];
    if (f->node->kind == SM_CFG_SEQ) {
        return frame_push_child(ps, f, NULL, n);
    }
    if (!f->pending_key) {
        if (n->kind != SM_CFG_SCALAR) {
            return sm_cfg_error(ps->err, SM_ERR_USAGE, n,
                                "a key must be a plain value, not %s (complex keys are not "
                                "supported)",
                                sm_cfg_kind_name(n->kind));
        }
        if (!n->quoted && strcmp(n->str, "<<") == 0) {
            return sm_cfg_error(ps->err, SM_ERR_USAGE, n, "merge keys (<<) are not supported");
        }
        f->pending_key = n;
        return SM_OK;
    }
    sm_cfg_node *key = f->pending_key;
    f->pending_key = NULL;
    return frame_push_child(ps, f, key, n);
}

typedef struct key_ref {
    const sm_cfg_node *key;
    size_t index;
} key_ref;

static int cmp_key_ref(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
    int c = memcmp(x->key->str, y->key->str, n);
    if (c == 0 && x->key->len != y->key->len) {
        c = x->key->len < y->key->len ? -1 : 1;
    }
    if (c == 0) {
        c = x->index < y->index ? -1 : (x->index > y->index);
    }
    return c;
}

static bool same_key(const sm_cfg_node *a, const sm_cfg_node *b)
{
    return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

static int duplicate_error(parser *ps, const sm_cfg_node *first, const sm_cfg_node *second)
{
    return sm_cfg_error(ps->err, SM_ERR_USAGE, second,
                        "duplicate key '%s' (first at line %d): each key may appear once in a map",
                        second->str, first->line);
}

/* Small maps are compared pairwise; large ones are sorted by (key, position). */
static int check_duplicates(parser *ps, const frame *f)
{
    if (f->count <= 16) {
        for (size_t i = 1; i < f->count; i++) {
            for (size_t j = 0; j < i; j++) {
                if (same_key(f->keys[i], f->keys[j])) {
                    return duplicate_error(ps, f->keys[j], f->keys[i]);
                }
            }
        }
        return SM_OK;
    }
    key_ref *refs = malloc(f->count * sizeof *refs);
    if (!refs) {
        return nomem(ps);
    }
    for (size_t i = 0; i < f->count; i++) {
        refs[i] = (key_ref){f->keys[i], i};
    }
    qsort(refs, f->count, sizeof *refs, cmp_key_ref);
    /* Of all duplicated keys, report the one whose second occurrence comes first. */
    const sm_cfg_node *first = NULL, *second = NULL;
    for (size_t i = 1; i < f->count; i++) {
        if (same_key(refs[i].key, refs[i - 1].key) && (!second || refs[i].index < second->index)) {
            /* refs[i-1] may be a later duplicate of a run: its first is the run's start */
            size_t s = i - 1;
            while (s > 0 && same_key(refs[s - 1].key, refs[i].key)) {
                s--;
            }
            first = refs[s].key;
            second = refs[s + 1].key;
        }
    }
    free(refs);
    return second ? duplicate_error(ps, first, second) : SM_OK;
}

/* Closes the top container: checks, copies the children into the arena, attaches it. */
static int close_container(parser *ps)
{
    frame *f = &ps->stack[ps->depth - 1];
    sm_cfg_node *n = f->node;
    int rc = SM_OK;
    if (n->kind == SM_CFG_MAP && (rc = check_duplicates(ps, f)) != SM_OK) {
        return rc;
    }
    n->count = f->count;
    if (f->count) {
        n->items = sm_arena_alloc(ps->arena, f->count * sizeof *n->items);
        if (!n->items) {
            return nomem(ps);
        }
        memcpy(n->items, f->items, f->count * sizeof *n->items);
        if (n->kind == SM_CFG_MAP) {
            n->keys = sm_arena_alloc(ps->arena, f->count * sizeof *n->keys);
            if (!n->keys) {
                return nomem(ps);
            }
            memcpy(n->keys, f->keys, f->count * sizeof *n->keys);
        }
    }
    free(f->items);
    free(f->keys);
    memset(f, 0, sizeof *f);
    ps->depth--;
    return attach(ps, n);
}

static int open_container(parser *ps, sm_cfg_kind kind, const yaml_event_t *ev)
{
    sm_cfg_node *n = new_node(ps, kind, &ev->start_mark);
    if (!n) {
        return nomem(ps);
    }
    const yaml_char_t *anchor =
        kind == SM_CFG_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag =
        kind == SM_CFG_MAP ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    bool is_str;
    int rc;
    if ((rc = check_anchor(ps, n, anchor)) != SM_OK || (rc = check_tag(ps, n, tag, &is_str))) {
        return rc;
    }
    if (ps->depth == CFG_MAX_DEPTH) {
        return sm_cfg_error(ps->err, SM_ERR_USAGE, n, "nesting deeper than %d levels",
                            CFG_MAX_DEPTH);
    }
    /* A container as a key is refused by attach() when it closes; say so now instead. */
    if (ps->depth > 0) {
        frame *top = &ps->stack[ps->depth - 1];
        if (top->node->kind == SM_CFG_MAP && !top->pending_key) {
            return sm_cfg_error(ps->err, SM_ERR_USAGE, n,
                                "a key must be a plain value, not %s (complex keys are not "
                                "supported)",
                                sm_cfg_kind_name(kind));
        }
    }
    ps->stack[ps->depth++] = (frame){.node = n};
    return SM_OK;
}

static bool is_null_text(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int add_scalar(parser *ps, const yaml_event_t *ev)
{
    sm_cfg_node *n = new_node(ps, SM_CFG_SCALAR, &ev->start_mark);
    if (!n) {
        return nomem(ps);
    }
    bool is_str;
    int rc;
    if ((rc = check_anchor(ps, n, ev->data.scalar.anchor)) != SM_OK ||
        (rc = check_tag(ps, n, ev->data.scalar.tag, &is_str)) != SM_OK) {
        return rc;
    }
    n->len = ev->data.scalar.length;
    n->str = sm_arena_strndup(ps->arena, (const char *)ev->data.scalar.value, n->len);
    if (!n->str) {
        return nomem(ps);
    }
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_str;
    n->is_null = !n->quoted && is_null_text(n->str);
    return attach(ps, n);
}

/* Does line `line` (0-based) of text hold a "${"? */
static bool line_has_reference(const char *text, size_t len, size_t line)
{
    const char *p = text, *end = text + len;
    for (size_t l = 0; l < line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    for (; p + 1 < stop; p++) {
        if (p[0] == '$' && p[1] == '{') {
            return true;
        }
    }
    return false;
}

/* "did not find expected key (while parsing a block mapping at line 3)" */
static int syntax_error(parser *ps, const yaml_parser_t *yp, const char *text, size_t len)
{
    size_t line = yp->problem_mark.line + 1, col = yp->problem_mark.column + 1;
    const char *problem = yp->problem ? yp->problem : "malformed YAML";
    if (yp->error == YAML_READER_ERROR) {
        return sm_error_set(ps->err, SM_ERR_USAGE, "%s: not readable as UTF-8 text: %s at byte %zu",
                            ps->file, problem, yp->problem_offset);
    }
    if (yp->error == YAML_MEMORY_ERROR) {
        return nomem(ps);
    }
    if (yp->context) {
        /* "[${TOPIC}]": in flow style '{' and '}' end a plain value; quoting is the fix */
        bool hint =
            strstr(yp->context, "flow") && (line_has_reference(text, len, yp->problem_mark.line) ||
                                            line_has_reference(text, len, yp->context_mark.line));
        return sm_error_set(ps->err, SM_ERR_USAGE,
                            "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)%s", ps->file, line,
                            col, problem, yp->context, yp->context_mark.line + 1,
                            hint ? "; inside [...] and {...}, quote values holding ${...}: "
                                   "\"${VAR}\""
                                 : "");
    }
    return sm_error_set(ps->err, SM_ERR_USAGE, "%s:%zu:%zu: YAML syntax error: %s", ps->file, line,
                        col, problem);
}

int sm_cfg_parse(sm_arena *arena, const char *file, const char *text, size_t len,
                 sm_cfg_node **root_out, sm_error *err)
{
    parser ps = {.arena = arena, .err = err};
    yaml_parser_t yp;
    yaml_event_t ev;
    int rc = SM_OK;
    int documents = 0;
    bool done = false;

    ps.file = sm_arena_strdup(arena, file ? file : "<config>");
    if (!ps.file) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory while loading", file);
    }
    if (!yaml_parser_initialize(&yp)) {
        return nomem(&ps);
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    while (rc == SM_OK && !done) {
        if (!yaml_parser_parse(&yp, &ev)) {
            rc = syntax_error(&ps, &yp, text, len);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                yaml_mark_t m = ev.start_mark;
                rc = sm_error_set(err, SM_ERR_USAGE,
                                  "%s:%zu:%zu: a second document ('---'): a configuration file "
                                  "holds one",
                                  ps.file, m.line + 1, m.column + 1);
            }
            break;
        case YAML_SCALAR_EVENT:
            rc = add_scalar(&ps, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = open_container(&ps, SM_CFG_SEQ, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = open_container(&ps, SM_CFG_MAP, &ev);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = close_container(&ps);
            break;
        case YAML_ALIAS_EVENT: {
            yaml_mark_t m = ev.start_mark;
            rc =
                sm_error_set(err, SM_ERR_USAGE,
                             "%s:%zu:%zu: aliases (*%s) and anchors are not supported: write the "
                             "value out, or use environments: for variations",
                             ps.file, m.line + 1, m.column + 1, (const char *)ev.data.alias.anchor);
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&yp);
    for (size_t i = 0; i < ps.depth; i++) {
        free(ps.stack[i].items);
        free(ps.stack[i].keys);
    }
    if (rc != SM_OK) {
        return rc;
    }
    if (!ps.root) {
        yaml_mark_t start = {0, 0, 0};
        ps.root = new_node(&ps, SM_CFG_SCALAR, &start);
        if (!ps.root) {
            return nomem(&ps);
        }
        ps.root->str = "";
        ps.root->is_null = true;
    }
    *root_out = ps.root;
    return SM_OK;
}

/* --- environments overlay ------------------------------------------------------------------- */

/* Sets n as the i-th pair of map (key node k). */
static void set_pair(sm_cfg_node *map, size_t i, sm_cfg_node *k, sm_cfg_node *n)
{
    map->keys[i] = k;
    map->items[i] = n;
    k->parent = map;
    k->index = i;
    n->parent = map;
    n->index = i;
    n->key = k->str;
}

/* Deep-merges src over dst (both mappings): maps merge, anything else replaces. */
static int merge_maps(sm_arena *arena, sm_cfg_node *dst, const sm_cfg_node *src, sm_error *err)
{
    size_t extra = 0;
    for (size_t i = 0; i < src->count; i++) {
        extra += sm_cfg_get(dst, src->keys[i]->str) == NULL;
    }
    if (extra) {
        size_t n = dst->count + extra;
        sm_cfg_node **keys = sm_arena_alloc(arena, n * sizeof *keys);
        sm_cfg_node **items = sm_arena_alloc(arena, n * sizeof *items);
        if (!keys || !items) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory while loading", dst->file);
        }
        if (dst->count) {
            memcpy(keys, dst->keys, dst->count * sizeof *keys);
            memcpy(items, dst->items, dst->count * sizeof *items);
        }
        dst->keys = keys;
        dst->items = items;
    }
    for (size_t i = 0; i < src->count; i++) {
        sm_cfg_node *k = src->keys[i], *v = src->items[i];
        size_t j = 0;
        while (j < dst->count && strcmp(dst->keys[j]->str, k->str) != 0) {
            j++;
        }
        if (j < dst->count && dst->items[j]->kind == SM_CFG_MAP && v->kind == SM_CFG_MAP) {
            int rc = merge_maps(arena, dst->items[j], v, err);
            if (rc != SM_OK) {
                return rc;
            }
            continue;
        }
        if (j == dst->count) {
            dst->count++;
        }
        set_pair(dst, j, k, v); /* replaced (or new): positions now point into the overlay */
    }
    return SM_OK;
}

static void remove_pair(sm_cfg_node *map, size_t i)
{
    for (size_t j = i + 1; j < map->count; j++) {
        set_pair(map, j - 1, map->keys[j], map->items[j]);
    }
    map->count--;
}

static int apply_overlay(sm_arena *arena, sm_cfg_node *root, const char *env_key,
                         const char *env_name, sm_error *err)
{
    bool want = env_name && *env_name;
    sm_cfg_node *envs = sm_cfg_get(root, env_key);
    size_t envs_index = envs ? envs->index : 0;

    if (envs && envs->kind != SM_CFG_MAP && !envs->is_null) {
        return sm_cfg_error(err, SM_ERR_USAGE, envs,
                            "%s must be a map of environment name to overrides, not %s", env_key,
                            sm_cfg_kind_name(envs->kind));
    }
    for (size_t i = 0; envs && i < envs->count; i++) {
        const sm_cfg_node *e = envs->items[i];
        if (e->kind != SM_CFG_MAP && !e->is_null) {
            return sm_cfg_error(err, SM_ERR_USAGE, e,
                                "%s.%s must be a map of overrides (like trigger: {...}), not %s",
                                env_key, e->key, sm_cfg_kind_name(e->kind));
        }
    }
    if (want) {
        if (root->kind != SM_CFG_MAP) {
            return sm_cfg_error(err, SM_ERR_USAGE, root,
                                "environment '%s' asked for, but the file is not a map", env_name);
        }
        sm_cfg_node *ov = sm_cfg_get(envs, env_name);
        if (!ov) {
            char known[512] = "";
            size_t len = 0;
            for (size_t i = 0; envs && i < envs->count && len < sizeof known; i++) {
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                        envs->keys[i]->str);
            }
            if (!envs || envs->count == 0) {
                return sm_cfg_error(err, SM_ERR_USAGE, envs ? sm_cfg_key_node(envs) : root,
                                    "unknown environment '%s': the file declares no %s", env_name,
                                    env_key);
            }
            return sm_cfg_error(err, SM_ERR_USAGE, sm_cfg_key_node(envs),
                                "unknown environment '%s'; known: %s", env_name, known);
        }
        if (ov->kind == SM_CFG_MAP) {
            int rc = merge_maps(arena, root, ov, err);
            if (rc != SM_OK) {
                return rc;
            }
        }
    }
    if (envs) {
        /* the merge appends after it, never before: the index still holds */
        remove_pair(root, envs_index);
    }
    return SM_OK;
}

/* --- interpolation -------------------------------------------------------------------------- */

typedef struct interp {
    sm_cfg_lookup_fn lookup;
    void *ud;
    sm_error *err;
    const sm_cfg_node *at;
} interp;

static const char *default_lookup(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static int interp_nomem(interp *in)
{
    return sm_error_set(in->err, SM_ERR_NOMEM, "%s: out of memory while loading", in->at->file);
}

/* Index of the '}' closing the "${" whose body starts at s[i], or n when there is none. */
static size_t closing_brace(const char *s, size_t i, size_t n)
{
    int open = 1;
    for (; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
            open++;
            i++;
        } else if (s[i] == '}' && --open == 0) {
            return i;
        }
    }
    return n;
}

static int expand(interp *in, const char *s, size_t n, sm_buf *out, int depth);

/* One reference: body is what stands between "${" and "}". */
static int expand_ref(interp *in, const char *body, size_t n, sm_buf *out, int depth)
{
    size_t k = 0;
    if (n > 0 && (isalpha((unsigned char)body[0]) || body[0] == '_')) {
        while (k < n && (isalnum((unsigned char)body[k]) || body[k] == '_')) {
            k++;
        }
    }
    if (k == 0 || k > 255) {
        return sm_cfg_error(in->err, SM_ERR_USAGE, in->at,
                            "'${%.*s}' is not a variable reference (a name of letters, digits and "
                            "_, then optionally :-default); write $${ for a literal ${",
                            (int)(n < 200 ? n : 200), body);
    }
    char name[256];
    memcpy(name, body, k);
    name[k] = '\0';
    const char *op = body + k;
    size_t oplen = n - k;
    const char *value = in->lookup(in->ud, name);
    bool colon = oplen > 0 && op[0] == ':';
    const char *rest = op + colon;
    size_t restlen = oplen - colon;

    if (oplen == 0) {
        if (!value) {
            return sm_cfg_error(in->err, SM_ERR_USAGE, in->at,
                                "${%s} is not set: set %s, or give a default as ${%s:-value}", name,
                                name, name);
        }
        return sm_buf_append(out, value, strlen(value), in->err);
    }
    if (restlen == 0 || (rest[0] != '-' && rest[0] != '?')) {
        return sm_cfg_error(in->err, SM_ERR_USAGE, in->at,
                            "'${%.*s}': expected ${%s}, ${%s:-default} or ${%s:?message}",
                            (int)(n < 200 ? n : 200), body, name, name, name);
    }
    bool missing = !value || (colon && value[0] == '\0');
    if (!missing) {
        return sm_buf_append(out, value, strlen(value), in->err);
    }
    if (rest[0] == '?') {
        if (restlen > 1) {
            return sm_cfg_error(in->err, SM_ERR_USAGE, in->at, "${%s}: %.*s", name,
                                (int)(restlen - 1 < 300 ? restlen - 1 : 300), rest + 1);
        }
        return sm_cfg_error(in->err, SM_ERR_USAGE, in->at, "${%s} is not set%s", name,
                            value ? " (it is empty)" : "");
    }
    return expand(in, rest + 1, restlen - 1, out, depth + 1);
}

static int expand(interp *in, const char *s, size_t n, sm_buf *out, int depth)
{
    if (depth > CFG_MAX_INTERP_DEPTH) {
        return sm_cfg_error(in->err, SM_ERR_USAGE, in->at, "defaults nested deeper than %d",
                            CFG_MAX_INTERP_DEPTH);
    }
    size_t i = 0;
    while (i < n) {
        if (s[i] == '$' && i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
            if (sm_buf_append(out, "${", 2, in->err) != SM_OK) {
                return SM_ERR_NOMEM;
            }
            i += 3;
            continue;
        }
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
            size_t end = closing_brace(s, i + 2, n);
            if (end == n) {
                return sm_cfg_error(in->err, SM_ERR_USAGE, in->at,
                                    "unterminated '${' (write $${ for a literal ${)");
            }
            int rc = expand_ref(in, s + i + 2, end - i - 2, out, depth);
            if (rc != SM_OK) {
                return rc;
            }
            i = end + 1;
            continue;
        }
        size_t run = i + 1;
        while (run < n && s[run] != '$') {
            run++;
        }
        if (sm_buf_append(out, s + i, run - i, in->err) != SM_OK) {
            return SM_ERR_NOMEM;
        }
        i = run;
    }
    return SM_OK;
}

static int interpolate(sm_arena *arena, interp *in, sm_cfg_node *n, sm_buf *scratch)
{
    if (n->kind != SM_CFG_SCALAR) {
        for (size_t i = 0; i < n->count; i++) {
            int rc = interpolate(arena, in, n->items[i], scratch);
            if (rc != SM_OK) {
                return rc;
            }
        }
        return SM_OK;
    }
    if (!memchr(n->str, '$', n->len)) {
        return SM_OK;
    }
    in->at = n;
    scratch->len = 0;
    int rc = expand(in, n->str, n->len, scratch, 0);
    if (rc != SM_OK) {
        return rc;
    }
    char *s =
        sm_arena_strndup(arena, scratch->len ? (const char *)scratch->data : "", scratch->len);
    if (!s) {
        return interp_nomem(in);
    }
    n->str = s;
    n->len = scratch->len;
    return SM_OK;
}

/* --- loading -------------------------------------------------------------------------------- */

int sm_cfg_load_string(sm_arena *arena, const char *file, const char *text, size_t len,
                       const sm_cfg_opts *opts, sm_cfg_node **root_out, sm_error *err)
{
    static const sm_cfg_opts none = {0};
    sm_cfg_node *root = NULL;
    int rc;
    if (!opts) {
        opts = &none;
    }
    if ((rc = sm_cfg_parse(arena, file, text, len, &root, err)) != SM_OK) {
        return rc;
    }
    const char *env_key = opts->env_key ? opts->env_key : CFG_DEFAULT_ENV_KEY;
    if ((rc = apply_overlay(arena, root, env_key, opts->env_name, err)) != SM_OK) {
        return rc;
    }
    interp in = {opts->lookup ? opts->lookup : default_lookup, opts->lookup_ud, err, root};
    sm_buf scratch = SM_BUF_INIT;
    rc = interpolate(arena, &in, root, &scratch);
    sm_buf_free(&scratch);
    if (rc != SM_OK) {
        return rc;
    }
    *root_out = root;
    return SM_OK;
}

int sm_cfg_load(sm_arena *arena, const char *path, const sm_cfg_opts *opts, sm_cfg_node **root_out,
                sm_error *err)
{
    size_t max = opts && opts->max_file_size ? opts->max_file_size : CFG_DEFAULT_MAX_BYTES;
    char *text = NULL;
    size_t len = 0;
    int rc = sm_read_file(path, max, &text, &len, err);
    if (rc == SM_ERR_NOMEM && text == NULL && err && strstr(err->msg, "limit")) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: larger than %zu bytes: not a configuration file", path, max);
    }
    if (rc != SM_OK) {
        return rc;
    }
    rc = sm_cfg_load_string(arena, path, text, len, opts, root_out, err);
    free(text);
    return rc;
}
