/* The dataset generator: determinism, fault ratios and classes, well-formed payloads. */
#include <jansson.h>
#include <stdint.h>

#include "sm_test.h"
#include "tools/datagen.h"

static dg_conf conf_for(int dataset, int64_t seed)
{
    dg_conf c = {0};
    c.dataset = dataset;
    c.seed = seed;
    c.customers = 10000;
    c.products = 2000;
    c.bad_ratio = 0.05;
    c.late_ratio = 0.02;
    c.dup_ratio = 0.01;
    c.late_max_ms = 3600000;
    c.max_ooo_ms = 5000;
    c.start_ms = 1767225600000; /* 2026-01-01 */
    c.events_per_sec = 20;
    return c;
}

static uint64_t stream_hash(int dataset, int64_t seed, int n)
{
    dg_conf c = conf_for(dataset, seed);
    dg_gen *g;
    dg_record r;
    uint64_t h = 0;
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    for (int i = 0; i < n; i++) {
        dg_next(g, &r);
        h = h * 31 + dg_fnv1a64(r.payload, r.payload_len) + dg_fnv1a64(r.key, r.key_len);
    }
    dg_destroy(g);
    return h;
}

static void test_datagen_same_seed_gives_identical_payloads(void)
{
    for (int d = DG_ORDERS; d <= DG_PROFILES; d++) {
        CU_ASSERT_EQUAL(stream_hash(d, 7, 50000), stream_hash(d, 7, 50000));
        CU_ASSERT_NOT_EQUAL(stream_hash(d, 7, 1000), stream_hash(d, 8, 1000));
    }
}

/* Every record that is not a decode fault is valid JSON with the dataset's fields, its key is
 * its customer_id, and its id is what the record says. Decode faults never parse. */
static void check_dataset(int dataset, const char *id_field, const char *const *fields)
{
    dg_conf c = conf_for(dataset, 42);
    dg_gen *g;
    dg_record r;
    int64_t counts[DG_FAULT_COUNT] = {0};
    const int n = 100000;

    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    for (int i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *j;
        const char *cls;
        dg_next(g, &r);
        CU_ASSERT_EQUAL(r.seq, i);
        counts[r.fault]++;
        cls = dg_fault_class(r.fault);
        j = json_loadb(r.payload, r.payload_len, JSON_REJECT_DUPLICATES, &jerr);
        if (strcmp(cls, "decode") == 0 && r.fault != DG_FAULT_WRONG_TYPE) {
            CU_ASSERT_PTR_NULL(j);
        } else {
            CU_ASSERT_PTR_NOT_NULL(j);
        }
        if (!j) {
            continue;
        }
        for (const char *const *f = fields; *f; f++) {
            CU_ASSERT_PTR_NOT_NULL(json_object_get(j, *f));
        }
        if (dataset != DG_PROFILES || r.fault == DG_FAULT_NONE) {
            json_t *cid = json_object_get(j, "customer_id");
            CU_ASSERT(json_is_string(cid) && strlen(json_string_value(cid)) == r.key_len &&
                      memcmp(json_string_value(cid), r.key, r.key_len) == 0);
        }
        {
            json_t *id = json_object_get(j, id_field);
            if (r.fault == DG_FAULT_NULL_ID) {
                CU_ASSERT(json_is_null(id));
                CU_ASSERT_PTR_NULL(r.id);
            } else {
                CU_ASSERT(json_is_string(id) && r.id && strcmp(json_string_value(id), r.id) == 0);
            }
        }
        if (r.fault == DG_FAULT_DUPLICATE) {
            CU_ASSERT(r.dup_of >= 0 && r.dup_of < r.seq);
        } else {
            CU_ASSERT_EQUAL(r.dup_of, -1);
        }
        json_decref(j);
    }
    dg_destroy(g);

    {
        int64_t bad = 0;
        for (int f = DG_FAULT_NULL_ID; f <= DG_FAULT_INVALID_UTF8; f++) {
            bad += counts[f];
        }
        /* binomial, 5 sigma */
        CU_ASSERT(bad > 5000 - 350 && bad < 5000 + 350);
        CU_ASSERT(counts[DG_FAULT_LATE] > 2000 - 225 && counts[DG_FAULT_LATE] < 2000 + 225);
        CU_ASSERT(counts[DG_FAULT_DUPLICATE] > 1000 - 160 &&
                  counts[DG_FAULT_DUPLICATE] < 1000 + 160);
        CU_ASSERT(counts[DG_FAULT_TRUNCATED] > 0 && counts[DG_FAULT_MALFORMED] > 0 &&
                  counts[DG_FAULT_INVALID_UTF8] > 0 && counts[DG_FAULT_WRONG_TYPE] > 0 &&
                  counts[DG_FAULT_NULL_ID] > 0 && counts[DG_FAULT_EMPTY_ID] > 0);
    }
}

static void test_datagen_orders_are_well_formed(void)
{
    static const char *const fields[] = {"order_id", "customer_id", "product_id", "category",
                                         "quantity", "price",       "order_ts",   "status",
                                         "device",   "country",     "coupon",     NULL};
    check_dataset(DG_ORDERS, "order_id", fields);
}

static void test_datagen_activity_is_well_formed(void)
{
    static const char *const fields[] = {"event_id", "session_id", "customer_id", "event_type",
                                         "page",     "product_id", "device",      "duration_ms",
                                         "event_ts", NULL};
    check_dataset(DG_ACTIVITY, "event_id", fields);
}

static void test_datagen_profiles_are_well_formed(void)
{
    static const char *const fields[] = {"customer_id", "first_name",   "last_name",  "email",
                                         "age",         "gender",       "country",    "city",
                                         "signup_date", "loyalty_tier", "updated_ts", NULL};
    check_dataset(DG_PROFILES, "customer_id", fields);
}

/* On-time events lag the clock by at most max_ooo; late ones by late_max/2 .. late_max. */
static void test_datagen_event_time_is_bounded_out_of_order(void)
{
    dg_conf c = conf_for(DG_ORDERS, 3);
    dg_gen *g;
    dg_record r;
    int64_t max_seen;
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    max_seen = c.start_ms - c.max_ooo_ms;
    for (int i = 0; i < 50000; i++) {
        dg_next(g, &r);
        if (r.fault == DG_FAULT_DUPLICATE) {
            continue;
        }
        if (r.fault == DG_FAULT_LATE) {
            CU_ASSERT(r.event_ms < max_seen - c.late_max_ms / 2 + c.max_ooo_ms + 1000);
        } else {
            CU_ASSERT(r.event_ms > max_seen - c.max_ooo_ms - 1);
            if (r.event_ms > max_seen) {
                max_seen = r.event_ms;
            }
        }
    }
    /* 50k events at 20/s of event time: about 2500 s */
    CU_ASSERT(max_seen - c.start_ms > 2300000 && max_seen - c.start_ms < 2700000);
    dg_destroy(g);
}

/* The same customer has the same country in orders and profiles for one seed. */
static void test_datagen_customers_consistent_across_datasets(void)
{
    dg_conf co = conf_for(DG_ORDERS, 9), cp = conf_for(DG_PROFILES, 9);
    dg_gen *go, *gp;
    dg_record r;
    char country_of[10000][3];
    int seen = 0, checked = 0;
    memset(country_of, 0, sizeof country_of);
    co.bad_ratio = cp.bad_ratio = co.dup_ratio = cp.dup_ratio = 0;
    CU_ASSERT_EQUAL_FATAL(dg_create(&cp, &gp, NULL), SM_OK);
    for (int i = 0; i < 30000; i++) {
        json_t *j;
        dg_next(gp, &r);
        j = json_loadb(r.payload, r.payload_len, 0, NULL);
        if (!country_of[r.customer][0]) {
            seen++;
        }
        memcpy(country_of[r.customer], json_string_value(json_object_get(j, "country")), 2);
        json_decref(j);
    }
    CU_ASSERT_EQUAL_FATAL(dg_create(&co, &go, NULL), SM_OK);
    for (int i = 0; i < 30000; i++) {
        json_t *j;
        dg_next(go, &r);
        if (!country_of[r.customer][0]) {
            continue;
        }
        j = json_loadb(r.payload, r.payload_len, 0, NULL);
        CU_ASSERT_NSTRING_EQUAL(country_of[r.customer],
                                json_string_value(json_object_get(j, "country")), 2);
        checked++;
        json_decref(j);
    }
    CU_ASSERT(seen > 9000);
    CU_ASSERT(checked > 25000);
    dg_destroy(go);
    dg_destroy(gp);
}

static void test_datagen_rejects_bad_ratios(void)
{
    dg_conf c = conf_for(DG_ORDERS, 1);
    dg_gen *g = NULL;
    sm_error err;
    c.bad_ratio = 0.6;
    c.dup_ratio = 0.5;
    CU_ASSERT_EQUAL(dg_create(&c, &g, &err), SM_ERR_USAGE);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "add up to at most 1"));
    c = conf_for(DG_ORDERS, 1);
    c.late_ratio = -0.1;
    CU_ASSERT_EQUAL(dg_create(&c, &g, &err), SM_ERR_USAGE);
    c = conf_for(DG_ORDERS, 1);
    c.customers = 0;
    CU_ASSERT_EQUAL(dg_create(&c, &g, &err), SM_ERR_USAGE);
}

/* Order ids are unique within a stream (duplicates aside) and differ between seeds. */
static void test_datagen_order_ids_unique(void)
{
    dg_conf c = conf_for(DG_ORDERS, 11);
    dg_gen *g;
    dg_record r;
    json_t *seen = json_object();
    c.bad_ratio = 0;
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    for (int i = 0; i < 50000; i++) {
        dg_next(g, &r);
        if (r.fault == DG_FAULT_DUPLICATE) {
            CU_ASSERT_PTR_NOT_NULL(json_object_get(seen, r.id));
            continue;
        }
        CU_ASSERT_PTR_NULL(json_object_get(seen, r.id));
        json_object_set_new(seen, r.id, json_true());
    }
    dg_destroy(g);
    json_decref(seen);
}

static CU_TestInfo tests[] = {
    {"same seed gives identical payloads", test_datagen_same_seed_gives_identical_payloads},
    {"orders are well formed, faults at their ratios", test_datagen_orders_are_well_formed},
    {"activity is well formed, faults at their ratios", test_datagen_activity_is_well_formed},
    {"profiles are well formed, faults at their ratios", test_datagen_profiles_are_well_formed},
    {"event time is bounded out of order; late is late",
     test_datagen_event_time_is_bounded_out_of_order},
    {"customers are consistent across datasets", test_datagen_customers_consistent_across_datasets},
    {"rejects bad ratios", test_datagen_rejects_bad_ratios},
    {"order ids are unique", test_datagen_order_ids_unique},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("datagen", tests)
