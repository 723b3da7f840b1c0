/* Shared CLI plumbing: loading a project, printing errors and progress. (Flags: args.c.) */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
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

/* The CLI's observer: today's progress lines on stderr ("Task/x: creating", "Task/x: created in
 * 0.01s", "error: Task/x: create failed: ...", plugin lines indented); debug lines only with -v.
 * Called from worker threads: each line is one fprintf, which stdio locks. */
static void observe(const struct engine_event *ev, void *payload)
{
	const struct cli_ctx *ctx = payload;
	static const char *const doing[] = { "", "creating", "updating", "replacing", "deleting" };
	static const char *const done_word[] = { "", "created", "updated", "replaced", "deleted" };
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: " };
	const char *msg = ev->message ? ev->message : "";
	switch (ev->type) {
	case EV_RESOURCE_STARTED:
		fprintf(stderr, "%s: %s\n", ev->resource, doing[ev->action]);
		break;
	case EV_RESOURCE_RUNNING:
		fprintf(stderr, "%s: still %s [%llds elapsed]\n", ev->resource, doing[ev->action], (long long)(ev->elapsed_ms / 1000));
		break;
	case EV_RESOURCE_FINISHED:
		fprintf(stderr, "%s: %s in %.2fs\n", ev->resource, done_word[ev->action], (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_FAILED:
		fprintf(stderr, "error: %s: %s failed: %s\n", ev->resource, action_names[ev->action], msg);
		break;
	case EV_RESOURCE_INTERRUPTED:
		fprintf(stderr, "%s: %s interrupted after %.2fs\n", ev->resource, action_names[ev->action], (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_SKIPPED:
		if (strcmp(msg, "cancelled"))
			fprintf(stderr, "warning: %s: %s\n", ev->resource, msg);
		break;
	case EV_LOG:
		if (ev->level < CRATIS_LOG_INFO && !ctx->verbose)
			break;
		if (ev->resource)
			fprintf(stderr, "%s  %s: %s\n", tag[ev->level & 3], ev->resource, msg);
		else
			fprintf(stderr, "%s%s\n", tag[ev->level & 3], msg);
		break;
	case EV_WARNING:
		fprintf(stderr, "warning: %s\n", msg);
		break;
	case EV_STAGE:
	case EV_EMIT:
	case EV_DEPLOYMENT_STARTED:
	case EV_DEPLOYMENT_FINISHED:
		break;
	}
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
	ctx->observer.event = observe;
	ctx->observer.payload = ctx;
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
