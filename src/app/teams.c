/* Teams, namespaces and environment master records as store records, and the namespace quota
 * check of plans (teams.h; docs/server.md "Teams and namespaces", docs/manifests.md). */
#include "teams.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app_internal.h"
#include "error.h"
#include "map.h"
#include "banned.h"

/* ---- Kubernetes quantities ---- */

typedef unsigned __int128 u128;

/* value = mantissa * 10^exp10 * 2^exp2, rounded up to an integer, into *out. */
static int quantity_value(u128 mantissa, int exp10, int exp2, const char *text, int64_t *out)
{
	u128 n = mantissa;
	for (int i = 0; i < exp2; i++) {
		if (n > ((u128)INT64_MAX << 1))
			goto out_range;
		n <<= 1;
	}
	for (; exp10 > 0; exp10--) {
		if (n > (u128)INT64_MAX * 10)
			goto out_range;
		n *= 10;
	}
	if (exp10 < 0) {
		if (exp10 < -38) {
			n = n ? 1 : 0; /* a positive amount below one unit rounds up to one */
		} else {
			u128 den = 1;
			for (int i = 0; i < -exp10; i++)
				den *= 10;
			n = n / den + (n % den ? 1 : 0);
		}
	}
	if (n > (u128)INT64_MAX)
		goto out_range;
	*out = (int64_t)n;
	return CRATIS_OK;
out_range:
	return error_set(CRATIS_EINVAL, "quantity '%s' is too large", text);
}

/* Parse text (grammar in teams.h) into mantissa, exponents; unit_exp10 scales the result (3 for
 * millicores). */
static int quantity_parse(const char *text, int unit_exp10, int64_t *out)
{
	static const char expected[] =
		"expected a Kubernetes quantity: a non-negative number with an optional suffix (500m, 2, 1.5, 1Gi, 128M, 1e3)";
	if (!text || !*text)
		return error_set(CRATIS_EINVAL, "empty quantity: %s", expected);
	const char *p = text;
	u128 m = 0;
	int digits = 0, frac = 0, sig = 0;
	bool dot = false;
	for (; *p; p++) {
		if (*p == '.' && !dot) {
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		digits++;
		if (m == 0 && *p == '0') {
			/* leading zeros do not count against the precision limit */
		} else if (++sig > 30) {
			return error_set(CRATIS_EINVAL, "quantity '%s' has too many digits", text);
		}
		m = m * 10 + (u128)(*p - '0');
		if (dot)
			frac++;
	}
	if (!digits)
		return error_set(CRATIS_EINVAL, "invalid quantity '%s': %s", text, expected);
	int exp10 = unit_exp10 - frac, exp2 = 0;
	const char *s = p;
	if (!*s) {
		/* no suffix */
	} else if (s[1] == 'i' && !s[2] && strchr("KMGTPE", s[0])) {
		exp2 = 10 * (int)(strchr("KMGTPE", s[0]) - "KMGTPE" + 1);
	} else if (!s[1] && strchr("numkMGTPE", s[0])) {
		static const int e[] = { -9, -6, -3, 3, 6, 9, 12, 15, 18 };
		exp10 += e[strchr("numkMGTPE", s[0]) - "numkMGTPE"];
	} else if ((s[0] == 'e' || s[0] == 'E') && s[1]) {
		const char *q = s + 1;
		bool neg = *q == '-';
		if (*q == '-' || *q == '+')
			q++;
		int e = 0;
		if (!*q)
			return error_set(CRATIS_EINVAL, "invalid quantity '%s': %s", text, expected);
		for (; *q; q++) {
			if (*q < '0' || *q > '9' || e > 1000)
				return error_set(CRATIS_EINVAL, "invalid quantity '%s': %s", text, expected);
			e = e * 10 + (*q - '0');
		}
		exp10 += neg ? -e : e;
	} else {
		return error_set(CRATIS_EINVAL, "invalid quantity '%s': %s", text, expected);
	}
	if (m == 0) {
		*out = 0;
		return CRATIS_OK;
	}
	return quantity_value(m, exp10, exp2, text, out);
}

int quantity_cpu_millis(const char *text, int64_t *out)
{
	return quantity_parse(text, 3, out);
}

int quantity_memory_bytes(const char *text, int64_t *out)
{
	return quantity_parse(text, 0, out);
}

char *quantity_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v) && json_real_value(v) >= 0) {
		/* the shortest text that reads back as the same double */
		for (int prec = 1; prec <= 17; prec++) {
			char *t = xasprintf("%.*g", prec, json_real_value(v));
			if (strtod(t, NULL) == json_real_value(v) && !strchr(t, 'e') && !strchr(t, 'n') && !strchr(t, 'i'))
				return t;
			free(t);
		}
	}
	return NULL;
}

void quantity_format_cpu(int64_t millis, char out[32])
{
	if (millis % 1000 == 0)
		snprintf(out, 32, "%" PRId64, millis / 1000);
	else
		snprintf(out, 32, "%" PRId64 "m", millis);
}

void quantity_format_memory(int64_t bytes, char out[32])
{
	static const char *const suffix[] = { "Ei", "Pi", "Ti", "Gi", "Mi", "Ki" };
	for (int i = 0; i < 6; i++) {
		int64_t unit = (int64_t)1 << (10 * (6 - i));
		if (bytes && bytes % unit == 0) {
			snprintf(out, 32, "%" PRId64 "%s", bytes / unit, suffix[i]);
			return;
		}
	}
	snprintf(out, 32, "%" PRId64, bytes);
}

/* ---- validation of request bodies ---- */

static const char *const kind_names[] = { "environment", "team", "namespace" };

/* A DNS label as Kubernetes names namespaces: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
static bool dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static struct diag *body_error(struct diags *d, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct diag *body_error(struct diags *d, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(d, DIAG_ERROR, CRATIS_EINVAL, fmt, ap);
	va_end(ap);
	diag_locate(dg, "request body", 0, 0, field);
	return dg;
}

/* Every member of obj must be one of allowed (NULL-terminated); prefix: the field path of obj. */
static void only_fields(const json_t *obj, const char *prefix, const char *const *allowed, struct diags *d)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = !strcmp(k, allowed[i]);
		if (!known) {
			struct buf list = BUF_INIT;
			for (size_t i = 0; allowed[i]; i++)
				buf_addf(&list, "%s%s", i ? ", " : "", allowed[i]);
			char *field = *prefix ? xasprintf("%s.%s", prefix, k) : xstrdup(k);
			body_error(d, field, "unknown field '%s': expected %s", k, list.ptr);
			free(field);
			buf_release(&list);
		}
	}
}

/* The string member key of obj (NULL when absent); a member that is not a string is an error. */
static const char *opt_string(const json_t *obj, const char *key, const char *prefix, struct diags *d)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		char *field = *prefix ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
		body_error(d, field, "expected a string, got %s", json_type_phrase(v));
		free(field);
		return NULL;
	}
	return json_string_value(v);
}

/* The name the record gets: path_name (from the URL) or body's name field, which must agree. */
static const char *record_name(const json_t *body, const char *field, const char *path_name, struct diags *d)
{
	const char *n = opt_string(body, field, "", d);
	if (path_name && n && strcmp(n, path_name)) {
		body_error(d, field, "'%s' does not match '%s' of the path", n, path_name);
		return path_name;
	}
	return path_name ? path_name : n;
}

static void check_label(const char *name, const char *field, const char *what, struct diags *d)
{
	if (!name)
		body_error(d, field, "missing: expected the %s's name", what);
	else if (!dns_label(name))
		body_error(d, field, "invalid %s name '%s': expected lowercase letters, digits and '-' (a DNS label, at most 63 characters)",
		           what, name);
}

/* description and labels of an environment or team */
static json_t *common_fields(const json_t *body, const char *name, struct diags *d)
{
	json_t *doc = json_pack("{s:s}", "name", name ? name : "");
	const char *desc = opt_string(body, "description", "", d);
	json_object_set_new(doc, "description", json_string(desc ? desc : ""));
	return doc;
}

static json_t *environment_doc(const json_t *body, const char *path_name, struct diags *d)
{
	static const char *const allowed[] = { "name", "description", "labels", "protected", "revision", "created",
		                               "updated", NULL };
	only_fields(body, "", allowed, d);
	const char *name = record_name(body, "name", path_name, d);
	check_label(name, "name", "environment", d);
	json_t *doc = common_fields(body, name, d);
	json_t *labels = json_object_get(body, "labels"), *out = json_object();
	if (labels && !json_is_null(labels) && !json_is_object(labels)) {
		body_error(d, "labels", "expected a mapping of name: value strings, got %s", json_type_phrase(labels));
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(labels, k, v) {
			if (!*k || strlen(k) > 63) {
				char *f = xasprintf("labels.%s", k);
				body_error(d, f, "expected a label name of 1 to 63 characters");
				free(f);
			} else if (!json_is_string(v)) {
				char *f = xasprintf("labels.%s", k);
				body_error(d, f, "expected a string, got %s", json_type_phrase(v));
				free(f);
			} else {
				json_object_set(out, k, v);
			}
		}
	}
	json_object_set_new(doc, "labels", out);
	json_t *prot = json_object_get(body, "protected");
	if (prot && !json_is_boolean(prot) && !json_is_null(prot))
		body_error(d, "protected", "expected true or false, got %s", json_type_phrase(prot));
	json_object_set_new(doc, "protected", json_boolean(json_is_true(prot)));
	return doc;
}

static bool valid_subject(const char *s)
{
	if (!s || !*s || strlen(s) > 127)
		return false;
	for (; *s; s++)
		if (*s == ',' || *s == ' ' || *s == '\t' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

static json_t *team_doc(const json_t *body, const char *path_name, struct diags *d)
{
	static const char *const allowed[] = { "name", "description", "members", "revision", "created", "updated", NULL };
	only_fields(body, "", allowed, d);
	const char *name = record_name(body, "name", path_name, d);
	check_label(name, "name", "team", d);
	json_t *doc = common_fields(body, name, d);
	json_t *members = json_object_get(body, "members"), *out = json_array();
	if (members && !json_is_null(members) && !json_is_array(members))
		body_error(d, "members", "expected a sequence of {subject, role}, got %s", json_type_phrase(members));
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m) {
		char prefix[48];
		snprintf(prefix, sizeof(prefix), "members[%zu]", i);
		if (!json_is_object(m)) {
			body_error(d, prefix, "expected {subject, role}, got %s", json_type_phrase(m));
			continue;
		}
		static const char *const mf[] = { "subject", "role", NULL };
		only_fields(m, prefix, mf, d);
		const char *subject = opt_string(m, "subject", prefix, d);
		const char *role = opt_string(m, "role", prefix, d);
		char *sf = xasprintf("%s.subject", prefix), *rf = xasprintf("%s.role", prefix);
		if (!valid_subject(subject))
			body_error(d, sf, "expected a subject (a token's subject: no space or comma), got '%s'", subject ? subject : "");
		if (!role || (strcmp(role, "owner") && strcmp(role, "member")))
			body_error(d, rf, "expected owner or member, got '%s'", role ? role : "");
		for (size_t k = 0; subject && k < i; k++)
			if (!strcmp(subject, or_empty(json_string_value(json_object_get(json_array_get(members, k), "subject")))))
				body_error(d, sf, "subject '%s' is listed twice (members[%zu])", subject, k);
		if (subject && role)
			json_array_append_new(out, json_pack("{s:s, s:s}", "subject", subject, "role", role));
		free(sf);
		free(rf);
	}
	json_object_set_new(doc, "members", out);
	return doc;
}

/* quota {cpu, memory, services} of a namespace body, normalised */
static json_t *quota_doc(const json_t *q, struct diags *d)
{
	json_t *out = json_object();
	if (!q || json_is_null(q))
		return out;
	if (!json_is_object(q)) {
		body_error(d, "quota", "expected {cpu, memory, services}, got %s", json_type_phrase(q));
		return out;
	}
	static const char *const allowed[] = { "cpu", "memory", "services", NULL };
	only_fields(q, "quota", allowed, d);
	static const char *const qty[] = { "cpu", "memory" };
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(q, qty[i]);
		if (!v || json_is_null(v))
			continue;
		char *t = quantity_text(v);
		int64_t n;
		char *field = xasprintf("quota.%s", qty[i]);
		if (!t)
			body_error(d, field, "expected a quantity (\"%s\"), got %s", i ? "1Gi" : "2", json_type_phrase(v));
		else if ((i ? quantity_memory_bytes(t, &n) : quantity_cpu_millis(t, &n)))
			body_error(d, field, "%s", cratis_error_last()->message);
		else
			json_object_set_new(out, qty[i], json_string(t));
		free(field);
		free(t);
	}
	json_t *s = json_object_get(q, "services");
	if (s && !json_is_null(s)) {
		if (!json_is_integer(s) || json_integer_value(s) < 0)
			body_error(d, "quota.services", "expected a whole number of services (0 or more), got %s",
			           json_is_integer(s) ? "a negative number" : json_type_phrase(s));
		else
			json_object_set(out, "services", s);
	}
	return out;
}

/* record name "ENV/NS" of a namespace body: from the path (path_name) or body's environment and
 * name */
static json_t *namespace_doc(const json_t *body, const char *team, const char *path_name, struct diags *d)
{
	static const char *const allowed[] = { "team", "environment", "name", "quota", "revision", "created", "updated",
		                               NULL };
	only_fields(body, "", allowed, d);
	char *penv = NULL;
	const char *pns = NULL;
	if (path_name) {
		const char *slash = strchr(path_name, '/');
		penv = slash ? xstrndup(path_name, (size_t)(slash - path_name)) : xstrdup(path_name);
		pns = slash ? slash + 1 : "";
	}
	const char *bt = opt_string(body, "team", "", d);
	if (bt && strcmp(bt, team))
		body_error(d, "team", "'%s' does not match team '%s' of the path", bt, team);
	const char *env = record_name(body, "environment", penv, d);
	const char *name = record_name(body, "name", pns, d);
	check_label(env, "environment", "environment", d);
	check_label(name, "name", "namespace", d);
	json_t *doc = json_pack("{s:s, s:s, s:s}", "team", team, "environment", env ? env : "", "name", name ? name : "");
	json_object_set_new(doc, "quota", quota_doc(json_object_get(body, "quota"), d));
	free(penv);
	return doc;
}

/* ---- records ---- */

/* The record's document with revision, created and updated (new reference), or NULL when its
 * body is not JSON (a damaged store: CRATIS_EIO in d). */
static json_t *record_json(const struct record *r, struct diags *d)
{
	json_error_t e;
	json_t *doc = json_loads(r->body, 0, &e);
	if (!json_is_object(doc)) {
		json_decref(doc);
		diags_errorf(d, CRATIS_EIO, "the %s record '%s' in the store is not a JSON object: %s", r->kind, r->name, e.text);
		return NULL;
	}
	json_object_set_new(doc, "revision", json_integer(r->revision));
	json_object_set_new(doc, "created", json_string(r->created ? r->created : ""));
	json_object_set_new(doc, "updated", json_string(r->updated ? r->updated : ""));
	return doc;
}

static const char *scope_of(enum app_master kind, const char *team)
{
	return kind == APP_NAMESPACE ? (team ? team : "") : "";
}

/* "environment 'staging'", "team 'a'", "namespace 'a/staging/web'" */
static char *what_of(enum app_master kind, const char *team, const char *name)
{
	if (kind == APP_NAMESPACE)
		return xasprintf("namespace '%s/%s'", team ? team : "", name);
	return xasprintf("%s '%s'", kind_names[kind], name);
}

int app_master_list(struct app *a, enum app_master kind, const char *team, json_t **out, struct diags *d)
{
	*out = NULL;
	struct records rs;
	int rc = store_records(a->store, kind_names[kind], kind == APP_NAMESPACE ? team : "", &rs);
	if (rc) {
		diags_add_last_error(d);
		store_records_release(&rs);
		return rc;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < rs.n && !rc; i++) {
		json_t *doc = record_json(&rs.v[i], d);
		if (doc)
			json_array_append_new(list, doc);
		else
			rc = CRATIS_EIO;
	}
	store_records_release(&rs);
	if (rc)
		json_decref(list);
	else
		*out = list;
	return rc;
}

int app_master_get(struct app *a, enum app_master kind, const char *team, const char *name, json_t **out,
                   struct diags *d)
{
	*out = NULL;
	struct record r;
	int rc = store_record_get(a->store, kind_names[kind], scope_of(kind, team), name, &r);
	if (rc == CRATIS_ENOTFOUND) {
		char *w = what_of(kind, team, name);
		diags_errorf(d, rc, "no %s", w);
		free(w);
	} else if (rc) {
		diags_add_last_error(d);
	} else if (!(*out = record_json(&r, d))) {
		rc = CRATIS_EIO;
	}
	record_release(&r);
	return rc;
}

const char *app_team_role(const json_t *doc, const char *subject)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(doc, "members"), i, m)
		if (subject && !strcmp(or_empty(json_string_value(json_object_get(m, "subject"))), subject))
			return json_string_value(json_object_get(m, "role"));
	return NULL;
}

/* The event of a change: type dev.cratis.KIND.ACTION, source /environments/E, /teams/T or
 * /teams/T/namespaces/E/NS, subject the record's name. */
struct change_event {
	struct store_event ev;
	struct store_emits em;
	char *type, *source, *data;
};

static void change_event(struct change_event *c, enum app_master kind, const char *team, const char *name,
                         const char *action, json_t *data, const struct app_actor *who)
{
	memset(c, 0, sizeof(*c));
	c->type = xasprintf("dev.cratis.%s.%s", kind_names[kind], action);
	c->source = kind == APP_NAMESPACE ? xasprintf("/teams/%s/namespaces/%s", team, name)
	                                  : xasprintf("/%s/%s", kind == APP_TEAM ? "teams" : "environments", name);
	if (who && who->subject)
		json_object_set_new(data, "actor", json_pack("{s:s, s:s?}", "subject", who->subject, "role", who->role));
	c->data = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	c->ev = (struct store_event){ .type = c->type, .subject = name, .data = c->data, .source = c->source };
	c->em = (struct store_emits){ .events = &c->ev, .n = 1 };
}

static void change_event_release(struct change_event *c)
{
	free(c->type);
	free(c->source);
	free(c->data);
}

/* The namespaces that stop kind/name from being deleted (a team's, an environment's), as
 * "team/env/ns, ..." into out; CRATIS_EIO. */
static int dependents(struct app *a, enum app_master kind, const char *name, struct buf *out, struct diags *d)
{
	if (kind == APP_NAMESPACE)
		return CRATIS_OK;
	struct records rs;
	int rc = store_records(a->store, "namespace", kind == APP_TEAM ? name : NULL, &rs);
	if (rc) {
		diags_add_last_error(d);
	} else {
		for (size_t i = 0; i < rs.n; i++) {
			const char *slash = strchr(rs.v[i].name, '/');
			size_t elen = slash ? (size_t)(slash - rs.v[i].name) : strlen(rs.v[i].name);
			if (kind == APP_ENVIRONMENT && (strlen(name) != elen || strncmp(rs.v[i].name, name, elen)))
				continue;
			buf_addf(out, "%s%s/%s", out->len ? ", " : "", rs.v[i].scope, rs.v[i].name);
		}
	}
	store_records_release(&rs);
	return rc;
}

/* The conflict of a compare-and-set on (kind, team, name) that expected revision expect: says which
 * revision the store holds (the store's own message names its file). */
static void conflict_diag(struct app *a, enum app_master kind, const char *team, const char *name, int64_t expect,
                          const char *w, struct diags *d)
{
	struct record x;
	int rc = store_record_get(a->store, kind_names[kind], scope_of(kind, team), name, &x);
	struct diag *dg = rc ? diags_errorf(d, CRATIS_EEXISTS, "%s changed since revision %" PRId64, w, expect)
	                     : diags_errorf(d, CRATIS_EEXISTS, "%s is at revision %" PRId64 ", not %" PRId64 ": it changed since it was read",
	                                    w, x.revision, expect);
	diag_hint(dg, "read it again (GET) and send its ETag in If-Match");
	record_release(&x);
}

int app_master_put(struct app *a, enum app_master kind, const char *team, const char *name, const json_t *body,
                   int64_t expect, const struct app_actor *who, json_t **out, bool *conflict, struct diags *d)
{
	if (out)
		*out = NULL;
	if (conflict)
		*conflict = false;
	struct diags errs = DIAGS_INIT;
	json_t *doc = kind == APP_ENVIRONMENT ? environment_doc(body, name, &errs)
	            : kind == APP_TEAM        ? team_doc(body, name, &errs)
	                                      : namespace_doc(body, team, name, &errs);
	int rc = CRATIS_OK;
	char *rname = kind == APP_NAMESPACE ? xasprintf("%s/%s", json_string_value(json_object_get(doc, "environment")),
	                                                 json_string_value(json_object_get(doc, "name")))
	                                    : xstrdup(json_string_value(json_object_get(doc, "name")));
	char *w = what_of(kind, team, rname);
	struct record r = { 0 };
	struct change_event ce = { 0 };
	if (errs.n) {
		rc = CRATIS_EINVAL;
		goto out;
	}
	if (kind == APP_NAMESPACE) {
		/* the team must exist (404) and the environment be a master record (422) */
		struct record x;
		rc = store_record_get(a->store, "team", "", team, &x);
		record_release(&x);
		if (rc == CRATIS_ENOTFOUND) {
			diags_errorf(&errs, rc, "no team '%s'", team);
			goto out;
		} else if (rc) {
			diags_add_last_error(&errs);
			goto out;
		}
		const char *env = json_string_value(json_object_get(doc, "environment"));
		rc = store_record_get(a->store, "environment", "", env, &x);
		record_release(&x);
		if (rc == CRATIS_ENOTFOUND) {
			rc = CRATIS_EINVAL;
			struct diag *dg = body_error(&errs, "environment", "no environment '%s': a namespace is in an environment master record", env);
			diag_hint(dg, "an admin creates it first: POST /v1/environments {\"name\": \"%s\"}", env);
			goto out;
		} else if (rc) {
			diags_add_last_error(&errs);
			goto out;
		}
	}
	if (expect == STORE_REV_ANY) {
		/* a replace: the record must exist */
		struct record x;
		rc = store_record_get(a->store, kind_names[kind], scope_of(kind, team), rname, &x);
		record_release(&x);
		if (rc == CRATIS_ENOTFOUND)
			diags_errorf(&errs, rc, "no %s", w);
		else if (rc)
			diags_add_last_error(&errs);
		if (rc)
			goto out;
	}
	json_t *data = json_deep_copy(doc);
	if (expect >= 0)
		json_object_set_new(data, "revision", json_integer(expect + 1));
	change_event(&ce, kind, team, rname, expect == 0 ? "created" : "updated", data, who);
	json_decref(data);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	r = (struct record){ .kind = xstrdup(kind_names[kind]), .scope = xstrdup(scope_of(kind, team)),
		             .name = xstrdup(rname), .body = text };
	rc = store_record_put(a->store, &r, expect, &ce.em);
	if (rc == CRATIS_EEXISTS && expect == 0) {
		diags_errorf(&errs, rc, "%s already exists", w);
	} else if (rc == CRATIS_EEXISTS) {
		if (conflict)
			*conflict = true;
		conflict_diag(a, kind, team, rname, expect, w, &errs);
	} else if (rc == CRATIS_ENOTFOUND) {
		diags_errorf(&errs, rc, "no %s", w);
	} else if (rc) {
		diags_add_last_error(&errs);
	} else if (out) {
		*out = record_json(&r, &errs);
		rc = *out ? CRATIS_OK : CRATIS_EIO;
	}
out:
	diags_move(d, &errs);
	change_event_release(&ce);
	record_release(&r);
	json_decref(doc);
	free(rname);
	free(w);
	return rc;
}

int app_master_delete(struct app *a, enum app_master kind, const char *team, const char *name, int64_t expect,
                      const struct app_actor *who, bool *conflict, struct diags *d)
{
	if (conflict)
		*conflict = false;
	char *w = what_of(kind, team, name);
	struct buf deps = BUF_INIT;
	struct change_event ce = { 0 };
	int rc = dependents(a, kind, name, &deps, d);
	if (rc)
		goto out;
	if (deps.len) {
		rc = CRATIS_EEXISTS;
		struct diag *dg = diags_errorf(d, rc, "%s still has namespaces: %s", w, deps.ptr);
		diag_hint(dg, "delete those namespaces first");
		goto out;
	}
	if (kind == APP_ENVIRONMENT) {
		/* a protected environment is not deleted (Terraform's prevent_destroy) */
		json_t *doc = NULL;
		rc = app_master_get(a, kind, team, name, &doc, d);
		bool prot = json_is_true(json_object_get(doc, "protected"));
		json_decref(doc);
		if (rc)
			goto out;
		if (prot) {
			rc = CRATIS_EEXISTS;
			struct diag *dg = diags_errorf(d, rc, "%s is protected", w);
			diag_hint(dg, "replace it with \"protected\": false first");
			goto out;
		}
	}
	json_t *data = kind == APP_NAMESPACE ? json_pack("{s:s, s:s}", "team", team, "name", name)
	                                     : json_pack("{s:s}", "name", name);
	change_event(&ce, kind, team, name, "deleted", data, who);
	json_decref(data);
	rc = store_record_delete(a->store, kind_names[kind], scope_of(kind, team), name, expect, &ce.em);
	if (rc == CRATIS_ENOTFOUND) {
		diags_errorf(d, rc, "no %s", w);
	} else if (rc == CRATIS_EEXISTS) {
		if (conflict)
			*conflict = true;
		conflict_diag(a, kind, team, name, expect, w, d);
	} else if (rc) {
		diags_add_last_error(d);
	}
out:
	change_event_release(&ce);
	buf_release(&deps);
	free(w);
	return rc;
}

/* ---- quotas ---- */

/* What a namespace holds. */
struct usage {
	int64_t services, cpu, memory; /* count, millicores, bytes */
};

/* resources {cpu, memory} of a Service spec or a Rollout template into u (n times); a value that
 * does not parse is an error located at field when doc is given, else (recorded specs, checked
 * when they were planned) counted as 0. */
static void add_requests(struct usage *u, const json_t *resources, int64_t n, const struct manifest_doc *doc,
                         const char *field, struct diags *d)
{
	u->services += n;
	if (!resources)
		return;
	if (!json_is_object(resources)) {
		if (doc)
			manifest_error(d, doc, field, "expected {cpu, memory} (Kubernetes quantities), got %s",
			               json_type_phrase(resources));
		return;
	}
	static const char *const qty[] = { "cpu", "memory" };
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(resources, qty[i]);
		if (!v)
			continue;
		char *t = quantity_text(v);
		int64_t x = 0;
		char *f = xasprintf("%s.%s", field, qty[i]);
		if (!t) {
			if (doc)
				manifest_error(d, doc, f, "expected a quantity (%s), got %s", i ? "\"512Mi\"" : "\"500m\"",
				               json_type_phrase(v));
		} else if (i ? quantity_memory_bytes(t, &x) : quantity_cpu_millis(t, &x)) {
			if (doc)
				manifest_error(d, doc, f, "%s", cratis_error_last()->message);
			x = 0;
		}
		if (i)
			u->memory += x * n;
		else
			u->cpu += x * n;
		free(f);
		free(t);
	}
}

/* The kind of "Kind/name" ("Service") into out. */
static void kind_of(const char *id, char out[64])
{
	const char *slash = strchr(id, '/');
	size_t n = slash ? (size_t)(slash - id) : strlen(id);
	if (n > 63)
		n = 63;
	memcpy(out, id, n);
	out[n] = 0;
}

/* Releases of a Rollout that keep running: preview, active and previous (hot until it is
 * scaled down). */
static int running_releases(struct app *a, const char *env, const char *project, const char *rollout, int64_t *n,
                            struct diags *d)
{
	struct releases rs;
	*n = 0;
	int rc = store_releases(a->store, env, project, rollout, &rs);
	if (rc)
		diags_add_last_error(d);
	for (size_t i = 0; i < rs.n && !rc; i++) {
		const char *s = rs.v[i].status ? rs.v[i].status : "";
		if (!strcmp(s, "preview") || !strcmp(s, "active") || !strcmp(s, "previous"))
			(*n)++;
	}
	store_releases_release(&rs);
	return rc;
}

/* What project holds in env: as recorded (planned NULL), or after the plan (planned: its items
 * by "project:id"; they replace or remove the recorded resources). */
static int project_usage(struct app *a, const char *env, const char *project, const struct plan *p,
                         const struct map *planned, struct usage *u, struct diags *d)
{
	memset(u, 0, sizeof(*u));
	struct state_rows rows;
	int rc = store_list(a->store, env, project, &rows);
	if (rc) {
		diags_add_last_error(d);
		store_rows_release(&rows);
		return rc;
	}
	for (size_t i = 0; i < rows.n && !rc; i++) {
		const struct state_row *row = &rows.v[i];
		if ((planned && map_get_pair(planned, row->project, row->id)) || !row->spec || row->owner)
			continue; /* planned below, or never applied; a Rollout's child counts with it */
		char kind[64];
		kind_of(row->id, kind);
		json_t *spec = json_loads(row->spec, 0, NULL);
		if (!strcmp(kind, "Service")) {
			add_requests(u, json_object_get(spec, "resources"), 1, NULL, NULL, NULL);
		} else if (!strcmp(kind, "Rollout")) {
			int64_t n;
			rc = running_releases(a, env, project, row->id + strlen("Rollout/"), &n, d);
			add_requests(u, json_object_get(json_object_get(spec, "template"), "resources"), n, NULL, NULL, NULL);
		}
		json_decref(spec);
	}
	for (size_t k = 0; planned && k < p->n && !rc; k++) {
		const struct plan_item *it = &p->items[k];
		if (strcmp(it->project, project) || it->action == ACT_DELETE || !it->res)
			continue;
		const json_t *spec = it->desired ? it->desired : it->res->spec;
		if (!strcmp(it->res->kind, "Service")) {
			add_requests(u, json_object_get(spec, "resources"), 1, NULL, NULL, NULL);
		} else if (!strcmp(it->res->kind, "Rollout")) {
			int64_t n;
			rc = running_releases(a, env, project, it->res->name, &n, d);
			/* a create or a change of the template builds a new release beside the others */
			if (it->action != ACT_NOOP)
				n++;
			add_requests(u, json_object_get(json_object_get(spec, "template"), "resources"), n, NULL, NULL, NULL);
		}
	}
	store_rows_release(&rows);
	return rc;
}

/* spec.namespace of the open environment's document, or NULL */
static const char *env_namespace(struct app *a, const struct manifest_doc **doc)
{
	struct environment *e = a->model.env;
	*doc = e ? e->doc : NULL;
	if (!e || !e->doc)
		return NULL;
	json_t *v = json_object_get(json_object_get(e->doc->root, "spec"), "namespace");
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool project_in_model(const struct app *a, const char *name)
{
	for (size_t i = 0; i < a->model.nprojects; i++)
		if (!strcmp(a->model.projects[i].name, name))
			return true;
	return false;
}

/* spec.namespace of m's environment document is "TEAM/NAMESPACE" (two DNS labels), when set;
 * *team (heap) and *ns (borrowed) are its parts. */
static bool namespace_ok(const struct model *m, struct diags *d, char **team, const char **ns)
{
	*team = NULL;
	*ns = NULL;
	const struct manifest_doc *doc = m->env ? m->env->doc : NULL;
	json_t *v = doc ? json_object_get(json_object_get(doc->root, "spec"), "namespace") : NULL;
	if (!v)
		return true;
	const char *s = json_string_value(v);
	const char *slash = s ? strchr(s, '/') : NULL;
	char *t = slash ? xstrndup(s, (size_t)(slash - s)) : NULL;
	if (!slash || !dns_label(t) || !dns_label(slash + 1)) {
		manifest_error(d, doc, "spec.namespace", "expected TEAM/NAMESPACE (two DNS labels: team-a/web), got %s%s%s",
		               s ? "'" : "", s ? s : json_type_phrase(v), s ? "'" : "");
		free(t);
		return false;
	}
	*team = t;
	*ns = slash + 1;
	return true;
}

int app_requests_check(const struct model *m, struct diags *d)
{
	size_t before = d->n;
	for (size_t k = 0; k < m->nresources; k++) {
		const struct resource *res = m->resources[k];
		struct usage u = { 0 };
		if (!strcmp(res->kind, "Service"))
			add_requests(&u, json_object_get(res->spec, "resources"), 1, res->doc, "spec.resources", d);
		else if (!strcmp(res->kind, "Rollout"))
			add_requests(&u, json_object_get(json_object_get(res->spec, "template"), "resources"), 1, res->doc,
			             "spec.template.resources", d);
	}
	char *team;
	const char *ns;
	namespace_ok(m, d, &team, &ns);
	free(team);
	return d->n > before ? CRATIS_EINVAL : CRATIS_OK;
}

int app_quota_check(struct app *a, const struct plan *p, struct diags *d)
{
	struct diags errs = DIAGS_INIT;
	const struct manifest_doc *edoc;
	const char *ns = env_namespace(a, &edoc);
	const char *env = a->model.env_name;
	struct usage after = { 0 }, mine_after = { 0 }, mine_before = { 0 };
	struct records binds = { 0 };
	struct record rec = { 0 };
	struct map planned;
	struct strv keys = { 0 };
	json_t *nsdoc = NULL, *quota = NULL;
	int rc = CRATIS_OK;
	memset(&planned, 0, sizeof(planned));
	char *team = NULL;
	const char *nsname = NULL;
	if (app_requests_check(&a->model, &errs))
		rc = CRATIS_EINVAL;
	else
		namespace_ok(&a->model, &errs, &team, &nsname);
	if (rc || !team || !a->store)
		goto out_team;
	const char *slash = nsname - 1;
	char *rname = xasprintf("%s/%s", env, slash + 1);
	rc = store_record_get(a->store, "namespace", team, rname, &rec);
	free(rname);
	if (rc == CRATIS_ENOTFOUND) {
		rc = CRATIS_OK; /* a namespace without a record has no quota */
		goto out_team;
	} else if (rc) {
		diags_add_last_error(&errs);
		goto out_team;
	}
	nsdoc = json_loads(rec.body, 0, NULL);
	quota = json_object_get(nsdoc, "quota");
	/* this plan's projects, after the plan and as recorded */
	for (size_t k = 0; k < p->n; k++) {
		char *key = xasprintf("%s:%s", p->items[k].project, p->items[k].id);
		strv_push_owned(&keys, key);
		map_put(&planned, key, key);
	}
	for (size_t i = 0; i < a->model.nprojects && !rc; i++) {
		struct usage ua, ub;
		rc = project_usage(a, env, a->model.projects[i].name, p, &planned, &ua, &errs);
		if (!rc)
			rc = project_usage(a, env, a->model.projects[i].name, p, NULL, &ub, &errs);
		mine_after.services += ua.services, mine_after.cpu += ua.cpu, mine_after.memory += ua.memory;
		mine_before.services += ub.services, mine_before.cpu += ub.cpu, mine_before.memory += ub.memory;
	}
	if (rc)
		goto out_team;
	after = mine_after;
	/* every other project bound to this namespace, as recorded */
	if ((rc = store_records(a->store, "namespace-binding", NULL, &binds))) {
		diags_add_last_error(&errs);
		goto out_team;
	}
	for (size_t i = 0; i < binds.n && !rc; i++) {
		json_t *b = json_loads(binds.v[i].body, 0, NULL);
		const char *bns = json_string_value(json_object_get(b, "namespace"));
		const char *benv = json_string_value(json_object_get(b, "environment"));
		const char *bproj = json_string_value(json_object_get(b, "project"));
		if (bns && benv && bproj && !strcmp(bns, ns) && !strcmp(benv, env) && !project_in_model(a, bproj)) {
			struct usage o;
			rc = project_usage(a, env, bproj, p, NULL, &o, &errs);
			after.services += o.services, after.cpu += o.cpu, after.memory += o.memory;
		}
		json_decref(b);
	}
	if (rc)
		goto out_team;
	/* over the quota and growing: refused (a namespace already over a lowered quota may shrink) */
	json_t *qs = json_object_get(quota, "services");
	if (json_is_integer(qs) && after.services > json_integer_value(qs) && mine_after.services > mine_before.services) {
		struct diag *dg = manifest_error(&errs, edoc, "spec.namespace",
		                                 "namespace %s/%s/%s: services %" PRId64 " would exceed quota %" JSON_INTEGER_FORMAT,
		                                 team, env, slash + 1, after.services, json_integer_value(qs));
		diag_hint(dg, "this plan's projects would run %" PRId64 " (Services and Rollout releases), other projects %" PRId64,
		          mine_after.services, after.services - mine_after.services);
	}
	static const char *const qty[] = { "cpu", "memory" };
	for (int i = 0; i < 2; i++) {
		const char *qt = json_string_value(json_object_get(quota, qty[i]));
		int64_t lim;
		if (!qt || (i ? quantity_memory_bytes(qt, &lim) : quantity_cpu_millis(qt, &lim)))
			continue;
		int64_t tot = i ? after.memory : after.cpu, ma = i ? mine_after.memory : mine_after.cpu,
		        mb = i ? mine_before.memory : mine_before.cpu;
		if (tot <= lim || ma <= mb)
			continue;
		char ft[32], fm[32], fo[32];
		(i ? quantity_format_memory : quantity_format_cpu)(tot, ft);
		(i ? quantity_format_memory : quantity_format_cpu)(ma, fm);
		(i ? quantity_format_memory : quantity_format_cpu)(tot - ma, fo);
		struct diag *dg = manifest_error(&errs, edoc, "spec.namespace", "namespace %s/%s/%s: %s %s would exceed quota %s",
		                                 team, env, slash + 1, qty[i], ft, qt);
		diag_hint(dg, "this plan's projects would request %s, other projects %s", fm, fo);
	}
	if (diags_errors(&errs)) {
		rc = CRATIS_EINVAL;
	} else {
		/* within the quota: say how much of it the namespace would use (`cratis plan -v`, the API) */
		struct buf b = BUF_INIT;
		buf_addf(&b, "namespace %s/%s/%s after this plan: services %" PRId64, team, env, slash + 1, after.services);
		if (json_is_integer(qs))
			buf_addf(&b, " of %" JSON_INTEGER_FORMAT, json_integer_value(qs));
		for (int i = 0; i < 2; i++) {
			const char *qt = json_string_value(json_object_get(quota, qty[i]));
			char f[32];
			(i ? quantity_format_memory : quantity_format_cpu)(i ? after.memory : after.cpu, f);
			buf_addf(&b, ", %s %s%s%s", qty[i], f, qt ? " of " : "", qt ? qt : "");
		}
		struct loc l;
		manifest_locate(edoc, "spec.namespace", &l);
		diag_locate(diags_add(&errs, DIAG_NOTE, CRATIS_OK, "%s", b.ptr), l.file, l.line, l.col, "spec.namespace");
		buf_release(&b);
	}
out_team:
	free(team);
	if (rc && !errs.n)
		diags_add_last_error(&errs);
	diags_move(d, &errs);
	json_decref(nsdoc);
	record_release(&rec);
	store_records_release(&binds);
	map_release(&planned);
	strv_release(&keys);
	return rc;
}

int app_namespace_bind(struct app *a, bool destroy, struct diags *d)
{
	if (!a->store)
		return CRATIS_OK;
	const struct manifest_doc *edoc;
	const char *ns = env_namespace(a, &edoc);
	const char *env = a->model.env_name;
	int rc = CRATIS_OK;
	for (size_t i = 0; i < a->model.nprojects && !rc; i++) {
		char *scope = xasprintf("%s/%s", env, a->model.projects[i].name);
		json_t *b = json_pack("{s:s, s:s, s:s}", "namespace", ns ? ns : "", "environment", env, "project",
		                      a->model.projects[i].name);
		char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(b);
		/* read first: most applies change nothing here, and a read takes no write lock */
		struct record cur;
		rc = store_record_get(a->store, "namespace-binding", scope, "namespace", &cur);
		bool have = rc == CRATIS_OK;
		if (rc == CRATIS_ENOTFOUND)
			rc = CRATIS_OK;
		if (!rc && ns && !destroy && !(have && cur.body && !strcmp(cur.body, text))) {
			struct record r = { .kind = xstrdup("namespace-binding"), .scope = xstrdup(scope),
				            .name = xstrdup("namespace"), .body = text };
			text = NULL;
			rc = store_record_put(a->store, &r, STORE_REV_ANY, NULL);
			record_release(&r);
		} else if (!rc && (!ns || destroy) && have) {
			rc = store_record_delete(a->store, "namespace-binding", scope, "namespace", STORE_REV_ANY, NULL);
			if (rc == CRATIS_ENOTFOUND)
				rc = CRATIS_OK;
		}
		record_release(&cur);
		free(text);
		free(scope);
		if (rc)
			diags_add_last_error(d);
	}
	return rc;
}
