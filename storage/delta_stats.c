/*
 * Delta values as text: the per-file statistics of an `add` (from a Parquet footer) and the
 * partition values and Hive-style partition directories of delta.h.
 *
 * DESIGN: a bound in the statistics is a promise every reader uses to skip files, so a bound is
 * written only when it is known to be right. Each bound comes from the footer's column-chunk
 * statistics, merged over the row groups, and is dropped when any row group lacks it, when the
 * writer says it is not exact (truncated strings), when the column order is not the type's own,
 * when it is not valid UTF-8, or when the type's order differs from Spark's (floats: Parquet
 * leaves NaN out of min/max, Spark orders NaN above everything, so a float max is kept only when
 * the footer counts no NaN). Null counts of lists and maps are not in the footer (a leaf's null
 * count mixes null lists, empty lists and null elements), so they are counted from the column
 * itself.
 *
 * Partition directories escape as Spark's ExternalCatalogUtils.escapePathName (Hive's
 * FileUtils), and the URI form quotes the result as java.net.URI does for a path, which is how
 * Spark's Hadoop Path turns a directory into `add.path`.
 */
#include "storage/delta.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "storage/parquet_format.h"
#include "storage/parquet_reader.h"

/* ---- small text helpers ------------------------------------------------------------------ */

static int buf_puts(sm_buf *b, const char *s, sm_error *err)
{
    return sm_buf_append(b, s, strlen(s), err);
}

static int buf_printf(sm_buf *b, sm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int buf_printf(sm_buf *b, sm_error *err, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return sm_error_set(err, SM_ERR_INTERNAL, "delta: formatted value too long");
    }
    return sm_buf_append(b, tmp, (size_t)n, err);
}

/* Length of the UTF-8 sequence starting at p (at most n bytes), or 0 when it is not valid
 * (overlong forms, surrogates and values past U+10FFFF are invalid). *cp gets the code point. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint32_t c = p[0], min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i, &cp);
        if (k == 0) {
            return false;
        }
        i += k;
    }
    return true;
}

/* ---- numbers ----------------------------------------------------------------------------- */

/* The shortest decimal digits that read back as `x` (a float when `single`): digits without
 * the point in `digits`, and the decimal exponent of the first digit. x is finite, non-zero. */
static void shortest_digits(double x, bool single, char *digits, int *exp10)
{
    char tmp[40];
    int maxp = single ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        bool same = single ? strtof(tmp, NULL) == (float)x : strtod(tmp, NULL) == x;
        if (same || p == maxp) {
            break;
        }
    }
    /* tmp: [-]d[.ddd]e±XX */
    const char *s = tmp[0] == '-' ? tmp + 1 : tmp;
    int n = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s != '.') {
            digits[n++] = *s;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
    *exp10 = atoi(s + 1);
}

/* Formats a float or double as Java's Double.toString / Float.toString does (what Spark writes
 * into partition values and stats): "1.0", "0.001", "1.0E7", "1.5E-4", "NaN", "-Infinity". */
static void format_java_double(double x, bool single, char *out, size_t n)
{
    if (isnan(x)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(x)) {
        snprintf(out, n, "%sInfinity", x < 0 ? "-" : "");
        return;
    }
    if (x == 0) {
        snprintf(out, n, "%s0.0", signbit(x) ? "-" : "");
        return;
    }
    char d[24];
    int e;
    shortest_digits(x, single, d, &e);
    const char *sign = x < 0 ? "-" : "";
    int nd = (int)strlen(d);
    double ax = fabs(x);
    if (ax >= 1e-3 && ax < 1e7) {
        char intpart[24], frac[40];
        if (e >= 0) {
            int ni = e + 1;
            for (int i = 0; i < ni; i++) {
                intpart[i] = i < nd ? d[i] : '0';
            }
            intpart[ni] = '\0';
            if (nd > ni) {
                snprintf(frac, sizeof frac, "%s", d + ni);
            } else {
                snprintf(frac, sizeof frac, "0");
            }
        } else {
            snprintf(intpart, sizeof intpart, "0");
            int z = -e - 1;
            for (int i = 0; i < z; i++) {
                frac[i] = '0';
            }
            snprintf(frac + z, sizeof frac - (size_t)z, "%s", d);
        }
        snprintf(out, n, "%s%s.%s", sign, intpart, frac);
    } else {
        snprintf(out, n, "%s%c.%sE%d", sign, d[0], nd > 1 ? d + 1 : "0", e);
    }
}

/* Unscaled 128-bit integer with `scale` digits after the point, as plain decimal text. */
static void format_decimal(__int128 v, int scale, char *out, size_t n)
{
    char rev[64];
    int len = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        rev[len++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (len <= scale) {
        rev[len++] = '0';
    }
    size_t k = 0;
    if (neg && k + 1 < n) {
        out[k++] = '-';
    }
    for (int i = len - 1; i >= 0 && k + 2 < n; i--) {
        out[k++] = rev[i];
        if (i == scale && scale > 0) {
            out[k++] = '.';
        }
    }
    out[k] = '\0';
}

/* Splits epoch microseconds into a civil date and the microseconds of the day. */
static void split_micros(int64_t us, int64_t *y, unsigned *mo, unsigned *d, int64_t *day_us)
{
    const int64_t per_day = 86400000000LL;
    int64_t days = us / per_day, rem = us % per_day;
    if (rem < 0) {
        rem += per_day;
        days--;
    }
    sm_civil_from_days(days, y, mo, d);
    *day_us = rem;
}

/* ---- partition values -------------------------------------------------------------------- */

static int set_usage(sm_error *err, const sm_column *c, const char *what)
{
    return sm_error_set(err, SM_ERR_USAGE, "partition column %s: %s",
                        c->field && c->field->name ? c->field->name : "?", what);
}

int delta_partition_value(const sm_column *c, int64_t row, sm_buf *out, bool *is_null,
                          sm_error *err)
{
    char tmp[96];
    const sm_field *f = c->field;

    sm_buf_reset(out);
    *is_null = false;
    if (row < 0 || row >= c->length) {
        return sm_error_set(err, SM_ERR_USAGE, "partition column %s: row %lld out of range",
                            f->name, (long long)row);
    }
    if (!sm_column_is_valid(c, row)) {
        *is_null = true;
        return SM_OK;
    }
    switch (f->type) {
    case SM_BOOL:
        return buf_puts(out, ((const uint8_t *)c->values)[row] ? "true" : "false", err);
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
        return buf_printf(out, err, "%" PRId64, sm_column_i64(c, row));
    case SM_UINT64:
        return buf_printf(out, err, "%" PRIu64, sm_column_u64(c, row));
    case SM_FLOAT:
        format_java_double(((const float *)c->values)[row], true, tmp, sizeof tmp);
        return buf_puts(out, tmp, err);
    case SM_DOUBLE:
        format_java_double(((const double *)c->values)[row], false, tmp, sizeof tmp);
        return buf_puts(out, tmp, err);
    case SM_DECIMAL: {
        __int128 v;
        if (f->width == 16) {
            const uint8_t *p = (const uint8_t *)c->values + (size_t)row * 16;
            unsigned __int128 u = 0;
            for (int i = 15; i >= 0; i--) {
                u = (u << 8) | p[i];
            }
            v = (__int128)u;
        } else {
            v = sm_column_i64(c, row);
        }
        format_decimal(v, f->scale, tmp, sizeof tmp);
        return buf_puts(out, tmp, err);
    }
    case SM_DATE: {
        int64_t y;
        unsigned mo, d;
        sm_civil_from_days(sm_column_i64(c, row), &y, &mo, &d);
        return buf_printf(out, err, "%04" PRId64 "-%02u-%02u", y, mo, d);
    }
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US: {
        int64_t v = sm_column_i64(c, row), y, day_us;
        unsigned mo, d;
        if (f->type == SM_TIMESTAMP_MS) {
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000) {
                return set_usage(err, c, "timestamp out of range");
            }
            v *= 1000;
        }
        split_micros(v, &y, &mo, &d, &day_us);
        int64_t secs = day_us / 1000000, frac = day_us % 1000000;
        if (buf_printf(out, err, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", y, mo, d,
                       (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60))) {
            return SM_ERR_NOMEM;
        }
        if (frac) { /* as Spark casts a timestamp to text: trailing zeros dropped */
            int digits = 6;
            while (frac % 10 == 0) {
                frac /= 10;
                digits--;
            }
            return buf_printf(out, err, ".%0*" PRId64, digits, frac);
        }
        return SM_OK;
    }
    case SM_STRING:
    case SM_JSON:
    case SM_BINARY:
    case SM_FIXED_BINARY: {
        const uint8_t *p;
        size_t n;
        if (f->type == SM_FIXED_BINARY) {
            n = (size_t)f->width;
            p = (const uint8_t *)c->values + (size_t)row * n;
        } else {
            p = c->data + c->offsets[row];
            n = (size_t)(c->offsets[row + 1] - c->offsets[row]);
        }
        if (n == 0) { /* the protocol: an empty string is a null partition value */
            *is_null = true;
            return SM_OK;
        }
        if (memchr(p, 0, n)) {
            return set_usage(err, c, "a partition value cannot hold a NUL byte");
        }
        if (f->type == SM_STRING || f->type == SM_JSON) {
            if (!utf8_valid(p, n)) {
                return set_usage(err, c, "value is not valid UTF-8");
            }
            return sm_buf_append(out, p, n, err);
        }
        /* binary: each byte as the character of that code (U+0000..U+00FF), the protocol's
         * "string of escaped binary values"; ASCII bytes stay themselves */
        for (size_t i = 0; i < n; i++) {
            uint8_t b = p[i];
            int rc = b < 0x80 ? sm_buf_append_byte(out, b, err)
                              : sm_buf_append_byte(out, (uint8_t)(0xc0 | (b >> 6)), err) ||
                                    sm_buf_append_byte(out, (uint8_t)(0x80 | (b & 0x3f)), err);
            if (rc) {
                return SM_ERR_NOMEM;
            }
        }
        return SM_OK;
    }
    default:
        return set_usage(err, c, "a nested column cannot be a partition column");
    }
}

/* Hive's escapePathName set: control characters and "#%'*\/:=?\\\x7f{[]^. */
static bool hive_escapes(uint8_t c)
{
    return (c >= 0x01 && c <= 0x1f) || c == 0x7f || (c && strchr("\"#%'*/:=?\\{[]^", c));
}

static int hive_escape(sm_buf *b, const char *s, sm_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        if (hive_escapes(*p)) {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (sm_buf_append(b, e, 3, err)) {
                return SM_ERR_NOMEM;
            }
        } else if (sm_buf_append_byte(b, *p, err)) {
            return SM_ERR_NOMEM;
        }
    }
    return SM_OK;
}

/* Characters java.net.URI leaves alone in a path: unreserved, ";:@&=+$," and "/". */
static bool uri_path_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-_.!~*'();:@&=+$,/", c));
}

/* Unicode space separators and C1 controls, which java.net.URI quotes although they are not
 * ASCII (Character.isSpaceChar / isISOControl). */
static bool uri_quotes_unicode(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

static int uri_quote(sm_buf *b, const uint8_t *s, size_t n, sm_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i, &cp);
        bool quote;
        if (s[i] < 0x80) {
            quote = !uri_path_char(s[i]);
        } else if (k == 0) {
            k = 1, quote = true; /* not UTF-8: keep the path ASCII and exact */
        } else {
            quote = uri_quotes_unicode(cp);
        }
        for (size_t j = 0; j < k; j++) {
            uint8_t c = s[i + j];
            if (quote) {
                char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                if (sm_buf_append(b, e, 3, err)) {
                    return SM_ERR_NOMEM;
                }
            } else if (sm_buf_append_byte(b, c, err)) {
                return SM_ERR_NOMEM;
            }
        }
        i += k;
    }
    return SM_OK;
}

int delta_partition_dir(const delta_kv *values, int n, bool uri, sm_buf *out, sm_error *err)
{
    sm_buf seg = SM_BUF_INIT;
    int rc = SM_OK;
    for (int i = 0; i < n && rc == SM_OK; i++) {
        const char *v = values[i].value;
        if (!values[i].key || !*values[i].key) {
            rc = sm_error_set(err, SM_ERR_USAGE, "partition directory: empty column name");
            break;
        }
        sm_buf_reset(&seg);
        if ((rc = hive_escape(&seg, values[i].key, err)) || (rc = buf_puts(&seg, "=", err))) {
            break;
        }
        if (!v || !*v) {
            rc = buf_puts(&seg, "__HIVE_DEFAULT_PARTITION__", err);
        } else {
            rc = hive_escape(&seg, v, err);
        }
        if (rc || (rc = sm_buf_append_byte(&seg, '/', err))) {
            break;
        }
        rc = uri ? uri_quote(out, seg.data, seg.len, err)
                 : sm_buf_append(out, seg.data, seg.len, err);
    }
    sm_buf_free(&seg);
    return rc;
}

/* ---- statistics -------------------------------------------------------------------------- */

typedef enum vkind {
    VK_NONE = 0, /* null count only */
    VK_INT,      /* signed integer in int64 */
    VK_UINT,     /* unsigned integer in uint64 */
    VK_FLOAT,
    VK_DOUBLE,
    VK_DECIMAL, /* unscaled in int128, `scale` */
    VK_STRING,
    VK_DATE,
    VK_TS, /* int64 in `unit`, `utc` */
} vkind;

typedef union value {
    int64_t i;
    uint64_t u;
    double d;
    __int128 dec;
    pf_bytes s;
} value;

/* A min (lo) or max (hi) being merged over row groups. */
typedef struct bound {
    bool bad;          /* some chunk's bound is unknown: no bound */
    bool has_e, has_i; /* exact and inexact candidates seen */
    value e, i;
} bound;

typedef struct snode {
    const char *name;
    enum { N_LEAF, N_STRUCT, N_COLLECTION } kind;
    bool optional;
    /* N_STRUCT */
    struct snode *children;
    int n_children;
    /* N_LEAF */
    int leaf;
    const pf_schema_element *e;
    vkind vk;
    int scale, unit;
    bool utc;
    bool nulls_ok;
    int64_t nulls;
    bound lo, hi;
    /* N_COLLECTION: nulls counted from the data; the path of child indices from the top */
    int path[16];
    int depth;
} snode;

typedef struct stats_ctx {
    const char *path;
    pq_reader *r;
    const pf_file_metadata *md;
    sm_arena *arena;
    int next_elem, next_leaf;
} stats_ctx;

static bool is_collection(const pf_schema_element *e)
{
    if (e->has_repetition_type && e->repetition_type == PF_REPEATED) {
        return true;
    }
    if (e->logical_type.kind == PF_LT_LIST || e->logical_type.kind == PF_LT_MAP) {
        return true;
    }
    return e->has_converted_type &&
           (e->converted_type == PF_CT_LIST || e->converted_type == PF_CT_MAP ||
            e->converted_type == PF_CT_MAP_KEY_VALUE);
}

/* Skips the subtree at md->schema[ctx->next_elem], counting its leaves. */
static int skip_subtree(stats_ctx *ctx, sm_error *err)
{
    if (ctx->next_elem >= ctx->md->n_schema) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: footer schema ends early", ctx->path);
    }
    const pf_schema_element *e = &ctx->md->schema[ctx->next_elem++];
    if (!e->has_num_children || e->num_children == 0) {
        ctx->next_leaf++;
        return SM_OK;
    }
    for (int i = 0; i < e->num_children; i++) {
        if (skip_subtree(ctx, err)) {
            return err ? err->code : SM_ERR_CORRUPT;
        }
    }
    return SM_OK;
}

/* The kind of bounds a leaf gets, by its physical and logical type. */
static void leaf_kind(snode *n)
{
    const pf_schema_element *e = n->e;
    const pf_logical_type *lt = &e->logical_type;
    int ct = e->has_converted_type ? e->converted_type : -1;
    n->vk = VK_NONE;
    switch (e->type) {
    case PF_TYPE_INT32:
    case PF_TYPE_INT64:
        if (lt->kind == PF_LT_DECIMAL || (lt->kind == PF_LT_NONE && ct == PF_CT_DECIMAL)) {
            n->vk = VK_DECIMAL;
            n->scale = lt->kind == PF_LT_DECIMAL ? lt->scale : e->scale;
        } else if (lt->kind == PF_LT_DATE || (lt->kind == PF_LT_NONE && ct == PF_CT_DATE)) {
            n->vk = e->type == PF_TYPE_INT32 ? VK_DATE : VK_NONE;
        } else if (lt->kind == PF_LT_TIMESTAMP) {
            n->vk = e->type == PF_TYPE_INT64 ? VK_TS : VK_NONE;
            n->unit = lt->unit;
            n->utc = lt->is_adjusted_to_utc;
        } else if (lt->kind == PF_LT_NONE &&
                   (ct == PF_CT_TIMESTAMP_MILLIS || ct == PF_CT_TIMESTAMP_MICROS)) {
            n->vk = e->type == PF_TYPE_INT64 ? VK_TS : VK_NONE;
            n->unit = ct == PF_CT_TIMESTAMP_MILLIS ? PF_UNIT_MILLIS : PF_UNIT_MICROS;
            n->utc = true;
        } else if (lt->kind == PF_LT_INTEGER) {
            n->vk = lt->is_signed ? VK_INT : VK_UINT;
        } else if (lt->kind == PF_LT_NONE && (ct == PF_CT_UINT_8 || ct == PF_CT_UINT_16 ||
                                              ct == PF_CT_UINT_32 || ct == PF_CT_UINT_64)) {
            n->vk = VK_UINT;
        } else if (lt->kind == PF_LT_NONE && (ct == -1 || ct == PF_CT_INT_8 || ct == PF_CT_INT_16 ||
                                              ct == PF_CT_INT_32 || ct == PF_CT_INT_64)) {
            n->vk = VK_INT;
        } /* TIME and others: no bounds */
        break;
    case PF_TYPE_FLOAT:
        n->vk = lt->kind == PF_LT_NONE ? VK_FLOAT : VK_NONE;
        break;
    case PF_TYPE_DOUBLE:
        n->vk = lt->kind == PF_LT_NONE ? VK_DOUBLE : VK_NONE;
        break;
    case PF_TYPE_BYTE_ARRAY:
    case PF_TYPE_FIXED_LEN_BYTE_ARRAY:
        if (lt->kind == PF_LT_DECIMAL || (lt->kind == PF_LT_NONE && ct == PF_CT_DECIMAL)) {
            n->vk = VK_DECIMAL;
            n->scale = lt->kind == PF_LT_DECIMAL ? lt->scale : e->scale;
        } else if (e->type == PF_TYPE_BYTE_ARRAY &&
                   (lt->kind == PF_LT_STRING || lt->kind == PF_LT_ENUM || lt->kind == PF_LT_JSON ||
                    (lt->kind == PF_LT_NONE &&
                     (ct == PF_CT_UTF8 || ct == PF_CT_ENUM || ct == PF_CT_JSON)))) {
            n->vk = VK_STRING;
        }
        break;
    default: /* BOOLEAN, INT96: null count only */
        break;
    }
}

static int build_nodes(stats_ctx *ctx, snode *parent, int n_children, int *path, int depth,
                       sm_error *err);

static int build_node(stats_ctx *ctx, snode *n, int *path, int depth, sm_error *err)
{
    if (ctx->next_elem >= ctx->md->n_schema) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: footer schema ends early", ctx->path);
    }
    const pf_schema_element *e = &ctx->md->schema[ctx->next_elem];
    n->name = e->name;
    n->optional = !e->has_repetition_type || e->repetition_type != PF_REQUIRED;
    if (depth >= (int)(sizeof n->path / sizeof n->path[0])) {
        n->kind = N_COLLECTION; /* too deep to walk: treated as opaque, null count only */
        n->depth = -1;
        return skip_subtree(ctx, err);
    }
    if (is_collection(e)) {
        n->kind = N_COLLECTION;
        memcpy(n->path, path, sizeof(int) * (size_t)depth);
        n->depth = depth;
        n->optional = !(e->has_repetition_type && e->repetition_type == PF_REQUIRED);
        return skip_subtree(ctx, err);
    }
    if (e->has_num_children && e->num_children > 0) {
        ctx->next_elem++;
        n->kind = N_STRUCT;
        n->n_children = e->num_children;
        n->children = sm_arena_calloc(ctx->arena, sizeof(snode) * (size_t)e->num_children);
        if (!n->children) {
            return sm_error_set(err, SM_ERR_NOMEM, "%s: stats: out of memory", ctx->path);
        }
        return build_nodes(ctx, n, e->num_children, path, depth, err);
    }
    ctx->next_elem++;
    n->kind = N_LEAF;
    n->e = e;
    n->leaf = ctx->next_leaf++;
    n->nulls_ok = true;
    leaf_kind(n);
    return SM_OK;
}

static int build_nodes(stats_ctx *ctx, snode *parent, int n_children, int *path, int depth,
                       sm_error *err)
{
    for (int i = 0; i < n_children; i++) {
        path[depth] = i;
        if (build_node(ctx, &parent->children[i], path, depth + 1, err)) {
            return err ? err->code : SM_ERR_CORRUPT;
        }
    }
    return SM_OK;
}

/* Decodes a statistics value of leaf n; false when it has the wrong size or cannot be used. */
static bool decode_value(const snode *n, pf_bytes b, value *v)
{
    switch (n->vk) {
    case VK_INT:
    case VK_UINT:
    case VK_DATE:
    case VK_TS:
        if (n->e->type == PF_TYPE_INT32) {
            uint32_t x;
            if (b.len != 4) {
                return false;
            }
            memcpy(&x, b.ptr, 4);
            if (n->vk == VK_UINT) {
                v->u = x;
            } else {
                v->i = (int32_t)x;
            }
        } else {
            uint64_t x;
            if (b.len != 8) {
                return false;
            }
            memcpy(&x, b.ptr, 8);
            if (n->vk == VK_UINT) {
                v->u = x;
            } else {
                v->i = (int64_t)x;
            }
        }
        return true;
    case VK_FLOAT: {
        float x;
        if (b.len != 4) {
            return false;
        }
        memcpy(&x, b.ptr, 4);
        v->d = x;
        return !isnan(v->d);
    }
    case VK_DOUBLE:
        if (b.len != 8) {
            return false;
        }
        memcpy(&v->d, b.ptr, 8);
        return !isnan(v->d);
    case VK_DECIMAL:
        if (n->e->type == PF_TYPE_INT32 || n->e->type == PF_TYPE_INT64) {
            if (b.len == 4) {
                int32_t x;
                memcpy(&x, b.ptr, 4);
                v->dec = x;
            } else if (b.len == 8) {
                int64_t x;
                memcpy(&x, b.ptr, 8);
                v->dec = x;
            } else {
                return false;
            }
        } else { /* big-endian two's complement */
            if (b.len == 0 || b.len > 16) {
                return false;
            }
            unsigned __int128 u = (b.ptr[0] & 0x80) ? ~(unsigned __int128)0 : 0;
            for (size_t i = 0; i < b.len; i++) {
                u = (u << 8) | b.ptr[i];
            }
            v->dec = (__int128)u;
        }
        return true;
    case VK_STRING:
        v->s = b; /* checked for UTF-8 when written: only the final bound has to be */
        return true;
    default:
        return false;
    }
}

static int cmp_value(const snode *n, const value *a, const value *b)
{
    switch (n->vk) {
    case VK_UINT:
        return (a->u > b->u) - (a->u < b->u);
    case VK_FLOAT:
    case VK_DOUBLE:
        return (a->d > b->d) - (a->d < b->d);
    case VK_DECIMAL:
        return (a->dec > b->dec) - (a->dec < b->dec);
    case VK_STRING: {
        size_t m = a->s.len < b->s.len ? a->s.len : b->s.len;
        int c = m ? memcmp(a->s.ptr, b->s.ptr, m) : 0;
        return c ? c : (a->s.len > b->s.len) - (a->s.len < b->s.len);
    }
    default:
        return (a->i > b->i) - (a->i < b->i);
    }
}

/* Folds one candidate bound into b: exact values are the chunk's own min or max, inexact ones
 * only bound it (a truncated string). `lower` for mins. */
static void fold_bound(const snode *n, bound *b, const value *v, bool exact, bool lower)
{
    value *cur = exact ? &b->e : &b->i;
    bool *has = exact ? &b->has_e : &b->has_i;
    if (!*has || (lower ? cmp_value(n, v, cur) < 0 : cmp_value(n, v, cur) > 0)) {
        *cur = *v;
    }
    *has = true;
}

/* Folds one row group's chunk statistics into leaf n. */
static void merge_chunk(const stats_ctx *ctx, snode *n, const pf_row_group *rg)
{
    const pf_column_chunk *cc = n->leaf < rg->n_columns ? &rg->columns[n->leaf] : NULL;
    const pf_column_meta_data *m = cc ? cc->meta_data : NULL;
    const pf_statistics *s = m && m->has_statistics ? &m->statistics : NULL;

    if (!s || !s->has_null_count) {
        n->nulls_ok = false;
    } else {
        n->nulls += s->null_count;
    }
    if (n->vk == VK_NONE) {
        return;
    }
    bool order_ok = true;
    if (ctx->md->n_column_orders > n->leaf &&
        ctx->md->column_orders[n->leaf] != PF_ORDER_TYPE_DEFINED) {
        order_ok = false;
    }
    pf_bytes bmin = {0}, bmax = {0};
    bool has_min = false, has_max = false, min_exact = true, max_exact = true;
    if (s && order_ok) {
        if (s->has_min_value) {
            bmin = s->min_value, has_min = true;
            min_exact = !(s->has_is_min_value_exact && !s->is_min_value_exact);
        }
        if (s->has_max_value) {
            bmax = s->max_value, has_max = true;
            max_exact = !(s->has_is_max_value_exact && !s->is_max_value_exact);
        }
        /* The deprecated min/max are in signed order: right for signed numbers only. */
        bool signed_ok =
            (n->vk == VK_INT || n->vk == VK_DATE || n->vk == VK_TS || n->vk == VK_FLOAT ||
             n->vk == VK_DOUBLE ||
             (n->vk == VK_DECIMAL && (n->e->type == PF_TYPE_INT32 || n->e->type == PF_TYPE_INT64)));
        if (signed_ok && !s->has_min_value && !s->has_max_value && s->has_min && s->has_max) {
            bmin = s->min, bmax = s->max, has_min = has_max = true;
        }
    }
    if (n->vk == VK_FLOAT || n->vk == VK_DOUBLE) {
        /* Spark orders NaN above every number; Parquet leaves NaN out of the max */
        if (!s || !s->has_nan_count || s->nan_count != 0) {
            n->hi.bad = true;
        }
    }
    if (!has_min && !has_max) {
        /* a chunk that is all nulls has no bounds and needs none */
        bool all_null = s && s->has_null_count && m && s->null_count == m->num_values;
        if (!all_null) {
            n->lo.bad = n->hi.bad = true;
        }
        return;
    }
    value v;
    if (has_min && decode_value(n, bmin, &v)) {
        fold_bound(n, &n->lo, &v, min_exact, true);
    } else {
        n->lo.bad = true;
    }
    if (has_max && decode_value(n, bmax, &v)) {
        fold_bound(n, &n->hi, &v, max_exact, false);
    } else {
        n->hi.bad = true;
    }
}

/* The final bound: the extreme exact value, unless a chunk's inexact bound leaves room for
 * a value beyond it. */
static const value *final_bound(const snode *n, const bound *b, bool lower)
{
    if (b->bad || !b->has_e) {
        return NULL;
    }
    if (b->has_i && (lower ? cmp_value(n, &b->i, &b->e) < 0 : cmp_value(n, &b->i, &b->e) > 0)) {
        return NULL;
    }
    return &b->e;
}

static void merge_tree(const stats_ctx *ctx, snode *n, const pf_row_group *rg)
{
    if (n->kind == N_LEAF) {
        merge_chunk(ctx, n, rg);
    } else if (n->kind == N_STRUCT) {
        for (int i = 0; i < n->n_children; i++) {
            merge_tree(ctx, &n->children[i], rg);
        }
    }
}

/* Null count of a list or map: rows where it, or a struct around it, is null. */
static int count_collection_nulls(stats_ctx *ctx, snode *n, sm_error *err)
{
    n->nulls = 0;
    n->nulls_ok = true;
    if (n->depth < 0) {
        n->nulls_ok = false;
        return SM_OK;
    }
    int col = n->path[0];
    for (int rg = 0; rg < pq_reader_num_row_groups(ctx->r); rg++) {
        sm_column *batch;
        sm_arena_reset(ctx->arena);
        if (pq_reader_read_row_group(ctx->r, rg, &col, 1, ctx->arena, &batch, err)) {
            return err ? err->code : SM_ERR_CORRUPT;
        }
        const sm_column *chain[16];
        int depth = 0;
        const sm_column *c = batch->children[0];
        chain[depth++] = c;
        for (int k = 1; k < n->depth; k++) {
            if (c->field->type != SM_STRUCT || n->path[k] >= c->field->n_children) {
                n->nulls_ok = false; /* the reader's shape differs: do not guess */
                return SM_OK;
            }
            c = c->children[n->path[k]];
            chain[depth++] = c;
        }
        for (int64_t i = 0; i < batch->length; i++) {
            for (int k = 0; k < depth; k++) {
                if (!sm_column_is_valid(chain[k], i)) {
                    n->nulls++;
                    break;
                }
            }
        }
    }
    return SM_OK;
}

/* Collections need the rows; the tree is built before any column is read, because reading
 * resets the arena the rows live in (the tree lives in a separate arena). */
static int count_collections(stats_ctx *ctx, snode *n, sm_error *err)
{
    if (n->kind == N_COLLECTION) {
        bool all_required = !n->optional;
        if (all_required && n->depth > 0) {
            /* a required collection inside optional structs can still be null */
            all_required = false;
        }
        if (all_required) {
            n->nulls = 0;
            n->nulls_ok = true;
            return SM_OK;
        }
        return count_collection_nulls(ctx, n, err);
    }
    if (n->kind == N_STRUCT) {
        for (int i = 0; i < n->n_children; i++) {
            if (count_collections(ctx, &n->children[i], err)) {
                return err ? err->code : SM_ERR_CORRUPT;
            }
        }
    }
    return SM_OK;
}

/* Appends the JSON of one bound of leaf n; false when it cannot be written (out of range). */
static int emit_value(const snode *n, const value *v, bool is_max, sm_buf *b, bool *written,
                      sm_error *err)
{
    char tmp[96];
    *written = false;
    switch (n->vk) {
    case VK_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, v->i);
        break;
    case VK_UINT:
        snprintf(tmp, sizeof tmp, "%" PRIu64, v->u);
        break;
    case VK_FLOAT:
    case VK_DOUBLE:
        if (!isfinite(v->d)) {
            return SM_OK;
        }
        format_java_double(v->d, n->vk == VK_FLOAT, tmp, sizeof tmp);
        break;
    case VK_DECIMAL:
        format_decimal(v->dec, n->scale, tmp, sizeof tmp);
        break;
    case VK_STRING:
        if (!utf8_valid(v->s.ptr, v->s.len)) {
            return SM_OK;
        }
        *written = true;
        return sm_buf_append_json_string(b, v->s.ptr, v->s.len, err);
    case VK_DATE: {
        int64_t y;
        unsigned mo, d;
        sm_civil_from_days(v->i, &y, &mo, &d);
        if (y < 0 || y > 9999) {
            return SM_OK;
        }
        snprintf(tmp, sizeof tmp, "\"%04d-%02u-%02u\"", (int)y, mo, d);
        break;
    }
    case VK_TS: {
        int64_t us = v->i, y, day_us;
        unsigned mo, d;
        if (n->unit == PF_UNIT_MILLIS) {
            if (us > INT64_MAX / 1000 || us < INT64_MIN / 1000) {
                return SM_OK;
            }
            us *= 1000;
        } else if (n->unit == PF_UNIT_NANOS) {
            /* to microseconds, rounding outwards so the bound still holds */
            int64_t q = us / 1000, r = us % 1000;
            if (r < 0) {
                q--, r += 1000;
            }
            us = q + (is_max && r ? 1 : 0);
        } else if (n->unit != PF_UNIT_MICROS) {
            return SM_OK;
        }
        split_micros(us, &y, &mo, &d, &day_us);
        if (y < 0 || y > 9999) {
            return SM_OK;
        }
        int64_t secs = day_us / 1000000;
        snprintf(tmp, sizeof tmp, "\"%04d-%02u-%02uT%02d:%02d:%02d.%06d%s\"", (int)y, mo, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 (int)(day_us % 1000000), n->utc ? "Z" : "");
        break;
    }
    default:
        return SM_OK;
    }
    *written = true;
    return buf_puts(b, tmp, err);
}

enum { W_MIN, W_MAX, W_NULLS };

/* Appends `"name":value` members for the children of a struct node; *count gets how many. */
static int emit_members(const snode *parent, int which, sm_buf *b, int *count, sm_error *err)
{
    *count = 0;
    for (int i = 0; i < parent->n_children; i++) {
        const snode *n = &parent->children[i];
        size_t mark = b->len;
        bool written = false;
        if ((*count && sm_buf_append_byte(b, ',', err)) ||
            sm_buf_append_json_string(b, (const uint8_t *)n->name, strlen(n->name), err) ||
            sm_buf_append_byte(b, ':', err)) {
            return SM_ERR_NOMEM;
        }
        if (n->kind == N_STRUCT) {
            int inner;
            if (sm_buf_append_byte(b, '{', err) || emit_members(n, which, b, &inner, err) ||
                sm_buf_append_byte(b, '}', err)) {
                return SM_ERR_NOMEM;
            }
            written = inner > 0 || which == W_NULLS;
        } else if (which == W_NULLS) {
            if (n->nulls_ok) {
                if (buf_printf(b, err, "%" PRId64, n->nulls)) {
                    return SM_ERR_NOMEM;
                }
                written = true;
            }
        } else if (n->kind == N_LEAF) {
            bool lower = which == W_MIN;
            const value *v = final_bound(n, lower ? &n->lo : &n->hi, lower);
            if (v && emit_value(n, v, !lower, b, &written, err)) {
                return SM_ERR_NOMEM;
            }
        }
        if (written) {
            (*count)++;
        } else {
            b->len = mark;
        }
    }
    return SM_OK;
}

int delta_stats_from_parquet(const char *parquet_path, sm_buf *out, sm_error *err)
{
    stats_ctx ctx = {.path = parquet_path};
    sm_arena *tree = NULL;
    snode root = {0};
    int path[16];
    int rc;

    if ((rc = pq_reader_open(parquet_path, &ctx.r, err))) {
        return rc;
    }
    ctx.md = pq_reader_metadata(ctx.r);
    if (!(tree = sm_arena_create(0, 0)) || !(ctx.arena = sm_arena_create(0, 0))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: stats: out of memory", parquet_path);
        goto done;
    }
    if (ctx.md->n_schema < 1) {
        rc = sm_error_set(err, SM_ERR_CORRUPT, "%s: footer has no schema", parquet_path);
        goto done;
    }
    /* the tree of columns, from the footer's schema (names as in the file) */
    {
        const pf_schema_element *e = &ctx.md->schema[0];
        stats_ctx *c = &ctx;
        sm_arena *keep = c->arena;
        c->arena = tree;
        c->next_elem = 1;
        root.kind = N_STRUCT;
        root.n_children = e->has_num_children ? e->num_children : 0;
        root.children = sm_arena_calloc(tree, sizeof(snode) * (size_t)(root.n_children + 1));
        if (!root.children) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "%s: stats: out of memory", parquet_path);
            goto done;
        }
        rc = build_nodes(c, &root, root.n_children, path, 0, err);
        c->arena = keep;
        if (rc) {
            goto done;
        }
    }
    for (int g = 0; g < ctx.md->n_row_groups; g++) {
        const pf_row_group *rg = &ctx.md->row_groups[g];
        if (rg->n_columns != ctx.next_leaf) {
            rc = sm_error_set(err, SM_ERR_CORRUPT,
                              "%s: row group %d has %d column chunks, the schema %d leaves",
                              parquet_path, g, rg->n_columns, ctx.next_leaf);
            goto done;
        }
        merge_tree(&ctx, &root, rg);
    }
    if ((rc = count_collections(&ctx, &root, err))) {
        goto done;
    }

    sm_buf_reset(out);
    {
        int n;
        if ((rc = buf_printf(out, err, "{\"numRecords\":%" PRId64 ",\"minValues\":{",
                             pq_reader_num_rows(ctx.r))) ||
            (rc = emit_members(&root, W_MIN, out, &n, err)) ||
            (rc = buf_puts(out, "},\"maxValues\":{", err)) ||
            (rc = emit_members(&root, W_MAX, out, &n, err)) ||
            (rc = buf_puts(out, "},\"nullCount\":{", err)) ||
            (rc = emit_members(&root, W_NULLS, out, &n, err)) || (rc = buf_puts(out, "}}", err))) {
            goto done;
        }
    }

done:
    sm_arena_destroy(tree);
    sm_arena_destroy(ctx.arena);
    pq_reader_close(ctx.r);
    return rc;
}

int delta_add_from_writer(pq_writer *w, const char *local, const char *path, sm_arena *a,
                          delta_file *add, pq_file_info *info, sm_error *err)
{
    sm_buf stats = SM_BUF_INIT;
    int rc;
    if ((rc = pq_writer_close(w, info, err)) != SM_OK) {
        unlink(local); /* complete but perhaps not durable: not used */
        return rc;
    }
    if ((rc = delta_stats_from_parquet(local, &stats, err)) != SM_OK ||
        (rc = sm_buf_append_byte(&stats, '\0', err)) != SM_OK) {
        sm_buf_free(&stats);
        unlink(local);
        return rc;
    }
    memset(add, 0, sizeof *add);
    add->path = path;
    add->size = info->file_size;
    add->modification_time = sm_wall_ms();
    add->data_change = true;
    add->stats = sm_arena_strdup(a, (const char *)stats.data);
    sm_buf_free(&stats);
    if (!add->stats) {
        unlink(local);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return SM_OK;
}
