/* Built-in plugin `service`: kind Service (service/v1). Starts a long-running local process
 * detached from cratis (host->spawn_detached: double fork, own session, never cratis' child;
 * stdin /dev/null, output to a log file, pidfile), waits for
 * an HTTP (libcurl) or TCP health check, restarts it on spec change, stops it on destroy, and
 * reports a dead process as drift. Fields: docs/manifests.md#service. libcurl (and the 29
 * shared objects it links) is opened on first use (../common/lazylib.h), by an apply with an
 * HTTP health check, so loading this plugin costs a command nothing for it. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/lazylib.h"
#include "../common/proc.h"
#include "../common/ssh.h"

static const struct cratis_host *host;

/* libcurl, opened on first use: the functions called, then the table filled once per process */
#define CURL_FUNCTIONS(X)                          \
	X(global_init, curl_global_init)           \
	X(easy_init, curl_easy_init)               \
	X(easy_setopt, curl_easy_setopt)           \
	X(easy_perform, curl_easy_perform)         \
	X(easy_getinfo, curl_easy_getinfo)         \
	X(easy_cleanup, curl_easy_cleanup)

struct curl_table {
	struct lazylib lib;
	CURL_FUNCTIONS(LAZYLIB_FIELD)
};
static struct curl_table curl_table; /* written only by curl_load, under curl_once */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load(void)
{
	struct curl_table *t = &curl_table;
	if (lazylib_open(&t->lib, "libcurl", CRATIS_LIBCURL_SONAME, CRATIS_LIBCURL_PACKAGE) == CRATIS_OK) {
		CURL_FUNCTIONS(LAZYLIB_RESOLVE)
	}
	/* once, here, since curl_global_init is not thread-safe everywhere; never cleaned up: the
	 * library stays loaded for the life of the process, and a later registry may use it again */
	if (t->lib.status == CRATIS_OK && t->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		t->lib.status = CRATIS_ERROR;
		snprintf(t->lib.message, sizeof(t->lib.message), "cannot initialise libcurl (%s): curl_global_init failed",
		         CRATIS_LIBCURL_SONAME);
	}
}

/* libcurl's functions into *out, the library opened by the first call in the process. Returns
 * CRATIS_OK, or the status of the failure (CRATIS_ENOTFOUND: not installed or a function missing;
 * CRATIS_ERROR: it would not initialise) with the reason reported on call at field. */
static int curl_get(const struct curl_table **out, void *call, const char *field)
{
	*out = NULL;
	if (pthread_once(&curl_once, curl_load) != 0) {
		host->error(call, field, "cannot load libcurl: pthread_once failed");
		return CRATIS_ERROR;
	}
	if (curl_table.lib.status != CRATIS_OK) {
		host->error(call, field, "%s", curl_table.lib.message);
		return curl_table.lib.status;
	}
	*out = &curl_table;
	return CRATIS_OK;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static bool http_ok(const struct curl_table *t, const char *url)
{
	CURL *c = t->easy_init();
	if (!c)
		return false;
	t->easy_setopt(c, CURLOPT_URL, url);
	t->easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	t->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	t->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	t->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	t->easy_setopt(c, CURLOPT_NOPROXY, "*");
	long code = 0;
	bool ok = t->easy_perform(c) == CURLE_OK && t->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
	          code >= 200 && code < 400;
	t->easy_cleanup(c);
	return ok;
}

static bool tcp_ok(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	if (!colon)
		return false;
	char *h = strndup(hostport, (size_t)(colon - hostport));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	bool ok = false;
	if (getaddrinfo(h, colon + 1, &hints, &ai) == 0) {
		for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
			int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
			if (fd >= 0) {
				ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
				close(fd);
			}
		}
		freeaddrinfo(ai);
	}
	free(h);
	return ok;
}

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = CRATIS_OK;
	char **owned;
	const char **argv = spec_argv(json_object_get(s, "command"), false, &owned);
	json_t *health = json_object_get(s, "health");
	if (!argv) {
		host->error(req->call, "spec.command", "missing field or invalid: expected a non-empty sequence of strings (argv)");
		rc = CRATIS_EINVAL;
	} else if (health && !json_is_object(health)) {
		host->error(req->call, "spec.health", "expected a mapping with http: URL or tcp: HOST:PORT");
		rc = CRATIS_EINVAL;
	} else if (health && !json_is_string(json_object_get(health, "http")) && !json_is_string(json_object_get(health, "tcp"))) {
		host->error(req->call, "spec.health", "expected http: URL or tcp: HOST:PORT");
		rc = CRATIS_EINVAL;
	} else if (health && json_object_get(health, "timeoutSeconds") && !json_is_number(json_object_get(health, "timeoutSeconds"))) {
		host->error(req->call, "spec.health.timeoutSeconds", "expected a number of seconds");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "env") && !json_is_object(json_object_get(s, "env"))) {
		host->error(req->call, "spec.env", "expected a mapping of NAME: value");
		rc = CRATIS_EINVAL;
	}
	if (argv)
		spec_argv_free(argv, owned);
	json_decref(s);
	return rc;
}

/* The address of the service from its health check: "scheme://authority/" of an http URL, or
 * "http://HOST:PORT/" of a tcp HOST:PORT; NULL without one. Caller frees. */
static char *service_address(const char *url, const char *tcp)
{
	if (url) {
		const char *sep = strstr(url, "://");
		if (!sep)
			return NULL;
		size_t auth = strcspn(sep + 3, "/?#");
		size_t n = (size_t)(sep + 3 - url) + auth;
		char *out = malloc(n + 2);
		if (!out)
			return NULL;
		memcpy(out, url, n);
		out[n] = '/';
		out[n + 1] = '\0';
		return out;
	}
	if (tcp) {
		size_t n = strlen(tcp) + sizeof("http:///");
		char *out = malloc(n);
		if (out)
			snprintf(out, n, "http://%s/", tcp);
		return out;
	}
	return NULL;
}

/* The log (STATEDIR/log: the process's stdout and stderr, appended across restarts) is capped at
 * each start: one larger than this moves to log.1, replacing the one before
 * (docs/cli-output.md#logs). */
#define LOG_ROTATE_BYTES (10L << 20)

static void rotate_log(void *call, const char *statedir, const char *logfile)
{
	struct stat st;
	if (stat(logfile, &st) || st.st_size <= LOG_ROTATE_BYTES)
		return;
	char *old = join(statedir, "log.1");
	if (rename(logfile, old))
		host->log(call, CRATIS_LOG_WARN, "cannot rotate '%s': %s", logfile, strerror(errno));
	free(old);
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	char *pidfile = join(req->statedir, "pid"), *marker = marker_of(req->statedir);
	stop(pidfile, 10000);
	stop_marked(marker, 10000); /* one a killed cratis started but never recorded */
	free(pidfile);
	free(marker);
	return CRATIS_OK;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0);
	json_t *health = json_object_get(s, "health");
	const char *url = spec_str(health, "http", NULL), *tcp = spec_str(health, "tcp", NULL);
	/* an HTTP health check needs libcurl: open it before anything is stopped or started */
	const struct curl_table *curl = NULL;
	int lr = url ? curl_get(&curl, req->call, "spec.health.http") : CRATIS_OK;
	if (lr) {
		json_decref(s);
		return lr;
	}
	if (make_dirs(req->statedir) < 0) {
		host->error(req->call, NULL, "cannot create '%s': %s", req->statedir, strerror(errno));
		json_decref(s);
		return CRATIS_EIO;
	}
	char *pidfile = join(req->statedir, "pid"), *logfile = join(req->statedir, "log");
	int rc = CRATIS_OK;
	/* a restart: stop whatever runs now (spec change, or an interrupted earlier run, also one
	 * whose pidfile was never written) */
	char *marker = marker_of(req->statedir);
	stop(pidfile, 10000);
	stop_marked(marker, 10000);
	rotate_log(req->call, req->statedir, logfile);

	char **owned;
	const char **argv = spec_argv(json_object_get(s, "command"), false, &owned);
	char **env = NULL;
	const char *wd = spec_str(s, "workdir", NULL);
	char *workdir = wd ? spec_path(req, wd) : strdup(req->workdir && *req->workdir ? req->workdir : ".");
	pid_t pid;
	if (CRATIS_HOST_HAS(host, spawn_detached)) {
		/* ABI 1.2: a double fork, so the service is never cratis' child (no zombie in a
		 * long-lived cratis, nothing tied to its exit) */
		env = env_with_marker(spec_env(json_object_get(s, "env")), marker);
		int64_t dpid = 0;
		uint64_t st = 0;
		int sr = host->spawn_detached(req->call, argv, (const char *const *)env, workdir, logfile, &dpid, &st);
		if (sr) {
			rc = CRATIS_ERROR;
			goto out_free;
		}
		pid = (pid_t)dpid;
		/* record it at once, so that a killed cratis leaves a pidfile the next run can act on */
		FILE *pf = fopen(pidfile, "w");
		if (pf) {
			fprintf(pf, "%ld %llu\n", (long)pid, (unsigned long long)st);
			fclose(pf);
		}
	} else {
		env = env_with_marker(merged_env(json_object_get(s, "env")), marker);
		int sr = proc_spawn_detached(&pid, argv, env, workdir, logfile);
		if (sr) {
			host->error(req->call, "spec.command", "cannot start '%s': %s", argv[0], strerror(sr));
			rc = CRATIS_ERROR;
			goto out_free;
		}
		write_pidfile(pidfile, pid);
	}
	if (CRATIS_HOST_HAS(host, emit)) {
		char data[64];
		snprintf(data, sizeof(data), "{\"pid\":%ld}", (long)pid);
		host->emit(req->call, "service.started", data);
	}
	json_t *to = json_object_get(health, "timeoutSeconds");
	long long deadline = now_ms() + (json_is_number(to) ? (long long)(json_number_value(to) * 1000) : 30000);
	bool healthy = !health;
	while (!healthy) {
		if (!running_pid(pidfile)) {
			waitpid(pid, NULL, WNOHANG); /* our child only under a host older than ABI 1.2 */
			char *t = tail_of(logfile, 2000);
			host->error(req->call, "spec.command", "process %ld exited during start-up; log tail (%s):\n%s", (long)pid, logfile, t);
			free(t);
			rc = CRATIS_ERROR;
			break;
		}
		healthy = url ? http_ok(curl, url) : tcp_ok(tcp);
		bool local = false;
		int port = healthy ? local_port(url ? url : tcp, &local) : 0;
		long owner = port && local ? port_listener(port) : 0;
		if (healthy && owner && !in_tree(owner, pid)) {
			/* the answer came from somebody else's server: this Service is not what listens */
			char cmd[200] = "a process this user cannot see";
			if (owner > 0)
				cmdline_of(owner, cmd, sizeof(cmd));
			stop(pidfile, 5000);
			stop_marked(marker, 5000);
			char *t = tail_of(logfile, 2000);
			host->error(req->call, "spec.health", "port %d is held by process %ld (%s), not by this Service's process %ld; it was stopped; log tail (%s):\n%s",
			            port, owner, cmd, (long)pid, logfile, t);
			free(t);
			rc = CRATIS_ERROR;
			break;
		}
		if (healthy)
			break;
		if (now_ms() > deadline) {
			stop(pidfile, 5000);
			char *t = tail_of(logfile, 2000);
			host->error(req->call, "spec.health", "health check %s did not pass within the timeout; process stopped; log tail (%s):\n%s",
			            url ? url : tcp, logfile, t);
			free(t);
			rc = CRATIS_ETIMEOUT;
			break;
		}
		usleep(100000);
	}
	if (!rc) {
		json_t *o = json_pack("{s:I,s:s}", "pid", (json_int_t)pid, "log", logfile);
		/* url: where the service answers (scheme, host and port of the health check, path /);
		 * healthUrl: the health check itself */
		char *addr = service_address(url, tcp);
		if (addr)
			json_object_set_new(o, "url", json_string(addr));
		free(addr);
		if (url)
			json_object_set_new(o, "healthUrl", json_string(url));
		json_t *doc = json_pack("{s:o}", "outputs", o);
		*out = spec_out(host, doc);
		json_decref(doc);
	}
out_free:
	free(marker);
	free(workdir);
	spec_env_free(env);
	spec_argv_free(argv, owned);
	free(pidfile);
	free(logfile);
	json_decref(s);
	return rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	char *pidfile = join(req->statedir, "pid");
	long pid = running_pid(pidfile);
	json_t *doc = pid ? json_pack("{s:b,s:b}", "exists", 1, "drift", 0)
	                  : json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "process is not running");
	/* running, but is it what listens on its health check's local port? */
	json_t *s = pid && req->spec ? spec_parse(req, 0) : NULL;
	const char *hc = spec_str(json_object_get(s, "health"), "http", NULL);
	hc = hc ? hc : spec_str(json_object_get(s, "health"), "tcp", NULL);
	bool local = false;
	int port = hc ? local_port(hc, &local) : 0;
	long owner = port && local ? port_listener(port) : 0;
	if (owner && !in_tree(owner, pid)) {
		char cmd[200] = "a process this user cannot see", why[400];
		if (owner > 0)
			cmdline_of(owner, cmd, sizeof(cmd));
		snprintf(why, sizeof(why), "port %d is held by process %ld (%s), not by this Service's process %ld", port, owner, cmd, pid);
		json_decref(doc);
		doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why);
	}
	json_decref(s);
	*out = spec_out(host, doc);
	json_decref(doc);
	free(pidfile);
	return CRATIS_OK;
}

/* ---- Service on an ssh System (docs/systems.md): a remote process started with setsid, its
 * pidfile and log in ~/.cratis/services/KEY on the remote, health-checked from the remote side ---- */

/* Stop the process of the pidfile "$dir/pid": SIGTERM to its group, SIGKILL after 10 s. */
#define REMOTE_STOP_SH                                                                                    \
	"stop() {\n"                                                                                      \
	"  [ -f \"$dir/pid\" ] || return 0\n"                                                             \
	"  pid=$(cat \"$dir/pid\"); case $pid in ''|*[!0-9]*) rm -f \"$dir/pid\"; return 0;; esac\n"      \
	"  kill -TERM -- \"-$pid\" 2>/dev/null || kill -TERM \"$pid\" 2>/dev/null\n"                      \
	"  i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n"   \
	"  kill -KILL -- \"-$pid\" 2>/dev/null; rm -f \"$dir/pid\"\n"                                     \
	"}\n"                                                                                             \
	"case $dir in /*) ;; *) dir=$HOME/$dir;; esac\n"

/* $1 directory, $2 workdir ("" = login directory), $3 health kind (http, tcp or ""), $4 its
 * target, $5 seconds, $6 the command line, quoted. Prints "pid=N"; exit 5: the process died, 6:
 * the health check did not pass in time (the process is stopped), 4: a file operation failed. */
static const char remote_start_sh[] =
	"dir=$1; wd=$2; kind=$3; target=$4; secs=$5; cmd=$6\n" REMOTE_STOP_SH
	"mkdir -p -- \"$dir\" || exit 4\n"
	"stop\n"
	"if [ -n \"$wd\" ]; then cd -- \"$wd\" || exit 4; fi\n"
	"if [ -f \"$dir/log\" ] && [ \"$(wc -c <\"$dir/log\")\" -gt 10485760 ]; then mv -f \"$dir/log\" \"$dir/log.1\"; fi\n"
	"( eval \"exec setsid env CRATIS_RESOURCE_DIR=\\\"\\$dir\\\" $cmd\" ) >>\"$dir/log\" 2>&1 </dev/null &\n"
	"pid=$!\n"
	"echo \"$pid\" >\"$dir/pid\" || exit 4\n"
	"echo \"pid=$pid\"\n"
	"end=$(( $(date +%s) + secs ))\n"
	"while :; do\n"
	"  if ! kill -0 \"$pid\" 2>/dev/null; then rm -f \"$dir/pid\"; echo \"process $pid exited during start-up; log tail ($dir/log):\" >&2; tail -c 2000 \"$dir/log\" >&2; exit 5; fi\n"
	"  case $kind in\n"
	"  http) if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null --max-time 2 --noproxy '*' \"$target\" 2>/dev/null && break;\n"
	"        else wget -q -O /dev/null -T 2 \"$target\" 2>/dev/null && break; fi;;\n"
	"  tcp) h=${target%:*}; p=${target##*:}\n"
	"       if command -v bash >/dev/null 2>&1; then bash -c ': </dev/tcp/$0/$1' \"$h\" \"$p\" 2>/dev/null && break;\n"
	"       else nc -z \"$h\" \"$p\" 2>/dev/null && break; fi;;\n"
	"  *) break;;\n"
	"  esac\n"
	"  if [ \"$(date +%s)\" -ge \"$end\" ]; then stop; echo \"health check $target did not pass within $secs s on the remote; process stopped; log tail ($dir/log):\" >&2; tail -c 2000 \"$dir/log\" >&2; exit 6; fi\n"
	"  sleep 0.2\n"
	"done\n"
	"echo \"log=$dir/log\"\n";

/* The remote directory of the request's Service: .cratis/services/PROJECT.ENV.NAME below the
 * login directory, every character outside [A-Za-z0-9._-] as '_'. Caller frees. */
static char *remote_dir(const struct cratis_request *req)
{
	struct ssh_str k = { 0 };
	ssh_str_add(&k, ".cratis/services/");
	size_t from = k.n;
	ssh_str_add(&k, req->project ? req->project : "");
	ssh_str_add(&k, ".");
	ssh_str_add(&k, req->environment && *req->environment ? req->environment : "_");
	ssh_str_add(&k, ".");
	ssh_str_add(&k, req->name ? req->name : "");
	for (size_t i = from; i < k.n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", k.p[i]))
			k.p[i] = '_';
	return k.p;
}

/* Run script with args on the request's System; 0 with *r filled (caller frees), or an error. */
static int remote_sh(const struct cratis_request *req, const char *script, const char *const *args, int timeout_ms,
                     struct cratis_run_result *r)
{
	struct ssh_target t;
	int rc = ssh_target_open(&t, host, req);
	if (rc)
		return rc;
	struct ssh_str cmd = { 0 };
	ssh_str_add(&cmd, "sh -c ");
	ssh_str_quote(&cmd, script);
	ssh_str_add(&cmd, " cratis-service ");
	ssh_str_quote_argv(&cmd, args);
	rc = ssh_exec(host, req->call, &t, cmd.p, NULL, 0, timeout_ms, NULL, NULL, r);
	free(cmd.p);
	ssh_target_release(&t);
	return rc;
}

static int remote_apply(const struct cratis_request *req, char **out)
{
	json_t *s = spec_parse(req, 0);
	json_t *health = json_object_get(s, "health");
	const char *url = spec_str(health, "http", NULL), *tcp = spec_str(health, "tcp", NULL);
	json_t *to = json_object_get(health, "timeoutSeconds");
	long secs = json_is_number(to) ? (long)(json_number_value(to) + 0.999) : 30;
	char secstr[32];
	snprintf(secstr, sizeof(secstr), "%ld", secs);
	/* the command line: env assignments and argv, each quoted; run by eval on the remote */
	struct ssh_str cmd = { 0 };
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(s, "env"), k, v) {
		char *val = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
		size_t n = strlen(k) + strlen(val) + 2;
		char *kv = malloc(n);
		snprintf(kv, n, "%s=%s", k, val);
		ssh_str_quote(&cmd, kv);
		ssh_str_add(&cmd, " ");
		free(kv);
		free(val);
	}
	char **owned;
	const char **argv = spec_argv(json_object_get(s, "command"), false, &owned);
	ssh_str_quote_argv(&cmd, argv);
	spec_argv_free(argv, owned);
	char *dir = remote_dir(req);
	const char *args[] = { dir, spec_str(s, "workdir", ""), url ? "http" : tcp ? "tcp" : "", url ? url : tcp ? tcp : "",
	                       secstr, cmd.p, NULL };
	struct cratis_run_result r;
	int rc = remote_sh(req, remote_start_sh, args, (int)(secs + 30) * 1000, &r);
	if (!rc) {
		const char *pl = r.out ? strstr(r.out, "pid=") : NULL, *ll = r.out ? strstr(r.out, "log=") : NULL;
		long pid = pl ? strtol(pl + 4, NULL, 10) : 0;
		if (r.exit_code || !ll) {
			size_t n = r.err ? strlen(r.err) : 0;
			while (n && r.err[n - 1] == '\n')
				n--;
			host->error(req->call, r.exit_code == 6 ? "spec.health" : "spec.command", "on System/%s: %.*s", req->system, (int)n,
			            n ? r.err : "the remote start failed");
			rc = r.exit_code == 6 ? CRATIS_ETIMEOUT : CRATIS_ERROR;
		} else {
			char log[1024];
			snprintf(log, sizeof(log), "%.*s", (int)strcspn(ll + 4, "\r\n"), ll + 4);
			if (CRATIS_HOST_HAS(host, emit)) {
				char data[64];
				snprintf(data, sizeof(data), "{\"pid\":%ld}", pid);
				host->emit(req->call, "service.started", data);
			}
			json_t *o = json_pack("{s:I,s:s,s:s}", "pid", (json_int_t)pid, "log", log, "system", req->system);
			char *addr = service_address(url, tcp);
			if (addr)
				json_object_set_new(o, "url", json_string(addr));
			free(addr);
			if (url)
				json_object_set_new(o, "healthUrl", json_string(url));
			json_t *doc = json_pack("{s:o}", "outputs", o);
			*out = spec_out(host, doc);
			json_decref(doc);
		}
		host->free(r.out);
		host->free(r.err);
	}
	free(dir);
	free(cmd.p);
	json_decref(s);
	return rc;
}

static int remote_destroy(const struct cratis_request *req)
{
	char *dir = remote_dir(req);
	const char *args[] = { dir, NULL };
	struct cratis_run_result r;
	int rc = remote_sh(req, "dir=$1\n" REMOTE_STOP_SH "stop\nrm -rf -- \"$dir\"\n", args, 60000, &r);
	if (!rc) {
		if (r.exit_code) {
			host->error(req->call, NULL, "cannot stop the Service on System/%s: %s", req->system, r.err ? r.err : "");
			rc = CRATIS_ERROR;
		}
		host->free(r.out);
		host->free(r.err);
	}
	free(dir);
	return rc;
}

/* Running: the pidfile's process is alive and (where /proc exists) carries this Service's
 * marker, so a recycled pid is not taken for it. */
static int remote_observe(const struct cratis_request *req, char **out)
{
	char *dir = remote_dir(req);
	const char *args[] = { dir, NULL };
	struct cratis_run_result r;
	int rc = remote_sh(req,
	                   "dir=$1\ncase $dir in /*) ;; *) dir=$HOME/$dir;; esac\n"
	                   "pid=$(cat \"$dir/pid\" 2>/dev/null) || { echo stopped; exit 0; }\n"
	                   "kill -0 \"$pid\" 2>/dev/null || { echo stopped; exit 0; }\n"
	                   "if [ -r \"/proc/$pid/environ\" ]; then tr '\\0' '\\n' <\"/proc/$pid/environ\" | grep -qxF \"CRATIS_RESOURCE_DIR=$dir\" || { echo stopped; exit 0; }; fi\n"
	                   "echo running\n",
	                   args, 30000, &r);
	if (!rc) {
		bool up = !r.exit_code && r.out && !strncmp(r.out, "running", 7);
		if (r.exit_code) {
			host->error(req->call, NULL, "cannot observe the Service on System/%s: %s", req->system, r.err ? r.err : "");
			rc = CRATIS_ERROR;
		} else {
			json_t *doc = up ? json_pack("{s:b,s:b}", "exists", 1, "drift", 0)
			                 : json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "process is not running on the remote");
			*out = spec_out(host, doc);
			json_decref(doc);
		}
		host->free(r.out);
		host->free(r.err);
	}
	free(dir);
	return rc;
}

/* The ops: on an ssh System the remote_* path, else the local one. */
static int any_validate(void *data, const struct cratis_request *req, char **out)
{
	int rc = validate(data, req, out);
	return !rc && ssh_is_remote(req) ? ssh_system_check(host, req) : rc;
}

static int any_apply(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_apply(req, out) : apply(data, req, out);
}

static int any_destroy(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_destroy(req) : destroy(data, req, out);
}

static int any_observe(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_observe(req, out) : observe(data, req, out);
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.validate = any_validate,
	.apply = any_apply,
	.destroy = any_destroy,
	.observe = any_observe,
};
static const char *const versions[] = { "v1", NULL };
/* The kind's fields (ABI 1.3): any other field is refused at its location (docs/manifests.md). */
static const struct cratis_field fields[] = {
	{ sizeof(struct cratis_field), "spec.command", "argv", "the process to run", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.env.*", "string", "variables added to its environment", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.workdir", "string", "its working directory", "the project directory", 0 },
	{ sizeof(struct cratis_field), "spec.health.http", "string", "URL that must answer 2xx or 3xx", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.health.tcp", "string", "HOST:PORT that must accept a connection", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.health.timeoutSeconds", "number", "seconds the health check may take", "30", 0 },
	{ sizeof(struct cratis_field), "spec.resources.cpu", "any", "CPU requested (Kubernetes quantity: 500m, 2), counted against the namespace's quota; not enforced on the process", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.resources.memory", "any", "memory requested (256Mi, 1Gi), counted against the namespace's quota; not enforced on the process", NULL, 0 },
	{ 0 },
};
static const struct cratis_handler service = {
	sizeof(struct cratis_handler), "service", "Service", versions, &ops, NULL, fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (host != h) /* loaded again by another app of the process (cratis serve): the same host */
		host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "service", "0.1.0", NULL, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &service);
	return rc;
}
