/* cratis plan: show what apply would change. */
#include <stdio.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_OUTPUT | CF_DETAILED | CF_REFRESH, ctx,
	                   "cratis plan [-f PATH]... [--env NAME] [-o text|json] [--detailed-exitcode] [--refresh=false]");
	if (rc)
		return rc;
	struct session s;
	if ((rc = cli_load(ctx, &s, 1)))
		goto out_release;
	struct plan p;
	struct strv errors = STRV_INIT;
	if (plan_build(&p, &s.model, s.store, &s.reg, &s.opts, &errors)) {
		print_errors(&errors);
		fprintf(stderr, "%zu error%s; nothing was changed\n", errors.n, errors.n == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else {
		if (ctx->json) {
			json_t *j = plan_to_json(&p);
			json_dumpf(j, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(j);
		} else {
			plan_print_text(&p, stdout);
		}
		rc = ctx->detailed_exitcode && plan_has_changes(&p) ? EXIT_CHANGES : EXIT_OK;
	}
	strv_release(&errors);
	plan_release(&p);
out_release:
	session_release(&s);
	return rc;
}
