/* Bearer tokens of `cratis serve` (docs/server.md "Access"): created by `cratis token create`,
 * kept as salted SHA-256 hashes in the state store's records, never in clear; verified by the
 * server on every request. In the application layer, so that the CLI reaches them through an
 * open app (app_token_*) and the server through its store. */
#ifndef CRATIS_APP_TOKENS_H
#define CRATIS_APP_TOKENS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"

struct app;
struct store;

/* A token as created: the secret is in text (shown once), the rest is what the store keeps. */
struct token_created {
	char text[128];           /* "cratis_<id>_<secret>": what clients send as "Bearer ..." */
	char id[17];              /* 16 hex digits, the public part (token list/revoke) */
};

/* Tokens are records of the state store (src/state/store.h): kind "token", scope "", name the
 * id, body {id, subject, role, created, expires, expires_unix, salt, sha256}: never the secret. */
#define TOKEN_RECORD_KIND "token"

/* Create a token for subject with role (a name, or "role:NAME"), expiring expires_s seconds from
 * now (0: never), and record its salted hash in store st. *out gets the token. Returns CRATIS_OK,
 * CRATIS_EINVAL (empty subject or role, a subject or role with a comma or a space), CRATIS_EIO
 * (the store cannot be written), CRATIS_EEXISTS (the random id is taken: try again) or
 * CRATIS_ENOTFOUND (libcrypto missing), with the last error set. */
int token_create(struct token_created *out, struct store *st, const char *subject, const char *role,
                 int64_t expires_s);
/* The tokens of store st as a new JSON array of {id, subject, role, created, expires (RFC 3339 or
 * null), expired (bool)}, ordered by id: never a hash or salt. Returns CRATIS_OK or CRATIS_EIO
 * with the last error set; *out is NULL on error. */
int token_list(json_t **out, struct store *st);
/* Remove the token whose id is id from store st. CRATIS_ENOTFOUND when there is none, CRATIS_EIO;
 * the last error is set. */
int token_revoke(struct store *st, const char *id);
/* Import the tokens file of earlier versions at path ({"tokens": [...]}, as token_create wrote
 * it) into st once: each token not yet recorded becomes a record (one already there is kept), then
 * the file is renamed PATH.imported. Nothing to do when path does not exist. *imported gets how
 * many were recorded. Returns CRATIS_OK, CRATIS_EIO (the file cannot be read, is not a tokens
 * file or cannot be renamed; the store cannot be written) with the last error set. Safe to run
 * from two processes at once. */
int tokens_import(struct store *st, const char *path, size_t *imported);

/* Who a request comes from: a cratis token's subject and role, or an OIDC JWT's subject and
 * roles (jwt.h). */
#define TOKEN_MAX_ROLES 16
struct token_subject {
	char subject[128];
	char role[128];           /* "role:NAME": the token's role (a JWT: its first role, or "" when
	                           * the roles claim names none) */
	char roles[TOKEN_MAX_ROLES][128]; /* a JWT's further roles ("role:NAME"), nroles of them */
	size_t nroles;
};
/* Check token text against store st (read on each call: revocations take effect at once).
 * Returns CRATIS_OK with *out filled, CRATIS_EINVAL for an unknown, malformed, revoked or expired
 * token (the reason in the last error, never the token), CRATIS_EIO when the store cannot be
 * read. Thread-safe for distinct st. */
int token_verify(struct token_subject *out, struct store *st, const char *text);

/* "30s", "10m", "2h", "7d" (a positive whole number and a unit) in seconds into *out. Returns
 * CRATIS_OK or CRATIS_EINVAL with the last error set. */
int duration_parse(const char *text, int64_t *out);

/* The same on the store of an open app (any app_load but APP_LOAD_OFFLINE), each failure as one
 * error in d (also the return value). app_token_create and app_token_list first import the
 * tokens file of earlier versions at STATE_DIR/tokens.json (tokens_import), *imported (may be
 * NULL) getting how many it recorded. */
int app_token_create(struct app *a, const char *subject, const char *role, int64_t expires_s, struct token_created *out,
                     size_t *imported, struct diags *d);
int app_token_list(struct app *a, json_t **out, size_t *imported, struct diags *d);
int app_token_revoke(struct app *a, const char *id, struct diags *d);

#endif
