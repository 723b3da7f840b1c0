/* Executable plugins: a folder with plugin.yaml and a program speaking newline-delimited JSON on
 * stdin/stdout. Started on first use, then serves every request of the run, one at a time.
 * Protocol: docs/plugins.md, "Executable plugins". */
#define _GNU_SOURCE
#include "registry.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "banned.h"

#define LINE_CAP (4u << 20)

struct exec_plugin {
	char *name, *dir, *program;
	int timeout_ms;
	pthread_mutex_t lock;
	pid_t pid;
	int to, from;
	bool started;
	char *dead;          /* why the plugin can no longer serve, or NULL */
	struct buf in;       /* bytes read, not yet consumed */
	long next_id;
};

static int dummy_op(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)req;
	(void)out;
	return CRATIS_ERROR;
}

void exec_plugin_free(struct exec_plugin *e)
{
	if (e->started && !e->dead) {
		close(e->to);
		/* closing stdin asks it to exit; give it a moment, then insist */
		int64_t until = now_ms() + 2000;
		int st;
		while (waitpid(e->pid, &st, WNOHANG) == 0) {
			if (now_ms() > until) {
				kill(-e->pid, SIGKILL);
				waitpid(e->pid, &st, 0);
				break;
			}
			usleep(5000);
		}
		close(e->from);
	}
	pthread_mutex_destroy(&e->lock);
	buf_release(&e->in);
	free(e->name);
	free(e->dir);
	free(e->program);
	free(e->dead);
	free(e);
}

static const char *str_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int exec_plugin_load(struct registry *r, const char *dir, struct diags *errors)
{
	struct manifest_set ms;
	manifest_set_init(&ms);
	char *yaml = xasprintf("%s/plugin.yaml", dir);
	int rc = manifest_load_path(&ms, yaml);
	if (rc || ms.n != 1 || !json_is_object(ms.docs[0]->root)) {
		if (ms.errors.n) {
			for (size_t i = 0; i < ms.errors.n; i++)  /* located in plugin.yaml */
				ms.errors.v[i].status = CRATIS_EPLUGIN;
			diags_move(errors, &ms.errors);
		} else
			diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': plugin.yaml must hold one mapping", dir);
		rc = CRATIS_EPLUGIN;
		goto out_release;
	}
	const struct manifest_doc *d = ms.docs[0];
	json_t *root = d->root;
	const char *name = str_field(root, "name"), *version = str_field(root, "version");
	const char *program = str_field(root, "executable");
	json_t *handlers = json_object_get(root, "handlers");
	json_t *abi = json_object_get(root, "abi");
	struct diags errs = DIAGS_INIT;
	if (!name)
		manifest_error(&errs, d, "name", "expected a string");
	if (!program)
		manifest_error(&errs, d, "executable", "expected a string (program path relative to the plugin folder)");
	if (!json_is_array(handlers) || !json_array_size(handlers))
		manifest_error(&errs, d, "handlers", "expected a non-empty sequence of {group, kind, versions}");
	if (abi && (!json_is_integer(abi) || json_integer_value(abi) != CRATIS_ABI_MAJOR))
		manifest_error(&errs, d, "abi", "plugin speaks ABI major %s, this cratis speaks %d",
		               json_is_integer(abi) ? "another" : "an invalid", CRATIS_ABI_MAJOR);
	if (errs.n) {
		for (size_t i = 0; i < errs.n; i++)  /* located in plugin.yaml */
			errs.v[i].status = CRATIS_EPLUGIN;
		diags_move(errors, &errs);
		rc = CRATIS_EPLUGIN;
		goto out_release;
	}
	for (size_t i = 0; i < r->nplugins; i++) {
		if (!strcmp(r->plugins[i]->name, name)) {
			diags_add(&r->notes, DIAG_NOTE, CRATIS_OK, "plugin '%s' at '%s' is shadowed by an earlier one", name, dir);
			goto out_release;
		}
	}
	struct exec_plugin *e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->dir = abs_path(dir);
	if (!e->dir)
		e->dir = xstrdup(dir);
	e->program = program[0] == '/' ? xstrdup(program) : xasprintf("%s/%s", e->dir, program);
	json_t *t = json_object_get(root, "timeoutSeconds");
	e->timeout_ms = json_is_number(t) ? (int)(json_number_value(t) * 1000) : 60000;
	pthread_mutex_init(&e->lock, NULL);
	buf_init(&e->in);
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	p->version = xstrdup(version ? version : "0.0.0");
	p->path = xstrdup(dir);
	p->form = PLUGIN_EXEC;
	p->exec = e;
	ALLOC_GROW(r->plugins, r->nplugins + 1, r->aplugins);
	r->plugins[r->nplugins++] = p;

	json_t *req = json_object_get(root, "requires");
	if (req && !json_is_object(req)) {
		manifest_error(errors, d, "requires", "expected a mapping of plugin name: version range");
		rc = CRATIS_EPLUGIN;
	}
	const char *rk;
	json_t *rv;
	json_object_foreach(req, rk, rv) {
		if (!json_is_string(rv)) {
			char *f = xasprintf("requires.%s", rk);
			manifest_error(errors, d, f, "expected a version range such as \">=1.2.0, <2\"");
			free(f);
			rc = CRATIS_EPLUGIN;
			continue;
		}
		strv_push(&p->req_names, rk);
		strv_push(&p->req_ranges, json_string_value(rv));
	}
	json_t *ops = json_object_get(root, "ops");
	struct cratis_ops o = { .size = sizeof(o) };
	for (size_t i = 0; i < 5; i++) {
		bool on = !ops ? i != OP_PLAN : false;
		for (size_t k = 0; ops && k < json_array_size(ops); k++)
			if (json_is_string(json_array_get(ops, k)) && !strcmp(json_string_value(json_array_get(ops, k)), op_names[i]))
				on = true;
		cratis_op_fn *slot[] = { &o.validate, &o.plan, &o.apply, &o.destroy, &o.observe };
		*slot[i] = on ? dummy_op : NULL;
	}
	size_t idx;
	json_t *h;
	json_array_foreach(handlers, idx, h) {
		const char *g = str_field(h, "group"), *k = str_field(h, "kind");
		json_t *vs = json_object_get(h, "versions");
		const char *vv[16] = { 0 };
		size_t nv = 0;
		for (size_t j = 0; json_is_array(vs) && j < json_array_size(vs) && nv < 15; j++)
			if (json_is_string(json_array_get(vs, j)))
				vv[nv++] = json_string_value(json_array_get(vs, j));
		struct cratis_handler ch = { sizeof(ch), g, k, nv ? vv : NULL, &o, e };
		if (registry_add_handler(r, p, &ch, errors))
			rc = CRATIS_EPLUGIN;
	}
out_release:
	free(yaml);
	manifest_set_release(&ms);
	return rc;
}

static int die(struct exec_plugin *e, struct call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int die(struct exec_plugin *e, struct call *call, int status, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (e->started && !e->dead) {
		kill(-e->pid, SIGKILL);
		int st;
		waitpid(e->pid, &st, 0);
		close(e->to);
		close(e->from);
	}
	free(e->dead);
	e->dead = buf_detach(&b);
	buf_clear(&call->err);
	buf_adds(&call->err, e->dead);
	return status;
}

static int start(struct exec_plugin *e, struct call *call)
{
	const char *argv[] = { e->program, NULL };
	if (!is_executable(e->program))
		return die(e, call, CRATIS_EPLUGIN, "'%s' is not an executable file", e->program);
	if (proc_spawn_pipes(argv, e->dir, &e->pid, &e->to, &e->from))
		return die(e, call, CRATIS_EPLUGIN, "cannot start: %s", cratis_error_last()->message);
	e->started = true;
	return CRATIS_OK;
}

static char *exit_reason(struct exec_plugin *e)
{
	int st;
	int64_t until = now_ms() + 1000;
	pid_t w;
	while ((w = waitpid(e->pid, &st, WNOHANG)) == 0 && now_ms() < until)
		usleep(2000);
	if (w != e->pid)
		return xstrdup("closed its output");
	e->started = false; /* reaped: nothing left to kill */
	close(e->to);
	close(e->from);
	if (WIFSIGNALED(st))
		return xasprintf("crashed (signal %d)", WTERMSIG(st));
	return xasprintf("exited with status %d", WEXITSTATUS(st));
}

/* Read one line into *line (caller frees) before deadline. 0, or a status with call->err set. */
static int read_line(struct exec_plugin *e, struct call *call, int64_t deadline, char **line)
{
	for (;;) {
		char *nl = memchr(e->in.ptr, '\n', e->in.len);
		if (nl) {
			size_t n = (size_t)(nl - e->in.ptr);
			*line = xstrndup(e->in.ptr, n);
			memmove(e->in.ptr, nl + 1, e->in.len - n - 1);
			e->in.len -= n + 1;
			e->in.ptr[e->in.len] = '\0';
			return CRATIS_OK;
		}
		if (e->in.len > LINE_CAP)
			return die(e, call, CRATIS_EPLUGIN, "sent a line longer than %u bytes", LINE_CAP);
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return die(e, call, CRATIS_ETIMEOUT, "did not answer within %d ms; stopped it", e->timeout_ms);
		struct pollfd pf = { e->from, POLLIN, 0 };
		int pr = poll(&pf, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char tmp[65536];
		ssize_t r = read(e->from, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			char *why = exit_reason(e);
			int rc = die(e, call, CRATIS_EPLUGIN, "%s", why);
			free(why);
			return rc;
		}
		buf_add(&e->in, tmp, (size_t)r);
	}
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static json_t *parse_or_null(const char *s)
{
	return s ? json_loads(s, 0, NULL) : NULL;
}

json_t *exec_request_json(const struct cratis_request *req)
{
	json_t *r = json_object();
	json_object_set_new(r, "apiVersion", json_string(req->api_version));
	json_object_set_new(r, "kind", json_string(req->kind));
	json_object_set_new(r, "name", json_string(req->name));
	json_object_set_new(r, "project", json_string(req->project ? req->project : ""));
	json_object_set_new(r, "environment", json_string(req->environment ? req->environment : ""));
	json_object_set_new(r, "spec", req->spec ? parse_or_null(req->spec) : json_null());
	json_object_set_new(r, "prior", req->prior ? parse_or_null(req->prior) : json_null());
	json_object_set_new(r, "workdir", json_string(req->workdir ? req->workdir : ""));
	json_object_set_new(r, "statedir", json_string(req->statedir ? req->statedir : ""));
	/* ABI 1.2 */
	json_t *sys = json_null();
	if (req->system && *req->system) {
		json_t *spec = req->system_spec ? parse_or_null(req->system_spec) : NULL;
		sys = json_pack("{s:s,s:s,s:o}", "name", req->system, "type", req->system_type ? req->system_type : "",
		                "spec", spec ? spec : json_object());
	}
	json_object_set_new(r, "system", sys);
	json_object_set_new(r, "deadlineMs", json_integer(req->deadline_ms));
	json_object_set_new(r, "timeoutMs", json_integer(req->timeout_ms));
	json_object_set_new(r, "dryRun", json_boolean(req->dry_run));
	return r;
}

static int exchange(struct exec_plugin *e, json_t *msg, struct call *call, json_t **result)
{
	long id = e->next_id++;
	json_object_set_new(msg, "id", json_integer(id));
	char *text = json_dumps(msg, JSON_COMPACT);
	struct buf line = BUF_INIT;
	buf_adds(&line, text);
	buf_addch(&line, '\n');
	free(text);
	int wr = write_all(e->to, line.ptr, line.len);
	buf_release(&line);
	if (wr) {
		char *why = exit_reason(e);
		int rc = die(e, call, CRATIS_EPLUGIN, "%s", why);
		free(why);
		return rc;
	}
	int64_t deadline = now_ms() + e->timeout_ms;
	for (;;) {
		char *l;
		int rc = read_line(e, call, deadline, &l);
		if (rc)
			return rc;
		json_error_t jerr;
		json_t *resp = json_loads(l, 0, &jerr);
		if (!json_is_object(resp)) {
			char shown[81];
			snprintf(shown, sizeof(shown), "%s", l);
			free(l);
			json_decref(resp);
			return die(e, call, CRATIS_EPLUGIN, "printed a line that is not a JSON object: '%s'", shown);
		}
		free(l);
		json_t *log = json_object_get(resp, "log");
		if (json_is_string(log)) {
			const char *lv = str_field(resp, "level");
			int level = lv && !strcmp(lv, "warn") ? CRATIS_LOG_WARN : lv && !strcmp(lv, "error") ? CRATIS_LOG_ERROR : lv && !strcmp(lv, "debug") ? CRATIS_LOG_DEBUG : CRATIS_LOG_INFO;
			host_services.log(call, level, "%s", json_string_value(log));
			json_decref(resp);
			continue;
		}
		json_t *rid = json_object_get(resp, "id");
		if (!json_is_integer(rid) || json_integer_value(rid) != id) {
			json_decref(resp);
			return die(e, call, CRATIS_EPLUGIN, "answered with a wrong or missing id (expected %ld)", id);
		}
		json_t *ok = json_object_get(resp, "ok");
		if (json_is_true(ok)) {
			json_t *res = json_object_get(resp, "result");
			*result = res && !json_is_null(res) ? json_incref(res) : NULL;
			json_decref(resp);
			return CRATIS_OK;
		}
		json_t *err = json_object_get(resp, "error");
		const char *m = json_is_string(err) ? json_string_value(err) : str_field(err, "message");
		const char *f = json_is_object(err) ? str_field(err, "field") : NULL;
		buf_clear(&call->err);
		buf_adds(&call->err, m ? m : "failed without a message");
		if (f)
			buf_adds(&call->field, f);
		json_decref(resp);
		return CRATIS_ERROR;
	}
}

int exec_plugin_call(struct exec_plugin *e, const char *op, const struct cratis_request *req,
                     struct call *call, json_t **out)
{
	int rc;
	pthread_mutex_lock(&e->lock);
	if (e->dead) {
		buf_clear(&call->err);
		buf_adds(&call->err, e->dead);
		rc = CRATIS_EPLUGIN;
		goto out_unlock;
	}
	if (!e->started) {
		if ((rc = start(e, call)))
			goto out_unlock;
		json_t *hs = json_pack("{s:s,s:i}", "op", "handshake", "abi", CRATIS_ABI_MAJOR);
		json_t *res = NULL;
		rc = exchange(e, hs, call, &res);
		json_decref(hs);
		json_t *abi = json_object_get(res, "abi");
		if (!rc && (!json_is_integer(abi) || json_integer_value(abi) != CRATIS_ABI_MAJOR))
			rc = die(e, call, CRATIS_EABI, "handshake: plugin speaks ABI %s, this cratis speaks %d",
			         json_is_integer(abi) ? "another major" : "nothing recognisable", CRATIS_ABI_MAJOR);
		else if (rc == CRATIS_ERROR)
			rc = die(e, call, CRATIS_EPLUGIN, "refused the handshake: %s", call->err.ptr);
		json_decref(res);
		if (rc)
			goto out_unlock;
	}
	json_t *msg = json_pack("{s:s,s:o}", "op", op, "request", exec_request_json(req));
	rc = exchange(e, msg, call, out);
	json_decref(msg);
out_unlock:
	pthread_mutex_unlock(&e->lock);
	return rc;
}
