/* cratis agent: a pull agent for one System (src/app/agent.h): the flags into agent_options, the
 * token read from its file, one line on stderr per thing the agent does. */
#define _GNU_SOURCE /* explicit_bzero */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/agent.h"
#include "cli.h"
#include "error.h"
#include "banned.h"

static void agent_log(const char *line, void *payload)
{
	(void)payload;
	char t[32];
	now_rfc3339(t);
	fprintf(stderr, "%s cratis agent: %s\n", t, line);
	fflush(stderr);
}

int cmd_agent(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	if (!ctx->server || !ctx->system) {
		fprintf(stderr, "error: agent: --server URL and --system NAME are required\n");
		return EXIT_USAGE;
	}
	if (strncmp(ctx->server, "http://", 7) && strncmp(ctx->server, "https://", 8)) {
		fprintf(stderr, "error: agent: --server: expected an http:// or https:// URL, got '%s'\n", ctx->server);
		return EXIT_USAGE;
	}
	char *token = NULL;
	if (ctx->token_file) {
		struct buf b = BUF_INIT;
		if (buf_read_file(&b, ctx->token_file, 64 * 1024)) {
			fprintf(stderr, "error: agent: cannot read token file '%s'\n", ctx->token_file);
			buf_release(&b);
			return EXIT_ERROR;
		}
		size_t n = strcspn(b.ptr, "\r\n");
		while (n && (b.ptr[n - 1] == ' ' || b.ptr[n - 1] == '\t'))
			n--;
		token = xstrndup(b.ptr, n);
		explicit_bzero(b.ptr, b.len);
		buf_release(&b);
		if (!*token) {
			fprintf(stderr, "error: agent: token file '%s' is empty\n", ctx->token_file);
			free(token);
			return EXIT_ERROR;
		}
	}
	struct agent_options o = {
		.server = ctx->server,
		.system = ctx->system,
		.token = token,
		.dir = ctx->agent_dir ? ctx->agent_dir : ".cratis-agent",
		.interval_ms = ctx->interval_ms > 0 ? ctx->interval_ms : 30000,
		.wait_s = AGENT_WAIT_MAX,
		.jobs = ctx->jobs,
		.grace_ms = ctx->grace_ms,
		.cancel = ctx->cancel,
		.log = agent_log,
	};
	struct diags d = DIAGS_INIT;
	int rc = app_agent_run(&o, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	free_wiped(token);
	return rc ? EXIT_ERROR : EXIT_OK;
}
