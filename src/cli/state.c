/* cratis state list|show|unlock: inspect recorded state and release a stale lock. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

int cmd_state(int argc, char **argv, struct cli_ctx *ctx)
{
	static const char usage[] = "cratis state list|show ID|unlock LOCK_ID [--force] [-f PATH] [--env NAME] [-o text|json]";
	/* --force belongs to `state unlock` alone: taken out before the common flags are parsed */
	bool force = false;
	char **args = xcalloc((size_t)argc + 1, sizeof(*args));
	int nargs = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !strcmp(argv[i], "--force"))
			force = true;
		else
			args[nargs++] = argv[i];
	}
	int rc = cli_parse(nargs, args, CF_FILES | CF_ENV | CF_OUTPUT, ctx, usage);
	free(args);
	if (rc)
		return rc;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	bool list = !strcmp(sub, "list"), show = !strcmp(sub, "show"), unlock = !strcmp(sub, "unlock");
	if ((!list && !show && !unlock) || ((show || unlock) && ctx->args.n != 2) || (force && !unlock)) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct session s;
	if ((rc = cli_load(ctx, &s, LOAD_STATE)))
		goto out_release;
	if (unlock) {
		struct lock_info holder;
		int urc = store_lock_break(s.store, ctx->args.v[1], force, &holder);
		if (urc) {
			fprintf(stderr, "error: %s%s\n", cratis_error_last()->message,
			        urc == CRATIS_ELOCKED ? "; pass --force to release it anyway" : "");
			rc = EXIT_ERROR;
		} else {
			fprintf(stderr, "lock %s released (held by %s@%s pid %ld running '%s' since %s)\n", ctx->args.v[1],
			        holder.user, holder.host, holder.pid, holder.command, holder.since);
		}
		goto out_release;
	}
	struct state_rows rows;
	const char *env = ctx->env ? ctx->env : "";
	char *latest = NULL;
	if (!ctx->env) {
		/* without --env: the environment of the latest deployment */
		struct deployments d;
		if (store_history(s.store, NULL, 1, &d)) {
			fprintf(stderr, "error: %s\n", cratis_error_last()->message);
			rc = EXIT_ERROR;
			goto out_release;
		}
		if (d.n && d.v[0].environment)
			env = latest = xstrdup(d.v[0].environment);
		store_deployments_release(&d);
	}
	if (store_list(s.store, env, NULL, &rows)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		free(latest);
		goto out_release;
	}
	if (list) {
		struct lock_info *locks;
		size_t nlocks;
		if (store_locks(s.store, &locks, &nlocks)) {
			fprintf(stderr, "error: %s\n", cratis_error_last()->message);
			rc = EXIT_ERROR;
			goto out_rows;
		}
		if (ctx->json) {
			json_t *a = json_array();
			for (size_t i = 0; i < rows.n; i++)
				json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id", rows.v[i].id, "project", rows.v[i].project,
				                                   "status", rows.v[i].status, "updated", rows.v[i].updated));
			json_dumpf(a, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(a);
		} else {
			for (size_t i = 0; i < rows.n; i++)
				printf("%s/%s\t%s\n", rows.v[i].project, rows.v[i].id, rows.v[i].status);
			for (size_t i = 0; i < nlocks; i++)
				printf("lock %s on environment '%s': %s@%s pid %ld '%s' since %s\n", locks[i].id, locks[i].environment,
				       locks[i].user, locks[i].host, locks[i].pid, locks[i].command, locks[i].since);
		}
		free(locks);
	} else {
		const char *want = ctx->args.v[1];
		struct state_row *r = NULL;
		for (size_t i = 0; i < rows.n && !r; i++) {
			char *full = xasprintf("%s/%s", rows.v[i].project, rows.v[i].id);
			if (!strcmp(rows.v[i].id, want) || !strcmp(full, want))
				r = &rows.v[i];
			free(full);
		}
		if (!r) {
			fprintf(stderr, "error: no resource '%s' recorded in environment '%s'\n", want, env);
			rc = EXIT_ERROR;
		} else {
			json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", r->id, "project", r->project, "environment", r->environment,
			                      "apiVersion", r->api_version, "status", r->status, "updated", r->updated,
			                      "deployment", (json_int_t)r->deployment);
			json_object_set_new(o, "spec", r->spec ? json_loads(r->spec, 0, NULL) : json_null());
			json_object_set_new(o, "outputs", r->outputs ? json_loads(r->outputs, 0, NULL) : json_null());
			if (r->message)
				json_object_set_new(o, "message", json_string(r->message));
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(o);
		}
	}
out_rows:
	free(latest);
	store_rows_release(&rows);
out_release:
	session_release(&s);
	return rc;
}
