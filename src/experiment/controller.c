/* Experiments: the Experiment handler (validate, apply, destroy, observe) and the operations the
 * decision loop and the commands share: loading an experiment with its Rollout and record,
 * writing the record with its events, pointing the Rollout's Route (the dealer), stopping
 * variants and concluding (see experiment.h, docs/experiments.md). */
#define _GNU_SOURCE
#include "experiment_internal.h"

#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/event.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

char *experiment_scope(const char *environment, const char *project)
{
	return xasprintf("%s/%s", environment ? environment : "", project ? project : "");
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool rec_is(json_t *rec, const char *status)
{
	const char *s = jstr(rec, "status");
	return s && !strcmp(s, status);
}

/* The Service template variant v runs: its own, or the Rollout's, with its variables overlaid on
 * the template's env. New reference. */
static json_t *variant_template(json_t *rollout_spec, json_t *v)
{
	json_t *own = json_object_get(v, "template");
	json_t *t = json_deep_copy(own ? own : json_object_get(rollout_spec, "template"));
	if (!json_is_object(t))
		t = json_object();
	json_t *env = json_object_get(t, "env");
	if (!json_is_object(env)) {
		env = json_object();
		json_object_set_new(t, "env", env);
	}
	const char *k;
	json_t *val;
	json_object_foreach(json_object_get(v, "variables"), k, val) {
		if (json_is_string(val)) {
			json_object_set(env, k, val);
		} else {
			char *s = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
			json_object_set_new(env, k, json_string(s ? s : ""));
			free(s);
		}
	}
	return t;
}

int xop_reload_releases(struct xop *o)
{
	store_releases_release(&o->ro.rels);
	return store_releases(o->env->store, o->t.environment, o->t.project, o->spec.rollout, &o->ro.rels);
}

int xop_load(struct xop *o, struct rollout_env *env, const struct experiment_target *t, bool need_record)
{
	memset(o, 0, sizeof(*o));
	o->env = env;
	o->t = *t;
	o->scope = experiment_scope(t->environment, t->project);
	o->spec_json = t->spec ? json_loads(t->spec, 0, NULL) : NULL;
	if (!o->spec_json)
		return error_set(CRATIS_ENOTFOUND, "experiment '%s' has not been applied in environment '%s'", t->name, t->environment);
	struct diags d = DIAGS_INIT;
	if (xp_spec_parse(&o->spec, o->spec_json, &d)) {
		int rc = error_set(CRATIS_EINVAL, "experiment '%s': %s%s%s", t->name, d.v[0].field ? d.v[0].field : "",
		                   d.v[0].field ? ": " : "", d.v[0].message);
		diags_release(&d);
		return rc;
	}
	diags_release(&d);
	struct state_rows rows;
	int rc = store_list(env->store, t->environment, t->project, &rows);
	if (rc)
		return rc;
	char *rid = xasprintf("Rollout/%s", o->spec.rollout);
	struct state_row *row = store_rows_find(&rows, t->project, rid);
	free(rid);
	if (!row || !row->spec) {
		store_rows_release(&rows);
		return error_set(CRATIS_ENOTFOUND, "experiment '%s': Rollout '%s' has not been applied in environment '%s' (the experiment runs beside its live release)",
		                 t->name, o->spec.rollout, t->environment);
	}
	char *sd = xstrdup(t->statedir);
	o->ro_statedir = xasprintf("%s/Rollout-%s", dirname(sd), o->spec.rollout);
	free(sd);
	struct rollout_target rt = { t->project, t->environment, o->spec.rollout, row->spec, t->workdir, o->ro_statedir };
	rc = ro_op_load(&o->ro, env, &rt);
	store_rows_release(&rows);
	o->ro_loaded = true;
	if (rc)
		return rc;
	json_t *vs = json_object_get(o->spec_json, "variants");
	for (size_t i = 0; i < o->spec.n_variants; i++)
		if (!o->spec.variants[i].control)
			o->spec.variants[i].tmpl = variant_template(o->ro.spec, json_array_get(vs, i));
	struct record rec;
	rc = store_record_get(env->store, EXPERIMENT_RECORD_KIND, o->scope, t->name, &rec);
	if (rc == CRATIS_ENOTFOUND) {
		if (need_record)
			return error_set(CRATIS_ENOTFOUND, "experiment '%s' has not been started in environment '%s' (cratis apply starts it)",
			                 t->name, t->environment);
		return CRATIS_OK;
	}
	if (rc)
		return rc;
	o->rec = json_loads(rec.body, 0, NULL);
	o->rev = rec.revision;
	if (o->rec) {
		json_object_set_new(o->rec, "updated", json_string(rec.updated ? rec.updated : ""));
		json_object_set_new(o->rec, "created", json_string(rec.created ? rec.created : ""));
	}
	record_release(&rec);
	if (!json_is_object(o->rec))
		return error_set(CRATIS_EINVAL, "experiment '%s': the recorded state is not a JSON object", t->name);
	return CRATIS_OK;
}

void xop_release(struct xop *o)
{
	if (o->ro_loaded)
		ro_op_release(&o->ro);
	xp_spec_release(&o->spec);
	json_decref(o->spec_json);
	json_decref(o->rec);
	free(o->scope);
	free(o->ro_statedir);
	memset(o, 0, sizeof(*o));
}

int xop_save(struct xop *o, const char *what, const char *stage, const char *variant, const char *message)
{
	json_object_del(o->rec, "updated"); /* the store's, read back */
	json_object_del(o->rec, "created");
	char *body = json_dumps(o->rec, JSON_COMPACT);
	struct record r = { .kind = (char *)EXPERIMENT_RECORD_KIND, .scope = o->scope, .name = (char *)o->t.name, .body = body };
	struct store_event ev = { 0 };
	char *type = NULL, *source = NULL, *subject = NULL, *data = NULL;
	if (what) {
		type = xasprintf(CRATIS_EVENT_PREFIX "experiment.%s", what);
		source = xasprintf("/projects/%s/environments/%s", *o->t.project ? o->t.project : "_",
		                   *o->t.environment ? o->t.environment : "_");
		subject = xasprintf("Experiment/%s", o->t.name);
		json_t *d = json_pack("{s:s,s:s,s:s?}", "experiment", o->t.name, "rollout", o->spec.rollout, "status", jstr(o->rec, "status"));
		if (stage)
			json_object_set_new(d, "stage", json_string(stage));
		if (variant)
			json_object_set_new(d, "variant", json_string(variant));
		if (jstr(o->rec, "verdict"))
			json_object_set(d, "verdict", json_object_get(o->rec, "verdict"));
		if (jstr(o->rec, "winner"))
			json_object_set(d, "winner", json_object_get(o->rec, "winner"));
		if (message)
			json_object_set_new(d, "message", json_string(message));
		data = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(d);
		ev = (struct store_event){ .type = type, .subject = subject, .data = data, .source = source };
	}
	struct store_emits em = { .events = &ev, .n = 1 };
	int rc = store_record_put(o->env->store, &r, o->rev ? o->rev : 0, what ? &em : NULL);
	if (!rc) {
		o->rev = r.revision;
		json_object_set_new(o->rec, "updated", json_string(r.updated ? r.updated : ""));
		json_object_set_new(o->rec, "created", json_string(r.created ? r.created : ""));
	} else {
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "experiment %s: cannot record its state: %s", o->t.name,
		            cratis_error_last()->message);
	}
	free(r.created);
	free(r.updated);
	free(body);
	free(type);
	free(source);
	free(subject);
	free(data);
	return rc;
}

void xop_note(struct xop *o, const char *stage, const char *variant, const char *result, const char *output)
{
	json_t *log = json_object_get(o->rec, "stages");
	if (!json_is_array(log)) {
		log = json_array();
		json_object_set_new(o->rec, "stages", log);
	}
	char at[32];
	now_rfc3339(at);
	json_array_append_new(log, json_pack("{s:s,s:s?,s:s,s:s,s:s}", "stage", stage, "variant", variant, "result", result,
	                                     "output", output ? output : "", "at", at));
	while (json_array_size(log) > 200)
		json_array_remove(log, 0);
	char *what = xasprintf("experiment %s%s%s %s: %s%s%s", o->t.name, variant ? " variant " : "", variant ? variant : "", stage,
	                       result, output && *output ? ": " : "", output ? output : "");
	char *who = xasprintf("Experiment/%s", o->t.name);
	engine_emit(o->env->observer, &(struct engine_event){ .type = EV_STAGE, .resource = who, .message = what });
	free(what);
	free(who);
}

json_t *xop_variant(struct xop *o, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o->rec, "variants"), i, v)
		if (name && jstr(v, "name") && !strcmp(jstr(v, "name"), name))
			return v;
	return NULL;
}

struct release *xop_release_of(struct xop *o, json_t *v)
{
	const char *id = jstr(v, "release");
	return id ? ro_find_id(&o->ro, id) : NULL;
}

static int route_apply(struct xop *o, json_t *spec)
{
	char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS), *dir = xasprintf("%s/router", o->ro_statedir);
	int rc = ro_call_handler(&o->ro, "router", "Route", OP_APPLY, o->spec.rollout, dir, text, NULL);
	free(text);
	free(dir);
	return rc;
}

int xop_route_split(struct xop *o)
{
	struct release *active = ro_find(&o->ro, "active");
	if (!active)
		return error_set(CRATIS_ENOTFOUND, "rollout '%s' has no live release", o->spec.rollout);
	int ap = ro_iget(o->ro.spec, "activePort", 0), pp = ro_iget(o->ro.spec, "previewPort", 0);
	char up[32];
	snprintf(up, sizeof(up), "127.0.0.1:%d", active->port);
	json_t *vs = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o->rec, "variants"), i, v) {
		int port = json_is_true(json_object_get(v, "control")) ? active->port : (int)json_integer_value(json_object_get(v, "port"));
		char vu[32];
		snprintf(vu, sizeof(vu), "127.0.0.1:%d", port);
		json_array_append_new(vs, json_pack("{s:s,s:O,s:s}", "name", jstr(v, "name"), "weight", json_object_get(v, "weight"),
		                                    "upstream", vu));
	}
	char *key = xasprintf("%s-%s", o->t.name, jstr(o->rec, "spec") ? jstr(o->rec, "spec") : "");
	json_t *split = json_pack("{s:s,s:s,s:s?,s:o}", "key", key, "stickiness", o->spec.stickiness, "accessLog",
	                          jstr(o->rec, "accessLog"), "variants", vs);
	free(key);
	if (o->spec.cookie)
		json_object_set_new(split, "cookie", json_string(o->spec.cookie));
	if (o->spec.pin_header)
		json_object_set_new(split, "pinHeader", json_string(o->spec.pin_header));
	if (o->spec.user_header)
		json_object_set_new(split, "userHeader", json_string(o->spec.user_header));
	json_t *spec = json_pack("{s:i,s:{s:i,s:s},s:o}", "listen", ap, "preview", "listen", pp, "upstream", up, "split", split);
	int rc = route_apply(o, spec);
	json_decref(spec);
	return rc;
}

int xop_route_single(struct xop *o)
{
	struct release *a = ro_find(&o->ro, "active"), *p = ro_find(&o->ro, "preview");
	if (!a)
		return ro_route_destroy(&o->ro);
	return ro_route(&o->ro, a->port, p ? p->port : a->port);
}

bool xop_control_moved(struct xop *o, char **why)
{
	*why = NULL;
	json_t *c = xop_variant(o, jstr(o->rec, "control"));
	struct release *a = ro_find(&o->ro, "active");
	const char *rid = jstr(c, "release");
	if (!rid || (a && !strcmp(a->id, rid)))
		return false;
	*why = xasprintf("the Rollout's live release is %s, no longer the control %s the experiment started with", a ? a->id : "none", rid);
	return true;
}

int xop_heal_variants(struct xop *o)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o->rec, "variants"), i, v) {
		struct release *r = json_is_true(json_object_get(v, "control")) ? NULL : xop_release_of(o, v);
		char *why = NULL;
		if (!r || !r->status || strcmp(r->status, "variant") || ro_release_owns_port(&o->ro, r, &why)) {
			free(why);
			continue;
		}
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "experiment %s: variant %s (release %s) does not answer: %s; starting it again",
		            o->t.name, jstr(v, "name"), r->id, why ? why : "");
		int rc = ro_service(&o->ro, OP_APPLY, r);
		ro_record(&o->ro, r, "experiment", rc ? "failed" : "ok", rc ? cratis_error_last()->message : "started again");
		char *msg = xasprintf("started again: %s", why ? why : "its process was gone");
		xop_note(o, "heal", jstr(v, "name"), rc ? "failed" : "ok", rc ? cratis_error_last()->message : msg);
		free(msg);
		free(why);
		if (rc)
			return error_set(rc, "variant %s (release %s) could not be started again: %s", jstr(v, "name"), r->id,
			                 cratis_error_last()->message);
	}
	return CRATIS_OK;
}

void xop_stop_variants(struct xop *o, const struct release *keep, const char *why)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o->rec, "variants"), i, v) {
		if (json_is_true(json_object_get(v, "control")))
			continue;
		struct release *r = xop_release_of(o, v);
		if (!r || r == keep || !r->status || strcmp(r->status, "variant"))
			continue;
		ro_service(&o->ro, OP_DESTROY, r);
		ro_set_str(&r->status, "retired");
		ro_record(&o->ro, r, "experiment", "ok", why);
	}
}

static int finish(struct xop *o, const char *action, const char *winner, const char *final_status, const char *why_in);

int xop_finish(struct xop *o, const char *action_in, const char *winner_in, const char *final_in, const char *why)
{
	/* the arguments may point into the record's old intent, replaced here */
	char *action = xstrdup(action_in), *winner = winner_in ? xstrdup(winner_in) : NULL, *final_status = xstrdup(final_in);
	int rc = finish(o, action, winner, final_status, why);
	free(action);
	free(winner);
	free(final_status);
	return rc;
}

static int finish(struct xop *o, const char *action, const char *winner, const char *final_status, const char *why_in)
{
	char *msg = xstrdup(why_in ? why_in : "");
	const char *why = msg;
	json_object_set_new(o->rec, "status", json_string("concluding"));
	json_object_set_new(o->rec, "intent", json_pack("{s:s,s:s?,s:s,s:s?}", "action", action, "winner", winner, "status",
	                                                  final_status, "why", why));
	int rc = xop_save(o, NULL, NULL, NULL, NULL);
	if (rc) {
		free(msg);
		return rc;
	}
	ro_settle(&o->ro); /* a switch of the Rollout an interrupted run left half done */
	const char *final = final_status;
	json_t *wv = winner ? xop_variant(o, winner) : NULL;
	bool promote = !strcmp(action, "promote") && wv && !json_is_true(json_object_get(wv, "control"));
	if (promote) {
		struct release *w = xop_release_of(o, wv);
		if (!w) {
			rc = error_set(CRATIS_ENOTFOUND, "variant %s has no release to promote", winner);
		} else if (w->status && !strcmp(w->status, "active")) {
			rc = CRATIS_OK; /* an interrupted run had switched already */
		} else {
			char base[9];
			if (!ro_release_hash(&o->ro, json_object_get(o->ro.spec, "template"), base)) {
				char *note = xasprintf("won experiment %s; serves in place of the Rollout's template %s", o->t.name, base);
				ro_note(&o->ro, w, "experiment", "ok", note);
				free(note);
			}
			rc = ro_promote(&o->ro, w, NULL);
		}
		if (rc) {
			char *m2 = xasprintf("%s; promoting %s failed, the control keeps serving: %s", msg, winner, cratis_error_last()->message);
			free(msg);
			msg = m2;
			final = "stopped";
			xop_route_single(o);
			xop_stop_variants(o, NULL, "the experiment stopped");
		} else {
			xop_stop_variants(o, w, "lost the experiment");
		}
	} else {
		rc = xop_route_single(o);
		xop_stop_variants(o, NULL, !strcmp(action, "abort") ? "the experiment was aborted" : "the control was kept");
	}
	int arc = rc;
	json_object_set_new(o->rec, "status", json_string(final));
	json_object_del(o->rec, "intent");
	json_object_set_new(o->rec, "message", json_string(msg));
	if (promote && !arc)
		json_object_set_new(o->rec, "winner", json_string(winner));
	xop_note(o, !strcmp(final, "aborted") ? "aborted" : "concluded", promote && !arc ? winner : NULL, arc ? "failed" : "ok", msg);
	rc = xop_save(o, !strcmp(final, "aborted") ? "aborted" : "concluded", final, promote && !arc ? winner : NULL, msg);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "experiment %s %s: %s", o->t.name, final, msg);
	free(msg);
	if (arc)
		return error_set(arc, "experiment %s: %s", o->t.name, json_string_value(json_object_get(o->rec, "message")));
	return rc;
}

/* ---- the handler ---- */

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = json_loads(req->spec, 0, NULL);
	struct xp_spec x;
	struct diags d = DIAGS_INIT;
	int rc = xp_spec_parse(&x, s, &d);
	if (rc) /* the engine reports one problem per resource: the first, located */
		host_services.error(req->call, d.v[0].field, "%s", d.v[0].message);
	xp_spec_release(&x);
	diags_release(&d);
	json_decref(s);
	return rc;
}

static void outputs(struct xop *o, char **out)
{
	char *au = ro_url_of(ro_iget(o->ro.spec, "activePort", 0));
	json_t *doc = json_pack("{s:{s:s?,s:s?,s:s}}", "outputs", "status", jstr(o->rec, "status"), "accessLog",
	                        jstr(o->rec, "accessLog"), "url", au);
	free(au);
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
}

/* The variants' islands failed to come up (or the split did not go live): tear down what was
 * started, route back, record status failed with why. */
static int start_failed(struct xop *o, int rc, const char *variant, const char *why)
{
	char *msg = xasprintf("%s%s%s: %s; the control keeps serving", variant ? "variant " : "", variant ? variant : "",
	                      variant ? " did not come up" : "the split did not go live", why);
	xop_route_single(o);
	xop_stop_variants(o, NULL, "the experiment did not start");
	json_object_set_new(o->rec, "status", json_string("failed"));
	json_object_set_new(o->rec, "message", json_string(msg));
	xop_note(o, "start", variant, "failed", msg);
	xop_save(o, "aborted", "start", variant, msg);
	error_set(rc ? rc : CRATIS_ERROR, "experiment %s: %s", o->t.name, msg);
	free(msg);
	return rc ? rc : CRATIS_ERROR;
}

/* Build variant i's island: hooks, a release with a port from the allocator, its process and
 * health check, preview routed to it for its afterPreProd hooks and exit tests. */
static int start_variant(struct xop *o, size_t i, struct release *active)
{
	struct xp_variant *x = &o->spec.variants[i];
	char hash[9];
	int rc = ro_release_hash(&o->ro, x->tmpl, hash);
	if (rc)
		return rc;
	char *active_id = xstrdup(active->id); /* before the list grows: active points into it */
	ALLOC_GROW(o->ro.rels.v, o->ro.rels.n + 1, o->ro.rels.alloc);
	memmove(o->ro.rels.v + 1, o->ro.rels.v, o->ro.rels.n * sizeof(*o->ro.rels.v));
	o->ro.rels.n++;
	active = ro_find_id(&o->ro, active_id); /* moved */
	free(active_id);
	struct release *r = &o->ro.rels.v[0];
	memset(r, 0, sizeof(*r));
	r->project = xstrdup(o->t.project);
	r->environment = xstrdup(o->t.environment);
	r->rollout = xstrdup(o->spec.rollout);
	r->id = xasprintf("r%zu-%s", o->ro.rels.n, hash);
	r->colour = xstrdup(x->name);
	r->status = xstrdup("variant");
	json_t *v = xop_variant(o, x->name);
	json_object_set_new(v, "release", json_string(r->id));
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "experiment %s: variant %s: release %s", o->t.name, x->name, r->id);
	if ((rc = ro_run_hooks(&o->ro, r, "beforePreProd"))) {
		ro_set_str(&r->status, "failed");
		ro_record(&o->ro, r, "beforePreProd", "failed", cratis_error_last()->message);
		return rc;
	}
	if ((rc = ro_allocate_port(&o->ro, r))) {
		char *m = xstrdup(cratis_error_last()->message);
		ro_set_str(&r->status, "failed");
		ro_record(&o->ro, r, "preProd", "failed", m);
		error_set(rc, "%s", m);
		free(m);
		return rc;
	}
	json_object_set_new(v, "port", json_integer(r->port));
	r->spec = ro_service_spec(x->tmpl, r->port);
	ro_record(&o->ro, r, "preProd", "started", NULL);
	if ((rc = ro_service(&o->ro, OP_APPLY, r)) || (rc = ro_route(&o->ro, active->port, r->port))) {
		char *m = xstrdup(cratis_error_last()->message);
		ro_service(&o->ro, OP_DESTROY, r);
		ro_set_str(&r->status, "failed");
		ro_record(&o->ro, r, "preProd", "failed", m);
		error_set(rc, "%s", m);
		free(m);
		return rc;
	}
	ro_record(&o->ro, r, "preProd", "ok", "island up");
	if ((rc = ro_run_hooks(&o->ro, r, "afterPreProd")) || (rc = ro_run_hooks(&o->ro, r, "exitTests"))) {
		char *m = xstrdup(cratis_error_last()->message);
		ro_service(&o->ro, OP_DESTROY, r);
		ro_set_str(&r->status, "failed");
		ro_record(&o->ro, r, r->stage ? r->stage : "exitTests", "failed", m);
		error_set(rc, "%s", m);
		free(m);
		return rc;
	}
	ro_record(&o->ro, r, "exitTests", "ok", "variant ready for the split");
	char *msg = xasprintf("release %s up on port %d, exit tests passed", r->id, r->port);
	xop_note(o, "island", x->name, "ok", msg);
	xop_save(o, "stage", "island", x->name, msg);
	free(msg);
	return CRATIS_OK;
}

static int start(struct xop *o)
{
	struct release *active = ro_find(&o->ro, "active");
	if (!active)
		return error_set(CRATIS_ENOTFOUND, "experiment %s: rollout '%s' has no live release yet (the control is its live release; apply the Rollout first)",
		                 o->t.name, o->spec.rollout);
	int64_t now = store_now(o->env->store); /* wall-clock ms: elapsed time survives restarts and machines */
	char at[32];
	now_rfc3339(at);
	mkdir_p(o->t.statedir);
	char *log = xasprintf("%s/access-%lld.log", o->t.statedir, (long long)now);
	json_t *vs = json_array();
	for (size_t i = 0; i < o->spec.n_variants; i++) {
		struct xp_variant *x = &o->spec.variants[i];
		json_t *v = json_pack("{s:s,s:b,s:f}", "name", x->name, "control", x->control, "weight", x->weight);
		if (x->control) {
			json_object_set_new(v, "release", json_string(active->id));
			json_object_set_new(v, "port", json_integer(active->port));
		}
		json_array_append_new(vs, v);
	}
	json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:[],s:[],s:n,s:n,s:f}", "spec", o->spec.hash, "rollout",
	                        o->spec.rollout, "status", "starting", "control", o->spec.variants[o->spec.control].name, "started",
	                        at, "startedMs", (json_int_t)now, "accessLog", log, "variants", vs, "stages", "history", "verdict",
	                        "winner", "elapsedSeconds", 0.0);
	free(log);
	json_decref(o->rec);
	o->rec = rec;
	xop_note(o, "start", NULL, "started", NULL);
	int rc = xop_save(o, "stage", "start", NULL, NULL);
	if (rc)
		return rc;
	for (size_t i = 0; i < o->spec.n_variants; i++) {
		if (o->spec.variants[i].control)
			continue;
		if ((rc = start_variant(o, i, ro_find(&o->ro, "active"))))
			return start_failed(o, rc, o->spec.variants[i].name, cratis_error_last()->message);
	}
	if ((rc = xop_route_split(o)))
		return start_failed(o, rc, NULL, cratis_error_last()->message);
	/* the empty metrics state (counts from nothing, the access log from its start) */
	struct metric_def defs[METRICS_MAX_METRICS];
	memset(defs, 0, sizeof(defs));
	struct metric_set set;
	memset(&set, 0, sizeof(set));
	const char *names[DECIDE_MAX_VARIANTS];
	for (size_t i = 0; i < o->spec.n_variants; i++)
		names[i] = o->spec.variants[i].name;
	rc = xp_spec_defs(&o->spec, defs);
	if (!rc)
		rc = metric_set_init(&set, names, o->spec.n_variants, defs, o->spec.n_defs);
	for (size_t i = 0; i < o->spec.n_defs; i++)
		metric_def_release(&defs[i]);
	if (!rc) {
		struct buf b = BUF_INIT;
		metrics_state_save(&b, &set, NULL);
		char *b64 = xp_b64_encode(b.ptr ? b.ptr : "", b.len);
		json_object_set_new(o->rec, "metricsState", json_string(b64));
		free(b64);
		buf_release(&b);
	}
	metric_set_release(&set);
	if (rc)
		return start_failed(o, rc, NULL, cratis_error_last()->message);
	struct decide_state st;
	decide_state_init(&st);
	json_object_set_new(o->rec, "decideState", decide_state_to_json(&st, o->spec.n_variants, o->spec.cfg.n_guardrails));
	json_object_set_new(o->rec, "status", json_string("running"));
	char *msg = xasprintf("the split is live on port %d over %zu variants", ro_iget(o->ro.spec, "activePort", 0), o->spec.n_variants);
	xop_note(o, "live", NULL, "ok", msg);
	rc = xop_save(o, "started", "live", NULL, msg);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "experiment %s: %s; `cratis experiment run %s` decides", o->t.name, msg, o->t.name);
	free(msg);
	return rc;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	struct experiment_target t = { req->project, req->environment, req->name, req->spec, req->workdir, req->statedir };
	struct xop o;
	int rc = xop_load(&o, data, &t, false);
	o.ro.parent = req;
	if (rc)
		goto out;
	ro_settle(&o.ro);
	if (o.rec) {
		bool same = jstr(o.rec, "spec") && !strcmp(jstr(o.rec, "spec"), o.spec.hash);
		bool live = rec_is(o.rec, "running") || rec_is(o.rec, "decided") || rec_is(o.rec, "concluding") || rec_is(o.rec, "starting");
		char *moved = NULL;
		if (same && (rec_is(o.rec, "running") || rec_is(o.rec, "decided")) && !xop_control_moved(&o, &moved)) {
			/* drift: a variant's process gone, the Route changed: put them back */
			if ((rc = xop_heal_variants(&o))) {
				char *m = xstrdup(cratis_error_last()->message);
				rc = xop_finish(&o, "keep", NULL, "stopped", m);
				free(m);
				if (!rc)
					rc = error_set(CRATIS_ERROR, "experiment %s stopped: %s", o.t.name, jstr(o.rec, "message"));
				goto out;
			}
			rc = xop_route_split(&o); /* the dealer as the record says */
			outputs(&o, out);
			goto out;
		}
		if (same && !live && !rec_is(o.rec, "failed")) {
			outputs(&o, out); /* it ended; an unchanged spec does not run it again */
			goto out;
		}
		if (live) {
			engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "experiment %s: %s; stopping the old one", o.t.name,
			            moved ? moved : same ? "a start was interrupted" : "the spec changed");
			json_t *intent = json_object_get(o.rec, "intent");
			if (rec_is(o.rec, "concluding") && intent) {
				/* an interrupted conclusion: finish it; an unchanged spec does not start again */
				rc = xop_finish(&o, jstr(intent, "action"), jstr(intent, "winner"), jstr(intent, "status"), jstr(intent, "why"));
				if (!rc && same) {
					outputs(&o, out);
					free(moved);
					goto out;
				}
			} else if (moved) {
				char *m = xasprintf("%s; a new experiment starts against it", moved);
				rc = xop_finish(&o, "abort", NULL, "aborted", m);
				free(m);
			} else
				rc = xop_finish(&o, "abort", NULL, "aborted", same ? "a start was interrupted; started again" : "the spec changed; a new experiment starts");
			free(moved);
			if (rc)
				goto out;
			xop_reload_releases(&o);
		}
	}
	if (!(rc = start(&o)))
		outputs(&o, out);
out:
	if (rc)
		host_services.error(req->call, NULL, "%s", cratis_error_last()->message);
	xop_release(&o);
	return rc;
}

static char *prior_spec(const struct cratis_request *req)
{
	json_t *prior = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	char *spec = json_dumps(json_object_get(prior, "spec"), JSON_COMPACT);
	json_decref(prior);
	return spec;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)out;
	char *spec = prior_spec(req);
	struct experiment_target t = { req->project, req->environment, req->name, spec, req->workdir, req->statedir };
	struct xop o;
	int rc = xop_load(&o, data, &t, false);
	o.ro.parent = req;
	if (rc == CRATIS_ENOTFOUND || (!rc && !o.rec)) {
		/* the Rollout (and its releases) are gone, or it never started: only a record may be left */
		char *scope = experiment_scope(req->environment, req->project);
		rc = store_record_delete(((struct rollout_env *)data)->store, EXPERIMENT_RECORD_KIND, scope, req->name, STORE_REV_ANY, NULL);
		free(scope);
		if (rc == CRATIS_ENOTFOUND)
			rc = CRATIS_OK;
	} else if (!rc) {
		if (rec_is(o.rec, "running") || rec_is(o.rec, "decided") || rec_is(o.rec, "concluding") || rec_is(o.rec, "starting"))
			rc = xop_finish(&o, "abort", NULL, "aborted", "the Experiment was destroyed");
		if (!rc)
			rc = store_record_delete(o.env->store, EXPERIMENT_RECORD_KIND, o.scope, o.t.name, STORE_REV_ANY, NULL);
		if (rc == CRATIS_ENOTFOUND)
			rc = CRATIS_OK;
	}
	if (rc)
		host_services.error(req->call, NULL, "%s", cratis_error_last()->message);
	xop_release(&o);
	free(spec);
	return rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	char *spec = prior_spec(req);
	struct experiment_target t = { req->project, req->environment, req->name, spec, req->workdir, req->statedir };
	struct xop o;
	json_t *doc = NULL;
	if (!xop_load(&o, data, &t, false)) {
		o.ro.parent = req;
		if (!o.rec) {
			doc = json_pack("{s:b,s:b,s:s}", "exists", 0, "drift", 1, "reason", "the experiment has no recorded state; apply starts it");
		} else if (rec_is(o.rec, "running")) {
			char *moved = NULL;
			if (xop_control_moved(&o, &moved)) {
				char *m = xasprintf("%s; apply starts the experiment again against it", moved);
				doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", m);
				free(m);
			}
			free(moved);
			size_t i;
			json_t *v;
			json_array_foreach(doc ? NULL : json_object_get(o.rec, "variants"), i, v) {
				struct release *r = xop_release_of(&o, v);
				char *why = NULL;
				if (!json_is_true(json_object_get(v, "control")) && r && !ro_release_owns_port(&o.ro, r, &why)) {
					char *m = xasprintf("variant %s (release %s) does not answer on port %d: %s; apply starts it again",
					                    jstr(v, "name"), r->id, r->port, why ? why : "");
					doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", m);
					free(m);
				}
				free(why);
				if (doc)
					break;
			}
		}
	}
	if (!doc)
		doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	xop_release(&o);
	free(spec);
	return CRATIS_OK;
}

int experiment_register(struct registry *reg, struct rollout_env *env, struct diags *errors)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), validate, NULL, apply, destroy, observe };
	static const char *const versions[] = { "v1", NULL };
	struct cratis_handler h = { sizeof(h), "cratis", "Experiment", versions, &ops, env, NULL }; /* fields: src/model/schema.c */
	for (size_t i = 0; i < reg->nplugins; i++)
		if (reg->plugins[i]->form == PLUGIN_CORE && !strcmp(reg->plugins[i]->name, "cratis"))
			return registry_add_handler(reg, reg->plugins[i], &h, errors);
	diags_errorf(errors, CRATIS_ENOTFOUND, "the core plugin is not registered (rollout_register first)");
	return CRATIS_ENOTFOUND;
}
