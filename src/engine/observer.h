/* Engine observer: the typed lifecycle events that the engine and the controllers (rollouts)
 * report while they run, and the callback that receives them. Front ends turn them into lines, a
 * live view or a stream; nothing in the core prints. */
#ifndef CRATIS_OBSERVER_H
#define CRATIS_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

enum action { ACT_NOOP, ACT_CREATE, ACT_UPDATE, ACT_REPLACE, ACT_DELETE };

/* Counters of an apply. */
struct apply_result {
	size_t ok, failed, skipped, interrupted;
	int64_t deployment;
};
extern const char *const action_names[];   /* "no-op", "create", "update", "replace", "delete" */

/* Lifecycle events the engine and the controllers report while they run. */
enum engine_event_type {
	EV_DEPLOYMENT_STARTED,      /* deployment: id; environment in message */
	EV_DEPLOYMENT_FINISHED,     /* deployment, counts; message: "succeeded", "failed", "interrupted" */
	EV_RESOURCE_STARTED,        /* resource, action */
	EV_RESOURCE_RUNNING,        /* resource, action, elapsed_ms: still running (about every 10 s) */
	EV_RESOURCE_FINISHED,       /* resource, action, elapsed_ms */
	EV_RESOURCE_FAILED,         /* resource, action, elapsed_ms, message: the error */
	EV_RESOURCE_SKIPPED,        /* resource; message: why (a dependency failed, cancelled) */
	EV_RESOURCE_INTERRUPTED,    /* resource, action, elapsed_ms: cancelled while running */
	EV_LOG,                     /* resource (or NULL), level, message: a plugin's or controller's line */
	EV_STAGE,                   /* resource ("Rollout/NAME"), message: "release ID STAGE: RESULT[: output]" */
	EV_WARNING,                 /* message: something the user should know (lock taken over, ...) */
	EV_EMIT,                    /* resource, message: the type a plugin emitted (host->emit), data */
};

/* One event. Every pointer is valid for the duration of the observer call only. */
struct engine_event {
	enum engine_event_type type;
	const char *resource;       /* "Kind/name", or NULL */
	enum action action;
	int level;                  /* EV_LOG: enum cratis_log_level */
	int64_t elapsed_ms;
	int64_t deployment;
	const char *message;        /* or NULL */
	const struct apply_result *counts; /* EV_DEPLOYMENT_FINISHED */
	const char *data;           /* EV_EMIT: the event's data as JSON text, or NULL */
};

/* Receives events; called from worker threads concurrently (the observer serialises what it
 * shares), and must not call back into the engine. libgit2's progress callbacks are the model. */
struct engine_observer {
	void (*event)(const struct engine_event *ev, void *payload);
	void *payload;
};

/* Report ev to obs (NULL is ignored). */
void engine_emit(const struct engine_observer *obs, const struct engine_event *ev);
/* Report a log line at level for resource (NULL: none) to obs, printf-formatted. */
void engine_logf(const struct engine_observer *obs, int level, const char *resource, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
