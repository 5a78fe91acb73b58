/*
 * End to end, silver tables (issue 7): the embedded broker in-process, orders from the producer
 * with faults and a ground-truth file, the engine with bronze_orders and silver_orders (the
 * rules of schemas/examples/ecommerce.yaml), DuckDB as the independent reader.
 *
 *   1. reconciliation  --bad-ratio 0.05 --dup-ratio 0.01, several batches (duplicates span
 *                      them): silver + quarantine + duplicates dropped = bronze, exactly; the
 *                      quarantine holds exactly the truth's class "value" records, each with the
 *                      exact list of rules it breaks; silver has every class "none" record once
 *                      and no order_id twice; the event log adds up per batch and per rule.
 *   2. late rows       --late-ratio 0.02 with a 1m watermark delay: rows behind the batch's
 *                      watermark are counted and dropped (the table has dedup), exactly those.
 *   2b. select         renames, computed columns, a cast to decimal, rules on the select's output,
 *                      a late table: columns and types as declared, values from bronze's, late
 *                      rows in the late table and nowhere else.
 *   3. fail rule       `quantity > 0` as on_violation: fail stops `smelter run` with exit 3
 *                      naming the rule, the table and the first failing record; nothing of the
 *                      batch is recorded. With the rule turned to drop, a restart loses nothing.
 *
 * Scale: 500k orders for 1 (50k in sanitized builds), 100k for 2 (20k), 20k for 3 (10k).
 * SMELTER_TEST_KEEP keeps the directory (printed).
 */
#include <inttypes.h>
#include <unistd.h>

#include "core/clock.h"
#include "e2e_util.h"
#include "ingest/embedded_broker.h"
#include "sm_test.h"
#include "stream/engine.h"
#include "stream/pipeline.h"

#define PARTITIONS 16 /* "rec" has twice as many: the mock broker keeps ~5 MiB per partition */

/* The watermark delay of tests 1 and 3: the example pipeline's. The last test checks that a batch
 * cut by max_records_per_trigger reads every partition in proportion to its backlog, so the
 * watermark does not run ahead of the partitions read least. */
#define WIDE_DELAY "10m"

static sm_broker *broker;
static char *dir;
static char avsc_path[1024];
static char truth_rec[1024], truth_late[1024], truth_fail[1024];
static int64_t n_rec, n_late, n_fail;

/* The silver table of ecommerce.yaml, under `name`, with `quantity_rule` as its quantity line. */
static const char silver_fmt[] =
    "  %s:\n"
    "    from: bronze_orders\n"
    "    expectations:\n"
    "      valid_order_id: {expr: \"order_id IS NOT NULL AND length(trim(order_id)) > 0\", "
    "on_violation: drop}\n"
    "%s"
    "      valid_price:    {expr: \"price > 0\", on_violation: drop}\n"
    "      sane_total:     {expr: \"price * quantity <= 100000\", on_violation: warn}\n"
    "    dedup: {keys: [order_id]}\n"
    "    quarantine: %s_quarantine\n";

static const char quantity_drop[] =
    "      valid_quantity: {expr: \"quantity > 0 AND quantity <= 100\", on_violation: drop}\n";

/* Produces `count` orders to a new topic `topic` with late_ratio `late`; truth to `truth`. */
static bool produce(const char *topic, int partitions, int64_t count, int64_t seed, double late,
                    const char *truth)
{
    prod_conf c;
    prod_report rep;
    sm_error err;

    if (sm_broker_create_topic(broker, topic, partitions, &err) != SM_OK) {
        fprintf(stderr, "topic %s: %s\n", topic, err.msg);
        return false;
    }
    e2e_orders_conf(&c, sm_broker_bootstraps(broker), topic, count, seed, 0, truth);
    c.gen.late_ratio = late;
    if (prod_run(&c, NULL, &rep, &err) != SM_OK || rep.acked != count) {
        fprintf(stderr, "produce %s: %s (%" PRId64 " acked)\n", topic, err.msg, rep.acked);
        return false;
    }
    fprintf(stderr, "produced %" PRId64 " orders to %s in %.1f s\n", rep.acked, topic,
            rep.elapsed_s);
    return true;
}

static int setup(void)
{
    sm_broker_conf bc = {1, PARTITIONS, 1, 0};
    sm_error err;
    bool san = e2e_sanitized();

    n_rec = san ? 50000 : 500000;
    n_late = san ? 20000 : 100000;
    n_fail = san ? 10000 : 20000;
    dir = sm_test_tmpdir("run-silver");
    fprintf(stderr, "\n%s\n", dir);
    snprintf(avsc_path, sizeof avsc_path, "%s/orders.avsc", dir);
    snprintf(truth_rec, sizeof truth_rec, "%s/truth-rec.ndjson", dir);
    snprintf(truth_late, sizeof truth_late, "%s/truth-late.ndjson", dir);
    snprintf(truth_fail, sizeof truth_fail, "%s/truth-fail.ndjson", dir);
    if (!e2e_write_text(avsc_path, e2e_orders_avsc)) {
        return 1;
    }
    if (sm_broker_start(&bc, &broker, &err) != SM_OK) {
        fprintf(stderr, "broker: %s\n", err.msg);
        return 1;
    }
    if (!produce("rec", 2 * PARTITIONS, n_rec, 31, 0, truth_rec) ||
        !produce("late", PARTITIONS, n_late, 37, 0.02, truth_late) ||
        !produce("fail", PARTITIONS, n_fail, 41, 0, truth_fail)) {
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    sm_broker_stop(broker);
    if (!getenv("SMELTER_TEST_KEEP")) {
        sm_test_rmtree(dir);
    }
    free(dir);
    return 0;
}

/* Writes <dir>/<name>.yaml: topic `topic`, bronze_orders and the silver table(s) `table` (YAML
 * lines), watermark on order_ts with `delay`, lake <dir>/lake-<name>. pipeline_file: with the
 * silver table `silver` of ecommerce.yaml, its quantity rule `quantity_rule`. */
static void pipeline_text(const char *name, const char *topic, const char *trigger,
                          const char *delay, const char *table, char *path, size_t n, char *lake,
                          size_t lake_n)
{
    char text[8192];

    snprintf(lake, lake_n, "%s/lake-%s", dir, name);
    snprintf(path, n, "%s/%s.yaml", dir, name);
    snprintf(text, sizeof text,
             "pipeline: %s\n"
             "lake: %s\n"
             "source:\n"
             "  kafka:\n"
             "    bootstrap_servers: %s\n"
             "    topics: [%s]\n"
             "    consumer_threads: 2\n"
             "  schema: %s\n"
             "trigger: %s\n"
             "watermark: {column: order_ts, delay: %s}\n"
             "tables:\n"
             "  bronze_orders: {layer: bronze}\n"
             "%s",
             name, lake, sm_broker_bootstraps(broker), topic, avsc_path, trigger, delay, table);
    CU_ASSERT_FATAL(e2e_write_text(path, text));
}

static void pipeline_file(const char *name, const char *topic, const char *trigger,
                          const char *delay, const char *silver, const char *quantity_rule,
                          char *path, size_t n, char *lake, size_t lake_n)
{
    char table[2048];
    snprintf(table, sizeof table, silver_fmt, silver, quantity_rule, silver);
    pipeline_text(name, topic, trigger, delay, table, path, n, lake, lake_n);
}

/* The relations of a lake as DuckDB temp tables: truth, b (bronze), d (dead letters), s
 * (silver `silver`), q (its quarantine), el (event log). The caller frees the result. */
static char *load_sql(const char *truth, const char *lake, const char *name, const char *silver)
{
    char bp[2048], dp[2048], sp[2048], qp[2048], ep[2048];
    char *b, *d, *s, *q, *el, *sql = NULL;

    snprintf(bp, sizeof bp, "%s/bronze/bronze_orders", lake);
    snprintf(dp, sizeof dp, "%s/bronze/%s_dead_letter", lake, name);
    snprintf(sp, sizeof sp, "%s/silver/%s", lake, silver);
    snprintf(qp, sizeof qp, "%s/silver/%s_quarantine", lake, silver);
    snprintf(ep, sizeof ep, "%s/_system/event_log", lake);
    b = e2e_table_sql(bp, "1", false);
    d = e2e_table_sql(dp, e2e_dead_empty, false);
    s = e2e_table_sql(sp,
                      "NULL::INTEGER AS _kafka_partition, NULL::BIGINT AS _kafka_offset, "
                      "NULL::VARCHAR AS order_id, NULL::TIMESTAMP AS order_ts, "
                      "NULL::BIGINT AS _batch_id",
                      false);
    q = e2e_table_sql(qp,
                      "NULL::INTEGER AS _kafka_partition, NULL::BIGINT AS _kafka_offset, "
                      "NULL::VARCHAR[] AS _validation_errors",
                      false);
    el = e2e_table_sql(ep, "1", false);
    CU_ASSERT_FATAL(
        asprintf(&sql,
                 "CREATE TEMP TABLE truth AS SELECT \"partition\" AS p, \"offset\" AS o, id, fault,"
                 " class FROM read_json('%s', format='newline_delimited') WHERE status = 'acked';"
                 "CREATE TEMP TABLE b AS SELECT *, _kafka_partition AS p, _kafka_offset AS o"
                 " FROM %s;"
                 "CREATE TEMP TABLE d AS SELECT * FROM %s;"
                 "CREATE TEMP TABLE s AS SELECT *, _kafka_partition AS p, _kafka_offset AS o"
                 " FROM %s;"
                 "CREATE TEMP TABLE q AS SELECT *, _kafka_partition AS p, _kafka_offset AS o"
                 " FROM %s;"
                 "CREATE TEMP TABLE el AS SELECT * FROM %s;"
                 "CREATE TEMP TABLE els AS SELECT * FROM el WHERE table_name = '%s';",
                 truth, b, d, s, q, el, silver) > 0);
    free(b);
    free(d);
    free(s);
    free(q);
    free(el);
    return sql;
}

/* Runs load_sql + `query` (one row); returns that row's object (the caller decrefs *rows). */
static json_t *query_row(const char *load, const char *query, json_t **rows)
{
    char *sql = NULL;
    json_t *row;
    CU_ASSERT_FATAL(asprintf(&sql, "%s %s", load, query) > 0);
    *rows = sm_test_duckdb(sql);
    free(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*rows);
    row = json_array_get(*rows, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    {
        char *dump = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "%s\n", dump);
        free(dump);
    }
    return row;
}

/* The counts every silver lake must satisfy: bronze + dead letters = the truth; silver +
 * quarantine + duplicates + late dropped = bronze (DuckDB counts and the event log agree); the
 * event log adds up per batch and per rule; silver has no order_id twice. */
static void check_reconciles(const char *load, int64_t n)
{
    json_t *rows, *row;
    row = query_row(
        load,
        "SELECT (SELECT count(*) FROM truth) AS truth_n,"
        " (SELECT count(*) FROM b) AS bronze_n, (SELECT count(*) FROM d) AS dead_n,"
        " (SELECT count(*) FROM s) AS silver_n, (SELECT count(*) FROM q) AS quar_n,"
        " (SELECT count(*) FROM (SELECT DISTINCT p, o FROM s)) AS silver_distinct_po,"
        " (SELECT count(*) FROM (SELECT DISTINCT order_id FROM s)) AS silver_distinct_id,"
        " (SELECT count(*) FROM (SELECT DISTINCT p, o FROM q)) AS quar_distinct_po,"
        " (SELECT count(*) FROM (SELECT p, o FROM s INTERSECT SELECT p, o FROM q)) AS s_and_q,"
        " (SELECT count(*) FROM (SELECT p, o FROM s UNION ALL SELECT p, o FROM q"
        "   EXCEPT SELECT p, o FROM b)) AS not_from_bronze,"
        " (SELECT count(*) FROM els) AS el_batches,"
        " (SELECT coalesce(sum(num_input_rows), 0) FROM els) AS el_input,"
        " (SELECT coalesce(sum(num_output_rows), 0) FROM els) AS el_output,"
        " (SELECT coalesce(sum(num_quarantined_rows), 0) FROM els) AS el_quar,"
        " (SELECT coalesce(sum(num_dropped_duplicates), 0) FROM els) AS el_dups,"
        " (SELECT coalesce(sum(num_dropped_late), 0) FROM els) AS el_late_dropped,"
        " (SELECT coalesce(sum(num_late_rows), 0) FROM els) AS el_late,"
        " (SELECT count(*) FROM els WHERE num_input_rows <> num_output_rows"
        "   + num_quarantined_rows + num_dropped_duplicates + num_dropped_late) AS el_bad_batch,"
        " (SELECT count(*) FROM (SELECT num_input_rows AS n, unnest(expectations) AS x FROM els)"
        "   WHERE x.passed_records + x.failed_records <> n) AS el_bad_rule,"
        " (SELECT count(*) FROM (SELECT batch_id FROM els GROUP BY batch_id HAVING count(*) > 1))"
        "   AS el_batch_twice",
        &rows);
    CU_ASSERT_EQUAL(e2e_get_int(row, "truth_n"), n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bronze_n") + e2e_get_int(row, "dead_n"), n);
    CU_ASSERT_EQUAL(e2e_get_int(row, "silver_n") + e2e_get_int(row, "quar_n") +
                        e2e_get_int(row, "el_dups") + e2e_get_int(row, "el_late_dropped"),
                    e2e_get_int(row, "bronze_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "silver_distinct_po"), e2e_get_int(row, "silver_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "silver_distinct_id"), e2e_get_int(row, "silver_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "quar_distinct_po"), e2e_get_int(row, "quar_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "s_and_q"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "not_from_bronze"), 0);
    CU_ASSERT(e2e_get_int(row, "el_batches") >= 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_input"), e2e_get_int(row, "bronze_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_output"), e2e_get_int(row, "silver_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_quar"), e2e_get_int(row, "quar_n"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_bad_batch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_bad_rule"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_batch_twice"), 0);
    json_decref(rows);
}

/* The quarantine is exactly the truth's class "value" records, each with the list of rules
 * it breaks (the warn rule too when the total is over the bound). `quantity_rule`: the
 * quantity rule's name. */
static void check_quarantine(const char *load, const char *quantity_rule)
{
    json_t *rows, *row;
    char *query = NULL;
    CU_ASSERT_FATAL(
        asprintf(&query,
                 "CREATE TEMP TABLE expect AS SELECT t.p, t.o, concat_ws(',',"
                 "  CASE WHEN t.fault IN ('null_id', 'empty_id') THEN 'valid_order_id' END,"
                 "  CASE WHEN t.fault IN ('negative_quantity', 'zero_quantity') THEN '%s' END,"
                 "  CASE WHEN t.fault IN ('negative_price', 'zero_price') THEN 'valid_price' END,"
                 "  CASE WHEN NOT coalesce(b.price * b.quantity <= 100000, false)"
                 "    THEN 'sane_total' END) AS rules"
                 " FROM truth t JOIN b USING (p, o) WHERE t.class = 'value';"
                 "SELECT (SELECT count(*) FROM truth WHERE class = 'value') AS truth_value,"
                 " (SELECT count(*) FROM q) AS quar_n,"
                 " (SELECT count(*) FROM (SELECT p, o FROM truth WHERE class = 'value'"
                 "   EXCEPT SELECT p, o FROM q)) AS value_missing,"
                 " (SELECT count(*) FROM (SELECT p, o FROM q"
                 "   EXCEPT SELECT p, o FROM truth WHERE class = 'value')) AS quar_extra,"
                 " (SELECT count(*) FROM q JOIN expect e USING (p, o)"
                 "   WHERE array_to_string(q._validation_errors, ',') IS DISTINCT FROM e.rules)"
                 "   AS wrong_rules,"
                 " (SELECT count(*) FROM q WHERE len(_validation_errors) = 0) AS no_rules,"
                 " (SELECT count(*) FROM q JOIN truth t USING (p, o)"
                 "   WHERE q.order_id IS DISTINCT FROM t.id) AS id_mismatch,"
                 " (SELECT count(*) FROM truth WHERE fault IN ('negative_quantity',"
                 "   'zero_quantity')) AS truth_quantity,"
                 " (SELECT coalesce(sum(x.failed_records), 0) FROM (SELECT unnest(expectations)"
                 "   AS x FROM els) WHERE x.name = '%s') AS el_quantity_failed,"
                 " (SELECT count(*) FROM truth WHERE fault IN ('null_id', 'empty_id')) AS truth_id,"
                 " (SELECT coalesce(sum(x.failed_records), 0) FROM (SELECT unnest(expectations)"
                 "   AS x FROM els) WHERE x.name = 'valid_order_id') AS el_id_failed,"
                 " (SELECT count(*) FROM truth WHERE fault IN ('negative_price', 'zero_price'))"
                 "   AS truth_price,"
                 " (SELECT coalesce(sum(x.failed_records), 0) FROM (SELECT unnest(expectations)"
                 "   AS x FROM els) WHERE x.name = 'valid_price') AS el_price_failed",
                 quantity_rule, quantity_rule) > 0);
    row = query_row(load, query, &rows);
    CU_ASSERT(e2e_get_int(row, "truth_value") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "quar_n"), e2e_get_int(row, "truth_value"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "value_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "quar_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "wrong_rules"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "no_rules"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "id_mismatch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_quantity_failed"), e2e_get_int(row, "truth_quantity"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_id_failed"), e2e_get_int(row, "truth_id"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_price_failed"), e2e_get_int(row, "truth_price"));
    json_decref(rows);
    free(query);
}

static void test_run_silver_reconciles_with_the_truth(void)
{
    char path[1024], lake[1024], trigger[128], *load;
    sm_batch_report tot;
    int64_t t0 = sm_mono_ns();
    json_t *rows, *row;

    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_rec / 5);
    pipeline_file("rec", "rec", trigger, WIDE_DELAY, "silver_orders", quantity_drop, path,
                  sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    fprintf(stderr,
            "rec: %" PRId64 " batches, %" PRId64 " records, %" PRId64 " silver, %" PRId64
            " quarantined, %" PRId64 " duplicates, %" PRId64 " late in %.1f s\n",
            tot.batch_id, tot.records, tot.silver_rows, tot.quarantined, tot.duplicates, tot.late,
            (double)(sm_mono_ns() - t0) / 1e9);
    CU_ASSERT(tot.batch_id >= 5);
    CU_ASSERT_EQUAL(tot.records, n_rec);
    CU_ASSERT_EQUAL(tot.late, 0);
    CU_ASSERT_EQUAL(tot.silver_rows + tot.quarantined + tot.duplicates, tot.bronze_rows);

    load = load_sql(truth_rec, lake, "rec", "silver_orders");
    check_reconciles(load, n_rec);
    check_quarantine(load, "valid_quantity");
    row = query_row(
        load,
        "SELECT (SELECT count(*) FROM truth WHERE class = 'none') AS truth_none,"
        " (SELECT count(*) FROM truth WHERE class = 'duplicate') AS truth_dups,"
        " (SELECT count(*) FROM s) AS silver_n,"
        " (SELECT coalesce(sum(num_dropped_duplicates), 0) FROM els) AS el_dups,"
        " (SELECT coalesce(sum(num_late_rows), 0) FROM els) AS el_late,"
        " (SELECT count(*) FROM (SELECT p, o FROM truth WHERE class = 'none'"
        "   EXCEPT SELECT p, o FROM s)) AS none_missing,"
        " (SELECT count(*) FROM (SELECT p, o FROM s"
        "   EXCEPT SELECT p, o FROM truth WHERE class = 'none')) AS silver_extra,"
        " (SELECT count(*) FROM s JOIN truth t USING (p, o) WHERE s.order_id IS DISTINCT FROM"
        "   t.id) AS id_mismatch,"
        " (SELECT count(*) FROM s WHERE _processing_timestamp IS NULL) AS no_processing_ts,"
        " (SELECT count(*) FROM els WHERE batch_id > (SELECT min(batch_id) FROM els)"
        "   AND num_dropped_duplicates > 0) AS batches_with_dups,"
        " (SELECT count(*) FROM truth d JOIN truth o ON d.id = o.id AND o.class = 'none'"
        "   JOIN b bd ON bd.p = d.p AND bd.o = d.o JOIN b bo ON bo.p = o.p AND bo.o = o.o"
        "   WHERE d.class = 'duplicate' AND bd._batch_id <> bo._batch_id) AS dups_across_batches,"
        " (SELECT count(*) FROM els WHERE watermark IS NULL) AS no_watermark",
        &rows);
    CU_ASSERT(e2e_get_int(row, "truth_dups") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_dups"), e2e_get_int(row, "truth_dups"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_late"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "silver_n"), e2e_get_int(row, "truth_none"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "none_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "silver_extra"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "id_mismatch"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "no_processing_ts"), 0);
    CU_ASSERT(e2e_get_int(row, "batches_with_dups") > 0);
    CU_ASSERT(e2e_get_int(row, "dups_across_batches") > 0); /* dedup state crossed batches */
    CU_ASSERT_EQUAL(e2e_get_int(row, "no_watermark"), 0);
    json_decref(rows);
    free(load);
}

static void test_run_silver_late_rows_are_counted_and_dropped(void)
{
    char path[1024], lake[1024], trigger[128], *load;
    sm_batch_report tot;
    json_t *rows, *row;

    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_late / 5);
    pipeline_file("late", "late", trigger, "1m", "silver_orders", quantity_drop, path, sizeof path,
                  lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    fprintf(stderr,
            "late: %" PRId64 " batches, %" PRId64 " silver, %" PRId64 " quarantined, %" PRId64
            " duplicates, %" PRId64 " late (%" PRId64 " dropped)\n",
            tot.batch_id, tot.silver_rows, tot.quarantined, tot.duplicates, tot.late,
            tot.late_dropped);
    CU_ASSERT(tot.batch_id >= 5);
    CU_ASSERT(tot.late > 0);
    CU_ASSERT_EQUAL(tot.late_dropped, tot.late);
    CU_ASSERT_EQUAL(tot.silver_rows + tot.quarantined + tot.duplicates + tot.late_dropped,
                    tot.bronze_rows);

    load = load_sql(truth_late, lake, "late", "silver_orders");
    check_reconciles(load, n_late);
    check_quarantine(load, "valid_quantity");
    /* the event log records the watermark the batch used (offsets/N) */
    row = query_row(
        load,
        "CREATE TEMP TABLE wm AS SELECT batch_id, watermark AS w,"
        " num_late_rows, num_dropped_late FROM els;"
        "SELECT (SELECT coalesce(sum(num_late_rows), 0) FROM wm) AS el_late,"
        " (SELECT coalesce(sum(num_dropped_late), 0) FROM wm) AS el_late_dropped,"
        " (SELECT coalesce(sum(num_late_rows), 0) FROM wm WHERE w IS NULL) AS late_first,"
        " (SELECT count(*) FROM wm WHERE w IS NOT NULL AND num_late_rows > 0) AS late_batches,"
        " (SELECT count(*) FROM b JOIN truth t USING (p, o) JOIN wm ON wm.batch_id = b._batch_id"
        "   WHERE t.class <> 'value' AND b.order_ts < wm.w) AS behind,"
        " (SELECT count(*) FROM s JOIN wm ON wm.batch_id = s._batch_id WHERE s.order_ts < wm.w)"
        "   AS behind_in_silver,"
        " (SELECT count(*) FROM truth WHERE class = 'late') AS truth_late,"
        " (SELECT count(*) FROM s JOIN truth t USING (p, o) WHERE t.class = 'late')"
        "   AS late_in_silver,"
        " (SELECT count(*) FROM s JOIN truth t USING (p, o) WHERE t.class NOT IN ('none', 'late'))"
        "   AS bad_in_silver",
        &rows);
    CU_ASSERT(e2e_get_int(row, "el_late") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_late"), tot.late);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_late_dropped"), e2e_get_int(row, "el_late"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "late_first"), 0);
    CU_ASSERT(e2e_get_int(row, "late_batches") > 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "behind"), e2e_get_int(row, "el_late"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "behind_in_silver"), 0);
    CU_ASSERT(e2e_get_int(row, "late_in_silver") < e2e_get_int(row, "truth_late"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_in_silver"), 0);
    json_decref(rows);
    free(load);
}

/* A select with renames, computed columns and a cast, rules on its output, dedup, a quarantine
 * and a late table: every bronze row ends in exactly one of silver, quarantine, late table or
 * the duplicates; the silver table has the select's columns with their types (DuckDB's view),
 * values computed from bronze's; the quarantine adds the position columns the select dropped;
 * the late table has exactly the rows behind their batch's watermark. */
static const char select_table[] =
    "  silver_sel:\n"
    "    from: bronze_orders\n"
    "    select: [order_id, customer_id AS customer, quantity, price, \"price * quantity AS "
    "amount\", order_ts, _kafka_partition, _kafka_offset, \"upper(country) AS country\"]\n"
    "    casts: {price: \"decimal(10,2)\"}\n"
    "    expectations:\n"
    "      valid_order_id: {expr: \"order_id IS NOT NULL AND length(trim(order_id)) > 0\", "
    "on_violation: drop}\n"
    "      valid_quantity: {expr: \"quantity > 0 AND quantity <= 100\", on_violation: drop}\n"
    "      valid_price:    {expr: \"price > 0\", on_violation: drop}\n"
    "      sane_total:     {expr: \"amount <= 100000\", on_violation: warn}\n"
    "    dedup: {keys: [order_id]}\n"
    "    quarantine: silver_sel_quarantine\n"
    "    late: silver_sel_late\n";

static void test_run_silver_select_casts_and_late_table(void)
{
    char path[1024], lake[1024], trigger[128], lp[2048], *load, *late, *query = NULL;
    sm_batch_report tot;
    json_t *rows, *row;

    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_late / 5);
    pipeline_text("sel", "late", trigger, "1m", select_table, path, sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    CU_ASSERT(tot.late > 0);
    CU_ASSERT_EQUAL(tot.late_dropped, tot.late);
    CU_ASSERT_EQUAL(tot.silver_rows + tot.quarantined + tot.duplicates + tot.late_dropped,
                    tot.bronze_rows);

    load = load_sql(truth_late, lake, "sel", "silver_sel");
    check_reconciles(load, n_late);
    check_quarantine(load, "valid_quantity");
    snprintf(lp, sizeof lp, "%s/silver/silver_sel_late", lake);
    late = e2e_table_sql(lp, "NULL::BIGINT AS _kafka_offset", false);
    CU_ASSERT_FATAL(
        asprintf(
            &query,
            "CREATE TEMP TABLE lt AS SELECT *, _kafka_partition AS p, _kafka_offset AS o FROM %s;"
            "CREATE TEMP TABLE wm AS SELECT batch_id, watermark AS w FROM els;"
            "SELECT (SELECT count(*) FROM lt) AS late_n,"
            " (SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)"
            "   FROM information_schema.columns WHERE table_name = 's') AS s_cols,"
            " (SELECT string_agg(column_name, ', ' ORDER BY ordinal_position)"
            "   FROM information_schema.columns WHERE table_name = 'q') AS q_cols,"
            " (SELECT string_agg(column_name, ', ' ORDER BY ordinal_position)"
            "   FROM information_schema.columns WHERE table_name = 'lt') AS lt_cols,"
            " (SELECT count(*) FROM s JOIN b USING (p, o) WHERE s.customer IS DISTINCT FROM"
            "   b.customer_id OR s.amount IS DISTINCT FROM b.price * b.quantity"
            "   OR s.price IS DISTINCT FROM round(b.price, 2)::DECIMAL(10,2)"
            "   OR s.country IS DISTINCT FROM upper(b.country)) AS wrong_values,"
            " (SELECT count(*) FROM (SELECT p, o FROM s UNION ALL SELECT p, o FROM q UNION ALL"
            "   SELECT p, o FROM lt) x) AS placed,"
            " (SELECT count(*) FROM (SELECT p, o FROM lt INTERSECT SELECT p, o FROM s)) AS "
            "lt_and_s,"
            " (SELECT count(*) FROM lt JOIN b USING (p, o) JOIN wm ON wm.batch_id = b._batch_id"
            "   WHERE lt.order_ts >= wm.w) AS lt_on_time,"
            " (SELECT count(*) FROM b JOIN truth t USING (p, o) JOIN wm ON wm.batch_id ="
            "   b._batch_id WHERE t.class <> 'value' AND b.order_ts < wm.w) AS behind",
            late) > 0);
    row = query_row(load, query, &rows);
    CU_ASSERT_EQUAL(e2e_get_int(row, "late_n"), tot.late_dropped);
    CU_ASSERT_EQUAL(e2e_get_int(row, "late_n"), e2e_get_int(row, "behind"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "s_cols")),
                           "order_id VARCHAR, customer VARCHAR, quantity INTEGER, "
                           "price DECIMAL(10,2), amount DOUBLE, order_ts TIMESTAMP WITH TIME ZONE, "
                           "_kafka_partition INTEGER, _kafka_offset BIGINT, country VARCHAR, "
                           "_processing_timestamp TIMESTAMP WITH TIME ZONE, p INTEGER, o BIGINT");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "q_cols")),
                           "order_id, customer, quantity, price, amount, order_ts, "
                           "_kafka_partition, _kafka_offset, country, _source_system, _batch_id, "
                           "_validation_errors, p, o");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "lt_cols")),
                           "order_id, customer, quantity, price, amount, order_ts, "
                           "_kafka_partition, _kafka_offset, country, _processing_timestamp, p, o");
    CU_ASSERT_EQUAL(e2e_get_int(row, "wrong_values"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "placed") + tot.duplicates, tot.bronze_rows);
    CU_ASSERT_EQUAL(e2e_get_int(row, "lt_and_s"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "lt_on_time"), 0);
    json_decref(rows);
    free(query);
    free(late);
    free(load);
}

/* Runs `smelter run PATH --available-now`, output appended to `log`; returns the exit code. */
static int run_binary(const char *path, const char *log)
{
    char *argv[] = {getenv("SMELTER_BIN"), "run",  (char *)path, "--available-now",
                    "--log-level",         "warn", NULL};
    pid_t pid = e2e_spawn(argv, NULL, log);
    int code = -1;
    CU_ASSERT_FATAL(pid > 0);
    if (!e2e_wait(pid, 120000, &code)) {
        CU_FAIL("smelter run did not finish within 120 s");
        return e2e_kill(pid);
    }
    return code;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long n;
    if (!f) {
        return strdup("");
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        text[0] = '\0';
    }
    fclose(f);
    return text;
}

static void test_run_silver_fail_rule_stops_then_restart_loses_nothing(void)
{
    static const char quantity_fail[] =
        "      positive_quantity: {expr: \"quantity > 0\", on_violation: fail}\n";
    static const char quantity_fixed[] =
        "      positive_quantity: {expr: \"quantity > 0\", on_violation: drop}\n";
    char path[1024], lake[1024], trigger[128], log[1024], ck[2048], bp[2048], *text, *at, *load;
    char *query = NULL;
    int64_t n_commits = -1, n_offsets = -1;
    int part = -1;
    long long off = -1;
    json_t *rows, *row;

    if (!getenv("SMELTER_BIN")) {
        fprintf(stderr, "SMELTER_BIN not set: skipped\n");
        return;
    }
    snprintf(log, sizeof log, "%s/fail.log", dir);
    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_fail / 4);
    pipeline_file("failp", "fail", trigger, WIDE_DELAY, "silver_fail", quantity_fail, path,
                  sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL(run_binary(path, log), 3);

    /* the error names the rule, the table and the first failing record */
    text = read_all(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "positive_quantity"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "table silver_fail"));
    at = strstr(text, "topic fail partition ");
    CU_ASSERT_PTR_NOT_NULL(at);
    if (at) {
        CU_ASSERT_EQUAL(sscanf(at, "topic fail partition %d offset %lld", &part, &off), 2);
    }
    if (!at || off < 0) {
        e2e_print_tail(log, 4000);
    }
    free(text);

    /* nothing of the batch is recorded */
    snprintf(ck, sizeof ck, "%s/_checkpoints/failp/commits", lake);
    e2e_latest_entry(ck, &n_commits);
    CU_ASSERT_EQUAL(n_commits, 0);
    snprintf(ck, sizeof ck, "%s/_checkpoints/failp/offsets", lake);
    e2e_latest_entry(ck, &n_offsets);
    CU_ASSERT_EQUAL(n_offsets, 0);
    snprintf(bp, sizeof bp, "%s/bronze/bronze_orders", lake);
    CU_ASSERT_EQUAL(e2e_table_rows(bp), 0);
    snprintf(bp, sizeof bp, "%s/silver/silver_fail", lake);
    CU_ASSERT_EQUAL(e2e_table_rows(bp), 0);

    /* the rule fixed in the file: the restart reads from the start and loses nothing */
    pipeline_file("failp", "fail", trigger, WIDE_DELAY, "silver_fail", quantity_fixed, path,
                  sizeof path, lake, sizeof lake);
    CU_ASSERT_EQUAL(run_binary(path, log), 0);
    snprintf(ck, sizeof ck, "%s/_checkpoints/failp/commits", lake);
    e2e_latest_entry(ck, &n_commits);
    CU_ASSERT(n_commits >= 4);

    load = load_sql(truth_fail, lake, "failp", "silver_fail");
    check_reconciles(load, n_fail);
    check_quarantine(load, "positive_quantity");
    /* the record named is a quantity fault, the first of its partition (the batch read every
     * partition from offset 0) */
    CU_ASSERT_FATAL(
        asprintf(&query,
                 "SELECT (SELECT count(*) FROM truth WHERE p = %d AND o = %lld AND fault IN"
                 "   ('negative_quantity', 'zero_quantity')) AS named_is_fault,"
                 " (SELECT count(*) FROM truth WHERE p = %d AND o < %lld AND fault IN"
                 "   ('negative_quantity', 'zero_quantity')) AS earlier_in_partition,"
                 " (SELECT count(*) FROM s JOIN truth t USING (p, o) WHERE t.class <> 'none')"
                 "   AS bad_in_silver,"
                 " (SELECT count(*) FROM (SELECT p, o FROM truth WHERE class = 'none'"
                 "   EXCEPT SELECT p, o FROM s)) AS none_missing,"
                 " (SELECT coalesce(sum(num_dropped_duplicates), 0) FROM els) AS el_dups,"
                 " (SELECT count(*) FROM truth WHERE class = 'duplicate') AS truth_dups,"
                 " (SELECT min(batch_id) FROM els) AS first_batch",
                 part, off, part, off) > 0);
    row = query_row(load, query, &rows);
    CU_ASSERT_EQUAL(e2e_get_int(row, "named_is_fault"), 1);
    CU_ASSERT_EQUAL(e2e_get_int(row, "earlier_in_partition"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "bad_in_silver"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "none_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_dups"), e2e_get_int(row, "truth_dups"));
    CU_ASSERT_EQUAL(e2e_get_int(row, "first_batch"), 0); /* the failed batch, run again */
    json_decref(rows);
    free(query);
    free(load);
}

/* A batch cut by max_records_per_trigger must read each partition in proportion to its lag (as
 * Spark splits maxOffsetsPerTrigger): filled first come, first served, the watermark (the max
 * event time over all partitions, less the delay) would pass the event times of the partitions
 * read least, and their on-time rows would be counted late and dropped. */
static void test_run_silver_on_time_rows_are_not_late_across_partitions(void)
{
    char path[1024], lake[1024], trigger[128], *load;
    sm_batch_report tot;
    json_t *rows, *row;

    snprintf(trigger, sizeof trigger, "{available_now: true, max_records_per_trigger: %" PRId64 "}",
             n_rec / 5);
    pipeline_file("even", "rec", trigger, "10m", "silver_orders", quantity_drop, path, sizeof path,
                  lake, sizeof lake);
    CU_ASSERT_EQUAL_FATAL(e2e_run_in_process(path, &tot), SM_OK);
    CU_ASSERT(tot.batch_id >= 5);
    CU_ASSERT_EQUAL(tot.late, 0);
    load = load_sql(truth_rec, lake, "even", "silver_orders");
    check_reconciles(load, n_rec);
    row = query_row(load,
                    "SELECT (SELECT count(*) FROM (SELECT p, o FROM truth WHERE class = 'none'"
                    "   EXCEPT SELECT p, o FROM s)) AS none_missing,"
                    " (SELECT coalesce(sum(num_late_rows), 0) FROM els) AS el_late",
                    &rows);
    CU_ASSERT_EQUAL(e2e_get_int(row, "none_missing"), 0);
    CU_ASSERT_EQUAL(e2e_get_int(row, "el_late"), 0);
    json_decref(rows);
    free(load);
}

static CU_TestInfo tests[] = {
    {"silver + quarantine + duplicates = bronze, quarantine = the truth's bad records",
     test_run_silver_reconciles_with_the_truth},
    {"late rows are counted and dropped", test_run_silver_late_rows_are_counted_and_dropped},
    {"select, casts and a late table", test_run_silver_select_casts_and_late_table},
    {"a fail rule stops with exit 3, the fixed rule loses nothing",
     test_run_silver_fail_rule_stops_then_restart_loses_nothing},
    {"on-time rows are not late across partitions",
     test_run_silver_on_time_rows_are_not_late_across_partitions},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("run_silver", setup, teardown, tests)
