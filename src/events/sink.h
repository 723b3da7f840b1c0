/* Event sinks: where the dispatcher (src/events/dispatch.c) delivers outbox events. A sink is a
 * transport only: it sends one event and says how that went; which events it gets (filters),
 * ordering, retry bookkeeping and the outbox live in the dispatcher. Three kinds:
 *   webhook  HTTP POST with libcurl, CloudEvents HTTP protocol binding 1.0 (bindings/http-protocol-
 *            binding.md) in binary mode (ce-* headers, data as the body) or structured mode
 *            (application/cloudevents+json), signed as the Standard Webhooks spec says
 *            (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>).
 *   nats     NATS JetStream with libnats (opened on first use): subject = prefix + event type,
 *            Nats-Msg-Id = event id (the server drops duplicates), publish ack awaited.
 *   file     NDJSON: one CloudEvents JSON line appended per event, fsync'd. */
#ifndef CRATIS_SINK_H
#define CRATIS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event.h"

enum sink_kind { SINK_WEBHOOK, SINK_NATS, SINK_FILE };

/* A sink as declared in a manifest (Project.spec.events.sinks, docs/events.md). Strings are
 * heap-owned by the config (sink_config_free). */
struct sink_config {
	char *name;                 /* unique per project */
	enum sink_kind kind;
	char **types;               /* type filters: exact, or a prefix ending in '*'; none = all */
	size_t ntypes;
	char **subjects;            /* subject filters, same syntax; none = all */
	size_t nsubjects;
	/* webhook */
	char *url;                  /* http:// or https:// */
	bool structured;            /* true: application/cloudevents+json; false: binary mode */
	char *secret;               /* Standard Webhooks secret, revealed ("whsec_<base64>" or raw
	                             * text), or NULL: unsigned. Never logged, never stored in state. */
	/* nats */
	char *nats_url;             /* "nats://127.0.0.1:4222" */
	char *subject_prefix;       /* default "cratis." (subject "cratis.dev.cratis.deployment.started") */
	char *stream;               /* JetStream stream expected to hold the subjects, or NULL */
	char *creds_file;           /* NATS credentials file (by reference), or NULL */
	/* file */
	char *path;
	/* delivery policy (used by the dispatcher) */
	int timeout_ms;             /* per attempt; default 10000 */
	int max_attempts;           /* then dead-letter; default 12 */
	int64_t max_age_ms;         /* an event older than this is dead-lettered; default 24 h */
	int64_t backoff_initial_ms; /* default 1000 */
	int64_t backoff_max_ms;     /* default 300000 */
};

/* Free every field of cfg and zero it; cfg itself is not freed. NULL is ignored. */
void sink_config_free(struct sink_config *cfg);

/* How one attempt went. */
enum send_outcome {
	SEND_OK,       /* delivered (2xx; JetStream ack; line written) */
	SEND_RETRY,    /* transient: 5xx, 408, 429, timeout, connection refused or reset */
	SEND_GONE,     /* HTTP 410: the receiver asks that the sink be disabled */
	SEND_REJECTED, /* permanent for this event: any other 4xx; dead-lettered at once */
};

struct send_result {
	enum send_outcome outcome;
	int http_status;            /* webhook: the status, 0 when no response */
	int64_t retry_after_ms;     /* Retry-After (seconds or HTTP-date) in ms, or -1 when absent */
	char message[256];          /* why, for SEND_RETRY/GONE/REJECTED ("" on SEND_OK); no secrets */
};

struct sink;

/* Open a sink for cfg (borrowed; must outlive the sink). A NATS sink connects here, a webhook
 * sink creates its curl handle, a file sink opens its file for appending (created 0600).
 * Returns CRATIS_OK with *out set; CRATIS_EINVAL for an invalid config (naming the field);
 * CRATIS_ENOTFOUND when libnats cannot be loaded; CRATIS_EIO when the file cannot be opened.
 * An unreachable server is not an error here: sink_send reports SEND_RETRY. */
int sink_open(struct sink **out, const struct sink_config *cfg);

/* Deliver ev once (no retry inside), waiting at most cfg->timeout_ms. Returns CRATIS_OK with
 * *res filled whatever the outcome; CRATIS_EINVAL when ev cannot be encoded; CRATIS_ENOMEM. */
int sink_send(struct sink *s, const struct cloud_event *ev, int64_t now_ms, struct send_result *res);

/* Close the sink (NULL is ignored). */
void sink_close(struct sink *s);

/* The wait before attempt number attempt (1 = the first retry) of cfg: exponential from
 * backoff_initial_ms, doubling, capped at backoff_max_ms, with "full jitter" (AWS architecture
 * blog: a uniform value in [0, cap]) drawn from random; at least retry_after_ms when that is
 * >= 0. Pure. */
int64_t sink_backoff_ms(const struct sink_config *cfg, int attempt, int64_t retry_after_ms, uint64_t random);

/* Standard Webhooks signature (github.com/standard-webhooks/standard-webhooks, spec
 * section "Signature scheme"): HMAC-SHA256 keyed with secret (after "whsec_" its base64-decoded
 * bytes; without that prefix the raw bytes) over "<msg_id>.<timestamp>.<body>", as
 * "v1,<base64>". *out heap-owned. Returns CRATIS_OK; CRATIS_EINVAL for a bad secret;
 * CRATIS_ENOTFOUND when libcrypto cannot be loaded; CRATIS_ENOMEM. */
int webhook_sign(const char *secret, const char *msg_id, int64_t timestamp_s, const char *body, size_t len,
                 char **out);

#endif
