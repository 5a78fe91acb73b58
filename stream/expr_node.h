/*
 * Private to stream/expr_parse.c and stream/expr_eval.c: the compiled form of an expression.
 *
 * Types inside: NULL (an untyped NULL literal), BOOL, INT (int64), DOUBLE, STRING, DATE (days),
 * TS (microseconds). The checker inserts implicit casts so each evaluation loop handles one
 * type.
 */
#ifndef SM_STREAM_EXPR_NODE_H
#define SM_STREAM_EXPR_NODE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "stream/expr.h"

enum { SM_EXPR_MAX_NODES = 4096 };

typedef enum { E_NULL, E_BOOL, E_INT, E_DOUBLE, E_STRING, E_DATE, E_TS } etype;

static inline const char *etype_name(etype t)
{
    static const char *const names[] = {"null",   "boolean", "int",      "double",
                                        "string", "date",    "timestamp"};
    return names[t];
}

typedef enum {
    N_LIT,
    N_COL,
    N_NEG,
    N_ARITH, /* op: + - * / % */
    N_CMP,   /* op: CMP_* */
    N_AND,
    N_OR,
    N_NOT,
    N_ISNULL, /* neg: IS NOT NULL */
    N_IN,     /* a[0] IN a[1..] ; neg */
    N_LIKE,   /* a[0] LIKE a[1] ; neg ; esc */
    N_CASE,   /* a: cond, val pairs, then else (always present, maybe NULL literal) */
    N_CAST,   /* a[0] to t; narrow: int32 range; scale >= 0: decimal rounding */
    N_FUNC,
    N_NOW, /* current_date / current_timestamp by t */
} nkind;

enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

enum {
    F_LENGTH,
    F_TRIM,
    F_LTRIM,
    F_RTRIM,
    F_LOWER,
    F_UPPER,
    F_SUBSTR,
    F_COALESCE,
    F_ABS,
    F_ROUND,
    F_REGEXP_LIKE,
    F_YEAR,
    F_MONTH,
    F_DAY,
    F_HOUR,
    F_MINUTE,
    F_SECOND,
    F_DATE_TRUNC,
};

enum { TR_YEAR, TR_QUARTER, TR_MONTH, TR_WEEK, TR_DAY, TR_HOUR, TR_MINUTE, TR_SECOND };
typedef struct node {
    nkind k;
    etype t;
    int pos; /* 1-based column in the text */
    int op;
    bool neg;
    bool narrow;       /* CAST AS INT: int32 range */
    int scale;         /* CAST AS DECIMAL(p, s): s, else -1 */
    bool cast_written; /* N_CAST written in the text (not one the checker inserted) */
    int precision;     /* CAST AS DECIMAL(p, s): p */
    char esc;          /* LIKE ... ESCAPE */
    struct node **a;
    int na;
    /* N_LIT */
    bool lnull;
    int64_t li;
    double ld;
    const char *ls;
    int32_t lslen;
    /* N_COL */
    int *path;
    int depth;
    const sm_field *field;
    /* N_FUNC */
    int fn;
    regex_t *re;
} node;

struct sm_expr {
    sm_arena *arena;
    bool own_arena;
    const char *text;
    node *root;
    sm_field *result;
    regex_t **regexes;
    int n_regex, cap_regex;
};

/* "YYYY-MM-DD" (a real calendar day) to days since the epoch; 0 or -1. */
int sm_expr_parse_date(const char *s, size_t len, int64_t *days);
/* An ISO-8601 date or timestamp (space or T, optional zone, up to microseconds) to
 * microseconds since the epoch; 0 or -1. */
int sm_expr_parse_ts(const char *s, size_t len, int64_t *us);

#endif
