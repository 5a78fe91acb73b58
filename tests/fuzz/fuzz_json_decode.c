/*
 * libFuzzer target for ingest/json_decode.c: any bytes are decoded as one message against a
 * schema with every column type the decoder fills (nested structs, lists, maps, enums, uuid,
 * decimals of each width, timestamps, dates, bytes, fixed, defaults), with both unknown-field
 * policies and both decimal policies. The decoder must append exactly one row or nothing, leave
 * every column consistent (lengths, offsets, null counts), and never crash, read out of bounds,
 * leak or hang.
 *
 * Built only with -DSMELTER_FUZZ=ON and clang, in a build directory of its own:
 *
 *   CC=clang cmake -S . -B build-fuzz -DSMELTER_FUZZ=ON -DSMELTER_TESTS=OFF
 *   cmake --build build-fuzz --target fuzz_json_decode
 *   build-fuzz/fuzz_json_decode -max_len=4096 -dict=tests/fuzz/corpus/json_decode.dict \
 *       tests/fuzz/corpus/json_decode
 *
 * (give it a scratch corpus directory first to keep the seed corpus unchanged).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ingest/avsc.h"
#include "ingest/json_decode.h"
#include "storage/column.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema[] =
    "{\"type\":\"record\",\"name\":\"Event\",\"namespace\":\"fuzz\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"big\",\"type\":\"long\",\"default\":-1},"
    "{\"name\":\"f\",\"type\":[\"null\",\"float\"]},"
    "{\"name\":\"x\",\"type\":[\"double\",\"null\"],\"default\":0.5},"
    "{\"name\":\"ok\",\"type\":\"boolean\",\"default\":false},"
    "{\"name\":\"ts\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}]}"
    ","
    "{\"name\":\"us\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}]}"
    ","
    "{\"name\":\"day\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}]},"
    "{\"name\":\"d4\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
    "\"precision\":9,\"scale\":2}]},"
    "{\"name\":\"d8\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
    "\"precision\":18,\"scale\":6}]},"
    "{\"name\":\"d16\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"D16\",\"size\":16,"
    "\"logicalType\":\"decimal\",\"precision\":38,\"scale\":10}]},"
    "{\"name\":\"raw\",\"type\":[\"null\",\"bytes\"]},"
    "{\"name\":\"fx\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"F4\",\"size\":4}]},"
    "{\"name\":\"u\",\"type\":[\"null\",{\"type\":\"string\",\"logicalType\":\"uuid\"}]},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\","
    "\"C\"]},\"default\":\"A\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"string\"]},"
    "\"default\":[]},"
    "{\"name\":\"attrs\",\"type\":[\"null\",{\"type\":\"map\",\"values\":{\"type\":\"map\","
    "\"values\":\"long\"}}]},"
    "{\"name\":\"items\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"Item\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"},"
    "{\"name\":\"q\",\"type\":\"int\",\"default\":1},"
    "{\"name\":\"sub\",\"type\":[\"null\",\"string\"]}]}}]},"
    "{\"name\":\"first\",\"type\":[\"null\",\"Item\"]},"
    "{\"name\":\"nested\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"array\","
    "\"items\":{\"type\":\"map\",\"values\":[\"null\",\"Kind\"]}}}]}"
    "]}";

static sm_arena *schema_arena;
static sm_avsc *avsc;
static sm_json_decoder *decoders[4];
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
    if (sm_avsc_parse(schema, strlen(schema), "fuzz.avsc", schema_arena, &avsc, &err) != SM_OK) {
        abort();
    }
    for (int i = 0; i < 4; i++) {
        sm_json_opts o;
        sm_json_opts_default(&o);
        o.avsc = avsc;
        o.unknown_fields = i & 1 ? SM_JSON_UNKNOWN_DEAD_LETTER : SM_JSON_UNKNOWN_SKIP;
        o.decimal_round = (i & 2) != 0;
        if (sm_json_decoder_new(avsc->root, &o, &decoders[i], &err) != SM_OK) {
            abort();
        }
    }
    batch_arena = sm_arena_create(0, (size_t)64 << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema_arena) {
        init();
    }
    for (int i = 0; i < 4; i++) {
        sm_json_error why;
        int64_t before;
        int rc;
        if (!batch || batch->length >= 256) {
            sm_arena_reset(batch_arena);
            batch = sm_column_new(batch_arena, avsc->root, 16);
            if (!batch) {
                abort();
            }
        }
        before = batch->length;
        rc = sm_json_decode(decoders[i], data, size, batch_arena, batch, &why);
        if (rc == SM_OK ? batch->length != before + 1 : batch->length != before) {
            abort();
        }
        if (rc != SM_OK && (why.reason == SM_JSON_OK || why.msg[0] == '\0')) {
            abort();
        }
        if (!consistent(batch)) {
            abort();
        }
    }
    return 0;
}
