/*
 * Table schemas as Delta stores them (PROTOCOL.md "Schema Serialization Format": Spark's
 * StructType JSON in metaData.schemaString) to and from sm_field trees (storage/column.h).
 *
 * sm_type -> Delta type, as docs/delta.md "Type mapping" documents:
 *   BOOL boolean, INT8 byte, INT16 short, INT32 integer, INT64 long; the unsigned types take the
 *   next wider signed type that holds every value (UINT8 short, UINT16 integer, UINT32 long) and
 *   UINT64, which no Delta integer holds, decimal(20,0); FLOAT float, DOUBLE double; STRING and
 *   JSON string; BINARY and FIXED_BINARY binary; DATE date; TIMESTAMP_MS and TIMESTAMP_US
 *   timestamp; DECIMAL decimal(p,s); STRUCT struct, LIST array, MAP map. Field metadata is
 *   written as {}.
 * Delta type -> sm_type: the inverse for the signed types (timestamp and timestamp_ntz both
 *   TIMESTAMP_US, binary BINARY); field metadata is read past (kept by nobody). A type with no
 *   sm_type (variant, interval, void, a user-defined type) is SM_ERR_USAGE naming the column's
 *   path ("a.b.element: type 'variant' is not supported").
 */
#include "storage/delta_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- to JSON ----------------------------------------------------------------------------- */

static json_t *type_to_json(const sm_field *f, const char *path, sm_error *err);

static int set_new(json_t *obj, const char *key, json_t *v, sm_error *err)
{
    if (!v || json_object_set_new(obj, key, v) != 0) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return 0;
}

static int child_path(char *buf, size_t cap, const char *parent, const char *name, sm_error *err)
{
    int n = snprintf(buf, cap, "%s%s%s", parent, parent[0] ? "." : "", name);
    if (n < 0 || (size_t)n >= cap) {
        return sm_error_set(err, SM_ERR_USAGE, "column %s.%s: path too long", parent, name);
    }
    return 0;
}

static json_t *struct_to_json(const sm_field *f, const char *path, sm_error *err)
{
    json_t *obj = json_object(), *fields = json_array();
    if (!obj || !fields || json_object_set_new(obj, "type", json_string("struct")) != 0) {
        goto nomem;
    }
    for (int i = 0; i < f->n_children; i++) {
        const sm_field *c = f->children[i];
        char cpath[1024];
        json_t *jf, *jt;
        if (child_path(cpath, sizeof cpath, path, c->name ? c->name : "", err) != 0) {
            goto fail;
        }
        if (!c->name || !c->name[0]) {
            sm_error_set(err, SM_ERR_USAGE, "column %s: a struct field has no name",
                         path[0] ? path : "(top level)");
            goto fail;
        }
        if (!(jt = type_to_json(c, cpath, err))) {
            goto fail;
        }
        if (!(jf = json_object())) {
            json_decref(jt);
            goto nomem;
        }
        if (set_new(jf, "name", json_string(c->name), err) != 0 ||
            set_new(jf, "type", jt, err) != 0 ||
            set_new(jf, "nullable", json_boolean(c->nullable), err) != 0 ||
            set_new(jf, "metadata", json_object(), err) != 0 ||
            json_array_append_new(fields, jf) != 0) {
            json_decref(jf);
            goto nomem;
        }
    }
    if (json_object_set_new(obj, "fields", fields) != 0) {
        fields = NULL;
        goto nomem;
    }
    return obj;
nomem:
    sm_error_set(err, SM_ERR_NOMEM, "out of memory");
fail:
    json_decref(obj);
    json_decref(fields);
    return NULL;
}

static json_t *type_to_json(const sm_field *f, const char *path, sm_error *err)
{
    char name[32];
    const char *prim = NULL;

    switch (f->type) {
    case SM_BOOL:
        prim = "boolean";
        break;
    case SM_INT8:
        prim = "byte";
        break;
    case SM_INT16:
    case SM_UINT8:
        prim = "short";
        break;
    case SM_INT32:
    case SM_UINT16:
        prim = "integer";
        break;
    case SM_INT64:
    case SM_UINT32:
        prim = "long";
        break;
    case SM_UINT64:
        prim = "decimal(20,0)";
        break;
    case SM_FLOAT:
        prim = "float";
        break;
    case SM_DOUBLE:
        prim = "double";
        break;
    case SM_STRING:
    case SM_JSON:
        prim = "string";
        break;
    case SM_BINARY:
    case SM_FIXED_BINARY:
        prim = "binary";
        break;
    case SM_DATE:
        prim = "date";
        break;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        prim = "timestamp";
        break;
    case SM_DECIMAL:
        if (f->precision < 1 || f->precision > 38 || f->scale < 0 || f->scale > f->precision) {
            sm_error_set(err, SM_ERR_USAGE, "column %s: decimal(%d,%d) is not a Delta decimal",
                         path, (int)f->precision, (int)f->scale);
            return NULL;
        }
        snprintf(name, sizeof name, "decimal(%d,%d)", (int)f->precision, (int)f->scale);
        prim = name;
        break;
    case SM_STRUCT:
        return struct_to_json(f, path, err);
    case SM_LIST: {
        char cpath[1024];
        json_t *obj, *et;
        if (f->n_children != 1) {
            sm_error_set(err, SM_ERR_USAGE, "column %s: a list needs one element field", path);
            return NULL;
        }
        if (child_path(cpath, sizeof cpath, path, "element", err) != 0 ||
            !(et = type_to_json(f->children[0], cpath, err))) {
            return NULL;
        }
        if (!(obj = json_object())) {
            json_decref(et);
            sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            return NULL;
        }
        if (set_new(obj, "type", json_string("array"), err) != 0 ||
            set_new(obj, "elementType", et, err) != 0 ||
            set_new(obj, "containsNull", json_boolean(f->children[0]->nullable), err) != 0) {
            json_decref(obj);
            return NULL;
        }
        return obj;
    }
    case SM_MAP: {
        char kpath[1024], vpath[1024];
        const sm_field *e = f->n_children == 1 ? f->children[0] : NULL;
        json_t *obj, *kt, *vt;
        if (!e || e->type != SM_STRUCT || e->n_children != 2) {
            sm_error_set(err, SM_ERR_USAGE,
                         "column %s: a map needs one entries struct of key and value", path);
            return NULL;
        }
        if (child_path(kpath, sizeof kpath, path, "key", err) != 0 ||
            child_path(vpath, sizeof vpath, path, "value", err) != 0 ||
            !(kt = type_to_json(e->children[0], kpath, err))) {
            return NULL;
        }
        if (!(vt = type_to_json(e->children[1], vpath, err))) {
            json_decref(kt);
            return NULL;
        }
        if (!(obj = json_object())) {
            json_decref(kt);
            json_decref(vt);
            sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            return NULL;
        }
        if (set_new(obj, "type", json_string("map"), err) != 0 ||
            set_new(obj, "keyType", kt, err) != 0 || set_new(obj, "valueType", vt, err) != 0 ||
            set_new(obj, "valueContainsNull", json_boolean(e->children[1]->nullable), err) != 0) {
            json_decref(obj);
            return NULL;
        }
        return obj;
    }
    default:
        sm_error_set(err, SM_ERR_USAGE, "column %s: type %s has no Delta type", path,
                     sm_type_name(f->type));
        return NULL;
    }
    json_t *s = json_string(prim);
    if (!s) {
        sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return s;
}

int delta_schema_to_json(const sm_field *schema, sm_buf *out, sm_error *err)
{
    json_t *root;
    char *text;
    size_t n;
    int rc = 0;
    sm_error e;

    sm_buf_reset(out);
    if (!schema || schema->type != SM_STRUCT) {
        return sm_error_set(err, SM_ERR_USAGE, "a table schema must be a struct of columns");
    }
    if (!(root = struct_to_json(schema, "", &e))) {
        if (err) {
            *err = e;
        }
        return e.code;
    }
    if (!(text = json_dumps(root, JSON_COMPACT))) {
        json_decref(root);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    n = strlen(text);
    if (sm_buf_append(out, text, n + 1, err) != 0) {
        rc = SM_ERR_NOMEM;
    } else {
        out->len = n; /* NUL-terminated, the NUL not counted */
    }
    free(text);
    json_decref(root);
    return rc;
}

/* ---- from JSON --------------------------------------------------------------------------- */

static int type_from_json(const json_t *t, const char *name, bool nullable, const char *path,
                          sm_arena *a, sm_field **out, sm_error *err);

static int nomem(sm_error *err)
{
    return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
}

/* "decimal", "decimal(p,s)", "decimal(p, s)" */
static bool parse_decimal(const char *s, int *p, int *sc)
{
    int n = 0;
    if (strcmp(s, "decimal") == 0) {
        *p = 10; /* Spark's DecimalType.USER_DEFAULT */
        *sc = 0;
        return true;
    }
    if (sscanf(s, "decimal(%d ,%d )%n", p, sc, &n) == 2 && n > 0 && s[n] == '\0') {
        return true;
    }
    return false;
}

static int struct_from_json(const json_t *t, const char *name, bool nullable, const char *path,
                            sm_arena *a, sm_field **out, sm_error *err)
{
    const json_t *fields = json_object_get(t, "fields");
    size_t n;
    sm_field **children;

    if (!json_is_array(fields)) {
        return sm_error_set(err, SM_ERR_CORRUPT, "column %s: struct without a 'fields' array",
                            path[0] ? path : "(top level)");
    }
    n = json_array_size(fields);
    if (n > 100000 || !(children = sm_arena_alloc(a, sizeof(sm_field *) * (n ? n : 1)))) {
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *jf = json_array_get(fields, i), *jn, *jnull;
        char cpath[1024];
        int rc;
        if (!json_is_object(jf) || !json_is_string(jn = json_object_get(jf, "name")) ||
            !json_object_get(jf, "type")) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "column %s: field %zu is not an object with a name and a type",
                                path[0] ? path : "(top level)", i);
        }
        if ((rc = child_path(cpath, sizeof cpath, path, json_string_value(jn), err)) != 0) {
            return rc;
        }
        jnull = json_object_get(jf, "nullable");
        if ((rc = type_from_json(json_object_get(jf, "type"), json_string_value(jn),
                                 !jnull || !json_is_false(jnull), cpath, a, &children[i], err)) !=
            0) {
            return rc;
        }
    }
    if (!(*out = sm_field_struct(a, name, children, (int)n, nullable))) {
        return nomem(err);
    }
    return 0;
}

static int type_from_json(const json_t *t, const char *name, bool nullable, const char *path,
                          sm_arena *a, sm_field **out, sm_error *err)
{
    static const struct {
        const char *name;
        sm_type type;
    } prims[] = {
        {"boolean", SM_BOOL},
        {"byte", SM_INT8},
        {"short", SM_INT16},
        {"integer", SM_INT32},
        {"long", SM_INT64},
        {"float", SM_FLOAT},
        {"double", SM_DOUBLE},
        {"string", SM_STRING},
        {"binary", SM_BINARY},
        {"date", SM_DATE},
        {"timestamp", SM_TIMESTAMP_US},
        {"timestamp_ntz", SM_TIMESTAMP_US},
    };
    const char *kind;

    *out = NULL;
    if (json_is_string(t)) {
        const char *s = json_string_value(t);
        int p, sc;
        for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
            if (strcmp(s, prims[i].name) == 0) {
                return (*out = sm_field_new(a, name, prims[i].type, nullable)) ? 0 : nomem(err);
            }
        }
        if (strncmp(s, "decimal", 7) == 0 && parse_decimal(s, &p, &sc)) {
            if (p < 1 || p > 38 || sc < 0 || sc > p) {
                return sm_error_set(err, SM_ERR_USAGE, "column %s: type '%s' is not supported",
                                    path, s);
            }
            return (*out = sm_field_decimal(a, name, p, sc, nullable)) ? 0 : nomem(err);
        }
        return sm_error_set(err, SM_ERR_USAGE,
                            "column %s: type '%s' is not supported (smelter has no type for it)",
                            path, s);
    }
    if (!json_is_object(t) || !json_is_string(json_object_get(t, "type"))) {
        return sm_error_set(err, SM_ERR_CORRUPT,
                            "column %s: a type is neither a name nor an "
                            "object with a 'type'",
                            path);
    }
    kind = json_string_value(json_object_get(t, "type"));
    if (strcmp(kind, "struct") == 0) {
        return struct_from_json(t, name, nullable, path, a, out, err);
    }
    if (strcmp(kind, "array") == 0) {
        const json_t *cn = json_object_get(t, "containsNull");
        char cpath[1024];
        sm_field *elem;
        int rc;
        if (!json_object_get(t, "elementType")) {
            return sm_error_set(err, SM_ERR_CORRUPT, "column %s: array without elementType", path);
        }
        if ((rc = child_path(cpath, sizeof cpath, path, "element", err)) != 0 ||
            (rc = type_from_json(json_object_get(t, "elementType"), "element",
                                 !cn || !json_is_false(cn), cpath, a, &elem, err)) != 0) {
            return rc;
        }
        return (*out = sm_field_list(a, name, elem, nullable)) ? 0 : nomem(err);
    }
    if (strcmp(kind, "map") == 0) {
        const json_t *vcn = json_object_get(t, "valueContainsNull");
        char kpath[1024], vpath[1024];
        sm_field *k, *v;
        int rc;
        if (!json_object_get(t, "keyType") || !json_object_get(t, "valueType")) {
            return sm_error_set(err, SM_ERR_CORRUPT, "column %s: map without keyType or valueType",
                                path);
        }
        if ((rc = child_path(kpath, sizeof kpath, path, "key", err)) != 0 ||
            (rc = child_path(vpath, sizeof vpath, path, "value", err)) != 0 ||
            (rc = type_from_json(json_object_get(t, "keyType"), "key", false, kpath, a, &k, err)) !=
                0 ||
            (rc = type_from_json(json_object_get(t, "valueType"), "value",
                                 !vcn || !json_is_false(vcn), vpath, a, &v, err)) != 0) {
            return rc;
        }
        return (*out = sm_field_map(a, name, k, v, nullable)) ? 0 : nomem(err);
    }
    return sm_error_set(err, SM_ERR_USAGE,
                        "column %s: type '%s' is not supported (smelter has no type for it)", path,
                        kind);
}

int delta_schema_from_json(const char *schema_string, sm_arena *arena, sm_field **out,
                           sm_error *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    *out = NULL;
    if (!schema_string) {
        return sm_error_set(err, SM_ERR_CORRUPT, "the table has no schema (no schemaString)");
    }
    if (!(root = json_loads(schema_string, 0, &jerr))) {
        return sm_error_set(err, SM_ERR_CORRUPT, "schemaString: not JSON: %s", jerr.text);
    }
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "type")) ||
        strcmp(json_string_value(json_object_get(root, "type")), "struct") != 0) {
        json_decref(root);
        return sm_error_set(err, SM_ERR_CORRUPT, "schemaString: not a struct type");
    }
    rc = struct_from_json(root, "", false, "", arena, out, err);
    json_decref(root);
    return rc;
}
