/* Source rewriting: provider-agnostic SDK calls (infrar.storage.upload, ...) in Python code
 * rewritten into provider-native code (boto3, google.cloud.storage, azure.storage.blob) by the
 * rules of the capability plugins (plugins/<domain>/transformations/rules.yaml, format in
 * docs/transform.md). Parsing is tree-sitter's with the tree-sitter-python grammar; only the
 * spans of rewritten calls and imports change, every other byte is kept. */
#ifndef CRATIS_TRANSFORM_H
#define CRATIS_TRANSFORM_H
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/util.h"

/* The providers a rule may name, NULL-terminated: "aws", "gcp", "azure". */
extern const char *const transform_providers[];

/* True when name is one of transform_providers. */
bool transform_provider_known(const char *name);

/* The rules of every loaded plugin: operations (full dotted name such as
 * "infrar.storage.upload"), their SDK signature and, per provider, what a call becomes.
 * Opaque; built by transform_rules_load_*, freed by transform_rules_free. */
struct transform_rules;

/* A new empty rule set. Never NULL (out-of-memory aborts). Free with transform_rules_free. */
struct transform_rules *transform_rules_new(void);

/* Free r and everything it holds; NULL is allowed. */
void transform_rules_free(struct transform_rules *r);

/* Add the rules of one rules.yaml held in text[0..len) (name: what diagnostics call it; the
 * text need not be NUL-terminated and is not kept). Every problem is an error in d at
 * name:line:col with the field path (e.g. "transformations.infrar.storage.upload.aws.code_template")
 * and what was expected; templates are checked to be one Python expression once filled.
 * Returns 0, or CRATIS_EINVAL when d got an error (the rules of this text are then not added;
 * r keeps what it had). An operation defined twice (in this or an earlier text) is an error. */
int transform_rules_load_buffer(struct transform_rules *r, const char *name, const char *text,
                                size_t len, struct diags *d);

/* transform_rules_load_buffer on the file at path (read up to 1 MiB). Returns 0, CRATIS_EIO
 * (cannot read: error in d naming the file) or CRATIS_EINVAL. */
int transform_rules_load_file(struct transform_rules *r, const char *path, struct diags *d);

/* Load rules from a colon-separated list of paths: a path that is a file is loaded as a
 * rules.yaml; a directory is searched for DIR/<plugin>/transformations/rules.yaml (each plugin
 * directory in name order). An operation already loaded from an earlier path is skipped (the
 * first path wins, like PATH), not an error. A path that does not exist is skipped. Returns 0
 * or the first error's status (diagnostics in d). *loaded (may be NULL) gets the number of
 * rules files read. */
int transform_rules_load_path(struct transform_rules *r, const char *paths, size_t *loaded,
                              struct diags *d);

/* The built-in rules path (colon-separated): the installed plugins' directory
 * (PREFIX/share/cratis/plugins), then the source tree's plugins/ (for a build run in place).
 * Static storage. */
const char *transform_default_rules_path(void);

/* Number of operations in r. */
size_t transform_rules_count(const struct transform_rules *r);

/* The result of transforming one file. */
struct transform_output {
	struct buf text;               /* the rewritten source (equal to the input when unchanged) */
	bool changed;                  /* text differs from the input */
	size_t calls;                  /* SDK calls rewritten */
	struct strv requirements;      /* requirement lines ("boto3>=1.26"), each once, rule order */
};

/* Initialise / free what out holds (out itself is the caller's). */
void transform_output_init(struct transform_output *out);
void transform_output_release(struct transform_output *out);

/* Rewrite the SDK calls of the Python source src[0..len) (file: name for diagnostics) for
 * provider ("aws", "gcp", "azure") by rules. Imports of infrar modules are removed, calls
 * replaced by their provider's code_template with the call's arguments (positional, keyword,
 * defaults) in its holes, the provider's imports merged with the module's own and its setup
 * code inserted once after the imports; everything else is kept byte for byte. A file with no
 * infrar import comes back unchanged, so transforming an output again changes nothing.
 * out must be initialised; its text is replaced, requirements appended.
 * Returns 0 (warnings may be in d: a provider-specific import such as infrar.aws.s3, kept), or
 * CRATIS_EINVAL with errors in d at file:line:col: a syntax error, an unknown infrar module or
 * operation (named), an operation without a rule for provider, a call whose arguments do not
 * fit the operation's parameters (missing, unknown, repeated, star-args), or an SDK
 * operation referred to without being called. On error out->text is left empty. */
int transform_source(struct transform_output *out, const struct transform_rules *rules,
                     const char *provider, const char *file, const char *src, size_t len,
                     struct diags *d);

#endif
