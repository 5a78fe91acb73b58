/*
 * sm_buf — a growable byte buffer: the output of encoders and codecs and the byte store of
 * decoded BYTE_ARRAY columns. `data[0..len)` is the content, `cap` the bytes allocated.
 *
 * A zeroed struct (SM_BUF_INIT or sm_buf_init) is a valid empty buffer. Growth doubles, so a
 * sequence of appends is amortised O(1); sm_buf_reset keeps the memory for the next use, so a
 * steady-state loop does no malloc. The fallible calls return 0 or SM_ERR_NOMEM (with `err`
 * set); on failure the buffer is unchanged. There is no sticky error: check every call.
 *
 * Ownership: the buffer owns `data` (malloc'd) until sm_buf_free or sm_buf_detach.
 * @thread one owner; not thread-safe.
 */
#ifndef SM_CORE_BUF_H
#define SM_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"

typedef struct sm_buf {
    uint8_t *data; /* NULL while cap == 0 */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
} sm_buf;

#define SM_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes `b` an empty buffer holding no memory (does not free what it held). */
void sm_buf_init(sm_buf *b);

/* Ensures room for `extra` more bytes past len (cap >= len + extra). Slow path of the inline
 * helpers below. Returns 0, or SM_ERR_NOMEM when the allocation or the size overflows. */
int sm_buf_grow(sm_buf *b, size_t extra, sm_error *err);

static inline int sm_buf_reserve(sm_buf *b, size_t extra, sm_error *err)
{
    if (b->cap - b->len >= extra) {
        return 0;
    }
    return sm_buf_grow(b, extra, err);
}

/* Appends n bytes (src may be NULL when n == 0). */
static inline int sm_buf_append(sm_buf *b, const void *src, size_t n, sm_error *err)
{
    if (n == 0) {
        return 0;
    }
    if (sm_buf_reserve(b, n, err) != 0) {
        return SM_ERR_NOMEM;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

static inline int sm_buf_append_byte(sm_buf *b, uint8_t byte, sm_error *err)
{
    if (sm_buf_reserve(b, 1, err) != 0) {
        return SM_ERR_NOMEM;
    }
    b->data[b->len++] = byte;
    return 0;
}

/* Appends n uninitialised bytes and returns a pointer to them (valid until the next growth),
 * or NULL on out of memory. */
static inline uint8_t *sm_buf_extend(sm_buf *b, size_t n, sm_error *err)
{
    if (sm_buf_reserve(b, n, err) != 0) {
        return NULL;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

/* Appends v as 4 bytes little-endian (Parquet lengths). */
int sm_buf_append_u32le(sm_buf *b, uint32_t v, sm_error *err);

/* Appends `s` as a JSON string literal: quotes, backslash and control characters (and DEL)
 * escaped as RFC 8259 allows; every other byte as it is — the caller decides whether invalid
 * UTF-8 may pass (a file's own bytes) or must be refused first. */
int sm_buf_append_json_string(sm_buf *b, const void *s, size_t n, sm_error *err);

/* Empties the buffer, keeping its memory. */
static inline void sm_buf_reset(sm_buf *b)
{
    b->len = 0;
}

/* Frees the memory and leaves an empty buffer. Accepts NULL. */
void sm_buf_free(sm_buf *b);

/* Hands `data` to the caller (who free()s it) and leaves an empty buffer. NULL when empty. */
uint8_t *sm_buf_detach(sm_buf *b, size_t *len_out);

#endif
