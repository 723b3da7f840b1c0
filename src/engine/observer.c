/* Engine observer helpers (see observer.h). */
#include "observer.h"

#include <stdarg.h>

#include "util/buf.h"
#include "banned.h"

void engine_emit(const struct engine_observer *obs, const struct engine_event *ev)
{
	if (obs && obs->event)
		obs->event(ev, obs->payload);
}

void engine_logf(const struct engine_observer *obs, int level, const char *resource, const char *fmt, ...)
{
	if (!obs || !obs->event)
		return;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	struct engine_event ev = { .type = EV_LOG, .resource = resource, .level = level, .message = b.ptr };
	obs->event(&ev, obs->payload);
	buf_release(&b);
}
