/* cratis render: the capability resources of one environment as an OpenTofu root module for one
 * provider, in the layout `terraform fmt` writes (same input, same bytes). */
#define _GNU_SOURCE
#include "capability.h"
#include "cost.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "banned.h"

/* The local name of each provider in required_providers and its provider block. */
static const char *const local_names[CAP_NPROVIDERS] = { "aws", "google", "azurerm" };

void render_result_init(struct render_result *r)
{
	memset(r, 0, sizeof(*r));
	diags_init(&r->warnings);
}

void render_result_release(struct render_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->files[i].path);
		buf_release(&r->files[i].data);
	}
	free(r->files);
	free(r->provider);
	free(r->region);
	diags_release(&r->warnings);
	memset(r, 0, sizeof(*r));
}

static struct buf *add_file(struct render_result *r, const char *path)
{
	ALLOC_GROW(r->files, r->n + 1, r->alloc);
	struct render_file *f = &r->files[r->n++];
	f->path = xstrdup(path);
	buf_init(&f->data);
	return &f->data;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct render_file *)a)->path, ((const struct render_file *)b)->path);
}

/* An HCL identifier from s: letters, digits, '_' and '-' kept, others as '_', lowercase, a
 * leading digit or '-' prefixed with '_'. */
static void ident(struct buf *b, const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		buf_addch(b, '_');
	for (; *s; s++)
		buf_addch(b, isalnum((unsigned char)*s) || *s == '-' || *s == '_' ? (char)tolower((unsigned char)*s) : '_');
}

/* snake_case of a CamelCase kind: ObjectStorage -> object_storage. */
static void snake(struct buf *b, const char *kind)
{
	for (const char *s = kind; *s; s++) {
		if (isupper((unsigned char)*s) && s != kind)
			buf_addch(b, '_');
		buf_addch(b, (char)tolower((unsigned char)*s));
	}
}

/* A capability resource of the environment with what rendering it needs. */
struct item {
	const struct resource *res;
	const json_t *spec;         /* the spec rendered: res->spec, or the one cap_render_resource got */
	const struct cap_kind *kind;
	const json_t *impl;
	char *module;               /* module name in the root module */
};

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->module, ((const struct item *)b)->module);
}

struct ctx {
	struct item *items;
	size_t n;
	int pi;
	const struct model *m;
	struct diags *d;
	struct diags *warnings;
	bool failed;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append the HCL string literal of s; ${Kind/name.outputs.key} references to capability outputs
 * become ${module.M.OUTPUT} interpolations; $${ stays an escaped ${; %{ is escaped. */
static void hcl_string(struct ctx *c, const struct item *it, const char *field, struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			buf_adds(b, "$${");
			p += 2;
		} else if (p[0] == '$' && p[1] == '{' && !it) {
			buf_adds(b, "$${");  /* no references outside a resource: a literal ${ */
			p++;
		} else if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p, '}');
			char *ref = end ? xstrndup(p + 2, (size_t)(end - p - 2)) : xstrdup(p + 2);
			char *dot = strstr(ref, ".outputs.");
			const struct item *target = NULL;
			const char *mod_out = NULL;
			if (dot) {
				*dot = '\0';
				for (size_t i = 0; i < c->n && !target; i++)
					if (!strcmp(c->items[i].res->id, ref) && !strcmp(c->items[i].res->project, it->res->project))
						target = &c->items[i];
				if (target)
					mod_out = json_string_value(json_object_get(json_object_get(target->impl, "outputs"), dot + 9));
			}
			if (!mod_out) {
				manifest_error(c->d, it->res->doc, field,
				               "'${%s%s%s}' is not an output of a capability in this project (render can wire only capability outputs: %s)",
				               ref, dot ? ".outputs." : "", dot ? dot + 9 : "",
				               target ? "that kind declares no such output" : "no such capability resource");
				c->failed = true;
			} else {
				buf_addf(b, "${module.%s.%s}", target->module, mod_out);
			}
			free(ref);
			if (!end)
				break;
			p = end;
		} else if (p[0] == '%' && p[1] == '{') {
			buf_adds(b, "%%{");
			p++;
		} else if (ch == '"' || ch == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, (char)ch);
		} else if (ch == '\n') {
			buf_adds(b, "\\n");
		} else if (ch == '\t') {
			buf_adds(b, "\\t");
		} else if (ch == '\r') {
			buf_adds(b, "\\r");
		} else if (ch < 0x20) {
			buf_addf(b, "\\u%04x", ch);
		} else {
			buf_addch(b, (char)ch);
		}
	}
	buf_addch(b, '"');
}

static bool is_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* Append v as an HCL expression on one line (objects as { k = v, ... } in key order). */
static void hcl_value(struct ctx *c, const struct item *it, const char *field, struct buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		hcl_string(c, it, field, b, json_string_value(v));
	} else if (json_is_integer(v)) {
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
		buf_adds(b, s);
		free(s);
	} else if (json_is_boolean(v)) {
		buf_adds(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		buf_addch(b, '[');
		json_array_foreach(v, i, e) {
			if (i)
				buf_adds(b, ", ");
			hcl_value(c, it, field, b, e);
		}
		buf_addch(b, ']');
	} else if (json_is_object(v)) {
		size_t n = json_object_size(v), k = 0;
		if (!n) {
			buf_adds(b, "{}");
			return;
		}
		const char **keys = xcalloc(n, sizeof(*keys));
		const char *key;
		json_t *e;
		json_object_foreach((json_t *)v, key, e)
			keys[k++] = key;
		qsort(keys, n, sizeof(*keys), cmp_key);
		buf_adds(b, "{ ");
		for (k = 0; k < n; k++) {
			if (k)
				buf_adds(b, ", ");
			if (is_ident(keys[k]))
				buf_adds(b, keys[k]);
			else
				hcl_string(c, it, field, b, keys[k]);
			buf_adds(b, " = ");
			hcl_value(c, it, field, b, json_object_get(v, keys[k]));
		}
		buf_adds(b, " }");
		free(keys);
	} else {
		buf_adds(b, "null");
	}
}

/* Attributes of one block, written with their '=' aligned as `terraform fmt` aligns a run of
 * single-line attributes. */
struct attrs {
	struct strv names, values;
};

static void attrs_add(struct attrs *a, const char *name, char *value)
{
	strv_push(&a->names, name);
	strv_push_owned(&a->values, value);
}

static void attrs_flush(struct attrs *a, struct buf *b, const char *indent)
{
	size_t w = 0;
	for (size_t i = 0; i < a->names.n; i++)
		if (strlen(a->names.v[i]) > w)
			w = strlen(a->names.v[i]);
	for (size_t i = 0; i < a->names.n; i++)
		buf_addf(b, "%s%-*s = %s\n", indent, (int)w, a->names.v[i], a->values.v[i]);
	strv_release(&a->names);
	strv_release(&a->values);
}

static char *quoted(const char *s)
{
	struct buf b = BUF_INIT;
	struct ctx c = { 0 };
	hcl_string(&c, NULL, NULL, &b, s);
	return buf_detach(&b);
}

/* The value of spec path "spec.X" for it: the manifest's, else the field's default, or NULL. */
static const json_t *spec_value(const struct item *it, const char *path)
{
	const json_t *v = json_object_get(it->spec, path + 5);
	if (v)
		return v;
	size_t i;
	json_t *f;
	json_array_foreach(it->kind->fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "path")), path))
			return json_object_get(f, "default");
	return NULL;
}

static void render_module(struct ctx *c, const struct item *it, const char *cloud_name, struct buf *b)
{
	const char *prov = cap_providers[c->pi];
	const char *mod = json_string_value(json_object_get(it->impl, "module"));
	buf_addf(b, "\n# %s (%s)\nmodule \"%s\" {\n  source = \"./modules/%s/%s/%s\"\n\n", it->res->id,
	         it->kind->api_version, it->module, it->kind->plugin->name, prov, mod);
	struct attrs a = { STRV_INIT, STRV_INIT };
	const char *var;
	json_t *src;
	json_object_foreach(json_object_get(it->impl, "inputs"), var, src) {
		const char *s = json_string_value(src);
		struct buf v = BUF_INIT;
		if (!strcmp(s, "name")) {
			buf_adds(&v, cloud_name);
		} else if (!strcmp(s, "tags")) {
			buf_adds(&v, "local.tags");
		} else if (!strcmp(s, "region")) {
			buf_adds(&v, "local.region");
		} else if (!strcmp(s, "resource_group")) {
			buf_adds(&v, "azurerm_resource_group.this.name");
		} else {
			const json_t *size = json_object_get(it->impl, "size");
			bool is_size = !strcmp(s, "size");
			const char *path = is_size ? json_string_value(json_object_get(size, "from")) : s;
			const json_t *val = spec_value(it, path);
			if (is_size && json_is_string(val))
				val = json_object_get(json_object_get(size, "map"), json_string_value(val));
			if (!val) {
				manifest_error(c->d, it->res->doc, path, "no value for '%s' (module input '%s' of %s/%s) and no default",
				               path, var, prov, mod);
				c->failed = true;
			} else {
				hcl_value(c, it, path, &v, val);
			}
		}
		attrs_add(&a, var, buf_detach(&v));
	}
	/* provider options: only those of this provider, each drawing a lock-in warning */
	const json_t *opts = json_object_get(json_object_get(it->spec, "providerOptions"), prov);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(it->impl, "options"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const json_t *v = json_object_get(opts, name);
		if (!v)
			continue;
		char *field = xasprintf("spec.providerOptions.%s.%s", prov, name);
		struct buf vb = BUF_INIT;
		hcl_value(c, it, field, &vb, v);
		attrs_add(&a, json_string_value(json_object_get(o, "input")), buf_detach(&vb));
		free(field);
	}
	/* each provider option used draws a lock-in warning (the text plan and cost print too) */
	cap_lock_in_resource(c->warnings, it->kind, it->res, c->pi);
	attrs_flush(&a, b, "  ");
	buf_adds(b, "}\n");
}

/* modules/<plugin>/<provider>/<module>/{main,variables,outputs}.tf copied from the plugin. */
static int copy_module(struct render_result *r, const struct item *it, int pi, struct diags *d)
{
	static const char *const files[] = { "main.tf", "outputs.tf", "variables.tf" };
	const char *mod = json_string_value(json_object_get(it->impl, "module"));
	for (size_t i = 0; i < 3; i++) {
		char *rel = xasprintf("modules/%s/%s/%s/%s", it->kind->plugin->name, cap_providers[pi], mod, files[i]);
		bool have = false;
		for (size_t k = 0; k < r->n && !have; k++)
			have = !strcmp(r->files[k].path, rel);
		if (!have) {
			char *src = xasprintf("%s/modules/%s/%s/%s", it->kind->plugin->dir, cap_providers[pi], mod, files[i]);
			struct buf *b = add_file(r, rel);
			if (buf_read_file(b, src, 4 << 20) < 0) {
				diags_errorf(d, CRATIS_EIO, "cannot read module file '%s': %s", src, strerror(errno));
				free(src);
				free(rel);
				return CRATIS_EIO;
			}
			free(src);
		}
		free(rel);
	}
	return CRATIS_OK;
}

static const char *env_spec_string(const struct model *m, const char *key)
{
	if (!m->env || !m->env->doc)
		return NULL;
	return json_string_value(json_object_get(json_object_get(m->env->doc->root, "spec"), key));
}

/* cap_render, or with only set, cap_render_resource: the resource of id only, with spec. */
static int render(struct render_result *out, const struct cap_catalog *cat, const struct model *m,
                  const char *provider, const char *only, const json_t *spec, struct diags *d)
{
	size_t before = diags_errors(d);
	const char *envname = m->env ? m->env->name : "";
	const struct manifest_doc *envdoc = m->env ? m->env->doc : NULL;
	if (!provider)
		provider = env_spec_string(m, "provider");
	if (!provider) {
		struct diag *dg = manifest_error(d, envdoc, "spec", "environment '%s' names no provider", envname);
		diag_hint(dg, "set spec.provider (aws, gcp or azure) in the Environment, or pass --provider");
		return CRATIS_EINVAL;
	}
	int pi = cap_provider_index(provider);
	const json_t *pdef = pi < 0 ? NULL : cap_catalog_provider(cat, provider);
	if (pi < 0 || !pdef) {
		manifest_error(d, envdoc, "spec.provider", "unknown provider '%s': expected aws, gcp or azure%s", provider,
		               pi < 0 ? "" : " (no capability plugin declares it)");
		return CRATIS_EINVAL;
	}
	/* the Environment's region belongs to its own provider: another one (--provider) gets its default */
	const char *env_provider = env_spec_string(m, "provider");
	const char *region = !env_provider || !strcmp(env_provider, provider) ? env_spec_string(m, "region") : NULL;
	if (!region)
		region = json_string_value(json_object_get(pdef, "defaultRegion"));
	out->provider = xstrdup(provider);
	out->region = xstrdup(region ? region : "");

	struct ctx c = { .pi = pi, .m = m, .d = d, .warnings = &out->warnings };
	c.items = xcalloc(m->nresources + 1, sizeof(*c.items));
	for (size_t i = 0; i < m->nresources; i++) {
		const struct resource *r = m->resources[i];
		const struct cap_kind *k = cap_catalog_find(cat, r->group, r->kind, r->version);
		if (!k || (only && strcmp(r->id, only)))
			continue;
		if (!k->impl[pi]) {
			manifest_error(d, r->doc, "kind", "%s has no module for provider %s", r->kind, provider);
			continue;
		}
		struct item *it = &c.items[c.n++];
		it->res = r;
		it->spec = only && spec ? spec : r->spec;
		it->kind = k;
		it->impl = k->impl[pi];
		struct buf b = BUF_INIT;
		snake(&b, r->kind);
		buf_addch(&b, '_');
		ident(&b, r->name);
		it->module = buf_detach(&b);
	}
	qsort(c.items, c.n, sizeof(*c.items), cmp_item);
	for (size_t i = 1; i < c.n; i++)
		if (!strcmp(c.items[i].module, c.items[i - 1].module))
			manifest_error(d, c.items[i].res->doc, "metadata.name", "module name '%s' of %s is also that of %s",
			               c.items[i].module, c.items[i].res->id, c.items[i - 1].res->id);
	int rc = diags_errors(d) > before ? CRATIS_EINVAL : CRATIS_OK;
	if (!rc && only && !c.n) {
		diags_errorf(d, CRATIS_ENOTFOUND, "no capability resource '%s' in environment '%s'", only,
		             m->env ? m->env->name : "");
		rc = CRATIS_ENOTFOUND;
	}

	const char *lname = local_names[pi];
	const char *project = c.n ? c.items[0].res->project : (m->nprojects ? m->projects[0].name : "default");
	char *header = xasprintf("# Generated by cratis render for environment '%s' on %s. Do not edit: change the\n"
	                         "# manifests and render again.\n", envname, provider);
	/* versions.tf */
	struct buf *b = add_file(out, "versions.tf");
	buf_adds(b, header);
	buf_addf(b, "terraform {\n  required_version = \">= 1.6\"\n\n  required_providers {\n    %s = {\n", lname);
	char *src = quoted(json_string_value(json_object_get(pdef, "source")) ? json_string_value(json_object_get(pdef, "source")) : "");
	char *ver = quoted(json_string_value(json_object_get(pdef, "version")) ? json_string_value(json_object_get(pdef, "version")) : ">= 0");
	buf_addf(b, "      source  = %s\n      version = %s\n    }\n  }\n}\n", src, ver);
	free(src);
	free(ver);

	/* providers.tf */
	b = add_file(out, "providers.tf");
	buf_adds(b, header);
	buf_addf(b, "provider \"%s\" {\n", lname);
	struct attrs a = { STRV_INIT, STRV_INIT };
	const json_t *settings = envdoc ? json_object_get(json_object_get(json_object_get(envdoc->root, "spec"), "providerOptions"), provider) : NULL;
	if (pi != 2)
		attrs_add(&a, "region", quoted(out->region));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)settings, key, v) {
		struct buf vb = BUF_INIT;
		hcl_value(&c, NULL, NULL, &vb, v);
		attrs_add(&a, key, buf_detach(&vb));
	}
	attrs_flush(&a, b, "  ");
	if (pi == 2)
		buf_adds(b, json_object_size(settings) ? "\n  features {}\n" : "  features {}\n");
	buf_adds(b, "}\n");

	/* main.tf (built aside: copy_module adds files, which moves the file table) */
	struct buf mainb = BUF_INIT;
	b = &mainb;
	buf_adds(b, header);
	buf_adds(b, "locals {\n");
	attrs_add(&a, "region", quoted(out->region));
	struct buf tags = BUF_INIT;
	buf_adds(&tags, "{ ");
	char *qp = quoted(project), *qe = quoted(envname);
	buf_addf(&tags, "cratis-environment = %s, cratis-project = %s, managed-by = \"cratis\" }", qe, qp);
	free(qp);
	free(qe);
	attrs_add(&a, "tags", buf_detach(&tags));
	attrs_flush(&a, b, "  ");
	buf_adds(b, "}\n");
	if (pi == 2) {
		/* one resource deployed alone owns its resource group: <project>-<env>-<name> */
		char *rg = only && c.n ? xasprintf("%s-%s-%s", project, envname, c.items[0].res->name)
		                       : xasprintf("%s-%s", project, envname);
		char *qrg = quoted(rg);
		buf_addf(b, "\nresource \"azurerm_resource_group\" \"this\" {\n  name     = %s\n  location = local.region\n  tags     = local.tags\n}\n", qrg);
		free(qrg);
		free(rg);
	}
	for (size_t i = 0; i < c.n && !rc; i++) {
		const struct item *it = &c.items[i];
		char *cloud = xasprintf("%s-%s-%s", project, envname, it->res->name);
		char *qc = quoted(cloud);
		render_module(&c, it, qc, b);
		free(qc);
		free(cloud);
		if (copy_module(out, it, pi, d))
			rc = CRATIS_EIO;
	}
	if (c.failed && !rc)
		rc = CRATIS_EINVAL;
	b = add_file(out, "main.tf");
	buf_release(b);
	*b = mainb;

	/* outputs.tf */
	b = add_file(out, "outputs.tf");
	buf_adds(b, header);
	for (size_t i = 0; i < c.n && !rc; i++) {
		const struct item *it = &c.items[i];
		size_t k;
		json_t *o;
		json_array_foreach(json_object_get(it->kind->def, "outputs"), k, o) {
			const char *name = json_string_value(json_object_get(o, "name"));
			const char *mo = json_string_value(json_object_get(json_object_get(it->impl, "outputs"), name));
			char *desc = xasprintf("%s.outputs.%s", it->res->id, name);
			char *qd = quoted(desc);
			buf_addf(b, "%soutput \"%s_%s\" {\n  description = %s\n  value       = module.%s.%s\n}\n",
			         i || k ? "\n" : "", it->module, name, qd, it->module, mo);
			free(qd);
			free(desc);
		}
	}
	out->modules = c.n;
	free(header);
	for (size_t i = 0; i < c.n; i++)
		free(c.items[i].module);
	free(c.items);
	if (!rc)
		qsort(out->files, out->n, sizeof(*out->files), cmp_file);
	return rc;
}

int cap_render(struct render_result *out, const struct cap_catalog *cat, const struct model *m,
               const char *provider, struct diags *d)
{
	return render(out, cat, m, provider, NULL, NULL, d);
}

int cap_render_resource(struct render_result *out, const struct cap_catalog *cat, const struct model *m,
                        const char *provider, const char *id, const json_t *spec, struct diags *d)
{
	return render(out, cat, m, provider, id, spec, d);
}

int cap_render_write(const struct render_result *r, const char *dir)
{
	for (size_t i = 0; i < r->n; i++) {
		char *path = xasprintf("%s/%s", dir, r->files[i].path);
		char *slash = strrchr(path, '/');
		*slash = '\0';
		int rc = mkdir_p(path);
		*slash = '/';
		FILE *f = rc ? NULL : fopen(path, "wb");
		if (!f || fwrite(r->files[i].data.ptr, 1, r->files[i].data.len, f) != r->files[i].data.len) {
			int e = errno;
			if (f)
				fclose(f);
			error_set(CRATIS_EIO, "cannot write '%s': %s", path, strerror(e));
			free(path);
			return CRATIS_EIO;
		}
		if (fclose(f)) {
			error_set(CRATIS_EIO, "cannot write '%s': %s", path, strerror(errno));
			free(path);
			return CRATIS_EIO;
		}
		free(path);
	}
	return CRATIS_OK;
}
