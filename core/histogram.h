/*
 * sm_hist — a log-linear histogram of non-negative integers (latencies in µs, sizes) with
 * about 3% relative error, fixed size, no allocation after create. Values below 64 are exact;
 * above, each power of two is split into 32 buckets (HdrHistogram's idea, small).
 *
 * @thread one owner.
 */
#ifndef SM_CORE_HISTOGRAM_H
#define SM_CORE_HISTOGRAM_H

#include <stdint.h>

typedef struct sm_hist sm_hist;

sm_hist *sm_hist_create(void);    /* NULL on out of memory */
void sm_hist_destroy(sm_hist *h); /* accepts NULL */

void sm_hist_add(sm_hist *h, uint64_t value);
uint64_t sm_hist_count(const sm_hist *h);
uint64_t sm_hist_max(const sm_hist *h);
/* The value at quantile q in [0, 1] (0.5 = median): the midpoint of the bucket holding it,
 * never above the largest value seen. 0 when empty. */
uint64_t sm_hist_quantile(const sm_hist *h, double q);

#endif
