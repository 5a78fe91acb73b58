/*
 * Thrift compact protocol — see storage/thrift.h.
 *
 * DESIGN: the reader trusts nothing in the input. Every byte is fetched through need(), which
 * checks the cursor against the length; every count (binary length, list size, map size) is
 * compared with the bytes left before the caller can act on it, assuming the smallest encoding
 * of each element, so a reader that allocates `count` elements allocates at most a constant
 * times the input size. Recursion (tc_skip) is bounded by TC_MAX_DEPTH because every nested
 * struct, list, set and map takes a level.
 *
 * Bool list elements: the spec says element type 2, the Java and C++ libraries (which wrote
 * nearly every Parquet file in existence) write 1. Both are read; 1 is written, which every
 * reader accepts.
 */
#include "storage/thrift.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tc_type_name(int type)
{
    switch (type) {
    case TC_STOP:
        return "stop";
    case TC_BOOL_TRUE:
    case TC_BOOL:
        return "bool";
    case TC_I8:
        return "i8";
    case TC_I16:
        return "i16";
    case TC_I32:
        return "i32";
    case TC_I64:
        return "i64";
    case TC_DOUBLE:
        return "double";
    case TC_BINARY:
        return "binary";
    case TC_LIST:
        return "list";
    case TC_SET:
        return "set";
    case TC_MAP:
        return "map";
    case TC_STRUCT:
        return "struct";
    case TC_UUID:
        return "uuid";
    default:
        return "unknown";
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Varints and zigzag                                                                        */

size_t tc_encode_varint(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t tc_decode_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i >= len) {
            return 0;
        }
        uint8_t b = p[i];
        if (i == 9 && b > 1) {
            return 0; /* more than 64 bits */
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

uint64_t tc_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

int64_t tc_unzigzag64(uint64_t v)
{
    uint64_t u = (v >> 1) ^ (0 - (v & 1));
    /* Two's complement reinterpretation without implementation-defined conversion. */
    if (u <= (uint64_t)INT64_MAX) {
        return (int64_t)u;
    }
    return -(int64_t)(~u) - 1;
}

static uint32_t zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (v < 0 ? UINT32_MAX : 0);
}

static int32_t unzigzag32(uint32_t v)
{
    uint32_t u = (v >> 1) ^ (0 - (v & 1));
    if (u <= (uint32_t)INT32_MAX) {
        return (int32_t)u;
    }
    return -(int32_t)(~u) - 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */

void tc_writer_init(tc_writer *w)
{
    memset(w, 0, sizeof *w);
}

void tc_writer_release(tc_writer *w)
{
    if (!w) {
        return;
    }
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void tc_writer_clear(tc_writer *w)
{
    w->len = 0;
    w->status = SM_OK;
    w->why = NULL;
    w->depth = 0;
    w->last_id[0] = 0;
}

const uint8_t *tc_writer_data(const tc_writer *w)
{
    return w->buf;
}

size_t tc_writer_len(const tc_writer *w)
{
    return w->len;
}

uint8_t *tc_writer_take(tc_writer *w, size_t *len_out)
{
    uint8_t *buf = w->len > 0 ? w->buf : NULL;
    *len_out = w->len;
    if (!buf) {
        free(w->buf);
    }
    w->buf = NULL;
    w->cap = 0;
    tc_writer_clear(w);
    return buf;
}

int tc_writer_status(const tc_writer *w, sm_error *err)
{
    if (w->status == SM_OK) {
        return SM_OK;
    }
    return sm_error_set(err, (sm_code)w->status, "thrift writer: %s", w->why ? w->why : "failed");
}

void tc_writer_fail(tc_writer *w, int code, const char *why)
{
    if (w->status == SM_OK) {
        w->status = code;
        w->why = why;
    }
}

/* Room for n more bytes; false (and the sticky error) when there is none. */
static bool wreserve(tc_writer *w, size_t n)
{
    if (w->status != SM_OK) {
        return false;
    }
    if (n <= w->cap - w->len) {
        return true;
    }
    if (n > SIZE_MAX / 2 - w->len) {
        tc_writer_fail(w, SM_ERR_NOMEM, "buffer size overflow");
        return false;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        cap *= 2;
    }
    uint8_t *buf = realloc(w->buf, cap);
    if (!buf) {
        tc_writer_fail(w, SM_ERR_NOMEM, "out of memory growing the buffer");
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

static void wbytes(tc_writer *w, const void *p, size_t n)
{
    if (n == 0 || !wreserve(w, n)) {
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void wbyte(tc_writer *w, uint8_t b)
{
    wbytes(w, &b, 1);
}

static void wvarint(tc_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    wbytes(w, tmp, tc_encode_varint(v, tmp));
}

static bool valid_value_type(int t)
{
    return t >= TC_BOOL_TRUE && t <= TC_UUID;
}

static void wfield_header(tc_writer *w, uint8_t ctype, int16_t id)
{
    if (w->depth == 0) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "field written outside a struct");
        return;
    }
    int32_t delta = (int32_t)id - w->last_id[w->depth];
    if (delta > 0 && delta <= 15) {
        wbyte(w, (uint8_t)(delta << 4 | ctype));
    } else {
        wbyte(w, ctype);
        wvarint(w, zigzag32(id));
    }
    w->last_id[w->depth] = id;
}

void tc_write_struct_begin(tc_writer *w)
{
    if (w->depth >= TC_MAX_DEPTH) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "structs nested deeper than TC_MAX_DEPTH");
        return;
    }
    w->depth++;
    w->last_id[w->depth] = 0;
}

void tc_write_struct_end(tc_writer *w)
{
    if (w->depth == 0) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "struct end without a begin");
        return;
    }
    wbyte(w, TC_STOP);
    w->depth--;
}

void tc_write_field_begin(tc_writer *w, tc_type type, int16_t id)
{
    if (!valid_value_type(type) || type == TC_BOOL || type == TC_BOOL_TRUE) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "bad field type (bools go through tc_write_field_bool)");
        return;
    }
    wfield_header(w, (uint8_t)type, id);
}

void tc_write_i8(tc_writer *w, int8_t v)
{
    wbyte(w, (uint8_t)v);
}

void tc_write_i16(tc_writer *w, int16_t v)
{
    wvarint(w, zigzag32(v));
}

void tc_write_i32(tc_writer *w, int32_t v)
{
    wvarint(w, zigzag32(v));
}

void tc_write_i64(tc_writer *w, int64_t v)
{
    wvarint(w, tc_zigzag64(v));
}

void tc_write_double(tc_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (uint8_t)(bits >> (8 * i));
    }
    wbytes(w, le, sizeof le);
}

void tc_write_binary(tc_writer *w, const void *data, size_t len)
{
    if (len > INT32_MAX) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "binary longer than 2^31-1 bytes");
        return;
    }
    if (len > 0 && !data) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "binary with NULL data");
        return;
    }
    wvarint(w, len);
    wbytes(w, data, len);
}

void tc_write_string(tc_writer *w, const char *s)
{
    if (!s) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "NULL string");
        return;
    }
    tc_write_binary(w, s, strlen(s));
}

void tc_write_bool(tc_writer *w, bool v)
{
    wbyte(w, v ? 1 : 0);
}

/* Element type code on the wire. */
static uint8_t elem_code(tc_type t)
{
    return t == TC_BOOL ? TC_BOOL_TRUE : (uint8_t)t;
}

void tc_write_list_begin(tc_writer *w, tc_type elem_type, int32_t n)
{
    if (!valid_value_type(elem_type) || n < 0) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "bad list element type or negative size");
        return;
    }
    if (n < 15) {
        wbyte(w, (uint8_t)(n << 4 | elem_code(elem_type)));
    } else {
        wbyte(w, (uint8_t)(0xf0 | elem_code(elem_type)));
        wvarint(w, (uint64_t)n);
    }
}

void tc_write_set_begin(tc_writer *w, tc_type elem_type, int32_t n)
{
    tc_write_list_begin(w, elem_type, n);
}

void tc_write_map_begin(tc_writer *w, tc_type key_type, tc_type value_type, int32_t n)
{
    if (!valid_value_type(key_type) || !valid_value_type(value_type) || n < 0) {
        tc_writer_fail(w, SM_ERR_INTERNAL, "bad map key/value type or negative size");
        return;
    }
    if (n == 0) {
        wbyte(w, 0);
        return;
    }
    wvarint(w, (uint64_t)n);
    wbyte(w, (uint8_t)(elem_code(key_type) << 4 | elem_code(value_type)));
}

void tc_write_field_bool(tc_writer *w, int16_t id, bool v)
{
    wfield_header(w, v ? TC_BOOL_TRUE : TC_BOOL, id);
}

void tc_write_field_i8(tc_writer *w, int16_t id, int8_t v)
{
    tc_write_field_begin(w, TC_I8, id);
    tc_write_i8(w, v);
}

void tc_write_field_i16(tc_writer *w, int16_t id, int16_t v)
{
    tc_write_field_begin(w, TC_I16, id);
    tc_write_i16(w, v);
}

void tc_write_field_i32(tc_writer *w, int16_t id, int32_t v)
{
    tc_write_field_begin(w, TC_I32, id);
    tc_write_i32(w, v);
}

void tc_write_field_i64(tc_writer *w, int16_t id, int64_t v)
{
    tc_write_field_begin(w, TC_I64, id);
    tc_write_i64(w, v);
}

void tc_write_field_double(tc_writer *w, int16_t id, double v)
{
    tc_write_field_begin(w, TC_DOUBLE, id);
    tc_write_double(w, v);
}

void tc_write_field_binary(tc_writer *w, int16_t id, const void *data, size_t len)
{
    tc_write_field_begin(w, TC_BINARY, id);
    tc_write_binary(w, data, len);
}

void tc_write_field_string(tc_writer *w, int16_t id, const char *s)
{
    tc_write_field_begin(w, TC_BINARY, id);
    tc_write_string(w, s);
}

void tc_write_field_empty_struct(tc_writer *w, int16_t id)
{
    tc_write_field_begin(w, TC_STRUCT, id);
    tc_write_struct_begin(w);
    tc_write_struct_end(w);
}

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                    */

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = p ? len : 0;
    r->pending_bool = -1;
}

size_t tc_reader_pos(const tc_reader *r)
{
    return r->pos;
}

size_t tc_reader_remaining(const tc_reader *r)
{
    return r->len - r->pos;
}

/* An SM_ERR_CORRUPT error at byte offset `at`. */
__attribute__((format(printf, 3, 4))) static int rfail(sm_error *err, size_t at, const char *fmt,
                                                       ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sm_error_set(err, SM_ERR_CORRUPT, "%s (offset %zu)", what, at);
}

/* n bytes at the cursor, or an error naming what was expected. */
static int need(tc_reader *r, size_t n, const char *what, sm_error *err)
{
    if (n > r->len - r->pos) {
        return rfail(err, r->pos, "truncated: %s needs %zu bytes, %zu left", what, n,
                     r->len - r->pos);
    }
    return SM_OK;
}

static int read_varint(tc_reader *r, uint64_t *v, const char *what, sm_error *err)
{
    size_t left = r->len - r->pos;
    size_t n = tc_decode_varint(r->p + r->pos, left, v);
    if (n == 0) {
        size_t cont = 0; /* bytes with the continuation bit, up to the end or 10 */
        while (cont < left && cont < 10 && (r->p[r->pos + cont] & 0x80)) {
            cont++;
        }
        if (cont == left && left < 10) {
            return rfail(err, r->pos, "truncated: %s varint runs past the end", what);
        }
        if (cont >= 10) {
            return rfail(err, r->pos, "%s varint longer than 10 bytes", what);
        }
        return rfail(err, r->pos, "%s varint overflows 64 bits", what);
    }
    r->pos += n;
    return SM_OK;
}

static int enter(tc_reader *r, sm_error *err)
{
    if (r->depth >= TC_MAX_DEPTH) {
        return rfail(err, r->pos, "nesting deeper than %d levels", TC_MAX_DEPTH);
    }
    r->depth++;
    r->last_id[r->depth] = 0;
    r->pending_bool = -1;
    return SM_OK;
}

static void leave(tc_reader *r)
{
    if (r->depth > 0) {
        r->depth--;
    }
    r->pending_bool = -1;
}

int tc_read_struct_begin(tc_reader *r, sm_error *err)
{
    return enter(r, err);
}

void tc_read_struct_end(tc_reader *r)
{
    leave(r);
}

int tc_read_field(tc_reader *r, tc_type *type, int16_t *id, sm_error *err)
{
    r->pending_bool = -1;
    *type = TC_STOP;
    *id = 0;
    size_t at = r->pos;
    int rc = need(r, 1, "field header", err);
    if (rc) {
        return rc;
    }
    uint8_t b = r->p[r->pos++];
    int t = b & 0x0f;
    int delta = b >> 4;
    if (t == TC_STOP) {
        if (delta != 0) {
            return rfail(err, at, "field header 0x%02x: stop type with an id delta", b);
        }
        return SM_OK;
    }
    if (!valid_value_type(t)) {
        return rfail(err, at, "field header 0x%02x: unknown type %d", b, t);
    }
    int32_t fid;
    if (delta == 0) {
        uint64_t u = 0;
        rc = read_varint(r, &u, "field id", err);
        if (rc) {
            return rc;
        }
        if (u > UINT16_MAX) {
            return rfail(err, at, "field id out of the i16 range");
        }
        fid = unzigzag32((uint32_t)u);
    } else {
        fid = r->last_id[r->depth] + delta;
        if (fid > INT16_MAX) {
            return rfail(err, at, "field id %d out of the i16 range", (int)fid);
        }
    }
    r->last_id[r->depth] = (int16_t)fid;
    *id = (int16_t)fid;
    if (t == TC_BOOL_TRUE || t == TC_BOOL) {
        r->pending_bool = t == TC_BOOL_TRUE;
        *type = TC_BOOL;
    } else {
        *type = (tc_type)t;
    }
    return SM_OK;
}

int tc_read_bool(tc_reader *r, bool *v, sm_error *err)
{
    if (r->pending_bool >= 0) {
        *v = r->pending_bool == 1;
        r->pending_bool = -1;
        return SM_OK;
    }
    int rc = need(r, 1, "bool", err);
    if (rc) {
        return rc;
    }
    uint8_t b = r->p[r->pos];
    if (b > 2) {
        return rfail(err, r->pos, "bool element 0x%02x is neither 0, 1 nor 2", b);
    }
    r->pos++;
    *v = b == 1;
    return SM_OK;
}

int tc_read_i8(tc_reader *r, int8_t *v, sm_error *err)
{
    int rc = need(r, 1, "i8", err);
    if (rc) {
        return rc;
    }
    uint8_t b = r->p[r->pos++];
    *v = (int8_t)(b <= INT8_MAX ? (int)b : (int)b - 256);
    return SM_OK;
}

static int read_small(tc_reader *r, uint32_t max, const char *what, int32_t *v, sm_error *err)
{
    size_t at = r->pos;
    uint64_t u = 0;
    int rc = read_varint(r, &u, what, err);
    if (rc) {
        return rc;
    }
    if (u > max) {
        return rfail(err, at, "%s value out of range", what);
    }
    *v = unzigzag32((uint32_t)u);
    return SM_OK;
}

int tc_read_i16(tc_reader *r, int16_t *v, sm_error *err)
{
    int32_t x = 0;
    int rc = read_small(r, UINT16_MAX, "i16", &x, err);
    if (rc == SM_OK) {
        *v = (int16_t)x;
    }
    return rc;
}

int tc_read_i32(tc_reader *r, int32_t *v, sm_error *err)
{
    return read_small(r, UINT32_MAX, "i32", v, err);
}

int tc_read_i64(tc_reader *r, int64_t *v, sm_error *err)
{
    uint64_t u = 0;
    int rc = read_varint(r, &u, "i64", err);
    if (rc == SM_OK) {
        *v = tc_unzigzag64(u);
    }
    return rc;
}

int tc_read_double(tc_reader *r, double *v, sm_error *err)
{
    int rc = need(r, 8, "double", err);
    if (rc) {
        return rc;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        bits |= (uint64_t)r->p[r->pos + i] << (8 * i);
    }
    r->pos += 8;
    memcpy(v, &bits, sizeof *v);
    return SM_OK;
}

int tc_read_binary(tc_reader *r, const uint8_t **data, size_t *len, sm_error *err)
{
    size_t at = r->pos;
    uint64_t n = 0;
    int rc = read_varint(r, &n, "binary length", err);
    if (rc) {
        return rc;
    }
    size_t left = r->len - r->pos;
    if (n > INT32_MAX || n > left) {
        return rfail(err, at, "binary of %llu bytes exceeds the %zu bytes left",
                     (unsigned long long)n, left);
    }
    *data = r->p + r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return SM_OK;
}

/* Smallest encoding of one element of type t. */
static size_t min_size(tc_type t)
{
    switch (t) {
    case TC_DOUBLE:
        return 8;
    case TC_UUID:
        return 16;
    default:
        return 1;
    }
}

static tc_type norm_elem(int t)
{
    return t == TC_BOOL_TRUE ? TC_BOOL : (tc_type)t;
}

int tc_read_list_begin(tc_reader *r, tc_type *elem, uint32_t *n, sm_error *err)
{
    size_t at = r->pos;
    int rc = need(r, 1, "list header", err);
    if (rc) {
        return rc;
    }
    uint8_t b = r->p[r->pos++];
    int t = b & 0x0f;
    uint64_t size = b >> 4;
    if (size == 15) {
        rc = read_varint(r, &size, "list size", err);
        if (rc) {
            return rc;
        }
        if (size > INT32_MAX) {
            return rfail(err, at, "list size %llu out of the i32 range", (unsigned long long)size);
        }
    }
    if (!valid_value_type(t) && !(t == 0 && size == 0)) {
        return rfail(err, at, "list header 0x%02x: unknown element type %d", b, t);
    }
    *elem = norm_elem(t);
    size_t left = r->len - r->pos;
    if (size > left / min_size(*elem)) {
        return rfail(err, at, "list of %llu elements exceeds the %zu bytes left",
                     (unsigned long long)size, left);
    }
    *n = (uint32_t)size;
    return enter(r, err);
}

void tc_read_list_end(tc_reader *r)
{
    leave(r);
}

int tc_read_map_begin(tc_reader *r, tc_type *key, tc_type *value, uint32_t *n, sm_error *err)
{
    size_t at = r->pos;
    uint64_t size = 0;
    int rc = read_varint(r, &size, "map size", err);
    if (rc) {
        return rc;
    }
    if (size > INT32_MAX) {
        return rfail(err, at, "map size %llu out of the i32 range", (unsigned long long)size);
    }
    *key = *value = TC_STOP;
    if (size > 0) {
        rc = need(r, 1, "map key/value types", err);
        if (rc) {
            return rc;
        }
        uint8_t b = r->p[r->pos++];
        if (!valid_value_type(b >> 4) || !valid_value_type(b & 0x0f)) {
            return rfail(err, at, "map types 0x%02x: unknown key or value type", b);
        }
        *key = norm_elem(b >> 4);
        *value = norm_elem(b & 0x0f);
        size_t left = r->len - r->pos;
        if (size > left / (min_size(*key) + min_size(*value))) {
            return rfail(err, at, "map of %llu entries exceeds the %zu bytes left",
                         (unsigned long long)size, left);
        }
    }
    *n = (uint32_t)size;
    return enter(r, err);
}

void tc_read_map_end(tc_reader *r)
{
    leave(r);
}

int tc_skip(tc_reader *r, tc_type type, sm_error *err)
{
    int rc;
    switch (type) {
    case TC_BOOL_TRUE:
    case TC_BOOL: {
        bool b;
        return tc_read_bool(r, &b, err);
    }
    case TC_I8:
        rc = need(r, 1, "i8", err);
        if (rc == SM_OK) {
            r->pos++;
        }
        return rc;
    case TC_I16: {
        int16_t v;
        return tc_read_i16(r, &v, err);
    }
    case TC_I32: {
        int32_t v;
        return tc_read_i32(r, &v, err);
    }
    case TC_I64: {
        int64_t v;
        return tc_read_i64(r, &v, err);
    }
    case TC_DOUBLE:
    case TC_UUID: {
        size_t n = type == TC_DOUBLE ? 8 : 16;
        rc = need(r, n, tc_type_name(type), err);
        if (rc == SM_OK) {
            r->pos += n;
        }
        return rc;
    }
    case TC_BINARY: {
        const uint8_t *d;
        size_t n;
        return tc_read_binary(r, &d, &n, err);
    }
    case TC_STRUCT: {
        rc = tc_read_struct_begin(r, err);
        if (rc) {
            return rc;
        }
        for (;;) {
            tc_type t;
            int16_t id;
            rc = tc_read_field(r, &t, &id, err);
            if (rc) {
                return rc;
            }
            if (t == TC_STOP) {
                break;
            }
            rc = tc_skip(r, t, err);
            if (rc) {
                return rc;
            }
        }
        tc_read_struct_end(r);
        return SM_OK;
    }
    case TC_LIST:
    case TC_SET: {
        tc_type et;
        uint32_t n;
        rc = tc_read_list_begin(r, &et, &n, err);
        for (uint32_t i = 0; rc == SM_OK && i < n; i++) {
            rc = tc_skip(r, et, err);
        }
        if (rc == SM_OK) {
            tc_read_list_end(r);
        }
        return rc;
    }
    case TC_MAP: {
        tc_type kt, vt;
        uint32_t n;
        rc = tc_read_map_begin(r, &kt, &vt, &n, err);
        for (uint32_t i = 0; rc == SM_OK && i < n; i++) {
            rc = tc_skip(r, kt, err);
            if (rc == SM_OK) {
                rc = tc_skip(r, vt, err);
            }
        }
        if (rc == SM_OK) {
            tc_read_map_end(r);
        }
        return rc;
    }
    default:
        return rfail(err, r->pos, "cannot skip a value of unknown type %d", (int)type);
    }
}
