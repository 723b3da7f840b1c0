/* Manifest locations: where -f and a Project's spec.includes / spec.systems find manifests. A
 * location is a local path or a git repository in the form Terraform module sources use
 * (https://developer.hashicorp.com/terraform/language/modules/sources#generic-git-repository):
 * `git::https://example.com/infra.git//systems?ref=v1.2.0`, `https://...`, `ssh://...`,
 * `file://...`, `git@host:path`, each with an optional `//subdir` and `?ref=`. Git locations are
 * fetched with libgit2 into a cache directory and pinned to the commit their ref resolves to. */
#ifndef CRATIS_LOCATION_H
#define CRATIS_LOCATION_H

#include <stdbool.h>

#include "release/git.h"

struct location {
	char *text;       /* the location as written (heap) */
	char *url;        /* what libgit2 clones: the URL without git::, //subdir and ?ref= (heap) */
	char *subdir;     /* the directory inside the repository, "" for its root (heap) */
	char *ref;        /* ?ref=, or NULL for the default branch (heap) */
};

/* True when text names a git location (git::, https://, http://, ssh://, git://, file://, or
 * user@host:path), false for a local path. */
bool location_is_git(const char *text);

/* Parse text (a git location, see location_is_git) into *out (release with location_release).
 * Returns CRATIS_OK; CRATIS_EINVAL, with the last error naming the location and what was
 * expected, for an empty URL, a query parameter other than ref (or an empty ref), or a subdir
 * that is absolute or holds a ".." component. *out is untouched on error. */
int location_parse(struct location *out, const char *text);
/* Free l's strings and zero it (the struct itself is the caller's). */
void location_release(struct location *l);

/* The cache directory name of l: its URL and ref made file-name safe, cut to 80 bytes, and a
 * 64-bit FNV-1a hash of both (16 hex digits) so that distinct locations never share a clone.
 * Heap, caller frees. */
char *location_cache_key(const struct location *l);

/* Fetch l into cache_dir/KEY (location_cache_key; cache_dir is created, mode 0700, when
 * missing), holding an exclusive lock (flock of cache_dir/KEY.lock) so that two runs do not fetch
 * one clone at once: cloned the first time, fetched again only when its ref is a branch (or is
 * not yet in the clone), and checked out at the commit the ref resolves to (repo_fetch_ref).
 * *dir gets the directory to load (the clone's subdir; heap, caller frees) and *pin the commit
 * (free pin->ref). Returns CRATIS_OK; CRATIS_ENOTFOUND when libgit2 is missing, the ref names
 * nothing or the subdir does not exist at that commit; CRATIS_EIO when the cache cannot be
 * created or locked, or the clone, fetch or checkout fails. The last error names the location. */
int location_fetch(const struct location *l, const char *cache_dir, char **dir, struct git_pin *pin);

#endif
