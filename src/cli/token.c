/* cratis token: create, list and revoke the bearer tokens of cratis serve (src/app/tokens.h), in
 * the store the server uses (--state, CRATIS_STATE, else the state directory's state.db). */
#define _GNU_SOURCE /* explicit_bzero, getrandom, strncasecmp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "app/tokens.h"
#include "error.h"
#include "banned.h"

static int fail(struct cli_ctx *ctx, struct diags *d)
{
	print_errors(ctx, d);
	return EXIT_ERROR;
}

static void say_imported(struct app *a, size_t n)
{
	if (n)
		fprintf(stderr, "imported %zu token%s from '%s/tokens.json' into the state store (the file is now tokens.json.imported)\n", n,
		        n == 1 ? "" : "s", a->state_dir);
}

int cmd_token(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	if (!ctx->args.n) {
		fprintf(stderr, "error: usage: cratis token create|list|revoke\n");
		return EXIT_USAGE;
	}
	const char *sub = ctx->args.v[0];
	int rc = EXIT_OK;
	int64_t expires = 0;
	if (!strcmp(sub, "create")) {
		if (!ctx->subject || !ctx->role) {
			fprintf(stderr, "error: token create: --subject NAME and --role ROLE are required\n");
			return EXIT_USAGE;
		}
		if (ctx->expires && duration_parse(ctx->expires, &expires)) {
			fprintf(stderr, "error: token create: --expires: %s\n", cratis_error_last()->message);
			return EXIT_USAGE;
		}
	}
	struct app *a = NULL;
	if (cli_open(ctx, APP_LOAD_STATE, &a))
		return EXIT_ERROR;
	struct diags d = DIAGS_INIT;
	size_t imported = 0;
	if (!strcmp(sub, "create")) {
		struct token_created t;
		if (app_token_create(a, ctx->subject, ctx->role, expires, &t, &imported, &d)) {
			rc = fail(ctx, &d);
		} else {
			say_imported(a, imported);
			printf("%s\n", t.text);
			fprintf(stderr, "token %s for '%s': shown once, keep it now (cratis keeps only a salted hash)\n", t.id,
			        ctx->subject);
			explicit_bzero(t.text, sizeof(t.text));
		}
	} else if (!strcmp(sub, "list")) {
		json_t *list;
		if (app_token_list(a, &list, &imported, &d)) {
			rc = fail(ctx, &d);
		} else if (say_imported(a, imported), ctx->json) {
			print_json(list);
		} else {
			printf("%-16s  %-16s  %-20s  %-20s  %s\n", "ID", "SUBJECT", "ROLE", "CREATED", "EXPIRES");
			size_t i;
			json_t *t;
			json_array_foreach(list, i, t) {
				const char *e = json_string_value(json_object_get(t, "expires"));
				printf("%-16s  %-16s  %-20s  %-20s  %s%s\n", json_string_value(json_object_get(t, "id")),
				       json_string_value(json_object_get(t, "subject")), json_string_value(json_object_get(t, "role")),
				       json_string_value(json_object_get(t, "created")), e ? e : "never",
				       json_is_true(json_object_get(t, "expired")) ? " (expired)" : "");
			}
		}
		json_decref(list);
	} else if (!strcmp(sub, "revoke")) {
		if (app_token_revoke(a, ctx->args.v[1], &d))
			rc = fail(ctx, &d);
		else
			fprintf(stderr, "token %s revoked\n", ctx->args.v[1]);
	}
	diags_release(&d);
	app_close(a);
	return rc;
}
