/* cratis destroy when the manifests are gone or invalid: destroy what the state records for the
 * environment (like `terraform destroy` with state only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

int cli_open_destroy(struct cli_ctx *ctx, struct app **out, bool *state_only)
{
	*state_only = false;
	/* the store first: sets the CLI's observer, and a state error ends it here as usual */
	int orc = cli_open(ctx, APP_LOAD_STATE, out);
	if (orc)
		return orc;
	app_close(*out);
	*out = NULL;
	struct app_options o = cli_app_options(ctx);
	struct diags d = DIAGS_INIT;
	int rc = app_open(out, &o, APP_LOAD_MANIFESTS, &d);
	if (!rc) {
		if (ctx->verbose)
			print_errors(ctx, &(*out)->reg.notes);
		diags_release(&d);
		return EXIT_OK;
	}
	size_t n = diags_errors(&d);
	if (rc != CRATIS_EINVAL || !ctx->env) {
		/* not the manifests' fault, or no environment named: the usual errors */
		print_errors(ctx, &d);
		if (n && rc != CRATIS_EIO)
			fprintf(stderr, "%zu error%s; nothing was changed\n", n, n == 1 ? "" : "s");
		if (rc == CRATIS_EINVAL)
			fprintf(stderr, "hint: to destroy what the state records without the manifests, name the environment: --env NAME\n");
		diags_release(&d);
		return EXIT_ERROR;
	}
	/* invalid or missing manifests: the state alone says what to destroy */
	if (ctx->verbose)
		print_errors(ctx, &d);
	diags_release(&d);
	rc = app_open_state_only(out, &o, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	if (rc)
		return EXIT_ERROR;
	/* nothing recorded for an environment the manifests do not define either: a typo, not an
	 * empty environment (the error has a did-you-mean) */
	json_t *rows = NULL, *locks = NULL;
	char *picked = NULL;
	int lrc = app_state_list(*out, ctx->env, &rows, &locks, &d);
	json_decref(locks);
	if (!lrc && !json_array_size(rows) &&
	    app_pick_env(*out, ctx->env, &picked, &d)) {
		print_errors(ctx, &d);
		fputs("nothing was changed\n", stderr);
		json_decref(rows);
		diags_release(&d);
		app_close(*out);
		*out = NULL;
		return EXIT_ERROR;
	}
	free(picked);
	json_decref(rows);
	diags_release(&d);
	*state_only = true;
	fprintf(stderr, "warning: the manifests were not used (%zu error%s%s); destroying what the state records for environment '%s', each plugin called with the recorded spec\n",
	        n, n == 1 ? "" : "s", ctx->verbose ? " above" : "; -v shows them", (*out)->model.env_name);
	return EXIT_OK;
}
