/* The few git operations versioning needs, through libgit2: current branch, released versions
 * from tags, and annotated tags on HEAD. */
#ifndef CRATIS_GIT_H
#define CRATIS_GIT_H

#include <stdbool.h>

#include "release/semver.h"

struct repo;

/* Every function below returns CRATIS_OK (0) or a negative enum cratis_status with the detail in
 * the calling thread's last error (util/error.h, cratis_error_last()); messages name the
 * operation and end with libgit2's own explanation ("cannot list tags: <libgit2 message>"). */

/* Open the repository containing dir. Returns CRATIS_OK with *out (close with repo_close);
 * CRATIS_ENOTFOUND when libgit2 cannot be loaded (the message names the package to install)
 * or dir is not inside a git repository ("'DIR' is not inside a git repository: ..."),
 * CRATIS_ERROR when loading failed otherwise. *out is untouched on error. */
int repo_open(struct repo **out, const char *dir);
void repo_close(struct repo *r);

/* The branch being built: $CRATIS_BRANCH, else HEAD's branch, else (detached HEAD in CI)
 * $GITHUB_HEAD_REF, $GITHUB_REF_NAME, $CIRCLE_BRANCH or $CI_COMMIT_REF_NAME. Returns CRATIS_OK
 * with *out (heap, caller frees), or CRATIS_ENOTFOUND when HEAD is detached and no variable
 * names a branch. */
int repo_branch(struct repo *r, char **out);

/* Highest stable (no pre-release) version among tags named by format ("v${version}"); tags
 * that fit the format without holding a semantic version are skipped. *found is false when
 * there is none; otherwise *out (release with semver_release) and *tag (heap) are set.
 * Returns CRATIS_OK, or CRATIS_EIO when the tags cannot be listed. */
int repo_latest_release(struct repo *r, const char *format, bool *found, struct semver *out,
                        char **tag);

enum tag_state { TAG_ABSENT, TAG_ON_HEAD, TAG_ELSEWHERE };
/* Where tag name points: *state, and *commit (heap, NULL when absent) the short id of its
 * commit. Returns CRATIS_OK (also for an absent tag); CRATIS_EIO when the tag cannot be read,
 * CRATIS_ENOTFOUND when HEAD has no commit. */
int repo_tag_state(struct repo *r, const char *name, enum tag_state *state, char **commit);
/* Create annotated tag name with message on HEAD (signature from git config user.name and
 * user.email, else "cratis <cratis@localhost>"). Never moves an existing tag. Returns CRATIS_OK;
 * CRATIS_ENOTFOUND when HEAD has no commit, CRATIS_EEXISTS when the tag exists, CRATIS_EIO when
 * libgit2 cannot write it, CRATIS_ERROR when no signature can be made. */
int repo_tag(struct repo *r, const char *name, const char *message);

/* What a ref of a location resolved to (repo_fetch_ref). */
enum git_ref_kind { GIT_REF_BRANCH, GIT_REF_TAG, GIT_REF_COMMIT };
struct git_pin {
	char commit[41];           /* the full commit id checked out, hex */
	char *ref;                 /* the ref asked for, or the default branch's name (heap) */
	enum git_ref_kind kind;
	bool fetched;              /* the remote was contacted (clone or fetch) */
};

/* Make dir a clone of url checked out (detached, forced: local edits are discarded) at ref: a
 * branch of the remote, a tag or a commit id (7-40 hex digits); ref NULL or "" means the remote's
 * default branch. dir is cloned when it does not exist; otherwise the remote is fetched again
 * only when ref is a branch or is not found in the clone (a tag or commit already there is
 * pinned: no network). url is anything libgit2 clones: https://, ssh://, git://, file://, a
 * path. *out is filled on success (free out->ref). Returns CRATIS_OK; CRATIS_ENOTFOUND when
 * libgit2 cannot be loaded or ref names nothing in url ("'URL' has no branch, tag or commit
 * 'REF'"), CRATIS_EIO when the clone, fetch or checkout fails (libgit2's message appended). */
int repo_fetch_ref(const char *url, const char *dir, const char *ref, struct git_pin *out);

#endif
