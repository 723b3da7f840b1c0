/* Child processes without a shell: run-and-capture with a deadline, or a long-lived child
 * connected by pipes (exec plugins). Built on posix_spawn so a large, threaded cratis forks cheaply. */
#ifndef CRATIS_SUBPROCESS_H
#define CRATIS_SUBPROCESS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"

struct proc_spec {
	const char *const *argv;       /* argv[0] is looked up in PATH */
	const char *const *env;        /* extra "K=V" entries overriding the environment, or NULL */
	const char *workdir;           /* NULL = inherit */
	int timeout_ms;                /* 0 = no deadline */
	size_t out_cap, err_cap;       /* capture caps in bytes (0 = 1 MiB / 64 KiB) */
	const volatile sig_atomic_t *cancel;    /* when non-zero: SIGTERM to the process group, SIGKILL after
	                                * grace_ms (0 = 10 s); NULL = not cancellable */
	int grace_ms;
};

struct proc_result {
	int exit_code;                 /* exit status, or 128+signal */
	bool timed_out;                /* the deadline killed the process group */
	bool cancelled;                /* cancellation stopped the process group */
	struct buf out;                /* stdout head, up to out_cap */
	struct buf err;                /* stderr tail, the last err_cap bytes */
};

/* Run spec->argv with stdin from /dev/null, capturing stdout and stderr, in its own process group
 * (the whole group is killed with SIGKILL at the deadline; on cancellation it gets SIGTERM, then
 * SIGKILL after the grace period). out is initialised here; release it
 * with proc_result_release. Returns CRATIS_OK when the process ran whatever its exit status, or
 * CRATIS_EIO (detail in the last error) when it could not be started. */
int proc_run(const struct proc_spec *spec, struct proc_result *out);
void proc_result_release(struct proc_result *r);

/* Start argv connected by pipes: *to_child writes its stdin, *from_child reads its stdout; stderr
 * is inherited. Both descriptors are close-on-exec. Returns CRATIS_OK or CRATIS_EIO. */
int proc_spawn_pipes(const char *const *argv, const char *workdir, pid_t *pid, int *to_child,
                     int *from_child);

/* A copy of the process environment with extra ("K=V", NULL-terminated, may be NULL) added,
 * replacing variables of the same name. Caller frees the result with env_free. */
char **env_merge(const char *const *extra);
void env_free(char **env);

/* Quote s for a shell log line ('...' when needed) into b. */
void shell_quote(struct buf *b, const char *s);

#endif
