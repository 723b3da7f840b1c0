/* Thread-local last error (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdlib.h>

#include "buf.h"
#include "banned.h"

static _Thread_local struct buf msg = BUF_INIT;
static _Thread_local struct cratis_error last = { 0, "" };

int error_set(int status, const char *fmt, ...)
{
	va_list ap;
	struct buf nb = BUF_INIT;
	va_start(ap, fmt);
	buf_vaddf(&nb, fmt, ap);
	va_end(ap);
	buf_release(&msg);
	msg = nb;
	last.status = status;
	last.message = msg.ptr;
	return status;
}

int error_prefix(const char *fmt, ...)
{
	va_list ap;
	struct buf nb = BUF_INIT;
	va_start(ap, fmt);
	buf_vaddf(&nb, fmt, ap);
	va_end(ap);
	buf_adds(&nb, ": ");
	buf_add(&nb, msg.ptr, msg.len);
	buf_release(&msg);
	msg = nb;
	last.message = msg.ptr;
	return last.status;
}

void error_clear(void)
{
	buf_release(&msg);
	last.status = 0;
	last.message = msg.ptr;
}

const struct cratis_error *cratis_error_last(void)
{
	return &last;
}

const char *status_name(int status)
{
	static const char *const names[] = {
		"CRATIS_OK", "CRATIS_ERROR", "CRATIS_ENOMEM", "CRATIS_EINVAL", "CRATIS_EIO",
		"CRATIS_ENOTFOUND", "CRATIS_EABI", "CRATIS_ETIMEOUT", "CRATIS_EPLUGIN",
		"CRATIS_ELOCKED", "CRATIS_ECYCLE", "CRATIS_EEXISTS",
	};
	if (status > 0 || status <= CRATIS_STATUS_LAST)
		return "CRATIS_UNKNOWN";
	return names[-status];
}
