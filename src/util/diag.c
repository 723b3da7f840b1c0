/* Diagnostics list (see diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/util.h"
#include "banned.h"

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_release(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].field);
		free(d->v[i].message);
		free(d->v[i].hint);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

struct diag *diags_vadd(struct diags *d, enum diag_severity severity, int status, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_vaddf(&b, fmt, ap);
	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	struct diag *dg = &d->v[d->n++];
	memset(dg, 0, sizeof(*dg));
	dg->severity = severity;
	dg->status = status;
	dg->message = buf_detach(&b);
	return dg;
}

struct diag *diags_add(struct diags *d, enum diag_severity severity, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(d, severity, status, fmt, ap);
	va_end(ap);
	return dg;
}

struct diag *diags_errorf(struct diags *d, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *dg = diags_vadd(d, DIAG_ERROR, status, fmt, ap);
	va_end(ap);
	return dg;
}

int diags_add_last_error(struct diags *d)
{
	const struct cratis_error *e = cratis_error_last();
	int status = e->status ? e->status : CRATIS_ERROR;
	diags_errorf(d, status, "%s", *e->message ? e->message : status_name(status));
	return status;
}

void diag_locate(struct diag *dg, const char *file, int line, int column, const char *field)
{
	free(dg->file);
	free(dg->field);
	dg->file = file ? xstrdup(file) : NULL;
	dg->line = line;
	dg->column = column;
	dg->field = field && *field ? xstrdup(field) : NULL;
}

void diag_hint(struct diag *dg, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(dg->hint);
	dg->hint = buf_detach(&b);
}

void diag_prefix(struct diag *dg, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_addf(&b, ": %s", dg->message);
	free(dg->message);
	dg->message = buf_detach(&b);
}

void diags_move(struct diags *dst, struct diags *src)
{
	if (!src->n)
		return;
	ALLOC_GROW(dst->v, dst->n + src->n, dst->alloc);
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	memset(src, 0, sizeof(*src));
}

size_t diags_errors(const struct diags *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].severity == DIAG_ERROR;
	return n;
}

int diags_status(const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == DIAG_ERROR)
			return d->v[i].status ? d->v[i].status : CRATIS_ERROR;
	return CRATIS_OK;
}

void diag_format(const struct diag *dg, struct buf *out)
{
	if (dg->file) {
		buf_adds(out, dg->file);
		if (dg->line > 0) {
			buf_addf(out, ":%d", dg->line);
			if (dg->column > 0)
				buf_addf(out, ":%d", dg->column);
		}
		buf_adds(out, ": ");
	}
	if (dg->field)
		buf_addf(out, "%s: ", dg->field);
	buf_adds(out, dg->message);
	if (dg->hint)
		buf_addf(out, "\nhint: %s", dg->hint);
}

/* s as a JSON string; bytes that are not valid UTF-8 become U+FFFD so that a message quoting
 * foreign input still encodes (RFC 8259 section 8.1 requires UTF-8). */
static json_t *lossy_string(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
		size_t k = 1;
		while (n > 1 && k < n && (p[k] & 0xC0) == 0x80)
			k++;
		json_t *t = n && k == n ? json_stringn((const char *)p, n) : NULL;
		if (t) {
			buf_add(&b, p, n);
			json_decref(t);
			p += n;
		} else {
			buf_adds(&b, "\xEF\xBF\xBD");
			p += k;
		}
	}
	j = json_string(b.ptr);
	buf_release(&b);
	return j ? j : json_string("?");
}

json_t *diags_to_json(const struct diags *d)
{
	static const char *const sev[] = { "error", "warning", "note" };
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *dg = &d->v[i];
		json_t *o = json_pack("{s:s,s:s}", "severity", sev[dg->severity], "status", status_name(dg->status));
		if (dg->file)
			json_object_set_new(o, "file", lossy_string(dg->file));
		if (dg->line > 0)
			json_object_set_new(o, "line", json_integer(dg->line));
		if (dg->column > 0)
			json_object_set_new(o, "column", json_integer(dg->column));
		if (dg->field)
			json_object_set_new(o, "field", lossy_string(dg->field));
		json_object_set_new(o, "message", lossy_string(dg->message));
		if (dg->hint)
			json_object_set_new(o, "hint", lossy_string(dg->hint));
		json_array_append_new(a, o);
	}
	return a;
}
