/* Load YAML manifests into JSON documents with positions (see manifest.h). */
#define _GNU_SOURCE
#include "manifest.h"
#include "guard.h"
#include "ignore.h"
#include "location.h"

#include <dirent.h>
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/map.h"
#include "util/banned.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

void manifest_set_init(struct manifest_set *s)
{
	memset(s, 0, sizeof(*s));
}

static void doc_free(struct manifest_doc *d)
{
	json_decref(d->root);
	free(d->pos);
	free(d);
}

void manifest_set_release(struct manifest_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		doc_free(s->docs[i]);
	free(s->docs);
	strv_release(&s->files);
	diags_release(&s->errors);
	diags_release(&s->notes);
	strv_release(&s->included);
	json_decref(s->sources);
	const char *cache = s->cache_dir;
	manifest_set_init(s);
	s->cache_dir = cache; /* the caller's setting survives */
}

const char *json_type_phrase(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a sequence";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Number of nodes of v (itself and everything inside). */
static size_t json_count(const json_t *v)
{
	size_t n = 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
			n += json_count(c);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			n += json_count(json_array_get(v, i));
	}
	return n;
}

/* ---- YAML 1.2 core schema (YAML 1.2.2, section 10.3.2) ---- */

enum sclass { SC_NULL, SC_BOOL, SC_INT, SC_FLOAT, SC_INF, SC_NAN, SC_RANGE, SC_STR };

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_float(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t d = strspn(p, "0123456789");
	p += d;
	if (*p == '.') {
		p++;
		size_t f = strspn(p, "0123456789");
		if (!d && !f)
			return false;
		p += f;
	} else if (!d) {
		return false;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		p += (*p == '-' || *p == '+');
		size_t e = strspn(p, "0123456789");
		if (!e)
			return false;
		p += e;
	}
	return *p == '\0';
}

/* Classify the text t (NUL-terminated) by the core schema's regular expressions; *ll or *d get
 * the value of an integer or a float. */
static enum sclass classify(const char *t, long long *ll, double *d, bool *b)
{
	if (!*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL"))
		return SC_NULL;
	if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
		*b = true;
		return SC_BOOL;
	}
	if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
		*b = false;
		return SC_BOOL;
	}
	const char *u = t + (*t == '-' || *t == '+');
	if (all_of(u, "0123456789")) {
		errno = 0;
		*ll = strtoll(t, NULL, 10);
		return errno == ERANGE ? SC_RANGE : SC_INT;
	}
	if ((t[0] == '0' && t[1] == 'o' && all_of(t + 2, "01234567")) ||
	    (t[0] == '0' && t[1] == 'x' && all_of(t + 2, "0123456789abcdefABCDEF"))) {
		errno = 0;
		unsigned long long v = strtoull(t + 2, NULL, t[1] == 'o' ? 8 : 16);
		if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
			return SC_RANGE;
		*ll = (long long)v;
		return SC_INT;
	}
	if (is_float(t)) {
		*d = strtod(t, NULL);
		return isinf(*d) ? SC_RANGE : SC_FLOAT;
	}
	if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF"))
		return SC_INF;
	if (!strcmp(t, ".nan") || !strcmp(t, ".NaN") || !strcmp(t, ".NAN"))
		return SC_NAN;
	return SC_STR;
}

/* ---- conversion of one document ---- */

struct alias_ref {
	struct fy_node *alias, *target;   /* target NULL: undefined */
};

struct posv {
	struct manifest_pos *v;
	size_t n, alloc;
};

struct conv {
	struct manifest_set *s;
	const char *file;
	struct posv out;                  /* positions of the nodes produced, in pre-order */
	struct alias_ref *aliases;        /* sorted by alias */
	size_t naliases, aaliases;
	int in_copy;                      /* > 0 while expanding an alias or a merge source */
	size_t copied;                    /* nodes produced by expansions */
	bool too_big;
};

static const struct manifest_pos unknown_pos = { 0, 0 };

static size_t pos_push(struct conv *c, struct manifest_pos p)
{
	ALLOC_GROW(c->out.v, c->out.n + 1, c->out.alloc);
	c->out.v[c->out.n] = p;
	return c->out.n++;
}

__attribute__((format(printf, 3, 4)))
static void conv_error(struct conv *c, struct manifest_pos at, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	/* a node copied by several aliases reports its problem once */
	for (size_t i = 0; i < c->s->errors.n; i++) {
		const struct diag *o = &c->s->errors.v[i];
		if (o->line == (int)at.line && o->column == (int)at.col && o->file && !strcmp(o->file, c->file) &&
		    !strcmp(o->message, b.ptr)) {
			buf_release(&b);
			return;
		}
	}
	diag_locate(diags_errorf(&c->s->errors, CRATIS_EINVAL, "%s", b.ptr), c->file, at.line ? (int)at.line : 1,
	            at.line ? (int)at.col : 1, NULL);
	buf_release(&b);
}

static bool token_pos(struct fy_token *t, struct manifest_pos *out)
{
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	if (!m || m->line < 0 || m->column < 0)
		return false;
	out->line = (uint32_t)m->line + 1;
	out->col = (uint32_t)m->column + 1;
	return true;
}

/* Position of a scalar or alias node's own text (false for an empty value, which has none);
 * an alias is at its '*' (libfyaml's token starts at the name). */
static bool scalar_pos(struct fy_node *n, struct manifest_pos *out)
{
	if (!n || !fy_node_is_scalar(n) || !token_pos(fy_node_get_scalar_token(n), out))
		return false;
	if (fy_node_is_alias(n) && out->col > 1)
		out->col--;
	return true;
}

static int cmp_alias(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct alias_ref *)a)->alias, y = (uintptr_t)((const struct alias_ref *)b)->alias;
	return x < y ? -1 : x > y;
}

/* Walk the tree in document order and bind every alias to the latest anchor of its name that
 * was complete before it (YAML 1.2.2, 3.2.2.2): an alias inside its own anchor's node, or
 * before the anchor, is undefined, so expansions never loop. */
static void bind_aliases(struct conv *c, struct fy_node *n, struct map *anchors, struct strv *names)
{
	if (!n)
		return;
	if (fy_node_is_alias(n)) {
		size_t len = 0;
		const char *s = fy_node_get_scalar(n, &len);
		char *name = xstrndup(s ? s : "", s ? len : 0);
		ALLOC_GROW(c->aliases, c->naliases + 1, c->aaliases);
		c->aliases[c->naliases].alias = n;
		c->aliases[c->naliases++].target = map_get(anchors, name);
		free(name);
		return;
	}
	if (fy_node_is_sequence(n)) {
		void *it = NULL;
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(n, &it)))
			bind_aliases(c, item, anchors, names);
	} else if (fy_node_is_mapping(n)) {
		void *it = NULL;
		struct fy_node_pair *p;
		while ((p = fy_node_mapping_iterate(n, &it))) {
			bind_aliases(c, fy_node_pair_key(p), anchors, names);
			bind_aliases(c, fy_node_pair_value(p), anchors, names);
		}
	}
	struct fy_anchor *a = fy_node_get_anchor(n);
	if (a) {
		size_t len = 0;
		const char *t = fy_anchor_get_text(a, &len);
		strv_push_owned(names, xstrndup(t ? t : "", t ? len : 0));
		map_put(anchors, names->v[names->n - 1], n);
	}
}

/* The node an alias stands for; reports an undefined alias and returns NULL. */
static struct fy_node *alias_target(struct conv *c, struct fy_node *alias)
{
	struct alias_ref key = { alias, NULL };
	struct alias_ref *r = c->naliases ? bsearch(&key, c->aliases, c->naliases, sizeof(key), cmp_alias) : NULL;
	if (r && r->target)
		return r->target;
	struct manifest_pos at = unknown_pos;
	scalar_pos(alias, &at);
	size_t len = 0;
	const char *name = fy_node_get_scalar(alias, &len);
	conv_error(c, at, "undefined alias '*%.*s' (an alias names an anchor '&%.*s' defined before it)",
	           (int)len, name ? name : "", (int)len, name ? name : "");
	return NULL;
}

static const char *class_phrase(const char *tag)
{
	if (!strcmp(tag, "int"))
		return "an integer";
	if (!strcmp(tag, "float"))
		return "a number";
	if (!strcmp(tag, "bool"))
		return "a boolean";
	return "null";
}

/* The JSON value of a scalar's text s (len bytes) under tag: NULL (no tag: plain scalars are
 * resolved by the core schema), or "int", "float", "bool", "null" (the text must be one). */
static json_t *core_scalar(struct conv *c, const char *s, size_t len, const char *tag, struct manifest_pos at)
{
	if (!tag && len && s[0] && !memchr("~nNtTfF0123456789+-.", s[0], 21))
		return json_stringn(s, len);   /* no core-schema form starts with this byte: a string */
	/* a NUL-terminated copy, on the stack when it is short */
	char stack[64];
	char *t = len < sizeof(stack) ? stack : xmalloc(len + 1);
	memcpy(t, s, len);
	t[len] = '\0';
	long long ll = 0;
	double d = 0;
	bool b = false;
	enum sclass k = classify(t, &ll, &d, &b);
	json_t *v = NULL;
	if (k == SC_RANGE) {
		conv_error(c, at, "number '%.40s' is out of range (integers are 64-bit); quote it for text", t);
	} else if (k == SC_INF || k == SC_NAN) {
		conv_error(c, at, "'%s' is a YAML float that JSON cannot represent; quote it for text", t);
	} else if (!tag) {
		v = k == SC_NULL ? json_null() : k == SC_BOOL ? json_boolean(b) : k == SC_INT ? json_integer(ll)
		  : k == SC_FLOAT ? json_real(d) : json_stringn(s, len);
	} else if (!strcmp(tag, "int") && k == SC_INT) {
		v = json_integer(ll);
	} else if (!strcmp(tag, "float") && (k == SC_INT || k == SC_FLOAT)) {
		v = json_real(k == SC_INT ? (double)ll : d);
	} else if (!strcmp(tag, "bool") && k == SC_BOOL) {
		v = json_boolean(b);
	} else if (!strcmp(tag, "null") && k == SC_NULL) {
		v = json_null();
	} else {
		conv_error(c, at, "'%.40s' is not %s (tag !!%s)", t, class_phrase(tag), tag);
	}
	if (t != stack)
		free(t);
	return v;
}

static json_t *scalar_value(struct conv *c, struct fy_node *n, struct manifest_pos at)
{
	size_t len = 0, tlen = 0;
	const char *s = fy_node_get_scalar(n, &len);
	if (!s) {
		s = "";
		len = 0;
	}
	const char *tag = fy_node_get_tag(n, &tlen);
	char *core = NULL;
	json_t *v;
	if (tag && tlen > strlen(TAG_PREFIX) && !strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		core = xstrndup(tag + strlen(TAG_PREFIX), tlen - strlen(TAG_PREFIX));
	if (core && (!strcmp(core, "int") || !strcmp(core, "float") || !strcmp(core, "bool") || !strcmp(core, "null"))) {
		v = core_scalar(c, s, len, core, at);
	} else if (core && (!strcmp(core, "map") || !strcmp(core, "seq"))) {
		conv_error(c, at, "a scalar cannot have the tag !!%s", core);
		v = NULL;
	} else if (!tag && fy_node_get_style(n) == FYNS_PLAIN) {
		v = core_scalar(c, s, len, NULL, at);
	} else {
		/* quoted and block scalars, !!str, the non-specific "!" and tags cratis does not know */
		v = json_stringn(s, len);
		if (!v)
			conv_error(c, at, "a string that is not valid UTF-8");
	}
	free(core);
	return v ? v : json_null();
}

/* Check a collection's !!map / !!seq tag. */
static void check_collection_tag(struct conv *c, struct fy_node *n, struct manifest_pos at)
{
	size_t tlen = 0;
	const char *tag = fy_node_get_tag(n, &tlen);
	if (!tag || tlen <= strlen(TAG_PREFIX) || strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		return;
	const char *t = tag + strlen(TAG_PREFIX);
	size_t l = tlen - strlen(TAG_PREFIX);
	bool seq = fy_node_is_sequence(n);
	if ((l == 3 && !strncmp(t, "map", 3) && seq) || (l == 3 && !strncmp(t, "seq", 3) && !seq) ||
	    (l == 3 && !strncmp(t, "str", 3)) || (l == 3 && !strncmp(t, "int", 3)) ||
	    (l == 5 && !strncmp(t, "float", 5)) || (l == 4 && !strncmp(t, "bool", 4)) ||
	    (l == 4 && !strncmp(t, "null", 4)))
		conv_error(c, at, "a %s cannot have the tag !!%.*s", seq ? "sequence" : "mapping", (int)l, t);
}

static json_t *convert(struct conv *c, struct fy_node *n, const struct manifest_pos *key_pos,
                       const struct manifest_pos *parent_pos);

static bool is_merge_key(struct fy_node *k)
{
	size_t len = 0, tlen = 0;
	if (!k || !fy_node_is_scalar(k) || fy_node_is_alias(k) || fy_node_get_style(k) != FYNS_PLAIN ||
	    fy_node_get_tag(k, &tlen))
		return false;
	const char *s = fy_node_get_scalar(k, &len);
	return s && len == 2 && !memcmp(s, "<<", 2);
}

/* Merge the mapping src (a merge key's source) into o: keys o has already win. The members'
 * positions are appended in the order they are inserted. */
static void merge_from(struct conv *c, json_t *o, struct fy_node *src)
{
	struct posv saved = c->out;
	memset(&c->out, 0, sizeof(c->out));
	c->in_copy++;
	json_t *tmp = convert(c, src, NULL, NULL);
	c->in_copy--;
	struct posv got = c->out;
	c->out = saved;
	size_t off = 1;
	const char *k;
	json_t *v;
	json_object_foreach(tmp, k, v) {
		size_t cnt = json_count(v);
		if (!json_object_get(o, k)) {
			json_object_set(o, k, v);
			for (size_t i = 0; i < cnt && off + i < got.n; i++)
				pos_push(c, got.v[off + i]);
		}
		off += cnt;
	}
	json_decref(tmp);
	free(got.v);
}

/* The sources of a merge key's value v: a mapping, an alias of one, or a sequence of those. */
static void merge_key(struct conv *c, json_t *o, struct fy_node *v, struct manifest_pos at)
{
	struct fy_node *t = v && fy_node_is_alias(v) ? alias_target(c, v) : v;
	if (v && fy_node_is_alias(v) && !t)
		return;
	if (t && fy_node_is_mapping(t)) {
		merge_from(c, o, t);
		return;
	}
	if (t && fy_node_is_sequence(t)) {
		void *it = NULL;
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(t, &it))) {
			struct manifest_pos ip = at;
			scalar_pos(item, &ip);
			struct fy_node *m = fy_node_is_alias(item) ? alias_target(c, item) : item;
			if (m && fy_node_is_mapping(m))
				merge_from(c, o, m);
			else if (m || !fy_node_is_alias(item))
				conv_error(c, ip, "merge key '<<': expected a mapping or an alias of one in the sequence");
		}
		return;
	}
	scalar_pos(v, &at);
	conv_error(c, at, "merge key '<<': expected a mapping, an alias of one, or a sequence of them");
}

static json_t *convert_mapping(struct conv *c, struct fy_node *n, const struct manifest_pos *self)
{
	json_t *o = json_object();
	void *it = NULL;
	struct fy_node_pair *p;
	bool merges = false;
	while ((p = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *k = fy_node_pair_key(p);
		if (is_merge_key(k)) {
			merges = true;
			continue;
		}
		struct manifest_pos kp = *self;
		scalar_pos(k, &kp);
		struct fy_node *ks = k && fy_node_is_alias(k) ? alias_target(c, k) : k;
		size_t klen = 0;
		const char *kt = ks && fy_node_is_scalar(ks) && !fy_node_is_alias(ks) ? fy_node_get_scalar(ks, &klen) : NULL;
		if (!ks)
			continue;
		if (!kt && !fy_node_is_scalar(ks)) {
			conv_error(c, kp, "a mapping key must be a scalar, not a %s", fy_node_is_sequence(ks) ? "sequence" : "mapping");
			continue;
		}
		/* the key, NUL-terminated (on the stack when short): jansson keys end at a NUL */
		char stack[64];
		size_t kl = kt ? klen : 0;
		char *key = kl < sizeof(stack) ? stack : xmalloc(kl + 1);
		if (kl)
			memcpy(key, kt, kl);
		key[kl] = '\0';
		kl = strlen(key);
		size_t before = c->out.n;
		json_t *v = convert(c, fy_node_pair_value(p), &kp, self);
		if (json_object_getn(o, key, kl)) {
			conv_error(c, kp, "duplicate key '%s'", key);
			c->out.n = before;
			json_decref(v);
		} else if (json_object_setn_new(o, key, kl, v)) {
			conv_error(c, kp, "a mapping key that is not valid UTF-8");
			c->out.n = before;
		}
		if (key != stack)
			free(key);
	}
	if (merges) {
		it = NULL;
		while ((p = fy_node_mapping_iterate(n, &it))) {
			if (!is_merge_key(fy_node_pair_key(p)))
				continue;
			struct manifest_pos kp = *self;
			scalar_pos(fy_node_pair_key(p), &kp);
			merge_key(c, o, fy_node_pair_value(p), kp);
		}
	}
	return o;
}

/* Convert n to JSON, appending the positions of the nodes produced in pre-order. key_pos: the
 * key n is the value of (NULL for a sequence item or the root); parent_pos: the parent's
 * position, the fallback of an empty value. */
static json_t *convert(struct conv *c, struct fy_node *n, const struct manifest_pos *key_pos,
                       const struct manifest_pos *parent_pos)
{
	struct manifest_pos fallback = key_pos ? *key_pos : parent_pos ? *parent_pos : unknown_pos;
	if (c->in_copy && ++c->copied > MANIFEST_MAX_ALIAS_NODES) {
		if (!c->too_big)
			conv_error(c, fallback, "aliases expand to more than %d nodes", MANIFEST_MAX_ALIAS_NODES);
		c->too_big = true;
		pos_push(c, fallback);
		return json_null();
	}
	if (!n) {
		pos_push(c, fallback);
		return json_null();
	}
	if (fy_node_is_alias(n)) {
		struct manifest_pos at = fallback;
		scalar_pos(n, &at);
		struct fy_node *t = alias_target(c, n);
		if (!t) {
			pos_push(c, at);
			return json_null();
		}
		size_t slot = c->out.n;
		c->in_copy++;
		json_t *v = convert(c, t, NULL, &at);
		c->in_copy--;
		/* the copy is where the alias is: under its key for a collection, else at '*name' */
		c->out.v[slot] = !fy_node_is_scalar(t) && key_pos ? *key_pos : at;
		return v;
	}
	if (fy_node_is_scalar(n)) {
		struct manifest_pos at = fallback;
		scalar_pos(n, &at);
		pos_push(c, at);
		return scalar_value(c, n, at);
	}
	size_t slot = pos_push(c, fallback);
	json_t *v;
	if (fy_node_is_sequence(n)) {
		v = json_array();
		void *it = NULL;
		struct fy_node *item;
		struct manifest_pos self = fallback;
		bool first = true;
		while ((item = fy_node_sequence_iterate(n, &it))) {
			size_t at = c->out.n;
			json_array_append_new(v, convert(c, item, NULL, &self));
			if (first && !key_pos) {
				/* a sequence that is not a mapping's value is at its first item */
				c->out.v[slot] = self = c->out.v[at];
			}
			first = false;
		}
	} else {
		struct manifest_pos self = fallback;
		if (!key_pos) {
			/* a mapping that is not a mapping's value is at its first key */
			void *it = NULL;
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
			if (p && scalar_pos(fy_node_pair_key(p), &self))
				c->out.v[slot] = self;
		}
		v = convert_mapping(c, n, &self);
	}
	check_collection_tag(c, n, c->out.v[slot]);
	return v;
}

/* Convert one parsed document into a manifest_doc of s (NULL for an empty document). */
static struct manifest_doc *doc_from(struct manifest_set *s, const char *file, int index, struct fy_document *fyd)
{
	struct fy_node *root = fy_document_root(fyd);
	if (!root)
		return NULL;
	struct conv c = { .s = s, .file = file };
	struct map anchors = MAP_INIT;
	struct strv names = STRV_INIT;
	void *ait = NULL;
	if (fy_document_anchor_iterate(fyd, &ait)) {
		/* without an anchor every alias is undefined, which alias_target reports unbound */
		bind_aliases(&c, root, &anchors, &names);
	}
	map_release(&anchors);
	strv_release(&names);
	if (c.naliases)
		qsort(c.aliases, c.naliases, sizeof(c.aliases[0]), cmp_alias);
	struct manifest_doc *d = xcalloc(1, sizeof(*d));
	d->file = file;
	d->index = index;
	d->set = s;
	d->root = convert(&c, root, NULL, NULL);
	free(c.aliases);
	if (json_count(d->root) == c.out.n) {
		d->pos = xrealloc(c.out.v, (c.out.n ? c.out.n : 1) * sizeof(*d->pos));
		d->npos = c.out.n;
	} else {
		/* cannot happen: every node pushes exactly one position; locate falls back to 1:1 */
		free(c.out.v);
	}
	return d;
}

#define MANIFEST_MAX_BYTES (64u << 20)

static void collect_diag(struct manifest_set *s, struct fy_diag *diag, const char *file)
{
	void *it = NULL;
	struct fy_diag_error *e;
	bool any = false;
	while ((e = fy_diag_errors_iterate(diag, &it))) {
		if (e->type < FYET_ERROR)
			continue;
		/* fy_diag_error's line and column are 1-based already (libfyaml 0.7) */
		diag_locate(diags_errorf(&s->errors, CRATIS_EINVAL, "invalid YAML: %s", e->msg), file, e->line, e->column, NULL);
		any = true;
	}
	if (!any)
		diag_locate(diags_errorf(&s->errors, CRATIS_EINVAL, "invalid YAML"), file, 1, 1, NULL);
}

/* Parse a file (data NULL) or a buffer named name; every document goes to s. */
static int load_stream(struct manifest_set *s, const char *name, const char *data, size_t len)
{
	strv_push(&s->files, name);
	const char *file = s->files.v[s->files.n - 1];
	struct buf text = BUF_INIT;
	if (!data) {
		if (buf_read_file(&text, file, MANIFEST_MAX_BYTES) < 0)
			return error_set(CRATIS_EIO, "cannot read '%s': %s", file,
			                 errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
		data = text.ptr;
		len = text.len;
	}
	int rc = CRATIS_OK;
	if (!manifest_input_ok(&s->errors, file, data, len)) {
		rc = CRATIS_EINVAL;
		goto out_text;
	}
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag) {
		rc = error_set(CRATIS_ENOMEM, "cannot create YAML diagnostics");
		goto out_text;
	}
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2, .diag = diag };
	struct fy_parser *fyp = fy_parser_create(&cfg);
	if (!fyp) {
		rc = error_set(CRATIS_ENOMEM, "cannot create YAML parser");
		goto out_unref;
	}
	if (fy_parser_set_string(fyp, data, len)) {
		rc = error_set(CRATIS_ENOMEM, "cannot read '%s'", file);
		goto out_destroy;
	}
	size_t nerrors = s->errors.n;
	struct fy_document *fyd;
	int index = 0;
	while ((fyd = fy_parse_load_document(fyp))) {
		struct manifest_doc *d = doc_from(s, file, index, fyd);
		if (d) {
			ALLOC_GROW(s->docs, s->n + 1, s->alloc);
			s->docs[s->n++] = d;
		}
		index++;
		fy_parse_document_destroy(fyp, fyd);
	}
	if (fy_parser_get_stream_error(fyp))
		collect_diag(s, diag, file);
	if (s->errors.n > nerrors)
		rc = CRATIS_EINVAL;
out_destroy:
	fy_parser_destroy(fyp);
out_unref:
	fy_diag_unref(diag);
out_text:
	buf_release(&text);
	return rc;
}

static int load_file(struct manifest_set *s, const char *path)
{
	return load_stream(s, path, NULL, 0);
}

int manifest_load_buffer(struct manifest_set *s, const char *name, const char *data, size_t len)
{
	return load_stream(s, name, data ? data : "", data ? len : 0);
}

/* A directory walk: the real files and directories it has visited (device, inode: through
 * symbolic links a directory can contain itself, and a file can be reached twice), and the
 * ignore rules of the walked directory's .cratisignore. */
struct walk {
	struct walk_id {
		dev_t dev;
		ino_t ino;
	} *v;
	size_t n, alloc;
	struct ignore ignore;
};

/* True when path's real file was seen before by w; else remembers it. A path that cannot be
 * stat'ed is not "seen" (reading it reports the error). */
static bool walk_seen(struct walk *w, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].dev == st.st_dev && w->v[i].ino == st.st_ino)
			return true;
	ALLOC_GROW(w->v, w->n + 1, w->alloc);
	w->v[w->n++] = (struct walk_id){ st.st_dev, st.st_ino };
	return false;
}

/* Whether doc is a cratis manifest: a mapping with apiVersion and kind. */
static bool looks_like_manifest(const struct manifest_doc *d)
{
	return json_is_object(d->root) && json_object_get(d->root, "apiVersion") && json_object_get(d->root, "kind");
}

/* Load a file found by a walk: when it parses but none of its documents looks like a manifest,
 * take it back out of s with a note (an error in it is reported as for any file). */
static int load_walked_file(struct manifest_set *s, const char *path)
{
	size_t ndocs = s->n, nerrors = s->errors.n, nfiles = s->files.n;
	int rc = load_file(s, path);
	if (rc != CRATIS_OK || s->errors.n != nerrors || s->files.n != nfiles + 1)
		return rc;
	for (size_t i = ndocs; i < s->n; i++)
		if (looks_like_manifest(s->docs[i]))
			return CRATIS_OK;
	for (size_t i = ndocs; i < s->n; i++)
		doc_free(s->docs[i]);
	s->n = ndocs;
	diag_locate(diags_add(&s->notes, DIAG_NOTE, CRATIS_OK, "skipped: no document has apiVersion and kind, so it is not a cratis manifest"),
	            path, 0, 0, NULL);
	free(s->files.v[--s->files.n]);
	s->files.v[s->files.n] = NULL;
	return CRATIS_OK;
}

/* Walk dir (rel: its path from the walked directory, "" for that one). */
static int load_dir(struct manifest_set *s, const char *dir, const char *rel, struct walk *w)
{
	if (walk_seen(w, dir))
		return CRATIS_OK; /* each real directory once: a link back to an ancestor ends here */
	struct strv names = STRV_INIT;
	if (dir_names_sorted(dir, NULL, &names))
		return error_set(CRATIS_EIO, "cannot read directory '%s': %s", dir, strerror(errno));
	int rc = CRATIS_OK;
	for (size_t i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		char *r = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
		int st = CRATIS_OK;
		bool isdir = is_dir(p);
		/* the rules: node_modules/ first, then those of .cratisignore (manifest_load_path) */
		bool skip = ignore_match(&w->ignore, r, isdir);
		if (skip)
			diag_locate(diags_add(&s->notes, DIAG_NOTE, CRATIS_OK, "skipped: %s", isdir ? "directory ignored" : "ignored"), p, 0, 0, NULL);
		else if (isdir)
			st = load_dir(s, p, r, w);
		else if ((ends_with(p, ".yaml") || ends_with(p, ".yml")) && !walk_seen(w, p))
			st = load_walked_file(s, p);
		free(p);
		free(r);
		if (st == CRATIS_EINVAL && rc == CRATIS_OK)
			rc = st;
		else if (st != CRATIS_OK && st != CRATIS_EINVAL) {
			rc = st;
			break;
		}
	}
	strv_release(&names);
	return rc;
}

static int load_local(struct manifest_set *s, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		size_t len = strlen(path);
		char *p = xstrndup(path, len > 1 && path[len - 1] == '/' ? len - 1 : len);
		struct walk w = { NULL, 0, 0, IGNORE_INIT };
		char *ign = xasprintf("%s/.cratisignore", p);
		struct buf text = BUF_INIT;
		int rc = CRATIS_OK;
		ignore_add_line(&w.ignore, "node_modules/"); /* a default the file may undo: !node_modules/ */
		if (buf_read_file(&text, ign, 1u << 20) < 0) {
			if (errno != ENOENT)
				rc = error_set(CRATIS_EIO, "cannot read '%s': %s", ign, errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		} else {
			ignore_add_text(&w.ignore, text.ptr, text.len);
		}
		buf_release(&text);
		free(ign);
		if (!rc)
			rc = load_dir(s, p, "", &w);
		ignore_release(&w.ignore);
		free(w.v);
		free(p);
		return rc;
	}
	return load_file(s, path);
}

/* ---- locations: git repositories and a Project's spec.includes / spec.systems (location.h) ---- */

/* Load one location: a git location fetched into s's cache and recorded in s->sources, or a
 * local path. Errors as manifest_load_path. */
static int load_location(struct manifest_set *s, const char *path)
{
	if (!location_is_git(path))
		return load_local(s, path);
	struct location l;
	int rc = location_parse(&l, path);
	if (rc)
		return CRATIS_EIO;
	char *def = s->cache_dir ? NULL : xstrdup(".cratis/git");
	char *dir = NULL;
	struct git_pin pin;
	if ((rc = location_fetch(&l, s->cache_dir ? s->cache_dir : def, &dir, &pin))) {
		free(def);
		location_release(&l);
		return CRATIS_EIO;
	}
	if (!s->sources)
		s->sources = json_array();
	static const char *const kinds[] = { "branch", "tag", "commit" };
	json_array_append_new(s->sources, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "location", l.text, "url", l.url,
	                                            "subdir", l.subdir, "ref", pin.ref, "kind", kinds[pin.kind],
	                                            "commit", pin.commit));
	rc = load_local(s, dir);
	free(pin.ref);
	free(dir);
	free(def);
	location_release(&l);
	return rc;
}

/* spec.systems takes the Systems and Environments of what it names: the other documents loaded
 * from index first on (an infrastructure repository's own Projects and resources) are dropped,
 * with a note each. */
static void keep_systems(struct manifest_set *s, size_t first)
{
	size_t w = first;
	for (size_t i = first; i < s->n; i++) {
		struct manifest_doc *d = s->docs[i];
		const char *kind = json_string_value(json_object_get(d->root, "kind"));
		if (kind && (!strcmp(kind, "System") || !strcmp(kind, "Environment"))) {
			s->docs[w++] = d;
			continue;
		}
		struct loc at;
		manifest_locate(d, NULL, &at);
		diag_locate(diags_add(&s->notes, DIAG_NOTE, CRATIS_OK, "skipped: a %s document; spec.systems takes only Systems and Environments",
		                      kind ? kind : "kind-less"), at.file, at.line, at.col, NULL);
		doc_free(d);
	}
	s->n = w;
}

/* The documents from index from on: every Project's spec.includes and spec.systems entries
 * (locations; a relative path is relative to the file that names it) are loaded once each, the
 * documents they bring processed in turn. Problems are appended to s->errors at the entry. */
static void load_includes(struct manifest_set *s, size_t from)
{
	static const char *const fields[] = { "includes", "systems" };
	for (size_t i = from; i < s->n; i++) {
		const struct manifest_doc *doc = s->docs[i];
		const char *kind = json_string_value(json_object_get(doc->root, "kind"));
		if (!kind || strcmp(kind, "Project"))
			continue;
		for (size_t f = 0; f < 2; f++) {
			json_t *list = json_object_get(json_object_get(doc->root, "spec"), fields[f]);
			if (!list)
				continue;
			char field[64];
			if (!json_is_array(list)) {
				snprintf(field, sizeof(field), "spec.%s", fields[f]);
				manifest_error(&s->errors, doc, field, "expected a sequence of locations (paths or git::URL//DIR?ref=REF), got %s",
				               json_type_phrase(list));
				continue;
			}
			for (size_t k = 0; k < json_array_size(list); k++) {
				snprintf(field, sizeof(field), "spec.%s[%zu]", fields[f], k);
				const char *text = json_string_value(json_array_get(list, k));
				if (!text || !*text) {
					manifest_error(&s->errors, doc, field, "expected a location (a path or git::URL//DIR?ref=REF), got %s",
					               json_type_phrase(json_array_get(list, k)));
					continue;
				}
				char *where = NULL;
				if (location_is_git(text) || text[0] == '/') {
					where = xstrdup(text);
				} else {
					const char *slash = strrchr(doc->file, '/');
					where = slash ? xasprintf("%.*s/%s", (int)(slash - doc->file), doc->file, text) : xstrdup(text);
				}
				char *key = location_is_git(where) ? xstrdup(where) : abs_path(where);
				if (!key || strv_has(&s->included, key)) {
					if (!key)
						manifest_error(&s->errors, doc, field, "cannot read '%s': %s", where, strerror(errno));
					free(key);
					free(where);
					continue;
				}
				strv_push_owned(&s->included, key);
				size_t first = s->n;
				if (load_location(s, where) == CRATIS_EIO)
					manifest_error(&s->errors, doc, field, "%s", cratis_error_last()->message);
				if (f == 1)
					keep_systems(s, first);
				doc = s->docs[i]; /* loading may move the documents' array, not the documents */
				free(where);
			}
		}
	}
}

int manifest_load_path(struct manifest_set *s, const char *path)
{
	size_t from = s->n;
	if (location_is_git(path))
		strv_push(&s->included, path);
	int rc = load_location(s, path);
	if (rc == CRATIS_EIO)
		return rc;
	size_t errs = s->errors.n;
	load_includes(s, from);
	return rc ? rc : s->errors.n > errs ? CRATIS_EINVAL : CRATIS_OK;
}

/* Child of v named by the path component comp (len bytes; index: written as [i]); its
 * pre-order index from v's index *idx. NULL when there is none. */
static const json_t *child_of(const json_t *v, const char *comp, size_t len, bool index, size_t *idx)
{
	size_t at = *idx + 1;
	if (json_is_array(v) && len && len < 20 && strspn(comp, "0123456789") >= len) {
		size_t i = (size_t)strtoull(comp, NULL, 10);
		if (i >= json_array_size(v))
			return NULL;
		for (size_t j = 0; j < i; j++)
			at += json_count(json_array_get(v, j));
		*idx = at;
		return json_array_get(v, i);
	}
	(void)index;
	if (!json_is_object(v))
		return NULL;
	const char *k;
	json_t *c;
	json_object_foreach((json_t *)v, k, c) {
		if (strlen(k) == len && !memcmp(k, comp, len)) {
			*idx = at;
			return c;
		}
		at += json_count(c);
	}
	return NULL;
}

void manifest_locate(const struct manifest_doc *doc, const char *field, struct loc *out)
{
	out->file = doc->file;
	out->line = out->col = 1;
	if (!doc->root || !doc->npos)
		return;
	const json_t *v = doc->root;
	size_t idx = 0;
	struct manifest_pos best = doc->pos[0];
	/* "spec.apply[0]": components "spec", "apply", "0"; stop at the first that does not exist */
	for (const char *p = field ? field : ""; *p && v;) {
		bool index = *p == '[';
		if (*p == '.' || *p == '[')
			p++;
		size_t len = strcspn(p, ".[]");
		v = child_of(v, p, len, index, &idx);
		p += len;
		if (*p == ']')
			p++;
		if (v && idx < doc->npos && doc->pos[idx].line)
			best = doc->pos[idx];
	}
	if (best.line) {
		out->line = (int)best.line;
		out->col = (int)best.col;
	}
}

struct diag *manifest_error(struct diags *errors, const struct manifest_doc *doc, const char *field,
                            const char *fmt, ...)
{
	struct loc l;
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(errors, DIAG_ERROR, CRATIS_EINVAL, fmt, ap);
	va_end(ap);
	if (doc) {
		manifest_locate(doc, field, &l);
		diag_locate(dg, l.file, l.line, l.col, field);
	} else {
		diag_locate(dg, NULL, 0, 0, field);
	}
	return dg;
}
