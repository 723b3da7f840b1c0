/* cratis plugin list: loaded plugins and the kinds they handle. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

int cmd_plugin(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_OUTPUT, ctx, "cratis plugin list [-f PATH] [-o text|json]");
	if (rc)
		return rc;
	if (ctx->args.n != 1 || strcmp(ctx->args.v[0], "list")) {
		fprintf(stderr, "error: usage: cratis plugin list [-f PATH] [-o text|json]\n");
		return EXIT_USAGE;
	}
	struct session s;
	rc = cli_load(ctx, &s, LOAD_PLUGINS);
	json_t *a = json_array();
	for (size_t i = 0; i < s.reg.nplugins; i++) {
		struct plugin *p = s.reg.plugins[i];
		json_t *kinds = json_array();
		struct buf text = BUF_INIT;
		for (size_t k = 0; k < s.reg.nhandlers; k++) {
			struct handler *h = s.reg.handlers[k];
			if (h->plugin != p)
				continue;
			for (size_t v = 0; v < h->versions.n; v++) {
				char *kv = xasprintf("%s/%s %s", h->group, h->versions.v[v], h->kind);
				buf_addf(&text, "%s%s", text.len ? ", " : "", kv);
				json_array_append_new(kinds, json_string(kv));
				free(kv);
			}
		}
		if (ctx->json)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", p->name, "version", p->version ? p->version : "",
			                                   "form", p->form == PLUGIN_SO ? "so" : p->form == PLUGIN_EXEC ? "exec" : "core", "path", p->path, "kinds", kinds));
		else {
			if (i == 0)
				printf("%-12s %-9s %-5s %-40s %s\n", "NAME", "VERSION", "FORM", "KINDS", "PATH");
			printf("%-12s %-9s %-5s %-40s %s\n", p->name, p->version ? p->version : "", p->form == PLUGIN_SO ? "so" : p->form == PLUGIN_EXEC ? "exec" : "core",
			       text.ptr, p->path);
			json_decref(kinds);
		}
		buf_release(&text);
	}
	if (ctx->json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(a);
	session_release(&s);
	return rc;
}
