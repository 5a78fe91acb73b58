/*
 * sm_bronze — the schema of a bronze table: the .avsc fields followed by the metadata columns
 * the engine adds to every record (DESIGN.md "Names and conventions of the output"). Defined
 * here once for the engine, which writes them, and for the pipeline loader, which compiles
 * the expectations of tables that read bronze.
 *
 * File order: <.avsc fields>, _ingestion_timestamp, _batch_id, _source_system,
 * _kafka_partition, _kafka_offset, _kafka_timestamp, _kafka_key. The table schema also has
 * the partition column _ingestion_date, right after _ingestion_timestamp (it is in the table's
 * schema, not in the data files, as Spark writes partition columns).
 *
 * Ownership: fields live in the caller's arena; the .avsc fields are shared, not copied.
 * @thread any.
 */
#ifndef SM_STREAM_BRONZE_H
#define SM_STREAM_BRONZE_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/error.h"
#include "storage/column.h"

#define SM_BRONZE_PARTITION_COLUMN "_ingestion_date"

/* The metadata columns of a bronze data file, in file order after the .avsc fields. */
enum {
    SM_BRONZE_INGESTION_TS = 0,
    SM_BRONZE_BATCH_ID,
    SM_BRONZE_SOURCE,
    SM_BRONZE_PARTITION,
    SM_BRONZE_OFFSET,
    SM_BRONZE_KAFKA_TS,
    SM_BRONZE_KEY,
    SM_BRONZE_META_N
};

/* Metadata column i (SM_BRONZE_*), new in `a`; NULL when out of memory. */
sm_field *sm_bronze_meta_field(sm_arena *a, int i);

/*
 * The bronze schema (a STRUCT named "bronze") over `avsc` (the .avsc root STRUCT): the data
 * file's when with_partition is false, the table's (with _ingestion_date) when true. Fails
 * with SM_ERR_USAGE when an .avsc field has the name of a metadata or partition column (the
 * message names `origin`, the schema file), SM_ERR_NOMEM when the arena refuses.
 */
int sm_bronze_schema(const sm_field *avsc, const char *origin, bool with_partition, sm_arena *a,
                     sm_field **out, sm_error *err);

#endif
