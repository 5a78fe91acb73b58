/*
 * ingest/proto_decode.c — descriptor sets, compiled decode plans, the wire format, Confluent
 * framing. See proto_decode.h and docs/protobuf.md.
 *
 * A message is decoded in two steps over its bytes, both bounds-checked: a scan that checks the
 * wire structure (tags, wire types, lengths, groups) and remembers, per known field, where its
 * last occurrence starts (last one wins) and how many there were — for singular message fields,
 * the list of all their occurrences (spans in a pool reused per message), decoded later as one
 * merged message; then the fields are appended to their columns in schema order, repeated
 * fields by walking the message's spans again for their number. Nested messages recurse with
 * their own plan node: a message cannot contain itself (refused at compile time), so each plan
 * node's scratch is used by one message at a time.
 */
#include "ingest/proto_decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/durable.h"
#include "ingest/json_decode.h"

/* ---- wire primitives ---------------------------------------------------------------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* 0 ok, -1 truncated, -2 longer than 10 bytes. */
static int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) {
            return -1;
        }
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *pp = p;
            *v = x;
            return 0;
        }
    }
    return -2;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            *bad = i;
            return false;
        }
        if (n - i <= k) {
            *bad = i;
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                *bad = i;
                return false;
            }
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *bad = i;
            return false;
        }
        i += k + 1;
    }
    return true;
}

/* ---- descriptor set ----------------------------------------------------------------------- */

typedef struct pd_field {
    const char *name;
    int32_t number;
    int32_t label; /* 1 optional, 2 required, 3 repeated */
    int32_t type;  /* FieldDescriptorProto.Type: 1 double ... 18 sint64 */
    const char *type_name;
    int32_t oneof_index; /* -1: none */
    bool proto3_optional;
} pd_field;

typedef struct pd_msg {
    const char *full; /* ".pkg.Outer.Inner" */
    bool map_entry, proto3;
    int n_fields, n_nested;
    pd_field *fields;
    int *nested; /* indexes into schema->msgs */
} pd_msg;

typedef struct pd_enum {
    const char *full;
    int n;
    int32_t *nums;
    const char **names;
} pd_enum;

struct sm_proto_schema {
    sm_arena *arena;
    pd_msg *msgs;
    int n_msgs, cap_msgs;
    pd_enum *enums;
    int n_enums, cap_enums;
    int *last_top; /* top-level message indexes of the last file */
    int n_last_top;
};

/* One field of a message buffer. 0: ok; -1: malformed. Groups are skipped (depth-bounded). */
typedef struct wire_field {
    uint32_t number;
    int wt;
    uint64_t v;          /* VARINT, I32, I64 */
    const uint8_t *data; /* LEN */
    size_t len;
} wire_field;

static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t number, int depth);

static int next_field(const uint8_t **pp, const uint8_t *end, wire_field *f)
{
    uint64_t tag;
    if (get_varint(pp, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
        return -1;
    }
    f->number = (uint32_t)(tag >> 3);
    f->wt = (int)(tag & 7);
    switch (f->wt) {
    case WT_VARINT:
        return get_varint(pp, end, &f->v) ? -1 : 0;
    case WT_I64:
        if (end - *pp < 8) {
            return -1;
        }
        f->v = get_le64(*pp);
        *pp += 8;
        return 0;
    case WT_I32:
        if (end - *pp < 4) {
            return -1;
        }
        f->v = get_le32(*pp);
        *pp += 4;
        return 0;
    case WT_LEN:
        if (get_varint(pp, end, &f->v) || f->v > (uint64_t)(end - *pp)) {
            return -1;
        }
        f->data = *pp;
        f->len = (size_t)f->v;
        *pp += f->len;
        return 0;
    case WT_SGROUP:
        return skip_group(pp, end, f->number, 1);
    default:
        return -1;
    }
}

static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t number, int depth)
{
    if (depth > SM_PROTO_MAX_DEPTH) {
        return -1;
    }
    for (;;) {
        uint64_t tag, v;
        if (get_varint(pp, end, &tag) || (tag >> 3) == 0) {
            return -1;
        }
        switch (tag & 7) {
        case WT_VARINT:
            if (get_varint(pp, end, &v)) {
                return -1;
            }
            break;
        case WT_I64:
        case WT_I32: {
            size_t w = (tag & 7) == WT_I64 ? 8 : 4;
            if ((size_t)(end - *pp) < w) {
                return -1;
            }
            *pp += w;
            break;
        }
        case WT_LEN:
            if (get_varint(pp, end, &v) || v > (uint64_t)(end - *pp)) {
                return -1;
            }
            *pp += v;
            break;
        case WT_SGROUP:
            if (skip_group(pp, end, (uint32_t)(tag >> 3), depth + 1)) {
                return -1;
            }
            break;
        case WT_EGROUP:
            return (tag >> 3) == number ? 0 : -1;
        default:
            return -1;
        }
    }
}

static char *span_str(sm_proto_schema *s, const wire_field *f)
{
    return sm_arena_strndup(s->arena, (const char *)f->data, f->len);
}

static char *join_name(sm_proto_schema *s, const char *scope, const wire_field *f)
{
    size_t a = strlen(scope);
    char *out = sm_arena_alloc(s->arena, a + f->len + 2);
    if (out) {
        memcpy(out, scope, a);
        out[a] = '.';
        memcpy(out + a + 1, f->data, f->len);
        out[a + 1 + f->len] = 0;
    }
    return out;
}

static int parse_enum(sm_proto_schema *s, const char *scope, const uint8_t *p, const uint8_t *end)
{
    if (s->n_enums == s->cap_enums) {
        int cap = s->cap_enums ? 2 * s->cap_enums : 16;
        pd_enum *e = realloc(s->enums, (size_t)cap * sizeof *e);
        if (!e) {
            return -1;
        }
        s->enums = e, s->cap_enums = cap;
    }
    pd_enum *e = &s->enums[s->n_enums++];
    memset(e, 0, sizeof *e);
    wire_field f;
    int cap = 0;
    while (p < end) {
        if (next_field(&p, end, &f)) {
            return -1;
        }
        if (f.number == 1 && f.wt == WT_LEN) {
            if (!(e->full = join_name(s, scope, &f))) {
                return -1;
            }
        } else if (f.number == 2 && f.wt == WT_LEN) {
            const uint8_t *q = f.data, *qe = f.data + f.len;
            const char *name = "";
            int32_t num = 0;
            wire_field g;
            while (q < qe) {
                if (next_field(&q, qe, &g)) {
                    return -1;
                }
                if (g.number == 1 && g.wt == WT_LEN) {
                    if (!(name = span_str(s, &g))) {
                        return -1;
                    }
                } else if (g.number == 2 && g.wt == WT_VARINT) {
                    num = (int32_t)g.v;
                }
            }
            if (e->n == cap) {
                cap = cap ? 2 * cap : 8;
                int32_t *nums = sm_arena_alloc(s->arena, (size_t)cap * sizeof *nums);
                const char **names = sm_arena_alloc(s->arena, (size_t)cap * sizeof *names);
                if (!nums || !names) {
                    return -1;
                }
                if (e->n) {
                    memcpy(nums, e->nums, (size_t)e->n * sizeof *nums);
                    memcpy(names, e->names, (size_t)e->n * sizeof *names);
                }
                e->nums = nums, e->names = names;
            }
            e->nums[e->n] = num;
            e->names[e->n++] = name;
        }
    }
    return e->full ? 0 : -1;
}

static int parse_field(sm_proto_schema *s, const uint8_t *p, const uint8_t *end, pd_field *out)
{
    wire_field f;
    memset(out, 0, sizeof *out);
    out->oneof_index = -1;
    out->label = 1;
    while (p < end) {
        if (next_field(&p, end, &f)) {
            return -1;
        }
        if (f.wt == WT_LEN && (f.number == 1 || f.number == 6)) {
            char *str = span_str(s, &f);
            if (!str) {
                return -1;
            }
            *(f.number == 1 ? &out->name : &out->type_name) = str;
        } else if (f.wt == WT_VARINT) {
            switch (f.number) {
            case 3:
                out->number = (int32_t)f.v;
                break;
            case 4:
                out->label = (int32_t)f.v;
                break;
            case 5:
                out->type = (int32_t)f.v;
                break;
            case 9:
                out->oneof_index = (int32_t)f.v;
                break;
            case 17:
                out->proto3_optional = f.v != 0;
                break;
            default:
                break;
            }
        }
    }
    return out->name && out->number > 0 ? 0 : -1;
}

/* Parses a DescriptorProto; returns its index in s->msgs or -1. */
static int parse_msg(sm_proto_schema *s, const char *scope, bool proto3, const uint8_t *p,
                     const uint8_t *end, int depth)
{
    if (depth > SM_PROTO_MAX_DEPTH) {
        return -1;
    }
    if (s->n_msgs == s->cap_msgs) {
        int cap = s->cap_msgs ? 2 * s->cap_msgs : 16;
        pd_msg *m = realloc(s->msgs, (size_t)cap * sizeof *m);
        if (!m) {
            return -1;
        }
        s->msgs = m, s->cap_msgs = cap;
    }
    int self = s->n_msgs++;
    memset(&s->msgs[self], 0, sizeof s->msgs[self]);
    s->msgs[self].proto3 = proto3;
    const uint8_t *start = p;
    wire_field f;
    /* first the name, then the rest (nested types need the full name as their scope) */
    while (p < end) {
        if (next_field(&p, end, &f)) {
            return -1;
        }
        if (f.number == 1 && f.wt == WT_LEN) {
            if (!(s->msgs[self].full = join_name(s, scope, &f))) {
                return -1;
            }
        }
        if (f.number == 2 && f.wt == WT_LEN) {
            s->msgs[self].n_fields++;
        }
        if (f.number == 3 && f.wt == WT_LEN) {
            s->msgs[self].n_nested++;
        }
    }
    const char *full = s->msgs[self].full;
    if (!full) {
        return -1;
    }
    pd_field *fields =
        sm_arena_calloc(s->arena, (size_t)s->msgs[self].n_fields * sizeof *fields + 1);
    int *nested = sm_arena_calloc(s->arena, (size_t)s->msgs[self].n_nested * sizeof *nested + 1);
    if (!fields || !nested) {
        return -1;
    }
    int nf = 0, nn = 0;
    bool map_entry = false;
    for (p = start; p < end;) {
        if (next_field(&p, end, &f)) {
            return -1;
        }
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.number == 2) {
            if (parse_field(s, f.data, f.data + f.len, &fields[nf++])) {
                return -1;
            }
        } else if (f.number == 3) {
            int k = parse_msg(s, full, proto3, f.data, f.data + f.len, depth + 1);
            if (k < 0) {
                return -1;
            }
            nested[nn++] = k;
        } else if (f.number == 4) {
            if (parse_enum(s, full, f.data, f.data + f.len)) {
                return -1;
            }
        } else if (f.number == 7) { /* MessageOptions: map_entry = 7 */
            const uint8_t *q = f.data, *qe = f.data + f.len;
            wire_field g;
            while (q < qe) {
                if (next_field(&q, qe, &g)) {
                    return -1;
                }
                if (g.number == 7 && g.wt == WT_VARINT) {
                    map_entry = g.v != 0;
                }
            }
        }
    }
    pd_msg *m = &s->msgs[self]; /* s->msgs may have moved */
    m->fields = fields, m->nested = nested, m->map_entry = map_entry;
    return self;
}

static int parse_file(sm_proto_schema *s, const uint8_t *p, const uint8_t *end)
{
    wire_field f;
    const char *pkg = "";
    bool proto3 = false;
    int n_top = 0;
    for (const uint8_t *q = p; q < end;) {
        if (next_field(&q, end, &f)) {
            return -1;
        }
        if (f.number == 2 && f.wt == WT_LEN) {
            char *dot = sm_arena_alloc(s->arena, f.len + 2);
            if (!dot) {
                return -1;
            }
            dot[0] = '.';
            memcpy(dot + 1, f.data, f.len);
            dot[f.len + 1] = 0;
            pkg = dot;
        } else if (f.number == 12 && f.wt == WT_LEN) {
            proto3 = f.len == 6 && !memcmp(f.data, "proto3", 6);
        } else if (f.number == 4 && f.wt == WT_LEN) {
            n_top++;
        }
    }
    int *top = sm_arena_calloc(s->arena, (size_t)n_top * sizeof *top + 1);
    if (!top) {
        return -1;
    }
    int k = 0;
    for (const uint8_t *q = p; q < end;) {
        if (next_field(&q, end, &f)) {
            return -1;
        }
        if (f.number == 4 && f.wt == WT_LEN) {
            if ((top[k++] = parse_msg(s, pkg, proto3, f.data, f.data + f.len, 1)) < 0) {
                return -1;
            }
        } else if (f.number == 5 && f.wt == WT_LEN) {
            if (parse_enum(s, pkg, f.data, f.data + f.len)) {
                return -1;
            }
        }
    }
    s->last_top = top, s->n_last_top = n_top;
    return 0;
}

void sm_proto_schema_free(sm_proto_schema *s)
{
    if (s) {
        free(s->msgs);
        free(s->enums);
        sm_arena_destroy(s->arena);
        free(s);
    }
}

int sm_proto_schema_load(const uint8_t *desc, size_t len, sm_proto_schema **out, sm_error *err)
{
    sm_proto_schema *s = calloc(1, sizeof *s);
    if (!s || !(s->arena = sm_arena_create(64 * 1024, 0))) {
        free(s);
        return sm_error_set(err, SM_ERR_NOMEM, "protobuf descriptor set: out of memory");
    }
    const uint8_t *p = desc, *end = desc + len;
    wire_field f;
    int files = 0;
    while (p < end) {
        if (next_field(&p, end, &f)) {
            goto bad;
        }
        if (f.number == 1 && f.wt == WT_LEN) {
            if (parse_file(s, f.data, f.data + f.len)) {
                goto bad;
            }
            files++;
        }
    }
    if (!files) {
        goto bad;
    }
    *out = s;
    return SM_OK;
bad:
    sm_proto_schema_free(s);
    return sm_error_set(err, SM_ERR_CORRUPT,
                        "protobuf descriptor set does not parse as a FileDescriptorSet (%zu "
                        "bytes); make it with protoc --include_imports --descriptor_set_out",
                        len);
}

int sm_proto_schema_load_file(const char *path, sm_proto_schema **out, sm_error *err)
{
    char *data;
    size_t len;
    sm_error local = {0};
    if (!err) {
        err = &local;
    }
    if (sm_read_file(path, 64u << 20, &data, &len, err)) {
        return err->code;
    }
    int rc = sm_proto_schema_load((const uint8_t *)data, len, out, err);
    free(data);
    if (rc) {
        sm_error_prefix(err, "%s", path);
    }
    return rc;
}

static const pd_msg *find_msg(const sm_proto_schema *s, const char *name)
{
    for (int i = 0; i < s->n_msgs; i++) {
        if (!strcmp(s->msgs[i].full, name) ||
            (name[0] != '.' && !strcmp(s->msgs[i].full + 1, name))) {
            return &s->msgs[i];
        }
    }
    return NULL;
}

static const pd_enum *find_enum(const sm_proto_schema *s, const char *name)
{
    for (int i = 0; i < s->n_enums; i++) {
        if (!strcmp(s->enums[i].full, name)) {
            return &s->enums[i];
        }
    }
    return NULL;
}

const char *sm_proto_schema_message_at(const sm_proto_schema *s, const int32_t *indexes, int n)
{
    int32_t zero = 0;
    if (n <= 0) {
        indexes = &zero, n = 1;
    }
    if (indexes[0] < 0 || indexes[0] >= s->n_last_top) {
        return NULL;
    }
    const pd_msg *m = &s->msgs[s->last_top[indexes[0]]];
    for (int i = 1; i < n; i++) {
        if (indexes[i] < 0 || indexes[i] >= m->n_nested) {
            return NULL;
        }
        m = &s->msgs[m->nested[indexes[i]]];
    }
    return m->full + 1;
}

/* ---- compiled plan ------------------------------------------------------------------------ */

typedef enum pkind { K_SCALAR, K_ENUM, K_MSG, K_TS, K_WRAP, K_MAP } pkind;

typedef struct pmsg pmsg;

typedef struct pfield {
    const char *name;
    uint32_t number;
    int32_t ptype; /* scalar type (for K_WRAP: the wrapped value's type) */
    pkind kind;
    bool repeated, nullable, required;
    int32_t oneof; /* oneof index in the message, -1: none */
    const pd_enum *en;
    pmsg *sub; /* K_MSG, K_MAP (the entry) */
} pfield;

struct pmsg {
    int n;
    pfield *f;
    int *by_number; /* field indexes sorted by number */
    /* scratch of the message being decoded */
    const uint8_t **last;     /* scalars: where the last occurrence's value starts */
    const uint8_t **last_end; /* ... and the end of the message bytes holding it */
    int *head, *tail;         /* singular messages: their occurrences, a list in d->pool */
    uint32_t *count;
};

/* A run of message bytes; the occurrences of one singular message field form a list (merged:
 * decoding the list is decoding the concatenation, the protobuf rule). */
typedef struct span {
    const uint8_t *p, *end;
    int next; /* index in the pool, -1: last */
} span;

struct sm_proto_decoder {
    sm_arena *arena;
    pmsg *root;
    sm_field *schema;
    /* per decode */
    const uint8_t *base;
    sm_arena *out;
    sm_proto_error *why;
    char numbuf[24];
    span *pool; /* grows once, reused; reset per message */
    int n_pool, cap_pool;
};

static int wire_type_of(int32_t ptype)
{
    switch (ptype) {
    case 1:
    case 6:
    case 16:
        return WT_I64;
    case 2:
    case 7:
    case 15:
        return WT_I32;
    case 9:
    case 11:
    case 12:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

static sm_type sm_type_of(int32_t ptype)
{
    static const sm_type map[19] = {
        [1] = SM_DOUBLE, [2] = SM_FLOAT,   [3] = SM_INT64,   [4] = SM_UINT64,
        [5] = SM_INT32,  [6] = SM_UINT64,  [7] = SM_UINT32,  [8] = SM_BOOL,
        [9] = SM_STRING, [12] = SM_BINARY, [13] = SM_UINT32, [14] = SM_STRING,
        [15] = SM_INT32, [16] = SM_INT64,  [17] = SM_INT32,  [18] = SM_INT64,
    };
    return map[ptype];
}

static int wrapper_type(const char *tn)
{
    static const struct {
        const char *name;
        int32_t ptype;
    } w[] = {
        {".google.protobuf.DoubleValue", 1},  {".google.protobuf.FloatValue", 2},
        {".google.protobuf.Int64Value", 3},   {".google.protobuf.UInt64Value", 4},
        {".google.protobuf.Int32Value", 5},   {".google.protobuf.BoolValue", 8},
        {".google.protobuf.StringValue", 9},  {".google.protobuf.BytesValue", 12},
        {".google.protobuf.UInt32Value", 13},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        if (!strcmp(tn, w[i].name)) {
            return w[i].ptype;
        }
    }
    return 0;
}

typedef struct compile_ctx {
    sm_proto_decoder *d;
    const sm_proto_schema *s;
    const pd_msg *stack[SM_PROTO_MAX_DEPTH + 1];
    int depth;
    sm_error *err;
} compile_ctx;

static int compile_msg(compile_ctx *cx, const pd_msg *m, const char *name, bool nullable,
                       pmsg **out_plan, sm_field **out_field);

static int nomem(compile_ctx *cx)
{
    return sm_error_set(cx->err, SM_ERR_NOMEM, "protobuf decoder: out of memory");
}

/* The column field of one value of pf (the element for repeated fields). */
static int compile_value(compile_ctx *cx, const pd_msg *owner, const pd_field *fd, pfield *pf,
                         bool nullable, sm_field **out)
{
    sm_arena *a = cx->d->arena;
    if (fd->type == 10) {
        return sm_error_set(cx->err, SM_ERR_USAGE,
                            "protobuf field '%s.%s': groups are not supported; use a message",
                            owner->full + 1, fd->name);
    }
    if (fd->type < 1 || fd->type > 18) {
        return sm_error_set(cx->err, SM_ERR_USAGE, "protobuf field '%s.%s': unknown type %d",
                            owner->full + 1, fd->name, fd->type);
    }
    pf->ptype = fd->type;
    if (fd->type == 14) {
        pf->kind = K_ENUM;
        if (!fd->type_name || !(pf->en = find_enum(cx->s, fd->type_name))) {
            return sm_error_set(cx->err, SM_ERR_USAGE,
                                "protobuf field '%s.%s': enum type '%s' is not in the descriptor "
                                "set (make it with protoc --include_imports)",
                                owner->full + 1, fd->name, fd->type_name ? fd->type_name : "?");
        }
    } else if (fd->type == 11) {
        const char *tn = fd->type_name ? fd->type_name : "";
        int wt = wrapper_type(tn);
        if (!strcmp(tn, ".google.protobuf.Timestamp")) {
            pf->kind = K_TS;
            return (*out = sm_field_new(a, fd->name, SM_TIMESTAMP_US, nullable)) ? 0 : nomem(cx);
        }
        if (wt) {
            pf->kind = K_WRAP;
            pf->ptype = wt;
            return (*out = sm_field_new(a, fd->name, sm_type_of(wt), nullable)) ? 0 : nomem(cx);
        }
        const pd_msg *sub = find_msg(cx->s, tn);
        if (!sub) {
            return sm_error_set(cx->err, SM_ERR_USAGE,
                                "protobuf field '%s.%s': message type '%s' is not in the "
                                "descriptor set (make it with protoc --include_imports)",
                                owner->full + 1, fd->name, tn);
        }
        pf->kind = K_MSG;
        return compile_msg(cx, sub, fd->name, nullable, &pf->sub, out);
    } else {
        pf->kind = K_SCALAR;
    }
    return (*out = sm_field_new(a, fd->name, sm_type_of(fd->type), nullable)) ? 0 : nomem(cx);
}

static void sort_by_number(pmsg *pm)
{
    /* insertion sort: messages have few fields */
    for (int i = 0; i < pm->n; i++) {
        pm->by_number[i] = i;
    }
    for (int i = 1; i < pm->n; i++) {
        int k = pm->by_number[i], j = i - 1;
        while (j >= 0 && pm->f[pm->by_number[j]].number > pm->f[k].number) {
            pm->by_number[j + 1] = pm->by_number[j];
            j--;
        }
        pm->by_number[j + 1] = k;
    }
}

static int compile_msg(compile_ctx *cx, const pd_msg *m, const char *name, bool nullable,
                       pmsg **out_plan, sm_field **out_field)
{
    sm_arena *a = cx->d->arena;
    for (int i = 0; i < cx->depth; i++) {
        if (cx->stack[i] == m) {
            return sm_error_set(cx->err, SM_ERR_USAGE,
                                "protobuf message '%s' is recursive (it contains itself through "
                                "field '%s'); recursive messages cannot be columns",
                                m->full + 1, name);
        }
    }
    if (cx->depth >= SM_PROTO_MAX_DEPTH) {
        return sm_error_set(cx->err, SM_ERR_USAGE,
                            "protobuf message '%s': nested deeper than %d levels", m->full + 1,
                            SM_PROTO_MAX_DEPTH);
    }
    cx->stack[cx->depth++] = m;
    pmsg *pm = sm_arena_calloc(a, sizeof *pm);
    sm_field **children = sm_arena_calloc(a, (size_t)m->n_fields * sizeof *children + 1);
    if (!pm || !children) {
        return nomem(cx);
    }
    pm->n = m->n_fields;
    pm->f = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->f + 1);
    pm->by_number = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->by_number + 1);
    pm->last = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->last + 1);
    pm->last_end = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->last_end + 1);
    pm->head = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->head + 1);
    pm->tail = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->tail + 1);
    pm->count = sm_arena_calloc(a, (size_t)pm->n * sizeof *pm->count + 1);
    if (!pm->f || !pm->by_number || !pm->last || !pm->last_end || !pm->head || !pm->tail ||
        !pm->count) {
        return nomem(cx);
    }
    for (int i = 0; i < m->n_fields; i++) {
        const pd_field *fd = &m->fields[i];
        pfield *pf = &pm->f[i];
        pf->name = fd->name;
        pf->number = (uint32_t)fd->number;
        pf->repeated = fd->label == 3;
        pf->required = fd->label == 2;
        pf->oneof = fd->oneof_index;
        pf->nullable =
            !pf->repeated && !pf->required &&
            (fd->type == 11 || fd->oneof_index >= 0 || fd->proto3_optional || !m->proto3);
        if (m->map_entry) { /* map keys and values: implicit presence, message values null */
            pf->nullable = fd->type == 11;
        }
        for (int j = 0; j < i; j++) {
            if (pm->f[j].number == pf->number || !strcmp(pm->f[j].name, pf->name)) {
                return sm_error_set(cx->err, SM_ERR_USAGE,
                                    "protobuf message '%s': field '%s' repeats a field number or "
                                    "name",
                                    m->full + 1, fd->name);
            }
        }
        const pd_msg *entry = NULL;
        if (pf->repeated && fd->type == 11 && fd->type_name &&
            (entry = find_msg(cx->s, fd->type_name)) && entry->map_entry) {
            pmsg *ep;
            sm_field *ef;
            if (compile_msg(cx, entry, fd->name, false, &ep, &ef)) {
                return -1;
            }
            if (ep->n != 2 || ep->f[0].number != 1 || ep->f[1].number != 2 ||
                ep->f[0].kind != K_SCALAR) {
                return sm_error_set(cx->err, SM_ERR_USAGE,
                                    "protobuf field '%s.%s': malformed map entry '%s'", m->full + 1,
                                    fd->name, entry->full + 1);
            }
            pf->kind = K_MAP;
            pf->sub = ep;
            if (!(children[i] =
                      sm_field_map(a, fd->name, ef->children[0], ef->children[1], false))) {
                return nomem(cx);
            }
            /* sm_field_map names its entries struct itself; the plan keeps ours */
            continue;
        }
        sm_field *vf;
        if (compile_value(cx, m, fd, pf, pf->repeated ? false : pf->nullable, &vf)) {
            return -1;
        }
        if (pf->repeated) {
            if (!(children[i] = sm_field_list(a, fd->name, vf, false))) {
                return nomem(cx);
            }
        } else {
            children[i] = vf;
        }
    }
    sort_by_number(pm);
    cx->depth--;
    *out_plan = pm;
    return (*out_field = sm_field_struct(a, name, children, m->n_fields, nullable)) ? 0 : nomem(cx);
}

void sm_proto_decoder_free(sm_proto_decoder *d)
{
    if (d) {
        sm_arena_destroy(d->arena);
        free(d->pool);
        free(d);
    }
}

int sm_proto_decoder_new(const sm_proto_schema *s, const char *full_name, sm_proto_decoder **out,
                         sm_error *err)
{
    const pd_msg *m = find_msg(s, full_name);
    if (!m) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "protobuf message '%s' is not in the descriptor set; give its full "
                            "name with the package (e.g. shop.Order)",
                            full_name);
    }
    sm_proto_decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->arena = sm_arena_create(16 * 1024, 0))) {
        free(d);
        return sm_error_set(err, SM_ERR_NOMEM, "protobuf decoder: out of memory");
    }
    sm_error local = {0};
    compile_ctx cx = {.d = d, .s = s, .err = err ? err : &local};
    if (compile_msg(&cx, m, m->full + 1, false, &d->root, &d->schema)) {
        sm_proto_decoder_free(d);
        return cx.err->code;
    }
    *out = d;
    return SM_OK;
}

const sm_field *sm_proto_decoder_schema(const sm_proto_decoder *d)
{
    return d->schema;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static const char *reason_names[SM_PROTO_REASON_COUNT] = {
    "ok",
    "truncated",
    "bad_varint",
    "bad_length",
    "bad_wire_type",
    "wrong_wire_type",
    "invalid_utf8",
    "too_deep",
    "out_of_range",
    "missing_field",
    "no_memory",
    "bad_magic",
    "unknown_schema",
    "bad_message_index",
};

const char *sm_proto_reason_name(sm_proto_reason r)
{
    return (unsigned)r < SM_PROTO_REASON_COUNT ? reason_names[r] : "unknown";
}

__attribute__((format(printf, 4, 5))) static int fail(sm_proto_decoder *d, sm_proto_reason r,
                                                      const uint8_t *at, const char *fmt, ...)
{
    if (d->why) {
        va_list ap;
        d->why->reason = r;
        d->why->offset = (size_t)(at - d->base);
        va_start(ap, fmt);
        int n = vsnprintf(d->why->msg, sizeof d->why->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof d->why->msg) {
            snprintf(d->why->msg + n, sizeof d->why->msg - (size_t)n, " at byte %zu",
                     d->why->offset);
        }
    }
    return -1;
}

static int oom(sm_proto_decoder *d, const uint8_t *at)
{
    return fail(d, SM_PROTO_NOMEM, at, "the batch arena is full");
}

static int varint_fail(sm_proto_decoder *d, int rc, const uint8_t *at, const char *what)
{
    return rc == -2 ? fail(d, SM_PROTO_BAD_VARINT, at, "%s: varint longer than 10 bytes", what)
                    : fail(d, SM_PROTO_TRUNCATED, at, "%s: truncated varint", what);
}

/* Skips one value of wire type wt at *pp (the tag already read). */
static int skip_value(sm_proto_decoder *d, const uint8_t **pp, const uint8_t *end, int wt,
                      uint32_t number, const uint8_t *tag_at, int depth)
{
    uint64_t v;
    int rc;
    switch (wt) {
    case WT_VARINT:
        if ((rc = get_varint(pp, end, &v))) {
            return varint_fail(d, rc, *pp, "field value");
        }
        return 0;
    case WT_I64:
    case WT_I32: {
        size_t w = wt == WT_I64 ? 8 : 4;
        if ((size_t)(end - *pp) < w) {
            return fail(d, SM_PROTO_TRUNCATED, *pp, "field %" PRIu32 ": %zu-byte value truncated",
                        number, w);
        }
        *pp += w;
        return 0;
    }
    case WT_LEN: {
        const uint8_t *at = *pp;
        if ((rc = get_varint(pp, end, &v))) {
            return varint_fail(d, rc, at, "length");
        }
        if (v > (uint64_t)(end - *pp)) {
            return fail(d, SM_PROTO_BAD_LENGTH, at,
                        "field %" PRIu32 ": length %" PRIu64 " but only %zu bytes left", number, v,
                        (size_t)(end - *pp));
        }
        *pp += v;
        return 0;
    }
    case WT_SGROUP:
        if (depth + 1 > SM_PROTO_MAX_DEPTH) {
            return fail(d, SM_PROTO_DEPTH, tag_at, "groups nested deeper than %d",
                        SM_PROTO_MAX_DEPTH);
        }
        for (;;) {
            const uint8_t *t = *pp;
            uint64_t tag;
            if ((rc = get_varint(pp, end, &tag))) {
                return rc == -2
                           ? varint_fail(d, rc, t, "tag")
                           : fail(d, SM_PROTO_TRUNCATED, t, "group %" PRIu32 " has no end", number);
            }
            if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff || (tag & 7) > 5) {
                return fail(d, SM_PROTO_BAD_WIRE_TYPE, t, "bad tag %" PRIu64, tag);
            }
            if ((tag & 7) == WT_EGROUP) {
                if ((tag >> 3) != number) {
                    return fail(d, SM_PROTO_BAD_WIRE_TYPE, t,
                                "group %" PRIu32 " ended by end-group %" PRIu64, number, tag >> 3);
                }
                return 0;
            }
            if (skip_value(d, pp, end, (int)(tag & 7), (uint32_t)(tag >> 3), t, depth + 1)) {
                return -1;
            }
        }
    default:
        return fail(d, SM_PROTO_BAD_WIRE_TYPE, tag_at, "end-group without a start group");
    }
}

static int find_field(const pmsg *m, uint32_t number)
{
    int lo = 0, hi = m->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint32_t n = m->f[m->by_number[mid]].number;
        if (n == number) {
            return m->by_number[mid];
        }
        if (n < number) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return -1;
}

static bool packable(const pfield *f)
{
    return f->repeated && (f->kind == K_SCALAR || f->kind == K_ENUM) &&
           wire_type_of(f->ptype) != WT_LEN;
}

/* Scans message bytes [p, end): fills m's scratch. */
static int push_span(sm_proto_decoder *d, const uint8_t *p, const uint8_t *end)
{
    if (d->n_pool == d->cap_pool) {
        int cap = d->cap_pool ? 2 * d->cap_pool : 64;
        span *np = realloc(d->pool, (size_t)cap * sizeof *np);
        if (!np) {
            return -1;
        }
        d->pool = np, d->cap_pool = cap;
    }
    d->pool[d->n_pool] = (span){p, end, -1};
    return d->n_pool++;
}

static bool is_message_kind(const pfield *f)
{
    return f->kind == K_MSG || f->kind == K_TS || f->kind == K_WRAP;
}

static void clear_field(pmsg *m, int i)
{
    m->last[i] = NULL;
    m->head[i] = m->tail[i] = -1;
    m->count[i] = 0;
}

/* Scans message bytes [p, end) (one span of the message) into m's scratch. */
static int scan_msg(sm_proto_decoder *d, pmsg *m, const uint8_t *p, const uint8_t *end, int depth)
{
    while (p < end) {
        const uint8_t *t = p;
        uint64_t tag;
        int rc;
        if ((rc = get_varint(&p, end, &tag))) {
            return varint_fail(d, rc, t, "tag");
        }
        if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff || (tag & 7) > 5) {
            return fail(d, SM_PROTO_BAD_WIRE_TYPE, t,
                        "bad tag %" PRIu64 " (field %" PRIu64 ", wire type %d)", tag, tag >> 3,
                        (int)(tag & 7));
        }
        uint32_t number = (uint32_t)(tag >> 3);
        int wt = (int)(tag & 7);
        if (wt == WT_EGROUP) {
            return fail(d, SM_PROTO_BAD_WIRE_TYPE, t, "end-group without a start group");
        }
        int i = find_field(m, number);
        const uint8_t *value = p;
        const pfield *f = i >= 0 ? &m->f[i] : NULL;
        if (f) {
            int want = f->kind == K_SCALAR || f->kind == K_ENUM ? wire_type_of(f->ptype) : WT_LEN;
            if (wt != want && !(wt == WT_LEN && packable(f))) {
                return fail(d, SM_PROTO_WRONG_TYPE, t,
                            "field '%s' (%" PRIu32 "): wire type %d, expected %d", f->name, number,
                            wt, want);
            }
        }
        if (skip_value(d, &p, end, wt, number, t, depth)) {
            return -1;
        }
        if (!f) {
            continue;
        }
        if (f->oneof >= 0) { /* one member of a oneof at a time: the last one seen */
            for (int j = 0; j < m->n; j++) {
                if (j != i && m->f[j].oneof == f->oneof) {
                    clear_field(m, j);
                }
            }
        }
        m->count[i]++;
        if (!f->repeated && is_message_kind(f)) {
            uint64_t n = 0;
            get_varint(&value, end, &n); /* checked by skip_value */
            int k = push_span(d, value, value + n);
            if (k < 0) {
                return oom(d, t);
            }
            if (m->tail[i] >= 0) {
                d->pool[m->tail[i]].next = k;
            } else {
                m->head[i] = k;
            }
            m->tail[i] = k;
        } else {
            m->last[i] = value;
            m->last_end[i] = end;
        }
    }
    return 0;
}

static int decode_struct(sm_proto_decoder *d, pmsg *m, int list, sm_column *c, int depth);

/* The value of a scalar at *pp (wire type already checked), advanced past it. */
static int read_scalar(sm_proto_decoder *d, const pfield *f, int32_t ptype, const uint8_t **pp,
                       const uint8_t *end, uint64_t *v, const uint8_t **data, size_t *len)
{
    const uint8_t *at = *pp;
    int rc;
    switch (wire_type_of(ptype)) {
    case WT_VARINT:
        if ((rc = get_varint(pp, end, v))) {
            return varint_fail(d, rc, at, f->name);
        }
        return 0;
    case WT_I64:
        if (end - *pp < 8) {
            return fail(d, SM_PROTO_TRUNCATED, at, "field '%s': fixed64 truncated", f->name);
        }
        *v = get_le64(*pp);
        *pp += 8;
        return 0;
    case WT_I32:
        if (end - *pp < 4) {
            return fail(d, SM_PROTO_TRUNCATED, at, "field '%s': fixed32 truncated", f->name);
        }
        *v = get_le32(*pp);
        *pp += 4;
        return 0;
    default:
        if ((rc = get_varint(pp, end, v))) {
            return varint_fail(d, rc, at, f->name);
        }
        if (*v > (uint64_t)(end - *pp)) {
            return fail(d, SM_PROTO_BAD_LENGTH, at, "field '%s': length past the end", f->name);
        }
        *data = *pp;
        *len = (size_t)*v;
        *pp += *len;
        return 0;
    }
}

static int append_scalar(sm_proto_decoder *d, const pfield *f, int32_t ptype, sm_column *c,
                         uint64_t v, const uint8_t *data, size_t len, const uint8_t *at)
{
    sm_arena *a = d->out;
    int rc;
    switch (ptype) {
    case 1: {
        double x;
        memcpy(&x, &v, 8);
        rc = sm_column_append_f64(a, c, x);
        break;
    }
    case 2: {
        float x;
        uint32_t u = (uint32_t)v;
        memcpy(&x, &u, 4);
        rc = sm_column_append_f64(a, c, x);
        break;
    }
    case 4:
    case 6:
        rc = sm_column_append_fixed(a, c, &v);
        break;
    case 3:
    case 16:
        rc = sm_column_append_i64(a, c, (int64_t)v);
        break;
    case 5:
    case 15:
        rc = sm_column_append_i64(a, c, (int32_t)(uint32_t)v);
        break;
    case 7:
    case 13:
        rc = sm_column_append_i64(a, c, (int64_t)(uint32_t)v);
        break;
    case 8: {
        uint8_t b = v != 0;
        rc = sm_column_append_fixed(a, c, &b);
        break;
    }
    case 17:
        rc = sm_column_append_i64(a, c, (int32_t)unzigzag((uint32_t)v));
        break;
    case 18:
        rc = sm_column_append_i64(a, c, unzigzag(v));
        break;
    case 9: {
        size_t bad;
        if (!utf8_valid(data, len, &bad)) {
            return fail(d, SM_PROTO_UTF8, data + bad, "field '%s': invalid UTF-8", f->name);
        }
        rc = sm_column_append_bytes(a, c, data, len);
        break;
    }
    case 12:
        rc = sm_column_append_bytes(a, c, data, len);
        break;
    case 14: {
        const pd_enum *e = f->en;
        int32_t num = (int32_t)v;
        const char *name = NULL;
        for (int i = 0; i < e->n; i++) {
            if (e->nums[i] == num) {
                name = e->names[i];
                break;
            }
        }
        if (!name) {
            snprintf(d->numbuf, sizeof d->numbuf, "%" PRId32, num);
            name = d->numbuf;
        }
        rc = sm_column_append_bytes(a, c, name, strlen(name));
        break;
    }
    default:
        rc = -1;
        break;
    }
    return rc ? oom(d, at) : 0;
}

static int append_default(sm_proto_decoder *d, const pfield *f, int32_t ptype, sm_column *c,
                          const uint8_t *at)
{
    if (ptype == 14) {
        const pd_enum *e = f->en;
        const char *name = e->n ? e->names[0] : "0";
        for (int i = 0; i < e->n; i++) {
            if (e->nums[i] == 0) {
                name = e->names[i];
                break;
            }
        }
        return sm_column_append_bytes(d->out, c, name, strlen(name)) ? oom(d, at) : 0;
    }
    return append_scalar(d, f, ptype, c, 0, (const uint8_t *)"", 0, at);
}

/* Finds the last occurrence of fields 1..n (wire types want) in one span of a small message
 * (Timestamp, wrappers), checking all of it; val/val_end keep their previous values for fields
 * absent from this span (spans of one field are merged). */
static int scan_small(sm_proto_decoder *d, const pfield *f, const uint8_t *p, const uint8_t *end,
                      const int *want, int n, const uint8_t **val, const uint8_t **val_end,
                      int depth)
{
    while (p < end) {
        const uint8_t *t = p;
        uint64_t tag;
        int rc;
        if ((rc = get_varint(&p, end, &tag))) {
            return varint_fail(d, rc, t, f->name);
        }
        if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff || (tag & 7) > 5 || (tag & 7) == 4) {
            return fail(d, SM_PROTO_BAD_WIRE_TYPE, t, "field '%s': bad tag %" PRIu64, f->name, tag);
        }
        uint64_t num = tag >> 3;
        if (num >= 1 && num <= (uint64_t)n) {
            if ((int)(tag & 7) != want[num - 1]) {
                return fail(d, SM_PROTO_WRONG_TYPE, t,
                            "field '%s': inner field %" PRIu64 " has wire type %d", f->name, num,
                            (int)(tag & 7));
            }
            val[num - 1] = p;
            val_end[num - 1] = end;
        }
        if (skip_value(d, &p, end, (int)(tag & 7), (uint32_t)num, t, depth)) {
            return -1;
        }
    }
    return 0;
}

/* A message-kind value of f (K_MSG, K_MAP, K_TS, K_WRAP) from the span list `list`. */
static int append_message(sm_proto_decoder *d, const pfield *f, sm_column *c, int list,
                          const uint8_t *at, int depth)
{
    if (depth + 1 > SM_PROTO_MAX_DEPTH) {
        return fail(d, SM_PROTO_DEPTH, at, "field '%s': nested deeper than %d", f->name,
                    SM_PROTO_MAX_DEPTH);
    }
    if (f->kind == K_MSG || f->kind == K_MAP) {
        return decode_struct(d, f->sub, list, c, depth + 1);
    }
    static const int ts_want[2] = {WT_VARINT, WT_VARINT};
    int wrap_want[1] = {wire_type_of(f->ptype)};
    const uint8_t *val[2] = {NULL, NULL}, *val_end[2] = {NULL, NULL};
    int n = f->kind == K_TS ? 2 : 1;
    for (int k = list; k >= 0; k = d->pool[k].next) {
        if (scan_small(d, f, d->pool[k].p, d->pool[k].end, f->kind == K_TS ? ts_want : wrap_want, n,
                       val, val_end, depth + 1)) {
            return -1;
        }
    }
    if (f->kind == K_TS) {
        uint64_t sec = 0, nanos = 0;
        int rc;
        if (val[0] && (rc = get_varint(&val[0], val_end[0], &sec))) {
            return varint_fail(d, rc, val[0], f->name);
        }
        if (val[1] && (rc = get_varint(&val[1], val_end[1], &nanos))) {
            return varint_fail(d, rc, val[1], f->name);
        }
        int64_t s = (int64_t)sec, us;
        int32_t ns = (int32_t)(uint32_t)nanos;
        if (ns < 0 || ns > 999999999 || __builtin_mul_overflow(s, (int64_t)1000000, &us) ||
            __builtin_add_overflow(us, (int64_t)(ns / 1000), &us) || us < SM_TS_US_MIN ||
            us > SM_TS_US_MAX) {
            return fail(d, SM_PROTO_RANGE, at,
                        "field '%s': Timestamp %" PRId64 "s %" PRId32 "ns is out of range (a "
                        "timestamp must lie within 290309 BC .. 294247 AD, the int64 "
                        "microseconds readers take)",
                        f->name, s, ns);
        }
        return sm_column_append_i64(d->out, c, us) ? oom(d, at) : 0;
    }
    if (!val[0]) {
        return append_default(d, f, f->ptype, c, at);
    }
    const uint8_t *q = val[0], *data = NULL;
    uint64_t v = 0;
    size_t len = 0;
    if (read_scalar(d, f, f->ptype, &q, val_end[0], &v, &data, &len)) {
        return -1;
    }
    return append_scalar(d, f, f->ptype, c, v, data, len, val[0]);
}

/* One value of field f from *pp (past its tag), into column c. */
static int append_value(sm_proto_decoder *d, const pfield *f, sm_column *c, const uint8_t **pp,
                        const uint8_t *end, int depth)
{
    const uint8_t *at = *pp;
    uint64_t v = 0;
    const uint8_t *data = NULL;
    size_t len = 0;
    if (f->kind == K_SCALAR || f->kind == K_ENUM) {
        if (read_scalar(d, f, f->ptype, pp, end, &v, &data, &len)) {
            return -1;
        }
        return append_scalar(d, f, f->ptype, c, v, data, len, at);
    }
    if (read_scalar(d, f, 11, pp, end, &v, &data, &len)) {
        return -1;
    }
    int k = push_span(d, data, data + len);
    return k < 0 ? oom(d, at) : append_message(d, f, c, k, at, depth);
}

/* All occurrences of repeated field i in the spans of `list`, in order, into list/map column c. */
static int append_repeated(sm_proto_decoder *d, pmsg *m, int i, int list, sm_column *c, int depth)
{
    const pfield *f = &m->f[i];
    sm_column *elem = c->children[0];
    uint32_t left = m->count[i];
    const uint8_t *p = NULL;
    for (int k = list; left && k >= 0; k = d->pool[k].next) {
        const uint8_t *end = d->pool[k].end;
        p = d->pool[k].p;
        while (left && p < end) {
            uint64_t tag;
            const uint8_t *t = p;
            if (get_varint(&p, end, &tag)) {
                return fail(d, SM_PROTO_TRUNCATED, t, "tag"); /* checked by the scan */
            }
            uint32_t number = (uint32_t)(tag >> 3);
            int wt = (int)(tag & 7);
            if (number != f->number) {
                if (skip_value(d, &p, end, wt, number, t, depth)) {
                    return -1;
                }
                continue;
            }
            left--;
            if (wt == WT_LEN && packable(f)) {
                uint64_t n;
                const uint8_t *lat = p;
                if (get_varint(&p, end, &n) || n > (uint64_t)(end - p)) {
                    return fail(d, SM_PROTO_BAD_LENGTH, lat, "field '%s': packed length", f->name);
                }
                const uint8_t *pend = p + n;
                while (p < pend) {
                    if (append_value(d, f, elem, &p, pend, depth)) {
                        return -1;
                    }
                }
            } else if (append_value(d, f, elem, &p, end, depth)) {
                return -1;
            }
        }
    }
    return sm_column_list_end(d->out, c) ? oom(d, p ? p : d->base) : 0;
}

/* Decodes the message made of the spans of `list` (one, or the occurrences of a singular
 * message field, merged) into one slot of STRUCT column c. */
static int decode_struct(sm_proto_decoder *d, pmsg *m, int list, sm_column *c, int depth)
{
    for (int i = 0; i < m->n; i++) {
        clear_field(m, i);
    }
    const uint8_t *end = d->base;
    for (int k = list; k >= 0; k = d->pool[k].next) {
        const uint8_t *p = d->pool[k].p; /* the pool may move while scanning */
        end = d->pool[k].end;
        if (scan_msg(d, m, p, end, depth)) {
            return -1;
        }
    }
    for (int i = 0; i < m->n; i++) {
        const pfield *f = &m->f[i];
        sm_column *cc = c->children[i];
        if (f->repeated) {
            if (append_repeated(d, m, i, list, cc, depth)) {
                return -1;
            }
            continue;
        }
        if (is_message_kind(f)) {
            if (m->head[i] >= 0) {
                if (append_message(d, f, cc, m->head[i], d->pool[m->head[i]].p, depth)) {
                    return -1;
                }
                continue;
            }
        } else if (m->last[i]) {
            const uint8_t *q = m->last[i];
            if (append_value(d, f, cc, &q, m->last_end[i], depth)) {
                return -1;
            }
            continue;
        }
        if (f->nullable) {
            if (sm_column_append_null(d->out, cc)) {
                return oom(d, end);
            }
        } else if (f->required) {
            return fail(d, SM_PROTO_MISSING, end, "required field '%s' is absent", f->name);
        } else if (append_default(d, f, f->ptype, cc, end)) {
            return -1;
        }
    }
    return sm_column_append_valid(d->out, c) ? oom(d, end) : 0;
}

int sm_proto_decode(sm_proto_decoder *d, const uint8_t *msg, size_t len, sm_arena *arena,
                    sm_column *batch, sm_proto_error *why)
{
    sm_proto_error local;
    int64_t before = batch->length;
    if (!msg) {
        msg = (const uint8_t *)"";
    }
    d->base = msg;
    d->out = arena;
    d->why = why ? why : &local;
    d->why->reason = SM_PROTO_OK;
    d->why->offset = 0;
    d->why->msg[0] = 0;
    d->n_pool = 0;
    int k = push_span(d, msg, msg + len);
    if (k < 0) {
        oom(d, msg);
    } else if (decode_struct(d, d->root, k, batch, 1) == 0) {
        return SM_OK;
    }
    sm_json_column_truncate(batch, before);
    return d->why->reason == SM_PROTO_NOMEM ? SM_ERR_NOMEM : SM_ERR_CORRUPT;
}

/* ---- Confluent framing and the local registry --------------------------------------------- */

static int frame_fail(sm_proto_error *why, sm_proto_reason r, size_t at, const char *msg)
{
    if (why) {
        why->reason = r;
        why->offset = at;
        snprintf(why->msg, sizeof why->msg, "%s at byte %zu", msg, at);
    }
    return SM_ERR_CORRUPT;
}

int sm_proto_frame_parse(const uint8_t *msg, size_t len, sm_proto_frame *out, sm_proto_error *why)
{
    memset(out, 0, sizeof *out);
    if (len < 1) {
        return frame_fail(why, SM_PROTO_TRUNCATED, 0, "empty Confluent frame");
    }
    if (msg[0] != 0) {
        return frame_fail(why, SM_PROTO_BAD_MAGIC, 0, "Confluent frame: magic byte is not 0");
    }
    if (len < 5) {
        return frame_fail(why, SM_PROTO_TRUNCATED, len, "Confluent frame: schema id truncated");
    }
    out->schema_id =
        (uint32_t)msg[1] << 24 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 8 | msg[4];
    const uint8_t *p = msg + 5, *end = msg + len;
    uint64_t v;
    int rc;
    if ((rc = get_varint(&p, end, &v))) {
        return frame_fail(why, rc == -2 ? SM_PROTO_BAD_VARINT : SM_PROTO_TRUNCATED, 5,
                          "Confluent frame: message index count");
    }
    int64_t n = unzigzag(v);
    if (n == 0) {
        out->n_indexes = 1;
        out->indexes[0] = 0;
    } else if (n < 0 || n > SM_PROTO_MAX_INDEXES) {
        return frame_fail(why, SM_PROTO_BAD_INDEX, 5,
                          "Confluent frame: message index count out of range");
    } else {
        for (int i = 0; i < n; i++) {
            const uint8_t *at = p;
            if ((rc = get_varint(&p, end, &v))) {
                return frame_fail(why, rc == -2 ? SM_PROTO_BAD_VARINT : SM_PROTO_TRUNCATED,
                                  (size_t)(at - msg), "Confluent frame: message index");
            }
            int64_t x = unzigzag(v);
            if (x < 0 || x > INT32_MAX) {
                return frame_fail(why, SM_PROTO_BAD_INDEX, (size_t)(at - msg),
                                  "Confluent frame: negative message index");
            }
            out->indexes[i] = (int32_t)x;
        }
        out->n_indexes = (int)n;
    }
    out->payload_offset = (size_t)(p - msg);
    return SM_OK;
}

typedef struct reg_entry {
    uint32_t id;
    sm_proto_schema *schema; /* NULL: the id is known to be missing */
    int n_dec, cap_dec;
    struct reg_dec {
        int n;
        int32_t idx[SM_PROTO_MAX_INDEXES];
        sm_proto_decoder *d;
    } * dec;
} reg_entry;

struct sm_proto_registry {
    char *dir;
    reg_entry *e;
    int n, cap;
};

int sm_proto_registry_open(const char *dir, sm_proto_registry **out, sm_error *err)
{
    sm_proto_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return sm_error_set(err, SM_ERR_NOMEM, "protobuf registry: out of memory");
    }
    *out = r;
    return SM_OK;
}

void sm_proto_registry_free(sm_proto_registry *r)
{
    if (!r) {
        return;
    }
    for (int i = 0; i < r->n; i++) {
        for (int j = 0; j < r->e[i].n_dec; j++) {
            sm_proto_decoder_free(r->e[i].dec[j].d);
        }
        free(r->e[i].dec);
        sm_proto_schema_free(r->e[i].schema);
    }
    free(r->e);
    free(r->dir);
    free(r);
}

int sm_proto_registry_decoder(sm_proto_registry *r, const sm_proto_frame *f, sm_proto_decoder **out,
                              sm_proto_error *why)
{
    reg_entry *e = NULL;
    for (int i = 0; i < r->n; i++) {
        if (r->e[i].id == f->schema_id) {
            e = &r->e[i];
        }
    }
    if (!e) {
        if (r->n == r->cap) {
            int cap = r->cap ? 2 * r->cap : 8;
            reg_entry *ne = realloc(r->e, (size_t)cap * sizeof *ne);
            if (!ne) {
                return frame_fail(why, SM_PROTO_NOMEM, 1, "protobuf registry: out of memory");
            }
            r->e = ne, r->cap = cap;
        }
        e = &r->e[r->n++];
        memset(e, 0, sizeof *e);
        e->id = f->schema_id;
        char path[4096];
        snprintf(path, sizeof path, "%s/%" PRIu32 ".desc", r->dir, f->schema_id);
        sm_error err = {0};
        if (sm_proto_schema_load_file(path, &e->schema, &err)) {
            e->schema = NULL;
        }
    }
    if (!e->schema) {
        if (why) {
            why->reason = SM_PROTO_UNKNOWN_SCHEMA;
            why->offset = 1;
            snprintf(why->msg, sizeof why->msg,
                     "schema id %" PRIu32 ": no loadable %.180s/%" PRIu32 ".desc", f->schema_id,
                     r->dir, f->schema_id);
        }
        return SM_ERR_CORRUPT;
    }
    for (int j = 0; j < e->n_dec; j++) {
        if (e->dec[j].n == f->n_indexes &&
            !memcmp(e->dec[j].idx, f->indexes, (size_t)f->n_indexes * sizeof f->indexes[0])) {
            *out = e->dec[j].d;
            return SM_OK;
        }
    }
    const char *name = sm_proto_schema_message_at(e->schema, f->indexes, f->n_indexes);
    sm_proto_decoder *d = NULL;
    sm_error err = {0};
    if (!name) {
        return frame_fail(why, SM_PROTO_BAD_INDEX, 5,
                          "Confluent frame: message indexes name no message of the schema");
    }
    if (sm_proto_decoder_new(e->schema, name, &d, &err)) {
        if (why) {
            why->reason = SM_PROTO_UNKNOWN_SCHEMA;
            why->offset = 1;
            snprintf(why->msg, sizeof why->msg, "schema id %" PRIu32 ": %.200s", f->schema_id,
                     err.msg);
        }
        return SM_ERR_CORRUPT;
    }
    if (e->n_dec == e->cap_dec) {
        int cap = e->cap_dec ? 2 * e->cap_dec : 4;
        struct reg_dec *nd = realloc(e->dec, (size_t)cap * sizeof *nd);
        if (!nd) {
            sm_proto_decoder_free(d);
            return frame_fail(why, SM_PROTO_NOMEM, 1, "protobuf registry: out of memory");
        }
        e->dec = nd, e->cap_dec = cap;
    }
    e->dec[e->n_dec].n = f->n_indexes;
    memcpy(e->dec[e->n_dec].idx, f->indexes, sizeof f->indexes);
    e->dec[e->n_dec++].d = d;
    *out = d;
    return SM_OK;
}
