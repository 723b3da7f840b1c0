/* cratis env list [-o json]: the environments of the project, their systems and the names of
 * their variables (never values). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

static void join(struct buf *b, const json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		buf_addf(b, "%s%s", i ? "," : "", json_string_value(v));
	if (!json_array_size(arr))
		buf_adds(b, "-");
}

int cmd_env(int argc, char **argv, struct cli_ctx *ctx)
{
	static const char usage[] = "cratis env list [-f PATH]... [-o text|json]";
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (ctx->args.n != 1 || strcmp(ctx->args.v[0], "list") || ctx->markdown) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_STATE, &a)))
		return rc;
	struct diags d = DIAGS_INIT;
	json_t *envs = NULL;
	if (app_environments(a, &envs, &d)) {
		rc = EXIT_ERROR;
	} else if (ctx->json) {
		print_json(envs);
	} else {
		printf("%-20s %-24s %s\n", "NAME", "SYSTEMS", "VARIABLES");
		size_t i;
		json_t *e;
		struct buf sys = BUF_INIT, vars = BUF_INIT;
		json_array_foreach(envs, i, e) {
			buf_clear(&sys);
			buf_clear(&vars);
			join(&sys, json_object_get(e, "systems"));
			/* sensitive variables are marked, their values never shown */
			json_t *names = json_object_get(e, "variables"), *sens = json_object_get(e, "sensitive");
			size_t k;
			json_t *n;
			json_array_foreach(names, k, n) {
				bool s = false;
				size_t j;
				json_t *x;
				json_array_foreach(sens, j, x)
					s |= json_equal(x, n);
				buf_addf(&vars, "%s%s%s", k ? "," : "", json_string_value(n), s ? " (sensitive)" : "");
			}
			if (!json_array_size(names))
				buf_adds(&vars, "-");
			printf("%-20s %-24s %s\n", json_string_value(json_object_get(e, "name")), sys.ptr, vars.ptr);
		}
		buf_release(&sys);
		buf_release(&vars);
		if (!json_array_size(envs))
			fprintf(stderr, "no Environment is defined: resources are deployed without a scope (environment \"\")\n");
	}
	print_errors(ctx, &d);
	diags_release(&d);
	json_decref(envs);
	app_close(a);
	return rc;
}
