/*
 * sm_arena — a bump allocator for data that lives and dies together (one micro-batch: decoded
 * strings, column buffers). Allocation is a pointer bump inside the current chunk; a request
 * larger than the chunk size gets a chunk of its own. sm_arena_reset() frees everything at once
 * and keeps the first chunk for reuse, so a steady-state batch loop does no malloc.
 *
 * An optional byte limit bounds the arena (DESIGN.md contract 4): past it allocation fails with
 * NULL instead of growing.
 *
 * @thread one owner; not thread-safe.
 */
#ifndef SM_CORE_ARENA_H
#define SM_CORE_ARENA_H

#include <stddef.h>

typedef struct sm_arena sm_arena;

/* chunk_size 0 picks 64 KiB; limit 0 means unbounded. Returns NULL on out of memory. */
sm_arena *sm_arena_create(size_t chunk_size, size_t limit);
void sm_arena_destroy(sm_arena *a); /* accepts NULL */

/* Memory aligned to max_align_t, uninitialized. NULL when out of memory or over the limit. */
void *sm_arena_alloc(sm_arena *a, size_t n);
void *sm_arena_calloc(sm_arena *a, size_t n);
/* Copies s (n bytes) and NUL-terminates; strdup reads up to the NUL. */
char *sm_arena_strndup(sm_arena *a, const char *s, size_t n);
char *sm_arena_strdup(sm_arena *a, const char *s);

/* Frees every allocation; keeps the first chunk. Pointers handed out before are invalid. */
void sm_arena_reset(sm_arena *a);
/* The same, but the memory stays for the next round: when the arena held several chunks they
 * become one first chunk of their total size (within the limit), so a loop whose rounds
 * allocate alike mallocs (and faults pages in) once, not every round. */
void sm_arena_reset_keep(sm_arena *a);

/* Not an arena's: calloc for a large hash table, read before written at random places. Its
 * pages are written once up front, so each faults in once as a private page; with plain calloc
 * the first read maps the shared zero page and the first write faults again and flushes the TLB
 * of every thread of the process (copy on write), which cost a bench run ~0.3 s of system time.
 * Free with free(). NULL on out of memory or overflow. */
void *sm_calloc_table(size_t n, size_t size);

size_t sm_arena_used(const sm_arena *a);     /* bytes handed out since the last reset */
size_t sm_arena_reserved(const sm_arena *a); /* bytes held in chunks */

#endif
