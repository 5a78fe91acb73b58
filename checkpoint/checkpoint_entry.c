/*
 * The checkpoint file format: framing, checksum and the JSON of each entry (checkpoint.h).
 *
 *   v1                                      version line (Spark's HDFSMetadataLog habit)
 *   {"version":1,"batch_id":42,...}         the entry: one line of compact JSON
 *   crc32c:1a2b3c4d                         crc32c of the two lines above, newlines included
 *
 * DESIGN: the checksum is checked before the JSON is parsed, so damage (a flipped bit, a file
 * cut short, bytes appended) is reported as such and never reaches the field checks; the field
 * checks then catch what a checksum cannot (a writer bug, a hand edit with a fixed checksum).
 * Writing is canonical — sources, partitions and tables sorted, jansson's insertion order kept —
 * so the same entry always gives the same bytes, and comparison for idempotent rewrites is
 * json_equal of the parsed bodies, which also accepts a reordered but equal file.
 *
 * A newer version line ("v2") is refused with "upgrade smelter", not called damage: it is a
 * checkpoint written by a newer release, which this one must not misread.
 */
#include "checkpoint/checkpoint_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and checksum ------------------------------------------------------------------- */

int ckpt_corrupt(sm_error *err, const char *path, const char *advice, const char *fmt, ...)
{
    char detail[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (advice) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: %s; %s", path, detail, advice);
    }
    return sm_error_set(err, SM_ERR_CORRUPT, "%s: %s", path, detail);
}

uint32_t sm_ckpt_crc32c(uint32_t crc, const void *data, size_t len)
{
    /* Bitwise, reflected polynomial 0x82F63B78. Entries are kilobytes and written once per batch,
     * so a table buys nothing worth 1 KiB of constants. */
    const uint8_t *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* ---- framing ------------------------------------------------------------------------------- */

#define CRC_PREFIX     "crc32c:"
#define CRC_PREFIX_LEN 7
#define CRC_LINE_LEN   (CRC_PREFIX_LEN + 8 + 1) /* "crc32c:" + 8 hex + "\n" */

static int append_str(sm_buf *out, const char *s, sm_error *err)
{
    return sm_buf_append(out, s, strlen(s), err);
}

int ckpt_frame_json(const json_t *body, sm_buf *out, sm_error *err)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: JSON encoding failed");
    }
    size_t start = out->len;
    char line[32];
    snprintf(line, sizeof line, "v%d\n", SM_CKPT_FORMAT);
    int rc = append_str(out, line, err);
    if (rc == SM_OK) {
        rc = append_str(out, text, err);
    }
    if (rc == SM_OK) {
        rc = sm_buf_append_byte(out, '\n', err);
    }
    free(text);
    if (rc != SM_OK) {
        return rc;
    }
    uint32_t crc = sm_ckpt_crc32c(0, out->data + start, out->len - start);
    snprintf(line, sizeof line, CRC_PREFIX "%08" PRIx32 "\n", crc);
    return append_str(out, line, err);
}

/* Parses the version line at the start of `data`. Returns SM_OK with *nl_out at its newline, or
 * SM_ERR_CORRUPT. */
static int parse_version_line(const char *path, const char *data, size_t len, const char *advice,
                              const char **nl_out, sm_error *err)
{
    if (len == 0) {
        return ckpt_corrupt(err, path, advice, "empty file (truncated)");
    }
    if (data[0] != 'v') {
        return ckpt_corrupt(err, path, advice,
                            "no version line (\"v%d\"): not a smelter checkpoint file",
                            SM_CKPT_FORMAT);
    }
    const char *nl = memchr(data, '\n', len);
    const char *end = nl ? nl : data + len;
    long version = 0;
    const char *p = data + 1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || p - data > 9) {
            return ckpt_corrupt(err, path, advice, "bad version line \"%.*s\"",
                                (int)(end - data > 20 ? 20 : end - data), data);
        }
        version = version * 10 + (*p - '0');
    }
    if (p == data + 1 && !nl) {
        return ckpt_corrupt(err, path, advice, "truncated in the version line");
    }
    if (p == data + 1 || version == 0) {
        return ckpt_corrupt(err, path, advice, "bad version line \"%.*s\"", (int)(end - data),
                            data);
    }
    if (version > SM_CKPT_FORMAT) {
        return ckpt_corrupt(err, path, NULL,
                            "written in checkpoint format v%ld, but this smelter reads up to v%d: "
                            "upgrade smelter to resume this checkpoint",
                            version, SM_CKPT_FORMAT);
    }
    if (!nl) {
        return ckpt_corrupt(err, path, advice, "truncated after the version line");
    }
    *nl_out = nl;
    return SM_OK;
}

static int parse_hex32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else {
            return -1;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

int ckpt_parse_file(const char *path, const char *data, size_t len, const char *advice,
                    json_t **body_out, sm_error *err)
{
    *body_out = NULL;
    const char *nl1;
    int rc = parse_version_line(path, data, len, advice, &nl1, err);
    if (rc != SM_OK) {
        return rc;
    }
    const char *body = nl1 + 1;
    const char *end = data + len;
    const char *nl2 = memchr(body, '\n', (size_t)(end - body));
    if (!nl2) {
        return ckpt_corrupt(err, path, advice,
                            "truncated: the entry ends before its checksum line");
    }
    const char *crc_line = nl2 + 1;
    size_t crc_len = (size_t)(end - crc_line);
    size_t cmp = crc_len < CRC_PREFIX_LEN ? crc_len : CRC_PREFIX_LEN;
    if (crc_len == 0) {
        return ckpt_corrupt(err, path, advice, "truncated: no checksum line");
    }
    if (memcmp(crc_line, CRC_PREFIX, cmp) != 0) {
        return ckpt_corrupt(err, path, advice,
                            "no checksum line after the entry (not written by smelter, or "
                            "damaged)");
    }
    if (crc_len < CRC_LINE_LEN) {
        return ckpt_corrupt(err, path, advice, "truncated in the checksum line");
    }
    uint32_t want;
    if (parse_hex32(crc_line + CRC_PREFIX_LEN, &want) != 0 || crc_line[CRC_LINE_LEN - 1] != '\n') {
        return ckpt_corrupt(err, path, advice, "bad checksum line");
    }
    if (crc_len > CRC_LINE_LEN) {
        return ckpt_corrupt(err, path, advice, "%zu unexpected bytes after the checksum line",
                            crc_len - CRC_LINE_LEN);
    }
    uint32_t got = sm_ckpt_crc32c(0, data, (size_t)(crc_line - data));
    if (got != want) {
        return ckpt_corrupt(err, path, advice,
                            "checksum mismatch (crc32c %08" PRIx32 ", file says %08" PRIx32
                            "): the file is damaged",
                            got, want);
    }
    json_error_t jerr;
    json_t *v = json_loadb(body, (size_t)(nl2 - body), JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        return ckpt_corrupt(err, path, advice, "bad JSON at column %d: %s", jerr.column, jerr.text);
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return ckpt_corrupt(err, path, advice, "the entry is not a JSON object");
    }
    *body_out = v;
    return SM_OK;
}

/* ---- building JSON ------------------------------------------------------------------------- */

static int set_new(json_t *obj, const char *key, json_t *v, sm_error *err)
{
    if (!v || json_object_set_new(obj, key, v) != 0) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    }
    return SM_OK;
}

static int cmp_range(const void *a, const void *b)
{
    const sm_ckpt_range *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static int cmp_source_ptr(const void *a, const void *b)
{
    const sm_ckpt_source *x = *(const sm_ckpt_source *const *)a;
    const sm_ckpt_source *y = *(const sm_ckpt_source *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_table(const void *a, const void *b)
{
    const sm_ckpt_table *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* {"0":[start,end],...} in ascending partition order. */
static int partitions_json(int64_t id, const sm_ckpt_source *s, json_t **out, sm_error *err)
{
    *out = NULL;
    if (s->n_ranges > 0 && !s->ranges) {
        return sm_error_set(err, SM_ERR_INTERNAL, "offsets %" PRId64 ": source %s: no ranges", id,
                            s->name);
    }
    sm_ckpt_range *r = NULL;
    if (s->n_ranges > 0 && !(r = malloc(s->n_ranges * sizeof *r))) {
        return sm_error_set(err, SM_ERR_NOMEM, "offsets %" PRId64 ": out of memory", id);
    }
    if (r) {
        memcpy(r, s->ranges, s->n_ranges * sizeof *r);
        qsort(r, s->n_ranges, sizeof *r, cmp_range);
    }
    json_t *obj = json_object();
    int rc = obj ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    for (size_t i = 0; rc == SM_OK && i < s->n_ranges; i++) {
        if (r[i].partition < 0 || r[i].start < 0 || r[i].end < r[i].start) {
            rc = sm_error_set(err, SM_ERR_INTERNAL,
                              "offsets %" PRId64 ": source %s partition %" PRId32
                              ": bad range [%" PRId64 ", %" PRId64 ")",
                              id, s->name, r[i].partition, r[i].start, r[i].end);
            break;
        }
        if (i > 0 && r[i].partition == r[i - 1].partition) {
            rc = sm_error_set(err, SM_ERR_INTERNAL,
                              "offsets %" PRId64 ": source %s: partition %" PRId32 " twice", id,
                              s->name, r[i].partition);
            break;
        }
        char key[16];
        snprintf(key, sizeof key, "%" PRId32, r[i].partition);
        json_t *pair = json_pack("[II]", (json_int_t)r[i].start, (json_int_t)r[i].end);
        rc = set_new(obj, key, pair, err);
    }
    free(r);
    if (rc != SM_OK) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return SM_OK;
}

static int sources_json(const sm_ckpt_offsets *e, json_t **out, sm_error *err)
{
    *out = NULL;
    if (e->n_sources > 0 && !e->sources) {
        return sm_error_set(err, SM_ERR_INTERNAL, "offsets %" PRId64 ": no sources", e->batch_id);
    }
    const sm_ckpt_source **sorted = NULL;
    if (e->n_sources > 0 && !(sorted = malloc(e->n_sources * sizeof *sorted))) {
        return sm_error_set(err, SM_ERR_NOMEM, "offsets %" PRId64 ": out of memory", e->batch_id);
    }
    for (size_t i = 0; i < e->n_sources; i++) {
        if (!e->sources[i].name || !*e->sources[i].name) {
            free(sorted);
            return sm_error_set(err, SM_ERR_INTERNAL, "offsets %" PRId64 ": a source has no name",
                                e->batch_id);
        }
        sorted[i] = &e->sources[i];
    }
    if (sorted) {
        qsort(sorted, e->n_sources, sizeof *sorted, cmp_source_ptr);
    }
    json_t *arr = json_array();
    int rc = arr ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    for (size_t i = 0; rc == SM_OK && i < e->n_sources; i++) {
        if (i > 0 && strcmp(sorted[i]->name, sorted[i - 1]->name) == 0) {
            rc = sm_error_set(err, SM_ERR_INTERNAL, "offsets %" PRId64 ": source %s twice",
                              e->batch_id, sorted[i]->name);
            break;
        }
        json_t *parts, *src;
        if ((rc = partitions_json(e->batch_id, sorted[i], &parts, err)) != SM_OK) {
            break;
        }
        if (!(src = json_pack("{s:s,s:o}", "name", sorted[i]->name, "partitions", parts))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
        } else if (json_array_append_new(arr, src) != 0) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
        }
    }
    free(sorted);
    if (rc != SM_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return SM_OK;
}

int ckpt_offsets_to_json(const sm_ckpt_offsets *e, json_t **out, sm_error *err)
{
    *out = NULL;
    if (e->batch_id < 0) {
        return sm_error_set(err, SM_ERR_INTERNAL, "offsets: negative batch id %" PRId64,
                            e->batch_id);
    }
    json_t *extra = NULL;
    if (e->extra) {
        json_error_t jerr;
        extra = json_loads(e->extra, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(extra)) {
            json_decref(extra);
            return sm_error_set(err, SM_ERR_INTERNAL,
                                "offsets %" PRId64 ": extra is not a JSON object: %s", e->batch_id,
                                extra ? "another JSON value" : jerr.text);
        }
    } else if (!(extra = json_object())) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    }
    json_t *sources;
    int rc = sources_json(e, &sources, err);
    if (rc != SM_OK) {
        json_decref(extra);
        return rc;
    }
    json_t *o = json_object();
    if (!o) {
        json_decref(extra);
        json_decref(sources);
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    }
    if ((rc = set_new(o, "version", json_integer(SM_CKPT_FORMAT), err)) != SM_OK ||
        (rc = set_new(o, "batch_id", json_integer(e->batch_id), err)) != SM_OK ||
        (rc = set_new(o, "batch_timestamp_ms", json_integer(e->batch_timestamp_ms), err)) !=
            SM_OK ||
        (rc = set_new(o, "watermark_ms", json_integer(e->watermark_ms), err)) != SM_OK ||
        (rc = set_new(o, "config_hash", json_string(e->config_hash ? e->config_hash : ""), err)) !=
            SM_OK) {
        json_decref(extra);
        json_decref(sources);
        json_decref(o);
        return rc;
    }
    if ((rc = set_new(o, "sources", sources, err)) != SM_OK) {
        json_decref(extra);
        json_decref(o);
        return rc;
    }
    if ((rc = set_new(o, "extra", extra, err)) != SM_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return SM_OK;
}

int ckpt_commit_to_json(const sm_ckpt_commit *e, json_t **out, sm_error *err)
{
    *out = NULL;
    if (e->batch_id < 0) {
        return sm_error_set(err, SM_ERR_INTERNAL, "commit: negative batch id %" PRId64,
                            e->batch_id);
    }
    if (e->n_tables > 0 && !e->tables) {
        return sm_error_set(err, SM_ERR_INTERNAL, "commit %" PRId64 ": no tables", e->batch_id);
    }
    sm_ckpt_table *t = NULL;
    if (e->n_tables > 0) {
        if (!(t = malloc(e->n_tables * sizeof *t))) {
            return sm_error_set(err, SM_ERR_NOMEM, "commit %" PRId64 ": out of memory",
                                e->batch_id);
        }
        memcpy(t, e->tables, e->n_tables * sizeof *t);
        for (size_t i = 0; i < e->n_tables; i++) {
            if (!t[i].name || !*t[i].name) {
                free(t);
                return sm_error_set(err, SM_ERR_INTERNAL, "commit %" PRId64 ": a table has no name",
                                    e->batch_id);
            }
        }
        qsort(t, e->n_tables, sizeof *t, cmp_table);
    }
    json_t *tables = json_object();
    int rc = tables ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    for (size_t i = 0; rc == SM_OK && i < e->n_tables; i++) {
        if (i > 0 && strcmp(t[i].name, t[i - 1].name) == 0) {
            rc = sm_error_set(err, SM_ERR_INTERNAL, "commit %" PRId64 ": table %s twice",
                              e->batch_id, t[i].name);
        } else if (t[i].version < 0) {
            rc = sm_error_set(err, SM_ERR_INTERNAL,
                              "commit %" PRId64 ": table %s: negative version %" PRId64,
                              e->batch_id, t[i].name, t[i].version);
        } else {
            rc = set_new(tables, t[i].name, json_integer(t[i].version), err);
        }
    }
    free(t);
    if (rc != SM_OK) {
        json_decref(tables);
        return rc;
    }
    json_t *o = json_pack("{s:i,s:I,s:I,s:o}", "version", SM_CKPT_FORMAT, "batch_id",
                          (json_int_t)e->batch_id, "watermark_ms", (json_int_t)e->watermark_ms,
                          "tables", tables);
    if (!o) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint entry: out of memory");
    }
    *out = o;
    return SM_OK;
}

/* ---- reading fields ------------------------------------------------------------------------ */

static int get_int(const char *path, const json_t *obj, const char *key, int64_t min, int64_t *out,
                   sm_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED, "missing field \"%s\"", key);
    }
    if (!json_is_integer(v)) {
        return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED, "field \"%s\" is not an integer", key);
    }
    json_int_t x = json_integer_value(v);
    if (x < min) {
        return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED,
                            "field \"%s\" is %lld, less than %" PRId64, key, (long long)x, min);
    }
    *out = (int64_t)x;
    return SM_OK;
}

/* The "version" field must repeat the version line: 1. */
static int check_version_field(const char *path, const json_t *body, const char *key, sm_error *err)
{
    int64_t v;
    int rc = get_int(path, body, key, INT64_MIN, &v, err);
    if (rc != SM_OK) {
        return rc;
    }
    if (v != SM_CKPT_FORMAT) {
        return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED,
                            "field \"%s\" is %" PRId64 " but the version line says v%d", key, v,
                            SM_CKPT_FORMAT);
    }
    return SM_OK;
}

static int check_batch_id(const char *path, const json_t *body, int64_t batch_id, sm_error *err)
{
    int64_t id;
    int rc = get_int(path, body, "batch_id", 0, &id, err);
    if (rc != SM_OK) {
        return rc;
    }
    if (id != batch_id) {
        return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED,
                            "holds batch %" PRId64 ", not batch %" PRId64 " as its name says", id,
                            batch_id);
    }
    return SM_OK;
}

static int nomem(sm_error *err, const char *path)
{
    return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory", path);
}

/* A partition key: canonical decimal of an int32 >= 0 ("0", "17"; not "007", "-1", "+1"). */
static int parse_partition(const char *s, int32_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) {
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v > INT32_MAX) {
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int source_from_json(const char *path, const json_t *src, size_t idx, sm_arena *arena,
                            sm_ckpt_source *out, sm_error *err)
{
    const char *A = CKPT_ADVICE_DAMAGED;
    if (!json_is_object(src)) {
        return ckpt_corrupt(err, path, A, "sources[%zu] is not an object", idx);
    }
    json_t *name = json_object_get(src, "name");
    if (!json_is_string(name) || json_string_length(name) == 0) {
        return ckpt_corrupt(err, path, A, "sources[%zu]: \"name\" is not a non-empty string", idx);
    }
    json_t *parts = json_object_get(src, "partitions");
    if (!json_is_object(parts)) {
        return ckpt_corrupt(err, path, A, "source %s: \"partitions\" is not an object",
                            json_string_value(name));
    }
    if (!(out->name = sm_arena_strdup(arena, json_string_value(name)))) {
        return nomem(err, path);
    }
    size_t n = json_object_size(parts);
    sm_ckpt_range *r = NULL;
    if (n > 0 && !(r = sm_arena_alloc(arena, n * sizeof *r))) {
        return nomem(err, path);
    }
    size_t i = 0;
    const char *key;
    json_t *pair;
    json_object_foreach(parts, key, pair)
    {
        json_int_t start, end;
        if (parse_partition(key, &r[i].partition) != 0) {
            return ckpt_corrupt(err, path, A, "source %s: bad partition \"%s\"", out->name, key);
        }
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_integer(json_array_get(pair, 0)) ||
            !json_is_integer(json_array_get(pair, 1))) {
            return ckpt_corrupt(err, path, A,
                                "source %s partition %s: expected [start, end] integers", out->name,
                                key);
        }
        start = json_integer_value(json_array_get(pair, 0));
        end = json_integer_value(json_array_get(pair, 1));
        if (start < 0 || end < start) {
            return ckpt_corrupt(err, path, A, "source %s partition %s: bad range [%lld, %lld)",
                                out->name, key, (long long)start, (long long)end);
        }
        r[i].start = (int64_t)start;
        r[i].end = (int64_t)end;
        i++;
    }
    if (n > 1) {
        qsort(r, n, sizeof *r, cmp_range); /* keys are unique (duplicates rejected by the parser) */
    }
    out->n_ranges = n;
    out->ranges = r;
    return SM_OK;
}

static int cmp_source(const void *a, const void *b)
{
    const sm_ckpt_source *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int ckpt_offsets_from_json(const char *path, const json_t *body, int64_t batch_id, sm_arena *arena,
                           sm_ckpt_offsets **out, sm_error *err)
{
    const char *A = CKPT_ADVICE_DAMAGED;
    *out = NULL;
    sm_ckpt_offsets *e = sm_arena_calloc(arena, sizeof *e);
    if (!e) {
        return nomem(err, path);
    }
    int rc;
    if ((rc = check_version_field(path, body, "version", err)) != SM_OK ||
        (rc = check_batch_id(path, body, batch_id, err)) != SM_OK ||
        (rc = get_int(path, body, "batch_timestamp_ms", INT64_MIN, &e->batch_timestamp_ms, err)) !=
            SM_OK ||
        (rc = get_int(path, body, "watermark_ms", INT64_MIN, &e->watermark_ms, err)) != SM_OK) {
        return rc;
    }
    e->batch_id = batch_id;
    json_t *hash = json_object_get(body, "config_hash");
    if (!json_is_string(hash)) {
        return ckpt_corrupt(err, path, A, "field \"config_hash\" is missing or not a string");
    }
    if (!(e->config_hash = sm_arena_strdup(arena, json_string_value(hash)))) {
        return nomem(err, path);
    }
    json_t *sources = json_object_get(body, "sources");
    if (!json_is_array(sources)) {
        return ckpt_corrupt(err, path, A, "field \"sources\" is missing or not an array");
    }
    size_t n = json_array_size(sources);
    sm_ckpt_source *s = NULL;
    if (n > 0 && !(s = sm_arena_calloc(arena, n * sizeof *s))) {
        return nomem(err, path);
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = source_from_json(path, json_array_get(sources, i), i, arena, &s[i], err)) !=
            SM_OK) {
            return rc;
        }
    }
    if (n > 1) {
        qsort(s, n, sizeof *s, cmp_source);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(s[i].name, s[i - 1].name) == 0) {
                return ckpt_corrupt(err, path, A, "source %s appears twice", s[i].name);
            }
        }
    }
    e->n_sources = n;
    e->sources = s;
    json_t *extra = json_object_get(body, "extra");
    if (extra && !json_is_object(extra)) {
        return ckpt_corrupt(err, path, A, "field \"extra\" is not an object");
    }
    if (extra && json_object_size(extra) > 0) {
        char *text = json_dumps(extra, JSON_COMPACT);
        if (!text) {
            return nomem(err, path);
        }
        e->extra = sm_arena_strdup(arena, text);
        free(text);
        if (!e->extra) {
            return nomem(err, path);
        }
    }
    *out = e;
    return SM_OK;
}

int ckpt_commit_from_json(const char *path, const json_t *body, int64_t batch_id, sm_arena *arena,
                          sm_ckpt_commit **out, sm_error *err)
{
    const char *A = CKPT_ADVICE_DAMAGED;
    *out = NULL;
    sm_ckpt_commit *e = sm_arena_calloc(arena, sizeof *e);
    if (!e) {
        return nomem(err, path);
    }
    int rc;
    if ((rc = check_version_field(path, body, "version", err)) != SM_OK ||
        (rc = check_batch_id(path, body, batch_id, err)) != SM_OK ||
        (rc = get_int(path, body, "watermark_ms", INT64_MIN, &e->watermark_ms, err)) != SM_OK) {
        return rc;
    }
    e->batch_id = batch_id;
    json_t *tables = json_object_get(body, "tables");
    if (!json_is_object(tables)) {
        return ckpt_corrupt(err, path, A, "field \"tables\" is missing or not an object");
    }
    size_t n = json_object_size(tables);
    sm_ckpt_table *t = NULL;
    if (n > 0 && !(t = sm_arena_alloc(arena, n * sizeof *t))) {
        return nomem(err, path);
    }
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(tables, key, v)
    {
        if (*key == '\0') {
            return ckpt_corrupt(err, path, A, "a table has an empty name");
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return ckpt_corrupt(err, path, A, "table %s: version is not an integer >= 0", key);
        }
        if (!(t[i].name = sm_arena_strdup(arena, key))) {
            return nomem(err, path);
        }
        t[i].version = (int64_t)json_integer_value(v);
        i++;
    }
    if (n > 1) {
        qsort(t, n, sizeof *t, cmp_table);
    }
    e->n_tables = n;
    e->tables = t;
    *out = e;
    return SM_OK;
}

/* ---- metadata ------------------------------------------------------------------------------ */

int ckpt_metadata_to_json(const char *id, int64_t created_ms, json_t **out, sm_error *err)
{
    *out = json_pack("{s:s,s:i,s:I,s:s}", "id", id, "format", SM_CKPT_FORMAT, "created",
                     (json_int_t)created_ms, "writer", "smelter " SMELTER_VERSION);
    if (!*out) {
        return sm_error_set(err, SM_ERR_NOMEM, "checkpoint metadata: out of memory");
    }
    return SM_OK;
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

int ckpt_metadata_from_json(const char *path, const json_t *body, char id_out[37],
                            int64_t *created_out, sm_error *err)
{
    const char *A = CKPT_ADVICE_DAMAGED;
    json_t *id = json_object_get(body, "id");
    if (!json_is_string(id) || !is_uuid(json_string_value(id))) {
        return ckpt_corrupt(err, path, A, "field \"id\" is missing or not a lower-case UUID");
    }
    int64_t format;
    int rc = get_int(path, body, "format", 1, &format, err);
    if (rc != SM_OK) {
        return rc;
    }
    if (format > SM_CKPT_FORMAT) {
        return ckpt_corrupt(err, path, NULL,
                            "checkpoint format %" PRId64 " is newer than this smelter reads (%d): "
                            "upgrade smelter to resume this checkpoint",
                            format, SM_CKPT_FORMAT);
    }
    if ((rc = get_int(path, body, "created", 0, created_out, err)) != SM_OK) {
        return rc;
    }
    memcpy(id_out, json_string_value(id), 37);
    return SM_OK;
}

/* ---- state blobs --------------------------------------------------------------------------- */

int ckpt_frame_state(const void *data, size_t len, sm_buf *out, sm_error *err)
{
    char head[96];
    int n = snprintf(head, sizeof head, "v%d\n" CRC_PREFIX "%08" PRIx32 " length:%zu\n",
                     SM_CKPT_FORMAT, sm_ckpt_crc32c(0, data, len), len);
    int rc = sm_buf_append(out, head, (size_t)n, err);
    if (rc == SM_OK) {
        rc = sm_buf_append(out, data, len, err);
    }
    return rc;
}

int ckpt_parse_state(const char *path, const char *data, size_t len, size_t *off_out,
                     size_t *payload_len_out, sm_error *err)
{
    const char *A = CKPT_ADVICE_DAMAGED;
    const char *nl1;
    int rc = parse_version_line(path, data, len, A, &nl1, err);
    if (rc != SM_OK) {
        return rc;
    }
    const char *head = nl1 + 1;
    const char *end = data + len;
    const char *nl2 = memchr(head, '\n', (size_t)(end - head));
    if (!nl2) {
        return ckpt_corrupt(err, path, A, "truncated in the header");
    }
    uint32_t want;
    size_t hlen = (size_t)(nl2 - head);
    static const char length_key[] = " length:";
    size_t klen = sizeof length_key - 1;
    if (hlen <= CRC_PREFIX_LEN + 8 + klen || memcmp(head, CRC_PREFIX, CRC_PREFIX_LEN) != 0 ||
        parse_hex32(head + CRC_PREFIX_LEN, &want) != 0 ||
        memcmp(head + CRC_PREFIX_LEN + 8, length_key, klen) != 0) {
        return ckpt_corrupt(err, path, A, "bad header line");
    }
    uint64_t n = 0;
    for (const char *p = head + CRC_PREFIX_LEN + 8 + klen; p < nl2; p++) {
        if (*p < '0' || *p > '9' || n > UINT64_MAX / 10 - 10) {
            return ckpt_corrupt(err, path, A, "bad length in the header line");
        }
        n = n * 10 + (uint64_t)(*p - '0');
    }
    size_t have = (size_t)(end - (nl2 + 1));
    if (have < n) {
        return ckpt_corrupt(err, path, A, "truncated: %zu of %" PRIu64 " bytes", have, n);
    }
    if (have > n) {
        return ckpt_corrupt(err, path, A, "%" PRIu64 " unexpected bytes after the state",
                            (uint64_t)have - n);
    }
    uint32_t got = sm_ckpt_crc32c(0, nl2 + 1, have);
    if (got != want) {
        return ckpt_corrupt(err, path, A,
                            "checksum mismatch (crc32c %08" PRIx32 ", file says %08" PRIx32
                            "): the file is damaged",
                            got, want);
    }
    *off_out = (size_t)(nl2 + 1 - data);
    *payload_len_out = have;
    return SM_OK;
}
