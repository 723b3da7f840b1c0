/* cratis apply / cratis destroy: plan, confirm, lock the environment, execute; cratis apply FILE:
 * execute a saved plan. */
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

/* Terraform's "Outputs:" block on stdout after a successful apply. */
static void print_apply_outputs(struct cli_ctx *ctx, struct app *a)
{
	struct diags d = DIAGS_INIT;
	json_t *outs = NULL;
	if (app_outputs(a, &outs, &d))
		print_errors(ctx, &d);
	else if (json_array_size(outs)) {
		printf("\nOutputs:\n\n");
		print_outputs(outs, stdout);
	}
	json_decref(outs);
	diags_release(&d);
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

/* The exit code of an apply or destroy, with its closing line on stderr. */
static int finish(struct cli_ctx *ctx, bool destroy, int arc, const struct app_run *run, const struct diags *d)
{
	int rc;
	if (arc && !run->counts.deployment) {
		/* nothing ran: locked, invalid or stale plan, state error */
		size_t n = diags_errors(d);
		if (arc == CRATIS_EINVAL && n)
			fprintf(stderr, "%zu error%s; nothing was changed\n", n, n == 1 ? "" : "s");
		rc = exit_code_of(arc);
	} else if (!run->changes) {
		rc = EXIT_OK;
	} else if (!run->approved) {
		rc = EXIT_ERROR;
	} else {
		const struct apply_result *c = &run->counts;
		/* the summary is a result (stdout, as Terraform prints "Apply complete!"), in colour on
		 * a terminal: green when complete, red when failed, yellow when interrupted */
		bool color = cli_color(ctx, stdout), stopped = c->interrupted || run->cancelled;
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
	return exit_code_cancelled(ctx, rc);
}

int cli_apply(struct cli_ctx *ctx, bool destroy)
{
	struct app *a;
	bool state_only = false;
	int rc = destroy ? cli_open_destroy(ctx, &a, &state_only) : cli_open(ctx, APP_LOAD_MANIFESTS, &a);
	if (rc)
		return rc;
	struct review_ctx r = { ctx, destroy ? "destroy" : "apply", false };
	struct plan p;
	struct app_run run;
	struct diags d = DIAGS_INIT;
	if (!ctx->json)
		print_sources(a->ms.sources, stdout);
	int arc = app_apply(a, destroy, review, &r, &p, &run, &d);
	print_errors(ctx, &d);
	rc = finish(ctx, destroy, arc, &run, &d);
	if (rc == EXIT_OK && !destroy && !run.cancelled)
		print_apply_outputs(ctx, a);
	cli_deliver_events(ctx, a);
	diags_release(&d);
	app_plan_release(&p);
	app_close(a);
	return rc;
}

/* A saved plan was reviewed when it was made: show it and go on, like `terraform apply FILE`. */
static bool review_saved(const struct plan *p, bool changes, void *payload)
{
	struct review_ctx *r = payload;
	if (*r->ctx->cancel)
		return false;
	print_plan(p, stdout, cli_color(r->ctx, stdout));
	if (!changes)
		printf("No changes. The saved plan has nothing to do.\n");
	fflush(stdout);
	return true;
}

/* cratis apply FILE: apply exactly the saved plan in file (its manifests, environment and state
 * directory), refusing a stale one. */
static int apply_saved(struct cli_ctx *ctx, const char *file)
{
	struct diags d = DIAGS_INIT;
	json_t *saved = NULL;
	struct strv paths = STRV_INIT;
	int rc = EXIT_ERROR;
	if (ctx->targets.n) {
		fprintf(stderr, "error: -target cannot be used with a saved plan: the plan carries its targets\n");
		return EXIT_USAGE;
	}
	if (app_plan_read(file, &saved, &d)) {
		print_errors(ctx, &d);
		goto out_release;
	}
	const char *env = json_string_value(json_object_get(saved, "environment"));
	if (ctx->env && env && strcmp(ctx->env, env)) {
		fprintf(stderr, "error: the saved plan '%s' is for environment '%s', not '%s'\n", file, env, ctx->env);
		goto out_release;
	}
	if (env && *env)
		ctx->env = env;
	/* the manifests the plan was made from (unless -f names them) */
	bool given = !(ctx->files.n == 1 && !strcmp(ctx->files.v[0], "."));
	if (!given) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(saved, "paths"), i, v)
			if (json_is_string(v))
				strv_push(&paths, json_string_value(v));
		if (paths.n) {
			strv_release(&ctx->files);
			ctx->files = paths;
			paths = (struct strv)STRV_INIT;
		}
	}
	if (!ctx->state_dir && json_is_string(json_object_get(saved, "state_dir")))
		ctx->state_dir = json_string_value(json_object_get(saved, "state_dir"));
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		goto out_release;
	bool destroy = json_is_true(json_object_get(saved, "destroy"));
	size_t ti;
	json_t *tv;
	json_array_foreach(json_object_get(saved, "targets"), ti, tv)
		if (json_is_string(tv))
			strv_push(&ctx->targets, json_string_value(tv));
	warn_targeting(ctx, destroy);
	struct review_ctx r = { ctx, destroy ? "destroy" : "apply", false };
	struct plan p;
	struct app_run run;
	int arc = app_apply_saved(a, saved, review_saved, &r, &p, &run, &d);
	print_errors(ctx, &d);
	rc = finish(ctx, destroy, arc, &run, &d);
	if (rc == EXIT_OK && !destroy && !run.cancelled)
		print_apply_outputs(ctx, a);
	cli_deliver_events(ctx, a);
	app_plan_release(&p);
	app_close(a);
out_release:
	diags_release(&d);
	strv_release(&paths);
	/* ctx->env and ctx->state_dir may point into saved: the command ends here */
	ctx->env = NULL;
	ctx->state_dir = NULL;
	json_decref(saved);
	return rc;
}

static int run(int argc, char **argv, struct cli_ctx *ctx, bool destroy)
{
	(void)argc; /* flags: ctx, parsed from the command table */
	(void)argv;
	if (!destroy && ctx->args.n == 1)
		return apply_saved(ctx, ctx->args.v[0]);
	warn_targeting(ctx, destroy);
	return cli_apply(ctx, destroy);
}

int cmd_apply(int argc, char **argv, struct cli_ctx *ctx)
{
	return run(argc, argv, ctx, false);
}

int cmd_destroy(int argc, char **argv, struct cli_ctx *ctx)
{
	return run(argc, argv, ctx, true);
}
