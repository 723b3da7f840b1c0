/* The pull-agent routes of `cratis serve` (docs/agents.md): the agents' status, the work of a
 * System (long poll), reports, and the server's part of a deployment with pull-mode Systems. */
#define _GNU_SOURCE
#include "agents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/agent.h"
#include "error.h"
#include "banned.h"

/* A reply for an application-layer failure, d's diagnostics kept. */
static void fail(struct req *r, int rc, struct diags *d)
{
	reply_diags(r, rc, d);
}

void h_agents(struct req *r)
{
	if (!req_authorize(r, ""))
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_agents(a, NULL, &list, &d);
	if (rc)
		fail(r, rc, &d);
	else
		reply_json(r, 200, list);
	srv_close_app(r, a);
	diags_release(&d);
}

void h_agent(struct req *r)
{
	if (!req_authorize(r, r->params[0]))
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *one = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_agents(a, r->params[0], &one, &d);
	if (rc)
		fail(r, rc, &d);
	else
		reply_json(r, 200, one);
	srv_close_app(r, a);
	diags_release(&d);
}

/* A query parameter as an integer from min to max (def when absent); false after replying 400. */
static bool query_int(struct req *r, const char *key, long long min, long long max, long long def, long long *out)
{
	const char *v = req_query(r, key);
	*out = def;
	if (!v)
		return true;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max) {
		struct diags d = DIAGS_INIT;
		diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected an integer from %lld to %lld, got '%s'", min, max, v),
		            "query", 0, 0, key);
		reply_problem(r, 400, NULL, &d);
		diags_release(&d);
		return false;
	}
	*out = n;
	return true;
}

/* GET /v1/agents/{name}/work?after=GEN&wait=SECONDS: at once when the System has work newer than
 * GEN, else when some arrives, else 204 after wait seconds (at most 25) or at shutdown. The
 * agent's lastSeen is noted. */
void h_agent_work(struct req *r)
{
	long long after, wait;
	if (!req_authorize(r, r->params[0]) || !query_int(r, "after", 0, INT64_MAX, 0, &after) ||
	    !query_int(r, "wait", 0, AGENT_WAIT_MAX, AGENT_WAIT_MAX, &wait))
		return;
	struct server *s = r->srv;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *work = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_agent_seen(a, r->params[0], &d);
	int64_t end = now_ms() + wait * 1000;
	while (!rc && !(rc = app_agent_work(a, r->params[0], after, &work, &d)) && !work) {
		if (now_ms() >= end || atomic_load(s->o.cancel))
			break;
		/* woken when a deployment starts (its work is recorded by then), else every 250 ms: the
		 * store may be shared with other servers */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		pthread_mutex_unlock(&s->mu);
	}
	if (rc) {
		fail(r, rc, &d);
	} else if (work) {
		reply_json(r, 200, work);
	} else {
		r->code = 204;
		r->text = xstrdup("");
		r->ctype = "text/plain";
	}
	srv_close_app(r, a);
	diags_release(&d);
}

void h_agent_report(struct req *r)
{
	if (!req_authorize(r, r->params[0]))
		return;
	json_t *b = req_body_object(r);
	if (!b)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *out = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_agent_report(a, r->params[0], b, &out, &d);
	if (rc) {
		fail(r, rc, &d);
	} else {
		reply_json(r, 200, out);
		log_line(r->srv, "agent of System '%s' (%s) reported %sgeneration %lld: %s", r->params[0], r->who.subject,
		         json_is_true(json_object_get(b, "reconcile")) ? "drift repair at " : "",
		         (long long)json_integer_value(json_object_get(b, "generation")),
		         json_string_value(json_object_get(b, "result")));
	}
	srv_close_app(r, a);
	diags_release(&d);
	json_decref(b);
}

/* Where the agents read project's manifests: its registered location. New reference. */
static json_t *project_location(struct server *s, const char *project)
{
	json_t *loc = json_object();
	pthread_mutex_lock(&s->mu);
	size_t i;
	json_t *p;
	json_array_foreach(s->projects, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "name")), project))
			continue;
		static const char *const keys[] = { "path", "url", "ref", "subdir" };
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
			if (json_is_string(json_object_get(p, keys[k])))
				json_object_set(loc, keys[k], json_object_get(p, keys[k]));
	}
	pthread_mutex_unlock(&s->mu);
	return loc;
}

int agents_deploy(struct server *s, struct app *a, const char *project, const char *command,
                  void (*started)(int64_t id, void *payload), void *payload, bool *handled, struct diags *d)
{
	*handled = false;
	struct strv targets = STRV_INIT, pull = STRV_INIT;
	int rc = app_agent_targets(a, NULL, &targets, &pull, d);
	if (rc || !pull.n)
		goto out;
	*handled = true;
	json_t *loc = project_location(s, project);
	struct agent_dispatch w = { .project = project, .location = loc, .environment = a->model.env_name,
		                    .command = command, .systems = &pull };
	int64_t id = 0;
	rc = app_agent_dispatch(a, &w, &id, d);
	json_decref(loc);
	if (rc)
		goto out;
	started(id, payload);
	/* the work is recorded: agents waiting for it see it now */
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	const char *result = "none";
	int64_t own = 0;
	if (targets.n) {
		app_agent_limit(a, &targets);
		struct plan p;
		struct app_run run;
		memset(&run, 0, sizeof(run));
		rc = app_apply(a, false, NULL, NULL, &p, &run, d);
		app_plan_release(&p);
		own = run.counts.deployment;
		result = !rc ? "succeeded" : run.cancelled ? "interrupted" : "failed";
	}
	struct diags sd = DIAGS_INIT;
	if (app_agent_server_done(a, id, result, own, &sd))
		log_line(s, "deployment %lld: cannot record the server's part: %s", (long long)id,
		         sd.n ? sd.v[0].message : "state error");
	diags_release(&sd);
	error_clear();
out:
	strv_release(&targets);
	strv_release(&pull);
	return rc;
}
