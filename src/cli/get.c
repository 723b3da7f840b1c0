/* cratis get: desired and recorded resources of an environment with their status. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

int cmd_get(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_OUTPUT, ctx, "cratis get [-f PATH]... [--env NAME] [-o text|json]");
	if (rc)
		return rc;
	struct session s;
	struct state_rows rows = { 0 };
	if ((rc = cli_load(ctx, &s, LOAD_MANIFESTS)))
		goto out_release;
	if (store_list(s.store, s.model.env_name, NULL, &rows)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_release;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < s.model.nresources; i++) {
		struct resource *r = s.model.resources[i];
		struct state_row *row = store_rows_find(&rows, r->project, r->id);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", r->id, "project", r->project,
		                                      "apiVersion", r->api_version, "status", row ? row->status : "absent",
		                                      "updated", row && row->updated ? row->updated : "",
		                                      "outputs", row && row->outputs ? json_loads(row->outputs, 0, NULL) : json_object()));
	}
	for (size_t i = 0; i < rows.n; i++)
		if (!model_find(&s.model, rows.v[i].project, rows.v[i].id))
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", rows.v[i].id, "project", rows.v[i].project,
			                                      "apiVersion", rows.v[i].api_version, "status", "orphaned (not in manifests)",
			                                      "updated", rows.v[i].updated, "outputs", json_object()));
	if (ctx->json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		printf("%-32s %-12s %-28s %s\n", "RESOURCE", "PROJECT", "STATUS", "UPDATED");
		size_t i;
		json_t *o;
		json_array_foreach(list, i, o)
			printf("%-32s %-12s %-28s %s\n", json_string_value(json_object_get(o, "id")),
			       json_string_value(json_object_get(o, "project")), json_string_value(json_object_get(o, "status")),
			       json_string_value(json_object_get(o, "updated")));
	}
	json_decref(list);
out_release:
	store_rows_release(&rows);
	session_release(&s);
	return rc;
}
