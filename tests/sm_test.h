/*
 * Shared CUnit harness: each tests/<floor>/test_<module>.c defines its cases and ends with
 *
 *   static CU_TestInfo tests[] = {{"refuses existing version", test_...}, CU_TEST_INFO_NULL};
 *   SM_TEST_MAIN("durable", tests)
 *
 * The program runs the suite with CUnit's basic runner (verbose, so every test's name and
 * result appear in ctest's log) and exits non-zero on any failure, which ctest counts.
 */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <CUnit/Basic.h>
#include <jansson.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh empty directory under $TMPDIR (or /tmp); the caller frees the string. */
char *sm_test_tmpdir(const char *tag);
/* rm -rf of a test directory made by sm_test_tmpdir. */
void sm_test_rmtree(const char *path);

/*
 * The independent reader: runs `sql` in DuckDB (@duckdb/node-api, installed in tests/node by
 * scripts/setup.sh --test) and returns the rows of its last statement as a JSON array of
 * objects (caller json_decref's), or NULL after printing DuckDB's error. BIGINT values arrive
 * as strings: read numbers with sm_test_int.
 */
json_t *sm_test_duckdb(const char *sql);
long long sm_test_int(const json_t *v);

/* Runs one suite; setup/teardown may be NULL. Suite set-up failures count as failures. */
int sm_test_run(const char *suite, CU_InitializeFunc setup, CU_CleanupFunc teardown,
                CU_TestInfo *cases);

#define SM_TEST_MAIN(suite_name, cases)                                                            \
    int main(void)                                                                                 \
    {                                                                                              \
        return sm_test_run(suite_name, NULL, NULL, cases);                                         \
    }

/* Same, with a set-up run before the first case and a tear-down after the last. */
#define SM_TEST_MAIN_FIXTURE(suite_name, setup, teardown, cases)                                   \
    int main(void)                                                                                 \
    {                                                                                              \
        return sm_test_run(suite_name, setup, teardown, cases);                                    \
    }

#endif
