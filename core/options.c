/*
 * Declared options — see core/options.h.
 *
 * One table drives four things: defaults (each `def` goes through sm_opt_set, the same parser
 * as a flag, so a default can never mean something a user could not have typed), argv parsing,
 * --help and the Markdown reference.
 *
 * Parsing rules beyond the header:
 *   - a value that starts with '-' is taken as a flag, except "-" alone (stdin) and negative
 *     numbers ("--rate -1", "--offset -.5"): those are values, and as positionals too;
 *   - short flags may be clustered ("-vq") and take a value attached ("-n5") or next;
 *   - a scalar flag given twice keeps the last value;
 *   - a LIST flag replaces its default with the first occurrence and appends the rest;
 *   - positionals are appended to `positional` (pass it zeroed). On error, lists built so far
 *     (positional and LIST fields) stay with the caller, who frees them with sm_strlist_free.
 */
#include "core/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"

#define HELP_WIDTH    100
#define HELP_DESC_MAX 32 /* the description column never starts further right than this */

void sm_strlist_free(sm_strlist *l)
{
    if (!l) {
        return;
    }
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

/* Appends s (borrowed). The capacity is implied by count: 4, then the next power of two. */
static int strlist_push(sm_strlist *l, const char *s)
{
    size_t c = l->count;
    if (c == 0 || (c >= 4 && (c & (c - 1)) == 0)) {
        size_t cap = c < 4 ? 4 : c * 2;
        const char **items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            return -1;
        }
        l->items = items;
    }
    l->items[l->count++] = s;
    return 0;
}

void sm_strmap_free(sm_strmap *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->count; i++) {
        free((char *)m->keys[i]); /* the pair's one allocation: "key\0value\0" */
    }
    free(m->keys);
    free(m->values);
    m->keys = NULL;
    m->values = NULL;
    m->count = 0;
}

const char *sm_strmap_get(const sm_strmap *m, const char *key)
{
    if (!m || !key) {
        return NULL;
    }
    for (size_t i = m->count; i-- > 0;) {
        if (strcmp(m->keys[i], key) == 0) {
            return m->values[i];
        }
    }
    return NULL;
}

/* Appends a copy of "key=value" split at the first '='. -1 on out of memory, -2 when there is
 * no '=' or the key is empty. Same capacity rule as strlist_push. */
static int strmap_push(sm_strmap *m, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        return -2;
    }
    size_t c = m->count;
    if (c == 0 || (c >= 4 && (c & (c - 1)) == 0)) {
        size_t cap = c < 4 ? 4 : c * 2;
        const char **keys = realloc(m->keys, cap * sizeof *keys);
        if (!keys) {
            return -1;
        }
        m->keys = keys;
        const char **values = realloc(m->values, cap * sizeof *values);
        if (!values) {
            return -1;
        }
        m->values = values;
    }
    char *copy = strdup(kv);
    if (!copy) {
        return -1;
    }
    size_t klen = (size_t)(eq - kv);
    copy[klen] = '\0';
    m->keys[m->count] = copy;
    m->values[m->count] = copy + klen + 1;
    m->count++;
    return 0;
}

/* --- edit distance ------------------------------------------------------------------------ */

size_t sm_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t stack[64];
    size_t *row = lb + 1 <= sizeof stack / sizeof stack[0] ? stack : malloc((lb + 1) * sizeof *row);
    if (!row) {
        return la > lb ? la : lb; /* an upper bound of the distance */
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0]; /* row[i-1][j-1] */
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j]; /* row[i-1][j] */
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            diag = up;
            row[j] = best;
        }
    }
    size_t d = row[lb];
    if (row != stack) {
        free(row);
    }
    return d;
}

const char *sm_nearest(const char *s, const char *const *names)
{
    if (!s || !names) {
        return NULL;
    }
    size_t limit = strlen(s) / 3;
    if (limit < 2) {
        limit = 2;
    }
    const char *best = NULL;
    size_t best_d = 0;
    for (size_t i = 0; names[i]; i++) {
        size_t d = sm_edit_distance(s, names[i]);
        if (!best || d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best && best_d <= limit ? best : NULL;
}

/* --- one value ----------------------------------------------------------------------------- */

/* The metavar shown after a flag: the declared one, else one derived from the type. */
static const char *metavar(const sm_opt *opt, char *buf, size_t n)
{
    if (opt->metavar) {
        return opt->metavar;
    }
    switch (opt->type) {
    case SM_OPT_BOOL:
        return "";
    case SM_OPT_INT:
        return "N";
    case SM_OPT_DOUBLE:
        return "X";
    case SM_OPT_SIZE:
        return "SIZE";
    case SM_OPT_DURATION:
        return "DURATION";
    case SM_OPT_LIST:
        return "VALUE";
    case SM_OPT_MAP:
        return "KEY=VALUE";
    case SM_OPT_STRING:
    case SM_OPT_ENUM:
        break;
    }
    /* "--format" → "FORMAT", "--group-id" → "GROUP_ID" */
    size_t i = 0;
    for (; opt->name[i] && i + 1 < n; i++) {
        char c = opt->name[i];
        buf[i] = c == '-' ? '_' : (char)toupper((unsigned char)c);
    }
    buf[i] = '\0';
    return buf;
}

static void *field_of(const sm_opt *opt, void *conf)
{
    return (char *)conf + opt->offset;
}

static bool has_bounds(const sm_opt *opt)
{
    return opt->min <= opt->max;
}

/* A size as a user would write it and the parser reads back exactly: "256MB", "1000B". */
static void format_size_exact(uint64_t v, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    size_t u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, "%llu%s", (unsigned long long)v, units[u]);
}

/* A duration the same way: "5s", "10m", "250ms". */
static void format_duration_exact(int64_t ms, char *buf, size_t n)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(buf, n, "%lldms", (long long)ms);
}

static void format_bound(const sm_opt *opt, double bound, char *buf, size_t n)
{
    if (opt->type == SM_OPT_SIZE && bound >= 0 && bound < 18446744073709551616.0) {
        format_size_exact((uint64_t)bound, buf, n);
    } else if (opt->type == SM_OPT_DURATION && fabs(bound) < 9.2e18) {
        format_duration_exact((int64_t)bound, buf, n);
    } else {
        snprintf(buf, n, "%.15g", bound);
    }
}

/* Fails when v is outside [min, max]; `value` is the text as the user wrote it. */
static int check_bounds(const sm_opt *opt, double v, const char *value, sm_error *err)
{
    if (!has_bounds(opt)) {
        return SM_OK;
    }
    char b[64];
    if (v < opt->min) {
        format_bound(opt, opt->min, b, sizeof b);
        return sm_error_set(err, SM_ERR_USAGE, "--%s: %s is below the minimum %s", opt->name, value,
                            b);
    }
    if (v > opt->max) {
        format_bound(opt, opt->max, b, sizeof b);
        return sm_error_set(err, SM_ERR_USAGE, "--%s: %s is above the maximum %s", opt->name, value,
                            b);
    }
    return SM_OK;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* 0, -1 when not an integer, -2 when out of range. Also takes "1e6": an integral double. */
static int parse_int(const char *s, int64_t *out)
{
    if (*s == '\0' || isspace((unsigned char)*s)) {
        return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0') {
        if (errno == ERANGE) {
            return -2;
        }
        *out = v;
        return 0;
    }
    if (strspn(s, "0123456789+-.eE") != strlen(s)) {
        return -1;
    }
    errno = 0;
    double d = strtod(s, &end);
    if (*end != '\0' || !isfinite(d) || d != floor(d)) {
        return -1;
    }
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
        return -2;
    }
    *out = (int64_t)d;
    return 0;
}

/* 0, -1 when not a number, -2 when out of range. */
static int parse_double(const char *s, double *out)
{
    if (*s == '\0' || isspace((unsigned char)*s)) {
        return -1;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end != '\0' || isnan(d)) {
        return -1;
    }
    if (isinf(d)) {
        /* "inf" typed on purpose is not a number a flag wants; an overflow is out of range */
        return errno == ERANGE ? -2 : -1;
    }
    *out = d;
    return 0;
}

/* ENUM: the index of value in "a|b|c", case-insensitive; -1 when absent. */
static int choice_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncasecmp(p, value, len) == 0) {
            return i;
        }
        if (!bar) {
            return -1;
        }
        p = bar + 1;
    }
}

static int enum_error(const sm_opt *opt, const char *value, sm_error *err)
{
    sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is not one of %s", opt->name, value, opt->choices);
    /* "did you mean": split a copy of the choices into a name array */
    char *copy = strdup(opt->choices);
    size_t n = 1;
    for (const char *p = opt->choices; *p; p++) {
        n += *p == '|';
    }
    const char **names = calloc(n + 1, sizeof *names);
    if (copy && names) {
        size_t k = 0;
        for (char *tok = copy, *save = NULL; (tok = strtok_r(tok, "|", &save)); tok = NULL) {
            names[k++] = tok;
        }
        const char *near = sm_nearest(value, names);
        if (near && err) {
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, "; did you mean %s?", near);
        }
    }
    free(names);
    free(copy);
    return SM_ERR_USAGE;
}

int sm_opt_set(const sm_opt *opt, void *conf, const char *value, sm_error *err)
{
    void *field = field_of(opt, conf);
    char mv[64];
    if (!value) {
        if (opt->type == SM_OPT_BOOL) {
            *(bool *)field = true;
            return SM_OK;
        }
        return sm_error_set(err, SM_ERR_USAGE, "--%s needs a value (%s)", opt->name,
                            metavar(opt, mv, sizeof mv));
    }
    switch (opt->type) {
    case SM_OPT_BOOL: {
        bool b;
        if (parse_bool(value, &b) != 0) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is not true or false", opt->name,
                                value);
        }
        *(bool *)field = b;
        return SM_OK;
    }
    case SM_OPT_INT: {
        int64_t v;
        int rc = parse_int(value, &v);
        if (rc == -2) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is out of range", opt->name, value);
        }
        if (rc != 0) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is not an integer", opt->name,
                                value);
        }
        if (check_bounds(opt, (double)v, value, err) != SM_OK) {
            return SM_ERR_USAGE;
        }
        *(int64_t *)field = v;
        return SM_OK;
    }
    case SM_OPT_DOUBLE: {
        double v;
        int rc = parse_double(value, &v);
        if (rc == -2) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is out of range", opt->name, value);
        }
        if (rc != 0) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is not a number", opt->name, value);
        }
        if (check_bounds(opt, v, value, err) != SM_OK) {
            return SM_ERR_USAGE;
        }
        *(double *)field = v;
        return SM_OK;
    }
    case SM_OPT_STRING:
        *(const char **)field = value;
        return SM_OK;
    case SM_OPT_SIZE: {
        uint64_t v;
        if (sm_parse_size(value, &v) != 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "--%s: '%s' is not a size (like 512KB, 256MB, 1GB)", opt->name,
                                value);
        }
        if (check_bounds(opt, (double)v, value, err) != SM_OK) {
            return SM_ERR_USAGE;
        }
        *(uint64_t *)field = v;
        return SM_OK;
    }
    case SM_OPT_DURATION: {
        int64_t v;
        if (sm_parse_duration_ms(value, &v) != 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "--%s: '%s' is not a duration (like 250ms, 5s, 10m, 1h)", opt->name,
                                value);
        }
        if (check_bounds(opt, (double)v, value, err) != SM_OK) {
            return SM_ERR_USAGE;
        }
        *(int64_t *)field = v;
        return SM_OK;
    }
    case SM_OPT_ENUM: {
        if (!opt->choices) {
            return sm_error_set(err, SM_ERR_INTERNAL, "--%s: no choices declared", opt->name);
        }
        int i = choice_index(opt->choices, value);
        if (i < 0) {
            return enum_error(opt, value, err);
        }
        *(int *)field = i;
        return SM_OK;
    }
    case SM_OPT_LIST:
        if (strlist_push(field, value) != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "--%s: out of memory", opt->name);
        }
        return SM_OK;
    case SM_OPT_MAP: {
        int rc = strmap_push(field, value);
        if (rc == -2) {
            return sm_error_set(err, SM_ERR_USAGE, "--%s: '%s' is not KEY=VALUE", opt->name, value);
        }
        if (rc != 0) {
            return sm_error_set(err, SM_ERR_NOMEM, "--%s: out of memory", opt->name);
        }
        return SM_OK;
    }
    }
    return sm_error_set(err, SM_ERR_INTERNAL, "--%s: unknown option type %d", opt->name,
                        (int)opt->type);
}

/* --- argv ---------------------------------------------------------------------------------- */

static void set_zero(const sm_opt *opt, void *conf)
{
    void *field = field_of(opt, conf);
    switch (opt->type) {
    case SM_OPT_BOOL:
        *(bool *)field = false;
        break;
    case SM_OPT_INT:
    case SM_OPT_DURATION:
        *(int64_t *)field = 0;
        break;
    case SM_OPT_DOUBLE:
        *(double *)field = 0.0;
        break;
    case SM_OPT_STRING:
        *(const char **)field = NULL;
        break;
    case SM_OPT_SIZE:
        *(uint64_t *)field = 0;
        break;
    case SM_OPT_ENUM:
        *(int *)field = 0;
        break;
    case SM_OPT_LIST:
        *(sm_strlist *)field = (sm_strlist){NULL, 0};
        break;
    case SM_OPT_MAP:
        *(sm_strmap *)field = (sm_strmap){NULL, NULL, 0};
        break;
    }
}

/* The option with this long name (len bytes), and its index over all tables for `seen`. */
static const sm_opt *find_long(const sm_opt *const *tables, const char *name, size_t len,
                               size_t *index)
{
    size_t k = 0;
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++, k++) {
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
                *index = k;
                return o;
            }
        }
    }
    return NULL;
}

static const sm_opt *find_short(const sm_opt *const *tables, char c, size_t *index)
{
    size_t k = 0;
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++, k++) {
            if (o->short_name && o->short_name == c) {
                *index = k;
                return o;
            }
        }
    }
    return NULL;
}

static size_t count_opts(const sm_opt *const *tables)
{
    size_t n = 0;
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++) {
            n++;
        }
    }
    return n;
}

/* "unknown flag --cout; did you mean --count?" (name is len bytes, without dashes) */
static int unknown_flag(const sm_opt *const *tables, const char *dashes, const char *name,
                        size_t len, sm_error *err)
{
    sm_error_set(err, SM_ERR_USAGE, "unknown flag %s%.*s", dashes, (int)len, name);
    size_t n = count_opts(tables);
    const char **names = calloc(n + 1, sizeof *names);
    char *word = strndup(name, len);
    if (names && word) {
        size_t k = 0;
        for (size_t t = 0; tables[t]; t++) {
            for (const sm_opt *o = tables[t]; o->name; o++) {
                names[k++] = o->name;
            }
        }
        const char *near = sm_nearest(word, names);
        if (near && err) {
            size_t mlen = strlen(err->msg);
            snprintf(err->msg + mlen, sizeof err->msg - mlen, "; did you mean --%s?", near);
        }
    }
    free(word);
    free(names);
    return SM_ERR_USAGE;
}

/* Negative numbers are values, not flags: "-1", "-2.5", "-.5". */
static bool is_negative_number(const char *s)
{
    return s[0] == '-' &&
           (isdigit((unsigned char)s[1]) || (s[1] == '.' && isdigit((unsigned char)s[2])));
}

/* May argv element s be the value of the flag before it? */
static bool is_value_arg(const char *s)
{
    return s[0] != '-' || s[1] == '\0' || is_negative_number(s);
}

typedef struct parse_state {
    const sm_opt *const *tables;
    void *conf;
    bool *seen; /* per option: given on the command line (a LIST then drops its default) */
} parse_state;

static int apply(parse_state *st, const sm_opt *opt, size_t index, const char *value, sm_error *err)
{
    if (opt->type == SM_OPT_LIST && !st->seen[index]) {
        ((sm_strlist *)field_of(opt, st->conf))->count = 0;
    }
    if (opt->type == SM_OPT_MAP && !st->seen[index]) {
        sm_strmap_free(field_of(opt, st->conf)); /* the default's pairs */
    }
    st->seen[index] = true;
    return sm_opt_set(opt, st->conf, value, err);
}

/* The value of a flag that needs one: argv[*i + 1] if it can be a value. */
static int next_value(const sm_opt *opt, int argc, char **argv, int *i, const char **value,
                      sm_error *err)
{
    if (*i + 1 < argc && is_value_arg(argv[*i + 1])) {
        *value = argv[++*i];
        return SM_OK;
    }
    char mv[64];
    return sm_error_set(err, SM_ERR_USAGE, "--%s needs a value (%s)", opt->name,
                        metavar(opt, mv, sizeof mv));
}

static int parse_long(parse_state *st, int argc, char **argv, int *i, sm_error *err)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    size_t index;
    const sm_opt *opt = find_long(st->tables, name, len, &index);
    if (!opt) {
        return unknown_flag(st->tables, "--", name, len, err);
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value && opt->type != SM_OPT_BOOL) {
        int rc = next_value(opt, argc, argv, i, &value, err);
        if (rc) {
            return rc;
        }
    }
    return apply(st, opt, index, value, err);
}

/* "-n 5", "-n5", "-vq" */
static int parse_short(parse_state *st, int argc, char **argv, int *i, sm_error *err)
{
    const char *arg = argv[*i];
    for (size_t j = 1; arg[j]; j++) {
        size_t index;
        const sm_opt *opt = find_short(st->tables, arg[j], &index);
        if (!opt) {
            if (j == 1 && arg[2]) {
                /* "-count": probably a long flag with one dash */
                return unknown_flag(st->tables, "-", arg + 1, strlen(arg + 1), err);
            }
            return sm_error_set(err, SM_ERR_USAGE, "unknown flag -%c", arg[j]);
        }
        if (opt->type == SM_OPT_BOOL) {
            int rc = apply(st, opt, index, NULL, err);
            if (rc) {
                return rc;
            }
            continue;
        }
        const char *value = arg + j + 1;
        if (*value == '\0') {
            int rc = next_value(opt, argc, argv, i, &value, err);
            if (rc) {
                return rc;
            }
        }
        return apply(st, opt, index, value, err);
    }
    return SM_OK;
}

int sm_opts_parse(const sm_opt *const *tables, void *conf, int argc, char **argv,
                  sm_strlist *positional, sm_error *err)
{
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++) {
            set_zero(o, conf);
            if (o->def && sm_opt_set(o, conf, o->def, err) != SM_OK) {
                if (err) {
                    err->code = SM_ERR_INTERNAL;
                    sm_error_prefix(err, "bad default in the option table");
                }
                return SM_ERR_INTERNAL;
            }
        }
    }

    size_t n = count_opts(tables);
    parse_state st = {tables, conf, calloc(n ? n : 1, sizeof(bool))};
    if (!st.seen) {
        return sm_error_set(err, SM_ERR_NOMEM, "parsing flags: out of memory");
    }
    int rc = SM_OK;
    bool flags_done = false;
    for (int i = 0; i < argc && rc == SM_OK; i++) {
        const char *arg = argv[i];
        if (!flags_done && strcmp(arg, "--") == 0) {
            flags_done = true;
        } else if (!flags_done && arg[0] == '-' && arg[1] == '-') {
            rc = parse_long(&st, argc, argv, &i, err);
        } else if (!flags_done && arg[0] == '-' && arg[1] != '\0' && !is_negative_number(arg)) {
            rc = parse_short(&st, argc, argv, &i, err);
        } else if (!positional) {
            rc = sm_error_set(err, SM_ERR_USAGE, "unexpected argument '%s'", arg);
        } else if (strlist_push(positional, arg) != 0) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "parsing arguments: out of memory");
        }
    }
    free(st.seen);
    return rc;
}

/* --- help ---------------------------------------------------------------------------------- */

/* "  -n, --count N" */
static void help_left(const sm_opt *opt, char *buf, size_t n)
{
    char mv[64];
    const char *m = metavar(opt, mv, sizeof mv);
    char shrt[8] = "    ";
    if (opt->short_name) {
        snprintf(shrt, sizeof shrt, "-%c, ", opt->short_name);
    }
    snprintf(buf, n, "  %s--%s%s%s", shrt, opt->name, *m ? " " : "", m);
}

/* The description with its notes: "messages to produce (default: 10000)". malloc'ed. */
static char *help_text(const sm_opt *opt)
{
    char notes[512] = "";
    size_t len = 0;
    if (opt->type == SM_OPT_ENUM && opt->choices) {
        len += (size_t)snprintf(notes + len, sizeof notes - len, "one of %s", opt->choices);
    }
    if ((opt->type == SM_OPT_LIST || opt->type == SM_OPT_MAP) && len < sizeof notes) {
        len += (size_t)snprintf(notes + len, sizeof notes - len, "%srepeatable", len ? "; " : "");
    }
    bool show_def = opt->def != NULL;
    bool b;
    if (opt->type == SM_OPT_BOOL && opt->def && parse_bool(opt->def, &b) == 0 && !b) {
        show_def = false; /* "default: false" says nothing a flag does not */
    }
    if (show_def && len < sizeof notes) {
        snprintf(notes + len, sizeof notes - len, "%sdefault: %s", len ? "; " : "", opt->def);
    }
    const char *help = opt->help ? opt->help : "";
    char *text = NULL;
    if (asprintf(&text, "%s%s%s%s", help, *notes && *help ? " (" : (*notes ? "(" : ""), notes,
                 *notes ? ")" : "") < 0) {
        return NULL;
    }
    return text;
}

/* Writes text word by word from column `col`, wrapping at HELP_WIDTH to column `col`. */
static void print_wrapped(FILE *out, const char *text, size_t col)
{
    size_t cur = col;
    bool first = true;
    const char *p = text;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        size_t wlen = strcspn(p, " ");
        if (!first && cur + 1 + wlen > HELP_WIDTH) {
            fprintf(out, "\n%*s", (int)col, "");
            cur = col;
        } else if (!first) {
            fputc(' ', out);
            cur++;
        }
        fwrite(p, 1, wlen, out);
        cur += wlen;
        p += wlen;
        first = false;
    }
    fputc('\n', out);
}

void sm_opts_print_help(FILE *out, const sm_opt *const *tables)
{
    char left[256];
    size_t col = 0;
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++) {
            help_left(o, left, sizeof left);
            size_t w = strlen(left) + 2;
            if (w <= HELP_DESC_MAX && w > col) {
                col = w;
            }
        }
    }
    if (col == 0) {
        col = HELP_DESC_MAX;
    }
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++) {
            help_left(o, left, sizeof left);
            size_t w = strlen(left);
            if (w + 2 > col) {
                fprintf(out, "%s\n%*s", left, (int)col, "");
            } else {
                fprintf(out, "%s%*s", left, (int)(col - w), "");
            }
            char *text = help_text(o);
            print_wrapped(out, text ? text : (o->help ? o->help : ""), col);
            free(text);
        }
    }
}

/* Writes s for a Markdown table cell: '|' escaped, line breaks as spaces. */
static void md_cell(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') {
            fputs("\\|", out);
        } else if (*s == '\n' || *s == '\r') {
            fputc(' ', out);
        } else {
            fputc(*s, out);
        }
    }
}

static const char *type_name(sm_opt_type type)
{
    switch (type) {
    case SM_OPT_BOOL:
        return "bool";
    case SM_OPT_INT:
        return "int";
    case SM_OPT_DOUBLE:
        return "number";
    case SM_OPT_STRING:
        return "string";
    case SM_OPT_SIZE:
        return "size";
    case SM_OPT_DURATION:
        return "duration";
    case SM_OPT_ENUM:
        return "enum";
    case SM_OPT_LIST:
        return "list";
    case SM_OPT_MAP:
        return "map";
    }
    return "?";
}

char *sm_opt_type_text(const sm_opt *opt, char *buf, size_t n)
{
    if (!buf || n == 0) {
        return buf;
    }
    if (opt->type == SM_OPT_ENUM && opt->choices) {
        snprintf(buf, n, "%s: %s", type_name(opt->type), opt->choices);
    } else if (opt->type == SM_OPT_LIST || opt->type == SM_OPT_MAP) {
        snprintf(buf, n, "%s (repeatable)", type_name(opt->type));
    } else if (has_bounds(opt) && opt->type != SM_OPT_BOOL && opt->type != SM_OPT_STRING) {
        char lo[64], hi[64];
        format_bound(opt, opt->min, lo, sizeof lo);
        format_bound(opt, opt->max, hi, sizeof hi);
        snprintf(buf, n, "%s, %s to %s", type_name(opt->type), lo, hi);
    } else {
        snprintf(buf, n, "%s", type_name(opt->type));
    }
    return buf;
}

void sm_opts_print_markdown(FILE *out, const sm_opt *const *tables)
{
    fputs("| flag | type | default | description |\n", out);
    fputs("| --- | --- | --- | --- |\n", out);
    for (size_t t = 0; tables[t]; t++) {
        for (const sm_opt *o = tables[t]; o->name; o++) {
            char mv[64];
            const char *m = metavar(o, mv, sizeof mv);
            fputs("| ", out);
            if (o->short_name) {
                fprintf(out, "`-%c`, ", o->short_name);
            }
            fputs("`--", out);
            md_cell(out, o->name);
            if (*m) {
                fputc(' ', out);
                md_cell(out, m);
            }
            fputs("` | ", out);

            char type[256];
            md_cell(out, sm_opt_type_text(o, type, sizeof type));
            fputs(" | ", out);

            if (o->def) {
                fputc('`', out);
                md_cell(out, o->def);
                fputc('`', out);
            }
            fputs(" | ", out);
            md_cell(out, o->help);
            fputs(" |\n", out);
        }
    }
}
