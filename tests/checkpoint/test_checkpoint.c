/*
 * checkpoint/checkpoint.h: the offsets and commits logs, metadata, the recovery rule, retention
 * and state blobs. Every corruption kind must be refused with a message naming the file, a crash
 * at each durable step (core/fault.h, and a real process death via fork) must leave the old or
 * the new state and a consistent plan.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_test.h"

#include "checkpoint/checkpoint.h"
#include "core/arena.h"
#include "core/durable.h"
#include "core/fault.h"

/* ---- helpers ------------------------------------------------------------------------------ */

#define ASSERT_OK(expr)                                                                            \
    do {                                                                                           \
        sm_error e_ = {0};                                                                         \
        int rc_ = (expr);                                                                          \
        if (rc_ != SM_OK) {                                                                        \
            fprintf(stderr, "\n%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr,                  \
                    sm_code_name((sm_code)rc_), e_.msg);                                           \
        }                                                                                          \
        CU_ASSERT_EQUAL_FATAL(rc_, SM_OK);                                                         \
    } while (0)

/* A batch over two sources, given in unsorted order (the writer sorts). */
typedef struct batch {
    sm_ckpt_range orders[3];
    sm_ckpt_range clicks[1];
    sm_ckpt_source sources[2];
    sm_ckpt_offsets off;
    sm_ckpt_table tables[2];
    sm_ckpt_commit commit;
} batch;

static void make_batch(batch *b, int64_t n)
{
    memset(b, 0, sizeof *b);
    b->orders[0] = (sm_ckpt_range){.partition = 2, .start = n * 10 + 2, .end = n * 10 + 12};
    b->orders[1] = (sm_ckpt_range){.partition = 0, .start = n * 10, .end = n * 10 + 10};
    b->orders[2] = (sm_ckpt_range){.partition = 10, .start = n * 10 + 1, .end = n * 10 + 11};
    b->clicks[0] = (sm_ckpt_range){.partition = 0, .start = 7 * n, .end = 7 * n + 7};
    b->sources[0] = (sm_ckpt_source){.name = "kafka:orders", .n_ranges = 3, .ranges = b->orders};
    b->sources[1] = (sm_ckpt_source){.name = "kafka:clicks", .n_ranges = 1, .ranges = b->clicks};
    b->off = (sm_ckpt_offsets){.batch_id = n,
                               .batch_timestamp_ms = 1763784000000 + n * 1000,
                               .watermark_ms = n * 500,
                               .config_hash = "sha256:abc",
                               .n_sources = 2,
                               .sources = b->sources,
                               .extra = NULL};
    b->tables[0] = (sm_ckpt_table){.name = "silver_orders", .version = n + 100};
    b->tables[1] = (sm_ckpt_table){.name = "bronze_orders", .version = n + 1};
    b->commit = (sm_ckpt_commit){
        .batch_id = n, .watermark_ms = n * 500 + 1, .n_tables = 2, .tables = b->tables};
}

static void write_offsets(sm_ckpt *ck, int64_t n)
{
    batch b;
    make_batch(&b, n);
    sm_error err = {0};
    int rc = sm_ckpt_write_offsets(ck, &b.off, &err);
    if (rc) {
        fprintf(stderr, "\nwrite offsets %" PRId64 ": %s\n", n, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
}

static void write_commit(sm_ckpt *ck, int64_t n)
{
    batch b;
    make_batch(&b, n);
    sm_error err = {0};
    int rc = sm_ckpt_write_commit(ck, &b.commit, &err);
    if (rc) {
        fprintf(stderr, "\nwrite commit %" PRId64 ": %s\n", n, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
}

/* Batches 0..committed-1 committed, and batch `committed` with offsets only when `open_batch`. */
static void write_batches(sm_ckpt *ck, int64_t committed, bool open_batch)
{
    for (int64_t n = 0; n < committed; n++) {
        write_offsets(ck, n);
        write_commit(ck, n);
    }
    if (open_batch) {
        write_offsets(ck, committed);
    }
}

static sm_ckpt *open_new(const char *dir)
{
    sm_ckpt *ck = NULL;
    sm_error err = {0};
    int rc = sm_ckpt_open(dir, true, &ck, &err);
    if (rc) {
        fprintf(stderr, "\nopen %s: %s\n", dir, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    return ck;
}

static char *path_of(const char *dir, const char *rel)
{
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, rel) > 0);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 20, &data, len, &err), SM_OK);
    return data;
}

static void put(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (len) {
        CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    }
    fclose(f);
}

static void put_str(const char *path, const char *s)
{
    put(path, s, strlen(s));
}

/* The file as smelter would frame `json` (a valid checksum over possibly invalid content). */
static void put_framed(const char *path, const char *json)
{
    char head[4096];
    snprintf(head, sizeof head, "v1\n%s\n", json);
    char file[4200];
    snprintf(file, sizeof file, "%scrc32c:%08" PRIx32 "\n", head,
             sm_ckpt_crc32c(0, head, strlen(head)));
    put_str(path, file);
}

static bool contains(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok) {
        fprintf(stderr, "\n  \"%s\"\n  does not contain \"%s\"\n", hay, needle);
    }
    return ok;
}

/* Reads offsets/N expecting SM_ERR_CORRUPT whose message names the file and `what`. Also the
 * plan must refuse (never skip) it. */
static void expect_corrupt_offsets(sm_ckpt *ck, int64_t n, const char *what)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/offsets/%" PRId64, sm_ckpt_dir(ck), n);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_offsets *o = (sm_ckpt_offsets *)1;
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_ckpt_read_offsets(ck, n, a, &o, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT(contains(err.msg, path));
    CU_ASSERT(contains(err.msg, what));
    sm_ckpt_recovery plan;
    sm_error perr = {0};
    CU_ASSERT_EQUAL(sm_ckpt_plan(ck, a, &plan, &perr), SM_ERR_CORRUPT);
    CU_ASSERT(contains(perr.msg, path));
    CU_ASSERT_EQUAL(plan.next_batch_id, 0);
    sm_arena_destroy(a);
}

/* Names in `dir` that are neither entries of `ids` nor anything else: returns how many files
 * (dot files included) the directory holds. */
static int count_files(const char *dir, bool dot_files)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -A1 '%s' 2>/dev/null | %s wc -l", dir,
             dot_files ? "grep '^\\.' |" : "grep -v '^\\.' |");
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) {
            n = -1;
        }
        pclose(p);
    }
    return n;
}

/* ---- checksum and metadata ---------------------------------------------------------------- */

static void test_crc32c_matches_the_castagnoli_check_value(void)
{
    CU_ASSERT_EQUAL(sm_ckpt_crc32c(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(sm_ckpt_crc32c(0, "", 0), 0u);
    /* Incremental equals one pass. */
    uint32_t c = sm_ckpt_crc32c(0, "1234", 4);
    CU_ASSERT_EQUAL(sm_ckpt_crc32c(c, "56789", 5), 0xE3069283u);
}

static void test_open_creates_metadata_and_reopen_keeps_the_query_id(void)
{
    char *root = sm_test_tmpdir("ckpt-open");
    char *dir = path_of(root, "a/b/checkpoint");
    sm_ckpt *ck = open_new(dir);
    const char *id = sm_ckpt_query_id(ck);
    CU_ASSERT_EQUAL(strlen(id), 36);
    CU_ASSERT_EQUAL(id[14], '4'); /* version 4 UUID */
    CU_ASSERT(sm_ckpt_created_ms(ck) > 1700000000000);
    char saved[37];
    memcpy(saved, id, 37);

    char *meta_path = path_of(dir, "metadata");
    size_t len;
    char *meta = slurp(meta_path, &len);
    CU_ASSERT(strncmp(meta, "v1\n{\"id\":\"", 10) == 0);
    CU_ASSERT(contains(meta, "\"format\":1"));
    CU_ASSERT(contains(meta, "\ncrc32c:"));
    free(meta);
    struct stat st;
    char *sub = path_of(dir, "offsets");
    CU_ASSERT(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    free(sub);
    sub = path_of(dir, "commits");
    CU_ASSERT(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    free(sub);
    sm_ckpt_close(ck);

    sm_ckpt *again = NULL;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sm_ckpt_open(dir, false, &again, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(sm_ckpt_query_id(again), saved);
    sm_ckpt_close(again);
    again = open_new(dir); /* create on an existing checkpoint opens it */
    CU_ASSERT_STRING_EQUAL(sm_ckpt_query_id(again), saved);
    sm_ckpt_close(again);

    /* Without create: a missing directory or one without metadata is a usage error. */
    char *missing = path_of(root, "nope");
    CU_ASSERT_EQUAL(sm_ckpt_open(missing, false, &again, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(again);
    CU_ASSERT(contains(err.msg, missing));
    CU_ASSERT_EQUAL(sm_ckpt_open(root, false, &again, &err), SM_ERR_USAGE);
    CU_ASSERT(contains(err.msg, "no metadata"));
    CU_ASSERT_EQUAL(sm_ckpt_open(meta_path, true, &again, &err), SM_ERR_USAGE);
    CU_ASSERT(contains(err.msg, "not a directory"));
    sm_ckpt_close(NULL);

    free(missing);
    free(meta_path);
    free(dir);
    sm_test_rmtree(root);
    free(root);
}

static void expect_open_corrupt(const char *dir, const char *what)
{
    sm_ckpt *ck = (sm_ckpt *)1;
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_ckpt_open(dir, true, &ck, &err), SM_ERR_CORRUPT);
    CU_ASSERT_PTR_NULL(ck);
    CU_ASSERT(contains(err.msg, dir));
    CU_ASSERT(contains(err.msg, what));
}

static void test_open_refuses_foreign_damaged_and_newer_metadata(void)
{
    char *dir = sm_test_tmpdir("ckpt-foreign");
    char *meta = path_of(dir, "metadata");

    put_str(meta, "{\"id\":\"6d1c5e2a-0b7e-4a43-9c3e-2f8a3b7d9e10\"}\n"); /* Spark's */
    expect_open_corrupt(dir, "Spark");
    expect_open_corrupt(dir, "not a smelter checkpoint");

    put_str(meta, "hello\n");
    expect_open_corrupt(dir, "not written by smelter");

    put_framed(meta,
               "{\"id\":\"6d1c5e2a-0b7e-4a43-9c3e-2f8a3b7d9e10\",\"format\":1,\"created\":5}");
    sm_ckpt *ck = open_new(dir);
    CU_ASSERT_STRING_EQUAL(sm_ckpt_query_id(ck), "6d1c5e2a-0b7e-4a43-9c3e-2f8a3b7d9e10");
    CU_ASSERT_EQUAL(sm_ckpt_created_ms(ck), 5);
    sm_ckpt_close(ck);

    /* A flipped byte in the id. */
    size_t len;
    char *data = slurp(meta, &len);
    data[12] = data[12] == 'd' ? 'e' : 'd';
    put(meta, data, len);
    free(data);
    expect_open_corrupt(dir, "checksum mismatch");
    expect_open_corrupt(dir, "restore it from a backup");

    put_framed(meta,
               "{\"id\":\"6d1c5e2a-0b7e-4a43-9c3e-2f8a3b7d9e10\",\"format\":2,\"created\":5}");
    expect_open_corrupt(dir, "upgrade smelter");
    put_str(meta, "v2\n{}\ncrc32c:00000000\n");
    expect_open_corrupt(dir, "upgrade smelter");
    put_framed(meta, "{\"id\":\"not-a-uuid\",\"format\":1,\"created\":5}");
    expect_open_corrupt(dir, "\"id\"");
    put_str(meta, "");
    expect_open_corrupt(dir, "empty file");

    /* No metadata but batches: refused, not re-created under a new id. */
    unlink(meta);
    char *off = path_of(dir, "offsets");
    mkdir(off, 0755);
    char *zero = path_of(off, "0");
    put_framed(zero, "{}");
    expect_open_corrupt(dir, "metadata: missing, but the directory holds batches");

    free(zero);
    free(off);
    free(meta);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_offsets_and_commit_round_trip_sorted(void)
{
    char *dir = sm_test_tmpdir("ckpt-rt");
    sm_ckpt *ck = open_new(dir);
    sm_arena *a = sm_arena_create(0, 0);
    sm_error err = {0};

    batch b;
    make_batch(&b, 0);
    b.off.extra = "{\"state\":{\"gold_daily_sales\":3},\"note\":\"x\"}";
    ASSERT_OK(sm_ckpt_write_offsets(ck, &b.off, &e_));

    int64_t lo = 7, lc = 7;
    ASSERT_OK(sm_ckpt_latest(ck, &lo, &lc, &e_));
    CU_ASSERT_EQUAL(lo, 0);
    CU_ASSERT_EQUAL(lc, -1);

    sm_ckpt_offsets *o;
    ASSERT_OK(sm_ckpt_read_offsets(ck, 0, a, &o, &e_));
    CU_ASSERT_EQUAL(o->batch_id, 0);
    CU_ASSERT_EQUAL(o->batch_timestamp_ms, 1763784000000);
    CU_ASSERT_EQUAL(o->watermark_ms, 0);
    CU_ASSERT_STRING_EQUAL(o->config_hash, "sha256:abc");
    CU_ASSERT_EQUAL_FATAL(o->n_sources, 2);
    CU_ASSERT_STRING_EQUAL(o->sources[0].name, "kafka:clicks");
    CU_ASSERT_STRING_EQUAL(o->sources[1].name, "kafka:orders");
    CU_ASSERT_EQUAL_FATAL(o->sources[1].n_ranges, 3);
    CU_ASSERT_EQUAL(o->sources[1].ranges[0].partition, 0);
    CU_ASSERT_EQUAL(o->sources[1].ranges[1].partition, 2);
    CU_ASSERT_EQUAL(o->sources[1].ranges[2].partition, 10);
    CU_ASSERT_EQUAL(o->sources[1].ranges[1].start, 2);
    CU_ASSERT_EQUAL(o->sources[1].ranges[1].end, 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->extra);
    CU_ASSERT_STRING_EQUAL(o->extra, "{\"state\":{\"gold_daily_sales\":3},\"note\":\"x\"}");
    const sm_ckpt_range *r = sm_ckpt_offsets_find(o, "kafka:orders", 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->start, 1);
    CU_ASSERT_EQUAL(r->end, 11);
    CU_ASSERT_PTR_NULL(sm_ckpt_offsets_find(o, "kafka:orders", 1));
    CU_ASSERT_PTR_NULL(sm_ckpt_offsets_find(o, "kafka:nope", 0));

    /* The file as documented: version line, one JSON line, checksum line; partitions in numeric
     * order ("10" after "2"). */
    char *p = path_of(dir, "offsets/0");
    size_t len;
    char *text = slurp(p, &len);
    CU_ASSERT(strncmp(text,
                      "v1\n{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1763784000000,",
                      64) == 0);
    CU_ASSERT(contains(text, "{\"name\":\"kafka:orders\",\"partitions\":{\"0\":[0,10],\"2\":[2,12],"
                             "\"10\":[1,11]}}"));
    CU_ASSERT(len > 17 && strncmp(text + len - 17, "\ncrc32c:", 8) == 0 && text[len - 1] == '\n');
    free(text);
    free(p);

    make_batch(&b, 0);
    ASSERT_OK(sm_ckpt_write_commit(ck, &b.commit, &e_));
    sm_ckpt_commit *c;
    ASSERT_OK(sm_ckpt_read_commit(ck, 0, a, &c, &e_));
    CU_ASSERT_EQUAL(c->batch_id, 0);
    CU_ASSERT_EQUAL(c->watermark_ms, 1);
    CU_ASSERT_EQUAL_FATAL(c->n_tables, 2);
    CU_ASSERT_STRING_EQUAL(c->tables[0].name, "bronze_orders");
    CU_ASSERT_EQUAL(c->tables[0].version, 1);
    CU_ASSERT_STRING_EQUAL(c->tables[1].name, "silver_orders");
    CU_ASSERT_EQUAL(c->tables[1].version, 100);

    /* Batch 1: extreme values, no tables, no extra. */
    sm_ckpt_range big = {.partition = INT32_MAX, .start = INT64_MAX - 5, .end = INT64_MAX};
    sm_ckpt_source s = {.name = "x", .n_ranges = 1, .ranges = &big};
    sm_ckpt_offsets o1 = {.batch_id = 1,
                          .batch_timestamp_ms = INT64_MIN,
                          .watermark_ms = INT64_MAX,
                          .n_sources = 1,
                          .sources = &s};
    ASSERT_OK(sm_ckpt_write_offsets(ck, &o1, &e_));
    ASSERT_OK(sm_ckpt_read_offsets(ck, 1, a, &o, &e_));
    CU_ASSERT_EQUAL(o->batch_timestamp_ms, INT64_MIN);
    CU_ASSERT_EQUAL(o->watermark_ms, INT64_MAX);
    CU_ASSERT_STRING_EQUAL(o->config_hash, "");
    CU_ASSERT_PTR_NULL(o->extra);
    CU_ASSERT_EQUAL(o->sources[0].ranges[0].partition, INT32_MAX);
    CU_ASSERT_EQUAL(o->sources[0].ranges[0].start, INT64_MAX - 5);
    CU_ASSERT_EQUAL(o->sources[0].ranges[0].end, INT64_MAX);
    sm_ckpt_commit c1 = {.batch_id = 1};
    ASSERT_OK(sm_ckpt_write_commit(ck, &c1, &e_));
    ASSERT_OK(sm_ckpt_read_commit(ck, 1, a, &c, &e_));
    CU_ASSERT_EQUAL(c->n_tables, 0);

    /* Missing entries: SM_ERR_IO with ENOENT, named. */
    CU_ASSERT_EQUAL(sm_ckpt_read_offsets(ck, 5, a, &o, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);
    CU_ASSERT(contains(err.msg, "offsets/5"));
    CU_ASSERT_EQUAL(sm_ckpt_read_commit(ck, 5, a, &c, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);

    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_rewrite_identical_is_a_no_op_and_different_is_a_conflict(void)
{
    char *dir = sm_test_tmpdir("ckpt-rewrite");
    sm_ckpt *ck = open_new(dir);
    sm_error err = {0};
    batch b;
    make_batch(&b, 0);
    ASSERT_OK(sm_ckpt_write_offsets(ck, &b.off, &e_));
    ASSERT_OK(sm_ckpt_write_offsets(ck, &b.off, &e_));
    /* Same content given in another order: still the same entry. */
    sm_ckpt_source swapped[2] = {b.sources[1], b.sources[0]};
    b.off.sources = swapped;
    ASSERT_OK(sm_ckpt_write_offsets(ck, &b.off, &e_));
    b.off.extra = "{}";
    ASSERT_OK(sm_ckpt_write_offsets(ck, &b.off, &e_));

    b.off.batch_timestamp_ms++;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_CONFLICT);
    CU_ASSERT(contains(err.msg, "offsets/0"));
    CU_ASSERT(contains(err.msg, "another query is writing this checkpoint"));
    make_batch(&b, 0);
    b.orders[0].end++;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_CONFLICT);

    make_batch(&b, 0);
    ASSERT_OK(sm_ckpt_write_commit(ck, &b.commit, &e_));
    ASSERT_OK(sm_ckpt_write_commit(ck, &b.commit, &e_));
    b.tables[0].version++;
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_CONFLICT);
    CU_ASSERT(contains(err.msg, "commits/0"));

    /* The file is untouched by the refused rewrites. */
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_offsets *o;
    ASSERT_OK(sm_ckpt_read_offsets(ck, 0, a, &o, &e_));
    CU_ASSERT_EQUAL(o->batch_timestamp_ms, 1763784000000);

    /* A rewrite of a batch that retention removed is a conflict too (someone is behind). */
    for (int64_t n = 1; n < 4; n++) {
        write_offsets(ck, n);
        write_commit(ck, n);
    }
    ASSERT_OK(sm_ckpt_purge(ck, 1, NULL, &e_));
    make_batch(&b, 0);
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_CONFLICT);
    CU_ASSERT(contains(err.msg, "removed"));
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_CONFLICT);

    /* An existing entry that is damaged is reported as damage, not as a conflict. */
    char *p = path_of(dir, "offsets/3");
    size_t len;
    char *data = slurp(p, &len);
    data[20] ^= 1;
    put(p, data, len);
    free(data);
    make_batch(&b, 3);
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "checksum mismatch"));
    free(p);

    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_writes_keep_the_protocol_order(void)
{
    char *dir = sm_test_tmpdir("ckpt-order");
    sm_ckpt *ck = open_new(dir);
    sm_error err = {0};
    batch b;

    make_batch(&b, 1);
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL); /* not 0 first */
    CU_ASSERT(contains(err.msg, "gap"));
    make_batch(&b, 0);
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_INTERNAL); /* no offsets */
    CU_ASSERT(contains(err.msg, "offsets are written before their commit"));

    write_offsets(ck, 0);
    make_batch(&b, 1);
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "batch 0 is not committed"));
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_INTERNAL);
    write_commit(ck, 0);
    make_batch(&b, 2);
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    write_offsets(ck, 1);
    write_commit(ck, 1);

    /* Invalid entries are engine bugs, refused before anything is written. */
    make_batch(&b, 2);
    b.orders[1].end = b.orders[1].start - 1;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "bad range"));
    make_batch(&b, 2);
    b.orders[1].partition = 2;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "partition 2 twice"));
    make_batch(&b, 2);
    b.orders[1].partition = -1;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    make_batch(&b, 2);
    b.sources[1].name = "kafka:orders";
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "twice"));
    make_batch(&b, 2);
    b.sources[1].name = "";
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    make_batch(&b, 2);
    b.off.extra = "[1]";
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "extra"));
    b.off.extra = "{bad";
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    make_batch(&b, 2);
    b.off.batch_id = -1;
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_INTERNAL);
    make_batch(&b, 2);
    b.tables[0].version = -1;
    write_offsets(ck, 2);
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_INTERNAL);
    make_batch(&b, 2);
    b.tables[0].name = "bronze_orders";
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "twice"));

    int64_t lo, lc;
    ASSERT_OK(sm_ckpt_latest(ck, &lo, &lc, &e_));
    CU_ASSERT_EQUAL(lo, 2);
    CU_ASSERT_EQUAL(lc, 1);
    CU_ASSERT_EQUAL(count_files(dir, true), 0); /* no temporaries left behind */

    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- corruption ----------------------------------------------------------------------------- */

static void test_every_corruption_kind_is_named(void)
{
    char *dir = sm_test_tmpdir("ckpt-corrupt");
    sm_ckpt *ck = open_new(dir);
    write_batches(ck, 1, false);
    char *p = path_of(dir, "offsets/0");
    size_t good_len;
    char *good = slurp(p, &good_len);

    /* Every proper prefix of the file (a torn write) is refused, never read as an entry. */
    for (size_t cut = 0; cut < good_len; cut++) {
        put(p, good, cut);
        sm_arena *a = sm_arena_create(0, 0);
        sm_ckpt_offsets *o;
        sm_error err = {0};
        CU_ASSERT_EQUAL(sm_ckpt_read_offsets(ck, 0, a, &o, &err), SM_ERR_CORRUPT);
        CU_ASSERT(contains(err.msg, p));
        CU_ASSERT(contains(err.msg, "truncated"));
        sm_arena_destroy(a);
    }
    put(p, good, 0);
    expect_corrupt_offsets(ck, 0, "empty file");
    put(p, good, good_len / 2);
    expect_corrupt_offsets(ck, 0, "truncated");
    expect_corrupt_offsets(ck, 0, "restore it from a backup, or delete the checkpoint directory");

    /* A flipped bit anywhere in the version line or the body: checksum mismatch (or a bad
     * version line). */
    for (size_t i = 3; i < good_len - 17; i += 7) {
        char *bad = malloc(good_len);
        memcpy(bad, good, good_len);
        bad[i] ^= 0x04;
        put(p, bad, good_len);
        free(bad);
        expect_corrupt_offsets(ck, 0, "checksum mismatch");
    }
    expect_corrupt_offsets(ck, 0, "the file is damaged");

    /* Version line. */
    put_str(p, "{\"batch_id\":0}\n");
    expect_corrupt_offsets(ck, 0, "no version line");
    put_str(p, "v1x\n{}\ncrc32c:00000000\n");
    expect_corrupt_offsets(ck, 0, "bad version line");
    put_str(p, "v0\n{}\ncrc32c:00000000\n");
    expect_corrupt_offsets(ck, 0, "bad version line");
    put_str(p, "v9\n{}\ncrc32c:00000000\n");
    expect_corrupt_offsets(ck, 0, "upgrade smelter");

    /* Checksum line. */
    put_str(p, "v1\n{}\n51\n"); /* Spark's offsets look like this */
    expect_corrupt_offsets(ck, 0, "no checksum line");
    put_str(p, "v1\n{}\ncrc32c:zzzzzzzz\n");
    expect_corrupt_offsets(ck, 0, "bad checksum line");
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*sjunk", (int)good_len, good);
    put_str(p, buf);
    expect_corrupt_offsets(ck, 0, "unexpected bytes after the checksum line");

    /* Valid framing around bad content. */
    put_framed(p, "{\"version\":1,\"batch_id\":0,");
    expect_corrupt_offsets(ck, 0, "bad JSON");
    put_framed(p, "[1,2]");
    expect_corrupt_offsets(ck, 0, "not a JSON object");
    put_framed(p, "{\"version\":1,\"version\":1}");
    expect_corrupt_offsets(ck, 0, "bad JSON");
    put_framed(p, "{\"version\":2,\"batch_id\":0}");
    expect_corrupt_offsets(ck, 0, "\"version\" is 2");
    put_framed(p, "{\"version\":1}");
    expect_corrupt_offsets(ck, 0, "missing field \"batch_id\"");
    put_framed(p, "{\"version\":1,\"batch_id\":\"0\"}");
    expect_corrupt_offsets(ck, 0, "\"batch_id\" is not an integer");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0}");
    expect_corrupt_offsets(ck, 0, "config_hash");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":{}}");
    expect_corrupt_offsets(ck, 0, "\"sources\"");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[{\"name\":\"a\",\"partitions\":{\"01\":[0,1]}}"
                  "]}");
    expect_corrupt_offsets(ck, 0, "bad partition \"01\"");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[{\"name\":\"a\",\"partitions\":{\"1\":[5,1]}}"
                  "]}");
    expect_corrupt_offsets(ck, 0, "bad range");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[{\"name\":\"a\",\"partitions\":{\"1\":[1]}}"
                  "]}");
    expect_corrupt_offsets(ck, 0, "expected [start, end]");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[{\"name\":\"a\",\"partitions\":{}},"
                  "{\"name\":\"a\",\"partitions\":{}}]}");
    expect_corrupt_offsets(ck, 0, "source a appears twice");
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[],\"extra\":3}");
    expect_corrupt_offsets(ck, 0, "\"extra\"");
    /* Unknown fields are allowed (additive within v1). */
    put_framed(p, "{\"version\":1,\"batch_id\":0,\"batch_timestamp_ms\":1,\"watermark_ms\":0,"
                  "\"config_hash\":\"\",\"sources\":[],\"later\":true}");
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_offsets *o;
    ASSERT_OK(sm_ckpt_read_offsets(ck, 0, a, &o, &e_));

    /* The batch id inside must match the name: a file copied to the wrong name. */
    put(p, good, good_len);
    char *p1 = path_of(dir, "offsets/1");
    put(p1, good, good_len);
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_ckpt_read_offsets(ck, 1, a, &o, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "holds batch 0, not batch 1"));
    sm_ckpt_recovery plan;
    CU_ASSERT_EQUAL(sm_ckpt_plan(ck, a, &plan, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, p1));
    unlink(p1);

    /* Commits are checked the same way. */
    char *c0 = path_of(dir, "commits/0");
    put_framed(c0, "{\"version\":1,\"batch_id\":0,\"watermark_ms\":0,\"tables\":{\"t\":-1}}");
    sm_ckpt_commit *c;
    CU_ASSERT_EQUAL(sm_ckpt_read_commit(ck, 0, a, &c, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, c0));
    CU_ASSERT(contains(err.msg, "table t"));
    CU_ASSERT_EQUAL(sm_ckpt_plan(ck, a, &plan, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, c0));
    put_framed(c0, "{\"version\":1,\"batch_id\":0,\"watermark_ms\":0}");
    CU_ASSERT_EQUAL(sm_ckpt_read_commit(ck, 0, a, &c, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "\"tables\""));
    put_framed(c0, "{\"version\":1,\"batch_id\":0,\"watermark_ms\":0,\"tables\":{}}");
    ASSERT_OK(sm_ckpt_read_commit(ck, 0, a, &c, &e_));
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));

    /* A name that looks like a batch but is not canonical. */
    char *odd = path_of(dir, "offsets/007");
    put(odd, good, good_len);
    CU_ASSERT_EQUAL(sm_ckpt_latest(ck, NULL, NULL, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "offsets/007"));
    CU_ASSERT_EQUAL(sm_ckpt_plan(ck, a, &plan, &err), SM_ERR_CORRUPT);
    unlink(odd);
    /* Other names are not entries (an editor's backup, a README). */
    char *other = path_of(dir, "offsets/0~");
    put_str(other, "x");
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 1);

    free(other);
    free(odd);
    free(c0);
    free(p1);
    sm_arena_destroy(a);
    free(good);
    free(p);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- the recovery rule ---------------------------------------------------------------------- */

static void test_plan_on_an_empty_checkpoint_starts_at_zero(void)
{
    char *dir = sm_test_tmpdir("ckpt-plan0");
    sm_ckpt *ck = open_new(dir);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 0);
    CU_ASSERT_FALSE(plan.rerun);
    CU_ASSERT_PTR_NULL(plan.rerun_offsets);
    CU_ASSERT_EQUAL(plan.last_committed, -1);
    CU_ASSERT_PTR_NULL(plan.committed_offsets);
    CU_ASSERT_PTR_NULL(plan.last_commit);
    CU_ASSERT_EQUAL(plan.oldest_batch_id, -1);
    int64_t lo, lc;
    ASSERT_OK(sm_ckpt_latest(ck, &lo, &lc, &e_));
    CU_ASSERT_EQUAL(lo, -1);
    CU_ASSERT_EQUAL(lc, -1);
    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_plan_after_a_committed_batch_goes_on_from_its_ends(void)
{
    char *dir = sm_test_tmpdir("ckpt-plan1");
    sm_ckpt *ck = open_new(dir);
    write_batches(ck, 3, false);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 3);
    CU_ASSERT_FALSE(plan.rerun);
    CU_ASSERT_PTR_NULL(plan.rerun_offsets);
    CU_ASSERT_EQUAL(plan.last_committed, 2);
    CU_ASSERT_EQUAL(plan.oldest_batch_id, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plan.committed_offsets);
    CU_ASSERT_EQUAL(plan.committed_offsets->batch_id, 2);
    const sm_ckpt_range *r = sm_ckpt_offsets_find(plan.committed_offsets, "kafka:orders", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->end, 30); /* batch 3 starts where batch 2 ended */
    CU_ASSERT_PTR_NOT_NULL_FATAL(plan.last_commit);
    CU_ASSERT_EQUAL(plan.last_commit->watermark_ms, 1001);
    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_plan_reruns_an_uncommitted_last_batch_as_recorded(void)
{
    char *dir = sm_test_tmpdir("ckpt-plan2");
    sm_ckpt *ck = open_new(dir);
    write_batches(ck, 2, true);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 2);
    CU_ASSERT_TRUE(plan.rerun);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plan.rerun_offsets);
    CU_ASSERT_EQUAL(plan.rerun_offsets->batch_id, 2);
    CU_ASSERT_EQUAL(plan.rerun_offsets->batch_timestamp_ms, 1763784002000);
    const sm_ckpt_range *r = sm_ckpt_offsets_find(plan.rerun_offsets, "kafka:orders", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->start, 22);
    CU_ASSERT_EQUAL(r->end, 32);
    CU_ASSERT_EQUAL(plan.last_committed, 1);
    CU_ASSERT_EQUAL(plan.committed_offsets->batch_id, 1);
    CU_ASSERT_EQUAL(plan.last_commit->batch_id, 1);

    /* The re-run writes its offsets again (identical) and commits; then batch 3 is next. */
    write_offsets(ck, 2);
    write_commit(ck, 2);
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 3);
    CU_ASSERT_FALSE(plan.rerun);

    /* The very first batch uncommitted. */
    char *dir2 = sm_test_tmpdir("ckpt-plan2b");
    sm_ckpt *ck2 = open_new(dir2);
    write_offsets(ck2, 0);
    ASSERT_OK(sm_ckpt_plan(ck2, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 0);
    CU_ASSERT_TRUE(plan.rerun);
    CU_ASSERT_EQUAL(plan.last_committed, -1);
    CU_ASSERT_PTR_NULL(plan.committed_offsets);
    sm_ckpt_close(ck2);
    sm_test_rmtree(dir2);
    free(dir2);

    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

static void expect_plan_corrupt(sm_ckpt *ck, const char *what)
{
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_ckpt_plan(ck, a, &plan, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, what));
    CU_ASSERT(contains(err.msg, sm_ckpt_dir(ck)));
    CU_ASSERT_EQUAL(plan.next_batch_id, 0);
    CU_ASSERT_PTR_NULL(plan.rerun_offsets);
    sm_arena_destroy(a);
}

static void test_plan_refuses_gaps_and_inconsistent_logs(void)
{
    char *dir = sm_test_tmpdir("ckpt-gap");
    sm_ckpt *ck = open_new(dir);
    write_batches(ck, 7, true); /* offsets 0..7, commits 0..6 */
    char *o5 = path_of(dir, "offsets/5");
    char *o5_saved = path_of(dir, "o5");
    CU_ASSERT_EQUAL(rename(o5, o5_saved), 0);
    expect_plan_corrupt(ck, "batch 5 is missing between 4 and 6");
    CU_ASSERT_EQUAL(rename(o5_saved, o5), 0);

    char *c3 = path_of(dir, "commits/3");
    char *c3_saved = path_of(dir, "c3");
    CU_ASSERT_EQUAL(rename(c3, c3_saved), 0);
    expect_plan_corrupt(ck, "commits: batch 3 is missing");
    CU_ASSERT_EQUAL(rename(c3_saved, c3), 0);

    /* Two uncommitted batches: offsets 6 and 7 without commits. */
    char *c6 = path_of(dir, "commits/6");
    char *c6_saved = path_of(dir, "c6");
    CU_ASSERT_EQUAL(rename(c6, c6_saved), 0);
    expect_plan_corrupt(ck, "batches 6 to 7 have offsets but no commit");
    CU_ASSERT_EQUAL(rename(c6_saved, c6), 0);

    /* A commit without its offsets. */
    char *o7 = path_of(dir, "offsets/7");
    char *o7_saved = path_of(dir, "o7");
    CU_ASSERT_EQUAL(rename(o7, o7_saved), 0);
    write_offsets(ck, 7);
    write_commit(ck, 7);
    CU_ASSERT_EQUAL(unlink(o7), 0);
    expect_plan_corrupt(ck, "batch 7 is committed but");
    batch b;
    make_batch(&b, 7);
    sm_error err = {0};
    CU_ASSERT_EQUAL(sm_ckpt_write_offsets(ck, &b.off, &err), SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "batch 7 is committed but"));
    CU_ASSERT_EQUAL(sm_ckpt_write_commit(ck, &b.commit, &err), SM_ERR_CORRUPT);

    /* The offsets of the last committed batch are missing (not something retention does). */
    char *c7 = path_of(dir, "commits/7");
    unlink(c7);
    for (int i = 0; i <= 6; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "offsets/%d", i);
        char *p = path_of(dir, rel);
        unlink(p);
        free(p);
    }
    CU_ASSERT_EQUAL(rename(o7_saved, o7), 0);
    expect_plan_corrupt(ck, "is the latest committed one");

    /* A prefix removed from both logs (retention, or a crash in its middle) is fine. */
    char *dir2 = sm_test_tmpdir("ckpt-gap2");
    sm_ckpt *ck2 = open_new(dir2);
    write_batches(ck2, 5, true);
    char *p = path_of(dir2, "offsets/0");
    unlink(p);
    free(p);
    p = path_of(dir2, "commits/0");
    unlink(p);
    free(p);
    p = path_of(dir2, "commits/1"); /* commits purged one further than offsets */
    unlink(p);
    free(p);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck2, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 5);
    CU_ASSERT_TRUE(plan.rerun);
    CU_ASSERT_EQUAL(plan.oldest_batch_id, 1);
    sm_arena_destroy(a);
    sm_ckpt_close(ck2);
    sm_test_rmtree(dir2);
    free(dir2);

    free(c7);
    free(o7);
    free(o7_saved);
    free(c6);
    free(c6_saved);
    free(c3);
    free(c3_saved);
    free(o5);
    free(o5_saved);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- retention ------------------------------------------------------------------------------ */

static bool exists(const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_purge_keeps_the_last_batches_and_the_open_one(void)
{
    char *dir = sm_test_tmpdir("ckpt-purge");
    sm_ckpt *ck = open_new(dir);
    sm_error err = {0};
    int64_t deleted = -1;

    CU_ASSERT_EQUAL(sm_ckpt_purge(ck, 0, &deleted, &err), SM_ERR_USAGE);
    ASSERT_OK(sm_ckpt_purge(ck, 1, &deleted, &e_)); /* empty */
    CU_ASSERT_EQUAL(deleted, 0);
    write_offsets(ck, 0);
    ASSERT_OK(sm_ckpt_purge(ck, 1, &deleted, &e_)); /* nothing committed: nothing goes */
    CU_ASSERT_EQUAL(deleted, 0);
    CU_ASSERT(exists(dir, "offsets/0"));
    write_commit(ck, 0);

    for (int64_t n = 1; n < 10; n++) {
        write_offsets(ck, n);
        ASSERT_OK(sm_ckpt_write_state(ck, n, "agg", "s", 1, &e_));
        write_commit(ck, n);
    }
    write_offsets(ck, 10); /* batch 10 open */
    ASSERT_OK(sm_ckpt_write_state(ck, 10, "agg", "t", 1, &e_));

    ASSERT_OK(sm_ckpt_purge(ck, 100, &deleted, &e_)); /* fewer than keep: nothing */
    CU_ASSERT_EQUAL(deleted, 0);
    ASSERT_OK(sm_ckpt_purge(ck, 3, &deleted, &e_));
    CU_ASSERT_EQUAL(deleted, 7);
    for (int n = 0; n <= 10; n++) {
        char rel[64];
        snprintf(rel, sizeof rel, "offsets/%d", n);
        CU_ASSERT_EQUAL(exists(dir, rel), n >= 7);
        snprintf(rel, sizeof rel, "commits/%d", n);
        CU_ASSERT_EQUAL(exists(dir, rel), n >= 7 && n <= 9);
        snprintf(rel, sizeof rel, "state/%d", n);
        CU_ASSERT_EQUAL(exists(dir, rel), n >= 7);
    }
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 10);
    CU_ASSERT_TRUE(plan.rerun);
    CU_ASSERT_EQUAL(plan.last_committed, 9);
    CU_ASSERT_EQUAL(plan.oldest_batch_id, 7);

    /* keep 1 never removes the latest committed batch nor the open one. */
    ASSERT_OK(sm_ckpt_purge(ck, 1, &deleted, &e_));
    CU_ASSERT_EQUAL(deleted, 2);
    CU_ASSERT(exists(dir, "offsets/9") && exists(dir, "commits/9") && exists(dir, "state/9"));
    CU_ASSERT(exists(dir, "offsets/10") && exists(dir, "state/10/agg"));
    CU_ASSERT(!exists(dir, "offsets/8") && !exists(dir, "commits/8"));
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    CU_ASSERT_EQUAL(plan.next_batch_id, 10);
    CU_ASSERT_EQUAL(plan.committed_offsets->batch_id, 9);
    ASSERT_OK(sm_ckpt_purge(ck, 1, &deleted, &e_)); /* idempotent */
    CU_ASSERT_EQUAL(deleted, 0);

    sm_arena_destroy(a);
    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- state blobs ---------------------------------------------------------------------------- */

static void test_state_blobs_round_trip_and_are_checked(void)
{
    char *dir = sm_test_tmpdir("ckpt-state");
    sm_ckpt *ck = open_new(dir);
    sm_error err = {0};
    const char blob[] = "a\0b\nc\xff";
    CU_ASSERT_EQUAL(sm_ckpt_write_state(ck, 0, "agg", blob, sizeof blob, &err), SM_ERR_INTERNAL);
    write_offsets(ck, 0);
    ASSERT_OK(sm_ckpt_write_state(ck, 0, "gold_daily_sales.v1", blob, sizeof blob, &e_));
    ASSERT_OK(sm_ckpt_write_state(ck, 0, "empty", "", 0, &e_));
    /* A re-run replaces its state. */
    ASSERT_OK(sm_ckpt_write_state(ck, 0, "gold_daily_sales.v1", blob, sizeof blob, &e_));
    CU_ASSERT_EQUAL(sm_ckpt_write_state(ck, 0, "../x", "", 0, &err), SM_ERR_INTERNAL);
    CU_ASSERT_EQUAL(sm_ckpt_write_state(ck, 0, ".hidden", "", 0, &err), SM_ERR_INTERNAL);
    CU_ASSERT_EQUAL(sm_ckpt_write_state(ck, 1, "agg", "", 0, &err), SM_ERR_INTERNAL);

    void *data;
    size_t len;
    ASSERT_OK(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &e_));
    CU_ASSERT_EQUAL(len, sizeof blob);
    CU_ASSERT(memcmp(data, blob, sizeof blob) == 0);
    free(data);
    ASSERT_OK(sm_ckpt_read_state(ck, 0, "empty", &data, &len, &e_));
    CU_ASSERT_EQUAL(len, 0);
    free(data);
    CU_ASSERT_EQUAL(sm_ckpt_read_state(ck, 0, "nope", &data, &len, &err), SM_ERR_IO);
    CU_ASSERT_EQUAL(err.sys_errno, ENOENT);
    CU_ASSERT_PTR_NULL(data);

    /* A committed batch's state is frozen. */
    write_commit(ck, 0);
    CU_ASSERT_EQUAL(sm_ckpt_write_state(ck, 0, "agg", "", 0, &err), SM_ERR_INTERNAL);
    CU_ASSERT(contains(err.msg, "before its commit"));

    /* Damage is named. */
    char *p = path_of(dir, "state/0/gold_daily_sales.v1");
    size_t flen;
    char *file = slurp(p, &flen);
    file[flen - 2] ^= 1;
    put(p, file, flen);
    CU_ASSERT_EQUAL(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, p));
    CU_ASSERT(contains(err.msg, "checksum mismatch"));
    file[flen - 2] ^= 1;
    put(p, file, flen - 1);
    CU_ASSERT_EQUAL(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "truncated"));
    put(p, file, 5);
    CU_ASSERT_EQUAL(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &err),
                    SM_ERR_CORRUPT);
    put_str(p, "v1\ncrc32c:00000000 length:x\n");
    CU_ASSERT_EQUAL(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT(contains(err.msg, "bad length"));
    put(p, file, flen);
    ASSERT_OK(sm_ckpt_read_state(ck, 0, "gold_daily_sales.v1", &data, &len, &e_));
    free(data);
    free(file);
    free(p);

    sm_ckpt_close(ck);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- crashes -------------------------------------------------------------------------------- */

typedef struct fault_at {
    sm_fault_point point;
    int skip;     /* pass the point this many times first */
    int hits;     /* how many times it fired */
    bool crash;   /* _exit the process instead of failing */
    bool fire;    /* armed */
    int fail_err; /* errno when failing */
} fault_at;

static int fault_hook(sm_fault_point point, const char *path, void *ctx)
{
    (void)path;
    fault_at *f = ctx;
    if (!f->fire || point != f->point) {
        return 0;
    }
    if (f->skip > 0) {
        f->skip--;
        return 0;
    }
    f->hits++;
    f->fire = false;
    if (f->crash) {
        _exit(0); /* the process dies mid-step: no cleanup of any kind runs */
    }
    return f->fail_err;
}

/* The plan after the failed/crashed step: batch N either not started (old) or started (new). */
static void check_state_after(const char *dir, int64_t n, bool commit_step, bool *new_state)
{
    sm_ckpt *ck = open_new(dir);
    sm_arena *a = sm_arena_create(0, 0);
    sm_ckpt_recovery plan;
    ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
    if (!commit_step) {
        /* Before: n-1 committed, next n fresh. After: n to re-run. */
        CU_ASSERT_EQUAL(plan.next_batch_id, n);
        CU_ASSERT_EQUAL(plan.last_committed, n - 1);
        *new_state = plan.rerun;
        if (plan.rerun) {
            CU_ASSERT_EQUAL(plan.rerun_offsets->batch_id, n);
        }
    } else {
        /* Before: n open (re-run). After: n committed, next n+1. */
        CU_ASSERT(plan.rerun ? plan.next_batch_id == n && plan.last_committed == n - 1
                             : plan.next_batch_id == n + 1 && plan.last_committed == n);
        *new_state = !plan.rerun;
    }
    /* Never a half entry: no file other than whole entries, and temporaries are swept. */
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/offsets", dir);
    CU_ASSERT_EQUAL(count_files(sub, true), 0);
    snprintf(sub, sizeof sub, "%s/commits", dir);
    CU_ASSERT_EQUAL(count_files(sub, true), 0);
    sm_arena_destroy(a);
    sm_ckpt_close(ck);
}

static void test_a_failure_at_each_durable_step_leaves_old_or_new_state(void)
{
    for (int p = 0; p < SM_FAULT_POINT_COUNT; p++) {
        for (int commit_step = 0; commit_step <= 1; commit_step++) {
            char *dir = sm_test_tmpdir("ckpt-fault");
            sm_ckpt *ck = open_new(dir);
            write_batches(ck, 3, commit_step);
            int64_t n = 3;
            batch b;
            make_batch(&b, n);
            fault_at f = {.point = (sm_fault_point)p, .fire = true, .fail_err = EIO};
            sm_fault_install(fault_hook, &f);
            sm_error err = {0};
            int rc = commit_step ? sm_ckpt_write_commit(ck, &b.commit, &err)
                                 : sm_ckpt_write_offsets(ck, &b.off, &err);
            sm_fault_install(NULL, NULL);
            CU_ASSERT_EQUAL(f.hits, 1);
            CU_ASSERT_EQUAL(rc, SM_ERR_IO);
            CU_ASSERT(contains(err.msg, commit_step ? "commits/3" : "offsets/3"));
            sm_ckpt_close(ck);

            bool new_state = false;
            check_state_after(dir, n, commit_step, &new_state);
            /* Only a failed directory fsync happens after the move. */
            CU_ASSERT_EQUAL(new_state, p == SM_FAULT_FSYNC_DIR);

            /* The retry (what the engine does after a restart) succeeds either way. */
            ck = open_new(dir);
            rc = commit_step ? sm_ckpt_write_commit(ck, &b.commit, &err)
                             : sm_ckpt_write_offsets(ck, &b.off, &err);
            CU_ASSERT_EQUAL(rc, SM_OK);
            sm_ckpt_close(ck);
            check_state_after(dir, n, commit_step, &new_state);
            CU_ASSERT_TRUE(new_state);
            sm_test_rmtree(dir);
            free(dir);
        }
    }
}

/* Runs `step` in a child that dies at the (skip+1)-th pass of `point` (step 0: write offsets/3,
 * 1: write commits/3, 2: only open, creating the checkpoint); true when it died there. */
static bool crash_child_at(const char *dir, sm_fault_point point, int skip, int step)
{
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        fault_at f = {.point = point, .skip = skip, .crash = true, .fire = true};
        sm_fault_install(fault_hook, &f);
        sm_ckpt *ck = NULL;
        sm_error err;
        if (sm_ckpt_open(dir, true, &ck, &err) != SM_OK) {
            _exit(3); /* step 2: the crash happened during the creation of metadata */
        }
        batch b;
        make_batch(&b, 3);
        int rc = SM_OK;
        if (step == 0) {
            rc = sm_ckpt_write_offsets(ck, &b.off, &err);
        } else if (step == 1) {
            rc = sm_ckpt_write_commit(ck, &b.commit, &err);
        }
        _exit(rc == SM_OK ? 2 : 4); /* the point was not reached */
    }
    int st;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_FATAL(WIFEXITED(st));
    return WEXITSTATUS(st) == 0;
}

static void test_a_crash_at_each_durable_step_leaves_old_or_new_state(void)
{
    for (int p = 0; p < SM_FAULT_POINT_COUNT; p++) {
        for (int step = 0; step <= 1; step++) {
            char *dir = sm_test_tmpdir("ckpt-crash");
            sm_ckpt *ck = open_new(dir);
            write_batches(ck, 3, step == 1);
            sm_ckpt_close(ck);
            CU_ASSERT(crash_child_at(dir, (sm_fault_point)p, 0, step));

            /* The dead writer may have left its temporary; open sweeps it. */
            bool new_state = false;
            check_state_after(dir, 3, step == 1, &new_state);
            CU_ASSERT_EQUAL(new_state, p == SM_FAULT_FSYNC_DIR);

            ck = open_new(dir);
            batch b;
            make_batch(&b, 3);
            sm_error err = {0};
            int rc = step == 1 ? sm_ckpt_write_commit(ck, &b.commit, &err)
                               : sm_ckpt_write_offsets(ck, &b.off, &err);
            CU_ASSERT_EQUAL(rc, SM_OK);
            sm_ckpt_close(ck);
            check_state_after(dir, 3, step == 1, &new_state);
            CU_ASSERT_TRUE(new_state);
            sm_test_rmtree(dir);
            free(dir);
        }
    }
}

static void test_a_crash_while_creating_the_metadata_is_recovered_by_the_next_open(void)
{
    int crashes = 0;
    for (int p = 0; p < SM_FAULT_POINT_COUNT; p++) {
        for (int skip = 0;; skip++) {
            char *root = sm_test_tmpdir("ckpt-crash-meta");
            char *dir = path_of(root, "ck");
            bool crashed = crash_child_at(dir, (sm_fault_point)p, skip, 2);
            crashes += crashed;
            sm_ckpt *ck = open_new(dir);
            CU_ASSERT(exists(dir, "metadata"));
            CU_ASSERT_EQUAL(count_files(dir, true), 0);
            sm_arena *a = sm_arena_create(0, 0);
            sm_ckpt_recovery plan;
            ASSERT_OK(sm_ckpt_plan(ck, a, &plan, &e_));
            CU_ASSERT_EQUAL(plan.next_batch_id, 0);
            CU_ASSERT_FALSE(plan.rerun);
            sm_arena_destroy(a);
            sm_ckpt_close(ck);
            free(dir);
            sm_test_rmtree(root);
            free(root);
            if (!crashed) {
                break;
            }
        }
    }
    /* open, write, fsync, rename once each; fsync dir for the directory, its parent and the
     * metadata file. */
    CU_ASSERT(crashes >= SM_FAULT_POINT_COUNT + 2);
}

static void test_open_keeps_temporaries_of_live_writers(void)
{
    char *dir = sm_test_tmpdir("ckpt-sweep");
    sm_ckpt *ck = open_new(dir);
    sm_ckpt_close(ck);
    /* Ours (this pid is alive) stays; one of a dead pid goes; a dot file of another shape
     * stays. */
    char name[256];
    snprintf(name, sizeof name, "offsets/.0.%ld.7.tmp", (long)getpid());
    char *live = path_of(dir, name);
    put_str(live, "x");
    pid_t dead = fork();
    if (dead == 0) {
        _exit(0);
    }
    waitpid(dead, NULL, 0);
    snprintf(name, sizeof name, "offsets/.0.%ld.8.tmp", (long)dead);
    char *gone = path_of(dir, name);
    put_str(gone, "x");
    char *other = path_of(dir, "offsets/.keep");
    put_str(other, "x");
    ck = open_new(dir);
    struct stat st;
    CU_ASSERT_EQUAL(stat(live, &st), 0);
    CU_ASSERT_NOT_EQUAL(stat(gone, &st), 0);
    CU_ASSERT_EQUAL(stat(other, &st), 0);
    sm_ckpt_close(ck);
    free(other);
    free(gone);
    free(live);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"crc32c matches the Castagnoli check value", test_crc32c_matches_the_castagnoli_check_value},
    {"open creates metadata and reopen keeps the query id",
     test_open_creates_metadata_and_reopen_keeps_the_query_id},
    {"open refuses foreign, damaged and newer metadata",
     test_open_refuses_foreign_damaged_and_newer_metadata},
    {"offsets and commit round trip, sorted", test_offsets_and_commit_round_trip_sorted},
    {"rewrite identical is a no-op, different is a conflict",
     test_rewrite_identical_is_a_no_op_and_different_is_a_conflict},
    {"writes keep the protocol order", test_writes_keep_the_protocol_order},
    {"every corruption kind is named", test_every_corruption_kind_is_named},
    {"plan on an empty checkpoint starts at zero", test_plan_on_an_empty_checkpoint_starts_at_zero},
    {"plan after a committed batch goes on from its ends",
     test_plan_after_a_committed_batch_goes_on_from_its_ends},
    {"plan re-runs an uncommitted last batch as recorded",
     test_plan_reruns_an_uncommitted_last_batch_as_recorded},
    {"plan refuses gaps and inconsistent logs", test_plan_refuses_gaps_and_inconsistent_logs},
    {"purge keeps the last batches and the open one",
     test_purge_keeps_the_last_batches_and_the_open_one},
    {"state blobs round trip and are checked", test_state_blobs_round_trip_and_are_checked},
    {"a failure at each durable step leaves old or new state",
     test_a_failure_at_each_durable_step_leaves_old_or_new_state},
    {"a crash at each durable step leaves old or new state",
     test_a_crash_at_each_durable_step_leaves_old_or_new_state},
    {"a crash while creating the metadata is recovered by the next open",
     test_a_crash_while_creating_the_metadata_is_recovered_by_the_next_open},
    {"open keeps temporaries of live writers", test_open_keeps_temporaries_of_live_writers},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("checkpoint", tests)
