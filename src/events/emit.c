/* Events recorded outside the engine's units of work (emit.h). */
#include "events/emit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "banned.h"

void events_rollout_event(struct rollout_event *out, const char *project, const char *environment, const char *rollout,
                          const char *release, const char *from, bool rolledback, const char *reason)
{
	json_t *d = json_pack("{s:s,s:s,s:s?}", "rollout", rollout, "release", release, "from", from);
	if (reason)
		json_object_set_new(d, "reason", json_string(reason));
	out->data = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	out->source = xasprintf("/projects/%s/environments/%s", project && *project ? project : "_",
	                        environment && *environment ? environment : "_");
	out->subject = xasprintf("Rollout/%s", rollout);
	out->ev = (struct store_event){ .type = rolledback ? CRATIS_EVENT_PREFIX "rollout.rolledback" : CRATIS_EVENT_PREFIX "rollout.promoted",
	                                .subject = out->subject, .data = out->data, .source = out->source };
}

void events_rollout_release(struct rollout_event *e)
{
	free(e->data);
	free(e->source);
	free(e->subject);
	memset(e, 0, sizeof(*e));
}
