/* cratis plan: show what apply would change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* The changed values of it, one per line under its resource line ("      ~ spec.port: 8080 →
 * 8081", "+ path: value" for an added value, "- path: value" for a removed one); multi-line text
 * as a unified diff of its lines below "~ path:". */
static void print_values(const struct plan_item *it, FILE *f)
{
	struct value_diffs vd = VALUE_DIFFS_INIT;
	plan_item_values(&vd, it);
	for (size_t k = 0; k < vd.n; k++) {
		const struct value_diff *v = &vd.v[k];
		if (v->lines) {
			fprintf(f, "      ~ %s:\n", v->path);
			for (const char *l = v->lines; *l;) {
				const char *nl = strchr(l, '\n');
				size_t n = nl ? (size_t)(nl - l) : strlen(l);
				fprintf(f, "          %.*s\n", (int)n, l);
				l += n + (nl ? 1 : 0);
			}
		} else if (v->op == VALUE_ADD) {
			fprintf(f, "      + %s: %s\n", v->path, v->after);
		} else if (v->op == VALUE_REMOVE) {
			fprintf(f, "      - %s: %s\n", v->path, v->before);
		} else {
			fprintf(f, "      ~ %s: %s \xe2\x86\x92 %s\n", v->path, v->before, v->after);
		}
	}
	value_diffs_release(&vd);
}

/* One line per resource (+ create, ~ update, -/+ replace, - delete) with changed fields and
 * reasons, the changed values of updates and replaces below it, then the summary line; the
 * action symbols in colour when color. */
void print_sources(const json_t *sources, FILE *f)
{
	size_t i;
	json_t *s;
	json_array_foreach(sources, i, s)
		fprintf(f, "Manifests from %s: %s %s at commit %s\n", json_string_value(json_object_get(s, "location")),
		        json_string_value(json_object_get(s, "kind")), json_string_value(json_object_get(s, "ref")),
		        json_string_value(json_object_get(s, "commit")));
	if (json_array_size(sources))
		fputc('\n', f);
}

void print_plan(const struct plan *p, FILE *f, bool color)
{
	static const char *const sym[] = { "  ", "+ ", "~ ", "-/+", "- " };
	static const char *const paint[] = { "", CLI_GREEN "+" CLI_RESET " ", CLI_YELLOW "~" CLI_RESET " ",
		                             CLI_RED "-" CLI_RESET "/" CLI_GREEN "+" CLI_RESET, CLI_RED "-" CLI_RESET " " };
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		if (color && it->action != ACT_NOOP)
			fprintf(f, "%s %-32s %s", paint[it->action], it->id, action_names[it->action]);
		else
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
		print_values(it, f);
	}
	fprintf(f, "Plan: %zu to create, %zu to update, %zu to replace, %zu to delete, %zu unchanged.\n",
	        p->count[ACT_CREATE], p->count[ACT_UPDATE], p->count[ACT_REPLACE], p->count[ACT_DELETE],
	        p->count[ACT_NOOP]);
}

/* Escaping for the Markdown plan (CommonMark 0.31 and GitHub Flavored Markdown 0.29): values
 * (a failed command's stderr, field names, resource names) must not rewrite the comment. */

/* s as text inside a table row: the punctuation that starts inline markup or ends a cell
 * backslash-escaped (CommonMark section 2.4; '|' per GFM section 4.10), '<', '>' and '&' as
 * entities, line breaks as spaces (a row is one line, so nothing can start a block). */
static void md_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n' || c == '\r' || c == '\t')
			buf_addch(b, ' ');
		else if (c == '<')
			buf_adds(b, "&lt;");
		else if (c == '>')
			buf_adds(b, "&gt;");
		else if (c == '&')
			buf_adds(b, "&amp;");
		else if (strchr("\\`*_[]|#~", c))
			buf_addf(b, "\\%c", c);
		else
			buf_addch(b, (char)c);
	}
}

/* s as a code span: delimited by one backtick more than its longest run of backticks, padded
 * with a space when it starts or ends with a backtick (CommonMark section 6.1); in a table cell
 * '|' is escaped as GFM requires (section 4.10). */
static void md_code(struct buf *b, const char *s, bool in_table)
{
	size_t run = 0, longest = 0;
	for (const char *c = s; *c; c++) {
		run = *c == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	size_t len = strlen(s);
	bool pad = len && (s[0] == '`' || s[len - 1] == '`');
	for (size_t i = 0; i <= longest; i++)
		buf_addch(b, '`');
	if (pad)
		buf_addch(b, ' ');
	for (const char *c = s; *c; c++) {
		if (*c == '\n' || *c == '\r')
			buf_addch(b, ' ');
		else if (*c == '|' && in_table)
			buf_adds(b, "\\|");
		else
			buf_addch(b, *c);
	}
	if (pad)
		buf_addch(b, ' ');
	for (size_t i = 0; i <= longest; i++)
		buf_addch(b, '`');
}

/* s inside HTML (<summary>, <code>): entities for what HTML would read as markup. */
static void html_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			buf_adds(b, "&lt;");
		else if (*s == '>')
			buf_adds(b, "&gt;");
		else if (*s == '&')
			buf_adds(b, "&amp;");
		else if (*s == '"')
			buf_adds(b, "&quot;");
		else
			buf_addch(b, *s);
	}
}

/* A fenced code block around text: a fence of backticks longer than any run of backticks in it
 * (CommonMark section 4.5). */
static void md_fenced(struct buf *b, const char *info, const char *text)
{
	size_t run = 0, longest = 0;
	for (const char *c = text; *c; c++) {
		run = *c == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	size_t n = longest < 3 ? 3 : longest + 1;
	for (size_t i = 0; i < n; i++)
		buf_addch(b, '`');
	buf_addf(b, "%s\n%s\n", info, text);
	for (size_t i = 0; i < n; i++)
		buf_addch(b, '`');
	buf_addch(b, '\n');
}

/* A plan for a pull-request comment (GitHub-flavoured Markdown): a summary table and a
 * collapsible block per changed resource: the diff of its values for an update or a replace,
 * else its desired (or, for a delete, recorded) spec. Every value is escaped (code blocks get a
 * fence longer than any run of backticks in them). */
static void print_markdown(const struct plan *p, FILE *f)
{
	static const char *const sym[] = { "", "+", "~", "-/+", "-" };
	struct buf b = BUF_INIT;
	if (*p->environment) {
		buf_adds(&b, ": ");
		md_code(&b, p->environment, false);
	}
	fprintf(f, "### cratis plan%s\n\n", b.ptr);
	buf_release(&b);
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
		buf_clear(&b);
		buf_addf(&b, "| `%s` | ", sym[it->action]);
		md_code(&b, it->id, true);
		buf_addf(&b, " | %s | ", action_names[it->action]);
		for (size_t k = 0; k < it->changes.n; k++) {
			if (k)
				buf_adds(&b, ", ");
			md_code(&b, it->changes.v[k], true);
		}
		buf_adds(&b, " | ");
		md_text(&b, it->reason ? it->reason : "");
		buf_adds(&b, " |\n");
		fputs(b.ptr, f);
	}
	fputc('\n', f);
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->items[i];
		if (it->action == ACT_NOOP)
			continue;
		buf_clear(&b);
		buf_adds(&b, "<details><summary><code>");
		html_text(&b, it->id);
		buf_addf(&b, "</code> %s</summary>\n\n", action_names[it->action]);
		struct value_diffs vd = VALUE_DIFFS_INIT;
		plan_item_values(&vd, it);
		if (vd.n) {
			/* an update or replace: its changed values as a diff ("- path: old", "+ path: new") */
			struct buf d = BUF_INIT;
			for (size_t k = 0; k < vd.n; k++) {
				const struct value_diff *v = &vd.v[k];
				if (v->lines) {
					buf_addf(&d, "  %s:\n", v->path);
					buf_adds(&d, v->lines);
					continue;
				}
				if (v->before)
					buf_addf(&d, "- %s: %s\n", v->path, v->before);
				if (v->after)
					buf_addf(&d, "+ %s: %s\n", v->path, v->after);
			}
			if (d.len)
				d.ptr[--d.len] = '\0'; /* md_fenced ends the text with its own newline */
			md_fenced(&b, "diff", d.ptr);
			buf_release(&d);
		} else {
			const json_t *shown = it->desired;
			json_t *recorded = !shown && it->row && it->row->spec ? json_loads(it->row->spec, 0, NULL) : NULL;
			char *text = json_dumps(shown ? shown : recorded, JSON_INDENT(2) | JSON_SORT_KEYS);
			md_fenced(&b, "json", text ? text : "{}");
			free(text);
			json_decref(recorded);
		}
		value_diffs_release(&vd);
		buf_adds(&b, "\n</details>\n\n");
		fputs(b.ptr, f);
	}
	buf_release(&b);
}

void warn_targeting(const struct cli_ctx *ctx, bool destroy)
{
	if (!ctx->targets.n)
		return;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < ctx->targets.n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", ctx->targets.v[i]);
	fprintf(stderr, "warning: resource targeting is in effect: this run covers only %s and what %s; it may not make every change the manifests ask for. Use -target for exceptional cases, not routinely\n",
	        b.ptr, destroy ? (ctx->targets.n == 1 ? "depends on it" : "depends on them")
	                       : (ctx->targets.n == 1 ? "it depends on" : "they depend on"));
	buf_release(&b);
}

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	warn_targeting(ctx, false);
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	struct plan p;
	struct diags d = DIAGS_INIT;
	/* lock-in warnings of capabilities (the text render and cost print); errors with --deny-lock-in */
	struct diags lw = DIAGS_INIT;
	int lock_rc = app_lock_in(a, NULL, ctx->deny_lock_in, &lw, &d);
	print_errors(ctx, &lw);
	diags_release(&lw);
	if (lock_rc) {
		print_errors(ctx, &d);
		fprintf(stderr, "%zu error%s; nothing was changed\n", diags_errors(&d), diags_errors(&d) == 1 ? "" : "s");
		diags_release(&d);
		app_close(a);
		return EXIT_ERROR;
	}
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
			if (json_array_size(a->ms.sources))
				json_object_set(j, "sources", a->ms.sources);
			print_json(j);
			json_decref(j);
		} else {
			print_sources(a->ms.sources, stdout);
			print_plan(&p, stdout, cli_color(ctx, stdout));
		}
		rc = ctx->detailed_exitcode && app_plan_has_changes(&p) ? EXIT_CHANGES : EXIT_OK;
		if (ctx->plan_out) {
			struct diags wd = DIAGS_INIT;
			if (app_plan_write(a, &p, ctx->plan_out, &wd)) {
				print_errors(ctx, &wd);
				rc = EXIT_ERROR;
			} else {
				fprintf(stderr, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n  cratis apply %s\n",
				        ctx->plan_out, ctx->plan_out);
			}
			diags_release(&wd);
		}
	}
	diags_release(&d);
	app_plan_release(&p);
	app_close(a);
	return rc;
}
