/* cratis token: create, list and revoke the bearer tokens of cratis serve (src/server/auth.h). */
#define _GNU_SOURCE /* explicit_bzero, getrandom, strncasecmp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "server/auth.h"
#include "banned.h"

static int fail(const char *what)
{
	fprintf(stderr, "error: token %s: %s\n", what, cratis_error_last()->message);
	return EXIT_ERROR;
}

int cmd_token(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	const char *dir = ctx->state_dir ? ctx->state_dir : ".cratis";
	if (!ctx->args.n) {
		fprintf(stderr, "error: usage: cratis token create|list|revoke\n");
		return EXIT_USAGE;
	}
	const char *sub = ctx->args.v[0];
	char *path = xasprintf("%s/tokens.json", dir);
	int rc = EXIT_OK;
	if (!strcmp(sub, "create")) {
		int64_t expires = 0;
		struct token_created t;
		if (!ctx->subject || !ctx->role) {
			fprintf(stderr, "error: token create: --subject NAME and --role ROLE are required\n");
			rc = EXIT_USAGE;
		} else if (ctx->expires && duration_parse(ctx->expires, &expires)) {
			fprintf(stderr, "error: token create: --expires: %s\n", cratis_error_last()->message);
			rc = EXIT_USAGE;
		} else if (mkdir_p(dir)) {
			fprintf(stderr, "error: token create: cannot create '%s'\n", dir);
			rc = EXIT_ERROR;
		} else if (token_create(&t, path, ctx->subject, ctx->role, expires)) {
			rc = fail("create");
		} else {
			printf("%s\n", t.text);
			fprintf(stderr, "token %s for '%s': shown once, keep it now (cratis keeps only a salted hash)\n", t.id,
			        ctx->subject);
			explicit_bzero(t.text, sizeof(t.text));
		}
	} else if (!strcmp(sub, "list")) {
		json_t *list;
		if (token_list(&list, path)) {
			rc = fail("list");
		} else if (ctx->json) {
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
		if (token_revoke(path, ctx->args.v[1]))
			rc = fail("revoke");
		else
			fprintf(stderr, "token %s revoked\n", ctx->args.v[1]);
	}
	free(path);
	return rc;
}
