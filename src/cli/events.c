/* cratis events: the outbox (list, deliver, redeliver, sinks) and the delivery at the end of a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "banned.h"

static const char *sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static long long iget(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

void cli_deliver_events(struct cli_ctx *ctx, struct app *a)
{
	if (!a || !a->store)
		return;
	json_t *res = NULL;
	struct diags d = DIAGS_INIT;
	int rc = app_events_deliver(a, ctx->events_timeout_ms, &res, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	size_t i;
	json_t *r;
	json_array_foreach(res, i, r) {
		if (iget(r, "left") || iget(r, "dead") || json_is_true(json_object_get(r, "disabled")))
			fprintf(stderr, "warning: events: sink '%s': %lld delivered, %lld dead, %lld left for the next run%s%s\n",
			        sget(r, "sink"), iget(r, "delivered"), iget(r, "dead"), iget(r, "left"), *sget(r, "message") ? ": " : "",
			        sget(r, "message"));
	}
	(void)rc;
	json_decref(res);
}

static void print_event_line(json_t *r, bool json)
{
	if (json) {
		char *t = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", t ? t : "{}");
		free(t);
	} else {
		printf("%-6lld %-24s %-34s %-28s %s\n", iget(r, "seq"), sget(r, "time"), sget(r, "type"), sget(r, "subject"),
		       sget(r, "id"));
	}
}

/* events tail: print the events after --since (default: from now on) as they are written, polling
 * the outbox every 500 ms, until SIGINT or SIGTERM. -o json: one CloudEvents JSON line each. */
static int tail(struct cli_ctx *ctx, struct app *a)
{
	struct diags d = DIAGS_INIT;
	json_t *got = NULL;
	/* where to start, as a sequence number: --since SEQ, the last event before --since TIME, or
	 * the last event (from now on) */
	long long after = 0;
	const char *since = ctx->events_since;
	char *end = NULL;
	long long seq = since ? strtoll(since, &end, 10) : 0;
	int rc = app_events_list(a, NULL, NULL, 0, &got, &d);
	size_t i;
	json_t *r;
	if (since && end != since && !*end) {
		after = seq;
	} else {
		json_array_foreach(got, i, r) {
			if (since && strcmp(sget(r, "time"), since) >= 0)
				break;
			after = iget(r, "seq");
		}
	}
	json_decref(got);
	if (!ctx->json && !rc)
		printf("%-6s %-24s %-34s %-28s %s\n", "SEQ", "TIME", "TYPE", "SUBJECT", "ID");
	while (!rc && !*ctx->cancel) {
		char num[32];
		snprintf(num, sizeof(num), "%lld", after);
		if ((rc = app_events_list(a, num, ctx->events_type, 0, &got, &d)))
			break;
		json_array_foreach(got, i, r) {
			print_event_line(r, ctx->json);
			after = iget(r, "seq");
		}
		json_decref(got);
		fflush(stdout);
		for (int k = 0; k < 10 && !*ctx->cancel; k++) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	print_errors(ctx, &d);
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK; /* stopped by SIGINT/SIGTERM, as asked */
}

int cmd_events(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc;
	(void)argv;
	const char *sub = ctx->args.n ? ctx->args.v[0] : "";
	if (!*sub) {
		fprintf(stderr, "error: events: expected a subcommand: list, tail, deliver, redeliver, enable or sinks\n");
		return EXIT_USAGE;
	}
	bool redeliver = !strcmp(sub, "redeliver");
	const char *id = ctx->args.n > 1 ? ctx->args.v[1] : NULL;
	if (redeliver && !id && !(ctx->events_sink && ctx->events_since)) {
		fprintf(stderr, "error: events redeliver: expected an event ID, or --sink SINK --since TIME\n");
		return EXIT_USAGE;
	}
	struct app *a;
	bool tailing = !strcmp(sub, "tail");
	bool enable = !strcmp(sub, "enable");
	int rc = cli_open(ctx, !strcmp(sub, "list") || redeliver || tailing || enable ? APP_LOAD_STATE : APP_LOAD_MANIFESTS, &a);
	if (rc)
		return rc;
	if (tailing) {
		rc = tail(ctx, a);
		app_close(a);
		return rc;
	}
	json_t *out = NULL;
	struct diags d = DIAGS_INIT;
	int arc;
	size_t n = 0;
	if (!strcmp(sub, "list"))
		arc = app_events_list(a, ctx->events_since, ctx->events_type, 0, &out, &d);
	else if (!strcmp(sub, "deliver"))
		arc = app_events_deliver(a, ctx->events_timeout_ms, &out, &d);
	else if (!strcmp(sub, "sinks"))
		arc = app_events_sinks(a, &out, &d);
	else if (!strcmp(sub, "enable"))
		arc = app_events_enable(a, id, &d);
	else
		arc = app_events_redeliver(a, ctx->events_sink, id, ctx->events_since, &n, &d);
	print_errors(ctx, &d);
	rc = arc ? EXIT_ERROR : EXIT_OK;
	if (!arc) {
		size_t i;
		json_t *r;
		if (!strcmp(sub, "enable")) {
			printf("sink '%s' enabled: its pending events go out with the next delivery\n", id);
		} else if (redeliver) {
			printf("%zu deliver%s reset: the next delivery sends %s again\n", n, n == 1 ? "y" : "ies", n == 1 ? "it" : "them");
		} else if (ctx->json) {
			print_json(out);
		} else if (!strcmp(sub, "list")) {
			printf("%-6s %-24s %-34s %-28s %s\n", "SEQ", "TIME", "TYPE", "SUBJECT", "ID");
			json_array_foreach(out, i, r)
				print_event_line(r, false);
		} else if (!strcmp(sub, "deliver")) {
			json_array_foreach(out, i, r)
				printf("%s: %lld delivered, %lld dead, %lld skipped, %lld left%s%s\n", sget(r, "sink"), iget(r, "delivered"),
				       iget(r, "dead"), iget(r, "skipped"), iget(r, "left"), *sget(r, "message") ? ": " : "", sget(r, "message"));
		} else {
			printf("%-16s %-8s %-9s %-8s %-10s %-5s %s\n", "SINK", "TYPE", "STATUS", "BACKLOG", "DELIVERED", "DEAD", "LAST ERROR");
			json_array_foreach(out, i, r)
				printf("%-16s %-8s %-9s %-8lld %-10lld %-5lld %s\n", sget(r, "sink"), sget(r, "type"), sget(r, "status"),
				       iget(r, "backlog"), iget(r, "delivered"), iget(r, "dead"), sget(r, "last_error"));
		}
	}
	json_decref(out);
	diags_release(&d);
	app_close(a);
	return rc;
}
