/* cratis history: deployments of an environment, or the steps of one. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/error.h"
#include "banned.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int cmd_history(int argc, char **argv, struct cli_ctx *ctx)
{
	int rc = cli_parse(argc, argv, CF_FILES | CF_ENV | CF_OUTPUT, ctx, "cratis history [ID] [-f PATH] [--env NAME] [-o text|json]");
	if (rc)
		return rc;
	struct session s;
	if ((rc = cli_load(ctx, &s, LOAD_STATE)))
		goto out_release;
	if (ctx->args.n) {
		char *end;
		long long id = strtoll(ctx->args.v[0], &end, 10);
		if (*end) {
			fprintf(stderr, "error: history: expected a deployment id, got '%s'\n", ctx->args.v[0]);
			rc = EXIT_USAGE;
			goto out_release;
		}
		struct steps st;
		if (store_steps(s.store, id, &st)) {
			fprintf(stderr, "error: %s\n", cratis_error_last()->message);
			rc = EXIT_ERROR;
			goto out_release;
		}
		json_t *a = json_array();
		for (size_t i = 0; i < st.n; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "resource", st.v[i].resource,
			                                   "action", or_empty(st.v[i].action), "result", or_empty(st.v[i].result),
			                                   "message", or_empty(st.v[i].message), "started", or_empty(st.v[i].started),
			                                   "finished", or_empty(st.v[i].finished)));
		if (ctx->json) {
			json_dumpf(a, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		} else {
			printf("%-32s %-8s %-7s %-21s %s\n", "RESOURCE", "ACTION", "RESULT", "FINISHED", "MESSAGE");
			for (size_t i = 0; i < st.n; i++)
				printf("%-32s %-8s %-7s %-21s %s\n", st.v[i].resource, or_empty(st.v[i].action), or_empty(st.v[i].result),
				       or_empty(st.v[i].finished), or_empty(st.v[i].message));
		}
		json_decref(a);
		store_steps_release(&st);
		goto out_release;
	}
	struct deployments d;
	if (store_history(s.store, ctx->env, 0, &d)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		rc = EXIT_ERROR;
		goto out_release;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < d.n; i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)d.v[i].id,
		                                   "environment", or_empty(d.v[i].environment), "command", or_empty(d.v[i].command),
		                                   "user", or_empty(d.v[i].user), "host", or_empty(d.v[i].host),
		                                   "started", or_empty(d.v[i].started), "finished", or_empty(d.v[i].finished),
		                                   "result", or_empty(d.v[i].result), "summary", or_empty(d.v[i].summary)));
	if (ctx->json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		printf("%-5s %-12s %-10s %-21s %-10s %s\n", "ID", "ENV", "RESULT", "STARTED", "USER", "COMMAND / SUMMARY");
		for (size_t i = 0; i < d.n; i++)
			printf("%-5lld %-12s %-10s %-21s %-10s %s (%s)\n", (long long)d.v[i].id, or_empty(d.v[i].environment),
			       or_empty(d.v[i].result), or_empty(d.v[i].started), or_empty(d.v[i].user), or_empty(d.v[i].command),
			       or_empty(d.v[i].summary));
	}
	json_decref(a);
	store_deployments_release(&d);
out_release:
	session_release(&s);
	return rc;
}
