/* If-None-Match against a strong ETag (RFC 9110 13.1.2), for the dashboard's files (dashboard.h).
 * Apart from dashboard.c so that the unit test and the fuzz target link it alone: it reads a
 * request header, outside input. */
#include "dashboard.h"

#include <string.h>

#include "banned.h"

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The header is a list of entity tags (#entity-tag: [W/]"...", commas allowed inside the quotes)
 * or "*". Anything malformed is no match: the file is sent whole, which is always correct. */
bool ui_etag_matches(const char *inm, const char *etag)
{
	if (!inm || !etag)
		return false;
	size_t elen = strlen(etag);
	const char *p = inm;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return false;
		if (*p == '*') {
			p = skip_ws(p + 1);
			return !*p || *p == ',';
		}
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false;
		const char *q = strchr(p + 1, '"');
		if (!q)
			return false;
		size_t n = (size_t)(q - p) + 1;
		if (n == elen && !memcmp(p, etag, n))
			return true;
		p = skip_ws(q + 1);
		if (*p && *p != ',')
			return false;
	}
}
