/* Built-in plugin `router`: kind Route (router/v1). Runs cratis' own nginx instance per Route
 * (prefix, configuration, pid and logs in the resource's statedir; no system configuration is
 * touched) that proxies a public listen address to the active upstream and, optionally, a preview
 * address to the preview upstream. A spec change is applied with a graceful reload (`nginx -s
 * reload`: new workers take new connections, old ones finish theirs), never a restart.
 * Fields: docs/manifests.md#route. nginx directives: https://nginx.org/en/docs/ */
#define _GNU_SOURCE
#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/proc.h"

static const struct cratis_host *host;

/* "127.0.0.1:8080", or a bare port meaning 127.0.0.1:PORT; NULL when unusable. Caller frees. */
static char *address(json_t *v)
{
	char buf[300];
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536)
		snprintf(buf, sizeof(buf), "127.0.0.1:%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v) && strchr(json_string_value(v), ':') && strlen(json_string_value(v)) < 256 &&
	         strspn(json_string_value(v), "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:[]") == json_string_length(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else if (json_is_string(v) && strspn(json_string_value(v), "0123456789") == json_string_length(v) && json_string_length(v) &&
	         json_string_length(v) < 6)
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", json_string_value(v));
	else
		return NULL;
	return strdup(buf);
}

/* Check one {listen, upstream} pair at field; 0 or CRATIS_EINVAL with the error set. */
static int check_pair(const struct cratis_request *req, json_t *o, const char *field)
{
	char f[64];
	const char *names[] = { "listen", "upstream" };
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, names[i]);
		bool ok = false;
		if (json_is_array(v) && json_array_size(v)) {
			ok = true;
			for (size_t k = 0; k < json_array_size(v) && i == 1; k++) {
				char *a = address(json_array_get(v, k));
				ok &= a != NULL;
				free(a);
			}
		} else {
			char *a = address(v);
			ok = a != NULL;
			free(a);
		}
		if (!ok || (i == 0 && json_is_array(v))) {
			snprintf(f, sizeof(f), "%s%s", field, names[i]);
			host->error(req->call, f, "expected %s as HOST:PORT or a port number%s", i ? "the backend address" : "the address to listen on",
			            i ? " (or a sequence of them)" : "");
			return CRATIS_EINVAL;
		}
	}
	return CRATIS_OK;
}

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = check_pair(req, s, "spec.");
	json_t *pv = json_object_get(s, "preview");
	if (!rc && pv && !json_is_object(pv)) {
		host->error(req->call, "spec.preview", "expected a mapping with listen and upstream");
		rc = CRATIS_EINVAL;
	} else if (!rc && pv) {
		rc = check_pair(req, pv, "spec.preview.");
	}
	json_decref(s);
	return rc;
}

static void add_server(FILE *f, const char *name, json_t *pair)
{
	char *listen = address(json_object_get(pair, "listen"));
	json_t *up = json_object_get(pair, "upstream");
	fprintf(f, "    upstream %s {\n", name);
	for (size_t k = 0; k < (json_is_array(up) ? json_array_size(up) : 1); k++) {
		char *a = address(json_is_array(up) ? json_array_get(up, k) : up);
		fprintf(f, "        server %s max_fails=0;\n", a);
		free(a);
	}
	fprintf(f, "        keepalive 16;\n    }\n");
	fprintf(f, "    server {\n        listen %s;\n        location / {\n", listen);
	fprintf(f, "            proxy_pass http://%s;\n", name);
	fprintf(f, "            proxy_set_header Host $host;\n            proxy_set_header Connection \"\";\n");
	fprintf(f, "            proxy_next_upstream error timeout http_502;\n        }\n    }\n");
	free(listen);
}

/* Write s to f as one double-quoted nginx configuration token: '"' and '\' escaped with a
 * backslash, the only escapes nginx's parser gives meaning to besides \t, \r and \n
 * (src/core/ngx_conf_file.c, ngx_conf_read_token). A value with a control character is refused:
 * false, nothing written. Spaces, ';', '{', '}', '#' and '$' are literal inside the quotes for
 * the directives this plugin writes (pid, error_log, *_temp_path: no variables). */
static bool put_quoted(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
	return true;
}

/* Write s into a comment line: control characters (which would end the comment) become '?'. */
static void put_comment_text(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++)
		fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

/* "DIRECTIVE "STATEDIR/SUFFIX"[ REST];\n" with the path quoted; false when the statedir is refused. */
static bool put_path_directive(FILE *f, const char *indent, const char *directive, const char *statedir,
                               const char *suffix, const char *rest)
{
	char *path = join(statedir, suffix);
	fprintf(f, "%s%s ", indent, directive);
	bool ok = put_quoted(f, path);
	fprintf(f, "%s;\n", rest);
	free(path);
	return ok;
}

/* The whole configuration for spec s into *out (caller frees). Every value from outside the
 * plugin is quoted per nginx's syntax or already restricted to safe characters (addresses, see
 * address()). Returns 0, or CRATIS_EINVAL (error set) when the statedir holds a control
 * character, CRATIS_ENOMEM when memory runs out. */
static int render(char **out, const struct cratis_request *req, json_t *s)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		host->error(req->call, NULL, "cannot render nginx.conf: %s", strerror(errno));
		return CRATIS_ENOMEM;
	}
	bool ok = true;
	fprintf(f, "# rendered by cratis (router plugin) for ");
	put_comment_text(f, req->kind);
	fputc('/', f);
	put_comment_text(f, req->name);
	fprintf(f, "; changes are overwritten\ndaemon off;\nworker_processes 1;\n");
	ok &= put_path_directive(f, "", "pid", req->statedir, "nginx.pid", "");
	ok &= put_path_directive(f, "", "error_log", req->statedir, "error.log", " warn");
	fprintf(f, "events {\n    worker_connections 1024;\n}\nhttp {\n    access_log off;\n    proxy_http_version 1.1;\n");
	static const char *const temps[][2] = { { "client_body_temp_path", "tmp/body" }, { "proxy_temp_path", "tmp/proxy" },
	                                        { "fastcgi_temp_path", "tmp/fastcgi" }, { "uwsgi_temp_path", "tmp/uwsgi" },
	                                        { "scgi_temp_path", "tmp/scgi" } };
	for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
		ok &= put_path_directive(f, "    ", temps[i][0], req->statedir, temps[i][1], "");
	add_server(f, "active", s);
	json_t *pv = json_object_get(s, "preview");
	if (pv)
		add_server(f, "preview", pv);
	fprintf(f, "}\n");
	if (fclose(f) != 0) {
		free(text);
		host->error(req->call, NULL, "cannot render nginx.conf: %s", strerror(errno));
		return CRATIS_ENOMEM;
	}
	if (!ok) {
		free(text);
		host->error(req->call, NULL, "cannot write the state directory '%s' into nginx.conf: it holds a control character", req->statedir);
		return CRATIS_EINVAL;
	}
	*out = text;
	return CRATIS_OK;
}

static const char *nginx_bin(json_t *s)
{
	const char *b = spec_str(s, "nginx", NULL);
	if (b)
		return b;
	return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

/* Run nginx with args after -p/-c/-e; 0, or an error with its stderr. */
static int nginx_run(const struct cratis_request *req, json_t *s, const char *conf, const char *const *args)
{
	char *errlog = join(req->statedir, "error.log");
	const char *argv[12] = { nginx_bin(s), "-p", req->statedir, "-c", conf, "-e", errlog };
	size_t n = 7;
	for (size_t i = 0; args[i] && n < 11; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct cratis_run_result res = { .size = sizeof(res) };
	int rc = host->run(req->call, argv, NULL, req->statedir, 20000, &res);
	if (!rc && (res.exit_code || res.timed_out)) {
		host->error(req->call, NULL, "nginx %s failed (exit %d): %s", args[0], res.exit_code, res.err ? res.err : "");
		rc = CRATIS_ERROR;
	}
	if (!rc || rc == CRATIS_ERROR) {
		host->free(res.out);
		host->free(res.err);
	}
	free(errlog);
	return rc;
}

static bool listening(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	char *h = strndup(hostport, (size_t)(colon - hostport));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	bool ok = false;
	if (getaddrinfo(h, colon + 1, &hints, &ai) == 0) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
	}
	free(h);
	return ok;
}

/* Child pids of nginx master `master` (from /proc) into pids (at most max); returns the count. */
static size_t workers_of(long master, long *pids, size_t max)
{
	size_t count = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long pid = strtol(de->d_name, NULL, 10);
		if (pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		long ppid = 0;
		if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == master && count < max)
			pids[count++] = pid;
	}
	if (d)
		closedir(d);
	return count;
}

/* True while any of the n pids is still a child of master. */
static bool any_left(long master, const long *old, size_t n)
{
	long now[64];
	size_t m = workers_of(master, now, 64);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < m; k++)
			if (old[i] == now[k])
				return true;
	return false;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0);
	char *pidfile = join(req->statedir, "nginx.pid.cratis"), *conf = join(req->statedir, "nginx.conf");
	char *next = join(req->statedir, "nginx.conf.next"), *tmp = join(req->statedir, "tmp");
	char *listen = address(json_object_get(s, "listen"));
	int rc = CRATIS_OK;
	char *text = NULL;
	if (make_dirs(tmp) < 0) {
		host->error(req->call, NULL, "cannot create '%s': %s", tmp, strerror(errno));
		rc = CRATIS_EIO;
		goto out_free;
	}
	if ((rc = render(&text, req, s)))
		goto out_free;
	FILE *f = fopen(next, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		host->error(req->call, NULL, "cannot write '%s': %s", next, strerror(errno));
		rc = CRATIS_EIO;
		goto out_free;
	}
	const char *test[] = { "-t", "-q", NULL };
	if ((rc = nginx_run(req, s, next, test)))
		goto out_free;
	rename(next, conf);
	long pid = running_pid(pidfile);
	if (pid) {
		/* graceful: the master re-reads the configuration, starts new workers, and lets the old
		 * ones finish the requests they hold */
		long old[64];
		size_t nold = workers_of(pid, old, 64);
		const char *reload[] = { "-s", "reload", NULL };
		if ((rc = nginx_run(req, s, conf, reload)))
			goto out_free;
		/* the switch is complete when the old workers have stopped taking connections and left */
		long long until = now_ms() + 10000;
		while (any_left(pid, old, nold) && now_ms() < until)
			usleep(2000);
	} else {
		char *log = join(req->statedir, "nginx.out");
		char *errlog = join(req->statedir, "error.log");
		const char *argv[] = { nginx_bin(s), "-p", req->statedir, "-c", conf, "-e", errlog, NULL };
		pid_t np;
		char *env[] = { NULL };
		int sr = proc_spawn_detached(&np, argv, env, req->statedir, log);
		if (sr) {
			host->error(req->call, NULL, "cannot start nginx '%s': %s", argv[0], strerror(sr));
			rc = CRATIS_ERROR;
		} else {
			write_pidfile(pidfile, np);
			long long until = now_ms() + 10000;
			while (!listening(listen) && running_pid(pidfile) && now_ms() < until)
				usleep(5000);
			if (!listening(listen)) {
				char *t = tail_of(errlog, 1500);
				stop(pidfile, 3000);
				host->error(req->call, "spec.listen", "nginx did not listen on %s; error log tail:\n%s", listen, t);
				free(t);
				rc = CRATIS_ERROR;
			}
		}
		free(log);
		free(errlog);
		if (rc)
			goto out_free;
		pid = np;
	}
	/* nginx answers on every address only when it is its own: a port another program holds makes
	 * a reload keep the old configuration (and a first start fail) with no exit status to see */
	json_t *pv0 = json_object_get(s, "preview");
	const char *which[] = { "spec.listen", "spec.preview.listen" };
	json_t *addrs[] = { json_object_get(s, "listen"), pv0 ? json_object_get(pv0, "listen") : NULL };
	for (int i = 0; i < 2 && !rc; i++) {
		char *a = addrs[i] ? address(addrs[i]) : NULL;
		bool local = false;
		int port = a ? local_port(a, &local) : 0;
		long owner = port && local ? port_listener(port) : 0;
		if (port && local && !in_tree(owner, pid)) {
			char cmd[200], holder[260];
			if (owner > 0) {
				cmdline_of(owner, cmd, sizeof(cmd));
				snprintf(holder, sizeof(holder), "it is held by process %ld (%s)", owner, cmd);
			} else {
				snprintf(holder, sizeof(holder), owner < 0 ? "it is held by a process this user cannot see" : "nothing listens there");
			}
			char *errlog = join(req->statedir, "error.log");
			char *t = tail_of(errlog, 1500);
			host->error(req->call, which[i], "cratis' nginx (pid %ld) does not listen on %s: %s; error log tail:\n%s", pid, a,
			            holder, t);
			free(t);
			free(errlog);
			rc = CRATIS_ERROR;
		}
		free(a);
	}
	if (rc)
		goto out_free;
	json_t *o = json_pack("{s:s,s:I}", "url", "", "pid", (json_int_t)pid);
	char url[300];
	snprintf(url, sizeof(url), "http://%s/", listen);
	json_object_set_new(o, "url", json_string(url));
	json_t *pv = json_object_get(s, "preview");
	if (pv) {
		char *pl = address(json_object_get(pv, "listen"));
		snprintf(url, sizeof(url), "http://%s/", pl);
		json_object_set_new(o, "previewUrl", json_string(url));
		free(pl);
	}
	json_t *doc = json_pack("{s:o}", "outputs", o);
	*out = spec_out(host, doc);
	json_decref(doc);
out_free:
	free(text);
	free(listen);
	free(pidfile);
	free(conf);
	free(next);
	free(tmp);
	json_decref(s);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	char *pidfile = join(req->statedir, "nginx.pid.cratis");
	long pid = running_pid(pidfile);
	if (pid)
		kill((pid_t)pid, SIGQUIT); /* graceful shutdown: finish requests, then exit */
	stop(pidfile, 10000);
	free(pidfile);
	return CRATIS_OK;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	char *pidfile = join(req->statedir, "nginx.pid.cratis"), *conf = join(req->statedir, "nginx.conf");
	json_t *s = spec_parse(req, 1);
	json_t *doc;
	if (!running_pid(pidfile)) {
		doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "nginx is not running");
	} else {
		char *want = NULL;
		if (render(&want, req, s)) {
			json_decref(s);
			free(pidfile);
			free(conf);
			return CRATIS_EINVAL;
		}
		FILE *f = fopen(conf, "r");
		char have[65536];
		size_t n = f ? fread(have, 1, sizeof(have) - 1, f) : 0;
		if (f)
			fclose(f);
		have[n] = '\0';
		doc = strcmp(have, want) ? json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "nginx configuration changed on disk")
		                         : json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
		free(want);
	}
	*out = spec_out(host, doc);
	json_decref(doc);
	json_decref(s);
	free(pidfile);
	free(conf);
	return CRATIS_OK;
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.validate = validate,
	.apply = apply,
	.destroy = destroy,
	.observe = observe,
};
static const char *const versions[] = { "v1", NULL };
/* The kind's fields (ABI 1.3): any other field is refused at its location (docs/manifests.md). */
static const struct cratis_field fields[] = {
	{ sizeof(struct cratis_field), "spec.listen", "any", "public HOST:PORT or port", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.upstream", "any", "active backend(s): HOST:PORT, port or a sequence", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.preview.listen", "any", "preview HOST:PORT or port", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.preview.upstream", "any", "preview backend(s)", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.nginx", "string", "the nginx binary", "/usr/sbin/nginx when executable, else nginx from PATH", 0 },
	{ 0 },
};
static const struct cratis_handler route = {
	sizeof(struct cratis_handler), "router", "Route", versions, &ops, NULL, fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (host != h) /* loaded again by another app of the process (cratis serve): the same host */
		host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "router", "0.1.0", NULL, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &route);
	return rc;
}
