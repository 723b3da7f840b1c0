/* Events recorded outside the engine's units of work (emit.h). */
#include "events/emit.h"

#include <jansson.h>
#include <stdlib.h>

#include "util/util.h"
#include "banned.h"

int events_emit_rollout(struct store *s, const char *project, const char *environment, const char *rollout,
                        const char *release, const char *from, bool rolledback, const char *reason)
{
	json_t *d = json_pack("{s:s,s:s,s:s?}", "rollout", rollout, "release", release, "from", from);
	if (reason)
		json_object_set_new(d, "reason", json_string(reason));
	char *data = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	char *source = xasprintf("/projects/%s/environments/%s", project && *project ? project : "_",
	                         environment && *environment ? environment : "_");
	char *subject = xasprintf("Rollout/%s", rollout);
	struct store_event ev = { .type = rolledback ? CRATIS_EVENT_PREFIX "rollout.rolledback" : CRATIS_EVENT_PREFIX "rollout.promoted",
	                          .subject = subject, .data = data, .source = source };
	int rc = store_emit(s, environment ? environment : "", 0, &ev, 1);
	free(subject);
	free(source);
	free(data);
	return rc;
}
