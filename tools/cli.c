/* Shared plumbing of the subcommands: common flags, logging set-up, --help, error exit. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "tools/commands.h"

volatile sig_atomic_t cli_stop = 0;

const sm_opt cli_common_opts[] = {
    {"help", 'h', SM_OPT_BOOL, offsetof(cli_common, help), NULL, SM_NO_BOUNDS, NULL, NULL,
     "show this help and exit"},
    {"log-level", 0, SM_OPT_ENUM, offsetof(cli_common, log_level), "info", SM_NO_BOUNDS,
     "error|warn|info|debug", "LEVEL", "least severe log level shown (env SMELTER_LOG_LEVEL)"},
    {"log-format", 0, SM_OPT_ENUM, offsetof(cli_common, log_format), "auto", SM_NO_BOUNDS,
     "auto|human|json", "FORMAT",
     "auto: human lines on a terminal, JSON lines otherwise (env SMELTER_LOG_FORMAT)"},
    SM_OPT_END,
};

int cli_parse(const char *usage, const sm_opt *cmd_opts, void *conf, int argc, char **argv,
              sm_strlist *positional)
{
    const sm_opt *tables[] = {cli_common_opts, cmd_opts, NULL};
    cli_common *common = conf;
    sm_error err;
    const char *env;
    sm_log_level level;
    sm_log_format format;

    if (sm_opts_parse(tables, conf, argc, argv, positional, &err) != SM_OK) {
        fprintf(stderr, "%s\nTry '--help' for the flags.\n", err.msg);
        return SM_EXIT_USAGE;
    }
    if (common->help) {
        fputs(usage, stdout);
        fputs("\nFlags:\n", stdout);
        sm_opts_print_help(stdout, tables);
        return SM_EXIT_OK;
    }
    /* The environment fills in what the flags left at their defaults. */
    level = (sm_log_level)common->log_level;
    format = (sm_log_format)common->log_format;
    if (level == SM_LOG_INFO && (env = getenv("SMELTER_LOG_LEVEL")) && *env &&
        sm_log_level_parse(env, &level) != 0) {
        fprintf(stderr, "SMELTER_LOG_LEVEL=%s: expected error, warn, info or debug\n", env);
        return SM_EXIT_USAGE;
    }
    if (format == SM_LOG_AUTO && (env = getenv("SMELTER_LOG_FORMAT")) && *env &&
        sm_log_format_parse(env, &format) != 0) {
        fprintf(stderr, "SMELTER_LOG_FORMAT=%s: expected auto, human or json\n", env);
        return SM_EXIT_USAGE;
    }
    sm_log_setup(level, format, stderr);
    return -1;
}

int cli_fail(const char *cmd, const sm_error *err)
{
    sm_log_error(cmd, "%s", err->msg);
    return sm_exit_code(err->code);
}
