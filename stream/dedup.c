/*
 * Dedup state: an open-addressing hash set (linear probing, backward-shift deletion, so no
 * tombstones) of slots {hash, event time, offset and length of the key}, with the key bytes in
 * one growing store. Evicted keys leave dead bytes in the store; it is compacted when half of it
 * is dead, and the table shrinks when it becomes sparse, so memory follows the live state.
 *
 * DESIGN: the saved form is canonical — entries ordered by a fixed hash of the key, then the key
 * bytes — so a state gives the same blob whatever the order of inserts and evictions that made
 * it; a re-run of a batch from the same checkpoint writes the same state file.
 */
#include "stream/dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define MIN_CAP     1024 /* slots; a power of two */
#define MAGIC       "SMDEDUP1"
#define VERSION     1u
#define HEADER_LEN  24 /* magic 8, version 4, flags 4, count 8 */
#define ENTRY_LEN   12 /* key_len 4, event_ms 8 */
#define TRAILER_LEN 8  /* checksum */

typedef struct slot {
    uint64_t hash; /* 0: empty */
    int64_t event_ms;
    uint64_t off; /* into keys */
    uint32_t len;
    uint32_t tag; /* the caller's, for the batch under way (sm_dedup_clear_tags); in the padding */
} slot;

struct sm_dedup {
    slot *slots;
    size_t cap; /* power of two */
    size_t count;
    uint8_t *keys; /* key bytes, live and dead */
    size_t keys_len, keys_cap, dead;
    size_t tagged; /* slots whose tag may be non-zero */
};

/* ---- hashing ----------------------------------------------------------------------------- */

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL
#define P3 0x589965cc75374cc3ULL

/* A fixed 64-bit hash in the manner of wyhash: part of the saved format's canonical order and of
 * its checksum, so it must not change within a format version. Reads bytes little-endian, so
 * it is the same on every host. */
static uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ mum((uint64_t)len ^ P0, P1), a = 0, b = 0;
    size_t n = len;
    while (n > 16) {
        h = mum(rd64(p) ^ P1, rd64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        a = rd64(p);
        b = rd64(p + n - 8);
    } else if (n >= 4) {
        a = rd32(p);
        b = rd32(p + n - 4);
    } else if (n > 0) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
    }
    return mum(mum(a ^ P2, b ^ h) ^ P3, (uint64_t)len ^ P1);
}

static inline uint64_t key_hash(const void *key, size_t len)
{
    uint64_t h = hash_bytes(key, len, 0);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* ---- table ------------------------------------------------------------------------------- */

sm_dedup *sm_dedup_new(void)
{
    sm_dedup *d = calloc(1, sizeof *d);
    if (!d) {
        return NULL;
    }
    d->cap = MIN_CAP;
    if (!(d->slots = calloc(d->cap, sizeof *d->slots))) {
        free(d);
        return NULL;
    }
    return d;
}

void sm_dedup_free(sm_dedup *d)
{
    if (!d) {
        return;
    }
    free(d->slots);
    free(d->keys);
    free(d);
}

int64_t sm_dedup_count(const sm_dedup *d)
{
    return (int64_t)d->count;
}

size_t sm_dedup_bytes(const sm_dedup *d)
{
    return sizeof *d + d->cap * sizeof *d->slots + d->keys_cap;
}

/* Moves the slots into a table of `cap` slots (a power of two holding them). State unchanged on
 * failure. */
static int rehash(sm_dedup *d, size_t cap)
{
    slot *s = sm_calloc_table(cap, sizeof *s); /* core/arena.h: why not calloc */
    size_t mask = cap - 1;
    if (!s) {
        return SM_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->cap; i++) {
        if (d->slots[i].hash) {
            size_t j = d->slots[i].hash & mask;
            while (s[j].hash) {
                j = (j + 1) & mask;
            }
            s[j] = d->slots[i];
        }
    }
    free(d->slots);
    d->slots = s;
    d->cap = cap;
    return 0;
}

/* Slots for `count` keys at a load of at most 0.7. */
static size_t cap_for(size_t count)
{
    size_t cap = MIN_CAP;
    while (count * 10 > cap * 7) {
        cap *= 2;
    }
    return cap;
}

static int reserve_keys(sm_dedup *d, size_t extra)
{
    size_t cap = d->keys_cap ? d->keys_cap : 4096;
    uint8_t *k;
    if (extra > SIZE_MAX / 2 - d->keys_len) {
        return SM_ERR_NOMEM;
    }
    if (d->keys_len + extra <= d->keys_cap) {
        return 0;
    }
    while (cap < d->keys_len + extra) {
        cap *= 2;
    }
    if (!(k = realloc(d->keys, cap))) {
        return SM_ERR_NOMEM;
    }
    d->keys = k;
    d->keys_cap = cap;
    return 0;
}

int sm_dedup_reserve(sm_dedup *d, size_t more)
{
    size_t cap = cap_for(d->count + more);
    return cap > d->cap ? rehash(d, cap) : 0;
}

/* sm_dedup_check_insert_tagged with the key's hash given (key_hash). */
static int check_insert(sm_dedup *d, const void *key, size_t len, uint64_t h, int64_t event_ms,
                        uint32_t tag, bool *dup, uint32_t *old_tag)
{
    size_t mask = d->cap - 1, i = h & mask;
    *dup = false;
    for (; d->slots[i].hash; i = (i + 1) & mask) {
        const slot *s = &d->slots[i];
        if (s->hash == h && s->len == len &&
            (len == 0 || memcmp(d->keys + s->off, key, len) == 0)) {
            *dup = true;
            if (old_tag) {
                *old_tag = s->tag;
            }
            return 0;
        }
    }
    if (len > SM_DEDUP_MAX_KEY || reserve_keys(d, len)) {
        return SM_ERR_NOMEM;
    }
    if ((d->count + 1) * 10 > d->cap * 7) {
        if (rehash(d, d->cap * 2)) {
            return SM_ERR_NOMEM;
        }
        mask = d->cap - 1;
        for (i = h & mask; d->slots[i].hash; i = (i + 1) & mask) {
        }
    }
    if (len) {
        memcpy(d->keys + d->keys_len, key, len);
    }
    d->slots[i] = (slot){
        .hash = h, .event_ms = event_ms, .off = d->keys_len, .len = (uint32_t)len, .tag = tag};
    d->keys_len += len;
    d->count++;
    d->tagged += tag != 0;
    return 0;
}

int sm_dedup_check_insert_tagged(sm_dedup *d, const void *key, size_t len, int64_t event_ms,
                                 uint32_t tag, bool *dup, uint32_t *old_tag)
{
    return check_insert(d, key, len, key_hash(key, len), event_ms, tag, dup, old_tag);
}

int sm_dedup_check_insert(sm_dedup *d, const void *key, size_t len, int64_t event_ms, bool *dup)
{
    return check_insert(d, key, len, key_hash(key, len), event_ms, 0, dup, NULL);
}

uint64_t sm_dedup_prefetch(const sm_dedup *d, const void *key, size_t len)
{
    uint64_t h = key_hash(key, len);
    __builtin_prefetch(&d->slots[h & (d->cap - 1)], 1);
    return h;
}

int sm_dedup_check_insert_prefetched(sm_dedup *d, const void *key, size_t len, uint64_t hash,
                                     int64_t event_ms, uint32_t tag, bool *dup, uint32_t *old_tag)
{
    return check_insert(d, key, len, hash, event_ms, tag, dup, old_tag);
}

bool sm_dedup_retag(sm_dedup *d, const void *key, size_t len, int64_t event_ms, uint32_t tag)
{
    uint64_t h = key_hash(key, len);
    size_t mask = d->cap - 1, i = h & mask;
    for (; d->slots[i].hash; i = (i + 1) & mask) {
        slot *s = &d->slots[i];
        if (s->hash == h && s->len == len &&
            (len == 0 || memcmp(d->keys + s->off, key, len) == 0)) {
            s->event_ms = event_ms;
            d->tagged += tag != 0 && s->tag == 0;
            s->tag = tag;
            return true;
        }
    }
    return false;
}

void sm_dedup_clear_tags(sm_dedup *d)
{
    if (d->tagged == 0) {
        return;
    }
    for (size_t i = 0; i < d->cap; i++) {
        d->slots[i].tag = 0;
    }
    d->tagged = 0;
}

/* Empties slot i and shifts the rest of its cluster back over it (Knuth's algorithm R), so
 * lookups need no tombstones. Only slots after i in probe order move. */
static void delete_slot(sm_dedup *d, size_t i)
{
    size_t mask = d->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!d->slots[j].hash) {
            break;
        }
        size_t home = d->slots[j].hash & mask;
        /* slot j may move to i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            d->slots[i] = d->slots[j];
            i = j;
        }
    }
    d->slots[i].hash = 0;
}

/* Rewrites the key store with live keys only. Left as it is when memory is short. */
static void compact_keys(sm_dedup *d)
{
    size_t live = d->keys_len - d->dead, cap = 4096, at = 0;
    uint8_t *k;
    while (cap < live) {
        cap *= 2;
    }
    if (!(k = malloc(cap))) {
        return;
    }
    for (size_t i = 0; i < d->cap; i++) {
        slot *s = &d->slots[i];
        if (s->hash) {
            if (s->len) {
                memcpy(k + at, d->keys + s->off, s->len);
            }
            s->off = at;
            at += s->len;
        }
    }
    free(d->keys);
    d->keys = k;
    d->keys_len = at;
    d->keys_cap = cap;
    d->dead = 0;
}

static bool evictable(const slot *s, int64_t watermark_ms)
{
    return s->hash && s->event_ms != SM_DEDUP_NO_EVENT_TIME && s->event_ms < watermark_ms;
}

/* Eviction of most of the table (a first batch that reads hours of history, a watermark that
 * jumps): the keys that stay move into a new table, instead of a backward shift per key that
 * goes. False, and nothing changed, when memory is short. */
static bool rebuild_without(sm_dedup *d, int64_t watermark_ms, size_t doomed)
{
    size_t live = d->count - doomed;
    size_t cap = live * 8 < d->cap ? cap_for(live * 2) : d->cap, mask = cap - 1;
    slot *t = sm_calloc_table(cap, sizeof *t);
    if (!t) {
        return false;
    }
    for (size_t i = 0; i < d->cap; i++) {
        const slot *s = &d->slots[i];
        if (!s->hash) {
            continue;
        }
        if (evictable(s, watermark_ms)) {
            d->dead += s->len;
            continue;
        }
        size_t j = s->hash & mask;
        while (t[j].hash) {
            j = (j + 1) & mask;
        }
        t[j] = *s;
    }
    free(d->slots);
    d->slots = t;
    d->cap = cap;
    d->count = live;
    return true;
}

int64_t sm_dedup_evict(sm_dedup *d, int64_t watermark_ms)
{
    size_t mask = d->cap - 1, start = 0, doomed = 0;
    int64_t removed = 0;
    if (d->count == 0) {
        return 0;
    }
    for (size_t i = 0; i < d->cap; i++) {
        doomed += evictable(&d->slots[i], watermark_ms);
    }
    if (doomed == 0) {
        return 0;
    }
    if (doomed * 4 >= d->count && rebuild_without(d, watermark_ms, doomed)) {
        removed = (int64_t)doomed;
    } else {
        /* Scan from just after an empty slot: no cluster wraps past the start, so the backward
         * shift only ever moves slots the scan has not passed yet. */
        while (d->slots[start].hash) {
            start++;
        }
        for (size_t k = 1; k <= d->cap; k++) {
            size_t i = (start + k) & mask;
            while (evictable(&d->slots[i], watermark_ms)) {
                d->dead += d->slots[i].len;
                delete_slot(d, i);
                d->count--;
                removed++;
            }
        }
        if (d->cap > MIN_CAP && d->count * 8 < d->cap) {
            (void)rehash(d, cap_for(d->count * 2)); /* on failure the larger table stays */
        }
    }
    if (d->dead > 4096 && d->dead * 2 > d->keys_len) {
        compact_keys(d);
    }
    return removed;
}

/* ---- keys -------------------------------------------------------------------------------- */

enum {
    TAG_BOOL = 1,
    TAG_INT,        /* every integer type, as int64 */
    TAG_UINT64_BIG, /* UINT64 above INT64_MAX */
    TAG_FLOAT,      /* FLOAT and DOUBLE, as the double's bits */
    TAG_STRING,
    TAG_BINARY, /* BINARY and FIXED_BINARY */
    TAG_JSON,
    TAG_DATE,
    TAG_TIMESTAMP,    /* microseconds */
    TAG_TIMESTAMP_MS, /* milliseconds that do not fit as microseconds */
    TAG_DECIMAL,
    TAG_STRUCT,
    TAG_LIST,
    TAG_MAP,
};

static int put(sm_buf *out, const void *p, size_t n)
{
    return sm_buf_append(out, p, n, NULL);
}

static int put_u64(sm_buf *out, uint8_t tag, uint64_t v)
{
    uint8_t b[10];
    b[0] = tag;
    b[1] = 1;
    wr64(b + 2, v);
    return put(out, b, sizeof b);
}

static int put_head(sm_buf *out, uint8_t tag, uint32_t len)
{
    uint8_t b[6];
    b[0] = tag;
    b[1] = 1;
    wr32(b + 2, len);
    return put(out, b, sizeof b);
}

static uint8_t tag_of(sm_type t)
{
    switch (t) {
    case SM_BOOL:
        return TAG_BOOL;
    case SM_FLOAT:
    case SM_DOUBLE:
        return TAG_FLOAT;
    case SM_STRING:
        return TAG_STRING;
    case SM_BINARY:
    case SM_FIXED_BINARY:
        return TAG_BINARY;
    case SM_JSON:
        return TAG_JSON;
    case SM_DATE:
        return TAG_DATE;
    case SM_TIMESTAMP_MS:
    case SM_TIMESTAMP_US:
        return TAG_TIMESTAMP;
    case SM_DECIMAL:
        return TAG_DECIMAL;
    case SM_STRUCT:
        return TAG_STRUCT;
    case SM_LIST:
        return TAG_LIST;
    case SM_MAP:
        return TAG_MAP;
    default:
        return TAG_INT;
    }
}

static int encode_decimal(const sm_column *c, int64_t i, sm_buf *out)
{
    const uint8_t *v = (const uint8_t *)c->values + (size_t)i * sm_type_width(c->field);
    __int128 x;
    int32_t scale = c->field->scale;
    uint8_t b[22];
    if (sm_type_width(c->field) == 16) {
        x = (__int128)((unsigned __int128)rd64(v + 8) << 64 | rd64(v));
    } else {
        x = sm_column_i64(c, i);
    }
    while (scale > 0 && x % 10 == 0) { /* 1.50 and 1.5 are one value */
        x /= 10;
        scale--;
    }
    if (x == 0) {
        scale = 0;
    }
    b[0] = TAG_DECIMAL;
    b[1] = 1;
    wr64(b + 2, (uint64_t)x);
    wr64(b + 10, (uint64_t)((unsigned __int128)x >> 64));
    wr32(b + 18, (uint32_t)scale);
    return put(out, b, sizeof b);
}

static int encode_value(const sm_column *c, int64_t i, sm_buf *out)
{
    const sm_field *f = c->field;
    if (!sm_column_is_valid(c, i)) {
        uint8_t b[2] = {tag_of(f->type), 0};
        return put(out, b, 2);
    }
    switch (f->type) {
    case SM_BOOL: {
        uint8_t b[3] = {TAG_BOOL, 1, ((const uint8_t *)c->values)[i] ? 1 : 0};
        return put(out, b, 3);
    }
    case SM_FLOAT:
    case SM_DOUBLE: {
        double x = f->type == SM_FLOAT ? (double)((const float *)c->values)[i]
                                       : ((const double *)c->values)[i];
        uint64_t bits;
        if (x != x) {
            bits = 0x7ff8000000000000ULL; /* every NaN is one value */
        } else {
            if (x == 0) {
                x = 0.0; /* -0.0 equals 0.0 */
            }
            memcpy(&bits, &x, 8);
        }
        return put_u64(out, TAG_FLOAT, bits);
    }
    case SM_UINT64: {
        uint64_t x = sm_column_u64(c, i);
        return put_u64(out, x > INT64_MAX ? TAG_UINT64_BIG : TAG_INT, x);
    }
    case SM_TIMESTAMP_MS: {
        int64_t x = sm_column_i64(c, i);
        if (x > INT64_MAX / 1000 || x < INT64_MIN / 1000) {
            return put_u64(out, TAG_TIMESTAMP_MS, (uint64_t)x);
        }
        return put_u64(out, TAG_TIMESTAMP, (uint64_t)(x * 1000));
    }
    case SM_STRING:
    case SM_BINARY:
    case SM_JSON: {
        int32_t b = c->offsets[i], len = c->offsets[i + 1] - b;
        if (put_head(out, tag_of(f->type), (uint32_t)len)) {
            return SM_ERR_NOMEM;
        }
        return put(out, c->data + b, (size_t)len);
    }
    case SM_FIXED_BINARY:
        if (put_head(out, TAG_BINARY, (uint32_t)f->width)) {
            return SM_ERR_NOMEM;
        }
        return put(out, (const uint8_t *)c->values + (size_t)i * (size_t)f->width,
                   (size_t)f->width);
    case SM_DECIMAL:
        return encode_decimal(c, i, out);
    case SM_STRUCT: {
        uint8_t b[2] = {TAG_STRUCT, 1};
        if (put(out, b, 2)) {
            return SM_ERR_NOMEM;
        }
        for (int k = 0; k < f->n_children; k++) {
            if (encode_value(c->children[k], i, out)) {
                return SM_ERR_NOMEM;
            }
        }
        return 0;
    }
    case SM_LIST:
    case SM_MAP: {
        int32_t b = c->offsets[i], e = c->offsets[i + 1];
        if (put_head(out, tag_of(f->type), (uint32_t)(e - b))) {
            return SM_ERR_NOMEM;
        }
        for (int32_t k = b; k < e; k++) {
            if (encode_value(c->children[0], k, out)) {
                return SM_ERR_NOMEM;
            }
        }
        return 0;
    }
    default: /* integers, DATE, TIMESTAMP_US */
        return put_u64(out, tag_of(f->type), (uint64_t)sm_column_i64(c, i));
    }
}

int sm_dedup_key(const sm_column *batch, const int *key_cols, int n_keys, int64_t row, sm_buf *out)
{
    sm_buf_reset(out);
    return sm_dedup_key_append(batch, key_cols, n_keys, row, out);
}

int sm_dedup_key_append(const sm_column *batch, const int *key_cols, int n_keys, int64_t row,
                        sm_buf *out)
{
    if (batch->field->type != SM_STRUCT || row < 0 || row >= batch->length) {
        return SM_ERR_USAGE;
    }
    for (int k = 0; k < n_keys; k++) {
        if (key_cols[k] < 0 || key_cols[k] >= batch->field->n_children) {
            return SM_ERR_USAGE;
        }
        if (encode_value(batch->children[key_cols[k]], row, out)) {
            return SM_ERR_NOMEM;
        }
    }
    return 0;
}

/* ---- saving and loading ------------------------------------------------------------------ */

typedef struct order_item {
    uint64_t hash;
    uint64_t slot;
} order_item;

static int cmp_slot_keys(const sm_dedup *d, const slot *a, const slot *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(d->keys + a->off, d->keys + b->off, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The occupied slots in canonical order: LSD radix sort on the hash (16-bit digits), then runs
 * of equal hashes (rare) by key bytes. NULL on out of memory. */
static order_item *canonical_order(const sm_dedup *d)
{
    size_t n = d->count, k = 0;
    order_item *a = malloc((n ? n : 1) * sizeof *a), *tmp = malloc((n ? n : 1) * sizeof *a);
    size_t *counts = malloc(65536 * sizeof *counts);
    if (!a || !tmp || !counts) {
        free(a);
        free(tmp);
        free(counts);
        return NULL;
    }
    for (size_t i = 0; i < d->cap; i++) {
        if (d->slots[i].hash) {
            a[k++] = (order_item){d->slots[i].hash, i};
        }
    }
    for (int shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;
        memset(counts, 0, 65536 * sizeof *counts);
        for (size_t i = 0; i < n; i++) {
            counts[(a[i].hash >> shift) & 0xffff]++;
        }
        for (size_t b = 0; b < 65536; b++) {
            size_t c = counts[b];
            counts[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            tmp[counts[(a[i].hash >> shift) & 0xffff]++] = a[i];
        }
        order_item *t = a;
        a = tmp;
        tmp = t;
    }
    free(tmp);
    free(counts);
    for (size_t i = 1; i < n; i++) { /* insertion sort within equal hashes */
        for (size_t j = i; j > 0 && a[j].hash == a[j - 1].hash &&
                           cmp_slot_keys(d, &d->slots[a[j - 1].slot], &d->slots[a[j].slot]) > 0;
             j--) {
            order_item t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
    }
    return a;
}

int sm_dedup_save(const sm_dedup *d, sm_buf *out, sm_error *err)
{
    size_t total = HEADER_LEN + TRAILER_LEN + d->count * ENTRY_LEN + (d->keys_len - d->dead);
    size_t start = out->len;
    order_item *order;
    uint8_t *p;
    if (!(order = canonical_order(d))) {
        return sm_error_set(err, SM_ERR_NOMEM, "dedup state: out of memory saving %zu keys",
                            d->count);
    }
    if (!(p = sm_buf_extend(out, total, err))) {
        free(order);
        sm_error_prefix(err, "dedup state: saving %zu keys", d->count);
        return SM_ERR_NOMEM;
    }
    memcpy(p, MAGIC, 8);
    wr32(p + 8, VERSION);
    wr32(p + 12, 0);
    wr64(p + 16, d->count);
    p += HEADER_LEN;
    for (size_t i = 0; i < d->count; i++) {
        const slot *s = &d->slots[order[i].slot];
        wr32(p, s->len);
        wr64(p + 4, (uint64_t)s->event_ms);
        if (s->len) {
            memcpy(p + ENTRY_LEN, d->keys + s->off, s->len);
        }
        p += ENTRY_LEN + s->len;
    }
    free(order);
    wr64(p, hash_bytes(out->data + start, total - TRAILER_LEN, P2));
    return 0;
}

static int corrupt(sm_error *err, sm_dedup *d, const char *what, size_t at)
{
    sm_dedup_free(d);
    return sm_error_set(err, SM_ERR_CORRUPT,
                        "dedup state: %s at byte %zu; the checkpoint's state file is damaged "
                        "(restore it, or start the table's dedup state afresh)",
                        what, at);
}

int sm_dedup_load(const void *data, size_t len, sm_dedup **out, sm_error *err)
{
    const uint8_t *p = data;
    sm_dedup *d = NULL;
    uint64_t count;
    size_t at = HEADER_LEN, end;
    char what[128];
    *out = NULL;
    if (len < HEADER_LEN + TRAILER_LEN) {
        return corrupt(err, NULL, "truncated header", len);
    }
    if (memcmp(p, MAGIC, 8) != 0) {
        return corrupt(err, NULL, "bad magic (not a dedup state)", 0);
    }
    if (rd32(p + 8) != VERSION) {
        snprintf(what, sizeof what, "unknown version %u (this build reads %u)", rd32(p + 8),
                 VERSION);
        return corrupt(err, NULL, what, 8);
    }
    if (rd32(p + 12) != 0) {
        return corrupt(err, NULL, "unknown flags", 12);
    }
    end = len - TRAILER_LEN;
    if (hash_bytes(p, end, P2) != rd64(p + end)) {
        return corrupt(err, NULL, "checksum mismatch", end);
    }
    count = rd64(p + 16);
    if (count > (end - HEADER_LEN) / ENTRY_LEN) {
        snprintf(what, sizeof what, "count %llu does not fit in %zu bytes",
                 (unsigned long long)count, len);
        return corrupt(err, NULL, what, 16);
    }
    if (!(d = sm_dedup_new())) {
        return sm_error_set(err, SM_ERR_NOMEM, "dedup state: out of memory loading");
    }
    if (rehash(d, cap_for((size_t)count)) ||
        reserve_keys(d, end - HEADER_LEN - (size_t)count * ENTRY_LEN)) {
        sm_dedup_free(d);
        return sm_error_set(err, SM_ERR_NOMEM, "dedup state: out of memory loading %llu keys",
                            (unsigned long long)count);
    }
    for (uint64_t i = 0; i < count; i++) {
        uint32_t klen;
        bool dup;
        if (end - at < ENTRY_LEN) {
            snprintf(what, sizeof what, "entry %llu of %llu truncated", (unsigned long long)i,
                     (unsigned long long)count);
            return corrupt(err, d, what, at);
        }
        klen = rd32(p + at);
        if (klen > end - at - ENTRY_LEN || klen > SM_DEDUP_MAX_KEY) {
            snprintf(what, sizeof what, "entry %llu: key length %u past the end",
                     (unsigned long long)i, klen);
            return corrupt(err, d, what, at);
        }
        if (sm_dedup_check_insert(d, p + at + ENTRY_LEN, klen, (int64_t)rd64(p + at + 4), &dup)) {
            sm_dedup_free(d);
            return sm_error_set(err, SM_ERR_NOMEM, "dedup state: out of memory loading");
        }
        if (dup) {
            snprintf(what, sizeof what, "entry %llu: duplicate key", (unsigned long long)i);
            return corrupt(err, d, what, at);
        }
        at += ENTRY_LEN + klen;
    }
    if (at != end) {
        return corrupt(err, d, "trailing bytes after the last entry", at);
    }
    *out = d;
    return 0;
}
