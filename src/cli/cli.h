/* Command-line layer: flag parsing, loading a project, printing. Only this layer prints and
 * decides exit codes. */
#ifndef CRATIS_CLI_H
#define CRATIS_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "app/app.h"
#include "util/util.h"

/* Exit codes (documented in `cratis --help` and README.md). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,      /* invalid manifests, plugin or apply failure, nothing or partly applied */
	EXIT_CHANGES = 2,    /* plan --detailed-exitcode: the plan has changes */
	EXIT_LOCKED = 3,     /* the environment's state lock is held by another run */
	EXIT_USAGE = 64,     /* unknown command or flag */
	EXIT_SIGINT = 130,   /* interrupted by SIGINT (Ctrl-C): started nothing new, stopped what ran */
	EXIT_SIGTERM = 143,  /* interrupted by SIGTERM, likewise */
};

/* Which common flags a command accepts. */
enum {
	CF_FILES = 1 << 0, CF_ENV = 1 << 1, CF_JOBS = 1 << 2, CF_OUTPUT = 1 << 3, CF_APPROVE = 1 << 4,
	CF_DETAILED = 1 << 5, CF_LOCK = 1 << 6, CF_REFRESH = 1 << 7, CF_DRYRUN = 1 << 8, CF_HISTORY = 1 << 9, CF_TO = 1 << 10, CF_FROM = 1 << 11,
	CF_GRACE = 1 << 12, CF_FORCE = 1 << 13,
	CF_STREAM = 1 << 14,  /* --stream */
	CF_FOLLOW = 1 << 15,  /* logs: -f/--follow (then only --file names a path), --tail N, --since D */
};

/* ANSI SGR sequences for the colours of cli_color (ECMA-48 8.3.117). */
#define CLI_RED "\033[31m"
#define CLI_GREEN "\033[32m"
#define CLI_YELLOW "\033[33m"
#define CLI_RESET "\033[0m"

struct progress;

struct cli_ctx {
	struct strv files;        /* -f PATH (default ".") */
	const char *env;          /* --env */
	int jobs;                 /* -j N, default 4 */
	bool json;                /* -o json */
	bool markdown;            /* -o markdown (plan) */
	bool auto_approve, detailed_exitcode, refresh, dry_run, history;
	int lock_timeout_ms;      /* --lock-timeout SECONDS */
	int grace_ms;             /* --grace SECONDS: how long interrupted children get (default 10 s) */
	bool force;               /* state unlock --force */
	bool verbose;             /* -v: debug lines and notes */
	const char *state_dir;    /* --state-dir or $CRATIS_STATE_DIR */
	const char *to;           /* rollout rollback --to RELEASE; promote --to ENV */
	const char *from;         /* promote --from ENV */
	json_t *overrides;        /* promote: variables taken from the source environment */
	json_t *artifact_pins;    /* promote: artifacts as the source environment deployed them */
	struct strv args;         /* positional arguments left after flags */
	char *command_line;       /* "cratis apply -f x" for lock holders and history */
	atomic_int *cancel; /* the run's cancellation word (the signal that interrupted it) */
	struct engine_observer observer;     /* progress lines (cli_open sets it) */
	bool stream;              /* --stream: a Task's output lines, prefixed by its address */
	bool no_color;            /* --no-color */
	bool follow;              /* logs -f/--follow */
	int tail;                 /* logs --tail N: the last N lines (-1: all, the default) */
	const char *since;        /* logs --since DURATION (5m, 1h30m, 45s) */
	struct progress *progress; /* the observer's renderer (cli_open creates it; main frees it) */
};

typedef int (*cmd_fn)(int argc, char **argv, struct cli_ctx *ctx);

/* Parse argv (after the command name) for the flags in mask into ctx. Prints a usage error and
 * returns EXIT_USAGE on an unknown flag, else EXIT_OK. */
int cli_parse(int argc, char **argv, unsigned mask, struct cli_ctx *ctx, const char *usage);

/* Open the project of ctx's flags through the application layer, loading what `what` names.
 * Prints every diagnostic and "N errors; nothing was changed"; returns EXIT_OK with *out set
 * (free with app_close) or EXIT_ERROR. */
int cli_open(struct cli_ctx *ctx, enum app_load what, struct app **out);

/* Print diagnostics on stderr as "error: file:line:col: field: message" lines (notes only with
 * -v). */
void print_errors(const struct cli_ctx *ctx, const struct diags *d);

/* The exit code for a failed status: EXIT_LOCKED for CRATIS_ELOCKED, else EXIT_ERROR. */
int exit_code_of(int status);
/* rc, or EXIT_SIGINT / EXIT_SIGTERM when a signal interrupted the run. */
int exit_code_cancelled(const struct cli_ctx *ctx, int rc);

/* Print a JSON document on stdout, indented, with a newline. */
void print_json(const json_t *j);

/* Whether to colour what is written to f: false when --no-color was given, when NO_COLOR is set
 * and not empty (no-color.org), when TERM is "dumb" or when f is not a terminal. */
bool cli_color(const struct cli_ctx *ctx, FILE *f);

/* Print a plan as text: a line per resource and the summary line (cli/plan.c); the action
 * symbols in colour when color. */
void print_plan(const struct plan *p, FILE *f, bool color);

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx);
int cmd_apply(int argc, char **argv, struct cli_ctx *ctx);
int cmd_destroy(int argc, char **argv, struct cli_ctx *ctx);
int cmd_get(int argc, char **argv, struct cli_ctx *ctx);
int cmd_history(int argc, char **argv, struct cli_ctx *ctx);
int cmd_plugin(int argc, char **argv, struct cli_ctx *ctx);
int cmd_state(int argc, char **argv, struct cli_ctx *ctx);
int cmd_version(int argc, char **argv, struct cli_ctx *ctx);
int cmd_release(int argc, char **argv, struct cli_ctx *ctx);
int cmd_artifact(int argc, char **argv, struct cli_ctx *ctx);
int cmd_rollout(int argc, char **argv, struct cli_ctx *ctx);
int cmd_promote(int argc, char **argv, struct cli_ctx *ctx);
int cmd_logs(int argc, char **argv, struct cli_ctx *ctx);
/* apply (destroy false) or destroy once flags are parsed; the body of both commands and promote. */
int cli_apply(struct cli_ctx *ctx, bool destroy);

/* Load the versioning view of the first -f (app_versioning_open); prints its diagnostics and
 * returns EXIT_OK or EXIT_ERROR. */
int cli_versioning(struct cli_ctx *ctx, struct app_versioning *vi);

#endif
