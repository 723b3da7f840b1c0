/* Manifest files: load multi-document YAML (libfyaml) into JSON values (jansson), from files or
 * from buffers, resolving plain scalars with the YAML 1.2 core schema, aliases and merge keys,
 * and keeping the position of every node from that one parse so that any field path can be
 * located as file:line:col for error messages (nothing is read again). */
#ifndef CRATIS_MANIFEST_H
#define CRATIS_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/util.h"

struct manifest_set;

/* Where a node starts, 1-based; line 0 when unknown. */
struct manifest_pos {
	uint32_t line, col;
};

/* One YAML document of a manifest file or buffer. Read-only once loaded: nothing may change
 * root (positions are matched to its nodes by their order). */
struct manifest_doc {
	const char *file;          /* path as given or found, or a buffer's display name (owned by the set) */
	int index;                 /* 0-based document index within the file (empty ones count) */
	json_t *root;              /* the document as JSON (owned) */
	struct manifest_set *set;  /* the set it belongs to */
	/* The position of every node of root, in pre-order (a node, then its children: an array's
	 * items in order, an object's members in iteration order, which jansson keeps as inserted).
	 * A scalar is at its own text, a collection under a mapping key at that key, any other
	 * collection at its first item or key. 8 bytes per node. */
	struct manifest_pos *pos;
	size_t npos;
};

struct manifest_set {
	struct manifest_doc **docs;
	size_t n, alloc;
	struct strv files;         /* every file or display name loaded, in order */
	struct diags errors;       /* YAML errors collected while loading, located */
	struct diags notes;        /* DIAG_NOTE: what a directory walk skipped and why (shown with -v) */
	/* Git locations (src/manifest/location.h): where they are fetched (borrowed, set by the
	 * caller after manifest_set_init and kept by manifest_set_release; NULL: .cratis/git under
	 * the working directory), and what was loaded from them, in order: [{location, url, subdir,
	 * ref, kind: branch|tag|commit, commit}] (NULL when none). */
	const char *cache_dir;
	json_t *sources;
	struct strv included;      /* locations and absolute paths already loaded by spec.includes/systems */
};

/* A source location, 1-based. */
struct loc {
	const char *file;
	int line, col;
};

/* Most nodes one document may gain by expanding aliases and merge keys (a "billion laughs"
 * document is refused). */
#define MANIFEST_MAX_ALIAS_NODES 100000

void manifest_set_init(struct manifest_set *s);
/* Free every document and error of s and leave it empty (initialised) again. */
void manifest_set_release(struct manifest_set *s);

/* Load path: a git location (location_is_git: fetched into s->cache_dir, pinned to the commit
 * its ref resolves to and recorded in s->sources; the directory it names is then loaded as
 * below), a file, or a directory searched recursively for *.yaml and *.yml (sorted; symbolic
 * links followed, each real directory and file read once, so a link to an ancestor ends the walk
 * there). Every YAML document becomes a manifest_doc; empty documents are skipped. YAML errors
 * (syntax, an undefined alias, a value its tag refuses, a number JSON cannot hold) are appended
 * to s->errors with their file:line:col. A directory walk (docs/manifests.md, "Directories")
 * skips names starting with '.' (hidden files and directories, .cratis), directories named
 * node_modules, and what the rules of path/.cratisignore ignore (src/manifest/ignore.h; they
 * may re-include node_modules with "!node_modules/"); it also skips, with a note in s->notes,
 * a YAML file none of whose documents is a mapping with both apiVersion and kind (a
 * docker-compose.yml, a CI configuration): a file given as path itself is always loaded.
 * Then every Project loaded names in spec.includes and spec.systems is loaded the same way, once
 * each (a relative path is relative to the file naming it; a failure is an error located at the
 * entry), and so on for what those bring; of what spec.systems names, only the System and
 * Environment documents are kept (the others are dropped with a note in s->notes).
 * Returns CRATIS_OK, CRATIS_EINVAL when any error was collected, or CRATIS_EIO when path (or its
 * .cratisignore) cannot be read, or a git location cannot be parsed or fetched (detail in the
 * last error). */
int manifest_load_path(struct manifest_set *s, const char *path);

/* Load the YAML of data (len bytes, need not be NUL-terminated; borrowed for the call only) as
 * if it were a file called name (copied): documents and errors as manifest_load_path, every
 * location naming name. Returns CRATIS_OK or CRATIS_EINVAL when any error was collected;
 * CRATIS_ENOMEM when the parser cannot be created. */
int manifest_load_buffer(struct manifest_set *s, const char *name, const char *data, size_t len);

/* Locate a field of doc. field is a dotted path with [i] for sequence items ("spec.apply[0]",
 * "" or NULL for the document). When the field does not exist, the nearest existing parent is
 * located. Reads only the positions kept at load time; thread-safe. Never fails: falls back to
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
