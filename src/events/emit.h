/* Outbox events recorded by modules outside the engine's units of work (docs/events.md). */
#ifndef CRATIS_EVENTS_EMIT_H
#define CRATIS_EVENTS_EMIT_H

#include <stdbool.h>

#include "state/store.h"

/* Record dev.cratis.rollout.promoted (rolledback false) or dev.cratis.rollout.rolledback in s's
 * outbox in a transaction of its own: subject "Rollout/NAME", data {rollout, release, from,
 * reason}. from (the release that served before, or NULL) and reason (NULL) are borrowed.
 * Returns CRATIS_OK, or the store's status (CRATIS_EIO) with the last error set. */
int events_emit_rollout(struct store *s, const char *project, const char *environment, const char *rollout,
                        const char *release, const char *from, bool rolledback, const char *reason);

#endif
