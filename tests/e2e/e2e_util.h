/*
 * Helpers shared by the end-to-end tests (tests/e2e/test_*.c): the orders schema, the producer
 * with faults and a ground-truth file, pipeline files, `smelter` as a child process, DuckDB
 * relations over a Delta table's active files, and the checkpoint's entries.
 *
 * CMake links every tests/<floor>/<x>_util.c into each test program of that floor, so this file
 * is compiled once per e2e test (no other floor has one).
 *
 * Helpers that check as they go use CUnit's CU_ASSERT (a failure counts in the test at hand);
 * the ones returning a status leave the judging to the caller. @thread the test's main thread.
 */
#ifndef SM_TESTS_E2E_UTIL_H
#define SM_TESTS_E2E_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "stream/engine.h"
#include "tools/producer.h"

/* True in an ASan build (__SANITIZE_ADDRESS__ / __has_feature) or when the environment has
 * SMELTER_SANITIZED set: tests scale their data down then. */
bool e2e_sanitized(void);

/* Orders with a nullable order_id (the producer's null_id fault is a value fault: it decodes). */
extern const char e2e_orders_avsc[];

/* Writes `text` to `path` (replacing it); false after printing why. */
bool e2e_write_text(const char *path, const char *text);

/* A producer configuration for `count` orders to `topic` with faults (5% bad, 1% duplicates,
 * 1% late), lz4, acks=all; `truth_path` gets the ground truth (NULL: none). rate 0 = as fast as
 * possible. The strings are borrowed. */
void e2e_orders_conf(prod_conf *c, const char *bootstrap, const char *topic, int64_t count,
                     int64_t seed, double rate, const char *truth_path);

/* Writes <dir>/<name>.yaml: pipeline `name` over topic [orders] with its lake at
 * <dir>/lake-<name>, one bronze table bronze_orders, `trigger` as a YAML flow map and
 * `kafka_extra` more lines of source.kafka ("" for none, each indented by 4). Fills `path` and
 * `lake`; false after printing why. */
bool e2e_pipeline_file(const char *dir, const char *name, const char *bootstrap,
                       const char *avsc_path, const char *trigger, const char *kafka_extra,
                       char *path, size_t path_n, char *lake, size_t lake_n);

/* Runs the pipeline file at `path` in this process with available_now; returns the engine's code
 * (after printing the error) and fills *tot with its totals. */
int e2e_run_in_process(const char *path, sm_batch_report *tot);

/* ---- smelter as a child process ------------------------------------------------------------- */

/* Starts argv[0] with argv, the environment plus `env_extra` ("NAME=value" or NULL), stdin from
 * /dev/null and stdout + stderr appended to `log_path`. Returns the pid, or -1 after printing
 * why. Async-signal-safe between fork and exec (the test process has broker threads). */
pid_t e2e_spawn(char *const argv[], const char *env_extra, const char *log_path);

/* Waits up to `timeout_ms` (< 0: forever) for `pid`. True when it ended: *code is its exit
 * status, or 128 + the signal that ended it. False on timeout (it is still running). */
bool e2e_wait(pid_t pid, int64_t timeout_ms, int *code);

/* SIGKILL and reap; returns the code as e2e_wait. */
int e2e_kill(pid_t pid);

/* Prints the last `bytes` of a log file to stderr (for failures). */
void e2e_print_tail(const char *log_path, long bytes);

/* ---- tables and checkpoints ------------------------------------------------------------------ */

/* "read_parquet([...], hive_partitioning = <hive>)" over the active files of the Delta table at
 * `table` (malloc'ed), or "(SELECT <empty_cols> WHERE false)" when the table does not exist or
 * has no files. Asserts (fatally) that the table loads. */
char *e2e_table_sql(const char *table, const char *empty_cols, bool hive);

/* The columns of the dead-letter table, as an empty relation's select list. */
extern const char e2e_dead_empty[];

/* Sum of numRecords over the active files' stats of a Delta table: 0 when the table does not
 * exist, -1 when it does not load or a file has no numRecords. */
int64_t e2e_table_rows(const char *table);

/* Integer column `k` of a DuckDB result row; -999 (and a message) when missing. */
int64_t e2e_get_int(json_t *row, const char *k);

/* The highest numeric file name in `dir` (a checkpoint's offsets/ or commits/), -1 when there is
 * none or no directory; *count_out (may be NULL) gets how many numeric names there are. */
int64_t e2e_latest_entry(const char *dir, int64_t *count_out);

#endif
