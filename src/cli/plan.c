/* cratis plan: show what apply would change. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

/* One line per resource (+ create, ~ update, -/+ replace, - delete) with changed fields and
 * reasons, then the summary line. */
void print_plan(const struct plan *p, FILE *f)
{
	static const char *const sym[] = { "  ", "+ ", "~ ", "-/+", "- " };
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		fprintf(f, "%-3s %-32s %s", sym[it->action], it->id, action_names[it->action]);
		if (it->changes.n) {
			fputs(" (", f);
			for (size_t k = 0; k < it->changes.n; k++)
				fprintf(f, "%s%s", k ? ", " : "", it->changes.v[k]);
			fputc(')', f);
		}
		if (it->reason)
			fprintf(f, " [%s]", it->reason);
		fputc('\n', f);
	}
	fprintf(f, "Plan: %zu to create, %zu to update, %zu to replace, %zu to delete, %zu unchanged.\n",
	        p->count[ACT_CREATE], p->count[ACT_UPDATE], p->count[ACT_REPLACE], p->count[ACT_DELETE],
	        p->count[ACT_NOOP]);
}

/* A plan for a pull-request comment (GitHub-flavoured Markdown): a summary table and a
 * collapsible block per changed resource with its desired spec. */
static void print_markdown(const struct plan *p, FILE *f)
{
	static const char *const sym[] = { "", "+", "~", "-/+", "-" };
	fprintf(f, "### cratis plan%s%s%s\n\n", *p->environment ? ": `" : "", p->environment, *p->environment ? "`" : "");
	fprintf(f, "**%zu to create, %zu to update, %zu to replace, %zu to delete**, %zu unchanged\n\n",
	        p->count[ACT_CREATE], p->count[ACT_UPDATE], p->count[ACT_REPLACE], p->count[ACT_DELETE], p->count[ACT_NOOP]);
	if (!app_plan_has_changes(p)) {
		fputs("No changes.\n", f);
		return;
	}
	fputs("| | resource | action | changed | why |\n|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		if (it->action == ACT_NOOP)
			continue;
		fprintf(f, "| `%s` | `%s` | %s | ", sym[it->action], it->id, action_names[it->action]);
		for (size_t k = 0; k < it->changes.n; k++)
			fprintf(f, "%s`%s`", k ? ", " : "", it->changes.v[k]);
		fprintf(f, " | %s |\n", it->reason ? it->reason : "");
	}
	fputc('\n', f);
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		if (it->action == ACT_NOOP)
			continue;
		fprintf(f, "<details><summary><code>%s</code> %s</summary>\n\n", it->id, action_names[it->action]);
		const json_t *shown = it->desired;
		json_t *recorded = !shown && it->row && it->row->spec ? json_loads(it->row->spec, 0, NULL) : NULL;
		char *text = json_dumps(shown ? shown : recorded, JSON_INDENT(2) | JSON_SORT_KEYS);
		fprintf(f, "```json\n%s\n```\n\n</details>\n\n", text ? text : "{}");
		free(text);
		json_decref(recorded);
	}
}

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_OUTPUT | CF_DETAILED | CF_REFRESH | CF_JOBS, ctx,
	                   "cratis plan [-f PATH]... [--env NAME] [-o text|json|markdown] [--detailed-exitcode] [--refresh=false] [-j N]");
	if (rc)
		return rc;
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	struct plan p;
	struct diags d = DIAGS_INIT;
	if (app_plan(a, &p, &d)) {
		if (ctx->json) {
			json_t *j = diags_to_json(&d);
			print_json(j);
			json_decref(j);
		}
		print_errors(ctx, &d);
		fprintf(stderr, "%zu error%s; nothing was changed\n", diags_errors(&d), diags_errors(&d) == 1 ? "" : "s");
		rc = exit_code_cancelled(ctx, EXIT_ERROR);
	} else {
		print_errors(ctx, &d);
		if (ctx->markdown) {
			print_markdown(&p, stdout);
		} else if (ctx->json) {
			json_t *j = app_plan_json(&p);
			print_json(j);
			json_decref(j);
		} else {
			print_plan(&p, stdout);
		}
		rc = ctx->detailed_exitcode && app_plan_has_changes(&p) ? EXIT_CHANGES : EXIT_OK;
	}
	diags_release(&d);
	app_plan_release(&p);
	app_close(a);
	return rc;
}
