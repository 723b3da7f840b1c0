/* Git locations of manifests: parsing Terraform-style sources and fetching them (location.h). */
#define _GNU_SOURCE
#include "location.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

static const char *const schemes[] = { "https://", "http://", "ssh://", "git://", "file://" };

/* user@host:path (scp-like ssh): an '@' then a ':' before any '/', and no "://" */
static bool scp_like(const char *t)
{
	const char *at = strchr(t, '@'), *colon = strchr(t, ':'), *slash = strchr(t, '/');
	return at && colon && at < colon && (!slash || colon < slash) && !strstr(t, "://") && at != t;
}

bool location_is_git(const char *text)
{
	if (!text)
		return false;
	if (starts_with(text, "git::"))
		return true;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (starts_with(text, schemes[i]))
			return true;
	return scp_like(text);
}

int location_parse(struct location *out, const char *text)
{
	const char *t = starts_with(text, "git::") ? text + 5 : text;
	char *ref = NULL, *rest = NULL, *subdir = NULL;
	const char *q = strchr(t, '?');
	if (q) {
		char *query = xstrdup(q + 1);
		for (char *p = query; p && *p;) {
			char *amp = strchr(p, '&');
			if (amp)
				*amp = '\0';
			if (starts_with(p, "ref=") && p[4]) {
				free(ref);
				ref = xstrdup(p + 4);
			} else {
				error_set(CRATIS_EINVAL, "location '%s': unsupported query '%s' (expected ?ref=BRANCH|TAG|COMMIT)", text, p);
				free(query);
				free(ref);
				return CRATIS_EINVAL;
			}
			p = amp ? amp + 1 : NULL;
		}
		free(query);
	}
	rest = xstrndup(t, q ? (size_t)(q - t) : strlen(t));
	/* the subdir follows the first "//" after the scheme's */
	const char *scheme_end = strstr(rest, "://");
	char *from = scheme_end ? (char *)scheme_end + 3 : rest;
	char *dbl = strstr(from, "//");
	if (dbl) {
		subdir = xstrdup(dbl + 2);
		*dbl = '\0';
		size_t n = strlen(subdir);
		while (n && subdir[n - 1] == '/')
			subdir[--n] = '\0';
	} else {
		subdir = xstrdup("");
	}
	int rc = CRATIS_OK;
	if (!*from) {
		rc = error_set(CRATIS_EINVAL, "location '%s': no repository URL (expected git::https://HOST/REPO.git//DIR?ref=REF)", text);
	} else if (subdir[0] == '/') {
		rc = error_set(CRATIS_EINVAL, "location '%s': the subdirectory after // must be relative", text);
	} else {
		for (const char *p = subdir; *p;) {
			size_t n = strcspn(p, "/");
			if (n == 2 && p[0] == '.' && p[1] == '.') {
				rc = error_set(CRATIS_EINVAL, "location '%s': the subdirectory after // may not hold '..'", text);
				break;
			}
			p += n + (p[n] == '/');
		}
	}
	if (rc) {
		free(ref);
		free(rest);
		free(subdir);
		return rc;
	}
	out->text = xstrdup(text);
	out->url = rest;
	out->subdir = subdir;
	out->ref = ref;
	return CRATIS_OK;
}

void location_release(struct location *l)
{
	free(l->text);
	free(l->url);
	free(l->subdir);
	free(l->ref);
	memset(l, 0, sizeof(*l));
}

char *location_cache_key(const struct location *l)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[] = { l->url, "\n", l->ref ? l->ref : "" };
	struct buf name = BUF_INIT;
	for (size_t k = 0; k < 3; k++)
		for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
			h = (h ^ *p) * 1099511628211ull;
		}
	const char *u = strstr(l->url, "://") ? strstr(l->url, "://") + 3 : l->url;
	for (const char *p = u; *p && name.len < 64; p++)
		buf_addf(&name, "%c", (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ? *p : '_');
	buf_addf(&name, "@");
	for (const char *p = l->ref ? l->ref : "HEAD"; *p && name.len < 80; p++)
		buf_addf(&name, "%c", (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ? *p : '_');
	buf_addf(&name, "-%016" PRIx64, h);
	/* a name may not start with '.' (a hidden directory) */
	if (name.ptr[0] == '.')
		name.ptr[0] = '_';
	return buf_detach(&name);
}

int location_fetch(const struct location *l, const char *cache_dir, char **dir, struct git_pin *pin)
{
	*dir = NULL;
	bool fresh = !is_dir(cache_dir);
	if (mkdir_p(cache_dir) < 0 || (fresh && chmod(cache_dir, 0700) < 0))
		return error_set(CRATIS_EIO, "cannot create the git cache '%s': %s", cache_dir, strerror(errno));
	char *key = location_cache_key(l);
	char *clone = xasprintf("%s/%s", cache_dir, key);
	char *lockp = xasprintf("%s/%s.lock", cache_dir, key);
	free(key);
	int rc = CRATIS_OK;
	int fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		rc = error_set(CRATIS_EIO, "cannot lock '%s': %s", lockp, strerror(errno));
		goto out;
	}
	if ((rc = repo_fetch_ref(l->url, clone, l->ref, pin))) {
		error_prefix("location '%s'", l->text);
		goto out;
	}
	char *d = *l->subdir ? xasprintf("%s/%s", clone, l->subdir) : xstrdup(clone);
	struct stat st;
	if (stat(d, &st) < 0) {
		rc = error_set(CRATIS_ENOTFOUND, "location '%s': no '%s' in the repository at %s (%.12s)", l->text, l->subdir,
		               pin->ref, pin->commit);
		free(d);
		free(pin->ref);
		memset(pin, 0, sizeof(*pin));
		goto out;
	}
	*dir = d;
out:
	if (fd >= 0)
		close(fd);
	free(lockp);
	free(clone);
	return rc;
}
