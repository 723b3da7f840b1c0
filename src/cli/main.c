/* cratis: entry point and command table. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "util/buf.h"
#include "util/subprocess.h"
#include "banned.h"

static const struct cmd {
	const char *name;
	cmd_fn fn;
	const char *usage;
} commands[] = {
	{ "plan", cmd_plan, "plan [-f PATH]... [--env NAME] [-o text|json|markdown] [--detailed-exitcode] [--refresh=false] [-j N]" },
	{ "apply", cmd_apply, "apply [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS] [--grace SECONDS]" },
	{ "destroy", cmd_destroy, "destroy [-f PATH]... [--env NAME] [-j N] [--auto-approve] [--lock-timeout SECONDS] [--grace SECONDS]" },
	{ "get", cmd_get, "get [-f PATH]... [--env NAME] [-o text|json]" },
	{ "history", cmd_history, "history [ID] [-f PATH] [--env NAME] [-o text|json]" },
	{ "plugin", cmd_plugin, "plugin list [-f PATH] [-o text|json]" },
	{ "state", cmd_state, "state list|show ID|unlock LOCK_ID [--force] [-f PATH] [--env NAME] [-o text|json]" },
	{ "version", cmd_version, "version [show|check] [-f PATH] [-o text|json]" },
	{ "release", cmd_release, "release [-f PATH] [--dry-run]" },
	{ "promote", cmd_promote, "promote --from ENV --to ENV [-f PATH]... [--auto-approve]" },
	{ "rollout", cmd_rollout, "rollout status|promote|abort|rollback [--to RELEASE]|history [NAME] [-f PATH] [--env NAME]" },
	{ "logs", cmd_logs, "logs Service/NAME|Rollout/NAME [--release current|preview] [-f|--follow] [--tail N] [--since DURATION] [--file PATH] [--env NAME]" },
	{ "artifact", cmd_artifact, "artifact record NAME VERSION DIGEST | artifact list [NAME] [--history]" },
};

/* The signal that asked this run to stop (SIGINT or SIGTERM, with CANCEL_HARD after a second
 * one), 0 while none did. Written by on_signal (and by the lease keeper: CANCEL_LEASE_LOST); the
 * engine's threads read it through cli_ctx.cancel. A lock-free atomic, which a signal handler
 * may use and other threads may read without a race (C11 7.14.1.1, 7.17.5). The one mutable
 * global of cratis: a signal handler has nowhere else to write. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the cancellation word must be a lock-free atomic");
static atomic_int stop_signal;

/* First SIGINT/SIGTERM: ask the run to stop (start nothing new, SIGTERM to running children,
 * SIGKILL after --grace, record, unlock). A second one: the same at once (running children get
 * SIGKILL now, so none is left behind). A third: the default action; the next run settles the
 * rest. */
static void on_signal(int sig)
{
	if (!(stop_signal & 0xff)) {
		stop_signal = sig;
	} else if (!(stop_signal & CANCEL_HARD)) {
		stop_signal |= CANCEL_HARD;
	} else {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

/* Process-wide set-up, once, before any thread starts: writes to a closed pipe return EPIPE
 * instead of killing cratis; SIGCHLD has its default action (an inherited SIG_IGN would make
 * the kernel reap children before waitpid sees their status); SIGINT and SIGTERM cancel. */
static void process_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void help(FILE *f)
{
	fputs("usage: cratis COMMAND [FLAGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  cratis %s\n", commands[i].usage);
	fputs("\ncommon flags:\n"
	      "  -f, --file PATH      manifest file or directory (repeatable; default .); the first one's\n"
	      "                       directory is the project directory holding .cratis/\n"
	      "  --env NAME           environment to deploy (required when several are defined)\n"
	      "  -j N                 parallel resource operations during plan (refresh), apply and destroy\n"
	      "                       (default 4)\n"
	      "  -o text|json         output format\n"
	      "  --state-dir DIR      state directory (default PROJECT/.cratis, or $CRATIS_STATE_DIR)\n"
	      "  --grace SECONDS      apply/destroy/promote: how long running commands get to exit after\n"
	      "                       Ctrl-C or SIGTERM before they are killed (default 10)\n"
	      "  --stream             apply/destroy: a Task's output lines, prefixed by its address\n"
	      "  --no-color           no colour (also when NO_COLOR is set, or off a terminal)\n"
	      "  -v                   debug output (includes --stream)\n"
	      "\nenvironment: CRATIS_PLUGIN_PATH (colon-separated plugin directories searched first),\n"
	      "  NO_COLOR (no colour when set), CRATIS_PROGRESS_INTERVAL (seconds between the 'still\n"
	      "  creating' lines off a terminal; default 10)\n"
	      "\nexit codes:\n"
	      "  0   success (plan: no changes with --detailed-exitcode)\n"
	      "  1   error: invalid manifests, plugin failure, failed or partial apply\n"
	      "  2   plan --detailed-exitcode: there are changes\n"
	      "  3   the environment is locked by another run\n"
	      "  64  usage error: unknown command or flag\n"
	      "  130 interrupted by SIGINT (143: SIGTERM): nothing new started, running commands stopped,\n"
	      "      the deployment recorded as interrupted, the lock released\n", f);
}

int main(int argc, char **argv)
{
	process_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		argv[1] = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		struct cli_ctx ctx = { .jobs = 4, .refresh = true, .files = STRV_INIT, .args = STRV_INIT,
		                       .grace_ms = 10000, .cancel = &stop_signal, .tail = -1 };
		struct buf line = BUF_INIT;
		buf_adds(&line, "cratis");
		for (int k = 1; k < argc; k++) {
			buf_addch(&line, ' ');
			shell_quote(&line, argv[k]);
		}
		ctx.command_line = buf_detach(&line);
		int rc = commands[i].fn(argc - 2, argv + 2, &ctx);
		progress_free(ctx.progress);
		strv_release(&ctx.files);
		strv_release(&ctx.args);
		free(ctx.command_line);
		return rc;
	}
	fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
	help(stderr);
	return EXIT_USAGE;
}

