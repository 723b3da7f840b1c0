/* Human progress and diagnostics on stderr. Only the CLI decides the level. */
#ifndef CRATIS_LOG_H
#define CRATIS_LOG_H

#include "cratis/plugin.h"

/* Minimum level printed (enum cratis_log_level); default CRATIS_LOG_INFO. */
void log_set_level(int level);
/* Print one line "cratis: <text>" on stderr, atomically with respect to other threads. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
