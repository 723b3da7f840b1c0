/* Bearer tokens (salted SHA-256 hashes in a file beside the state) and the Casbin-style policy
 * evaluated on every route of `cratis serve`. */
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

#define TOKENS_CAP (4 << 20)

static void hex(char *out, const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	if (nbytes > sizeof(b) || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		return error_set(CRATIS_EIO, "cannot read random bytes: %s", strerror(errno));
	hex(out, b, nbytes);
	return CRATIS_OK;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int duration_parse(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = text && *text ? strtoll(text, &end, 10) : -1;
	int64_t mult = 0;
	if (v > 0 && !errno && end[0] && !end[1])
		mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
	if (!mult || v > INT64_MAX / 86400)
		return error_set(CRATIS_EINVAL, "invalid duration '%s': expected a positive number and a unit (30s, 10m, 2h, 7d)",
		                 text ? text : "");
	*out = v * mult;
	return CRATIS_OK;
}

/* Read the tokens file: {"tokens": [...]}; a missing file is an empty list. */
static int tokens_read(const char *path, json_t **out)
{
	struct buf b = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&b, path, TOKENS_CAP)) {
		if (errno == ENOENT) {
			buf_release(&b);
			*out = json_pack("{s:[]}", "tokens");
			return CRATIS_OK;
		}
		buf_release(&b);
		return error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	json_error_t je;
	json_t *j = json_loadb(b.ptr, b.len, 0, &je);
	buf_release(&b);
	if (!j || !json_is_array(json_object_get(j, "tokens"))) {
		json_decref(j);
		return error_set(CRATIS_EIO, "'%s' is not a cratis tokens file", path);
	}
	*out = j;
	return CRATIS_OK;
}

static int token_hash(char out[65], const char *salt, const char *secret)
{
	char *m = xasprintf("%s:%s", salt, secret);
	int rc = secret_sha256_hex(out, m, strlen(m));
	free_wiped(m);
	return rc;
}

static bool plain_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '"')
			return false;
	return true;
}

/* A token's record (kind "token", scope "", name its id): its body as JSON, or NULL. */
static json_t *record_json(const struct record *r)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Put token t (a JSON object with its id) as a new record: CRATIS_EEXISTS when the id is taken. */
static int token_put(struct store *st, json_t *t)
{
	char *body = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	struct record r = { .kind = (char *)TOKEN_RECORD_KIND, .scope = (char *)"",
	                    .name = (char *)json_string_value(json_object_get(t, "id")), .body = body };
	int rc = r.name ? store_record_put(st, &r, 0, NULL) : error_set(CRATIS_EINVAL, "a token without an id");
	/* the store replaced created and updated with heap strings of its own */
	free(r.created);
	free(r.updated);
	free(body);
	return rc;
}

int token_create(struct token_created *out, struct store *st, const char *subject, const char *role, int64_t expires_s)
{
	if (!plain_name(subject))
		return error_set(CRATIS_EINVAL, "invalid subject '%s': expected a name without commas or spaces",
		                 subject ? subject : "");
	if (!plain_name(role))
		return error_set(CRATIS_EINVAL, "invalid role '%s': expected a name without commas or spaces", role ? role : "");
	char secret[65], salt[33], hash[65];
	int rc;
	if ((rc = random_hex(out->id, 8)) || (rc = random_hex(secret, 32)) || (rc = random_hex(salt, 16)))
		return rc;
	if ((rc = token_hash(hash, salt, secret)))
		return rc;
	snprintf(out->text, sizeof(out->text), "cratis_%s_%s", out->id, secret);
	explicit_bzero(secret, sizeof(secret));
	char created[32], exp[32];
	int64_t now = (int64_t)time(NULL);
	rfc3339(now, created);
	if (expires_s)
		rfc3339(now + expires_s, exp);
	char *r = starts_with(role, "role:") ? xstrdup(role) : xasprintf("role:%s", role);
	json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:s}", "id", out->id, "subject", subject, "role", r,
	                      "created", created, "expires", expires_s ? json_string(exp) : json_null(), "expires_unix",
	                      (json_int_t)(expires_s ? now + expires_s : 0), "salt", salt, "sha256", hash);
	free(r);
	rc = token_put(st, t);
	json_decref(t);
	if (rc)
		explicit_bzero(out->text, sizeof(out->text));
	return rc;
}

int token_list(json_t **out, struct store *st)
{
	struct records rs;
	*out = NULL;
	int rc = store_records(st, TOKEN_RECORD_KIND, "", &rs);
	if (rc) {
		store_records_release(&rs);
		return rc;
	}
	json_t *list = json_array();
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < rs.n; i++) {
		json_t *t = record_json(&rs.v[i]);
		if (!t)
			continue;
		json_int_t e = json_integer_value(json_object_get(t, "expires_unix"));
		json_array_append_new(list, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:b}", "id", json_object_get(t, "id"),
		                                      "subject", json_object_get(t, "subject"), "role",
		                                      json_object_get(t, "role"), "created", json_object_get(t, "created"),
		                                      "expires", json_object_get(t, "expires"), "expired", e && e <= now));
		json_decref(t);
	}
	store_records_release(&rs);
	*out = list;
	return CRATIS_OK;
}

int token_revoke(struct store *st, const char *id)
{
	int rc = store_record_delete(st, TOKEN_RECORD_KIND, "", id ? id : "", STORE_REV_ANY, NULL);
	if (rc == CRATIS_ENOTFOUND)
		return error_set(CRATIS_ENOTFOUND, "no token '%s' (cratis token list shows them)", id ? id : "");
	return rc;
}

int tokens_import(struct store *st, const char *path, size_t *imported)
{
	*imported = 0;
	struct stat sb;
	if (stat(path, &sb) && errno == ENOENT)
		return CRATIS_OK;
	json_t *j;
	int rc = tokens_read(path, &j);
	if (rc)
		return rc;
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(j, "tokens"), i, t) {
		if (!json_is_object(t) || !json_is_string(json_object_get(t, "id")))
			continue;
		int prc = token_put(st, t);
		if (prc == CRATIS_OK)
			(*imported)++;
		else if (prc != CRATIS_EEXISTS) { /* EEXISTS: imported before, or by another process */
			rc = prc;
			break;
		}
	}
	json_decref(j);
	if (!rc) {
		char *done = xasprintf("%s.imported", path);
		if (rename(path, done) && errno != ENOENT) /* ENOENT: another process renamed it */
			rc = error_set(CRATIS_EIO, "cannot rename '%s' to '%s': %s", path, done, strerror(errno));
		free(done);
	}
	return rc;
}

int token_verify(struct token_subject *out, struct store *st, const char *text)
{
	/* cratis_<16 hex>_<64 hex> */
	if (!text || strlen(text) != 7 + 16 + 1 + 64 || !starts_with(text, "cratis_") || text[23] != '_')
		return error_set(CRATIS_EINVAL, "malformed token");
	char id[17];
	memcpy(id, text + 7, 16);
	id[16] = 0;
	for (int k = 0; k < 16; k++)
		if (!strchr("0123456789abcdef", id[k]))
			return error_set(CRATIS_EINVAL, "malformed token");
	struct record r;
	int rc = store_record_get(st, TOKEN_RECORD_KIND, "", id, &r);
	if (rc == CRATIS_ENOTFOUND)
		return error_set(CRATIS_EINVAL, "unknown or revoked token %s", id);
	if (rc)
		return rc;
	json_t *t = record_json(&r);
	record_release(&r);
	const char *salt = json_string_value(json_object_get(t, "salt"));
	const char *want = json_string_value(json_object_get(t, "sha256"));
	const char *subject = json_string_value(json_object_get(t, "subject"));
	const char *role = json_string_value(json_object_get(t, "role"));
	char got[65];
	if (!salt || !want || strlen(want) != 64 || !subject || !role) {
		rc = error_set(CRATIS_EIO, "token %s has no hash in the store", id);
	} else if (!(rc = token_hash(got, salt, text + 24))) {
		unsigned diff = 0; /* constant time */
		for (int k = 0; k < 64; k++)
			diff |= (unsigned)(got[k] ^ want[k]);
		json_int_t e = json_integer_value(json_object_get(t, "expires_unix"));
		if (diff)
			rc = error_set(CRATIS_EINVAL, "wrong secret for token %s", id);
		else if (e && e <= (json_int_t)time(NULL))
			rc = error_set(CRATIS_EINVAL, "token %s expired", id);
		else {
			memset(out, 0, sizeof(*out));
			snprintf(out->subject, sizeof(out->subject), "%s", subject);
			snprintf(out->role, sizeof(out->role), "%s", role);
		}
	}
	json_decref(t);
	return rc;
}

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
