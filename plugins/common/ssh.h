/* The SSH transport of the built-in plugins (docs/systems.md): a System of `type: ssh` is reached
 * through the OpenSSH client, one multiplexed connection (ControlMaster) per System and cratis
 * process, host keys always checked. Header-only; uses libc, jansson and the public plugin ABI. */
#ifndef CRATIS_PLUGIN_SSH_H
#define CRATIS_PLUGIN_SSH_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"

/* ---- a small growable string (plugins cannot use src/util/buf.h) ---- */

struct ssh_str {
	char *p;       /* NUL-terminated once anything was added; NULL before */
	size_t n, cap;
};

static inline void ssh_str_addn(struct ssh_str *s, const char *x, size_t n)
{
	if (s->n + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap < s->n + n + 1)
			cap *= 2;
		char *p = realloc(s->p, cap);
		if (!p)
			abort(); /* as xmalloc does in the core: no partial command may run */
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->n, x, n);
	s->n += n;
	s->p[s->n] = '\0';
}

static inline void ssh_str_add(struct ssh_str *s, const char *x)
{
	ssh_str_addn(s, x, strlen(x));
}

/* Append x quoted for a POSIX shell: inside single quotes, a quote written as '\''. Every byte
 * but the quote is literal there, so no expansion, globbing or word splitting touches it. */
static inline void ssh_str_quote(struct ssh_str *s, const char *x)
{
	ssh_str_add(s, "'");
	for (const char *q; (q = strchr(x, '\''));) {
		ssh_str_addn(s, x, (size_t)(q - x));
		ssh_str_add(s, "'\\''");
		x = q + 1;
	}
	ssh_str_add(s, x);
	ssh_str_add(s, "'");
}

/* Append argv quoted word by word, separated by spaces. */
static inline void ssh_str_quote_argv(struct ssh_str *s, const char *const *argv)
{
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			ssh_str_add(s, " ");
		ssh_str_quote(s, argv[i]);
	}
}

/* ---- the target ---- */

#define SSH_MAX_ARGS 64
#define SSH_SESSIONS 8  /* sessions one process runs at once on one System's connection */

/* One ssh System as a request names it. Every string is owned (freed by ssh_target_release). */
struct ssh_target {
	char *system;       /* the System's name, for messages */
	char *hostname;     /* spec.host */
	int port;           /* spec.port, 22 */
	char *user;         /* spec.user, or NULL: the local user name */
	char *identity;     /* auth.identityFile.fromFile, absolute; NULL = ssh's defaults */
	bool agent;         /* auth.agent: the agent of $SSH_AUTH_SOCK */
	char *known_hosts;  /* the known_hosts file checked: spec.knownHosts, the pinned key's file,
	                     * or NULL for ~/.ssh/known_hosts */
	bool pinned;        /* known_hosts was written from spec.hostKey */
	char *jump;         /* spec.jump "[user@]host[:port]" or NULL */
	char *proxy;        /* ProxyCommand built from jump, or NULL */
	char dir[96];       /* this process's control directory */
	char ctl[160];      /* the control socket of this System */
	char portstr[16];
	const char *argv[SSH_MAX_ARGS];
	size_t argc;        /* the base command line, argv[0..argc) */
};

/* True when the request targets a System of type ssh. */
static inline bool ssh_is_remote(const struct cratis_request *req)
{
	return CRATIS_HAS(req, system_type) && req->system_type && !strcmp(req->system_type, "ssh");
}

/* 64-bit FNV-1a over s, continuing from h. */
static inline uint64_t ssh_hash(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* The control directory of this process: ${TMPDIR:-/tmp}/cratis-ssh-UID-PID (0700, owned by
 * this user; /tmp when TMPDIR is longer than 30 bytes: a socket path has at most 107, and ssh
 * binds the master's at the path plus 17 bytes before renaming it). Returns 0 or an errno value. */
static inline int ssh_control_dir(char *out, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(out, cap, "%s/cratis-ssh-%lu-%ld", tmp, (unsigned long)getuid(), (long)getpid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return errno;
	struct stat st;
	if (lstat(out, &st) < 0)
		return errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return EPERM; /* planted by someone else: never put a socket there */
	return 0;
}

/* Write data to path atomically (temporary file + rename), mode 0600. Returns 0 or errno. */
static inline int ssh_write_file(const char *path, const char *data)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return errno;
	size_t n = strlen(data), off = 0;
	int rc = 0;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 && !rc)
		rc = errno;
	if (!rc && rename(tmp, path) < 0)
		rc = errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static inline void ssh_target_release(struct ssh_target *t)
{
	free(t->system);
	free(t->hostname);
	free(t->user);
	free(t->identity);
	free(t->known_hosts);
	free(t->jump);
	free(t->proxy);
	memset(t, 0, sizeof(*t));
}

/* A host name or user that cannot be taken for an option or split by a shell. */
static inline bool ssh_word_ok(const char *s)
{
	if (!s || !*s || *s == '-')
		return false;
	for (; *s; s++)
		if (*s <= ' ' || strchr("'\"\\`$;&|<>()*?[]{}!#~", *s))
			return false;
	return true;
}

/* A public key as ssh writes it: "TYPE BASE64 [comment]". */
static inline bool ssh_key_ok(const char *k)
{
	const char *sp = strchr(k, ' ');
	if (!sp || sp == k || strchr(k, '\n'))
		return false;
	if (strncmp(k, "ssh-", 4) && strncmp(k, "ecdsa-", 6) && strncmp(k, "sk-", 3))
		return false;
	const char *b = sp + 1;
	size_t n = strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	return n >= 16 && (b[n] == '\0' || b[n] == ' ');
}

static inline void ssh_arg(struct ssh_target *t, const char *a)
{
	if (t->argc + 1 < SSH_MAX_ARGS)
		t->argv[t->argc++] = a;
}

/* Fill t from the request's System (req->system_spec) and build the base ssh command line.
 * host reports problems on req->call, naming System/NAME and the field. Returns CRATIS_OK;
 * CRATIS_EINVAL for a malformed System (no host, a bad port, user, key, jump, both knownHosts
 * and hostKey); CRATIS_EIO when the control directory or the pinned known_hosts file cannot be
 * written. On error t holds nothing to release. */
static inline int ssh_target_open_ex(struct ssh_target *t, const struct cratis_host *host, const struct cratis_request *req,
                                     bool files);

static inline int ssh_target_open(struct ssh_target *t, const struct cratis_host *host, const struct cratis_request *req)
{
	return ssh_target_open_ex(t, host, req, true);
}

/* Check the request's System as ssh_target_open does, writing nothing (for validate, which runs
 * on plan). Returns CRATIS_OK or CRATIS_EINVAL with the detail set. */
static inline int ssh_system_check(const struct cratis_host *host, const struct cratis_request *req)
{
	struct ssh_target t;
	int rc = ssh_target_open_ex(&t, host, req, false);
	if (!rc)
		ssh_target_release(&t);
	return rc;
}

/* ssh_target_open; with files false, only the checks (no control directory, no known_hosts). */
static inline int ssh_target_open_ex(struct ssh_target *t, const struct cratis_host *host, const struct cratis_request *req,
                                     bool files)
{
	memset(t, 0, sizeof(*t));
	json_t *s = json_loads(req->system_spec ? req->system_spec : "{}", 0, NULL);
	const char *sys = req->system && *req->system ? req->system : "?";
	int rc = CRATIS_EINVAL;
	t->system = strdup(sys);
	json_t *port = json_object_get(s, "port"), *auth = json_object_get(s, "auth");
	json_t *idf = json_object_get(auth, "identityFile"), *agent = json_object_get(auth, "agent");
	const char *kh = spec_str(s, "knownHosts", NULL), *key = spec_str(s, "hostKey", NULL);
	const char *user = spec_str(s, "user", NULL), *jump = spec_str(s, "jump", NULL);
	if (!ssh_word_ok(spec_str(s, "host", NULL))) {
		host->error(req->call, NULL, "System/%s: spec.host: expected a host name or address (no spaces or shell characters)", sys);
		goto out;
	}
	t->hostname = strdup(spec_str(s, "host", ""));
	t->port = 22;
	if (port && (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)) {
		host->error(req->call, NULL, "System/%s: spec.port: expected a TCP port from 1 to 65535", sys);
		goto out;
	}
	if (port)
		t->port = (int)json_integer_value(port);
	if (json_object_get(s, "user") && !ssh_word_ok(user)) {
		host->error(req->call, NULL, "System/%s: spec.user: expected a user name", sys);
		goto out;
	}
	t->user = user ? strdup(user) : NULL;
	if (kh && key) {
		host->error(req->call, NULL, "System/%s: spec.hostKey: give either knownHosts (a file) or hostKey (one pinned key), not both", sys);
		goto out;
	}
	if (key && !ssh_key_ok(key)) {
		host->error(req->call, NULL, "System/%s: spec.hostKey: expected a public host key 'TYPE BASE64' as in a .pub file or ssh-keyscan's output (e.g. 'ssh-ed25519 AAAA...')", sys);
		goto out;
	}
	if (idf && !json_is_string(json_object_get(idf, "fromFile"))) {
		host->error(req->call, NULL, "System/%s: spec.auth.identityFile: expected {fromFile: PATH}, the private key file ssh reads (cratis never reads it)", sys);
		goto out;
	}
	if (agent && !json_is_true(agent) && !json_is_false(agent)) {
		host->error(req->call, NULL, "System/%s: spec.auth.agent: expected true (use the agent of $SSH_AUTH_SOCK) or false", sys);
		goto out;
	}
	t->agent = json_is_true(agent);
	if (idf)
		t->identity = spec_path(req, json_string_value(json_object_get(idf, "fromFile")));
	if (kh)
		t->known_hosts = spec_path(req, kh);
	if (jump) {
		/* [user@]host[:port] */
		char *j = strdup(jump), *at = strchr(j, '@'), *h = at ? at + 1 : j, *colon = strrchr(h, ':');
		if (at)
			*at = '\0';
		if (colon)
			*colon = '\0';
		long jp = colon ? strtol(colon + 1, NULL, 10) : 22;
		bool ok = ssh_word_ok(h) && (!at || ssh_word_ok(j)) && jp > 0 && jp < 65536;
		if (!ok) {
			free(j);
			host->error(req->call, NULL, "System/%s: spec.jump: expected [user@]host[:port]", sys);
			goto out;
		}
		t->jump = strdup(jump);
		free(j);
	}
	if (!files) {
		rc = CRATIS_OK;
		goto out;
	}
	int e = ssh_control_dir(t->dir, sizeof(t->dir));
	if (e) {
		host->error(req->call, NULL, "System/%s: cannot use the control directory '%s': %s", sys, t->dir, strerror(e));
		rc = CRATIS_EIO;
		goto out;
	}
	uint64_t hh = ssh_hash(1469598103934665603ULL, sys);
	hh = ssh_hash(hh, t->hostname);
	hh = ssh_hash(hh, user);
	hh = ssh_hash(hh, jump);
	snprintf(t->portstr, sizeof(t->portstr), "%d", t->port);
	hh = ssh_hash(hh, t->portstr);
	hh = ssh_hash(hh, key);
	hh = ssh_hash(hh, t->known_hosts);
	hh = ssh_hash(hh, t->identity);
	snprintf(t->ctl, sizeof(t->ctl), "%s/%016llx.s", t->dir, (unsigned long long)hh);
	if (key) {
		/* the pinned key as the only entry of a known_hosts file of this process */
		char path[200], line[8192];
		snprintf(path, sizeof(path), "%s/%016llx.known_hosts", t->dir, (unsigned long long)hh);
		if (t->port == 22)
			snprintf(line, sizeof(line), "%s %s\n", t->hostname, key);
		else
			snprintf(line, sizeof(line), "[%s]:%d %s\n", t->hostname, t->port, key);
		if ((e = ssh_write_file(path, line))) {
			host->error(req->call, NULL, "System/%s: cannot write the pinned host key to '%s': %s", sys, path, strerror(e));
			rc = CRATIS_EIO;
			goto out;
		}
		t->known_hosts = strdup(path);
		t->pinned = true;
	}
	/* options as strings owned by t: kept in one allocation per option */
	static const char *const fixed[] = {
		"-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "CheckHostIP=no",
		"-o", "UpdateHostKeys=no", "-o", "HashKnownHosts=no", "-o", "ConnectTimeout=15",
		"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR",
	};
	ssh_arg(t, "ssh");
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ssh_arg(t, fixed[i]);
	rc = CRATIS_OK;
out:
	json_decref(s);
	if (rc)
		ssh_target_release(t);
	return rc;
}

/* The per-target options, as a list of heap strings into opts (NULL-terminated, at most cap-1). */
static inline size_t ssh_target_opts(const struct ssh_target *t, char **opts, size_t cap)
{
	size_t n = 0;
#define SSH_OPT(...)                                        \
	do {                                                \
		int l_ = snprintf(NULL, 0, __VA_ARGS__);    \
		char *o_ = malloc((size_t)l_ + 1);          \
		if (!o_)                                    \
			abort();                            \
		snprintf(o_, (size_t)l_ + 1, __VA_ARGS__);  \
		if (n + 2 < cap) {                          \
			opts[n++] = strdup("-o");           \
			opts[n++] = o_;                     \
		} else {                                    \
			free(o_);                           \
		}                                           \
	} while (0)
	SSH_OPT("ControlPath=%s", t->ctl);
	SSH_OPT("Port=%d", t->port);
	if (t->user)
		SSH_OPT("User=%s", t->user);
	if (t->known_hosts) {
		SSH_OPT("UserKnownHostsFile=%s", t->known_hosts);
		SSH_OPT("GlobalKnownHostsFile=/dev/null");
	}
	if (t->identity) {
		SSH_OPT("IdentityFile=%s", t->identity);
		SSH_OPT("IdentitiesOnly=yes");
	}
	if (!t->agent)
		SSH_OPT("IdentityAgent=none");
	if (t->jump) {
		/* the jump host is checked as strictly, against the same file unless the key is pinned */
		struct ssh_str pc = { 0 };
		ssh_str_add(&pc, "ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o CheckHostIP=no -o LogLevel=ERROR");
		if (t->known_hosts && !t->pinned) {
			ssh_str_add(&pc, " -o UserKnownHostsFile=");
			ssh_str_quote(&pc, t->known_hosts);
		}
		if (t->identity) {
			ssh_str_add(&pc, " -i ");
			ssh_str_quote(&pc, t->identity);
		}
		char *j = strdup(t->jump), *h = strchr(j, '@') ? strchr(j, '@') + 1 : j, *colon = strrchr(h, ':');
		if (colon) {
			*colon = '\0';
			ssh_str_add(&pc, " -p ");
			ssh_str_add(&pc, colon + 1);
		}
		ssh_str_add(&pc, " -W %h:%p ");
		ssh_str_add(&pc, j); /* [user@]host, checked by ssh_word_ok */
		free(j);
		SSH_OPT("ProxyCommand=%s", pc.p);
		free(pc.p);
	}
#undef SSH_OPT
	opts[n] = NULL;
	return n;
}

/* The full command line: base, target options, extra (NULL-terminated, may be NULL), then the
 * host and, when remote is not NULL, "--"-free remote command (one word, run by the login shell).
 * Heap strings of the options go to *owned (freed by ssh_free_owned). */
static inline const char **ssh_argv(const struct ssh_target *t, const char *const *extra, const char *remote, char ***owned)
{
	char **opts = calloc(32, sizeof(char *));
	size_t no = ssh_target_opts(t, opts, 32), ne = 0;
	while (extra && extra[ne])
		ne++;
	const char **a = calloc(t->argc + no + ne + 4, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < t->argc; i++)
		a[n++] = t->argv[i];
	for (size_t i = 0; i < no; i++)
		a[n++] = opts[i];
	for (size_t i = 0; i < ne; i++)
		a[n++] = extra[i];
	a[n++] = t->hostname;
	if (remote)
		a[n++] = remote;
	a[n] = NULL;
	*owned = opts;
	return a;
}

static inline void ssh_free_owned(const char **argv, char **owned)
{
	for (size_t i = 0; owned && owned[i]; i++)
		free(owned[i]);
	free(owned);
	free(argv);
}

/* The fingerprint ssh -v reports for the server's host key ("ssh-ed25519 SHA256:..."), into
 * out (empty when it could not be learnt). Runs one connection that stops at the key check. */
static inline void ssh_fingerprint(const struct cratis_host *host, void *call, const struct ssh_target *t, char *out, size_t cap)
{
	static const char *const extra[] = { "-v", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "LogLevel=DEBUG1", NULL };
	char **owned;
	const char **argv = ssh_argv(t, extra, "true", &owned);
	struct cratis_run_result r = { .size = sizeof(r) };
	out[0] = '\0';
	if (host->run(call, argv, NULL, NULL, 20000, &r) == CRATIS_OK && r.err) {
		const char *k = strstr(r.err, "Server host key: ");
		if (k) {
			k += strlen("Server host key: ");
			size_t n = strcspn(k, "\r\n");
			snprintf(out, cap, "%.*s", (int)n, k);
		}
	}
	host->free(r.out);
	host->free(r.err);
	ssh_free_owned(argv, owned);
}

/* Make sure the System's master connection runs: started once per process and System (under a
 * lock, so parallel requests share it), authenticated and host-key-checked then; it exits when
 * idle for 120 s or at ssh_close_all. Returns CRATIS_OK, CRATIS_EIO when the lock cannot be
 * taken, CRATIS_ERROR when ssh cannot connect: an unknown or changed host key is reported with
 * the host and the fingerprint the server offered. */
static inline int ssh_master(const struct cratis_host *host, void *call, const struct ssh_target *t)
{
	struct stat st;
	if (stat(t->ctl, &st) == 0 && S_ISSOCK(st.st_mode))
		return CRATIS_OK;
	char lock[200];
	snprintf(lock, sizeof(lock), "%s.lock", t->ctl);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		host->error(call, NULL, "System/%s: cannot lock '%s': %s", t->system, lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CRATIS_EIO;
	}
	int rc = CRATIS_OK;
	if (stat(t->ctl, &st) == 0 && S_ISSOCK(st.st_mode))
		goto out_unlock;
	static const char *const extra[] = { "-o", "ControlMaster=yes", "-o", "ControlPersist=120", "-f", "-N", NULL };
	char **owned;
	const char **argv = ssh_argv(t, extra, NULL, &owned);
	struct cratis_run_result r = { .size = sizeof(r) };
	int hr = host->run(call, argv, NULL, NULL, 60000, &r);
	ssh_free_owned(argv, owned);
	if (hr == CRATIS_OK && !r.exit_code && !r.timed_out)
		goto out_free;
	rc = CRATIS_ERROR;
	const char *err = r.err ? r.err : "";
	bool changed = strstr(err, "IDENTIFICATION HAS CHANGED") || strstr(err, "key for") || strstr(err, "does not match");
	bool keyfail = changed || strstr(err, "Host key verification failed") || strstr(err, "host key is known");
	const char *where = t->pinned ? "the key pinned in spec.hostKey" : t->known_hosts ? t->known_hosts : "~/.ssh/known_hosts";
	if (keyfail) {
		char fp[200];
		ssh_fingerprint(host, call, t, fp, sizeof(fp));
		host->error(call, NULL, "System/%s: host key of %s:%d %s: the server offered %s, which %s %s; refusing to connect%s",
		            t->system, t->hostname, t->port, changed ? "has changed" : "is not trusted",
		            *fp ? fp : "a key whose fingerprint could not be read", changed ? "does not match" : "is not in",
		            where, changed ? "" : " (pin it with spec.hostKey or add it to spec.knownHosts)");
	} else if (hr != CRATIS_OK) {
		host->error(call, NULL, "System/%s: cannot run ssh (Debian package openssh-client)", t->system);
	} else {
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
			n--;
		host->error(call, NULL, "System/%s: cannot connect to %s@%s:%d%s%.*s", t->system, t->user ? t->user : "(local user)",
		            t->hostname, t->port, n ? ": " : (r.timed_out ? ": timed out" : ""), (int)n, err);
	}
out_free:
	host->free(r.out);
	host->free(r.err);
out_unlock:
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

/* Run the shell command line `remote` on the target through its master connection: stdin_data
 * (may be NULL) fed to it, output streamed to on_line (may be NULL), the local ssh killed after
 * timeout_ms (0 = none). *res as host->run_with fills it: exit_code is the remote command's exit
 * status (255 when ssh itself failed). Returns CRATIS_OK when the command ran, whatever its exit
 * status; the errors of ssh_master; CRATIS_EIO when ssh could not be started. */
static inline int ssh_exec(const struct cratis_host *host, void *call, const struct ssh_target *t, const char *remote,
                           const char *stdin_data, size_t stdin_len, int timeout_ms,
                           int (*on_line)(void *, int, const char *, size_t), void *payload, struct cratis_run_result *res)
{
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	int rc = ssh_master(host, call, t);
	if (rc)
		return rc;
	/* at most SSH_SESSIONS sessions at once on the connection: sshd refuses more than its
	 * MaxSessions (10 by default) and ssh would then open a connection of its own */
	int slot = -1;
	for (int tries = 0; slot < 0; tries++) {
		for (int i = 0; i < SSH_SESSIONS && slot < 0; i++) {
			char lock[200];
			snprintf(lock, sizeof(lock), "%s.%d", t->ctl, i);
			int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0)
				break; /* no lock to take: run without one rather than not at all */
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				slot = fd;
			else
				close(fd);
		}
		if (slot >= 0 || tries > 30000) /* 10 minutes */
			break;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	static const char *const extra[] = { "-o", "ControlMaster=no", "-T", NULL };
	char **owned;
	const char **argv = ssh_argv(t, extra, remote, &owned);
	struct cratis_run_opts o = { .size = sizeof(o), .argv = argv, .timeout_ms = timeout_ms,
	                             .stdin_data = stdin_data, .stdin_len = stdin_len, .on_line = on_line, .payload = payload };
	rc = host->run_with(call, &o, res);
	ssh_free_owned(argv, owned);
	if (slot >= 0)
		close(slot); /* releases the lock */
	return rc;
}

/* Close every master connection this process opened (ssh -O exit) and remove the control
 * directory. For a plugin's fini hook: runs without a request, so it spawns ssh itself. */
static inline void ssh_close_all(void)
{
	char dir[96];
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/cratis-ssh-%lu-%ld", tmp, (unsigned long)getuid(), (long)getpid());
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[400];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t l = strlen(e->d_name);
		if (l > 2 && !strcmp(e->d_name + l - 2, ".s")) {
			char opt[420];
			snprintf(opt, sizeof(opt), "ControlPath=%s", path);
			char *argv[] = { "ssh", "-F", "none", "-o", opt, "-O", "exit", "cratis-control", NULL };
			pid_t pid;
			posix_spawn_file_actions_t fa;
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
			posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
			extern char **environ;
			if (posix_spawnp(&pid, "ssh", &fa, NULL, argv, environ) == 0)
				while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
					;
			posix_spawn_file_actions_destroy(&fa);
		}
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

#endif
