/* Application layer: the versioning view of a project (see app.h, struct app_versioning). */
#include "app.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "banned.h"

void app_versioning_release(struct app_versioning *vi)
{
	free(vi->dir);
	policy_release(&vi->policy);
	version_source_release(&vi->src);
	semver_release(&vi->version);
	repo_close(vi->repo);
	free(vi->branch);
	if (vi->released)
		semver_release(&vi->latest);
	free(vi->latest_tag);
	verdict_release(&vi->verdict);
	memset(vi, 0, sizeof(*vi));
}

int app_versioning_open(struct app_versioning *vi, const char *const *paths, size_t npaths, struct diags *d)
{
	memset(vi, 0, sizeof(*vi));
	const char *first = npaths ? paths[0] : ".";
	if (!(vi->dir = app_project_dir(first))) {
		diags_errorf(d, CRATIS_EIO, "cannot read '%s': %s", first, strerror(errno));
		return CRATIS_EIO;
	}
	/* the policy: Project.spec.versioning of the manifests, when there are any */
	struct manifest_set ms;
	manifest_set_init(&ms);
	const json_t *versioning = NULL;
	const struct manifest_doc *pdoc = NULL;
	int rc = CRATIS_OK;
	for (size_t i = 0; i < npaths; i++)
		manifest_load_path(&ms, paths[i]);
	if (ms.errors.n) {
		rc = diags_status(&ms.errors);
		diags_move(d, &ms.errors);
		goto out_release;
	}
	for (size_t i = 0; i < ms.n && !pdoc; i++) {
		json_t *r = ms.docs[i]->root;
		if (json_is_string(json_object_get(r, "kind")) && !strcmp(json_string_value(json_object_get(r, "kind")), "Project") &&
		    json_is_string(json_object_get(r, "apiVersion")) && !strcmp(json_string_value(json_object_get(r, "apiVersion")), "cratis/v1")) {
			pdoc = ms.docs[i];
			versioning = json_object_get(json_object_get(r, "spec"), "versioning");
		}
	}
	if ((rc = policy_build(&vi->policy, versioning, pdoc, d)))
		goto out_release;
	if (version_read(vi->dir, vi->policy.source, &vi->src, &vi->version) ||
	    repo_open(&vi->repo, vi->dir) || repo_branch(vi->repo, &vi->branch)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	vi->rule = policy_match(&vi->policy, vi->branch);
	const char *format = vi->rule ? vi->rule->tag : "v${version}";
	if (repo_latest_release(vi->repo, format, &vi->released, &vi->latest, &vi->latest_tag)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	policy_check(&vi->policy, vi->branch, &vi->version, vi->released ? &vi->latest : NULL, &vi->verdict);
out_release:
	manifest_set_release(&ms);
	return rc;
}
