/*
 * Expression language, first half: lexer, recursive-descent parser and type checker, run once
 * when the pipeline loads (sm_expr_compile). Errors say "at <position>: <what>". The evaluator
 * is stream/expr_eval.c.
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

static const char *const trunc_units[] = {"year", "quarter", "month",  "week", "day",
                                          "hour", "minute",  "second", NULL};

/* ---- lexer ------------------------------------------------------------------------------- */

typedef enum { T_EOF, T_IDENT, T_QIDENT, T_INT, T_NUM, T_STR, T_OP } tkind;

typedef struct tok {
    tkind k;
    int pos;
    const char *s; /* IDENT/QIDENT/STR: value (NUL-terminated, arena); OP: spelling */
    int32_t len;
    int64_t iv;
    double dv;
} tok;

typedef struct parser {
    sm_expr *e;
    const char *text;
    size_t at;
    tok t; /* current token */
    sm_error *err;
    bool failed;
    int depth; /* nesting, bounded so a hostile text cannot exhaust the stack */
    int nodes; /* bounded too: evaluation recurses over the tree */
    const sm_field *schema;
} parser;

static int perr(parser *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, int pos, const char *fmt, ...)
{
    if (p->failed) {
        return -1;
    }
    p->failed = true;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sm_error_set(p->err, SM_ERR_USAGE, "at %d: %s", pos, msg);
    return -1;
}

static int lex(parser *p)
{
    const char *s = p->text;
    size_t i = p->at;
    while (s[i] && isspace((unsigned char)s[i])) {
        i++;
    }
    tok t = {.k = T_EOF, .pos = (int)i + 1};
    if (!s[i]) {
        p->t = t;
        p->at = i;
        return 0;
    }
    unsigned char c = (unsigned char)s[i];
    if (isalpha(c) || c == '_') {
        size_t b = i;
        while (isalnum((unsigned char)s[i]) || s[i] == '_') {
            i++;
        }
        t.k = T_IDENT;
        t.s = sm_arena_strndup(p->e->arena, s + b, i - b);
        t.len = (int32_t)(i - b);
    } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
        size_t b = i;
        bool real = false;
        while (isdigit((unsigned char)s[i])) {
            i++;
        }
        if (s[i] == '.') {
            real = true;
            i++;
            while (isdigit((unsigned char)s[i])) {
                i++;
            }
        }
        if (s[i] == 'e' || s[i] == 'E') {
            size_t j = i + 1;
            if (s[j] == '+' || s[j] == '-') {
                j++;
            }
            if (isdigit((unsigned char)s[j])) {
                real = true;
                i = j;
                while (isdigit((unsigned char)s[i])) {
                    i++;
                }
            }
        }
        if (isalpha((unsigned char)s[i]) || s[i] == '_') {
            return perr(p, (int)i + 1, "unexpected '%c' after a number", s[i]);
        }
        char num[64];
        size_t n = i - b < sizeof num - 1 ? i - b : sizeof num - 1;
        memcpy(num, s + b, n);
        num[n] = 0;
        if (!real) {
            errno = 0;
            t.iv = strtoll(num, NULL, 10);
            if (errno == ERANGE) {
                real = true; /* too big for bigint: a double, as Spark's literal widening */
            }
        }
        t.k = real ? T_NUM : T_INT;
        t.s = sm_arena_strndup(p->e->arena, s + b, i - b);
        t.len = (int32_t)(i - b);
        t.dv = strtod(num, NULL);
    } else if (c == '\'' || c == '"') {
        char q = (char)c;
        size_t b = ++i;
        char *out = sm_arena_alloc(p->e->arena, strlen(s + b) + 1);
        if (!out) {
            return perr(p, t.pos, "out of memory");
        }
        int32_t n = 0;
        for (;;) {
            if (!s[i]) {
                return perr(p, t.pos, "unterminated %s", q == '\'' ? "string" : "quoted name");
            }
            if (s[i] == q) {
                if (s[i + 1] == q) {
                    out[n++] = q;
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            out[n++] = s[i++];
        }
        out[n] = 0;
        t.k = q == '\'' ? T_STR : T_QIDENT;
        t.s = out;
        t.len = n;
    } else {
        static const char *const ops[] = {"<=", ">=", "<>", "!=", "==", "=", "<", ">", "+",
                                          "-",  "*",  "/",  "%",  "(",  ")", ",", ".", NULL};
        for (int k = 0; ops[k]; k++) {
            size_t n = strlen(ops[k]);
            if (strncmp(s + i, ops[k], n) == 0) {
                t.k = T_OP;
                t.s = ops[k];
                t.len = (int32_t)n;
                i += n;
                break;
            }
        }
        if (t.k != T_OP) {
            return perr(p, t.pos, "unexpected character '%c'", c);
        }
    }
    p->t = t;
    p->at = i;
    return 0;
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->k == T_IDENT && strcasecmp(t->s, kw) == 0;
}

static bool is_op(const tok *t, const char *op)
{
    return t->k == T_OP && strcmp(t->s, op) == 0;
}

static int expect_op(parser *p, const char *op)
{
    if (!is_op(&p->t, op)) {
        return perr(p, p->t.pos, "expected '%s'", op);
    }
    return lex(p);
}

static int expect_kw(parser *p, const char *kw)
{
    if (!is_kw(&p->t, kw)) {
        return perr(p, p->t.pos, "expected %s", kw);
    }
    return lex(p);
}

/* ---- nodes and type checking -------------------------------------------------------------- */

static node *mk(parser *p, nkind k, int pos, int na)
{
    if (++p->nodes > SM_EXPR_MAX_NODES) {
        perr(p, pos, "expression too long (more than %d terms)", SM_EXPR_MAX_NODES);
        return NULL;
    }
    node *n = sm_arena_calloc(p->e->arena, sizeof *n);
    if (!n || (na && !(n->a = sm_arena_calloc(p->e->arena, sizeof(node *) * (size_t)na)))) {
        perr(p, pos, "out of memory");
        return NULL;
    }
    n->k = k;
    n->pos = pos;
    n->na = na;
    n->scale = -1;
    return n;
}

static bool is_num(etype t)
{
    return t == E_INT || t == E_DOUBLE;
}

/* Wraps `n` in an implicit cast to `t` (an untyped NULL literal just takes the type). */
static node *coerce(parser *p, node *n, etype t)
{
    if (!n || n->t == t) {
        return n;
    }
    if (n->t == E_NULL) {
        n->t = t;
        return n;
    }
    node *c = mk(p, N_CAST, n->pos, 1);
    if (!c) {
        return NULL;
    }
    c->a[0] = n;
    c->t = t;
    return c;
}

/* The common type of two operands for comparison, IN, CASE, COALESCE; -1 when none. A string
 * literal meets a date or timestamp by being parsed as one (an error if it does not parse). */
static int common_type(parser *p, node **x, node **y)
{
    etype a = (*x)->t, b = (*y)->t;
    etype r;
    if (a == b) {
        return 0;
    }
    if (a == E_NULL || b == E_NULL) {
        r = a == E_NULL ? b : a;
    } else if (is_num(a) && is_num(b)) {
        r = E_DOUBLE;
    } else if ((a == E_DATE && b == E_TS) || (a == E_TS && b == E_DATE)) {
        r = E_TS;
    } else if ((a == E_STRING && (*x)->k == N_LIT && (b == E_DATE || b == E_TS)) ||
               (b == E_STRING && (*y)->k == N_LIT && (a == E_DATE || a == E_TS))) {
        node *lit = a == E_STRING ? *x : *y;
        etype to = a == E_STRING ? b : a;
        int64_t v;
        if (!lit->lnull) {
            int rc = to == E_DATE ? sm_expr_parse_date(lit->ls, (size_t)lit->lslen, &v)
                                  : sm_expr_parse_ts(lit->ls, (size_t)lit->lslen, &v);
            if (rc != 0) {
                return perr(p, lit->pos, "'%s' is not a %s", lit->ls, etype_name(to));
            }
            lit->li = v;
        }
        lit->t = to;
        return 0;
    } else {
        return -1;
    }
    *x = coerce(p, *x, r);
    *y = coerce(p, *y, r);
    return *x && *y ? 0 : -1;
}

/* ---- parser ------------------------------------------------------------------------------- */

static node *parse_expr(parser *p);
static node *parse_not(parser *p);

static const struct {
    const char *name;
    int fn;
    int min, max;
} funcs[] = {
    {"length", F_LENGTH, 1, 1},
    {"char_length", F_LENGTH, 1, 1},
    {"trim", F_TRIM, 1, 1},
    {"ltrim", F_LTRIM, 1, 1},
    {"rtrim", F_RTRIM, 1, 1},
    {"lower", F_LOWER, 1, 1},
    {"upper", F_UPPER, 1, 1},
    {"substr", F_SUBSTR, 2, 3},
    {"substring", F_SUBSTR, 2, 3},
    {"coalesce", F_COALESCE, 1, 64},
    {"abs", F_ABS, 1, 1},
    {"round", F_ROUND, 1, 2},
    {"regexp_like", F_REGEXP_LIKE, 2, 2},
    {"year", F_YEAR, 1, 1},
    {"month", F_MONTH, 1, 1},
    {"day", F_DAY, 1, 1},
    {"dayofmonth", F_DAY, 1, 1},
    {"hour", F_HOUR, 1, 1},
    {"date_trunc", F_DATE_TRUNC, 2, 2},
    {"minute", F_MINUTE, 1, 1},
    {"second", F_SECOND, 1, 1},
};

static node *check_func(parser *p, node *f, const char *name)
{
    node **a = f->a;
    switch (f->fn) {
    case F_LENGTH:
    case F_TRIM:
    case F_LTRIM:
    case F_RTRIM:
    case F_LOWER:
    case F_UPPER:
        if (a[0]->t != E_STRING && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "%s() takes a string, not %s", name, etype_name(a[0]->t));
            return NULL;
        }
        a[0] = coerce(p, a[0], E_STRING);
        f->t = f->fn == F_LENGTH ? E_INT : E_STRING;
        return f;
    case F_SUBSTR:
        if (a[0]->t != E_STRING && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "%s() takes a string, not %s", name, etype_name(a[0]->t));
            return NULL;
        }
        a[0] = coerce(p, a[0], E_STRING);
        for (int i = 1; i < f->na; i++) {
            if (a[i]->t != E_INT && a[i]->t != E_NULL) {
                perr(p, a[i]->pos, "%s() position and length are int, not %s", name,
                     etype_name(a[i]->t));
                return NULL;
            }
            a[i] = coerce(p, a[i], E_INT);
        }
        f->t = E_STRING;
        return f;
    case F_COALESCE: {
        etype t = E_NULL;
        for (int i = 0; i < f->na; i++) {
            node *x = a[i];
            node *probe = mk(p, N_LIT, x->pos, 0);
            if (!probe) {
                return NULL;
            }
            probe->t = t;
            probe->lnull = true;
            if (common_type(p, &probe, &x) != 0) {
                perr(p, a[i]->pos, "coalesce() cannot mix %s with %s", etype_name(t),
                     etype_name(a[i]->t));
                return NULL;
            }
            a[i] = x;
            t = probe->t;
        }
        for (int i = 0; i < f->na; i++) {
            if (!(a[i] = coerce(p, a[i], t))) {
                return NULL;
            }
        }
        f->t = t;
        return f;
    }
    case F_ABS:
        if (!is_num(a[0]->t) && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "abs() takes a number, not %s", etype_name(a[0]->t));
            return NULL;
        }
        f->t = a[0]->t == E_NULL ? E_INT : a[0]->t;
        a[0] = coerce(p, a[0], f->t);
        return f;
    case F_ROUND:
        if (!is_num(a[0]->t) && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "round() takes a number, not %s", etype_name(a[0]->t));
            return NULL;
        }
        if (f->na == 2 && a[1]->t != E_INT && a[1]->t != E_NULL) {
            perr(p, a[1]->pos, "round() digits are int, not %s", etype_name(a[1]->t));
            return NULL;
        }
        f->t = a[0]->t == E_NULL ? E_DOUBLE : a[0]->t;
        a[0] = coerce(p, a[0], f->t);
        if (f->na == 2) {
            a[1] = coerce(p, a[1], E_INT);
        }
        return f;
    case F_REGEXP_LIKE: {
        if (a[0]->t != E_STRING && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "regexp_like() takes a string, not %s", etype_name(a[0]->t));
            return NULL;
        }
        a[0] = coerce(p, a[0], E_STRING);
        if (a[1]->k != N_LIT || a[1]->t != E_STRING) {
            perr(p, a[1]->pos, "regexp_like() pattern must be a string literal");
            return NULL;
        }
        sm_expr *e = p->e;
        if (e->n_regex == e->cap_regex) {
            int cap = e->cap_regex ? e->cap_regex * 2 : 4;
            regex_t **r = realloc(e->regexes, sizeof *r * (size_t)cap);
            if (!r) {
                perr(p, f->pos, "out of memory");
                return NULL;
            }
            e->regexes = r;
            e->cap_regex = cap;
        }
        regex_t *re = calloc(1, sizeof *re);
        if (!re) {
            perr(p, f->pos, "out of memory");
            return NULL;
        }
        int rc = regcomp(re, a[1]->ls, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, re, msg, sizeof msg);
            free(re);
            perr(p, a[1]->pos, "regexp_like() pattern '%s': %s", a[1]->ls, msg);
            return NULL;
        }
        e->regexes[e->n_regex++] = re;
        f->re = re;
        f->t = E_BOOL;
        return f;
    }
    case F_DATE_TRUNC: {
        if (a[0]->k != N_LIT || a[0]->t != E_STRING) {
            perr(p, a[0]->pos, "date_trunc() unit must be a string literal");
            return NULL;
        }
        f->op = -1;
        for (int i = 0; trunc_units[i]; i++) {
            if (!strcasecmp(a[0]->ls, trunc_units[i])) {
                f->op = i;
            }
        }
        if (f->op < 0) {
            perr(p, a[0]->pos,
                 "date_trunc() unit '%s' is not one of year, quarter, month, week, day, hour, "
                 "minute, second",
                 a[0]->ls);
            return NULL;
        }
        if (a[1]->t == E_STRING && a[1]->k == N_LIT) {
            node *probe = mk(p, N_LIT, a[1]->pos, 0);
            if (!probe) {
                return NULL;
            }
            probe->t = E_TS;
            probe->lnull = true;
            if (common_type(p, &probe, &a[1]) != 0) {
                return NULL;
            }
        }
        if (a[1]->t != E_DATE && a[1]->t != E_TS && a[1]->t != E_NULL) {
            perr(p, a[1]->pos, "date_trunc() takes a date or timestamp, not %s",
                 etype_name(a[1]->t));
            return NULL;
        }
        a[1] = coerce(p, a[1], E_TS);
        f->t = E_TS;
        return f;
    }
    default: /* date parts */
        if (a[0]->t == E_STRING && a[0]->k == N_LIT) {
            node *probe = mk(p, N_LIT, a[0]->pos, 0);
            if (!probe) {
                return NULL;
            }
            probe->t = E_TS;
            probe->lnull = true;
            if (common_type(p, &probe, &a[0]) != 0) {
                return NULL;
            }
        }
        if (a[0]->t != E_DATE && a[0]->t != E_TS && a[0]->t != E_NULL) {
            perr(p, a[0]->pos, "%s() takes a date or timestamp, not %s", name, etype_name(a[0]->t));
            return NULL;
        }
        if (a[0]->t == E_NULL) {
            a[0]->t = E_TS;
        }
        if (a[0]->t == E_DATE && f->fn >= F_HOUR) {
            a[0] = coerce(p, a[0], E_TS);
        }
        f->t = E_INT;
        return f;
    }
}

static node *parse_column(parser *p, const char *first, int pos)
{
    const sm_field *f = p->schema;
    int path[16];
    int depth = 0;
    const char *name = first;
    for (;;) {
        if (f->type != SM_STRUCT) {
            perr(p, pos, "'%s' is a %s, not a struct: no field '%s'", depth ? f->name : "schema",
                 sm_type_name(f->type), name);
            return NULL;
        }
        int found = -1;
        for (int i = 0; i < f->n_children && found < 0; i++) {
            if (strcmp(f->children[i]->name, name) == 0) {
                found = i;
            }
        }
        for (int i = 0; i < f->n_children && found < 0; i++) {
            if (strcasecmp(f->children[i]->name, name) == 0) {
                found = i;
            }
        }
        if (found < 0) {
            const char **names =
                sm_arena_calloc(p->e->arena, sizeof(char *) * (size_t)(f->n_children + 1));
            for (int i = 0; names && i < f->n_children; i++) {
                names[i] = f->children[i]->name;
            }
            const char *near = names ? sm_nearest(name, names) : NULL;
            if (near) {
                perr(p, pos, "unknown column '%s'; did you mean '%s'?", name, near);
            } else {
                perr(p, pos, "unknown column '%s'", name);
            }
            return NULL;
        }
        if (depth == (int)(sizeof path / sizeof path[0])) {
            perr(p, pos, "column path too deep");
            return NULL;
        }
        path[depth++] = found;
        f = f->children[found];
        if (!is_op(&p->t, ".")) {
            break;
        }
        if (lex(p) != 0) {
            return NULL;
        }
        if (p->t.k != T_IDENT && p->t.k != T_QIDENT) {
            perr(p, p->t.pos, "expected a field name after '.'");
            return NULL;
        }
        name = p->t.s;
        pos = p->t.pos;
        if (lex(p) != 0) {
            return NULL;
        }
    }
    node *n = mk(p, N_COL, pos, 0);
    if (!n) {
        return NULL;
    }
    n->path = sm_arena_alloc(p->e->arena, sizeof(int) * (size_t)depth);
    if (!n->path) {
        perr(p, pos, "out of memory");
        return NULL;
    }
    memcpy(n->path, path, sizeof(int) * (size_t)depth);
    n->depth = depth;
    n->field = f;
    switch (f->type) {
    case SM_BOOL:
        n->t = E_BOOL;
        break;
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
    case SM_UINT64:
        n->t = E_INT;
        break;
    case SM_FLOAT:
    case SM_DOUBLE:
        n->t = E_DOUBLE;
        break;
    case SM_DECIMAL:
        if (f->precision > 18) {
            perr(p, pos, "column '%s' is decimal(%d,%d): precision above 18 is not supported",
                 f->name, f->precision, f->scale);
            return NULL;
        }
        n->t = E_DOUBLE;
        break;
    case SM_STRING:
    case SM_JSON:
        n->t = E_STRING;
        break;
    case SM_DATE:
        n->t = E_DATE;
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        n->t = E_TS;
        break;
    default:
        perr(p, pos, "column '%s' has type %s, which expressions cannot use", f->name,
             sm_type_name(f->type));
        return NULL;
    }
    return n;
}

static node *parse_cast(parser *p, int pos)
{
    if (expect_op(p, "(") != 0) {
        return NULL;
    }
    node *x = parse_expr(p);
    if (!x || expect_kw(p, "AS") != 0) {
        return NULL;
    }
    if (p->t.k != T_IDENT) {
        perr(p, p->t.pos, "expected a type after AS");
        return NULL;
    }
    const char *ty = p->t.s;
    int tpos = p->t.pos;
    node *c = mk(p, N_CAST, pos, 1);
    if (!c || lex(p) != 0) {
        return NULL;
    }
    c->a[0] = x;
    c->cast_written = true;
    if (!strcasecmp(ty, "int") || !strcasecmp(ty, "integer")) {
        c->t = E_INT;
        c->narrow = true;
    } else if (!strcasecmp(ty, "bigint") || !strcasecmp(ty, "long")) {
        c->t = E_INT;
    } else if (!strcasecmp(ty, "double") || !strcasecmp(ty, "float") || !strcasecmp(ty, "real")) {
        c->t = E_DOUBLE;
    } else if (!strcasecmp(ty, "string") || !strcasecmp(ty, "varchar")) {
        c->t = E_STRING;
    } else if (!strcasecmp(ty, "date")) {
        c->t = E_DATE;
    } else if (!strcasecmp(ty, "timestamp")) {
        c->t = E_TS;
    } else if (!strcasecmp(ty, "boolean") || !strcasecmp(ty, "bool")) {
        c->t = E_BOOL;
    } else if (!strcasecmp(ty, "decimal") || !strcasecmp(ty, "numeric")) {
        c->t = E_DOUBLE;
        c->scale = 0;
        c->precision = 10; /* Spark's DECIMAL = DECIMAL(10, 0) */
        if (is_op(&p->t, "(")) {
            if (lex(p) != 0 || p->t.k != T_INT) {
                perr(p, p->t.pos, "expected decimal precision");
                return NULL;
            }
            int64_t prec = p->t.iv;
            if (lex(p) != 0) {
                return NULL;
            }
            if (is_op(&p->t, ",")) {
                if (lex(p) != 0 || p->t.k != T_INT) {
                    perr(p, p->t.pos, "expected decimal scale");
                    return NULL;
                }
                c->scale = (int)p->t.iv;
                if (lex(p) != 0) {
                    return NULL;
                }
            }
            c->precision = (int)prec;
            if (prec < 1 || prec > 38 || c->scale > prec) {
                perr(p, tpos, "decimal(%" PRId64 ",%d) is not a valid decimal type", prec,
                     c->scale);
                return NULL;
            }
            if (expect_op(p, ")") != 0) {
                return NULL;
            }
        }
    } else {
        perr(p, tpos, "unknown type '%s' in CAST", ty);
        return NULL;
    }
    if (expect_op(p, ")") != 0) {
        return NULL;
    }
    etype f = x->t, t = c->t;
    bool ok = f == E_NULL || f == t || f == E_STRING || t == E_STRING || (is_num(f) && is_num(t)) ||
              (f == E_BOOL && is_num(t)) || (is_num(f) && t == E_BOOL) ||
              ((f == E_DATE || f == E_TS) && (t == E_DATE || t == E_TS));
    if (!ok) {
        perr(p, pos, "cannot cast %s to %s", etype_name(f), etype_name(t));
        return NULL;
    }
    if (f == E_NULL) {
        x->t = t;
    }
    return c;
}

static node *parse_case(parser *p, int pos)
{
    node *subject = NULL;
    if (!is_kw(&p->t, "WHEN")) {
        if (!(subject = parse_expr(p))) {
            return NULL;
        }
    }
    node *arms[128];
    int n = 0;
    while (is_kw(&p->t, "WHEN")) {
        if (lex(p) != 0) {
            return NULL;
        }
        int cpos = p->t.pos;
        node *cond = parse_expr(p);
        if (!cond || expect_kw(p, "THEN") != 0) {
            return NULL;
        }
        if (subject) {
            node *eq = mk(p, N_CMP, cpos, 2);
            if (!eq) {
                return NULL;
            }
            eq->op = CMP_EQ;
            eq->a[0] = subject;
            eq->a[1] = cond;
            if (common_type(p, &eq->a[0], &eq->a[1]) != 0) {
                perr(p, cpos, "cannot compare %s with %s", etype_name(subject->t),
                     etype_name(cond->t));
                return NULL;
            }
            eq->t = E_BOOL;
            cond = eq;
        }
        if (cond->t != E_BOOL && cond->t != E_NULL) {
            perr(p, cpos, "WHEN needs a boolean, not %s", etype_name(cond->t));
            return NULL;
        }
        cond->t = E_BOOL;
        node *val = parse_expr(p);
        if (!val) {
            return NULL;
        }
        if (n + 3 > (int)(sizeof arms / sizeof arms[0])) {
            perr(p, cpos, "too many WHEN arms");
            return NULL;
        }
        arms[n++] = cond;
        arms[n++] = val;
    }
    if (n == 0) {
        perr(p, p->t.pos, "CASE needs at least one WHEN");
        return NULL;
    }
    node *els;
    if (is_kw(&p->t, "ELSE")) {
        if (lex(p) != 0 || !(els = parse_expr(p))) {
            return NULL;
        }
    } else {
        if (!(els = mk(p, N_LIT, p->t.pos, 0))) {
            return NULL;
        }
        els->lnull = true;
        els->t = E_NULL;
    }
    arms[n++] = els;
    if (expect_kw(p, "END") != 0) {
        return NULL;
    }
    node *c = mk(p, N_CASE, pos, n);
    if (!c) {
        return NULL;
    }
    /* result type: common type of every value */
    node *probe = mk(p, N_LIT, pos, 0);
    if (!probe) {
        return NULL;
    }
    probe->t = E_NULL;
    probe->lnull = true;
    for (int i = 1; i < n; i++) {
        if (i % 2 == 0 && i != n - 1) {
            continue;
        }
        node *v = arms[i];
        if (common_type(p, &probe, &v) != 0) {
            perr(p, arms[i]->pos, "CASE cannot mix %s with %s", etype_name(probe->t),
                 etype_name(arms[i]->t));
            return NULL;
        }
        arms[i] = v;
    }
    for (int i = 0; i < n; i++) {
        bool is_val = (i % 2 == 1) || i == n - 1;
        c->a[i] = is_val ? coerce(p, arms[i], probe->t) : arms[i];
        if (!c->a[i]) {
            return NULL;
        }
    }
    c->t = probe->t;
    return c;
}

static node *lit_of(parser *p, int pos, etype t)
{
    node *n = mk(p, N_LIT, pos, 0);
    if (n) {
        n->t = t;
    }
    return n;
}

static node *parse_primary(parser *p)
{
    tok t = p->t;
    if (t.k == T_INT || t.k == T_NUM) {
        node *n = lit_of(p, t.pos, t.k == T_INT ? E_INT : E_DOUBLE);
        if (!n || lex(p) != 0) {
            return NULL;
        }
        n->li = t.iv;
        n->ld = t.dv;
        return n;
    }
    if (t.k == T_STR) {
        node *n = lit_of(p, t.pos, E_STRING);
        if (!n || lex(p) != 0) {
            return NULL;
        }
        n->ls = t.s;
        n->lslen = t.len;
        return n;
    }
    if (is_op(&t, "(")) {
        if (lex(p) != 0) {
            return NULL;
        }
        node *n = parse_expr(p);
        if (!n || expect_op(p, ")") != 0) {
            return NULL;
        }
        return n;
    }
    if (t.k == T_QIDENT) {
        if (lex(p) != 0) {
            return NULL;
        }
        return parse_column(p, t.s, t.pos);
    }
    if (t.k != T_IDENT) {
        perr(p, t.pos, t.k == T_EOF ? "unexpected end of expression" : "unexpected '%s'",
             t.k == T_EOF ? "" : t.s);
        return NULL;
    }
    if (lex(p) != 0) {
        return NULL;
    }
    if (!strcasecmp(t.s, "TRUE") || !strcasecmp(t.s, "FALSE")) {
        node *n = lit_of(p, t.pos, E_BOOL);
        if (n) {
            n->li = !strcasecmp(t.s, "TRUE");
        }
        return n;
    }
    if (!strcasecmp(t.s, "NULL")) {
        node *n = lit_of(p, t.pos, E_NULL);
        if (n) {
            n->lnull = true;
        }
        return n;
    }
    if ((!strcasecmp(t.s, "DATE") || !strcasecmp(t.s, "TIMESTAMP")) && p->t.k == T_STR) {
        bool date = !strcasecmp(t.s, "DATE");
        node *n = lit_of(p, t.pos, date ? E_DATE : E_TS);
        if (!n) {
            return NULL;
        }
        int rc = date ? sm_expr_parse_date(p->t.s, (size_t)p->t.len, &n->li)
                      : sm_expr_parse_ts(p->t.s, (size_t)p->t.len, &n->li);
        if (rc != 0) {
            perr(p, p->t.pos, "'%s' is not a %s", p->t.s, date ? "date" : "timestamp");
            return NULL;
        }
        return lex(p) == 0 ? n : NULL;
    }
    if (!strcasecmp(t.s, "CAST") && is_op(&p->t, "(")) {
        return parse_cast(p, t.pos);
    }
    if (!strcasecmp(t.s, "CASE")) {
        return parse_case(p, t.pos);
    }
    if (!strcasecmp(t.s, "current_date") || !strcasecmp(t.s, "current_timestamp") ||
        !strcasecmp(t.s, "now")) {
        if (is_op(&p->t, "(")) {
            if (lex(p) != 0 || expect_op(p, ")") != 0) {
                return NULL;
            }
        }
        node *n = mk(p, N_NOW, t.pos, 0);
        if (n) {
            n->t = !strcasecmp(t.s, "current_date") ? E_DATE : E_TS;
        }
        return n;
    }
    if (is_op(&p->t, "(")) {
        int fi = -1;
        for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
            if (!strcasecmp(funcs[i].name, t.s)) {
                fi = (int)i;
                break;
            }
        }
        if (fi < 0) {
            const char *names[sizeof funcs / sizeof funcs[0] + 4];
            size_t k = 0;
            for (; k < sizeof funcs / sizeof funcs[0]; k++) {
                names[k] = funcs[k].name;
            }
            names[k++] = "current_date";
            names[k++] = "current_timestamp";
            names[k++] = "cast";
            names[k] = NULL;
            const char *near = sm_nearest(t.s, names);
            if (near) {
                perr(p, t.pos, "unknown function '%s'; did you mean '%s'?", t.s, near);
            } else {
                perr(p, t.pos, "unknown function '%s'", t.s);
            }
            return NULL;
        }
        if (lex(p) != 0) {
            return NULL;
        }
        node *args[64];
        int na = 0;
        if (!is_op(&p->t, ")")) {
            for (;;) {
                if (na == 64) {
                    perr(p, p->t.pos, "too many arguments");
                    return NULL;
                }
                if (!(args[na++] = parse_expr(p))) {
                    return NULL;
                }
                if (!is_op(&p->t, ",")) {
                    break;
                }
                if (lex(p) != 0) {
                    return NULL;
                }
            }
        }
        if (expect_op(p, ")") != 0) {
            return NULL;
        }
        if (na < funcs[fi].min || na > funcs[fi].max) {
            if (funcs[fi].min == funcs[fi].max) {
                perr(p, t.pos, "%s() takes %d argument%s", funcs[fi].name, funcs[fi].min,
                     funcs[fi].min == 1 ? "" : "s");
            } else if (funcs[fi].max >= 64) {
                perr(p, t.pos, "%s() takes at least %d argument", funcs[fi].name, funcs[fi].min);
            } else {
                perr(p, t.pos, "%s() takes %d to %d arguments", funcs[fi].name, funcs[fi].min,
                     funcs[fi].max);
            }
            return NULL;
        }
        node *f = mk(p, N_FUNC, t.pos, na);
        if (!f) {
            return NULL;
        }
        f->fn = funcs[fi].fn;
        memcpy(f->a, args, sizeof(node *) * (size_t)na);
        return check_func(p, f, funcs[fi].name);
    }
    return parse_column(p, t.s, t.pos);
}

static node *parse_unary(parser *p)
{
    if (p->depth > 256) {
        perr(p, p->t.pos, "expression nested too deeply");
        return NULL;
    }
    if (is_op(&p->t, "-") || is_op(&p->t, "+")) {
        tok t = p->t;
        if (lex(p) != 0) {
            return NULL;
        }
        p->depth++;
        node *x = parse_unary(p);
        p->depth--;
        if (!x) {
            return NULL;
        }
        if (!is_num(x->t) && x->t != E_NULL) {
            perr(p, t.pos, "unary %s needs a number, not %s", t.s, etype_name(x->t));
            return NULL;
        }
        if (t.s[0] == '+') {
            return x;
        }
        if (x->k == N_LIT && !x->lnull) { /* fold: -9223372036854775808 stays an int */
            if (x->t == E_INT && x->li != INT64_MIN) {
                x->li = -x->li;
                x->ld = -x->ld;
                x->pos = t.pos;
                return x;
            }
            if (x->t == E_DOUBLE) {
                if (x->ld == 9223372036854775808.0) {
                    x->t = E_INT;
                    x->li = INT64_MIN;
                } else {
                    x->ld = -x->ld;
                }
                x->pos = t.pos;
                return x;
            }
        }
        node *n = mk(p, N_NEG, t.pos, 1);
        if (!n) {
            return NULL;
        }
        n->t = x->t == E_NULL ? E_INT : x->t;
        n->a[0] = coerce(p, x, n->t);
        return n;
    }
    return parse_primary(p);
}

static node *arith(parser *p, int op, int pos, node *x, node *y)
{
    if ((!is_num(x->t) && x->t != E_NULL) || (!is_num(y->t) && y->t != E_NULL)) {
        perr(p, pos, "cannot apply '%c' to %s and %s", op, etype_name(x->t), etype_name(y->t));
        return NULL;
    }
    node *n = mk(p, N_ARITH, pos, 2);
    if (!n) {
        return NULL;
    }
    n->op = op;
    etype t = (x->t == E_DOUBLE || y->t == E_DOUBLE || op == '/') ? E_DOUBLE : E_INT;
    n->t = t;
    n->a[0] = coerce(p, x, t);
    n->a[1] = coerce(p, y, t);
    return n->a[0] && n->a[1] ? n : NULL;
}

static node *parse_mul(parser *p)
{
    node *x = parse_unary(p);
    while (x && (is_op(&p->t, "*") || is_op(&p->t, "/") || is_op(&p->t, "%"))) {
        tok t = p->t;
        if (lex(p) != 0) {
            return NULL;
        }
        node *y = parse_unary(p);
        if (!y) {
            return NULL;
        }
        x = arith(p, t.s[0], t.pos, x, y);
    }
    return x;
}

static node *parse_add(parser *p)
{
    node *x = parse_mul(p);
    while (x && (is_op(&p->t, "+") || is_op(&p->t, "-"))) {
        tok t = p->t;
        if (lex(p) != 0) {
            return NULL;
        }
        node *y = parse_mul(p);
        if (!y) {
            return NULL;
        }
        x = arith(p, t.s[0], t.pos, x, y);
    }
    return x;
}

static node *cmp(parser *p, int op, int pos, node *x, node *y)
{
    node *n = mk(p, N_CMP, pos, 2);
    if (!n) {
        return NULL;
    }
    n->op = op;
    n->t = E_BOOL;
    n->a[0] = x;
    n->a[1] = y;
    if (common_type(p, &n->a[0], &n->a[1]) != 0) {
        perr(p, pos, "cannot compare %s with %s", etype_name(x->t), etype_name(y->t));
        return NULL;
    }
    if (n->a[0]->t == E_NULL) {
        n->a[0]->t = n->a[1]->t = E_INT;
    }
    return n;
}

static node *negate(parser *p, node *x, int pos)
{
    node *n = mk(p, N_NOT, pos, 1);
    if (n) {
        n->t = E_BOOL;
        n->a[0] = x;
    }
    return n;
}

static node *parse_cmp(parser *p)
{
    node *x = parse_add(p);
    while (x) {
        tok t = p->t;
        int op = -1;
        if (t.k == T_OP) {
            op = !strcmp(t.s, "=") || !strcmp(t.s, "==")    ? CMP_EQ
                 : !strcmp(t.s, "!=") || !strcmp(t.s, "<>") ? CMP_NE
                 : !strcmp(t.s, "<")                        ? CMP_LT
                 : !strcmp(t.s, "<=")                       ? CMP_LE
                 : !strcmp(t.s, ">")                        ? CMP_GT
                 : !strcmp(t.s, ">=")                       ? CMP_GE
                                                            : -1;
        }
        if (op >= 0) {
            if (lex(p) != 0) {
                return NULL;
            }
            node *y = parse_add(p);
            if (!y) {
                return NULL;
            }
            x = cmp(p, op, t.pos, x, y);
            continue;
        }
        if (is_kw(&t, "IS")) {
            if (lex(p) != 0) {
                return NULL;
            }
            bool neg = false;
            if (is_kw(&p->t, "NOT")) {
                neg = true;
                if (lex(p) != 0) {
                    return NULL;
                }
            }
            if (expect_kw(p, "NULL") != 0) {
                return NULL;
            }
            node *n = mk(p, N_ISNULL, t.pos, 1);
            if (!n) {
                return NULL;
            }
            n->t = E_BOOL;
            n->neg = neg;
            n->a[0] = x;
            if (x->t == E_NULL) {
                x->t = E_INT;
            }
            x = n;
            continue;
        }
        bool neg = false;
        tok kw = t;
        if (is_kw(&t, "NOT")) {
            /* NOT IN / NOT BETWEEN / NOT LIKE: look one token ahead */
            size_t save_at = p->at;
            if (lex(p) != 0) {
                return NULL;
            }
            if (!is_kw(&p->t, "IN") && !is_kw(&p->t, "BETWEEN") && !is_kw(&p->t, "LIKE")) {
                p->at = save_at;
                p->t = t;
                return x;
            }
            neg = true;
            kw = p->t;
        }
        if (is_kw(&kw, "IN")) {
            if (lex(p) != 0 || expect_op(p, "(") != 0) {
                return NULL;
            }
            node *items[256];
            int ni = 0;
            items[ni++] = x;
            for (;;) {
                if (ni == 256) {
                    perr(p, p->t.pos, "IN list too long");
                    return NULL;
                }
                if (!(items[ni++] = parse_expr(p))) {
                    return NULL;
                }
                if (!is_op(&p->t, ",")) {
                    break;
                }
                if (lex(p) != 0) {
                    return NULL;
                }
            }
            if (expect_op(p, ")") != 0) {
                return NULL;
            }
            node *probe = lit_of(p, t.pos, E_NULL);
            if (!probe) {
                return NULL;
            }
            probe->lnull = true;
            for (int i = 0; i < ni; i++) {
                node *v = items[i];
                if (common_type(p, &probe, &v) != 0) {
                    perr(p, items[i]->pos, "cannot compare %s with %s in IN", etype_name(probe->t),
                         etype_name(items[i]->t));
                    return NULL;
                }
                items[i] = v;
            }
            etype ct = probe->t == E_NULL ? E_INT : probe->t;
            node *n = mk(p, N_IN, t.pos, ni);
            if (!n) {
                return NULL;
            }
            for (int i = 0; i < ni; i++) {
                if (!(n->a[i] = coerce(p, items[i], ct))) {
                    return NULL;
                }
            }
            n->t = E_BOOL;
            n->neg = neg;
            x = n;
            continue;
        }
        if (is_kw(&kw, "BETWEEN")) {
            if (lex(p) != 0) {
                return NULL;
            }
            node *lo = parse_add(p);
            if (!lo || expect_kw(p, "AND") != 0) {
                return NULL;
            }
            node *hi = parse_add(p);
            if (!hi) {
                return NULL;
            }
            node *n = mk(p, N_AND, t.pos, 2);
            if (!n || !(n->a[0] = cmp(p, CMP_GE, t.pos, x, lo)) ||
                !(n->a[1] = cmp(p, CMP_LE, t.pos, x, hi))) {
                return NULL;
            }
            n->t = E_BOOL;
            x = neg ? negate(p, n, t.pos) : n;
            continue;
        }
        if (is_kw(&kw, "LIKE")) {
            if (lex(p) != 0) {
                return NULL;
            }
            node *pat = parse_add(p);
            if (!pat) {
                return NULL;
            }
            if ((x->t != E_STRING && x->t != E_NULL) || (pat->t != E_STRING && pat->t != E_NULL)) {
                perr(p, t.pos, "LIKE needs strings, not %s and %s", etype_name(x->t),
                     etype_name(pat->t));
                return NULL;
            }
            node *n = mk(p, N_LIKE, t.pos, 2);
            if (!n) {
                return NULL;
            }
            n->t = E_BOOL;
            n->neg = neg;
            n->esc = '\\';
            n->a[0] = coerce(p, x, E_STRING);
            n->a[1] = coerce(p, pat, E_STRING);
            if (is_kw(&p->t, "ESCAPE")) {
                if (lex(p) != 0) {
                    return NULL;
                }
                if (p->t.k != T_STR || p->t.len != 1) {
                    perr(p, p->t.pos, "ESCAPE takes a one-character string");
                    return NULL;
                }
                n->esc = p->t.s[0];
                if (lex(p) != 0) {
                    return NULL;
                }
            }
            x = n;
            continue;
        }
        break;
    }
    return x;
}

static node *need_bool(parser *p, node *x, const char *what)
{
    if (!x) {
        return NULL;
    }
    if (x->t != E_BOOL && x->t != E_NULL) {
        perr(p, x->pos, "%s needs a boolean, not %s", what, etype_name(x->t));
        return NULL;
    }
    x->t = E_BOOL;
    return x;
}

static node *parse_not(parser *p)
{
    if (is_kw(&p->t, "NOT")) {
        int pos = p->t.pos;
        if (lex(p) != 0) {
            return NULL;
        }
        if (++p->depth > 256) {
            perr(p, pos, "expression nested too deeply");
            return NULL;
        }
        node *x = need_bool(p, parse_not(p), "NOT");
        p->depth--;
        return x ? negate(p, x, pos) : NULL;
    }
    return parse_cmp(p);
}

static node *parse_and(parser *p)
{
    node *x = parse_not(p);
    while (x && is_kw(&p->t, "AND")) {
        int pos = p->t.pos;
        if (lex(p) != 0 || !need_bool(p, x, "AND")) {
            return NULL;
        }
        node *y = need_bool(p, parse_not(p), "AND");
        node *n = y ? mk(p, N_AND, pos, 2) : NULL;
        if (!n) {
            return NULL;
        }
        n->t = E_BOOL;
        n->a[0] = x;
        n->a[1] = y;
        x = n;
    }
    return x;
}

static node *parse_expr(parser *p)
{
    if (++p->depth > 256) {
        perr(p, p->t.pos, "expression nested too deeply");
        return NULL;
    }
    node *x = parse_and(p);
    while (x && is_kw(&p->t, "OR")) {
        int pos = p->t.pos;
        if (lex(p) != 0 || !need_bool(p, x, "OR")) {
            return NULL;
        }
        node *y = need_bool(p, parse_and(p), "OR");
        node *n = y ? mk(p, N_OR, pos, 2) : NULL;
        if (!n) {
            return NULL;
        }
        n->t = E_BOOL;
        n->a[0] = x;
        n->a[1] = y;
        x = n;
    }
    p->depth--;
    return x;
}

/* ---- public API ------------------------------------------------------------------------------ */

static sm_type result_type(etype t)
{
    switch (t) {
    case E_BOOL:
        return SM_BOOL;
    case E_DOUBLE:
        return SM_DOUBLE;
    case E_STRING:
        return SM_STRING;
    case E_DATE:
        return SM_DATE;
    case E_TS:
        return SM_TIMESTAMP_US;
    default:
        return SM_INT64;
    }
}
int sm_expr_compile(const char *text, const sm_field *schema, sm_arena *arena, sm_expr **out,
                    sm_error *err)
{
    *out = NULL;
    if (!schema || schema->type != SM_STRUCT) {
        return sm_error_set(err, SM_ERR_USAGE, "expression: the schema must be a struct");
    }
    bool own = arena == NULL;
    if (own && !(arena = sm_arena_create(16 * 1024, 0))) {
        return sm_error_set(err, SM_ERR_NOMEM, "expression: out of memory");
    }
    sm_expr *e = sm_arena_calloc(arena, sizeof *e);
    if (!e) {
        if (own) {
            sm_arena_destroy(arena);
        }
        return sm_error_set(err, SM_ERR_NOMEM, "expression: out of memory");
    }
    e->arena = arena;
    e->own_arena = own;
    e->text = sm_arena_strdup(arena, text ? text : "");
    parser p = {.e = e, .text = e->text ? e->text : "", .err = err, .schema = schema};
    node *root = NULL;
    if (lex(&p) == 0) {
        root = parse_expr(&p);
    }
    if (root && p.t.k != T_EOF) {
        perr(&p, p.t.pos, "unexpected '%s' after the expression",
             p.t.k == T_STR || p.t.k == T_QIDENT ? p.t.s
             : p.t.s                             ? p.t.s
                                                 : "?");
        root = NULL;
    }
    if (root && root->t == E_NULL) {
        root->t = E_BOOL; /* a bare NULL */
    }
    if (root && !(e->result = sm_field_new(arena, "expr", result_type(root->t), true))) {
        perr(&p, 1, "out of memory");
        root = NULL;
    }
    if (!root) {
        if (!p.failed) {
            sm_error_set(err, SM_ERR_USAGE, "at 1: cannot parse the expression");
        }
        sm_expr_destroy(e);
        return err ? (int)err->code : -1;
    }
    e->root = root;
    *out = e;
    return 0;
}

void sm_expr_destroy(sm_expr *e)
{
    if (!e) {
        return;
    }
    for (int i = 0; i < e->n_regex; i++) {
        regfree(e->regexes[i]);
        free(e->regexes[i]);
    }
    free(e->regexes);
    if (e->own_arena) {
        sm_arena_destroy(e->arena);
    }
}

const sm_field *sm_expr_result(const sm_expr *e)
{
    return e->result;
}

const char *sm_expr_text(const sm_expr *e)
{
    return e->text;
}

bool sm_expr_cast_target(const sm_expr *e, int *kind, int *precision, int *scale)
{
    const node *n = e->root;
    if (n->k != N_CAST || !n->cast_written) {
        return false;
    }
    *precision = n->scale >= 0 ? n->precision : 0;
    *scale = n->scale >= 0 ? n->scale : 0;
    *kind = n->scale >= 0 ? SM_DECIMAL : n->narrow ? SM_INT32 : (int)result_type(n->t);
    return true;
}
