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
	EXIT_USAGE = 64,     /* unknown command or flag, stray argument, unsupported -o format */
	EXIT_SIGINT = 130,   /* interrupted by SIGINT (Ctrl-C): started nothing new, stopped what ran */
	EXIT_SIGTERM = 143,  /* interrupted by SIGTERM, likewise */
};

/* ANSI SGR sequences for the colours of cli_color (ECMA-48 8.3.117). */
#define CLI_RED "\033[31m"
#define CLI_GREEN "\033[32m"
#define CLI_YELLOW "\033[33m"
#define CLI_RESET "\033[0m"

struct progress;

/* What a run was asked to do: set from the command line by cli_parse_args (src/cli/args.c) as
 * the command table (src/cli/commands.c) describes, before the command's function runs. */
struct cli_ctx {
	struct strv files;        /* -f PATH (default ".") */
	const char *env;          /* --env */
	int jobs;                 /* -j N, default 4 */
	const char *output;       /* -o FORMAT as given (one of the command's formats), NULL: text */
	bool json;                /* -o json */
	bool markdown;            /* -o markdown (plan) */
	bool raw;                 /* -o raw (output) */
	bool auto_approve, detailed_exitcode, refresh, dry_run, history;
	int lock_timeout_ms;      /* --lock-timeout SECONDS */
	int grace_ms;             /* --grace SECONDS: how long interrupted children get (default 10 s) */
	bool force;               /* state unlock --force */
	bool verbose;             /* -v: debug lines and notes */
	bool no_color;            /* --no-color */
	const char *state_dir;    /* --state-dir or $CRATIS_STATE_DIR */
	const char *state_url;    /* --state URL or $CRATIS_STATE (NULL: sqlite in the state directory) */
	const char *to;           /* rollout rollback --to RELEASE; promote --to ENV */
	const char *from;         /* promote --from ENV */
	struct strv targets;      /* -target ADDR (plan, apply, destroy), repeatable */
	const char *plan_out;     /* plan -out FILE */
	bool stream;              /* apply/destroy --stream: Task output lines as they come */
	bool follow;              /* logs -f */
	int tail;                 /* logs --tail N, -1 (default): all */
	const char *since;        /* logs --since DURATION */
	const char *release;      /* logs --release current|preview (Rollouts) */
	json_t *overrides;        /* promote: variables taken from the source environment */
	json_t *artifact_pins;    /* promote: artifacts as the source environment deployed them */
	const char *provider;     /* render: --provider aws|gcp|azure */
	const char *out_dir;      /* render: -o DIR */
	bool deny_lock_in;        /* render, plan, cost, transform: --deny-lock-in (lock-in warnings are errors) */
	const char *input;        /* transform: -i FILE|DIR (NULL: standard input) */
	const char *out_path;     /* transform: -o FILE|DIR (NULL: standard output) */
	bool check, diff;         /* transform: --check, --diff */
	struct strv rules;        /* transform: --rules PATH, repeatable */
	const char *usage;        /* cost: --usage FILE (Infracost-shaped usage) */
	const char *sha256;       /* plugin install --sha256 HEX */
	bool global;              /* plugin install/remove --global */
	/* serve, token */
	const char *listen;       /* serve --listen HOST:PORT */
	const char *policy;       /* serve --policy FILE (Casbin-style CSV) */
	const char *subject;      /* token create --subject NAME */
	const char *role;         /* token create --role ROLE */
	const char *expires;      /* token create --expires DURATION */
	const char *tls_cert, *tls_key; /* serve --tls-cert FILE --tls-key FILE */
	const char *oidc_issuer, *oidc_audience, *oidc_jwks, *oidc_roles_claim; /* serve --oidc-... */
	int events_timeout_ms;    /* --events-timeout SECONDS: delivery at the end of apply, destroy,
	                           * rollout and by `events deliver` (default 10 s) */
	const char *events_since; /* events list/redeliver --since SEQ|TIME */
	const char *events_type;  /* events list --type T */
	const char *events_sink;  /* events redeliver --sink S */
	/* agent */
	const char *server;       /* agent --server URL */
	const char *system;       /* agent --system NAME */
	const char *token_file;   /* agent --token-file FILE (or $CRATIS_TOKEN_FILE) */
	const char *agent_dir;    /* agent --dir DIR (default .cratis-agent) */
	int interval_ms;          /* agent --interval SECONDS (default 30 s); serve --tick (5 s); experiment run and status
	                           * --watch --interval SECONDS (default 10 s) */
	/* experiment */
	bool watch;               /* experiment status --watch */
	const char *winner;       /* experiment conclude --winner VARIANT */
	struct strv args;         /* positional arguments (a subcommand's name first) */
	char *command_line;       /* "cratis apply -f x" for lock holders and history */
	atomic_int *cancel; /* the run's cancellation word (the signal that interrupted it) */
	struct engine_observer observer;     /* progress lines (cli_open sets it) */
	struct progress *progress; /* the observer's renderer (cli_open creates it; main frees it) */
};

typedef int (*cmd_fn)(int argc, char **argv, struct cli_ctx *ctx);

/* The application layer's options for ctx's flags (paths, environment, state, jobs, lock and
 * grace times, promotion overrides, the observer and the cancellation word); every pointer is
 * borrowed from ctx. */
struct app_options cli_app_options(struct cli_ctx *ctx);

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
/* Print the git locations the manifests came from (struct manifest_set's sources), one line
 * each with the ref and the commit pinned, then a blank line; nothing when sources is empty. */
void print_sources(const json_t *sources, FILE *f);

/* With -target: the warning on stderr that the run is partial (Terraform's "Resource targeting is
 * in effect"); destroy says it covers what depends on the targets. Nothing without targets. */
void warn_targeting(const struct cli_ctx *ctx, bool destroy);

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx);
int cmd_apply(int argc, char **argv, struct cli_ctx *ctx);
int cmd_destroy(int argc, char **argv, struct cli_ctx *ctx);
int cmd_get(int argc, char **argv, struct cli_ctx *ctx);
int cmd_transform(int argc, char **argv, struct cli_ctx *ctx);
int cmd_history(int argc, char **argv, struct cli_ctx *ctx);
int cmd_plugin(int argc, char **argv, struct cli_ctx *ctx);
int cmd_state(int argc, char **argv, struct cli_ctx *ctx);
int cmd_events(int argc, char **argv, struct cli_ctx *ctx);
/* At the end of apply/destroy/rollout: deliver pending events to the sinks for at most
 * ctx->events_timeout_ms (app_events_deliver); what is left or failed is said on stderr and
 * never changes the exit code (the events stay in the outbox). */
void cli_deliver_events(struct cli_ctx *ctx, struct app *a);
int cmd_version(int argc, char **argv, struct cli_ctx *ctx);
int cmd_release(int argc, char **argv, struct cli_ctx *ctx);
int cmd_artifact(int argc, char **argv, struct cli_ctx *ctx);
int cmd_rollout(int argc, char **argv, struct cli_ctx *ctx);
int cmd_experiment(int argc, char **argv, struct cli_ctx *ctx);
int cmd_promote(int argc, char **argv, struct cli_ctx *ctx);
int cmd_output(int argc, char **argv, struct cli_ctx *ctx);
int cmd_logs(int argc, char **argv, struct cli_ctx *ctx);
int cmd_env(int argc, char **argv, struct cli_ctx *ctx);
int cmd_explain(int argc, char **argv, struct cli_ctx *ctx);
int cmd_validate(int argc, char **argv, struct cli_ctx *ctx);
int cmd_completion(int argc, char **argv, struct cli_ctx *ctx);
int cmd_help(int argc, char **argv, struct cli_ctx *ctx);
/* Hidden: `cratis __complete WORD...` (candidates for the shells' completion functions) and
 * `cratis __man --dir DIR NAME...` (the man pages, run by the build). */
int cmd___complete(int argc, char **argv, struct cli_ctx *ctx);
int cmd___man(int argc, char **argv, struct cli_ctx *ctx);
/* Print the outputs of app_outputs (`output` and the end of `apply`) as text: "NAME = VALUE"
 * lines, sensitive ones as "(sensitive)", unknown ones as "(known after apply)" (cli/output.c). */
void print_outputs(const json_t *outputs, FILE *f);
/* Open the project for destroy (cli/destroy.c): as cli_open with APP_LOAD_MANIFESTS, or, when
 * the manifests are gone or invalid, from the state alone (app_open_state_only) with a warning
 * on stderr that they were not used. *state_only says which. EXIT_OK or EXIT_ERROR. */
int cli_open_destroy(struct cli_ctx *ctx, struct app **out, bool *state_only);
int cmd_render(int argc, char **argv, struct cli_ctx *ctx);
int cmd_cost(int argc, char **argv, struct cli_ctx *ctx);
int cmd_serve(int argc, char **argv, struct cli_ctx *ctx);
int cmd_agent(int argc, char **argv, struct cli_ctx *ctx);
int cmd_token(int argc, char **argv, struct cli_ctx *ctx);
/* apply (destroy false) or destroy once flags are parsed; the body of both commands and promote. */
int cli_apply(struct cli_ctx *ctx, bool destroy);

/* Load the versioning view of the first -f (app_versioning_open); prints its diagnostics and
 * returns EXIT_OK or EXIT_ERROR. */
int cli_versioning(struct cli_ctx *ctx, struct app_versioning *vi);

#endif
