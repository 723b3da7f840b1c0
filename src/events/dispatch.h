/* The dispatcher: delivers outbox events (src/state/store.h) to sinks (src/events/sink.h), at
 * least once, in seq order per sink and subject. For each sink, each pending event in seq order:
 * filtered out -> marked skipped; older than maxAge -> dead; else sent once: SEND_OK -> delivered;
 * SEND_RETRY -> retried after sink_backoff_ms (Retry-After honoured), dead after maxAttempts;
 * SEND_REJECTED -> dead at once; SEND_GONE -> the sink is disabled and its delivery stops. An
 * event not delivered yet (failed, or waiting for its retry time) blocks the later events of the
 * same subject on that sink, never other subjects or other sinks. Everything stops at the
 * deadline and is left pending for the next run. */
#ifndef CRATIS_DISPATCH_H
#define CRATIS_DISPATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/sink.h"
#include "state/store.h"

struct dispatch_opts {
	int64_t deadline_ms;        /* store clock (store_now) ms after which nothing new is sent */
	/* Wait ms milliseconds for a retry that falls due before the deadline; NULL: nanosleep.
	 * (Tests pass one that advances their store clock.) */
	void (*sleep_ms)(void *payload, int64_t ms);
	void *payload;
	const atomic_int *cancel;   /* non-zero: stop after the current send; may be NULL */
};

/* What one sink's delivery did. */
struct dispatch_result {
	size_t delivered, retrying, dead, skipped;
	size_t left;                /* still pending when it stopped (deadline, disabled, retries) */
	bool disabled;              /* the sink is disabled (now or before) */
	int open_status;            /* CRATIS_OK, or sink_open's error (message in message) */
	char message[256];          /* the last failure, "" when none; no secrets */
};

/* Deliver the pending events of sink s (opened for cfg, both borrowed) from st until none is
 * due or the deadline. *res is zeroed first. Returns CRATIS_OK (whatever the sink answered), or
 * the store's error (CRATIS_EIO) or sink_send's (CRATIS_EINVAL: an event that cannot be encoded
 * is dead-lettered instead, so this is only CRATIS_ENOMEM). */
int dispatch_sink(struct store *st, struct sink *s, const struct sink_config *cfg, const struct dispatch_opts *o,
                  struct dispatch_result *res);

/* Open each of the n sinks of cfgs, deliver as dispatch_sink does, close it; res[i] (n entries)
 * says how each went (a sink that cannot be opened: res[i].open_status and message, its events
 * left pending). Returns CRATIS_OK, or the first store error (the other sinks still ran). */
int dispatch_all(struct store *st, const struct sink_config *cfgs, size_t n, const struct dispatch_opts *o,
                 struct dispatch_result *res);

/* The sinks of a Project document (Project.spec.events.sinks, docs/events.md) into *out (heap,
 * *n entries; free each with sink_config_free, then the array). root is the document's JSON,
 * doc locates errors (file:line:col, field, what was expected) appended to errors. A secret
 * (`secret: ${secret:NAME}`) is not resolved here: cfg->secret stays NULL (resolved only when
 * delivering). Returns CRATIS_OK, or CRATIS_EINVAL when a sink is invalid (*out NULL). */
struct manifest_doc;
struct diags;
int events_sinks_parse(const struct manifest_doc *doc, const void *root_json, struct sink_config **out, size_t *n,
                       struct diags *errors);

/* Whether ref is a secret reference "${secret:NAME}"; *name (when name is not NULL and it is)
 * gets NAME (heap, caller frees). */
bool events_secret_name(const char *ref, char **name);

/* The longest duration a delivery setting takes: 10 years, in ms. */
#define EVENTS_DURATION_MAX_MS (10.0 * 365 * 24 * 3600 * 1000)
/* A duration: "250ms", "10s", "5m", "24h" or a number of seconds; returns it in ms, or -1 when
 * text is NULL, empty, not a number with one of those units, negative, not finite (NaN, inf) or
 * above EVENTS_DURATION_MAX_MS ("1e300h" once overflowed the conversion). */
int64_t events_parse_duration(const char *text);
/* ms (a product that may be out of range) as int64_t ms, or -1 when negative, NaN or above
 * EVENTS_DURATION_MAX_MS. */
int64_t events_duration_ms(double ms);

#endif
