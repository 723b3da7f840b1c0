/* cratis release: tag a new stable version (annotated vX.Y.Z on HEAD) when the branch's policy is
 * stable and the version changed since the last release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

int cmd_release(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	struct app_versioning vi;
	if ((rc = cli_versioning(ctx, &vi)))
		goto out_release;
	char *version = semver_format(&vi.version), *tag = NULL, *commit = NULL;
	if (!vi.verdict.ok) {
		fprintf(stderr, "error: not releasing: %s (%s:%d)\n", vi.verdict.message, vi.src.file, vi.src.line);
		rc = EXIT_ERROR;
		goto out_free;
	}
	if (!vi.rule || vi.rule->form != FORM_STABLE) {
		printf("nothing to release: branch '%s' takes %s versions (%s)\n", vi.branch,
		       vi.rule ? "snapshot" : "unchecked", version);
		goto out_free;
	}
	tag = policy_tag_name(vi.rule->tag, version);
	enum tag_state state;
	if (repo_tag_state(vi.repo, tag, &state, &commit)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_free;
	}
	if (state == TAG_ON_HEAD) {
		printf("nothing to release: %s is already tagged %s on HEAD\n", version, tag);
	} else if (state == TAG_ELSEWHERE) {
		fprintf(stderr, "error: tag %s already exists on commit %s, not on HEAD; a released version is immutable: bump the version in %s:%d\n",
		        tag, commit, vi.src.file, vi.src.line);
		rc = EXIT_ERROR;
	} else if (vi.released && semver_compare(&vi.version, &vi.latest) == 0) {
		printf("nothing to release: %s was released as %s\n", version, vi.latest_tag);
	} else if (ctx->dry_run) {
		printf("would create annotated tag %s on HEAD for %s (from %s:%d)\n", tag, version, vi.src.file, vi.src.line);
	} else {
		char *msg = xasprintf("Release %s\n\nTagged by cratis from %s:%d on branch %s.\n", version, vi.src.file, vi.src.line, vi.branch);
		if (repo_tag(vi.repo, tag, msg)) {
			fprintf(stderr, "error: %s\n", cratis_error_last()->message);
			rc = EXIT_ERROR;
		} else {
			printf("created annotated tag %s on HEAD for %s\n", tag, version);
		}
		free(msg);
	}
out_free:
	free(version);
	free(tag);
	free(commit);
out_release:
	app_versioning_release(&vi);
	return rc;
}
