/* Helpers for the CUnit programs (see sm_test.h). Compiled into each test program. */
#include "sm_test.h"

#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

char *sm_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/smelter-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void sm_test_rmtree(const char *path)
{
    if (path) {
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

int sm_test_run(const char *suite, CU_InitializeFunc setup, CU_CleanupFunc teardown,
                CU_TestInfo *cases)
{
    CU_SuiteInfo suites[] = {{suite, setup, teardown, NULL, NULL, cases}, CU_SUITE_INFO_NULL};
    unsigned failed;
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "register: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
             CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

json_t *sm_test_duckdb(const char *sql)
{
    const char *node_dir = getenv("SMELTER_NODE_DIR");
    char sql_path[] = "/tmp/smelter-sql-XXXXXX";
    char cmd[8192];
    FILE *f, *p;
    int fd, st;
    json_t *rows;
    json_error_t jerr;

    if (!node_dir) {
        fprintf(stderr, "sm_test_duckdb: SMELTER_NODE_DIR is not set (run through ctest)\n");
        return NULL;
    }
    fd = mkstemp(sql_path);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        perror("sm_test_duckdb: temp file");
        return NULL;
    }
    fputs(sql, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "node '%s/duckdb_query.mjs' < '%s'", node_dir, sql_path);
    p = popen(cmd, "r");
    if (!p) {
        perror("sm_test_duckdb: popen");
        unlink(sql_path);
        return NULL;
    }
    rows = json_loadf(p, JSON_DECODE_ANY, &jerr);
    st = pclose(p);
    unlink(sql_path);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !json_is_array(rows)) {
        fprintf(stderr, "sm_test_duckdb: query failed (exit %d): %s\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : -1, sql);
        json_decref(rows);
        return NULL;
    }
    return rows;
}

long long sm_test_int(const json_t *v)
{
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_string(v)) {
        return strtoll(json_string_value(v), NULL, 10);
    }
    if (json_is_real(v)) {
        return (long long)json_real_value(v);
    }
    return -1;
}
