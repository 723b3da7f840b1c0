/* Access control of `cratis serve`: bearer tokens (created by `cratis token create`, kept as
 * salted SHA-256 hashes in the state store's records, never in clear) and role-based policies in the
 * Casbin / Argo CD CSV form (docs/server.md). */
#ifndef CRATIS_SERVER_AUTH_H
#define CRATIS_SERVER_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/util.h"

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

/* The bound on access events (docs/server.md "Access events"): at most per_minute in each fixed
 * one-minute window. */
struct access_rate {
	int64_t window_ms;        /* when the current window began (0: none yet) */
	unsigned events;          /* events allowed in it */
	uint64_t suppressed;      /* denials refused since the last one allowed */
};
/* Whether a denial at now_ms (milliseconds, any monotonic origin above 0) may be written as an
 * event. When it may, *suppressed gets how many were refused since the last one allowed (and that
 * count restarts); when not, the denial is counted. Pure; not thread-safe: the caller serialises. */
bool access_rate_take(struct access_rate *r, int64_t now_ms, unsigned per_minute, uint64_t *suppressed);

/* "30s", "10m", "2h", "7d" (a positive whole number and a unit) in seconds into *out. Returns
 * CRATIS_OK or CRATIS_EINVAL with the last error set. */
int duration_parse(const char *text, int64_t *out);

/* One rule of a policy: p (sub, obj kind, act, object pattern, allow/deny) or g (user, role). */
struct policy_rule {
	char kind;                /* 'p' or 'g' */
	char *f[5];               /* p: sub, resource, action, object, effect; g: user, role */
	int line;
};
/* A policy: the built-in rules (role:admin may do everything, role:readonly may get everything)
 * and those of a file. */
struct authz {
	struct policy_rule *v;
	size_t n, alloc;
};

/* Load the built-in rules into *z, then the CSV file path (NULL: none) when given: lines
 * "p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]" and "g, USER, ROLE"; blank lines and lines
 * starting with '#' are ignored. Patterns may use '*' (fnmatch). Errors are appended to d located
 * as path:line:col with the field ("effect", "resource"...) and what was expected; returns
 * CRATIS_OK, CRATIS_EIO (unreadable) or CRATIS_EINVAL. Release *z with authz_release in every
 * case. */
int authz_load(struct authz *z, const char *path, struct diags *d);
void authz_release(struct authz *z);
/* May subject (with its token's role) do action on resource's object? The subject's roles are its
 * token role, its further roles (s->roles) and every role a g rule gives it or its roles
 * (transitively). A matching deny rule
 * wins over an allow; nothing matching is a deny (default deny). Pure: thread-safe. */
bool authz_allows(const struct authz *z, const struct token_subject *s, const char *resource, const char *action,
                  const char *object);
/* Whether some allow rule of subject's names (as authz_allows) matches resource and action for
 * any object at all and no deny rule of theirs with the object pattern "*" does: what routes that
 * filter their answer per object (the events) check before answering 403. Pure: thread-safe. */
bool authz_allows_some(const struct authz *z, const struct token_subject *s, const char *resource, const char *action);

#endif
