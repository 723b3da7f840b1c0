/* cratis artifact record|list: the registry of built artifacts in the project's state. Stable
 * versions are immutable; a SNAPSHOT's new digest replaces the previous one, kept as history. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

static const char usage[] = "cratis artifact record NAME VERSION DIGEST | artifact list [NAME] [--history] [-f PATH] [-o text|json]";

static int record(struct session *s, struct cli_ctx *ctx)
{
	const char *name = ctx->args.v[1], *version = ctx->args.v[2], *digest = ctx->args.v[3];
	struct semver v;
	char *err;
	if (semver_parse(&v, version, &err)) {
		fprintf(stderr, "error: artifact record: VERSION: %s\n", err);
		free(err);
		return EXIT_ERROR;
	}
	if (!*name || !*digest) {
		fprintf(stderr, "error: artifact record: NAME and DIGEST must not be empty\n");
		semver_release(&v);
		return EXIT_ERROR;
	}
	struct artifact a = { .name = (char *)name, .version = (char *)version, .digest = (char *)digest,
	                      .snapshot = semver_is_snapshot(&v), .user = (char *)user_name() };
	semver_release(&v);
	enum artifact_outcome outcome;
	struct artifact old;
	int rc = store_artifact_record(s->store, &a, &outcome, &old);
	if (rc) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		artifact_release(&old);
		return EXIT_ERROR;
	}
	if (outcome == ARTIFACT_SAME)
		printf("unchanged: %s %s is already recorded with %s\n", name, version, digest);
	else if (outcome == ARTIFACT_REPLACED)
		printf("replaced snapshot %s %s: %s (was %s, kept in history)\n", name, version, digest, old.digest);
	else
		printf("recorded %s %s: %s (%s)\n", name, version, digest, a.snapshot ? "snapshot, overridable" : "immutable");
	artifact_release(&old);
	return EXIT_OK;
}

static int list(struct session *s, struct cli_ctx *ctx)
{
	struct artifacts a;
	if (store_artifacts(s->store, ctx->args.n > 1 ? ctx->args.v[1] : NULL, ctx->history, &a)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		return EXIT_ERROR;
	}
	if (ctx->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < a.n; i++)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "name", a.v[i].name, "version", a.v[i].version,
			                                     "digest", a.v[i].digest, "snapshot", a.v[i].snapshot, "current", a.v[i].current,
			                                     "recorded", a.v[i].recorded, "user", a.v[i].user ? a.v[i].user : ""));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(arr);
	} else {
		printf("%-16s %-18s %-10s %-21s %s\n", "NAME", "VERSION", "KIND", "RECORDED", "DIGEST");
		for (size_t i = 0; i < a.n; i++)
			printf("%-16s %-18s %-10s %-21s %s%s\n", a.v[i].name, a.v[i].version, a.v[i].snapshot ? "snapshot" : "stable",
			       a.v[i].recorded, a.v[i].digest, a.v[i].current ? "" : " (superseded)");
	}
	store_artifacts_release(&a);
	return EXIT_OK;
}

int cmd_artifact(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_OUTPUT | CF_HISTORY, ctx, usage);
	if (rc)
		return rc;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	bool rec = !strcmp(sub, "record"), lst = !strcmp(sub, "list");
	if ((!rec && !lst) || (rec && ctx->args.n != 4) || (lst && ctx->args.n > 2)) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct session s;
	if (!(rc = cli_load(ctx, &s, LOAD_STATE)))
		rc = rec ? record(&s, ctx) : list(&s, ctx);
	session_release(&s);
	return rc;
}
