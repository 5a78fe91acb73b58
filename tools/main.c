/*
 * smelter — streaming ingestion from Kafka into Delta Lake tables.
 *
 * main() only dispatches: `smelter <command> [flags]`. Signals are turned into a flag that
 * long-running commands poll (cli_stop); a second Ctrl-C kills the process at once, except for
 * commands that abandon their work themselves on it (stop_levels: `run`), which a third kills.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"
#include "stream/pipeline.h"
#include "tools/commands.h"

static const cli_command *const commands[] = {
    &cli_demo_command,    &cli_run_command,   &cli_broker_command,   &cli_produce_command,
    &cli_parquet_command, &cli_table_command, &cli_validate_command, NULL,
};

/* Whether the running command acts on cli_stop == 2 (set before its handlers can fire). */
static volatile sig_atomic_t stop_levels;

static void usage(FILE *out)
{
    fprintf(out,
            "smelter %s — streaming ingestion from Kafka into Delta Lake tables\n\n"
            "Usage: smelter <command> [flags]\n\nCommands:\n",
            SMELTER_VERSION);
    for (const cli_command *const *c = commands; *c; c++) {
        fprintf(out, "  %-10s %s\n", (*c)->name, (*c)->summary);
    }
    fprintf(out, "  %-10s %s\n", "version", "print the version");
    fprintf(out, "\n'smelter <command> --help' shows a command's flags; 'smelter help config' the\n"
                 "keys of a pipeline file.\n"
                 "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,\n"
                 "3 expectation failed, 130 interrupted.\n");
}

/* The first signal asks to stop cleanly (cli_stop = 1). For a command with stop_levels the
 * second asks to abandon the work at hand (cli_stop = 2); after that, or after the first for
 * the other commands, the default action ends the process at once. */
static void on_signal(int sig)
{
    if (cli_stop == 0) {
        cli_stop = 1;
        if (stop_levels) {
            return;
        }
    } else {
        cli_stop = 2;
    }
    signal(sig, SIG_DFL);
}

int main(int argc, char **argv)
{
    const char *names[sizeof commands / sizeof commands[0] + 1];
    const char *name;
    size_t n = 0;
    struct sigaction sa;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0) {
            if (strcmp(argv[2], "--markdown") == 0) {
                cli_print_markdown(stdout, commands);
                return SM_EXIT_OK;
            }
            /* the pipeline file's keys (docs/configuration.md is the Markdown form) */
            if (strcmp(argv[2], "config") == 0) {
                sm_pipeline_print_reference(stdout);
                return SM_EXIT_OK;
            }
            if (strcmp(argv[2], "--config-markdown") == 0) {
                sm_pipeline_print_markdown(stdout);
                return SM_EXIT_OK;
            }
            for (const cli_command *const *c = commands; *c; c++) {
                if (strcmp((*c)->name, argv[2]) == 0) {
                    char help[] = "--help";
                    char *args[] = {help, NULL};
                    return (*c)->run(1, args);
                }
            }
        }
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SM_EXIT_USAGE : SM_EXIT_OK;
    }
    name = argv[1];
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("smelter %s\n", SMELTER_VERSION);
        return SM_EXIT_OK;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (const cli_command *const *c = commands; *c; c++) {
        if (strcmp((*c)->name, name) == 0) {
            stop_levels = (*c)->stop_levels;
            return (*c)->run(argc - 2, argv + 2);
        }
        names[n++] = (*c)->name;
    }
    names[n++] = "version";
    names[n] = NULL;
    {
        const char *near = sm_nearest(name, names);
        fprintf(stderr, "smelter: unknown command '%s'%s%s%s\nTry 'smelter --help'.\n", name,
                near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    return SM_EXIT_USAGE;
}
