/* cratis cost: the monthly cost of an environment's capabilities on aws, gcp and azure side by
 * side, or (--diff) the change against what state records. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

static void money(struct buf *b, int64_t v)
{
	buf_clear(b);
	money_format_cents(b, v);
}

/* The components of one resource on one provider, under "  provider (region)". */
static void print_components(const struct cost_estimate *e, const struct cost_resource *r)
{
	printf("  %s (%s)%s\n", e->provider, e->region, r->priced ? "" : ": no cost model for this kind");
	struct buf q = BUF_INIT, p = BUF_INIT, c = BUF_INIT;
	for (size_t k = 0; k < r->n; k++) {
		const struct cost_component *cc = &r->comps[k];
		buf_clear(&p);
		money_format(&p, cc->price, 2);
		if (cc->price_missing) {
			printf("    %-40s price not found for %s in %s\n", cc->name, cc->unit, e->region);
		} else if (!cc->quantity_known) {
			printf("    %-40s usage-based: %s %s per %s (no usage given)\n", cc->name, p.ptr, e->currency, cc->unit);
		} else {
			buf_clear(&q);
			money_format(&q, cc->quantity, 0);
			money(&c, cc->cost);
			char *qty = xasprintf("%s %s", q.ptr, cc->unit);
			printf("    %-40s %24s  x %-10s %12s%s\n", cc->name, qty, p.ptr, c.ptr, cc->usage_based ? "  (usage)" : "");
			free(qty);
		}
	}
	buf_release(&q);
	buf_release(&p);
	buf_release(&c);
}

static void print_table(const struct app_cost *c)
{
	int first = -1, nprov = 0;
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		if (c->have[pi]) {
			nprov++;
			if (first < 0)
				first = pi;
		}
	const struct cost_estimate *f = &c->est[first];
	printf("Project %s, environment %s: monthly cost of %zu capabilit%s, %s\n", c->project, c->environment, f->n,
	       f->n == 1 ? "y" : "ies", f->currency);
	for (size_t i = 0; i < f->n; i++) {
		printf("\n%s\n", f->res[i].id);
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
			if (c->have[pi])
				print_components(&c->est[pi], &c->est[pi].res[i]);
	}
	/* side by side */
	struct buf b = BUF_INIT;
	printf("\n%-36s", "RESOURCE");
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		if (c->have[pi])
			printf(" %14s", cap_providers[pi]);
	printf("  %s\n", nprov > 1 ? "CHEAPEST" : "");
	for (size_t i = 0; i < f->n; i++) {
		printf("%-36s", f->res[i].id);
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
			if (!c->have[pi])
				continue;
			if (c->est[pi].res[i].priced) {
				money(&b, c->est[pi].res[i].total);
				printf(" %14s", b.ptr);
			} else {
				printf(" %14s", "-");
			}
		}
		int best = app_cost_cheapest(c, f->res[i].id);
		printf("  %s\n", nprov > 1 && best >= 0 ? cap_providers[best] : "");
	}
	printf("%-36s", "TOTAL");
	size_t unknown = 0, missing = 0;
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		if (!c->have[pi])
			continue;
		money(&b, c->est[pi].total);
		printf(" %14s", b.ptr);
		unknown += c->est[pi].usage_unknown;
		missing += c->est[pi].price_missing;
	}
	int best = app_cost_cheapest(c, NULL);
	printf("  %s\n", nprov > 1 && best >= 0 ? cap_providers[best] : "");
	if (nprov > 1 && best >= 0)
		printf("\nCheapest overall: %s\n", cap_providers[best]);
	if (unknown)
		printf("\n%zu usage-based cost component%s priced at 0: no usage given (--usage FILE, in the shape of "
		       "infracost-usage.yml).\n", unknown, unknown == 1 ? "" : "s");
	if (missing)
		printf("%s%zu cost component%s without a price for the region (priced at 0).\n", unknown ? "" : "\n", missing,
		       missing == 1 ? "" : "s");
	printf("\nPrices (730 hours a month):\n");
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		for (size_t i = 0; c->have[pi] && i < c->est[pi].sources.n; i++)
			printf("  %s: %s\n", cap_providers[pi], c->est[pi].sources.v[i]);
	buf_release(&b);
}

/* The monthly cost of id in e, -1 when e does not list or price it. */
static int64_t cost_of(const struct cost_estimate *e, const char *id)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->res[i].id, id))
			return e->res[i].priced ? e->res[i].total : -1;
	return -1;
}

static void print_diff(const struct app_cost *c)
{
	struct buf a = BUF_INIT, b = BUF_INIT, d = BUF_INIT;
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		if (!c->have[pi])
			continue;
		const struct cost_estimate *now = &c->est[pi], *past = &c->past[pi];
		printf("Monthly cost change of environment %s on %s (%s), %s: the manifests against what state records\n\n",
		       c->environment, now->provider, now->region, now->currency);
		struct strv ids = STRV_INIT;
		app_cost_diff(c, pi, &ids);
		for (size_t i = 0; i < ids.n; i++) {
			int64_t x = cost_of(past, ids.v[i]), y = cost_of(now, ids.v[i]);
			int64_t delta = (y < 0 ? 0 : y) - (x < 0 ? 0 : x);
			buf_clear(&a);
			buf_clear(&b);
			if (x >= 0)
				money_format_cents(&a, x);
			if (y >= 0)
				money_format_cents(&b, y);
			money(&d, delta);
			const char *sym = x < 0 ? "+" : y < 0 ? "-" : delta ? "~" : " ";
			printf("%s %-36s %12s -> %-12s %s%s\n", sym, ids.v[i], x < 0 ? "(none)" : a.ptr, y < 0 ? "(none)" : b.ptr,
			       delta > 0 ? "+" : "", d.ptr);
		}
		strv_release(&ids);
		money(&a, past->total);
		money(&b, now->total);
		money(&d, now->total - past->total);
		printf("\nMonthly cost change: %s%s (from %s to %s)\n", now->total > past->total ? "+" : "", d.ptr, a.ptr, b.ptr);
		if (now->usage_unknown || past->usage_unknown)
			printf("Usage-based cost components without usage are priced at 0 (--usage FILE).\n");
		printf("\n");
	}
	buf_release(&a);
	buf_release(&b);
	buf_release(&d);
}

int cmd_cost(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags: ctx, parsed from the command table */
	(void)argv;
	struct app *a;
	/* only --diff reads the state: without it nothing is created or opened */
	int rc = cli_open(ctx, ctx->diff ? APP_LOAD_MANIFESTS : APP_LOAD_MANIFESTS | APP_LOAD_OFFLINE, &a);
	if (rc)
		return rc;
	struct app_cost c;
	struct diags d = DIAGS_INIT;
	struct app_cost_options o = { ctx->provider, ctx->usage, ctx->diff, ctx->deny_lock_in };
	int st = app_cost(a, &o, &c, &d);
	print_errors(ctx, &c.warnings);
	print_errors(ctx, &d);
	if (st) {
		size_t n = diags_errors(&d);
		fprintf(stderr, "%zu error%s; nothing was priced\n", n, n == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else if (ctx->json) {
		json_t *j = app_cost_json(&c);
		print_json(j);
		json_decref(j);
	} else if (c.diff) {
		print_diff(&c);
	} else {
		print_table(&c);
	}
	diags_release(&d);
	app_cost_release(&c);
	app_close(a);
	return rc;
}
