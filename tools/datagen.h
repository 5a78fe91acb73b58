/*
 * dg — the e-commerce dataset generator behind `smelter produce`.
 *
 * Three datasets share one customer space, so ids join across topics for the same seed and
 * customer count:
 *   orders    order_id, customer_id, product_id, category, quantity, price, order_ts, status,
 *             device, country, coupon
 *   activity  event_id, session_id, customer_id, event_type, page, product_id, device,
 *             duration_ms, event_ts   (sessions: page views, searches, cart adds, purchases)
 *   profiles  customer_id, first_name, last_name, email, age, gender, country, city,
 *             signup_date, loyalty_tier, marketing_opt_in, updated_ts
 * Every message is keyed by customer_id.
 *
 * Determinism: the n-th record is a pure function of (conf, n). Nothing reads the clock unless
 * conf->start_ms says so, so the same seed gives byte-identical payloads on every run, at any
 * rate.
 *
 * Event time follows a simulated clock that advances by exponential inter-arrival times
 * (conf->events_per_sec of event time); each event lags the clock by up to max_ooo_ms
 * (bounded out-of-orderness). A late event lags by late_max/2 .. late_max.
 *
 * Faults, each recorded in dg_record.fault, at ratios of all records:
 *   bad (class "value": the record decodes but breaks a rule; class "decode": it does not
 *   decode), late (class "late"), duplicate (the exact bytes of a recent good record re-sent).
 *
 * @thread one owner.
 */
#ifndef SM_TOOLS_DATAGEN_H
#define SM_TOOLS_DATAGEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum dg_dataset {
    DG_ORDERS = 0,
    DG_ACTIVITY,
    DG_PROFILES,
} dg_dataset;

#define DG_DATASET_CHOICES "orders|activity|profiles"

typedef enum dg_fault {
    DG_FAULT_NONE = 0,
    DG_FAULT_NULL_ID,       /* the record's id is JSON null */
    DG_FAULT_EMPTY_ID,      /* the record's id is "" or blanks */
    DG_FAULT_NEG_QUANTITY,  /* orders */
    DG_FAULT_ZERO_QUANTITY, /* orders */
    DG_FAULT_NEG_PRICE,     /* orders */
    DG_FAULT_ZERO_PRICE,    /* orders */
    DG_FAULT_NEG_DURATION,  /* activity */
    DG_FAULT_NEG_AGE,       /* profiles */
    DG_FAULT_WRONG_TYPE,    /* "quantity":"three" and the like */
    DG_FAULT_TRUNCATED,     /* payload cut short */
    DG_FAULT_MALFORMED,     /* broken JSON syntax */
    DG_FAULT_INVALID_UTF8,  /* invalid UTF-8 bytes inside a string */
    DG_FAULT_LATE,          /* event time far behind the event clock */
    DG_FAULT_DUPLICATE,     /* exact re-send of an earlier record */
    DG_FAULT_COUNT
} dg_fault;

typedef struct dg_conf {
    int dataset; /* dg_dataset */
    int64_t seed;
    int64_t customers; /* size of the customer space */
    int64_t products;
    double bad_ratio;
    double late_ratio;
    double dup_ratio;
    int64_t late_max_ms;
    int64_t max_ooo_ms;    /* bounded out-of-orderness of on-time events */
    int64_t start_ms;      /* event clock start, epoch ms */
    double events_per_sec; /* event-time rate of the simulated clock */
} dg_conf;

typedef struct dg_record {
    int64_t seq; /* 0-based position in the stream */
    dg_fault fault;
    int64_t dup_of;   /* seq of the original for DG_FAULT_DUPLICATE, else -1 */
    int64_t customer; /* customer index, 0-based */
    int64_t event_ms; /* event time written in the payload */
    const char *id;   /* order_id / event_id / customer_id as written; NULL when null */
    const char *key;  /* customer_id */
    size_t key_len;
    const char *payload;
    size_t payload_len;
    /* The well-formed payload a truncated/malformed/invalid_utf8 record was broken from (other
     * transports re-encode it and break their own encoding, tools/transcode.h); for every other
     * record the same bytes as payload. */
    const char *clean;
    size_t clean_len;
} dg_record;

typedef struct dg_gen dg_gen;

/* Checks conf (ratios in [0,1] adding up to at most 1, sizes > 0) and prepares the tables. */
int dg_create(const dg_conf *conf, dg_gen **out, sm_error *err);
void dg_destroy(dg_gen *g);

/* Produces the next record. Pointers in `out` stay valid until the next call. */
void dg_next(dg_gen *g, dg_record *out);

const char *dg_fault_name(dg_fault f); /* "negative_quantity", ... */
/* "none" | "value" (decodes, breaks a rule) | "decode" (does not decode) | "late" |
 * "duplicate" */
const char *dg_fault_class(dg_fault f);
const char *dg_dataset_name(dg_dataset d);

/* FNV-1a 64 of bytes — the payload fingerprint in ground-truth files. */
uint64_t dg_fnv1a64(const void *data, size_t len);

#endif
