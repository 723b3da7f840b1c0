/* Git operations through libgit2 (see git.h). */
#define _GNU_SOURCE
#include "git.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "release/policy.h"
#include "util/util.h"
#include "banned.h"

struct repo {
	git_repository *git;
};

static char *git_err(const char *what)
{
	const git_error *e = git_error_last();
	return xasprintf("%s: %s", what, e && e->message ? e->message : "unknown git error");
}

int repo_open(struct repo **out, const char *dir, char **err)
{
	git_libgit2_init();
	struct repo *r = xcalloc(1, sizeof(*r));
	if (git_repository_open_ext(&r->git, dir, 0, NULL) < 0) {
		char *what = xasprintf("'%s' is not inside a git repository", dir);
		*err = git_err(what);
		free(what);
		free(r);
		git_libgit2_shutdown();
		return -1;
	}
	*out = r;
	return 0;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	git_repository_free(r->git);
	free(r);
	git_libgit2_shutdown();
}

int repo_branch(struct repo *r, char **out, char **err)
{
	const char *env = getenv("CRATIS_BRANCH");
	if (env && *env) {
		*out = xstrdup(env);
		return 0;
	}
	git_reference *head = NULL;
	int rc = git_repository_head(&head, r->git);
	if (rc == 0 && git_reference_is_branch(head)) {
		*out = xstrdup(git_reference_shorthand(head));
		git_reference_free(head);
		return 0;
	}
	git_reference_free(head);
	if (rc == GIT_EUNBORNBRANCH) {
		/* no commit yet: HEAD names the branch to be */
		git_reference *sym = NULL;
		if (git_reference_lookup(&sym, r->git, "HEAD") == 0 && git_reference_symbolic_target(sym)) {
			const char *t = git_reference_symbolic_target(sym);
			*out = xstrdup(starts_with(t, "refs/heads/") ? t + 11 : t);
			git_reference_free(sym);
			return 0;
		}
		git_reference_free(sym);
	}
	static const char *const ci[] = { "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CIRCLE_BRANCH", "CI_COMMIT_REF_NAME" };
	for (size_t i = 0; i < sizeof(ci) / sizeof(ci[0]); i++) {
		const char *v = getenv(ci[i]);
		if (v && *v) {
			*out = xstrdup(v);
			return 0;
		}
	}
	*err = xstrdup("HEAD is detached and no branch is named: set CRATIS_BRANCH (or run in CI, which sets GITHUB_REF_NAME, CIRCLE_BRANCH, ...)");
	return -1;
}

int repo_latest_release(struct repo *r, const char *format, bool *found, struct semver *out,
                        char **tag, char **err)
{
	git_strarray names = { 0 };
	*found = false;
	if (git_tag_list(&names, r->git) < 0) {
		*err = git_err("cannot list tags");
		return -1;
	}
	for (size_t i = 0; i < names.count; i++) {
		char *text = policy_tag_version(format, names.strings[i]);
		struct semver v;
		char *e = NULL;
		if (text && semver_parse(&v, text, &e) == 0) {
			if (!v.prerelease && (!*found || semver_compare(&v, out) > 0)) {
				if (*found) {
					semver_release(out);
					free(*tag);
				}
				*out = v;
				*tag = xstrdup(names.strings[i]);
				*found = true;
			} else {
				semver_release(&v);
			}
		}
		free(e);
		free(text);
	}
	git_strarray_dispose(&names);
	return 0;
}

static int head_commit(struct repo *r, git_object **out, char **err)
{
	if (git_revparse_single(out, r->git, "HEAD^{commit}") < 0) {
		*err = git_err("HEAD has no commit");
		return -1;
	}
	return 0;
}

int repo_tag_state(struct repo *r, const char *name, enum tag_state *state, char **commit, char **err)
{
	*state = TAG_ABSENT;
	*commit = NULL;
	char *spec = xasprintf("refs/tags/%s^{commit}", name);
	git_object *obj = NULL, *head = NULL;
	int rc = git_revparse_single(&obj, r->git, spec);
	free(spec);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0) {
		*err = git_err("cannot read tag");
		return -1;
	}
	if (head_commit(r, &head, err)) {
		git_object_free(obj);
		return -1;
	}
	char id[GIT_OID_HEXSZ + 1];
	git_oid_tostr(id, 8, git_object_id(obj));
	*commit = xstrdup(id);
	*state = git_oid_equal(git_object_id(obj), git_object_id(head)) ? TAG_ON_HEAD : TAG_ELSEWHERE;
	git_object_free(obj);
	git_object_free(head);
	return 0;
}

int repo_tag(struct repo *r, const char *name, const char *message, char **err)
{
	git_object *head = NULL;
	git_signature *sig = NULL;
	git_oid oid;
	if (head_commit(r, &head, err))
		return -1;
	if (git_signature_default(&sig, r->git) < 0 && git_signature_now(&sig, "cratis", "cratis@localhost") < 0) {
		*err = git_err("cannot make a tag signature");
		git_object_free(head);
		return -1;
	}
	int rc = 0;
	if (git_tag_create(&oid, r->git, name, head, sig, message, 0) < 0) {
		char *what = xasprintf("cannot create tag '%s'", name);
		*err = git_err(what);
		free(what);
		rc = -1;
	}
	git_signature_free(sig);
	git_object_free(head);
	return rc;
}
