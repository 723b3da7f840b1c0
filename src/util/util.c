/* Small helpers used everywhere (see util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static void oom(size_t n)
{
	fprintf(stderr, "cratis: fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}

void *xgrow(void *p, size_t *alloc, size_t n, size_t sz)
{
	if (n <= *alloc)
		return p;
	size_t na = *alloc ? *alloc * 2 : 8;
	while (na < n)
		na *= 2;
	p = xrealloc(p, na * sz);
	*alloc = na;
	return p;
}

bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int mkdir_p(const char *path)
{
	/* usually the directory or its parent exists: try the whole path first */
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	int e = errno;
	free(p);
	errno = e;
	return rc;
}

bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *abs_path(const char *path)
{
	return realpath(path, NULL);
}

char *exe_dir(void)
{
	char tmp[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", tmp, sizeof(tmp) - 1);
	if (n <= 0)
		return xstrdup(".");
	tmp[n] = '\0';
	char *slash = strrchr(tmp, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(tmp);
}

void now_rfc3339(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *user_name(void)
{
	static char name[64];
	if (!name[0]) {
		struct passwd *pw = getpwuid(getuid());
		const char *n = pw ? pw->pw_name : getenv("USER");
		snprintf(name, sizeof(name), "%s", n ? n : "unknown");
	}
	return name;
}

const char *host_name(void)
{
	static char name[256];
	if (!name[0] && gethostname(name, sizeof(name) - 1) < 0)
		snprintf(name, sizeof(name), "unknown");
	return name;
}

void strv_push_owned(struct strv *s, char *str)
{
	ALLOC_GROW(s->v, s->n + 2, s->alloc);
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void strv_push(struct strv *s, const char *str)
{
	strv_push_owned(s, xstrdup(str));
}

void strv_release(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->alloc = 0;
}

bool strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return true;
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dir_names_sorted(const char *dir, const char *suffix, struct strv *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t first = out->n;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (!suffix || ends_with(de->d_name, suffix)))
			strv_push(out, de->d_name);
	closedir(d);
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(char *), cmp_name);
	return 0;
}

void free_wiped(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
