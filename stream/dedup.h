/*
 * sm_dedup — the dedup state of one silver table (`dedup: {keys: [...]}`): the set of keys seen,
 * each with the event time of the row that first brought it, as Spark's dropDuplicates keeps it.
 *
 * CONTRACT (for the engine):
 *   - Per row: sm_dedup_key() encodes the key columns into bytes (reuse one sm_buf), then
 *     sm_dedup_check_insert(d, key, len, event_ms, &dup): dup true = drop the row (the state is
 *     unchanged: the first row's event time stays); dup false = keep it, the key is now stored.
 *     Late rows (event time < the current watermark) must be dropped by the engine *before* this
 *     call, as Spark does; otherwise a late row whose key was already evicted would come back.
 *   - After the batch, when the watermark advanced: sm_dedup_evict(d, watermark_ms) forgets keys
 *     whose event time < watermark_ms. Keys inserted with event_ms == SM_DEDUP_NO_EVENT_TIME
 *     (INT64_MIN: the table has no watermark) are never evicted: without a watermark the state
 *     grows without bound, exactly like Spark's dropDuplicates without withWatermark.
 *   - Checkpoint: sm_dedup_save() into a blob for sm_ckpt_write_state(); on restart
 *     sm_dedup_load() from the blob sm_ckpt_read_state() returns. Same state (same set of
 *     (key, event time) pairs) gives the same bytes, whatever the insertion order or history.
 *     A damaged blob gives SM_ERR_CORRUPT with a message; never a crash.
 *   - Memory: the key bytes and the table are malloc'd (not the batch arena: the state outlives
 *     batches); no malloc per key. sm_dedup_bytes() is what the state holds: a 32-byte slot per
 *     key at a load of 0.35..0.7 plus the key bytes in a store that doubles (dead bytes of
 *     evicted keys are reclaimed once they are half the store). Measured: 1M 20-byte keys hold
 *     ~100 MB; the saved blob is 12 bytes per key + key bytes + 32.
 *   - Eviction is strict (event time < watermark), as the issue words "late". Spark's
 *     dropDuplicates evicts event time <= watermark; call sm_dedup_evict(d, wm + 1) for that.
 *
 * Key encoding (sm_dedup_key): for each key column, a type-class tag byte, then a null flag
 * byte (0 null, 1 valid), then for valid values:
 *   integers of any width and sign, BOOL excluded, as 8 bytes (int64 LE; UINT64 above INT64_MAX
 *   has its own tag), so a column widened from int32 to int64 keeps its keys;
 *   BOOL 1 byte; FLOAT and DOUBLE as the bits of the double (-0.0 as 0.0, every NaN as one NaN);
 *   DATE as int32 days in 8 bytes; TIMESTAMP_MS and TIMESTAMP_US both as microseconds;
 *   DECIMAL as 16 bytes unscaled + scale, trailing zeros stripped (1.50 and 1.5 are one key);
 *   STRING, JSON, BINARY (FIXED_BINARY counts as BINARY) as u32 length + bytes;
 *   STRUCT, LIST and MAP recursively (lists and maps with a u32 element count).
 * So equal SQL values give equal keys, NULL equals NULL (as in dropDuplicates), and distinct
 * values give distinct keys (the encoding is prefix-free).
 *
 * Serialised format (little-endian), version 1:
 *   "SMDEDUP1" (8) | version u32 = 1 | flags u32 = 0 | count u64 |
 *   count × (key_len u32 | event_ms i64 | key bytes) | checksum u64 of everything before.
 * Entries are in a canonical order (by a fixed 64-bit hash of the key, then the key bytes).
 * Load checks magic, version, checksum, every length against the blob and duplicate keys.
 *
 * Hashing: a fixed (unseeded) 64-bit multiply-mix hash with open addressing (linear probing,
 * load <= 0.7). Keys crafted to collide could slow inserts down; Kafka data is trusted that far.
 *
 * @thread one owner; not thread-safe.
 */
#ifndef SM_STREAM_DEDUP_H
#define SM_STREAM_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "storage/column.h"

#define SM_DEDUP_NO_EVENT_TIME INT64_MIN
#define SM_DEDUP_MAX_KEY       ((size_t)1 << 30) /* longest key accepted (bytes) */

typedef struct sm_dedup sm_dedup;

/* An empty state; NULL on out of memory. */
sm_dedup *sm_dedup_new(void);
void sm_dedup_free(sm_dedup *d); /* accepts NULL */

/*
 * Replaces the content of `out` with the encoding of the values of the top-level children
 * key_cols[0..n_keys) of the STRUCT column `batch` at `row` (format above). Returns 0,
 * SM_ERR_NOMEM when the buffer cannot grow, or SM_ERR_USAGE when batch is not a STRUCT or a key
 * index is out of range.
 */
int sm_dedup_key(const sm_column *batch, const int *key_cols, int n_keys, int64_t row, sm_buf *out);
/* The same, appending to `out` (on error out may hold part of the key: reset it). */
int sm_dedup_key_append(const sm_column *batch, const int *key_cols, int n_keys, int64_t row,
                        sm_buf *out);

/*
 * Looks the key up: when present, *dup = true and nothing changes; otherwise the key (copied) is
 * stored with `event_ms` and *dup = false. Returns 0, or SM_ERR_NOMEM when the table or the key
 * store cannot grow, or the key is longer than SM_DEDUP_MAX_KEY (then the state is unchanged).
 * O(1) on average.
 */
int sm_dedup_check_insert(sm_dedup *d, const void *key, size_t len, int64_t event_ms, bool *dup);

/*
 * For keeping the earliest of several copies of a key within a batch without sorting the batch
 * (stream/silver.c): the same as sm_dedup_check_insert, but a key stored now carries `tag` (the
 * caller's non-zero row number in the batch), and for a key already there *old_tag gets its tag
 * (0: stored by an earlier batch or untagged). sm_dedup_retag moves a stored key to another row
 * of the batch: its event time and tag become these (false when the key is not there). Tags are
 * not saved; sm_dedup_clear_tags zeroes them all after the batch (O(table size), nothing to do
 * when no tag was set).
 */
int sm_dedup_check_insert_tagged(sm_dedup *d, const void *key, size_t len, int64_t event_ms,
                                 uint32_t tag, bool *dup, uint32_t *old_tag);
bool sm_dedup_retag(sm_dedup *d, const void *key, size_t len, int64_t event_ms, uint32_t tag);
void sm_dedup_clear_tags(sm_dedup *d);
/* Asks the CPU to fetch the slot where `key` would be: issued for a block of keys before they
 * are inserted, the cache misses of a large table overlap instead of coming one by one. Returns
 * the key's hash for sm_dedup_check_insert_prefetched (the same as _tagged, without hashing the
 * key again). */
uint64_t sm_dedup_prefetch(const sm_dedup *d, const void *key, size_t len);
int sm_dedup_check_insert_prefetched(sm_dedup *d, const void *key, size_t len, uint64_t hash,
                                     int64_t event_ms, uint32_t tag, bool *dup, uint32_t *old_tag);

/* Makes room for `more` keys beyond those stored, so that many inserts do not rehash (rehashing
 * a large table mid-batch moves every slot). Returns 0 or SM_ERR_NOMEM (state unchanged). */
int sm_dedup_reserve(sm_dedup *d, size_t more);

/* Removes every key whose event time < watermark_ms, except keys stored with
 * SM_DEDUP_NO_EVENT_TIME, and returns how many were removed. O(table size): a key that goes is
 * deleted in place, or, when a quarter or more of them go, the keys that stay move into a new
 * table. Never fails: memory is given back when convenient (key store compacted when half dead,
 * table shrunk when sparse). */
int64_t sm_dedup_evict(sm_dedup *d, int64_t watermark_ms);

int64_t sm_dedup_count(const sm_dedup *d); /* keys stored */
size_t sm_dedup_bytes(const sm_dedup *d);  /* bytes of memory held */

/* Appends the serialised state to `out` (format above). Returns 0 or SM_ERR_NOMEM (out is then
 * as it was). */
int sm_dedup_save(const sm_dedup *d, sm_buf *out, sm_error *err);

/* A new state from a blob made by sm_dedup_save. SM_ERR_CORRUPT ("dedup state: ...", naming
 * what and at which byte) on a damaged blob, SM_ERR_NOMEM when memory runs out; *out is NULL on
 * error. */
int sm_dedup_load(const void *data, size_t len, sm_dedup **out, sm_error *err);

#endif
