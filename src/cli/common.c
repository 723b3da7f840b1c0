/* Shared CLI plumbing: flags, loading a project, printing errors. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "progress.h"
#include "util/error.h"
#include "banned.h"

void print_errors(const struct cli_ctx *ctx, const struct diags *errors)
{
	static const char *const tag[] = { "error", "warning", "note" };
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < errors->n; i++) {
		if (errors->v[i].severity == DIAG_NOTE && !(ctx && ctx->verbose))
			continue;
		buf_clear(&b);
		diag_format(&errors->v[i], &b);
		fprintf(stderr, "%s: %s\n", tag[errors->v[i].severity], b.ptr);
	}
	buf_release(&b);
}

int exit_code_of(int status)
{
	return status == CRATIS_ELOCKED ? EXIT_LOCKED : EXIT_ERROR;
}

int exit_code_cancelled(const struct cli_ctx *ctx, int rc)
{
	int sig = ctx->cancel ? *ctx->cancel & 0xff : 0;
	return sig == SIGTERM ? EXIT_SIGTERM : sig == SIGINT ? EXIT_SIGINT : rc;
}

void print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

static bool take_value(int argc, char **argv, int *i, const char *flag, const char **out)
{
	size_t n = strlen(flag);
	if (!strcmp(argv[*i], flag)) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "error: %s needs a value\n", flag);
			*out = NULL;
			return true;
		}
		*out = argv[++*i];
		return true;
	}
	if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	if (n == 2 && !strncmp(argv[*i], flag, 2) && argv[*i][2]) { /* -fPATH, -j4 */
		*out = argv[*i] + 2;
		return true;
	}
	return false;
}

int cli_parse(int argc, char **argv, unsigned mask, struct cli_ctx *ctx, const char *usage)
{
	const char *v;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((mask & CF_FOLLOW) && (!strcmp(a, "-f") || !strcmp(a, "--follow"))) {
			ctx->follow = true;
		} else if ((mask & CF_FOLLOW) && take_value(argc, argv, &i, "--tail", &v)) {
			char *end;
			long n = v ? strtol(v, &end, 10) : -2;
			if (!v || *end || n < -1 || n > 100000000) {
				fprintf(stderr, "error: --tail: expected a number of lines (-1: all)\n");
				return EXIT_USAGE;
			}
			ctx->tail = (int)n;
		} else if ((mask & CF_FOLLOW) && take_value(argc, argv, &i, "--since", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->since = v;
		} else if ((mask & CF_FILES) && ((!(mask & CF_FOLLOW) && take_value(argc, argv, &i, "-f", &v)) ||
		                                 take_value(argc, argv, &i, "--file", &v))) {
			if (!v)
				return EXIT_USAGE;
			strv_push(&ctx->files, v);
		} else if ((mask & CF_ENV) && take_value(argc, argv, &i, "--env", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->env = v;
		} else if ((mask & CF_JOBS) && take_value(argc, argv, &i, "-j", &v)) {
			char *end;
			long j = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || j < 1 || j > 1024) {
				fprintf(stderr, "error: -j: expected a number of parallel jobs from 1 to 1024\n");
				return EXIT_USAGE;
			}
			ctx->jobs = (int)j;
		} else if ((mask & CF_OUTPUT) && take_value(argc, argv, &i, "-o", &v)) {
			if (!v || (strcmp(v, "json") && strcmp(v, "text") && strcmp(v, "markdown"))) {
				fprintf(stderr, "error: -o: expected 'text', 'json' or 'markdown'\n");
				return EXIT_USAGE;
			}
			ctx->json = !strcmp(v, "json");
			ctx->markdown = !strcmp(v, "markdown");
		} else if ((mask & CF_APPROVE) && !strcmp(a, "--auto-approve")) {
			ctx->auto_approve = true;
		} else if ((mask & CF_DETAILED) && !strcmp(a, "--detailed-exitcode")) {
			ctx->detailed_exitcode = true;
		} else if ((mask & CF_REFRESH) && (!strcmp(a, "--refresh=false") || !strcmp(a, "--refresh=true"))) {
			ctx->refresh = !strcmp(a, "--refresh=true");
		} else if ((mask & CF_LOCK) && take_value(argc, argv, &i, "--lock-timeout", &v)) {
			char *end;
			double s = v ? strtod(v, &end) : -1;
			if (!v || *end || s < 0 || s > 86400) {
				fprintf(stderr, "error: --lock-timeout: expected seconds from 0 to 86400 (e.g. 30)\n");
				return EXIT_USAGE;
			}
			ctx->lock_timeout_ms = (int)(s * 1000);
		} else if (mask && take_value(argc, argv, &i, "--state-dir", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->state_dir = v;
		} else if ((mask & CF_FROM) && take_value(argc, argv, &i, "--from", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->from = v;
		} else if ((mask & CF_TO) && take_value(argc, argv, &i, "--to", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->to = v;
		} else if ((mask & CF_GRACE) && take_value(argc, argv, &i, "--grace", &v)) {
			char *end;
			double g = v ? strtod(v, &end) : -1;
			if (!v || *end || g < 0 || g > 86400) {
				fprintf(stderr, "error: --grace: expected seconds from 0 to 86400 (e.g. 10)\n");
				return EXIT_USAGE;
			}
			ctx->grace_ms = g > 0 ? (int)(g * 1000) : -1; /* 0: SIGKILL at once */
		} else if ((mask & CF_FORCE) && !strcmp(a, "--force")) {
			ctx->force = true;
		} else if ((mask & CF_DRYRUN) && !strcmp(a, "--dry-run")) {
			ctx->dry_run = true;
		} else if ((mask & CF_HISTORY) && !strcmp(a, "--history")) {
			ctx->history = true;
		} else if ((mask & CF_STREAM) && !strcmp(a, "--stream")) {
			ctx->stream = true;
		} else if (!strcmp(a, "--no-color")) {
			ctx->no_color = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			ctx->verbose = true;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown flag '%s'\nusage: %s\n", a, usage);
			return EXIT_USAGE;
		} else {
			strv_push(&ctx->args, a);
		}
	}
	if (!ctx->files.n)
		strv_push(&ctx->files, ".");
	return EXIT_OK;
}

bool cli_color(const struct cli_ctx *ctx, FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	if ((ctx && ctx->no_color) || (no && *no) || (term && !strcmp(term, "dumb")))
		return false;
	return isatty(fileno(f));
}

int cli_open(struct cli_ctx *ctx, enum app_load what, struct app **out)
{
	if (!ctx->progress)
		ctx->progress = progress_new(ctx);
	ctx->observer.event = progress_event;
	ctx->observer.payload = ctx->progress;
	struct app_options o = {
		.paths = (const char *const *)ctx->files.v, .npaths = ctx->files.n, .env = ctx->env,
		.state_dir = ctx->state_dir, .jobs = ctx->jobs, .refresh = ctx->refresh,
		.lock_timeout_ms = ctx->lock_timeout_ms, .grace_ms = ctx->grace_ms, .command_line = ctx->command_line,
		.overrides = ctx->overrides, .artifact_pins = ctx->artifact_pins,
		.observer = &ctx->observer, .cancel = ctx->cancel,
	};
	struct diags d = DIAGS_INIT;
	int rc = app_open(out, &o, what, &d);
	print_errors(ctx, &d);
	if (rc && ctx->json) {
		/* -o json: the diagnostics as a JSON list on stdout, for editors and CI */
		json_t *j = diags_to_json(&d);
		print_json(j);
		json_decref(j);
	}
	if (rc) {
		size_t n = diags_errors(&d);
		if (n && rc != CRATIS_EIO)
			fprintf(stderr, "%zu error%s; nothing was changed\n", n, n == 1 ? "" : "s");
	} else if (ctx->verbose) {
		print_errors(ctx, &(*out)->reg.notes);
	}
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK;
}

int cli_versioning(struct cli_ctx *ctx, struct app_versioning *vi)
{
	struct diags d = DIAGS_INIT;
	int rc = app_versioning_open(vi, (const char *const *)ctx->files.v, ctx->files.n, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK;
}
