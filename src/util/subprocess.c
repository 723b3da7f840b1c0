/* Child processes (see subprocess.h). */
#define _GNU_SOURCE
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "util.h"
#include "banned.h"

extern char **environ;

char **env_merge(const char *const *extra)
{
	size_t n = 0, m = 0;
	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	char **env = xcalloc(n + m + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
		bool overridden = false;
		for (size_t j = 0; j < m; j++)
			if (!strncmp(extra[j], environ[i], klen))
				overridden = true;
		if (!overridden)
			env[k++] = xstrdup(environ[i]);
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = xstrdup(extra[j]);
	env[k] = NULL;
	return env;
}

void env_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

void shell_quote(struct buf *b, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == strlen(s)) {
		buf_adds(b, s);
		return;
	}
	buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addch(b, *s);
	}
	buf_addch(b, '\'');
}

static int spawn(pid_t *pid, const char *const *argv, char **env, const char *workdir,
                 int in_fd, int out_fd, int err_fd, bool own_group)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (err_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (workdir)
		posix_spawn_file_actions_addchdir_np(&fa, workdir);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	sigset_t none, all;
	sigemptyset(&none);
	/* every signal to its default: with the full set glibc's child sets each once, without
	 * it the child first queries each one (twice the system calls per spawn) */
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	if (own_group) {
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&at, 0);
	}
	posix_spawnattr_setflags(&at, flags);
	int rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return error_set(CRATIS_EIO, "cannot run '%s': %s", argv[0], strerror(rc));
	return CRATIS_OK;
}

static void keep_tail(struct buf *b, size_t cap)
{
	if (b->len <= cap)
		return;
	size_t drop = b->len - cap;
	memmove(b->ptr, b->ptr + drop, cap);
	b->len = cap;
	b->ptr[cap] = '\0';
}

/* Hand every complete line of lb to on_line (and a piece when a line outgrows PROC_LINE_MAX;
 * everything left when at_end). Returns on_line's first non-zero value, or 0. */
static int stream_lines(const struct proc_spec *spec, int stream, struct buf *lb, bool at_end)
{
	size_t from = 0;
	int rc = 0;
	while (!rc && from < lb->len) {
		char *nl = memchr(lb->ptr + from, '\n', lb->len - from);
		size_t n;
		if (nl)
			n = (size_t)(nl - (lb->ptr + from));
		else if (lb->len - from >= PROC_LINE_MAX)
			n = PROC_LINE_MAX;
		else if (at_end)
			n = lb->len - from;
		else
			break;
		char keep = lb->ptr[from + n];
		lb->ptr[from + n] = '\0';
		rc = spec->on_line(spec->payload, stream, lb->ptr + from, n);
		lb->ptr[from + n] = keep;
		from += n + (nl ? 1 : 0);
	}
	if (from) {
		memmove(lb->ptr, lb->ptr + from, lb->len - from);
		lb->len -= from;
		lb->ptr[lb->len] = '\0';
	}
	return rc;
}

/* A descriptor reading back data: a sealed in-memory file (no pipe to feed, so no deadlock with
 * a child that writes before it reads, and no SIGPIPE when it never reads), or /dev/null. */
static int stdin_fd(const struct proc_spec *spec)
{
	if (!spec->stdin_data) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			error_set(CRATIS_EIO, "cannot open /dev/null: %s", strerror(errno));
		return fd;
	}
	int fd = memfd_create("cratis-stdin", MFD_CLOEXEC);
	if (fd < 0) {
		error_set(CRATIS_EIO, "cannot hold stdin data: %s", strerror(errno));
		return -1;
	}
	const char *p = spec->stdin_data;
	size_t left = spec->stdin_len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			error_set(CRATIS_EIO, "cannot hold stdin data: %s", strerror(errno));
			close(fd);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		error_set(CRATIS_EIO, "cannot hold stdin data: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int proc_run(const struct proc_spec *spec, struct proc_result *out)
{
	int op[2], ep[2], rc;
	size_t out_cap = spec->out_cap ? spec->out_cap : (1u << 20);
	size_t err_cap = spec->err_cap ? spec->err_cap : (64u << 10);
	memset(out, 0, sizeof(*out));
	buf_init(&out->out);
	buf_init(&out->err);
	if (!spec->argv || !spec->argv[0])
		return error_set(CRATIS_EINVAL, "empty command");
	int in = stdin_fd(spec);
	if (in < 0)
		return CRATIS_EIO;
	if (pipe2(op, O_CLOEXEC) < 0) {
		rc = error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
		goto out_close_in;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
		goto out_close_op;
	}
	char **env = spec->env ? env_merge(spec->env) : NULL;
	pid_t pid;
	rc = spawn(&pid, spec->argv, env, spec->workdir, in, op[1], ep[1], true);
	env_free(env);
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	if (rc)
		goto out_close_ep;

	int64_t deadline = spec->timeout_ms > 0 ? now_ms() + spec->timeout_ms : 0;
	struct pollfd pf[2] = { { op[0], POLLIN, 0 }, { ep[0], POLLIN, 0 } };
	struct buf lines[2] = { BUF_INIT, BUF_INIT };
	int open_fds = 2, stopped = 0;
	char tmp[16384];
	int64_t kill_at = 0;               /* cancelled: when SIGKILL follows the SIGTERM */
	int st = 0;
	bool exited = false;               /* the command itself has exited (and is reaped) */
	while (open_fds > 0 && !stopped) {
		int wait = -1;
		if (!exited && waitpid(pid, &st, WNOHANG) == pid)
			exited = true;
		if (spec->cancel && *spec->cancel && !out->cancelled) {
			out->cancelled = true;
			kill(-pid, SIGTERM);
			kill_at = now_ms() + (spec->grace_ms > 0 ? spec->grace_ms : spec->grace_ms < 0 ? 0 : 10000);
		}
		if (out->cancelled && (*spec->cancel & CANCEL_HARD))
			kill_at = now_ms();
		if (kill_at && now_ms() >= kill_at) {
			kill(-pid, SIGKILL);
			break;
		}
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				out->timed_out = true;
				kill(-pid, SIGKILL);
				break;
			}
			wait = (int)left;
		}
		if (exited)
			wait = 0; /* the command is done: take what is already written, then stop */
		else if (wait < 0 || wait > 100)
			wait = 100; /* look at the command (and the cancellation flag) ten times a second */
		int n = poll(pf, 2, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && exited)
			break; /* a background child may hold the pipes open: the output ends with the command */
		for (int i = 0; i < 2 && !stopped; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			ssize_t r = read(pf[i].fd, tmp, sizeof(tmp));
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				pf[i].fd = -1;
				open_fds--;
				if (spec->on_line)
					stopped = stream_lines(spec, i + 1, &lines[i], true);
				continue;
			}
			if (i == 0) {
				size_t room = out->out.len < out_cap ? out_cap - out->out.len : 0;
				if ((size_t)r > room)
					out->out_truncated = true;
				buf_add(&out->out, tmp, (size_t)r < room ? (size_t)r : room);
			} else {
				buf_add(&out->err, tmp, (size_t)r);
				if (out->err.len > 2 * err_cap)
					keep_tail(&out->err, err_cap);
			}
			if (spec->on_line) {
				buf_add(&lines[i], tmp, (size_t)r);
				stopped = stream_lines(spec, i + 1, &lines[i], false);
			}
		}
	}
	for (int i = 0; i < 2 && exited && spec->on_line && !stopped; i++)
		if (pf[i].fd >= 0) /* a last line without its newline, when the loop stopped at the exit */
			stopped = stream_lines(spec, i + 1, &lines[i], true);
	if (stopped && !exited)
		kill(-pid, SIGKILL);
	buf_release(&lines[0]);
	buf_release(&lines[1]);
	keep_tail(&out->err, err_cap);
	while (!exited && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	rc = stopped ? stopped : CRATIS_OK;
out_close_ep:
	close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
out_close_op:
	close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
out_close_in:
	close(in);
	return rc;
}

void proc_result_release(struct proc_result *r)
{
	buf_release(&r->out);
	buf_release(&r->err);
}

int proc_spawn_pipes(const char *const *argv, const char *workdir, pid_t *pid, int *to_child,
                     int *from_child)
{
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
	}
	int rc = spawn(pid, argv, NULL, workdir, in[0], outp[1], -1, true);
	close(in[0]);
	close(outp[1]);
	if (rc) {
		close(in[1]);
		close(outp[0]);
		return rc;
	}
	*to_child = in[1];
	*from_child = outp[0];
	return CRATIS_OK;
}

/* argv0 as an executable path: itself when it holds a '/', else the first match in $PATH.
 * Caller frees; NULL when nothing matches. */
static char *path_lookup(const char *argv0)
{
	if (strchr(argv0, '/'))
		return xstrdup(argv0);
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		char *cand = n ? xasprintf("%.*s/%s", (int)n, path, argv0) : xasprintf("./%s", argv0);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* What the grandchild reports: first its pid and start time, then an error record (pid -1,
 * which step, errno) when a later step failed. */
struct detach_msg {
	int64_t pid;
	uint64_t start_time;
	int32_t step, err;
};

enum { DETACH_OK, DETACH_FORK, DETACH_SETSID, DETACH_STDOUT, DETACH_CHDIR, DETACH_EXEC };

/* Async-signal-safe: start time (field 22 of /proc/self/stat), 0 when unreadable. */
static uint64_t self_start_time(void)
{
	char b[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	char *p = NULL;
	for (char *c = b; *c; c++)
		if (*c == ')')
			p = c;
	if (!p)
		return 0;
	int field = 2;
	for (char *c = p + 1; *c; c++) {
		if (*c != ' ')
			continue;
		if (++field == 22) {
			uint64_t v = 0;
			for (c++; *c >= '0' && *c <= '9'; c++)
				v = v * 10 + (uint64_t)(*c - '0');
			return v;
		}
	}
	return 0;
}

static void detach_report(int fd, int64_t pid, uint64_t st, int step, int err)
{
	struct detach_msg m = { pid, st, step, err };
	ssize_t w = write(fd, &m, sizeof(m));
	(void)w;
}

/* The grandchild: only async-signal-safe calls until exec. */
static void detached_child(int rep, const char *exe, const char *const *argv, char *const *env,
                           const char *workdir, const char *stdout_path)
{
	if (setsid() < 0) {
		detach_report(rep, -1, 0, DETACH_SETSID, errno);
		_exit(127);
	}
	detach_report(rep, (int64_t)getpid(), self_start_time(), DETACH_OK, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	int fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(stdout_path ? stdout_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		detach_report(rep, -1, 0, DETACH_STDOUT, errno);
		_exit(127);
	}
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	if (workdir && chdir(workdir) < 0) {
		detach_report(rep, -1, 0, DETACH_CHDIR, errno);
		_exit(127);
	}
	/* nothing of the caller's survives the exec but 0, 1 and 2 */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int d = 3; d < 65536; d++)
			if (d != rep)
				close(d);
	execve(exe, (char *const *)argv, env);
	detach_report(rep, -1, 0, DETACH_EXEC, errno);
	_exit(127);
}

int proc_spawn_detached(const char *const *argv, char *const *env, const char *workdir,
                        const char *stdout_path, pid_t *pid, unsigned long long *start_time)
{
	static const char *const steps[] = { "", "fork", "setsid", "open stdout", "chdir to the working directory", "exec" };
	if (!argv || !argv[0] || !*argv[0])
		return error_set(CRATIS_EINVAL, "empty command");
	char *exe = path_lookup(argv[0]);
	if (!exe)
		return error_set(CRATIS_EIO, "cannot run '%s': not found in PATH", argv[0]);
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		free(exe);
		return error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
	}
	char *const *envp = env ? env : environ;
	pid_t mid = fork();
	if (mid < 0) {
		int e = errno;
		close(rep[0]);
		close(rep[1]);
		free(exe);
		return error_set(CRATIS_EIO, "cannot run '%s': fork: %s", argv[0], strerror(e));
	}
	if (mid == 0) {
		close(rep[0]);
		pid_t g = fork();
		if (g < 0) {
			detach_report(rep[1], -1, 0, DETACH_FORK, errno);
			_exit(127);
		}
		if (g == 0)
			detached_child(rep[1], exe, argv, envp, workdir, stdout_path);
		_exit(0);
	}
	close(rep[1]);
	free(exe);
	int st;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	struct detach_msg m, first = { -1, 0, DETACH_FORK, EIO };
	int rc = CRATIS_OK, got = 0;
	for (;;) {
		ssize_t r = read(rep[0], &m, sizeof(m));
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(m))
			break;
		if (!got++)
			first = m;
		if (m.pid < 0) {
			const char *what = m.step > 0 && m.step <= DETACH_EXEC ? steps[m.step] : "start";
			rc = error_set(CRATIS_EIO, "cannot run '%s': %s%s%s: %s", argv[0], what,
			               m.step == DETACH_STDOUT && stdout_path ? " " : "",
			               m.step == DETACH_STDOUT && stdout_path ? stdout_path : "", strerror(m.err));
			break;
		}
	}
	close(rep[0]);
	if (!rc && (!got || first.pid <= 0))
		rc = error_set(CRATIS_EIO, "cannot run '%s': the detached process did not report", argv[0]);
	if (!rc) {
		*pid = (pid_t)first.pid;
		*start_time = first.start_time;
	}
	return rc;
}
