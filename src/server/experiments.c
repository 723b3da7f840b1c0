/* The experiment routes of `cratis serve` (docs/server.md, docs/experiments.md): the experiments
 * recorded (filtered per item by the policy), one experiment's status document with its history
 * (what the dashboard's chart draws), and conclude / abort, which run on a worker thread as the
 * rollout actions do (202 with the deployment id; ?wait=true on the request's thread). */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "banned.h"

void h_experiments(struct req *r)
{
	/* a subject allowed every experiment (object "") reads them all; one allowed some
	 * environments or projects reads those; one allowed none is refused */
	bool all = req_may(r, "experiments", "get", "");
	if (!all && !req_authorize_some(r))
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_experiments_list(a, &list, &d);
	if (rc) {
		reply_diags(r, rc, &d);
	} else {
		json_t *seen = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e) {
			char *obj = xasprintf("%s/%s", json_string_value(json_object_get(e, "environment")),
			                      json_string_value(json_object_get(e, "project")));
			if (all || req_may(r, "experiments", "get", obj))
				json_array_append(seen, e);
			free(obj);
		}
		reply_json(r, 200, seen);
	}
	json_decref(list);
	srv_close_app(r, a);
	diags_release(&d);
}

void h_experiment(struct req *r)
{
	char *obj = xasprintf("%s/%s", r->params[1], r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	if (!path)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *st = NULL;
	/* from the store under the registered name; else through the manifests (their project may be
	 * named otherwise than the registration) */
	int rc = srv_open_app(r, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc && (rc = app_experiment_get(a, r->params[0], r->params[1], r->params[2], &st, &d)) == CRATIS_ENOTFOUND) {
		srv_close_app(r, a);
		a = NULL;
		diags_release(&d);
		diags_init(&d);
		if (!(rc = srv_open_app(r, path, r->params[1], APP_LOAD_MANIFESTS, NULL, &a, &d)))
			rc = app_experiment_status(a, r->params[2], &st, &d);
	}
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, st);
	srv_close_app(r, a);
	diags_release(&d);
	free(path);
}

/* POST .../experiments/NAME/{conclude,abort}: on a worker thread (202), or with ?wait=true on the
 * request's thread: 200 with the status afterwards. */
static void steer(struct req *r, bool conclude)
{
	json_t *b = NULL; /* the body is optional */
	if (r->in_len && !(b = req_body_object(r)))
		return;
	json_t *w = json_object_get(b, "winner");
	if (w && !json_is_string(w) && !json_is_null(w)) {
		struct diags d = DIAGS_INIT;
		diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected the name of a variant"), "request body", 0, 0, "winner");
		reply_problem(r, 422, NULL, &d);
		diags_release(&d);
		json_decref(b);
		return;
	}
	const char *winner = conclude ? json_string_value(w) : NULL;
	char *obj = xasprintf("%s/%s", r->params[1], r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	const char *wait = req_query(r, "wait");
	if (path && !(wait && !strcmp(wait, "true"))) {
		srv_experiment_job(r, path, conclude, winner); /* takes path */
	} else if (path) {
		struct diags d = DIAGS_INIT;
		struct app *a = NULL;
		json_t *st = NULL;
		int rc = srv_open_app(r, path, r->params[1], APP_LOAD_MANIFESTS, NULL, &a, &d);
		if (!rc)
			a->o.lock_timeout_ms = EXPERIMENT_LOCK_WAIT_MS; /* past a tick of the scheduler */
		if (!rc)
			rc = conclude ? app_experiment_conclude(a, r->params[2], winner, &st, &d)
			              : app_experiment_abort(a, r->params[2], &st, &d);
		if (rc) {
			reply_diags(r, rc, &d);
			json_decref(st);
		} else {
			reply_json(r, 200, st);
		}
		srv_close_app(r, a);
		diags_release(&d);
		free(path);
	}
	json_decref(b);
}

void h_experiment_conclude(struct req *r)
{
	steer(r, true);
}

void h_experiment_abort(struct req *r)
{
	steer(r, false);
}
