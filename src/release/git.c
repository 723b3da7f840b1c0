/* Git operations through libgit2 (see git.h). libgit2 is opened on first use (dlopen by its
 * SONAME, util/dynlib.h): commands that never touch git never load it nor what it links. */
#define _GNU_SOURCE
#include "git.h"

#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "release/policy.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

#if !defined(CRATIS_LIBGIT2_SONAME) || !defined(CRATIS_LIBGIT2_PACKAGE)
#error "meson.build defines CRATIS_LIBGIT2_SONAME and CRATIS_LIBGIT2_PACKAGE"
#endif

/* The libgit2 functions this file calls, without their git_ prefix. */
#define GIT_FUNCTIONS(X) \
	X(libgit2_init) X(libgit2_shutdown) X(error_last) \
	X(repository_open_ext) X(repository_free) X(repository_head) \
	X(reference_is_branch) X(reference_shorthand) X(reference_free) X(reference_lookup) \
	X(reference_symbolic_target) X(tag_list) X(strarray_dispose) X(revparse_single) \
	X(oid_tostr) X(oid_equal) X(object_id) X(object_free) \
	X(signature_default) X(signature_now) X(signature_free) X(tag_create) \
	X(clone) X(repository_open) X(remote_lookup) X(remote_fetch) X(remote_free) \
	X(checkout_tree) X(repository_set_head_detached)

/* Pointers to them, typed from <git2.h>: git->tag_list is git_tag_list. */
struct git_api {
#define GIT_MEMBER(name) __typeof__(git_##name) *name;
	GIT_FUNCTIONS(GIT_MEMBER)
#undef GIT_MEMBER
};

/* Filled once by git_load (under git_once) and only read after: the library and its table. */
static struct {
	struct dynlib lib;
	struct git_api fn;
} git_lib;
static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_load(void)
{
	if (dynlib_open(&git_lib.lib, "libgit2", CRATIS_LIBGIT2_SONAME, CRATIS_LIBGIT2_PACKAGE))
		return;
#define GIT_RESOLVE(name) git_lib.fn.name = (__typeof__(git_lib.fn.name))dynlib_sym(&git_lib.lib, "git_" #name);
	GIT_FUNCTIONS(GIT_RESOLVE)
#undef GIT_RESOLVE
}

/* libgit2's functions, loading it on the first call; NULL with the last error (CRATIS_ENOTFOUND
 * naming the library and the package to install, or CRATIS_ERROR) when it cannot be loaded. */
static const struct git_api *git_api(void)
{
	return dynlib_load_once(&git_once, git_load, &git_lib.lib) ? NULL : &git_lib.fn;
}

struct repo {
	const struct git_api *git;   /* libgit2, loaded */
	git_repository *repo;
};

/* Set the last error to status and "what: <libgit2's last error>"; returns status. */
static int git_err(const struct git_api *git, int status, const char *what)
{
	const git_error *e = git->error_last();
	return error_set(status, "%s: %s", what, e && e->message ? e->message : "unknown git error");
}

int repo_open(struct repo **out, const char *dir)
{
	const struct git_api *git = git_api();
	if (!git)
		return cratis_error_last()->status;
	git->libgit2_init();
	struct repo *r = xcalloc(1, sizeof(*r));
	r->git = git;
	if (git->repository_open_ext(&r->repo, dir, 0, NULL) < 0) {
		char *what = xasprintf("'%s' is not inside a git repository", dir);
		git_err(git, CRATIS_ENOTFOUND, what);
		free(what);
		free(r);
		git->libgit2_shutdown();
		return CRATIS_ENOTFOUND;
	}
	*out = r;
	return CRATIS_OK;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	const struct git_api *git = r->git;
	git->repository_free(r->repo);
	free(r);
	git->libgit2_shutdown();
}

int repo_branch(struct repo *r, char **out)
{
	const char *env = getenv("CRATIS_BRANCH");
	if (env && *env) {
		*out = xstrdup(env);
		return 0;
	}
	git_reference *head = NULL;
	int rc = r->git->repository_head(&head, r->repo);
	if (rc == 0 && r->git->reference_is_branch(head)) {
		*out = xstrdup(r->git->reference_shorthand(head));
		r->git->reference_free(head);
		return 0;
	}
	r->git->reference_free(head);
	if (rc == GIT_EUNBORNBRANCH) {
		/* no commit yet: HEAD names the branch to be */
		git_reference *sym = NULL;
		if (r->git->reference_lookup(&sym, r->repo, "HEAD") == 0 && r->git->reference_symbolic_target(sym)) {
			const char *t = r->git->reference_symbolic_target(sym);
			*out = xstrdup(starts_with(t, "refs/heads/") ? t + 11 : t);
			r->git->reference_free(sym);
			return 0;
		}
		r->git->reference_free(sym);
	}
	static const char *const ci[] = { "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CIRCLE_BRANCH", "CI_COMMIT_REF_NAME" };
	for (size_t i = 0; i < sizeof(ci) / sizeof(ci[0]); i++) {
		const char *v = getenv(ci[i]);
		if (v && *v) {
			*out = xstrdup(v);
			return 0;
		}
	}
	return error_set(CRATIS_ENOTFOUND, "HEAD is detached and no branch is named: set CRATIS_BRANCH (or run in CI, which sets GITHUB_REF_NAME, CIRCLE_BRANCH, ...)");
}

int repo_latest_release(struct repo *r, const char *format, bool *found, struct semver *out,
                        char **tag)
{
	git_strarray names = { 0 };
	*found = false;
	if (r->git->tag_list(&names, r->repo) < 0)
		return git_err(r->git, CRATIS_EIO, "cannot list tags");
	for (size_t i = 0; i < names.count; i++) {
		char *text = policy_tag_version(format, names.strings[i]);
		struct semver v;
		/* a tag that fits the format but holds no semantic version is not a release */
		if (text && semver_parse(&v, text) == 0) {
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
		free(text);
	}
	r->git->strarray_dispose(&names);
	return 0;
}

static int head_commit(struct repo *r, git_object **out)
{
	if (r->git->revparse_single(out, r->repo, "HEAD^{commit}") < 0)
		return git_err(r->git, CRATIS_ENOTFOUND, "HEAD has no commit");
	return CRATIS_OK;
}

int repo_tag_state(struct repo *r, const char *name, enum tag_state *state, char **commit)
{
	*state = TAG_ABSENT;
	*commit = NULL;
	char *spec = xasprintf("refs/tags/%s^{commit}", name);
	git_object *obj = NULL, *head = NULL;
	int rc = r->git->revparse_single(&obj, r->repo, spec);
	free(spec);
	if (rc == GIT_ENOTFOUND)
		return CRATIS_OK;
	if (rc < 0)
		return git_err(r->git, CRATIS_EIO, "cannot read tag");
	if ((rc = head_commit(r, &head))) {
		r->git->object_free(obj);
		return rc;
	}
	char id[GIT_OID_HEXSZ + 1];
	r->git->oid_tostr(id, 8, r->git->object_id(obj));
	*commit = xstrdup(id);
	*state = r->git->oid_equal(r->git->object_id(obj), r->git->object_id(head)) ? TAG_ON_HEAD : TAG_ELSEWHERE;
	r->git->object_free(obj);
	r->git->object_free(head);
	return CRATIS_OK;
}

int repo_tag(struct repo *r, const char *name, const char *message)
{
	git_object *head = NULL;
	git_signature *sig = NULL;
	git_oid oid;
	int rc = head_commit(r, &head);
	if (rc)
		return rc;
	if (r->git->signature_default(&sig, r->repo) < 0 && r->git->signature_now(&sig, "cratis", "cratis@localhost") < 0) {
		rc = git_err(r->git, CRATIS_ERROR, "cannot make a tag signature");
		r->git->object_free(head);
		return rc;
	}
	int created = r->git->tag_create(&oid, r->repo, name, head, sig, message, 0);
	if (created < 0) {
		char *what = xasprintf("cannot create tag '%s'", name);
		rc = git_err(r->git, created == GIT_EEXISTS ? CRATIS_EEXISTS : CRATIS_EIO, what);
		free(what);
	}
	r->git->signature_free(sig);
	r->git->object_free(head);
	return rc;
}

/* ---- locations: clone, fetch and check out a ref (src/manifest/location.h) ---- */

/* Resolve ref in r: a remote branch (origin/REF), a tag, or a commit id (7 to 40 hex digits).
 * *obj gets the commit (object_free it) and *kind what ref is. GIT_ENOTFOUND when none. */
static int resolve_ref(struct repo *r, const char *ref, git_object **obj, enum git_ref_kind *kind)
{
	char *spec = xasprintf("refs/remotes/origin/%s^{commit}", ref);
	int rc = r->git->revparse_single(obj, r->repo, spec);
	free(spec);
	if (rc == 0) {
		*kind = GIT_REF_BRANCH;
		return 0;
	}
	spec = xasprintf("refs/tags/%s^{commit}", ref);
	rc = r->git->revparse_single(obj, r->repo, spec);
	free(spec);
	if (rc == 0) {
		*kind = GIT_REF_TAG;
		return 0;
	}
	size_t n = strlen(ref);
	if (n >= 7 && n <= 40 && strspn(ref, "0123456789abcdefABCDEF") == n) {
		spec = xasprintf("%s^{commit}", ref);
		rc = r->git->revparse_single(obj, r->repo, spec);
		free(spec);
		if (rc == 0) {
			*kind = GIT_REF_COMMIT;
			return 0;
		}
	}
	return GIT_ENOTFOUND;
}

int repo_fetch_ref(const char *url, const char *dir, const char *ref, struct git_pin *out)
{
	memset(out, 0, sizeof(*out));
	const struct git_api *git = git_api();
	if (!git)
		return cratis_error_last()->status;
	git->libgit2_init();
	struct repo r = { git, NULL };
	git_object *obj = NULL;
	git_remote *remote = NULL;
	char *want = NULL;
	int rc = CRATIS_OK;
	bool fetched = false;
	if (!is_dir(dir)) {
		if (git->clone(&r.repo, url, dir, NULL) < 0) {
			char *what = xasprintf("cannot clone '%s'", url);
			rc = git_err(git, CRATIS_EIO, what);
			free(what);
			goto out;
		}
		fetched = true;
	} else if (git->repository_open(&r.repo, dir) < 0) {
		char *what = xasprintf("cannot open the cached clone '%s' of '%s'", dir, url);
		rc = git_err(git, CRATIS_EIO, what);
		free(what);
		goto out;
	}
	if (ref && *ref) {
		want = xstrdup(ref);
	} else {
		/* no ref: the remote's default branch, which the clone checked out first */
		git_reference *head = NULL;
		git_reference *origin_head = NULL;
		if (git->reference_lookup(&origin_head, r.repo, "refs/remotes/origin/HEAD") == 0 &&
		    git->reference_symbolic_target(origin_head) &&
		    starts_with(git->reference_symbolic_target(origin_head), "refs/remotes/origin/"))
			want = xstrdup(git->reference_symbolic_target(origin_head) + 20);
		git->reference_free(origin_head);
		if (!want && git->repository_head(&head, r.repo) == 0 && git->reference_is_branch(head))
			want = xstrdup(git->reference_shorthand(head));
		git->reference_free(head);
		if (!want) {
			rc = error_set(CRATIS_ENOTFOUND, "'%s' has no default branch: name one with ?ref=", url);
			goto out;
		}
	}
	int found = resolve_ref(&r, want, &obj, &out->kind);
	/* a branch moves: fetch it again; a tag or a commit already here is pinned */
	if (!fetched && (found != 0 || out->kind == GIT_REF_BRANCH)) {
		if (git->remote_lookup(&remote, r.repo, "origin") < 0 || git->remote_fetch(remote, NULL, NULL, NULL) < 0) {
			char *what = xasprintf("cannot fetch '%s'", url);
			rc = git_err(git, CRATIS_EIO, what);
			free(what);
			goto out;
		}
		fetched = true;
		git->object_free(obj);
		obj = NULL;
		found = resolve_ref(&r, want, &obj, &out->kind);
	}
	if (found != 0) {
		rc = error_set(CRATIS_ENOTFOUND, "'%s' has no branch, tag or commit '%s'", url, want);
		goto out;
	}
	git_checkout_options co;
	memset(&co, 0, sizeof(co));
	co.version = GIT_CHECKOUT_OPTIONS_VERSION;
	co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED;
	if (git->checkout_tree(r.repo, obj, &co) < 0 || git->repository_set_head_detached(r.repo, git->object_id(obj)) < 0) {
		char *what = xasprintf("cannot check out '%s' of '%s'", want, url);
		rc = git_err(git, CRATIS_EIO, what);
		free(what);
		goto out;
	}
	git->oid_tostr(out->commit, sizeof(out->commit), git->object_id(obj));
	out->ref = want;
	want = NULL;
	out->fetched = fetched;
out:
	free(want);
	git->object_free(obj);
	if (remote)
		git->remote_free(remote);
	if (r.repo)
		git->repository_free(r.repo);
	git->libgit2_shutdown();
	return rc;
}
