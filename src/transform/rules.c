/* Loading transformation rules (plugins/<domain>/transformations/rules.yaml; format in
 * docs/transform.md): operations, their SDK signature and per-provider templates. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transform/internal.h"
#include "util/error.h"
#include "banned.h"

const char *const transform_providers[] = { "aws", "gcp", "azure", NULL };

bool transform_provider_known(const char *name)
{
	for (size_t i = 0; name && transform_providers[i]; i++)
		if (!strcmp(name, transform_providers[i]))
			return true;
	return false;
}

struct transform_rules *transform_rules_new(void)
{
	return xcalloc(1, sizeof(struct transform_rules));
}

static void impl_release(struct xf_impl *m)
{
	free(m->provider);
	strv_release(&m->imports);
	strv_release(&m->setup);
	strv_release(&m->requirements);
	for (size_t i = 0; i < m->nsegs; i++)
		free(m->segs[i].text);
	free(m->segs);
}

static void op_release(struct xf_op *op)
{
	free(op->name);
	free(op->module);
	for (size_t i = 0; i < op->nparams; i++) {
		free(op->params[i].name);
		free(op->params[i].def);
	}
	free(op->params);
	for (size_t i = 0; i < op->nimpls; i++)
		impl_release(&op->impls[i]);
	free(op->impls);
	free(op->file);
}

void transform_rules_free(struct transform_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		op_release(&r->ops[i]);
	free(r->ops);
	free(r);
}

#ifndef CRATIS_RULES_DIRS
#define CRATIS_RULES_DIRS "/usr/local/share/cratis/plugins"
#endif

const char *transform_default_rules_path(void)
{
	return CRATIS_RULES_DIRS;
}

size_t transform_rules_count(const struct transform_rules *r)
{
	return r ? r->n : 0;
}

const struct xf_op *xf_find_op(const struct transform_rules *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->ops[i].name, name))
			return &r->ops[i];
	return NULL;
}

bool xf_module_known(const struct transform_rules *r, const char *module)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->ops[i].module, module))
			return true;
	return false;
}

const struct xf_impl *xf_find_impl(const struct xf_op *op, const char *provider)
{
	for (size_t i = 0; i < op->nimpls; i++)
		if (!strcmp(op->impls[i].provider, provider))
			return &op->impls[i];
	return NULL;
}

/* Loading context: the file, its diagnostics and the field path being read. */
struct ld {
	const char *file;
	struct diags *d;
	const struct transform_rules *have;   /* operations loaded before this file */
	bool skip_known;                       /* an operation in have: skip it (path search) */
};

static void node_pos(struct fy_node *n, int *line, int *col)
{
	/* a collection: where its first item (or key) is */
	for (int depth = 0; n && !fy_node_is_scalar(n) && depth < 64; depth++) {
		void *it = NULL;
		if (fy_node_is_sequence(n)) {
			n = fy_node_sequence_iterate(n, &it);
		} else if (fy_node_is_mapping(n)) {
			struct fy_node_pair *pr = fy_node_mapping_iterate(n, &it);
			n = pr ? fy_node_pair_key(pr) : NULL;
		} else {
			break;
		}
	}
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	*line = m && m->line >= 0 ? m->line + 1 : 0;
	*col = m && m->column >= 0 ? m->column + 1 : 0;
}

static void ld_error(struct ld *c, struct fy_node *at, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void ld_error(struct ld *c, struct fy_node *at, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(c->d, DIAG_ERROR, CRATIS_EINVAL, fmt, ap);
	va_end(ap);
	int line, col;
	node_pos(at, &line, &col);
	diag_locate(dg, c->file, line, col, field);
}

/* The scalar text of n as a new string, or NULL (with an error) when n is not a scalar. */
static char *scalar(struct ld *c, struct fy_node *n, struct fy_node *key, const char *field,
                    const char *expected)
{
	size_t len;
	const char *s = n && fy_node_is_scalar(n) && !fy_node_is_alias(n) ? fy_node_get_scalar(n, &len) : NULL;
	if (!s) {
		ld_error(c, n ? n : key, field, "expected %s", expected);
		return NULL;
	}
	if (memchr(s, '\0', len)) {
		ld_error(c, n, field, "expected %s without NUL bytes", expected);
		return NULL;
	}
	return xstrndup(s, len);
}

/* A string, or a sequence of strings, into out (each pushed). Returns false on error. */
static bool strings(struct ld *c, struct fy_node *n, struct fy_node *key, const char *field,
                    struct strv *out)
{
	if (n && fy_node_is_sequence(n)) {
		void *it = NULL;
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(n, &it))) {
			char *s = scalar(c, item, key, field, "a string");
			if (!s)
				return false;
			strv_push_owned(out, s);
		}
		return true;
	}
	char *s = scalar(c, n, key, field, "a string or a list of strings");
	if (!s)
		return false;
	strv_push_owned(out, s);
	return true;
}

/* Is the text one Python expression? *primary: it binds as tightly as a call does (so that it
 * can stand where a call stood without parentheses). */
static bool python_expression(const char *text, bool *primary)
{
	TSParser *p = ts_parser_new();
	bool ok = false;
	if (!p || !ts_parser_set_language(p, tree_sitter_python()))
		goto out_parser;
	TSTree *t = ts_parser_parse_string(p, NULL, text, (uint32_t)strlen(text));
	if (!t)
		goto out_parser;
	TSNode root = ts_tree_root_node(t);
	if (ts_node_has_error(root) || ts_node_named_child_count(root) != 1)
		goto out_tree;
	TSNode st = ts_node_named_child(root, 0);
	if (strcmp(ts_node_type(st), "expression_statement") || ts_node_named_child_count(st) != 1)
		goto out_tree;
	const char *k = ts_node_type(ts_node_named_child(st, 0));
	if (!strcmp(k, "assignment") || !strcmp(k, "augmented_assignment") || !strcmp(k, "yield"))
		goto out_tree; /* statements, not expressions */
	static const char *const primaries[] = { "call", "attribute", "subscript", "identifier", "list",
		"list_comprehension", "dictionary", "dictionary_comprehension", "set", "set_comprehension",
		"parenthesized_expression", "tuple", "string", "integer", "float", "true", "false", "none", NULL };
	*primary = false;
	for (size_t i = 0; primaries[i]; i++)
		if (!strcmp(k, primaries[i]))
			*primary = true;
	ok = true;
out_tree:
	ts_tree_delete(t);
out_parser:
	ts_parser_delete(p);
	return ok;
}

/* The field path prefix.leaf into f (static size; truncated past it, which only shortens a
 * message). */
struct fpath {
	char s[512];
};

static const char *fpath(struct fpath *f, const char *prefix, const char *leaf)
{
	size_t a = strlen(prefix), b = strlen(leaf);
	if (a > 300)
		a = 300;
	if (b > 200)
		b = 200;
	memcpy(f->s, prefix, a);
	f->s[a] = '.';
	memcpy(f->s + a + 1, leaf, b);
	f->s[a + 1 + b] = '\0';
	return f->s;
}

static int param_index(const struct xf_op *op, const char *name)
{
	for (size_t i = 0; i < op->nparams; i++)
		if (!strcmp(op->params[i].name, name))
			return (int)i;
	return -1;
}

static bool identifier(const char *s)
{
	if (!s[0] || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Split a code_template into literal text and {{ .name }} holes; name is a parameter_mapping
 * target (mapping: SDK parameter -> template name) or a parameter name. Checks the filled
 * template is one expression. */
static bool parse_template(struct ld *c, struct fy_node *n, const char *field, const char *tpl,
                           struct xf_op *op, struct fy_node *mapping, struct xf_impl *m)
{
	struct buf filled = BUF_INIT;
	const char *p = tpl;
	bool ok = false;
	for (;;) {
		const char *open = strstr(p, "{{");
		size_t lit = open ? (size_t)(open - p) : strlen(p);
		if (lit) {
			ALLOC_GROW(m->segs, m->nsegs + 1, m->alloc_segs);
			m->segs[m->nsegs++] = (struct xf_seg){ xstrndup(p, lit), -1 };
			buf_add(&filled, p, lit);
		}
		if (!open)
			break;
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			ld_error(c, n, field, "expected '}}' closing the '{{' at offset %zu", (size_t)(open - tpl));
			goto out;
		}
		const char *a = open + 2, *b = close;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		char *name = a < b && *a == '.' ? xstrndup(a + 1, (size_t)(b - a - 1)) : NULL;
		if (!name || !identifier(name)) {
			ld_error(c, n, field, "expected a hole of the form '{{ .name }}', got '%.*s'",
			         (int)(close + 2 - open), open);
			free(name);
			goto out;
		}
		/* the SDK parameter whose mapped name (or own name) this is */
		int idx = -1;
		if (mapping) {
			void *it = NULL;
			struct fy_node_pair *pr;
			while ((pr = fy_node_mapping_iterate(mapping, &it))) {
				const char *to = fy_node_get_scalar0(fy_node_pair_value(pr));
				const char *from = fy_node_get_scalar0(fy_node_pair_key(pr));
				if (to && from && !strcmp(to, name))
					idx = param_index(op, from);
			}
		}
		if (idx < 0)
			idx = param_index(op, name);
		if (idx < 0) {
			ld_error(c, n, field, "hole '{{ .%s }}' names no parameter of %s (parameters or parameter_mapping targets)",
			         name, op->name);
			free(name);
			goto out;
		}
		free(name);
		ALLOC_GROW(m->segs, m->nsegs + 1, m->alloc_segs);
		m->segs[m->nsegs++] = (struct xf_seg){ NULL, idx };
		buf_adds(&filled, "_");
		p = close + 2;
	}
	while (filled.len && (filled.ptr[filled.len - 1] == '\n' || filled.ptr[filled.len - 1] == ' '))
		filled.ptr[--filled.len] = '\0';
	/* a trailing newline of a block scalar (|) is not part of the expression */
	if (m->nsegs && m->segs[m->nsegs - 1].text) {
		char *t = m->segs[m->nsegs - 1].text;
		size_t l = strlen(t);
		while (l && (t[l - 1] == '\n' || t[l - 1] == ' '))
			t[--l] = '\0';
	}
	bool primary;
	if (!python_expression(filled.ptr, &primary)) {
		ld_error(c, n, field, "expected one Python expression once the holes are filled, got '%s'", filled.ptr);
		goto out;
	}
	m->wrap = !primary;
	ok = true;
out:
	buf_release(&filled);
	return ok;
}

static bool load_impl(struct ld *c, struct xf_op *op, const char *provider, struct fy_node *n,
                      struct fy_node *key, const char *path)
{
	struct fpath fp;
	const char *field;
	if (!fy_node_is_mapping(n)) {
		ld_error(c, n ? n : key, path, "expected a mapping of imports, setup_code, code_template, parameter_mapping, requirements");
		return false;
	}
	ALLOC_GROW(op->impls, op->nimpls + 1, op->alloc_impls);
	struct xf_impl *m = &op->impls[op->nimpls++];
	memset(m, 0, sizeof(*m));
	m->provider = xstrdup(provider);
	struct fy_node *tpl = NULL, *tplkey = NULL, *mapping = NULL;
	void *it = NULL;
	struct fy_node_pair *pr;
	while ((pr = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
		const char *ks = fy_node_get_scalar0(k);
		field = fpath(&fp, path, ks ? ks : "?");
		if (!ks) {
			ld_error(c, k, path, "expected a string key");
			return false;
		} else if (!strcmp(ks, "imports")) {
			if (!strings(c, v, k, field, &m->imports))
				return false;
			for (size_t i = 0; i < m->imports.n; i++)
				if (!starts_with(m->imports.v[i], "import ") && !starts_with(m->imports.v[i], "from ")) {
					ld_error(c, fy_node_is_sequence(v) ? fy_node_sequence_get_by_index(v, (int)i) : v, field, "expected an import statement ('import X' or 'from X import Y'), got '%s'", m->imports.v[i]);
					return false;
				}
		} else if (!strcmp(ks, "setup_code")) {
			struct strv blocks = STRV_INIT;
			if (!strings(c, v, k, field, &blocks)) {
				strv_release(&blocks);
				return false;
			}
			for (size_t i = 0; i < blocks.n; i++) {
				size_t l = strlen(blocks.v[i]);
				strv_push_owned(&m->setup, l && blocks.v[i][l - 1] == '\n' ? xstrdup(blocks.v[i]) : xasprintf("%s\n", blocks.v[i]));
			}
			strv_release(&blocks);
		} else if (!strcmp(ks, "code_template")) {
			tpl = v;
			tplkey = k;
		} else if (!strcmp(ks, "parameter_mapping")) {
			if (!fy_node_is_mapping(v)) {
				ld_error(c, v ? v : k, field, "expected a mapping of SDK parameter to template name");
				return false;
			}
			void *it2 = NULL;
			struct fy_node_pair *pp;
			while ((pp = fy_node_mapping_iterate(v, &it2))) {
				const char *from = fy_node_get_scalar0(fy_node_pair_key(pp));
				const char *to = fy_node_get_scalar0(fy_node_pair_value(pp));
				if (!from || param_index(op, from) < 0) {
					ld_error(c, fy_node_pair_key(pp), field, "'%s' is not a parameter of %s", from ? from : "?", op->name);
					return false;
				}
				if (!to || !identifier(to)) {
					ld_error(c, fy_node_pair_value(pp) ? fy_node_pair_value(pp) : fy_node_pair_key(pp), field,
					         "expected an identifier to use as '{{ .name }}' in code_template");
					return false;
				}
			}
			mapping = v;
		} else if (!strcmp(ks, "requirements")) {
			if (!fy_node_is_sequence(v)) {
				ld_error(c, v ? v : k, field, "expected a list of {package, version}");
				return false;
			}
			void *it2 = NULL;
			struct fy_node *item;
			while ((item = fy_node_sequence_iterate(v, &it2))) {
				struct fy_node *pkg = fy_node_is_mapping(item) ? fy_node_mapping_lookup_by_string(item, "package", -1) : NULL;
				struct fy_node *ver = fy_node_is_mapping(item) ? fy_node_mapping_lookup_by_string(item, "version", -1) : NULL;
				char *ps = scalar(c, pkg, item, field, "'package: NAME' in each requirement");
				if (!ps)
					return false;
				char *vs = ver ? scalar(c, ver, item, field, "'version: SPEC' (e.g. \">=1.26\")") : xstrdup("");
				if (!vs) {
					free(ps);
					return false;
				}
				if (vs[0] && !strchr("<>=!~", vs[0])) {
					ld_error(c, ver, field, "expected a version specifier starting with one of < > = ! ~ (e.g. \">=1.26\"), got '%s'", vs);
					free(ps);
					free(vs);
					return false;
				}
				strv_push_owned(&m->requirements, xasprintf("%s%s", ps, vs));
				free(ps);
				free(vs);
			}
		} else {
			ld_error(c, k, field, "unknown field '%s' (expected imports, setup_code, code_template, parameter_mapping, requirements)", ks);
			return false;
		}
	}
	field = fpath(&fp, path, "code_template");
	char *t = scalar(c, tpl, tplkey ? tplkey : key, field, "code_template: one Python expression with {{ .param }} holes");
	if (!t)
		return false;
	bool ok = parse_template(c, tpl, field, t, op, mapping, m);
	free(t);
	return ok;
}

static bool load_params(struct ld *c, struct xf_op *op, struct fy_node *v, struct fy_node *k, const char *field)
{
	if (!fy_node_is_sequence(v)) {
		ld_error(c, v ? v : k, field, "expected the SDK parameters in order: a list of names or {name, default}");
		return false;
	}
	void *it = NULL;
	struct fy_node *item;
	while ((item = fy_node_sequence_iterate(v, &it))) {
		struct fy_node *nn = item, *dn = NULL;
		if (fy_node_is_mapping(item)) {
			nn = fy_node_mapping_lookup_by_string(item, "name", -1);
			dn = fy_node_mapping_lookup_by_string(item, "default", -1);
		}
		char *name = scalar(c, nn, item, field, "a parameter name");
		if (!name)
			return false;
		if (!identifier(name) || param_index(op, name) >= 0) {
			ld_error(c, nn, field, "expected a new Python identifier as parameter name, got '%s'", name);
			free(name);
			return false;
		}
		char *def = NULL;
		if (dn) {
			def = scalar(c, dn, item, field, "a default as Python source text (e.g. \"''\")");
			bool primary;
			if (!def || !python_expression(def, &primary)) {
				if (def)
					ld_error(c, dn, field, "expected a default as one Python expression, got '%s'", def);
				free(name);
				free(def);
				return false;
			}
		} else if (op->nparams && op->params[op->nparams - 1].def) {
			ld_error(c, nn, field, "parameter '%s' without a default follows one with a default", name);
			free(name);
			return false;
		}
		ALLOC_GROW(op->params, op->nparams + 1, op->alloc_params);
		op->params[op->nparams++] = (struct xf_param){ name, def };
	}
	return true;
}

/* One operation: transformations.<name>: {parameters, aws, gcp, azure}. */
static bool load_op(struct ld *c, struct transform_rules *r, struct fy_node *k, struct fy_node *v)
{
	struct fpath fp;
	const char *field;
	const char *name = fy_node_get_scalar0(k);
	field = fpath(&fp, "transformations", name ? name : "?");
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (!name || !starts_with(name, "infrar.") || !dot || dot == name + 6 || !identifier(dot + 1)) {
		ld_error(c, k, "transformations", "expected an operation name such as 'infrar.storage.upload', got '%s'", name ? name : "?");
		return false;
	}
	if (xf_find_op(r, name)) {
		ld_error(c, k, field, "operation '%s' is defined twice", name);
		return false;
	}
	if (c->have && xf_find_op(c->have, name)) {
		if (c->skip_known)
			return true;
		ld_error(c, k, field, "operation '%s' is already defined by another rules file", name);
		return false;
	}
	if (!fy_node_is_mapping(v)) {
		ld_error(c, v ? v : k, field, "expected a mapping of parameters and providers (aws, gcp, azure)");
		return false;
	}
	ALLOC_GROW(r->ops, r->n + 1, r->alloc);
	struct xf_op *op = &r->ops[r->n++];
	memset(op, 0, sizeof(*op));
	op->name = xstrdup(name);
	op->module = xstrndup(name, (size_t)(dot - name));
	op->leaf = op->name + (dot - name) + 1;
	op->file = xstrdup(c->file);
	int col;
	node_pos(k, &op->line, &col);
	struct fy_node *params = fy_node_mapping_lookup_by_string(v, "parameters", -1);
	struct fpath fp2;
	field = fpath(&fp, fpath(&fp2, "transformations", name), "parameters");
	if (params && !load_params(c, op, params, k, field))
		return false;
	void *it = NULL;
	struct fy_node_pair *pr;
	while ((pr = fy_node_mapping_iterate(v, &it))) {
		struct fy_node *pk = fy_node_pair_key(pr);
		const char *ks = fy_node_get_scalar0(pk);
		if (ks && !strcmp(ks, "parameters"))
			continue;
		struct fpath fp3;
		field = fpath(&fp, fpath(&fp3, "transformations", name), ks ? ks : "?");
		if (!ks || !transform_provider_known(ks)) {
			ld_error(c, pk, field, "unknown field '%s' (expected parameters, aws, gcp, azure)", ks ? ks : "?");
			return false;
		}
		if (!load_impl(c, op, ks, fy_node_pair_value(pr), pk, field))
			return false;
	}
	return true;
}

static int load_into(struct transform_rules *r, struct ld *c, const char *text, size_t len)
{
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag) {
		diags_errorf(c->d, CRATIS_ENOMEM, "cannot create YAML diagnostics");
		return CRATIS_ENOMEM;
	}
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2, .diag = diag };
	int rc = CRATIS_EINVAL;
	struct fy_document *fyd = fy_document_build_from_string(&cfg, text, len);
	if (!fyd) {
		struct diag *dg = diags_errorf(c->d, CRATIS_EINVAL, "not valid YAML");
		void *it = NULL;
		struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
		if (e) {
			diag_prefix(dg, "%s", e->msg ? e->msg : "error");
			/* fy_diag_error's line and column are 1-based already (libfyaml 0.7) */
			diag_locate(dg, c->file, e->line, e->column, NULL);
		} else {
			diag_locate(dg, c->file, 0, 0, NULL);
		}
		goto out_diag;
	}
	struct fy_node *root = fy_document_root(fyd);
	if (!root || !fy_node_is_mapping(root)) {
		ld_error(c, root, NULL, "expected a mapping with 'transformations'");
		goto out_doc;
	}
	struct fy_node *tr = NULL;
	void *it = NULL;
	struct fy_node_pair *pr;
	while ((pr = fy_node_mapping_iterate(root, &it))) {
		const char *ks = fy_node_get_scalar0(fy_node_pair_key(pr));
		if (ks && !strcmp(ks, "transformations")) {
			tr = fy_node_pair_value(pr);
		} else if (!ks || (strcmp(ks, "plugin") && strcmp(ks, "version") && strcmp(ks, "description"))) {
			ld_error(c, fy_node_pair_key(pr), ks, "unknown field '%s' (expected transformations, plugin, version, description)", ks ? ks : "?");
			goto out_doc;
		}
	}
	if (!tr || !fy_node_is_mapping(tr)) {
		ld_error(c, tr, "transformations", "expected 'transformations': a mapping of operation name to rules");
		goto out_doc;
	}
	it = NULL;
	while ((pr = fy_node_mapping_iterate(tr, &it)))
		if (!load_op(c, r, fy_node_pair_key(pr), fy_node_pair_value(pr)))
			goto out_doc;
	rc = 0;
out_doc:
	fy_document_destroy(fyd);
out_diag:
	fy_diag_unref(diag);
	return rc;
}

static int load_buffer(struct transform_rules *r, const char *name, const char *text, size_t len,
                       struct diags *d, bool skip_known)
{
	/* load into a scratch set, then move the operations over: r is unchanged on error */
	struct transform_rules *tmp = transform_rules_new();
	struct ld c = { name, d, r, skip_known };
	int rc = load_into(tmp, &c, text, len);
	if (!rc) {
		for (size_t i = 0; i < tmp->n; i++) {
			ALLOC_GROW(r->ops, r->n + 1, r->alloc);
			r->ops[r->n++] = tmp->ops[i];
		}
		tmp->n = 0;
	}
	transform_rules_free(tmp);
	return rc;
}

int transform_rules_load_buffer(struct transform_rules *r, const char *name, const char *text,
                                size_t len, struct diags *d)
{
	return load_buffer(r, name, text, len, d, false);
}

static int load_file(struct transform_rules *r, const char *path, struct diags *d, bool skip_known)
{
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, path, 1 << 20)) {
		diag_locate(diags_errorf(d, CRATIS_EIO, "cannot read rules: %s", strerror(errno)), path, 0, 0, NULL);
		buf_release(&b);
		return CRATIS_EIO;
	}
	int rc = load_buffer(r, path, b.ptr, b.len, d, skip_known);
	buf_release(&b);
	return rc;
}

int transform_rules_load_file(struct transform_rules *r, const char *path, struct diags *d)
{
	return load_file(r, path, d, false);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int transform_rules_load_path(struct transform_rules *r, const char *paths, size_t *loaded,
                              struct diags *d)
{
	size_t count = 0;
	int rc = 0;
	char *copy = xstrdup(paths ? paths : "");
	char *save = NULL;
	for (char *p = copy;; p = NULL) {
		char *dir = strtok_r(p, ":", &save);
		if (!dir)
			break;
		if (!is_dir(dir)) {
			if (access(dir, R_OK) == 0) {
				int e = load_file(r, dir, d, true);
				rc = rc ? rc : e;
				count += !e;
			}
			continue;
		}
		DIR *dh = opendir(dir);
		if (!dh)
			continue;
		struct strv files = STRV_INIT;
		struct dirent *de;
		while ((de = readdir(dh))) {
			if (de->d_name[0] == '.')
				continue;
			char *f = xasprintf("%s/%s/transformations/rules.yaml", dir, de->d_name);
			if (access(f, R_OK) == 0)
				strv_push_owned(&files, f);
			else
				free(f);
		}
		closedir(dh);
		if (files.n)
			qsort(files.v, files.n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < files.n; i++) {
			int e = load_file(r, files.v[i], d, true);
			rc = rc ? rc : e;
			count += !e;
		}
		strv_release(&files);
	}
	free(copy);
	if (loaded)
		*loaded = count;
	return rc;
}
