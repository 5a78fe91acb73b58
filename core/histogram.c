/* Log-linear histogram; see histogram.h. */
#include "core/histogram.h"

#include <stdlib.h>

#define SUB_BITS  5
#define SUB_COUNT (1u << SUB_BITS) /* buckets per power of two */
#define EXACT     (2u * SUB_COUNT) /* values below this have a bucket each */
#define BUCKETS   (EXACT + (64 - SUB_BITS - 1) * SUB_COUNT)

struct sm_hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[BUCKETS];
};

static unsigned bucket_of(uint64_t v)
{
    unsigned e;
    if (v < EXACT) {
        return (unsigned)v;
    }
    e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)), e >= SUB_BITS + 1 */
    return EXACT + (e - SUB_BITS - 1) * SUB_COUNT +
           (unsigned)((v >> (e - SUB_BITS)) & (SUB_COUNT - 1));
}

/* The smallest value of bucket i and its width. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
    unsigned e, sub;
    if (i < EXACT) {
        *lo = i;
        *width = 1;
        return;
    }
    e = (i - EXACT) / SUB_COUNT + SUB_BITS + 1;
    sub = (i - EXACT) % SUB_COUNT;
    *width = UINT64_C(1) << (e - SUB_BITS);
    *lo = (UINT64_C(1) << e) + sub * *width;
}

sm_hist *sm_hist_create(void)
{
    return calloc(1, sizeof(sm_hist));
}

void sm_hist_destroy(sm_hist *h)
{
    free(h);
}

void sm_hist_add(sm_hist *h, uint64_t value)
{
    h->buckets[bucket_of(value)]++;
    h->count++;
    if (value > h->max) {
        h->max = value;
    }
}

uint64_t sm_hist_count(const sm_hist *h)
{
    return h->count;
}

uint64_t sm_hist_max(const sm_hist *h)
{
    return h->max;
}

uint64_t sm_hist_quantile(const sm_hist *h, double q)
{
    uint64_t rank, seen = 0;
    if (h->count == 0) {
        return 0;
    }
    if (q < 0) {
        q = 0;
    }
    if (q > 1) {
        q = 1;
    }
    rank = (uint64_t)(q * (double)(h->count - 1)) + 1;
    for (unsigned i = 0; i < BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo, width, mid;
            bucket_range(i, &lo, &width);
            mid = lo + width / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}
