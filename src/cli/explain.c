/* cratis explain [KIND[.FIELD[.SUB]]]: the kinds cratis knows and their fields (types, required,
 * defaults, help) from the field tables, like `kubectl explain`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

#define EXPLAIN_USAGE "cratis explain [KIND[.FIELD[.SUB]]] [-f PATH] [-o text|json]"

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_versions(const json_t *doc, struct buf *b)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "apiVersions"), i, v)
		buf_addf(b, "%s%s", i ? ", " : "", json_string_value(v));
}

static void print_field(const json_t *f)
{
	printf("  %s <%s>", str(f, "path"), str(f, "type"));
	if (json_is_true(json_object_get(f, "required")))
		printf(" -required-");
	if (json_is_string(json_object_get(f, "default")))
		printf(" (default: %s)", str(f, "default"));
	putchar('\n');
	if (json_is_string(json_object_get(f, "help")))
		printf("      %s\n", str(f, "help"));
}

static void print_kinds(const json_t *list)
{
	printf("%-14s %-24s %-10s %s\n", "KIND", "APIVERSIONS", "PLUGIN", "FIELDS");
	size_t i;
	json_t *k;
	json_array_foreach(list, i, k) {
		struct buf v = BUF_INIT;
		print_versions(k, &v);
		printf("%-14s %-24s %-10s %s\n", str(k, "kind"), v.ptr, str(json_object_get(k, "plugin"), "name"),
		       json_is_true(json_object_get(k, "schema")) ? "declared" : "not declared");
		buf_release(&v);
	}
	printf("\n`cratis explain KIND` shows a kind's fields; `cratis explain KIND.FIELD` one field.\n");
}

static void print_explain(const json_t *doc)
{
	const json_t *pl = json_object_get(doc, "plugin");
	struct buf v = BUF_INIT;
	print_versions(doc, &v);
	printf("KIND:     %s\nVERSIONS: %s\nPLUGIN:   %s %s (%s, %s)\n", str(doc, "kind"), v.ptr, str(pl, "name"),
	       str(pl, "version"), str(pl, "form"), str(pl, "path"));
	buf_release(&v);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(doc, "alsoServedBy"), i, f) {
		struct buf o = BUF_INIT;
		size_t k;
		json_t *x;
		json_array_foreach(f, k, x)
			buf_addf(&o, "%s%s", k ? ", " : "", json_string_value(x));
		printf("ALSO:     %s (another kind of the same name)\n", o.ptr);
		buf_release(&o);
	}
	const json_t *field = json_object_get(doc, "field");
	if (json_is_object(field)) {
		printf("\nFIELD:\n");
		print_field(field);
	}
	const json_t *fields = json_object_get(doc, "fields");
	if (json_array_size(fields)) {
		printf("\nFIELDS:\n");
		json_array_foreach(fields, i, f)
			print_field(f);
	}
	if (!json_is_true(json_object_get(doc, "schema")))
		printf("\nThe plugin declares no fields for %s: its spec is passed to the plugin unchecked\n"
		       "(docs/plugins.md, \"Declaring fields\").\n", str(doc, "kind"));
	printf("\n\"*\" stands for any key; sequence items have the sequence's path.\n");
}

int cmd_explain(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (ctx->markdown || ctx->args.n > 1) {
		fprintf(stderr, "error: %s\nusage: %s\n", ctx->markdown ? "-o: expected 'text' or 'json'" : "expected at most one KIND[.FIELD]",
		        EXPLAIN_USAGE);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_PLUGINS | APP_LOAD_OFFLINE, &a)))
		return rc;
	json_t *doc = NULL;
	struct diags d = DIAGS_INIT;
	const char *query = ctx->args.n ? ctx->args.v[0] : NULL;
	if (app_explain(a, query, &doc, &d)) {
		print_errors(ctx, &d);
		if (ctx->json) {
			json_t *j = diags_to_json(&d);
			print_json(j);
			json_decref(j);
		}
		rc = EXIT_ERROR;
	} else if (ctx->json) {
		print_json(doc);
	} else if (!query) {
		print_kinds(doc);
	} else {
		print_explain(doc);
	}
	json_decref(doc);
	diags_release(&d);
	app_close(a);
	return rc;
}
