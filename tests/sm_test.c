/* Helpers for the CUnit programs (see sm_test.h). Compiled into each test program. */
#include "sm_test.h"

#include <ftw.h>
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
    CU_SuiteInfo suites[] = {{suite, setup, teardown, NULL, NULL, cases},
                             CU_SUITE_INFO_NULL};
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
