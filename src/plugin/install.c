/* Plugin installation from a .tar.gz path or URL, removal, and the lock file (install.h). */
#define _GNU_SOURCE
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/registry.h"
#include "release/semver.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/curl_lazy.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"
#include "banned.h"

struct sink {
	struct buf *b;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *payload)
{
	struct sink *s = payload;
	if (s->b->len + size * n > PLUGIN_ARCHIVE_MAX) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	buf_add(s->b, ptr, size * n);
	return size * n;
}

/* Download url into b. */
static int download(struct buf *b, const char *url)
{
	const struct curl_api *c;
	if (curl_api_get(&c))
		return cratis_error_last()->status;
	CURL *h = c->curl_easy_init();
	if (!h)
		return error_set(CRATIS_EIO, "cannot download '%s': libcurl cannot start", url);
	struct sink s = { b, false };
	c->curl_easy_setopt(h, CURLOPT_URL, url);
	c->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	c->curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	c->curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	c->curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	c->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	c->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	c->curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	c->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = c->curl_easy_perform(h);
	long status = 0;
	c->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	int out = CRATIS_OK;
	if (s.too_big)
		out = error_set(CRATIS_EIO, "cannot download '%s': larger than %u MiB", url, PLUGIN_ARCHIVE_MAX >> 20);
	else if (rc != CURLE_OK)
		out = error_set(CRATIS_EIO, "cannot download '%s': %s", url, c->curl_easy_strerror(rc));
	else if (status >= 400)
		out = error_set(CRATIS_EIO, "cannot download '%s': HTTP status %ld", url, status);
	c->curl_easy_cleanup(h);
	return out;
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Remove path and everything under it (links not followed). 0 or -1 with errno. */
static int rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A plugin name usable as a directory name: [A-Za-z0-9._-], not starting with '.'. */
static bool safe_name(const char *n)
{
	return n && *n && *n != '.' && strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(n);
}

/* tar with argv; its stdout into *out when out is not NULL. */
static int run_tar(const char *const *argv, struct buf *out, struct diags *errors)
{
	struct proc_spec spec = { .argv = argv, .timeout_ms = 300000, .out_cap = 16u << 20 };
	struct proc_result r;
	int rc = proc_run(&spec, &r);
	if (rc) {
		diags_add_last_error(errors);
		proc_result_release(&r);
		return CRATIS_EIO;
	}
	if (r.exit_code != 0 || r.out_truncated) {
		diags_errorf(errors, CRATIS_EIO, "tar %s failed (exit %d): %s", argv[1], r.exit_code,
		             r.out_truncated ? "too many members" : r.err.ptr);
		proc_result_release(&r);
		return CRATIS_EIO;
	}
	if (out)
		buf_add(out, r.out.ptr, r.out.len);
	proc_result_release(&r);
	return CRATIS_OK;
}

/* Refuse members with an absolute name, a ".." component, or that are links. */
static int check_members(const char *archive, const char *source, struct diags *errors)
{
	struct buf names = BUF_INIT, verbose = BUF_INIT;
	const char *const list[] = { "tar", "-tzf", archive, NULL };
	const char *const vlist[] = { "tar", "-tvzf", archive, NULL };
	int rc = run_tar(list, &names, errors);
	if (!rc)
		rc = run_tar(vlist, &verbose, errors);
	for (char *line = names.ptr; !rc && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *name = xstrndup(line, len);
		bool dotdot = false;
		for (const char *p = name; *p;) {
			size_t n = strcspn(p, "/");
			dotdot |= n == 2 && p[0] == '.' && p[1] == '.';
			p += n + (p[n] == '/');
		}
		if (name[0] == '/' || dotdot) {
			diags_errorf(errors, CRATIS_EINVAL, "'%s': refused member '%s': %s", source, name,
			             name[0] == '/' ? "an absolute name" : "a '..' component");
			rc = CRATIS_EINVAL;
		}
		free(name);
		line += len + (nl != NULL);
	}
	for (char *line = verbose.ptr; !rc && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (*line != '-' && *line != 'd') {
			diags_errorf(errors, CRATIS_EINVAL, "'%s': refused member '%.*s': only files and directories are unpacked",
			             source, (int)len, line);
			rc = CRATIS_EINVAL;
		}
		line += len + (nl != NULL);
	}
	buf_release(&names);
	buf_release(&verbose);
	return rc;
}

/* The plugin in the unpacked tree root: root itself when it holds plugin.yaml or a .so, else its
 * single directory. Heap, or NULL. */
static char *plugin_root(const char *root)
{
	char *yaml = xasprintf("%s/plugin.yaml", root);
	bool here = access(yaml, F_OK) == 0;
	free(yaml);
	struct strv sos = STRV_INIT, all = STRV_INIT;
	dir_names_sorted(root, ".so", &sos);
	here |= sos.n > 0;
	strv_release(&sos);
	if (here)
		return xstrdup(root);
	char *out = NULL;
	if (!dir_names_sorted(root, NULL, &all) && all.n == 1) {
		char *sub = xasprintf("%s/%s", root, all.v[0]);
		if (is_dir(sub) && !strchr(all.v[0], '/'))
			out = sub;
		else
			free(sub);
	}
	strv_release(&all);
	if (out) {
		char *again = plugin_root(out);
		if (again && !strcmp(again, out)) {
			free(again);
			return out;
		}
		free(again);
		free(out);
	}
	return NULL;
}

/* Load every plugin of r->dirs except those named like `skip`'s (already loaded), ignoring
 * their own errors: the plugins a dependency check runs against. */
static void load_others(struct registry *r)
{
	struct diags ignored = DIAGS_INIT;
	for (size_t i = 0; i < r->dirs.n; i++) {
		struct strv names = STRV_INIT;
		if (dir_names_sorted(r->dirs.v[i], NULL, &names))
			continue;
		for (size_t k = 0; k < names.n; k++) {
			char *p = xasprintf("%s/%s", r->dirs.v[i], names.v[k]);
			registry_load_one(r, p, &ignored);
			free(p);
		}
		strv_release(&names);
	}
	diags_release(&ignored);
}

/* The version of the plugin installed at path, or NULL (heap). */
static char *installed_version(const char *path)
{
	struct registry r;
	struct diags ignored = DIAGS_INIT;
	registry_init(&r);
	char *v = NULL;
	if (!registry_load_one(&r, path, &ignored) && r.nplugins)
		v = xstrdup(r.plugins[0]->version ? r.plugins[0]->version : "");
	registry_release(&r);
	diags_release(&ignored);
	return v;
}

void plugin_installed_release(struct plugin_installed *p)
{
	free(p->name);
	free(p->version);
	free(p->sha256);
	free(p->path);
	free(p->replaced);
	memset(p, 0, sizeof(*p));
}

/* Check the loaded candidate p against o->want_name and o->want_range. */
static int check_wanted(const struct plugin_install_opts *o, const struct plugin *p, struct diags *errors)
{
	if (o->want_name && strcmp(o->want_name, p->name)) {
		diags_errorf(errors, CRATIS_EINVAL, "'%s' holds plugin '%s', not '%s'", o->source, p->name, o->want_name);
		return CRATIS_EINVAL;
	}
	if (!o->want_range || !*o->want_range)
		return CRATIS_OK;
	struct semver_range *range = NULL;
	struct semver v;
	if (semver_range_parse(&range, o->want_range)) {
		diags_add_last_error(errors);
		return CRATIS_EINVAL;
	}
	int rc = CRATIS_OK;
	if (!p->version || semver_parse(&v, p->version)) {
		diags_errorf(errors, CRATIS_EINVAL, "plugin '%s' from '%s' has no semantic version ('%s')", p->name, o->source,
		             p->version ? p->version : "");
		rc = CRATIS_EINVAL;
	} else {
		if (!semver_range_satisfies(range, &v)) {
			diags_errorf(errors, CRATIS_EINVAL, "plugin '%s' from '%s' is version %s, outside the range '%s' asked for",
			             p->name, o->source, p->version, o->want_range);
			rc = CRATIS_EINVAL;
		}
		semver_release(&v);
	}
	semver_range_free(range);
	return rc;
}

int plugin_install(const struct plugin_install_opts *o, struct plugin_installed *out, struct diags *errors)
{
	memset(out, 0, sizeof(*out));
	struct buf data = BUF_INIT;
	char *stage = NULL, *archive = NULL, *root = NULL, *proot = NULL, *target = NULL;
	struct registry reg;
	registry_init(&reg);
	int rc = CRATIS_OK;
	/* 1. the archive */
	if (starts_with(o->source, "http://") || starts_with(o->source, "https://")) {
		if ((rc = download(&data, o->source))) {
			diags_add_last_error(errors);
			goto out;
		}
	} else if (buf_read_file(&data, o->source, PLUGIN_ARCHIVE_MAX) < 0) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot read '%s': %s", o->source, errno == EFBIG ? "larger than 256 MiB" : strerror(errno));
		goto out;
	}
	/* 2. its checksum */
	char sum[65];
	if ((rc = secret_sha256_hex(sum, data.ptr, data.len))) {
		diags_add_last_error(errors);
		goto out;
	}
	if (o->sha256 && strcasecmp(o->sha256, sum)) {
		rc = CRATIS_EINVAL;
		struct diag *dg = diags_errorf(errors, rc, "sha256 mismatch for '%s': expected %s, got %s", o->source, o->sha256, sum);
		diag_hint(dg, "the archive is not the one the checksum was taken of; nothing was installed");
		goto out;
	}
	/* 3. unpacked into a staging directory next to where it goes */
	bool fresh = !is_dir(o->dest);
	if (mkdir_p(o->dest) < 0 || (fresh && chmod(o->dest, 0755) < 0)) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot create the plugin directory '%s': %s", o->dest, strerror(errno));
		goto out;
	}
	stage = xasprintf("%s/.install-XXXXXX", o->dest);
	if (!mkdtemp(stage)) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot create a staging directory in '%s': %s", o->dest, strerror(errno));
		free(stage);
		stage = NULL;
		goto out;
	}
	archive = xasprintf("%s/archive.tar.gz", stage);
	root = xasprintf("%s/root", stage);
	FILE *f = fopen(archive, "wbe");
	if (!f || fwrite(data.ptr, 1, data.len, f) != data.len || fclose(f)) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot write '%s': %s", archive, strerror(errno));
		if (f)
			fclose(f);
		goto out;
	}
	if ((rc = check_members(archive, o->source, errors)))
		goto out;
	if (mkdir(root, 0755) < 0) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot create '%s': %s", root, strerror(errno));
		goto out;
	}
	const char *const untar[] = { "tar", "-xzf", archive, "-C", root, "--no-same-owner", NULL };
	if ((rc = run_tar(untar, NULL, errors)))
		goto out;
	if (!(proot = plugin_root(root))) {
		rc = CRATIS_EINVAL;
		diags_errorf(errors, rc, "'%s' holds no plugin: expected plugin.yaml or a .so file at its root or in its one directory",
		             o->source);
		goto out;
	}
	/* 4. loaded as the loader would (ABI, handlers), then its dependencies */
	if ((rc = registry_load_one(&reg, proot, errors)))
		goto out;
	if (!reg.nplugins) {
		rc = CRATIS_EINVAL;
		diags_errorf(errors, rc, "'%s' holds no plugin the loader recognises", o->source);
		goto out;
	}
	const struct plugin *p = reg.plugins[0];
	if (!safe_name(p->name)) {
		rc = CRATIS_EINVAL;
		diags_errorf(errors, rc, "'%s': plugin name '%s' is not a file name ([A-Za-z0-9._-], not starting with '.')", o->source,
		             p->name ? p->name : "");
		goto out;
	}
	if ((rc = check_wanted(o, p, errors)))
		goto out;
	out->name = xstrdup(p->name);
	out->version = xstrdup(p->version ? p->version : "");
	strv_push(&reg.dirs, o->dest);
	registry_default_dirs(&reg, o->project_dir);
	load_others(&reg);
	struct diags deps = DIAGS_INIT;
	registry_check_requirements(&reg, &deps);
	char *mine = xasprintf("plugin '%s' (", out->name), *theirs = xasprintf("requires plugin '%s'", out->name);
	for (size_t i = 0; i < deps.n; i++)
		if (starts_with(deps.v[i].message, mine) || strstr(deps.v[i].message, theirs)) {
			diags_errorf(errors, CRATIS_EPLUGIN, "%s", deps.v[i].message);
			rc = CRATIS_EPLUGIN;
		}
	free(mine);
	free(theirs);
	diags_release(&deps);
	if (rc)
		goto out;
	/* 5. in place: one rename (an exchange with the older version) */
	target = xasprintf("%s/%s", o->dest, out->name);
	struct stat st;
	if (lstat(target, &st) == 0) {
		out->replaced = installed_version(target);
		if (!out->replaced)
			out->replaced = xstrdup("");
		if (renameat2(AT_FDCWD, proot, AT_FDCWD, target, RENAME_EXCHANGE) < 0) {
			rc = CRATIS_EIO;
			diags_errorf(errors, rc, "cannot replace '%s': %s", target, strerror(errno));
			goto out;
		}
	} else if (rename(proot, target) < 0) {
		rc = CRATIS_EIO;
		diags_errorf(errors, rc, "cannot install into '%s': %s", target, strerror(errno));
		goto out;
	}
	out->sha256 = xstrdup(sum);
	out->path = target;
	target = NULL;
out:
	registry_release(&reg);
	if (stage)
		rm_rf(stage); /* the staging tree, with the replaced version when there was one */
	if (rc)
		plugin_installed_release(out);
	free(stage);
	free(archive);
	free(root);
	free(proot);
	free(target);
	buf_release(&data);
	return rc;
}

int plugin_remove(const char *dir, const char *name)
{
	if (!safe_name(name))
		return error_set(CRATIS_EINVAL, "'%s' is not a plugin name", name);
	char *path = xasprintf("%s/%s", dir, name);
	int rc = CRATIS_OK;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* out of sight with one rename, then deleted */
		char *gone = xasprintf("%s/.remove-%s-XXXXXX", dir, name);
		if (!mkdtemp(gone) || rename(path, gone) < 0 || rm_rf(gone) < 0)
			rc = error_set(CRATIS_EIO, "cannot remove '%s': %s", path, strerror(errno));
		rm_rf(gone);
		free(gone);
		free(path);
		return rc;
	}
	free(path);
	const char *forms[] = { "%s/%s.so", "%s/cratis-%s.so" };
	for (size_t i = 0; i < 2; i++) {
		char *so = xasprintf(forms[i], dir, name);
		if (lstat(so, &st) == 0) {
			if (unlink(so) < 0)
				rc = error_set(CRATIS_EIO, "cannot remove '%s': %s", so, strerror(errno));
			free(so);
			return rc;
		}
		free(so);
	}
	return error_set(CRATIS_ENOTFOUND, "no plugin '%s' is installed in '%s'", name, dir);
}

char *plugin_user_dir(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/cratis/plugins", xdg);
	if (home && *home)
		return xasprintf("%s/.local/share/cratis/plugins", home);
	return NULL;
}

/* ---- the lock file ---- */

int plugin_lock_read(json_t **out, const char *path)
{
	*out = NULL;
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 16u << 20) < 0) {
		buf_release(&text);
		if (errno != ENOENT)
			return error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
		*out = json_pack("{s:{}}", "plugins");
		return CRATIS_OK;
	}
	json_error_t je;
	json_t *j = json_loadb(text.ptr, text.len, 0, &je);
	buf_release(&text);
	if (!j || !json_is_object(json_object_get(j, "plugins"))) {
		json_decref(j);
		return error_set(CRATIS_EINVAL, "%s:%d:%d: expected {\"plugins\": {NAME: {version, source, sha256}}}%s%s", path,
		                 j ? 1 : je.line, j ? 1 : je.column, j ? "" : ": ", j ? "" : je.text);
	}
	*out = j;
	return CRATIS_OK;
}

static int lock_write(const char *path, json_t *lock)
{
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	int rc = json_dump_file(lock, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 && rename(tmp, path) == 0
	         ? CRATIS_OK : error_set(CRATIS_EIO, "cannot write '%s': %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int plugin_lock_set(const char *path, const char *name, const char *version, const char *source,
                    const char *sha256)
{
	json_t *lock;
	int rc = plugin_lock_read(&lock, path);
	if (rc)
		return rc;
	json_object_set_new(json_object_get(lock, "plugins"), name,
	                    json_pack("{s:s,s:s,s:s}", "version", version, "source", source, "sha256", sha256));
	rc = lock_write(path, lock);
	json_decref(lock);
	return rc;
}

int plugin_lock_remove(const char *path, const char *name)
{
	json_t *lock;
	int rc = plugin_lock_read(&lock, path);
	if (rc)
		return rc;
	if (json_object_del(json_object_get(lock, "plugins"), name) == 0)
		rc = lock_write(path, lock);
	json_decref(lock);
	return rc;
}
