/*
 * libFuzzer target for storage/parquet_reader.c: any bytes are opened as a Parquet file and,
 * when the footer parses, every row group is read (all columns, then the first column alone).
 * The reader must return an error or a column, never crash, read out of bounds, leak or hang.
 *
 * Built only with -DSMELTER_FUZZ=ON and clang, in a build directory of its own:
 *
 *   CC=clang cmake -S . -B build-fuzz -DSMELTER_FUZZ=ON -DSMELTER_TESTS=OFF
 *   cmake --build build-fuzz --target fuzz_parquet_reader
 *   build-fuzz/fuzz_parquet_reader -max_len=65536 tests/fuzz/corpus/parquet
 *
 * (give it a scratch corpus directory first to keep the seed corpus unchanged).
 */
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "storage/parquet_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq_reader *r;
    sm_arena *a;
    sm_error err;

    if (pq_reader_open_memory(data, size, "fuzz", &r, &err) != SM_OK) {
        return 0;
    }
    /* small bounds: a corrupt file's claims fail fast instead of filling memory */
    pq_reader_set_decode_limit(r, (size_t)16 << 20);
    a = sm_arena_create(0, (size_t)128 << 20);
    if (a) {
        for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
            sm_column *c;
            int first = 0;
            pq_reader_read_row_group(r, g, NULL, 0, a, &c, &err);
            sm_arena_reset(a);
            if (pq_reader_schema(r)->n_children > 0) {
                pq_reader_read_row_group(r, g, &first, 1, a, &c, &err);
                sm_arena_reset(a);
            }
        }
        sm_arena_destroy(a);
    }
    pq_reader_close(r);
    return 0;
}
