/* .cratisignore rules (see ignore.h): gitignore pattern format around fnmatch(3). */
#define _GNU_SOURCE
#include "ignore.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "banned.h"

void ignore_release(struct ignore *ig)
{
	for (size_t i = 0; i < ig->n; i++) {
		for (size_t k = 0; k < ig->v[i].nsegs; k++)
			free(ig->v[i].segs[k]);
		free(ig->v[i].segs);
	}
	free(ig->v);
	ig->v = NULL;
	ig->n = ig->alloc = 0;
}

void ignore_add_line(struct ignore *ig, const char *line)
{
	size_t len = strlen(line);
	if (len && line[len - 1] == '\r')
		len--;
	/* trailing spaces go unless the last one is escaped ("foo\ ") */
	while (len && line[len - 1] == ' ' && !(len >= 2 && line[len - 2] == '\\'))
		len--;
	if (!len || line[0] == '#')
		return;
	struct ignore_rule r = { 0 };
	const char *p = line;
	if (*p == '!') {
		r.negate = true;
		p++;
		len--;
	} else if (*p == '\\' && (p[1] == '!' || p[1] == '#')) {
		p++;  /* a literal '!' or '#': fnmatch would take "\!" the same, but be plain */
		len--;
	}
	char *pat = xstrndup(p, len);
	size_t n = strlen(pat);
	if (n && pat[n - 1] == '/') {
		r.dir_only = true;
		pat[--n] = '\0';
	}
	if (pat[0] == '/') {
		r.anchored = true;
		memmove(pat, pat + 1, n);
		n--;
	}
	if (strchr(pat, '/'))
		r.anchored = true;
	if (!*pat) {
		free(pat);
		return;
	}
	size_t alloc = 0;
	for (char *s = pat;;) {
		char *slash = strchr(s, '/');
		size_t sl = slash ? (size_t)(slash - s) : strlen(s);
		if (sl) { /* "a//b" reads as "a/b" */
			ALLOC_GROW(r.segs, r.nsegs + 1, alloc);
			r.segs[r.nsegs++] = xstrndup(s, sl);
		}
		if (!slash)
			break;
		s = slash + 1;
	}
	free(pat);
	if (!r.nsegs)
		return;
	/* "**" / "pat": the same as the unanchored "pat" when pat is one segment */
	ALLOC_GROW(ig->v, ig->n + 1, ig->alloc);
	ig->v[ig->n++] = r;
}

void ignore_add_text(struct ignore *ig, const char *text, size_t len)
{
	const char *end = text + len;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t l = nl ? (size_t)(nl - text) : (size_t)(end - text);
		char *line = xstrndup(text, l);
		ignore_add_line(ig, line);
		free(line);
		text += l + (nl ? 1 : 0);
	}
}

/* Whether the pattern segments ps[0..np) match the path segments xs[0..nx) entirely. "**"
 * matches zero or more path segments, except at the end of the pattern where it matches one
 * or more ("foo/" "**" is what is inside foo, not foo). */
static bool match_segs(char *const *ps, size_t np, char *const *xs, size_t nx)
{
	if (!np)
		return !nx;
	if (!strcmp(ps[0], "**")) {
		if (np == 1)
			return nx >= 1;
		for (size_t skip = 0; skip <= nx; skip++)
			if (match_segs(ps + 1, np - 1, xs + skip, nx - skip))
				return true;
		return false;
	}
	if (!nx)
		return false;
	if (fnmatch(ps[0], xs[0], FNM_PATHNAME) != 0)
		return false;
	return match_segs(ps + 1, np - 1, xs + 1, nx - 1);
}

static bool rule_matches(const struct ignore_rule *r, char *const *xs, size_t nx, bool is_dir)
{
	if (r->dir_only && !is_dir)
		return false;
	if (r->anchored)
		return match_segs(r->segs, r->nsegs, xs, nx);
	/* one segment, unanchored: the path's last segment at any depth */
	return nx && match_segs(r->segs, r->nsegs, xs + nx - 1, 1);
}

bool ignore_match(const struct ignore *ig, const char *path, bool is_dir)
{
	if (!ig->n)
		return false;
	char *copy = xstrdup(path);
	char **xs = NULL;
	size_t nx = 0, alloc = 0;
	for (char *s = copy;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (*s) {
			ALLOC_GROW(xs, nx + 1, alloc);
			xs[nx++] = s;
		}
		if (!slash)
			break;
		s = slash + 1;
	}
	bool ignored = false;
	for (size_t i = 0; i < ig->n; i++)
		if (rule_matches(&ig->v[i], xs, nx, is_dir))
			ignored = !ig->v[i].negate;
	free(xs);
	free(copy);
	return ignored;
}
