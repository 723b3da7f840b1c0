/* Helpers shared by the built-in plugins that run long-lived processes (service, router):
 * detached start, pidfiles that survive pid reuse, stop with a grace period. Header-only; uses
 * only libc and the public plugin ABI. */
#ifndef CRATIS_PLUGIN_PROC_H
#define CRATIS_PLUGIN_PROC_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"

extern char **environ;

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Start time of pid in clock ticks since boot (/proc/PID/stat field 22), 0 when not running. */
static inline unsigned long long start_time(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ") " come fields 3.. ; field 3 is the state */
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	unsigned long long st = 0;
	int field = 2;
	for (char *c = p + 1; *c; c++) {
		if (*c == ' ') {
			field++;
			if (field == 22) {
				st = strtoull(c + 1, NULL, 10);
				break;
			}
		}
	}
	return st;
}

/* The process recorded in the pidfile, if it is still the same process; 0 otherwise. */
static inline long running_pid(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	if (!f)
		return 0;
	long pid = 0;
	unsigned long long st = 0;
	int n = fscanf(f, "%ld %llu", &pid, &st);
	fclose(f);
	if (n != 2 || pid <= 0 || !st)
		return 0; /* no start time recorded: nothing to tell the process from a reused pid */
	return start_time(pid) == st ? pid : 0;
}

/* The name of the environment variable every process of a resource carries ("NAME=statedir"),
 * so that a process whose pidfile was never written (cratis killed between the spawn and the
 * write) is still found and stopped. */
#define CRATIS_MARKER_VAR "CRATIS_RESOURCE_DIR"

/* "CRATIS_RESOURCE_DIR=dir" (caller frees). */
static inline char *marker_of(const char *dir)
{
	size_t n = sizeof(CRATIS_MARKER_VAR "=") + strlen(dir);
	char *p = malloc(n);
	snprintf(p, n, "%s=%s", CRATIS_MARKER_VAR, dir);
	return p;
}

/* env (a NULL-terminated heap list, freed here) with marker appended; caller frees with
 * spec_env_free. */
static inline char **env_with_marker(char **env, const char *marker)
{
	size_t n = 0;
	while (env && env[n])
		n++;
	char **e = realloc(env, (n + 2) * sizeof(char *));
	if (!e)
		return env;
	e[n] = strdup(marker);
	e[n + 1] = NULL;
	return e;
}

/* True when /proc/pid/environ holds exactly the entry marker. */
static inline bool proc_has_marker(long pid, const char *marker)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	if (buf)
		len = fread(buf, 1, cap, f);
	fclose(f);
	bool found = false;
	size_t ml = strlen(marker);
	for (size_t i = 0; buf && i < len && !found;) {
		size_t e = strnlen(buf + i, len - i);
		found = e == ml && !memcmp(buf + i, marker, ml);
		i += e + 1;
	}
	free(buf);
	return found;
}

/* Stop every process that carries marker (and its process group): SIGTERM, SIGKILL after
 * grace_ms. Catches a process that no pidfile names. */
static inline void stop_marked(const char *marker, int grace_ms)
{
	long long until = now_ms() + grace_ms;
	for (int sig = SIGTERM;;) {
		bool any = false;
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (*end || pid <= 1 || pid == (long)getpid() || !proc_has_marker(pid, marker))
				continue;
			any = true;
			if (getpgid((pid_t)pid) == (pid_t)pid)
				kill(-(pid_t)pid, sig);
			kill((pid_t)pid, sig);
			waitpid((pid_t)pid, NULL, WNOHANG);
		}
		if (d)
			closedir(d);
		if (!any || (sig == SIGKILL && now_ms() > until + 5000))
			return;
		if (now_ms() > until)
			sig = SIGKILL;
		usleep(20000);
	}
}

/* The port of "HOST:PORT", "[V6]:PORT" or "http://HOST[:PORT]/..." (80 when an http URL names
 * none), and whether HOST is this machine's loopback or any-address; 0 when there is no port. */
static inline int local_port(const char *s, bool *local)
{
	*local = false;
	const char *h = strstr(s, "://");
	bool url = h != NULL;
	h = h ? h + 3 : s;
	size_t hl = strcspn(h, "/?#");
	char hostport[300];
	if (hl >= sizeof(hostport))
		return 0;
	memcpy(hostport, h, hl);
	hostport[hl] = '\0';
	char *colon = strrchr(hostport, ':');
	int port = url && (!colon || strchr(colon, ']')) ? 80 : 0;
	if (colon && !strchr(colon, ']')) {
		port = atoi(colon + 1);
		*colon = '\0';
	}
	const char *host = hostport;
	*local = !strncmp(host, "127.", 4) || !strcmp(host, "localhost") || !strcmp(host, "[::1]") || !strcmp(host, "0.0.0.0") ||
	         !strcmp(host, "[::]") || !*host;
	return port > 0 && port < 65536 ? port : 0;
}

/* A process holding a TCP socket that listens on port (IPv4 or IPv6, any address): its pid, 0
 * when no listening socket is seen, -1 when one is seen but its process is not (another user's,
 * or gone meanwhile). From /proc/net/tcp{,6} (state 0A is LISTEN) and /proc/PID/fd. */
static inline long port_listener(int port)
{
	unsigned long inodes[16];
	size_t n = 0;
	const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	for (int t = 0; t < 2; t++) {
		FILE *f = fopen(tables[t], "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			char local[80], remote[80], st[8];
			unsigned long inode;
			if (sscanf(line, "%*s %79s %79s %7s %*s %*s %*s %*s %*s %lu", local, remote, st, &inode) != 4)
				continue;
			const char *pc = strrchr(local, ':');
			if (!pc || strcmp(st, "0A") || strtol(pc + 1, NULL, 16) != port || n >= 16)
				continue;
			inodes[n++] = inode;
		}
		if (f)
			fclose(f);
	}
	if (!n)
		return 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	long found = -1;
	while (d && found < 0 && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		DIR *fd = opendir(path);
		struct dirent *fe;
		while (fd && found < 0 && (fe = readdir(fd))) {
			char link[600], target[64];
			snprintf(link, sizeof(link), "%s/%s", path, fe->d_name);
			ssize_t l = readlink(link, target, sizeof(target) - 1);
			if (l <= 0)
				continue;
			target[l] = '\0';
			unsigned long ino;
			if (sscanf(target, "socket:[%lu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < n; i++)
				if (inodes[i] == ino)
					found = pid;
		}
		if (fd)
			closedir(fd);
	}
	if (d)
		closedir(d);
	return found;
}

/* Parent pid of pid (/proc/PID/stat field 4), 0 when unknown. */
static inline long parent_of(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	long ppid = 0;
	if (rp)
		sscanf(rp + 1, " %*c %ld", &ppid);
	return ppid;
}

/* True when pid is root or descends from it, or runs in the session root leads. */
static inline bool in_tree(long pid, long root)
{
	if (pid <= 0 || root <= 0)
		return false;
	if (getsid((pid_t)pid) == (pid_t)root)
		return true;
	for (int depth = 0; pid > 1 && depth < 64; depth++, pid = parent_of(pid))
		if (pid == root)
			return true;
	return false;
}

/* Its command line for messages ("python3 -m http.server 8080"), at most cap bytes, into out. */
static inline void cmdline_of(long pid, char *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	if (f)
		fclose(f);
	for (size_t i = 0; i + 1 < n; i++)
		if (!out[i])
			out[i] = ' ';
	out[n] = '\0';
	if (!n)
		snprintf(out, cap, "?");
}

static inline void stop(const char *pidfile, int grace_ms)
{
	long pid = running_pid(pidfile);
	if (pid) {
		kill(-(pid_t)pid, SIGTERM);
		long long until = now_ms() + grace_ms;
		while (running_pid(pidfile) && now_ms() < until) {
			waitpid((pid_t)pid, NULL, WNOHANG); /* reap when we are the parent */
			usleep(20000);
		}
		if (running_pid(pidfile)) {
			kill(-(pid_t)pid, SIGKILL);
			while (running_pid(pidfile) && now_ms() < until + 5000) {
				waitpid((pid_t)pid, NULL, WNOHANG);
				usleep(20000);
			}
		}
	}
	unlink(pidfile);
}

static inline char *tail_of(const char *path, size_t max)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	long from = size > (long)max ? size - (long)max : 0;
	fseek(f, from, SEEK_SET);
	char *b = calloc(max + 1, 1);
	size_t n = fread(b, 1, max, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* mkdir -p */
static inline int make_dirs(const char *path)
{
	char *p = strdup(path);
	int rc = 0;
	for (char *c = p + 1; rc == 0; c++) {
		if (*c == '/' || !*c) {
			char keep = *c;
			*c = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				rc = -1;
			*c = keep;
			if (!keep)
				break;
		}
	}
	free(p);
	return rc;
}

static inline char **merged_env(json_t *extra)
{
	char **add = spec_env(extra);
	size_t n = 0, m = 0;
	while (environ[n])
		n++;
	while (add[m])
		m++;
	char **e = calloc(n + m + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool over = false;
		for (size_t j = 0; j < m; j++) {
			size_t kl = strcspn(add[j], "=") + 1;
			if (!strncmp(environ[i], add[j], kl))
				over = true;
		}
		if (!over)
			e[k++] = strdup(environ[i]);
	}
	for (size_t j = 0; j < m; j++)
		e[k++] = strdup(add[j]);
	spec_env_free(add);
	return e;
}

/* Start argv in its own session, stdin from /dev/null, stdout and stderr appended to logfile,
 * no descriptor of cratis inherited. Returns 0 with *pid, or an errno value. */
static inline int proc_spawn_detached(pid_t *pid, const char **argv, char **env, const char *workdir,
                                      const char *logfile)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, workdir);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int sr = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return sr;
}

/* Record pid with its start time (so a recycled pid is never taken for it). */
static inline void write_pidfile(const char *pidfile, pid_t pid)
{
	unsigned long long st = 0;
	for (int i = 0; i < 100 && !(st = start_time(pid)); i++)
		usleep(1000);
	FILE *pf = fopen(pidfile, "w");
	if (pf) {
		fprintf(pf, "%ld %llu\n", (long)pid, st);
		fclose(pf);
	}
}

#endif
