/* Values in plans: the changed values of a resource (old → new, unified diffs of lines) and its
 * change as JSON, sensitive and unknown values marked (see engine.h, docs/plan-format.md). */
#define _GNU_SOURCE
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

static bool is_sensitive_value(const json_t *v)
{
	return json_is_string(v) && !strncmp(json_string_value(v), SECRET_REDACTED, strlen(SECRET_REDACTED));
}

static bool is_unknown_value(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), KNOWN_AFTER_APPLY);
}

/* A copy of v with redacted strings as "(sensitive)" and, when unknown_null, unknown strings as
 * null (for the JSON plan's after). */
static json_t *shown_tree(const json_t *v, bool unknown_null)
{
	if (is_sensitive_value(v))
		return json_string(SECRET_REDACTED);
	if (unknown_null && is_unknown_value(v))
		return json_null();
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
			json_object_set_new(o, k, shown_tree(e, unknown_null));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			json_array_append_new(a, shown_tree(e, unknown_null));
		return a;
	}
	return json_incref((json_t *)v);
}

/* The value as one line: JSON text, "(sensitive)" or "(known after apply)". */
static char *shown_value(const json_t *v)
{
	if (!v)
		return NULL;
	if (is_sensitive_value(v))
		return xstrdup(SECRET_REDACTED);
	if (is_unknown_value(v))
		return xstrdup(KNOWN_AFTER_APPLY);
	json_t *t = shown_tree(v, false);
	char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(t);
	return s ? s : xstrdup("null");
}

/* A key as a path step: ".key" when it is a plain name, else ["key"] (JSON-quoted). */
static void path_key(struct buf *b, const char *k)
{
	bool plain = *k != '\0';
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			plain = false;
	if (plain) {
		buf_addf(b, ".%s", k);
		return;
	}
	json_t *s = json_string(k);
	char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	buf_addf(b, "[%s]", q ? q : "\"?\"");
	free(q);
	json_decref(s);
}

static void add_value(struct value_diffs *out, enum value_op op, const char *path, const json_t *a, const json_t *b)
{
	ALLOC_GROW(out->v, out->n + 1, out->alloc);
	struct value_diff *d = &out->v[out->n++];
	memset(d, 0, sizeof(*d));
	d->op = op;
	d->path = xstrdup(path);
	d->before = shown_value(a);
	d->after = shown_value(b);
	/* multi-line text on either side, neither secret nor unknown: a diff of its lines */
	if (json_is_string(a) && json_is_string(b) && !is_sensitive_value(a) && !is_sensitive_value(b) &&
	    !is_unknown_value(b) && (strchr(json_string_value(a), '\n') || strchr(json_string_value(b), '\n'))) {
		struct buf l = BUF_INIT;
		plan_text_diff(&l, json_string_value(a), json_string_value(b));
		if (l.len)
			d->lines = buf_detach(&l);
		buf_release(&l);
	}
}

static void values_walk(struct value_diffs *out, const json_t *a, const json_t *b, struct buf *path, int depth)
{
	if (a && b && json_equal((json_t *)a, (json_t *)b))
		return;
	size_t mark = path->len;
	if (depth < 64 && json_is_object(a) && json_is_object(b)) {
		/* keys in sorted order, so the listing does not depend on the documents' order */
		const char **keys = xcalloc(json_object_size(a) + json_object_size(b) + 1, sizeof(*keys));
		size_t n = 0;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v)
			keys[n++] = k;
		json_object_foreach((json_t *)b, k, v)
			if (!json_object_get(a, k))
				keys[n++] = k;
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		for (size_t i = 0; i < n; i++) {
			path_key(path, keys[i]);
			values_walk(out, json_object_get(a, keys[i]), json_object_get(b, keys[i]), path, depth + 1);
			path->len = mark;
			path->ptr[mark] = '\0';
		}
		free(keys);
		return;
	}
	if (depth < 64 && json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t i = 0; i < na || i < nb; i++) {
			buf_addf(path, "[%zu]", i);
			values_walk(out, i < na ? json_array_get(a, i) : NULL, i < nb ? json_array_get(b, i) : NULL, path, depth + 1);
			path->len = mark;
			path->ptr[mark] = '\0';
		}
		return;
	}
	add_value(out, !a ? VALUE_ADD : !b ? VALUE_REMOVE : VALUE_CHANGE, path->ptr, a, b);
}

void plan_values_diff(struct value_diffs *out, const json_t *before, const json_t *after, const char *root)
{
	struct buf path = BUF_INIT;
	buf_adds(&path, root);
	values_walk(out, before, after, &path, 0);
	buf_release(&path);
}

void plan_item_values(struct value_diffs *out, const struct plan_item *it)
{
	if ((it->action != ACT_UPDATE && it->action != ACT_REPLACE) || !it->row || !it->row->spec || !it->desired)
		return;
	json_t *prior = json_loads(it->row->spec, 0, NULL);
	if (prior)
		plan_values_diff(out, prior, it->desired, "spec");
	json_decref(prior);
}

void value_diffs_release(struct value_diffs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].before);
		free(d->v[i].after);
		free(d->v[i].lines);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- a unified diff of lines ---- */

struct dline {
	const char *p;
	size_t n;
};

/* The lines of s (a last line without a newline counts; a final newline ends the last line). */
static size_t split_lines(const char *s, struct dline **out)
{
	size_t n = 0, alloc = 0;
	struct dline *v = NULL;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		ALLOC_GROW(v, n + 1, alloc);
		v[n].p = s;
		v[n++].n = len;
		s += len + (nl ? 1 : 0);
	}
	*out = v;
	return n;
}

static bool dline_eq(const struct dline *a, const struct dline *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n);
}

#define DIFF_CONTEXT 3
#define DIFF_MAX_CELLS 4000000u

void plan_text_diff(struct buf *out, const char *a, const char *b)
{
	struct dline *A, *B;
	size_t na = split_lines(a, &A), nb = split_lines(b, &B);
	/* the edit script: ' ' keeps A[ai] (= B[bi]), '-' removes A[ai], '+' adds B[bi] */
	char *op = xcalloc(na + nb + 1, 1);
	size_t nops = 0, pre = 0, suf = 0;
	while (pre < na && pre < nb && dline_eq(&A[pre], &B[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && dline_eq(&A[na - 1 - suf], &B[nb - 1 - suf]))
		suf++;
	for (size_t i = 0; i < pre; i++)
		op[nops++] = ' ';
	size_t ma = na - pre - suf, mb = nb - pre - suf;
	if (ma && mb && (unsigned long long)(ma + 1) * (mb + 1) <= DIFF_MAX_CELLS) {
		/* longest common subsequence of the middle, from the end: L[i][j] for A[pre+i..], B[pre+j..] */
		uint32_t *L = xcalloc((ma + 1) * (mb + 1), sizeof(uint32_t));
#define LCS(i, j) L[(i) * (mb + 1) + (j)]
		for (size_t i = ma; i-- > 0;)
			for (size_t j = mb; j-- > 0;)
				LCS(i, j) = dline_eq(&A[pre + i], &B[pre + j]) ? LCS(i + 1, j + 1) + 1
				          : LCS(i + 1, j) >= LCS(i, j + 1) ? LCS(i + 1, j) : LCS(i, j + 1);
		size_t i = 0, j = 0;
		while (i < ma || j < mb) {
			if (i < ma && j < mb && dline_eq(&A[pre + i], &B[pre + j])) {
				op[nops++] = ' ';
				i++;
				j++;
			} else if (j >= mb || (i < ma && LCS(i + 1, j) >= LCS(i, j + 1))) {
				op[nops++] = '-';
				i++;
			} else {
				op[nops++] = '+';
				j++;
			}
		}
#undef LCS
		free(L);
	} else {
		for (size_t i = 0; i < ma; i++)
			op[nops++] = '-';
		for (size_t j = 0; j < mb; j++)
			op[nops++] = '+';
	}
	for (size_t i = 0; i < suf; i++)
		op[nops++] = ' ';
	/* hunks: changes closer than 2 * DIFF_CONTEXT lines share one */
	size_t k = 0, ai = 0, bi = 0; /* ai, bi: lines of A and B before op k */
	while (k < nops) {
		size_t c = k;
		while (c < nops && op[c] == ' ')
			c++;
		if (c == nops)
			break;
		size_t start = c - k > DIFF_CONTEXT ? c - DIFF_CONTEXT : k;
		/* A and B lines before start */
		size_t sa = ai + (start - k), sb = bi + (start - k);
		size_t last = c, e = c;
		for (;;) {
			while (e < nops && op[e] != ' ')
				e++;
			last = e; /* one past the last change so far */
			size_t nx = e;
			while (nx < nops && op[nx] == ' ')
				nx++;
			if (nx < nops && nx - last <= 2 * DIFF_CONTEXT) {
				e = nx;
				continue;
			}
			break;
		}
		size_t end = last + DIFF_CONTEXT < nops ? last + DIFF_CONTEXT : nops;
		size_t la = 0, lb = 0;
		for (size_t x = start; x < end; x++) {
			la += op[x] != '+';
			lb += op[x] != '-';
		}
		buf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n", la ? sa + 1 : sa, la, lb ? sb + 1 : sb, lb);
		size_t xa = sa, xb = sb;
		for (size_t x = start; x < end; x++) {
			const struct dline *l = op[x] == '+' ? &B[xb] : &A[xa];
			buf_addch(out, op[x]);
			buf_add(out, l->p, l->n);
			buf_addch(out, '\n');
			xa += op[x] != '+';
			xb += op[x] != '-';
		}
		ai = xa;
		bi = xb;
		k = end;
	}
	free(op);
	free(A);
	free(B);
}

/* ---- the change of a resource as JSON ---- */

/* A mirror of v with true at each leaf for which pred holds, false for other array elements,
 * and objects keeping only the keys that lead to one; NULL when no leaf holds. */
static json_t *mark_tree(const json_t *v, bool (*pred)(const json_t *))
{
	if (pred(v))
		return json_true();
	if (json_is_object(v)) {
		json_t *o = NULL;
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) {
			json_t *m = mark_tree(e, pred);
			if (!m)
				continue;
			if (!o)
				o = json_object();
			json_object_set_new(o, k, m);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		bool any = false;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			json_t *m = mark_tree(e, pred);
			any |= m != NULL;
			json_array_append_new(a, m ? m : json_false());
		}
		if (!any) {
			json_decref(a);
			return NULL;
		}
		return a;
	}
	return NULL;
}

static json_t *marks(const json_t *v, bool (*pred)(const json_t *))
{
	json_t *m = v ? mark_tree(v, pred) : NULL;
	return m ? m : json_object();
}

json_t *plan_item_change(const struct plan_item *it)
{
	json_t *actions = json_array();
	if (it->action == ACT_REPLACE) {
		json_array_append_new(actions, json_string("delete"));
		json_array_append_new(actions, json_string("create"));
	} else {
		json_array_append_new(actions, json_string(action_names[it->action]));
	}
	json_t *before = it->row && it->row->spec ? json_loads(it->row->spec, 0, NULL) : NULL;
	const json_t *after = it->action == ACT_DELETE ? NULL : it->desired;
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "actions", actions,
	                      "before", before ? shown_tree(before, false) : json_null(),
	                      "after", after ? shown_tree(after, true) : json_null(),
	                      "after_unknown", marks(after, is_unknown_value),
	                      "before_sensitive", marks(before, is_sensitive_value),
	                      "after_sensitive", marks(after, is_sensitive_value));
	json_decref(before);
	return o;
}

