/*
 * Declared options (STYLE.md "Configuration is declared once", Fluent Bit's config maps).
 *
 * A command declares its flags once, in a table: name, type, where the value goes, default,
 * bounds, description. From that one table come the parser, the defaults, --help and the
 * reference in docs/. Unknown flags are errors naming the nearest known flag.
 *
 *   static const sm_opt produce_opts[] = {
 *       {"count", 'n', SM_OPT_INT, offsetof(produce_conf, count), "10000", 0, 1e12,
 *        NULL, "N", "messages to produce"},
 *       ...
 *       SM_OPT_END
 *   };
 *
 * Values are written into a caller struct at `offset`:
 *   SM_OPT_BOOL      bool       flag without value ("--json"); "--json=false" also accepted
 *   SM_OPT_INT       int64_t    integer within [min, max]
 *   SM_OPT_DOUBLE    double     within [min, max]
 *   SM_OPT_STRING    const char*   points into argv or the default (borrowed)
 *   SM_OPT_SIZE      uint64_t   "256MB" (core/units.h), bytes within [min, max]
 *   SM_OPT_DURATION  int64_t    "5s" (core/units.h), milliseconds within [min, max]
 *   SM_OPT_ENUM      int        index of the value in `choices` ("json|avro|protobuf")
 *   SM_OPT_LIST      sm_strlist repeatable; each occurrence appends (e.g. -X key=value)
 *   SM_OPT_MAP       sm_strmap  repeatable "KEY=VALUE"; each occurrence appends a pair, in order
 *                               (config files fill it from a YAML map instead)
 */
#ifndef SM_CORE_OPTIONS_H
#define SM_CORE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef enum sm_opt_type {
    SM_OPT_BOOL,
    SM_OPT_INT,
    SM_OPT_DOUBLE,
    SM_OPT_STRING,
    SM_OPT_SIZE,
    SM_OPT_DURATION,
    SM_OPT_ENUM,
    SM_OPT_LIST,
    SM_OPT_MAP, /* added last: existing tables keep their meaning */
} sm_opt_type;

typedef struct sm_opt {
    const char *name; /* long name, without "--"; NULL ends the table */
    char short_name;  /* 0 when none */
    sm_opt_type type;
    size_t offset;       /* offsetof(conf struct, field) */
    const char *def;     /* default as the user would write it; NULL = none (zero/NULL) */
    double min, max;     /* bounds for INT, DOUBLE, SIZE, DURATION; ignored when min > max */
    const char *choices; /* ENUM: "a|b|c" */
    const char *metavar; /* shown in help: "N", "FILE" */
    const char *help;
} sm_opt;

#define SM_OPT_END                                                                                 \
    {                                                                                              \
        NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL, NULL                                                \
    }
#define SM_NO_BOUNDS 1, 0

/* A growing list of borrowed strings (SM_OPT_LIST). */
typedef struct sm_strlist {
    const char **items;
    size_t count;
} sm_strlist;

void sm_strlist_free(sm_strlist *l); /* frees the array, not the strings */

/* Ordered string pairs (SM_OPT_MAP): keys[i] → values[i]; a key given twice keeps both pairs,
 * the later one wins for sm_strmap_get. Filled by sm_opt_set, each pair is one malloc'ed copy
 * that sm_strmap_free releases. Maps built elsewhere (the pipeline loader puts its maps in an
 * arena) are freed with their owner, never with sm_strmap_free. */
typedef struct sm_strmap {
    const char **keys;
    const char **values;
    size_t count;
} sm_strmap;

void sm_strmap_free(sm_strmap *m);                              /* for maps filled by sm_opt_set */
const char *sm_strmap_get(const sm_strmap *m, const char *key); /* last pair with key, or NULL */

/*
 * Applies every default of `table` to `conf`, then parses argv[0..argc) (argv[0] is the first
 * flag, not the program). Accepts "--name value", "--name=value", "-n value", "--" ending
 * flags. Positional arguments are collected in order into `positional` (may be NULL when the
 * command takes none: then a positional is an error).
 * Errors are SM_ERR_USAGE with one line naming the flag and what is wrong, and for an unknown
 * flag the nearest known one ("unknown flag --cout; did you mean --count?").
 * `tables` is a NULL-terminated array so commands can share common flags.
 */
int sm_opts_parse(const sm_opt *const *tables, void *conf, int argc, char **argv,
                  sm_strlist *positional, sm_error *err);

/* Parses one value for `opt` into conf (used for defaults, flags and later config files). */
int sm_opt_set(const sm_opt *opt, void *conf, const char *value, sm_error *err);

/* Prints the flags of `tables` as --help shows them: "  -n, --count N   messages to produce
 * (default 10000)", wrapped at 100 columns. */
void sm_opts_print_help(FILE *out, const sm_opt *const *tables);

/* The type as the reference shows it: "size, 1MB to 1TB", "enum: json|avro|protobuf",
 * "list (repeatable)". Writes at most n bytes; returns buf. */
char *sm_opt_type_text(const sm_opt *opt, char *buf, size_t n);

/* Prints the flags as a Markdown table (docs/). */
void sm_opts_print_markdown(FILE *out, const sm_opt *const *tables);

/* The entry of `names` (NULL-terminated) nearest to `s` by edit distance, or NULL when none
 * is within a third of the length. For "did you mean". */
const char *sm_nearest(const char *s, const char *const *names);
size_t sm_edit_distance(const char *a, const char *b);

#endif
