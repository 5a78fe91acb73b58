/*
 * Tests of stream/pipeline.c: the example pipeline loads with the values it says, every bad
 * file in tests/stream/configs/ fails with its message at its line, the configuration hash moves
 * only when the table contents would, `smelter validate` exit codes, and docs/configuration.md
 * is what the option table prints.
 *
 * A bad file says what it expects in its first lines:
 *   # env: prod                              (optional: the environment overlay to apply)
 *   # expect: 12: unknown key 'x' in trigger (the line of the error and a part of its message)
 */
#include <sys/wait.h>
#include <unistd.h>

#include "core/durable.h"
#include "stream/pipeline.h"
#include "sm_test.h"

static const char *src_dir(void)
{
    const char *s = getenv("SMELTER_SOURCE_DIR");
    return s ? s : ".";
}

/* Loads `text` as a file named `name` in tests/stream/configs (so relative schemas resolve). */
static int load_text(const char *text, const char *env, sm_pipeline **p, sm_error *err)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/tests/stream/configs/inline.yaml", src_dir());
    return sm_pipeline_load_string(file, text, strlen(text), env, NULL, p, err);
}

static const char minimal_head[] =
    "pipeline: shop\n"
    "source:\n"
    "  kafka: {bootstrap_servers: localhost:9092, topics: [orders]}\n"
    "  schema: ../../../schemas/orders.avsc\n";

/* minimal_head + extra + a tables section. */
static int load_with(const char *extra, const char *tables, sm_pipeline **p, sm_error *err)
{
    char text[8192];
    snprintf(text, sizeof text, "%s%s%s", minimal_head, extra,
             tables ? tables : "tables: {bronze_orders: {}}\n");
    return load_text(text, NULL, p, err);
}

/* --- the example -------------------------------------------------------------------------- */

static sm_pipeline *load_example(const char *env)
{
    char path[4096];
    sm_pipeline *p = NULL;
    sm_error err;
    snprintf(path, sizeof path, "%s/schemas/examples/ecommerce.yaml", src_dir());
    if (sm_pipeline_load(path, env, NULL, &p, &err) != SM_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
    }
    return p;
}

static void test_pipeline_example_loads_with_its_values(void)
{
    unsetenv("SMELTER_LAKE");
    unsetenv("KAFKA_BOOTSTRAP");
    sm_pipeline *p = load_example(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->name, "ecommerce");
    CU_ASSERT_STRING_EQUAL(p->lake, "./lake");
    CU_ASSERT_PTR_NULL(p->env);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.bootstrap_servers, "localhost:9092");
    CU_ASSERT_EQUAL_FATAL(p->source.kafka.topics.count, 1);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.topics.items[0], "orders");
    CU_ASSERT_EQUAL(p->source.kafka.starting, SM_PL_START_EARLIEST);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.starting_offsets, "earliest");
    CU_ASSERT_TRUE(p->source.kafka.fail_on_data_loss);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.group_id, "smelter-ecommerce");
    CU_ASSERT(p->source.kafka.consumer_threads >= 1);
    CU_ASSERT_EQUAL(p->source.kafka.consumer_threads, sysconf(_SC_NPROCESSORS_ONLN));
    CU_ASSERT_EQUAL(p->source.kafka.options.count, 1);
    CU_ASSERT_STRING_EQUAL(sm_strmap_get(&p->source.kafka.options, "security.protocol"),
                           "plaintext");
    CU_ASSERT_EQUAL(p->source.format, SM_PL_FORMAT_JSON);
    CU_ASSERT_STRING_EQUAL(p->source.schema, "../orders.avsc");
    CU_ASSERT_PTR_NOT_NULL(strstr(p->source.schema_path, "schemas/examples/../orders.avsc"));
    CU_ASSERT_EQUAL(access(p->source.schema_path, R_OK), 0);

    CU_ASSERT_EQUAL(p->trigger.interval_ms, 5000);
    CU_ASSERT_FALSE(p->trigger.available_now);
    CU_ASSERT_EQUAL(p->trigger.max_bytes_per_trigger, 256ULL << 20);
    CU_ASSERT_EQUAL(p->trigger.max_records_per_trigger, 2000000);
    CU_ASSERT_EQUAL(p->trigger.max_files_per_trigger, 16);
    CU_ASSERT_EQUAL(p->trigger.target_file_size, 128ULL << 20);
    CU_ASSERT_STRING_EQUAL(p->watermark.column, "order_ts");
    CU_ASSERT_EQUAL(p->watermark.delay_ms, 600000);
    CU_ASSERT_EQUAL(p->checkpoint.retention_batches, 100);
    CU_ASSERT_STRING_EQUAL(p->checkpoint.location, "./lake/_checkpoints/ecommerce");
    CU_ASSERT_STRING_EQUAL(p->dead_letter_table, "ecommerce_dead_letter");

    CU_ASSERT_EQUAL_FATAL(p->n_tables, 3);
    const sm_pl_table *b = &p->tables[0], *s = &p->tables[1], *g = &p->tables[2];
    CU_ASSERT_STRING_EQUAL(b->name, "bronze_orders");
    CU_ASSERT_EQUAL(b->layer, SM_PL_BRONZE);
    CU_ASSERT_PTR_NULL(b->from);
    CU_ASSERT_EQUAL(b->from_index, -1);
    CU_ASSERT_STRING_EQUAL(b->path, "./lake/bronze/bronze_orders");
    CU_ASSERT_EQUAL_FATAL(b->partition_by.count, 1);
    CU_ASSERT_STRING_EQUAL(b->partition_by.items[0], "_ingestion_date");
    CU_ASSERT_EQUAL(b->pos.line, 27);
    CU_ASSERT_EQUAL(b->pos.col, 3);

    CU_ASSERT_STRING_EQUAL(s->name, "silver_orders");
    CU_ASSERT_EQUAL(s->layer, SM_PL_SILVER); /* from the name: the file does not say */
    CU_ASSERT_STRING_EQUAL(s->from, "bronze_orders");
    CU_ASSERT_EQUAL(s->from_index, 0);
    CU_ASSERT_STRING_EQUAL(s->path, "./lake/silver/silver_orders");
    CU_ASSERT_EQUAL(s->partition_by.count, 0);
    CU_ASSERT_EQUAL_FATAL(s->n_expectations, 4);
    CU_ASSERT_STRING_EQUAL(s->expectations[0].name, "valid_order_id");
    CU_ASSERT_STRING_EQUAL(s->expectations[0].expr,
                           "order_id IS NOT NULL AND length(trim(order_id)) > 0");
    CU_ASSERT_EQUAL(s->expectations[0].on_violation, SM_PL_DROP);
    CU_ASSERT_STRING_EQUAL(s->expectations[1].name, "valid_quantity");
    CU_ASSERT_EQUAL(s->expectations[1].on_violation, SM_PL_DROP);
    CU_ASSERT_STRING_EQUAL(s->expectations[2].name, "valid_price");
    CU_ASSERT_EQUAL(s->expectations[2].on_violation, SM_PL_DROP);
    CU_ASSERT_STRING_EQUAL(s->expectations[3].name, "sane_total");
    CU_ASSERT_STRING_EQUAL(s->expectations[3].expr, "price * quantity <= 100000");
    CU_ASSERT_EQUAL(s->expectations[3].on_violation, SM_PL_WARN);
    CU_ASSERT_EQUAL(s->expectations[3].pos.line, 34);
    CU_ASSERT_EQUAL(s->expectations[3].pos.col, 30);
    CU_ASSERT_EQUAL_FATAL(s->dedup_keys.count, 1);
    CU_ASSERT_STRING_EQUAL(s->dedup_keys.items[0], "order_id");
    CU_ASSERT_STRING_EQUAL(s->quarantine, "silver_orders_quarantine");
    CU_ASSERT_EQUAL(s->n_aggregates, 0);

    CU_ASSERT_STRING_EQUAL(g->name, "gold_daily_sales");
    CU_ASSERT_EQUAL(g->layer, SM_PL_GOLD);
    CU_ASSERT_EQUAL(g->from_index, 1);
    CU_ASSERT_STRING_EQUAL(g->window_column, "order_ts");
    CU_ASSERT_EQUAL(g->window_size_ms, 86400000);
    CU_ASSERT_EQUAL(g->window_slide_ms, 86400000);
    CU_ASSERT_EQUAL_FATAL(g->group_by.count, 1);
    CU_ASSERT_STRING_EQUAL(g->group_by.items[0], "category");
    CU_ASSERT_EQUAL_FATAL(g->n_aggregates, 3);
    CU_ASSERT_STRING_EQUAL(g->aggregates[0].name, "orders");
    CU_ASSERT_STRING_EQUAL(g->aggregates[0].expr, "count(*)");
    CU_ASSERT_STRING_EQUAL(g->aggregates[1].name, "revenue");
    CU_ASSERT_STRING_EQUAL(g->aggregates[1].expr, "sum(price * quantity)");
    CU_ASSERT_STRING_EQUAL(g->aggregates[2].name, "avg_price");
    CU_ASSERT_EQUAL(g->output_mode, SM_PL_APPEND);

    CU_ASSERT_PTR_EQUAL(sm_pipeline_table(p, "silver_orders"), s);
    CU_ASSERT_PTR_NULL(sm_pipeline_table(p, "silver"));
    CU_ASSERT_EQUAL(strlen(p->config_hash_hex), 16);
    CU_ASSERT_EQUAL(sm_pipeline_config_hash(p), p->config_hash);
    sm_pipeline_free(p);
}

static void test_pipeline_example_environments_and_variables(void)
{
    unsetenv("SMELTER_LAKE");
    sm_pipeline *base = load_example(NULL);
    sm_pipeline *prod = load_example("prod");
    sm_pipeline *dev = load_example("dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prod);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
    CU_ASSERT_STRING_EQUAL(prod->env, "prod");
    CU_ASSERT_EQUAL(prod->trigger.max_files_per_trigger, 1000);
    CU_ASSERT_EQUAL(prod->trigger.target_file_size, 256ULL << 20);
    CU_ASSERT_EQUAL(prod->trigger.max_bytes_per_trigger, 256ULL << 20); /* kept from the base */
    CU_ASSERT_TRUE(dev->trigger.available_now);
    CU_ASSERT_EQUAL(dev->trigger.max_bytes_per_trigger, 16ULL << 20);
    /* triggers do not change what the tables hold: same hash */
    CU_ASSERT_EQUAL(base->config_hash, prod->config_hash);
    CU_ASSERT_EQUAL(base->config_hash, dev->config_hash);
    sm_pipeline_free(base);
    sm_pipeline_free(prod);
    sm_pipeline_free(dev);

    setenv("SMELTER_LAKE", "/data/lake", 1);
    setenv("KAFKA_BOOTSTRAP", "kafka-1:9093", 1);
    sm_pipeline *p = load_example(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->lake, "/data/lake");
    CU_ASSERT_STRING_EQUAL(p->source.kafka.bootstrap_servers, "kafka-1:9093");
    CU_ASSERT_STRING_EQUAL(p->tables[2].path, "/data/lake/gold/gold_daily_sales");
    CU_ASSERT_STRING_EQUAL(p->checkpoint.location, "/data/lake/_checkpoints/ecommerce");
    sm_pipeline_free(p);
    unsetenv("SMELTER_LAKE");
    unsetenv("KAFKA_BOOTSTRAP");

    /* SMELTER_ENV itself is the caller's to read: the loader takes the name */
    setenv("SMELTER_ENV", "nonsense", 1);
    p = load_example(NULL);
    CU_ASSERT_PTR_NOT_NULL(p);
    sm_pipeline_free(p);
    unsetenv("SMELTER_ENV");
}

/* --- bad and good files ------------------------------------------------------------------ */

typedef struct expectation {
    int line;
    char env[64];
    char text[512];
} expectation;

/* Reads "# env:" and "# expect: L: text" from the head of a bad file. */
static bool read_expectation(const char *path, expectation *e)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    bool found = false;
    memset(e, 0, sizeof *e);
    while (f && fgets(line, sizeof line, f) && line[0] == '#') {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "# env: ", 7) == 0) {
            snprintf(e->env, sizeof e->env, "%.63s", line + 7);
        } else if (sscanf(line, "# expect: %d: ", &e->line) == 1) {
            const char *text = strchr(line + 10, ':') + 2;
            snprintf(e->text, sizeof e->text, "%s", text);
            found = true;
        }
    }
    if (f) {
        fclose(f);
    }
    return found;
}

/* The sorted names of configs/<prefix>*.yaml; returns the count. */
static size_t list_configs(const char *prefix, char names[][128], size_t max)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s/tests/stream/configs' && ls %s*.yaml", src_dir(), prefix);
    FILE *ls = popen(cmd, "r");
    size_t n = 0;
    while (ls && n < max && fgets(names[n], 128, ls)) {
        names[n][strcspn(names[n], "\n")] = '\0';
        n++;
    }
    if (ls) {
        pclose(ls);
    }
    return n;
}

static void test_pipeline_bad_files_fail_at_their_line_with_their_message(void)
{
    static char names[128][128];
    size_t n = list_configs("bad_", names, 128);
    CU_ASSERT(n >= 12); /* the issue asks for a dozen kinds; there are more */
    for (size_t i = 0; i < n; i++) {
        char path[4096], want[4200];
        expectation e;
        sm_pipeline *p = NULL;
        sm_error err;
        snprintf(path, sizeof path, "%s/tests/stream/configs/%s", src_dir(), names[i]);
        if (!read_expectation(path, &e)) {
            fprintf(stderr, "\n  %s: no '# expect: LINE: text' line\n", names[i]);
            CU_FAIL("bad file without expectation");
            continue;
        }
        int rc = sm_pipeline_load(path, e.env[0] ? e.env : NULL, NULL, &p, &err);
        snprintf(want, sizeof want, "%s:%d:", path, e.line);
        bool ok = rc == SM_ERR_USAGE && p == NULL && strncmp(err.msg, want, strlen(want)) == 0 &&
                  strstr(err.msg, e.text) != NULL;
        if (!ok) {
            fprintf(stderr, "\n  %s: rc %d\n  got:    %s\n  wanted: %s ... %s\n", names[i], rc,
                    rc ? err.msg : "(loaded)", want, e.text);
            CU_FAIL("bad file");
        }
        /* one line, no newline inside */
        CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
        sm_pipeline_free(p);
    }
}

static void test_pipeline_good_files_load(void)
{
    static char names[32][128];
    size_t n = list_configs("good_", names, 32);
    CU_ASSERT(n >= 2);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        sm_pipeline *p = NULL;
        sm_error err;
        snprintf(path, sizeof path, "%s/tests/stream/configs/%s", src_dir(), names[i]);
        if (sm_pipeline_load(path, NULL, NULL, &p, &err) != SM_OK) {
            fprintf(stderr, "\n  %s: %s\n", names[i], err.msg);
            CU_FAIL("good file");
        }
        sm_pipeline_free(p);
    }
}

static void test_pipeline_flow_file_values(void)
{
    char path[4096];
    sm_pipeline *p = NULL;
    sm_error err;
    snprintf(path, sizeof path, "%s/tests/stream/configs/good_flow.yaml", src_dir());
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load(path, NULL, NULL, &p, &err), SM_OK);
    CU_ASSERT_EQUAL(p->source.kafka.starting, SM_PL_START_OFFSETS);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.starting_offsets_json,
                           "{\"orders\":{\"0\":42,\"1\":-2}}");
    CU_ASSERT_FALSE(p->source.kafka.fail_on_data_loss);
    CU_ASSERT_EQUAL(p->source.kafka.consumer_threads, 3);
    CU_ASSERT_EQUAL(p->source.kafka.options.count, 2);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.options.keys[1], "fetch.max.bytes");
    CU_ASSERT_STRING_EQUAL(p->source.kafka.options.values[1], "1048576");
    CU_ASSERT_EQUAL(p->source.format, SM_PL_FORMAT_AVRO);
    CU_ASSERT_TRUE(p->trigger.available_now);
    CU_ASSERT_EQUAL(p->trigger.max_records_per_trigger, 1000000);
    CU_ASSERT_EQUAL(p->watermark.delay_ms, 60000);
    CU_ASSERT_STRING_EQUAL(p->checkpoint.location, "/tmp/flow-ckpt");
    CU_ASSERT_EQUAL(p->checkpoint.retention_batches, 7);
    CU_ASSERT_EQUAL_FATAL(p->n_tables, 3);
    /* layers from the shape: no from → bronze, aggregates → gold, else silver */
    CU_ASSERT_EQUAL(p->tables[0].layer, SM_PL_BRONZE);
    CU_ASSERT_EQUAL(p->tables[0].partition_by.count, 0); /* [] turns the default off */
    CU_ASSERT_EQUAL(p->tables[1].layer, SM_PL_SILVER);
    CU_ASSERT_EQUAL(p->tables[2].layer, SM_PL_GOLD);
    /* the shorthand expectation is a warn rule */
    CU_ASSERT_EQUAL_FATAL(p->tables[1].n_expectations, 2);
    CU_ASSERT_STRING_EQUAL(p->tables[1].expectations[0].expr, "order_id IS NOT NULL");
    CU_ASSERT_EQUAL(p->tables[1].expectations[0].on_violation, SM_PL_WARN);
    CU_ASSERT_EQUAL(p->tables[1].expectations[1].on_violation, SM_PL_FAIL);
    CU_ASSERT_EQUAL(p->tables[2].window_slide_ms, 60000);
    CU_ASSERT_EQUAL(p->tables[2].window_size_ms, 600000);
    sm_pipeline_free(p);
}

static void test_pipeline_starting_offsets_forms(void)
{
    static const struct {
        const char *value;
        int kind;
        int64_t ts;
    } cases[] = {
        {"latest", SM_PL_START_LATEST, 0},
        {"EARLIEST", SM_PL_START_EARLIEST, 0},
        {"1700000000000", SM_PL_START_TIMESTAMP, 1700000000000LL},
        {"2023-11-14T22:13:20Z", SM_PL_START_TIMESTAMP, 1700000000000LL},
        {"'{\"orders\": {\"3\": 7}}'", SM_PL_START_OFFSETS, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        sm_pipeline *p = NULL;
        sm_error err;
        snprintf(text, sizeof text,
                 "pipeline: shop\nsource:\n  kafka:\n    bootstrap_servers: k:1\n    topics: "
                 "[orders]\n    starting_offsets: %s\n  schema: ../../../schemas/orders.avsc\n"
                 "tables: {bronze_orders: }\n",
                 cases[i].value);
        if (load_text(text, NULL, &p, &err) != SM_OK) {
            fprintf(stderr, "\n  %s: %s\n", cases[i].value, err.msg);
            CU_FAIL("starting_offsets");
            continue;
        }
        CU_ASSERT_EQUAL(p->source.kafka.starting, cases[i].kind);
        if (cases[i].kind == SM_PL_START_TIMESTAMP) {
            CU_ASSERT_EQUAL(p->source.kafka.starting_timestamp_ms, cases[i].ts);
        }
        if (cases[i].kind == SM_PL_START_OFFSETS) {
            CU_ASSERT_STRING_EQUAL(p->source.kafka.starting_offsets_json, "{\"orders\":{\"3\":7}}");
        }
        sm_pipeline_free(p);
    }
    static const char *const bad[] = {
        "'{\"orders\": 5}'", "'{\"orders\": {\"x\": 1}}'", "'{\"orders\": {\"0\": -3}}'",
        "'{not json'",       "{orders: {0: [1]}}",         "[earliest]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        sm_pipeline *p = NULL;
        sm_error err;
        snprintf(text, sizeof text,
                 "pipeline: shop\nsource:\n  kafka:\n    bootstrap_servers: k:1\n    topics: "
                 "[orders]\n    starting_offsets: %s\n  schema: ../../../schemas/orders.avsc\n"
                 "tables: {bronze_orders: }\n",
                 bad[i]);
        CU_ASSERT_EQUAL(load_text(text, NULL, &p, &err), SM_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inline.yaml:6:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "source.kafka.starting_offsets"));
    }
}

/* --- the hash ------------------------------------------------------------------------------ */

static uint64_t hash_of(const char *extra, const char *tables)
{
    sm_pipeline *p = NULL;
    sm_error err;
    if (load_with(extra, tables, &p, &err) != SM_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        CU_FAIL("load for hash");
        return 0;
    }
    uint64_t h = sm_pipeline_config_hash(p);
    sm_pipeline_free(p);
    return h;
}

static void test_pipeline_hash_moves_only_with_table_contents(void)
{
    static const char silver[] = "tables:\n"
                                 "  bronze_orders: {}\n"
                                 "  silver_orders:\n"
                                 "    from: bronze_orders\n"
                                 "    expectations:\n"
                                 "      a: {expr: \"quantity > 0\"}\n"
                                 "      b: {expr: \"price > 0\", on_violation: drop}\n";
    uint64_t h = hash_of("", silver);
    CU_ASSERT_NOT_EQUAL(h, 0);
    CU_ASSERT_EQUAL(h, hash_of("", silver)); /* stable */

    /* left out: triggers, connection, threads, paths, retention, starting offsets */
    CU_ASSERT_EQUAL(h, hash_of("trigger: {interval: 1m, max_bytes_per_trigger: 1GB, "
                               "available_now: true}\nlake: /elsewhere\n"
                               "checkpoint: {retention_batches: 5}\n",
                               silver));
    CU_ASSERT_EQUAL(h, hash_of("", "tables:\n"
                                   "  silver_orders:\n"
                                   "    from: bronze_orders\n"
                                   "    expectations:\n"
                                   "      a: \"quantity > 0\"\n"
                                   "      b: {on_violation: drop, expr: \"price > 0\"}\n"
                                   "  bronze_orders: {partition_by: [_ingestion_date]}\n"));
    /* explicit defaults count as absent */
    CU_ASSERT_EQUAL(h, hash_of("", "tables:\n"
                                   "  bronze_orders: {layer: bronze}\n"
                                   "  silver_orders:\n"
                                   "    layer: silver\n"
                                   "    from: bronze_orders\n"
                                   "    expectations:\n"
                                   "      a: {expr: \"quantity > 0\", on_violation: warn}\n"
                                   "      b: {expr: \"price > 0\", on_violation: drop}\n"));

    /* in: what the tables hold */
    CU_ASSERT_NOT_EQUAL(h, hash_of("", "tables:\n"
                                       "  bronze_orders: {}\n"
                                       "  silver_orders:\n"
                                       "    from: bronze_orders\n"
                                       "    expectations:\n"
                                       "      a: {expr: \"quantity > 1\"}\n"
                                       "      b: {expr: \"price > 0\", on_violation: drop}\n"));
    CU_ASSERT_NOT_EQUAL(h, hash_of("", "tables:\n"
                                       "  bronze_orders: {}\n"
                                       "  silver_orders:\n"
                                       "    from: bronze_orders\n"
                                       "    expectations:\n"
                                       "      b: {expr: \"price > 0\", on_violation: drop}\n"
                                       "      a: {expr: \"quantity > 0\"}\n"));
    CU_ASSERT_NOT_EQUAL(h, hash_of("  format: avro\n  schema_registry: {url: /nonexistent}\n",
                                   silver)); /* continues source: */
    CU_ASSERT_EQUAL(h, hash_of("  format: json\n", silver));
    CU_ASSERT_NOT_EQUAL(h, hash_of("watermark: {column: order_ts, delay: 1m}\n", silver));
    CU_ASSERT_NOT_EQUAL(hash_of("watermark: {column: order_ts, delay: 1m}\n", silver),
                        hash_of("watermark: {column: order_ts, delay: 2m}\n", silver));
}

/* The hash covers the schema file's content, not its path. */
static void test_pipeline_hash_follows_schema_content(void)
{
    char *dir = sm_test_tmpdir("pipeline-hash");
    char src[4096], path[4096], cmd[12288];
    sm_pipeline *a = NULL, *b = NULL, *c = NULL;
    sm_error err;
    snprintf(src, sizeof src, "%s/schemas/orders.avsc", src_dir());
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/one.avsc' && cp '%s' '%s/two.avsc'", src, dir, src, dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    const char *fmt =
        "pipeline: shop\nsource:\n  kafka: {bootstrap_servers: k:1, topics: [orders]}\n"
        "  schema: %s\ntables: {bronze_orders: }\n";
    char text[1024];
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    snprintf(text, sizeof text, fmt, "one.avsc");
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load_string(path, text, strlen(text), NULL, NULL, &a, &err),
                          SM_OK);
    snprintf(text, sizeof text, fmt, "two.avsc");
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load_string(path, text, strlen(text), NULL, NULL, &b, &err),
                          SM_OK);
    CU_ASSERT_EQUAL(a->config_hash, b->config_hash);
    snprintf(cmd, sizeof cmd, "sed -i 's/\"coupon\"/\"voucher\"/' '%s/two.avsc'", dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load_string(path, text, strlen(text), NULL, NULL, &c, &err),
                          SM_OK);
    CU_ASSERT_NOT_EQUAL(a->config_hash, c->config_hash);
    sm_pipeline_free(a);
    sm_pipeline_free(b);
    sm_pipeline_free(c);
    sm_test_rmtree(dir);
    free(dir);
}

/* --- expressions ---------------------------------------------------------------------------- */

/* Loads a pipeline whose silver table has `rules` (YAML lines under expectations:) and, when
 * `gold` is given, a gold table with those aggregates; the error message or "" when it loads. */
static void load_rules(const char *rules, const char *gold, char *msg, size_t n)
{
    char text[4096];
    sm_pipeline *p = NULL;
    sm_error err;
    snprintf(text, sizeof text,
             "pipeline: shop\n"                                      /* 1 */
             "source:\n"                                             /* 2 */
             "  kafka: {bootstrap_servers: k:1, topics: [orders]}\n" /* 3 */
             "  schema: ../../../schemas/orders.avsc\n"              /* 4 */
             "tables:\n"                                             /* 5 */
             "  bronze_orders: {}\n"                                 /* 6 */
             "  silver_orders:\n"                                    /* 7 */
             "    from: bronze_orders\n"                             /* 8 */
             "    expectations:\n"                                   /* 9 */
             "%s"                                                    /* 10 */
             "%s%s%s",
             rules,
             gold ? "  gold_sales:\n    from: silver_orders\n    group_by: [category]\n"
                    "    output_mode: update\n    aggregates: "
                  : "",
             gold ? gold : "", gold ? "\n" : "");
    if (load_text(text, NULL, &p, &err) == SM_OK) {
        snprintf(msg, n, "%s", "");
        sm_pipeline_free(p);
        return;
    }
    const char *rel = strstr(err.msg, "inline.yaml:");
    snprintf(msg, n, "%s", rel ? rel : err.msg);
}

static void test_pipeline_rules_errors_point_into_the_expression(void)
{
    char msg[1024];
    /* plain scalar: col of the scalar + position - 1 */
    load_rules("      ok: {expr: quantity > 0 AND quantty < 100}\n", NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:10:35: table silver_orders, rule ok: at 18: unknown "
                                "column 'quantty'; did you mean 'quantity'?");
    /* quoted: one more for the quote */
    load_rules("      ok: \"price > 0 AND lenght(status) > 0\"\n", NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:10:26: table silver_orders, rule ok: at 15: unknown "
                                "function 'lenght'; did you mean 'length'?");
    /* escapes or several lines: the scalar's position, and "at N" */
    load_rules("      ok: |\n        price > 0 AND\n        prise < 10\n", NULL, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "rule ok: at 15: unknown column 'prise'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "inline.yaml:10:"));
    /* not a boolean, and type errors */
    load_rules("      ok: {expr: \"price * quantity\", on_violation: drop}\n", NULL, msg,
               sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:10:18: table silver_orders, rule ok: the expression "
                                "is double, not a boolean");
    load_rules("      ok: quantity + status > 1\n", NULL, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "inline.yaml:10:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "rule ok: at "));
    /* metadata columns are there, and _processing_timestamp: rules see the table's rows */
    load_rules("      ok: _kafka_offset >= 0 AND _ingestion_date IS NOT NULL\n", NULL, msg,
               sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    load_rules("      ok: _processing_timestamp IS NOT NULL\n", NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
}

/* --- select, casts, late ------------------------------------------------------------------ */

/* Loads a pipeline with a watermark on order_ts whose silver_orders (line 8) reading bronze has
 * the YAML lines `silver` (from line 10 on), then `rest`; *p when it loads, else the message. */
static sm_pipeline *load_silver(const char *silver, const char *rest, char *msg, size_t n)
{
    char text[4096];
    sm_pipeline *p = NULL;
    sm_error err;
    snprintf(text, sizeof text,
             "pipeline: shop\n"                                      /* 1 */
             "source:\n"                                             /* 2 */
             "  kafka: {bootstrap_servers: k:1, topics: [orders]}\n" /* 3 */
             "  schema: ../../../schemas/orders.avsc\n"              /* 4 */
             "watermark: {column: order_ts, delay: 1m}\n"            /* 5 */
             "tables:\n"                                             /* 6 */
             "  bronze_orders: {}\n"                                 /* 7 */
             "  silver_orders:\n"                                    /* 8 */
             "    from: bronze_orders\n"                             /* 9 */
             "%s%s",
             silver, rest ? rest : "");
    if (load_text(text, NULL, &p, &err) == SM_OK) {
        snprintf(msg, n, "%s", "");
        return p;
    }
    const char *rel = strstr(err.msg, "inline.yaml:");
    snprintf(msg, n, "%s", rel ? rel : err.msg);
    return NULL;
}

static void expect_silver_error(const char *silver, const char *rest, const char *want)
{
    char msg[1024];
    sm_pipeline *p = load_silver(silver, rest, msg, sizeof msg);
    CU_ASSERT_PTR_NULL(p);
    if (!strstr(msg, want)) {
        fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", msg, want);
        CU_FAIL("message");
    }
    sm_pipeline_free(p);
}

static void test_pipeline_select_loads_and_rules_see_its_output(void)
{
    char msg[1024];
    sm_pipeline *p = load_silver(
        "    select: [order_id, \"price * quantity AS total\", \"CAST(quantity AS int) AS q\",\n"
        "             order_ts, _kafka_offset]\n"
        "    expectations: {pos: {expr: \"total > 0 AND _processing_timestamp IS NOT NULL\",\n"
        "                         on_violation: drop}}\n"
        "    quarantine: silver_orders_quarantine\n"
        "    dedup: {keys: [order_id]}\n"
        "    partition_by: [_processing_timestamp]\n"
        "    late: silver_orders_late\n",
        "  silver_big:\n    from: silver_orders\n"
        "    expectations: {big: \"total > 100 AND q > 1 AND _processing_timestamp IS NOT NULL\"}\n"
        "    select: [\"*\", \"total * 2 AS double_total\"]\n",
        msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const sm_pl_table *t = sm_pipeline_table(p, "silver_orders");
    CU_ASSERT_EQUAL(t->n_select, 5);
    CU_ASSERT_STRING_EQUAL(t->select[1].text, "price * quantity AS total");
    CU_ASSERT_EQUAL(t->select[0].pos.line, 10);
    CU_ASSERT_EQUAL(t->select[4].pos.line, 11);
    CU_ASSERT_STRING_EQUAL(t->late, "silver_orders_late");
    CU_ASSERT_EQUAL(sm_pipeline_table(p, "bronze_orders")->n_select, 0);
    CU_ASSERT_PTR_NULL(sm_pipeline_table(p, "bronze_orders")->late);
    char *json = sm_pipeline_effective_json(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"price * quantity AS total\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"late\": \"silver_orders_late\""));
    free(json);
    sm_pipeline_free(p);

    /* rules see the output: a column the select renamed is gone */
    expect_silver_error("    select: [order_id, \"price AS p\"]\n"
                        "    expectations: {pos: \"price > 0\"}\n",
                        NULL,
                        "inline.yaml:11:26: table silver_orders, rule pos: at 1: unknown column "
                        "'price'");
    /* a table reading silver sees silver's rows */
    expect_silver_error("    select: [order_id, \"price AS p\"]\n",
                        "  silver_next:\n    from: silver_orders\n"
                        "    expectations: {q: \"quantity > 0\"}\n",
                        "table silver_next, rule q: at 1: unknown column 'quantity'");
    /* dedup keys, partition_by name output columns */
    expect_silver_error(
        "    select: [order_id, order_ts]\n    dedup: {keys: [customer_id]}\n", NULL,
        "inline.yaml:11:20: tables.silver_orders.dedup.keys[0]: 'customer_id' is not "
        "a column of the rows (select output and _processing_timestamp) of table "
        "silver_orders");
    expect_silver_error("    select: [order_id, order_ts]\n    partition_by: [country]\n", NULL,
                        "'country' is not a column of the rows");
    /* dedup and late need the watermark column in the output */
    expect_silver_error("    select: [order_id]\n    dedup: {keys: [order_id]}\n", NULL,
                        "inline.yaml:10:5: tables.silver_orders.select: the select drops the "
                        "watermark column 'order_ts', which dedup needs");
    expect_silver_error("    select: [order_id]\n    late: silver_late\n", NULL,
                        "the select drops the watermark column 'order_ts', which late needs");
    expect_silver_error("    select: [order_id, \"CAST(order_ts AS string) AS order_ts\"]\n"
                        "    late: silver_late\n",
                        NULL,
                        "'order_ts' is a string column of table silver_orders, not a "
                        "timestamp: the watermark needs one");
}

static void test_pipeline_select_errors_point_into_the_item(void)
{
    expect_silver_error("    select: [order_id, \"price * qtty AS t\"]\n", NULL,
                        "inline.yaml:10:33: table silver_orders, select item 2: at 9: unknown "
                        "column 'qtty'");
    expect_silver_error("    select: [order_id, price * 2]\n", NULL,
                        "inline.yaml:10:24: table silver_orders, select item 2: at 1: give the "
                        "expression a name: price * 2 AS <name>");
    expect_silver_error("    select:\n      - order_id\n      - customer_id AS order_id\n", NULL,
                        "inline.yaml:12:24: table silver_orders, select item 2: at 16: duplicate "
                        "output column 'order_id'");
    expect_silver_error("    select: []\n", NULL,
                        "inline.yaml:10:13: tables.silver_orders.select: expected a list");
    expect_silver_error("    select: [{a: 1}]\n", NULL, "expected an item like");
}

static void test_pipeline_casts_fold_into_select(void)
{
    char msg[1024];
    sm_pipeline *p =
        load_silver("    select: [\"order_id AS id\", \"price * 2 AS p2\", quantity, order_ts]\n"
                    "    casts: {p2: \"decimal(10,2)\", quantity: int}\n",
                    NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const sm_pl_table *t = sm_pipeline_table(p, "silver_orders");
    CU_ASSERT_EQUAL_FATAL(t->n_select, 4);
    CU_ASSERT_STRING_EQUAL(t->select[0].text, "order_id AS id");
    CU_ASSERT_STRING_EQUAL(t->select[1].text, "CAST(price * 2 AS decimal(10,2)) AS \"p2\"");
    CU_ASSERT_STRING_EQUAL(t->select[2].text, "CAST(\"quantity\" AS int) AS \"quantity\"");
    CU_ASSERT_EQUAL(t->select[2].pos.line, 11); /* the cast's */
    uint64_t h1 = p->config_hash;
    sm_pipeline_free(p);

    /* a different cast changes the hash */
    p = load_silver("    select: [\"order_id AS id\", \"price * 2 AS p2\", quantity, order_ts]\n"
                    "    casts: {p2: \"decimal(12,2)\", quantity: int}\n",
                    NULL, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_NOT_EQUAL(p->config_hash, h1);
    sm_pipeline_free(p);

    /* `*` is expanded when a cast names one of its columns */
    p = load_silver("    select: [\"*\", \"price * 2 AS p2\"]\n    casts: {price: double, p2: "
                    "bigint}\n",
                    NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    t = sm_pipeline_table(p, "silver_orders");
    CU_ASSERT(t->n_select > 12);
    CU_ASSERT_STRING_EQUAL(t->select[0].text, "\"order_id\"");
    CU_ASSERT_STRING_EQUAL(t->select[5].text, "CAST(\"price\" AS double) AS \"price\"");
    CU_ASSERT_STRING_EQUAL(t->select[t->n_select - 1].text, "CAST(price * 2 AS bigint) AS \"p2\"");
    sm_pipeline_free(p);

    /* without a select: every input column, the cast ones replaced */
    p = load_silver("    casts: {quantity: int}\n", NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    t = sm_pipeline_table(p, "silver_orders");
    CU_ASSERT(t->n_select > 12);
    CU_ASSERT_STRING_EQUAL(t->select[4].text, "CAST(\"quantity\" AS int) AS \"quantity\"");
    CU_ASSERT_STRING_EQUAL(t->select[3].text, "\"category\"");
    sm_pipeline_free(p);

    /* errors */
    expect_silver_error("    select: [order_id, order_ts]\n    casts: {quantty: int}\n", NULL,
                        "inline.yaml:11:13: tables.silver_orders.casts.quantty: 'quantty' is not "
                        "a column of the table's select");
    expect_silver_error("    casts: {quantty: int}\n", NULL, "did you mean 'quantity'?");
    expect_silver_error("    casts: {quantity: integr}\n", NULL,
                        "inline.yaml:10:23: tables.silver_orders.casts.quantity: 'integr' is not "
                        "a type CAST accepts");
    expect_silver_error("    casts: {quantity: \"int) + (1\"}\n", NULL, "is not a type CAST");
    expect_silver_error("    casts: {order_ts: boolean}\n", NULL,
                        "inline.yaml:10:23: table silver_orders, casts.order_ts: cannot cast "
                        "timestamp to boolean");
    expect_silver_error("    casts: [int]\n", NULL, "expected a map of column");
}

static void test_pipeline_late_and_layers(void)
{
    char msg[1024];
    sm_pipeline *p = load_silver("    late: silver_orders_late\n", NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_PTR_NOT_NULL(p);
    uint64_t with_late = p ? p->config_hash : 0;
    sm_pipeline_free(p);
    p = load_silver("    partition_by: []\n", NULL, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(p);
    CU_ASSERT_NOT_EQUAL(p ? p->config_hash : 0, with_late);
    sm_pipeline_free(p);

    expect_silver_error("    late: bronze_orders\n", NULL,
                        "inline.yaml:10:11: tables.silver_orders.late: 'bronze_orders' is already "
                        "a table of this pipeline: a late table needs a name of its own");
    expect_silver_error("    late: shop_dead_letter\n", NULL, "already a table");
    expect_silver_error("    late: \"bad name\"\n", NULL, "is not a table name");
    expect_silver_error("    expectations: {a: {expr: quantity > 0, on_violation: drop}}\n"
                        "    quarantine: q\n    late: q\n",
                        NULL, "'q' is already the quarantine table of 'silver_orders'");
    expect_silver_error("    late: l\n",
                        "  silver_two:\n    from: bronze_orders\n"
                        "    expectations: {a: {expr: quantity > 0, on_violation: drop}}\n"
                        "    quarantine: l\n",
                        "'l' is already the late table of 'silver_orders'");
    /* bronze and gold refuse them */
    expect_silver_error("", "  bronze_two:\n    layer: bronze\n    select: [order_id]\n",
                        "a bronze table keeps the records as received: put select on");
    expect_silver_error("",
                        "  gold_x:\n    from: silver_orders\n    late: x\n"
                        "    aggregates: {n: \"count(*)\"}\n    output_mode: update\n",
                        "late is for silver tables for now");
    expect_silver_error("",
                        "  gold_x:\n    from: silver_orders\n    casts: {n: int}\n"
                        "    aggregates: {n: \"count(*)\"}\n    output_mode: update\n",
                        "casts is for silver tables for now");
    /* late needs a watermark */
    char text[1024];
    sm_pipeline *q = NULL;
    sm_error err;
    snprintf(text, sizeof text, "%s%s", minimal_head,
             "tables:\n  bronze_orders: {}\n  silver_orders:\n    from: bronze_orders\n"
             "    late: silver_orders_late\n");
    CU_ASSERT_EQUAL(load_text(text, NULL, &q, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "late rows are those whose event time is behind the "
                                           "watermark: declare watermark"));
}

static void test_pipeline_rules_of_downstream_tables_see_the_bronze_input(void)
{
    char msg[1024];
    /* a table reading silver sees silver's input (select is not implemented yet) */
    load_rules(
        "      ok: quantity > 0\n"
        "  silver_big:\n    from: silver_orders\n"
        "    expectations: {big: \"quantity > 5 AND _batch_id >= 0\", bad: \"colour = 1\"}\n",
        NULL, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:13:66: table silver_big, rule bad: at 1: unknown "
                                "column 'colour'");
    /* aggregates: the argument of sum/avg is compiled and must be a number */
    load_rules("      ok: quantity > 0\n", "{n: \"count(*)\", r: \"sum(price * quantity)\"}", msg,
               sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "");
    load_rules("      ok: quantity > 0\n", "{n: \"count(*)\", r: \"sum(price * quantty)\"}", msg,
               sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:15:49: table gold_sales, aggregate r: at 9: unknown "
                                "column 'quantty'; did you mean 'quantity'?");
    load_rules("      ok: quantity > 0\n", "{a: avg(category)}", msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "inline.yaml:15:21: table gold_sales, aggregate a: the expression "
                                "is string, not a number");
}

/* The .avsc is parsed once with ingest/avsc.h; a schema it refuses is an error only when an
 * expression needs the columns. */
static void test_pipeline_rules_need_a_schema_that_parses(void)
{
    char *dir = sm_test_tmpdir("pipeline-rules");
    char path[4096], text[1024];
    sm_pipeline *p = NULL;
    sm_error err;
    snprintf(path, sizeof path, "%s/odd.avsc", dir);
    const char *avsc = "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"x\", "
                       "\"type\": [\"int\", \"string\"]}]}";
    CU_ASSERT_EQUAL_FATAL(sm_durable_write_file(path, avsc, strlen(avsc), SM_DURABLE_REPLACE, &err),
                          SM_OK);
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    const char *fmt = "pipeline: shop\nsource:\n  kafka: {bootstrap_servers: k:1, topics: [o]}\n"
                      "  schema: odd.avsc\ntables:\n  bronze_o: {}\n%s";
    snprintf(text, sizeof text, fmt, "");
    CU_ASSERT_EQUAL(sm_pipeline_load_string(path, text, strlen(text), NULL, NULL, &p, &err), SM_OK);
    sm_pipeline_free(p);
    p = NULL;
    snprintf(text, sizeof text, fmt, "  silver_o: {from: bronze_o, expectations: {ok: x > 0}}\n");
    CU_ASSERT_EQUAL(sm_pipeline_load_string(path, text, strlen(text), NULL, NULL, &p, &err),
                    SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:4:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the schema is needed to check expressions"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "odd.avsc"));
    sm_test_rmtree(dir);
    free(dir);
}

/* --- odds and ends -------------------------------------------------------------------------- */

static void test_pipeline_caller_arena_and_effective_json(void)
{
    sm_arena *arena = sm_arena_create(0, 0);
    sm_pipeline *p = NULL;
    sm_error err;
    char text[2048];
    snprintf(text, sizeof text,
             "%ssource:\n  kafka:\n    bootstrap_servers: k:1\n    topics: [orders]\n"
             "    options: {sasl.password: hunter2, client.id: x}\n"
             "  schema: ../../../schemas/orders.avsc\ntables: {bronze_orders: {}}\n",
             "pipeline: shop\n");
    char file[4096];
    snprintf(file, sizeof file, "%s/tests/stream/configs/inline.yaml", src_dir());
    CU_ASSERT_EQUAL_FATAL(sm_pipeline_load_string(file, text, strlen(text), NULL, arena, &p, &err),
                          SM_OK);
    CU_ASSERT_PTR_NULL(p->own_arena);
    char *json = sm_pipeline_effective_json(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    json_t *j = json_loads(json, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(j, "trigger"), "max_bytes_per_trigger")),
        "256MB");
    json_t *opts =
        json_object_get(json_object_get(json_object_get(j, "source"), "kafka"), "options");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(opts, "sasl.password")), "***");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(opts, "client.id")), "x");
    CU_ASSERT_PTR_NULL(strstr(json, "hunter2"));
    /* the password is still there for librdkafka */
    CU_ASSERT_STRING_EQUAL(sm_strmap_get(&p->source.kafka.options, "sasl.password"), "hunter2");
    json_decref(j);
    free(json);
    sm_pipeline_free(p); /* does not free the caller's arena */
    sm_arena_destroy(arena);
    sm_pipeline_free(NULL);
}

static void test_pipeline_every_declared_default_applies(void)
{
    sm_pipeline *p = NULL;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(load_with("", NULL, &p, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(p->lake, "./lake");
    CU_ASSERT_EQUAL(p->source.format, SM_PL_FORMAT_JSON);
    CU_ASSERT_STRING_EQUAL(p->source.kafka.starting_offsets, "earliest");
    CU_ASSERT_TRUE(p->source.kafka.fail_on_data_loss);
    CU_ASSERT_EQUAL(p->trigger.interval_ms, 5000);
    CU_ASSERT_FALSE(p->trigger.available_now);
    CU_ASSERT_EQUAL(p->trigger.max_bytes_per_trigger, 256ULL << 20);
    CU_ASSERT_EQUAL(p->trigger.max_records_per_trigger, 0);
    CU_ASSERT_EQUAL(p->trigger.max_files_per_trigger, 0);
    CU_ASSERT_EQUAL(p->trigger.target_file_size, 128ULL << 20);
    CU_ASSERT_PTR_NULL(p->watermark.column);
    CU_ASSERT_EQUAL(p->checkpoint.retention_batches, 100);
    CU_ASSERT_EQUAL(p->source.kafka.options.count, 0);
    sm_pipeline_free(p);
}

/* Cut the example at every byte and flip bytes at random: each load fails cleanly or loads;
 * nothing crashes or leaks (the ASan build checks). */
static void test_pipeline_mangled_files_never_crash(void)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/schemas/examples/ecommerce.yaml", src_dir());
    CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 20, &text, &len, NULL), SM_OK);
    char file[4096];
    snprintf(file, sizeof file, "%s/schemas/examples/mangled.yaml", src_dir());
    int ok = 0, failed = 0;
    for (size_t cut = 0; cut <= len; cut += 3) {
        sm_pipeline *p = NULL;
        sm_error err;
        int rc = sm_pipeline_load_string(file, text, cut, NULL, NULL, &p, &err);
        rc == SM_OK ? ok++ : failed++;
        if (rc != SM_OK) {
            CU_ASSERT(rc == SM_ERR_USAGE);
        }
        sm_pipeline_free(p);
    }
    char *copy = malloc(len + 1);
    uint64_t x = 42;
    static const char noise[] = "{}[]:,-#&*!|>'\"%@` \n\t${}0a~.";
    for (int round = 0; round < 1500; round++) {
        memcpy(copy, text, len);
        for (int k = 0; k < 3; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            copy[(x >> 33) % len] = noise[(x >> 20) % (sizeof noise - 1)];
        }
        sm_pipeline *p = NULL;
        sm_error err;
        int rc = sm_pipeline_load_string(file, copy, len, "prod", NULL, &p, &err);
        rc == SM_OK ? ok++ : failed++;
        sm_pipeline_free(p);
    }
    free(copy);
    free(text);
    CU_ASSERT(ok > 0);
    CU_ASSERT(failed > 0);
}

/* --- the command and the docs --------------------------------------------------------------- */

typedef struct run_result {
    int status;
    char out[65536];
    char err[8192];
} run_result;

static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    buf[len] = '\0';
}

/* Runs "[env] $SMELTER_BIN args" in the source directory. */
static void run(run_result *r, const char *env, const char *args)
{
    static char *tmp;
    char cmd[16384], out[4096], err[4096];
    const char *bin = getenv("SMELTER_BIN");
    if (!tmp) {
        tmp = sm_test_tmpdir("pipeline-cli");
    }
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(err, sizeof err, "%s/err", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u SMELTER_ENV %s '%s' %s >'%s' 2>'%s' </dev/null",
             src_dir(), env ? env : "", bin ? bin : "smelter", args, out, err);
    int st = system(cmd);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

/* The summary is wrapped: compare it as one line. */
static void flatten(char *s)
{
    for (; *s; s++) {
        *s = *s == '\n' && s[1] ? ' ' : *s;
    }
}

static void test_pipeline_validate_command_exit_codes(void)
{
    static run_result r;
    if (!getenv("SMELTER_BIN")) {
        CU_FAIL("SMELTER_BIN is not set (run through ctest)");
        return;
    }
    run(&r, NULL, "validate schemas/examples/ecommerce.yaml");
    flatten(r.out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "schemas/examples/ecommerce.yaml is valid."));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "gold_daily_sales (gold, from silver_orders"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Trigger: every 5s"));
    CU_ASSERT_STRING_EQUAL(r.err, "");

    run(&r, NULL, "validate schemas/examples/ecommerce.yaml --env prod");
    flatten(r.out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(environment prod)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "1000 files"));
    run(&r, "SMELTER_ENV=dev", "validate schemas/examples/ecommerce.yaml");
    flatten(r.out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(environment dev)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "available now"));
    run(&r, "SMELTER_ENV=qa", "validate schemas/examples/ecommerce.yaml");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unknown environment 'qa'; known: dev, prod"));
    run(&r, "SMELTER_ENV=qa", "validate schemas/examples/ecommerce.yaml --env prod");
    CU_ASSERT_EQUAL(r.status, 0); /* the flag wins over the variable */

    run(&r, NULL, "validate tests/stream/configs/bad_unknown_key.yaml");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "tests/stream/configs/bad_unknown_key.yaml:9:3: unknown "
                                         "key 'max_byte_per_trigger' in trigger; did you mean "
                                         "'max_bytes_per_trigger'?\n"));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    run(&r, NULL, "validate no/such/pipeline.yaml");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no/such/pipeline.yaml"));
    run(&r, NULL, "validate");
    CU_ASSERT_EQUAL(r.status, 2);
    run(&r, NULL, "validate a.yaml b.yaml");
    CU_ASSERT_EQUAL(r.status, 2);

    run(&r, NULL, "validate schemas/examples/ecommerce.yaml --effective");
    CU_ASSERT_EQUAL(r.status, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "pipeline")), "ecommerce");
    CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "tables")), 3);
    json_decref(j);

    run(&r, NULL, "validate --help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--env"));
    run(&r, NULL, "help config");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "trigger.max_bytes_per_trigger"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "tables.<name>.expectations.<name>.on_violation"));
}

/* docs/configuration.md is generated from the option table; it must match the binary. */
static void test_pipeline_reference_doc_is_current(void)
{
    static run_result r;
    static char doc[65536];
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/configuration.md", src_dir());
    slurp(path, doc, sizeof doc);
    run(&r, NULL, "help --config-markdown");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "| `trigger.max_bytes_per_trigger` |"));
    if (strcmp(doc, r.out) != 0) {
        CU_FAIL("docs/configuration.md is stale: run `make docs` (smelter help --config-markdown "
                "> docs/configuration.md)");
    }
}

static CU_TestInfo tests[] = {
    {"example loads with its values", test_pipeline_example_loads_with_its_values},
    {"example environments and variables", test_pipeline_example_environments_and_variables},
    {"bad files fail at their line with their message",
     test_pipeline_bad_files_fail_at_their_line_with_their_message},
    {"good files load", test_pipeline_good_files_load},
    {"flow file values", test_pipeline_flow_file_values},
    {"starting_offsets forms", test_pipeline_starting_offsets_forms},
    {"hash moves only with table contents", test_pipeline_hash_moves_only_with_table_contents},
    {"hash follows the schema's content", test_pipeline_hash_follows_schema_content},
    {"rules errors point into the expression",
     test_pipeline_rules_errors_point_into_the_expression},
    {"select loads and rules see its output", test_pipeline_select_loads_and_rules_see_its_output},
    {"select errors point into the item", test_pipeline_select_errors_point_into_the_item},
    {"casts fold into select", test_pipeline_casts_fold_into_select},
    {"late and layers", test_pipeline_late_and_layers},
    {"rules of downstream tables see the bronze input",
     test_pipeline_rules_of_downstream_tables_see_the_bronze_input},
    {"rules need a schema that parses", test_pipeline_rules_need_a_schema_that_parses},
    {"caller arena and effective JSON", test_pipeline_caller_arena_and_effective_json},
    {"every declared default applies", test_pipeline_every_declared_default_applies},
    {"mangled files never crash", test_pipeline_mangled_files_never_crash},
    {"validate command exit codes", test_pipeline_validate_command_exit_codes},
    {"reference doc is current", test_pipeline_reference_doc_is_current},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("pipeline", tests)
