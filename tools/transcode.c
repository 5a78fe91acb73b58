/*
 * Transcoding of generator records to Avro and Protobuf (see transcode.h).
 *
 * The JSON payload is parsed with jansson (this is the producer, not the ingestion hot path)
 * and each top-level field of the .avsc is written in order: Avro straight from the sm_field
 * tree, Protobuf with field number = position + 1. Only the types the three datasets use are
 * supported (string, int, long, double, boolean, timestamp-millis, date, nullable unions);
 * tc_create refuses anything else.
 *
 * Decode faults are applied to the encoding, never by guesswork on the JSON text: while a
 * record is written the encoder remembers where fields start and where the contents of
 * length-delimited fields lie, and the fault cuts or patches there.
 */
#include "tools/transcode.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "ingest/avsc.h"

/* ---- the schemas, as in schemas/<dataset>.avsc
 * ------------------------------------------------------ */

static const char orders_avsc[] =
    "{\n"
    "  \"type\": \"record\",\n"
    "  \"name\": \"Order\",\n"
    "  \"namespace\": \"smelter.ecommerce\",\n"
    "  \"doc\": \"One order of the `orders` dataset of `smelter produce` (tools/datagen.c). Every "
    "message is keyed by customer_id.\",\n"
    "  \"fields\": [\n"
    "    {\"name\": \"order_id\", \"type\": [\"null\", \"string\"], \"default\": null,\n"
    "     \"doc\": \"o-<16 hex digits>, unique per order; null in the producer's bad-value faults, "
    "which silver's valid_order_id rule quarantines\"},\n"
    "    {\"name\": \"customer_id\", \"type\": \"string\", \"doc\": \"C0000001 .. ; also the "
    "message key\"},\n"
    "    {\"name\": \"product_id\", \"type\": \"string\", \"doc\": \"P00001 ..\"},\n"
    "    {\"name\": \"category\", \"type\": \"string\"},\n"
    "    {\"name\": \"quantity\", \"type\": \"int\", \"doc\": \"items ordered, 1 .. 10 in good "
    "records\"},\n"
    "    {\"name\": \"price\", \"type\": \"double\", \"doc\": \"unit price in the shop's currency, "
    "two decimals\"},\n"
    "    {\"name\": \"order_ts\", \"type\": {\"type\": \"long\", \"logicalType\": "
    "\"timestamp-millis\"},\n"
    "     \"doc\": \"event time; ISO-8601 text in the JSON payloads\"},\n"
    "    {\"name\": \"status\", \"type\": \"string\", \"doc\": \"placed | paid | shipped | "
    "cancelled | returned\"},\n"
    "    {\"name\": \"device\", \"type\": \"string\", \"doc\": \"mobile | desktop | tablet\"},\n"
    "    {\"name\": \"country\", \"type\": \"string\", \"doc\": \"ISO 3166-1 alpha-2\"},\n"
    "    {\"name\": \"coupon\", \"type\": [\"null\", \"string\"], \"default\": null, \"doc\": "
    "\"null for most orders\"}\n"
    "  ]\n"
    "}\n";

static const char activity_avsc[] =
    "{\n"
    "  \"type\": \"record\",\n"
    "  \"name\": \"Activity\",\n"
    "  \"namespace\": \"smelter.ecommerce\",\n"
    "  \"doc\": \"One clickstream event of the `activity` dataset of `smelter produce` "
    "(tools/datagen.c): page views, searches, cart adds and removals, purchases, grouped in "
    "sessions. Every message is keyed by customer_id.\",\n"
    "  \"fields\": [\n"
    "    {\"name\": \"event_id\", \"type\": [\"null\", \"string\"], \"default\": null,\n"
    "     \"doc\": \"e-<16 hex digits>, unique per event; null or blank in the producer's "
    "bad-value faults\"},\n"
    "    {\"name\": \"session_id\", \"type\": \"string\", \"doc\": \"s-<16 hex digits>, one per "
    "visit\"},\n"
    "    {\"name\": \"customer_id\", \"type\": \"string\", \"doc\": \"C0000001 .. ; also the "
    "message key\"},\n"
    "    {\"name\": \"event_type\", \"type\": \"string\",\n"
    "     \"doc\": \"page_view | search | add_to_cart | remove_from_cart | purchase\"},\n"
    "    {\"name\": \"page\", \"type\": \"string\", \"doc\": \"/product/<product_id>, "
    "/search?q=.., /cart, /checkout\"},\n"
    "    {\"name\": \"product_id\", \"type\": [\"null\", \"string\"], \"default\": null,\n"
    "     \"doc\": \"P00001 ..; null for searches and purchases\"},\n"
    "    {\"name\": \"device\", \"type\": \"string\", \"doc\": \"mobile | desktop | tablet\"},\n"
    "    {\"name\": \"duration_ms\", \"type\": \"long\",\n"
    "     \"doc\": \"time spent on the page in milliseconds; negative in the producer's bad-value "
    "faults\"},\n"
    "    {\"name\": \"event_ts\", \"type\": {\"type\": \"long\", \"logicalType\": "
    "\"timestamp-millis\"},\n"
    "     \"doc\": \"event time; ISO-8601 text in the JSON payloads\"}\n"
    "  ]\n"
    "}\n";

static const char profiles_avsc[] =
    "{\n"
    "  \"type\": \"record\",\n"
    "  \"name\": \"Profile\",\n"
    "  \"namespace\": \"smelter.ecommerce\",\n"
    "  \"doc\": \"One customer profile update of the `profiles` dataset of `smelter produce` "
    "(tools/datagen.c); the latest per customer_id is the customer's state. Every message is keyed "
    "by customer_id.\",\n"
    "  \"fields\": [\n"
    "    {\"name\": \"customer_id\", \"type\": [\"null\", \"string\"], \"default\": null,\n"
    "     \"doc\": \"C0000001 .. ; null or blank in the producer's bad-value faults (the message "
    "key stays the customer)\"},\n"
    "    {\"name\": \"first_name\", \"type\": \"string\"},\n"
    "    {\"name\": \"last_name\", \"type\": \"string\"},\n"
    "    {\"name\": \"email\", \"type\": \"string\", \"doc\": \"<customer_id in lower "
    "case>@example.com\"},\n"
    "    {\"name\": \"age\", \"type\": \"int\", \"doc\": \"18 .. 79 in good records; negative in "
    "bad-value faults\"},\n"
    "    {\"name\": \"gender\", \"type\": \"string\", \"doc\": \"female | male | nonbinary | "
    "undisclosed\"},\n"
    "    {\"name\": \"country\", \"type\": \"string\", \"doc\": \"ISO 3166-1 alpha-2\"},\n"
    "    {\"name\": \"city\", \"type\": \"string\"},\n"
    "    {\"name\": \"signup_date\", \"type\": {\"type\": \"int\", \"logicalType\": \"date\"},\n"
    "     \"doc\": \"day of sign-up; YYYY-MM-DD text in the JSON payloads\"},\n"
    "    {\"name\": \"loyalty_tier\", \"type\": \"string\", \"doc\": \"bronze | silver | gold | "
    "platinum\"},\n"
    "    {\"name\": \"marketing_opt_in\", \"type\": \"boolean\"},\n"
    "    {\"name\": \"updated_ts\", \"type\": {\"type\": \"long\", \"logicalType\": "
    "\"timestamp-millis\"},\n"
    "     \"doc\": \"event time of the update; ISO-8601 text in the JSON payloads\"}\n"
    "  ]\n"
    "}\n";

#define MAX_MARKS 64

/* A length-delimited Protobuf field's contents: [start, start + len) of the output. */
typedef struct span {
    size_t start, len;
} span;

struct tc_encoder {
    dg_dataset dataset;
    tc_format format;
    int32_t schema_id;
    sm_arena *arena;
    sm_avsc *avsc;
    sm_buf out;
    bool lenient; /* wrong_type: a mismatched value is written wrongly instead of refused */
    /* marks of the record being written */
    int n_bounds; /* offsets where a top-level field starts (and the end) */
    size_t bounds[MAX_MARKS];
    int n_spans; /* Protobuf: contents of length-delimited fields with at least one byte */
    span spans[MAX_MARKS];
    size_t union_off; /* Avro: offset of the first union branch index; 0 if none */
};

int32_t tc_default_schema_id(dg_dataset dataset)
{
    return (int32_t)dataset + 1;
}

const char *tc_avsc_text(dg_dataset dataset)
{
    switch (dataset) {
    case DG_ORDERS:
        return orders_avsc;
    case DG_ACTIVITY:
        return activity_avsc;
    case DG_PROFILES:
        return profiles_avsc;
    }
    return NULL;
}

const char *tc_proto_message(dg_dataset dataset)
{
    switch (dataset) {
    case DG_ORDERS:
        return "smelter.ecommerce.Order";
    case DG_ACTIVITY:
        return "smelter.ecommerce.Activity";
    case DG_PROFILES:
        return "smelter.ecommerce.Profile";
    }
    return NULL;
}

const char *tc_format_name(tc_format f)
{
    static const char *const names[] = {"json", "avro", "protobuf"};
    return (unsigned)f <= TC_PROTOBUF ? names[f] : "unknown";
}

int tc_create(dg_dataset dataset, tc_format format, int32_t schema_id, tc_encoder **out,
              sm_error *err)
{
    tc_encoder *e;
    const char *text = tc_avsc_text(dataset);

    *out = NULL;
    if (!text) {
        return sm_error_set(err, SM_ERR_USAGE, "transcode: unknown dataset %d", (int)dataset);
    }
    if ((unsigned)format > TC_PROTOBUF) {
        return sm_error_set(err, SM_ERR_USAGE, "transcode: unknown format %d", (int)format);
    }
    if (!(e = calloc(1, sizeof *e)) || !(e->arena = sm_arena_create(0, 0))) {
        free(e);
        return sm_error_set(err, SM_ERR_NOMEM, "transcode: out of memory");
    }
    e->dataset = dataset;
    e->format = format;
    e->schema_id = schema_id > 0 ? schema_id : tc_default_schema_id(dataset);
    sm_buf_init(&e->out);
    if (sm_avsc_parse(text, strlen(text), dg_dataset_name(dataset), e->arena, &e->avsc, err) !=
        SM_OK) {
        goto fail;
    }
    if (e->avsc->root->n_children + 1 > MAX_MARKS) {
        sm_error_set(err, SM_ERR_USAGE, "transcode: %s has too many fields",
                     dg_dataset_name(dataset));
        goto fail;
    }
    for (int i = 0; i < e->avsc->root->n_children; i++) {
        const sm_field *f = e->avsc->root->children[i];
        switch (f->type) {
        case SM_STRING:
        case SM_INT32:
        case SM_INT64:
        case SM_DOUBLE:
        case SM_BOOL:
        case SM_TIMESTAMP_MS:
        case SM_DATE:
            break;
        default:
            sm_error_set(err, SM_ERR_USAGE, "transcode: %s.%s: type %s is not supported",
                         dg_dataset_name(dataset), f->name, sm_type_name(f->type));
            goto fail;
        }
    }
    *out = e;
    return SM_OK;
fail:
    tc_destroy(e);
    return err ? (int)err->code : SM_ERR_USAGE;
}

void tc_destroy(tc_encoder *e)
{
    if (e) {
        sm_buf_free(&e->out);
        sm_arena_destroy(e->arena);
        free(e);
    }
}

/* ---- primitive writers (sticky: the first failure is remembered by the caller's rc) -------- */

static int put_byte(tc_encoder *e, uint8_t b)
{
    return sm_buf_append_byte(&e->out, b, NULL);
}

static int put_bytes(tc_encoder *e, const void *p, size_t n)
{
    return sm_buf_append(&e->out, p, n, NULL);
}

static int put_varint(tc_encoder *e, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return put_bytes(e, tmp, (size_t)n);
}

static int put_zigzag(tc_encoder *e, int64_t v)
{
    return put_varint(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static int put_f64le(tc_encoder *e, double d)
{
    uint64_t u;
    uint8_t b[8];
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(u >> (8 * i));
    }
    return put_bytes(e, b, 8);
}

static int put_header(tc_encoder *e, int32_t id)
{
    uint8_t h[5] = {0, (uint8_t)((uint32_t)id >> 24), (uint8_t)((uint32_t)id >> 16),
                    (uint8_t)((uint32_t)id >> 8), (uint8_t)id};
    return put_bytes(e, h, 5);
}

/* ---- values ------------------------------------------------------------------------------ */

/* A JSON value converted to what the column type holds; false when it does not fit. */
typedef struct value {
    int64_t i;
    double d;
    const char *s;
    size_t n;
} value;

static bool convert(const sm_field *f, const json_t *v, value *out)
{
    memset(out, 0, sizeof *out);
    switch (f->type) {
    case SM_STRING:
        if (!json_is_string(v)) {
            return false;
        }
        out->s = json_string_value(v);
        out->n = json_string_length(v);
        return true;
    case SM_INT32:
    case SM_INT64:
        if (!json_is_integer(v)) {
            return false;
        }
        out->i = (int64_t)json_integer_value(v);
        return f->type == SM_INT64 || (out->i >= INT32_MIN && out->i <= INT32_MAX);
    case SM_DOUBLE:
        if (!json_is_number(v)) {
            return false;
        }
        out->d = json_number_value(v);
        return true;
    case SM_BOOL:
        if (!json_is_boolean(v)) {
            return false;
        }
        out->i = json_is_true(v);
        return true;
    case SM_TIMESTAMP_MS:
        if (json_is_integer(v)) {
            out->i = (int64_t)json_integer_value(v);
            return true;
        }
        return json_is_string(v) &&
               sm_parse_iso8601_ms(json_string_value(v), json_string_length(v), &out->i) == 0;
    case SM_DATE: {
        const char *s;
        if (!json_is_string(v) || json_string_length(v) != 10) {
            return false;
        }
        s = json_string_value(v);
        for (int k = 0; k < 10; k++) {
            if ((k == 4 || k == 7) ? s[k] != '-' : (s[k] < '0' || s[k] > '9')) {
                return false;
            }
        }
        out->s = s;
        out->n = 10;
        out->i = sm_days_from_civil(atoi(s), (unsigned)atoi(s + 5), (unsigned)atoi(s + 8));
        return true;
    }
    default:
        return false;
    }
}

/* ---- Avro ---------------------------------------------------------------------------------- */

static int avro_value(tc_encoder *e, const sm_field *f, const value *v)
{
    switch (f->type) {
    case SM_STRING:
        return put_zigzag(e, (int64_t)v->n) || put_bytes(e, v->s, v->n);
    case SM_DOUBLE:
        return put_f64le(e, v->d);
    case SM_BOOL:
        return put_byte(e, (uint8_t)(v->i != 0));
    default: /* int, long, timestamp-millis, date */
        return put_zigzag(e, v->i);
    }
}

static int avro_record(tc_encoder *e, const json_t *obj, sm_error *err)
{
    const sm_field *root = e->avsc->root;
    for (int i = 0; i < root->n_children; i++) {
        const sm_field *f = root->children[i];
        const json_t *v = json_object_get(obj, f->name);
        bool null = !v || json_is_null(v);
        value val;
        int rc = 0;

        e->bounds[e->n_bounds++] = e->out.len;
        if (f->nullable && !e->union_off) {
            e->union_off = e->out.len;
        }
        if (null && f->nullable) {
            rc = put_byte(e, 0); /* branch 0: "null" */
        } else if ((!null && convert(f, v, &val)) || e->lenient) {
            if (null || !convert(f, v, &val)) { /* lenient (wrong_type): the type's zero */
                memset(&val, 0, sizeof val);
                val.s = "";
            }
            if (f->nullable) {
                rc = put_byte(e, 2); /* branch 1 */
            }
            rc = rc || avro_value(e, f, &val);
        } else {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "transcode %s: field '%s' does not hold a %s value",
                                dg_dataset_name(e->dataset), f->name, sm_type_name(f->type));
        }
        if (rc) {
            return sm_error_set(err, SM_ERR_NOMEM, "transcode: out of memory");
        }
    }
    e->bounds[e->n_bounds++] = e->out.len;
    return SM_OK;
}

/* ---- Protobuf ------------------------------------------------------------------------------ */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

static int pb_tag(tc_encoder *e, int number, int wt)
{
    return put_varint(e, ((uint64_t)number << 3) | (uint64_t)wt);
}

/* Length-delimited field with contents p[0..n); remembers the contents for truncation. */
static int pb_len(tc_encoder *e, int number, const void *p, size_t n)
{
    if (pb_tag(e, number, WT_LEN) || put_varint(e, n)) {
        return SM_ERR_NOMEM;
    }
    if (n > 0 && e->n_spans < MAX_MARKS) {
        e->spans[e->n_spans].start = e->out.len;
        e->spans[e->n_spans].len = n;
        e->n_spans++;
    }
    return put_bytes(e, p, n);
}

/* google.protobuf.Timestamp {int64 seconds = 1; int32 nanos = 2;} from epoch milliseconds. */
static int pb_timestamp(tc_encoder *e, int number, int64_t ms)
{
    int64_t sec = ms / 1000, rem = ms % 1000;
    uint64_t nanos;
    uint8_t tmp[32];
    size_t n = 0;
    if (rem < 0) {
        sec--;
        rem += 1000;
    }
    nanos = (uint64_t)(rem * 1000000);
    if (sec != 0) {
        uint64_t v = (uint64_t)sec;
        tmp[n++] = 1 << 3 | WT_VARINT;
        while (v >= 0x80) {
            tmp[n++] = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        tmp[n++] = (uint8_t)v;
    }
    if (nanos != 0) {
        tmp[n++] = 2 << 3 | WT_VARINT;
        while (nanos >= 0x80) {
            tmp[n++] = (uint8_t)(nanos | 0x80);
            nanos >>= 7;
        }
        tmp[n++] = (uint8_t)nanos;
    }
    return pb_len(e, number, tmp, n);
}

/* A value whose JSON does not fit the field (wrong_type faults): written with a wire type the
 * field does not have — its JSON text as bytes for scalar fields, a varint for the others. */
static int pb_wrong(tc_encoder *e, int number, const sm_field *f, const json_t *v)
{
    if (f->type == SM_STRING || f->type == SM_TIMESTAMP_MS || f->type == SM_DATE) {
        return pb_tag(e, number, WT_VARINT) || put_varint(e, 0);
    } else {
        char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        int rc = pb_len(e, number, text ? text : "null", text ? strlen(text) : 4);
        free(text);
        return rc;
    }
}

static int pb_value(tc_encoder *e, int number, const sm_field *f, const value *v)
{
    bool implicit = !f->nullable; /* proto3 implicit presence: defaults are not written */
    switch (f->type) {
    case SM_STRING:
        return implicit && v->n == 0 ? 0 : pb_len(e, number, v->s, v->n);
    case SM_DATE: /* a string "YYYY-MM-DD" in the .proto: Protobuf has no date type */
        return pb_len(e, number, v->s, v->n);
    case SM_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        if (implicit && bits == 0) {
            return 0;
        }
        return pb_tag(e, number, WT_I64) || put_f64le(e, v->d);
    }
    case SM_TIMESTAMP_MS:
        return pb_timestamp(e, number, v->i);
    default: /* int32 (negative: sign-extended to 10 bytes, as protoc), int64, bool */
        if (implicit && v->i == 0) {
            return 0;
        }
        return pb_tag(e, number, WT_VARINT) || put_varint(e, (uint64_t)v->i);
    }
}

static int pb_record(tc_encoder *e, const json_t *obj, sm_error *err)
{
    const sm_field *root = e->avsc->root;
    for (int i = 0; i < root->n_children; i++) {
        const sm_field *f = root->children[i];
        const json_t *v = json_object_get(obj, f->name);
        value val;
        int rc = 0;

        e->bounds[e->n_bounds++] = e->out.len;
        if ((!v || json_is_null(v)) && f->nullable) {
            continue; /* optional field: absent is null */
        }
        if (v && !json_is_null(v) && convert(f, v, &val)) {
            rc = pb_value(e, i + 1, f, &val);
        } else if (e->lenient) {
            rc = pb_wrong(e, i + 1, f, v);
        } else {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "transcode %s: field '%s' does not hold a %s value",
                                dg_dataset_name(e->dataset), f->name, sm_type_name(f->type));
        }
        if (rc) {
            return sm_error_set(err, SM_ERR_NOMEM, "transcode: out of memory");
        }
    }
    e->bounds[e->n_bounds++] = e->out.len;
    return SM_OK;
}

/* ---- faults -------------------------------------------------------------------------------- */

/* Replaces the first non-empty required string field's value with itself plus an invalid UTF-8
 * sequence in the middle; the sequences are the generator's. */
static int break_utf8(json_t *obj, const sm_field *root, uint64_t h, sm_error *err)
{
    static const char *const bad[] = {"\xff",     "\xc3\x28",     "\x80",
                                      "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80"};
    const char *seq = bad[h % 6];
    for (int i = 0; i < root->n_children; i++) {
        const sm_field *f = root->children[i];
        json_t *v = json_object_get(obj, f->name);
        if (f->type == SM_STRING && !f->nullable && json_is_string(v) &&
            json_string_length(v) > 0) {
            size_t n = json_string_length(v), k = n / 2, m = strlen(seq);
            char tmp[512];
            if (n + m > sizeof tmp) {
                continue;
            }
            memcpy(tmp, json_string_value(v), k);
            memcpy(tmp + k, seq, m);
            memcpy(tmp + k + m, json_string_value(v) + k, n - k);
            json_object_set_new(obj, f->name, json_stringn_nocheck(tmp, n + m));
            return SM_OK;
        }
    }
    return sm_error_set(err, SM_ERR_CORRUPT, "transcode: no string field to break");
}

/* Applies truncated / malformed to the finished encoding; header bytes come first. */
static int break_encoding(tc_encoder *e, dg_fault fault, size_t header, uint64_t h, sm_error *err)
{
    sm_buf *o = &e->out;
    if (fault == DG_FAULT_TRUNCATED) {
        if (e->format == TC_AVRO) {
            /* any cut inside the body: the reader needs the bytes it walked to read them */
            o->len = header + (size_t)(h % (o->len - header));
        } else {
            /* inside the contents of a length-delimited field: its length then runs past the
             * end (bad_length); a cut between fields would leave a valid message */
            const span *s;
            if (e->n_spans == 0) {
                return sm_error_set(err, SM_ERR_CORRUPT, "transcode: nothing to truncate");
            }
            s = &e->spans[h % (uint64_t)e->n_spans];
            o->len = s->start + (size_t)((h >> 16) % s->len);
        }
        return SM_OK;
    }
    /* malformed */
    if (e->format == TC_AVRO) {
        if (!e->union_off) {
            return sm_error_set(err, SM_ERR_CORRUPT, "transcode: no union to break");
        }
        o->data[e->union_off] = (uint8_t)(h & 1 ? 4 : 6); /* branch 2 or 3 of a 2-branch union */
    } else {
        /* field 1..15 with wire type 6 or 7 (no such types), at a field boundary */
        size_t at = e->bounds[h % (uint64_t)e->n_bounds];
        uint8_t tag = (uint8_t)((1 + (h >> 8) % 15) << 3 | (h & 1 ? 7 : 6));
        if (sm_buf_append_byte(o, 0, NULL)) {
            return sm_error_set(err, SM_ERR_NOMEM, "transcode: out of memory");
        }
        memmove(o->data + at + 1, o->data + at, o->len - 1 - at);
        o->data[at] = tag;
    }
    return SM_OK;
}

int tc_encode(tc_encoder *e, const dg_record *r, const uint8_t **out, size_t *len, sm_error *err)
{
    dg_fault fault = r->fault;
    const char *text = r->clean ? r->clean : r->payload;
    size_t text_len = r->clean ? r->clean_len : r->payload_len;
    json_t *obj;
    json_error_t jerr;
    uint64_t h;
    size_t header;
    int rc;

    if (e->format == TC_JSON) {
        *out = (const uint8_t *)r->payload;
        *len = r->payload_len;
        return SM_OK;
    }
    if (fault == DG_FAULT_WRONG_TYPE) {
        text = r->payload, text_len = r->payload_len; /* valid JSON with a wrongly typed value */
    }
    obj = json_loadb(text, text_len, JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return sm_error_set(err, SM_ERR_CORRUPT, "transcode %s: record %lld is not JSON: %s",
                            dg_dataset_name(e->dataset), (long long)r->seq, jerr.text);
    }
    /* every choice a fault makes is a function of the record's bytes: deterministic per seed */
    h = dg_fnv1a64(text, text_len) ^ (uint64_t)r->seq * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    if (fault == DG_FAULT_INVALID_UTF8 && (rc = break_utf8(obj, e->avsc->root, h, err)) != SM_OK) {
        json_decref(obj);
        return rc;
    }
    sm_buf_reset(&e->out);
    e->n_bounds = e->n_spans = 0;
    e->union_off = 0;
    e->lenient = fault == DG_FAULT_WRONG_TYPE;
    if (e->format == TC_AVRO) {
        rc = put_header(e, e->lenient ? TC_AVRO_UNKNOWN_SCHEMA_ID : e->schema_id) ? SM_ERR_NOMEM
                                                                                  : SM_OK;
        header = 5;
        rc = rc ? sm_error_set(err, rc, "transcode: out of memory") : avro_record(e, obj, err);
    } else {
        rc = put_header(e, e->schema_id) || put_byte(e, 0) ? SM_ERR_NOMEM : SM_OK;
        header = 6;
        rc = rc ? sm_error_set(err, rc, "transcode: out of memory") : pb_record(e, obj, err);
    }
    json_decref(obj);
    if (rc == SM_OK && (fault == DG_FAULT_TRUNCATED || fault == DG_FAULT_MALFORMED)) {
        rc = break_encoding(e, fault, header, h, err);
    }
    if (rc != SM_OK) {
        return rc;
    }
    *out = e->out.data;
    *len = e->out.len;
    return SM_OK;
}
