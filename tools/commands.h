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

#include "core/options.h"

/* First member of every command's configuration struct. */
typedef struct cli_common {
    bool help;
    int log_level;  /* sm_log_level */
    int log_format; /* sm_log_format */
} cli_common;

extern const sm_opt cli_common_opts[];

/* Set by SIGINT/SIGTERM in main(); commands stop cleanly when it becomes non-zero. */
extern volatile sig_atomic_t cli_stop;

/* Parses flags with the common table first, configures logging, and handles --help (prints
 * usage + flags to stdout). Returns -1 to go on, or an exit code to return at once. */
int cli_parse(const char *usage, const sm_opt *cmd_opts, void *conf, int argc, char **argv,
              sm_strlist *positional);

/* Prints "smelter <cmd>: <message>" for an error and returns its exit code. */
int cli_fail(const char *cmd, const sm_error *err);

int cmd_broker(int argc, char **argv);
int cmd_produce(int argc, char **argv);

#endif
