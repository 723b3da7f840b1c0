/* Diagnostics: the one type every layer reports problems with (severity, status, location, field
 * path, message, hint), rendered by front ends as text, JSON or problem documents. Modelled on
 * GCC's -fdiagnostics-format=json records: data first, text rendered from it. */
#ifndef CRATIS_DIAG_H
#define CRATIS_DIAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

enum diag_severity { DIAG_ERROR = 0, DIAG_WARNING = 1, DIAG_NOTE = 2 };

/* One problem. Every string is heap-owned by the diagnostic (diags_release frees them). */
struct diag {
	enum diag_severity severity;
	int status;           /* enum cratis_status (CRATIS_EINVAL for invalid input, ...) */
	char *file;           /* file (or display name of a buffer) it concerns, or NULL */
	int line, column;     /* 1-based position in file; 0 when unknown */
	char *field;          /* field path ("spec.health.http"), or NULL */
	char *message;        /* lowercase, no full stop; never NULL */
	char *hint;           /* what to do about it ("did you mean 'health'?"), or NULL */
};

/* A list of diagnostics in the order they were found. */
struct diags {
	struct diag *v;
	size_t n, alloc;
};
#define DIAGS_INIT { NULL, 0, 0 }

void diags_init(struct diags *d);
/* Free every diagnostic and leave d empty and reusable. */
void diags_release(struct diags *d);

/* Append a diagnostic of severity and status with a printf-formatted message and no location.
 * Returns the new entry (valid until the next append) so that a caller can set its location
 * with diag_locate and its hint with diag_hint. */
struct diag *diags_add(struct diags *d, enum diag_severity severity, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
struct diag *diags_vadd(struct diags *d, enum diag_severity severity, int status, const char *fmt,
                        va_list ap);
/* Shorthand for diags_add(d, DIAG_ERROR, status, ...). Returns the new entry. */
struct diag *diags_errorf(struct diags *d, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append the calling thread's last error (cratis_error_last) as an error diagnostic: its status
 * (CRATIS_ERROR when none was set) and message (the status' name when empty). Returns that
 * status, so that callers can `return diags_add_last_error(d);`. */
int diags_add_last_error(struct diags *d);

/* Set where dg points: file (copied; NULL keeps none), 1-based line and column (0 = unknown),
 * field path (copied; NULL or "" = none). */
void diag_locate(struct diag *dg, const char *file, int line, int column, const char *field);
/* Set dg's hint (printf-formatted, replaces any earlier one). */
void diag_hint(struct diag *dg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix dg's message with printf-formatted text and ": " (context added while unwinding). */
void diag_prefix(struct diag *dg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move every diagnostic of src to the end of dst; src is left empty. */
void diags_move(struct diags *dst, struct diags *src);
/* Number of diagnostics of severity DIAG_ERROR. */
size_t diags_errors(const struct diags *d);
/* Status of the first error, or 0 (CRATIS_OK) when there is none. */
int diags_status(const struct diags *d);

/* Append dg as one text line (no newline): "file:line:col: field: message", parts that are
 * unknown left out ("file: message", "field: message", "message"); a hint follows on a new
 * line as "hint: ...". */
void diag_format(const struct diag *dg, struct buf *out);
/* The diagnostics as a JSON array of objects {severity ("error"|"warning"|"note"), status
 * (name, e.g. "CRATIS_EINVAL"), file, line, column, field, message, hint}; absent parts are
 * left out. New reference. */
json_t *diags_to_json(const struct diags *d);

#endif
