/* cratis apply / cratis destroy: plan, confirm, lock the environment, execute. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/error.h"
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

int cli_apply(struct cli_ctx *ctx, bool destroy)
{
	const char *what = destroy ? "destroy" : "apply";
	int rc;
	struct session s;
	struct plan p = { 0 };
	struct diags errors = DIAGS_INIT;
	char *inputs = NULL;
	if ((rc = cli_load(ctx, &s, LOAD_MANIFESTS)))
		goto out_release;
	s.opts.destroy = destroy;

	struct lock_info me;
	if ((rc = cli_lock(ctx, &s, &me)))
		goto out_release;
	if (plan_build(&p, &s.model, s.store, &s.reg, &s.opts, &errors)) {
		print_errors(&errors);
		fprintf(stderr, "%zu error%s; nothing was changed\n", diags_errors(&errors), diags_errors(&errors) == 1 ? "" : "s");
		rc = EXIT_ERROR;
		goto out_unlock;
	}
	print_plan(&p, stderr);
	if (!plan_has_changes(&p)) {
		if (*p.environment)
			fprintf(stderr, "No changes. Environment '%s' matches the manifests.\n", p.environment);
		else
			fprintf(stderr, "No changes. The recorded state matches the manifests.\n");
		rc = EXIT_OK;
		goto out_unlock;
	}
	if (!confirm(what, ctx->auto_approve)) {
		rc = EXIT_ERROR;
		goto out_unlock;
	}
	const char *project = s.model.nprojects ? s.model.projects[0].name : "default";
	/* what this deployment took from outside the manifests, so that it can be promoted */
	json_t *vars = s.model.env && s.model.env->variables ? json_incref((json_t *)s.model.env->variables) : json_object();
	json_t *in = json_pack("{s:o,s:O}", "variables", vars, "artifacts", s.artifacts);
	inputs = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(in);
	struct apply_result res;
	int arc = plan_apply(&p, s.store, &s.opts, ctx->command_line, project, destroy ? NULL : inputs, &res);
	if (arc && arc != CRATIS_ERROR)
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
	fprintf(stderr, "%s %s: %zu succeeded, %zu failed, %zu skipped (deployment %lld)\n",
	        destroy ? "Destroy" : "Apply", arc ? "failed" : "complete", res.ok, res.failed, res.skipped,
	        (long long)res.deployment);
	rc = arc ? EXIT_ERROR : EXIT_OK;
out_unlock:
	if (store_unlock(s.store, me.id))
		fprintf(stderr, "warning: %s\n", cratis_error_last()->message);
out_release:
	free(inputs);
	diags_release(&errors);
	plan_release(&p);
	session_release(&s);
	return rc;
}

static int run(int argc, char **argv, struct cli_ctx *ctx, bool destroy)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_JOBS | CF_APPROVE | CF_LOCK | CF_REFRESH | CF_OUTPUT, ctx,
	                   destroy ? "cratis destroy [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS]"
	                           : "cratis apply [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS]");
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
