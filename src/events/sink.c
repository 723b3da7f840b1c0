/* Sinks: pick the kind's opener, and send/close through its vtable (sink.h, sink_internal.h). */
#include "events/sink_internal.h"

#include <stddef.h>

#include "util/error.h"
#include "banned.h"

int sink_open(struct sink **out, const struct sink_config *cfg)
{
	*out = NULL;
	switch (cfg->kind) {
	case SINK_FILE:
		return sink_file_open(out, cfg);
	case SINK_WEBHOOK:
		return sink_webhook_open(out, cfg);
	case SINK_NATS:
		return sink_nats_open(out, cfg);
	}
	return error_set(CRATIS_EINVAL, "sink '%s': unknown kind %d", cfg->name, (int)cfg->kind);
}

int sink_send(struct sink *s, const struct cloud_event *ev, int64_t now_ms, struct send_result *res)
{
	res->outcome = SEND_RETRY;
	res->http_status = 0;
	res->retry_after_ms = -1;
	res->message[0] = 0;
	return s->vt->send(s, ev, now_ms, res);
}

void sink_close(struct sink *s)
{
	if (s)
		s->vt->close(s);
}
