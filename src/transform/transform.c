/* Rewriting SDK calls in Python source: find the infrar imports and what they bind, replace each
 * call of an operation by its provider's template, drop the imports, add the provider's imports
 * and setup code; edits are byte ranges of the original text, everything else is copied. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transform/internal.h"
#include "util/error.h"
#include "banned.h"

void transform_output_init(struct transform_output *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->text);
}

void transform_output_release(struct transform_output *out)
{
	buf_release(&out->text);
	strv_release(&out->requirements);
	transform_output_init(out);
}

/* Replace src[s..e) by text (owned). */
struct edit {
	uint32_t s, e;
	char *text;
	size_t seq;   /* order of adding: insertions at one offset come out in that order */
};

/* A name bound by an import: to a module ("infrar.storage", or "infrar" itself) or to one
 * operation. */
struct binding {
	char *name;
	char *module;            /* module path, or NULL for an operation */
	const struct xf_op *op;
	TSNode at;               /* the import that bound it */
};

struct xf {
	const struct transform_rules *rules;
	const char *provider;
	const char *file;
	const char *src;
	uint32_t len;
	struct diags *d;
	int errors;
	struct edit *edits;
	size_t nedits, alloc_edits, seq;
	struct binding *binds;
	size_t nbinds, alloc_binds;
	const struct xf_impl **used;     /* implementations used, in order of first use */
	size_t nused, alloc_used;
};

static char *node_text(const struct xf *x, TSNode n)
{
	uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
	return xstrndup(x->src + s, e > s ? e - s : 0);
}

static bool node_is(TSNode n, const char *type)
{
	return !ts_node_is_null(n) && !strcmp(ts_node_type(n), type);
}

static void xf_diag(struct xf *x, enum diag_severity sev, TSNode at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void xf_diag(struct xf *x, enum diag_severity sev, TSNode at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(x->d, sev, sev == DIAG_ERROR ? CRATIS_EINVAL : 0, fmt, ap);
	va_end(ap);
	TSPoint p = ts_node_start_point(at);
	diag_locate(dg, x->file, (int)p.row + 1, (int)p.column + 1, NULL);
	if (sev == DIAG_ERROR)
		x->errors++;
}

/* Add an edit. Edits never overlap: a call's replacement takes the place of its nested calls'
 * edits (pop_inside), imports and calls are disjoint, insertions are zero-width. */
static void add_edit(struct xf *x, uint32_t s, uint32_t e, char *text)
{
	ALLOC_GROW(x->edits, x->nedits + 1, x->alloc_edits);
	x->edits[x->nedits++] = (struct edit){ s, e, text, x->seq++ };
}

/* Calls are rewritten innermost first (reverse pre-order), so when a call at [s, e) is
 * rewritten the edits of the calls nested in it are the last ones added, in decreasing start
 * order. Returns the index of the first of them (x->nedits when there are none). */
static size_t inside_from(const struct xf *x, uint32_t s, uint32_t e)
{
	size_t k = x->nedits;
	while (k > 0 && x->edits[k - 1].s >= s && x->edits[k - 1].e <= e && x->edits[k - 1].s != x->edits[k - 1].e)
		k--;
	return k;
}

/* Drop the edits of the calls nested in [s, e) (the caller rendered them into its own). */
static void pop_inside(struct xf *x, uint32_t s, uint32_t e)
{
	size_t k = inside_from(x, s, e);
	for (size_t i = k; i < x->nedits; i++)
		free(x->edits[i].text);
	x->nedits = k;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *p = a, *q = b;
	if (p->s != q->s)
		return p->s < q->s ? -1 : 1;
	if (p->e != q->e)
		return p->e < q->e ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Append src[s..e) of a call's argument with the nested calls' edits inside it applied. */
static void render_inside(const struct xf *x, uint32_t s, uint32_t e, struct buf *out)
{
	uint32_t at = s;
	for (size_t i = x->nedits; i-- > inside_from(x, s, e);) { /* increasing start */
		const struct edit *ed = &x->edits[i];
		if (ed->s < s || ed->e > e)
			continue;
		buf_add(out, x->src + at, ed->s - at);
		buf_adds(out, ed->text);
		at = ed->e;
	}
	buf_add(out, x->src + at, e - at);
}

/* Append the whole source with every edit applied. */
static void render_all(struct xf *x, struct buf *out)
{
	if (x->nedits > 1)
		qsort(x->edits, x->nedits, sizeof(*x->edits), cmp_edit);
	uint32_t at = 0;
	for (size_t i = 0; i < x->nedits; i++) {
		const struct edit *ed = &x->edits[i];
		buf_add(out, x->src + at, ed->s - at);
		buf_adds(out, ed->text);
		at = ed->e;
	}
	buf_add(out, x->src + at, x->len - at);
}

static const struct binding *find_binding(const struct xf *x, const char *name)
{
	for (size_t i = x->nbinds; i-- > 0;)
		if (!strcmp(x->binds[i].name, name))
			return &x->binds[i];
	return NULL;
}

static void bind(struct xf *x, const char *name, const char *module, const struct xf_op *op, TSNode at)
{
	ALLOC_GROW(x->binds, x->nbinds + 1, x->alloc_binds);
	x->binds[x->nbinds++] = (struct binding){ xstrdup(name), module ? xstrdup(module) : NULL, op, at };
}

/* infrar.aws..., infrar.gcp..., infrar.azure...: provider-specific SDK (kept). The provider's
 * name is returned, or NULL. */
static const char *provider_specific(const char *module)
{
	for (size_t i = 0; transform_providers[i]; i++) {
		size_t n = strlen(transform_providers[i]);
		if (starts_with(module, "infrar.") && !strncmp(module + 7, transform_providers[i], n) &&
		    (module[7 + n] == '\0' || module[7 + n] == '.'))
			return transform_providers[i];
	}
	return NULL;
}

static void warn_specific(struct xf *x, TSNode at, const char *what, const char *prov)
{
	if (strcmp(prov, x->provider))
		xf_diag(x, DIAG_WARNING, at, "'%s' is specific to %s and is kept: the output for %s will not run without %s",
		        what, prov, x->provider, prov);
	else
		xf_diag(x, DIAG_WARNING, at, "'%s' is specific to %s and is kept: this code is tied to %s "
		        "(use a provider-agnostic infrar operation to stay portable)", what, prov, prov);
}

/* Is module ("infrar.storage") an infrar module this run knows: a plugin's module, or "infrar"
 * or a parent of a plugin's module? */
static bool module_known(const struct xf *x, const char *module)
{
	if (xf_module_known(x->rules, module))
		return true;
	size_t n = strlen(module);
	for (size_t i = 0; i < x->rules->n; i++)
		if (!strncmp(x->rules->ops[i].module, module, n) && x->rules->ops[i].module[n] == '.')
			return true;
	return false;
}

/* Remove (or rewrite to `kept`, when not NULL) the import statement st. A statement alone on
 * its line(s) in a block with other statements loses its lines; otherwise it becomes `pass`. */
static void drop_statement(struct xf *x, TSNode st, char *kept)
{
	uint32_t s = ts_node_start_byte(st), e = ts_node_end_byte(st);
	if (kept) {
		add_edit(x, s, e, kept);
		return;
	}
	uint32_t ls = s, le = e;
	while (ls > 0 && (x->src[ls - 1] == ' ' || x->src[ls - 1] == '\t'))
		ls--;
	bool alone = ls == 0 || x->src[ls - 1] == '\n';
	while (le < x->len && (x->src[le] == ' ' || x->src[le] == '\t' || x->src[le] == '\r'))
		le++;
	if (le < x->len && x->src[le] == '#')
		alone = false; /* keep a trailing comment: it may be a directive (noqa, type:) */
	else if (le < x->len && x->src[le] != '\n')
		alone = false;
	TSNode parent = ts_node_parent(st);
	uint32_t siblings = ts_node_is_null(parent) ? 0 : ts_node_named_child_count(parent);
	uint32_t others = 0;
	for (uint32_t i = 0; i < siblings; i++) {
		TSNode c = ts_node_named_child(parent, i);
		if (!node_is(c, "comment") && !ts_node_eq(c, st))
			others++;
	}
	if (alone && (others > 0 || node_is(parent, "module"))) {
		if (le < x->len)
			le++; /* the newline */
		add_edit(x, ls, le, xstrdup(""));
	} else {
		add_edit(x, s, e, xstrdup("pass"));
	}
}

/* `import a.b [as c], ...`: bind infrar modules, keep the rest. */
static void import_statement(struct xf *x, TSNode st)
{
	struct buf kept = BUF_INIT;
	bool any_infrar = false, any_kept = false;
	uint32_t n = ts_node_named_child_count(st);
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(st, i);
		TSNode name = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "name", 4) : c;
		TSNode alias = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "alias", 5) : (TSNode){ 0 };
		if (!node_is(name, "dotted_name"))
			continue;
		char *mod = node_text(x, name);
		const char *prov = provider_specific(mod);
		bool infrar = !strcmp(mod, "infrar") || starts_with(mod, "infrar.");
		if (infrar && prov) {
			warn_specific(x, c, mod, prov);
			infrar = false;
		} else if (infrar && !module_known(x, mod)) {
			const struct xf_op *op = xf_find_op(x->rules, mod);
			xf_diag(x, DIAG_ERROR, c, op ? "'%s' is an operation, not a module: use 'from %s import %s'"
			                             : "unknown infrar module '%s'%s%s", mod,
			        op ? op->module : " (no rules.yaml defines it)", op ? op->leaf : "");
		} else if (infrar) {
			if (!ts_node_is_null(alias)) {
				char *a = node_text(x, alias);
				bind(x, a, mod, NULL, c);
				free(a);
			} else {
				bind(x, "infrar", "infrar", NULL, c);
			}
		}
		if (infrar) {
			any_infrar = true;
		} else {
			char *t = node_text(x, c);
			buf_addf(&kept, "%s%s", any_kept ? ", " : "", t);
			free(t);
			any_kept = true;
		}
		free(mod);
	}
	if (any_infrar)
		drop_statement(x, st, any_kept ? xasprintf("import %s", kept.ptr) : NULL);
	buf_release(&kept);
}

/* `from M import a [as b], ...` / `from M import *`. */
static void import_from_statement(struct xf *x, TSNode st)
{
	TSNode modn = ts_node_child_by_field_name(st, "module_name", 11);
	if (!node_is(modn, "dotted_name"))
		return; /* relative import: not the SDK */
	char *mod = node_text(x, modn);
	if (strcmp(mod, "infrar") && !starts_with(mod, "infrar.")) {
		free(mod);
		return;
	}
	const char *prov = provider_specific(mod);
	if (prov) {
		uint32_t n = ts_node_named_child_count(st);
		for (uint32_t i = 0; i < n; i++) {
			TSNode c = ts_node_named_child(st, i);
			if (ts_node_eq(c, modn) || node_is(c, "comment"))
				continue;
			TSNode name = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "name", 4) : c;
			char *nm = node_text(x, name);
			char *what = xasprintf("%s.%s", mod, nm);
			warn_specific(x, c, what, prov);
			free(what);
			free(nm);
		}
		free(mod);
		return;
	}
	if (!module_known(x, mod)) {
		xf_diag(x, DIAG_ERROR, modn, "unknown infrar module '%s' (no rules.yaml defines it)", mod);
		free(mod);
		return;
	}
	struct buf kept = BUF_INIT;
	bool any_infrar = false, any_kept = false;
	uint32_t n = ts_node_named_child_count(st);
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(st, i);
		if (ts_node_eq(c, modn) || node_is(c, "comment"))
			continue;
		if (node_is(c, "wildcard_import")) {
			for (size_t k = 0; k < x->rules->n; k++)
				if (!strcmp(x->rules->ops[k].module, mod))
					bind(x, x->rules->ops[k].leaf, NULL, &x->rules->ops[k], c);
			any_infrar = true;
			continue;
		}
		TSNode name = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "name", 4) : c;
		TSNode alias = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "alias", 5) : (TSNode){ 0 };
		char *nm = node_text(x, name);
		char *full = xasprintf("%s.%s", mod, nm);
		char *as = ts_node_is_null(alias) ? xstrdup(nm) : node_text(x, alias);
		const char *p2 = provider_specific(full);
		const struct xf_op *op = xf_find_op(x->rules, full);
		if (p2) { /* from infrar import aws */
			warn_specific(x, c, full, p2);
			char *t = node_text(x, c);
			buf_addf(&kept, "%s%s", any_kept ? ", " : "", t);
			free(t);
			any_kept = true;
		} else if (op) {
			bind(x, as, NULL, op, c);
			any_infrar = true;
		} else if (module_known(x, full)) {
			bind(x, as, full, NULL, c);
			any_infrar = true;
		} else {
			xf_diag(x, DIAG_ERROR, c, "unknown infrar operation '%s'", full);
			any_infrar = true;
		}
		free(as);
		free(full);
		free(nm);
	}
	if (any_infrar)
		drop_statement(x, st, any_kept ? xasprintf("from %s import %s", mod, kept.ptr) : NULL);
	buf_release(&kept);
	free(mod);
}

/* The dotted name of an identifier or a chain of attributes on one (a.b.c), resolved through
 * the module bindings (st.upload -> infrar.storage.upload), or NULL when it is something else
 * or does not start with an infrar module. */
static char *resolve_dotted(const struct xf *x, TSNode n)
{
	if (node_is(n, "identifier")) {
		char *t = node_text(x, n);
		const struct binding *b = find_binding(x, t);
		free(t);
		return b && b->module ? xstrdup(b->module) : NULL;
	}
	if (!node_is(n, "attribute"))
		return NULL;
	TSNode obj = ts_node_child_by_field_name(n, "object", 6);
	TSNode attr = ts_node_child_by_field_name(n, "attribute", 9);
	char *base = resolve_dotted(x, obj);
	if (!base || !node_is(attr, "identifier")) {
		free(base);
		return NULL;
	}
	char *a = node_text(x, attr);
	char *r = xasprintf("%s.%s", base, a);
	free(a);
	free(base);
	return r;
}

/* What node (the function of a call, or any reference) names: an operation (returned), nothing
 * of infrar (NULL, *infrar false), or an infrar name that is no operation (NULL, *infrar true,
 * *full set when it is dotted: caller frees). */
static const struct xf_op *resolve(const struct xf *x, TSNode n, bool *infrar, char **full)
{
	*infrar = false;
	*full = NULL;
	if (node_is(n, "identifier")) {
		char *t = node_text(x, n);
		const struct binding *b = find_binding(x, t);
		free(t);
		if (b && b->op)
			return b->op;
		if (b && b->module) {
			*infrar = true;
			*full = xstrdup(b->module);
		}
		return NULL;
	}
	if (!node_is(n, "attribute"))
		return NULL;
	char *dotted = resolve_dotted(x, n);
	if (!dotted)
		return NULL;
	const struct xf_op *op = xf_find_op(x->rules, dotted);
	if (op) {
		free(dotted);
		return op;
	}
	*infrar = true;
	*full = dotted;
	return NULL;
}

/* Record that m is used; x->used stays in rules order (operation, then provider), so that the
 * imports and setup code come out the same whatever order the calls are in. */
static void use_impl(struct xf *x, const struct xf_impl *m)
{
	for (size_t i = 0; i < x->nused; i++)
		if (x->used[i] == m)
			return;
	ALLOC_GROW(x->used, x->nused + 1, x->alloc_used);
	size_t at = x->nused;
	/* impls of one operation are contiguous and operations are in load order, so addresses
	 * within one op compare; across ops, compare the ops' positions */
	for (size_t i = 0; i < x->nused; i++) {
		const struct xf_op *a = NULL, *b = NULL;
		for (size_t k = 0; k < x->rules->n; k++) {
			const struct xf_op *op = &x->rules->ops[k];
			if (m >= op->impls && m < op->impls + op->nimpls)
				a = op;
			if (x->used[i] >= op->impls && x->used[i] < op->impls + op->nimpls)
				b = op;
		}
		if (a < b || (a == b && m < x->used[i])) {
			at = i;
			break;
		}
	}
	memmove(x->used + at + 1, x->used + at, (x->nused - at) * sizeof(*x->used));
	x->used[at] = m;
	x->nused++;
}

/* Indentation of the line holding byte offset at. */
static void line_indent(const struct xf *x, uint32_t at, struct buf *out)
{
	uint32_t ls = at;
	while (ls > 0 && x->src[ls - 1] != '\n')
		ls--;
	uint32_t e = ls;
	while (e < x->len && (x->src[e] == ' ' || x->src[e] == '\t'))
		e++;
	buf_add(out, x->src + ls, e - ls);
}

/* Does n bind as tightly as an atom, so that its text can fill any hole of a template? Other
 * arguments (a + b, x if c else y, lambda, n := v) are put in parentheses. */
static bool primary_node(TSNode n)
{
	static const char *const primaries[] = { "identifier", "string", "concatenated_string", "call",
		"attribute", "subscript", "integer", "float", "true", "false", "none", "list", "dictionary",
		"set", "tuple", "parenthesized_expression", "list_comprehension", "dictionary_comprehension",
		"set_comprehension", "generator_expression", NULL };
	for (size_t i = 0; primaries[i]; i++)
		if (node_is(n, primaries[i]))
			return true;
	return false;
}

/* Rewrite one call of op. */
static void rewrite_call(struct xf *x, TSNode call, const struct xf_op *op)
{
	const struct xf_impl *m = xf_find_impl(op, x->provider);
	char *fn = node_text(x, ts_node_child_by_field_name(call, "function", 8));
	if (!m) {
		xf_diag(x, DIAG_ERROR, call, "'%s' (%s) has no rule for provider '%s' (%s:%d)", fn, op->name,
		        x->provider, op->file, op->line);
		free(fn);
		return;
	}
	TSNode args = ts_node_child_by_field_name(call, "arguments", 9);
	size_t np = op->nparams;
	char **val = xcalloc(np ? np : 1, sizeof(char *));
	size_t pos = 0;
	bool bad = false;
	uint32_t n = ts_node_is_null(args) ? 0 : ts_node_named_child_count(args);
	bool generator = node_is(args, "generator_expression");
	for (uint32_t i = 0; !bad && i < (generator ? 1 : n); i++) {
		TSNode a = generator ? args : ts_node_named_child(args, i);
		if (node_is(a, "comment"))
			continue;
		TSNode v = a;
		int idx;
		if (node_is(a, "list_splat") || node_is(a, "dictionary_splat")) {
			xf_diag(x, DIAG_ERROR, a, "%s: cannot rewrite a call with %s arguments (%s takes %zu named parameters; pass them one by one)",
			        op->name, node_is(a, "list_splat") ? "*" : "**", op->name, np);
			bad = true;
			break;
		} else if (node_is(a, "keyword_argument")) {
			char *k = node_text(x, ts_node_child_by_field_name(a, "name", 4));
			v = ts_node_child_by_field_name(a, "value", 5);
			idx = -1;
			for (size_t p = 0; p < np; p++)
				if (!strcmp(op->params[p].name, k))
					idx = (int)p;
			if (idx < 0) {
				struct buf names = BUF_INIT;
				for (size_t p = 0; p < np; p++)
					buf_addf(&names, "%s%s", p ? ", " : "", op->params[p].name);
				xf_diag(x, DIAG_ERROR, a, "%s has no parameter '%s' (expected %s)", op->name, k, names.ptr);
				buf_release(&names);
				free(k);
				bad = true;
				break;
			}
			free(k);
		} else {
			if (pos >= np) {
				xf_diag(x, DIAG_ERROR, a, "%s takes %zu positional argument%s, got more", op->name, np, np == 1 ? "" : "s");
				bad = true;
				break;
			}
			idx = (int)pos++;
		}
		if (val[idx]) {
			xf_diag(x, DIAG_ERROR, a, "%s: argument '%s' given twice", op->name, op->params[idx].name);
			bad = true;
			break;
		}
		struct buf t = BUF_INIT;
		render_inside(x, ts_node_start_byte(v), ts_node_end_byte(v), &t);
		if (!primary_node(v) || (memchr(t.ptr, '\n', t.len) && !node_is(v, "parenthesized_expression"))) {
			struct buf w = BUF_INIT;
			buf_addf(&w, "(%s)", t.ptr);
			buf_release(&t);
			t = w;
		}
		val[idx] = buf_detach(&t);
	}
	for (size_t p = 0; !bad && p < np; p++) {
		if (!val[p] && op->params[p].def) {
			val[p] = xstrdup(op->params[p].def);
		} else if (!val[p]) {
			xf_diag(x, DIAG_ERROR, call, "%s: missing argument '%s'", op->name, op->params[p].name);
			bad = true;
		}
	}
	if (!bad) {
		struct buf out = BUF_INIT, indent = BUF_INIT;
		line_indent(x, ts_node_start_byte(call), &indent);
		if (m->wrap)
			buf_addch(&out, '(');
		for (size_t i = 0; i < m->nsegs; i++) {
			if (m->segs[i].text) {
				for (const char *c = m->segs[i].text; *c; c++) {
					buf_addch(&out, *c);
					if (*c == '\n')
						buf_add(&out, indent.ptr, indent.len);
				}
			} else {
				buf_adds(&out, val[m->segs[i].param]);
			}
		}
		if (m->wrap)
			buf_addch(&out, ')');
		pop_inside(x, ts_node_start_byte(call), ts_node_end_byte(call));
		add_edit(x, ts_node_start_byte(call), ts_node_end_byte(call), buf_detach(&out));
		buf_release(&indent);
		use_impl(x, m);
	}
	for (size_t p = 0; p < np; p++)
		free(val[p]);
	free(val);
	free(fn);
}

/* Is identifier n in a position where it does not refer to a binding (a definition's name, a
 * keyword, an attribute name, part of an import)? */
static bool not_a_reference(TSNode n, TSNode p)
{
	const char *t = ts_node_is_null(p) ? "" : ts_node_type(p);
	static const char *const defining[] = { "dotted_name", "aliased_import", "import_statement",
		"import_from_statement", "parameters", "lambda_parameters", "global_statement",
		"nonlocal_statement", "keyword_pattern", "typed_parameter", "list_splat_pattern",
		"dictionary_splat_pattern", NULL };
	for (size_t i = 0; defining[i]; i++)
		if (!strcmp(t, defining[i]))
			return true;
	static const char *const named[][2] = { { "attribute", "attribute" }, { "keyword_argument", "name" },
		{ "function_definition", "name" }, { "class_definition", "name" }, { "default_parameter", "name" },
		{ "typed_default_parameter", "name" } };
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (!strcmp(t, named[i][0])) {
			TSNode f = ts_node_child_by_field_name(p, named[i][1], (uint32_t)strlen(named[i][1]));
			if (!ts_node_is_null(f) && ts_node_eq(f, n))
				return true;
		}
	return false;
}

/* Nodes in pre-order, without recursion (input nesting is unbounded). */
static void preorder(TSNode root, TSNode **out, size_t **parent, size_t *n)
{
	/* parent[i]: the index of nodes[i]'s parent in *out, or SIZE_MAX for the root: found
	 * here with a stack of the cursor's ancestors, as ts_node_parent walks down from the root
	 * every time (most of a large file's time went there) */
	size_t alloc = 0, palloc = 0, depth = 0, salloc = 0;
	size_t *stack = NULL; /* per cursor depth: the index of the nearest named ancestor-or-self */
	*out = NULL;
	*parent = NULL;
	*n = 0;
	TSTreeCursor c = ts_tree_cursor_new(root);
	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		size_t up = depth ? stack[depth - 1] : SIZE_MAX, self = up;
		if (ts_node_is_named(cur)) {
			ALLOC_GROW(*out, *n + 1, alloc);
			ALLOC_GROW(*parent, *n + 1, palloc);
			(*parent)[*n] = up;
			self = *n;
			(*out)[(*n)++] = cur;
		}
		if (ts_tree_cursor_goto_first_child(&c)) {
			ALLOC_GROW(stack, depth + 1, salloc);
			stack[depth++] = self;
			continue;
		}
		while (!ts_tree_cursor_goto_next_sibling(&c)) {
			if (!ts_tree_cursor_goto_parent(&c))
				goto out;
			depth--;
		}
	}
out:
	free(stack);
	ts_tree_cursor_delete(&c);
}

/* Module key of an import for merging: "name=target" per bound name. */
static void import_keys(const char *src, TSNode st, struct strv *out)
{
	uint32_t n = ts_node_named_child_count(st);
	TSNode modn = ts_node_child_by_field_name(st, "module_name", 11);
	char *mod = ts_node_is_null(modn) ? NULL
	            : xstrndup(src + ts_node_start_byte(modn), ts_node_end_byte(modn) - ts_node_start_byte(modn));
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(st, i);
		if (!ts_node_is_null(modn) && ts_node_eq(c, modn))
			continue;
		TSNode name = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "name", 4) : c;
		TSNode alias = node_is(c, "aliased_import") ? ts_node_child_by_field_name(c, "alias", 5) : (TSNode){ 0 };
		if (!node_is(name, "dotted_name"))
			continue;
		char *nm = xstrndup(src + ts_node_start_byte(name), ts_node_end_byte(name) - ts_node_start_byte(name));
		char *al = ts_node_is_null(alias) ? NULL
		           : xstrndup(src + ts_node_start_byte(alias), ts_node_end_byte(alias) - ts_node_start_byte(alias));
		if (mod)
			strv_push_owned(out, xasprintf("%s=%s.%s", al ? al : nm, mod, nm));
		else if (al)
			strv_push_owned(out, xasprintf("%s=%s", al, nm));
		else
			strv_push_owned(out, xasprintf("%s=%s", nm, nm)); /* import a.b binds a, loads a.b */
		free(al);
		free(nm);
	}
	free(mod);
}

static bool is_import(TSNode n)
{
	return node_is(n, "import_statement") || node_is(n, "import_from_statement") ||
	       node_is(n, "future_import_statement");
}

/* Offset just past the line that ends at or after byte at. */
static uint32_t after_line(const struct xf *x, uint32_t at)
{
	while (at < x->len && x->src[at] != '\n')
		at++;
	return at < x->len ? at + 1 : at;
}

/* Merge the generated `from M import n [as a]` (gen, parsed from imp) into the module's own
 * top-level `from M import ...` when it has one: its names are appended after the last name
 * there (inside parentheses and before a trailing comma if any). Returns whether it merged. */
static bool merge_from(struct xf *x, TSNode root, const char *imp, TSNode gen)
{
	if (!node_is(gen, "import_from_statement"))
		return false;
	TSNode gm = ts_node_child_by_field_name(gen, "module_name", 11);
	if (ts_node_is_null(gm))
		return false;
	uint32_t gn = ts_node_named_child_count(gen);
	TSNode gfirst = { 0 }, glast = { 0 };
	for (uint32_t i = 0; i < gn; i++) {
		TSNode c = ts_node_named_child(gen, i);
		if (ts_node_eq(c, gm) || node_is(c, "comment"))
			continue;
		if (!node_is(c, "dotted_name") && !node_is(c, "aliased_import"))
			return false;
		if (ts_node_is_null(gfirst))
			gfirst = c;
		glast = c;
	}
	if (ts_node_is_null(gfirst))
		return false;
	uint32_t ml = ts_node_end_byte(gm) - ts_node_start_byte(gm);
	uint32_t n = ts_node_named_child_count(root);
	for (uint32_t i = 0; i < n; i++) {
		TSNode st = ts_node_named_child(root, i);
		if (!node_is(st, "import_from_statement"))
			continue;
		TSNode m = ts_node_child_by_field_name(st, "module_name", 11);
		if (!node_is(m, "dotted_name") || ts_node_end_byte(m) - ts_node_start_byte(m) != ml ||
		    memcmp(x->src + ts_node_start_byte(m), imp + ts_node_start_byte(gm), ml))
			continue;
		TSNode last = { 0 };
		bool wildcard = false;
		for (uint32_t k = 0; k < ts_node_named_child_count(st); k++) {
			TSNode c = ts_node_named_child(st, k);
			if (node_is(c, "wildcard_import"))
				wildcard = true;
			if (!ts_node_eq(c, m) && (node_is(c, "dotted_name") || node_is(c, "aliased_import")))
				last = c;
		}
		if (wildcard || ts_node_is_null(last))
			continue;
		/* the names of an infrar import being removed are no place to add to */
		char *mod = xstrndup(x->src + ts_node_start_byte(m), ml);
		bool infrar = !strcmp(mod, "infrar") || starts_with(mod, "infrar.");
		free(mod);
		if (infrar)
			continue;
		uint32_t gs = ts_node_start_byte(gfirst), ge = ts_node_end_byte(glast);
		add_edit(x, ts_node_end_byte(last), ts_node_end_byte(last), xasprintf(", %.*s", (int)(ge - gs), imp + gs));
		return true;
	}
	return false;
}

/* Add the used implementations' imports (those the module does not have yet) and setup code
 * after the leading imports of the module. */
static void add_prelude(struct xf *x, TSNode root, struct transform_output *out)
{
	struct strv have = STRV_INIT, lines = STRV_INIT, setup = STRV_INIT;
	uint32_t n = ts_node_named_child_count(root);
	uint32_t insert = UINT32_MAX, first = UINT32_MAX;
	bool seen_import = false;
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(root, i);
		if (node_is(c, "comment"))
			continue;
		if (first == UINT32_MAX) {
			TSPoint p = ts_node_start_point(c);
			first = ts_node_start_byte(c) - p.column;
		}
		if (is_import(c)) {
			import_keys(x->src, c, &have);
			insert = after_line(x, ts_node_end_byte(c));
			seen_import = true;
		} else if (i == 0 && node_is(c, "expression_statement") && node_is(ts_node_named_child(c, 0), "string")) {
			insert = after_line(x, ts_node_end_byte(c)); /* docstring */
		} else {
			break;
		}
	}
	/* imports of the rest of the module count too (not for placement: for not repeating) */
	for (uint32_t i = 0; i < n; i++) {
		TSNode c = ts_node_named_child(root, i);
		if (is_import(c))
			import_keys(x->src, c, &have);
	}
	if (insert == UINT32_MAX)
		insert = first == UINT32_MAX ? 0 : first;
	TSParser *p = ts_parser_new();
	ts_parser_set_language(p, tree_sitter_python());
	for (size_t u = 0; u < x->nused; u++) {
		const struct xf_impl *m = x->used[u];
		for (size_t i = 0; i < m->imports.n; i++) {
			const char *imp = m->imports.v[i];
			TSTree *t = ts_parser_parse_string(p, NULL, imp, (uint32_t)strlen(imp));
			struct strv keys = STRV_INIT;
			TSNode r = ts_tree_root_node(t);
			if (ts_node_named_child_count(r) == 1 && is_import(ts_node_named_child(r, 0)))
				import_keys(imp, ts_node_named_child(r, 0), &keys);
			bool all = keys.n > 0;
			for (size_t k = 0; k < keys.n; k++)
				all = all && strv_has(&have, keys.v[k]);
			if (!all && !strv_has(&lines, imp) && !merge_from(x, root, imp, ts_node_named_child(r, 0)))
				strv_push(&lines, imp);
			for (size_t k = 0; k < keys.n; k++)
				if (!strv_has(&have, keys.v[k]))
					strv_push(&have, keys.v[k]);
			strv_release(&keys);
			ts_tree_delete(t);
		}
		for (size_t i = 0; i < m->setup.n; i++)
			if (!strv_has(&setup, m->setup.v[i]) && !memmem(x->src, x->len, m->setup.v[i], strlen(m->setup.v[i])))
				strv_push(&setup, m->setup.v[i]);
		for (size_t i = 0; i < m->requirements.n; i++)
			if (!strv_has(&out->requirements, m->requirements.v[i]))
				strv_push(&out->requirements, m->requirements.v[i]);
	}
	ts_parser_delete(p);
	struct buf t = BUF_INIT;
	if (insert == x->len && x->len && x->src[x->len - 1] != '\n' && (lines.n || setup.n))
		buf_addch(&t, '\n');
	for (size_t i = 0; i < lines.n; i++)
		buf_addf(&t, "%s\n", lines.v[i]);
	if (setup.n) {
		if (lines.n || seen_import)
			buf_addch(&t, '\n');
		for (size_t i = 0; i < setup.n; i++) {
			if (i && (starts_with(setup.v[i], "def ") || starts_with(setup.v[i], "class ") ||
			          starts_with(setup.v[i], "@")))
				buf_addch(&t, '\n');
			buf_adds(&t, setup.v[i]);
		}
		if (insert < x->len && x->src[insert] != '\n')
			buf_addch(&t, '\n');
	} else if (lines.n && !seen_import && insert < x->len && x->src[insert] != '\n') {
		buf_addch(&t, '\n');
	}
	if (t.len)
		add_edit(x, insert, insert, buf_detach(&t));
	buf_release(&t);
	strv_release(&have);
	strv_release(&lines);
	strv_release(&setup);
}

/* The first ERROR or MISSING node under root, for the syntax error's position. */
static TSNode first_error(TSNode root)
{
	TSNode found = root;
	TSTreeCursor c = ts_tree_cursor_new(root);
	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		if (node_is(cur, "ERROR") || ts_node_is_missing(cur)) {
			found = cur;
			break;
		}
		if (ts_node_has_error(cur) && ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto out;
	}
out:
	ts_tree_cursor_delete(&c);
	return found;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct diag *p = a, *q = b;
	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->column != q->column)
		return p->column < q->column ? -1 : 1;
	return 0;
}

int transform_source(struct transform_output *out, const struct transform_rules *rules,
                     const char *provider, const char *file, const char *src, size_t len,
                     struct diags *d)
{
	buf_clear(&out->text);
	out->changed = false;
	out->calls = 0;
	if (!transform_provider_known(provider)) {
		diags_errorf(d, CRATIS_EINVAL, "unknown provider '%s' (expected aws, gcp or azure)", provider ? provider : "");
		return CRATIS_EINVAL;
	}
	if (len > UINT32_MAX / 2) {
		diag_locate(diags_errorf(d, CRATIS_EINVAL, "file too large to transform (%zu bytes)", len), file, 0, 0, NULL);
		return CRATIS_EINVAL;
	}
	size_t first_diag = d->n;
	struct xf x = { .rules = rules, .provider = provider, .file = file, .src = src, .len = (uint32_t)len, .d = d };
	/* cheap exit: no "infrar" anywhere, nothing to do (and nothing to check) */
	if (!memmem(src, len, "infrar", 6)) {
		buf_add(&out->text, src, len);
		return 0;
	}
	int rc = 0;
	TSParser *p = ts_parser_new();
	if (!p || !ts_parser_set_language(p, tree_sitter_python())) {
		diags_errorf(d, CRATIS_ERROR, "the Python grammar does not fit the tree-sitter runtime");
		if (p)
			ts_parser_delete(p);
		return CRATIS_ERROR;
	}
	TSTree *tree = ts_parser_parse_string(p, NULL, src, (uint32_t)len);
	TSNode root = ts_tree_root_node(tree);
	TSNode *nodes = NULL;
	size_t *parents = NULL;
	size_t nn = 0;
	if (ts_node_has_error(root)) {
		TSNode e = first_error(root);
		xf_diag(&x, DIAG_ERROR, e, "syntax error: this is not valid Python%s", ts_node_is_missing(e) ? " (something is missing here)" : "");
		rc = CRATIS_EINVAL;
		goto out_tree;
	}
	preorder(root, &nodes, &parents, &nn);
	for (size_t i = 0; i < nn; i++) {
		if (node_is(nodes[i], "import_statement"))
			import_statement(&x, nodes[i]);
		else if (node_is(nodes[i], "import_from_statement"))
			import_from_statement(&x, nodes[i]);
	}
	if (!x.nbinds)
		goto out_check;
	/* calls, innermost first (reverse pre-order), and references that are not calls */
	for (size_t i = nn; i-- > 0;) {
		TSNode n = nodes[i];
		bool infrar;
		char *full;
		if (node_is(n, "call")) {
			TSNode fn = ts_node_child_by_field_name(n, "function", 8);
			const struct xf_op *op = resolve(&x, fn, &infrar, &full);
			if (op) {
				rewrite_call(&x, n, op);
				out->calls++;
			}
			free(full);
			continue;
		}
		if (!node_is(n, "identifier") && !node_is(n, "attribute"))
			continue;
		TSNode parent = parents[i] == SIZE_MAX ? (TSNode){ 0 } : nodes[parents[i]];
		if (node_is(parent, "attribute") && ts_node_eq(ts_node_child_by_field_name(parent, "object", 6), n))
			continue; /* judged as part of the longer chain */
		if (node_is(n, "identifier") && not_a_reference(n, parent))
			continue;
		const struct xf_op *op = resolve(&x, n, &infrar, &full);
		bool called = node_is(parent, "call") && ts_node_eq(ts_node_child_by_field_name(parent, "function", 8), n);
		char *t = node_text(&x, n);
		if (op && !called)
			xf_diag(&x, DIAG_ERROR, n, "'%s' (%s) is used without being called: only calls can be rewritten", t, op->name);
		else if (!op && infrar && full && !module_known(&x, full)) {
			const char *prov = provider_specific(full);
			if (prov)
				warn_specific(&x, n, full, prov);
			else
				xf_diag(&x, DIAG_ERROR, n, "unknown infrar operation '%s'", full);
		} else if (!op && infrar && full && called) {
			xf_diag(&x, DIAG_ERROR, n, "'%s' is the module %s, not an operation", t, full);
		} else if (!op && infrar && full) {
			xf_diag(&x, DIAG_ERROR, n, "'%s' (the module %s) is used other than to call its operations: "
			        "its import is removed, so this would break", t, full);
		}
		free(t);
		free(full);
	}
	if (x.nused && !x.errors)
		add_prelude(&x, root, out);
out_check:
	if (x.errors) {
		rc = CRATIS_EINVAL;
		goto out_tree;
	}
	if (x.nedits) {
		render_all(&x, &out->text);
		out->changed = out->text.len != len || memcmp(out->text.ptr, src, len);
		goto out_tree;
	}
	buf_add(&out->text, src, len);
out_tree:
	/* in source order (calls are visited innermost first) */
	if (d->n - first_diag > 1)
		qsort(d->v + first_diag, d->n - first_diag, sizeof(*d->v), cmp_diag);
	free(nodes);
	free(parents);
	for (size_t i = 0; i < x.nedits; i++)
		free(x.edits[i].text);
	free(x.edits);
	for (size_t i = 0; i < x.nbinds; i++) {
		free(x.binds[i].name);
		free(x.binds[i].module);
	}
	free(x.binds);
	free(x.used);
	ts_tree_delete(tree);
	ts_parser_delete(p);
	if (rc)
		buf_clear(&out->text);
	return rc;
}
