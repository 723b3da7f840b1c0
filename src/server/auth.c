/* The bound on access events and the Casbin-style policy evaluated on every route of `cratis
 * serve` (the tokens are src/app/tokens.c). */
#define _GNU_SOURCE /* explicit_bzero, getrandom, strncasecmp */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "secret/secret.h"
#include "state/store.h"
#include "buf.h"
#include "banned.h"


bool access_rate_take(struct access_rate *r, int64_t now_ms, unsigned per_minute, uint64_t *suppressed)
{
	if (!r->window_ms || now_ms - r->window_ms >= 60000 || now_ms < r->window_ms) {
		r->window_ms = now_ms;
		r->events = 0;
	}
	if (r->events >= per_minute) {
		r->suppressed++;
		return false;
	}
	r->events++;
	*suppressed = r->suppressed;
	r->suppressed = 0;
	return true;
}

/* ---- policy ---- */

static void rule_add(struct authz *z, char kind, int line, const char *const *f, int nf)
{
	z->v = xgrow(z->v, &z->alloc, z->n + 1, sizeof(*z->v));
	struct policy_rule *r = &z->v[z->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->line = line;
	for (int i = 0; i < nf; i++)
		r->f[i] = xstrdup(f[i]);
}

static const char *const builtin_rules[][5] = {
	{ "role:admin", "*", "*", "*", "allow" },
	{ "role:readonly", "*", "get", "*", "allow" },
};

int authz_load(struct authz *z, const char *path, struct diags *d)
{
	memset(z, 0, sizeof(*z));
	for (size_t i = 0; i < sizeof(builtin_rules) / sizeof(builtin_rules[0]); i++)
		rule_add(z, 'p', 0, builtin_rules[i], 5);
	if (!path)
		return CRATIS_OK;
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, path, 1 << 20)) {
		diags_errorf(d, CRATIS_EIO, "cannot read policy '%s': %s", path, strerror(errno));
		buf_release(&b);
		return CRATIS_EIO;
	}
	static const char *const pnames[] = { "subject", "resource", "action", "object", "effect" };
	int rc = CRATIS_OK, line = 0;
	char *save = b.ptr;
	while (save && *save) {
		char *ln = save;
		char *nl = strchr(ln, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		line++;
		char *f[8];
		int col[8], nf = 0;
		char *p = ln;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			continue;
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (nf == 8)
				break;
			col[nf] = (int)(p - ln) + 1;
			f[nf++] = p;
			char *c = strchr(p, ',');
			char *e = c ? c : p + strlen(p);
			while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			char *next = c ? c + 1 : NULL;
			*e = 0;
			if (!next)
				break;
			p = next;
		}
		struct diag *dg = NULL;
		if (!strcmp(f[0], "p")) {
			if (nf < 5 || nf > 6)
				dg = diags_errorf(d, CRATIS_EINVAL, "expected 'p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]', got %d fields", nf);
			else if (nf == 6 && strcmp(f[5], "allow") && strcmp(f[5], "deny")) {
				dg = diags_errorf(d, CRATIS_EINVAL, "expected allow or deny, got '%s'", f[5]);
				diag_locate(dg, path, line, col[5], pnames[4]);
				dg = NULL;
			} else {
				for (int i = 1; i < 5 && !dg; i++)
					if (!*f[i]) {
						struct diag *e = diags_errorf(d, CRATIS_EINVAL, "expected a %s or a pattern, got nothing", pnames[i - 1]);
						diag_locate(e, path, line, col[i], pnames[i - 1]);
						rc = CRATIS_EINVAL;
						goto next_line;
					}
				const char *v[5] = { f[1], f[2], f[3], f[4], nf == 6 ? f[5] : "allow" };
				rule_add(z, 'p', line, v, 5);
				continue;
			}
		} else if (!strcmp(f[0], "g")) {
			if (nf != 3 || !*f[1] || !*f[2])
				dg = diags_errorf(d, CRATIS_EINVAL, "expected 'g, USER, ROLE'");
			else {
				const char *v[2] = { f[1], f[2] };
				rule_add(z, 'g', line, v, 2);
				continue;
			}
		} else {
			dg = diags_errorf(d, CRATIS_EINVAL, "expected a rule 'p' or 'g', got '%s'", f[0]);
		}
		if (dg)
			diag_locate(dg, path, line, col[0], "rule");
		rc = CRATIS_EINVAL;
	next_line:;
	}
	buf_release(&b);
	return rc;
}

void authz_release(struct authz *z)
{
	for (size_t i = 0; i < z->n; i++)
		for (int k = 0; k < 5; k++)
			free(z->v[i].f[k]);
	free(z->v);
	memset(z, 0, sizeof(*z));
}

static bool glob(const char *pat, const char *s)
{
	return fnmatch(pat, s ? s : "", 0) == 0;
}

/* The subject's names into names (at most 48): itself, its token roles and the roles g rules
 * give them, transitively. Returns how many. */
#define AUTHZ_MAX_NAMES 48
static size_t subject_names(const struct authz *z, const struct token_subject *s, const char **names)
{
	size_t n = 0;
	names[n++] = s->subject;
	if (*s->role)
		names[n++] = s->role;
	for (size_t i = 0; i < s->nroles && i < TOKEN_MAX_ROLES; i++)
		names[n++] = s->roles[i];
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < z->n && n < AUTHZ_MAX_NAMES; i++) {
			const struct policy_rule *r = &z->v[i];
			if (r->kind != 'g' || strcmp(r->f[0], names[k]))
				continue;
			bool seen = false;
			for (size_t m = 0; m < n; m++)
				seen |= !strcmp(names[m], r->f[1]);
			if (!seen)
				names[n++] = r->f[1];
		}
	return n;
}

static bool rule_is_for(const struct policy_rule *r, const char **names, size_t n)
{
	for (size_t m = 0; m < n; m++)
		if (glob(r->f[0], names[m]))
			return true;
	return false;
}

bool authz_allows(const struct authz *z, const struct token_subject *s, const char *resource, const char *action,
                  const char *object)
{
	const char *names[AUTHZ_MAX_NAMES];
	size_t n = subject_names(z, s, names);
	bool allowed = false;
	for (size_t i = 0; i < z->n; i++) {
		const struct policy_rule *r = &z->v[i];
		if (r->kind != 'p' || !glob(r->f[1], resource) || !glob(r->f[2], action) || !glob(r->f[3], object))
			continue;
		if (!rule_is_for(r, names, n))
			continue;
		if (!strcmp(r->f[4], "deny"))
			return false;
		allowed = true;
	}
	return allowed;
}

bool authz_allows_some(const struct authz *z, const struct token_subject *s, const char *resource, const char *action)
{
	const char *names[AUTHZ_MAX_NAMES];
	size_t n = subject_names(z, s, names);
	bool some = false;
	for (size_t i = 0; i < z->n; i++) {
		const struct policy_rule *r = &z->v[i];
		if (r->kind != 'p' || !glob(r->f[1], resource) || !glob(r->f[2], action) || !rule_is_for(r, names, n))
			continue;
		if (!strcmp(r->f[4], "deny") && !strcmp(r->f[3], "*"))
			return false; /* denied every object */
		some |= !strcmp(r->f[4], "allow");
	}
	return some;
}
