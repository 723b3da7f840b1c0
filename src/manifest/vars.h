/* Variable interpolation in manifest strings:
 *   ${name}                    Environment.spec.variables.name
 *   ${env:NAME}                process environment; error when unset or not valid UTF-8 (the
 *                              message shows the bytes escaped as \xHH)
 *   ${env:NAME:-default}       process environment with a default
 *   ${Kind/name.outputs.key}   another resource's recorded output (adds a graph edge); a
 *                              sensitive output makes the string sensitive, like a secret
 *   ${artifact:NAME}           digest of the artifact NAME last recorded (.version: its version)
 *   ${secret:NAME}             the project's secret NAME (resolved by the last pass only)
 *   $${                        a literal "${"
 *   ${$}                       a literal "$"
 * A string that is exactly one reference takes the referenced value's JSON type.
 *
 * Interpolation is one pass over the template: a value that came from the environment, an
 * output, an artifact, a secret or a variable is data and is never scanned for references. A
 * partial pass (load time) writes every '$' of such a value as "${$}", which only the last pass
 * turns back into '$'; so what a value contains can neither resolve nor add a graph edge. */
#ifndef CRATIS_VARS_H
#define CRATIS_VARS_H

#include <jansson.h>
#include <stdbool.h>

#include "util/util.h"

/* Resolves ${Kind/name.outputs.key}: set *out to a new reference, or leave it NULL when the
 * value is not known yet, and return CRATIS_OK; set *sensitive (false on entry) when the output
 * is sensitive, so that the string it lands in is redacted like one that took a secret; or return a negative enum cratis_status with
 * the message in the calling thread's last error (error_set, util/error.h), e.g.
 * CRATIS_ENOTFOUND "Task/a has no output 'x' (outputs: dir)". */
typedef int (*vars_ref_fn)(const char *id, const char *key, json_t **out, bool *sensitive, void *payload);

/* Resolves ${artifact:NAME} (field "digest") and ${artifact:NAME.version} (field "version"):
 * set *out to a heap string (the caller frees it) and return CRATIS_OK; or return a negative
 * status with the message in the last error (*out untouched), e.g. CRATIS_ENOTFOUND when no
 * artifact NAME is recorded. */
typedef int (*vars_artifact_fn)(char **out, const char *name, const char *field, void *payload);

/* Resolves ${secret:NAME}: set *out to a heap string (the caller wipes and frees it) and return
 * CRATIS_OK; or return a negative status with the message in the last error, a message that
 * never contains the value (CRATIS_ENOTFOUND for a secret that is not declared). */
typedef int (*vars_secret_fn)(char **out, const char *name, void *payload);

/* Replaces the value of a string that took a secret or a sensitive variable (len bytes, not
 * NUL-terminated for the callee's purpose) by its redacted form: set *out to a heap string
 * (caller frees), return CRATIS_OK or a negative status with the last error set. */
typedef int (*vars_redact_fn)(char **out, const char *value, size_t len, void *payload);

struct vars_ctx {
	const json_t *variables;   /* object of variables, or NULL */
	bool partial;              /* true: leave output references and "$${" escapes untouched,
	                            * for a later pass that has outputs (load time) */
	vars_ref_fn ref;           /* resolves output references when not partial; NULL = unknown */
	void *payload;
	const char *unknown;       /* text substituted for unknown outputs (plan), or NULL */
	vars_artifact_fn artifact; /* NULL: artifact references are an error */
	void *artifact_payload;
	vars_secret_fn secret;     /* resolves ${secret:NAME} when not partial; NULL = an error */
	void *secret_payload;      /* for secret and redact */
	vars_redact_fn redact;     /* NULL: sensitive values stay (the spec sent to a plugin);
	                            * otherwise a string that took one becomes redact(string) */
	const struct strv *sensitive; /* names of variables marked sensitive, or NULL: kept by a
	                            * partial pass, resolved and redacted like secrets by the last */
};

/* Expand s. Returns CRATIS_OK (0) with *out a new JSON value (caller decrefs), or a negative
 * status with *out NULL and the message in the calling thread's last error (util/error.h):
 *   CRATIS_EINVAL     malformed or unsupported reference ("unterminated '${' in '...'",
 *                     "empty reference '${}'", "'${secret:}': expected ${secret:NAME}"), a variable that is not defined ("unknown variable 'x'
 *                     (defined: a, b)"), a value that is not valid UTF-8, or an artifact
 *                     reference without ctx->artifact;
 *   CRATIS_ENOTFOUND  an environment variable that is not set and has no default;
 *   or whatever status ctx->ref or ctx->artifact returned, with their message. */
int vars_expand_string(const char *s, const struct vars_ctx *ctx, json_t **out);

/* Called for each error found by vars_expand_tree: field is the dotted path of the string, msg
 * the message vars_expand_string left in the last error (borrowed for the call). */
typedef void (*vars_error_fn)(const char *field, const char *msg, void *payload);

/* Expand every string inside *v (objects and arrays recursively), replacing values in place.
 * field is the path of *v ("spec"). Returns the number of errors reported through on_error. */
int vars_expand_tree(json_t **v, const char *field, const struct vars_ctx *ctx,
                     vars_error_fn on_error, void *payload);

/* True when some string inside v contains a '$' sequence that a later expansion would change
 * ("${" or "$${"). */
bool vars_pending(const json_t *v);

/* Append to ids every distinct "Kind/name" referenced as ${Kind/name.outputs.key} inside v. */
void vars_collect_refs(const json_t *v, struct strv *ids);

#endif
