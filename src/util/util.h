/* Small helpers used everywhere: checked allocation, strings, paths, time. */
#ifndef CRATIS_UTIL_H
#define CRATIS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation that aborts with a message on failure: out-of-memory is fatal in cratis.
 * Results are freed with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string (caller frees). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow a heap array *pp of *alloc elements of size sz so that it holds at least n. */
void *xgrow(void *p, size_t *alloc, size_t n, size_t sz);
#define ALLOC_GROW(p, n, alloc) ((p) = xgrow((p), &(alloc), (n), sizeof(*(p))))

bool starts_with(const char *s, const char *prefix);
bool ends_with(const char *s, const char *suffix);

/* Create directory path and its parents with mode 0755. Returns 0, or -1 with errno. */
int mkdir_p(const char *path);
/* True when path exists and is a directory / an executable regular file. */
bool is_dir(const char *path);
bool is_executable(const char *path);
/* Absolute, normalised form of path (must exist); caller frees. NULL with errno on failure. */
char *abs_path(const char *path);
/* Directory holding the running executable (from /proc/self/exe); caller frees. */
char *exe_dir(void);

/* Current UTC time as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void now_rfc3339(char out[32]);
/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Name of the user running cratis and of the host (static storage, never NULL). */
const char *user_name(void);
const char *host_name(void);

/* NULL-terminated vector of owned strings. */
struct strv {
	char **v;
	size_t n, alloc;
};
#define STRV_INIT { NULL, 0, 0 }
void strv_push(struct strv *s, const char *str);  /* copies str */
void strv_push_owned(struct strv *s, char *str);  /* takes str */
void strv_release(struct strv *s);
bool strv_has(const struct strv *s, const char *str);

/* Overwrite the string s (NUL-terminated; may hold a secret) with zeros, then free it. NULL is a
 * no-op. */
void free_wiped(char *s);

/* Append to out the names of the entries of directory dir, except those starting with '.', and
 * (when suffix is not NULL) only those ending with it, sorted bytewise (strcmp): the order
 * every directory walk of cratis uses, so results do not depend on readdir's order. Returns 0,
 * or -1 with errno set when dir cannot be opened (out unchanged). */
int dir_names_sorted(const char *dir, const char *suffix, struct strv *out);

#endif
