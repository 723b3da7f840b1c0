/* The routes of `cratis serve` and their handlers: health, metrics, the OpenAPI document, and
 * the /v1 API over the application layer (src/app), with deployments applied on worker threads. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "agents.h"
#include "manifest/location.h"
#include "teams.h"
#include "dashboard.h"
#include "error.h"
#include "banned.h"

/* ---- helpers ---- */

/* The path of registered project name (heap), or NULL. */
static char *project_path(struct server *s, const char *name)
{
	char *path = NULL;
	server_projects_refresh(s); /* what another server on the store registered (on error: the copy) */
	pthread_mutex_lock(&s->mu);
	size_t i;
	json_t *p;
	json_array_foreach(s->projects, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			path = xstrdup(json_string_value(json_object_get(p, "path")));
	pthread_mutex_unlock(&s->mu);
	return path;
}

int srv_open_app(struct req *r, const char *path, const char *env, enum app_load what,
                    const struct engine_observer *obs, struct app **a, struct diags *d)
{
	struct server *s = r->srv;
	r->paths[0] = path ? path : s->state_dir;
	struct app_options o = { .paths = r->paths, .npaths = 1, .env = env, .state_dir = s->state_dir,
	                         .state_url = s->state_url, .jobs = s->o.jobs, .refresh = true,
	                         .grace_ms = s->o.grace_ms, .command_line = r->command_line, .observer = obs,
	                         .cancel = s->o.cancel };
	if (what == APP_LOAD_STATE)
		return app_open(a, &o, what, d);
	/* Plugins are loaded and unloaded one app at a time: a shared object's init (which stores the
	 * host's services in the plugin) never runs while another app's workers call that plugin. */
	pthread_mutex_lock(&s->plugins_mu);
	int rc = app_open(a, &o, what, d);
	pthread_mutex_unlock(&s->plugins_mu);
	return rc;
}

/* app_close for an app of open_app (NULL ignored): under plugins_mu when it loaded plugins. */
void srv_close_app(struct req *r, struct app *a)
{
	if (!a)
		return;
	bool plugins = a->reg.nplugins > 0;
	if (plugins)
		pthread_mutex_lock(&r->srv->plugins_mu);
	app_close(a);
	if (plugins)
		pthread_mutex_unlock(&r->srv->plugins_mu);
}

/* "ENV/PROJECT", the object env-scoped routes are authorised on ("*" when env is NULL). */
static char *env_object(const char *env, const char *project)
{
	return xasprintf("%s/%s", env ? env : "*", project);
}

/* A registered project of the path's first parameter, authorised on object; NULL after replying. */
char *srv_authorized_project(struct req *r, const char *object)
{
	if (!req_authorize(r, object))
		return NULL;
	char *path = project_path(r->srv, r->params[0]);
	if (!path) {
		char *m = xasprintf("no project '%s' is registered (POST /v1/projects)", r->params[0]);
		reply_problem(r, 404, m, NULL);
		free(m);
	}
	return path;
}

/* ---- health, metrics, documents ---- */

static void h_index(struct req *r)
{
	if (dashboard_redirect(r)) /* a browser: the dashboard */
		return;
	json_t *paths = json_array(), *routes = json_array();
	for (size_t i = 0; server_routes[i].path; i++) {
		json_array_append_new(routes, json_pack("{s:s, s:s, s:s}", "method", server_routes[i].method, "path",
		                                        server_routes[i].path, "summary", server_routes[i].summary));
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= !strcmp(server_routes[k].path, server_routes[i].path);
		if (!seen)
			json_array_append_new(paths, json_string(server_routes[i].path));
	}
	reply_json(r, 200, json_pack("{s:o, s:o}", "paths", paths, "routes", routes));
}

static json_t *check_json(const char *name, bool ok, const char *message)
{
	char t[32];
	now_rfc3339(t);
	json_t *c = json_pack("{s:s, s:s, s:s}", "name", name, "status", ok ? "ok" : "failed", "time", t);
	if (message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

static void health_reply(struct req *r, json_t *checks)
{
	bool ok = true;
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c)
		ok &= !strcmp(json_string_value(json_object_get(c, "status")), "ok");
	char t[32];
	now_rfc3339(t);
	json_t *body = json_pack("{s:s, s:s}", "status", ok ? "ok" : "failed", "time", t);
	if (req_has_query(r, "verbose") || !ok)
		json_object_set(body, "checks", checks);
	json_decref(checks);
	reply_json(r, ok ? 200 : 503, body);
}

static void h_livez(struct req *r)
{
	json_t *checks = json_array();
	json_array_append_new(checks, check_json("ping", true, NULL));
	health_reply(r, checks);
}

static void h_readyz(struct req *r)
{
	json_t *checks = json_array();
	/* the state store: open it and read the latest deployment's environment */
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	char *env = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_state_env(a, NULL, &env, &d);
	struct buf m = BUF_INIT;
	for (size_t i = 0; i < d.n; i++)
		diag_format(&d.v[i], &m);
	json_array_append_new(checks, check_json("state", !rc, rc ? (m.len ? m.ptr : "state store failed") : NULL));
	buf_release(&m);
	free(env);
	srv_close_app(r, a);
	diags_release(&d);
	/* the plugin directories: the built-in one must be readable */
	struct registry reg;
	registry_init(&reg);
	registry_default_dirs(&reg, NULL);
	const char *builtin = reg.dirs.n ? reg.dirs.v[reg.dirs.n - 1] : NULL;
	char *pm = builtin && is_dir(builtin) ? NULL : xasprintf("plugin directory '%s' is missing", builtin ? builtin : "");
	json_array_append_new(checks, check_json("plugins", !pm, pm));
	free(pm);
	registry_release(&reg);
	bool stopping = atomic_load(r->srv->o.cancel) != 0;
	json_array_append_new(checks, check_json("shutdown", !stopping, stopping ? "the server is shutting down" : NULL));
	health_reply(r, checks);
}

static void h_metrics(struct req *r)
{
	struct buf b = BUF_INIT;
	metrics_text(r->srv, &b);
	r->code = 200;
	r->text = buf_detach(&b);
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static void h_openapi(struct req *r)
{
	r->code = 200;
	r->text = xstrdup(server_openapi_json);
	r->ctype = "application/json";
}

/* ---- projects ---- */

static void h_projects(struct req *r)
{
	if (!req_authorize(r, ""))
		return;
	server_projects_refresh(r->srv);
	pthread_mutex_lock(&r->srv->mu);
	json_t *list = json_deep_copy(r->srv->projects);
	pthread_mutex_unlock(&r->srv->mu);
	reply_json(r, 200, list);
}

static bool valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static void h_project_create(struct req *r)
{
	json_t *b = req_body_object(r);
	if (!b)
		return;
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *path = json_string_value(json_object_get(b, "path"));
	const char *loc = json_string_value(json_object_get(b, "location"));
	if (!req_authorize(r, name ? name : ""))
		goto out;
	struct diags d = DIAGS_INIT;
	if (!valid_name(name)) {
		diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected a name of lowercase letters, digits, '-', '_' or '.'"),
		            "request body", 0, 0, "name");
	}
	char *abs = NULL;
	if (json_object_get(b, "location") && !json_object_get(b, "path")) {
		/* a git repository (docs/locations.md): URL, //DIR and ?ref= as -f takes them */
		struct location l;
		if (!loc || !location_is_git(loc) || location_parse(&l, loc))
			diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected a git location (git::URL//DIR?ref=REF, https://, ssh://, file://...): %s",
			                         loc && location_is_git(loc) ? cratis_error_last()->message : "not a git location"),
			            "request body", 0, 0, "location");
		else {
			location_release(&l);
			abs = xstrdup(loc);
		}
	} else {
		abs = path && *path == '/' && !json_object_get(b, "location") ? abs_path(path) : NULL;
		if (!abs || !is_dir(abs))
			diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected the absolute path of a project directory, got '%s' (or a git \"location\" instead of \"path\")",
			                         path ? path : ""), "request body", 0, 0, "path");
	}
	if (d.n) {
		reply_problem(r, 422, NULL, &d);
		goto out_diags;
	}
	/* the manifests must load: their environments are what the project offers */
	struct app *a = NULL;
	json_t *envs = NULL;
	int rc = srv_open_app(r, abs, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_environments(a, &envs, &d);
	srv_close_app(r, a);
	if (rc) {
		reply_diags(r, rc, &d);
		goto out_diags;
	}
	char t[32];
	now_rfc3339(t);
	json_t *row = json_pack("{s:s, s:s, s:s}", "name", name, "path", abs, "registered", t);
	if (location_is_git(abs))
		json_object_set_new(row, "location", json_string(abs));
	struct server *s = r->srv;
	server_projects_refresh(s);
	pthread_mutex_lock(&s->mu);
	bool exists = false;
	size_t i;
	json_t *p;
	json_array_foreach(s->projects, i, p)
		exists |= !strcmp(json_string_value(json_object_get(p, "name")), name);
	if (!exists) {
		json_array_append(s->projects, row);
		rc = server_projects_save(s);
		if (rc)
			json_array_remove(s->projects, json_array_size(s->projects) - 1);
	}
	pthread_mutex_unlock(&s->mu);
	if (exists) {
		char *m = xasprintf("project '%s' is already registered", name);
		reply_problem(r, 409, m, NULL);
		free(m);
		json_decref(row);
	} else if (rc) {
		diags_add_last_error(&d);
		reply_diags(r, rc, &d);
		json_decref(row);
	} else {
		json_t *resp = json_deep_copy(row);
		json_decref(row);
		json_object_set_new(resp, "environments", envs);
		envs = NULL;
		reply_json(r, 201, resp);
		r->location = xasprintf("/v1/projects/%s", name);
	}
	json_decref(envs);
out_diags:
	diags_release(&d);
	free(abs);
out:
	json_decref(b);
}

static void h_environments(struct req *r)
{
	char *path = srv_authorized_project(r, r->params[0]);
	if (!path)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *envs = NULL;
	int rc = srv_open_app(r, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_environments(a, &envs, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, envs);
	srv_close_app(r, a);
	diags_release(&d);
	free(path);
}

/* ---- plans and deployments ---- */

/* Git location text with its ?ref= replaced by ref (heap), or NULL with the last error set: text
 * is not a git location, or ref is not a non-empty string the location accepts. */
static char *location_at_ref(const char *text, const char *ref)
{
	if (!location_is_git(text)) {
		error_set(CRATIS_EINVAL, "not a git location");
		return NULL;
	}
	if (!ref || !*ref || strpbrk(ref, "?&#/ ") == ref) {
		error_set(CRATIS_EINVAL, "expected a branch, a tag or a commit id");
		return NULL;
	}
	const char *q = strstr(text, "?ref=");
	char *at = xasprintf("%.*s?ref=%s", (int)(q ? (size_t)(q - text) : strlen(text)), text, ref);
	struct location l;
	if (location_parse(&l, at)) {
		free(at);
		return NULL;
	}
	location_release(&l);
	return at;
}

/* A plan or deployment of a project at body's ref: path (taken) with its ?ref= replaced, for this
 * request only; NULL after replying 422 naming the field ref. */
static char *path_at_ref(struct req *r, char *path, json_t *ref)
{
	char *at = location_at_ref(path, json_string_value(ref));
	if (!at) {
		struct diags d = DIAGS_INIT;
		diag_locate(diags_errorf(&d, CRATIS_EINVAL, "%s", location_is_git(path) ? cratis_error_last()->message
		                                                  : "the project is a directory, not a git location: it has no ref"),
		            "request body", 0, 0, "ref");
		reply_problem(r, 422, NULL, &d);
		diags_release(&d);
	}
	free(path);
	return at;
}

static void h_plan(struct req *r)
{
	json_t *b = req_body_object(r);
	if (!b)
		return;
	const char *env = json_string_value(json_object_get(b, "env"));
	char *obj = env_object(env, r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	if (path && json_object_get(b, "ref"))
		path = path_at_ref(r, path, json_object_get(b, "ref"));
	if (path) {
		struct diags d = DIAGS_INIT;
		struct app *a = NULL;
		struct plan p;
		int rc = srv_open_app(r, path, env, APP_LOAD_MANIFESTS, NULL, &a, &d);
		json_t *saved = NULL;
		bool planned = !rc && !(rc = app_plan(a, &p, &d));
		if (planned && json_is_true(json_object_get(b, "save")))
			rc = app_plan_saved(a, &p, &saved, &d);
		if (!rc) {
			json_t *j = app_plan_json(&p);
			json_object_set_new(j, "project", json_string(r->params[0]));
			json_object_set_new(j, "changes", json_boolean(app_plan_has_changes(&p)));
			json_object_set_new(j, "diagnostics", diags_to_json(&d));
			if (saved) /* the saved plan (cratis plan -out), to apply exactly with POST .../deployments {plan} */
				json_object_set_new(j, "saved", saved);
			reply_json(r, 200, j);
		} else {
			reply_diags(r, rc, &d);
		}
		if (planned)
			app_plan_release(&p);
		srv_close_app(r, a);
		diags_release(&d);
		free(path);
	}
	json_decref(b);
}

struct job {
	struct server *s;
	char *path, *env, *project, *command_line;
	int action;                   /* -1: apply; else the enum app_rollout_action of rollout */
	char *rollout, *to;           /* a rollout action's Rollout and rollback target (or NULL) */
	char *experiment, *winner;    /* an experiment's conclude (exp_conclude) or abort, or NULL */
	bool exp_conclude;
	bool force;
	json_t *saved;                /* an apply of exactly this saved plan (app_apply_saved), or NULL */
	pthread_t th;
	bool started, done, waited;   /* waited: a handler still reads it */
	int64_t id;
	int status;
	struct diags d;
	struct job *next;
};

static void job_event(const struct engine_event *ev, void *payload)
{
	struct job *j = payload;
	struct server *s = j->s;
	if (ev->type == EV_DEPLOYMENT_STARTED) {
		pthread_mutex_lock(&s->mu);
		if (j->started) { /* the server's own part of a pull deployment (agents.c) */
			pthread_mutex_unlock(&s->mu);
			return;
		}
		j->id = ev->deployment;
		j->started = true;
		s->deploy_running++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	} else if (ev->type == EV_DEPLOYMENT_FINISHED) {
		pthread_mutex_lock(&s->mu);
		const char *m = ev->message ? ev->message : "";
		if (!strcmp(m, "succeeded"))
			s->deploy_ok++;
		else if (!strcmp(m, "interrupted"))
			s->deploy_interrupted++;
		else
			s->deploy_failed++;
		pthread_mutex_unlock(&s->mu);
	}
}

/* The server deployment of a project with pull-mode Systems was recorded (agents.c). */
static void job_started(int64_t id, void *payload)
{
	struct engine_event ev = { .type = EV_DEPLOYMENT_STARTED, .deployment = id };
	job_event(&ev, payload);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct server *s = j->s;
	struct engine_observer obs = { job_event, j };
	struct req fake = { .srv = s, .command_line = j->command_line };
	struct app *a = NULL;
	struct diags d = DIAGS_INIT;
	int rc = srv_open_app(&fake, j->path, j->env, APP_LOAD_MANIFESTS, &obs, &a, &d);
	bool pulled = false;
	if (!rc && j->experiment) {
		json_t *st = NULL;
		a->o.lock_timeout_ms = EXPERIMENT_LOCK_WAIT_MS; /* past a tick of the scheduler */
		rc = j->exp_conclude ? app_experiment_conclude(a, j->experiment, j->winner, &st, &d)
		                     : app_experiment_abort(a, j->experiment, &st, &d);
		json_decref(st);
	} else if (!rc && j->action >= 0) {
		json_t *rels = NULL;
		rc = app_rollout(a, (enum app_rollout_action)j->action, j->rollout, j->to, j->force, &rels, &d);
		json_decref(rels);
	} else if (!rc) {
		/* resources on pull-mode Systems go to their agents (agents.c); the rest is applied here */
		rc = agents_deploy(s, a, j->project, j->command_line, job_started, j, &pulled, &d);
		if (!rc && !pulled) {
			struct plan p;
			struct app_run run;
			memset(&run, 0, sizeof(run));
			rc = j->saved ? app_apply_saved(a, j->saved, NULL, NULL, &p, &run, &d)
			              : app_apply(a, false, NULL, NULL, &p, &run, &d);
			app_plan_release(&p);
		}
	}
	srv_close_app(&fake, a);
	pthread_mutex_lock(&s->mu);
	if (j->started)
		s->deploy_running--;
	j->status = rc;
	diags_move(&j->d, &d);
	j->done = true;
	s->deploy_finished++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	diags_release(&d);
	error_clear(); /* the thread's last error is freed before the thread ends */
	return NULL;
}

static void job_free(struct job *j)
{
	json_decref(j->saved);
	free(j->experiment);
	free(j->winner);
	free(j->rollout);
	free(j->to);
	free(j->path);
	free(j->env);
	free(j->project);
	free(j->command_line);
	diags_release(&j->d);
	free(j);
}

/* Join and free the finished jobs no handler reads (all of them when all). */
static void jobs_reap(struct server *s, bool all)
{
	struct job *done = NULL;
	pthread_mutex_lock(&s->mu);
	for (struct job **pp = &s->jobs; *pp;) {
		struct job *j = *pp;
		if (all || (j->done && !j->waited)) {
			*pp = j->next;
			j->next = done;
			done = j;
		} else {
			pp = &j->next;
		}
	}
	pthread_mutex_unlock(&s->mu);
	while (done) {
		struct job *n = done->next;
		pthread_join(done->th, NULL);
		job_free(done);
		done = n;
	}
}

void jobs_join_all(struct server *s)
{
	jobs_reap(s, true);
}

/* Run job j (path, env, project, action... set; taken) on a worker thread and answer r: 202 with
 * the deployment id and a Location once the deployment is recorded (extra: more members of the
 * answer, taken), the problem when it failed before, or 200 when there was nothing to do. */
static void job_start(struct req *r, struct job *j, json_t *extra)
{
	struct server *s = r->srv;
	jobs_reap(s, false);
	j->s = s;
	j->command_line = xasprintf("cratis serve: POST %s (%s)", r->url, r->who.subject);
	j->waited = true;
	diags_init(&j->d);
	pthread_mutex_lock(&s->mu);
	if (pthread_create(&j->th, NULL, job_run, j)) {
		pthread_mutex_unlock(&s->mu);
		reply_problem(r, 503, "cannot start a worker thread", NULL);
		job_free(j);
		json_decref(extra);
		return;
	}
	j->next = s->jobs;
	s->jobs = j;
	while (!j->started && !j->done)
		pthread_cond_wait(&s->cond, &s->mu);
	if (j->started) {
		json_t *resp = json_pack("{s:I, s:s, s:s?, s:s, s:s}", "id", (json_int_t)j->id, "project", j->project,
		                         "environment", j->env, "status", "running", "href", "");
		char *href = xasprintf("/v1/deployments/%lld", (long long)j->id);
		json_object_set_new(resp, "href", json_string(href));
		if (extra)
			json_object_update(resp, extra);
		reply_json(r, 202, resp);
		r->location = href;
	} else if (j->status) {
		reply_diags(r, j->status, &j->d);
	} else {
		reply_json(r, 200, json_pack("{s:n, s:b, s:s}", "id", "changes", 0, "status", "no changes"));
	}
	json_decref(extra);
	j->waited = false;
	pthread_mutex_unlock(&s->mu);
}

void srv_experiment_job(struct req *r, char *path, bool conclude, const char *winner)
{
	struct job *j = xcalloc(1, sizeof(*j));
	j->action = -1;
	j->path = path;
	j->env = xstrdup(r->params[1]);
	j->project = xstrdup(r->params[0]);
	j->experiment = xstrdup(r->params[2]);
	j->winner = winner ? xstrdup(winner) : NULL;
	j->exp_conclude = conclude;
	job_start(r, j, json_pack("{s:s, s:s}", "experiment", r->params[2], "action", conclude ? "conclude" : "abort"));
}

static void h_deploy(struct req *r)
{
	json_t *b = req_body_object(r);
	if (!b)
		return;
	const char *env = json_string_value(json_object_get(b, "env"));
	char *obj = env_object(env, r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	if (path && json_object_get(b, "ref"))
		path = path_at_ref(r, path, json_object_get(b, "ref"));
	json_t *saved = json_object_get(b, "plan");
	if (path && saved && !json_is_object(saved)) {
		struct diags d = DIAGS_INIT;
		diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected a saved plan (the \"saved\" object of POST .../plans with save)"),
		            "request body", 0, 0, "plan");
		reply_problem(r, 422, NULL, &d);
		diags_release(&d);
		free(path);
		path = NULL;
	}
	if (path) {
		struct job *j = xcalloc(1, sizeof(*j));
		j->action = -1;
		j->path = path;
		j->env = env ? xstrdup(env) : NULL;
		j->project = xstrdup(r->params[0]);
		j->saved = json_incref(saved);
		job_start(r, j, NULL);
	}
	json_decref(b);
}

static void h_deployments(struct req *r)
{
	const char *env = req_query(r, "env");
	char *obj = env ? xasprintf("%s/*", env) : xstrdup("");
	bool ok = req_authorize(r, obj);
	free(obj);
	if (!ok)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_history(a, env, &list, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, list);
	srv_close_app(r, a);
	diags_release(&d);
}

static void h_deployment(struct req *r)
{
	char *end;
	errno = 0;
	long long id = strtoll(r->params[0], &end, 10);
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL, *found = NULL, *steps = NULL;
	int rc = *end || errno || id <= 0 ? CRATIS_EINVAL : CRATIS_OK;
	if (rc) {
		if (req_authorize(r, ""))
			reply_problem(r, 404, "expected a deployment id (a positive number)", NULL);
		return;
	}
	if (!(rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d)) && !(rc = app_history(a, NULL, &list, &d))) {
		size_t i;
		json_t *dep;
		json_array_foreach(list, i, dep)
			if (json_integer_value(json_object_get(dep, "id")) == id)
				found = dep;
	}
	char *obj = found ? xasprintf("%s/*", json_string_value(json_object_get(found, "environment"))) : xstrdup("");
	if (!req_authorize(r, obj)) {
		/* replied */
	} else if (rc) {
		reply_diags(r, rc, &d);
	} else if (!found) {
		reply_problem(r, 404, "no such deployment", NULL);
	} else if ((rc = app_deployment_steps(a, id, &steps, &d))) {
		reply_diags(r, rc, &d);
	} else {
		json_t *j = json_deep_copy(found);
		json_object_set_new(j, "steps", steps);
		reply_json(r, 200, j);
	}
	free(obj);
	json_decref(list);
	srv_close_app(r, a);
	diags_release(&d);
}

/* ---- resources, outputs, locks ---- */

static void env_query(struct req *r, bool outputs)
{
	char *obj = env_object(r->params[1], r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	if (!path)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, path, r->params[1], APP_LOAD_MANIFESTS, NULL, &a, &d);
	if (!rc)
		rc = outputs ? app_outputs(a, &list, &d) : app_resources(a, &list, &d);
	if (rc) {
		reply_diags(r, rc, &d);
	} else {
		size_t i;
		json_t *o;
		if (outputs) /* sensitive outputs are never sent: as the CLI, "(sensitive)" */
			json_array_foreach(list, i, o)
				if (json_is_true(json_object_get(o, "sensitive")) && !json_is_null(json_object_get(o, "value")))
					json_object_set_new(o, "value", json_string("(sensitive)"));
		reply_json(r, 200, list);
	}
	srv_close_app(r, a);
	diags_release(&d);
	free(path);
}

static void h_resources(struct req *r)
{
	env_query(r, false);
}

static void h_outputs(struct req *r)
{
	env_query(r, true);
}

static void h_locks(struct req *r)
{
	if (!req_authorize(r, ""))
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *rows = NULL, *locks = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_state_list(a, NULL, &rows, &locks, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, json_incref(locks));
	json_decref(rows);
	json_decref(locks);
	srv_close_app(r, a);
	diags_release(&d);
}

/* ---- history, rollouts, artifacts ---- */

static void h_history(struct req *r)
{
	char *obj = env_object(r->params[1], r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	if (!path)
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *envs = NULL, *list = NULL;
	bool known = false;
	/* the environment must be one of the project's (the store is shared by every project) */
	int rc = srv_open_app(r, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc && !(rc = app_environments(a, &envs, &d))) {
		size_t i;
		json_t *e;
		json_array_foreach(envs, i, e)
			known |= !strcmp(json_string_value(json_object_get(e, "name")), r->params[1]);
		if (!known) {
			char *m = xasprintf("project '%s' has no environment '%s'", r->params[0], r->params[1]);
			reply_problem(r, 404, m, NULL);
			free(m);
		} else if (!(rc = app_history(a, r->params[1], &list, &d))) {
			reply_json(r, 200, list);
		}
	}
	if (rc)
		reply_diags(r, rc, &d);
	json_decref(envs);
	srv_close_app(r, a);
	diags_release(&d);
	free(path);
}

/* GET .../rollouts/{name}[/history] and POST .../rollouts/{name}/{promote,rollback,abort}: an
 * action runs on a worker thread (202 with the deployment id, job_start); with ?wait=true on the
 * request's thread (a promote waits for the switch, as the CLI does) and the reply is the
 * rollout's releases afterwards. */
static void rollout(struct req *r, enum app_rollout_action act)
{
	json_t *b = NULL;
	if (!strcmp(r->method, "POST") && r->in_len && !(b = req_body_object(r)))
		return;
	const char *to = json_string_value(json_object_get(b, "to"));
	bool force = json_is_true(json_object_get(b, "force"));
	char *obj = env_object(r->params[1], r->params[0]);
	char *path = srv_authorized_project(r, obj);
	free(obj);
	const char *wait = req_query(r, "wait");
	if (path && act != APP_ROLLOUT_STATUS && act != APP_ROLLOUT_HISTORY && !(wait && !strcmp(wait, "true"))) {
		/* a steering action runs on a worker thread as deployments do: 202 once it is recorded */
		static const char *const verbs[] = { "status", "promote", "abort", "rollback", "history" };
		struct job *j = xcalloc(1, sizeof(*j));
		j->action = (int)act;
		j->path = path;
		j->env = xstrdup(r->params[1]);
		j->project = xstrdup(r->params[0]);
		j->rollout = xstrdup(r->params[2]);
		j->to = to ? xstrdup(to) : NULL;
		j->force = force;
		job_start(r, j, json_pack("{s:s, s:s}", "rollout", r->params[2], "action", verbs[act]));
	} else if (path) {
		struct diags d = DIAGS_INIT;
		struct app *a = NULL;
		json_t *rels = NULL;
		int64_t t0 = now_ms();
		int rc = srv_open_app(r, path, r->params[1], APP_LOAD_MANIFESTS, NULL, &a, &d);
		if (!rc)
			rc = app_rollout(a, act, r->params[2], to, force, &rels, &d);
		if (rc) {
			reply_diags(r, rc, &d);
		} else {
			static const char *const names[] = { "status", "promote", "abort", "rollback", "history" };
			json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "project", r->params[0], "environment", r->params[1],
			                      "rollout", r->params[2], "action", names[act], "releases", rels);
			rels = NULL;
			if (act != APP_ROLLOUT_STATUS && act != APP_ROLLOUT_HISTORY)
				json_object_set_new(j, "seconds", json_real((double)(now_ms() - t0) / 1000.0));
			json_object_set_new(j, "diagnostics", diags_to_json(&d));
			reply_json(r, 200, j);
		}
		json_decref(rels);
		srv_close_app(r, a);
		diags_release(&d);
		free(path);
	}
	json_decref(b);
}

static void h_rollout(struct req *r)
{
	rollout(r, APP_ROLLOUT_STATUS);
}

static void h_rollout_history(struct req *r)
{
	rollout(r, APP_ROLLOUT_HISTORY);
}

static void h_rollout_promote(struct req *r)
{
	rollout(r, APP_ROLLOUT_PROMOTE);
}

static void h_rollout_rollback(struct req *r)
{
	rollout(r, APP_ROLLOUT_ROLLBACK);
}

static void h_rollout_abort(struct req *r)
{
	rollout(r, APP_ROLLOUT_ABORT);
}

static void h_artifacts(struct req *r)
{
	const char *name = req_query(r, "name");
	if (!req_authorize(r, name ? name : ""))
		return;
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_artifacts(a, name && *name ? name : NULL, req_has_query(r, "history"), &list, &d);
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, list);
	srv_close_app(r, a);
	diags_release(&d);
}

/* GET /v1/projects/P/version: `cratis version show -o json` of the project's directory (its
 * version source, git branch, versioning policy and verdict). */
static void h_version(struct req *r)
{
	char *path = srv_authorized_project(r, r->params[0]);
	if (!path)
		return;
	struct diags d = DIAGS_INIT;
	struct app_versioning vi;
	const char *paths[1] = { path };
	int rc = app_versioning_open(&vi, paths, 1, &d);
	if (rc) {
		reply_diags(r, rc, &d);
	} else {
		char *version = semver_format(&vi.version);
		char *latest = vi.released ? semver_format(&vi.latest) : NULL;
		reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:i, s:s?, s:s, s:s?, s:s?, s:s?, s:b, s:s}", "project",
		                             r->params[0], "version", version, "source", vi.src.file, "line", vi.src.line,
		                             "branch", vi.branch, "model", vi.policy.model, "rule", vi.verdict.rule,
		                             "released", latest, "releasedTag", vi.latest_tag, "ok", vi.verdict.ok,
		                             "verdict", vi.verdict.message));
		free(version);
		free(latest);
	}
	app_versioning_release(&vi);
	diags_release(&d);
	free(path);
}

const struct route server_routes[] = {
	{ "GET", "/", NULL, NULL, h_index, "the routes of the server" },
	{ "GET", "/livez", NULL, NULL, h_livez, "liveness" },
	{ "GET", "/readyz", NULL, NULL, h_readyz, "readiness: the state store and the plugins" },
	{ "GET", "/metrics", NULL, NULL, h_metrics, "Prometheus metrics" },
	{ "GET", "/v1/openapi.json", NULL, NULL, h_openapi, "this API's OpenAPI 3.0 document" },
	{ "GET", "/v1/projects", "projects", "get", h_projects, "registered projects" },
	{ "POST", "/v1/projects", "projects", "create", h_project_create, "register a project by its directory" },
	{ "GET", "/v1/projects/{project}/environments", "environments", "get", h_environments,
	  "the project's environments" },
	{ "POST", "/v1/projects/{project}/plans", "plans", "create", h_plan, "plan an environment" },
	{ "POST", "/v1/projects/{project}/deployments", "deployments", "create", h_deploy,
	  "apply an environment on a worker (202 with the deployment id)" },
	{ "GET", "/v1/projects/{project}/environments/{env}/resources", "resources", "get", h_resources,
	  "resources with their recorded status" },
	{ "GET", "/v1/projects/{project}/environments/{env}/outputs", "outputs", "get", h_outputs,
	  "the project's outputs (sensitive ones redacted)" },
	{ "GET", "/v1/deployments", "deployments", "get", h_deployments, "deployments, newest first" },
	{ "GET", "/v1/deployments/{id}", "deployments", "get", h_deployment, "one deployment with its steps" },
	{ "GET", "/v1/locks", "locks", "get", h_locks, "the locks runs hold" },
	{ "GET", "/v1/events", "events", "get", h_events, "outbox events (CloudEvents JSON with seq), oldest first" },
	{ "GET", "/v1/events/stream", "events", "get", h_events_stream,
	  "the outbox as Server-Sent Events (id = seq; resumes after Last-Event-ID)" },
	{ "GET", "/v1/projects/{project}/environments/{env}/history", "deployments", "get", h_history,
	  "the environment's deployments, newest first" },
	{ "GET", "/v1/projects/{project}/environments/{env}/rollouts/{name}", "rollouts", "get", h_rollout,
	  "a rollout's releases and their status" },
	{ "GET", "/v1/projects/{project}/environments/{env}/rollouts/{name}/history", "rollouts", "get",
	  h_rollout_history, "every release of a rollout with its stage log" },
	{ "POST", "/v1/projects/{project}/environments/{env}/rollouts/{name}/promote", "rollouts", "promote",
	  h_rollout_promote, "promote the release in preview" },
	{ "POST", "/v1/projects/{project}/environments/{env}/rollouts/{name}/rollback", "rollouts", "rollback",
	  h_rollout_rollback, "put the previous release (or {to}) live again" },
	{ "POST", "/v1/projects/{project}/environments/{env}/rollouts/{name}/abort", "rollouts", "abort",
	  h_rollout_abort, "stop the release in preview" },
	/* experiments (experiments.c, docs/experiments.md) */
	{ "GET", "/v1/experiments", "experiments", "get", h_experiments, "experiments recorded, each the subject may read" },
	{ "GET", "/v1/projects/{project}/environments/{env}/experiments/{name}", "experiments", "get", h_experiment,
	  "an experiment's status with its history" },
	{ "POST", "/v1/projects/{project}/environments/{env}/experiments/{name}/conclude", "experiments", "conclude",
	  h_experiment_conclude, "conclude an experiment (promote {winner} or the decided verdict)" },
	{ "POST", "/v1/projects/{project}/environments/{env}/experiments/{name}/abort", "experiments", "abort",
	  h_experiment_abort, "abort an experiment: the live release takes all traffic again" },
	{ "GET", "/v1/projects/{project}/version", "versions", "get", h_version,
	  "the project's version, its source and the versioning policy's verdict" },
	{ "GET", "/v1/artifacts", "artifacts", "get", h_artifacts, "recorded artifacts (?name, ?history)" },
	/* teams, namespaces and environment master records (teams.c) */
	{ "GET", "/v1/environments", "environments", "get", h_environments_list, "environment master records" },
	{ "POST", "/v1/environments", "environments", "create", h_environment_create, "create an environment master record" },
	{ "GET", "/v1/environments/{name}", "environments", "get", h_environment_get, "one environment master record" },
	{ "PUT", "/v1/environments/{name}", "environments", "update", h_environment_put,
	  "replace an environment master record (If-Match)" },
	{ "DELETE", "/v1/environments/{name}", "environments", "delete", h_environment_delete,
	  "delete an environment master record" },
	{ "GET", "/v1/teams", "teams", "get", h_teams_list, "teams" },
	{ "POST", "/v1/teams", "teams", "create", h_team_create, "create a team" },
	{ "GET", "/v1/teams/{team}", "teams", "get", h_team_get, "one team (its members may read it)" },
	{ "PUT", "/v1/teams/{team}", "teams", "update", h_team_put, "replace a team (policy or its owners; If-Match)" },
	{ "DELETE", "/v1/teams/{team}", "teams", "delete", h_team_delete, "delete a team (policy only)" },
	{ "GET", "/v1/teams/{team}/namespaces", "namespaces", "get", h_namespaces_list, "the team's namespaces" },
	{ "POST", "/v1/teams/{team}/namespaces", "namespaces", "create", h_namespace_create,
	  "create a namespace in an environment (policy or the team's owners)" },
	{ "GET", "/v1/teams/{team}/namespaces/{env}/{ns}", "namespaces", "get", h_namespace_get,
	  "one namespace with its quota" },
	{ "PUT", "/v1/teams/{team}/namespaces/{env}/{ns}", "namespaces", "update", h_namespace_put,
	  "replace a namespace (policy or the team's owners; If-Match)" },
	{ "DELETE", "/v1/teams/{team}/namespaces/{env}/{ns}", "namespaces", "delete", h_namespace_delete,
	  "delete a namespace (policy or the team's owners)" },
	/* the dashboard (dashboard.c): public static files; their fetches carry the user's token */
	{ "GET", "/ui", NULL, NULL, h_ui_root, "redirects to /ui/" },
	{ "GET", "/ui/", NULL, NULL, h_ui_index, "the dashboard (HTML page)" },
	{ "GET", "/ui/{file}", NULL, NULL, h_ui_asset, "a static file of the dashboard" },
	/* pull agents (agents.c, docs/agents.md) */
	{ "GET", "/v1/agents", "agents", "get", h_agents, "each pull-mode System's agent: last seen, generation, result, lag" },
	{ "GET", "/v1/agents/{name}", "agents", "get", h_agent, "one System's agent" },
	{ "GET", "/v1/agents/{name}/work", "agents", "get", h_agent_work,
	  "the System's work newer than ?after (long poll: 204 after ?wait seconds, at most 25)" },
	{ "POST", "/v1/agents/{name}/reports", "agents", "report", h_agent_report,
	  "an agent's result of applying its work" },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
