/* Load YAML manifest files into JSON documents with locations (see manifest.h). */
#define _GNU_SOURCE
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

void manifest_set_init(struct manifest_set *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->loc_lock, NULL);
}

static void loc_cache_clear(struct manifest_set *s)
{
	for (size_t i = 0; i < s->loc_n; i++)
		if (s->loc_docs[i])
			fy_parse_document_destroy(s->loc_parser, s->loc_docs[i]);
	s->loc_n = 0;
	if (s->loc_parser)
		fy_parser_destroy(s->loc_parser);
	s->loc_parser = NULL;
	s->loc_file = NULL;
}

void manifest_set_release(struct manifest_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_decref(s->docs[i]->root);
		free(s->docs[i]);
	}
	free(s->docs);
	loc_cache_clear(s);
	free(s->loc_docs);
	pthread_mutex_destroy(&s->loc_lock);
	strv_release(&s->files);
	diags_release(&s->errors);
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->loc_lock, NULL);
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

/* YAML 1.2 core schema resolution of a plain scalar. */
static json_t *plain_scalar(const char *s, size_t n)
{
	char *t = xstrndup(s, n);
	json_t *v = NULL;
	if (!strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL") || !*t)
		v = json_null();
	else if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))
		v = json_true();
	else if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
		v = json_false();
	else {
		char *end;
		errno = 0;
		long long ll = strtoll(t, &end, 0);
		if (*end == '\0' && errno == 0 && (t[0] != '0' || t[1] == '\0' || t[1] == 'x' || t[1] == 'o')) {
			v = json_integer(ll);
		} else if (strspn(t, "+-0123456789.eE") == n && strpbrk(t, "0123456789")) {
			double d = strtod(t, &end);
			if (*end == '\0')
				v = json_real(d);
		}
	}
	if (!v)
		v = json_stringn(s, n);
	free(t);
	return v;
}

static json_t *to_json(struct fy_node *n)
{
	if (!n)
		return json_null();
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR: {
		size_t len;
		const char *s = fy_node_get_scalar(n, &len);
		size_t tlen = 0;
		const char *tag = fy_node_get_tag(n, &tlen);
		if (fy_node_get_style(n) == FYNS_PLAIN && !tag)
			return plain_scalar(s ? s : "", s ? len : 0);
		return json_stringn(s ? s : "", s ? len : 0);
	}
	case FYNT_SEQUENCE: {
		json_t *a = json_array();
		void *it = NULL;
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(n, &it)))
			json_array_append_new(a, to_json(item));
		return a;
	}
	case FYNT_MAPPING: {
		json_t *o = json_object();
		void *it = NULL;
		struct fy_node_pair *p;
		while ((p = fy_node_mapping_iterate(n, &it))) {
			struct fy_node *k = fy_node_pair_key(p);
			size_t klen = 0;
			const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &klen) : NULL;
			char *key = ks ? xstrndup(ks, klen) : xstrdup("?");
			json_object_set_new(o, key, to_json(fy_node_pair_value(p)));
			free(key);
		}
		return o;
	}
	}
	return json_null();
}

static void collect_diag(struct manifest_set *s, struct fy_diag *diag, const char *file)
{
	void *it = NULL;
	struct fy_diag_error *e;
	bool any = false;
	while ((e = fy_diag_errors_iterate(diag, &it))) {
		if (e->type < FYET_ERROR)
			continue;
		diag_locate(diags_errorf(&s->errors, CRATIS_EINVAL, "invalid YAML: %s", e->msg), file, e->line + 1,
		            e->column + 1, NULL);
		any = true;
	}
	if (!any)
		diag_locate(diags_errorf(&s->errors, CRATIS_EINVAL, "invalid YAML"), file, 1, 1, NULL);
}

static int load_file(struct manifest_set *s, const char *path)
{
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag)
		return error_set(CRATIS_ENOMEM, "cannot create YAML diagnostics");
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2, .diag = diag };
	struct fy_parser *fyp = fy_parser_create(&cfg);
	int rc = CRATIS_OK;
	if (!fyp) {
		rc = error_set(CRATIS_ENOMEM, "cannot create YAML parser");
		goto out_unref;
	}
	strv_push(&s->files, path);
	const char *file = s->files.v[s->files.n - 1];
	if (fy_parser_set_input_file(fyp, file)) {
		rc = error_set(CRATIS_EIO, "cannot read '%s': %s", file, strerror(errno));
		fy_parser_destroy(fyp);
		goto out_unref;
	}
	struct fy_document *fyd;
	int index = 0;
	while ((fyd = fy_parse_load_document(fyp))) {
		struct fy_node *root = fy_document_root(fyd);
		if (root) {
			struct manifest_doc *d = xcalloc(1, sizeof(*d));
			d->file = file;
			d->index = index;
			d->root = to_json(root);
			d->set = s;
			ALLOC_GROW(s->docs, s->n + 1, s->alloc);
			s->docs[s->n++] = d;
		}
		index++;
		fy_parse_document_destroy(fyp, fyd);
	}
	if (fy_parser_get_stream_error(fyp)) {
		collect_diag(s, diag, file);
		rc = CRATIS_EINVAL;
	}
	fy_parser_destroy(fyp);
out_unref:
	fy_diag_unref(diag);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct manifest_set *s, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return error_set(CRATIS_EIO, "cannot read directory '%s': %s", dir, strerror(errno));
	struct strv names = STRV_INIT;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	int rc = CRATIS_OK;
	for (size_t i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		int r = CRATIS_OK;
		if (is_dir(p))
			r = load_dir(s, p);
		else if (ends_with(p, ".yaml") || ends_with(p, ".yml"))
			r = load_file(s, p);
		free(p);
		if (r == CRATIS_EINVAL && rc == CRATIS_OK)
			rc = r;
		else if (r != CRATIS_OK && r != CRATIS_EINVAL) {
			rc = r;
			break;
		}
	}
	strv_release(&names);
	return rc;
}

int manifest_load_path(struct manifest_set *s, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		size_t len = strlen(path);
		char *p = xstrndup(path, len > 1 && path[len - 1] == '/' ? len - 1 : len);
		int rc = load_dir(s, p);
		free(p);
		return rc;
	}
	return load_file(s, path);
}

/* Mark of a node: its own token for scalars, its key in the parent mapping otherwise. */
static bool node_mark(struct fy_node *n, struct fy_mark *m)
{
	if (fy_node_is_scalar(n)) {
		struct fy_token *t = fy_node_get_scalar_token(n);
		if (t) {
			*m = *fy_token_start_mark(t);
			return true;
		}
	}
	struct fy_node *parent = fy_node_get_parent(n);
	if (parent && fy_node_is_mapping(parent)) {
		void *it = NULL;
		struct fy_node_pair *p;
		while ((p = fy_node_mapping_iterate(parent, &it))) {
			if (fy_node_pair_value(p) == n && fy_node_pair_key(p))
				return node_mark(fy_node_pair_key(p), m);
		}
	}
	if (fy_node_is_sequence(n) || fy_node_is_mapping(n)) {
		/* first child gives a position inside the collection */
		void *it = NULL;
		if (fy_node_is_sequence(n)) {
			struct fy_node *c = fy_node_sequence_iterate(n, &it);
			if (c)
				return node_mark(c, m);
		} else {
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
			if (p && fy_node_pair_key(p))
				return node_mark(fy_node_pair_key(p), m);
		}
	}
	if (parent)
		return node_mark(parent, m);
	return false;
}

/* Under loc_lock: the YAML tree of doc, parsing its file again when it is not cached. */
static struct fy_document *tree_of(const struct manifest_doc *doc)
{
	struct manifest_set *s = doc->set;
	if (s->loc_file != doc->file) {
		loc_cache_clear(s);
		struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 };
		s->loc_parser = fy_parser_create(&cfg);
		if (!s->loc_parser)
			return NULL;
		s->loc_file = doc->file;
		if (fy_parser_set_input_file(s->loc_parser, doc->file))
			return NULL;
		struct fy_document *fyd;
		while ((fyd = fy_parse_load_document(s->loc_parser))) {
			ALLOC_GROW(s->loc_docs, s->loc_n + 1, s->loc_alloc);
			s->loc_docs[s->loc_n++] = fyd;
		}
	}
	return doc->index >= 0 && (size_t)doc->index < s->loc_n ? s->loc_docs[doc->index] : NULL;
}

void manifest_locate(const struct manifest_doc *doc, const char *field, struct loc *out)
{
	out->file = doc->file;
	out->line = out->col = 1;
	pthread_mutex_lock(&doc->set->loc_lock);
	struct fy_document *fyd = tree_of(doc);
	struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
	if (!root) {
		pthread_mutex_unlock(&doc->set->loc_lock);
		return;
	}
	/* "spec.apply[0]" -> "/spec/apply/0", then drop components until one exists */
	struct buf p = BUF_INIT;
	for (const char *c = field ? field : ""; *c; c++) {
		if (*c == '.' || *c == '[')
			buf_addch(&p, '/');
		else if (*c != ']')
			buf_addch(&p, *c);
	}
	struct fy_node *n = NULL;
	for (;;) {
		n = p.len ? fy_node_by_path(root, p.ptr, p.len, FYNWF_DONT_FOLLOW) : root;
		if (n || !p.len)
			break;
		char *slash = strrchr(p.ptr, '/');
		p.len = slash ? (size_t)(slash - p.ptr) : 0;
		p.ptr[p.len] = '\0';
	}
	buf_release(&p);
	struct fy_mark m;
	if (n && node_mark(n, &m)) {
		out->line = m.line + 1;
		out->col = m.column + 1;
	}
	pthread_mutex_unlock(&doc->set->loc_lock);
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
