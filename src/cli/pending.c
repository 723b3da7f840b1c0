/* Placeholder so that main links until `cratis logs` (src/cli/logs.c) is merged; its table entry,
 * flags and help (commands.c) stay. Deleted with that merge. */
#include <stdio.h>

#include "cli.h"
#include "banned.h"

static int pending(const char *name)
{
	fprintf(stderr, "error: cratis %s: not in this branch\n", name);
	return EXIT_ERROR;
}

int cmd_logs(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc, (void)argv, (void)ctx;
	return pending("logs");
}

