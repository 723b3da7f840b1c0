/* cratis plugin list: loaded plugins and the kinds they handle. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

int cmd_plugin(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
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
