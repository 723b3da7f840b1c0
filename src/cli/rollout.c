/* cratis rollout status|promote|abort|rollback|history: inspect and steer a Rollout's releases. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

static const char usage[] = "cratis rollout status|promote|abort|rollback [--to RELEASE]|history [NAME] [-f PATH] [--env NAME] [-o text|json]";

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

static int pick(struct session *s, struct cli_ctx *ctx, struct resource **out)
{
	const char *want = ctx->args.n > 1 ? ctx->args.v[1] : NULL;
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < s->model.nresources; i++) {
		struct resource *r = s->model.resources[i];
		if (strcmp(r->group, "cratis") || strcmp(r->kind, "Rollout"))
			continue;
		n++;
		if (!want || !strcmp(r->name, want))
			*out = *out && !want ? *out : r;
	}
	if (want && !*out) {
		fprintf(stderr, "error: no Rollout '%s' in the manifests\n", want);
		return EXIT_ERROR;
	}
	if (!n) {
		fprintf(stderr, "error: the manifests define no Rollout (kind Rollout, apiVersion cratis/v1)\n");
		return EXIT_ERROR;
	}
	if (!want && n > 1) {
		fprintf(stderr, "error: several Rollouts are defined; name one: %s\n", usage);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void print_releases(const struct releases *rels, bool json, bool all)
{
	json_t *a = json_array();
	if (!json)
		printf("%-16s %-6s %-9s %-18s %-6s %-5s %s\n", "RELEASE", "COLOUR", "STATUS", "STAGE", "AGE", "PORT", "HEALTH");
	for (size_t i = 0; i < rels->n; i++) {
		const struct release *r = &rels->v[i];
		bool live = !strcmp(r->status, "active") || !strcmp(r->status, "preview") || !strcmp(r->status, "previous");
		if (!all && !live)
			continue;
		char ag[32];
		age(r->created, ag);
		const char *health = live ? (rollout_release_healthy(r) ? "up" : "down") : "-";
		if (json) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "release", r->id, "colour", r->colour, "status", r->status,
			                      "stage", r->stage ? r->stage : "", "created", r->created, "port", r->port, "health", health,
			                      "updated", r->updated);
			if (all)
				json_object_set_new(o, "stages", r->log ? json_loads(r->log, 0, NULL) : json_array());
			json_array_append_new(a, o);
		} else {
			printf("%-16s %-6s %-9s %-18s %-6s %-5d %s\n", r->id, r->colour, r->status, r->stage ? r->stage : "", ag, r->port, health);
			if (all && r->log) {
				json_t *log = json_loads(r->log, 0, NULL);
				size_t k;
				json_t *st;
				json_array_foreach(log, k, st) {
					const char *outp = json_string_value(json_object_get(st, "output"));
					printf("    %s %-18s %-7s %.100s\n", json_string_value(json_object_get(st, "at")),
					       json_string_value(json_object_get(st, "stage")), json_string_value(json_object_get(st, "result")),
					       outp ? outp : "");
				}
				json_decref(log);
			}
		}
	}
	if (json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(a);
}

int cmd_rollout(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_OUTPUT | CF_TO | CF_LOCK, ctx, usage);
	if (rc)
		return rc;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	static const char *const subs[] = { "status", "promote", "abort", "rollback", "history" };
	bool known = false;
	for (size_t i = 0; i < 5; i++)
		known |= !strcmp(sub, subs[i]);
	if (!known || ctx->args.n > 2) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct session s;
	struct state_rows rows = { 0 };
	char *statedir = NULL;
	struct lock_info me;
	bool locked = false;
	struct resource *r;
	if ((rc = cli_load(ctx, &s, LOAD_MANIFESTS)) || (rc = pick(&s, ctx, &r)))
		goto out_release;
	if (store_list(s.store, s.model.env_name, NULL, &rows)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_release;
	}
	struct state_row *row = store_rows_find(&rows, r->project, r->id);
	statedir = engine_statedir(s.state_dir, s.model.env_name, r->project, r->id);
	struct rollout_target t = { r->project, s.model.env_name, r->name, row ? row->spec : NULL, s.project_dir, statedir };
	bool steer = strcmp(sub, "status") && strcmp(sub, "history");
	if (steer) {
		if ((rc = cli_lock(ctx, &s, &me)))
			goto out_release;
		locked = true;
	}
	if (!row || !row->spec) {
		fprintf(stderr, "error: rollout '%s' has not been applied in environment '%s'\n", r->name, s.model.env_name);
		rc = EXIT_ERROR;
		goto out_release;
	}
	int64_t t0 = now_ms();
	int orc = CRATIS_OK;
	if (!strcmp(sub, "promote"))
		orc = rollout_promote(&s.rollout, &t);
	else if (!strcmp(sub, "abort"))
		orc = rollout_abort(&s.rollout, &t);
	else if (!strcmp(sub, "rollback"))
		orc = rollout_rollback(&s.rollout, &t, ctx->to);
	else
		rollout_scale_down(&s.rollout, &t);
	if (orc) {
		fprintf(stderr, "error: rollout %s: %s\n", sub, cratis_error_last()->message);
		rc = EXIT_ERROR;
	} else if (steer) {
		fprintf(stderr, "rollout %s done in %.3fs\n", sub, (double)(now_ms() - t0) / 1000.0);
	}
	struct releases rels;
	if (store_releases(s.store, s.model.env_name, r->project, r->name, &rels)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
	} else if (!steer || !orc)
		print_releases(&rels, ctx->json, !strcmp(sub, "history"));
	store_releases_release(&rels);
out_release:
	if (locked)
		store_unlock(s.store, me.id);
	free(statedir);
	store_rows_release(&rows);
	session_release(&s);
	return rc;
}
