/*
 * libFuzzer target for ingest/proto_decode.c: any bytes are decoded as one t.All message of
 * tests/ingest/proto/test.proto (every scalar type, enums, nested and repeated messages, packed
 * and unpacked repeated fields, a map, Timestamp, wrappers, oneof, proto3 optional), as a
 * p2.Req (proto2 required/optional), and as a Confluent frame against a registry holding the
 * same descriptor set as id 1; and the bytes themselves are loaded as a descriptor set, whose
 * first messages are compiled and decode the bytes. The decoder must append exactly one row or
 * nothing, keep every top-level column at the batch's length, and never crash, read out of bounds,
 * leak or hang.
 *
 * The descriptor set is embedded (a copy of tests/ingest/proto/test.desc, made by
 * tests/ingest/proto/make_desc.py) so the target needs no files. Build and run:
 *
 *   CC=clang cmake -S . -B build-fuzz -DSMELTER_FUZZ=ON -DSMELTER_TESTS=OFF
 *   cmake --build build-fuzz --target fuzz_proto_decode
 *   build-fuzz/fuzz_proto_decode -max_len=4096 tests/fuzz/corpus/proto_decode
 *
 * (give it a scratch corpus directory first to keep the seed corpus unchanged).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ingest/proto_decode.h"
#include "storage/column.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_proto_decode_desc.inc" /* static const uint8_t test_desc[] */

static sm_proto_schema *schema;
static sm_proto_decoder *all, *req;

static void setup(void)
{
    sm_error err = {0};
    if (sm_proto_schema_load(test_desc, sizeof test_desc, &schema, &err) ||
        sm_proto_decoder_new(schema, "t.All", &all, &err) ||
        sm_proto_decoder_new(schema, "p2.Req", &req, &err)) {
        abort();
    }
}

static void check(const sm_column *batch, int64_t rows)
{
    if (batch->length != rows) {
        abort();
    }
    for (int i = 0; i < batch->field->n_children; i++) {
        if (batch->children[i]->length != rows) {
            abort();
        }
    }
}

static void one(sm_proto_decoder *d, const uint8_t *data, size_t size)
{
    sm_arena *arena = sm_arena_create(4096, 1 << 24);
    sm_column *batch = sm_column_new(arena, sm_proto_decoder_schema(d), 2);
    sm_proto_error why;
    int64_t rows = 0;
    for (int k = 0; k < 2; k++) { /* twice into the same batch */
        int rc = sm_proto_decode(d, data, size, arena, batch, &why);
        if (rc == SM_OK) {
            rows++;
        } else if (rc != SM_ERR_CORRUPT && rc != SM_ERR_NOMEM) {
            abort();
        } else if (why.reason == SM_PROTO_OK || why.offset > size) {
            abort();
        }
        check(batch, rows);
    }
    sm_arena_destroy(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) {
        setup();
    }
    one(all, data, size);
    one(req, data, size);
    sm_proto_frame f;
    sm_proto_error why;
    if (sm_proto_frame_parse(data, size, &f, &why) == SM_OK) {
        if (f.payload_offset > size) {
            abort();
        }
        const char *name = sm_proto_schema_message_at(schema, f.indexes, f.n_indexes);
        if (name) {
            sm_proto_decoder *d = NULL;
            sm_error err = {0};
            if (sm_proto_decoder_new(schema, name, &d, &err) == SM_OK) {
                one(d, data + f.payload_offset, size - f.payload_offset);
                sm_proto_decoder_free(d);
            }
        }
    }
    /* the bytes as a descriptor set: loading and compiling must fail cleanly or work */
    sm_proto_schema *other = NULL;
    sm_error err = {0};
    if (sm_proto_schema_load(data, size, &other, &err) == SM_OK) {
        for (int32_t i = 0; i < 4; i++) {
            int32_t path[2] = {i, 0};
            for (int n = 1; n <= 2; n++) {
                const char *name = sm_proto_schema_message_at(other, path, n);
                sm_proto_decoder *d = NULL;
                if (name && sm_proto_decoder_new(other, name, &d, &err) == SM_OK) {
                    one(d, data, size);
                    sm_proto_decoder_free(d);
                }
            }
        }
        sm_proto_schema_free(other);
    }
    return 0;
}
