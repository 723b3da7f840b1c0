/* The teams, namespaces and environment master-record routes of `cratis serve` over src/app/teams.c:
 * policy or team-role authorisation, optimistic concurrency (ETag, If-Match -> 412) and problem
 * documents (docs/server.md "Teams and namespaces"). */
#include "teams.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app/teams.h"
#include "error.h"
#include "banned.h"

/* The revision If-Match names into *expect (STORE_REV_ANY without one, or for "*"); false after
 * replying 400 for a malformed one. */
static bool if_match(struct req *r, int64_t *expect)
{
	*expect = STORE_REV_ANY;
	const char *h = req_header(r, "If-Match");
	if (!h)
		return true;
	while (*h == ' ')
		h++;
	if (!strcmp(h, "*"))
		return true;
	if (!strncmp(h, "W/", 2))
		h += 2; /* a weak validator names the same revision */
	char *end;
	errno = 0;
	long long v = strtoll(h + (*h == '"'), &end, 10);
	if (*h == '"' && *end == '"')
		end++;
	if (end == h || errno || v <= 0 || *end) {
		char *m = xasprintf("expected If-Match: \"REVISION\" (the ETag of a GET), got '%s'", h);
		reply_problem(r, 400, m, NULL);
		free(m);
		return false;
	}
	*expect = v;
	return true;
}

/* Reply doc (taken) with code and its revision as the ETag. */
static void reply_doc(struct req *r, int code, json_t *doc)
{
	json_int_t rev = json_integer_value(json_object_get(doc, "revision"));
	free(r->etag);
	r->etag = xasprintf("\"%" JSON_INTEGER_FORMAT "\"", rev);
	reply_json(r, code, doc);
}

/* The reply of a failed application call: a revision conflict is 412, else by status. */
static void reply_failed(struct req *r, int rc, bool conflict, const struct diags *d)
{
	if (conflict)
		reply_problem(r, 412, NULL, d);
	else
		reply_diags(r, rc, d);
}

static struct app *open_state(struct req *r, struct diags *d)
{
	struct app *a = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, d);
	if (rc) {
		reply_diags(r, rc, d);
		return NULL;
	}
	return a;
}

/* Whether r may do its route's action on object: the policy allows it, or the subject is an owner
 * (owner_only) or any member of team. When not, the reply is 403 and the denial logged. */
static bool team_authorize(struct req *r, struct app *a, const char *team, bool owner_only, const char *object)
{
	if (authz_allows(&r->srv->authz, &r->who, r->route->resource, r->route->action, object))
		return true;
	struct diags d = DIAGS_INIT;
	json_t *doc = NULL;
	bool ok = false;
	if (!app_master_get(a, APP_TEAM, NULL, team, &doc, &d)) {
		/* a member is a subject, or "role:NAME" for every token of that role */
		const char *by_subject = app_team_role(doc, r->who.subject), *by_role = app_team_role(doc, r->who.role);
		bool owner = (by_subject && !strcmp(by_subject, "owner")) || (by_role && !strcmp(by_role, "owner"));
		ok = owner || (!owner_only && (by_subject || by_role));
	}
	json_decref(doc);
	diags_release(&d);
	return ok || req_authorize(r, object);
}

static struct app_actor actor(struct req *r)
{
	return (struct app_actor){ r->who.subject, r->who.role };
}

/* ---- shared handlers: kind, team (namespaces) and name come from the path ---- */

static void list(struct req *r, enum app_master kind, const char *team, const char *object)
{
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *out = NULL;
	if (kind == APP_NAMESPACE ? !(a = open_state(r, &d)) || !team_authorize(r, a, team, false, object)
	                          : !req_authorize(r, object) || !(a = open_state(r, &d)))
		goto out;
	int rc = app_master_list(a, kind, team, &out, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, out);
out:
	srv_close_app(r, a);
	diags_release(&d);
}

/* GET one: for teams and namespaces, members may read without a policy rule. */
static void get(struct req *r, enum app_master kind, const char *team, const char *name, const char *object)
{
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *out = NULL;
	if (kind == APP_ENVIRONMENT ? !req_authorize(r, object) || !(a = open_state(r, &d))
	                            : !(a = open_state(r, &d)) || !team_authorize(r, a, team, false, object))
		goto out;
	int rc = app_master_get(a, kind, team, name, &out, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_doc(r, 200, out);
out:
	srv_close_app(r, a);
	diags_release(&d);
}

/* POST (create: name NULL, from the body) or PUT (replace name). Teams: the policy, or for a PUT
 * the team's owners; namespaces: the policy or the team's owners; environments: the policy. */
static void put(struct req *r, enum app_master kind, const char *team, const char *name)
{
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *out = NULL;
	int64_t expect = 0;
	bool create = !name;
	json_t *b = req_body_object(r);
	if (!b || (!create && !if_match(r, &expect)))
		goto out;
	/* the object authorised: the name of the path, or the body's */
	char *object;
	if (kind == APP_NAMESPACE) {
		const char *env = json_string_value(json_object_get(b, "environment"));
		const char *ns = json_string_value(json_object_get(b, "name"));
		object = name ? xasprintf("%s/%s", team, name) : xasprintf("%s/%s/%s", team, env ? env : "", ns ? ns : "");
	} else {
		const char *bn = json_string_value(json_object_get(b, "name"));
		object = xstrdup(name ? name : bn ? bn : "");
	}
	bool ok;
	if (kind == APP_NAMESPACE || (kind == APP_TEAM && !create))
		ok = (a = open_state(r, &d)) && team_authorize(r, a, kind == APP_TEAM ? name : team, true, object);
	else
		ok = req_authorize(r, object) && (a = open_state(r, &d));
	free(object);
	if (!ok)
		goto out;
	struct app_actor who = actor(r);
	bool conflict = false;
	int rc = app_master_put(a, kind, team, name, b, expect, &who, &out, &conflict, &d);
	if (rc) {
		reply_failed(r, rc, conflict, &d);
	} else {
		if (create) {
			const char *n = json_string_value(json_object_get(out, "name"));
			r->location = kind == APP_NAMESPACE ? xasprintf("/v1/teams/%s/namespaces/%s/%s", team,
			                                                json_string_value(json_object_get(out, "environment")), n)
			                                    : xasprintf("/v1/%s/%s", kind == APP_TEAM ? "teams" : "environments", n);
		}
		reply_doc(r, create ? 201 : 200, out);
	}
out:
	json_decref(b);
	srv_close_app(r, a);
	diags_release(&d);
}

/* DELETE: teams and environments by the policy only; namespaces also by the team's owners. */
static void del(struct req *r, enum app_master kind, const char *team, const char *name, const char *object)
{
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	int64_t expect;
	if (kind == APP_NAMESPACE ? !(a = open_state(r, &d)) || !team_authorize(r, a, team, true, object)
	                          : !req_authorize(r, object) || !(a = open_state(r, &d)))
		goto out;
	if (!if_match(r, &expect))
		goto out;
	struct app_actor who = actor(r);
	bool conflict = false;
	int rc = app_master_delete(a, kind, team, name, expect, &who, &conflict, &d);
	if (rc)
		reply_failed(r, rc, conflict, &d);
	else
		reply_json(r, 200, json_pack("{s:s, s:s, s:s?, s:b}", "kind", kind == APP_ENVIRONMENT ? "environment"
		                                                      : kind == APP_TEAM ? "team" : "namespace",
		                             "name", name, "team", kind == APP_NAMESPACE ? team : NULL, "deleted", 1));
out:
	srv_close_app(r, a);
	diags_release(&d);
}

/* ---- routes ---- */

void h_environments_list(struct req *r)
{
	list(r, APP_ENVIRONMENT, NULL, "");
}

void h_environment_create(struct req *r)
{
	put(r, APP_ENVIRONMENT, NULL, NULL);
}

void h_environment_get(struct req *r)
{
	get(r, APP_ENVIRONMENT, NULL, r->params[0], r->params[0]);
}

void h_environment_put(struct req *r)
{
	put(r, APP_ENVIRONMENT, NULL, r->params[0]);
}

void h_environment_delete(struct req *r)
{
	del(r, APP_ENVIRONMENT, NULL, r->params[0], r->params[0]);
}

void h_teams_list(struct req *r)
{
	list(r, APP_TEAM, NULL, "");
}

void h_team_create(struct req *r)
{
	put(r, APP_TEAM, NULL, NULL);
}

void h_team_get(struct req *r)
{
	get(r, APP_TEAM, r->params[0], r->params[0], r->params[0]);
}

void h_team_put(struct req *r)
{
	put(r, APP_TEAM, NULL, r->params[0]);
}

void h_team_delete(struct req *r)
{
	del(r, APP_TEAM, NULL, r->params[0], r->params[0]);
}

void h_namespaces_list(struct req *r)
{
	char *obj = xasprintf("%s/*", r->params[0]);
	list(r, APP_NAMESPACE, r->params[0], obj);
	free(obj);
}

void h_namespace_create(struct req *r)
{
	put(r, APP_NAMESPACE, r->params[0], NULL);
}

void h_namespace_get(struct req *r)
{
	char *name = xasprintf("%s/%s", r->params[1], r->params[2]);
	char *obj = xasprintf("%s/%s", r->params[0], name);
	get(r, APP_NAMESPACE, r->params[0], name, obj);
	free(obj);
	free(name);
}

void h_namespace_put(struct req *r)
{
	char *name = xasprintf("%s/%s", r->params[1], r->params[2]);
	put(r, APP_NAMESPACE, r->params[0], name);
	free(name);
}

void h_namespace_delete(struct req *r)
{
	char *name = xasprintf("%s/%s", r->params[1], r->params[2]);
	char *obj = xasprintf("%s/%s", r->params[0], name);
	del(r, APP_NAMESPACE, r->params[0], name, obj);
	free(obj);
	free(name);
}
