/*
 * Avro schema (.avsc) → sm_field tree (see avsc.h for the mapping and docs/json.md for the
 * table). The schema text is parsed with jansson and walked once, depth first, building the
 * field tree in the caller's arena.
 *
 * Named types are resolved the way the Avro specification says: a name with a dot is a full
 * name; otherwise the namespace is the "namespace" attribute or the enclosing one, and a
 * reference by short name is looked up in the enclosing namespace first, then the null
 * namespace. A reference builds the definition again under the new field name (a column tree
 * has no shared nodes); a reference from inside its own definition is a recursive type, which
 * a column schema cannot hold.
 *
 * Defaults are checked last, by decoding each one with the JSON decoder into a throwaway
 * column: the decoder is what will use them, so it is what must accept them.
 */
#include "ingest/avsc.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/durable.h"
#include "ingest/json_decode.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define AVSC_MAX_FILE  (16u << 20)
#define AVSC_MAX_DEPTH 200

typedef struct named {
    const char *fullname;
    json_t *def;    /* the defining object */
    const char *ns; /* namespace its body resolves names in */
    bool busy;      /* being built: a reference now is a recursion */
} named;

typedef struct ctx {
    sm_arena *arena;
    const char *origin;
    sm_error *err;
    named *names;
    int n_names, cap_names;
    sm_avsc_info **infos;
    int n_infos, cap_infos;
    int depth;
    char path[512];
    size_t path_len;
} ctx;

/* ---- errors and paths --------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int bad(ctx *c, const char *fmt, ...)
{
    char msg[SM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sm_error_set(c->err, SM_ERR_USAGE, "%s: %s: %s", c->origin, c->path, msg);
}

static size_t path_push(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the JSON path; returns the length to restore with path_pop. */
static size_t path_push(ctx *c, const char *fmt, ...)
{
    size_t saved = c->path_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->path_len, sizeof c->path - c->path_len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        c->path_len += (size_t)n;
        if (c->path_len >= sizeof c->path) {
            c->path_len = sizeof c->path - 1;
        }
    }
    return saved;
}

static void path_pop(ctx *c, size_t saved)
{
    c->path_len = saved;
    c->path[saved] = '\0';
}

/* Compact JSON text of a node for messages (truncated). */
static void show(const json_t *j, char *out, size_t cap)
{
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(out, cap, "(?)");
        return;
    }
    if (strlen(s) > 60) {
        snprintf(out, cap, "%.57s...", s);
    } else {
        snprintf(out, cap, "%s", s);
    }
    free(s);
}

/* ---- names -------------------------------------------------------------------------------- */

/* [A-Za-z_][A-Za-z0-9_]* */
static bool valid_name(const char *s)
{
    if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) {
        return false;
    }
    for (s++; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_')) {
            return false;
        }
    }
    return true;
}

/* A full name: names separated by dots. */
static bool valid_fullname(const char *s)
{
    char part[256];
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0 || n >= sizeof part) {
            return false;
        }
        memcpy(part, s, n);
        part[n] = '\0';
        if (!valid_name(part)) {
            return false;
        }
        s += n;
        if (dot) {
            s++;
            if (!*s) {
                return false;
            }
        }
    }
    return true;
}

static const char *const primitives[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};

static bool is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++) {
        if (strcmp(s, primitives[i]) == 0) {
            return true;
        }
    }
    return false;
}

static named *find_named(ctx *c, const char *fullname)
{
    for (int i = 0; i < c->n_names; i++) {
        if (strcmp(c->names[i].fullname, fullname) == 0) {
            return &c->names[i];
        }
    }
    return NULL;
}

static char *join_name(ctx *c, const char *ns, const char *name)
{
    size_t a = ns ? strlen(ns) : 0, b = strlen(name);
    char *s = sm_arena_alloc(c->arena, a + b + 2);
    if (!s) {
        return NULL;
    }
    if (a) {
        memcpy(s, ns, a);
        s[a++] = '.';
    }
    memcpy(s + a, name, b + 1);
    return s;
}

/* The full name and namespace a definition (record, enum, fixed) declares; registers it, or
 * finds it registered by this same object (a reference being built again). */
static named *define(ctx *c, json_t *def, const char *ns)
{
    json_t *jname = json_object_get(def, "name"), *jns = json_object_get(def, "namespace");
    const char *name, *dot;
    char *full, *body_ns;
    named *nm;
    if (!json_is_string(jname)) {
        bad(c, "a %s needs a \"name\"", json_string_value(json_object_get(def, "type")));
        return NULL;
    }
    name = json_string_value(jname);
    if (jns && !json_is_null(jns) && !json_is_string(jns)) {
        bad(c, "\"namespace\" must be a string");
        return NULL;
    }
    if ((dot = strrchr(name, '.')) != NULL) {
        if (!valid_fullname(name)) {
            bad(c, "invalid name '%s' (names are [A-Za-z_][A-Za-z0-9_]*, dot-separated)", name);
            return NULL;
        }
        full = sm_arena_strdup(c->arena, name);
        body_ns = sm_arena_strndup(c->arena, name, (size_t)(dot - name));
    } else {
        const char *space = json_is_string(jns) ? json_string_value(jns) : ns;
        if (!valid_name(name)) {
            bad(c, "invalid name '%s' (names are [A-Za-z_][A-Za-z0-9_]*)", name);
            return NULL;
        }
        if (space && *space && !valid_fullname(space)) {
            bad(c, "invalid namespace '%s'", space);
            return NULL;
        }
        full = join_name(c, space, name);
        body_ns = space ? sm_arena_strdup(c->arena, space) : NULL;
        if (space && !body_ns) {
            full = NULL;
        }
    }
    if (!full || (dot && !body_ns)) {
        sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
        return NULL;
    }
    if (is_primitive(dot ? dot + 1 : name)) {
        bad(c, "'%s' is a primitive type name and cannot name a type", name);
        return NULL;
    }
    if ((nm = find_named(c, full)) != NULL) {
        if (nm->def != def) {
            bad(c, "type '%s' is defined twice", full);
            return NULL;
        }
        return nm;
    }
    if (c->n_names == c->cap_names) {
        int cap = c->cap_names ? c->cap_names * 2 : 16;
        named *n2 = realloc(c->names, sizeof *n2 * (size_t)cap);
        if (!n2) {
            sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
            return NULL;
        }
        c->names = n2;
        c->cap_names = cap;
    }
    nm = &c->names[c->n_names++];
    nm->fullname = full;
    nm->def = def;
    nm->ns = body_ns;
    nm->busy = false;
    return nm;
}

/* ---- infos -------------------------------------------------------------------------------- */

static sm_avsc_info *info_for(ctx *c, const sm_field *f)
{
    sm_avsc_info *in;
    for (int i = c->n_infos - 1; i >= 0; i--) {
        if (c->infos[i]->field == f) {
            return c->infos[i];
        }
    }
    if (c->n_infos == c->cap_infos) {
        int cap = c->cap_infos ? c->cap_infos * 2 : 16;
        sm_avsc_info **n2 = realloc(c->infos, sizeof *n2 * (size_t)cap);
        if (!n2) {
            return NULL;
        }
        c->infos = n2;
        c->cap_infos = cap;
    }
    if (!(in = sm_arena_calloc(c->arena, sizeof *in)) ||
        !(in->path = sm_arena_strdup(c->arena, c->path))) {
        return NULL;
    }
    in->field = f;
    c->infos[c->n_infos++] = in;
    return in;
}

/* ---- building ----------------------------------------------------------------------------- */

static sm_field *build(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable);

static sm_field *nomem(ctx *c)
{
    sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
    return NULL;
}

static bool get_int(json_t *o, const char *key, bool required, json_int_t def, json_int_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return !required;
    }
    if (!json_is_integer(v)) {
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* Largest decimal precision a two's complement fixed of `size` bytes holds. */
static int fixed_max_precision(json_int_t size)
{
    if (size >= 16) {
        return 38;
    }
    return (int)floor((8.0 * (double)size - 1.0) * log10(2.0));
}

static sm_field *build_decimal(ctx *c, json_t *s, const char *fname, bool nullable,
                               json_int_t fixed_size)
{
    json_int_t precision, scale;
    sm_field *f;
    if (!get_int(s, "precision", true, 0, &precision)) {
        bad(c, "a decimal needs an integer \"precision\"");
        return NULL;
    }
    if (!get_int(s, "scale", false, 0, &scale)) {
        bad(c, "a decimal's \"scale\" must be an integer");
        return NULL;
    }
    if (precision < 1 || precision > 38) {
        bad(c, "decimal precision %lld is not supported (1..38)", (long long)precision);
        return NULL;
    }
    if (scale < 0 || scale > precision) {
        bad(c, "decimal scale %lld must be within 0..precision (%lld)", (long long)scale,
            (long long)precision);
        return NULL;
    }
    if (fixed_size > 0 && precision > fixed_max_precision(fixed_size)) {
        bad(c, "decimal precision %lld does not fit a fixed of %lld bytes (at most %d)",
            (long long)precision, (long long)fixed_size, fixed_max_precision(fixed_size));
        return NULL;
    }
    if (!(f = sm_field_decimal(c->arena, fname, (int32_t)precision, (int32_t)scale, nullable))) {
        return nomem(c);
    }
    return f;
}

static sm_field *build_primitive(ctx *c, const char *type, const char *fname, bool nullable)
{
    static const struct {
        const char *name;
        sm_type type;
    } map[] = {{"boolean", SM_BOOL}, {"int", SM_INT32},     {"long", SM_INT64},
               {"float", SM_FLOAT},  {"double", SM_DOUBLE}, {"bytes", SM_BINARY},
               {"string", SM_STRING}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(type, map[i].name) == 0) {
            sm_field *f = sm_field_new(c->arena, fname, map[i].type, nullable);
            return f ? f : nomem(c);
        }
    }
    bad(c, "type \"null\" alone has no column type (use [\"null\", T] for a nullable T)");
    return NULL;
}

/* {"type": "int"|"long"|..., "logicalType": ...} */
static sm_field *build_logical(ctx *c, json_t *s, const char *type, const char *fname,
                               bool nullable)
{
    json_t *jl = json_object_get(s, "logicalType");
    const char *lt = json_is_string(jl) ? json_string_value(jl) : NULL;
    sm_type t = SM_TYPE_COUNT;
    sm_field *f;
    if (jl && !lt) {
        bad(c, "\"logicalType\" must be a string");
        return NULL;
    }
    if (lt) {
        if (strcmp(type, "int") == 0 && strcmp(lt, "date") == 0) {
            t = SM_DATE;
        } else if (strcmp(type, "long") == 0 && (strcmp(lt, "timestamp-millis") == 0 ||
                                                 strcmp(lt, "local-timestamp-millis") == 0)) {
            t = SM_TIMESTAMP_MS;
        } else if (strcmp(type, "long") == 0 && (strcmp(lt, "timestamp-micros") == 0 ||
                                                 strcmp(lt, "local-timestamp-micros") == 0)) {
            t = SM_TIMESTAMP_US;
        } else if (strcmp(type, "bytes") == 0 && strcmp(lt, "decimal") == 0) {
            f = build_decimal(c, s, fname, nullable, 0);
            goto done;
        }
    }
    if (t != SM_TYPE_COUNT) {
        f = sm_field_new(c->arena, fname, t, nullable);
        if (!f) {
            return nomem(c);
        }
    } else {
        f = build_primitive(c, type, fname, nullable);
    }
done:
    if (f && lt) {
        sm_avsc_info *in = info_for(c, f);
        if (!in || !(in->logical = sm_arena_strdup(c->arena, lt))) {
            return nomem(c);
        }
    }
    return f;
}

/* Avro writes a decimal's default as the two's complement big-endian bytes of the unscaled
 * value, one string char (U+0000..U+00FF) per byte; the decoder takes "-1.23". */
static char *decimal_default(ctx *c, const json_t *jd, int scale)
{
    const char *bytes = json_string_value(jd);
    size_t blen = json_string_length(jd), k = 0, nraw = 0, o = 0;
    unsigned char raw[17];
    char digits[64], out[80];
    int nd = 0;
    i128 v;
    u128 mag;
    for (; k < blen && nraw < sizeof raw; nraw++) {
        unsigned char b0 = (unsigned char)bytes[k];
        if (b0 < 0x80) {
            raw[nraw] = b0;
            k++;
        } else if ((b0 == 0xc2 || b0 == 0xc3) && k + 1 < blen) {
            raw[nraw] = (unsigned char)((b0 & 3) << 6 | (bytes[k + 1] & 0x3f));
            k += 2;
        } else {
            break;
        }
    }
    if (k != blen || nraw == 0 || nraw > 16) {
        bad(c, "a decimal default is a string of 1 to 16 bytes (chars U+0000..U+00FF), the "
               "unscaled value in two's complement, big-endian");
        return NULL;
    }
    v = (raw[0] & 0x80) ? -1 : 0;
    for (size_t b = 0; b < nraw; b++) {
        v = (i128)(((u128)v << 8) | raw[b]);
    }
    mag = v < 0 ? (u128)(-(v + 1)) + 1 : (u128)v;
    do {
        digits[nd++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag);
    while (nd <= scale) {
        digits[nd++] = '0';
    }
    out[o++] = '"';
    if (v < 0) {
        out[o++] = '-';
    }
    for (int d = nd - 1; d >= 0; d--) {
        out[o++] = digits[d];
        if (d == scale && scale > 0) {
            out[o++] = '.';
        }
    }
    out[o++] = '"';
    char *text = sm_arena_strndup(c->arena, out, o);
    if (!text) {
        nomem(c);
    }
    return text;
}

static sm_field *build_record(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable)
{
    named *nm = define(c, s, ns);
    json_t *fields = json_object_get(s, "fields");
    sm_field **kids = NULL, *f = NULL;
    size_t n, saved;
    if (!nm) {
        return NULL;
    }
    if (nm->busy) {
        bad(c, "type '%s' contains itself; a recursive type cannot be a column", nm->fullname);
        return NULL;
    }
    if (!json_is_array(fields)) {
        bad(c, "record '%s' needs a \"fields\" array", nm->fullname);
        return NULL;
    }
    n = json_array_size(fields);
    if (n == 0) {
        bad(c, "record '%s' has no fields; a column struct needs at least one", nm->fullname);
        return NULL;
    }
    if (!(kids = sm_arena_alloc(c->arena, sizeof *kids * n))) {
        return nomem(c);
    }
    nm->busy = true;
    for (size_t i = 0; i < n; i++) {
        json_t *fj = json_array_get(fields, i), *jn, *jt, *jd;
        const char *name;
        saved = path_push(c, ".fields[%zu]", i);
        if (!json_is_object(fj)) {
            bad(c, "a field must be an object");
            goto fail;
        }
        jn = json_object_get(fj, "name");
        jt = json_object_get(fj, "type");
        jd = json_object_get(fj, "default");
        if (!json_is_string(jn) || !valid_name(json_string_value(jn))) {
            char shown[80];
            show(jn ? jn : json_null(), shown, sizeof shown);
            bad(c, "a field needs a \"name\" of [A-Za-z_][A-Za-z0-9_]* (got %s)", shown);
            goto fail;
        }
        name = json_string_value(jn);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(kids[j]->name, name) == 0) {
                bad(c, "field '%s' appears twice in record '%s'", name, nm->fullname);
                goto fail;
            }
        }
        if (!jt) {
            bad(c, "field '%s' needs a \"type\"", name);
            goto fail;
        }
        size_t saved_t = path_push(c, ".type");
        kids[i] = build(c, jt, name, nm->ns, false);
        path_pop(c, saved_t);
        if (!kids[i]) {
            goto fail;
        }
        if (jd) {
            /* Avro: a union's default belongs to its first branch */
            bool first_null = json_is_array(jt) && json_array_size(jt) > 0 &&
                              json_is_string(json_array_get(jt, 0)) &&
                              strcmp(json_string_value(json_array_get(jt, 0)), "null") == 0;
            sm_avsc_info *in;
            char *text;
            saved_t = path_push(c, ".default");
            if (first_null && !json_is_null(jd)) {
                bad(c, "the default of a union must match its first branch, \"null\"");
                goto fail;
            }
            if (json_is_array(jt) && !first_null && json_is_null(jd)) {
                bad(c, "a null default needs \"null\" as the union's first branch");
                goto fail;
            }
            if (kids[i]->type == SM_DECIMAL && json_is_string(jd)) {
                if (!(text = decimal_default(c, jd, kids[i]->scale))) {
                    goto fail;
                }
            } else {
                char *t = json_dumps(jd, JSON_ENCODE_ANY | JSON_COMPACT);
                text = t ? sm_arena_strdup(c->arena, t) : NULL;
                free(t);
            }
            if (!text || !(in = info_for(c, kids[i]))) {
                nomem(c);
                goto fail;
            }
            in->default_json = text;
            in->default_len = strlen(text);
            path_pop(c, saved_t);
            /* the info of a field with a default is placed at the field */
            if (!(in->path = sm_arena_strdup(c->arena, c->path))) {
                nomem(c);
                goto fail;
            }
        }
        path_pop(c, saved);
    }
    nm->busy = false;
    if (!(f = sm_field_struct(c->arena, fname, kids, (int)n, nullable))) {
        return nomem(c);
    }
    sm_avsc_info *in = info_for(c, f);
    if (!in) {
        return nomem(c);
    }
    in->type_name = nm->fullname;
    return f;
fail:
    nm->busy = false;
    return NULL;
}

static sm_field *build_enum(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable)
{
    named *nm = define(c, s, ns);
    json_t *syms = json_object_get(s, "symbols");
    const char **out;
    sm_avsc_info *in;
    sm_field *f;
    size_t n;
    if (!nm) {
        return NULL;
    }
    if (!json_is_array(syms) || (n = json_array_size(syms)) == 0) {
        bad(c, "enum '%s' needs a non-empty \"symbols\" array", nm->fullname);
        return NULL;
    }
    if (!(out = sm_arena_alloc(c->arena, sizeof *out * n))) {
        return nomem(c);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *y = json_array_get(syms, i);
        if (!json_is_string(y) || !valid_name(json_string_value(y))) {
            char shown[80];
            show(y, shown, sizeof shown);
            bad(c, "enum '%s': symbol %s is not a name ([A-Za-z_][A-Za-z0-9_]*)", nm->fullname,
                shown);
            return NULL;
        }
        out[i] = json_string_value(y);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(out[j], out[i]) == 0) {
                bad(c, "enum '%s': symbol '%s' appears twice", nm->fullname, out[i]);
                return NULL;
            }
        }
        if (!(out[i] = sm_arena_strdup(c->arena, out[i]))) {
            return nomem(c);
        }
    }
    if (!(f = sm_field_new(c->arena, fname, SM_STRING, nullable)) || !(in = info_for(c, f))) {
        return nomem(c);
    }
    in->type_name = nm->fullname;
    in->n_symbols = (int)n;
    in->symbols = out;
    return f;
}

static sm_field *build_fixed(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable)
{
    named *nm = define(c, s, ns);
    json_t *jl = json_object_get(s, "logicalType");
    json_int_t size;
    sm_field *f;
    sm_avsc_info *in;
    if (!nm) {
        return NULL;
    }
    if (!get_int(s, "size", true, 0, &size) || size < 1 || size > INT32_MAX) {
        bad(c, "fixed '%s' needs a positive integer \"size\"", nm->fullname);
        return NULL;
    }
    if (jl && !json_is_string(jl)) {
        bad(c, "\"logicalType\" must be a string");
        return NULL;
    }
    if (jl && strcmp(json_string_value(jl), "decimal") == 0) {
        f = build_decimal(c, s, fname, nullable, size);
    } else {
        f = sm_field_fixed(c->arena, fname, (int32_t)size, nullable);
        if (!f) {
            return nomem(c);
        }
    }
    if (!f) {
        return NULL;
    }
    if (!(in = info_for(c, f))) {
        return nomem(c);
    }
    in->type_name = nm->fullname;
    if (jl && !(in->logical = sm_arena_strdup(c->arena, json_string_value(jl)))) {
        return nomem(c);
    }
    return f;
}

static sm_field *build_union(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable)
{
    size_t n = json_array_size(s), nulls = 0, other = 0, which = 0;
    sm_field *f;
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(s, i);
        if (json_is_array(b)) {
            size_t saved = path_push(c, "[%zu]", i);
            bad(c, "a union cannot hold a union directly");
            path_pop(c, saved);
            return NULL;
        }
        if (json_is_string(b) && strcmp(json_string_value(b), "null") == 0) {
            nulls++;
        } else {
            other++;
            which = i;
        }
    }
    if (nulls > 1) {
        bad(c, "\"null\" appears twice in a union");
        return NULL;
    }
    if (other != 1) {
        char shown[80];
        show(s, shown, sizeof shown);
        if (other == 0) {
            bad(c, "union %s has no type but null; a column needs one", shown);
        } else {
            bad(c,
                "union %s is not supported: a column takes a union of \"null\" and one type "
                "(a nullable column), not of several types",
                shown);
        }
        return NULL;
    }
    size_t saved = path_push(c, "[%zu]", which);
    f = build(c, json_array_get(s, which), fname, ns, nullable || nulls > 0);
    path_pop(c, saved);
    return f;
}

static sm_field *build_ref(ctx *c, const char *name, const char *fname, const char *ns,
                           bool nullable)
{
    named *nm = NULL;
    if (strchr(name, '.')) {
        nm = find_named(c, name);
    } else {
        if (ns && *ns) {
            char full[512];
            snprintf(full, sizeof full, "%s.%s", ns, name);
            nm = find_named(c, full);
        }
        if (!nm) {
            nm = find_named(c, name);
        }
    }
    if (!nm) {
        char known[256] = "";
        size_t o = 0;
        for (int i = 0; i < c->n_names && o + 2 < sizeof known; i++) {
            int w =
                snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", c->names[i].fullname);
            o = w > 0 ? o + (size_t)w : o;
        }
        if (o >= sizeof known) {
            o = sizeof known - 1;
        }
        bad(c, "unknown type '%s'%s%s%s", name, c->n_names ? " (defined so far: " : "", known,
            c->n_names ? ")" : "");
        return NULL;
    }
    if (nm->busy) {
        bad(c, "type '%s' contains itself; a recursive type cannot be a column", nm->fullname);
        return NULL;
    }
    /* the definition resolves names in its own namespace (build() finds it) */
    return build(c, nm->def, fname, NULL, nullable);
}

static sm_field *build(ctx *c, json_t *s, const char *fname, const char *ns, bool nullable)
{
    sm_field *f = NULL;
    if (++c->depth > AVSC_MAX_DEPTH) {
        bad(c, "schema nested deeper than %d", AVSC_MAX_DEPTH);
        c->depth--;
        return NULL;
    }
    if (json_is_string(s)) {
        const char *t = json_string_value(s);
        f = is_primitive(t) ? build_primitive(c, t, fname, nullable)
                            : build_ref(c, t, fname, ns, nullable);
    } else if (json_is_array(s)) {
        f = build_union(c, s, fname, ns, nullable);
    } else if (json_is_object(s)) {
        json_t *jt = json_object_get(s, "type");
        const char *t = json_is_string(jt) ? json_string_value(jt) : NULL;
        /* a definition met again through a reference resolves in its own namespace */
        named *known = NULL;
        for (int i = 0; i < c->n_names; i++) {
            if (c->names[i].def == s) {
                known = &c->names[i];
            }
        }
        const char *def_ns = ns;
        if (known) {
            /* define() recomputes the same full name from the enclosing namespace of the
             * first definition: give it back the namespace that produced it */
            const char *dot = strrchr(known->fullname, '.');
            def_ns =
                dot ? sm_arena_strndup(c->arena, known->fullname, (size_t)(dot - known->fullname))
                    : NULL;
        }
        if (!t) {
            bad(c, "\"type\" must be a type name string");
        } else if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0) {
            f = build_record(c, s, fname, def_ns, nullable);
        } else if (strcmp(t, "enum") == 0) {
            f = build_enum(c, s, fname, def_ns, nullable);
        } else if (strcmp(t, "fixed") == 0) {
            f = build_fixed(c, s, fname, def_ns, nullable);
        } else if (strcmp(t, "array") == 0) {
            json_t *items = json_object_get(s, "items");
            sm_field *e;
            if (!items) {
                bad(c, "an array needs \"items\"");
            } else {
                size_t saved = path_push(c, ".items");
                e = build(c, items, "element", ns, false);
                path_pop(c, saved);
                if (e && !(f = sm_field_list(c->arena, fname, e, nullable))) {
                    nomem(c);
                }
            }
        } else if (strcmp(t, "map") == 0) {
            json_t *values = json_object_get(s, "values");
            sm_field *k, *v;
            if (!values) {
                bad(c, "a map needs \"values\"");
            } else {
                size_t saved = path_push(c, ".values");
                v = build(c, values, "value", ns, false);
                path_pop(c, saved);
                if (v) {
                    k = sm_field_new(c->arena, "key", SM_STRING, false);
                    if (!k || !(f = sm_field_map(c->arena, fname, k, v, nullable))) {
                        nomem(c);
                    }
                }
            }
        } else if (is_primitive(t)) {
            f = build_logical(c, s, t, fname, nullable);
        } else {
            /* {"type": "SomeName"}: a reference */
            size_t saved = path_push(c, ".type");
            f = build_ref(c, t, fname, ns, nullable);
            path_pop(c, saved);
        }
    } else {
        char shown[80];
        show(s, shown, sizeof shown);
        bad(c, "%s is not a schema (a type name, an object or a union array)", shown);
    }
    c->depth--;
    return f;
}

/* ---- defaults ----------------------------------------------------------------------------- */

/* Decodes every default into a throwaway column with the decoder that will use it. */
static int check_defaults(ctx *c, sm_avsc *s)
{
    sm_arena *scratch = sm_arena_create(0, 64u << 20);
    int rc = SM_OK;
    if (!scratch) {
        return sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
    }
    for (int i = 0; i < s->n_infos && rc == SM_OK; i++) {
        const sm_avsc_info *in = s->infos[i];
        sm_field *kid = (sm_field *)in->field, *wrap;
        sm_json_opts opts;
        sm_json_decoder *d = NULL;
        sm_column *col;
        sm_json_error why;
        sm_error e2;
        char *text;
        size_t nl, tl;
        if (!in->default_json) {
            continue;
        }
        sm_arena_reset(scratch);
        nl = strlen(kid->name);
        tl = nl + in->default_len + 8;
        wrap = sm_field_struct(scratch, "default", &kid, 1, false);
        text = sm_arena_alloc(scratch, tl);
        if (!wrap || !text) {
            rc = sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
            break;
        }
        tl = (size_t)snprintf(text, tl, "{\"%s\":%s}", kid->name, in->default_json);
        sm_json_opts_default(&opts);
        opts.avsc = s;
        if ((rc = sm_json_decoder_new(wrap, &opts, &d, &e2)) != SM_OK) {
            rc = sm_error_set(c->err, rc, "%s: %s: %s", c->origin, in->path, e2.msg);
            break;
        }
        if (!(col = sm_column_new(scratch, wrap, 1))) {
            sm_json_decoder_free(d);
            rc = sm_error_set(c->err, SM_ERR_NOMEM, "%s: out of memory", c->origin);
            break;
        }
        if (sm_json_decode(d, (const uint8_t *)text, tl, scratch, col, &why) != SM_OK) {
            char *at = strstr(why.msg, " at byte "); /* an offset into our wrapper: useless */
            if (at) {
                *at = '\0';
            }
            rc = sm_error_set(c->err, why.reason == SM_JSON_NOMEM ? SM_ERR_NOMEM : SM_ERR_USAGE,
                              "%s: %s.default: %s", c->origin, in->path, why.msg);
        }
        sm_json_decoder_free(d);
    }
    sm_arena_destroy(scratch);
    return rc;
}

/* ---- entry points ------------------------------------------------------------------------- */

/* NUL is only allowed in defaults (Avro bytes are strings of chars U+0000..U+00FF); anywhere
 * else it would cut names short. Returns false with c->path at the bad string. */
static bool no_nul_outside_defaults(ctx *c, json_t *j)
{
    if (json_is_string(j)) {
        if (strlen(json_string_value(j)) != json_string_length(j)) {
            bad(c, "a string with a NUL character (\\u0000) outside a default");
            return false;
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            size_t saved = path_push(c, "[%zu]", i);
            if (!no_nul_outside_defaults(c, json_array_get(j, i))) {
                return false;
            }
            path_pop(c, saved);
        }
    } else if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            if (strcmp(key, "default") == 0) {
                continue;
            }
            size_t saved = path_push(c, ".%s", key);
            if (!no_nul_outside_defaults(c, v)) {
                return false;
            }
            path_pop(c, saved);
        }
    }
    return true;
}

int sm_avsc_parse(const char *text, size_t len, const char *origin, sm_arena *arena, sm_avsc **out,
                  sm_error *err)
{
    ctx c = {.arena = arena, .origin = origin ? origin : "schema", .err = err};
    json_error_t jerr;
    json_t *root;
    sm_field *f = NULL;
    sm_avsc *s;
    int rc = SM_OK;

    *out = NULL;
    strcpy(c.path, "$");
    c.path_len = 1;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        return sm_error_set(err, SM_ERR_USAGE, "%s:%d:%d: not valid JSON: %s", c.origin, jerr.line,
                            jerr.column, jerr.text);
    }
    if (!no_nul_outside_defaults(&c, root)) {
        rc = SM_ERR_USAGE;
        goto done;
    }
    strcpy(c.path, "$");
    c.path_len = 1;
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "type")) ||
        (strcmp(json_string_value(json_object_get(root, "type")), "record") != 0 &&
         strcmp(json_string_value(json_object_get(root, "type")), "error") != 0)) {
        rc = bad(&c, "the top-level schema must be a record (a table's row)");
        goto done;
    }
    if (!(f = build(&c, root, NULL, NULL, false))) {
        rc = err ? err->code : SM_ERR_USAGE;
        if (rc == SM_OK) {
            rc = SM_ERR_USAGE;
        }
        goto done;
    }
    if (!(s = sm_arena_calloc(arena, sizeof *s)) ||
        !(s->infos = sm_arena_alloc(arena, sizeof *s->infos * (size_t)(c.n_infos + 1))) ||
        !(s->origin = sm_arena_strdup(arena, c.origin))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory", c.origin);
        goto done;
    }
    /* the root field is named after the record (short name) */
    {
        const char *full = c.names[0].fullname, *dot = strrchr(full, '.');
        f->name = dot ? dot + 1 : full;
        s->name = full;
    }
    s->root = f;
    s->n_infos = c.n_infos;
    if (c.n_infos) {
        memcpy(s->infos, c.infos, sizeof *s->infos * (size_t)c.n_infos);
    }
    if ((rc = check_defaults(&c, s)) != SM_OK) {
        goto done;
    }
    *out = s;
done:
    json_decref(root);
    free(c.names);
    free(c.infos);
    return rc;
}

int sm_avsc_load(const char *path, sm_arena *arena, sm_avsc **out, sm_error *err)
{
    char *text;
    size_t len;
    int rc;
    *out = NULL;
    if ((rc = sm_read_file(path, AVSC_MAX_FILE, &text, &len, err)) != SM_OK) {
        sm_error_prefix(err, "schema %s", path);
        return rc;
    }
    rc = sm_avsc_parse(text, len, path, arena, out, err);
    free(text);
    return rc;
}

const sm_avsc_info *sm_avsc_info_of(const sm_avsc *s, const sm_field *f)
{
    for (int i = 0; i < s->n_infos; i++) {
        if (s->infos[i]->field == f) {
            return s->infos[i];
        }
    }
    return NULL;
}
