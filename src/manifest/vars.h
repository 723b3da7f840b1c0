/* Variable interpolation in manifest strings:
 *   ${name}                    Environment.spec.variables.name
 *   ${env:NAME}                process environment; error when unset or not valid UTF-8 (the
 *                              message shows the bytes escaped as \xHH)
 *   ${env:NAME:-default}       process environment with a default
 *   ${Kind/name.outputs.key}   another resource's recorded output (adds a graph edge)
 *   ${artifact:NAME}           digest of the artifact NAME last recorded (.version: its version)
 *   $${                        a literal "${"
 * A string that is exactly one reference takes the referenced value's JSON type. */
#ifndef CRATIS_VARS_H
#define CRATIS_VARS_H

#include <jansson.h>
#include <stdbool.h>

#include "util/util.h"

/* Resolves ${Kind/name.outputs.key}: return a new reference in *out, or leave *out NULL when
 * the value is not known yet. Return 0, or -1 with a message in *err (heap, caller frees). */
typedef int (*vars_ref_fn)(const char *id, const char *key, json_t **out, char **err, void *payload);

/* Resolves ${artifact:NAME} (field "digest") and ${artifact:NAME.version} (field "version"):
 * return a heap string, or NULL with *err set (heap). */
typedef char *(*vars_artifact_fn)(const char *name, const char *field, char **err, void *payload);

struct vars_ctx {
	const json_t *variables;   /* object of variables, or NULL */
	bool partial;              /* true: leave output references and "$${" escapes untouched,
	                            * for a later pass that has outputs (load time) */
	vars_ref_fn ref;           /* resolves output references when not partial; NULL = unknown */
	void *payload;
	const char *unknown;       /* text substituted for unknown outputs (plan), or NULL */
	vars_artifact_fn artifact; /* NULL: artifact references are an error */
	void *artifact_payload;
};

/* Expand s. On success *out is a new JSON value (caller decrefs) and 0 is returned; on error -1
 * with a heap message in *err ("unknown variable 'x' (defined: a, b)"). */
int vars_expand_string(const char *s, const struct vars_ctx *ctx, json_t **out, char **err);

/* Called for each error found by vars_expand_tree: field is the dotted path of the string. */
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
