/* Build the model from manifest documents (see model.h). */
#define _GNU_SOURCE
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/dispatch.h"
#include "manifest/vars.h"
#include "model/schema.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

enum ftype { FT_STRING, FT_MAPPING, FT_STRINGS };

/* Field table of the envelope and the core kinds: drives type checks and error messages.
 * kind "*" applies to every document, "@" to plugin resources. */
static const struct field_def {
	const char *kind, *path;
	enum ftype type;
	int required;
	const char *help;
} fields[] = {
	{ "*", "apiVersion", FT_STRING, 1, "GROUP/VERSION, e.g. cratis/v1" },
	{ "*", "kind", FT_STRING, 1, "the kind name, e.g. Environment" },
	{ "*", "metadata", FT_MAPPING, 1, "a mapping with at least name" },
	{ "*", "metadata.name", FT_STRING, 1, "the resource name" },
	{ "*", "metadata.project", FT_STRING, 0, "the project this document belongs to" },
	{ "*", "metadata.environments", FT_STRINGS, 0, "names of the environments this resource is deployed to (default: all)" },
	{ "*", "spec", FT_MAPPING, 0, "the kind's fields" },
	{ "System", "spec.type", FT_STRING, 0, "the kind of machine: local (default; the only type available)" },
	{ "System", "spec.auth", FT_MAPPING, 0, "references to credentials" },
	{ "Environment", "spec.systems", FT_STRINGS, 0, "names of System documents" },
	{ "Environment", "spec.variables", FT_MAPPING, 0, "name: value pairs for ${name}" },
	{ "Project", "spec.environments", FT_STRINGS, 0, "names of Environment documents" },
	{ "Project", "spec.promotion", FT_MAPPING, 0, "variables: names whose values `cratis promote` carries over" },
	{ "Project", "spec.secrets", FT_MAPPING, 0, "NAME: {env: VAR} | {file: PATH} | {command: [argv]} for ${secret:NAME}" },
	{ "Project", "spec.outputs", FT_MAPPING, 0, "NAME: EXPR or {value: EXPR, description, sensitive}: values shown after apply and by `cratis output`" },
	{ "Project", "spec.includes", FT_STRINGS, 0, "manifest locations loaded with the Project (docs/locations.md)" },
	{ "Project", "spec.systems", FT_STRINGS, 0, "locations of the Systems and Environments it deploys onto (docs/locations.md)" },
	{ "@", "spec.system", FT_STRING, 0, "the name of a System" },
	{ "@", "spec.dependsOn", FT_STRINGS, 0, "Kind/name references" },
};

static const char *type_phrase(enum ftype t)
{
	return t == FT_STRING ? "a string" : t == FT_MAPPING ? "a mapping" : "a sequence of strings";
}

/* The value at a dotted path ("metadata.name") under root, or NULL. Walks the path in place:
 * no copy, no allocation (it runs for every field of every document). */
static json_t *get_path(json_t *root, const char *path)
{
	json_t *v = root;
	for (const char *p = path; v;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len)
			v = json_is_object(v) ? json_object_getn(v, p, len) : NULL;
		if (!dot)
			break;
		p = dot + 1;
	}
	return v;
}

/* One document's metadata and spec, looked up once for the many fields read under them. */
struct view {
	json_t *root, *metadata, *spec;
};

static void view_init(struct view *v, json_t *root)
{
	v->root = root;
	v->metadata = json_is_object(root) ? json_object_get(root, "metadata") : NULL;
	v->spec = json_is_object(root) ? json_object_get(root, "spec") : NULL;
}

/* get_path(v->root, path), starting from the looked-up metadata or spec when path is under one. */
static json_t *view_get(const struct view *v, const char *path)
{
	if (!strncmp(path, "metadata", 8) && (path[8] == '.' || !path[8]))
		return path[8] ? get_path(v->metadata, path + 9) : v->metadata;
	if (!strncmp(path, "spec", 4) && (path[4] == '.' || !path[4]))
		return path[4] ? get_path(v->spec, path + 5) : v->spec;
	return get_path(v->root, path);
}

/* True when some string inside v contains '$': only then can variable expansion change v. */
static bool has_dollar(const json_t *v)
{
	if (json_is_string(v))
		return memchr(json_string_value(v), '$', json_string_length(v)) != NULL;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
			if (has_dollar(c))
				return true;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (has_dollar(json_array_get(v, i)))
				return true;
	}
	return false;
}

/* The model's own copy of a document's spec, which the model may change (dependsOn removed,
 * variables expanded) while the document stays as loaded. Copy on write: a new top-level
 * object whose members without '$' are shared with the document (expansion never writes
 * them, and nothing writes a model's spec after the build), and deep copies of the others. */
static json_t *spec_copy(json_t *src)
{
	if (!json_is_object(src))
		return json_deep_copy(src);
	json_t *o = json_object();
	const char *k;
	size_t klen;
	json_t *v;
	json_object_keylen_foreach(src, k, klen, v)
		json_object_setn_new_nocheck(o, k, klen, has_dollar(v) ? json_deep_copy(v) : json_incref(v));
	return o;
}

static bool check_type(const json_t *v, enum ftype t)
{
	if (t == FT_STRING)
		return json_is_string(v);
	if (t == FT_MAPPING)
		return json_is_object(v);
	if (!json_is_array(v))
		return false;
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return false;
	return true;
}

/* Check the table rows for kind; false if any error was added. */
static bool check_fields(struct model *m, const struct manifest_doc *d, const struct view *dv, const char *kind)
{
	bool ok = true;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_def *f = &fields[i];
		if (strcmp(f->kind, "*") && strcmp(f->kind, kind))
			continue;
		json_t *v = view_get(dv, f->path);
		if (!v || json_is_null(v)) {
			if (f->required) {
				manifest_error(&m->errors, d, f->path, "missing field, expected %s (%s)",
				               type_phrase(f->type), f->help);
				ok = false;
			}
			continue;
		}
		if (!check_type(v, f->type)) {
			manifest_error(&m->errors, d, f->path, "expected %s (%s), got %s", type_phrase(f->type),
			               f->help, json_type_phrase(v));
			ok = false;
		}
	}
	return ok;
}

static const char *sget(json_t *o, const char *path)
{
	json_t *v = get_path(o, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *vget(const struct view *dv, const char *path)
{
	json_t *v = view_get(dv, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void fill_strv(struct strv *s, json_t *arr)
{
	for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++)
		strv_push(s, json_string_value(json_array_get(arr, i)));
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->env_name = "";
}

static void model_reset(struct model *m)
{
	vars_artifact_fn fn = m->artifact;
	void *payload = m->artifact_payload;
	const json_t *ov = m->overrides;
	model_init(m);
	m->artifact = fn;
	m->artifact_payload = payload;
	m->overrides = ov;
}

/* Copy the n bytes of s and a NUL to *at; returns the copy and advances *at. */
static char *put_str(char **at, const char *s, size_t n)
{
	char *p = *at;
	memcpy(p, s, n);
	p[n] = '\0';
	*at = p + n + 1;
	return p;
}

/* A zeroed resource with its strings (id, key, api_version, group, version, kind, name,
 * project, system) in the same allocation, after the struct: one malloc and one free per
 * resource instead of ten. */
static struct resource *resource_new(const char *group, const char *version, const char *kind,
                                     const char *name, const char *project, const char *system)
{
	size_t lg = strlen(group), lv = strlen(version), lk = strlen(kind), ln = strlen(name);
	size_t lp = strlen(project), ls = system ? strlen(system) : 0;
	size_t lid = lk + 1 + ln;
	size_t total = (lid + 1) + (lp + 1 + lid + 1) + (lg + 1 + lv + 1) + (lg + 1) + (lv + 1) + (lk + 1) +
	               (ln + 1) + (lp + 1) + (system ? ls + 1 : 0);
	struct resource *r = xcalloc(1, sizeof(*r) + total);
	char *at = (char *)(r + 1);
	r->id = put_str(&at, kind, lk);
	r->id[lk] = '/';
	put_str(&at, name, ln);
	r->key = put_str(&at, project, lp);
	r->key[lp] = ':';
	put_str(&at, r->id, lid);
	r->api_version = put_str(&at, group, lg);
	r->api_version[lg] = '/';
	put_str(&at, version, lv);
	r->group = put_str(&at, group, lg);
	r->version = put_str(&at, version, lv);
	r->kind = put_str(&at, kind, lk);
	r->name = put_str(&at, name, ln);
	r->project = put_str(&at, project, lp);
	r->system = system ? put_str(&at, system, ls) : NULL;
	return r;
}

static void resource_free(struct resource *r)
{
	/* the strings live in r's allocation (resource_new) */
	json_decref(r->spec);
	strv_release(&r->deps);
	free(r);
}

void model_release(struct model *m)
{
	for (size_t i = 0; i < m->nenvs; i++) {
		strv_release(&m->envs[i].systems);
		strv_release(&m->envs[i].sensitive);
		json_decref(m->envs[i].variables);
	}
	for (size_t i = 0; i < m->nprojects; i++)
		strv_release(&m->projects[i].environments);
	for (size_t i = 0; i < m->nresources; i++)
		resource_free(m->resources[i]);
	free(m->systems);
	free(m->envs);
	free(m->projects);
	free(m->resources);
	strv_release(&m->elsewhere);
	map_release(&m->by_key);
	diags_release(&m->errors);
	model_reset(m);
}

struct resource *model_find(const struct model *m, const char *project, const char *id)
{
	return map_get_pair(&m->by_key, project, id);
}

/* A Kubernetes DNS-1123 label (RFC 1123 §2.1 host name label, lowercase): 1 to 63 of [a-z0-9-],
 * starting and ending with [a-z0-9]. Names become path segments (STATEDIR/run/ENV/PROJECT/...)
 * and configuration values (nginx.conf), so nothing else is accepted. */
#define NAME_MAX_LEN 63
#define NAME_RULE "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > NAME_MAX_LEN)
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return false;
	return s[0] != '-' && s[n - 1] != '-';
}

bool model_name_valid(const char *name)
{
	return valid_name(name);
}

const char *model_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3, wl = strlen(word);
	if (!wl)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!cands[i])
			continue;
		size_t cl = strlen(cands[i]), d = schema_distance(word, cands[i], 2);
		size_t shorter = wl < cl ? wl : cl;
		if (d >= wl && d >= cl)
			d = 3; /* "a" is one edit from every one-letter name: no evidence */
		if (d > 2 && shorter >= 3 && !strncasecmp(word, cands[i], shorter))
			d = 2; /* a prefix of the other: "time" for "timeoutSeconds", "dest" for "destroy" */
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

/* s for an error message: control and non-ASCII bytes as \n, \t or \xNN, at most 80 bytes of s
 * shown; caller frees. */
static char *quote_name(const char *s)
{
	struct buf b = BUF_INIT;
	size_t i;
	for (i = 0; s[i] && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			buf_adds(&b, "\\n");
		else if (c == '\t')
			buf_adds(&b, "\\t");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			buf_addf(&b, "\\x%02x", c);
		else
			buf_addch(&b, (char)c);
	}
	if (s[i])
		buf_addf(&b, "... (%zu bytes)", strlen(s));
	return buf_detach(&b);
}

/* Check name (at field of d) against the name rule; false after recording the error. */
static bool check_name(struct model *m, const struct manifest_doc *d, const char *field, const char *name)
{
	if (valid_name(name))
		return true;
	char *q = quote_name(name);
	manifest_error(&m->errors, d, field, "invalid name '%s': expected %s", q, NAME_RULE);
	free(q);
	return false;
}

/* System types: local is built in; a plugin implements type T by registering kind System in the
 * group T (the postgres plugin registers postgres/v1 System; docs/plugins.md, "System types"). */
static bool system_type_known(const struct registry *reg, const char *type)
{
	return !strcmp(type, "local") || (reg && registry_find(reg, type, "System", NULL));
}

/* "local, postgres" for messages; caller releases b. */
static void system_types_list(const struct registry *reg, struct buf *b)
{
	buf_adds(b, "local");
	for (size_t i = 0; reg && i < reg->nhandlers; i++)
		if (!strcmp(reg->handlers[i]->kind, "System"))
			buf_addf(b, ", %s", reg->handlers[i]->group);
}

/* "a, b, c" (or "none") for messages; caller frees. */
static char *system_names(const struct model *m)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < m->nsystems; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", m->systems[i].name);
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

static char *env_names(const struct model *m)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < m->nenvs; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", m->envs[i].name);
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

static char *project_names(const struct model *m)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < m->nprojects; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", m->projects[i].name);
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

static char *strv_names(const struct strv *v)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < v->n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", v->v[i]);
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

struct var_err {
	struct model *m;
	const struct manifest_doc *doc;
};

static void on_var_error(const char *field, const char *msg, void *payload)
{
	struct var_err *ve = payload;
	manifest_error(&ve->m->errors, ve->doc, field, "%s", msg);
}

/* "Did you mean" for a kind no plugin handles: a kind of the same group ("Servce" in service:
 * "did you mean kind 'Service'?"), else the group of a plugin serving that kind ("servce/v1":
 * "did you mean apiVersion 'service/v1'?"), else the nearest apiVersion and kind together. */
static void kind_hint(struct diag *dg, const struct registry *reg, const char *group, const char *version, const char *kind)
{
	size_t n = reg->nhandlers;
	const char **kinds = xcalloc(n + 1, sizeof(*kinds)), **groups = xcalloc(n + 1, sizeof(*groups));
	char **pairs = xcalloc(n + 1, sizeof(*pairs));
	size_t nk = 0, ng = 0;
	for (size_t i = 0; i < n; i++) {
		const struct handler *o = reg->handlers[i];
		if (!strcmp(o->group, group))
			kinds[nk++] = o->kind;
		if (!strcmp(o->kind, kind))
			groups[ng++] = o->group;
		pairs[i] = xasprintf("%s/%s", o->group, o->kind);
	}
	const char *best;
	if ((best = model_suggest(kind, kinds, nk))) {
		diag_hint(dg, "did you mean kind '%s'?", best);
	} else if (!ng && (!strcmp(kind, "System") || !strcmp(kind, "Environment") || !strcmp(kind, "Project"))) {
		diag_hint(dg, "did you mean apiVersion 'cratis/v1'? (%s is a core kind)", kind);
	} else if (ng) {
		best = model_suggest(group, groups, ng);
		diag_hint(dg, "did you mean apiVersion '%s/%s'? (%s is served by group %s)", best ? best : groups[0], version,
		          kind, best ? best : groups[0]);
	} else {
		char *want = xasprintf("%s/%s", group, kind);
		best = model_suggest(want, (const char *const *)pairs, n);
		if (best) {
			const char *slash = strchr(best, '/');
			diag_hint(dg, "did you mean apiVersion '%.*s/%s' and kind '%s'?", (int)(slash - best), best, version, slash + 1);
		}
		free(want);
	}
	for (size_t i = 0; i < n; i++)
		free(pairs[i]);
	free(pairs);
	free(kinds);
	free(groups);
}

/* One copy of a fleet resource (spec.systems, docs/systems.md#fleets): its name, its System and
 * the resources of the batch before it; NULL for an ordinary resource. */
struct fleet_copy {
	const char *name, *system;
	const struct strv *after;
};

static void add_resource(struct model *m, const struct manifest_doc *d, const struct view *dv, const struct registry *reg,
                         const char *group, const char *version, const char *kind,
                         const char *default_project, const char *default_system, const struct fleet_copy *fc)
{
	const char *name = fc ? fc->name : vget(dv, "metadata.name");
	struct handler *h = reg ? registry_find(reg, group, kind, version) : NULL;
	if (!h && !(reg && registry_find(reg, group, kind, NULL))) {
		char *kinds = reg ? registry_kinds_list(reg) : xstrdup("none");
		struct diag *dg = manifest_error(&m->errors, d, "kind", "unknown kind '%s' in group '%s' (core kinds: System, Environment, Project in cratis/v1; plugin kinds loaded: %s)",
		                                 kind, group, kinds);
		free(kinds);
		if (reg)
			kind_hint(dg, reg, group, version, kind);
		return;
	}
	if (!h) {
		/* the kind is known, not this version: name every plugin serving the kind and its versions */
		struct buf vs = BUF_INIT, ps = BUF_INIT;
		size_t nplugins = 0;
		for (size_t i = 0; i < reg->nhandlers; i++) {
			const struct handler *o = reg->handlers[i];
			if (strcmp(o->group, group) || strcmp(o->kind, kind))
				continue;
			for (size_t v = 0; v < o->versions.n; v++)
				buf_addf(&vs, "%s%s/%s", vs.len ? ", " : "", group, o->versions.v[v]);
			bool seen = false;
			for (size_t j = 0; j < i; j++)
				seen |= reg->handlers[j]->plugin == o->plugin && !strcmp(reg->handlers[j]->group, group) &&
				        !strcmp(reg->handlers[j]->kind, kind);
			if (!seen) {
				buf_addf(&ps, "%s'%s'", ps.len ? ", " : "", o->plugin->name);
				nplugins++;
			}
		}
		manifest_error(&m->errors, d, "apiVersion", "version '%s' of %s is not supported by plugin%s %s (supported: %s)",
		               version, kind, nplugins == 1 ? "" : "s", ps.ptr, vs.ptr);
		buf_release(&vs);
		buf_release(&ps);
		return;
	}
	if (!check_fields(m, d, dv, "@"))
		return;
	const char *project = vget(dv, "metadata.project");
	if (project && !check_name(m, d, "metadata.project", project))
		return;
	if (!project)
		project = default_project;
	if (!project) {
		char *ps = project_names(m);
		manifest_error(&m->errors, d, "metadata.project", "missing field: several projects are defined (%s); name one", ps);
		free(ps);
		return;
	}
	bool project_known = m->nprojects == 0;
	for (size_t i = 0; i < m->nprojects; i++)
		if (!strcmp(m->projects[i].name, project))
			project_known = true;
	if (!project_known) {
		char *ps = project_names(m);
		manifest_error(&m->errors, d, "metadata.project", "unknown project '%s' (defined: %s)", project, ps);
		free(ps);
		return;
	}
	/* metadata.environments: the environments this resource is deployed to */
	json_t *only = view_get(dv, "metadata.environments");
	if (only) {
		const char **names = xcalloc(m->nenvs + 1, sizeof(*names));
		for (size_t k = 0; k < m->nenvs; k++)
			names[k] = m->envs[k].name;
		bool ok = true, here = false;
		for (size_t i = 0; i < json_array_size(only); i++) {
			const char *e = json_string_value(json_array_get(only, i));
			bool known = false;
			for (size_t k = 0; k < m->nenvs; k++)
				known |= !strcmp(names[k], e);
			if (!known) {
				char *f = xasprintf("metadata.environments[%zu]", i), *all = env_names(m);
				struct diag *dg = manifest_error(&m->errors, d, f, "unknown environment '%s' (defined: %s)", e, all);
				const char *best = model_suggest(e, names, m->nenvs);
				if (best)
					diag_hint(dg, "did you mean '%s'?", best);
				free(f);
				free(all);
				ok = false;
			}
			here |= m->env && !strcmp(e, m->env->name);
		}
		free(names);
		if (!ok)
			return;
		if (m->env && !here) {
			char *key = xasprintf("%s:%s/%s", project, kind, name);
			strv_push(&m->elsewhere, key);
			free(key);
			return;
		}
	}
	json_t *spec = dv->spec;
	bool dollar = spec && has_dollar(spec);
	spec = spec ? spec_copy(spec) : json_object();
	if (fc) {
		json_object_del(spec, "systems");
		json_object_del(spec, "rolling");
		json_object_set_new(spec, "system", json_string(fc->system));
	}
	const char *system = sget(spec, "system");
	char *system_owned = NULL;
	if (system && strchr(system, '$')) {
		/* `system: ${system}`: a variable of the selected environment names it */
		struct vars_ctx vc = { .variables = m->env ? m->env->variables : NULL };
		json_t *v = NULL;
		int vr = vars_expand_string(system, &vc, &v);
		if (vr || !json_is_string(v) || strchr(json_string_value(v), '$')) {
			if (vr)
				manifest_error(&m->errors, d, "spec.system", "%s", cratis_error_last()->message);
			else
				manifest_error(&m->errors, d, "spec.system", "expected the name of a System (a variable of the environment may give it), got '%s'",
				               json_is_string(v) ? json_string_value(v) : json_type_phrase(v));
			json_decref(v);
			json_decref(spec);
			return;
		}
		system_owned = xstrdup(json_string_value(v));
		system = system_owned;
		json_decref(v);
	}
	if (!system)
		system = default_system;

	struct resource *r = resource_new(group, version, kind, name, project, system);
	free(system_owned);
	r->doc = d;
	r->handler = h;
	fill_strv(&r->deps, json_object_get(spec, "dependsOn"));
	json_object_del(spec, "dependsOn");
	for (size_t i = 0; fc && fc->after && i < fc->after->n; i++)
		strv_push(&r->deps, fc->after->v[i]);
	if (!strcmp(group, CORE_GROUP) && !strcmp(kind, "Experiment")) {
		/* an Experiment runs beside its Rollout's live release: the Rollout first */
		const char *ro = json_string_value(json_object_get(spec, "rollout"));
		char *dep = ro ? xasprintf("Rollout/%s", ro) : NULL;
		if (dep && !strv_has(&r->deps, dep))
			strv_push(&r->deps, dep);
		free(dep);
	}
	if (!strcmp(group, CORE_GROUP) && !strcmp(kind, "Rollout")) {
		/* hooks that run Task resources need those applied first (other kinds, a Migration,
		 * are applied by the hook itself: hook_resources) */
		const char *stage;
		json_t *list;
		json_object_foreach(json_object_get(spec, "hooks"), stage, list) {
			size_t i;
			json_t *h;
			json_array_foreach(list, i, h) {
				const char *task = json_string_value(json_object_get(h, "task"));
				if (task && !strncmp(task, "Task/", 5) && !strv_has(&r->deps, task))
					strv_push(&r->deps, task);
			}
		}
	}

	struct resource *dup = map_get(&m->by_key, r->key);
	if (dup) {
		struct loc l;
		manifest_locate(dup->doc, "metadata.name", &l);
		manifest_error(&m->errors, d, "metadata.name", "duplicate %s in project '%s' (first defined at %s:%d:%d)",
		               r->id, project, l.file, l.line, l.col);
		json_decref(spec);
		resource_free(r);
		return;
	}
	/* system and scope */
	if (!r->system && m->nsystems > 1) {
		manifest_error(&m->errors, d, "spec.system", "missing field: several systems are defined; name the one this resource deploys to");
	} else if (r->system) {
		bool known = false;
		for (size_t i = 0; i < m->nsystems; i++)
			if (!strcmp(m->systems[i].name, r->system))
				known = true;
		if (!known) {
			char *ss = system_names(m);
			manifest_error(&m->errors, d, "spec.system", "unknown system '%s' (defined: %s)", r->system, ss);
			free(ss);
		} else if (m->env && !strv_has(&m->env->systems, r->system)) {
			char *ss = strv_names(&m->env->systems);
			manifest_error(&m->errors, d, "spec.system", "scope violation: system '%s' is not in environment '%s' (its systems: %s); refusing to deploy",
			               r->system, m->env->name, ss);
			free(ss);
		}
	}
	/* variables: expand now; output references stay for the engine */
	if (dollar) {
		/* without a '$' there is nothing to expand, reference or keep pending */
		struct vars_ctx vc = { .variables = m->env ? m->env->variables : NULL, .partial = true,
		                       .sensitive = m->env ? &m->env->sensitive : NULL, .artifact = m->artifact, .artifact_payload = m->artifact_payload };
		struct var_err ve = { m, d };
		vars_expand_tree(&spec, "spec", &vc, on_var_error, &ve);
		vars_collect_refs(spec, &r->deps);
		r->pending_vars = vars_pending(spec);
	}
	r->spec = spec;
	map_put(&m->by_key, r->key, r);
	ALLOC_GROW(m->resources, m->nresources + 1, m->aresources);
	m->resources[m->nresources++] = r;
}

/* A fleet resource (spec.systems: [names], optional spec.rolling.batchSize): one copy per System,
 * named NAME-SYSTEM, each with spec.system set; with rolling, every copy of a batch depends on
 * every copy of the batch before, so a failing batch stops the ones after it (their copies are
 * skipped) while the copies of one batch run in parallel under -j. */
static void add_fleet(struct model *m, const struct manifest_doc *d, const struct view *dv, const struct registry *reg,
                      const char *group, const char *version, const char *default_project)
{
	json_t *spec = json_object_get(d->root, "spec");
	json_t *systems = json_object_get(spec, "systems"), *rolling = json_object_get(spec, "rolling");
	json_t *batch = json_object_get(rolling, "batchSize");
	const char *name = vget(dv, "metadata.name"), *kind = vget(dv, "kind");
	if (!json_is_array(systems) || !json_array_size(systems)) {
		manifest_error(&m->errors, d, "spec.systems", "expected a non-empty sequence of System names");
		return;
	}
	if (json_object_get(spec, "system")) {
		manifest_error(&m->errors, d, "spec.system", "give either system (one System) or systems (a fleet), not both");
		return;
	}
	if (rolling && (!json_is_object(rolling) || !json_is_integer(batch) || json_integer_value(batch) < 1)) {
		manifest_error(&m->errors, d, "spec.rolling.batchSize", "expected a whole number of Systems per batch, 1 or more");
		return;
	}
	size_t n = json_array_size(systems), per = batch ? (size_t)json_integer_value(batch) : n;
	for (size_t i = 0; i < n; i++) {
		const char *sys = json_string_value(json_array_get(systems, i));
		if (!sys || strchr(sys, '$')) {
			char *f = xasprintf("spec.systems[%zu]", i);
			manifest_error(&m->errors, d, f, "expected the name of a System");
			free(f);
			return;
		}
		char *copy = xasprintf("%s-%s", name, sys);
		bool ok = model_name_valid(copy);
		free(copy);
		if (!ok) {
			char *f = xasprintf("spec.systems[%zu]", i);
			manifest_error(&m->errors, d, f, "the copy of '%s' for System '%s' would be named '%s-%s', not a valid name (at most 63 characters)",
			               name, sys, name, sys);
			free(f);
			return;
		}
	}
	struct strv before = { 0 }, current = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *sys = json_string_value(json_array_get(systems, i));
		char *copy = xasprintf("%s-%s", name, sys);
		struct fleet_copy fc = { copy, sys, &before };
		add_resource(m, d, dv, reg, group, version, kind, default_project, NULL, &fc);
		char *id = xasprintf("%s/%s", kind, copy);
		strv_push_owned(&current, id);
		free(copy);
		if ((i + 1) % per == 0 || i + 1 == n) {
			strv_release(&before);
			before = current;
			memset(&current, 0, sizeof(current));
		}
	}
	strv_release(&before);
	strv_release(&current);
}

/* An output name: a letter or '_', then letters, digits, '_' or '-' (Terraform's rule). */
static bool valid_output_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	size_t n = strlen(s);
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Check Project p's spec.events.sinks (docs/events.md): values the field table cannot check. */
static void check_sinks(struct model *m, struct project *p)
{
	if (!p->doc)
		return;
	struct sink_config *v;
	size_t n;
	if (events_sinks_parse(p->doc, p->doc->root, &v, &n, &m->errors))
		return;
	for (size_t i = 0; i < n; i++)
		sink_config_free(&v[i]);
	free(v);
}

/* Check Project p's spec.outputs: shapes, names, and that every ${Kind/name.outputs.key} names
 * a resource of the project (or one another environment has). */
static void check_outputs(struct model *m, struct project *p)
{
	const char *name;
	json_t *o;
	json_object_foreach((json_t *)p->outputs, name, o) {
		char *f = xasprintf("spec.outputs.%s", name);
		json_t *value = o;
		if (!valid_output_name(name)) {
			manifest_error(&m->errors, p->doc, f, "invalid output name '%s': expected a letter or '_' followed by letters, digits, '_' or '-'", name);
		} else if (json_is_object(o)) {
			value = json_object_get(o, "value");
			json_t *sens = json_object_get(o, "sensitive"), *desc = json_object_get(o, "description");
			char *fv = xasprintf("%s.value", f);
			if (!value)
				manifest_error(&m->errors, p->doc, f, "missing field 'value', expected an expression such as \"${Service/web.outputs.url}\"");
			else if (json_is_object(value) || json_is_array(value) || json_is_null(value))
				manifest_error(&m->errors, p->doc, fv, "expected a string expression or a scalar, got %s", json_type_phrase(value));
			if (sens && !json_is_boolean(sens)) {
				char *fs = xasprintf("%s.sensitive", f);
				manifest_error(&m->errors, p->doc, fs, "expected true or false, got %s", json_type_phrase(sens));
				free(fs);
			}
			if (desc && !json_is_string(desc)) {
				char *fd = xasprintf("%s.description", f);
				manifest_error(&m->errors, p->doc, fd, "expected a string, got %s", json_type_phrase(desc));
				free(fd);
			}
			free(fv);
		} else if (json_is_array(o) || json_is_null(o)) {
			manifest_error(&m->errors, p->doc, f, "expected a string expression or {value: EXPR, description, sensitive}, got %s",
			               json_type_phrase(o));
			value = NULL;
		}
		if (json_is_string(value)) {
			struct strv refs = STRV_INIT;
			vars_collect_refs(value, &refs);
			for (size_t k = 0; k < refs.n; k++) {
				if (model_find(m, p->name, refs.v[k]))
					continue;
				char *key = xasprintf("%s:%s", p->name, refs.v[k]);
				bool away = strv_has(&m->elsewhere, key);
				free(key);
				if (away)
					continue; /* not in this environment: the output has no value here */
				const char **ids = xcalloc(m->nresources + 1, sizeof(*ids));
				size_t nids = 0;
				for (size_t i = 0; i < m->nresources; i++)
					if (!strcmp(m->resources[i]->project, p->name))
						ids[nids++] = m->resources[i]->id;
				char *fr = json_is_object(o) ? xasprintf("%s.value", f) : xstrdup(f);
				struct diag *dg = manifest_error(&m->errors, p->doc, fr, "unknown reference '%s' (no such resource in project '%s')",
				                                 refs.v[k], p->name);
				free(fr);
				const char *best = model_suggest(refs.v[k], ids, nids);
				if (best)
					diag_hint(dg, "did you mean '%s'?", best);
				free(ids);
			}
			strv_release(&refs);
		}
		free(f);
	}
}

/* Rollout hooks that name a resource other than a Task (`task: Migration/NAME`): the hook
 * applies it (the engine's call.apply_now), so it must exist in the project and its kind must
 * apply. It is ordered after the Rollout (applied there by the hook when a new release starts,
 * else after it), and the Rollout after what it depends on. A Rollout that lists it in dependsOn
 * keeps it first (the hook then applies it again). */
static void hook_resources(struct model *m)
{
	size_t n = m->nresources;
	for (size_t ri = 0; ri < n; ri++) {
		struct resource *r = m->resources[ri];
		if (strcmp(r->group, CORE_GROUP) || strcmp(r->kind, "Rollout"))
			continue;
		const char *stage;
		json_t *list;
		json_object_foreach(json_object_get(r->spec, "hooks"), stage, list) {
			size_t i;
			json_t *h;
			json_array_foreach(list, i, h) {
				const char *id = json_string_value(json_object_get(h, "task"));
				if (!id || !strncmp(id, "Task/", 5) || !strchr(id, '/') || json_object_get(h, "run"))
					continue; /* a Task, or a shape the Rollout's validate refuses */
				char *f = xasprintf("spec.hooks.%s[%zu].task", stage, i);
				struct resource *x = model_find(m, r->project, id);
				char *key = xasprintf("%s:%s", r->project, id);
				bool away = strv_has(&m->elsewhere, key);
				free(key);
				if (!x && away) {
					manifest_error(&m->errors, r->doc, f, "'%s' is not deployed to environment '%s' (its metadata.environments leaves it out)",
					               id, m->env_name);
				} else if (!x) {
					const char **ids = xcalloc(n + 1, sizeof(*ids));
					size_t nids = 0;
					for (size_t k = 0; k < n; k++)
						if (!strcmp(m->resources[k]->project, r->project) && m->resources[k] != r)
							ids[nids++] = m->resources[k]->id;
					struct diag *dg = manifest_error(&m->errors, r->doc, f, "unknown resource '%s' (no such resource in project '%s')",
					                                 id, r->project);
					const char *best = model_suggest(id, ids, nids);
					if (best)
						diag_hint(dg, "did you mean '%s'?", best);
					free(ids);
				} else if (x == r || (x->handler && !x->handler->ops.apply)) {
					manifest_error(&m->errors, r->doc, f, "%s cannot run as a hook: %s", id,
					               x == r ? "it is this Rollout" : "its kind has no apply (expected a Task, a Migration or another kind that applies)");
				} else if (!strv_has(&r->deps, x->id)) {
					for (size_t k = 0; k < x->deps.n; k++)
						if (strcmp(x->deps.v[k], r->id) && !strv_has(&r->deps, x->deps.v[k]))
							strv_push(&r->deps, x->deps.v[k]);
					if (!strv_has(&x->deps, r->id))
						strv_push(&x->deps, r->id);
				}
				free(f);
			}
		}
	}
}

static bool split_api(const char *api, char **group, char **version)
{
	const char *slash = strchr(api, '/');
	if (!slash || slash == api || !slash[1] || strchr(slash + 1, '/'))
		return false;
	*group = xstrndup(api, (size_t)(slash - api));
	*version = xstrdup(slash + 1);
	return true;
}

int model_build(struct model *m, const struct manifest_set *ms, const struct registry *reg,
                const char *env_name)
{
	model_release(m);   /* what an earlier build left; artifact and overrides stay */
	/* pass 1: envelope and core kinds */
	bool *is_core = xcalloc(ms->n + 1, sizeof(bool));
	bool *valid = xcalloc(ms->n + 1, sizeof(bool));
	for (size_t i = 0; i < ms->n; i++) {
		const struct manifest_doc *d = ms->docs[i];
		if (!json_is_object(d->root)) {
			manifest_error(&m->errors, d, "", "expected a mapping with apiVersion, kind, metadata and spec, got %s",
			               json_type_phrase(d->root));
			continue;
		}
		struct view dv;
		view_init(&dv, d->root);
		if (!check_fields(m, d, &dv, "*"))
			continue;
		const char *api = vget(&dv, "apiVersion"), *kind = vget(&dv, "kind");
		const char *name = vget(&dv, "metadata.name");
		char *g = NULL, *v = NULL;
		if (!split_api(api, &g, &v)) {
			manifest_error(&m->errors, d, "apiVersion", "expected GROUP/VERSION (e.g. cratis/v1), got '%s'", api);
			continue;
		}
		if (!check_name(m, d, "metadata.name", name)) {
			free(g);
			free(v);
			continue;
		}
		valid[i] = true;
		schema_check(&m->errors, d, reg);  /* unknown fields (strict fields, schema.h) */
		if (!strcmp(g, CORE_GROUP) && (!strcmp(kind, "Rollout") || !strcmp(kind, "Experiment"))) {
			/* a core kind served by a built-in handler (rollout, experiment): a resource like any other */
		} else if (!strcmp(g, CORE_GROUP)) {
			is_core[i] = true;
			if (strcmp(v, CORE_VERSION)) {
				manifest_error(&m->errors, d, "apiVersion", "version '%s' of core kind %s is not supported (supported: cratis/v1)", v, kind);
			} else if (!strcmp(kind, "System") || !strcmp(kind, "Environment") || !strcmp(kind, "Project")) {
				if (check_fields(m, d, &dv, kind)) {
					if (!strcmp(kind, "System")) {
						ALLOC_GROW(m->systems, m->nsystems + 1, m->asystems);
						struct system *s = &m->systems[m->nsystems++];
						s->name = name;
						s->type = sget(d->root, "spec.type") ? sget(d->root, "spec.type") : "local";
						json_t *ag = json_object_get(json_object_get(d->root, "spec"), "agent");
						if (ag && !json_is_boolean(ag))
							manifest_error(&m->errors, d, "spec.agent", "expected true or false, got %s", json_type_phrase(ag));
						s->agent = json_is_true(ag);
						s->doc = d;
					} else if (!strcmp(kind, "Environment")) {
						ALLOC_GROW(m->envs, m->nenvs + 1, m->aenvs);
						struct environment *e = &m->envs[m->nenvs++];
						memset(e, 0, sizeof(*e));
						e->name = name;
						fill_strv(&e->systems, get_path(d->root, "spec.systems"));
						/* ${env:...} inside variable values resolves here, in the model's
						 * own copy: the document stays as loaded */
						json_t *vars = get_path(d->root, "spec.variables");
						if (vars) {
							e->variables = json_deep_copy(vars);
							/* {value: V, sensitive: true}: V, its name remembered */
							const char *vk;
							json_t *vv;
							json_object_foreach(e->variables, vk, vv) {
								json_t *val = json_object_get(vv, "value");
								if (json_is_object(vv) && val && json_is_true(json_object_get(vv, "sensitive"))) {
									strv_push(&e->sensitive, vk);
									json_object_set(e->variables, vk, val);
								}
							}
							struct vars_ctx vc = { .partial = true, .artifact = m->artifact,
							                       .artifact_payload = m->artifact_payload };
							struct var_err ve = { m, d };
							vars_expand_tree(&e->variables, "spec.variables", &vc, on_var_error, &ve);
						}
						e->doc = d;
					} else {
						ALLOC_GROW(m->projects, m->nprojects + 1, m->aprojects);
						struct project *p = &m->projects[m->nprojects++];
						memset(p, 0, sizeof(*p));
						p->name = name;
						fill_strv(&p->environments, get_path(d->root, "spec.environments"));
						p->outputs = get_path(d->root, "spec.outputs");
						p->doc = d;
					}
				}
			} else {
				static const char *const core[] = { "System", "Environment", "Project", "Rollout", "Experiment" };
				struct diag *dg = manifest_error(&m->errors, d, "kind", "unknown core kind '%s' (cratis/v1 has System, Environment, Project, Rollout, Experiment)", kind);
				const char *best = model_suggest(kind, core, 5);
				if (best)
					diag_hint(dg, "did you mean kind '%s'?", best);
			}
		}
		free(g);
		free(v);
	}
	/* duplicates among core documents, and references between them */
	for (size_t i = 0; i < m->nsystems; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->systems[i].name, m->systems[j].name))
				manifest_error(&m->errors, m->systems[i].doc, "metadata.name", "duplicate System/%s", m->systems[i].name);
	for (size_t i = 0; i < m->nenvs; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->envs[i].name, m->envs[j].name))
				manifest_error(&m->errors, m->envs[i].doc, "metadata.name", "duplicate Environment/%s", m->envs[i].name);
		for (size_t k = 0; k < m->envs[i].systems.n; k++) {
			bool found = false;
			for (size_t s = 0; s < m->nsystems; s++)
				found |= !strcmp(m->systems[s].name, m->envs[i].systems.v[k]);
			if (!found) {
				char *f = xasprintf("spec.systems[%zu]", k);
				manifest_error(&m->errors, m->envs[i].doc, f, "unknown system '%s'", m->envs[i].systems.v[k]);
				free(f);
			}
		}
	}
	for (size_t i = 0; i < m->nprojects; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->projects[i].name, m->projects[j].name))
				manifest_error(&m->errors, m->projects[i].doc, "metadata.name", "duplicate Project/%s", m->projects[i].name);
		for (size_t k = 0; k < m->projects[i].environments.n; k++) {
			bool found = false;
			for (size_t e = 0; e < m->nenvs; e++)
				found |= !strcmp(m->envs[e].name, m->projects[i].environments.v[k]);
			if (!found) {
				char *f = xasprintf("spec.environments[%zu]", k);
				struct diag *dg = manifest_error(&m->errors, m->projects[i].doc, f, "unknown environment '%s'", m->projects[i].environments.v[k]);
				const char **names = xcalloc(m->nenvs + 1, sizeof(*names));
				for (size_t e = 0; e < m->nenvs; e++)
					names[e] = m->envs[e].name;
				const char *best = model_suggest(m->projects[i].environments.v[k], names, m->nenvs);
				if (best)
					diag_hint(dg, "did you mean '%s'?", best);
				free(names);
				free(f);
			}
		}
	}
	/* the environment to deploy */
	char *envs = env_names(m);
	if (env_name && *env_name) {
		for (size_t i = 0; i < m->nenvs; i++)
			if (!strcmp(m->envs[i].name, env_name))
				m->env = &m->envs[i];
		if (!m->env) {
			struct diag *dg = diags_errorf(&m->errors, CRATIS_EINVAL, "--env: unknown environment '%s' (defined: %s)", env_name, envs);
			const char **names = xcalloc(m->nenvs + 1, sizeof(*names));
			for (size_t i = 0; i < m->nenvs; i++)
				names[i] = m->envs[i].name;
			const char *best = model_suggest(env_name, names, m->nenvs);
			if (best)
				diag_hint(dg, "did you mean '%s'?", best);
			free(names);
		}
	} else if (m->nenvs == 1) {
		m->env = &m->envs[0];
	} else if (m->nenvs > 1) {
		diags_errorf(&m->errors, CRATIS_EINVAL, "--env: several environments are defined (%s); choose one with --env NAME", envs);
	}
	free(envs);
	if (m->env && m->overrides && json_object_size(m->overrides)) {
		/* promotion: the promoted variables take the values the source environment deployed
		 * (in this build's copy only) */
		if (!m->env->variables)
			m->env->variables = json_object();
		json_object_update(m->env->variables, (json_t *)m->overrides);
	}
	if (m->env) {
		m->env_name = m->env->name;
		for (size_t i = 0; i < m->nprojects; i++) {
			const struct project *p = &m->projects[i];
			if (p->environments.n && !strv_has(&p->environments, m->env->name))
				manifest_error(&m->errors, p->doc, "spec.environments", "scope violation: project '%s' is not deployed to environment '%s'",
				               p->name, m->env->name);
		}
	}
	/* System types: only the Systems the selected environment can deploy to (every System when
	 * no Environment is defined) must be implemented; another environment's System may need a
	 * plugin this machine does not have */
	if (m->env || !m->nenvs) {
		for (size_t i = 0; i < m->nsystems; i++) {
			const struct system *s = &m->systems[i];
			if ((m->env && !strv_has(&m->env->systems, s->name)) || system_type_known(reg, s->type))
				continue;
			struct buf avail = BUF_INIT;
			system_types_list(reg, &avail);
			char *q = quote_name(s->type);
			manifest_error(&m->errors, s->doc, "spec.type", "unknown system type '%s' of System/%s: no plugin implements it (available: %s)",
			               q, s->name, avail.ptr);
			free(q);
			buf_release(&avail);
		}
	}
	/* pass 2: plugin resources */
	const char *default_project = m->nprojects == 1 ? m->projects[0].name : m->nprojects == 0 ? "default" : NULL;
	const char *default_system = m->nsystems == 1 ? m->systems[0].name : NULL;
	for (size_t i = 0; i < ms->n; i++) {
		if (!valid[i] || is_core[i])
			continue;
		const struct manifest_doc *d = ms->docs[i];
		char *g = NULL, *v = NULL;
		struct view dv;
		view_init(&dv, d->root);
		split_api(vget(&dv, "apiVersion"), &g, &v);
		if (json_object_get(json_object_get(d->root, "spec"), "systems"))
			add_fleet(m, d, &dv, reg, g, v, default_project);
		else
			add_resource(m, d, &dv, reg, g, v, vget(&dv, "kind"), default_project, default_system, NULL);
		free(g);
		free(v);
	}
	/* dependencies must exist */
	for (size_t i = 0; i < m->nresources; i++) {
		struct resource *r = m->resources[i];
		for (size_t k = 0; k < r->deps.n; k++) {
			if (model_find(m, r->project, r->deps.v[k]))
				continue;
			char *key = xasprintf("%s:%s", r->project, r->deps.v[k]);
			bool away = strv_has(&m->elsewhere, key);
			free(key);
			char *f = NULL;
			json_t *dep = json_object_get(r->doc->root, "spec");
			dep = dep ? json_object_get(dep, "dependsOn") : NULL;
			for (size_t j = 0; json_is_array(dep) && j < json_array_size(dep); j++)
				if (!strcmp(json_string_value(json_array_get(dep, j)), r->deps.v[k]))
					f = xasprintf("spec.dependsOn[%zu]", j);
			if (away)
				manifest_error(&m->errors, r->doc, f ? f : "spec", "'%s' is not deployed to environment '%s' (its metadata.environments leaves it out)",
				               r->deps.v[k], m->env_name);
			else
				manifest_error(&m->errors, r->doc, f ? f : "spec", "unknown reference '%s' (no such resource in project '%s')",
				               r->deps.v[k], r->project);
			free(f);
		}
	}
	hook_resources(m);
	for (size_t i = 0; i < m->nprojects; i++) {
		check_outputs(m, &m->projects[i]);
		check_sinks(m, &m->projects[i]);
	}
	free(is_core);
	free(valid);
	return m->errors.n ? error_set(CRATIS_EINVAL, "%zu error%s in manifests", m->errors.n, m->errors.n == 1 ? "" : "s")
	                   : CRATIS_OK;
}

bool model_owns_project(const struct model *m, const char *project)
{
	if (m->state_only)
		return true;
	if (!m->nprojects)
		return !strcmp(project, "default");
	for (size_t i = 0; i < m->nprojects; i++)
		if (!strcmp(m->projects[i].name, project))
			return true;
	return false;
}

json_t *model_environments(const struct manifest_set *ms)
{
	json_t *out = json_array();
	for (size_t i = 0; i < ms->n; i++) {
		json_t *root = ms->docs[i]->root;
		if (!json_is_object(root))
			continue;
		const char *api = sget(root, "apiVersion"), *kind = sget(root, "kind"), *name = sget(root, "metadata.name");
		if (!api || !kind || !name || strcmp(api, CORE_GROUP "/" CORE_VERSION) || strcmp(kind, "Environment"))
			continue;
		json_t *systems = json_array(), *vars = json_array(), *sens = json_array();
		json_t *ss = get_path(root, "spec.systems");
		for (size_t k = 0; json_is_array(ss) && k < json_array_size(ss); k++)
			if (json_is_string(json_array_get(ss, k)))
				json_array_append(systems, json_array_get(ss, k));
		const char *vk;
		json_t *vv;
		json_t *vs = get_path(root, "spec.variables");
		json_object_foreach(json_is_object(vs) ? vs : NULL, vk, vv) {
			json_array_append_new(vars, json_string(vk));
			if (json_is_object(vv) && json_object_get(vv, "value") && json_is_true(json_object_get(vv, "sensitive")))
				json_array_append_new(sens, json_string(vk));
		}
		json_array_append_new(out, json_pack("{s:s,s:o,s:o,s:o}", "name", name, "systems", systems, "variables", vars,
		                                     "sensitive", sens));
	}
	return out;
}
