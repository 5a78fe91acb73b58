/*
 * libFuzzer target for ingest/avro_decode.c: any bytes are decoded as one framed message
 * (Confluent or single-object) and as an unframed body of each of two writer schemas, against a
 * reader schema that exercises resolution (promotions, defaults, skipped writer fields including
 * a recursive record, enum symbols the reader lacks, string/bytes, decimals of two widths,
 * nested arrays and maps). The decoder must append exactly one row or nothing, leave every
 * column consistent, and never crash, read out of bounds, leak or hang.
 *
 *   CC=clang cmake -S . -B build-fuzz -DSMELTER_FUZZ=ON -DSMELTER_TESTS=OFF
 *   cmake --build build-fuzz --target fuzz_avro_decode
 *   build-fuzz/fuzz_avro_decode -max_len=4096 tests/fuzz/corpus/avro_decode
 *
 * (give it a scratch corpus directory first to keep the seed corpus unchanged). Seed files are
 * bodies for writer schema 1; the first seeds are also framed with Confluent id 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ingest/avro_decode.h"
#include "ingest/avsc.h"
#include "storage/column.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char writer1[] =
    "{\"type\":\"record\",\"name\":\"Event\",\"namespace\":\"fuzz\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"big\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"x\",\"type\":[\"double\",\"null\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"d8\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":18,"
    "\"scale\":6}},"
    "{\"name\":\"d16\",\"type\":{\"type\":\"fixed\",\"name\":\"D16\",\"size\":16,"
    "\"logicalType\":\"decimal\",\"precision\":38,\"scale\":10}},"
    "{\"name\":\"raw\",\"type\":\"bytes\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F4\",\"size\":4}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\","
    "\"C\",\"D\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"string\"]}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"map\",\"values\":"
    "\"long\"}}},"
    "{\"name\":\"items\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"
    "\"Item\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"q\",\"type\":"
    "\"int\"}]}}},"
    "{\"name\":\"tree\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
    "{\"name\":\"v\",\"type\":\"int\"},{\"name\":\"kids\",\"type\":{\"type\":\"array\","
    "\"items\":\"Node\"}}]}]},"
    "{\"name\":\"extra\",\"type\":[\"int\",\"string\",\"null\"]}"
    "]}";

static const char reader[] =
    "{\"type\":\"record\",\"name\":\"Event\",\"namespace\":\"fuzz\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"big\",\"type\":\"double\"},"
    "{\"name\":\"f\",\"type\":\"double\"},"
    "{\"name\":\"x\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"d8\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":18,"
    "\"scale\":6}},"
    "{\"name\":\"d16\",\"type\":{\"type\":\"fixed\",\"name\":\"D16\",\"size\":16,"
    "\"logicalType\":\"decimal\",\"precision\":38,\"scale\":10}},"
    "{\"name\":\"raw\",\"type\":\"string\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F4\",\"size\":4}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\","
    "\"C\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"bytes\"]}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"map\",\"values\":"
    "\"long\"}}},"
    "{\"name\":\"items\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"
    "\"Item\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"q\",\"type\":"
    "\"long\"},{\"name\":\"r\",\"type\":\"int\",\"default\":7}]}}},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"cnt\",\"type\":\"int\",\"default\":3}"
    "]}";

static sm_arena *schema_arena;
static sm_avsc *avsc;
static sm_avro_decoder *dec;
static sm_arena *batch_arena;
static sm_column *batch;

static int consistent(const sm_column *c)
{
    int64_t nulls = 0;
    if (c->validity) {
        for (int64_t i = 0; i < c->length; i++) {
            nulls += !sm_column_is_valid(c, i);
        }
    }
    if (nulls != c->null_count || c->length > c->capacity) {
        return 0;
    }
    if (c->offsets) {
        for (int64_t i = 0; i < c->length; i++) {
            if (c->offsets[i + 1] < c->offsets[i]) {
                return 0;
            }
        }
    }
    if (sm_type_is_binary_like(c->field->type) && c->offsets[c->length] != c->data_len) {
        return 0;
    }
    if (c->field->type == SM_STRUCT) {
        for (int i = 0; i < c->field->n_children; i++) {
            if (c->children[i]->length != c->length || !consistent(c->children[i])) {
                return 0;
            }
        }
    }
    if (c->field->type == SM_LIST || c->field->type == SM_MAP) {
        return c->offsets[c->length] == c->children[0]->length && consistent(c->children[0]);
    }
    return 1;
}

static void init(void)
{
    sm_error err;
    schema_arena = sm_arena_create(0, 0);
    if (sm_avsc_parse(reader, strlen(reader), "fuzz.avsc", schema_arena, &avsc, &err) != SM_OK ||
        sm_avro_decoder_new(avsc, NULL, &dec, &err) != SM_OK ||
        sm_avro_decoder_add_schema(dec, 1, writer1, strlen(writer1), &err) != SM_OK ||
        sm_avro_decoder_add_schema(dec, 2, reader, strlen(reader), &err) != SM_OK) {
        abort();
    }
    batch_arena = sm_arena_create(0, (size_t)64 << 20);
}

static void one(int mode, const uint8_t *data, size_t size)
{
    sm_avro_error why;
    if (!batch || batch->length >= 256) {
        sm_arena_reset(batch_arena);
        if (!(batch = sm_column_new(batch_arena, avsc->root, 16))) {
            abort();
        }
    }
    int64_t before = batch->length;
    int rc = mode == 0 ? sm_avro_decode(dec, data, size, batch_arena, batch, &why)
                       : sm_avro_decode_body(dec, mode, data, size, batch_arena, batch, &why);
    if (rc == SM_OK ? batch->length != before + 1 : batch->length != before) {
        abort();
    }
    if (rc != SM_OK && (why.reason == SM_AVRO_OK || why.offset > size + 10)) {
        abort();
    }
    if (!consistent(batch)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema_arena) {
        init();
    }
    for (int mode = 0; mode < 3; mode++) {
        one(mode, data, size);
    }
    return 0;
}
