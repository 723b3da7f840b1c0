/* Inside the sinks: every kind embeds struct sink first and fills its vtable; sink.c picks the
 * kind's open function by cfg->kind. Not for callers outside src/events (they use sink.h). */
#ifndef CRATIS_SINK_INTERNAL_H
#define CRATIS_SINK_INTERNAL_H

#include "events/sink.h"

struct sink_vtable {
	/* as sink_send */
	int (*send)(struct sink *s, const struct cloud_event *ev, int64_t now_ms, struct send_result *res);
	/* release everything the kind holds, including s itself */
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_vtable *vt;
	const struct sink_config *cfg;   /* borrowed */
};

/* Each kind's opener, with sink_open's contract for its kind. */
int sink_file_open(struct sink **out, const struct sink_config *cfg);     /* sink_file.c */
int sink_webhook_open(struct sink **out, const struct sink_config *cfg);  /* sink_webhook.c */
int sink_nats_open(struct sink **out, const struct sink_config *cfg);     /* sink_nats.c */

#endif
