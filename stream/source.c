/*
 * The record format of a pipeline behind one decode call (source.h).
 */
#include "stream/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/avro_decode.h"
#include "ingest/json_decode.h"
#include "ingest/proto_decode.h"
#include "ingest/registry.h"

struct sm_source {
    const sm_pipeline *p;
    int format;
    sm_arena *arena;
    sm_avsc *avsc;            /* json, avro */
    sm_proto_schema *proto;   /* protobuf */
    sm_proto_decoder *schema; /* protobuf: owns the schema the columns are built for */
    const sm_field *root;
    const char *registry_dir; /* avro: a directory registry, or NULL */
    sm_registry *registry;    /* avro: an HTTP registry, or NULL */
};

struct sm_source_decoder {
    sm_source *s;
    sm_json_decoder *json;
    sm_avro_decoder *avro;
    sm_proto_decoder *proto;
    bool fetch_failed; /* the registry could not answer during the last decode */
    sm_error fetch_err;
};

/* The avro decoder's fetch hook: an id the registry does not know fails the message
 * (unknown_schema, dead letter); any other failure is remembered so the batch fails. */
static int fetch(void *ctx, int32_t id, char **text_out, size_t *len_out, sm_error *err)
{
    sm_source_decoder *d = ctx;
    int rc = sm_registry_fetch(d->s->registry, id, text_out, len_out, err);
    if (rc != SM_OK && rc != SM_REGISTRY_NOT_FOUND) {
        d->fetch_failed = true;
        d->fetch_err = *err;
    }
    return rc;
}

int sm_source_open(const sm_pipeline *p, sm_source **out, sm_error *err)
{
    sm_source *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s || !(s->arena = sm_arena_create(0, 0))) {
        free(s);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    s->p = p;
    s->format = p->source.format;
    if (s->format == SM_PL_FORMAT_PROTOBUF) {
        if ((rc = sm_proto_schema_load_file(p->source.schema_path, &s->proto, err)) != SM_OK ||
            (rc = sm_proto_decoder_new(s->proto, p->source.protobuf.message, &s->schema, err)) !=
                SM_OK) {
            sm_error_prefix(err, "%s", p->source.schema_path);
            sm_source_close(s);
            return rc;
        }
        s->root = sm_proto_decoder_schema(s->schema);
    } else {
        if ((rc = sm_avsc_load(p->source.schema_path, s->arena, &s->avsc, err)) != SM_OK) {
            sm_source_close(s);
            return rc;
        }
        s->root = s->avsc->root;
    }
    if (s->format == SM_PL_FORMAT_AVRO) {
        const char *url = p->source.schema_registry.url;
        if (!url) {
            sm_source_close(s);
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: format avro needs source.schema_registry.url", p->file);
        }
        if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
            sm_registry_conf rc_;
            sm_registry_conf_default(&rc_);
            rc_.url = url;
            rc_.basic_auth = p->source.schema_registry.basic_auth;
            rc_.timeout_ms = p->source.schema_registry.timeout_ms;
            rc_.max_attempts = (int)p->source.schema_registry.max_attempts;
            if ((rc = sm_registry_open(&rc_, &s->registry, err)) != SM_OK) {
                sm_error_prefix(err, "%s: source.schema_registry", p->file);
                sm_source_close(s);
                return rc;
            }
        } else {
            s->registry_dir = url;
        }
    }
    *out = s;
    return SM_OK;
}

void sm_source_close(sm_source *s)
{
    if (!s) {
        return;
    }
    sm_proto_decoder_free(s->schema);
    sm_proto_schema_free(s->proto);
    sm_registry_free(s->registry);
    sm_arena_destroy(s->arena);
    free(s);
}

const sm_field *sm_source_schema(const sm_source *s)
{
    return s->root;
}

int sm_source_decoder_new(sm_source *s, sm_source_decoder **out, sm_error *err)
{
    sm_source_decoder *d = calloc(1, sizeof *d);
    int rc = SM_OK;

    *out = NULL;
    if (!d) {
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    d->s = s;
    switch (s->format) {
    case SM_PL_FORMAT_JSON: {
        sm_json_opts jo;
        sm_json_opts_default(&jo);
        jo.avsc = s->avsc;
        jo.unknown_fields = s->p->source.json.unknown_fields == SM_PL_UNKNOWN_DEAD_LETTER
                                ? SM_JSON_UNKNOWN_DEAD_LETTER
                                : SM_JSON_UNKNOWN_SKIP;
        rc = sm_json_decoder_new(s->root, &jo, &d->json, err);
        break;
    }
    case SM_PL_FORMAT_AVRO: {
        sm_avro_opts ao;
        sm_avro_opts_default(&ao);
        ao.registry_dir = s->registry_dir;
        if (s->registry) {
            ao.fetch = fetch;
            ao.fetch_ctx = d;
        }
        rc = sm_avro_decoder_new(s->avsc, &ao, &d->avro, err);
        break;
    }
    default:
        rc = sm_proto_decoder_new(s->proto, s->p->source.protobuf.message, &d->proto, err);
        break;
    }
    if (rc != SM_OK) {
        sm_error_prefix(err, "%s", s->p->source.schema_path);
        sm_source_decoder_free(d);
        return rc;
    }
    *out = d;
    return SM_OK;
}

void sm_source_decoder_free(sm_source_decoder *d)
{
    if (!d) {
        return;
    }
    sm_json_decoder_free(d->json);
    sm_avro_decoder_free(d->avro);
    sm_proto_decoder_free(d->proto);
    free(d);
}

/* "<name>: <msg>", without saying the name twice when the decoder's message starts with it. */
static void set_reason(char *reason, size_t cap, const char *name, const char *msg)
{
    size_t n = strlen(name);
    if (strncmp(msg, name, n) == 0 && msg[n] == ':') {
        snprintf(reason, cap, "%s", msg);
    } else {
        snprintf(reason, cap, "%s: %s", name, msg);
    }
}

/* The message indexes of a Confluent frame must name the pipeline's message
 * (source.protobuf.message, by default the first message of the descriptor set): the payload is
 * decoded with that message's decoder, so a frame naming another one is a dead letter. */
static int check_message_index(const sm_source_decoder *d, const sm_proto_frame *f, char *reason,
                               size_t cap)
{
    const char *want = d->s->p->source.protobuf.message;
    const char *got = sm_proto_schema_message_at(d->s->proto, f->indexes, f->n_indexes);
    char path[8 * SM_PROTO_MAX_INDEXES + 4];
    size_t o = 0;

    if (!want && !(want = sm_proto_schema_message_at(d->s->proto, NULL, 0))) {
        want = "";
    }
    if (want[0] == '.') {
        want++;
    }
    if (got && strcmp(got, want) == 0) {
        return SM_OK;
    }
    for (int i = 0; i < f->n_indexes && o < sizeof path; i++) {
        int n = snprintf(path + o, sizeof path - o, "%s%d", i ? "," : "", (int)f->indexes[i]);
        o += n > 0 ? (size_t)n : 0;
    }
    if (got) {
        snprintf(reason, cap,
                 "bad_message_index: Confluent frame: message indexes [%s] name %.100s, not the "
                 "pipeline's message %.100s (source.protobuf.message)",
                 path, got, want);
    } else {
        snprintf(reason, cap,
                 "bad_message_index: Confluent frame: message indexes [%s] name no message of "
                 "the descriptor set (the pipeline's message is %.100s)",
                 path, want);
    }
    return SM_ERR_CORRUPT;
}

static int decode_proto(sm_source_decoder *d, const uint8_t *v, size_t len, sm_arena *arena,
                        sm_column *batch, char *reason, size_t cap, int64_t *err_offset)
{
    sm_proto_error why;
    size_t at = 0;
    int rc;

    if (len > 0 && v[0] == 0) {
        sm_proto_frame f;
        if (sm_proto_frame_parse(v, len, &f, &why) != SM_OK) {
            set_reason(reason, cap, sm_proto_reason_name(why.reason), why.msg);
            *err_offset = (int64_t)why.offset;
            return SM_ERR_CORRUPT;
        }
        if ((rc = check_message_index(d, &f, reason, cap)) != SM_OK) {
            *err_offset = 5;
            return rc;
        }
        at = f.payload_offset;
    }
    rc = sm_proto_decode(d->proto, v + at, len - at, arena, batch, &why);
    if (rc == SM_ERR_CORRUPT) {
        set_reason(reason, cap, sm_proto_reason_name(why.reason), why.msg);
        *err_offset = (int64_t)(why.offset + at);
    }
    return rc;
}

int sm_source_decode(sm_source_decoder *d, const uint8_t *value, size_t len, sm_arena *arena,
                     sm_column *batch, char *reason, size_t cap, int64_t *err_offset, sm_error *err)
{
    int rc;
    *err_offset = -1;
    switch (d->s->format) {
    case SM_PL_FORMAT_JSON: {
        sm_json_error why;
        rc = sm_json_decode(d->json, value, len, arena, batch, &why);
        if (rc != SM_OK && rc != SM_ERR_NOMEM) {
            set_reason(reason, cap, sm_json_reason_name(why.reason), why.msg);
            *err_offset = (int64_t)why.offset;
            rc = SM_ERR_CORRUPT;
        }
        return rc;
    }
    case SM_PL_FORMAT_AVRO: {
        sm_avro_error why;
        d->fetch_failed = false;
        rc = sm_avro_decode(d->avro, value, len, arena, batch, &why);
        if (rc != SM_OK && d->fetch_failed) {
            if (err) {
                *err = d->fetch_err;
            }
            return SM_ERR_KAFKA;
        }
        if (rc != SM_OK && rc != SM_ERR_NOMEM) {
            set_reason(reason, cap, sm_avro_reason_name(why.reason), why.msg);
            *err_offset = (int64_t)why.offset;
            rc = SM_ERR_CORRUPT;
        }
        return rc;
    }
    default:
        return decode_proto(d, value, len, arena, batch, reason, cap, err_offset);
    }
}
