/* Columns as JSON text (see json_rows.h). */
#include "tools/json_rows.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

static int put(sm_buf *out, const char *s, size_t n, sm_error *err)
{
    return sm_buf_append(out, s, n, err);
}

static int puts_(sm_buf *out, const char *s, sm_error *err)
{
    return put(out, s, strlen(s), err);
}

static int put_base64(sm_buf *out, const uint8_t *s, size_t n, sm_error *err)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t *p = sm_buf_extend(out, 2 + (n + 2) / 3 * 4, err);
    if (!p) {
        return SM_ERR_NOMEM;
    }
    *p++ = '"';
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= s[i + 2];
        }
        *p++ = (uint8_t)tbl[v >> 18];
        *p++ = (uint8_t)tbl[(v >> 12) & 63];
        *p++ = i + 1 < n ? (uint8_t)tbl[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? (uint8_t)tbl[v & 63] : '=';
    }
    *p = '"';
    return SM_OK;
}

static int put_double(sm_buf *out, double v, bool is_float, sm_error *err)
{
    char tmp[40];
    if (isnan(v)) {
        return puts_(out, "\"NaN\"", err);
    }
    if (isinf(v)) {
        return puts_(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"", err);
    }
    /* the shortest of %.{6..17}g that reads back to the same value */
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (is_float ? (float)strtod(tmp, NULL) == (float)v : strtod(tmp, NULL) == v) {
            break;
        }
    }
    return puts_(out, tmp, err);
}

/* An unscaled decimal (up to 128 bits, little-endian two's complement) as "-123.45". */
static int put_decimal(sm_buf *out, const uint8_t *le, size_t width, int scale, sm_error *err)
{
    unsigned __int128 u = 0;
    bool neg = le[width - 1] & 0x80;
    char digits[48];
    int n = 0;
    char text[64];
    size_t t = 0;
    for (size_t i = 0; i < 16; i++) {
        uint8_t byte = i < width ? le[i] : (neg ? 0xff : 0);
        u |= (unsigned __int128)byte << (8 * i);
    }
    if (neg) {
        u = ~u + 1;
    }
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale) {
        digits[n++] = '0';
    }
    text[t++] = '"';
    if (neg) {
        text[t++] = '-';
    }
    for (int i = n - 1; i >= 0; i--) {
        text[t++] = digits[i];
        if (i == scale && scale > 0) {
            text[t++] = '.';
        }
    }
    text[t++] = '"';
    return put(out, text, t, err);
}

static int put_timestamp(sm_buf *out, int64_t v, bool micros, sm_error *err)
{
    int64_t ms = micros ? (v >= 0 ? v / 1000 : -((-v + 999) / 1000)) : v;
    char tmp[48];
    size_t n = sm_format_iso8601_ms(ms, tmp + 1, sizeof tmp - 8);
    tmp[0] = '"';
    if (n == 0) {
        return sm_buf_append_json_string(out, (const uint8_t *)"out of range", 12, err);
    }
    if (micros) { /* replace "Z" by the three more digits and "Z" */
        int64_t us = v - ms * 1000;
        snprintf(tmp + n, 6, "%03dZ", (int)us);
        n += 3;
    }
    tmp[n + 1] = '"';
    return put(out, tmp, n + 2, err);
}

int json_value_append(const sm_column *c, int64_t i, sm_buf *out, sm_error *err)
{
    const sm_field *f = c->field;
    const uint8_t *v = c->values ? (const uint8_t *)c->values + (size_t)i * sm_type_width(f) : NULL;
    char tmp[48];

    if (!sm_column_is_valid(c, i)) {
        return puts_(out, "null", err);
    }
    switch (f->type) {
    case SM_BOOL:
        return puts_(out, *v ? "true" : "false", err);
    case SM_INT8:
    case SM_INT16:
    case SM_INT32:
    case SM_INT64:
    case SM_UINT8:
    case SM_UINT16:
    case SM_UINT32:
        snprintf(tmp, sizeof tmp, "%" PRId64, sm_column_i64(c, i));
        break;
    case SM_UINT64:
        snprintf(tmp, sizeof tmp, "%" PRIu64, sm_column_u64(c, i));
        break;
    case SM_FLOAT: {
        float x;
        memcpy(&x, v, 4);
        return put_double(out, x, true, err);
    }
    case SM_DOUBLE: {
        double x;
        memcpy(&x, v, 8);
        return put_double(out, x, false, err);
    }
    case SM_STRING:
    case SM_JSON:
        return sm_buf_append_json_string(out, c->data + c->offsets[i],
                                         (size_t)(c->offsets[i + 1] - c->offsets[i]), err);
    case SM_BINARY:
        return put_base64(out, c->data + c->offsets[i], (size_t)(c->offsets[i + 1] - c->offsets[i]),
                          err);
    case SM_FIXED_BINARY:
        return put_base64(out, v, (size_t)f->width, err);
    case SM_DATE: {
        int64_t y;
        unsigned m, day;
        sm_civil_from_days(sm_column_i64(c, i), &y, &m, &day);
        snprintf(tmp, sizeof tmp, "\"%04" PRId64 "-%02u-%02u\"", y, m, day);
        break;
    }
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        return put_timestamp(out, sm_column_i64(c, i), f->type == SM_TIMESTAMP_US, err);
    case SM_DECIMAL:
        return put_decimal(out, v, (size_t)f->width, f->scale, err);
    case SM_STRUCT:
        if (sm_buf_append_byte(out, '{', err)) {
            return SM_ERR_NOMEM;
        }
        for (int k = 0; k < f->n_children; k++) {
            const char *name = f->children[k]->name;
            if ((k && sm_buf_append_byte(out, ',', err)) ||
                sm_buf_append_json_string(out, (const uint8_t *)name, strlen(name), err) ||
                sm_buf_append_byte(out, ':', err) ||
                json_value_append(c->children[k], i, out, err)) {
                return SM_ERR_NOMEM;
            }
        }
        return sm_buf_append_byte(out, '}', err);
    case SM_LIST:
    case SM_MAP: {
        const sm_column *child = c->children[0];
        if (sm_buf_append_byte(out, '[', err)) {
            return SM_ERR_NOMEM;
        }
        for (int32_t j = c->offsets[i]; j < c->offsets[i + 1]; j++) {
            if ((j > c->offsets[i] && sm_buf_append_byte(out, ',', err))) {
                return SM_ERR_NOMEM;
            }
            if (f->type == SM_MAP) {
                if (puts_(out, "{\"key\":", err) ||
                    json_value_append(child->children[0], j, out, err) ||
                    puts_(out, ",\"value\":", err) ||
                    json_value_append(child->children[1], j, out, err) ||
                    sm_buf_append_byte(out, '}', err)) {
                    return SM_ERR_NOMEM;
                }
            } else if (json_value_append(child, j, out, err)) {
                return SM_ERR_NOMEM;
            }
        }
        return sm_buf_append_byte(out, ']', err);
    }
    default:
        return puts_(out, "null", err);
    }
    return puts_(out, tmp, err);
}

int json_row_append(const sm_column *batch, int64_t i, sm_buf *out, sm_error *err)
{
    const sm_field *f = batch->field;
    if (sm_buf_append_byte(out, '{', err)) {
        return SM_ERR_NOMEM;
    }
    for (int k = 0; k < f->n_children; k++) {
        const char *name = f->children[k]->name;
        if ((k && sm_buf_append_byte(out, ',', err)) ||
            sm_buf_append_json_string(out, (const uint8_t *)name, strlen(name), err) ||
            sm_buf_append_byte(out, ':', err) ||
            json_value_append(batch->children[k], i, out, err)) {
            return SM_ERR_NOMEM;
        }
    }
    return sm_buf_append_byte(out, '}', err);
}
