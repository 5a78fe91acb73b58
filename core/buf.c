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

int sm_buf_append_json_string(sm_buf *b, const void *s, size_t n, sm_error *err)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = s;
    if (sm_buf_reserve(b, n + 2, err) != 0) {
        return SM_ERR_NOMEM;
    }
    b->data[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
            if (sm_buf_append_byte(b, c, err)) {
                return SM_ERR_NOMEM;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
        } else if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\r') {
            esc[1] = 'r';
        } else if (c == '\t') {
            esc[1] = 't';
        } else {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        if (sm_buf_append(b, esc, len, err)) {
            return SM_ERR_NOMEM;
        }
    }
    return sm_buf_append_byte(b, '"', err);
}
