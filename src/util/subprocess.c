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
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return error_set(CRATIS_EIO, "cannot open /dev/null: %s", strerror(errno));
	if (pipe2(op, O_CLOEXEC) < 0) {
		rc = error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
		goto out_close_null;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = error_set(CRATIS_EIO, "pipe: %s", strerror(errno));
		goto out_close_op;
	}
	char **env = spec->env ? env_merge(spec->env) : NULL;
	pid_t pid;
	rc = spawn(&pid, spec->argv, env, spec->workdir, devnull, op[1], ep[1], true);
	env_free(env);
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	if (rc)
		goto out_close_ep;

	int64_t deadline = spec->timeout_ms > 0 ? now_ms() + spec->timeout_ms : 0;
	struct pollfd pf[2] = { { op[0], POLLIN, 0 }, { ep[0], POLLIN, 0 } };
	int open_fds = 2;
	char tmp[16384];
	int64_t kill_at = 0;               /* cancelled: when SIGKILL follows the SIGTERM */
	while (open_fds > 0) {
		int wait = -1;
		if (spec->cancel && *spec->cancel && !out->cancelled) {
			out->cancelled = true;
			kill(-pid, SIGTERM);
			kill_at = now_ms() + (spec->grace_ms > 0 ? spec->grace_ms : 10000);
		}
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
		if (spec->cancel && (wait < 0 || wait > 100))
			wait = 100; /* look at the cancellation flag ten times a second */
		int n = poll(pf, 2, wait);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			ssize_t r = read(pf[i].fd, tmp, sizeof(tmp));
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0) {
				size_t room = out->out.len < out_cap ? out_cap - out->out.len : 0;
				buf_add(&out->out, tmp, (size_t)r < room ? (size_t)r : room);
			} else {
				buf_add(&out->err, tmp, (size_t)r);
				if (out->err.len > 2 * err_cap)
					keep_tail(&out->err, err_cap);
			}
		}
	}
	keep_tail(&out->err, err_cap);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	rc = CRATIS_OK;
out_close_ep:
	close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
out_close_op:
	close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
out_close_null:
	close(devnull);
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
