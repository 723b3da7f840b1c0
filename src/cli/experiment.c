/* cratis experiment status|run|conclude|abort: watch, decide and conclude an Experiment
 * (docs/experiments.md). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "banned.h"

static const char usage[] = "cratis experiment status [NAME] [--watch] | run [NAME] [--interval SECONDS] | conclude NAME [--winner VARIANT] | abort NAME "
                            "[-f PATH] [--env NAME] [-o text|json]";

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "-";
}

/* A number as text ("-" for null). */
static void fmt(char *out, size_t n, json_t *v, const char *f)
{
	if (json_is_number(v))
		snprintf(out, n, f, json_number_value(v));
	else
		snprintf(out, n, "-");
}

static void print_status(json_t *st)
{
	printf("experiment %s (%s/%s): %s, verdict %s, %.0fs elapsed\n", sget(st, "name"), sget(st, "project"), sget(st, "environment"),
	       sget(st, "status"), sget(st, "verdict"), json_number_value(json_object_get(st, "elapsedSeconds")));
	printf("rollout %s, control %s%s%s\n", sget(st, "rollout"), sget(st, "control"), json_is_string(json_object_get(st, "winner")) ? ", winner " : "",
	       json_is_string(json_object_get(st, "winner")) ? sget(st, "winner") : "");
	json_t *res = json_object_get(st, "result");
	json_t *hist = json_object_get(st, "history");
	json_t *last = json_array_size(hist) ? json_array_get(hist, json_array_size(hist) - 1) : NULL;
	printf("%-14s %9s %10s %24s %9s %9s %9s %9s\n", "VARIANT", "EXPOSURES", "VALUE", "EFFECT [INTERVAL]", "P", "P-ADJ", "LIFT", "NEEDED");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "variants"), i, v) {
		char exp[32] = "-", val[32], eff[64] = "-", p[32], pa[32], lift[32], need[32];
		json_t *pv;
		size_t k;
		json_array_foreach(json_object_get(last, "variants"), k, pv)
			if (!strcmp(sget(pv, "name"), sget(v, "name")))
				fmt(exp, sizeof(exp), json_object_get(pv, "exposures"), "%.0f");
		fmt(val, sizeof(val), json_object_get(v, "value"), "%.4g");
		json_t *ci = json_object_get(v, "ci");
		if (json_is_number(json_object_get(v, "effect")) && json_is_array(ci))
			snprintf(eff, sizeof(eff), "%+.4f [%+.3f, %+.3f]", json_number_value(json_object_get(v, "effect")),
			         json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : -INFINITY,
			         json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : INFINITY);
		fmt(p, sizeof(p), json_object_get(v, "p_value"), "%.4f");
		fmt(pa, sizeof(pa), json_object_get(v, "p_adjusted"), "%.4f");
		json_t *l = json_object_get(v, "lift");
		if (json_is_number(l))
			snprintf(lift, sizeof(lift), "%+.1f%%", 100 * json_number_value(l));
		else
			snprintf(lift, sizeof(lift), "-");
		fmt(need, sizeof(need), json_object_get(v, "samples_needed"), "%.0f");
		char name[64];
		snprintf(name, sizeof(name), "%s%s", sget(v, "name"), json_is_true(json_object_get(v, "control")) ? " (control)" : "");
		printf("%-14s %9s %10s %24s %9s %9s %9s %9s\n", name, exp, val, eff, p, pa, lift, need);
		size_t g;
		json_t *gr;
		json_array_foreach(json_object_get(v, "guardrails"), g, gr) {
			if (json_is_true(json_object_get(v, "control")))
				continue;
			char w[32], lim[32];
			fmt(w, sizeof(w), json_object_get(gr, "worsening"), "%+.4g");
			fmt(lim, sizeof(lim), json_object_get(gr, "limit"), "%.4g");
			printf("    guardrail %s: worsening %s (limit %s)%s\n", sget(gr, "name"), w, lim,
			       json_is_true(json_object_get(gr, "breached")) ? " BREACHED" : "");
		}
	}
	json_t *srm = json_object_get(res, "srm");
	if (json_is_true(json_object_get(srm, "checked")))
		printf("sample ratio: chi-square %.3g, p %.3g\n", json_number_value(json_object_get(srm, "statistic")),
		       json_number_value(json_object_get(srm, "p_value")));
	json_t *r;
	json_array_foreach(json_object_get(st, "reasons"), i, r)
		printf("  - %s\n", json_string_value(r));
	if (json_is_string(json_object_get(st, "message")))
		printf("%s\n", sget(st, "message"));
}

static void show(struct cli_ctx *ctx, json_t *st)
{
	if (!st)
		return;
	if (ctx->json)
		print_json(st);
	else
		print_status(st);
	fflush(stdout);
}

static bool running(json_t *st)
{
	const char *s = json_string_value(json_object_get(st, "status"));
	return s && (!strcmp(s, "running") || !strcmp(s, "starting") || !strcmp(s, "concluding"));
}

int cmd_experiment(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc;
	(void)argv;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	const char *name = ctx->args.n > 1 ? ctx->args.v[1] : NULL;
	bool st = !strcmp(sub, "status"), run = !strcmp(sub, "run"), con = !strcmp(sub, "conclude"), ab = !strcmp(sub, "abort");
	if (!st && !run && !con && !ab) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	int interval = ctx->interval_ms > 0 ? ctx->interval_ms : 10000;
	struct app *a;
	int rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a);
	if (rc)
		return rc;
	struct diags d = DIAGS_INIT;
	json_t *out = NULL;
	int arc;
	if (st) {
		for (;;) {
			arc = app_experiment_status(a, name, &out, &d);
			if (arc || !ctx->watch || !running(out) || (ctx->cancel && atomic_load(ctx->cancel)))
				break;
			show(ctx, out);
			json_decref(out);
			out = NULL;
			for (int w = 0; w < interval && !(ctx->cancel && atomic_load(ctx->cancel)); w += 50)
				nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
			if (!ctx->json)
				printf("\n");
		}
	} else if (run) {
		arc = app_experiment_run(a, name, interval, ctx->cancel, &ctx->observer, &out, &d);
	} else if (con) {
		arc = app_experiment_conclude(a, name, ctx->winner, &out, &d);
	} else {
		arc = app_experiment_abort(a, name, &out, &d);
	}
	print_errors(ctx, &d);
	if (arc) {
		rc = arc == CRATIS_EINVAL && !name && !con && !ab ? EXIT_USAGE : exit_code_of(arc);
		rc = exit_code_cancelled(ctx, rc);
	} else {
		show(ctx, out);
		rc = exit_code_cancelled(ctx, EXIT_OK);
	}
	if (!st)
		cli_deliver_events(ctx, a);
	json_decref(out);
	diags_release(&d);
	app_close(a);
	return rc;
}
