/* Releases: the helpers every rollout operation shares: spec fields, the release list, stage
 * records, and the Service and Route handlers a release runs through (see rollout_internal.h). */
#define _GNU_SOURCE
#include "rollout_internal.h"

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
#include "banned.h"

const char *ro_sget(json_t *o, const char *k, const char *def)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : def;
}

/* An integer field, also given as a string of digits (variables from the environment are text). */
int ro_iget(json_t *o, const char *k, int def)
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
int ro_seconds_ms(int seconds)
{
	int64_t ms = (int64_t)seconds * 1000;
	return ms < 1000 ? 1000 : ms > 86400000 ? 86400000 : (int)ms;
}

struct release *ro_find(struct rop *o, const char *status)
{
	for (size_t i = 0; i < o->rels.n; i++)
		if (o->rels.v[i].status && !strcmp(o->rels.v[i].status, status))
			return &o->rels.v[i];
	return NULL;
}

struct release *ro_find_id(struct rop *o, const char *id)
{
	for (size_t i = 0; i < o->rels.n; i++)
		if (!strcmp(o->rels.v[i].id, id))
			return &o->rels.v[i];
	return NULL;
}

void ro_set_str(char **field, const char *v)
{
	char *copy = v ? xstrdup(v) : NULL; /* v may be *field itself */
	free(*field);
	*field = copy;
}

void ro_note(struct rop *o, struct release *r, const char *stage, const char *result, const char *output)
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
	ro_set_str(&r->log, t);
	free(t);
	json_decref(log);
	ro_set_str(&r->stage, stage);
	stage = r->stage; /* stage may have been r->stage itself, which set_str freed */
	/* a typed event for the observer (the server streams it; the outbox will record it) */
	char *what = xasprintf("release %s %s: %s%s%s", r->id, stage, result, output && *output ? ": " : "", output ? output : "");
	char *who = xasprintf("Rollout/%s", o->name);
	engine_emit(o->env->observer, &(struct engine_event){ .type = EV_STAGE, .resource = who, .message = what });
	free(what);
	free(who);
}

int ro_save(struct rop *o, struct release *const *v, size_t n)
{
	struct release *rows = xcalloc(n ? n : 1, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		rows[i] = *v[i]; /* shallow: the strings stay v's */
	int rc = store_releases_put(o->env->store, rows, n);
	free(rows);
	if (rc)
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record release %s%s: %s", o->name, n ? v[0]->id : "",
		            n > 1 ? " and the releases it switches with" : "", cratis_error_last()->message);
	return rc;
}

void ro_record(struct rop *o, struct release *r, const char *stage, const char *result, const char *output)
{
	ro_note(o, r, stage, result, output);
	ro_save(o, &r, 1);
}

char *ro_url_of(int port)
{
	return port ? xasprintf("http://127.0.0.1:%d/", port) : xstrdup("");
}

int ro_call_handler(struct rop *o, const char *group, const char *kind, enum op op, const char *name,
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

char *ro_release_dir(struct rop *o, const struct release *r)
{
	return xasprintf("%s/releases/%s", o->statedir, r->id);
}

int ro_service(struct rop *o, enum op op, struct release *r)
{
	char *dir = ro_release_dir(o, r), *name = xasprintf("%s@%s", o->name, r->id);
	int rc = ro_call_handler(o, "service", "Service", op, name, dir, op == OP_DESTROY ? NULL : r->spec, NULL);
	free(dir);
	free(name);
	return rc;
}

bool ro_release_owns_port(struct rop *o, struct release *r, char **why)
{
	*why = NULL;
	char *dir = ro_release_dir(o, r), *name = xasprintf("%s@%s", o->name, r->id);
	json_t *res = NULL;
	int rc = ro_call_handler(o, "service", "Service", OP_OBSERVE, name, dir, r->spec, &res);
	free(dir);
	free(name);
	bool ok = !rc && json_is_false(json_object_get(res, "drift")) && r->port > 0;
	if (!ok) {
		const char *reason = json_string_value(json_object_get(res, "reason"));
		*why = xstrdup(rc ? cratis_error_last()->message : reason ? reason : "its process does not run");
	}
	json_decref(res);
	return ok;
}

/* Point the router: active traffic to port active (0: nothing live yet), preview to preview. */
int ro_route(struct rop *o, int active, int preview)
{
	/* the same spec the Rollout's Route child shows (store_route_spec) */
	char *spec = store_route_spec(ro_iget(o->spec, "activePort", 0), ro_iget(o->spec, "previewPort", 0), active, preview),
	     *dir = xasprintf("%s/router", o->statedir);
	int rc = ro_call_handler(o, "router", "Route", OP_APPLY, o->name, dir, spec, NULL);
	free(spec);
	free(dir);
	return rc;
}

int ro_route_destroy(struct rop *o)
{
	char *dir = xasprintf("%s/router", o->statedir);
	int rc = ro_call_handler(o, "router", "Route", OP_DESTROY, o->name, dir, NULL, NULL);
	free(dir);
	return rc;
}

/* Whether port can be bound on 127.0.0.1 right now (nothing listens there). */
static bool port_usable(int port, void *payload)
{
	(void)payload;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

bool ro_port_range(json_t *spec, int *lo, int *hi)
{
	const char *r = ro_sget(spec, "releasePorts", NULL);
	*lo = 30000;
	*hi = 32767;
	if (!json_object_get(spec, "releasePorts"))
		return true;
	char tail;
	return r && sscanf(r, "%d-%d%c", lo, hi, &tail) == 2 && *lo >= 1 && *hi <= 65535 && *lo <= *hi;
}

int ro_allocate_port(struct rop *o, struct release *r)
{
	struct port_range range = { .usable = port_usable };
	if (!ro_port_range(o->spec, &range.lo, &range.hi))
		return error_set(CRATIS_EINVAL, "spec.releasePorts: expected LO-HI, two ports from 1 to 65535");
	/* each rollout starts its search at its own place in the range, so that rollouts recorded in
	 * different stores on one machine seldom try the same port */
	char *key = xasprintf("%s\n%s\n%s\n%s", o->environment, o->project, o->name, o->statedir);
	uint32_t h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	free(key);
	range.start = range.lo + (int)(h % (uint32_t)(range.hi - range.lo + 1));
	return store_release_allocate(o->env->store, r, &range);
}

/* The Service spec of a release: the template plus PORT and its health check. */
char *ro_service_spec(json_t *tmpl, int port)
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
	const char *path = ro_sget(health, "path", "/");
	char *url = xasprintf("http://127.0.0.1:%d%s%s", port, path[0] == '/' ? "" : "/", path);
	json_t *h = json_pack("{s:s,s:O?}", "http", url, "timeoutSeconds", json_object_get(health, "timeoutSeconds"));
	free(url);
	json_object_set_new(s, "health", h);
	char *t = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s);
	return t;
}

/* Whether id is named by one of the Rollout's hooks (`task: Task/NAME`): a dependency that runs
 * at a stage, not part of what a release runs. */
static bool hook_dep(json_t *spec, const char *id)
{
	const char *stage;
	json_t *list;
	json_object_foreach(json_object_get(spec, "hooks"), stage, list) {
		size_t i;
		json_t *h;
		json_array_foreach(list, i, h) {
			const char *t = json_string_value(json_object_get(h, "task"));
			if (t && !strcmp(t, id))
				return true;
		}
	}
	return false;
}

bool ro_input_dep(json_t *spec, const char *id)
{
	return !hook_dep(spec, id);
}

int ro_release_hash(struct rop *o, json_t *tmpl, char out[9])
{
	struct buf b = BUF_INIT;
	char *t = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	buf_adds(&b, t);
	free(t);
	struct state_rows rows;
	int rc = store_list(o->env->store, o->environment, o->project, &rows);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	char *self = xasprintf("Rollout/%s", o->name);
	struct state_row *me = store_rows_find(&rows, o->project, self);
	json_t *deps = me && me->deps ? json_loads(me->deps, 0, NULL) : NULL;
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d) {
		const char *id = json_string_value(d);
		struct state_row *row = id && ro_input_dep(o->spec, id) ? store_rows_find(&rows, o->project, id) : NULL;
		if (row) /* what it is and what it produced: its recorded spec and outputs */
			buf_addf(&b, "\n%s\n%s\n%s", id, row->spec ? row->spec : "", row->outputs ? row->outputs : "");
	}
	json_decref(deps);
	free(self);
	store_rows_release(&rows);
	uint64_t h = 1469598103934665603ull;
	for (size_t k = 0; k < b.len; k++)
		h = (h ^ (unsigned char)b.ptr[k]) * 1099511628211ull;
	snprintf(out, 9, "%08x", (unsigned)(h ^ (h >> 32)));
	buf_release(&b);
	return CRATIS_OK;
}

bool ro_same_template(const struct release *r, const char *hash)
{
	const char *dash = strrchr(r->id, '-');
	if (dash && !strcmp(dash + 1, hash))
		return true;
	/* an experiment's winner, promoted in place of the template it was compared with */
	json_t *log = r->log ? json_loads(r->log, 0, NULL) : NULL;
	char *want = xasprintf("in place of the Rollout's template %s", hash);
	bool won = false;
	size_t i;
	json_t *e;
	json_array_foreach(log, i, e) {
		const char *out = ro_sget(e, "output", "");
		size_t lo = strlen(out), lw = strlen(want);
		if (!strcmp(ro_sget(e, "stage", ""), "experiment") && lo >= lw && !strcmp(out + lo - lw, want))
			won = true;
	}
	free(want);
	json_decref(log);
	return won;
}

void ro_op_release(struct rop *o)
{
	store_releases_release(&o->rels);
	json_decref(o->spec);
}

int ro_op_load(struct rop *o, struct rollout_env *env, const struct rollout_target *t)
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

