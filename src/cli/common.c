/* Shared CLI plumbing: loading a project, printing errors and progress. (Flags: args.c.) */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "progress.h"
#include "util/error.h"
#include "banned.h"

void print_errors(const struct cli_ctx *ctx, const struct diags *errors)
{
	static const char *const tag[] = { "error", "warning", "note" };
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < errors->n; i++) {
		if (errors->v[i].severity == DIAG_NOTE && !(ctx && ctx->verbose))
			continue;
		buf_clear(&b);
		diag_format(&errors->v[i], &b);
		fprintf(stderr, "%s: %s\n", tag[errors->v[i].severity], b.ptr);
	}
	buf_release(&b);
}

int exit_code_of(int status)
{
	return status == CRATIS_ELOCKED ? EXIT_LOCKED : EXIT_ERROR;
}

int exit_code_cancelled(const struct cli_ctx *ctx, int rc)
{
	int sig = ctx->cancel ? *ctx->cancel & 0xff : 0;
	return sig == SIGTERM ? EXIT_SIGTERM : sig == SIGINT ? EXIT_SIGINT : rc;
}

void print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

bool cli_color(const struct cli_ctx *ctx, FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	if ((ctx && ctx->no_color) || (no && *no) || (term && !strcmp(term, "dumb")))
		return false;
	return isatty(fileno(f));
}

struct app_options cli_app_options(struct cli_ctx *ctx)
{
	return (struct app_options){
		.paths = (const char *const *)ctx->files.v, .npaths = ctx->files.n, .env = ctx->env,
		.state_dir = ctx->state_dir, .state_url = ctx->state_url, .jobs = ctx->jobs, .refresh = ctx->refresh,
		.lock_timeout_ms = ctx->lock_timeout_ms, .grace_ms = ctx->grace_ms, .command_line = ctx->command_line,
		.overrides = ctx->overrides, .artifact_pins = ctx->artifact_pins,
		.observer = &ctx->observer, .cancel = ctx->cancel,
		.targets = (const char *const *)ctx->targets.v, .ntargets = ctx->targets.n,
	};
}

int cli_open(struct cli_ctx *ctx, enum app_load what, struct app **out)
{
	if (!ctx->progress)
		ctx->progress = progress_new(ctx);
	ctx->observer.event = progress_event;
	ctx->observer.payload = ctx->progress;
	struct app_options o = cli_app_options(ctx);
	struct diags d = DIAGS_INIT;
	int rc = app_open(out, &o, what, &d);
	print_errors(ctx, &d);
	if (rc && ctx->json) {
		/* -o json: the diagnostics as a JSON list on stdout, for editors and CI */
		json_t *j = diags_to_json(&d);
		print_json(j);
		json_decref(j);
	}
	if (rc) {
		size_t n = diags_errors(&d);
		if (n && rc != CRATIS_EIO)
			fprintf(stderr, "%zu error%s; nothing was changed\n", n, n == 1 ? "" : "s");
	} else if (ctx->verbose) {
		print_errors(ctx, &(*out)->reg.notes);
		print_errors(ctx, &(*out)->ms.notes); /* what a directory walk skipped */
	}
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK;
}

int cli_versioning(struct cli_ctx *ctx, struct app_versioning *vi)
{
	struct diags d = DIAGS_INIT;
	int rc = app_versioning_open(vi, (const char *const *)ctx->files.v, ctx->files.n, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK;
}
