/* cratis promote --from ENV --to ENV: deploy to the target environment what the source last
 * deployed successfully: the variables the project promotes (Project.spec.promotion.variables)
 * with the source's values, and every ${artifact:...} with the source's version and digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/error.h"
#include "util/buf.h"
#include "banned.h"

static const char usage[] = "cratis promote --from ENV --to ENV [-f PATH]... [-j N] [--auto-approve] [--lock-timeout SECONDS]";

/* The names of Project.spec.promotion.variables of the first Project, or NULL. */
static json_t *promoted_names(const struct model *m)
{
	if (!m->nprojects)
		return NULL;
	json_t *spec = json_object_get(m->projects[0].doc->root, "spec");
	return json_object_get(json_object_get(spec, "promotion"), "variables");
}

/* Check the source and collect what to promote; prints and returns an exit code. */
static int collect(struct cli_ctx *ctx, json_t **overrides, json_t **pins)
{
	struct session s;
	int rc = cli_load(ctx, &s, LOAD_MANIFESTS);
	struct deployments d = { 0 };
	struct state_rows rows = { 0 };
	json_t *inputs = NULL;
	if (rc)
		goto out_release;
	if (store_history(s.store, ctx->from, 0, &d)) {
		fprintf(stderr, "error: refusing to promote: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_release;
	}
	const struct deployment *last = NULL;
	for (size_t i = 0; i < d.n && !last; i++)
		if (d.v[i].result && strcmp(d.v[i].result, "running"))
			last = &d.v[i];
	if (!last) {
		fprintf(stderr, "error: refusing to promote: nothing has been deployed to '%s' yet; apply it first\n", ctx->from);
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (!last->inputs) {
		fprintf(stderr, "error: refusing to promote: the last deployment of '%s' (%lld, `%s`) deployed nothing to promote (a destroy, or a run older than promotion records)\n",
		        ctx->from, (long long)last->id, last->command);
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (strcmp(last->result, "succeeded")) {
		fprintf(stderr, "error: refusing to promote: the last deployment of '%s' (%lld, %s, `%s`) %s: %s\n", ctx->from,
		        (long long)last->id, last->started, last->command, last->result, last->summary ? last->summary : "");
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (store_list(s.store, ctx->from, NULL, &rows)) {
		fprintf(stderr, "error: refusing to promote: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_release;
	}
	for (size_t i = 0; i < rows.n; i++) {
		if (strcmp(rows.v[i].status, "ready")) {
			fprintf(stderr, "error: refusing to promote: %s in '%s' is %s%s%s\n", rows.v[i].id, ctx->from, rows.v[i].status,
			        rows.v[i].message ? ": " : "", rows.v[i].message ? rows.v[i].message : "");
			rc = EXIT_ERROR;
			goto out_release;
		}
	}
	inputs = json_loads(last->inputs, 0, NULL);
	json_t *vars = json_object_get(inputs, "variables"), *names = promoted_names(&s.model);
	*overrides = json_object();
	*pins = json_incref(json_object_get(inputs, "artifacts"));
	struct buf what = BUF_INIT;
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		json_t *v = json_object_get(vars, json_string_value(n));
		if (!json_is_string(n) || !v) {
			fprintf(stderr, "error: refusing to promote: spec.promotion.variables[%zu]: '%s' was not a variable of '%s' in deployment %lld\n",
			        i, json_is_string(n) ? json_string_value(n) : "?", ctx->from, (long long)last->id);
			rc = EXIT_ERROR;
			buf_release(&what);
			goto out_release;
		}
		json_object_set(*overrides, json_string_value(n), v);
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		buf_addf(&what, "%s%s=%s", what.len ? ", " : "", json_string_value(n), t);
		free(t);
	}
	const char *k;
	json_t *a;
	json_object_foreach(*pins, k, a)
		buf_addf(&what, "%sartifact %s %s@%s", what.len ? ", " : "", k, json_string_value(json_object_get(a, "version")),
		         json_string_value(json_object_get(a, "digest")));
	fprintf(stderr, "promoting to '%s' what '%s' deployed in deployment %lld (%s): %s\n", ctx->to, ctx->from,
	        (long long)last->id, last->started, what.len ? what.ptr : "the manifests as they are (nothing promoted by name)");
	buf_release(&what);
out_release:
	json_decref(inputs);
	store_rows_release(&rows);
	store_deployments_release(&d);
	session_release(&s);
	return rc;
}

int cmd_promote(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_FROM | CF_TO | CF_JOBS | CF_APPROVE | CF_LOCK, ctx, usage);
	if (rc)
		return rc;
	if (!ctx->from || !ctx->to || !strcmp(ctx->from, ctx->to) || ctx->args.n) {
		fprintf(stderr, "error: usage: %s (two different environments)\n", usage);
		return EXIT_USAGE;
	}
	json_t *overrides = NULL, *pins = NULL;
	ctx->env = ctx->from;
	if (!(rc = collect(ctx, &overrides, &pins))) {
		ctx->env = ctx->to;
		ctx->overrides = overrides;
		ctx->artifact_pins = pins;
		rc = cli_apply(ctx, false);
		ctx->overrides = ctx->artifact_pins = NULL;
	}
	json_decref(overrides);
	json_decref(pins);
	return rc;
}
