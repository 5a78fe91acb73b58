/* Tests of storage/parquet_format.c: footer and page header round trips, malformed and
 * encrypted input, and the real footers of the parquet-testing fixtures. */
#include <glob.h>
#include <stdint.h>
#include <string.h>

#include "core/durable.h"
#include "sm_test.h"
#include "storage/parquet_format.h"

/* ---------------------------------------------------------------------------------------- */
/* Deep comparison                                                                           */

static bool same;

#define EQ(a, b)                                                                                   \
    do {                                                                                           \
        if ((a) != (b)) {                                                                          \
            fprintf(stderr, "%s:%d: %s != %s\n", __FILE__, __LINE__, #a, #b);                      \
            same = false;                                                                          \
        }                                                                                          \
    } while (0)

static void eq_str(const char *a, const char *b, const char *what)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) {
        fprintf(stderr, "%s: \"%s\" != \"%s\"\n", what, a ? a : "(null)", b ? b : "(null)");
        same = false;
    }
}

static void eq_bytes(bool present, pf_bytes a, pf_bytes b, const char *what)
{
    if (!present) {
        return;
    }
    if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0)) {
        fprintf(stderr, "%s differs\n", what);
        same = false;
    }
}

static void eq_stats(const pf_statistics *a, const pf_statistics *b)
{
    EQ(a->has_max, b->has_max);
    EQ(a->has_min, b->has_min);
    EQ(a->has_null_count, b->has_null_count);
    EQ(a->has_distinct_count, b->has_distinct_count);
    EQ(a->has_max_value, b->has_max_value);
    EQ(a->has_min_value, b->has_min_value);
    EQ(a->has_is_max_value_exact, b->has_is_max_value_exact);
    EQ(a->has_is_min_value_exact, b->has_is_min_value_exact);
    EQ(a->has_nan_count, b->has_nan_count);
    eq_bytes(a->has_max, a->max, b->max, "max");
    eq_bytes(a->has_min, a->min, b->min, "min");
    eq_bytes(a->has_max_value, a->max_value, b->max_value, "max_value");
    eq_bytes(a->has_min_value, a->min_value, b->min_value, "min_value");
    if (a->has_null_count) {
        EQ(a->null_count, b->null_count);
    }
    if (a->has_distinct_count) {
        EQ(a->distinct_count, b->distinct_count);
    }
    if (a->has_is_max_value_exact) {
        EQ(a->is_max_value_exact, b->is_max_value_exact);
    }
    if (a->has_is_min_value_exact) {
        EQ(a->is_min_value_exact, b->is_min_value_exact);
    }
    if (a->has_nan_count) {
        EQ(a->nan_count, b->nan_count);
    }
}

static void eq_logical(const pf_logical_type *a, const pf_logical_type *b)
{
    EQ(a->kind, b->kind);
    switch (a->kind) {
    case PF_LT_DECIMAL:
        EQ(a->scale, b->scale);
        EQ(a->precision, b->precision);
        break;
    case PF_LT_TIME:
    case PF_LT_TIMESTAMP:
        EQ(a->is_adjusted_to_utc, b->is_adjusted_to_utc);
        EQ(a->unit, b->unit);
        break;
    case PF_LT_INTEGER:
        EQ(a->bit_width, b->bit_width);
        EQ(a->is_signed, b->is_signed);
        break;
    default:
        break;
    }
}

#define EQ_OPT(s, t, f)                                                                            \
    do {                                                                                           \
        EQ((s)->has_##f, (t)->has_##f);                                                            \
        if ((s)->has_##f) {                                                                        \
            EQ((s)->f, (t)->f);                                                                    \
        }                                                                                          \
    } while (0)

static void eq_schema(const pf_schema_element *a, const pf_schema_element *b)
{
    eq_str(a->name, b->name, "name");
    EQ_OPT(a, b, type);
    EQ_OPT(a, b, type_length);
    EQ_OPT(a, b, repetition_type);
    EQ_OPT(a, b, num_children);
    EQ_OPT(a, b, converted_type);
    EQ_OPT(a, b, scale);
    EQ_OPT(a, b, precision);
    EQ_OPT(a, b, field_id);
    eq_logical(&a->logical_type, &b->logical_type);
}

static void eq_kvs(const pf_key_value *a, int32_t na, const pf_key_value *b, int32_t nb)
{
    EQ(na, nb);
    for (int32_t i = 0; i < na && i < nb; i++) {
        eq_str(a[i].key, b[i].key, "key");
        eq_str(a[i].value, b[i].value, "value");
    }
}

static void eq_cmd(const pf_column_meta_data *a, const pf_column_meta_data *b)
{
    EQ(a->type, b->type);
    EQ(a->n_encodings, b->n_encodings);
    for (int32_t i = 0; i < a->n_encodings && i < b->n_encodings; i++) {
        EQ(a->encodings[i], b->encodings[i]);
    }
    EQ(a->n_path_in_schema, b->n_path_in_schema);
    for (int32_t i = 0; i < a->n_path_in_schema && i < b->n_path_in_schema; i++) {
        eq_str(a->path_in_schema[i], b->path_in_schema[i], "path");
    }
    EQ(a->codec, b->codec);
    EQ(a->num_values, b->num_values);
    EQ(a->total_uncompressed_size, b->total_uncompressed_size);
    EQ(a->total_compressed_size, b->total_compressed_size);
    eq_kvs(a->key_value_metadata, a->n_key_value_metadata, b->key_value_metadata,
           b->n_key_value_metadata);
    EQ(a->data_page_offset, b->data_page_offset);
    EQ_OPT(a, b, index_page_offset);
    EQ_OPT(a, b, dictionary_page_offset);
    EQ(a->has_statistics, b->has_statistics);
    if (a->has_statistics) {
        eq_stats(&a->statistics, &b->statistics);
    }
    EQ(a->n_encoding_stats, b->n_encoding_stats);
    for (int32_t i = 0; i < a->n_encoding_stats && i < b->n_encoding_stats; i++) {
        EQ(a->encoding_stats[i].page_type, b->encoding_stats[i].page_type);
        EQ(a->encoding_stats[i].encoding, b->encoding_stats[i].encoding);
        EQ(a->encoding_stats[i].count, b->encoding_stats[i].count);
    }
    EQ_OPT(a, b, bloom_filter_offset);
    EQ_OPT(a, b, bloom_filter_length);
}

static void eq_md(const pf_file_metadata *a, const pf_file_metadata *b)
{
    EQ(a->version, b->version);
    EQ(a->n_schema, b->n_schema);
    for (int32_t i = 0; i < a->n_schema && i < b->n_schema; i++) {
        eq_schema(&a->schema[i], &b->schema[i]);
    }
    EQ(a->num_rows, b->num_rows);
    EQ(a->n_row_groups, b->n_row_groups);
    for (int32_t i = 0; i < a->n_row_groups && i < b->n_row_groups; i++) {
        const pf_row_group *g = &a->row_groups[i], *h = &b->row_groups[i];
        EQ(g->n_columns, h->n_columns);
        for (int32_t k = 0; k < g->n_columns && k < h->n_columns; k++) {
            const pf_column_chunk *c = &g->columns[k], *d = &h->columns[k];
            eq_str(c->file_path, d->file_path, "file_path");
            EQ(c->file_offset, d->file_offset);
            EQ(c->meta_data == NULL, d->meta_data == NULL);
            if (c->meta_data && d->meta_data) {
                eq_cmd(c->meta_data, d->meta_data);
            }
            EQ_OPT(c, d, offset_index_offset);
            EQ_OPT(c, d, offset_index_length);
            EQ_OPT(c, d, column_index_offset);
            EQ_OPT(c, d, column_index_length);
        }
        EQ(g->total_byte_size, h->total_byte_size);
        EQ(g->num_rows, h->num_rows);
        EQ(g->n_sorting_columns, h->n_sorting_columns);
        for (int32_t k = 0; k < g->n_sorting_columns && k < h->n_sorting_columns; k++) {
            EQ(g->sorting_columns[k].column_idx, h->sorting_columns[k].column_idx);
            EQ(g->sorting_columns[k].descending, h->sorting_columns[k].descending);
            EQ(g->sorting_columns[k].nulls_first, h->sorting_columns[k].nulls_first);
        }
        EQ_OPT(g, h, file_offset);
        EQ_OPT(g, h, total_compressed_size);
        EQ_OPT(g, h, ordinal);
    }
    eq_kvs(a->key_value_metadata, a->n_key_value_metadata, b->key_value_metadata,
           b->n_key_value_metadata);
    eq_str(a->created_by, b->created_by, "created_by");
}

static void eq_page(const pf_page_header *a, const pf_page_header *b)
{
    EQ(a->type, b->type);
    EQ(a->uncompressed_page_size, b->uncompressed_page_size);
    EQ(a->compressed_page_size, b->compressed_page_size);
    EQ_OPT(a, b, crc);
    EQ(a->has_data_page_header, b->has_data_page_header);
    if (a->has_data_page_header) {
        const pf_data_page_header *x = &a->data_page_header, *y = &b->data_page_header;
        EQ(x->num_values, y->num_values);
        EQ(x->encoding, y->encoding);
        EQ(x->definition_level_encoding, y->definition_level_encoding);
        EQ(x->repetition_level_encoding, y->repetition_level_encoding);
        EQ(x->has_statistics, y->has_statistics);
        if (x->has_statistics) {
            eq_stats(&x->statistics, &y->statistics);
        }
    }
    EQ(a->has_dictionary_page_header, b->has_dictionary_page_header);
    if (a->has_dictionary_page_header) {
        const pf_dictionary_page_header *x = &a->dictionary_page_header,
                                        *y = &b->dictionary_page_header;
        EQ(x->num_values, y->num_values);
        EQ(x->encoding, y->encoding);
        EQ_OPT(x, y, is_sorted);
    }
    EQ(a->has_data_page_header_v2, b->has_data_page_header_v2);
    if (a->has_data_page_header_v2) {
        const pf_data_page_header_v2 *x = &a->data_page_header_v2, *y = &b->data_page_header_v2;
        EQ(x->num_values, y->num_values);
        EQ(x->num_nulls, y->num_nulls);
        EQ(x->num_rows, y->num_rows);
        EQ(x->encoding, y->encoding);
        EQ(x->definition_levels_byte_length, y->definition_levels_byte_length);
        EQ(x->repetition_levels_byte_length, y->repetition_levels_byte_length);
        EQ(x->is_compressed, y->is_compressed);
        EQ(x->has_statistics, y->has_statistics);
        if (x->has_statistics) {
            eq_stats(&x->statistics, &y->statistics);
        }
    }
}

static bool msg_has(const sm_error *err, const char *needle)
{
    if (!strstr(err->msg, needle)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err->msg, needle);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Sample metadata                                                                           */

static const uint8_t minv[] = {0x01, 0x00, 0x00, 0x00};
static const uint8_t maxv[] = {0xff, 0x7f, 0x00, 0x00};

static pf_statistics full_stats(void)
{
    pf_statistics s = {0};
    s.has_max = s.has_min = s.has_null_count = s.has_distinct_count = true;
    s.has_max_value = s.has_min_value = s.has_is_max_value_exact = true;
    s.has_is_min_value_exact = s.has_nan_count = true;
    s.max = (pf_bytes){maxv, sizeof maxv};
    s.min = (pf_bytes){minv, sizeof minv};
    s.null_count = 3;
    s.distinct_count = INT64_MAX;
    s.max_value = (pf_bytes){maxv, sizeof maxv};
    s.min_value = (pf_bytes){(const uint8_t *)"", 0}; /* present and empty */
    s.is_max_value_exact = true;
    s.is_min_value_exact = false;
    s.nan_count = 0;
    return s;
}

/* Storage for a sample footer: every optional field present when `full`. */
typedef struct sample {
    pf_schema_element schema[18];
    pf_key_value kvs[2];
    int32_t encodings[3];
    const char *path[2];
    pf_page_encoding_stats enc_stats[2];
    pf_column_meta_data cmd[2];
    pf_column_chunk chunks[2];
    pf_sorting_column sorting[1];
    pf_row_group groups[2];
    int32_t orders[17];
    pf_file_metadata md;
} sample;

static void build_sample(sample *s, bool full)
{
    memset(s, 0, sizeof *s);
    /* root + one leaf per logical type kind (and one without) */
    static const pf_logical_type lts[] = {
        {PF_LT_NONE},
        {PF_LT_STRING},
        {PF_LT_MAP},
        {PF_LT_LIST},
        {PF_LT_ENUM},
        {PF_LT_DECIMAL, .scale = 2, .precision = 38},
        {PF_LT_DATE},
        {PF_LT_TIME, .is_adjusted_to_utc = true, .unit = PF_UNIT_MILLIS},
        {PF_LT_TIME, .is_adjusted_to_utc = false, .unit = PF_UNIT_NANOS},
        {PF_LT_TIMESTAMP, .is_adjusted_to_utc = true, .unit = PF_UNIT_MICROS},
        {PF_LT_TIMESTAMP, .is_adjusted_to_utc = false, .unit = PF_UNIT_NANOS},
        {PF_LT_INTEGER, .bit_width = 8, .is_signed = false},
        {PF_LT_INTEGER, .bit_width = 64, .is_signed = true},
        {PF_LT_UNKNOWN},
        {PF_LT_JSON},
        {PF_LT_BSON},
        {PF_LT_UUID},
        {PF_LT_FLOAT16},
    };
    int n = (int)(sizeof lts / sizeof lts[0]);
    s->schema[0].name = "root";
    s->schema[0].has_num_children = true;
    s->schema[0].num_children = n - 1;
    for (int i = 1; i < n; i++) {
        pf_schema_element *e = &s->schema[i];
        e->name = i == 1 ? "" : "col\xc3\xa9"; /* empty and UTF-8 names */
        e->has_type = true;
        e->type = i % 8;
        e->has_repetition_type = true;
        e->repetition_type = i % 3;
        if (full) {
            e->has_type_length = true;
            e->type_length = 16;
            e->has_converted_type = true;
            e->converted_type = PF_CT_INTERVAL;
            e->has_scale = true;
            e->scale = 2;
            e->has_precision = true;
            e->precision = 38;
            e->has_field_id = true;
            e->field_id = -i;
            e->logical_type = lts[i];
        }
    }
    s->md.schema = s->schema;
    s->md.n_schema = n;
    s->md.version = 1;
    s->md.num_rows = (int64_t)1 << 40;

    s->encodings[0] = PF_ENC_PLAIN;
    s->encodings[1] = PF_ENC_RLE;
    s->encodings[2] = PF_ENC_RLE_DICTIONARY;
    s->path[0] = "a";
    s->path[1] = "b";
    s->kvs[0] = (pf_key_value){"k1", "v1"};
    s->kvs[1] = (pf_key_value){"k2", NULL};
    s->enc_stats[0] = (pf_page_encoding_stats){PF_PAGE_DICTIONARY, PF_ENC_PLAIN, 1};
    s->enc_stats[1] = (pf_page_encoding_stats){PF_PAGE_DATA, PF_ENC_RLE_DICTIONARY, 7};
    for (int i = 0; i < 2; i++) {
        pf_column_meta_data *m = &s->cmd[i];
        m->type = PF_TYPE_BYTE_ARRAY;
        m->encodings = s->encodings;
        m->n_encodings = 3;
        m->path_in_schema = s->path;
        m->n_path_in_schema = 2;
        m->codec = PF_CODEC_ZSTD;
        m->num_values = 1000;
        m->total_uncompressed_size = 123456;
        m->total_compressed_size = 23456;
        m->data_page_offset = 4 + i * 100000;
        if (full) {
            m->key_value_metadata = s->kvs;
            m->n_key_value_metadata = 2;
            m->has_index_page_offset = true;
            m->index_page_offset = 77;
            m->has_dictionary_page_offset = true;
            m->dictionary_page_offset = 4;
            m->has_statistics = true;
            m->statistics = full_stats();
            m->encoding_stats = s->enc_stats;
            m->n_encoding_stats = 2;
            m->has_bloom_filter_offset = true;
            m->bloom_filter_offset = INT64_MAX;
            m->has_bloom_filter_length = true;
            m->bloom_filter_length = 1024;
        }
        pf_column_chunk *c = &s->chunks[i];
        c->file_offset = 0;
        c->meta_data = m;
        if (full) {
            c->file_path = "other.parquet";
            c->has_offset_index_offset = c->has_offset_index_length = true;
            c->has_column_index_offset = c->has_column_index_length = true;
            c->offset_index_offset = 5000;
            c->offset_index_length = 50;
            c->column_index_offset = 6000;
            c->column_index_length = 60;
        }
    }
    s->sorting[0] = (pf_sorting_column){1, true, false};
    for (int i = 0; i < 2; i++) {
        pf_row_group *g = &s->groups[i];
        g->columns = &s->chunks[i];
        g->n_columns = 1;
        g->total_byte_size = 99;
        g->num_rows = (int64_t)1 << 39;
        if (full) {
            g->sorting_columns = s->sorting;
            g->n_sorting_columns = 1;
            g->has_file_offset = true;
            g->file_offset = 4;
            g->has_total_compressed_size = true;
            g->total_compressed_size = 88;
            g->has_ordinal = true;
            g->ordinal = (int16_t)i;
        }
    }
    s->md.row_groups = s->groups;
    s->md.n_row_groups = 2;
    if (full) {
        s->md.key_value_metadata = s->kvs;
        s->md.n_key_value_metadata = 2;
        s->md.created_by = "smelter version 0.1.0";
    }
}

/* Encodes a sample footer; caller frees. */
static uint8_t *encode_sample(bool full, size_t *len)
{
    sample *s = malloc(sizeof *s);
    build_sample(s, full);
    tc_writer w;
    tc_writer_init(&w);
    sm_error err = {0};
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w, &err), SM_OK);
    free(s);
    return tc_writer_take(&w, len);
}

/* ---------------------------------------------------------------------------------------- */
/* Footer                                                                                    */

static void round_trip_footer(bool full)
{
    sample *s = malloc(sizeof *s);
    build_sample(s, full);
    tc_writer w;
    tc_writer_init(&w);
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(pf_write_file_metadata(&s->md, &w, &err), SM_OK);
    pf_file_metadata *md = NULL;
    int rc = pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    tc_writer_release(&w); /* the metadata owns copies */
    same = true;
    eq_md(&s->md, md);
    CU_ASSERT_TRUE(same);
    /* TYPE_DEFINED written for every leaf */
    CU_ASSERT_EQUAL(md->n_column_orders, s->md.n_schema - 1);
    for (int32_t i = 0; i < md->n_column_orders; i++) {
        CU_ASSERT_EQUAL(md->column_orders[i], PF_ORDER_TYPE_DEFINED);
    }
    /* and read-back metadata writes the same bytes again */
    tc_writer w1, w2;
    tc_writer_init(&w1);
    tc_writer_init(&w2);
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w1, &err), SM_OK);
    CU_ASSERT_EQUAL(pf_write_file_metadata(md, &w2, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_writer_len(&w1), tc_writer_len(&w2));
    CU_ASSERT_EQUAL(memcmp(tc_writer_data(&w1), tc_writer_data(&w2), tc_writer_len(&w1)), 0);
    tc_writer_release(&w1);
    tc_writer_release(&w2);
    pf_file_metadata_free(md);
    free(s);
}

static void test_footer_round_trip_all_optional_fields(void)
{
    round_trip_footer(true);
}

static void test_footer_round_trip_no_optional_fields(void)
{
    round_trip_footer(false);
}

static void test_footer_every_truncation_is_an_error(void)
{
    size_t len;
    uint8_t *full = encode_sample(true, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, full, k);
        pf_file_metadata *md = (pf_file_metadata *)1;
        sm_error err = {0};
        int rc = pf_read_file_metadata(p, k, &md, &err);
        if (rc != SM_ERR_CORRUPT) {
            fprintf(stderr, "prefix of %zu bytes: rc %d %s\n", k, rc, err.msg);
        }
        CU_ASSERT_EQUAL(rc, SM_ERR_CORRUPT);
        CU_ASSERT_PTR_NULL(md);
        free(p);
    }
    free(full);
}

static void test_footer_mutations_never_crash(void)
{
    size_t len;
    uint8_t *full = encode_sample(true, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    uint8_t *p = malloc(len);
    static const uint8_t values[] = {0x00, 0x01, 0x05, 0x19, 0x1c, 0x7f, 0x80, 0xf9, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(p, full, len);
            p[i] = values[v];
            pf_file_metadata *md = NULL;
            sm_error err = {0};
            if (pf_read_file_metadata(p, len, &md, &err) == SM_OK) {
                /* whatever parsed must hold up to being walked and written again */
                tc_writer w;
                tc_writer_init(&w);
                pf_write_file_metadata(md, &w, &err);
                tc_writer_release(&w);
                pf_file_metadata_free(md);
            } else {
                CU_ASSERT_PTR_NULL(md);
                CU_ASSERT_TRUE(err.msg[0] != '\0');
            }
        }
    }
    free(p);
    free(full);
}

static void test_footer_huge_list_is_refused_with_its_path(void)
{
    /* version 1, then schema: list of 3000000 structs with a few bytes left */
    static const uint8_t p[] = {0x15, 0x02, 0x19, 0xfc, 0xc0, 0x8d, 0xb7,
                                0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    pf_file_metadata *md;
    sm_error err = {0};
    CU_ASSERT_EQUAL(pf_read_file_metadata(p, sizeof p, &md, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "footer: field 2 (schema): list of 3000000 elements"));
    CU_ASSERT_TRUE(msg_has(&err, "(offset 3)"));

    /* a list count that fits the bytes but not the smallest row group */
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 1);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w);
    tc_write_field_string(&w, 4, "root");
    tc_write_struct_end(&w);
    tc_write_field_i64(&w, 3, 0);
    tc_write_field_begin(&w, TC_LIST, 4);
    tc_write_list_begin(&w, TC_STRUCT, 20);
    for (int i = 0; i < 40; i++) {
        tc_write_i8(&w, 0);
    }
    CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "field 4 (row_groups): list of 20 elements of at least 7"));
    tc_writer_release(&w);
}

static void test_footer_missing_required_field_is_named(void)
{
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 1);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w);
    tc_write_field_string(&w, 4, "root");
    tc_write_struct_end(&w);
    tc_write_field_begin(&w, TC_LIST, 4); /* num_rows (3) missing */
    tc_write_list_begin(&w, TC_STRUCT, 0);
    tc_write_struct_end(&w);
    pf_file_metadata *md;
    sm_error err = {0};
    CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "footer: missing required field 3 (num_rows)"));
    tc_writer_release(&w);

    /* a required field of the wrong type */
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_string(&w, 1, "one");
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "field 1 (version): expected i32, found binary"));
    tc_writer_release(&w);
}

/* Unknown fields everywhere (newer format versions) and optional fields of another type. */
static void test_footer_skips_unknown_fields(void)
{
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 2);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_STRUCT, 2);
    tc_write_struct_begin(&w); /* root */
    tc_write_field_string(&w, 4, "root");
    tc_write_field_i32(&w, 5, 1);
    tc_write_field_i32(&w, 11, 7); /* vector_length */
    tc_write_struct_end(&w);
    tc_write_struct_begin(&w); /* leaf */
    tc_write_field_i32(&w, 1, PF_TYPE_INT64);
    tc_write_field_string(&w, 4, "x");
    tc_write_field_begin(&w, TC_STRUCT, 10); /* logicalType: VARIANT {1: i8} */
    tc_write_struct_begin(&w);
    tc_write_field_begin(&w, TC_STRUCT, PF_LT_VARIANT);
    tc_write_struct_begin(&w);
    tc_write_field_i8(&w, 1, 1);
    tc_write_struct_end(&w);
    tc_write_struct_end(&w);
    tc_write_field_double(&w, 30, 1.0);
    tc_write_struct_end(&w);
    tc_write_field_i64(&w, 3, 5);
    tc_write_field_begin(&w, TC_LIST, 4);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w); /* row group */
    tc_write_field_begin(&w, TC_LIST, 1);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w); /* column chunk */
    tc_write_field_i64(&w, 2, 0);
    tc_write_field_begin(&w, TC_STRUCT, 3);
    tc_write_struct_begin(&w); /* column meta data */
    tc_write_field_i32(&w, 1, PF_TYPE_INT64);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_I32, 1);
    tc_write_i32(&w, PF_ENC_PLAIN);
    tc_write_field_begin(&w, TC_LIST, 3);
    tc_write_list_begin(&w, TC_BINARY, 1);
    tc_write_string(&w, "x");
    tc_write_field_i32(&w, 4, PF_CODEC_UNCOMPRESSED);
    tc_write_field_i64(&w, 5, 5);
    tc_write_field_i64(&w, 6, 40);
    tc_write_field_i64(&w, 7, 40);
    tc_write_field_i64(&w, 9, 4);
    tc_write_field_begin(&w, TC_LIST, 15); /* known id, wrong type: skipped */
    tc_write_list_begin(&w, TC_I32, 2);
    tc_write_i32(&w, 1);
    tc_write_i32(&w, 2);
    tc_write_field_begin(&w, TC_STRUCT, 16); /* size_statistics */
    tc_write_struct_begin(&w);
    tc_write_field_i64(&w, 1, 10);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_I64, 2);
    tc_write_i64(&w, 1);
    tc_write_i64(&w, 2);
    tc_write_struct_end(&w);
    tc_write_field_begin(&w, TC_MAP, 99);
    tc_write_map_begin(&w, TC_BINARY, TC_BOOL, 1);
    tc_write_string(&w, "k");
    tc_write_bool(&w, true);
    tc_write_struct_end(&w); /* column meta data */
    tc_write_field_bool(&w, 50, true);
    tc_write_struct_end(&w); /* column chunk */
    tc_write_field_i64(&w, 2, 40);
    tc_write_field_i64(&w, 3, 5);
    tc_write_field_begin(&w, TC_UUID, 8);
    for (int i = 0; i < 16; i++) {
        tc_write_i8(&w, (int8_t)i);
    }
    tc_write_struct_end(&w); /* row group */
    tc_write_field_begin(&w, TC_LIST, 7);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w);
    tc_write_field_empty_struct(&w, PF_ORDER_IEEE_754_TOTAL);
    tc_write_struct_end(&w);
    tc_write_field_begin(&w, TC_SET, 20);
    tc_write_set_begin(&w, TC_DOUBLE, 1);
    tc_write_double(&w, 0.5);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL_FATAL(tc_writer_status(&w, NULL), SM_OK);

    pf_file_metadata *md = NULL;
    sm_error err = {0};
    int rc = pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    CU_ASSERT_EQUAL(md->version, 2);
    CU_ASSERT_EQUAL(md->n_schema, 2);
    CU_ASSERT_EQUAL(md->schema[1].logical_type.kind, PF_LT_VARIANT);
    CU_ASSERT_EQUAL(md->num_rows, 5);
    CU_ASSERT_EQUAL_FATAL(md->n_row_groups, 1);
    CU_ASSERT_EQUAL_FATAL(md->row_groups[0].n_columns, 1);
    const pf_column_meta_data *m = md->row_groups[0].columns[0].meta_data;
    CU_ASSERT_EQUAL(m->data_page_offset, 4);
    CU_ASSERT_FALSE(m->has_bloom_filter_length);
    CU_ASSERT_STRING_EQUAL(m->path_in_schema[0], "x");
    CU_ASSERT_EQUAL_FATAL(md->n_column_orders, 1);
    CU_ASSERT_EQUAL(md->column_orders[0], PF_ORDER_IEEE_754_TOTAL);
    pf_file_metadata_free(md);
    tc_writer_release(&w);
}

static void write_minimal_head(tc_writer *w)
{
    tc_write_struct_begin(w);
    tc_write_field_i32(w, 1, 1);
    tc_write_field_begin(w, TC_LIST, 2);
    tc_write_list_begin(w, TC_STRUCT, 1);
    tc_write_struct_begin(w);
    tc_write_field_string(w, 4, "root");
    tc_write_struct_end(w);
    tc_write_field_i64(w, 3, 0);
}

static void test_encrypted_metadata_is_refused(void)
{
    sm_error err = {0};
    pf_file_metadata *md;
    /* FileMetaData.encryption_algorithm */
    tc_writer w;
    tc_writer_init(&w);
    write_minimal_head(&w);
    tc_write_field_begin(&w, TC_LIST, 4);
    tc_write_list_begin(&w, TC_STRUCT, 0);
    tc_write_field_begin(&w, TC_STRUCT, 8);
    tc_write_struct_begin(&w);
    tc_write_field_empty_struct(&w, 1); /* AES_GCM_V1 {} */
    tc_write_struct_end(&w);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "encrypted files are not supported"));
    CU_ASSERT_TRUE(msg_has(&err, "encryption_algorithm"));

    /* ColumnChunk.crypto_metadata and encrypted_column_metadata */
    for (int16_t id = 8; id <= 9; id++) {
        tc_writer_clear(&w);
        write_minimal_head(&w);
        tc_write_field_begin(&w, TC_LIST, 4);
        tc_write_list_begin(&w, TC_STRUCT, 1);
        tc_write_struct_begin(&w);
        tc_write_field_begin(&w, TC_LIST, 1);
        tc_write_list_begin(&w, TC_STRUCT, 1);
        tc_write_struct_begin(&w);
        tc_write_field_i64(&w, 2, 0);
        if (id == 8) {
            tc_write_field_begin(&w, TC_STRUCT, 8);
            tc_write_struct_begin(&w);
            tc_write_field_empty_struct(&w, 1);
            tc_write_struct_end(&w);
        } else {
            tc_write_field_binary(&w, 9, "xx", 2);
        }
        tc_write_struct_end(&w);
        tc_write_field_i64(&w, 2, 0);
        tc_write_field_i64(&w, 3, 0);
        tc_write_struct_end(&w);
        tc_write_struct_end(&w);
        CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                        SM_ERR_CORRUPT);
        CU_ASSERT_TRUE(msg_has(&err, "encrypted files are not supported"));
    }
    tc_writer_release(&w);

    /* the tail of a file with an encrypted footer */
    uint32_t flen;
    CU_ASSERT_EQUAL(pf_parse_tail((const uint8_t *)"\x10\0\0\0PARE", &flen, &err), SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "encrypted files are not supported"));
    CU_ASSERT_EQUAL(pf_parse_tail((const uint8_t *)"\x10\0\0\0PAR2", &flen, &err), SM_ERR_CORRUPT);
    CU_ASSERT_EQUAL(pf_parse_tail((const uint8_t *)"\x10\x01\0\0PAR1", &flen, &err), SM_OK);
    CU_ASSERT_EQUAL(flen, 0x110);
}

static void test_column_chunk_without_meta_data_is_refused(void)
{
    tc_writer w;
    tc_writer_init(&w);
    write_minimal_head(&w);
    tc_write_field_begin(&w, TC_LIST, 4);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w);
    tc_write_field_begin(&w, TC_LIST, 1);
    tc_write_list_begin(&w, TC_STRUCT, 1);
    tc_write_struct_begin(&w);
    tc_write_field_i64(&w, 2, 0);
    tc_write_struct_end(&w);
    tc_write_field_i64(&w, 2, 0);
    tc_write_field_i64(&w, 3, 0);
    tc_write_struct_end(&w);
    tc_write_struct_end(&w);
    pf_file_metadata *md;
    sm_error err = {0};
    CU_ASSERT_EQUAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "element 0: field 1 (columns): element 0: column chunk "
                                 "without meta_data"));
    tc_writer_release(&w);
}

/* Many tiny schema elements: memory stays within a small multiple of the input. */
static void test_footer_memory_is_bounded_by_input(void)
{
    int32_t n = 100000;
    tc_writer w;
    tc_writer_init(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 1);
    tc_write_field_begin(&w, TC_LIST, 2);
    tc_write_list_begin(&w, TC_STRUCT, n);
    for (int32_t i = 0; i < n; i++) {
        tc_write_struct_begin(&w);
        tc_write_field_string(&w, 4, "");
        tc_write_struct_end(&w);
    }
    tc_write_field_i64(&w, 3, 0);
    tc_write_field_begin(&w, TC_LIST, 4);
    tc_write_list_begin(&w, TC_STRUCT, 0);
    tc_write_struct_end(&w);
    pf_file_metadata *md;
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(pf_read_file_metadata(tc_writer_data(&w), tc_writer_len(&w), &md, &err),
                          SM_OK);
    CU_ASSERT_EQUAL(md->n_schema, n);
    CU_ASSERT_TRUE(sm_arena_reserved(md->arena) <= 64 * tc_writer_len(&w) + 1024 * 1024);
    pf_file_metadata_free(md);
    tc_writer_release(&w);
}

static void test_writer_refuses_invalid_metadata(void)
{
    sample *s = malloc(sizeof *s);
    build_sample(s, true);
    s->schema[3].name = NULL;
    tc_writer w;
    tc_writer_init(&w);
    sm_error err = {0};
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w, &err), SM_ERR_INTERNAL);
    CU_ASSERT_TRUE(msg_has(&err, "footer: schema[3]: name is NULL"));
    CU_ASSERT_EQUAL(tc_writer_status(&w, NULL), SM_ERR_INTERNAL);

    build_sample(s, true);
    s->cmd[1].n_encodings = -1;
    tc_writer_clear(&w);
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w, &err), SM_ERR_INTERNAL);
    CU_ASSERT_TRUE(msg_has(&err, "row_groups[1]: columns[0]: meta_data: encodings"));

    build_sample(s, true);
    s->kvs[0].key = NULL;
    tc_writer_clear(&w);
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w, &err), SM_ERR_INTERNAL);

    build_sample(s, true);
    s->schema[8].logical_type.unit = 9;
    tc_writer_clear(&w);
    CU_ASSERT_EQUAL(pf_write_file_metadata(&s->md, &w, &err), SM_ERR_INTERNAL);
    tc_writer_release(&w);
    free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Page headers                                                                              */

static void round_trip_page(const pf_page_header *h)
{
    tc_writer w;
    tc_writer_init(&w);
    sm_error err = {0};
    CU_ASSERT_EQUAL_FATAL(pf_write_page_header(h, &w, &err), SM_OK);
    /* page bytes follow the header in a file */
    size_t hlen = tc_writer_len(&w);
    tc_write_i8(&w, 0x55);
    pf_page_header got;
    size_t consumed = 0;
    int rc = pf_read_page_header(tc_writer_data(&w), tc_writer_len(&w), &got, &consumed, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    CU_ASSERT_EQUAL(consumed, hlen);
    same = true;
    eq_page(h, &got);
    CU_ASSERT_TRUE(same);
    /* every truncation of the header is an error */
    for (size_t k = 0; k < hlen; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, tc_writer_data(&w), k);
        CU_ASSERT_EQUAL(pf_read_page_header(p, k, &got, &consumed, &err), SM_ERR_CORRUPT);
        free(p);
    }
    tc_writer_release(&w);
}

static void test_page_header_round_trips(void)
{
    pf_page_header h = {0};
    /* data page v1, minimal */
    h.type = PF_PAGE_DATA;
    h.uncompressed_page_size = 100;
    h.compressed_page_size = 60;
    h.has_data_page_header = true;
    h.data_page_header = (pf_data_page_header){10, PF_ENC_PLAIN, PF_ENC_RLE, PF_ENC_RLE};
    round_trip_page(&h);
    /* with crc and full statistics */
    h.has_crc = true;
    h.crc = INT32_MIN;
    h.data_page_header.has_statistics = true;
    h.data_page_header.statistics = full_stats();
    round_trip_page(&h);

    /* dictionary page, is_sorted absent then present */
    memset(&h, 0, sizeof h);
    h.type = PF_PAGE_DICTIONARY;
    h.uncompressed_page_size = 8;
    h.compressed_page_size = 8;
    h.has_dictionary_page_header = true;
    h.dictionary_page_header = (pf_dictionary_page_header){2, PF_ENC_PLAIN, false, false};
    round_trip_page(&h);
    h.dictionary_page_header.has_is_sorted = true;
    h.dictionary_page_header.is_sorted = true;
    round_trip_page(&h);

    /* data page v2, is_compressed both ways, statistics absent then present */
    memset(&h, 0, sizeof h);
    h.type = PF_PAGE_DATA_V2;
    h.uncompressed_page_size = 0;
    h.compressed_page_size = 0;
    h.has_data_page_header_v2 = true;
    h.data_page_header_v2 =
        (pf_data_page_header_v2){5, 1, 5, PF_ENC_DELTA_BINARY_PACKED, 2, 0, false};
    round_trip_page(&h);
    h.data_page_header_v2.is_compressed = true;
    h.data_page_header_v2.has_statistics = true;
    h.data_page_header_v2.statistics.has_null_count = true;
    h.data_page_header_v2.statistics.null_count = 1;
    round_trip_page(&h);

    /* index page: no sub-header, parses */
    memset(&h, 0, sizeof h);
    h.type = PF_PAGE_INDEX;
    h.uncompressed_page_size = 3;
    h.compressed_page_size = 3;
    round_trip_page(&h);
}

static void test_page_header_defaults_and_checks(void)
{
    sm_error err = {0};
    pf_page_header h;
    size_t n;
    tc_writer w;
    tc_writer_init(&w);
    /* v2 without is_compressed reads as compressed; index_page_header struct is skipped */
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, PF_PAGE_DATA_V2);
    tc_write_field_i32(&w, 2, 10);
    tc_write_field_i32(&w, 3, 10);
    tc_write_field_empty_struct(&w, 6);
    tc_write_field_begin(&w, TC_STRUCT, 8);
    tc_write_struct_begin(&w);
    for (int16_t id = 1; id <= 6; id++) {
        tc_write_field_i32(&w, id, 1);
    }
    tc_write_struct_end(&w);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL_FATAL(pf_read_page_header(tc_writer_data(&w), tc_writer_len(&w), &h, &n, &err),
                          SM_OK);
    CU_ASSERT_TRUE(h.data_page_header_v2.is_compressed);
    CU_ASSERT_EQUAL(n, tc_writer_len(&w));

    /* a data page without its sub-header */
    tc_writer_clear(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, PF_PAGE_DATA);
    tc_write_field_i32(&w, 2, 10);
    tc_write_field_i32(&w, 3, 10);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL(pf_read_page_header(tc_writer_data(&w), tc_writer_len(&w), &h, &n, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "page header: DATA_PAGE page without its header"));

    /* a negative size */
    tc_writer_clear(&w);
    tc_write_struct_begin(&w);
    tc_write_field_i32(&w, 1, 7);
    tc_write_field_i32(&w, 2, 10);
    tc_write_field_i32(&w, 3, -1);
    tc_write_struct_end(&w);
    CU_ASSERT_EQUAL(pf_read_page_header(tc_writer_data(&w), tc_writer_len(&w), &h, &n, &err),
                    SM_ERR_CORRUPT);
    CU_ASSERT_TRUE(msg_has(&err, "negative page size"));
    tc_writer_release(&w);
}

/* ---------------------------------------------------------------------------------------- */
/* parquet-testing fixtures                                                                  */

static char *fixture_dir(void)
{
    const char *src = getenv("SMELTER_SOURCE_DIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/../shared/fixtures/parquet-testing", src ? src : ".") < 0) {
        return NULL;
    }
    return dir;
}

static pf_file_metadata *read_fixture_footer(const char *path, char **data, size_t *len)
{
    sm_error err = {0};
    if (sm_read_file(path, (size_t)1 << 30, data, len, &err) != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    if (*len < 12) {
        fprintf(stderr, "%s: too short\n", path);
        return NULL;
    }
    const uint8_t *p = (const uint8_t *)*data;
    uint32_t flen;
    if (pf_parse_tail(p + *len - PF_TAIL_LEN, &flen, &err) != SM_OK) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return NULL;
    }
    if ((size_t)flen > *len - 12) {
        fprintf(stderr, "%s: footer length %u too large\n", path, flen);
        return NULL;
    }
    pf_file_metadata *md = NULL;
    if (pf_read_file_metadata(p + *len - PF_TAIL_LEN - flen, flen, &md, &err) != SM_OK) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return NULL;
    }
    return md;
}

static void check_first_pages(const char *path, const pf_file_metadata *md, const uint8_t *p,
                              size_t len)
{
    for (int32_t g = 0; g < md->n_row_groups; g++) {
        for (int32_t c = 0; c < md->row_groups[g].n_columns; c++) {
            const pf_column_meta_data *m = md->row_groups[g].columns[c].meta_data;
            /* Some writers put dictionary_page_offset 0 to mean "none" (parquet-testing's
             * dict-page-offset-zero.parquet): 0 is the magic, never a page. */
            int64_t off = m->has_dictionary_page_offset && m->dictionary_page_offset > 0
                              ? m->dictionary_page_offset
                              : m->data_page_offset;
            if (off < 4 || (uint64_t)off >= len) {
                fprintf(stderr, "%s: rg %d col %d: page offset %lld\n", path, (int)g, (int)c,
                        (long long)off);
                CU_FAIL("page offset outside the file");
                continue;
            }
            pf_page_header h;
            size_t hlen;
            sm_error err = {0};
            int rc = pf_read_page_header(p + off, len - (size_t)off, &h, &hlen, &err);
            if (rc) {
                fprintf(stderr, "%s: rg %d col %d: %s\n", path, (int)g, (int)c, err.msg);
            }
            CU_ASSERT_EQUAL(rc, SM_OK);
            CU_ASSERT_TRUE(rc != SM_OK || (h.type >= PF_PAGE_DATA && h.type <= PF_PAGE_DATA_V2));
            CU_ASSERT_TRUE(rc != SM_OK || hlen + (size_t)h.compressed_page_size <= len - off);
        }
    }
}

static void test_fixture_footers_and_first_pages_parse(void)
{
    char *dir = fixture_dir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *pattern = NULL;
    CU_ASSERT_FATAL(asprintf(&pattern, "%s/*.parquet", dir) > 0);
    glob_t g;
    CU_ASSERT_EQUAL_FATAL(glob(pattern, 0, NULL, &g), 0);
    CU_ASSERT_TRUE(g.gl_pathc >= 60);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *data = NULL;
        size_t len = 0;
        pf_file_metadata *md = read_fixture_footer(g.gl_pathv[i], &data, &len);
        CU_ASSERT_PTR_NOT_NULL(md);
        if (md) {
            CU_ASSERT_TRUE(md->n_schema >= 2);
            CU_ASSERT_TRUE(md->num_rows >= 0);
            int64_t rows = 0;
            for (int32_t k = 0; k < md->n_row_groups; k++) {
                rows += md->row_groups[k].num_rows;
            }
            /* parquet-rs 0.3.0 wrote num_rows 0 in repeated_no_annotation.parquet */
            if (!strstr(g.gl_pathv[i], "repeated_no_annotation")) {
                CU_ASSERT_EQUAL(rows, md->num_rows);
            }
            check_first_pages(g.gl_pathv[i], md, (const uint8_t *)data, len);
            /* what we read, we can write */
            tc_writer w;
            tc_writer_init(&w);
            sm_error err = {0};
            CU_ASSERT_EQUAL(pf_write_file_metadata(md, &w, &err), SM_OK);
            tc_writer_release(&w);
        }
        pf_file_metadata_free(md);
        free(data);
    }
    globfree(&g);
    free(pattern);
    free(dir);
}

typedef struct expected {
    const char *file;
    int64_t rows;
    int32_t leaves;
} expected;

static void test_fixture_documented_contents(void)
{
    static const expected want[] = {
        {"alltypes_plain.parquet", 8, 11},        {"alltypes_dictionary.parquet", 2, 11},
        {"nation.dict-malformed.parquet", 25, 4}, {"alltypes_tiny_pages.parquet", 7300, 13},
        {"nested_structs.rust.parquet", 1, 216},
    };
    char *dir = fixture_dir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *path = NULL;
        CU_ASSERT_FATAL(asprintf(&path, "%s/%s", dir, want[i].file) > 0);
        char *data = NULL;
        size_t len = 0;
        pf_file_metadata *md = read_fixture_footer(path, &data, &len);
        CU_ASSERT_PTR_NOT_NULL(md);
        if (md) {
            CU_ASSERT_EQUAL(md->num_rows, want[i].rows);
            int32_t leaves = 0;
            for (int32_t k = 0; k < md->n_schema; k++) {
                leaves += md->schema[k].has_type;
            }
            CU_ASSERT_EQUAL(leaves, want[i].leaves);
            CU_ASSERT_EQUAL_FATAL(md->n_row_groups, 1);
            CU_ASSERT_EQUAL(md->row_groups[0].n_columns, want[i].leaves);
        }
        pf_file_metadata_free(md);
        free(data);
        free(path);
    }

    /* alltypes_plain: the schema as documented by parquet-testing */
    char *path = NULL;
    CU_ASSERT_FATAL(asprintf(&path, "%s/alltypes_plain.parquet", dir) > 0);
    char *data = NULL;
    size_t len = 0;
    pf_file_metadata *md = read_fixture_footer(path, &data, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT_STRING_EQUAL(md->schema[1].name, "id");
    CU_ASSERT_EQUAL(md->schema[1].type, PF_TYPE_INT32);
    CU_ASSERT_EQUAL(md->schema[0].num_children, 11);
    CU_ASSERT_STRING_EQUAL(md->schema[11].name, "timestamp_col");
    CU_ASSERT_EQUAL(md->schema[11].type, PF_TYPE_INT96);
    const pf_column_meta_data *m = md->row_groups[0].columns[0].meta_data;
    CU_ASSERT_EQUAL(m->n_path_in_schema, 1);
    CU_ASSERT_STRING_EQUAL(m->path_in_schema[0], "id");
    CU_ASSERT_EQUAL(m->num_values, 8);
    CU_ASSERT_EQUAL(m->codec, PF_CODEC_UNCOMPRESSED);
    pf_file_metadata_free(md);
    free(data);
    free(path);

    /* unknown-logical-type: a kind from the future is kept as its id */
    CU_ASSERT_FATAL(asprintf(&path, "%s/unknown-logical-type.parquet", dir) > 0);
    md = read_fixture_footer(path, &data, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    bool unknown_kind = false;
    for (int32_t k = 0; k < md->n_schema; k++) {
        int kind = md->schema[k].logical_type.kind;
        unknown_kind |= kind > PF_LT_GEOGRAPHY + 1; /* the file uses 2555 */
    }
    CU_ASSERT_TRUE(unknown_kind);
    pf_file_metadata_free(md);
    free(data);
    free(path);
    free(dir);
}

/* Writes `path` again with its footer re-encoded by pf_write_file_metadata. */
static bool rewrite_footer(const char *path, const char *out)
{
    char *data = NULL;
    size_t len = 0;
    pf_file_metadata *md = read_fixture_footer(path, &data, &len);
    if (!md) {
        free(data);
        return false;
    }
    uint32_t flen = (uint32_t)data[len - 8] & 0xff;
    flen |= ((uint32_t)data[len - 7] & 0xff) << 8 | ((uint32_t)data[len - 6] & 0xff) << 16 |
            ((uint32_t)data[len - 5] & 0xff) << 24;
    size_t body = len - PF_TAIL_LEN - flen;
    tc_writer w;
    tc_writer_init(&w);
    sm_error err = {0};
    bool ok = pf_write_file_metadata(md, &w, &err) == SM_OK;
    uint32_t nlen = (uint32_t)tc_writer_len(&w);
    uint8_t tail[PF_TAIL_LEN] = {(uint8_t)nlen,
                                 (uint8_t)(nlen >> 8),
                                 (uint8_t)(nlen >> 16),
                                 (uint8_t)(nlen >> 24),
                                 'P',
                                 'A',
                                 'R',
                                 '1'};
    FILE *f = ok ? fopen(out, "wb") : NULL;
    ok = f && fwrite(data, 1, body, f) == body && fwrite(tc_writer_data(&w), 1, nlen, f) == nlen &&
         fwrite(tail, 1, sizeof tail, f) == 8;
    if (f && fclose(f) != 0) {
        ok = false;
    }
    tc_writer_release(&w);
    pf_file_metadata_free(md);
    free(data);
    return ok;
}

/* DuckDB, an independent reader, sees the same rows and types through our footers. */
static void test_duckdb_reads_fixtures_with_our_footers(void)
{
    static const char *const files[] = {
        "alltypes_plain",
        "alltypes_dictionary",
        "alltypes_plain.snappy",
        "int32_decimal",
        "int64_decimal",
        "fixed_length_decimal",
        "byte_array_decimal",
        "nested_lists.snappy",
        "nested_maps.snappy",
        "nested_structs.rust",
        "nullable.impala",
        "datapage_v2.snappy",
        "delta_binary_packed",
        "delta_byte_array",
        "int96_from_spark",
        "float16_nonzeros_and_nans",
        "list_columns",
        "data_index_bloom_encoding_stats",
        "sort_columns",
        "byte_stream_split.zstd",
        "lz4_raw_compressed",
        "binary",
        "null_list",
        "single_nan",
        "repeated_primitive_no_list",
        "unknown-logical-type",
        "rle_boolean_encoding",
        "old_list_structure",
    };
    char *dir = fixture_dir();
    char *tmp = sm_test_tmpdir("pf-duckdb");
    size_t cap = 1 << 20, used = 0;
    char *sql = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    sql[0] = '\0';
    size_t n = sizeof files / sizeof files[0];
    for (size_t i = 0; i < n; i++) {
        char *a = NULL, *b = NULL;
        CU_ASSERT_FATAL(asprintf(&a, "%s/%s.parquet", dir, files[i]) > 0);
        CU_ASSERT_FATAL(asprintf(&b, "%s/%s.parquet", tmp, files[i]) > 0);
        CU_ASSERT_TRUE_FATAL(rewrite_footer(a, b));
        int k = snprintf(
            sql + used, cap - used,
            "%sSELECT '%s' AS file,"
            " (SELECT count(*) FROM read_parquet('%s')) AS n_a,"
            " (SELECT count(*) FROM read_parquet('%s')) AS n_b,"
            " (SELECT count(*) FROM (SELECT CAST(t AS VARCHAR) FROM read_parquet('%s') t"
            "   EXCEPT ALL SELECT CAST(t AS VARCHAR) FROM read_parquet('%s') t)) AS a_not_b,"
            " (SELECT count(*) FROM (SELECT CAST(t AS VARCHAR) FROM read_parquet('%s') t"
            "   EXCEPT ALL SELECT CAST(t AS VARCHAR) FROM read_parquet('%s') t)) AS b_not_a,"
            " (SELECT string_agg(column_name || ' ' || column_type, ', ')"
            "   FROM (DESCRIBE SELECT * FROM read_parquet('%s'))) AS types_a,"
            " (SELECT string_agg(column_name || ' ' || column_type, ', ')"
            "   FROM (DESCRIBE SELECT * FROM read_parquet('%s'))) AS types_b\n",
            i ? "UNION ALL " : "", files[i], a, b, a, b, b, a, a, b);
        CU_ASSERT_FATAL(k > 0 && (size_t)k < cap - used);
        used += (size_t)k;
        free(a);
        free(b);
    }
    json_t *rows = sm_test_duckdb(sql);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL(json_array_size(rows), n);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *file = json_string_value(json_object_get(row, "file"));
        long long na = sm_test_int(json_object_get(row, "n_a"));
        long long nb = sm_test_int(json_object_get(row, "n_b"));
        long long ab = sm_test_int(json_object_get(row, "a_not_b"));
        long long ba = sm_test_int(json_object_get(row, "b_not_a"));
        const char *ta = json_string_value(json_object_get(row, "types_a"));
        const char *tb = json_string_value(json_object_get(row, "types_b"));
        bool ok = na == nb && ab == 0 && ba == 0 && ta && tb && strcmp(ta, tb) == 0;
        if (!ok) {
            fprintf(stderr, "%s: rows %lld/%lld, differing %lld/%lld, types\n  %s\n  %s\n", file,
                    na, nb, ab, ba, ta ? ta : "?", tb ? tb : "?");
        }
        CU_ASSERT_TRUE(ok);
    }
    json_decref(rows);
    free(sql);
    sm_test_rmtree(tmp);
    free(tmp);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"footer round trip, all optional fields", test_footer_round_trip_all_optional_fields},
    {"footer round trip, no optional fields", test_footer_round_trip_no_optional_fields},
    {"footer: every truncation is an error", test_footer_every_truncation_is_an_error},
    {"footer: mutations never crash", test_footer_mutations_never_crash},
    {"footer: huge list is refused with its path", test_footer_huge_list_is_refused_with_its_path},
    {"footer: missing required field is named", test_footer_missing_required_field_is_named},
    {"footer: unknown fields are skipped", test_footer_skips_unknown_fields},
    {"encrypted metadata is refused", test_encrypted_metadata_is_refused},
    {"column chunk without meta_data is refused", test_column_chunk_without_meta_data_is_refused},
    {"footer memory is bounded by the input", test_footer_memory_is_bounded_by_input},
    {"writer refuses invalid metadata", test_writer_refuses_invalid_metadata},
    {"page header round trips", test_page_header_round_trips},
    {"page header defaults and checks", test_page_header_defaults_and_checks},
    {"fixture footers and first pages parse", test_fixture_footers_and_first_pages_parse},
    {"fixture documented contents", test_fixture_documented_contents},
    {"DuckDB reads fixtures with our footers", test_duckdb_reads_fixtures_with_our_footers},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("parquet_format", tests)
