/* Child processes without a shell: run-and-capture with a deadline, or a long-lived child
 * connected by pipes (exec plugins). Built on posix_spawn so a large, threaded cratis forks cheaply. */
#ifndef CRATIS_SUBPROCESS_H
#define CRATIS_SUBPROCESS_H

#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"

/* A cancellation word (a lock-free atomic_int, written by signal handlers) is 0 while a run goes on; otherwise the signal that
 * asked it to stop (SIGINT, SIGTERM), possibly with these bits: */
#define CANCEL_HARD 0x100        /* stop now: running process groups get SIGKILL at once */
#define CANCEL_LEASE_LOST 0x200  /* the run's lock lease was lost to another run */

struct proc_spec {
	const char *const *argv;       /* argv[0] is looked up in PATH */
	const char *const *env;        /* extra "K=V" entries overriding the environment, or NULL */
	const char *workdir;           /* NULL = inherit */
	int timeout_ms;                /* 0 = no deadline */
	size_t out_cap, err_cap;       /* capture caps in bytes (0 = 1 MiB / 64 KiB) */
	const atomic_int *cancel;    /* when non-zero: SIGTERM to the process group, SIGKILL after
	                                * grace_ms (0 = 10 s, negative = at once; CANCEL_HARD: at
	                                * once); NULL = not cancellable */
	int grace_ms;
	const char *stdin_data;        /* fed to stdin, then end of file; NULL = /dev/null */
	size_t stdin_len;              /* bytes of stdin_data */
	/* Called on the calling thread for each line of output as it arrives, whatever the caps:
	 * stream 1 = stdout, 2 = stderr; line NUL-terminated without its newline, borrowed for the
	 * call (lines longer than PROC_LINE_MAX arrive in pieces, a last unterminated line at the
	 * end). A non-zero return kills the process group; proc_run then returns that value. */
	int (*on_line)(void *payload, int stream, const char *line, size_t len);
	void *payload;
};

#define PROC_LINE_MAX (64u << 10)

struct proc_result {
	int exit_code;                 /* exit status, or 128+signal */
	bool timed_out;                /* the deadline killed the process group */
	bool cancelled;                /* cancellation stopped the process group */
	bool out_truncated;            /* stdout went past out_cap and was cut */
	struct buf out;                /* stdout head, up to out_cap */
	struct buf err;                /* stderr tail, the last err_cap bytes */
};

/* Run spec->argv with stdin from spec->stdin_data (or /dev/null), capturing stdout and stderr
 * and streaming their lines to spec->on_line, in its own process group (the whole group is
 * killed with SIGKILL at the deadline; on cancellation it gets SIGTERM, then SIGKILL after the
 * grace period). The result is the command's own exit status: collecting its output ends when it
 * exits, so a background child it left holding stdout or stderr neither delays nor times out the
 * run (that child keeps running, unread, like one a shell leaves behind). out is initialised
 * here, and filled even when on_line stopped the process;
 * release it with proc_result_release. Returns CRATIS_OK when the process ran whatever its exit
 * status, CRATIS_EINVAL for an empty argv, CRATIS_EIO (detail in the last error) when it could
 * not be started, or on_line's non-zero return. */
int proc_run(const struct proc_spec *spec, struct proc_result *out);
void proc_result_release(struct proc_result *r);

/* Start argv connected by pipes: *to_child writes its stdin, *from_child reads its stdout; stderr
 * is inherited. Both descriptors are close-on-exec. Returns CRATIS_OK or CRATIS_EIO. */
int proc_spawn_pipes(const char *const *argv, const char *workdir, pid_t *pid, int *to_child,
                     int *from_child);

/* Start argv detached: fork, the child forks again and exits, the grandchild calls setsid (own
 * session and process group, pgid == pid), so it is never the caller's child and is re-parented
 * to init. argv[0] is looked up in PATH (before forking); env is the complete environment
 * (NULL = the caller's); workdir NULL = inherit; stdin /dev/null; stdout and stderr appended to
 * stdout_path (created 0644; NULL = /dev/null); every other descriptor closed at exec; signal
 * mask empty and dispositions default. The grandchild reports its pid and start time (clock ticks
 * since boot, /proc/PID/stat field 22) through a close-on-exec pipe; end of file without an
 * error record means exec succeeded. Returns CRATIS_OK with *pid and *start_time,
 * CRATIS_EINVAL for an empty argv, or CRATIS_EIO (detail in the last error) when a step failed:
 * the message names the step (fork, open of stdout_path, chdir to workdir, exec) and errno. */
int proc_spawn_detached(const char *const *argv, char *const *env, const char *workdir,
                        const char *stdout_path, pid_t *pid, unsigned long long *start_time);

/* A copy of the process environment with extra ("K=V", NULL-terminated, may be NULL) added,
 * replacing variables of the same name. Caller frees the result with env_free. */
char **env_merge(const char *const *extra);
void env_free(char **env);

/* Quote s for a shell log line ('...' when needed) into b. */
void shell_quote(struct buf *b, const char *s);

#endif
