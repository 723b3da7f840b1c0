/* Input guards of the manifest loader: what libfyaml 0.7.12 mishandles never reaches it (its
 * directive scanner loops forever on '%' followed by a byte that is not UTF-8, and takes time
 * quadratic in the length of a '%' line). Internal to src/manifest. */
#ifndef CRATIS_MANIFEST_GUARD_H
#define CRATIS_MANIFEST_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"

/* Check data (len bytes, the content of file) before the YAML parser sees it: it must be UTF-8
 * (YAML 1.2.2 section 5.2; RFC 3629: no overlong form, surrogate or code point above U+10FFFF),
 * and a line starting with '%' must be a well-formed %YAML 1.1|1.2 or %TAG directive (section
 * 6.8) of at most 1024 bytes. Returns true when it may be parsed; otherwise appends the first
 * problem to errors, located at file:line:col (status CRATIS_EINVAL), and returns false. */
bool manifest_input_ok(struct diags *errors, const char *file, const char *data, size_t len);

#endif
