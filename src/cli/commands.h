/* The command table: every command and subcommand of cratis with its flags, formats, help text,
 * examples and exit codes. One source for flag parsing (args.c), `--help` and `cratis help`
 * (help.c), shell completion (completion.c) and the man pages (`cratis __man`, run by the build). */
#ifndef CRATIS_CLI_COMMANDS_H
#define CRATIS_CLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "model/model.h" /* model_suggest: every "did you mean" */

/* Every flag cratis knows. A command accepts those whose bit (1 << id) is in its mask; two ids may
 * share a name with different help (--to RELEASE, --to ENV) or short letter (-f PATH, -f). */
enum cli_flag_id {
	FL_FILE, FL_FILE_LONG, FL_ENV, FL_JOBS, FL_OUTPUT, FL_APPROVE, FL_DETAILED, FL_REFRESH, FL_LOCK,
	FL_GRACE, FL_FORCE, FL_DRYRUN, FL_HISTORY, FL_TO_ENV, FL_TO_RELEASE, FL_FROM, FL_TARGET,
	FL_OUT, FL_STREAM, FL_FOLLOW, FL_TAIL, FL_SINCE, FL_PROVIDER, FL_OUT_DIR, FL_DENY_LOCK_IN,
	FL_INPUT, FL_OUT_PATH, FL_CHECK, FL_DIFF, FL_RULES, FL_RELEASE, FL_USAGE,
	FL_TO_STATE, FL_FROM_STATE, /* state migrate */
	FL_FORCE_RELEASE, /* rollout rollback --force */
	FL_SHA256, FL_GLOBAL, /* plugin install, remove */
	FL_LISTEN, FL_POLICY, FL_SUBJECT, FL_ROLE, FL_EXPIRES, /* serve, token */
	FL_TLS_CERT, FL_TLS_KEY, FL_OIDC_ISSUER, FL_OIDC_AUDIENCE, FL_OIDC_JWKS, FL_OIDC_ROLES, /* serve: TLS, OIDC */
	FL_EVENTS_TIMEOUT, FL_EVENTS_SINCE, FL_EVENTS_TYPE, FL_EVENTS_SINK, /* events */
	FL_SERVER, FL_SYSTEM, FL_TOKEN_FILE, FL_AGENT_DIR, FL_INTERVAL, /* agent */
	FL_WATCH, FL_TICK_INTERVAL, FL_WINNER, /* experiment */
	FL_SERVE_TICK, /* serve --tick: the scheduler's pass */
	/* global: every command */
	FL_VERBOSE, FL_NO_COLOR, FL_STATE_DIR, FL_STATE, FL_HELP,
	FL__COUNT
};
/* A set of flag ids, one bit each: a 128-bit integer (GCC's and Clang's unsigned __int128 on
 * 64-bit targets), so that the command table's masks stay constant expressions (FLAG(a) |
 * FLAG(b)) past 64 flags. */
__extension__ typedef unsigned __int128 cli_flag_mask;
_Static_assert(FL__COUNT <= 128, "a cli_flag_mask holds 128 flags");
#define FLAG(id) ((cli_flag_mask)1 << (id))
#define FLAGS_GLOBAL (FLAG(FL_VERBOSE) | FLAG(FL_NO_COLOR) | FLAG(FL_STATE_DIR) | FLAG(FL_STATE) | FLAG(FL_HELP))

/* How a flag's value is stored into struct cli_ctx at offset. */
enum cli_flag_type {
	FT_SWITCH,    /* bool; --x, --x=true, --x=false */
	FT_STRING,    /* const char * (borrowed from argv) */
	FT_LIST,      /* struct strv, one entry per use (repeatable) */
	FT_INT,       /* int from min to max */
	FT_SECONDS,   /* seconds (decimal) from min to max, stored as int milliseconds */
	FT_GRACE,     /* as FT_SECONDS, but 0 is stored as -1 (kill at once) */
	FT_FORMAT,    /* -o: one of the command's formats; sets output, json, markdown, raw */
	FT_HELP,      /* print the command's help on stdout and exit 0 */
};

/* What a value (a flag's or a positional argument) completes to. */
enum cli_complete {
	CC_NONE, CC_FILE, CC_DIR, CC_ENV, CC_ADDRESS, CC_FORMAT, CC_COMMAND, CC_SHELL, CC_ROLLOUT,
};

struct cli_flag {
	const char *name;          /* long name: "env" is --env */
	char short_name;           /* 'f' is -f; 0: none */
	const char *single_dash;   /* also accepted with one dash (Terraform's -target, -out), or NULL */
	const char *arg;           /* value's name ("PATH"), NULL for a switch */
	enum cli_flag_type type;
	size_t offset;             /* of the field in struct cli_ctx */
	double min, max;           /* FT_INT, FT_SECONDS, FT_GRACE */
	const char *expect;        /* for the error on a bad value: "a number ... from 1 to 1024" */
	const char *def;           /* default as shown in help, or NULL */
	const char *env;           /* environment variable read when the flag is not given, or NULL */
	const char *synopsis;      /* how usage lines show it ("[--refresh=false]"), NULL: generated */
	enum cli_complete complete;
	const char *help;          /* one or more sentences, no final newline */
};

struct cli_example {
	const char *comment;       /* what it does */
	const char *command;       /* "cratis plan --env staging" */
};

struct cli_exit {
	int code;
	const char *meaning;
};

struct cli_command {
	const char *name;
	const char *summary;       /* one line, lowercase, no full stop */
	const char *args;          /* positional arguments as shown ("ID", "[NAME]"), NULL: none */
	int min_args, max_args;    /* how many positional arguments (after a subcommand's name); max
	                            * -1: any number */
	enum cli_complete args_complete;
	cli_flag_mask flags;       /* FLAG(id) bits it accepts besides FLAGS_GLOBAL */
	const char *formats;       /* -o values, "text|json"; NULL: text only */
	const char *description;   /* paragraphs separated by "\n\n", lines wrapped under 78 columns */
	const struct cli_example *examples;   /* ends with {NULL, NULL}; may be NULL */
	const struct cli_exit *exits;         /* ends with {-1, NULL}; NULL: the parent's */
	const struct cli_command *subs;       /* subcommands, ending with {NULL}; NULL: none */
	bool sub_optional;         /* the command also runs without a subcommand (version) */
	bool hidden;               /* not listed, completed or given a man page */
	cmd_fn fn;                 /* NULL for a subcommand: the parent's runs, args[0] naming it */
};

/* The tables (commands.c). cli_commands ends with an entry whose name is NULL. */
extern const struct cli_flag cli_flags[FL__COUNT];
extern const struct cli_command cli_commands[];
/* Exit codes every command shares, for `cratis --help` and cratis(1). Ends with {-1, NULL}. */
extern const struct cli_exit cli_exit_codes[];

/* The command (or subcommand of parent, when parent is not NULL) called name, or NULL. Hidden
 * commands are found too. */
const struct cli_command *cli_find(const struct cli_command *parent, const char *name);

/* Parse argv (the words after the command's name) for cmd into ctx: flags as the table says
 * (--name VALUE, --name=VALUE, -xVALUE, -x VALUE, a single-dash alias, "--" ending flags),
 * positional arguments into ctx->args (a subcommand's name first), defaults and environment
 * variables for flags not given. *sub_out gets the subcommand (NULL when none). Returns EXIT_OK;
 * -1 after printing the help on stdout for -h/--help (the caller exits 0); EXIT_USAGE after
 * printing "error: ..." and the usage on stderr for an unknown flag or subcommand (with a "did
 * you mean" hint), a missing or bad value, a -o format the command does not support, or too
 * few or too many positional arguments. */
int cli_parse_args(const struct cli_command *cmd, int argc, char **argv, struct cli_ctx *ctx,
                   const struct cli_command **sub_out);

/* Print cmd's (or its subcommand sub's) full help: summary, usage, description, flags with
 * defaults, formats, examples and exit codes. */
void cli_print_help(FILE *f, const struct cli_command *cmd, const struct cli_command *sub);
/* Print cmd's usage lines (one per subcommand) and where to find more: what usage errors show. */
void cli_print_usage(FILE *f, const struct cli_command *cmd, const struct cli_command *sub);
/* Print `cratis --help`: the commands, global flags, environment and exit codes. */
void cli_print_overview(FILE *f);


/* Help's flag column for f: "-f, --file PATH", "    --env NAME", "-target, --target ADDR".
 * Written to b (cleared first). */
struct buf;
void cli_flag_column(const struct cli_flag *f, struct buf *b);

/* Whether format is one of cmd's -o formats ("text" always is). */
bool cli_has_format(const struct cli_command *cmd, const char *format);

#endif
