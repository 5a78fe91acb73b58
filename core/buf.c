/*
 * sm_buf — see core/buf.h. Growth doubles from 64 bytes, so appends are amortised O(1), and
 * every size computation is checked for overflow before it reaches realloc.
 */
#include "core/buf.h"

#include <stdlib.h>

void sm_buf_init(sm_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int sm_buf_grow(sm_buf *b, size_t extra, sm_error *err)
{
    if (extra > SIZE_MAX - b->len) {
        return sm_error_set(err, SM_ERR_NOMEM, "buffer: %zu + %zu bytes overflows", b->len, extra);
    }
    size_t need = b->len + extra;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        return sm_error_set(err, SM_ERR_NOMEM, "buffer: out of memory growing to %zu bytes", cap);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sm_buf_append_u32le(sm_buf *b, uint32_t v, sm_error *err)
{
    uint8_t *p = sm_buf_extend(b, 4, err);
    if (!p) {
        return SM_ERR_NOMEM;
    }
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return 0;
}

void sm_buf_free(sm_buf *b)
{
    if (!b) {
        return;
    }
    free(b->data);
    sm_buf_init(b);
}

uint8_t *sm_buf_detach(sm_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out) {
        *len_out = b->len;
    }
    sm_buf_init(b);
    return p;
}
