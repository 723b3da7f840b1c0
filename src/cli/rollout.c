/* cratis rollout status|promote|abort|rollback|history: inspect and steer a Rollout's releases. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

static const char usage[] = "cratis rollout status|promote|abort|rollback [--to RELEASE [--force]]|history [NAME] [-f PATH] [--env NAME] [-o text|json]";

/* Age of an RFC 3339 UTC time, as "12s", "5m", "3h". */
static void age(const char *when, char out[32])
{
	struct tm tm = { 0 };
	snprintf(out, 32, "?");
	if (!when || !strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return;
	long d = (long)(time(NULL) - timegm(&tm));
	if (d < 120)
		snprintf(out, 32, "%lds", d);
	else if (d < 7200)
		snprintf(out, 32, "%ldm", d / 60);
	else
		snprintf(out, 32, "%ldh", d / 3600);
}

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void print_releases(json_t *rels, bool json, bool all)
{
	json_t *shown = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(rels, i, r) {
		if (!all && !json_is_true(json_object_get(r, "live")))
			continue;
		json_t *o = json_deep_copy(r);
		json_object_del(o, "live");
		if (!all)
			json_object_del(o, "stages");
		json_array_append_new(shown, o);
	}
	if (json) {
		print_json(shown);
		json_decref(shown);
		return;
	}
	printf("%-16s %-6s %-9s %-18s %-6s %-5s %s\n", "RELEASE", "COLOUR", "STATUS", "STAGE", "AGE", "PORT", "HEALTH");
	json_array_foreach(shown, i, r) {
		char ag[32];
		age(sget(r, "created"), ag);
		printf("%-16s %-6s %-9s %-18s %-6s %-5d %s\n", sget(r, "release"), sget(r, "colour"), sget(r, "status"),
		       sget(r, "stage"), ag, (int)json_integer_value(json_object_get(r, "port")), sget(r, "health"));
		size_t k;
		json_t *st;
		json_array_foreach(json_object_get(r, "stages"), k, st)
			printf("    %s %-18s %-7s %.100s\n", sget(st, "at"), sget(st, "stage"), sget(st, "result"), sget(st, "output"));
	}
	json_decref(shown);
}

int cmd_rollout(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	static const char *const subs[] = { "status", "promote", "abort", "rollback", "history" };
	static const enum app_rollout_action acts[] = { APP_ROLLOUT_STATUS, APP_ROLLOUT_PROMOTE, APP_ROLLOUT_ABORT,
	                                                APP_ROLLOUT_ROLLBACK, APP_ROLLOUT_HISTORY };
	int which = -1;
	for (int i = 0; i < 5; i++)
		if (!strcmp(sub, subs[i]))
			which = i;
	if (which < 0 || ctx->args.n > 2) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	enum app_rollout_action act = acts[which];
	bool steer = act != APP_ROLLOUT_STATUS && act != APP_ROLLOUT_HISTORY;
	json_t *rels = NULL;
	struct diags d = DIAGS_INIT;
	int64_t t0 = now_ms();
	int arc = app_rollout(a, act, ctx->args.n > 1 ? ctx->args.v[1] : NULL, ctx->to, ctx->force, &rels, &d);
	print_errors(ctx, &d);
	if (arc) {
		rc = arc == CRATIS_EINVAL && ctx->args.n < 2 ? EXIT_USAGE : exit_code_of(arc);
		if (rc == EXIT_USAGE)
			fprintf(stderr, "usage: %s\n", usage);
		rc = exit_code_cancelled(ctx, rc);
	} else {
		if (steer)
			fprintf(stderr, "rollout %s done in %.3fs\n", sub, (double)(now_ms() - t0) / 1000.0);
		print_releases(rels, ctx->json, act == APP_ROLLOUT_HISTORY);
	}
	if (steer)
		cli_deliver_events(ctx, a);
	json_decref(rels);
	diags_release(&d);
	app_close(a);
	return rc;
}
