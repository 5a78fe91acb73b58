/*
 * The e-commerce dataset generator (see datagen.h for the datasets and the determinism rule).
 *
 * Randomness is xoshiro256** seeded through splitmix64. Per-customer and per-product attributes
 * (country, age, category, base price, ...) are not drawn from the stream: they are a hash of
 * (seed, index), so a customer has the same country in orders, activity and profiles without
 * any shared state between the three generators.
 *
 * Payloads are built by hand into one buffer (no snprintf per field): the generator must keep
 * up with librdkafka and with kcat reading a file.
 */
#include "tools/datagen.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

#define PAYLOAD_MAX   2048
#define DUP_RING      256
#define SESSION_SLOTS 256

/* ---- randomness ------------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A bijective 64-bit mix: distinct inputs give distinct outputs (unique ids from counters). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). */
static uint64_t rng_below(rng *r, uint64_t n)
{
    return (uint64_t)(rng_unit(r) * (double)n);
}

static double rng_exp(rng *r, double mean)
{
    return -mean * log(1.0 - rng_unit(r));
}

static double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Zipf-like ranks in [0, n) with exponent s (0 < s < 1), by inverting the continuous power
 * law: one pow() per draw, no table, so a customer space of millions costs nothing. */
typedef struct zipf {
    uint64_t n;
    double span;  /* (n + 1)^(1 - s) - 1 */
    double inv_a; /* 1 / (1 - s) */
} zipf;

static zipf zipf_make(uint64_t n, double s)
{
    zipf z = {n, pow((double)n + 1.0, 1.0 - s) - 1.0, 1.0 / (1.0 - s)};
    return z;
}

static uint64_t rng_zipf(rng *r, const zipf *z)
{
    double x = pow(z->span * rng_unit(r) + 1.0, z->inv_a);
    uint64_t k = (uint64_t)x - 1;
    return k < z->n ? k : z->n - 1;
}

/* A value that depends only on (seed, what, index): attributes of customers and products. */
static uint64_t attr_hash(uint64_t seed, uint64_t what, uint64_t index)
{
    return mix64(seed ^ mix64(what * 0x100000001b3ULL + index + 1));
}

static double attr_unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

/* Picks an index by cumulative weights (percent, summing to 100) from a unit draw. */
static int pick_weighted(const int *weights, int n, double u)
{
    double acc = 0;
    for (int i = 0; i < n; i++) {
        acc += weights[i] / 100.0;
        if (u < acc) {
            return i;
        }
    }
    return n - 1;
}

/* ---- vocabularies ------------------------------------------------------------------------ */

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const categories[] = {"electronics", "books",     "clothing", "home",
                                         "beauty",      "sports",    "toys",     "grocery",
                                         "garden",      "automotive"};
static const int category_weights[] = {18, 12, 16, 12, 8, 8, 7, 9, 5, 5};
/* median base price in cents per category */
static const int category_median_cents[] = {12000, 1500, 3500, 4500, 2000,
                                            4000,  2500, 800,  3000, 6000};

static const char *const countries[] = {"US", "GB", "DE", "FR", "IN", "BR", "JP", "CA",
                                        "AU", "ES", "IT", "NL", "MX", "SE", "PL"};
static const int country_weights[] = {30, 10, 9, 7, 8, 6, 6, 5, 4, 4, 3, 3, 2, 2, 1};
static const char *const cities[][3] = {
    {"New York", "Austin", "Seattle"},
    {"London", "Manchester", "Leeds"},
    {"Berlin", "München", "Köln"},
    {"Paris", "Lyon", "Marseille"},
    {"Mumbai", "Bengaluru", "Delhi"},
    {"São Paulo", "Rio de Janeiro", "Curitiba"},
    {"Tokyo", "Osaka", "Sapporo"},
    {"Toronto", "Montréal", "Vancouver"},
    {"Sydney", "Melbourne", "Perth"},
    {"Madrid", "Barcelona", "Sevilla"},
    {"Roma", "Milano", "Torino"},
    {"Amsterdam", "Utrecht", "Rotterdam"},
    {"Ciudad de México", "Guadalajara", "Monterrey"},
    {"Stockholm", "Göteborg", "Malmö"},
    {"Warszawa", "Kraków", "Łódź"},
};

static const char *const statuses[] = {"placed", "paid", "shipped", "cancelled", "returned"};
static const int status_weights[] = {70, 15, 8, 5, 2};
static const char *const devices[] = {"mobile", "desktop", "tablet"};
static const int device_weights[] = {55, 35, 10};
static const char *const coupons[] = {"SAVE10", "WELCOME", "FREESHIP", "BF2026"};
static const char *const tiers[] = {"bronze", "silver", "gold", "platinum"};
static const int tier_weights[] = {60, 25, 12, 3};
static const char *const genders[] = {"female", "male", "nonbinary", "undisclosed"};
static const int gender_weights[] = {48, 47, 2, 3};
static const char *const first_names[] = {"Olivia", "Liam",  "Emma",   "Noah",  "José",  "Zoë",
                                          "Łukasz", "Søren", "Renée",  "Aarav", "Yuki",  "Chloé",
                                          "Mateo",  "Ava",   "Björn",  "Priya", "Lucía", "Ethan",
                                          "Mia",    "Kenji", "Amélie", "Omar",  "Sofía", "Lars"};
static const char *const last_names[] = {"Smith",  "García", "Müller", "Martin",  "Kowalski",
                                         "Rossi",  "Tanaka", "Silva",  "Johnson", "Nguyen",
                                         "Dubois", "Sato",   "Brown",  "López",   "Andersson",
                                         "Patel",  "Novák",  "O'Neil", "Jensen",  "Fernández"};
static const char *const search_terms[] = {"headphones", "running shoes", "coffee", "lego",
                                           "desk lamp",  "yoga mat",      "novel",  "charger"};

/* ---- payload buffer ---------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n < PAYLOAD_MAX) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_int(buf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        tmp[n++] = '-';
    }
    while (n) {
        char c = tmp[--n];
        put(b, &c, 1);
    }
}

/* cents as a JSON number with two decimals: 1234 → 12.34, -5 → -0.05 */
static void put_cents(buf *b, int64_t cents)
{
    int64_t a = cents < 0 ? -cents : cents;
    char frac[3] = {(char)('0' + (a % 100) / 10), (char)('0' + a % 10), 0};
    if (cents < 0) {
        put(b, "-", 1);
    }
    put_int(b, a / 100);
    put(b, ".", 1);
    put(b, frac, 2);
}

/* "key": — keys are ours and need no escaping */
static void put_key(buf *b, const char *key, bool first)
{
    if (!first) {
        put(b, ",", 1);
    }
    put(b, "\"", 1);
    puts_(b, key);
    put(b, "\":", 2);
}

/* A string value; our vocabularies hold no quotes or backslashes except O'Neil's apostrophe,
 * which JSON does not escape. */
static void put_str(buf *b, const char *key, const char *value)
{
    put_key(b, key, false);
    put(b, "\"", 1);
    puts_(b, value);
    put(b, "\"", 1);
}

static void put_ts(buf *b, const char *key, int64_t ms)
{
    char ts[32];
    size_t n = sm_format_iso8601_ms(ms, ts, sizeof ts);
    put_key(b, key, false);
    put(b, "\"", 1);
    put(b, ts, n);
    put(b, "\"", 1);
}

/* ---- the generator ----------------------------------------------------------------------- */

typedef struct session {
    bool active;
    int64_t id;
    int64_t customer;
    int device;
    int cart; /* items in the cart */
    int64_t last_product;
} session;

typedef struct dup_entry {
    int64_t seq;
    int64_t customer;
    int64_t event_ms;
    size_t len;
    char id[40];
    char payload[PAYLOAD_MAX];
} dup_entry;

struct dg_gen {
    dg_conf conf;
    rng r;
    int64_t seq;
    double clock_ms; /* the simulated event clock */
    int64_t next_session;
    session sessions[SESSION_SLOTS];
    dup_entry *ring; /* recent good records, for duplicates */
    int ring_count, ring_next;
    int64_t cur_customer; /* customer of the record being built */
    zipf customer_pop, product_pop;
    char payload[PAYLOAD_MAX];
    char clean[PAYLOAD_MAX]; /* the payload before corrupt() broke it */
    char id[40];
    char key[24];
};

int dg_create(const dg_conf *conf, dg_gen **out, sm_error *err)
{
    dg_gen *g;

    *out = NULL;
    if (conf->dataset < DG_ORDERS || conf->dataset > DG_PROFILES) {
        return sm_error_set(err, SM_ERR_USAGE, "unknown dataset %d", conf->dataset);
    }
    if (conf->bad_ratio < 0 || conf->late_ratio < 0 || conf->dup_ratio < 0 ||
        conf->bad_ratio + conf->late_ratio + conf->dup_ratio > 1.0 + 1e-9) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "fault ratios must be >= 0 and add up to at most 1 "
                            "(bad %.3g + late %.3g + dup %.3g)",
                            conf->bad_ratio, conf->late_ratio, conf->dup_ratio);
    }
    if (conf->customers < 1 || conf->products < 1 || conf->events_per_sec <= 0 ||
        conf->late_max_ms < 0 || conf->max_ooo_ms < 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "customers, products and event rate must be positive, delays >= 0");
    }
    g = calloc(1, sizeof *g);
    if (!g || !(g->ring = calloc(DUP_RING, sizeof *g->ring))) {
        free(g);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    g->conf = *conf;
    rng_seed(&g->r, (uint64_t)conf->seed ^ ((uint64_t)conf->dataset << 56));
    g->clock_ms = (double)conf->start_ms;
    g->customer_pop = zipf_make((uint64_t)conf->customers, 0.8);
    g->product_pop = zipf_make((uint64_t)conf->products, 0.9);
    *out = g;
    return SM_OK;
}

void dg_destroy(dg_gen *g)
{
    if (g) {
        free(g->ring);
        free(g);
    }
}

/* Customer attributes: a pure function of (seed, customer). */
static uint64_t cust_attr(const dg_gen *g, uint64_t what, int64_t customer)
{
    return attr_hash((uint64_t)g->conf.seed, what, (uint64_t)customer);
}

static int cust_country(const dg_gen *g, int64_t c)
{
    return pick_weighted(country_weights, NELEM(country_weights), attr_unit(cust_attr(g, 1, c)));
}

static int cust_device(const dg_gen *g, int64_t c)
{
    return pick_weighted(device_weights, NELEM(device_weights), attr_unit(cust_attr(g, 2, c)));
}

static int prod_category(const dg_gen *g, int64_t p)
{
    return pick_weighted(category_weights, NELEM(category_weights),
                         attr_unit(attr_hash((uint64_t)g->conf.seed, 10, (uint64_t)p)));
}

/* Base price: log-normal around the category's median, sigma 0.6, at least 0.50. */
static int64_t prod_base_cents(const dg_gen *g, int64_t p)
{
    uint64_t h1 = attr_hash((uint64_t)g->conf.seed, 11, (uint64_t)p);
    uint64_t h2 = attr_hash((uint64_t)g->conf.seed, 12, (uint64_t)p);
    double u1 = 1.0 - attr_unit(h1), u2 = attr_unit(h2);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    double cents = category_median_cents[prod_category(g, p)] * exp(0.6 * z);
    return cents < 50 ? 50 : (int64_t)cents;
}

static void format_customer_id(char *dst, int64_t c)
{
    buf b = {dst, 0};
    char tmp[24];
    buf t = {tmp, 0};
    put_int(&t, c + 1);
    put(&b, "C", 1);
    for (size_t i = t.len; i < 7; i++) {
        put(&b, "0", 1);
    }
    put(&b, tmp, t.len);
    dst[b.len] = '\0';
}

static void format_product_id(char *dst, int64_t p)
{
    char tmp[24];
    buf t = {tmp, 0};
    size_t n = 0;
    put_int(&t, p + 1);
    dst[n++] = 'P';
    for (size_t i = t.len; i < 5; i++) {
        dst[n++] = '0';
    }
    memcpy(dst + n, tmp, t.len);
    dst[n + t.len] = '\0';
}

/* 16 hex digits, unique per (seed, dataset, counter) because mix64 is a bijection. */
static void format_unique_id(char *dst, char prefix, const dg_gen *g, int64_t counter)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = mix64(((uint64_t)g->conf.seed * 0x9e3779b97f4a7c15ULL) ^
                       ((uint64_t)g->conf.dataset << 60) ^ (uint64_t)counter);
    dst[0] = prefix;
    dst[1] = '-';
    for (int i = 0; i < 16; i++) {
        dst[2 + i] = hex[(v >> (60 - 4 * i)) & 15];
    }
    dst[18] = '\0';
}

/* The value faults that apply to a dataset, and the ones every dataset shares. */
static dg_fault pick_bad_fault(dg_gen *g)
{
    static const dg_fault orders[] = {
        DG_FAULT_NULL_ID,   DG_FAULT_EMPTY_ID,    DG_FAULT_NEG_QUANTITY, DG_FAULT_ZERO_QUANTITY,
        DG_FAULT_NEG_PRICE, DG_FAULT_ZERO_PRICE,  DG_FAULT_WRONG_TYPE,   DG_FAULT_TRUNCATED,
        DG_FAULT_MALFORMED, DG_FAULT_INVALID_UTF8};
    static const dg_fault activity[] = {
        DG_FAULT_NULL_ID,   DG_FAULT_EMPTY_ID,  DG_FAULT_NEG_DURATION, DG_FAULT_WRONG_TYPE,
        DG_FAULT_TRUNCATED, DG_FAULT_MALFORMED, DG_FAULT_INVALID_UTF8};
    static const dg_fault profiles[] = {
        DG_FAULT_NULL_ID,   DG_FAULT_EMPTY_ID,  DG_FAULT_NEG_AGE,     DG_FAULT_WRONG_TYPE,
        DG_FAULT_TRUNCATED, DG_FAULT_MALFORMED, DG_FAULT_INVALID_UTF8};
    switch (g->conf.dataset) {
    case DG_ORDERS:
        return orders[rng_below(&g->r, NELEM(orders))];
    case DG_ACTIVITY:
        return activity[rng_below(&g->r, NELEM(activity))];
    default:
        return profiles[rng_below(&g->r, NELEM(profiles))];
    }
}

/* Writes the id member: null, blank, or g->id. A blank id is also left in g->id, so the record
 * reports the id as written. */
static void put_id(dg_gen *g, buf *b, const char *key, dg_fault f)
{
    put_key(b, key, true);
    if (f == DG_FAULT_NULL_ID) {
        puts_(b, "null");
        return;
    }
    if (f == DG_FAULT_EMPTY_ID) {
        strcpy(g->id, rng_below(&g->r, 2) ? "" : "   ");
    }
    put(b, "\"", 1);
    puts_(b, g->id);
    put(b, "\"", 1);
}

static void gen_order(dg_gen *g, dg_fault f, int64_t event_ms, buf *b)
{
    rng *r = &g->r;
    int64_t c;
    int64_t p = (int64_t)rng_zipf(r, &g->product_pop);
    int cat = prod_category(g, p);
    int64_t base = prod_base_cents(g, p);
    int64_t quantity, price;
    int qroll = (int)rng_below(r, 100);
    char pid[16];

    c = (int64_t)rng_zipf(r, &g->customer_pop);
    /* scatter popularity so the busiest customer is not C0000001 */
    c = (int64_t)(((uint64_t)c * 2654435761ULL) % (uint64_t)g->conf.customers);
    format_customer_id(g->key, c);
    format_unique_id(g->id, 'o', g, g->seq);
    format_product_id(pid, p);

    quantity = qroll < 62   ? 1
               : qroll < 82 ? 2
               : qroll < 91 ? 3
               : qroll < 95 ? 4
               : qroll < 97 ? 5
                            : 6 + (int64_t)rng_below(r, 5);
    price = base;
    if (rng_below(r, 100) < 20) { /* a discount of 5..30 % */
        price = price * (95 - (int64_t)rng_below(r, 26)) / 100;
    }
    if (f == DG_FAULT_NEG_QUANTITY) {
        quantity = -(1 + (int64_t)rng_below(r, 5));
    } else if (f == DG_FAULT_ZERO_QUANTITY) {
        quantity = 0;
    } else if (f == DG_FAULT_NEG_PRICE) {
        price = -price;
    } else if (f == DG_FAULT_ZERO_PRICE) {
        price = 0;
    }

    put(b, "{", 1);
    put_id(g, b, "order_id", f);
    put_str(b, "customer_id", g->key);
    put_str(b, "product_id", pid);
    put_str(b, "category", categories[cat]);
    put_key(b, "quantity", false);
    if (f == DG_FAULT_WRONG_TYPE && rng_below(r, 2)) {
        static const char *const words[] = {"\"three\"", "\"two\"", "\"a few\"", "true", "[1]"};
        puts_(b, words[rng_below(r, NELEM(words))]);
        put_key(b, "price", false);
        put_cents(b, price);
    } else if (f == DG_FAULT_WRONG_TYPE) {
        put_int(b, quantity);
        put_key(b, "price", false);
        puts_(b, rng_below(r, 2) ? "\"cheap\"" : "{\"amount\":1}");
    } else {
        put_int(b, quantity);
        put_key(b, "price", false);
        put_cents(b, price);
    }
    put_ts(b, "order_ts", event_ms);
    put_str(b, "status",
            statuses[pick_weighted(status_weights, NELEM(status_weights), rng_unit(r))]);
    put_str(
        b, "device",
        devices[rng_below(r, 100) < 70 ? cust_device(g, c) : (int)rng_below(r, NELEM(devices))]);
    put_str(b, "country", countries[cust_country(g, c)]);
    put_key(b, "coupon", false);
    if (rng_below(r, 100) < 20) {
        put(b, "\"", 1);
        puts_(b, coupons[rng_below(r, NELEM(coupons))]);
        put(b, "\"", 1);
    } else {
        puts_(b, "null");
    }
    put(b, "}", 1);
    g->cur_customer = c;
}

static session *pick_session(dg_gen *g)
{
    rng *r = &g->r;
    session *s = &g->sessions[rng_below(r, SESSION_SLOTS)];
    if (!s->active || rng_below(r, 100) < 8) { /* a new visit */
        int64_t c = (int64_t)rng_zipf(r, &g->customer_pop);
        c = (int64_t)(((uint64_t)c * 2654435761ULL) % (uint64_t)g->conf.customers);
        s->active = true;
        s->id = g->next_session++;
        s->customer = c;
        s->device = rng_below(r, 100) < 70 ? cust_device(g, c) : (int)rng_below(r, NELEM(devices));
        s->cart = 0;
        s->last_product = -1;
    }
    return s;
}

static void gen_activity(dg_gen *g, dg_fault f, int64_t event_ms, buf *b)
{
    static const char *const types[] = {"page_view", "search", "add_to_cart", "remove_from_cart",
                                        "purchase"};
    static const int type_weights[] = {70, 10, 12, 3, 5};
    rng *r = &g->r;
    session *s = pick_session(g);
    int type = pick_weighted(type_weights, NELEM(type_weights), rng_unit(r));
    char sid[24], pid[16], page[96];
    int64_t duration;

    if ((type == 3 || type == 4) && s->cart == 0) {
        type = 0; /* nothing to remove or buy yet: browse instead */
    }
    if (type == 0 || type == 2 || s->last_product < 0) {
        s->last_product = (int64_t)rng_zipf(r, &g->product_pop);
    }
    format_product_id(pid, s->last_product);
    format_customer_id(g->key, s->customer);
    format_unique_id(g->id, 'e', g, g->seq);
    format_unique_id(sid, 's', g, s->id | (INT64_C(1) << 40));
    duration = (int64_t)(15000.0 * exp(0.9 * rng_normal(r)));
    if (type == 2) {
        s->cart++;
    } else if (type == 3) {
        s->cart--;
    } else if (type == 4) {
        s->cart = 0;
    }

    put(b, "{", 1);
    put_id(g, b, "event_id", f);
    put_str(b, "session_id", sid);
    put_str(b, "customer_id", g->key);
    put_str(b, "event_type", types[type]);
    {
        buf pb = {page, 0};
        switch (type) {
        case 1:
            puts_(&pb, "/search?q=");
            puts_(&pb, search_terms[rng_below(r, NELEM(search_terms))]);
            break;
        case 2:
        case 3:
            puts_(&pb, "/cart");
            break;
        case 4:
            puts_(&pb, "/checkout");
            break;
        default:
            puts_(&pb, "/product/");
            puts_(&pb, pid);
        }
        page[pb.len] = '\0';
    }
    put_str(b, "page", page);
    put_key(b, "product_id", false);
    if (type == 1 || type == 4) {
        puts_(b, "null");
    } else {
        put(b, "\"", 1);
        puts_(b, pid);
        put(b, "\"", 1);
    }
    put_str(b, "device", devices[s->device]);
    put_key(b, "duration_ms", false);
    if (f == DG_FAULT_NEG_DURATION) {
        put_int(b, -1 - duration);
    } else if (f == DG_FAULT_WRONG_TYPE) {
        puts_(b, rng_below(r, 2) ? "\"slow\"" : "false");
    } else {
        put_int(b, duration);
    }
    put_ts(b, "event_ts", event_ms);
    put(b, "}", 1);
    g->cur_customer = s->customer;
}

static void gen_profile(dg_gen *g, dg_fault f, int64_t event_ms, buf *b)
{
    rng *r = &g->r;
    int64_t c = (int64_t)rng_below(r, (uint64_t)g->conf.customers);
    int country = cust_country(g, c);
    const char *first = first_names[cust_attr(g, 3, c) % NELEM(first_names)];
    const char *last = last_names[cust_attr(g, 4, c) % NELEM(last_names)];
    int64_t age = 18 + (int64_t)(cust_attr(g, 5, c) % 62);
    int64_t signup_days = sm_days_from_civil(2018, 1, 1) + (int64_t)(cust_attr(g, 6, c) % 2900);
    int64_t y;
    unsigned m, d;
    char date[16];

    format_customer_id(g->key, c);
    memcpy(g->id, g->key, sizeof g->key);

    put(b, "{", 1);
    put_id(g, b, "customer_id", f);
    put_str(b, "first_name", first);
    put_str(b, "last_name", last);
    put_key(b, "email", false);
    {
        char email[64];
        buf eb = {email, 0};
        for (const char *p = g->key; *p; p++) {
            char lc = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            put(&eb, &lc, 1);
        }
        puts_(&eb, "@example.com");
        put(b, "\"", 1);
        put(b, email, eb.len);
        put(b, "\"", 1);
    }
    put_key(b, "age", false);
    if (f == DG_FAULT_NEG_AGE) {
        put_int(b, -age);
    } else if (f == DG_FAULT_WRONG_TYPE) {
        puts_(b, rng_below(r, 2) ? "\"forty\"" : "null");
    } else {
        put_int(b, age);
    }
    put_str(b, "gender",
            genders[pick_weighted(gender_weights, NELEM(gender_weights),
                                  attr_unit(cust_attr(g, 7, c)))]);
    put_str(b, "country", countries[country]);
    put_str(b, "city", cities[country][cust_attr(g, 8, c) % 3]);
    sm_civil_from_days(signup_days, &y, &m, &d);
    date[0] = (char)('0' + (y / 1000) % 10);
    date[1] = (char)('0' + (y / 100) % 10);
    date[2] = (char)('0' + (y / 10) % 10);
    date[3] = (char)('0' + y % 10);
    date[4] = '-';
    date[5] = (char)('0' + m / 10);
    date[6] = (char)('0' + m % 10);
    date[7] = '-';
    date[8] = (char)('0' + d / 10);
    date[9] = (char)('0' + d % 10);
    date[10] = '\0';
    put_str(b, "signup_date", date);
    put_str(b, "loyalty_tier",
            tiers[pick_weighted(tier_weights, NELEM(tier_weights), attr_unit(cust_attr(g, 9, c)))]);
    put_key(b, "marketing_opt_in", false);
    puts_(b, rng_below(r, 100) < 45 ? "true" : "false");
    put_ts(b, "updated_ts", event_ms);
    put(b, "}", 1);
    g->cur_customer = c;
}

/* Breaks a well-formed payload in place according to a decode fault. */
static void corrupt(dg_gen *g, dg_fault f, buf *b)
{
    rng *r = &g->r;
    if (f == DG_FAULT_TRUNCATED) {
        /* any cut before the closing brace leaves an unterminated object */
        b->len = 1 + (size_t)rng_below(r, b->len - 2);
    } else if (f == DG_FAULT_MALFORMED) {
        char *colon = memchr(b->p, ':', b->len);
        switch (rng_below(r, 4)) {
        case 0: /* trailing comma */
            b->p[b->len - 1] = ',';
            put(b, "}", 1);
            break;
        case 1: /* missing colon after the first key */
            memmove(colon, colon + 1, b->len - (size_t)(colon - b->p) - 1);
            b->len--;
            break;
        case 2: /* unquoted first key */
            memmove(b->p + 1, b->p + 2, b->len - 2);
            b->len--;
            colon = memchr(b->p, '"', b->len);
            memmove(colon, colon + 1, b->len - (size_t)(colon - b->p) - 1);
            b->len--;
            break;
        default: /* an extra closing brace */
            put(b, "}", 1);
        }
    } else if (f == DG_FAULT_INVALID_UTF8) {
        static const char *const bad[] = {"\xff",     "\xc3\x28",     "\x80",
                                          "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80"};
        const char *seq = bad[rng_below(r, NELEM(bad))];
        size_t n = strlen(seq);
        /* inside the value of the last string member: just before its closing quote */
        char *q = b->p + b->len - 1;
        while (q > b->p && !(q[0] == '"' && (q[1] == '}' || q[1] == ','))) {
            q--;
        }
        memmove(q + n, q, b->len - (size_t)(q - b->p));
        memcpy(q, seq, n);
        b->len += n;
    }
}

void dg_next(dg_gen *g, dg_record *out)
{
    rng *r = &g->r;
    double u = rng_unit(r);
    const dg_conf *c = &g->conf;
    dg_fault f = DG_FAULT_NONE;
    int64_t event_ms;
    buf b = {g->payload, 0};

    g->clock_ms += rng_exp(r, 1000.0 / c->events_per_sec);
    memset(out, 0, sizeof *out);
    out->seq = g->seq;
    out->dup_of = -1;

    if (u < c->dup_ratio && g->ring_count > 0) {
        const dup_entry *e =
            &g->ring[(g->ring_next - 1 - (int)rng_below(r, (uint64_t)g->ring_count) + DUP_RING) %
                     DUP_RING];
        memcpy(g->payload, e->payload, e->len);
        memcpy(g->id, e->id, sizeof g->id);
        format_customer_id(g->key, e->customer);
        out->fault = DG_FAULT_DUPLICATE;
        out->dup_of = e->seq;
        out->customer = e->customer;
        out->event_ms = e->event_ms;
        out->id = g->id;
        out->key = g->key;
        out->key_len = strlen(g->key);
        out->payload = g->payload;
        out->payload_len = e->len;
        out->clean = g->payload;
        out->clean_len = e->len;
        g->seq++;
        return;
    }
    if (u < c->dup_ratio + c->bad_ratio) {
        f = pick_bad_fault(g);
    } else if (u < c->dup_ratio + c->bad_ratio + c->late_ratio) {
        f = DG_FAULT_LATE;
    }

    if (f == DG_FAULT_LATE) {
        double lag = (double)c->late_max_ms * (0.5 + 0.5 * rng_unit(r));
        event_ms = (int64_t)(g->clock_ms - lag);
    } else {
        event_ms = (int64_t)(g->clock_ms - (double)c->max_ooo_ms * rng_unit(r));
    }

    switch (c->dataset) {
    case DG_ORDERS:
        gen_order(g, f, event_ms, &b);
        break;
    case DG_ACTIVITY:
        gen_activity(g, f, event_ms, &b);
        break;
    default:
        gen_profile(g, f, event_ms, &b);
    }
    out->customer = g->cur_customer;
    out->clean = g->payload;
    out->clean_len = b.len;
    if (f == DG_FAULT_TRUNCATED || f == DG_FAULT_MALFORMED || f == DG_FAULT_INVALID_UTF8) {
        memcpy(g->clean, g->payload, b.len);
        out->clean = g->clean;
    }
    corrupt(g, f, &b);

    out->fault = f;
    out->event_ms = event_ms;
    out->id = f == DG_FAULT_NULL_ID ? NULL : g->id;
    out->key = g->key;
    out->key_len = strlen(g->key);
    out->payload = g->payload;
    out->payload_len = b.len;

    if (f == DG_FAULT_NONE) { /* only good records are re-sent as duplicates */
        dup_entry *e = &g->ring[g->ring_next];
        e->seq = g->seq;
        e->customer = out->customer;
        e->event_ms = event_ms;
        e->len = b.len;
        memcpy(e->id, g->id, sizeof e->id);
        memcpy(e->payload, g->payload, b.len);
        g->ring_next = (g->ring_next + 1) % DUP_RING;
        if (g->ring_count < DUP_RING) {
            g->ring_count++;
        }
    }
    g->seq++;
}

const char *dg_fault_name(dg_fault f)
{
    static const char *const names[DG_FAULT_COUNT] = {
        "none",          "null_id",        "empty_id",   "negative_quantity",
        "zero_quantity", "negative_price", "zero_price", "negative_duration",
        "negative_age",  "wrong_type",     "truncated",  "malformed",
        "invalid_utf8",  "late",           "duplicate"};
    return (unsigned)f < DG_FAULT_COUNT ? names[f] : "unknown";
}

const char *dg_fault_class(dg_fault f)
{
    switch (f) {
    case DG_FAULT_NONE:
        return "none";
    case DG_FAULT_WRONG_TYPE:
    case DG_FAULT_TRUNCATED:
    case DG_FAULT_MALFORMED:
    case DG_FAULT_INVALID_UTF8:
        return "decode";
    case DG_FAULT_LATE:
        return "late";
    case DG_FAULT_DUPLICATE:
        return "duplicate";
    default:
        return "value";
    }
}

const char *dg_dataset_name(dg_dataset d)
{
    static const char *const names[] = {"orders", "activity", "profiles"};
    return (unsigned)d <= DG_PROFILES ? names[d] : "unknown";
}

uint64_t dg_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
