/* cratis version: print the version and ABI. */
#include <stdio.h>

#include "cli.h"
#include "banned.h"

#ifndef CRATIS_VERSION
#define CRATIS_VERSION "0.0.0-dev"
#endif

int cmd_version(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, 0, ctx, "cratis version");
	if (rc)
		return rc;
	printf("cratis %s (plugin ABI %d.%d)\n", CRATIS_VERSION, CRATIS_ABI_MAJOR, CRATIS_ABI_MINOR);
	return EXIT_OK;
}
