/* Ignore rules for directory walks (`-f DIR`): the rules of a .cratisignore file, gitignore
 * syntax (https://git-scm.com/docs/gitignore, "PATTERN FORMAT"), matched with fnmatch(3)
 * (FNM_PATHNAME) one path segment at a time, "**" handled around it. */
#ifndef CRATIS_IGNORE_H
#define CRATIS_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/* One rule: its pattern split at '/' into segments ("**" a segment of its own). */
struct ignore_rule {
	char **segs;
	size_t nsegs;
	bool negate;      /* "!pattern": a later match re-includes */
	bool dir_only;    /* "pattern/": matches directories only */
	bool anchored;    /* a '/' at the start or in the middle: relative to the walked directory;
	                   * else the pattern matches the last segment at any depth */
};

struct ignore {
	struct ignore_rule *v;
	size_t n, alloc;
};

#define IGNORE_INIT { NULL, 0, 0 }

/* Free every rule of ig and leave it empty. */
void ignore_release(struct ignore *ig);

/* Add the rules of text (len bytes, the content of a .cratisignore), in order, to ig. Lines:
 * blank lines and lines starting with '#' are skipped; trailing spaces are dropped unless
 * escaped with a backslash; a leading '!' negates ("\!" and "\#" stand for a literal first
 * character); a trailing '/' makes a directory-only rule; a '/' at the start or in the middle
 * anchors the pattern to the walked directory (a leading one is removed); "**" as a whole
 * segment matches any number of segments ("**" /foo: foo anywhere, foo/"**": everything inside
 * foo, a/"**"/b: a/b, a/x/b, a/x/y/b); within a segment "*", "?" and "[...]" are fnmatch(3)'s
 * and never match '/'. Carriage returns before newlines are ignored. Never fails. */
void ignore_add_text(struct ignore *ig, const char *text, size_t len);

/* Add one rule line as ignore_add_text would (a comment or blank line adds nothing). */
void ignore_add_line(struct ignore *ig, const char *line);

/* Whether path (relative to the walked directory, segments separated by '/', no leading "./";
 * is_dir: it is a directory) is ignored: the last rule that matches it decides (a negated one
 * re-includes); no match: not ignored. A directory that is ignored is not walked, so nothing
 * under it can be re-included (as git). */
bool ignore_match(const struct ignore *ig, const char *path, bool is_dir);

#endif
