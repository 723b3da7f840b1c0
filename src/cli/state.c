/* cratis state list|show|rm|mv|unlock|migrate: inspect recorded state, forget or rename a
 * recorded resource, release a stale lock, copy the state into another store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* cratis state migrate --to URL [--from URL]: the source is --from, else the store every command
 * opens (--state, CRATIS_STATE, the project's SQLite file). */
static int state_migrate(struct cli_ctx *ctx)
{
	if (!ctx->to || !*ctx->to || ctx->args.n != 1) {
		fprintf(stderr, "error: usage: cratis state migrate --to URL [--from URL] [-o text|json]\n");
		return EXIT_USAGE;
	}
	if (ctx->from)
		ctx->state_url = ctx->from;
	struct app *a;
	int rc = cli_open(ctx, APP_LOAD_STATE, &a);
	if (rc)
		return rc;
	struct diags d = DIAGS_INIT;
	json_t *out = NULL;
	int src = app_state_migrate(a, ctx->to, &out, &d);
	if (src) {
		rc = exit_code_of(src);
	} else if (ctx->json) {
		print_json(out);
	} else {
		printf("Copied the state of %s '%s' to %s '%s':\n", sget(out, "from_backend"), sget(out, "from"),
		       sget(out, "to_backend"), sget(out, "to"));
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(out, "tables"), i, t)
			printf("  %-12s %8lld rows  sha256:%.16s\n", sget(t, "name"), (long long)json_integer_value(json_object_get(t, "rows")),
			       sget(t, "sha256"));
		printf("Verified: the target holds what the source does (row counts and digests); the source is unchanged.\n"
		       "Use it with --state '%s' or CRATIS_STATE.\n", sget(out, "to"));
	}
	print_errors(ctx, &d);
	diags_release(&d);
	json_decref(out);
	app_close(a);
	return rc;
}

int cmd_state(int argc, char **argv, struct cli_ctx *ctx)
{
	static const char usage[] = "cratis state list|show ID|rm ADDRESS...|mv OLD NEW|unlock LOCK_ID [--force]|migrate --to URL [--from URL] [-f PATH] [--env NAME] [-o text|json] [--lock-timeout SECONDS]";
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	bool list = !strcmp(sub, "list"), show = !strcmp(sub, "show"), unlock = !strcmp(sub, "unlock");
	bool rm = !strcmp(sub, "rm"), mv = !strcmp(sub, "mv"), migrate = !strcmp(sub, "migrate");
	if (migrate)
		return state_migrate(ctx);
	if ((!list && !show && !unlock && !rm && !mv) || ((show || unlock) && ctx->args.n != 2) || (list && ctx->args.n != 1) ||
	    (rm && ctx->args.n < 2) || (mv && ctx->args.n != 3) || (ctx->force && !unlock)) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_STATE, &a)))
		return rc;
	struct diags d = DIAGS_INIT;
	char *env = NULL;
	json_t *rows = NULL, *locks = NULL, *one = NULL;
	if (unlock) {
		if (app_state_unlock(a, ctx->args.v[1], ctx->force, &one, &d))
			rc = EXIT_ERROR;
		else
			fprintf(stderr, "lock %s released (held by %s@%s pid %lld running '%s' since %s)\n", ctx->args.v[1],
			        sget(one, "user"), sget(one, "host"), (long long)json_integer_value(json_object_get(one, "pid")),
			        sget(one, "command"), sget(one, "since"));
		goto out_release;
	}
	if (app_pick_env(a, ctx->env, &env, &d)) {
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (rm || mv) {
		int src = rm ? app_state_rm(a, env, (const char *const *)ctx->args.v + 1, ctx->args.n - 1, &rows, &d)
		             : app_state_mv(a, env, ctx->args.v[1], ctx->args.v[2], &one, &d);
		if (src) {
			rc = exit_code_of(src);
		} else if (ctx->json) {
			print_json(rm ? rows : one);
		} else if (rm) {
			size_t i;
			json_t *o;
			json_array_foreach(rows, i, o)
				printf("Removed %s from the state of environment '%s' (the resource itself was left as it is)\n",
				       json_string_value(o), env);
		} else {
			printf("Moved %s/%s to %s/%s in the state of environment '%s'\n", sget(one, "project"), sget(one, "from"),
			       sget(one, "project"), sget(one, "to"), env);
		}
		goto out_release;
	}
	if (list) {
		if (app_state_list(a, env, &rows, &locks, &d)) {
			rc = EXIT_ERROR;
			goto out_release;
		}
		if (ctx->json) {
			print_json(rows);
		} else {
			size_t i;
			json_t *o;
			json_array_foreach(rows, i, o)
				printf("%s/%s\t%s%s%s\n", sget(o, "project"), sget(o, "id"), sget(o, "status"),
				       json_object_get(o, "owner") ? "\towned by " : "", json_object_get(o, "owner") ? sget(o, "owner") : "");
			json_array_foreach(locks, i, o)
				printf("lock %s on environment '%s': %s@%s pid %lld '%s' since %s\n", sget(o, "id"), sget(o, "environment"),
				       sget(o, "user"), sget(o, "host"), (long long)json_integer_value(json_object_get(o, "pid")),
				       sget(o, "command"), sget(o, "since"));
		}
	} else if (app_state_show(a, env, ctx->args.v[1], &one, &d)) {
		rc = EXIT_ERROR;
	} else {
		print_json(one);
	}
out_release:
	print_errors(ctx, &d);
	diags_release(&d);
	json_decref(rows);
	json_decref(locks);
	json_decref(one);
	free(env);
	app_close(a);
	return rc;
}
