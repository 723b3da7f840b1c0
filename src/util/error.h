/* Thread-local last error: library code returns a status and leaves the detail here. */
#ifndef CRATIS_ERROR_H
#define CRATIS_ERROR_H

#include "cratis/plugin.h"

struct cratis_error {
	int status;           /* enum cratis_status */
	const char *message;  /* never NULL; owned by the error slot */
};

/* Set the calling thread's last error; returns status so callers can `return error_set(...)`. */
int error_set(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (adds context while unwinding). Returns the status. */
int error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Clear the calling thread's last error. */
void error_clear(void);
/* The calling thread's last error; never NULL, never freed by the caller, valid until the next
 * error_set/error_clear on this thread. message is "" when no error was set. */
const struct cratis_error *cratis_error_last(void);
/* Name of a status ("CRATIS_EINVAL"). */
const char *status_name(int status);

#endif
