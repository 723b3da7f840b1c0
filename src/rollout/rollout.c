/* Releases: blue/green rollouts with hooks, exit tests, promotion and instant rollback
 * (see rollout.h, docs/releases.md). */
#define _GNU_SOURCE
#include "rollout.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "engine/observer.h"
#include "util/subprocess.h"
#include "events/emit.h"
#include "banned.h"

/* One operation on one rollout. */
struct rop {
	struct rollout_env *env;
	const char *project, *environment, *name, *workdir, *statedir;
	json_t *spec;              /* the Rollout spec */
	struct releases rels;      /* newest first */
	const struct cratis_request *parent; /* the Rollout's own request (its System, deadline), or
	                                      * NULL for `cratis rollout` actions */
};

static const char *sget(json_t *o, const char *k, const char *def)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : def;
}

/* An integer field, also given as a string of digits (variables from the environment are text). */
static int iget(json_t *o, const char *k, int def)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v); /* clamped: a huge value must not wrap into range */
		return i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (int)i;
	}
	const char *s = json_string_value(v);
	if (s && *s && strlen(s) < 10 && strspn(s, "0123456789") == strlen(s))
		return atoi(s);
	return def;
}

/* Seconds as milliseconds for an int deadline, computed in 64 bits and kept in 1 s .. 24 h
 * (a value outside is clamped: 0 or less would mean no deadline, more would overflow). */
static int seconds_ms(int seconds)
{
	int64_t ms = (int64_t)seconds * 1000;
	return ms < 1000 ? 1000 : ms > 86400000 ? 86400000 : (int)ms;
}

static struct release *find(struct rop *o, const char *status)
{
	for (size_t i = 0; i < o->rels.n; i++)
		if (o->rels.v[i].status && !strcmp(o->rels.v[i].status, status))
			return &o->rels.v[i];
	return NULL;
}

static struct release *find_id(struct rop *o, const char *id)
{
	for (size_t i = 0; i < o->rels.n; i++)
		if (!strcmp(o->rels.v[i].id, id))
			return &o->rels.v[i];
	return NULL;
}

static void set_str(char **field, const char *v)
{
	char *copy = v ? xstrdup(v) : NULL; /* v may be *field itself */
	free(*field);
	*field = copy;
}

/* Append a stage record to r->log and save r. */
static void record(struct rop *o, struct release *r, const char *stage, const char *result, const char *output)
{
	json_t *log = r->log ? json_loads(r->log, 0, NULL) : NULL;
	if (!json_is_array(log)) {
		json_decref(log);
		log = json_array();
	}
	char at[32];
	now_rfc3339(at);
	json_array_append_new(log, json_pack("{s:s,s:s,s:s,s:s}", "stage", stage, "result", result, "output", output ? output : "", "at", at));
	char *t = json_dumps(log, JSON_COMPACT);
	set_str(&r->log, t);
	free(t);
	json_decref(log);
	set_str(&r->stage, stage);
	stage = r->stage; /* stage may have been r->stage itself, which set_str freed */
	/* a typed event for the observer (the server streams it; the outbox will record it) */
	char *what = xasprintf("release %s %s: %s%s%s", r->id, stage, result, output && *output ? ": " : "", output ? output : "");
	char *who = xasprintf("Rollout/%s", o->name);
	engine_emit(o->env->observer, &(struct engine_event){ .type = EV_STAGE, .resource = who, .message = what });
	free(what);
	free(who);
	if (store_release_put(o->env->store, r))
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record release %s: %s", o->name, r->id, cratis_error_last()->message);
}

static char *url_of(int port)
{
	return port ? xasprintf("http://127.0.0.1:%d/", port) : xstrdup("");
}

/* Run the hooks of stage (spec.hooks.STAGE: [{run: argv, timeoutSeconds, retries}]) for r. */
/* What one hook runs: its own `run` argv, or the apply command of a Task resource (`task:
 * Task/NAME`) as recorded in this environment, with the Task's env and workdir. */
struct hook_cmd {
	const char **argv;        /* borrowed strings, heap array */
	struct strv env;          /* CRATIS_* and the Task's env, "K=V" */
	char *workdir;
	int timeout_ms;
	json_t *spec;             /* the Task's recorded spec, kept alive for argv */
};

static void hook_cmd_release(struct hook_cmd *hc)
{
	free(hc->argv);
	strv_release(&hc->env);
	free(hc->workdir);
	json_decref(hc->spec);
}

static int hook_command(struct rop *o, json_t *h, const char *const *base_env, struct hook_cmd *hc)
{
	memset(hc, 0, sizeof(*hc));
	for (size_t k = 0; base_env[k]; k++)
		strv_push(&hc->env, base_env[k]);
	json_t *run = json_object_get(h, "run");
	const char *task = sget(h, "task", NULL);
	if (task) {
		struct state_rows rows;
		int lrc = store_list(o->env->store, o->environment, NULL, &rows);
		if (lrc) {
			hook_cmd_release(hc);
			return lrc;
		}
		struct state_row *row = store_rows_find(&rows, o->project, task);
		hc->spec = row && row->spec ? json_loads(row->spec, 0, NULL) : NULL;
		store_rows_release(&rows);
		if (!hc->spec) {
			hook_cmd_release(hc);
			return error_set(CRATIS_ENOTFOUND, "hook task %s is not applied in environment '%s' (declare it in the manifests and list it in the Rollout's dependsOn)",
			                 task, o->environment);
		}
		run = json_object_get(hc->spec, "apply");
		if (json_is_string(run) && json_is_true(json_object_get(hc->spec, "shell"))) {
			hc->argv = xcalloc(4, sizeof(char *));
			hc->argv[0] = "/bin/sh";
			hc->argv[1] = "-c";
			hc->argv[2] = json_string_value(run);
			run = NULL;
		}
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(hc->spec, "env"), k, v)
			if (json_is_string(v))
				strv_push_owned(&hc->env, xasprintf("%s=%s", k, json_string_value(v)));
		const char *wd = sget(hc->spec, "workdir", NULL);
		hc->workdir = wd ? (wd[0] == '/' ? xstrdup(wd) : xasprintf("%s/%s", o->workdir, wd)) : xstrdup(o->workdir);
		hc->timeout_ms = seconds_ms(iget(h, "timeoutSeconds", iget(hc->spec, "timeoutSeconds", 300)));
	} else {
		hc->workdir = xstrdup(o->workdir);
		hc->timeout_ms = seconds_ms(iget(h, "timeoutSeconds", 60));
	}
	if (!hc->argv) {
		hc->argv = xcalloc(json_array_size(run) + 1, sizeof(char *));
		for (size_t k = 0; k < json_array_size(run); k++)
			hc->argv[k] = json_string_value(json_array_get(run, k));
	}
	if (!hc->argv[0]) {
		hook_cmd_release(hc);
		return error_set(CRATIS_EINVAL, "hook %s has no command", task ? task : "");
	}
	return CRATIS_OK;
}

/* A hook that names a resource other than a Task (`task: Migration/NAME`): the engine applies
 * that resource now, as it applies it in the run (call.apply_now), and its outcome is the hook's. */
static int resource_hook(struct rop *o, struct release *r, const char *stage, size_t i, const char *id)
{
	struct call *c = o->parent ? o->parent->call : NULL;
	if (!c || !c->apply_now) {
		char *m = xasprintf("%s can run only inside `cratis apply`, which applies it as it applies every resource", id);
		record(o, r, stage, "failed", m);
		error_set(CRATIS_EINVAL, "%s hook %zu: %s", stage, i + 1, m);
		free(m);
		return CRATIS_EINVAL;
	}
	char *detail = NULL;
	int rc = c->apply_now(c->apply_now_payload, id, &detail);
	if (rc) {
		char *msg = xstrdup(cratis_error_last()->message);
		record(o, r, stage, "failed", msg);
		error_set(CRATIS_ERROR, "%s hook %zu (%s) failed: %s", stage, i + 1, id, msg);
		free(msg);
	} else {
		record(o, r, stage, "ok", detail);
	}
	free(detail);
	return rc;
}

static int run_hooks(struct rop *o, struct release *r, const char *stage)
{
	if (o->env->cancel && *o->env->cancel)
		return error_set(CRATIS_ERROR, "interrupted before the %s hooks", stage);
	json_t *hooks = json_object_get(json_object_get(o->spec, "hooks"), stage);
	size_t i;
	json_t *h;
	char *preview = url_of(iget(o->spec, "previewPort", 0)), *active = url_of(iget(o->spec, "activePort", 0));
	char *own = url_of(r->port);
	char *e[6] = { xasprintf("CRATIS_STAGE=%s", stage), xasprintf("CRATIS_RELEASE=%s", r->id),
	               xasprintf("CRATIS_RELEASE_URL=%s", own), xasprintf("CRATIS_PREVIEW_URL=%s", preview),
	               xasprintf("CRATIS_ACTIVE_URL=%s", active), NULL };
	int rc = CRATIS_OK;
	json_array_foreach(hooks, i, h) {
		const char *task = sget(h, "task", NULL);
		if (task && !starts_with(task, "Task/") && !json_object_get(h, "run")) {
			if (resource_hook(o, r, stage, i, task)) {
				rc = CRATIS_ERROR;
				break;
			}
			engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu (%s) passed", o->name, stage, i + 1, task);
			continue;
		}
		struct hook_cmd hc;
		if (hook_command(o, h, (const char *const *)e, &hc)) {
			record(o, r, stage, "failed", cratis_error_last()->message);
			rc = CRATIS_ERROR;
			break;
		}
		const char **argv = hc.argv;
		int tries = 1 + iget(h, "retries", 0);
		struct proc_result res;
		struct proc_spec ps = { .argv = argv, .env = (const char *const *)hc.env.v, .workdir = hc.workdir,
		                        .timeout_ms = hc.timeout_ms, .cancel = o->env->cancel, .grace_ms = o->env->grace_ms };
		bool ok = false;
		for (int t = 0; t < tries && !ok; t++) {
			if (t)
				engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu: retry %d of %d", o->name, stage, i + 1, t, tries - 1);
			if (proc_run(&ps, &res)) {
				record(o, r, stage, "failed", cratis_error_last()->message);
				break;
			}
			ok = res.exit_code == 0 && !res.timed_out;
			struct buf out = BUF_INIT;
			buf_add(&out, res.out.ptr, res.out.len);
			buf_add(&out, res.err.ptr, res.err.len);
			while (out.len && (out.ptr[out.len - 1] == '\n' || out.ptr[out.len - 1] == ' '))
				out.ptr[--out.len] = '\0';
			if (ok || t == tries - 1)
				record(o, r, stage, ok ? "ok" : "failed", out.ptr);
			if (!ok && t == tries - 1)
				error_set(CRATIS_ERROR, "%s hook %zu ('%s') %s%s%s", stage, i + 1, argv[0],
				          res.timed_out ? "timed out" : "failed", out.len ? ": " : "", out.ptr);
			buf_release(&out);
			proc_result_release(&res);
		}
		hook_cmd_release(&hc);
		if (!ok) {
			if (!cratis_error_last()->status)
				error_set(CRATIS_ERROR, "%s hook %zu could not run", stage, i + 1);
			rc = CRATIS_ERROR;
			break;
		}
		engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu passed", o->name, stage, i + 1);
	}
	for (size_t k = 0; e[k]; k++)
		free(e[k]);
	free(preview);
	free(active);
	free(own);
	return rc;
}

/* Call op of the handler for group/kind with spec, in statedir dir (created). */
static int call_handler(struct rop *o, const char *group, const char *kind, enum op op, const char *name,
                        const char *dir, const char *spec, json_t **out)
{
	struct handler *h = registry_find(o->env->reg, group, kind, "v1");
	if (!h)
		return error_set(CRATIS_ENOTFOUND, "rollout '%s' needs the %s plugin (%s/v1 %s), which is not loaded", o->name, group, group, kind);
	mkdir_p(dir);
	char *api = xasprintf("%s/v1", group);
	struct cratis_request req = { .api_version = api, .kind = kind, .name = name, .project = o->project,
	                              .environment = o->environment, .spec = spec, .workdir = o->workdir, .statedir = dir };
	if (o->parent) {
		/* the releases and the Route run on the Rollout's System, under its deadline */
		req.system = o->parent->system;
		req.system_type = o->parent->system_type;
		req.system_spec = o->parent->system_spec;
		req.deadline_ms = o->parent->deadline_ms;
		req.dry_run = o->parent->dry_run && op != OP_APPLY && op != OP_DESTROY;
	}
	struct call c;
	char *id = xasprintf("%s/%s", kind, name);
	call_init(&c, id);
	c.observer = o->env->observer;
	json_t *res = NULL;
	int rc = handler_call(h, op, &req, &c, &res);
	if (out)
		*out = res;
	else
		json_decref(res);
	call_release(&c);
	free(id);
	free(api);
	return rc;
}

static char *release_dir(struct rop *o, const struct release *r)
{
	return xasprintf("%s/releases/%s", o->statedir, r->id);
}

static int service(struct rop *o, enum op op, struct release *r)
{
	char *dir = release_dir(o, r), *name = xasprintf("%s@%s", o->name, r->id);
	int rc = call_handler(o, "service", "Service", op, name, dir, op == OP_DESTROY ? NULL : r->spec, NULL);
	free(dir);
	free(name);
	return rc;
}

/* Point the router: active traffic to port active (0: nothing live yet), preview to preview. */
static int route(struct rop *o, int active, int preview)
{
	int ap = iget(o->spec, "activePort", 0), pp = iget(o->spec, "previewPort", 0);
	char up[32], pup[32];
	snprintf(up, sizeof(up), "127.0.0.1:%d", active ? active : preview);
	snprintf(pup, sizeof(pup), "127.0.0.1:%d", preview ? preview : active);
	/* before anything is live, only the preview address is served */
	json_t *s = active ? json_pack("{s:i,s:s,s:{s:i,s:s}}", "listen", ap, "upstream", up, "preview", "listen", pp, "upstream", pup)
	                   : json_pack("{s:i,s:s}", "listen", pp, "upstream", up);
	char *spec = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS), *dir = xasprintf("%s/router", o->statedir);
	int rc = call_handler(o, "router", "Route", OP_APPLY, o->name, dir, spec, NULL);
	free(spec);
	free(dir);
	json_decref(s);
	return rc;
}

static int route_destroy(struct rop *o)
{
	char *dir = xasprintf("%s/router", o->statedir);
	int rc = call_handler(o, "router", "Route", OP_DESTROY, o->name, dir, NULL, NULL);
	free(dir);
	return rc;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The Service spec of a release: the template plus PORT and its health check. */
static char *service_spec(json_t *tmpl, int port)
{
	json_t *s = json_deep_copy(tmpl);
	json_t *env = json_object_get(s, "env");
	if (!json_is_object(env)) {
		env = json_object();
		json_object_set_new(s, "env", env);
	}
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	json_object_set_new(env, "PORT", json_string(p));
	json_t *health = json_object_get(s, "health");
	const char *path = sget(health, "path", "/");
	char *url = xasprintf("http://127.0.0.1:%d%s%s", port, path[0] == '/' ? "" : "/", path);
	json_t *h = json_pack("{s:s,s:O?}", "http", url, "timeoutSeconds", json_object_get(health, "timeoutSeconds"));
	free(url);
	json_object_set_new(s, "health", h);
	char *t = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s);
	return t;
}

/* Content hash of the template, so that an unchanged application is never re-released. */
static void template_hash(json_t *tmpl, char out[9])
{
	char *t = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = 1469598103934665603ull;
	for (const char *p = t; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(out, 9, "%08x", (unsigned)(h ^ (h >> 32)));
	free(t);
}

static bool same_template(const struct release *r, const char *hash)
{
	const char *dash = strrchr(r->id, '-');
	return dash && !strcmp(dash + 1, hash);
}

static void op_release(struct rop *o)
{
	store_releases_release(&o->rels);
	json_decref(o->spec);
}

static int op_load(struct rop *o, struct rollout_env *env, const struct rollout_target *t)
{
	memset(o, 0, sizeof(*o));
	o->env = env;
	o->project = t->project;
	o->environment = t->environment;
	o->name = t->name;
	o->workdir = t->workdir;
	o->statedir = t->statedir;
	o->spec = t->spec ? json_loads(t->spec, 0, NULL) : NULL;
	if (!json_is_object(o->spec)) {
		json_decref(o->spec);
		o->spec = NULL;
		return error_set(CRATIS_ENOTFOUND, "rollout '%s' has not been applied in environment '%s'", t->name, t->environment);
	}
	return store_releases(env->store, t->environment, t->project, t->name, &o->rels);
}

static void retire(struct rop *o, struct release *r, const char *why)
{
	service(o, OP_DESTROY, r);
	set_str(&r->status, "retired");
	record(o, r, "scaleDown", "ok", why);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s scaled down (%s)", o->name, r->id, why);
}

static void scale_down(struct rop *o)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < o->rels.n; i++) {
		struct release *r = &o->rels.v[i];
		if (r->status && !strcmp(r->status, "previous") && r->retire_at && r->retire_at <= now)
			retire(o, r, "scaleDownDelaySeconds passed");
	}
}

/* Tear a failed island down; the live release keeps serving. */
static void teardown(struct rop *o, struct release *r, const struct release *active, const char *status)
{
	service(o, OP_DESTROY, r);
	if (active)
		route(o, active->port, active->port);
	else
		route_destroy(o);
	set_str(&r->status, status);
	record(o, r, r->stage ? r->stage : "teardown", status, "island torn down");
}

/* recreate: start the release stopped for r again and route traffic back to it. */
static void restore(struct rop *o, struct release *old)
{
	if (!old)
		return;
	if (service(o, OP_APPLY, old) || route(o, old->port, old->port)) {
		record(o, old, "restore", "failed", cratis_error_last()->message);
		return;
	}
	set_str(&old->status, "active");
	old->retire_at = 0;
	record(o, old, "restore", "ok", "started again after the new release failed");
}

/* Switch traffic to r; the active release becomes the hot previous one. stopped (recreate) is
 * the release stopped to make room for r: restarted when r fails, retired when r is live. */
static int promote(struct rop *o, struct release *r, struct release *stopped)
{
	struct release *active = find(o, "active");
	if (run_hooks(o, r, "promote")) {
		char *msg = xstrdup(cratis_error_last()->message);
		teardown(o, r, active, "failed");
		restore(o, stopped);
		error_set(CRATIS_ERROR, "release %s not promoted: %s; %s", r->id, msg,
		          active ? "the live release keeps serving" : stopped ? "the previous release was started again" : "nothing was live");
		free(msg);
		return CRATIS_ERROR;
	}
	if (route(o, r->port, r->port)) {
		char *msg = xstrdup(cratis_error_last()->message);
		error_set(CRATIS_ERROR, "release %s not promoted: switching traffic failed: %s", r->id, msg);
		free(msg);
		return CRATIS_ERROR;
	}
	set_str(&r->status, "active");
	record(o, r, "promote", "ok", "traffic switched");
	if (events_emit_rollout(o->env->store, o->project, o->environment, o->name, r->id, active ? active->id : NULL, false, NULL))
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record its event: %s", o->name, cratis_error_last()->message);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is live on %d", o->name, r->id, iget(o->spec, "activePort", 0));
	int delay = iget(o->spec, "scaleDownDelaySeconds", 30);
	for (size_t i = 0; i < o->rels.n; i++) {
		struct release *x = &o->rels.v[i];
		if (x != r && x->status && !strcmp(x->status, "previous"))
			retire(o, x, "superseded by a newer previous release");
	}
	if (active) {
		set_str(&active->status, "previous");
		active->retire_at = delay > 0 ? (int64_t)time(NULL) + delay : 0;
		record(o, active, "promote", "ok", "kept hot for rollback");
	}
	if (run_hooks(o, r, "afterPostProd")) {
		char *msg = xstrdup(cratis_error_last()->message);
		if (active) {
			route(o, active->port, active->port);
			set_str(&active->status, "active");
			active->retire_at = 0;
			record(o, active, "rollback", "ok", "automatic rollback after a failed afterPostProd check");
			if (events_emit_rollout(o->env->store, o->project, o->environment, o->name, active->id, r->id, true, msg))
				engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record its event: %s", o->name, cratis_error_last()->message);
			service(o, OP_DESTROY, r);
			set_str(&r->status, "failed");
			record(o, r, "afterPostProd", "failed", msg);
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; rolled back to %s", r->id, msg, active->id);
		} else if (stopped) {
			service(o, OP_DESTROY, r);
			set_str(&r->status, "failed");
			record(o, r, "afterPostProd", "failed", msg);
			restore(o, stopped);
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; rolled back to %s (started again)", r->id, msg, stopped->id);
		} else {
			teardown(o, r, NULL, "failed");
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; nothing to roll back to, release removed", r->id, msg);
		}
		free(msg);
		return CRATIS_ERROR;
	}
	if (stopped) {
		set_str(&stopped->status, "retired");
		record(o, stopped, "promote", "ok", "replaced (recreate)");
	}
	return CRATIS_OK;
}

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = json_loads(req->spec, 0, NULL);
	struct call *c = req->call;
	int rc = CRATIS_OK;
	const char *strategy = sget(s, "strategy", "blueGreen");
	json_t *tmpl = json_object_get(s, "template");
	static const char *const stages[] = { "beforePreProd", "afterPreProd", "exitTests", "promote", "afterPostProd" };
	if (strcmp(strategy, "blueGreen") && strcmp(strategy, "recreate")) {
		host_services.error(c, "spec.strategy", "expected blueGreen or recreate");
		rc = CRATIS_EINVAL;
	} else if (iget(s, "activePort", 0) <= 0 || iget(s, "activePort", 0) > 65535) {
		host_services.error(c, "spec.activePort", "expected the public port, an integer from 1 to 65535");
		rc = CRATIS_EINVAL;
	} else if (iget(s, "previewPort", 0) <= 0 || iget(s, "previewPort", 0) > 65535 || iget(s, "previewPort", 0) == iget(s, "activePort", 0)) {
		host_services.error(c, "spec.previewPort", "expected the preview port, an integer from 1 to 65535 other than activePort");
		rc = CRATIS_EINVAL;
	} else if (!json_is_object(tmpl) || !json_is_array(json_object_get(tmpl, "command"))) {
		host_services.error(c, "spec.template.command", "expected the release's command as a sequence of arguments (it listens on $PORT)");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "autoPromotion") && !json_is_boolean(json_object_get(s, "autoPromotion"))) {
		host_services.error(c, "spec.autoPromotion", "expected true or false");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "scaleDownDelaySeconds") &&
	           (iget(s, "scaleDownDelaySeconds", -1) < 0 || iget(s, "scaleDownDelaySeconds", -1) > 86400 * 30)) {
		host_services.error(c, "spec.scaleDownDelaySeconds", "expected a number of seconds, 0 to keep the previous release until the next one");
		rc = CRATIS_EINVAL;
	}
	json_t *hooks = json_object_get(s, "hooks");
	for (size_t k = 0; !rc && k < 5; k++) {
		json_t *list = json_object_get(hooks, stages[k]);
		size_t i;
		json_t *h;
		if (list && !json_is_array(list)) {
			char *f = xasprintf("spec.hooks.%s", stages[k]);
			host_services.error(c, f, "expected a sequence of {run: [argv], timeoutSeconds, retries}");
			free(f);
			rc = CRATIS_EINVAL;
		}
		json_array_foreach(list, i, h) {
			json_t *run = json_object_get(h, "run");
			const char *task = sget(h, "task", NULL);
			bool ok = json_is_array(run) && json_array_size(run);
			for (size_t a = 0; ok && a < json_array_size(run); a++)
				ok = json_is_string(json_array_get(run, a));
			const char *slash = task ? strchr(task, '/') : NULL;
			bool resource = false; /* task: names a kind other than Task (a Migration) */
			if (task && !run) {
				ok = slash && slash > task && slash[1] && !strchr(slash + 1, '/');
				resource = ok && !starts_with(task, "Task/");
			}
			if (!ok && !rc) {
				char *f = xasprintf("spec.hooks.%s[%zu]%s", stages[k], i, task ? ".task" : ".run");
				host_services.error(c, f, task ? "expected Kind/NAME, a resource of this project whose kind applies (Task/NAME, Migration/NAME)"
				                               : "expected run: a command as a sequence of strings, or task: Kind/NAME (Task/NAME, Migration/NAME)");
				free(f);
				rc = CRATIS_EINVAL;
			}
			if (!rc && resource && (json_object_get(h, "retries") || json_object_get(h, "timeoutSeconds"))) {
				char *f = xasprintf("spec.hooks.%s[%zu].%s", stages[k], i, json_object_get(h, "retries") ? "retries" : "timeoutSeconds");
				host_services.error(c, f, "not for a %.*s hook: it is applied once, as the engine applies it (under --timeout); retries and timeoutSeconds are for run and Task hooks",
				                    (int)(slash - task), task);
				free(f);
				rc = CRATIS_EINVAL;
			}
			/* durations and counts in range: 0 or -5 used to mean "no deadline" */
			json_t *to = json_object_get(h, "timeoutSeconds"), *re = json_object_get(h, "retries");
			int tv = iget(h, "timeoutSeconds", -1), rv = iget(h, "retries", -1);
			if (!rc && to && (tv < 1 || tv > 86400)) {
				char *f = xasprintf("spec.hooks.%s[%zu].timeoutSeconds", stages[k], i);
				host_services.error(c, f, "expected a whole number of seconds from 1 to 86400 (one day)");
				free(f);
				rc = CRATIS_EINVAL;
			} else if (!rc && re && (rv < 0 || rv > 100)) {
				char *f = xasprintf("spec.hooks.%s[%zu].retries", stages[k], i);
				host_services.error(c, f, "expected a number of retries from 0 to 100");
				free(f);
				rc = CRATIS_EINVAL;
			}
		}
	}
	json_decref(s);
	return rc;
}

/* The rollout a request is about, with the spec it recorded (destroy, observe: from prior).
 * Returns the heap text t->spec points to when it came from prior (caller frees), else NULL. */
static char *target_of(const struct cratis_request *req, bool from_prior, struct rollout_target *t)
{
	*t = (struct rollout_target){ req->project, req->environment, req->name, req->spec, req->workdir, req->statedir };
	if (!from_prior)
		return NULL;
	json_t *prior = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	char *spec = json_dumps(json_object_get(prior, "spec"), JSON_COMPACT);
	json_decref(prior);
	t->spec = spec;
	return spec;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	struct rollout_target t;
	target_of(req, false, &t);
	struct rop o;
	int rc = op_load(&o, data, &t);
	o.parent = req;
	if (rc)
		goto out_release;
	scale_down(&o);
	json_t *tmpl = json_object_get(o.spec, "template");
	char hash[9];
	template_hash(tmpl, hash);
	struct release *active = find(&o, "active"), *preview = find(&o, "preview");
	if (active && same_template(active, hash)) {
		rc = route(&o, active->port, preview ? preview->port : active->port);
		goto out_outputs;
	}
	if (preview && same_template(preview, hash) && preview->stage && !strcmp(preview->stage, "awaitingPromotion")) {
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is in preview, awaiting `cratis rollout promote`", o.name, preview->id);
		goto out_outputs;
	}
	if (preview) {
		/* a newer template, or a run interrupted while building this island */
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: aborting release %s in preview (%s)", o.name, preview->id,
		        same_template(preview, hash) ? "interrupted before its exit tests passed" : "superseded by a newer template");
		teardown(&o, preview, active, "aborted");
	}
	/* a new release, appended as the newest */
	ALLOC_GROW(o.rels.v, o.rels.n + 1, o.rels.alloc);
	memmove(o.rels.v + 1, o.rels.v, o.rels.n * sizeof(*o.rels.v));
	o.rels.n++;
	struct release *r = &o.rels.v[0];
	memset(r, 0, sizeof(*r));
	active = find(&o, "active");
	r->project = xstrdup(o.project);
	r->environment = xstrdup(o.environment);
	r->rollout = xstrdup(o.name);
	r->id = xasprintf("r%zu-%s", o.rels.n, hash);
	r->colour = xstrdup(active && !strcmp(active->colour, "blue") ? "green" : "blue");
	r->status = xstrdup("preview");
	engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s (%s)", o.name, r->id, r->colour);
	if ((rc = run_hooks(&o, r, "beforePreProd"))) {
		set_str(&r->status, "failed");
		record(&o, r, "beforePreProd", "failed", cratis_error_last()->message);
		error_prefix("release %s aborted before its island was built", r->id);
		goto out_release;
	}
	struct release *stopped = NULL;
	if (!strcmp(sget(o.spec, "strategy", "blueGreen"), "recreate") && active) {
		/* recreate: the live release stops before the new one starts (downtime, one process) */
		service(&o, OP_DESTROY, active);
		set_str(&active->status, "stopped");
		record(&o, active, "recreate", "ok", "stopped to make room for the new release");
		stopped = active;
		active = NULL;
	}
	const char *left = active ? "the live release keeps serving" : stopped ? "the previous release was started again" : "nothing is live";
	r->port = free_port();
	r->spec = service_spec(tmpl, r->port);
	record(&o, r, "preProd", "started", NULL);
	if ((rc = service(&o, OP_APPLY, r))) {
		char *msg = xstrdup(cratis_error_last()->message);
		set_str(&r->status, "failed");
		record(&o, r, "preProd", "failed", msg);
		restore(&o, stopped);
		error_set(rc, "release %s did not start: %s; %s", r->id, msg, left);
		free(msg);
		goto out_release;
	}
	if ((rc = route(&o, active ? active->port : 0, r->port))) {
		teardown(&o, r, active, "failed");
		restore(&o, stopped);
		goto out_release;
	}
	record(&o, r, "preProd", "ok", "island up");
	if ((rc = run_hooks(&o, r, "afterPreProd")) || (rc = run_hooks(&o, r, "exitTests"))) {
		char *msg = xstrdup(cratis_error_last()->message);
		teardown(&o, r, active, "failed");
		restore(&o, stopped);
		error_set(rc, "release %s aborted: %s; island torn down, %s", r->id, msg, left);
		free(msg);
		goto out_release;
	}
	json_t *auto_p = json_object_get(o.spec, "autoPromotion");
	if (auto_p && json_is_false(auto_p)) {
		record(&o, r, "awaitingPromotion", "ok", "autoPromotion is false: `cratis rollout promote` switches traffic");
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s passed its exit tests; awaiting `cratis rollout promote`", o.name, r->id);
		goto out_outputs;
	}
	if ((rc = promote(&o, r, stopped)))
		goto out_release;
out_outputs:
	{
		struct release *a = find(&o, "active"), *p = find(&o, "preview");
		json_t *outputs = json_pack("{s:s,s:s,s:s?,s:s?}", "activeUrl", "", "previewUrl", "",
		                            "active", a ? a->id : NULL, "preview", p ? p->id : NULL);
		char *au = url_of(iget(o.spec, "activePort", 0)), *pu = url_of(iget(o.spec, "previewPort", 0));
		json_object_set_new(outputs, "activeUrl", json_string(au));
		json_object_set_new(outputs, "previewUrl", json_string(pu));
		free(au);
		free(pu);
		json_t *doc = json_pack("{s:o}", "outputs", outputs);
		*out = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
out_release:
	op_release(&o);
	if (rc)
		host_services.error(req->call, NULL, "%s", cratis_error_last()->message);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)out;
	struct rollout_target t;
	char *spec = target_of(req, true, &t);
	struct rop o;
	int rc = op_load(&o, data, &t);
	o.parent = req;
	if (!rc) {
		for (size_t i = 0; i < o.rels.n; i++) {
			struct release *r = &o.rels.v[i];
			if (!strcmp(r->status, "active") || !strcmp(r->status, "previous") || !strcmp(r->status, "preview"))
				retire(&o, r, "rollout destroyed");
		}
		route_destroy(&o);
	}
	op_release(&o);
	free(spec);
	return rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	struct rollout_target t;
	char *spec = target_of(req, true, &t);
	struct rop o;
	json_t *doc = NULL;
	if (!op_load(&o, data, &t)) {
		o.parent = req;
		struct release *a = find(&o, "active");
		if (a && !rollout_release_healthy(a)) {
			char *why = xasprintf("active release %s does not answer on port %d", a->id, a->port);
			doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why);
			free(why);
		}
	}
	if (!doc)
		doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	op_release(&o);
	free(spec);
	return CRATIS_OK;
}

bool rollout_release_healthy(const struct release *r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && r->port > 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int rollout_promote(struct rollout_env *env, const struct rollout_target *t)
{
	struct rop o;
	int rc = op_load(&o, env, t);
	if (!rc) {
		struct release *p = find(&o, "preview");
		rc = p ? promote(&o, p, NULL) : error_set(CRATIS_ENOTFOUND, "rollout '%s' has no release in preview to promote", t->name);
	}
	op_release(&o);
	return rc;
}

int rollout_abort(struct rollout_env *env, const struct rollout_target *t)
{
	struct rop o;
	int rc = op_load(&o, env, t);
	if (!rc) {
		struct release *p = find(&o, "preview");
		if (p)
			teardown(&o, p, find(&o, "active"), "aborted");
		else
			rc = error_set(CRATIS_ENOTFOUND, "rollout '%s' has no release in preview to abort", t->name);
	}
	op_release(&o);
	return rc;
}

int rollout_rollback(struct rollout_env *env, const struct rollout_target *t, const char *to)
{
	struct rop o;
	int rc = op_load(&o, env, t);
	if (rc)
		goto out_release;
	struct release *active = find(&o, "active");
	struct release *target = to ? find_id(&o, to) : find(&o, "previous");
	if (!target) {
		rc = error_set(CRATIS_ENOTFOUND, to ? "rollout '%s' has no release '%s'" : "rollout '%s' has no previous release to roll back to%s",
		               t->name, to ? to : "");
		goto out_release;
	}
	if (target == active) {
		rc = error_set(CRATIS_EINVAL, "release %s is already live", target->id);
		goto out_release;
	}
	if (!rollout_release_healthy(target)) {
		/* scaled down (or dead): bring it back first, then switch */
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is not running; redeploying it", o.name, target->id);
		if ((rc = service(&o, OP_APPLY, target)))
			goto out_release;
	}
	if ((rc = route(&o, target->port, target->port)))
		goto out_release;
	set_str(&target->status, "active");
	target->retire_at = 0;
	record(&o, target, "rollback", "ok", "traffic switched back");
	if (events_emit_rollout(o.env->store, o.project, o.environment, o.name, target->id, active ? active->id : NULL, true, "cratis rollout rollback"))
		engine_logf(o.env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record its event: %s", o.name, cratis_error_last()->message);
	if (active) {
		int delay = iget(o.spec, "scaleDownDelaySeconds", 30);
		set_str(&active->status, "previous");
		active->retire_at = delay > 0 ? (int64_t)time(NULL) + delay : 0;
		record(&o, active, "rollback", "ok", "rolled back from; kept hot");
	}
	engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: rolled back to release %s", o.name, target->id);
out_release:
	op_release(&o);
	return rc;
}

void rollout_scale_down(struct rollout_env *env, const struct rollout_target *t)
{
	struct rop o;
	if (!op_load(&o, env, t))
		scale_down(&o);
	op_release(&o);
}

int rollout_register(struct registry *reg, struct rollout_env *env, struct diags *errors)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), validate, NULL, apply, destroy, observe };
	static const char *const versions[] = { "v1", NULL };
	struct cratis_handler h = { sizeof(h), "cratis", "Rollout", versions, &ops, env, NULL }; /* fields: src/model/schema.c */
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup("cratis");
	p->version = xstrdup(CRATIS_CORE_VERSION);
	p->path = xstrdup("(built in)");
	p->form = PLUGIN_CORE;
	ALLOC_GROW(reg->plugins, reg->nplugins + 1, reg->aplugins);
	reg->plugins[reg->nplugins++] = p;
	return registry_add_handler(reg, p, &h, errors);
}
