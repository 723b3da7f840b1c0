/* Manifest files: load multi-document YAML (libfyaml) into JSON values (jansson), keeping each
 * document so that any field path can be located as file:line:col for error messages. */
#ifndef CRATIS_MANIFEST_H
#define CRATIS_MANIFEST_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "util/diag.h"
#include "util/util.h"

struct fy_document;
struct fy_parser;

struct manifest_set;

/* One YAML document of a manifest file. */
struct manifest_doc {
	const char *file;          /* path as given or found (owned by the set) */
	int index;                 /* 0-based document index within the file (empty ones count) */
	json_t *root;              /* the document as JSON (owned) */
	struct manifest_set *set;  /* the set it belongs to */
};

struct manifest_set {
	struct manifest_doc **docs;
	size_t n, alloc;
	struct strv files;         /* every file loaded, in order */
	struct diags errors;       /* YAML syntax errors collected while loading, located */
	/* Locations are needed only for error messages: the YAML trees are not kept after loading;
	 * manifest_locate parses the file of the document again, once, and caches it here. */
	pthread_mutex_t loc_lock;
	const char *loc_file;
	struct fy_parser *loc_parser;
	struct fy_document **loc_docs;
	size_t loc_n, loc_alloc;
};

/* A source location, 1-based. */
struct loc {
	const char *file;
	int line, col;
};

void manifest_set_init(struct manifest_set *s);
void manifest_set_release(struct manifest_set *s);

/* Load path: a file, or a directory searched recursively for *.yaml and *.yml (sorted, hidden
 * directories and .cratis skipped). Every YAML document becomes a manifest_doc; empty documents
 * are skipped. YAML syntax errors are appended to s->errors with their file:line:col (as
 * reported by libfyaml). Returns CRATIS_OK, CRATIS_EINVAL when any error was collected, or
 * CRATIS_EIO when path cannot be read (detail in the last error). */
int manifest_load_path(struct manifest_set *s, const char *path);

/* Locate a field of doc. field is a dotted path with [i] for sequence items ("spec.apply[0]",
 * "" for the document). When the field does not exist, the nearest existing parent is located.
 * Re-reads doc's file on first use (an error path only); thread-safe. Never fails: falls back to
 * line 1, column 1 of the file. */
void manifest_locate(const struct manifest_doc *doc, const char *field, struct loc *out);

/* Append an error (status CRATIS_EINVAL) located at doc/field (manifest_locate) to errors and
 * return it (valid until the next append to errors). field may be "" or NULL (the document);
 * doc may be NULL (no location). */
struct diag *manifest_error(struct diags *errors, const struct manifest_doc *doc, const char *field,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Name of a JSON value's YAML type for messages: "a string", "a mapping", "a sequence" ... */
const char *json_type_phrase(const json_t *v);

#endif
