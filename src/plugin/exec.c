/* Executable plugins: a folder with plugin.yaml and a program speaking newline-delimited JSON on
 * stdin/stdout. Protocol: docs/plugins.md, "Executable plugins".
 *
 * Concurrency: by default a plugin is a pool of processes, each serving one request at a time; a
 * process is started (and shaken hands with) only when every existing one is busy, so a run never
 * has more of them than requests in flight (at most the run's -j), and never more than
 * max_procs when set. A plugin whose plugin.yaml says `concurrency: N` runs as one process that
 * gets up to N requests at once and may answer them in any order, matched by id.
 *
 * One mutex per plugin guards everything below; the pipes are read and written outside it by at
 * most one reader and one writer per process at a time (flags `reading`, `writing`). Callers wait
 * on one condition variable for their answer; whichever waiting caller finds nobody reading reads
 * for everybody and hands each answer to the caller waiting for its id.
 *
 * A process that dies (crash, exit, garbage, wrong id) fails the requests it held and is
 * restarted for the next request, once per plugin; a second death, a timeout or a handshake
 * failure marks the plugin failed: later calls fail at once with the same message. */
#define _GNU_SOURCE
#include "registry.h"

#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "banned.h"

#define LINE_CAP (4u << 20)
#define CONCURRENCY_MAX 1024

enum proc_state { PROC_OFF, PROC_STARTING, PROC_READY, PROC_DYING };

/* A request written (or about to be) to a process, waiting for its answer. */
struct waiter {
	long id;
	struct call *call;
	bool done;
	int rc;                     /* when done: CRATIS_OK, or the status of the failure */
	json_t *resp;               /* when done and rc == 0: the answer line */
	char *why;                  /* when done and rc != 0: the process' failure */
	struct waiter *next;
};

struct proc {
	enum proc_state state;
	pid_t pid;
	int to, from;
	int inflight;               /* callers holding this process */
	bool reading, writing;      /* a caller is in read() / write() on its pipes */
	bool reaped;
	struct buf in;              /* bytes read, not yet a full line */
	struct waiter *waiting;
	int kill_status;            /* set when cratis killed it: why */
	char *kill_reason;
};

struct exec_plugin {
	char *name, *dir, *program;
	int timeout_ms;
	int concurrency;            /* 0: a pool of one-request processes; N: one process, N in flight */
	int max_procs;              /* cap of the pool; 0: as many as requests in flight */
	pthread_mutex_t lock;
	pthread_cond_t cv;          /* any change of a process, a waiter or the plugin */
	struct proc **procs;
	size_t nprocs, aprocs;
	int deaths;
	int dead_status;
	char *dead;                 /* why the plugin can no longer serve, or NULL */
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
	/* closing stdin asks each process to exit; give them 2 s together, then insist */
	for (size_t i = 0; i < e->nprocs; i++)
		if (e->procs[i]->state != PROC_OFF)
			close(e->procs[i]->to);
	int64_t until = now_ms() + 2000;
	for (size_t i = 0; i < e->nprocs; i++) {
		struct proc *p = e->procs[i];
		if (p->state != PROC_OFF) {
			int st;
			while (waitpid(p->pid, &st, WNOHANG) == 0) {
				if (now_ms() > until) {
					kill(-p->pid, SIGKILL);
					waitpid(p->pid, &st, 0);
					break;
				}
				usleep(5000);
			}
			close(p->from);
		}
		buf_release(&p->in);
		free(p->kill_reason);
		free(p);
	}
	free(e->procs);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->lock);
	free(e->name);
	free(e->dir);
	free(e->program);
	free(e->dead);
	free(e);
}

void exec_plugin_set_max_procs(struct exec_plugin *e, int n)
{
	pthread_mutex_lock(&e->lock);
	e->max_procs = n > 0 ? n : 0;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->lock);
}

void registry_set_exec_procs(struct registry *r, int n)
{
	for (size_t i = 0; i < r->nplugins; i++)
		if (r->plugins[i]->exec)
			exec_plugin_set_max_procs(r->plugins[i]->exec, n);
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
		} else {
			diags_errorf(errors, CRATIS_EPLUGIN, "plugin '%s': plugin.yaml must hold one mapping", dir);
		}
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
	json_t *tmo = json_object_get(root, "timeoutSeconds");
	if (tmo && (!json_is_number(tmo) || json_number_value(tmo) < 0.001 || json_number_value(tmo) > 86400))
		manifest_error(&errs, d, "timeoutSeconds", "expected a number of seconds from 0.001 to 86400 (one day)");
	json_t *conc = json_object_get(root, "concurrency");
	if (conc && (!json_is_integer(conc) || json_integer_value(conc) < 1 || json_integer_value(conc) > CONCURRENCY_MAX))
		manifest_error(&errs, d, "concurrency", "expected an integer from 1 to %d (requests one process may have in flight)",
		               CONCURRENCY_MAX);
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
	e->timeout_ms = json_is_number(t) ? (int)(json_number_value(t) * 1000) : 60000; /* range checked above */
	if (e->timeout_ms < 1)
		e->timeout_ms = 1;
	e->concurrency = conc ? (int)json_integer_value(conc) : 0;
	e->next_id = 1; /* 0 is every process' handshake */
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* now_ms()'s clock */
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
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
		/* fields: the kind's schema, the rows of a C plugin's struct cratis_field table */
		json_t *fs = json_object_get(h, "fields");
		struct cratis_field *ft = NULL;
		json_t *texts = NULL; /* the text of non-string defaults, alive until the rows are copied */
		if (fs && !json_is_array(fs)) {
			char *f = xasprintf("handlers[%zu].fields", idx);
			manifest_error(errors, d, f, "expected a sequence of {path, type, help}");
			free(f);
			rc = CRATIS_EPLUGIN;
			continue;
		}
		if (fs) {
			bool bad = false;
			ft = xcalloc(json_array_size(fs) + 1, sizeof(*ft));
			texts = json_array();
			for (size_t j = 0; j < json_array_size(fs); j++) {
				json_t *row = json_array_get(fs, j);
				const char *fp = str_field(row, "path"), *fty = str_field(row, "type");
				json_t *help = json_object_get(row, "help");
				json_t *def = json_object_get(row, "default"), *req = json_object_get(row, "required");
				if (!fp || !*fp || !fty || (help && !json_is_string(help)) || (req && !json_is_boolean(req)) ||
				    (def && !json_is_string(def) && !json_is_number(def) && !json_is_boolean(def))) {
					char *f = xasprintf("handlers[%zu].fields[%zu]", idx, j);
					manifest_error(errors, d, f, "expected {path: spec.NAME, type: string|integer|number|boolean|object|array|argv|any, help: TEXT, default: SCALAR, required: BOOLEAN}");
					free(f);
					bad = true;
					continue;
				}
				/* default: a scalar, kept as its text ("0644", "10", "true") */
				const char *dv = NULL;
				if (json_is_string(def)) {
					dv = json_string_value(def);
				} else if (def) {
					char *t = json_dumps(def, JSON_ENCODE_ANY);
					json_array_append_new(texts, json_string(t ? t : ""));
					free(t);
					dv = json_string_value(json_array_get(texts, json_array_size(texts) - 1));
				}
				ft[j] = (struct cratis_field){ sizeof(ft[j]), fp, fty, json_string_value(help), dv, json_is_true(req) };
			}
			if (bad) {
				free(ft);
				json_decref(texts);
				rc = CRATIS_EPLUGIN;
				continue;
			}
		}
		struct cratis_handler ch = { sizeof(ch), g, k, nv ? vv : NULL, &o, e, ft };
		if (registry_add_handler(r, p, &ch, errors))
			rc = CRATIS_EPLUGIN;
		free(ft);  /* registry_add_handler copied the rows */
		json_decref(texts);
	}
out_release:
	free(yaml);
	manifest_set_release(&ms);
	return rc;
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

/* ---- processes: everything below runs under e->lock unless it says otherwise ---- */

/* Wait for a change; deadline is a now_ms() time, 0 for none. */
static void wait_change(struct exec_plugin *e, int64_t deadline)
{
	if (!deadline) {
		pthread_cond_wait(&e->cv, &e->lock);
		return;
	}
	struct timespec ts = { (time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L };
	pthread_cond_timedwait(&e->cv, &e->lock, &ts);
}

static int fail_dead(struct exec_plugin *e, struct call *call)
{
	buf_clear(&call->err);
	buf_adds(&call->err, e->dead);
	return CRATIS_EPLUGIN;
}

static void mark_failed(struct exec_plugin *e, const char *why)
{
	if (!e->dead)
		e->dead = xstrdup(why);
	pthread_cond_broadcast(&e->cv);
}

/* The exit of a process whose output closed: its status if it ends within 1 s. The caller owns
 * p->reading. Caller frees. */
static char *exit_reason(struct exec_plugin *e, struct proc *p)
{
	int st = 0;
	pid_t w;
	int64_t until = now_ms() + 1000;
	while ((w = waitpid(p->pid, &st, WNOHANG)) == 0 && now_ms() < until) {
		pthread_mutex_unlock(&e->lock);
		usleep(2000);
		pthread_mutex_lock(&e->lock);
	}
	if (w != p->pid)
		return xstrdup("closed its output");
	p->reaped = true;
	if (WIFSIGNALED(st))
		return xasprintf("crashed (signal %d)", WTERMSIG(st));
	return xasprintf("exited with status %d", WEXITSTATUS(st));
}

/* p no longer serves: stop and reap it, fail every request it held with why (or with the reason
 * cratis killed it for), count the death. The caller owns p->reading. */
static void proc_died(struct exec_plugin *e, struct proc *p, const char *why)
{
	p->state = PROC_DYING;
	int status = p->kill_reason ? p->kill_status : CRATIS_EPLUGIN;
	bool terminal = p->kill_reason && p->kill_status != CRATIS_EPLUGIN;
	char *reason = xstrdup(p->kill_reason ? p->kill_reason : why);
	if (!p->reaped) {
		int st;
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
		p->reaped = true;
	}
	while (p->writing) /* killed: its write ends at once */
		pthread_cond_wait(&e->cv, &e->lock);
	close(p->to);
	close(p->from);
	buf_clear(&p->in);
	for (struct waiter *w = p->waiting, *next; w; w = next) {
		next = w->next;
		w->next = NULL;
		w->rc = status;
		w->why = xstrdup(reason);
		w->done = true;
	}
	p->waiting = NULL;
	free(p->kill_reason);
	p->kill_reason = NULL;
	p->kill_status = 0;
	p->state = PROC_OFF;
	/* one death is forgiven: the next request starts a new process; a second one, a timeout or
	 * a failed handshake is the end of the plugin for this run */
	if (terminal || ++e->deaths > 1)
		mark_failed(e, reason);
	free(reason);
	pthread_cond_broadcast(&e->cv);
}

/* cratis gives up on p (timeout, garbage, wrong id): kill it with this reason. terminal (a timeout,
 * a failed handshake) marks the plugin failed. When someone is reading p, that reader sees the
 * pipe close and finishes the job; otherwise it is done here. */
static void proc_kill(struct exec_plugin *e, struct proc *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void proc_kill(struct exec_plugin *e, struct proc *p, int status, const char *fmt, ...)
{
	if ((p->state != PROC_READY && p->state != PROC_STARTING) || p->kill_reason)
		return;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	p->kill_reason = buf_detach(&b);
	p->kill_status = status;
	if (!p->reaped)
		kill(-p->pid, SIGKILL);
	if (!p->reading) {
		p->reading = true;
		proc_died(e, p, NULL);
		p->reading = false;
	}
	pthread_cond_broadcast(&e->cv);
}

/* Hand every complete line read from p to the request waiting for its id (log lines to the log).
 * The caller owns p->reading. */
static void dispatch(struct exec_plugin *e, struct proc *p)
{
	char *nl;
	while (!p->kill_reason && (nl = memchr(p->in.ptr, '\n', p->in.len))) {
		size_t n = (size_t)(nl - p->in.ptr);
		char *l = xstrndup(p->in.ptr, n);
		memmove(p->in.ptr, nl + 1, p->in.len - n - 1);
		p->in.len -= n + 1;
		p->in.ptr[p->in.len] = '\0';
		json_t *resp = json_loads(l, 0, NULL);
		if (!json_is_object(resp)) {
			char shown[81];
			snprintf(shown, sizeof(shown), "%s", l);
			proc_kill(e, p, CRATIS_EPLUGIN, "printed a line that is not a JSON object: '%s'", shown);
			free(l);
			json_decref(resp);
			break;
		}
		free(l);
		json_t *rid = json_object_get(resp, "id");
		struct waiter *w = NULL, **link = &p->waiting;
		for (; json_is_integer(rid) && *link; link = &(*link)->next)
			if ((*link)->id == json_integer_value(rid)) {
				w = *link;
				break;
			}
		json_t *log = json_object_get(resp, "log");
		if (json_is_string(log)) {
			const char *lv = json_string_value(json_object_get(resp, "level"));
			int level = lv && !strcmp(lv, "warn") ? CRATIS_LOG_WARN : lv && !strcmp(lv, "error") ? CRATIS_LOG_ERROR : lv && !strcmp(lv, "debug") ? CRATIS_LOG_DEBUG : CRATIS_LOG_INFO;
			/* attributed to the request it names, else to the only one in flight, else the plugin */
			struct call anon = { .resource = e->name };
			struct call *c = w ? w->call : p->waiting && !p->waiting->next ? p->waiting->call : &anon;
			host_services.log(c, level, "%s", json_string_value(log));
			json_decref(resp);
			continue;
		}
		if (!w) {
			if (p->waiting && !p->waiting->next)
				proc_kill(e, p, CRATIS_EPLUGIN, "answered with a wrong or missing id (expected %ld)", p->waiting->id);
			else
				proc_kill(e, p, CRATIS_EPLUGIN, "answered with an id that no request is waiting for");
			json_decref(resp);
			break;
		}
		*link = w->next;
		w->next = NULL;
		w->resp = resp;
		w->rc = CRATIS_OK;
		w->done = true;
	}
	if (!p->kill_reason && p->in.len > LINE_CAP)
		proc_kill(e, p, CRATIS_EPLUGIN, "sent a line longer than %u bytes", LINE_CAP);
	pthread_cond_broadcast(&e->cv);
}

/* Read what p has (up to deadline) and dispatch it; on end of output or a kill, finish p. The
 * caller owns p->reading. */
static void read_step(struct exec_plugin *e, struct proc *p, int64_t deadline, bool cancellable, bool cancelled)
{
	int fd = p->from;
	char *tmp = xmalloc(65536);
	ssize_t r = -1;
	int err = EAGAIN;
	pthread_mutex_unlock(&e->lock);
	int64_t left = deadline - now_ms();
	if (left > 0) {
		struct pollfd pf = { fd, POLLIN, 0 };
		/* with a cancellation word, look at it ten times a second */
		int cap = cancellable ? 100 : 1000000;
		int pr = poll(&pf, 1, left > cap ? cap : (int)left);
		if (pr > 0) {
			r = read(fd, tmp, 65536);
			err = r < 0 ? errno : 0;
		} else if (pr < 0) {
			err = errno;
		}
	}
	pthread_mutex_lock(&e->lock);
	if (r > 0) {
		buf_add(&p->in, tmp, (size_t)r);
		dispatch(e, p);
	} else if (r == 0 || (err != EAGAIN && err != EINTR)) {
		p->state = PROC_DYING;
		char *why = exit_reason(e, p);
		proc_died(e, p, why);
		free(why);
	} else if (now_ms() >= deadline) {
		if (cancelled)
			proc_kill(e, p, CRATIS_ERROR, "interrupted: stopped it");
		else
			proc_kill(e, p, CRATIS_ETIMEOUT, "did not answer within %d ms; stopped it", e->timeout_ms);
	}
	if (p->kill_reason)
		proc_died(e, p, NULL);
	free(tmp);
}

/* Write all of s to fd (non-blocking) before deadline, without SIGPIPE. 0, ETIMEDOUT or errno. */
static int write_within(int fd, const char *s, size_t n, int64_t deadline)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	int err = 0;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				err = ETIMEDOUT;
				break;
			}
			struct pollfd pf = { fd, POLLOUT, 0 };
			poll(&pf, 1, left > 1000000 ? 1000000 : (int)left);
			continue;
		}
		err = w < 0 ? errno : EIO;
		break;
	}
	if (err == EPIPE) {
		/* take back the SIGPIPE that write raised for this thread, unless it is ignored */
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* Write one request line to p, whose waiter w is registered, under deadline. */
static void send_line(struct exec_plugin *e, struct proc *p, struct waiter *w, const struct buf *line,
                      int64_t deadline)
{
	while (p->writing && !w->done && now_ms() < deadline)
		wait_change(e, deadline);
	if (w->done)
		return; /* the process ended meanwhile */
	if (p->writing) {
		proc_kill(e, p, CRATIS_ETIMEOUT, "did not read its requests within %d ms; stopped it", e->timeout_ms);
		return;
	}
	p->writing = true;
	int fd = p->to;
	pthread_mutex_unlock(&e->lock);
	int err = write_within(fd, line->ptr, line->len, deadline);
	pthread_mutex_lock(&e->lock);
	p->writing = false;
	pthread_cond_broadcast(&e->cv);
	if (err == ETIMEDOUT)
		proc_kill(e, p, CRATIS_ETIMEOUT, "did not read its request within %d ms; stopped it", e->timeout_ms);
	else if (err && !p->reaped && p->state != PROC_DYING)
		kill(-p->pid, SIGKILL); /* it closed its input: reading tells how it ended */
}

/* Wait until w is answered or failed; read for everybody while nobody else does. */
static void await(struct exec_plugin *e, struct proc *p, struct waiter *w, int64_t deadline)
{
	const atomic_int *cancel = w->call ? w->call->cancel : NULL;
	bool cancelled = false;
	while (!w->done) {
		if (cancel && *cancel && !cancelled) {
			/* the run is interrupted: SIGTERM to the plugin's process group, and the answer is
			 * waited for only as long as the grace period (CANCEL_HARD: not at all) */
			cancelled = true;
			if (!p->reaped)
				kill(-p->pid, SIGTERM);
			int g = w->call->grace_ms;
			int64_t cap = now_ms() + ((*cancel & CANCEL_HARD) || g < 0 ? 0 : g > 0 ? g : 10000);
			if (cap < deadline)
				deadline = cap;
		}
		if (!p->reading) {
			p->reading = true;
			read_step(e, p, deadline, cancel != NULL, cancelled);
			p->reading = false;
			pthread_cond_broadcast(&e->cv);
			continue;
		}
		int64_t now = now_ms();
		if (now >= deadline) {
			if (cancelled)
				proc_kill(e, p, CRATIS_ERROR, "interrupted: stopped it");
			else
				proc_kill(e, p, CRATIS_ETIMEOUT, "did not answer within %d ms; stopped it", e->timeout_ms);
		}
		int64_t until = now >= deadline ? now + 100 : deadline;
		if (cancel && until > now + 100)
			until = now + 100;
		wait_change(e, until);
	}
}

/* Send msg as request id to p (reserved by the caller) and wait for the answer. Returns CRATIS_OK
 * with *result (new reference or NULL); CRATIS_ERROR when the plugin answered with an error
 * (call->err, call->field); the status of the process' failure otherwise (call->err). */
static int answer_of(json_t *resp, struct call *call, json_t **result);

static int roundtrip(struct exec_plugin *e, struct proc *p, json_t *msg, long id, struct call *call,
                     json_t **result)
{
	*result = NULL;
	json_object_set_new(msg, "id", json_integer(id));
	char *text = json_dumps(msg, JSON_COMPACT);
	struct buf line = BUF_INIT;
	buf_adds(&line, text);
	buf_addch(&line, '\n');
	free(text);
	struct waiter w = { .id = id, .call = call, .next = p->waiting };
	p->waiting = &w;
	int64_t deadline = now_ms() + e->timeout_ms;
	send_line(e, p, &w, &line, deadline);
	await(e, p, &w, deadline);
	buf_release(&line);
	if (w.rc) {
		buf_clear(&call->err);
		buf_adds(&call->err, w.why);
		free(w.why);
		return w.rc;
	}
	return answer_of(w.resp, call, result);
}

/* The outcome of the answer line resp (consumed): CRATIS_OK with *result (new reference or
 * NULL), or CRATIS_ERROR with call->err and call->field from its "error". */
static int answer_of(json_t *resp, struct call *call, json_t **result)
{
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

/* Start p (reserved by the caller, off) and shake hands with it. */
static int start(struct exec_plugin *e, struct proc *p, struct call *call)
{
	const char *argv[] = { e->program, NULL };
	if (!is_executable(e->program)) {
		char *why = xasprintf("'%s' is not an executable file", e->program);
		mark_failed(e, why);
		free(why);
		return fail_dead(e, call);
	}
	p->state = PROC_STARTING;
	p->reaped = false;
	if (proc_spawn_pipes(argv, e->dir, &p->pid, &p->to, &p->from)) {
		p->state = PROC_OFF;
		char *why = xasprintf("cannot start: %s", cratis_error_last()->message);
		mark_failed(e, why);
		free(why);
		return fail_dead(e, call);
	}
	int fl = fcntl(p->to, F_GETFL);
	if (fl < 0 || fcntl(p->to, F_SETFL, fl | O_NONBLOCK) < 0)
		engine_logf(call ? call->observer : NULL, CRATIS_LOG_DEBUG, NULL, "plugin '%s': cannot make its input non-blocking: %s",
		            e->name, strerror(errno));
	json_t *hs = json_pack("{s:s,s:i}", "op", "handshake", "abi", CRATIS_ABI_MAJOR);
	json_t *res = NULL;
	int rc = roundtrip(e, p, hs, 0, call, &res);
	json_decref(hs);
	json_t *abi = json_object_get(res, "abi");
	if (!rc && (!json_is_integer(abi) || json_integer_value(abi) != CRATIS_ABI_MAJOR)) {
		proc_kill(e, p, CRATIS_EABI, "handshake: plugin speaks ABI %s, this cratis speaks %d",
		          json_is_integer(abi) ? "another major" : "nothing recognisable", CRATIS_ABI_MAJOR);
		fail_dead(e, call);
		rc = CRATIS_EABI;
	} else if (rc == CRATIS_ERROR) {
		char *m = xstrdup(call->err.ptr);
		buf_clear(&call->field);
		proc_kill(e, p, CRATIS_EABI, "refused the handshake: %s", m);
		free(m);
		rc = fail_dead(e, call);
	}
	json_decref(res);
	if (!rc)
		p->state = PROC_READY;
	pthread_cond_broadcast(&e->cv);
	return rc;
}

/* A process with room for one more request, started when every other one is busy; reserved for
 * the caller (inflight) in *out. Fails at once when the plugin has failed. */
static int acquire(struct exec_plugin *e, struct call *call, struct proc **out)
{
	int cap = e->concurrency ? e->concurrency : 1;
	for (;;) {
		if (e->dead)
			return fail_dead(e, call);
		struct proc *off = NULL;
		for (size_t i = 0; i < e->nprocs; i++) {
			struct proc *p = e->procs[i];
			if (p->state == PROC_READY && !p->kill_reason && p->inflight < cap) {
				p->inflight++;
				*out = p;
				return CRATIS_OK;
			}
			if (p->state == PROC_OFF && !p->inflight && !off)
				off = p;
		}
		size_t max = e->concurrency ? 1 : e->max_procs ? (size_t)e->max_procs : SIZE_MAX;
		if (!off && e->nprocs < max) {
			off = xcalloc(1, sizeof(*off));
			buf_init(&off->in);
			ALLOC_GROW(e->procs, e->nprocs + 1, e->aprocs);
			e->procs[e->nprocs++] = off;
		}
		if (off) {
			off->inflight++;
			int rc = start(e, off, call);
			if (rc) {
				off->inflight--;
				pthread_cond_broadcast(&e->cv);
				return rc;
			}
			*out = off;
			return CRATIS_OK;
		}
		wait_change(e, 0);
	}
}

/* Send one request to a process of e and wait for the answer (see roundtrip). */
static int exchange(struct exec_plugin *e, json_t *msg, struct call *call, json_t **result)
{
	struct proc *p;
	pthread_mutex_lock(&e->lock);
	int rc = acquire(e, call, &p);
	if (!rc) {
		rc = roundtrip(e, p, msg, e->next_id++, call, result);
		p->inflight--;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int exec_plugin_call(struct exec_plugin *e, const char *op, const struct cratis_request *req,
                     struct call *call, json_t **out)
{
	int rc;
	json_t *msg = json_pack("{s:s,s:o}", "op", op, "request", exec_request_json(req));
	rc = exchange(e, msg, call, out);
	json_decref(msg);
	return rc;
}

int exec_protocol_feed(const char *data, size_t len)
{
	struct exec_plugin *e = xcalloc(1, sizeof(*e));
	e->name = xstrdup("fuzz");
	e->timeout_ms = 1000;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cv, NULL);
	/* a process with no pid nor pipes (reaped: nothing to kill or wait for), requests 0 and 1
	 * waiting for their answers */
	struct proc p = { .state = PROC_READY, .to = -1, .from = -1, .reaped = true };
	buf_init(&p.in);
	struct call calls[2] = { { .resource = "Fuzz/a" }, { .resource = "Fuzz/b" } };
	for (int i = 0; i < 2; i++) {
		buf_init(&calls[i].err);
		buf_init(&calls[i].field);
	}
	struct waiter w[2] = { { .id = 0, .call = &calls[0] }, { .id = 1, .call = &calls[1] } };
	w[0].next = &w[1];
	p.waiting = &w[0];
	int answered = 0;
	pthread_mutex_lock(&e->lock);
	/* as read_step: what one read gave, then what the next gave */
	size_t half = len / 2;
	buf_add(&p.in, data, half);
	dispatch(e, &p);
	if (!p.kill_reason && p.state == PROC_READY) {
		buf_add(&p.in, data + half, len - half);
		dispatch(e, &p);
	}
	if (p.kill_reason)
		proc_died(e, &p, NULL);
	for (int i = 0; i < 2; i++) {
		if (w[i].done && !w[i].rc) {
			json_t *res = NULL;
			if (answer_of(w[i].resp, &calls[i], &res) == CRATIS_OK)
				answered++;
			json_decref(res);
		}
		free(w[i].why);
		buf_release(&calls[i].err);
		buf_release(&calls[i].field);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&p.in);
	free(p.kill_reason);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->lock);
	free(e->name);
	free(e->dead);
	free(e);
	return answered;
}
