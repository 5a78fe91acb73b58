/*
 * Expression language, second half: the vectorised evaluator. Every node computes one vector of
 * results (values + a NULL byte per row) for all selected rows, with a tight loop per operator
 * and type; nothing is interpreted per row (see expr.h).
 */
#include "stream/expr.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/options.h"
#include "stream/expr_node.h"

/* ---- dates and text ------------------------------------------------------------------------ */

int sm_expr_parse_date(const char *s, size_t len, int64_t *days)
{
    while (len && isspace((unsigned char)*s)) {
        s++, len--;
    }
    while (len && isspace((unsigned char)s[len - 1])) {
        len--;
    }
    int y, m, d, n = 0;
    char buf[32];
    if (len == 0 || len >= sizeof buf) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = 0;
    if (sscanf(buf, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || (size_t)n != len || m < 1 || m > 12 ||
        d < 1 || d > 31) {
        return -1;
    }
    int64_t v = sm_days_from_civil(y, (unsigned)m, (unsigned)d);
    int64_t yy;
    unsigned mm, dd;
    sm_civil_from_days(v, &yy, &mm, &dd);
    if (mm != (unsigned)m || dd != (unsigned)d) {
        return -1; /* 2023-02-30 */
    }
    *days = v;
    return 0;
}

/* Timestamps with up to microseconds: the ms parser does the calendar, we keep digits 4..6. */
int sm_expr_parse_ts(const char *s, size_t len, int64_t *us)
{
    while (len && isspace((unsigned char)*s)) {
        s++, len--;
    }
    while (len && isspace((unsigned char)s[len - 1])) {
        len--;
    }
    int64_t ms;
    if (len >= 10) {
        int64_t days;
        if (sm_expr_parse_date(s, 10, &days) != 0) {
            return -1;
        }
    }
    if (sm_parse_iso8601_ms(s, len, &ms) != 0) {
        return -1;
    }
    int64_t extra = 0;
    const char *dot = memchr(s, '.', len);
    if (dot) {
        const char *q = dot + 1;
        int k = 0;
        while (q < s + len && isdigit((unsigned char)*q)) {
            if (k >= 3 && k < 6) {
                extra = extra * 10 + (*q - '0');
            }
            k++, q++;
        }
        for (int j = k < 6 ? (k > 3 ? k : 3) : 6; j < 6; j++) {
            extra *= 10;
        }
    }
    *us = ms * 1000 + extra; /* ms is floored: the sub-ms digits always add */
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int format_date(int64_t days, char *buf, size_t n)
{
    int64_t y;
    unsigned m, d;
    sm_civil_from_days(days, &y, &m, &d);
    return snprintf(buf, n, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static int format_ts(int64_t us, char *buf, size_t n)
{
    int64_t days = floordiv(us, 86400000000LL);
    int64_t rem = us - days * 86400000000LL;
    int len = format_date(days, buf, n);
    int64_t sec = rem / 1000000, frac = rem % 1000000;
    len += snprintf(buf + len, n - (size_t)len, " %02d:%02d:%02d", (int)(sec / 3600),
                    (int)(sec / 60 % 60), (int)(sec % 60));
    if (frac) {
        len += snprintf(buf + len, n - (size_t)len, ".%06d", (int)frac);
        while (buf[len - 1] == '0') {
            buf[--len] = 0;
        }
    }
    return len;
}

/* bytes of the UTF-8 sequence starting with c (1 for stray bytes) */
static int u8len(unsigned char c)
{
    return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

static int64_t u8count(const char *s, int32_t n)
{
    int64_t c = 0;
    for (int32_t i = 0; i < n; c++) {
        i += u8len((unsigned char)s[i]);
    }
    return c;
}

/* SQL LIKE: % any run, _ one character, esc makes the next character literal. */
static bool like_match(const char *s, const char *se, const char *p, const char *pe, char esc)
{
    const char *star_p = NULL, *star_s = NULL;
    while (s < se) {
        if (p < pe && *p == '%') {
            while (p < pe && *p == '%') {
                p++;
            }
            star_p = p;
            star_s = s;
            continue;
        }
        if (p < pe) {
            if (*p == '_') {
                s += u8len((unsigned char)*s);
                p++;
                continue;
            }
            const char *lit = p;
            if (*p == esc && p + 1 < pe) {
                lit = p + 1;
            }
            int l = u8len((unsigned char)*lit);
            if (lit + l <= pe && s + l <= se && memcmp(s, lit, (size_t)l) == 0) {
                s += l;
                p = lit + l;
                continue;
            }
        }
        if (!star_p) {
            return false;
        }
        star_s += u8len((unsigned char)*star_s);
        s = star_s;
        p = star_p;
    }
    while (p < pe && *p == '%') {
        p++;
    }
    return p == pe;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

typedef struct vec {
    etype t;
    uint8_t *nul; /* 1 = NULL */
    int64_t *i;   /* BOOL INT DATE TS */
    double *d;    /* DOUBLE */
    const char **sp;
    int32_t *sl;
} vec;

typedef struct ev {
    const sm_column *batch;
    const sm_expr_ctx *ctx;
    const int64_t *sel;
    int64_t n;
    sm_arena *arena;
    sm_error *err;
} ev;

static int vec_alloc(ev *c, vec *v, etype t)
{
    size_t n = (size_t)(c->n ? c->n : 1);
    v->t = t;
    v->nul = sm_arena_calloc(c->arena, n);
    v->i = NULL;
    v->d = NULL;
    v->sp = NULL;
    v->sl = NULL;
    if (t == E_DOUBLE) {
        v->d = sm_arena_alloc(c->arena, n * sizeof(double));
    } else if (t == E_STRING) {
        v->sp = sm_arena_alloc(c->arena, n * sizeof(char *));
        v->sl = sm_arena_alloc(c->arena, n * sizeof(int32_t));
    } else {
        v->i = sm_arena_alloc(c->arena, n * sizeof(int64_t));
    }
    if (!v->nul || (t == E_DOUBLE ? !v->d : t == E_STRING ? (!v->sp || !v->sl) : !v->i)) {
        return sm_error_set(c->err, SM_ERR_NOMEM,
                            "expression evaluation: arena exhausted (%" PRId64 " rows)", c->n);
    }
    return 0;
}

static char *scratch(ev *c, size_t n)
{
    char *p = sm_arena_alloc(c->arena, n ? n : 1);
    if (!p) {
        sm_error_set(c->err, SM_ERR_NOMEM, "expression evaluation: arena exhausted");
    }
    return p;
}

static int eval(ev *c, const node *x, vec *out);

static int eval_col(ev *c, const node *x, vec *v)
{
    if (vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    const sm_column *col = c->batch;
    for (int d = 0; d < x->depth; d++) {
        const sm_column *child = col->children[x->path[d]];
        if (d > 0 && col->validity) { /* a NULL struct makes its fields NULL */
            for (int64_t k = 0; k < c->n; k++) {
                int64_t r = c->sel ? c->sel[k] : k;
                v->nul[k] |= !sm_column_is_valid(col, r);
            }
        }
        col = child;
    }
    if (col->validity) {
        for (int64_t k = 0; k < c->n; k++) {
            int64_t r = c->sel ? c->sel[k] : k;
            v->nul[k] |= !sm_column_is_valid(col, r);
        }
    }
    const sm_field *f = x->field;
    switch (f->type) {
    case SM_BOOL: {
        const uint8_t *b = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            v->i[k] = b[c->sel ? c->sel[k] : k] != 0;
        }
        break;
    }
    case SM_INT32: {
        const int32_t *a = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            v->i[k] = a[c->sel ? c->sel[k] : k];
        }
        break;
    }
    case SM_INT64: {
        const int64_t *a = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            v->i[k] = a[c->sel ? c->sel[k] : k];
        }
        break;
    }
    case SM_UINT64: {
        const uint64_t *a = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            uint64_t u = a[c->sel ? c->sel[k] : k];
            v->i[k] = u > INT64_MAX ? 0 : (int64_t)u;
            v->nul[k] |= u > INT64_MAX;
        }
        break;
    }
    case SM_FLOAT: {
        const float *a = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            v->d[k] = a[c->sel ? c->sel[k] : k];
        }
        break;
    }
    case SM_DOUBLE: {
        const double *a = col->values;
        for (int64_t k = 0; k < c->n; k++) {
            v->d[k] = a[c->sel ? c->sel[k] : k];
        }
        break;
    }
    case SM_DECIMAL: {
        double div = pow(10.0, f->scale);
        for (int64_t k = 0; k < c->n; k++) {
            v->d[k] = (double)sm_column_i64(col, c->sel ? c->sel[k] : k) / div;
        }
        break;
    }
    case SM_STRING:
    case SM_JSON:
        for (int64_t k = 0; k < c->n; k++) {
            int64_t r = c->sel ? c->sel[k] : k;
            v->sp[k] = (const char *)col->data + col->offsets[r];
            v->sl[k] = col->offsets[r + 1] - col->offsets[r];
        }
        break;
    case SM_TIMESTAMP_MS:
        for (int64_t k = 0; k < c->n; k++) {
            v->nul[k] |=
                __builtin_mul_overflow(sm_column_i64(col, c->sel ? c->sel[k] : k), 1000, &v->i[k]);
        }
        break;
    default: /* other integers, DATE, TIMESTAMP_US */
        for (int64_t k = 0; k < c->n; k++) {
            v->i[k] = sm_column_i64(col, c->sel ? c->sel[k] : k);
        }
        break;
    }
    return 0;
}

static int eval_lit(ev *c, const node *x, vec *v)
{
    if (vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    if (x->lnull) {
        memset(v->nul, 1, (size_t)c->n);
        if (v->i) {
            memset(v->i, 0, sizeof(int64_t) * (size_t)c->n);
        }
        for (int64_t k = 0; v->d && k < c->n; k++) {
            v->d[k] = 0;
        }
        for (int64_t k = 0; v->sp && k < c->n; k++) {
            v->sp[k] = "";
            v->sl[k] = 0;
        }
        return 0;
    }
    for (int64_t k = 0; k < c->n; k++) {
        switch (x->t) {
        case E_DOUBLE:
            v->d[k] = x->ld;
            break;
        case E_STRING:
            v->sp[k] = x->ls;
            v->sl[k] = x->lslen;
            break;
        default:
            v->i[k] = x->li;
        }
    }
    return 0;
}

static bool parse_int_text(const char *s, int32_t n, int64_t *out)
{
    char buf[64];
    while (n && isspace((unsigned char)*s)) {
        s++, n--;
    }
    while (n && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0 || n >= (int32_t)sizeof buf) {
        return false;
    }
    memcpy(buf, s, (size_t)n);
    buf[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno == 0 && *end == 0) {
        *out = v;
        return true;
    }
    /* "12.7" casts to 12 as Spark does */
    double d = strtod(buf, &end);
    if (*end == 0 && isfinite(d) && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) {
        *out = (int64_t)d;
        return true;
    }
    return false;
}

static bool parse_double_text(const char *s, int32_t n, double *out)
{
    char buf[128];
    while (n && isspace((unsigned char)*s)) {
        s++, n--;
    }
    while (n && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0 || n >= (int32_t)sizeof buf) {
        return false;
    }
    memcpy(buf, s, (size_t)n);
    buf[n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0;
}

static int eval_cast(ev *c, const node *x, vec *v)
{
    vec a;
    if (eval(c, x->a[0], &a) != 0 || vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    memcpy(v->nul, a.nul, (size_t)c->n);
    etype f = a.t, t = x->t;
    int64_t n = c->n;
    if (f == t && t != E_INT && !(t == E_DOUBLE && x->scale >= 0)) {
        *v = a;
        return 0;
    }
    for (int64_t k = 0; k < n; k++) {
        if (v->nul[k]) {
            if (v->i) {
                v->i[k] = 0;
            } else if (v->d) {
                v->d[k] = 0;
            } else {
                v->sp[k] = "";
                v->sl[k] = 0;
            }
            continue;
        }
        char buf[64];
        switch (t) {
        case E_INT: {
            int64_t r = 0;
            bool ok = true;
            if (f == E_INT || f == E_BOOL) {
                r = a.i[k];
            } else if (f == E_DOUBLE) {
                double d = a.d[k];
                ok = isfinite(d) && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18;
                r = ok ? (int64_t)d : 0;
            } else if (f == E_STRING) {
                ok = parse_int_text(a.sp[k], a.sl[k], &r);
            }
            if (x->narrow && (r < INT32_MIN || r > INT32_MAX)) {
                ok = false;
            }
            v->i[k] = ok ? r : 0;
            v->nul[k] = !ok;
            break;
        }
        case E_DOUBLE: {
            double d = 0;
            bool ok = true;
            if (f == E_DOUBLE) {
                d = a.d[k];
            } else if (f == E_INT || f == E_BOOL) {
                d = (double)a.i[k];
            } else if (f == E_STRING) {
                ok = parse_double_text(a.sp[k], a.sl[k], &d);
            }
            if (ok && x->scale >= 0) {
                double m = pow(10.0, x->scale);
                d = round(d * m) / m;
            }
            v->d[k] = d;
            v->nul[k] = !ok;
            break;
        }
        case E_BOOL: {
            bool ok = true;
            int64_t r = 0;
            if (f == E_INT) {
                r = a.i[k] != 0;
            } else if (f == E_DOUBLE) {
                r = a.d[k] != 0;
            } else if (f == E_STRING) {
                int32_t l = a.sl[k];
                const char *s = a.sp[k];
                if ((l == 4 && !strncasecmp(s, "true", 4)) ||
                    (l == 1 && (*s == 't' || *s == 'T' || *s == '1' || *s == 'y' || *s == 'Y')) ||
                    (l == 3 && !strncasecmp(s, "yes", 3))) {
                    r = 1;
                } else if ((l == 5 && !strncasecmp(s, "false", 5)) ||
                           (l == 1 &&
                            (*s == 'f' || *s == 'F' || *s == '0' || *s == 'n' || *s == 'N')) ||
                           (l == 2 && !strncasecmp(s, "no", 2))) {
                    r = 0;
                } else {
                    ok = false;
                }
            }
            v->i[k] = r;
            v->nul[k] = !ok;
            break;
        }
        case E_DATE:
            if (f == E_TS) {
                v->i[k] = floordiv(a.i[k], 86400000000LL);
            } else if (f == E_STRING) {
                int64_t d = 0, us;
                bool ok = sm_expr_parse_date(a.sp[k], a.sl[k], &d) == 0;
                if (!ok && sm_expr_parse_ts(a.sp[k], (size_t)a.sl[k], &us) == 0) {
                    d = floordiv(us, 86400000000LL);
                    ok = true;
                }
                v->i[k] = d;
                v->nul[k] = !ok;
            }
            break;
        case E_TS:
            if (f == E_DATE) {
                v->nul[k] |= __builtin_mul_overflow(a.i[k], 86400000000LL, &v->i[k]);
            } else if (f == E_STRING) {
                int64_t us = 0;
                v->nul[k] = sm_expr_parse_ts(a.sp[k], (size_t)a.sl[k], &us) != 0;
                v->i[k] = us;
            }
            break;
        case E_STRING: {
            int len = 0;
            if (f == E_INT) {
                len = snprintf(buf, sizeof buf, "%" PRId64, a.i[k]);
            } else if (f == E_BOOL) {
                len = snprintf(buf, sizeof buf, "%s", a.i[k] ? "true" : "false");
            } else if (f == E_DOUBLE) {
                len = snprintf(buf, sizeof buf, "%.17g", a.d[k]);
                /* shortest text that reads back the same */
                for (int prec = 1; prec <= 17; prec++) {
                    char tmp[64];
                    int l2 = snprintf(tmp, sizeof tmp, "%.*g", prec, a.d[k]);
                    if (strtod(tmp, NULL) == a.d[k]) {
                        memcpy(buf, tmp, (size_t)l2 + 1);
                        len = l2;
                        break;
                    }
                }
                if (isfinite(a.d[k]) && !strpbrk(buf, ".e")) {
                    len += snprintf(buf + len, sizeof buf - (size_t)len, ".0");
                }
            } else if (f == E_DATE) {
                len = format_date(a.i[k], buf, sizeof buf);
            } else if (f == E_TS) {
                len = format_ts(a.i[k], buf, sizeof buf);
            }
            char *s = scratch(c, (size_t)len + 1);
            if (!s) {
                return -1;
            }
            memcpy(s, buf, (size_t)len + 1);
            v->sp[k] = s;
            v->sl[k] = len;
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

static int eval_arith(ev *c, const node *x, vec *v)
{
    vec a, b;
    if (eval(c, x->a[0], &a) != 0 || eval(c, x->a[1], &b) != 0 || vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    int64_t n = c->n;
    for (int64_t k = 0; k < n; k++) {
        v->nul[k] = a.nul[k] | b.nul[k];
    }
    if (x->t == E_INT) {
        const int64_t *p = a.i, *q = b.i;
        int64_t *r = v->i;
        uint8_t *nl = v->nul;
        switch (x->op) {
        case '+':
            for (int64_t k = 0; k < n; k++) {
                nl[k] |= __builtin_add_overflow(p[k], q[k], &r[k]);
            }
            break;
        case '-':
            for (int64_t k = 0; k < n; k++) {
                nl[k] |= __builtin_sub_overflow(p[k], q[k], &r[k]);
            }
            break;
        case '*':
            for (int64_t k = 0; k < n; k++) {
                nl[k] |= __builtin_mul_overflow(p[k], q[k], &r[k]);
            }
            break;
        default: /* % : sign of the dividend, as Spark and C */
            for (int64_t k = 0; k < n; k++) {
                bool z = q[k] == 0;
                nl[k] |= z;
                r[k] = z || q[k] == -1 ? 0 : p[k] % q[k];
            }
            break;
        }
        return 0;
    }
    const double *p = a.d, *q = b.d;
    double *r = v->d;
    switch (x->op) {
    case '+':
        for (int64_t k = 0; k < n; k++) {
            r[k] = p[k] + q[k];
        }
        break;
    case '-':
        for (int64_t k = 0; k < n; k++) {
            r[k] = p[k] - q[k];
        }
        break;
    case '*':
        for (int64_t k = 0; k < n; k++) {
            r[k] = p[k] * q[k];
        }
        break;
    case '/':
        for (int64_t k = 0; k < n; k++) {
            v->nul[k] |= q[k] == 0;
            r[k] = q[k] == 0 ? 0 : p[k] / q[k];
        }
        break;
    default:
        for (int64_t k = 0; k < n; k++) {
            v->nul[k] |= q[k] == 0;
            r[k] = q[k] == 0 ? 0 : fmod(p[k], q[k]);
        }
        break;
    }
    return 0;
}

static int cmp3(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Applies a comparison operator to three-way results t (-1, 0, 1) as they come. */
#define CMP_APPLY(op, n, r, t)                                                                     \
    switch (op) {                                                                                  \
    case CMP_EQ:                                                                                   \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) == 0;                                                                     \
        }                                                                                          \
        break;                                                                                     \
    case CMP_NE:                                                                                   \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) != 0;                                                                     \
        }                                                                                          \
        break;                                                                                     \
    case CMP_LT:                                                                                   \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) < 0;                                                                      \
        }                                                                                          \
        break;                                                                                     \
    case CMP_LE:                                                                                   \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) <= 0;                                                                     \
        }                                                                                          \
        break;                                                                                     \
    case CMP_GT:                                                                                   \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) > 0;                                                                      \
        }                                                                                          \
        break;                                                                                     \
    default:                                                                                       \
        for (int64_t k = 0; k < (n); k++) {                                                        \
            (r)[k] = (t) >= 0;                                                                     \
        }                                                                                          \
        break;                                                                                     \
    }

static inline int str3(const char *a, int32_t la, const char *b, int32_t lb)
{
    int m = memcmp(a, b, (size_t)(la < lb ? la : lb));
    return m ? (m > 0) - (m < 0) : (la > lb) - (la < lb);
}

/* A column against a non-NULL literal of its type (most rules: quantity > 0), in one pass with
 * the same three-way comparison as the general case, without a vector of the literal. */
static int cmp_lit(ev *c, const vec *a, const node *lit, int op, vec *v)
{
    int64_t n = c->n, *r = v->i;
    memcpy(v->nul, a->nul, (size_t)n);
    if (a->t == E_DOUBLE) {
        const double *d = a->d, l = lit->ld;
        CMP_APPLY(op, n, r, (d[k] > l) - (d[k] < l));
    } else if (a->t == E_STRING) {
        const char *const *sp = a->sp, *ls = lit->ls;
        const int32_t *sl = a->sl, ll = lit->lslen;
        CMP_APPLY(op, n, r, str3(sp[k], sl[k], ls, ll));
    } else {
        const int64_t *i = a->i, l = lit->li;
        CMP_APPLY(op, n, r, (i[k] > l) - (i[k] < l));
    }
    return 0;
}

static int eval_cmp(ev *c, const node *x, vec *v)
{
    static const int flip[] = {[CMP_EQ] = CMP_EQ, [CMP_NE] = CMP_NE, [CMP_LT] = CMP_GT,
                               [CMP_LE] = CMP_GE, [CMP_GT] = CMP_LT, [CMP_GE] = CMP_LE};
    vec a, b;
    for (int side = 0; side < 2; side++) {
        const node *lit = x->a[1 - side], *other = x->a[side];
        if (lit->k == N_LIT && !lit->lnull && lit->t == other->t) {
            if (eval(c, other, &a) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
                return -1;
            }
            return cmp_lit(c, &a, lit, side == 0 ? x->op : flip[x->op], v);
        }
    }
    if (eval(c, x->a[0], &a) != 0 || eval(c, x->a[1], &b) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
        return -1;
    }
    int64_t n = c->n;
    int64_t *r = v->i;
    /* one three-way comparison per row, then the operator over it */
    if (a.t == E_DOUBLE) {
        for (int64_t k = 0; k < n; k++) {
            r[k] = (a.d[k] > b.d[k]) - (a.d[k] < b.d[k]);
        }
    } else if (a.t == E_STRING) {
        for (int64_t k = 0; k < n; k++) {
            int32_t la = a.sl[k], lb = b.sl[k];
            int m = memcmp(a.sp[k], b.sp[k], (size_t)(la < lb ? la : lb));
            r[k] = m ? (m > 0) - (m < 0) : (la > lb) - (la < lb);
        }
    } else {
        for (int64_t k = 0; k < n; k++) {
            r[k] = cmp3(a.i[k], b.i[k]);
        }
    }
    for (int64_t k = 0; k < n; k++) {
        v->nul[k] = a.nul[k] | b.nul[k];
    }
    switch (x->op) {
    case CMP_EQ:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] == 0;
        }
        break;
    case CMP_NE:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] != 0;
        }
        break;
    case CMP_LT:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] < 0;
        }
        break;
    case CMP_LE:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] <= 0;
        }
        break;
    case CMP_GT:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] > 0;
        }
        break;
    default:
        for (int64_t k = 0; k < n; k++) {
            r[k] = r[k] >= 0;
        }
        break;
    }
    return 0;
}

static bool same_value(const vec *a, const vec *b, int64_t k)
{
    if (a->t == E_DOUBLE) {
        return a->d[k] == b->d[k];
    }
    if (a->t == E_STRING) {
        return a->sl[k] == b->sl[k] && memcmp(a->sp[k], b->sp[k], (size_t)a->sl[k]) == 0;
    }
    return a->i[k] == b->i[k];
}

static int eval_logic(ev *c, const node *x, vec *v)
{
    vec a, b;
    if (eval(c, x->a[0], &a) != 0) {
        return -1;
    }
    int64_t n = c->n;
    if (x->k == N_NOT) {
        if (vec_alloc(c, v, E_BOOL) != 0) {
            return -1;
        }
        for (int64_t k = 0; k < n; k++) {
            v->i[k] = !a.i[k];
            v->nul[k] = a.nul[k];
        }
        return 0;
    }
    if (eval(c, x->a[1], &b) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
        return -1;
    }
    /* SQL: FALSE AND NULL = FALSE, TRUE OR NULL = TRUE, otherwise NULL wins */
    if (x->k == N_AND) {
        for (int64_t k = 0; k < n; k++) {
            bool af = !a.nul[k] && !a.i[k], bf = !b.nul[k] && !b.i[k];
            v->i[k] = !af && !bf && !a.nul[k] && !b.nul[k];
            v->nul[k] = !af && !bf && (a.nul[k] | b.nul[k]);
        }
    } else {
        for (int64_t k = 0; k < n; k++) {
            bool at = !a.nul[k] && a.i[k], bt = !b.nul[k] && b.i[k];
            v->i[k] = at || bt;
            v->nul[k] = !at && !bt && (a.nul[k] | b.nul[k]);
        }
    }
    return 0;
}

static int eval_isnull(ev *c, const node *x, vec *v)
{
    vec a;
    if (eval(c, x->a[0], &a) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
        return -1;
    }
    for (int64_t k = 0; k < c->n; k++) {
        v->i[k] = a.nul[k] ^ x->neg;
    }
    return 0;
}

static int eval_in(ev *c, const node *x, vec *v)
{
    vec a;
    if (eval(c, x->a[0], &a) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
        return -1;
    }
    int64_t n = c->n;
    /* v->i: found; v->nul: some NULL seen (the subject or an item) */
    for (int64_t k = 0; k < n; k++) {
        v->i[k] = 0;
        v->nul[k] = a.nul[k];
    }
    for (int j = 1; j < x->na; j++) {
        vec b;
        if (eval(c, x->a[j], &b) != 0) {
            return -1;
        }
        for (int64_t k = 0; k < n; k++) {
            if (b.nul[k]) {
                v->nul[k] = 1;
            } else if (!a.nul[k] && same_value(&a, &b, k)) {
                v->i[k] = 1;
            }
        }
    }
    for (int64_t k = 0; k < n; k++) {
        if (v->i[k]) {
            v->nul[k] = 0;
        }
        if (v->nul[k]) {
            v->i[k] = 0;
        } else if (x->neg) {
            v->i[k] = !v->i[k];
        }
    }
    return 0;
}

static int eval_like(ev *c, const node *x, vec *v)
{
    vec a, b;
    if (eval(c, x->a[0], &a) != 0 || eval(c, x->a[1], &b) != 0 || vec_alloc(c, v, E_BOOL) != 0) {
        return -1;
    }
    for (int64_t k = 0; k < c->n; k++) {
        v->nul[k] = a.nul[k] | b.nul[k];
        v->i[k] = !v->nul[k] && (like_match(a.sp[k], a.sp[k] + a.sl[k], b.sp[k], b.sp[k] + b.sl[k],
                                            x->esc) != x->neg);
    }
    return 0;
}

static int eval_case(ev *c, const node *x, vec *v)
{
    if (vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    int64_t n = c->n;
    uint8_t *done = (uint8_t *)scratch(c, (size_t)n);
    if (!done) {
        return -1;
    }
    memset(done, 0, (size_t)n);
    for (int j = 0; j < x->na; j += 2) {
        bool is_else = j == x->na - 1;
        vec cond = {0}, val;
        if (!is_else && eval(c, x->a[j], &cond) != 0) {
            return -1;
        }
        if (eval(c, x->a[is_else ? j : j + 1], &val) != 0) {
            return -1;
        }
        for (int64_t k = 0; k < n; k++) {
            if (done[k] || (!is_else && (cond.nul[k] || !cond.i[k]))) {
                continue;
            }
            done[k] = 1;
            v->nul[k] = val.nul[k];
            if (v->d) {
                v->d[k] = val.d[k];
            } else if (v->sp) {
                v->sp[k] = val.sp[k];
                v->sl[k] = val.sl[k];
            } else {
                v->i[k] = val.i[k];
            }
        }
    }
    return 0;
}

static void civil_parts(int64_t v, bool ts, int fn, int64_t *out)
{
    int64_t days = ts ? floordiv(v, 86400000000LL) : v;
    if (fn >= F_HOUR) {
        int64_t sec = floordiv(v, 1000000) - days * 86400;
        *out = fn == F_HOUR ? sec / 3600 : fn == F_MINUTE ? sec / 60 % 60 : sec % 60;
        return;
    }
    int64_t y;
    unsigned m, d;
    sm_civil_from_days(days, &y, &m, &d);
    *out = fn == F_YEAR ? y : fn == F_MONTH ? (int64_t)m : (int64_t)d;
}

/* date_trunc of microseconds since the epoch (UTC); weeks start on Monday as in Spark */
static int64_t trunc_ts(int64_t us, int unit)
{
    static const int64_t step[] = {[TR_DAY] = 86400000000LL,
                                   [TR_HOUR] = 3600000000LL,
                                   [TR_MINUTE] = 60000000LL,
                                   [TR_SECOND] = 1000000LL};
    if (unit >= TR_DAY) {
        int64_t r;
        return __builtin_mul_overflow(floordiv(us, step[unit]), step[unit], &r) ? us : r;
    }
    int64_t days = floordiv(us, 86400000000LL);
    if (unit == TR_WEEK) {
        int64_t dow = ((days % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday: Monday = 0 */
        int64_t r;
        return __builtin_mul_overflow(days - dow, 86400000000LL, &r) ? us : r;
    }
    int64_t y;
    unsigned m, d;
    sm_civil_from_days(days, &y, &m, &d);
    m = unit == TR_YEAR ? 1 : unit == TR_QUARTER ? (m - 1) / 3 * 3 + 1 : m;
    int64_t r;
    return __builtin_mul_overflow(sm_days_from_civil(y, m, 1), 86400000000LL, &r) ? us : r;
}

static int eval_func(ev *c, const node *x, vec *v)
{
    vec a[64];
    for (int j = 0; j < x->na; j++) {
        if (eval(c, x->a[j], &a[j]) != 0) {
            return -1;
        }
    }
    if (vec_alloc(c, v, x->t) != 0) {
        return -1;
    }
    int64_t n = c->n;
    for (int64_t k = 0; k < n; k++) {
        v->nul[k] = a[0].nul[k];
    }
    switch (x->fn) {
    case F_LENGTH:
        for (int64_t k = 0; k < n; k++) {
            v->i[k] = u8count(a[0].sp[k], a[0].sl[k]);
        }
        break;
    case F_TRIM:
    case F_LTRIM:
    case F_RTRIM:
        for (int64_t k = 0; k < n; k++) {
            const char *s = a[0].sp[k];
            int32_t b = 0, e = a[0].sl[k];
            if (x->fn != F_RTRIM) {
                while (b < e && s[b] == ' ') {
                    b++;
                }
            }
            if (x->fn != F_LTRIM) {
                while (e > b && s[e - 1] == ' ') {
                    e--;
                }
            }
            v->sp[k] = s + b;
            v->sl[k] = e - b;
        }
        break;
    case F_LOWER:
    case F_UPPER:
        for (int64_t k = 0; k < n; k++) {
            int32_t l = a[0].sl[k];
            char *s = scratch(c, (size_t)l);
            if (!s) {
                return -1;
            }
            for (int32_t i = 0; i < l; i++) {
                unsigned char ch = (unsigned char)a[0].sp[k][i];
                s[i] = (char)(x->fn == F_LOWER ? (ch < 0x80 ? tolower(ch) : ch)
                                               : (ch < 0x80 ? toupper(ch) : ch));
            }
            v->sp[k] = s;
            v->sl[k] = l;
        }
        break;
    case F_SUBSTR:
        for (int64_t k = 0; k < n; k++) {
            v->sp[k] = "";
            v->sl[k] = 0;
            if (a[1].nul[k] || (x->na == 3 && a[2].nul[k])) {
                v->nul[k] = 1;
            }
            if (v->nul[k]) {
                continue;
            }
            const char *s = a[0].sp[k];
            int32_t l = a[0].sl[k];
            int64_t chars = u8count(s, l);
            int64_t pos = a[1].i[k], len = x->na == 3 ? a[2].i[k] : INT64_MAX;
            /* Spark: 1-based; 0 acts as 1; negative counts from the end */
            int64_t start = pos > 0 ? pos - 1 : pos < 0 ? chars + pos : 0;
            int64_t end;
            if (len <= 0) {
                continue;
            }
            end = start > INT64_MAX - len ? INT64_MAX : start + len;
            if (start < 0) {
                start = 0;
            }
            if (end > chars) {
                end = chars;
            }
            if (start >= end) {
                continue;
            }
            int32_t bi = 0;
            for (int64_t ci = 0; ci < start; ci++) {
                bi += u8len((unsigned char)s[bi]);
            }
            int32_t be = bi;
            for (int64_t ci = start; ci < end && be < l; ci++) {
                be += u8len((unsigned char)s[be]);
            }
            v->sp[k] = s + bi;
            v->sl[k] = (be > l ? l : be) - bi;
        }
        break;
    case F_COALESCE:
        for (int64_t k = 0; k < n; k++) {
            int j = 0;
            while (j < x->na - 1 && a[j].nul[k]) {
                j++;
            }
            v->nul[k] = a[j].nul[k];
            if (v->d) {
                v->d[k] = a[j].d[k];
            } else if (v->sp) {
                v->sp[k] = a[j].sp[k];
                v->sl[k] = a[j].sl[k];
            } else {
                v->i[k] = a[j].i[k];
            }
        }
        break;
    case F_ABS:
        if (x->t == E_DOUBLE) {
            for (int64_t k = 0; k < n; k++) {
                v->d[k] = fabs(a[0].d[k]);
            }
        } else {
            for (int64_t k = 0; k < n; k++) {
                int64_t i = a[0].i[k];
                v->nul[k] |= i == INT64_MIN;
                v->i[k] = i == INT64_MIN ? 0 : i < 0 ? -i : i;
            }
        }
        break;
    case F_ROUND:
        for (int64_t k = 0; k < n; k++) {
            int64_t d = 0;
            if (x->na == 2) {
                v->nul[k] |= a[1].nul[k];
                d = a[1].i[k];
            }
            if (d > 30) {
                d = 30;
            } else if (d < -30) {
                d = -30;
            }
            if (x->t == E_DOUBLE) {
                double m = pow(10.0, (double)d), val = a[0].d[k];
                double r = round(val * m) / m;
                v->d[k] = isfinite(r) ? r : val;
            } else {
                int64_t i = a[0].i[k];
                if (d >= 0 || v->nul[k]) {
                    v->i[k] = i;
                    continue;
                }
                if (d < -18) {
                    v->i[k] = 0;
                    continue;
                }
                int64_t m = 1;
                for (int64_t z = 0; z < -d; z++) {
                    m *= 10;
                }
                int64_t q = i / m, rem = i % m, r;
                if (rem >= 0 ? rem * 2 >= m : -rem * 2 >= m) {
                    q += i < 0 ? -1 : 1;
                }
                v->nul[k] |= __builtin_mul_overflow(q, m, &r);
                v->i[k] = r;
            }
        }
        break;
    case F_REGEXP_LIKE: {
        for (int64_t k = 0; k < n; k++) {
            if (v->nul[k]) {
                v->i[k] = 0;
                continue;
            }
            char small[256];
            int32_t l = a[0].sl[k];
            char *s = l < (int32_t)sizeof small ? small : scratch(c, (size_t)l + 1);
            if (!s) {
                return -1;
            }
            memcpy(s, a[0].sp[k], (size_t)l);
            s[l] = 0;
            v->i[k] = regexec(x->re, s, 0, NULL, 0) == 0;
        }
        break;
    }
    case F_DATE_TRUNC:
        for (int64_t k = 0; k < n; k++) {
            v->nul[k] = a[1].nul[k];
            v->i[k] = v->nul[k] ? 0 : trunc_ts(a[1].i[k], x->op);
        }
        break;
    default:
        for (int64_t k = 0; k < n; k++) {
            civil_parts(a[0].i[k], a[0].t == E_TS, x->fn, &v->i[k]);
        }
        break;
    }
    return 0;
}

static int eval(ev *c, const node *x, vec *v)
{
    switch (x->k) {
    case N_LIT:
        return eval_lit(c, x, v);
    case N_COL:
        return eval_col(c, x, v);
    case N_NEG: {
        vec a;
        if (eval(c, x->a[0], &a) != 0 || vec_alloc(c, v, x->t) != 0) {
            return -1;
        }
        for (int64_t k = 0; k < c->n; k++) {
            v->nul[k] = a.nul[k];
            if (x->t == E_DOUBLE) {
                v->d[k] = -a.d[k];
            } else {
                v->nul[k] |= a.i[k] == INT64_MIN;
                v->i[k] = a.i[k] == INT64_MIN ? 0 : -a.i[k];
            }
        }
        return 0;
    }
    case N_ARITH:
        return eval_arith(c, x, v);
    case N_CMP:
        return eval_cmp(c, x, v);
    case N_AND:
    case N_OR:
    case N_NOT:
        return eval_logic(c, x, v);
    case N_ISNULL:
        return eval_isnull(c, x, v);
    case N_IN:
        return eval_in(c, x, v);
    case N_LIKE:
        return eval_like(c, x, v);
    case N_CASE:
        return eval_case(c, x, v);
    case N_CAST:
        return eval_cast(c, x, v);
    case N_FUNC:
        return eval_func(c, x, v);
    case N_NOW: {
        if (vec_alloc(c, v, x->t) != 0) {
            return -1;
        }
        int64_t us = c->ctx ? c->ctx->batch_ts_ms * 1000 : 0;
        int64_t val = x->t == E_DATE ? floordiv(us, 86400000000LL) : us;
        for (int64_t k = 0; k < c->n; k++) {
            v->i[k] = val;
        }
        return 0;
    }
    }
    return sm_error_set(c->err, SM_ERR_INTERNAL, "expression: unknown node kind %d", (int)x->k);
}

/* ---- public API ------------------------------------------------------------------------------ */

static int to_column(const sm_expr *e, const vec *v, int64_t n, sm_arena *arena, sm_column **out,
                     sm_error *err)
{
    sm_column *col = sm_arena_calloc(arena, sizeof *col);
    if (!col) {
        goto nomem;
    }
    col->field = e->result;
    col->length = n;
    col->capacity = n;
    int64_t nulls = 0;
    for (int64_t k = 0; k < n; k++) {
        nulls += v->nul[k];
    }
    col->null_count = nulls;
    if (nulls) {
        if (!(col->validity = sm_arena_calloc(arena, (size_t)(n + 7) / 8 + 1))) {
            goto nomem;
        }
        for (int64_t k = 0; k < n; k++) {
            if (!v->nul[k]) {
                col->validity[k >> 3] |= (uint8_t)(1u << (k & 7));
            }
        }
    }
    size_t cnt = (size_t)(n ? n : 1);
    switch (e->result->type) {
    case SM_BOOL: {
        uint8_t *b = sm_arena_alloc(arena, cnt);
        if (!b) {
            goto nomem;
        }
        for (int64_t k = 0; k < n; k++) {
            b[k] = v->nul[k] ? 0 : (uint8_t)(v->i[k] != 0);
        }
        col->values = b;
        break;
    }
    case SM_DATE: {
        int32_t *d = sm_arena_alloc(arena, cnt * sizeof(int32_t));
        if (!d) {
            goto nomem;
        }
        for (int64_t k = 0; k < n; k++) {
            d[k] = (int32_t)v->i[k];
        }
        col->values = d;
        break;
    }
    case SM_DOUBLE:
        col->values = v->d;
        break;
    case SM_STRING: {
        int64_t total = 0;
        for (int64_t k = 0; k < n; k++) {
            total += v->nul[k] ? 0 : v->sl[k];
        }
        if (total > INT32_MAX) {
            return sm_error_set(err, SM_ERR_NOMEM,
                                "expression result: %" PRId64 " string bytes exceed 2 GiB", total);
        }
        col->offsets = sm_arena_alloc(arena, sizeof(int32_t) * (size_t)(n + 1));
        col->data = sm_arena_alloc(arena, (size_t)total + 1);
        if (!col->offsets || !col->data) {
            goto nomem;
        }
        int32_t at = 0;
        for (int64_t k = 0; k < n; k++) {
            col->offsets[k] = at;
            if (!v->nul[k]) {
                memcpy(col->data + at, v->sp[k], (size_t)v->sl[k]);
                at += v->sl[k];
            }
        }
        col->offsets[n] = at;
        col->data_len = at;
        col->data_capacity = total + 1;
        break;
    }
    default:
        col->values = v->i;
        break;
    }
    *out = col;
    return 0;
nomem:
    return sm_error_set(err, SM_ERR_NOMEM, "expression result: arena exhausted (%" PRId64 " rows)",
                        n);
}

int sm_expr_eval(const sm_expr *e, const sm_column *batch, const sm_expr_ctx *ctx,
                 const int64_t *sel, int64_t n, sm_arena *arena, sm_column **out, sm_error *err)
{
    ev c = {.batch = batch, .ctx = ctx, .sel = sel, .n = n, .arena = arena, .err = err};
    vec v;
    if (eval(&c, e->root, &v) != 0) {
        return err ? (int)err->code : -1;
    }
    return to_column(e, &v, n, arena, out, err);
}

int sm_expr_filter(const sm_expr *e, const sm_column *batch, const sm_expr_ctx *ctx,
                   const int64_t *sel_in, int64_t n_in, sm_arena *arena, int64_t *sel_true_out,
                   int64_t *n_true, int64_t *sel_fail_out, int64_t *n_fail, sm_error *err)
{
    if (e->root->t != E_BOOL) {
        return sm_error_set(err, SM_ERR_USAGE, "'%s' is %s, not a boolean condition", e->text,
                            etype_name(e->root->t));
    }
    ev c = {.batch = batch, .ctx = ctx, .sel = sel_in, .n = n_in, .arena = arena, .err = err};
    vec v;
    if (eval(&c, e->root, &v) != 0) {
        return err ? (int)err->code : -1;
    }
    int64_t t = 0, f = 0;
    for (int64_t k = 0; k < n_in; k++) {
        int64_t r = sel_in ? sel_in[k] : k;
        if (!v.nul[k] && v.i[k]) {
            sel_true_out[t++] = r;
        } else if (sel_fail_out) {
            sel_fail_out[f++] = r;
        } else {
            f++;
        }
    }
    *n_true = t;
    if (n_fail) {
        *n_fail = f;
    }
    return 0;
}
