/* The capability catalog: capability plugins read from their plugin.yaml, checked, their
 * dependencies resolved with semver ranges, and one built-in handler registered per kind. */
#define _GNU_SOURCE
#include "capability.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "release/semver.h"
#include "util/error.h"
#include "banned.h"

const char *const cap_providers[CAP_NPROVIDERS] = { "aws", "gcp", "azure" };

/* Where an input of a module may come from (docs/capabilities.md, "Inputs"). */
static const char *const context_sources[] = { "name", "tags", "region", "resource_group", "size" };

int cap_provider_index(const char *p)
{
	for (int i = 0; i < CAP_NPROVIDERS; i++)
		if (p && !strcmp(p, cap_providers[i]))
			return i;
	return -1;
}

void cap_catalog_init(struct cap_catalog *c)
{
	memset(c, 0, sizeof(*c));
	manifest_set_init(&c->docs);
}

void cap_catalog_release(struct cap_catalog *c)
{
	for (size_t i = 0; i < c->nplugins; i++) {
		struct cap_plugin *p = &c->plugins[i];
		for (size_t k = 0; k < p->nkinds; k++) {
			free(p->kinds[k].group);
			free(p->kinds[k].table);
			strv_release(&p->kinds[k].table_strings);
		}
		free(p->kinds);
		free(p->dir);
	}
	free(c->plugins);
	manifest_set_release(&c->docs);
	strv_release(&c->dirs);
	strv_release(&c->paths);
	memset(c, 0, sizeof(*c));
	manifest_set_init(&c->docs);
}

void cap_catalog_default_dirs(struct cap_catalog *c, const char *project_dir)
{
	const char *env = getenv("CRATIS_CAPABILITY_PATH");
	if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			strv_push(&c->dirs, d);
		free(copy);
	}
	if (project_dir)
		strv_push_owned(&c->dirs, xasprintf("%s/.cratis/capabilities", project_dir));
	char *exe = exe_dir();
	char *marker = xasprintf("%s/build.ninja", exe);
	if (access(marker, F_OK) == 0)
		strv_push(&c->dirs, CRATIS_CAPABILITY_SRCDIR);
	else
		strv_push(&c->dirs, CRATIS_CAPABILITY_DIR);
	free(marker);
	free(exe);
}

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The located path of a kind's sub-field: "provides.capabilities[2].modules.aws". */
static const char *kpath(struct cap_catalog *c, const struct cap_kind *k, const char *fmt, const char *a,
                         const char *b)
{
	char *tail = xasprintf(fmt, a ? a : "", b ? b : "");
	strv_push_owned(&c->paths, xasprintf("%s%s", k->def_path, tail));
	free(tail);
	return c->paths.v[c->paths.n - 1];
}

static bool source_known(const char *src, const json_t *fields)
{
	for (size_t i = 0; i < sizeof(context_sources) / sizeof(context_sources[0]); i++)
		if (!strcmp(src, context_sources[i]))
			return true;
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f)
		if (sget(f, "path") && !strcmp(sget(f, "path"), src))
			return true;
	return false;
}

static bool field_type_ok(const char *t)
{
	static const char *const types[] = { "string", "integer", "number", "boolean", "object", "array" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (t && !strcmp(t, types[i]))
			return true;
	return false;
}

/* Check one provider's module entry of kind k; errors at its location. */
static void check_impl(struct cap_catalog *c, struct cap_plugin *p, struct cap_kind *k, int pi,
                       struct diags *errors)
{
	const json_t *impl = k->impl[pi];
	const char *prov = cap_providers[pi];
	const char *mod = sget(impl, "module");
	if (!json_is_object(impl) || !mod || !*mod || strchr(mod, '/') || !strcmp(mod, "..") || !strcmp(mod, ".")) {
		manifest_error(errors, p->doc, kpath(c, k, ".modules.%s%s", prov, NULL),
		               "expected a mapping with 'module: NAME' (a folder of modules/%s)", prov);
		return;
	}
	static const char *const files[] = { "main.tf", "variables.tf", "outputs.tf" };
	for (size_t i = 0; i < 3; i++) {
		char *f = xasprintf("%s/modules/%s/%s/%s", p->dir, prov, mod, files[i]);
		if (access(f, R_OK))
			manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.module%s", prov, NULL),
			               "module '%s' has no readable %s (looked for %s)", mod, files[i], f);
		free(f);
	}
	const json_t *inputs = json_object_get(impl, "inputs");
	const char *var;
	json_t *src;
	if (!json_is_object(inputs)) {
		manifest_error(errors, p->doc, kpath(c, k, ".modules.%s%s", prov, NULL),
		               "expected 'inputs': a mapping of module variable: source");
	} else {
		json_object_foreach((json_t *)inputs, var, src) {
			const char *s = json_string_value(src);
			if (!s || !source_known(s, k->fields))
				manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.inputs.%s", prov, var),
				               "expected a source: name, tags, region, resource_group, size or a declared field (spec.X)");
			else if (!strcmp(s, "size") && !json_is_object(json_object_get(json_object_get(impl, "size"), "map")))
				manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.inputs.%s", prov, var),
				               "'size' needs a 'size: {from: spec.X, map: {...}}' table for this provider");
		}
	}
	const json_t *size = json_object_get(impl, "size");
	if (size && (!json_is_object(json_object_get(size, "map")) || !sget(size, "from") ||
	             !source_known(sget(size, "from"), k->fields)))
		manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.size%s", prov, NULL),
		               "expected {from: spec.X (a declared field), map: {value: provider size}}");
	const json_t *outs = json_object_get(impl, "outputs");
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(k->def, "outputs"), i, o) {
		const char *name = sget(o, "name");
		if (name && !json_is_string(json_object_get(outs, name)))
			manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.outputs%s", prov, NULL),
			               "no module output for the portable output '%s'", name);
	}
	json_array_foreach(json_object_get(impl, "options"), i, o) {
		if (!sget(o, "name") || !sget(o, "input") || !field_type_ok(sget(o, "type"))) {
			char idx[32];
			snprintf(idx, sizeof(idx), "[%zu]", i);
			manifest_error(errors, p->doc, kpath(c, k, ".modules.%s.options%s", prov, idx),
			               "expected {name, type, input, help, alternative}");
		}
	}
}

/* The field table handed to the registry: the declared fields and, per provider option,
 * spec.providerOptions.<provider>.<name>. */
static void build_table(struct cap_kind *k)
{
	size_t n = json_array_size(k->fields);
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
		n += json_array_size(json_object_get(k->impl[pi], "options"));
	k->table = xcalloc(n + 1, sizeof(*k->table));
	size_t r = 0, i;
	json_t *f;
	json_array_foreach(k->fields, i, f) {
		/* the default as text for `cratis explain` (owned by table_strings) */
		const json_t *dv = json_object_get(f, "default");
		const char *def = NULL;
		if (json_is_string(dv)) {
			def = json_string_value(dv);
		} else if (dv) {
			strv_push_owned(&k->table_strings, json_dumps(dv, JSON_COMPACT | JSON_ENCODE_ANY));
			def = k->table_strings.v[k->table_strings.n - 1];
		}
		k->table[r] = (struct cratis_field){ sizeof(struct cratis_field), sget(f, "path"), sget(f, "type"), sget(f, "help"),
		                                     def, json_is_true(json_object_get(f, "required")) };
		r++;
	}
	for (int pi = 0; pi < CAP_NPROVIDERS; pi++) {
		json_array_foreach(json_object_get(k->impl[pi], "options"), i, f) {
			strv_push_owned(&k->table_strings, xasprintf("spec.providerOptions.%s.%s", cap_providers[pi], sget(f, "name")));
			strv_push_owned(&k->table_strings, xasprintf("%s-only: %s", cap_providers[pi], sget(f, "help") ? sget(f, "help") : ""));
			k->table[r] = (struct cratis_field){ sizeof(struct cratis_field),
				k->table_strings.v[k->table_strings.n - 2], sget(f, "type"), k->table_strings.v[k->table_strings.n - 1],
				NULL, 0 };
			r++;
		}
	}
}

/* Read one capability plugin's kinds from its document. */
static void load_kinds(struct cap_catalog *c, struct cap_plugin *p, struct diags *errors)
{
	json_t *caps = json_object_get(json_object_get(p->doc->root, "provides"), "capabilities");
	p->kinds = xcalloc(json_array_size(caps) + 1, sizeof(*p->kinds));
	size_t i;
	json_t *def;
	json_array_foreach(caps, i, def) {
		struct cap_kind *k = &p->kinds[p->nkinds];
		memset(k, 0, sizeof(*k));
		strv_push_owned(&c->paths, xasprintf("provides.capabilities[%zu]", i));
		k->def_path = c->paths.v[c->paths.n - 1];
		k->def = def;
		k->plugin = p;
		k->name = sget(def, "name");
		k->api_version = sget(def, "apiVersion");
		k->kind = sget(def, "kind");
		k->fields = json_object_get(def, "fields");
		const char *slash = k->api_version ? strchr(k->api_version, '/') : NULL;
		if (!json_is_object(def) || !k->name || !k->kind || !slash || slash == k->api_version || !slash[1]) {
			manifest_error(errors, p->doc, k->def_path, "expected a capability: {name, apiVersion: GROUP/VERSION, kind, fields, outputs, modules}");
			continue;
		}
		k->group = xstrndup(k->api_version, (size_t)(slash - k->api_version));
		k->version = slash + 1;
		size_t j;
		json_t *f;
		if (!json_is_array(k->fields)) {
			manifest_error(errors, p->doc, kpath(c, k, ".fields%s%s", NULL, NULL), "expected a sequence of {path, type, help}");
			k->fields = NULL;
		}
		json_array_foreach(k->fields, j, f) {
			const char *path = sget(f, "path");
			if (!path || !starts_with(path, "spec.") || strchr(path + 5, '.') || !field_type_ok(sget(f, "type"))) {
				char idx[32];
				snprintf(idx, sizeof(idx), "[%zu]", j);
				manifest_error(errors, p->doc, kpath(c, k, ".fields%s%s", idx, NULL),
				               "expected {path: spec.NAME, type: string|integer|number|boolean|object|array, help}");
			}
		}
		json_t *modules = json_object_get(def, "modules");
		const char *prov;
		json_t *impl;
		json_object_foreach(modules, prov, impl) {
			int pi = cap_provider_index(prov);
			if (pi < 0)
				manifest_error(errors, p->doc, kpath(c, k, ".modules.%s%s", prov, NULL),
				               "unknown provider '%s' (expected aws, gcp or azure)", prov);
			else
				k->impl[pi] = impl;
		}
		for (int pi = 0; pi < CAP_NPROVIDERS; pi++)
			if (k->impl[pi])
				check_impl(c, p, k, pi, errors);
		build_table(k);
		p->nkinds++;
	}
}

/* Load dir/plugin.yaml when it declares capabilities; *skipped when it is not a capability
 * plugin (an exec plugin, a folder of C sources). */
static void load_one(struct cap_catalog *c, const char *dir, struct diags *errors)
{
	char *yaml = xasprintf("%s/plugin.yaml", dir);
	if (access(yaml, F_OK)) {
		free(yaml);
		return;
	}
	size_t before = c->docs.n;
	if (manifest_load_path(&c->docs, yaml) == CRATIS_EIO)
		diags_errorf(errors, CRATIS_EIO, "%s", cratis_error_last()->message);
	free(yaml);
	diags_move(errors, &c->docs.errors);
	if (c->docs.n != before + 1)
		return;
	const struct manifest_doc *doc = c->docs.docs[before];
	if (!json_is_array(json_object_get(json_object_get(doc->root, "provides"), "capabilities")))
		return;   /* not a capability plugin */
	const char *name = sget(doc->root, "name"), *version = sget(doc->root, "version");
	struct semver v;
	if (!name || !*name) {
		manifest_error(errors, doc, "name", "expected the plugin's name");
		return;
	}
	if (!version || semver_parse(&v, version)) {
		manifest_error(errors, doc, "version", "expected a semantic version such as 1.0.0");
		return;
	}
	semver_release(&v);
	for (size_t i = 0; i < c->nplugins; i++)
		if (!strcmp(c->plugins[i].name, name))
			return;   /* shadowed by one found earlier in the path */
	ALLOC_GROW(c->plugins, c->nplugins + 1, c->aplugins);
	struct cap_plugin *p = &c->plugins[c->nplugins++];
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->version = version;
	p->dir = abs_path(dir);
	if (!p->dir)
		p->dir = xstrdup(dir);
	p->doc = doc;
	load_kinds(c, p, errors);
}

static const struct cap_plugin *find_plugin(const struct cap_catalog *c, const char *name)
{
	for (size_t i = 0; i < c->nplugins; i++)
		if (!strcmp(c->plugins[i].name, name))
			return &c->plugins[i];
	return NULL;
}

/* dependencies: [{plugin, version, reason, optional}] of every plugin. */
static void check_dependencies(const struct cap_catalog *c, struct diags *errors)
{
	for (size_t i = 0; i < c->nplugins; i++) {
		const struct cap_plugin *p = &c->plugins[i];
		size_t j;
		json_t *dep;
		json_array_foreach(json_object_get(p->doc->root, "dependencies"), j, dep) {
			char at[48];
			snprintf(at, sizeof(at), "dependencies[%zu]", j);
			const char *name = sget(dep, "plugin"), *range_s = sget(dep, "version");
			bool optional = json_is_true(json_object_get(dep, "optional"));
			struct semver_range *range = NULL;
			if (!name || !range_s || semver_range_parse(&range, range_s)) {
				manifest_error(errors, p->doc, at, "expected {plugin: NAME, version: RANGE (node-semver), optional: true|false}%s%s",
				               range_s ? ": " : "", range_s ? cratis_error_last()->message : "");
				continue;
			}
			const struct cap_plugin *d = find_plugin(c, name);
			struct semver v;
			if (!d) {
				if (!optional)
					manifest_error(errors, p->doc, at, "capability plugin '%s' (%s) requires plugin '%s' %s, which is not installed (searched the capability path)",
					               p->name, p->dir, name, range_s);
			} else if (!semver_parse(&v, d->version)) {
				if (!semver_range_satisfies(range, &v))
					manifest_error(errors, p->doc, at, "capability plugin '%s' (%s) requires plugin '%s' %s%s, found %s at %s",
					               p->name, p->dir, name, range_s, optional ? " when present" : "", d->version, d->dir);
				semver_release(&v);
			}
			semver_range_free(range);
		}
	}
}

int cap_catalog_load(struct cap_catalog *c, struct diags *errors)
{
	size_t before = diags_errors(errors);
	for (size_t i = 0; i < c->dirs.n; i++) {
		struct strv names = STRV_INIT;
		if (dir_names_sorted(c->dirs.v[i], NULL, &names))
			continue;
		for (size_t k = 0; k < names.n; k++) {
			char *p = xasprintf("%s/%s", c->dirs.v[i], names.v[k]);
			if (is_dir(p))
				load_one(c, p, errors);
			free(p);
		}
		strv_release(&names);
	}
	check_dependencies(c, errors);
	return diags_errors(errors) > before ? CRATIS_EPLUGIN : CRATIS_OK;
}

const struct cap_kind *cap_catalog_find(const struct cap_catalog *c, const char *group, const char *kind,
                                        const char *version)
{
	for (size_t i = 0; i < c->nplugins; i++)
		for (size_t k = 0; k < c->plugins[i].nkinds; k++) {
			const struct cap_kind *ck = &c->plugins[i].kinds[k];
			if (ck->group && !strcmp(ck->group, group) && !strcmp(ck->kind, kind) && !strcmp(ck->version, version))
				return ck;
		}
	return NULL;
}

const json_t *cap_catalog_provider(const struct cap_catalog *c, const char *provider)
{
	for (size_t i = 0; i < c->nplugins; i++) {
		const json_t *p = json_object_get(json_object_get(c->plugins[i].doc->root, "providers"), provider);
		if (json_is_object(p))
			return p;
	}
	return NULL;
}

/* ---- the handlers ---- */

static bool type_matches(const char *type, const json_t *v)
{
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v);
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	return json_is_array(v);
}

static const char *type_phrase(const char *type)
{
	return !strcmp(type, "integer") ? "an integer" : !strcmp(type, "object") ? "a mapping" :
	       !strcmp(type, "array") ? "a sequence" : !strcmp(type, "boolean") ? "true or false" :
	       !strcmp(type, "number") ? "a number" : "a string";
}

/* Check value v of field f (declared at path); false after reporting through host->error. */
static bool check_value(void *call, const json_t *f, const char *path, const json_t *v)
{
	const char *type = sget(f, "type");
	if (json_is_string(v) && strstr(json_string_value(v), "${"))
		return true;   /* an output reference, known at apply */
	if (!type_matches(type, v)) {
		host_services.error(call, path, "expected %s, found %s", type_phrase(type), json_type_phrase(v));
		return false;
	}
	const json_t *values = json_object_get(f, "values");
	if (json_is_array(values)) {
		size_t i;
		json_t *a;
		bool found = false;
		json_array_foreach(values, i, a)
			found |= json_equal(a, v);
		if (!found) {
			struct buf b = BUF_INIT;
			json_array_foreach(values, i, a) {
				char *s = json_dumps(a, JSON_ENCODE_ANY);
				buf_addf(&b, "%s%s", i ? ", " : "", s);
				free(s);
			}
			host_services.error(call, path, "expected one of %s", b.ptr);
			buf_release(&b);
			return false;
		}
	}
	if (json_is_number(v)) {
		double x = json_number_value(v);
		const json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
		if ((json_is_number(min) && x < json_number_value(min)) || (json_is_number(max) && x > json_number_value(max))) {
			char lo[32] = "", hi[32] = "";
			if (json_is_number(min))
				snprintf(lo, sizeof(lo), "%g", json_number_value(min));
			if (json_is_number(max))
				snprintf(hi, sizeof(hi), "%g", json_number_value(max));
			host_services.error(call, path, "expected a value %s%s%s%s", *lo ? "from " : "", lo,
			                    *hi ? (*lo ? " to " : "up to ") : " or more", hi);
			return false;
		}
	}
	return true;
}

static int cap_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)out;
	const struct cap_kind *k = data;
	json_t *spec = json_loads(req->spec, 0, NULL);
	int rc = CRATIS_OK;
	size_t i;
	json_t *f;
	json_array_foreach(k->fields, i, f) {
		const char *path = sget(f, "path");
		json_t *v = json_object_get(spec, path + 5);
		if (!v && json_is_true(json_object_get(f, "required"))) {
			host_services.error(req->call, path, "required: %s", sget(f, "help") ? sget(f, "help") : "no default");
			rc = CRATIS_EINVAL;
			break;
		}
		if (v && !check_value(req->call, f, path, v)) {
			rc = CRATIS_EINVAL;
			break;
		}
	}
	json_t *po = json_object_get(spec, "providerOptions");
	const char *prov;
	json_t *opts;
	json_object_foreach(rc ? NULL : po, prov, opts) {
		int pi = cap_provider_index(prov);
		const char *name;
		json_t *v;
		json_object_foreach(pi < 0 ? NULL : opts, name, v) {
			json_array_foreach(json_object_get(k->impl[pi], "options"), i, f) {
				if (strcmp(sget(f, "name"), name))
					continue;
				char *path = xasprintf("spec.providerOptions.%s.%s", prov, name);
				if (!check_value(req->call, f, path, v))
					rc = CRATIS_EINVAL;
				free(path);
			}
		}
	}
	json_decref(spec);
	return rc;
}

void cap_catalog_bind(struct cap_catalog *c, const struct model *m)
{
	c->model = m;
}

int cap_catalog_register(struct cap_catalog *c, struct registry *reg, struct diags *errors)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), cap_validate, NULL, cap_tofu_apply, cap_tofu_destroy, NULL };
	int rc = CRATIS_OK;
	for (size_t i = 0; i < c->nplugins; i++) {
		struct cap_plugin *cp = &c->plugins[i];
		cp->catalog = c;
		struct plugin *p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(cp->name);
		p->version = xstrdup(cp->version);
		p->path = xstrdup(cp->dir);
		p->form = PLUGIN_CORE;
		ALLOC_GROW(reg->plugins, reg->nplugins + 1, reg->aplugins);
		reg->plugins[reg->nplugins++] = p;
		for (size_t k = 0; k < cp->nkinds; k++) {
			struct cap_kind *ck = &cp->kinds[k];
			if (!ck->group)
				continue;
			const char *versions[] = { ck->version, NULL };
			struct cratis_handler h = { sizeof(h), ck->group, ck->kind, versions, &ops, ck, ck->table };
			int r = registry_add_handler(reg, p, &h, errors);
			if (r && !rc)
				rc = r;
		}
	}
	return rc;
}
