/*
 * `smelter parquet schema|meta|cat FILE` — look inside any Parquet file, as parquet-tools does:
 * the schema in Parquet's own notation, the footer (row groups, column chunks with encodings,
 * codec, sizes and statistics), and rows as JSON lines (tools/json_rows.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "tools/commands.h"
#include "tools/json_rows.h"
#include "storage/parquet_reader.h"

typedef struct parquet_cli {
    cli_common common;
    int64_t limit;
    const char *columns;
} parquet_cli;

static const sm_opt parquet_opts[] = {
    {"limit", 'n', SM_OPT_INT, offsetof(parquet_cli, limit), "0", 0, 1e15, NULL, "N",
     "cat: at most N rows; 0 = all"},
    {"columns", 'c', SM_OPT_STRING, offsetof(parquet_cli, columns), NULL, SM_NO_BOUNDS, NULL,
     "LIST", "cat: only these top-level columns, comma-separated, in this order"},
    SM_OPT_END,
};

static const char parquet_usage[] =
    "Usage: smelter parquet schema|meta|cat FILE [flags]\n"
    "\n"
    "Looks inside a Parquet file written by smelter or by any other writer:\n"
    "  schema  the schema, in Parquet's message notation\n"
    "  meta    file metadata: row groups, and per column chunk its type, encodings, codec,\n"
    "          sizes and statistics\n"
    "  cat     the rows as JSON lines (--limit, --columns)\n";

static const char *repetition_name(const pf_schema_element *e)
{
    if (!e->has_repetition_type) {
        return "";
    }
    switch (e->repetition_type) {
    case PF_REQUIRED:
        return "required ";
    case PF_OPTIONAL:
        return "optional ";
    default:
        return "repeated ";
    }
}

static void print_annotation(const pf_schema_element *e)
{
    const pf_logical_type *lt = &e->logical_type;
    static const char *const units[] = {"?", "MILLIS", "MICROS", "NANOS"};
    switch (lt->kind) {
    case PF_LT_NONE:
        break;
    case PF_LT_STRING:
        printf(" (STRING)");
        break;
    case PF_LT_MAP:
        printf(" (MAP)");
        break;
    case PF_LT_LIST:
        printf(" (LIST)");
        break;
    case PF_LT_ENUM:
        printf(" (ENUM)");
        break;
    case PF_LT_DECIMAL:
        printf(" (DECIMAL(%d,%d))", lt->precision, lt->scale);
        break;
    case PF_LT_DATE:
        printf(" (DATE)");
        break;
    case PF_LT_TIME:
    case PF_LT_TIMESTAMP:
        printf(" (%s(%s,%s))", lt->kind == PF_LT_TIME ? "TIME" : "TIMESTAMP",
               units[lt->unit >= 1 && lt->unit <= 3 ? lt->unit : 0],
               lt->is_adjusted_to_utc ? "true" : "false");
        break;
    case PF_LT_INTEGER:
        printf(" (INTEGER(%d,%s))", lt->bit_width, lt->is_signed ? "true" : "false");
        break;
    case PF_LT_JSON:
        printf(" (JSON)");
        break;
    case PF_LT_BSON:
        printf(" (BSON)");
        break;
    case PF_LT_UUID:
        printf(" (UUID)");
        break;
    case PF_LT_FLOAT16:
        printf(" (FLOAT16)");
        break;
    default:
        printf(" (logical type %d)", lt->kind);
    }
    if (lt->kind == PF_LT_NONE && e->has_converted_type) {
        static const char *const ct[] = {"UTF8",
                                         "MAP",
                                         "MAP_KEY_VALUE",
                                         "LIST",
                                         "ENUM",
                                         "DECIMAL",
                                         "DATE",
                                         "TIME_MILLIS",
                                         "TIME_MICROS",
                                         "TIMESTAMP_MILLIS",
                                         "TIMESTAMP_MICROS",
                                         "UINT_8",
                                         "UINT_16",
                                         "UINT_32",
                                         "UINT_64",
                                         "INT_8",
                                         "INT_16",
                                         "INT_32",
                                         "INT_64",
                                         "JSON",
                                         "BSON",
                                         "INTERVAL"};
        if (e->converted_type >= 0 && e->converted_type < (int32_t)(sizeof ct / sizeof ct[0])) {
            printf(" (%s)", ct[e->converted_type]);
        }
    }
}

/* Prints element *i and its children; returns the index after them. */
static int print_schema_node(const pf_file_metadata *md, int i, int depth)
{
    const pf_schema_element *e = &md->schema[i];
    int next = i + 1;
    printf("%*s", depth * 2, "");
    if (e->has_num_children && !e->has_type) {
        printf("%sgroup %s", repetition_name(e), e->name);
        print_annotation(e);
        printf(" {\n");
        for (int k = 0; k < e->num_children && next < md->n_schema; k++) {
            next = print_schema_node(md, next, depth + 1);
        }
        printf("%*s}\n", depth * 2, "");
        return next;
    }
    printf("%s%s", repetition_name(e), e->has_type ? pf_type_name(e->type) : "?");
    if (e->has_type_length && e->type == PF_TYPE_FIXED_LEN_BYTE_ARRAY) {
        printf("(%d)", e->type_length);
    }
    printf(" %s", e->name);
    print_annotation(e);
    printf(";\n");
    return next;
}

static void print_schema(const pf_file_metadata *md)
{
    const pf_schema_element *root = &md->schema[0];
    int next = 1;
    printf("message %s {\n", root->name);
    for (int k = 0; k < root->num_children && next < md->n_schema; k++) {
        next = print_schema_node(md, next, 1);
    }
    printf("}\n");
}

/* Statistics bytes, shown as the value when the type says how, else as hex. */
static void print_stat(int32_t type, pf_bytes b)
{
    if (type == PF_TYPE_INT32 && b.len == 4) {
        int32_t v;
        memcpy(&v, b.ptr, 4);
        printf("%" PRId32, v);
    } else if (type == PF_TYPE_INT64 && b.len == 8) {
        int64_t v;
        memcpy(&v, b.ptr, 8);
        printf("%" PRId64, v);
    } else if (type == PF_TYPE_FLOAT && b.len == 4) {
        float v;
        memcpy(&v, b.ptr, 4);
        printf("%.9g", v);
    } else if (type == PF_TYPE_DOUBLE && b.len == 8) {
        double v;
        memcpy(&v, b.ptr, 8);
        printf("%.17g", v);
    } else if (type == PF_TYPE_BOOLEAN && b.len == 1) {
        printf("%s", b.ptr[0] ? "true" : "false");
    } else {
        bool printable = true;
        for (size_t i = 0; i < b.len; i++) {
            printable &= b.ptr[i] >= 0x20 && b.ptr[i] < 0x7f;
        }
        if (printable) {
            printf("\"%.*s\"", (int)b.len, (const char *)b.ptr);
        } else {
            printf("0x");
            for (size_t i = 0; i < b.len; i++) {
                printf("%02x", b.ptr[i]);
            }
        }
    }
}

static void print_meta(const pq_reader *r)
{
    const pf_file_metadata *md = pq_reader_metadata(r);
    printf("created_by: %s\n", md->created_by ? md->created_by : "(not set)");
    printf("version:    %d\n", md->version);
    printf("rows:       %" PRId64 "\n", md->num_rows);
    printf("row groups: %d\n", md->n_row_groups);
    for (int i = 0; i < md->n_key_value_metadata; i++) {
        const char *v = md->key_value_metadata[i].value;
        size_t len = v ? strlen(v) : 0;
        printf("kv %s = %.*s%s\n", md->key_value_metadata[i].key, len > 200 ? 200 : (int)len,
               v ? v : "(null)", len > 200 ? "..." : "");
    }
    for (int g = 0; g < md->n_row_groups; g++) {
        const pf_row_group *rg = &md->row_groups[g];
        printf("\nrow group %d: %" PRId64 " rows, %" PRId64 " bytes uncompressed\n", g,
               rg->num_rows, rg->total_byte_size);
        for (int c = 0; c < rg->n_columns; c++) {
            const pf_column_meta_data *m = rg->columns[c].meta_data;
            if (!m) {
                printf("  column %d: no metadata\n", c);
                continue;
            }
            printf("  ");
            for (int k = 0; k < m->n_path_in_schema; k++) {
                printf("%s%s", k ? "." : "", m->path_in_schema[k]);
            }
            printf(" %s %s values=%" PRId64 " size=%" PRId64 "/%" PRId64 " enc=",
                   pf_type_name(m->type), pf_codec_name(m->codec), m->num_values,
                   m->total_compressed_size, m->total_uncompressed_size);
            for (int k = 0; k < m->n_encodings; k++) {
                printf("%s%s", k ? "," : "", pf_encoding_name(m->encodings[k]));
            }
            if (m->has_statistics) {
                const pf_statistics *s = &m->statistics;
                if (s->has_null_count) {
                    printf(" nulls=%" PRId64, s->null_count);
                }
                if (s->has_min_value || s->has_min) {
                    printf(" min=");
                    print_stat(m->type, s->has_min_value ? s->min_value : s->min);
                }
                if (s->has_max_value || s->has_max) {
                    printf(" max=");
                    print_stat(m->type, s->has_max_value ? s->max_value : s->max);
                }
            }
            printf("\n");
        }
    }
}

/* Resolves --columns to top-level indices. */
static int pick_columns(const pq_reader *r, const char *list, int **out, int *n, sm_error *err)
{
    char *copy = strdup(list), *save = NULL;
    int cap = 8;
    *n = 0;
    *out = malloc(sizeof(int) * (size_t)cap);
    if (!copy || !*out) {
        free(copy);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int idx = pq_reader_column_index(r, name);
        if (idx < 0) {
            const sm_field *s = pq_reader_schema(r);
            const char *names[256];
            int k = 0;
            for (; k < s->n_children && k < 255; k++) {
                names[k] = s->children[k]->name;
            }
            names[k] = NULL;
            {
                const char *near = sm_nearest(name, names);
                sm_error_set(err, SM_ERR_USAGE, "--columns: no top-level column '%s'%s%s%s", name,
                             near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
            }
            free(copy);
            return SM_ERR_USAGE;
        }
        if (*n == cap) {
            int *grown = realloc(*out, sizeof(int) * (size_t)(cap *= 2));
            if (!grown) {
                free(copy);
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            }
            *out = grown;
        }
        (*out)[(*n)++] = idx;
    }
    free(copy);
    return SM_OK;
}

static int cat(pq_reader *r, const parquet_cli *cli, sm_error *err)
{
    int *cols = NULL, n_cols = 0;
    int64_t printed = 0;
    sm_buf line = SM_BUF_INIT;
    int rc = SM_OK;

    if (cli->columns && pick_columns(r, cli->columns, &cols, &n_cols, err) != SM_OK) {
        free(cols);
        return err->code;
    }
    for (int g = 0; g < pq_reader_num_row_groups(r) && rc == SM_OK; g++) {
        sm_arena *arena = sm_arena_create(0, 0);
        sm_column *batch;
        if (!arena) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            break;
        }
        rc = pq_reader_read_row_group(r, g, cols, cols ? n_cols : 0, arena, &batch, err);
        for (int64_t i = 0; rc == SM_OK && i < batch->length; i++) {
            if (cli->limit && printed >= cli->limit) {
                break;
            }
            sm_buf_reset(&line);
            if ((rc = json_row_append(batch, i, &line, err)) != SM_OK ||
                (rc = sm_buf_append_byte(&line, '\n', err)) != SM_OK) {
                break;
            }
            if (fwrite(line.data, 1, line.len, stdout) != line.len) {
                rc = SM_ERR_IO; /* stdout closed (a pipe to head): stop quietly */
                sm_error_clear(err);
                break;
            }
            printed++;
        }
        sm_arena_destroy(arena);
        if (cli->limit && printed >= cli->limit) {
            break;
        }
    }
    sm_buf_free(&line);
    free(cols);
    return rc == SM_ERR_IO && err->code == SM_OK ? SM_OK : rc;
}

static int cmd_parquet(int argc, char **argv)
{
    parquet_cli cli = {0};
    sm_strlist pos = {0};
    pq_reader *r = NULL;
    sm_error err;
    int rc = cli_parse("parquet", parquet_usage, parquet_opts, &cli, argc, argv, &pos);
    const char *verb, *path;

    if (rc >= 0) {
        sm_strlist_free(&pos);
        return rc;
    }
    if (pos.count != 2 || (strcmp(pos.items[0], "schema") && strcmp(pos.items[0], "meta") &&
                           strcmp(pos.items[0], "cat"))) {
        sm_error_set(&err, SM_ERR_USAGE, "expected schema, meta or cat, then a FILE");
        sm_strlist_free(&pos);
        return cli_fail("parquet", &err);
    }
    verb = pos.items[0];
    path = pos.items[1];
    if (pq_reader_open(path, &r, &err) != SM_OK) {
        sm_strlist_free(&pos);
        return cli_fail("parquet", &err);
    }
    rc = SM_OK;
    if (strcmp(verb, "schema") == 0) {
        print_schema(pq_reader_metadata(r));
    } else if (strcmp(verb, "meta") == 0) {
        print_meta(r);
    } else {
        rc = cat(r, &cli, &err);
    }
    fflush(stdout);
    pq_reader_close(r);
    sm_strlist_free(&pos);
    return rc == SM_OK ? SM_EXIT_OK : cli_fail("parquet", &err);
}

const cli_command cli_parquet_command = {
    "parquet",     "inspect a Parquet file: schema, metadata, rows as JSON lines",
    parquet_usage, parquet_opts,
    cmd_parquet,
};
