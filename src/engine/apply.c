/* Executor: run a plan as a dependency graph with bounded parallelism (see engine.h). */
#define _GNU_SOURCE
#include "engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "events/event.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* ST_UNCHANGED: planned as a change, found to be none at apply (unchanged_once_known) */
enum item_state { ST_WAIT, ST_RUNNING, ST_OK, ST_FAILED, ST_SKIPPED, ST_INTERRUPTED, ST_UNCHANGED };

/* How often a resource that is still running is reported (EV_RESOURCE_RUNNING). */
#define STILL_RUNNING_MS 10000

struct exec {
	struct plan *p;
	struct store *s;
	const struct engine_opts *o;
	int64_t deployment;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum item_state *st;
	size_t *remaining;           /* unfinished dependencies */
	size_t **dependents, *ndependents, *adependents;
	size_t *queue, qhead, qtail;
	size_t done, total;
	int64_t *started_ms;         /* when a running item started (0: not running) */
	int64_t *reported;           /* still-running reports made for it */
	bool *claimed;               /* applied through call.apply_now (a Rollout hook) on the
	                              * caller's thread: the workers leave it alone */
	bool *ran;                   /* its plugin was called (or it was claimed) in this run */
	struct apply_result res;
	/* a state write failed (the store is gone: a lost connection, a full disk): start nothing
	 * new; the outcomes it could not record are listed in unrecorded (under mu) */
	atomic_bool store_failed;
	struct buf unrecorded;
};

/* ---- outbox events (docs/events.md) ---- */

/* The events of one unit: up to EV_UNIT_MAX, each with heap strings (owned here). */
#define EV_UNIT_MAX 32
struct unit_events {
	struct store_event v[EV_UNIT_MAX];
	char *own[EV_UNIT_MAX * 3];
	size_t n, nown;
};

static const char *ue_keep(struct unit_events *u, char *s)
{
	if (s && u->nown < EV_UNIT_MAX * 3)
		u->own[u->nown++] = s;
	return s;
}

/* Add an event of type (CRATIS_EVENT_PREFIX + name when prefixed) with data (a new reference,
 * consumed); false when the unit is full. */
static bool ue_add(struct unit_events *u, const char *project, const char *env, const char *type, bool prefixed,
                   const char *subject, json_t *data)
{
	if (u->n >= EV_UNIT_MAX) {
		json_decref(data);
		return false;
	}
	struct store_event *e = &u->v[u->n++];
	memset(e, 0, sizeof(*e));
	e->type = prefixed ? ue_keep(u, xasprintf(CRATIS_EVENT_PREFIX "%s", type)) : ue_keep(u, xstrdup(type));
	e->source = ue_keep(u, xasprintf("/projects/%s/environments/%s", project && *project ? project : "_", env && *env ? env : "_"));
	e->subject = subject;
	e->data = data ? ue_keep(u, json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER)) : NULL;
	json_decref(data);
	return true;
}

static void ue_release(struct unit_events *u)
{
	for (size_t i = 0; i < u->nown; i++)
		free(u->own[i]);
	u->n = u->nown = 0;
}

static bool cancelled(const struct engine_opts *o)
{
	return o->cancel && *o->cancel;
}

/* The ids it depends on, recorded so that a later destroy can order deletes. */
static json_t *deps_json(const struct plan_item *it)
{
	json_t *a = json_array();
	if (it->res)
		for (size_t i = 0; i < it->res->deps.n; i++)
			json_array_append_new(a, json_string(it->res->deps.v[i]));
	return a;
}

/* An observer in front of another that hides sensitive values in what a plugin says. */
struct scrubbing {
	struct engine_observer self;
	const struct engine_observer *next;
	struct secret_store *secrets;
};

static void scrub_event(const struct engine_event *ev, void *payload)
{
	struct scrubbing *sc = payload;
	struct engine_event e = *ev;
	char *m = secret_store_scrub(sc->secrets, ev->message), *d = secret_store_scrub(sc->secrets, ev->data);
	if (m)
		e.message = m;
	if (d)
		e.data = d;
	engine_emit(sc->next, &e);
	free(m);
	free(d);
}

/* Hide sensitive values in the calling thread's last error (what a failed plugin said). */
static void scrub_error(struct secret_store *secrets)
{
	char *m = secret_store_scrub(secrets, cratis_error_last()->message);
	if (m)
		error_set(cratis_error_last()->status, "%s", m);
	free(m);
}

/* Seal the outputs that out (a plugin's apply reply) names in "sensitive" (an array of output
 * names, docs/plugins.md) in place: state and every later reader get secret_store_seal's form,
 * and references open it (plan.c resolve_ref). A name that is not an output is an error. */
static int seal_outputs(struct plan *p, const struct plan_item *it, json_t *out)
{
	json_t *names = json_object_get(out, "sensitive"), *outs = json_object_get(out, "outputs");
	if (!names)
		return CRATIS_OK;
	if (!json_is_array(names))
		return error_set(CRATIS_EPLUGIN, "%s: the plugin's reply: \"sensitive\" must be an array of output names", it->id);
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		json_t *v = json_object_get(outs, json_string_value(n) ? json_string_value(n) : "");
		if (!v)
			return error_set(CRATIS_EPLUGIN, "%s: the plugin's reply marks '%s' sensitive, which is not one of its outputs",
			                 it->id, json_string_value(n) ? json_string_value(n) : "(not a string)");
		if (json_is_string(v) && secret_is_sealed(json_string_value(v)))
			continue;
		if (!p->secrets)
			return error_set(CRATIS_ERROR, "%s: no secret store to seal output '%s'", it->id, json_string_value(n));
		if (json_is_string(v))
			secret_store_remember(p->secrets, json_string_value(v));
		char *sealed = NULL;
		int rc = secret_store_seal(p->secrets, &sealed, v);
		if (rc)
			return error_set(rc, "%s: output '%s': %s", it->id, json_string_value(n), cratis_error_last()->message);
		json_object_set_new(outs, json_string_value(n), json_string(sealed));
		free(sealed);
	}
	return CRATIS_OK;
}

/* True when it was planned as an update or replace only because an output of a resource it
 * depends on was not known at plan time ("(known after apply)"), and its spec, resolved now from
 * what those resources produced, equals the recorded one: nothing changed, so the plugin is not
 * called (a File replaced with byte-identical content, same sha256 output, does not restart the
 * Service that reads it). A resource whose last apply failed or was interrupted, or that drifted
 * (it->reason), is always applied. On true it->outputs holds the recorded outputs for its own
 * dependents. A resolution error gives false: the normal path reports it. */
static bool unchanged_once_known(struct plan *p, struct plan_item *it)
{
	if (it->action == ACT_NOOP)
		return true; /* planned from predicted outputs, found equal again (recheck_prediction) */
	if ((it->action != ACT_UPDATE && it->action != ACT_REPLACE) || it->reason || !it->res ||
	    !it->res->pending_vars || !it->row || !it->row->spec || strcmp(it->row->status, "ready"))
		return false;
	struct diags errs = DIAGS_INIT;
	int rc = item_resolve(p, it, true, &errs);
	diags_release(&errs);
	if (rc)
		return false;
	json_t *prior = json_loads(it->row->spec, 0, NULL);
	bool same = prior && json_equal(prior, it->desired);
	json_decref(prior);
	if (!same)
		return false;
	json_decref(it->outputs);
	it->outputs = it->row->outputs ? json_loads(it->row->outputs, 0, NULL) : NULL;
	if (!it->outputs)
		it->outputs = json_object();
	return true;
}

/* A no-op planned from outputs that plugins predicted (it->from_prediction, plan.c
 * take_predicted), resolved again now from what was applied: when its spec still equals the
 * recorded one it stays a no-op (it->outputs: the recorded outputs, for its own dependents);
 * otherwise a prediction was wrong, and it becomes an update with the changed fields. A resolution
 * error also makes it an update: the normal path reports the error. */
static void recheck_prediction(struct plan *p, struct plan_item *it, const struct engine_opts *o)
{
	if (it->action != ACT_NOOP || !it->from_prediction || !it->res || !it->row || !it->row->spec)
		return;
	struct diags errs = DIAGS_INIT;
	int rc = item_resolve(p, it, true, &errs);
	diags_release(&errs);
	json_t *prior = json_loads(it->row->spec, 0, NULL);
	if (!rc && prior && json_equal(prior, it->desired)) {
		json_decref(prior);
		json_decref(it->outputs);
		it->outputs = it->row->outputs ? json_loads(it->row->outputs, 0, NULL) : NULL;
		if (!it->outputs)
			it->outputs = json_object();
		return;
	}
	json_decref(prior);
	it->action = ACT_UPDATE;
	engine_logf(o->observer, CRATIS_LOG_WARN, it->id,
	            "planned as no-op from outputs predicted at plan time, which came back different: updating");
}

static int run_item(struct exec *x, struct plan_item *it, bool *unchanged);
static void finish(struct exec *x, size_t i, enum item_state s);

/* What call.apply_now of one item's call works with. */
struct now_ctx {
	struct exec *x;
	struct plan_item *caller;
};

/* call.apply_now (registry.h): apply item id of the caller's project now, on this thread. An item
 * a worker is running is waited for; one already applied in this run gives its outcome; one
 * waiting (or a no-op) is claimed and applied here, once every dependency other than the caller
 * succeeded. */
static int apply_now(void *payload, const char *id, char **detail)
{
	struct now_ctx *nc = payload;
	struct exec *x = nc->x;
	struct plan *p = x->p;
	size_t self = (size_t)(nc->caller - p->items), i = p->n;
	*detail = NULL;
	for (size_t k = 0; k < p->n && i == p->n; k++)
		if (p->items[k].res && !strcmp(p->items[k].id, id) && !strcmp(p->items[k].project, nc->caller->project))
			i = k;
	if (i == p->n)
		return error_set(CRATIS_ENOTFOUND, "%s is not part of this apply (not in project '%s' in environment '%s', or left out by -target)",
		                 id, nc->caller->project, p->environment);
	if (i == self)
		return error_set(CRATIS_EINVAL, "%s cannot apply itself", id);
	struct plan_item *it = &p->items[i];
	pthread_mutex_lock(&x->mu);
	while (x->started_ms[i])
		pthread_cond_wait(&x->cv, &x->mu); /* a worker (or another hook) is applying it */
	enum item_state st = x->st[i];
	if (x->ran[i] || st == ST_FAILED || st == ST_SKIPPED || st == ST_INTERRUPTED) {
		pthread_mutex_unlock(&x->mu);
		if (st == ST_OK) {
			*detail = xasprintf("%s was applied earlier in this run", id);
			return CRATIS_OK;
		}
		return error_set(CRATIS_ERROR, "%s did not succeed earlier in this run", id);
	}
	for (size_t k = 0; k < it->ndeps; k++) {
		size_t d = it->deps[k];
		if (d != self && x->st[d] != ST_OK) {
			pthread_mutex_unlock(&x->mu);
			return error_set(CRATIS_ERROR, "%s depends on %s, which has not been applied yet (list %s in %s's dependsOn)",
			                 id, p->items[d].id, p->items[d].id, nc->caller->id);
		}
	}
	bool was_done = st == ST_OK; /* a no-op: applied again, as a Task hook runs again */
	x->claimed[i] = x->ran[i] = true;
	x->st[i] = ST_RUNNING;
	x->started_ms[i] = now_ms();
	pthread_mutex_unlock(&x->mu);
	if (it->action == ACT_NOOP)
		it->action = ACT_UPDATE;
	bool unchanged = false;
	int rc = run_item(x, it, &unchanged);
	char *keep = rc ? xstrdup(cratis_error_last()->message) : NULL;
	pthread_mutex_lock(&x->mu);
	if (!was_done) {
		finish(x, i, unchanged ? ST_UNCHANGED : !rc ? ST_OK : cancelled(x->o) ? ST_INTERRUPTED : ST_FAILED);
	} else {
		x->started_ms[i] = 0;
		x->st[i] = rc ? ST_FAILED : ST_OK;
		if (rc)
			x->res.failed++;
		else
			x->res.ok++;
	}
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	if (rc) {
		error_set(rc, "%s", keep);
		free(keep);
		return rc;
	}
	char *outs = it->outputs ? json_text(it->outputs) : NULL;
	*detail = xasprintf("%s %s%s%s", id, unchanged ? "unchanged" : "applied", outs ? ": outputs " : "", outs ? outs : "");
	free(outs);
	return CRATIS_OK;
}

/* A child of a Rollout (its row projected from a release row, store_children). Update: repair a
 * child Service that drifted (its release process exited, lost its port): the Service handler
 * applies the release's recorded spec in the release's own directory, which starts the same
 * release again on its port; no new release, and the owner is not called. Delete (its Rollout
 * goes): the Route stops routing, then each release process stops, before the Rollout's own
 * destroy retires the release rows (which removes the children from state, in the transaction
 * that retires them). Only the history step is written here. */
static int run_child(struct exec *x, struct plan_item *it)
{
	const char *env = x->p->environment;
	char started[32], finished[32];
	now_rfc3339(started);
	int64_t t0 = now_ms();
	engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_STARTED, .resource = it->id,
	                                                     .action = it->action, .deployment = x->deployment });
	struct cratis_request req;
	char *name = NULL, *dir = NULL, *cspec = NULL;
	json_t *out = NULL;
	struct call c;
	call_init(&c, it->id);
	c.observer = x->o->observer;
	c.cancel = x->o->cancel;
	c.grace_ms = x->o->grace_ms;
	int rc = child_request(&req, it, env, x->o, &name, &dir, &cspec);

	if (!rc && it->action == ACT_DELETE)
		req.spec = NULL;
	if (!rc)
		rc = handler_call(it->handler, it->action == ACT_DELETE ? OP_DESTROY : OP_APPLY, &req, &c, &out);
	now_rfc3339(finished);
	char *msg = rc ? xstrdup(cratis_error_last()->message) : NULL;
	bool interrupted = rc && cancelled(x->o);
	struct step stp = { .resource = it->id, .action = (char *)action_names[it->action], .started = started,
	                    .finished = finished, .result = interrupted ? "interrupted" : rc ? "failed" : "ok", .message = msg };
	/* resource.changed or .failed, as for any resource, with its owner */
	struct unit_events ue = { .n = 0 };
	json_t *d = json_pack("{s:s,s:s,s:s,s:I,s:s}", "action", action_names[it->action], "resource", it->id, "project",
	                      it->project, "deployment", (json_int_t)x->deployment, "owner", it->row->owner);
	if (rc)
		json_object_set_new(d, "error", json_string(msg));
	ue_add(&ue, it->project, env, rc ? "resource.failed" : "resource.changed", true, it->id, d);
	struct store_unit u = { .environment = env, .change = STORE_CHANGE_NONE, .step = &stp, .deployment = x->deployment,
	                        .events = ue.v, .nevents = ue.n };
	int src = store_commit(x->s, &u);
	ue_release(&ue);
	if (src && !rc) {
		atomic_store(&x->store_failed, true);
		msg = xstrdup(cratis_error_last()->message);
		rc = src;
	}
	if (rc)
		error_set(rc, "%s", msg);
	struct engine_event ev = { .type = !rc ? EV_RESOURCE_FINISHED : interrupted ? EV_RESOURCE_INTERRUPTED : EV_RESOURCE_FAILED,
	                           .resource = it->id, .action = it->action, .elapsed_ms = now_ms() - t0,
	                           .deployment = x->deployment, .message = rc ? msg : NULL };
	engine_emit(x->o->observer, &ev);
	if (rc)
		error_set(rc, "%s", msg);
	free(msg);
	json_decref(out);
	call_release(&c);
	free(name);
	free(dir);
	free(cspec);
	return rc;
}

/* Run one item's plugin calls and record the outcome. Returns CRATIS_OK or a status; *unchanged
 * is set when it turned out to need no change (unchanged_once_known: nothing called or recorded). */
static int run_item(struct exec *x, struct plan_item *it, bool *unchanged)
{
	struct plan *p = x->p;
	const char *env = p->environment;
	recheck_prediction(p, it, x->o);
	*unchanged = unchanged_once_known(p, it);
	if (*unchanged && it->action == ACT_NOOP)
		return CRATIS_OK; /* as planned */
	if (*unchanged) {
		engine_logf(x->o->observer, CRATIS_LOG_INFO, it->id, "no change: its inputs, known now, are those of the last apply (%s skipped)",
		            action_names[it->action]);
		return CRATIS_OK;
	}
	if (it->row && it->row->owner)
		return run_child(x, it);
	char started[32], finished[32];
	now_rfc3339(started);
	int64_t t0 = now_ms();
	engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_STARTED, .resource = it->id,
	                                                     .action = it->action, .deployment = x->deployment });
	struct cratis_request req;
	item_request(&req, it, env, x->o);
	char *statedir = NULL;
	int src_dir = item_statedir(&statedir, x->o, env, it->project, it->id);
	/* a delete settles an interrupted first apply through the plugin too: what it started (a
	 * process, a file) is removed, not just forgotten */
	char *prior = NULL;
	plugin_prior(p, it, it->action == ACT_DELETE, &prior, NULL);
	char *spec = NULL, *deps = NULL;
	json_t *out = NULL;
	struct call c;
	call_init(&c, it->id);
	/* the plugin alone gets secret and sensitive values; state keeps their redacted form, and
	 * what the plugin says back (lines, events, errors) is scrubbed of them */
	struct scrubbing scr = { { scrub_event, &scr }, x->o->observer, p->secrets };
	c.observer = p->secrets ? &scr.self : x->o->observer;
	c.cancel = x->o->cancel;
	c.grace_ms = x->o->grace_ms;
	struct secret_ctx csc;
	call_use_secrets(&c, &csc, p, it);
	struct now_ctx nctx = { x, it };
	c.apply_now = apply_now;
	c.apply_now_payload = &nctx;
	req.statedir = statedir;
	int rc = src_dir;
	if (rc)
		goto out_record;
	if (!it->handler) {
		rc = error_set(CRATIS_ENOTFOUND, "no plugin handles %s", it->row ? it->row->api_version : it->id);
		goto out_record;
	}
	if (it->action == ACT_DELETE) {
		req.prior = prior;
		if (prior) {
			/* pending before the plugin destroys anything: a run killed between the destroy and
			 * its record leaves a row the next plan re-applies, not one that says "ready" for
			 * something that is gone */
			struct state_row pending = { .project = it->project, .id = it->id, .api_version = it->row->api_version,
			                             .pending_spec = it->row->spec ? it->row->spec : it->row->pending_spec,
			                             .deps = it->row->deps, .deployment = x->deployment };
			if ((rc = store_mark_pending(x->s, env, &pending))) {
				atomic_store(&x->store_failed, true);
				goto out_record;
			}
			rc = handler_call(it->handler, OP_DESTROY, &req, &c, &out);
		}
		goto out_record;
	}
	struct diags errs = DIAGS_INIT;
	rc = item_resolve(p, it, true, &errs);
	if (rc) {
		struct buf t = BUF_INIT;
		diag_format(&errs.v[0], &t);
		error_set(rc, "%s", t.ptr);
		buf_release(&t);
		diags_release(&errs);
		goto out_record;
	}
	diags_release(&errs);
	spec = json_text(it->desired);
	json_t *dj = deps_json(it);
	deps = json_text(dj);
	json_decref(dj);
	struct state_row pending = { .project = it->project, .id = it->id, .api_version = it->res->api_version,
	                             .pending_spec = spec, .deps = deps, .deployment = x->deployment };
	if ((rc = store_mark_pending(x->s, env, &pending))) {
		/* nothing was called: say so, and start nothing new */
		char *why = xstrdup(cratis_error_last()->message);
		atomic_store(&x->store_failed, true);
		rc = error_set(rc, "not started: it could not be marked pending: %s", why);
		free(why);
		engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_FAILED, .resource = it->id,
		                                                     .action = it->action, .elapsed_ms = now_ms() - t0,
		                                                     .deployment = x->deployment,
		                                                     .message = cratis_error_last()->message });
		goto out_free;
	}
	if (it->action == ACT_REPLACE && prior) {
		req.prior = prior;
		rc = handler_call(it->handler, OP_DESTROY, &req, &c, &out);
		json_decref(out);
		out = NULL;
		if (rc)
			goto out_record;
		req.prior = NULL;
	} else {
		req.prior = prior;
	}
	char *sent = it->request ? json_text(it->request) : NULL;
	req.spec = sent ? sent : spec;
	rc = handler_call(it->handler, OP_APPLY, &req, &c, &out);
	free_wiped(sent);
	if (!rc)
		rc = seal_outputs(p, it, out);
out_record:
	if (rc && p->secrets)
		scrub_error(p->secrets);
	c.observer = x->o->observer;
	now_rfc3339(finished);
	{
		struct step stp = { .resource = it->id, .action = (char *)action_names[it->action],
		                    .started = started, .finished = finished };
		int src;
		/* the outcome's events go into the unit that records it: resource.changed or .failed
		 * (never a value: only the action, the address and the error), then the plugin's own */
		struct unit_events ue = { .n = 0 };
		{
			json_t *d = json_pack("{s:s,s:s,s:s,s:I}", "action", action_names[it->action], "resource", it->id,
			                      "project", it->project, "deployment", (json_int_t)x->deployment);
			if (rc)
				json_object_set_new(d, "error", json_string(cratis_error_last()->message));
			ue_add(&ue, it->project, env, rc ? "resource.failed" : "resource.changed", true, it->id, d);
			size_t k;
			json_t *pe;
			json_array_foreach(c.events, k, pe) {
				const char *t = json_string_value(json_object_get(pe, "type"));
				json_t *pd = json_object_get(pe, "data");
				pd = pd && !json_is_null(pd) ? json_incref(pd) : NULL;
				/* what a plugin says back is scrubbed of the values it was given */
				char *text = pd && p->secrets ? json_dumps(pd, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
				char *clean = text ? secret_store_scrub(p->secrets, text) : NULL;
				if (clean) {
					json_decref(pd);
					pd = json_loads(clean, JSON_DECODE_ANY, NULL);
					if (!pd)
						pd = json_pack("{s:s}", "redacted", SECRET_REDACTED);
				}
				free_wiped(clean);
				free_wiped(text);
				if (t && !ue_add(&ue, it->project, env, t, false, it->id, pd))
					break;
			}
		}
		if (!rc && it->action == ACT_DELETE) {
			stp.result = "ok";
			struct state_row dr = { .project = it->project, .id = it->id };
			struct store_unit u = { .environment = env, .change = STORE_CHANGE_REMOVE, .row = &dr, .step = &stp,
			                        .deployment = x->deployment, .events = ue.v, .nevents = ue.n };
			src = store_commit(x->s, &u);
		} else {
			json_t *outputs = json_object_get(out, "outputs");
			char *otext = outputs ? json_text(outputs) : xstrdup("{}");
			struct state_row r = { .project = it->project, .id = it->id,
			                       .api_version = it->res ? it->res->api_version : it->row->api_version,
			                       .spec = spec, .pending_spec = spec ? spec : (it->row ? it->row->spec : NULL),
			                       .outputs = otext, .deps = deps ? deps : (it->row ? it->row->deps : NULL),
			                       .status = rc ? "failed" : "ready",
			                       .message = rc ? (char *)cratis_error_last()->message : NULL };
			bool interrupted = rc && cancelled(x->o);
			stp.result = interrupted ? "interrupted" : rc ? "failed" : "ok";
			stp.message = r.message;
			char *keep = rc ? xstrdup(cratis_error_last()->message) : NULL;
			struct store_unit u = { .environment = env, .change = STORE_CHANGE_RECORD, .row = &r, .step = &stp,
			                        .deployment = x->deployment, .events = ue.v, .nevents = ue.n };
			src = store_commit(x->s, &u);
			if (!rc) {
				json_decref(it->outputs);
				it->outputs = outputs ? json_incref(outputs) : json_object();
			} else {
				error_set(rc, "%s", keep);
			}
			free(keep);
			free(otext);
		}
		ue_release(&ue);
		if (src) {
			/* the plugin was called, its outcome is not in state: the row stays pending (or as
			 * it was), which the next run settles as it does after a kill -9 */
			char *why = xstrdup(cratis_error_last()->message);
			atomic_store(&x->store_failed, true);
			pthread_mutex_lock(&x->mu);
			buf_addf(&x->unrecorded, "%s%s (%s %s)", x->unrecorded.len ? ", " : "", it->id, action_names[it->action],
			         rc ? "failed" : "done");
			pthread_mutex_unlock(&x->mu);
			rc = error_set(src, "the %s %s, but its outcome could not be recorded: %s", action_names[it->action],
			               rc ? "failed" : "succeeded", why);
			free(why);
		}
	}
	{
		struct engine_event ev = { .type = !rc ? EV_RESOURCE_FINISHED : cancelled(x->o) ? EV_RESOURCE_INTERRUPTED : EV_RESOURCE_FAILED,
		                           .resource = it->id, .action = it->action, .elapsed_ms = now_ms() - t0,
		                           .deployment = x->deployment, .message = rc ? cratis_error_last()->message : NULL };
		engine_emit(x->o->observer, &ev);
	}
out_free:
	json_decref(out);
	call_release(&c);
	free(statedir);
	free_wiped(prior);
	free(spec);
	free(deps);
	return rc;
}

/* Under x->mu: item i finished with state s; release or skip its dependents. */
static void finish(struct exec *x, size_t i, enum item_state s)
{
	x->st[i] = s;
	x->done++;
	if (s == ST_OK)
		x->res.ok++;
	else if (s == ST_FAILED)
		x->res.failed++;
	else if (s == ST_SKIPPED)
		x->res.skipped++;
	else if (s == ST_INTERRUPTED)
		x->res.interrupted++;
	if (s == ST_UNCHANGED)
		s = x->st[i] = ST_OK; /* counts neither as ok nor failed, releases its dependents */
	x->started_ms[i] = 0;
	for (size_t k = 0; k < x->ndependents[i]; k++) {
		size_t d = x->dependents[i][k];
		if (x->st[d] != ST_WAIT)
			continue;
		if (s != ST_OK) {
			char *why = xasprintf("skipped because %s did not succeed", x->p->items[i].id);
			engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_SKIPPED, .resource = x->p->items[d].id,
			                                                     .action = x->p->items[d].action,
			                                                     .deployment = x->deployment, .message = why });
			free(why);
			finish(x, d, ST_SKIPPED);
		} else if (--x->remaining[d] == 0) {
			x->st[d] = ST_RUNNING;
			x->queue[x->qtail++] = d;
		}
	}
}

static void *worker(void *arg)
{
	struct exec *x = arg;
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (x->qhead == x->qtail && x->done < x->total)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->qhead == x->qtail)
			break;
		size_t i = x->queue[x->qhead++];
		if (x->claimed[i])
			continue; /* a hook applies it (apply_now), and finishes it */
		bool lost = atomic_load(&x->store_failed);
		if (cancelled(x->o) || lost) {
			/* start nothing new: what has not started stays as it was recorded */
			engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_SKIPPED, .resource = x->p->items[i].id,
			                                                     .action = x->p->items[i].action,
			                                                     .deployment = x->deployment,
			                                                     .message = lost ? "not started: the state store failed" : "cancelled" });
			finish(x, i, ST_SKIPPED);
			pthread_cond_broadcast(&x->cv);
			continue;
		}
		x->started_ms[i] = now_ms();
		x->ran[i] = true;
		pthread_mutex_unlock(&x->mu);
		bool unchanged = false;
		int rc = run_item(x, &x->p->items[i], &unchanged);
		pthread_mutex_lock(&x->mu);
		finish(x, i, unchanged ? ST_UNCHANGED : !rc ? ST_OK : cancelled(x->o) ? ST_INTERRUPTED : ST_FAILED);
		pthread_cond_broadcast(&x->cv);
	}
	pthread_mutex_unlock(&x->mu);
	error_clear(); /* the thread's last-error buffer dies with the thread */
	return NULL;
}

/* On the calling thread while workers run: report items still running every STILL_RUNNING_MS,
 * until every item is done. */
static void monitor(struct exec *x)
{
	pthread_mutex_lock(&x->mu);
	while (x->done < x->total) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&x->cv, &x->mu, &ts);
		int64_t now = now_ms();
		for (size_t i = 0; i < x->total; i++) {
			if (x->st[i] != ST_RUNNING || !x->started_ms[i])
				continue;
			int64_t periods = (now - x->started_ms[i]) / STILL_RUNNING_MS;
			if (periods > x->reported[i]) {
				x->reported[i] = periods;
				engine_emit(x->o->observer, &(struct engine_event){ .type = EV_RESOURCE_RUNNING, .resource = x->p->items[i].id,
				                                                     .action = x->p->items[i].action,
				                                                     .elapsed_ms = now - x->started_ms[i],
				                                                     .deployment = x->deployment });
			}
		}
	}
	pthread_mutex_unlock(&x->mu);
}

/* What deployment.started says besides its deployment id, which the store allocates in the
 * transaction that writes the event (started_data). */
struct started_info {
	const char *environment, *project, *who, *command;
};

static char *started_data(const struct store_emit_info *info, size_t i, void *payload)
{
	(void)i;
	const struct started_info *si = payload;
	json_t *d = json_pack("{s:I,s:s?,s:s?,s:s,s:s?}", "deployment", (json_int_t)info->deployment, "environment",
	                      si->environment, "project", si->project, "who", si->who, "command", si->command);
	char *text = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	return text;
}

int engine_deployment_begin(struct store *s, struct deployment *d)
{
	char who[256];
	snprintf(who, sizeof(who), "%s@%s", d->user ? d->user : "", d->host ? d->host : "");
	struct unit_events ue = { .n = 0 };
	ue_add(&ue, d->project, d->environment, "deployment.started", true, NULL, NULL);
	struct started_info si = { .environment = d->environment, .project = d->project, .who = who, .command = d->command };
	int rc = store_deployment_begin_ev(s, d, &(struct store_emits){ .events = ue.v, .n = ue.n, .data_for = started_data,
	                                                                 .payload = &si });
	ue_release(&ue);
	return rc;
}

int engine_deployment_finish(struct store *s, struct deployment *d, const struct apply_result *counts)
{
	char who[256];
	snprintf(who, sizeof(who), "%s@%s", d->user ? d->user : "", d->host ? d->host : "");
	json_t *data = json_pack("{s:I,s:s?,s:s?,s:s,s:s?,s:s?}", "deployment", (json_int_t)d->id, "environment", d->environment,
	                         "project", d->project, "who", who, "command", d->command, "result", d->result);
	if (counts)
		json_object_set_new(data, "counts", json_pack("{s:I,s:I,s:I,s:I}", "succeeded", (json_int_t)counts->ok, "failed",
		                                              (json_int_t)counts->failed, "skipped", (json_int_t)counts->skipped,
		                                              "interrupted", (json_int_t)counts->interrupted));
	else if (d->summary)
		json_object_set_new(data, "summary", json_string(d->summary));
	struct unit_events ue = { .n = 0 };
	ue_add(&ue, d->project, d->environment, "deployment.finished", true, NULL, data);
	int rc = store_deployment_finish_ev(s, d, &(struct store_emits){ .events = ue.v, .n = ue.n });
	ue_release(&ue);
	return rc;
}

int plan_apply(struct plan *p, struct store *s, const struct engine_opts *o, const char *command,
               const char *project, const char *inputs, struct apply_result *res)
{
	struct exec x = { .p = p, .s = s, .o = o, .total = p->n, .unrecorded = BUF_INIT };
	atomic_init(&x.store_failed, false);
	memset(res, 0, sizeof(*res));
	char started[32], finished[32];
	now_rfc3339(started);
	struct deployment d = { .project = (char *)project, .environment = (char *)p->environment,
	                        .command = (char *)command, .user = (char *)user_name(),
	                        .host = (char *)host_name(), .started = started, .inputs = (char *)inputs };
	int rc = engine_deployment_begin(s, &d);
	if (rc)
		return rc;
	x.deployment = d.id;
	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	x.st = xcalloc(p->n + 1, sizeof(*x.st));
	x.remaining = xcalloc(p->n + 1, sizeof(size_t));
	x.dependents = xcalloc(p->n + 1, sizeof(size_t *));
	x.ndependents = xcalloc(p->n + 1, sizeof(size_t));
	x.adependents = xcalloc(p->n + 1, sizeof(size_t));
	x.queue = xcalloc(p->n + 1, sizeof(size_t));
	x.started_ms = xcalloc(p->n + 1, sizeof(int64_t));
	x.reported = xcalloc(p->n + 1, sizeof(int64_t));
	x.claimed = xcalloc(p->n + 1, sizeof(bool));
	x.ran = xcalloc(p->n + 1, sizeof(bool));
	engine_emit(o->observer, &(struct engine_event){ .type = EV_DEPLOYMENT_STARTED, .deployment = d.id,
	                                                  .message = p->environment });
	for (size_t i = 0; i < p->n; i++) {
		struct plan_item *it = &p->items[i];
		x.remaining[i] = it->ndeps;
		for (size_t k = 0; k < it->ndeps; k++) {
			size_t dep = it->deps[k];
			ALLOC_GROW(x.dependents[dep], x.ndependents[dep] + 1, x.adependents[dep]);
			x.dependents[dep][x.ndependents[dep]++] = i;
		}
	}
	pthread_mutex_lock(&x.mu);
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].action == ACT_NOOP && !p->items[i].from_prediction && x.st[i] == ST_WAIT) {
			x.st[i] = ST_RUNNING;
			x.done++;
			x.st[i] = ST_OK;
			/* an unchanged resource counts neither as ok nor failed */
			for (size_t k = 0; k < x.ndependents[i]; k++)
				x.remaining[x.dependents[i][k]]--;
		}
	for (size_t i = 0; i < p->n; i++)
		if (x.st[i] == ST_WAIT && x.remaining[i] == 0) {
			x.st[i] = ST_RUNNING;
			x.queue[x.qtail++] = i;
		}
	pthread_mutex_unlock(&x.mu);
	int jobs = o->jobs > 0 ? o->jobs : 1;
	pthread_t *th = xcalloc((size_t)jobs, sizeof(pthread_t));
	int started_threads = 0;
	for (int j = 0; j < jobs; j++) {
		int e = pthread_create(&th[started_threads], NULL, worker, &x);
		if (e) {
			engine_logf(o->observer, CRATIS_LOG_WARN, NULL, "cannot start worker thread %d of %d: %s", j + 1, jobs, strerror(e));
			continue;
		}
		started_threads++;
	}
	if (!started_threads) {
		worker(&x); /* no thread could be started: run everything on this one */
	} else {
		monitor(&x);
		for (int j = 0; j < started_threads; j++)
			pthread_join(th[j], NULL);
	}
	free(th);
	*res = x.res;
	res->deployment = d.id;
	now_rfc3339(finished);
	d.finished = finished;
	bool was_cancelled = cancelled(o);
	d.result = was_cancelled ? "interrupted" : x.res.failed || x.res.skipped ? "failed" : "succeeded";
	char *summary = x.res.interrupted || was_cancelled
	                        ? xasprintf("%zu succeeded, %zu failed, %zu skipped, %zu interrupted", x.res.ok, x.res.failed,
	                                    x.res.skipped, x.res.interrupted)
	                        : xasprintf("%zu succeeded, %zu failed, %zu skipped", x.res.ok, x.res.failed, x.res.skipped);
	d.summary = summary;
	if (x.unrecorded.len) {
		char *m = xasprintf("the state store failed during the run, so nothing new was started; these outcomes could not be "
		                    "recorded: %s; the next apply settles them", x.unrecorded.ptr);
		engine_emit(o->observer, &(struct engine_event){ .type = EV_WARNING, .deployment = d.id, .message = m });
		free(m);
	}
	int frc = engine_deployment_finish(s, &d, &x.res);
	engine_emit(o->observer, &(struct engine_event){ .type = EV_DEPLOYMENT_FINISHED, .deployment = d.id,
	                                                  .message = d.result, .counts = res });
	free(summary);
	for (size_t i = 0; i < p->n; i++)
		free(x.dependents[i]);
	free(x.dependents);
	free(x.ndependents);
	free(x.adependents);
	free(x.st);
	free(x.remaining);
	free(x.queue);
	free(x.started_ms);
	free(x.reported);
	free(x.claimed);
	free(x.ran);
	buf_release(&x.unrecorded);
	pthread_cond_destroy(&x.cv);
	pthread_mutex_destroy(&x.mu);
	if (frc)
		return frc;
	return x.res.failed || x.res.skipped || x.res.interrupted || was_cancelled ? CRATIS_ERROR : CRATIS_OK;
}
