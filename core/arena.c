/*
 * sm_arena — see core/arena.h.
 *
 * Chunks form a list headed by the first chunk, which reset keeps. `cur` is the chunk being
 * bumped into. A request larger than the chunk size gets a chunk of exactly its size, linked
 * in behind `cur` so the free tail of `cur` stays usable.
 *
 * DESIGN: the limit bounds the memory the arena holds (sm_arena_reserved), not only what it
 * has handed out, because the point of the limit is bounded memory (DESIGN.md contract 4).
 * reserved <= limit always holds: a new chunk is made smaller to fit under the limit when it
 * can still serve the request, and allocation fails when it cannot. Since used <= reserved,
 * used never passes the limit either.
 */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_DEFAULT_CHUNK (64 * 1024)
#define ARENA_ALIGN         alignof(max_align_t)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t used;
    max_align_t data[]; /* aligned for any type */
} arena_chunk;

struct sm_arena {
    arena_chunk *first; /* kept by reset */
    arena_chunk *cur;   /* bump allocations come from here */
    size_t chunk_size;  /* rounded up to ARENA_ALIGN */
    size_t limit;       /* 0 = unbounded */
    size_t used;
    size_t reserved;
};

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

static arena_chunk *chunk_new(size_t cap)
{
    if (cap > SIZE_MAX - sizeof(arena_chunk)) {
        return NULL;
    }
    arena_chunk *c = malloc(sizeof(arena_chunk) + cap);
    if (!c) {
        return NULL;
    }
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

sm_arena *sm_arena_create(size_t chunk_size, size_t limit)
{
    if (chunk_size == 0) {
        chunk_size = ARENA_DEFAULT_CHUNK;
    }
    if (chunk_size > SIZE_MAX / 2) {
        return NULL;
    }
    chunk_size = align_up(chunk_size);
    sm_arena *a = calloc(1, sizeof *a);
    if (!a) {
        goto fail;
    }
    a->chunk_size = chunk_size;
    a->limit = limit;
    size_t first_cap = chunk_size;
    if (limit != 0 && first_cap > limit) {
        first_cap = limit & ~(ARENA_ALIGN - 1);
    }
    a->first = chunk_new(first_cap);
    if (!a->first) {
        goto fail;
    }
    a->cur = a->first;
    a->reserved = first_cap;
    return a;

fail:
    free(a);
    return NULL;
}

void sm_arena_destroy(sm_arena *a)
{
    if (!a) {
        return;
    }
    arena_chunk *c = a->first;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

/* Room left under the limit for new chunks. */
static size_t headroom(const sm_arena *a)
{
    if (a->limit == 0) {
        return SIZE_MAX;
    }
    return a->limit > a->reserved ? a->limit - a->reserved : 0;
}

void *sm_arena_alloc(sm_arena *a, size_t n)
{
    if (!a) {
        return NULL;
    }
    if (n == 0) {
        n = 1; /* a distinct pointer, as malloc(0) may give */
    }
    if (n > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    n = align_up(n);

    arena_chunk *c = a->cur;
    if (c->cap - c->used < n) {
        size_t room = headroom(a);
        if (n > a->chunk_size) {
            /* A chunk of its own, behind cur, so cur's free tail is not wasted. */
            if (n > room) {
                return NULL;
            }
            c = chunk_new(n);
            if (!c) {
                return NULL;
            }
            c->next = a->cur->next;
            a->cur->next = c;
        } else {
            size_t cap = a->chunk_size < room ? a->chunk_size : room & ~(ARENA_ALIGN - 1);
            if (cap < n) {
                return NULL;
            }
            c = chunk_new(cap);
            if (!c) {
                return NULL;
            }
            c->next = a->cur->next;
            a->cur->next = c;
            a->cur = c;
        }
        a->reserved += c->cap;
    }
    void *p = (unsigned char *)c->data + c->used;
    c->used += n;
    a->used += n;
    return p;
}

void *sm_arena_calloc(sm_arena *a, size_t n)
{
    void *p = sm_arena_alloc(a, n);
    if (p) {
        memset(p, 0, n);
    }
    return p;
}

char *sm_arena_strndup(sm_arena *a, const char *s, size_t n)
{
    if (!s && n > 0) {
        return NULL;
    }
    if (n == SIZE_MAX) {
        return NULL;
    }
    char *p = sm_arena_alloc(a, n + 1);
    if (!p) {
        return NULL;
    }
    if (n > 0) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

char *sm_arena_strdup(sm_arena *a, const char *s)
{
    if (!s) {
        return NULL;
    }
    return sm_arena_strndup(a, s, strlen(s));
}

void sm_arena_reset(sm_arena *a)
{
    if (!a) {
        return;
    }
    arena_chunk *c = a->first->next;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->cur = a->first;
    a->used = 0;
    a->reserved = a->first->cap;
}

void sm_arena_reset_keep(sm_arena *a)
{
    size_t total;
    arena_chunk *big;
    if (!a || !a->first->next) {
        sm_arena_reset(a);
        return;
    }
    total = a->reserved;
    sm_arena_reset(a);
    if (a->limit != 0 && total > a->limit) {
        total = a->limit & ~(ARENA_ALIGN - 1);
    }
    if (total <= a->first->cap || !(big = chunk_new(total))) {
        return; /* no memory for the larger chunk: the arena is as after a reset */
    }
    free(a->first);
    a->first = a->cur = big;
    a->reserved = total;
}

size_t sm_arena_used(const sm_arena *a)
{
    return a ? a->used : 0;
}

size_t sm_arena_reserved(const sm_arena *a)
{
    return a ? a->reserved : 0;
}

void *sm_calloc_table(size_t n, size_t size)
{
    volatile unsigned char *p;
    size_t bytes;
    if (size && n > SIZE_MAX / size) {
        return NULL;
    }
    bytes = n * size;
    if (!(p = calloc(n ? n : 1, size ? size : 1))) {
        return NULL;
    }
    for (size_t i = 0; i < bytes; i += 4096) {
        p[i] = 0; /* a write fault per page now, not a read then a write later */
    }
    return (void *)p;
}
