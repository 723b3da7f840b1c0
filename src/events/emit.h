/* Outbox events recorded by modules outside the engine's units of work (docs/events.md), built
 * here and written by the store in the transaction of the change they describe. */
#ifndef CRATIS_EVENTS_EMIT_H
#define CRATIS_EVENTS_EMIT_H

#include <stdbool.h>

#include "state/store.h"

/* A built event and the strings it points to (heap, freed by events_rollout_release). */
struct rollout_event {
	struct store_event ev;
	char *data, *source, *subject;
};

/* Build dev.cratis.rollout.promoted (rolledback false) or dev.cratis.rollout.rolledback into *out:
 * source "/projects/P/environments/E" ("_" for an empty project or environment), subject
 * "Rollout/NAME", data {rollout, release, from, reason} (from: the release that served before,
 * or NULL; reason or NULL; both borrowed). Write it with the switch itself
 * (store_releases_put_ev), so that a switch and its event commit together. */
void events_rollout_event(struct rollout_event *out, const char *project, const char *environment, const char *rollout,
                          const char *release, const char *from, bool rolledback, const char *reason);
/* Free what events_rollout_event built and zero *e. */
void events_rollout_release(struct rollout_event *e);

#endif
