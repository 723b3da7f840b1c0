/* Shared CLI plumbing: flags, loading a project, printing errors. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
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
		if ((mask & CF_FILES) && (take_value(argc, argv, &i, "-f", &v) || take_value(argc, argv, &i, "--file", &v))) {
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
		} else if ((mask & CF_PROVIDER) && take_value(argc, argv, &i, "--provider", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->provider = v;
		} else if ((mask & CF_OUTDIR) && (take_value(argc, argv, &i, "-o", &v) || take_value(argc, argv, &i, "--output-dir", &v))) {
			if (!v || !*v) {
				fprintf(stderr, "error: -o: expected the output directory\n");
				return EXIT_USAGE;
			}
			ctx->out_dir = v;
		} else if ((mask & CF_DENY_LOCKIN) && !strcmp(a, "--deny-lock-in")) {
			ctx->deny_lock_in = true;
		} else if ((mask & CF_FORCE) && !strcmp(a, "--force")) {
			ctx->force = true;
		} else if ((mask & CF_DRYRUN) && !strcmp(a, "--dry-run")) {
			ctx->dry_run = true;
		} else if ((mask & CF_HISTORY) && !strcmp(a, "--history")) {
			ctx->history = true;
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

/* The CLI's observer: today's progress lines on stderr ("Task/x: creating", "Task/x: created in
 * 0.01s", "error: Task/x: create failed: ...", plugin lines indented); debug lines only with -v.
 * Called from worker threads: each line is one fprintf, which stdio locks. */
static void observe(const struct engine_event *ev, void *payload)
{
	const struct cli_ctx *ctx = payload;
	static const char *const doing[] = { "", "creating", "updating", "replacing", "deleting" };
	static const char *const done_word[] = { "", "created", "updated", "replaced", "deleted" };
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: " };
	const char *msg = ev->message ? ev->message : "";
	switch (ev->type) {
	case EV_RESOURCE_STARTED:
		fprintf(stderr, "%s: %s\n", ev->resource, doing[ev->action]);
		break;
	case EV_RESOURCE_RUNNING:
		fprintf(stderr, "%s: still %s [%llds elapsed]\n", ev->resource, doing[ev->action], (long long)(ev->elapsed_ms / 1000));
		break;
	case EV_RESOURCE_FINISHED:
		fprintf(stderr, "%s: %s in %.2fs\n", ev->resource, done_word[ev->action], (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_FAILED:
		fprintf(stderr, "error: %s: %s failed: %s\n", ev->resource, action_names[ev->action], msg);
		break;
	case EV_RESOURCE_INTERRUPTED:
		fprintf(stderr, "%s: %s interrupted after %.2fs\n", ev->resource, action_names[ev->action], (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_SKIPPED:
		if (strcmp(msg, "cancelled"))
			fprintf(stderr, "warning: %s: %s\n", ev->resource, msg);
		break;
	case EV_LOG:
		if (ev->level < CRATIS_LOG_INFO && !ctx->verbose)
			break;
		if (ev->resource)
			fprintf(stderr, "%s  %s: %s\n", tag[ev->level & 3], ev->resource, msg);
		else
			fprintf(stderr, "%s%s\n", tag[ev->level & 3], msg);
		break;
	case EV_WARNING:
		fprintf(stderr, "warning: %s\n", msg);
		break;
	case EV_STAGE:
	case EV_EMIT:
	case EV_DEPLOYMENT_STARTED:
	case EV_DEPLOYMENT_FINISHED:
		break;
	}
}

int cli_open(struct cli_ctx *ctx, enum app_load what, struct app **out)
{
	ctx->observer.event = observe;
	ctx->observer.payload = ctx;
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
