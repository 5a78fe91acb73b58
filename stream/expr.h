/*
 * The expression language of expectations and silver `select`s (issue 7): SQL boolean and
 * scalar expressions over the columns of a batch, parsed and type-checked once when the
 * pipeline loads, then evaluated a column at a time.
 *
 * Evaluation is vectorised: each node of the compiled expression produces one result vector
 * (values + nulls) for the whole selection of rows, with a tight loop per operator and type;
 * no tree is interpreted per row. SQL three-valued logic throughout. Evaluation never fails on
 * data: division by zero, integer overflow, failed casts and bad dates give NULL (see
 * docs/expressions.md). A predicate whose result is NULL counts as failed (sm_expr_filter).
 *
 * Result types: BOOL, INT64 (every integer), DOUBLE (also DECIMAL columns and decimal
 * literals), STRING, DATE, TIMESTAMP_US.
 *
 * @thread a compiled expression is immutable and may be evaluated by several threads at once,
 * each with its own arena.
 */
#ifndef SM_STREAM_EXPR_H
#define SM_STREAM_EXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"

typedef struct sm_expr sm_expr;

/* What evaluation may depend on besides the rows: batch constants, so a re-run of a batch
 * computes the same values. */
typedef struct sm_expr_ctx {
    int64_t batch_ts_ms; /* current_timestamp / current_date */
} sm_expr_ctx;

/*
 * Parses and type-checks `text` against `schema` (a STRUCT field whose children are the
 * batch's columns; borrowed, must outlive the expression). The compiled expression lives in
 * `arena` when given (else in its own); either way release it with sm_expr_destroy (compiled
 * regular expressions are freed there). On error nothing is returned and err says
 * "at <column>: <what>" with a 1-based position in `text`.
 */
int sm_expr_compile(const char *text, const sm_field *schema, sm_arena *arena, sm_expr **out,
                    sm_error *err);
void sm_expr_destroy(sm_expr *e); /* accepts NULL */

/* The result's field (name "expr"): its type is one of the result types above. */
const sm_field *sm_expr_result(const sm_expr *e);
const char *sm_expr_text(const sm_expr *e);

/* When the whole expression is a CAST written in the text (`CAST(x AS decimal(9,2))`), the
 * type it names: *kind an sm_type (SM_INT32 for int, SM_INT64 for bigint, SM_DECIMAL with
 * *precision and *scale — DECIMAL alone is DECIMAL(10,0) —, else the result type), and true.
 * False otherwise (the result is then sm_expr_result's type). Evaluation still gives the
 * result type (INT64 / DOUBLE); this tells a caller what column type the user declared. */
bool sm_expr_cast_target(const sm_expr *e, int *kind, int *precision, int *scale);

/*
 * Evaluates over the rows `sel[0..n)` of `batch` (a STRUCT column built for the schema; all
 * rows 0..n-1 when sel is NULL). *out gets a column of n slots, slot k for row sel[k],
 * allocated in `arena` like every scratch vector. Fails only when the arena refuses memory.
 */
int sm_expr_eval(const sm_expr *e, const sm_column *batch, const sm_expr_ctx *ctx,
                 const int64_t *sel, int64_t n, sm_arena *arena, sm_column **out, sm_error *err);

/*
 * Evaluates a BOOL expression over rows sel_in[0..n_in) (all when NULL) and splits them:
 * rows where it is TRUE go to sel_true_out, rows where it is FALSE or NULL to sel_fail_out
 * (may be NULL when not wanted). Both arrays need room for n_in entries; rows keep their order.
 * SM_ERR_USAGE when the expression is not boolean.
 */
int sm_expr_filter(const sm_expr *e, const sm_column *batch, const sm_expr_ctx *ctx,
                   const int64_t *sel_in, int64_t n_in, sm_arena *arena, int64_t *sel_true_out,
                   int64_t *n_true, int64_t *sel_fail_out, int64_t *n_fail, sm_error *err);

#endif
