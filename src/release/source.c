/* Version sources (see source.h). libxml2 is opened on first use (dlopen by its SONAME,
 * util/dynlib.h), only when a pom.xml is read: it and the ICU it links cost every other command
 * several milliseconds of start-up. */
#define _GNU_SOURCE
#include "source.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cratis/plugin.h"
#include "util/buf.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

#if !defined(CRATIS_LIBXML2_SONAME) || !defined(CRATIS_LIBXML2_PACKAGE)
#error "meson.build defines CRATIS_LIBXML2_SONAME and CRATIS_LIBXML2_PACKAGE"
#endif

/* The libxml2 functions this file calls, without their xml prefix. */
#define XML_FUNCTIONS(X) \
	X(ReadFile) X(FreeDoc) X(GetLastError) X(GetLineNo) X(NodeGetContent) X(MemGet) \
	X(XPathNewContext) X(XPathFreeContext) X(XPathEvalExpression) X(XPathFreeObject)

/* Pointers to them, typed from the libxml2 headers (xml->ReadFile is xmlReadFile), and the
 * library's deallocator (xmlFree, which the headers define as a macro over the library's own
 * state: read once with xmlMemGet). */
struct xml_api {
#define XML_MEMBER(name) __typeof__(xml##name) *name;
	XML_FUNCTIONS(XML_MEMBER)
#undef XML_MEMBER
	xmlFreeFunc free;
};

/* Filled once by xml_load (under xml_once) and only read after: the library and its table. */
static struct {
	struct dynlib lib;
	struct xml_api fn;
} xml_lib;
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_load(void)
{
	if (dynlib_open(&xml_lib.lib, "libxml2", CRATIS_LIBXML2_SONAME, CRATIS_LIBXML2_PACKAGE))
		return;
#define XML_RESOLVE(name) xml_lib.fn.name = (__typeof__(xml_lib.fn.name))dynlib_sym(&xml_lib.lib, "xml" #name);
	XML_FUNCTIONS(XML_RESOLVE)
#undef XML_RESOLVE
	if (!xml_lib.lib.status && (xml_lib.fn.MemGet(&xml_lib.fn.free, NULL, NULL, NULL) < 0 || !xml_lib.fn.free)) {
		xml_lib.lib.status = CRATIS_ENOTFOUND;
		snprintf(xml_lib.lib.message, sizeof(xml_lib.lib.message), "libxml2 (%s): xmlMemGet gave no deallocator",
		         CRATIS_LIBXML2_SONAME);
	}
}

/* libxml2's functions, loading it on the first call; NULL with the last error (CRATIS_ENOTFOUND
 * naming the library and the package to install, or CRATIS_ERROR) when it cannot be loaded. */
static const struct xml_api *xml_api(void)
{
	return dynlib_load_once(&xml_once, xml_load, &xml_lib.lib) ? NULL : &xml_lib.fn;
}

void version_source_release(struct version_source *src)
{
	free(src->file);
	free(src->text);
	memset(src, 0, sizeof(*src));
}

static xmlNodePtr xpath_node(const struct xml_api *xml, xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xml->XPathNewContext(doc);
	xmlXPathObjectPtr res = ctx ? xml->XPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
	xmlNodePtr n = NULL;
	if (res && res->nodesetval && res->nodesetval->nodeNr > 0)
		n = res->nodesetval->nodeTab[0];
	xml->XPathFreeObject(res);
	xml->XPathFreeContext(ctx);
	return n;
}

/* The text of node, with ${name} replaced from /project/properties/name; NULL with the last
 * error (CRATIS_EINVAL) when a property is not defined. */
static char *pom_text(const struct xml_api *xml, xmlDocPtr doc, xmlNodePtr n, const char *file)
{
	xmlChar *raw = xml->NodeGetContent(n);
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
			                      ? xpath_node(xml, doc, expr) : NULL;
			free(expr);
			if (!prop) {
				error_set(CRATIS_EINVAL, "%s:%d: version '%s' uses property '${%s}', which /project/properties does not define",
				          file, (int)xml->GetLineNo(n), s, name);
				free(name);
				xml->free(raw);
				buf_release(&b);
				return NULL;
			}
			xmlChar *pv = xml->NodeGetContent(prop);
			buf_adds(&b, (const char *)pv);
			xml->free(pv);
			free(name);
			p = close;
		} else if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
			buf_addch(&b, *p);
		}
	}
	xml->free(raw);
	return buf_detach(&b);
}

static int read_pom(const char *path, struct version_source *src)
{
	const struct xml_api *xml = xml_api();
	if (!xml)
		return cratis_error_last()->status;
	xmlDocPtr doc = xml->ReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xml->GetLastError();
		const char *m = e && e->message ? e->message : "parse error";
		size_t mlen = strlen(m);
		if (mlen && m[mlen - 1] == '\n')
			mlen--;   /* libxml2 ends its messages with a newline */
		return error_set(CRATIS_EINVAL, "%s:%d: not well-formed XML: %.*s", path, e ? e->line : 1, (int)mlen, m);
	}
	xmlNodePtr n = xpath_node(xml, doc, "/*[local-name()='project']/*[local-name()='version']");
	if (!n)
		n = xpath_node(xml, doc, "/*[local-name()='project']/*[local-name()='parent']/*[local-name()='version']");
	int rc = CRATIS_OK;
	if (!n) {
		rc = error_set(CRATIS_ENOTFOUND, "%s: no /project/version nor /project/parent/version element", path);
	} else {
		src->line = (int)xml->GetLineNo(n);
		src->text = pom_text(xml, doc, n, path);
		rc = src->text ? CRATIS_OK : CRATIS_EINVAL;
	}
	xml->FreeDoc(doc);
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

static int read_package_json(const char *path, struct version_source *src)
{
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 16u << 20) < 0) {
		buf_release(&text);
		return error_set(CRATIS_EIO, "%s: cannot read", path);
	}
	json_error_t je;
	json_t *root = json_loadb(text.ptr, text.len, 0, &je);
	int rc = CRATIS_OK;
	if (!root) {
		rc = error_set(CRATIS_EINVAL, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
	} else if (!json_is_string(json_object_get(root, "version"))) {
		rc = error_set(CRATIS_ENOTFOUND, "%s: no top-level \"version\" string", path);
	} else {
		src->text = xstrdup(json_string_value(json_object_get(root, "version")));
		src->line = json_key_line(text.ptr, "version");
	}
	json_decref(root);
	buf_release(&text);
	return rc;
}

static int read_plain(const char *path, struct version_source *src)
{
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 4096) < 0) {
		buf_release(&text);
		return error_set(CRATIS_EIO, "%s: cannot read (a VERSION file holds one line, at most 4 KiB)", path);
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
	if (!n)
		return error_set(CRATIS_EINVAL, "%s: empty", path);
	return CRATIS_OK;
}

int version_read(const char *dir, const char *file, struct version_source *src, struct semver *v)
{
	static const char *const names[] = { "pom.xml", "package.json", "VERSION" };
	memset(src, 0, sizeof(*src));
	memset(v, 0, sizeof(*v));
	char *path = NULL;
	if (file) {
		path = file[0] == '/' ? xstrdup(file) : xasprintf("%s/%s", dir, file);
		if (access(path, R_OK) < 0) {
			error_set(CRATIS_ENOTFOUND, "%s: version source not found", path);
			free(path);
			return CRATIS_ENOTFOUND;
		}
	} else {
		for (size_t i = 0; i < 3 && !path; i++) {
			char *p = xasprintf("%s/%s", dir, names[i]);
			if (access(p, R_OK) == 0)
				path = p;
			else
				free(p);
		}
		if (!path)
			return error_set(CRATIS_ENOTFOUND, "no version source in '%s' (looked for pom.xml, package.json, VERSION)", dir);
	}
	src->file = path;
	int rc;
	if (ends_with(path, ".xml"))
		rc = read_pom(path, src);
	else if (ends_with(path, ".json"))
		rc = read_package_json(path, src);
	else
		rc = read_plain(path, src);
	if (!rc && (rc = semver_parse(v, src->text)))
		error_prefix("%s:%d: version is not a semantic version", path, src->line);
	if (rc)
		version_source_release(src);
	return rc;
}
