/* cratis get: desired and recorded resources of an environment with their status. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

int cmd_get(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	json_t *list;
	struct diags d = DIAGS_INIT;
	int arc = app_resources(a, &list, &d);
	print_errors(ctx, &d);
	if (arc) {
		rc = EXIT_ERROR;
	} else if (ctx->json) {
		print_json(list);
	} else {
		printf("%-32s %-12s %-28s %s\n", "RESOURCE", "PROJECT", "STATUS", "UPDATED");
		size_t i;
		json_t *o;
		json_array_foreach(list, i, o)
			printf("%-32s %-12s %-28s %s%s%s\n", json_string_value(json_object_get(o, "id")),
			       json_string_value(json_object_get(o, "project")), json_string_value(json_object_get(o, "status")),
			       json_string_value(json_object_get(o, "updated")), json_object_get(o, "owner") ? "  owned by " : "",
			       json_object_get(o, "owner") ? json_string_value(json_object_get(o, "owner")) : "");
	}
	json_decref(list);
	diags_release(&d);
	app_close(a);
	return rc;
}
