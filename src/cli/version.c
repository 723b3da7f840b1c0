/* cratis version: the version of cratis; `version show` and `version check`: the project's
 * version, where it comes from, and whether the branch's policy accepts it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

#ifndef CRATIS_VERSION
#define CRATIS_VERSION "0.0.0-dev"
#endif

static const char usage[] = "cratis version [show|check] [-f PATH] [-o text|json]";

int cmd_version(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (!ctx->args.n) {
		printf("cratis %s (plugin ABI %d.%d)\n", CRATIS_VERSION, CRATIS_ABI_MAJOR, CRATIS_ABI_MINOR);
		return EXIT_OK;
	}
	const char *sub = ctx->args.v[0];
	if (ctx->args.n != 1 || (strcmp(sub, "show") && strcmp(sub, "check"))) {
		fprintf(stderr, "error: usage: %s\n", usage);
		return EXIT_USAGE;
	}
	struct app_versioning vi;
	if ((rc = cli_versioning(ctx, &vi))) {
		app_versioning_release(&vi);
		return rc;
	}
	char *version = semver_format(&vi.version);
	char *latest = vi.released ? semver_format(&vi.latest) : NULL;
	if (!strcmp(sub, "check")) {
		if (vi.verdict.ok) {
			printf("ok: %s\n", vi.verdict.message);
		} else {
			fprintf(stderr, "error: version check failed: %s (%s:%d)\n", vi.verdict.message, vi.src.file, vi.src.line);
			rc = EXIT_ERROR;
		}
	} else if (ctx->json) {
		json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s?,s:s?,s:s?,s:b,s:s}", "version", version, "source", vi.src.file,
		                      "line", vi.src.line, "branch", vi.branch, "model", vi.policy.model,
		                      "rule", vi.verdict.rule, "released", latest, "releasedTag", vi.latest_tag,
		                      "ok", vi.verdict.ok, "verdict", vi.verdict.message);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		printf("version   %s\n", version);
		printf("source    %s:%d\n", vi.src.file, vi.src.line);
		printf("branch    %s\n", vi.branch);
		printf("policy    %s, rule %s\n", vi.policy.model, vi.verdict.rule ? vi.verdict.rule : "(none matches)");
		if (latest)
			printf("released  %s (tag %s)\n", latest, vi.latest_tag);
		else
			printf("released  nothing yet\n");
		printf("verdict   %s: %s\n", vi.verdict.ok ? "ok" : "violation", vi.verdict.message);
	}
	free(version);
	free(latest);
	app_versioning_release(&vi);
	return rc;
}
