/*
 * The schema-directed JSON decoder (see json_decode.h; the rules are in docs/json.md).
 *
 * Shape: a tree of compiled nodes (jnode) mirrors the schema; decoding is a recursive descent
 * over the message that carries the node and the column it fills. Each function takes the
 * position of the first byte of its value and returns the position just after it, or NULL
 * after recording the failure in the decoder (fail()). Nothing is buffered: a value is
 * appended to its column the moment it is read, so a failure half-way leaves part of a row,
 * which sm_json_column_truncate() takes back (every column of the batch to the batch's length
 * before the message).
 *
 * DESIGN: one row per message, exactly. A struct's fields each get exactly one value per
 * object: a key seen twice truncates its column back to the object's slot before decoding the
 * second value ("last wins"), a missing field gets its default, null or a failure. Struct slots
 * are stamped per object (seen[] holds the stamp of the object that last set the field), so no
 * per-object clearing is needed; a struct node is never active twice at once because schemas
 * are not recursive. Map entries cannot be overwritten in place (their values are nested
 * columns), so a map whose keys repeat is decoded a second time keeping only each key's last
 * entry — the rare path pays, the common one only checks.
 *
 * Speed: each struct remembers the order its keys came in, and the expected next key is
 * compared in place against the raw bytes (a plain name needs no unescaping), so a producer's
 * usual key order costs no scan and no hash; other keys go through the hash table. Strings are
 * scanned 16 bytes at a time (SSE2) for the four kinds of byte that need a look ('"', '\\',
 * control characters, non-ASCII) and appended straight from the message when they hold no
 * escape; integers are accumulated as they are scanned; doubles take Clinger's
 * exact fast path (up to 2^53 with at most 22 powers of ten) before strtod; appends write into
 * the column's buffers when they have room and fall back to storage/column.c when not.
 */
#include "ingest/json_decode.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/clock.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define NF_ENUM 1
#define NF_UUID 2

/* ---- compiled schema ---------------------------------------------------------------------- */

typedef struct jslot {
    int32_t idx; /* -1: empty */
    uint32_t h;  /* upper bits of the key's hash, checked before memcmp */
} jslot;

typedef struct jnode {
    const sm_field *field;
    sm_type type;
    bool nullable;
    uint8_t flags;
    size_t width; /* fixed-width types */
    int n_kids;   /* STRUCT: fields; LIST: 1 (element); MAP: 2 (key, value) */
    struct jnode *kids;
    /* STRUCT field names or ENUM symbols, found through a hash table */
    int n_names;
    const char **names;
    uint32_t *name_lens;
    jslot *slots;
    uint32_t mask;
    uint64_t seed;
    /* STRUCT: the names again, each followed by 8 zero bytes (word compares), and the order
     * keys came in last time: the key expected after field i, and the first */
    uint8_t *padded;
    uint32_t *padded_at;
    bool *plain; /* the name's raw JSON bytes are the name (no escapes needed, ASCII) */
    int32_t *next_hint;
    int32_t first_hint;
    /* STRUCT: the stamp of the object that last set each field */
    uint32_t *seen;
    uint32_t stamp;
    /* as a field of a struct: its default, JSON text (NULL: none) */
    const char *def;
    size_t def_len;
    /* integers: bounds */
    int64_t lo, hi;
    uint64_t umax;
    /* DECIMAL: 10^precision */
    u128 dec_limit;
} jnode;

typedef struct jpath {
    const char *name;      /* a struct field */
    int64_t index;         /* a list element or map entry when name is NULL */
    const sm_column *keys; /* a map entry: its key column */
} jpath;

struct sm_json_decoder {
    jnode root;
    sm_json_opts opts;
    int max_depth;
    /* per message */
    const uint8_t *base, *end;
    int depth;
    sm_arena *arena;
    sm_json_error why;
    jpath path[SM_JSON_MAX_DEPTH_LIMIT + 2];
    int path_len;
    /* scratch for unescaped strings and long numbers (grows, never shrinks) */
    uint8_t *scratch;
    size_t scratch_cap;
    /* map de-duplication: a hash table of entry indices and a stack of keep masks */
    int32_t *dup_tab;
    size_t dup_cap;
    uint8_t *masks;
    size_t masks_len, masks_cap;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static inline uint64_t khash(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        h = (h ^ ((uint64_t)a << 32 | b)) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    } else if (n) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 29);
}

/* a[0..n) == b[0..n), where b may be read 8 bytes past n (a padded name) and a may not. */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            return false;
        }
        a += 8;
        b += 8;
        n -= 8;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

static inline int name_lookup(const jnode *n, const uint8_t *k, size_t len)
{
    uint64_t h = khash(k, len, n->seed);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t s = (uint32_t)h & n->mask;; s = (s + 1) & n->mask) {
        int32_t i = n->slots[s].idx;
        if (i < 0) {
            return -1;
        }
        if (n->slots[s].h == tag && n->name_lens[i] == len &&
            (n->padded ? key_eq(k, n->padded + n->padded_at[i], len)
                       : memcmp(n->names[i], k, len) == 0)) {
            return i;
        }
    }
}

static const char *const reason_names[SM_JSON_REASON_COUNT] = {
    "ok",         "syntax",       "invalid_utf8",  "not_object",    "trailing_data", "too_deep",
    "wrong_type", "out_of_range", "null_required", "missing_field", "unknown_field", "no_memory"};

const char *sm_json_reason_name(sm_json_reason r)
{
    return (unsigned)r < SM_JSON_REASON_COUNT ? reason_names[r] : "unknown";
}

void sm_json_opts_default(sm_json_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_depth = SM_JSON_MAX_DEPTH_DEFAULT;
}

/* ---- failures ----------------------------------------------------------------------------- */

/* Appends up to `max` bytes of s as readable text: valid UTF-8 is kept (cut at a character
 * boundary), control bytes and invalid bytes become '?'. */
static size_t put_snippet(char *out, size_t cap, const uint8_t *s, size_t len, size_t max)
{
    size_t o = 0, i = 0;
    bool cut = len > max;
    if (cut) {
        len = max;
        while (len > 0 && (s[len] & 0xc0) == 0x80) {
            len--;
        }
    }
    while (i < len && o + 5 < cap) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
            i++;
            continue;
        }
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        bool ok = c >= 0xc2 && c <= 0xf4 && i + n <= len;
        for (size_t j = 1; ok && j < n; j++) {
            ok = (s[i + j] & 0xc0) == 0x80;
        }
        if (!ok) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    if (cut && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return o;
}

/* The path of the value being decoded: "items[2].sku", "attrs[\"k\"]". */
static size_t render_path(const sm_json_decoder *d, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < d->path_len && o + 16 < cap; i++) {
        const jpath *e = &d->path[i];
        int n;
        if (e->name) {
            n = snprintf(out + o, cap - o, "%s%s", o ? "." : "", e->name);
        } else if (e->keys) {
            const sm_column *k = e->keys;
            int32_t a = k->offsets[e->index], b = k->offsets[e->index + 1];
            out[o++] = '[';
            out[o++] = '"';
            /* an empty key may be the first bytes of the column: data is still NULL then */
            o += put_snippet(out + o, cap - o - 4, k->data ? k->data + a : (const uint8_t *)"",
                             (size_t)(b - a), 40);
            n = snprintf(out + o, cap - o, "\"]");
        } else {
            n = snprintf(out + o, cap - o, "[%lld]", (long long)e->index);
        }
        if (n < 0) {
            break;
        }
        o += (size_t)n;
        if (o >= cap) {
            o = cap - 1;
            break;
        }
    }
    return o;
}

static const uint8_t *vfail(sm_json_decoder *d, sm_json_reason r, const uint8_t *at, bool prefix,
                            const char *fmt, va_list ap)
{
    sm_json_error *w = &d->why;
    size_t cap = sizeof w->msg, o = 0;
    int n;
    w->reason = r;
    w->offset = at >= d->base && at <= d->end ? (size_t)(at - d->base) : 0;
    if (prefix && d->path_len > 0) {
        char path[160];
        render_path(d, path, sizeof path);
        n = snprintf(w->msg, cap, "field '%s': ", path);
        o = n > 0 ? (size_t)n : 0;
        if (o >= cap) {
            o = cap - 1;
        }
    }
    n = vsnprintf(w->msg + o, cap - o, fmt, ap);
    o += n > 0 ? (size_t)n : 0;
    if (o < cap && r != SM_JSON_NOMEM) {
        snprintf(w->msg + o, cap - o, " at byte %zu", w->offset);
    }
    return NULL;
}

__attribute__((format(printf, 4, 5))) static const uint8_t *
fail(sm_json_decoder *d, sm_json_reason r, const uint8_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d, r, at, true, fmt, ap);
    va_end(ap);
    return NULL;
}

/* Like fail, without the "field '...': " prefix (the message names the field itself). */
__attribute__((format(printf, 4, 5))) static const uint8_t *
fail_plain(sm_json_decoder *d, sm_json_reason r, const uint8_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d, r, at, false, fmt, ap);
    va_end(ap);
    return NULL;
}

static const uint8_t *fail_nomem(sm_json_decoder *d, const uint8_t *at)
{
    return fail_plain(d, SM_JSON_NOMEM, at, "the batch is full (arena limit reached)");
}

/* "customer.id" for a field `name` of the struct at the current path */
static void child_path(const sm_json_decoder *d, const char *name, size_t name_len, char *out,
                       size_t cap)
{
    size_t o = render_path(d, out, cap);
    if (o && o + 2 < cap) {
        out[o++] = '.';
    }
    put_snippet(out + o, cap - o, (const uint8_t *)name, name_len, 60);
}

static const char *kind_of(uint8_t c)
{
    switch (c) {
    case '"':
        return "a string";
    case '{':
        return "an object";
    case '[':
        return "an array";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return "a number";
    }
}

static const char *expected_of(const jnode *n)
{
    switch (n->type) {
    case SM_BOOL:
        return "true or false";
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        return "an integer";
    case SM_FLOAT:
    case SM_DOUBLE:
        return "a number";
    case SM_DATE:
        return "a date (\"YYYY-MM-DD\" or days since 1970-01-01)";
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        return "a timestamp (ISO-8601 string or integer since the epoch)";
    case SM_DECIMAL:
        return "a decimal (number or numeric string)";
    case SM_STRUCT:
    case SM_MAP:
        return "an object";
    case SM_LIST:
        return "an array";
    default:
        return "a string";
    }
}

static const uint8_t *fail_type(sm_json_decoder *d, const jnode *n, const uint8_t *at)
{
    return fail(d, SM_JSON_TYPE, at, "expected %s, got %s", expected_of(n), kind_of(*at));
}

/* ---- scratch ------------------------------------------------------------------------------ */

static uint8_t *scratch(sm_json_decoder *d, size_t n)
{
    if (n > d->scratch_cap) {
        size_t cap = d->scratch_cap ? d->scratch_cap : 256;
        while (cap < n) {
            cap *= 2;
        }
        uint8_t *p = realloc(d->scratch, cap);
        if (!p) {
            return NULL;
        }
        d->scratch = p;
        d->scratch_cap = cap;
    }
    return d->scratch;
}

/* ---- appending ---------------------------------------------------------------------------- */

static inline void mark_valid(sm_column *c)
{
    if (c->validity) {
        c->validity[c->length >> 3] |= (uint8_t)(1u << (c->length & 7));
    }
    c->length++;
}

static inline int put_fixed(sm_json_decoder *d, sm_column *c, const void *v, size_t w)
{
    if (c->length < c->capacity) {
        memcpy((uint8_t *)c->values + (size_t)c->length * w, v, w);
        mark_valid(c);
        return 0;
    }
    return sm_column_append_fixed(d->arena, c, v);
}

static inline int put_bytes(sm_json_decoder *d, sm_column *c, const void *s, size_t len)
{
    if (c->length < c->capacity && (int64_t)len <= c->data_capacity - c->data_len &&
        (int64_t)len <= INT32_MAX - c->data_len) {
        if (len) {
            memcpy(c->data + c->data_len, s, len);
        }
        c->data_len += (int64_t)len;
        c->offsets[c->length + 1] = (int32_t)c->data_len;
        mark_valid(c);
        return 0;
    }
    return sm_column_append_bytes(d->arena, c, s, len);
}

static inline int put_null(sm_json_decoder *d, sm_column *c)
{
    if (c->validity && c->length < c->capacity && c->field->type != SM_STRUCT) {
        int64_t i = c->length;
        size_t w = sm_type_width(c->field);
        if (w) {
            memset((uint8_t *)c->values + (size_t)i * w, 0, w);
        }
        if (c->offsets) {
            c->offsets[i + 1] = c->offsets[i];
        }
        c->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
        c->length++;
        c->null_count++;
        return 0;
    }
    return sm_column_append_null(d->arena, c);
}

static inline int put_slot(sm_json_decoder *d, sm_column *c) /* a valid STRUCT slot */
{
    if (c->length < c->capacity) {
        mark_valid(c);
        return 0;
    }
    return sm_column_append_valid(d->arena, c);
}

static inline int put_list_end(sm_json_decoder *d, sm_column *c)
{
    if (c->length < c->capacity) {
        c->offsets[c->length + 1] = (int32_t)c->children[0]->length;
        mark_valid(c);
        return 0;
    }
    return sm_column_list_end(d->arena, c);
}

static int put_int(sm_json_decoder *d, sm_column *c, size_t w, int64_t v)
{
    switch (w) {
    case 1: {
        int8_t x = (int8_t)v;
        return put_fixed(d, c, &x, 1);
    }
    case 2: {
        int16_t x = (int16_t)v;
        return put_fixed(d, c, &x, 2);
    }
    case 4: {
        int32_t x = (int32_t)v;
        return put_fixed(d, c, &x, 4);
    }
    default:
        return put_fixed(d, c, &v, 8);
    }
}

void sm_json_column_truncate(sm_column *c, int64_t length)
{
    if (length < c->length) {
        if (c->validity && c->null_count) {
            for (int64_t i = length; i < c->length; i++) {
                if (!((c->validity[i >> 3] >> (i & 7)) & 1)) {
                    c->null_count--;
                }
            }
        }
        if (c->offsets && sm_type_is_binary_like(c->field->type)) {
            c->data_len = c->offsets[length];
        }
        c->length = length;
    }
    /* children may be ahead of their parent (a slot being built): always walk them */
    switch (c->field->type) {
    case SM_STRUCT:
        for (int i = 0; i < c->field->n_children; i++) {
            sm_json_column_truncate(c->children[i], length);
        }
        break;
    case SM_LIST:
    case SM_MAP:
        sm_json_column_truncate(c->children[0], c->offsets[length]);
        break;
    default:
        break;
    }
}

/* ---- lexing ------------------------------------------------------------------------------- */

static const uint8_t ws_tab[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && ws_tab[*p]) {
        p++;
    }
    return p;
}

/* Bytes a string scan must stop at: '"', '\\', control characters and non-ASCII. */
static inline bool is_special(uint8_t c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* The first byte at or after p that a string scan must look at, or end. */
static inline const uint8_t *find_special(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches non-ASCII */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        int bits = _mm_movemask_epi8(m);
        if (bits) {
            return p + __builtin_ctz((unsigned)bits);
        }
        p += 16;
    }
#endif
    while (p < end && !is_special(*p)) {
        p++;
    }
    return p;
}

/* p at a byte >= 0x80: returns the byte after one valid UTF-8 sequence (RFC 3629: shortest
 * form, no surrogates, at most U+10FFFF), or NULL. */
static inline const uint8_t *utf8_next(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return NULL;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) {
        return NULL;
    }
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return NULL;
        }
    }
    return p + n;
}

static inline int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static inline int32_t hex4(const uint8_t *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), e = hexval(p[3]);
    if ((a | b | c | e) < 0) {
        return -1;
    }
    return (int32_t)(a << 12 | b << 8 | c << 4 | e);
}

/* p at a backslash: checks one escape, returns the byte after it. */
static const uint8_t *check_escape(sm_json_decoder *d, const uint8_t *p, const uint8_t *end)
{
    if (end - p < 2) {
        return fail(d, SM_JSON_SYNTAX, end, "unterminated string");
    }
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u': {
        int32_t cp;
        if (end - p < 6 || (cp = hex4(p + 2)) < 0) {
            return fail(d, SM_JSON_SYNTAX, p, "invalid \\u escape");
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail(d, SM_JSON_UTF8, p, "unpaired surrogate \\u%04x", (unsigned)cp);
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            int32_t lo;
            if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0 ||
                lo < 0xdc00 || lo > 0xdfff) {
                return fail(d, SM_JSON_UTF8, p, "unpaired surrogate \\u%04x", (unsigned)cp);
            }
            return p + 12;
        }
        return p + 6;
    }
    default:
        if (p[1] >= 0x20 && p[1] < 0x7f) {
            return fail(d, SM_JSON_SYNTAX, p, "invalid escape '\\%c'", p[1]);
        }
        return fail(d, SM_JSON_SYNTAX, p, "invalid escape");
    }
}

/* p at an opening quote: checks the string (escapes, UTF-8, no control characters) and returns
 * the position of its closing quote; *esc says whether it holds escapes. */
static const uint8_t *scan_string(sm_json_decoder *d, const uint8_t *p, bool *esc)
{
    const uint8_t *end = d->end;
    bool e = false;
    p++;
    for (;;) {
        p = find_special(p, end);
        if (p >= end) {
            return fail(d, SM_JSON_SYNTAX, end, "unterminated string");
        }
        uint8_t c = *p;
        if (c == '"') {
            *esc = e;
            return p;
        }
        if (c == '\\') {
            e = true;
            if (!(p = check_escape(d, p, end))) {
                return NULL;
            }
        } else if (c < 0x20) {
            return fail(d, SM_JSON_SYNTAX, p, "control character 0x%02x in a string", c);
        } else {
            const uint8_t *q = utf8_next(p, end);
            if (!q) {
                return fail(d, SM_JSON_UTF8, p, "invalid UTF-8");
            }
            p = q;
        }
    }
}

static inline uint8_t *put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (uint8_t)cp;
    } else if (cp < 0x800) {
        *o++ = (uint8_t)(0xc0 | cp >> 6);
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (uint8_t)(0xe0 | cp >> 12);
        *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (uint8_t)(0xf0 | cp >> 18);
        *o++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (uint8_t)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Unescapes a checked string body [s, e) into the scratch buffer (never longer than the
 * input). NULL when the scratch cannot grow. */
static uint8_t *unescape(sm_json_decoder *d, const uint8_t *s, const uint8_t *e, size_t *out_len)
{
    uint8_t *buf = scratch(d, (size_t)(e - s) + 1), *o;
    if (!buf) {
        return NULL;
    }
    o = buf;
    while (s < e) {
        const uint8_t *bs = memchr(s, '\\', (size_t)(e - s));
        if (!bs) {
            memcpy(o, s, (size_t)(e - s));
            o += e - s;
            break;
        }
        memcpy(o, s, (size_t)(bs - s));
        o += bs - s;
        switch (bs[1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            uint32_t cp = (uint32_t)hex4(bs + 2);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo = (uint32_t)hex4(bs + 8);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s = bs + 12;
            } else {
                s = bs + 6;
            }
            o = put_utf8(o, cp);
            continue;
        }
        default: /* " \ / */
            *o++ = bs[1];
        }
        s = bs + 2;
    }
    *out_len = (size_t)(o - buf);
    return buf;
}

/* p at an opening quote: the string's content (unescaped when needed: then it is in the
 * scratch buffer, valid until the next call) and the position after the closing quote. */
static inline const uint8_t *read_string(sm_json_decoder *d, const uint8_t *p, const uint8_t **s,
                                         size_t *len)
{
    bool esc;
#if defined(__SSE2__)
    /* most strings are short and plain: their closing quote is in the next 16 bytes, before
     * any byte that needs a look */
    if (d->end - p > 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                 _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        int bits = _mm_movemask_epi8(m);
        if (bits) {
            int k = __builtin_ctz((unsigned)bits);
            if (p[1 + k] == '"') {
                *s = p + 1;
                *len = (size_t)k;
                return p + k + 2;
            }
        }
    }
#endif
    const uint8_t *q = scan_string(d, p, &esc);
    if (!q) {
        return NULL;
    }
    if (!esc) {
        *s = p + 1;
        *len = (size_t)(q - p - 1);
    } else if (!(*s = unescape(d, p + 1, q, len))) {
        return fail_nomem(d, p);
    }
    return q + 1;
}

static inline bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* After a literal or number: a letter, digit or number character glued to it is a bad token. */
static inline bool glued(const uint8_t *p, const uint8_t *end)
{
    if (p >= end) {
        return false;
    }
    uint8_t c = *p | 0x20;
    return (c >= 'a' && c <= 'z') || is_digit(*p) || *p == '.' || *p == '-' || *p == '+' ||
           *p == '_';
}

/* p at 't', 'f' or 'n': checks the literal, returns the byte after it. */
static const uint8_t *scan_literal(sm_json_decoder *d, const uint8_t *p, const char *lit, size_t n)
{
    if ((size_t)(d->end - p) < n || memcmp(p, lit, n) != 0 || glued(p + n, d->end)) {
        return fail(d, SM_JSON_SYNTAX, p, "invalid literal (expected %s)", lit);
    }
    return p + n;
}

/* A scanned JSON number: sign, integer digits, fraction digits, decimal exponent. */
typedef struct jnum {
    const uint8_t *start, *end;
    const uint8_t *ip, *fp; /* integer and fraction digits */
    int64_t ni, nf;
    int64_t exp; /* explicit exponent, saturated at +-1e15 */
    bool neg;
    bool plain; /* neither fraction nor exponent */
} jnum;

/* Scans a number token in [p, end); when `whole`, it must fill the range. */
static const uint8_t *scan_number(sm_json_decoder *d, const uint8_t *p, const uint8_t *end, jnum *n)
{
    const uint8_t *s = p;
    n->neg = false;
    n->plain = true;
    n->exp = 0;
    n->nf = 0;
    if (p < end && *p == '-') {
        n->neg = true;
        p++;
    }
    if (p >= end || !is_digit(*p)) {
        return fail(d, SM_JSON_SYNTAX, s, "invalid number");
    }
    n->ip = p;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    n->ni = p - n->ip;
    n->fp = p;
    if (p < end && *p == '.') {
        n->plain = false;
        n->fp = ++p;
        while (p < end && is_digit(*p)) {
            p++;
        }
        n->nf = p - n->fp;
        if (n->nf == 0) {
            return fail(d, SM_JSON_SYNTAX, s, "invalid number");
        }
    }
    if (p < end && (*p | 0x20) == 'e') {
        bool eneg = false;
        const uint8_t *ds;
        n->plain = false;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        ds = p;
        while (p < end && is_digit(*p)) {
            if (n->exp < 1000000000000000LL) {
                n->exp = n->exp * 10 + (*p - '0');
            }
            p++;
        }
        if (p == ds) {
            return fail(d, SM_JSON_SYNTAX, s, "invalid number");
        }
        if (eneg) {
            n->exp = -n->exp;
        }
    }
    if (glued(p, end)) {
        return fail(d, SM_JSON_SYNTAX, s, "invalid number");
    }
    n->start = s;
    n->end = p;
    return p;
}

static inline int ndigit(const jnum *n, int64_t i)
{
    return (i < n->ni ? n->ip[i] : n->fp[i - n->ni]) - '0';
}

/* The digits of n without leading and trailing zeros, as S × 10^e2; false when n is zero. */
static bool num_sig(const jnum *n, int64_t *lz, int64_t *sig, int64_t *e2)
{
    int64_t len = n->ni + n->nf, a = 0, tz = 0;
    while (a < len && ndigit(n, a) == 0) {
        a++;
    }
    if (a == len) {
        return false;
    }
    while (ndigit(n, len - 1 - tz) == 0) {
        tz++;
    }
    *lz = a;
    *sig = len - tz - a;
    *e2 = n->exp - n->nf + tz;
    return true;
}

enum { NUM_OK = 0, NUM_FRACTION, NUM_RANGE };

/* The exact integer value of n: its magnitude (sign in n->neg). */
static int num_integer(const jnum *n, uint64_t *mag)
{
    int64_t lz, sig, e2;
    uint64_t v = 0;
    if (n->plain && n->ni <= 19) {
        for (int64_t i = 0; i < n->ni; i++) {
            v = v * 10 + (uint64_t)(n->ip[i] - '0');
        }
        *mag = v;
        return NUM_OK;
    }
    if (!num_sig(n, &lz, &sig, &e2)) {
        *mag = 0;
        return NUM_OK;
    }
    if (e2 < 0) {
        return NUM_FRACTION;
    }
    if (sig + e2 > 20) {
        return NUM_RANGE;
    }
    for (int64_t i = lz; i < lz + sig; i++) {
        uint64_t dg = (uint64_t)ndigit(n, i);
        if (v > (UINT64_MAX - dg) / 10) {
            return NUM_RANGE;
        }
        v = v * 10 + dg;
    }
    for (int64_t k = 0; k < e2; k++) {
        if (v > UINT64_MAX / 10) {
            return NUM_RANGE;
        }
        v *= 10;
    }
    *mag = v;
    return NUM_OK;
}

/* n × 10^scale exactly, below 10^precision; with `round`, extra places round half away from
 * zero. */
static int num_decimal(const jnum *n, int32_t scale, u128 limit, bool round, u128 *mag)
{
    int64_t lz, sig, e2, k;
    u128 v = 0;
    if (!num_sig(n, &lz, &sig, &e2)) {
        *mag = 0;
        return NUM_OK;
    }
    k = e2 + scale;
    if (k >= 0) {
        if (sig + k > 38) {
            return NUM_RANGE;
        }
        for (int64_t i = lz; i < lz + sig; i++) {
            v = v * 10 + (u128)ndigit(n, i);
        }
        for (int64_t i = 0; i < k; i++) {
            v *= 10;
        }
    } else {
        int64_t keep = sig + k; /* significant digits left of the cut */
        if (!round) {
            return NUM_FRACTION;
        }
        if (keep > 38) {
            return NUM_RANGE;
        }
        if (keep >= 0) {
            for (int64_t i = lz; i < lz + keep; i++) {
                v = v * 10 + (u128)ndigit(n, i);
            }
            if (ndigit(n, lz + keep) >= 5) {
                v++;
            }
        }
    }
    if (v >= limit) {
        return NUM_RANGE;
    }
    *mag = v;
    return NUM_OK;
}

static const double pow10_d[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const float pow10_f[11] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                  1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

/* The number as a double (single when `single`), correctly rounded. NUM_RANGE on overflow. */
static int num_float(sm_json_decoder *d, const jnum *n, bool single, double *out)
{
    int64_t len = n->ni + n->nf, e = n->exp - n->nf;
    if (len <= 19) { /* Clinger's fast path: both operands exact, one rounding */
        uint64_t m = 0;
        for (int64_t i = 0; i < len; i++) {
            m = m * 10 + (uint64_t)ndigit(n, i);
        }
        if (!single && m <= (1ULL << 53) && e >= -22 && e <= 22) {
            double x = (double)m;
            x = e < 0 ? x / pow10_d[-e] : x * pow10_d[e];
            *out = n->neg ? -x : x;
            return NUM_OK;
        }
        if (single && m <= (1ULL << 24) && e >= -10 && e <= 10) {
            float x = (float)m;
            x = e < 0 ? x / pow10_f[-e] : x * pow10_f[e];
            *out = n->neg ? -x : x;
            return NUM_OK;
        }
    }
    size_t tl = (size_t)(n->end - n->start);
    char local[64], *buf = local;
    if (tl + 1 > sizeof local) {
        if (!(buf = (char *)scratch(d, tl + 1))) {
            return NUM_RANGE;
        }
    }
    memcpy(buf, n->start, tl);
    buf[tl] = '\0';
    if (single) {
        float f = strtof(buf, NULL);
        if (isinf(f)) {
            return NUM_RANGE;
        }
        *out = f;
    } else {
        double x = strtod(buf, NULL);
        if (isinf(x)) {
            return NUM_RANGE;
        }
        *out = x;
    }
    return NUM_OK;
}

static int token_len(const jnum *n)
{
    return (int)((n->end - n->start) > 40 ? 40 : (n->end - n->start));
}

/* ---- skipping (unknown fields), with full checking ---------------------------------------- */

static const uint8_t *skip_value(sm_json_decoder *d, const uint8_t *p);

static const uint8_t *skip_container(sm_json_decoder *d, const uint8_t *p)
{
    const uint8_t *end = d->end;
    bool obj = *p == '{';
    uint8_t close = obj ? '}' : ']';
    bool esc;
    if (++d->depth > d->max_depth) {
        return fail(d, SM_JSON_DEPTH, p, "nesting deeper than %d", d->max_depth);
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) {
        d->depth--;
        return p + 1;
    }
    for (;;) {
        if (obj) {
            if (p >= end || *p != '"') {
                return fail(d, SM_JSON_SYNTAX, p,
                            p >= end ? "unexpected end of message" : "expected a string key");
            }
            if (!(p = scan_string(d, p, &esc))) {
                return NULL;
            }
            p = skip_ws(p + 1, end);
            if (p >= end || *p != ':') {
                return fail(d, SM_JSON_SYNTAX, p, "expected ':' after a key");
            }
            p = skip_ws(p + 1, end);
        }
        if (!(p = skip_value(d, p))) {
            return NULL;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == close) {
            d->depth--;
            return p + 1;
        }
        return fail(d, SM_JSON_SYNTAX, p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static const uint8_t *skip_value(sm_json_decoder *d, const uint8_t *p)
{
    bool esc;
    jnum n;
    if (p >= d->end) {
        return fail(d, SM_JSON_SYNTAX, p, "unexpected end of message");
    }
    switch (*p) {
    case '"':
        p = scan_string(d, p, &esc);
        return p ? p + 1 : NULL;
    case '{':
    case '[':
        return skip_container(d, p);
    case 't':
        return scan_literal(d, p, "true", 4);
    case 'f':
        return scan_literal(d, p, "false", 5);
    case 'n':
        return scan_literal(d, p, "null", 4);
    default:
        if (*p == '-' || is_digit(*p)) {
            return scan_number(d, p, d->end, &n);
        }
        if (*p >= 0x20 && *p < 0x7f) {
            return fail(d, SM_JSON_SYNTAX, p, "unexpected character '%c'", *p);
        }
        return fail(d, SM_JSON_SYNTAX, p, "unexpected byte 0x%02x", *p);
    }
}

/* ---- dates and times ---------------------------------------------------------------------- */

static bool digits(const uint8_t **p, const uint8_t *end, int n, int *out)
{
    int v = 0;
    if (end - *p < n) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        uint8_t c = (*p)[i];
        if (!is_digit(c)) {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid_ymd(int y, int m, int dd)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m >= 1 && m <= 12 && dd >= 1 && dd <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* "YYYY-MM-DD" → days since 1970-01-01. */
static bool parse_date(const uint8_t *p, const uint8_t *end, const uint8_t **rest, int64_t *days)
{
    int y, m, dd;
    if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &m) || p >= end ||
        *p++ != '-' || !digits(&p, end, 2, &dd) || !valid_ymd(y, m, dd)) {
        return false;
    }
    *days = sm_days_from_civil(y, (unsigned)m, (unsigned)dd);
    *rest = p;
    return true;
}

/* The grammar of sm_parse_iso8601_ms (core/clock.h), to microseconds: fraction digits past the
 * sixth are dropped. */
static bool parse_iso_us(const uint8_t *p, size_t len, int64_t *out)
{
    const uint8_t *end = p + len;
    int64_t days, us;
    int hh, mi, ss = 0, frac = 0;
    if (!parse_date(p, end, &p, &days)) {
        return false;
    }
    us = days * 86400000000LL;
    if (p == end) {
        *out = us;
        return true;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') {
        return false;
    }
    p++;
    if (!digits(&p, end, 2, &hh) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi)) {
        return false;
    }
    if (p < end && *p == ':') {
        p++;
        if (!digits(&p, end, 2, &ss)) {
            return false;
        }
        if (p < end && *p == '.') {
            int nd = 0;
            p++;
            while (p < end && is_digit(*p)) {
                if (nd < 6) {
                    frac = frac * 10 + (*p - '0');
                }
                nd++;
                p++;
            }
            if (nd == 0) {
                return false;
            }
            for (; nd < 6; nd++) {
                frac *= 10;
            }
        }
    }
    if (hh > 23 || mi > 59 || ss > 59) {
        return false;
    }
    us += hh * 3600000000LL + mi * 60000000LL + ss * 1000000LL + frac;
    if (p < end) {
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (!digits(&p, end, 2, &oh)) {
                return false;
            }
            if (p < end && *p == ':') {
                p++;
            }
            if (!digits(&p, end, 2, &om) || oh > 23 || om > 59) {
                return false;
            }
            us -= sign * (oh * 3600000000LL + om * 60000000LL);
        } else {
            return false;
        }
    }
    if (p != end) {
        return false;
    }
    *out = us;
    return true;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_uuid(const uint8_t *s, size_t len)
{
    if (len != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return false;
            }
        } else if (hexval(s[i]) < 0) {
            return false;
        }
    }
    return true;
}

/* ---- values ------------------------------------------------------------------------------- */

static const uint8_t *dec_value(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p);

static inline void path_push_name(sm_json_decoder *d, const char *name)
{
    jpath *e = &d->path[d->path_len++];
    e->name = name;
    e->keys = NULL;
}

static inline void path_push_index(sm_json_decoder *d, int64_t i, const sm_column *keys)
{
    jpath *e = &d->path[d->path_len++];
    e->name = NULL;
    e->index = i;
    e->keys = keys;
}

static const uint8_t *dec_integer(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    jnum num;
    uint64_t mag;
    int64_t v;
    const uint8_t *q = scan_number(d, p, d->end, &num);
    int st;
    if (!q) {
        return NULL;
    }
    st = num_integer(&num, &mag);
    if (st == NUM_FRACTION) {
        return fail(d, SM_JSON_TYPE, p, "%.*s is not an integer", token_len(&num), p);
    }
    if (n->type == SM_UINT64) {
        if (st != NUM_OK || (num.neg && mag)) {
            goto range;
        }
        if (put_fixed(d, c, &mag, 8)) {
            return fail_nomem(d, p);
        }
        return q;
    }
    if (st != NUM_OK) {
        goto range;
    }
    if (num.neg) {
        if (mag > (uint64_t)0 - (uint64_t)n->lo) {
            goto range;
        }
        v = (int64_t)((uint64_t)0 - mag);
    } else {
        if (mag > (uint64_t)n->hi) {
            goto range;
        }
        v = (int64_t)mag;
    }
    if (put_int(d, c, n->width, v)) {
        return fail_nomem(d, p);
    }
    return q;
range:
    if (n->type == SM_TIMESTAMP_MS || n->type == SM_TIMESTAMP_US) {
        return fail(d, SM_JSON_RANGE, p,
                    "%.*s is out of range for %s (a timestamp must lie within 290309 BC .. "
                    "294247 AD, the int64 microseconds readers take)",
                    token_len(&num), p, sm_type_name(n->type));
    }
    return fail(d, SM_JSON_RANGE, p, "%.*s is out of range for %s", token_len(&num), p,
                sm_type_name(n->type));
}

static const uint8_t *dec_float(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    double x;
    const uint8_t *q;
    if (*p == '"') { /* "NaN", "Infinity", "-Infinity" */
        const uint8_t *s;
        size_t len;
        if (!(q = read_string(d, p, &s, &len))) {
            return NULL;
        }
        if (len == 3 && memcmp(s, "NaN", 3) == 0) {
            x = NAN;
        } else if (len == 8 && memcmp(s, "Infinity", 8) == 0) {
            x = INFINITY;
        } else if (len == 9 && memcmp(s, "-Infinity", 9) == 0) {
            x = -INFINITY;
        } else {
            return fail(d, SM_JSON_TYPE, p,
                        "expected a number, got a string (only \"NaN\", \"Infinity\" and "
                        "\"-Infinity\" are taken)");
        }
    } else {
        jnum num;
        if (!(q = scan_number(d, p, d->end, &num))) {
            return NULL;
        }
        if (num_float(d, &num, n->type == SM_FLOAT, &x) != NUM_OK) {
            return fail(d, SM_JSON_RANGE, p, "%.*s is out of range for %s", token_len(&num), p,
                        sm_type_name(n->type));
        }
    }
    if (n->type == SM_FLOAT) {
        float f = (float)x;
        if (put_fixed(d, c, &f, 4)) {
            return fail_nomem(d, p);
        }
    } else if (put_fixed(d, c, &x, 8)) {
        return fail_nomem(d, p);
    }
    return q;
}

static int put_decimal(sm_json_decoder *d, jnode *n, sm_column *c, bool neg, u128 mag)
{
    i128 v = neg ? -(i128)mag : (i128)mag;
    if (n->width == 4) {
        int32_t x = (int32_t)v;
        return put_fixed(d, c, &x, 4);
    }
    if (n->width == 8) {
        int64_t x = (int64_t)v;
        return put_fixed(d, c, &x, 8);
    }
    uint8_t b[16];
    u128 u = (u128)v;
    for (int i = 0; i < 16; i++) {
        b[i] = (uint8_t)(u >> (8 * i));
    }
    return put_fixed(d, c, b, 16);
}

static const uint8_t *dec_decimal(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    jnum num;
    u128 mag;
    const uint8_t *q;
    int st;
    if (*p == '"') {
        const uint8_t *s, *e;
        size_t len;
        if (!(q = read_string(d, p, &s, &len))) {
            return NULL;
        }
        /* the scan's failures would point into the scratch buffer: report at the string */
        const uint8_t *saved_base = d->base, *saved_end = d->end;
        d->base = s;
        d->end = s + len;
        e = scan_number(d, s, s + len, &num);
        d->base = saved_base;
        d->end = saved_end;
        if (!e || e != s + len) {
            char snip[64];
            put_snippet(snip, sizeof snip, s, len, 40);
            return fail(d, SM_JSON_TYPE, p, "\"%s\" is not a decimal number", snip);
        }
        st = num_decimal(&num, n->field->scale, n->dec_limit, d->opts.decimal_round, &mag);
        if (st != NUM_OK) {
            char snip[64];
            put_snippet(snip, sizeof snip, s, len, 40);
            return fail(d, SM_JSON_RANGE, p, "\"%s\" does not fit decimal(%d,%d)%s", snip,
                        n->field->precision, n->field->scale,
                        st == NUM_FRACTION ? ": too many decimal places" : "");
        }
    } else {
        if (!(q = scan_number(d, p, d->end, &num))) {
            return NULL;
        }
        st = num_decimal(&num, n->field->scale, n->dec_limit, d->opts.decimal_round, &mag);
        if (st != NUM_OK) {
            return fail(d, SM_JSON_RANGE, p, "%.*s does not fit decimal(%d,%d)%s", token_len(&num),
                        p, n->field->precision, n->field->scale,
                        st == NUM_FRACTION ? ": too many decimal places" : "");
        }
    }
    if (put_decimal(d, n, c, num.neg, mag)) {
        return fail_nomem(d, p);
    }
    return q;
}

static const uint8_t *dec_temporal(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    int64_t v;
    const uint8_t *q;
    if (*p == '"') {
        const uint8_t *s, *rest;
        size_t len;
        if (!(q = read_string(d, p, &s, &len))) {
            return NULL;
        }
        if (n->type == SM_DATE) {
            if (!parse_date(s, s + len, &rest, &v) || rest != s + len) {
                char snip[64];
                put_snippet(snip, sizeof snip, s, len, 40);
                return fail(d, SM_JSON_TYPE, p, "\"%s\" is not a date (YYYY-MM-DD)", snip);
            }
        } else {
            if (!parse_iso_us(s, len, &v)) {
                char snip[64];
                put_snippet(snip, sizeof snip, s, len, 40);
                return fail(d, SM_JSON_TYPE, p, "\"%s\" is not an ISO-8601 timestamp", snip);
            }
            if (n->type == SM_TIMESTAMP_MS) {
                v = floor_div(v, 1000);
            }
        }
        if (put_int(d, c, n->width, v)) {
            return fail_nomem(d, p);
        }
        return q;
    }
    return dec_integer(d, n, c, p);
}

/* Avro's JSON form of bytes: each character U+0000..U+00FF of the string is one byte. */
static const uint8_t *dec_binary(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    const uint8_t *s, *q;
    size_t len, o = 0;
    uint8_t *out;
    if (!(q = read_string(d, p, &s, &len))) {
        return NULL;
    }
    if (!(out = scratch(d, len + 1))) {
        return fail_nomem(d, p);
    }
    for (size_t i = 0; i < len;) { /* in place when s is the scratch: o never passes i */
        uint8_t b = s[i];
        if (b < 0x80) {
            out[o++] = b;
            i++;
        } else if ((b == 0xc2 || b == 0xc3) && i + 1 < len) {
            out[o++] = (uint8_t)((b & 0x03) << 6 | (s[i + 1] & 0x3f));
            i += 2;
        } else {
            return fail(d, SM_JSON_TYPE, p,
                        "a character above U+00FF in a bytes string (Avro's JSON form of bytes "
                        "takes one character per byte)");
        }
    }
    if (n->type == SM_FIXED_BINARY && o != n->width) {
        return fail(d, SM_JSON_TYPE, p, "expected %zu bytes, got %zu", n->width, o);
    }
    if (n->type == SM_FIXED_BINARY ? put_fixed(d, c, out, n->width) : put_bytes(d, c, out, o)) {
        return fail_nomem(d, p);
    }
    return q;
}

static const uint8_t *dec_string(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    const uint8_t *q, *s;
    size_t len;
    if (*p != '"' || n->type == SM_JSON) {
        /* not a string (or a JSON column): the value's own JSON text */
        if (n->flags & (NF_ENUM | NF_UUID)) {
            return fail_type(d, n, p);
        }
        if (!(q = skip_value(d, p))) {
            return NULL;
        }
        if (put_bytes(d, c, p, (size_t)(q - p))) {
            return fail_nomem(d, p);
        }
        return q;
    }
    if (!(q = read_string(d, p, &s, &len))) {
        return NULL;
    }
    if (n->flags & NF_ENUM && name_lookup(n, s, len) < 0) {
        char snip[64];
        put_snippet(snip, sizeof snip, s, len, 40);
        return fail(d, SM_JSON_TYPE, p, "\"%s\" is not a symbol of the enum", snip);
    }
    if (n->flags & NF_UUID && !is_uuid(s, len)) {
        char snip[64];
        put_snippet(snip, sizeof snip, s, len, 40);
        return fail(d, SM_JSON_TYPE, p, "\"%s\" is not a UUID", snip);
    }
    if (put_bytes(d, c, s, len)) {
        return fail_nomem(d, p);
    }
    return q;
}

/* p at the key's quote: the key's bytes and the position after the ':' and blanks. */
static const uint8_t *read_key(sm_json_decoder *d, const uint8_t *p, const uint8_t **k,
                               size_t *klen)
{
    const uint8_t *end = d->end;
    if (p >= end || *p != '"') {
        return fail(d, SM_JSON_SYNTAX, p,
                    p >= end ? "unexpected end of message" : "expected a string key");
    }
    if (!(p = read_string(d, p, k, klen))) {
        return NULL;
    }
    p = skip_ws(p, end);
    if (p >= end || *p != ':') {
        return fail(d, SM_JSON_SYNTAX, p, "expected ':' after a key");
    }
    return skip_ws(p + 1, end);
}

/* Decodes a field's default (JSON text of the .avsc, checked when the schema was parsed). */
static const uint8_t *dec_default(sm_json_decoder *d, jnode *kid, sm_column *kc, const uint8_t *at)
{
    const uint8_t *saved_base = d->base, *saved_end = d->end, *q;
    d->base = (const uint8_t *)kid->def;
    d->end = d->base + kid->def_len;
    q = dec_value(d, kid, kc, skip_ws(d->base, d->end));
    d->base = saved_base;
    d->end = saved_end;
    if (!q) {
        if (d->why.reason == SM_JSON_NOMEM) {
            return NULL;
        }
        char msg[sizeof d->why.msg];
        memcpy(msg, d->why.msg, sizeof msg);
        return fail(d, d->why.reason, at, "the default does not decode: %.180s", msg);
    }
    return q;
}

static const uint8_t *dec_struct(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    const uint8_t *end = d->end, *k;
    const int64_t row = c->length;
    size_t klen;
    int found = 0;
    uint32_t stamp;

    if (*p != '{') {
        return fail_type(d, n, p);
    }
    if (++d->depth > d->max_depth) {
        return fail(d, SM_JSON_DEPTH, p, "nesting deeper than %d", d->max_depth);
    }
    if ((stamp = ++n->stamp) == 0) {
        memset(n->seen, 0, sizeof(uint32_t) * (size_t)(n->n_kids ? n->n_kids : 1));
        stamp = n->stamp = 1;
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        int32_t hint = n->first_hint, prev = -1;
        for (;;) {
            const uint8_t *kp = p;
            int i = -1;
            /* the key that came next last time, compared in place: its raw bytes are the
             * name when the name needs no escapes, so no scan, unescape or hash */
            if (hint >= 0 && p < end && *p == '"') {
                size_t nl = n->name_lens[hint];
                if ((size_t)(end - p) > nl + 1 && p[nl + 1] == '"' && n->plain[hint] &&
                    key_eq(p + 1, n->padded + n->padded_at[hint], nl)) {
                    p = skip_ws(p + nl + 2, end);
                    if (p >= end || *p != ':') {
                        return fail(d, SM_JSON_SYNTAX, p, "expected ':' after a key");
                    }
                    p = skip_ws(p + 1, end);
                    i = hint;
                }
            }
            if (i < 0) {
                if (!(p = read_key(d, p, &k, &klen))) {
                    return NULL;
                }
                i = name_lookup(n, k, klen);
            }
            if (i < 0) {
                if (d->opts.unknown_fields == SM_JSON_UNKNOWN_DEAD_LETTER) {
                    char name[200];
                    child_path(d, (const char *)k, klen, name, sizeof name);
                    return fail_plain(d, SM_JSON_UNKNOWN_FIELD, kp, "unknown field '%s'", name);
                }
                if (!(p = skip_value(d, p))) {
                    return NULL;
                }
            } else {
                sm_column *kc = c->children[i];
                /* learn the order: next time, expect i after prev */
                if (prev < 0) {
                    n->first_hint = i;
                } else {
                    n->next_hint[prev] = i;
                }
                prev = i;
                hint = n->next_hint[i];
                if (n->seen[i] == stamp) { /* a duplicate key: the last one wins */
                    sm_json_column_truncate(kc, row);
                } else {
                    n->seen[i] = stamp;
                    found++;
                }
                path_push_name(d, n->names[i]);
                p = dec_value(d, &n->kids[i], kc, p);
                d->path_len--;
                if (!p) {
                    return NULL;
                }
            }
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return fail(d, SM_JSON_SYNTAX, p,
                        p >= end ? "unexpected end of message" : "expected ',' or '}'");
        }
    }
    if (found < n->n_kids) {
        for (int i = 0; i < n->n_kids; i++) {
            jnode *kid = &n->kids[i];
            if (n->seen[i] == stamp) {
                continue;
            }
            if (kid->def) {
                path_push_name(d, n->names[i]);
                const uint8_t *ok = dec_default(d, kid, c->children[i], p - 1);
                d->path_len--;
                if (!ok) {
                    return NULL;
                }
            } else if (kid->nullable) {
                if (put_null(d, c->children[i])) {
                    return fail_nomem(d, p);
                }
            } else {
                char name[200];
                child_path(d, n->names[i], n->name_lens[i], name, sizeof name);
                return fail_plain(d, SM_JSON_MISSING, p - 1, "missing required field '%s'", name);
            }
        }
    }
    d->depth--;
    if (put_slot(d, c)) {
        return fail_nomem(d, p);
    }
    return p;
}

static const uint8_t *dec_list(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    const uint8_t *end = d->end;
    sm_column *ec = c->children[0];
    jnode *en = &n->kids[0];
    if (*p != '[') {
        return fail_type(d, n, p);
    }
    if (++d->depth > d->max_depth) {
        return fail(d, SM_JSON_DEPTH, p, "nesting deeper than %d", d->max_depth);
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
    } else {
        for (int64_t i = 0;; i++) {
            path_push_index(d, i, NULL);
            p = dec_value(d, en, ec, p);
            d->path_len--;
            if (!p) {
                return NULL;
            }
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == ']') {
                p++;
                break;
            }
            return fail(d, SM_JSON_SYNTAX, p,
                        p >= end ? "unexpected end of message" : "expected ',' or ']'");
        }
    }
    d->depth--;
    if (put_list_end(d, c)) {
        return fail_nomem(d, p);
    }
    return p;
}

/* Entries of the key column [start, start + n) whose key appears again later: their keep mask
 * byte becomes 0. Returns whether any key repeats; -1 when out of memory. */
static int map_dups(sm_json_decoder *d, const sm_column *kc, int64_t start, int64_t n,
                    size_t mask_at)
{
    const int32_t *off = kc->offsets;
    int any = 0;
    if (n <= 8) {
        for (int64_t i = 0; i < n; i++) {
            int32_t a = off[start + i], la = off[start + i + 1] - a;
            for (int64_t j = i + 1; j < n; j++) {
                int32_t b = off[start + j], lb = off[start + j + 1] - b;
                if (la == lb && (la == 0 || memcmp(kc->data + a, kc->data + b, (size_t)la) == 0)) {
                    if (mask_at != SIZE_MAX) {
                        d->masks[mask_at + (size_t)i] = 0;
                    }
                    any = 1;
                    break;
                }
            }
        }
        return any;
    }
    size_t cap = 16;
    while (cap < (size_t)n * 2) {
        cap *= 2;
    }
    if (cap > d->dup_cap) {
        int32_t *t = realloc(d->dup_tab, cap * sizeof *t);
        if (!t) {
            return -1;
        }
        d->dup_tab = t;
        d->dup_cap = cap;
    }
    memset(d->dup_tab, 0xff, cap * sizeof *d->dup_tab);
    /* from the last entry back: an entry whose key is already in the table is not the last */
    for (int64_t i = n - 1; i >= 0; i--) {
        int32_t a = off[start + i], la = off[start + i + 1] - a;
        uint64_t h = khash(kc->data + a, (size_t)la, 0x5bd1e995);
        for (size_t s = (size_t)h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            int32_t j = d->dup_tab[s];
            if (j < 0) {
                d->dup_tab[s] = (int32_t)i;
                break;
            }
            int32_t b = off[start + j], lb = off[start + j + 1] - b;
            if (la == lb && (la == 0 || memcmp(kc->data + a, kc->data + b, (size_t)la) == 0)) {
                if (mask_at != SIZE_MAX) {
                    d->masks[mask_at + (size_t)i] = 0;
                }
                any = 1;
                break;
            }
        }
    }
    return any;
}

/* One pass over a map object; with mask_at != SIZE_MAX, only the entries whose mask byte is
 * set are kept (the others are checked and skipped). */
static const uint8_t *dec_map_pass(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p,
                                   size_t mask_at)
{
    const uint8_t *end = d->end, *k;
    sm_column *ent = c->children[0], *kc = ent->children[0], *vc = ent->children[1];
    size_t klen;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        return p + 1;
    }
    for (size_t i = 0;; i++) {
        if (!(p = read_key(d, p, &k, &klen))) {
            return NULL;
        }
        if (mask_at != SIZE_MAX && !d->masks[mask_at + i]) {
            if (!(p = skip_value(d, p))) {
                return NULL;
            }
        } else {
            if (put_bytes(d, kc, k, klen)) {
                return fail_nomem(d, p);
            }
            path_push_index(d, kc->length - 1, kc);
            p = dec_value(d, &n->kids[1], vc, p);
            d->path_len--;
            if (!p) {
                return NULL;
            }
            if (put_slot(d, ent)) {
                return fail_nomem(d, p);
            }
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            return p + 1;
        }
        return fail(d, SM_JSON_SYNTAX, p,
                    p >= end ? "unexpected end of message" : "expected ',' or '}'");
    }
}

static const uint8_t *dec_map(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    sm_column *ent = c->children[0];
    const int64_t start = ent->length;
    const uint8_t *q;
    int64_t count;
    int dup;
    if (*p != '{') {
        return fail_type(d, n, p);
    }
    if (++d->depth > d->max_depth) {
        return fail(d, SM_JSON_DEPTH, p, "nesting deeper than %d", d->max_depth);
    }
    if (!(q = dec_map_pass(d, n, c, p, SIZE_MAX))) {
        return NULL;
    }
    count = ent->length - start;
    if (count > 1 && (dup = map_dups(d, ent->children[0], start, count, SIZE_MAX)) != 0) {
        /* keys repeat: decode again, keeping each key's last entry */
        size_t at = d->masks_len;
        if (dup < 0) {
            return fail_nomem(d, p);
        }
        if (at + (size_t)count > d->masks_cap) {
            size_t cap = d->masks_cap ? d->masks_cap : 64;
            while (cap < at + (size_t)count) {
                cap *= 2;
            }
            uint8_t *m = realloc(d->masks, cap);
            if (!m) {
                return fail_nomem(d, p);
            }
            d->masks = m;
            d->masks_cap = cap;
        }
        memset(d->masks + at, 1, (size_t)count);
        d->masks_len += (size_t)count;
        if (map_dups(d, ent->children[0], start, count, at) < 0) {
            d->masks_len = at;
            return fail_nomem(d, p);
        }
        sm_json_column_truncate(ent, start);
        q = dec_map_pass(d, n, c, p, at);
        d->masks_len = at;
        if (!q) {
            return NULL;
        }
    }
    d->depth--;
    if (put_list_end(d, c)) {
        return fail_nomem(d, q);
    }
    return q;
}

static const uint8_t *dec_value(sm_json_decoder *d, jnode *n, sm_column *c, const uint8_t *p)
{
    if (p >= d->end) {
        return fail(d, SM_JSON_SYNTAX, p, "unexpected end of message");
    }
    uint8_t ch = *p;
    if (ch == 'n') {
        const uint8_t *q = scan_literal(d, p, "null", 4);
        if (!q) {
            return NULL;
        }
        if (!n->nullable) {
            return fail(d, SM_JSON_NULL, p, "null for a required field");
        }
        if (put_null(d, c)) {
            return fail_nomem(d, p);
        }
        return q;
    }
    if (ch != '"' && ch != '{' && ch != '[' && ch != 't' && ch != 'f' && ch != '-' &&
        !is_digit(ch)) {
        return skip_value(d, p); /* reports the bad byte */
    }
    switch (n->type) {
    case SM_STRING:
    case SM_JSON:
        return dec_string(d, n, c, p);
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        if (ch != '-' && !is_digit(ch)) {
            return fail_type(d, n, p);
        }
        return dec_integer(d, n, c, p);
    case SM_FLOAT:
    case SM_DOUBLE:
        if (ch != '-' && !is_digit(ch) && ch != '"') {
            return fail_type(d, n, p);
        }
        return dec_float(d, n, c, p);
    case SM_BOOL: {
        uint8_t b = ch == 't';
        const uint8_t *q;
        if (ch != 't' && ch != 'f') {
            return fail_type(d, n, p);
        }
        if (!(q = b ? scan_literal(d, p, "true", 4) : scan_literal(d, p, "false", 5))) {
            return NULL;
        }
        if (put_fixed(d, c, &b, 1)) {
            return fail_nomem(d, p);
        }
        return q;
    }
    case SM_DATE:
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        if (ch != '-' && !is_digit(ch) && ch != '"') {
            return fail_type(d, n, p);
        }
        return dec_temporal(d, n, c, p);
    case SM_DECIMAL:
        if (ch != '-' && !is_digit(ch) && ch != '"') {
            return fail_type(d, n, p);
        }
        return dec_decimal(d, n, c, p);
    case SM_BINARY:
    case SM_FIXED_BINARY:
        if (ch != '"') {
            return fail_type(d, n, p);
        }
        return dec_binary(d, n, c, p);
    case SM_STRUCT:
        return dec_struct(d, n, c, p);
    case SM_LIST:
        return dec_list(d, n, c, p);
    case SM_MAP:
        return dec_map(d, n, c, p);
    default:
        return fail(d, SM_JSON_TYPE, p, "column type %s cannot be decoded", sm_type_name(n->type));
    }
}

/* ---- the decoder -------------------------------------------------------------------------- */

int sm_json_decode(sm_json_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                   sm_column *batch, sm_json_error *why)
{
    const int64_t row = batch->length;
    const uint8_t *p;
    d->base = msg;
    d->end = msg + len;
    d->depth = 0;
    d->path_len = 0;
    d->masks_len = 0;
    d->arena = arena;
    d->why.reason = SM_JSON_OK;
    d->why.offset = 0;
    d->why.msg[0] = '\0';

    p = skip_ws(msg, d->end);
    if (p >= d->end) {
        fail(d, SM_JSON_NOT_OBJECT, p, len ? "blank message" : "empty message");
    } else if (*p != '{') {
        if (*p == '"' || *p == '[' || *p == '-' || is_digit(*p) || *p == 't' || *p == 'f' ||
            *p == 'n') {
            fail(d, SM_JSON_NOT_OBJECT, p, "the message is %s, not an object", kind_of(*p));
        } else {
            skip_value(d, p);
        }
    } else if ((p = dec_struct(d, &d->root, batch, p)) != NULL) {
        const uint8_t *q = skip_ws(p, d->end);
        if (q == d->end) {
            if (why) {
                why->reason = SM_JSON_OK;
                why->offset = 0;
                why->msg[0] = '\0';
            }
            return SM_OK;
        }
        fail(d, SM_JSON_TRAILING, q, "trailing data after the object");
    }
    sm_json_column_truncate(batch, row);
    if (why) {
        *why = d->why;
    }
    return d->why.reason == SM_JSON_NOMEM ? SM_ERR_NOMEM : SM_ERR_CORRUPT;
}

/* ---- compiling ---------------------------------------------------------------------------- */

static void node_free(jnode *n)
{
    for (int i = 0; i < n->n_kids; i++) {
        node_free(&n->kids[i]);
    }
    free(n->kids);
    free(n->names);
    free(n->name_lens);
    free(n->slots);
    free(n->seen);
    free(n->padded);
    free(n->padded_at);
    free(n->plain);
    free(n->next_hint);
}

void sm_json_decoder_free(sm_json_decoder *d)
{
    if (!d) {
        return;
    }
    node_free(&d->root);
    free(d->scratch);
    free(d->dup_tab);
    free(d->masks);
    free(d);
}

/* Builds the lookup table of n->names: open addressing at load <= 1/4 with the seed (of 64)
 * that needs the fewest extra probes — for most schemas none at all. */
static int build_names(jnode *n, const char *what, sm_error *err)
{
    uint32_t size = 4, best_cost = UINT32_MAX;
    uint64_t best_seed = 0;
    while (size < 4u * (uint32_t)n->n_names) {
        size <<= 1;
    }
    if (!(n->slots = malloc(sizeof(jslot) * size))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    n->mask = size - 1;
    for (int i = 0; i < n->n_names; i++) {
        for (int j = 0; j < i; j++) {
            if (n->name_lens[i] == n->name_lens[j] &&
                memcmp(n->names[i], n->names[j], n->name_lens[i]) == 0) {
                return sm_error_set(err, SM_ERR_USAGE, "%s '%s' appears twice in '%s'", what,
                                    n->names[i], n->field->name);
            }
        }
    }
    for (uint64_t seed = 1; seed <= 64 && best_cost; seed++) {
        uint32_t cost = 0;
        for (uint32_t s = 0; s < size; s++) {
            n->slots[s].idx = -1;
        }
        for (int i = 0; i < n->n_names; i++) {
            uint64_t h = khash((const uint8_t *)n->names[i], n->name_lens[i], seed);
            uint32_t s = (uint32_t)h & n->mask;
            while (n->slots[s].idx >= 0) {
                s = (s + 1) & n->mask;
                cost++;
            }
            n->slots[s].idx = i;
        }
        if (cost < best_cost) {
            best_cost = cost;
            best_seed = seed;
        }
    }
    n->seed = best_seed;
    for (uint32_t s = 0; s < size; s++) {
        n->slots[s].idx = -1;
    }
    for (int i = 0; i < n->n_names; i++) {
        uint64_t h = khash((const uint8_t *)n->names[i], n->name_lens[i], n->seed);
        uint32_t s = (uint32_t)h & n->mask;
        while (n->slots[s].idx >= 0) {
            s = (s + 1) & n->mask;
        }
        n->slots[s].idx = i;
        n->slots[s].h = (uint32_t)(h >> 32);
    }
    return SM_OK;
}

static int set_names(jnode *n, int count, const char *const *names, const char *what, sm_error *err)
{
    n->n_names = count;
    n->names = malloc(sizeof(char *) * (size_t)(count ? count : 1));
    n->name_lens = malloc(sizeof(uint32_t) * (size_t)(count ? count : 1));
    if (!n->names || !n->name_lens) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        n->names[i] = names[i] ? names[i] : "";
        n->name_lens[i] = (uint32_t)strlen(n->names[i]);
    }
    return build_names(n, what, err);
}

/* The padded copies of a struct's names and the initial key order (the schema's). */
static int set_hints(jnode *n, sm_error *err)
{
    size_t total = 0, cnt = (size_t)(n->n_names ? n->n_names : 1);
    for (int i = 0; i < n->n_names; i++) {
        total += n->name_lens[i] + 8;
    }
    n->padded = calloc(total + 8, 1);
    n->padded_at = malloc(sizeof(uint32_t) * cnt);
    n->plain = malloc(sizeof(bool) * cnt);
    n->next_hint = malloc(sizeof(int32_t) * cnt);
    if (!n->padded || !n->padded_at || !n->plain || !n->next_hint) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    total = 0;
    for (int i = 0; i < n->n_names; i++) {
        const uint8_t *nm = (const uint8_t *)n->names[i];
        bool plain = true;
        for (uint32_t k = 0; k < n->name_lens[i]; k++) {
            plain = plain && nm[k] >= 0x20 && nm[k] < 0x7f && nm[k] != '"' && nm[k] != '\\';
        }
        n->plain[i] = plain;
        n->padded_at[i] = (uint32_t)total;
        memcpy(n->padded + total, nm, n->name_lens[i]);
        total += n->name_lens[i] + 8;
        n->next_hint[i] = i + 1 < n->n_names ? i + 1 : -1;
    }
    n->first_hint = n->n_names > 0 ? 0 : -1;
    return SM_OK;
}

static int compile(sm_json_decoder *d, jnode *n, const sm_field *f, int depth, sm_error *err)
{
    const sm_avsc_info *info = d->opts.avsc ? sm_avsc_info_of(d->opts.avsc, f) : NULL;
    int rc;
    n->field = f;
    n->type = f->type;
    n->nullable = f->nullable;
    n->width = sm_type_width(f);
    if (depth > SM_JSON_MAX_DEPTH_LIMIT) {
        return sm_error_set(err, SM_ERR_USAGE, "schema nested deeper than %d",
                            SM_JSON_MAX_DEPTH_LIMIT);
    }
    switch (f->type) {
    case SM_INT8:
        n->lo = INT8_MIN, n->hi = INT8_MAX;
        break;
    case SM_INT16:
        n->lo = INT16_MIN, n->hi = INT16_MAX;
        break;
    case SM_INT32:
    case SM_DATE:
        n->lo = INT32_MIN, n->hi = INT32_MAX;
        break;
    case SM_INT64:
        n->lo = INT64_MIN, n->hi = INT64_MAX;
        break;
    case SM_TIMESTAMP_MS: /* whatever is in SM_TS_US_MIN..SM_TS_US_MAX once multiplied by 1000 */
        n->lo = SM_TS_MS_MIN, n->hi = SM_TS_MS_MAX;
        break;
    case SM_TIMESTAMP_US:
        n->lo = SM_TS_US_MIN, n->hi = SM_TS_US_MAX;
        break;
    case SM_UINT8:
        n->lo = 0, n->hi = UINT8_MAX;
        break;
    case SM_UINT16:
        n->lo = 0, n->hi = UINT16_MAX;
        break;
    case SM_UINT32:
        n->lo = 0, n->hi = UINT32_MAX;
        break;
    case SM_UINT64:
        n->lo = 0, n->hi = INT64_MAX;
        break;
    case SM_DECIMAL:
        if (f->precision < 1 || f->precision > 38) {
            return sm_error_set(err, SM_ERR_USAGE, "'%s': decimal precision %d out of 1..38",
                                f->name, f->precision);
        }
        n->dec_limit = 1;
        for (int i = 0; i < f->precision; i++) {
            n->dec_limit *= 10;
        }
        break;
    case SM_STRUCT: {
        const char **names = malloc(sizeof(char *) * (size_t)(f->n_children ? f->n_children : 1));
        if (!names ||
            !(n->kids = calloc((size_t)(f->n_children ? f->n_children : 1), sizeof(jnode))) ||
            !(n->seen = calloc((size_t)(f->n_children ? f->n_children : 1), sizeof(uint32_t)))) {
            free(names);
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        n->n_kids = f->n_children;
        for (int i = 0; i < f->n_children; i++) {
            names[i] = f->children[i]->name;
        }
        rc = set_names(n, f->n_children, names, "field", err);
        free(names);
        if (rc || (rc = set_hints(n, err))) {
            return rc;
        }
        for (int i = 0; i < f->n_children; i++) {
            const sm_avsc_info *ki;
            if ((rc = compile(d, &n->kids[i], f->children[i], depth + 1, err))) {
                return rc;
            }
            ki = d->opts.avsc ? sm_avsc_info_of(d->opts.avsc, f->children[i]) : NULL;
            if (ki && ki->default_json) {
                n->kids[i].def = ki->default_json;
                n->kids[i].def_len = ki->default_len;
            }
        }
        break;
    }
    case SM_LIST:
        if (f->n_children != 1 || !(n->kids = calloc(1, sizeof(jnode)))) {
            return f->n_children != 1 ? sm_error_set(err, SM_ERR_USAGE,
                                                     "'%s': list without "
                                                     "an element field",
                                                     f->name)
                                      : sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        n->n_kids = 1;
        return compile(d, &n->kids[0], f->children[0], depth + 1, err);
    case SM_MAP: {
        const sm_field *e = f->n_children == 1 ? f->children[0] : NULL;
        if (!e || e->type != SM_STRUCT || e->n_children != 2) {
            return sm_error_set(err, SM_ERR_USAGE, "'%s': map without a key_value struct", f->name);
        }
        if (e->children[0]->type != SM_STRING) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "'%s': map keys are %s; JSON object keys need string keys", f->name,
                                sm_type_name(e->children[0]->type));
        }
        if (!(n->kids = calloc(2, sizeof(jnode)))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
        n->n_kids = 2;
        if ((rc = compile(d, &n->kids[0], e->children[0], depth + 1, err))) {
            return rc;
        }
        return compile(d, &n->kids[1], e->children[1], depth + 1, err);
    }
    case SM_STRING:
        if (info && info->n_symbols > 0) {
            n->flags |= NF_ENUM;
            if ((rc = set_names(n, info->n_symbols, info->symbols, "symbol", err))) {
                return rc;
            }
        }
        if (info && info->logical && strcmp(info->logical, "uuid") == 0) {
            n->flags |= NF_UUID;
        }
        break;
    case SM_BOOL:
    case SM_FLOAT:
    case SM_DOUBLE:
    case SM_BINARY:
    case SM_JSON:
        break;
    case SM_FIXED_BINARY:
        if (f->width < 1) {
            return sm_error_set(err, SM_ERR_USAGE, "'%s': fixed width %d", f->name, f->width);
        }
        break;
    default:
        return sm_error_set(err, SM_ERR_USAGE, "'%s': column type %d cannot be decoded", f->name,
                            (int)f->type);
    }
    return SM_OK;
}

int sm_json_decoder_new(const sm_field *schema, const sm_json_opts *opts, sm_json_decoder **out,
                        sm_error *err)
{
    sm_json_decoder *d;
    int rc;
    *out = NULL;
    if (!schema || schema->type != SM_STRUCT) {
        return sm_error_set(err, SM_ERR_USAGE, "a JSON decoder needs a struct schema");
    }
    if (!(d = calloc(1, sizeof *d))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    if (opts) {
        d->opts = *opts;
    } else {
        sm_json_opts_default(&d->opts);
    }
    d->max_depth = d->opts.max_depth > 0 ? d->opts.max_depth : SM_JSON_MAX_DEPTH_DEFAULT;
    if (d->max_depth > SM_JSON_MAX_DEPTH_LIMIT) {
        rc = sm_error_set(err, SM_ERR_USAGE, "max_depth %d is above the limit %d", d->max_depth,
                          SM_JSON_MAX_DEPTH_LIMIT);
        sm_json_decoder_free(d);
        return rc;
    }
    if ((rc = compile(d, &d->root, schema, 1, err)) != SM_OK) {
        sm_json_decoder_free(d);
        return rc;
    }
    *out = d;
    return SM_OK;
}
