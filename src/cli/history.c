/* cratis history: deployments of an environment, or the steps of one. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "banned.h"

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void print_steps(json_t *a)
{
	printf("%-32s %-8s %-7s %-21s %s\n", "RESOURCE", "ACTION", "RESULT", "FINISHED", "MESSAGE");
	size_t i;
	json_t *s;
	json_array_foreach(a, i, s)
		printf("%-32s %-8s %-7s %-21s %s\n", sget(s, "resource"), sget(s, "action"), sget(s, "result"), sget(s, "finished"),
		       sget(s, "message"));
}

static void print_deployments(json_t *a)
{
	printf("%-5s %-12s %-10s %-21s %-10s %s\n", "ID", "ENV", "RESULT", "STARTED", "USER", "COMMAND / SUMMARY");
	size_t i;
	json_t *d;
	json_array_foreach(a, i, d) {
		printf("%-5lld %-12s %-10s %-21s %-10s %s (%s)\n", (long long)json_integer_value(json_object_get(d, "id")),
		       sget(d, "environment"), sget(d, "result"), sget(d, "started"), sget(d, "user"), sget(d, "command"),
		       sget(d, "summary"));
		/* the pinned commits of manifests from git, under their deployment */
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(d, "sources"), k, s)
			printf("      from %s at %s (%s)\n", sget(s, "location"), sget(s, "commit"), sget(s, "ref"));
	}
}

int cmd_history(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	long long id = 0;
	if (ctx->args.n) {
		char *end;
		id = strtoll(ctx->args.v[0], &end, 10);
		if (*end || ctx->args.n > 1) {
			fprintf(stderr, "error: history: expected a deployment id, got '%s'\n", ctx->args.v[0]);
			return EXIT_USAGE;
		}
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_STATE, &a)))
		return rc;
	json_t *list = NULL;
	struct diags d = DIAGS_INIT;
	int arc = ctx->args.n ? app_deployment_steps(a, id, &list, &d) : app_history(a, ctx->env, &list, &d);
	char *picked = NULL;
	if (!arc && !ctx->args.n && ctx->env && !json_array_size(list) && app_pick_env(a, ctx->env, &picked, &d))
		arc = CRATIS_EINVAL; /* no deployment, and not an environment of the manifests: a typo */
	free(picked);
	print_errors(ctx, &d);
	if (arc)
		rc = EXIT_ERROR;
	else if (ctx->json)
		print_json(list);
	else if (ctx->args.n)
		print_steps(list);
	else
		print_deployments(list);
	json_decref(list);
	diags_release(&d);
	app_close(a);
	return rc;
}
