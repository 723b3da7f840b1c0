/* Variable interpolation (see vars.h). */
#define _GNU_SOURCE
#include "vars.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

static void append_value(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		buf_addf(b, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		break;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		buf_adds(b, s ? s : "");
		free(s);
	}
	}
}

/* Append the string value v as data for a later pass: every '$' written as "${$}", which only
 * the last (non-partial) pass turns back into '$', so no part of v is ever read as a
 * reference, and no '$' of v can join the text around it into one. */
static void append_data(struct buf *b, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '$')
			buf_adds(b, "${$}");
		else
			buf_addch(b, v[i]);
	}
}

static bool is_sensitive(const struct vars_ctx *ctx, const char *name)
{
	return ctx->sensitive && strv_has(ctx->sensitive, name);
}

static char *defined_names(const json_t *vars)
{
	struct buf b = BUF_INIT;
	const char *k;
	json_t *v;
	if (vars && json_is_object(vars)) {
		json_object_foreach((json_t *)vars, k, v) {
			if (b.len)
				buf_adds(&b, ", ");
			buf_adds(&b, k);
		}
	}
	if (!b.len)
		buf_adds(&b, "none");
	return buf_detach(&b);
}

/* s with every byte outside printable ASCII (and '\\', '"') written as \xHH, in double quotes,
 * at most 64 bytes of s; caller frees. */
static char *escaped(const char *s)
{
	struct buf b = BUF_INIT;
	buf_addch(&b, '"');
	size_t i = 0;
	for (; s[i] && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			buf_addch(&b, (char)c);
		else
			buf_addf(&b, "\\x%02x", c);
	}
	buf_adds(&b, s[i] ? "\"..." : "\"");
	return buf_detach(&b);
}

/* Split "Kind/name.outputs.key" into id and key; false if not of that shape. */
static bool split_ref(const char *expr, char **id, char **key)
{
	const char *slash = strchr(expr, '/');
	const char *dot = slash ? strstr(slash, ".outputs.") : NULL;
	if (!slash || !dot || slash == expr || dot == slash + 1 || !dot[9])
		return false;
	*id = xstrndup(expr, (size_t)(dot - expr));
	*key = xstrdup(dot + 9);
	return true;
}

/* Resolve one ${expr}; *val is a new reference (NULL for "unknown yet"). Returns CRATIS_OK or a
 * status with the last error set (see vars_expand_string). */
static int resolve(const char *expr, const struct vars_ctx *ctx, json_t **val, bool *keep, bool *data,
                   bool *sensitive)
{
	*val = NULL;
	*keep = false;
	*data = true;   /* a value from outside the template: never template text */
	if (!strcmp(expr, "$")) {
		/* "${$}": a literal '$' (how a partial pass writes the '$' of a value) */
		if (ctx->partial)
			*keep = true;
		else
			*val = json_string("$");
		return CRATIS_OK;
	}
	if (starts_with(expr, "env:")) {
		const char *name = expr + 4;
		const char *dflt = strstr(name, ":-");
		char *n = dflt ? xstrndup(name, (size_t)(dflt - name)) : xstrdup(name);
		const char *e = getenv(n);
		int rc = CRATIS_OK;
		if (e) {
			*val = json_string(e);
			if (!*val) {
				char *x = escaped(e);
				rc = error_set(CRATIS_EINVAL, "environment variable '%s' is not valid UTF-8: %s", n, x);
				free(x);
			}
		} else if (dflt) {
			*val = json_string(dflt + 2);
			if (!*val)   /* the default is manifest text, already UTF-8 */
				rc = error_set(CRATIS_EINVAL, "'${%s}': the default is not valid UTF-8", expr);
		} else {
			rc = error_set(CRATIS_ENOTFOUND, "environment variable '%s' is not set (use ${env:%s:-default} for a default)", n, n);
		}
		free(n);
		return rc;
	}
	if (starts_with(expr, "artifact:")) {
		char *name = xstrdup(expr + 9);
		const char *field = "digest";
		char *dot = strrchr(name, '.');
		if (dot && (!strcmp(dot, ".version") || !strcmp(dot, ".digest"))) {
			*dot = '\0';
			field = dot + 1;
		}
		char *v = NULL;
		int rc;
		if (!*name)
			rc = error_set(CRATIS_EINVAL, "'${artifact:}': expected ${artifact:NAME} or ${artifact:NAME.version}");
		else if (!ctx->artifact)
			rc = error_set(CRATIS_EINVAL, "'${%s}': artifact references need the project's state", expr);
		else if ((rc = ctx->artifact(&v, name, field, ctx->artifact_payload)) == CRATIS_OK && !v)
			rc = error_set(CRATIS_ERROR, "'${%s}': the artifact resolver gave no value", expr);
		free(name);
		if (rc)
			return rc;
		*val = json_string(v);
		if (!*val) {
			char *x = escaped(v);
			rc = error_set(CRATIS_EINVAL, "'${%s}': the recorded value is not valid UTF-8: %s", expr, x);
			free(x);
		}
		free(v);
		return rc;
	}
	if (starts_with(expr, "secret:")) {
		const char *name = expr + 7;
		if (!*name)
			return error_set(CRATIS_EINVAL, "'${secret:}': expected ${secret:NAME}");
		if (ctx->partial) {
			*keep = true;
			return CRATIS_OK;
		}
		if (!ctx->secret)
			return error_set(CRATIS_EINVAL, "'${%s}': secret references need the project's secrets (Project spec.secrets)", expr);
		char *v = NULL;
		int rc = ctx->secret(&v, name, ctx->secret_payload);
		if (rc)
			return rc;
		if (!v)
			return error_set(CRATIS_ERROR, "'${%s}': the secret provider gave no value", expr);
		*val = json_string(v);
		/* never show the value, not even escaped */
		free_wiped(v);
		if (!*val)
			return error_set(CRATIS_EINVAL, "'${%s}': the secret's value is not valid UTF-8", expr);
		*sensitive = true;
		return CRATIS_OK;
	}
	if (strchr(expr, '/')) {
		char *id, *key;
		if (!split_ref(expr, &id, &key))
			return error_set(CRATIS_EINVAL, "'${%s}': expected ${Kind/name.outputs.key}", expr);
		int rc = CRATIS_OK;
		if (ctx->partial)
			*keep = true;
		else if (ctx->ref) {
			bool sens = false;
			rc = ctx->ref(id, key, val, &sens, ctx->payload);
			if (sens)
				*sensitive = true;
		}
		free(id);
		free(key);
		if (rc == 0 && !*val && !*keep && ctx->unknown)
			*val = json_string(ctx->unknown);
		else if (rc == 0 && !*val && !*keep)
			*keep = true;
		return rc;
	}
	if (!*expr)
		return error_set(CRATIS_EINVAL, "empty reference '${}'");
	json_t *v = ctx->variables ? json_object_get(ctx->variables, expr) : NULL;
	if (!v) {
		char *names = defined_names(ctx->variables);
		error_set(CRATIS_EINVAL, "unknown variable '%s' (defined: %s)", expr, names);
		free(names);
		return CRATIS_EINVAL;
	}
	/* a variable's value is what the load-time pass made of the Environment's text (values
	 * from outside already written as data): copied as it is */
	*data = false;
	if (is_sensitive(ctx, expr)) {
		if (ctx->partial) {
			/* kept for the last pass, which redacts what it lands in */
			*keep = true;
			return CRATIS_OK;
		}
		*sensitive = true;
		if (json_is_string(v)) {
			/* finish what the load-time pass left in it, in one pass of its own text */
			struct vars_ctx inner = *ctx;
			inner.variables = NULL;
			inner.redact = NULL;
			return vars_expand_string(json_string_value(v), &inner, val);
		}
	}
	*val = json_incref(v);
	return CRATIS_OK;
}

int vars_expand_string(const char *s, const struct vars_ctx *ctx, json_t **out)
{
	struct buf b = BUF_INIT;
	int rc = CRATIS_OK;
	bool sensitive = false;
	*out = NULL;
	size_t slen = strlen(s);
	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			buf_adds(&b, ctx->partial ? "$${" : "${");
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			buf_addch(&b, *p++);
			continue;
		}
		const char *close = strchr(p + 2, '}');
		if (!close) {
			rc = error_set(CRATIS_EINVAL, "unterminated '${' in '%s'", s);
			goto out_err;
		}
		char *expr = xstrndup(p + 2, (size_t)(close - p - 2));
		json_t *val;
		bool keep, data;
		rc = resolve(expr, ctx, &val, &keep, &data, &sensitive);
		free(expr);
		if (rc)
			goto out_err;
		if (keep) {
			buf_add(&b, p, (size_t)(close - p + 1));
		} else if (p == s && close == s + slen - 1 && !json_is_string(val) && !sensitive) {
			/* the whole string is one reference: keep the value's type */
			buf_release(&b);
			*out = val;
			return 0;
		} else if (ctx->partial && data && json_is_string(val)) {
			append_data(&b, json_string_value(val), json_string_length(val));
		} else {
			append_value(&b, val);
		}
		json_decref(val);
		p = close + 1;
	}
	if (sensitive && ctx->redact) {
		char *r = NULL;
		rc = ctx->redact(&r, b.ptr, b.len, ctx->secret_payload);
		explicit_bzero(b.ptr, b.len);
		buf_release(&b);
		if (rc)
			return rc;
		*out = json_string(r);
		free(r);
		return *out ? CRATIS_OK : error_set(CRATIS_ERROR, "the redacted form is not valid UTF-8");
	}
	*out = json_stringn(b.ptr, b.len);
	if (sensitive)
		explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	return CRATIS_OK;
out_err:
	if (sensitive)
		explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	return rc;
}

struct walk {
	const struct vars_ctx *ctx;
	vars_error_fn on_error;
	void *payload;
	int errors;
};

static void walk(json_t **v, struct buf *field, struct walk *w)
{
	size_t mark = field->len;
	if (json_is_string(*v)) {
		const char *s = json_string_value(*v);
		if (!strchr(s, '$'))
			return;
		json_t *nv;
		if (vars_expand_string(s, w->ctx, &nv)) {
			w->on_error(field->ptr, cratis_error_last()->message, w->payload);
			w->errors++;
			return;
		}
		json_decref(*v);
		*v = nv;
	} else if (json_is_object(*v)) {
		const char *k;
		json_t *child;
		json_object_foreach(*v, k, child) {
			buf_addf(field, "%s%s", field->len ? "." : "", k);
			json_t *c = json_incref(child);
			walk(&c, field, w);
			if (c != child)
				json_object_set(*v, k, c);
			json_decref(c);
			field->len = mark;
			field->ptr[mark] = '\0';
		}
	} else if (json_is_array(*v)) {
		for (size_t i = 0; i < json_array_size(*v); i++) {
			buf_addf(field, "[%zu]", i);
			json_t *child = json_array_get(*v, i);
			json_t *c = json_incref(child);
			walk(&c, field, w);
			if (c != child)
				json_array_set(*v, i, c);
			json_decref(c);
			field->len = mark;
			field->ptr[mark] = '\0';
		}
	}
}

int vars_expand_tree(json_t **v, const char *field, const struct vars_ctx *ctx,
                     vars_error_fn on_error, void *payload)
{
	struct walk w = { ctx, on_error, payload, 0 };
	struct buf f = BUF_INIT;
	buf_adds(&f, field ? field : "");
	walk(v, &f, &w);
	buf_release(&f);
	return w.errors;
}

static void collect(const json_t *v, struct strv *ids)
{
	if (json_is_string(v)) {
		/* the expander's own scan: "$${" is text, a reference ends at its '}' */
		for (const char *p = json_string_value(v); *p;) {
			if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
				p += 3;
				continue;
			}
			if (p[0] != '$' || p[1] != '{') {
				p++;
				continue;
			}
			const char *close = strchr(p + 2, '}');
			if (!close)
				return;
			char *expr = xstrndup(p + 2, (size_t)(close - p - 2));
			char *id, *key;
			if (strchr(expr, '/') && !starts_with(expr, "env:") && !starts_with(expr, "secret:") &&
			    !starts_with(expr, "artifact:") && split_ref(expr, &id, &key)) {
				if (!strv_has(ids, id))
					strv_push_owned(ids, id);
				else
					free(id);
				free(key);
			}
			free(expr);
			p = close + 1;
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
			collect(c, ids);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			collect(json_array_get(v, i), ids);
	}
}

bool vars_pending(const json_t *v)
{
	if (json_is_string(v))
		return strstr(json_string_value(v), "${") != NULL;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
			if (vars_pending(c))
				return true;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (vars_pending(json_array_get(v, i)))
				return true;
	}
	return false;
}

void vars_collect_refs(const json_t *v, struct strv *ids)
{
	collect(v, ids);
}
