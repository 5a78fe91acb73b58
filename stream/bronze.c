/*
 * sm_bronze — the bronze schema: .avsc fields + metadata columns (see bronze.h).
 */
#include "stream/bronze.h"

#include <string.h>

sm_field *sm_bronze_meta_field(sm_arena *a, int i)
{
    static const struct {
        const char *name;
        sm_type type;
        bool nullable;
    } cols[SM_BRONZE_META_N] = {
        [SM_BRONZE_INGESTION_TS] = {"_ingestion_timestamp", SM_TIMESTAMP_US, false},
        [SM_BRONZE_BATCH_ID] = {"_batch_id", SM_INT64, false},
        [SM_BRONZE_SOURCE] = {"_source_system", SM_STRING, false},
        [SM_BRONZE_PARTITION] = {"_kafka_partition", SM_INT32, false},
        [SM_BRONZE_OFFSET] = {"_kafka_offset", SM_INT64, false},
        [SM_BRONZE_KAFKA_TS] = {"_kafka_timestamp", SM_TIMESTAMP_US, true},
        [SM_BRONZE_KEY] = {"_kafka_key", SM_BINARY, true},
    };
    if (i < 0 || i >= SM_BRONZE_META_N) {
        return NULL;
    }
    return sm_field_new(a, cols[i].name, cols[i].type, cols[i].nullable);
}

int sm_bronze_schema(const sm_field *avsc, const char *origin, bool with_partition, sm_arena *a,
                     sm_field **out, sm_error *err)
{
    int n = avsc->n_children;
    int total = n + SM_BRONZE_META_N + (with_partition ? 1 : 0);
    sm_field **cols = sm_arena_alloc(a, sizeof *cols * (size_t)total);
    sm_field *meta[SM_BRONZE_META_N];
    sm_field *date =
        with_partition ? sm_field_new(a, SM_BRONZE_PARTITION_COLUMN, SM_DATE, false) : NULL;

    *out = NULL;
    if (!cols || (with_partition && !date)) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int m = 0; m < SM_BRONZE_META_N; m++) {
        if (!(meta[m] = sm_bronze_meta_field(a, m))) {
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        }
    }
    for (int i = 0; i < n; i++) {
        const char *name = avsc->children[i]->name;
        bool clash = strcmp(name, SM_BRONZE_PARTITION_COLUMN) == 0;
        for (int m = 0; m < SM_BRONZE_META_N && !clash; m++) {
            clash = strcmp(meta[m]->name, name) == 0;
        }
        if (clash) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: field '%s' has the name of a bronze metadata column; "
                                "rename it in the schema",
                                origin, name);
        }
        cols[i] = avsc->children[i];
    }
    int k = n;
    for (int m = 0; m < SM_BRONZE_META_N; m++) {
        cols[k++] = meta[m];
        if (m == SM_BRONZE_INGESTION_TS && with_partition) {
            cols[k++] = date;
        }
    }
    if (!(*out = sm_field_struct(a, "bronze", cols, total, false))) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return SM_OK;
}
