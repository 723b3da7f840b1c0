/* cratis validate: offline checks of the manifests (no state, no lock, no plugin op but
 * validate), exit 0 when valid and 1 when not; -o json prints the diagnostics for editors and CI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

#define VALIDATE_USAGE "cratis validate [-f PATH]... [--env NAME] [-j N] [-o text|json]"

int cmd_validate(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	if (ctx->markdown || ctx->args.n) {
		fprintf(stderr, "error: %s\nusage: %s\n", ctx->markdown ? "-o: expected 'text' or 'json'" : "unexpected argument",
		        VALIDATE_USAGE);
		return EXIT_USAGE;
	}
	ctx->observer.event = NULL;
	struct app_options o = {
		.paths = (const char *const *)ctx->files.v, .npaths = ctx->files.n, .env = ctx->env,
		.jobs = ctx->jobs, .command_line = ctx->command_line, .cancel = ctx->cancel,
	};
	struct diags d = DIAGS_INIT;
	json_t *summary = NULL;
	int st = app_validate(&o, &summary, &d);
	print_errors(ctx, &d);
	if (ctx->json) {
		/* the diagnostics list, as every command prints it on failure ([] when valid); notes
		 * only with -v, as in text */
		struct diags shown = DIAGS_INIT;
		for (size_t i = 0; i < d.n; i++) {
			const struct diag *x = &d.v[i];
			if (x->severity == DIAG_NOTE && !ctx->verbose)
				continue;
			struct diag *n = diags_add(&shown, x->severity, x->status, "%s", x->message);
			diag_locate(n, x->file, x->line, x->column, x->field);
			if (x->hint)
				diag_hint(n, "%s", x->hint);
		}
		json_t *j = diags_to_json(&shown);
		print_json(j);
		json_decref(j);
		diags_release(&shown);
	}
	size_t nerr = diags_errors(&d);
	if (st) {
		fprintf(stderr, "%zu error%s: the manifests are not valid\n", nerr ? nerr : 1, nerr == 1 ? "" : "s");
	} else if (!ctx->json) {
		struct buf envs = BUF_INIT;
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(summary, "environments"), i, e)
			buf_addf(&envs, "%s%s", i ? ", " : "", json_string_value(e));
		printf("The manifests are valid: %lld documents, %lld resources%s%s.\n",
		       (long long)json_integer_value(json_object_get(summary, "documents")),
		       (long long)json_integer_value(json_object_get(summary, "resources")),
		       envs.len ? "; environments checked: " : "", envs.len ? envs.ptr : "");
		buf_release(&envs);
	}
	json_decref(summary);
	diags_release(&d);
	return st ? EXIT_ERROR : EXIT_OK;
}
