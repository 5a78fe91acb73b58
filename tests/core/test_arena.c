/* Tests of core/arena.c: alignment, chunking, reset reuse and the byte limit. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "sm_test.h"

#define ALIGN alignof(max_align_t)

static void test_arena_allocations_are_aligned_and_disjoint(void)
{
    sm_arena *a = sm_arena_create(1024, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    unsigned char *ptrs[200];
    size_t sizes[200];
    for (size_t i = 0; i < 200; i++) {
        sizes[i] = 1 + (i * 37) % 300; /* odd sizes, some crossing chunk ends */
        ptrs[i] = sm_arena_alloc(a, sizes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ptrs[i]);
        CU_ASSERT_EQUAL((uintptr_t)ptrs[i] % ALIGN, 0);
        memset(ptrs[i], (int)(i & 0xFF), sizes[i]);
    }
    for (size_t i = 0; i < 200; i++) {
        for (size_t k = 0; k < sizes[i]; k++) {
            if (ptrs[i][k] != (unsigned char)(i & 0xFF)) {
                CU_FAIL("allocation overwritten by a later one");
                break;
            }
        }
    }
    CU_ASSERT_TRUE(sm_arena_used(a) >= 200);
    CU_ASSERT_TRUE(sm_arena_reserved(a) >= sm_arena_used(a));
    sm_arena_destroy(a);
}

static void test_arena_default_chunk_is_64k(void)
{
    sm_arena *a = sm_arena_create(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(sm_arena_reserved(a), 64 * 1024);
    CU_ASSERT_EQUAL(sm_arena_used(a), 0);
    sm_arena_destroy(a);
}

static void test_arena_big_allocation_gets_its_own_chunk(void)
{
    sm_arena *a = sm_arena_create(4096, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *small1 = sm_arena_alloc(a, 100);
    size_t before = sm_arena_reserved(a);
    char *big = sm_arena_alloc(a, 100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    CU_ASSERT_EQUAL((uintptr_t)big % ALIGN, 0);
    memset(big, 0x5A, 100000);
    CU_ASSERT_EQUAL(sm_arena_reserved(a), before + 100000 + (ALIGN - 100000 % ALIGN) % ALIGN);
    /* The current chunk's free tail is still used after the big one. */
    char *small2 = sm_arena_alloc(a, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(small2);
    CU_ASSERT_TRUE(small2 > small1 && small2 < small1 + 4096);
    sm_arena_destroy(a);
}

static void test_arena_reset_reuses_the_first_chunk(void)
{
    sm_arena *a = sm_arena_create(1024, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    void *first = sm_arena_alloc(a, 64);
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 200));
    }
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 50000));
    CU_ASSERT_TRUE(sm_arena_reserved(a) > 1024);
    sm_arena_reset(a);
    CU_ASSERT_EQUAL(sm_arena_used(a), 0);
    CU_ASSERT_EQUAL(sm_arena_reserved(a), 1024);
    CU_ASSERT_PTR_EQUAL(sm_arena_alloc(a, 64), first);
    /* A steady-state loop stays in the first chunk. */
    for (int round = 0; round < 10; round++) {
        sm_arena_reset(a);
        for (int i = 0; i < 10; i++) {
            CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 64));
        }
        CU_ASSERT_EQUAL(sm_arena_reserved(a), 1024);
    }
    sm_arena_destroy(a);
}

static void test_arena_reset_keep_makes_one_chunk_of_the_round(void)
{
    sm_arena *a = sm_arena_create(1024, 0), *l = sm_arena_create(1024, 8192);
    size_t held;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    sm_arena_reset_keep(a); /* one chunk: as reset */
    CU_ASSERT_EQUAL(sm_arena_reserved(a), 1024);
    for (int i = 0; i < 20; i++) {
        CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 200));
    }
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 5000));
    held = sm_arena_reserved(a);
    sm_arena_reset_keep(a);
    CU_ASSERT_EQUAL(sm_arena_used(a), 0);
    CU_ASSERT_EQUAL(sm_arena_reserved(a), held);
    /* the same round again fits in the one chunk: nothing more is reserved */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 200));
        }
        CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 5000));
        CU_ASSERT_EQUAL(sm_arena_reserved(a), held);
        sm_arena_reset_keep(a);
    }
    /* the limit still bounds what is held */
    for (int i = 0; i < 7; i++) {
        CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(l, 1000));
    }
    sm_arena_reset_keep(l);
    CU_ASSERT_TRUE(sm_arena_reserved(l) <= 8192);
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(l, 6000));
    sm_arena_destroy(a);
    sm_arena_destroy(l);
}

static void test_arena_calloc_zeroes_reused_memory(void)
{
    sm_arena *a = sm_arena_create(1024, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    memset(sm_arena_alloc(a, 512), 0xAA, 512);
    sm_arena_reset(a);
    unsigned char *p = sm_arena_calloc(a, 512);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t nonzero = 0;
    for (size_t i = 0; i < 512; i++) {
        nonzero += p[i] != 0;
    }
    CU_ASSERT_EQUAL(nonzero, 0);
    sm_arena_destroy(a);
}

static void test_arena_limit_is_enforced(void)
{
    const size_t limit = 10000;
    sm_arena *a = sm_arena_create(4096, limit);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    size_t got = 0;
    while (sm_arena_alloc(a, 100)) {
        got++;
        CU_ASSERT_TRUE_FATAL(got < 1000);
    }
    CU_ASSERT_TRUE(sm_arena_used(a) <= limit);
    CU_ASSERT_TRUE(sm_arena_reserved(a) <= limit);
    /* Close to the limit: only the alignment tail of each chunk is lost. */
    CU_ASSERT_TRUE(sm_arena_used(a) >= limit - 3 * 112);
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, 100));
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, 20000)); /* big allocations count too */
    char line[101];
    memset(line, 'l', 100);
    line[100] = '\0';
    CU_ASSERT_PTR_NULL(sm_arena_strdup(a, line));

    /* After a reset the arena serves again, still bounded. */
    sm_arena_reset(a);
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 100));
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, limit + 1));
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 5000)); /* own chunk, fits under the limit */
    CU_ASSERT_TRUE(sm_arena_reserved(a) <= limit);
    sm_arena_destroy(a);
}

static void test_arena_limit_below_chunk_size_shrinks_first_chunk(void)
{
    sm_arena *a = sm_arena_create(65536, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_TRUE(sm_arena_reserved(a) <= 1000);
    CU_ASSERT_PTR_NOT_NULL(sm_arena_alloc(a, 900));
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, 200));
    sm_arena_destroy(a);
}

static void test_arena_zero_and_huge_requests(void)
{
    sm_arena *a = sm_arena_create(256, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    void *z1 = sm_arena_alloc(a, 0);
    void *z2 = sm_arena_alloc(a, 0);
    CU_ASSERT_PTR_NOT_NULL(z1);
    CU_ASSERT_PTR_NOT_NULL(z2);
    CU_ASSERT_PTR_NOT_EQUAL(z1, z2);
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, SIZE_MAX));
    CU_ASSERT_PTR_NULL(sm_arena_alloc(a, SIZE_MAX - 8));
    CU_ASSERT_PTR_NULL(sm_arena_strndup(a, "x", SIZE_MAX));
    CU_ASSERT_PTR_NULL(sm_arena_alloc(NULL, 8));
    sm_arena_destroy(a);
    sm_arena_destroy(NULL);
    CU_ASSERT_PTR_NULL(sm_arena_create(SIZE_MAX, 0));
}

static void test_arena_strndup_copies_n_bytes_and_terminates(void)
{
    sm_arena *a = sm_arena_create(128, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    const char src[] = {'a', '\0', 'b', 'c', 'd'};
    char *s = sm_arena_strndup(a, src, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(memcmp(s, src, 4), 0); /* embedded NUL copied: n bytes, not to the NUL */
    CU_ASSERT_EQUAL(s[4], '\0');

    char *d = sm_arena_strdup(a, "silver_orders");
    CU_ASSERT_STRING_EQUAL(d, "silver_orders");
    char *e = sm_arena_strndup(a, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_STRING_EQUAL(e, "");
    CU_ASSERT_PTR_NULL(sm_arena_strdup(a, NULL));
    CU_ASSERT_PTR_NULL(sm_arena_strndup(a, NULL, 3));

    /* Longer than a chunk. */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *b = sm_arena_strdup(a, big);
    CU_ASSERT_STRING_EQUAL(b, big);
    sm_arena_destroy(a);
}

static void test_arena_used_counts_since_last_reset(void)
{
    sm_arena *a = sm_arena_create(1024, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    sm_arena_alloc(a, ALIGN);
    sm_arena_alloc(a, 3 * ALIGN);
    CU_ASSERT_EQUAL(sm_arena_used(a), 4 * ALIGN);
    sm_arena_alloc(a, 1); /* rounded up to the alignment */
    CU_ASSERT_EQUAL(sm_arena_used(a), 5 * ALIGN);
    sm_arena_reset(a);
    CU_ASSERT_EQUAL(sm_arena_used(a), 0);
    CU_ASSERT_EQUAL(sm_arena_used(NULL), 0);
    CU_ASSERT_EQUAL(sm_arena_reserved(NULL), 0);
    sm_arena_reset(NULL);
    sm_arena_destroy(a);
}

static CU_TestInfo tests[] = {
    {"allocations are aligned and disjoint", test_arena_allocations_are_aligned_and_disjoint},
    {"default chunk is 64 KiB", test_arena_default_chunk_is_64k},
    {"big allocation gets its own chunk", test_arena_big_allocation_gets_its_own_chunk},
    {"reset_keep makes one chunk of the round", test_arena_reset_keep_makes_one_chunk_of_the_round},
    {"reset reuses the first chunk", test_arena_reset_reuses_the_first_chunk},
    {"calloc zeroes reused memory", test_arena_calloc_zeroes_reused_memory},
    {"limit is enforced", test_arena_limit_is_enforced},
    {"limit below chunk size shrinks first chunk",
     test_arena_limit_below_chunk_size_shrinks_first_chunk},
    {"zero and huge requests", test_arena_zero_and_huge_requests},
    {"strndup copies n bytes and terminates", test_arena_strndup_copies_n_bytes_and_terminates},
    {"used counts since last reset", test_arena_used_counts_since_last_reset},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("arena", tests)
