/* Placeholders so that this branch links: output, logs, env, explain and validate are built by
 * other branches (their own src/cli/NAME.c). The lead deletes this file when merging them; the
 * commands' table entries, flags and help (commands.c) stay. */
#include <stdio.h>

#include "cli.h"
#include "banned.h"

static int pending(const char *name)
{
	fprintf(stderr, "error: cratis %s: not in this branch\n", name);
	return EXIT_ERROR;
}

int cmd_output(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("output");
}

int cmd_logs(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("logs");
}

int cmd_env(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("env");
}

int cmd_explain(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("explain");
}

int cmd_validate(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("validate");
}
