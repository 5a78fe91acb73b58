/*
 * ingest/avsc.c: Avro schemas as table schemas.
 *
 * Each accepted schema is checked node by node (type, nullability, names, widths, decimal
 * precision and scale, what sm_avsc_info keeps); each refused one by the error, which must name
 * the origin and the JSON path of the bad node. Schemas are written in the tests as Avro text,
 * the way users write them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ingest/avsc.h"
#include "ingest/json_decode.h"
#include "storage/column.h"
#include "sm_test.h"

static sm_arena *arena;

static sm_avsc *parse(const char *text)
{
    sm_avsc *s = NULL;
    sm_error err;
    if (sm_avsc_parse(text, strlen(text), "t.avsc", arena, &s, &err) != SM_OK) {
        fprintf(stderr, "\nparse failed: %s\n  schema: %s\n", err.msg, text);
        return NULL;
    }
    return s;
}

/* A one-field record around `type`: the field "v". */
static const sm_field *field_of(const char *type)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"v\",\"type\":%s}]}",
             type);
    sm_avsc *s = parse(buf);
    return s ? s->root->children[0] : NULL;
}

static const sm_field *child(const sm_field *f, const char *name)
{
    for (int i = 0; f && i < f->n_children; i++) {
        if (strcmp(f->children[i]->name, name) == 0) {
            return f->children[i];
        }
    }
    return NULL;
}

static void expect_type(const char *type, sm_type want, bool nullable)
{
    const sm_field *f = field_of(type);
    if (!f || f->type != want || f->nullable != nullable) {
        fprintf(stderr, "\n%s: want %s%s, got %s%s\n", type, sm_type_name(want),
                nullable ? " nullable" : "", f ? sm_type_name(f->type) : "(none)",
                f && f->nullable ? " nullable" : "");
        CU_FAIL("type mapping");
    }
}

static void expect_error(const char *text, const char *sub)
{
    sm_avsc *s = (sm_avsc *)1;
    sm_error err;
    int rc = sm_avsc_parse(text, strlen(text), "t.avsc", arena, &s, &err);
    if (rc == SM_OK || s != NULL || !strstr(err.msg, sub)) {
        fprintf(stderr, "\nschema %s\n  want error containing: %s\n  got: %s\n", text, sub,
                rc == SM_OK ? "(accepted)" : err.msg);
        CU_FAIL("error differs");
    } else {
        CU_ASSERT_EQUAL(rc, SM_ERR_USAGE);
        CU_ASSERT(strncmp(err.msg, "t.avsc", 6) == 0);
    }
}

#define REC(fields)   "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"
#define F(name, type) "{\"name\":\"" name "\",\"type\":" type "}"

/* ---- accepted ----------------------------------------------------------------------------- */

static void test_avsc_primitives_and_logical_types(void)
{
    expect_type("\"boolean\"", SM_BOOL, false);
    expect_type("\"int\"", SM_INT32, false);
    expect_type("\"long\"", SM_INT64, false);
    expect_type("\"float\"", SM_FLOAT, false);
    expect_type("\"double\"", SM_DOUBLE, false);
    expect_type("\"bytes\"", SM_BINARY, false);
    expect_type("\"string\"", SM_STRING, false);
    expect_type("{\"type\":\"string\"}", SM_STRING, false);
    expect_type("{\"type\":\"int\",\"logicalType\":\"date\"}", SM_DATE, false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", SM_TIMESTAMP_MS, false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", SM_TIMESTAMP_US, false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"local-timestamp-millis\"}", SM_TIMESTAMP_MS,
                false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}", SM_TIMESTAMP_US,
                false);
    expect_type("{\"type\":\"int\",\"logicalType\":\"time-millis\"}", SM_INT32, false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"time-micros\"}", SM_INT64, false);
    expect_type("{\"type\":\"long\",\"logicalType\":\"timestamp-nanos\"}", SM_INT64, false);
    expect_type("{\"type\":\"string\",\"logicalType\":\"something-new\"}", SM_STRING, false);
    expect_type("{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", SM_INT32, false);
    expect_type("{\"type\":\"string\",\"logicalType\":\"uuid\"}", SM_STRING, false);
    expect_type("[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}]",
                SM_TIMESTAMP_US, true);
    expect_type("{\"type\":\"fixed\",\"name\":\"Dur\",\"size\":12,\"logicalType\":\"duration\"}",
                SM_FIXED_BINARY, false);

    const sm_field *d = field_of("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,"
                                 "\"scale\":2}");
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT_EQUAL(d->type, SM_DECIMAL);
    CU_ASSERT_EQUAL(d->precision, 10);
    CU_ASSERT_EQUAL(d->scale, 2);
    CU_ASSERT_EQUAL(d->width, 8);
    d = field_of("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":38}");
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT_EQUAL(d->scale, 0);
    CU_ASSERT_EQUAL(d->width, 16);
    d = field_of("{\"type\":\"fixed\",\"name\":\"Money\",\"size\":4,\"logicalType\":\"decimal\","
                 "\"precision\":9,\"scale\":2}");
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT_EQUAL(d->type, SM_DECIMAL);
    CU_ASSERT_EQUAL(d->width, 4);
    d = field_of("{\"type\":\"fixed\",\"name\":\"H\",\"size\":16}");
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT_EQUAL(d->type, SM_FIXED_BINARY);
    CU_ASSERT_EQUAL(d->width, 16);

    /* the logical type is kept for the decoder */
    const char *text = REC(F("id", "{\"type\":\"string\",\"logicalType\":\"uuid\"}"));
    sm_avsc *s = parse(text);
    CU_ASSERT_FATAL(s != NULL);
    const sm_avsc_info *in = sm_avsc_info_of(s, s->root->children[0]);
    CU_ASSERT_FATAL(in != NULL);
    CU_ASSERT_STRING_EQUAL(in->logical, "uuid");
    CU_ASSERT_STRING_EQUAL(in->path, "$.fields[0].type");
}

static void test_avsc_unions_arrays_maps(void)
{
    expect_type("[\"null\",\"string\"]", SM_STRING, true);
    expect_type("[\"string\",\"null\"]", SM_STRING, true);
    expect_type("[\"string\"]", SM_STRING, false);
    expect_type("[\"null\",{\"type\":\"array\",\"items\":\"int\"}]", SM_LIST, true);

    const sm_field *a = field_of("{\"type\":\"array\",\"items\":[\"null\",\"long\"]}");
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL(a->type, SM_LIST);
    CU_ASSERT_FALSE(a->nullable);
    CU_ASSERT_EQUAL(a->n_children, 1);
    CU_ASSERT_STRING_EQUAL(a->children[0]->name, "element");
    CU_ASSERT_EQUAL(a->children[0]->type, SM_INT64);
    CU_ASSERT_TRUE(a->children[0]->nullable);

    const sm_field *m = field_of("{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":"
                                 "\"string\"}}");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL(m->type, SM_MAP);
    const sm_field *kv = m->children[0];
    CU_ASSERT_EQUAL(kv->type, SM_STRUCT);
    CU_ASSERT_EQUAL(kv->n_children, 2);
    CU_ASSERT_STRING_EQUAL(kv->children[0]->name, "key");
    CU_ASSERT_EQUAL(kv->children[0]->type, SM_STRING);
    CU_ASSERT_FALSE(kv->children[0]->nullable);
    CU_ASSERT_STRING_EQUAL(kv->children[1]->name, "value");
    CU_ASSERT_EQUAL(kv->children[1]->type, SM_LIST);
    CU_ASSERT_FALSE(kv->children[1]->nullable);

    const sm_field *nested = field_of("{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":"
                                      "[\"null\",{\"type\":\"record\",\"name\":\"P\",\"fields\":["
                                      "{\"name\":\"x\",\"type\":\"double\"}]}]}}");
    CU_ASSERT_FATAL(nested != NULL);
    const sm_field *val = nested->children[0]->children[0]->children[1];
    CU_ASSERT_EQUAL(val->type, SM_STRUCT);
    CU_ASSERT_TRUE(val->nullable);
    CU_ASSERT_STRING_EQUAL(val->name, "value");
    CU_ASSERT_EQUAL(val->children[0]->type, SM_DOUBLE);
}

static void test_avsc_orders_schema(void)
{
    const char *text =
        "{\n"
        "  \"type\": \"record\", \"name\": \"Order\", \"namespace\": \"smelter.orders\",\n"
        "  \"doc\": \"an e-commerce order\",\n"
        "  \"fields\": [\n"
        "    {\"name\": \"order_id\", \"type\": [\"null\", \"string\"]},\n"
        "    {\"name\": \"customer_id\", \"type\": \"string\"},\n"
        "    {\"name\": \"quantity\", \"type\": \"int\", \"doc\": \"items\"},\n"
        "    {\"name\": \"price\", \"type\": \"double\"},\n"
        "    {\"name\": \"order_ts\", \"type\": {\"type\": \"long\", \"logicalType\": "
        "\"timestamp-micros\"}},\n"
        "    {\"name\": \"status\", \"type\": {\"type\": \"enum\", \"name\": \"Status\", "
        "\"symbols\": [\"placed\", \"paid\", \"shipped\"]}, \"default\": \"placed\"},\n"
        "    {\"name\": \"coupon\", \"type\": [\"null\", \"string\"], \"default\": null},\n"
        "    {\"name\": \"tags\", \"type\": {\"type\": \"map\", \"values\": \"string\"}, "
        "\"default\": {}}\n"
        "  ]\n"
        "}\n";
    sm_avsc *s = parse(text);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_STRING_EQUAL(s->name, "smelter.orders.Order");
    CU_ASSERT_STRING_EQUAL(s->origin, "t.avsc");
    CU_ASSERT_EQUAL(s->root->type, SM_STRUCT);
    CU_ASSERT_FALSE(s->root->nullable);
    CU_ASSERT_STRING_EQUAL(s->root->name, "Order");
    CU_ASSERT_EQUAL_FATAL(s->root->n_children, 8);
    static const struct {
        const char *name;
        sm_type type;
        bool nullable;
    } want[] = {{"order_id", SM_STRING, true},        {"customer_id", SM_STRING, false},
                {"quantity", SM_INT32, false},        {"price", SM_DOUBLE, false},
                {"order_ts", SM_TIMESTAMP_US, false}, {"status", SM_STRING, false},
                {"coupon", SM_STRING, true},          {"tags", SM_MAP, false}};
    for (int i = 0; i < 8; i++) {
        const sm_field *f = s->root->children[i];
        CU_ASSERT_STRING_EQUAL(f->name, want[i].name);
        CU_ASSERT_EQUAL(f->type, want[i].type);
        CU_ASSERT_EQUAL(f->nullable, want[i].nullable);
    }
    const sm_avsc_info *st = sm_avsc_info_of(s, child(s->root, "status"));
    CU_ASSERT_FATAL(st != NULL);
    CU_ASSERT_STRING_EQUAL(st->type_name, "smelter.orders.Status");
    CU_ASSERT_EQUAL_FATAL(st->n_symbols, 3);
    CU_ASSERT_STRING_EQUAL(st->symbols[2], "shipped");
    CU_ASSERT_STRING_EQUAL(st->default_json, "\"placed\"");
    CU_ASSERT_STRING_EQUAL(st->path, "$.fields[5]");
    const sm_avsc_info *cp = sm_avsc_info_of(s, child(s->root, "coupon"));
    CU_ASSERT_FATAL(cp != NULL);
    CU_ASSERT_STRING_EQUAL(cp->default_json, "null");
    CU_ASSERT_PTR_NULL(sm_avsc_info_of(s, child(s->root, "price")));
    const sm_avsc_info *ri = sm_avsc_info_of(s, s->root);
    CU_ASSERT_FATAL(ri != NULL);
    CU_ASSERT_STRING_EQUAL(ri->type_name, "smelter.orders.Order");
}

static void test_avsc_named_types_and_namespaces(void)
{
    /* Address defined once, used twice (by short name and by full name); names resolve in the
     * enclosing namespace; a dotted name ignores the namespace attribute; "" is the null
     * namespace */
    const char *text =
        "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\",\"fields\":["
        "{\"name\":\"billing\",\"type\":{\"type\":\"record\",\"name\":\"Address\",\"fields\":["
        "{\"name\":\"city\",\"type\":\"string\"},"
        "{\"name\":\"zip\",\"type\":{\"type\":\"fixed\",\"name\":\"Zip\",\"size\":5}}]}},"
        "{\"name\":\"shipping\",\"type\":[\"null\",\"Address\"]},"
        "{\"name\":\"returns\",\"type\":{\"type\":\"array\",\"items\":\"shop.Address\"}},"
        "{\"name\":\"zip2\",\"type\":\"Zip\"},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"other.Kind\",\"namespace\":"
        "\"ignored\",\"symbols\":[\"A\"]}},"
        "{\"name\":\"kind2\",\"type\":\"other.Kind\"},"
        "{\"name\":\"g\",\"type\":{\"type\":\"record\",\"name\":\"Global\",\"namespace\":\"\","
        "\"fields\":[{\"name\":\"k\",\"type\":\"Kind2\"}, {\"name\":\"k2\",\"type\":{\"type\":"
        "\"enum\",\"name\":\"Kind2\",\"symbols\":[\"B\"]}}]}},"
        "{\"name\":\"g2\",\"type\":\"Global\"},"
        "{\"name\":\"z3\",\"type\":{\"type\":\"shop.Zip\"}}]}";
    /* Kind2 is used before it is defined: that is an error in Avro, and here */
    sm_error err;
    sm_avsc *s;
    CU_ASSERT_EQUAL(sm_avsc_parse(text, strlen(text), "t.avsc", arena, &s, &err), SM_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "$.fields[6].type.fields[0].type: unknown type 'Kind2'") != NULL);

    char *fixed = strdup(text);
    /* swap the two fields of Global so that Kind2 is defined first */
    const char *a = "{\"name\":\"k\",\"type\":\"Kind2\"}, ";
    const char *b = "{\"name\":\"k2\",\"type\":{\"type\":\"enum\",\"name\":\"Kind2\",\"symbols\":"
                    "[\"B\"]}}";
    char *pa = strstr(fixed, a);
    CU_ASSERT_FATAL(pa != NULL);
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s%s, {\"name\":\"k\",\"type\":\"Kind2\"}%s", (int)(pa - fixed),
             fixed, b, pa + strlen(a) + strlen(b));
    free(fixed);
    s = parse(buf);
    CU_ASSERT_FATAL(s != NULL);
    const sm_field *r = s->root;
    const sm_field *billing = child(r, "billing"), *shipping = child(r, "shipping");
    CU_ASSERT_FATAL(billing && shipping);
    CU_ASSERT(billing != shipping);
    CU_ASSERT_EQUAL(billing->type, SM_STRUCT);
    CU_ASSERT_FALSE(billing->nullable);
    CU_ASSERT_EQUAL(shipping->type, SM_STRUCT);
    CU_ASSERT_TRUE(shipping->nullable);
    CU_ASSERT_STRING_EQUAL(shipping->name, "shipping");
    CU_ASSERT_STRING_EQUAL(child(shipping, "zip")->name, "zip");
    CU_ASSERT_EQUAL(child(shipping, "zip")->width, 5);
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, shipping)->type_name, "shop.Address");
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(shipping, "zip"))->type_name, "shop.Zip");
    const sm_field *returns = child(r, "returns");
    CU_ASSERT_EQUAL(returns->children[0]->type, SM_STRUCT);
    CU_ASSERT_EQUAL(child(r, "zip2")->type, SM_FIXED_BINARY);
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(r, "kind"))->type_name, "other.Kind");
    CU_ASSERT_EQUAL(sm_avsc_info_of(s, child(r, "kind2"))->n_symbols, 1);
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(r, "g"))->type_name, "Global");
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(child(r, "g2"), "k"))->type_name, "Kind2");
    CU_ASSERT_EQUAL(child(r, "z3")->type, SM_FIXED_BINARY);
}

static void test_avsc_defaults_are_kept_as_decoder_json(void)
{
    const char *text = REC(F(
        "i", "\"int\"") ",{\"name\":\"d\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
                        "\"decimal\",\"precision\":20,\"scale\":3},\"default\":"
                        "\"\\u00ff\\u00fe\"},"
                        "{\"name\":\"n\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2,"
                        "\"logicalType\":"
                        "\"decimal\",\"precision\":4,\"scale\":0},\"default\":\"\\u0001\\u0000\"},"
                        "{\"name\":\"b\",\"type\":\"bytes\",\"default\":\"\\u0000\\u00ff\"},"
                        "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
                        "{\"name\":\"x\",\"type\":\"int\",\"default\":3},{\"name\":\"y\",\"type\":"
                        "\"string\"}]},"
                        "\"default\":{\"y\":\"why\"}},"
                        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"S\"},\"default\":"
                        "[{\"y\":\"\"}]}");
    sm_avsc *s = parse(text);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(s->root, "d"))->default_json, "\"-0.002\"");
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(s->root, "n"))->default_json, "\"256\"");
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(s->root, "b"))->default_json,
                           "\"\\u0000\xc3\xbf\"");
    CU_ASSERT_STRING_EQUAL(sm_avsc_info_of(s, child(s->root, "r"))->default_json,
                           "{\"y\":\"why\"}");
    CU_ASSERT_PTR_NULL(sm_avsc_info_of(s, child(s->root, "i")));

    /* and the decoder uses them, nested defaults included */
    sm_json_opts o;
    sm_json_decoder *d;
    sm_error err;
    sm_json_error why;
    sm_json_opts_default(&o);
    o.avsc = s;
    CU_ASSERT_FATAL(sm_json_decoder_new(s->root, &o, &d, &err) == SM_OK);
    sm_column *c = sm_column_new(arena, s->root, 1);
    CU_ASSERT_EQUAL(sm_json_decode(d, (const uint8_t *)"{\"i\":1}", 7, arena, c, &why), SM_OK);
    CU_ASSERT_EQUAL(sm_column_i64(c->children[1], 0), -2);
    CU_ASSERT_EQUAL(sm_column_i64(c->children[2], 0), 256);
    CU_ASSERT_EQUAL(c->children[3]->offsets[1], 2);
    CU_ASSERT_EQUAL(c->children[3]->data[1], 0xff);
    CU_ASSERT_EQUAL(sm_column_i64(c->children[4]->children[0], 0), 3);
    CU_ASSERT_EQUAL(c->children[5]->offsets[1], 1);
    CU_ASSERT_EQUAL(sm_column_i64(c->children[5]->children[0]->children[0], 0), 3);
    sm_json_decoder_free(d);
}

static void test_avsc_load_reads_a_file(void)
{
    char *dir = sm_test_tmpdir("avsc");
    char path[512];
    sm_avsc *s;
    sm_error err;
    snprintf(path, sizeof path, "%s/x.avsc", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(REC(F("a", "\"long\"")), f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(sm_avsc_load(path, arena, &s, &err), SM_OK);
    CU_ASSERT_EQUAL(s->root->children[0]->type, SM_INT64);
    CU_ASSERT_STRING_EQUAL(s->origin, path);
    snprintf(path, sizeof path, "%s/missing.avsc", dir);
    CU_ASSERT_EQUAL(sm_avsc_load(path, arena, &s, &err), SM_ERR_IO);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(strstr(err.msg, "missing.avsc") != NULL);
    snprintf(path, sizeof path, "%s/bad.avsc", dir);
    f = fopen(path, "w");
    fputs("{\n  \"type\": \"record\",\n  \"name\": \"R\",\n  \"fields\": [,]\n}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(sm_avsc_load(path, arena, &s, &err), SM_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "bad.avsc:4:") != NULL);
    sm_test_rmtree(dir);
    free(dir);
}

/* ---- refused ------------------------------------------------------------------------------ */

static void test_avsc_refusals_name_file_and_path(void)
{
    char deep[8192] = "\"int\"";
    for (int i = 0; i < 210; i++) {
        char tmp[8192];
        snprintf(tmp, sizeof tmp, "{\"type\":\"array\",\"items\":%.8000s}", deep);
        memcpy(deep, tmp, sizeof deep);
        deep[sizeof deep - 1] = '\0';
    }
    char deep_schema[8400];
    snprintf(deep_schema, sizeof deep_schema, REC("{\"name\":\"v\",\"type\":%s}"), deep);

    static const struct {
        const char *text, *sub;
    } cases[] = {
        {"{\"type\":", "t.avsc:1:8: not valid JSON"},
        {"{\"type\":\"record\",\"type\":\"record\"}", "duplicate object key"},
        {"\"string\"", "t.avsc: $: the top-level schema must be a record"},
        {"[\"null\"," REC(F("a", "\"int\"")) "]", "$: the top-level schema must be a record"},
        {"{\"type\":\"record\",\"fields\":[]}", "$: a record needs a \"name\""},
        {"{\"type\":\"record\",\"name\":\"1R\",\"fields\":[" F("a", "\"int\"") "]}",
         "$: invalid name '1R'"},
        {"{\"type\":\"record\",\"name\":\"a.\",\"fields\":[" F("a", "\"int\"") "]}",
         "invalid name 'a.'"},
        {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a..b\",\"fields\":[" F(
             "a", "\"int\"") "]}",
         "invalid namespace 'a..b'"},
        {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":5,\"fields\":[]}",
         "\"namespace\" must be a string"},
        {"{\"type\":\"record\",\"name\":\"int\",\"fields\":[" F("a", "\"int\"") "]}",
         "'int' is a primitive type name"},
        {"{\"type\":\"record\",\"name\":\"R\"}", "$: record 'R' needs a \"fields\" array"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
         "$: record 'R' has no fields; a column struct needs at least one"},
        {REC("5"), "$.fields[0]: a field must be an object"},
        {REC("{\"type\":\"int\"}"), "$.fields[0]: a field needs a \"name\""},
        {REC("{\"name\":\"a-b\",\"type\":\"int\"}"), "a field needs a \"name\" of"},
        {REC("{\"name\":\"a\"}"), "$.fields[0]: field 'a' needs a \"type\""},
        {REC(F("a", "\"int\"") "," F("a", "\"long\"")), "$.fields[1]: field 'a' appears twice"},
        {REC(F("a", "\"Money\"")), "$.fields[0].type: unknown type 'Money'"},
        {REC(F("a", "{\"type\":\"Money\"}")), "$.fields[0].type.type: unknown type 'Money'"},
        {REC(F("a", "[\"int\",\"string\"]")),
         "$.fields[0].type: union [\"int\",\"string\"] is not supported: a column takes a union "
         "of \"null\" and one type"},
        {REC(F("a", "[\"null\",\"int\",\"string\"]")), "is not supported"},
        {REC(F("a", "[\"null\"]")), "$.fields[0].type: union [\"null\"] has no type but null"},
        {REC(F("a", "[]")), "union [] has no type but null"},
        {REC(F("a", "[\"null\",\"null\",\"int\"]")), "\"null\" appears twice in a union"},
        {REC(F("a", "[[\"null\",\"int\"]]")),
         "$.fields[0].type[0]: a union cannot hold a union directly"},
        {REC(F("a", "\"null\"")), "$.fields[0].type: type \"null\" alone has no column type"},
        {REC(F("a", "5")), "$.fields[0].type: 5 is not a schema"},
        {REC(F("a", "{\"type\":5}")), "\"type\" must be a type name string"},
        {REC(F("a", "{\"type\":\"int\",\"logicalType\":7}")), "\"logicalType\" must be a string"},
        {"{\"type\":\"record\",\"name\":\"Node\",\"fields\":[" F("next",
                                                                 "[\"null\",\"Node\"]") "]}",
         "$.fields[0].type[1]: type 'Node' contains itself; a recursive type cannot be a column"},
        {REC(F("a", "{\"type\":\"record\",\"name\":\"T\",\"fields\":[" F(
                        "b", "{\"type\":\"array\",\"items\":\"T\"}") "]}")),
         "$.fields[0].type.fields[0].type.items: type 'T' contains itself"},
        {REC(F("a", "{\"type\":\"enum\",\"name\":\"E\"}")),
         "$.fields[0].type: enum 'E' needs a non-empty \"symbols\" array"},
        {REC(F("a", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}")), "non-empty"},
        {REC(F("a", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"a b\"]}")),
         "enum 'E': symbol \"a b\" is not a name"},
        {REC(F("a", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}")),
         "enum 'E': symbol 'A' appears twice"},
        {REC(F("a", "{\"type\":\"enum\",\"symbols\":[\"A\"]}")), "a enum needs a \"name\""},
        {REC(F("a", "{\"type\":\"fixed\",\"name\":\"X\"}")),
         "fixed 'X' needs a positive integer \"size\""},
        {REC(F("a", "{\"type\":\"fixed\",\"name\":\"X\",\"size\":0}")), "positive integer"},
        {REC(F("a", "{\"type\":\"array\"}")), "$.fields[0].type: an array needs \"items\""},
        {REC(F("a", "{\"type\":\"map\"}")), "$.fields[0].type: a map needs \"values\""},
        {REC(F("a", "{\"type\":\"array\",\"items\":\"nope\"}")),
         "$.fields[0].type.items: unknown type 'nope'"},
        {REC(F("a", "{\"type\":\"map\",\"values\":[\"int\",\"long\"]}")),
         "$.fields[0].type.values: union"},
        {REC(F("a", "{\"type\":\"bytes\",\"logicalType\":\"decimal\"}")),
         "a decimal needs an integer \"precision\""},
        {REC(F("a", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":39}")),
         "decimal precision 39 is not supported (1..38)"},
        {REC(F("a", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":0}")),
         "decimal precision 0 is not supported"},
        {REC(F("a",
               "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":3,\"scale\":5}")),
         "decimal scale 5 must be within 0..precision (3)"},
        {REC(F("a",
               "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":3,\"scale\":1.5}")),
         "\"scale\" must be an integer"},
        {REC(F("a", "{\"type\":\"fixed\",\"name\":\"M\",\"size\":4,\"logicalType\":\"decimal\","
                    "\"precision\":10}")),
         "decimal precision 10 does not fit a fixed of 4 bytes (at most 9)"},
        {REC(F("a",
               "{\"type\":\"record\",\"name\":\"A\",\"fields\":[" F(
                   "x", "\"int\"") "]}") "," F("b",
                                               "{\"type\":\"record\",\"name\":\"A\",\"fields\":[" F(
                                                   "y", "\"int\"") "]}")),
         "$.fields[1].type: type 'A' is defined twice"},
        {REC("{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}"),
         "t.avsc: $.fields[0].default: field 'a': expected an integer, got a string"},
        {REC("{\"name\":\"a\",\"type\":\"int\",\"default\":1.5}"), "1.5 is not an integer"},
        {REC("{\"name\":\"a\",\"type\":\"int\",\"default\":null}"), "null for a required field"},
        {REC("{\"name\":\"a\",\"type\":[\"null\",\"int\"],\"default\":1}"),
         "$.fields[0].default: the default of a union must match its first branch, \"null\""},
        {REC("{\"name\":\"a\",\"type\":[\"int\",\"null\"],\"default\":null}"),
         "a null default needs \"null\" as the union's first branch"},
        {REC("{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]},"
             "\"default\":\"B\"}"),
         "\"B\" is not a symbol of the enum"},
        {REC("{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":["
             "{\"name\":\"x\",\"type\":\"int\"}]},\"default\":{}}"),
         "$.fields[0].default: missing required field 'a.x'"},
        {REC("{\"name\":\"a\",\"type\":\"bytes\",\"default\":\"\\u0100\"}"),
         "a character above U+00FF"},
        {REC("{\"name\":\"a\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
             "\"precision\":5},\"default\":\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
             "\\u0008\\u0009\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\"}"),
         "a decimal default is a string of 1 to 16 bytes"},
        {REC("{\"name\":\"a\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
             "\"precision\":2},\"default\":\"\\u0001\\u0000\"}"),
         "\"256\" does not fit decimal(2,0)"},
        {REC("{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2},"
             "\"default\":\"abc\"}"),
         "expected 2 bytes, got 3"},
        {"{\"type\":\"record\",\"name\":\"R\\u0000x\",\"fields\":[]}",
         "$.name: a string with a NUL character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(cases[i].text, cases[i].sub);
    }
    expect_error(deep_schema, "schema nested deeper than 200");
    printf("\n  %zu refusals\n", sizeof cases / sizeof cases[0] + 1);
}

static int setup(void)
{
    arena = sm_arena_create(0, 0);
    return arena ? 0 : 1;
}

static int teardown(void)
{
    sm_arena_destroy(arena);
    return 0;
}

static CU_TestInfo tests[] = {
    {"primitives and logical types map to column types", test_avsc_primitives_and_logical_types},
    {"unions with null, arrays and maps", test_avsc_unions_arrays_maps},
    {"the orders schema: columns, enum symbols, defaults", test_avsc_orders_schema},
    {"named types, references and namespaces", test_avsc_named_types_and_namespaces},
    {"defaults are kept as JSON the decoder takes", test_avsc_defaults_are_kept_as_decoder_json},
    {"sm_avsc_load reads a file and names it in errors", test_avsc_load_reads_a_file},
    {"refusals name the file and the JSON path", test_avsc_refusals_name_file_and_path},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN_FIXTURE("avsc", setup, teardown, tests)
