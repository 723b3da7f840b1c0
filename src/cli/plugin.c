/* cratis plugin list / install / remove: loaded plugins and the kinds they handle; installing
 * and removing plugins (src/app/plugins.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

/* cratis plugin install PATH|URL [--sha256 HEX] [--global] */
static int plugin_install(struct cli_ctx *ctx)
{
	if (ctx->args.n != 2) {
		fprintf(stderr, "error: usage: cratis plugin install PATH|URL [--sha256 HEX] [--global]\n");
		return EXIT_USAGE;
	}
	struct app *a;
	int rc = cli_open(ctx, APP_LOAD_STATE | APP_LOAD_OFFLINE, &a);
	if (rc)
		return rc;
	struct diags d = DIAGS_INIT;
	json_t *out = NULL;
	if (app_plugin_install(a, ctx->args.v[1], ctx->sha256, ctx->global, &out, &d)) {
		print_errors(ctx, &d);
		fprintf(stderr, "nothing was installed\n");
		rc = EXIT_ERROR;
	} else if (ctx->json) {
		print_json(out);
	} else {
		const char *old = json_string_value(json_object_get(out, "replaced"));
		printf("Installed plugin %s %s into %s", json_string_value(json_object_get(out, "name")),
		       json_string_value(json_object_get(out, "version")), json_string_value(json_object_get(out, "path")));
		if (old)
			printf(" (replaced %s)", *old ? old : "a version without a name");
		printf("\nsha256 %s\n", json_string_value(json_object_get(out, "sha256")));
		if (json_object_get(out, "lock"))
			printf("Recorded in %s\n", json_string_value(json_object_get(out, "lock")));
	}
	json_decref(out);
	diags_release(&d);
	app_close(a);
	return rc;
}

/* cratis plugin remove NAME [--global] */
static int plugin_remove(struct cli_ctx *ctx)
{
	struct app *a;
	int rc = cli_open(ctx, APP_LOAD_STATE | APP_LOAD_OFFLINE, &a);
	if (rc)
		return rc;
	struct diags d = DIAGS_INIT;
	if (app_plugin_remove(a, ctx->args.v[1], ctx->global, &d)) {
		print_errors(ctx, &d);
		rc = EXIT_ERROR;
	} else {
		printf("Removed plugin %s\n", ctx->args.v[1]);
	}
	diags_release(&d);
	app_close(a);
	return rc;
}

int cmd_plugin(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (ctx->args.n >= 1 && !strcmp(ctx->args.v[0], "install"))
		return plugin_install(ctx);
	if (ctx->args.n == 2 && !strcmp(ctx->args.v[0], "remove"))
		return plugin_remove(ctx);
	if (ctx->args.n != 1 || strcmp(ctx->args.v[0], "list")) {
		fprintf(stderr, "error: usage: cratis plugin list [-f PATH] [-o text|json]\n");
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_PLUGINS, &a)))
		return rc;
	json_t *list = app_plugins(a);
	if (ctx->json) {
		print_json(list);
	} else {
		printf("%-12s %-9s %-5s %-6s %-40s %s\n", "NAME", "VERSION", "FORM", "FIELDS", "KINDS", "PATH");
		size_t i, k, loose = 0;
		json_t *p, *kind;
		json_array_foreach(list, i, p) {
			struct buf text = BUF_INIT;
			json_array_foreach(json_object_get(p, "kinds"), k, kind)
				buf_addf(&text, "%s%s", text.len ? ", " : "", json_string_value(kind));
			bool schema = json_is_true(json_object_get(p, "schema"));
			loose += !schema;
			printf("%-12s %-9s %-5s %-6s %-40s %s\n", json_string_value(json_object_get(p, "name")),
			       json_string_value(json_object_get(p, "version")), json_string_value(json_object_get(p, "form")),
			       schema ? "strict" : "any", text.ptr, json_string_value(json_object_get(p, "path")));
			buf_release(&text);
		}
		if (loose)
			printf("\nFIELDS any: the plugin declares no schema; its kinds' spec fields are not checked (docs/plugins.md)\n");
	}
	json_decref(list);
	app_close(a);
	return rc;
}
