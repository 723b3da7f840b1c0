/* Version sources (see source.h). */
#define _GNU_SOURCE
#include "source.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/util.h"
#include "banned.h"

void version_source_release(struct version_source *src)
{
	free(src->file);
	free(src->text);
	memset(src, 0, sizeof(*src));
}

static xmlNodePtr xpath_node(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr res = ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
	xmlNodePtr n = NULL;
	if (res && res->nodesetval && res->nodesetval->nodeNr > 0)
		n = res->nodesetval->nodeTab[0];
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	return n;
}

/* The text of node, with ${name} replaced from /project/properties/name; NULL + *err on failure. */
static char *pom_text(xmlDocPtr doc, xmlNodePtr n, const char *file, char **err)
{
	xmlChar *raw = xmlNodeGetContent(n);
	struct buf b = BUF_INIT;
	const char *s = (const char *)raw;
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	for (const char *p = s; *p; p++) {
		if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p, '}');
			if (!close)
				break;
			char *name = xstrndup(p + 2, (size_t)(close - p - 2));
			char *expr = xasprintf("/*[local-name()='project']/*[local-name()='properties']/*[local-name()='%s']", name);
			xmlNodePtr prop = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == strlen(name)
			                      ? xpath_node(doc, expr) : NULL;
			free(expr);
			if (!prop) {
				*err = xasprintf("%s:%d: version '%s' uses property '${%s}', which /project/properties does not define",
				                 file, (int)xmlGetLineNo(n), s, name);
				free(name);
				xmlFree(raw);
				buf_release(&b);
				return NULL;
			}
			xmlChar *pv = xmlNodeGetContent(prop);
			buf_adds(&b, (const char *)pv);
			xmlFree(pv);
			free(name);
			p = close;
		} else if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
			buf_addch(&b, *p);
		}
	}
	xmlFree(raw);
	return buf_detach(&b);
}

static int read_pom(const char *path, struct version_source *src, char **err)
{
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		*err = xasprintf("%s:%d: not well-formed XML: %s", path, e ? e->line : 1,
		                 e && e->message ? e->message : "parse error");
		if (*err && (*err)[strlen(*err) - 1] == '\n')
			(*err)[strlen(*err) - 1] = '\0';
		return -1;
	}
	xmlNodePtr n = xpath_node(doc, "/*[local-name()='project']/*[local-name()='version']");
	if (!n)
		n = xpath_node(doc, "/*[local-name()='project']/*[local-name()='parent']/*[local-name()='version']");
	int rc = 0;
	if (!n) {
		*err = xasprintf("%s: no /project/version nor /project/parent/version element", path);
		rc = -1;
	} else {
		src->line = (int)xmlGetLineNo(n);
		src->text = pom_text(doc, n, path, err);
		rc = src->text ? 0 : -1;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* Line of the top-level "version" key of a JSON text (jansson keeps no positions). */
static int json_key_line(const char *text, const char *key)
{
	int depth = 0, line = 1;
	size_t klen = strlen(key);
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			line++;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (*p == '"') {
			const char *start = p + 1;
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (!*p)
				break;
			if (depth == 1 && (size_t)(p - start) == klen && !strncmp(start, key, klen)) {
				const char *q = p + 1;
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q == ':')
					return line;
			}
		}
	}
	return 1;
}

static int read_package_json(const char *path, struct version_source *src, char **err)
{
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 16u << 20) < 0) {
		*err = xasprintf("%s: cannot read", path);
		return -1;
	}
	json_error_t je;
	json_t *root = json_loadb(text.ptr, text.len, 0, &je);
	int rc = 0;
	if (!root) {
		*err = xasprintf("%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
		rc = -1;
	} else if (!json_is_string(json_object_get(root, "version"))) {
		*err = xasprintf("%s: no top-level \"version\" string", path);
		rc = -1;
	} else {
		src->text = xstrdup(json_string_value(json_object_get(root, "version")));
		src->line = json_key_line(text.ptr, "version");
	}
	json_decref(root);
	buf_release(&text);
	return rc;
}

static int read_plain(const char *path, struct version_source *src, char **err)
{
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 4096) < 0) {
		*err = xasprintf("%s: cannot read (a VERSION file holds one line, at most 4 KiB)", path);
		return -1;
	}
	/* first non-empty line, trimmed */
	int line = 1;
	const char *p = text.ptr;
	while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') {
		if (*p == '\n')
			line++;
		p++;
	}
	size_t n = strcspn(p, "\r\n");
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	src->text = xstrndup(p, n);
	src->line = line;
	buf_release(&text);
	if (!n) {
		*err = xasprintf("%s: empty", path);
		return -1;
	}
	return 0;
}

int version_read(const char *dir, const char *file, struct version_source *src, struct semver *v,
                 char **err)
{
	static const char *const names[] = { "pom.xml", "package.json", "VERSION" };
	memset(src, 0, sizeof(*src));
	memset(v, 0, sizeof(*v));
	*err = NULL;
	char *path = NULL;
	if (file) {
		path = file[0] == '/' ? xstrdup(file) : xasprintf("%s/%s", dir, file);
		if (access(path, R_OK) < 0) {
			*err = xasprintf("%s: version source not found", path);
			free(path);
			return -1;
		}
	} else {
		for (size_t i = 0; i < 3 && !path; i++) {
			char *p = xasprintf("%s/%s", dir, names[i]);
			if (access(p, R_OK) == 0)
				path = p;
			else
				free(p);
		}
		if (!path) {
			*err = xasprintf("no version source in '%s' (looked for pom.xml, package.json, VERSION)", dir);
			return -1;
		}
	}
	src->file = path;
	int rc;
	if (ends_with(path, ".xml"))
		rc = read_pom(path, src, err);
	else if (ends_with(path, ".json"))
		rc = read_package_json(path, src, err);
	else
		rc = read_plain(path, src, err);
	if (!rc) {
		char *verr;
		if (semver_parse(v, src->text, &verr)) {
			*err = xasprintf("%s:%d: version is not a semantic version: %s", path, src->line, verr);
			free(verr);
			rc = -1;
		}
	}
	if (rc)
		version_source_release(src);
	return rc;
}
