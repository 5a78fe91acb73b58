/*
 * Delta log actions from JSON, and the path helpers of the log (see delta_internal.h).
 *
 * Every action of PROTOCOL.md "Actions" that a snapshot needs is parsed here into the structs of
 * storage/delta.h, with its strings copied into the caller's arena: add and remove (one parser:
 * a remove is an add with fewer required fields), metaData, protocol, txn, domainMetadata,
 * commitInfo (only its timestamp is interpreted), and the v2-checkpoint actions sidecar and
 * checkpointMetadata. Unknown fields and unknown actions are ignored, as the protocol requires
 * ("clients must ignore such unrecognized fields"); a field the protocol requires that is missing
 * or of the wrong JSON type is SM_ERR_CORRUPT.
 *
 * Paths: `add.path` is an RFC 2396 URI, relative to the table root or absolute. Two spellings of
 * one file ("a%20b" and "a b", "x" and "file:<root>/x") must reconcile as one file, as Spark's
 * DeltaLog.canonicalizePath makes them (Delta's canonicalized-paths-* golden tables);
 * delta_path_key computes that identity. Most paths written by Spark are plain relative names
 * with nothing to decode: they are their own key, so replaying a large log copies nothing.
 */
#include "storage/delta_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- small JSON helpers ------------------------------------------------------------------ */

static int nomem(sm_error *err)
{
    return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
}

static const char *json_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

/* A string member: *out NULL when absent or null. CORRUPT when required and missing, or when it
 * is not a string. */
static int get_str(const json_t *obj, const char *what, const char *key, bool required, sm_arena *a,
                   const char **out, sm_error *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return required ? sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is missing", what, key) : 0;
    }
    if (!json_is_string(v)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is %s, not a string", what, key,
                            json_type_word(v));
    }
    if (!(*out = sm_arena_strndup(a, json_string_value(v), json_string_length(v)))) {
        return nomem(err);
    }
    return 0;
}

/* An integer member; *out = dflt when absent or null. */
static int get_int(const json_t *obj, const char *what, const char *key, bool required,
                   int64_t dflt, int64_t *out, sm_error *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v)) {
        return required ? sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is missing", what, key) : 0;
    }
    if (!json_is_integer(v)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is %s, not an integer", what, key,
                            json_type_word(v));
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_bool(const json_t *obj, const char *what, const char *key, bool dflt, bool *out,
                    sm_error *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is %s, not a boolean", what, key,
                            json_type_word(v));
    }
    *out = json_is_true(v);
    return 0;
}

/* A value of a string map as text: strings as they are, null as NULL, other scalars in their
 * JSON form (Spark writes only strings; other writers have been seen writing numbers). */
static int scalar_text(const json_t *v, sm_arena *a, const char **out, sm_error *err)
{
    *out = NULL;
    if (json_is_null(v)) {
        return 0;
    }
    if (json_is_string(v)) {
        *out = sm_arena_strndup(a, json_string_value(v), json_string_length(v));
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            return nomem(err);
        }
        *out = sm_arena_strdup(a, text);
        free(text);
    }
    return *out ? 0 : nomem(err);
}

/* A Map[String, String] member (partitionValues, configuration, tags). */
static int get_map(const json_t *obj, const char *what, const char *key, sm_arena *a,
                   delta_kv **out, int *n_out, sm_error *err)
{
    const json_t *m = json_object_get(obj, key);
    const char *k;
    json_t *v;
    int n = 0;
    *out = NULL;
    *n_out = 0;
    if (!m || json_is_null(m)) {
        return 0;
    }
    if (!json_is_object(m)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is %s, not an object", what, key,
                            json_type_word(m));
    }
    if (json_object_size(m) == 0) {
        return 0;
    }
    if (json_object_size(m) > (size_t)INT32_MAX / 2 ||
        !(*out = sm_arena_alloc(a, sizeof(delta_kv) * json_object_size(m)))) {
        return nomem(err);
    }
    json_object_foreach((json_t *)m, k, v)
    {
        int rc;
        if (json_is_object(v) || json_is_array(v)) {
            return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s.%s' is %s, not a string", what, key,
                                k, json_type_word(v));
        }
        if (!((*out)[n].key = sm_arena_strdup(a, k))) {
            return nomem(err);
        }
        if ((rc = scalar_text(v, a, &(*out)[n].value, err)) != 0) {
            return rc;
        }
        n++;
    }
    *n_out = n;
    return 0;
}

/* An Array[String] member (partitionColumns, readerFeatures). */
static int get_str_array(const json_t *obj, const char *what, const char *key, sm_arena *a,
                         const char ***out, int *n_out, sm_error *err)
{
    const json_t *arr = json_object_get(obj, key);
    size_t n;
    *out = NULL;
    *n_out = 0;
    if (!arr || json_is_null(arr)) {
        return 0;
    }
    if (!json_is_array(arr)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s' is %s, not an array", what, key,
                            json_type_word(arr));
    }
    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }
    if (n > (size_t)INT32_MAX / 2 || !(*out = sm_arena_alloc(a, sizeof(char *) * n))) {
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            return sm_error_set(err, SM_ERR_CORRUPT, "%s: '%s[%zu]' is %s, not a string", what, key,
                                i, json_type_word(v));
        }
        if (!((*out)[i] = sm_arena_strndup(a, json_string_value(v), json_string_length(v)))) {
            return nomem(err);
        }
    }
    *n_out = (int)n;
    return 0;
}

/* ---- actions ----------------------------------------------------------------------------- */

/* deletionVector.uniqueId (PROTOCOL.md "Derived Fields"): storageType + pathOrInlineDv, plus
 * "@" offset when the offset is present. */
static int parse_dv(const json_t *dv, const char *what, sm_arena *a, const char **out,
                    sm_error *err)
{
    const char *type, *where;
    int64_t offset;
    bool has_offset;
    char *id;
    size_t cap;
    int rc;

    *out = NULL;
    if (!dv || json_is_null(dv)) {
        return 0;
    }
    if (!json_is_object(dv)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: 'deletionVector' is %s, not an object", what,
                            json_type_word(dv));
    }
    if ((rc = get_str(dv, what, "storageType", true, a, &type, err)) != 0 ||
        (rc = get_str(dv, what, "pathOrInlineDv", true, a, &where, err)) != 0 ||
        (rc = get_int(dv, what, "offset", false, -1, &offset, err)) != 0) {
        return rc;
    }
    has_offset = json_object_get(dv, "offset") && !json_is_null(json_object_get(dv, "offset"));
    cap = strlen(type) + strlen(where) + 24;
    if (!(id = sm_arena_alloc(a, cap))) {
        return nomem(err);
    }
    if (has_offset) {
        snprintf(id, cap, "%s%s@%" PRId64, type, where, offset);
    } else {
        snprintf(id, cap, "%s%s", type, where);
    }
    *out = id;
    return 0;
}

int delta_parse_file_json(const json_t *obj, bool is_add, sm_arena *a, delta_file *out,
                          sm_error *err)
{
    const char *what = is_add ? "add" : "remove";
    const json_t *stats;
    int rc;

    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s is %s, not an object", what,
                            json_type_word(obj));
    }
    if ((rc = get_str(obj, what, "path", true, a, &out->path, err)) != 0 ||
        (rc = get_map(obj, what, "partitionValues", a, &out->partition_values,
                      &out->n_partition_values, err)) != 0 ||
        (rc = get_int(obj, what, "size", is_add, -1, &out->size, err)) != 0 ||
        (rc = get_int(obj, what, "modificationTime", false, 0, &out->modification_time, err)) !=
            0 ||
        (rc = get_int(obj, what, "deletionTimestamp", false, 0, &out->deletion_timestamp, err)) !=
            0 ||
        (rc = get_bool(obj, what, "dataChange", true, &out->data_change, err)) != 0 ||
        (rc = get_map(obj, what, "tags", a, &out->tags, &out->n_tags, err)) != 0 ||
        (rc = parse_dv(json_object_get(obj, "deletionVector"), what, a, &out->dv_id, err)) != 0) {
        return rc;
    }
    if (out->path[0] == '\0') {
        return sm_error_set(err, SM_ERR_CORRUPT, "%s: 'path' is empty", what);
    }
    stats = json_object_get(obj, "stats");
    if (stats && json_is_string(stats)) {
        if (!(out->stats =
                  sm_arena_strndup(a, json_string_value(stats), json_string_length(stats)))) {
            return nomem(err);
        }
    } else if (stats && json_is_object(stats)) {
        /* not Spark's form (a string holding JSON), but unambiguous: keep its text */
        return scalar_text(stats, a, &out->stats, err);
    }
    return 0;
}

int delta_parse_metadata_json(const json_t *obj, sm_arena *a, delta_metadata *out, sm_error *err)
{
    const char *what = "metaData";
    const json_t *format;
    int rc;

    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "metaData is %s, not an object",
                            json_type_word(obj));
    }
    if ((rc = get_str(obj, what, "id", true, a, &out->id, err)) != 0 ||
        (rc = get_str(obj, what, "name", false, a, &out->name, err)) != 0 ||
        (rc = get_str(obj, what, "description", false, a, &out->description, err)) != 0 ||
        (rc = get_str(obj, what, "schemaString", false, a, &out->schema_string, err)) != 0 ||
        (rc = get_str_array(obj, what, "partitionColumns", a, &out->partition_columns,
                            &out->n_partition_columns, err)) != 0 ||
        (rc = get_map(obj, what, "configuration", a, &out->configuration, &out->n_configuration,
                      err)) != 0 ||
        (rc = get_int(obj, what, "createdTime", false, 0, &out->created_time, err)) != 0) {
        return rc;
    }
    format = json_object_get(obj, "format");
    if (format && json_is_object(format)) {
        if ((rc = get_str(format, "metaData.format", "provider", false, a, &out->format, err)) !=
            0) {
            return rc;
        }
    } else if (format && !json_is_null(format)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "metaData: 'format' is %s, not an object",
                            json_type_word(format));
    }
    if (!out->format && !(out->format = sm_arena_strdup(a, "parquet"))) {
        return nomem(err); /* absent in some old logs; Delta has only ever written parquet */
    }
    return 0;
}

int delta_parse_protocol_json(const json_t *obj, sm_arena *a, delta_protocol *out, sm_error *err)
{
    const char *what = "protocol";
    int64_t r, w;
    int rc;

    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "protocol is %s, not an object",
                            json_type_word(obj));
    }
    if ((rc = get_int(obj, what, "minReaderVersion", true, 0, &r, err)) != 0 ||
        (rc = get_int(obj, what, "minWriterVersion", true, 0, &w, err)) != 0 ||
        (rc = get_str_array(obj, what, "readerFeatures", a, &out->reader_features,
                            &out->n_reader_features, err)) != 0 ||
        (rc = get_str_array(obj, what, "writerFeatures", a, &out->writer_features,
                            &out->n_writer_features, err)) != 0) {
        return rc;
    }
    if (r < INT32_MIN || r > INT32_MAX || w < INT32_MIN || w > INT32_MAX) {
        return sm_error_set(err, SM_ERR_CORRUPT, "protocol: version out of range");
    }
    out->min_reader_version = (int32_t)r;
    out->min_writer_version = (int32_t)w;
    return 0;
}

int delta_parse_txn_json(const json_t *obj, sm_arena *a, delta_txn *out, sm_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "txn is %s, not an object", json_type_word(obj));
    }
    if ((rc = get_str(obj, "txn", "appId", true, a, &out->app_id, err)) != 0 ||
        (rc = get_int(obj, "txn", "version", true, 0, &out->version, err)) != 0 ||
        (rc = get_int(obj, "txn", "lastUpdated", false, 0, &out->last_updated, err)) != 0) {
        return rc;
    }
    return 0;
}

int delta_parse_domain_json(const json_t *obj, sm_arena *a, delta_domain *out, sm_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "domainMetadata is %s, not an object",
                            json_type_word(obj));
    }
    if ((rc = get_str(obj, "domainMetadata", "domain", true, a, &out->domain, err)) != 0 ||
        (rc = get_str(obj, "domainMetadata", "configuration", false, a, &out->configuration,
                      err)) != 0 ||
        (rc = get_bool(obj, "domainMetadata", "removed", false, &out->removed, err)) != 0) {
        return rc;
    }
    if (!out->configuration && !(out->configuration = sm_arena_strdup(a, ""))) {
        return nomem(err);
    }
    return 0;
}

int64_t delta_commit_info_timestamp(const json_t *commit_info)
{
    const json_t *v = json_object_get(commit_info, "inCommitTimestamp");
    if (v && json_is_integer(v)) {
        return (int64_t)json_integer_value(v);
    }
    v = json_object_get(commit_info, "timestamp");
    if (v && json_is_integer(v)) {
        return (int64_t)json_integer_value(v);
    }
    return -1;
}

static int parse_sidecar(const json_t *obj, sm_arena *a, delta_sidecar *out, sm_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "sidecar is %s, not an object",
                            json_type_word(obj));
    }
    if ((rc = get_str(obj, "sidecar", "path", true, a, &out->path, err)) != 0 ||
        (rc = get_int(obj, "sidecar", "sizeInBytes", false, -1, &out->size_in_bytes, err)) != 0 ||
        (rc = get_int(obj, "sidecar", "modificationTime", false, 0, &out->modification_time,
                      err)) != 0) {
        return rc;
    }
    return 0;
}

int delta_parse_action(const json_t *line, sm_arena *a, delta_action *out, sm_error *err)
{
    const char *key;
    json_t *v;

    memset(out, 0, sizeof *out);
    out->type = DELTA_ACT_NONE;
    out->commit_timestamp = -1;
    if (!json_is_object(line)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "an action is %s, not an object",
                            json_type_word(line));
    }
    /* One key per action line; should a writer put two, each is taken (the last one wins). */
    json_object_foreach((json_t *)line, key, v)
    {
        int rc = 0;
        if (strcmp(key, "add") == 0) {
            out->type = DELTA_ACT_ADD;
            rc = delta_parse_file_json(v, true, a, &out->u.file, err);
        } else if (strcmp(key, "remove") == 0) {
            out->type = DELTA_ACT_REMOVE;
            rc = delta_parse_file_json(v, false, a, &out->u.file, err);
        } else if (strcmp(key, "metaData") == 0) {
            out->type = DELTA_ACT_METADATA;
            rc = delta_parse_metadata_json(v, a, &out->u.metadata, err);
        } else if (strcmp(key, "protocol") == 0) {
            out->type = DELTA_ACT_PROTOCOL;
            rc = delta_parse_protocol_json(v, a, &out->u.protocol, err);
        } else if (strcmp(key, "txn") == 0) {
            out->type = DELTA_ACT_TXN;
            rc = delta_parse_txn_json(v, a, &out->u.txn, err);
        } else if (strcmp(key, "domainMetadata") == 0) {
            out->type = DELTA_ACT_DOMAIN;
            rc = delta_parse_domain_json(v, a, &out->u.domain, err);
        } else if (strcmp(key, "commitInfo") == 0) {
            if (!json_is_object(v)) {
                return sm_error_set(err, SM_ERR_CORRUPT, "commitInfo is %s, not an object",
                                    json_type_word(v));
            }
            out->type = DELTA_ACT_COMMIT_INFO;
            out->commit_info = v;
            out->commit_timestamp = delta_commit_info_timestamp(v);
        } else if (strcmp(key, "sidecar") == 0) {
            out->type = DELTA_ACT_SIDECAR;
            rc = parse_sidecar(v, a, &out->u.sidecar, err);
        } else if (strcmp(key, "checkpointMetadata") == 0) {
            out->type = DELTA_ACT_CHECKPOINT_METADATA;
            if (!json_is_object(v)) {
                return sm_error_set(err, SM_ERR_CORRUPT, "checkpointMetadata is %s, not an object",
                                    json_type_word(v));
            }
            rc = get_int(v, "checkpointMetadata", "version", true, 0, &out->u.checkpoint_version,
                         err);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int delta_parse_json_lines(const char *data, size_t len, const char *name, sm_arena *a,
                           delta_action_fn fn, void *ctx, sm_error *err)
{
    const char *p = data, *end = data + len;
    int lineno = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *s = p, *e = line_end;
        json_error_t jerr;
        json_t *line;
        delta_action act;
        int rc;

        lineno++;
        p = nl ? nl + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r')) {
            s++;
        }
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (s == e) {
            continue;
        }
        if (!(line = json_loadb(s, (size_t)(e - s), 0, &jerr))) {
            return sm_error_set(err, SM_ERR_CORRUPT, "%s:%d: not JSON: %s (column %d)", name,
                                lineno, jerr.text, jerr.column);
        }
        rc = delta_parse_action(line, a, &act, err);
        if (rc != 0) {
            json_decref(line);
            sm_error_prefix(err, "%s:%d", name, lineno);
            return rc;
        }
        rc = act.type == DELTA_ACT_NONE ? 0 : fn(ctx, &act, err);
        json_decref(line);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- paths ------------------------------------------------------------------------------- */

int delta_log_path(const char *table, int64_t version, const char *suffix, sm_buf *out,
                   sm_error *err)
{
    size_t tl = strlen(table), sl = suffix ? strlen(suffix) : 0;
    size_t cap = tl + sizeof("/" DELTA_LOG_DIR "/") + DELTA_VERSION_DIGITS + sl + 8;
    int n;
    sm_buf_reset(out);
    while (tl > 1 && table[tl - 1] == '/') {
        tl--;
    }
    if (sm_buf_reserve(out, cap, err) != 0) {
        return SM_ERR_NOMEM;
    }
    n = snprintf((char *)out->data, cap, "%.*s/" DELTA_LOG_DIR "/%020" PRId64 "%s", (int)tl, table,
                 version, suffix ? suffix : "");
    out->len = (size_t)n;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int delta_percent_decode(const char *s, size_t n, sm_buf *out, sm_error *err)
{
    if (sm_buf_reserve(out, n + 1, err) != 0) {
        return SM_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out->data[out->len++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            out->data[out->len++] = (uint8_t)s[i];
        }
    }
    return 0;
}

bool delta_path_has_scheme(const char *path, size_t *scheme_len)
{
    size_t i = 0;
    if (!((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z'))) {
        return false;
    }
    for (i = 1; path[i]; i++) {
        char c = path[i];
        if (c == ':') {
            if (scheme_len) {
                *scheme_len = i;
            }
            return true;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.')) {
            return false;
        }
    }
    return false;
}

/* Normalises the absolute path in b->data[0..b->len) in place: repeated slashes, "." and ".."
 * segments removed (".." at the root stays at the root), no trailing slash. NUL-terminates. */
static void normalize_abs(sm_buf *b)
{
    char *s = (char *)b->data;
    size_t n = b->len, w = 0, i = 0;
    /* s[0] is '/'; w is the length of the normalised prefix, which never ends with '/' except
     * when it is the root */
    while (i < n) {
        size_t start, len;
        while (i < n && s[i] == '/') {
            i++;
        }
        start = i;
        while (i < n && s[i] != '/') {
            i++;
        }
        len = i - start;
        if (len == 0 || (len == 1 && s[start] == '.')) {
            continue;
        }
        if (len == 2 && s[start] == '.' && s[start + 1] == '.') {
            while (w > 0 && s[w - 1] != '/') {
                w--;
            }
            if (w > 0) {
                w--; /* the slash before the dropped segment */
            }
            continue;
        }
        s[w++] = '/';
        memmove(s + w, s + start, len);
        w += len;
    }
    if (w == 0) {
        s[w++] = '/';
    }
    s[w] = '\0';
    b->len = w;
}

int delta_abs_path(const char *path, sm_buf *out, sm_error *err)
{
    sm_buf_reset(out);
    if (path[0] != '/') {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) {
            return sm_error_sys(err, SM_ERR_IO, errno, "getcwd");
        }
        if (sm_buf_append(out, cwd, strlen(cwd), err) != 0 ||
            sm_buf_append_byte(out, '/', err) != 0) {
            return SM_ERR_NOMEM;
        }
    }
    if (sm_buf_append(out, path, strlen(path), err) != 0 || sm_buf_reserve(out, 2, err) != 0) {
        return SM_ERR_NOMEM;
    }
    normalize_abs(out);
    return 0;
}

/* True when the path is a plain relative path: no scheme, no '%', no empty, "." or ".."
 * segment. Such a path is its own reconciliation key. */
static bool path_is_plain(const char *path)
{
    const char *seg = path;
    if (path[0] == '/' || path[0] == '\0' || strchr(path, '%') ||
        delta_path_has_scheme(path, NULL)) {
        return false;
    }
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - seg);
            if (len == 0 || (len == 1 && seg[0] == '.') ||
                (len == 2 && seg[0] == '.' && seg[1] == '.')) {
                return false;
            }
            if (*p == '\0') {
                return true;
            }
            seg = p + 1;
        }
    }
}

/* For a `file:` URI, the offset of its path part (after "file:" and an empty or "localhost"
 * authority); -1 when the authority names another host. */
static long file_uri_path_offset(const char *uri)
{
    const char *p = uri + 5; /* "file:" */
    if (p[0] == '/' && p[1] == '/') {
        const char *auth = p + 2, *slash = strchr(auth, '/');
        size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
        if (alen != 0 && !(alen == 9 && strncasecmp(auth, "localhost", 9) == 0)) {
            return -1;
        }
        return (long)(auth + alen - uri);
    }
    return 5;
}

int delta_path_key(const char *root_abs, const char *path, sm_arena *scratch, const char **key_out,
                   sm_error *err)
{
    sm_buf b = SM_BUF_INIT;
    size_t scheme_len = 0, rl = strlen(root_abs);
    const char *rest = path;
    char *key;
    int rc = 0;

    if (path_is_plain(path)) {
        *key_out = path;
        return 0;
    }
    if (delta_path_has_scheme(path, &scheme_len)) {
        long off = -1;
        if (scheme_len == 4 && strncasecmp(path, "file", 4) == 0) {
            off = file_uri_path_offset(path);
        }
        if (off < 0) {
            /* another file system: only the encoding can differ */
            if ((rc = delta_percent_decode(path, strlen(path), &b, err)) != 0) {
                goto done;
            }
            goto copy;
        }
        rest = path + off;
    }
    if (rest[0] != '/') {
        if (sm_buf_append(&b, root_abs, rl, err) != 0 || sm_buf_append_byte(&b, '/', err) != 0) {
            rc = SM_ERR_NOMEM;
            goto done;
        }
    }
    if ((rc = delta_percent_decode(rest, strlen(rest), &b, err)) != 0 ||
        (rc = sm_buf_reserve(&b, 2, err)) != 0) {
        goto done;
    }
    normalize_abs(&b);
    /* under the root: relative again, so that it meets the plain relative spelling */
    if (rl == 1 && root_abs[0] == '/' && b.len > 1) {
        memmove(b.data, b.data + 1, b.len);
        b.len--;
    } else if (b.len > rl + 1 && memcmp(b.data, root_abs, rl) == 0 && b.data[rl] == '/') {
        memmove(b.data, b.data + rl + 1, b.len - rl);
        b.len -= rl + 1;
    }
copy:
    if (!(key = sm_arena_strndup(scratch, (const char *)b.data, b.len))) {
        rc = nomem(err);
        goto done;
    }
    *key_out = key;
done:
    sm_buf_free(&b);
    return rc;
}

int delta_file_local_path(const char *table_path, const char *log_path, sm_buf *out, sm_error *err)
{
    size_t scheme_len = 0;
    const char *rest = log_path;

    sm_buf_reset(out);
    if (delta_path_has_scheme(log_path, &scheme_len)) {
        long off;
        if (!(scheme_len == 4 && strncasecmp(log_path, "file", 4) == 0)) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: data file '%s': scheme '%.*s' is not supported (smelter "
                                "reads files on the local file system only)",
                                table_path, log_path, (int)scheme_len, log_path);
        }
        if ((off = file_uri_path_offset(log_path)) < 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: data file '%s': a file URI naming another host is not "
                                "supported (smelter reads files on the local file system only)",
                                table_path, log_path);
        }
        rest = log_path + off;
        if (rest[0] != '/') {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: data file '%s': a relative file URI has no meaning",
                                table_path, log_path);
        }
    } else if (log_path[0] != '/') {
        size_t tl = strlen(table_path);
        while (tl > 1 && table_path[tl - 1] == '/') {
            tl--;
        }
        if (sm_buf_append(out, table_path, tl, err) != 0 ||
            (!(tl == 1 && table_path[0] == '/') && sm_buf_append_byte(out, '/', err) != 0)) {
            return SM_ERR_NOMEM;
        }
    }
    if (delta_percent_decode(rest, strlen(rest), out, err) != 0 ||
        sm_buf_reserve(out, 1, err) != 0) {
        return SM_ERR_NOMEM;
    }
    out->data[out->len] = '\0';
    return 0;
}
