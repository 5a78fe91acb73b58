/*
 * `smelter run PIPELINE.yaml [--available-now] [--env NAME] [--max-batches N]` — runs a pipeline
 * (stream/engine.h): Kafka → bronze and dead-letter Delta tables, exactly once, batch after batch
 * until stopped, or with --available-now until the records present at start are in.
 *
 * Output: a live progress line on a terminal (batch, records, rate, lag), one JSON log line per
 * committed batch otherwise; a summary line at the end. Signals: the first SIGINT/SIGTERM
 * finishes the batch at hand (a batch still reading closes early and is committed) and exits 0;
 * a second one abandons it at once (exit 130; the checkpoint re-runs it on the next start); a
 * third ends the process.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "stream/engine.h"
#include "stream/pipeline.h"
#include "tools/commands.h"

typedef struct run_cli {
    cli_common common;
    const char *env;
    bool available_now;
    int64_t max_batches;
} run_cli;

static const sm_opt run_opts[] = {
    {"env", 'e', SM_OPT_STRING, offsetof(run_cli, env), NULL, SM_NO_BOUNDS, NULL, "NAME",
     "environment overlay to apply from environments: (default: $SMELTER_ENV)"},
    {"available-now", 0, SM_OPT_BOOL, offsetof(run_cli, available_now), NULL, SM_NO_BOUNDS, NULL,
     NULL,
     "process the records in the topics at start, in as many batches as the limits need, then "
     "exit 0 (overrides trigger.interval)"},
    {"max-batches", 0, SM_OPT_INT, offsetof(run_cli, max_batches), "0", 0, 1e12, NULL, "N",
     "stop after N committed batches (0: no limit)"},
    SM_OPT_END,
};

static const char run_usage[] =
    "Usage: smelter run PIPELINE.yaml [--available-now] [--env NAME] [--max-batches N]\n"
    "\n"
    "Runs a pipeline: reads its Kafka topics in micro-batches and writes every record to the\n"
    "bronze table (decoded, with the metadata columns) or, when it cannot be decoded, to the\n"
    "dead-letter table <pipeline>_dead_letter, exactly once: a restart after a crash re-runs an\n"
    "unfinished batch over the same offsets and never duplicates a row. Progress is kept in the\n"
    "checkpoint (<lake>/_checkpoints/<pipeline>). Silver and gold tables of the file are not run\n"
    "yet. The first SIGINT/SIGTERM finishes the current batch and exits 0; a second abandons it\n"
    "(exit 130; it is re-run on the next start).\n";

typedef struct run_state {
    bool live; /* progress line on a terminal */
    int64_t t0_ns;
    int64_t records;
} run_state;

static void on_batch(const sm_batch_report *r, void *ctx)
{
    run_state *st = ctx;
    double el = (double)(sm_mono_ns() - st->t0_ns) / 1e9;
    double batch_s = (double)r->duration_ms / 1000.0;
    double rate = batch_s > 0 ? (double)r->records / batch_s : 0.0;

    st->records += r->records;
    if (st->live) {
        fprintf(stderr,
                "\r\033[Krun: batch %" PRId64 "%s  records %" PRId64 " (+%" PRId64
                ")  %.0f rec/s  bronze +%" PRId64 "  dead letters +%" PRId64 "  silver +%" PRId64
                "  quarantined +%" PRId64 "  lag %" PRId64,
                r->batch_id, r->rerun ? " (re-run)" : "", st->records, r->records,
                el > 0 ? (double)st->records / el : 0.0, r->bronze_rows, r->dead_letters,
                r->silver_rows, r->quarantined, r->lag);
        fflush(stderr);
        return;
    }
    {
        char ts[32];
        json_t *f;
        sm_format_iso8601_ms(r->batch_timestamp_ms, ts, sizeof ts);
        f = json_pack("{s:I,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "batch",
                      (json_int_t)r->batch_id, "rerun", r->rerun, "batch_timestamp", ts, "records",
                      (json_int_t)r->records, "bytes", (json_int_t)r->bytes, "bronze_rows",
                      (json_int_t)r->bronze_rows, "dead_letters", (json_int_t)r->dead_letters,
                      "lost", (json_int_t)r->lost, "files", (json_int_t)r->files, "lag",
                      (json_int_t)r->lag, "duration_ms", (json_int_t)r->duration_ms,
                      "records_per_s", rate);
        json_object_set_new(f, "silver_rows", json_integer(r->silver_rows));
        json_object_set_new(f, "quarantined", json_integer(r->quarantined));
        json_object_set_new(f, "duplicates", json_integer(r->duplicates));
        json_object_set_new(f, "late", json_integer(r->late));
        json_object_set_new(f, "watermark_ms", json_integer(r->watermark_ms));
        sm_log_fields(SM_LOG_INFO, "run", f, "batch committed");
        json_decref(f);
    }
}

static int cmd_run(int argc, char **argv)
{
    run_cli cli = {0};
    sm_strlist pos = {0};
    sm_pipeline *p = NULL;
    sm_engine *e = NULL;
    sm_engine_opts eo = {0};
    sm_batch_report tot;
    run_state st = {0};
    sm_error err;
    int rc = cli_parse("run", run_usage, run_opts, &cli, argc, argv, &pos);

    if (rc >= 0) {
        sm_strlist_free(&pos);
        return rc;
    }
    if (pos.count != 1) {
        sm_error_set(&err, SM_ERR_USAGE, "expected one PIPELINE file, got %zu arguments",
                     pos.count);
        sm_strlist_free(&pos);
        return cli_fail("run", &err);
    }
    {
        const char *env = cli.env ? cli.env : getenv("SMELTER_ENV");
        rc = sm_pipeline_load(pos.items[0], env && *env ? env : NULL, NULL, &p, &err);
    }
    sm_strlist_free(&pos);
    if (rc != SM_OK) {
        /* file:line:col errors stand alone, as `smelter validate` prints them; a file that is
         * not there or not valid is the user's to fix: exit 2 either way */
        fprintf(stderr, "%s\n", err.msg);
        return err.code == SM_ERR_NOMEM || err.code == SM_ERR_INTERNAL ? SM_EXIT_FAILURE
                                                                       : SM_EXIT_USAGE;
    }

    st.live = sm_log_is_human() && isatty(STDERR_FILENO);
    st.t0_ns = sm_mono_ns();
    eo.stop = &cli_stop;
    eo.available_now = cli.available_now;
    eo.max_batches = cli.max_batches;
    eo.on_batch = on_batch;
    eo.ctx = &st;
    rc = sm_engine_open(p, &eo, &e, &err);
    if (rc == SM_OK) {
        rc = sm_engine_run(e, &err);
        sm_engine_totals(e, &tot);
        if (st.live && tot.batch_id > 0) {
            fputc('\n', stderr);
        }
        {
            double el = (double)(sm_mono_ns() - st.t0_ns) / 1e9;
            json_t *f = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "batches",
                                  (json_int_t)tot.batch_id, "records", (json_int_t)tot.records,
                                  "bronze_rows", (json_int_t)tot.bronze_rows, "dead_letters",
                                  (json_int_t)tot.dead_letters, "lost", (json_int_t)tot.lost,
                                  "files", (json_int_t)tot.files, "elapsed_s", el);
            const char *why = rc == SM_ERR_INTERRUPTED ? "batch abandoned"
                              : rc != SM_OK            ? "pipeline failed"
                              : cli_stop               ? "stopped by a signal"
                              : cli.max_batches && tot.batch_id >= cli.max_batches
                                  ? "ran --max-batches"
                                  : "caught up with the records present at start";
            sm_log_fields(SM_LOG_INFO, "run", f, why);
            json_decref(f);
        }
    }
    sm_engine_close(e);
    if (rc != SM_OK) {
        int code = cli_fail("run", &err);
        sm_pipeline_free(p);
        return code;
    }
    sm_pipeline_free(p);
    return SM_EXIT_OK;
}

const cli_command cli_run_command = {
    "run",     "run a pipeline: Kafka into bronze Delta tables, exactly once",
    run_usage, run_opts,
    cmd_run,   true,
};
