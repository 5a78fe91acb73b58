/*
 * `smelter validate FILE [--env NAME]` — checks a pipeline file without running it: the YAML,
 * every key and value against the declared options (stream/pipeline.h), the schema file, the
 * table graph and the columns the tables name. Valid: a one-paragraph summary and exit 0.
 * Not valid: the first error as "file:line:col: ..." on stderr (the form editors jump to) and
 * exit 2. Nothing connects to Kafka and nothing is written.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "stream/pipeline.h"
#include "tools/commands.h"

typedef struct validate_cli {
    cli_common common;
    const char *env;
    bool effective;
} validate_cli;

static const sm_opt validate_opts[] = {
    {"env", 'e', SM_OPT_STRING, offsetof(validate_cli, env), NULL, SM_NO_BOUNDS, NULL, "NAME",
     "environment overlay to apply from environments: (default: $SMELTER_ENV)"},
    {"effective", 0, SM_OPT_BOOL, offsetof(validate_cli, effective), NULL, SM_NO_BOUNDS, NULL, NULL,
     "print the effective configuration as JSON (defaults filled in, ${VAR} and the overlay "
     "applied) instead of the summary"},
    SM_OPT_END,
};

static const char validate_usage[] =
    "Usage: smelter validate FILE [--env NAME] [--effective]\n"
    "\n"
    "Checks a pipeline file without running it: YAML syntax, unknown or misspelled keys, types\n"
    "and bounds, ${VAR} interpolation, the environments: overlay, the schema file, from:\n"
    "references and column names. Prints a summary and exits 0 when the file is valid; prints\n"
    "the first error (file:line:col and the key) and exits 2 when it is not.\n"
    "'smelter help config' lists every key of a pipeline file.\n";

/* "5s", "10m", "1d", "250ms": a duration as the file would write it. */
static const char *duration(int64_t ms, char *buf, size_t n)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return buf;
        }
    }
    snprintf(buf, n, "%lldms", (long long)ms);
    return buf;
}

/* "a, b and c" */
static void put_list(FILE *f, const sm_strlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        fprintf(f, "%s%s", i == 0 ? "" : i + 1 == l->count ? " and " : ", ", l->items[i]);
    }
}

static void put_table(FILE *f, const sm_pl_table *t)
{
    char d[32];
    fprintf(f, "%s (%s", t->name, sm_pl_layer_name(t->layer));
    if (t->from) {
        fprintf(f, ", from %s", t->from);
    }
    if (t->n_expectations) {
        fprintf(f, ", %zu expectation%s", t->n_expectations, t->n_expectations == 1 ? "" : "s");
    }
    if (t->dedup_keys.count) {
        fputs(", dedup on ", f);
        put_list(f, &t->dedup_keys);
    }
    if (t->quarantine) {
        fprintf(f, ", quarantine %s", t->quarantine);
    }
    if (t->window_size_ms) {
        fprintf(f, ", %s windows on %s", duration(t->window_size_ms, d, sizeof d),
                t->window_column);
    }
    if (t->group_by.count) {
        fputs(" by ", f);
        put_list(f, &t->group_by);
    }
    if (t->n_aggregates) {
        fprintf(f, ", %zu aggregate%s, %s mode", t->n_aggregates, t->n_aggregates == 1 ? "" : "s",
                sm_pl_output_mode_name(t->output_mode));
    }
    if (t->partition_by.count) {
        fputs(", partitioned by ", f);
        put_list(f, &t->partition_by);
    }
    fputc(')', f);
}

/* The summary as one paragraph (unwrapped; the caller wraps it). */
static void summary(FILE *f, const sm_pipeline *p)
{
    char a[32], b[32];
    fprintf(f, "%s is valid", p->file);
    if (p->env) {
        fprintf(f, " (environment %s)", p->env);
    }
    fprintf(f, ". Pipeline '%s' reads topic%s ", p->name,
            p->source.kafka.topics.count == 1 ? "" : "s");
    put_list(f, &p->source.kafka.topics);
    fprintf(f,
            " from %s as %s with schema %s, starting at %s, on %lld consumer thread%s, into %zu "
            "table%s: ",
            p->source.kafka.bootstrap_servers, sm_pl_format_name(p->source.format),
            p->source.schema_path, p->source.kafka.starting_offsets,
            (long long)p->source.kafka.consumer_threads,
            p->source.kafka.consumer_threads == 1 ? "" : "s", p->n_tables,
            p->n_tables == 1 ? "" : "s");
    for (size_t i = 0; i < p->n_tables; i++) {
        fputs(i == 0 ? "" : i + 1 == p->n_tables ? " and " : ", ", f);
        put_table(f, &p->tables[i]);
    }
    fprintf(f, "; undecodable records go to %s. ", p->dead_letter_table);
    if (p->trigger.available_now) {
        fputs("Trigger: available now (the backlog, then exit)", f);
    } else if (p->trigger.interval_ms == 0) {
        fputs("Trigger: batch after batch", f);
    } else {
        fprintf(f, "Trigger: every %s", duration(p->trigger.interval_ms, a, sizeof a));
    }
    fprintf(f, ", at most %s", sm_format_size(p->trigger.max_bytes_per_trigger, a, sizeof a));
    if (p->trigger.max_records_per_trigger) {
        fprintf(f, " or %lld records", (long long)p->trigger.max_records_per_trigger);
    }
    if (p->trigger.max_files_per_trigger) {
        fprintf(f, " or %lld files", (long long)p->trigger.max_files_per_trigger);
    }
    fprintf(f, " per batch, files of %s.",
            sm_format_size(p->trigger.target_file_size, b, sizeof b));
    if (p->watermark.column) {
        fprintf(f, " Watermark: %s minus %s.", p->watermark.column,
                duration(p->watermark.delay_ms, a, sizeof a));
    }
    fprintf(f, " Lake %s, checkpoint %s, configuration hash %s.", p->lake, p->checkpoint.location,
            p->config_hash_hex);
}

/* Prints text wrapped at 100 columns. */
static void print_wrapped(const char *text)
{
    int col = 0;
    while (*text) {
        while (*text == ' ') {
            text++;
        }
        int w = (int)strcspn(text, " ");
        if (w == 0) {
            break;
        }
        if (col > 0 && col + 1 + w > 100) {
            putchar('\n');
            col = 0;
        } else if (col > 0) {
            putchar(' ');
            col++;
        }
        fwrite(text, 1, (size_t)w, stdout);
        col += w;
        text += w;
    }
    putchar('\n');
}

static int cmd_validate(int argc, char **argv)
{
    validate_cli cli = {0};
    sm_strlist pos = {0};
    sm_pipeline *p = NULL;
    sm_error err;
    int rc = cli_parse("validate", validate_usage, validate_opts, &cli, argc, argv, &pos);
    if (rc >= 0) {
        sm_strlist_free(&pos);
        return rc;
    }
    if (pos.count != 1) {
        sm_error_set(&err, SM_ERR_USAGE, "expected one pipeline FILE, got %zu arguments",
                     pos.count);
        sm_strlist_free(&pos);
        return cli_fail("validate", &err);
    }
    const char *env = cli.env ? cli.env : getenv("SMELTER_ENV");
    rc = sm_pipeline_load(pos.items[0], env, NULL, &p, &err);
    sm_strlist_free(&pos);
    if (rc != SM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        /* a file that is not there or not valid is the user's to fix: exit 2 either way */
        return rc == SM_ERR_NOMEM || rc == SM_ERR_INTERNAL ? SM_EXIT_FAILURE : SM_EXIT_USAGE;
    }
    if (cli.effective) {
        char *json = sm_pipeline_effective_json(p);
        if (json) {
            puts(json);
            free(json);
        }
        rc = json ? SM_EXIT_OK : SM_EXIT_FAILURE;
    } else {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            summary(f, p);
            fclose(f);
            print_wrapped(text);
        }
        free(text);
        rc = f ? SM_EXIT_OK : SM_EXIT_FAILURE;
    }
    sm_pipeline_free(p);
    return rc;
}

const cli_command cli_validate_command = {
    "validate",   "check a pipeline file without running it", validate_usage, validate_opts,
    cmd_validate,
};
