/* Access control of `cratis serve`: the bearer tokens of src/app/tokens.h (created by `cratis
 * token create`), the bound on access events, and role-based policies in the Casbin / Argo CD CSV
 * form (docs/server.md). */
#ifndef CRATIS_SERVER_AUTH_H
#define CRATIS_SERVER_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/util.h"

#include "app/tokens.h"

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
