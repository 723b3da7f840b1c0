/* Built-in plugin `file`: kind File (file/v1). Writes content to a path with a mode, atomically
 * (temporary file + rename); drift is detected by SHA-256 of the content and by mode.
 * Fields: docs/manifests.md#file. libcrypto (SHA-256) is opened on first use (../common/lazylib.h),
 * by an apply or an observe, so loading this plugin costs a command nothing for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/lazylib.h"
#include "../common/spec.h"
#include "../common/ssh.h"

static const struct cratis_host *host;

/* libcrypto, opened on first use: the functions called, then the table filled once per process */
#define CRYPTO_FUNCTIONS(X)        \
	X(digest, EVP_Digest)      \
	X(sha256, EVP_sha256)

struct crypto_table {
	struct lazylib lib;
	CRYPTO_FUNCTIONS(LAZYLIB_FIELD)
};
static struct crypto_table crypto_table; /* written only by crypto_load, under crypto_once */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_load(void)
{
	struct crypto_table *t = &crypto_table;
	if (lazylib_open(&t->lib, "libcrypto", CRATIS_LIBCRYPTO_SONAME, CRATIS_LIBCRYPTO_PACKAGE) == CRATIS_OK) {
		CRYPTO_FUNCTIONS(LAZYLIB_RESOLVE)
	}
}

/* libcrypto's functions into *out, the library opened by the first call in the process. Returns
 * CRATIS_OK, or CRATIS_ENOTFOUND (not installed, or a function missing) with the reason reported
 * on call. */
static int crypto_get(const struct crypto_table **out, void *call)
{
	*out = NULL;
	if (pthread_once(&crypto_once, crypto_load) != 0) {
		host->error(call, NULL, "cannot load libcrypto: pthread_once failed");
		return CRATIS_ERROR;
	}
	if (crypto_table.lib.status != CRATIS_OK) {
		host->error(call, NULL, "%s", crypto_table.lib.message);
		return crypto_table.lib.status;
	}
	*out = &crypto_table;
	return CRATIS_OK;
}

/* SHA-256 of data[0..n) as 64 lowercase hex digits; false (out "") when libcrypto fails it. */
static bool sha256_hex(const struct crypto_table *t, const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	out[0] = '\0';
	if (t->digest(data, n, md, &len, t->sha256(), NULL) != 1 || len != sizeof(md))
		return false;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return true;
}

static bool parse_mode(const char *s, mode_t *m)
{
	char *end;
	long v = strtol(s, &end, 8);
	if (!*s || *end || v < 0 || v > 07777)
		return false;
	*m = (mode_t)v;
	return true;
}

static int remote_validate(const struct cratis_request *req, json_t *s);

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = CRATIS_OK;
	mode_t m;
	if (!json_is_string(json_object_get(s, "path"))) {
		host->error(req->call, "spec.path", "missing field or not a string: expected the file path (relative to the project directory or absolute)");
		rc = CRATIS_EINVAL;
	} else if (!json_is_string(json_object_get(s, "content"))) {
		host->error(req->call, "spec.content", "missing field or not a string: expected the file content");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "mode") && (!json_is_string(json_object_get(s, "mode")) || !parse_mode(spec_str(s, "mode", ""), &m))) {
		host->error(req->call, "spec.mode", "expected an octal mode as a quoted string, e.g. \"0644\"");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "followSymlinks") && !json_is_boolean(json_object_get(s, "followSymlinks"))) {
		host->error(req->call, "spec.followSymlinks", "expected true or false");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "createParents") && !json_is_boolean(json_object_get(s, "createParents"))) {
		host->error(req->call, "spec.createParents", "expected true or false");
		rc = CRATIS_EINVAL;
	} else {
		rc = remote_validate(req, s);
	}
	json_decref(s);
	return rc;
}

/* ---- File on an ssh System (docs/systems.md) ---- */

/* The checks that depend on the System: on an ssh System the path is absolute (a remote path)
 * and owner is "USER[:GROUP]"; owner is refused elsewhere (cratis does not chown on this
 * machine). */
static int remote_validate(const struct cratis_request *req, json_t *s)
{
	json_t *owner = json_object_get(s, "owner");
	if (!ssh_is_remote(req)) {
		if (owner) {
			host->error(req->call, "spec.owner", "is supported on ssh Systems only (cratis does not change owners on this machine)");
			return CRATIS_EINVAL;
		}
		return CRATIS_OK;
	}
	if (spec_str(s, "path", "")[0] != '/') {
		host->error(req->call, "spec.path", "expected an absolute path on System/%s (a remote path)", req->system);
		return CRATIS_EINVAL;
	}
	const char *o = spec_str(s, "owner", NULL);
	if (owner && (!o || !*o || *o == '-' || strspn(o, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") != strlen(o))) {
		host->error(req->call, "spec.owner", "expected USER or USER:GROUP");
		return CRATIS_EINVAL;
	}
	return ssh_system_check(host, req);
}

/* Run the shell script with args ($1...) on the request's System, stdin_data fed to it. 0 with
 * *res filled (caller frees out and err), or an error status with the detail set. */
static int remote_sh(const struct cratis_request *req, const char *script, const char *const *args, const char *stdin_data,
                     size_t stdin_len, struct cratis_run_result *res)
{
	struct ssh_target t;
	int rc = ssh_target_open(&t, host, req);
	if (rc)
		return rc;
	struct ssh_str cmd = { 0 };
	ssh_str_add(&cmd, "sh -c ");
	ssh_str_quote(&cmd, script);
	ssh_str_add(&cmd, " cratis-file ");
	ssh_str_quote_argv(&cmd, args);
	rc = ssh_exec(host, req->call, &t, cmd.p, stdin_data, stdin_len, 120000, NULL, NULL, res);
	free(cmd.p);
	ssh_target_release(&t);
	return rc;
}

/* The last line of text (an error), without its newline, into out. */
static void last_line(const char *text, char *out, size_t cap)
{
	size_t n = text ? strlen(text) : 0;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	size_t b = n;
	while (b && text[b - 1] != '\n')
		b--;
	snprintf(out, cap, "%.*s", (int)(n - b), text ? text + b : "");
}

/* Write the file on the remote: a temporary file made by mktemp in the target directory, the
 * content fed through stdin, mode and owner set on it, then renamed over the target; a symbolic
 * link is refused unless followSymlinks. */
static const char remote_write_sh[] =
	"p=$1; mode=$2; owner=$3; follow=$4; parents=$5\n"
	"if [ -L \"$p\" ]; then\n"
	"  if [ \"$follow\" != 1 ]; then echo \"'$p' is a symbolic link: refusing to write through it (set followSymlinks: true to write the file it points to)\" >&2; exit 3; fi\n"
	"  p=$(readlink -f -- \"$p\") || exit 4\n"
	"fi\n"
	"d=$(dirname -- \"$p\")\n"
	"if [ \"$parents\" = 1 ]; then mkdir -p -m 0755 -- \"$d\" || exit 4; fi\n"
	"t=$(mktemp \"$d/.$(basename -- \"$p\").cratis-XXXXXX\") || exit 4\n"
	"trap 'rm -f -- \"$t\"' EXIT\n"
	"cat >\"$t\" || exit 4\n"
	"chmod \"$mode\" \"$t\" || exit 4\n"
	"if [ -n \"$owner\" ]; then chown -- \"$owner\" \"$t\" || exit 4; fi\n"
	"sync -- \"$t\" 2>/dev/null\n"
	"mv -f -- \"$t\" \"$p\" || exit 4\n"
	"trap - EXIT\n";

static int remote_apply(const struct cratis_request *req, char **out)
{
	const struct crypto_table *crypto;
	int rc = crypto_get(&crypto, req->call);
	if (rc)
		return rc;
	json_t *s = spec_parse(req, 0);
	json_t *c = json_object_get(s, "content");
	const char *path = spec_str(s, "path", "");
	const char *args[] = { path, spec_str(s, "mode", "0644"), spec_str(s, "owner", ""),
	                       json_is_true(json_object_get(s, "followSymlinks")) ? "1" : "0",
	                       json_is_true(json_object_get(s, "createParents")) ? "1" : "0", NULL };
	struct cratis_run_result r;
	rc = remote_sh(req, remote_write_sh, args, json_string_value(c), json_string_length(c), &r);
	if (!rc && r.exit_code) {
		char why[1024];
		last_line(r.err, why, sizeof(why));
		host->error(req->call, "spec.path", "cannot write '%s' on System/%s: %s", path, req->system, *why ? why : "the remote shell failed");
		rc = r.exit_code == 3 ? CRATIS_EINVAL : CRATIS_EIO;
	}
	if (!rc) {
		host->free(r.out);
		host->free(r.err);
	}
	char hex[65];
	if (!rc && !sha256_hex(crypto, json_string_value(c), json_string_length(c), hex)) {
		host->error(req->call, "spec.content", "cannot compute the SHA-256 of the content of '%s' (libcrypto failed)", path);
		rc = CRATIS_ERROR;
	}
	if (!rc) {
		json_t *doc = json_pack("{s:{s:s,s:s}}", "outputs", "path", path, "sha256", hex);
		*out = spec_out(host, doc);
		json_decref(doc);
	}
	json_decref(s);
	return rc;
}

static int remote_destroy(const struct cratis_request *req)
{
	json_t *s = spec_parse(req, 1);
	const char *path = spec_str(s, "path", "");
	const char *args[] = { path, NULL };
	struct cratis_run_result r;
	int rc = remote_sh(req, "rm -f -- \"$1\"", args, NULL, 0, &r);
	if (!rc && r.exit_code) {
		char why[1024];
		last_line(r.err, why, sizeof(why));
		host->error(req->call, "spec.path", "cannot remove '%s' on System/%s: %s", path, req->system, why);
		rc = CRATIS_EIO;
	}
	if (!rc) {
		host->free(r.out);
		host->free(r.err);
	}
	json_decref(s);
	return rc;
}

/* Drift of the remote file: its SHA-256, mode and (when spec.owner is set) owner, read by one
 * remote command that prints "missing" or "HEX\nMODE USER:GROUP". */
static int remote_observe(const struct cratis_request *req, char **out)
{
	const struct crypto_table *crypto;
	int rc = crypto_get(&crypto, req->call);
	if (rc)
		return rc;
	json_t *s = spec_parse(req, 1);
	const char *path = spec_str(s, "path", "");
	const char *args[] = { path, NULL };
	struct cratis_run_result r;
	rc = remote_sh(req, "if [ ! -e \"$1\" ]; then echo missing; exit 0; fi\n"
	               "sha256sum <\"$1\" | cut -d' ' -f1 && stat -L -c '%a %U:%G' -- \"$1\"",
	               args, NULL, 0, &r);
	if (!rc && r.exit_code) {
		char why[1024];
		last_line(r.err, why, sizeof(why));
		host->error(req->call, "spec.path", "cannot read '%s' on System/%s: %s", path, req->system, why);
		rc = CRATIS_EIO;
		host->free(r.out);
		host->free(r.err);
	}
	if (rc) {
		json_decref(s);
		return rc;
	}
	json_t *c = json_object_get(s, "content");
	mode_t want = 0644;
	parse_mode(spec_str(s, "mode", "0644"), &want);
	const char *owner = spec_str(s, "owner", NULL);
	char have[65] = "", expect[65], modes[16] = "", who[256] = "";
	json_t *doc = NULL;
	if (!strncmp(r.out ? r.out : "", "missing", 7)) {
		doc = json_pack("{s:b,s:b}", "exists", 0, "drift", 1);
	} else if (sscanf(r.out ? r.out : "", "%64s %15s %255s", have, modes, who) != 3) {
		host->error(req->call, "spec.path", "cannot read '%s' on System/%s: unexpected answer '%.100s'", path, req->system, r.out ? r.out : "");
		rc = CRATIS_EIO;
	} else if (!sha256_hex(crypto, json_string_value(c), json_string_length(c), expect)) {
		host->error(req->call, NULL, "cannot compute the SHA-256 of the content of '%s' (libcrypto failed)", path);
		rc = CRATIS_ERROR;
	} else {
		mode_t m = 0;
		parse_mode(modes, &m);
		size_t ol = owner ? strlen(owner) : 0;
		char why[512] = "";
		if (strcmp(have, expect))
			snprintf(why, sizeof(why), "content of '%s' on System/%s changed (sha256 %.12s..., expected %.12s...)", path, req->system, have, expect);
		else if (m != want)
			snprintf(why, sizeof(why), "mode of '%s' on System/%s is %04o, expected %04o", path, req->system, (unsigned)m, (unsigned)want);
		else if (owner && (strchr(owner, ':') ? strcmp(who, owner) : (strncmp(who, owner, ol) || who[ol] != ':')))
			snprintf(why, sizeof(why), "owner of '%s' on System/%s is %s, expected %s", path, req->system, who, owner);
		doc = *why ? json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why) : json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	}
	if (doc)
		*out = spec_out(host, doc);
	json_decref(doc);
	host->free(r.out);
	host->free(r.err);
	json_decref(s);
	return rc;
}

static int apply(void *data, const struct cratis_request *req, char **out);
static int destroy(void *data, const struct cratis_request *req, char **out);
static int observe(void *data, const struct cratis_request *req, char **out);

/* The ops: on an ssh System the remote_* path, else the local one. */
static int any_apply(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_apply(req, out) : apply(data, req, out);
}

static int any_destroy(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_destroy(req) : destroy(data, req, out);
}

static int any_observe(void *data, const struct cratis_request *req, char **out)
{
	return ssh_is_remote(req) ? remote_observe(req, out) : observe(data, req, out);
}

/* An update, or a replace when the path moves. The outputs are known before apply (they derive
 * from the spec alone: the absolute path and the content's SHA-256), so the reply predicts them
 * and dependents plan from them (docs/plugins.md, "plan"): a mode change with the same content
 * changes nothing downstream. */
static int plan(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	const struct crypto_table *crypto;
	int rc = crypto_get(&crypto, req->call);
	if (rc)
		return rc;
	json_t *s = spec_parse(req, 0), *p = spec_parse(req, 1);
	bool moved = strcmp(spec_str(s, "path", ""), spec_str(p, "path", "")) != 0;
	json_t *doc = json_pack("{s:s}", "action", moved ? "replace" : "update");
	json_t *c = json_object_get(s, "content");
	char hex[65];
	if (json_is_string(c) && sha256_hex(crypto, json_string_value(c), json_string_length(c), hex)) {
		char *path = spec_path(req, spec_str(s, "path", ""));
		json_object_set_new(doc, "outputs", json_pack("{s:s,s:s}", "path", path, "sha256", hex));
		free(path);
	}
	*out = spec_out(host, doc);
	json_decref(doc);
	json_decref(s);
	json_decref(p);
	return CRATIS_OK;
}

/* Write content to path with mode, whole or not at all: into a fresh temporary file beside it
 * (mkstemp: O_EXCL with a random name, so nothing planted in the directory is followed or
 * reused), fsync'ed, given its mode, then renamed over the target, and the directory fsync'ed.
 * A target that is a symbolic link is refused unless follow: then the file it points to is
 * written (renaming over the link itself would replace the link). */
static int write_file(const struct cratis_request *req, const char *path, const char *content, size_t n, mode_t mode,
                      bool follow)
{
	struct stat lst;
	char *target = NULL;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		if (!follow) {
			host->error(req->call, "spec.path", "'%s' is a symbolic link: refusing to write through it (set followSymlinks: true to write the file it points to)",
			            path);
			return CRATIS_EINVAL;
		}
		if (!(target = realpath(path, NULL))) {
			host->error(req->call, "spec.path", "cannot resolve the symbolic link '%s': %s", path, strerror(errno));
			return CRATIS_EIO;
		}
		path = target;
	}
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	const char *base = slash ? slash + 1 : path;
	size_t tl = dl + strlen(base) + 32;
	char *tmp = malloc(tl), *dir = malloc(dl + 2);
	snprintf(dir, dl + 2, "%.*s", (int)(slash ? (dl ? dl : 1) : 1), slash ? path : ".");
	snprintf(tmp, tl, "%.*s%s.%s.cratis-XXXXXX", (int)dl, path, slash ? "/" : "", base);
	int rc = CRATIS_OK;
	int fd = mkstemp(tmp);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fd < 0) {
		host->error(req->call, "spec.path", "cannot write '%s': %s", path, strerror(errno));
		rc = CRATIS_EIO;
		goto out_free;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, content + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			host->error(req->call, "spec.path", "cannot write '%s': %s", path, strerror(errno));
			rc = CRATIS_EIO;
			break;
		}
		off += (size_t)w;
	}
	if (!rc && (fchmod(fd, mode) < 0 || fsync(fd) < 0)) {
		host->error(req->call, "spec.path", "cannot write '%s': %s", path, strerror(errno));
		rc = CRATIS_EIO;
	}
	close(fd);
	if (!rc && rename(tmp, path) < 0) {
		host->error(req->call, "spec.path", "cannot rename into '%s': %s", path, strerror(errno));
		rc = CRATIS_EIO;
	}
	if (rc) {
		unlink(tmp);
	} else {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd); /* the rename itself survives a crash */
			close(dfd);
		}
	}
out_free:
	free(tmp);
	free(dir);
	free(target);
	return rc;
}

/* createParents: every missing directory above path, mode 0755 (whatever the umask); the
 * directories that exist are left as they are. */
static int create_parents(const struct cratis_request *req, const char *path)
{
	char *p = strdup(path);
	int rc = CRATIS_OK;
	char *end = p ? strrchr(p, '/') : NULL;
	if (!p) {
		host->error(req->call, "spec.createParents", "out of memory");
		return CRATIS_ENOMEM;
	}
	if (end && end != p) {
		*end = '\0';
		for (char *c = p + 1; !rc; c++) {
			if (*c != '/' && *c)
				continue;
			char keep = *c;
			*c = '\0';
			if (mkdir(p, 0755) == 0) {
				chmod(p, 0755);
			} else if (errno != EEXIST) {
				host->error(req->call, "spec.createParents", "cannot create the directory '%s': %s", p, strerror(errno));
				rc = CRATIS_EIO;
			}
			*c = keep;
			if (!keep)
				break;
		}
	}
	free(p);
	return rc;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	/* before anything is written: the outputs carry the content's SHA-256 */
	const struct crypto_table *crypto;
	int rc = crypto_get(&crypto, req->call);
	if (rc)
		return rc;
	json_t *s = spec_parse(req, 0);
	char *path = spec_path(req, spec_str(s, "path", ""));
	json_t *c = json_object_get(s, "content");
	mode_t mode = 0644;
	parse_mode(spec_str(s, "mode", "0644"), &mode);
	if (json_is_true(json_object_get(s, "createParents")) && (rc = create_parents(req, path))) {
		free(path);
		json_decref(s);
		return rc;
	}
	rc = write_file(req, path, json_string_value(c), json_string_length(c), mode,
	                json_is_true(json_object_get(s, "followSymlinks")));
	char hex[65];
	if (!rc && !sha256_hex(crypto, json_string_value(c), json_string_length(c), hex)) {
		host->error(req->call, "spec.content", "cannot compute the SHA-256 of the content of '%s' (libcrypto failed)", path);
		rc = CRATIS_ERROR;
	}
	if (!rc) {
		json_t *doc = json_pack("{s:{s:s,s:s}}", "outputs", "path", path, "sha256", hex);
		*out = spec_out(host, doc);
		json_decref(doc);
	}
	free(path);
	json_decref(s);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 1);
	char *path = spec_path(req, spec_str(s, "path", ""));
	int rc = CRATIS_OK;
	if (unlink(path) < 0 && errno != ENOENT) {
		host->error(req->call, "spec.path", "cannot remove '%s': %s", path, strerror(errno));
		rc = CRATIS_EIO;
	}
	free(path);
	json_decref(s);
	return rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	const struct crypto_table *crypto;
	int rc = crypto_get(&crypto, req->call);
	if (rc)
		return rc;
	json_t *s = spec_parse(req, 1);
	char *path = spec_path(req, spec_str(s, "path", ""));
	json_t *c = json_object_get(s, "content");
	mode_t want = 0644;
	parse_mode(spec_str(s, "mode", "0644"), &want);
	json_t *doc;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) < 0) {
		doc = json_pack("{s:b,s:b}", "exists", 0, "drift", 1);
	} else {
		char *buf = malloc((size_t)st.st_size + 1);
		size_t n = fread(buf, 1, (size_t)st.st_size, f);
		char have[65], expect[65];
		bool hashed = sha256_hex(crypto, buf, n, have) &&
		              sha256_hex(crypto, json_string_value(c), json_string_length(c), expect);
		free(buf);
		if (!hashed) {
			host->error(req->call, NULL, "cannot compute the SHA-256 of '%s' (libcrypto failed)", path);
			rc = CRATIS_ERROR;
			doc = NULL;
		} else if (strcmp(have, expect)) {
			char why[200];
			snprintf(why, sizeof(why), "content of '%s' changed (sha256 %.12s..., expected %.12s...)", path, have, expect);
			doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why);
		} else if ((st.st_mode & 07777) != want) {
			char why[200];
			snprintf(why, sizeof(why), "mode of '%s' is %04o, expected %04o", path, (unsigned)(st.st_mode & 07777), (unsigned)want);
			doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why);
		} else {
			doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
		}
	}
	if (f)
		fclose(f);
	if (doc)
		*out = spec_out(host, doc);
	json_decref(doc);
	free(path);
	json_decref(s);
	return rc;
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.validate = validate,
	.plan = plan,
	.apply = any_apply,
	.destroy = any_destroy,
	.observe = any_observe,
};
static const char *const versions[] = { "v1", NULL };
/* The kind's fields (ABI 1.3): any other field is refused at its location (docs/manifests.md). */
static const struct cratis_field fields[] = {
	{ sizeof(struct cratis_field), "spec.path", "string", "the file, relative to the project or absolute", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.content", "string", "the content, variables expanded", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.mode", "string", "octal mode, quoted: \"0644\"", "0644", 0 },
	{ sizeof(struct cratis_field), "spec.followSymlinks", "boolean", "write through a symbolic link at path", "false", 0 },
	{ sizeof(struct cratis_field), "spec.createParents", "boolean", "create missing parent directories (0755)", "false", 0 },
	{ sizeof(struct cratis_field), "spec.owner", "string", "USER or USER:GROUP of the file (ssh Systems)", "the login user", 0 },
	{ 0 },
};
static const struct cratis_handler file = {
	sizeof(struct cratis_handler), "file", "File", versions, &ops, NULL, fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (host != h) /* loaded again by another app of the process (cratis serve): the same host */
		host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "file", "0.1.0", NULL, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &file);
	return rc;
}
