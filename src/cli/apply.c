/* cratis apply / cratis destroy: plan, confirm, lock the environment, execute. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

static bool confirm(const char *what, bool auto_approve)
{
	if (auto_approve)
		return true;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "error: refusing to %s without confirmation: standard input is not a terminal; pass --auto-approve\n", what);
		return false;
	}
	fprintf(stderr, "Do you want to %s these changes? Only 'yes' will be accepted: ", what);
	char answer[16] = "";
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	if (strcmp(answer, "yes\n")) {
		fprintf(stderr, "%s cancelled\n", what);
		return false;
	}
	return true;
}

struct review_ctx {
	struct cli_ctx *ctx;
	const char *what;
	bool refused;              /* no confirmation */
};

/* Show the plan; with changes, ask for confirmation. */
static bool review(const struct plan *p, bool changes, void *payload)
{
	struct review_ctx *r = payload;
	if (*r->ctx->cancel)
		return false; /* interrupted while planning: no question to ask */
	/* the plan is a result: stdout, like Terraform's; the question goes with the diagnostics */
	print_plan(p, stdout, cli_color(r->ctx, stdout));
	if (!changes) {
		if (*p->environment)
			printf("No changes. Environment '%s' matches the manifests.\n", p->environment);
		else
			printf("No changes. The recorded state matches the manifests.\n");
		fflush(stdout);
		return true;
	}
	fflush(stdout);
	r->refused = !confirm(r->what, r->ctx->auto_approve);
	return !r->refused;
}

int cli_apply(struct cli_ctx *ctx, bool destroy)
{
	struct app *a;
	int rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a);
	if (rc)
		return rc;
	struct review_ctx r = { ctx, destroy ? "destroy" : "apply", false };
	struct plan p;
	struct app_run run;
	struct diags d = DIAGS_INIT;
	int arc = app_apply(a, destroy, review, &r, &p, &run, &d);
	print_errors(ctx, &d);
	if (arc && !run.counts.deployment) {
		/* nothing ran: locked, invalid plan, state error */
		size_t n = diags_errors(&d);
		if (arc == CRATIS_EINVAL && n)
			fprintf(stderr, "%zu error%s; nothing was changed\n", n, n == 1 ? "" : "s");
		rc = exit_code_of(arc);
	} else if (!run.changes) {
		rc = EXIT_OK;
	} else if (!run.approved) {
		rc = EXIT_ERROR;
	} else {
		const struct apply_result *c = &run.counts;
		/* the summary is a result (stdout, as Terraform prints "Apply complete!"), in colour on
		 * a terminal: green when complete, red when failed, yellow when interrupted */
		bool color = cli_color(ctx, stdout), stopped = c->interrupted || run.cancelled;
		const char *paint = !color ? "" : stopped ? CLI_YELLOW : arc ? CLI_RED : CLI_GREEN, *off = color ? CLI_RESET : "";
		if (stopped)
			printf("%s%s interrupted:%s %zu succeeded, %zu failed, %zu skipped, %zu interrupted (deployment %lld)\n", paint,
			       destroy ? "Destroy" : "Apply", off, c->ok, c->failed, c->skipped, c->interrupted, (long long)c->deployment);
		else
			printf("%s%s %s:%s %zu succeeded, %zu failed, %zu skipped (deployment %lld)\n", paint, destroy ? "Destroy" : "Apply",
			       arc ? "failed" : "complete", off, c->ok, c->failed, c->skipped, (long long)c->deployment);
		fflush(stdout);
		rc = arc ? EXIT_ERROR : EXIT_OK;
	}
	rc = exit_code_cancelled(ctx, rc);
	diags_release(&d);
	app_plan_release(&p);
	app_close(a);
	return rc;
}

static int run(int argc, char **argv, struct cli_ctx *ctx, bool destroy)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_JOBS | CF_APPROVE | CF_LOCK | CF_REFRESH | CF_OUTPUT | CF_GRACE | CF_STREAM, ctx,
	                   destroy ? "cratis destroy [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS] [--grace SECONDS] [--stream] [--no-color]"
	                           : "cratis apply [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS] [--grace SECONDS] [--stream] [--no-color]");
	return rc ? rc : cli_apply(ctx, destroy);
}

int cmd_apply(int argc, char **argv, struct cli_ctx *ctx)
{
	return run(argc, argv, ctx, false);
}

int cmd_destroy(int argc, char **argv, struct cli_ctx *ctx)
{
	return run(argc, argv, ctx, true);
}
