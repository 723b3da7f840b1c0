/* The CLI's progress renderer: turns the engine's observer events into what the user sees on
 * stderr while apply, destroy, promote and rollouts run (docs/cli-output.md). */
#ifndef CRATIS_CLI_PROGRESS_H
#define CRATIS_CLI_PROGRESS_H

#include "engine/observer.h"

struct cli_ctx;
struct progress;

/* A renderer for the flags of ctx (-v, --stream, --no-color) writing to stderr. On a terminal
 * (stderr a tty and TERM not "dumb") it keeps a live view of the running resources with their
 * elapsed time at the bottom, redrawn in place with ANSI sequences, while finished lines scroll
 * above it; elsewhere it prints "ADDR: still creating... [Ns elapsed]" every
 * CRATIS_PROGRESS_INTERVAL seconds (default 10; an invalid value is the default) per resource
 * still running. Its ticker thread starts with the first resource started and stops in
 * progress_free. Returns a handle the caller frees with progress_free; never NULL (aborts on
 * memory exhaustion like the rest of cratis). */
struct progress *progress_new(const struct cli_ctx *ctx);

/* Stop the ticker, erase the live view and free p (NULL is ignored). */
void progress_free(struct progress *p);

/* The observer callback (struct engine_observer.event) with a struct progress * payload. Thread
 * safe: called from the engine's worker threads; every line it writes is whole. */
void progress_event(const struct engine_event *ev, void *payload);

/* The interval of the "still creating" lines from the value of CRATIS_PROGRESS_INTERVAL
 * (seconds, a positive number up to 86400; NULL, empty or invalid: 10), in milliseconds. */
int64_t progress_interval_ms(const char *env_value);

#endif
