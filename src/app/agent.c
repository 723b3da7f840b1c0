/* Pull agents (agent.h, docs/agents.md): the server side (work records, reports, settling the
 * server's deployment) and the agent's loop (long poll, apply its System's resources, report). */
#define _GNU_SOURCE
#include "app/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/curl_lazy.h"
#include "util/error.h"
#include "banned.h"

/* ---- records ---- */

/* Change body (the record's JSON object, {} when there is none; exists says whether there is one)
 * in place: return 0 to write it, 1 to leave the record as it is, or a negative status (the
 * problem set as the last error). Called again on a fresh body when another writer got there
 * first. */
typedef int (*rec_edit_fn)(json_t *body, bool exists, void *payload);

/* Read, edit and compare-and-set the record (kind, scope, name) with em's events (may be NULL),
 * until no other writer intervenes (64 tries). *result (may be NULL) gets the body as written
 * (new reference). CRATIS_OK, the edit's status, CRATIS_EIO (in d). */
static int rec_update(struct store *s, const char *kind, const char *scope, const char *name, rec_edit_fn fn,
                      void *payload, const struct store_emits *em, json_t **result, struct diags *d)
{
	for (int attempt = 0; attempt < 64; attempt++) {
		struct record r;
		int rc = store_record_get(s, kind, scope, name, &r);
		json_t *body = NULL;
		int64_t expect = 0;
		if (rc == CRATIS_ENOTFOUND) {
			error_clear();
		} else if (rc) {
			diags_add_last_error(d);
			return rc;
		} else {
			body = json_loads(r.body, 0, NULL);
			expect = r.revision;
			record_release(&r);
		}
		if (!json_is_object(body)) {
			json_decref(body);
			body = json_object();
		}
		int e = fn(body, expect > 0, payload);
		if (e < 0) {
			diags_add_last_error(d);
			json_decref(body);
			return e;
		}
		if (e == 0) {
			struct record w = { .kind = (char *)kind, .scope = (char *)scope, .name = (char *)name };
			w.body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
			rc = store_record_put(s, &w, expect, em);
			free(w.body);
			free(w.created);
			free(w.updated);
			if (rc == CRATIS_EEXISTS || (rc == CRATIS_ENOTFOUND && expect > 0)) {
				json_decref(body); /* another writer came first: again from its version */
				error_clear();
				continue;
			}
			if (rc) {
				diags_add_last_error(d);
				json_decref(body);
				return rc;
			}
		}
		if (result)
			*result = body;
		else
			json_decref(body);
		return CRATIS_OK;
	}
	diags_errorf(d, CRATIS_EIO, "record %s '%s': too many concurrent writers, gave up", kind, name);
	return CRATIS_EIO;
}

/* Every record of kind in scope (NULL: all) as parsed bodies: a JSON array of {scope, name,
 * body}. CRATIS_OK or CRATIS_EIO (in d). */
static int rec_list(struct store *s, const char *kind, const char *scope, json_t **out, struct diags *d)
{
	struct records rs;
	*out = json_array();
	int rc = store_records(s, kind, scope, &rs);
	if (rc) {
		diags_add_last_error(d);
		store_records_release(&rs);
		return rc;
	}
	for (size_t i = 0; i < rs.n; i++) {
		json_t *b = json_loads(rs.v[i].body, 0, NULL);
		if (!json_is_object(b)) {
			json_decref(b);
			b = json_object();
		}
		json_array_append_new(*out, json_pack("{s:s, s:s, s:o, s:s?}", "scope", rs.v[i].scope, "name", rs.v[i].name,
		                                      "body", b, "updated", rs.v[i].updated));
	}
	store_records_release(&rs);
	return CRATIS_OK;
}

static int64_t jint(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- targets ---- */

static const struct system *find_system(const struct model *m, const char *name)
{
	for (size_t i = 0; name && i < m->nsystems; i++)
		if (!strcmp(m->systems[i].name, name))
			return &m->systems[i];
	return NULL;
}

static bool on_pull_system(const struct model *m, const struct resource *r)
{
	const struct system *s = find_system(m, r->system);
	return s && s->agent;
}

int app_agent_targets(struct app *a, const char *system, struct strv *targets, struct strv *pull, struct diags *d)
{
	const struct model *m = &a->model;
	int rc = CRATIS_OK;
	for (size_t i = 0; i < m->nresources; i++) {
		const struct resource *r = m->resources[i];
		bool rp = on_pull_system(m, r);
		bool mine = system ? r->system && !strcmp(r->system, system) : !rp;
		if (!system && rp && pull && !strv_has(pull, r->system))
			strv_push(pull, r->system);
		for (size_t k = 0; k < r->deps.n; k++) {
			const struct resource *x = model_find(m, r->project, r->deps.v[k]);
			if (!x)
				continue;
			bool xp = on_pull_system(m, x);
			bool same = r->system && x->system && !strcmp(r->system, x->system);
			if ((rp || xp) && !same) {
				manifest_error(d, r->doc, "spec.dependsOn",
				               "'%s' is on System '%s' and '%s' on System '%s'; a resource cannot depend on one of "
				               "another System when either System is pull-mode (spec.agent: true): its agent "
				               "applies it on its own host",
				               r->id, r->system ? r->system : "(none)", x->id, x->system ? x->system : "(none)");
				rc = CRATIS_EINVAL;
			}
		}
		if (mine)
			strv_push_owned(targets, xasprintf("%s/%s", r->project, r->id));
	}
	if (rc || !a->store || (!system && pull && !pull->n))
		return rc; /* (no pull-mode System here: the server runs the whole plan as before) */
	/* what the side recorded and the manifests no longer define: deleted by the run */
	struct state_rows rows;
	if (store_list(a->store, m->env_name, NULL, &rows)) {
		diags_add_last_error(d);
		store_rows_release(&rows);
		return CRATIS_EIO;
	}
	for (size_t i = 0; i < rows.n; i++)
		if (model_owns_project(m, rows.v[i].project) && !rows.v[i].owner && !model_find(m, rows.v[i].project, rows.v[i].id))
			strv_push_owned(targets, xasprintf("%s/%s", rows.v[i].project, rows.v[i].id));
	store_rows_release(&rows);
	return CRATIS_OK;
}

void app_agent_limit(struct app *a, const struct strv *targets)
{
	a->opts.targets = (const char *const *)targets->v;
	a->opts.ntargets = targets->n;
}

/* ---- the server side ---- */

struct gen_edit {
	const char *system;
	int64_t generation;           /* out: the generation issued */
};

static int edit_issue(json_t *body, bool exists, void *payload)
{
	(void)exists;
	struct gen_edit *g = payload;
	g->generation = jint(body, "desired") + 1;
	json_object_set_new(body, "system", json_string(g->system));
	json_object_set_new(body, "desired", json_integer(g->generation));
	char t[32];
	now_rfc3339(t);
	json_object_set_new(body, "desiredAt", json_string(t));
	return 0;
}

struct work_edit {
	json_t *item;                 /* the new work */
	int64_t replaced;             /* out: the deployment of the work it replaced, 0 */
	int64_t replaced_gen;
};

static int edit_work(json_t *body, bool exists, void *payload)
{
	struct work_edit *w = payload;
	w->replaced = 0;
	if (exists && jint(body, "generation") >= jint(w->item, "generation"))
		return 1; /* a newer deployment already replaced it */
	if (exists) {
		w->replaced = jint(body, "deployment");
		w->replaced_gen = jint(body, "generation");
	}
	json_object_clear(body);
	json_object_update(body, w->item);
	return 0;
}

/* How one settles an agent-deployment record. */
struct settle_edit {
	const char *system;           /* an agent's result for this System, or NULL */
	int64_t generation;           /* the item generation it reported (system set) */
	const char *result;           /* its result, or the server part's */
	int64_t server_deployment;    /* system NULL: the server's own deployment */
	bool finish;                  /* out: this write completed it */
};

static int edit_settle(json_t *body, bool exists, void *payload)
{
	struct settle_edit *e = payload;
	e->finish = false;
	if (!exists)
		return error_set(CRATIS_ENOTFOUND, "no pull deployment is recorded under this id");
	if (json_is_true(json_object_get(body, "finished")))
		return 1;
	char t[32];
	now_rfc3339(t);
	if (e->system) {
		json_t *s = json_object_get(json_object_get(body, "systems"), e->system);
		if (!s || !json_is_null(json_object_get(s, "result")))
			return 1; /* not this System's, or settled already */
		if (e->generation < jint(s, "generation"))
			return 1; /* a report of older work */
		json_object_set_new(s, "result", json_string(e->result));
		json_object_set_new(s, "reported", json_string(t));
	} else {
		json_object_set_new(body, "server", json_pack("{s:s, s:I}", "result", e->result, "deployment",
		                                              (json_int_t)e->server_deployment));
	}
	bool done = json_is_string(json_object_get(json_object_get(body, "server"), "result"));
	const char *k;
	json_t *s;
	json_object_foreach(json_object_get(body, "systems"), k, s)
		done &= json_is_string(json_object_get(s, "result"));
	if (done) {
		json_object_set_new(body, "finished", json_true());
		e->finish = true;
	}
	return 0;
}

/* Settle deployment id with e and, when that completed it, finish the deployment record:
 * succeeded when the server's part and every System succeeded (or had nothing), else failed;
 * the summary names each. */
static int settle(struct app *a, int64_t id, struct settle_edit *e, struct diags *d)
{
	char name[32];
	snprintf(name, sizeof(name), "%" PRId64, id);
	json_t *body = NULL;
	int rc = rec_update(a->store, AGENT_REC_DEPLOYMENT, "", name, edit_settle, e, NULL, &body, d);
	if (rc || !e->finish) {
		json_decref(body);
		return rc;
	}
	const char *sr = jstr(json_object_get(body, "server"), "result");
	bool ok = !strcmp(sr, "succeeded") || !strcmp(sr, "none");
	struct buf sum = BUF_INIT;
	buf_addf(&sum, "server: %s", sr);
	const char *k;
	json_t *s;
	json_object_foreach(json_object_get(body, "systems"), k, s) {
		const char *r = jstr(s, "result");
		ok &= !strcmp(r, "succeeded");
		buf_addf(&sum, "; agent %s: %s", k, r);
	}
	char t[32];
	now_rfc3339(t);
	struct deployment dep = { .id = id, .project = (char *)jstr(body, "project"),
		                  .environment = (char *)jstr(body, "environment"), .command = (char *)jstr(body, "command"),
		                  .user = (char *)jstr(body, "user"), .host = (char *)jstr(body, "host"), .finished = t,
		                  .result = ok ? "succeeded" : "failed", .summary = sum.ptr };
	rc = engine_deployment_finish(a->store, &dep, NULL);
	if (rc)
		diags_add_last_error(d);
	buf_release(&sum);
	json_decref(body);
	return rc;
}

int app_agent_dispatch(struct app *a, const struct agent_dispatch *w, int64_t *deployment, struct diags *d)
{
	struct store *s = a->store;
	char t[32];
	now_rfc3339(t);
	struct deployment dep = { .project = (char *)w->project, .environment = (char *)w->environment,
		                  .command = (char *)w->command, .user = (char *)user_name(), .host = (char *)host_name(),
		                  .started = t, .result = "running" };
	int rc = engine_deployment_begin(s, &dep);
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	*deployment = dep.id;
	/* who has to report, before any agent can see the work */
	json_t *systems = json_object();
	json_t *gens = json_object();
	for (size_t i = 0; i < w->systems->n && !rc; i++) {
		struct gen_edit g = { .system = w->systems->v[i] };
		rc = rec_update(s, AGENT_REC_STATUS, "", w->systems->v[i], edit_issue, &g, NULL, NULL, d);
		json_object_set_new(systems, w->systems->v[i], json_pack("{s:I, s:n}", "generation", (json_int_t)g.generation,
		                                                           "result"));
		json_object_set_new(gens, w->systems->v[i], json_integer(g.generation));
	}
	char name[32];
	snprintf(name, sizeof(name), "%" PRId64, dep.id);
	if (!rc) {
		json_t *body = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:O, s:n, s:b}", "project", w->project, "environment",
		                         w->environment, "command", w->command, "user", dep.user, "host", dep.host, "started",
		                         t, "systems", systems, "server", "finished", 0);
		struct record r = { .kind = AGENT_REC_DEPLOYMENT, .scope = "", .name = name };
		r.body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(body);
		rc = store_record_put(s, &r, STORE_REV_ANY, NULL);
		free(r.body);
		free(r.created);
		free(r.updated);
		if (rc)
			diags_add_last_error(d);
	}
	/* the work itself: each agent's next poll sees it */
	char *wname = xasprintf("%s/%s", w->environment, w->project);
	for (size_t i = 0; i < w->systems->n && !rc; i++) {
		const char *sys = w->systems->v[i];
		json_t *item = json_pack("{s:s, s:O, s:s, s:I, s:I, s:s}", "project", w->project, "location", w->location,
		                         "environment", w->environment, "generation", (json_int_t)jint(gens, sys),
		                         "deployment", (json_int_t)dep.id, "created", t);
		struct work_edit we = { .item = item };
		rc = rec_update(s, AGENT_REC_WORK, sys, wname, edit_work, &we, NULL, NULL, d);
		json_decref(item);
		if (!rc && we.replaced > 0) {
			/* the replaced work will never be applied: its deployment does not wait for it */
			struct settle_edit e = { .system = sys, .generation = we.replaced_gen, .result = "superseded" };
			struct diags ignore = DIAGS_INIT;
			settle(a, we.replaced, &e, &ignore);
			diags_release(&ignore);
			error_clear();
		}
	}
	free(wname);
	json_decref(systems);
	json_decref(gens);
	if (rc) {
		now_rfc3339(t);
		dep.finished = t;
		dep.result = "failed";
		dep.summary = "the work of the pull agents could not be recorded";
		engine_deployment_finish(s, &dep, NULL);
	}
	return rc;
}

int app_agent_server_done(struct app *a, int64_t deployment, const char *result, int64_t server_deployment,
                          struct diags *d)
{
	struct settle_edit e = { .result = result, .server_deployment = server_deployment };
	return settle(a, deployment, &e, d);
}

int app_agent_work(struct app *a, const char *system, int64_t after, json_t **out, struct diags *d)
{
	*out = NULL;
	json_t *list;
	int rc = rec_list(a->store, AGENT_REC_WORK, system, &list, d);
	if (rc)
		return rc;
	int64_t max = 0;
	json_t *work = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		json_t *b = json_object_get(r, "body");
		if (jint(b, "generation") > max)
			max = jint(b, "generation");
		json_array_append(work, b);
	}
	json_decref(list);
	/* newer work; or the agent is ahead of this store (it was replaced or restored): it takes
	 * the store's work and generation */
	if (max != after)
		*out = json_pack("{s:s, s:I, s:o}", "system", system, "generation", (json_int_t)max, "work", work);
	else
		json_decref(work);
	return CRATIS_OK;
}

static int edit_seen(json_t *body, bool exists, void *payload)
{
	(void)exists;
	char t[32];
	now_rfc3339(t);
	json_object_set_new(body, "system", json_string(payload));
	json_object_set_new(body, "lastSeen", json_string(t));
	return 0;
}

int app_agent_seen(struct app *a, const char *system, struct diags *d)
{
	return rec_update(a->store, AGENT_REC_STATUS, "", system, edit_seen, (void *)system, NULL, NULL, d);
}

struct report_edit {
	const char *system;
	const json_t *item;           /* {project, environment, generation, deployment, result, ...} */
	int64_t generation;
};

static int edit_report(json_t *body, bool exists, void *payload)
{
	(void)exists;
	struct report_edit *e = payload;
	char t[32];
	now_rfc3339(t);
	json_object_set_new(body, "system", json_string(e->system));
	json_object_set_new(body, "lastSeen", json_string(t));
	json_object_set_new(body, "reported", json_string(t));
	if (e->generation > jint(body, "generation"))
		json_object_set_new(body, "generation", json_integer(e->generation));
	json_object_set_new(body, "result", json_string(jstr(e->item, "result")));
	json_t *items = json_object_get(body, "items");
	if (!json_is_object(items)) {
		items = json_object();
		json_object_set_new(body, "items", items);
	}
	char *key = xasprintf("%s/%s", jstr(e->item, "environment"), jstr(e->item, "project"));
	json_t *it = json_deep_copy(e->item);
	json_object_set_new(it, "reported", json_string(t));
	json_object_set_new(items, key, it);
	free(key);
	return 0;
}

/* A located error for field of the request body. */
static int bad_field(struct diags *d, const char *field, const char *expected, const json_t *got)
{
	diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected %s, got %s", expected, got ? json_type_phrase(got) : "nothing"),
	            "request body", 0, 0, field);
	return CRATIS_EINVAL;
}

int app_agent_report(struct app *a, const char *system, const json_t *report, json_t **out, struct diags *d)
{
	*out = NULL;
	int rc = CRATIS_OK;
	json_t *v;
	if (!json_is_integer(v = json_object_get(report, "generation")) || json_integer_value(v) < 0)
		rc = bad_field(d, "generation", "the generation of the work applied (an integer >= 0)", v);
	if (!json_is_string(v = json_object_get(report, "project")) || !*json_string_value(v))
		rc = bad_field(d, "project", "the project's name", v);
	if (!json_is_string(v = json_object_get(report, "environment")) || !*json_string_value(v))
		rc = bad_field(d, "environment", "the environment's name", v);
	if (!json_is_integer(v = json_object_get(report, "deployment")) || json_integer_value(v) <= 0)
		rc = bad_field(d, "deployment", "the server deployment id of the work (an integer > 0)", v);
	if ((v = json_object_get(report, "itemGeneration")) && (!json_is_integer(v) || json_integer_value(v) < 0))
		rc = bad_field(d, "itemGeneration", "the work item's generation (an integer >= 0)", v);
	const char *result = jstr(report, "result");
	if (!result || (strcmp(result, "succeeded") && strcmp(result, "failed") && strcmp(result, "interrupted")))
		rc = bad_field(d, "result", "\"succeeded\", \"failed\" or \"interrupted\"",
		               json_object_get(report, "result"));
	if ((v = json_object_get(report, "steps")) && !json_is_array(v))
		rc = bad_field(d, "steps", "an array", v);
	if ((v = json_object_get(report, "outputs")) && !json_is_array(v))
		rc = bad_field(d, "outputs", "an array", v);
	if ((v = json_object_get(report, "message")) && !json_is_string(v))
		rc = bad_field(d, "message", "a string", v);
	if ((v = json_object_get(report, "counts")) && !json_is_object(v))
		rc = bad_field(d, "counts", "an object", v);
	if ((v = json_object_get(report, "reconcile")) && !json_is_boolean(v))
		rc = bad_field(d, "reconcile", "true or false", v);
	if (rc)
		return rc;
	/* the report is about work the System was given */
	char *wname = xasprintf("%s/%s", jstr(report, "environment"), jstr(report, "project"));
	struct record wr;
	rc = store_record_get(a->store, AGENT_REC_WORK, system, wname, &wr);
	free(wname);
	if (rc == CRATIS_ENOTFOUND) {
		error_clear();
		diag_locate(diags_errorf(d, CRATIS_EINVAL, "System '%s' was given no work of project '%s' in environment '%s'",
		                         system, jstr(report, "project"), jstr(report, "environment")),
		            "request body", 0, 0, "project");
		return CRATIS_EINVAL;
	}
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	record_release(&wr);
	int64_t gen = jint(report, "generation");
	int64_t item_gen = json_object_get(report, "itemGeneration") ? jint(report, "itemGeneration") : gen;
	json_t *outputs = json_deep_copy(json_object_get(report, "outputs"));
	size_t i;
	json_t *o;
	json_array_foreach(outputs, i, o) /* never a sensitive value, whatever the agent sent */
		if (json_is_true(json_object_get(o, "sensitive")) && !json_is_null(json_object_get(o, "value")))
			json_object_set_new(o, "value", json_string("(sensitive)"));
	json_t *steps = json_deep_copy(json_object_get(report, "steps"));
	json_t *item = json_pack("{s:s, s:s, s:I, s:I, s:s, s:o, s:o}", "project", jstr(report, "project"), "environment",
	                         jstr(report, "environment"), "generation", (json_int_t)item_gen, "deployment",
	                         (json_int_t)jint(report, "deployment"), "result", result, "steps",
	                         steps ? steps : json_array(), "outputs", outputs ? outputs : json_array());
	if (jstr(report, "message"))
		json_object_set_new(item, "message", json_string(jstr(report, "message")));
	if (json_is_true(json_object_get(report, "reconcile")))
		json_object_set_new(item, "reconcile", json_true());
	if (json_object_get(report, "counts"))
		json_object_set_new(item, "counts", json_deep_copy(json_object_get(report, "counts")));
	/* the event: what was applied where, never the outputs */
	json_t *data = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "system", system, "project",
	                         jstr(report, "project"), "environment", jstr(report, "environment"), "generation",
	                         (json_int_t)gen, "itemGeneration", (json_int_t)item_gen, "deployment",
	                         (json_int_t)jint(report, "deployment"), "result", result);
	if (json_object_get(report, "counts"))
		json_object_set_new(data, "counts", json_deep_copy(json_object_get(report, "counts")));
	json_object_set_new(data, "reconcile", json_boolean(json_is_true(json_object_get(report, "reconcile"))));
	char *data_text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(data);
	char *source = xasprintf("/projects/%s/environments/%s", jstr(report, "project"), jstr(report, "environment"));
	char *subject = xasprintf("System/%s", system);
	struct store_event ev = { .type = AGENT_EVENT_REPORTED, .subject = subject, .data = data_text, .source = source };
	struct store_emits em = { .events = &ev, .n = 1 };
	struct report_edit e = { .system = system, .item = item, .generation = gen };
	rc = rec_update(a->store, AGENT_REC_STATUS, "", system, edit_report, &e, &em, NULL, d);
	free(data_text);
	free(source);
	free(subject);
	json_decref(item);
	if (rc)
		return rc;
	/* the server deployment of the work waits for this System */
	struct settle_edit se = { .system = system, .generation = item_gen, .result = result };
	struct diags sd = DIAGS_INIT;
	int src = settle(a, jint(report, "deployment"), &se, &sd);
	if (src && src != CRATIS_ENOTFOUND) {
		diags_move(d, &sd);
		diags_release(&sd);
		return src;
	}
	diags_release(&sd);
	error_clear();
	return app_agents(a, system, out, d);
}

/* The time t (RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ") in seconds since the epoch, or -1. */
static time_t parse_time(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	return timegm(&tm);
}

int app_agents(struct app *a, const char *system, json_t **out, struct diags *d)
{
	*out = NULL;
	json_t *status, *work;
	int rc = rec_list(a->store, AGENT_REC_STATUS, "", &status, d);
	if (rc)
		return rc;
	if ((rc = rec_list(a->store, AGENT_REC_WORK, system, &work, d))) {
		json_decref(status);
		return rc;
	}
	json_t *by = json_object(); /* system -> agent */
	size_t i;
	json_t *r;
	json_array_foreach(status, i, r) {
		const char *name = jstr(r, "name");
		if (system && strcmp(name, system))
			continue;
		json_t *b = json_object_get(r, "body");
		json_object_set_new(by, name, json_pack("{s:s, s:O?, s:O?, s:I, s:I, s:O?, s:o, s:s?}", "system", name,
		                                        "lastSeen", json_object_get(b, "lastSeen"), "reported",
		                                        json_object_get(b, "reported"), "generation",
		                                        (json_int_t)jint(b, "generation"), "desired",
		                                        (json_int_t)jint(b, "desired"), "result", json_object_get(b, "result"),
		                                        "items", json_array(), "desiredAt", jstr(b, "desiredAt")));
		json_t *items = json_object_get(json_object_get(by, name), "items");
		const char *k;
		json_t *it;
		json_object_foreach(json_object_get(b, "items"), k, it)
			json_array_append(items, it);
	}
	time_t now = time(NULL);
	json_array_foreach(work, i, r) {
		const char *name = jstr(r, "scope");
		json_t *w = json_object_get(r, "body");
		json_t *ag = json_object_get(by, name);
		if (!ag) {
			ag = json_pack("{s:s, s:n, s:n, s:I, s:I, s:n, s:[]}", "system", name, "lastSeen", "reported", "generation",
			               (json_int_t)0, "desired", (json_int_t)0, "result", "items");
			json_object_set_new(by, name, ag);
		}
		if (jint(w, "generation") > jint(ag, "desired"))
			json_object_set_new(ag, "desired", json_integer(jint(w, "generation")));
		/* lag in seconds: since the oldest work item the agent has not reported yet */
		bool reported = false;
		size_t k;
		json_t *it;
		json_array_foreach(json_object_get(ag, "items"), k, it)
			reported |= !strcmp(jstr(it, "project"), jstr(w, "project")) &&
			            !strcmp(jstr(it, "environment"), jstr(w, "environment")) &&
			            jint(it, "generation") >= jint(w, "generation");
		time_t c = parse_time(jstr(w, "created"));
		if (!reported && c >= 0) {
			int64_t lag = (int64_t)(now - c);
			if (lag > jint(ag, "lagSeconds"))
				json_object_set_new(ag, "lagSeconds", json_integer(lag));
		}
	}
	json_decref(status);
	json_decref(work);
	json_t *list = json_array();
	const char *k;
	json_t *ag;
	json_object_foreach(by, k, ag) {
		json_object_del(ag, "desiredAt");
		int64_t lag = jint(ag, "desired") - jint(ag, "generation");
		json_object_set_new(ag, "lag", json_integer(lag > 0 ? lag : 0));
		if (!json_object_get(ag, "lagSeconds"))
			json_object_set_new(ag, "lagSeconds", json_integer(0));
		json_array_append(list, ag);
	}
	json_decref(by);
	if (!system) {
		*out = list;
		return CRATIS_OK;
	}
	if (!json_array_size(list)) {
		json_decref(list);
		diags_errorf(d, CRATIS_ENOTFOUND, "no agent and no work for System '%s'", system);
		return CRATIS_ENOTFOUND;
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return CRATIS_OK;
}

/* ---- the agent side ---- */

struct agent {
	const struct agent_options *o;
	char *dir;                    /* o->dir, absolute */
	const struct curl_api *c;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	struct buf body;              /* the last response */
	char *state_path;             /* DIR/agent.json */
	json_t *state;                /* {server, system, generation, work: [...], unreported: [...]} */
};

static void say(const struct agent *ag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct agent *ag, const char *fmt, ...)
{
	if (!ag->o->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line)
		ag->o->log(line, ag->o->payload);
	free(line);
}

static bool stopped(const struct agent *ag)
{
	return ag->o->cancel && atomic_load(ag->o->cancel);
}

/* Sleep ms, waking early when cancelled. */
static void nap(const struct agent *ag, int64_t ms)
{
	int64_t end = now_ms() + ms;
	while (!stopped(ag)) {
		int64_t left = end - now_ms();
		if (left <= 0)
			break;
		struct timespec ts = { 0, (long)((left < 50 ? left : 50) * 1000000) };
		nanosleep(&ts, NULL);
	}
}

static size_t on_body(char *p, size_t size, size_t n, void *payload)
{
	struct buf *b = payload;
	if (b->len + size * n > (size_t)16 << 20)
		return 0; /* a response over 16 MiB: refused */
	buf_add(b, p, size * n);
	return size * n;
}

static int on_progress(void *payload, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return stopped(payload) ? 1 : 0;
}

/* One request to the server: path under its base URL, body (JSON text) or NULL for a GET,
 * answered within timeout_ms. *code gets the HTTP status (0 when there was no answer, the
 * reason as the last error); the body is in ag->body. CRATIS_OK when there was an answer. */
static int http(struct agent *ag, const char *method, const char *path, const char *body, long timeout_ms, long *code)
{
	const struct curl_api *c = ag->c;
	CURL *k = ag->curl;
	*code = 0;
	buf_clear(&ag->body);
	ag->errbuf[0] = 0;
	const char *base = ag->o->server;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	char *url = xasprintf("%.*s%s", (int)bl, base, path);
	struct curl_slist *h = NULL, *n;
	char *auth = ag->o->token ? xasprintf("Authorization: Bearer %s", ag->o->token) : NULL;
	if (auth && (n = c->curl_slist_append(h, auth)))
		h = n;
	if (body && (n = c->curl_slist_append(h, "Content-Type: application/json")))
		h = n;
	c->curl_easy_setopt(k, CURLOPT_URL, url);
	c->curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	c->curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		c->curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		c->curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else {
		c->curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
		c->curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	}
	c->curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, timeout_ms);
	CURLcode cc = c->curl_easy_perform(k);
	if (cc == CURLE_OK)
		c->curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, code);
	c->curl_easy_setopt(k, CURLOPT_HTTPHEADER, NULL);
	c->curl_easy_setopt(k, CURLOPT_POSTFIELDS, NULL);
	c->curl_slist_free_all(h);
	if (auth)
		free_wiped(auth);
	int rc = CRATIS_OK;
	if (cc != CURLE_OK)
		rc = error_set(CRATIS_EIO, "%s %.*s: %s", method, (int)bl, base, ag->errbuf[0] ? ag->errbuf : c->curl_easy_strerror(cc));
	free(url);
	return rc;
}

/* The detail of a problem document in ag->body, or the status. */
static char *problem_detail(struct agent *ag, long code)
{
	json_t *j = json_loadb(ag->body.ptr, ag->body.len, 0, NULL);
	const char *detail = jstr(j, "detail");
	char *m = detail ? xasprintf("%ld %s", code, detail) : xasprintf("HTTP %ld", code);
	json_decref(j);
	return m;
}

static int state_save(struct agent *ag, struct diags *d)
{
	char *tmp = xasprintf("%s.tmp", ag->state_path);
	int rc = CRATIS_OK;
	if (json_dump_file(ag->state, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) || rename(tmp, ag->state_path)) {
		diags_errorf(d, CRATIS_EIO, "cannot write '%s': %s", ag->state_path, strerror(errno));
		rc = CRATIS_EIO;
	}
	free(tmp);
	return rc;
}

static int state_load(struct agent *ag, struct diags *d)
{
	ag->state_path = xasprintf("%s/agent.json", ag->dir);
	if (access(ag->state_path, F_OK)) {
		ag->state = json_pack("{s:s, s:s, s:I, s:[], s:[]}", "server", ag->o->server, "system", ag->o->system,
		                      "generation", (json_int_t)0, "work", "unreported");
		return CRATIS_OK;
	}
	json_error_t e;
	ag->state = json_load_file(ag->state_path, 0, &e);
	if (!json_is_object(ag->state) || !json_is_array(json_object_get(ag->state, "work"))) {
		diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected the agent's state (JSON object with work): %s",
		                         ag->state ? "other JSON" : e.text),
		            ag->state_path, ag->state ? 0 : e.line, ag->state ? 0 : e.column, NULL);
		return CRATIS_EINVAL;
	}
	const char *sys = jstr(ag->state, "system");
	if (sys && strcmp(sys, ag->o->system)) {
		diags_errorf(d, CRATIS_EINVAL, "'%s' is the state of the agent of System '%s', not '%s': give each System its own --dir",
		             ag->dir, sys, ag->o->system);
		return CRATIS_EINVAL;
	}
	if (!json_is_array(json_object_get(ag->state, "unreported")))
		json_object_set_new(ag->state, "unreported", json_array());
	json_object_set_new(ag->state, "server", json_string(ag->o->server));
	return CRATIS_OK;
}

/* The manifest location of work item w: a directory, or a git location. Heap. */
static char *item_location(const json_t *w)
{
	const json_t *l = json_object_get(w, "location");
	const char *url = jstr(l, "url");
	if (!url)
		return xstrdup(jstr(l, "path") ? jstr(l, "path") : ".");
	const char *sub = jstr(l, "subdir"), *ref = jstr(l, "ref");
	return xasprintf("%s%s%s%s%s%s", strncmp(url, "git::", 5) ? "git::" : "", url, sub && *sub ? "//" : "",
	                 sub && *sub ? sub : "", ref && *ref ? "?ref=" : "", ref && *ref ? ref : "");
}

/* Apply work item w to the System's resources; the report (without generation) into *report. */
static void apply_item(struct agent *ag, const json_t *w, bool reconcile, json_t **report)
{
	const struct agent_options *o = ag->o;
	char *loc = item_location(w);
	const char *paths[1] = { loc };
	char *state_url = xasprintf("sqlite:%s/state.db", ag->dir);
	char *command = xasprintf("cratis agent --system %s: %s generation %" PRId64 " (server deployment %" PRId64 ")",
	                          o->system, reconcile ? "reconcile" : "apply", jint(w, "generation"), jint(w, "deployment"));
	struct app_options ao = { .paths = paths, .npaths = 1, .env = jstr(w, "environment"), .state_dir = ag->dir,
		                  .state_url = state_url, .jobs = o->jobs, .refresh = true, .grace_ms = o->grace_ms,
		                  .lock_timeout_ms = 30000, .command_line = command, .cancel = o->cancel };
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	struct strv targets = STRV_INIT;
	struct app_run run;
	memset(&run, 0, sizeof(run));
	json_t *steps = NULL, *outputs = NULL;
	const char *result = "succeeded";
	int rc = app_open(&a, &ao, APP_LOAD_MANIFESTS, &d);
	if (!rc)
		rc = app_agent_targets(a, o->system, &targets, NULL, &d);
	if (!rc && targets.n) {
		app_agent_limit(a, &targets);
		struct plan p;
		rc = app_apply(a, false, NULL, NULL, &p, &run, &d);
		app_plan_release(&p);
		if (run.counts.deployment > 0 && app_deployment_steps(a, run.counts.deployment, &steps, &d))
			steps = NULL;
		struct diags od = DIAGS_INIT;
		if (app_outputs(a, &outputs, &od))
			outputs = NULL;
		diags_release(&od);
	}
	error_clear();
	if (rc)
		result = run.cancelled || stopped(ag) ? "interrupted" : "failed";
	size_t i;
	json_t *x;
	json_array_foreach(outputs, i, x)
		if (json_is_true(json_object_get(x, "sensitive")) && !json_is_null(json_object_get(x, "value")))
			json_object_set_new(x, "value", json_string("(sensitive)"));
	*report = json_pack("{s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:I}", "project",
	                    jstr(w, "project"), "environment", jstr(w, "environment"), "deployment",
	                    (json_int_t)jint(w, "deployment"), "itemGeneration", (json_int_t)jint(w, "generation"), "result",
	                    result, "steps", steps ? steps : json_array(), "outputs", outputs ? outputs : json_array(),
	                    "counts", "succeeded", (json_int_t)run.counts.ok, "failed", (json_int_t)run.counts.failed,
	                    "skipped", (json_int_t)run.counts.skipped, "interrupted", (json_int_t)run.counts.interrupted,
	                    "localDeployment", (json_int_t)run.counts.deployment);
	if (rc) {
		struct buf m = BUF_INIT;
		for (size_t k = 0; k < d.n && m.len < 4000; k++) {
			if (d.v[k].severity != DIAG_ERROR)
				continue;
			if (m.len)
				buf_adds(&m, "; ");
			diag_format(&d.v[k], &m);
		}
		json_object_set_new(*report, "message", json_string(m.len ? m.ptr : status_name(rc)));
		buf_release(&m);
	}
	if (reconcile)
		json_object_set_new(*report, "reconcile", json_true());
	if (!reconcile || rc || run.counts.ok)
		say(ag, "%s %s/%s generation %" PRId64 ": %s (%zu changed, %zu failed)%s%s",
		    reconcile ? "reconciled (drift repaired)" : "applied", jstr(w, "environment"), jstr(w, "project"),
		    jint(w, "generation"), result, run.counts.ok, run.counts.failed, rc ? ": " : "",
		    rc ? jstr(*report, "message") : "");
	app_close(a);
	strv_release(&targets);
	diags_release(&d);
	free(loc);
	free(state_url);
	free(command);
}

/* Send the reports waiting in the state (oldest first); those the server did not take stay.
 * CRATIS_EINVAL when the server refuses them for good (401/403/404), else CRATIS_OK. */
static int send_reports(struct agent *ag, struct diags *d)
{
	json_t *pending = json_object_get(ag->state, "unreported");
	char *path = xasprintf("/v1/agents/%s/reports", ag->o->system);
	int rc = CRATIS_OK;
	while (json_array_size(pending) && !stopped(ag)) {
		char *body = json_dumps(json_array_get(pending, 0), JSON_COMPACT);
		long code;
		int hr = http(ag, "POST", path, body, 30000, &code);
		free(body);
		if (hr || code >= 500 || code == 0) {
			char *m = hr ? xstrdup(cratis_error_last()->message) : problem_detail(ag, code);
			say(ag, "report not sent (kept for the next try): %s", m);
			free(m);
			error_clear();
			break;
		}
		if (code == 401 || code == 403 || code == 404) {
			char *m = problem_detail(ag, code);
			diags_errorf(d, CRATIS_EINVAL, "the server refuses the agent's reports for System '%s': %s", ag->o->system, m);
			free(m);
			rc = CRATIS_EINVAL;
			break;
		}
		if (code != 200 && code != 201) {
			char *m = problem_detail(ag, code);
			say(ag, "report refused, dropped: %s", m);
			free(m);
		}
		json_array_remove(pending, 0);
	}
	free(path);
	if (!rc)
		rc = state_save(ag, d);
	return rc;
}

/* Apply every work item of the state and queue its report. */
static int apply_all(struct agent *ag, bool reconcile, struct diags *d)
{
	json_t *work = json_object_get(ag->state, "work");
	json_t *pending = json_object_get(ag->state, "unreported");
	size_t i;
	json_t *w;
	json_array_foreach(work, i, w) {
		if (stopped(ag))
			break;
		json_t *report;
		apply_item(ag, w, reconcile, &report);
		json_t *counts = json_object_get(report, "counts");
		if (reconcile && !strcmp(jstr(report, "result"), "succeeded") && !jint(counts, "succeeded")) {
			json_decref(report); /* nothing drifted: nothing to say (the polls keep lastSeen) */
			continue;
		}
		json_object_set_new(report, "generation", json_integer(jint(ag->state, "generation")));
		/* a newer report of the same item replaces an unsent older one */
		for (size_t k = json_array_size(pending); k-- > 0;) {
			json_t *p = json_array_get(pending, k);
			if (!strcmp(jstr(p, "project"), jstr(report, "project")) && !strcmp(jstr(p, "environment"), jstr(report, "environment")))
				json_array_remove(pending, k);
		}
		json_array_append_new(pending, report);
	}
	int rc = state_save(ag, d);
	return rc ? rc : send_reports(ag, d);
}

int app_agent_run(const struct agent_options *o, struct diags *d)
{
	if (!o->server || strncmp(o->server, "http", 4) || !o->system || !*o->system || !o->dir || o->interval_ms <= 0) {
		diags_errorf(d, CRATIS_EINVAL, "the agent needs --server http(s)://HOST:PORT, --system NAME, a directory and an interval > 0");
		return CRATIS_EINVAL;
	}
	struct agent ag = { .o = o, .body = BUF_INIT };
	int rc = curl_api_get(&ag.c);
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	if (mkdir_p(o->dir) && errno != EEXIST) {
		diags_errorf(d, CRATIS_EIO, "cannot create '%s': %s", o->dir, strerror(errno));
		return CRATIS_EIO;
	}
	chmod(o->dir, 0700);
	if (!(ag.dir = abs_path(o->dir))) {
		diags_errorf(d, CRATIS_EIO, "cannot resolve '%s': %s", o->dir, strerror(errno));
		return CRATIS_EIO;
	}
	if ((rc = state_load(&ag, d)))
		goto out;
	ag.curl = ag.c->curl_easy_init();
	if (!ag.curl) {
		rc = CRATIS_ENOMEM;
		diags_errorf(d, rc, "curl_easy_init failed");
		goto out;
	}
	CURL *k = ag.curl;
	const struct curl_api *c = ag.c;
	c->curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
	c->curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	c->curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	c->curl_easy_setopt(k, CURLOPT_ERRORBUFFER, ag.errbuf);
	c->curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	c->curl_easy_setopt(k, CURLOPT_WRITEDATA, &ag.body);
	c->curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
	c->curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_progress);
	c->curl_easy_setopt(k, CURLOPT_XFERINFODATA, &ag);
	c->curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	say(&ag, "agent of System '%s' polling %s (generation %" PRId64 ", reconcile every %d s)", o->system, o->server,
	    jint(ag.state, "generation"), o->interval_ms / 1000);
	int wait_s = o->wait_s > 0 && o->wait_s <= AGENT_WAIT_MAX ? o->wait_s : AGENT_WAIT_MAX;
	int64_t next_reconcile = now_ms(); /* the work kept from the last run is applied at once */
	int64_t backoff = 0;
	bool down = false;
	while (!stopped(&ag)) {
		if (now_ms() >= next_reconcile && json_array_size(json_object_get(ag.state, "work"))) {
			if ((rc = apply_all(&ag, true, d)))
				break;
			next_reconcile = now_ms() + o->interval_ms;
		} else if (now_ms() >= next_reconcile) {
			next_reconcile = now_ms() + o->interval_ms;
		}
		if (json_array_size(json_object_get(ag.state, "unreported")) && !down && (rc = send_reports(&ag, d)))
			break;
		int64_t left = (next_reconcile - now_ms() + 999) / 1000;
		int w = left < 1 ? 1 : left < wait_s ? (int)left : wait_s;
		char *path = xasprintf("/v1/agents/%s/work?after=%" PRId64 "&wait=%d", o->system, jint(ag.state, "generation"), w);
		long code;
		int hr = http(&ag, "GET", path, NULL, (long)(w + 15) * 1000, &code);
		free(path);
		if (stopped(&ag))
			break;
		if (hr || code == 0 || code >= 500) {
			char *m = hr ? xstrdup(cratis_error_last()->message) : problem_detail(&ag, code);
			backoff = backoff ? (backoff * 2 > 10000 ? 10000 : backoff * 2) : 500;
			if (!down)
				say(&ag, "server unreachable, retrying with backoff: %s", m);
			free(m);
			down = true;
			error_clear();
			nap(&ag, backoff);
			continue;
		}
		if (down)
			say(&ag, "server reachable again");
		down = false;
		backoff = 0;
		if (code == 401 || code == 403 || code == 404) {
			char *m = problem_detail(&ag, code);
			diags_errorf(d, CRATIS_EINVAL, "the server refuses the work of System '%s': %s", o->system, m);
			free(m);
			rc = CRATIS_EINVAL;
			break;
		}
		if (code == 204)
			continue;
		json_t *j = code == 200 ? json_loadb(ag.body.ptr, ag.body.len, 0, NULL) : NULL;
		if (!json_is_integer(json_object_get(j, "generation")) || !json_is_array(json_object_get(j, "work"))) {
			char *m = problem_detail(&ag, code);
			say(&ag, "unexpected answer to the work request, retrying: %s", m);
			free(m);
			json_decref(j);
			nap(&ag, 1000);
			continue;
		}
		say(&ag, "work generation %" PRId64 " (%zu item%s)", jint(j, "generation"), json_array_size(json_object_get(j, "work")),
		    json_array_size(json_object_get(j, "work")) == 1 ? "" : "s");
		json_object_set(ag.state, "work", json_object_get(j, "work"));
		json_object_set(ag.state, "generation", json_object_get(j, "generation"));
		json_decref(j);
		if ((rc = apply_all(&ag, false, d)))
			break;
		next_reconcile = now_ms() + o->interval_ms;
	}
	if (!rc)
		say(&ag, "agent of System '%s' stopped at generation %" PRId64, o->system, jint(ag.state, "generation"));
out:
	if (ag.curl)
		ag.c->curl_easy_cleanup(ag.curl);
	buf_release(&ag.body);
	json_decref(ag.state);
	free(ag.state_path);
	free(ag.dir);
	return rc;
}
