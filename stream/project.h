/*
 * sm_project — a silver table's `select:` (issue 7): a list of "expr [AS name]" items over the
 * table's input columns, as Spark's selectExpr, compiled once and evaluated per chunk.
 *
 * Items:
 *   - `*` stands for every input column, as it is, in input order;
 *   - a bare column name (`price`, or quoted `"price"`) is that input column, as it is: same
 *     type, same nullability, and no copy when evaluated (the output shares the input's
 *     column);
 *   - anything else is compiled with stream/expr.h against the input schema; the output column
 *     is nullable and has the expression's result type, except that a top-level
 *     `CAST(x AS int)` gives INT32 and `CAST(x AS decimal(p,s))` gives DECIMAL(p,s) (values that
 *     do not fit become NULL), so the table has the type the user declared;
 *   - `AS name` names the output column (the last top-level `AS`, outside parentheses and
 *     quotes, that is followed by an identifier and nothing else: `CAST(x AS int)` alone is not
 *     renamed); without it a bare column keeps its name and an expression is refused (SM_ERR_USAGE:
 *     "select item K (`text`): at N: give the expression a name: <expr> AS <name>").
 * Output names must be unique (case-sensitive, as column names are everywhere here).
 *
 * Errors are SM_ERR_USAGE: "select item K (`text`): at N: <what>" where K is 1-based and N the
 * 1-based position in the item's text (the compiler's position, shifted to the item).
 *
 * @thread a compiled projection is immutable; sm_project_eval may run on several threads at
 * once, each with its own arena.
 */
#ifndef SM_STREAM_PROJECT_H
#define SM_STREAM_PROJECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"
#include "stream/expr.h"

typedef struct sm_project sm_project;

/* Compiles items[0..n) against `input` (a STRUCT field; borrowed, must outlive the projection).
 * n == 0 is the identity (every input column as it is). Lives in its own memory. */
int sm_project_new(const sm_field *input, const char *const *items, size_t n, sm_project **out,
                   sm_error *err);
void sm_project_free(sm_project *p); /* accepts NULL */

/* The output: a STRUCT field named "select" whose children are the output columns in order. */
const sm_field *sm_project_schema(const sm_project *p);

/* The input column index that output column k is (shared, not copied), or -1 when computed. */
int sm_project_input_column(const sm_project *p, int k);

/* The output of every row of `batch` (a STRUCT column of the input schema): a STRUCT column of
 * sm_project_schema() with batch->length rows. Bare columns are the input's own column objects
 * (a renamed one is a copy of the column struct in `arena` that shares the input's buffers and
 * carries the output field); computed ones and the struct itself are allocated in `arena`.
 * Fails only on memory. */
int sm_project_eval(const sm_project *p, const sm_column *batch, const sm_expr_ctx *ctx,
                    sm_arena *arena, sm_column **out, sm_error *err);

#endif
