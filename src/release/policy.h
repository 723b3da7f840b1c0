/* Versioning policy: per branch pattern, the allowed version form (stable | snapshot), the tag
 * format and the artifact behaviour (immutable | overridable). Defaults follow git flow and can
 * be switched to trunk-based (docs/versioning.md). */
#ifndef CRATIS_POLICY_H
#define CRATIS_POLICY_H

#include <jansson.h>
#include <stdbool.h>

#include "release/semver.h"
#include "util/diag.h"

struct manifest_doc;

enum version_form { FORM_STABLE, FORM_SNAPSHOT };
enum artifact_mode { ARTIFACT_IMMUTABLE, ARTIFACT_OVERRIDABLE };

struct branch_rule {
	char *pattern;            /* fnmatch(3) pattern: "main", "feature/" followed by "*" */
	enum version_form form;
	char *tag;                /* tag format, "v${version}" */
	enum artifact_mode artifacts;
};

struct policy {
	char *model;              /* "gitflow" or "trunk" */
	char *source;             /* version file, or NULL for the default search */
	struct branch_rule *rules;
	size_t n;
};

/* Build the policy from Project.spec.versioning (a mapping, or NULL for the defaults). Fields:
 * model (gitflow | trunk), source, branches: [{pattern, form, tag, artifacts}] (these come before
 * the model's defaults). doc is the Project document versioning comes from (borrowed; NULL when
 * there is none). Returns CRATIS_OK with *p filled (release with policy_release), or
 * CRATIS_EINVAL with *p left empty and one error diagnostic appended to d for the first invalid
 * field: status CRATIS_EINVAL, its field path ("spec.versioning.branches[0].form"), its message
 * ("expected stable or snapshot") and, when doc is given, its file:line:col in doc. */
int policy_build(struct policy *p, const json_t *versioning, const struct manifest_doc *doc, struct diags *d);
void policy_release(struct policy *p);
/* The first rule whose pattern matches branch, or NULL. */
const struct branch_rule *policy_match(const struct policy *p, const char *branch);

struct verdict {
	bool ok;
	char *rule;               /* the rule applied ("main: stable"), or NULL when none matched */
	char *message;            /* why it fails, or what holds */
};

/* Check version v on branch against p and the highest released version latest (NULL if none):
 * a SNAPSHOT on a stable branch, a stable (or other pre-release) version on a snapshot branch,
 * and a version lower than latest are violations. Fills *out (release with verdict_release). */
void policy_check(const struct policy *p, const char *branch, const struct semver *v,
                  const struct semver *latest, struct verdict *out);
void verdict_release(struct verdict *v);

/* Tag name for version under format ("v${version}" -> "v1.2.3"); caller frees. */
char *policy_tag_name(const char *format, const char *version);
/* Version text inside tag name under format, or NULL when the name does not fit; caller frees. */
char *policy_tag_version(const char *format, const char *tag);

#endif
