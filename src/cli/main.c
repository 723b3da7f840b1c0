/* cratis: entry point; dispatches through the command table (commands.c). */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "progress.h"
#include "util/buf.h"
#include "util/subprocess.h"
#include "banned.h"

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

static void unknown_command(const char *name)
{
	const char *cands[64] = { 0 };
	size_t n = 0;
	for (const struct cli_command *c = cli_commands; c->name && n < 64; c++)
		if (!c->hidden)
			cands[n++] = c->name;
	const char *hint = model_suggest(name, cands, n);
	fprintf(stderr, "error: unknown command '%s'", name);
	if (hint)
		fprintf(stderr, "; did you mean '%s'?", hint);
	fputs("\nusage: cratis COMMAND [SUBCOMMAND] [ARGS] [FLAGS]\ncommands:", stderr);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", cands[i]);
	fputs("\nRun 'cratis --help' for more.\n", stderr);
}

int main(int argc, char **argv)
{
	process_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cli_print_overview(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		argv[1] = "version";
	const struct cli_command *cmd = cli_find(NULL, argv[1]);
	if (!cmd) {
		unknown_command(argv[1]);
		return EXIT_USAGE;
	}
	struct cli_ctx ctx = { .jobs = 4, .refresh = true, .files = STRV_INIT, .args = STRV_INIT, .targets = STRV_INIT,
	                       .grace_ms = 10000, .tail = -1, .events_timeout_ms = 10000, .cancel = &stop_signal };
	const struct cli_command *sub = NULL;
	/* hidden commands (__complete, __man) take their words as they are */
	int rc = cmd->hidden ? EXIT_OK : cli_parse_args(cmd, argc - 2, argv + 2, &ctx, &sub);
	if (rc == -1) {
		rc = EXIT_OK; /* --help printed */
	} else if (!rc) {
		struct buf line = BUF_INIT;
		buf_adds(&line, "cratis");
		for (int k = 1; k < argc; k++) {
			buf_addch(&line, ' ');
			shell_quote(&line, argv[k]);
		}
		ctx.command_line = buf_detach(&line);
		rc = cmd->fn(argc - 2, argv + 2, &ctx);
	}
	strv_release(&ctx.files);
	strv_release(&ctx.args);
	strv_release(&ctx.targets);
	strv_release(&ctx.rules);
	progress_free(ctx.progress);
	free(ctx.command_line);
	return rc;
}
