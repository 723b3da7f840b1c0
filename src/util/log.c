/* Human progress lines on stderr (see log.h). */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "buf.h"
#include "banned.h"

static int min_level = CRATIS_LOG_INFO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(int level)
{
	min_level = level;
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: " };
	if (level < min_level)
		return;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s%s\n", tag[level & 3], b.ptr);
	pthread_mutex_unlock(&lock);
	buf_release(&b);
}
