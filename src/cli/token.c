/* cratis token: create, list and revoke the bearer tokens of cratis serve (src/server/auth.h). */
#define _GNU_SOURCE /* explicit_bzero, getrandom, strncasecmp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "server/auth.h"
#include "state/store.h"
#include "banned.h"

static int fail(const char *what)
{
	fprintf(stderr, "error: token %s: %s\n", what, cratis_error_last()->message);
	return EXIT_ERROR;
}

/* The store the server uses (--state, CRATIS_STATE, else sqlite:DIR/state.db), with the tokens
 * file of earlier versions imported once; NULL after saying why. */
static struct store *open_tokens(struct cli_ctx *ctx, const char *dir)
{
	if (mkdir_p(dir)) {
		fprintf(stderr, "error: token: cannot create '%s'\n", dir);
		return NULL;
	}
	char *url = ctx->state_url ? xstrdup(ctx->state_url) : xasprintf("sqlite:%s/state.db", dir);
	char *path = xasprintf("%s/tokens.json", dir);
	struct store *st = NULL;
	size_t n = 0;
	if (store_open(&st, url)) {
		fprintf(stderr, "error: token: %s\n", cratis_error_last()->message);
	} else if (tokens_import(st, path, &n)) {
		fprintf(stderr, "error: token: importing '%s': %s\n", path, cratis_error_last()->message);
		store_close(st);
		st = NULL;
	} else if (n) {
		fprintf(stderr, "imported %zu token%s from '%s' into the state store (the file is now %s.imported)\n", n,
		        n == 1 ? "" : "s", path, path);
	}
	free(url);
	free(path);
	return st;
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
	struct store *st = open_tokens(ctx, dir);
	if (!st)
		return EXIT_ERROR;
	if (!strcmp(sub, "create")) {
		struct token_created t;
		if (token_create(&t, st, ctx->subject, ctx->role, expires)) {
			rc = fail("create");
		} else {
			printf("%s\n", t.text);
			fprintf(stderr, "token %s for '%s': shown once, keep it now (cratis keeps only a salted hash)\n", t.id,
			        ctx->subject);
			explicit_bzero(t.text, sizeof(t.text));
		}
	} else if (!strcmp(sub, "list")) {
		json_t *list;
		if (token_list(&list, st)) {
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
		if (token_revoke(st, ctx->args.v[1]))
			rc = fail("revoke");
		else
			fprintf(stderr, "token %s revoked\n", ctx->args.v[1]);
	}
	store_close(st);
	return rc;
}
