/* Plugin registry and shared-object loader (see registry.h). */
#define _GNU_SOURCE
#include "registry.h"
#include "install.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "release/semver.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "banned.h"

#ifndef CRATIS_PLUGIN_DIR
#define CRATIS_PLUGIN_DIR "/usr/local/lib/cratis/plugins"
#endif

const char *const op_names[] = { "validate", "plan", "apply", "destroy", "observe" };

void call_init(struct call *c, const char *resource)
{
	memset(c, 0, sizeof(*c));
	c->resource = resource;
	buf_init(&c->err);
	buf_init(&c->field);
	c->events = json_array();
}

void call_release(struct call *c)
{
	buf_release(&c->err);
	buf_release(&c->field);
	json_decref(c->events);
	c->events = NULL;
}

int64_t request_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- host services ---- */

static void *host_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

static void host_free(void *p)
{
	free(p);
}

static void host_log(void *callp, int level, const char *fmt, ...)
{
	struct call *c = callp;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (level < CRATIS_LOG_DEBUG || level > CRATIS_LOG_ERROR)
		level = CRATIS_LOG_INFO;
	engine_logf(c ? c->observer : NULL, level, c && c->resource ? c->resource : "plugin", "%s", b.ptr);
	buf_release(&b);
}

static void host_error(void *callp, const char *field, const char *fmt, ...)
{
	struct call *c = callp;
	if (!c)
		return;
	buf_clear(&c->err);
	buf_clear(&c->field);
	if (field)
		buf_adds(&c->field, field);
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&c->err, fmt, ap);
	va_end(ap);
}

/* Copy r into the caller's result, as far as its size says it reaches. */
static void run_result_fill(struct cratis_run_result *out, struct proc_result *r)
{
	out->exit_code = r->exit_code;
	out->timed_out = r->timed_out;
	out->out = buf_detach(&r->out);
	out->err = buf_detach(&r->err);
	if (CRATIS_HAS(out, out_truncated))
		out->out_truncated = r->out_truncated;
}

/* Each output line of a command run for a resource, as a debug log line of that resource: what
 * `cratis apply --stream` shows ("Task/build: line"). */
static int stream_line(void *payload, int stream, const char *line, size_t len)
{
	const struct call *c = payload;
	(void)stream;
	engine_logf(c->observer, CRATIS_LOG_DEBUG, c->resource, "%.*s", (int)len, line);
	return 0;
}

static int host_run(void *callp, const char *const *argv, const char *const *envp,
                    const char *workdir, int timeout_ms, struct cratis_run_result *out)
{
	struct call *c = callp;
	bool streamed = c && c->observer && c->resource;
	struct proc_spec spec = { .argv = argv, .env = envp, .workdir = workdir, .timeout_ms = timeout_ms,
	                          .cancel = c ? c->cancel : NULL, .grace_ms = c ? c->grace_ms : 0,
	                          .on_line = streamed ? stream_line : NULL, .payload = streamed ? c : NULL };
	struct proc_result r;
	int rc = proc_run(&spec, &r);
	if (rc) {
		host_error(callp, NULL, "%s", cratis_error_last()->message);
		proc_result_release(&r);
		return rc;
	}
	if (out)
		run_result_fill(out, &r);
	proc_result_release(&r);
	return CRATIS_OK;
}

/* Hands lines on to the plugin's callback, remembering whether it stopped the process. */
struct line_bridge {
	int (*fn)(void *payload, int stream, const char *line, size_t len);
	void *payload;
	int stopped;
};

static int bridge_line(void *payload, int stream, const char *line, size_t len)
{
	struct line_bridge *b = payload;
	b->stopped = b->fn(b->payload, stream, line, len);
	return b->stopped;
}

static int host_run_with(void *callp, const struct cratis_run_opts *opts, struct cratis_run_result *out)
{
	struct call *c = callp;
	struct cratis_run_opts o;
	memset(&o, 0, sizeof(o));
	if (!opts) {
		host_error(callp, NULL, "run_with: no options");
		return CRATIS_EINVAL;
	}
	memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	struct line_bridge b = { o.on_line, o.payload, 0 };
	struct proc_spec spec = { .argv = o.argv, .env = o.envp, .workdir = o.workdir, .timeout_ms = o.timeout_ms,
	                          .out_cap = o.out_cap, .err_cap = o.err_cap,
	                          .stdin_data = o.stdin_data, .stdin_len = o.stdin_data ? o.stdin_len : 0,
	                          .on_line = o.on_line ? bridge_line : NULL, .payload = &b,
	                          .cancel = c ? c->cancel : NULL, .grace_ms = c ? c->grace_ms : 0 };
	struct proc_result r;
	int rc = proc_run(&spec, &r);
	if (rc && !b.stopped) {
		/* it could not start: nothing ran */
		host_error(callp, NULL, "%s", cratis_error_last()->message);
		proc_result_release(&r);
		return rc;
	}
	if (out)
		run_result_fill(out, &r);
	proc_result_release(&r);
	return rc;
}

static int host_spawn_detached(void *callp, const char *const *argv, const char *const *envp,
                               const char *workdir, const char *stdout_path, int64_t *pid,
                               uint64_t *start_time)
{
	char **env = envp ? env_merge(envp) : NULL;
	pid_t p = 0;
	unsigned long long st = 0;
	int rc = proc_spawn_detached(argv, env, workdir, stdout_path, &p, &st);
	env_free(env);
	if (rc) {
		host_error(callp, NULL, "%s", cratis_error_last()->message);
		return rc;
	}
	struct call *c = callp;
	engine_logf(c ? c->observer : NULL, CRATIS_LOG_DEBUG, c && c->resource ? c->resource : "plugin",
	            "started '%s' detached as pid %ld", argv[0], (long)p);
	if (pid)
		*pid = p;
	if (start_time)
		*start_time = st;
	return CRATIS_OK;
}

#define SECRET_FILE_CAP (64u << 10)

/* The content of a secret file into *out (host memory), one trailing newline removed. */
static int secret_file(struct call *c, const char *ref, const char *path, char **out)
{
	char *full = NULL;
	if (path[0] != '/' && c && c->req && c->req->workdir && *c->req->workdir)
		full = xasprintf("%s/%s", c->req->workdir, path);
	FILE *f = fopen(full ? full : path, "re");
	int rc = CRATIS_OK;
	if (!f) {
		int e = errno;
		rc = e == ENOENT ? CRATIS_ENOTFOUND : CRATIS_EIO;
		host_error(c, NULL, "secret '%s': cannot read '%s': %s", ref, full ? full : path, strerror(e));
		goto out_free;
	}
	char *v = malloc(SECRET_FILE_CAP + 2);
	size_t n = v ? fread(v, 1, SECRET_FILE_CAP + 1, f) : 0;
	if (!v || ferror(f)) {
		rc = CRATIS_EIO;
		host_error(c, NULL, "secret '%s': cannot read '%s'", ref, full ? full : path);
	} else if (n > SECRET_FILE_CAP) {
		rc = CRATIS_EINVAL;
		host_error(c, NULL, "secret '%s': '%s' is larger than %u bytes", ref, full ? full : path, SECRET_FILE_CAP);
	} else {
		if (n && v[n - 1] == '\n')
			n--;
		if (n && v[n - 1] == '\r')
			n--;
		v[n] = '\0';
		*out = v;
		v = NULL;
	}
	if (v) {
		explicit_bzero(v, SECRET_FILE_CAP + 2);
		free(v);
	}
	fclose(f);
out_free:
	free(full);
	return rc;
}

static int host_secret(void *callp, const char *ref, char **out)
{
	struct call *c = callp;
	*out = NULL;
	if (!ref || !*ref) {
		host_error(c, NULL, "secret: empty reference");
		return CRATIS_EINVAL;
	}
	char *provider = NULL;
	const char *rest = NULL;
	json_t *j = NULL;
	int rc;
	if (ref[0] == '{') {
		/* a reference object from a System's spec.auth */
		static const char *const keys[][2] = { { "fromEnv", "env" }, { "fromFile", "file" }, { "secret", "secret" } };
		j = json_loads(ref, 0, NULL);
		for (size_t i = 0; json_is_object(j) && json_object_size(j) == 1 && i < 3; i++) {
			json_t *v = json_object_get(j, keys[i][0]);
			if (json_is_string(v) && *json_string_value(v)) {
				provider = xstrdup(keys[i][1]);
				rest = json_string_value(v);
			}
		}
	} else {
		const char *colon = strchr(ref, ':');
		if (colon && colon > ref && colon[1]) {
			provider = xstrndup(ref, (size_t)(colon - ref));
			rest = colon + 1;
		}
	}
	if (!provider) {
		host_error(c, NULL, "secret '%s': expected env:NAME, file:PATH, {\"fromEnv\":\"NAME\"}, {\"fromFile\":\"PATH\"} or {\"secret\":\"NAME\"}", ref);
		rc = CRATIS_EINVAL;
	} else if (!strcmp(provider, "env")) {
		const char *v = getenv(rest);
		if (v) {
			*out = xstrdup(v);
			rc = CRATIS_OK;
		} else {
			host_error(c, NULL, "secret '%s': environment variable '%s' is not set", ref, rest);
			rc = CRATIS_ENOTFOUND;
		}
	} else if (!strcmp(provider, "file")) {
		rc = secret_file(c, ref, rest, out);
	} else if (!strcmp(provider, "secret") && c->secret) {
		/* the Project's spec.secrets, through the run's secret store */
		rc = c->secret(out, rest, c->secret_payload);
		if (rc)
			host_error(c, NULL, "secret '%s': %s", ref, cratis_error_last()->message);
	} else {
		host_error(c, NULL, "secret '%s': no secret provider '%s' (known: env, file%s)", ref, provider,
		           c->secret ? ", secret" : "");
		rc = CRATIS_ENOTFOUND;
	}
	free(provider);
	json_decref(j);
	return rc;
}

static int host_emit(void *callp, const char *type, const char *data_json)
{
	struct call *c = callp;
	if (!type || !*type) {
		host_error(c, NULL, "emit: empty event type");
		return CRATIS_EINVAL;
	}
	json_t *data = NULL;
	if (data_json) {
		json_error_t jerr;
		data = json_loads(data_json, JSON_DECODE_ANY, &jerr);
		if (!data) {
			host_error(c, NULL, "emit '%s': data is not JSON: %s", type, jerr.text);
			return CRATIS_EINVAL;
		}
	}
	const char *res = c && c->resource ? c->resource : "plugin";
	engine_logf(c ? c->observer : NULL, CRATIS_LOG_DEBUG, res, "event %s %s", type, data_json ? data_json : "null");
	engine_emit(c ? c->observer : NULL, &(struct engine_event){ .type = EV_EMIT, .resource = res, .message = type,
	                                                             .data = data_json });
	int rc = CRATIS_OK;
	if (c && c->on_event)
		rc = c->on_event(c->event_payload, res, type, data);
	if (c && c->events)
		json_array_append_new(c->events, json_pack("{s:s,s:o}", "type", type, "data", data ? data : json_null()));
	else
		json_decref(data);
	return rc;
}

const struct cratis_host host_services = {
	.size = sizeof(struct cratis_host),
	.abi_minor = CRATIS_ABI_MINOR,
	.alloc = host_alloc,
	.free = host_free,
	.log = host_log,
	.error = host_error,
	.run = host_run,
	.secret = host_secret,
	.emit = host_emit,
	.run_with = host_run_with,
	.spawn_detached = host_spawn_detached,
};

/* ---- registry ---- */

void registry_init(struct registry *r)
{
	memset(r, 0, sizeof(*r));
}

void registry_release(struct registry *r)
{
	for (size_t i = 0; i < r->nhandlers; i++)
		handler_free(r->handlers[i]);
	free(r->handlers);
	for (size_t i = 0; i < r->nplugins; i++) {
		struct plugin *p = r->plugins[i];
		if (p->fini)
			p->fini(p->fini_data);
		if (p->exec)
			exec_plugin_free(p->exec);
		if (p->dl)
			dlclose(p->dl);
		free(p->name);
		free(p->version);
		free(p->path);
		strv_release(&p->req_names);
		strv_release(&p->req_ranges);
		free(p);
	}
	free(r->plugins);
	strv_release(&r->dirs);
	diags_release(&r->notes);
	memset(r, 0, sizeof(*r));
}

void registry_default_dirs(struct registry *r, const char *project_dir)
{
	const char *env = getenv("CRATIS_PLUGIN_PATH");
	if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			strv_push(&r->dirs, d);
		free(copy);
	}
	if (project_dir)
		strv_push_owned(&r->dirs, xasprintf("%s/.cratis/plugins", project_dir));
	char *user = plugin_user_dir(); /* `cratis plugin install --global` (install.h) */
	if (user)
		strv_push_owned(&r->dirs, user);
	char *exe = exe_dir();
	char *build = xasprintf("%s/plugins", exe);
	char *marker = xasprintf("%s/build.ninja", exe);
	if (is_dir(build) && access(marker, F_OK) == 0)
		strv_push_owned(&r->dirs, build);
	else {
		free(build);
		strv_push(&r->dirs, CRATIS_PLUGIN_DIR);
	}
	free(marker);
	free(exe);
}

bool handler_supports(const struct handler *h, const char *version)
{
	return strv_has(&h->versions, version);
}

struct handler *registry_find(const struct registry *r, const char *group, const char *kind,
                              const char *version)
{
	for (size_t i = 0; i < r->nhandlers; i++) {
		struct handler *h = r->handlers[i];
		if (!strcmp(h->group, group) && !strcmp(h->kind, kind) && (!version || handler_supports(h, version)))
			return h;
	}
	return NULL;
}

char *registry_kinds_list(const struct registry *r)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < r->nhandlers; i++) {
		struct handler *h = r->handlers[i];
		if (!strcmp(h->kind, "System"))
			continue;  /* a System type's fields (cratis/v1 System with spec.type GROUP), not a kind */
		for (size_t v = 0; v < h->versions.n; v++)
			buf_addf(&b, "%s%s/%s %s", b.len ? ", " : "", h->group, h->versions.v[v], h->kind);
	}
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

void handler_free(struct handler *h)
{
	free(h->group);
	free(h->kind);
	strv_release(&h->versions);
	for (size_t i = 0; i < h->nfields; i++) {
		free(h->fields[i].path);
		free(h->fields[i].type);
		free(h->fields[i].help);
		free(h->fields[i].def);
	}
	free(h->fields);
	free(h);
}

static bool field_type_known(const char *t)
{
	static const char *const types[] = { "string", "integer", "number", "boolean", "object", "array", "argv", "any" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(t, types[i]))
			return true;
	return false;
}

/* The field table of h when its size covers one (ABI 1.3), else NULL. */
static const struct cratis_field *handler_fields(const struct cratis_handler *h)
{
	return h->size >= offsetof(struct cratis_handler, fields) + sizeof(h->fields) ? h->fields : NULL;
}

int registry_add_handler(struct registry *r, struct plugin *p, const struct cratis_handler *h,
                         struct diags *errors)
{
	if (!h || !h->group || !h->kind || !h->versions || !h->versions[0] || !h->ops) {
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s): malformed handler (group, kind, versions and ops are required)",
		                                  p->name, p->path);
		return CRATIS_EINVAL;
	}
	/* rows are read with the plugin's stride (fields[0].size): a newer plugin's longer rows
	 * still load, their later members unread */
	const struct cratis_field *fields = handler_fields(h);
	size_t nfields = 0, stride = fields ? fields[0].size : 0;
	if (fields && fields[0].path && stride < offsetof(struct cratis_field, default_value)) {
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s): %s: field rows must start with their size (sizeof(struct cratis_field))",
		             p->name, p->path, h->kind);
		return CRATIS_EINVAL;
	}
#define FIELD_ROW(i) ((const struct cratis_field *)(const void *)((const char *)fields + (i) * stride))
	for (; fields && FIELD_ROW(nfields)->path; nfields++) {
		const struct cratis_field *f = FIELD_ROW(nfields);
		if (!*f->path || !f->type || !field_type_known(f->type)) {
			diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s): %s: malformed field '%s' (expected a path and a type: string, integer, number, boolean, object, array, argv or any)",
			             p->name, p->path, h->kind, f->path);
			return CRATIS_EINVAL;
		}
	}
	for (size_t i = 0; i < r->nhandlers; i++) {
		struct handler *o = r->handlers[i];
		if (strcmp(o->group, h->group) || strcmp(o->kind, h->kind))
			continue;
		for (const char *const *v = h->versions; *v; v++) {
			if (handler_supports(o, *v)) {
				diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s): %s/%s %s is already handled by plugin '%s' (%s)",
				                                  p->name, p->path, h->group, *v, h->kind,
				                                  o->plugin->name, o->plugin->path);
				return CRATIS_EEXISTS;
			}
		}
	}
	struct handler *n = xcalloc(1, sizeof(*n));
	n->group = xstrdup(h->group);
	n->kind = xstrdup(h->kind);
	for (const char *const *v = h->versions; *v; v++)
		strv_push(&n->versions, *v);
	size_t sz = h->ops->size < sizeof(n->ops) ? h->ops->size : sizeof(n->ops);
	memcpy(&n->ops, h->ops, sz);
	n->ops.size = sizeof(n->ops);
	n->data = h->data;
	n->plugin = p;
	n->has_schema = fields != NULL;
	n->nfields = nfields;
	n->fields = nfields ? xcalloc(nfields, sizeof(*n->fields)) : NULL;
	for (size_t i = 0; i < nfields; i++) {
		n->fields[i].path = xstrdup(FIELD_ROW(i)->path);
		n->fields[i].type = xstrdup(FIELD_ROW(i)->type);
		n->fields[i].help = FIELD_ROW(i)->help ? xstrdup(FIELD_ROW(i)->help) : NULL;
		/* members appended after ABI 1.3: only when the plugin's rows carry them */
		if (stride >= offsetof(struct cratis_field, default_value) + sizeof(FIELD_ROW(i)->default_value) &&
		    FIELD_ROW(i)->default_value)
			n->fields[i].def = xstrdup(FIELD_ROW(i)->default_value);
		if (stride >= offsetof(struct cratis_field, required) + sizeof(FIELD_ROW(i)->required))
			n->fields[i].required = FIELD_ROW(i)->required != 0;
	}
#undef FIELD_ROW
	ALLOC_GROW(r->handlers, r->nhandlers + 1, r->ahandlers);
	r->handlers[r->nhandlers++] = n;
	return CRATIS_OK;
}

struct load_ctx {
	struct cratis_plugin_ctx pub;
	struct registry *r;
	struct plugin *p;
	struct diags *errors;
	bool info_set, failed;
};

static int ctx_set_info(struct cratis_plugin_ctx *ctx, uint32_t abi_major, const char *name,
                        const char *version, void (*fini)(void *), void *data)
{
	struct load_ctx *lc = (struct load_ctx *)ctx;
	if (abi_major != CRATIS_ABI_MAJOR) {
		diags_errorf(lc->errors, CRATIS_EPLUGIN, "plugin '%s': built for ABI major %u, this cratis speaks %u; rebuild it against this cratis' plugin.h",
		                                      lc->p->path, abi_major, CRATIS_ABI_MAJOR);
		lc->failed = true;
		return CRATIS_EABI;
	}
	if (name && *name) {
		free(lc->p->name);
		lc->p->name = xstrdup(name);
	}
	free(lc->p->version);
	lc->p->version = xstrdup(version ? version : "0.0.0");
	lc->p->fini = fini;
	lc->p->fini_data = data;
	lc->info_set = true;
	return CRATIS_OK;
}

static int ctx_register(struct cratis_plugin_ctx *ctx, const struct cratis_handler *h)
{
	struct load_ctx *lc = (struct load_ctx *)ctx;
	if (!lc->info_set) {
		diags_errorf(lc->errors, CRATIS_EPLUGIN, "plugin '%s': registered a handler before set_info declared its ABI",
		                                      lc->p->path);
		lc->failed = true;
		return CRATIS_EABI;
	}
	int rc = registry_add_handler(lc->r, lc->p, h, lc->errors);
	if (rc)
		lc->failed = true;
	return rc;
}

static int ctx_require(struct cratis_plugin_ctx *ctx, const char *name, const char *range)
{
	struct load_ctx *lc = (struct load_ctx *)ctx;
	if (!name || !*name || !range) {
		diags_errorf(lc->errors, CRATIS_EPLUGIN, "plugin '%s': require() needs a plugin name and a version range", lc->p->path);
		lc->failed = true;
		return CRATIS_EINVAL;
	}
	strv_push(&lc->p->req_names, name);
	strv_push(&lc->p->req_ranges, range);
	return CRATIS_OK;
}

static const struct plugin *plugin_named(const struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->nplugins; i++)
		if (!strcmp(r->plugins[i]->name, name))
			return r->plugins[i];
	return NULL;
}

int registry_check_requirements(const struct registry *r, struct diags *errors)
{
	int rc = CRATIS_OK;
	for (size_t i = 0; i < r->nplugins; i++) {
		const struct plugin *p = r->plugins[i];
		for (size_t k = 0; k < p->req_names.n; k++) {
			const char *name = p->req_names.v[k], *range = p->req_ranges.v[k];
			const struct plugin *dep = plugin_named(r, name);
			struct semver_range *sr = NULL;
			struct semver v;
			if (semver_range_parse(&sr, range)) {
				diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s): requires plugin '%s': %s", p->name, p->path, name,
				             cratis_error_last()->message);
				rc = CRATIS_EPLUGIN;
			} else if (!dep) {
				diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s) requires plugin '%s' %s, which is not loaded (see `cratis plugin list`)",
				                                  p->name, p->path, name, range);
				rc = CRATIS_EPLUGIN;
			} else if (semver_parse(&v, dep->version ? dep->version : "")) {
				diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s) requires plugin '%s' %s, whose version is not a semantic version: %s",
				                                  p->name, p->path, name, range, cratis_error_last()->message);
				rc = CRATIS_EPLUGIN;
			} else {
				if (!semver_range_satisfies(sr, &v)) {
					diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s' (%s) requires plugin '%s' %s, found %s at %s",
					                                  p->name, p->path, name, range, dep->version, dep->path);
					rc = CRATIS_EPLUGIN;
				}
				semver_release(&v);
			}
			semver_range_free(sr);
		}
	}
	return rc;
}

static bool plugin_known(const struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->nplugins; i++)
		if (!strcmp(r->plugins[i]->name, name))
			return true;
	return false;
}

static char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	s = s ? s + 1 : path;
	const char *dot = strstr(s, ".so");
	char *n = dot ? xstrndup(s, (size_t)(dot - s)) : xstrdup(s);
	if (starts_with(n, "cratis-")) {
		char *m = xstrdup(n + 7);
		free(n);
		n = m;
	}
	return n;
}

static int load_so(struct registry *r, const char *path, struct diags *errors)
{
	char *name = base_name(path);
	if (plugin_known(r, name)) {
		diags_add(&r->notes, DIAG_NOTE, CRATIS_OK, "plugin '%s' at '%s' is shadowed by an earlier one", name, path);
		free(name);
		return CRATIS_OK;
	}
	/* NODELETE: a plugin's libraries (TLS of OpenSSL, libcurl) stay mapped until exit, so nothing
	 * that runs at exit (atexit handlers, LeakSanitizer) meets an unmapped module */
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!dl) {
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': cannot load: %s", path, dlerror());
		free(name);
		return CRATIS_EPLUGIN;
	}
	cratis_plugin_init_fn init;
	*(void **)&init = dlsym(dl, CRATIS_PLUGIN_INIT_SYMBOL);
	if (!init) {
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': no symbol '%s'", path, CRATIS_PLUGIN_INIT_SYMBOL);
		dlclose(dl);
		free(name);
		return CRATIS_EPLUGIN;
	}
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = name;
	p->path = xstrdup(path);
	p->form = PLUGIN_SO;
	p->dl = dl;
	ALLOC_GROW(r->plugins, r->nplugins + 1, r->aplugins);
	r->plugins[r->nplugins++] = p;
	size_t first_handler = r->nhandlers;
	struct load_ctx lc = {
		.pub = { .size = sizeof(struct cratis_plugin_ctx), .host_data = NULL,
		         .set_info = ctx_set_info, .register_handler = ctx_register, .require = ctx_require },
		.r = r, .p = p, .errors = errors,
	};
	int rc = init(CRATIS_ABI_MAJOR, &host_services, &lc.pub);
	if (rc == CRATIS_EABI && !lc.failed)
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': refuses host ABI major %u", path, CRATIS_ABI_MAJOR);
	else if (rc && !lc.failed)
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': initialisation failed (%s)", path, status_name(rc));
	else if (!rc && !lc.info_set) {
		diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': did not call set_info to declare its ABI", path);
		rc = CRATIS_EABI;
	}
	if (rc || lc.failed) {
		/* drop what it registered: a half-loaded plugin must not serve */
		for (size_t i = first_handler; i < r->nhandlers; i++)
			handler_free(r->handlers[i]);
		r->nhandlers = first_handler;
		if (p->fini)
			p->fini(p->fini_data);
		p->fini = NULL;
		return CRATIS_EPLUGIN;
	}
	return CRATIS_OK;
}

int registry_load_one(struct registry *r, const char *path, struct diags *errors)
{
	if (is_dir(path)) {
		char *yaml = xasprintf("%s/plugin.yaml", path);
		bool exec = access(yaml, F_OK) == 0;
		free(yaml);
		if (exec)
			return exec_plugin_load(r, path, errors);
		/* a folder of shared objects (as a build tree lays them out) */
		struct strv names = STRV_INIT;
		if (dir_names_sorted(path, ".so", &names))
			return CRATIS_OK;
		int rc = CRATIS_OK;
		for (size_t i = 0; i < names.n; i++) {
			char *p = xasprintf("%s/%s", path, names.v[i]);
			if (load_so(r, p, errors))
				rc = CRATIS_EPLUGIN;
			free(p);
		}
		strv_release(&names);
		return rc;
	}
	if (ends_with(path, ".so"))
		return load_so(r, path, errors);
	return CRATIS_OK;
}

int registry_load(struct registry *r, struct diags *errors)
{
	int rc = CRATIS_OK;
	for (size_t i = 0; i < r->dirs.n; i++) {
		struct strv names = STRV_INIT;
		if (dir_names_sorted(r->dirs.v[i], NULL, &names))
			continue;
		for (size_t k = 0; k < names.n; k++) {
			char *p = xasprintf("%s/%s", r->dirs.v[i], names.v[k]);
			if (registry_load_one(r, p, errors))
				rc = CRATIS_EPLUGIN;
			free(p);
		}
		strv_release(&names);
	}
	if (registry_check_requirements(r, errors))
		rc = CRATIS_EPLUGIN;
	return rc;
}

static cratis_op_fn op_fn(const struct handler *h, enum op op)
{
	cratis_op_fn fns[] = { h->ops.validate, h->ops.plan, h->ops.apply, h->ops.destroy, h->ops.observe };
	return fns[op];
}

bool handler_has_op(const struct handler *h, enum op op)
{
	return op_fn(h, op) != NULL;
}

int handler_call(struct handler *h, enum op op, struct cratis_request *req, struct call *call,
                 json_t **out)
{
	*out = NULL;
	if (!handler_has_op(h, op))
		return CRATIS_OK;
	req->size = sizeof(*req);
	req->call = call;
	call->req = req;
	if (!req->project)
		req->project = "";
	if (!req->environment)
		req->environment = "";
	if (!req->system)
		req->system = "";
	if (!req->system_type)
		req->system_type = "";
	if (!req->system_spec)
		req->system_spec = "{}";
	if (!req->deadline_ms && req->timeout_ms > 0)
		req->deadline_ms = request_clock_ms() + req->timeout_ms;   /* a caller that set only a timeout */
	req->timeout_ms = 0;
	buf_clear(&call->err);
	buf_clear(&call->field);
	int rc;
	int64_t left = req->deadline_ms > 0 ? req->deadline_ms - request_clock_ms() : 0;
	if (req->deadline_ms > 0)
		req->timeout_ms = left > INT_MAX ? INT_MAX : (int)left;
	if (req->deadline_ms > 0 && left <= 0) {
		buf_addf(&call->err, "%s not called: the deadline passed", op_names[op]);
		rc = CRATIS_ETIMEOUT;
	} else if (h->plugin->form == PLUGIN_EXEC) {
		rc = exec_plugin_call(h->plugin->exec, op_names[op], req, call, out);
	} else {
		char *res = NULL;
		rc = op_fn(h, op)(h->data, req, &res);
		if (res) {
			json_error_t jerr;
			*out = json_loads(res, JSON_DECODE_ANY, &jerr);
			if (!*out && !rc) {
				buf_clear(&call->err);
				buf_addf(&call->err, "%s returned invalid JSON: %s", op_names[op], jerr.text);
				rc = CRATIS_EPLUGIN;
			}
			free(res);
		}
	}
	if (rc) {
		if (!call->err.len)
			buf_addf(&call->err, "%s failed (%s)", op_names[op], status_name(rc));
		error_set(rc, "plugin '%s': %s", h->plugin->name, call->err.ptr);
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
