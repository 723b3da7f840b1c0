/* Application layer: experiments (`cratis experiment status|run|conclude|abort`): pick the
 * Experiment of the open environment, take the environment's lock for what writes, and drive the
 * controller (src/experiment/experiment.h). Never prints. */
#define _GNU_SOURCE
#include "app_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiment/experiment.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* The Experiment resource called name (NULL: the only one) of the model. */
static int pick_experiment(struct app *a, const char *name, struct resource **out, struct diags *d)
{
	size_t n = 0;
	*out = NULL;
	struct buf all = BUF_INIT;
	const char **cands = xcalloc(a->model.nresources + 1, sizeof(*cands));
	for (size_t i = 0; i < a->model.nresources; i++) {
		struct resource *r = a->model.resources[i];
		if (strcmp(r->group, CORE_GROUP) || strcmp(r->kind, "Experiment"))
			continue;
		cands[n++] = r->name;
		buf_addf(&all, "%s%s", all.len ? ", " : "", r->name);
		if (!name ? !*out : !strcmp(r->name, name))
			*out = r;
	}
	int rc = CRATIS_OK;
	if (name && !*out) {
		struct diag *dg = diags_errorf(d, CRATIS_ENOTFOUND, "no Experiment '%s' in the manifests", name);
		const char *best = model_suggest(name, cands, n);
		if (best)
			diag_hint(dg, "did you mean '%s'?", best);
		else
			diag_hint(dg, "the Experiments defined: %s", all.len ? all.ptr : "none");
		rc = CRATIS_ENOTFOUND;
	} else if (!n) {
		rc = CRATIS_ENOTFOUND;
		diags_errorf(d, rc, "the manifests define no Experiment (kind Experiment, apiVersion cratis/v1)");
	} else if (!name && n > 1) {
		rc = CRATIS_EINVAL;
		struct diag *dg = diags_errorf(d, rc, "several Experiments are defined; name one");
		diag_hint(dg, "the Experiments defined: %s", all.ptr);
	}
	buf_release(&all);
	free(cands);
	return rc;
}

/* What the controller needs for experiment r: its recorded spec (*spec, heap) and statedir. */
static int target_of(struct app *a, struct resource *r, struct experiment_target *t, char **spec, char **statedir,
                     bool need_spec, struct diags *d)
{
	*spec = *statedir = NULL;
	struct state_rows rows;
	if (store_list(a->store, a->model.env_name, r->project, &rows))
		return diags_add_last_error(d);
	struct state_row *row = store_rows_find(&rows, r->project, r->id);
	if (row && row->spec)
		*spec = xstrdup(row->spec);
	store_rows_release(&rows);
	if (!*spec && need_spec) {
		diags_errorf(d, CRATIS_ENOTFOUND, "experiment '%s' has not been applied in environment '%s'", r->name, a->model.env_name);
		return CRATIS_ENOTFOUND;
	}
	if (engine_statedir(statedir, a->state_dir, a->model.env_name, r->project, r->id))
		return diags_add_last_error(d);
	*t = (struct experiment_target){ r->project, a->model.env_name, r->name, *spec, a->project_dir, *statedir };
	return CRATIS_OK;
}

int app_experiment_status(struct app *a, const char *name, json_t **out, struct diags *d)
{
	*out = NULL;
	struct resource *r;
	int rc = pick_experiment(a, name, &r, d);
	if (rc)
		return rc;
	struct experiment_target t;
	char *spec, *statedir;
	if (!(rc = target_of(a, r, &t, &spec, &statedir, false, d)) && (rc = experiment_status(a->store, &t, out)))
		rc = diags_add_last_error(d);
	free(spec);
	free(statedir);
	return rc;
}

/* Run fn under the environment's lock, recorded as a deployment of its own ("experiment
 * conclude checkout"), as rollout actions are. */
static int steer(struct app *a, const char *name, const char *verb, const char *winner, json_t **out, struct diags *d)
{
	*out = NULL;
	struct resource *r;
	int rc = pick_experiment(a, name, &r, d);
	if (rc)
		return rc;
	struct run_lock me;
	if ((rc = app_lock_take(a, &me, d)))
		return rc;
	struct experiment_target t;
	char *spec = NULL, *statedir = NULL;
	if ((rc = target_of(a, r, &t, &spec, &statedir, true, d)))
		goto out_unlock;
	char started[32];
	now_rfc3339(started);
	struct deployment dep = { .project = r->project, .environment = (char *)a->model.env_name,
	                          .command = (char *)or_empty(a->o.command_line), .user = (char *)user_name(),
	                          .host = (char *)host_name(), .started = started };
	if (engine_deployment_begin(a->store, &dep)) {
		rc = diags_add_last_error(d);
		goto out_unlock;
	}
	engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_STARTED, .deployment = dep.id,
	                                                   .message = a->model.env_name });
	rc = !strcmp(verb, "abort") ? experiment_abort(&a->rollout, &t) : experiment_conclude(&a->rollout, &t, winner);
	int erc = rc ? cratis_error_last()->status : 0;
	char *emsg = rc ? xstrdup(cratis_error_last()->message) : NULL;
	char finished[32];
	now_rfc3339(finished);
	char *summary = rc ? xasprintf("experiment %s %s failed: %s", verb, r->name, emsg) : xasprintf("experiment %s %s", verb, r->name);
	dep.finished = finished;
	dep.result = rc ? "failed" : "succeeded";
	dep.summary = summary;
	if (engine_deployment_finish(a->store, &dep, NULL) && !rc)
		rc = diags_add_last_error(d);
	engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_FINISHED, .deployment = dep.id,
	                                                   .message = dep.result });
	free(summary);
	if (emsg) {
		diags_errorf(d, erc ? erc : CRATIS_ERROR, "experiment %s: %s", verb, emsg);
		rc = erc ? erc : CRATIS_ERROR;
	}
	free(emsg);
	if (!rc && experiment_status(a->store, &t, out))
		rc = diags_add_last_error(d);
out_unlock:
	if (app_lock_release(a, &me, d) && !rc)
		rc = CRATIS_ERROR;
	free(spec);
	free(statedir);
	return rc;
}

int app_experiment_conclude(struct app *a, const char *name, const char *winner, json_t **out, struct diags *d)
{
	return steer(a, name, "conclude", winner, out, d);
}

int app_experiment_abort(struct app *a, const char *name, json_t **out, struct diags *d)
{
	return steer(a, name, "abort", NULL, out, d);
}

int app_experiment_run(struct app *a, const char *name, int interval_ms, const atomic_int *cancel,
                       const struct engine_observer *observer, json_t **out, struct diags *d)
{
	*out = NULL;
	struct resource *r;
	int rc = pick_experiment(a, name, &r, d);
	if (rc)
		return rc;
	struct experiment_target t;
	char *spec = NULL, *statedir = NULL;
	if ((rc = target_of(a, r, &t, &spec, &statedir, true, d))) {
		free(spec);
		free(statedir);
		return rc;
	}
	if (interval_ms < 100)
		interval_ms = 100;
	struct rollout_env env = a->rollout;
	env.observer = observer;
	env.cancel = cancel;
	struct experiment_runner *run = experiment_runner_new(&env, &t);
	int conflicts = 0;
	for (;;) {
		if (cancel && atomic_load(cancel))
			break;
		struct diags td = DIAGS_INIT; /* this tick's problems: kept only when the loop ends on them */
		struct run_lock me;
		bool done = false;
		json_t *st = NULL;
		rc = app_lock_take(a, &me, &td);
		if (rc == CRATIS_ELOCKED) {
			/* another run (an apply) holds the environment: skip this tick, not the loop */
			engine_logf(observer, CRATIS_LOG_WARN, NULL, "experiment %s: the environment is locked by another run; next tick in %d ms",
			            r->name, interval_ms);
			rc = CRATIS_OK;
		} else if (!rc) {
			rc = experiment_tick(run, &done, &st);
			if (rc)
				rc = diags_add_last_error(&td);
			if (app_lock_release(a, &me, &td) && !rc)
				rc = CRATIS_ERROR;
		}
		if (st) {
			json_decref(*out);
			*out = st;
			engine_logf(observer, CRATIS_LOG_INFO, NULL, "experiment %s: %s, verdict %s, %.0fs", r->name,
			            json_string_value(json_object_get(st, "status")),
			            json_is_string(json_object_get(st, "verdict")) ? json_string_value(json_object_get(st, "verdict")) : "-",
			            json_number_value(json_object_get(st, "elapsedSeconds")));
		}
		if (rc == CRATIS_EEXISTS && ++conflicts < 10) {
			diags_release(&td); /* another writer changed the record: read it again at once */
			rc = CRATIS_OK;
			continue;
		}
		if (rc || done) {
			diags_move(d, &td);
			diags_release(&td);
			break;
		}
		diags_release(&td);
		conflicts = 0;
		for (int waited = 0; waited < interval_ms && !(cancel && atomic_load(cancel)); waited += 50) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	experiment_runner_free(run);
	free(spec);
	free(statedir);
	return rc;
}

int app_experiments_list(struct app *a, json_t **out, struct diags *d)
{
	*out = NULL;
	struct records recs;
	if (store_records(a->store, EXPERIMENT_RECORD_KIND, NULL, &recs)) {
		store_records_release(&recs);
		return diags_add_last_error(d);
	}
	json_t *list = json_array();
	for (size_t i = 0; i < recs.n; i++) {
		const struct record *rec = &recs.v[i];
		const char *slash = rec->scope ? strchr(rec->scope, '/') : NULL; /* scope "ENV/PROJECT" */
		json_t *b = rec->body ? json_loads(rec->body, 0, NULL) : NULL;
		if (!slash || !json_is_object(b)) {
			json_decref(b);
			continue;
		}
		char *env = xstrndup(rec->scope, (size_t)(slash - rec->scope));
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:s}", "project", slash + 1,
		                                      "environment", env, "name", rec->name, "rollout", json_object_get(b, "rollout"),
		                                      "status", json_object_get(b, "status"), "verdict", json_object_get(b, "verdict"),
		                                      "winner", json_object_get(b, "winner"), "control", json_object_get(b, "control"),
		                                      "started", json_object_get(b, "started"), "updated", or_empty(rec->updated)));
		free(env);
		json_decref(b);
	}
	store_records_release(&recs);
	*out = list;
	return CRATIS_OK;
}

int app_experiment_get(struct app *a, const char *project, const char *environment, const char *name, json_t **out,
                       struct diags *d)
{
	*out = NULL;
	struct experiment_target t = { project, environment, name, NULL, a->project_dir, NULL };
	if (experiment_status(a->store, &t, out))
		return diags_add_last_error(d);
	return CRATIS_OK;
}

/* ---- upkeep between commands (cratis serve's scheduler) ---- */

static bool active_status(const char *st)
{
	return st && (!strcmp(st, "running") || !strcmp(st, "concluding"));
}

int app_upkeep_due(struct app *a, const char *env, size_t *experiments, bool *rollouts, struct diags *d)
{
	*experiments = 0;
	*rollouts = false;
	struct records recs;
	if (store_records(a->store, EXPERIMENT_RECORD_KIND, NULL, &recs)) {
		store_records_release(&recs);
		return diags_add_last_error(d);
	}
	size_t elen = strlen(env);
	for (size_t i = 0; i < recs.n; i++) {
		const struct record *rec = &recs.v[i];
		if (!rec->scope || strncmp(rec->scope, env, elen) || rec->scope[elen] != '/' || !rec->body)
			continue;
		json_t *b = json_loads(rec->body, 0, NULL);
		if (active_status(json_string_value(json_object_get(b, "status"))))
			(*experiments)++;
		json_decref(b);
	}
	store_records_release(&recs);
	struct state_rows rows;
	if (store_list(a->store, env, NULL, &rows))
		return diags_add_last_error(d);
	int rc = CRATIS_OK;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < rows.n && !*rollouts; i++) {
		const struct state_row *row = &rows.v[i];
		if (!row->spec || strncmp(row->id, "Rollout/", 8))
			continue;
		struct releases rels;
		if (store_releases(a->store, env, row->project, row->id + 8, &rels)) {
			rc = diags_add_last_error(d);
			break;
		}
		*rollouts = rollout_maintenance_due(&rels, now);
		store_releases_release(&rels);
	}
	store_rows_release(&rows);
	return rc;
}

int app_experiments_tick(struct app *a, size_t *ticked, size_t *skipped, struct diags *d)
{
	size_t nt = 0, ns = 0;
	int first = CRATIS_OK;
	for (size_t i = 0; i < a->model.nresources; i++) {
		struct resource *r = a->model.resources[i];
		if (strcmp(r->group, CORE_GROUP) || strcmp(r->kind, "Experiment"))
			continue;
		if (a->rollout.cancel && atomic_load(a->rollout.cancel))
			break;
		struct diags td = DIAGS_INIT;
		struct experiment_target t;
		char *spec = NULL, *statedir = NULL;
		json_t *st = NULL;
		int rc = target_of(a, r, &t, &spec, &statedir, false, &td);
		/* only what runs: never applied, never started or ended is left alone */
		bool go = !rc && spec && !experiment_status(a->store, &t, &st) &&
		          active_status(json_string_value(json_object_get(st, "status")));
		json_decref(st);
		error_clear();
		if (go) {
			struct run_lock me;
			rc = app_lock_take(a, &me, &td);
			if (rc == CRATIS_ELOCKED) {
				engine_logf(a->o.observer, CRATIS_LOG_INFO, NULL, "experiment %s: the environment is locked by another run; next pass",
				            r->name);
				ns++;
				rc = CRATIS_OK;
			} else if (!rc) {
				struct experiment_runner *run = experiment_runner_new(&a->rollout, &t);
				bool done = false;
				for (int conflicts = 0;; conflicts++) {
					json_t *out = NULL;
					rc = experiment_tick(run, &done, &out);
					json_decref(out);
					if (rc != CRATIS_EEXISTS || conflicts >= 5)
						break;
					error_clear(); /* another writer changed the record: read it again */
				}
				if (rc)
					rc = diags_add_last_error(&td);
				else
					nt++;
				experiment_runner_free(run);
				if (app_lock_release(a, &me, &td) && !rc)
					rc = CRATIS_ERROR;
			}
		}
		if (rc && !first) {
			first = rc;
			diags_move(d, &td);
		}
		diags_release(&td);
		free(spec);
		free(statedir);
	}
	if (ticked)
		*ticked = nt;
	if (skipped)
		*skipped = ns;
	return first;
}

/* Whether the releases of Rollout r in the open environment need upkeep now (read without the
 * lock); *statedir (heap) and *spec (heap) are its state directory and recorded spec when so. */
static int rollout_due(struct app *a, struct resource *r, bool *due, char **spec, struct diags *d)
{
	*due = false;
	*spec = NULL;
	struct state_rows rows;
	if (store_list(a->store, a->model.env_name, r->project, &rows))
		return diags_add_last_error(d);
	struct state_row *row = store_rows_find(&rows, r->project, r->id);
	if (row && row->spec)
		*spec = xstrdup(row->spec);
	store_rows_release(&rows);
	if (!*spec)
		return CRATIS_OK;
	struct releases rels;
	if (store_releases(a->store, a->model.env_name, r->project, r->name, &rels))
		return diags_add_last_error(d);
	*due = rollout_maintenance_due(&rels, (int64_t)time(NULL));
	store_releases_release(&rels);
	return CRATIS_OK;
}

int app_rollouts_maintain(struct app *a, size_t *done, struct diags *d)
{
	size_t n = 0;
	int first = CRATIS_OK;
	for (size_t i = 0; i < a->model.nresources && !first; i++) {
		struct resource *r = a->model.resources[i];
		if (strcmp(r->group, CORE_GROUP) || strcmp(r->kind, "Rollout"))
			continue;
		bool due;
		char *spec = NULL, *statedir = NULL;
		struct diags td = DIAGS_INIT;
		int rc = rollout_due(a, r, &due, &spec, &td);
		free(spec);
		spec = NULL;
		if (rc || !due) {
			first = rc;
			diags_move(d, &td);
			diags_release(&td);
			continue;
		}
		struct run_lock me;
		rc = app_lock_take(a, &me, &td);
		if (rc) {
			/* ELOCKED: a run holds the environment (and scales down itself when it applies) */
			first = rc == CRATIS_ELOCKED ? CRATIS_OK : rc;
			if (first)
				diags_move(d, &td);
			diags_release(&td);
			continue;
		}
		/* again under the lock: the run that held it may have done it */
		if (!(rc = rollout_due(a, r, &due, &spec, &td)) && due &&
		    (rc = engine_statedir(&statedir, a->state_dir, a->model.env_name, r->project, r->id)))
			rc = diags_add_last_error(&td);
		if (!rc && due) {
			char started[32];
			now_rfc3339(started);
			char *command = xasprintf("%s%srollout scale-down %s", or_empty(a->o.command_line),
			                          a->o.command_line ? ": " : "", r->name);
			struct deployment dep = { .project = r->project, .environment = (char *)a->model.env_name, .command = command,
			                          .user = (char *)user_name(), .host = (char *)host_name(), .started = started };
			if (engine_deployment_begin(a->store, &dep)) {
				rc = diags_add_last_error(&td);
			} else {
				engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_STARTED, .deployment = dep.id,
				                                                   .message = a->model.env_name });
				struct rollout_target t = { r->project, a->model.env_name, r->name, spec, a->project_dir, statedir };
				bool did = false;
				rc = rollout_maintain(&a->rollout, &t, &did);
				char *emsg = rc ? xstrdup(cratis_error_last()->message) : NULL;
				int erc = rc ? cratis_error_last()->status : 0;
				char finished[32];
				now_rfc3339(finished);
				char *summary = rc ? xasprintf("rollout scale-down %s failed: %s", r->name, emsg)
				                   : xasprintf("rollout scale-down %s: scaleDownDelaySeconds passed", r->name);
				dep.finished = finished;
				dep.result = rc ? "failed" : "succeeded";
				dep.summary = summary;
				if (engine_deployment_finish(a->store, &dep, NULL) && !rc)
					rc = diags_add_last_error(&td);
				engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_FINISHED, .deployment = dep.id,
				                                                   .message = dep.result });
				if (emsg) {
					diags_errorf(&td, erc ? erc : CRATIS_ERROR, "rollout %s: scale-down: %s", r->name, emsg);
					rc = erc ? erc : CRATIS_ERROR;
				} else if (!rc) {
					n++;
				}
				free(emsg);
				free(summary);
			}
			free(command);
		}
		if (app_lock_release(a, &me, &td) && !rc)
			rc = CRATIS_ERROR;
		free(spec);
		free(statedir);
		if (rc)
			diags_move(d, &td);
		diags_release(&td);
		first = rc;
	}
	if (done)
		*done = n;
	return first;
}
