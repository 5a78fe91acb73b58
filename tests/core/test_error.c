/* Tests of core/error.c: messages, errno, retriable, prefixes, codes and exit statuses. */
#include <errno.h>
#include <string.h>

#include "core/error.h"
#include "sm_test.h"

static void test_error_set_formats_message_and_clears_errno(void)
{
    sm_error err;
    err.sys_errno = EIO;
    err.retriable = true;
    int rc = sm_error_set(&err, SM_ERR_CORRUPT, "offsets/%d: bad line %s", 42, "x");
    CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(err.code, SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(err.sys_errno, 0);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT_STRING_EQUAL(err.msg, "offsets/42: bad line x");
}

static void test_error_sys_appends_strerror_and_records_errno(void)
{
    sm_error err;
    int rc = sm_error_sys(&err, SM_ERR_IO, ENOSPC, "write %s: fsync", "/x/y.json");
    CU_ASSERT_EQUAL(rc, SM_ERR_IO);
    CU_ASSERT_EQUAL(err.code, SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOSPC);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT_STRING_EQUAL(err.msg, "write /x/y.json: fsync: No space left on device");
}

static void test_error_sys_marks_transient_errnos_retriable(void)
{
    const int transient[] = {EINTR, EAGAIN, EBUSY, ETIMEDOUT};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        sm_error err;
        sm_error_sys(&err, SM_ERR_IO, transient[i], "op");
        CU_ASSERT_TRUE(err.retriable);
    }
    const int permanent[] = {ENOSPC, EACCES, ENOENT, EIO};
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++) {
        sm_error err;
        sm_error_sys(&err, SM_ERR_IO, permanent[i], "op");
        CU_ASSERT_FALSE(err.retriable);
    }
}

static void test_error_set_after_sys_clears_retriable(void)
{
    sm_error err;
    sm_error_sys(&err, SM_ERR_IO, EAGAIN, "read");
    sm_error_set(&err, SM_ERR_USAGE, "bad flag");
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT_EQUAL(err.sys_errno, 0);
}

static void test_error_prefix_keeps_code_and_errno(void)
{
    sm_error err;
    sm_error_sys(&err, SM_ERR_IO, EAGAIN, "write");
    sm_error_prefix(&err, "offsets/%d", 42);
    CU_ASSERT_EQUAL(err.code, SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, EAGAIN);
    CU_ASSERT_TRUE(err.retriable);
    CU_ASSERT_STRING_EQUAL(err.msg, "offsets/42: write: Resource temporarily unavailable");
}

static void test_error_prefix_truncates_long_messages_safely(void)
{
    sm_error err;
    char long_msg[2 * SM_ERROR_MSG_MAX];
    memset(long_msg, 'm', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = '\0';
    sm_error_set(&err, SM_ERR_IO, "%s", long_msg);
    CU_ASSERT_EQUAL(strlen(err.msg), SM_ERROR_MSG_MAX - 1);

    sm_error_prefix(&err, "table %s", "silver_orders");
    CU_ASSERT_EQUAL(strlen(err.msg), SM_ERROR_MSG_MAX - 1);
    CU_ASSERT_EQUAL(strncmp(err.msg, "table silver_orders: mmm", 24), 0);

    /* A prefix longer than the whole buffer is itself cut. */
    sm_error_prefix(&err, "%s", long_msg);
    CU_ASSERT_EQUAL(strlen(err.msg), SM_ERROR_MSG_MAX - 1);
    CU_ASSERT_EQUAL(err.code, SM_ERR_IO);
}

static void test_error_prefix_of_empty_message(void)
{
    sm_error err;
    sm_error_clear(&err);
    sm_error_prefix(&err, "ctx");
    CU_ASSERT_STRING_EQUAL(err.msg, "ctx: ");
}

static void test_error_null_err_still_returns_code(void)
{
    CU_ASSERT_EQUAL(sm_error_set(NULL, SM_ERR_USAGE, "x"), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_error_sys(NULL, SM_ERR_IO, EIO, "x"), SM_ERR_IO);
    sm_error_prefix(NULL, "x");
    sm_error_clear(NULL);
}

static void test_error_clear_resets_to_ok(void)
{
    sm_error err;
    sm_error_sys(&err, SM_ERR_IO, EINTR, "x");
    sm_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, SM_OK);
    CU_ASSERT_EQUAL(err.sys_errno, 0);
    CU_ASSERT_FALSE(err.retriable);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
}

static void test_error_code_names_are_short_and_stable(void)
{
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_OK), "ok");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_USAGE), "usage");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_IO), "io");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_NOMEM), "nomem");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_CORRUPT), "corrupt");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_KAFKA), "kafka");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_TIMEOUT), "timeout");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_CONFLICT), "conflict");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_EXPECTATION), "expectation");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_INTERRUPTED), "interrupted");
    CU_ASSERT_STRING_EQUAL(sm_code_name(SM_ERR_INTERNAL), "internal");
    CU_ASSERT_STRING_EQUAL(sm_code_name((sm_code)999), "unknown");
}

static void test_error_exit_codes_follow_the_readme(void)
{
    CU_ASSERT_EQUAL(sm_exit_code(SM_OK), 0);
    CU_ASSERT_EQUAL(sm_exit_code(SM_ERR_USAGE), 2);
    CU_ASSERT_EQUAL(sm_exit_code(SM_ERR_EXPECTATION), 3);
    CU_ASSERT_EQUAL(sm_exit_code(SM_ERR_INTERRUPTED), 130);
    const sm_code runtime[] = {SM_ERR_IO,      SM_ERR_NOMEM,    SM_ERR_CORRUPT, SM_ERR_KAFKA,
                               SM_ERR_TIMEOUT, SM_ERR_CONFLICT, SM_ERR_INTERNAL};
    for (size_t i = 0; i < sizeof runtime / sizeof runtime[0]; i++) {
        CU_ASSERT_EQUAL(sm_exit_code(runtime[i]), 1);
    }
}

static CU_TestInfo tests[] = {
    {"set formats message and clears errno", test_error_set_formats_message_and_clears_errno},
    {"sys appends strerror and records errno", test_error_sys_appends_strerror_and_records_errno},
    {"sys marks transient errnos retriable", test_error_sys_marks_transient_errnos_retriable},
    {"set after sys clears retriable", test_error_set_after_sys_clears_retriable},
    {"prefix keeps code and errno", test_error_prefix_keeps_code_and_errno},
    {"prefix truncates long messages safely", test_error_prefix_truncates_long_messages_safely},
    {"prefix of empty message", test_error_prefix_of_empty_message},
    {"NULL err still returns code", test_error_null_err_still_returns_code},
    {"clear resets to ok", test_error_clear_resets_to_ok},
    {"code names are short and stable", test_error_code_names_are_short_and_stable},
    {"exit codes follow the README", test_error_exit_codes_follow_the_readme},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("error", tests)
