/* Input guards of the manifest loader (see guard.h). */
#include "guard.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cratis/plugin.h"
#include "banned.h"

/* ---- input guards: what libfyaml 0.7.12 mishandles never reaches it ----
 * Its directive scanner loops forever on '%' followed by a byte that is not UTF-8, and takes time
 * quadratic in the length of a '%' line. So the whole input must be UTF-8 (YAML 1.2.2, 5.2;
 * cratis reads no UTF-16 or UTF-32), and a line starting with '%' must be a well-formed %YAML or
 * %TAG directive (6.8) of at most MANIFEST_MAX_DIRECTIVE bytes. */

#define MANIFEST_MAX_DIRECTIVE 1024

/* Length of the UTF-8 sequence at p (n > 0 bytes left), 0 when it is not one (RFC 3629: no
 * overlong form, no surrogate, nothing above U+10FFFF). *cp gets the code point. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t min, c;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2, c = p[0] & 0x1Fu, min = 0x80;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3, c = p[0] & 0x0Fu, min = 0x800;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4, c = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3Fu);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static bool uri_char(const char *p, size_t n)
{
	if (*p == '%')
		return n >= 3 && strchr("0123456789abcdefABCDEF", p[1]) && p[1] && strchr("0123456789abcdefABCDEF", p[2]) && p[2];
	return (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (*p && strchr("-#;/?:@&=+$,_.!~*'()[]", *p));
}

/* Number of leading bytes of d (n bytes) that are blanks (space, tab). */
static size_t blanks(const char *d, size_t n)
{
	size_t i = 0;
	while (i < n && (d[i] == ' ' || d[i] == '\t'))
		i++;
	return i;
}

static const char unknown_directive[] = "unknown directive";

/* The problem of the directive line d (n bytes, starting with '%', no line break), with *col the
 * 1-based column it is at; NULL when it is a well-formed %YAML or %TAG directive. */
static const char *directive_problem(const char *d, size_t n, size_t *col)
{
	size_t i = 1, name = 0;
	*col = 1;
	if (n > MANIFEST_MAX_DIRECTIVE)
		return "a directive line longer than 1024 bytes";
	while (1 + name < n && d[1 + name] != ' ' && d[1 + name] != '\t')
		name++;
	bool yaml = name == 4 && !memcmp(d + 1, "YAML", 4), tag = name == 3 && !memcmp(d + 1, "TAG", 3);
	if (!yaml && !tag)
		return unknown_directive;
	i += name;
	/* the parameters, each after blanks */
	for (int arg = 0; arg < (yaml ? 1 : 2); arg++) {
		size_t b = blanks(d + i, n - i);
		*col = i + b + 1;
		if (!b || i + b >= n)
			return yaml ? "%YAML needs a version: %YAML 1.2" : "%TAG needs a handle and a prefix: %TAG !e! tag:example.com,2000:";
		i += b;
		size_t start = i;
		if (yaml) {
			if (n - i < 3 || d[i] != '1' || d[i + 1] != '.' || (d[i + 2] != '1' && d[i + 2] != '2'))
				return "unsupported YAML version (cratis reads YAML 1.2; %YAML 1.1 and 1.2 are accepted)";
			i += 3;
		} else if (arg == 0) {
			/* c-tag-handle: "!", "!!" or "!word!" */
			if (d[i] != '!')
				return "a tag handle is !, !! or !name!";
			i++;
			while (i < n && ((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'z') ||
			                 (d[i] >= 'A' && d[i] <= 'Z') || d[i] == '-'))
				i++;
			if (i < n && d[i] == '!')
				i++;
			else if (i - start > 1)
				return "a tag handle is !, !! or !name!";
		} else {
			/* ns-tag-prefix: '!' or a URI character other than a flow indicator, then URI characters */
			if (memchr(",[]{}", d[i], 5))
				return "a tag prefix cannot start with a flow indicator";
			while (i < n && d[i] != ' ' && d[i] != '\t') {
				if (!uri_char(d + i, n - i) && d[i] != '!') {
					*col = i + 1;
					return "a tag prefix holds only URI characters (RFC 3986, %-escaped otherwise)";
				}
				i += d[i] == '%' ? 3 : 1;
			}
		}
		if (i < n && d[i] != ' ' && d[i] != '\t') {
			*col = i + 1;
			return yaml ? "unsupported YAML version (cratis reads YAML 1.2; %YAML 1.1 and 1.2 are accepted)"
			            : "a tag handle is !, !! or !name!";
		}
	}
	/* then only blanks and a comment */
	size_t b = blanks(d + i, n - i);
	if (i + b < n && (!b || d[i + b] != '#')) {
		*col = i + b + 1;
		return "unexpected text after the directive's parameters";
	}
	return NULL;
}

/* Check data (len bytes) before libfyaml sees it: the first problem goes to s->errors at
 * file:line:col. Returns true when it may be parsed. */
bool manifest_input_ok(struct diags *errors, const char *file, const char *data, size_t len)
{
	const unsigned char *u = (const unsigned char *)data;
	size_t line = 1, col = 1;
	size_t dir = SIZE_MAX;   /* where the '%' line being read starts */
	const char *why = NULL;
	size_t at = 0;
	for (size_t i = 0; i <= len; ) {
		uint32_t cp = 0;
		size_t n = i < len ? utf8_len(u + i, len - i, &cp) : 0;
		if (i < len && !n) {
			diag_locate(diags_errorf(errors, CRATIS_EINVAL,
			                         "invalid YAML: byte 0x%02x is not valid UTF-8 (a manifest is UTF-8 text)", u[i]),
			            file, (int)line, (int)col, NULL);
			return false;
		}
		/* every line break libfyaml may count (YAML 1.1 adds NEL, LS and PS) */
		bool brk = i == len || cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
		if (dir != SIZE_MAX && (brk || i - dir > MANIFEST_MAX_DIRECTIVE)) {
			why = directive_problem(data + dir, i - dir, &at);
			if (why)
				break;
			dir = SIZE_MAX;
		}
		if (i == len)
			break;
		if (col == 1 && cp == '%')
			dir = i;
		i += n;
		if (cp == '\n' || (cp == '\r' && !(i < len && data[i] == '\n')) || cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
			line++;   /* CR LF is one break */
			col = 1;
		} else if (!(col == 1 && cp == 0xFEFF) && cp != '\r') {
			col++;    /* a byte order mark does not move a line's start */
		}
	}
	if (!why)
		return true;
	if (why == unknown_directive) {
		/* its name: up to a blank, at most 32 bytes, not cutting a character */
		size_t n = 1;
		while (dir + n < len && n <= 32 && data[dir + n] != ' ' && data[dir + n] != '\t' && data[dir + n] != '\n' &&
		       data[dir + n] != '\r')
			n++;
		while (n > 1 && dir + n < len && (u[dir + n] & 0xC0) == 0x80)
			n--;
		diag_locate(diags_errorf(errors, CRATIS_EINVAL,
		                         "invalid YAML: unknown directive '%.*s' (YAML 1.2.2, 6.8: cratis reads %%YAML and "
		                         "%%TAG only; a value cannot start a line with '%%')", (int)n, data + dir),
		            file, (int)line, 1, NULL);
		return false;
	}
	diag_locate(diags_errorf(errors, CRATIS_EINVAL, "invalid YAML: %s", why), file, (int)line, (int)at, NULL);
	return false;
}

