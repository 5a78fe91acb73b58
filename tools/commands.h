/*
 * The `smelter` subcommands. Each takes the arguments after its name and returns the process
 * exit code (core/error.h: 0 ok, 1 runtime failure, 2 usage, 3 expectation, 130 interrupted).
 *
 * Every command's flags are a table (core/options.h) that starts with the common flags, so
 * --help, --log-level and --log-format work the same everywhere.
 */
#ifndef SM_TOOLS_COMMANDS_H
#define SM_TOOLS_COMMANDS_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/options.h"

/* First member of every command's configuration struct. */
typedef struct cli_common {
    bool help;
    int log_level;  /* sm_log_level */
    int log_format; /* sm_log_format */
} cli_common;

extern const sm_opt cli_common_opts[];

/* Set by SIGINT/SIGTERM in main(); commands stop cleanly when it becomes non-zero. For a
 * command with stop_levels, a second signal sets it to 2 (abandon the work at hand now) and a
 * third ends the process; for the others the second signal ends the process at once. */
extern volatile sig_atomic_t cli_stop;

/* Parses flags with the common table first, configures logging, and handles --help (prints
 * usage + flags to stdout). Returns -1 to go on, or an exit code to return at once. */
int cli_parse(const char *cmd, const char *usage, const sm_opt *cmd_opts, void *conf, int argc,
              char **argv, sm_strlist *positional);

/* Reports an error and returns its exit code: a usage error as one plain line
 * "smelter <cmd>: <message>" on stderr, anything else through the logger. */
int cli_fail(const char *cmd, const sm_error *err);

/* A subcommand: what --help, `smelter help` and docs/cli.md show, and its entry point. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for the command list */
    const char *usage;   /* the text above the flags in --help */
    const sm_opt *opts;  /* its own flags (the common ones are added) */
    int (*run)(int argc, char **argv);
    bool stop_levels; /* acts on cli_stop == 2 itself (see cli_stop) */
} cli_command;

extern const cli_command cli_demo_command;
extern const cli_command cli_broker_command;
extern const cli_command cli_produce_command;
extern const cli_command cli_parquet_command;
extern const cli_command cli_table_command;
extern const cli_command cli_run_command;
extern const cli_command cli_validate_command;

/* Prints the reference of every command as Markdown (docs/cli.md is this output). */
void cli_print_markdown(FILE *out, const cli_command *const *commands);

#endif
