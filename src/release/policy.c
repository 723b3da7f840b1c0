/* Versioning policy (see policy.h). */
#define _GNU_SOURCE
#include "policy.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "manifest/manifest.h"
#include "util/util.h"
#include "banned.h"

#define DEFAULT_TAG "v${version}"

static void add_rule(struct policy *p, size_t *alloc, const char *pattern, enum version_form form,
                     const char *tag, enum artifact_mode artifacts)
{
	ALLOC_GROW(p->rules, p->n + 1, *alloc);
	struct branch_rule *r = &p->rules[p->n++];
	r->pattern = xstrdup(pattern);
	r->form = form;
	r->tag = xstrdup(tag ? tag : DEFAULT_TAG);
	r->artifacts = artifacts;
}

/* Append the error msg about field (located in doc when there is one) to d; CRATIS_EINVAL. */
static int invalid(struct diags *d, const struct manifest_doc *doc, const char *field, const char *msg)
{
	manifest_error(d, doc, field, "%s", msg);
	return CRATIS_EINVAL;
}

/* The same about field "spec.versioning.branches[i].name". */
static int invalid_branch(struct diags *d, const struct manifest_doc *doc, size_t i, const char *name,
                          const char *msg)
{
	char *field = xasprintf("spec.versioning.branches[%zu].%s", i, name);
	invalid(d, doc, field, msg);
	free(field);
	return CRATIS_EINVAL;
}

int policy_build(struct policy *p, const json_t *versioning, const struct manifest_doc *doc, struct diags *d)
{
	memset(p, 0, sizeof(*p));
	size_t alloc = 0;
	const char *model = "gitflow";
	if (versioning && !json_is_object(versioning))
		return invalid(d, doc, "spec.versioning", "expected a mapping with model, source and branches");
	json_t *m = json_object_get(versioning, "model");
	if (m) {
		model = json_string_value(m);
		if (!model || (strcmp(model, "gitflow") && strcmp(model, "trunk")))
			return invalid(d, doc, "spec.versioning.model", "expected gitflow or trunk");
	}
	p->model = xstrdup(model);
	json_t *src = json_object_get(versioning, "source");
	if (src && !json_is_string(src)) {
		invalid(d, doc, "spec.versioning.source", "expected a file name (pom.xml, package.json, VERSION, ...)");
		goto out_err;
	}
	p->source = src ? xstrdup(json_string_value(src)) : NULL;
	json_t *branches = json_object_get(versioning, "branches");
	if (branches && !json_is_array(branches)) {
		invalid(d, doc, "spec.versioning.branches", "expected a sequence of {pattern, form, tag, artifacts}");
		goto out_err;
	}
	size_t i;
	json_t *b;
	json_array_foreach(branches, i, b) {
		const char *pat = json_string_value(json_object_get(b, "pattern"));
		const char *form = json_string_value(json_object_get(b, "form"));
		const char *tag = json_string_value(json_object_get(b, "tag"));
		const char *art = json_string_value(json_object_get(b, "artifacts"));
		if (!pat) {
			invalid_branch(d, doc, i, "pattern", "expected a branch name pattern such as main or feature/*");
			goto out_err;
		}
		if (!form || (strcmp(form, "stable") && strcmp(form, "snapshot"))) {
			invalid_branch(d, doc, i, "form", "expected stable or snapshot");
			goto out_err;
		}
		if (art && strcmp(art, "immutable") && strcmp(art, "overridable")) {
			invalid_branch(d, doc, i, "artifacts", "expected immutable or overridable");
			goto out_err;
		}
		if (tag && !strstr(tag, "${version}")) {
			invalid_branch(d, doc, i, "tag", "expected a format containing ${version}, e.g. v${version}");
			goto out_err;
		}
		enum version_form f = !strcmp(form, "stable") ? FORM_STABLE : FORM_SNAPSHOT;
		enum artifact_mode a = art ? (!strcmp(art, "immutable") ? ARTIFACT_IMMUTABLE : ARTIFACT_OVERRIDABLE)
		                           : (f == FORM_STABLE ? ARTIFACT_IMMUTABLE : ARTIFACT_OVERRIDABLE);
		add_rule(p, &alloc, pat, f, tag, a);
	}
	/* the model's defaults come after explicit rules */
	add_rule(p, &alloc, "main", FORM_STABLE, NULL, ARTIFACT_IMMUTABLE);
	add_rule(p, &alloc, "master", FORM_STABLE, NULL, ARTIFACT_IMMUTABLE);
	if (!strcmp(model, "gitflow")) {
		static const char *const snap[] = { "develop", "feature/*", "release/*", "hotfix/*", "bugfix/*" };
		for (size_t k = 0; k < sizeof(snap) / sizeof(snap[0]); k++)
			add_rule(p, &alloc, snap[k], FORM_SNAPSHOT, NULL, ARTIFACT_OVERRIDABLE);
	} else {
		add_rule(p, &alloc, "*", FORM_SNAPSHOT, NULL, ARTIFACT_OVERRIDABLE);
	}
	return CRATIS_OK;
out_err:
	policy_release(p);
	return CRATIS_EINVAL;
}

void policy_release(struct policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].pattern);
		free(p->rules[i].tag);
	}
	free(p->rules);
	free(p->model);
	free(p->source);
	memset(p, 0, sizeof(*p));
}

const struct branch_rule *policy_match(const struct policy *p, const char *branch)
{
	for (size_t i = 0; i < p->n; i++)
		if (fnmatch(p->rules[i].pattern, branch, 0) == 0)
			return &p->rules[i];
	return NULL;
}

void policy_check(const struct policy *p, const char *branch, const struct semver *v,
                  const struct semver *latest, struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	char *text = semver_format(v);
	const struct branch_rule *r = policy_match(p, branch);
	if (!r) {
		out->ok = true;
		out->message = xasprintf("no rule of the %s policy matches branch '%s'; %s is not checked", p->model, branch, text);
		free(text);
		return;
	}
	out->rule = xasprintf("%s: %s", r->pattern, r->form == FORM_STABLE ? "stable" : "snapshot");
	if (r->form == FORM_STABLE && v->prerelease) {
		out->message = xasprintf("branch '%s' takes stable versions (rule %s), found %s", branch, out->rule, text);
	} else if (r->form == FORM_SNAPSHOT && !semver_is_snapshot(v)) {
		out->message = xasprintf("branch '%s' takes X.Y.Z-SNAPSHOT versions (rule %s), found %s", branch, out->rule, text);
	} else if (latest && semver_compare(v, latest) < 0) {
		char *l = semver_format(latest);
		out->message = xasprintf("version went backwards: %s is lower than the released %s (rule: versions only move forward)", text, l);
		free(l);
	} else {
		out->ok = true;
		out->message = xasprintf("%s fits branch '%s' (rule %s)", text, branch, out->rule);
	}
	free(text);
}

void verdict_release(struct verdict *v)
{
	free(v->rule);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

char *policy_tag_name(const char *format, const char *version)
{
	const char *at = strstr(format, "${version}");
	if (!at)
		return xstrdup(format);
	return xasprintf("%.*s%s%s", (int)(at - format), format, version, at + 10);
}

char *policy_tag_version(const char *format, const char *tag)
{
	const char *at = strstr(format, "${version}");
	if (!at)
		return NULL;
	size_t pre = (size_t)(at - format), post = strlen(at + 10), n = strlen(tag);
	if (n <= pre + post || strncmp(tag, format, pre) || strcmp(tag + n - post, at + 10))
		return NULL;
	return xstrndup(tag + pre, n - pre - post);
}
