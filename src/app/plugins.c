/* Installing and removing plugins (`cratis plugin install/remove`) and Project spec.plugins,
 * installed on first use (src/plugin/install.h; docs/plugins.md, "Installing plugins"). */
#define _GNU_SOURCE
#include "app.h"
#include "app_internal.h"

#include <stdlib.h>
#include <string.h>

#include "plugin/install.h"
#include "release/semver.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

/* The directory plugins are installed into: the project's .cratis/plugins or, global, the
 * user's. NULL with an error in d when there is no user directory. */
static char *install_dir(const struct app *a, bool global, struct diags *d)
{
	if (!global)
		return xasprintf("%s/.cratis/plugins", a->project_dir);
	char *dir = plugin_user_dir();
	if (!dir)
		diags_errorf(d, CRATIS_ENOTFOUND, "--global: neither XDG_DATA_HOME nor HOME is set");
	return dir;
}

static char *lock_path(const struct app *a)
{
	return xasprintf("%s/.cratis/plugins.lock", a->project_dir);
}

int app_plugin_install(struct app *a, const char *source, const char *sha256, bool global, json_t **out,
                       struct diags *d)
{
	*out = NULL;
	if (sha256 && (strlen(sha256) != 64 || strspn(sha256, "0123456789abcdefABCDEF") != 64))
		return diags_errorf(d, CRATIS_EINVAL, "--sha256: expected 64 hex digits, got '%s'", sha256)->status;
	char *dest = install_dir(a, global, d);
	if (!dest)
		return CRATIS_ENOTFOUND;
	/* a URL is recorded as it is; a path absolute, so that the lock means the same anywhere */
	char *src = starts_with(source, "http://") || starts_with(source, "https://") ? xstrdup(source) : abs_path(source);
	if (!src)
		src = xstrdup(source);
	struct plugin_install_opts o = { .source = src, .sha256 = sha256, .dest = dest, .project_dir = a->project_dir };
	struct plugin_installed p;
	int rc = plugin_install(&o, &p, d);
	if (!rc) {
		char *lock = global ? NULL : lock_path(a);
		if (lock && plugin_lock_set(lock, p.name, p.version, src, p.sha256))
			rc = diags_add_last_error(d);
		*out = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?}", "name", p.name, "version", p.version, "sha256", p.sha256,
		                 "path", p.path, "replaced", p.replaced, "lock", lock);
		free(lock);
		plugin_installed_release(&p);
	}
	free(src);
	free(dest);
	return rc;
}

int app_plugin_remove(struct app *a, const char *name, bool global, struct diags *d)
{
	char *dest = install_dir(a, global, d);
	if (!dest)
		return CRATIS_ENOTFOUND;
	int rc = plugin_remove(dest, name);
	if (rc)
		diags_add_last_error(d);
	free(dest);
	if (!rc && !global) {
		char *lock = lock_path(a);
		if (plugin_lock_remove(lock, name))
			rc = diags_add_last_error(d);
		free(lock);
	}
	return rc;
}

/* The loaded plugin called name, or NULL. */
static const struct plugin *loaded(const struct app *a, const char *name)
{
	for (size_t i = 0; i < a->reg.nplugins; i++)
		if (a->reg.plugins[i]->name && !strcmp(a->reg.plugins[i]->name, name))
			return a->reg.plugins[i];
	return NULL;
}

/* Whether version satisfies range ("" or NULL: any). */
static bool in_range(const char *version, const char *range)
{
	if (!range || !*range)
		return true;
	struct semver_range *r = NULL;
	struct semver v;
	if (semver_range_parse(&r, range))
		return false;
	bool ok = version && !semver_parse(&v, version);
	if (ok) {
		ok = semver_range_satisfies(r, &v);
		semver_release(&v);
	}
	semver_range_free(r);
	return ok;
}

/* One entry of spec.plugins (doc's field, "spec.plugins[i]"): installed when no plugin of that
 * name is loaded, then loaded; an error when the one loaded is outside its range. */
static void ensure_one(struct app *a, const struct manifest_doc *doc, const char *field, json_t *e, json_t *lock,
                       struct diags *errors)
{
	char at[96];
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *source = json_string_value(json_object_get(e, "source"));
	json_t *vj = json_object_get(e, "version"), *sj = json_object_get(e, "sha256");
	const char *range = json_string_value(vj), *sha = json_string_value(sj);
	struct semver_range *parsed = NULL;
	if (!json_is_object(e) || !name || !*name) {
		snprintf(at, sizeof(at), "%s.name", field);
		manifest_error(errors, doc, json_is_object(e) ? at : field, "expected a plugin name (spec.plugins: [{name, version, source, sha256}])");
		return;
	}
	if ((vj && !range) || (range && semver_range_parse(&parsed, range))) {
		snprintf(at, sizeof(at), "%s.version", field);
		manifest_error(errors, doc, at, "expected a version range (\"^1.2\", \">=1.0, <2\"), got %s",
		               range ? cratis_error_last()->message : json_type_phrase(vj));
		return;
	}
	semver_range_free(parsed);
	if (sj && (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64)) {
		snprintf(at, sizeof(at), "%s.sha256", field);
		manifest_error(errors, doc, at, "expected 64 hex digits");
		return;
	}
	const struct plugin *p = loaded(a, name);
	if (p) {
		if (!in_range(p->version, range)) {
			snprintf(at, sizeof(at), "%s.version", field);
			struct diag *dg = manifest_error(errors, doc, at, "plugin '%s' %s (%s) is outside the range '%s'", name,
			                                 p->version ? p->version : "", p->path, range);
			diag_hint(dg, "install a version in range: cratis plugin install URL --sha256 HEX");
		}
		return;
	}
	if (!source || !*source) {
		snprintf(at, sizeof(at), "%s.source", field);
		manifest_error(errors, doc, at, "plugin '%s' is not installed and no source (a .tar.gz path or URL) says where it is",
		               name);
		return;
	}
	/* the lock's checksum holds for the source it was taken from, unless the manifest names one */
	json_t *locked = json_object_get(json_object_get(lock, "plugins"), name);
	if (!sha && locked && !strcmp(or_empty(json_string_value(json_object_get(locked, "source"))), source))
		sha = json_string_value(json_object_get(locked, "sha256"));
	char *dest = xasprintf("%s/.cratis/plugins", a->project_dir);
	struct plugin_install_opts o = { .source = source, .sha256 = sha, .dest = dest, .project_dir = a->project_dir,
	                                 .want_name = name, .want_range = range };
	struct plugin_installed inst;
	struct diags why = DIAGS_INIT;
	if (plugin_install(&o, &inst, &why)) {
		snprintf(at, sizeof(at), "%s.source", field);
		for (size_t i = 0; i < why.n; i++)
			manifest_error(errors, doc, at, "installing plugin '%s': %s", name, why.v[i].message);
	} else {
		char *lp = lock_path(a);
		if (plugin_lock_set(lp, inst.name, inst.version, source, inst.sha256))
			diags_add_last_error(errors);
		free(lp);
		registry_load_one(&a->reg, inst.path, errors);
		plugin_installed_release(&inst);
	}
	diags_release(&why);
	free(dest);
}

void app_ensure_plugins(struct app *a, struct diags *errors)
{
	json_t *lock = NULL;
	char *lp = NULL;
	size_t before = a->reg.nplugins;
	for (size_t i = 0; i < a->ms.n; i++) {
		const struct manifest_doc *doc = a->ms.docs[i];
		const char *kind = json_string_value(json_object_get(doc->root, "kind"));
		json_t *list = json_object_get(json_object_get(doc->root, "spec"), "plugins");
		if (!kind || strcmp(kind, "Project") || !list)
			continue;
		if (!json_is_array(list)) {
			manifest_error(errors, doc, "spec.plugins", "expected a sequence of {name, version, source, sha256}, got %s",
			               json_type_phrase(list));
			continue;
		}
		if (!lock) {
			lp = lock_path(a);
			if (plugin_lock_read(&lock, lp)) {
				diags_add_last_error(errors);
				break;
			}
		}
		for (size_t k = 0; k < json_array_size(list); k++) {
			char field[48];
			snprintf(field, sizeof(field), "spec.plugins[%zu]", k);
			ensure_one(a, doc, field, json_array_get(list, k), lock, errors);
		}
	}
	if (a->reg.nplugins != before)
		registry_check_requirements(&a->reg, errors);
	json_decref(lock);
	free(lp);
}
