/* cratis artifact record|list: the registry of built artifacts in the project's state. Stable
 * versions are immutable; a SNAPSHOT's new digest replaces the previous one, kept as history. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char usage[] = "cratis artifact record NAME VERSION DIGEST | artifact list [NAME] [--history] [-f PATH] [-o text|json]";

static int record(struct app *a, struct cli_ctx *ctx)
{
	const char *name = ctx->args.v[1], *version = ctx->args.v[2], *digest = ctx->args.v[3];
	json_t *res;
	struct diags d = DIAGS_INIT;
	int rc = app_artifact_record(a, name, version, digest, &res, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	if (rc)
		return EXIT_ERROR;
	const char *outcome = json_string_value(json_object_get(res, "outcome"));
	if (!strcmp(outcome, "same"))
		printf("unchanged: %s %s is already recorded with %s\n", name, version, digest);
	else if (!strcmp(outcome, "replaced"))
		printf("replaced snapshot %s %s: %s (was %s, kept in history)\n", name, version, digest,
		       json_string_value(json_object_get(res, "previous")));
	else
		printf("recorded %s %s: %s (%s)\n", name, version, digest,
		       json_is_true(json_object_get(res, "snapshot")) ? "snapshot, overridable" : "immutable");
	json_decref(res);
	return EXIT_OK;
}

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static int list(struct app *a, struct cli_ctx *ctx)
{
	json_t *arr;
	struct diags d = DIAGS_INIT;
	int rc = app_artifacts(a, ctx->args.n > 1 ? ctx->args.v[1] : NULL, ctx->history, &arr, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	if (rc)
		return EXIT_ERROR;
	if (ctx->json) {
		print_json(arr);
	} else {
		printf("%-16s %-18s %-10s %-21s %s\n", "NAME", "VERSION", "KIND", "RECORDED", "DIGEST");
		size_t i;
		json_t *o;
		json_array_foreach(arr, i, o)
			printf("%-16s %-18s %-10s %-21s %s%s\n", sget(o, "name"), sget(o, "version"),
			       json_is_true(json_object_get(o, "snapshot")) ? "snapshot" : "stable", sget(o, "recorded"),
			       sget(o, "digest"), json_is_true(json_object_get(o, "current")) ? "" : " (superseded)");
	}
	json_decref(arr);
	return EXIT_OK;
}

int cmd_artifact(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	bool rec = !strcmp(sub, "record"), lst = !strcmp(sub, "list");
	if ((!rec && !lst) || (rec && ctx->args.n != 4) || (lst && ctx->args.n > 2)) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_STATE, &a)))
		return rc;
	rc = rec ? record(a, ctx) : list(a, ctx);
	app_close(a);
	return rc;
}
