/*
 * sm_cfg — YAML configuration files as a tree of positioned nodes.
 *
 * A file is parsed (libyaml, block and flow style) into scalars, sequences and mappings; every
 * node knows its file, line and column (1-based) and its place in the tree, so a consumer can
 * say "pipeline.yaml:12:5: trigger.max_bytes_per_trigger: 'abc' is not a size" about any value.
 * Nothing here knows what the keys mean: a consumer (stream/pipeline.c) walks the tree against
 * its own declared options.
 *
 * sm_cfg_load does, in this order:
 *   1. parse: one document; duplicate keys are an error naming both lines; anchors, aliases,
 *      merge keys and custom tags are refused (a config file should read the same top down);
 *   2. overlay: when opts->env_name is set, the mapping `environments.<name>` is deep-merged
 *      over the root — mappings merge key by key, scalars and sequences replace — and an
 *      unknown name is an error listing the known ones. `environments` is then removed, also
 *      when no name is given;
 *   3. interpolate, in every scalar value (not in keys) that survived the overlay, so that an
 *      unused environment may name variables that are not set:
 *        ${VAR}            the variable; unset is an error naming file:line and VAR
 *        ${VAR:-default}   default when VAR is unset or empty (shell semantics)
 *        ${VAR-default}    default only when VAR is unset
 *        ${VAR:?message}   an error with the message when VAR is unset or empty
 *        $${               a literal "${"
 *      Defaults may themselves hold ${...}. A `$` not followed by `{` is kept as it is.
 *
 * Scalars keep their text as written; typing is the consumer's (so `on`, `no` and `1e3` are
 * not silently turned into booleans or numbers). `quoted` tells "true" from true, and
 * `is_null` marks a plain empty value, `~` or `null`.
 *
 * Memory: every node and string lives in the caller's arena and dies with it.
 * @thread one owner; the loader reads the environment (getenv) unless opts->lookup is given.
 */
#ifndef SM_CORE_CONFIG_H
#define SM_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"

typedef enum sm_cfg_kind {
    SM_CFG_SCALAR,
    SM_CFG_SEQ,
    SM_CFG_MAP,
} sm_cfg_kind;

typedef struct sm_cfg_node sm_cfg_node;
struct sm_cfg_node {
    sm_cfg_kind kind;
    const char *file;    /* as given to the loader */
    int line, col;       /* 1-based start of the node (of a key: the key itself) */
    sm_cfg_node *parent; /* the sequence or mapping holding this node; NULL at the root */
    const char *key;     /* the key under which this node is a value; NULL elsewhere */
    size_t index;        /* position in the parent (sequence item or mapping pair) */

    /* SM_CFG_SCALAR */
    const char *str; /* NUL-terminated; may hold NULs when len says so */
    size_t len;
    bool quoted;  /* single/double quoted, block literal/folded, or tagged !!str */
    bool is_null; /* plain "", "~", "null", "Null", "NULL" (before interpolation) */

    /* SM_CFG_SEQ: items[0..count). SM_CFG_MAP: keys[i] (scalar nodes) → items[i]. */
    size_t count;
    sm_cfg_node **items;
    sm_cfg_node **keys;
};

/* Looks a variable up; returns NULL when it is not set. */
typedef const char *(*sm_cfg_lookup_fn)(void *ud, const char *name);

typedef struct sm_cfg_opts {
    const char *env_name;    /* overlay to apply (SMELTER_ENV); NULL or "" for none */
    const char *env_key;     /* the overlay section; NULL means "environments" */
    sm_cfg_lookup_fn lookup; /* NULL means getenv */
    void *lookup_ud;
    size_t max_file_size; /* 0 means 16 MiB */
} sm_cfg_opts;

/*
 * Reads and loads `path` (steps 1-3 above) into nodes allocated in `arena`. `opts` may be NULL.
 * An empty file gives a null scalar root. Errors: SM_ERR_IO when the file cannot be read,
 * SM_ERR_USAGE for anything wrong in it, with "<path>:<line>:<col>: " in front of the message.
 * On error *root_out is untouched; what was allocated stays in the arena.
 */
int sm_cfg_load(sm_arena *arena, const char *path, const sm_cfg_opts *opts, sm_cfg_node **root_out,
                sm_error *err);

/* The same over text already in memory; `file` names it in positions and errors. */
int sm_cfg_load_string(sm_arena *arena, const char *file, const char *text, size_t len,
                       const sm_cfg_opts *opts, sm_cfg_node **root_out, sm_error *err);

/* Step 1 alone: parse without overlay or interpolation (the tree keeps `environments`). */
int sm_cfg_parse(sm_arena *arena, const char *file, const char *text, size_t len,
                 sm_cfg_node **root_out, sm_error *err);

/* The value under `key` in a mapping, or NULL (also when map is NULL or not a mapping). */
sm_cfg_node *sm_cfg_get(const sm_cfg_node *map, const char *key);
/* The key node of the pair holding `value` in its parent mapping, or NULL. */
const sm_cfg_node *sm_cfg_key_node(const sm_cfg_node *value);

/* "a scalar", "a list", "a map" — for "expected a map, found a list". */
const char *sm_cfg_kind_name(sm_cfg_kind kind);

/* The path of a node from the root: "tables.silver_orders.expectations.valid_id.expr",
 * "source.kafka.topics[1]"; "" for the root. Writes at most n bytes; returns buf. */
char *sm_cfg_path(const sm_cfg_node *node, char *buf, size_t n);

/* Sets err (code, "<file>:<line>:<col>: " + message) at a node's position. Returns code. */
int sm_cfg_error(sm_error *err, sm_code code, const sm_cfg_node *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
