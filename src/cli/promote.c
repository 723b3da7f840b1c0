/* cratis promote --from ENV --to ENV: deploy to the target environment what the source last
 * deployed successfully: the variables the project promotes (Project.spec.promotion.variables)
 * with the source's values, and every ${artifact:...} with the source's version and digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char usage[] = "cratis promote --from ENV --to ENV [-f PATH]... [-j N] [--auto-approve] [--lock-timeout SECONDS] [--grace SECONDS]";

int cmd_promote(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (!ctx->from || !ctx->to || !strcmp(ctx->from, ctx->to) || ctx->args.n) {
		fprintf(stderr, "error: usage: %s (two different environments)\n", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	ctx->env = ctx->from;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	struct app_promotion pr;
	struct diags d = DIAGS_INIT;
	int prc = app_promotion_collect(a, ctx->from, &pr, &d);
	app_close(a);
	print_errors(ctx, &d);
	diags_release(&d);
	if (prc)
		return EXIT_ERROR;
	fprintf(stderr, "promoting to '%s' what '%s' deployed in deployment %lld (%s): %s\n", ctx->to, ctx->from,
	        (long long)pr.deployment, pr.started, *pr.what ? pr.what : "the manifests as they are (nothing promoted by name)");
	ctx->env = ctx->to;
	ctx->overrides = pr.overrides;
	ctx->artifact_pins = pr.artifact_pins;
	rc = cli_apply(ctx, false);
	ctx->overrides = ctx->artifact_pins = NULL;
	app_promotion_release(&pr);
	return rc;
}
