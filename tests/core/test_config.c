/* Tests of core/config.c: YAML into positioned nodes, ${VAR} interpolation, environment
 * overlays, duplicate keys and the constructs it refuses. */
#include <stdint.h>

#include "core/config.h"
#include "sm_test.h"

/* A fixed environment for the loader: NAME=value pairs. */
static const char *const test_env[] = {
    "BROKERS=k1:9092,k2:9092", "EMPTY=", "TOPIC=orders", "NESTED=${TOPIC}", NULL,
};

static const char *lookup(void *ud, const char *name)
{
    const char *const *env = ud;
    size_t n = strlen(name);
    for (size_t i = 0; env[i]; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
            return env[i] + n + 1;
        }
    }
    return NULL;
}

typedef struct loaded {
    sm_arena *arena;
    sm_cfg_node *root;
    sm_error err;
    int rc;
} loaded;

static void load_env(loaded *l, const char *text, const char *env_name)
{
    sm_cfg_opts opts = {.env_name = env_name, .lookup = lookup, .lookup_ud = (void *)test_env};
    l->arena = sm_arena_create(0, 0);
    l->root = NULL;
    sm_error_clear(&l->err);
    l->rc = sm_cfg_load_string(l->arena, "t.yaml", text, strlen(text), &opts, &l->root, &l->err);
}

static void load(loaded *l, const char *text)
{
    load_env(l, text, NULL);
}

static void done(loaded *l)
{
    sm_arena_destroy(l->arena);
    l->arena = NULL;
}

/* The node at a dotted path ("a.b.0.c": numbers index sequences). */
static const sm_cfg_node *at(const sm_cfg_node *n, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = buf, *save = NULL; n && (tok = strtok_r(tok, ".", &save)); tok = NULL) {
        if (n->kind == SM_CFG_SEQ) {
            size_t i = (size_t)atoi(tok);
            n = i < n->count ? n->items[i] : NULL;
        } else {
            n = sm_cfg_get(n, tok);
        }
    }
    return n;
}

static const char *str_at(const sm_cfg_node *root, const char *path)
{
    const sm_cfg_node *n = at(root, path);
    return n && n->kind == SM_CFG_SCALAR ? n->str : NULL;
}

/* Asserts a failed load whose message contains `want`. */
#define ASSERT_FAILS(l, want)                                                                      \
    do {                                                                                           \
        CU_ASSERT_EQUAL((l)->rc, SM_ERR_USAGE);                                                    \
        if (!strstr((l)->err.msg, want)) {                                                         \
            fprintf(stderr, "\n  message: %s\n  wanted:  %s\n", (l)->err.msg, want);               \
            CU_FAIL("error message");                                                              \
        }                                                                                          \
    } while (0)

static void test_cfg_block_style_nodes_have_lines_and_columns(void)
{
    loaded l;
    load(&l, "# comment\n"
             "pipeline: shop\n"
             "source:\n"
             "  kafka:\n"
             "    topics:\n"
             "      - orders\n"
             "      - clicks\n"
             "    port: 9092\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_EQUAL(l.root->kind, SM_CFG_MAP);
    const sm_cfg_node *n = at(l.root, "pipeline");
    CU_ASSERT_EQUAL(n->line, 2);
    CU_ASSERT_EQUAL(n->col, 11);
    CU_ASSERT_STRING_EQUAL(n->str, "shop");
    CU_ASSERT_STRING_EQUAL(n->file, "t.yaml");
    n = at(l.root, "source.kafka.topics.1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_STRING_EQUAL(n->str, "clicks");
    CU_ASSERT_EQUAL(n->line, 7);
    CU_ASSERT_EQUAL(n->col, 9);
    n = at(l.root, "source.kafka.port");
    CU_ASSERT_EQUAL(n->line, 8);
    CU_ASSERT_EQUAL(n->col, 11);
    /* the key node of a value */
    const sm_cfg_node *k = sm_cfg_key_node(at(l.root, "source.kafka"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_STRING_EQUAL(k->str, "kafka");
    CU_ASSERT_EQUAL(k->line, 4);
    CU_ASSERT_EQUAL(k->col, 3);
    done(&l);
}

static void test_cfg_flow_style_reads_like_block_style(void)
{
    loaded a, b;
    load(&a, "source: {kafka: {topics: [orders, clicks], port: 9092}}\n"
             "list: [{a: 1}, [x, y], plain]\n");
    load(&b, "source:\n  kafka:\n    topics:\n    - orders\n    - clicks\n    port: 9092\n"
             "list:\n- a: 1\n- [x, y]\n- plain\n");
    CU_ASSERT_EQUAL_FATAL(a.rc, SM_OK);
    CU_ASSERT_EQUAL_FATAL(b.rc, SM_OK);
    const char *paths[] = {"source.kafka.topics.0",
                           "source.kafka.topics.1",
                           "source.kafka.port",
                           "list.0.a",
                           "list.1.1",
                           "list.2"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(str_at(a.root, paths[i]));
        CU_ASSERT_STRING_EQUAL(str_at(a.root, paths[i]), str_at(b.root, paths[i]));
    }
    const sm_cfg_node *n = at(a.root, "source.kafka.topics.1");
    CU_ASSERT_EQUAL(n->line, 1);
    CU_ASSERT_EQUAL(n->col, 35);
    CU_ASSERT_EQUAL(at(a.root, "list")->kind, SM_CFG_SEQ);
    CU_ASSERT_EQUAL(at(a.root, "list")->count, 3);
    done(&a);
    done(&b);
}

static void test_cfg_scalars_keep_text_and_tell_null_from_quoted(void)
{
    loaded l;
    load(&l, "a:\nb: ~\nc: null\nd: 'null'\ne: \"\"\nf: yes\ng: 1e3\nh: !!str 12\n"
             "i: |\n  two\n  lines\nj: 'it''s'\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_TRUE(at(l.root, "a")->is_null);
    CU_ASSERT_TRUE(at(l.root, "b")->is_null);
    CU_ASSERT_TRUE(at(l.root, "c")->is_null);
    CU_ASSERT_FALSE(at(l.root, "d")->is_null);
    CU_ASSERT_TRUE(at(l.root, "d")->quoted);
    CU_ASSERT_FALSE(at(l.root, "e")->is_null);
    CU_ASSERT_EQUAL(at(l.root, "e")->len, 0);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "f"), "yes"); /* no YAML 1.1 booleans */
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "g"), "1e3");
    CU_ASSERT_TRUE(at(l.root, "h")->quoted);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "i"), "two\nlines\n");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "j"), "it's");
    done(&l);
}

static void test_cfg_path_names_keys_and_indexes(void)
{
    loaded l;
    char buf[128];
    load(&l, "tables:\n  silver:\n    expectations:\n      - {name: x, expr: y}\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(
        sm_cfg_path(at(l.root, "tables.silver.expectations.0.expr"), buf, sizeof buf),
        "tables.silver.expectations[0].expr");
    CU_ASSERT_STRING_EQUAL(sm_cfg_path(l.root, buf, sizeof buf), "");
    CU_ASSERT_STRING_EQUAL(sm_cfg_path(at(l.root, "tables.silver"), buf, 8), "tables.");
    done(&l);
}

static void test_cfg_interpolates_variables_and_defaults(void)
{
    loaded l;
    load(&l, "a: ${BROKERS}\n"
             "b: ${MISSING:-localhost:9092}\n"
             "c: ${EMPTY:-fallback}\n"
             "d: ${EMPTY-kept_empty}\n"
             "e: ${MISSING-unset}\n"
             "f: x-${TOPIC}-${TOPIC}-y\n"
             "g: $${NOT_A_VAR} costs $5\n"
             "h: ${MISSING:-${TOPIC}}\n"
             "i: ${MISSING:-}\n"
             "j: [\"${TOPIC}\", '${TOPIC}']\n"
             "${TOPIC}: key not interpolated\n"
             "k: ${NESTED}\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "a"), "k1:9092,k2:9092");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "b"), "localhost:9092");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "c"), "fallback");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "d"), "");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "e"), "unset");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "f"), "x-orders-orders-y");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "g"), "${NOT_A_VAR} costs $5");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "h"), "orders");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "i"), "");
    CU_ASSERT_FALSE(at(l.root, "i")->is_null); /* an empty default is a value */
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "j.0"), "orders");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "j.1"), "orders");
    CU_ASSERT_PTR_NOT_NULL(sm_cfg_get(l.root, "${TOPIC}"));
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "k"), "${TOPIC}"); /* values are not re-expanded */
    done(&l);
}

static void test_cfg_unset_variable_names_file_line_and_variable(void)
{
    loaded l;
    load(&l, "a: 1\nsource:\n  servers: \"${KAFKA_PASSWORD}\"\n");
    ASSERT_FAILS(&l, "t.yaml:3:12: ${KAFKA_PASSWORD} is not set");
    CU_ASSERT_PTR_NOT_NULL(strstr(l.err.msg, "${KAFKA_PASSWORD:-"));
    done(&l);

    load(&l, "a: ${EMPTY:?give the brokers}\n");
    ASSERT_FAILS(&l, "t.yaml:1:4: ${EMPTY}: give the brokers");
    done(&l);
    load(&l, "a: ${MISSING?}\n");
    ASSERT_FAILS(&l, "${MISSING} is not set");
    done(&l);
    load(&l, "a: ${TOPIC\n");
    ASSERT_FAILS(&l, "t.yaml:1:4: unterminated '${'");
    done(&l);
    load(&l, "a: ${9LIVES}\n");
    ASSERT_FAILS(&l, "'${9LIVES}' is not a variable reference");
    done(&l);
    load(&l, "a: ${TOPIC:=x}\n");
    ASSERT_FAILS(&l, "expected ${TOPIC}, ${TOPIC:-default} or ${TOPIC:?message}");
    done(&l);
    load(&l, "a: ${}\n");
    ASSERT_FAILS(&l, "is not a variable reference");
    done(&l);
    /* defaults nest, but not without end */
    load(&l, "a: ${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-${J:-x}}}}}}}}}}\n");
    ASSERT_FAILS(&l, "nested deeper");
    done(&l);
}

static void test_cfg_environment_overlay_deep_merges(void)
{
    loaded l;
    const char *text = "trigger:\n"
                       "  interval: 5s\n"
                       "  max_files: 16\n"
                       "topics: [a, b]\n"
                       "name: base\n"
                       "environments:\n"
                       "  prod:\n"
                       "    trigger: {max_files: 1000, target: 256MB}\n"
                       "    topics: [c]\n"
                       "    extra: {x: 1}\n"
                       "  dev:\n"
                       "    name: ${MISSING_ONLY_IN_DEV}\n";
    load_env(&l, text, "prod");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "trigger.interval"), "5s");    /* kept */
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "trigger.max_files"), "1000"); /* replaced */
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "trigger.target"), "256MB");   /* added */
    CU_ASSERT_EQUAL(at(l.root, "topics")->count, 1);                     /* lists replace */
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "topics.0"), "c");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "extra.x"), "1");
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "name"), "base");
    CU_ASSERT_PTR_NULL(sm_cfg_get(l.root, "environments"));
    /* an overridden value points into the overlay, and its path is the effective one */
    const sm_cfg_node *n = at(l.root, "trigger.max_files");
    char buf[64];
    CU_ASSERT_EQUAL(n->line, 8);
    CU_ASSERT_STRING_EQUAL(sm_cfg_path(n, buf, sizeof buf), "trigger.max_files");
    CU_ASSERT_STRING_EQUAL(sm_cfg_path(at(l.root, "extra.x"), buf, sizeof buf), "extra.x");
    CU_ASSERT_PTR_EQUAL(sm_cfg_key_node(at(l.root, "extra"))->str, at(l.root, "extra")->key);
    done(&l);

    /* no environment: the section is dropped, and its unset variables do not matter */
    load_env(&l, text, NULL);
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "trigger.max_files"), "16");
    CU_ASSERT_PTR_NULL(sm_cfg_get(l.root, "environments"));
    CU_ASSERT_EQUAL(l.root->count, 3);
    done(&l);

    /* ... but the chosen environment's do */
    load_env(&l, text, "dev");
    ASSERT_FAILS(&l, "t.yaml:12:11: ${MISSING_ONLY_IN_DEV} is not set");
    done(&l);

    load_env(&l, text, "staging");
    ASSERT_FAILS(&l, "t.yaml:6:1: unknown environment 'staging'; known: prod, dev");
    done(&l);

    load_env(&l, "a: 1\n", "prod");
    ASSERT_FAILS(&l, "unknown environment 'prod': the file declares no environments");
    done(&l);

    load_env(&l, "a: 1\nenvironments: [prod]\n", NULL);
    ASSERT_FAILS(&l, "t.yaml:2:15: environments must be a map");
    done(&l);

    load_env(&l, "a: 1\nenvironments:\n  prod: 7\n", NULL);
    ASSERT_FAILS(&l, "environments.prod must be a map of overrides");
    done(&l);

    /* an empty environment is allowed and changes nothing */
    load_env(&l, "a: 1\nenvironments:\n  prod:\n", "prod");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(l.root, "a"), "1");
    done(&l);

    /* a custom overlay key */
    sm_cfg_opts opts = {.env_name = "b", .env_key = "profiles"};
    sm_arena *a = sm_arena_create(0, 0);
    sm_cfg_node *root = NULL;
    const char *t2 = "x: 1\nprofiles: {b: {x: 2}}\n";
    CU_ASSERT_EQUAL(sm_cfg_load_string(a, "p.yaml", t2, strlen(t2), &opts, &root, NULL), SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(root, "x"), "2");
    sm_arena_destroy(a);
}

static void test_cfg_duplicate_keys_name_both_lines(void)
{
    loaded l;
    load(&l, "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n");
    ASSERT_FAILS(&l, "t.yaml:5:3: duplicate key 'x' (first at line 3)");
    done(&l);
    load(&l, "{a: 1, b: 2, a: 3}\n");
    ASSERT_FAILS(&l, "duplicate key 'a' (first at line 1)");
    done(&l);

    /* a large map takes the sorted path: the earliest repeat is reported */
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "k%02d: %d\n", i, i);
    }
    len += (size_t)snprintf(text + len, sizeof text - len, "k07: again\nk03: again\nk07: more\n");
    load(&l, text);
    ASSERT_FAILS(&l, "t.yaml:41:1: duplicate key 'k07' (first at line 8)");
    done(&l);
    /* keys that differ only in case are different keys */
    load(&l, "a: 1\nA: 2\n");
    CU_ASSERT_EQUAL(l.rc, SM_OK);
    done(&l);
}

static void test_cfg_refuses_anchors_aliases_merges_tags_and_documents(void)
{
    loaded l;
    load(&l, "base: &b {x: 1}\n");
    ASSERT_FAILS(&l, "t.yaml:1:7: anchors (&b) and aliases are not supported");
    done(&l);
    load(&l, "x: *b\n");
    ASSERT_FAILS(&l, "aliases (*b)");
    done(&l);
    load(&l, "a:\n  <<: {x: 1}\n");
    ASSERT_FAILS(&l, "t.yaml:2:3: merge keys (<<) are not supported");
    done(&l);
    load(&l, "a: !secret x\n");
    ASSERT_FAILS(&l, "t.yaml:1:4: tag '!secret' is not supported");
    done(&l);
    load(&l, "a: !!int 5\nb: !!map {x: 1}\n");
    CU_ASSERT_EQUAL(l.rc, SM_OK);
    done(&l);
    load(&l, "a: 1\n---\nb: 2\n");
    ASSERT_FAILS(&l, "t.yaml:2:1: a second document");
    done(&l);
    load(&l, "? [a, b]\n: 1\n");
    ASSERT_FAILS(&l, "a key must be a plain value, not a list");
    done(&l);
    load(&l, "{[a]: 1}\n");
    ASSERT_FAILS(&l, "a key must be a plain value");
    done(&l);
}

static void test_cfg_syntax_errors_name_line_and_column(void)
{
    loaded l;
    load(&l, "a: 1\nb: [1, 2\nc: 3\n");
    ASSERT_FAILS(&l, "t.yaml:");
    ASSERT_FAILS(&l, "YAML syntax error");
    done(&l);
    load(&l, "a: 1\n\tb: 2\n");
    ASSERT_FAILS(&l, "t.yaml:2:");
    done(&l);
    load(&l, "a: 1\n b: 2\n");
    ASSERT_FAILS(&l, "t.yaml:2:");
    done(&l);
    load(&l, "topics: [${TOPIC}]\n");
    ASSERT_FAILS(&l, "quote values holding ${...}");
    done(&l);
    load(&l, "a: \"\xff\xfe\"\n");
    ASSERT_FAILS(&l, "t.yaml: not readable as UTF-8");
    done(&l);
}

static void test_cfg_empty_input_is_a_null_root(void)
{
    loaded l;
    load(&l, "");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_EQUAL(l.root->kind, SM_CFG_SCALAR);
    CU_ASSERT_TRUE(l.root->is_null);
    CU_ASSERT_EQUAL(l.root->line, 1);
    done(&l);
    load(&l, "# only a comment\n---\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_TRUE(l.root->is_null);
    done(&l);
    load(&l, "just text\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(l.root->str, "just text");
    done(&l);
}

static void test_cfg_deep_nesting_is_an_error_not_a_crash(void)
{
    loaded l;
    char text[20000];
    memset(text, '[', 10000);
    memset(text + 10000, ']', 9999);
    text[19999] = '\0';
    load(&l, text);
    ASSERT_FAILS(&l, "nesting deeper than 64 levels");
    done(&l);
    memset(text, 0, sizeof text);
    for (int i = 0; i < 63; i++) {
        strcat(text, "{a: ");
    }
    strcat(text, "1");
    for (int i = 0; i < 63; i++) {
        strcat(text, "}");
    }
    load(&l, text);
    CU_ASSERT_EQUAL(l.rc, SM_OK);
    done(&l);
}

static void test_cfg_load_reads_a_file(void)
{
    char *dir = sm_test_tmpdir("config");
    char path[4096];
    sm_arena *a = sm_arena_create(0, 0);
    sm_cfg_node *root = NULL;
    sm_error err;
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("pipeline: shop\nlake: ${SMELTER_TEST_SURELY_UNSET:-./lake}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(sm_cfg_load(a, path, NULL, &root, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(str_at(root, "lake"), "./lake");
    CU_ASSERT_STRING_EQUAL(at(root, "lake")->file, path);

    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    CU_ASSERT_EQUAL(sm_cfg_load(a, path, NULL, &root, &err), SM_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing.yaml"));

    /* larger than the limit: a usage error, not an allocation */
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    sm_cfg_opts small = {.max_file_size = 8};
    CU_ASSERT_EQUAL(sm_cfg_load(a, path, &small, &root, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "larger than 8 bytes"));
    sm_arena_destroy(a);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_cfg_error_helper_prefixes_position(void)
{
    loaded l;
    sm_error err;
    load(&l, "a:\n  b: x\n");
    CU_ASSERT_EQUAL_FATAL(l.rc, SM_OK);
    CU_ASSERT_EQUAL(sm_cfg_error(&err, SM_ERR_USAGE, at(l.root, "a.b"), "bad %s", "thing"),
                    SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "t.yaml:2:6: bad thing");
    CU_ASSERT_STRING_EQUAL(sm_cfg_kind_name(SM_CFG_MAP), "a map");
    CU_ASSERT_PTR_NULL(sm_cfg_get(at(l.root, "a.b"), "x"));
    CU_ASSERT_PTR_NULL(sm_cfg_key_node(l.root));
    done(&l);
}

static CU_TestInfo tests[] = {
    {"block style nodes have lines and columns", test_cfg_block_style_nodes_have_lines_and_columns},
    {"flow style reads like block style", test_cfg_flow_style_reads_like_block_style},
    {"scalars keep text, tell null from quoted",
     test_cfg_scalars_keep_text_and_tell_null_from_quoted},
    {"path names keys and indexes", test_cfg_path_names_keys_and_indexes},
    {"interpolates variables and defaults", test_cfg_interpolates_variables_and_defaults},
    {"unset variable names file, line and variable",
     test_cfg_unset_variable_names_file_line_and_variable},
    {"environment overlay deep-merges", test_cfg_environment_overlay_deep_merges},
    {"duplicate keys name both lines", test_cfg_duplicate_keys_name_both_lines},
    {"refuses anchors, aliases, merges, tags, documents",
     test_cfg_refuses_anchors_aliases_merges_tags_and_documents},
    {"syntax errors name line and column", test_cfg_syntax_errors_name_line_and_column},
    {"empty input is a null root", test_cfg_empty_input_is_a_null_root},
    {"deep nesting is an error, not a crash", test_cfg_deep_nesting_is_an_error_not_a_crash},
    {"load reads a file", test_cfg_load_reads_a_file},
    {"error helper prefixes the position", test_cfg_error_helper_prefixes_position},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("config", tests)
