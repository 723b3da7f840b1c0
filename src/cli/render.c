/* cratis render: an environment's capabilities as an OpenTofu root module for one provider. */
#define _GNU_SOURCE
#include <stdio.h>

#include "cli.h"
#include "banned.h"

int cmd_render(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *usage = "cratis render [-f PATH]... [--env NAME] [--provider aws|gcp|azure] -o DIR [--deny-lock-in]";
	(void)argc; /* flags: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (!ctx->out_dir || ctx->args.n) {
		fprintf(stderr, "error: %s\nusage: %s\n", ctx->args.n ? "unexpected argument" : "-o DIR is required", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a);
	if (rc)
		return rc;
	struct render_result r;
	struct diags d = DIAGS_INIT;
	int st = app_render(a, ctx->provider, ctx->out_dir, ctx->deny_lock_in, &r, &d);
	print_errors(ctx, &r.warnings);
	print_errors(ctx, &d);
	if (st) {
		size_t n = diags_errors(&d);
		fprintf(stderr, "%zu error%s; nothing was rendered\n", n, n == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else {
		printf("rendered %zu capabilit%s for %s (%s) into %s: %zu files\n", r.modules, r.modules == 1 ? "y" : "ies",
		       r.provider, r.region, ctx->out_dir, r.n);
	}
	diags_release(&d);
	render_result_release(&r);
	app_close(a);
	return rc;
}
