/* The few git operations versioning needs, through libgit2: current branch, released versions
 * from tags, and annotated tags on HEAD. */
#ifndef CRATIS_GIT_H
#define CRATIS_GIT_H

#include <stdbool.h>

#include "release/semver.h"

struct repo;

/* Open the repository containing dir. Returns 0 with *out (close with repo_close), or -1 with
 * *err (heap). */
int repo_open(struct repo **out, const char *dir, char **err);
void repo_close(struct repo *r);

/* The branch being built: $CRATIS_BRANCH, else HEAD's branch, else (detached HEAD in CI)
 * $GITHUB_HEAD_REF, $GITHUB_REF_NAME, $CIRCLE_BRANCH or $CI_COMMIT_REF_NAME. Returns 0 with *out
 * (heap), or -1 with *err. */
int repo_branch(struct repo *r, char **out, char **err);

/* Highest stable (no pre-release) version among tags named by format ("v${version}"). *found is
 * false when there is none; otherwise *out (release with semver_release) and *tag (heap) are set.
 * Returns 0, or -1 with *err. */
int repo_latest_release(struct repo *r, const char *format, bool *found, struct semver *out,
                        char **tag, char **err);

enum tag_state { TAG_ABSENT, TAG_ON_HEAD, TAG_ELSEWHERE };
/* Where tag name points. *commit (heap, may be NULL) is the short id of its commit. */
int repo_tag_state(struct repo *r, const char *name, enum tag_state *state, char **commit, char **err);
/* Create annotated tag name with message on HEAD (signature from git config user.name and
 * user.email, else "cratis <cratis@localhost>"). Never moves an existing tag. Returns 0 or -1. */
int repo_tag(struct repo *r, const char *name, const char *message, char **err);

#endif
