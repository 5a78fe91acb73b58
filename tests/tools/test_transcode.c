/* Transcoding of generator records to Avro and Protobuf: the three formats decode to the same
 * values, decode-class faults fail in every format, duplicates are byte-identical, and
 * `smelter produce --to-file` writes Avro/Protobuf.
 *
 * Known differences normalised before comparing rows (schemas/README.md): Protobuf timestamps
 * decode to microsecond columns (google.protobuf.Timestamp → TIMESTAMP_US), rendered with 6
 * fraction digits instead of 3; the producer's values are whole milliseconds, so "…​.123000Z"
 * is compared as "….123Z". Profiles' signup_date is a DATE in JSON/Avro and a string in
 * Protobuf; both render as "YYYY-MM-DD". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/durable.h"
#include "ingest/avro_decode.h"
#include "ingest/avsc.h"
#include "ingest/json_decode.h"
#include "ingest/proto_decode.h"
#include "sm_test.h"
#include "tools/datagen.h"
#include "tools/json_rows.h"
#include "tools/producer.h"
#include "tools/transcode.h"

#define N_RECORDS 3000

static dg_conf conf_for(int dataset, int64_t seed)
{
    dg_conf c = {0};
    c.dataset = dataset;
    c.seed = seed;
    c.customers = 5000;
    c.products = 1000;
    c.bad_ratio = 0.10;
    c.late_ratio = 0.02;
    c.dup_ratio = 0.02;
    c.late_max_ms = 3600000;
    c.max_ooo_ms = 5000;
    c.start_ms = 1767225600000; /* 2026-01-01 */
    c.events_per_sec = 20;
    return c;
}

static const char *src_dir(void)
{
    const char *s = getenv("SMELTER_SOURCE_DIR");
    return s ? s : ".";
}

/* The decoders of one dataset, as the engine will set them up. */
typedef struct decoders {
    sm_arena *arena;
    sm_avsc *avsc;
    sm_json_decoder *json;
    sm_avro_decoder *avro;
    sm_proto_schema *pschema;
    sm_proto_decoder *proto;
    sm_proto_registry *preg;
    sm_column *bj, *ba, *bp; /* batches: json, avro, protobuf */
    char reg[1024];          /* schemas/registry: borrowed by the Avro decoder */
} decoders;

static bool decoders_open(decoders *d, dg_dataset ds)
{
    char path[1024], *reg;
    sm_error err;
    sm_json_opts jo;
    sm_avro_opts ao;

    memset(d, 0, sizeof *d);
    reg = d->reg;
    d->arena = sm_arena_create(0, 0);
    snprintf(path, sizeof path, "%s/schemas/%s.avsc", src_dir(), dg_dataset_name(ds));
    snprintf(reg, sizeof d->reg, "%s/schemas/registry", src_dir());
    if (sm_avsc_load(path, d->arena, &d->avsc, &err) != SM_OK) {
        printf("\n%s\n", err.msg);
        return false;
    }
    sm_json_opts_default(&jo);
    jo.avsc = d->avsc;
    sm_avro_opts_default(&ao);
    ao.framing = SM_AVRO_FRAMING_CONFLUENT;
    ao.registry_dir = reg;
    if (sm_json_decoder_new(d->avsc->root, &jo, &d->json, &err) != SM_OK ||
        sm_avro_decoder_new(d->avsc, &ao, &d->avro, &err) != SM_OK) {
        printf("\n%s\n", err.msg);
        return false;
    }
    snprintf(path, sizeof path, "%s/schemas/%s.desc", src_dir(), dg_dataset_name(ds));
    if (sm_proto_schema_load_file(path, &d->pschema, &err) != SM_OK ||
        sm_proto_decoder_new(d->pschema, tc_proto_message(ds), &d->proto, &err) != SM_OK ||
        sm_proto_registry_open(reg, &d->preg, &err) != SM_OK) {
        printf("\n%s: %s\n", path, err.msg);
        return false;
    }
    d->bj = sm_column_new(d->arena, d->avsc->root, 64);
    d->ba = sm_column_new(d->arena, d->avsc->root, 64);
    d->bp = sm_column_new(d->arena, sm_proto_decoder_schema(d->proto), 64);
    return d->bj && d->ba && d->bp;
}

static void decoders_close(decoders *d)
{
    sm_json_decoder_free(d->json);
    sm_avro_decoder_free(d->avro);
    sm_proto_decoder_free(d->proto);
    sm_proto_schema_free(d->pschema);
    sm_proto_registry_free(d->preg);
    sm_arena_destroy(d->arena);
}

/* Decodes a Confluent-framed Protobuf message: checks the frame names the dataset's message
 * under `schema_id` (through the registry too), then decodes with the .desc decoder. */
static int proto_decode(decoders *d, dg_dataset ds, int32_t schema_id, const uint8_t *msg,
                        size_t len, sm_proto_error *why)
{
    sm_proto_frame f;
    sm_proto_decoder *rd = NULL;
    int rc = sm_proto_frame_parse(msg, len, &f, why);
    if (rc != SM_OK) {
        return rc;
    }
    CU_ASSERT_EQUAL(f.schema_id, (uint32_t)schema_id);
    CU_ASSERT_EQUAL(f.n_indexes, 1);
    CU_ASSERT_EQUAL(f.indexes[0], 0);
    CU_ASSERT_STRING_EQUAL(sm_proto_schema_message_at(d->pschema, f.indexes, f.n_indexes),
                           tc_proto_message(ds));
    CU_ASSERT_EQUAL(sm_proto_registry_decoder(d->preg, &f, &rd, why), SM_OK);
    return sm_proto_decode(d->proto, msg + f.payload_offset, len - f.payload_offset, d->arena,
                           d->bp, why);
}

/* "2026-01-01T00:00:01.123000Z" (µs column) → "2026-01-01T00:00:01.123Z" (ms column). */
static void normalise(json_t *row)
{
    const char *k;
    json_t *v;
    json_object_foreach(row, k, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        size_t n = s ? strlen(s) : 0;
        if (n == 27 && s[10] == 'T' && s[19] == '.' && strcmp(s + 23, "000Z") == 0) {
            char t[32];
            memcpy(t, s, 23);
            memcpy(t + 23, "Z", 2);
            json_object_set_new(row, k, json_string(t));
        }
    }
}

static json_t *row_json(const sm_column *batch, int64_t i)
{
    sm_buf b;
    sm_error err;
    json_t *j;
    sm_buf_init(&b);
    CU_ASSERT_EQUAL_FATAL(json_row_append(batch, i, &b, &err), SM_OK);
    j = json_loadb((const char *)b.data, b.len, 0, NULL);
    sm_buf_free(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    normalise(j);
    return j;
}

static bool is_decode_class(dg_fault f)
{
    return strcmp(dg_fault_class(f), "decode") == 0;
}

/* The reason each decode fault must fail with, per format. */
static void check_avro_reason(dg_fault f, const sm_avro_error *w)
{
    switch (f) {
    case DG_FAULT_WRONG_TYPE:
        CU_ASSERT_EQUAL(w->reason, SM_AVRO_UNKNOWN_SCHEMA);
        break;
    case DG_FAULT_TRUNCATED:
        CU_ASSERT(w->reason == SM_AVRO_TRUNCATED || w->reason == SM_AVRO_LENGTH);
        break;
    case DG_FAULT_MALFORMED:
        CU_ASSERT_EQUAL(w->reason, SM_AVRO_UNION);
        break;
    default:
        CU_ASSERT_EQUAL(w->reason, SM_AVRO_UTF8);
    }
}

static void check_proto_reason(dg_fault f, const sm_proto_error *w)
{
    switch (f) {
    case DG_FAULT_WRONG_TYPE:
        CU_ASSERT_EQUAL(w->reason, SM_PROTO_WRONG_TYPE);
        break;
    case DG_FAULT_TRUNCATED:
        CU_ASSERT(w->reason == SM_PROTO_BAD_LENGTH || w->reason == SM_PROTO_TRUNCATED);
        break;
    case DG_FAULT_MALFORMED:
        CU_ASSERT_EQUAL(w->reason, SM_PROTO_BAD_WIRE_TYPE);
        break;
    default:
        CU_ASSERT_EQUAL(w->reason, SM_PROTO_UTF8);
    }
}

static void run_dataset(dg_dataset ds)
{
    dg_conf c = conf_for(ds, 42 + ds);
    dg_gen *g = NULL;
    tc_encoder *ej = NULL, *ea = NULL, *ep = NULL;
    decoders d;
    sm_error err;
    uint64_t *fa = calloc(N_RECORDS, sizeof *fa), *fp = calloc(N_RECORDS, sizeof *fp);
    int64_t faults[DG_FAULT_COUNT] = {0};
    int32_t id = tc_default_schema_id(ds);

    CU_ASSERT_FATAL(decoders_open(&d, ds));
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_create(ds, TC_JSON, 0, &ej, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_create(ds, TC_AVRO, 0, &ea, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_create(ds, TC_PROTOBUF, 0, &ep, &err), SM_OK);

    for (int i = 0; i < N_RECORDS; i++) {
        dg_record r;
        const uint8_t *pj, *pa, *pp;
        size_t nj, na, np;
        sm_json_error wj;
        sm_avro_error wa;
        sm_proto_error wp;
        int rj, ra, rp;

        dg_next(g, &r);
        faults[r.fault]++;
        CU_ASSERT_EQUAL_FATAL(tc_encode(ej, &r, &pj, &nj, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(tc_encode(ea, &r, &pa, &na, &err), SM_OK);
        CU_ASSERT_EQUAL_FATAL(tc_encode(ep, &r, &pp, &np, &err), SM_OK);
        CU_ASSERT(nj == r.payload_len && memcmp(pj, r.payload, nj) == 0);
        fa[i] = dg_fnv1a64(pa, na);
        fp[i] = dg_fnv1a64(pp, np);
        if (r.fault == DG_FAULT_DUPLICATE) { /* the original's exact bytes */
            CU_ASSERT_EQUAL(fa[i], fa[r.dup_of]);
            CU_ASSERT_EQUAL(fp[i], fp[r.dup_of]);
        }

        rj = sm_json_decode(d.json, pj, nj, d.arena, d.bj, &wj);
        ra = sm_avro_decode(d.avro, pa, na, d.arena, d.ba, &wa);
        rp = proto_decode(&d, ds, id, pp, np, &wp);
        if (is_decode_class(r.fault)) {
            CU_ASSERT_EQUAL(rj, SM_ERR_CORRUPT);
            CU_ASSERT_EQUAL(ra, SM_ERR_CORRUPT);
            CU_ASSERT_EQUAL(rp, SM_ERR_CORRUPT);
            if (ra == SM_ERR_CORRUPT) {
                check_avro_reason(r.fault, &wa);
            }
            if (rp == SM_ERR_CORRUPT) {
                check_proto_reason(r.fault, &wp);
            }
        } else {
            if (rj != SM_OK || ra != SM_OK || rp != SM_OK) {
                printf("\n%s seq %lld (%s): json %s, avro %s, protobuf %s\n", dg_dataset_name(ds),
                       (long long)r.seq, dg_fault_name(r.fault), rj ? wj.msg : "ok",
                       ra ? wa.msg : "ok", rp ? wp.msg : "ok");
            }
            CU_ASSERT_EQUAL_FATAL(rj, SM_OK);
            CU_ASSERT_EQUAL_FATAL(ra, SM_OK);
            CU_ASSERT_EQUAL_FATAL(rp, SM_OK);
        }
        CU_ASSERT_EQUAL_FATAL(d.bj->length, d.ba->length);
        CU_ASSERT_EQUAL_FATAL(d.bj->length, d.bp->length);
    }

    /* every decode fault and the value faults of the dataset occurred */
    CU_ASSERT(faults[DG_FAULT_WRONG_TYPE] > 0 && faults[DG_FAULT_TRUNCATED] > 0 &&
              faults[DG_FAULT_MALFORMED] > 0 && faults[DG_FAULT_INVALID_UTF8] > 0);
    CU_ASSERT(faults[DG_FAULT_NULL_ID] > 0 && faults[DG_FAULT_EMPTY_ID] > 0);
    CU_ASSERT(faults[DG_FAULT_DUPLICATE] > 0 && faults[DG_FAULT_LATE] > 0);
    CU_ASSERT(d.bj->length > N_RECORDS * 8 / 10);

    /* column by column, row by row: the same values in every format */
    for (int64_t i = 0; i < d.bj->length; i++) {
        json_t *j = row_json(d.bj, i), *a = row_json(d.ba, i), *p = row_json(d.bp, i);
        if (!json_equal(j, a) || !json_equal(j, p)) {
            char *sj = json_dumps(j, 0), *sa = json_dumps(a, 0), *sp = json_dumps(p, 0);
            printf("\nrow %lld differs:\n json %s\n avro %s\n  pb  %s\n", (long long)i, sj, sa, sp);
            free(sj), free(sa), free(sp);
            CU_FAIL("rows differ across formats");
            i = d.bj->length; /* one is enough */
        }
        json_decref(j), json_decref(a), json_decref(p);
    }

    tc_destroy(ej), tc_destroy(ea), tc_destroy(ep);
    dg_destroy(g);
    decoders_close(&d);
    free(fa), free(fp);
}

static void test_transcode_orders_decode_alike_in_all_formats(void)
{
    run_dataset(DG_ORDERS);
}

static void test_transcode_activity_decode_alike_in_all_formats(void)
{
    run_dataset(DG_ACTIVITY);
}

static void test_transcode_profiles_decode_alike_in_all_formats(void)
{
    run_dataset(DG_PROFILES);
}

/* The compiled-in schemas are the files of schemas/ and schemas/registry. */
static void test_transcode_compiled_schemas_match_the_files(void)
{
    for (int ds = DG_ORDERS; ds <= DG_PROFILES; ds++) {
        char path[1024], *text = NULL;
        size_t len = 0;
        sm_error err;
        const char *want = tc_avsc_text((dg_dataset)ds);
        snprintf(path, sizeof path, "%s/schemas/%s.avsc", src_dir(), dg_dataset_name(ds));
        CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 20, &text, &len, &err), SM_OK);
        CU_ASSERT(len == strlen(want) && memcmp(text, want, len) == 0);
        free(text);
        snprintf(path, sizeof path, "%s/schemas/registry/%d.avsc", src_dir(),
                 tc_default_schema_id((dg_dataset)ds));
        CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 20, &text, &len, &err), SM_OK);
        CU_ASSERT(len == strlen(want) && memcmp(text, want, len) == 0);
        free(text);
    }
}

/* --schema-id lands in the frame; wrong_type goes under the never-registered id. */
static void test_transcode_frames_carry_the_schema_id(void)
{
    dg_conf c = conf_for(DG_ORDERS, 5);
    dg_gen *g;
    tc_encoder *ea, *ep;
    sm_error err;
    int seen_wrong = 0;
    c.bad_ratio = 0.5;
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_create(DG_ORDERS, TC_AVRO, 42, &ea, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(tc_create(DG_ORDERS, TC_PROTOBUF, 42, &ep, &err), SM_OK);
    for (int i = 0; i < 500; i++) {
        dg_record r;
        const uint8_t *p;
        size_t n;
        dg_next(g, &r);
        CU_ASSERT_EQUAL_FATAL(tc_encode(ea, &r, &p, &n, &err), SM_OK);
        CU_ASSERT_FATAL(n >= 5);
        CU_ASSERT_EQUAL(p[0], 0);
        if (r.fault == DG_FAULT_WRONG_TYPE) {
            seen_wrong++;
            CU_ASSERT(p[1] == 0 && p[2] == 0 && p[3] == 999 >> 8 && p[4] == (999 & 255));
        } else {
            CU_ASSERT(p[1] == 0 && p[2] == 0 && p[3] == 0 && p[4] == 42);
        }
        CU_ASSERT_EQUAL_FATAL(tc_encode(ep, &r, &p, &n, &err), SM_OK);
        CU_ASSERT_FATAL(n >= 6);
        CU_ASSERT(p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0 && p[4] == 42 && p[5] == 0);
    }
    CU_ASSERT(seen_wrong > 0);
    tc_destroy(ea), tc_destroy(ep);
    dg_destroy(g);
}

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Runs prod_run --to-file with `format` and decodes every line of the file. */
static void to_file_roundtrip(prod_format format)
{
    char *dir = sm_test_tmpdir("transcode");
    char path[1024], line[8192];
    prod_conf pc = {0};
    prod_report rep;
    sm_error err;
    decoders d;
    FILE *f;
    int lines = 0, failed = 0, ok = 0;
    dg_gen *g;
    dg_conf c = conf_for(DG_ACTIVITY, 9);

    snprintf(path, sizeof path, "%s/out.txt", dir);
    pc.gen = c;
    pc.format = format;
    pc.count = 400;
    pc.to_file = path;
    CU_ASSERT_EQUAL_FATAL(prod_run(&pc, NULL, &rep, &err), SM_OK);
    CU_ASSERT_EQUAL(rep.produced, 400);
    CU_ASSERT_FATAL(decoders_open(&d, DG_ACTIVITY));
    CU_ASSERT_EQUAL_FATAL(dg_create(&c, &g, NULL), SM_OK);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof line, f)) {
        dg_record r;
        uint8_t msg[4096];
        size_t n = 0;
        char *tab = strchr(line, '\t');
        int rc;
        dg_next(g, &r); /* the same stream, for the fault and the key */
        CU_ASSERT_PTR_NOT_NULL_FATAL(tab);
        CU_ASSERT(tab - line == (long)r.key_len && memcmp(line, r.key, r.key_len) == 0);
        for (char *h = tab + 1; hexval(h[0]) >= 0 && hexval(h[1]) >= 0 && n < sizeof msg; h += 2) {
            msg[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        }
        if (format == PROD_FORMAT_AVRO) {
            rc = sm_avro_decode(d.avro, msg, n, d.arena, d.ba, NULL);
        } else {
            sm_proto_error why;
            rc = proto_decode(&d, DG_ACTIVITY, 2, msg, n, &why);
        }
        CU_ASSERT_EQUAL(rc, is_decode_class(r.fault) ? SM_ERR_CORRUPT : SM_OK);
        rc == SM_OK ? ok++ : failed++;
        lines++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(lines, 400);
    CU_ASSERT(failed > 0 && ok > failed);
    dg_destroy(g);
    decoders_close(&d);
    sm_test_rmtree(dir);
    free(dir);
}

static void test_transcode_produce_to_file_writes_avro(void)
{
    to_file_roundtrip(PROD_FORMAT_AVRO);
}

static void test_transcode_produce_to_file_writes_protobuf(void)
{
    to_file_roundtrip(PROD_FORMAT_PROTOBUF);
}

/* The CLI: --format avro --to-file writes hex lines that decode. */
static void test_transcode_cli_produce_format_avro(void)
{
    const char *bin = getenv("SMELTER_BIN");
    char *dir = sm_test_tmpdir("transcode-cli");
    char cmd[2048], path[1024];
    char *text = NULL;
    size_t len = 0;
    sm_error err;
    int nl = 0;
    if (!bin) {
        CU_FAIL("SMELTER_BIN is not set");
        free(dir);
        return;
    }
    snprintf(path, sizeof path, "%s/o.txt", dir);
    snprintf(cmd, sizeof cmd,
             "%s produce -d profiles --format avro -n 50 --seed 3 --bad-ratio 0.1 "
             "--to-file %s --report json >/dev/null",
             bin, path);
    CU_ASSERT_EQUAL(system(cmd), 0);
    CU_ASSERT_EQUAL_FATAL(sm_read_file(path, 1 << 24, &text, &len, &err), SM_OK);
    for (size_t i = 0; i < len; i++) {
        nl += text[i] == '\n';
    }
    CU_ASSERT_EQUAL(nl, 50);
    CU_ASSERT(len > 20 && strstr(text, "\t0000000003") != NULL); /* magic 0, schema id 3 */
    free(text);
    sm_test_rmtree(dir);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"orders decode alike in json, avro and protobuf",
     test_transcode_orders_decode_alike_in_all_formats},
    {"activity decodes alike in json, avro and protobuf",
     test_transcode_activity_decode_alike_in_all_formats},
    {"profiles decode alike in json, avro and protobuf",
     test_transcode_profiles_decode_alike_in_all_formats},
    {"compiled-in schemas match schemas/ and the registry",
     test_transcode_compiled_schemas_match_the_files},
    {"frames carry the schema id", test_transcode_frames_carry_the_schema_id},
    {"produce --to-file writes avro", test_transcode_produce_to_file_writes_avro},
    {"produce --to-file writes protobuf", test_transcode_produce_to_file_writes_protobuf},
    {"smelter produce --format avro --to-file", test_transcode_cli_produce_format_avro},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("transcode", tests)
