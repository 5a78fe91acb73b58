/*
 * Tests of core/durable.c: whole files or none, put-if-absent, sticky errors, and a failure
 * injected at every step (core/fault.h) leaving no temporary behind and the target as it was,
 * except after the move, where the new file stays and the error says it may not be durable.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/fault.h"
#include "core/log.h"
#include "sm_test.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0) {
        abort();
    }
    return p;
}

/* Number of entries in dir other than "." and ".."; their names joined in `names`. */
static int count_entries(const char *dir, char *names, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) {
        return -1;
    }
    int count = 0;
    if (names && n) {
        names[0] = '\0';
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        count++;
        if (names) {
            strncat(names, e->d_name, n - strlen(names) - 1);
            strncat(names, " ", n - strlen(names) - 1);
        }
    }
    closedir(d);
    return count;
}

/* The file's content, or NULL when it does not exist. */
static char *content(const char *path)
{
    char *data = NULL;
    size_t len;
    if (sm_read_file(path, 1 << 20, &data, &len, NULL) != SM_OK) {
        return NULL;
    }
    return data;
}

/* --- hooks */

typedef struct fault_plan {
    sm_fault_point point; /* where to fail */
    int err;              /* with what */
    int skip;             /* let this many checks at `point` pass first */
    int times;            /* fail this many times, then pass (-1: always) */
    int hits;             /* checks seen at `point` */
    int fired;
} fault_plan;

static int plan_hook(sm_fault_point point, const char *path, void *ctx)
{
    (void)path;
    fault_plan *p = ctx;
    if (point != p->point) {
        return 0;
    }
    p->hits++;
    if (p->hits <= p->skip || (p->times >= 0 && p->fired >= p->times)) {
        return 0;
    }
    p->fired++;
    return p->err;
}

static void test_durable_write_file_creates_whole_file(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "a.json");
    sm_error err;
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "{\"v\":1}", 7, SM_DURABLE_REPLACE, &err), SM_OK);
    char *got = content(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "{\"v\":1}");
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1); /* no temporary left */
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISREG(st.st_mode));
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_replace_overwrites_existing(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "state.json");
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "old", 3, SM_DURABLE_REPLACE, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "newer", 5, SM_DURABLE_REPLACE, NULL), SM_OK);
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "newer");
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_noreplace_creates_absent_file(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "00000000000000000000.json");
    sm_error err;
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "commit", 6, SM_DURABLE_NOREPLACE, &err), SM_OK);
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "commit");
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_noreplace_refuses_existing(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "00000000000000000042.json");
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "first", 5, SM_DURABLE_NOREPLACE, NULL), SM_OK);
    sm_error err;
    int rc = sm_durable_write_file(path, "second", 6, SM_DURABLE_NOREPLACE, &err);
    CU_ASSERT_EQUAL(rc, SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(err.code, SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(err.sys_errno, EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exists"));
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "first"); /* still the other writer's */
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_streaming_write_counts_bytes(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "part-0.parquet");
    sm_durable *f;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(sm_durable_open(path, SM_DURABLE_REPLACE, &f, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_size(f), 0);
    CU_ASSERT_EQUAL(sm_durable_write(f, "abc", 3, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write(f, "", 0, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write(f, "defgh", 5, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_size(f), 8);
    /* Invisible until committed. */
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    CU_ASSERT_EQUAL(sm_durable_commit(f, &err), SM_OK);
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "abcdefgh");
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_large_file_round_trips(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "big.bin");
    size_t n = 3 * 1024 * 1024 + 17;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++) {
        data[i] = (char)(i * 31 + 7);
    }
    CU_ASSERT_EQUAL(sm_durable_write_file(path, data, n, SM_DURABLE_REPLACE, NULL), SM_OK);
    char *got = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(sm_read_file(path, n, &got, &len, NULL), SM_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT_TRUE(got && memcmp(got, data, n) == 0);
    free(got);
    free(data);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_abort_leaves_nothing(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "x.json");
    sm_durable *f;
    CU_ASSERT_EQUAL_FATAL(sm_durable_open(path, SM_DURABLE_NOREPLACE, &f, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write(f, "data", 4, NULL), SM_OK);
    sm_durable_abort(f);
    sm_durable_abort(NULL);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_temp_name_is_hidden_beside_target(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "t.json");
    sm_durable *f1, *f2;
    CU_ASSERT_EQUAL_FATAL(sm_durable_open(path, SM_DURABLE_REPLACE, &f1, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(sm_durable_open(path, SM_DURABLE_REPLACE, &f2, NULL), SM_OK);
    char names[512];
    CU_ASSERT_EQUAL(count_entries(dir, names, sizeof names), 2); /* distinct names */
    char prefix[64];
    snprintf(prefix, sizeof prefix, ".t.json.%ld.", (long)getpid());
    CU_ASSERT_EQUAL(strncmp(names, prefix, strlen(prefix)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(names, ".tmp "));
    sm_durable_abort(f1);
    sm_durable_abort(f2);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_open_in_missing_directory_fails(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "missing/x.json");
    sm_durable *f = (sm_durable *)1;
    sm_error err;
    CU_ASSERT_EQUAL(sm_durable_open(path, SM_DURABLE_REPLACE, &f, &err), SM_ERR_IO);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ": open: "));
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_open_refuses_directory_names(void)
{
    sm_durable *f;
    sm_error err;
    CU_ASSERT_EQUAL(sm_durable_open("/tmp/", SM_DURABLE_REPLACE, &f, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/tmp/"));
    CU_ASSERT_EQUAL(sm_durable_open("", SM_DURABLE_REPLACE, &f, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_durable_open("/tmp/..", SM_DURABLE_REPLACE, &f, &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_durable_open(NULL, SM_DURABLE_REPLACE, &f, &err), SM_ERR_USAGE);
}

static void test_durable_relative_path_in_current_directory(void)
{
    char *dir = sm_test_tmpdir("durable");
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    CU_ASSERT_EQUAL(sm_durable_write_file("rel.json", "r", 1, SM_DURABLE_NOREPLACE, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write_file("rel2.json", "r", 1, SM_DURABLE_REPLACE, NULL), SM_OK);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 2);
    sm_test_rmtree(dir);
    free(dir);
}

/* The heart of it: a failure at each step, for both modes, with and without a previous file.
 * Before and in the move the target stays as it was; a failed directory fsync after the move
 * leaves the new file in place (it may have been read already) and says so. */
static void check_fault_at(sm_fault_point point, sm_durable_mode mode, bool existing)
{
    char *dir = sm_test_tmpdir("durable-fault");
    char *path = path_in(dir, "target.json");
    if (existing) {
        CU_ASSERT_EQUAL_FATAL(sm_durable_write_file(path, "previous", 8, mode, NULL), SM_OK);
    }
    fault_plan plan = {.point = point, .err = ENOSPC, .times = -1};
    sm_fault_install(plan_hook, &plan);
    sm_error err;
    sm_error_clear(&err);
    int rc = sm_durable_write_file(path, "replacement", 11, mode, &err);
    sm_fault_install(NULL, NULL);

    char what[128];
    snprintf(what, sizeof what, "fault at %s, %s, %s", sm_fault_point_name(point),
             mode == SM_DURABLE_REPLACE ? "replace" : "noreplace", existing ? "existing" : "new");
    bool after_move = point == SM_FAULT_FSYNC_DIR;
    CU_ASSERT_TRUE(plan.fired > 0);
    CU_ASSERT_NOT_EQUAL(rc, SM_OK);
    CU_ASSERT_EQUAL((int)err.code, rc);
    if (rc != SM_ERR_IO || err.sys_errno != ENOSPC || !strstr(err.msg, path) ||
        !strstr(err.msg, "No space left on device") ||
        (after_move && !strstr(err.msg, "may not survive a crash"))) {
        fprintf(stderr, "\n  %s: rc=%d errno=%d msg=%s\n", what, rc, err.sys_errno, err.msg);
        CU_FAIL("error does not name the path and the cause");
    }
    char *got = content(path);
    if (after_move) {
        CU_ASSERT_TRUE(got && strcmp(got, "replacement") == 0); /* never taken back */
    } else if (existing) {
        CU_ASSERT_PTR_NOT_NULL(got);
        CU_ASSERT_TRUE(got && strcmp(got, "previous") == 0);
    } else {
        CU_ASSERT_PTR_NULL(got);
    }
    char names[1024];
    int entries = count_entries(dir, names, sizeof names);
    if (entries != (existing || after_move ? 1 : 0)) {
        fprintf(stderr, "\n  %s: left behind: %s\n", what, names);
        CU_FAIL("temporary files left behind");
    }
    free(got);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_fault_at_each_point_changes_target_only_after_move(void)
{
    for (int p = 0; p < SM_FAULT_POINT_COUNT; p++) {
        check_fault_at((sm_fault_point)p, SM_DURABLE_REPLACE, false);
        check_fault_at((sm_fault_point)p, SM_DURABLE_REPLACE, true);
        check_fault_at((sm_fault_point)p, SM_DURABLE_NOREPLACE, false);
    }
}

static void test_durable_fault_messages_name_the_step(void)
{
    static const char *const steps[] = {
        ": open: ", ": write: ", ": fsync: ", ": rename: ", ": fsync dir: "};
    static const char *const notes[] = {"", "", "", "",
                                        " (the file is in place but may not survive a crash)"};
    for (int p = 0; p < SM_FAULT_POINT_COUNT; p++) {
        fault_plan plan = {.point = (sm_fault_point)p, .err = EIO, .times = -1};
        char *dir = sm_test_tmpdir("durable-step");
        char *path = path_in(dir, "s.json");
        sm_fault_install(plan_hook, &plan);
        sm_error err;
        sm_durable_write_file(path, "x", 1, SM_DURABLE_REPLACE, &err);
        sm_fault_install(NULL, NULL);
        char want[512];
        snprintf(want, sizeof want, "write %s%sInput/output error%s", path, steps[p], notes[p]);
        CU_ASSERT_STRING_EQUAL(err.msg, want);
        free(path);
        sm_test_rmtree(dir);
        free(dir);
    }
}

static void test_durable_write_error_is_sticky(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "sticky.json");
    sm_durable *f;
    CU_ASSERT_EQUAL_FATAL(sm_durable_open(path, SM_DURABLE_REPLACE, &f, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write(f, "ok ", 3, NULL), SM_OK);

    fault_plan plan = {.point = SM_FAULT_WRITE, .err = EDQUOT, .times = 1};
    sm_fault_install(plan_hook, &plan);
    sm_error e1, e2, e3;
    CU_ASSERT_EQUAL(sm_durable_write(f, "lost", 4, &e1), SM_ERR_IO);
    sm_fault_install(NULL, NULL);

    /* The hook no longer fires, yet the writer keeps failing with the first error. */
    CU_ASSERT_EQUAL(sm_durable_write(f, "more", 4, &e2), SM_ERR_IO);
    CU_ASSERT_EQUAL(plan.fired, 1);
    CU_ASSERT_STRING_EQUAL(e2.msg, e1.msg);
    CU_ASSERT_EQUAL(e2.sys_errno, EDQUOT);
    CU_ASSERT_EQUAL(sm_durable_size(f), 3);
    CU_ASSERT_EQUAL(sm_durable_commit(f, &e3), SM_ERR_IO);
    CU_ASSERT_STRING_EQUAL(e3.msg, e1.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(e1.msg, path));
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_write_retries_after_eintr(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "eintr.json");
    fault_plan plan = {.point = SM_FAULT_WRITE, .err = EINTR, .times = 2};
    sm_fault_install(plan_hook, &plan);
    int rc = sm_durable_write_file(path, "patience", 8, SM_DURABLE_REPLACE, NULL);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_OK);
    CU_ASSERT_EQUAL(plan.fired, 2);
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "patience");
    free(got);

    plan = (fault_plan){.point = SM_FAULT_OPEN, .err = EINTR, .times = 1};
    sm_fault_install(plan_hook, &plan);
    rc = sm_durable_write_file(path, "again", 5, SM_DURABLE_REPLACE, NULL);
    plan = (fault_plan){.point = SM_FAULT_FSYNC, .err = EINTR, .times = 1};
    rc |= sm_durable_write_file(path, "again", 5, SM_DURABLE_REPLACE, NULL);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_OK);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_noreplace_falls_back_to_link(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "00000000000000000007.json");
    /* renameat2 "not supported": the link() path must do the same job. */
    const int unsupported[] = {EINVAL, ENOSYS, ENOTSUP};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        unlink(path);
        fault_plan plan = {.point = SM_FAULT_RENAME, .err = unsupported[i], .times = 1};
        sm_fault_install(plan_hook, &plan);
        sm_error err;
        int rc = sm_durable_write_file(path, "linked", 6, SM_DURABLE_NOREPLACE, &err);
        sm_fault_install(NULL, NULL);
        CU_ASSERT_EQUAL(rc, SM_OK);
        CU_ASSERT_EQUAL(plan.hits, 2); /* renameat2, then link */
        char *got = content(path);
        CU_ASSERT_STRING_EQUAL(got, "linked");
        free(got);
        CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    }

    /* link() refuses an existing name too. */
    fault_plan plan = {.point = SM_FAULT_RENAME, .err = EINVAL, .times = 1};
    sm_fault_install(plan_hook, &plan);
    sm_error err;
    int rc = sm_durable_write_file(path, "loser", 5, SM_DURABLE_NOREPLACE, &err);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_ERR_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    char *got = content(path);
    CU_ASSERT_STRING_EQUAL(got, "linked");
    free(got);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);

    /* And a link() failure is reported as such. */
    unlink(path);
    plan = (fault_plan){.point = SM_FAULT_RENAME, .err = EINVAL, .times = -1};
    sm_fault_install(plan_hook, &plan);
    rc = sm_durable_write_file(path, "x", 1, SM_DURABLE_NOREPLACE, &err);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ": link: "));
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_rename_eexist_fault_is_a_conflict(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "c.json");
    fault_plan plan = {.point = SM_FAULT_RENAME, .err = EEXIST, .times = -1};
    sm_fault_install(plan_hook, &plan);
    sm_error err;
    int rc = sm_durable_write_file(path, "x", 1, SM_DURABLE_NOREPLACE, &err);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(rc, SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

typedef struct race {
    const char *path;
    int rc;
    char body[16];
} race;

static void *race_writer(void *arg)
{
    race *r = arg;
    r->rc = sm_durable_write_file(r->path, r->body, strlen(r->body), SM_DURABLE_NOREPLACE, NULL);
    return NULL;
}

static void test_durable_noreplace_race_has_one_winner(void)
{
    char *dir = sm_test_tmpdir("durable-race");
    for (int round = 0; round < 20; round++) {
        char name[32];
        snprintf(name, sizeof name, "%020d.json", round);
        char *path = path_in(dir, name);
        race r[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            r[i].path = path;
            snprintf(r[i].body, sizeof r[i].body, "writer %d", i);
            pthread_create(&th[i], NULL, race_writer, &r[i]);
        }
        int winners = 0, conflicts = 0, winner = -1;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            winners += r[i].rc == SM_OK;
            conflicts += r[i].rc == SM_ERR_CONFLICT;
            if (r[i].rc == SM_OK) {
                winner = i;
            }
        }
        CU_ASSERT_EQUAL(winners, 1);
        CU_ASSERT_EQUAL(conflicts, 3);
        char *got = content(path);
        CU_ASSERT_TRUE(winner >= 0 && got && strcmp(got, r[winner].body) == 0);
        free(got);
        free(path);
    }
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 20);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_fsync_dir(void)
{
    char *dir = sm_test_tmpdir("durable");
    sm_error err;
    CU_ASSERT_EQUAL(sm_fsync_dir(dir, &err), SM_OK);

    char *missing = path_in(dir, "nope");
    CU_ASSERT_EQUAL(sm_fsync_dir(missing, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, missing));

    fault_plan plan = {.point = SM_FAULT_FSYNC_DIR, .err = EIO, .times = -1};
    sm_fault_install(plan_hook, &plan);
    CU_ASSERT_EQUAL(sm_fsync_dir(dir, &err), SM_ERR_IO);
    sm_fault_install(NULL, NULL);
    CU_ASSERT_EQUAL(err.sys_errno, EIO);
    char want[512];
    snprintf(want, sizeof want, "fsync dir %s: Input/output error", dir);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    free(missing);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_mkdir_p(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *deep = path_in(dir, "a/b//c/d/");
    sm_error err;
    CU_ASSERT_EQUAL(sm_mkdir_p(deep, &err), SM_OK);
    char *check = path_in(dir, "a/b/c/d");
    struct stat st;
    CU_ASSERT_EQUAL(stat(check, &st), 0);
    CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
    mode_t mask = umask(0);
    umask(mask);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0755 & ~mask);
    CU_ASSERT_EQUAL(sm_mkdir_p(deep, &err), SM_OK); /* existing is fine */
    CU_ASSERT_EQUAL(sm_mkdir_p(dir, &err), SM_OK);
    CU_ASSERT_EQUAL(sm_mkdir_p("/", &err), SM_OK);

    /* A file in the way. */
    char *file = path_in(dir, "a/file");
    CU_ASSERT_EQUAL(sm_durable_write_file(file, "x", 1, SM_DURABLE_REPLACE, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_mkdir_p(file, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOTDIR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, file));
    char *below = path_in(dir, "a/file/sub");
    CU_ASSERT_EQUAL(sm_mkdir_p(below, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOTDIR);

    CU_ASSERT_EQUAL(sm_mkdir_p("", &err), SM_ERR_USAGE);
    CU_ASSERT_EQUAL(sm_mkdir_p(NULL, &err), SM_ERR_USAGE);

    /* Relative paths. */
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    CU_ASSERT_EQUAL(sm_mkdir_p("rel/x", &err), SM_OK);
    CU_ASSERT_EQUAL(stat("rel/x", &st), 0);
    CU_ASSERT_EQUAL(chdir(cwd), 0);

    free(below);
    free(file);
    free(check);
    free(deep);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_mkdir_p_reports_permission_errors(void)
{
    if (geteuid() == 0) {
        /* root ignores directory permissions; nothing to test */
        return;
    }
    char *dir = sm_test_tmpdir("durable");
    char *locked = path_in(dir, "locked");
    CU_ASSERT_EQUAL_FATAL(mkdir(locked, 0500), 0);
    char *inside = path_in(dir, "locked/sub");
    sm_error err;
    CU_ASSERT_EQUAL(sm_mkdir_p(inside, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, EACCES);
    chmod(locked, 0700);
    free(inside);
    free(locked);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_read_file_limits_and_errors(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *path = path_in(dir, "r.txt");
    CU_ASSERT_EQUAL(sm_durable_write_file(path, "0123456789", 10, SM_DURABLE_REPLACE, NULL), SM_OK);
    char *data;
    size_t len;
    sm_error err;
    CU_ASSERT_EQUAL(sm_read_file(path, 10, &data, &len, &err), SM_OK); /* exactly the limit */
    CU_ASSERT_EQUAL(len, 10);
    CU_ASSERT_STRING_EQUAL(data, "0123456789");
    CU_ASSERT_EQUAL(data[10], '\0');
    free(data);

    CU_ASSERT_EQUAL(sm_read_file(path, 9, &data, &len, &err), SM_ERR_NOMEM);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));

    CU_ASSERT_EQUAL(sm_read_file(path, SIZE_MAX, &data, NULL, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(data, "0123456789");
    free(data);

    char *empty = path_in(dir, "empty");
    CU_ASSERT_EQUAL(sm_durable_write_file(empty, "", 0, SM_DURABLE_REPLACE, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_read_file(empty, 0, &data, &len, &err), SM_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_STRING_EQUAL(data, "");
    free(data);

    char *missing = path_in(dir, "missing");
    CU_ASSERT_EQUAL(sm_read_file(missing, 100, &data, &len, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, missing));
    CU_ASSERT_PTR_NULL(data);

    CU_ASSERT_EQUAL(sm_read_file(dir, 100, &data, &len, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, EISDIR);

    /* Files whose size stat does not know (procfs): read until EOF, limit still holds. */
    CU_ASSERT_EQUAL(sm_read_file("/proc/self/status", 1 << 20, &data, &len, &err), SM_OK);
    CU_ASSERT_TRUE(len > 0 && strstr(data, "Pid:") != NULL);
    CU_ASSERT_EQUAL(strlen(data), len);
    free(data);
    CU_ASSERT_EQUAL(sm_read_file("/proc/self/status", 16, &data, &len, &err), SM_ERR_NOMEM);
    CU_ASSERT_PTR_NULL(data);

    free(missing);
    free(empty);
    free(path);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_read_error_is_reported(void)
{
    /* Reading /proc/self/mem at offset 0 fails with EIO: the unmapped first page. */
    char *data = (char *)1;
    sm_error err;
    CU_ASSERT_EQUAL(sm_read_file("/proc/self/mem", 1 << 20, &data, NULL, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, EIO);
    CU_ASSERT_STRING_EQUAL(err.msg, "read /proc/self/mem: Input/output error");
    CU_ASSERT_PTR_NULL(data);
}

static void test_durable_replace_onto_a_directory_fails_cleanly(void)
{
    char *dir = sm_test_tmpdir("durable");
    char *sub = path_in(dir, "taken");
    char *inner = path_in(dir, "taken/file");
    CU_ASSERT_EQUAL_FATAL(sm_mkdir_p(sub, NULL), SM_OK);
    CU_ASSERT_EQUAL(sm_durable_write_file(inner, "x", 1, SM_DURABLE_REPLACE, NULL), SM_OK);
    sm_error err;
    CU_ASSERT_EQUAL(sm_durable_write_file(sub, "y", 1, SM_DURABLE_REPLACE, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, EISDIR);
    char want[512];
    snprintf(want, sizeof want, "write %s: rename: Is a directory", sub);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(sm_durable_write_file(sub, "y", 1, SM_DURABLE_NOREPLACE, &err),
                    SM_ERR_CONFLICT);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    CU_ASSERT_EQUAL(count_entries(sub, NULL, 0), 1);
    free(inner);
    free(sub);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_durable_fault_point_names(void)
{
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_OPEN), "open");
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_WRITE), "write");
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_FSYNC), "fsync");
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_RENAME), "rename");
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_FSYNC_DIR), "fsync dir");
    CU_ASSERT_STRING_EQUAL(sm_fault_point_name(SM_FAULT_POINT_COUNT), "unknown");
    CU_ASSERT_EQUAL(sm_fault_check(SM_FAULT_OPEN, "/x"), 0); /* no hook: go on */
}

static void test_durable_read_file_from_a_pipe(void)
{
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    char big[10000];
    memset(big, 'p', sizeof big);
    CU_ASSERT_EQUAL(write(fds[1], big, sizeof big), (ssize_t)sizeof big);
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    char *data;
    size_t len;
    CU_ASSERT_EQUAL(sm_read_file(path, sizeof big, &data, &len, NULL), SM_OK);
    CU_ASSERT_EQUAL(len, sizeof big);
    free(data);
    close(fds[0]);
}

static CU_TestInfo tests[] = {
    {"write_file creates whole file", test_durable_write_file_creates_whole_file},
    {"replace overwrites existing", test_durable_replace_overwrites_existing},
    {"noreplace creates absent file", test_durable_noreplace_creates_absent_file},
    {"noreplace refuses existing", test_durable_noreplace_refuses_existing},
    {"streaming write counts bytes", test_durable_streaming_write_counts_bytes},
    {"large file round trips", test_durable_large_file_round_trips},
    {"abort leaves nothing", test_durable_abort_leaves_nothing},
    {"temp name is hidden beside target", test_durable_temp_name_is_hidden_beside_target},
    {"open in missing directory fails", test_durable_open_in_missing_directory_fails},
    {"open refuses directory names", test_durable_open_refuses_directory_names},
    {"relative path in current directory", test_durable_relative_path_in_current_directory},
    {"fault at each point changes target only after move",
     test_durable_fault_at_each_point_changes_target_only_after_move},
    {"fault messages name the step", test_durable_fault_messages_name_the_step},
    {"write error is sticky", test_durable_write_error_is_sticky},
    {"write retries after EINTR", test_durable_write_retries_after_eintr},
    {"noreplace falls back to link", test_durable_noreplace_falls_back_to_link},
    {"rename EEXIST fault is a conflict", test_durable_rename_eexist_fault_is_a_conflict},
    {"noreplace race has one winner", test_durable_noreplace_race_has_one_winner},
    {"fsync dir", test_durable_fsync_dir},
    {"mkdir -p", test_durable_mkdir_p},
    {"mkdir -p reports permission errors", test_durable_mkdir_p_reports_permission_errors},
    {"read_file limits and errors", test_durable_read_file_limits_and_errors},
    {"read_file from a pipe", test_durable_read_file_from_a_pipe},
    {"read error is reported", test_durable_read_error_is_reported},
    {"replace onto a directory fails cleanly", test_durable_replace_onto_a_directory_fails_cleanly},
    {"fault point names", test_durable_fault_point_names},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("durable", tests)
